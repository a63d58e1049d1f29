//! Where entries live: the in-process memory store (bounded, LRU), the disk tier (one
//! machine, SQLite) and the shared Redis store. With the disk tier or Redis, a memory store
//! sits in front as a tier for hot entries.

pub mod disk;
pub mod memory;
pub mod redis;

pub use self::disk::{DiskConfig, DiskStore};
pub use self::redis::{RedisConfig, RedisStore};
pub use memory::{MemoryStore, Payload, Stored};
