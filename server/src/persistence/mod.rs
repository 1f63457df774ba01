//! Persistence (issue 3): the RDB format first.
//!
//! - [`rdb`]: RDB version 10 encoding and decoding of the key space.

pub mod rdb;
