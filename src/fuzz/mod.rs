//! Fuzz and model-based targets on the stable toolchain (proptest): the stored envelope,
//! the parsing of every JS argument, tag rules, and the engine against a reference model
//! of Next.js 16's cache semantics. `cargo test` runs a sample of each; `npm run fuzz`
//! (scripts/fuzz.js) runs a million cases or more per property (see `support`).
//!
//! They live in the crate, not in `tests/`: an integration test links the rlib with its napi
//! module registration, whose N-API symbols only Node provides.

mod codec;
mod input;
mod js_shaped;
mod model;
mod support;
mod tags;
