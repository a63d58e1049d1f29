//! The engine: a store, the tag manifest and the cacheLife profiles, with the semantics of
//! Next.js 16 (`revalidateTag(tag, profile)`, `updateTag`, `revalidatePath`, `updateTags`,
//! `getExpiration`). Every method validates all of its input before it changes anything.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::clock::Clock;
use crate::entry::{EntryMeta, Freshness};
use crate::error::{Error, ErrorCode, Result};
use crate::input::Input;
use crate::options::Options;
use crate::profile::{seconds, CacheLife, PartialCacheLife};
use crate::store::{MemoryStore, Payload, Stored};
use crate::tags::{
  encode_header_safe, parse_lookup_tags, parse_tags, Durations, TagManifest, IMPLICIT_TAG_PREFIX,
  MAX_SOFT_TAG_LENGTH,
};

/// An entry found by `get`, with its verdict (never `Expired`: expired entries are misses).
pub struct Hit<V> {
  pub entry: Arc<Stored<V>>,
  pub freshness: Freshness,
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
  /// Entries now in the store.
  pub entries: u64,
  /// Bytes now charged against `maxMemoryBytes`.
  pub bytes: u64,
  /// Store operations that failed.
  pub store_errors: u64,
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
}

/// The cache engine over a payload type `V` (the binding stores JS Buffers).
pub struct Cache<V> {
  options: Options,
  store: MemoryStore<V>,
  manifest: RwLock<TagManifest>,
  counters: Counters,
  closed: AtomicBool,
  clock: Clock,
}

impl<V: Payload> Cache<V> {
  /// Builds an engine from parsed options, on the wall clock.
  pub fn new(options: Options) -> Self {
    Cache::with_clock(options, Clock::system())
  }

  /// Builds an engine whose "now" is `clock` (the binding anchors it to Next's clock).
  pub fn with_clock(options: Options, clock: Clock) -> Self {
    Cache {
      clock,
      store: MemoryStore::new(options.max_memory_bytes),
      options,
      manifest: RwLock::new(TagManifest::default()),
      counters: Counters::default(),
      closed: AtomicBool::new(false),
    }
  }

  /// Parses options (see `Options::parse`) and builds an engine.
  pub fn from_input(options: &Input, clock: Clock) -> Result<Self> {
    Ok(Cache::with_clock(Options::parse(options)?, clock))
  }

  /// ms since the epoch on the engine's clock.
  pub fn now(&self) -> f64 {
    self.clock.now()
  }

  pub fn options(&self) -> &Options {
    &self.options
  }

  fn check_open(&self) -> Result<()> {
    if self.closed.load(Relaxed) {
      Err(Error::new(
        ErrorCode::Closed,
        "this TagCache was closed; create a new one",
      ))
    } else {
      Ok(())
    }
  }

  /// The entry for `key`, or `None` when missing, past `expire`, or when one of its tags or
  /// of `soft_tags` expired after it was written. Expired entries are dropped.
  pub fn get(&self, key: &str, soft_tags: &[String]) -> Result<Option<Hit<V>>> {
    self.get_at(key, soft_tags, self.now())
  }

  /// `get` at a given time (ms), for tests.
  pub fn get_at(&self, key: &str, soft_tags: &[String], now: f64) -> Result<Option<Hit<V>>> {
    self.check_open()?;
    let found = self.store.get(key).and_then(|entry| {
      let freshness = entry.meta.freshness(&self.manifest.read(), soft_tags, now);
      if freshness == Freshness::Expired {
        self.store.remove_if_same(key, &entry);
        None
      } else {
        Some(Hit { entry, freshness })
      }
    });
    match &found {
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
    Ok(found)
  }

  /// Resolves `set`'s `meta`: `{ tags?, profile? | stale?/revalidate?/expire?, timestamp? }`.
  /// `profile` is a name or `{ stale?, revalidate?, expire? }`; explicit timings and a
  /// profile's missing fields inherit from the `default` profile. `timestamp` defaults to `now`.
  pub fn parse_meta(&self, meta: &Input, now: f64) -> Result<EntryMeta> {
    const KNOWN: [&str; 6] = [
      "tags",
      "profile",
      "stale",
      "revalidate",
      "expire",
      "timestamp",
    ];
    match meta {
      Input::Undefined | Input::Null | Input::Object(_) => {}
      other => {
        return Err(Error::new(
          ErrorCode::InvalidOptions,
          format!("meta must be an object, got {}", other.describe()),
        ))
      }
    }
    if let Input::Object(fields) = meta {
      if let Some((k, _)) = fields.iter().find(|(k, _)| !KNOWN.contains(&k.as_str())) {
        return Err(Error::new(
          ErrorCode::InvalidOptions,
          format!(
            "meta has an unknown field {k:?}; known: {}",
            KNOWN.join(", ")
          ),
        ));
      }
    }
    let tags = match meta.field("tags") {
      v if v.is_nullish() => Vec::new(),
      v => parse_tags(v, "meta.tags")?,
    };
    let explicit = ["stale", "revalidate", "expire"]
      .iter()
      .any(|f| !meta.field(f).is_nullish());
    let profile = meta.field("profile");
    let life: CacheLife = if !profile.is_nullish() {
      if explicit {
        return Err(Error::new(
          ErrorCode::InvalidOptions,
          "meta: give either profile or stale/revalidate/expire, not both",
        ));
      }
      self.options.profiles.resolve(profile)?
    } else {
      // Explicit timings are stored as given: Next writes entries whose revalidate exceeds
      // their expire (an inline `cacheLife({ expire })` keeps the default revalidate).
      let default = self.options.profiles.get("default")?;
      CacheLife {
        stale: seconds(meta.field("stale"), "meta.stale")?.unwrap_or(default.stale),
        revalidate: seconds(meta.field("revalidate"), "meta.revalidate")?
          .unwrap_or(default.revalidate),
        expire: seconds(meta.field("expire"), "meta.expire")?.unwrap_or(default.expire),
      }
    };
    let timestamp = match meta.field("timestamp") {
      v if v.is_nullish() => now,
      Input::Number(n) if n.is_finite() && *n >= 0.0 => *n,
      v => {
        return Err(Error::new(
          ErrorCode::InvalidOptions,
          format!(
            "meta.timestamp must be milliseconds since the epoch, got {}",
            v.describe()
          ),
        ))
      }
    };
    Ok(EntryMeta {
      tags,
      stale: life.stale,
      revalidate: life.revalidate,
      expire: life.expire,
      timestamp,
    })
  }

  /// Stores `value` under `key` with `meta` (see `parse_meta`).
  pub fn set(&self, key: String, value: V, meta: &Input) -> Result<()> {
    self.check_open()?;
    let meta = self.parse_meta(meta, self.now())?;
    self.set_entry(key, value, meta)
  }

  /// Stores an entry whose metadata is already resolved.
  /// Errors: `ERR_VALUE_TOO_LARGE` when it alone exceeds `maxMemoryBytes`.
  pub fn set_entry(&self, key: String, value: V, meta: EntryMeta) -> Result<()> {
    self.check_open()?;
    let evicted = self.store.insert(key, meta, value)?;
    self.counters.sets.fetch_add(1, Relaxed);
    self.counters.evictions.fetch_add(evicted as u64, Relaxed);
    Ok(())
  }

  /// Removes one entry; true if there was one.
  pub fn delete(&self, key: &str) -> Result<bool> {
    self.check_open()?;
    Ok(self.store.remove(key))
  }

  /// Next's `updateTags(tags, durations?)`: with `{ expire? }` the tags are stale now and
  /// expire `expire` seconds from now; without durations they expire now.
  pub fn update_tags(&self, tags: &Input, durations: &Input) -> Result<()> {
    self.check_open()?;
    let tags = parse_tags(tags, "tags")?;
    let durations = match durations {
      v if v.is_nullish() => None,
      v => Some(Durations {
        expire: PartialCacheLife::parse(v, "durations")?.expire,
      }),
    };
    self.apply(&tags, durations, self.now());
    Ok(())
  }

  /// `revalidateTag(tag | tags, profile?)` as in Next 16: a profile name (resolved from the
  /// cacheLife config, e.g. `'max'`) or `{ expire }` makes the tags stale now and expired
  /// `expire` seconds later (stale-while-revalidate); no profile expires them now.
  /// Errors: `ERR_UNKNOWN_PROFILE` (nothing changed), `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`.
  pub fn revalidate_tag(&self, tags: &Input, profile: &Input) -> Result<()> {
    self.check_open()?;
    let tags = parse_tags(tags, "tag")?;
    let durations = match profile {
      v if v.is_nullish() => None,
      Input::String(name) => Some(Durations {
        expire: Some(self.options.profiles.get(name)?.expire),
      }),
      Input::Object(_) => Some(Durations {
        expire: PartialCacheLife::parse(profile, "profile")?.expire,
      }),
      other => {
        return Err(Error::new(
          ErrorCode::InvalidCacheLife,
          format!(
            "profile must be a cacheLife profile name or {{ expire }}, got {}",
            other.describe()
          ),
        ))
      }
    };
    self.apply(&tags, durations, self.now());
    Ok(())
  }

  /// `updateTag(tag)`: the tag expires now (read-your-own-writes in a Server Action).
  pub fn update_tag(&self, tag: &Input) -> Result<()> {
    self.check_open()?;
    let tags = parse_tags(tag, "tag")?;
    self.apply(&tags, None, self.now());
    Ok(())
  }

  /// `revalidatePath(path, type?)`: expires the implicit tag of `path` exactly as Next
  /// builds it (`_N_T_` + path without trailing slash, `/page` or `/layout` appended for a
  /// type, and the `/` ↔ `/index` twin). Returns the tags it expired.
  pub fn revalidate_path(&self, path: &Input, kind: &Input) -> Result<Vec<String>> {
    self.check_open()?;
    let tags = implicit_tags_for_path(path, kind)?;
    self.apply(&tags, None, self.now());
    Ok(tags)
  }

  fn apply(&self, tags: &[String], durations: Option<Durations>, now: f64) {
    self.manifest.write().update(tags, durations, now);
    self
      .counters
      .tag_updates
      .fetch_add(tags.len() as u64, Relaxed);
  }

  /// `getExpiration(tags)`: the latest time (ms) at which one of `tags` expired, 0 if none.
  /// Tags that cannot have been revalidated (not strings, absurdly long) are skipped.
  pub fn get_expiration(&self, tags: &Input) -> Result<f64> {
    self.check_open()?;
    let tags = parse_lookup_tags(tags);
    Ok(
      self
        .manifest
        .read()
        .expiration(tags.iter().map(String::as_str), self.now()),
    )
  }

  /// Pulls tag changes from the shared store; the memory store has nothing to pull.
  pub fn refresh_tags(&self) -> Result<()> {
    self.check_open()
  }

  /// A profile by name or `{ stale?, revalidate?, expire? }`, resolved against the config.
  pub fn resolve_profile(&self, profile: &Input) -> Result<CacheLife> {
    self.options.profiles.resolve(profile)
  }

  pub fn stats(&self) -> Stats {
    let c = &self.counters;
    Stats {
      hits: c.hits.load(Relaxed),
      misses: c.misses.load(Relaxed),
      stale_hits: c.stale_hits.load(Relaxed),
      sets: c.sets.load(Relaxed),
      evictions: c.evictions.load(Relaxed),
      tag_updates: c.tag_updates.load(Relaxed),
      entries: self.store.len() as u64,
      bytes: self.store.bytes() as u64,
      store_errors: c.store_errors.load(Relaxed),
    }
  }

  /// Drops every entry; later calls fail with `ERR_CLOSED`. Closing twice is fine.
  pub fn close(&self) {
    self.closed.store(true, Relaxed);
    self.store.clear();
  }
}

/// The implicit tags `revalidatePath(path, type)` expires in Next 16
/// (`server/web/spec-extension/revalidate.ts`).
pub fn implicit_tags_for_path(path: &Input, kind: &Input) -> Result<Vec<String>> {
  let Input::String(path) = path else {
    return Err(Error::new(
      ErrorCode::InvalidOptions,
      format!("path must be a string, got {}", path.describe()),
    ));
  };
  let kind = match kind {
    v if v.is_nullish() => None,
    Input::String(k) if k == "page" || k == "layout" => Some(k.as_str()),
    other => {
      return Err(Error::new(
        ErrorCode::InvalidOptions,
        format!(
          "type must be \"page\" or \"layout\", got {}",
          other.describe()
        ),
      ))
    }
  };
  let path_len = path.encode_utf16().count();
  if path_len > MAX_SOFT_TAG_LENGTH {
    return Err(Error::new(
      ErrorCode::TagTooLong,
      format!(
        "path is {path_len} characters long, more than the {MAX_SOFT_TAG_LENGTH} Next.js allows"
      ),
    ));
  }
  let trimmed = if path.len() > 1 && path.ends_with('/') {
    &path[..path.len() - 1]
  } else {
    path.as_str()
  };
  let mut tag = format!("{IMPLICIT_TAG_PREFIX}{}", encode_header_safe(trimmed));
  if let Some(kind) = kind {
    if !tag.ends_with('/') {
      tag.push('/');
    }
    tag.push_str(kind);
  }
  let twin = match tag.strip_prefix(IMPLICIT_TAG_PREFIX) {
    Some("/") => Some(format!("{IMPLICIT_TAG_PREFIX}/index")),
    Some("/index") => Some(format!("{IMPLICIT_TAG_PREFIX}/")),
    _ => None,
  };
  Ok(std::iter::once(tag).chain(twin).collect())
}
