//! COMMAND on picket-sentinel against Debian's `redis-sentinel` 7.0.15:
//! the same count, the same entries (arity, flags, ACL categories, tips,
//! no keys) for the commands and subcommands both implement, the same docs
//! (summary, since, group, complexity, deprecation, history, argument
//! trees), the same LIST for SENTINEL's
//! subcommands (reference §13); SENTINEL DEBUG setters give the same
//! replies and leave the same timers (§14).
//!
//! Needs `redis-sentinel` and `redis-cli`; fails, never skips, without them.

mod common;

use std::fs;
use std::time::Duration;

use common::{
    cli, free_port, require_tool, server_with, start_sentinel, wait_for, write_sentinel_conf, Proc,
    TempDir, PICKET,
};

/// Output lines, sorted: COMMAND's order follows a hash table in Redis.
fn sorted(s: String) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// The RESP3 bytes of one reply to `args` (after HELLO 3).
fn resp3(port: u16, args: &[&str]) -> String {
    use std::io::{Read, Write};
    let mut c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut frame = |args: &[&str]| {
        let mut req = bytes::BytesMut::new();
        picket_common::resp::encode_command(args, &mut req);
        c.write_all(&req).unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 65536];
        loop {
            if let Ok(Some((_, used))) = picket_common::resp::Frame::parse(&buf) {
                return String::from_utf8_lossy(&buf[..used]).into_owned();
            }
            let n = c.read(&mut chunk).unwrap();
            assert!(n > 0, "connection closed");
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    frame(&["HELLO", "3"]);
    frame(args)
}

/// A picket-sentinel and a redis-sentinel with no master, and their ports.
fn pair(dir: &TempDir) -> (Vec<Proc>, [u16; 2]) {
    require_tool("redis-sentinel");
    let ports = [free_port(), free_port()];
    let mut procs = Vec::new();
    for (bin, port) in [PICKET, "redis-sentinel"].into_iter().zip(ports) {
        let conf = dir.path().join(format!("sentinel-{port}.conf"));
        fs::write(&conf, format!("port {port}\nbind 127.0.0.1\n")).unwrap();
        procs.push(start_sentinel(bin, dir.path(), &conf, port));
    }
    (procs, ports)
}

#[test]
fn command_table_matches_redis_sentinel() {
    let dir = TempDir::new("command");
    let (procs, ports) = pair(&dir);
    let both = |args: &[&str]| (cli(ports[0], args), cli(ports[1], args));

    let (p, r) = both(&["COMMAND", "COUNT"]);
    assert_eq!(p, r);
    assert_eq!(p.trim(), "15");
    for names in [
        &["ping", "auth", "hello", "role", "info", "publish"][..],
        &["subscribe", "psubscribe", "unsubscribe", "punsubscribe"],
        &[
            "shutdown",
            "sentinel|myid",
            "sentinel|slaves",
            "sentinel|debug",
        ],
        &[
            "client|setname",
            "client|list",
            "acl|whoami",
            "command|info",
        ],
        &["nosuch", "PING", "Sentinel|Reset"],
    ] {
        let args: Vec<&str> = ["COMMAND", "INFO"].iter().chain(names).copied().collect();
        let (p, r) = both(&args);
        assert_eq!(p, r, "COMMAND INFO {names:?}");
    }
    // A container whose subcommands both implement entirely: same entries
    // in another order.
    let (p, r) = both(&["COMMAND", "INFO", "sentinel"]);
    assert_eq!(sorted(p), sorted(r));
    let (p, r) = both(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "sentinel*"]);
    assert_eq!(sorted(p), sorted(r));
    for name in ["role", "sentinel|myid", "sentinel|masters", "nosuch"] {
        let (p, r) = both(&["COMMAND", "DOCS", name]);
        assert_eq!(p, r, "COMMAND DOCS {name}");
    }
    // Every command and subcommand picket lists: the same docs, argument
    // trees and history included (containers are compared through their
    // subcommands, as picket has only some of ACL's, CLIENT's, COMMAND's).
    let mut compared = 0;
    for name in sorted(both(&["COMMAND", "LIST"]).0) {
        let (p, r) = both(&["COMMAND", "DOCS", &name]);
        if p.lines().any(|l| l == "subcommands") {
            continue;
        }
        assert_eq!(p, r, "COMMAND DOCS {name}");
        // the RESP3 bytes show the types (maps, sets) too
        let raw = |port| resp3(port, &["COMMAND", "DOCS", &name]);
        assert_eq!(raw(ports[0]), raw(ports[1]), "RESP3 COMMAND DOCS {name}");
        compared += 1;
    }
    assert!(compared > 40, "{compared}");
    for args in [
        &["COMMAND", "HELP"][..],
        &["COMMAND", "COUNT", "x"],
        &["COMMAND", "NOPE"],
    ] {
        let (p, r) = both(args);
        assert_eq!(p, r, "{args:?}");
    }
    // Every name picket lists is one redis-sentinel lists.
    let (p, r) = both(&["COMMAND", "LIST"]);
    let real = sorted(r);
    for name in sorted(p) {
        assert!(
            real.contains(&name),
            "{name} is not a redis-sentinel command"
        );
    }
    drop(procs);
}

#[test]
fn sentinel_debug_setters_match_redis_sentinel() {
    let dir = TempDir::new("debug");
    let (procs, ports) = pair(&dir);
    let both = |args: &[&str]| (cli(ports[0], args), cli(ports[1], args));
    for args in [
        &["info-period", "5000", "PING-PERIOD", "2000"][..],
        &["ask-period", "0"],
        &["ask-period", "-1"],
        &["ask-period", "+5"],
        &["ask-period", "1e3"],
        &["ask-period", "9223372036854775808"],
        &["tilt-period"],
        &["nosuch", "1"],
        &["publish-period", "3000", "nosuch", "1"],
        &["script-retry-delay", "9223372036854775807"],
    ] {
        let cmd: Vec<&str> = ["SENTINEL", "DEBUG"].iter().chain(args).copied().collect();
        let (p, r) = both(&cmd);
        assert_eq!(p, r, "SENTINEL DEBUG {args:?}");
    }
    let (p, r) = both(&["SENTINEL", "DEBUG"]);
    assert_eq!(p, r);
    assert!(p.contains("INFO-PERIOD\n5000\n") && p.contains("PUBLISH-PERIOD\n3000\n"));
    drop(procs);
}

/// `bind-source-addr`: every link the sentinel opens (command and pub/sub
/// to the master) leaves from that address, as redis-sentinel's do.
#[test]
fn links_leave_from_bind_source_addr() {
    let dir = TempDir::new("bindsrc");
    let master = server_with(
        "redis-server",
        dir.path(),
        None,
        &["--protected-mode", "no"],
    );
    for (bin, src) in [("redis-sentinel", "127.0.0.8"), (PICKET, "127.0.0.9")] {
        let port = free_port();
        let conf = write_sentinel_conf(
            dir.path(),
            port,
            master.port,
            1,
            &format!("bind-source-addr {src}\n"),
        );
        let _s = start_sentinel(bin, dir.path(), &conf, port);
        wait_for(
            "both sentinel links from the source address",
            Duration::from_secs(10),
            || {
                let list = cli(master.port, &["CLIENT", "LIST"]);
                list.lines()
                    .filter(|l| l.contains(&format!("addr={src}:")) && l.contains("name=sentinel-"))
                    .count()
                    == 2
            },
        );
    }
}

/// Rewriting the config again and again ends the file as redis-sentinel
/// ends it: one blank line after the last directive (Redis keeps the empty
/// piece after the final newline as a line, and turns every run of empty
/// lines into one), never a growing run.
#[test]
fn repeated_rewrites_end_the_file_as_redis_does() {
    let dir = TempDir::new("rewrite-tail");
    let mut tails = Vec::new();
    for bin in ["redis-sentinel", PICKET] {
        let port = free_port();
        let conf = write_sentinel_conf(dir.path(), port, free_port(), 2, "");
        let _s = start_sentinel(bin, dir.path(), &conf, port);
        for _ in 0..3 {
            assert_eq!(cli(port, &["SENTINEL", "FLUSHCONFIG"]).trim(), "OK");
        }
        let text = std::fs::read_to_string(&conf).unwrap();
        let blank_run = text.len() - text.trim_end_matches('\n').len();
        tails.push((
            bin,
            blank_run,
            text.lines().last().unwrap_or("").to_string(),
        ));
    }
    assert_eq!(tails[0].1, tails[1].1, "{tails:?}");
    assert_eq!(tails[0].2, tails[1].2, "{tails:?}");
}

/// What a client connecting from `source` reads after sending PING.
fn ping_from(source: &str, port: u16) -> Vec<u8> {
    use std::io::{Read, Write};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(picket_common::net::connect_from(
            "127.0.0.1",
            port,
            Some(source),
        ))
        .unwrap();
    let mut sock = s.into_std().unwrap();
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    sock.write_all(b"PING\r\n").unwrap();
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    got
}

/// A sentinel is not in protected mode by default; `protected-mode yes` in
/// its config turns away every peer but 127.0.0.1 and ::1 with Redis's
/// DENIED text, as redis-sentinel does.
#[test]
fn protected_mode_only_when_the_config_asks_for_it() {
    let dir = TempDir::new("protected");
    let mut got = Vec::new();
    for bin in ["redis-sentinel", PICKET] {
        for extra in ["", "protected-mode yes\n"] {
            let port = free_port();
            let conf = write_sentinel_conf(dir.path(), port, free_port(), 2, extra);
            // (write_sentinel_conf writes protected-mode no first; the
            // later line wins, as in Redis)
            let _s = start_sentinel(bin, dir.path(), &conf, port);
            got.push((
                bin,
                extra,
                String::from_utf8_lossy(&ping_from("127.0.0.3", port)).into_owned(),
            ));
        }
    }
    assert_eq!(got[0].2, "+PONG\r\n", "{got:?}");
    assert!(
        got[1]
            .2
            .starts_with("-DENIED Redis is running in protected mode"),
        "{got:?}"
    );
    assert_eq!((&got[2].2, &got[3].2), (&got[0].2, &got[1].2), "{got:?}");
}

/// Protected mode applies while the default user has no password, however
/// that password is set: `ACL SETUSER default >pw` lifts it as
/// `requirepass` does (the peer then gets NOAUTH, not DENIED).
#[test]
fn a_password_set_by_acl_lifts_protected_mode() {
    let dir = TempDir::new("protected-acl");
    let mut got = Vec::new();
    for bin in ["redis-sentinel", PICKET] {
        let port = free_port();
        let conf = write_sentinel_conf(dir.path(), port, free_port(), 2, "protected-mode yes\n");
        let _s = start_sentinel(bin, dir.path(), &conf, port);
        let before = String::from_utf8_lossy(&ping_from("127.0.0.3", port)).into_owned();
        cli(port, &["ACL", "SETUSER", "default", "resetpass", ">pw"]);
        let after = String::from_utf8_lossy(&ping_from("127.0.0.3", port)).into_owned();
        got.push((before, after));
    }
    assert!(got[0].0.starts_with("-DENIED"), "{got:?}");
    assert_eq!(got[0].1, "-NOAUTH Authentication required.\r\n", "{got:?}");
    assert_eq!(got[1], got[0]);
}

/// `name:value` fields of an INFO reply.
fn info_fields(reply: &str) -> Vec<(String, String)> {
    reply
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// INFO has redis-sentinel's sections and fields, in its order (Server,
/// Clients, Stats, CPU, Sentinel), and the counters count: commands,
/// connections, errors, bytes, pub/sub channels and patterns.
#[test]
fn info_sections_and_counters_match_redis_sentinel() {
    let dir = TempDir::new("info");
    let mut shapes = Vec::new();
    for bin in ["redis-sentinel", PICKET] {
        let port = free_port();
        let conf = write_sentinel_conf(dir.path(), port, free_port(), 2, "");
        let _s = start_sentinel(bin, dir.path(), &conf, port);
        let names = |args: &[&str]| -> Vec<String> {
            let mut a = vec!["INFO"];
            a.extend_from_slice(args);
            cli(port, &a)
                .lines()
                .map(|l| l.split(':').next().unwrap_or("").to_string())
                .collect()
        };
        let shape: Vec<Vec<String>> = [
            &[][..],
            &["all"],
            &["everything"],
            &["server"],
            &["clients"],
            &["stats"],
            &["cpu"],
            &["sentinel"],
            &["commandstats"],
        ]
        .iter()
        .map(|a| names(a))
        .collect();
        shapes.push(shape);

        let stat = |name: &str| -> f64 {
            let info = cli(port, &["INFO", "stats"]);
            let (_, v) = info_fields(&info)
                .into_iter()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("{bin}: no {name}"));
            v.parse().unwrap()
        };
        let (cmds, conns, errs, input) = (
            stat("total_commands_processed"),
            stat("total_connections_received"),
            stat("total_error_replies"),
            stat("total_net_input_bytes"),
        );
        for _ in 0..5 {
            cli(port, &["PING"]);
        }
        cli(port, &["NOSUCH"]);
        // each cli call is a connection and one command; the INFO calls
        // in between count too
        assert_eq!(stat("total_commands_processed") - cmds, 5.0 + 4.0, "{bin}");
        assert!(stat("total_connections_received") - conns >= 6.0, "{bin}");
        assert_eq!(stat("total_error_replies") - errs, 1.0, "{bin}");
        assert!(stat("total_net_input_bytes") - input >= 5.0 * 14.0, "{bin}");
        let mut sub = std::process::Command::new("redis-cli")
            .args(["-p", &port.to_string(), "PSUBSCRIBE", "a*", "b*"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for("the patterns", Duration::from_secs(5), || {
            stat("pubsub_patterns") == 2.0
        });
        let _ = sub.kill();
        let _ = sub.wait();
        let cpu = cli(port, &["INFO", "cpu"]);
        for (k, v) in info_fields(&cpu) {
            assert!(v.parse::<f64>().is_ok(), "{bin}: {k}:{v}");
        }
    }
    assert_eq!(shapes[1], shapes[0]);
}
