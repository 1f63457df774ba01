//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH (Redis 7.0 rules).
//!
//! Queueing happens in dispatch (`cmd::execute`): while `client.multi` is
//! `Some`, every command but EXEC/DISCARD/MULTI/WATCH/QUIT/RESET is
//! queued, and a command that fails to queue (unknown, bad arity, ...)
//! sets `client.multi_error` so that EXEC answers EXECABORT.
//!
//! WATCH and expiry. Redis 7.0 remembers, per watched key, whether the
//! key was already logically expired at WATCH time (`wk->expired`): such
//! a key counts as missing, so its later reclamation is not a change,
//! while a live key that expires after WATCH aborts EXEC (either through
//! the deletion touching it, or `isWatchedKeyExpired` at EXEC). We get
//! the same outcomes without a per-key flag by reclaiming an expired key
//! when it is WATCHed: from then on it is simply missing, and only a real
//! write can touch it. (The only visible difference is that the
//! `expired` event fires at WATCH time, which active expiry could have
//! done at that moment anyway.)

use bytes::Bytes;
use picket_common::resp::Frame;

use super::flags::*;
use super::{Cmd, CmdResult, Ctx, Flow};
use crate::cmd;
use crate::db::NO_EXPIRE;

/// The transactions rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[Cmd] = &[
    cmd!("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, "transactions", multi),
    cmd!("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG, 0, 0, 0, "transactions", exec),
    cmd!("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, "transactions", discard),
    cmd!("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 1, -1, 1, "transactions", watch),
    cmd!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY, 0, 0, 0, "transactions", unwatch),
];

fn multi(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(Frame::err("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_error = false;
    Ok(Frame::ok())
}

/// Leaves MULTI state and drops the WATCHes (`discardTransaction`).
fn discard_transaction(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    ctx.st.unwatch_all(ctx.client);
}

fn discard(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(Frame::err("ERR DISCARD without MULTI"));
    }
    discard_transaction(ctx);
    Ok(Frame::ok())
}

/// `isWatchedKeyExpired`: a watched key (live when it was WATCHed, see
/// the module doc) is still in the keyspace but past its deadline.
fn watched_key_expired(ctx: &Ctx) -> bool {
    ctx.client.watched.iter().any(|(db, key)| {
        ctx.st
            .dbs
            .get(*db)
            .and_then(|d| d.dict.get(&key[..]))
            .is_some_and(|e| e.expire != NO_EXPIRE && e.expire <= ctx.now)
    })
}

fn exec(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let Some(queue) = ctx.client.multi.take() else {
        return Err(Frame::err("ERR EXEC without MULTI"));
    };
    if watched_key_expired(ctx) {
        ctx.client.dirty_cas = true;
    }
    if ctx.client.multi_error {
        discard_transaction(ctx);
        return Err(Frame::err(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if ctx.client.dirty_cas {
        discard_transaction(ctx);
        return Ok(Frame::NullArray);
    }
    // Unwatch before running, so the transaction's own writes do not
    // flag the client.
    discard_transaction(ctx);
    // the queued commands propagate themselves, as one MULTI/EXEC unit
    // when there are several (see crate::propagate)
    ctx.propagate_as(Vec::new());
    let mut replies = Vec::with_capacity(queue.len());
    for q in queue {
        // ACLs may have changed since the command was queued (the ACL
        // LOG sees the client still in MULTI, as Redis's does)
        ctx.client.multi = Some(Vec::new());
        let allowed = super::acl::check(ctx.st, ctx.client, q.cmd, &q.args, true);
        ctx.client.multi = None;
        if let Err((d, _)) = allowed {
            replies.push(super::acl::exec_noperm(&d));
            continue;
        }
        let (reply, flow, extra, no_reply) =
            super::call(ctx.shared, ctx.st, ctx.client, q.cmd, &q.args, true);
        // Multi-frame replies (SUBSCRIBE a b) become several elements;
        // Redis writes them under a header that counts commands, which
        // no client can parse, so this is the sane reading of it.
        replies.extend(extra);
        let reply = match flow {
            Flow::Continue => reply,
            // Blocking commands must not block inside EXEC; should a
            // handler still have done so, answer its timeout reply.
            Flow::Block { timeout_reply, .. } => {
                let id = ctx.client.id;
                ctx.st.unblock(id);
                ctx.client.blocked = false;
                timeout_reply
            }
            other => {
                ctx.flow = other;
                reply
            }
        };
        if !no_reply {
            replies.push(reply);
        }
    }
    Ok(Frame::Array(replies))
}

fn watch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(Frame::err("ERR WATCH inside MULTI is not allowed"));
    }
    // No point in watching more when the client is already dirty.
    if ctx.client.dirty_cas {
        return Ok(Frame::ok());
    }
    let db = ctx.client.db;
    let id = ctx.client.id;
    for key in &a[1..] {
        if ctx.client.watched.iter().any(|(d, k)| *d == db && k == key) {
            continue;
        }
        // Reclaim a key that is already logically expired (module doc).
        // Account for it here, before this client watches it, so the
        // reclaim does not count as a change of a key it watches.
        let now = ctx.now;
        if ctx.st.dbs[db].expire_if_needed(key, now) {
            ctx.st.dbs[db].expired.pop();
            ctx.st.stats.expired_keys += 1;
            ctx.notify(crate::config::notify::EXPIRED, "expired", key);
            ctx.st.touch_watched(db, key, ctx.client);
        }
        ctx.st
            .watched
            .entry((db, key.clone()))
            .or_default()
            .push(id);
        ctx.client.watched.push((db, key.clone()));
    }
    Ok(Frame::ok())
}

fn unwatch(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.st.unwatch_all(ctx.client);
    Ok(Frame::ok())
}
