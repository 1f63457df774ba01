//! String commands.

use bytes::Bytes;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, is, not_int, syntax_err, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};

/// String rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("get", 2, READONLY | FAST, 1, 1, 1, "string", get),
    cmd!("set", -3, WRITE | DENYOOM, 1, 1, 1, "string", set),
    cmd!("setnx", 3, WRITE | DENYOOM | FAST, 1, 1, 1, "string", setnx),
    cmd!("setex", 4, WRITE | DENYOOM, 1, 1, 1, "string", setex),
    cmd!("psetex", 4, WRITE | DENYOOM, 1, 1, 1, "string", psetex),
    cmd!(
        "getset",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "string",
        getset
    ),
    cmd!("getdel", 2, WRITE | FAST, 1, 1, 1, "string", getdel),
    cmd!("getex", -2, WRITE | FAST, 1, 1, 1, "string", getex),
    cmd!("mget", -2, READONLY | FAST, 1, -1, 1, "string", mget),
    cmd!("mset", -3, WRITE | DENYOOM, 1, -1, 2, "string", mset),
    cmd!("msetnx", -3, WRITE | DENYOOM, 1, -1, 2, "string", msetnx),
    cmd!(
        "append",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "string",
        append
    ),
    cmd!("strlen", 2, READONLY | FAST, 1, 1, 1, "string", strlen),
    cmd!("incr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, "string", incr),
    cmd!("decr", 2, WRITE | DENYOOM | FAST, 1, 1, 1, "string", decr),
    cmd!(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "string",
        incrby
    ),
    cmd!(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "string",
        decrby
    ),
    cmd!(
        "incrbyfloat",
        3,
        WRITE | DENYOOM | FAST,
        1,
        1,
        1,
        "string",
        incrbyfloat
    ),
    cmd!("getrange", 4, READONLY, 1, 1, 1, "string", getrange),
    cmd!("substr", 4, READONLY, 1, 1, 1, "string", getrange),
    cmd!("setrange", 4, WRITE | DENYOOM, 1, 1, 1, "string", setrange),
    cmd!("lcs", -3, READONLY, 1, 2, 1, "string", lcs),
];

fn get(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let Some(idx) = ctx.index_read(&a[1]) else {
        return Ok(Frame::Null);
    };
    let db = ctx.client.db;
    let Some((_, e)) = ctx.st.dbs[db].dict.get_index(idx) else {
        return Ok(Frame::Null);
    };
    let Value::Str(v) = &e.value else {
        return Err(wrongtype());
    };
    // GET is the hottest read: write the value straight into the reply
    // buffer instead of copying it into a Frame first.
    if let Some(out) = ctx.direct.as_deref_mut() {
        picket_common::resp::put_bulk_into(out, v);
        ctx.no_reply = true;
        return Ok(Frame::Null);
    }
    Ok(Frame::bulk(&v[..]))
}

/// Expire option of SET / GETEX.
#[derive(Clone, Copy, PartialEq)]
enum ExpireOpt {
    None,
    Ex(i64),
    Px(i64),
    ExAt(i64),
    PxAt(i64),
    KeepTtl,
    Persist,
}

/// Turns an expire option into an absolute unix-ms deadline, refusing
/// non-positive and overflowing values with Redis's text.
fn deadline(opt: ExpireOpt, now: i64, cmd: &str) -> Result<Option<i64>, Frame> {
    let bad = || Frame::err(format!("ERR invalid expire time in '{cmd}' command"));
    let v = match opt {
        ExpireOpt::Ex(s) => {
            if s <= 0 {
                return Err(bad());
            }
            s.checked_mul(1000)
                .and_then(|ms| ms.checked_add(now))
                .ok_or_else(bad)?
        }
        ExpireOpt::Px(ms) => {
            if ms <= 0 {
                return Err(bad());
            }
            ms.checked_add(now).ok_or_else(bad)?
        }
        ExpireOpt::ExAt(s) => {
            if s <= 0 {
                return Err(bad());
            }
            s.checked_mul(1000).ok_or_else(bad)?
        }
        ExpireOpt::PxAt(ms) => {
            if ms <= 0 {
                return Err(bad());
            }
            ms
        }
        _ => return Ok(None),
    };
    Ok(Some(v))
}

/// Stores a string value, with an optional deadline or keeping the TTL.
fn store(ctx: &mut Ctx, key: &Bytes, val: Vec<u8>, keep_ttl: bool, at: Option<i64>) {
    let lru = ctx.lru;
    let now = ctx.now;
    let db = ctx.db();
    db.set(key.clone(), Value::Str(val), keep_ttl, lru, now);
    if let Some(at) = at {
        db.set_expire(key, at);
    }
}

fn set(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut nx = false;
    let mut xx = false;
    let mut get = false;
    let mut exp = ExpireOpt::None;
    let mut i = 3;
    while i < a.len() {
        let o = &a[i];
        let next = a.get(i + 1);
        if is(o, "nx") && !xx {
            nx = true;
        } else if is(o, "xx") && !nx {
            xx = true;
        } else if is(o, "get") {
            get = true;
        } else if is(o, "keepttl") && exp == ExpireOpt::None {
            exp = ExpireOpt::KeepTtl;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat"))
            && exp == ExpireOpt::None
            && next.is_some()
        {
            let v = arg_i64(next.ok_or_else(syntax_err)?)?;
            exp = if is(o, "ex") {
                ExpireOpt::Ex(v)
            } else if is(o, "px") {
                ExpireOpt::Px(v)
            } else if is(o, "exat") {
                ExpireOpt::ExAt(v)
            } else {
                ExpireOpt::PxAt(v)
            };
            i += 1;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    let at = deadline(exp, ctx.now, "set")?;
    let key = &a[1];
    let old: Option<Vec<u8>> = if get {
        match ctx.lookup_write(key) {
            None => None,
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Some(s.clone()),
            Some(_) => return Err(wrongtype()),
        }
    } else {
        None
    };
    let exists = ctx.lookup_write(key).is_some();
    if (nx && exists) || (xx && !exists) {
        return Ok(if get {
            old.map(Frame::bulk).unwrap_or(Frame::Null)
        } else {
            Frame::Null
        });
    }
    store(ctx, key, a[2].to_vec(), exp == ExpireOpt::KeepTtl, at);
    ctx.modified(key, notify::STRING, "set");
    if let Some(at) = at {
        ctx.notify(notify::GENERIC, "expire", key);
        if !matches!(exp, ExpireOpt::PxAt(_)) && ctx.propagating() {
            ctx.propagate_as(vec![set_pxat(key, &a[2], at)]);
        }
    }
    Ok(if get {
        old.map(Frame::bulk).unwrap_or(Frame::Null)
    } else {
        Frame::ok()
    })
}

fn setnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.lookup_write(&a[1]).is_some() {
        return Ok(Frame::Integer(0));
    }
    store(ctx, &a[1], a[2].to_vec(), false, None);
    ctx.modified(&a[1], notify::STRING, "set");
    Ok(Frame::Integer(1))
}

fn setex_impl(ctx: &mut Ctx, a: &[Bytes], ms: bool) -> CmdResult {
    let v = arg_i64(&a[2])?;
    let opt = if ms {
        ExpireOpt::Px(v)
    } else {
        ExpireOpt::Ex(v)
    };
    let at = deadline(opt, ctx.now, if ms { "psetex" } else { "setex" })?;
    store(ctx, &a[1], a[3].to_vec(), false, at);
    ctx.modified(&a[1], notify::STRING, "set");
    ctx.notify(notify::GENERIC, "expire", &a[1]);
    if let (Some(at), true) = (at, ctx.propagating()) {
        ctx.propagate_as(vec![set_pxat(&a[1], &a[3], at)]);
    }
    Ok(Frame::ok())
}

/// `SET key value PXAT <ms>`: how Redis propagates a SET with a relative
/// or seconds expire (and SETEX / PSETEX).
fn set_pxat(key: &Bytes, val: &Bytes, at: i64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        val.clone(),
        Bytes::from_static(b"PXAT"),
        Bytes::from(at.to_string()),
    ]
}

fn setex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setex_impl(ctx, a, false)
}

fn psetex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    setex_impl(ctx, a, true)
}

fn getset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let old = ctx
        .get_str(&a[1])?
        .map(|v| Frame::bulk(&v[..]))
        .unwrap_or(Frame::Null);
    store(ctx, &a[1], a[2].to_vec(), false, None);
    ctx.modified(&a[1], notify::STRING, "set");
    Ok(old)
}

fn getdel(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let old = match ctx.get_str(&a[1])? {
        Some(v) => Frame::bulk(&v[..]),
        None => return Ok(Frame::Null),
    };
    ctx.delete(&a[1]);
    ctx.modified(&a[1], notify::GENERIC, "del");
    ctx.propagate_as(vec![vec![Bytes::from_static(b"DEL"), a[1].clone()]]);
    Ok(old)
}

fn getex(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut exp = ExpireOpt::None;
    let mut i = 2;
    while i < a.len() {
        let o = &a[i];
        if is(o, "persist") && exp == ExpireOpt::None {
            exp = ExpireOpt::Persist;
        } else if (is(o, "ex") || is(o, "px") || is(o, "exat") || is(o, "pxat"))
            && exp == ExpireOpt::None
            && i + 1 < a.len()
        {
            let v = arg_i64(&a[i + 1])?;
            exp = if is(o, "ex") {
                ExpireOpt::Ex(v)
            } else if is(o, "px") {
                ExpireOpt::Px(v)
            } else if is(o, "exat") {
                ExpireOpt::ExAt(v)
            } else {
                ExpireOpt::PxAt(v)
            };
            i += 1;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    let at = deadline(exp, ctx.now, "getex")?;
    let val = match ctx.get_str(&a[1])? {
        Some(v) => Frame::bulk(&v[..]),
        None => return Ok(Frame::Null),
    };
    let key = &a[1];
    if let Some(at) = at {
        if at <= ctx.now {
            ctx.delete(key);
            ctx.modified(key, notify::GENERIC, "del");
            let verb: &'static [u8] = if ctx.st.config.get("lazyfree-lazy-expire") == Some("yes") {
                b"UNLINK"
            } else {
                b"DEL"
            };
            ctx.propagate_as(vec![vec![Bytes::from_static(verb), key.clone()]]);
        } else {
            ctx.db().set_expire(key, at);
            ctx.modified(key, notify::GENERIC, "expire");
            ctx.propagate_as(vec![vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                Bytes::from(at.to_string()),
            ]]);
        }
    } else if exp == ExpireOpt::Persist && ctx.db().persist(key) {
        ctx.modified(key, notify::GENERIC, "persist");
        ctx.propagate_as(vec![vec![Bytes::from_static(b"PERSIST"), key.clone()]]);
    }
    Ok(val)
}

fn mget(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut out = Vec::with_capacity(a.len() - 1);
    for k in &a[1..] {
        out.push(match ctx.lookup_read(k) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Frame::bulk(&s[..]),
            _ => Frame::Null,
        });
    }
    Ok(Frame::Array(out))
}

fn mset(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() % 2 != 1 {
        return Err(super::wrong_arity("mset"));
    }
    for p in a[1..].chunks(2) {
        store(ctx, &p[0], p[1].to_vec(), false, None);
        ctx.modified(&p[0], notify::STRING, "set");
    }
    Ok(Frame::ok())
}

fn msetnx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() % 2 != 1 {
        return Err(super::wrong_arity("msetnx"));
    }
    for p in a[1..].chunks(2) {
        if ctx.lookup_write(&p[0]).is_some() {
            return Ok(Frame::Integer(0));
        }
    }
    for p in a[1..].chunks(2) {
        store(ctx, &p[0], p[1].to_vec(), false, None);
        ctx.modified(&p[0], notify::STRING, "set");
    }
    Ok(Frame::Integer(1))
}

fn check_size(ctx: &Ctx, len: usize) -> Result<(), Frame> {
    if len as i64 > ctx.st.config.proto_max_bulk_len {
        return Err(Frame::err(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        ));
    }
    Ok(())
}

fn append(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let cur_len = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(s.len()),
        Some(_) => return Err(wrongtype()),
        None => None,
    };
    let len = match cur_len {
        Some(l) => {
            check_size(ctx, l + a[2].len())?;
            let Some(e) = ctx.lookup_write(key) else {
                return Err(not_int());
            };
            if let Value::Str(s) = &mut e.value {
                s.extend_from_slice(&a[2]);
            }
            e.raw = true;
            l + a[2].len()
        }
        None => {
            store(ctx, key, a[2].to_vec(), false, None);
            a[2].len()
        }
    };
    ctx.modified(key, notify::STRING, "append");
    Ok(Frame::Integer(len as i64))
}

fn strlen(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(
        ctx.get_str(&a[1])?.map(|s| s.len() as i64).unwrap_or(0),
    ))
}

fn incr_by(ctx: &mut Ctx, key: &Bytes, by: i64) -> CmdResult {
    let cur = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => parse_i64(s).filter(|_| s.len() <= 20).ok_or_else(not_int)?,
        Some(_) => return Err(wrongtype()),
        None => 0,
    };
    let new = cur
        .checked_add(by)
        .ok_or_else(|| Frame::err("ERR increment or decrement would overflow"))?;
    let text = new.to_string().into_bytes();
    match ctx.lookup_write(key) {
        Some(e) => {
            e.value = Value::Str(text);
            e.raw = false;
        }
        None => store(ctx, key, text, false, None),
    }
    ctx.modified(
        key,
        notify::STRING,
        // Redis sends "incrby" for INCR, DECR, INCRBY and DECRBY alike
        "incrby",
    );
    Ok(Frame::Integer(new))
}

fn incr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_by(ctx, &a[1], 1)
}

fn decr(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    incr_by(ctx, &a[1], -1)
}

fn incrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = arg_i64(&a[2])?;
    incr_by(ctx, &a[1], by)
}

fn decrby(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let by = arg_i64(&a[2])?;
    if by == i64::MIN {
        return Err(Frame::err("ERR decrement would overflow"));
    }
    incr_by(ctx, &a[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Redis computes in long double and prints %.17Lf without trailing
    // zeros; crate::longdouble does exactly that in C.
    use crate::longdouble::IncrError;
    let key = &a[1];
    let cur: Option<Vec<u8>> = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(s.clone()),
        Some(_) => return Err(wrongtype()),
        None => None,
    };
    let text = match crate::longdouble::incr(cur.as_deref(), &a[2]) {
        Ok(t) => t,
        Err(IncrError::NanOrInf) => {
            return Err(Frame::err("ERR increment would produce NaN or Infinity"))
        }
        Err(_) => return Err(Frame::err("ERR value is not a valid float")),
    };
    match ctx.lookup_write(key) {
        Some(e) => {
            e.value = Value::Str(text.clone());
            e.raw = false;
        }
        None => store(ctx, key, text.clone(), false, None),
    }
    ctx.modified(key, notify::STRING, "incrbyfloat");
    let text = Bytes::from(text);
    ctx.propagate_as(vec![vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        text.clone(),
        Bytes::from_static(b"KEEPTTL"),
    ]]);
    Ok(Frame::Bulk(text))
}

fn getrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let start = arg_i64(&a[2])?;
    let end = arg_i64(&a[3])?;
    let Some(s) = ctx.get_str(&a[1])? else {
        return Ok(Frame::bulk(""));
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        return Ok(Frame::bulk(""));
    }
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if end < 0 {
        end = 0;
    }
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return Ok(Frame::bulk(""));
    }
    Ok(Frame::bulk(&s[start as usize..=end as usize]))
}

fn setrange(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let offset = arg_i64(&a[2])?;
    if offset < 0 {
        return Err(Frame::err("ERR offset is out of range"));
    }
    let val = &a[3];
    let existing = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Str(s),
            ..
        }) => Some(s.len()),
        Some(_) => return Err(wrongtype()),
        None => None,
    };
    match existing {
        None => {
            if val.is_empty() {
                return Ok(Frame::Integer(0));
            }
            check_size(ctx, offset as usize + val.len())?;
            let mut v = vec![0u8; offset as usize];
            v.extend_from_slice(val);
            let n = v.len();
            store(ctx, key, v, false, None);
            if let Some(e) = ctx.lookup_write(key) {
                e.raw = true;
            }
            ctx.modified(key, notify::STRING, "setrange");
            Ok(Frame::Integer(n as i64))
        }
        Some(len) => {
            if val.is_empty() {
                return Ok(Frame::Integer(len as i64));
            }
            check_size(ctx, offset as usize + val.len())?;
            let Some(e) = ctx.lookup_write(key) else {
                return Ok(Frame::Integer(0));
            };
            let n = if let Value::Str(s) = &mut e.value {
                let need = offset as usize + val.len();
                if s.len() < need {
                    s.resize(need, 0);
                }
                s[offset as usize..need].copy_from_slice(val);
                s.len()
            } else {
                0
            };
            e.raw = true;
            ctx.modified(key, notify::STRING, "setrange");
            Ok(Frame::Integer(n as i64))
        }
    }
}

fn lcs(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut getlen = false;
    let mut getidx = false;
    let mut withlen = false;
    let mut minlen: i64 = 0;
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "idx") {
            getidx = true;
        } else if is(&a[i], "len") {
            getlen = true;
        } else if is(&a[i], "withmatchlen") {
            withlen = true;
        } else if is(&a[i], "minmatchlen") && i + 1 < a.len() {
            minlen = arg_i64(&a[i + 1])?.max(0);
            i += 1;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    let fetch = |ctx: &mut Ctx, k: &Bytes| -> Result<Vec<u8>, Frame> {
        match ctx.lookup_read(k) {
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(s.clone()),
            Some(_) => Err(Frame::err(
                "ERR The specified keys must contain string values",
            )),
            None => Ok(Vec::new()),
        }
    };
    let x = fetch(ctx, &a[1])?;
    let y = fetch(ctx, &a[2])?;
    if getidx && getlen {
        return Err(Frame::err(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (n, m) = (x.len(), y.len());
    if (n + 1).saturating_mul(m + 1) > 512 * 1024 * 1024 / 4 {
        return Err(Frame::err(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // dp[i][j] = LCS length of x[..i], y[..j]
    let w = m + 1;
    let mut dp = vec![0u32; (n + 1) * w];
    for i in 1..=n {
        for j in 1..=m {
            dp[i * w + j] = if x[i - 1] == y[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    let total = dp[n * w + m] as usize;
    if getlen {
        return Ok(Frame::Integer(total as i64));
    }
    // Walk back like Redis, collecting the string and the match ranges.
    let mut result = vec![0u8; total];
    let mut idx = total;
    let (mut i, mut j) = (n, m);
    let mut matches: Vec<Frame> = Vec::new();
    let mut range: Option<(usize, usize, usize, usize)> = None; // (a_start, a_end, b_start, b_end)
    let emit = |r: (usize, usize, usize, usize), matches: &mut Vec<Frame>| {
        let len = r.1 - r.0 + 1;
        if len as i64 >= minlen {
            let mut item = vec![
                Frame::Array(vec![Frame::Integer(r.0 as i64), Frame::Integer(r.1 as i64)]),
                Frame::Array(vec![Frame::Integer(r.2 as i64), Frame::Integer(r.3 as i64)]),
            ];
            if withlen {
                item.push(Frame::Integer(len as i64));
            }
            matches.push(Frame::Array(item));
        }
    };
    while i > 0 && j > 0 {
        if x[i - 1] == y[j - 1] {
            idx -= 1;
            result[idx] = x[i - 1];
            let (ai, bj) = (i - 1, j - 1);
            range = match range {
                Some((s, e, bs, be)) if s == ai + 1 && bs == bj + 1 => Some((ai, e, bj, be)),
                Some(r) => {
                    emit(r, &mut matches);
                    Some((ai, ai, bj, bj))
                }
                None => Some((ai, ai, bj, bj)),
            };
            i -= 1;
            j -= 1;
        } else if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    if let Some(r) = range {
        emit(r, &mut matches);
    }
    if getidx {
        return Ok(Frame::Map(vec![
            (Frame::bulk("matches"), Frame::Array(matches)),
            (Frame::bulk("len"), Frame::Integer(total as i64)),
        ]));
    }
    Ok(Frame::Bulk(Bytes::from(result)))
}
