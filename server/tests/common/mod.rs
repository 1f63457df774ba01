//! Test harness: start the real `picket-server` (or Debian's
//! `redis-server`) on a free port in its own temp dir, and stop it when
//! the guard drops, even if the test panics.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on loopback (bind to :0, read, release).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind :0");
    l.local_addr().expect("local addr").port()
}

/// A running server process; killed on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts picket-server with `--port <free> --dir <tmp> --save ""` and `extra`.
    pub fn start(extra: &[&str]) -> Server {
        Self::start_bin(env!("CARGO_BIN_EXE_picket-server"), extra)
    }

    /// Starts Debian's redis-server the same way (must be installed: CI does).
    pub fn start_redis(extra: &[&str]) -> Server {
        Self::start_bin("redis-server", extra)
    }

    /// Starts `bin` with the standard test arguments.
    pub fn start_bin(bin: &str, extra: &[&str]) -> Server {
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("tempdir");
            let port = free_port();
            let mut args: Vec<String> = vec![
                "--port".into(),
                port.to_string(),
                "--bind".into(),
                "127.0.0.1".into(),
                "--dir".into(),
                dir.path().display().to_string(),
                "--save".into(),
                "".into(),
            ];
            args.extend(extra.iter().map(|s| s.to_string()));
            let child = Command::new(bin)
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
            let mut s = Server { child, port, dir };
            if s.wait_ready(Duration::from_secs(10)) {
                return s;
            }
            let _ = s.child.kill();
        }
        panic!("{bin} did not start");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        wait_listening(&mut self.child, self.port, limit)
    }

    /// redis:// URL for the `redis` crate.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous connection from the `redis` crate (with timeouts, see
    /// [`connect_url`]).
    pub fn conn(&self) -> redis::Connection {
        connect_url(&self.url()).expect("connect")
    }

    /// A RESP3 connection from the `redis` crate.
    pub fn conn3(&self) -> redis::Connection {
        connect_url(&format!("{}?protocol=resp3", self.url())).expect("connect")
    }

    /// A raw socket to speak exact RESP bytes.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], self.port)),
            CONNECT_TIMEOUT,
        )
        .expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        s.set_write_timeout(Some(IO_TIMEOUT)).ok();
        Raw { s }
    }
}

/// Bound on establishing a test connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on any single read or write of a `redis` crate connection: a
/// stuck server fails the test instead of hanging CI.
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A `redis` crate connection to `url` whose connect, reads and writes
/// are bounded ([`CONNECT_TIMEOUT`], [`IO_TIMEOUT`]).
pub fn connect_url(url: &str) -> redis::RedisResult<redis::Connection> {
    let c = redis::Client::open(url)?.get_connection_with_timeout(CONNECT_TIMEOUT)?;
    c.set_read_timeout(Some(IO_TIMEOUT))?;
    c.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(c)
}

/// Inodes of the sockets listening on TCP `port` (any address), from
/// /proc/net/tcp and tcp6; None when neither can be read.
fn listening_inodes(port: u16) -> Option<Vec<u64>> {
    let mut found: Option<Vec<u64>> = None;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        let v = found.get_or_insert_with(Vec::new);
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st queues timer retrnsmt uid timeout inode
            if cols.len() < 10 || cols[3] != "0A" {
                continue;
            }
            let local_port = cols[1]
                .rsplit_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                if let Ok(ino) = cols[9].parse() {
                    v.push(ino);
                }
            }
        }
    }
    found
}

/// Whether process `pid` owns a socket listening on TCP `port`: Some(false)
/// when it does not (nobody listens, or another process does), None when
/// /proc cannot tell.
pub fn listens_on(pid: u32, port: u16) -> Option<bool> {
    let inodes = listening_inodes(port)?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    for fd in fds.flatten() {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let ino = target
            .to_str()
            .and_then(|t| t.strip_prefix("socket:["))
            .and_then(|t| t.strip_suffix(']'))
            .and_then(|t| t.parse::<u64>().ok());
        if ino.is_some_and(|i| inodes.contains(&i)) {
            return Some(true);
        }
    }
    Some(false)
}

/// Waits until `child` itself accepts connections on `port`. A free port
/// can be taken by another test's server between [`free_port`] and our
/// bind: ours then exits, and the one answering is not ours, so the
/// listening socket's owner is checked (false: ours exited or never
/// listened within `limit`).
pub fn wait_listening(child: &mut Child, port: u16, limit: Duration) -> bool {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        match listens_on(child.id(), port) {
            Some(false) => {}
            Some(true) => {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return matches!(child.try_wait(), Ok(None));
                }
            }
            None => {
                // no /proc to ask: trust a connection if ours is still
                // alive a moment later (one that failed to bind exits)
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    std::thread::sleep(Duration::from_millis(50));
                    return matches!(child.try_wait(), Ok(None));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Reads what a `PSUBSCRIBE __keyevent@0__:*` connection received until
/// the event of key `end` (a test's last write) and returns it as
/// `event:key` words; panics after 10 s without it.
pub fn keyevents_until_end(sub: &mut Raw) -> String {
    use picket_common::resp::Frame;
    let mut buf = Vec::new();
    let t = Instant::now();
    while !buf.ends_with(b"\r\nend\r\n") {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "no end event within 10 s; got {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend(sub.read_available(Duration::from_millis(100)));
    }
    let mut events = Vec::new();
    let mut rest = &buf[..];
    while let Ok(Some((frame, n))) = Frame::parse(rest) {
        rest = &rest[n..];
        if let Frame::Array(parts) = frame {
            if let (Some(Frame::Bulk(ch)), Some(Frame::Bulk(key))) = (parts.get(2), parts.get(3)) {
                let ch = String::from_utf8_lossy(ch);
                let ev = ch.trim_start_matches("__keyevent@0__:");
                events.push(format!("{ev}:{}", String::from_utf8_lossy(key)));
            }
        }
    }
    events.join(" ")
}

/// Spawns `cmd` (a server told to listen on `port`) and waits until this
/// very process serves there, done loading ([`connect_to_pid`]): None if
/// it exited first (e.g. another test took the port).
pub fn try_serve(cmd: Command, port: u16) -> Option<(Server, redis::Connection)> {
    let mut s = spawn_server(cmd, port);
    let pid = s.child.id();
    let child = &mut s.child;
    let c = connect_to_pid(
        port,
        pid,
        || !matches!(child.try_wait(), Ok(None)),
        Duration::from_secs(20),
    )?;
    Some((s, c))
}

/// Spawns `cmd` (a server told to listen on `port`), output discarded,
/// as a [`Server`] guard.
pub fn spawn_server(mut cmd: Command, port: u16) -> Server {
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server {
        child,
        port,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// Polls until the server answering on `port` is the process `pid` (its
/// INFO process_id) and has loaded its data set, and returns a connection
/// to it; None as soon as `exited()` says the process is gone (e.g. its
/// bind failed). Panics after `limit`.
pub fn connect_to_pid(
    port: u16,
    pid: u32,
    mut exited: impl FnMut() -> bool,
    limit: Duration,
) -> Option<redis::Connection> {
    let t = Instant::now();
    let mut last = String::from("no answer");
    loop {
        if exited() {
            return None;
        }
        if let Ok(mut c) = connect_url(&format!("redis://127.0.0.1:{port}/")) {
            match redis::cmd("INFO").query::<String>(&mut c) {
                Ok(i) => {
                    let ours = i.lines().any(|l| l.trim() == format!("process_id:{pid}"));
                    if ours && i.contains("\nloading:0\r") {
                        return Some(c);
                    }
                    last = i;
                }
                Err(e) => last = e.to_string(),
            }
        }
        assert!(
            t.elapsed() < limit,
            "process {pid} is not serving on port {port} after {limit:?}; last answer: {last}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `tracer` (an `strace ... -p pid`) has attached to every
/// thread of `pid` (TracerPid in /proc) and sits waiting for events, so
/// nothing `pid` does from now on escapes the trace. Panics if strace
/// exits or after 20 s.
pub fn wait_traced(tracer: &mut Child, pid: u32) {
    let t = Instant::now();
    let mut traced_since: Option<Instant> = None;
    loop {
        if let Ok(Some(st)) = tracer.try_wait() {
            panic!("strace exited ({st}) before attaching to {pid}");
        }
        if all_tasks_traced(pid) {
            let since = *traced_since.get_or_insert_with(Instant::now);
            // strace blocks in wait4 only once it attached every thread and
            // handled each attach stop. /proc/<pid>/wchan shows it ("0"
            // while on a CPU); a kernel that never shows it gets a second
            // after the attach instead.
            let wchan =
                std::fs::read_to_string(format!("/proc/{}/wchan", tracer.id())).unwrap_or_default();
            if wchan.trim() == "do_wait" || since.elapsed() > Duration::from_secs(1) {
                return;
            }
        } else {
            traced_since = None;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "strace did not attach to {pid} within 20 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether every thread of `pid` has a tracer.
fn all_tasks_traced(pid: u32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    let mut any = false;
    for task in tasks.flatten() {
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        let tracer = status
            .lines()
            .find_map(|l| l.strip_prefix("TracerPid:"))
            .and_then(|v| v.trim().parse::<u32>().ok())
            .unwrap_or(0);
        if tracer == 0 {
            return false;
        }
        any = true;
    }
    any
}

/// A raw connection: send bytes, read whole replies.
pub struct Raw {
    pub s: TcpStream,
}

impl Raw {
    /// Sends bytes as they are.
    pub fn send(&mut self, b: &[u8]) {
        self.s.write_all(b).expect("write");
    }

    /// Sends a command as a RESP array.
    pub fn cmd(&mut self, args: &[&str]) {
        let mut out = format!("*{}\r\n", args.len());
        for a in args {
            out.push_str(&format!("${}\r\n{}\r\n", a.len(), a));
        }
        self.send(out.as_bytes());
    }

    /// Reads exactly one reply frame and returns its raw bytes.
    pub fn read_frame(&mut self) -> Vec<u8> {
        self.read_frames(1)
    }

    /// Reads exactly `n` reply frames (waiting up to the socket's read
    /// timeout, 5 s, for each chunk) and returns their bytes together;
    /// panics if more than `n` arrived. To also show that nothing more
    /// follows, send a command after and check that its reply comes next.
    pub fn read_frames(&mut self, n: usize) -> Vec<u8> {
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        loop {
            let (mut at, mut count) = (0, 0);
            while count < n {
                match picket_common::resp::Frame::parse(&buf[at..]) {
                    Ok(Some((_, used))) => {
                        at += used;
                        count += 1;
                    }
                    _ => break,
                }
            }
            if count == n {
                assert!(
                    at == buf.len(),
                    "more than {n} frame(s) arrived: {:?}",
                    String::from_utf8_lossy(&buf)
                );
                return buf;
            }
            let got = self.s.read(&mut tmp).unwrap_or_else(|e| {
                panic!(
                    "read ({count} of {n} frames so far: {:?}): {e}",
                    String::from_utf8_lossy(&buf)
                )
            });
            if got == 0 {
                return buf;
            }
            buf.extend_from_slice(&tmp[..got]);
        }
    }

    /// Reads until `n` bytes or EOF/timeout; returns what arrived.
    pub fn read_available(&mut self, wait: Duration) -> Vec<u8> {
        self.s.set_read_timeout(Some(wait)).ok();
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        while let Ok(n) = self.s.read(&mut tmp) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&tmp[..n]);
        }
        self.s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        buf
    }

    /// Sends a command and returns the raw reply as a string.
    pub fn call(&mut self, args: &[&str]) -> String {
        self.cmd(args);
        String::from_utf8_lossy(&self.read_frame()).into_owned()
    }

    /// Whether the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        self.s.set_read_timeout(Some(Duration::from_secs(2))).ok();
        let mut tmp = [0u8; 16];
        matches!(self.s.read(&mut tmp), Ok(0))
    }
}

/// Runs a command through the `redis` crate and returns the value.
pub fn q<T: redis::FromRedisValue>(c: &mut redis::Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// Runs a command and returns its error text (panics if it succeeded).
pub fn qerr(c: &mut redis::Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Ok(v) => panic!("{args:?} should fail, got {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            if code.is_empty() {
                e.to_string()
            } else {
                format!("{code} {detail}")
            }
        }
    }
}

/// Starts `bin` on a free port with `dir` as its data directory and waits
/// until its data set is loaded (as a client would after -LOADING).
pub fn start_in(bin: &str, dir: &std::path::Path, extra: &[&str]) -> Server {
    let s = start_raw(bin, dir, extra);
    let mut r = s.raw();
    for _ in 0..1500 {
        if r.call(&["INFO", "persistence"]).contains("\nloading:0\r") {
            return s;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{bin} did not finish loading");
}

/// Starts `bin` without waiting for the load.
pub fn start_raw(bin: &str, dir: &std::path::Path, extra: &[&str]) -> Server {
    for _ in 0..5 {
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--dir",
            &dir.display().to_string(),
        ])
        .args(extra);
        let mut s = spawn_server(cmd, port);
        if wait_listening(&mut s.child, port, Duration::from_secs(10)) {
            return s;
        }
    }
    panic!("{bin} did not start");
}

/// A local address that is not loopback (the default route's source).
pub fn non_loopback_ip() -> std::net::IpAddr {
    for probe in ["192.0.2.1:9", "10.255.255.255:9", "8.8.8.8:53"] {
        if let Ok(sock) = std::net::UdpSocket::bind("0.0.0.0:0") {
            if sock.connect(probe).is_ok() {
                if let Ok(a) = sock.local_addr() {
                    if !a.ip().is_loopback() && !a.ip().is_unspecified() {
                        return a.ip();
                    }
                }
            }
        }
    }
    panic!("this host has no non-loopback IPv4 address to test protected mode with");
}
