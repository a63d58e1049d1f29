//! Every line tagcache writes to the server log goes through here: the engine's warnings
//! (Redis outages and error answers, its eviction policy, an unusable disk directory, an
//! internal error), the Next adapters' failure lines (`next/log.js`, through the binding's
//! `logWarning`) and the debug trace. One place, so one format and one switch:
//! `TAGCACHE_LOG=off` silences the warnings; the trace has its own (`TAGCACHE_DEBUG`).

use std::io::Write;
use std::sync::OnceLock;

/// The prefix of every warning.
pub const PREFIX: &str = "[tagcache]";

/// Whether `TAGCACHE_LOG` is `off` (or `0`, `false`, `silent`), read once.
fn silenced() -> bool {
  static OFF: OnceLock<bool> = OnceLock::new();
  *OFF.get_or_init(|| match std::env::var("TAGCACHE_LOG") {
    Ok(v) => matches!(
      v.trim().to_ascii_lowercase().as_str(),
      "off" | "0" | "false" | "silent"
    ),
    Err(_) => false,
  })
}

/// A warning: `[tagcache] <message>`, one line on stderr, unless `TAGCACHE_LOG=off`.
pub fn warn(message: &str) {
  if !silenced() {
    write_line(&format!("{PREFIX} {message}"));
  }
}

/// A debug-trace line, as the trace formats it (`tagcache get …`); its switch is the trace's.
pub fn trace(line: &str) {
  write_line(line);
}

/// One `write` of the whole line, so lines from several threads do not interleave.
fn write_line(line: &str) {
  let mut text = String::with_capacity(line.len() + 1);
  text.push_str(line);
  text.push('\n');
  let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
