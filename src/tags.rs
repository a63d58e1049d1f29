//! The tag manifest: for every revalidated tag, when it went stale and when it expires
//! (ms since the epoch, f64). Mirrors Next's `tags-manifest.external.ts` and the built-in
//! handler's `updateTags` (`cache-handlers/default.ts`).

use std::collections::HashMap;

use crate::error::{Error, ErrorCode, Result};

/// Next's `NEXT_CACHE_TAG_MAX_LENGTH`.
pub const MAX_TAG_LENGTH: usize = 256;
/// Next's `NEXT_CACHE_SOFT_TAG_MAX_LENGTH`, for implicit (`_N_T_`) tags.
pub const MAX_SOFT_TAG_LENGTH: usize = 1024;
/// Next's `NEXT_CACHE_IMPLICIT_TAG_ID`.
pub const IMPLICIT_TAG_PREFIX: &str = "_N_T_";

/// What `revalidateTag` / `updateTags` did to one tag. Times are ms since the epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TagState {
  /// Entries written before this time are stale (served once, regenerated in the background).
  pub stale: Option<f64>,
  /// Entries written before this time are expired once this time has come.
  pub expired: Option<f64>,
}

/// `updateTags(tags, durations?)`'s second argument: `{ expire?: seconds }`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Durations {
  pub expire: Option<f64>,
}

/// Which time of a tag a write sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagField {
  Stale = 0,
  Expired = 1,
}

/// One field write: `tag`'s `field` is now `time` (ms), as decided at `at` (ms, the clock
/// of the instance that made it).
#[derive(Debug, Clone, PartialEq)]
pub struct TagWrite {
  pub tag: String,
  pub field: TagField,
  pub time: f64,
  /// When the write was made: of two writes of one field, the later one wins, wherever and
  /// in whatever order they arrive (a write delayed in the network never undoes a newer one).
  pub at: f64,
}

impl TagWrite {
  /// A write made at `time` itself (a stale mark, an expiry "now").
  pub fn new(tag: &str, field: TagField, time: f64) -> Self {
    TagWrite::made_at(tag, field, time, time)
  }

  pub fn made_at(tag: &str, field: TagField, time: f64, at: f64) -> Self {
    TagWrite {
      tag: tag.to_string(),
      field,
      time,
      at,
    }
  }

  /// The shared store's field name: `s:<tag>` or `x:<tag>`.
  pub fn key(&self) -> String {
    match self.field {
      TagField::Stale => format!("s:{}", self.tag),
      TagField::Expired => format!("x:{}", self.tag),
    }
  }

  /// The shared store's field value: `<time>@<at>`.
  pub fn value(&self) -> String {
    format!("{}@{}", self.time, self.at)
  }

  /// The inverse of `key` (made at `time`).
  pub fn from_key(key: &str, time: f64) -> Option<Self> {
    let (field, tag) = match key.split_once(':')? {
      ("s", tag) => (TagField::Stale, tag),
      ("x", tag) => (TagField::Expired, tag),
      _ => return None,
    };
    Some(TagWrite::new(tag, field, time))
  }

  /// The inverse of `key` and `value`. A value without `@at` (an older version's) counts as
  /// made at 0: any write made since wins over it.
  pub fn from_field(key: &str, value: &str) -> Option<Self> {
    let (time, at) = match value.split_once('@') {
      Some((time, at)) => (time.parse().ok()?, at.parse().ok()?),
      None => (value.parse().ok()?, 0.0),
    };
    let mut write = TagWrite::from_key(key, time)?;
    write.at = at;
    Some(write)
  }

  /// Whether this write wins over `time` made at `at` for the same field: the later made
  /// wins; made at the same time, the stricter (a later stale mark, an earlier expiry), so
  /// every instance settles on the same value whatever order the two reached it in.
  pub fn wins_over(&self, time: f64, at: f64) -> bool {
    if self.at != at {
      return self.at > at;
    }
    match self.field {
      TagField::Stale => self.time >= time,
      TagField::Expired => self.time <= time,
    }
  }
}

#[derive(Debug, Default)]
struct Tag {
  state: TagState,
  /// When the stale and the expired field were written (`TagWrite::at`).
  at: [f64; 2],
}

impl Tag {
  fn set(&mut self, write: &TagWrite) {
    match write.field {
      TagField::Stale => self.state.stale = Some(write.time),
      TagField::Expired => self.state.expired = Some(write.time),
    }
    self.at[write.field as usize] = write.at;
  }

  fn current(&self, field: TagField) -> Option<(f64, f64)> {
    let time = match field {
      TagField::Stale => self.state.stale,
      TagField::Expired => self.state.expired,
    }?;
    Some((time, self.at[field as usize]))
  }
}

/// Tag states by tag. Tags are compared exactly (case-sensitive), as Next does.
///
/// Each field keeps when it was written, and a write applies only if it wins over that
/// (`TagWrite::wins_over`): a pull that was in flight while this instance revalidated never
/// undoes the revalidation, a write that reached Redis late never undoes a newer one, and
/// every instance ends with the same state whatever order the writes reached it in.
#[derive(Debug, Default)]
pub struct TagManifest {
  tags: HashMap<String, Tag>,
}

impl TagManifest {
  /// Next's `updateTags`: with durations (a profile was given) the tag is stale now and
  /// expires `durations.expire` seconds from now (if given); without, it expires now.
  /// Returns the field writes it made (at `now`), for a shared store to replay.
  pub fn update(
    &mut self,
    tags: &[String],
    durations: Option<Durations>,
    now: f64,
  ) -> Vec<TagWrite> {
    let mut writes = Vec::with_capacity(tags.len() * 2);
    for tag in tags {
      match durations {
        Some(d) => {
          writes.push(TagWrite::new(tag, TagField::Stale, now));
          if let Some(expire) = d.expire {
            let expires = now + expire * 1000.0;
            writes.push(TagWrite::made_at(tag, TagField::Expired, expires, now));
          }
        }
        None => writes.push(TagWrite::new(tag, TagField::Expired, now)),
      }
    }
    for w in &writes {
      self.tags.entry(w.tag.clone()).or_default().set(w);
    }
    writes
  }

  /// Sets one field unconditionally (a replay in order, as in tests).
  pub fn apply(&mut self, write: &TagWrite) {
    self.tags.entry(write.tag.clone()).or_default().set(write);
  }

  /// Applies a write made elsewhere (pulled from the shared store) if it wins over what
  /// this field holds. Returns whether it applied.
  pub fn apply_pulled(&mut self, write: &TagWrite) -> bool {
    let tag = self.tags.entry(write.tag.clone()).or_default();
    let wins = tag
      .current(write.field)
      .is_none_or(|(time, at)| write.wins_over(time, at));
    if wins {
      tag.set(write);
    }
    wins
  }

  pub fn state(&self, tag: &str) -> Option<TagState> {
    self.tags.get(tag).map(|t| t.state)
  }

  /// Next's `areTagsExpired`: some tag has `expired <= now && expired > timestamp`.
  pub fn any_expired<'a>(
    &self,
    tags: impl IntoIterator<Item = &'a str>,
    timestamp: f64,
    now: f64,
  ) -> bool {
    tags.into_iter().any(|t| {
      self
        .tags
        .get(t)
        .and_then(|t| t.state.expired)
        .is_some_and(|e| e <= now && e > timestamp)
    })
  }

  /// Next's `areTagsStale`: some tag has `stale > timestamp`.
  pub fn any_stale<'a>(&self, tags: impl IntoIterator<Item = &'a str>, timestamp: f64) -> bool {
    tags.into_iter().any(|t| {
      self
        .tags
        .get(t)
        .and_then(|t| t.state.stale)
        .is_some_and(|s| s > timestamp)
    })
  }

  /// `getExpiration`: the latest `expired` time among `tags` that has already come, 0 if
  /// none. Next discards an entry when `entry.timestamp <= expiration`; an expiry still in
  /// the future (a profile's SWR window) must not discard anything yet, so unlike the
  /// built-in we leave those out.
  pub fn expiration<'a>(&self, tags: impl IntoIterator<Item = &'a str>, now: f64) -> f64 {
    tags
      .into_iter()
      .filter_map(|t| self.tags.get(t).and_then(|t| t.state.expired))
      .filter(|e| *e <= now)
      .fold(0.0, f64::max)
  }

  pub fn len(&self) -> usize {
    self.tags.len()
  }

  pub fn is_empty(&self) -> bool {
    self.tags.is_empty()
  }
}

/// The length Next checks a tag against: UTF-16 code units of the tag as the user wrote it.
/// Next percent-encodes non-ASCII tags before they reach a handler (`encodeHeaderSafe`), so
/// an encoded tag is measured decoded.
fn tag_length(tag: &str) -> usize {
  let decoded = percent_decode(tag);
  decoded.as_deref().unwrap_or(tag).encode_utf16().count()
}

fn percent_decode(s: &str) -> Option<String> {
  if !s.contains('%') {
    return None;
  }
  let bytes = s.as_bytes();
  let mut out = Vec::with_capacity(bytes.len());
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' {
      // Two hex digits, as `decodeURIComponent` reads them (`from_str_radix` alone would
      // also take a sign: `%+4`).
      let hex = s.get(i + 1..i + 3)?;
      if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
      }
      out.push(u8::from_str_radix(hex, 16).ok()?);
      i += 3;
    } else {
      out.push(bytes[i]);
      i += 1;
    }
  }
  String::from_utf8(out).ok()
}

/// Checks one tag: a non-empty string of at most 256 characters (1024 for implicit `_N_T_`
/// tags), measured as Next measures it. Errors: `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`.
pub fn validate_tag(tag: &str, what: &str) -> Result<()> {
  if tag.is_empty() {
    return Err(Error::new(
      ErrorCode::InvalidTag,
      format!("{what} must be a non-empty string, got \"\""),
    ));
  }
  let max = if tag.starts_with(IMPLICIT_TAG_PREFIX) {
    MAX_SOFT_TAG_LENGTH
  } else {
    MAX_TAG_LENGTH
  };
  let len = tag_length(tag);
  if len > max {
    let shown: String = tag.chars().take(40).collect();
    return Err(Error::new(
      ErrorCode::TagTooLong,
      format!("{what} is {len} characters long, more than the {max} Next.js allows: {shown:?}…"),
    ));
  }
  Ok(())
}

/// Next's `encodeHeaderSafe`: every run of characters outside `\t` and printable ASCII is
/// percent-encoded as UTF-8 (`encodeURIComponent`). Next applies it to every tag before a
/// handler sees it; we apply it to tags that come from elsewhere (a webhook calling
/// `revalidateTag('café')`) so they match. Idempotent: `%xx` passes through.
pub fn encode_header_safe(tag: &str) -> std::borrow::Cow<'_, str> {
  let in_class = |b: u8| b == b'\t' || (0x20..=0x7e).contains(&b);
  if tag.bytes().all(in_class) {
    return std::borrow::Cow::Borrowed(tag);
  }
  let mut out = String::with_capacity(tag.len() * 3);
  for b in tag.bytes() {
    if in_class(b) {
      out.push(b as char);
    } else {
      out.push_str(&format!("%{b:02X}"));
    }
  }
  std::borrow::Cow::Owned(out)
}

/// The rule for a tag that is only looked up (soft tags in `get`, `getExpiration`): kept,
/// encoded as Next encodes tags, unless it is empty or longer than any stored tag can be
/// (4 × 1024 bytes: no revalidation can have stored it). Next does not cap implicit tags of
/// long URLs, so these are skipped, never an error. Reuses `tag`'s allocation when the
/// encoding changes nothing.
pub fn lookup_tag(tag: String) -> Option<String> {
  if tag.is_empty() || tag.len() > 4 * MAX_SOFT_TAG_LENGTH {
    return None;
  }
  Some(match encode_header_safe(&tag) {
    std::borrow::Cow::Borrowed(_) => tag,
    std::borrow::Cow::Owned(encoded) => encoded,
  })
}

/// `revalidatePath`'s `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
  Page,
  Layout,
}

/// The implicit tags `revalidatePath(path, type)` expires in Next 16
/// (`server/web/spec-extension/revalidate.ts`): `_N_T_` + the path without a trailing
/// slash, `/page` or `/layout` appended for a type, and the `/` ↔ `/index` twin.
/// Errors: `ERR_TAG_TOO_LONG` for a path longer than 1024 characters.
pub fn implicit_tags_for_path(path: &str, kind: Option<PathKind>) -> Result<Vec<String>> {
  let path_len = path.encode_utf16().count();
  if path_len > MAX_SOFT_TAG_LENGTH {
    return Err(Error::new(
      ErrorCode::TagTooLong,
      format!(
        "path is {path_len} characters long, more than the {MAX_SOFT_TAG_LENGTH} Next.js allows"
      ),
    ));
  }
  let trimmed = if path.len() > 1 && path.ends_with('/') {
    &path[..path.len() - 1]
  } else {
    path
  };
  let mut tag = format!("{IMPLICIT_TAG_PREFIX}{}", encode_header_safe(trimmed));
  if let Some(kind) = kind {
    if !tag.ends_with('/') {
      tag.push('/');
    }
    tag.push_str(match kind {
      PathKind::Page => "page",
      PathKind::Layout => "layout",
    });
  }
  let twin = match tag.strip_prefix(IMPLICIT_TAG_PREFIX) {
    Some("/") => Some(format!("{IMPLICIT_TAG_PREFIX}/index")),
    Some("/index") => Some(format!("{IMPLICIT_TAG_PREFIX}/")),
    _ => None,
  };
  Ok(std::iter::once(tag).chain(twin).collect())
}

#[cfg(test)]
mod tests {
  use super::*;

  fn tags(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
  }

  #[test]
  fn update_with_durations_is_stale_now_expired_later() {
    let mut m = TagManifest::default();
    m.update(
      &tags(&["a"]),
      Some(Durations { expire: Some(60.0) }),
      1000.0,
    );
    assert_eq!(
      m.state("a"),
      Some(TagState {
        stale: Some(1000.0),
        expired: Some(61000.0)
      })
    );
    // Written before: stale at once, expired only after 60 s.
    assert!(m.any_stale(["a"], 999.5));
    assert!(!m.any_expired(["a"], 999.5, 1001.0));
    assert!(m.any_expired(["a"], 999.5, 61000.0));
    // Written after the revalidation: not stale, but (as in Next) still behind the expiry.
    assert!(!m.any_stale(["a"], 1000.5));
    assert!(m.any_expired(["a"], 1000.5, 70000.0));
    // Written after the expiry: neither.
    assert!(!m.any_expired(["a"], 61000.5, 70000.0));
  }

  #[test]
  fn update_without_durations_expires_now() {
    let mut m = TagManifest::default();
    m.update(&tags(&["a"]), None, 1000.0);
    assert_eq!(m.state("a").unwrap().stale, None);
    assert!(m.any_expired(["a"], 999.0, 1000.0));
    assert!(
      !m.any_expired(["a"], 1000.0, 1000.0),
      "expired > timestamp is strict"
    );
  }

  #[test]
  fn durations_without_expire_only_mark_stale() {
    let mut m = TagManifest::default();
    m.update(&tags(&["a"]), None, 500.0);
    m.update(&tags(&["a"]), Some(Durations { expire: None }), 1000.0);
    assert_eq!(m.state("a").unwrap().expired, Some(500.0));
    assert_eq!(m.state("a").unwrap().stale, Some(1000.0));
  }

  #[test]
  fn expiration_ignores_future_expiry_and_unknown_tags() {
    let mut m = TagManifest::default();
    m.update(&tags(&["past"]), None, 1000.0);
    m.update(
      &tags(&["future"]),
      Some(Durations { expire: Some(10.0) }),
      2000.0,
    );
    assert_eq!(m.expiration(["past", "future", "none"], 3000.0), 1000.0);
    assert_eq!(m.expiration(["past", "future"], 12000.0), 12000.0);
    assert_eq!(m.expiration(["none"], 3000.0), 0.0);
  }

  #[test]
  fn writes_replay_into_another_manifest() {
    let mut a = TagManifest::default();
    let mut writes = a.update(&tags(&["x:y"]), Some(Durations { expire: Some(1.0) }), 10.0);
    writes.extend(a.update(&tags(&["z"]), None, 20.0));
    let mut b = TagManifest::default();
    for w in &writes {
      let replayed = TagWrite::from_field(&w.key(), &w.value()).unwrap();
      assert_eq!(&replayed, w);
      b.apply(&replayed);
    }
    assert_eq!(b.state("x:y"), a.state("x:y"));
    assert_eq!(b.state("z"), a.state("z"));
    assert_eq!(TagWrite::from_key("q:z", 1.0), None);
  }

  #[test]
  fn a_pull_in_flight_never_undoes_a_local_revalidation() {
    let mut m = TagManifest::default();
    // Another instance's `revalidateTag(t, 'max')` at 500: expires a year later.
    let old = TagWrite::made_at("t", TagField::Expired, 500.0 + 3.15e10, 500.0);
    assert!(m.apply_pulled(&old));
    // Here, at 1000: `updateTag(t)`, expired now.
    m.update(&tags(&["t"]), None, 1000.0);
    // A pull that read the log before our write reached it brings the old write again.
    assert!(!m.apply_pulled(&old));
    assert_eq!(m.state("t").unwrap().expired, Some(1000.0));
    // A write made after ours wins, in whatever order it arrives.
    let later = TagWrite::made_at("t", TagField::Expired, 9e12, 2000.0);
    assert!(m.apply_pulled(&later));
    assert_eq!(m.state("t").unwrap().expired, Some(9e12));
  }

  #[test]
  fn a_write_delivered_late_never_undoes_a_newer_one() {
    // Two instances see the same two writes in opposite orders; both settle on the newer.
    let older = TagWrite::made_at("t", TagField::Stale, 100.0, 100.0);
    let newer = TagWrite::made_at("t", TagField::Stale, 200.0, 200.0);
    let (mut a, mut b) = (TagManifest::default(), TagManifest::default());
    a.apply_pulled(&older);
    a.apply_pulled(&newer);
    b.apply_pulled(&newer);
    b.apply_pulled(&older);
    assert_eq!(a.state("t"), b.state("t"));
    assert_eq!(a.state("t").unwrap().stale, Some(200.0));
  }

  #[test]
  fn writes_made_at_the_same_time_settle_on_the_stricter() {
    // `revalidateTag(t, 'max')` and `updateTag(t)` made in the same millisecond on two
    // instances: both end with the expiry now, whatever order they arrived in.
    let max = TagWrite::made_at("t", TagField::Expired, 1000.0 + 3.15e10, 1000.0);
    let now = TagWrite::made_at("t", TagField::Expired, 1000.0, 1000.0);
    let (mut a, mut b) = (TagManifest::default(), TagManifest::default());
    a.apply_pulled(&max);
    a.apply_pulled(&now);
    b.apply_pulled(&now);
    b.apply_pulled(&max);
    assert_eq!(a.state("t").unwrap().expired, Some(1000.0));
    assert_eq!(b.state("t").unwrap().expired, Some(1000.0));
    // Stale marks: the later mark.
    let s1 = TagWrite::made_at("u", TagField::Stale, 5.0, 7.0);
    let s2 = TagWrite::made_at("u", TagField::Stale, 6.0, 7.0);
    a.apply_pulled(&s2);
    a.apply_pulled(&s1);
    assert_eq!(a.state("u").unwrap().stale, Some(6.0));
  }

  #[test]
  fn field_values_round_trip_and_old_values_lose() {
    let w = TagWrite::made_at("a:b", TagField::Expired, 1.5e12 + 0.25, 1.4e12 + 0.125);
    assert_eq!(TagWrite::from_field(&w.key(), &w.value()), Some(w.clone()));
    // An older version's value (no `@`): made at 0, so anything made since wins.
    let legacy = TagWrite::from_field("x:a:b", "5").unwrap();
    assert_eq!((legacy.time, legacy.at), (5.0, 0.0));
    assert!(w.wins_over(legacy.time, legacy.at));
    assert_eq!(TagWrite::from_field("x:a", "nope@1"), None);
    assert_eq!(TagWrite::from_field("q:a", "1@1"), None);
  }

  #[test]
  fn tags_are_case_sensitive() {
    let mut m = TagManifest::default();
    m.update(&tags(&["Posts"]), None, 1000.0);
    assert!(!m.any_expired(["posts"], 0.0, 2000.0));
    assert!(m.any_expired(["Posts"], 0.0, 2000.0));
  }

  #[test]
  fn tag_validation() {
    assert!(validate_tag("posts", "tag").is_ok());
    assert_eq!(
      validate_tag("", "tag").unwrap_err().code,
      ErrorCode::InvalidTag
    );
    assert!(validate_tag(&"a".repeat(256), "tag").is_ok());
    let err = validate_tag(&"a".repeat(257), "tag").unwrap_err();
    assert_eq!(err.code, ErrorCode::TagTooLong);
    assert!(err.message.contains("257"));
    // 200 non-ASCII chars arrive percent-encoded (1200 chars) and are still valid.
    let encoded: String = "%C3%A9".repeat(200);
    assert!(validate_tag(&encoded, "tag").is_ok());
    assert!(validate_tag(&"%C3%A9".repeat(257), "tag").is_err());
    // Implicit tags may be as long as a soft tag.
    let implicit = format!("_N_T_/{}", "a".repeat(900));
    assert!(validate_tag(&implicit, "tag").is_ok());
  }

  #[test]
  fn tags_are_encoded_like_next() {
    assert_eq!(encode_header_safe("posts,a b/[slug]%"), "posts,a b/[slug]%");
    assert_eq!(encode_header_safe("café"), "caf%C3%A9");
    assert_eq!(encode_header_safe("😀"), "%F0%9F%98%80");
    assert_eq!(encode_header_safe("a\nb\tc"), "a%0Ab\tc");
    assert_eq!(encode_header_safe(&encode_header_safe("café")), "caf%C3%A9");
  }

  #[test]
  fn implicit_tags_are_built_as_next_builds_them() {
    assert_eq!(
      implicit_tags_for_path("/blog/", None).unwrap(),
      tags(&["_N_T_/blog"])
    );
    assert_eq!(
      implicit_tags_for_path("/blog", Some(PathKind::Page)).unwrap(),
      tags(&["_N_T_/blog/page"])
    );
    assert_eq!(
      implicit_tags_for_path("/", None).unwrap(),
      tags(&["_N_T_/", "_N_T_/index"])
    );
    assert_eq!(
      implicit_tags_for_path("/", Some(PathKind::Layout)).unwrap(),
      tags(&["_N_T_/layout"])
    );
    let long = format!("/{}", "a".repeat(1024));
    assert_eq!(
      implicit_tags_for_path(&long, None).unwrap_err().code,
      ErrorCode::TagTooLong
    );
  }

  #[test]
  fn lookup_tag_keeps_what_a_revalidation_could_have_stored() {
    assert_eq!(lookup_tag("a".into()), Some("a".into()));
    assert_eq!(lookup_tag("café".into()), Some("caf%C3%A9".into()));
    assert_eq!(lookup_tag(String::new()), None);
    assert_eq!(lookup_tag("a".repeat(4097)), None);
  }
}
