#![deny(clippy::all)]
//! tagcache: a cache handler for Next.js in Rust.
//!
//! The engine is plain Rust: `profile` (cacheLife profiles), `tags` (the tag manifest),
//! `entry` (freshness), `codec` (the stored envelope), `store` (where entries live) and
//! `cache` (all of it together). `binding` is the thin napi binding that Node loads.

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
pub mod tags;
pub mod trace;

pub mod binding;

#[cfg(test)]
mod fuzz;
