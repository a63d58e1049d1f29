//! Fuzz target: every JS argument the engine parses, as arbitrary `Input` trees (numbers of
//! every kind, unicode and percent-encoded strings, nested arrays and objects, functions):
//! options, `set` meta, cacheLife profiles, durations, tags, paths. No input may panic; every
//! error carries the code its method documents and a message; what is accepted is within
//! bounds; and a call that fails changes nothing.

use proptest::collection::vec;
use proptest::prelude::*;

use super::js_shaped::JsShaped;
use super::support::{check, must_pass, no_panic};
use crate::cache::{Cache, Lookup};
use crate::clock::{Clock, ManualTime};
use crate::error::{Error, ErrorCode, Result};
use crate::input::Input;
use crate::options::Options;
use crate::parse::lookup_tags as parse_lookup_tags;
use crate::profile::{seconds, CacheLife, PartialCacheLife, Profiles, INFINITE_CACHE};

use ErrorCode::*;

// ---- strategies ----

fn number() -> impl Strategy<Value = f64> {
  prop_oneof![
    prop::sample::select(vec![
      f64::NAN,
      f64::INFINITY,
      f64::NEG_INFINITY,
      0.0,
      -0.0,
      1e30,
      -1e30,
      f64::MAX,
      f64::MIN,
      f64::MIN_POSITIVE,
      f64::EPSILON,
      1.0,
      1.5,
      -1.0,
      60.0,
      300.0,
      4_294_967_294.0,
      4_294_967_295.0,
      9_007_199_254_740_993.0,
      1_048_576.0,
      1_763_800_000_000.5,
      u64::MAX as f64,
      usize::MAX as f64,
    ]),
    any::<u64>().prop_map(f64::from_bits),
    -1e4..1e4f64,
    (0u32..10_000).prop_map(f64::from),
  ]
}

/// Names the parsers know (option, meta and profile fields, profile names), so that random
/// objects reach past the "unknown field" checks.
const WORDS: [&str; 32] = [
  "cacheLife",
  "maxMemoryBytes",
  "keyPrefix",
  "timeoutMs",
  "localTtlMs",
  "maxDiskBytes",
  "debug",
  "redisUrl",
  "redisCluster",
  "diskDir",
  "tags",
  "profile",
  "stale",
  "revalidate",
  "expire",
  "timestamp",
  "ifAbsent",
  "default",
  "seconds",
  "minutes",
  "hours",
  "days",
  "weeks",
  "max",
  "blog",
  "page",
  "layout",
  "/",
  "/index",
  "_N_T_/blog",
  "",
  "__proto__",
];

fn string() -> impl Strategy<Value = String> {
  prop_oneof![
    4 => prop::sample::select(WORDS.to_vec()).prop_map(str::to_string),
    2 => "[a-z/_%:]{0,12}",
    1 => "(%[0-9A-F]{2}){1,6}",
    1 => "\\PC{0,12}",
    1 => any::<String>(),
    1 => (0usize..1100, any::<bool>()).prop_map(|(n, implicit)| {
      let prefix = if implicit { "_N_T_/" } else { "" };
      format!("{prefix}{}", "é".repeat(n / 2))
    }),
  ]
}

fn input() -> impl Strategy<Value = Input> {
  let leaf = prop_oneof![
    1 => Just(Input::Undefined),
    1 => Just(Input::Null),
    1 => any::<bool>().prop_map(Input::Bool),
    3 => number().prop_map(Input::Number),
    3 => string().prop_map(Input::String),
    1 => prop::sample::select(vec!["function", "symbol", "bigint", "Buffer"])
      .prop_map(Input::Other),
  ];
  leaf.prop_recursive(4, 48, 6, |inner| {
    prop_oneof![
      vec(inner.clone(), 0..6).prop_map(Input::Array),
      vec((string(), inner), 0..6).prop_map(Input::Object),
    ]
  })
}

// ---- the checks ----

const NOW: f64 = 1_763_800_000_000.25;

/// An engine in memory with a few custom profiles, on a clock that stands still.
fn engine(time: &'static ManualTime) -> Cache<Vec<u8>> {
  let life = |r: f64, e: f64| {
    Input::Object(vec![
      ("revalidate".into(), Input::Number(r)),
      ("expire".into(), Input::Number(e)),
    ])
  };
  let options = Input::Object(vec![
    ("debug".into(), Input::Bool(false)),
    (
      "cacheLife".into(),
      Input::Object(vec![
        ("blog".into(), life(60.0, 600.0)),
        ("hours".into(), life(10.0, 100.0)),
      ]),
    ),
  ]);
  time.set(NOW);
  Cache::js_engine(&options, Clock::manual(time)).unwrap()
}

/// How strict the checks of a run are.
#[derive(Clone, Copy)]
struct Rules {
  /// Error messages stay short whatever the input (a 1 MB key must not become a 1 MB
  /// message): known not to hold yet, see `error_messages_are_bounded`.
  bounded_messages: bool,
}

const TODAY: Rules = Rules {
  bounded_messages: false,
};

/// Longest error message allowed with `bounded_messages`.
const MAX_MESSAGE: usize = 1024;

/// The result of a call on arbitrary input: no panic, and an error with one of `codes`
/// and a message.
fn checked<T>(
  rules: Rules,
  what: &str,
  codes: &[ErrorCode],
  f: impl FnOnce() -> Result<T>,
) -> std::result::Result<Option<T>, TestCaseError> {
  match no_panic(what, f)? {
    Ok(value) => Ok(Some(value)),
    Err(Error { code, message }) => {
      prop_assert!(
        codes.contains(&code),
        "{what}: unexpected {} ({message})",
        code.as_str()
      );
      prop_assert!(code.as_str().starts_with("ERR_"));
      prop_assert!(
        !message.trim().is_empty(),
        "{what}: {} without a message",
        code.as_str()
      );
      prop_assert!(!message.contains("panicked"), "{what}: {message}");
      if rules.bounded_messages {
        prop_assert!(
          message.len() <= MAX_MESSAGE,
          "{what}: a message of {} bytes: {message}",
          message.len()
        );
      }
      Ok(None)
    }
  }
}

/// A duration as stored: a number of seconds in [0, INFINITE_CACHE], never NaN.
fn valid_seconds(n: f64) -> bool {
  (0.0..=INFINITE_CACHE).contains(&n)
}

fn valid_life(life: &CacheLife) -> bool {
  valid_seconds(life.stale) && valid_seconds(life.revalidate) && valid_seconds(life.expire)
}

/// What a cache call could change, to check that a failed call changed nothing.
fn footprint(cache: &Cache<Vec<u8>>, tags: &[String]) -> (u64, u64, u64, String) {
  let stats = cache.stats();
  let states = cache.js_tag_states(&Input::Array(
    tags.iter().map(|t| Input::String(t.clone())).collect(),
  ));
  (
    stats.sets,
    stats.tag_updates,
    stats.entries,
    format!("{states:?}"),
  )
}

/// Every string anywhere in `input`: the tags a call could have touched.
fn strings_in(input: &Input, out: &mut Vec<String>) {
  match input {
    Input::String(s) => out.push(s.clone()),
    Input::Array(items) => items.iter().for_each(|i| strings_in(i, out)),
    Input::Object(fields) => fields.iter().for_each(|(_, v)| strings_in(v, out)),
    _ => {}
  }
}

fn one_input(rules: Rules, value: Input) -> std::result::Result<(), TestCaseError> {
  let _ = no_panic("describe", || value.describe())?;
  prop_assert!(value.describe().len() <= 1024);

  if let Some(options) = checked(
    rules,
    "Options::parse",
    &[InvalidOptions, InvalidCacheLife],
    || Options::parse(&value),
  )? {
    prop_assert!(options.max_memory_bytes >= 1);
    prop_assert!(options.timeout_ms > 0.0 && options.timeout_ms.is_finite());
    prop_assert!(options.local_ttl_ms >= 0.0 && options.local_ttl_ms.is_finite());
    prop_assert!(!options.key_prefix.is_empty());
    for name in ["default", "max", "blog"] {
      if let Ok(life) = options.profiles.get(name) {
        prop_assert!(valid_life(&life), "{name}: {life:?}");
      }
    }
    // Only in-process engines are built here: no sockets, no files.
    if options.shared.is_none() && options.disk.is_none() {
      no_panic("Cache::with_clock", || {
        Cache::<Vec<u8>>::with_clock(options, Clock::anchored(NOW))
      })?
      .map_err(|e| TestCaseError::fail(format!("valid options refused: {e}")))?;
    }
  }
  if let Some(profiles) = checked(rules, "Profiles::from_config", &[InvalidCacheLife], || {
    Profiles::from_config(&value)
  })? {
    prop_assert!(valid_life(&profiles.get("default").unwrap()));
    for name in WORDS {
      if let Ok(life) = profiles.get(name) {
        prop_assert!(valid_life(&life), "{name}: {life:?}");
      }
    }
  }
  if let Some(partial) = checked(
    rules,
    "PartialCacheLife::parse",
    &[InvalidCacheLife],
    || PartialCacheLife::parse(&value, "profile"),
  )? {
    for n in [partial.stale, partial.revalidate, partial.expire]
      .into_iter()
      .flatten()
    {
      prop_assert!(valid_seconds(n), "{n}");
    }
  }
  if let Some(Some(n)) = checked(rules, "seconds", &[InvalidCacheLife], || {
    seconds(&value, "expire")
  })? {
    prop_assert!(valid_seconds(n), "{n}");
    prop_assert!(matches!(value, Input::Number(_)));
  }
  let lookup = no_panic("parse_lookup_tags", || parse_lookup_tags(&value))?;
  prop_assert!(lookup.iter().all(|t| !t.is_empty()));
  Ok(())
}

/// The cache's methods on `a` (and `b` as the second argument).
fn cache_calls(
  rules: Rules,
  time: &'static ManualTime,
  a: Input,
  b: Input,
) -> std::result::Result<(), TestCaseError> {
  let cache = engine(time);
  // Something to change: an entry and a revalidated tag.
  cache
    .js_set("k".into(), vec![1], &Input::Undefined)
    .unwrap();
  cache.js_update_tag(&Input::from("seen")).unwrap();
  let mut touched = vec!["seen".to_string()];
  strings_in(&a, &mut touched);
  strings_in(&b, &mut touched);
  let touched: Vec<String> = touched
    .iter()
    .map(|t| crate::tags::encode_header_safe(t).into_owned())
    .collect();

  let tag_codes = [InvalidTag, TagTooLong];
  let profile_codes = [InvalidTag, TagTooLong, UnknownProfile, InvalidCacheLife];
  let meta_codes = [
    InvalidOptions,
    InvalidTag,
    TagTooLong,
    UnknownProfile,
    InvalidCacheLife,
  ];

  if let Some(life) = checked(
    rules,
    "resolve_profile",
    &[UnknownProfile, InvalidCacheLife],
    || cache.profiles().resolve(&a),
  )? {
    prop_assert!(valid_life(&life), "{life:?}");
  }
  if let Some(meta) = checked(rules, "parse_meta", &meta_codes, || {
    crate::parse::set_meta(&a, cache.profiles(), NOW).map(|m| m.meta)
  })? {
    prop_assert!(meta.timestamp.is_finite() && meta.timestamp >= 0.0);
    prop_assert!(
      valid_seconds(meta.stale) && valid_seconds(meta.revalidate) && valid_seconds(meta.expire)
    );
    for tag in meta.tags.iter() {
      prop_assert!(crate::tags::validate_tag(tag, "tag").is_ok(), "{tag:?}");
      prop_assert!(
        tag
          .bytes()
          .all(|b| b == b'\t' || (0x20..=0x7e).contains(&b)),
        "{tag:?}"
      );
    }
  }

  // Each mutating call: on failure, nothing changed.
  macro_rules! mutating {
    ($what:expr, $codes:expr, $call:expr) => {{
      let before = footprint(&cache, &touched);
      let out = checked(rules, $what, $codes, || $call)?;
      if out.is_none() {
        prop_assert_eq!(
          footprint(&cache, &touched),
          before,
          "{} failed but changed state",
          $what
        );
      }
      out
    }};
  }
  mutating!("set", &meta_codes, cache.js_set("k".into(), vec![2], &a));
  mutating!(
    "set (new key)",
    &meta_codes,
    cache.js_set("fresh".into(), vec![3], &a)
  );
  mutating!(
    "revalidate_tag",
    &profile_codes,
    cache.js_revalidate_tag(&a, &b)
  );
  mutating!(
    "update_tags",
    &[InvalidTag, TagTooLong, InvalidCacheLife],
    cache.js_update_tags(&a, &b)
  );
  mutating!("update_tag", &tag_codes, cache.js_update_tag(&a));
  if let Some((tags, _)) = mutating!(
    "revalidate_path",
    &[InvalidOptions, TagTooLong],
    cache.js_revalidate_path(&a, &b)
  ) {
    prop_assert!(!tags.is_empty() && tags.iter().all(|t| t.starts_with("_N_T_")));
  }

  // Lookups never fail on their tags.
  let expiration = checked(rules, "get_expiration", &[], || cache.js_get_expiration(&a))?.unwrap();
  prop_assert!(expiration == 0.0 || (expiration.is_finite() && expiration <= time.get()));
  checked(rules, "tag_states", &[], || cache.js_tag_states(&a))?;
  let soft = parse_lookup_tags(&a);
  let found = checked(rules, "get", &[], || cache.get("k", &soft))?.unwrap();
  prop_assert!(matches!(found, Lookup::Hit(_) | Lookup::Miss));
  Ok(())
}

#[test]
fn parsers_take_any_input() {
  check(
    "input/parsers_take_any_input",
    file!(),
    1000,
    input(),
    |v| one_input(TODAY, v),
  );
}

/// Two arguments: arbitrary, or in the shapes that pass the first checks with arbitrary
/// leaves (meta, profile objects, tag lists).
fn cache_args() -> impl Strategy<Value = (Input, Input)> {
  prop_oneof![
    (input(), input()),
    (input(), input()).prop_map(|(a, b)| (
      Input::Object(vec![("tags".into(), a), ("profile".into(), b)]),
      Input::Undefined
    )),
    (input(), input()).prop_map(|(a, b)| (
      Input::from("t"),
      Input::Object(vec![("expire".into(), a), ("stale".into(), b)])
    )),
    (input(), input()).prop_map(|(a, b)| (Input::Array(vec![Input::from("t"), a]), b)),
  ]
}

#[test]
fn cache_methods_take_any_arguments() {
  static TIME: ManualTime = ManualTime::new(NOW);
  check(
    "input/cache_methods_take_any_arguments",
    file!(),
    600,
    cache_args(),
    |(a, b)| cache_calls(TODAY, &TIME, a, b),
  );
}

/// Known engine defect: messages quote user strings whole (`Input::describe` cuts them at
/// 60 characters, these paths do not). Minimal inputs: `new TagCache({ [k]: 1 })` and
/// `resolveProfile(k)` with `k` = 1000 × "é" give messages of over 2000 bytes ("unknown
/// option …", "unknown cacheLife profile …"; also `meta`'s and a profile's unknown fields).
#[test]
fn error_messages_are_bounded() {
  static TIME: ManualTime = ManualTime::new(NOW);
  let strict = Rules {
    bounded_messages: true,
  };
  let long = Input::String("é".repeat(1000));
  let key = Input::Object(vec![("é".repeat(1000), Input::Number(1.0))]);
  must_pass("an option named 1000 × é", one_input(strict, key));
  must_pass(
    "a profile named 1000 × é",
    cache_calls(strict, &TIME, long, Input::Undefined),
  );
  check(
    "input/error_messages_are_bounded",
    file!(),
    1000,
    input(),
    |v| one_input(strict, v),
  );
  check(
    "input/error_messages_are_bounded/cache",
    file!(),
    600,
    cache_args(),
    |(a, b)| cache_calls(strict, &TIME, a, b),
  );
}

/// Option edges of issue 11 ("timeoutMs: 1e30 panics"): every numeric option at its edges.
#[test]
fn numeric_option_edges() {
  let options = ["maxMemoryBytes", "timeoutMs", "localTtlMs", "maxDiskBytes"];
  check(
    "input/numeric_option_edges",
    file!(),
    500,
    (prop::sample::select(options.to_vec()), number()),
    |(name, n)| {
      let value = Input::Object(vec![
        (name.to_string(), Input::Number(n)),
        ("debug".into(), Input::Bool(false)),
      ]);
      if let Some(options) = checked(TODAY, "Options::parse", &[InvalidOptions], || {
        Options::parse(&value)
      })? {
        no_panic("Cache::with_clock", || {
          Cache::<Vec<u8>>::with_clock(options, Clock::anchored(NOW))
        })?
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
      } else {
        // The message names the option and states its bound (a number before ", got").
        let err = Options::parse(&value).unwrap_err();
        prop_assert!(err.message.contains(name), "{}", err.message);
        let rule = err.message.split(", got").next().unwrap_or_default();
        prop_assert!(
          rule.chars().any(|c| c.is_ascii_digit()),
          "no bound: {}",
          err.message
        );
      }
      Ok(())
    },
  );
}
