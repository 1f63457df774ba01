//! Set commands (SADD ... SSCAN).
//!
//! Sets are `IndexSet`s. Redis 7.0 keeps small all-integer sets as an
//! intset, whose iteration order is ascending by value; every reply that
//! lists a whole set (SMEMBERS, SUNION, SSCAN, ...) therefore sorts the
//! members numerically when the set would be intset-encoded (at most
//! `set-max-intset-entries` members, all of them integers), so those
//! replies are byte-for-byte the same as Redis's. Bigger or non-integer
//! sets are hash tables in Redis, whose order is unspecified.

use bytes::Bytes;
use indexmap::IndexSet;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;
use rand::Rng;

use super::flags::*;
use super::hashes::parse_count_range;
use super::keys::{parse_cursor, parse_scan_opts, scan_reply};
use super::{arg_i64, syntax_err, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{scan_indexed, Entry, Value};

/// The sets rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("sadd", -3, WRITE | DENYOOM | FAST, 1, 1, 1, "set", sadd),
    cmd!("srem", -3, WRITE | FAST, 1, 1, 1, "set", srem),
    cmd!("sismember", 3, READONLY | FAST, 1, 1, 1, "set", sismember),
    cmd!(
        "smismember",
        -3,
        READONLY | FAST,
        1,
        1,
        1,
        "set",
        smismember
    ),
    cmd!("smembers", 2, READONLY, 1, 1, 1, "set", smembers),
    cmd!("scard", 2, READONLY | FAST, 1, 1, 1, "set", scard),
    cmd!("spop", -2, WRITE | FAST, 1, 1, 1, "set", spop),
    cmd!("srandmember", -2, READONLY, 1, 1, 1, "set", srandmember),
    cmd!("smove", 4, WRITE | FAST, 1, 2, 1, "set", smove),
    cmd!("sinter", -2, READONLY, 1, -1, 1, "set", sinter),
    cmd!(
        "sintercard",
        -3,
        READONLY | MOVABLEKEYS,
        0,
        0,
        0,
        "set",
        sintercard,
        getkeys = sintercard_keys
    ),
    cmd!(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        1,
        -1,
        1,
        "set",
        sinterstore
    ),
    cmd!("sunion", -2, READONLY, 1, -1, 1, "set", sunion),
    cmd!(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        1,
        -1,
        1,
        "set",
        sunionstore
    ),
    cmd!("sdiff", -2, READONLY, 1, -1, 1, "set", sdiff),
    cmd!(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        1,
        -1,
        1,
        "set",
        sdiffstore
    ),
    cmd!("sscan", -3, READONLY, 1, 1, 1, "set", sscan),
];

type Set = IndexSet<Bytes>;

/// Reads a set: `Ok(None)` when missing, WRONGTYPE for other types.
fn read_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Set>, Frame> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(wrongtype()),
    }
}

/// Looks a set up for writing: `Ok(None)` when missing.
fn write_set<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Set>, Frame> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Ok(Some(s)),
        Some(_) => Err(wrongtype()),
    }
}

/// Whether Redis 7.0 would keep these members in an intset.
pub fn is_intset<'a>(members: impl ExactSizeIterator<Item = &'a Bytes>, max_entries: i64) -> bool {
    let mut it = members;
    (it.len() as i64) <= max_entries && it.all(|m| parse_i64(m).is_some())
}

/// The members of a set in the order Redis iterates it: ascending
/// numerically for intset-like sets, storage order otherwise.
pub fn ordered_members(s: &Set, max_intset: i64) -> Vec<Bytes> {
    let mut v: Vec<Bytes> = s.iter().cloned().collect();
    sort_if_intset(&mut v, max_intset);
    v
}

/// Sorts members numerically when they would form an intset.
fn sort_if_intset(v: &mut [Bytes], max_intset: i64) {
    if is_intset(v.iter(), max_intset) {
        v.sort_by_key(|m| parse_i64(m).unwrap_or(0));
    }
}

fn max_intset(ctx: &Ctx) -> i64 {
    ctx.st.config.set_max_intset_entries
}

fn set_frame(v: Vec<Bytes>) -> Frame {
    Frame::Set(v.into_iter().map(Frame::Bulk).collect())
}

/// Removes the key when its set became empty, notifying `del`.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let empty =
        matches!(ctx.db().dict.get(key), Some(Entry { value: Value::Set(s), .. }) if s.is_empty());
    if empty {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
    empty
}

fn sadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    if write_set(ctx, key)?.is_none() {
        let lru = ctx.lru;
        ctx.db()
            .insert_entry(key.clone(), Entry::new(Value::Set(Box::default()), lru));
    }
    let Some(s) = write_set(ctx, key)? else {
        return Err(wrongtype());
    };
    let mut n = 0;
    for m in &a[2..] {
        if s.insert(m.clone()) {
            n += 1;
        }
    }
    if n > 0 {
        ctx.modified(key, notify::SET, "sadd");
    }
    Ok(Frame::Integer(n))
}

fn srem(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Frame::Integer(0));
    };
    let mut n = 0;
    for m in &a[2..] {
        if s.swap_remove(m) {
            n += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    if n > 0 {
        ctx.modified(key, notify::SET, "srem");
        drop_if_empty(ctx, key);
    }
    Ok(Frame::Integer(n))
}

fn sismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_set(ctx, &a[1])?
            .map(|s| s.contains(&a[2]) as i64)
            .unwrap_or(0),
    ))
}

fn smismember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let s = read_set(ctx, &a[1])?;
    let s = s.as_deref();
    Ok(Frame::Array(
        a[2..]
            .iter()
            .map(|m| Frame::Integer(s.map(|s| s.contains(m) as i64).unwrap_or(0)))
            .collect(),
    ))
}

fn smembers(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mi = max_intset(ctx);
    Ok(set_frame(
        read_set(ctx, &a[1])?
            .map(|s| ordered_members(s, mi))
            .unwrap_or_default(),
    ))
}

fn scard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_set(ctx, &a[1])?.map(|s| s.len() as i64).unwrap_or(0),
    ))
}

fn spop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    if a.len() > 3 {
        return Err(syntax_err());
    }
    if a.len() == 3 {
        return spop_count(ctx, a);
    }
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Frame::Null);
    };
    if s.is_empty() {
        return Ok(Frame::Null);
    }
    let i = rand::thread_rng().gen_range(0..s.len());
    let Some(m) = s.swap_remove_index(i) else {
        return Ok(Frame::Null);
    };
    ctx.modified(key, notify::SET, "spop");
    drop_if_empty(ctx, key);
    ctx.propagate_as(vec![srem_op(key, &m)]);
    Ok(Frame::Bulk(m))
}

fn spop_count(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let count = arg_i64(&a[2])
        .ok()
        .filter(|c| *c >= 0)
        .ok_or_else(|| Frame::err("ERR value is out of range, must be positive"))?;
    let mi = max_intset(ctx);
    let Some(s) = write_set(ctx, key)? else {
        return Ok(Frame::Set(vec![]));
    };
    if count == 0 {
        return Ok(Frame::Set(vec![]));
    }
    let size = s.len();
    if count as u64 >= size as u64 {
        // The whole set goes: reply it in its iteration order.
        let all = ordered_members(s, mi);
        s.clear();
        ctx.modified(key, notify::SET, "spop");
        drop_if_empty(ctx, key);
        ctx.propagate_as(vec![vec![Bytes::from_static(b"DEL"), key.clone()]]);
        return Ok(set_frame(all));
    }
    let mut rng = rand::thread_rng();
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if s.is_empty() {
            break;
        }
        let i = rng.gen_range(0..s.len());
        if let Some(m) = s.swap_remove_index(i) {
            out.push(m);
        }
    }
    ctx.modified(key, notify::SET, "spop");
    // one SREM per member (Redis 7.0), written as one MULTI/EXEC unit
    if ctx.propagating() {
        let ops = out.iter().map(|m| srem_op(key, m)).collect();
        ctx.propagate_as(ops);
    }
    Ok(set_frame(out))
}

/// `SREM key member`: how a popped member is propagated.
fn srem_op(key: &Bytes, m: &Bytes) -> Vec<Bytes> {
    vec![Bytes::from_static(b"SREM"), key.clone(), m.clone()]
}

fn srandmember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(syntax_err());
    }
    let mi = max_intset(ctx);
    if a.len() == 2 {
        let Some(s) = read_set(ctx, &a[1])? else {
            return Ok(Frame::Null);
        };
        if s.is_empty() {
            return Ok(Frame::Null);
        }
        let i = rand::thread_rng().gen_range(0..s.len());
        return Ok(s
            .get_index(i)
            .map(|m| Frame::Bulk(m.clone()))
            .unwrap_or(Frame::Null));
    }
    let l = parse_count_range(&a[2])?;
    let Some(s) = read_set(ctx, &a[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    let count = l.unsigned_abs();
    if count == 0 || s.is_empty() {
        return Ok(Frame::Array(vec![]));
    }
    let mut rng = rand::thread_rng();
    let mut out = Vec::new();
    if l < 0 || count == 1 {
        for _ in 0..count {
            if let Some(m) = s.get_index(rng.gen_range(0..s.len())) {
                out.push(Frame::Bulk(m.clone()));
            }
        }
    } else if count >= s.len() as u64 {
        out = ordered_members(s, mi)
            .into_iter()
            .map(Frame::Bulk)
            .collect();
    } else {
        for i in rand::seq::index::sample(&mut rng, s.len(), count as usize) {
            if let Some(m) = s.get_index(i) {
                out.push(Frame::Bulk(m.clone()));
            }
        }
    }
    Ok(Frame::Array(out))
}

fn smove(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&a[1], &a[2], &a[3]);
    let src_exists = write_set(ctx, src)?.is_some();
    if !src_exists {
        return Ok(Frame::Integer(0));
    }
    let dst_exists = write_set(ctx, dst)?.is_some();
    if src == dst {
        let has = write_set(ctx, src)?.map(|s| s.contains(m)).unwrap_or(false);
        return Ok(Frame::Integer(has as i64));
    }
    let removed = write_set(ctx, src)?
        .map(|s| s.swap_remove(m))
        .unwrap_or(false);
    if !removed {
        return Ok(Frame::Integer(0));
    }
    ctx.notify(notify::SET, "srem", src);
    drop_if_empty(ctx, src);
    if !dst_exists {
        let lru = ctx.lru;
        ctx.db()
            .insert_entry(dst.clone(), Entry::new(Value::Set(Box::default()), lru));
    }
    ctx.touch(src);
    ctx.st.dirty += 1;
    let added = write_set(ctx, dst)?
        .map(|s| s.insert(m.clone()))
        .unwrap_or(false);
    if added {
        ctx.modified(dst, notify::SET, "sadd");
    }
    Ok(Frame::Integer(1))
}

/// Looks every key up (read or write lookup), failing on the first
/// non-set; returns which keys exist.
fn lookup_sets(ctx: &mut Ctx, keys: &[Bytes], write: bool) -> Result<Vec<bool>, Frame> {
    let mut exists = Vec::with_capacity(keys.len());
    for k in keys {
        let found = if write {
            write_set(ctx, k)?.is_some()
        } else {
            read_set(ctx, k)?.is_some()
        };
        exists.push(found);
    }
    Ok(exists)
}

/// The sets behind `keys` (already looked up), `None` for missing ones.
fn borrow_sets<'a>(ctx: &'a Ctx, keys: &[Bytes]) -> Vec<Option<&'a Set>> {
    let db = &ctx.st.dbs[ctx.client.db];
    keys.iter()
        .map(|k| match db.dict.get(&k[..]) {
            Some(Entry {
                value: Value::Set(s),
                ..
            }) => Some(&**s),
            _ => None,
        })
        .collect()
}

/// Intersection of the sets at `keys`, stopping after `limit` members
/// (0 = no limit). `None` when a key is missing (empty result).
fn inter(ctx: &mut Ctx, keys: &[Bytes], write: bool, limit: usize) -> Result<Vec<Bytes>, Frame> {
    let exists = lookup_sets(ctx, keys, write)?;
    if exists.iter().any(|e| !e) {
        return Ok(Vec::new());
    }
    let mut sets: Vec<&Set> = borrow_sets(ctx, keys).into_iter().flatten().collect();
    sets.sort_by_key(|s| s.len());
    let Some((first, rest)) = sets.split_first() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for m in first.iter() {
        if rest.iter().all(|s| s.contains(m)) {
            out.push(m.clone());
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Union (`diff == false`) or difference of the sets at `keys`.
fn union_diff(ctx: &mut Ctx, keys: &[Bytes], write: bool, diff: bool) -> Result<Vec<Bytes>, Frame> {
    lookup_sets(ctx, keys, write)?;
    let sets = borrow_sets(ctx, keys);
    let mut out: Set = IndexSet::new();
    if diff {
        if let Some(Some(first)) = sets.first() {
            for m in first.iter() {
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    out.insert(m.clone());
                }
            }
        }
    } else {
        for s in sets.iter().flatten() {
            for m in s.iter() {
                out.insert(m.clone());
            }
        }
    }
    Ok(out.into_iter().collect())
}

/// Replaces `dst` with a set of `members` (deleting it when empty) and
/// replies its cardinality, notifying `event` (or `del`).
fn store(ctx: &mut Ctx, dst: &Bytes, members: Vec<Bytes>, event: &str) -> CmdResult {
    let n = members.len();
    if n == 0 {
        if ctx.delete(dst) {
            ctx.modified(dst, notify::GENERIC, "del");
        }
        return Ok(Frame::Integer(0));
    }
    let set: Set = members.into_iter().collect();
    let (lru, now) = (ctx.lru, ctx.now);
    let db = ctx.db();
    db.expire_if_needed(dst, now);
    db.remove(dst);
    db.insert_entry(dst.clone(), Entry::new(Value::Set(Box::new(set)), lru));
    ctx.modified(dst, notify::SET, event);
    Ok(Frame::Integer(n as i64))
}

fn sinter(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut v = inter(ctx, &a[1..], false, 0)?;
    sort_if_intset(&mut v, max_intset(ctx));
    Ok(set_frame(v))
}

fn sinterstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let v = inter(ctx, &a[2..], true, 0)?;
    store(ctx, &a[1], v, "sinterstore")
}

fn sunion(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut v = union_diff(ctx, &a[1..], false, false)?;
    sort_if_intset(&mut v, max_intset(ctx));
    Ok(set_frame(v))
}

fn sunionstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let v = union_diff(ctx, &a[2..], true, false)?;
    store(ctx, &a[1], v, "sunionstore")
}

fn sdiff(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut v = union_diff(ctx, &a[1..], false, true)?;
    sort_if_intset(&mut v, max_intset(ctx));
    Ok(set_frame(v))
}

fn sdiffstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let v = union_diff(ctx, &a[2..], true, true)?;
    store(ctx, &a[1], v, "sdiffstore")
}

/// Parses SINTERCARD's numkeys (`ERR numkeys should be greater than 0`).
fn numkeys(a: &[Bytes]) -> Result<usize, Frame> {
    let n = arg_i64(&a[1])
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| Frame::err("ERR numkeys should be greater than 0"))?;
    if n as u64 > (a.len() - 2) as u64 {
        return Err(Frame::err(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(n as usize)
}

/// Key positions of SINTERCARD (`numkeys key [key ...]`).
fn sintercard_keys(a: &[Bytes]) -> Vec<usize> {
    match a.get(1).and_then(|n| parse_i64(n)) {
        Some(n) if n >= 1 && (n as u64) <= a.len().saturating_sub(2) as u64 => {
            (2..2 + n as usize).collect()
        }
        _ => Vec::new(),
    }
}

fn sintercard(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = numkeys(a)?;
    let mut limit = 0usize;
    let mut i = 2 + n;
    while i < a.len() {
        if super::is(&a[i], "limit") && i + 1 < a.len() {
            let l = arg_i64(&a[i + 1])
                .ok()
                .filter(|l| *l >= 0)
                .ok_or_else(|| Frame::err("ERR LIMIT can't be negative"))?;
            limit = usize::try_from(l).unwrap_or(usize::MAX);
            i += 2;
        } else {
            return Err(syntax_err());
        }
    }
    let v = inter(ctx, &a[2..2 + n], false, limit)?;
    Ok(Frame::Integer(v.len() as i64))
}

fn sscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let mi = max_intset(ctx);
    let Some(s) = read_set(ctx, &a[1])? else {
        return Ok(scan_reply(0, vec![]));
    };
    let opts = parse_scan_opts(&a[3..], false)?;
    if is_intset(s.iter(), mi) {
        let items = ordered_members(s, mi)
            .into_iter()
            .filter(|m| opts.matches(m))
            .map(Frame::Bulk)
            .collect();
        return Ok(scan_reply(0, items));
    }
    let (next, found) = scan_indexed(s.len(), cursor, opts.count, |i| s.get_index(i).cloned());
    Ok(scan_reply(
        next,
        found
            .into_iter()
            .filter(|m| opts.matches(m))
            .map(Frame::Bulk)
            .collect(),
    ))
}
