//! The shared store: Redis (or Valkey), single node or cluster, through the `redis` crate
//! on tokio. Layout under the key prefix `P`:
//!
//! - `P:e:<key>`: an entry, `codec`-encoded, with a TTL derived from its `expire`;
//! - `{P}:tags`: a hash of tag states, fields `s:<tag>` (stale) and `x:<tag>` (expired), ms,
//!   and `epoch`, the identity of this tag state;
//! - `{P}:tags:log`: a stream of the same field writes, in order, so an instance catches up
//!   with one `XRANGE` from the last id it saw (work in proportion to new revalidations).
//!
//! Every entry carries the epoch it was written under. When the tag hash is gone (evicted
//! under an `allkeys-*` policy, `FLUSHDB`, a failover to an empty replica) or older than the
//! log says (a restore from a snapshot), a new epoch is made and entries of another epoch
//! read as absent: revalidations lost with the hash can never let an entry pass as fresh.
//!
//! Only I/O failures and timeouts count as an outage (calls fail at once for a back-off). An
//! error *answer* (`OOM`, `WRONGTYPE`, `READONLY`, `LOADING`…) fails that one call with
//! `ERR_STORE` naming it; other calls go on (under `OOM` reads keep working while writes fail).
//!
//! The two tag keys share a hash slot (`{P}`), so they can be written atomically on a
//! cluster. Every command has a timeout and is dropped (not queued) when it fires; while
//! Redis is unreachable, calls fail at once for a short back-off instead of each waiting
//! out the timeout, and the connection manager reconnects by itself.
//!
//! A tag write also publishes on `{P}:tags:changed`. Each store keeps one subscriber
//! connection (a seed node's, on a cluster: a classic `PUBLISH` reaches every node), and
//! `tags_changed` tells the engine whether a pull can be skipped: only while that
//! subscription is known to be live and nothing arrived, and at most for `PULL_EVERY_MS`.
//! The pull stays the correctness path; the message only says when it is worth a round trip.

//! Rooms: `connect.rs` builds clients (node, cluster, Sentinel, TLS), `call.rs` runs one
//! call (timeout, back-off, error answers), `entries.rs` the entries, `tags.rs` the tag
//! state and its pull, `watch.rs` the subscription, `tracking.rs` client-side caching.

mod call;
mod connect;
mod entries;
mod tags;
mod tracking;
mod watch;

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

pub use self::call::BACK_OFF_MS;
pub use self::connect::{redact, RedisConfig};
use self::connect::{Client, Conn};
use self::tags::Pulls;
pub use self::tags::TagPull;
use self::tracking::Tracking;
pub use self::tracking::{Invalidated, Sink, TrackStamp, TRACK_PING_MS};
use self::watch::Watch;
pub use self::watch::PULL_EVERY_MS;
use crate::error::{Error, ErrorCode, Result};

/// The shared store over one Redis deployment and key prefix.
pub struct RedisStore {
  client: Arc<Client>,
  /// Where the subscriber connects: the node, or each cluster seed in turn (none behind
  /// Sentinel: it asks the sentinels).
  watch_clients: Vec<redis::Client>,
  watch: Arc<Watch>,
  /// The connection, once opened; dropped behind Sentinel after an outage or `READONLY`,
  /// so the next call asks for the (new) primary.
  conn: Mutex<Option<Conn>>,
  connecting: tokio::sync::Mutex<()>,
  prefix: String,
  tags_key: String,
  log_key: String,
  changed_channel: String,
  timeout: Duration,
  /// Where to reach Redis, without credentials, for messages.
  pub location: String,
  down_until_ms: AtomicU64,
  down: AtomicBool,
  /// Why the back-off is open, for the calls it fails at once.
  down_reason: Mutex<String>,
  /// Error codes Redis answered with (logged once each), and the call they failed.
  command_errors: Mutex<Vec<(String, &'static str)>>,
  any_command_errors: AtomicBool,
  /// The tag state's epoch, once known (see the module docs).
  epoch: Mutex<Option<Arc<str>>>,
  /// How many times a known epoch was replaced by another (the tag state was lost).
  epoch_changes: AtomicU64,
  /// When that last happened (wall-clock ms, as `f64` bits; 0: never).
  epoch_replaced_at: AtomicU64,
  /// `CONFIG GET maxmemory-policy` was checked.
  policy_checked: AtomicBool,
  /// Where the last tag pull left off.
  pulls: Pulls,
  /// Client-side caching: which entries Redis announced as changed.
  tracking: Arc<Tracking>,
}

fn store_error(what: &str, err: impl std::fmt::Display) -> Error {
  Error::new(ErrorCode::Store, format!("{what}: {err}"))
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
    let connect::Clients {
      client,
      watch: watch_clients,
      tracking,
      location,
    } = connect::build(&config)?;
    ensure_crypto_provider();
    let p = &config.prefix;
    let watch = Watch::new(p);
    Ok(RedisStore {
      client: Arc::new(client),
      watch_clients,
      watch,
      conn: Mutex::new(None),
      connecting: tokio::sync::Mutex::new(()),
      prefix: p.clone(),
      tags_key: format!("{{{p}}}:tags"),
      log_key: format!("{{{p}}}:tags:log"),
      changed_channel: format!("{{{p}}}:tags:changed"),
      timeout: config.timeout,
      location,
      down_until_ms: AtomicU64::new(0),
      down: AtomicBool::new(false),
      down_reason: Mutex::new(String::new()),
      command_errors: Mutex::new(Vec::new()),
      any_command_errors: AtomicBool::new(false),
      epoch: Mutex::new(None),
      epoch_changes: AtomicU64::new(0),
      epoch_replaced_at: AtomicU64::new(0),
      policy_checked: AtomicBool::new(false),
      pulls: Pulls::default(),
      tracking: Tracking::new(tracking, p),
    })
  }

  /// Stops the subscriber (its connection closes when its task ends).
  pub fn close(&self) {
    self.watch.close();
    self.tracking.close();
  }
}

impl Drop for RedisStore {
  fn drop(&mut self) {
    self.close();
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
  fn bad_urls_are_invalid_options_without_secrets() {
    let err = RedisStore::new(RedisConfig {
      url: Some("http://user:secret@host".into()),
      cluster: vec![],
      sentinel: None,
      tls: None,
      prefix: "p".into(),
      timeout: Duration::from_millis(100),
    })
    .err()
    .unwrap();
    assert_eq!(err.code, ErrorCode::InvalidOptions);
    assert!(!err.message.contains("secret"), "{}", err.message);
  }
}
