//! Picket's SENTINEL reply shapes against Debian's `redis-sentinel` 7.0.15.
//!
//! A real master, a real replica and two real sentinels run on free
//! ports; the first sentinel's SENTINEL MASTER/MASTERS/REPLICAS/SENTINELS,
//! INFO sentinel, CONFIG GET, DEBUG and SIMULATE-FAILURE replies are read
//! in RESP2 and RESP3 with raw RESP. Picket's core is then given the same
//! facts (the same config, the real servers' INFO texts, the other
//! sentinel's id) and its replies must have the same fields in the same
//! order with the same values, except timers, which only need to be
//! integers. Finally the same SENTINEL SET / CONFIG SET / SIMULATE-FAILURE
//! commands go to both, and the replies, the `+set` events and the
//! resulting CONFIG GET and INFO must agree.
//!
//! Needs `redis-server` and `redis-sentinel` (apt-get install
//! redis-server redis-sentinel redis-tools); fails, never skips, without
//! them.

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use picket_common::resp::Frame;
use picket_sentinel::commands::SimulateFailureOutcome;
use picket_sentinel::instance::{Addr, InstanceId, MasterConfig};
use picket_sentinel::io::{events, Input, LinkKind, Reply};
use picket_sentinel::replies::{self, ScriptStats};
use picket_sentinel::state::SentinelState;

mod common;

use common::{free_port, require_tool, TempDir};

const NAME: &str = "mymaster";
/// Fields whose values are ages or moving counters: compared as
/// integers only.
const VOLATILE: [&str; 10] = [
    "link-pending-commands",
    "last-ping-sent",
    "last-ok-ping-reply",
    "last-ping-reply",
    "info-refresh",
    "role-reported-time",
    "master-link-down-time",
    "slave-repl-offset",
    "last-hello-message",
    "s-down-time",
];

/// A child process killed (and reaped) on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(bin: &str, args: &[String], dir: &Path) -> Proc {
    Proc(
        Command::new(bin)
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {bin}: {e}")),
    )
}

/// A raw RESP connection.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let start = Instant::now();
        loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    return Conn { s, buf: Vec::new() };
                }
                Err(e) => {
                    assert!(start.elapsed() < Duration::from_secs(10), "{port}: {e}");
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        }
    }

    fn send(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend(format!("${}\r\n", a.len()).bytes());
            out.extend(a.bytes());
            out.extend(b"\r\n");
        }
        self.s.write_all(&out).unwrap();
    }

    fn read(&mut self) -> Frame {
        loop {
            if let Some((f, n)) = Frame::parse(&self.buf).unwrap() {
                self.buf.drain(..n);
                return f;
            }
            let mut chunk = [0u8; 16384];
            let n = self.s.read(&mut chunk).expect("a reply");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, args: &[&str]) -> Frame {
        self.send(args);
        self.read()
    }
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Simple(s) | Frame::Error(s) => s.clone(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(f: &Frame) -> Vec<Frame> {
    match f {
        Frame::Array(v) => v.clone(),
        other => panic!("not an array: {other:?}"),
    }
}

/// `(field, value)` pairs of a map (RESP3) or a flat pair array (RESP2),
/// each value required to be a bulk string; volatile values become
/// `<int>` after checking they are integers.
fn pairs(f: &Frame) -> Vec<(String, String)> {
    let flat: Vec<Frame> = match f {
        Frame::Map(p) => p.iter().flat_map(|(k, v)| [k.clone(), v.clone()]).collect(),
        Frame::Array(v) => v.clone(),
        other => panic!("not a map: {other:?}"),
    };
    assert_eq!(flat.len() % 2, 0);
    flat.chunks(2)
        .map(|kv| {
            assert!(matches!(kv[1], Frame::Bulk(_)), "not bulk: {kv:?}");
            let (k, v) = (text(&kv[0]), text(&kv[1]));
            if VOLATILE.contains(&k.as_str()) {
                assert!(v.parse::<i64>().is_ok(), "{k} = {v:?} is not an integer");
                (k, "<int>".to_string())
            } else {
                (k, v)
            }
        })
        .collect()
}

/// Our frame as a client of protocol `resp` reads it.
fn wire(f: &Frame, resp: u8) -> Frame {
    let bytes = f.to_bytes(resp);
    let (back, n) = Frame::parse(&bytes).unwrap().unwrap();
    assert_eq!(n, bytes.len());
    back
}

/// The real group: master, replica, and two sentinels watching them.
struct Group {
    _procs: Vec<Proc>,
    master_port: u16,
    replica_port: u16,
    s1: u16,
    s2_id: String,
    s2_port: u16,
}

fn start_group(dir: &Path) -> Group {
    let (mp, rp, s1, s2) = (free_port(), free_port(), free_port(), free_port());
    let base = |p: u16| -> Vec<String> {
        ["--port", &p.to_string(), "--save", "", "--appendonly", "no"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let mut procs = vec![spawn("redis-server", &base(mp), dir)];
    let mut ra = base(rp);
    ra.extend(["--replicaof".into(), "127.0.0.1".into(), mp.to_string()]);
    procs.push(spawn("redis-server", &ra, dir));
    // Replication up before the sentinels read INFO, so their first
    // reading is the settled one.
    let mut rc = Conn::open(rp);
    wait("the replica to sync", || {
        text(&rc.call(&["INFO", "replication"])).contains("master_link_status:up")
    });
    for p in [s1, s2] {
        let conf = dir.join(format!("s{p}.conf"));
        fs::write(
            &conf,
            format!(
                "port {p}\ndir {}\nsentinel monitor {NAME} 127.0.0.1 {mp} 2\n\
                 sentinel down-after-milliseconds {NAME} 2000\n\
                 sentinel failover-timeout {NAME} 6000\n\
                 sentinel notification-script {NAME} /bin/true\n",
                dir.display()
            ),
        )
        .unwrap();
        procs.push(spawn("redis-sentinel", &[conf.display().to_string()], dir));
    }
    let s2_id = text(&Conn::open(s2).call(&["SENTINEL", "MYID"]));
    let mut c = Conn::open(s1);
    wait("sentinel 1 to see the replica and sentinel 2", || {
        let m = pairs(&c.call(&["SENTINEL", "MASTER", NAME]));
        let get = |k: &str| m.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        let reps = items(&c.call(&["SENTINEL", "REPLICAS", NAME]));
        get("num-slaves").as_deref() == Some("1")
            && get("num-other-sentinels").as_deref() == Some("1")
            && get("flags").as_deref() == Some("master")
            && reps.len() == 1
            && pairs(&reps[0])
                .iter()
                .any(|(k, v)| k == "master-link-status" && v == "ok")
            // and its link to sentinel 2 is up (flags without
            // "disconnected"), or the flags compared below differ by timing
            && items(&c.call(&["SENTINEL", "SENTINELS", NAME]))
                .first()
                .is_some_and(|s| {
                    pairs(s)
                        .iter()
                        .any(|(k, v)| k == "flags" && v == "sentinel")
                })
    });
    Group {
        _procs: procs,
        master_port: mp,
        replica_port: rp,
        s1,
        s2_id,
        s2_port: s2,
    }
}

fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Picket's core told what the real sentinel 1 knows: the same config,
/// links up, the real INFO texts, sentinel 2 known and recently heard.
fn equivalent_state(g: &Group) -> (SentinelState, i64) {
    let mut now = 1_700_000_000_000;
    let mut st = SentinelState::new(
        picket_sentinel::config::random_id(),
        g.s1,
        now,
        Box::new(rand::rngs::mock::StepRng::new(0, 0)),
    );
    let mut cfg = MasterConfig::new(NAME, Addr::new("127.0.0.1", g.master_port), 2);
    cfg.down_after = 2000;
    cfg.failover_timeout = 6000;
    cfg.notification_script = Some("/bin/true".into());
    st.add_master(now, cfg).unwrap();
    st.add_known_replica(now, NAME, Addr::new("127.0.0.1", g.replica_port));
    st.add_known_sentinel(now, NAME, Addr::new("127.0.0.1", g.s2_port), &g.s2_id);
    let master = InstanceId::Master(NAME.into());
    let replica = InstanceId::Replica {
        master: NAME.into(),
        name: format!("127.0.0.1:{}", g.replica_port),
    };
    let sentinel = InstanceId::Sentinel {
        master: NAME.into(),
        runid: g.s2_id.clone(),
    };
    now += 300;
    for (id, port, pubsub) in [
        (&master, g.master_port, true),
        (&replica, g.replica_port, true),
        (&sentinel, g.s2_port, false),
    ] {
        let mut links = vec![LinkKind::Command];
        if pubsub {
            links.push(LinkKind::PubSub);
        }
        for link in links {
            st.handle(
                now,
                Input::LinkUp {
                    instance: id.clone(),
                    link,
                    local_ip: "127.0.0.1".into(),
                },
            );
        }
        st.handle(
            now,
            Input::PingReply {
                instance: id.clone(),
                reply: Reply::Status("PONG".into()),
            },
        );
        if pubsub {
            let info = text(&Conn::open(port).call(&["INFO"]));
            st.handle(
                now,
                Input::InfoReply {
                    instance: id.clone(),
                    text: Some(info),
                },
            );
        }
    }
    now += 500;
    (st, now)
}

#[test]
fn sentinel_replies_match_redis_sentinel() {
    require_tool("redis-server");
    require_tool("redis-sentinel");
    let dir = TempDir::new("sentinel-replies");
    let g = start_group(&dir.0);
    let mut r2 = Conn::open(g.s1);
    let mut r3 = Conn::open(g.s1);
    assert!(matches!(r3.call(&["HELLO", "3"]), Frame::Map(_)));
    let (mut st, now) = equivalent_state(&g);

    // ---- instance maps, both protocols ----
    let ours_master = replies::master(&st, NAME, now).unwrap();
    let ours_replicas = replies::replicas(&st, NAME, now).unwrap();
    let ours_sentinels = replies::sentinels(&st, NAME, now).unwrap();
    let ours_masters = replies::masters(&st, now);
    for (resp, conn) in [(2u8, &mut r2), (3u8, &mut r3)] {
        let real = conn.call(&["SENTINEL", "MASTER", NAME]);
        if resp == 3 {
            assert!(matches!(real, Frame::Map(_)), "{real:?}");
        }
        let mine = wire(&ours_master, resp);
        assert_eq!(std::mem::discriminant(&mine), std::mem::discriminant(&real));
        assert_eq!(pairs(&mine), pairs(&real), "SENTINEL MASTER, RESP{resp}");

        let real = items(&conn.call(&["SENTINEL", "MASTERS"]));
        let mine = items(&wire(&ours_masters, resp));
        assert_eq!(mine.len(), real.len());
        assert_eq!(pairs(&mine[0]), pairs(&real[0]), "MASTERS, RESP{resp}");

        for (sub, ours) in [("REPLICAS", &ours_replicas), ("SLAVES", &ours_replicas)] {
            let real = items(&conn.call(&["SENTINEL", sub, NAME]));
            let mine = items(&wire(ours, resp));
            assert_eq!(mine.len(), 1);
            assert_eq!(real.len(), 1);
            assert_eq!(pairs(&mine[0]), pairs(&real[0]), "{sub}, RESP{resp}");
        }

        let real = items(&conn.call(&["SENTINEL", "SENTINELS", NAME]));
        let mine = items(&wire(&ours_sentinels, resp));
        assert_eq!((mine.len(), real.len()), (1, 1));
        assert_eq!(pairs(&mine[0]), pairs(&real[0]), "SENTINELS, RESP{resp}");

        // Exact frames: CONFIG GET, DEBUG, SIMULATE-FAILURE HELP.
        for pattern in ["*", "announce*", "SENTINEL-*", "none"] {
            let real = conn.call(&["SENTINEL", "CONFIG", "GET", pattern]);
            assert_eq!(
                wire(&replies::config_get(&st, pattern), resp),
                real,
                "CONFIG GET {pattern}"
            );
        }
        assert_eq!(
            wire(&replies::debug_timers(&st), resp),
            conn.call(&["SENTINEL", "DEBUG"])
        );
        assert_eq!(
            wire(&replies::simulate_failure_help(), resp),
            conn.call(&["SENTINEL", "SIMULATE-FAILURE", "HELP"])
        );
    }

    // ---- INFO sentinel: byte for byte ----
    let real_info = text(&r2.call(&["INFO", "sentinel"]));
    let ours_info = replies::info_section(&st, ScriptStats::default(), now);
    assert_eq!(ours_info.trim_end(), real_info.trim_end());

    // ---- INFO-CACHE: same shape, same INFO texts' kind ----
    let real = items(&r2.call(&["SENTINEL", "INFO-CACHE", NAME]));
    let mine = items(&replies::info_cache(&st, &[NAME], now));
    assert_eq!((real.len(), mine.len()), (2, 2));
    assert_eq!(real[0], mine[0]);
    let (real, mine) = (items(&real[1]), items(&mine[1]));
    assert_eq!(real.len(), mine.len());
    for (a, b) in real.iter().zip(&mine) {
        let (a, b) = (items(a), items(b));
        assert!(matches!(
            (&a[0], &b[0]),
            (Frame::Integer(_), Frame::Integer(_))
        ));
        assert!(text(&a[1]).contains("# Server\r\n") && text(&b[1]).contains("# Server\r\n"));
    }

    // ---- SENTINEL SET: replies and +set events ----
    let mut events_conn = Conn::open(g.s1);
    assert!(matches!(
        events_conn.call(&["SUBSCRIBE", "+set"]),
        Frame::Array(_)
    ));
    let exec = |p: &str| {
        fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let sets: &[&[&str]] = &[
        &["quorum", "2"],
        &[
            "down-after-milliseconds",
            "2000",
            "FAILOVER-TIMEOUT",
            "6000",
        ],
        &["quorum", "0"],
        &["quorum", "abc"],
        &["quorum", "02"],
        &["foo", "1"],
        &["rename-command", "x"],
        &["rename-command", "", "x"],
        &["rename-command", "x", ""],
        &["rename-command", "CONFIG", "GUARDED"],
        &["rename-command", "config", "Config"],
        &["notification-script", "/bin/true"],
        &["client-reconfig-script", ""],
        &["master-reboot-down-after-period", "-1"],
        &["master-reboot-down-after-period", "0"],
        &["parallel-syncs", "3", "quorum", "0"],
        &["parallel-syncs", "1"],
        &["auth-pass", "secret"],
        &["auth-pass", ""],
        &["auth-user", ""],
    ];
    let mut our_events = Vec::new();
    for args in sets {
        let mut argv = vec!["SENTINEL", "SET", NAME];
        argv.extend_from_slice(args);
        let real = r2.call(&argv);
        let (res, actions) = st.set(NAME, args, &exec);
        let mine = match res {
            Ok(()) => Frame::ok(),
            Err(e) => Frame::Error(e.to_string()),
        };
        assert_eq!(mine, real, "SENTINEL SET {args:?}");
        our_events.extend(events(&actions));
    }
    let mut real_events = Vec::new();
    while real_events.len() < our_events.len() {
        let msg = items(&events_conn.read());
        assert_eq!(text(&msg[0]), "message");
        real_events.push(format!("{} {}", text(&msg[1]), text(&msg[2])));
    }
    assert_eq!(our_events, real_events);

    // ---- CONFIG SET ----
    let config_sets: &[[&str; 2]] = &[
        ["announce-port", "70000"],
        ["announce-port", "-1"],
        ["foo", "1"],
        ["resolve-hostnames", "maybe"],
        ["announce-port", "0"],
        ["RESOLVE-HOSTNAMES", "NO"],
        ["announce-hostnames", "no"],
        ["sentinel-user", ""],
        ["sentinel-pass", ""],
    ];
    for [p, v] in config_sets {
        let real = r2.call(&["SENTINEL", "CONFIG", "SET", p, v]);
        let mine = match st.config_set(p, v).0 {
            Ok(()) => Frame::ok(),
            Err(e) => Frame::Error(e.to_string()),
        };
        assert_eq!(mine, real, "SENTINEL CONFIG SET {p} {v}");
    }
    assert_eq!(
        replies::config_get(&st, "*"),
        r3.call(&["SENTINEL", "CONFIG", "GET", "*"])
    );

    // ---- SIMULATE-FAILURE ----
    for args in [
        vec!["bogus"],
        vec!["crash-after-election", "bogus"],
        vec!["CRASH-AFTER-PROMOTION"],
    ] {
        let mut argv = vec!["SENTINEL", "SIMULATE-FAILURE"];
        argv.extend_from_slice(&args);
        let real = r2.call(&argv);
        let mine = match st.simulate_failure(&args) {
            Ok(SimulateFailureOutcome::Ok) => Frame::ok(),
            Ok(SimulateFailureOutcome::Help) => replies::simulate_failure_help(),
            Err(e) => Frame::Error(e.to_string()),
        };
        assert_eq!(mine, real, "SIMULATE-FAILURE {args:?}");
        let real_info = text(&r2.call(&["INFO", "sentinel"]));
        let ours_info = replies::info_section(&st, ScriptStats::default(), now);
        let flags = |s: &str| {
            s.lines()
                .find(|l| l.starts_with("sentinel_simulate_failure_flags:"))
                .map(str::to_string)
        };
        assert_eq!(flags(&ours_info), flags(&real_info), "{args:?}");
    }
    assert!(matches!(
        r2.call(&["SENTINEL", "SIMULATE-FAILURE", "HELP"]),
        Frame::Array(_)
    ));
}
