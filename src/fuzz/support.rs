//! The runner shared by the targets: proptest on the stable toolchain, sized by the
//! environment so that `cargo test` runs a small sample and `npm run fuzz`
//! (scripts/fuzz.js) runs a million cases or more per property.
//!
//! - `TAGCACHE_FUZZ_CASES`: cases per property (default: the property's sample size);
//! - `TAGCACHE_FUZZ_SECONDS`: a time budget per property; the run stops at the first chunk
//!   boundary past it, and says so.
//!
//! Each property prints `fuzz <name>: <cases> cases in <s> s` (seen with `--nocapture`).
//! A failure is shrunk to a minimal input, which the panic message shows; the seed is kept
//! in `src/fuzz/<target>.regressions` and replayed first on later runs.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{
  Config, FileFailurePersistence, RngSeed, TestCaseError, TestError, TestRunner,
};

/// Cases run between two looks at the clock (and per fresh seed).
const CHUNK: u32 = 20_000;

fn env_number(name: &str) -> Option<f64> {
  let raw = std::env::var(name).ok()?;
  match raw.trim().parse::<f64>() {
    Ok(n) if n > 0.0 => Some(n),
    _ => panic!("{name} must be a positive number, got {raw:?}"),
  }
}

/// Runs `test` on `sample` cases of `strategy` (or as many as the environment asks for).
/// `source` is the target's `file!()`, where failing seeds are kept.
pub fn check<S>(
  name: &str,
  source: &'static str,
  sample: u32,
  strategy: S,
  test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
  S: Strategy,
  S::Value: Debug,
{
  let total = env_number("TAGCACHE_FUZZ_CASES").map_or(sample as u64, |n| n as u64);
  let budget = env_number("TAGCACHE_FUZZ_SECONDS").map(Duration::from_secs_f64);
  let started = Instant::now();
  let mut done = 0u64;
  let mut chunk = 0u64;
  while done < total {
    let cases = (total - done).min(CHUNK as u64) as u32;
    let defaults = Config::default();
    let config = Config {
      cases,
      // `PROPTEST_RNG_SEED` replays a run; each chunk still gets cases of its own.
      rng_seed: match defaults.rng_seed {
        RngSeed::Fixed(seed) => RngSeed::Fixed(seed.wrapping_add(chunk)),
        RngSeed::Random => RngSeed::Random,
      },
      source_file: Some(source),
      failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("regressions"))),
      max_shrink_time: 60_000,
      // A property's own `reject`s are rare skips, never most cases.
      max_global_rejects: cases.saturating_mul(4).max(1024),
      ..defaults
    };
    let mut runner = TestRunner::new(config);
    chunk += 1;
    let failure = match runner.run(&strategy, &test) {
      Ok(()) => None,
      Err(TestError::Fail(why, input)) => Some(format!(
        "fuzz {name}: failed after {done}+ cases: {why}\nminimal input: {input:#?}"
      )),
      Err(TestError::Abort(why)) => Some(format!("fuzz {name}: aborted: {why}")),
    };
    if let Some(failure) = failure {
      // Printed as well: the binding's quiet panic hook may swallow the panic message.
      println!("{failure}");
      panic!("{failure}");
    }
    done += cases as u64;
    if budget.is_some_and(|b| started.elapsed() >= b) && done < total {
      println!("fuzz {name}: stopped by TAGCACHE_FUZZ_SECONDS");
      break;
    }
  }
  println!(
    "fuzz {name}: {done} cases in {:.1} s",
    started.elapsed().as_secs_f64()
  );
}

/// Fails the case (instead of unwinding through proptest) when `f` panics, with the panic
/// message: no input may make the engine panic.
pub fn no_panic<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, TestCaseError> {
  std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
    let message = payload
      .downcast_ref::<&str>()
      .map(|s| s.to_string())
      .or_else(|| payload.downcast_ref::<String>().cloned())
      .unwrap_or_else(|| "(not a string)".into());
    TestCaseError::fail(format!("{what} panicked: {message}"))
  })
}

/// Fails the test when one fixed case fails, with the reason printed (see `check`).
pub fn must_pass(case: &str, result: Result<(), TestCaseError>) {
  if let Err(err) = result {
    println!("{case}: {err}");
    panic!("{case}: {err}");
  }
}
