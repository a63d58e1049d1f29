//! References to JS objects that may be dropped on any thread.
//!
//! A napi reference may only be deleted on the JS thread that made it, but entries leave
//! the store on tokio threads too (the Redis tier evicts there). napi's own `Buffer` routes
//! such drops through a threadsafe function; a plain object reference has no such path, so a
//! `JsRef` dropped elsewhere is parked in its `JsHome` and deleted by the next call on the JS
//! thread (`JsHome::sweep`).

use std::ptr;
use std::sync::Arc;
use std::thread::{self, ThreadId};

use napi::bindgen_prelude::*;
use napi::{check_status, sys};
use parking_lot::Mutex;

/// The JS thread (and its napi env) that owns a `TagCache`'s references.
pub struct JsHome {
  env: usize,
  thread: ThreadId,
  /// References dropped on other threads, waiting for `sweep`.
  parked: Mutex<Vec<usize>>,
}

impl JsHome {
  /// The current thread's env as home. JS thread only.
  pub fn here(env: &Env) -> Arc<Self> {
    Arc::new(JsHome {
      env: env.raw() as usize,
      thread: thread::current().id(),
      parked: Mutex::new(Vec::new()),
    })
  }

  /// Deletes the references dropped on other threads since the last sweep. JS thread only.
  pub fn sweep(&self) {
    let parked = {
      let mut parked = self.parked.lock();
      if parked.is_empty() {
        return;
      }
      std::mem::take(&mut *parked)
    };
    for raw in parked {
      unsafe { sys::napi_delete_reference(self.env as sys::napi_env, raw as sys::napi_ref) };
    }
  }
}

/// A strong reference to a JS object, readable on its home thread, droppable anywhere.
pub struct JsRef {
  raw: usize,
  home: Arc<JsHome>,
}

impl JsRef {
  /// Keeps `value` alive until the `JsRef` is dropped. JS thread only.
  pub fn new(home: &Arc<JsHome>, env: &Env, value: sys::napi_value) -> Result<Self> {
    let mut raw = ptr::null_mut();
    check_status!(
      unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut raw) },
      "Failed to create a reference"
    )?;
    Ok(JsRef {
      raw: raw as usize,
      home: home.clone(),
    })
  }

  /// The referenced object. JS thread only.
  pub fn value(&self, env: &Env) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    check_status!(
      unsafe { sys::napi_get_reference_value(env.raw(), self.raw as sys::napi_ref, &mut value) },
      "Failed to read a reference"
    )?;
    Ok(value)
  }
}

impl Drop for JsRef {
  fn drop(&mut self) {
    if thread::current().id() == self.home.thread {
      unsafe {
        sys::napi_delete_reference(self.home.env as sys::napi_env, self.raw as sys::napi_ref)
      };
    } else {
      self.home.parked.lock().push(self.raw);
    }
  }
}
