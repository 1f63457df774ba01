//! `picket-server`: a Redis 7.0-compatible server.
//!
//! - [`config`]: the directive table, redis.conf loading, CONFIG REWRITE.
//! - [`server`]: listeners, accept loop, cron (active expiry, timeouts), shutdown.
//! - [`conn`]: one task per connection: parse, execute a batch under the lock, reply.
//! - [`state`]: the shared state behind one mutex, clients, stats; the execution model.
//! - [`cmd`]: the command table, dispatch and one module per command family;
//!   [`cmd::acl`] holds the ACL users' side of the server (checks, AUTH, ACL).
//! - [`db`]: the keyspace, values, lazy and active expiry, SCAN.
//! - [`types`]: data structures for the value types (sorted set, HyperLogLog).
//! - [`blocking`]: serving clients blocked in BLPOP & co.
//! - [`info`]: the INFO sections and fields.
//! - [`push`]: a client's out-of-band queue and the pub/sub output buffer limit.
//! - [`pubsub`]: subscriptions, PUBLISH and keyspace notifications.
//! - [`replication`]: master/replica replication (PSYNC, backlog, full sync, the link).
//! - [`propagate`]: the stream of effects feeding the AOF (and replicas).
//! - [`digest`]: DEBUG DIGEST / DIGEST-VALUE, Redis 7.0's dataset fingerprint.

pub mod blocking;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod db;
pub mod digest;
pub mod info;
pub mod latency;
pub mod longdouble;
pub mod persistence;
pub mod propagate;
pub mod pubsub;
pub mod push;
pub mod replication;
pub mod server;
pub mod state;
pub mod types;
