//! `picket-sentinel`: a Redis Sentinel 7.0-compatible monitor.
//!
//! - [`config`]: the sentinel.conf model (generic directives, `sentinel`
//!   directives, the persisted state), loading with redis-sentinel's
//!   errors and start-up refusals, and the CONFIG REWRITE-style atomic
//!   rewrite that persists the state.

pub mod config;
