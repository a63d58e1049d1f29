//! The shapes that cross into JS. Their doc comments become `index.d.ts`.

use std::collections::HashMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;

/// A cacheLife profile as written in config: every field optional, in **seconds**.
/// Missing fields inherit from the `default` profile; `Infinity` means never
/// (stored as 4294967294). Mirrors Next.js 16 `cacheLife` config entries.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct CacheLifeInput {
  /// Seconds the client may reuse the value without asking the server.
  pub stale: Option<f64>,
  /// Seconds after which the entry is served stale and regenerated in the background.
  pub revalidate: Option<f64>,
  /// Seconds after which the entry is no longer served. Must be ≥ `revalidate`.
  pub expire: Option<f64>,
}

/// What `revalidateTag` / `updateTag` / `updateTags` did to one tag, as `tagStates` reports it.
#[napi(object, object_from_js = false)]
pub struct TagStateInfo {
  pub tag: String,
  /// **ms** since the epoch: entries written before it are stale (served once, regenerated
  /// in the background); absent when the tag was never revalidated with a profile.
  pub stale: Option<f64>,
  /// **ms** since the epoch: entries written before it are expired once it has come (it may
  /// be in the future: a profile's `expire`); absent when never set.
  pub expired: Option<f64>,
}

/// A resolved cacheLife profile, in **seconds** (`4294967294` = never).
#[napi(object, object_from_js = false)]
pub struct CacheLifeProfile {
  pub stale: f64,
  pub revalidate: f64,
  pub expire: f64,
}

/// Options of `new TagCache(options)`. Unknown keys throw `ERR_INVALID_OPTIONS`.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct TagCacheOptions {
  /// The app's `cacheLife` config (`nextConfig.cacheLife`): custom profiles by name. A
  /// built-in name replaces that profile. Bad values throw `ERR_INVALID_CACHE_LIFE`.
  pub cache_life: Option<HashMap<String, CacheLifeInput>>,
  /// Bound of the in-process store (with Redis: of the in-process tier) in bytes, counting
  /// key + value + tags + 96 per entry. Default 134217728 (128 MiB). Least recently used
  /// entries are evicted first.
  pub max_memory_bytes: Option<f64>,
  /// Namespace of every key in Redis (default `'tagcache'`). Instances that share a cache,
  /// and webhook workers that revalidate it, use the same prefix.
  pub key_prefix: Option<String>,
  /// Timeout of one Redis command, in **ms** (default 1000). A command that times out is
  /// dropped, and the call is a miss (`get`) or rejects with `ERR_STORE`.
  pub timeout_ms: Option<f64>,
  /// Redis URL: `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. Entries
  /// and tags then live in Redis, shared by every instance.
  pub redis_url: Option<String>,
  /// Redis Cluster seed nodes (`redis://host:port` each). Give one of `redisUrl`,
  /// `redisCluster` and `redisSentinel`.
  pub redis_cluster: Option<Vec<String>>,
  /// Redis behind Sentinel: the primary named `name`, looked up through `sentinels`, and
  /// looked up again after an outage or a `READONLY` answer, so a failover is followed.
  pub redis_sentinel: Option<RedisSentinelOptions>,
  /// Certificates for `rediss://` connections (node, cluster, or primary and sentinels
  /// behind Sentinel); without it the system's roots are trusted and no client certificate
  /// is sent. The server name checked is the URL's host. `ERR_INVALID_OPTIONS` when no URL
  /// is `rediss://`, a file cannot be read or is not PEM, or `cert` comes without `key`.
  pub tls: Option<TlsOptions>,
  /// With Redis: how long, in **ms**, an in-process copy of an entry is served without
  /// asking Redis when Redis does not track it (default 1000; 0 turns the in-process tier
  /// off). On a single node (Redis ≥ 6) a copy read from Redis is tracked (client-side
  /// caching, `CLIENT TRACKING BCAST`): it answers until Redis announces a write, delete or
  /// expiry of its key, from any instance. Untracked: a cluster, Sentinel, Redis 5, a copy of
  /// this instance's own write, and while the tracking connection is down. Tag revalidations
  /// are seen at once regardless.
  pub local_ttl_ms: Option<f64>,
  /// Directory of the disk tier (one machine): entries and tag state persist there across
  /// restarts, in a SQLite database (`tagcache.sqlite`, WAL), behind the in-process store.
  /// Every process that opens the same directory shares its entries and tags, as instances
  /// sharing Redis do. Created if missing; a directory that cannot be written makes the
  /// engine run in memory (`storage === 'memory'`, one line on stderr), never throw.
  /// Cannot be combined with `redisUrl` / `redisCluster` / `redisSentinel` (`ERR_INVALID_OPTIONS`). `false`:
  /// none. The Next.js handlers default it to `<distDir>/cache/tagcache` without Redis.
  #[napi(ts_type = "string | false")]
  pub disk_dir: Option<String>,
  /// Bound of the disk tier in bytes (key + encoded entry), ≥ 1048576; default
  /// 1073741824 (1 GiB). Expired entries go first, then the oldest written.
  pub max_disk_bytes: Option<f64>,
  /// Print one line per call to stderr: `get` / `set` / tag update / refresh, the key (cut
  /// at 80 characters), the verdict and why (fresh; stale or expired by which tag or soft
  /// tag, or by time; absent), the tier (memory, disk, redis) and µs. Default: on when
  /// `TAGCACHE_DEBUG` or Next's `NEXT_PRIVATE_DEBUG_CACHE` is set (not `0` / `false`).
  pub debug: Option<bool>,
}

/// `redisSentinel`: where Sentinel is, and the primary to ask it for.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct RedisSentinelOptions {
  /// The primary's name in the sentinels' config (`sentinel monitor <name> …`).
  pub name: String,
  /// The sentinels, `redis://host:26379` each (`rediss://`: TLS to the sentinels and to the
  /// primary; credentials in a URL authenticate to the sentinels).
  pub sentinels: Vec<String>,
  /// ACL user of the primary.
  pub username: Option<String>,
  /// Password of the primary (`requirepass` / ACL).
  pub password: Option<String>,
  /// Password of the sentinels, when not in their URLs.
  pub sentinel_password: Option<String>,
  /// Database number on the primary (default 0).
  pub db: Option<f64>,
}

/// `tls`: each field PEM text (`-----BEGIN …`) or the path of a PEM file, read at
/// construction.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct TlsOptions {
  /// CA certificate(s) to trust instead of the system's roots (a private CA).
  pub ca: Option<String>,
  /// Client certificate, for servers that require one (`tls-auth-clients yes`); with `key`.
  pub cert: Option<String>,
  /// The client certificate's private key.
  pub key: Option<String>,
}

/// `set`'s metadata. Give either `profile` or explicit `stale` / `revalidate` / `expire`
/// (seconds; missing ones inherit from the `default` profile), not both.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct SetMeta {
  /// The entry's tags: strings of at most 256 characters, case-sensitive.
  pub tags: Option<Vec<String>>,
  /// A cacheLife profile name (resolved from `cacheLife`) or an inline profile.
  #[napi(ts_type = "string | CacheLifeInput")]
  pub profile: Option<String>,
  /// Seconds the client may reuse the value.
  pub stale: Option<f64>,
  /// Seconds until the entry is stale.
  pub revalidate: Option<f64>,
  /// Seconds until the entry is no longer served.
  pub expire: Option<f64>,
  /// When the value was created, **ms** since the epoch (float). Default: now.
  pub timestamp: Option<f64>,
  /// Store only when nothing is stored under the key: in process, on disk, and in Redis
  /// (`SET NX`). For seeding from the build output without overwriting a newer entry.
  pub if_absent: Option<bool>,
}

/// `updateTags`' durations, as Next passes them: `{ expire }` in **seconds**.
#[napi(object, object_from_js = false, object_to_js = false)]
pub struct TagDurations {
  /// Seconds from now until the tags expire; stale from now on either way.
  pub expire: Option<f64>,
}

/// An entry returned by `get` / `peek`. Fresh hits of one stored entry return the same
/// frozen object (no allocation per hit); stale hits return a new one.
#[napi(object, object_from_js = false)]
pub struct CacheEntry {
  /// The stored bytes (a copy of what `set` was given), lent without a copy: a Buffer over
  /// the store's memory, the same one on every hit once the entry is hot. Do not modify it.
  #[napi(ts_type = "Buffer")]
  pub value: Made,
  /// The entry's own tags (soft tags are never stored).
  pub tags: Vec<String>,
  /// Seconds the client may reuse the value.
  pub stale: f64,
  /// Seconds after `timestamp` when the entry turns stale.
  pub revalidate: f64,
  /// Seconds after `timestamp` when the entry is no longer served.
  pub expire: f64,
  /// When the entry was created, **ms** since the epoch.
  pub timestamp: f64,
  /// `'stale'` when past `revalidate` or when a tag / soft tag was revalidated with a
  /// profile after the entry was written (serve it once, regenerate in the background).
  #[napi(ts_type = "'fresh' | 'stale'")]
  pub status: &'static str,
  /// True when the entry is stale because a tag or soft tag was revalidated with a profile
  /// (Next's handlers then answer `revalidate: -1`), false when fresh or only past
  /// `revalidate`.
  pub revalidated: bool,
}

/// Counters of one `TagCache`.
#[napi(object, object_from_js = false)]
pub struct TagCacheStats {
  /// `get` calls that returned an entry (fresh or stale).
  pub hits: f64,
  /// `get` calls that returned `null`.
  pub misses: f64,
  /// Hits that returned a stale entry.
  pub stale_hits: f64,
  /// Entries stored by `set`.
  pub sets: f64,
  /// Entries evicted to stay within `maxMemoryBytes`.
  pub evictions: f64,
  /// Tags updated by `revalidateTag`, `updateTag`, `revalidatePath` and `updateTags`.
  pub tag_updates: f64,
  /// Entries in the store now.
  pub entries: f64,
  /// Bytes charged against `maxMemoryBytes` now.
  pub bytes: f64,
  /// Store (Redis or disk tier) operations that failed; each was served as a miss, rejected,
  /// or (a queued disk write) left the entry off disk.
  pub store_errors: f64,
  /// `get` calls answered by Redis rather than the in-process tier.
  pub shared_reads: f64,
  /// `get` calls answered by the disk tier rather than the in-process tier.
  pub disk_reads: f64,
  /// Entries on disk now, written by any process sharing the directory (0 without one).
  pub disk_entries: f64,
  /// Bytes of those entries, charged against `maxDiskBytes`.
  pub disk_bytes: f64,
}

/// A JS value made in the current call (a `napi_value` of its scope), returned as is.
/// Not `Send` (a raw pointer) and never stored, so it is returned by the call that made it.
pub struct Made(pub(super) sys::napi_value);

impl ToNapiValue for Made {
  // SAFETY (of the contract napi-rs relies on): napi-rs calls this with the env of the call
  // that made the value, whose scope is still open, so the value is valid as is.
  unsafe fn to_napi_value(_: sys::napi_env, made: Self) -> napi::Result<sys::napi_value> {
    Ok(made.0)
  }
}
