//! The in-process store: entries bounded in bytes, least recently used evicted first
//! (the `lru` crate keeps the order; we keep the byte count).

use std::sync::atomic::AtomicU32;
use std::sync::Arc;

use lru::LruCache;
use parking_lot::Mutex;

use crate::entry::EntryMeta;
use crate::error::{Error, ErrorCode, Result};

/// Bytes charged per entry on top of key, value and tags: the four timings, the LRU node and
/// the map slot. An estimate, so that many tiny entries still count.
pub const ENTRY_OVERHEAD: usize = 96;

/// A stored value. The binding stores a copy of the bytes `set` was given (`JsBuffer`);
/// tests store `Vec<u8>`. Values read back from a shared store are built from their bytes.
pub trait Payload: Send + Sync + 'static {
  fn byte_len(&self) -> usize;
  /// Calls `f` with the bytes (to encode them for a shared store).
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R;
  /// A value over bytes read from a shared store.
  fn from_bytes(bytes: Vec<u8>) -> Self;
  /// A value over `bytes[start..]` (an envelope's tail): by default moved to the front.
  fn from_tail(mut bytes: Vec<u8>, start: usize) -> Self
  where
    Self: Sized,
  {
    bytes.drain(..start);
    Self::from_bytes(bytes)
  }
}

impl Payload for Vec<u8> {
  fn byte_len(&self) -> usize {
    self.len()
  }

  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
    f(self)
  }

  fn from_bytes(bytes: Vec<u8>) -> Self {
    bytes
  }
}

/// One entry as stored: shared, so a hit hands out a pointer, never a copy.
#[derive(Debug)]
pub struct Stored<V> {
  pub meta: EntryMeta,
  pub value: V,
  /// What this entry is charged against the byte bound.
  pub size: u32,
  /// When it was stored here (ms): how old a copy of a shared-store entry is.
  pub stored_at: f64,
  /// The Redis tracking generation this copy is coherent for (0: bounded by `localTtlMs`);
  /// set once, after the copy entered the store (`RedisStore::mark_tracked`).
  pub tracked: AtomicU32,
}

/// The bytes an entry is charged: key + value + tags + `ENTRY_OVERHEAD`.
pub fn entry_size(key: &str, meta: &EntryMeta, value_len: usize) -> usize {
  key.len() + value_len + meta.tags.text_len() + ENTRY_OVERHEAD
}

struct Inner<V> {
  /// Keys as `Box<str>`: 8 B less per LRU node than `String`, a smaller allocation class.
  lru: LruCache<Box<str>, Arc<Stored<V>>>,
  bytes: usize,
}

/// Entries bounded by `max_bytes`, least recently used evicted first.
pub struct MemoryStore<V> {
  inner: Mutex<Inner<V>>,
  max_bytes: usize,
}

impl<V: Payload> MemoryStore<V> {
  pub fn new(max_bytes: usize) -> Self {
    MemoryStore {
      inner: Mutex::new(Inner {
        lru: LruCache::unbounded(),
        bytes: 0,
      }),
      max_bytes,
    }
  }

  /// The entry, marked most recently used.
  pub fn get(&self, key: &str) -> Option<Arc<Stored<V>>> {
    self.inner.lock().lru.get(key).cloned()
  }

  /// Stores an entry, replacing any entry of the same key, then evicts least recently used
  /// entries until the store fits. Returns how many were evicted.
  /// Errors: `ERR_VALUE_TOO_LARGE` when the entry alone exceeds the bound; the key's older
  /// entry is removed then too, since the caller meant to replace it.
  pub fn insert(&self, key: String, meta: EntryMeta, value: V) -> Result<usize> {
    self
      .insert_at(key, meta, value, 0.0)
      .map(|(evicted, _)| evicted)
  }

  /// `insert`, recording `stored_at`; also returns the stored entry.
  pub fn insert_at(
    &self,
    key: String,
    meta: EntryMeta,
    value: V,
    stored_at: f64,
  ) -> Result<(usize, Arc<Stored<V>>)> {
    self.insert_checked(key, meta, value, stored_at, false)
  }

  /// `insert_at`, unless the entry stored under `key` is newer (a later `timestamp`): a copy
  /// read from another tier never replaces a newer one written here meanwhile. Returns the
  /// entry that stays.
  pub fn insert_unless_newer(
    &self,
    key: String,
    meta: EntryMeta,
    value: V,
    stored_at: f64,
  ) -> Result<(usize, Arc<Stored<V>>)> {
    self.insert_checked(key, meta, value, stored_at, true)
  }

  /// The entry's size, or `ERR_VALUE_TOO_LARGE` (and `key` removed) when it alone exceeds
  /// the bound or 4 GiB (sizes are kept as `u32`; Redis holds 512 MB at most).
  pub fn check_fits(&self, key: &str, meta: &EntryMeta, value_len: usize) -> Result<usize> {
    let size = entry_size(key, meta, value_len);
    let limit = self.max_bytes.min(u32::MAX as usize);
    if size > limit {
      self.remove(key);
      let bound = if limit == self.max_bytes {
        format!("maxMemoryBytes ({limit})")
      } else {
        format!("the 4 GiB an entry may hold ({limit})")
      };
      return Err(Error::new(
        ErrorCode::ValueTooLarge,
        format!(
          "entry {:?} needs {size} bytes, more than {bound}",
          key.chars().take(80).collect::<String>()
        ),
      ));
    }
    Ok(size)
  }

  fn insert_checked(
    &self,
    key: String,
    meta: EntryMeta,
    value: V,
    stored_at: f64,
    unless_newer: bool,
  ) -> Result<(usize, Arc<Stored<V>>)> {
    let size = self.check_fits(&key, &meta, value.byte_len())?;
    let stored = Arc::new(Stored {
      meta,
      value,
      size: size as u32, // at most u32::MAX (`check_fits`)
      stored_at,
      tracked: AtomicU32::new(0),
    });
    let entry = stored.clone();
    // Dropped after the lock is released: dropping a JS Buffer reference is not free.
    let mut dropped = Vec::new();
    let mut evicted = 0;
    {
      let mut inner = self.inner.lock();
      if unless_newer {
        if let Some(current) = inner.lru.peek(key.as_str()) {
          if current.meta.timestamp > entry.meta.timestamp {
            let current = current.clone();
            drop(inner);
            drop(entry);
            drop(stored);
            return Ok((0, current));
          }
        }
      }
      if let Some(old) = inner.lru.put(key.into_boxed_str(), stored) {
        inner.bytes -= old.size as usize;
        dropped.push(old);
      }
      inner.bytes += size;
      while inner.bytes > self.max_bytes {
        let Some((_, old)) = inner.lru.pop_lru() else {
          break;
        };
        inner.bytes -= old.size as usize;
        dropped.push(old);
        evicted += 1;
      }
    }
    drop(dropped);
    Ok((evicted, entry))
  }

  /// Removes an entry; true if there was one.
  pub fn remove(&self, key: &str) -> bool {
    let removed = {
      let mut inner = self.inner.lock();
      let removed = inner.lru.pop(key);
      if let Some(old) = &removed {
        inner.bytes -= old.size as usize;
      }
      removed
    };
    removed.is_some()
  }

  /// Removes the entry only if it is still `expected` (a newer `set` may have replaced it).
  pub fn remove_if_same(&self, key: &str, expected: &Arc<Stored<V>>) -> bool {
    self.remove_where(key, |current| Arc::ptr_eq(current, expected))
  }

  /// Removes the entry under `key` if `test` says so; true if it did.
  pub fn remove_where(&self, key: &str, test: impl FnOnce(&Arc<Stored<V>>) -> bool) -> bool {
    let removed = {
      let mut inner = self.inner.lock();
      match inner.lru.peek(key) {
        Some(current) if test(current) => {
          let old = inner.lru.pop(key);
          if let Some(old) = &old {
            inner.bytes -= old.size as usize;
          }
          old
        }
        _ => None,
      }
    };
    removed.is_some()
  }

  /// Removes the entries whose key starts with `prefix` and not with `except`; returns how
  /// many. O(entries): for purges, not for requests.
  pub fn remove_prefix(&self, prefix: &str, except: Option<&str>) -> usize {
    let removed: Vec<_> = {
      let mut inner = self.inner.lock();
      let keys: Vec<Box<str>> = inner
        .lru
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(prefix) && !except.is_some_and(|e| k.starts_with(e)))
        .cloned()
        .collect();
      keys
        .iter()
        .filter_map(|k| {
          let old = inner.lru.pop(&**k)?;
          inner.bytes -= old.size as usize;
          Some(old)
        })
        .collect()
    };
    removed.len()
  }

  /// Drops every entry.
  pub fn clear(&self) {
    let old = {
      let mut inner = self.inner.lock();
      inner.bytes = 0;
      std::mem::replace(&mut inner.lru, LruCache::unbounded())
    };
    drop(old);
  }

  pub fn len(&self) -> usize {
    self.inner.lock().lru.len()
  }

  pub fn is_empty(&self) -> bool {
    self.len() == 0
  }

  pub fn bytes(&self) -> usize {
    self.inner.lock().bytes
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn meta() -> EntryMeta {
    EntryMeta {
      tags: ["t"].iter().collect(),
      stale: 300.0,
      revalidate: 900.0,
      expire: 3600.0,
      timestamp: 0.0,
    }
  }

  #[test]
  fn bounded_in_bytes_least_recently_used_first() {
    let one = entry_size("k0", &meta(), 1000);
    let store = MemoryStore::<Vec<u8>>::new(one * 3);
    for i in 0..3 {
      assert_eq!(
        store
          .insert(format!("k{i}"), meta(), vec![0; 1000])
          .unwrap(),
        0
      );
    }
    assert_eq!(store.bytes(), one * 3);
    // Touch k0 so k1 is the least recently used.
    assert!(store.get("k0").is_some());
    assert_eq!(store.insert("k3".into(), meta(), vec![0; 1000]).unwrap(), 1);
    assert!(store.get("k1").is_none());
    assert!(store.get("k0").is_some() && store.get("k2").is_some() && store.get("k3").is_some());
    // A bigger entry evicts as many as it needs.
    assert_eq!(store.insert("k4".into(), meta(), vec![0; 2000]).unwrap(), 2);
    assert!(store.bytes() <= one * 3);
  }

  #[test]
  fn replacing_a_key_is_not_an_eviction_and_recounts_bytes() {
    let store = MemoryStore::<Vec<u8>>::new(1 << 20);
    store.insert("k".into(), meta(), vec![0; 10]).unwrap();
    assert_eq!(store.insert("k".into(), meta(), vec![0; 20]).unwrap(), 0);
    assert_eq!(store.len(), 1);
    assert_eq!(store.bytes(), entry_size("k", &meta(), 20));
    assert!(store.remove("k"));
    assert_eq!(store.bytes(), 0);
    assert!(!store.remove("k"));
  }

  #[test]
  fn too_large_is_an_error_and_drops_only_the_key_it_meant_to_replace() {
    let store = MemoryStore::<Vec<u8>>::new(1000);
    store.insert("a".into(), meta(), vec![0; 10]).unwrap();
    store.insert("b".into(), meta(), vec![0; 10]).unwrap();
    let err = store.insert("b".into(), meta(), vec![0; 1000]).unwrap_err();
    assert_eq!(err.code, ErrorCode::ValueTooLarge);
    assert!(store.get("a").is_some());
    assert!(store.get("b").is_none());
    assert_eq!(store.bytes(), entry_size("a", &meta(), 10));
  }

  #[test]
  fn remove_if_same_spares_a_newer_entry() {
    let store = MemoryStore::<Vec<u8>>::new(1 << 20);
    store.insert("k".into(), meta(), vec![1]).unwrap();
    let old = store.get("k").unwrap();
    store.insert("k".into(), meta(), vec![2]).unwrap();
    assert!(!store.remove_if_same("k", &old));
    let new = store.get("k").unwrap();
    assert!(store.remove_if_same("k", &new));
    assert!(store.is_empty());
  }
}
