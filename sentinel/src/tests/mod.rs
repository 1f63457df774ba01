//! Rule-by-rule tests of the core with a fake clock, and a small
//! deterministic simulation of several sentinels.

mod detection;
mod election;
mod failover;
mod hello;
mod hostnames;
mod kit;
mod replies;
mod sim;
