//! Next's clock: ms since the epoch as `performance.timeOrigin + performance.now()` gives it.
//! Entry timestamps come from that clock and tag times must be comparable with them, so the
//! engine does not read the wall clock on every call: it anchors once and then advances on
//! the monotonic clock (the one `performance.now()` uses), immune to wall-clock steps.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
  origin_ms: f64,
  origin: Instant,
}

impl Clock {
  /// Anchored to the wall clock now.
  pub fn system() -> Self {
    let wall = SystemTime::now()
      .duration_since(UNIX_EPOCH)
      .map(|d| d.as_secs_f64() * 1000.0)
      .unwrap_or(0.0);
    Clock::anchored(wall)
  }

  /// Anchored to `now_ms`, the JS side's `performance.timeOrigin + performance.now()`.
  pub fn anchored(now_ms: f64) -> Self {
    Clock {
      origin_ms: now_ms,
      origin: Instant::now(),
    }
  }

  /// ms since the epoch, as a float.
  pub fn now(&self) -> f64 {
    self.origin_ms + self.origin.elapsed().as_secs_f64() * 1000.0
  }
}

impl Default for Clock {
  fn default() -> Self {
    Clock::system()
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn advances_from_its_anchor() {
    let clock = Clock::anchored(1000.0);
    let a = clock.now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let b = clock.now();
    assert!((1000.0..1010.0).contains(&a));
    assert!(b - a >= 5.0);
  }
}
