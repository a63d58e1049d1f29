//! The napi binding: the only code that touches napi types. Each `#[napi]` item is a thin
//! door onto the plain-Rust engine in `crate::cache`.
//!
//! Each `unsafe` block here states what it relies on in a `// SAFETY:` comment (clippy
//! enforces it); napi calls run only on the JS thread, checked where it is not given.

#![deny(clippy::undocumented_unsafe_blocks)]

mod completions;
mod convert;
mod entry_object;
mod error;
mod js_ref;
mod payload;
pub mod tag_cache;
pub mod types;

/// No panic message reaches the server's stderr: every entry point catches panics and
/// turns them into a rejected call (`catch_unwind`), so the default hook's message and
/// backtrace would only be noise in a Next.js log. With `TAGCACHE_DEBUG` set, one line.
/// (Not in `cargo test`: a failing test must show its panic.)
#[cfg(not(test))]
#[napi_derive::module_init]
fn quiet_panics() {
  std::panic::set_hook(Box::new(|info| {
    if crate::trace::enabled_by_env() {
      let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_default();
      let at = info.location().map(|l| l.to_string()).unwrap_or_default();
      crate::log::warn(&format!(
        "internal error (please report): {message} at {at}"
      ));
    }
  }));
}
