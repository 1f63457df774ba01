//! Sorted set commands, following Redis 7.0's `t_zset.c`: the same
//! argument parsing order (so the same error wins when several apply),
//! reply shapes per protocol (RESP3 WITHSCORES replies are arrays of
//! `[member, score]` pairs), keyspace events and key deletion when a set
//! becomes empty.

use bytes::Bytes;
use picket_common::num::{fmt_g17, parse_f64, parse_i64};
use picket_common::resp::Frame;
use rand::Rng;

use super::flags::*;
use super::{arg_i64, is, parse_timeout, syntax_err, wrongtype, Cmd, CmdResult, Ctx};
use crate::blocking::BlockOp;
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};
use crate::types::zset::{LexBound, ScoreRange, ZSet};

/// The sorted set rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "sorted-set",
        zadd
    ),
    cmd!(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "sorted-set",
        zincrby
    ),
    cmd!("zrem", -3, WRITE | FAST, 1, 1, 1, "sorted-set", zrem),
    cmd!("zcard", 2, READONLY | FAST, 1, 1, 1, "sorted-set", zcard),
    cmd!("zcount", 4, READONLY | FAST, 1, 1, 1, "sorted-set", zcount),
    cmd!(
        "zlexcount",
        4,
        READONLY | FAST,
        1,
        1,
        1,
        "sorted-set",
        zlexcount
    ),
    cmd!("zscore", 3, READONLY | FAST, 1, 1, 1, "sorted-set", zscore),
    cmd!(
        "zmscore",
        -3,
        READONLY | FAST,
        1,
        1,
        1,
        "sorted-set",
        zmscore
    ),
    cmd!("zrank", 3, READONLY | FAST, 1, 1, 1, "sorted-set", zrank),
    cmd!(
        "zrevrank",
        3,
        READONLY | FAST,
        1,
        1,
        1,
        "sorted-set",
        zrevrank
    ),
    cmd!("zrange", -4, READONLY, 1, 1, 1, "sorted-set", zrange),
    cmd!(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        1,
        2,
        1,
        "sorted-set",
        zrangestore
    ),
    cmd!("zrevrange", -4, READONLY, 1, 1, 1, "sorted-set", zrevrange),
    cmd!(
        "zrangebyscore",
        -4,
        READONLY,
        1,
        1,
        1,
        "sorted-set",
        zrangebyscore
    ),
    cmd!(
        "zrevrangebyscore",
        -4,
        READONLY,
        1,
        1,
        1,
        "sorted-set",
        zrevrangebyscore
    ),
    cmd!(
        "zrangebylex",
        -4,
        READONLY,
        1,
        1,
        1,
        "sorted-set",
        zrangebylex
    ),
    cmd!(
        "zrevrangebylex",
        -4,
        READONLY,
        1,
        1,
        1,
        "sorted-set",
        zrevrangebylex
    ),
    cmd!(
        "zremrangebyrank",
        4,
        WRITE,
        1,
        1,
        1,
        "sorted-set",
        zremrangebyrank
    ),
    cmd!(
        "zremrangebyscore",
        4,
        WRITE,
        1,
        1,
        1,
        "sorted-set",
        zremrangebyscore
    ),
    cmd!(
        "zremrangebylex",
        4,
        WRITE,
        1,
        1,
        1,
        "sorted-set",
        zremrangebylex
    ),
    cmd!("zpopmin", -2, WRITE | FAST, 1, 1, 1, "sorted-set", zpopmin),
    cmd!("zpopmax", -2, WRITE | FAST, 1, 1, 1, "sorted-set", zpopmax),
    cmd!(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        1,
        -2,
        1,
        "sorted-set",
        bzpopmin
    ),
    cmd!(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        1,
        -2,
        1,
        "sorted-set",
        bzpopmax
    ),
    cmd!(
        "zmpop",
        -4,
        WRITE | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        zmpop,
        getkeys = zmpop_keys
    ),
    cmd!(
        "bzmpop",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        bzmpop,
        getkeys = bzmpop_keys
    ),
    cmd!(
        "zunion",
        -3,
        READONLY | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        zunion,
        getkeys = numkeys_at_1
    ),
    cmd!(
        "zinter",
        -3,
        READONLY | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        zinter,
        getkeys = numkeys_at_1
    ),
    cmd!(
        "zdiff",
        -3,
        READONLY | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        zdiff,
        getkeys = numkeys_at_1
    ),
    cmd!(
        "zintercard",
        -3,
        READONLY | MOVABLEKEYS,
        0,
        0,
        0,
        "sorted-set",
        zintercard,
        getkeys = numkeys_at_1
    ),
    cmd!(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        "sorted-set",
        zunionstore,
        getkeys = store_keys
    ),
    cmd!(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        "sorted-set",
        zinterstore,
        getkeys = store_keys
    ),
    cmd!(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        "sorted-set",
        zdiffstore,
        getkeys = store_keys
    ),
    cmd!(
        "zrandmember",
        -2,
        READONLY,
        1,
        1,
        1,
        "sorted-set",
        zrandmember
    ),
    cmd!("zscan", -3, READONLY, 1, 1, 1, "sorted-set", zscan),
];

// ---------------------------------------------------------------------------
// Key positions of the numkeys commands.

/// Keys counted by the argument at `idx` and following it.
fn numkeys_from(a: &[Bytes], idx: usize) -> Vec<usize> {
    let Some(n) = a.get(idx).and_then(|x| parse_i64(x)) else {
        return Vec::new();
    };
    if n < 1 {
        return Vec::new();
    }
    let n = n as usize;
    let first = idx + 1;
    if first.saturating_add(n) > a.len() {
        return Vec::new();
    }
    (first..first + n).collect()
}

fn numkeys_at_1(a: &[Bytes]) -> Vec<usize> {
    numkeys_from(a, 1)
}

fn zmpop_keys(a: &[Bytes]) -> Vec<usize> {
    numkeys_from(a, 1)
}

fn bzmpop_keys(a: &[Bytes]) -> Vec<usize> {
    numkeys_from(a, 2)
}

/// The destination and the sources (`zunionInterDiffStoreGetKeys`): no
/// keys at all when numkeys is out of range.
fn store_keys(a: &[Bytes]) -> Vec<usize> {
    let sources = numkeys_from(a, 2);
    if sources.is_empty() {
        return Vec::new();
    }
    let mut v = vec![1];
    v.extend(sources);
    v
}

// ---------------------------------------------------------------------------
// Shared helpers.

/// Looks a sorted set up for reading: `Ok(None)` when missing.
pub(crate) fn read_zset<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSet>, Frame> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => Err(wrongtype()),
    }
}

/// Looks a sorted set up for writing: `Ok(None)` when missing.
fn write_zset<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSet>, Frame> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Ok(Some(z)),
        Some(_) => Err(wrongtype()),
    }
}

/// Deletes `key` if its sorted set became empty, sending "del".
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let empty =
        matches!(ctx.db().dict.get(key), Some(Entry { value: Value::ZSet(z), .. }) if z.is_empty());
    if empty {
        ctx.db().remove(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    empty
}

/// A list of members, with scores if asked: flat in RESP2, pairs in RESP3.
fn scored_reply(resp: u8, items: Vec<(Bytes, f64)>, withscores: bool) -> Frame {
    if !withscores {
        return Frame::Array(items.into_iter().map(|(m, _)| Frame::Bulk(m)).collect());
    }
    if resp >= 3 {
        Frame::Array(
            items
                .into_iter()
                .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
                .collect(),
        )
    } else {
        let mut out = Vec::with_capacity(items.len() * 2);
        for (m, s) in items {
            out.push(Frame::Bulk(m));
            out.push(Frame::Double(s));
        }
        Frame::Array(out)
    }
}

/// C `strtod` over a whole string (no leading blanks): decimal as
/// [`parse_f64`], plus the hexadecimal integers glibc accepts. Returns the
/// value and whether it overflowed or underflowed to zero (`ERANGE`).
fn strtod_exact(s: &[u8]) -> Option<(f64, bool)> {
    let (neg, body) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        let digits = &body[2..];
        if !digits.iter().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut v = 0.0f64;
        for &d in digits {
            v = v * 16.0 + f64::from((d as char).to_digit(16).unwrap_or(0));
        }
        let v = if neg { -v } else { v };
        return Some((v, v.is_infinite()));
    }
    let v = parse_f64(s)?;
    let lower = s.to_ascii_lowercase();
    let literal_inf = lower.ends_with(b"inf") || lower.ends_with(b"infinity");
    let mantissa_end = lower.iter().position(|&b| b == b'e').unwrap_or(lower.len());
    let nonzero_digit = lower[..mantissa_end]
        .iter()
        .any(|b| (b'1'..=b'9').contains(b));
    let erange = (v.is_infinite() && !literal_inf) || (v == 0.0 && nonzero_digit);
    Some((v, erange))
}

/// Parses a score, weight or increment like `getDoubleFromObject`:
/// overflow, underflow to zero and NaN are refused.
pub(crate) fn parse_score(s: &[u8]) -> Option<f64> {
    match strtod_exact(s) {
        Some((v, false)) => Some(v),
        _ => None,
    }
}

/// `strtod` over the whole argument as `zslParseRange` uses it: leading
/// blanks allowed, the empty string reads as 0, out-of-range values are
/// kept (as infinities or zero), NaN refused.
fn strtod_full(s: &[u8]) -> Option<f64> {
    if s.is_empty() {
        return Some(0.0);
    }
    let start = s
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c))?;
    strtod_exact(&s[start..]).map(|(v, _)| v)
}

/// Parses a score range (`(1.5`, `-inf`, `+inf`) like `zslParseRange`.
fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Frame> {
    let bad = || Frame::err("ERR min or max is not a float");
    let one = |s: &[u8]| -> Option<(f64, bool)> {
        match s.first() {
            Some(b'(') => strtod_full(&s[1..]).map(|v| (v, true)),
            _ => strtod_full(s).map(|v| (v, false)),
        }
    };
    let (min, minex) = one(min).ok_or_else(bad)?;
    let (max, maxex) = one(max).ok_or_else(bad)?;
    Ok(ScoreRange {
        min,
        minex,
        max,
        maxex,
    })
}

/// Parses a lex range (`[a`, `(b`, `-`, `+`) like `zslParseLexRange`.
fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), Frame> {
    let bad = || Frame::err("ERR min or max not valid string range item");
    Ok((
        LexBound::parse(min).ok_or_else(bad)?,
        LexBound::parse(max).ok_or_else(bad)?,
    ))
}

/// Clamps a rank range the way Redis does; None when it selects nothing.
fn clamp_ranks(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let llen = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(llen)
    } else {
        start
    };
    let mut end = if end < 0 {
        end.saturating_add(llen)
    } else {
        end
    };
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

/// Stores `z` at `dst` (replacing whatever was there) or deletes `dst`
/// when `z` is empty; replies the stored cardinality.
pub(crate) fn store_zset(ctx: &mut Ctx, dst: &Bytes, mut z: ZSet, event: &str) -> Frame {
    if z.is_empty() {
        if ctx.delete(dst) {
            ctx.modified(dst, notify::GENERIC, "del");
        }
        return Frame::Integer(0);
    }
    let max_member = z.dict.keys().map(|m| m.len()).max().unwrap_or(0);
    let (me, mv) = (
        ctx.st.config.zset_max_listpack_entries,
        ctx.st.config.zset_max_listpack_value,
    );
    z.skiplist = !ZSet::fits_listpack(z.len(), max_member, me, mv);
    if !z.skiplist {
        let zeros: Vec<Bytes> = z
            .dict
            .iter()
            .filter(|(_, s)| **s == 0.0 && s.is_sign_negative())
            .map(|(m, _)| m.clone())
            .collect();
        for m in zeros {
            z.remove(&m);
            z.insert(m, 0.0);
        }
    }
    let n = z.len();
    let lru = ctx.lru;
    ctx.lookup_write(dst);
    ctx.db()
        .insert_entry(dst.clone(), Entry::new(Value::ZSet(Box::new(z)), lru));
    ctx.modified(dst, notify::ZSET, event);
    Frame::Integer(n as i64)
}

// ---------------------------------------------------------------------------
// ZADD / ZINCRBY.

/// What zsetAdd did to one element.
enum AddOutcome {
    Added,
    Updated,
    Unchanged,
    Nop,
    Nan,
}

/// Flags of ZADD.
#[derive(Clone, Copy, Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    incr: bool,
}

/// The score as the set keeps it: a listpack stores -0 as 0.
fn stored(z: &ZSet, score: f64) -> f64 {
    if !z.skiplist && score == 0.0 {
        0.0
    } else {
        score
    }
}

/// Redis's `zsetAdd`: returns the outcome and the member's resulting score.
fn zset_add(
    z: &mut ZSet,
    score: f64,
    m: &Bytes,
    f: AddFlags,
    max_entries: i64,
    max_value: i64,
) -> (AddOutcome, f64) {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return (AddOutcome::Nop, cur);
            }
            let mut score = score;
            if f.incr {
                score += cur;
                if score.is_nan() {
                    return (AddOutcome::Nan, cur);
                }
            }
            if (f.gt && score <= cur) || (f.lt && score >= cur) {
                return (AddOutcome::Nop, cur);
            }
            if score != cur {
                z.insert(m.clone(), stored(z, score));
                (AddOutcome::Updated, score)
            } else {
                (AddOutcome::Unchanged, score)
            }
        }
        None => {
            if f.xx {
                return (AddOutcome::Nop, score);
            }
            if !z.skiplist && ((z.len() as i64) + 1 > max_entries || (m.len() as i64) > max_value) {
                z.skiplist = true;
            }
            z.insert(m.clone(), stored(z, score));
            (AddOutcome::Added, score)
        }
    }
}

pub(crate) fn zadd_generic(ctx: &mut Ctx, a: &[Bytes], incr_cmd: bool) -> CmdResult {
    let mut f = AddFlags {
        incr: incr_cmd,
        ..Default::default()
    };
    let mut ch = false;
    let mut idx = 2;
    while idx < a.len() {
        let o = &a[idx];
        if is(o, "nx") {
            f.nx = true;
        } else if is(o, "xx") {
            f.xx = true;
        } else if is(o, "ch") {
            ch = true;
        } else if is(o, "incr") {
            f.incr = true;
        } else if is(o, "gt") {
            f.gt = true;
        } else if is(o, "lt") {
            f.lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = a.len() - idx;
    if elements % 2 == 1 || elements == 0 {
        return Err(syntax_err());
    }
    let elements = elements / 2;
    if f.nx && f.xx {
        return Err(Frame::err(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(Frame::err(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && elements > 1 {
        return Err(Frame::err(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(elements);
    for j in 0..elements {
        scores.push(parse_score(&a[idx + j * 2]).ok_or_else(super::not_float)?);
    }
    let key = &a[1];
    let (me, mv) = (
        ctx.st.config.zset_max_listpack_entries,
        ctx.st.config.zset_max_listpack_value,
    );
    let exists = write_zset(ctx, key)?.is_some();
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last_score = 0.0;
    let mut nan = false;
    if exists || !f.xx {
        if !exists {
            let z = ZSet {
                skiplist: me == 0 || mv < a[idx + 1].len() as i64,
                ..Default::default()
            };
            let lru = ctx.lru;
            ctx.db()
                .insert_entry(key.clone(), Entry::new(Value::ZSet(Box::new(z)), lru));
        }
        if let Some(z) = write_zset(ctx, key)? {
            for (j, score) in scores.iter().enumerate() {
                let m = &a[idx + 1 + j * 2];
                let (out, s) = zset_add(z, *score, m, f, me, mv);
                match out {
                    AddOutcome::Added => added += 1,
                    AddOutcome::Updated => updated += 1,
                    AddOutcome::Unchanged => {}
                    AddOutcome::Nop => {
                        last_score = s;
                        continue;
                    }
                    AddOutcome::Nan => {
                        nan = true;
                        break;
                    }
                }
                processed += 1;
                last_score = s;
            }
        }
    }
    if added > 0 || updated > 0 {
        ctx.modified(key, notify::ZSET, if f.incr { "zincr" } else { "zadd" });
    }
    if nan {
        return Err(Frame::err("ERR resulting score is not a number (NaN)"));
    }
    Ok(if f.incr {
        if processed > 0 {
            Frame::Double(last_score)
        } else {
            Frame::Null
        }
    } else {
        Frame::Integer(if ch { added + updated } else { added })
    })
}

fn zadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, a, false)
}

fn zincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zadd_generic(ctx, a, true)
}

// ---------------------------------------------------------------------------
// Simple reads and removals.

fn zrem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let Some(z) = write_zset(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let mut deleted = 0;
    for m in &a[2..] {
        if z.remove(m) {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    if deleted > 0 {
        ctx.modified(key, notify::ZSET, "zrem");
        delete_if_empty(ctx, key);
    }
    Ok(Frame::Integer(deleted))
}

fn zcard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_zset(ctx, &a[1])?.map(|z| z.len() as i64).unwrap_or(0),
    ))
}

fn zcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let r = parse_score_range(&a[2], &a[3])?;
    Ok(Frame::Integer(
        read_zset(ctx, &a[1])?
            .map(|z| z.count_score(&r) as i64)
            .unwrap_or(0),
    ))
}

fn zlexcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_lex_range(&a[2], &a[3])?;
    Ok(Frame::Integer(
        read_zset(ctx, &a[1])?
            .map(|z| z.iter_lex(&min, &max, false).count() as i64)
            .unwrap_or(0),
    ))
}

fn zscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(match read_zset(ctx, &a[1])?.and_then(|z| z.score(&a[2])) {
        Some(s) => Frame::Double(s),
        None => Frame::Null,
    })
}

fn zmscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let z = read_zset(ctx, &a[1])?;
    let z = z.as_deref();
    Ok(Frame::Array(
        a[2..]
            .iter()
            .map(|m| {
                z.and_then(|z| z.score(m))
                    .map(Frame::Double)
                    .unwrap_or(Frame::Null)
            })
            .collect(),
    ))
}

fn rank_generic(ctx: &mut Ctx, a: &[Bytes], rev: bool) -> CmdResult {
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Frame::Null);
    };
    Ok(match z.rank(&a[2]) {
        Some(r) => Frame::Integer(if rev {
            (z.len() - 1 - r) as i64
        } else {
            r as i64
        }),
        None => Frame::Null,
    })
}

fn zrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, false)
}

fn zrevrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rank_generic(ctx, a, true)
}

// ---------------------------------------------------------------------------
// The ZRANGE family.

/// Which kind of range a ZRANGE-like command selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Direction of a ZRANGE-like command.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Auto,
    Forward,
    Reverse,
}

/// Redis's `zrangeGenericCommand`. `base` is the index of the source key;
/// `dst` is the destination of ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    base: usize,
    dst: Option<&Bytes>,
    mut rt: RangeType,
    mut dir: Dir,
) -> CmdResult {
    let key = &a[base];
    let (mut minidx, mut maxidx) = (base + 1, base + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let store = dst.is_some();
    let mut j = base + 3;
    while j < a.len() {
        let left = a.len() - j - 1;
        let o = &a[j];
        if !store && is(o, "withscores") {
            withscores = true;
        } else if is(o, "limit") && left >= 2 {
            offset = arg_i64(&a[j + 1])?;
            limit = arg_i64(&a[j + 2])?;
            j += 2;
        } else if dir == Dir::Auto && is(o, "rev") {
            dir = Dir::Reverse;
        } else if rt == RangeType::Auto && is(o, "bylex") {
            rt = RangeType::Lex;
        } else if rt == RangeType::Auto && is(o, "byscore") {
            rt = RangeType::Score;
        } else {
            return Err(syntax_err());
        }
        j += 1;
    }
    if dir == Dir::Auto {
        dir = Dir::Forward;
    }
    if rt == RangeType::Auto {
        rt = RangeType::Rank;
    }
    if limit != -1 && rt == RangeType::Rank {
        return Err(Frame::err(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && rt == RangeType::Lex {
        return Err(Frame::err(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let rev = dir == Dir::Reverse;
    if rev && rt != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    enum Spec {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexBound, LexBound),
    }
    let spec = match rt {
        RangeType::Score => Spec::Score(parse_score_range(&a[minidx], &a[maxidx])?),
        RangeType::Lex => {
            let (min, max) = parse_lex_range(&a[minidx], &a[maxidx])?;
            Spec::Lex(min, max)
        }
        _ => Spec::Rank(arg_i64(&a[minidx])?, arg_i64(&a[maxidx])?),
    };
    let items: Vec<(Bytes, f64)> = match read_zset(ctx, key)? {
        None => Vec::new(),
        Some(z) => {
            let len = z.len();
            // LIMIT: a negative offset selects nothing, a negative count everything.
            let take = if limit < 0 {
                usize::MAX
            } else {
                limit as usize
            };
            let lim = |it: Box<dyn Iterator<Item = (&Bytes, f64)> + '_>| -> Vec<(Bytes, f64)> {
                if offset < 0 || (offset > 0 && offset as u64 >= len as u64) {
                    return Vec::new();
                }
                it.skip(offset as usize)
                    .take(take)
                    .map(|(m, s)| (m.clone(), s))
                    .collect()
            };
            match &spec {
                Spec::Rank(s, e) => match clamp_ranks(*s, *e, len) {
                    Some((s, e)) => z.range_by_rank(s, e, rev),
                    None => Vec::new(),
                },
                Spec::Score(r) => lim(z.iter_score(r, rev)),
                Spec::Lex(min, max) => lim(z.iter_lex(min, max, rev)),
            }
        }
    };
    match dst {
        Some(d) => {
            let mut z = ZSet::default();
            for (m, s) in items {
                z.insert(m, s);
            }
            Ok(store_zset(ctx, d, z, "zrangestore"))
        }
        None => Ok(scored_reply(ctx.client.resp, items, withscores)),
    }
}

fn zrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Auto, Dir::Auto)
}

fn zrangestore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let dst = a[1].clone();
    zrange_generic(ctx, a, 2, Some(&dst), RangeType::Auto, Dir::Auto)
}

fn zrevrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Rank, Dir::Reverse)
}

fn zrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Dir::Forward)
}

fn zrevrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Score, Dir::Reverse)
}

fn zrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Dir::Forward)
}

fn zrevrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zrange_generic(ctx, a, 1, None, RangeType::Lex, Dir::Reverse)
}

// ---------------------------------------------------------------------------
// ZREMRANGEBY*.

fn zremrange_finish(ctx: &mut Ctx, key: &Bytes, victims: Vec<Bytes>, event: &str) -> CmdResult {
    let n = victims.len();
    if let Some(z) = write_zset(ctx, key)? {
        for m in &victims {
            z.remove(m);
        }
    }
    if n > 0 {
        ctx.modified(key, notify::ZSET, event);
        delete_if_empty(ctx, key);
    }
    Ok(Frame::Integer(n as i64))
}

fn zremrangebyrank(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (s, e) = (arg_i64(&a[2])?, arg_i64(&a[3])?);
    let Some(z) = write_zset(ctx, &a[1])? else {
        return Ok(Frame::Integer(0));
    };
    let victims = match clamp_ranks(s, e, z.len()) {
        Some((s, e)) => z
            .range_by_rank(s, e, false)
            .into_iter()
            .map(|(m, _)| m)
            .collect(),
        None => return Ok(Frame::Integer(0)),
    };
    zremrange_finish(ctx, &a[1], victims, "zremrangebyrank")
}

fn zremrangebyscore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let r = parse_score_range(&a[2], &a[3])?;
    let Some(z) = write_zset(ctx, &a[1])? else {
        return Ok(Frame::Integer(0));
    };
    let victims = z.iter_score(&r, false).map(|(m, _)| m.clone()).collect();
    zremrange_finish(ctx, &a[1], victims, "zremrangebyscore")
}

fn zremrangebylex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (min, max) = parse_lex_range(&a[2], &a[3])?;
    let Some(z) = write_zset(ctx, &a[1])? else {
        return Ok(Frame::Integer(0));
    };
    let victims = z
        .iter_lex(&min, &max, false)
        .map(|(m, _)| m.clone())
        .collect();
    zremrange_finish(ctx, &a[1], victims, "zremrangebylex")
}

// ---------------------------------------------------------------------------
// Pops.

/// How a pop reply is shaped (Redis's `emitkey` / `use_nested_array`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// ZPOPMIN/ZPOPMAX: flat `[m, s, ...]`, or pairs in RESP3 with COUNT.
    Plain { nested: bool },
    /// BZPOPMIN/BZPOPMAX: `[key, m, s]`.
    KeyFlat,
    /// ZMPOP/BZMPOP: `[key, [[m, s], ...]]`.
    KeyNested,
}

/// Redis's `genericZpopCommand`. `count` None is the plain single pop.
fn zpop_generic(
    ctx: &mut Ctx,
    keys: &[Bytes],
    max: bool,
    count: Option<u64>,
    shape: PopShape,
    nil_when_empty: bool,
) -> CmdResult {
    let mut found = None;
    for k in keys {
        if write_zset(ctx, k)?.is_some() {
            found = Some(k.clone());
            break;
        }
    }
    let Some(key) = found else {
        return Ok(if nil_when_empty {
            Frame::NullArray
        } else {
            Frame::Array(Vec::new())
        });
    };
    if count == Some(0) {
        return Ok(Frame::Array(Vec::new()));
    }
    let n = count.unwrap_or(1).min(usize::MAX as u64) as usize;
    let popped = match write_zset(ctx, &key)? {
        Some(z) => z.pop(n, max),
        None => Vec::new(),
    };
    if !popped.is_empty() {
        ctx.modified(&key, notify::ZSET, if max { "zpopmax" } else { "zpopmin" });
        delete_if_empty(ctx, &key);
        // the blocking and multi-key forms propagate as plain pops
        // (`ZPOPMIN key` / `ZPOPMIN key <popped>`)
        if shape != (PopShape::Plain { nested: true })
            && shape != (PopShape::Plain { nested: false })
        {
            let verb = Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" });
            let mut op = vec![verb, key.clone()];
            if shape == PopShape::KeyNested {
                op.push(Bytes::from(popped.len().to_string()));
            }
            ctx.propagate_as(vec![op]);
        }
    }
    Ok(pop_reply(key, popped, shape))
}

fn pop_reply(key: Bytes, popped: Vec<(Bytes, f64)>, shape: PopShape) -> Frame {
    let pairs = |p: Vec<(Bytes, f64)>| {
        Frame::Array(
            p.into_iter()
                .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
                .collect(),
        )
    };
    let flat = |p: Vec<(Bytes, f64)>, out: &mut Vec<Frame>| {
        for (m, s) in p {
            out.push(Frame::Bulk(m));
            out.push(Frame::Double(s));
        }
    };
    match shape {
        PopShape::Plain { nested: true } => pairs(popped),
        PopShape::Plain { nested: false } => {
            let mut out = Vec::new();
            flat(popped, &mut out);
            Frame::Array(out)
        }
        PopShape::KeyFlat => {
            let mut out = vec![Frame::Bulk(key)];
            flat(popped, &mut out);
            Frame::Array(out)
        }
        PopShape::KeyNested => Frame::Array(vec![Frame::Bulk(key), pairs(popped)]),
    }
}

fn zpop_cmd(ctx: &mut Ctx, a: &[Bytes], max: bool) -> CmdResult {
    if a.len() > 3 {
        return Err(syntax_err());
    }
    let count = match a.get(2) {
        Some(c) => match parse_i64(c) {
            Some(v) if v >= 0 => Some(v as u64),
            _ => return Err(Frame::err("ERR value is out of range, must be positive")),
        },
        None => None,
    };
    let nested = ctx.client.resp > 2 && count.is_some();
    zpop_generic(ctx, &a[1..2], max, count, PopShape::Plain { nested }, false)
}

fn zpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, a, false)
}

fn zpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    zpop_cmd(ctx, a, true)
}

/// Redis's `blockingGenericZpopCommand`.
fn bzpop_generic(
    ctx: &mut Ctx,
    keys: &[Bytes],
    timeout_arg: &[u8],
    max: bool,
    count: Option<u64>,
) -> CmdResult {
    let timeout = parse_timeout(timeout_arg)?;
    for k in keys {
        let nonempty = match write_zset(ctx, k)? {
            None => continue,
            Some(z) => !z.is_empty(),
        };
        if nonempty {
            let shape = if count.is_some() {
                PopShape::KeyNested
            } else {
                PopShape::KeyFlat
            };
            return zpop_generic(ctx, std::slice::from_ref(k), max, count, shape, true);
        }
    }
    if ctx.in_exec {
        return Ok(Frame::NullArray);
    }
    let op = match count {
        Some(c) => BlockOp::ZMPop {
            max,
            count: c.min(usize::MAX as u64) as usize,
        },
        None => BlockOp::ZPop { max },
    };
    ctx.block(keys.to_vec(), op, timeout, Frame::NullArray);
    // The reply comes when the client is served or times out.
    ctx.no_reply = true;
    Ok(Frame::NullArray)
}

fn bzpopmin(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = a.len();
    bzpop_generic(ctx, &a[1..n - 1], &a[n - 1], false, None)
}

fn bzpopmax(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = a.len();
    bzpop_generic(ctx, &a[1..n - 1], &a[n - 1], true, None)
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` starting at `idx`.
fn parse_mpop(a: &[Bytes], idx: usize) -> Result<(Vec<Bytes>, bool, u64), Frame> {
    let numkeys = match parse_i64(&a[idx]) {
        Some(v) if v >= 1 => v as u64,
        _ => return Err(Frame::err("ERR numkeys should be greater than 0")),
    };
    let where_idx = (idx as u64).saturating_add(numkeys).saturating_add(1);
    if where_idx >= a.len() as u64 {
        return Err(syntax_err());
    }
    let where_idx = where_idx as usize;
    let max = if is(&a[where_idx], "min") {
        false
    } else if is(&a[where_idx], "max") {
        true
    } else {
        return Err(syntax_err());
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if count.is_none() && is(&a[j], "count") && more > 0 {
            j += 1;
            match parse_i64(&a[j]) {
                Some(v) if v >= 1 => count = Some(v as u64),
                _ => return Err(Frame::err("ERR count should be greater than 0")),
            }
        } else {
            return Err(syntax_err());
        }
        j += 1;
    }
    Ok((a[idx + 1..where_idx].to_vec(), max, count.unwrap_or(1)))
}

fn zmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_mpop(a, 1)?;
    zpop_generic(ctx, &keys, max, Some(count), PopShape::KeyNested, true)
}

fn bzmpop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_mpop(a, 2)?;
    bzpop_generic(ctx, &keys, &a[1], max, Some(count))
}

// ---------------------------------------------------------------------------
// ZUNION / ZINTER / ZDIFF and their STORE forms, ZINTERCARD.

/// The set operation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// How scores of the same member combine.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(agg: Aggregate, target: &mut f64, val: f64) {
    match agg {
        Aggregate::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if val < *target {
                *target = val;
            }
        }
        Aggregate::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// One input of a set operation: a sorted set or a plain set (scores 1).
enum Src {
    Missing,
    Z(ZSet),
    S(Vec<Bytes>),
}

impl Src {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
        }
    }
    fn score(&self, m: &[u8], set_lookup: &std::collections::HashSet<Bytes>) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::S(_) => set_lookup.contains(m).then_some(1.0),
        }
    }
    fn items(&self) -> Vec<(Bytes, f64)> {
        match self {
            Src::Missing => Vec::new(),
            // Redis walks inputs from the tail; only insertion order of
            // equal results could tell, and the result is a sorted set.
            Src::Z(z) => z.iter_all(false).map(|(m, s)| (m.clone(), s)).collect(),
            Src::S(s) => s.iter().map(|m| (m.clone(), 1.0)).collect(),
        }
    }
}

/// Redis's `zunionInterDiffGenericCommand`. `nk` is the numkeys index.
fn setop_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    dst: Option<&Bytes>,
    nk: usize,
    op: SetOp,
    card_only: bool,
) -> CmdResult {
    let cmdname = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let setnum = arg_i64(&a[nk])?;
    if setnum < 1 {
        return Err(Frame::err(format!(
            "ERR at least 1 input key is needed for '{cmdname}' command"
        )));
    }
    if setnum as u64 > (a.len() - (nk + 1)) as u64 {
        return Err(syntax_err());
    }
    let setnum = setnum as usize;
    let mut srcs = Vec::with_capacity(setnum);
    for k in &a[nk + 1..nk + 1 + setnum] {
        let e = if dst.is_some() {
            ctx.lookup_write(k)
        } else {
            ctx.lookup_read(k)
        };
        srcs.push(match e {
            None => Src::Missing,
            Some(Entry {
                value: Value::ZSet(z),
                ..
            }) => Src::Z((**z).clone()),
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => Src::S(s.iter().cloned().collect()),
            Some(_) => return Err(wrongtype()),
        });
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = nk + 1 + setnum;
    while j < a.len() {
        let remaining = a.len() - j;
        let o = &a[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && is(o, "weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(&a[j])
                    .ok_or_else(|| Frame::err("ERR weight value is not a float"))?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && is(o, "aggregate") {
            let v = &a[j + 1];
            agg = if is(v, "sum") {
                Aggregate::Sum
            } else if is(v, "min") {
                Aggregate::Min
            } else if is(v, "max") {
                Aggregate::Max
            } else {
                return Err(syntax_err());
            };
            j += 2;
        } else if dst.is_none() && !card_only && is(o, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && is(o, "limit") {
            limit = match parse_i64(&a[j + 1]) {
                Some(v) if v >= 0 => v as u64,
                _ => return Err(Frame::err("ERR LIMIT can't be negative")),
            };
            j += 2;
        } else {
            return Err(syntax_err());
        }
    }
    let lookups: Vec<std::collections::HashSet<Bytes>> = srcs
        .iter()
        .map(|s| match s {
            Src::S(v) => v.iter().cloned().collect(),
            _ => Default::default(),
        })
        .collect();
    let mut out = ZSet::default();
    match op {
        SetOp::Inter => {
            // Walk the smallest input, probing the others.
            let mut order: Vec<usize> = (0..setnum).collect();
            order.sort_by_key(|&i| srcs[i].len());
            let first = order[0];
            if srcs[first].len() > 0 {
                let mut card: u64 = 0;
                'outer: for (m, s) in srcs[first].items() {
                    let mut score = weights[first] * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &i in &order[1..] {
                        match srcs[i].score(&m, &lookups[i]) {
                            // Redis does not zero a NaN product here.
                            Some(v) => aggregate(agg, &mut score, weights[i] * v),
                            None => continue 'outer,
                        }
                    }
                    if card_only {
                        card += 1;
                        if limit != 0 && card >= limit {
                            break;
                        }
                    } else {
                        out.insert(m, score);
                    }
                }
                if card_only {
                    return Ok(Frame::Integer(card as i64));
                }
            } else if card_only {
                return Ok(Frame::Integer(0));
            }
        }
        SetOp::Union => {
            // Inputs from the smallest to the largest (a stable sort, as
            // glibc's qsort): sums add up in that order.
            let mut order: Vec<usize> = (0..setnum).collect();
            order.sort_by_key(|&i| srcs[i].len());
            for i in order {
                for (m, s) in srcs[i].items() {
                    let mut v = weights[i] * s;
                    if v.is_nan() {
                        v = 0.0;
                    }
                    match out.score(&m) {
                        Some(mut cur) => {
                            aggregate(agg, &mut cur, v);
                            out.insert(m, cur);
                        }
                        None => {
                            out.insert(m, v);
                        }
                    }
                }
            }
        }
        SetOp::Diff => {
            for (m, s) in srcs[0].items() {
                if (1..setnum).all(|i| srcs[i].score(&m, &lookups[i]).is_none()) {
                    out.insert(m, s);
                }
            }
        }
    }
    match dst {
        Some(d) => {
            let event = match op {
                SetOp::Union => "zunionstore",
                SetOp::Inter => "zinterstore",
                SetOp::Diff => "zdiffstore",
            };
            Ok(store_zset(ctx, d, out, event))
        }
        None => {
            let items = out.iter_all(false).map(|(m, s)| (m.clone(), s)).collect();
            Ok(scored_reply(ctx.client.resp, items, withscores))
        }
    }
}

fn zunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Union, false)
}

fn zinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Inter, false)
}

fn zdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Diff, false)
}

fn zintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setop_generic(ctx, a, None, 1, SetOp::Inter, true)
}

fn zunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let d = a[1].clone();
    setop_generic(ctx, a, Some(&d), 2, SetOp::Union, false)
}

fn zinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let d = a[1].clone();
    setop_generic(ctx, a, Some(&d), 2, SetOp::Inter, false)
}

fn zdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let d = a[1].clone();
    setop_generic(ctx, a, Some(&d), 2, SetOp::Diff, false)
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN.

/// Largest reply ZRANDMEMBER builds; Redis would stream any size, we
/// refuse absurd ones instead of exhausting memory.
const RANDMEMBER_MAX_REPLY: u64 = 1 << 26;

fn zrandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let resp = ctx.client.resp;
    if a.len() < 3 {
        let Some(z) = read_zset(ctx, &a[1])? else {
            return Ok(Frame::Null);
        };
        if z.is_empty() {
            return Ok(Frame::Null);
        }
        let i = rand::thread_rng().gen_range(0..z.len());
        return Ok(z
            .dict
            .get_index(i)
            .map(|(m, _)| Frame::Bulk(m.clone()))
            .unwrap_or(Frame::Null));
    }
    let l = arg_i64(&a[2])?;
    if l == i64::MIN {
        return Err(Frame::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    if a.len() > 4 || (a.len() == 4 && !is(&a[3], "withscores")) {
        return Err(syntax_err());
    }
    let withscores = a.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(Frame::err("ERR value is out of range"));
    }
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Frame::Array(Vec::new()));
    };
    let size = z.len();
    if l == 0 || size == 0 {
        return Ok(Frame::Array(Vec::new()));
    }
    let (count, uniq) = if l >= 0 {
        (l as u64, true)
    } else {
        (l.unsigned_abs(), false)
    };
    let mut rng = rand::thread_rng();
    let items: Vec<(Bytes, f64)> = if !uniq || count == 1 {
        if count > RANDMEMBER_MAX_REPLY {
            return Err(Frame::err("ERR value is out of range"));
        }
        (0..count)
            .filter_map(|_| {
                z.dict
                    .get_index(rng.gen_range(0..size))
                    .map(|(m, s)| (m.clone(), *s))
            })
            .collect()
    } else if count >= size as u64 {
        // The whole set, walked from the tail as Redis's iterator does.
        z.iter_all(true).map(|(m, s)| (m.clone(), s)).collect()
    } else {
        rand::seq::index::sample(&mut rng, size, count as usize)
            .into_iter()
            .filter_map(|i| z.dict.get_index(i).map(|(m, s)| (m.clone(), *s)))
            .collect()
    };
    Ok(scored_reply(resp, items, withscores))
}

fn zscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    use super::keys::{parse_cursor, parse_scan_opts, scan_reply};
    let cursor = parse_cursor(&a[2])?;
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(scan_reply(0, Vec::new()));
    };
    let opts = parse_scan_opts(&a[3..], false)?;
    let (next, found): (u64, Vec<(Bytes, f64)>) = if !z.skiplist {
        // A listpack is returned whole, in order, in one call.
        (0, z.iter_all(false).map(|(m, s)| (m.clone(), s)).collect())
    } else {
        crate::db::scan_indexed(z.dict.len(), cursor, opts.count, |i| {
            z.dict.get_index(i).map(|(m, s)| (m.clone(), *s))
        })
    };
    let mut out = Vec::new();
    for (m, s) in found {
        if opts.matches(&m) {
            out.push(Frame::Bulk(m));
            out.push(Frame::bulk(fmt_g17(s)));
        }
    }
    Ok(scan_reply(next, out))
}
