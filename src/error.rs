//! Errors with stable codes. The binding turns `Error` into a JS `Error` whose `code` is
//! `ErrorCode::as_str()`, so JS callers can branch on `err.code`.

use std::fmt;

/// The stable error codes (the README's "Errors" table lists them for users).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
  /// A tag that is not a non-empty string.
  InvalidTag,
  /// A tag longer than Next's `NEXT_CACHE_TAG_MAX_LENGTH` (256), or an implicit `_N_T_` tag
  /// longer than `NEXT_CACHE_SOFT_TAG_MAX_LENGTH` (1024).
  TagTooLong,
  /// A profile name that is neither built in nor in the `cacheLife` config.
  UnknownProfile,
  /// A `cacheLife` profile (config, `set` meta or `revalidateTag`) with a bad field.
  InvalidCacheLife,
  /// Any other bad option or argument.
  InvalidOptions,
  /// A value that can never fit in the store.
  ValueTooLarge,
  /// A call after `close()`.
  Closed,
  /// The store failed (I/O, timeout, undecodable entry surfaced as an error).
  Store,
}

impl ErrorCode {
  pub fn as_str(self) -> &'static str {
    match self {
      ErrorCode::InvalidTag => "ERR_INVALID_TAG",
      ErrorCode::TagTooLong => "ERR_TAG_TOO_LONG",
      ErrorCode::UnknownProfile => "ERR_UNKNOWN_PROFILE",
      ErrorCode::InvalidCacheLife => "ERR_INVALID_CACHE_LIFE",
      ErrorCode::InvalidOptions => "ERR_INVALID_OPTIONS",
      ErrorCode::ValueTooLarge => "ERR_VALUE_TOO_LARGE",
      ErrorCode::Closed => "ERR_CLOSED",
      ErrorCode::Store => "ERR_STORE",
    }
  }
}

/// An error with a stable code and a message that names the field and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
  pub code: ErrorCode,
  pub message: String,
}

impl Error {
  pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
    Error {
      code,
      message: message.into(),
    }
  }
}

impl fmt::Display for Error {
  fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{}: {}", self.code.as_str(), self.message)
  }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
