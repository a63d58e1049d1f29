//! Fuzz target: tag rules. Lengths are measured as Next measures them (UTF-16 code units of
//! the tag as written, 256, or 1024 for implicit `_N_T_` tags), tags are encoded as Next's
//! `encodeHeaderSafe` encodes them, `revalidatePath` builds Next's implicit tags, and a
//! tag write survives its trip through the shared store's field name.

use proptest::collection::vec;
use proptest::prelude::*;

use super::support::{check, must_pass, no_panic};
use crate::error::ErrorCode;
use crate::input::Input;
use crate::tags::{
  encode_header_safe, implicit_tags_for_path, validate_tag, TagField, TagWrite,
  IMPLICIT_TAG_PREFIX, MAX_SOFT_TAG_LENGTH, MAX_TAG_LENGTH,
};

// ---- the reference: Next's rules, written out ----

fn in_header_class(c: char) -> bool {
  c == '\t' || (' '..='~').contains(&c)
}

/// Next's `encodeHeaderSafe`: runs outside `\t\x20-\x7e` go through `encodeURIComponent`,
/// which writes each UTF-8 byte as `%XX` (upper case); nothing in such a run is unreserved.
pub(super) fn next_encode(tag: &str) -> String {
  let mut out = String::new();
  for c in tag.chars() {
    if in_header_class(c) {
      out.push(c);
    } else {
      let mut buf = [0; 4];
      for b in c.encode_utf8(&mut buf).bytes() {
        out.push_str(&format!("%{b:02X}"));
      }
    }
  }
  out
}

/// The tag as the user wrote it, from the encoded form a handler receives: `%XX` runs that
/// decode to UTF-8. Anything else is taken as written.
fn next_decode(tag: &str) -> String {
  let bytes = tag.as_bytes();
  let mut out = Vec::new();
  let mut i = 0;
  while i < bytes.len() {
    if bytes[i] == b'%' {
      let hex = tag
        .get(i + 1..i + 3)
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
      let Some(hex) = hex else {
        return tag.to_string();
      };
      out.push(u8::from_str_radix(hex, 16).unwrap());
      i += 3;
    } else {
      out.push(bytes[i]);
      i += 1;
    }
  }
  String::from_utf8(out).unwrap_or_else(|_| tag.to_string())
}

/// JS `string.length`.
fn utf16_len(s: &str) -> usize {
  s.encode_utf16().count()
}

fn max_length(tag: &str) -> usize {
  if tag.starts_with(IMPLICIT_TAG_PREFIX) {
    MAX_SOFT_TAG_LENGTH
  } else {
    MAX_TAG_LENGTH
  }
}

/// Next's `revalidatePath(path, type)` (`spec-extension/revalidate.ts`): the implicit tags
/// it expires, or `None` when it ignores the call (a path over 1024 code units).
pub(super) fn next_revalidate_path(path: &str, kind: Option<&str>) -> Option<Vec<String>> {
  if utf16_len(path) > MAX_SOFT_TAG_LENGTH {
    return None;
  }
  let trimmed = match path.strip_suffix('/') {
    Some(rest) if path.len() > 1 => rest,
    _ => path,
  };
  let mut tag = format!("{IMPLICIT_TAG_PREFIX}{}", next_encode(trimmed));
  if let Some(kind) = kind {
    if !tag.ends_with('/') {
      tag.push('/');
    }
    tag.push_str(kind);
  }
  let mut tags = vec![tag.clone()];
  if tag == "_N_T_/" {
    tags.push("_N_T_/index".into());
  } else if tag == "_N_T_/index" {
    tags.push("_N_T_/".into());
  }
  Some(tags)
}

// ---- strategies ----

/// A small PRNG, so that long strings cost one draw from proptest instead of one per
/// character (a length and a seed still shrink).
struct Mix(u64);

impl Mix {
  fn next(&mut self) -> u64 {
    self.0 ^= self.0 << 13;
    self.0 ^= self.0 >> 7;
    self.0 ^= self.0 << 17;
    self.0
  }

  /// Characters of every UTF-8 and UTF-16 width, and the ones the encoding cares about.
  fn char(&mut self) -> char {
    const SPECIAL: [char; 10] = ['\t', ' ', '~', '/', ':', '_', '%', '\n', '\u{7f}', '\0'];
    let r = self.next();
    let pick = |lo: u32, hi: u32| char::from_u32(lo + (r >> 8) as u32 % (hi - lo)).unwrap_or('?');
    match r % 10 {
      0..=3 => pick('a' as u32, 'z' as u32 + 1),
      4 => SPECIAL[(r >> 8) as usize % SPECIAL.len()],
      5 => pick(0x80, 0x800),
      6 => pick(0x800, 0xd800),
      7 => pick(0xe000, 0x10000),
      _ => pick(0x10000, 0x110000),
    }
  }
}

/// `n` characters (UTF-16 units for astral ones count twice, as in JS).
fn chars(n: usize, seed: u64, allow_percent: bool) -> String {
  let mut mix = Mix(seed | 1);
  let mut s = String::new();
  let mut len = 0;
  while len < n {
    let c = match mix.char() {
      '%' if !allow_percent => 'p',
      c if len + c.len_utf16() > n => 'b',
      c => c,
    };
    s.push(c);
    len += c.len_utf16();
  }
  s
}

/// Strings around the limits: lengths near 256 and 1024 (in UTF-16 units), with and
/// without the implicit prefix.
fn tag_near_limits(allow_percent: bool) -> impl Strategy<Value = String> {
  let lengths = vec![
    0usize, 1, 8, 120, 250, 255, 256, 257, 260, 1018, 1019, 1020, 1024, 1030,
  ];
  (
    any::<bool>(),
    prop::sample::select(lengths),
    -3isize..=3,
    any::<u64>(),
  )
    .prop_map(move |(implicit, n, slack, seed)| {
      let n = n.saturating_add_signed(slack);
      if implicit {
        let rest = chars(
          n.saturating_sub(IMPLICIT_TAG_PREFIX.len()),
          seed,
          allow_percent,
        );
        format!("{IMPLICIT_TAG_PREFIX}{rest}")
      } else {
        chars(n, seed, allow_percent)
      }
    })
}

/// Strings with percent escapes, valid or not: encoded non-ASCII, encoded ASCII, a stray
/// `%`, a sign where a hex digit belongs (with `signs`); as long as limits need.
fn percent_tag(signs: bool) -> impl Strategy<Value = String> {
  const PIECES: [&str; 12] = [
    "a",
    "bc",
    "%C3%A9",
    "%F0%9F%98%80",
    "%41",
    "%",
    "%G0",
    "%C3",
    "%e9",
    "é",
    "%-1",
    "%+4",
  ];
  let pieces = if signs {
    &PIECES[..]
  } else {
    &PIECES[..PIECES.len() - 1]
  };
  (any::<bool>(), 0usize..400, any::<u64>()).prop_map(move |(implicit, n, seed)| {
    let mut mix = Mix(seed | 1);
    // Mostly one piece repeated (so the whole tag decodes, or not), sometimes a mixture.
    let one = pieces[mix.next() as usize % pieces.len()];
    let mixed = mix.next().is_multiple_of(3);
    let mut s = String::from(if implicit { IMPLICIT_TAG_PREFIX } else { "" });
    for _ in 0..n {
      s.push_str(if mixed {
        pieces[mix.next() as usize % pieces.len()]
      } else {
        one
      });
    }
    s
  })
}

// ---- properties ----

#[test]
fn tag_lengths_are_next_lengths() {
  check(
    "tags/tag_lengths_are_next_lengths",
    file!(),
    500,
    tag_near_limits(false),
    |raw| {
      let len = utf16_len(&raw);
      let valid = len >= 1 && len <= max_length(&raw);
      // As written (a webhook) and as Next hands it over (encoded): the same verdict.
      for tag in [raw.clone(), next_encode(&raw)] {
        let result = no_panic("validate_tag", || validate_tag(&tag, "tag"))?;
        match result {
          Ok(()) => prop_assert!(valid, "{len} code units accepted"),
          Err(err) => {
            prop_assert!(!valid, "{len} code units rejected: {}", err.message);
            if len == 0 {
              prop_assert_eq!(err.code, ErrorCode::InvalidTag);
            } else {
              prop_assert_eq!(err.code, ErrorCode::TagTooLong);
              prop_assert!(err.message.contains(&len.to_string()), "{}", err.message);
              prop_assert!(
                err.message.len() < 400,
                "{} bytes of message",
                err.message.len()
              );
            }
          }
        }
      }
      Ok(())
    },
  );
}

fn measured_decoded(tag: String) -> Result<(), TestCaseError> {
  let len = utf16_len(&next_decode(&tag));
  let valid = len >= 1 && len <= max_length(&tag);
  let result = no_panic("validate_tag", || validate_tag(&tag, "tag"))?;
  prop_assert_eq!(
    result.is_ok(),
    valid,
    "{} code units decoded: {:?}",
    len,
    result
  );
  Ok(())
}

#[test]
fn percent_encoded_tags_are_measured_decoded() {
  check(
    "tags/percent_encoded_tags_are_measured_decoded",
    file!(),
    500,
    prop_oneof![percent_tag(false), tag_near_limits(true)],
    measured_decoded,
  );
}

/// `%+4` is not an escape (`+` is no hex digit), but `u8::from_str_radix` takes a leading
/// sign, so `tags::percent_decode` reads it as byte 4. Known engine defect, minimal input:
/// `"%+4".repeat(86)`, 258 characters as written (Next drops it from `cacheTag`: over 256),
/// accepted by `validate_tag` as 86. Ignored until the decoder checks for two hex digits.
#[test]
fn percent_escapes_are_two_hex_digits() {
  must_pass("\"%+4\" × 86", measured_decoded("%+4".repeat(86)));
  check(
    "tags/percent_escapes_are_two_hex_digits",
    file!(),
    500,
    percent_tag(true),
    measured_decoded,
  );
}

#[test]
fn tags_are_encoded_like_next() {
  check(
    "tags/tags_are_encoded_like_next",
    file!(),
    500,
    prop_oneof![
      (0usize..40, any::<u64>()).prop_map(|(n, seed)| chars(n, seed, true)),
      any::<String>()
    ],
    |tag| {
      let encoded = no_panic("encode_header_safe", || {
        encode_header_safe(&tag).into_owned()
      })?;
      prop_assert_eq!(&encoded, &next_encode(&tag));
      prop_assert!(encoded.chars().all(in_header_class));
      prop_assert_eq!(encode_header_safe(&encoded), encoded.as_str(), "idempotent");
      if !tag.contains('%') {
        prop_assert_eq!(next_decode(&encoded), tag.clone());
      }
      // parse_tags: the encoded tag when valid, else the validation error.
      let parsed = no_panic("parse_tags", || {
        crate::parse::tags(&Input::String(tag.clone()), "tags")
      })?;
      match (validate_tag(&tag, "tags"), parsed) {
        (Ok(()), Ok(tags)) => prop_assert_eq!(tags, vec![encoded.clone()]),
        (Err(want), Err(got)) => prop_assert_eq!(want.code, got.code),
        (want, got) => prop_assert!(false, "validate {want:?} but parse {got:?}"),
      }
      Ok(())
    },
  );
}

#[test]
fn tag_lists_parse_item_by_item() {
  let item = prop_oneof![
    4 => prop_oneof![tag_near_limits(false), "[a-z]{0,4}", any::<String>()].prop_map(Input::String),
    1 => Just(Input::Number(1.0)),
    1 => Just(Input::Null),
    1 => Just(Input::Array(vec![])),
  ];
  check(
    "tags/tag_lists_parse_item_by_item",
    file!(),
    300,
    vec(item, 0..6),
    |items| {
      let input = Input::Array(items.clone());
      let parsed = no_panic("parse_tags", || crate::parse::tags(&input, "tags"))?;
      let first_bad = items.iter().enumerate().find_map(|(i, item)| match item {
        Input::String(s) => validate_tag(s, "t").err().map(|e| (i, e.code)),
        _ => Some((i, ErrorCode::InvalidTag)),
      });
      match (first_bad, parsed) {
        (None, Ok(tags)) => {
          let want: Vec<String> = items
            .iter()
            .map(|i| match i {
              Input::String(s) => next_encode(s),
              _ => unreachable!(),
            })
            .collect();
          prop_assert_eq!(tags, want);
        }
        (Some((i, code)), Err(err)) => {
          prop_assert_eq!(err.code, code);
          let needle = format!("tags[{i}]");
          prop_assert!(err.message.contains(&needle), "{}", err.message);
        }
        (want, got) => prop_assert!(false, "expected {want:?}, got {got:?}"),
      }
      // Lookups never fail: strings kept (encoded) unless empty or absurdly long.
      let looked_up = no_panic("parse_lookup_tags", || crate::parse::lookup_tags(&input))?;
      let want: Vec<String> = items
        .iter()
        .filter_map(|i| match i {
          Input::String(s) if !s.is_empty() && s.len() <= 4 * MAX_SOFT_TAG_LENGTH => {
            Some(next_encode(s))
          }
          _ => None,
        })
        .collect();
      prop_assert_eq!(looked_up, want);
      Ok(())
    },
  );
}

#[test]
fn tag_writes_survive_the_shared_store_field_name() {
  let time = prop_oneof![any::<u64>().prop_map(f64::from_bits), 1.7e12..1.9e12f64];
  let field = prop_oneof![Just(TagField::Stale), Just(TagField::Expired)];
  check(
    "tags/tag_writes_survive_the_shared_store_field_name",
    file!(),
    500,
    (any::<String>(), "[sx:]{0,3}", field, time),
    |(tag, prefix, field, time)| {
      let write = TagWrite::new(&tag, field, time);
      let back = TagWrite::from_key(&write.key(), time);
      let back = back.ok_or_else(|| TestCaseError::fail("no write back"))?;
      prop_assert_eq!(&back.tag, &tag);
      prop_assert_eq!(back.field, field);
      prop_assert_eq!(back.time.to_bits(), time.to_bits());
      // Any other field name: nothing, or a write whose key is that name.
      let key = format!("{prefix}{tag}");
      if let Some(w) = no_panic("from_key", || TagWrite::from_key(&key, time))? {
        prop_assert_eq!(w.key(), key);
      }
      Ok(())
    },
  );
}

#[test]
fn revalidate_path_builds_next_implicit_tags() {
  let segment = prop_oneof![
    "[a-z]{1,6}",
    Just("index".to_string()),
    Just("[slug]".to_string()),
    Just("café".to_string()),
    Just("".to_string()),
    "\\PC{1,3}",
  ];
  let path = prop_oneof![
    8 => (any::<bool>(), vec(segment, 0..4), any::<bool>()).prop_map(|(root, segs, slash)| {
      let mut p = segs.join("/");
      if root {
        p.insert(0, '/');
      }
      if slash {
        p.push('/');
      }
      p
    }),
    1 => (1000usize..1100).prop_map(|n| format!("/{}", "é".repeat(n))),
    1 => any::<String>(),
  ];
  let kind = prop_oneof![
    Just(None),
    Just(Some("page")),
    Just(Some("layout")),
    Just(Some("other")),
  ];
  check(
    "tags/revalidate_path_builds_next_implicit_tags",
    file!(),
    500,
    (path, kind),
    |(path, kind)| {
      let kind_input = kind.map_or(Input::Undefined, Input::from);
      let result = no_panic("implicit_tags_for_path", || {
        crate::parse::path(&Input::String(path.clone()), &kind_input)
          .and_then(|(path, kind)| implicit_tags_for_path(&path, kind))
      })?;
      if kind == Some("other") {
        // Next's types allow only 'page' and 'layout'; we say so rather than guess.
        prop_assert_eq!(result.map_err(|e| e.code), Err(ErrorCode::InvalidOptions));
        return Ok(());
      }
      match (next_revalidate_path(&path, kind), result) {
        (Some(want), Ok(got)) => prop_assert_eq!(got, want),
        // Next warns and ignores the call; we refuse it with the code a caller can test.
        (None, Err(err)) => prop_assert_eq!(err.code, ErrorCode::TagTooLong),
        (want, got) => prop_assert!(false, "Next {want:?}, engine {got:?}"),
      }
      Ok(())
    },
  );
}
