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
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Another test's server could hold the same port if ours
                // failed to bind: ours would then exit at once, so make
                // sure it is still alive before trusting the connection.
                std::thread::sleep(Duration::from_millis(50));
                return matches!(self.child.try_wait(), Ok(None));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// redis:// URL for the `redis` crate.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// A synchronous connection from the `redis` crate.
    pub fn conn(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    /// A RESP3 connection from the `redis` crate.
    pub fn conn3(&self) -> redis::Connection {
        redis::Client::open(format!("{}?protocol=resp3", self.url()))
            .expect("client")
            .get_connection()
            .expect("connect")
    }

    /// A raw socket to speak exact RESP bytes.
    pub fn raw(&self) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).ok();
        Raw { s }
    }
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
        let mut buf = Vec::new();
        let mut tmp = [0u8; 4096];
        loop {
            if let Ok(Some((_, n))) = picket_common::resp::Frame::parse(&buf) {
                let rest = buf.split_off(n);
                assert!(
                    rest.is_empty(),
                    "more than one frame arrived: {:?}",
                    String::from_utf8_lossy(&rest)
                );
                return buf;
            }
            let n = self.s.read(&mut tmp).expect("read");
            if n == 0 {
                return buf;
            }
            buf.extend_from_slice(&tmp[..n]);
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
        let child = Command::new(bin)
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &dir.display().to_string(),
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let s = Server {
            child,
            port,
            dir: tempfile::tempdir().unwrap(),
        };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
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
