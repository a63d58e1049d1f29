//! A plain-Rust picture of a JS value, so that option and argument validation lives in the
//! engine (and is unit-tested) instead of in napi conversion code, whose errors carry no
//! stable `code`. Numbers stay `f64` so `Infinity` and float timestamps survive.

/// A JS value as the binding saw it.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
  Undefined,
  Null,
  Bool(bool),
  Number(f64),
  String(String),
  Array(Vec<Input>),
  /// Own enumerable properties, in order.
  Object(Vec<(String, Input)>),
  /// Anything else (function, symbol, bigint, Buffer…), by its JS type name.
  Other(&'static str),
}

impl Input {
  /// `undefined` and `null` both mean "not given", as in Next's config handling.
  pub fn is_nullish(&self) -> bool {
    matches!(self, Input::Undefined | Input::Null)
  }

  /// A property of an object; `Undefined` when absent or when `self` is not an object.
  pub fn field(&self, name: &str) -> &Input {
    match self {
      Input::Object(fields) => fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or(&Input::Undefined),
      _ => &Input::Undefined,
    }
  }

  /// The JS type as a user would name it, for error messages.
  pub fn type_name(&self) -> &'static str {
    match self {
      Input::Undefined => "undefined",
      Input::Null => "null",
      Input::Bool(_) => "boolean",
      Input::Number(_) => "number",
      Input::String(_) => "string",
      Input::Array(_) => "array",
      Input::Object(_) => "object",
      Input::Other(t) => t,
    }
  }

  /// A short rendering of the value for error messages (strings quoted, long ones cut).
  pub fn describe(&self) -> String {
    match self {
      Input::Bool(b) => b.to_string(),
      Input::Number(n) => format_number(*n),
      Input::String(s) => quote(s),
      other => other.type_name().to_string(),
    }
  }
}

/// A user's string as an error message shows it: quoted, cut after 60 characters (`…`), so
/// a message stays short whatever was passed.
pub fn quote(s: &str) -> String {
  let cut: String = s.chars().take(60).collect();
  if cut.len() < s.len() {
    format!("{cut:?}…")
  } else {
    format!("{s:?}")
  }
}

/// A user's string as a part of a name in a message (`cacheLife.<name>`): cut the same way,
/// unquoted.
pub fn cut(s: &str) -> String {
  let cut: String = s.chars().take(60).collect();
  if cut.len() < s.len() {
    format!("{cut}…")
  } else {
    cut
  }
}

impl From<&str> for Input {
  fn from(s: &str) -> Self {
    Input::String(s.to_string())
  }
}

impl From<bool> for Input {
  fn from(b: bool) -> Self {
    Input::Bool(b)
  }
}

impl From<f64> for Input {
  fn from(n: f64) -> Self {
    Input::Number(n)
  }
}

pub fn format_number(n: f64) -> String {
  if n.is_nan() {
    "NaN".into()
  } else if n.is_infinite() {
    if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
  } else {
    n.to_string()
  }
}

/// Builds an `Input::Object` from pairs; handy in tests.
#[macro_export]
macro_rules! input_object {
  ($($k:expr => $v:expr),* $(,)?) => {
    $crate::input::Input::Object(vec![$(($k.to_string(), $crate::input::Input::from($v))),*])
  };
}
