//! The payload the binding stores: the caller's JS `Buffer`, kept by reference (no copy).

use napi::bindgen_prelude::*;
use parking_lot::Mutex;

use crate::store::Payload;

/// A JS Buffer held by a napi reference. napi's `Buffer` drops its reference safely from any
/// thread. It has no by-reference conversion back to JS, so `to_js` takes the reference out,
/// converts it (which yields the same JS object) and re-takes a reference on that object.
pub struct JsBuffer {
  buffer: Mutex<Buffer>,
  len: usize,
}

impl JsBuffer {
  pub fn new(buffer: Buffer) -> Self {
    JsBuffer {
      len: buffer.len(),
      buffer: Mutex::new(buffer),
    }
  }

  /// The stored Buffer, as the same JS object every time (no copy). JS thread only.
  pub fn to_js(&self, env: &Env) -> Result<Buffer> {
    let mut guard = self.buffer.lock();
    let taken = std::mem::take(&mut *guard);
    let raw = unsafe { Buffer::to_napi_value(env.raw(), taken)? };
    *guard = unsafe { Buffer::from_napi_value(env.raw(), raw)? };
    unsafe { Buffer::from_napi_value(env.raw(), raw) }
  }
}

impl Payload for JsBuffer {
  fn byte_len(&self) -> usize {
    self.len
  }
}
