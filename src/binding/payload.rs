//! The payload the binding stores: a JS `Buffer`, kept by reference when it owns its memory.

use std::ptr;
use std::sync::OnceLock;

use napi::bindgen_prelude::*;
use napi::{check_status, sys, JsValue};
use parking_lot::Mutex;

use super::js_ref::JsRef;
use crate::store::Payload;

/// A JS Buffer held by a napi reference. napi's `Buffer` drops its reference safely from any
/// thread. It has no by-reference conversion back to JS, so `to_js` takes the reference out,
/// converts it (which yields the same JS object) and re-takes a reference on that object.
pub struct JsBuffer {
  buffer: Mutex<Buffer>,
  len: usize,
  /// The frozen `CacheEntry` object a fresh hit returns, built on the first such hit (the
  /// entry's metadata never changes once stored), so a hit creates no JS values.
  fresh_entry: OnceLock<JsRef>,
}

impl JsBuffer {
  /// Keeps `value` (a Buffer or Uint8Array) by reference when it spans its whole
  /// ArrayBuffer. A view into a larger one (small Buffers share Node's 8 KiB pool) is
  /// copied, so the store never keeps alive memory it does not count. `Ok(None)` when
  /// `value` is not a Uint8Array.
  pub fn from_js(value: &Unknown) -> Result<Option<Self>> {
    let raw = value.value();
    let Some(partial) = uint8_view(raw.env, raw.value)? else {
      return Ok(None);
    };
    let buffer = if partial {
      let view: BufferSlice = unsafe { value.cast()? };
      Buffer::from(view.to_vec())
    } else {
      unsafe { value.cast::<Buffer>()? }
    };
    Ok(Some(JsBuffer {
      len: buffer.len(),
      buffer: Mutex::new(buffer),
      fresh_entry: OnceLock::new(),
    }))
  }

  /// The stored Buffer, as the same JS object every time (no copy). JS thread only.
  pub fn to_js(&self, env: &Env) -> Result<Buffer> {
    let mut guard = self.buffer.lock();
    let taken = std::mem::take(&mut *guard);
    let raw = unsafe { Buffer::to_napi_value(env.raw(), taken)? };
    *guard = unsafe { Buffer::from_napi_value(env.raw(), raw)? };
    unsafe { Buffer::from_napi_value(env.raw(), raw) }
  }

  /// The cached fresh-hit object, if a hit built one.
  pub fn fresh_entry(&self) -> Option<&JsRef> {
    self.fresh_entry.get()
  }

  /// Caches the fresh-hit object (the first one wins).
  pub fn keep_fresh_entry(&self, entry: JsRef) {
    let _ = self.fresh_entry.set(entry);
  }
}

/// For a Uint8Array (Buffers are), whether it covers only part of its ArrayBuffer; `None`
/// for anything else.
fn uint8_view(env: sys::napi_env, value: sys::napi_value) -> Result<Option<bool>> {
  let mut is_typed_array = false;
  check_status!(
    unsafe { sys::napi_is_typedarray(env, value, &mut is_typed_array) },
    "Failed to check for a typed array"
  )?;
  if !is_typed_array {
    return Ok(None);
  }
  let mut kind = 0;
  let mut length = 0usize;
  let mut data = ptr::null_mut();
  let mut array_buffer = ptr::null_mut();
  let mut offset = 0usize;
  check_status!(
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
    return Ok(None);
  }
  let mut total = 0usize;
  check_status!(
    unsafe { sys::napi_get_arraybuffer_info(env, array_buffer, &mut data, &mut total) },
    "Failed to read the Buffer's ArrayBuffer"
  )?;
  Ok(Some(offset != 0 || length != total))
}

impl Payload for JsBuffer {
  fn byte_len(&self) -> usize {
    self.len
  }

  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
    f(&self.buffer.lock())
  }

  /// Rust-owned bytes (from Redis); they become one external JS Buffer on the first `to_js`.
  fn from_bytes(bytes: Vec<u8>) -> Self {
    JsBuffer {
      len: bytes.len(),
      buffer: Mutex::new(Buffer::from(bytes)),
      fresh_entry: OnceLock::new(),
    }
  }
}
