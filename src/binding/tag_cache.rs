//! `TagCache`, the engine as a JS class.

use std::sync::Arc;

use napi::bindgen_prelude::{
  Env, Function, JsObjectValue, Object, PromiseRaw, ToNapiValue, Unknown,
};
use napi_derive::napi;

use super::convert::{opt_input, to_input};
use super::error::{IntoJs, JsError, Result};
use super::payload::JsBuffer;
use super::types::{CacheEntry, CacheLifeProfile, TagCacheStats};
use crate::cache::{Cache, Hit};
use crate::clock::Clock;
use crate::entry::Freshness;
use crate::error::ErrorCode;
use crate::input::Input;

/// A tag-aware cache with the semantics of Next.js 16's `revalidateTag(tag, profile)`,
/// `updateTag` and `revalidatePath`, with cacheLife profiles resolved from your config.
///
/// ```js
/// const cache = new TagCache({ cacheLife: nextConfig.cacheLife })
/// await cache.set('post:1', Buffer.from(html), { tags: ['posts'], profile: 'hours' })
/// await cache.get('post:1')            // { value, tags, stale, revalidate, expire, timestamp, status } | null
/// await cache.revalidateTag('posts', 'max')
/// ```
///
/// Units: `timestamp` and tag times are **ms** since the epoch (floats); `stale`,
/// `revalidate`, `expire` are **seconds** (`4294967294` = never). Errors carry a stable
/// `code`: `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`, `ERR_UNKNOWN_PROFILE`,
/// `ERR_INVALID_CACHE_LIFE`, `ERR_INVALID_OPTIONS`, `ERR_VALUE_TOO_LARGE`, `ERR_CLOSED`,
/// `ERR_STORE`. Async methods reject with them; a store answers in process, so a
/// memory hit never leaves the JS thread.
#[napi]
pub struct TagCache {
  inner: Arc<Cache<JsBuffer>>,
}

/// Settles a promise at once: the memory store answers synchronously, no thread hop.
fn settle<'env, T: ToNapiValue>(
  env: &'env Env,
  result: Result<T>,
) -> napi::Result<PromiseRaw<'env, T>> {
  match result {
    Ok(value) => PromiseRaw::resolve(env, value),
    Err(err) => PromiseRaw::reject(env, err),
  }
}

/// A clock anchored to `performance.timeOrigin + performance.now()`, the clock Next stamps
/// entries with.
fn next_clock(env: &Env) -> napi::Result<Clock> {
  let performance: Object = env.get_global()?.get_named_property("performance")?;
  let time_origin: f64 = performance.get_named_property("timeOrigin")?;
  let now: Function<(), f64> = performance.get_named_property("now")?;
  Ok(Clock::anchored(time_origin + now.apply(performance, ())?))
}

fn string_arg(value: &Unknown, what: &str) -> Result<String> {
  match to_input(value).js()? {
    Input::String(s) => Ok(s),
    other => Err(JsError::new(
      ErrorCode::InvalidOptions.as_str(),
      format!("{what} must be a string, got {}", other.describe()),
    )),
  }
}

#[napi]
impl TagCache {
  /// Creates a cache. `options` (all optional): `cacheLife` (the app's custom profiles),
  /// `maxMemoryBytes` (default 128 MiB), `keyPrefix`, `timeoutMs`.
  /// Throws `ERR_INVALID_OPTIONS` (unknown key, bad value) or `ERR_INVALID_CACHE_LIFE`.
  #[napi(constructor, catch_unwind)]
  pub fn new(
    env: Env,
    #[napi(ts_arg_type = "TagCacheOptions")] options: Option<Unknown>,
  ) -> Result<Self> {
    let options = opt_input(options.as_ref()).js()?;
    let clock = next_clock(&env).unwrap_or_default();
    Ok(TagCache {
      inner: Arc::new(Cache::from_input(&options, clock).js()?),
    })
  }

  /// The entry for `key`, or `null` when missing, past `expire`, or when one of its tags or
  /// of `softTags` (Next's implicit `_N_T_` tags) expired after it was written.
  /// `status: 'stale'` when past `revalidate` or when a tag was revalidated with a profile
  /// (stale-while-revalidate). The returned `value` is the Buffer given to `set`.
  #[napi(catch_unwind, ts_return_type = "Promise<CacheEntry | null>")]
  pub fn get<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "string[]")] soft_tags: Option<Unknown>,
  ) -> napi::Result<PromiseRaw<'env, Option<CacheEntry>>> {
    settle(env, self.get_entry(env, &key, soft_tags.as_ref()))
  }

  fn get_entry(
    &self,
    env: &Env,
    key: &Unknown,
    soft_tags: Option<&Unknown>,
  ) -> Result<Option<CacheEntry>> {
    let key = string_arg(key, "key")?;
    let soft_tags = crate::tags::parse_lookup_tags(&opt_input(soft_tags).js()?);
    let Some(Hit { entry, freshness }) = self.inner.get(&key, &soft_tags).js()? else {
      return Ok(None);
    };
    Ok(Some(CacheEntry {
      value: entry.value.to_js(env).js()?,
      tags: entry.meta.tags.clone(),
      stale: entry.meta.stale,
      revalidate: entry.meta.revalidate,
      expire: entry.meta.expire,
      timestamp: entry.meta.timestamp,
      status: if freshness.is_stale() {
        "stale"
      } else {
        "fresh"
      },
      revalidated: freshness == Freshness::StaleByTag,
    }))
  }

  /// Stores `value` under `key`. `meta`: `tags?`, and either `profile?` (a cacheLife name or
  /// `{ stale, revalidate, expire }`) or explicit `stale` / `revalidate` / `expire` seconds
  /// (missing ones inherit from `default`); `timestamp?` ms (default now). A Buffer that
  /// owns its memory is kept by reference, not copied: do not modify it afterwards (a view
  /// into a larger ArrayBuffer, such as a small pooled Buffer, is copied).
  /// Rejects with `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`, `ERR_UNKNOWN_PROFILE`,
  /// `ERR_INVALID_CACHE_LIFE`, `ERR_INVALID_OPTIONS`, `ERR_VALUE_TOO_LARGE`, `ERR_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn set<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "Buffer | Uint8Array")] value: Unknown,
    #[napi(ts_arg_type = "SetMeta")] meta: Option<Unknown>,
  ) -> napi::Result<PromiseRaw<'env, ()>> {
    settle(env, self.set_entry(&key, &value, meta.as_ref()))
  }

  fn set_entry(&self, key: &Unknown, value: &Unknown, meta: Option<&Unknown>) -> Result<()> {
    let key = string_arg(key, "key")?;
    let Some(bytes) = JsBuffer::from_js(value).js()? else {
      return Err(JsError::new(
        ErrorCode::InvalidOptions.as_str(),
        format!(
          "value must be a Buffer or Uint8Array, got {}",
          to_input(value).js()?.describe()
        ),
      ));
    };
    let meta = opt_input(meta).js()?;
    self.inner.set(key, bytes, &meta).js()
  }

  /// Removes one entry. Resolves to `true` if there was one.
  #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
  pub fn delete<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
  ) -> napi::Result<PromiseRaw<'env, bool>> {
    let result = string_arg(&key, "key").and_then(|k| self.inner.delete(&k).js());
    settle(env, result)
  }

  /// `revalidateTag(tag, profile)` with Next.js 16 semantics. `profile`: `'max'` or any
  /// cacheLife profile name (stale now, expired after the profile's `expire`: SWR), or
  /// `{ expire }` seconds (`{ expire: 0 }`: expired now), or nothing (deprecated in Next:
  /// expired now). Rejects with `ERR_UNKNOWN_PROFILE` (nothing changed), `ERR_INVALID_TAG`,
  /// `ERR_TAG_TOO_LONG`, `ERR_INVALID_CACHE_LIFE`.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn revalidate_tag<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string | string[]")] tags: Unknown,
    #[napi(ts_arg_type = "string | { expire?: number }")] profile: Option<Unknown>,
  ) -> napi::Result<PromiseRaw<'env, ()>> {
    let result = (|| {
      let tags = to_input(&tags).js()?;
      let profile = opt_input(profile.as_ref()).js()?;
      self.inner.revalidate_tag(&tags, &profile).js()
    })();
    settle(env, result)
  }

  /// `updateTag(tag)`: the tag expires now (read-your-own-writes in a Server Action).
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn update_tag<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] tag: Unknown,
  ) -> napi::Result<PromiseRaw<'env, ()>> {
    let result = to_input(&tag)
      .js()
      .and_then(|tag| self.inner.update_tag(&tag).js());
    settle(env, result)
  }

  /// `revalidatePath(path, type?)`: expires the implicit tags Next derives for `path`
  /// (`_N_T_<path>`, `/page` or `/layout` appended for `type`, and the `/` ↔ `/index` twin).
  /// Resolves to the tags it expired.
  #[napi(catch_unwind, ts_return_type = "Promise<string[]>")]
  pub fn revalidate_path<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] path: Unknown,
    #[napi(ts_arg_type = "'page' | 'layout'")] kind: Option<Unknown>,
  ) -> napi::Result<PromiseRaw<'env, Vec<String>>> {
    let result = (|| {
      let path = to_input(&path).js()?;
      let kind = opt_input(kind.as_ref()).js()?;
      self.inner.revalidate_path(&path, &kind).js()
    })();
    settle(env, result)
  }

  /// Next's low-level `updateTags(tags, durations?)`: with `{ expire }` (seconds) the tags
  /// are stale now and expire `expire` seconds from now; without durations they expire now.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn update_tags<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
    #[napi(ts_arg_type = "TagDurations")] durations: Option<Unknown>,
  ) -> napi::Result<PromiseRaw<'env, ()>> {
    let result = (|| {
      let tags = to_input(&tags).js()?;
      let durations = opt_input(durations.as_ref()).js()?;
      self.inner.update_tags(&tags, &durations).js()
    })();
    settle(env, result)
  }

  /// The latest time (**ms** since the epoch) at which one of `tags` expired, 0 if none.
  /// Expiries still in the future (a profile's stale-while-revalidate window) are left out.
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn get_expiration<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
  ) -> napi::Result<PromiseRaw<'env, f64>> {
    let result = to_input(&tags)
      .js()
      .and_then(|tags| self.inner.get_expiration(&tags).js());
    settle(env, result)
  }

  /// Pulls tag changes from the shared store. The in-process store has nothing to pull.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn refresh_tags<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
    settle(env, self.inner.refresh_tags().js())
  }

  /// A profile by name or `{ stale?, revalidate?, expire? }`, resolved against the
  /// `cacheLife` config, in **seconds**. Throws `ERR_UNKNOWN_PROFILE` or
  /// `ERR_INVALID_CACHE_LIFE`.
  #[napi(catch_unwind)]
  pub fn resolve_profile(
    &self,
    #[napi(ts_arg_type = "string | CacheLifeInput")] profile: Unknown,
  ) -> Result<CacheLifeProfile> {
    let life = self.inner.resolve_profile(&to_input(&profile).js()?).js()?;
    Ok(CacheLifeProfile {
      stale: life.stale,
      revalidate: life.revalidate,
      expire: life.expire,
    })
  }

  /// Counters since creation, and the store's current size.
  #[napi(catch_unwind)]
  pub fn stats(&self) -> TagCacheStats {
    let s = self.inner.stats();
    TagCacheStats {
      hits: s.hits as f64,
      misses: s.misses as f64,
      stale_hits: s.stale_hits as f64,
      sets: s.sets as f64,
      evictions: s.evictions as f64,
      tag_updates: s.tag_updates as f64,
      entries: s.entries as f64,
      bytes: s.bytes as f64,
      store_errors: s.store_errors as f64,
    }
  }

  /// Drops every entry and disconnects; later calls reject with `ERR_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn close<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
    self.inner.close();
    settle(env, Ok(()))
  }
}
