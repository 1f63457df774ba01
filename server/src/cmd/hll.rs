//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST),
//! as Redis 7.0's `hyperloglog.c`: an HLL is a string value in Redis's
//! exact byte representation ([`crate::types::hll`]), so keys written
//! here read the same on redis-server and the other way round.
//!
//! Side effects follow Redis: PFADD and PFMERGE send a `pfadd` event and
//! count one change per updated register; a single-key PFCOUNT that
//! refreshes the cached cardinality counts a change (so it is propagated,
//! rewriting the header on replicas and in the AOF) and invalidates
//! WATCH; PFDEBUG GETREG/TODENSE count a change when they convert.

use bytes::Bytes;
use picket_common::resp::Frame;
use rand::Rng;

use super::flags::*;
use super::{is, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};
use crate::types::hll::{self, Corrupt, REGISTERS};

/// HyperLogLog rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "hyperloglog",
        pfadd
    ),
    cmd!("pfcount", -2, READONLY, 1, -1, 1, "hyperloglog", pfcount),
    cmd!(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        1,
        -1,
        1,
        "hyperloglog",
        pfmerge
    ),
    cmd!(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        2,
        2,
        1,
        "hyperloglog",
        pfdebug
    ),
    cmd!("pfselftest", 1, ADMIN, 0, 0, 0, "hyperloglog", pfselftest),
];

/// `-INVALIDOBJ Corrupted HLL object detected`
fn corrupt(_: Corrupt) -> Frame {
    Frame::err("INVALIDOBJ Corrupted HLL object detected")
}

/// `isHLLObjectOrReply`'s error for a string that is not an HLL.
fn not_hll() -> Frame {
    Frame::err("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

/// The HLL string of the entry at `idx` in the current db, checked like
/// `isHLLObjectOrReply`. `unshare` marks it `raw`, as Redis's
/// `dbUnshareStringValue` turns an embstr into a raw string before
/// writing to it.
fn hll_at<'c>(ctx: &'c mut Ctx, idx: usize, unshare: bool) -> Result<&'c mut Vec<u8>, Frame> {
    let db = ctx.client.db;
    let Some((_, e)) = ctx.st.dbs[db].dict.get_index_mut(idx) else {
        return Err(wrongtype());
    };
    let Entry { value, raw, .. } = e;
    let Value::Str(s) = value else {
        return Err(wrongtype());
    };
    if !hll::is_valid(s) {
        return Err(not_hll());
    }
    if unshare {
        *raw = true;
    }
    Ok(s)
}

/// Adds a fresh empty (sparse) HLL under `key` in the current db.
fn create(ctx: &mut Ctx, key: &Bytes) -> usize {
    let (lru, now) = (ctx.lru, ctx.now);
    let db = ctx.db();
    db.set(key.clone(), Value::Str(hll::new_sparse()), false, lru, now);
    match db.dict.get_full_mut(&key[..]) {
        Some((idx, _, e)) => {
            e.raw = true;
            idx
        }
        None => 0,
    }
}

fn sparse_max(ctx: &Ctx) -> usize {
    usize::try_from(ctx.st.config.hll_sparse_max_bytes).unwrap_or(0)
}

fn pfadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let max_bytes = sparse_max(ctx);
    let mut updated = 0i64;
    let idx = match ctx.index_write(key) {
        Some(idx) => {
            hll_at(ctx, idx, true)?;
            idx
        }
        None => {
            updated += 1;
            create(ctx, key)
        }
    };
    let v = hll_at(ctx, idx, false)?;
    for ele in &a[2..] {
        // an element found corrupt leaves the earlier updates in place,
        // unsignalled and unpropagated, as in Redis
        if hll::add(v, ele, max_bytes).map_err(corrupt)? {
            updated += 1;
        }
    }
    if updated > 0 {
        hll::invalidate(v);
        ctx.touch(key);
        ctx.notify(notify::STRING, "pfadd", key);
        ctx.st.dirty += updated as u64;
    }
    Ok(Frame::Integer(i64::from(updated > 0)))
}

fn pfcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 2 {
        // the union of several HLLs, registers one per byte
        let mut max = Box::new([0u8; REGISTERS]);
        for key in &a[1..] {
            let Some(idx) = ctx.index_read(key) else {
                continue;
            };
            let v = hll_at(ctx, idx, false)?;
            hll::merge_into(&mut max, v).map_err(corrupt)?;
        }
        return Ok(Frame::Integer(hll::count_raw(&max) as i64));
    }
    let key = &a[1];
    let Some(idx) = ctx.index_read(key) else {
        return Ok(Frame::Integer(0));
    };
    let v = hll_at(ctx, idx, true)?;
    if let Some(card) = hll::cached(v) {
        return Ok(Frame::Integer(card as i64));
    }
    let card = hll::count(v).map_err(corrupt)?;
    hll::set_cached(v, card);
    // a read-only command that rewrote the value: Redis signals and
    // counts the change so the refreshed header is propagated
    ctx.touch(key);
    ctx.st.dirty += 1;
    Ok(Frame::Integer(card as i64))
}

fn pfmerge(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let max_bytes = sparse_max(ctx);
    let mut max = Box::new([0u8; REGISTERS]);
    let mut use_dense = false;
    // the destination is read as the first source
    for key in &a[1..] {
        let Some(idx) = ctx.index_read(key) else {
            continue;
        };
        let v = hll_at(ctx, idx, false)?;
        if v[4] == hll::DENSE {
            use_dense = true;
        }
        hll::merge_into(&mut max, v).map_err(corrupt)?;
    }
    let key = &a[1];
    let idx = match ctx.index_write(key) {
        Some(idx) => idx,
        None => create(ctx, key),
    };
    let v = hll_at(ctx, idx, true)?;
    if use_dense {
        hll::sparse_to_dense(v).map_err(corrupt)?;
    }
    for (i, &m) in max.iter().enumerate() {
        if m == 0 {
            continue;
        }
        if v[4] == hll::DENSE {
            let regs = &mut v[hll::HDR_SIZE..];
            if m > hll::dense_get(regs, i) {
                hll::dense_put(regs, i, m);
            }
        } else {
            // as Redis, a failure here (impossible after the merge
            // validated the destination) is ignored
            let _ = hll::sparse_set(v, i, m, max_bytes);
        }
    }
    hll::invalidate(v);
    ctx.touch(key);
    // Redis sends `pfadd` for PFMERGE: it is a mass add of elements
    ctx.notify(notify::STRING, "pfadd", key);
    ctx.st.dirty += 1;
    Ok(Frame::ok())
}

fn pfdebug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    let Some(idx) = ctx.index_write(&a[2]) else {
        return Err(Frame::err("ERR The specified key does not exist"));
    };
    let v = hll_at(ctx, idx, true)?;
    if is(sub, "getreg") {
        let converted = v[4] == hll::SPARSE;
        hll::sparse_to_dense(v).map_err(corrupt)?;
        let regs = &v[hll::HDR_SIZE..];
        let out = (0..REGISTERS)
            .map(|i| Frame::Integer(i64::from(hll::dense_get(regs, i))))
            .collect();
        if converted {
            // forces propagation of the encoding change
            ctx.st.dirty += 1;
        }
        Ok(Frame::Array(out))
    } else if is(sub, "decode") {
        if v[4] != hll::SPARSE {
            return Err(Frame::err("ERR HLL encoding is not sparse"));
        }
        Ok(Frame::bulk(hll::decode(v)))
    } else if is(sub, "encoding") {
        let enc = if v[4] == hll::DENSE {
            "dense"
        } else {
            "sparse"
        };
        Ok(Frame::Simple(enc.into()))
    } else if is(sub, "todense") {
        let converted = v[4] == hll::SPARSE;
        hll::sparse_to_dense(v).map_err(corrupt)?;
        if converted {
            ctx.st.dirty += 1;
        }
        Ok(Frame::Integer(i64::from(converted)))
    } else {
        Err(Frame::err(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            // (line breaks become spaces in the error encoder)
            String::from_utf8_lossy(sub)
        )))
    }
}

/// PFSELFTEST: Redis's self-test of the register packing and of the
/// estimate's error, dense and sparse side by side.
fn pfselftest(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let mut rng = rand::thread_rng();
    let mut regs = vec![0u8; hll::DENSE_SIZE - hll::HDR_SIZE];
    let mut bytes = vec![0u8; REGISTERS];
    // Test 1: every register keeps its value and leaves its neighbours alone.
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = rng.gen::<u8>() & 63;
            *b = r;
            hll::dense_put(&mut regs, i, r);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let got = hll::dense_get(&regs, i);
            if got != b {
                return Err(Frame::err(format!(
                    "TESTFAILED Register {i} should be {b} but is {got}"
                )));
            }
        }
    }
    // Test 2: the error stays within bounds, and the dense and sparse
    // representations agree.
    let max_bytes = sparse_max(ctx);
    let mut dense = hll::new_sparse();
    let _ = hll::sparse_to_dense(&mut dense);
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed: u64 = rng.gen();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_ne_bytes();
        let _ = hll::add(&mut dense, &ele, max_bytes);
        let _ = hll::add(&mut sparse, &ele, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && sparse[4] != hll::SPARSE {
            return Err(Frame::err("TESTFAILED sparse encoding not used"));
        }
        let card = hll::count(&dense).unwrap_or(0);
        if hll::count(&sparse).ok() != Some(card) {
            return Err(Frame::err("TESTFAILED dense/sparse disagree"));
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(Frame::err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            )));
        }
        checkpoint *= 10;
    }
    Ok(Frame::ok())
}
