//! The disk tier: entries and tag state in one SQLite database (`<dir>/tagcache.sqlite`, WAL
//! mode), through `rusqlite` with SQLite bundled. It sits behind the memory tier, survives
//! restarts, and is shared by every process that opens the same directory (several
//! `next start` on one machine, PM2 or cluster mode, a webhook worker), as Redis is shared by
//! instances.
//!
//! Why SQLite: several processes may read and write one database at once (WAL: readers never
//! wait for the writer), every commit is atomic (a `kill -9` mid-write leaves the last commit,
//! never a torn entry), and eviction and the tag log are indexed queries. LMDB (heed) needs a
//! fixed map size and forbids opening one environment twice in a process; redb allows one
//! process at a time.
//!
//! Layout:
//! - `entries(key, value, size, stored_at, expires_at)`: `codec`-encoded entries; `totals`
//!   keeps their count and bytes (maintained by triggers, so every process sees one sum);
//! - `tags(tag, stale, expired, seq)`: the tag manifest; `seq` orders the writes, so a process
//!   catches up with one indexed query for `seq > last seen` (the Redis log's job).
//!
//! Entry writes are write-behind: queued (at most `MAX_PENDING_BYTES`; past that a write is
//! dropped, the entry stays in memory) to one writer thread per store, which encodes them
//! (`codec`, zstd for large values) and commits them in batches, off the JS thread. Tag
//! writes have a connection of their own, on tokio's blocking pool, so a revalidation never
//! waits behind a backlog of entries (their order does not matter: tag times are compared
//! with entry timestamps); each is acknowledged only after its commit is synced
//! (`synchronous = FULL`), so a revalidation that resolved survives a crash. Reads use a
//! small pool of connections of their own.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use crate::codec;
use crate::entry::EntryMeta;
use crate::error::{Error, ErrorCode, Result};
use crate::tags::{TagField, TagWrite};

/// The database file inside the directory.
pub const FILE_NAME: &str = "tagcache.sqlite";
/// Schema version (`PRAGMA user_version`): a database of another version is recreated, so
/// an upgrade costs misses, never a crash.
const SCHEMA_VERSION: i64 = 2;
/// How long the writer waits for another process's write lock before failing.
const WRITER_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read waits when the database is locked (only while another process recovers
/// the WAL after a crash): reads may run on the JS thread, so they give up soon (a miss).
const READER_BUSY_TIMEOUT: Duration = Duration::from_millis(200);
/// Most jobs committed in one transaction.
const BATCH_JOBS: usize = 256;
/// Most entry bytes committed in one transaction.
const BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Most value bytes waiting for the writer; a write past it is dropped (and counted).
const MAX_PENDING_BYTES: usize = 64 * 1024 * 1024;
/// Rows one statement of a sweep or prefix delete removes: other processes' writers (and tag
/// writes) wait for at most one such chunk, never for a whole purge.
const DELETE_CHUNK: i64 = 500;
/// How often the writer drops expired entries while it is busy.
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// Eviction stops when the entries fit in this share of `max_bytes`, so it runs in bursts.
const EVICT_TO: f64 = 0.9;
/// Idle read connections kept open.
const POOL_SIZE: usize = 4;

/// Where the disk tier lives and how large it may grow.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskConfig {
  pub dir: PathBuf,
  /// Bound on the entries' bytes (key + encoded entry), not counting SQLite's own overhead.
  pub max_bytes: u64,
}

/// One entry write for the writer thread, which encodes it.
pub struct Put {
  pub key: String,
  pub meta: EntryMeta,
  /// The value's bytes (not yet encoded).
  pub value: Vec<u8>,
  /// Store only when no entry is stored under `key`.
  pub if_absent: bool,
}

type Ack<T> = tokio::sync::oneshot::Sender<Result<T>>;

enum Job {
  Put(Put),
  Delete {
    key: String,
    ack: Ack<bool>,
  },
  DeletePrefix {
    prefix: String,
    except: Option<String>,
    ack: Ack<u64>,
  },
  Flush(mpsc::Sender<()>),
}

/// The writer's queue, in order, bounded in pending value bytes.
#[derive(Default)]
struct Queue {
  state: Mutex<QueueState>,
  ready: Condvar,
}

#[derive(Default)]
struct QueueState {
  jobs: VecDeque<Job>,
  pending_bytes: usize,
  closed: bool,
}

impl Queue {
  fn push(&self, job: Job) -> Result<()> {
    let mut state = self.state.lock();
    if state.closed {
      return Err(store_error("write", "the store is closed"));
    }
    if let Job::Put(p) = &job {
      if state.pending_bytes + p.value.len() > MAX_PENDING_BYTES {
        return Err(store_error(
          "write",
          format!("{MAX_PENDING_BYTES} bytes wait for the disk already; kept in memory only"),
        ));
      }
      state.pending_bytes += p.value.len();
    }
    state.jobs.push_back(job);
    drop(state);
    self.ready.notify_one();
    Ok(())
  }

  fn close(&self) {
    self.state.lock().closed = true;
    self.ready.notify_all();
  }

  /// The writer is gone: refuse new jobs and drop queued ones, so their waiters see an error
  /// instead of waiting forever.
  fn abandon(&self) {
    let dropped = {
      let mut state = self.state.lock();
      state.closed = true;
      state.pending_bytes = 0;
      std::mem::take(&mut state.jobs)
    };
    drop(dropped);
  }

  /// Up to `BATCH_JOBS` / `BATCH_BYTES` of the queue; `None` once closed and drained.
  fn next_batch(&self) -> Option<Vec<Job>> {
    let mut state = self.state.lock();
    while state.jobs.is_empty() {
      if state.closed {
        return None;
      }
      self.ready.wait(&mut state);
    }
    let mut batch = Vec::new();
    let mut bytes = 0;
    while batch.len() < BATCH_JOBS && bytes < BATCH_BYTES {
      // A prefix delete runs alone, in chunks of its own, never inside a batch.
      let alone = matches!(state.jobs.front(), Some(Job::DeletePrefix { .. }));
      if alone && !batch.is_empty() {
        break;
      }
      let Some(job) = state.jobs.pop_front() else {
        break;
      };
      if let Job::Put(p) = &job {
        bytes += p.value.len();
      }
      batch.push(job);
      if alone {
        break;
      }
    }
    state.pending_bytes -= bytes;
    Some(batch)
  }
}

/// Tag writes found in the database, and the position they bring a reader to.
pub struct TagPull {
  /// The fields of each changed row (a row carries the tag's whole state).
  pub writes: Vec<TagWrite>,
  pub seq: u64,
}

/// Count and bytes of the stored entries, as every process sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskTotals {
  pub entries: u64,
  pub bytes: u64,
}

/// The disk tier of one engine. Dropping it flushes queued writes and stops the writer.
pub struct DiskStore {
  path: PathBuf,
  max_bytes: u64,
  queue: Arc<Queue>,
  writer: Mutex<Option<JoinHandle<()>>>,
  /// Tag writes' own connection (`synchronous = FULL`), used on tokio's blocking pool.
  tag_writer: Arc<Mutex<Connection>>,
  readers: Mutex<Vec<Connection>>,
  /// Writes that failed on the writer thread (their entries are simply not on disk).
  errors: Arc<AtomicU64>,
}

fn store_error(what: &str, err: impl std::fmt::Display) -> Error {
  Error::new(ErrorCode::Store, format!("disk cache: {what}: {err}"))
}

fn now_ms() -> f64 {
  std::time::SystemTime::now()
    .duration_since(std::time::UNIX_EPOCH)
    .map(|d| d.as_secs_f64() * 1000.0)
    .unwrap_or(0.0)
}

fn open_connection(path: &Path, busy_timeout: Duration) -> rusqlite::Result<Connection> {
  let conn = Connection::open_with_flags(
    path,
    OpenFlags::SQLITE_OPEN_READ_WRITE
      | OpenFlags::SQLITE_OPEN_CREATE
      | OpenFlags::SQLITE_OPEN_NO_MUTEX,
  )?;
  conn.busy_timeout(busy_timeout)?;
  // WAL survives a crash of any process; NORMAL syncs at checkpoints (a commit is on disk
  // once written, in the OS's hands); tag commits raise it to FULL for themselves.
  conn.pragma_update(None, "journal_mode", "WAL")?;
  // SQLite never shrinks the write-ahead log by itself: past a checkpoint it is cut back to
  // this, so the files stay near `maxDiskBytes` under a flood of writes.
  conn.pragma_update(None, "journal_size_limit", 32 * 1024 * 1024)?;
  conn.pragma_update(None, "synchronous", "NORMAL")?;
  Ok(conn)
}

/// Creates the schema, or recreates it when the file holds another version.
fn prepare_schema(conn: &mut Connection) -> rusqlite::Result<()> {
  // The usual case, a current schema, takes no write lock (siblings may be writing).
  let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
  if current == SCHEMA_VERSION {
    return Ok(());
  }
  let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
  let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
  if version != SCHEMA_VERSION {
    if version != 0 {
      tx.execute_batch(
        "DROP TABLE IF EXISTS entries; DROP TABLE IF EXISTS tags; DROP TABLE IF EXISTS totals;",
      )?;
    }
    tx.execute_batch(
      "CREATE TABLE IF NOT EXISTS entries (
         key TEXT PRIMARY KEY NOT NULL,
         value BLOB NOT NULL,
         size INTEGER NOT NULL,
         stored_at REAL NOT NULL,
         expires_at REAL NOT NULL);
       CREATE INDEX IF NOT EXISTS entries_by_stored_at ON entries(stored_at);
       CREATE INDEX IF NOT EXISTS entries_by_expires_at ON entries(expires_at);
       CREATE TABLE IF NOT EXISTS tags (
         tag TEXT PRIMARY KEY NOT NULL,
         stale REAL,
         stale_at REAL,
         expired REAL,
         expired_at REAL,
         seq INTEGER NOT NULL);
       CREATE INDEX IF NOT EXISTS tags_by_seq ON tags(seq);
       CREATE TABLE IF NOT EXISTS totals (
         id INTEGER PRIMARY KEY CHECK (id = 0),
         entries INTEGER NOT NULL,
         bytes INTEGER NOT NULL);
       INSERT OR IGNORE INTO totals VALUES (0, 0, 0);
       CREATE TRIGGER IF NOT EXISTS entries_inserted AFTER INSERT ON entries BEGIN
         UPDATE totals SET entries = entries + 1, bytes = bytes + new.size WHERE id = 0; END;
       CREATE TRIGGER IF NOT EXISTS entries_deleted AFTER DELETE ON entries BEGIN
         UPDATE totals SET entries = entries - 1, bytes = bytes - old.size WHERE id = 0; END;
       CREATE TRIGGER IF NOT EXISTS entries_updated AFTER UPDATE ON entries BEGIN
         UPDATE totals SET bytes = bytes - old.size + new.size WHERE id = 0; END;",
    )?;
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
  }
  tx.commit()
}

impl DiskStore {
  /// Opens (creating if needed) the database in `config.dir` and starts its writer thread.
  /// Errors: `ERR_STORE` when the directory cannot be created or the database cannot be
  /// opened for writing (a read-only image); the caller then runs in memory.
  pub fn open(config: &DiskConfig) -> Result<Self> {
    std::fs::create_dir_all(&config.dir)
      .map_err(|e| store_error(&format!("cannot create {}", config.dir.display()), e))?;
    let path = config.dir.join(FILE_NAME);
    let mut writer = open_connection(&path, WRITER_BUSY_TIMEOUT)
      .map_err(|e| store_error(&format!("cannot open {}", path.display()), e))?;
    prepare_schema(&mut writer)
      .map_err(|e| store_error(&format!("cannot write {}", path.display()), e))?;
    let tag_writer = open_connection(&path, WRITER_BUSY_TIMEOUT)
      .and_then(|conn| {
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(conn)
      })
      .map_err(|e| store_error(&format!("cannot open {}", path.display()), e))?;
    let reader = open_connection(&path, READER_BUSY_TIMEOUT)
      .map_err(|e| store_error("cannot open a reader", e))?;
    let queue = Arc::new(Queue::default());
    let thread_queue = queue.clone();
    let errors = Arc::new(AtomicU64::new(0));
    let thread_errors = errors.clone();
    let max_bytes = config.max_bytes;
    let handle = std::thread::Builder::new()
      .name("tagcache-disk".into())
      .spawn(move || {
        let writer = Writer::new(writer, max_bytes, thread_errors.clone());
        let run =
          std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| writer.run(&thread_queue)));
        if run.is_err() {
          thread_errors.fetch_add(1, Relaxed);
        }
        thread_queue.abandon();
      })
      .map_err(|e| store_error("cannot start the writer thread", e))?;
    Ok(DiskStore {
      path,
      max_bytes,
      queue,
      writer: Mutex::new(Some(handle)),
      tag_writer: Arc::new(Mutex::new(tag_writer)),
      readers: Mutex::new(vec![reader]),
      errors,
    })
  }

  /// The database file.
  pub fn path(&self) -> &Path {
    &self.path
  }

  /// Writes that failed on the writer thread since the store was opened.
  pub fn write_errors(&self) -> u64 {
    self.errors.load(Relaxed)
  }

  fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
    let conn = self.readers.lock().pop();
    let conn = match conn {
      Some(c) => c,
      None => open_connection(&self.path, READER_BUSY_TIMEOUT)
        .map_err(|e| store_error("cannot open a reader", e))?,
    };
    let result = f(&conn);
    let mut pool = self.readers.lock();
    if pool.len() < POOL_SIZE {
      pool.push(conn);
    }
    result.map_err(|e| store_error("read", e))
  }

  fn send(&self, job: Job) -> Result<()> {
    self.queue.push(job)
  }

  /// The encoded entry under `key` unless it has expired. One indexed read.
  pub fn get(&self, key: &str, now: f64) -> Result<Option<Vec<u8>>> {
    self.with_reader(|conn| {
      conn
        .prepare_cached("SELECT value FROM entries WHERE key = ?1 AND expires_at > ?2")?
        .query_row(params![key, now], |row| row.get(0))
        .optional()
    })
  }

  /// Queues an entry write (write-behind: it reaches the disk shortly, off this thread).
  /// Errors: `ERR_STORE` when the queue is full or the entry alone exceeds `max_bytes`.
  pub fn put(&self, put: Put) -> Result<()> {
    if (put.key.len() + put.value.len()) as u64 > self.max_bytes {
      return Err(store_error(
        "write",
        format!("the entry is larger than maxDiskBytes ({})", self.max_bytes),
      ));
    }
    self.send(Job::Put(put))
  }

  /// Removes one entry, after every write queued before it; resolves once committed, to
  /// whether there was one.
  pub async fn delete(&self, key: &str) -> Result<bool> {
    let (ack, done) = tokio::sync::oneshot::channel();
    self.send(Job::Delete {
      key: key.to_string(),
      ack,
    })?;
    done
      .await
      .map_err(|_| store_error("delete", "the writer thread stopped"))?
  }

  /// Removes the entries whose key starts with `prefix` and not with `except`, after every
  /// write queued before it. Resolves to how many were removed.
  pub async fn delete_prefix(&self, prefix: &str, except: Option<&str>) -> Result<u64> {
    let (ack, done) = tokio::sync::oneshot::channel();
    self.send(Job::DeletePrefix {
      prefix: prefix.to_string(),
      except: except.map(str::to_string),
      ack,
    })?;
    done
      .await
      .map_err(|_| store_error("delete", "the writer thread stopped"))?
  }

  /// Writes tag fields (each only over an older one, `TagWrite::wins_over`); resolves once
  /// they are committed and synced to disk. Runs on tokio's blocking pool, beside the entry
  /// writer.
  pub async fn write_tags(&self, writes: Vec<TagWrite>) -> Result<()> {
    if writes.is_empty() {
      return Ok(());
    }
    let conn = self.tag_writer.clone();
    tokio::task::spawn_blocking(move || {
      let mut conn = conn.lock();
      let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
      let last = tx.query_row("SELECT coalesce(max(seq), 0) FROM tags", [], |r| r.get(0))?;
      write_tags(&tx, &writes, last)?;
      tx.commit()
    })
    .await
    .map_err(|e| store_error("revalidate tags", e))?
    .map_err(|e| store_error("revalidate tags", e))
  }

  /// Tag rows written after `after` (every row for 0), with the position they reach.
  /// One indexed query: cheap enough for the start of every request.
  pub fn pull_tags(&self, after: u64) -> Result<TagPull> {
    self.with_reader(|conn| {
      let mut statement = conn.prepare_cached(
        "SELECT tag, stale, stale_at, expired, expired_at, seq FROM tags WHERE seq > ?1",
      )?;
      let mut rows = statement.query(params![after as i64])?;
      let mut pull = TagPull {
        writes: Vec::new(),
        seq: after,
      };
      while let Some(row) = rows.next()? {
        let tag: String = row.get(0)?;
        let seq = row.get::<_, i64>(5)? as u64;
        for (field, column) in [(TagField::Stale, 1), (TagField::Expired, 3)] {
          if let Some(time) = row.get::<_, Option<f64>>(column)? {
            let at = row.get::<_, Option<f64>>(column + 1)?.unwrap_or(0.0);
            pull.writes.push(TagWrite::made_at(&tag, field, time, at));
          }
        }
        pull.seq = pull.seq.max(seq);
      }
      Ok(pull)
    })
  }

  /// Count and bytes of the entries on disk (all processes' writes).
  pub fn totals(&self) -> Result<DiskTotals> {
    self.with_reader(|conn| {
      conn
        .prepare_cached("SELECT entries, bytes FROM totals WHERE id = 0")?
        .query_row([], |row| {
          Ok(DiskTotals {
            entries: row.get::<_, i64>(0)?.max(0) as u64,
            bytes: row.get::<_, i64>(1)?.max(0) as u64,
          })
        })
    })
  }

  /// Waits until every write queued before this call is committed.
  pub fn flush(&self) {
    let (done, wait) = mpsc::channel();
    if self.send(Job::Flush(done)).is_ok() {
      let _ = wait.recv();
    }
  }

  /// Stops taking writes; the writer commits what is queued and ends by itself. Later
  /// writes fail with `ERR_STORE`. Does not wait: see `join`.
  pub fn close(&self) {
    self.queue.close();
    self.readers.lock().clear();
  }

  /// `close`, then waits for the writer to have committed everything (a blocking wait: run
  /// it off the JS thread).
  pub fn join(&self) {
    self.close();
    let handle = self.writer.lock().take();
    if let Some(handle) = handle {
      let _ = handle.join();
    }
  }
}

impl Drop for DiskStore {
  /// Never waits (a drop may run on the JS thread, in a finalizer): the writer finishes the
  /// queue on its own.
  fn drop(&mut self) {
    self.close();
  }
}

/// The writer thread's state.
struct Writer {
  conn: Connection,
  max_bytes: u64,
  errors: Arc<AtomicU64>,
  swept_at: Option<Instant>,
}

/// What one batch has to answer once it is committed.
enum Reply {
  Delete(Ack<bool>, bool),
  Flush(mpsc::Sender<()>),
}

impl Writer {
  fn new(conn: Connection, max_bytes: u64, errors: Arc<AtomicU64>) -> Self {
    Writer {
      conn,
      max_bytes,
      errors,
      swept_at: None,
    }
  }

  fn run(mut self, queue: &Queue) {
    self.maintain();
    while let Some(batch) = queue.next_batch() {
      let flushed = self.commit(batch);
      self.maintain();
      // After maintenance, so a flushed store is also within its bound.
      for done in flushed {
        let _ = done.send(());
      }
    }
  }

  /// Commits a batch in one transaction and answers its waiters, except flushes: returned.
  /// A prefix delete comes alone and runs in chunks.
  fn commit(&mut self, mut batch: Vec<Job>) -> Vec<mpsc::Sender<()>> {
    if let [Job::DeletePrefix { .. }] = batch.as_slice() {
      if let Some(Job::DeletePrefix {
        prefix,
        except,
        ack,
      }) = batch.pop()
      {
        let removed = delete_prefix(&self.conn, &prefix, except.as_deref());
        if removed.is_err() {
          self.errors.fetch_add(1, Relaxed);
        }
        let _ = ack.send(removed.map_err(|e| store_error("delete", e)));
      }
      return Vec::new();
    }
    // Encoded before the transaction: other processes' writers wait only for the inserts.
    let batch: Vec<(Job, Option<Vec<u8>>)> = batch
      .into_iter()
      .map(|job| match &job {
        Job::Put(p) => {
          let encoded = codec::encode(&p.meta, &p.value);
          (job, Some(encoded))
        }
        _ => (job, None),
      })
      .collect();
    let mut replies = Vec::new();
    let result = (|| -> rusqlite::Result<()> {
      let tx = self
        .conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
      for (job, encoded) in batch {
        match job {
          Job::Put(p) => write_entry(&tx, &p, &encoded.unwrap_or_default())?,
          Job::Delete { key, ack } => {
            let n = tx
              .prepare_cached("DELETE FROM entries WHERE key = ?1")?
              .execute(params![key])?;
            replies.push(Reply::Delete(ack, n > 0));
          }
          // Never in a batch (the queue hands it over alone); dropped unanswered otherwise.
          Job::DeletePrefix { .. } => {}
          Job::Flush(done) => replies.push(Reply::Flush(done)),
        }
      }
      tx.commit()
    })();
    if result.is_err() {
      self.errors.fetch_add(1, Relaxed);
    }
    let mut flushed = Vec::new();
    for reply in replies {
      match reply {
        Reply::Delete(ack, existed) => {
          let _ = ack.send(match &result {
            Ok(()) => Ok(existed),
            Err(e) => Err(store_error("delete", e)),
          });
        }
        Reply::Flush(done) => flushed.push(done),
      }
    }
    flushed
  }

  /// Keeps the entries within `max_bytes` (expired ones first, then the oldest written) and
  /// drops expired entries once a `SWEEP_EVERY`. Failures only count: the next write retries.
  fn maintain(&mut self) {
    let now = now_ms();
    let due = self.swept_at.is_none_or(|at| at.elapsed() >= SWEEP_EVERY);
    let result = (|| -> rusqlite::Result<()> {
      if due {
        self.swept_at = Some(Instant::now());
        sweep_expired(&self.conn, now)?;
      }
      let bytes = |conn: &Connection| -> rusqlite::Result<u64> {
        conn.query_row("SELECT bytes FROM totals WHERE id = 0", [], |r| {
          Ok(r.get::<_, i64>(0)?.max(0) as u64)
        })
      };
      if bytes(&self.conn)? <= self.max_bytes {
        return Ok(());
      }
      if !due {
        sweep_expired(&self.conn, now)?;
      }
      let target = (self.max_bytes as f64 * EVICT_TO) as u64;
      loop {
        let total = bytes(&self.conn)?;
        if total <= target {
          break;
        }
        // The oldest written entries, just enough of them to fit again.
        let mut excess = total - target;
        let mut victims = Vec::new();
        {
          let mut oldest = self.conn.prepare_cached(
            "SELECT rowid, stored_at, size FROM entries ORDER BY stored_at LIMIT 1000",
          )?;
          let mut rows = oldest.query([])?;
          while let Some(row) = rows.next()? {
            victims.push((row.get::<_, i64>(0)?, row.get::<_, f64>(1)?));
            let size = row.get::<_, i64>(2)?.max(0) as u64;
            if size >= excess {
              break;
            }
            excess -= size;
          }
        }
        if victims.is_empty() {
          break;
        }
        let tx = self.conn.transaction()?;
        // Only if unchanged: another process may have rewritten the row since.
        for (rowid, stored_at) in victims {
          tx.prepare_cached("DELETE FROM entries WHERE rowid = ?1 AND stored_at = ?2")?
            .execute(params![rowid, stored_at])?;
        }
        tx.commit()?;
      }
      Ok(())
    })();
    if result.is_err() {
      self.errors.fetch_add(1, Relaxed);
    }
  }
}

fn write_entry(tx: &rusqlite::Transaction, put: &Put, bytes: &[u8]) -> rusqlite::Result<()> {
  let size = (put.key.len() + bytes.len()) as i64;
  let sql = if put.if_absent {
    // An expired row not yet swept counts as absent, as `get` sees it.
    "INSERT INTO entries (key, value, size, stored_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size,
       stored_at = excluded.stored_at, expires_at = excluded.expires_at
     WHERE entries.expires_at <= excluded.stored_at"
  } else {
    "INSERT INTO entries (key, value, size, stored_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value, size = excluded.size,
       stored_at = excluded.stored_at, expires_at = excluded.expires_at"
  };
  tx.prepare_cached(sql)?.execute(params![
    put.key,
    bytes,
    size,
    now_ms(),
    put.meta.expires_at()
  ])?;
  Ok(())
}

/// Writes tag fields after position `seq`; returns the last position written.
fn write_tags(
  tx: &rusqlite::Transaction,
  writes: &[TagWrite],
  mut seq: i64,
) -> rusqlite::Result<i64> {
  // Only over an older field (`TagWrite::wins_over`): a process whose write was delayed
  // never undoes a newer one another process committed first.
  let mut stale = tx.prepare_cached(
    "INSERT INTO tags (tag, stale, stale_at, seq) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(tag) DO UPDATE SET
       stale = excluded.stale, stale_at = excluded.stale_at, seq = excluded.seq
     WHERE tags.stale IS NULL OR excluded.stale_at > coalesce(tags.stale_at, 0)
       OR (excluded.stale_at = coalesce(tags.stale_at, 0) AND excluded.stale >= tags.stale)",
  )?;
  let mut expired = tx.prepare_cached(
    "INSERT INTO tags (tag, expired, expired_at, seq) VALUES (?1, ?2, ?3, ?4)
     ON CONFLICT(tag) DO UPDATE SET
       expired = excluded.expired, expired_at = excluded.expired_at, seq = excluded.seq
     WHERE tags.expired IS NULL OR excluded.expired_at > coalesce(tags.expired_at, 0)
       OR (excluded.expired_at = coalesce(tags.expired_at, 0) AND excluded.expired <= tags.expired)",
  )?;
  for w in writes {
    seq += 1;
    match w.field {
      TagField::Stale => stale.execute(params![w.tag, w.time, w.at, seq])?,
      TagField::Expired => expired.execute(params![w.tag, w.time, w.at, seq])?,
    };
  }
  Ok(seq)
}

/// Deletes expired entries, `DELETE_CHUNK` rows per statement (each its own commit).
fn sweep_expired(conn: &Connection, now: f64) -> rusqlite::Result<()> {
  let mut sweep = conn.prepare_cached(
    "DELETE FROM entries WHERE rowid IN
       (SELECT rowid FROM entries WHERE expires_at <= ?1 LIMIT ?2)",
  )?;
  while sweep.execute(params![now, DELETE_CHUNK])? as i64 == DELETE_CHUNK {}
  Ok(())
}

/// Deletes keys in `[prefix, prefix⁺)` outside `[except, except⁺)`: index range scans, no
/// `LIKE` (whose wildcards and case folding would need escaping), `DELETE_CHUNK` rows per
/// statement, each its own commit.
fn delete_prefix(conn: &Connection, prefix: &str, except: Option<&str>) -> rusqlite::Result<u64> {
  // Every key under `prefix` also starts with such an `except`: nothing to delete.
  if except.is_some_and(|e| prefix.starts_with(e)) {
    return Ok(0);
  }
  let in_range = |p: &str| -> (String, Option<String>) { (p.to_string(), prefix_end(p)) };
  let (lo, hi) = in_range(prefix);
  let mut removed = 0u64;
  let mut delete = |from: &str, to: Option<&str>| -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(
      "DELETE FROM entries WHERE rowid IN
         (SELECT rowid FROM entries WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) LIMIT ?3)",
    )?;
    loop {
      let n = statement.execute(params![from, to, DELETE_CHUNK])?;
      removed += n as u64;
      if (n as i64) < DELETE_CHUNK {
        return Ok(());
      }
    }
  };
  match except.filter(|e| e.starts_with(prefix)) {
    None => delete(&lo, hi.as_deref())?,
    Some(except) => {
      let (keep_lo, keep_hi) = in_range(except);
      delete(&lo, Some(&keep_lo))?;
      if let Some(keep_hi) = keep_hi {
        // Everything in the prefix past the kept range.
        match hi.as_deref() {
          Some(hi) if keep_hi.as_str() >= hi => {}
          _ => delete(&keep_hi, hi.as_deref())?,
        }
      }
    }
  }
  Ok(removed)
}

/// The smallest string greater than every string starting with `prefix`, or `None` when
/// there is none (empty, or only `char::MAX`s).
fn prefix_end(prefix: &str) -> Option<String> {
  let mut chars: Vec<char> = prefix.chars().collect();
  while let Some(last) = chars.pop() {
    let mut next = last as u32 + 1;
    // Skip the surrogate range, which `char` cannot hold.
    if (0xD800..=0xDFFF).contains(&next) {
      next = 0xE000;
    }
    if let Some(c) = char::from_u32(next) {
      chars.push(c);
      return Some(chars.into_iter().collect());
    }
  }
  None
}

#[cfg(test)]
mod tests {
  use super::*;

  fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
      "tagcache-disk-{name}-{}-{}",
      std::process::id(),
      now_ms() as u64
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
  }

  fn open(dir: &Path) -> DiskStore {
    DiskStore::open(&DiskConfig {
      dir: dir.to_path_buf(),
      max_bytes: 1 << 30,
    })
    .unwrap()
  }

  fn put(key: &str, bytes: &[u8], if_absent: bool) -> Put {
    Put {
      key: key.into(),
      meta: EntryMeta {
        tags: Default::default(),
        stale: 0.0,
        revalidate: 60.0,
        expire: 60.0,
        timestamp: now_ms(),
      },
      value: bytes.to_vec(),
      if_absent,
    }
  }

  fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
      .build()
      .unwrap()
      .block_on(f)
  }

  #[test]
  fn entries_survive_a_reopen_and_if_absent_keeps_the_first() {
    let dir = temp_dir("reopen");
    let store = open(&dir);
    store.put(put("a", b"one", false)).unwrap();
    store.put(put("a", b"two", true)).unwrap();
    store.put(put("b", b"x", false)).unwrap();
    block_on(store.delete("b")).unwrap();
    store.join();
    let store = open(&dir);
    let bytes = store.get("a", now_ms()).unwrap().unwrap();
    assert_eq!(&*codec::decode(&bytes).unwrap().1, b"one");
    assert_eq!(store.get("b", now_ms()).unwrap(), None);
    let totals = store.totals().unwrap();
    assert_eq!(totals.entries, 1);
    assert_eq!(totals.bytes, 1 + bytes.len() as u64);
    // Past its expiry an entry is not read.
    assert_eq!(store.get("a", now_ms() + 120_000.0).unwrap(), None);
  }

  #[test]
  fn tags_are_pulled_in_order_by_another_connection() {
    let dir = temp_dir("tags");
    let a = open(&dir);
    let b = open(&dir);
    let start = b.pull_tags(0).unwrap();
    assert!(start.writes.is_empty());
    block_on(a.write_tags(vec![
      TagWrite::new("posts", TagField::Stale, 10.0),
      TagWrite::new("posts", TagField::Expired, 20.0),
    ]))
    .unwrap();
    let pulled = b.pull_tags(start.seq).unwrap();
    assert_eq!(pulled.writes.len(), 2);
    assert_eq!(pulled.seq, 2);
    // An older write (made at 5, before the 20 stored) changes nothing…
    block_on(a.write_tags(vec![TagWrite::new("posts", TagField::Expired, 5.0)])).unwrap();
    assert!(b.pull_tags(pulled.seq).unwrap().writes.is_empty());
    // …a newer one replaces the field; the row's whole state comes with it.
    let newer = TagWrite::made_at("posts", TagField::Expired, 25.0, 30.0);
    block_on(a.write_tags(vec![newer.clone()])).unwrap();
    let later = b.pull_tags(pulled.seq).unwrap();
    assert_eq!(
      later.writes,
      vec![TagWrite::new("posts", TagField::Stale, 10.0), newer]
    );
    assert!(b.pull_tags(later.seq).unwrap().writes.is_empty());
  }

  #[test]
  fn evicts_the_oldest_past_max_bytes() {
    let dir = temp_dir("evict");
    let store = DiskStore::open(&DiskConfig {
      dir: dir.clone(),
      max_bytes: 10_000,
    })
    .unwrap();
    for i in 0..40 {
      store
        .put(put(&format!("k{i:02}"), &[0u8; 997], false))
        .unwrap();
      store.flush();
    }
    let totals = store.totals().unwrap();
    assert!(totals.bytes <= 10_000, "{totals:?}");
    assert!(store.get("k39", now_ms()).unwrap().is_some());
    assert!(store.get("k00", now_ms()).unwrap().is_none());
  }

  #[test]
  fn delete_prefix_keeps_the_exception() {
    let dir = temp_dir("prefix");
    let store = open(&dir);
    for key in [
      "page:old:/a",
      "page:old:/b",
      "page:new:/a",
      "fetch:x",
      "page;",
    ] {
      store.put(put(key, b"v", false)).unwrap();
    }
    let removed = block_on(store.delete_prefix("page:", Some("page:new:"))).unwrap();
    assert_eq!(removed, 2);
    for (key, kept) in [
      ("page:old:/a", false),
      ("page:new:/a", true),
      ("fetch:x", true),
      ("page;", true),
    ] {
      assert_eq!(store.get(key, now_ms()).unwrap().is_some(), kept, "{key}");
    }
    // An `except` that every key under the prefix starts with keeps them all.
    assert_eq!(
      block_on(store.delete_prefix("page:new:", Some("page:"))).unwrap(),
      0
    );
    assert_eq!(block_on(store.delete_prefix("", None)).unwrap(), 3);
  }

  #[test]
  fn another_schema_version_is_recreated_not_an_error() {
    let dir = temp_dir("version");
    let store = open(&dir);
    store.put(put("a", b"v", false)).unwrap();
    store.join();
    let conn = Connection::open(dir.join(FILE_NAME)).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let store = open(&dir);
    assert_eq!(store.get("a", now_ms()).unwrap(), None);
  }

  #[test]
  fn an_unwritable_directory_is_an_error() {
    let err = DiskStore::open(&DiskConfig {
      dir: PathBuf::from("/proc/tagcache-cannot-be-here"),
      max_bytes: 1 << 20,
    })
    .err()
    .unwrap();
    assert_eq!(err.code, ErrorCode::Store);
  }

  #[test]
  fn prefix_end_is_the_next_string() {
    assert_eq!(prefix_end("page:").as_deref(), Some("page;"));
    assert_eq!(prefix_end(""), None);
  }
}
