//! The HA harness behind the `picket` CLI and the scenario tests: a group
//! of real processes on loopback ([`group`]), fault injection by a proxy in
//! front of every process ([`net`]) and by signals ([`proc`]), sentinel
//! events ([`events`]), a write load with a lost-write checker
//! ([`writer`]), and the drills ([`drill`]) with their reports ([`report`]).

pub mod client;
pub mod drill;
pub mod events;
pub mod group;
pub mod net;
pub mod proc;
pub mod report;
pub mod topology;
pub mod writer;
