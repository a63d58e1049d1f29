//! cacheLife profiles: the Next.js 16.4 defaults, custom profiles from the app's `cacheLife`
//! config, validation and resolution. All durations are seconds (f64).

use std::collections::HashMap;

use crate::error::{Error, ErrorCode, Result};
use crate::input::{cut, format_number, quote, Input};

/// Next's `INFINITE_CACHE` (`0xfffffffe` s): "never". `Infinity` is stored as this.
pub const INFINITE_CACHE: f64 = 4_294_967_294.0;

/// A resolved cacheLife profile, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheLife {
  /// How long the client may use the value without asking the server (s).
  pub stale: f64,
  /// After this many seconds the entry is served stale and regenerated in the background.
  pub revalidate: f64,
  /// After this many seconds the entry is not served at all.
  pub expire: f64,
}

/// The seven built-in profiles of Next.js 16.4 (`config-shared.ts`), in seconds.
pub const BUILT_IN_PROFILES: [(&str, CacheLife); 7] = [
  ("default", cl(300.0, 900.0, INFINITE_CACHE)),
  ("seconds", cl(30.0, 1.0, 60.0)),
  ("minutes", cl(300.0, 60.0, 3600.0)),
  ("hours", cl(300.0, 3600.0, 86400.0)),
  ("days", cl(300.0, 86400.0, 604800.0)),
  ("weeks", cl(300.0, 604800.0, 2592000.0)),
  ("max", cl(300.0, 2592000.0, 31536000.0)),
];

const fn cl(stale: f64, revalidate: f64, expire: f64) -> CacheLife {
  CacheLife {
    stale,
    revalidate,
    expire,
  }
}

/// Validates one duration in seconds as Next does (`cache-life-profile.ts`, 16.3+):
/// a number ≥ 0; `Infinity` (or anything ≥ `INFINITE_CACHE`) becomes `INFINITE_CACHE`;
/// `false`, NaN, negatives and non-numbers are errors. `Ok(None)` when not given.
pub fn seconds(value: &Input, what: &str) -> Result<Option<f64>> {
  let bad = |why: &str| {
    Error::new(
      ErrorCode::InvalidCacheLife,
      format!("{what} must be {why}, got {}", value.describe()),
    )
  };
  match value {
    Input::Undefined | Input::Null => Ok(None),
    Input::Number(n) if n.is_nan() => Err(bad("a number of seconds")),
    Input::Number(n) if *n < 0.0 => Err(bad("zero or more seconds")),
    Input::Number(n) => Ok(Some(n.min(INFINITE_CACHE))),
    Input::Bool(false) => Err(bad("a number of seconds (pass Infinity instead of false)")),
    _ => Err(bad("a number of seconds")),
  }
}

/// The optional fields of a profile as written in config or inline; `None` inherits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PartialCacheLife {
  pub stale: Option<f64>,
  pub revalidate: Option<f64>,
  pub expire: Option<f64>,
}

impl PartialCacheLife {
  /// Parses `{ stale?, revalidate?, expire? }`; `what` names it in errors
  /// (e.g. `cacheLife.blog`).
  pub fn parse(value: &Input, what: &str) -> Result<Self> {
    let Input::Object(fields) = value else {
      return Err(Error::new(
        ErrorCode::InvalidCacheLife,
        format!(
          "{what} must be an object {{ stale?, revalidate?, expire? }} in seconds, got {}",
          value.describe()
        ),
      ));
    };
    if let Some((k, _)) = fields
      .iter()
      .find(|(k, _)| !matches!(k.as_str(), "stale" | "revalidate" | "expire"))
    {
      return Err(Error::new(
        ErrorCode::InvalidCacheLife,
        format!(
          "{what} has an unknown field {} (expected stale, revalidate, expire)",
          quote(k)
        ),
      ));
    }
    Ok(PartialCacheLife {
      stale: seconds(value.field("stale"), &format!("{what}.stale"))?,
      revalidate: seconds(value.field("revalidate"), &format!("{what}.revalidate"))?,
      expire: seconds(value.field("expire"), &format!("{what}.expire"))?,
    })
  }

  /// Checks `revalidate <= expire` when both were written (as Next does: only values the user
  /// wrote are validated), then fills missing fields from `base`.
  pub fn complete(self, base: CacheLife, what: &str) -> Result<CacheLife> {
    self.check_order(what)?;
    Ok(CacheLife {
      stale: self.stale.unwrap_or(base.stale),
      revalidate: self.revalidate.unwrap_or(base.revalidate),
      expire: self.expire.unwrap_or(base.expire),
    })
  }

  /// Next's `validateAndNormalizeCacheLifeProfile`: `revalidate` may not exceed `expire`
  /// when both are written. Errors: `ERR_INVALID_CACHE_LIFE`.
  pub fn check_order(&self, what: &str) -> Result<()> {
    if let (Some(revalidate), Some(expire)) = (self.revalidate, self.expire) {
      if revalidate > expire {
        return Err(Error::new(
          ErrorCode::InvalidCacheLife,
          format!(
            "{what}: expire ({}) must be greater than or equal to revalidate ({})",
            format_number(expire),
            format_number(revalidate)
          ),
        ));
      }
    }
    Ok(())
  }
}

/// The profiles an app can name: the built-ins overlaid with its `cacheLife` config.
#[derive(Debug, Clone)]
pub struct Profiles {
  by_name: HashMap<String, CacheLife>,
  /// Custom profiles (other than `default`) whose config gives no `expire`.
  without_expire: std::collections::HashSet<String>,
}

impl Default for Profiles {
  fn default() -> Self {
    Profiles {
      by_name: BUILT_IN_PROFILES
        .iter()
        .map(|(n, p)| (n.to_string(), *p))
        .collect(),
      without_expire: Default::default(),
    }
  }
}

impl Profiles {
  /// Builds the profile table from a `cacheLife` config object (or nullish for none).
  ///
  /// Mirrors Next 16: a custom profile with a built-in name replaces it wholesale; missing
  /// fields inherit from the `default` profile (a custom `default` first backfills from the
  /// built-in one). Errors: `ERR_INVALID_CACHE_LIFE` naming the profile and field.
  pub fn from_config(config: &Input) -> Result<Self> {
    let mut profiles = Profiles::default();
    let fields = match config {
      Input::Undefined | Input::Null => return Ok(profiles),
      Input::Object(fields) => fields,
      other => {
        return Err(Error::new(
          ErrorCode::InvalidCacheLife,
          format!(
            "cacheLife must be an object of profiles, got {}",
            other.describe()
          ),
        ))
      }
    };
    let built_in_default = BUILT_IN_PROFILES[0].1;
    let default = match config.field("default") {
      Input::Undefined => built_in_default,
      value => PartialCacheLife::parse(value, "cacheLife.default")?
        .complete(built_in_default, "cacheLife.default")?,
    };
    profiles.by_name.insert("default".into(), default);
    for (name, value) in fields.iter().filter(|(n, _)| n != "default") {
      let what = format!("cacheLife.{}", cut(name));
      let partial = PartialCacheLife::parse(value, &what)?;
      if partial.expire.is_none() {
        profiles.without_expire.insert(name.clone());
      } else {
        profiles.without_expire.remove(name);
      }
      let life = partial.complete(default, &what)?;
      profiles.by_name.insert(name.clone(), life);
    }
    Ok(profiles)
  }

  /// The profile called `name`, or `ERR_UNKNOWN_PROFILE`.
  pub fn get(&self, name: &str) -> Result<CacheLife> {
    self.by_name.get(name).copied().ok_or_else(|| {
      let mut known: Vec<String> = self.by_name.keys().map(|k| cut(k)).collect();
      known.sort_unstable();
      Error::new(
        ErrorCode::UnknownProfile,
        format!(
          "unknown cacheLife profile {}: configure it under cacheLife in next.config \
           or use one of {}",
          quote(name),
          known.join(", ")
        ),
      )
    })
  }

  /// The `expire` that `revalidateTag(tag, name)` passes on, as Next reads it from the
  /// config (`revalidation-utils.ts`): the profile's own, not backfilled from `default`, so
  /// `None` for a custom profile that gives none (the tags then only go stale).
  /// Errors: `ERR_UNKNOWN_PROFILE`.
  pub fn written_expire(&self, name: &str) -> Result<Option<f64>> {
    let life = self.get(name)?;
    Ok((!self.without_expire.contains(name)).then_some(life.expire))
  }

  /// Resolves a profile given as a name or as `{ stale?, revalidate?, expire? }` (missing
  /// fields inherit from `default`).
  pub fn resolve(&self, profile: &Input) -> Result<CacheLife> {
    match profile {
      Input::String(name) => self.get(name),
      Input::Object(_) => {
        PartialCacheLife::parse(profile, "profile")?.complete(self.get("default")?, "profile")
      }
      other => Err(Error::new(
        ErrorCode::InvalidCacheLife,
        format!(
          "profile must be a profile name or {{ stale?, revalidate?, expire? }}, got {}",
          other.describe()
        ),
      )),
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::input_object;

  #[test]
  fn built_in_profiles_match_next_16_4() {
    let p = Profiles::default();
    assert_eq!(p.get("default").unwrap(), cl(300.0, 900.0, 4294967294.0));
    assert_eq!(p.get("seconds").unwrap(), cl(30.0, 1.0, 60.0));
    assert_eq!(p.get("minutes").unwrap(), cl(300.0, 60.0, 3600.0));
    assert_eq!(p.get("hours").unwrap(), cl(300.0, 3600.0, 86400.0));
    assert_eq!(p.get("days").unwrap(), cl(300.0, 86400.0, 604800.0));
    assert_eq!(p.get("weeks").unwrap(), cl(300.0, 604800.0, 2592000.0));
    assert_eq!(p.get("max").unwrap(), cl(300.0, 2592000.0, 31536000.0));
  }

  #[test]
  fn custom_profile_replaces_built_in_and_inherits_from_default() {
    let config = input_object! {
      "hours" => input_object! { "revalidate" => 10.0 },
      "blog" => input_object! { "stale" => 5.0, "revalidate" => 60.0, "expire" => f64::INFINITY },
    };
    let p = Profiles::from_config(&config).unwrap();
    // `hours` replaced wholesale: stale and expire come from `default`, not the old `hours`.
    assert_eq!(p.get("hours").unwrap(), cl(300.0, 10.0, INFINITE_CACHE));
    assert_eq!(p.get("blog").unwrap(), cl(5.0, 60.0, INFINITE_CACHE));
    assert_eq!(p.get("max").unwrap().expire, 31536000.0);
  }

  #[test]
  fn custom_default_is_what_others_inherit() {
    let config = input_object! {
      "default" => input_object! { "revalidate" => 100.0, "expire" => 1000.0 },
      "short" => input_object! { "revalidate" => 5.0 },
    };
    let p = Profiles::from_config(&config).unwrap();
    assert_eq!(p.get("default").unwrap(), cl(300.0, 100.0, 1000.0));
    assert_eq!(p.get("short").unwrap(), cl(300.0, 5.0, 1000.0));
  }

  #[test]
  fn invalid_profiles_name_profile_and_field() {
    let cases: Vec<(Input, &str)> = vec![
      (
        input_object! { "blog" => input_object! { "expire" => false } },
        "cacheLife.blog.expire",
      ),
      (
        input_object! { "blog" => input_object! { "stale" => -1.0 } },
        "cacheLife.blog.stale",
      ),
      (
        input_object! { "blog" => input_object! { "revalidate" => f64::NAN } },
        "cacheLife.blog.revalidate",
      ),
      (
        input_object! { "blog" => input_object! { "revalidate" => "60" } },
        "cacheLife.blog.revalidate",
      ),
      (
        input_object! { "blog" => input_object! { "revalidate" => 100.0, "expire" => 10.0 } },
        "cacheLife.blog: expire (10)",
      ),
      (input_object! { "blog" => 5.0 }, "cacheLife.blog must be"),
      (
        input_object! { "blog" => input_object! { "expires" => 5.0 } },
        "unknown field \"expires\"",
      ),
      (Input::String("x".into()), "cacheLife must be an object"),
    ];
    for (config, needle) in cases {
      let err = Profiles::from_config(&config).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidCacheLife, "{config:?}");
      assert!(err.message.contains(needle), "{} !~ {needle}", err.message);
    }
  }

  #[test]
  fn only_written_fields_are_checked_against_each_other() {
    // Next accepts these: the filled-in revalidate (900) is larger than the written expire.
    let config = input_object! {
      "blog" => input_object! { "expire" => 120.0 },
      "default" => input_object! { "expire" => 0.0 },
    };
    let p = Profiles::from_config(&config).unwrap();
    assert_eq!(p.get("default").unwrap(), cl(300.0, 900.0, 0.0));
    assert_eq!(p.get("blog").unwrap(), cl(300.0, 900.0, 120.0));
  }

  #[test]
  fn equal_revalidate_and_expire_is_allowed() {
    let config =
      input_object! { "same" => input_object! { "revalidate" => 10.0, "expire" => 10.0 } };
    assert!(Profiles::from_config(&config).is_ok());
  }

  #[test]
  fn infinity_is_stored_as_infinite_cache() {
    assert_eq!(
      seconds(&Input::Number(f64::INFINITY), "x").unwrap(),
      Some(INFINITE_CACHE)
    );
    assert_eq!(
      seconds(&Input::Number(1e300), "x").unwrap(),
      Some(INFINITE_CACHE)
    );
  }

  #[test]
  fn resolve_by_name_or_inline() {
    let p = Profiles::default();
    assert_eq!(p.resolve(&"hours".into()).unwrap().expire, 86400.0);
    let inline = input_object! { "expire" => 120.0, "revalidate" => 60.0 };
    assert_eq!(p.resolve(&inline).unwrap(), cl(300.0, 60.0, 120.0));
    let err = p.resolve(&"nope".into()).unwrap_err();
    assert_eq!(err.code, ErrorCode::UnknownProfile);
    assert!(err.message.contains("\"nope\""));
    assert_eq!(
      p.resolve(&Input::Number(3.0)).unwrap_err().code,
      ErrorCode::InvalidCacheLife
    );
  }
}
