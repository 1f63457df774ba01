//! Coordinated failover, the FAILOVER command of Redis 6.2+ as 7.0.15
//! runs it (`failoverCommand`, `updateFailoverStatus`, `abortFailover`
//! in `replication.c`; `shared/reference/replication.md` §15).
//!
//! The master pauses writes (a pause of its own: CLIENT UNPAUSE does not
//! end it), waits until the target replica — or, without `TO`, the first
//! replica — acknowledged the whole stream, then turns itself into a
//! replica of it and sends `PSYNC <replid> <offset+1> FAILOVER`; the target
//! promotes itself and answers `+CONTINUE <new id>`. The pause ends when
//! the target accepted the PSYNC, or when the failover is aborted.
//!
//! The decisions ([`parse`], [`decide`]) are pure functions; [`command`],
//! [`cron`], [`abort`] and [`psync_accepted`] apply them to the state.

use std::time::{Duration, Instant};

use bytes::Bytes;
use picket_common::num::parse_i64;

use super::{replica, ReplicaState};
use crate::state::{Shared, State};

/// `master_failover_state` in INFO replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailoverState {
    /// `no-failover`
    #[default]
    NoFailover,
    /// `waiting-for-sync`: writes paused, waiting for the target's ACK.
    WaitForSync,
    /// `failover-in-progress`: we are a replica of the target and wait
    /// for its answer to `PSYNC ... FAILOVER`.
    InProgress,
}

impl FailoverState {
    /// The INFO word.
    pub fn name(self) -> &'static str {
        match self {
            FailoverState::NoFailover => "no-failover",
            FailoverState::WaitForSync => "waiting-for-sync",
            FailoverState::InProgress => "failover-in-progress",
        }
    }
}

/// The failover in flight (inside [`super::Repl`]).
#[derive(Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// `target_replica_host` / `target_replica_port`: given with `TO`, or
    /// the replica picked once it caught up.
    pub target: Option<(String, i64)>,
    /// `failover_end_time` (only with `TIMEOUT`).
    pub end: Option<Instant>,
    /// `FORCE`: switch at the deadline even if the target lags.
    pub force: bool,
}

/// What a FAILOVER command asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `FAILOVER ABORT`
    Abort,
    /// `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`
    Start {
        target: Option<(String, i64)>,
        timeout_ms: Option<i64>,
        force: bool,
    },
}

const NOT_INTEGER: &str = "ERR value is not an integer or out of range";

/// Parses FAILOVER's arguments (`a[0]` is the command name) the way
/// `failoverCommand` does: `ABORT` only alone, every option at most once,
/// integers checked as they come.
pub fn parse(a: &[Bytes]) -> Result<Request, &'static str> {
    let is = |b: &Bytes, w: &str| b.eq_ignore_ascii_case(w.as_bytes());
    if a.len() == 2 && is(&a[1], "abort") {
        return Ok(Request::Abort);
    }
    let mut target = None;
    let mut timeout_ms = None;
    let mut force = false;
    let mut j = 1;
    while j < a.len() {
        if is(&a[j], "timeout") && j + 1 < a.len() && timeout_ms.is_none() {
            let ms = parse_i64(&a[j + 1]).ok_or(NOT_INTEGER)?;
            if ms <= 0 {
                return Err("ERR FAILOVER timeout must be greater than 0");
            }
            timeout_ms = Some(ms);
            j += 2;
        } else if is(&a[j], "to") && j + 2 < a.len() && target.is_none() {
            let port = parse_i64(&a[j + 2]).ok_or(NOT_INTEGER)?;
            target = Some((String::from_utf8_lossy(&a[j + 1]).into_owned(), port));
            j += 3;
        } else if is(&a[j], "force") && !force {
            force = true;
            j += 1;
        } else {
            return Err("ERR syntax error");
        }
    }
    Ok(Request::Start {
        target,
        timeout_ms,
        force,
    })
}

/// What a replica looks like to the failover logic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaView {
    /// REPLCONF ip-address, else the peer address.
    pub ip: String,
    /// REPLCONF listening-port.
    pub port: i64,
    pub online: bool,
    pub ack_off: i64,
}

/// What the cron should do next (`updateFailoverStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// Keep waiting.
    Wait,
    /// The deadline passed without FORCE.
    Abort,
    /// Become a replica of this address (caught up, or FORCE at the deadline).
    SwitchTo(String, i64),
}

/// `findReplica`: host compared case-insensitively, port exactly.
fn find<'a>(replicas: &'a [ReplicaView], host: &str, port: i64) -> Option<&'a ReplicaView> {
    replicas
        .iter()
        .find(|r| r.ip.eq_ignore_ascii_case(host) && r.port == port)
}

/// `updateFailoverStatus` as a function of the failover, the replicas
/// (in connection order), `master_repl_offset` and the time.
pub fn decide(f: &Failover, replicas: &[ReplicaView], offset: i64, now: Instant) -> Tick {
    if f.state != FailoverState::WaitForSync {
        return Tick::Wait;
    }
    if f.end.is_some_and(|end| end <= now) {
        return match (&f.target, f.force) {
            (Some((h, p)), true) => Tick::SwitchTo(h.clone(), *p),
            _ => Tick::Abort,
        };
    }
    let caught_up = match &f.target {
        Some((h, p)) => find(replicas, h, *p).filter(|r| r.ack_off == offset),
        // the first replica (in any state, as Redis) that acknowledged all
        None => replicas.iter().find(|r| r.ack_off == offset),
    };
    match caught_up {
        Some(r) => Tick::SwitchTo(r.ip.clone(), r.port),
        None => Tick::Wait,
    }
}

fn views(st: &State) -> Vec<ReplicaView> {
    st.repl
        .replicas
        .values()
        .map(|r| ReplicaView {
            ip: r.ip.clone(),
            port: r.port as i64,
            // a diskless replica waiting for its first ACK is online for Redis
            online: matches!(r.state, ReplicaState::Online | ReplicaState::WaitAck),
            ack_off: r.ack_off,
        })
        .collect()
}

/// `master_failover_state`.
pub fn state_name(st: &State) -> &'static str {
    st.repl.failover.state.name()
}

/// Whether the failover holds writes (from FAILOVER until the target
/// accepted our PSYNC or the failover was aborted).
pub fn pauses_writes(st: &State) -> bool {
    st.repl.failover.state != FailoverState::NoFailover
}

/// Whether the cron must not PING the replicas: Redis skips the PING
/// while a failover with a deadline pauses writes, so the offsets stay put.
pub fn holds_pings(st: &State) -> bool {
    st.repl.failover.state == FailoverState::WaitForSync && st.repl.failover.end.is_some()
}

/// FAILOVER: `ABORT`, or the checks in `failoverCommand`'s order, then
/// writes pause and the cron waits for the target to catch up.
pub fn command(st: &mut State, shared: &Shared, req: Request) -> Result<(), String> {
    let (target, timeout_ms, force) = match req {
        Request::Abort => {
            if st.repl.failover.state == FailoverState::NoFailover {
                return Err("ERR No failover in progress.".into());
            }
            abort(st, shared, "Failover manually aborted");
            return Ok(());
        }
        Request::Start {
            target,
            timeout_ms,
            force,
        } => (target, timeout_ms, force),
    };
    if st.repl.failover.state != FailoverState::NoFailover {
        return Err("ERR FAILOVER already in progress.".into());
    }
    if st.repl.is_replica() {
        return Err("ERR FAILOVER is not valid when server is a replica.".into());
    }
    if st.repl.replicas.is_empty() {
        return Err("ERR FAILOVER requires connected replicas.".into());
    }
    if force && (timeout_ms.is_none() || target.is_none()) {
        return Err(
            "ERR FAILOVER with force option requires both a timeout and target HOST and IP.".into(),
        );
    }
    if let Some((host, port)) = &target {
        let all = views(st);
        let Some(r) = find(&all, host, *port) else {
            return Err("ERR FAILOVER target HOST and PORT is not a replica.".into());
        };
        if !r.online {
            return Err("ERR FAILOVER target replica is not online.".into());
        }
        tracing::info!("FAILOVER requested to {host}:{port}.");
    } else {
        tracing::info!("FAILOVER requested to any replica.");
    }
    st.repl.failover = Failover {
        state: FailoverState::WaitForSync,
        target,
        end: timeout_ms.map(|ms| Instant::now() + Duration::from_millis(ms as u64)),
        force,
    };
    Ok(())
}

/// The failover step of the replication cron (10 Hz).
pub fn cron(st: &mut State, shared: &Shared) {
    let tick = decide(
        &st.repl.failover,
        &views(st),
        st.repl.offset,
        Instant::now(),
    );
    match tick {
        Tick::Wait => {}
        Tick::Abort => abort(st, shared, "Replica never caught up before timeout"),
        Tick::SwitchTo(host, port) => {
            if st.repl.failover.end.is_some_and(|e| e <= Instant::now()) {
                tracing::info!("FAILOVER to {host}:{port} time out exceeded, failing over.");
            } else {
                tracing::info!("Failover target {host}:{port} is synced, failing over.");
            }
            // a listening port outside u16 never matches a replica
            let Ok(p) = u16::try_from(port) else {
                return abort(st, shared, "Invalid failover target port");
            };
            st.repl.failover.target = Some((host.clone(), port));
            st.repl.failover.state = FailoverState::InProgress;
            replica::set_master(st, host.clone(), p);
            if let Some(m) = st.repl.master.as_mut() {
                m.failover = true;
            }
            st.config.set_replicaof(Some((host, p)));
        }
    }
}

/// `abortFailover`: back to a master (with a new history, as
/// `replicationUnsetMaster`, when we had already switched) and writes
/// resume. A no-op without a failover.
pub fn abort(st: &mut State, shared: &Shared, why: &str) {
    let f = &st.repl.failover;
    if f.state == FailoverState::NoFailover {
        return;
    }
    match &f.target {
        Some((h, p)) => tracing::info!("FAILOVER to {h}:{p} aborted: {why}"),
        None => tracing::info!("FAILOVER to any replica aborted: {why}"),
    }
    if f.state == FailoverState::InProgress {
        replica::promote(st);
        st.config.set_replicaof(None);
    }
    clear(st, shared);
}

/// The target answered our `PSYNC ... FAILOVER` with `+CONTINUE` or
/// `+FULLRESYNC`: the failover is over and writes resume (they now meet
/// a replica and get -READONLY, as in Redis).
pub fn psync_accepted(st: &mut State, shared: &Shared) {
    if st.repl.failover.state == FailoverState::InProgress {
        tracing::info!("Failover completed: the target accepted the PSYNC.");
        clear(st, shared);
    }
}

/// `clearFailoverState`: also ends the failover's pause.
fn clear(st: &mut State, shared: &Shared) {
    st.repl.failover = Failover::default();
    if let Some(m) = st.repl.master.as_mut() {
        m.failover = false;
    }
    shared.unpaused.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<Bytes> {
        s.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn parse_follows_failover_command() {
        let start = |t: Option<(&str, i64)>, ms: Option<i64>, force| {
            Ok(Request::Start {
                target: t.map(|(h, p)| (h.to_string(), p)),
                timeout_ms: ms,
                force,
            })
        };
        let table: &[(&str, Result<Request, &str>)] = &[
            ("FAILOVER", start(None, None, false)),
            ("FAILOVER abort", Ok(Request::Abort)),
            ("FAILOVER TO h 7 ABORT", Err("ERR syntax error")),
            ("FAILOVER TO h 7", start(Some(("h", 7)), None, false)),
            (
                "FAILOVER force TIMEOUT 5 to h 7",
                start(Some(("h", 7)), Some(5), true),
            ),
            ("FAILOVER TO", Err("ERR syntax error")),
            ("FAILOVER TO h", Err("ERR syntax error")),
            ("FAILOVER TO h x", Err(NOT_INTEGER)),
            ("FAILOVER TO h 1 TO h 2", Err("ERR syntax error")),
            ("FAILOVER TIMEOUT", Err("ERR syntax error")),
            ("FAILOVER TIMEOUT x", Err(NOT_INTEGER)),
            (
                "FAILOVER TIMEOUT 0 FORCE FORCE",
                Err("ERR FAILOVER timeout must be greater than 0"),
            ),
            (
                "FAILOVER TIMEOUT -1",
                Err("ERR FAILOVER timeout must be greater than 0"),
            ),
            ("FAILOVER TIMEOUT 10 TIMEOUT 5", Err("ERR syntax error")),
            ("FAILOVER FORCE FORCE", Err("ERR syntax error")),
            ("FAILOVER FORCE", start(None, None, true)),
        ];
        for (line, want) in table {
            assert_eq!(&parse(&args(line)), want, "{line}");
        }
    }

    fn replica(ip: &str, port: i64, ack: i64) -> ReplicaView {
        ReplicaView {
            ip: ip.into(),
            port,
            online: true,
            ack_off: ack,
        }
    }

    fn waiting(target: Option<(&str, i64)>, end: Option<Instant>, force: bool) -> Failover {
        Failover {
            state: FailoverState::WaitForSync,
            target: target.map(|(h, p)| (h.to_string(), p)),
            end,
            force,
        }
    }

    #[test]
    fn switches_to_the_target_only_once_it_acknowledged_everything() {
        let now = Instant::now();
        let rs = [replica("10.0.0.1", 1, 100), replica("10.0.0.2", 2, 90)];
        let f = waiting(Some(("10.0.0.2", 2)), None, false);
        assert_eq!(decide(&f, &rs, 100, now), Tick::Wait);
        assert_eq!(
            decide(&f, &rs, 90, now),
            Tick::SwitchTo("10.0.0.2".into(), 2)
        );
    }

    #[test]
    fn without_to_the_first_caught_up_replica_is_chosen() {
        let now = Instant::now();
        let rs = [
            replica("a", 1, 50),
            replica("b", 2, 100),
            replica("c", 3, 100),
        ];
        let f = waiting(None, None, false);
        assert_eq!(decide(&f, &rs, 100, now), Tick::SwitchTo("b".into(), 2));
        assert_eq!(decide(&f, &rs, 101, now), Tick::Wait);
    }

    #[test]
    fn deadline_aborts_without_force_and_switches_with_it() {
        let now = Instant::now();
        let rs = [replica("h", 1, 10)];
        let past = Some(now - Duration::from_millis(1));
        let future = Some(now + Duration::from_secs(5));
        assert_eq!(
            decide(&waiting(Some(("h", 1)), past, false), &rs, 20, now),
            Tick::Abort
        );
        assert_eq!(
            decide(&waiting(Some(("h", 1)), past, true), &rs, 20, now),
            Tick::SwitchTo("h".into(), 1)
        );
        assert_eq!(
            decide(&waiting(Some(("h", 1)), future, true), &rs, 20, now),
            Tick::Wait
        );
    }

    #[test]
    fn nothing_happens_outside_waiting_for_sync() {
        let now = Instant::now();
        let rs = [replica("h", 1, 10)];
        let mut f = waiting(None, Some(now), true);
        f.state = FailoverState::InProgress;
        assert_eq!(decide(&f, &rs, 10, now), Tick::Wait);
        assert_eq!(decide(&Failover::default(), &rs, 10, now), Tick::Wait);
    }
}
