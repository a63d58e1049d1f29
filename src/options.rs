//! `new TagCache(options)`: parsing and validation of the engine's options.

use crate::error::{Error, ErrorCode, Result};
use crate::input::{quote, Input};
use crate::profile::Profiles;
use crate::store::disk::DiskConfig;

/// `Number.MAX_SAFE_INTEGER`: the largest byte count a JS number states exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;
/// The longest delay a JS timer takes (2^31 − 1 ms); longer time bounds are surely typos.
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// 128 MiB, the default bound of the memory store.
pub const DEFAULT_MAX_MEMORY_BYTES: usize = 128 * 1024 * 1024;
/// Store I/O timeout when none is given (ms).
pub const DEFAULT_TIMEOUT_MS: f64 = 1000.0;
/// How long an in-process copy of a Redis entry may be served without asking Redis (ms).
pub const DEFAULT_LOCAL_TTL_MS: f64 = 1000.0;
/// Key prefix in a shared store when none is given.
pub const DEFAULT_KEY_PREFIX: &str = "tagcache";

const KNOWN: [&str; 12] = [
  "cacheLife",
  "maxMemoryBytes",
  "keyPrefix",
  "timeoutMs",
  "redisUrl",
  "redisCluster",
  "redisSentinel",
  "tls",
  "localTtlMs",
  "diskDir",
  "maxDiskBytes",
  "debug",
];
/// 1 GiB, the default bound of the disk tier.
pub const DEFAULT_MAX_DISK_BYTES: u64 = 1024 * 1024 * 1024;

/// Where the shared store is, when there is one.
#[derive(Debug, Clone, PartialEq)]
pub enum Shared {
  Redis { url: String },
  RedisCluster { nodes: Vec<String> },
  RedisSentinel(Sentinel),
}

/// `redisSentinel`: the primary named `name`, found through the `sentinels`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentinel {
  pub name: String,
  /// `redis://host:port` (or `rediss://`) of each sentinel.
  pub sentinels: Vec<String>,
  /// AUTH of the primary (and replicas) found through them.
  pub username: Option<String>,
  pub password: Option<String>,
  /// AUTH of the sentinels themselves (else the sentinel URLs' own credentials).
  pub sentinel_password: Option<String>,
  pub db: i64,
}

/// `tls`: PEM bytes for `rediss://` connections, each given as PEM text or a file path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tls {
  /// CA certificates to trust instead of the system's roots.
  pub ca: Option<Vec<u8>>,
  /// Client certificate and key (mutual TLS), both or neither.
  pub cert_and_key: Option<(Vec<u8>, Vec<u8>)>,
}

/// Validated options.
#[derive(Debug, Clone)]
pub struct Options {
  pub profiles: Profiles,
  pub max_memory_bytes: usize,
  pub key_prefix: String,
  pub timeout_ms: f64,
  /// The shared store, if any; without one the memory store is the store.
  pub shared: Option<Shared>,
  /// Certificates for `rediss://` connections (else the system's roots, no client cert).
  pub tls: Option<Tls>,
  /// With a shared store: how long an in-process copy is served without asking it (ms).
  pub local_ttl_ms: f64,
  /// The disk tier behind the memory store (one machine), if any.
  pub disk: Option<DiskConfig>,
  /// Print the debug trace (`trace.rs`); default: `TAGCACHE_DEBUG` / `NEXT_PRIVATE_DEBUG_CACHE`.
  pub debug: bool,
}

impl Default for Options {
  fn default() -> Self {
    Options {
      profiles: Profiles::default(),
      max_memory_bytes: DEFAULT_MAX_MEMORY_BYTES,
      key_prefix: DEFAULT_KEY_PREFIX.to_string(),
      timeout_ms: DEFAULT_TIMEOUT_MS,
      shared: None,
      tls: None,
      local_ttl_ms: DEFAULT_LOCAL_TTL_MS,
      disk: None,
      debug: false,
    }
  }
}

fn invalid(message: String) -> Error {
  Error::new(ErrorCode::InvalidOptions, message)
}

impl Options {
  /// Parses `TagCacheOptions` (the `KNOWN` keys above: profiles, bounds, Redis, TLS, the
  /// disk tier, debug). Unknown keys are an error (a typo must not silently fall back to a
  /// default). Errors: `ERR_INVALID_OPTIONS`, `ERR_INVALID_CACHE_LIFE`.
  pub fn parse(input: &Input) -> Result<Options> {
    let fields = match input {
      Input::Undefined | Input::Null => {
        return Ok(Options {
          debug: crate::trace::enabled_by_env(),
          ..Options::default()
        })
      }
      Input::Object(fields) => fields,
      other => {
        return Err(invalid(format!(
          "options must be an object, got {}",
          other.describe()
        )))
      }
    };
    reject_unknown(fields, &KNOWN, |key, known| {
      format!("unknown option {key}; known options: {known}")
    })?;
    let mut options = Options {
      profiles: Profiles::from_config(input.field("cacheLife"))?,
      ..Options::default()
    };
    match input.field("maxMemoryBytes") {
      v if v.is_nullish() => {}
      Input::Number(n) if (1.0..=MAX_SAFE_INTEGER).contains(n) && n.fract() == 0.0 => {
        options.max_memory_bytes = *n as usize
      }
      v => {
        return Err(invalid(format!(
          "maxMemoryBytes must be a whole number of bytes from 1 to {MAX_SAFE_INTEGER}, got {}",
          v.describe()
        )))
      }
    }
    match input.field("keyPrefix") {
      v if v.is_nullish() => {}
      Input::String(s) if !s.is_empty() => options.key_prefix = s.clone(),
      v => {
        return Err(invalid(format!(
          "keyPrefix must be a non-empty string, got {}",
          v.describe()
        )))
      }
    }
    match input.field("timeoutMs") {
      v if v.is_nullish() => {}
      Input::Number(n) if *n > 0.0 && *n <= MAX_TIMER_MS => options.timeout_ms = *n,
      v => {
        return Err(invalid(format!(
          "timeoutMs must be a number of milliseconds > 0 and ≤ {MAX_TIMER_MS} (about 24.8 days), got {}",
          v.describe()
        )))
      }
    }
    match input.field("localTtlMs") {
      v if v.is_nullish() => {}
      Input::Number(n) if (0.0..=MAX_TIMER_MS).contains(n) => options.local_ttl_ms = *n,
      v => {
        return Err(invalid(format!(
          "localTtlMs must be a number of milliseconds from 0 to {MAX_TIMER_MS} (about 24.8 days), got {}",
          v.describe()
        )))
      }
    }
    options.shared = parse_shared(input)?;
    options.tls = parse_tls(input.field("tls"))?;
    if options.tls.is_some() && !uses_tls(options.shared.as_ref()) {
      return Err(invalid(
        "tls is given but no Redis URL is rediss://: the certificates would never be used".into(),
      ));
    }
    options.disk = parse_disk(input)?;
    options.debug = match input.field("debug") {
      v if v.is_nullish() => crate::trace::enabled_by_env(),
      Input::Bool(b) => *b,
      v => {
        return Err(invalid(format!(
          "debug must be a boolean, got {}",
          v.describe()
        )))
      }
    };
    if options.disk.is_some() && options.shared.is_some() {
      return Err(invalid(
        "diskDir cannot be combined with redisUrl / redisCluster: Redis is the shared store, the disk tier is one machine's".into(),
      ));
    }
    Ok(options)
  }
}

/// `ERR_INVALID_OPTIONS` for the first field not in `known` (a typo must not silently fall
/// back to a default); `message` gets the field quoted (cut) and the known ones listed.
fn reject_unknown(
  fields: &[(String, Input)],
  known: &[&str],
  message: impl Fn(&str, &str) -> String,
) -> Result<()> {
  match fields.iter().find(|(k, _)| !known.contains(&k.as_str())) {
    Some((key, _)) => Err(invalid(message(&quote(key), &known.join(", ")))),
    None => Ok(()),
  }
}

/// `diskDir` (a directory; `false` / nullish / `''`: none) and `maxDiskBytes` (≥ 1 MiB).
fn parse_disk(input: &Input) -> Result<Option<DiskConfig>> {
  let max_bytes = match input.field("maxDiskBytes") {
    v if v.is_nullish() => DEFAULT_MAX_DISK_BYTES,
    Input::Number(n) if (1_048_576.0..=MAX_SAFE_INTEGER).contains(n) && n.fract() == 0.0 => {
      *n as u64
    }
    v => {
      return Err(invalid(format!(
        "maxDiskBytes must be a whole number of bytes from 1048576 (1 MiB) to {MAX_SAFE_INTEGER}, got {}",
        v.describe()
      )))
    }
  };
  match input.field("diskDir") {
    v if v.is_nullish() => Ok(None),
    Input::Bool(false) => Ok(None),
    Input::String(s) if s.is_empty() => Ok(None),
    Input::String(s) => Ok(Some(DiskConfig {
      dir: s.into(),
      max_bytes,
    })),
    v => Err(invalid(format!(
      "diskDir must be a directory path string (or false), got {}",
      v.describe()
    ))),
  }
}

fn parse_shared(input: &Input) -> Result<Option<Shared>> {
  let url = match input.field("redisUrl") {
    v if v.is_nullish() => None,
    Input::String(s) if s.is_empty() => None,
    Input::String(s) => Some(s.clone()),
    v => {
      return Err(invalid(format!(
        "redisUrl must be a redis:// or rediss:// URL string, got {}",
        v.type_name()
      )))
    }
  };
  let cluster = match input.field("redisCluster") {
    v if v.is_nullish() => None,
    Input::Array(items) if !items.is_empty() => Some(
      items
        .iter()
        .map(|i| match i {
          Input::String(s) => Ok(s.clone()),
          other => Err(invalid(format!(
            "redisCluster must be an array of redis:// URL strings, got a {}",
            other.type_name()
          ))),
        })
        .collect::<Result<Vec<_>>>()?,
    ),
    v => {
      return Err(invalid(format!(
        "redisCluster must be a non-empty array of redis:// URL strings, got {}",
        v.type_name()
      )))
    }
  };
  let sentinel = parse_sentinel(input.field("redisSentinel"))?;
  let given = [url.is_some(), cluster.is_some(), sentinel.is_some()];
  if given.iter().filter(|g| **g).count() > 1 {
    return Err(invalid(
      "give one of redisUrl, redisCluster and redisSentinel, not several".into(),
    ));
  }
  Ok(match (url, cluster, sentinel) {
    (_, Some(nodes), _) => Some(Shared::RedisCluster { nodes }),
    (_, _, Some(sentinel)) => Some(Shared::RedisSentinel(sentinel)),
    (Some(url), None, None) => Some(Shared::Redis { url }),
    (None, None, None) => None,
  })
}

/// Whether any connection of `shared` is TLS (`rediss://`).
fn uses_tls(shared: Option<&Shared>) -> bool {
  let secure = |url: &String| url.starts_with("rediss://");
  match shared {
    None => false,
    Some(Shared::Redis { url }) => secure(url),
    Some(Shared::RedisCluster { nodes }) => nodes.iter().any(secure),
    Some(Shared::RedisSentinel(s)) => s.sentinels.iter().any(secure),
  }
}

/// `redisSentinel: { name, sentinels, username?, password?, sentinelPassword?, db? }`.
fn parse_sentinel(value: &Input) -> Result<Option<Sentinel>> {
  const FIELDS: [&str; 6] = [
    "name",
    "sentinels",
    "username",
    "password",
    "sentinelPassword",
    "db",
  ];
  let fields = match value {
    v if v.is_nullish() => return Ok(None),
    Input::Object(fields) => fields,
    v => {
      return Err(invalid(format!(
        "redisSentinel must be {{ name, sentinels: ['redis://host:26379', …] }}, got {}",
        v.type_name()
      )))
    }
  };
  reject_unknown(fields, &FIELDS, |key, known| {
    format!("unknown redisSentinel field {key}; known fields: {known}")
  })?;
  let name = match value.field("name") {
    Input::String(s) if !s.is_empty() => s.clone(),
    v => {
      return Err(invalid(format!(
        "redisSentinel.name must be the primary's name in the sentinel config (e.g. \"mymaster\"), got {}",
        v.describe()
      )))
    }
  };
  let sentinels = match value.field("sentinels") {
    Input::Array(items) if !items.is_empty() => items
      .iter()
      .map(|item| match item {
        Input::String(s) if !s.is_empty() => Ok(s.clone()),
        other => Err(invalid(format!(
          "redisSentinel.sentinels must hold redis://host:port URL strings, got {}",
          other.describe()
        ))),
      })
      .collect::<Result<Vec<_>>>()?,
    v => {
      return Err(invalid(format!(
        "redisSentinel.sentinels must be a non-empty array of redis://host:port URLs, got {}",
        v.type_name()
      )))
    }
  };
  let text = |field: &str| match value.field(field) {
    v if v.is_nullish() => Ok(None),
    Input::String(s) => Ok(Some(s.clone())),
    v => Err(invalid(format!(
      "redisSentinel.{field} must be a string, got {}",
      v.type_name()
    ))),
  };
  let db = match value.field("db") {
    v if v.is_nullish() => 0,
    Input::Number(n) if (0.0..=1_000_000.0).contains(n) && n.fract() == 0.0 => *n as i64,
    v => {
      return Err(invalid(format!(
        "redisSentinel.db must be a database number from 0, got {}",
        v.describe()
      )))
    }
  };
  Ok(Some(Sentinel {
    name,
    sentinels,
    username: text("username")?,
    password: text("password")?,
    sentinel_password: text("sentinelPassword")?,
    db,
  }))
}

/// `tls: { ca?, cert?, key? }`, each PEM text or the path of a PEM file (read now, so a
/// wrong path is an error at start, not a failure at the first request).
fn parse_tls(value: &Input) -> Result<Option<Tls>> {
  const FIELDS: [&str; 3] = ["ca", "cert", "key"];
  let fields = match value {
    v if v.is_nullish() => return Ok(None),
    Input::Object(fields) => fields,
    v => {
      return Err(invalid(format!(
        "tls must be {{ ca?, cert?, key? }} (PEM text or file paths), got {}",
        v.type_name()
      )))
    }
  };
  reject_unknown(fields, &FIELDS, |key, known| {
    format!(
      "unknown tls field {key}; known fields: {known} (the server name checked is the URL's host)"
    )
  })?;
  let pem = |field: &str| -> Result<Option<Vec<u8>>> {
    match value.field(field) {
      v if v.is_nullish() => Ok(None),
      Input::String(s) if s.trim_start().starts_with("-----BEGIN") => {
        Ok(Some(s.as_bytes().to_vec()))
      }
      Input::String(path) if !path.is_empty() => match std::fs::read(path) {
        Ok(bytes)
          if bytes.starts_with(b"-----BEGIN") || bytes.windows(10).any(|w| w == b"-----BEGIN") =>
        {
          Ok(Some(bytes))
        }
        Ok(_) => Err(invalid(format!("tls.{field}: {path} is not a PEM file"))),
        Err(err) => Err(invalid(format!("tls.{field}: cannot read {path}: {err}"))),
      },
      v => Err(invalid(format!(
        "tls.{field} must be PEM text or the path of a PEM file, got {}",
        v.describe()
      ))),
    }
  };
  let ca = pem("ca")?;
  let cert_and_key = match (pem("cert")?, pem("key")?) {
    (Some(cert), Some(key)) => Some((cert, key)),
    (None, None) => None,
    _ => {
      return Err(invalid(
        "tls.cert and tls.key go together (a client certificate and its key)".into(),
      ))
    }
  };
  Ok(Some(Tls { ca, cert_and_key }))
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::input_object;

  #[test]
  fn defaults() {
    let o = Options::parse(&Input::Undefined).unwrap();
    assert_eq!(o.max_memory_bytes, DEFAULT_MAX_MEMORY_BYTES);
    assert_eq!(o.key_prefix, "tagcache");
    assert_eq!(o.shared, None);
  }

  #[test]
  fn typos_and_bad_values_are_errors() {
    let cases = [
      (
        input_object! { "maxMemory" => 5.0 },
        "unknown option \"maxMemory\"",
      ),
      (input_object! { "maxMemoryBytes" => -5.0 }, "maxMemoryBytes"),
      (input_object! { "maxMemoryBytes" => 1.5 }, "maxMemoryBytes"),
      (input_object! { "maxMemoryBytes" => "1mb" }, "\"1mb\""),
      (input_object! { "keyPrefix" => 5.0 }, "keyPrefix"),
      (input_object! { "timeoutMs" => 0.0 }, "timeoutMs"),
      (input_object! { "redisUrl" => 5.0 }, "redisUrl"),
      (
        input_object! { "redisCluster" => "redis://x" },
        "redisCluster",
      ),
      (input_object! { "localTtlMs" => -1.0 }, "localTtlMs"),
      (input_object! { "diskDir" => 5.0 }, "diskDir"),
      (
        input_object! { "diskDir" => "/d", "maxDiskBytes" => 1000.0 },
        "maxDiskBytes",
      ),
      (
        input_object! { "diskDir" => "/d", "redisUrl" => "redis://h:1" },
        "cannot be combined",
      ),
      (Input::String("x".into()), "options must be an object"),
    ];
    for (input, needle) in cases {
      let err = Options::parse(&input).unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidOptions);
      assert!(err.message.contains(needle), "{} !~ {needle}", err.message);
    }
    let err = Options::parse(&input_object! { "cacheLife" => 5.0 }).unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidCacheLife);
  }

  #[test]
  fn redis_options() {
    let o = Options::parse(&input_object! { "redisUrl" => "redis://h:1" }).unwrap();
    assert_eq!(
      o.shared,
      Some(Shared::Redis {
        url: "redis://h:1".into()
      })
    );
    let o = Options::parse(&input_object! {
      "redisCluster" => Input::Array(vec!["redis://a:1".into(), "redis://b:2".into()]),
    })
    .unwrap();
    assert!(matches!(o.shared, Some(Shared::RedisCluster { nodes }) if nodes.len() == 2));
  }

  #[test]
  fn disk_options() {
    let o = Options::parse(&input_object! { "diskDir" => "/var/cache/t" }).unwrap();
    assert_eq!(
      o.disk,
      Some(DiskConfig {
        dir: "/var/cache/t".into(),
        max_bytes: DEFAULT_MAX_DISK_BYTES
      })
    );
    let o = Options::parse(&input_object! { "diskDir" => false }).unwrap();
    assert_eq!(o.disk, None);
  }

  #[test]
  fn nullish_redis_url_is_fine() {
    let o =
      Options::parse(&input_object! { "redisUrl" => Input::Undefined, "maxMemoryBytes" => 1024.0 });
    assert_eq!(o.unwrap().max_memory_bytes, 1024);
  }
}
