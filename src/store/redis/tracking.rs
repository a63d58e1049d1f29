//! Client-side caching (Redis ≥ 6, `CLIENT TRACKING`): one RESP3 connection per store asks
//! Redis to announce every write or expiry of a key under `P:e:` (`BCAST PREFIX`), from any
//! client, and hands each announced key to the engine, which drops its in-process copy. While
//! this connection is known to be live, a copy read from Redis after tracking began (and with
//! no announcement arriving while its read was in flight) is coherent: it may answer with no
//! time bound. A lost connection (an error, an unanswered ping) first drops every copy (what
//! was written meanwhile was never announced), then reconnects; a server or proxy that cannot
//! track leaves the tier bounded by `localTtlMs`. Single nodes only: on a cluster and behind
//! Sentinel the tier stays bounded by `localTtlMs`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};

use super::call::BACK_OFF_MS;
use super::RedisStore;
use crate::log;

/// How often the tracking connection is pinged (ms): with the command timeout, the bound on
/// how long a silently broken connection (a partition) can leave coherent copies answering.
pub const TRACK_PING_MS: u64 = 250;

/// What Redis announced.
pub enum Invalidated {
  /// These keys (the engine's keys, prefix removed) were written, deleted or expired.
  Keys(Vec<String>),
  /// Everything may have changed (`FLUSHDB`, or the tracking connection was lost).
  All,
}

/// Where announcements go: the engine's in-process tier.
pub type Sink = Arc<dyn Fn(Invalidated) + Send + Sync>;

/// A read's view of tracking when it began (`RedisStore::track_stamp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackStamp {
  generation: u32,
  announced: u64,
}

/// Shared between the store, its task and the connection's push handler.
pub(super) struct Tracking {
  /// The RESP3 client (a single node's), if this store can track.
  client: Option<redis::Client>,
  /// The `P:e:` prefix: announced keys start with it.
  entry_prefix: String,
  /// Live tracking's generation (0: not tracking now); a new one per connection.
  generation: AtomicU32,
  generations: AtomicU32,
  /// Announcements received so far (any key): a read that saw this move is not coherent.
  announced: AtomicU64,
  sink: Mutex<Option<Sink>>,
  started: AtomicBool,
  closed: AtomicBool,
  stop: tokio::sync::Notify,
  /// The connection reported its end (a `Disconnection` push).
  lost: tokio::sync::Notify,
}

impl Tracking {
  pub(super) fn new(client: Option<redis::Client>, prefix: &str) -> Arc<Tracking> {
    Arc::new(Tracking {
      client,
      entry_prefix: format!("{prefix}:e:"),
      generation: AtomicU32::new(0),
      generations: AtomicU32::new(0),
      announced: AtomicU64::new(0),
      sink: Mutex::new(None),
      started: AtomicBool::new(false),
      closed: AtomicBool::new(false),
      stop: tokio::sync::Notify::new(),
      lost: tokio::sync::Notify::new(),
    })
  }

  pub(super) fn close(&self) {
    self.closed.store(true, SeqCst);
    self.not_live();
    self.stop.notify_one();
  }

  /// Counts an announcement, then hands it on: a read that loads the count after its copy
  /// entered the tier either sees it moved, or its copy is there for the sink to drop.
  fn announce(&self, what: Invalidated) {
    self.announced.fetch_add(1, SeqCst);
    let sink = self.sink.lock().clone();
    if let Some(sink) = sink {
      sink(what);
    }
  }

  /// Tracking stopped (or never started): no copy is coherent any more, and every copy may
  /// have missed an announcement.
  fn not_live(&self) {
    if self.generation.swap(0, SeqCst) != 0 {
      self.announce(Invalidated::All);
    }
  }

  /// The push handler: announcements of keys under the entry prefix, or a lost connection.
  fn on_push(&self, push: PushInfo) {
    match push.kind {
      PushKind::Invalidate => {
        let keys = match push.data.into_iter().next() {
          Some(Value::Array(keys)) => keys,
          // A null list: the whole database was flushed.
          _ => return self.announce(Invalidated::All),
        };
        let keys = keys
          .into_iter()
          .filter_map(|key| match key {
            Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
            _ => None,
          })
          .filter_map(|key| key.strip_prefix(&self.entry_prefix).map(str::to_string))
          .collect();
        self.announce(Invalidated::Keys(keys));
      }
      PushKind::Disconnection => {
        self.not_live();
        self.lost.notify_one();
      }
      _ => {}
    }
  }
}

impl RedisStore {
  /// Sends every announcement to `sink` (the engine's tier), from tokio's threads. Tracking
  /// starts on the first read or tag pull that runs on a tokio runtime.
  pub fn on_invalidate(&self, sink: Sink) {
    *self.tracking.sink.lock() = Some(sink);
  }

  /// Whether this store can track at all (a single node): else the tier stays bounded by
  /// `localTtlMs`.
  pub fn can_track(&self) -> bool {
    self.tracking.client.is_some()
  }

  /// Taken before a read: whether what it reads can be a coherent copy (`mark_tracked`).
  pub fn track_stamp(&self) -> TrackStamp {
    self.start_tracking();
    TrackStamp {
      generation: self.tracking.generation.load(SeqCst),
      announced: self.tracking.announced.load(SeqCst),
    }
  }

  /// Marks `slot` (a copy's `tracked`, the copy already in the tier) with the generation
  /// it is coherent for, or leaves it 0: tracking was not live when its read began
  /// (`stamp`), or stopped, or something was announced while the read was in flight
  /// (perhaps its key). Marked first, then checked: an announcement counted before the
  /// check demotes the copy here; one counted after it finds the copy marked and drops it.
  pub fn mark_tracked(&self, slot: &AtomicU32, stamp: TrackStamp) {
    let t = &self.tracking;
    slot.store(stamp.generation, SeqCst);
    let unchanged =
      t.announced.load(SeqCst) == stamp.announced && t.generation.load(SeqCst) == stamp.generation;
    if !unchanged {
      slot.store(0, SeqCst);
    }
  }

  /// Whether a copy marked with `generation` (`mark_tracked`) is still coherent.
  pub fn coherent(&self, generation: u32) -> bool {
    generation != 0 && self.tracking.generation.load(SeqCst) == generation
  }

  /// Starts the tracking task on first use, only for an engine that keeps copies (one that
  /// registered a sink): with `localTtlMs: 0` there is nothing to drop.
  fn start_tracking(&self) {
    let t = &self.tracking;
    if t.client.is_none() || t.started.load(SeqCst) || t.closed.load(SeqCst) {
      return;
    }
    if t.sink.lock().is_none() {
      return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
      return;
    };
    if t.started.swap(true, SeqCst) {
      return;
    }
    runtime.spawn(track_entries(
      self.tracking.clone(),
      self.timeout,
      self.location.clone(),
    ));
  }
}

/// The tracking task: connects, turns tracking on, pings; on any failure drops every copy
/// (`not_live`) and connects again after a back-off. A server that refuses tracking (older
/// than 6, or a proxy) is said once, and tried again every 30 s.
async fn track_entries(tracking: Arc<Tracking>, timeout: Duration, location: String) {
  let Some(client) = tracking.client.clone() else {
    return;
  };
  let mut delay = 100;
  let mut refused_said = false;
  while !tracking.closed.load(SeqCst) {
    let handler = tracking.clone();
    let config = AsyncConnectionConfig::new()
      .set_connection_timeout(Some(timeout))
      .set_response_timeout(Some(timeout))
      .set_push_sender(move |push: PushInfo| {
        handler.on_push(push);
        Ok::<(), std::convert::Infallible>(())
      });
    let connected = async {
      let mut conn = client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
      let mut on = redis::cmd("CLIENT");
      on.arg("TRACKING")
        .arg("ON")
        .arg("BCAST")
        .arg("PREFIX")
        .arg(&tracking.entry_prefix);
      on.query_async::<()>(&mut conn).await?;
      Ok::<_, redis::RedisError>(conn)
    };
    let mut conn = match tokio::time::timeout(timeout, connected).await {
      Ok(Ok(conn)) => conn,
      Ok(Err(err)) if err.kind() != redis::ErrorKind::Io && !err.is_timeout() => {
        // An answer, not an outage: this server cannot track here.
        if !refused_said {
          refused_said = true;
          log::warn(&format!(
            "Redis at {location} does not track keys for client-side caching ({err}); in-process copies are served for localTtlMs only"
          ));
        }
        if wait(&tracking, 30_000).await {
          break;
        }
        continue;
      }
      _ => {
        if wait(&tracking, delay).await {
          break;
        }
        delay = (delay * 2).min(BACK_OFF_MS);
        continue;
      }
    };
    delay = 100;
    // Never 0 (not tracking), also after 2^32 connections.
    let generation = loop {
      let next = tracking.generations.fetch_add(1, SeqCst).wrapping_add(1);
      if next != 0 {
        break next;
      }
    };
    tracking.generation.store(generation, SeqCst);
    loop {
      tokio::select! {
        _ = tokio::time::sleep(Duration::from_millis(TRACK_PING_MS)) => {
          let pong = tokio::time::timeout(timeout, redis::cmd("PING").query_async::<()>(&mut conn)).await;
          if !matches!(pong, Ok(Ok(()))) {
            break;
          }
        }
        _ = tracking.lost.notified() => break,
        _ = tracking.stop.notified() => break,
      }
    }
    tracking.not_live();
    if tracking.closed.load(SeqCst) || wait(&tracking, delay).await {
      break;
    }
  }
  tracking.not_live();
}

/// Sleeps `ms`, or less when the store closes (then true).
async fn wait(tracking: &Tracking, ms: u64) -> bool {
  tokio::select! {
    _ = tokio::time::sleep(Duration::from_millis(ms)) => tracking.closed.load(SeqCst),
    _ = tracking.stop.notified() => true,
  }
}
