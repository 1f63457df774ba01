//! Every command in the table, called with hostile arguments (extreme
//! integers, empty strings, wrong types, odd counts) on keys of every
//! type: the server must answer each one and keep serving — no panic, no
//! dropped connection.

mod common;
use common::*;
use std::time::Duration;

const SKIP: &[&str] = &[
    // change the connection's mode or the server's life, tested elsewhere
    "shutdown",
    "monitor",
    "quit",
    "reset",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "sync",
    "psync",
    "debug",
    "client",
    "config",
    "hello",
    "auth",
    "multi",
    "exec",
    "discard",
    "watch",
    "select",
    // one reply frame per argument
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
];

fn seed(r: &mut Raw) {
    for cmd in [
        &["SET", "str", "12"][..],
        &["RPUSH", "list", "a", "b", "c", "1", "2"],
        &["HSET", "hash", "f", "1", "g", "x"],
        &["SADD", "set", "1", "2", "x"],
        &["ZADD", "zset", "1", "a", "2", "b"],
        &["SET", "big", "1234567890"],
    ] {
        r.call(cmd);
    }
}

#[test]
fn hostile_arguments_never_break_the_server() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    let list = admin.call(&["COMMAND", "LIST"]);
    let names: Vec<String> = list
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.starts_with('*') && !l.starts_with('$'))
        .map(|l| l.to_lowercase())
        .collect();
    assert!(names.len() > 150, "{}", names.len());
    let values = [
        "",
        "0",
        "-1",
        "1",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "nan",
        "inf",
        "-inf",
        "(1",
        "[a",
        "-",
        "+",
        "str",
        "list",
        "hash",
        "set",
        "zset",
        "nokey",
        "WITHSCORES",
        "LIMIT",
        "COUNT",
        "BYSCORE",
        "REV",
        "1.5",
        "\u{0}x",
    ];
    let keys = ["str", "list", "hash", "set", "zset", "nokey"];
    let mut calls = 0;
    for name in &names {
        if SKIP.contains(&name.as_str()) || name.starts_with('b') && !name.starts_with("bit") {
            // blocking commands (blpop, bzpopmin, ...) are exercised in their own tests
            continue;
        }
        let mut c = s.raw();
        c.s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        seed(&mut c);
        for (i, key) in keys.iter().enumerate() {
            for n in 0..5usize {
                let mut args: Vec<String> = vec![name.clone(), key.to_string()];
                for j in 0..n {
                    args.push(
                        values[(i * 7 + j * 5 + n * 3 + name.len()) % values.len()].to_string(),
                    );
                }
                let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
                c.cmd(&refs);
                let reply = c.read_frame();
                assert!(
                    !reply.is_empty(),
                    "no reply to {args:?} (connection dropped)"
                );
                calls += 1;
            }
        }
        assert_eq!(
            admin.call(&["PING"]),
            "+PONG\r\n",
            "server stopped answering after {name}"
        );
    }
    assert!(calls > 3000, "{calls}");
}
