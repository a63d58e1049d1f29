//! The payload the binding stores: bytes copied from JS on `set` (or read from Redis), kept in
//! Rust and lent to JS as external Buffers; a hot entry's fresh-hit object is cached.

use std::ffi::c_void;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{check_status, sys};

use super::js_ref::{JsHome, JsRef};
use crate::store::Payload;

/// An entry's bytes, owned by Rust for the entry's life, in one allocation. Each Buffer
/// handed to JS is an external Buffer over them (no copy) holding its own count of the
/// `Arc`, so the bytes outlive both the entry and every Buffer (and a cached object's
/// Buffer does not keep the entry, whose reference keeps the object: no cycle). Copying on
/// `set` is one memcpy; keeping the caller's Buffer by reference instead cost a napi
/// reference and a finalizer per entry. 24 B beside the bytes: this is in every entry.
pub struct JsBuffer {
  bytes: Arc<[u8]>,
  /// The frozen `CacheEntry` object fresh hits return once the entry is hot (the entry's
  /// metadata never changes once stored), so such a hit creates no JS values.
  hot: HotObject,
}

impl JsBuffer {
  /// Copies `value`: a Buffer / Uint8Array, or an array of them (a stream's chunks, joined
  /// here without an intermediate JS Buffer). `Ok(None)` for anything else.
  pub fn from_js(value: &Unknown) -> Result<Option<Self>> {
    let raw = value.value();
    if let Some(view) = uint8_view(raw.env, raw.value)? {
      // One Buffer (a `set`, or a stream of one chunk): copied straight into place.
      let mut bytes = Arc::<[u8]>::new_uninit_slice(view.len);
      let Some(into) = Arc::get_mut(&mut bytes) else {
        return Err(Error::from_reason("a new Arc is unique"));
      };
      view.copy_to(into);
      // SAFETY: `copy_to` wrote all `view.len` bytes of `into`, the whole slice.
      return Ok(Some(Self::from_arc(unsafe { bytes.assume_init() })));
    }
    let mut bytes = Vec::new();
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
      let Some(view) = uint8_view(raw.env, item)? else {
        return Ok(None);
      };
      view.append_to(&mut bytes);
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
    self.hot.get()
  }

  /// Counts a fresh hit; true when the entry is now hot (its object is worth caching): an
  /// entry read once (a page built once, then evicted) pins no JS objects.
  pub fn hot_after_hit(&self) -> bool {
    self.hot.hit()
  }

  /// Caches the fresh-hit object (the first one wins). Safe on any thread: `entry` was made
  /// on the JS thread (`JsRef::new` checks), and a `JsRef` drops safely anywhere.
  pub fn keep_fresh_entry(&self, entry: JsRef) {
    self.hot.keep(entry);
  }

  fn from_arc(bytes: Arc<[u8]>) -> Self {
    JsBuffer {
      bytes,
      hot: HotObject(AtomicPtr::new(ptr::null_mut())),
    }
  }
}

/// An entry's fresh-hit state in one word: null (no fresh hit yet), `SEEN` (one), or the
/// boxed reference to its cached object (from the second fresh hit on; never replaced).
struct HotObject(AtomicPtr<JsRef>);

/// One fresh hit so far: an odd address, which no `JsRef` box has.
const SEEN: *mut JsRef = ptr::without_provenance_mut(1);

impl HotObject {
  fn get(&self) -> Option<&JsRef> {
    let p = self.0.load(Ordering::Acquire);
    if p.is_null() || p == SEEN {
      return None;
    }
    // SAFETY: any other value is a `Box::into_raw` that `keep` stored, never replaced and
    // freed only by `drop` (which `&self` rules out now).
    Some(unsafe { &*p })
  }

  /// True when this hit finds the entry seen before.
  fn hit(&self) -> bool {
    let p = self.0.load(Ordering::Relaxed);
    if p.is_null() {
      let _ = self
        .0
        .compare_exchange(p, SEEN, Ordering::Relaxed, Ordering::Relaxed);
      return false;
    }
    true
  }

  fn keep(&self, entry: JsRef) {
    let boxed = Box::into_raw(Box::new(entry));
    let mut current = self.0.load(Ordering::Acquire);
    loop {
      if !current.is_null() && current != SEEN {
        // SAFETY: `boxed` was not stored (another object won): it is still ours alone.
        drop(unsafe { Box::from_raw(boxed) });
        return;
      }
      match self
        .0
        .compare_exchange(current, boxed, Ordering::AcqRel, Ordering::Acquire)
      {
        Ok(_) => return,
        Err(now) => current = now,
      }
    }
  }
}

impl Drop for HotObject {
  fn drop(&mut self) {
    let p = *self.0.get_mut();
    if !p.is_null() && p != SEEN {
      // SAFETY: a box `keep` stored, freed once, here.
      drop(unsafe { Box::from_raw(p) });
    }
  }
}

/// An external Buffer over `bytes` that holds one count of the `Arc` until V8 collects it
/// (`release`); a copy where the runtime refuses external buffers (Electron), and a plain
/// empty Buffer for no bytes.
fn lend(env: sys::napi_env, bytes: &Arc<[u8]>) -> Result<sys::napi_value> {
  let mut raw = ptr::null_mut();
  if bytes.is_empty() {
    // SAFETY: the caller runs on the env's JS thread (`to_js` checks); out pointers.
    check_status!(unsafe { sys::napi_create_buffer(env, 0, ptr::null_mut(), &mut raw) })?;
    return Ok(raw);
  }
  // Boxed: an `Arc<[u8]>` is a wide pointer, and the hint is one word.
  let hint = Box::into_raw(Box::new(bytes.clone()));
  // SAFETY: on the env's JS thread; `bytes` stays valid while `hint`'s count lives, which
  // `release` gives back once V8 frees the Buffer. napi never writes through `data`; JS
  // could, which `get`'s doc, `index.d.ts` and the README tell callers not to do (the bytes
  // are every hit's). Rust reads the bytes (`with_bytes`) only in `set`, before any hit can
  // lend them, and afterwards only copies them through raw pointers or frees them.
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
  drop(unsafe { Box::from_raw(hint) });
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
  drop(unsafe { Box::from_raw(hint as *mut Arc<[u8]>) });
}

/// The bytes a Uint8Array (Buffers are) views, as napi reports them: valid until JS runs
/// again, so copied before the next napi call that may run JS.
struct View {
  data: *const u8,
  len: usize,
  /// A SharedArrayBuffer's memory, which another thread may write while it is copied.
  shared: bool,
}

impl View {
  /// Copies the bytes into `out`, of `self.len` bytes.
  fn copy_to(&self, out: &mut [MaybeUninit<u8>]) {
    let out = &mut out[..self.len];
    if self.len == 0 {
      return;
    }
    if !self.shared {
      // SAFETY: `data` points at the view's first byte (offset applied) and `len` bytes
      // follow, owned by an ArrayBuffer the current call keeps alive; only this (JS)
      // thread can touch it, and no JS ran since `uint8_view` read it. `out` is distinct
      // Rust memory of `len` bytes.
      unsafe { ptr::copy_nonoverlapping(self.data, out.as_mut_ptr().cast::<u8>(), self.len) };
    } else {
      // SAFETY: as above, except that another thread may write the memory meanwhile: read
      // as relaxed atomics (as V8 copies shared memory), never as a `&[u8]`. `AtomicU8` has
      // `u8`'s size and alignment.
      let shared = unsafe { std::slice::from_raw_parts(self.data.cast::<AtomicU8>(), self.len) };
      for (to, from) in out.iter_mut().zip(shared) {
        to.write(from.load(Ordering::Relaxed));
      }
    }
  }

  /// Appends the bytes to `out`.
  fn append_to(&self, out: &mut Vec<u8>) {
    let start = out.len();
    out.reserve(self.len);
    self.copy_to(out.spare_capacity_mut());
    // SAFETY: `copy_to` initialized the `self.len` bytes past the old length.
    unsafe { out.set_len(start + self.len) };
  }
}

/// The bytes `value` views if it is a Uint8Array; `None` for anything else.
fn uint8_view(env: sys::napi_env, value: sys::napi_value) -> Result<Option<View>> {
  let mut is_typed_array = false;
  check_status!(
    // SAFETY: `value` is a value of the current call on its JS thread; out pointer.
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
    return Ok(None);
  }
  if length == 0 || data.is_null() {
    return Ok(Some(View {
      data: ptr::null(),
      len: 0,
      shared: false,
    }));
  }
  // napi_is_arraybuffer says false for a SharedArrayBuffer.
  let mut unshared = false;
  check_status!(
    // SAFETY: `array_buffer` is the view's buffer, a value of this call; out pointer.
    unsafe { sys::napi_is_arraybuffer(env, array_buffer, &mut unshared) },
    "Failed to check for an ArrayBuffer"
  )?;
  Ok(Some(View {
    data: data.cast::<u8>().cast_const(),
    len: length,
    shared: !unshared,
  }))
}

impl Payload for JsBuffer {
  fn byte_len(&self) -> usize {
    self.bytes.len()
  }

  fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
    f(&self.bytes)
  }

  /// Bytes joined from chunks or read from a store: copied once into their allocation.
  fn from_bytes(bytes: Vec<u8>) -> Self {
    Self::from_arc(Arc::from(bytes))
  }

  /// The copy of `from_bytes` replaces moving the tail to the front: the same cost.
  fn from_tail(bytes: Vec<u8>, start: usize) -> Self {
    Self::from_arc(Arc::from(&bytes[start..]))
  }
}
