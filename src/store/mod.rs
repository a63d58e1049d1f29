//! Where entries live. The memory store is the one store so far; the Redis store (shared
//! between instances) joins it behind a common interface when it lands.

pub mod memory;

pub use memory::{MemoryStore, Payload, Stored};
