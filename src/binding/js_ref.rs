//! References to JS objects that may be dropped on any thread.
//!
//! A napi reference may only be used or deleted on the JS thread that made it, but entries
//! leave the store on tokio threads too (the Redis tier evicts there). napi's own `Buffer`
//! routes such drops through a threadsafe function; a plain object reference has no such
//! path, so a `JsRef` dropped elsewhere is parked in its `JsHome` and deleted by the next
//! call on the JS thread (`JsHome::sweep`). Every napi call here first checks that it runs
//! on the home thread with the home env (`JsHome::is_here`: a thread-local read and two
//! compares); elsewhere it parks, skips or errs instead.

use std::ptr;
use std::sync::Arc;
use std::thread::{self, ThreadId};

use napi::bindgen_prelude::*;
use napi::{check_status, sys};
use parking_lot::Mutex;

thread_local! {
  /// This thread's id, read without `thread::current()`'s reference counting.
  static THREAD: ThreadId = thread::current().id();
}

/// The current thread's id; `None` while its thread-locals are being destroyed (then no
/// home matches, so nothing touches napi).
#[inline]
fn this_thread() -> Option<ThreadId> {
  THREAD.try_with(|id| *id).ok()
}

/// The JS thread (and its napi env) that owns a `TagCache`'s references.
pub struct JsHome {
  env: usize,
  thread: ThreadId,
  /// References dropped on other threads, waiting for `sweep`.
  parked: Mutex<Vec<usize>>,
  /// A napi reference this home owns for its whole life (`entry_object`'s factory), made
  /// on first use; `0` when it could not be made.
  factory: std::sync::OnceLock<usize>,
}

impl JsHome {
  /// The calling thread and `env` as home: called by `TagCache`'s constructor, which napi
  /// runs on the JS thread that owns `env`.
  pub fn here(env: &Env) -> Arc<Self> {
    Arc::new(JsHome {
      env: env.raw() as usize,
      thread: thread::current().id(),
      parked: Mutex::new(Vec::new()),
      factory: std::sync::OnceLock::new(),
    })
  }

  /// The home's own function reference (raw `napi_ref`, `0` if `make` failed), made by
  /// `make` on first use. On the home thread only (the caller checks). A `0` is not kept:
  /// the next call tries again (a compile refused while an exception was pending).
  pub fn factory(&self, make: impl FnOnce() -> usize) -> usize {
    if let Some(&made) = self.factory.get() {
      return made;
    }
    let made = make();
    if made != 0 && self.factory.set(made).is_err() {
      // Unreachable on one thread; kept correct anyway: the first one stays.
      return *self.factory.get().unwrap_or(&0);
    }
    made
  }

  /// Whether this runs on the home's JS thread, with its env: the condition for any napi
  /// call on the home's references.
  #[inline]
  pub fn is_here(&self, env: sys::napi_env) -> bool {
    self.env == env as usize && self.on_thread()
  }

  /// `Ok` on the home's JS thread with its env, else an error (never a napi call off it).
  #[inline]
  pub fn check(&self, env: &Env) -> Result<()> {
    if self.is_here(env.raw()) {
      Ok(())
    } else {
      Err(Error::from_reason(
        "tagcache: a JS value of this cache was used off its JS thread",
      ))
    }
  }

  #[inline]
  fn on_thread(&self) -> bool {
    this_thread() == Some(self.thread)
  }

  /// Deletes the references dropped on other threads since the last sweep. On any other
  /// thread it does nothing (they stay parked for the JS thread's next sweep).
  pub fn sweep(&self) {
    for raw in self.take_parked() {
      // SAFETY: on the home thread (`take_parked` checks), whose env is alive while a
      // `TagCache` method runs (the only callers); `raw` was made in that env by
      // `JsRef::new` and parked by its drop instead of deleted, so it is deleted once.
      unsafe { sys::napi_delete_reference(self.env as sys::napi_env, raw as sys::napi_ref) };
    }
  }

  /// The parked references, taken: on the home thread only (elsewhere none).
  fn take_parked(&self) -> Vec<usize> {
    let mut parked = self.parked.lock();
    if parked.is_empty() || !self.on_thread() {
      return Vec::new();
    }
    std::mem::take(&mut *parked)
  }

  /// Parks `raw` for the next sweep unless this is the home thread: `false` means the
  /// caller is home and deletes it itself.
  fn park_if_away(&self, raw: usize) -> bool {
    if self.on_thread() {
      return false;
    }
    self.parked.lock().push(raw);
    true
  }
}

/// A strong reference to a JS object, readable on its home thread, droppable anywhere.
pub struct JsRef {
  raw: usize,
  home: Arc<JsHome>,
}

impl JsRef {
  /// Keeps `value` alive until the `JsRef` is dropped. Errs off `home`'s JS thread.
  pub fn new(home: &Arc<JsHome>, env: &Env, value: sys::napi_value) -> Result<Self> {
    home.check(env)?;
    let mut raw = ptr::null_mut();
    check_status!(
      // SAFETY: `env` is the home env on its JS thread (checked above) and `value` a value
      // of the current call; `raw` is an out pointer napi writes one reference to.
      unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut raw) },
      "Failed to create a reference"
    )?;
    Ok(JsRef {
      raw: raw as usize,
      home: home.clone(),
    })
  }

  /// The referenced object, a value of the current call's scope. Errs off the home thread.
  pub fn value(&self, env: &Env) -> Result<sys::napi_value> {
    self.home.check(env)?;
    let mut value = ptr::null_mut();
    check_status!(
      // SAFETY: `env` is the env that made `raw`, on its JS thread (checked above); `raw`
      // is live until this `JsRef` drops, and strong (count 1), so its object is too.
      unsafe { sys::napi_get_reference_value(env.raw(), self.raw as sys::napi_ref, &mut value) },
      "Failed to read a reference"
    )?;
    Ok(value)
  }
}

impl Drop for JsRef {
  fn drop(&mut self) {
    if !self.home.park_if_away(self.raw) {
      // SAFETY: on the home JS thread, where this code runs only inside napi calls and
      // finalizers, so the env that made `raw` is alive; `raw` is deleted once (not parked).
      unsafe {
        sys::napi_delete_reference(self.home.env as sys::napi_env, self.raw as sys::napi_ref)
      };
    }
  }
}

// Not in `cargo test`: a test binary cannot link napi's symbols, and its homes have no
// factory to delete.
#[cfg(not(test))]
impl Drop for JsHome {
  fn drop(&mut self) {
    if let Some(&raw) = self.factory.get() {
      if raw != 0 && self.on_thread() {
        // SAFETY: on the home JS thread, where a home is dropped only inside napi calls and
        // finalizers (its env alive); `raw` was made in that env and is deleted once, here.
        // Off the home thread it is left to the env's teardown (one small function).
        unsafe { sys::napi_delete_reference(self.env as sys::napi_env, raw as sys::napi_ref) };
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  // Only the napi-free decisions can run here: a test binary cannot link napi's symbols.
  #[test]
  fn off_its_thread_a_home_parks_and_takes_nothing() {
    let home = Arc::new(JsHome {
      env: 0x10,
      thread: thread::current().id(),
      parked: Mutex::new(Vec::new()),
      factory: std::sync::OnceLock::new(),
    });
    assert!(home.is_here(0x10 as sys::napi_env));
    assert!(
      !home.is_here(0x20 as sys::napi_env),
      "another env is not home"
    );
    assert!(
      !home.park_if_away(0x30),
      "at home a reference is deleted, not parked"
    );
    let remote = home.clone();
    thread::spawn(move || {
      assert!(!remote.is_here(0x10 as sys::napi_env));
      assert!(remote.park_if_away(0x40));
      assert!(
        remote.take_parked().is_empty(),
        "a sweep off the home thread takes nothing"
      );
    })
    .join()
    .unwrap();
    assert_eq!(home.take_parked(), vec![0x40]);
    assert!(home.take_parked().is_empty());
  }
}
