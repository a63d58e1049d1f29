//! JS-shaped arguments (`Input`) into the engine's typed ones, at the boundary: the binding
//! parses here and the engine (`cache.rs`) never sees an `Input`. Every function validates
//! all of its input and changes nothing; errors carry a stable `code`. Option objects are
//! parsed by `Options::parse`, cacheLife config by `Profiles::from_config`.

use crate::entry::EntryMeta;
use crate::error::{Error, ErrorCode, Result};
use crate::input::{quote, Input};
use crate::profile::{seconds, CacheLife, PartialCacheLife, Profiles};
use crate::tags::{encode_header_safe, lookup_tag, validate_tag, Durations, PathKind};

/// `set`'s `meta`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct SetMeta {
  pub meta: EntryMeta,
  /// Store only when nothing is stored under the key (`SET NX` on Redis).
  pub if_absent: bool,
}

/// Parses `set`'s `meta`: `{ tags?, profile? | stale?/revalidate?/expire?, timestamp?,
/// ifAbsent? }`. `profile` is a name or `{ stale?, revalidate?, expire? }`; explicit timings
/// and a profile's missing fields inherit from the `default` profile; `timestamp` (ms)
/// defaults to `now`. Errors: `ERR_INVALID_OPTIONS`, `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`,
/// `ERR_UNKNOWN_PROFILE`, `ERR_INVALID_CACHE_LIFE`.
pub fn set_meta(meta: &Input, profiles: &Profiles, now: f64) -> Result<SetMeta> {
  const KNOWN: [&str; 7] = [
    "tags",
    "profile",
    "stale",
    "revalidate",
    "expire",
    "timestamp",
    "ifAbsent",
  ];
  match meta {
    Input::Undefined | Input::Null => {}
    Input::Object(fields) => {
      if let Some((k, _)) = fields.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return Err(Error::new(
          ErrorCode::InvalidOptions,
          format!(
            "meta has an unknown field {}; known: {}",
            quote(k),
            KNOWN.join(", ")
          ),
        ));
      }
    }
    other => {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        format!("meta must be an object, got {}", other.describe()),
      ))
    }
  }
  let if_absent = match meta.field("ifAbsent") {
    v if v.is_nullish() => false,
    Input::Bool(b) => *b,
    v => {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        format!("meta.ifAbsent must be a boolean, got {}", v.describe()),
      ))
    }
  };
  let tags = match meta.field("tags") {
    v if v.is_nullish() => Vec::new(),
    v => tags(v, "meta.tags")?,
  };
  let explicit = ["stale", "revalidate", "expire"]
    .iter()
    .any(|f| !meta.field(f).is_nullish());
  let profile = meta.field("profile");
  let life: CacheLife = if !profile.is_nullish() {
    if explicit {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        "meta: give either profile or stale/revalidate/expire, not both",
      ));
    }
    profiles.resolve(profile)?
  } else {
    // Explicit timings are stored as given: Next writes entries whose revalidate exceeds
    // their expire (an inline `cacheLife({ expire })` keeps the default revalidate).
    let default = profiles.get("default")?;
    CacheLife {
      stale: seconds(meta.field("stale"), "meta.stale")?.unwrap_or(default.stale),
      revalidate: seconds(meta.field("revalidate"), "meta.revalidate")?
        .unwrap_or(default.revalidate),
      expire: seconds(meta.field("expire"), "meta.expire")?.unwrap_or(default.expire),
    }
  };
  let timestamp = match meta.field("timestamp") {
    v if v.is_nullish() => now,
    Input::Number(n) if n.is_finite() && *n >= 0.0 => *n,
    v => {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        format!(
          "meta.timestamp must be milliseconds since the epoch, got {}",
          v.describe()
        ),
      ))
    }
  };
  Ok(SetMeta {
    meta: EntryMeta {
      tags: tags.into(),
      stale: life.stale,
      revalidate: life.revalidate,
      expire: life.expire,
      timestamp,
    },
    if_absent,
  })
}

/// Parses a tag list to write: a string or an array of strings, each validated and encoded
/// as Next encodes tags. `what` names the argument in errors (e.g. `tags`).
/// Errors: `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`.
pub fn tags(value: &Input, what: &str) -> Result<Vec<String>> {
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
          // The argument's name is formatted only for a message (a set runs this per tag).
          validate_tag(tag, what).map_err(|err| {
            let message = err.message.replacen(what, &format!("{what}[{i}]"), 1);
            Error::new(err.code, message)
          })?;
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

/// Parses tags that are only looked up (soft tags in `get`, `getExpiration`): a string or
/// the strings of an array, each kept or skipped by `tags::lookup_tag`; anything else is
/// no tags. Never an error: no revalidation can have stored what is skipped.
pub fn lookup_tags(value: &Input) -> Vec<String> {
  match value {
    Input::String(tag) => lookup_tag(tag.clone()).into_iter().collect(),
    Input::Array(items) => items
      .iter()
      .filter_map(|item| match item {
        Input::String(tag) => lookup_tag(tag.clone()),
        _ => None,
      })
      .collect(),
    _ => Vec::new(),
  }
}

/// `revalidateTag(tag, profile)`'s profile as Next 16 reads it: a falsy one (`undefined`,
/// `''`) is none (the tags expire now); a name gives the profile's `expire` as written in
/// the config (a custom profile without one only marks the tags stale); `{ expire }` inline.
/// Errors: `ERR_UNKNOWN_PROFILE`, `ERR_INVALID_CACHE_LIFE`.
pub fn revalidate_profile(profile: &Input, profiles: &Profiles) -> Result<Option<Durations>> {
  match profile {
    v if v.is_nullish() => Ok(None),
    Input::String(name) if name.is_empty() => Ok(None),
    Input::String(name) => Ok(Some(Durations {
      expire: profiles.written_expire(name)?,
    })),
    Input::Object(_) => {
      let inline = PartialCacheLife::parse(profile, "profile")?;
      inline.check_order("profile")?;
      Ok(Some(Durations {
        expire: inline.expire,
      }))
    }
    other => Err(Error::new(
      ErrorCode::InvalidCacheLife,
      format!(
        "profile must be a cacheLife profile name or {{ expire }}, got {}",
        other.describe()
      ),
    )),
  }
}

/// `updateTags(tags, durations?)`'s durations: none, or `{ expire?: seconds }`.
/// Errors: `ERR_INVALID_CACHE_LIFE`.
pub fn update_durations(durations: &Input) -> Result<Option<Durations>> {
  if durations.is_nullish() {
    return Ok(None);
  }
  Ok(Some(Durations {
    expire: PartialCacheLife::parse(durations, "durations")?.expire,
  }))
}

/// `revalidatePath(path, type?)`'s arguments: a string, and `'page'`, `'layout'` or a falsy
/// type (`undefined`, `''`: none, as in Next). Errors: `ERR_INVALID_OPTIONS`.
pub fn path(path: &Input, kind: &Input) -> Result<(String, Option<PathKind>)> {
  let Input::String(path) = path else {
    return Err(Error::new(
      ErrorCode::InvalidOptions,
      format!("path must be a string, got {}", path.describe()),
    ));
  };
  let kind = match kind {
    v if v.is_nullish() => None,
    Input::String(k) if k.is_empty() => None,
    Input::String(k) if k == "page" => Some(PathKind::Page),
    Input::String(k) if k == "layout" => Some(PathKind::Layout),
    other => {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        format!(
          "type must be \"page\" or \"layout\", got {}",
          other.describe()
        ),
      ))
    }
  };
  Ok((path.clone(), kind))
}

#[cfg(test)]
mod tests {
  use super::*;

  fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
  }

  #[test]
  fn tags_accept_a_string_or_an_array() {
    assert_eq!(tags(&"a".into(), "tags").unwrap(), strings(&["a"]));
    let arr = Input::Array(vec!["a".into(), "b".into()]);
    assert_eq!(tags(&arr, "tags").unwrap(), strings(&["a", "b"]));
    let bad = Input::Array(vec!["a".into(), Input::Number(1.0)]);
    let err = tags(&bad, "tags").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidTag);
    assert!(err.message.contains("tags[1]"));
    assert_eq!(
      tags(&Input::Null, "tags").unwrap_err().code,
      ErrorCode::InvalidTag
    );
    assert_eq!(tags(&"café".into(), "t").unwrap(), vec!["caf%C3%A9"]);
  }

  #[test]
  fn lookup_tags_skip_what_cannot_have_been_stored() {
    let long = "a".repeat(4097);
    let arr = Input::Array(vec![
      "a".into(),
      Input::Number(1.0),
      "".into(),
      long.as_str().into(),
      "café".into(),
    ]);
    assert_eq!(lookup_tags(&arr), strings(&["a", "caf%C3%A9"]));
    assert!(lookup_tags(&Input::Number(1.0)).is_empty());
  }

  #[test]
  fn set_meta_resolves_profiles_and_defaults() {
    let profiles = Profiles::default();
    let parsed = set_meta(&Input::Undefined, &profiles, 7.0).unwrap();
    let default = profiles.get("default").unwrap();
    assert_eq!(parsed.meta.timestamp, 7.0);
    assert_eq!(parsed.meta.revalidate, default.revalidate);
    assert!(!parsed.if_absent);
    let meta = Input::Object(vec![
      ("profile".into(), "hours".into()),
      ("ifAbsent".into(), true.into()),
      ("tags".into(), Input::Array(vec!["t".into()])),
    ]);
    let parsed = set_meta(&meta, &profiles, 7.0).unwrap();
    assert_eq!(
      parsed.meta.revalidate,
      profiles.get("hours").unwrap().revalidate
    );
    assert_eq!(parsed.meta.tags.to_vec(), strings(&["t"]));
    assert!(parsed.if_absent);
    let both = Input::Object(vec![
      ("profile".into(), "hours".into()),
      ("stale".into(), 1.0.into()),
    ]);
    let err = set_meta(&both, &profiles, 7.0).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidOptions);
    let unknown = Input::Object(vec![("ttl".into(), 1.0.into())]);
    assert!(set_meta(&unknown, &profiles, 7.0)
      .unwrap_err()
      .message
      .contains("unknown field \"ttl\""));
  }

  #[test]
  fn revalidate_profile_reads_as_next_does() {
    let profiles = Profiles::default();
    assert_eq!(
      revalidate_profile(&Input::Undefined, &profiles).unwrap(),
      None
    );
    assert_eq!(revalidate_profile(&"".into(), &profiles).unwrap(), None);
    let max = revalidate_profile(&"max".into(), &profiles)
      .unwrap()
      .unwrap();
    assert_eq!(max.expire, profiles.written_expire("max").unwrap());
    let inline = Input::Object(vec![("expire".into(), 60.0.into())]);
    assert_eq!(
      revalidate_profile(&inline, &profiles).unwrap(),
      Some(Durations { expire: Some(60.0) })
    );
    assert_eq!(
      revalidate_profile(&"nope".into(), &profiles)
        .unwrap_err()
        .code,
      ErrorCode::UnknownProfile
    );
    assert_eq!(
      revalidate_profile(&Input::Number(1.0), &profiles)
        .unwrap_err()
        .code,
      ErrorCode::InvalidCacheLife
    );
  }

  #[test]
  fn path_takes_page_layout_or_no_type() {
    assert_eq!(path(&"/a".into(), &Input::Undefined).unwrap().1, None);
    assert_eq!(path(&"/a".into(), &"".into()).unwrap().1, None);
    assert_eq!(
      path(&"/a".into(), &"page".into()).unwrap().1,
      Some(PathKind::Page)
    );
    assert_eq!(
      path(&"/a".into(), &"route".into()).unwrap_err().code,
      ErrorCode::InvalidOptions
    );
    assert_eq!(
      path(&Input::Number(1.0), &Input::Undefined)
        .unwrap_err()
        .code,
      ErrorCode::InvalidOptions
    );
  }
}
