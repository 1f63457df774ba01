//! Replication commands: REPLICAOF / SLAVEOF, REPLCONF, PSYNC, SYNC,
//! WAIT, ROLE and FAILOVER (the machinery is in [`crate::replication`]).

use bytes::Bytes;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;

use super::flags::*;
use super::{is, Cmd, CmdResult, Ctx, Flow};
use crate::cmd;
use crate::replication::failover::{self, FailoverState};
use crate::replication::{master, replica};

/// The replication rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[Cmd] = &[
    cmd!("replicaof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, 0, 0, 0, "server", replicaof),
    cmd!("slaveof", 3, ADMIN | NOSCRIPT | STALE | NO_ASYNC_LOADING, 0, 0, 0, "server", replicaof),
    cmd!("replconf", -1, ADMIN | NOSCRIPT | LOADING | STALE | ALLOW_BUSY, 0, 0, 0, "server", replconf),
    cmd!("psync", -3, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, 0, 0, 0, "server", psync),
    cmd!("sync", 1, ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI, 0, 0, 0, "server", sync),
    cmd!("wait", 3, NOSCRIPT, 0, 0, 0, "generic", wait),
    cmd!("role", 1, NOSCRIPT | LOADING | STALE | FAST | SENTINEL, 0, 0, 0, "server", role),
    cmd!("failover", -1, ADMIN | NOSCRIPT | STALE, 0, 0, 0, "server", failover_cmd),
];

fn replicaof(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.st.repl.failover.state != FailoverState::NoFailover {
        return Err(Frame::err("ERR REPLICAOF not allowed while failing over."));
    }
    if ctx.client.kind == crate::state::ClientKind::Replica {
        return Err(Frame::err(
            "ERR Command is not valid when client is a replica.",
        ));
    }
    if is(&a[1], "no") && is(&a[2], "one") {
        if ctx.st.repl.master.is_some() {
            replica::promote(ctx.st);
            ctx.st.config.set_replicaof(None);
        }
        return Ok(Frame::ok());
    }
    let port = parse_i64(&a[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| Frame::err("ERR Invalid master port"))? as u16;
    let host = String::from_utf8_lossy(&a[1]).into_owned();
    if let Some(m) = ctx.st.repl.master.as_ref() {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            return Ok(Frame::Simple(
                "OK Already connected to specified master".into(),
            ));
        }
    }
    tracing::info!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        ctx.client.addr
    );
    replica::set_master(ctx.st, host.clone(), port);
    ctx.st.config.set_replicaof(Some((host, port)));
    Ok(Frame::ok())
}

fn replconf(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    match master::replconf(ctx.st, id, a) {
        Ok(Some(())) => Ok(Frame::ok()),
        Ok(None) => {
            ctx.no_reply = true;
            Ok(Frame::ok())
        }
        Err(e) => Err(Frame::err(e)),
    }
}

fn start_sync(ctx: &mut Ctx, id: &str, off: i64, sync_cmd: bool) -> CmdResult {
    if ctx.st.repl.failover.state != FailoverState::NoFailover {
        return Err(Frame::err("NOMASTERLINK Can't SYNC while failing over"));
    }
    if ctx.st.repl.master.is_some() && !ctx.st.repl.link_up() {
        return Err(Frame::err(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let rx = master::psync(ctx.st, ctx.client, id, off, sync_cmd);
    ctx.client.kind = crate::state::ClientKind::Replica;
    ctx.flow = Flow::Replica { rx };
    ctx.no_reply = true;
    Ok(Frame::ok())
}

fn psync(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 && is(&a[3], "failover") {
        // our master hands over to us (its FAILOVER): promote, then the
        // PSYNC below continues from our replid2
        tracing::warn!(
            "Failover request received for replid {}.",
            String::from_utf8_lossy(&a[1])
        );
        if ctx.st.repl.master.is_none() {
            return Err(Frame::err("ERR PSYNC FAILOVER can't be sent to a master."));
        }
        if !a[1].eq_ignore_ascii_case(ctx.st.repl.replid.as_bytes()) {
            return Err(Frame::err(
                "ERR PSYNC FAILOVER replid must match my replid.",
            ));
        }
        replica::promote(ctx.st);
        ctx.st.config.set_replicaof(None);
        tracing::info!(
            "MASTER MODE enabled (failover request from '{}')",
            ctx.client.addr
        );
    }
    let id = String::from_utf8_lossy(&a[1]).into_owned();
    let off = parse_i64(&a[2])
        .ok_or_else(|| Frame::err("ERR value is not an integer or out of range"))?;
    start_sync(ctx, &id, off, false)
}

fn sync(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    start_sync(ctx, "?", -1, true)
}

fn wait(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.st.repl.master.is_some() {
        return Err(Frame::err("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let n = parse_i64(&a[1])
        .ok_or_else(|| Frame::err("ERR value is not an integer or out of range"))?;
    let timeout = parse_i64(&a[2])
        .ok_or_else(|| Frame::err("ERR timeout is not an integer or out of range"))?;
    if timeout < 0 {
        return Err(Frame::err("ERR timeout is negative"));
    }
    let offset = ctx.st.repl.offset;
    let acked = master::acked_replicas(ctx.st, offset);
    if ctx.in_exec || acked >= n {
        return Ok(Frame::Integer(acked));
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    ctx.st.repl.waiters.push(crate::replication::Waiter {
        client: ctx.client.id,
        offset,
        numreplicas: n.max(0) as usize,
        tx,
    });
    // ask the replicas for an ACK now rather than at their next second
    ctx.st.repl.getack_pending = true;
    ctx.st.repl.kick.notify_one();
    let deadline = (timeout > 0)
        .then(|| std::time::Instant::now() + std::time::Duration::from_millis(timeout as u64));
    ctx.flow = Flow::Wait {
        rx,
        deadline,
        offset,
    };
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn role(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(crate::replication::role(ctx.st))
}

fn failover_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let req = failover::parse(a).map_err(Frame::err)?;
    failover::command(ctx.st, ctx.shared, req).map_err(Frame::err)?;
    Ok(Frame::ok())
}
