//! The debug trace: one stderr line per cache call, with the key, the verdict and why, the
//! tier that answered and the time, under `TAGCACHE_DEBUG=1` or Next's own switch
//! `NEXT_PRIVATE_DEBUG_CACHE=1` (or the `debug` option). Off, it costs one branch per call.
//!
//! ```text
//! tagcache get  "page:Ab3:/blog" stale: tag "posts" revalidated after it was written [disk] 41 µs
//! tagcache set  "fetch:9f2c" 3 tags, revalidate 60 s, expire never [memory] 6 µs
//! ```

use std::time::Instant;

use crate::entry::EntryMeta;
use crate::profile::INFINITE_CACHE;
use crate::tags::TagManifest;

/// Longest key shown (characters); longer ones end in `…`.
const KEY_CHARS: usize = 80;

/// Whether the environment asks for the trace: `TAGCACHE_DEBUG` or `NEXT_PRIVATE_DEBUG_CACHE`
/// set to anything but empty, `0` or `false`.
pub fn enabled_by_env() -> bool {
  ["TAGCACHE_DEBUG", "NEXT_PRIVATE_DEBUG_CACHE"]
    .iter()
    .any(|name| match std::env::var(name) {
      Ok(v) => !matches!(v.trim(), "" | "0" | "false"),
      Err(_) => false,
    })
}

/// A key as the trace shows it: quoted, cut at `KEY_CHARS`.
pub fn key(key: &str) -> String {
  let mut chars = key.chars();
  let shown: String = chars.by_ref().take(KEY_CHARS).collect();
  if chars.next().is_some() {
    format!("{shown:?}…")
  } else {
    format!("{shown:?}")
  }
}

/// Why an entry is what it is for a read now: Next's checks in `EntryMeta::freshness`'s
/// order, naming the first tag or soft tag that decided.
pub fn verdict(meta: &EntryMeta, manifest: &TagManifest, soft_tags: &[String], now: f64) -> String {
  if now > meta.expires_at() {
    return format!(
      "expired: past its expire ({} s after it was written)",
      meta.expire
    );
  }
  let tagged = meta
    .tags
    .iter()
    .map(|t| (t, "tag"))
    .chain(soft_tags.iter().map(|t| (t.as_str(), "soft tag")));
  for (tag, kind) in tagged.clone() {
    let expired = manifest
      .state(tag)
      .and_then(|s| s.expired)
      .is_some_and(|e| e <= now && e > meta.timestamp);
    if expired {
      return format!("expired: {kind} {tag:?} expired after it was written");
    }
  }
  for (tag, kind) in tagged {
    let stale = manifest
      .state(tag)
      .and_then(|s| s.stale)
      .is_some_and(|s| s > meta.timestamp);
    if stale {
      return format!("stale: {kind} {tag:?} revalidated after it was written");
    }
  }
  if now > meta.revalidates_at() {
    format!(
      "stale: past its revalidate ({} s after it was written)",
      meta.revalidate
    )
  } else {
    "fresh".into()
  }
}

/// `revalidate 60 s, expire never` for a set line.
pub fn timings(meta: &EntryMeta) -> String {
  let s = |v: f64| {
    if v >= INFINITE_CACHE {
      "never".to_string()
    } else {
      format!("{v} s")
    }
  };
  let n = meta.tags.len();
  format!(
    "{n} tag{}, revalidate {}, expire {}",
    if n == 1 { "" } else { "s" },
    s(meta.revalidate),
    s(meta.expire)
  )
}

/// Writes one trace line: `tagcache <op> <what> [<tier>] <µs> µs`.
pub fn line(op: &str, what: &str, tier: &str, started: Instant) {
  let micros = started.elapsed().as_secs_f64() * 1e6;
  crate::log::trace(&format!("tagcache {op:<7} {what} [{tier}] {micros:.0} µs"));
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::tags::{TagField, TagWrite};

  fn meta(tags: &[&str]) -> EntryMeta {
    EntryMeta {
      tags: tags.iter().map(|t| t.to_string()).collect(),
      stale: 300.0,
      revalidate: 60.0,
      expire: 3600.0,
      timestamp: 1000.0,
    }
  }

  #[test]
  fn names_the_tag_that_decided() {
    let mut manifest = TagManifest::default();
    assert_eq!(verdict(&meta(&["a"]), &manifest, &[], 2000.0), "fresh");
    manifest.apply(&TagWrite::new("a", TagField::Stale, 1500.0));
    assert_eq!(
      verdict(&meta(&["a"]), &manifest, &[], 2000.0),
      "stale: tag \"a\" revalidated after it was written"
    );
    manifest.apply(&TagWrite::new("_N_T_/x", TagField::Expired, 1500.0));
    assert_eq!(
      verdict(&meta(&["a"]), &manifest, &["_N_T_/x".into()], 2000.0),
      "expired: soft tag \"_N_T_/x\" expired after it was written"
    );
    assert!(
      verdict(&meta(&[]), &manifest, &[], 1000.0 + 3601.0 * 1000.0).starts_with("expired: past")
    );
    assert!(verdict(&meta(&[]), &manifest, &[], 1000.0 + 61.0 * 1000.0).starts_with("stale: past"));
  }

  #[test]
  fn long_keys_are_cut() {
    assert_eq!(key("k"), "\"k\"");
    assert!(key(&"x".repeat(200)).ends_with('…'));
  }
}
