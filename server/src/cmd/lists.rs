//! List commands (Redis 7.0 `t_list.c`): pushes, pops (with COUNT), ranges,
//! LINSERT/LREM/LTRIM/LSET/LPOS, LMOVE/RPOPLPUSH/LMPOP and their blocking
//! variants. Lists are `VecDeque<Bytes>`; a list that becomes empty is
//! deleted (with a `del` notification) as Redis does. Blocked clients are
//! served by [`crate::blocking::serve_ready_keys`] after every command.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, bulk_array, is, syntax_err, wrong_arity, wrongtype, Cmd, CmdResult, Ctx};
use crate::blocking::{BlockOp, End};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};

/// The list rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("lpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, "list", lpush),
    cmd!("rpush", -3, WRITE | DENYOOM | FAST, 1, 1, 1, "list", rpush),
    cmd!(
        "lpushx",
        -3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "list",
        lpushx
    ),
    cmd!(
        "rpushx",
        -3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "list",
        rpushx
    ),
    cmd!("lpop", -2, WRITE | FAST, 1, 1, 1, "list", lpop),
    cmd!("rpop", -2, WRITE | FAST, 1, 1, 1, "list", rpop),
    cmd!("llen", 2, READONLY | FAST, 1, 1, 1, "list", llen),
    cmd!("lrange", 4, READONLY, 1, 1, 1, "list", lrange),
    cmd!("lindex", 3, READONLY, 1, 1, 1, "list", lindex),
    cmd!("lset", 4, WRITE | DENYOOM, 1, 1, 1, "list", lset),
    cmd!("linsert", 5, WRITE | DENYOOM, 1, 1, 1, "list", linsert),
    cmd!("lrem", 4, WRITE, 1, 1, 1, "list", lrem),
    cmd!("ltrim", 4, WRITE, 1, 1, 1, "list", ltrim),
    cmd!("lpos", -3, READONLY, 1, 1, 1, "list", lpos),
    cmd!("lmove", 5, WRITE | DENYOOM, 1, 2, 1, "list", lmove),
    cmd!("rpoplpush", 3, WRITE | DENYOOM, 1, 2, 1, "list", rpoplpush),
    cmd!(
        "lmpop",
        -4,
        WRITE | MOVABLEKEYS,
        0,
        0,
        0,
        "list",
        lmpop,
        getkeys = lmpop_keys
    ),
    cmd!(
        "blpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        1,
        -2,
        1,
        "list",
        blpop
    ),
    cmd!(
        "brpop",
        -3,
        WRITE | NOSCRIPT | BLOCKING,
        1,
        -2,
        1,
        "list",
        brpop
    ),
    cmd!(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        "list",
        blmove
    ),
    cmd!(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        1,
        2,
        1,
        "list",
        brpoplpush
    ),
    cmd!(
        "blmpop",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        0,
        0,
        0,
        "list",
        blmpop,
        getkeys = blmpop_keys
    ),
];

// ---------------------------------------------------------------- helpers

/// Looks a list up for writing: `Ok(None)` when missing, WRONGTYPE otherwise.
fn list_write<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut VecDeque<Bytes>>, Frame> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(&mut **l)),
        Some(_) => Err(wrongtype()),
    }
}

/// Looks a list up for reading (keyspace hits/misses).
fn list_read<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut VecDeque<Bytes>>, Frame> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Ok(Some(&mut **l)),
        Some(_) => Err(wrongtype()),
    }
}

/// Whether `key` of the current db holds an empty list.
fn is_empty_list(ctx: &mut Ctx, key: &[u8]) -> bool {
    matches!(ctx.db().dict.get(key), Some(Entry { value: Value::List(l), .. }) if l.is_empty())
}

/// After a write that may have emptied a list: deletes it when empty, then
/// sends `event` (and `del`), invalidates WATCH, and counts `dirty` changes
/// (Redis's `listElementsRemoved` and friends).
fn written(ctx: &mut Ctx, key: &[u8], event: &str, dirty: usize) {
    let emptied = is_empty_list(ctx, key);
    if emptied {
        ctx.db().remove(key);
    }
    ctx.modified(key, notify::LIST, event);
    if emptied {
        ctx.notify(notify::GENERIC, "del", key);
    }
    // `modified` counted one change.
    ctx.st.dirty = (ctx.st.dirty + dirty as u64).saturating_sub(1);
}

/// `LPOP` / `RPOP`: how pops are propagated.
pub fn pop_verb(end: End) -> Bytes {
    Bytes::from_static(match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    })
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Left => "lpop",
        End::Right => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Left => "lpush",
        End::Right => "rpush",
    }
}

/// Pops up to `n` elements from one end (in pop order).
fn pop_n(l: &mut VecDeque<Bytes>, end: End, n: usize) -> Vec<Bytes> {
    let n = n.min(l.len());
    match end {
        End::Left => l.drain(..n).collect(),
        End::Right => {
            let at = l.len() - n;
            l.drain(at..).rev().collect()
        }
    }
}

/// LEFT / RIGHT or `ERR syntax error`.
fn parse_end(a: &[u8]) -> Result<End, Frame> {
    End::parse(a).ok_or_else(syntax_err)
}

/// Redis's `getPositiveLongFromObjectOrReply` with the default message.
fn positive_count(a: &[u8]) -> Result<usize, Frame> {
    match picket_common::num::parse_i64(a) {
        Some(v) if v >= 0 => Ok(usize::try_from(v).unwrap_or(usize::MAX)),
        _ => Err(Frame::err("ERR value is out of range, must be positive")),
    }
}

/// Redis's `getRangeLongFromObjectOrReply(1, LONG_MAX, msg)`.
fn at_least_one(a: &[u8], msg: &str) -> Result<i64, Frame> {
    match picket_common::num::parse_i64(a) {
        Some(v) if v >= 1 => Ok(v),
        _ => Err(Frame::err(format!("ERR {msg}"))),
    }
}

/// Turns Redis start/end indexes into a clamped inclusive range.
fn range(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return None;
    }
    if end >= llen {
        end = llen - 1;
    }
    Some((start as usize, end as usize))
}

/// Parses a blocking timeout in seconds exactly as Redis 7.0's
/// `getTimeoutFromObjectOrReply` does: a `long double` (so `1e400` parses,
/// `1e5000` and `nan` do not, hex is accepted), multiplied by 1000 and
/// truncated to `long long` (values that do not fit become negative, and
/// sub-millisecond positive or negative values become 0 = forever).
fn parse_timeout_ms(a: &[u8]) -> Result<Option<Duration>, Frame> {
    super::parse_timeout(a)
}

/// Blocks the client on `keys` (deduplicated), or answers `no_block_reply`
/// at once when blocking is not allowed (inside MULTI/EXEC). On timeout
/// every blocking list command answers a nil array in Redis 7.0
/// (`replyToBlockedClientTimedOut`), BLMOVE and BRPOPLPUSH included.
fn block_on(
    ctx: &mut Ctx,
    keys: &[Bytes],
    op: BlockOp,
    timeout: Option<Duration>,
    no_block_reply: Frame,
) -> CmdResult {
    if ctx.in_exec {
        return Ok(no_block_reply);
    }
    let timeout_reply = Frame::NullArray;
    let mut uniq: Vec<Bytes> = Vec::with_capacity(keys.len());
    for k in keys {
        if !uniq.contains(k) {
            uniq.push(k.clone());
        }
    }
    ctx.block(uniq, op, timeout, timeout_reply.clone());
    ctx.no_reply = true;
    Ok(timeout_reply)
}

// ---------------------------------------------------------------- pushes

fn push(ctx: &mut Ctx, a: &[Bytes], end: End, xx: bool) -> CmdResult {
    let key = &a[1];
    if list_write(ctx, key)?.is_none() {
        if xx {
            return Ok(Frame::Integer(0));
        }
        let lru = ctx.lru;
        ctx.db()
            .insert_entry(key.clone(), Entry::new(Value::List(Box::default()), lru));
    }
    let len = match list_write(ctx, key)? {
        Some(l) => {
            for v in &a[2..] {
                match end {
                    End::Left => l.push_front(v.clone()),
                    End::Right => l.push_back(v.clone()),
                }
            }
            l.len()
        }
        None => 0,
    };
    ctx.modified(key, notify::LIST, push_event(end));
    ctx.st.dirty += (a.len() - 3) as u64;
    Ok(Frame::Integer(len as i64))
}

fn lpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Left, false)
}
fn rpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Right, false)
}
fn lpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Left, true)
}
fn rpushx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    push(ctx, a, End::Right, true)
}

// ---------------------------------------------------------------- pops

fn pop(ctx: &mut Ctx, a: &[Bytes], end: End, name: &str) -> CmdResult {
    if a.len() > 3 {
        return Err(wrong_arity(name));
    }
    let count = match a.get(2) {
        Some(c) => Some(positive_count(c)?),
        None => None,
    };
    let key = &a[1];
    let Some(l) = list_write(ctx, key)? else {
        return Ok(if count.is_some() {
            Frame::NullArray
        } else {
            Frame::Null
        });
    };
    let reply = match count {
        Some(0) => return Ok(Frame::Array(vec![])),
        Some(n) => {
            let v = pop_n(l, end, n);
            let n = v.len();
            (bulk_array(v), n)
        }
        None => match pop_n(l, end, 1).pop() {
            Some(v) => (Frame::Bulk(v), 1),
            None => return Ok(Frame::Null),
        },
    };
    written(ctx, key, pop_event(end), reply.1);
    Ok(reply.0)
}

fn lpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop(ctx, a, End::Left, "lpop")
}
fn rpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    pop(ctx, a, End::Right, "rpop")
}

// ---------------------------------------------------------------- reads

fn llen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        list_read(ctx, &a[1])?.map_or(0, |l| l.len() as i64),
    ))
}

fn lrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = arg_i64(&a[2])?;
    let end = arg_i64(&a[3])?;
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    Ok(match range(l.len(), start, end) {
        Some((s, e)) => bulk_array(l.range(s..=e).cloned()),
        None => Frame::Array(vec![]),
    })
}

fn lindex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(Frame::Null);
    };
    let idx = arg_i64(&a[2])?;
    let len = l.len() as i64;
    let i = if idx < 0 { len + idx } else { idx };
    Ok(if i >= 0 && i < len {
        Frame::Bulk(l[i as usize].clone())
    } else {
        Frame::Null
    })
}

fn lpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let ele = &a[2];
    let mut rank: i64 = 1;
    let mut count: i64 = -1;
    let mut maxlen: i64 = 0;
    let mut j = 3;
    while j < a.len() {
        let more = j + 1 < a.len();
        if is(&a[j], "rank") && more {
            j += 1;
            rank = arg_i64(&a[j])?;
            if rank == 0 {
                return Err(Frame::err(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if is(&a[j], "count") && more {
            j += 1;
            count = match picket_common::num::parse_i64(&a[j]) {
                Some(v) if v >= 0 => v,
                _ => return Err(Frame::err("ERR COUNT can't be negative")),
            };
        } else if is(&a[j], "maxlen") && more {
            j += 1;
            maxlen = match picket_common::num::parse_i64(&a[j]) {
                Some(v) if v >= 0 => v,
                _ => return Err(Frame::err("ERR MAXLEN can't be negative")),
            };
        } else {
            return Err(syntax_err());
        }
        j += 1;
    }
    let from_tail = rank < 0;
    if from_tail {
        // -LONG_MIN wraps to LONG_MIN in Redis: every match qualifies.
        rank = rank.wrapping_neg();
    }
    let with_count = count != -1;
    let Some(l) = list_read(ctx, &a[1])? else {
        return Ok(if with_count {
            Frame::Array(vec![])
        } else {
            Frame::Null
        });
    };
    let len = l.len() as i64;
    let mut out = Vec::new();
    let mut matches: i64 = 0;
    let mut found: Option<i64> = None;
    let mut index: i64 = 0;
    let mut it: Box<dyn Iterator<Item = &Bytes>> = if from_tail {
        Box::new(l.iter().rev())
    } else {
        Box::new(l.iter())
    };
    while maxlen == 0 || index < maxlen {
        let Some(e) = it.next() else { break };
        if e == ele {
            matches += 1;
            let pos = if from_tail { len - index - 1 } else { index };
            if matches >= rank {
                if with_count {
                    out.push(Frame::Integer(pos));
                    if count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count {
                        break;
                    }
                } else {
                    found = Some(pos);
                    break;
                }
            }
        }
        index += 1;
    }
    Ok(if with_count {
        Frame::Array(out)
    } else {
        found.map_or(Frame::Null, Frame::Integer)
    })
}

// ---------------------------------------------------------------- in-place writes

fn lset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let Some(l) = list_write(ctx, key)? else {
        return Err(Frame::err("ERR no such key"));
    };
    let idx = arg_i64(&a[2])?;
    let len = l.len() as i64;
    let i = if idx < 0 { len + idx } else { idx };
    if i < 0 || i >= len {
        return Err(Frame::err("ERR index out of range"));
    }
    l[i as usize] = a[3].clone();
    ctx.modified(key, notify::LIST, "lset");
    Ok(Frame::ok())
}

fn linsert(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let after = if is(&a[2], "after") {
        true
    } else if is(&a[2], "before") {
        false
    } else {
        return Err(syntax_err());
    };
    let key = &a[1];
    let Some(l) = list_write(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let Some(pos) = l.iter().position(|e| *e == a[3]) else {
        return Ok(Frame::Integer(-1));
    };
    l.insert(if after { pos + 1 } else { pos }, a[4].clone());
    let len = l.len();
    ctx.modified(key, notify::LIST, "linsert");
    Ok(Frame::Integer(len as i64))
}

fn lrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let count = arg_i64(&a[2])?;
    let key = &a[1];
    let Some(l) = list_write(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let limit = count.unsigned_abs();
    let n = l.len();
    let mut drop = vec![false; n];
    let mut removed: u64 = 0;
    let order: Box<dyn Iterator<Item = usize>> = if count < 0 {
        Box::new((0..n).rev())
    } else {
        Box::new(0..n)
    };
    for i in order {
        if l[i] == a[3] {
            drop[i] = true;
            removed += 1;
            if limit != 0 && removed == limit {
                break;
            }
        }
    }
    if removed > 0 {
        let mut i = 0;
        l.retain(|_| {
            let keep = !drop[i];
            i += 1;
            keep
        });
        written(ctx, key, "lrem", removed as usize);
    }
    Ok(Frame::Integer(removed as i64))
}

fn ltrim(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = arg_i64(&a[2])?;
    let end = arg_i64(&a[3])?;
    let key = &a[1];
    let Some(l) = list_write(ctx, key)? else {
        return Ok(Frame::ok());
    };
    let len = l.len();
    let (ltrim, rtrim) = match range(len, start, end) {
        Some((s, e)) => (s, len - e - 1),
        None => (len, 0),
    };
    l.truncate(len - rtrim);
    l.drain(..ltrim.min(l.len()));
    written(ctx, key, "ltrim", ltrim + rtrim);
    Ok(Frame::ok())
}

// ---------------------------------------------------------------- moves

/// LMOVE core (`lmoveGenericCommand`): nil when the source is missing,
/// WRONGTYPE for a non-list source or destination.
fn lmove_generic(ctx: &mut Ctx, src: &Bytes, dst: &Bytes, from: End, to: End) -> CmdResult {
    match list_write(ctx, src)? {
        Some(l) if !l.is_empty() => {}
        _ => return Ok(Frame::Null),
    }
    let dst_exists = list_write(ctx, dst)?.is_some();
    let Some(v) = list_write(ctx, src)?.and_then(|l| pop_n(l, from, 1).pop()) else {
        return Ok(Frame::Null);
    };
    if !dst_exists {
        let lru = ctx.lru;
        ctx.db()
            .insert_entry(dst.clone(), Entry::new(Value::List(Box::default()), lru));
    }
    if let Some(l) = list_write(ctx, dst)? {
        match to {
            End::Left => l.push_front(v.clone()),
            End::Right => l.push_back(v.clone()),
        }
    }
    ctx.touch(dst);
    ctx.notify(notify::LIST, push_event(to), dst);
    let db = ctx.client.db;
    ctx.st.signal_ready(db, dst);
    written(ctx, src, pop_event(from), 1);
    Ok(Frame::Bulk(v))
}

fn lmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let from = parse_end(&a[3])?;
    let to = parse_end(&a[4])?;
    lmove_generic(ctx, &a[1], &a[2], from, to)
}

fn rpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    lmove_generic(ctx, &a[1], &a[2], End::Right, End::Left)
}

// ---------------------------------------------------------------- LMPOP

/// Parsed `numkeys key... LEFT|RIGHT [COUNT n]`.
struct MPopArgs {
    keys: Vec<Bytes>,
    end: End,
    count: usize,
}

/// `lmpopGenericCommand`'s parsing, `numkeys` at `at`.
fn parse_mpop(a: &[Bytes], at: usize) -> Result<MPopArgs, Frame> {
    let numkeys = at_least_one(&a[at], "numkeys should be greater than 0")?;
    let where_idx = (at as u64).saturating_add(numkeys as u64).saturating_add(1);
    if where_idx >= a.len() as u64 {
        return Err(syntax_err());
    }
    let where_idx = where_idx as usize;
    let end = parse_end(&a[where_idx])?;
    let mut count: i64 = -1;
    let mut j = where_idx + 1;
    while j < a.len() {
        if count == -1 && is(&a[j], "count") && j + 1 < a.len() {
            j += 1;
            count = at_least_one(&a[j], "count should be greater than 0")?;
        } else {
            return Err(syntax_err());
        }
        j += 1;
    }
    let count = if count == -1 {
        1
    } else {
        usize::try_from(count).unwrap_or(usize::MAX)
    };
    Ok(MPopArgs {
        keys: a[at + 1..where_idx].to_vec(),
        end,
        count,
    })
}

/// Pops from the first non-empty list of `keys`: `Ok(Some([key, [elems]]))`.
fn mpop_first(
    ctx: &mut Ctx,
    keys: &[Bytes],
    end: End,
    count: usize,
) -> Result<Option<Frame>, Frame> {
    for key in keys {
        let Some(l) = list_write(ctx, key)? else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        let v = pop_n(l, end, count);
        let n = v.len();
        written(ctx, key, pop_event(end), n);
        // propagated as `LPOP key n` with the number actually popped
        ctx.propagate_as(vec![vec![
            pop_verb(end),
            key.clone(),
            Bytes::from(n.to_string()),
        ]]);
        return Ok(Some(Frame::Array(vec![
            Frame::Bulk(key.clone()),
            bulk_array(v),
        ])));
    }
    Ok(None)
}

fn lmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let p = parse_mpop(a, 1)?;
    Ok(mpop_first(ctx, &p.keys, p.end, p.count)?.unwrap_or(Frame::NullArray))
}

/// Key positions of `numkeys` commands with numkeys at `at`.
fn numkeys_positions(a: &[Bytes], at: usize) -> Vec<usize> {
    let n = a
        .get(at)
        .and_then(|x| picket_common::num::parse_i64(x))
        .unwrap_or(0);
    if n <= 0 {
        return Vec::new();
    }
    let last = (at as u64 + n as u64).min(a.len().saturating_sub(1) as u64) as usize;
    (at + 1..=last).collect()
}

fn lmpop_keys(a: &[Bytes]) -> Vec<usize> {
    numkeys_positions(a, 1)
}

fn blmpop_keys(a: &[Bytes]) -> Vec<usize> {
    numkeys_positions(a, 2)
}

// ---------------------------------------------------------------- blocking

/// BLPOP / BRPOP (`blockingPopGenericCommand` without count).
fn bpop(ctx: &mut Ctx, a: &[Bytes], end: End) -> CmdResult {
    let timeout = parse_timeout_ms(&a[a.len() - 1])?;
    let keys = &a[1..a.len() - 1];
    for key in keys {
        let Some(l) = list_write(ctx, key)? else {
            continue;
        };
        let Some(v) = pop_n(l, end, 1).pop() else {
            continue;
        };
        written(ctx, key, pop_event(end), 1);
        ctx.propagate_as(vec![vec![pop_verb(end), key.clone()]]);
        return Ok(Frame::Array(vec![Frame::Bulk(key.clone()), Frame::Bulk(v)]));
    }
    block_on(ctx, keys, BlockOp::Pop(end), timeout, Frame::NullArray)
}

fn blpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bpop(ctx, a, End::Left)
}
fn brpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bpop(ctx, a, End::Right)
}

fn blmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let p = parse_mpop(a, 2)?;
    let timeout = parse_timeout_ms(&a[1])?;
    if let Some(f) = mpop_first(ctx, &p.keys, p.end, p.count)? {
        return Ok(f);
    }
    block_on(
        ctx,
        &p.keys,
        BlockOp::MPop {
            from: p.end,
            count: p.count,
        },
        timeout,
        Frame::NullArray,
    )
}

/// BLMOVE core (`blmoveGenericCommand`).
fn blmove_generic(
    ctx: &mut Ctx,
    src: &Bytes,
    dst: &Bytes,
    from: End,
    to: End,
    timeout: Option<Duration>,
    as_op: Vec<Bytes>,
) -> CmdResult {
    if list_write(ctx, src)?.is_some() {
        let r = lmove_generic(ctx, src, dst, from, to)?;
        if matches!(r, Frame::Bulk(_)) {
            ctx.propagate_as(vec![as_op]);
        }
        return Ok(r);
    }
    block_on(
        ctx,
        std::slice::from_ref(src),
        BlockOp::Move {
            from,
            dst: dst.clone(),
            to,
        },
        timeout,
        Frame::Null,
    )
}

fn blmove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let from = parse_end(&a[3])?;
    let to = parse_end(&a[4])?;
    let timeout = parse_timeout_ms(&a[5])?;
    let op = vec![
        Bytes::from_static(b"LMOVE"),
        a[1].clone(),
        a[2].clone(),
        a[3].clone(),
        a[4].clone(),
    ];
    blmove_generic(ctx, &a[1], &a[2], from, to, timeout, op)
}

fn brpoplpush(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let timeout = parse_timeout_ms(&a[3])?;
    let op = vec![Bytes::from_static(b"RPOPLPUSH"), a[1].clone(), a[2].clone()];
    blmove_generic(ctx, &a[1], &a[2], End::Right, End::Left, timeout, op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_parsing_follows_long_double_rules() {
        let ok = |s: &str| parse_timeout_ms(s.as_bytes()).ok();
        assert_eq!(ok("0"), Some(None));
        assert_eq!(ok("0.0001"), Some(None));
        assert_eq!(ok("-0.0001"), Some(None));
        assert_eq!(ok("1.5"), Some(Some(Duration::from_millis(1500))));
        assert_eq!(ok("0x10"), Some(Some(Duration::from_secs(16))));
        assert_eq!(
            ok("9223372036854775"),
            Some(Some(Duration::from_millis(9_223_372_036_854_775_000)))
        );
        assert_eq!(ok("+2"), Some(Some(Duration::from_secs(2))));
        let err = |s: &str| match parse_timeout_ms(s.as_bytes()) {
            Err(Frame::Error(e)) => e,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(err("1e400"), "ERR timeout is negative");
        assert_eq!(err("inf"), "ERR timeout is negative");
        assert_eq!(err("-inf"), "ERR timeout is negative");
        assert_eq!(err("-1"), "ERR timeout is negative");
        assert_eq!(err("9223372036854775807"), "ERR timeout is negative");
        for bad in ["nan", "1e5000", "1e-5000", " 1", "1 ", "", "x"] {
            assert_eq!(
                err(bad),
                "ERR timeout is not a float or out of range",
                "{bad}"
            );
        }
    }

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(range(3, 0, -1), Some((0, 2)));
        assert_eq!(range(3, -100, 100), Some((0, 2)));
        assert_eq!(range(3, 0, -100), None);
        assert_eq!(range(3, 5, 10), None);
        assert_eq!(range(3, i64::MIN, i64::MAX), Some((0, 2)));
    }
}
