//! `picket-sentinel`: a Redis Sentinel 7.0-compatible monitor.
//!
//! The decision logic is a deterministic state machine (ARCHITECTURE.md,
//! invariant 3): it is fed [`io::Input`]s and the current time and returns
//! [`io::Action`]s; sockets, timers and files live around it.
//!
//! - [`state`]: [`state::SentinelState`], the entry points, the injected
//!   [`state::Random`], and the commands that change what is monitored.
//! - [`io`]: the inputs, actions, requests and events.
//! - [`instance`]: the records about masters, replicas and other sentinels.
//! - [`info`]: reading a monitored server's INFO text.
//! - [`monitor`]: the tick — PING/INFO/hello scheduling, links, replies,
//!   SDOWN, ODOWN, TILT.
//! - [`election`]: IS-MASTER-DOWN-BY-ADDR both ways, votes and leader count.
//! - [`failover`]: the failover state machine, replica selection, master
//!   reset/switch and enforcing replica configuration.
//! - [`hello`]: hello payloads, sentinel discovery, config-epoch propagation.
//! - [`cmdtable`]: the command table COMMAND prints (names, arities,
//!   flags, docs), mirrored from redis-sentinel 7.0.15.
//! - [`commands`]: the settings commands (SENTINEL SET, CONFIG SET,
//!   SIMULATE-FAILURE) as state changes that return actions.
//! - [`replies`]: the reply shapes of SENTINEL MASTERS/MASTER/REPLICAS/
//!   SENTINELS/INFO-CACHE/CONFIG GET/DEBUG and INFO's `# Sentinel` section,
//!   as pure functions of the state.
//! - [`config`]: the sentinel.conf model (generic directives, `sentinel`
//!   directives, the persisted state), loading with redis-sentinel's
//!   errors and start-up refusals, and the CONFIG REWRITE-style atomic
//!   rewrite that persists the state.
//! - [`persist`]: the mapping between the config model and the core (start
//!   up, config flushes) — the only place the two meet.
//! - [`runtime`]: the process around the core: the state lock, the timer,
//!   links to instances, performing actions (events, scripts, flushes).
//! - [`server`]: the sentinel's own clients (commands of §13/§14).
//! - [`pubsub`]: event subscriptions of the sentinel's clients.
//! - [`scripts`]: the notification/reconfig script queue.
//! - [`log`]: Redis-format log lines.

pub mod acl;
pub mod cmdargs;
pub mod cmdtable;
pub mod commands;
pub mod config;
pub mod election;
pub mod failover;
pub mod hello;
pub mod info;
pub mod instance;
pub mod io;
pub mod log;
pub mod monitor;
pub mod persist;
pub mod pubsub;
pub mod replies;
pub mod runtime;
pub mod scripts;
pub mod server;
pub mod state;

#[cfg(test)]
mod tests;
