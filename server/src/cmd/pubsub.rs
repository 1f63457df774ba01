//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! PUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH and PUBSUB.
//!
//! (Un)subscribe commands answer one confirmation per channel: they are
//! pushed into `ctx.extra` and the handler's own reply is suppressed
//! (`ctx.no_reply`). Confirmations are `Frame::Push`, which encodes as
//! `>3` in RESP3 and as a plain array in RESP2, as Redis does. The counts
//! in confirmations are, like Redis 7.0's, channels + patterns for the
//! classic commands and shard channels only for the shard commands.

use bytes::Bytes;
use picket_common::glob::glob_match;
use picket_common::resp::Frame;

use super::flags::*;
use super::{bulk_array, unknown_sub, Cmd, CmdResult, Ctx};
use crate::cmd;

/// The pubsub rows of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[Cmd] = &[
    cmd!("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, "pubsub", subscribe),
    cmd!("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, "pubsub", unsubscribe),
    cmd!("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, "pubsub", psubscribe),
    cmd!("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, 0, 0, 0, "pubsub", punsubscribe),
    cmd!("publish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, 0, 0, 0, "pubsub", publish),
    cmd!("ssubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE, 1, -1, 1, "pubsub", ssubscribe),
    cmd!("sunsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE, 1, -1, 1, "pubsub", sunsubscribe),
    cmd!("spublish", 3, PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE, 1, 1, 1, "pubsub", spublish),
    cmd!(
        "pubsub", -2, 0, 0, 0, 0, "pubsub", pubsub,
        subs = &[
            ("channels", -2, PUBSUB | LOADING | STALE),
            ("numpat", 2, PUBSUB | LOADING | STALE),
            ("numsub", -2, PUBSUB | LOADING | STALE),
            ("shardchannels", -2, PUBSUB | LOADING | STALE),
            ("shardnumsub", -2, PUBSUB | LOADING | STALE),
            ("help", 2, LOADING | STALE),
        ]
    ),
];

/// A subscription confirmation: `[kind, channel-or-nil, count]`.
fn confirm(kind: &str, channel: Option<&Bytes>, count: usize) -> Frame {
    Frame::Push(vec![
        Frame::bulk(kind),
        channel.map_or(Frame::Null, |c| Frame::Bulk(c.clone())),
        Frame::Integer(count as i64),
    ])
}

fn subscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    for ch in &a[1..] {
        if ctx.client.channels.insert(ch.clone()) {
            ctx.st.pubsub.subscribe(id, ch, &ctx.client.push_tx);
        }
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("subscribe", Some(ch), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn psubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    for p in &a[1..] {
        if ctx.client.patterns.insert(p.clone()) {
            ctx.st.pubsub.psubscribe(id, p, &ctx.client.push_tx);
        }
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("psubscribe", Some(p), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn ssubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Redis runs EXEC'd commands as a DENY_BLOCKING client, and unlike
    // SUBSCRIBE, SSUBSCRIBE has no MULTI exception.
    if ctx.in_exec {
        return Err(Frame::err(
            "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client",
        ));
    }
    let id = ctx.client.id;
    for ch in &a[1..] {
        if ctx.client.shard_channels.insert(ch.clone()) {
            ctx.st.pubsub.ssubscribe(id, ch, &ctx.client.push_tx);
        }
        let n = ctx.client.shard_channels.len();
        ctx.extra.push(confirm("ssubscribe", Some(ch), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn unsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    let targets: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        ctx.client.channels.iter().cloned().collect()
    };
    if targets.is_empty() {
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("unsubscribe", None, n));
    }
    for ch in &targets {
        if ctx.client.channels.remove(ch) {
            ctx.st.pubsub.unsubscribe(id, ch);
        }
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("unsubscribe", Some(ch), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn punsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    let targets: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        // Redis keeps a client's patterns in subscription order; the
        // registry's insertion order is the closest we have.
        let mine = &ctx.client.patterns;
        let mut v: Vec<Bytes> = ctx
            .st
            .pubsub
            .patterns
            .keys()
            .filter(|p| mine.contains(*p))
            .cloned()
            .collect();
        v.extend(
            mine.iter()
                .filter(|p| !ctx.st.pubsub.patterns.contains_key(*p))
                .cloned(),
        );
        v
    };
    if targets.is_empty() {
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("punsubscribe", None, n));
    }
    for p in &targets {
        if ctx.client.patterns.remove(p) {
            ctx.st.pubsub.punsubscribe(id, p);
        }
        let n = ctx.client.sub_count();
        ctx.extra.push(confirm("punsubscribe", Some(p), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn sunsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let id = ctx.client.id;
    let targets: Vec<Bytes> = if a.len() > 1 {
        a[1..].to_vec()
    } else {
        ctx.client.shard_channels.iter().cloned().collect()
    };
    if targets.is_empty() {
        let n = ctx.client.shard_channels.len();
        ctx.extra.push(confirm("sunsubscribe", None, n));
    }
    for ch in &targets {
        if ctx.client.shard_channels.remove(ch) {
            ctx.st.pubsub.sunsubscribe(id, ch);
        }
        let n = ctx.client.shard_channels.len();
        ctx.extra.push(confirm("sunsubscribe", Some(ch), n));
    }
    ctx.no_reply = true;
    Ok(Frame::Null)
}

fn publish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = ctx.st.pubsub.publish(&a[1], &a[2]);
    // PUBLISH goes to replicas (not to the AOF), as Redis propagates it
    let db = ctx.client.db;
    crate::replication::feed_command(ctx.st, Some(db), a);
    Ok(Frame::Integer(n))
}

fn spublish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(ctx.st.pubsub.spublish(&a[1], &a[2])))
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// The names matching the optional pattern (PUBSUB CHANNELS).
fn matching<'a, I: Iterator<Item = &'a Bytes>>(names: I, pattern: Option<&Bytes>) -> Frame {
    bulk_array(
        names
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned(),
    )
}

fn pubsub(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = a[1].to_ascii_lowercase();
    let ps = &ctx.st.pubsub;
    match (&sub[..], a.len()) {
        (b"help", 2) => Ok(Frame::Array(
            PUBSUB_HELP
                .iter()
                .map(|l| Frame::Simple((*l).to_string()))
                .collect(),
        )),
        (b"channels", 2 | 3) => Ok(matching(ps.channels.keys(), a.get(2))),
        (b"shardchannels", 2 | 3) => Ok(matching(ps.shard_channels.keys(), a.get(2))),
        (b"numpat", 2) => Ok(Frame::Integer(ps.patterns.len() as i64)),
        (b"numsub", _) => Ok(Frame::Array(
            a[2..]
                .iter()
                .flat_map(|c| [Frame::Bulk(c.clone()), Frame::Integer(ps.numsub(c) as i64)])
                .collect(),
        )),
        (b"shardnumsub", _) => Ok(Frame::Array(
            a[2..]
                .iter()
                .flat_map(|c| {
                    [
                        Frame::Bulk(c.clone()),
                        Frame::Integer(ps.shard_numsub(c) as i64),
                    ]
                })
                .collect(),
        )),
        (b"channels" | b"shardchannels", _) => Err(super::sub_syntax_err("pubsub", &a[1])),
        _ => Err(unknown_sub("pubsub", &a[1])),
    }
}
