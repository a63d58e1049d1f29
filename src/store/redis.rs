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

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;

use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{FromRedisValue, Pipeline, RedisResult};

use super::redis_connect::{self, Client, Conn};
pub use super::redis_connect::{redact, RedisConfig};

use crate::error::{Error, ErrorCode, Result};
use crate::tags::TagWrite;

/// `key` with the glob characters of `SCAN MATCH` escaped, so it matches only itself.
fn glob_escape(key: &str) -> String {
  let mut out = String::with_capacity(key.len() + 8);
  for c in key.chars() {
    if matches!(c, '*' | '?' | '[' | ']' | '\\') {
      out.push('\\');
    }
    out.push(c);
  }
  out
}

/// Stream entries kept for catching up; an instance further behind reloads the whole hash.
const LOG_MAX_LEN: usize = 100_000;
/// How long calls fail fast after Redis stopped answering, before one probes again (ms).
pub const BACK_OFF_MS: u64 = 1000;
/// Longest time `tags_changed` says "no" without a pull (ms): the bound on how late a change
/// is seen if its message is lost while the subscription still looks live.
pub const PULL_EVERY_MS: u64 = 1000;
/// How often the subscriber pings its connection, so a dead one is noticed and replaced.
const WATCH_PING_MS: u64 = 5000;

/// A stream position, `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct LogId(pub u64, pub u64);

fn parse_id(s: &str) -> Option<LogId> {
  let (a, b) = s.split_once('-')?;
  Some(LogId(a.parse().ok()?, b.parse().ok()?))
}

fn render_id(id: LogId) -> String {
  format!("{}-{}", id.0, id.1)
}

/// The hash field that names the tag state's epoch.
const EPOCH_FIELD: &str = "epoch";
/// First byte of a stored entry: an epoch-stamped envelope follows (`E`, epoch length, epoch).
const EPOCH_MARK: u8 = b'E';

/// A new epoch: the time and a random part, unique across instances and restarts.
fn new_epoch() -> String {
  use std::hash::{BuildHasher, Hasher};
  let random = std::collections::hash_map::RandomState::new()
    .build_hasher()
    .finish();
  format!("{:x}-{random:016x}", now_ms())
}

/// Stream entries as Redis returns them: id and flat field/value list.
type LogEntries = Vec<(String, Vec<String>)>;

/// What `read_log` found.
pub enum LogRead {
  /// New field writes since the given id, in order, and the id to continue from.
  Fields(Vec<TagWrite>, LogId),
  /// The log was trimmed past the given id, or the tag state was lost or replaced (a new
  /// epoch): reload the whole hash.
  Gap,
}

/// How a failed call failed.
enum Failure {
  /// Redis did not answer (I/O error, dropped connection, timeout): the back-off opens.
  Outage(String),
  /// Redis answered with an error (`code`, e.g. `OOM`): only this call fails.
  Command { code: String, message: String },
}

impl Failure {
  fn of(err: &redis::RedisError) -> Failure {
    use redis::ErrorKind;
    let unreachable = err.is_io_error()
      || err.is_connection_dropped()
      || err.is_connection_refusal()
      || err.is_timeout()
      || matches!(
        err.kind(),
        ErrorKind::ClusterConnectionNotFound
          | ErrorKind::AuthenticationFailed
          | ErrorKind::InvalidClientConfig
      );
    if unreachable {
      return Failure::Outage(err.to_string());
    }
    // The first error answer of a pipeline or transaction, as Redis wrote it.
    let answer = err.clone().into_server_errors().and_then(|errors| {
      let (_, first) = errors.first()?;
      let code = first.code().to_string();
      let message = match first.details() {
        Some(details) => format!("{code} {details}"),
        None => code.clone(),
      };
      Some((code, message))
    });
    let (code, message) = answer.unwrap_or_else(|| {
      let code = err.code().unwrap_or(match err.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => "TYPE",
        _ => "ERR",
      });
      (code.to_string(), err.to_string())
    });
    Failure::Command { code, message }
  }
}

/// What the subscription to `{P}:tags:changed` knows; shared with its task.
struct Watch {
  prefix: String,
  /// A change was announced (or the subscription (re)started) since the last pull began.
  dirty: AtomicBool,
  /// Subscribed on a connection that has not failed since: no message can have been missed.
  live: AtomicBool,
  /// When the last pull began (ms).
  pulled_at: AtomicU64,
  /// The subscriber task was started.
  started: AtomicBool,
  /// Set by `close` (or drop): the task ends.
  closed: AtomicBool,
  stop: tokio::sync::Notify,
}

/// Every store's `Watch` in this process, so a tag write marks the other engines over the same
/// prefix at once, without waiting for its message (read-your-writes across engines).
static WATCHES: Mutex<Vec<Weak<Watch>>> = Mutex::new(Vec::new());

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
    let (client, watch_clients, location) = redis_connect::build(&config)?;
    ensure_crypto_provider();
    let p = &config.prefix;
    let watch = Arc::new(Watch {
      prefix: p.clone(),
      dirty: AtomicBool::new(true),
      live: AtomicBool::new(false),
      pulled_at: AtomicU64::new(0),
      started: AtomicBool::new(false),
      closed: AtomicBool::new(false),
      stop: tokio::sync::Notify::new(),
    });
    {
      let mut watches = WATCHES.lock();
      watches.retain(|w| w.strong_count() > 0);
      watches.push(Arc::downgrade(&watch));
    }
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
    })
  }

  fn entry_key(&self, key: &str) -> String {
    format!("{}:e:{key}", self.prefix)
  }

  async fn connect(&self) -> RedisResult<Conn> {
    if let Some(conn) = self.conn.lock().as_ref() {
      return Ok(conn.clone());
    }
    let _one = self.connecting.lock().await;
    if let Some(conn) = self.conn.lock().as_ref() {
      return Ok(conn.clone());
    }
    let conn = redis_connect::open(&self.client, self.timeout).await?;
    *self.conn.lock() = Some(conn.clone());
    Ok(conn)
  }

  /// Behind Sentinel, the primary may have moved: the next call asks again.
  fn primary_may_have_moved(&self) {
    if matches!(*self.client, Client::Sentinel(_)) {
      *self.conn.lock() = None;
    }
  }

  /// Runs one command or pipeline with the timeout and the outage back-off. `what` names
  /// the call in messages. Errors: `ERR_STORE`, naming Redis's error answer or the outage.
  async fn run<T: FromRedisValue>(&self, what: &'static str, pipe: &Pipeline) -> Result<T> {
    let now = now_ms();
    if now < self.down_until_ms.load(Relaxed) {
      return Err(store_error(
        what,
        format!(
          "Redis at {} is unreachable ({}; retried within {BACK_OFF_MS} ms)",
          self.location,
          self.down_reason.lock()
        ),
      ));
    }
    let attempt = async {
      match self.connect().await? {
        Conn::Single(mut c) => pipe.query_async::<T>(&mut c).await,
        Conn::Cluster(mut c) => pipe.query_async::<T>(&mut c).await,
      }
    };
    let failure = match tokio::time::timeout(self.timeout, attempt).await {
      Ok(Ok(value)) => {
        self.answered(what);
        return Ok(value);
      }
      Ok(Err(err)) => Failure::of(&err),
      Err(_) => Failure::Outage(format!("timed out after {} ms", self.timeout.as_millis())),
    };
    match failure {
      Failure::Outage(reason) => {
        self.primary_may_have_moved();
        reason.clone_into(&mut self.down_reason.lock());
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
      Failure::Command { code, message } => {
        if code == "READONLY" {
          self.primary_may_have_moved();
        }
        self.up();
        let first = {
          let mut seen = self.command_errors.lock();
          let first = !seen.iter().any(|(c, w)| *c == code && *w == what);
          if first {
            seen.push((code.clone(), what));
            self.any_command_errors.store(true, Relaxed);
          }
          first
        };
        if first {
          eprintln!(
            "[tagcache] Redis at {} answered {what} with an error ({message}); those calls fail (a read is a miss, a write is not stored) while other calls go on",
            self.location
          );
        }
        Err(store_error(
          what,
          format!("Redis at {} answered: {message}", self.location),
        ))
      }
    }
  }

  /// Redis answered `what`: the outage (if any) is over, and error answers to `what` cleared.
  fn answered(&self, what: &'static str) {
    self.up();
    if !self.any_command_errors.load(Relaxed) {
      return;
    }
    let mut seen = self.command_errors.lock();
    seen.retain(|(code, w)| {
      if *w != what {
        return true;
      }
      eprintln!(
        "[tagcache] Redis at {} accepts {what} again ({code} cleared)",
        self.location
      );
      false
    });
    self.any_command_errors.store(!seen.is_empty(), Relaxed);
  }

  fn up(&self) {
    if self.down.swap(false, Relaxed) {
      eprintln!(
        "[tagcache] Redis at {} answers again; caching resumed",
        self.location
      );
    }
  }

  /// One command on one node (`None`: wherever the connection routes it; a cluster address:
  /// that primary), with the timeout. Errors count as for `run`.
  async fn run_on<T: FromRedisValue>(
    &self,
    what: &str,
    node: Option<&(String, u16)>,
    cmd: redis::Cmd,
  ) -> Result<T> {
    let attempt = async {
      match (self.connect().await?, node) {
        (Conn::Cluster(mut c), Some((host, port))) => {
          let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: host.clone(),
            port: *port,
          });
          let value = c.route_command(cmd, routing).await?;
          Ok(redis::from_redis_value(value)?)
        }
        (Conn::Cluster(mut c), None) => cmd.query_async::<T>(&mut c).await,
        (Conn::Single(mut c), _) => cmd.query_async::<T>(&mut c).await,
      }
    };
    match tokio::time::timeout(self.timeout, attempt).await {
      Ok(Ok(value)) => Ok(value),
      Ok(Err(err)) => Err(store_error(
        what,
        format!("Redis at {}: {err}", self.location),
      )),
      Err(_) => Err(store_error(
        what,
        format!(
          "Redis at {}: timed out after {} ms",
          self.location,
          self.timeout.as_millis()
        ),
      )),
    }
  }

  /// The primaries of a cluster (`host`, `port`), from `CLUSTER NODES`; `[None]` on a node.
  async fn scan_targets(&self) -> Result<Vec<Option<(String, u16)>>> {
    let cluster = matches!(
      self.connect().await.map_err(|e| store_error("purge", e))?,
      Conn::Cluster(_)
    );
    if !cluster {
      return Ok(vec![None]);
    }
    let mut cmd = redis::cmd("CLUSTER");
    cmd.arg("NODES");
    let nodes: String = self.run_on("purge", None, cmd).await?;
    Ok(
      nodes
        .lines()
        .filter_map(|line| {
          let fields: Vec<&str> = line.split(' ').collect();
          let flags = fields.get(2)?;
          if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
            return None;
          }
          let address = fields.get(1)?.split('@').next()?;
          let (host, port) = address.rsplit_once(':')?;
          Some(Some((host.to_string(), port.parse().ok()?)))
        })
        .collect(),
    )
  }

  /// Removes the entries whose key starts with `prefix` and not with `except`: `SCAN` in
  /// batches of 1000 (on every primary of a cluster), `UNLINK` of what matches. O(keys in
  /// Redis): for purges (old builds' pages), never for requests. Returns how many it removed.
  pub async fn delete_prefix(&self, prefix: &str, except: Option<&str>) -> Result<u64> {
    // Every key under `prefix` also starts with such an `except`: nothing to delete.
    if except.is_some_and(|e| prefix.starts_with(e)) {
      return Ok(0);
    }
    let pattern = format!("{}*", glob_escape(&self.entry_key(prefix)));
    let keep = except.map(|e| self.entry_key(e));
    let mut removed = 0u64;
    for node in self.scan_targets().await? {
      let mut cursor = 0u64;
      loop {
        let mut scan = redis::cmd("SCAN");
        scan
          .arg(cursor)
          .arg("MATCH")
          .arg(&pattern)
          .arg("COUNT")
          .arg(1000);
        let (next, keys): (u64, Vec<String>) = self.run_on("purge", node.as_ref(), scan).await?;
        let doomed: Vec<&String> = keys
          .iter()
          .filter(|k| !keep.as_ref().is_some_and(|p| k.starts_with(p.as_str())))
          .collect();
        if node.is_some() {
          // A cluster node's keys live in different slots: one UNLINK each, to that node.
          for key in doomed {
            let mut unlink = redis::cmd("UNLINK");
            unlink.arg(key);
            let n: i64 = self.run_on("purge", node.as_ref(), unlink).await?;
            removed += n.max(0) as u64;
          }
        } else if !doomed.is_empty() {
          let mut unlink = redis::cmd("UNLINK");
          for key in doomed {
            unlink.arg(key);
          }
          let n: i64 = self.run_on("purge", None, unlink).await?;
          removed += n.max(0) as u64;
        }
        cursor = next;
        if cursor == 0 {
          break;
        }
      }
    }
    Ok(removed)
  }

  /// The header that stamps an entry with the current epoch (`E`, length, epoch), or
  /// nothing while the epoch is not known yet (`set` then stamps it itself).
  pub fn entry_header(&self) -> Vec<u8> {
    self.epoch.lock().as_deref().map_or_else(Vec::new, stamp)
  }

  /// The current epoch: known, or read (and made, when the hash has none) now.
  async fn current_epoch(&self) -> Result<Arc<str>> {
    if let Some(epoch) = self.epoch.lock().clone() {
      return Ok(epoch);
    }
    let mut pipe = redis::pipe();
    pipe.cmd("HGET").arg(&self.tags_key).arg(EPOCH_FIELD);
    let (found,): (Option<String>,) = self.run("load tags", &pipe).await?;
    let epoch = match found {
      Some(epoch) => epoch,
      None => self.make_epoch(false).await?,
    };
    Ok(self.adopt_epoch(epoch))
  }

  /// Makes a new epoch where the hash has none (`renew`: replaces the one there), and
  /// returns the one in force. Errors: `ERR_STORE`.
  async fn make_epoch(&self, renew: bool) -> Result<String> {
    let mut pipe = redis::pipe();
    let command = if renew { "HSET" } else { "HSETNX" };
    pipe
      .cmd(command)
      .arg(&self.tags_key)
      .arg(EPOCH_FIELD)
      .arg(new_epoch())
      .ignore();
    pipe.cmd("HGET").arg(&self.tags_key).arg(EPOCH_FIELD);
    let (epoch,): (String,) = self.run("revalidate tags", &pipe).await?;
    Ok(epoch)
  }

  fn adopt_epoch(&self, epoch: String) -> Arc<str> {
    let epoch = fit_epoch(epoch);
    let mut known = self.epoch.lock();
    if known.as_deref() != Some(epoch.as_str()) {
      if known.is_some() {
        let now = std::time::SystemTime::now()
          .duration_since(std::time::UNIX_EPOCH)
          .map_or(0.0, |d| d.as_secs_f64() * 1000.0);
        self.epoch_replaced_at.store(now.to_bits(), SeqCst);
        self.epoch_changes.fetch_add(1, SeqCst);
      }
      *known = Some(Arc::from(epoch));
    }
    known.clone().unwrap_or_else(|| Arc::from(""))
  }

  /// When this process last saw the tag state replaced (wall-clock ms; 0: never): entries
  /// made before then may have been revalidated by what was lost.
  pub fn replaced_at(&self) -> f64 {
    f64::from_bits(self.epoch_replaced_at.load(SeqCst))
  }

  /// Counts the times the tag state was found lost or replaced (a new epoch replaced the one
  /// known): copies of entries this process holds were judged by a state that is gone.
  pub fn epoch_changes(&self) -> u64 {
    self.epoch_changes.load(SeqCst)
  }

  /// The stored bytes and where the encoded entry starts in them (after the epoch stamp),
  /// or `None`, also for an entry of another epoch. One round trip.
  /// Errors: `ERR_STORE` (Redis failed or answered an error; bytes not made by this version).
  pub async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, usize)>> {
    let epoch = self.current_epoch().await?;
    let mut pipe = redis::pipe();
    pipe.cmd("GET").arg(self.entry_key(key));
    let (value,): (Option<Vec<u8>>,) = self.run("get", &pipe).await?;
    let Some(bytes) = value else {
      return Ok(None);
    };
    if bytes.first() != Some(&EPOCH_MARK) {
      return Err(store_error(
        "get",
        "not an entry of this version (no epoch)",
      ));
    }
    let epoch = epoch.as_bytes();
    let start = 2 + epoch.len();
    let stamped =
      bytes.len() >= start && bytes[1] as usize == epoch.len() && &bytes[2..start] == epoch;
    // Another epoch: written before the tag state it would be judged by was lost.
    Ok(stamped.then_some((bytes, start)))
  }

  /// Stores an encoded entry (made after `entry_header()`) for `ttl_ms`; with `if_absent`
  /// only when the key is free (`SET NX`, so a newer entry another instance wrote is kept).
  /// After this process saw the tag state replaced, an entry made (`timestamp`, ms) before
  /// that is not stored: a revalidation lost with the old state may have expired it.
  /// One round trip.
  pub async fn set(
    &self,
    key: &str,
    mut value: Vec<u8>,
    ttl_ms: u64,
    if_absent: bool,
    timestamp: f64,
  ) -> Result<()> {
    if value.first() != Some(&EPOCH_MARK) {
      // Encoded before the epoch was known: stamp it now (a copy, once per process).
      let header = stamp(&self.current_epoch().await?);
      value.splice(0..0, header);
    }
    if timestamp < self.replaced_at() {
      return Ok(());
    }
    let mut pipe = redis::pipe();
    let set = pipe
      .cmd("SET")
      .arg(self.entry_key(key))
      .arg(value)
      .arg("PX")
      .arg(ttl_ms.max(1));
    if if_absent {
      set.arg("NX");
    }
    set.ignore();
    self.run::<()>("set", &pipe).await
  }

  pub async fn delete(&self, key: &str) -> Result<bool> {
    let mut pipe = redis::pipe();
    pipe.cmd("DEL").arg(self.entry_key(key));
    let (n,): (i64,) = self.run("delete", &pipe).await?;
    Ok(n > 0)
  }

  /// Writes tag fields to the hash (each only over an older one, `TagWrite::wins_over`)
  /// and the log, and announces them, atomically: one script, one round trip, O(fields).
  pub async fn write_tags(&self, writes: &[TagWrite]) -> Result<()> {
    // Bounded so the script's `unpack` of the log entry stays well inside Lua's limits.
    for chunk in writes.chunks(1000) {
      let mut pipe = redis::pipe();
      let eval = pipe
        .cmd("EVAL")
        .arg(WRITE_TAGS_SCRIPT)
        .arg(2)
        .arg(&self.tags_key)
        .arg(&self.log_key)
        .arg(&self.changed_channel)
        .arg(LOG_MAX_LEN);
      for w in chunk {
        eval
          .arg(w.key())
          .arg(w.time.to_string())
          .arg(w.at.to_string());
      }
      eval.ignore();
      self.run::<()>("revalidate tags", &pipe).await?;
    }
    for watch in WATCHES.lock().iter().filter_map(Weak::upgrade) {
      if watch.prefix == self.prefix && !Arc::ptr_eq(&watch, &self.watch) {
        watch.dirty.store(true, SeqCst);
      }
    }
    Ok(())
  }

  /// Whether a tag pull is worth its round trip now; when it is, the caller pulls at once
  /// (the change flag is cleared here, before the pull, so a message arriving during it
  /// counts for the next one). True unless the subscription is live, nothing was announced
  /// since the last pull began, and that pull is younger than `PULL_EVERY_MS`. Starts the
  /// subscriber on first use (on the current tokio runtime; without one, always true).
  pub fn tags_changed(&self) -> bool {
    self.start_watch();
    let watch = &self.watch;
    let now = now_ms();
    // `live` before `dirty`: a (re)subscription sets `dirty` first, so a live subscription
    // seen here never hides the pull owed for the messages missed before it.
    let live = watch.live.load(SeqCst);
    let dirty = watch.dirty.swap(false, SeqCst);
    let due = now >= watch.pulled_at.load(Relaxed) + PULL_EVERY_MS;
    let pull = dirty || !live || due;
    if pull {
      watch.pulled_at.store(now, Relaxed);
    }
    pull
  }

  /// `tags_changed` without its effects: whether it would say yes now.
  pub fn tags_may_have_changed(&self) -> bool {
    let watch = &self.watch;
    !watch.live.load(SeqCst)
      || watch.dirty.load(SeqCst)
      || now_ms() >= watch.pulled_at.load(Relaxed) + PULL_EVERY_MS
  }

  /// A pull that `tags_changed` asked for failed: the next call must ask again.
  pub fn tags_pull_failed(&self) {
    self.watch.dirty.store(true, SeqCst);
  }

  /// Stops the subscriber (the connection closes when its task ends).
  pub fn close(&self) {
    self.watch.closed.store(true, SeqCst);
    self.watch.live.store(false, SeqCst);
    self.watch.stop.notify_one();
  }

  fn start_watch(&self) {
    if self.watch.started.load(Relaxed) || self.watch.closed.load(Relaxed) {
      return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
      return;
    };
    if self.watch.started.swap(true, SeqCst) {
      return;
    }
    runtime.spawn(watch_tags(
      self.client.clone(),
      self.watch_clients.clone(),
      self.watch.clone(),
      self.changed_channel.clone(),
      self.timeout,
    ));
  }

  /// Every tag field, and a log position it reflects (the epoch is adopted; made when the
  /// hash has none). One round trip, two when an epoch must be made.
  pub async fn load_tags(&self) -> Result<(Vec<TagWrite>, LogId)> {
    self.check_policy().await;
    // Not a transaction: under `maxmemory` Redis refuses every command queued in MULTI, and
    // reads must go on. The log's end first: a write landing between the two is in the hash
    // and pulled again from the log (harmless), never missed.
    let mut pipe = redis::pipe();
    self.log_end(&mut pipe, "XREVRANGE");
    pipe.cmd("HGETALL").arg(&self.tags_key);
    let (last, all): (LogEntries, Vec<(String, String)>) = self.run("load tags", &pipe).await?;
    let mut epoch = None;
    let fields = all
      .into_iter()
      .filter_map(|(f, v)| {
        if f == EPOCH_FIELD {
          epoch = Some(v);
          return None;
        }
        TagWrite::from_field(&f, &v)
      })
      .collect();
    let epoch = match epoch {
      Some(epoch) => epoch,
      None => self.make_epoch(false).await?,
    };
    self.adopt_epoch(epoch);
    let last = last
      .first()
      .and_then(|(id, _)| parse_id(id))
      .unwrap_or_default();
    Ok((fields, last))
  }

  /// Field writes logged after `after`. One round trip; `Gap` when the log no longer holds
  /// everything since `after` or the tag state is not the one the epoch says (lost: the
  /// hash has no epoch or another one; restored: the log ends before `after`, then a new
  /// epoch is made so that no entry of the restored state passes as fresh).
  pub async fn read_log(&self, after: LogId) -> Result<LogRead> {
    // Not a transaction (see `load_tags`): a change between the reads can only make a gap
    // look likely (a reload), never hide one.
    let mut pipe = redis::pipe();
    pipe
      .cmd("XRANGE")
      .arg(&self.log_key)
      .arg(format!("({}", render_id(after)))
      .arg("+")
      .arg("COUNT")
      .arg(LOG_MAX_LEN);
    self.log_end(&mut pipe, "XRANGE");
    self.log_end(&mut pipe, "XREVRANGE");
    pipe.cmd("XLEN").arg(&self.log_key);
    pipe.cmd("HGET").arg(&self.tags_key).arg(EPOCH_FIELD);
    type Read = (LogEntries, LogEntries, LogEntries, u64, Option<String>);
    let (new, oldest, newest, len, epoch): Read = self.run("refresh tags", &pipe).await?;
    let epoch = epoch.map(fit_epoch);
    let known = self.epoch.lock().clone();
    if epoch.is_none() || epoch.as_deref() != known.as_deref() {
      return Ok(LogRead::Gap);
    }
    let first_id = |entries: &LogEntries| entries.first().and_then(|(id, _)| parse_id(id));
    if first_id(&newest).is_some_and(|newest| newest < after) {
      self.make_epoch(true).await?;
      return Ok(LogRead::Gap);
    }
    // Entries between `after` and the oldest one left may have been trimmed away; from the
    // start (the log was empty at load) only a log as long as it is kept can have been.
    let trimmed = match first_id(&oldest) {
      Some(oldest) if after != LogId::default() => oldest > after,
      Some(_) => len >= LOG_MAX_LEN as u64,
      None => false,
    };
    if trimmed {
      return Ok(LogRead::Gap);
    }
    let mut last = after;
    let mut fields = Vec::new();
    for (id, pairs) in new {
      if let Some(id) = parse_id(&id) {
        last = last.max(id);
      }
      for pair in pairs.chunks_exact(2) {
        if let Some(write) = TagWrite::from_field(&pair[0], &pair[1]) {
          fields.push(write);
        }
      }
    }
    Ok(LogRead::Fields(fields, last))
  }

  /// Adds the log's first entry (`XRANGE`) or last entry (`XREVRANGE`) to `pipe`.
  fn log_end(&self, pipe: &mut Pipeline, command: &str) {
    let (from, to) = if command == "XRANGE" {
      ("-", "+")
    } else {
      ("+", "-")
    };
    pipe
      .cmd(command)
      .arg(&self.log_key)
      .arg(from)
      .arg(to)
      .arg("COUNT")
      .arg(1);
  }

  /// Warns once per Redis location when its eviction policy may evict the tag state
  /// (`allkeys-*`); quiet where `CONFIG` is not allowed (managed Redis).
  async fn check_policy(&self) {
    static WARNED: Mutex<Vec<String>> = Mutex::new(Vec::new());
    if self.policy_checked.swap(true, Relaxed) {
      return;
    }
    let mut cmd = redis::cmd("CONFIG");
    cmd.arg("GET").arg("maxmemory-policy");
    let Ok(reply) = self.run_on::<Vec<String>>("config", None, cmd).await else {
      return;
    };
    let Some(policy) = reply.get(1) else { return };
    if policy.starts_with("allkeys-") && !WARNED.lock().contains(&self.location) {
      WARNED.lock().push(self.location.clone());
      eprintln!(
        "[tagcache] Redis at {} evicts with maxmemory-policy {policy}: it may evict the tag state, after which every entry written before is a miss. Use noeviction or a volatile-* policy (entries have TTLs, the tag state has none).",
        self.location
      );
    }
  }
}

/// `write_tags`: KEYS = the tag hash, the log; ARGV = the change channel, the log's length,
/// then `field, time, at` per write. A field is set only over one made earlier (the same
/// rule as `TagWrite::wins_over`: the later `at`; at the same `at` the later stale mark or
/// the earlier expiry), so a write that reaches Redis late never undoes a newer one. Every
/// write is logged (pullers apply the same rule), then one message is published.
const WRITE_TAGS_SCRIPT: &str = r#"
local logged = {}
for i = 3, #ARGV, 3 do
  local field, time, at = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local value = ARGV[i + 1] .. '@' .. ARGV[i + 2]
  local take = true
  local current = redis.call('HGET', KEYS[1], field)
  if current then
    local ct, ca = string.match(current, '^([^@]+)@(.+)$')
    ct, ca = tonumber(ct), tonumber(ca)
    if ct == nil then
      ct, ca = tonumber(current), 0
    end
    if ct ~= nil then
      if at ~= ca then
        take = at > ca
      elseif string.sub(field, 1, 1) == 's' then
        take = time >= ct
      else
        take = time <= ct
      end
    end
  end
  if take then
    redis.call('HSET', KEYS[1], field, value)
  end
  logged[#logged + 1] = field
  logged[#logged + 1] = value
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', unpack(logged))
redis.call('PUBLISH', ARGV[1], #logged / 2)
return 1
"#;

/// Epochs we make are 30 bytes; one longer than a header holds (written by hand) is cut.
fn fit_epoch(mut epoch: String) -> String {
  let mut end = epoch.len().min(255);
  while !epoch.is_char_boundary(end) {
    end -= 1;
  }
  epoch.truncate(end);
  epoch
}

/// The entry header for `epoch`.
fn stamp(epoch: &str) -> Vec<u8> {
  let epoch = epoch.as_bytes();
  let mut header = Vec::with_capacity(2 + epoch.len());
  header.push(EPOCH_MARK);
  header.push(epoch.len() as u8);
  header.extend_from_slice(epoch);
  header
}

impl Drop for RedisStore {
  fn drop(&mut self) {
    self.close();
  }
}

/// The subscriber: keeps one connection subscribed to `channel`, marks `watch` dirty on each
/// message, and says whether it is live. A failed connection (or ping) makes it not live
/// until a new subscription is confirmed, which marks it dirty again (messages may have been
/// missed meanwhile). On a cluster it tries each seed node in turn.
async fn watch_tags(
  target: Arc<Client>,
  clients: Vec<redis::Client>,
  watch: Arc<Watch>,
  channel: String,
  timeout: Duration,
) {
  let mut next = 0;
  let mut delay = 100;
  while !watch.closed.load(SeqCst) {
    let attempt = next;
    next += 1;
    let subscribed = tokio::time::timeout(timeout, async {
      let client = redis_connect::subscriber(&target, &clients, attempt).await?;
      let mut pubsub = client.get_async_pubsub().await?;
      pubsub.subscribe(&channel).await?;
      Ok::<_, redis::RedisError>(pubsub)
    })
    .await;
    if let Ok(Ok(pubsub)) = subscribed {
      let (mut sink, mut messages) = pubsub.split();
      delay = 100;
      watch.dirty.store(true, SeqCst);
      watch.live.store(true, SeqCst);
      loop {
        tokio::select! {
          message = messages.next() => match message {
            Some(_) => watch.dirty.store(true, SeqCst),
            None => break,
          },
          _ = tokio::time::sleep(Duration::from_millis(WATCH_PING_MS)) => {
            let pong = tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await;
            if !matches!(pong, Ok(Ok(_))) {
              break;
            }
          }
          _ = watch.stop.notified() => break,
        }
      }
      watch.live.store(false, SeqCst);
      // Whatever was published while the connection was failing is owed a pull.
      watch.dirty.store(true, SeqCst);
    }
    if watch.closed.load(SeqCst) {
      break;
    }
    tokio::select! {
      _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
      _ = watch.stop.notified() => break,
    }
    delay = (delay * 2).min(BACK_OFF_MS);
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
    assert!(parse_id("5-1").unwrap() < parse_id("5-2").unwrap());
    assert!(parse_id("5-9").unwrap() < parse_id("6-0").unwrap());
    assert_eq!(parse_id("x"), None);
    assert_eq!(render_id(LogId(7, 3)), "7-3");
  }

  fn store(prefix: &str) -> RedisStore {
    RedisStore::new(RedisConfig {
      url: Some("redis://127.0.0.1:1".into()),
      cluster: vec![],
      sentinel: None,
      tls: None,
      prefix: prefix.into(),
      timeout: Duration::from_millis(100),
    })
    .unwrap()
  }

  #[test]
  fn a_pull_is_skipped_only_while_subscribed_clean_and_recent() {
    let s = store("watch-test");
    // Not subscribed (no runtime here, so never): always pull.
    assert!(s.tags_changed());
    assert!(s.tags_changed());
    // Subscribed, as the subscriber leaves it: the pull owed for the time before it, then none.
    s.watch.dirty.store(true, SeqCst);
    s.watch.live.store(true, SeqCst);
    assert!(s.tags_may_have_changed());
    assert!(s.tags_changed());
    assert!(!s.tags_may_have_changed());
    assert!(!s.tags_changed());
    // A message: one pull.
    s.watch.dirty.store(true, SeqCst);
    assert!(s.tags_may_have_changed());
    assert!(s.tags_changed());
    assert!(!s.tags_changed());
    // A failed pull is owed again.
    s.tags_pull_failed();
    assert!(s.tags_changed());
    // The safety net: a pull older than PULL_EVERY_MS.
    s.watch.pulled_at.store(now_ms() - PULL_EVERY_MS, Relaxed);
    assert!(s.tags_changed());
    assert!(!s.tags_changed());
    // Connection lost: pull every time until subscribed again.
    s.watch.live.store(false, SeqCst);
    assert!(s.tags_changed());
    assert!(s.tags_changed());
    s.close();
    assert!(s.tags_changed());
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
