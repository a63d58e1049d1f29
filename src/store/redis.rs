//! The shared store: Redis (or Valkey), single node or cluster, through the `redis` crate
//! on tokio. Layout under the key prefix `P`:
//!
//! - `P:e:<key>`: an entry, `codec`-encoded, with a TTL derived from its `expire`;
//! - `{P}:tags`: a hash of tag states, fields `s:<tag>` (stale) and `x:<tag>` (expired), ms;
//! - `{P}:tags:log`: a stream of the same field writes, in order, so an instance catches up
//!   with one `XRANGE` from the last id it saw (work in proportion to new revalidations).
//!
//! The two tag keys share a hash slot (`{P}`), so they can be written atomically on a
//! cluster. Every command has a timeout and is dropped (not queued) when it fires; while
//! Redis is unreachable, calls fail at once for a short back-off instead of each waiting
//! out the timeout, and the connection manager reconnects by itself.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::{FromRedisValue, IntoConnectionInfo, Pipeline, RedisResult};
use tokio::sync::OnceCell;

use crate::error::{Error, ErrorCode, Result};
use crate::tags::TagWrite;

/// Stream entries kept for catching up; an instance further behind reloads the whole hash.
const LOG_MAX_LEN: usize = 100_000;
/// How long calls fail fast after Redis stopped answering, before one probes again (ms).
const BACK_OFF_MS: u64 = 1000;

/// Where and how to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
  /// `redis://` / `rediss://` URL of a single node (or of the first cluster seed).
  pub url: Option<String>,
  /// Cluster seed nodes; when non-empty the cluster client is used.
  pub cluster: Vec<String>,
  /// Key prefix (`P` above).
  pub prefix: String,
  /// Timeout of one command.
  pub timeout: Duration,
}

#[derive(Clone)]
enum Conn {
  Single(ConnectionManager),
  Cluster(ClusterConnection),
}

// One per engine: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Client {
  Single(redis::Client),
  Cluster(redis::cluster::ClusterClient),
}

/// A stream position, `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LogId(pub u64, pub u64);

impl LogId {
  fn parse(s: &str) -> Option<LogId> {
    let (a, b) = s.split_once('-')?;
    Some(LogId(a.parse().ok()?, b.parse().ok()?))
  }

  fn render(self) -> String {
    format!("{}-{}", self.0, self.1)
  }
}

/// Stream entries as Redis returns them: id and flat field/value list.
type LogEntries = Vec<(String, Vec<String>)>;

/// What `read_log` found.
pub enum LogRead {
  /// New field writes since the given id, in order, and the id to continue from.
  Fields(Vec<TagWrite>, LogId),
  /// The log was trimmed past the given id: reload the whole hash.
  Gap,
}

pub struct RedisStore {
  client: Client,
  conn: OnceCell<Conn>,
  prefix: String,
  tags_key: String,
  log_key: String,
  timeout: Duration,
  /// Where to reach Redis, without credentials, for messages.
  pub location: String,
  down_until_ms: AtomicU64,
  down: AtomicBool,
}

/// `redis://user:secret@host:6379/0` → `redis://host:6379/0`: credentials never reach a log.
pub fn redact(url: &str) -> String {
  match url.split_once("://") {
    Some((scheme, rest)) => {
      let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
      format!("{scheme}://{host}")
    }
    None => "(unparsable URL)".into(),
  }
}

fn store_error(what: &str, err: impl std::fmt::Display) -> Error {
  Error::new(ErrorCode::Store, format!("{what}: {err}"))
}

/// `TCP_NODELAY`, as every Redis client sets it: the redis crate leaves Nagle on, which can
/// hold a small command back until the previous segment is acknowledged.
fn tcp_settings() -> TcpSettings {
  TcpSettings::default().set_nodelay(true)
}

fn now_ms() -> u64 {
  std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map(|d| d.as_millis() as u64)
    .unwrap_or(0)
}

impl RedisStore {
  /// Validates the configuration; connects lazily, on first use.
  /// Errors: `ERR_INVALID_OPTIONS` for a URL that does not parse (credentials redacted).
  pub fn new(config: RedisConfig) -> Result<Self> {
    let invalid = |what: &str, url: &str, err: &dyn std::fmt::Display| {
      Error::new(
        ErrorCode::InvalidOptions,
        format!("{what} {} is not a valid Redis URL: {err}", redact(url)),
      )
    };
    let (client, location) = if config.cluster.is_empty() {
      let url = config.url.clone().unwrap_or_default();
      let info = url
        .as_str()
        .into_connection_info()
        .map_err(|e| invalid("redisUrl", &url, &e))?
        .set_tcp_settings(tcp_settings());
      let client = redis::Client::open(info).map_err(|e| invalid("redisUrl", &url, &e))?;
      (Client::Single(client), redact(&url))
    } else {
      for url in &config.cluster {
        redis::Client::open(url.as_str()).map_err(|e| invalid("redisCluster", url, &e))?;
      }
      let client = redis::cluster::ClusterClientBuilder::new(config.cluster.clone())
        .connection_timeout(config.timeout)
        .response_timeout(config.timeout)
        .tcp_settings(tcp_settings())
        .build()
        .map_err(|e| invalid("redisCluster", &config.cluster[0], &e))?;
      let nodes: Vec<String> = config.cluster.iter().map(|u| redact(u)).collect();
      (
        Client::Cluster(client),
        format!("cluster {}", nodes.join(", ")),
      )
    };
    ensure_crypto_provider();
    let p = &config.prefix;
    Ok(RedisStore {
      client,
      conn: OnceCell::new(),
      prefix: p.clone(),
      tags_key: format!("{{{p}}}:tags"),
      log_key: format!("{{{p}}}:tags:log"),
      timeout: config.timeout,
      location,
      down_until_ms: AtomicU64::new(0),
      down: AtomicBool::new(false),
    })
  }

  fn entry_key(&self, key: &str) -> String {
    format!("{}:e:{key}", self.prefix)
  }

  async fn connect(&self) -> RedisResult<Conn> {
    let conn = self
      .conn
      .get_or_try_init(|| async {
        match &self.client {
          Client::Single(client) => {
            let config = ConnectionManagerConfig::new()
              .set_connection_timeout(Some(self.timeout))
              .set_response_timeout(Some(self.timeout))
              .set_number_of_retries(2)
              .set_max_delay(Duration::from_millis(BACK_OFF_MS));
            ConnectionManager::new_lazy_with_config(client.clone(), config).map(Conn::Single)
          }
          Client::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
        }
      })
      .await?;
    Ok(conn.clone())
  }

  /// Runs one command or pipeline with the timeout and the outage back-off.
  async fn run<T: FromRedisValue>(&self, what: &str, pipe: &Pipeline) -> Result<T> {
    let now = now_ms();
    if now < self.down_until_ms.load(Relaxed) {
      return Err(store_error(
        what,
        format!("Redis at {} is unreachable", self.location),
      ));
    }
    let attempt = async {
      match self.connect().await? {
        Conn::Single(mut c) => pipe.query_async::<T>(&mut c).await,
        Conn::Cluster(mut c) => pipe.query_async::<T>(&mut c).await,
      }
    };
    let result = match tokio::time::timeout(self.timeout, attempt).await {
      Ok(Ok(value)) => Ok(value),
      Ok(Err(err)) => Err(err.to_string()),
      Err(_) => Err(format!("timed out after {} ms", self.timeout.as_millis())),
    };
    match result {
      Ok(value) => {
        if self.down.swap(false, Relaxed) {
          eprintln!(
            "[tagcache] Redis at {} answers again; caching resumed",
            self.location
          );
        }
        Ok(value)
      }
      Err(reason) => {
        self.down_until_ms.store(now_ms() + BACK_OFF_MS, Relaxed);
        if !self.down.swap(true, Relaxed) {
          eprintln!(
            "[tagcache] Redis at {} failed ({reason}); serving cache misses until it answers again",
            self.location
          );
        }
        Err(store_error(
          what,
          format!("Redis at {}: {reason}", self.location),
        ))
      }
    }
  }

  /// The encoded entry, or `None`. One round trip.
  pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(self.entry_key(key));
    let (value,): (Option<Vec<u8>>,) = self.run("get", &pipe).await?;
    Ok(value)
  }

  /// Stores an encoded entry for `ttl_ms`. One round trip.
  pub async fn set(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<()> {
    let mut pipe = redis::pipe();
    pipe
      .cmd("SET")
      .arg(self.entry_key(key))
      .arg(value)
      .arg("PX")
      .arg(ttl_ms.max(1))
      .ignore();
    self.run::<()>("set", &pipe).await
  }

  pub async fn delete(&self, key: &str) -> Result<bool> {
    let mut pipe = redis::pipe();
    pipe.cmd("DEL").arg(self.entry_key(key));
    let (n,): (i64,) = self.run("delete", &pipe).await?;
    Ok(n > 0)
  }

  /// Writes tag fields to the hash and the log, atomically. One round trip, O(fields).
  pub async fn write_tags(&self, writes: &[TagWrite]) -> Result<()> {
    if writes.is_empty() {
      return Ok(());
    }
    let fields: Vec<(String, String)> = writes
      .iter()
      .map(|w| (w.key(), w.time.to_string()))
      .collect();
    let mut pipe = redis::pipe();
    pipe.atomic();
    let hset = pipe.cmd("HSET").arg(&self.tags_key);
    for (field, time) in &fields {
      hset.arg(field).arg(time);
    }
    hset.ignore();
    let xadd = pipe
      .cmd("XADD")
      .arg(&self.log_key)
      .arg("MAXLEN")
      .arg("~")
      .arg(LOG_MAX_LEN)
      .arg("*");
    for (field, time) in &fields {
      xadd.arg(field).arg(time);
    }
    xadd.ignore();
    self.run::<()>("revalidate tags", &pipe).await
  }

  /// Every tag field, and the log position it reflects. One round trip (atomic).
  pub async fn load_tags(&self) -> Result<(Vec<TagWrite>, LogId)> {
    let mut pipe = redis::pipe();
    pipe.atomic();
    pipe.cmd("HGETALL").arg(&self.tags_key);
    pipe
      .cmd("XREVRANGE")
      .arg(&self.log_key)
      .arg("+")
      .arg("-")
      .arg("COUNT")
      .arg(1);
    let (all, last): (Vec<(String, String)>, LogEntries) = self.run("load tags", &pipe).await?;
    let fields = all
      .into_iter()
      .filter_map(|(f, v)| TagWrite::from_key(&f, v.parse().ok()?))
      .collect();
    let last = last
      .first()
      .and_then(|(id, _)| LogId::parse(id))
      .unwrap_or_default();
    Ok((fields, last))
  }

  /// Field writes logged after `after`. One round trip.
  pub async fn read_log(&self, after: LogId) -> Result<LogRead> {
    let mut pipe = redis::pipe();
    pipe
      .cmd("XRANGE")
      .arg(&self.log_key)
      .arg(format!("({}", after.render()))
      .arg("+")
      .arg("COUNT")
      .arg(LOG_MAX_LEN);
    pipe
      .cmd("XRANGE")
      .arg(&self.log_key)
      .arg("-")
      .arg("+")
      .arg("COUNT")
      .arg(1);
    let (new, oldest): (LogEntries, LogEntries) = self.run("refresh tags", &pipe).await?;
    let oldest = oldest.first().and_then(|(id, _)| LogId::parse(id));
    // Entries between `after` and the oldest one left may have been trimmed away.
    if matches!(oldest, Some(o) if o > after && after != LogId::default()) {
      return Ok(LogRead::Gap);
    }
    let mut last = after;
    let mut fields = Vec::new();
    for (id, pairs) in new {
      if let Some(id) = LogId::parse(&id) {
        last = last.max(id);
      }
      for pair in pairs.chunks_exact(2) {
        if let Some(write) = pair[1]
          .parse()
          .ok()
          .and_then(|time| TagWrite::from_key(&pair[0], time))
        {
          fields.push(write);
        }
      }
    }
    Ok(LogRead::Fields(fields, last))
  }
}

/// rustls needs one process-wide crypto provider for `rediss://`; ring is the one we build.
fn ensure_crypto_provider() {
  let _ = rustls::crypto::ring::default_provider().install_default();
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn credentials_are_redacted() {
    assert_eq!(redact("redis://user:pw@host:6379/0"), "redis://host:6379/0");
    assert_eq!(redact("rediss://:p@ss@h:1"), "rediss://h:1");
    assert_eq!(redact("redis://host"), "redis://host");
  }

  #[test]
  fn log_ids_order_and_parse() {
    assert!(LogId::parse("5-1").unwrap() < LogId::parse("5-2").unwrap());
    assert!(LogId::parse("5-9").unwrap() < LogId::parse("6-0").unwrap());
    assert_eq!(LogId::parse("x"), None);
    assert_eq!(LogId(7, 3).render(), "7-3");
  }

  #[test]
  fn bad_urls_are_invalid_options_without_secrets() {
    let err = RedisStore::new(RedisConfig {
      url: Some("http://user:secret@host".into()),
      cluster: vec![],
      prefix: "p".into(),
      timeout: Duration::from_millis(100),
    })
    .err()
    .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidOptions);
    assert!(!err.message.contains("secret"), "{}", err.message);
  }
}
