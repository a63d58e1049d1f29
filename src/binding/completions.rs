//! Promises that settle on the JS thread through one threadsafe function per `TagCache`.
//!
//! napi-rs's `spawn_future_with_callback` creates and releases a threadsafe function for
//! every call (`JsDeferred::new`): a libuv async handle, its registration and its close,
//! about a third of the JS thread's cost of a Redis get (`benchmark/NOTES.md`). Here each
//! cache makes one, lazily, on its first call that leaves the thread: a finished future
//! pushes its settle step onto a queue and wakes the JS thread only when the queue was
//! empty, and the JS thread settles every queued promise in one turn.
//!
//! Lifetimes: the threadsafe function is released when the last `Arc<Completions>` drops
//! (the cache and every call in flight hold one), after that call's own wake-up; Node runs
//! queued wake-ups before it finalizes, and only the finalizer frees the queue. When the
//! env tears down first, Node finalizes the function itself: the finalizer clears the
//! handle under the queue's lock, so no call or release reaches a freed function, and the
//! promises still queued are dropped unsettled (their env is gone).

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use napi::bindgen_prelude::{Env, ToNapiValue, Unknown};
use napi::{check_status, sys};
use parking_lot::Mutex;

use super::error::{JsError, Result};

/// A finished call's settle step, run on the JS thread with its env.
type Settle = Box<dyn FnOnce(sys::napi_env) + Send>;

/// What the threadsafe function's context points at; freed by its finalizer only.
struct Queue {
  inner: Mutex<Inner>,
  /// Calls started and not yet settled; read and written on the JS thread only (atomic
  /// because the queue is shared): the function is ref'd (keeps Node alive) while non-zero.
  in_flight: AtomicUsize,
}

struct Inner {
  /// `None` once Node finalized the function (env teardown): nothing calls it then.
  tsfn: Option<usize>,
  done: Vec<Settle>,
}

/// One cache's completion queue. Made on the JS thread; pushed to from any thread.
pub struct Completions {
  queue: Arc<Queue>,
}

impl Completions {
  /// Creates the threadsafe function, unref'd (an idle cache does not keep Node alive).
  pub fn new(env: &Env) -> napi::Result<Arc<Self>> {
    let queue = Arc::new(Queue {
      inner: Mutex::new(Inner {
        tsfn: None,
        done: Vec::new(),
      }),
      in_flight: AtomicUsize::new(0),
    });
    let context = Arc::into_raw(queue.clone()) as *mut std::ffi::c_void;
    let mut name = ptr::null_mut();
    let mut tsfn = ptr::null_mut();
    // SAFETY: `env` is the current call's env on its JS thread; the name is a static UTF-8
    // string with its length; out pointers. `context` is one strong count of `queue`,
    // handed to the function and given back by `finalize` (or below, if creation fails).
    let status = unsafe {
      let label = "tagcache";
      sys::napi_create_string_utf8(
        env.raw(),
        label.as_ptr().cast(),
        label.len() as isize,
        &mut name,
      );
      sys::napi_create_threadsafe_function(
        env.raw(),
        ptr::null_mut(),
        ptr::null_mut(),
        name,
        0,
        1,
        context,
        Some(finalize),
        context,
        Some(drain),
        &mut tsfn,
      )
    };
    if status != sys::Status::napi_ok {
      // SAFETY: creation failed, so the function never took `context`: it is ours again.
      drop(unsafe { Arc::from_raw(context as *const Queue) });
      check_status!(status, "Failed to create the completion queue")?;
    }
    queue.inner.lock().tsfn = Some(tsfn as usize);
    // Made before the unref: should that fail, dropping it releases the function.
    let completions = Arc::new(Completions { queue });
    // SAFETY: `tsfn` was just created in `env`, on this JS thread.
    check_status!(unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) })?;
    Ok(completions)
  }

  /// Runs the future `work` makes on the tokio runtime and returns a promise that `finish`
  /// settles on the JS thread with its result. A panic in the work rejects with `ERR_STORE`.
  ///
  /// `work` is a closure, called on the tokio thread: the engine's futures are kilobytes (a
  /// Redis round trip nests several), so they are made and boxed where they run and are
  /// freed. Boxed on the JS thread and freed on a tokio one, each cost the JS thread a
  /// `malloc_consolidate` of glibc's arena (~4 % of a 64-in-flight get, perf).
  pub fn spawn<'env, T, V, W, F, C>(
    self: &Arc<Self>,
    env: &'env Env,
    work: W,
    finish: C,
  ) -> napi::Result<Unknown<'env>>
  where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    W: FnOnce() -> F + Send + 'static,
    F: Future<Output = crate::error::Result<T>> + Send + 'static,
    C: FnOnce(&Env, T) -> Result<V> + Send + 'static,
  {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: the current call's env on its JS thread; out pointers.
    check_status!(unsafe { sys::napi_create_promise(env.raw(), &mut deferred, &mut promise) })?;
    let deferred = deferred as usize;
    if self.queue.in_flight.fetch_add(1, Ordering::Relaxed) == 0 {
      if let Some(tsfn) = self.queue.inner.lock().tsfn {
        // SAFETY: on the JS thread that made `tsfn`, which is not finalized (under the lock).
        unsafe { sys::napi_ref_threadsafe_function(env.raw(), tsfn as _) };
      }
    }
    let completions = self.clone();
    napi::bindgen_prelude::spawn(async move {
      // Boxed once, here: tokio moves a task's future more than once before it runs. `work()`
      // is called inside it, so a panic there is caught too.
      let result = CatchUnwind(Box::pin(async move { work().await })).await;
      completions.push(Box::new(move |raw_env| {
        // `drain` runs this on the JS thread with the env that made `deferred`.
        let env = Env::from_raw(raw_env);
        let internal = || JsError::new("ERR_STORE", "tagcache: internal error (please report)");
        let settled = match result {
          Ok(Ok(value)) => catch_unwind(AssertUnwindSafe(|| {
            finish(&env, value).and_then(|v| resolved(raw_env, v))
          }))
          .unwrap_or_else(|_| Err(internal())),
          Ok(Err(err)) => Err(super::error::to_js(err)),
          Err(_) => Err(internal()),
        };
        // SAFETY: `deferred` was made in this env and is settled exactly once, here: by
        // the resolve or reject below, or, if napi refused that (an exception left pending
        // by a conversion), by a rejection with that exception.
        unsafe {
          let status = match settled {
            Ok(value) => sys::napi_resolve_deferred(raw_env, deferred as _, value),
            Err(err) => match JsError::to_napi_value(raw_env, err) {
              Ok(error) => sys::napi_reject_deferred(raw_env, deferred as _, error),
              Err(_) => sys::Status::napi_generic_failure,
            },
          };
          if status != sys::Status::napi_ok {
            let mut reason = ptr::null_mut();
            let mut pending = false;
            sys::napi_is_exception_pending(raw_env, &mut pending);
            if pending {
              sys::napi_get_and_clear_last_exception(raw_env, &mut reason);
            } else {
              sys::napi_get_undefined(raw_env, &mut reason);
            }
            sys::napi_reject_deferred(raw_env, deferred as _, reason);
          }
        };
      }));
    });
    // SAFETY: `promise` is a value of the current call.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), promise) })
  }

  /// Queues a settle step, waking the JS thread if the queue was empty (a queued wake-up
  /// will drain this one too).
  fn push(&self, settle: Settle) {
    let mut inner = self.queue.inner.lock();
    let Some(tsfn) = inner.tsfn else {
      return;
    };
    inner.done.push(settle);
    if inner.done.len() == 1 {
      // SAFETY: `tsfn` is not finalized (checked under the lock its finalizer takes);
      // non-blocking on a queue of unlimited size, so it only fails once Node is closing it.
      unsafe {
        sys::napi_call_threadsafe_function(
          tsfn as _,
          ptr::null_mut(),
          sys::ThreadsafeFunctionCallMode::nonblocking,
        )
      };
    }
  }
}

impl Drop for Completions {
  fn drop(&mut self) {
    if let Some(tsfn) = self.queue.inner.lock().tsfn {
      // SAFETY: not finalized (under the lock); this is the one thread count `new` took.
      unsafe {
        sys::napi_release_threadsafe_function(
          tsfn as _,
          sys::ThreadsafeFunctionReleaseMode::release,
        )
      };
    }
  }
}

/// A settled value as a JS value of the current scope.
fn resolved<V: ToNapiValue>(env: sys::napi_env, value: V) -> Result<sys::napi_value> {
  // SAFETY: on the JS thread with its env (`drain`'s caller).
  unsafe { V::to_napi_value(env, value) }.map_err(super::error::from_napi)
}

/// The threadsafe function's call: settles every queued promise, each in its own handle
/// scope, then unrefs the function when nothing is in flight.
unsafe extern "C" fn drain(
  env: sys::napi_env,
  _js_callback: sys::napi_value,
  context: *mut std::ffi::c_void,
  _data: *mut std::ffi::c_void,
) {
  if env.is_null() || context.is_null() {
    return;
  }
  // SAFETY: `context` is the queue's strong count the function holds until `finalize`.
  // Node's calls after `finalize` (emptying the queue at teardown) pass a null env, which
  // returned above; with an env, `finalize` has not run.
  let queue = unsafe { &*(context as *const Queue) };
  let done = std::mem::take(&mut queue.inner.lock().done);
  let count = done.len();
  for settle in done {
    let mut scope = ptr::null_mut();
    // SAFETY: on the JS thread with its env (napi calls `drain` there); scopes nest.
    unsafe { sys::napi_open_handle_scope(env, &mut scope) };
    // A panic in a settle step (a conversion) must not unwind into Node.
    let _ = catch_unwind(AssertUnwindSafe(|| settle(env)));
    // SAFETY: the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
  }
  if count > 0 && queue.in_flight.fetch_sub(count, Ordering::Relaxed) == count {
    if let Some(tsfn) = queue.inner.lock().tsfn {
      // SAFETY: on the JS thread that made `tsfn`, not finalized (under the lock).
      unsafe { sys::napi_unref_threadsafe_function(env, tsfn as _) };
    }
  }
}

/// The threadsafe function's finalizer (its release, or env teardown): clears the handle
/// and gives back the queue's strong count.
unsafe extern "C" fn finalize(
  _env: sys::napi_env,
  data: *mut std::ffi::c_void,
  _hint: *mut std::ffi::c_void,
) {
  // SAFETY: `data` is the strong count `Completions::new` handed over, given back once.
  let queue = unsafe { Arc::from_raw(data as *const Queue) };
  let dropped = {
    let mut inner = queue.inner.lock();
    inner.tsfn = None;
    std::mem::take(&mut inner.done)
  };
  // Dropped outside the lock: a settle step's captures may hold the last `Completions`.
  drop(dropped);
}

/// A future whose panic is its output (`Err`), so no panic unwinds through tokio and every
/// promise settles.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
  type Output = std::result::Result<F::Output, Box<dyn Any + Send>>;

  fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
    let inner = self.0.as_mut();
    match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
      Ok(Poll::Pending) => Poll::Pending,
      Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
      Err(panic) => Poll::Ready(Err(panic)),
    }
  }
}
