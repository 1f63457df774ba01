//! The LIST family: pushes, pops with counts, ranges and indexes, in-place
//! edits, LPOS, moves, LMPOP, and the blocking commands (wakeups, FIFO,
//! timeouts, BLMOVE chains, disconnects, CLIENT UNBLOCK), plus
//! differential runs against the real redis-server.

mod common;
use common::*;

use std::time::{Duration, Instant};

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

fn lrange(c: &mut redis::Connection, key: &str) -> Vec<String> {
    q(c, &["LRANGE", key, "0", "-1"])
}

/// picket and the real redis-server, to run the same checks on both.
fn both() -> [Server; 2] {
    [Server::start(&[]), Server::start_redis(&[])]
}

/// Whether a key exists (GET: nil when missing, WRONGTYPE for a list).
fn exists(c: &mut redis::Connection, key: &str) -> bool {
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    !matches!(cmd.query::<redis::Value>(c), Ok(redis::Value::Nil))
}

/// Waits until exactly `n` clients are blocked (CLIENT LIST flag `b`).
fn wait_blocked(s: &Server, n: usize) {
    let mut c = s.conn();
    let t = Instant::now();
    loop {
        let list: String = q(&mut c, &["CLIENT", "LIST"]);
        let blocked = list
            .lines()
            .filter(|l| {
                l.split(' ')
                    .any(|f| f.starts_with("flags=") && f.contains('b'))
            })
            .count();
        if blocked == n {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "clients did not block: {list}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The id of a raw connection (CLIENT ID).
fn client_id(r: &mut Raw) -> String {
    let reply = r.call(&["CLIENT", "ID"]);
    reply.trim_start_matches(':').trim_end().to_string()
}

// ------------------------------------------------------------------ pushes

#[test]
fn push_replies_new_length_and_keeps_argument_order() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["RPUSH", "l", "a", "b"]), 2);
    assert_eq!(q::<i64>(&mut c, &["LPUSH", "l", "x", "y"]), 4);
    assert_eq!(lrange(&mut c, "l"), ["y", "x", "a", "b"]);
    assert_eq!(
        qerr(&mut c, &["GET", "l"]),
        WRONGTYPE,
        "the key holds a list"
    );
}

#[test]
fn pushx_only_pushes_onto_existing_lists() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "l", "a"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "a"]), 0);
    assert!(!exists(&mut c, "l"));
    q::<i64>(&mut c, &["RPUSH", "l", "m"]);
    assert_eq!(q::<i64>(&mut c, &["LPUSHX", "l", "a", "b"]), 3);
    assert_eq!(q::<i64>(&mut c, &["RPUSHX", "l", "z"]), 4);
    assert_eq!(lrange(&mut c, "l"), ["b", "a", "m", "z"]);
}

#[test]
fn every_list_command_refuses_other_types() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "s", "v"]);
    q::<i64>(&mut c, &["RPUSH", "l", "a"]);
    for cmd in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "2"],
        &["LPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "0"],
        &["LINDEX", "s", "notanumber"],
        &["LSET", "s", "0", "x"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "s", "l"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "2", "nokey", "s", "LEFT"],
        &["BLPOP", "nokey", "s", "0"],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "s", "l", "0"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
    ] {
        assert_eq!(qerr(&mut c, cmd), WRONGTYPE, "{cmd:?}");
    }
    // nothing moved out of `l`
    assert_eq!(lrange(&mut c, "l"), ["a"]);
}

// ------------------------------------------------------------------ pops

#[test]
fn pop_without_count_replies_bulk_or_nil() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.call(&["LPOP", "l"]), "$-1\r\n");
    assert_eq!(r.call(&["RPUSH", "l", "a", "b", "c"]), ":3\r\n");
    assert_eq!(r.call(&["LPOP", "l"]), "$1\r\na\r\n");
    assert_eq!(r.call(&["RPOP", "l"]), "$1\r\nc\r\n");
    assert_eq!(r.call(&["RPOP", "l"]), "$1\r\nb\r\n");
    assert_eq!(
        r.call(&["GET", "l"]),
        "$-1\r\n",
        "an emptied list is deleted"
    );
}

#[test]
fn pop_with_count_replies_array_nil_array_or_empty_array() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(
        r.call(&["LPOP", "l", "2"]),
        "*-1\r\n",
        "missing key with count: nil array"
    );
    assert_eq!(r.call(&["LPOP", "l", "0"]), "*-1\r\n");
    r.call(&["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(
        r.call(&["LPOP", "l", "0"]),
        "*0\r\n",
        "count 0 on a list: empty array"
    );
    assert_eq!(r.call(&["LPOP", "l", "2"]), "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
    assert_eq!(r.call(&["RPOP", "l", "1"]), "*1\r\n$1\r\nd\r\n");
    assert_eq!(r.call(&["RPOP", "l", "100"]), "*1\r\n$1\r\nc\r\n");
    assert_eq!(r.call(&["GET", "l"]), "$-1\r\n");
    r.call(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(
        r.call(&["RPOP", "l", "3"]),
        "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n",
        "RPOP count pops tail first"
    );
}

#[test]
fn pop_count_errors() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(
        qerr(&mut c, &["LPOP", "l", "-1"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        qerr(&mut c, &["RPOP", "nokey", "x"]),
        "ERR value is out of range, must be positive"
    );
    assert_eq!(
        qerr(&mut c, &["LPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'lpop' command"
    );
    assert_eq!(
        qerr(&mut c, &["RPOP", "l", "1", "2"]),
        "ERR wrong number of arguments for 'rpop' command"
    );
    assert_eq!(
        qerr(&mut c, &["LPOP"]),
        "ERR wrong number of arguments for 'lpop' command"
    );
}

#[test]
fn pop_nils_in_resp3() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.call(&["HELLO", "3"]);
    assert_eq!(r.call(&["LPOP", "l"]), "_\r\n");
    assert_eq!(r.call(&["LPOP", "l", "1"]), "_\r\n");
    assert_eq!(r.call(&["LINDEX", "l", "0"]), "_\r\n");
    assert_eq!(r.call(&["LPOS", "l", "a"]), "_\r\n");
    assert_eq!(r.call(&["LMPOP", "1", "l", "LEFT"]), "_\r\n");
    assert_eq!(r.call(&["BLPOP", "l", "0.01"]), "_\r\n");
}

// ------------------------------------------------------------------ reads

#[test]
fn llen_counts_and_is_zero_for_missing_keys() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 0);
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(q::<i64>(&mut c, &["LLEN", "l"]), 3);
}

#[test]
fn lrange_clamps_negative_and_out_of_range_indexes() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c", "d"]);
    let r =
        |c: &mut redis::Connection, a: &str, b: &str| q::<Vec<String>>(c, &["LRANGE", "l", a, b]);
    assert_eq!(r(&mut c, "0", "-1"), ["a", "b", "c", "d"]);
    assert_eq!(r(&mut c, "1", "2"), ["b", "c"]);
    assert_eq!(r(&mut c, "-2", "-1"), ["c", "d"]);
    assert_eq!(r(&mut c, "-100", "1"), ["a", "b"]);
    assert_eq!(r(&mut c, "2", "100"), ["c", "d"]);
    assert!(r(&mut c, "3", "1").is_empty());
    assert!(r(&mut c, "4", "10").is_empty());
    assert!(r(&mut c, "0", "-100").is_empty());
    assert_eq!(
        r(&mut c, "-9223372036854775808", "9223372036854775807"),
        ["a", "b", "c", "d"]
    );
    assert!(q::<Vec<String>>(&mut c, &["LRANGE", "nokey", "0", "-1"]).is_empty());
    assert_eq!(
        qerr(&mut c, &["LRANGE", "nokey", "x", "1"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["LRANGE", "l", "0", "1.5"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn lindex_supports_negative_indexes_and_checks_the_key_first() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.call(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(r.call(&["LINDEX", "l", "0"]), "$1\r\na\r\n");
    assert_eq!(r.call(&["LINDEX", "l", "-1"]), "$1\r\nc\r\n");
    assert_eq!(r.call(&["LINDEX", "l", "-3"]), "$1\r\na\r\n");
    assert_eq!(r.call(&["LINDEX", "l", "-4"]), "$-1\r\n");
    assert_eq!(r.call(&["LINDEX", "l", "3"]), "$-1\r\n");
    assert_eq!(
        r.call(&["LINDEX", "l", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // Redis looks the key up before parsing the index
    assert_eq!(r.call(&["LINDEX", "nokey", "x"]), "$-1\r\n");
}

// ------------------------------------------------------------------ edits

#[test]
fn lset_replaces_by_index_with_redis_errors() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(qerr(&mut c, &["LSET", "l", "0", "x"]), "ERR no such key");
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    let _: () = q(&mut c, &["LSET", "l", "0", "A"]);
    let _: () = q(&mut c, &["LSET", "l", "-1", "C"]);
    assert_eq!(lrange(&mut c, "l"), ["A", "b", "C"]);
    assert_eq!(
        qerr(&mut c, &["LSET", "l", "3", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        qerr(&mut c, &["LSET", "l", "-4", "x"]),
        "ERR index out of range"
    );
    assert_eq!(
        qerr(&mut c, &["LSET", "l", "x", "x"]),
        "ERR value is not an integer or out of range"
    );
}

#[test]
fn linsert_before_and_after_the_first_pivot() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "BEFORE", "a", "x"]), 0);
    assert!(!exists(&mut c, "l"));
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "before", "a", "x"]), 4);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "AFTER", "a", "y"]), 5);
    assert_eq!(q::<i64>(&mut c, &["LINSERT", "l", "AFTER", "zz", "y"]), -1);
    assert_eq!(lrange(&mut c, "l"), ["x", "a", "y", "b", "a"]);
    assert_eq!(
        qerr(&mut c, &["LINSERT", "l", "MIDDLE", "a", "y"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["LINSERT", "nokey", "MIDDLE", "a", "y"]),
        "ERR syntax error"
    );
}

#[test]
fn lrem_count_sign_picks_direction_and_zero_removes_all() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "0", "a"]), 0);
    q::<i64>(&mut c, &["RPUSH", "l", "a", "1", "a", "2", "a", "3", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "2", "a"]), 2);
    assert_eq!(lrange(&mut c, "l"), ["1", "2", "a", "3", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "-1", "a"]), 1);
    assert_eq!(lrange(&mut c, "l"), ["1", "2", "a", "3"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "0", "zz"]), 0);
    q::<i64>(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(q::<i64>(&mut c, &["LREM", "l", "0", "a"]), 2);
    assert_eq!(lrange(&mut c, "l"), ["1", "2", "3"]);
    assert_eq!(
        q::<i64>(&mut c, &["LREM", "l", "-9223372036854775808", "2"]),
        1
    );
    assert_eq!(
        qerr(&mut c, &["LREM", "l", "x", "a"]),
        "ERR value is not an integer or out of range"
    );
    for v in ["1", "3"] {
        q::<i64>(&mut c, &["LREM", "l", "0", v]);
    }
    assert!(!exists(&mut c, "l"), "emptied by LREM: deleted");
}

#[test]
fn ltrim_keeps_the_range_and_deletes_when_empty() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["LTRIM", "nokey", "0", "1"]);
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c", "d", "e"]);
    let _: () = q(&mut c, &["LTRIM", "l", "1", "-2"]);
    assert_eq!(lrange(&mut c, "l"), ["b", "c", "d"]);
    let _: () = q(&mut c, &["LTRIM", "l", "-100", "100"]);
    assert_eq!(lrange(&mut c, "l"), ["b", "c", "d"]);
    let _: () = q(&mut c, &["LTRIM", "l", "0", "0"]);
    assert_eq!(lrange(&mut c, "l"), ["b"]);
    let _: () = q(&mut c, &["LTRIM", "l", "1", "0"]);
    assert!(!exists(&mut c, "l"));
    assert_eq!(
        qerr(&mut c, &["LTRIM", "l", "0", "x"]),
        "ERR value is not an integer or out of range"
    );
}

// ------------------------------------------------------------------ LPOS

#[test]
fn lpos_rank_count_and_maxlen() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
    );
    assert_eq!(q::<Option<i64>>(&mut c, &["LPOS", "l", "c"]), Some(2));
    assert_eq!(q::<Option<i64>>(&mut c, &["LPOS", "l", "zz"]), None);
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "2"]),
        Some(6)
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "-1"]),
        Some(7)
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "-3"]),
        Some(2)
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "4"]),
        None
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "2"]),
        [2, 6]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "0"]),
        [2, 6, 7]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "-1", "COUNT", "2"]),
        [7, 6]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "2", "COUNT", "0"]),
        [6, 7]
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        [2, 6]
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "MAXLEN", "2"]),
        None
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "l", "zz", "COUNT", "0"]),
        Vec::<i64>::new()
    );
    assert_eq!(
        q::<Vec<i64>>(&mut c, &["LPOS", "nokey", "a", "COUNT", "1"]),
        Vec::<i64>::new()
    );
    assert_eq!(
        q::<Option<i64>>(&mut c, &["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        Some(7)
    );
}

#[test]
fn lpos_option_errors_have_redis_texts() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "a"]);
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "RANK", "0"]),
        "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "RANK", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "COUNT", "-1"]),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "COUNT", "x"]),
        "ERR COUNT can't be negative"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "MAXLEN", "-1"]),
        "ERR MAXLEN can't be negative"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "RANK"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["LPOS", "l", "a", "FOO", "1"]),
        "ERR syntax error"
    );
    // options are parsed before the key is looked up
    assert_eq!(
        qerr(&mut c, &["LPOS", "nokey", "a", "RANK", "0"])
            .split(':')
            .next(),
        Some("ERR RANK can't be zero")
    );
}

// ------------------------------------------------------------------ moves

#[test]
fn lmove_moves_between_ends_and_creates_the_destination() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "src", "a", "b", "c"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "LEFT", "RIGHT"]),
        "a"
    );
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "src", "dst", "right", "left"]),
        "c"
    );
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "src", "dst"]), "b");
    assert!(!exists(&mut c, "src"));
    assert_eq!(lrange(&mut c, "dst"), ["b", "c", "a"]);
    assert_eq!(
        q::<Option<String>>(&mut c, &["LMOVE", "src", "dst", "LEFT", "LEFT"]),
        None
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["RPOPLPUSH", "src", "dst"]),
        None
    );
    assert_eq!(
        qerr(&mut c, &["LMOVE", "src", "dst", "UP", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        qerr(&mut c, &["LMOVE", "src", "dst", "LEFT", "DOWN"]),
        "ERR syntax error"
    );
    // a missing source wins over a wrong-typed destination
    let _: () = q(&mut c, &["SET", "s", "x"]);
    assert_eq!(
        q::<Option<String>>(&mut c, &["LMOVE", "nokey", "s", "LEFT", "LEFT"]),
        None
    );
}

#[test]
fn lmove_onto_the_same_list_rotates() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(q::<String>(&mut c, &["RPOPLPUSH", "l", "l"]), "c");
    assert_eq!(lrange(&mut c, "l"), ["c", "a", "b"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "l", "l", "LEFT", "RIGHT"]),
        "c"
    );
    assert_eq!(lrange(&mut c, "l"), ["a", "b", "c"]);
    q::<i64>(&mut c, &["RPUSH", "one", "x"]);
    assert_eq!(
        q::<String>(&mut c, &["LMOVE", "one", "one", "LEFT", "LEFT"]),
        "x"
    );
    assert_eq!(
        lrange(&mut c, "one"),
        ["x"],
        "a single-element rotation keeps the key"
    );
}

// ------------------------------------------------------------------ LMPOP

#[test]
fn lmpop_pops_from_the_first_non_empty_list() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.call(&["LMPOP", "2", "a", "b", "LEFT"]), "*-1\r\n");
    r.call(&["RPUSH", "b", "1", "2", "3"]);
    r.call(&["RPUSH", "c", "x"]);
    assert_eq!(
        r.call(&["LMPOP", "3", "a", "b", "c", "LEFT"]),
        "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.call(&["LMPOP", "2", "b", "c", "right", "COUNT", "10"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(r.call(&["GET", "b"]), "$-1\r\n");
    assert_eq!(
        r.call(&["LMPOP", "1", "c", "LEFT", "count", "1"]),
        "*2\r\n$1\r\nc\r\n*1\r\n$1\r\nx\r\n"
    );
}

#[test]
fn lmpop_argument_errors() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let e = |c: &mut redis::Connection, a: &[&str]| qerr(c, a);
    assert_eq!(
        e(&mut c, &["LMPOP", "0", "a", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "-1", "a", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "x", "a", "LEFT"]),
        "ERR numkeys should be greater than 0"
    );
    assert_eq!(e(&mut c, &["LMPOP", "2", "a", "LEFT"]), "ERR syntax error");
    assert_eq!(
        e(&mut c, &["LMPOP", "9223372036854775807", "a", "LEFT"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "a", "MIDDLE"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT", "0"]),
        "ERR count should be greater than 0"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT", "x"]),
        "ERR count should be greater than 0"
    );
    assert_eq!(
        e(
            &mut c,
            &["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "1"]
        ),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "a", "LEFT", "COUNT"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["LMPOP", "1", "a"]),
        "ERR wrong number of arguments for 'lmpop' command"
    );
    assert_eq!(
        e(&mut c, &["BLMPOP", "0", "1", "a"]),
        "ERR wrong number of arguments for 'blmpop' command"
    );
    assert_eq!(
        e(&mut c, &["BLMPOP", "x", "0", "a", "LEFT"]),
        "ERR numkeys should be greater than 0",
        "numkeys before timeout"
    );
    assert_eq!(
        e(&mut c, &["BLMPOP", "x", "1", "a", "MIDDLE"]),
        "ERR syntax error"
    );
    assert_eq!(
        e(&mut c, &["BLMPOP", "x", "1", "a", "LEFT"]),
        "ERR timeout is not a float or out of range"
    );
    assert_eq!(
        e(&mut c, &["BLMPOP", "-1", "1", "a", "LEFT"]),
        "ERR timeout is negative"
    );
}

// ------------------------------------------------------------------ blocking

#[test]
fn blocking_pops_reply_at_once_when_data_is_there() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.call(&["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(
        r.call(&["BLPOP", "a", "b", "0"]),
        "*2\r\n$1\r\nb\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        r.call(&["BRPOP", "a", "b", "0"]),
        "*2\r\n$1\r\nb\r\n$1\r\n3\r\n"
    );
    assert_eq!(r.call(&["BRPOPLPUSH", "b", "d", "0"]), "$1\r\n2\r\n");
    assert_eq!(
        r.call(&["BLMOVE", "d", "e", "LEFT", "RIGHT", "0"]),
        "$1\r\n2\r\n"
    );
    r.call(&["RPUSH", "b", "x", "y"]);
    assert_eq!(
        r.call(&["BLMPOP", "0", "2", "a", "b", "RIGHT", "COUNT", "5"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\ny\r\n$1\r\nx\r\n"
    );
    assert_eq!(r.call(&["GET", "b"]), "$-1\r\n");
    assert_eq!(r.call(&["GET", "d"]), "$-1\r\n");
}

#[test]
fn timeout_errors_have_redis_texts() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    for cmd in [
        &["BLPOP", "l", "-1"][..],
        &["BRPOP", "l", "-0.5"],
        &["BLMOVE", "a", "b", "LEFT", "LEFT", "-1"],
        &["BRPOPLPUSH", "a", "b", "-1"],
        &["BLPOP", "l", "inf"],
        &["BLPOP", "l", "1e400"],
    ] {
        assert_eq!(qerr(&mut c, cmd), "ERR timeout is negative", "{cmd:?}");
    }
    for cmd in [
        &["BLPOP", "l", "x"][..],
        &["BLPOP", "l", "nan"],
        &["BLPOP", "l", ""],
        &["BLPOP", "l", "1e5000"],
        &["BRPOPLPUSH", "a", "b", "1s"],
    ] {
        assert_eq!(
            qerr(&mut c, cmd),
            "ERR timeout is not a float or out of range",
            "{cmd:?}"
        );
    }
    assert_eq!(
        qerr(&mut c, &["BLMOVE", "a", "b", "UP", "LEFT", "x"]),
        "ERR syntax error",
        "positions before timeout"
    );
}

/// Run on picket and on redis.
#[test]
fn blocking_timeout_replies_nil_in_resp2_and_resp3() {
    for s in both() {
        blocking_timeout_replies_nil_in_resp2_and_resp3_on(&s);
    }
}

fn blocking_timeout_replies_nil_in_resp2_and_resp3_on(s: &Server) {
    let mut r = s.raw();
    let t = Instant::now();
    assert_eq!(r.call(&["BLPOP", "l", "0.1"]), "*-1\r\n");
    assert!(t.elapsed() >= Duration::from_millis(90));
    assert_eq!(r.call(&["BRPOP", "l", "l2", "0.05"]), "*-1\r\n");
    assert_eq!(r.call(&["BLMPOP", "0.05", "1", "l", "LEFT"]), "*-1\r\n");
    // Redis 7.0 quirk: BLMOVE / BRPOPLPUSH time out with a nil *array*
    assert_eq!(
        r.call(&["BLMOVE", "l", "d", "LEFT", "LEFT", "0.05"]),
        "*-1\r\n"
    );
    assert_eq!(r.call(&["BRPOPLPUSH", "l", "d", "0.05"]), "*-1\r\n");
    r.call(&["HELLO", "3"]);
    assert_eq!(r.call(&["BLPOP", "l", "0.05"]), "_\r\n");
    assert_eq!(r.call(&["BLMPOP", "0.05", "1", "l", "LEFT"]), "_\r\n");
    assert_eq!(
        r.call(&["BLMOVE", "l", "d", "LEFT", "LEFT", "0.05"]),
        "_\r\n"
    );
    // the connection keeps working after a timeout
    assert_eq!(r.call(&["PING"]), "+PONG\r\n");
}

/// Run on picket and on redis.
#[test]
fn blpop_is_served_by_a_push_from_another_connection() {
    for s in both() {
        blpop_is_served_by_a_push_from_another_connection_on(&s);
    }
}

fn blpop_is_served_by_a_push_from_another_connection_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.cmd(&["BLPOP", "a", "l", "0"]);
    wait_blocked(s, 1);
    let mut c = s.conn();
    assert_eq!(
        q::<i64>(&mut c, &["RPUSH", "l", "x", "y"]),
        2,
        "the pusher sees the length before serving"
    );
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "*2\r\n$1\r\nl\r\n$1\r\nx\r\n"
    );
    assert_eq!(lrange(&mut c, "l"), ["y"]);
    // the served connection goes on normally
    assert_eq!(blocked.call(&["PING"]), "+PONG\r\n");
}

/// Run on picket and on redis.
#[test]
fn commands_pipelined_after_a_blocking_one_wait_for_it() {
    for s in both() {
        commands_pipelined_after_a_blocking_one_wait_for_it_on(&s);
    }
}

fn commands_pipelined_after_a_blocking_one_wait_for_it_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.send(b"*3\r\n$5\r\nBRPOP\r\n$1\r\nl\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n");
    wait_blocked(s, 1);
    let mut c = s.conn();
    q::<i64>(&mut c, &["LPUSH", "l", "v"]);
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < 27 && t.elapsed() < Duration::from_secs(5) {
        got.extend(blocked.read_available(Duration::from_millis(50)));
    }
    assert_eq!(
        String::from_utf8_lossy(&got),
        "*2\r\n$1\r\nl\r\n$1\r\nv\r\n+PONG\r\n"
    );
}

/// Run on picket and on redis.
#[test]
fn blocked_clients_are_served_in_arrival_order() {
    for s in both() {
        blocked_clients_are_served_in_arrival_order_on(&s);
    }
}

fn blocked_clients_are_served_in_arrival_order_on(s: &Server) {
    let mut first = s.raw();
    first.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(s, 1);
    let mut second = s.raw();
    second.cmd(&["BRPOP", "other", "l", "0"]);
    wait_blocked(s, 2);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "1", "2", "3"]);
    assert_eq!(
        String::from_utf8_lossy(&first.read_frame()),
        "*2\r\n$1\r\nl\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        String::from_utf8_lossy(&second.read_frame()),
        "*2\r\n$1\r\nl\r\n$1\r\n3\r\n"
    );
    assert_eq!(lrange(&mut c, "l"), ["2"]);
}

/// Run on picket and on redis.
#[test]
fn one_push_serves_only_as_many_clients_as_elements() {
    for s in both() {
        one_push_serves_only_as_many_clients_as_elements_on(&s);
    }
}

fn one_push_serves_only_as_many_clients_as_elements_on(s: &Server) {
    let mut first = s.raw();
    first.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(s, 1);
    let mut second = s.raw();
    second.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(s, 2);
    let mut c = s.conn();
    q::<i64>(&mut c, &["LPUSH", "l", "only"]);
    assert_eq!(
        String::from_utf8_lossy(&first.read_frame()),
        "*2\r\n$1\r\nl\r\n$4\r\nonly\r\n"
    );
    assert!(!exists(&mut c, "l"));
    wait_blocked(s, 1);
    q::<i64>(&mut c, &["LPUSH", "l", "next"]);
    assert_eq!(
        String::from_utf8_lossy(&second.read_frame()),
        "*2\r\n$1\r\nl\r\n$4\r\nnext\r\n"
    );
}

/// Run on picket and on redis.
#[test]
fn blmpop_blocked_is_served_with_count() {
    for s in both() {
        blmpop_blocked_is_served_with_count_on(&s);
    }
}

fn blmpop_blocked_is_served_with_count_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.cmd(&["BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2"]);
    wait_blocked(s, 1);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "b", "1", "2", "3"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n"
    );
    assert_eq!(lrange(&mut c, "b"), ["3"]);
}

/// Run on picket and on redis.
#[test]
fn blmove_wakes_up_and_moves_the_pushed_element() {
    for s in both() {
        blmove_wakes_up_and_moves_the_pushed_element_on(&s);
    }
}

fn blmove_wakes_up_and_moves_the_pushed_element_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.cmd(&["BLMOVE", "src", "dst", "RIGHT", "LEFT", "0"]);
    wait_blocked(s, 1);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "dst", "old"]);
    q::<i64>(&mut c, &["RPUSH", "src", "a", "b"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "$1\r\nb\r\n"
    );
    assert_eq!(lrange(&mut c, "src"), ["a"]);
    assert_eq!(lrange(&mut c, "dst"), ["b", "old"]);
    // BRPOPLPUSH the same way
    blocked.cmd(&["BRPOPLPUSH", "empty", "dst", "0"]);
    wait_blocked(s, 1);
    q::<i64>(&mut c, &["LPUSH", "empty", "z"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "$1\r\nz\r\n"
    );
    assert_eq!(lrange(&mut c, "dst"), ["z", "b", "old"]);
    assert!(!exists(&mut c, "empty"));
}

/// Run on picket and on redis.
#[test]
fn blmove_into_a_key_others_wait_on_wakes_them_in_a_chain() {
    for s in both() {
        blmove_into_a_key_others_wait_on_wakes_them_in_a_chain_on(&s);
    }
}

fn blmove_into_a_key_others_wait_on_wakes_them_in_a_chain_on(s: &Server) {
    let mut mover = s.raw();
    mover.cmd(&["BLMOVE", "a", "b", "LEFT", "LEFT", "0"]);
    wait_blocked(s, 1);
    let mut mover2 = s.raw();
    mover2.cmd(&["BRPOPLPUSH", "b", "c", "0"]);
    wait_blocked(s, 2);
    let mut popper = s.raw();
    popper.cmd(&["BLPOP", "c", "0"]);
    wait_blocked(s, 3);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "a", "v"]);
    assert_eq!(String::from_utf8_lossy(&mover.read_frame()), "$1\r\nv\r\n");
    assert_eq!(String::from_utf8_lossy(&mover2.read_frame()), "$1\r\nv\r\n");
    assert_eq!(
        String::from_utf8_lossy(&popper.read_frame()),
        "*2\r\n$1\r\nc\r\n$1\r\nv\r\n"
    );
    for k in ["a", "b", "c"] {
        assert!(!exists(&mut c, k), "{k}");
    }
}

/// Run on picket and on redis.
#[test]
fn blocked_blmove_to_a_wrong_type_destination_gets_wrongtype_and_leaves_the_data() {
    for s in both() {
        blocked_blmove_to_a_wrong_type_destination_gets_wrongtype_and_leaves_the_data_on(&s);
    }
}

fn blocked_blmove_to_a_wrong_type_destination_gets_wrongtype_and_leaves_the_data_on(s: &Server) {
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "dst", "string"]);
    let mut blocked = s.raw();
    blocked.cmd(&["BLMOVE", "src", "dst", "LEFT", "LEFT", "0"]);
    wait_blocked(s, 1);
    let mut popper = s.raw();
    popper.cmd(&["BLPOP", "src", "0"]);
    wait_blocked(s, 2);
    q::<i64>(&mut c, &["RPUSH", "src", "v"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        format!("-{WRONGTYPE}\r\n")
    );
    assert_eq!(
        String::from_utf8_lossy(&popper.read_frame()),
        "*2\r\n$3\r\nsrc\r\n$1\r\nv\r\n"
    );
}

/// Run on picket and on redis.
#[test]
fn a_blocked_client_that_disconnects_consumes_nothing() {
    for s in both() {
        a_blocked_client_that_disconnects_consumes_nothing_on(&s);
    }
}

fn a_blocked_client_that_disconnects_consumes_nothing_on(s: &Server) {
    {
        let mut gone = s.raw();
        gone.cmd(&["BLPOP", "l", "0"]);
        wait_blocked(s, 1);
        let mut gone2 = s.raw();
        gone2.cmd(&["BLMOVE", "l", "other", "LEFT", "LEFT", "0"]);
        wait_blocked(s, 2);
    }
    wait_blocked(s, 0);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "kept"]);
    assert_eq!(lrange(&mut c, "l"), ["kept"]);
    assert!(!exists(&mut c, "other"));
    // and a new waiter is served normally
    let mut w = s.raw();
    w.cmd(&["BRPOP", "l2", "0"]);
    wait_blocked(s, 1);
    q::<i64>(&mut c, &["RPUSH", "l2", "x"]);
    assert_eq!(
        String::from_utf8_lossy(&w.read_frame()),
        "*2\r\n$2\r\nl2\r\n$1\r\nx\r\n"
    );
}

/// Run on picket and on redis.
#[test]
fn client_unblock_ends_the_wait_with_timeout_or_error() {
    for s in both() {
        client_unblock_ends_the_wait_with_timeout_or_error_on(&s);
    }
}

fn client_unblock_ends_the_wait_with_timeout_or_error_on(s: &Server) {
    let mut c = s.conn();
    let mut blocked = s.raw();
    let id = client_id(&mut blocked);
    blocked.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(s, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]), 1);
    assert_eq!(String::from_utf8_lossy(&blocked.read_frame()), "*-1\r\n");
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id]),
        0,
        "not blocked any more"
    );
    blocked.cmd(&["BRPOPLPUSH", "l", "d", "0"]);
    wait_blocked(s, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"]), 1);
    assert_eq!(String::from_utf8_lossy(&blocked.read_frame()), "*-1\r\n");
    blocked.cmd(&["BLMOVE", "l", "d", "LEFT", "LEFT", "0"]);
    wait_blocked(s, 1);
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "UNBLOCK", &id, "ERROR"]), 1);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    // nothing is left registered: a push stays in the list
    q::<i64>(&mut c, &["RPUSH", "l", "v"]);
    assert_eq!(lrange(&mut c, "l"), ["v"]);
    assert_eq!(blocked.call(&["PING"]), "+PONG\r\n");
}

/// Run on picket and on redis.
#[test]
fn blocked_waiters_ignore_keys_of_another_type() {
    for s in both() {
        blocked_waiters_ignore_keys_of_another_type_on(&s);
    }
}

fn blocked_waiters_ignore_keys_of_another_type_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.cmd(&["BLPOP", "k", "0"]);
    wait_blocked(s, 1);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "string"]);
    let _: String = q(&mut c, &["GETDEL", "k"]);
    q::<i64>(&mut c, &["RPUSH", "k", "v"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
    );
}

/// Run on picket and on redis.
#[test]
fn blocked_clients_wait_in_their_own_database() {
    for s in both() {
        blocked_clients_wait_in_their_own_database_on(&s);
    }
}

fn blocked_clients_wait_in_their_own_database_on(s: &Server) {
    let mut blocked = s.raw();
    blocked.call(&["SELECT", "1"]);
    blocked.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(s, 1);
    let mut c = s.conn();
    q::<i64>(&mut c, &["RPUSH", "l", "db0"]);
    assert_eq!(lrange(&mut c, "l"), ["db0"]);
    let _: () = q(&mut c, &["SELECT", "1"]);
    q::<i64>(&mut c, &["RPUSH", "l", "db1"]);
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "*2\r\n$1\r\nl\r\n$3\r\ndb1\r\n"
    );
}

// The transactions family lives on another branch: inside MULTI/EXEC a
// blocking command must answer like a timeout and never block, and clients
// blocked on a key pushed inside EXEC are served after EXEC. Enable once
// MULTI exists here.
#[test]
fn blocking_commands_inside_multi_do_not_block_and_exec_pushes_wake_waiters() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.call(&["MULTI"]), "+OK\r\n");
    r.call(&["BLPOP", "l", "0"]);
    r.call(&["BLMOVE", "l", "d", "LEFT", "LEFT", "0"]);
    assert_eq!(r.call(&["EXEC"]), "*2\r\n*-1\r\n$-1\r\n");
    let mut blocked = s.raw();
    blocked.cmd(&["BLPOP", "l", "0"]);
    wait_blocked(&s, 1);
    r.call(&["MULTI"]);
    r.call(&["RPUSH", "l", "a"]);
    r.call(&["RPUSH", "l", "b"]);
    assert_eq!(r.call(&["EXEC"]), "*2\r\n:1\r\n:2\r\n");
    assert_eq!(
        String::from_utf8_lossy(&blocked.read_frame()),
        "*2\r\n$1\r\nl\r\n$1\r\na\r\n"
    );
}

// ------------------------------------------------------------------ differential

/// Commands whose raw replies must be identical on picket and redis.
const SCRIPT: &[&[&str]] = &[
    &["RPUSH", "l", "a", "b", "c", "a", "d", "a"],
    &["LPUSH", "l", "z"],
    &["LPUSHX", "nokey", "a"],
    &["RPUSHX", "l", "e"],
    &["LLEN", "l"],
    &["LLEN", "nokey"],
    &["LRANGE", "l", "0", "-1"],
    &["LRANGE", "l", "-3", "-2"],
    &["LRANGE", "l", "5", "2"],
    &["LRANGE", "l", "-100", "100"],
    &["LRANGE", "l", "x", "1"],
    &["LINDEX", "l", "-1"],
    &["LINDEX", "l", "100"],
    &["LINDEX", "nokey", "x"],
    &["LINDEX", "l", "x"],
    &["LPOS", "l", "a"],
    &["LPOS", "l", "a", "RANK", "-2"],
    &["LPOS", "l", "a", "COUNT", "0"],
    &["LPOS", "l", "a", "COUNT", "2", "RANK", "-1"],
    &["LPOS", "l", "a", "COUNT", "0", "MAXLEN", "4"],
    &[
        "LPOS", "l", "a", "RANK", "1", "RANK", "2", "COUNT", "0", "MAXLEN", "0",
    ],
    &[
        "LPOS",
        "l",
        "a",
        "RANK",
        "-9223372036854775808",
        "COUNT",
        "0",
    ],
    &[
        "LPOS",
        "l",
        "a",
        "RANK",
        "-9223372036854775808",
        "COUNT",
        "1",
    ],
    &["LPOS", "l", "a", "RANK", "0"],
    &["LPOS", "l", "a", "COUNT", "-1"],
    &["LPOS", "l", "a", "MAXLEN", "x"],
    &["LPOS", "l", "a", "COUNT"],
    &["LPOS", "nokey", "a"],
    &["LPOS", "nokey", "a", "COUNT", "3"],
    &["LSET", "l", "1", "A"],
    &["LSET", "l", "-1", "E"],
    &["LSET", "l", "99", "x"],
    &["LSET", "nokey", "0", "x"],
    &["LSET", "l", "x", "x"],
    &["LINSERT", "l", "BEFORE", "A", "before"],
    &["LINSERT", "l", "after", "E", "after"],
    &["LINSERT", "l", "AFTER", "nothere", "x"],
    &["LINSERT", "nokey", "AFTER", "a", "x"],
    &["LINSERT", "l", "SIDEWAYS", "a", "x"],
    &["LREM", "l", "-1", "a"],
    &["LREM", "l", "1", "a"],
    &["LREM", "l", "0", "a"],
    &["LREM", "nokey", "0", "a"],
    &["LREM", "l", "x", "a"],
    &["LRANGE", "l", "0", "-1"],
    &["LTRIM", "l", "1", "-2"],
    &["LRANGE", "l", "0", "-1"],
    &["LTRIM", "l", "-1000", "1000"],
    &["LTRIM", "nokey", "0", "1"],
    &["LTRIM", "l", "0", "x"],
    &["LPOP", "l"],
    &["RPOP", "l"],
    &["LPOP", "l", "0"],
    &["LPOP", "l", "2"],
    &["RPOP", "l", "100"],
    &["LPOP", "l"],
    &["LPOP", "l", "1"],
    &["LPOP", "l", "0"],
    &["RPOP", "l", "-1"],
    &["RPOP", "l", "1", "2"],
    &["GET", "l"],
    &["RPUSH", "src", "1", "2", "3"],
    &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
    &["LMOVE", "src", "dst", "RIGHT", "LEFT"],
    &["LMOVE", "src", "src", "LEFT", "RIGHT"],
    &["RPOPLPUSH", "src", "dst"],
    &["RPOPLPUSH", "src", "dst"],
    &["LMOVE", "src", "dst", "UP", "LEFT"],
    &["LRANGE", "dst", "0", "-1"],
    &["SET", "str", "x"],
    &["LMOVE", "dst", "str", "LEFT", "LEFT"],
    &["LMOVE", "nokey", "str", "LEFT", "LEFT"],
    &["LPUSH", "str", "x"],
    &["LRANGE", "str", "0", "1"],
    &["LMPOP", "2", "nokey", "dst", "LEFT"],
    &["LMPOP", "2", "nokey", "dst", "RIGHT", "COUNT", "5"],
    &["LMPOP", "2", "nokey", "dst", "LEFT"],
    &["LMPOP", "0", "a", "LEFT"],
    &["LMPOP", "x", "a", "LEFT"],
    &["LMPOP", "3", "a", "LEFT"],
    &["LMPOP", "1", "a", "UP"],
    &["LMPOP", "1", "a", "LEFT", "COUNT", "0"],
    &["LMPOP", "1", "a", "LEFT", "COUNT", "2", "COUNT", "3"],
    &["LMPOP", "1", "str", "LEFT"],
    &["RPUSH", "b", "1", "2"],
    &["BLPOP", "a", "b", "0"],
    &["BRPOP", "a", "b", "0"],
    &["BLPOP", "a", "0.01"],
    &["RPUSH", "t", "x"],
    &["BLPOP", "t", "-0.0001"],
    &["BLPOP", "a", "-1"],
    &["BLPOP", "a", "x"],
    &["BLPOP", "a", "1e400"],
    &["BLPOP", "str", "0"],
    &["RPUSH", "b", "1", "2"],
    &["BLMOVE", "b", "c", "LEFT", "LEFT", "0"],
    &["BLMOVE", "b", "c", "LEFT", "SIDEWAYS", "0"],
    &["BLMOVE", "nokey", "c", "LEFT", "LEFT", "0.01"],
    &["BLMOVE", "b", "str", "LEFT", "LEFT", "0"],
    &["BRPOPLPUSH", "b", "c", "0"],
    &["BRPOPLPUSH", "b", "c", "0.01"],
    &["BRPOPLPUSH", "b", "c", "-2"],
    &["RPUSH", "m", "1", "2", "3"],
    &["BLMPOP", "0", "2", "a", "m", "RIGHT", "COUNT", "2"],
    &["BLMPOP", "0.01", "1", "a", "LEFT"],
    &["BLMPOP", "x", "1", "a", "LEFT"],
    &["BLMPOP", "0", "0", "a", "LEFT"],
    &["BLMPOP", "0", "1", "str", "LEFT"],
    &["LPUSH", "k"],
    &["LRANGE", "k", "0"],
    &["LINSERT", "k", "BEFORE", "a"],
    &["BLPOP", "k"],
];

fn run_script(s: &Server, resp3: bool) -> Vec<String> {
    let mut r = s.raw();
    if resp3 {
        // a fresh database for the second run
        r.call(&["HELLO", "3"]);
        r.call(&["SELECT", "1"]);
    }
    SCRIPT
        .iter()
        .map(|cmd| format!("{cmd:?} -> {}", r.call(cmd)))
        .collect()
}

#[test]
fn differential_script_matches_real_redis_in_resp2_and_resp3() {
    let picket = Server::start(&[]);
    let redis = Server::start_redis(&[]);
    for resp3 in [false, true] {
        let ours = run_script(&picket, resp3);
        let theirs = run_script(&redis, resp3);
        for (o, t) in ours.iter().zip(&theirs) {
            assert_eq!(o, t, "resp3={resp3}");
        }
    }
}

/// Collects keyspace/keyevent notifications produced by `script`.
fn notifications(s: &Server, script: &[&[&str]]) -> String {
    let mut c = s.conn();
    let mut sub = s.raw();
    sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
    for cmd in script {
        let mut cmd_q = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            cmd_q.arg(*a);
        }
        let _ = cmd_q.query::<redis::Value>(&mut c);
    }
    let _: () = q(&mut c, &["SET", "end", "x"]);
    let mut got = Vec::new();
    let t = Instant::now();
    while !String::from_utf8_lossy(&got).contains("$3\r\nend\r\n")
        && t.elapsed() < Duration::from_secs(5)
    {
        got.extend(sub.read_available(Duration::from_millis(50)));
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn differential_keyspace_events_match_real_redis() {
    let script: &[&[&str]] = &[
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["LPUSH", "l", "x"],
        &["LPUSHX", "nokey", "x"],
        &["LINSERT", "l", "BEFORE", "a", "y"],
        &["LINSERT", "l", "BEFORE", "nothere", "y"],
        &["LSET", "l", "0", "z"],
        &["LREM", "l", "1", "y"],
        &["LREM", "l", "1", "nothere"],
        &["LTRIM", "l", "0", "-1"],
        &["LTRIM", "l", "1", "-1"],
        &["LPOP", "l"],
        &["RPOP", "l", "0"],
        &["RPOP", "l", "1"],
        &["LMOVE", "l", "m", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "l", "m"],
        &["LMPOP", "1", "m", "LEFT", "COUNT", "5"],
        &["RPUSH", "l", "1", "2"],
        &["BLPOP", "l", "0"],
        &["BLMOVE", "l", "n", "LEFT", "LEFT", "0"],
        &["RPUSH", "l", "1"],
        &["LTRIM", "l", "1", "0"],
        &["RPUSH", "l", "1"],
        &["LREM", "l", "0", "1"],
    ];
    let picket = Server::start(&["--notify-keyspace-events", "KEA"]);
    let redis = Server::start_redis(&["--notify-keyspace-events", "KEA"]);
    assert_eq!(
        notifications(&picket, script),
        notifications(&redis, script)
    );
}
