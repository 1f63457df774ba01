//! CLIENT and COMMAND subcommands side by side with Debian's
//! redis-sentinel 7.0.15: the same reply bytes for the same script, in
//! RESP2 and RESP3, over raw connections (ids, ports, ages and buffer
//! sizes normalized, not skipped); and the behaviours behind them, checked
//! on both binaries: CLIENT REPLY silences replies, CLIENT PAUSE holds
//! commands back until it ends or CLIENT UNPAUSE, CLIENT KILL's LADDR and
//! USER filters close the connections they match.
//!
//! Needs `redis-sentinel`; fails, never skips, without it.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use picket_common::resp::{encode_command, Frame};

const BINS: [&str; 2] = ["redis-sentinel", PICKET];

/// A sentinel with no master, on a free port, in `dir`.
fn start(bin: &str, dir: &TempDir) -> Proc {
    require_tool(bin);
    let port = free_port();
    let conf = dir.path().join(format!("sentinel-{port}.conf"));
    fs::write(&conf, format!("port {port}\nbind 127.0.0.1\n")).unwrap();
    start_sentinel(bin, dir.path(), &conf, port)
}

/// A raw RESP connection that returns each reply's bytes.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    id: u64,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = Conn {
            s,
            buf: Vec::new(),
            id: 0,
        };
        c.id = match Frame::parse(&c.call(&["CLIENT", "ID"])) {
            Ok(Some((Frame::Integer(id), _))) => id as u64,
            other => panic!("CLIENT ID: {other:?}"),
        };
        c
    }

    fn send(&mut self, args: &[&str]) {
        let mut req = bytes::BytesMut::new();
        encode_command(args, &mut req);
        self.s.write_all(&req).unwrap();
    }

    /// The next reply's bytes.
    fn read(&mut self) -> Vec<u8> {
        loop {
            if let Some((_, n)) = Frame::parse(&self.buf).unwrap() {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = match self.s.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => r.expect("a reply"),
            };
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    fn call(&mut self, args: &[&str]) -> Vec<u8> {
        self.send(args);
        self.read()
    }

    /// Whether the server closed the connection (within 5 s).
    fn closed(&mut self) -> bool {
        self.s
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut chunk = [0u8; 1024];
        loop {
            match self.s.read(&mut chunk) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => return matches!(r, Ok(0) | Err(_)),
            }
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The reply bytes as text with what differs between two servers and two
/// runs replaced: bulk lengths (`$#`, `=#`; the content is compared), the
/// test's client ids (by name), ports, fds, ages and buffer sizes.
fn normalize(raw: &[u8], ids: &[(u64, &str)]) -> String {
    let name = |v: &str| {
        ids.iter()
            .find(|(id, _)| v.parse() == Ok(*id))
            .map(|(_, n)| n.to_string())
    };
    let mut lines = Vec::new();
    for line in text(raw).split("\r\n") {
        let is_len = |p: char| {
            line.strip_prefix(p)
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        };
        if is_len('$') || is_len('=') {
            lines.push(format!("{}#", &line[..1]));
            continue;
        }
        if let Some(n) = line.strip_prefix(':').and_then(name) {
            lines.push(format!(":{n}"));
            continue;
        }
        // (a RESP3 verbatim string starts with its format)
        let (mut out, line) = match line.strip_prefix("txt:") {
            Some(rest) => ("txt:".to_string(), rest),
            None => (String::new(), line),
        };
        let mut token = String::new();
        for ch in line.chars().chain(std::iter::once('\0')) {
            if ch != ' ' && ch != '\n' && ch != '\0' {
                token.push(ch);
                continue;
            }
            let t = std::mem::take(&mut token);
            out.push_str(&match t.split_once('=') {
                Some(("id" | "redir", v)) => match name(v) {
                    Some(n) => format!("{}={n}", t.split('=').next().unwrap()),
                    None if t.starts_with("id=") => "id=?".into(),
                    None => t,
                },
                Some(("addr", _)) => "addr=P".into(),
                Some(("laddr", _)) => "laddr=L".into(),
                Some((
                    k @ ("fd" | "age" | "idle" | "qbuf" | "qbuf-free" | "argv-mem" | "multi-mem"
                    | "rbs" | "rbp" | "obl" | "oll" | "omem" | "tot-mem"),
                    _,
                )) => format!("{k}=#"),
                _ => t,
            });
            if ch != '\0' {
                out.push(ch);
            }
        }
        lines.push(out);
    }
    lines.join("\r\n")
}

/// One step of a script: `@B` first sends on the second connection;
/// `$A`/`$B` stand for the two connections' ids.
const SCRIPT: &[&[&str]] = &[
    &["CLIENT", "HELP"],
    &["client", "help"],
    &["CLIENT", "HELP", "x"],
    &["CLIENT", "INFO"],
    &["CLIENT", "INFO", "x"],
    &["CLIENT", "LIST", "ID", "$B"],
    &["@B", "PING"],
    &["CLIENT", "LIST", "ID", "$B"],
    &["@B", "nosuchcommand"],
    &["CLIENT", "LIST", "ID", "$B"],
    &["@B", "CLIENT", "nosuchsub"],
    &["CLIENT", "LIST", "ID", "$B"],
    &["@B", "CLIENT", "SETNAME"],
    &["CLIENT", "LIST", "ID", "$B", "$A", "$B", "0", "-1"],
    &["CLIENT", "LIST", "ID", "$B", "x"],
    &["CLIENT", "LIST", "ID"],
    &["CLIENT", "LIST", "TYPE"],
    &["CLIENT", "LIST", "TYPE", "replica"],
    &["CLIENT", "LIST", "TYPE", "Master"],
    &["CLIENT", "LIST", "TYPE", "bogus"],
    &["CLIENT", "LIST", "TYPE", "normal", "x"],
    &["CLIENT", "LIST", "USER", "default"],
    &["CLIENT", "NO-EVICT", "on"],
    &["CLIENT", "INFO"],
    &["CLIENT", "NO-EVICT", "OFF"],
    &["CLIENT", "NO-EVICT", "x"],
    &["CLIENT", "NO-EVICT"],
    &["CLIENT", "NO-EVICT", "on", "x"],
    &["CLIENT", "REPLY"],
    &["CLIENT", "REPLY", "x"],
    &["CLIENT", "REPLY", "ON"],
    &["CLIENT", "REPLY", "on", "x"],
    &["CLIENT", "PAUSE"],
    &["CLIENT", "PAUSE", "x"],
    &["CLIENT", "PAUSE", "-1"],
    &["CLIENT", "PAUSE", "10", "x"],
    &["CLIENT", "PAUSE", "x", "x"],
    &["CLIENT", "PAUSE", "x", "write"],
    &["CLIENT", "PAUSE", "10", "ALL", "x"],
    &["CLIENT", "PAUSE", "9223372036854775807"],
    &["CLIENT", "PAUSE", "0"],
    &["CLIENT", "PAUSE", "0", "WRITE"],
    &["CLIENT", "UNPAUSE"],
    &["CLIENT", "UNPAUSE", "x"],
    &["CLIENT", "UNBLOCK"],
    &["CLIENT", "UNBLOCK", "x"],
    &["CLIENT", "UNBLOCK", "$B"],
    &["CLIENT", "UNBLOCK", "$B", "ERROR"],
    &["CLIENT", "UNBLOCK", "$B", "timeout"],
    &["CLIENT", "UNBLOCK", "$B", "x"],
    &["CLIENT", "UNBLOCK", "x", "x"],
    &["CLIENT", "UNBLOCK", "-5"],
    &["CLIENT", "UNBLOCK", "1", "error", "x"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "GETREDIR", "x"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKINGINFO", "x"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING"],
    &["CLIENT", "CACHING", "yes", "x"],
    &["CLIENT", "TRACKING"],
    &["CLIENT", "TRACKING", "x"],
    &["CLIENT", "TRACKING", "x", "bcast"],
    &["CLIENT", "TRACKING", "on", "x"],
    &["CLIENT", "TRACKING", "on", "redirect"],
    &["CLIENT", "TRACKING", "on", "redirect", "x"],
    &["CLIENT", "TRACKING", "on", "redirect", "999999"],
    &["CLIENT", "TRACKING", "on", "redirect", "0"],
    &[
        "CLIENT", "TRACKING", "on", "redirect", "$B", "redirect", "$B",
    ],
    &["CLIENT", "TRACKING", "on", "prefix", "a"],
    &["CLIENT", "TRACKING", "on", "prefix"],
    &["CLIENT", "TRACKING", "on", "bcast", "optin"],
    &["CLIENT", "TRACKING", "on", "optin", "optout"],
    &[
        "CLIENT", "TRACKING", "off", "prefix", "a", "optin", "optout",
    ],
    &["CLIENT", "TRACKING", "off", "redirect", "999999"],
    &[
        "CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab",
    ],
    &["CLIENT", "TRACKING", "on"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "INFO"],
    &["CLIENT", "TRACKING", "on", "bcast"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING", "no"],
    &["CLIENT", "TRACKING", "off"],
    &[
        "CLIENT", "TRACKING", "on", "BCAST", "noloop", "REDIRECT", "$B",
    ],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "INFO"],
    &["CLIENT", "TRACKING", "on", "bcast", "prefix", "a"],
    &["CLIENT", "TRACKING", "on"],
    &["CLIENT", "TRACKING", "off"],
    &[
        "CLIENT", "TRACKING", "on", "bcast", "prefix", "b", "prefix", "a",
    ],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on", "bcast", "prefix", "c"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on", "bcast", "prefix", "abc"],
    &[
        "CLIENT", "TRACKING", "on", "bcast", "prefix", "d", "prefix", "dd",
    ],
    &["INFO", "clients"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "on", "optin", "noloop"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKINGINFO"],
    &["PING"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "CACHING", "no"],
    &["CLIENT", "CACHING", "maybe"],
    &["CLIENT", "TRACKING", "on", "optout"],
    &["CLIENT", "TRACKING", "on", "bcast"],
    &["CLIENT", "TRACKING", "on"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "TRACKING", "on", "optout", "redirect", "$A"],
    &["CLIENT", "CACHING", "yes"],
    &["CLIENT", "CACHING", "NO"],
    &["CLIENT", "TRACKINGINFO"],
    &["CLIENT", "GETREDIR"],
    &["CLIENT", "LIST", "ID", "$A"],
    &["CLIENT", "TRACKING", "off"],
    &["CLIENT", "KILL"],
    &["CLIENT", "KILL", "1.2.3.4:5"],
    &["CLIENT", "KILL", "MAXAGE", "5"],
    &["CLIENT", "KILL", "USER", "nobody"],
    &["CLIENT", "KILL", "USER", "nobody", "ID", "0"],
    &["CLIENT", "KILL", "ID", "0", "USER", "nobody"],
    &["CLIENT", "KILL", "ID", "x"],
    &["CLIENT", "KILL", "ID", "+5"],
    &["CLIENT", "KILL", "ID", "0", "SKIPME"],
    &["CLIENT", "KILL", "ID", "5", "SKIPME"],
    &["CLIENT", "KILL", "SKIPME"],
    &["CLIENT", "KILL", "SKIPME", "maybe"],
    &["CLIENT", "KILL", "TYPE", "bogus"],
    &["CLIENT", "KILL", "TYPE", "master"],
    &["CLIENT", "KILL", "LADDR", "1.2.3.4:5"],
    &["CLIENT", "KILL", "ADDR", "1.2.3.4:5", "TYPE", "normal"],
    &["CLIENT", "KILL", "USER", "default", "ID", "999999"],
    &["CLIENT", "KILL", "ID", "$A"],
    &["CLIENT", "KILL", "ID", "$A", "SKIPME", "yes"],
    &["COMMAND", "GETKEYS"],
    &["COMMAND", "GETKEYS", "ping"],
    &["COMMAND", "GETKEYS", "ping", "a"],
    &["COMMAND", "GETKEYS", "ping", "a", "b", "c"],
    &["COMMAND", "GETKEYS", "get", "a"],
    &["COMMAND", "GETKEYS", "nosuch", "a"],
    &["COMMAND", "GETKEYS", "client", "bogus"],
    &["COMMAND", "GETKEYS", "CLIENT", "LIST"],
    &["COMMAND", "GETKEYS", "client|list", "x"],
    &["COMMAND", "GETKEYS", "sentinel", "myid"],
    &["COMMAND", "GETKEYS", "subscribe", "ch"],
    &["COMMAND", "GETKEYSANDFLAGS"],
    &["COMMAND", "GETKEYSANDFLAGS", "ping"],
    &["COMMAND", "GETKEYSANDFLAGS", "ping", "x"],
    &["COMMAND", "GETKEYSANDFLAGS", "nosuch", "x"],
    &["COMMAND", "GETKEYSANDFLAGS", "publish", "a", "b"],
    &["CLIENT", "LIST", "ID", "$A"],
];

/// Runs [`SCRIPT`] on a fresh sentinel (`bin`), in RESP `resp`; returns
/// each step's normalized reply.
fn run_script(bin: &str, resp: u8) -> Vec<String> {
    let dir = TempDir::new("clientcmds");
    let p = start(bin, &dir);
    let mut a = Conn::open(p.port);
    let mut b = Conn::open(p.port);
    if resp == 3 {
        a.call(&["HELLO", "3"]);
    }
    let (ida, idb) = (a.id.to_string(), b.id.to_string());
    let ids = [(a.id, "$A"), (b.id, "$B")];
    let mut out = Vec::new();
    for step in SCRIPT {
        let (conn, step) = match step.first() {
            Some(&"@B") => (&mut b, &step[1..]),
            _ => (&mut a, &step[..]),
        };
        let args: Vec<&str> = step
            .iter()
            .map(|w| match *w {
                "$A" => ida.as_str(),
                "$B" => idb.as_str(),
                w => w,
            })
            .collect();
        let mut reply = normalize(&conn.call(&args), &ids);
        if args[0] == "INFO" {
            // only the counters CLIENT subcommands move
            let counters = ["blocked_clients:", "tracking_clients:"];
            reply = reply
                .split("\r\n")
                .filter(|l| counters.iter().any(|c| l.starts_with(c)))
                .collect::<Vec<_>>()
                .join("\r\n");
        }
        out.push(reply);
    }
    out
}

#[test]
fn client_and_command_subcommands_reply_as_redis_sentinel() {
    for resp in [2, 3] {
        let want = run_script("redis-sentinel", resp);
        let got = run_script(PICKET, resp);
        for (k, step) in SCRIPT.iter().enumerate() {
            assert_eq!(got[k], want[k], "RESP{resp}, step {k}: {step:?}");
        }
    }
}

/// Sends `script` pipelined on one connection, then `CLIENT REPLY ON` and
/// `PING end`; returns every byte received up to the final `end`.
fn pipelined(port: u16, script: &[&[&str]]) -> String {
    let mut c = Conn::open(port);
    let mut req = bytes::BytesMut::new();
    for args in script {
        encode_command(args, &mut req);
    }
    encode_command(&["CLIENT", "REPLY", "ON"], &mut req);
    encode_command(&["PING", "end"], &mut req);
    c.s.write_all(&req).unwrap();
    let mut all = Vec::new();
    loop {
        let r = c.read();
        let last = r == b"$3\r\nend\r\n";
        all.extend(r);
        if last {
            return normalize(&all, &[(c.id, "$A")]);
        }
    }
}

const REPLY_SCRIPT: &[&[&str]] = &[
    &["PING", "1"],
    &["CLIENT", "REPLY", "OFF"],
    &["PING", "2"],
    &["nosuchcommand"],
    &["PING", "3", "x", "y"],
    &["CLIENT", "REPLY", "SKIP"],
    &["PING", "4"],
    &["CLIENT", "REPLY", "bogus"],
    &["CLIENT", "REPLY", "ON"],
    &["PING", "5"],
    &["CLIENT", "REPLY", "SKIP"],
    &["PING", "6"],
    &["PING", "7"],
    &["CLIENT", "REPLY", "SKIP"],
    &["nosuchcommand"],
    &["PING", "8"],
    &["CLIENT", "REPLY", "SKIP"],
    &["CLIENT", "REPLY", "ON"],
    &["PING", "9"],
    &["CLIENT", "REPLY", "SKIP"],
    &["CLIENT", "REPLY", "SKIP"],
    &["PING", "10"],
    &["PING", "11"],
    &["HELLO", "3"],
    &["CLIENT", "REPLY", "OFF"],
    // pushes are not replies: never silenced
    &["SUBSCRIBE", "ch"],
    &["PING", "12"],
    &["UNSUBSCRIBE"],
    &["CLIENT", "REPLY", "ON"],
    &["PING", "13"],
];

#[test]
fn client_reply_off_and_skip_silence_replies() {
    let dir = TempDir::new("clientreply");
    let mut streams = Vec::new();
    for bin in BINS {
        let p = start(bin, &dir);
        streams.push(pipelined(p.port, REPLY_SCRIPT));
    }
    assert_eq!(streams[1], streams[0]);
    let pings: Vec<&str> = streams[1]
        .split("\r\n")
        .filter(|l| l.parse::<u32>().is_ok())
        .collect();
    assert_eq!(
        pings,
        ["1", "5", "7", "8", "9", "11", "13"],
        "{}",
        streams[1]
    );
}

/// checkPrefixCollisionsOrReply's quirk: a collision found past the first
/// prefix is reported, and tracking is enabled anyway, with a second
/// reply.
#[test]
fn late_prefix_collision_replies_twice_as_redis_does() {
    let script: &[&[&str]] = &[
        &[
            "CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "b", "prefix", "bc",
        ],
        &["CLIENT", "TRACKINGINFO"],
    ];
    let dir = TempDir::new("clientprefix");
    let mut streams = Vec::new();
    for bin in BINS {
        let p = start(bin, &dir);
        streams.push(pipelined(p.port, script));
    }
    assert_eq!(streams[1], streams[0]);
    assert!(streams[1].contains("+OK\r\n*6\r\n"), "{}", streams[1]);
}

fn elapsed_reply(c: &mut Conn, args: &[&str]) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let r = c.call(args);
    (r, t.elapsed())
}

#[test]
fn client_pause_holds_commands_until_it_ends_or_unpause() {
    let dir = TempDir::new("clientpause");
    for bin in BINS {
        let p = start(bin, &dir);
        let mut a = Conn::open(p.port);
        let mut b = Conn::open(p.port);
        let mut c = Conn::open(p.port);

        // ALL: every command waits, even this client's and UNPAUSE. The
        // clock starts before PAUSE is sent: the pause begins when it is
        // run, later, so the held command cannot be answered sooner than
        // the pause length after that start, however long the test itself
        // stalls in between.
        let t = Instant::now();
        assert_eq!(text(&a.call(&["CLIENT", "PAUSE", "1500"])), "+OK\r\n");
        let r = b.call(&["PING"]);
        let waited = t.elapsed();
        assert_eq!(text(&r), "+PONG\r\n");
        assert!(
            waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
            "{bin}: PING answered {waited:?} after a 1500 ms pause was sent"
        );
        let t = Instant::now();
        assert_eq!(
            text(&a.call(&["CLIENT", "PAUSE", "1000", "ALL"])),
            "+OK\r\n"
        );
        let r = a.call(&["CLIENT", "UNPAUSE"]);
        let waited = t.elapsed();
        assert_eq!(text(&r), "+OK\r\n");
        assert!(
            waited >= Duration::from_millis(1000),
            "{bin}: UNPAUSE ran during an ALL pause ({waited:?} after it was sent)"
        );

        // WRITE: only PUBLISH (may-replicate) waits, until UNPAUSE
        assert_eq!(
            text(&a.call(&["CLIENT", "PAUSE", "20000", "WRITE"])),
            "+OK\r\n"
        );
        let (r, waited) = elapsed_reply(&mut b, &["PING"]);
        assert_eq!(text(&r), "+PONG\r\n");
        assert!(
            waited < Duration::from_secs(1),
            "{bin}: PING waited {waited:?}"
        );
        let t = Instant::now();
        b.send(&["PUBLISH", "ch", "m"]);
        std::thread::sleep(Duration::from_millis(400));
        let line = text(&c.call(&["CLIENT", "LIST", "ID", &b.id.to_string()]));
        assert!(
            line.contains(" flags=b ") && line.contains(" cmd=publish "),
            "{bin}: {line}"
        );
        assert!(text(&c.call(&["INFO", "clients"])).contains("blocked_clients:1\r\n"));
        // UNBLOCK ERROR answers the held client, whose command waits on
        // (UNBLOCK TIMEOUT is not tried: it aborts redis-sentinel 7.0.15)
        let bid = b.id.to_string();
        assert_eq!(
            text(&c.call(&["CLIENT", "UNBLOCK", &bid, "ERROR"])),
            ":1\r\n"
        );
        assert_eq!(
            text(&b.read()),
            "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
        );
        std::thread::sleep(Duration::from_millis(200));
        let line = text(&c.call(&["CLIENT", "LIST", "ID", &bid]));
        assert!(line.contains(" flags=b "), "{bin}: {line}");
        assert_eq!(text(&a.call(&["CLIENT", "UNPAUSE"])), "+OK\r\n");
        let r = b.read();
        let waited = t.elapsed();
        assert_eq!(
            text(&r),
            "-ERR Only HELLO messages are accepted by Sentinel instances.\r\n"
        );
        assert!(
            waited >= Duration::from_millis(350) && waited < Duration::from_secs(5),
            "{bin}: PUBLISH waited {waited:?}"
        );
        assert!(text(&c.call(&["INFO", "clients"])).contains("blocked_clients:0\r\n"));
        let line = text(&c.call(&["CLIENT", "LIST", "ID", &b.id.to_string()]));
        assert!(line.contains(" flags=N "), "{bin}: {line}");
    }
}

#[test]
fn client_kill_laddr_and_user_close_what_they_match() {
    let dir = TempDir::new("clientkill");
    for bin in BINS {
        let p = start(bin, &dir);
        let mut a = Conn::open(p.port);
        let mut b = Conn::open(p.port);
        let laddr = format!("127.0.0.1:{}", p.port);

        let other = format!("127.0.0.1:{}", free_port());
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "LADDR", &other])),
            ":0\r\n"
        );
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "LADDR", &laddr])),
            ":1\r\n"
        );
        assert!(b.closed(), "{bin}: LADDR did not close the other client");
        assert_eq!(text(&a.call(&["PING"])), "+PONG\r\n", "{bin}: SKIPME yes");

        let mut b = Conn::open(p.port);
        let mut c = Conn::open(p.port);
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "USER", "nobody"])),
            "-ERR No such user 'nobody'\r\n"
        );
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "MAXAGE", "0"])),
            "-ERR syntax error\r\n",
            "{bin}: 7.0 has no MAXAGE filter"
        );
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "USER", "default"])),
            ":2\r\n"
        );
        assert!(b.closed() && c.closed(), "{bin}: USER did not close them");

        // without SKIPME, the caller is closed after its reply
        assert_eq!(
            text(&a.call(&["CLIENT", "KILL", "USER", "default", "SKIPME", "no"])),
            ":1\r\n"
        );
        assert!(a.closed(), "{bin}: SKIPME no did not close the caller");
    }
}
