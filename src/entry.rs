//! Entry metadata and the freshness decision.

use crate::tag_list::TagList;
use crate::tags::TagManifest;

/// What the cache keeps beside a value. `timestamp` is ms since the epoch (f64, kept exact:
/// Next passes `performance.timeOrigin + performance.now()`); the durations are seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryMeta {
  /// Explicit tags of the entry (soft tags are passed per `get`, never stored).
  pub tags: TagList,
  /// Client-side stale time (s); carried for Next, not used for expiry here.
  pub stale: f64,
  /// Seconds after `timestamp` when the entry turns stale.
  pub revalidate: f64,
  /// Seconds after `timestamp` when the entry is no longer served.
  pub expire: f64,
  /// When the entry was created (ms since the epoch).
  pub timestamp: f64,
}

/// The verdict on an entry at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
  /// Serve it.
  Fresh,
  /// Past `revalidate`: serve it and regenerate in the background (Next does this itself).
  Stale,
  /// A tag or soft tag was revalidated with a profile after the entry was written: serve it
  /// once and regenerate in the background (Next's handlers answer `revalidate: -1`).
  StaleByTag,
  /// Do not serve it: past `expire`, or a tag / soft tag expired after it was written.
  Expired,
}

impl EntryMeta {
  /// The time (ms) after which the entry is past `expire`.
  pub fn expires_at(&self) -> f64 {
    self.timestamp + self.expire * 1000.0
  }

  /// The time (ms) after which the entry is past `revalidate`.
  pub fn revalidates_at(&self) -> f64 {
    self.timestamp + self.revalidate * 1000.0
  }

  /// Next's checks in order: past `expire` (`use-cache-wrapper.ts`), an expired tag
  /// (`areTagsExpired`), a stale tag (`areTagsStale`), past `revalidate`.
  pub fn freshness(&self, manifest: &TagManifest, soft_tags: &[String], now: f64) -> Freshness {
    if now > self.expires_at() {
      return Freshness::Expired;
    }
    if manifest.is_empty() {
      return self.freshness_by_time(now);
    }
    let all_tags = || self.tags.iter().chain(soft_tags.iter().map(String::as_str));
    if manifest.any_expired(all_tags(), self.timestamp, now) {
      Freshness::Expired
    } else if manifest.any_stale(all_tags(), self.timestamp) {
      Freshness::StaleByTag
    } else {
      self.freshness_by_time(now)
    }
  }

  fn freshness_by_time(&self, now: f64) -> Freshness {
    if now > self.revalidates_at() {
      Freshness::Stale
    } else {
      Freshness::Fresh
    }
  }
}

impl Freshness {
  /// Stale for either reason.
  pub fn is_stale(self) -> bool {
    matches!(self, Freshness::Stale | Freshness::StaleByTag)
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::tags::Durations;

  fn meta(tags: &[&str], timestamp: f64) -> EntryMeta {
    EntryMeta {
      tags: tags.iter().map(|s| s.to_string()).collect(),
      stale: 300.0,
      revalidate: 60.0,
      expire: 3600.0,
      timestamp,
    }
  }

  #[test]
  fn time_based() {
    let m = TagManifest::default();
    let e = meta(&[], 1_000_000.0);
    assert_eq!(e.freshness(&m, &[], 1_000_000.0), Freshness::Fresh);
    assert_eq!(e.freshness(&m, &[], 1_060_000.0), Freshness::Fresh);
    assert_eq!(e.freshness(&m, &[], 1_060_001.0), Freshness::Stale);
    assert_eq!(e.freshness(&m, &[], 4_600_000.0), Freshness::Stale);
    assert_eq!(e.freshness(&m, &[], 4_600_001.0), Freshness::Expired);
  }

  #[test]
  fn tag_based_including_soft_tags() {
    let mut m = TagManifest::default();
    let e = meta(&["posts"], 1000.0);
    m.update(
      &["posts".into()],
      Some(Durations { expire: Some(10.0) }),
      2000.0,
    );
    assert_eq!(e.freshness(&m, &[], 2001.0), Freshness::StaleByTag);
    assert_eq!(e.freshness(&m, &[], 12000.0), Freshness::Expired);
    m.update(&["_N_T_/blog".into()], None, 3000.0);
    let e2 = meta(&[], 2500.0);
    assert_eq!(
      e2.freshness(&m, &["_N_T_/blog".into()], 3000.0),
      Freshness::Expired
    );
    assert_eq!(
      e2.freshness(&m, &["_N_T_/other".into()], 3000.0),
      Freshness::Fresh
    );
  }
}
