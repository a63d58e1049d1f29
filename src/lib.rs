#![deny(clippy::all)]
//! tagcache: a cache handler for Next.js in Rust.
//!
//! The engine is plain Rust: `profile` (cacheLife profiles), `tags` (the tag manifest),
//! `entry` (freshness; its tags packed by `tag_list`), `codec` (the stored envelope), `store` (where entries live) and
//! `cache` (all of it together, on typed arguments). `parse` turns JS-shaped arguments
//! (`input::Input`) into those typed ones at the boundary; `log` is where every line the
//! server log gets comes from. `binding` is the thin napi binding that Node loads; see
//! ARCHITECTURE.md for which way the imports go.

pub mod cache;
pub mod clock;
pub mod codec;
pub mod entry;
pub mod error;
pub mod input;
pub mod log;
pub mod metrics;
pub mod options;
pub mod parse;
pub mod profile;
pub mod store;
pub mod tag_list;
pub mod tags;
pub mod trace;

pub mod binding;

#[cfg(test)]
mod fuzz;
