//! The tag manifest: for every revalidated tag, when it went stale and when it expires
//! (ms since the epoch, f64). Mirrors Next's `tags-manifest.external.ts` and the built-in
//! handler's `updateTags` (`cache-handlers/default.ts`).

use std::collections::HashMap;

use crate::error::{Error, ErrorCode, Result};
use crate::input::Input;

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

/// One field write: `tag`'s `field` is now `time` (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct TagWrite {
  pub tag: String,
  pub field: TagField,
  pub time: f64,
}

impl TagWrite {
  pub fn new(tag: &str, field: TagField, time: f64) -> Self {
    TagWrite {
      tag: tag.to_string(),
      field,
      time,
    }
  }

  /// The shared store's field name: `s:<tag>` or `x:<tag>`.
  pub fn key(&self) -> String {
    match self.field {
      TagField::Stale => format!("s:{}", self.tag),
      TagField::Expired => format!("x:{}", self.tag),
    }
  }

  /// The inverse of `key`.
  pub fn from_key(key: &str, time: f64) -> Option<Self> {
    let (field, tag) = match key.split_once(':')? {
      ("s", tag) => (TagField::Stale, tag),
      ("x", tag) => (TagField::Expired, tag),
      _ => return None,
    };
    Some(TagWrite::new(tag, field, time))
  }
}

/// A position in the shared store's tag log (a Redis stream id `ms-seq`, or the disk tier's
/// row `seq` as `(seq, 0)`): of two writes of one field, the one at the later position is
/// the newer, whatever the clocks of the instances that made them said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct LogPos(pub u64, pub u64);

/// Which write a field's value came from, so that writes made here and writes pulled from
/// the shared store apply in the store's order, not in the order they reached this process.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Source {
  /// Pulled from the log at this position, or made here and committed there.
  Log(LogPos),
  /// Made here by local write `n` and not committed yet: newer than anything a pull brings
  /// meanwhile (the pull read the log before this write reached it, or the pull also holds
  /// it); a pulled write waits in `deferred` until the commit says where this one landed.
  Local(u64),
}

#[derive(Debug, Clone, Copy)]
struct Field {
  source: Source,
  /// The newest write pulled while the field held an uncommitted local write.
  deferred: Option<(f64, LogPos)>,
}

impl Default for Field {
  fn default() -> Self {
    Field {
      source: Source::Log(LogPos::default()),
      deferred: None,
    }
  }
}

#[derive(Debug, Default)]
struct Tag {
  state: TagState,
  /// Stale, expired.
  fields: [Field; 2],
}

impl Tag {
  fn set(&mut self, field: TagField, time: f64, source: Source) {
    match field {
      TagField::Stale => self.state.stale = Some(time),
      TagField::Expired => self.state.expired = Some(time),
    }
    self.fields[field as usize] = Field {
      source,
      deferred: None,
    };
  }
}

/// Tag states by tag. Tags are compared exactly (case-sensitive), as Next does.
///
/// Field writes are ordered by the shared store's log (see `LogPos`): a write made here wins
/// until it is committed, then anything logged after it wins. So a pull that was in flight
/// while this instance revalidated never undoes the revalidation, and every instance ends
/// with the state of the last write in the log (convergence).
#[derive(Debug, Default)]
pub struct TagManifest {
  tags: HashMap<String, Tag>,
}

impl TagManifest {
  /// Next's `updateTags`: with durations (a profile was given) the tag is stale now and
  /// expires `durations.expire` seconds from now (if given); without, it expires now.
  /// Returns the field writes it made, for a shared store to replay.
  pub fn update(
    &mut self,
    tags: &[String],
    durations: Option<Durations>,
    now: f64,
  ) -> Vec<TagWrite> {
    self.update_local(tags, durations, now, 0)
  }

  /// `update` as local write `id`, which `committed` or `failed` later settles.
  pub fn update_local(
    &mut self,
    tags: &[String],
    durations: Option<Durations>,
    now: f64,
    id: u64,
  ) -> Vec<TagWrite> {
    let mut writes = Vec::with_capacity(tags.len() * 2);
    for tag in tags {
      match durations {
        Some(d) => {
          writes.push(TagWrite::new(tag, TagField::Stale, now));
          if let Some(expire) = d.expire {
            writes.push(TagWrite::new(tag, TagField::Expired, now + expire * 1000.0));
          }
        }
        None => writes.push(TagWrite::new(tag, TagField::Expired, now)),
      }
    }
    for w in &writes {
      let tag = self.tags.entry(w.tag.clone()).or_default();
      tag.set(w.field, w.time, Source::Local(id));
    }
    writes
  }

  /// Sets one field unconditionally (a replay in order, as in tests).
  pub fn apply(&mut self, write: &TagWrite) {
    let tag = self.tags.entry(write.tag.clone()).or_default();
    tag.set(write.field, write.time, Source::Log(LogPos::default()));
  }

  /// Applies a write pulled from the shared store's log at `pos` (or a whole-state reload
  /// that reflects the log up to `pos`): it replaces an older pulled or committed value,
  /// and waits behind an uncommitted local write.
  pub fn apply_pulled(&mut self, write: &TagWrite, pos: LogPos) {
    let tag = self.tags.entry(write.tag.clone()).or_default();
    let field = &mut tag.fields[write.field as usize];
    match field.source {
      Source::Local(_) => {
        if field.deferred.is_none_or(|(_, p)| pos >= p) {
          field.deferred = Some((write.time, pos));
        }
      }
      Source::Log(p) if pos >= p => tag.set(write.field, write.time, Source::Log(pos)),
      Source::Log(_) => {}
    }
  }

  /// Local write `id` (these `writes`) landed in the log at `pos`: from now on only writes
  /// logged after it replace it (one logged after it may already be waiting).
  pub fn committed(&mut self, writes: &[TagWrite], id: u64, pos: LogPos) {
    self.settle(writes, id, |deferred| match deferred {
      Some((time, p)) if p > pos => (Some(time), p),
      _ => (None, pos),
    });
  }

  /// Local write `id` did not reach the shared store (or may not have): the value stays
  /// here, but the store's own state wins from now on: a pulled write waiting behind it,
  /// else anything logged after `floor` (the position pulled so far).
  pub fn failed(&mut self, writes: &[TagWrite], id: u64, floor: LogPos) {
    self.settle(writes, id, |deferred| match deferred {
      Some((time, p)) => (Some(time), p),
      None => (None, floor),
    });
  }

  fn settle(
    &mut self,
    writes: &[TagWrite],
    id: u64,
    outcome: impl Fn(Option<(f64, LogPos)>) -> (Option<f64>, LogPos),
  ) {
    for w in writes {
      let Some(tag) = self.tags.get_mut(&w.tag) else {
        continue;
      };
      let field = tag.fields[w.field as usize];
      if field.source != Source::Local(id) {
        continue; // a later local write replaced it; that one settles the field
      }
      match outcome(field.deferred) {
        (Some(time), pos) => tag.set(w.field, time, Source::Log(pos)),
        (None, pos) => {
          tag.fields[w.field as usize] = Field {
            source: Source::Log(pos),
            deferred: None,
          }
        }
      }
    }
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

/// Parses a tag list: a string or an array of strings, each validated and encoded as Next
/// encodes tags. `what` names the argument in errors (e.g. `tags`).
pub fn parse_tags(value: &Input, what: &str) -> Result<Vec<String>> {
  match value {
    Input::String(tag) => {
      validate_tag(tag, what)?;
      Ok(vec![encode_header_safe(tag).into_owned()])
    }
    Input::Array(items) => items
      .iter()
      .enumerate()
      .map(|(i, item)| match item {
        Input::String(tag) => {
          validate_tag(tag, &format!("{what}[{i}]"))?;
          Ok(encode_header_safe(tag).into_owned())
        }
        other => Err(Error::new(
          ErrorCode::InvalidTag,
          format!("{what}[{i}] must be a string, got {}", other.describe()),
        )),
      })
      .collect(),
    other => Err(Error::new(
      ErrorCode::InvalidTag,
      format!(
        "{what} must be a string or an array of strings, got {}",
        other.describe()
      ),
    )),
  }
}

/// Parses tags that are only looked up (soft tags in `get`, `getExpiration`): strings are
/// kept (encoded like Next's), anything else and over-long tags are skipped, since no
/// revalidation can ever have stored them. Next does not cap implicit tags of long URLs.
pub fn parse_lookup_tags(value: &Input) -> Vec<String> {
  let keep = |tag: &String| !tag.is_empty() && tag.len() <= 4 * MAX_SOFT_TAG_LENGTH;
  match value {
    Input::String(tag) if keep(tag) => vec![encode_header_safe(tag).into_owned()],
    Input::Array(items) => items
      .iter()
      .filter_map(|item| match item {
        Input::String(tag) if keep(tag) => Some(encode_header_safe(tag).into_owned()),
        _ => None,
      })
      .collect(),
    _ => Vec::new(),
  }
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
      let replayed = TagWrite::from_key(&w.key(), w.time).unwrap();
      assert_eq!(&replayed, w);
      b.apply(&replayed);
    }
    assert_eq!(b.state("x:y"), a.state("x:y"));
    assert_eq!(b.state("z"), a.state("z"));
    assert_eq!(TagWrite::from_key("q:z", 1.0), None);
  }

  fn write(tag: &str, field: TagField, time: f64) -> TagWrite {
    TagWrite::new(tag, field, time)
  }

  #[test]
  fn a_pull_in_flight_never_undoes_a_local_revalidation() {
    let mut m = TagManifest::default();
    // Another instance's old write, logged at 5-0.
    m.apply_pulled(&write("t", TagField::Expired, 9e12), LogPos(5, 0));
    // Here: `updateTag(t)` (expired now), not committed yet.
    let local = m.update_local(&tags(&["t"]), None, 1000.0, 1);
    // A pull that read the log before our write reached it brings 5-0 again, and 6-0 (the
    // other instance's write logged before ours): both wait.
    m.apply_pulled(&write("t", TagField::Expired, 9e12), LogPos(5, 0));
    m.apply_pulled(&write("t", TagField::Expired, 8e12), LogPos(6, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(1000.0));
    // Ours landed at 7-0, after them: it stays.
    m.committed(&local, 1, LogPos(7, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(1000.0));
    // Older pulls never replace it, a later write does.
    m.apply_pulled(&write("t", TagField::Expired, 8e12), LogPos(6, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(1000.0));
    m.apply_pulled(&write("t", TagField::Expired, 2000.0), LogPos(8, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(2000.0));
  }

  #[test]
  fn a_write_logged_after_an_uncommitted_local_one_wins_at_commit() {
    let mut m = TagManifest::default();
    let local = m.update_local(&tags(&["t"]), None, 1000.0, 1);
    // Pulled before our commit answered, but logged after ours (at 9-0 > 7-0).
    m.apply_pulled(&write("t", TagField::Expired, 3000.0), LogPos(9, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(1000.0));
    m.committed(&local, 1, LogPos(7, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(3000.0));
  }

  #[test]
  fn a_failed_local_write_yields_to_the_store() {
    let mut m = TagManifest::default();
    let a = m.update_local(&tags(&["a"]), None, 1000.0, 1);
    let b = m.update_local(&tags(&["b"]), None, 1000.0, 2);
    m.apply_pulled(&write("b", TagField::Expired, 500.0), LogPos(3, 0));
    m.failed(&a, 1, LogPos(4, 0));
    m.failed(&b, 2, LogPos(4, 0));
    // Nothing was waiting for `a`: its value stays until a write logged after 4-0.
    assert_eq!(m.state("a").unwrap().expired, Some(1000.0));
    m.apply_pulled(&write("a", TagField::Expired, 100.0), LogPos(4, 0));
    assert_eq!(m.state("a").unwrap().expired, Some(100.0));
    // `b`: the store's value, which every other instance has too.
    assert_eq!(m.state("b").unwrap().expired, Some(500.0));
  }

  #[test]
  fn only_the_latest_local_write_of_a_field_settles_it() {
    let mut m = TagManifest::default();
    let first = m.update_local(
      &tags(&["t"]),
      Some(Durations { expire: Some(60.0) }),
      1000.0,
      1,
    );
    let second = m.update_local(&tags(&["t"]), None, 2000.0, 2);
    m.apply_pulled(&write("t", TagField::Expired, 5.0), LogPos(9, 0));
    // The first commit settles `stale` only; `expired` belongs to the second write.
    m.committed(&first, 1, LogPos(7, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(2000.0));
    m.apply_pulled(&write("t", TagField::Stale, 1.0), LogPos(6, 0));
    assert_eq!(m.state("t").unwrap().stale, Some(1000.0));
    m.committed(&second, 2, LogPos(8, 0));
    assert_eq!(m.state("t").unwrap().expired, Some(5.0));
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
    assert_eq!(parse_tags(&"café".into(), "t").unwrap(), vec!["caf%C3%A9"]);
  }

  #[test]
  fn parse_tags_accepts_string_or_array() {
    assert_eq!(parse_tags(&"a".into(), "tags").unwrap(), tags(&["a"]));
    let arr = Input::Array(vec!["a".into(), "b".into()]);
    assert_eq!(parse_tags(&arr, "tags").unwrap(), tags(&["a", "b"]));
    let bad = Input::Array(vec!["a".into(), Input::Number(1.0)]);
    let err = parse_tags(&bad, "tags").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidTag);
    assert!(err.message.contains("tags[1]"));
    assert_eq!(
      parse_tags(&Input::Null, "tags").unwrap_err().code,
      ErrorCode::InvalidTag
    );
  }
}
