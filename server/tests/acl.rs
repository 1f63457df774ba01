//! ACL users in picket-server, side by side with Debian's redis-server
//! 7.0.15: ACL SETUSER/GETUSER/LIST/DRYRUN/LOG/... replies, -NOPERM on
//! commands, keys (`~`, `%R~`, `%W~`), channels and selectors, AUTH and
//! HELLO AUTH as users, ACL LOG, `user` lines and CONFIG REWRITE, the
//! `aclfile` with ACL SAVE/LOAD, and the clients Redis disconnects.
//!
//! Redis prints the single-command part of a rule description
//! (`+get -set`) in the order of a randomly seeded hash table, different
//! in every process, so those runs of rules are compared as sets; ACL
//! LOG's `client-info` is compared on the fields that do not depend on the
//! process (name, flags, sub, psub, cmd, user, resp), its `age-seconds`
//! by shape. ACL CAT <category> lists in hash order too, and is only
//! compared for the categories whose commands picket-server all has.
//!
//! Needs `redis-server` and `redis-cli`; fails, never skips, without them.

#[path = "../../common/testsupport/acl_compare.rs"]
mod acl_compare;
mod common;

use acl_compare::*;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{free_port, non_loopback_ip, spawn_server, wait_listening, Server};

const PICKET: &str = env!("CARGO_BIN_EXE_picket-server");
const IMPLS: [&str; 2] = ["redis-server", PICKET];

/// Fails (never skips) when a tool the test needs is missing.
fn require_tool(name: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{name} is missing: apt-get install -y redis-server redis-tools"
    );
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Starts `bin` with a config file holding `extra`, in `dir` (its working
/// directory); killed when the guard drops. Returns the config's path.
fn start(bin: &str, dir: &Path, extra: &str) -> (Server, PathBuf) {
    for _ in 0..5 {
        let port = free_port();
        let conf = dir.join(format!("s-{port}.conf"));
        fs::write(
            &conf,
            format!("port {port}\nbind 127.0.0.1\nsave \"\"\n{extra}"),
        )
        .unwrap();
        let mut cmd = Command::new(bin);
        cmd.arg(&conf).current_dir(dir);
        let mut s = spawn_server(cmd, port);
        if wait_listening(&mut s.child, port, Duration::from_secs(5)) {
            return (s, conf);
        }
        let _ = s.child.kill();
    }
    panic!("{bin} did not start");
}

/// The commands the script runs, one session per entry (several
/// commands on one connection separated by `;`).
const SCRIPT: &[&str] = &[
    "ACL SETUSER u",
    "ACL SETUSER v on >p +get +set +ping +client|list +publish +subscribe +psubscribe +multi +exec ~foo %R~bar %W~baz &ch*",
    "ACL SETUSER w on (+get ~x) +set -client|kill ~y",
    "ACL SETUSER w2 on \"(+get ~x\" \"~y)\" \"(+info)\"",
    "ACL SETUSER z +@all -@string +get -client|kill +config|get",
    "ACL SETUSER y on nopass +select|0 +@admin -@dangerous skip-sanitize-payload",
    "ACL SETUSER k on nopass +get +set +lmove +rpoplpush +exists +mset +sunionstore +copy %R~r* %W~w* ~rw*",
    "ACL SETUSER r reset",
    "ACL SETUSER h #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 >q <q",
    "ACL SETUSER h !148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 allkeys allchannels allcommands",
    "ACL SETUSER h resetkeys resetchannels nocommands ~a* %W~b* %RW~a*",
    "ACL SETUSER x ( +ping",
    "ACL SETUSER x +client|list|x",
    "ACL SETUSER x -get|foo",
    "ACL SETUSER x #abc",
    "ACL SETUSER x <nope",
    "ACL SETUSER x ~a allkeys ~b",
    "ACL SETUSER x &a allchannels &b",
    "ACL SETUSER x bogus",
    "ACL SETUSER x +bogus",
    "ACL SETUSER x +@bogus",
    "ACL SETUSER \"a b\"",
    "ACL SETUSER x %X~a",
    "ACL SETUSER x (bogus)",
    "ACL LIST",
    "ACL USERS",
    "ACL GETUSER v",
    "ACL GETUSER w2",
    "ACL GETUSER y",
    "ACL GETUSER k",
    "ACL GETUSER nobody",
    "ACL DRYRUN v get foo",
    "ACL DRYRUN v get bar",
    "ACL DRYRUN v set bar 1",
    "ACL DRYRUN v set baz 1",
    "ACL DRYRUN v set baz 1 get",
    "ACL DRYRUN v get other",
    "ACL DRYRUN v del foo",
    "ACL DRYRUN v publish chx m",
    "ACL DRYRUN v publish zz m",
    "ACL DRYRUN v psubscribe ch*",
    "ACL DRYRUN v psubscribe chx",
    "ACL DRYRUN v subscribe ch1 zz",
    "ACL DRYRUN nob ping",
    "ACL DRYRUN v nocmd",
    "ACL DRYRUN v get a b",
    "ACL DRYRUN v client list",
    "ACL DRYRUN v config get x",
    "ACL DRYRUN w get x",
    "ACL DRYRUN w get y",
    "ACL DRYRUN w set y 1",
    "ACL DRYRUN w set x 1",
    "ACL DRYRUN k lmove r1 w1 left right",
    "ACL DRYRUN k lmove rw1 w1 left right",
    "ACL DRYRUN k rpoplpush r1 w1",
    "ACL DRYRUN k get w1",
    "ACL DRYRUN k exists w1",
    "ACL DRYRUN k mset w1 1 r1 2",
    "ACL DRYRUN k mset w1 1 w2 2",
    "ACL DRYRUN k sunionstore w1 r1 rw2",
    "ACL DRYRUN k sunionstore w1 r1 w2",
    "ACL DRYRUN k copy r1 w1",
    "ACL DRYRUN y select 0",
    "ACL DRYRUN y select 1",
    "ACL DRYRUN z get x",
    "ACL DRYRUN z set x 1",
    "ACL DRYRUN z config get x",
    "ACL DRYRUN z config set x y",
    "ACL GENPASS 0",
    "ACL GENPASS 4097",
    "ACL GENPASS x",
    "ACL LOAD",
    "ACL SAVE",
    "ACL HELP",
    "ACL CAT",
    "ACL CAT bogus",
    "ACL CAT list",
    "ACL CAT hash",
    "ACL CAT set",
    "ACL CAT sortedset",
    "ACL CAT string",
    "ACL CAT pubsub",
    "ACL CAT transaction",
    "ACL NOSUCH",
    "ACL DELUSER default",
    "ACL DELUSER u nob",
    "CONFIG SET acllog-max-len 4",
    "AUTH v p;PING;GET foo;GET bar;SET bar 1;SET baz 1;GET baz;DEL foo;INFO;PUBLISH zz m;PUBLISH chx m;SUBSCRIBE ch1 zz;ACL WHOAMI;CLIENT LIST ID 999999",
    "AUTH v p;MULTI;GET foo;GET other;SET baz 1;EXEC",
    "AUTH v p;MULTI;GET foo;DEL foo;EXEC",
    "AUTH w x;AUTH v bad;AUTH nob p;hello 3 auth v bad;AUTH onlypass",
    "AUTH y anything;ACL WHOAMI;SELECT 0;SELECT 1",
    "AUTH k x;LMOVE r1 w1 left right;LMOVE w1 r1 left right;GET w1;SET r1 x",
    "CLIENT KILL USER nob",
    "CLIENT KILL USER v",
    "CONFIG SET acl-pubsub-default allchannels",
    "ACL SETUSER pp on;ACL SETUSER pq on (+get);ACL GETUSER pq;ACL SETUSER pr reset",
    "CONFIG SET acl-pubsub-default resetchannels",
    "ACL SETUSER ps on;ACL LIST",
    "ACL LOG",
    "ACL LOG 2",
    "ACL LOG -1",
    "ACL LOG x",
    "ACL LOG 1 2",
    "ACL CAT a b",
    "ACL GENPASS 1 2",
    "PUBSUB NUMPAT x",
    "DEBUG NOSUCH",
    "ACL LOG RESET",
    "ACL LOG",
    "ACL SETUSER default off",
    "PING",
    "AUTH default x",
];

fn run_script(port: u16, resp3: bool) -> Vec<String> {
    let flags: &[&str] = if resp3 { &["-3"] } else { &[] };
    SCRIPT
        .iter()
        .map(|line| {
            let cmds: Vec<&str> = line.split(';').collect();
            let out = normalize(&session(port, flags, &cmds));
            if !line.starts_with("ACL CAT ") {
                return out;
            }
            // aclCatWithFlags walks a hash table: the order is random
            let mut names: Vec<&str> = out.lines().collect();
            names.sort();
            names.join("\n")
        })
        .collect()
}

#[test]
fn acl_commands_match_redis_in_resp2_and_resp3() {
    require_tool("redis-server");
    require_tool("redis-cli");
    for resp3 in [false, true] {
        let mut outs = Vec::new();
        for bin in IMPLS {
            let dir = tempfile::tempdir().unwrap();
            let (_s, _) = start(bin, dir.path(), "");
            outs.push(run_script(_s.port, resp3));
        }
        let diffs: Vec<String> = SCRIPT
            .iter()
            .enumerate()
            .filter(|(k, _)| outs[1][*k] != outs[0][*k])
            .map(|(k, line)| {
                format!(
                    "{line} (resp3 {resp3})\n redis: {:?}\npicket: {:?}",
                    outs[0][k], outs[1][k]
                )
            })
            .collect();
        assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    }
}

#[test]
fn queued_commands_are_checked_again_at_exec_like_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = start(bin, dir.path(), "");
        cli(
            s.port,
            &["ACL", "SETUSER", "e", "on", ">p", "+@all", "~*", "&*"],
        );
        let mut a = Raw::connect(s.port);
        let mut out = vec![a.call(&["AUTH", "e", "p"])];
        for c in [
            &["MULTI"][..],
            &["SET", "a", "1"],
            &["GET", "k"],
            &["PUBLISH", "ch", "m"],
            &["PING"],
        ] {
            out.push(a.call(c));
        }
        cli(
            s.port,
            &[
                "ACL",
                "SETUSER",
                "e",
                "-set",
                "resetkeys",
                "~a",
                "resetchannels",
            ],
        );
        out.push(a.call(&["EXEC"]));
        out.push(normalize(&cli(s.port, &["ACL", "LOG"])));
        seen.push(out);
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[0][6].contains("NOPERM"), "{:?}", seen[0]);
}

/// The `user` lines of a rewritten config, rule runs sorted.
fn user_lines(conf: &Path) -> Vec<String> {
    fs::read_to_string(conf)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("user "))
        .map(sort_rule_runs)
        .collect()
}

#[test]
fn user_lines_load_and_are_rewritten_like_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let users = "requirepass s3cret\n\
                 user zed on >pz +ping +client|list ~k* &ch\n\
                 user alice on >pa +@all -@dangerous ~* &*\n\
                 user bob off nopass (+info ~x) +get\n";
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let (s, conf) = start(bin, dir.path(), users);
        let port = s.port;
        let list = session(port, &[], &["AUTH alice pa", "ACL LIST", "ACL WHOAMI"]);
        let noauth = cli(port, &["ACL", "WHOAMI"]);
        let default = session(
            port,
            &[],
            &[
                "AUTH s3cret",
                "ACL WHOAMI",
                "CLIENT LIST ID 1 2 3 4 5 6 7 8 9",
                "ACL SETUSER default >other",
                "CONFIG GET requirepass",
                "ACL SETUSER carl on nopass +get ~c*",
                "CONFIG REWRITE",
            ],
        );
        let rewritten = user_lines(&conf);
        // CONFIG SET requirepass makes it the default user's only password
        let set = session(
            port,
            &[],
            &[
                "AUTH other",
                "CONFIG SET requirepass newpass",
                "ACL GETUSER default",
                "AUTH other",
                "AUTH newpass",
                "CONFIG SET requirepass \"\"",
                "ACL GETUSER default",
            ],
        );
        let fresh = session(port, &[], &["ACL WHOAMI", "AUTH zed pz", "CLIENT INFO"]);
        seen.push((
            normalize(&list),
            noauth,
            normalize(&default),
            rewritten,
            normalize(&set),
            normalize(&fresh),
        ));
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[0].3.len(), 5, "{:?}", seen[0].3);
}

#[test]
fn bad_user_lines_stop_the_start_like_redis() {
    require_tool("redis-server");
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        "user a on >pa +@all ~* &* bogus\n",
        "user a on\nuser a off\n",
        "user a on (+ping\n",
        "user\n",
        "user a on +nocmd\n",
        "user a on (+nocmd)\n",
        "user \"a b\" on\n",
        "aclfile users.acl\nuser a on\n",
        "aclfile missing.acl\n",
        "aclfile bad.acl\n",
    ];
    fs::write(
        dir.path().join("bad.acl"),
        "user a on +nocmd\nnot a user line\n",
    )
    .unwrap();
    for case in cases {
        let mut results = Vec::new();
        let mut logs = Vec::new();
        for bin in IMPLS {
            let conf = dir.path().join("bad.conf");
            fs::write(
                &conf,
                format!("port {}\nbind 127.0.0.1\n{case}", free_port()),
            )
            .unwrap();
            let out = Command::new("timeout")
                .args(["10", bin])
                .arg(&conf)
                .current_dir(dir.path())
                .output()
                .unwrap();
            results.push((
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
            logs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        assert_eq!(results[1], results[0], "{case}");
        assert_eq!(results[0].0, Some(1), "{case}");
        // what redis-server logs about ACLs, picket-server logs too
        for l in logs[0].lines() {
            let Some(msg) = l.split_once(" # ").map(|x| x.1) else {
                continue;
            };
            if msg.contains("ACL") || msg.contains("users defined in redis.conf") {
                assert!(
                    logs[1].contains(msg),
                    "{case}: {msg:?} not in {:?}",
                    logs[1]
                );
            }
        }
    }
}

#[test]
fn acl_save_and_load_match_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let acl = dir.path().join("users.acl");
        fs::write(
            &acl,
            "user a on >pa +ping\n\nuser default on nopass ~* &* +@all\n",
        )
        .unwrap();
        let (s, conf) = start(bin, dir.path(), "aclfile users.acl\n");
        let port = s.port;
        let mut out = session(
            port,
            &[],
            &[
                "ACL LIST",
                "ACL SETUSER b on nopass +get ~x",
                "ACL SAVE",
                "CONFIG REWRITE",
            ],
        );
        let saved: Vec<String> = fs::read_to_string(&acl)
            .unwrap()
            .lines()
            .map(sort_rule_runs)
            .collect();
        // a client logged in as `a` is disconnected by any successful
        // LOAD, even though `a` is still defined
        let mut a = Raw::connect(port);
        assert_eq!(a.call(&["AUTH", "a", "pa"]), "+OK\r\n");
        fs::write(&acl, "user a on >pa +ping\nuser c on +bogus\nbad line\n").unwrap();
        out.push_str(&session(port, &[], &["ACL LOAD", "ACL USERS"]));
        assert_eq!(
            a.call(&["PING"]),
            "+PONG\r\n",
            "a failed LOAD changes nothing"
        );
        fs::write(&acl, "user a on >pa +ping\n").unwrap();
        out.push_str(&session(port, &[], &["ACL LOAD", "ACL LIST"]));
        let closed = a.closed();
        seen.push((normalize(&out), saved, closed, user_lines(&conf)));
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[0].2, "ACL LOAD closes the connections of its users");
    assert!(
        seen[0].3.is_empty(),
        "with an aclfile the config has no user lines"
    );
}

#[test]
fn deleted_users_and_revoked_channels_disconnect_clients_like_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = start(bin, dir.path(), "");
        let port = s.port;
        cli(
            port,
            &[
                "ACL", "SETUSER", "s", "on", ">p", "+@all", "&ch*", "&other", "&pat*",
            ],
        );
        cli(port, &["ACL", "SETUSER", "d", "on", ">p", "+@all"]);
        let mut sub = Raw::connect(port);
        let mut keep = Raw::connect(port);
        let mut psub = Raw::connect(port);
        let mut del = Raw::connect(port);
        let mut bystander = Raw::connect(port);
        for c in [&mut sub, &mut keep, &mut psub] {
            assert_eq!(c.call(&["AUTH", "s", "p"]), "+OK\r\n");
        }
        assert_eq!(del.call(&["AUTH", "d", "p"]), "+OK\r\n");
        let list = cli(port, &["CLIENT", "LIST"]);
        let mut users: Vec<String> = list
            .lines()
            .filter_map(|l| l.split(' ').find(|f| f.starts_with("user=")))
            .map(String::from)
            .collect();
        users.sort();
        sub.call(&["SUBSCRIBE", "chan"]);
        keep.call(&["SUBSCRIBE", "other"]);
        psub.call(&["PSUBSCRIBE", "pat*"]);
        // `&ch*` and `&pat*` go: their subscribers are dropped, the one
        // of other keeps its channel
        let r = cli(
            port,
            &["ACL", "SETUSER", "s", "resetchannels", "&other", "&pat1"],
        );
        let r2 = cli(port, &["ACL", "DELUSER", "d"]);
        let k = cli(port, &["CLIENT", "KILL", "USER", "d"]);
        let states = (
            sub.closed(),
            keep.closed(),
            psub.closed(),
            del.closed(),
            bystander.closed(),
        );
        seen.push((users, r, r2, k, states));
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[0].4, (true, false, true, true, false));
}

/// What a client from a non-loopback address gets for PING (the first
/// line of the reply).
fn remote_ping(ip: std::net::IpAddr, port: u16) -> String {
    let mut sock = TcpStream::connect((ip, port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 256];
    let n = sock.read(&mut buf).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    text.split(". ").next().unwrap_or("").to_string()
}

#[test]
fn protected_mode_follows_the_default_users_nopass_like_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let ip = non_loopback_ip();
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let (s, _) = start(bin, dir.path(), "bind 0.0.0.0\n");
        let mut out = vec![remote_ping(ip, s.port)];
        // a password set by ACL SETUSER (not requirepass) lifts it
        cli(s.port, &["ACL", "SETUSER", "default", ">pw"]);
        out.push(remote_ping(ip, s.port));
        out.push(cli(
            s.port,
            &["--pass", "pw", "ACL", "SETUSER", "default", "nopass"],
        ));
        out.push(remote_ping(ip, s.port));
        seen.push(out);
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[0][0].starts_with("-DENIED"), "{:?}", seen[0]);
    assert_eq!(seen[0][1], "-NOAUTH Authentication required.\r\n");
}

#[test]
fn a_replica_logs_in_as_masteruser_like_redis() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let mut seen = Vec::new();
    for bin in IMPLS {
        let dir = tempfile::tempdir().unwrap();
        let (m, _) = start(
            bin,
            dir.path(),
            "requirepass mpw\nuser repl on >rp +psync +replconf +ping\n",
        );
        let rdir = tempfile::tempdir().unwrap();
        let (r, _) = start(
            bin,
            rdir.path(),
            &format!(
                "replicaof 127.0.0.1 {}\nmasteruser repl\nmasterauth rp\n",
                m.port
            ),
        );
        let mut up = false;
        for _ in 0..100 {
            if cli(r.port, &["INFO", "replication"]).contains("master_link_status:up") {
                up = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        cli(m.port, &["--pass", "mpw", "SET", "k", "v"]);
        let mut got = String::new();
        for _ in 0..50 {
            got = cli(r.port, &["GET", "k"]);
            if got == "v\n" {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let replica_user: Vec<String> = cli(m.port, &["--pass", "mpw", "CLIENT", "LIST"])
            .lines()
            .filter(|l| l.contains(" flags=S "))
            .filter_map(|l| l.split(' ').find(|f| f.starts_with("user=")))
            .map(String::from)
            .collect();
        seen.push((up, got, replica_user));
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(
        seen[0],
        (true, "v\n".to_string(), vec!["user=repl".to_string()])
    );
}
