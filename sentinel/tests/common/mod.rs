//! Helpers shared by the real-process tests (failover.rs, scenarios.rs):
//! free ports, temp directories, child processes killed on drop, data
//! nodes (redis-server or picket-server), sentinels with their own config
//! and log files, `redis-cli`, bounded waits, and a raw `PSUBSCRIBE *`
//! event reader.
//!
//! Every wait is bounded; processes are killed and directories removed on
//! drop. When a test fails, the temp directory's sentinel logs are printed
//! before it is removed, so the failure can be read from the test output
//! (`PICKET_KEEP_TEST_DIRS=1` keeps the directories instead).
//!
//! Not every test file uses every helper.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use picket_common::resp::{encode_command, Frame};

/// The sentinel under test.
pub const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");
/// The monitored master's name everywhere.
pub const MASTER: &str = "mymaster";

static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held for a whole test by files whose tests measure timings (down-after
/// 1 s on a 2-core machine): they run one at a time instead of starving
/// each other.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Fails (never skips) when a tool the test needs is missing.
pub fn require_tool(name: &str) {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "{name} is missing: apt-get install -y redis-server redis-sentinel redis-tools"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A temp directory removed on drop; on a failing test its `*.log` files
/// (the sentinels' logs) are printed first.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "picket-{tag}-{}-{}",
            std::process::id(),
            &picket_sentinel::config::random_id()[..8]
        ));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut logs: Vec<PathBuf> = fs::read_dir(&self.0)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .collect();
            logs.sort();
            for log in logs {
                let text = fs::read_to_string(&log).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(120)..];
                eprintln!("==== {} ====\n{}", log.display(), tail.join("\n"));
            }
        }
        if std::env::var_os("PICKET_KEEP_TEST_DIRS").is_some() {
            eprintln!("kept {}", self.0.display());
            return;
        }
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
pub struct Proc {
    pub child: Child,
    pub port: u16,
}

impl Proc {
    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.child.id());
    }

    /// SIGSTOP: the process keeps its sockets but answers nothing.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// SIGCONT after [`Proc::pause`].
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    /// SIGTERM, then wait (bounded) for a clean exit; returns its status.
    pub fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "no exit {within:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // (SIGKILL also ends a paused process)
        self.kill();
    }
}

/// Processes held paused (SIGSTOP, in the order given) for as long as the
/// guard lives; dropping it resumes them (SIGCONT) in the reverse order,
/// also when the test panics in between, so nothing is left stopped.
pub struct Paused<'a>(Vec<&'a Proc>);

impl<'a> Paused<'a> {
    pub fn new(procs: &[&'a Proc]) -> Self {
        let mut guard = Paused(Vec::with_capacity(procs.len()));
        for p in procs {
            p.pause();
            guard.0.push(p);
        }
        guard
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        for p in self.0.iter().rev() {
            // no assert here: a panic while unwinding would abort the run
            // SAFETY: kill(2) on our own child's pid; no memory is involved.
            unsafe { libc::kill(p.child.id() as libc::pid_t, libc::SIGCONT) };
        }
    }
}

pub fn redis_server(dir: &Path, replica_of: Option<u16>) -> Proc {
    server("redis-server", dir, replica_of)
}

/// picket-server from this workspace's build directory (`cargo test
/// --workspace`, the README's test command, builds it with its own tests).
pub fn picket_server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("picket-server");
    assert!(
        bin.exists(),
        "{} is missing: run the workspace's tests (cargo test --workspace) or cargo build -p picket-server",
        bin.display()
    );
    bin
}

/// A monitored server (`bin` = redis-server or picket-server).
pub fn server(bin: impl AsRef<std::ffi::OsStr>, dir: &Path, replica_of: Option<u16>) -> Proc {
    server_with(bin, dir, replica_of, &[])
}

/// [`server`] with extra `--option value` arguments.
pub fn server_with(
    bin: impl AsRef<std::ffi::OsStr>,
    dir: &Path,
    replica_of: Option<u16>,
    extra: &[&str],
) -> Proc {
    let port = free_port();
    let mut args = vec![
        "--port".to_string(),
        port.to_string(),
        "--bind".into(),
        "127.0.0.1".into(),
        "--save".into(),
        "".into(),
        "--appendonly".into(),
        "no".into(),
        "--dir".into(),
        dir.display().to_string(),
        "--dbfilename".into(),
        format!("dump-{port}.rdb"),
    ];
    if let Some(m) = replica_of {
        args.extend(["--replicaof".into(), "127.0.0.1".into(), m.to_string()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let child = Command::new(bin)
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    wait_for("the server to answer", Duration::from_secs(10), || {
        cli(port, &["PING"]).trim() == "PONG"
    });
    p
}

/// A sentinel config: `port`, `bind`, `dir`, `sentinel monitor` with
/// `quorum`, then `extra` lines verbatim.
pub fn write_sentinel_conf(
    dir: &Path,
    port: u16,
    master_port: u16,
    quorum: u32,
    extra: &str,
) -> PathBuf {
    let path = dir.join(format!("sentinel-{port}.conf"));
    fs::write(
        &path,
        format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
             sentinel monitor {MASTER} 127.0.0.1 {master_port} {quorum}\n{extra}",
            dir = dir.display()
        ),
    )
    .unwrap();
    path
}

/// The usual test config: quorum 2, down-after 1000, failover-timeout
/// 10000.
pub fn sentinel_conf(dir: &Path, port: u16, master_port: u16) -> PathBuf {
    write_sentinel_conf(
        dir,
        port,
        master_port,
        2,
        &format!(
            "sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n"
        ),
    )
}

/// Starts `bin` (picket-sentinel or redis-sentinel) on an existing config
/// listening on `port`; its log is appended to `<conf>.log`, so a
/// restarted sentinel keeps one log.
pub fn start_sentinel(bin: &str, dir: &Path, conf: &Path, port: u16) -> Proc {
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(conf.with_extension("log"))
        .unwrap();
    let child = Command::new(bin)
        .arg(conf)
        .current_dir(dir)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    wait_for("a sentinel to answer", Duration::from_secs(10), || {
        cli(port, &["PING"]).trim() == "PONG"
    });
    p
}

/// A sentinel (`bin` = picket-sentinel or redis-sentinel) with its own
/// usual config file ([`sentinel_conf`]); its log goes to `<conf>.log`.
pub fn sentinel(bin: &str, dir: &Path, master_port: u16) -> (Proc, PathBuf) {
    let port = free_port();
    let conf = sentinel_conf(dir, port, master_port);
    (start_sentinel(bin, dir, &conf, port), conf)
}

pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME` as `ip:port`.
pub fn master_addr(port: u16) -> String {
    cli(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER])
        .lines()
        .collect::<Vec<_>>()
        .join(":")
}

/// A field of a `SENTINEL MASTER`-style flat reply (redis-cli prints
/// field and value on alternate lines).
pub fn field(reply: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = reply.lines().collect();
    lines
        .chunks(2)
        .find(|kv| kv.len() == 2 && kv[0] == name)
        .map(|kv| kv[1].to_string())
}

/// How many records `SENTINEL REPLICAS`/`SENTINELS` lists (each has one
/// `name` field).
pub fn records(reply: &str) -> usize {
    reply.lines().filter(|l| *l == "name").count()
}

pub fn count_lines(path: &Path, prefix: &str) -> usize {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .count()
}

/// The payloads of the `event` lines of a sentinel's log (`<conf>.log`).
pub fn logged(conf: &Path, event: &str) -> Vec<String> {
    let marker = format!(" {event} ");
    fs::read_to_string(conf.with_extension("log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.find(&marker).map(|i| l[i + marker.len()..].to_string()))
        .collect()
}

/// A raw RESP subscriber: `PSUBSCRIBE *` on a sentinel; every message is
/// sent to the channel as `(event, payload)`.
///
/// Returns once the sentinel has confirmed the subscription (its
/// `psubscribe` reply), so no event that follows is missed. The
/// connection, the request and that confirmation are bounded; the reader
/// thread then blocks on its own and ends with the socket, while the
/// waits on the channel ([`expect_event`], [`events_for`]) have their own
/// deadlines.
pub fn subscribe_all(port: u16) -> mpsc::Receiver<(String, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("connect to {port}: {e}"));
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = BytesMut::new();
    encode_command(&["PSUBSCRIBE", "*"], &mut req);
    s.write_all(&req).unwrap();
    let (tx, rx) = mpsc::channel();
    let (ready_tx, ready_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let Ok(n) = s.read(&mut chunk) else { return };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Ok(Some((frame, used))) = Frame::parse(&buf) {
                buf.drain(..used);
                if let Frame::Array(v) = frame {
                    let text: Vec<String> = v
                        .iter()
                        .map(|f| match f {
                            Frame::Bulk(b) => String::from_utf8_lossy(b).into_owned(),
                            _ => String::new(),
                        })
                        .collect();
                    if text.len() == 3 && text[0] == "psubscribe" {
                        let _ = ready_tx.send(());
                    }
                    if text.len() == 4
                        && text[0] == "pmessage"
                        && tx.send((text[2].clone(), text[3].clone())).is_err()
                    {
                        return;
                    }
                }
            }
        }
    });
    // the subscription is registered before any event we wait for
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no PSUBSCRIBE confirmation from {port}: {e}"));
    rx
}

/// Waits for an event named `name`; returns its payload.
pub fn expect_event(rx: &mpsc::Receiver<(String, String)>, name: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((n, payload)) if n == name => return payload,
            Ok(_) => {}
            Err(_) => panic!("no {name} event within {within:?}"),
        }
    }
}

/// Collects every event for `window`.
pub fn events_for(
    rx: &mpsc::Receiver<(String, String)>,
    window: Duration,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + window;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) => seen.push(e),
            Err(mpsc::RecvTimeoutError::Timeout) => return seen,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                std::thread::sleep(left);
                return seen;
            }
        }
    }
}

/// After the failover: every sentinel names the same promoted replica,
/// the other replica follows it, and the config files say so.
pub fn check_switched(sentinels: &[u16], confs: &[PathBuf], replicas: &[u16]) -> u16 {
    let mut new_port = 0;
    wait_for(
        "every sentinel to report the promoted replica",
        // from the kill: a split vote retries after 2 × failover-timeout
        // (20 s), and that failover still has to run
        Duration::from_secs(45),
        || {
            let addrs: Vec<String> = sentinels.iter().map(|p| master_addr(*p)).collect();
            let first = &addrs[0];
            let ok = addrs.iter().all(|a| a == first)
                && replicas.iter().any(|r| *first == format!("127.0.0.1:{r}"));
            if ok {
                new_port = first.rsplit(':').next().unwrap().parse().unwrap();
            }
            ok
        },
    );
    for other in replicas.iter().filter(|r| **r != new_port) {
        wait_for(
            "the other replica to replicate from the new master",
            Duration::from_secs(30),
            || {
                let info = cli(*other, &["INFO", "replication"]);
                info.contains(&format!("master_port:{new_port}\r"))
                    && info.contains("master_link_status:up")
            },
        );
    }
    assert!(cli(new_port, &["ROLE"]).starts_with("master"));
    for conf in confs {
        wait_for(
            "the config file to name the new master",
            Duration::from_secs(10),
            || {
                fs::read_to_string(conf)
                    .unwrap_or_default()
                    .contains(&format!("sentinel monitor {MASTER} 127.0.0.1 {new_port} "))
            },
        );
    }
    new_port
}
