//! JS value → `Input`, so the engine validates arguments and answers with stable codes.

use napi::bindgen_prelude::*;
use napi::{sys, JsValue, ValueType};

use crate::input::Input;

/// How deep option objects may nest (cycles and absurd inputs stop here).
const MAX_DEPTH: usize = 8;
/// Longest array or object taken apart; longer ones are refused before anything is allocated
/// (`new Array(2 ** 32 - 1)` must be an error, not an allocation failure).
const MAX_ITEMS: u32 = 1 << 20;

pub fn to_input(value: &Unknown) -> Result<Input> {
  convert(value, 0)
}

/// Like `to_input`, for an optional argument.
pub fn opt_input(value: Option<&Unknown>) -> Result<Input> {
  value.map_or(Ok(Input::Undefined), to_input)
}

// `cast` requires that the value has the type converted to: each arm has read it with
// `get_type` (or `is_array`). `value` is a value of the current call, on its JS thread.
fn convert(value: &Unknown, depth: usize) -> Result<Input> {
  Ok(match value.get_type()? {
    ValueType::Undefined => Input::Undefined,
    ValueType::Null => Input::Null,
    // SAFETY: a boolean (`get_type`).
    ValueType::Boolean => Input::Bool(unsafe { value.cast::<bool>()? }),
    // SAFETY: a number (`get_type`).
    ValueType::Number => Input::Number(unsafe { value.cast::<f64>()? }),
    ValueType::String => Input::String(match js_string(value) {
      Some(s) => s,
      // SAFETY: a string (`get_type`).
      None => unsafe { value.cast::<String>()? },
    }),
    ValueType::Object if depth >= MAX_DEPTH => Input::Other("object nested too deeply"),
    ValueType::Object => {
      // SAFETY: an object (`get_type`).
      let object: Object = unsafe { value.cast()? };
      if object.is_array()? {
        // SAFETY: an array (`is_array`).
        let array: Array = unsafe { value.cast()? };
        if array.len() > MAX_ITEMS {
          return Ok(Input::Other("array longer than 1048576 items"));
        }
        let mut items = Vec::with_capacity(array.len().min(1024) as usize);
        for i in 0..array.len() {
          items.push(match array.get::<Unknown>(i)? {
            Some(item) => convert(&item, depth + 1)?,
            None => Input::Undefined,
          });
        }
        Input::Array(items)
      } else if object.is_buffer()? {
        Input::Other("Buffer")
      } else {
        let keys = Object::keys(&object)?;
        if keys.len() > MAX_ITEMS as usize {
          return Ok(Input::Other("object with more than 1048576 keys"));
        }
        let mut fields = Vec::with_capacity(keys.len());
        for key in keys {
          let field: Unknown = object.get_named_property(&key)?;
          fields.push((key, convert(&field, depth + 1)?));
        }
        Input::Object(fields)
      }
    }
    ValueType::Function => Input::Other("function"),
    ValueType::Symbol => Input::Other("symbol"),
    ValueType::BigInt => Input::Other("bigint"),
    ValueType::External => Input::Other("external"),
    _ => Input::Other("unknown"),
  })
}

/// A JS string as a Rust `String` (one napi call when it is shorter than ~250 bytes, as keys
/// and tags are); `None` when `value` is not a string.
pub fn js_string(value: &Unknown) -> Option<String> {
  let raw = value.value();
  let mut buf = [0u8; 256];
  let mut written = 0usize;
  // SAFETY: `raw` is a value of the current call, on its JS thread; napi writes at most
  // `buf.len() - 1` bytes and a NUL into `buf`, and the count (NUL excluded) to `written`.
  let status = unsafe {
    sys::napi_get_value_string_utf8(
      raw.env,
      raw.value,
      buf.as_mut_ptr().cast(),
      buf.len(),
      &mut written,
    )
  };
  if status != sys::Status::napi_ok {
    return None;
  }
  // V8 never splits a character, so 4 spare bytes mean nothing was cut off.
  if written + 4 < buf.len() {
    // SAFETY: napi writes UTF-8 (Node replaces lone surrogates: `REPLACE_INVALID_UTF8`),
    // whole characters only; napi-rs's own `String` conversion relies on the same.
    return Some(unsafe { String::from_utf8_unchecked(buf[..written].to_vec()) });
  }
  // SAFETY: the napi call above succeeded, so `value` is a string, as `cast` requires.
  unsafe { value.cast::<String>() }.ok()
}

/// A number argument as `Input` (one napi call); anything else through the generic walk, so
/// the engine's error can describe it.
pub fn number_input(value: &Unknown) -> Result<Input> {
  let raw = value.value();
  let mut n = 0f64;
  // SAFETY: `raw` is a value of the current call on its JS thread; `n` is an out pointer
  // napi writes only when `raw` is a number (else it returns `napi_number_expected`).
  if unsafe { sys::napi_get_value_double(raw.env, raw.value, &mut n) } == sys::Status::napi_ok {
    return Ok(Input::Number(n));
  }
  to_input(value)
}
