//! ACL subcommands and the command table's arity checks, side by side with
//! Debian's redis-sentinel 7.0.15: the same replies byte for byte (as
//! redis-cli prints them), with and without `requirepass`.
//!
//! Needs `redis-sentinel` and `redis-cli`; fails, never skips, without
//! them.

mod common;

use std::fs;
use std::process::Command;

use common::*;

const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");

fn cli_auth(port: u16, pass: Option<&str>, args: &[&str]) -> String {
    let mut cmd = Command::new("timeout");
    cmd.args(["5", "redis-cli", "-p", &port.to_string()]);
    if let Some(p) = pass {
        cmd.args(["-a", p, "--no-auth-warning"]);
    }
    let out = cmd.args(args).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SCRIPT: &[&[&str]] = &[
    &["ACL", "WHOAMI"],
    &["ACL", "USERS"],
    &["ACL", "LIST"],
    &["ACL", "CAT"],
    &["ACL", "CAT", "keyspace"],
    &["ACL", "CAT", "KeySpace"],
    &["ACL", "CAT", "nope"],
    &["ACL", "CAT", "a", "b"],
    &["ACL", "GETUSER", "default"],
    &["ACL", "GETUSER", "nobody"],
    &["ACL", "GETUSER"],
    &["ACL", "USERS", "x"],
    &["ACL", "WHOAMI", "x"],
    &["ACL"],
    &["ACL", "bogus"],
    &["PING", "a", "b"],
    &["AUTH", "a", "b", "c"],
    &["ROLE", "x"],
    &["SENTINEL"],
    &["SENTINEL", "bogus"],
    &["SENTINEL", "MYID", "x"],
    &["SENTINEL", "SET", "m"],
    &["SENTINEL", "MASTERS", "x"],
    &["SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "1", "2"],
    &["CLIENT", "bogus"],
    &["CLIENT", "KILL"],
    &["CLIENT", "SETNAME"],
    &["COMMAND", "COUNT", "x"],
    &["CLIENT", "LIST", "x"],
    &["CLIENT", "LIST", "TYPE", "bogus"],
    &["CLIENT", "LIST", "TYPE", "pubsub"],
    &["CLIENT", "LIST", "TYPE", "master"],
    &["CLIENT", "LIST", "ID", "x"],
    &["CLIENT", "LIST", "ID", "99999"],
    &["CLIENT", "LIST", "ID"],
    &["CLIENT", "LIST", "ID", "3", "x"],
    &["PUBLISH", "a"],
    &["SUBSCRIBE"],
    &["bogus", "x"],
];

#[test]
fn acl_subcommands_and_arity_errors_match_redis_sentinel() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("acl");
    for pass in [None, Some("s3cret")] {
        let mut outs = Vec::new();
        for bin in ["redis-sentinel", PICKET] {
            let port = free_port();
            let conf = dir.0.join(format!("s-{port}.conf"));
            let auth = pass.map_or(String::new(), |p| format!("requirepass {p}\n"));
            fs::write(&conf, format!("port {port}\nbind 127.0.0.1\n{auth}")).unwrap();
            let _p = start_sentinel_auth(bin, &dir.0, &conf, port, pass);
            let mut out: Vec<String> = SCRIPT.iter().map(|a| cli_auth(port, pass, a)).collect();
            // unauthenticated: lookup and arity come before NOAUTH
            out.extend(SCRIPT.iter().map(|a| cli_auth(port, None, a)));
            outs.push(out);
        }
        for (k, args) in SCRIPT.iter().chain(SCRIPT).enumerate() {
            let authed = k < SCRIPT.len();
            assert_eq!(
                outs[1][k], outs[0][k],
                "{args:?} (requirepass {pass:?}, authenticated {authed})"
            );
        }
    }
}

/// [`start_sentinel`], waiting with the password when there is one.
fn start_sentinel_auth(
    bin: &str,
    dir: &std::path::Path,
    conf: &std::path::Path,
    port: u16,
    pass: Option<&str>,
) -> Proc {
    let child = Command::new(bin)
        .arg(conf)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    wait_for(
        "a sentinel to answer",
        std::time::Duration::from_secs(10),
        || cli_auth(port, pass, &["PING"]).trim() == "PONG",
    );
    p
}
