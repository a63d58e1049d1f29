//! Where entries live: the in-process memory store (bounded, LRU) and the shared Redis store.
//! With Redis, a memory store sits in front of it as a tier for hot entries.

pub mod memory;
pub mod redis;

pub use self::redis::{RedisConfig, RedisStore};
pub use memory::{MemoryStore, Payload, Stored};
