//! Key-space commands: DEL..OBJECT, expiry (lazy and active), SCAN.

mod common;
use common::*;
use std::collections::HashSet;
use std::time::Duration;

#[test]
fn del_exists_type_touch_unlink() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "a", "zz"]), 2);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "zz"]), "none");
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "a", "zz"]), 1);
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "zz"]), 1);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn expire_options_nx_xx_gt_lt() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "XX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100", "NX"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "200", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "50", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "150", "GT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "300", "LT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "120", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), 120);
    assert!(q::<i64>(&mut c, &["PTTL", "k"]) > 119_000);
    assert_eq!(
        qerr(&mut c, &["EXPIRE", "k", "1", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        qerr(&mut c, &["EXPIRE", "k", "1", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        qerr(&mut c, &["EXPIRE", "k", "1", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        qerr(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "nokey"]), -2);
    // LT on a key without TTL sets it (no TTL counts as infinite)
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "10", "LT"]), 1);
    let at: i64 = q(&mut c, &["EXPIRETIME", "k"]);
    let pat: i64 = q(&mut c, &["PEXPIRETIME", "k"]);
    assert_eq!(at, pat / 1000);
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", "1000"]), 1);
    assert_eq!(
        q::<i64>(&mut c, &["EXISTS", "k"]),
        0,
        "a past deadline deletes the key"
    );
}

#[test]
fn lazy_expiry_hides_dead_keys() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut c, &["SET", "k", "v", "PX", "50"]);
    std::thread::sleep(Duration::from_millis(120));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]), None);
}

#[test]
fn active_expiry_reclaims_keys_without_reads() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for i in 0..500 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v", "PX", "100"]);
    }
    let _: () = q(&mut c, &["SET", "keep", "v"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = q(&mut c, &["INFO", "keyspace"]);
        if info.contains("db0:keys=1,") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "keys were not reclaimed: {info}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert!(stats.contains("expired_keys:500"), "{stats}");
}

#[test]
fn keys_scan_and_randomkey() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for i in 0..100 {
        let _: () = q(&mut c, &["SET", &format!("user:{i}"), "x"]);
    }
    let _: () = q(&mut c, &["SET", "other", "a"]);
    let mut k: Vec<String> = q(&mut c, &["KEYS", "user:1?"]);
    k.sort();
    assert_eq!(k.len(), 10);
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) =
            q(&mut c, &["SCAN", &cursor, "MATCH", "user:*", "COUNT", "7"]);
        seen.extend(keys);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 100);
    assert_eq!(qerr(&mut c, &["SCAN", "abc"]), "ERR invalid cursor");
    assert_eq!(
        qerr(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    let r: Option<String> = q(&mut c, &["RANDOMKEY"]);
    assert!(r.is_some());
    let _: () = q(&mut c, &["FLUSHDB"]);
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
}

#[test]
fn scan_type_filter() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.call(&["SET", "s", "1"]);
    r.call(&["SET", "t", "2"]);
    let reply = r.call(&["SCAN", "0", "TYPE", "string", "COUNT", "100"]);
    assert!(
        reply.contains("$1\r\ns\r\n") && reply.contains("$1\r\nt\r\n"),
        "{reply}"
    );
    let reply = r.call(&["SCAN", "0", "TYPE", "hash", "COUNT", "100"]);
    assert_eq!(reply, "*2\r\n$1\r\n0\r\n*0\r\n");
}

#[test]
fn rename_move_copy_swapdb() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "a", "1", "EX", "100"]);
    assert_eq!(qerr(&mut c, &["RENAME", "nokey", "b"]), "ERR no such key");
    let _: () = q(&mut c, &["RENAME", "a", "b"]);
    assert!(q::<i64>(&mut c, &["TTL", "b"]) > 90, "RENAME keeps the TTL");
    let _: () = q(&mut c, &["SET", "c", "3"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "b", "c"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "c", "1"]), 1);
    assert_eq!(
        qerr(&mut c, &["MOVE", "b", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        qerr(&mut c, &["MOVE", "b", "99"]),
        "ERR DB index is out of range"
    );
    assert_eq!(q::<i64>(&mut c, &["COPY", "b", "d"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "b", "d"]), 0);
    assert_eq!(q::<i64>(&mut c, &["COPY", "b", "d", "REPLACE"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "b", "x", "DB", "2"]), 1);
    assert_eq!(
        qerr(&mut c, &["COPY", "b", "b"]),
        "ERR source and destination objects are the same"
    );
    let _: () = q(&mut c, &["SWAPDB", "0", "1"]);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "c"]), Some("3".into()));
    assert_eq!(
        qerr(&mut c, &["SWAPDB", "x", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        qerr(&mut c, &["SWAPDB", "0", "77"]),
        "ERR DB index is out of range"
    );
    let _: () = q(&mut c, &["FLUSHALL"]);
    let _: () = q(&mut c, &["SELECT", "2"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn object_encoding_refcount_idletime_freq() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "i", "123"]);
    let _: () = q(&mut c, &["SET", "e", "hello"]);
    let _: () = q(&mut c, &["SET", "r", &"x".repeat(50)]);
    let _: () = q(&mut c, &["SET", "ap", "a"]);
    let _: i64 = q(&mut c, &["APPEND", "ap", "b"]);
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "i"]), "int");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "e"]), "embstr");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "r"]), "raw");
    assert_eq!(q::<String>(&mut c, &["OBJECT", "ENCODING", "ap"]), "raw");
    assert_eq!(
        q::<Option<String>>(&mut c, &["OBJECT", "ENCODING", "missing"]),
        None
    );
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "i"]), 2147483647);
    assert_eq!(q::<i64>(&mut c, &["OBJECT", "REFCOUNT", "e"]), 1);
    assert!(q::<i64>(&mut c, &["OBJECT", "IDLETIME", "e"]) < 5);
    assert!(qerr(&mut c, &["OBJECT", "FREQ", "e"])
        .starts_with("ERR An LFU maxmemory policy is not selected"));
    assert_eq!(
        qerr(&mut c, &["OBJECT", "FOO", "e"]),
        "ERR unknown subcommand 'FOO'. Try OBJECT HELP."
    );
}

#[test]
fn keyspace_matches_real_redis_through_raw_replies() {
    let script: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["EXPIRE", "a", "100"],
        &["TTL", "a"],
        &["EXPIRE", "a", "100", "NX"],
        &["EXPIRE", "a", "x"],
        &["PERSIST", "a"],
        &["PERSIST", "a"],
        &["TYPE", "a"],
        &["RENAME", "a", "b"],
        &["RENAME", "a", "b"],
        &["RENAMENX", "b", "b"],
        &["EXISTS", "a", "b", "b"],
        &["COPY", "b", "c"],
        &["MOVE", "c", "3"],
        &["MOVE", "c", "3"],
        &["SWAPDB", "0", "16"],
        &["OBJECT", "ENCODING", "b"],
        &["OBJECT", "REFCOUNT", "b"],
        &["DEL", "b", "c", "zz"],
        &["DBSIZE"],
        &["FLUSHDB", "ASYNC"],
        &["FLUSHALL", "FOO"],
        &["SCAN", "0", "MATCH"],
        &["KEYS", "*"],
        &["EXPIRETIME", "nokey"],
        &["PEXPIRE", "nokey", "10"],
        &["SELECT", "1"],
        &["EXISTS", "c"],
    ];
    let p = Server::start(&[]);
    let r = Server::start_redis(&[]);
    let (mut pc, mut rc) = (p.raw(), r.raw());
    for cmd in script {
        assert_eq!(pc.call(cmd), rc.call(cmd), "reply to {cmd:?} differs");
    }
}

#[test]
fn lfu_policy_tracks_access_frequency() {
    let s = Server::start(&["--maxmemory-policy", "allkeys-lfu"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "hot", "1"]);
    let _: () = q(&mut c, &["SET", "cold", "1"]);
    assert_eq!(
        q::<i64>(&mut c, &["OBJECT", "FREQ", "cold"]),
        5,
        "new keys start at LFU_INIT_VAL"
    );
    for _ in 0..200 {
        let _: Option<String> = q(&mut c, &["GET", "hot"]);
    }
    assert!(q::<i64>(&mut c, &["OBJECT", "FREQ", "hot"]) > 5);
    assert!(qerr(&mut c, &["OBJECT", "IDLETIME", "hot"])
        .starts_with("ERR An LFU maxmemory policy is selected"));
}

#[test]
fn overwriting_an_expired_key_counts_it_expired_and_drops_its_ttl() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut c, &["SET", "k", "v", "PX", "30"]);
    std::thread::sleep(Duration::from_millis(80));
    let _: () = q(&mut c, &["SET", "k", "new", "KEEPTTL"]);
    assert_eq!(
        q::<i64>(&mut c, &["TTL", "k"]),
        -1,
        "an expired key's TTL is not kept"
    );
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert!(stats.contains("expired_keys:1\r\n"), "{stats}");
}
