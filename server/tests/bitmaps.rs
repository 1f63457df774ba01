//! Bitmap commands where a redis-cli script cannot look (the script
//! `scripts/bitmaps.txt` covers replies and errors): what reaches the AOF
//! and replicas, keyspace notifications, the exact nil frame of a refused
//! BITFIELD overflow, and the default 512 MB offset limit.

mod common;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// The INCR files named by the AOF manifest, concatenated, CRLF as spaces.
fn aof_incr(dir: &Path) -> String {
    let aof = dir.join("appendonlydir");
    let manifest = std::fs::read_to_string(aof.join("appendonly.aof.manifest")).unwrap_or_default();
    let mut out = Vec::new();
    for line in manifest.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() >= 6 && parts[5] == "i" {
            out.extend(std::fs::read(aof.join(parts[1])).unwrap());
        }
    }
    String::from_utf8_lossy(&out).replace("\r\n", " ")
}

/// Writes that change something, and commands that Redis does not
/// propagate because they change nothing.
const WRITES: &[&[&str]] = &[
    &["SETBIT", "b", "7", "1"],
    // the bit is already set: no change, not propagated
    &["SETBIT", "b", "7", "1"],
    // a clear bit in a new byte: the string grows, propagated
    &["SETBIT", "b", "20", "0"],
    // only GETs: not propagated
    &["BITFIELD", "b", "GET", "u8", "0"],
    &["BITFIELD_RO", "b", "GET", "u8", "0"],
    // a write is propagated verbatim, GETs and all
    &["BITFIELD", "b", "GET", "u4", "0", "INCRBY", "u4", "#1", "3"],
    // the same value again, or an increment by 0: no change
    &[
        "BITFIELD", "b", "SET", "u4", "#1", "4", "INCRBY", "i8", "0", "0",
    ],
    // refused by FAIL: the key is created but, as in Redis 7.0, not
    // propagated (nothing counts as a change)
    &[
        "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9",
    ],
    // one refused, one that changes something: propagated
    &[
        "BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9", "SET", "u2", "2", "1",
    ],
    &["BITOP", "NOT", "d", "b"],
    // an empty result deletes the destination
    &["BITOP", "AND", "d", "nokey1", "nokey2"],
    // nothing to delete: not propagated
    &["BITOP", "OR", "d", "nokey1"],
    &["BITCOUNT", "b"],
    &["BITPOS", "b", "1"],
    &["GETBIT", "b", "7"],
    &["SET", "end", "1"],
];

fn run(s: &Server, cmds: &[&[&str]]) {
    let mut c = s.conn();
    for a in cmds {
        let _: redis::Value = redis::cmd(a[0]).arg(&a[1..]).query(&mut c).unwrap();
    }
}

#[test]
fn bitmap_writes_reach_the_aof_as_redis_writes_them() {
    let args = ["--appendonly", "yes", "--appendfsync", "always"];
    let p = Server::start(&args);
    let r = Server::start_redis(&args);
    run(&p, WRITES);
    run(&r, WRITES);
    let ours = aof_incr(p.dir.path());
    assert_eq!(ours, aof_incr(r.dir.path()));
    assert_eq!(
        ours,
        "*2 $6 SELECT $1 0 \
         *4 $6 SETBIT $1 b $1 7 $1 1 \
         *4 $6 SETBIT $1 b $2 20 $1 0 \
         *9 $8 BITFIELD $1 b $3 GET $2 u4 $1 0 $6 INCRBY $2 u4 $2 #1 $1 3 \
         *12 $8 BITFIELD $1 f $8 OVERFLOW $4 FAIL $6 INCRBY $2 u2 $1 0 $1 9 $3 SET $2 u2 $1 2 $1 1 \
         *4 $5 BITOP $3 NOT $1 d $1 b \
         *5 $5 BITOP $3 AND $1 d $6 nokey1 $6 nokey2 \
         *3 $3 SET $3 end $1 1 "
    );
}

fn info_field(s: &Server, section: &str, name: &str) -> String {
    let mut c = s.conn();
    let i: String = q(&mut c, &["INFO", section]);
    i.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or("")
        .trim()
        .to_string()
}

#[test]
fn a_redis_replica_of_a_picket_master_gets_the_same_bitmaps() {
    let m = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let r = Server::start_redis(&[]);
    let mut rc = r.conn();
    let _: () = q(&mut rc, &["REPLICAOF", "127.0.0.1", &m.port.to_string()]);
    run(&m, WRITES);
    let t = Instant::now();
    loop {
        let up = info_field(&r, "replication", "master_link_status") == "up";
        let off = info_field(&r, "replication", "master_repl_offset");
        if up && off == info_field(&m, "replication", "master_repl_offset") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "replica not synced");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut mc = m.conn();
    for k in ["b", "f", "d", "end"] {
        let want: Option<Vec<u8>> = q(&mut mc, &["GET", k]);
        let got: Option<Vec<u8>> = q(&mut rc, &["GET", k]);
        assert_eq!(got, want, "key {k}");
    }
    let keys: i64 = q(&mut rc, &["DBSIZE"]);
    assert_eq!(keys, 3);
}

/// Subscribes to every keyevent of db 0, runs `cmds`, and returns the
/// events as "event:key" up to the final `SET end`.
fn events(s: &Server, cmds: &[&[&str]]) -> String {
    let mut sub = s.raw();
    assert!(sub
        .call(&["PSUBSCRIBE", "__keyevent@0__:*"])
        .contains("psubscribe"));
    run(s, cmds);
    keyevents_until_end(&mut sub)
}

#[test]
fn keyspace_events_match_redis() {
    let args = ["--notify-keyspace-events", "KEAm"];
    let p = Server::start(&args);
    let r = Server::start_redis(&args);
    let ours = events(&p, WRITES);
    assert_eq!(ours, events(&r, WRITES));
    assert_eq!(
        ours,
        "setbit:b setbit:b setbit:b setbit:f set:d keymiss:nokey1 keymiss:nokey2 del:d \
         keymiss:nokey1 set:end"
    );
}

#[test]
fn a_refused_overflow_is_a_null_in_resp2_and_resp3() {
    let p = Server::start(&[]);
    let r = Server::start_redis(&[]);
    for s in [&p, &r] {
        let mut c = s.raw();
        let cmd = [
            "BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "200",
        ];
        assert_eq!(c.call(&cmd), "*1\r\n$-1\r\n");
        assert!(c.call(&["HELLO", "3"]).starts_with('%'));
        assert_eq!(c.call(&cmd), "*1\r\n_\r\n");
        assert_eq!(c.call(&["STRLEN", "k"]), ":1\r\n");
    }
}

#[test]
fn offsets_stop_at_the_default_512mb_limit() {
    let p = Server::start(&[]);
    let mut c = p.conn();
    // reads at the last addressable bit allocate nothing
    let bit: i64 = q(&mut c, &["GETBIT", "k", "4294967295"]);
    assert_eq!(bit, 0);
    let v: Vec<i64> = q(&mut c, &["BITFIELD", "k", "GET", "u8", "#536870911"]);
    assert_eq!(v, vec![0]);
    let err = "bit offset is not an integer or out of range";
    for a in [
        &["SETBIT", "k", "4294967296", "1"][..],
        &["GETBIT", "k", "4294967296"],
        &["BITFIELD", "k", "SET", "u8", "#536870912", "1"],
        &["BITFIELD_RO", "k", "GET", "i64", "#67108864"],
    ] {
        assert!(qerr(&mut c, a).contains(err), "{a:?}");
    }
    let n: i64 = q(&mut c, &["EXISTS", "k"]);
    assert_eq!(n, 0);
}

#[test]
fn hostile_bitfield_arguments_get_an_answer() {
    let p = Server::start(&[]);
    let mut c = p.raw();
    c.call(&["SET", "s", "abc"]);
    c.call(&["RPUSH", "l", "a"]);
    let types = ["i64", "u63", "i1", "u1", "u64", "i65", "i", ""];
    let offsets = [
        "0",
        "#9223372036854775807",
        "#-9223372036854775808",
        "9223372036854775807",
        "#2305843009213693953",
        "#144115188075855873",
        "#",
    ];
    let values = ["9223372036854775807", "-9223372036854775808", "-1", "x"];
    let mut calls = 0;
    for key in ["s", "l", "nokey"] {
        for t in types {
            for off in offsets {
                for (i, v) in values.iter().enumerate() {
                    let ow = ["WRAP", "SAT", "FAIL", "BOGUS"][(calls + i) % 4];
                    for cmd in ["BITFIELD", "BITFIELD_RO"] {
                        let op = ["GET", "SET", "INCRBY"][calls % 3];
                        let mut a = vec![cmd, key, "OVERFLOW", ow, op, t, off];
                        if op != "GET" {
                            a.push(v);
                        }
                        let reply = c.call(&a);
                        assert!(!reply.is_empty(), "no reply to {a:?}");
                        calls += 1;
                    }
                }
            }
        }
    }
    assert_eq!(c.call(&["PING"]), "+PONG\r\n");
    // the wrapped #N offsets stayed small; nothing past the limit was allocated
    let len = c.call(&["STRLEN", "nokey"]);
    assert!(len == ":0\r\n" || len.len() <= 6, "{len}");
}
