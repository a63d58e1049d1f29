//! The payload the binding stores: bytes copied from JS on `set` (or read from Redis), kept in
//! Rust and lent to JS as external Buffers; a hot entry's fresh-hit object is cached.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use once_cell::race::OnceBox;

use napi::bindgen_prelude::*;
use napi::{check_status, sys};

use super::js_ref::{JsHome, JsRef};
use crate::store::Payload;

/// Fresh hits of one entry before its `CacheEntry` object is cached: an entry read once
/// (a page built once, then evicted) pins no JS objects; one read again is hot.
const HOT_AFTER: u8 = 2;

/// An entry's bytes, owned by Rust for the entry's life. Each Buffer handed to JS is an
/// external Buffer over them (no copy) holding its own count of the `Arc`, so the bytes
/// outlive both the entry and every Buffer (and a cached object's Buffer does not keep
/// the entry, whose reference keeps the object: no cycle). Copying on `set` is one memcpy; keeping the
/// caller's Buffer by reference instead cost a napi reference and a finalizer per entry.
pub struct JsBuffer {
  bytes: Arc<Vec<u8>>,
  fresh_hits: AtomicU8,
  /// The frozen `CacheEntry` object a fresh hit of a hot entry returns (the entry's
  /// metadata never changes once stored), so such a hit creates no JS values. A `OnceBox`
  /// (one pointer; the box only for hot entries) rather than a `OnceLock` (24 B in every
  /// entry).
  fresh_entry: OnceBox<JsRef>,
}

impl JsBuffer {
  /// Copies `value`: a Buffer / Uint8Array, or an array of them (a stream's chunks, joined
  /// here without an intermediate JS Buffer). `Ok(None)` for anything else.
  pub fn from_js(value: &Unknown) -> Result<Option<Self>> {
    let raw = value.value();
    let mut bytes = Vec::new();
    if append_uint8(raw.env, raw.value, &mut bytes)? {
      return Ok(Some(Self::from_bytes(bytes)));
    }
    let mut is_array = false;
    // SAFETY: `raw` is a value of the current call, on its JS thread (napi calls our
    // methods there); `is_array` is an out pointer napi writes once.
    check_status!(unsafe { sys::napi_is_array(raw.env, raw.value, &mut is_array) })?;
    if !is_array {
      return Ok(None);
    }
    let mut count = 0u32;
    // SAFETY: as above; `raw` is an array (checked), `count` an out pointer.
    check_status!(unsafe { sys::napi_get_array_length(raw.env, raw.value, &mut count) })?;
    // Each chunk is copied before the next element is read: reading one may run a getter
    // that detaches or rewrites an earlier chunk's memory.
    for i in 0..count {
      let mut item = ptr::null_mut();
      // SAFETY: `raw` is a live array on the JS thread during this call; `item` is an out
      // pointer napi writes one value to.
      check_status!(unsafe { sys::napi_get_element(raw.env, raw.value, i, &mut item) })?;
      if !append_uint8(raw.env, item, &mut bytes)? {
        return Ok(None);
      }
    }
    Ok(Some(Self::from_bytes(bytes)))
  }

  /// A new external Buffer over the bytes, a value of the current call. Errs, changing
  /// nothing, off `home`'s JS thread.
  pub fn to_js(&self, home: &JsHome, env: &Env) -> Result<sys::napi_value> {
    home.check(env)?;
    lend(env.raw(), &self.bytes)
  }

  /// The cached fresh-hit object, if the entry is hot and a hit built one.
  pub fn fresh_entry(&self) -> Option<&JsRef> {
    self.fresh_entry.get()
  }

  /// Counts a fresh hit; true when the entry is now hot (its object is worth caching).
  pub fn hot_after_hit(&self) -> bool {
    let before = self.fresh_hits.load(Ordering::Relaxed);
    if before < HOT_AFTER {
      self.fresh_hits.store(before + 1, Ordering::Relaxed);
    }
    before + 1 >= HOT_AFTER
  }

  /// Caches the fresh-hit object (the first one wins). Safe on any thread: `entry` was made
  /// on the JS thread (`JsRef::new` checks), and a `JsRef` drops safely anywhere.
  pub fn keep_fresh_entry(&self, entry: JsRef) {
    let _ = self.fresh_entry.set(Box::new(entry));
  }
}

/// An external Buffer over `bytes` that holds one count of the `Arc` until V8 collects it
/// (`release`); a copy where the runtime refuses external buffers (Electron), and a plain
/// empty Buffer for no bytes.
fn lend(env: sys::napi_env, bytes: &Arc<Vec<u8>>) -> Result<sys::napi_value> {
  let mut raw = ptr::null_mut();
  if bytes.is_empty() {
    // SAFETY: the caller runs on the env's JS thread (`to_js` checks); out pointers.
    check_status!(unsafe { sys::napi_create_buffer(env, 0, ptr::null_mut(), &mut raw) })?;
    return Ok(raw);
  }
  let hint = Arc::into_raw(bytes.clone());
  // SAFETY: on the env's JS thread; `bytes` stays valid while `hint`'s count lives, which
  // `release` gives back once V8 frees the Buffer. napi never writes through `data` (the
  // bytes are shared): JS could, which the API documents as not to be done.
  let status = unsafe {
    sys::napi_create_external_buffer(
      env,
      bytes.len(),
      bytes.as_ptr() as *mut c_void,
      Some(release),
      hint as *mut c_void,
      &mut raw,
    )
  };
  if status == sys::Status::napi_ok {
    return Ok(raw);
  }
  // SAFETY: creation failed, so napi did not take `hint`: its count is ours to give back.
  drop(unsafe { Arc::from_raw(hint) });
  if status != sys::Status::napi_no_external_buffers_allowed {
    check_status!(status, "Failed to create a Buffer")?;
  }
  let mut data = ptr::null_mut();
  // SAFETY: on the env's JS thread; napi copies `bytes.len()` bytes from `bytes`.
  check_status!(unsafe {
    sys::napi_create_buffer_copy(env, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut raw)
  })?;
  Ok(raw)
}

/// An external Buffer's finalizer: gives back its count of the bytes.
unsafe extern "C" fn release(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  // SAFETY: `hint` is the count `lend` handed to this Buffer, given back once, here.
  drop(unsafe { Arc::from_raw(hint as *const Vec<u8>) });
}

/// Appends the bytes a Uint8Array (Buffers are) views to `out`; `false` (nothing appended)
/// for anything else. Copied at once: no JS runs between reading the view and the copy.
fn append_uint8(env: sys::napi_env, value: sys::napi_value, out: &mut Vec<u8>) -> Result<bool> {
  let mut is_typed_array = false;
  check_status!(
    // SAFETY: `value` is a value of the current call on its JS thread; out pointer.
    unsafe { sys::napi_is_typedarray(env, value, &mut is_typed_array) },
    "Failed to check for a typed array"
  )?;
  if !is_typed_array {
    return Ok(false);
  }
  let mut kind = 0;
  let mut length = 0usize;
  let mut data = ptr::null_mut();
  let mut array_buffer = ptr::null_mut();
  let mut offset = 0usize;
  check_status!(
    // SAFETY: `value` is a typed array (checked) of the current call; out pointers.
    unsafe {
      sys::napi_get_typedarray_info(
        env,
        value,
        &mut kind,
        &mut length,
        &mut data,
        &mut array_buffer,
        &mut offset,
      )
    },
    "Failed to read the Buffer's typed array info"
  )?;
  if kind != sys::TypedarrayType::uint8_array {
    return Ok(false);
  }
  if length == 0 || data.is_null() {
    return Ok(true);
  }
  // A SharedArrayBuffer (napi_is_arraybuffer says false for one) may be written by another
  // thread while it is copied.
  let mut unshared = false;
  check_status!(
    // SAFETY: `array_buffer` is the view's buffer, a value of this call; out pointer.
    unsafe { sys::napi_is_arraybuffer(env, array_buffer, &mut unshared) },
    "Failed to check for an ArrayBuffer"
  )?;
  if unshared {
    // SAFETY: `data` points at the view's first byte (offset applied) and `length` bytes
    // follow, owned by an ArrayBuffer that this call keeps alive; only this (JS) thread
    // can touch it, and no JS runs until the copy is done.
    out.extend_from_slice(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), length) });
  } else {
    // SAFETY: as above, except that another thread may write the memory meanwhile: read as
    // relaxed atomics (as V8 copies shared memory), never as a `&[u8]`. `AtomicU8` has
    // `u8`'s size and alignment.
    let shared = unsafe { std::slice::from_raw_parts(data.cast::<AtomicU8>(), length) };
    out.extend(shared.iter().map(|b| b.load(Ordering::Relaxed)));
  }
  Ok(true)
}

impl Payload for JsBuffer {
  fn byte_len(&self) -> usize {
    self.bytes.len()
  }

  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
    f(&self.bytes)
  }

  fn from_bytes(bytes: Vec<u8>) -> Self {
    JsBuffer {
      bytes: Arc::new(bytes),
      fresh_hits: AtomicU8::new(0),
      fresh_entry: OnceBox::new(),
    }
  }
}
