//! The napi binding: the only code that touches napi types. Each `#[napi]` item is a thin
//! door onto the plain-Rust engine in `crate::cache`.

mod convert;
mod error;
mod js_ref;
mod payload;
pub mod tag_cache;
pub mod types;
