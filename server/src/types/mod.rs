//! Data structures behind the value types that the standard library does
//! not provide directly.

pub mod geohash;
pub mod hll;
pub mod key;
pub mod zset;
