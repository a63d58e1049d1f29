//! `TagCache`, the engine as a JS class.

use std::sync::{Arc, OnceLock};

use napi::bindgen_prelude::{
  Array, ClassInstance, Either3, Env, FromNapiValue, Function, JsObjectValue, Null, Object,
  PromiseRaw, ToNapiValue, Undefined, Unknown,
};
use napi::{JsValue, ValueType};
use napi_derive::napi;

use super::completions::Completions;
use super::convert::{js_string, number_input, opt_input, to_input};
use super::entry_object;
use super::error::{IntoJs, JsError, Result};
use super::js_ref::{JsHome, JsRef};
use super::payload::JsBuffer;
use super::types::{CacheEntry, CacheLifeProfile, Made, TagCacheStats, TagStateInfo};
use crate::cache::{Cache, Hit, Lookup, SharedWrite};
use crate::clock::Clock;
use crate::entry::Freshness;
use crate::error::ErrorCode;
use crate::input::Input;
use crate::options::Options;
use crate::parse;
use crate::tags::lookup_tag;

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
  /// Where this cache's JS references live (entries dropped off-thread are swept here).
  home: Arc<JsHome>,
  /// Settles the promises of calls that leave the JS thread; made on the first such call.
  completions: OnceLock<Arc<Completions>>,
}

/// Soft tags converted once (`TagCache#softTags`), to pass to `get` / `peek` in place of an
/// array of strings.
#[napi]
pub struct SoftTags {
  tags: Vec<String>,
}

type Engine = Arc<Cache<JsBuffer>>;

/// Settles a promise at once: the in-process store answers synchronously, no thread hop.
fn settle<'env, T: ToNapiValue + 'env>(
  env: &'env Env,
  result: Result<T>,
) -> napi::Result<Unknown<'env>> {
  let promise = match result {
    Ok(value) => PromiseRaw::resolve(env, value)?,
    Err(err) => PromiseRaw::reject(env, err)?,
  };
  Ok(promise.to_unknown())
}

/// A hit as `get` answers it: the `CacheEntry`, or, when it cannot be made (its Buffer
/// could not be handed to JS), a miss, with the entry dropped so it never answers again.
fn answer(
  env: &Env,
  home: &Arc<JsHome>,
  engine: &Engine,
  key: &str,
  hit: Hit<JsBuffer>,
) -> Result<Option<Made>> {
  // Held by this hit alone (a Redis read with `localTtlMs: 0`: no tier keeps it), the entry
  // is gone after this answer, so nothing is cached on it.
  let kept = Arc::strong_count(&hit.entry) > 1;
  let entry = hit.entry.clone();
  match to_entry(env, home, hit, kept) {
    Ok(made) => Ok(Some(made)),
    Err(_) => {
      engine.forget(key, &entry);
      Ok(None)
    }
  }
}

/// A hit as a `CacheEntry` object. A fresh hit of a hot entry (`JsBuffer::hot_after_hit`)
/// returns the entry's cached, frozen object (the metadata of a stored entry never
/// changes), so it creates no JS values. Other hits get a new object over the same bytes:
/// stale ones (their `status` varies; the cached object's Buffer when there is one), an
/// entry's first fresh hit (an entry read once pins no JS objects), and an entry no tier
/// keeps (`kept` false).
fn to_entry(env: &Env, home: &Arc<JsHome>, hit: Hit<JsBuffer>, kept: bool) -> Result<Made> {
  let Hit { entry, freshness } = hit;
  let fresh = freshness == Freshness::Fresh;
  let cached = entry.value.fresh_entry();
  if let (true, Some(cached)) = (fresh, cached) {
    return Ok(Made(cached.value(env).js()?));
  }
  let value = match cached {
    Some(cached) => Object::from_raw(env.raw(), cached.value(env).js()?)
      .get_named_property::<Unknown>("value")
      .js()?
      .raw(),
    None => entry.value.to_js(home, env).js()?,
  };
  let object = CacheEntry {
    value: Made(value),
    tags: entry.meta.tags.to_vec(),
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
  };
  let raw = entry_object::make(env, home, object).js()?;
  if fresh && kept && entry.value.hot_after_hit() {
    // Frozen, as every fresh hit shares it (Next's built-in shares its entries' tags too).
    let mut object = Object::from_raw(env.raw(), raw);
    let mut tags: Object = object.get_named_property("tags").js()?;
    tags.freeze().js()?;
    object.freeze().js()?;
    entry
      .value
      .keep_fresh_entry(JsRef::new(home, env, raw).js()?);
  }
  Ok(Made(raw))
}

/// A clock anchored to `performance.timeOrigin + performance.now()`, the clock Next stamps
/// entries with.
fn next_clock(env: &Env) -> napi::Result<Clock> {
  let performance: Object = env.get_global()?.get_named_property("performance")?;
  let time_origin: f64 = performance.get_named_property("timeOrigin")?;
  let now: Function<(), f64> = performance.get_named_property("now")?;
  Ok(Clock::anchored(time_origin + now.apply(performance, ())?))
}

/// Soft tags for one lookup: read from the argument here, or the `SoftTags` instance the
/// argument is, borrowed for the call.
enum LookupTags<'env> {
  Read(Vec<String>),
  Made(ClassInstance<'env, SoftTags>),
}

impl std::ops::Deref for LookupTags<'_> {
  type Target = [String];

  fn deref(&self) -> &[String] {
    match self {
      LookupTags::Read(tags) => tags,
      LookupTags::Made(made) => &made.tags,
    }
  }
}

impl LookupTags<'_> {
  fn into_owned(self) -> Vec<String> {
    match self {
      LookupTags::Read(tags) => tags,
      LookupTags::Made(made) => made.tags.clone(),
    }
  }
}

/// Soft tags as Next passes them (an array of strings), read without the generic `Input`
/// walk, or a `SoftTags` made earlier (no conversion at all); anything else goes through
/// `parse::lookup_tags`'s lenient rules (`tags::lookup_tag`).
fn lookup_tags<'env>(value: Option<&Unknown<'env>>) -> Result<LookupTags<'env>> {
  let Some(value) = value else {
    return Ok(LookupTags::Read(Vec::new()));
  };
  if value.get_type().js()? == ValueType::Object {
    // SAFETY: an object (`get_type`), as `cast` requires; a value of the current call.
    let object: Object = unsafe { value.cast() }.js()?;
    if !object.is_array().js()? {
      if let Some(made) = soft_tags_instance(value) {
        return Ok(LookupTags::Made(made));
      }
    } else {
      // SAFETY: an array (`is_array`), as `cast` requires.
      let array: Array = unsafe { value.cast() }.js()?;
      let mut tags = Vec::with_capacity(array.len().min(64) as usize);
      let mut simple = array.len() <= 4096;
      for i in 0..array.len().min(4096) {
        let tag = match array.get::<Unknown>(i).js()? {
          Some(item) => js_string(&item),
          None => None,
        };
        let Some(tag) = tag else {
          simple = false;
          continue;
        };
        tags.extend(lookup_tag(tag));
      }
      if simple {
        return Ok(LookupTags::Read(tags));
      }
    }
  }
  Ok(LookupTags::Read(parse::lookup_tags(&to_input(value).js()?)))
}

/// The `SoftTags` instance `value` is, if it is one, through napi-rs's public class-instance
/// conversion: `napi_unwrap`, then `napi_check_object_type_tag` against `SoftTags`' tag
/// (napi-rs 3.16.1, `bindgen_runtime/js_values/class.rs`, `impl FromNapiValue for
/// ClassInstance`), so another class's instance or a spoofed prototype is `None`, never a
/// wrong cast. As cheap as the two napi calls; `__test__/binding.test.js` pins the rejection.
fn soft_tags_instance<'env>(value: &Unknown<'env>) -> Option<ClassInstance<'env, SoftTags>> {
  let raw = value.value();
  // SAFETY: `raw` is an object argument of the current call, on its JS thread, and stays
  // alive (the call's scope holds it) as long as the `'env` borrow; `SoftTags` has no
  // `&mut self` methods and no JS runs while a lookup holds the instance, so the shared
  // borrow `ClassInstance` derefs to aliases no `&mut`.
  unsafe { ClassInstance::<SoftTags>::from_napi_value(raw.env, raw.value) }.ok()
}

fn string_arg(value: &Unknown, what: &str) -> Result<String> {
  if let Some(s) = js_string(value) {
    return Ok(s);
  }
  match to_input(value).js()? {
    Input::String(s) => Ok(s),
    other => Err(JsError::new(
      ErrorCode::InvalidOptions.as_str(),
      format!("{what} must be a string, got {}", other.describe()),
    )),
  }
}

impl TagCache {
  /// The queue that settles this cache's calls that leave the JS thread
  /// (`Completions::spawn`: the shared-store part on tokio, then `finish` on the JS thread),
  /// made on the first such call.
  fn completions(&self, env: &Env) -> napi::Result<&Arc<Completions>> {
    if let Some(made) = self.completions.get() {
      return Ok(made);
    }
    let made = Completions::new(env)?;
    Ok(self.completions.get_or_init(|| made))
  }

  /// Settles with `value` once the shared-store write (if any) is done.
  fn after_write<'env, V: ToNapiValue + Send + 'static>(
    &self,
    env: &'env Env,
    result: Result<(V, Option<SharedWrite>)>,
  ) -> napi::Result<Unknown<'env>> {
    match result {
      Ok((value, Some(write))) => {
        let engine = self.inner.clone();
        self.completions(env)?.spawn(
          env,
          move || async move { engine.write_shared(write).await },
          move |_, _| Ok(value),
        )
      }
      Ok((value, None)) => settle(env, Ok(value)),
      Err(err) => settle::<()>(env, Err(err)),
    }
  }
}

#[napi]
impl TagCache {
  /// Creates a cache. `options` (all optional): `cacheLife` (the app's custom profiles),
  /// `maxMemoryBytes` (default 128 MiB), `redisUrl` / `redisCluster` (share the cache),
  /// `keyPrefix`, `timeoutMs`, `localTtlMs`, `diskDir` / `maxDiskBytes` (the disk tier,
  /// opened here: its tag state is loaded before the first call). Connects to Redis lazily,
  /// on first use. Throws `ERR_INVALID_OPTIONS` (unknown key, bad value, unparsable URL) or
  /// `ERR_INVALID_CACHE_LIFE`; a disk directory that cannot be used is one stderr line and
  /// an in-memory cache, not an error.
  #[napi(constructor, catch_unwind)]
  pub fn new(
    env: Env,
    #[napi(ts_arg_type = "TagCacheOptions")] options: Option<Unknown>,
  ) -> Result<Self> {
    let options = opt_input(options.as_ref()).js()?;
    let clock = next_clock(&env).unwrap_or_default();
    let inner = Cache::with_clock(Options::parse(&options).js()?, clock).js()?;
    if let (Some(reason), Input::String(dir)) = (inner.disk_error(), options.field("diskDir")) {
      crate::log::warn(&format!(
        "the disk cache at {dir} is unavailable ({reason}); caching in memory only"
      ));
    }
    Ok(TagCache {
      inner: Arc::new(inner),
      home: JsHome::here(&env),
      completions: OnceLock::new(),
    })
  }

  /// Where entries live: `'memory'` (in process only, also when a configured `diskDir`
  /// could not be used), `'disk'` (in process, backed by the disk tier) or `'redis'`.
  #[napi(getter, ts_return_type = "'memory' | 'disk' | 'redis'")]
  pub fn storage(&self) -> &'static str {
    self.inner.storage()
  }

  /// Removes the entries whose key starts with `prefix` and does not start with `except`
  /// (e.g. old builds' pages: `deleteByPrefix('page:', 'page:<buildId>:')`), in process and in
  /// the store. Resolves to how many were removed (in the disk tier or Redis when there is
  /// one, else in process). On Redis it `SCAN`s every key in batches of 1000 (each primary of
  /// a cluster) and `UNLINK`s the matches: for purges, not requests. Rejects with
  /// `ERR_INVALID_OPTIONS` (not strings), `ERR_STORE`, `ERR_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn delete_by_prefix<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] prefix: Unknown,
    #[napi(ts_arg_type = "string")] except: Option<Unknown>,
  ) -> napi::Result<Unknown<'env>> {
    let args = (|| {
      let prefix = string_arg(&prefix, "prefix")?;
      let except = match except.as_ref() {
        None => None,
        Some(v) if matches!(v.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => None,
        Some(v) => Some(string_arg(v, "except")?),
      };
      self.inner.check_open().js()?;
      Ok((prefix, except))
    })();
    match args {
      Ok((prefix, except)) => {
        let engine = self.inner.clone();
        self.completions(env)?.spawn(
          env,
          move || async move { engine.delete_by_prefix(&prefix, except.as_deref()).await },
          |_, n| Ok(n as f64),
        )
      }
      Err(err) => settle::<()>(env, Err(err)),
    }
  }

  /// The entry for `key`, or `null` when missing, past `expire`, or when one of its tags or
  /// of `softTags` (Next's implicit `_N_T_` tags) expired after it was written.
  /// `status: 'stale'` when past `revalidate` or when a tag was revalidated with a profile
  /// (stale-while-revalidate). `value` is a Buffer over the store's bytes (not a copy): do
  /// not modify it. From an entry's second fresh hit on, fresh hits share one frozen object.
  #[napi(catch_unwind, ts_return_type = "Promise<CacheEntry | null>")]
  pub fn get<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "string[] | SoftTags")] soft_tags: Option<Unknown>,
  ) -> napi::Result<Unknown<'env>> {
    match self.lookup(&key, soft_tags.as_ref()) {
      Err(err) => settle::<()>(env, Err(err)),
      Ok((key, _, Lookup::Hit(hit))) => {
        settle(env, answer(env, &self.home, &self.inner, &key, hit))
      }
      Ok((_, _, Lookup::Miss)) => settle(env, Ok(None::<Made>)),
      Ok((key, soft_tags, Lookup::Shared)) => {
        let engine = self.inner.clone();
        let home = self.home.clone();
        self.completions(env)?.spawn(
          env,
          {
            let engine = engine.clone();
            let key = key.clone();
            move || async move { engine.get_shared(&key, &soft_tags).await }
          },
          move |env, hit| match hit {
            Some(hit) => answer(env, &home, &engine, &key, hit),
            None => Ok(None),
          },
        )
      }
    }
  }

  /// `get`'s in-process answer, synchronously (no Promise, no thread): the entry, `null`
  /// when it is known to be missing or expired, or `undefined` when only Redis can answer
  /// (then call `get`). The Next adapters use it so a memory hit costs one plain call.
  /// Throws what `get` rejects with.
  #[napi(catch_unwind, ts_return_type = "CacheEntry | null | undefined")]
  pub fn peek(
    &self,
    env: &Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "string[] | SoftTags")] soft_tags: Option<Unknown>,
  ) -> Result<Either3<Made, Null, Undefined>> {
    let (key, _, found) = self.lookup(&key, soft_tags.as_ref())?;
    Ok(match found {
      Lookup::Hit(hit) => match answer(env, &self.home, &self.inner, &key, hit)? {
        Some(made) => Either3::A(made),
        None => Either3::B(Null),
      },
      Lookup::Miss => Either3::B(Null),
      Lookup::Shared => Either3::C(()),
    })
  }

  /// The in-process part of `get`, with the arguments it needs for the shared part.
  fn lookup(
    &self,
    key: &Unknown,
    soft_tags: Option<&Unknown>,
  ) -> Result<(String, Vec<String>, Lookup<JsBuffer>)> {
    self.home.sweep();
    let key = string_arg(key, "key")?;
    let soft_tags = lookup_tags(soft_tags)?;
    let found = self.inner.get(&key, &soft_tags).js()?;
    // Only a read that goes on to Redis needs the tags past this call.
    let soft_tags = match found {
      Lookup::Shared => soft_tags.into_owned(),
      _ => Vec::new(),
    };
    Ok((key, soft_tags, found))
  }

  /// Stores `value` under `key`. `meta`: `tags?`, and either `profile?` (a cacheLife name or
  /// `{ stale, revalidate, expire }`) or explicit `stale` / `revalidate` / `expire` seconds
  /// (missing ones inherit from `default`); `timestamp?` ms (default now). `value` is a
  /// Buffer / Uint8Array, or an array of them (a stream's chunks, in order); the store keeps
  /// its own copy of the bytes, so the caller may reuse `value`.
  /// Rejects with `ERR_INVALID_TAG`, `ERR_TAG_TOO_LONG`, `ERR_UNKNOWN_PROFILE`,
  /// `ERR_INVALID_CACHE_LIFE`, `ERR_INVALID_OPTIONS`, `ERR_VALUE_TOO_LARGE`, `ERR_CLOSED`.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn set<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "Buffer | Uint8Array | Array<Buffer | Uint8Array>")] value: Unknown,
    #[napi(ts_arg_type = "SetMeta")] meta: Option<Unknown>,
  ) -> napi::Result<Unknown<'env>> {
    let result = opt_input(meta.as_ref())
      .js()
      .and_then(|meta| self.set_entry(&key, &value, &meta));
    self.after_write(env, result.map(|write| ((), write)))
  }

  /// `set` with the fields of a Next.js cache entry as arguments, in Next's units (seconds,
  /// `timestamp` in **ms**): `setNextEntry(key, value, entry.tags, entry.stale,
  /// entry.revalidate, entry.expire, entry.timestamp)` stores what `set(key, value, { tags,
  /// stale, revalidate, expire, timestamp })` stores, and rejects with the same codes. The
  /// Next adapters use it: reading an options object through napi costs more than the rest
  /// of a `set`.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  #[allow(clippy::too_many_arguments)]
  pub fn set_next_entry<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
    #[napi(ts_arg_type = "Buffer | Uint8Array | Array<Buffer | Uint8Array>")] value: Unknown,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
    #[napi(ts_arg_type = "number")] stale: Unknown,
    #[napi(ts_arg_type = "number")] revalidate: Unknown,
    #[napi(ts_arg_type = "number")] expire: Unknown,
    #[napi(ts_arg_type = "number")] timestamp: Unknown,
  ) -> napi::Result<Unknown<'env>> {
    let result = (|| {
      let meta = Input::Object(vec![
        ("tags".into(), to_input(&tags).js()?),
        ("stale".into(), number_input(&stale).js()?),
        ("revalidate".into(), number_input(&revalidate).js()?),
        ("expire".into(), number_input(&expire).js()?),
        ("timestamp".into(), number_input(&timestamp).js()?),
      ]);
      self.set_entry(&key, &value, &meta)
    })();
    self.after_write(env, result.map(|write| ((), write)))
  }

  fn set_entry(&self, key: &Unknown, value: &Unknown, meta: &Input) -> Result<Option<SharedWrite>> {
    self.home.sweep();
    let key = string_arg(key, "key")?;
    let Some(bytes) = JsBuffer::from_js(value).js()? else {
      return Err(JsError::new(
        ErrorCode::InvalidOptions.as_str(),
        format!(
          "value must be a Buffer, a Uint8Array or an array of them, got {}",
          to_input(value).js()?.describe()
        ),
      ));
    };
    self.inner.check_open().js()?;
    let meta = parse::set_meta(meta, self.inner.profiles(), self.inner.now()).js()?;
    self.inner.set(key, bytes, meta).js()
  }

  /// Removes one entry. Resolves to `true` if there was one.
  #[napi(catch_unwind, ts_return_type = "Promise<boolean>")]
  pub fn delete<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] key: Unknown,
  ) -> napi::Result<Unknown<'env>> {
    let result = string_arg(&key, "key").and_then(|k| self.inner.delete(&k).js());
    match result {
      Ok((removed, Some(write))) => {
        let engine = self.inner.clone();
        self.completions(env)?.spawn(
          env,
          move || async move { engine.write_shared(write).await },
          move |_, shared| Ok(removed || shared),
        )
      }
      Ok((removed, None)) => settle(env, Ok(removed)),
      Err(err) => settle::<()>(env, Err(err)),
    }
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
  ) -> napi::Result<Unknown<'env>> {
    let result = (|| {
      self.inner.check_open().js()?;
      let tags = parse::tags(&to_input(&tags).js()?, "tag").js()?;
      let profile = opt_input(profile.as_ref()).js()?;
      let durations = parse::revalidate_profile(&profile, self.inner.profiles()).js()?;
      self.inner.update_tags(&tags, durations).js()
    })();
    self.after_write(env, result.map(|write| ((), write)))
  }

  /// `updateTag(tag)`: the tag expires now (read-your-own-writes in a Server Action).
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn update_tag<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string")] tag: Unknown,
  ) -> napi::Result<Unknown<'env>> {
    let result = (|| {
      self.inner.check_open().js()?;
      let tags = parse::tags(&to_input(&tag).js()?, "tag").js()?;
      self.inner.update_tags(&tags, None).js()
    })();
    self.after_write(env, result.map(|write| ((), write)))
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
  ) -> napi::Result<Unknown<'env>> {
    let result = (|| {
      self.inner.check_open().js()?;
      let path = to_input(&path).js()?;
      let kind = opt_input(kind.as_ref()).js()?;
      let (path, kind) = parse::path(&path, &kind).js()?;
      self.inner.revalidate_path(&path, kind).js()
    })();
    self.after_write(env, result)
  }

  /// Next's low-level `updateTags(tags, durations?)`: with `{ expire }` (seconds) the tags
  /// are stale now and expire `expire` seconds from now; without durations they expire now.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn update_tags<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
    #[napi(ts_arg_type = "TagDurations")] durations: Option<Unknown>,
  ) -> napi::Result<Unknown<'env>> {
    let result = (|| {
      self.inner.check_open().js()?;
      let tags = parse::tags(&to_input(&tags).js()?, "tags").js()?;
      let durations = parse::update_durations(&opt_input(durations.as_ref()).js()?).js()?;
      self.inner.update_tags(&tags, durations).js()
    })();
    self.after_write(env, result.map(|write| ((), write)))
  }

  /// The latest time (**ms** since the epoch) at which one of `tags` expired, 0 if none.
  /// Expiries still in the future (a profile's stale-while-revalidate window) are left out.
  #[napi(catch_unwind, ts_return_type = "Promise<number>")]
  pub fn get_expiration<'env>(
    &self,
    env: &'env Env,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
  ) -> napi::Result<Unknown<'env>> {
    let result = to_input(&tags)
      .js()
      .and_then(|tags| self.inner.get_expiration(&parse::lookup_tags(&tags)).js());
    settle(env, result)
  }

  /// Each tag's state as this cache knows it now, in order: `{ tag, stale?, expired? }` (**ms**,
  /// absent where never set). Call `refreshTags()` first to include what other instances
  /// wrote. Tags that cannot have been revalidated (not strings, too long) are left out.
  /// Throws `ERR_CLOSED`.
  #[napi(catch_unwind)]
  pub fn tag_states(
    &self,
    #[napi(ts_arg_type = "string[]")] tags: Unknown,
  ) -> Result<Vec<TagStateInfo>> {
    let tags = parse::lookup_tags(&to_input(&tags).js()?);
    Ok(
      self
        .inner
        .tag_states(&tags)
        .js()?
        .into_iter()
        .map(|(tag, state)| TagStateInfo {
          tag,
          stale: state.stale,
          expired: state.expired,
        })
        .collect(),
    )
  }

  /// Pulls tag revalidations made by other instances from Redis: one round trip, work in
  /// proportion to what changed, skipped (settled at once) while the engine's subscription
  /// to tag-change announcements is live and has announced nothing since the last pull, at
  /// most 1 s ago. With the disk tier: the revalidations other processes sharing the
  /// directory committed, one indexed query on this thread (settled at once). Next calls it
  /// before a request's first cache read.
  /// Rejects with `ERR_STORE` (the last known tags stay in force). No-op in process.
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn refresh_tags<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
    // The disk tier's pull is one indexed query: done here, no thread hop.
    if let Err(err) = self.inner.refresh_disk_tags() {
      return settle::<()>(env, Err(err).js());
    }
    // In process, or nothing announced while the subscription is live: settle at once.
    if !self.inner.refresh_needed() {
      return settle(env, self.inner.check_open().js());
    }
    let engine = self.inner.clone();
    self.completions(env)?.spawn(
      env,
      move || async move { engine.refresh_tags().await },
      |_, ()| Ok(()),
    )
  }

  /// `softTags` converted once, for any number of `get` / `peek` calls: pass the result in
  /// place of the array. Next passes one implicit-tags array to every cache read of a
  /// request, so the adapters convert it once per array. Same lenient rules as `get`'s
  /// `softTags` (empty, too long or non-string items are skipped); never throws on tags.
  #[napi(catch_unwind)]
  pub fn soft_tags(&self, #[napi(ts_arg_type = "string[]")] tags: Unknown) -> Result<SoftTags> {
    Ok(SoftTags {
      tags: lookup_tags(Some(&tags))?.into_owned(),
    })
  }

  /// A profile by name or `{ stale?, revalidate?, expire? }`, resolved against the
  /// `cacheLife` config, in **seconds**. Throws `ERR_UNKNOWN_PROFILE` or
  /// `ERR_INVALID_CACHE_LIFE`.
  #[napi(catch_unwind)]
  pub fn resolve_profile(
    &self,
    #[napi(ts_arg_type = "string | CacheLifeInput")] profile: Unknown,
  ) -> Result<CacheLifeProfile> {
    let life = self
      .inner
      .profiles()
      .resolve(&to_input(&profile).js()?)
      .js()?;
    Ok(CacheLifeProfile {
      stale: life.stale,
      revalidate: life.revalidate,
      expire: life.expire,
    })
  }

  /// Counters, gauges and operation latencies in the Prometheus text exposition format
  /// (version 0.0.4): `tagcache_gets_total{result="hit"|"stale"|"miss"}`,
  /// `tagcache_sets_total`, `tagcache_evictions_total`, `tagcache_tag_updates_total`,
  /// `tagcache_store_errors_total`, gauges `tagcache_entries`, `tagcache_bytes`,
  /// `tagcache_disk_entries`, `tagcache_disk_bytes`, and the histogram
  /// `tagcache_operation_duration_seconds{op="get"|"set"|"tag_update"|"refresh",
  /// tier="memory"|"disk"|"redis"}` (seconds; gets answered in process are counted, not
  /// timed). `tagcache/next/metrics` serves it as a route.
  #[napi(catch_unwind)]
  pub fn metrics(&self) -> String {
    self.inner.metrics()
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
      shared_reads: s.shared_reads as f64,
      disk_reads: s.disk_reads as f64,
      disk_entries: s.disk_entries as f64,
      disk_bytes: s.disk_bytes as f64,
    }
  }

  /// Blocks until the disk tier has committed every entry write queued so far (writes are
  /// write-behind); for a process about to exit (`process.on('exit', () => cache.flush())`).
  /// No-op without a disk tier. Tag updates need no flush: they resolve once durable.
  #[napi(catch_unwind)]
  pub fn flush(&self) {
    self.inner.flush();
  }

  /// Drops every entry and disconnects; later calls reject with `ERR_CLOSED`. With the disk
  /// tier it resolves once the queued entry writes are committed (waited for off the JS
  /// thread).
  #[napi(catch_unwind, ts_return_type = "Promise<void>")]
  pub fn close<'env>(&self, env: &'env Env) -> napi::Result<Unknown<'env>> {
    self.inner.close();
    self.home.sweep();
    if self.inner.storage() != "disk" {
      return settle(env, Ok(()));
    }
    let engine = self.inner.clone();
    self.completions(env)?.spawn(
      env,
      move || async move {
        tokio::task::spawn_blocking(move || engine.join_disk())
          .await
          .map_err(|e| crate::error::Error::new(ErrorCode::Store, e.to_string()))
      },
      |_, ()| Ok(()),
    )
  }
}
