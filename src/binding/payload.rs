//! The payload the binding stores: bytes copied from JS on `set` (or read from Redis), which
//! become one JS `Buffer` on the first hit and stay that same Buffer for every later hit.

use std::ptr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use napi::bindgen_prelude::*;
use napi::{check_status, sys, JsValue};
use parking_lot::Mutex;

use super::js_ref::{JsHome, JsRef};
use crate::store::Payload;

/// An entry's bytes: Rust-owned until the first hit hands them to JS as an external Buffer
/// (no copy), then that Buffer, held by a napi reference (which napi drops safely from any
/// thread). Copying on `set` is one memcpy; keeping the caller's Buffer by reference instead
/// cost a napi reference and a finalizer per entry, more time and memory than the copy.
pub struct JsBuffer {
  /// `None` once the fresh-hit object exists: it holds the Buffer, one reference is enough.
  buffer: Mutex<Option<Buffer>>,
  len: usize,
  /// The frozen `CacheEntry` object a fresh hit returns, built on the first such hit (the
  /// entry's metadata never changes once stored), so a hit creates no JS values.
  fresh_entry: OnceLock<JsRef>,
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

  /// The entry's Buffer, the same JS object on every call (made from the bytes, without a
  /// copy, on the first). Errs, changing nothing, off `home`'s JS thread.
  pub fn to_js(&self, home: &JsHome, env: &Env) -> Result<Buffer> {
    home.check(env)?;
    let mut guard = self.buffer.lock();
    let Some(taken) = guard.take() else {
      drop(guard);
      let Some(fresh) = self.fresh_entry.get() else {
        return Err(Error::from_reason("an entry without bytes"));
      };
      return Object::from_raw(env.raw(), fresh.value(env)?).get_named_property("value");
    };
    // SAFETY: `env` is the current call's env on its JS thread (checked above); this hands
    // `taken` to JS: an external Buffer over its bytes, or the JS Buffer it referenced.
    let raw = unsafe { Buffer::to_napi_value(env.raw(), taken)? };
    // SAFETY: `raw` is that Buffer, a value of this call; this references it, to keep it.
    *guard = Some(unsafe { Buffer::from_napi_value(env.raw(), raw)? });
    // SAFETY: as above, a second reference, for the caller.
    unsafe { Buffer::from_napi_value(env.raw(), raw) }
  }

  /// `to_js`, or with `keep` false (an entry no tier holds, answering once) the bytes as
  /// they are, taken: napi makes the external Buffer when the answer is converted, and no
  /// reference to it is kept.
  pub fn to_js_kept_if(&self, keep: bool, home: &JsHome, env: &Env) -> Result<Buffer> {
    if !keep {
      if let Some(taken) = self.buffer.lock().take() {
        return Ok(taken);
      }
    }
    self.to_js(home, env)
  }

  /// The cached fresh-hit object, if a hit built one.
  pub fn fresh_entry(&self) -> Option<&JsRef> {
    self.fresh_entry.get()
  }

  /// Caches the fresh-hit object (the first one wins) and lets go of the Buffer, which the
  /// object holds. Safe on any thread: `entry` was made on the JS thread (`JsRef::new`
  /// checks), and a `JsRef` or a Buffer drops safely anywhere.
  pub fn keep_fresh_entry(&self, entry: JsRef) {
    if self.fresh_entry.set(entry).is_ok() {
      *self.buffer.lock() = None;
    }
  }
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
    self.len
  }

  /// The bytes, while Rust still holds them: `set` encodes an entry for Redis before any hit
  /// can hand its Buffer over to the fresh-hit object (after that this sees no bytes).
  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
    let guard = self.buffer.lock();
    debug_assert!(guard.is_some(), "with_bytes after the first fresh hit");
    f(guard.as_deref().unwrap_or_default())
  }

  /// Rust-owned bytes (from Redis); they become one external JS Buffer on the first `to_js`.
  fn from_bytes(bytes: Vec<u8>) -> Self {
    JsBuffer {
      len: bytes.len(),
      buffer: Mutex::new(Some(Buffer::from(bytes))),
      fresh_entry: OnceLock::new(),
    }
  }
}
