//! Entries: `P:e:<key>`, each stamped with the epoch it was written under (see `tags.rs`),
//! read and written in one round trip; purges by prefix with `SCAN` + `UNLINK`.

use super::connect::Conn;
use super::tags::{stamp, EPOCH_MARK};
use super::{store_error, RedisStore};
use crate::error::Result;

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

impl RedisStore {
  pub(super) fn entry_key(&self, key: &str) -> String {
    format!("{}:e:{key}", self.prefix)
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
}
