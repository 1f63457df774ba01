//! ACL users in picket-sentinel, side by side with Debian's redis-sentinel
//! 7.0.15: ACL SETUSER/GETUSER/LIST/DRYRUN/LOG/... replies, AUTH as a
//! user, -NOPERM, `user` lines and the `aclfile` at start-up, ACL
//! SAVE/LOAD, and the clients Redis disconnects when a user goes or loses
//! a channel.
//!
//! Redis prints the single-command part of a rule description
//! (`+client -hello -auth`) in the order of a randomly seeded hash table,
//! different in every process, so those runs of rules are compared as
//! sets; ACL LOG's `client-info` is compared on the fields that do not
//! depend on the process (name, flags, sub, psub, cmd, user, resp).
//!
//! Needs `redis-sentinel` and `redis-cli`; fails, never skips, without
//! them.

#[path = "../../common/testsupport/acl_compare.rs"]
mod acl_compare;
mod common;

use acl_compare::*;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");
const IMPLS: [&str; 2] = ["redis-sentinel", PICKET];

fn start(bin: &str, dir: &Path, extra: &str) -> (Proc, u16, std::path::PathBuf) {
    let port = free_port();
    let conf = dir.join(format!("s-{port}.conf"));
    fs::write(&conf, format!("port {port}\nbind 127.0.0.1\n{extra}")).unwrap();
    let child = Command::new(bin)
        .arg(&conf)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    // any reply will do: NOAUTH too
    wait_for("a sentinel to answer", Duration::from_secs(10), || {
        !cli(port, &["PING"]).trim().is_empty()
    });
    (p, port, conf)
}

/// The commands the script runs, one per session (or several per line
/// separated by `;` for one connection).
const SCRIPT: &[&str] = &[
    "ACL SETUSER u",
    "ACL SETUSER v on >p +ping +client +@pubsub ~foo %R~bar &ch*",
    "ACL SETUSER w on (+ping ~x) +sentinel|masters -client|kill",
    "ACL SETUSER w2 on \"(+ping ~x\" \"~y)\" \"(+info)\"",
    "ACL SETUSER z +@all -@connection +hello -sentinel|masters -ping +client|kill",
    "ACL SETUSER y on nopass +ping|x +@admin -@dangerous skip-sanitize-payload",
    "ACL SETUSER r reset",
    "ACL SETUSER h #148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 >q <q",
    "ACL SETUSER h !148de9c5a7a44d19e56cd9ae1a554bf67847afb0c58f6e12fa29ac7ddfca9940 allkeys allchannels allcommands",
    "ACL SETUSER h resetkeys resetchannels nocommands ~a* %W~b* %RW~a*",
    "ACL SETUSER x ( +ping",
    "ACL SETUSER x +client|list|x",
    "ACL SETUSER x -ping|foo",
    "ACL SETUSER x #abc",
    "ACL SETUSER x <nope",
    "ACL SETUSER x ~a allkeys ~b",
    "ACL SETUSER x &a allchannels &b",
    "ACL SETUSER x bogus",
    "ACL SETUSER x +bogus",
    "ACL SETUSER x +@bogus",
    "ACL SETUSER \"a b\"",
    "ACL SETUSER x +client|",
    "ACL SETUSER x %X~a",
    "ACL SETUSER x (bogus)",
    "ACL LIST",
    "ACL USERS",
    "ACL GETUSER v",
    "ACL GETUSER w2",
    "ACL GETUSER y",
    "ACL GETUSER nobody",
    "ACL DRYRUN v ping",
    "ACL DRYRUN v info",
    "ACL DRYRUN v publish chx m",
    "ACL DRYRUN v publish zz m",
    "ACL DRYRUN v psubscribe ch*",
    "ACL DRYRUN v psubscribe chx",
    "ACL DRYRUN v subscribe ch1 zz",
    "ACL DRYRUN nob ping",
    "ACL DRYRUN v nocmd",
    "ACL DRYRUN v ping a b",
    "ACL DRYRUN v sentinel masters",
    "ACL DRYRUN v sentinel bogus",
    "ACL DRYRUN v client",
    "ACL DRYRUN y ping x",
    "ACL DRYRUN y ping y",
    "ACL DRYRUN w2 info",
    "ACL GENPASS 0",
    "ACL GENPASS 4097",
    "ACL GENPASS x",
    "ACL LOAD",
    "ACL SAVE",
    "ACL HELP",
    "ACL CAT pubsub",
    "ACL CAT connection",
    "CLIENT KILL USER v",
    "CLIENT KILL USER nob",
    "AUTH v p;CLIENT KILL USER v SKIPME no",
    "ACL DELUSER default",
    "ACL DELUSER u nob",
    "AUTH v p;PING;INFO;PUBLISH zz m;SUBSCRIBE ch1 zz;ACL WHOAMI;CLIENT LIST ID 999999",
    "AUTH v bad;AUTH nob p;hello 3 auth v bad;AUTH onlypass",
    "AUTH y anything;ACL WHOAMI;PING x;PING y",
    // 7.0 logs in before it finds the bad option
    "HELLO 2 AUTH v p BOGUS;ACL WHOAMI;HELLO 2 AUTH y x SETNAME \"a b\";ACL WHOAMI",
    "ACL LOG",
    "ACL LOG 2",
    "ACL LOG -1",
    "ACL LOG x",
    "ACL LOG RESET",
    "ACL LOG",
    "ACL SETUSER default off",
    "PING",
    "AUTH default x",
];

fn run_script(port: u16, resp3: bool) -> Vec<String> {
    let flags: &[&str] = if resp3 { &["-3"] } else { &[] };
    let mut outs = Vec::new();
    for line in SCRIPT {
        let cmds: Vec<&str> = line.split(';').collect();
        let mut out = normalize(&session(port, flags, &cmds));
        if line.starts_with("ACL CAT ") {
            // aclCatWithFlags walks a hash table: the order is random
            let mut names: Vec<&str> = out.lines().collect();
            names.sort();
            out = names.join("\n");
        }
        outs.push(out);
    }
    outs
}

#[test]
fn acl_commands_match_redis_sentinel_in_resp2_and_resp3() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("acl-users");
    for resp3 in [false, true] {
        let mut outs = Vec::new();
        for bin in IMPLS {
            let (_p, port, _) = start(bin, &dir.0, "");
            // and ACL GENPASS's shape
            for bits in ["", "5", "256", "4096"] {
                let args: Vec<&str> = ["ACL", "GENPASS", bits]
                    .into_iter()
                    .filter(|a| !a.is_empty())
                    .collect();
                let out = cli(port, &args);
                let want = match bits {
                    "" => 64,
                    b => b.parse::<usize>().unwrap().div_ceil(4),
                };
                let hex = out.trim().trim_matches('"');
                assert_eq!(hex.len(), want, "{bin} {args:?}: {out}");
                assert!(
                    hex.bytes().all(|b| b"0123456789abcdef".contains(&b)),
                    "{out}"
                );
            }
            outs.push(run_script(port, resp3));
        }
        for (k, line) in SCRIPT.iter().enumerate() {
            assert_eq!(outs[1][k], outs[0][k], "{line} (resp3 {resp3})");
        }
    }
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
fn user_lines_load_and_are_rewritten_like_redis_sentinel() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("acl-conf");
    let users = "requirepass s3cret\n\
                 user zed on >pz +ping +client ~k* &ch\n\
                 user alice on >pa +@all -@dangerous ~* &*\n\
                 user bob off nopass (+info ~x) +role\n";
    let mut seen = Vec::new();
    for bin in IMPLS {
        let (_p, port, conf) = start(bin, &dir.0, users);
        let list = session(port, &[], &["AUTH alice pa", "ACL LIST", "ACL WHOAMI"]);
        let noauth = cli(port, &["ACL", "WHOAMI"]);
        let default = session(port, &[], &["AUTH s3cret", "ACL WHOAMI"]);
        // a CONFIG REWRITE happens at start-up (the new myid); another one
        // after SENTINEL SET-like changes would keep the same lines
        seen.push((normalize(&list), noauth, default, user_lines(&conf)));
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[0].3.len(), 4, "{:?}", seen[0].3);
}

#[test]
fn bad_user_lines_stop_the_start_like_redis_sentinel() {
    require_tool("redis-sentinel");
    let dir = TempDir::new("acl-bad");
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
    fs::write(dir.0.join("bad.acl"), "user a on +nocmd\nnot a user line\n").unwrap();
    for case in cases {
        let mut results = Vec::new();
        for bin in IMPLS {
            let conf = dir.0.join("bad.conf");
            fs::write(&conf, format!("port {}\n{case}", free_port())).unwrap();
            let out = Command::new("timeout")
                .args(["10", bin])
                .arg(&conf)
                .current_dir(&dir.0)
                .output()
                .unwrap();
            // the fatal report (stderr) as a whole, and the log lines
            // about ACLs without their pid/time prefix
            let log: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| l.contains("ACL") || l.contains("users defined in redis.conf"))
                .map(|l| l.splitn(5, ' ').nth(4).unwrap_or(l).to_string())
                .map(|l| l.split_once(' ').map_or(l.as_str(), |x| x.1).to_string())
                .collect();
            results.push((
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                log,
            ));
        }
        assert_eq!(results[1], results[0], "{case}");
        assert_eq!(results[0].0, Some(1), "{case}");
    }
}

#[test]
fn acl_save_and_load_match_redis_sentinel() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("acl-file");
    let mut seen = Vec::new();
    for (k, bin) in IMPLS.into_iter().enumerate() {
        let sub = dir.0.join(format!("d{k}"));
        fs::create_dir_all(&sub).unwrap();
        fs::write(
            sub.join("users.acl"),
            "user a on >pa +ping\n\nuser default on nopass ~* &* +@all\n",
        )
        .unwrap();
        let (_p, port, conf) = start(bin, &sub, "aclfile users.acl\n");
        let mut out = session(
            port,
            &[],
            &[
                "ACL LIST",
                "ACL SETUSER b on nopass +@all -@admin",
                "ACL SAVE",
            ],
        );
        let saved: Vec<String> = fs::read_to_string(sub.join("users.acl"))
            .unwrap()
            .lines()
            .map(sort_rule_runs)
            .collect();
        // a client logged in as `a` is disconnected by any successful
        // LOAD, even though `a` is still defined
        let mut a = Raw::connect(port);
        assert_eq!(a.call(&["AUTH", "a", "pa"]), "+OK\r\n");
        fs::write(
            sub.join("users.acl"),
            "user a on >pa +ping\nuser c on +bogus\nbad line\n",
        )
        .unwrap();
        out.push_str(&session(port, &[], &["ACL LOAD", "ACL USERS"]));
        assert_eq!(
            a.call(&["PING"]),
            "+PONG\r\n",
            "a failed LOAD changes nothing"
        );
        fs::write(sub.join("users.acl"), "user a on >pa +ping\n").unwrap();
        out.push_str(&session(port, &[], &["ACL LOAD", "ACL LIST"]));
        let closed = a.closed();
        let rewritten = user_lines(&conf);
        seen.push((normalize(&out), saved, closed, rewritten));
    }
    assert_eq!(seen[1], seen[0]);
    assert!(seen[0].2, "ACL LOAD closes the connections of its users");
    assert!(
        seen[0].3.is_empty(),
        "with an aclfile the config has no user lines"
    );
}

#[test]
fn deleted_users_and_revoked_channels_disconnect_clients_like_redis_sentinel() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("acl-kill");
    let mut seen = Vec::new();
    for bin in IMPLS {
        let (_p, port, _) = start(bin, &dir.0, "");
        cli(
            port,
            &["ACL", "SETUSER", "s", "on", ">p", "+@all", "&ch*", "&other"],
        );
        cli(port, &["ACL", "SETUSER", "d", "on", ">p", "+@all"]);
        let mut sub = Raw::connect(port);
        let mut keep = Raw::connect(port);
        let mut del = Raw::connect(port);
        let mut bystander = Raw::connect(port);
        for c in [&mut sub, &mut keep] {
            assert_eq!(c.call(&["AUTH", "s", "p"]), "+OK\r\n");
        }
        assert_eq!(del.call(&["AUTH", "d", "p"]), "+OK\r\n");
        let list = cli(port, &["CLIENT", "LIST"]);
        let users: Vec<String> = list
            .lines()
            .filter_map(|l| l.split(' ').find(|f| f.starts_with("user=")))
            .map(String::from)
            .collect();
        sub.call(&["SUBSCRIBE", "chan"]);
        keep.call(&["SUBSCRIBE", "other"]);
        // `&ch*` goes: the subscriber of chan loses it, the one of other
        // keeps its channel
        let r = cli(port, &["ACL", "SETUSER", "s", "resetchannels", "&other"]);
        let r2 = cli(port, &["ACL", "DELUSER", "d"]);
        let states = (
            sub.closed(),
            keep.closed(),
            del.closed(),
            bystander.closed(),
        );
        let whoami = bystander_fresh(port);
        seen.push((users.len(), r, r2, states, whoami));
        let _ = bystander.call(&["PING"]);
    }
    assert_eq!(seen[1], seen[0]);
    assert_eq!(seen[0].3, (true, false, true, false));
}

fn bystander_fresh(port: u16) -> String {
    cli(port, &["ACL", "WHOAMI"])
}
