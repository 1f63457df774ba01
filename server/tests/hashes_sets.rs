//! Hash and set families and SORT: replies, errors, counts, events, RESP3
//! shapes, and a differential run against the real redis-server.

mod common;
use common::*;

const WT: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn raw3(s: &Server) -> Raw {
    let mut r = s.raw();
    assert!(r.call(&["HELLO", "3"]).starts_with('%'));
    r
}

/// Whether a key exists, probed with GET (nil = missing, WRONGTYPE = a
/// collection), so the test needs no keyspace family.
fn exists(c: &mut redis::Connection, key: &str) -> bool {
    !matches!(
        redis::cmd("GET").arg(key).query::<Option<String>>(c),
        Ok(None)
    )
}

#[test]
fn hset_hget_hmget_hmset_count_new_fields() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2"]), 2);
    assert_eq!(q::<i64>(&mut c, &["HSET", "h", "a", "10", "c", "3"]), 1);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "a"]), "10");
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "h", "zz"]), None);
    assert_eq!(q::<Option<String>>(&mut c, &["HGET", "nokey", "a"]), None);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "h", "a", "x", "c"]),
        vec![Some("10".into()), None, Some("3".into())]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["HMGET", "nokey", "a", "b"]),
        vec![None, None]
    );
    assert_eq!(q::<String>(&mut c, &["HMSET", "h", "d", "4"]), "OK");
    assert_eq!(q::<i64>(&mut c, &["HLEN", "h"]), 4);
    assert_eq!(q::<i64>(&mut c, &["HLEN", "nokey"]), 0);
    assert_eq!(
        qerr(&mut c, &["HSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hset' command"
    );
    assert_eq!(
        qerr(&mut c, &["HMSET", "h", "a", "1", "b"]),
        "ERR wrong number of arguments for 'hmset' command"
    );
    assert_eq!(
        qerr(&mut c, &["HSET", "h", "a"]),
        "ERR wrong number of arguments for 'hset' command"
    );
}

#[test]
fn hsetnx_hexists_hstrlen() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "f", "v"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HSETNX", "h", "f", "w"]), 0);
    assert_eq!(q::<String>(&mut c, &["HGET", "h", "f"]), "v");
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "f"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "h", "g"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HEXISTS", "nokey", "g"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "f"]), 1);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "h", "g"]), 0);
    assert_eq!(q::<i64>(&mut c, &["HSTRLEN", "nokey", "g"]), 0);
}

#[test]
fn hdel_removes_fields_and_empty_key() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "a", "a", "zz"]), 1);
    assert_eq!(q::<Vec<String>>(&mut c, &["HKEYS", "h"]), vec!["b", "c"]);
    assert_eq!(q::<i64>(&mut c, &["HDEL", "h", "b", "c"]), 2);
    assert!(!exists(&mut c, "h"));
    assert_eq!(q::<i64>(&mut c, &["HDEL", "nokey", "a"]), 0);
}

#[test]
fn hkeys_hvals_hgetall_keep_small_hash_insertion_order() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["HSET", "h", "z", "1", "a", "2", "m", "3"]);
    q::<i64>(&mut c, &["HDEL", "h", "a"]);
    q::<i64>(&mut c, &["HSET", "h", "b", "4"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HKEYS", "h"]),
        vec!["z", "m", "b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HVALS", "h"]),
        vec!["1", "3", "4"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HGETALL", "h"]),
        vec!["z", "1", "m", "3", "b", "4"]
    );
    assert!(q::<Vec<String>>(&mut c, &["HKEYS", "nokey"]).is_empty());
    let mut r = s.raw();
    assert_eq!(r.call(&["HGETALL", "nokey"]), "*0\r\n");
    assert_eq!(
        r.call(&["HGETALL", "h"]),
        "*6\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nm\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n4\r\n"
    );
    let mut r3 = raw3(&s);
    assert_eq!(r3.call(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(
        r3.call(&["HGETALL", "h"]),
        "%3\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\nm\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n4\r\n"
    );
    assert_eq!(r3.call(&["HKEYS", "nokey"]), "*0\r\n");
}

#[test]
fn hincrby_parses_and_detects_overflow() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "5"]), 5);
    assert_eq!(q::<i64>(&mut c, &["HINCRBY", "h", "n", "-7"]), -2);
    q::<i64>(
        &mut c,
        &[
            "HSET",
            "h",
            "s",
            "abc",
            "big",
            "9223372036854775807",
            "sp",
            " 1",
        ],
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBY", "h", "s", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBY", "h", "sp", "1"]),
        "ERR hash value is not an integer"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBY", "h", "big", "1"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBY", "h", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBY", "h", "n", "1.5"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q::<String>(&mut c, &["HGET", "h", "big"]),
        "9223372036854775807"
    );
}

#[test]
fn hincrbyfloat_formats_like_redis() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "10.5"]),
        "10.5"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "0.1"]),
        "10.6"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "f", "-10.6"]),
        "0"
    );
    assert_eq!(
        q::<String>(&mut c, &["HINCRBYFLOAT", "h", "g", "3.0e3"]),
        "3000"
    );
    q::<i64>(&mut c, &["HSET", "h", "s", "abc"]);
    assert_eq!(
        qerr(&mut c, &["HINCRBYFLOAT", "h", "s", "1"]),
        "ERR hash value is not a float"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBYFLOAT", "h", "f", "x"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBYFLOAT", "h", "f", "nan"]),
        "ERR value is not a valid float"
    );
    assert_eq!(
        qerr(&mut c, &["HINCRBYFLOAT", "h", "f", "inf"]),
        "ERR value is NaN or Infinity"
    );
}

#[test]
fn hrandfield_count_semantics_and_resp3_pairs() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2", "c", "3"]);
    let one: String = q(&mut c, &["HRANDFIELD", "h"]);
    assert!(["a", "b", "c"].contains(&one.as_str()));
    assert_eq!(q::<Option<String>>(&mut c, &["HRANDFIELD", "nokey"]), None);
    // positive count: distinct, at most the hash size
    let mut v: Vec<String> = q(&mut c, &["HRANDFIELD", "h", "2"]);
    v.dedup();
    assert_eq!(v.len(), 2);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "10"]),
        vec!["a", "b", "c"]
    );
    // negative count: exactly |count|, repetitions allowed
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "-7"]).len(),
        7
    );
    assert!(q::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "0"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["HRANDFIELD", "nokey", "3"]).is_empty());
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "10", "WITHVALUES"]),
        vec!["a", "1", "b", "2", "c", "3"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["HRANDFIELD", "h", "-4", "withvalues"]).len(),
        8
    );
    assert_eq!(
        qerr(&mut c, &["HRANDFIELD", "h", "1", "withvalue"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["HRANDFIELD", "h", "1", "withvalues", "x"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["HRANDFIELD", "h", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["HRANDFIELD", "h", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    assert_eq!(
        qerr(
            &mut c,
            &["HRANDFIELD", "h", "9223372036854775807", "withvalues"]
        ),
        "ERR value is out of range"
    );
    let mut r3 = raw3(&s);
    assert_eq!(
        r3.call(&["HRANDFIELD", "h", "5", "WITHVALUES"]),
        "*3\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    let neg = r3.call(&["HRANDFIELD", "h", "-2", "WITHVALUES"]);
    assert!(neg.starts_with("*2\r\n*2\r\n"), "{neg}");
    assert_eq!(r3.call(&["HRANDFIELD", "nokey"]), "_\r\n");
}

#[test]
fn hscan_small_hash_whole_big_hash_cursor() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut r = s.raw();
    q::<i64>(&mut c, &["HSET", "h", "a", "1", "b", "2", "ab", "3"]);
    assert_eq!(r.call(&["HSCAN", "h", "0", "COUNT", "1"]), "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n");
    assert_eq!(
        r.call(&["HSCAN", "h", "0", "MATCH", "a*"]),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        r.call(&["HSCAN", "nokey", "0", "COUNT", "0"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(r.call(&["HSCAN", "h", "x"]), "-ERR invalid cursor\r\n");
    assert_eq!(r.call(&["HSCAN", "h", " 0"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.call(&["HSCAN", "h", "0", "COUNT", "0"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.call(&["HSCAN", "h", "0", "COUNT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        r.call(&["HSCAN", "h", "0", "TYPE", "string"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        r.call(&["HSCAN", "h", "0", "MATCH"]),
        "-ERR syntax error\r\n"
    );
    // a hash above hash-max-listpack-entries is walked with a cursor
    let mut args = vec!["HSET".to_string(), "big".to_string()];
    for i in 0..600 {
        args.push(format!("f{i}"));
        args.push(i.to_string());
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(q::<i64>(&mut c, &argv), 600);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["HSCAN", "big", &cursor, "COUNT", "50"]);
        calls += 1;
        for p in items.chunks(2) {
            assert_eq!(p[0], format!("f{}", p[1]));
            seen.insert(p[0].clone());
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 600);
    assert!(calls > 1);
    // a long value also makes a hash non-listpack
    let long = "x".repeat(65);
    q::<i64>(&mut c, &["HSET", "lv", "a", &long, "b", "1"]);
    let (next, items): (String, Vec<String>) = q(&mut c, &["HSCAN", "lv", "0", "COUNT", "1"]);
    assert_ne!(next, "0");
    assert_eq!(items.len(), 2);
}

#[test]
fn hash_commands_refuse_other_types() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "str", "x"]);
    for cmd in [
        vec!["HSET", "str", "a", "1"],
        vec!["HSETNX", "str", "a", "1"],
        vec!["HGET", "str", "a"],
        vec!["HMGET", "str", "a"],
        vec!["HMSET", "str", "a", "1"],
        vec!["HDEL", "str", "a"],
        vec!["HLEN", "str"],
        vec!["HEXISTS", "str", "a"],
        vec!["HKEYS", "str"],
        vec!["HVALS", "str"],
        vec!["HGETALL", "str"],
        vec!["HINCRBY", "str", "a", "1"],
        vec!["HINCRBYFLOAT", "str", "a", "1"],
        vec!["HSTRLEN", "str", "a"],
        vec!["HRANDFIELD", "str"],
        vec!["HRANDFIELD", "str", "2"],
        vec!["HSCAN", "str", "0"],
    ] {
        assert_eq!(qerr(&mut c, &cmd), WT, "{cmd:?}");
    }
    assert_eq!(q::<String>(&mut c, &["GET", "str"]), "x");
}

#[test]
fn sadd_srem_sismember_smismember_scard() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "a", "b", "a"]), 2);
    assert_eq!(q::<i64>(&mut c, &["SADD", "s", "b", "c"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 3);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "nokey"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "s", "z"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SISMEMBER", "nokey", "z"]), 0);
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "s", "a", "z", "c"]),
        vec![1, 0, 1]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["SMISMEMBER", "nokey", "a"]),
        vec![0]
    );
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "a", "z", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SREM", "nokey", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SREM", "s", "b", "c"]), 2);
    assert!(!exists(&mut c, "s"));
}

#[test]
fn smembers_sorts_intsets_and_is_a_resp3_set() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "10", "-5", "3", "1"]);
    let mut r = s.raw();
    assert_eq!(
        r.call(&["SMEMBERS", "s"]),
        "*4\r\n$2\r\n-5\r\n$1\r\n1\r\n$1\r\n3\r\n$2\r\n10\r\n"
    );
    assert_eq!(r.call(&["SMEMBERS", "nokey"]), "*0\r\n");
    let mut r3 = raw3(&s);
    assert_eq!(
        r3.call(&["SMEMBERS", "s"]),
        "~4\r\n$2\r\n-5\r\n$1\r\n1\r\n$1\r\n3\r\n$2\r\n10\r\n"
    );
    assert_eq!(r3.call(&["SMEMBERS", "nokey"]), "~0\r\n");
    q::<i64>(&mut c, &["SADD", "m", "x", "y"]);
    let mut v: Vec<String> = q(&mut c, &["SMEMBERS", "m"]);
    v.sort();
    assert_eq!(v, vec!["x", "y"]);
}

#[test]
fn spop_single_and_count() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "1", "2", "3", "4", "5"]);
    let one: String = q(&mut c, &["SPOP", "s"]);
    assert!(["1", "2", "3", "4", "5"].contains(&one.as_str()));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 4);
    assert_eq!(q::<Vec<String>>(&mut c, &["SPOP", "s", "2"]).len(), 2);
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 2);
    assert!(q::<Vec<String>>(&mut c, &["SPOP", "s", "0"]).is_empty());
    assert_eq!(q::<Vec<String>>(&mut c, &["SPOP", "s", "10"]).len(), 2);
    assert!(!exists(&mut c, "s"));
    assert_eq!(q::<Option<String>>(&mut c, &["SPOP", "nokey"]), None);
    assert!(q::<Vec<String>>(&mut c, &["SPOP", "nokey", "3"]).is_empty());
    assert_eq!(
        qerr(&mut c, &["SPOP", "s", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        qerr(&mut c, &["SPOP", "s", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(qerr(&mut c, &["SPOP", "s", "1", "2"]), "ERR syntax error");
    q::<i64>(&mut c, &["SADD", "one", "x"]);
    assert_eq!(q::<String>(&mut c, &["SPOP", "one"]), "x");
    assert!(!exists(&mut c, "one"));
    let mut r3 = raw3(&s);
    assert_eq!(r3.call(&["SPOP", "nokey", "3"]), "~0\r\n");
    r3.call(&["SADD", "t", "3", "1", "2"]);
    assert_eq!(
        r3.call(&["SPOP", "t", "3"]),
        "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(r3.call(&["SPOP", "nokey"]), "_\r\n");
}

#[test]
fn srandmember_count_semantics() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "a", "b", "c"]);
    let m: String = q(&mut c, &["SRANDMEMBER", "s"]);
    assert!(["a", "b", "c"].contains(&m.as_str()));
    assert_eq!(q::<i64>(&mut c, &["SCARD", "s"]), 3);
    let mut v: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "2"]);
    v.sort();
    v.dedup();
    assert_eq!(v.len(), 2);
    let mut all: Vec<String> = q(&mut c, &["SRANDMEMBER", "s", "5"]);
    all.sort();
    assert_eq!(all, vec!["a", "b", "c"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SRANDMEMBER", "s", "-6"]).len(),
        6
    );
    assert!(q::<Vec<String>>(&mut c, &["SRANDMEMBER", "s", "0"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["SRANDMEMBER", "nokey", "2"]).is_empty());
    assert_eq!(q::<Option<String>>(&mut c, &["SRANDMEMBER", "nokey"]), None);
    assert_eq!(
        qerr(&mut c, &["SRANDMEMBER", "s", "1", "2"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["SRANDMEMBER", "s", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["SRANDMEMBER", "s", "-9223372036854775808"]),
        "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    );
    let mut r3 = raw3(&s);
    r3.call(&["SADD", "i", "2", "1"]);
    assert_eq!(
        r3.call(&["SRANDMEMBER", "i", "9"]),
        "*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(r3.call(&["SRANDMEMBER", "nokey", "9"]), "*0\r\n");
}

#[test]
fn smove_moves_and_checks_types() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "a", "1", "2"]);
    q::<i64>(&mut c, &["SADD", "b", "3"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a", "b", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a", "b", "9"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a", "a", "2"]), 1);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a", "a", "9"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "a", "new", "2"]), 1);
    assert!(!exists(&mut c, "a"));
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "new"]), vec!["2"]);
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "b"]), vec!["1", "3"]);
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert_eq!(q::<i64>(&mut c, &["SMOVE", "nokey", "str", "1"]), 0);
    assert_eq!(qerr(&mut c, &["SMOVE", "b", "str", "1"]), WT);
    assert_eq!(qerr(&mut c, &["SMOVE", "str", "b", "1"]), WT);
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "b"]), vec!["1", "3"]);
}

#[test]
fn sinter_sunion_sdiff_and_store_variants() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "a", "1", "2", "3", "4"]);
    q::<i64>(&mut c, &["SADD", "b", "3", "4", "5"]);
    q::<i64>(&mut c, &["SADD", "c", "4", "6"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SINTER", "a", "b"]),
        vec!["3", "4"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SINTER", "a", "b", "c"]),
        vec!["4"]
    );
    assert!(q::<Vec<String>>(&mut c, &["SINTER", "a", "nokey"]).is_empty());
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SUNION", "a", "b", "nokey"]),
        vec!["1", "2", "3", "4", "5"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SDIFF", "a", "b", "nokey"]),
        vec!["1", "2"]
    );
    assert!(q::<Vec<String>>(&mut c, &["SDIFF", "nokey", "a"]).is_empty());
    assert_eq!(q::<i64>(&mut c, &["SINTERSTORE", "d", "a", "b"]), 2);
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "d"]), vec!["3", "4"]);
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "d", "b", "c"]), 4);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SMEMBERS", "d"]),
        vec!["3", "4", "5", "6"]
    );
    assert_eq!(q::<i64>(&mut c, &["SDIFFSTORE", "d", "a", "b", "c"]), 2);
    assert_eq!(q::<Vec<String>>(&mut c, &["SMEMBERS", "d"]), vec!["1", "2"]);
    // an empty result deletes the destination
    assert_eq!(q::<i64>(&mut c, &["SINTERSTORE", "d", "a", "nokey"]), 0);
    assert!(!exists(&mut c, "d"));
    let _: () = q(&mut c, &["SET", "d", "string"]);
    assert_eq!(q::<i64>(&mut c, &["SDIFFSTORE", "d", "a", "a"]), 0);
    assert!(!exists(&mut c, "d"));
    // the destination may be a source and may hold another type
    let _: () = q(&mut c, &["SET", "d", "string"]);
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "d", "c"]), 2);
    assert_eq!(q::<i64>(&mut c, &["SUNIONSTORE", "c", "c", "b"]), 4);
    // a missing key still lets later keys be type-checked
    let _: () = q(&mut c, &["SET", "str", "x"]);
    for cmd in ["SINTER", "SUNION", "SDIFF"] {
        assert_eq!(qerr(&mut c, &[cmd, "nokey", "str"]), WT);
    }
    for cmd in ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"] {
        assert_eq!(qerr(&mut c, &[cmd, "d", "nokey", "str"]), WT);
    }
    let mut r3 = raw3(&s);
    assert_eq!(
        r3.call(&["SINTER", "a", "b"]),
        "~2\r\n$1\r\n3\r\n$1\r\n4\r\n"
    );
    assert_eq!(r3.call(&["SINTER", "a", "nokey"]), "~0\r\n");
    assert_eq!(r3.call(&["SDIFF", "nokey", "a"]), "~0\r\n");
}

#[test]
fn sintercard_numkeys_and_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "a", "1", "2", "3", "4"]);
    q::<i64>(&mut c, &["SADD", "b", "2", "3", "4", "5"]);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b"]), 3);
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "2"]),
        2
    );
    assert_eq!(
        q::<i64>(&mut c, &["SINTERCARD", "2", "a", "b", "LIMIT", "0"]),
        3
    );
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "1", "a"]), 4);
    assert_eq!(q::<i64>(&mut c, &["SINTERCARD", "2", "a", "nokey"]), 0);
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "0", "a"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "x", "a"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "3", "a", "b"]),
        "ERR Number of keys can't be greater than number of args"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "1", "a", "LIMIT", "-1"]),
        "ERR LIMIT can't be negative"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "1", "a", "LIMIT", "x"]),
        "ERR LIMIT can't be negative"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "1", "a", "LIMIT"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["SINTERCARD", "1", "a", "foo"]),
        "ERR syntax error"
    );
    let _: () = q(&mut c, &["SET", "str", "x"]);
    assert_eq!(qerr(&mut c, &["SINTERCARD", "2", "nokey", "str"]), WT);
}

#[test]
fn sscan_intset_whole_and_big_set_cursor() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let mut r = s.raw();
    q::<i64>(&mut c, &["SADD", "i", "12", "3", "1"]);
    assert_eq!(
        r.call(&["SSCAN", "i", "5", "COUNT", "1"]),
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n3\r\n$2\r\n12\r\n"
    );
    assert_eq!(
        r.call(&["SSCAN", "i", "0", "MATCH", "1*"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n12\r\n"
    );
    assert_eq!(r.call(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(r.call(&["SSCAN", "i", "-x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        r.call(&["SSCAN", "i", "0", "COUNT", "-1"]),
        "-ERR syntax error\r\n"
    );
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut argv = vec!["SADD", "big"];
    argv.extend(members.iter().map(|s| s.as_str()));
    assert_eq!(q::<i64>(&mut c, &argv), 300);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) =
            q(&mut c, &["SSCAN", "big", &cursor, "COUNT", "25"]);
        seen.extend(items);
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
}

#[test]
fn set_commands_refuse_other_types() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "str", "x"]);
    q::<i64>(&mut c, &["HSET", "h", "a", "1"]);
    for cmd in [
        vec!["SADD", "str", "a"],
        vec!["SREM", "str", "a"],
        vec!["SISMEMBER", "str", "a"],
        vec!["SMISMEMBER", "str", "a"],
        vec!["SMEMBERS", "str"],
        vec!["SCARD", "h"],
        vec!["SPOP", "str"],
        vec!["SPOP", "str", "2"],
        vec!["SRANDMEMBER", "str"],
        vec!["SRANDMEMBER", "str", "2"],
        vec!["SINTER", "str"],
        vec!["SINTERCARD", "1", "str"],
        vec!["SSCAN", "str", "0"],
        vec!["SORT", "str"],
        vec!["SORT", "h"],
        vec!["SORT_RO", "str"],
    ] {
        assert_eq!(qerr(&mut c, &cmd), WT, "{cmd:?}");
    }
}

#[test]
fn sort_sets_numeric_alpha_desc_limit() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "10", "2", "-3", "1.5", "1e1"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s"]),
        vec!["-3", "1.5", "2", "10", "1e1"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "DESC"]),
        vec!["1e1", "10", "2", "1.5", "-3"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "ALPHA"]),
        vec!["-3", "1.5", "10", "1e1", "2"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "LIMIT", "1", "2"]),
        vec!["1.5", "2"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "LIMIT", "-5", "2"]),
        vec!["-3", "1.5"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "LIMIT", "3", "-1"]),
        vec!["10", "1e1"]
    );
    assert!(q::<Vec<String>>(&mut c, &["SORT", "s", "LIMIT", "100", "2"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["SORT", "s", "LIMIT", "0", "0"]).is_empty());
    assert!(q::<Vec<String>>(&mut c, &["SORT", "nokey"]).is_empty());
    q::<i64>(&mut c, &["SADD", "bad", "1", "x"]);
    assert_eq!(
        qerr(&mut c, &["SORT", "bad"]),
        "ERR One or more scores can't be converted into double"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "bad", "ALPHA"]),
        vec!["1", "x"]
    );
    assert_eq!(
        qerr(&mut c, &["SORT", "s", "LIMIT", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["SORT", "s", "LIMIT", "1"]),
        "ERR syntax error"
    );
    assert_eq!(qerr(&mut c, &["SORT", "s", "FOO"]), "ERR syntax error");
    assert_eq!(qerr(&mut c, &["SORT", "s", "STORE"]), "ERR syntax error");
    assert_eq!(
        qerr(&mut c, &["SORT_RO", "s", "STORE", "d"]),
        "ERR syntax error"
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT_RO", "s", "DESC", "LIMIT", "0", "1"]),
        vec!["1e1"]
    );
}

#[test]
fn sort_by_and_get_patterns() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "1", "2", "3"]);
    let _: () = q(
        &mut c,
        &[
            "MSET", "w_1", "30", "w_2", "10", "w_3", "20", "n_1", "one", "n_3", "three",
        ],
    );
    q::<i64>(&mut c, &["HSET", "h_1", "f", "c"]);
    q::<i64>(&mut c, &["HSET", "h_2", "f", "a"]);
    q::<i64>(&mut c, &["HSET", "h_3", "f", "b"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "BY", "w_*"]),
        vec!["2", "3", "1"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "BY", "h_*->f", "ALPHA"]),
        vec!["2", "3", "1"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "BY", "h_*->f", "ALPHA", "DESC"]),
        vec!["1", "3", "2"]
    );
    // missing weights count as 0, ties broken by the element
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "BY", "missing_*"]),
        vec!["1", "2", "3"]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(
            &mut c,
            &[
                "SORT", "s", "BY", "w_*", "GET", "#", "GET", "n_*", "GET", "h_*->f", "GET",
                "nostar"
            ]
        ),
        vec![
            Some("2".into()),
            None,
            Some("a".into()),
            None,
            Some("3".into()),
            Some("three".into()),
            Some("b".into()),
            None,
            Some("1".into()),
            Some("one".into()),
            Some("c".into()),
            None
        ]
    );
    // BY without '*' does not sort: an intset keeps its order
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "s", "BY", "nosort", "LIMIT", "1", "5"]),
        vec!["2", "3"]
    );
    let _: () = q(&mut c, &["SET", "w_2", "abc"]);
    assert_eq!(
        qerr(&mut c, &["SORT", "s", "BY", "w_*"]),
        "ERR One or more scores can't be converted into double"
    );
    // a GET of a field of a non-hash, or a non-string key, is nil
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["SORT", "s", "GET", "w_*->f", "LIMIT", "0", "1"]),
        vec![None]
    );
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["SORT", "s", "GET", "h_*", "LIMIT", "0", "1"]),
        vec![None]
    );
}

#[test]
fn sort_store_writes_a_list_and_deletes_on_empty() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["SADD", "s", "3", "1", "2"]);
    let _: () = q(&mut c, &["SET", "dst", "old"]);
    assert_eq!(q::<i64>(&mut c, &["SORT", "s", "DESC", "STORE", "dst"]), 3);
    // the stored list sorts back in its native order with BY nosort
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "dst", "BY", "nosort"]),
        vec!["3", "2", "1"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "dst", "BY", "nosort", "DESC"]),
        vec!["1", "2", "3"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "dst", "BY", "nosort", "DESC", "LIMIT", "1", "1"]
        ),
        vec!["2"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "dst", "BY", "nosort", "LIMIT", "1", "-1"]),
        vec!["2", "1"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "dst"]),
        vec!["1", "2", "3"]
    );
    // GET with STORE: missing values become empty strings
    assert_eq!(
        q::<i64>(
            &mut c,
            &["SORT", "s", "GET", "#", "GET", "nope_*", "STORE", "d2"]
        ),
        6
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "d2", "BY", "nosort"]),
        vec!["1", "", "2", "", "3", ""]
    );
    // BY nosort + STORE on a set is sorted (alpha) for determinism
    q::<i64>(&mut c, &["SADD", "w", "b", "c", "a"]);
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "w", "BY", "nosort", "STORE", "d3"]),
        3
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "d3", "BY", "nosort"]),
        vec!["a", "b", "c"]
    );
    // empty result deletes the destination
    assert_eq!(q::<i64>(&mut c, &["SORT", "nokey", "STORE", "dst"]), 0);
    assert!(!exists(&mut c, "dst"));
    assert_eq!(
        q::<i64>(&mut c, &["SORT", "s", "LIMIT", "5", "5", "STORE", "d2"]),
        0
    );
    assert!(!exists(&mut c, "d2"));
}

#[test]
fn sort_sorted_sets_when_zadd_is_available() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["ZADD", "z", "3", "c", "1", "a", "2", "b"]);
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "BY", "nosort"]),
        vec!["a", "b", "c"]
    );
    assert_eq!(
        q::<Vec<String>>(
            &mut c,
            &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "1"]
        ),
        vec!["b"]
    );
    assert_eq!(
        q::<Vec<String>>(&mut c, &["SORT", "z", "ALPHA", "DESC"]),
        vec!["c", "b", "a"]
    );
    assert_eq!(
        qerr(&mut c, &["SORT", "z"]),
        "ERR One or more scores can't be converted into double"
    );
}

/// Runs `script` on `s` with keyspace notifications on and returns the
/// `event:key` list a pattern subscriber received.
fn collect_events(s: &Server, script: &[&[&str]]) -> String {
    let mut sub = s.raw();
    assert!(sub
        .call(&["PSUBSCRIBE", "__keyevent@0__:*"])
        .contains("psubscribe"));
    let mut c = s.conn();
    for cmd in script {
        let _: redis::Value = q(&mut c, cmd);
    }
    let _: () = q(&mut c, &["SET", "end", "1"]);
    keyevents_until_end(&mut sub)
}

#[test]
fn keyspace_events_match_redis() {
    let s = Server::start(&["--notify-keyspace-events", "KEA"]);
    let script: &[&[&str]] = &[
        &["HSET", "h", "f", "1"],
        &["HSETNX", "h", "f", "2"],
        &["HSETNX", "h", "g", "2"],
        &["HINCRBY", "h", "f", "1"],
        &["HINCRBYFLOAT", "h", "f", "1"],
        &["HMSET", "h", "x", "1"],
        &["HDEL", "h", "f", "g", "x"],
        &["SADD", "a", "1", "2"],
        &["SADD", "b", "3"],
        &["SMOVE", "a", "b", "1"],
        &["SMOVE", "a", "b", "2"],
        &["SINTERSTORE", "d", "b", "b"],
        &["SUNIONSTORE", "d", "b"],
        &["SDIFFSTORE", "d", "b"],
        &["SDIFFSTORE", "d", "b", "b"],
        &["SREM", "b", "1"],
        &["SPOP", "b"],
        &["SADD", "p", "1", "2", "3"],
        &["SPOP", "p", "1"],
        &["SPOP", "p", "5"],
        &["SADD", "l", "2", "1"],
        &["SORT", "l", "STORE", "l2"],
        &["SORT", "nokey", "STORE", "l2"],
    ];
    let ours = collect_events(&s, script);
    let r = Server::start_redis(&["--notify-keyspace-events", "KEA"]);
    assert_eq!(ours, collect_events(&r, script));
    assert_eq!(
        ours,
        "hset:h hset:h hincrby:h hincrbyfloat:h hset:h hdel:h del:h sadd:a sadd:b srem:a sadd:b srem:a del:a \
         sadd:b sinterstore:d sunionstore:d sdiffstore:d del:d srem:b spop:b sadd:p spop:p spop:p del:p \
         sadd:l sortstore:l2 del:l2 set:end"
    );
}

#[test]
fn movable_keys_are_reported_for_sort_and_sintercard() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "SORT", "k", "LIMIT", "0", "1", "STORE", "d",
        ],
    );
    assert_eq!(keys, vec!["k", "d"]);
    let keys: Vec<String> = q(
        &mut c,
        &[
            "COMMAND",
            "GETKEYS",
            "SINTERCARD",
            "2",
            "a",
            "b",
            "LIMIT",
            "1",
        ],
    );
    assert_eq!(keys, vec!["a", "b"]);
}

/// Runs `script` on picket and on the real redis-server (both RESP2 and,
/// after HELLO 3, RESP3) and compares every raw reply.
fn differential(script: &[&[&str]]) {
    let mut mismatches = Vec::new();
    for resp3 in [false, true] {
        let p = Server::start(&[]);
        let r = Server::start_redis(&[]);
        let (mut pc, mut rc) = (p.raw(), r.raw());
        if resp3 {
            pc.call(&["HELLO", "3"]);
            rc.call(&["HELLO", "3"]);
        }
        for cmd in script {
            let (a, b) = (pc.call(cmd), rc.call(cmd));
            if a != b {
                mismatches.push(format!(
                    "resp3={resp3} {cmd:?}\n  picket: {a:?}\n  redis:  {b:?}"
                ));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn differential_against_real_redis() {
    let big: Vec<String> = (0..70).map(|i| format!("f{i}")).collect();
    let mut hset_many: Vec<&str> = vec!["HSET", "many"];
    for f in &big {
        hset_many.push(f);
        hset_many.push("v");
    }
    let long = "y".repeat(70);
    let hset_long: [&str; 4] = ["HSET", "lv", "k", &long];
    let script: Vec<&[&str]> = vec![
        // hashes
        &["HSET", "h", "name", "ann", "age", "30", "city", "x"],
        &["HSET", "h", "age", "31", "zip", "123"],
        &["HGETALL", "h"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HDEL", "h", "city", "nope"],
        &["HGETALL", "h"],
        &["HMGET", "h", "name", "nope", "zip"],
        &["HMGET", "nokey", "a"],
        &["HGET", "h", "name"],
        &["HGET", "h", "nope"],
        &["HLEN", "h"],
        &["HEXISTS", "h", "zip"],
        &["HSTRLEN", "h", "name"],
        &["HSETNX", "h", "name", "bob"],
        &["HSETNX", "h", "new", "bob"],
        &["HINCRBY", "h", "age", "-40"],
        &["HINCRBY", "h", "name", "1"],
        &["HINCRBY", "h", "age", "x"],
        &["HINCRBYFLOAT", "h", "fl", "1.5"],
        &["HINCRBYFLOAT", "h", "fl", "0.25"],
        &["HINCRBYFLOAT", "h", "fl", "-1.75"],
        &["HINCRBYFLOAT", "h", "fl", "1e3"],
        &["HINCRBYFLOAT", "h", "name", "1"],
        &["HINCRBYFLOAT", "h", "fl", "inf"],
        &["HSET", "h", "bigint", "9223372036854775806"],
        &["HINCRBY", "h", "bigint", "1"],
        &["HINCRBY", "h", "bigint", "1"],
        &["HMSET", "h", "a", "1", "b", "2"],
        &["HMSET", "h", "a"],
        &["HSET", "h", "a"],
        &["HRANDFIELD", "h", "100"],
        &["HRANDFIELD", "h", "100", "WITHVALUES"],
        &["HRANDFIELD", "h", "0"],
        &["HRANDFIELD", "nokey"],
        &["HRANDFIELD", "nokey", "-3", "WITHVALUES"],
        &["HRANDFIELD", "h", "1", "WITHVALUE"],
        &["HRANDFIELD", "h", "-9223372036854775808"],
        &["HRANDFIELD", "h", "9223372036854775807", "WITHVALUES"],
        &["HSET", "one", "k", "v"],
        &["HRANDFIELD", "one", "-3", "WITHVALUES"],
        &["HRANDFIELD", "one", "-2"],
        &["HRANDFIELD", "one"],
        &["HSCAN", "h", "0"],
        &["HSCAN", "h", "0", "MATCH", "*a*", "COUNT", "1"],
        &["HSCAN", "h", "123"],
        &["HSCAN", "h", "0", "COUNT", "0"],
        &["HSCAN", "h", "0", "TYPE", "hash"],
        &["HSCAN", "h", "abc"],
        &["HSCAN", "h", ""],
        &["HSCAN", "nokey", "0", "BOGUS"],
        &hset_many,
        &["HLEN", "many"],
        &hset_long,
        &["HSTRLEN", "lv", "k"],
        &["HDEL", "one", "k"],
        &["GET", "one"],
        &["HGETALL", "nokey"],
        // sets (intsets reply in numeric order)
        &["SADD", "s1", "5", "-2", "10", "3", "3"],
        &["SADD", "s2", "3", "4", "5"],
        &["SADD", "w", "apple", "pear"],
        &["SMEMBERS", "s1"],
        &["SMEMBERS", "nokey"],
        &["SCARD", "s1"],
        &["SISMEMBER", "s1", "10"],
        &["SISMEMBER", "s1", "11"],
        &["SMISMEMBER", "s1", "10", "11", "-2"],
        &["SREM", "s1", "10", "99"],
        &["SINTER", "s1", "s2"],
        &["SINTER", "s1", "nokey"],
        &["SUNION", "s1", "s2"],
        &["SDIFF", "s1", "s2"],
        &["SDIFF", "nokey", "s1"],
        &["SINTERCARD", "2", "s1", "s2"],
        &["SINTERCARD", "2", "s1", "s2", "LIMIT", "1"],
        &["SINTERCARD", "0", "s1"],
        &["SINTERCARD", "5", "s1"],
        &["SINTERCARD", "1", "s1", "LIMIT", "-3"],
        &["SINTERCARD", "1", "s1", "JUNK"],
        &["SINTERSTORE", "st", "s1", "s2"],
        &["SMEMBERS", "st"],
        &["SUNIONSTORE", "st", "s1", "s2"],
        &["SMEMBERS", "st"],
        &["SDIFFSTORE", "st", "s2", "s1"],
        &["SMEMBERS", "st"],
        &["SDIFFSTORE", "st", "s2", "s2"],
        &["GET", "st"],
        &["SMOVE", "s1", "s2", "-2"],
        &["SMOVE", "s1", "s2", "-2"],
        &["SMOVE", "s1", "s1", "5"],
        &["SMEMBERS", "s2"],
        &["SRANDMEMBER", "s2", "100"],
        &["SRANDMEMBER", "s2", "0"],
        &["SRANDMEMBER", "nokey", "5"],
        &["SRANDMEMBER", "nokey"],
        &["SRANDMEMBER", "s2", "1", "2"],
        &["SADD", "single", "7"],
        &["SRANDMEMBER", "single", "-3"],
        &["SPOP", "single"],
        &["GET", "single"],
        &["SPOP", "s2", "0"],
        &["SPOP", "nokey", "2"],
        &["SPOP", "s2", "-1"],
        &["SPOP", "s2", "100"],
        &["GET", "s2"],
        &["SSCAN", "s1", "0"],
        &["SSCAN", "s1", "77", "MATCH", "*3*"],
        &["SSCAN", "s1", "x"],
        &["SCARD", "w"],
        &["SINTERCARD", "1", "w"],
        &["SORT", "w", "ALPHA"],
        &["SUNIONSTORE", "wu", "w", "s1"],
        &["SORT", "wu", "ALPHA", "DESC"],
        // SORT on sets and on lists made by SORT ... STORE
        &["SADD", "ids", "3", "1", "2", "10"],
        &[
            "MSET", "w_1", "5", "w_2", "1", "w_3", "9", "w_10", "0", "n_1", "one", "n_2", "two",
        ],
        &["HSET", "o_1", "f", "x1"],
        &["HSET", "o_3", "f", "x3"],
        &["SORT", "ids"],
        &["SORT", "ids", "DESC", "LIMIT", "1", "2"],
        &["SORT", "ids", "ALPHA"],
        &["SORT", "ids", "BY", "w_*"],
        &[
            "SORT", "ids", "BY", "w_*", "DESC", "GET", "#", "GET", "n_*", "GET", "o_*->f",
        ],
        &["SORT", "ids", "BY", "o_*->f", "ALPHA"],
        &["SORT", "ids", "BY", "nosort"],
        &["SORT", "ids", "LIMIT", "-1", "2"],
        &["SORT", "ids", "LIMIT", "2", "-1"],
        &["SORT", "ids", "LIMIT", "9", "1"],
        &["SORT", "ids", "LIMIT", "x", "1"],
        &["SORT", "ids", "LIMIT", "1"],
        &["SORT", "ids", "STORE"],
        &["SORT", "ids", "GET"],
        &["SORT", "ids", "JUNK"],
        &["SORT_RO", "ids", "STORE", "x"],
        &["SORT_RO", "ids", "DESC"],
        &["SORT", "ids", "STORE", "lst"],
        &["SORT", "lst", "BY", "nosort"],
        &["SORT", "lst", "BY", "nosort", "DESC"],
        &["SORT", "lst", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &["SORT", "lst", "BY", "nosort", "LIMIT", "3", "10"],
        &["SORT", "lst", "BY", "nosort", "GET", "n_*", "GET", "#"],
        &[
            "SORT",
            "ids",
            "GET",
            "#",
            "GET",
            "missing_*",
            "STORE",
            "lst2",
        ],
        &["SORT", "lst2", "BY", "nosort"],
        &["SORT", "w", "BY", "nosort", "STORE", "lst3"],
        &["SORT", "lst3", "BY", "nosort"],
        &[
            "SADD", "odd", " 5", "", "0x10", "1e1", "10", "-inf", "3.5", ".5",
        ],
        &["SORT", "odd"],
        &["SORT", "odd", "DESC", "LIMIT", "2", "3"],
        &["SORT", "odd", "ALPHA"],
        &["SORT", "odd", "BY", "w_*->"],
        &["SORT", "odd", "GET", "w_*->", "LIMIT", "0", "2"],
        &["SADD", "odd2", "7 "],
        &["SORT", "odd2"],
        &["HINCRBYFLOAT", "fl", "x", "0.1"],
        &["HINCRBYFLOAT", "fl", "x", "0.2"],
        &["HINCRBYFLOAT", "fl", "x", "-5e-1"],
        &["HINCRBYFLOAT", "fl", "y", "-0"],
        &["HINCRBYFLOAT", "fl", "z", "3"],
        &["HGETALL", "fl"],
        &["SADD", "mixed", "1", "a"],
        &["SORT", "mixed"],
        &["SORT", "nokey"],
        &["SORT", "nokey", "STORE", "lst"],
        &["GET", "lst"],
        &["SORT", "h"],
        // wrong types
        &["SET", "str", "v"],
        &["HGET", "str", "a"],
        &["HSCAN", "str", "0"],
        &["SADD", "str", "a"],
        &["SINTER", "nokey", "str"],
        &["SUNIONSTORE", "d", "nokey", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SMOVE", "nokey", "str", "a"],
        &["SMOVE", "ids", "str", "a"],
        &["SORT", "str"],
        &["SRANDMEMBER", "str", "1"],
        &["SPOP", "str", "1"],
    ];
    differential(&script);
}

#[test]
fn differential_sort_on_sorted_sets() {
    let p = Server::start(&[]);
    drop(p);
    differential(&[
        &["ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb"],
        &["SORT", "z", "BY", "nosort"],
        &["SORT", "z", "BY", "nosort", "DESC"],
        &["SORT", "z", "BY", "nosort", "LIMIT", "1", "2"],
        &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &["SORT", "z", "ALPHA"],
        &["SORT", "z"],
    ]);
}
