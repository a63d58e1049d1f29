//! The tag state on Redis: the hash `{P}:tags` (fields `s:<tag>` / `x:<tag>`, and `epoch`),
//! the log `{P}:tags:log` of the same field writes, and the epoch that stamps every entry.
//! `pull_tags` hands the engine what changed since its last pull, keeping the log position
//! here: work in proportion to new revalidations, the whole hash the first time, after
//! falling behind the log, or when the tag state was replaced.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::Arc;

use parking_lot::Mutex;
use redis::Pipeline;

use super::watch::Watch;
use super::{now_ms, RedisStore};
use crate::error::Result;
use crate::log;
use crate::tags::TagWrite;

/// Stream entries kept for catching up; an instance further behind reloads the whole hash.
pub(super) const LOG_MAX_LEN: usize = 100_000;

/// A stream position, `ms-seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(super) struct LogId(pub u64, pub u64);

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
pub(super) const EPOCH_MARK: u8 = b'E';

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
enum LogRead {
  /// New field writes since the given id, in order, and the id to continue from.
  Fields(Vec<TagWrite>, LogId),
  /// The log was trimmed past the given id, or the tag state was lost or replaced (a new
  /// epoch): reload the whole hash.
  Gap,
}

/// What `pull_tags` found.
pub enum TagPull {
  /// Field writes since the last pull, in order: apply them over the known state.
  Changes(Vec<TagWrite>),
  /// Every field of the hash (the first pull, or the log no longer reaches back to the last
  /// one). `replaced`: the tag state is not the one pulled before (lost, or restored from a
  /// snapshot): every entry judged by the old one is gone, so start over from `writes`.
  Whole {
    writes: Vec<TagWrite>,
    replaced: bool,
  },
}

/// Where the last pull left off.
#[derive(Default)]
pub(super) struct PullState {
  /// `None`: the whole hash must be (re)loaded.
  position: Option<LogId>,
  /// `epoch_changes` at the last whole load.
  epoch_changes: u64,
}

/// The pull state and a lock-free "has a position" for `pull_due`.
#[derive(Default)]
pub(super) struct Pulls {
  state: tokio::sync::Mutex<PullState>,
  positioned: AtomicBool,
}

impl RedisStore {
  /// Whether a tag pull is owed now: never pulled (or must reload), or `tags_changed`.
  pub fn pull_due(&self) -> bool {
    self.tags_changed() || !self.pulls.positioned.load(SeqCst)
  }

  /// The tag changes since the last pull (see `TagPull`): one round trip, two when the log
  /// no longer reaches back (then the whole hash is read). Pulls run one at a time.
  /// Errors: `ERR_STORE` (the position stays where it was).
  pub async fn pull_tags(&self) -> Result<TagPull> {
    let mut state = self.pulls.state.lock().await;
    if let Some(after) = state.position {
      match self.read_log(after).await? {
        LogRead::Fields(writes, last) => {
          state.position = Some(last);
          return Ok(TagPull::Changes(writes));
        }
        LogRead::Gap => {
          state.position = None;
          self.pulls.positioned.store(false, SeqCst);
        }
      }
    }
    let (writes, last) = self.load_tags().await?;
    let changes = self.epoch_changes();
    let replaced = changes != state.epoch_changes;
    state.epoch_changes = changes;
    state.position = Some(last);
    self.pulls.positioned.store(true, SeqCst);
    Ok(TagPull::Whole { writes, replaced })
  }

  /// The header that stamps an entry with the current epoch (`E`, length, epoch), or
  /// nothing while the epoch is not known yet (`set` then stamps it itself).
  pub fn entry_header(&self) -> Vec<u8> {
    self.epoch.lock().as_deref().map_or_else(Vec::new, stamp)
  }

  /// The current epoch: known, or read (and made, when the hash has none) now.
  pub(super) async fn current_epoch(&self) -> Result<Arc<str>> {
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
  pub(super) async fn make_epoch(&self, renew: bool) -> Result<String> {
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

  pub(super) fn adopt_epoch(&self, epoch: String) -> Arc<str> {
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
    Watch::written(&self.watch);
    Ok(())
  }

  /// Every tag field, and a log position it reflects (the epoch is adopted; made when the
  /// hash has none). One round trip, two when an epoch must be made.
  async fn load_tags(&self) -> Result<(Vec<TagWrite>, LogId)> {
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
  async fn read_log(&self, after: LogId) -> Result<LogRead> {
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
  pub(super) async fn check_policy(&self) {
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
      log::warn(&format!("Redis at {} evicts with maxmemory-policy {policy}: it may evict the tag state, after which every entry written before is a miss. Use noeviction or a volatile-* policy (entries have TTLs, the tag state has none).",
        self.location
      ));
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
pub(super) fn fit_epoch(mut epoch: String) -> String {
  let mut end = epoch.len().min(255);
  while !epoch.is_char_boundary(end) {
    end -= 1;
  }
  epoch.truncate(end);
  epoch
}

/// The entry header for `epoch`.
pub(super) fn stamp(epoch: &str) -> Vec<u8> {
  let epoch = epoch.as_bytes();
  let mut header = Vec::with_capacity(2 + epoch.len());
  header.push(EPOCH_MARK);
  header.push(epoch.len() as u8);
  header.extend_from_slice(epoch);
  header
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn log_ids_order_and_parse() {
    assert!(parse_id("5-1").unwrap() < parse_id("5-2").unwrap());
    assert!(parse_id("5-9").unwrap() < parse_id("6-0").unwrap());
    assert_eq!(parse_id("x"), None);
    assert_eq!(render_id(LogId(7, 3)), "7-3");
  }
}
