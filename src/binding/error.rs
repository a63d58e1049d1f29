//! Engine errors → JS errors whose `code` is the stable `ERR_*` string.

use crate::error::Error;

/// A napi error carrying our code as its status, so JS sees `err.code === 'ERR_…'`.
pub type JsError = napi::Error<&'static str>;
/// Named `Result` so `#[napi]` recognises it as a fallible return.
pub type Result<T> = std::result::Result<T, JsError>;

pub fn to_js(err: Error) -> JsError {
  napi::Error::new(err.code.as_str(), err.message)
}

/// A napi failure (a conversion the engine never saw) as an `ERR_INVALID_OPTIONS` error.
pub fn from_napi(err: napi::Error) -> JsError {
  napi::Error::new("ERR_INVALID_OPTIONS", err.reason.clone())
}

pub trait IntoJs<T> {
  fn js(self) -> Result<T>;
}

impl<T> IntoJs<T> for crate::error::Result<T> {
  fn js(self) -> Result<T> {
    self.map_err(to_js)
  }
}

impl<T> IntoJs<T> for napi::Result<T> {
  fn js(self) -> Result<T> {
    self.map_err(from_napi)
  }
}
