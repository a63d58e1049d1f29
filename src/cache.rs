//! The engine: a store, the tag manifest and the cacheLife profiles, with the semantics of
//! Next.js 16 (`revalidateTag(tag, profile)`, `updateTag`, `revalidatePath`, `updateTags`,
//! `getExpiration`). Every method validates all of its input before it changes anything.
//!
//! In process, the memory store is the store and every call completes synchronously. With
//! Redis, each call does its in-process part synchronously (validation, the in-process tier,
//! the local tag manifest) and returns what is left for Redis, which the caller runs on
//! tokio: `get` is one round trip, `set` one, a tag update one, a tag refresh one.
//!
//! With the disk tier (one machine, possibly several processes), the memory store is its
//! in-process tier: a fresh copy answers at once, anything else reads the disk on tokio;
//! entry writes are queued to the disk's writer thread (write-behind), tag writes wait for
//! their durable commit, and a tag refresh is one indexed query on the calling thread.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::clock::Clock;
use crate::codec;
use crate::entry::{EntryMeta, Freshness};
use crate::error::{Error, ErrorCode, Result};
use crate::metrics::{Latencies, Op, Tier};
use crate::options::{Options, Sentinel, Shared};
use crate::parse::SetMeta;
use crate::profile::{Profiles, INFINITE_CACHE};
use crate::store::disk::{DiskTotals, Put};
use crate::store::memory::entry_size;
use crate::store::redis::{Invalidated, TagPull};
use crate::store::{DiskStore, MemoryStore, Payload, RedisConfig, RedisStore, Stored};
use crate::tags::{implicit_tags_for_path, Durations, PathKind, TagManifest, TagState, TagWrite};
use crate::trace;

/// Longest TTL given to a shared-store entry: "never" entries are dropped after 30 days
/// and regenerated on the next miss, so Redis does not fill with unreachable entries.
pub const MAX_SHARED_TTL_MS: f64 = 30.0 * 24.0 * 3600.0 * 1000.0;

/// An entry found by `get`, with its verdict (never `Expired`: expired entries are misses).
pub struct Hit<V> {
  pub entry: Arc<Stored<V>>,
  pub freshness: Freshness,
}

/// What `get` found without leaving the process.
pub enum Lookup<V> {
  Hit(Hit<V>),
  Miss,
  /// Not known here: ask the shared store (`get_shared`).
  Shared,
}

/// A write the shared store still has to receive (run it with `write_shared`).
pub enum SharedWrite {
  Entry {
    key: String,
    bytes: Vec<u8>,
    ttl_ms: u64,
    /// Only when nothing is stored under `key` (`SET NX`).
    if_absent: bool,
    /// The entry's `timestamp` (ms): one older than the tag state is not stored.
    timestamp: f64,
  },
  Delete {
    key: String,
  },
  Tags(Vec<TagWrite>),
}

/// Counters since the cache was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
  /// `get` calls that returned an entry (fresh or stale).
  pub hits: u64,
  /// `get` calls that returned nothing.
  pub misses: u64,
  /// Hits whose entry was stale (served once while Next regenerates it).
  pub stale_hits: u64,
  /// Entries stored.
  pub sets: u64,
  /// Entries evicted to stay within `maxMemoryBytes`.
  pub evictions: u64,
  /// Tags updated by `revalidateTag`, `updateTag`, `revalidatePath` and `updateTags`.
  pub tag_updates: u64,
  /// Entries now in the in-process store (with Redis: the in-process tier).
  pub entries: u64,
  /// Bytes now charged against `maxMemoryBytes`.
  pub bytes: u64,
  /// Shared-store operations that failed (each one served as a miss or rejected).
  pub store_errors: u64,
  /// `get` calls answered by Redis (not the in-process tier).
  pub shared_reads: u64,
  /// `get` calls answered by the disk tier (not the in-process tier).
  pub disk_reads: u64,
  /// Entries and bytes on disk, all processes' writes (0 without a disk tier).
  pub disk_entries: u64,
  pub disk_bytes: u64,
}

#[derive(Default)]
struct Counters {
  hits: AtomicU64,
  misses: AtomicU64,
  stale_hits: AtomicU64,
  sets: AtomicU64,
  evictions: AtomicU64,
  tag_updates: AtomicU64,
  store_errors: AtomicU64,
  shared_reads: AtomicU64,
  disk_reads: AtomicU64,
}

/// Refresh coalescing: concurrent `refresh_tags` calls share one pull.
struct RefreshState {
  /// Generation of the last completed refresh.
  completed: u64,
}

/// The cache engine over a payload type `V` (the binding stores JS Buffers).
pub struct Cache<V> {
  options: Options,
  /// The store (in process), or the in-process tier in front of `shared` (shared with the
  /// store's client-side caching, which drops the copies Redis announces as changed).
  store: Arc<MemoryStore<V>>,
  shared: Option<RedisStore>,
  /// The disk tier behind `store` (never together with `shared`).
  disk: Option<DiskStore>,
  /// Why the configured disk tier could not be used (the engine then runs in memory).
  disk_error: Option<String>,
  /// The last tag-log position pulled from the disk tier.
  disk_seq: parking_lot::Mutex<u64>,
  manifest: RwLock<TagManifest>,
  /// Tag writes Redis did not take (or may not have), sent again after the next good pull:
  /// a revalidation made during a blip still reaches every instance.
  unsent_tags: parking_lot::Mutex<Vec<TagWrite>>,
  refresh: tokio::sync::Mutex<RefreshState>,
  refresh_started: AtomicU64,
  /// A refresh is between its "changed?" check and the end of its pull.
  pulling: AtomicBool,
  counters: Counters,
  latencies: Latencies,
  closed: AtomicBool,
  clock: Clock,
}

impl<V: Payload> Cache<V> {
  /// Builds an engine from parsed options, on the wall clock.
  /// Errors: `ERR_INVALID_OPTIONS` for a Redis URL that does not parse.
  pub fn new(options: Options) -> Result<Self> {
    Cache::with_clock(options, Clock::system())
  }

  /// Builds an engine whose "now" is `clock` (the binding anchors it to Next's clock).
  pub fn with_clock(options: Options, clock: Clock) -> Result<Self> {
    let timeout = Duration::try_from_secs_f64(options.timeout_ms / 1000.0).unwrap_or(Duration::MAX);
    let redis = |url: Option<String>, cluster: Vec<String>, sentinel: Option<Sentinel>| {
      RedisStore::new(RedisConfig {
        url,
        cluster,
        sentinel,
        tls: options.tls.clone(),
        prefix: options.key_prefix.clone(),
        timeout,
      })
    };
    let shared = match &options.shared {
      None => None,
      Some(Shared::Redis { url }) => Some(redis(Some(url.clone()), Vec::new(), None)?),
      Some(Shared::RedisCluster { nodes }) => Some(redis(None, nodes.clone(), None)?),
      Some(Shared::RedisSentinel(sentinel)) => {
        Some(redis(None, Vec::new(), Some(sentinel.clone()))?)
      }
    };
    let mut manifest = TagManifest::default();
    let mut disk_seq = 0;
    let (disk, disk_error) = match &options.disk {
      None => (None, None),
      Some(config) => match DiskStore::open(config).and_then(|disk| {
        // The tag state is loaded before the first read: a restart never serves an entry
        // revalidated before it as fresh.
        let pull = disk.pull_tags(0)?;
        Ok((disk, pull))
      }) {
        Ok((disk, pull)) => {
          for w in &pull.writes {
            manifest.apply_pulled(w);
          }
          disk_seq = pull.seq;
          (Some(disk), None)
        }
        Err(err) => (None, Some(err.message)),
      },
    };
    let store = Arc::new(MemoryStore::new(options.max_memory_bytes));
    if let Some(shared) = &shared {
      if options.local_ttl_ms > 0.0 && shared.can_track() {
        let tier = Arc::downgrade(&store);
        shared.on_invalidate(Arc::new(move |what| {
          let Some(tier) = tier.upgrade() else { return };
          match what {
            // Only copies Redis tracks go: the others (this process's own writes, whose
            // announcements come back here too, and reads that raced an announcement) are
            // bounded by `localTtlMs`, as without tracking.
            Invalidated::Keys(keys) => {
              for key in keys {
                tier.remove_where(&key, |copy| copy.tracked.load(SeqCst) != 0);
              }
            }
            Invalidated::All => tier.clear(),
          }
        }));
      }
    }
    Ok(Cache {
      store,
      shared,
      disk,
      disk_error,
      disk_seq: parking_lot::Mutex::new(disk_seq),
      options,
      manifest: RwLock::new(manifest),
      unsent_tags: parking_lot::Mutex::new(Vec::new()),
      refresh: tokio::sync::Mutex::new(RefreshState { completed: 0 }),
      refresh_started: AtomicU64::new(0),
      pulling: AtomicBool::new(false),
      counters: Counters::default(),
      latencies: Latencies::default(),
      closed: AtomicBool::new(false),
      clock,
    })
  }

  /// Pulls the tag state if this engine never did, before its first Redis read or write: it
  /// knows no revalidation yet (a `next build` makes no requests, so nothing calls
  /// `refreshTags`), and its entries must be stamped with the epoch they were judged under.
  /// A failure is left to the call that follows. Boxed: inline, the pull's future would nest
  /// inside every read's and write's (too deep for the compiler).
  async fn pull_once(&self) {
    if self.refresh_started.load(Relaxed) == 0 {
      let _ = Box::pin(self.refresh_tags()).await;
    }
  }

  /// Keeps tag writes Redis did not take for `send_unsent`, the newest 10,000 at most.
  fn keep_unsent(&self, writes: Vec<TagWrite>) {
    let mut unsent = self.unsent_tags.lock();
    unsent.extend(writes);
    let excess = unsent.len().saturating_sub(10_000);
    unsent.drain(..excess);
  }

  /// Sends the kept tag writes again (Redis keeps, of each field, the one made last, so a
  /// late one never undoes a newer one); those that fail again wait for the next pull.
  async fn send_unsent(&self, shared: &RedisStore) {
    let unsent = std::mem::take(&mut *self.unsent_tags.lock());
    if unsent.is_empty() {
      return;
    }
    if shared.write_tags(&unsent).await.is_err() {
      let mut kept = self.unsent_tags.lock();
      let newer = std::mem::replace(&mut *kept, unsent);
      kept.extend(newer);
    }
  }

  /// Whether Redis still tracks `entry` for this process (client-side caching): then the
  /// copy answers with no time bound, until Redis announces a change to it.
  fn coherent(&self, entry: &Stored<V>) -> bool {
    self
      .shared
      .as_ref()
      .is_some_and(|shared| shared.coherent(entry.tracked.load(Relaxed)))
  }

  /// Whether the shared store's tag state was replaced since `seen` (`epoch_changes`).
  fn epoch_moved(&self, seen: u64) -> bool {
    self
      .shared
      .as_ref()
      .is_some_and(|shared| shared.epoch_changes() != seen)
  }

  /// What holds the entries: `"redis"`, `"disk"` (memory in front of the disk tier) or
  /// `"memory"` (also when a configured disk tier could not be opened).
  pub fn storage(&self) -> &'static str {
    self.store_tier().name()
  }

  /// Why the configured disk tier is not in use, if it is not.
  pub fn disk_error(&self) -> Option<&str> {
    self.disk_error.as_deref()
  }

  /// ms since the epoch on the engine's clock.
  pub fn now(&self) -> f64 {
    self.clock.now()
  }

  /// `ERR_CLOSED` after `close()`.
  pub fn check_open(&self) -> Result<()> {
    if self.closed.load(Relaxed) {
      Err(Error::new(
        ErrorCode::Closed,
        "this TagCache was closed; create a new one",
      ))
    } else {
      Ok(())
    }
  }

  fn count_lookup(&self, found: &Option<Hit<V>>) {
    match found {
      Some(hit) => {
        self.counters.hits.fetch_add(1, Relaxed);
        if hit.freshness.is_stale() {
          self.counters.stale_hits.fetch_add(1, Relaxed);
        }
      }
      None => {
        self.counters.misses.fetch_add(1, Relaxed);
      }
    }
  }

  /// Judges a stored entry now; expired ones are dropped from the in-process store.
  fn judge(
    &self,
    key: &str,
    entry: Arc<Stored<V>>,
    soft_tags: &[String],
    now: f64,
  ) -> Option<Hit<V>> {
    let manifest = self.manifest.read();
    let freshness = entry.meta.freshness(&manifest, soft_tags, now);
    if freshness == Freshness::Expired {
      // Only an entry past its own `expire` is dropped. One expired by a tag stays: a later
      // `revalidateTag(tag, profile)` moves the tag's expiry into the future, and then Next
      // serves it stale again (and a soft tag expires it for one page's reads only).
      if now > entry.meta.expires_at() {
        drop(manifest);
        self.store.remove_if_same(key, &entry);
      }
      None
    } else {
      Some(Hit { entry, freshness })
    }
  }

  /// The in-process part of `get`: the entry for `key`, a miss (missing, past `expire`, or a
  /// tag / soft tag expired after it was written), or `Shared` when Redis must be asked.
  /// In-process answers are counted (`stats`), not timed: a hit is about a microsecond, and
  /// two clock reads would be a measurable part of it.
  pub fn get(&self, key: &str, soft_tags: &[String]) -> Result<Lookup<V>> {
    if !self.options.debug {
      return self.get_in_process(key, soft_tags, self.now());
    }
    let started = Instant::now();
    let now = self.now();
    let why = match self.store.get(key) {
      Some(entry) => trace::verdict(&entry.meta, &self.manifest.read(), soft_tags, now),
      None => "absent".into(),
    };
    let lookup = self.get_in_process(key, soft_tags, now);
    if matches!(lookup, Ok(Lookup::Hit(_) | Lookup::Miss)) {
      trace::line(
        "get",
        &format!("{} {why}", trace::key(key)),
        "memory",
        started,
      );
    }
    lookup
  }

  /// The tier a store operation went to: the disk tier, Redis, or memory without either.
  fn store_tier(&self) -> Tier {
    if self.disk.is_some() {
      Tier::Disk
    } else if self.shared.is_some() {
      Tier::Redis
    } else {
      Tier::Memory
    }
  }

  fn observe(&self, op: Op, tier: Tier, started: Instant) {
    self.latencies.observe(op, tier, started.elapsed());
  }

  /// `TagCache#metrics()`: counters, gauges and latencies in the Prometheus text format.
  pub fn metrics(&self) -> String {
    crate::metrics::render(&self.stats(), &self.latencies)
  }

  /// Drops `entry` from the in-process tier if it is still the one stored under `key`:
  /// the binding could not hand it to JS, and a broken copy must not answer again.
  pub fn forget(&self, key: &str, entry: &Arc<Stored<V>>) {
    self.store.remove_if_same(key, entry);
  }

  /// `get`'s work at `now` (ms); `get` times it for the debug trace.
  fn get_in_process(&self, key: &str, soft_tags: &[String], now: f64) -> Result<Lookup<V>> {
    self.check_open()?;
    let local = self.store.get(key);
    if self.disk.is_some() || self.shared.is_some() {
      // An in-process copy answers while it is fresh (with Redis: and young); anything else
      // asks the store, where another process may have written a newer version.
      if let Some(entry) = local {
        // Strict: with `localTtlMs: 0` a copy never answers, even in the millisecond it
        // was written. A copy Redis tracks for us answers until Redis announces a change.
        let young = self.disk.is_some()
          || now - entry.stored_at < self.options.local_ttl_ms
          || self.coherent(&entry);
        if young {
          let freshness = entry.meta.freshness(&self.manifest.read(), soft_tags, now);
          if freshness == Freshness::Fresh {
            self.counters.hits.fetch_add(1, Relaxed);
            return Ok(Lookup::Hit(Hit { entry, freshness }));
          }
        }
      }
      return Ok(Lookup::Shared);
    }
    let found = local.and_then(|entry| self.judge(key, entry, soft_tags, now));
    self.count_lookup(&found);
    Ok(found.map_or(Lookup::Miss, Lookup::Hit))
  }

  /// The shared-store part of `get`: one round trip. A failure or an undecodable entry is a
  /// miss (counted in `storeErrors`), never an error.
  pub async fn get_shared(&self, key: &str, soft_tags: &[String]) -> Result<Option<Hit<V>>> {
    let started = Instant::now();
    let mut why = None;
    let found = self.read_shared(key, soft_tags, &mut why).await;
    self.observe(Op::Get, self.store_tier(), started);
    if self.options.debug {
      let why = match (&found, why) {
        (Ok(Some(hit)), _) => trace::verdict(
          &hit.entry.meta,
          &self.manifest.read(),
          soft_tags,
          self.now(),
        ),
        (Ok(None), Some(why)) => why,
        (Ok(None), None) => "absent".into(),
        (Err(err), _) => format!("error: {}", err.message),
      };
      let tier = self.storage();
      trace::line("get", &format!("{} {why}", trace::key(key)), tier, started);
    }
    found
  }

  /// `get_shared`'s work; `why` says what made a miss when it is not plain absence.
  async fn read_shared(
    &self,
    key: &str,
    soft_tags: &[String],
    why: &mut Option<String>,
  ) -> Result<Option<Hit<V>>> {
    self.check_open()?;
    let mut epoch_changes = 0;
    let mut track = None;
    let read = if let Some(disk) = &self.disk {
      self.counters.disk_reads.fetch_add(1, Relaxed);
      disk
        .get(key, self.now())
        .map(|found| found.map(|bytes| (bytes, 0)))
    } else if let Some(shared) = &self.shared {
      self.pull_once().await;
      self.counters.shared_reads.fetch_add(1, Relaxed);
      epoch_changes = shared.epoch_changes();
      track = Some(shared.track_stamp());
      shared.get(key).await
    } else {
      return Ok(None);
    };
    // With the disk tier the in-process copy (stale, or newer than a write-behind that has
    // not landed) stays the answer when the disk has nothing better.
    let local = if self.disk.is_some() {
      self.store.get(key)
    } else {
      None
    };
    // Set once the disk's row is known to be newer than the in-process copy: then it decides.
    let disk_newer = std::cell::Cell::new(false);
    let fallback = |found: Option<Hit<V>>| match (found, &local) {
      (Some(hit), _) => Some(hit),
      (None, Some(entry)) if !disk_newer.get() => {
        self.judge(key, entry.clone(), soft_tags, self.now())
      }
      _ => None,
    };
    let bytes = match read {
      Ok(bytes) => bytes,
      Err(err) => {
        if self.options.debug {
          *why = Some(format!("store error: {}", err.message));
        }
        self.counters.store_errors.fetch_add(1, Relaxed);
        let found = fallback(None);
        self.count_lookup(&found);
        return Ok(found);
      }
    };
    // The tag state was replaced while this read was in flight: what it read was judged
    // by the old one, and must neither answer nor enter the tier.
    let replaced = self.epoch_moved(epoch_changes);
    let bytes = bytes.filter(|_| !replaced);
    let found = bytes.and_then(|(bytes, start)| {
      let (meta, inflated, value_len) = match codec::decode(&bytes[start..]) {
        Ok((meta, Cow::Owned(value))) => {
          let len = value.len();
          (meta, Some(value), len)
        }
        Ok((meta, Cow::Borrowed(value))) => {
          let len = value.len();
          (meta, None, len)
        }
        Err(_) => {
          self.counters.store_errors.fetch_add(1, Relaxed);
          return None;
        }
      };
      if self.options.debug {
        *why = Some(trace::verdict(
          &meta,
          &self.manifest.read(),
          soft_tags,
          self.now(),
        ));
      }
      if let Some(entry) = &local {
        if entry.meta.timestamp >= meta.timestamp {
          return None; // the in-process copy is as new: `fallback` judges it
        }
      }
      disk_newer.set(true);
      // An uncompressed value is the envelope's tail.
      let value = match inflated {
        Some(value) => V::from_bytes(value),
        None => {
          let start = bytes.len() - value_len;
          V::from_tail(bytes, start)
        }
      };
      let now = self.now();
      // With `localTtlMs: 0` a copy could never answer: keeping one would only churn the
      // tier and release the replaced JS Buffer off the JS thread (a wake-up) on every read.
      let entry = if self.disk.is_some() {
        // The disk's row may be older than a write-behind that has not landed yet.
        let (evicted, entry) = self
          .store
          .insert_unless_newer(key.to_string(), meta, value, now)
          .ok()?;
        self.counters.evictions.fetch_add(evicted as u64, Relaxed);
        entry
      } else if self.options.local_ttl_ms > 0.0 {
        // Redis holds the shared truth (the last write anywhere). A newer copy written here
        // wins only while it is young (a read that was in flight during this process's own
        // `set`); after `localTtlMs` Redis's version replaces it, so instances converge.
        let young_newer = self.store.get(key).filter(|local| {
          local.meta.timestamp > meta.timestamp && now - local.stored_at < self.options.local_ttl_ms
        });
        if let Some(local) = young_newer {
          local
        } else {
          let (evicted, entry) = self
            .store
            .insert_at(key.to_string(), meta, value, now)
            .ok()?;
          self.counters.evictions.fetch_add(evicted as u64, Relaxed);
          // Checked again after the insert: a pull that replaced the tag state meanwhile
          // either cleared the tier after it, or is seen here (then the copy goes).
          if self.epoch_moved(epoch_changes) {
            self.store.remove_if_same(key, &entry);
            return None;
          }
          // Coherent only if Redis tracked it for the whole read (no announcement meanwhile).
          if let (Some(shared), Some(stamp)) = (&self.shared, track) {
            shared.mark_tracked(&entry.tracked, stamp);
          }
          entry
        }
      } else {
        Arc::new(Stored {
          // In no store: the size is only reported, never charged.
          size: u32::try_from(entry_size(key, &meta, value.byte_len())).unwrap_or(u32::MAX),
          meta,
          value,
          stored_at: now,
          tracked: AtomicU32::new(0),
        })
      };
      self.judge(key, entry, soft_tags, now)
    });
    let found = fallback(found);
    self.count_lookup(&found);
    Ok(found)
  }

  /// Stores `value` under `key` with resolved metadata (`parse::set_meta`). With a shared
  /// store the in-process tier keeps it and the returned write goes to Redis. `if_absent`
  /// stores only when nothing is stored under `key` (in process, on disk, on Redis: `SET
  /// NX`), so seeding from the build output never overwrites a newer regeneration.
  /// Errors: `ERR_VALUE_TOO_LARGE` when it alone exceeds `maxMemoryBytes`, `ERR_CLOSED`.
  pub fn set(&self, key: String, value: V, meta: SetMeta) -> Result<Option<SharedWrite>> {
    self.store_entry(key, value, meta.meta, meta.if_absent)
  }

  fn store_entry(
    &self,
    key: String,
    value: V,
    meta: EntryMeta,
    if_absent: bool,
  ) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    let started = Instant::now();
    let now = self.now();
    if if_absent {
      // An entry past its expire is no entry (the store drops it on sight).
      if let Some(local) = self.store.get(&key) {
        if now < local.meta.expires_at() {
          return Ok(None);
        }
      }
    }
    // One copy of the bytes for the disk's writer thread, which encodes and writes them.
    let disk_put = self.disk.as_ref().map(|_| Put {
      key: key.clone(),
      meta: meta.clone(),
      value: value.with_bytes(<[u8]>::to_vec),
      if_absent,
    });
    let mut write = None;
    if let Some(shared) = &self.shared {
      if meta.timestamp < shared.replaced_at() {
        // Made before this process saw the tag state replaced: a revalidation lost with it
        // may have expired it. Not stored anywhere (a miss, rendered again).
        return Ok(None);
      }
      let header = shared.entry_header();
      let bytes = value.with_bytes(|v| codec::encode_after(&header, &meta, v));
      let ttl = (meta.expires_at() - self.now()).clamp(1.0, MAX_SHARED_TTL_MS);
      let ttl = if meta.expire >= INFINITE_CACHE {
        MAX_SHARED_TTL_MS
      } else {
        ttl
      };
      write = Some(SharedWrite::Entry {
        key: key.clone(),
        bytes,
        ttl_ms: ttl as u64,
        if_absent,
        timestamp: meta.timestamp,
      });
    }
    let (stored_key, stored_timings) = if self.options.debug {
      (key.clone(), trace::timings(&meta))
    } else {
      (String::new(), String::new())
    };
    // With Redis and `localTtlMs: 0` an in-process copy could never answer: keep none (it
    // would fill the tier to its bound for nothing), but refuse what the bound refuses.
    let keep_copy = self.disk.is_some() || self.shared.is_none() || self.options.local_ttl_ms > 0.0;
    let evicted = if keep_copy {
      self.store.insert_at(key, meta, value, now)?.0
    } else {
      self.store.check_fits(&key, &meta, value.byte_len())?;
      self.store.remove(&key);
      0
    };
    self.counters.sets.fetch_add(1, Relaxed);
    self.counters.evictions.fetch_add(evicted as u64, Relaxed);
    // Write-behind, once the set is accepted: nothing for the caller to await.
    if let (Some(disk), Some(put)) = (&self.disk, disk_put) {
      if disk.put(put).is_err() {
        self.counters.store_errors.fetch_add(1, Relaxed);
      }
    }
    self.observe(Op::Set, Tier::Memory, started);
    if self.options.debug {
      let what = format!(
        "{}{}",
        trace::key(&stored_key),
        if if_absent { " (if absent)" } else { "" }
      );
      trace::line(
        "set",
        &format!("{what} {stored_timings}"),
        self.storage(),
        started,
      );
    }
    Ok(write)
  }

  /// Removes one entry; true if there was one in process.
  pub fn delete(&self, key: &str) -> Result<(bool, Option<SharedWrite>)> {
    self.check_open()?;
    let removed = self.store.remove(key);
    let write = (self.shared.is_some() || self.disk.is_some()).then(|| SharedWrite::Delete {
      key: key.to_string(),
    });
    Ok((removed, write))
  }

  /// Removes the in-process and disk entries whose key starts with `prefix` and not with
  /// `except` (e.g. old builds' pages); returns how many: on disk or in Redis when there is
  /// such a store (it holds every in-process entry too), else in process. On Redis it SCANs
  /// every key (in batches): for purges, not requests. Errors: `ERR_STORE`.
  pub async fn delete_by_prefix(&self, prefix: &str, except: Option<&str>) -> Result<u64> {
    self.check_open()?;
    let mut removed = self.store.remove_prefix(prefix, except) as u64;
    if let Some(shared) = &self.shared {
      match shared.delete_prefix(prefix, except).await {
        Ok(n) => removed = n,
        Err(err) => {
          self.counters.store_errors.fetch_add(1, Relaxed);
          return Err(err);
        }
      }
      // A read in flight may have put a purged entry back in process.
      self.store.remove_prefix(prefix, except);
    }
    if let Some(disk) = &self.disk {
      match disk.delete_prefix(prefix, except).await {
        Ok(n) => removed = n,
        Err(err) => {
          self.counters.store_errors.fetch_add(1, Relaxed);
          return Err(err);
        }
      }
    }
    Ok(removed)
  }

  /// Runs a write on the shared store. Errors: `ERR_STORE` (counted in `storeErrors`).
  pub async fn write_shared(&self, write: SharedWrite) -> Result<bool> {
    let started = Instant::now();
    let op = match &write {
      SharedWrite::Tags(_) => Some(Op::TagUpdate),
      SharedWrite::Entry { .. } => Some(Op::Set),
      SharedWrite::Delete { .. } => None,
    };
    let result = self.run_shared_write(write).await;
    if let Some(op) = op {
      self.observe(op, self.store_tier(), started);
      if self.options.debug {
        let done = match &result {
          Ok(_) => "written".to_string(),
          Err(err) => format!("failed: {}", err.message),
        };
        let name = if op == Op::TagUpdate { "tags" } else { "set" };
        trace::line(name, &done, self.storage(), started);
      }
    }
    result
  }

  async fn run_shared_write(&self, write: SharedWrite) -> Result<bool> {
    if let Some(disk) = &self.disk {
      let result = match write {
        SharedWrite::Tags(writes) => disk.write_tags(writes).await.map(|_| true),
        SharedWrite::Delete { key } => {
          let done = disk.delete(&key).await;
          // A read that began before the delete may have put the row back in process.
          self.store.remove(&key);
          done
        }
        // Entries reach the disk through its write-behind queue, never here.
        SharedWrite::Entry { .. } => Ok(false),
      };
      if result.is_err() {
        self.counters.store_errors.fetch_add(1, Relaxed);
      }
      return result;
    }
    let Some(shared) = &self.shared else {
      return Ok(false);
    };
    let result = match write {
      SharedWrite::Entry {
        key,
        bytes,
        ttl_ms,
        if_absent,
        timestamp,
      } => {
        self.pull_once().await;
        let done = shared.set(&key, bytes, ttl_ms, if_absent, timestamp).await;
        if done.is_err() {
          // Redis did not take it (or may not have): the in-process copy must not outlive
          // the window in which it answers alone, or this instance serves what no other does.
          self.store.remove(&key);
        }
        done.map(|_| true)
      }
      SharedWrite::Delete { key } => shared.delete(&key).await,
      SharedWrite::Tags(writes) => {
        let done = shared.write_tags(&writes).await;
        if done.is_err() {
          self.keep_unsent(writes);
        }
        done.map(|_| true)
      }
    };
    if result.is_err() {
      self.counters.store_errors.fetch_add(1, Relaxed);
    }
    result
  }

  /// Next's `updateTags(tags, durations?)`, which `revalidateTag(tag, profile)` and
  /// `updateTag(tag)` come down to once their arguments are parsed (`parse::tags`,
  /// `parse::revalidate_profile`): with `{ expire? }` the tags are stale now and expire
  /// `expire` seconds from now (stale-while-revalidate); without durations they expire now.
  /// Applied here at once (read-your-own-writes); the returned write goes to the store.
  /// Errors: `ERR_CLOSED`.
  pub fn update_tags(
    &self,
    tags: &[String],
    durations: Option<Durations>,
  ) -> Result<Option<SharedWrite>> {
    self.check_open()?;
    Ok(self.apply(tags, durations))
  }

  /// `revalidatePath(path, type?)`: expires the implicit tags of `path` exactly as Next
  /// builds them (`tags::implicit_tags_for_path`). Returns the tags it expired.
  /// Errors: `ERR_TAG_TOO_LONG`, `ERR_CLOSED`.
  pub fn revalidate_path(
    &self,
    path: &str,
    kind: Option<PathKind>,
  ) -> Result<(Vec<String>, Option<SharedWrite>)> {
    self.check_open()?;
    let tags = implicit_tags_for_path(path, kind)?;
    let write = self.apply(&tags, None);
    Ok((tags, write))
  }

  /// Applies tag updates here at once (read-your-own-writes) and returns them for Redis.
  fn apply(&self, tags: &[String], durations: Option<Durations>) -> Option<SharedWrite> {
    let started = Instant::now();
    let writes = self.manifest.write().update(tags, durations, self.now());
    self.observe(Op::TagUpdate, Tier::Memory, started);
    if self.options.debug {
      let what = match durations {
        Some(Durations { expire: Some(s) }) => format!("{tags:?} stale now, expired in {s} s"),
        Some(Durations { expire: None }) => format!("{tags:?} stale now"),
        None => format!("{tags:?} expired now"),
      };
      trace::line("tags", &what, "memory", started);
    }
    self
      .counters
      .tag_updates
      .fetch_add(tags.len() as u64, Relaxed);
    (self.shared.is_some() || self.disk.is_some()).then_some(SharedWrite::Tags(writes))
  }

  /// `getExpiration(tags)`: the latest time (ms) at which one of `tags` expired, 0 if none.
  /// `tags` are lookup tags (`parse::lookup_tags`). Errors: `ERR_CLOSED`.
  pub fn get_expiration(&self, tags: &[String]) -> Result<f64> {
    self.check_open()?;
    Ok(
      self
        .manifest
        .read()
        .expiration(tags.iter().map(String::as_str), self.now()),
    )
  }

  /// The known state of each of `tags` (times in ms; `None` where never set), as this
  /// engine knows it now (after `refresh_tags` for what other instances wrote). Tags that
  /// cannot have been revalidated are skipped, as in `get_expiration`.
  pub fn tag_states(&self, tags: &[String]) -> Result<Vec<(String, TagState)>> {
    self.check_open()?;
    let manifest = self.manifest.read();
    Ok(
      tags
        .iter()
        .map(|t| {
          let state = manifest.state(t).unwrap_or_default();
          (t.clone(), state)
        })
        .collect(),
    )
  }

  /// Pulls tag changes from the shared store: one round trip, work in proportion to the
  /// changes since the last pull (the whole hash the first time, or after falling further
  /// behind than the log keeps). Concurrent calls share one pull that started after them.
  /// No round trip at all while the store's subscription is live and announced no change
  /// (see `RedisStore::tags_changed`; at least one pull per `PULL_EVERY_MS` regardless).
  /// Errors: `ERR_STORE` (the last known tags stay in force).
  pub async fn refresh_tags(&self) -> Result<()> {
    let started = Instant::now();
    let result = self.pull_shared_tags().await;
    if self.shared.is_some() {
      self.observe(Op::Refresh, Tier::Redis, started);
      if self.options.debug {
        let done = match &result {
          Ok(()) => "pulled".to_string(),
          Err(err) => format!("failed: {}", err.message),
        };
        trace::line("refresh", &done, "redis", started);
      }
    }
    result
  }

  async fn pull_shared_tags(&self) -> Result<()> {
    self.check_open()?;
    let Some(shared) = &self.shared else {
      return Ok(());
    };
    let ticket = self.refresh_started.load(Relaxed);
    let mut state = self.refresh.lock().await;
    if state.completed > ticket {
      return Ok(());
    }
    // Set before the check clears the change flag, so `refresh_needed` never sees neither.
    self.pulling.store(true, SeqCst);
    if !shared.pull_due() {
      self.pulling.store(false, SeqCst);
      return Ok(());
    }
    let generation = self.refresh_started.fetch_add(1, Relaxed) + 1;
    let result = shared.pull_tags().await.map(|pull| self.apply_pull(pull));
    if result.is_ok() {
      self.send_unsent(shared).await;
    }
    match &result {
      // Only a pull that succeeded answers the callers waiting behind it; after a failure
      // each of them pulls (or fails) on its own, never returns as if it had pulled.
      Ok(()) => state.completed = generation,
      Err(_) => {
        shared.tags_pull_failed();
        self.counters.store_errors.fetch_add(1, Relaxed);
      }
    }
    self.pulling.store(false, SeqCst);
    result
  }

  /// Applies what a pull from Redis found. A replaced tag state means every entry judged by
  /// the old one is gone (Redis's read as absent, the in-process copies dropped here), so the
  /// manifest starts over from the hash, as on every other instance; what this process wrote
  /// and Redis never took is still this process's to send, so it stays applied.
  fn apply_pull(&self, pull: TagPull) {
    let mut manifest = self.manifest.write();
    let writes = match pull {
      TagPull::Changes(writes) => writes,
      TagPull::Whole { writes, replaced } => {
        if replaced {
          *manifest = TagManifest::default();
          self.store.clear();
          for w in self.unsent_tags.lock().iter() {
            manifest.apply(w);
          }
        }
        writes
      }
    };
    for w in &writes {
      manifest.apply_pulled(w);
    }
  }

  /// The disk tier's part of `refreshTags`: applies the tag writes other processes committed
  /// since the last pull (one indexed query, on the calling thread). No-op without a disk.
  /// Errors: `ERR_STORE` (the last known tags stay in force).
  pub fn refresh_disk_tags(&self) -> Result<()> {
    self.check_open()?;
    let Some(disk) = &self.disk else {
      return Ok(());
    };
    let started = Instant::now();
    let _timed = Timed(self, Op::Refresh, Tier::Disk, started);
    let mut seq = self.disk_seq.lock();
    match disk.pull_tags(*seq) {
      Ok(pull) => {
        if self.options.debug {
          let what = format!("{} tag writes from other processes", pull.writes.len());
          trace::line("refresh", &what, "disk", started);
        }
        if !pull.writes.is_empty() {
          let mut manifest = self.manifest.write();
          for w in &pull.writes {
            manifest.apply_pulled(w);
          }
        }
        *seq = pull.seq;
        Ok(())
      }
      Err(err) => {
        self.counters.store_errors.fetch_add(1, Relaxed);
        Err(err)
      }
    }
  }

  /// Whether `refresh_tags` could have anything to do: false only with a shared store whose
  /// subscription is live, with no change announced, no pull in flight and a recent pull, so
  /// a caller may settle at once instead of hopping to tokio (a cheap synchronous check).
  pub fn refresh_needed(&self) -> bool {
    let Some(shared) = &self.shared else {
      return false;
    };
    // The change flag before `pulling`: a refresh clears the flag only after raising it.
    shared.tags_may_have_changed() || self.pulling.load(SeqCst)
  }

  /// The cacheLife profiles this engine resolves names against (the app's config over
  /// Next's defaults).
  pub fn profiles(&self) -> &Profiles {
    &self.options.profiles
  }

  pub fn stats(&self) -> Stats {
    let c = &self.counters;
    let disk = self
      .disk
      .as_ref()
      .and_then(|d| d.totals().ok())
      .unwrap_or_default();
    let disk_write_errors = self.disk.as_ref().map_or(0, |d| d.write_errors());
    let DiskTotals {
      entries: disk_entries,
      bytes: disk_bytes,
    } = disk;
    Stats {
      hits: c.hits.load(Relaxed),
      misses: c.misses.load(Relaxed),
      stale_hits: c.stale_hits.load(Relaxed),
      sets: c.sets.load(Relaxed),
      evictions: c.evictions.load(Relaxed),
      tag_updates: c.tag_updates.load(Relaxed),
      entries: self.store.len() as u64,
      bytes: self.store.bytes() as u64,
      store_errors: c.store_errors.load(Relaxed) + disk_write_errors,
      shared_reads: c.shared_reads.load(Relaxed),
      disk_reads: c.disk_reads.load(Relaxed),
      disk_entries,
      disk_bytes,
    }
  }

  /// Waits until the disk tier committed every write queued so far (no-op without one).
  pub fn flush(&self) {
    if let Some(disk) = &self.disk {
      disk.flush();
    }
  }

  /// Waits (blocking: not on the JS thread) until the disk tier, once closed, committed its
  /// queued writes and stopped its writer. No-op without a disk tier.
  pub fn join_disk(&self) {
    if let Some(disk) = &self.disk {
      disk.join();
    }
  }

  /// Drops every in-process entry and stops the disk tier taking writes (what is queued
  /// still lands: `join_disk`); later calls fail with `ERR_CLOSED`. Closing twice is fine.
  pub fn close(&self) {
    self.closed.store(true, Relaxed);
    if let Some(disk) = &self.disk {
      disk.close();
    }
    self.store.clear();
    if let Some(shared) = &self.shared {
      shared.close();
    }
  }
}

/// Records an operation's latency when dropped (covers every return path).
struct Timed<'a, V: Payload>(&'a Cache<V>, Op, Tier, Instant);

impl<V: Payload> Drop for Timed<'_, V> {
  fn drop(&mut self) {
    self.0.observe(self.1, self.2, self.3);
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::clock::ManualTime;
  use crate::store::DiskConfig;

  const T0: f64 = 1_700_000_000_000.0;

  fn clock() -> (&'static ManualTime, Clock) {
    let time: &'static ManualTime = Box::leak(Box::new(ManualTime::new(T0)));
    (time, Clock::manual(time))
  }

  fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
  }

  /// An entry written now: revalidate 60 s, expire 600 s.
  fn meta(tags: &[&str], now: f64) -> SetMeta {
    SetMeta {
      meta: EntryMeta {
        tags: tags.iter().collect(),
        stale: 30.0,
        revalidate: 60.0,
        expire: 600.0,
        timestamp: now,
      },
      if_absent: false,
    }
  }

  fn verdict(cache: &Cache<Vec<u8>>, key: &str, soft: &[&str]) -> Option<Freshness> {
    match cache.get(key, &strings(soft)).unwrap() {
      Lookup::Hit(hit) => Some(hit.freshness),
      Lookup::Miss => None,
      Lookup::Shared => panic!("an in-process engine never asks a shared store"),
    }
  }

  /// Redis on a port nothing listens on: every call fails at once (connection refused).
  fn unreachable_redis(local_ttl_ms: f64) -> Options {
    Options {
      shared: Some(Shared::Redis {
        url: "redis://127.0.0.1:1".into(),
      }),
      local_ttl_ms,
      timeout_ms: 200.0,
      ..Options::default()
    }
  }

  #[test]
  fn tag_verdicts_follow_next_16() {
    let (time, clock) = clock();
    let cache: Cache<Vec<u8>> = Cache::with_clock(Options::default(), clock).unwrap();
    cache
      .set("a".into(), vec![1], meta(&["posts"], T0))
      .unwrap();
    cache
      .set("b".into(), vec![2], meta(&["other"], T0))
      .unwrap();
    assert_eq!(verdict(&cache, "a", &[]), Some(Freshness::Fresh));
    time.advance(1.0);
    // revalidateTag(tag, { expire: 10 }): stale now (served while it regenerates) …
    let swr = Some(Durations { expire: Some(10.0) });
    cache.update_tags(&strings(&["posts"]), swr).unwrap();
    assert_eq!(verdict(&cache, "a", &[]), Some(Freshness::StaleByTag));
    assert_eq!(verdict(&cache, "b", &[]), Some(Freshness::Fresh));
    // … and expired once `expire` has passed.
    time.advance(10_001.0);
    assert_eq!(verdict(&cache, "a", &[]), None);
    assert_eq!(
      cache.get_expiration(&strings(&["posts"])).unwrap(),
      T0 + 10_001.0
    );
    // An entry written after the revalidation is fresh.
    cache
      .set("a".into(), vec![3], meta(&["posts"], time.get()))
      .unwrap();
    assert_eq!(verdict(&cache, "a", &[]), Some(Freshness::Fresh));
    // updateTag: expired now, for this read already (read-your-own-writes).
    time.advance(1.0);
    cache.update_tags(&strings(&["posts"]), None).unwrap();
    assert_eq!(verdict(&cache, "a", &[]), None);
    // A soft (implicit) tag expires the entries of one page's reads only.
    time.advance(1.0);
    let (tags, _) = cache.revalidate_path("/blog", None).unwrap();
    assert_eq!(tags, strings(&["_N_T_/blog"]));
    assert_eq!(verdict(&cache, "b", &["_N_T_/blog"]), None);
    assert_eq!(
      verdict(&cache, "b", &["_N_T_/other"]),
      Some(Freshness::Fresh)
    );
    // Past its own revalidate time an entry is stale, past expire gone.
    time.advance(60_001.0);
    assert_eq!(verdict(&cache, "b", &[]), Some(Freshness::Stale));
    time.advance(600_000.0);
    assert_eq!(verdict(&cache, "b", &[]), None);
    let stats = cache.stats();
    assert_eq!((stats.sets, stats.tag_updates), (3, 3));
    assert_eq!(stats.entries, 1, "the expired entry is dropped on sight");
  }

  #[test]
  fn if_absent_never_overwrites_a_live_entry() {
    let (time, clock) = clock();
    let cache: Cache<Vec<u8>> = Cache::with_clock(Options::default(), clock).unwrap();
    cache.set("k".into(), vec![1], meta(&[], T0)).unwrap();
    let seed = SetMeta {
      if_absent: true,
      ..meta(&[], T0)
    };
    cache.set("k".into(), vec![2], seed.clone()).unwrap();
    let Lookup::Hit(hit) = cache.get("k", &[]).unwrap() else {
      panic!("stored")
    };
    assert_eq!(hit.entry.value, vec![1]);
    // Past its expire the entry is no entry: the seed lands.
    time.advance(600_001.0);
    let later = SetMeta {
      if_absent: true,
      ..meta(&[], time.get())
    };
    cache.set("k".into(), vec![2], later).unwrap();
    let Lookup::Hit(hit) = cache.get("k", &[]).unwrap() else {
      panic!("stored")
    };
    assert_eq!(hit.entry.value, vec![2]);
  }

  #[test]
  fn the_tier_in_front_of_redis_answers_only_while_young_and_fresh() {
    let (time, clock) = clock();
    let cache: Cache<Vec<u8>> = Cache::with_clock(unreachable_redis(1000.0), clock).unwrap();
    let write = cache.set("k".into(), vec![1], meta(&["t"], T0)).unwrap();
    assert!(matches!(write, Some(SharedWrite::Entry { .. })));
    assert!(matches!(cache.get("k", &[]).unwrap(), Lookup::Hit(_)));
    // Not fresh (a tag went stale): Redis decides.
    time.advance(1.0);
    let swr = Some(Durations { expire: Some(60.0) });
    let write = cache.update_tags(&strings(&["t"]), swr).unwrap();
    assert!(matches!(write, Some(SharedWrite::Tags(ref w)) if w.len() == 2));
    assert!(matches!(cache.get("k", &[]).unwrap(), Lookup::Shared));
    // Fresh but older than localTtlMs: Redis decides.
    cache
      .set("k".into(), vec![2], meta(&[], time.get()))
      .unwrap();
    assert!(matches!(cache.get("k", &[]).unwrap(), Lookup::Hit(_)));
    time.advance(1000.0);
    assert!(matches!(cache.get("k", &[]).unwrap(), Lookup::Shared));
  }

  #[test]
  fn local_ttl_zero_keeps_no_copy() {
    let (_, clock) = clock();
    let cache: Cache<Vec<u8>> = Cache::with_clock(unreachable_redis(0.0), clock).unwrap();
    let write = cache.set("k".into(), vec![1], meta(&[], T0)).unwrap();
    assert!(write.is_some());
    assert_eq!(cache.stats().entries, 0);
    assert!(matches!(cache.get("k", &[]).unwrap(), Lookup::Shared));
    // The bound still refuses what it would refuse with a copy.
    let small = Options {
      max_memory_bytes: 64,
      ..unreachable_redis(0.0)
    };
    let cache: Cache<Vec<u8>> = Cache::with_clock(small, clock).unwrap();
    let err = cache
      .set("k".into(), vec![0; 1024], meta(&[], T0))
      .err()
      .unwrap();
    assert_eq!(err.code, ErrorCode::ValueTooLarge);
  }

  #[tokio::test]
  async fn a_failed_pull_answers_no_caller_as_if_it_had_pulled() {
    let (_, clock) = clock();
    let cache: Arc<Cache<Vec<u8>>> =
      Arc::new(Cache::with_clock(unreachable_redis(1000.0), clock).unwrap());
    // Three callers at once: the first pulls and fails; those waiting behind it must not
    // return Ok as if they had pulled: each pulls (here: fails) on its own.
    let calls = (0..3).map(|_| {
      let cache = cache.clone();
      tokio::spawn(async move { cache.refresh_tags().await })
    });
    let results = futures_util::future::join_all(calls).await;
    for result in results {
      assert_eq!(result.unwrap().unwrap_err().code, ErrorCode::Store);
    }
    assert_eq!(cache.stats().store_errors, 3);
    // The pull is owed again: the next call does not settle at once.
    assert!(cache.refresh_needed());
  }

  #[test]
  fn the_disk_tier_keeps_entries_and_tags_across_engines() {
    let dir = std::env::temp_dir().join(format!("tagcache-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = || Options {
      disk: Some(DiskConfig {
        dir: dir.clone(),
        max_bytes: 1 << 20,
      }),
      ..Options::default()
    };
    let (time, clock) = clock();
    let first: Cache<Vec<u8>> = Cache::with_clock(options(), clock).unwrap();
    assert_eq!(first.storage(), "disk");
    first.set("k".into(), vec![7], meta(&["t"], T0)).unwrap();
    first.flush();
    // The tag write is durable before its caller's promise settles: run it here.
    time.advance(1.0);
    let Some(write) = first.update_tags(&strings(&["t"]), None).unwrap() else {
      panic!("a disk engine writes tags through")
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
      .enable_all()
      .build()
      .unwrap();
    assert!(runtime.block_on(first.write_shared(write)).unwrap());
    // A second engine (another process, or a restart) loads the tag state before its first
    // read: the entry written before the revalidation is not fresh there either.
    let second: Cache<Vec<u8>> = Cache::with_clock(options(), clock).unwrap();
    assert!(matches!(second.get("k", &[]).unwrap(), Lookup::Shared));
    let found = runtime.block_on(second.get_shared("k", &[])).unwrap();
    assert!(found.is_none(), "expired by the tag written before");
    assert_eq!(second.stats().disk_reads, 1);
    first.close();
    second.close();
    first.join_disk();
    second.join_disk();
    let _ = std::fs::remove_dir_all(&dir);
  }
}
