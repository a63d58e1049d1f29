//! `CacheEntry` objects made by a JS object literal instead of napi property definitions.
//!
//! napi-rs builds a `#[napi(object)]` with `napi_define_properties`, which V8 runs on its
//! slow path (a map transition per property: ~9 % of a 64-in-flight Redis get, perf). A
//! literal in a function V8 compiles once gets one boilerplate shape: the factory below is
//! made once per home (`napi_run_script`) and called with the eight fields: a stale
//! in-process `peek` went from 3.6 to 2.4 µs. Should the script ever fail to compile, entries
//! are made the napi way (Node's `--disallow-code-generation-from-strings` does not stop
//! `napi_run_script`).

use std::ptr;

use napi::bindgen_prelude::{Env, ToNapiValue};
use napi::{check_status, sys};

use super::js_ref::JsHome;
use super::types::CacheEntry;

const FACTORY: &str = "(function cacheEntry(value, tags, stale, revalidate, expire, timestamp, \
                       status, revalidated) { return { value, tags, stale, revalidate, expire, \
                       timestamp, status, revalidated } })";

/// `entry` as a JS object, a value of the current call. Errs off `home`'s JS thread.
pub fn make(env: &Env, home: &JsHome, entry: CacheEntry) -> napi::Result<sys::napi_value> {
  home.check(env)?;
  let raw_env = env.raw();
  let factory = home.factory(|| compile(raw_env));
  if factory == 0 {
    // SAFETY: on the current call's JS thread with its env (checked above).
    return unsafe { CacheEntry::to_napi_value(raw_env, entry) };
  }
  let mut function = ptr::null_mut();
  // SAFETY: `factory` is the home's strong reference, made in this env on this thread.
  check_status!(unsafe {
    sys::napi_get_reference_value(raw_env, factory as sys::napi_ref, &mut function)
  })?;
  let CacheEntry {
    value,
    tags,
    stale,
    revalidate,
    expire,
    timestamp,
    status,
    revalidated,
  } = entry;
  // SAFETY: each conversion runs on the current call's JS thread with its env and makes a
  // value of this call; `value` is one already (`Made`).
  let args = unsafe {
    [
      ToNapiValue::to_napi_value(raw_env, value)?,
      ToNapiValue::to_napi_value(raw_env, tags)?,
      ToNapiValue::to_napi_value(raw_env, stale)?,
      ToNapiValue::to_napi_value(raw_env, revalidate)?,
      ToNapiValue::to_napi_value(raw_env, expire)?,
      ToNapiValue::to_napi_value(raw_env, timestamp)?,
      ToNapiValue::to_napi_value(raw_env, status)?,
      ToNapiValue::to_napi_value(raw_env, revalidated)?,
    ]
  };
  let mut receiver = ptr::null_mut();
  let mut object = ptr::null_mut();
  // SAFETY: as above; `function` is the factory (it only builds a literal: it cannot
  // throw), called with `args.len()` values of this call.
  check_status!(unsafe {
    sys::napi_get_undefined(raw_env, &mut receiver);
    sys::napi_call_function(
      raw_env,
      receiver,
      function,
      args.len(),
      args.as_ptr(),
      &mut object,
    )
  })?;
  Ok(object)
}

/// The factory, compiled and referenced (a raw `napi_ref`), or `0` where it cannot be (the
/// exception that says why is cleared: nothing is pending after this).
fn compile(env: sys::napi_env) -> usize {
  let mut pending = false;
  // SAFETY: on the env's JS thread (`make` checked); an out pointer. An exception pending
  // before the compile is not this call's to clear: no factory this time.
  if unsafe { sys::napi_is_exception_pending(env, &mut pending) } != sys::Status::napi_ok || pending
  {
    return 0;
  }
  let mut source = ptr::null_mut();
  let mut function = ptr::null_mut();
  let mut reference = ptr::null_mut();
  // SAFETY: on the env's JS thread (`make` checked); a static UTF-8 string with its
  // length; out pointers.
  let made = unsafe {
    sys::napi_create_string_utf8(
      env,
      FACTORY.as_ptr().cast(),
      FACTORY.len() as isize,
      &mut source,
    ) == sys::Status::napi_ok
      && sys::napi_run_script(env, source, &mut function) == sys::Status::napi_ok
      && sys::napi_create_reference(env, function, 1, &mut reference) == sys::Status::napi_ok
  };
  if made {
    return reference as usize;
  }
  let mut pending = false;
  let mut exception = ptr::null_mut();
  // SAFETY: as above; clears the exception a refused compile left pending, if any.
  unsafe {
    if sys::napi_is_exception_pending(env, &mut pending) == sys::Status::napi_ok && pending {
      sys::napi_get_and_clear_last_exception(env, &mut exception);
    }
  }
  0
}
