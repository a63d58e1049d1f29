//! Next's clock: ms since the epoch as `performance.timeOrigin + performance.now()` gives it.
//! Entry timestamps come from that clock and tag times must be comparable with them, so the
//! engine does not read the wall clock on every call: it anchors once and then advances on
//! the monotonic clock (the one `performance.now()` uses), immune to wall-clock steps.
//!
//! A manual clock (`Clock::manual`) stands still until it is stepped: model checks and fuzz
//! targets compare the engine with a reference at exact times, equal ones included.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy)]
pub struct Clock {
  source: Source,
}

#[derive(Debug, Clone, Copy)]
enum Source {
  Monotonic { origin_ms: f64, origin: Instant },
  Manual(&'static ManualTime),
}

/// A time (ms since the epoch, f64) that moves only when it is set or advanced.
/// `'static` so that `Clock` stays `Copy`: declare it as a `static` or leak one per test.
#[derive(Debug)]
pub struct ManualTime(AtomicU64);

impl ManualTime {
  pub const fn new(now_ms: f64) -> Self {
    ManualTime(AtomicU64::new(now_ms.to_bits()))
  }

  pub fn get(&self) -> f64 {
    f64::from_bits(self.0.load(Relaxed))
  }

  pub fn set(&self, now_ms: f64) {
    self.0.store(now_ms.to_bits(), Relaxed);
  }

  /// Moves the time by `ms` (a negative step models a clock that went backwards).
  pub fn advance(&self, ms: f64) {
    self.set(self.get() + ms);
  }
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
      source: Source::Monotonic {
        origin_ms: now_ms,
        origin: Instant::now(),
      },
    }
  }

  /// Reads `time`, whatever it was last set to.
  pub fn manual(time: &'static ManualTime) -> Self {
    Clock {
      source: Source::Manual(time),
    }
  }

  /// ms since the epoch, as a float.
  pub fn now(&self) -> f64 {
    match self.source {
      Source::Monotonic { origin_ms, origin } => {
        origin_ms + origin.elapsed().as_secs_f64() * 1000.0
      }
      Source::Manual(time) => time.get(),
    }
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

  #[test]
  fn manual_time_moves_only_when_stepped() {
    static NOW: ManualTime = ManualTime::new(1_763_800_000_000.25);
    let clock = Clock::manual(&NOW);
    assert_eq!(clock.now(), 1_763_800_000_000.25);
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert_eq!(clock.now(), 1_763_800_000_000.25);
    NOW.advance(0.5);
    assert_eq!(clock.now(), 1_763_800_000_000.75);
    NOW.set(5.0);
    assert_eq!(clock.now(), 5.0);
  }
}
