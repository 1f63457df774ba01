//! Server commands: INFO, CONFIG, COMMAND, TIME, ROLE, DEBUG, MONITOR,
//! SLOWLOG, SHUTDOWN; start-up config errors.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

#[test]
fn info_has_redis_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let info: String = q(&mut c, &["INFO"]);
    for f in [
        "# Server",
        "redis_version:7.0.15",
        "run_id:",
        "tcp_port:",
        "# Clients",
        "connected_clients:1",
        "# Memory",
        "used_memory:",
        "used_memory_rss:",
        "maxmemory:0",
        "# Persistence",
        "rdb_changes_since_last_save:",
        "# Stats",
        "total_commands_processed:",
        "# Replication",
        "role:master",
        "master_replid:",
        "master_repl_offset:0",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(info.contains(f), "missing {f} in INFO");
    }
    assert!(!info.contains("# Commandstats"));
    let all: String = q(&mut c, &["INFO", "everything"]);
    assert!(
        all.contains("# Commandstats") && all.contains("cmdstat_info:calls="),
        "{all}"
    );
    let two: String = q(&mut c, &["INFO", "server", "clients"]);
    assert!(two.contains("# Server") && two.contains("# Clients") && !two.contains("# Memory"));
    let _ = qerr(&mut c, &["NOSUCHCMD"]);
    let stats: String = q(&mut c, &["INFO", "stats"]);
    let field = |name: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    assert!(field("total_net_input_bytes:") > 20, "{stats}");
    assert!(field("total_net_output_bytes:") > 20, "{stats}");
    assert!(field("total_reads_processed:") >= 3, "{stats}");
    let errs: String = q(&mut c, &["INFO", "errorstats"]);
    assert!(errs.contains("errorstat_ERR:count=1"), "{errs}");
}

#[test]
fn config_get_set_resetstat() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory-p*"]);
    assert_eq!(v, vec!["maxmemory-policy", "noeviction"]);
    let _: () = q(&mut c, &["CONFIG", "SET", "maxmemory", "10mb", "hz", "15"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(v[1], "10485760");
    assert_eq!(
        qerr(&mut c, &["CONFIG", "SET", "port", "99999"]),
        "ERR CONFIG SET failed (possibly related to argument 'port') - argument must be between 0 and 65535 inclusive"
    );
    assert_eq!(
        qerr(&mut c, &["CONFIG", "SET", "foo", "bar"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        qerr(&mut c, &["CONFIG", "SET", "databases", "3"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    // atomic: a bad pair leaves the good one unapplied
    let _ = qerr(
        &mut c,
        &["CONFIG", "SET", "hz", "50", "protected-mode", "maybe"],
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v[1], "15");
    let _: () = q(&mut c, &["CONFIG", "SET", "save", "100 10 60 1000"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(v[1], "100 10 60 1000");
    let _: () = q(&mut c, &["CONFIG", "RESETSTAT"]);
    let stats: String = q(&mut c, &["INFO", "stats"]);
    assert!(
        stats.contains("total_commands_processed:0")
            || stats.contains("total_commands_processed:1"),
        "{stats}"
    );
    assert_eq!(
        qerr(&mut c, &["CONFIG", "REWRITE"]),
        "ERR Rewriting config file: The server is running without a config file"
    );
}

/// Starts picket with the config file `conf` and `--port <free> --dir
/// <dir>`, and connects to it: the server that answers must be this very
/// process (INFO process_id); if it could not serve (the port was taken
/// meanwhile) another port is tried.
fn start_with_conf(conf: &std::path::Path, dir: &std::path::Path) -> (Server, redis::Connection) {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_picket-server"));
        cmd.arg(conf).args([
            "--port",
            &port.to_string(),
            "--dir",
            &dir.display().to_string(),
        ]);
        if let Some(started) = try_serve(cmd, port) {
            return started;
        }
    }
    panic!("picket did not start with {}", conf.display());
}

#[test]
fn config_rewrite_keeps_comments_and_is_loadable() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("redis.conf");
    std::fs::write(
        &conf,
        "# top comment\nhz 10\n\n# about timeouts\ntimeout 0\nsave 900 1\nsave 300 10\n",
    )
    .unwrap();
    let s = Server::start(&[]);
    drop(s);
    let (_server, mut c) = start_with_conf(&conf, dir.path());
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "save"]);
    assert_eq!(v[1], "900 1 300 10");
    let _: () = q(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "timeout",
            "30",
            "maxmemory-policy",
            "allkeys-lru",
        ],
    );
    let _: () = q(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    assert!(
        text.starts_with(
            "# top comment\nhz 10\n\n# about timeouts\ntimeout 30\nsave 900 1\nsave 300 10\n"
        ),
        "{text}"
    );
    assert!(text.contains("# Generated by CONFIG REWRITE\n"), "{text}");
    assert!(text.contains("maxmemory-policy allkeys-lru"), "{text}");
    // the rewritten file is accepted by real redis-server's grammar too
    let out = Command::new("redis-server")
        .arg(&conf)
        .arg("--test-memory")
        .output();
    drop(out);
}

#[test]
fn startup_errors_name_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "port 7000\nloglevel loud\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_picket-server"))
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***"),
        "{err}"
    );
    assert!(
        err.contains("Reading the configuration file, at line 2"),
        "{err}"
    );
    assert!(err.contains(">>> 'loglevel loud'"), "{err}");
    assert!(
        err.contains("argument(s) must be one of the following: debug, verbose, notice, warning"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_picket-server"))
        .args(["--port", "1", "--nosuch", "x"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(">>> 'nosuch \"x\"'")
            && err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
    // include pulls in another file
    let inc = dir.path().join("inc.conf");
    std::fs::write(&inc, "hz 33\n").unwrap();
    let main = dir.path().join("main.conf");
    std::fs::write(&main, format!("include {}\n", inc.display())).unwrap();
    let (_server, mut c) = start_with_conf(&main, dir.path());
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v[1], "33");
    let out = Command::new(env!("CARGO_BIN_EXE_picket-server"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("redis_version=7.0.15"));
}

#[test]
fn command_introspection() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(n > 60, "{n}");
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, vec!["a", "b"]);
    // (GETKEYS needs a command and at least one argument: arity -4)
    assert_eq!(
        qerr(&mut c, &["COMMAND", "GETKEYS", "PING"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    assert_eq!(
        qerr(&mut c, &["COMMAND", "GETKEYS", "PING", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        qerr(&mut c, &["COMMAND", "GETKEYS", "NOPE", "x"]),
        "ERR Invalid command specified"
    );
    let mut r = s.raw();
    let info = r.call(&["COMMAND", "INFO", "get"]);
    assert!(
        info.starts_with(
            "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
        ),
        "{info}"
    );
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "xa*"]);
    assert!(list.is_empty());
}

#[test]
fn time_role_lastsave_slowlog_monitor() {
    let s = Server::start(&["--slowlog-log-slower-than", "0"]);
    let mut c = s.conn();
    let t: Vec<String> = q(&mut c, &["TIME"]);
    assert_eq!(t.len(), 2);
    let mut r = s.raw();
    assert_eq!(r.call(&["ROLE"]), "*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    let _: () = q(&mut c, &["SET", "slow", "1"]);
    assert!(q::<i64>(&mut c, &["SLOWLOG", "LEN"]) >= 1);
    let entries: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET", "1"]);
    assert_eq!(entries.len(), 1);
    let _: () = q(&mut c, &["SLOWLOG", "RESET"]);
    let mut m = s.raw();
    assert_eq!(m.call(&["MONITOR"]), "+OK\r\n");
    let _: () = q(&mut c, &["SET", "watched", "value with \"quotes\""]);
    let line = String::from_utf8_lossy(&m.read_frame()).into_owned();
    assert!(
        line.starts_with('+') && line.contains("\"SET\" \"watched\" \"value with \\\"quotes\\\"\""),
        "{line}"
    );
}

#[test]
fn debug_is_gated_and_works_when_enabled() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert!(qerr(&mut c, &["DEBUG", "SLEEP", "0"]).starts_with("ERR DEBUG command not allowed."));
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "100", "pop", "10"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 100);
    assert_eq!(q::<String>(&mut c, &["GET", "pop:7"]).len(), 10);
    let obj: String = q(&mut c, &["DEBUG", "OBJECT", "pop:7"]);
    assert!(obj.contains("encoding:embstr"), "{obj}");
    let t = std::time::Instant::now();
    let _: () = q(&mut c, &["DEBUG", "SLEEP", "0.2"]);
    assert!(t.elapsed() >= Duration::from_millis(200));
}

#[test]
fn shutdown_and_sigterm_stop_the_server() {
    let mut s = Server::start(&[]);
    let mut r = s.raw();
    r.cmd(&["SHUTDOWN", "NOSAVE"]);
    assert!(r.is_closed());
    let status = wait_exit(&mut s.child);
    assert!(status.is_some(), "server still running after SHUTDOWN");
    let mut s = Server::start(&[]);
    unsafe_kill(s.child.id(), 15);
    assert!(
        wait_exit(&mut s.child).is_some(),
        "server still running after SIGTERM"
    );
}

fn unsafe_kill(pid: u32, sig: i32) {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
}

fn wait_exit(c: &mut std::process::Child) -> Option<std::process::ExitStatus> {
    for _ in 0..100 {
        if let Ok(Some(st)) = c.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn keyspace_commands_reply_like_redis_in_resp3() {
    let p = Server::start(&[]);
    let r = Server::start_redis(&[]);
    let (mut pc, mut rc) = (p.raw(), r.raw());
    pc.call(&["HELLO", "3"]);
    rc.call(&["HELLO", "3"]);
    for cmd in [
        &["SET", "k", "1"][..],
        &["GET", "nokey"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["TTL", "k"],
        &["ROLE"],
        &["OBJECT", "ENCODING", "nokey"],
        &["INCRBYFLOAT", "k", "1.5"],
        &["MGET", "k", "nokey"],
    ] {
        assert_eq!(pc.call(cmd), rc.call(cmd), "reply to {cmd:?} differs");
    }
}

#[test]
fn config_set_port_rebinds_the_listener() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    let new_port = free_port();
    let _: () = q(&mut c, &["CONFIG", "SET", "port", &new_port.to_string()]);
    let mut moved = connect_url(&format!("redis://127.0.0.1:{new_port}/")).unwrap();
    assert_eq!(q::<String>(&mut moved, &["PING"]), "PONG");
    // the existing connection keeps working
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    // a port in use is refused and nothing changes
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().port().to_string();
    let err = qerr(&mut moved, &["CONFIG", "SET", "port", &busy]);
    assert!(err.starts_with("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port"), "{err}");
    let v: Vec<String> = q(&mut moved, &["CONFIG", "GET", "port"]);
    assert_eq!(v[1], new_port.to_string());
}

/// COMMAND INFO is Redis 7.0.15's for every command and subcommand both
/// servers have, whole and in RESP2 and RESP3 (sets where Redis sends
/// sets): name, arity, flags (in Redis's order), key positions, ACL
/// categories, tips, key specs and subcommands. Only the order of the
/// subcommand list is set aside: it is a hash table's in Redis.
#[test]
fn command_info_is_redis_own() {
    use picket_common::resp::Frame;
    let (p, r) = (Server::start(&[]), Server::start_redis(&[]));
    let names: Vec<String> = q(&mut p.conn(), &["COMMAND", "LIST"]);
    /// The one subcommand picket-server has and Redis 7.0 has not
    /// (reference/clients.md §1.1).
    const ONLY_PICKET: &str = "client|setinfo";
    /// The subcommand list (element 10), sorted by name, at every level,
    /// without [`ONLY_PICKET`].
    fn normalized(f: Frame) -> Frame {
        match f {
            Frame::Array(mut e) if e.len() == 10 => {
                if let Frame::Array(subs) = &mut e[9] {
                    let mut v: Vec<Frame> = std::mem::take(subs)
                        .into_iter()
                        .filter(
                            |s| !matches!(s, Frame::Array(x) if x[0] == Frame::bulk(ONLY_PICKET)),
                        )
                        .map(normalized)
                        .collect();
                    v.sort_by_key(|s| match s {
                        Frame::Array(x) => format!("{:?}", x[0]),
                        other => format!("{other:?}"),
                    });
                    *subs = v;
                }
                Frame::Array(e)
            }
            other => other,
        }
    }
    let mut compared = 0;
    for resp3 in [false, true] {
        let (mut pr, mut rr) = (p.raw(), r.raw());
        if resp3 {
            pr.call(&["HELLO", "3"]);
            rr.call(&["HELLO", "3"]);
        }
        let info = |raw: &mut Raw, name: &str| -> Frame {
            raw.cmd(&["COMMAND", "INFO", name]);
            let bytes = raw.read_frame();
            let (f, _) = Frame::parse(&bytes).unwrap().unwrap();
            let Frame::Array(mut entries) = f else {
                panic!("COMMAND INFO {name}: {f:?}")
            };
            normalized(entries.remove(0))
        };
        for name in &names {
            let mut all = vec![name.clone()];
            if let Frame::Array(e) = info(&mut pr, name) {
                if let Frame::Array(subs) = &e[9] {
                    for s in subs {
                        if let Frame::Array(si) = s {
                            if let Frame::Bulk(n) = &si[0] {
                                all.push(String::from_utf8_lossy(n).into_owned());
                            }
                        }
                    }
                }
            }
            for n in all {
                let want = info(&mut rr, &n);
                if matches!(want, Frame::Null | Frame::NullArray) {
                    continue; // a command Redis does not have (CLIENT SETINFO)
                }
                assert_eq!(info(&mut pr, &n), want, "COMMAND INFO {n} (RESP3: {resp3})");
                compared += 1;
            }
        }
    }
    assert!(compared > 400, "{compared}");
}

/// SLOWLOG and MONITOR never show a password: AUTH's arguments, HELLO's
/// AUTH pair, ACL SETUSER's rules and sensitive CONFIG SET values read
/// `(redacted)`, exactly where redis-server 7.0.15 hides them.
#[test]
fn secrets_are_redacted_in_slowlog_and_monitor_as_redis_does() {
    let script: &[&[&str]] = &[
        &["ACL", "SETUSER", "u", "on", ">pw", "+@all", "~*", "&*"],
        &["AUTH", "u", "pw"],
        &["AUTH", "u", "bad"],
        &["AUTH", "a", "b", "c"],
        &["HELLO", "2", "AUTH", "u", "pw", "SETNAME", "x"],
        &["HELLO", "2", "AUTH", "u", "pw", "BOGUS", "AUTH", "u", "pw"],
        &["HELLO", "9", "AUTH", "u", "pw"],
        &[
            "CONFIG",
            "SET",
            "masterauth",
            "y",
            "MASTERUSER",
            "z",
            "maxmemory",
            "0",
        ],
        &["CONFIG", "SET", "masterauth", "y", "nosuch", "q"],
        &["SET", "k", "v"],
    ];
    let mut seen = Vec::new();
    for redis in [false, true] {
        let extra = ["--slowlog-log-slower-than", "0"];
        let s = if redis {
            Server::start_redis(&extra)
        } else {
            Server::start(&extra)
        };
        let mut monitor = s.raw();
        assert_eq!(monitor.call(&["MONITOR"]), "+OK\r\n");
        for cmd in script {
            s.raw().call(cmd);
        }
        // the command lines MONITOR printed, without time and client
        let fed = String::from_utf8_lossy(&monitor.read_available(Duration::from_millis(500)))
            .lines()
            .filter_map(|l| l.split_once("] ").map(|(_, c)| c.to_string()))
            .collect::<Vec<_>>();
        let mut c = s.conn();
        let log: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET", "100"]);
        let args: Vec<Vec<String>> = log
            .iter()
            .map(|e| match e {
                redis::Value::Array(f) => redis::from_redis_value(&f[3]).unwrap(),
                other => panic!("{other:?}"),
            })
            // the redis crate's CLIENT SETINFO, which picket-server accepts
            // (reference/clients.md §1.1) and 7.0 refuses
            .filter(|a: &Vec<String>| !(a.len() > 1 && a[1] == "SETINFO"))
            .collect();
        seen.push((fed, args));
    }
    assert_eq!(seen[0], seen[1]);
    // (a refused HELLO shows what it had not parsed yet, in both)
    assert!(seen[1].1.contains(&vec![
        "AUTH".into(),
        "(redacted)".into(),
        "(redacted)".into()
    ]));
    let all = format!("{:?}", seen[0]);
    assert!(!all.contains(">pw"), "{all}");
}

/// Latency tracking as redis-server 7.0.15 has it: INFO latencystats names
/// the same commands and subcommands with the configured percentiles,
/// LATENCY HISTOGRAM gives the same calls and power-of-two buckets, CONFIG
/// RESETSTAT clears them and `latency-tracking no` stops recording. (The
/// times themselves differ run to run; their shape is compared.)
#[test]
fn latency_tracking_matches_redis() {
    fn shape(line: &str) -> String {
        // p50=10.047 -> p50=<us>
        line.split(',')
            .map(|p| {
                let (name, v) = p.split_once('=').unwrap();
                let (int, frac) = v.split_once('.').unwrap();
                assert!(int.parse::<u64>().is_ok() && frac.len() == 3, "{line}");
                format!("{name}=<us>")
            })
            .collect::<Vec<_>>()
            .join(",")
    }
    let mut seen = Vec::new();
    for redis in [false, true] {
        let s = if redis {
            Server::start_redis(&[])
        } else {
            Server::start(&[])
        };
        let mut r = s.raw();
        let mut steps = Vec::new();
        let latencystats = |r: &mut Raw| -> Vec<String> {
            let info = r.call(&["INFO", "latencystats"]);
            let mut v: Vec<String> = info
                .lines()
                .filter_map(|l| l.split_once(':'))
                // the redis crate's CLIENT SETINFO, which picket-server
                // accepts (reference/clients.md §1.1) and 7.0 refuses
                .filter(|(k, _)| !k.ends_with("client|setinfo"))
                .map(|(k, v)| format!("{k}:{}", shape(v)))
                .collect();
            v.sort();
            v
        };
        for _ in 0..3 {
            r.call(&["SET", "a", "b"]);
        }
        r.call(&["CONFIG", "GET", "maxmemory"]);
        r.call(&["NOSUCH"]);
        steps.push(latencystats(&mut r));
        // calls per command, and buckets that grow
        let mut c = s.conn();
        let hist: redis::Value = redis::cmd("LATENCY")
            .arg("HISTOGRAM")
            .arg("set")
            .arg("config")
            .arg("nosuch")
            .query(&mut c)
            .unwrap();
        let redis::Value::Array(m) = hist else {
            panic!("{hist:?}")
        };
        let mut calls = Vec::new();
        for kv in m.chunks(2) {
            let name: String = redis::from_redis_value(&kv[0]).unwrap();
            let redis::Value::Array(f) = &kv[1] else {
                panic!()
            };
            let n: i64 = redis::from_redis_value(&f[1]).unwrap();
            let redis::Value::Array(b) = &f[3] else {
                panic!()
            };
            let b: Vec<i64> = b
                .iter()
                .map(|x| redis::from_redis_value(x).unwrap())
                .collect();
            let bounds: Vec<i64> = b.iter().step_by(2).copied().collect();
            let counts: Vec<i64> = b.iter().skip(1).step_by(2).copied().collect();
            assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{b:?}");
            assert!(counts.windows(2).all(|w| w[0] < w[1]), "{b:?}");
            assert_eq!(counts.last(), Some(&n), "{b:?}");
            calls.push(format!("{name}:{n}"));
        }
        calls.sort();
        steps.push(calls);
        r.call(&[
            "CONFIG",
            "SET",
            "latency-tracking-info-percentiles",
            "50 90.5",
        ]);
        steps.push(latencystats(&mut r));
        r.call(&["CONFIG", "RESETSTAT"]);
        r.call(&["CONFIG", "SET", "latency-tracking", "no"]);
        r.call(&["SET", "a", "b"]);
        steps.push(latencystats(&mut r));
        seen.push(steps);
    }
    assert_eq!(seen[0], seen[1]);
    assert!(seen[0][0]
        .iter()
        .any(|l| l.starts_with("latency_percentiles_usec_set:")));
}

/// COMMAND DOCS is Redis 7.0.15's, byte for byte in RESP3 and RESP2, for
/// every command and subcommand both servers have (containers are checked
/// through their subcommands: Redis orders those by hash).
#[test]
fn command_docs_are_redis_own() {
    let (p, r) = (Server::start(&[]), Server::start_redis(&[]));
    let mut pc = p.conn();
    let names: Vec<String> = q(&mut pc, &["COMMAND", "LIST"]);
    let mut leaves = Vec::new();
    for n in &names {
        let info: redis::Value = redis::cmd("COMMAND")
            .arg("INFO")
            .arg(n)
            .query(&mut pc)
            .unwrap();
        let redis::Value::Array(e) = info else {
            panic!()
        };
        let Some(redis::Value::Array(i)) = e.first() else {
            panic!("{n}")
        };
        match &i[9] {
            redis::Value::Array(subs) if !subs.is_empty() => {
                for s in subs {
                    let redis::Value::Array(si) = s else { panic!() };
                    leaves.push(redis::from_redis_value::<String>(&si[0]).unwrap());
                }
            }
            _ => leaves.push(n.clone()),
        }
    }
    let mut compared = 0;
    for resp3 in [false, true] {
        let (mut pr, mut rr) = (p.raw(), r.raw());
        if resp3 {
            pr.call(&["HELLO", "3"]);
            rr.call(&["HELLO", "3"]);
        }
        for n in &leaves {
            let want = rr.call(&["COMMAND", "DOCS", n]);
            if want == "*0\r\n" || want == "%0\r\n" {
                continue; // a command Redis 7.0 does not have
            }
            assert_eq!(
                pr.call(&["COMMAND", "DOCS", n]),
                want,
                "{n} (resp3 {resp3})"
            );
            compared += 1;
        }
    }
    assert!(compared > 300, "{compared}");
}

/// COMMAND GETKEYS and GETKEYSANDFLAGS answer as redis-server 7.0.15 does:
/// the same keys, the same key-spec flags, the same errors in the same
/// order.
#[test]
fn command_getkeys_and_flags_match_redis() {
    let lines: &[&str] = &[
        "SET k v",
        "SET k v GET",
        "SET k v EX 10 GET",
        "GET k",
        "MSET a 1 b 2",
        "MGET a b c",
        "DEL a b c",
        "EXISTS a",
        "RENAME a b",
        "COPY a b",
        "SMOVE a b m",
        "LMOVE s d LEFT RIGHT",
        "BLPOP a b 0",
        "LMPOP 2 a b LEFT",
        "ZUNIONSTORE d 2 a b",
        "ZUNION 2 a b",
        "SORT k",
        "SORT k STORE d",
        "SORT_RO k",
        "OBJECT ENCODING k",
        "GETEX k",
        "HSET h f v",
        "PING x",
        "ECHO",
        "GET",
        "GET a b",
        "NOPE x",
        "OBJECT NOPE k",
        "ZUNIONSTORE d 0 a",
    ];
    let mut seen = Vec::new();
    for redis in [false, true] {
        let s = if redis {
            Server::start_redis(&[])
        } else {
            Server::start(&[])
        };
        let mut out = Vec::new();
        for resp3 in [false, true] {
            let mut r = s.raw();
            if resp3 {
                r.call(&["HELLO", "3"]);
            }
            for line in lines {
                for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
                    let mut args = vec!["COMMAND", sub];
                    args.extend(line.split(' '));
                    out.push(format!("{line} {sub} resp3={resp3}: {}", r.call(&args)));
                }
            }
        }
        seen.push(out);
    }
    for (p, r) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(p, r);
    }
}
