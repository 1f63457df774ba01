//! Generic key commands: DEL, UNLINK, EXISTS, TYPE, TOUCH, the EXPIRE
//! family, TTL/PTTL, EXPIRETIME/PEXPIRETIME, PERSIST, KEYS, SCAN,
//! RANDOMKEY, RENAME(NX), MOVE, COPY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB,
//! OBJECT.

use bytes::Bytes;
use picket_common::glob::glob_match;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, bulk_array, is, syntax_err, unknown_sub, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value, NO_EXPIRE};

/// Key-space rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("dump", 2, READONLY, 1, 1, 1, "generic", dump),
    cmd!("restore", -4, WRITE | DENYOOM, 1, 1, 1, "generic", restore),
    cmd!("del", -2, WRITE, 1, -1, 1, "generic", del),
    cmd!("unlink", -2, WRITE | FAST, 1, -1, 1, "generic", del),
    cmd!("exists", -2, READONLY | FAST, 1, -1, 1, "generic", exists),
    cmd!("type", 2, READONLY | FAST, 1, 1, 1, "generic", type_cmd),
    cmd!("touch", -2, READONLY | FAST, 1, -1, 1, "generic", touch),
    cmd!("expire", -3, WRITE | FAST, 1, 1, 1, "generic", expire),
    cmd!("pexpire", -3, WRITE | FAST, 1, 1, 1, "generic", pexpire),
    cmd!("expireat", -3, WRITE | FAST, 1, 1, 1, "generic", expireat),
    cmd!("pexpireat", -3, WRITE | FAST, 1, 1, 1, "generic", pexpireat),
    cmd!("ttl", 2, READONLY | FAST, 1, 1, 1, "generic", ttl),
    cmd!("pttl", 2, READONLY | FAST, 1, 1, 1, "generic", pttl),
    cmd!(
        "expiretime",
        2,
        READONLY | FAST,
        1,
        1,
        1,
        "generic",
        expiretime
    ),
    cmd!(
        "pexpiretime",
        2,
        READONLY | FAST,
        1,
        1,
        1,
        "generic",
        pexpiretime
    ),
    cmd!("persist", 2, WRITE | FAST, 1, 1, 1, "generic", persist),
    cmd!("keys", 2, READONLY, 0, 0, 0, "generic", keys),
    cmd!("scan", -2, READONLY, 0, 0, 0, "generic", scan),
    cmd!("randomkey", 1, READONLY, 0, 0, 0, "generic", randomkey),
    cmd!("rename", 3, WRITE, 1, 2, 1, "generic", rename),
    cmd!("renamenx", 3, WRITE | FAST, 1, 2, 1, "generic", renamenx),
    cmd!("move", 3, WRITE | FAST, 1, 1, 1, "generic", move_cmd),
    cmd!("copy", -3, WRITE | DENYOOM, 1, 2, 1, "generic", copy),
    cmd!("dbsize", 1, READONLY | FAST, 0, 0, 0, "server", dbsize),
    cmd!("flushdb", -1, WRITE, 0, 0, 0, "server", flushdb),
    cmd!("flushall", -1, WRITE, 0, 0, 0, "server", flushall),
    cmd!("swapdb", 3, WRITE | FAST, 0, 0, 0, "server", swapdb),
    cmd!(
        "object",
        -2,
        0,
        2,
        2,
        1,
        "generic",
        object,
        subs = &[
            ("encoding", 3, READONLY),
            ("refcount", 3, READONLY),
            ("idletime", 3, READONLY),
            ("freq", 3, READONLY),
            ("help", 2, LOADING | STALE)
        ]
    ),
];

fn del(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.delete(k) {
            ctx.modified(k, notify::GENERIC, "del");
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}

fn exists(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.lookup_read(k).is_some() {
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}

fn type_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let t = ctx
        .db()
        .peek(&a[1], now)
        .map(|e| e.value.type_name())
        .unwrap_or("none");
    Ok(Frame::Simple(t.into()))
}

fn touch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut n = 0;
    for k in &a[1..] {
        if ctx.lookup_write(k).is_some() {
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}

/// The EXPIRE family: `unit_ms` says whether the argument is in ms,
/// `absolute` whether it is a unix time. Implements NX/XX/GT/LT and
/// deletes the key when the deadline is already past (as Redis does on a
/// master).
fn expire_generic(ctx: &mut Ctx, a: &[Bytes], unit_ms: bool, absolute: bool) -> CmdResult {
    let name = String::from_utf8_lossy(&a[0]).to_ascii_lowercase();
    let key = &a[1];
    let v = arg_i64(&a[2])?;
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &a[3..] {
        if is(o, "nx") {
            nx = true;
        } else if is(o, "xx") {
            xx = true;
        } else if is(o, "gt") {
            gt = true;
        } else if is(o, "lt") {
            lt = true;
        } else {
            return Err(Frame::err(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(o)
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(Frame::err(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(Frame::err(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let bad = || Frame::err(format!("ERR invalid expire time in '{name}' command"));
    let ms = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(bad)?
    };
    let when = if absolute {
        ms
    } else {
        ms.checked_add(ctx.now).ok_or_else(bad)?
    };
    let Some(e) = ctx.lookup_write(key) else {
        return Ok(Frame::Integer(0));
    };
    let cur = e.expire;
    if nx && cur != NO_EXPIRE || xx && cur == NO_EXPIRE {
        return Ok(Frame::Integer(0));
    }
    // no TTL counts as infinite for GT/LT
    if gt && (cur == NO_EXPIRE || when <= cur) || lt && cur != NO_EXPIRE && when >= cur {
        return Ok(Frame::Integer(0));
    }
    // (nothing is "already expired" while an AOF loads: the file's own
    // DEL follows, as Redis's checkAlreadyExpired says)
    if when <= ctx.now && !ctx.db().frozen {
        ctx.delete(key);
        ctx.modified(key, notify::GENERIC, "del");
        let verb: &'static [u8] = if ctx.st.config.get("lazyfree-lazy-expire") == Some("yes") {
            b"UNLINK"
        } else {
            b"DEL"
        };
        ctx.propagate_as(vec![vec![Bytes::from_static(verb), key.clone()]]);
    } else {
        ctx.db().set_expire(key, when);
        ctx.modified(key, notify::GENERIC, "expire");
        // relative forms propagate as PEXPIREAT, keeping the flags
        if !(absolute && unit_ms) && ctx.propagating() {
            let mut op = a.to_vec();
            op[0] = Bytes::from_static(b"PEXPIREAT");
            op[2] = Bytes::from(when.to_string());
            ctx.propagate_as(vec![op]);
        }
    }
    Ok(Frame::Integer(1))
}

fn expire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, false, false)
}
fn pexpire(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, true, false)
}
fn expireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, false, true)
}
fn pexpireat(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    expire_generic(ctx, a, true, true)
}

fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.now;
    let Some(e) = ctx.lookup_read(key) else {
        return Ok(Frame::Integer(-2));
    };
    if e.expire == NO_EXPIRE {
        return Ok(Frame::Integer(-1));
    }
    let v = if absolute {
        if ms {
            e.expire
        } else {
            e.expire / 1000
        }
    } else {
        let left = (e.expire - now).max(0);
        if ms {
            left
        } else {
            (left + 500) / 1000
        }
    };
    Ok(Frame::Integer(v))
}

fn ttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, false)
}
fn pttl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, false)
}
fn expiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], false, true)
}
fn pexpiretime(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ttl_generic(ctx, &a[1], true, true)
}

fn persist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.lookup_write(&a[1]).is_none() {
        return Ok(Frame::Integer(0));
    }
    if ctx.db().persist(&a[1]) {
        ctx.modified(&a[1], notify::GENERIC, "persist");
        Ok(Frame::Integer(1))
    } else {
        Ok(Frame::Integer(0))
    }
}

fn keys(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    let pat = &a[1];
    let all = &pat[..] == b"*";
    let db = ctx.db();
    let mut out = Vec::new();
    let mut dead = Vec::new();
    for (k, e) in db.dict.iter() {
        if e.expire != NO_EXPIRE && e.expire <= now {
            dead.push(k.to_bytes());
            continue;
        }
        if all || glob_match(pat, k, false) {
            out.push(k.to_bytes());
        }
    }
    for k in dead {
        db.expire_if_needed(&k, now);
    }
    Ok(bulk_array(out))
}

/// Parses a SCAN cursor like Redis (`strtoul`, no leading space, the whole
/// argument consumed): `-ERR invalid cursor` otherwise.
pub fn parse_cursor(a: &[u8]) -> Result<u64, Frame> {
    let bad = || Frame::err("ERR invalid cursor");
    let (neg, digits) = match a.first() {
        Some(b'-') => (true, &a[1..]),
        Some(b'+') => (false, &a[1..]),
        Some(c) if c.is_ascii_whitespace() || *c == 0x0b => return Err(bad()),
        _ => (false, a),
    };
    if a.is_empty() {
        return Ok(0);
    }
    if digits.is_empty() {
        return Err(bad());
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(bad());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((c - b'0') as u64))
            .ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// MATCH / COUNT (and, for SCAN, TYPE) options of the SCAN family.
#[derive(Debug, Clone)]
pub struct ScanOpts {
    /// Pattern, `None` for "match everything".
    pub pattern: Option<Bytes>,
    /// Elements to visit per call.
    pub count: usize,
    /// SCAN's TYPE filter.
    pub type_name: Option<String>,
}

impl ScanOpts {
    /// Whether an element passes the MATCH filter.
    pub fn matches(&self, s: &[u8]) -> bool {
        self.pattern
            .as_ref()
            .map(|p| glob_match(p, s, false))
            .unwrap_or(true)
    }
}

/// Parses the options after the cursor like Redis's `scanGenericCommand`;
/// TYPE only where `allow_type` (SCAN itself).
pub fn parse_scan_opts(args: &[Bytes], allow_type: bool) -> Result<ScanOpts, Frame> {
    let mut o = ScanOpts {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = 0;
    while i < args.len() {
        let left = args.len() - i;
        if is(&args[i], "count") && left >= 2 {
            let c = arg_i64(&args[i + 1])?;
            if c < 1 {
                return Err(syntax_err());
            }
            o.count = usize::try_from(c).unwrap_or(usize::MAX);
            i += 2;
        } else if is(&args[i], "match") && left >= 2 {
            let p = &args[i + 1];
            o.pattern = if &p[..] == b"*" {
                None
            } else {
                Some(p.clone())
            };
            i += 2;
        } else if allow_type && is(&args[i], "type") && left >= 2 {
            o.type_name = Some(String::from_utf8_lossy(&args[i + 1]).to_ascii_lowercase());
            i += 2;
        } else {
            return Err(syntax_err());
        }
    }
    Ok(o)
}

/// The `[cursor, [items]]` reply of the SCAN family.
pub fn scan_reply(cursor: u64, items: Vec<Frame>) -> Frame {
    Frame::Array(vec![Frame::bulk(cursor.to_string()), Frame::Array(items)])
}

fn scan(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let cursor = parse_cursor(&a[1])?;
    let o = parse_scan_opts(&a[2..], true)?;
    let now = ctx.now;
    let db = ctx.db();
    let (next, keys) = db.scan(cursor, o.count);
    let mut out = Vec::new();
    for k in keys {
        if db.expire_if_needed(&k, now) {
            continue;
        }
        if !o.matches(&k) {
            continue;
        }
        if let Some(t) = &o.type_name {
            match db.dict.get(&k[..]) {
                Some(e) if e.value.type_name() == t => {}
                _ => continue,
            }
        }
        out.push(Frame::Bulk(k));
    }
    Ok(Frame::Array(vec![
        Frame::bulk(next.to_string()),
        Frame::Array(out),
    ]))
}

fn randomkey(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let now = ctx.now;
    Ok(match ctx.db().random_key(now) {
        Some(k) => Frame::Bulk(k),
        None => Frame::Null,
    })
}

fn rename_generic(ctx: &mut Ctx, a: &[Bytes], nx: bool) -> CmdResult {
    let (src, dst) = (&a[1], &a[2]);
    if ctx.lookup_write(src).is_none() {
        return Err(Frame::err("ERR no such key"));
    }
    if src == dst {
        return Ok(if nx { Frame::Integer(0) } else { Frame::ok() });
    }
    let dst_exists = ctx.lookup_write(dst).is_some();
    if nx && dst_exists {
        return Ok(Frame::Integer(0));
    }
    let db = ctx.db();
    let Some(entry) = db.remove(src) else {
        return Err(Frame::err("ERR no such key"));
    };
    db.remove(dst);
    db.insert_entry(dst.clone(), entry);
    ctx.modified(src, notify::GENERIC, "rename_from");
    ctx.modified(dst, notify::GENERIC, "rename_to");
    Ok(if nx { Frame::Integer(1) } else { Frame::ok() })
}

fn rename(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rename_generic(ctx, a, false)
}
fn renamenx(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    rename_generic(ctx, a, true)
}

fn db_index(ctx: &Ctx, a: &[u8]) -> Result<usize, Frame> {
    let i =
        parse_i64(a).ok_or_else(|| Frame::err("ERR value is not an integer or out of range"))?;
    if i < 0 || i as usize >= ctx.st.dbs.len() {
        return Err(Frame::err("ERR DB index is out of range"));
    }
    Ok(i as usize)
}

fn move_cmd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let dst = db_index(ctx, &a[2])?;
    let src = ctx.client.db;
    if src == dst {
        return Err(Frame::err(
            "ERR source and destination objects are the same",
        ));
    }
    if ctx.lookup_write(key).is_none() {
        return Ok(Frame::Integer(0));
    }
    let now = ctx.now;
    if ctx.st.dbs[dst].exists(key, now) {
        return Ok(Frame::Integer(0));
    }
    let Some(e) = ctx.st.dbs[src].remove(key) else {
        return Ok(Frame::Integer(0));
    };
    ctx.st.dbs[dst].insert_entry(key.clone(), e);
    ctx.modified_db(key, notify::GENERIC, "move_from", src);
    ctx.modified_db(key, notify::GENERIC, "move_to", dst);
    Ok(Frame::Integer(1))
}

fn copy(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (src, dst) = (&a[1], &a[2]);
    let mut dst_db = ctx.client.db;
    let mut replace = false;
    let mut i = 3;
    while i < a.len() {
        if is(&a[i], "replace") {
            replace = true;
        } else if is(&a[i], "db") && i + 1 < a.len() {
            dst_db = db_index(ctx, &a[i + 1])?;
            i += 1;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    if src == dst && dst_db == ctx.client.db {
        return Err(Frame::err(
            "ERR source and destination objects are the same",
        ));
    }
    let Some(e) = ctx.lookup_write(src).map(|e| e.clone()) else {
        return Ok(Frame::Integer(0));
    };
    let now = ctx.now;
    if ctx.st.dbs[dst_db].exists(dst, now) {
        if !replace {
            return Ok(Frame::Integer(0));
        }
        ctx.st.dbs[dst_db].remove(dst);
    }
    ctx.st.dbs[dst_db].insert_entry(dst.clone(), e);
    ctx.modified_db(dst, notify::GENERIC, "copy_to", dst_db);
    Ok(Frame::Integer(1))
}

fn dbsize(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(ctx.db().len() as i64))
}

fn flush_opt(a: &[Bytes]) -> Result<(), Frame> {
    match a.len() {
        1 => Ok(()),
        2 if is(&a[1], "async") || is(&a[1], "sync") => Ok(()),
        _ => Err(syntax_err()),
    }
}

fn flushdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_opt(a)?;
    let db = ctx.client.db;
    ctx.st.touch_all_watched_in_db(Some(db), ctx.client);
    let n = ctx.st.dbs[db].clear();
    ctx.st.dirty += n as u64;
    // propagated even when nothing was removed (forceCommandPropagation)
    ctx.propagate_as(vec![a.to_vec()]);
    Ok(Frame::ok())
}

/// Empties every database (FLUSHALL; also used by DEBUG RELOAD-like paths).
pub fn flush_all(ctx: &mut Ctx) -> usize {
    ctx.st.touch_all_watched_in_db(None, ctx.client);
    let mut n = 0;
    for db in ctx.st.dbs.iter_mut() {
        n += db.clear();
    }
    n
}

fn flushall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_opt(a)?;
    let n = flush_all(ctx);
    // With save points, Redis 7.0 writes the (now empty) snapshot at once
    // so an old dump cannot bring the data back after a restart.
    if !ctx.st.config.save_params.is_empty() {
        crate::persistence::bgsave_kill(ctx.st);
        let _ = crate::persistence::save(ctx.shared, ctx.st);
    }
    // Redis counts FLUSHALL as one change beyond the keys it removed
    ctx.st.dirty += n as u64 + 1;
    ctx.propagate_as(vec![a.to_vec()]);
    Ok(Frame::ok())
}

fn swapdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let x = parse_i64(&a[1]).ok_or_else(|| Frame::err("ERR invalid first DB index"))?;
    let y = parse_i64(&a[2]).ok_or_else(|| Frame::err("ERR invalid second DB index"))?;
    let n = ctx.st.dbs.len() as i64;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(Frame::err("ERR DB index is out of range"));
    }
    let (x, y) = (x as usize, y as usize);
    if x != y {
        ctx.st.dbs.swap(x, y);
        ctx.st.touch_all_watched_in_db(Some(x), ctx.client);
        ctx.st.touch_all_watched_in_db(Some(y), ctx.client);
        // clients blocked on keys of either db may now be served
        let waiting: Vec<(usize, Bytes)> = ctx
            .st
            .blocking_keys
            .keys()
            .filter(|(d, _)| *d == x || *d == y)
            .cloned()
            .collect();
        for (d, k) in waiting {
            ctx.st.signal_ready(d, &k);
        }
        ctx.st.dirty += 1;
    }
    Ok(Frame::ok())
}

/// The encoding name OBJECT ENCODING reports for a value, following Redis
/// 7.0's conversion thresholds (the families own their rules).
pub fn encoding_of(c: &crate::config::Config, e: &Entry) -> &'static str {
    match &e.value {
        Value::Str(s) => {
            if !e.raw && s.len() <= 20 && parse_i64(s).is_some() {
                "int"
            } else if !e.raw && s.len() <= 44 {
                "embstr"
            } else {
                "raw"
            }
        }
        Value::List(_) => "quicklist",
        Value::Hash(h) => {
            if super::hashes::is_listpack(h, c.hash_max_listpack_entries, c.hash_max_listpack_value)
            {
                "listpack"
            } else {
                "hashtable"
            }
        }
        Value::Set(s) => {
            if super::sets::is_intset(s.iter(), c.set_max_intset_entries) {
                "intset"
            } else {
                "hashtable"
            }
        }
        Value::ZSet(z) => z.encoding(),
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

fn object(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    if sub == "help" {
        return Ok(super::connection::help_reply(OBJECT_HELP));
    }
    if !["encoding", "refcount", "idletime", "freq"].contains(&sub.as_str()) {
        return Err(unknown_sub("object", &a[1]));
    }
    let lfu = ctx.st.config.lfu;
    let now = ctx.now;
    let lru_now = ctx.lru;
    // borrow the entry and the config side by side: no copy of the value
    let db = ctx.client.db;
    let st = &mut *ctx.st;
    let Some(e) = st.dbs[db].peek(&a[2], now) else {
        return Ok(Frame::Null);
    };
    let e: &Entry = e;
    match sub.as_str() {
        "encoding" => Ok(Frame::bulk(encoding_of(&st.config, e))),
        "refcount" => {
            // small integers are shared objects in Redis
            let shared = matches!(&e.value, Value::Str(s) if !e.raw && parse_i64(s).map(|v| (0..10000).contains(&v)).unwrap_or(false));
            Ok(Frame::Integer(if shared { i32::MAX as i64 } else { 1 }))
        }
        "idletime" => {
            if lfu {
                return Err(Frame::err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            Ok(Frame::Integer(lru_now.saturating_sub(e.lru) as i64))
        }
        _ => {
            if !lfu {
                return Err(Frame::err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."));
            }
            Ok(Frame::Integer(
                crate::db::lfu_decayed(e.lru, now, st.config.lfu_decay_time) as i64,
            ))
        }
    }
}

/// DUMP: the value serialized as Redis 7.0 does (RDB body, version, CRC64).
fn dump(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let compress = ctx.st.config.get("rdbcompression") != Some("no");
    Ok(match ctx.lookup_read(&a[1]) {
        Some(e) => Frame::Bulk(Bytes::from(crate::persistence::rdb::dump_value(
            &e.value, compress,
        ))),
        None => Frame::Null,
    })
}

/// RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f].
fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let key = &a[1];
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < a.len() {
        let more = i + 1 < a.len();
        if is(&a[i], "replace") {
            replace = true;
        } else if is(&a[i], "absttl") {
            absttl = true;
        } else if is(&a[i], "idletime") && more && freq.is_none() {
            let v = arg_i64(&a[i + 1])?;
            if v < 0 {
                return Err(Frame::err("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            i += 1;
        } else if is(&a[i], "freq") && more && idle.is_none() {
            let v = arg_i64(&a[i + 1])?;
            if !(0..=255).contains(&v) {
                return Err(Frame::err(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            i += 1;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    let ttl = arg_i64(&a[2])?;
    if ttl < 0 {
        return Err(Frame::err("ERR Invalid TTL value, must be >= 0"));
    }
    if !replace && ctx.lookup_write(key).is_some() {
        return Err(Frame::err("BUSYKEY Target key name already exists."));
    }
    let value = match crate::persistence::rdb::restore_value(&a[3]) {
        Ok(v) => v,
        Err(crate::persistence::rdb::RestoreError::VersionOrChecksum) => {
            return Err(Frame::err("ERR DUMP payload version or checksum are wrong"))
        }
        Err(crate::persistence::rdb::RestoreError::BadFormat) => {
            return Err(Frame::err("ERR Bad data format"))
        }
    };
    let at = if ttl == 0 {
        None
    } else if absttl {
        Some(ttl)
    } else {
        Some(
            ttl.checked_add(ctx.now)
                .ok_or_else(|| Frame::err("ERR Invalid TTL value, must be >= 0"))?,
        )
    };
    let deleted = replace && ctx.delete(key);
    if let Some(at) = at {
        if at <= ctx.now {
            // already expired: Redis answers OK and keeps nothing
            if deleted {
                ctx.modified(key, notify::GENERIC, "del");
            }
            return Ok(Frame::ok());
        }
    }
    let mut e = Entry::new(value, ctx.lru);
    if let Some(at) = at {
        e.expire = at;
    }
    if let Some(secs) = idle {
        // the LRU clock counts seconds since start
        e.lru = ctx.lru.saturating_sub(secs.min(u32::MAX as i64) as u32);
    }
    if let Some(f) = freq {
        if ctx.st.config.lfu {
            e.lru = (ctx.lru & !0xff) | f as u32;
        }
    }
    ctx.db().insert_entry(key.clone(), e);
    ctx.modified(key, notify::GENERIC, "restore");
    Ok(Frame::ok())
}
