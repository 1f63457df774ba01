//! Hash commands (HSET ... HSCAN).
//!
//! Hashes are `IndexMap`s. Small hashes (the ones Redis would keep
//! listpack-encoded: at most `hash-max-listpack-entries` fields, fields and
//! values at most `hash-max-listpack-value` bytes) keep insertion order on
//! delete (`shift_remove`) so HGETALL / HKEYS / HSCAN print fields in the
//! same order as Redis's listpack; big hashes use O(1) `swap_remove`, which
//! is also what keeps HSCAN cursors stable (see [`crate::db::scan_indexed`]).

use bytes::Bytes;
use indexmap::IndexMap;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;
use rand::Rng;

use super::flags::*;
use super::keys::{parse_cursor, parse_scan_opts, scan_reply};
use super::{arg_i64, is, not_float, syntax_err, wrong_arity, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{scan_indexed, Entry, Value};

/// The hashes rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("hset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, "hash", hset),
    cmd!("hsetnx", 4, WRITE | DENYOOM | FAST, 1, 1, 1, "hash", hsetnx),
    cmd!("hget", 3, READONLY | FAST, 1, 1, 1, "hash", hget),
    cmd!("hmget", -3, READONLY | FAST, 1, 1, 1, "hash", hmget),
    cmd!("hmset", -4, WRITE | DENYOOM | FAST, 1, 1, 1, "hash", hmset),
    cmd!("hdel", -3, WRITE | FAST, 1, 1, 1, "hash", hdel),
    cmd!("hlen", 2, READONLY | FAST, 1, 1, 1, "hash", hlen),
    cmd!("hexists", 3, READONLY | FAST, 1, 1, 1, "hash", hexists),
    cmd!("hkeys", 2, READONLY, 1, 1, 1, "hash", hkeys),
    cmd!("hvals", 2, READONLY, 1, 1, 1, "hash", hvals),
    cmd!("hgetall", 2, READONLY, 1, 1, 1, "hash", hgetall),
    cmd!(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "hash",
        hincrby
    ),
    cmd!(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "hash",
        hincrbyfloat
    ),
    cmd!("hstrlen", 3, READONLY | FAST, 1, 1, 1, "hash", hstrlen),
    cmd!("hrandfield", -2, READONLY, 1, 1, 1, "hash", hrandfield),
    cmd!("hscan", -3, READONLY, 1, 1, 1, "hash", hscan),
];

type Hash = IndexMap<Bytes, Bytes>;

/// Reads a hash: `Ok(None)` when missing, WRONGTYPE for other types.
fn read_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Hash>, Frame> {
    match ctx.lookup_read(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(wrongtype()),
    }
}

/// Looks a hash up for writing: `Ok(None)` when missing.
fn write_hash<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<Option<&'a mut Hash>, Frame> {
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(Some(h)),
        Some(_) => Err(wrongtype()),
    }
}

/// Looks a hash up for writing, creating an empty one when missing
/// (Redis's `hashTypeLookupWriteOrCreate`).
fn write_or_create<'a>(ctx: &'a mut Ctx, key: &Bytes) -> Result<&'a mut Hash, Frame> {
    if write_hash(ctx, key)?.is_none() {
        let lru = ctx.lru;
        ctx.db()
            .insert_entry(key.clone(), Entry::new(Value::Hash(Box::default()), lru));
    }
    match ctx.db().dict.get_mut(&key[..]) {
        Some(Entry {
            value: Value::Hash(h),
            ..
        }) => Ok(h),
        _ => Err(wrongtype()),
    }
}

/// Whether Redis would keep this hash listpack-encoded (small hash).
pub fn is_listpack(h: &Hash, max_entries: i64, max_value: i64) -> bool {
    let max_value = max_value.max(0) as usize;
    (h.len() as i64) <= max_entries
        && h.iter()
            .all(|(k, v)| k.len() <= max_value && v.len() <= max_value)
}

fn listpack_limits(ctx: &Ctx) -> (i64, i64) {
    (
        ctx.st.config.hash_max_listpack_entries,
        ctx.st.config.hash_max_listpack_value,
    )
}

/// Removes the key when its hash became empty, notifying `del`.
fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty =
        matches!(ctx.db().dict.get(key), Some(Entry { value: Value::Hash(h), .. }) if h.is_empty());
    if empty {
        ctx.delete(key);
        ctx.notify(notify::GENERIC, "del", key);
    }
}

/// Sets the field/value pairs of `a[2..]` (length already checked).
fn hset_pairs(ctx: &mut Ctx, a: &[Bytes]) -> Result<i64, Frame> {
    let h = write_or_create(ctx, &a[1])?;
    let mut created = 0;
    for p in a[2..].chunks(2) {
        if h.insert(p[0].clone(), p[1].clone()).is_none() {
            created += 1;
        }
    }
    ctx.modified(&a[1], notify::HASH, "hset");
    Ok(created)
}

fn hset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        return Err(wrong_arity("hset"));
    }
    Ok(Frame::Integer(hset_pairs(ctx, a)?))
}

fn hmset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !a.len().is_multiple_of(2) {
        return Err(wrong_arity("hmset"));
    }
    hset_pairs(ctx, a)?;
    Ok(Frame::ok())
}

fn hsetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let h = write_or_create(ctx, &a[1])?;
    if h.contains_key(&a[2]) {
        return Ok(Frame::Integer(0));
    }
    h.insert(a[2].clone(), a[3].clone());
    ctx.modified(&a[1], notify::HASH, "hset");
    Ok(Frame::Integer(1))
}

fn hget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(match read_hash(ctx, &a[1])?.and_then(|h| h.get(&a[2])) {
        Some(v) => Frame::Bulk(v.clone()),
        None => Frame::Null,
    })
}

fn hmget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let h = read_hash(ctx, &a[1])?;
    let h = h.as_deref();
    Ok(Frame::Array(
        a[2..]
            .iter()
            .map(|f| {
                h.and_then(|h| h.get(f))
                    .map(|v| Frame::Bulk(v.clone()))
                    .unwrap_or(Frame::Null)
            })
            .collect(),
    ))
}

fn hdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (me, mv) = listpack_limits(ctx);
    let Some(h) = write_hash(ctx, &a[1])? else {
        return Ok(Frame::Integer(0));
    };
    let small = is_listpack(h, me, mv);
    let mut n = 0;
    for f in &a[2..] {
        let removed = if small {
            h.shift_remove(f)
        } else {
            h.swap_remove(f)
        };
        if removed.is_some() {
            n += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    if n > 0 {
        ctx.modified(&a[1], notify::HASH, "hdel");
        drop_if_empty(ctx, &a[1]);
    }
    Ok(Frame::Integer(n))
}

fn hlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_hash(ctx, &a[1])?.map(|h| h.len() as i64).unwrap_or(0),
    ))
}

fn hexists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_hash(ctx, &a[1])?
            .map(|h| h.contains_key(&a[2]) as i64)
            .unwrap_or(0),
    ))
}

fn hstrlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        read_hash(ctx, &a[1])?
            .and_then(|h| h.get(&a[2]))
            .map(|v| v.len() as i64)
            .unwrap_or(0),
    ))
}

fn hkeys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(
        read_hash(ctx, &a[1])?
            .map(|h| h.keys().map(|k| Frame::Bulk(k.clone())).collect())
            .unwrap_or_default(),
    ))
}

fn hvals(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Array(
        read_hash(ctx, &a[1])?
            .map(|h| h.values().map(|v| Frame::Bulk(v.clone())).collect())
            .unwrap_or_default(),
    ))
}

fn hgetall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Map(
        read_hash(ctx, &a[1])?
            .map(|h| {
                h.iter()
                    .map(|(k, v)| (Frame::Bulk(k.clone()), Frame::Bulk(v.clone())))
                    .collect()
            })
            .unwrap_or_default(),
    ))
}

fn hincrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = arg_i64(&a[3])?;
    let h = write_or_create(ctx, &a[1])?;
    let cur = match h.get(&a[2]) {
        Some(v) => parse_i64(v).ok_or_else(|| Frame::err("ERR hash value is not an integer"))?,
        None => 0,
    };
    let new = cur
        .checked_add(by)
        .ok_or_else(|| Frame::err("ERR increment or decrement would overflow"))?;
    h.insert(a[2].clone(), Bytes::from(new.to_string()));
    ctx.modified(&a[1], notify::HASH, "hincrby");
    Ok(Frame::Integer(new))
}

fn hincrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Computed in long double like Redis (see crate::longdouble).
    use crate::longdouble::{incr, is_long_double, IncrError};
    if !is_long_double(&a[3]) {
        return Err(not_float());
    }
    if incr(None, &a[3]) == Err(IncrError::NanOrInf) {
        return Err(Frame::err("ERR value is NaN or Infinity"));
    }
    let h = write_or_create(ctx, &a[1])?;
    let cur = h.get(&a[2]).cloned();
    let text = match incr(cur.as_deref(), &a[3]) {
        Ok(t) => Bytes::from(t),
        Err(IncrError::BadCurrent) => {
            drop_if_empty(ctx, &a[1]);
            return Err(Frame::err("ERR hash value is not a float"));
        }
        Err(IncrError::BadIncrement) => {
            drop_if_empty(ctx, &a[1]);
            return Err(not_float());
        }
        Err(IncrError::NanOrInf) => {
            drop_if_empty(ctx, &a[1]);
            return Err(Frame::err("ERR increment would produce NaN or Infinity"));
        }
    };
    h.insert(a[2].clone(), text.clone());
    ctx.modified(&a[1], notify::HASH, "hincrbyfloat");
    ctx.propagate_as(vec![vec![
        Bytes::from_static(b"HSET"),
        a[1].clone(),
        a[2].clone(),
        text.clone(),
    ]]);
    Ok(Frame::Bulk(text))
}

/// Parses a count argument bounded like Redis's
/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`.
pub fn parse_count_range(a: &[u8]) -> Result<i64, Frame> {
    let v = arg_i64(a)?;
    if v == i64::MIN {
        return Err(Frame::err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
    }
    Ok(v)
}

fn pair(resp: u8, k: &Bytes, v: &Bytes, out: &mut Vec<Frame>) {
    if resp >= 3 {
        out.push(Frame::Array(vec![
            Frame::Bulk(k.clone()),
            Frame::Bulk(v.clone()),
        ]));
    } else {
        out.push(Frame::Bulk(k.clone()));
        out.push(Frame::Bulk(v.clone()));
    }
}

fn hrandfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 2 {
        let Some(h) = read_hash(ctx, &a[1])? else {
            return Ok(Frame::Null);
        };
        if h.is_empty() {
            return Ok(Frame::Null);
        }
        let i = rand::thread_rng().gen_range(0..h.len());
        return Ok(h
            .get_index(i)
            .map(|(k, _)| Frame::Bulk(k.clone()))
            .unwrap_or(Frame::Null));
    }
    let l = parse_count_range(&a[2])?;
    let mut withvalues = false;
    if a.len() > 4 || (a.len() == 4 && !is(&a[3], "withvalues")) {
        return Err(syntax_err());
    } else if a.len() == 4 {
        withvalues = true;
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(Frame::err("ERR value is out of range"));
        }
    }
    let resp = ctx.client.resp;
    let Some(h) = read_hash(ctx, &a[1])? else {
        return Ok(Frame::Array(vec![]));
    };
    let count = l.unsigned_abs();
    let size = h.len() as u64;
    if count == 0 || size == 0 {
        return Ok(Frame::Array(vec![]));
    }
    let mut rng = rand::thread_rng();
    let mut out = Vec::new();
    let push = |out: &mut Vec<Frame>, k: &Bytes, v: &Bytes| {
        if withvalues {
            pair(resp, k, v, out);
        } else {
            out.push(Frame::Bulk(k.clone()));
        }
    };
    if l < 0 || count == 1 {
        // With repetitions: sample the whole hash every time.
        for _ in 0..count {
            if let Some((k, v)) = h.get_index(rng.gen_range(0..h.len())) {
                push(&mut out, k, v);
            }
        }
    } else if count >= size {
        for (k, v) in h.iter() {
            push(&mut out, k, v);
        }
    } else {
        // Distinct fields: a random sample of indices, kept in hash order.
        let idx = rand::seq::index::sample(&mut rng, h.len(), count as usize);
        let mut idx = idx.into_vec();
        idx.sort_unstable();
        for i in idx {
            if let Some((k, v)) = h.get_index(i) {
                push(&mut out, k, v);
            }
        }
    }
    Ok(Frame::Array(out))
}

fn hscan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[2])?;
    let (me, mv) = listpack_limits(ctx);
    let Some(h) = read_hash(ctx, &a[1])? else {
        return Ok(scan_reply(0, vec![]));
    };
    let opts = parse_scan_opts(&a[3..], false)?;
    let mut items = Vec::new();
    if is_listpack(h, me, mv) {
        for (k, v) in h.iter() {
            if opts.matches(k) {
                items.push(Frame::Bulk(k.clone()));
                items.push(Frame::Bulk(v.clone()));
            }
        }
        return Ok(scan_reply(0, items));
    }
    let (next, found) = scan_indexed(h.len(), cursor, opts.count, |i| {
        h.get_index(i).map(|(k, v)| (k.clone(), v.clone()))
    });
    for (k, v) in found {
        if opts.matches(&k) {
            items.push(Frame::Bulk(k));
            items.push(Frame::Bulk(v));
        }
    }
    Ok(scan_reply(next, items))
}
