//! Client discovery with the real libraries (issue 6): redis-py, ioredis and
//! the `redis` crate find the master through picket sentinels and follow
//! it through a failover; Jedis's and Lettuce's command sequences (which
//! cannot run here) are replayed byte for byte against picket and Debian's
//! redis 7.0.15 and the replies compared. See docs/clients.md.
//!
//! Every client run logs one record per operation with the wall clock
//! (unix time), so its records line up with the sentinel events the
//! harness timestamps ([`Clock`]).

// `serial()` is a std mutex held for a whole test on purpose: each test has
// its own runtime, and the guard must span all of them.
#![allow(clippy::await_holding_lock)]

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{serial, start, topology, TempDir};
use picket_common::resp::Frame;
use picket_ha::client::{call_once, text};
use picket_ha::events::Events;
use picket_ha::group::Group;
use picket_ha::proc::Impl;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

// ---------------------------------------------------------------------------
// Shared clock and client records

/// Maps the harness's `Instant`s (event times) to unix time, the clock the
/// client scripts print (`time.time()`, `Date.now()`).
struct Clock {
    inst: Instant,
    unix: f64,
}

impl Clock {
    fn now() -> Clock {
        let inst = Instant::now();
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        Clock { inst, unix }
    }

    fn unix(&self, at: Instant) -> f64 {
        if at >= self.inst {
            self.unix + (at - self.inst).as_secs_f64()
        } else {
            self.unix - (self.inst - at).as_secs_f64()
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// One operation of a client run (the scripts' JSON line).
#[derive(Clone, Debug, Deserialize)]
struct Rec {
    t: f64,
    /// `w` (SADD through the master), `r` (SCARD through a replica),
    /// `start`, `end`.
    op: String,
    n: Option<u64>,
    /// The data node that answered (or failed), as the client addressed it.
    addr: Option<String>,
    ok: bool,
    /// `READONLY` or the error's class.
    err: Option<String>,
    /// The error's text (shown in failure messages).
    #[serde(default)]
    #[allow(dead_code)]
    msg: Option<String>,
}

type Log = Arc<Mutex<Vec<Rec>>>;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lib {
    RedisPy,
    Ioredis,
    RedisCrate,
}

fn clients_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// A running client; its process (or task) ends when dropped.
struct Run {
    log: Log,
    child: Option<tokio::process::Child>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Run {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Run {
    fn recs(&self) -> Vec<Rec> {
        self.log.lock().unwrap().clone()
    }

    fn count(&self, op: &str, ok: bool) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.op == op && r.ok == ok)
            .count()
    }

    /// Waits for the run's end (its `end` record), bounded.
    async fn finish(mut self, within: Duration) -> Vec<Rec> {
        let deadline = Instant::now() + within;
        while !self.recs().iter().any(|r| r.op == "end") {
            assert!(
                Instant::now() < deadline,
                "the client did not finish: {:?}",
                self.recs().last()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(c) = self.child.as_mut() {
            let _ = tokio::time::timeout(Duration::from_secs(5), c.wait()).await;
        }
        self.recs()
    }
}

/// Starts `lib`'s loop against the group's sentinels for `secs` seconds.
fn run_client(lib: Lib, g: &Group, key: &str, secs: f64, logdir: &std::path::Path) -> Run {
    let sentinels: Vec<String> = g.sentinel_addrs().iter().map(|a| a.to_string()).collect();
    let log: Log = Arc::default();
    let (program, script) = match lib {
        Lib::RedisPy => ("/usr/bin/python3", "redis_py_loop.py"),
        Lib::Ioredis => ("node", "ioredis_loop.js"),
        Lib::RedisCrate => {
            let until = Instant::now() + Duration::from_secs_f64(secs);
            let addrs = g.sentinel_addrs();
            let name = g.master_name().to_string();
            let w = tokio::spawn(crate_loop(
                addrs.clone(),
                name.clone(),
                key.to_string(),
                true,
                until,
                log.clone(),
            ));
            let r = tokio::spawn(crate_loop(
                addrs,
                name,
                key.to_string(),
                false,
                until,
                log.clone(),
            ));
            let end = {
                let log = log.clone();
                tokio::spawn(async move {
                    let _ = w.await;
                    let _ = r.await;
                    log.lock().unwrap().push(rec("end", None, None, Ok(())));
                })
            };
            log.lock().unwrap().push(rec("start", None, None, Ok(())));
            return Run {
                log,
                child: None,
                tasks: vec![end],
            };
        }
    };
    let stderr = std::fs::File::create(logdir.join(format!("{lib:?}.stderr"))).unwrap();
    let mut child = tokio::process::Command::new(program)
        .arg(clients_dir().join(script))
        .arg(sentinels.join(","))
        .arg(g.master_name())
        .arg(key)
        .arg(secs.to_string())
        .current_dir(clients_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {program} (scripts/test.sh installs it): {e}"));
    let stdout = child.stdout.take().unwrap();
    let reader = {
        let log = log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = lines.next_line().await {
                match serde_json::from_str::<Rec>(&l) {
                    Ok(r) => log.lock().unwrap().push(r),
                    Err(e) => panic!("bad line from the client: {l:?}: {e}"),
                }
            }
        })
    };
    Run {
        log,
        child: Some(child),
        tasks: vec![reader],
    }
}

fn rec(op: &str, n: Option<u64>, addr: Option<String>, res: Result<(), (String, String)>) -> Rec {
    let (ok, err, msg) = match res {
        Ok(()) => (true, None, None),
        Err((e, m)) => (false, Some(e), Some(m)),
    };
    Rec {
        t: unix_now(),
        op: op.into(),
        n,
        addr,
        ok,
        err,
        msg,
    }
}

/// The `redis` crate's sentinel client used as an application would:
/// `Sentinel::async_master_for` / `async_replica_for` (SENTINEL MASTERS or
/// SLAVES, then ROLE on the candidate) on every (re)connect, a multiplexed
/// connection with 500 ms timeouts, dropped on any error (the crate does
/// not reconnect by itself, and leaves -READONLY to the caller).
async fn crate_loop(
    sentinels: Vec<SocketAddr>,
    name: String,
    key: String,
    write: bool,
    until: Instant,
    log: Log,
) {
    use redis::sentinel::Sentinel;
    use redis::AsyncConnectionConfig;
    let urls: Vec<String> = sentinels.iter().map(|a| format!("redis://{a}")).collect();
    let mut sentinel = Sentinel::build(urls).unwrap();
    let cfg = AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_millis(500))
        .set_response_timeout(Duration::from_millis(500));
    let op = if write { "w" } else { "r" };
    let mut conn: Option<(redis::aio::MultiplexedConnection, String)> = None;
    let mut n = 0u64;
    let classify = |e: &redis::RedisError| -> (String, String) {
        let class = match e.code() {
            Some(code) => code.to_string(),
            None if e.is_timeout() => "Timeout".into(),
            None => format!("{:?}", e.kind()),
        };
        (class, e.to_string())
    };
    while Instant::now() < until {
        let elem = if write {
            n += 1;
            Some(n)
        } else {
            None
        };
        if conn.is_none() {
            // The discovery itself can hang on a frozen node (ROLE without a
            // timeout): bound it, as an application must.
            let found = tokio::time::timeout(Duration::from_secs(1), async {
                let client = if write {
                    sentinel.async_master_for(&name, None).await?
                } else {
                    sentinel.async_replica_for(&name, None).await?
                };
                let addr = match &client.get_connection_info().addr {
                    redis::ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
                    other => format!("{other:?}"),
                };
                let c = client
                    .get_multiplexed_async_connection_with_config(&cfg)
                    .await?;
                Ok::<_, redis::RedisError>((c, addr))
            })
            .await;
            match found {
                Ok(Ok(c)) => conn = Some(c),
                Ok(Err(e)) => {
                    log.lock()
                        .unwrap()
                        .push(rec(op, elem, None, Err(classify(&e))));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(_) => {
                    log.lock().unwrap().push(rec(
                        op,
                        elem,
                        None,
                        Err(("Timeout".into(), "discovery timed out".into())),
                    ));
                    continue;
                }
            }
        }
        let (c, addr) = conn.as_mut().unwrap();
        let addr = addr.clone();
        let res: redis::RedisResult<i64> = if write {
            redis::cmd("SADD").arg(&key).arg(n).query_async(c).await
        } else {
            redis::cmd("SCARD").arg(&key).query_async(c).await
        };
        match res {
            Ok(_) => log.lock().unwrap().push(rec(op, elem, Some(addr), Ok(()))),
            Err(e) => {
                log.lock()
                    .unwrap()
                    .push(rec(op, elem, Some(addr), Err(classify(&e))));
                conn = None;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------
// Failover with a real client

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fault {
    /// kill -9 of the master.
    Kill,
    /// SIGSTOP of the master; SIGCONT 2 s after +switch-master.
    Pause,
}

/// How long after +switch-master (as the harness received it) the client
/// must have an acknowledged write on the new master. Clients measured
/// 0.0-3.0 s here (the frozen case spends 2 s waiting for the node it
/// still holds); the bound leaves room for a loaded 2-core CI machine and
/// still fails a client that does not rediscover the master.
const SWITCH_BOUND: f64 = 5.0;
/// Delivery of +switch-master to the harness, and of a reply the client had
/// already been sent, may differ by this much.
const DELIVERY: f64 = 0.25;

/// Runs `lib` against a picket group through a failure of the master and
/// checks what the client saw. Returns the figures for the report.
async fn client_follows_failover(lib: Lib, fault: Fault) {
    let _s = serial();
    let dir = TempDir::new(&format!("clients-{lib:?}-{fault:?}").to_lowercase());
    let mut g = start(&topology(dir.path()), Impl::Picket).await;
    let real: Vec<SocketAddr> = g.sentinels.iter().map(|s| s.real_addr()).collect();
    let ev = Events::watch(&real).await;
    let clock = Clock::now();
    let old = g.current_master().await.expect("a master");
    let old_addr = g.nodes[old].addr().to_string();
    let key = format!("clients:{lib:?}");
    let run = run_client(lib, &g, &key, 16.0, dir.path());

    // Warm up: the client must be writing and reading before the fault.
    let deadline = Instant::now() + Duration::from_secs(15);
    while run.count("w", true) < 50 || run.count("r", true) < 20 {
        assert!(
            Instant::now() < deadline,
            "{lib:?} never got going: {:?}",
            run.recs().iter().rev().take(5).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let t_fault = Instant::now();
    match fault {
        Fault::Kill => g.nodes[old].proc.kill(),
        Fault::Pause => g.nodes[old].proc.pause().unwrap(),
    }
    let sw = ev
        .wait(
            "+switch-master",
            &format!("{} ", g.master_name()),
            t_fault,
            Duration::from_secs(35),
        )
        .await
        .expect("no +switch-master within 35 s");
    let words: Vec<&str> = sw.payload.split(' ').collect();
    assert_eq!(words.len(), 5, "{}", sw.payload);
    let new_addr = format!("{}:{}", words[3], words[4]);
    assert_eq!(format!("{}:{}", words[1], words[2]), old_addr);
    let s = clock.unix(sw.at);
    if fault == Fault::Pause {
        tokio::time::sleep(Duration::from_secs(2)).await;
        g.nodes[old].proc.resume().unwrap();
    }
    let recs = run.finish(Duration::from_secs(30)).await;
    // A killed master stays down (the sentinels keep it as a down replica);
    // a frozen one is back and must have been converted.
    let mi = match fault {
        Fault::Kill => g.current_master().await.expect("a master"),
        Fault::Pause => g
            .wait_converged(Duration::from_secs(30))
            .await
            .expect("converged after the failover"),
    };
    assert_eq!(g.nodes[mi].addr().to_string(), new_addr);
    let members = smembers(g.nodes[mi].real_addr(), &key).await;
    let converted = ev
        .first("+convert-to-slave", "", sw.at)
        .map(|e| clock.unix(e.at) - s);
    let f = check_failover_run(
        &recs,
        s,
        clock.unix(t_fault),
        &old_addr,
        &new_addr,
        &members,
    );
    eprintln!(
        "{lib:?} {fault:?}: fault→switch {:.2}s, switch→first write on new master {:+.2}s, \
         acked {} (lost 0), write errors {} ({}), READONLY {}, reads ok {} / failed {}, \
         longest read gap {:.2}s, old master converted {:?}s after switch",
        s - clock.unix(t_fault),
        f.first_new - s,
        f.acked,
        f.write_errors,
        f.error_classes,
        f.readonly,
        f.reads_ok,
        f.reads_failed,
        f.read_gap,
        converted,
    );
    g.stop();
}

struct Figures {
    first_new: f64,
    acked: usize,
    write_errors: usize,
    error_classes: String,
    readonly: usize,
    reads_ok: usize,
    reads_failed: usize,
    read_gap: f64,
}

/// The assertions of issue 6 on one client run around one failover at unix
/// time `s` (+switch-master received), the fault at `t_fault`.
fn check_failover_run(
    recs: &[Rec],
    s: f64,
    t_fault: f64,
    old: &str,
    new: &str,
    members: &HashSet<u64>,
) -> Figures {
    let writes: Vec<&Rec> = recs.iter().filter(|r| r.op == "w").collect();
    let reads: Vec<&Rec> = recs.iter().filter(|r| r.op == "r").collect();
    let end = recs.iter().find(|r| r.op == "end").map(|r| r.t).unwrap();
    let at = |r: &Rec, a: &str| r.addr.as_deref() == Some(a);
    assert!(
        writes.iter().any(|r| r.ok && at(r, old) && r.t < t_fault),
        "no write acknowledged by the first master {old}"
    );
    // 1. The client reaches the new master and writes there soon after the switch.
    let first_new = writes
        .iter()
        .find(|r| r.ok && at(r, new) && r.t > t_fault)
        .map(|r| r.t)
        .unwrap_or_else(|| panic!("no write acknowledged by the new master {new}"));
    assert!(
        first_new - s < SWITCH_BOUND,
        "first write on the new master {:.2}s after +switch-master (bound {SWITCH_BOUND}s)",
        first_new - s
    );
    // …and stays there: every write after the bound succeeds on the new master.
    for r in writes.iter().filter(|r| r.t > s + SWITCH_BOUND) {
        assert!(
            r.ok && at(r, new),
            "write {:.2}s after +switch-master: {r:?}",
            r.t - s
        );
    }
    // 2. No write acknowledged by the old master after the switch was published.
    for r in writes.iter().filter(|r| r.ok && at(r, old)) {
        assert!(
            r.t <= s + DELIVERY,
            "write acknowledged by the old master {:.2}s after +switch-master: {r:?}",
            r.t - s
        );
    }
    // 3. -READONLY at most briefly, and only around the switch.
    let readonly: Vec<&&Rec> = writes
        .iter()
        .filter(|r| r.err.as_deref() == Some("READONLY"))
        .collect();
    for r in &readonly {
        assert!(
            r.t > t_fault && r.t < s + SWITCH_BOUND,
            "READONLY {:.2}s after +switch-master: {r:?}",
            r.t - s
        );
    }
    // 4. No acknowledged write lost.
    let acked: Vec<u64> = writes.iter().filter(|r| r.ok).filter_map(|r| r.n).collect();
    let lost: Vec<u64> = acked
        .iter()
        .copied()
        .filter(|n| !members.contains(n))
        .collect();
    let lost_recs: Vec<String> = writes
        .iter()
        .filter(|r| r.ok && r.n.is_some_and(|n| lost.contains(&n)))
        .take(10)
        .map(|r| {
            format!(
                "{} acked by {:?} {:+.3}s after the fault",
                r.n.unwrap(),
                r.addr,
                r.t - t_fault
            )
        })
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {lost_recs:?}",
        lost.len(),
        acked.len(),
    );
    // 5. Reads through the replicas keep working: never a gap of more than
    // 3 s without a successful read, and they succeed to the end. (Right
    // after the switch the sentinels list the old master as a clean replica
    // for down-after, Redis and picket alike: a reader that picks the frozen
    // node waits for it until it is resumed, 2 s after the switch.)
    let mut last_ok = reads
        .iter()
        .find(|r| r.ok)
        .map(|r| r.t)
        .expect("no successful read");
    let mut gap: f64 = 0.0;
    let mut gap_at = last_ok;
    for r in reads.iter().filter(|r| r.ok) {
        if r.t - last_ok > gap {
            gap = r.t - last_ok;
            gap_at = last_ok;
        }
        last_ok = r.t;
    }
    if end - last_ok > gap {
        gap = end - last_ok;
        gap_at = last_ok;
    }
    let around: Vec<&&Rec> = reads
        .iter()
        .filter(|r| r.t >= gap_at && r.t <= gap_at + gap)
        .take(8)
        .collect();
    assert!(
        gap < SWITCH_BOUND,
        "reads through the replicas stopped for {gap:.2}s from {:+.2}s after +switch-master: {around:?}",
        gap_at - s
    );
    let write_errors: Vec<&&Rec> = writes.iter().filter(|r| !r.ok).collect();
    let classes: BTreeSet<String> = write_errors.iter().filter_map(|r| r.err.clone()).collect();
    Figures {
        first_new,
        acked: acked.len(),
        write_errors: write_errors.len(),
        error_classes: classes.into_iter().collect::<Vec<_>>().join(","),
        readonly: readonly.len(),
        reads_ok: reads.iter().filter(|r| r.ok).count(),
        reads_failed: reads.iter().filter(|r| !r.ok).count(),
        read_gap: gap,
    }
}

async fn smembers(addr: SocketAddr, key: &str) -> HashSet<u64> {
    let f = call_once(addr, &["SMEMBERS", key], Duration::from_secs(5))
        .await
        .unwrap();
    let (Frame::Array(items) | Frame::Set(items)) = f else {
        panic!("SMEMBERS: {f:?}")
    };
    items
        .iter()
        .filter_map(text)
        .map(|s| s.parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_follows_a_killed_master() {
    client_follows_failover(Lib::RedisPy, Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_follows_a_frozen_master() {
    client_follows_failover(Lib::RedisPy, Fault::Pause).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crate_follows_a_killed_master() {
    client_follows_failover(Lib::RedisCrate, Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_crate_follows_a_frozen_master() {
    client_follows_failover(Lib::RedisCrate, Fault::Pause).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ioredis_follows_a_killed_master() {
    client_follows_failover(Lib::Ioredis, Fault::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ioredis_follows_a_frozen_master() {
    client_follows_failover(Lib::Ioredis, Fault::Pause).await;
}

// ---------------------------------------------------------------------------
// Jedis and Lettuce: their command sequences, byte for byte, against picket
// and redis 7.0.15 (docs/clients.md lists the sequences)

/// A raw RESP connection that keeps each reply's bytes.
struct Raw {
    stream: tokio::net::TcpStream,
    buf: bytes::BytesMut,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let stream =
            tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr))
                .await
                .expect("connect timed out")
                .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Raw {
            stream,
            buf: bytes::BytesMut::new(),
        }
    }

    async fn send(&mut self, args: &[&str]) {
        use tokio::io::AsyncWriteExt;
        let mut out = bytes::BytesMut::new();
        picket_common::resp::encode_command(args, &mut out);
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next reply: its bytes and its frame (None on EOF or timeout).
    async fn read(&mut self, within: Duration) -> Option<(Vec<u8>, Frame)> {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some((f, used)) = Frame::parse(&self.buf).expect("protocol error") {
                let bytes = self.buf.split_to(used).to_vec();
                return Some((bytes, f));
            }
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    async fn call(&mut self, args: &[&str]) -> (Vec<u8>, Frame) {
        self.send(args).await;
        self.read(Duration::from_secs(3))
            .await
            .unwrap_or_else(|| panic!("no reply to {args:?}"))
    }

    /// Whether the server closed the connection within `within` (replies
    /// read meanwhile are dropped).
    async fn closed_within(&mut self, within: Duration) -> bool {
        use tokio::io::AsyncReadExt;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => self.buf.clear(),
                Err(_) => return false,
            }
        }
    }
}

/// A reply's shape: types and structure, map keys and the values of the
/// fields named in `keep` (`*` keeps every scalar); other values become
/// their type.
fn shape(f: &Frame, keep: &[&str]) -> String {
    shape_in(f, keep, keep.contains(&"*"))
}

fn shape_in(f: &Frame, keep: &[&str], value: bool) -> String {
    let list = |tag: &str, items: &[Frame]| {
        // A flat field list (RESP2 SENTINEL MASTER, …): keys kept, values by `keep`.
        let flat = !items.is_empty()
            && items.len().is_multiple_of(2)
            && items.chunks(2).all(|p| {
                text(&p[0]).is_some_and(|k| {
                    k.chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '_')
                }) && !matches!(p[1], Frame::Array(_) | Frame::Map(_))
            })
            && items.len() >= 4;
        if flat {
            let inner: Vec<String> = items
                .chunks(2)
                .map(|p| {
                    let k = text(&p[0]).unwrap();
                    let v = shape_in(&p[1], keep, keep.contains(&k.as_str()));
                    format!("{k}={v}")
                })
                .collect();
            format!("{tag}{{{}}}", inner.join(","))
        } else {
            let inner: Vec<String> = items.iter().map(|i| shape_in(i, keep, value)).collect();
            format!("{tag}[{}]", inner.join(","))
        }
    };
    match f {
        Frame::Simple(s) => format!("+{s}"),
        Frame::Error(e) => format!("-{e}"),
        Frame::Integer(i) if value => format!(":{i}"),
        Frame::Integer(_) => ":int".into(),
        Frame::Bulk(b) if value => format!("${}", String::from_utf8_lossy(b)),
        Frame::Bulk(_) => "$str".into(),
        Frame::Null => "null".into(),
        Frame::NullArray => "*-1".into(),
        Frame::Array(items) => list("*", items),
        Frame::Set(items) => list("~", items),
        Frame::Push(items) => list(">", items),
        Frame::Map(pairs) => {
            let inner: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    let k = text(k).unwrap_or_else(|| format!("{k:?}"));
                    let v = shape_in(v, keep, keep.contains(&k.as_str()) || keep.contains(&"*"));
                    format!("{k}={v}")
                })
                .collect();
            format!("%{{{}}}", inner.join(","))
        }
        other => format!("{other:?}"),
    }
}

/// The replies to one client sequence, as compared between implementations.
#[derive(Default)]
struct Transcript {
    steps: Vec<(String, String)>,
}

impl Transcript {
    /// Exact bytes.
    fn exact(&mut self, label: &str, bytes: &[u8]) {
        self.steps.push((
            label.into(),
            String::from_utf8_lossy(bytes).escape_debug().to_string(),
        ));
    }

    fn shape(&mut self, label: &str, f: &Frame, keep: &[&str]) {
        self.steps.push((label.into(), shape(f, keep)));
    }

    fn note(&mut self, label: &str, what: String) {
        self.steps.push((label.into(), what));
    }
}

/// Fields whose values are the same in both groups (same topology and
/// settings) and that the clients read.
const MASTER_KEEP: &[&str] = &[
    "name",
    "flags",
    "role-reported",
    "num-slaves",
    "num-other-sentinels",
    "quorum",
    "down-after-milliseconds",
    "failover-timeout",
    "parallel-syncs",
    "config-epoch",
];
const REPLICA_KEEP: &[&str] = &[
    "flags",
    "role-reported",
    "master-link-status",
    "slave-priority",
    "replica-announced",
];
const SENTINEL_KEEP: &[&str] = &["flags"];

/// Sorts the entries of an array reply by their shape (replicas and
/// sentinels come in no defined order).
fn sorted_entries(f: &Frame, keep: &[&str]) -> String {
    let (Frame::Array(items) | Frame::Set(items)) = f else {
        return shape(f, keep);
    };
    let mut v: Vec<String> = items.iter().map(|i| shape(i, keep)).collect();
    v.sort();
    format!("[{}]", v.join(" | "))
}

/// What a `+switch-master` payload says, with the addresses checked against
/// the group and replaced by their role.
fn switch_payload(p: &str, name: &str, old: &str, new: &str) -> String {
    let w: Vec<&str> = p.split(' ').collect();
    assert_eq!(w.len(), 5, "+switch-master payload {p:?}");
    assert_eq!(w[0], name, "{p:?}");
    assert_eq!(format!("{}:{}", w[1], w[2]), old, "{p:?}");
    assert_eq!(format!("{}:{}", w[3], w[4]), new, "{p:?}");
    "<name> <old ip> <old port> <new ip> <new port>".into()
}

/// Asks `sentinel` `args` until `ready` says the reply is as wanted (it
/// also renders the reply for the failure message); panics with `what`
/// after `limit`.
async fn poll_sentinel(
    sentinel: SocketAddr,
    args: &[&str],
    limit: Duration,
    ready: impl Fn(&Frame) -> (bool, String),
    what: &str,
) {
    let t = Instant::now();
    loop {
        let f = call_once(sentinel, args, Duration::from_secs(1))
            .await
            .unwrap();
        let (done, view) = ready(&f);
        if done {
            return;
        }
        assert!(t.elapsed() < limit, "{what}: {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Replays Jedis's and Lettuce's sequences on a fresh group of `imp`, with
/// a kill failover and the old master's return in the middle.
async fn client_sequences(imp: Impl, dir: &std::path::Path) -> Transcript {
    let mut t = Transcript::default();
    let mut g = start(&topology(dir), imp).await;
    let name = g.master_name().to_string();
    let s0 = g.sentinels[0].addr();
    let old = g.current_master().await.expect("a master");
    let old_addr = g.nodes[old].addr();
    // Steady state first: convergence counts the other sentinels as soon as
    // their hellos arrive; their links may still be connecting
    // (`disconnected` in SENTINEL SENTINELS) for a moment after.
    let s0_real = g.sentinels[0].real_addr();
    let t0 = Instant::now();
    poll_sentinel(
        s0_real,
        &["SENTINEL", "SENTINELS", &name],
        Duration::from_secs(5),
        |f| {
            let view = shape(f, SENTINEL_KEEP);
            (!view.contains("disconnected"), view)
        },
        &format!("{imp:?}: sentinel1 lists a disconnected sentinel 5 s after convergence"),
    )
    .await;
    eprintln!(
        "{imp:?}: sentinel links all up {:.2}s after convergence",
        t0.elapsed().as_secs_f64()
    );
    // The sentinel's view of the replicas comes from their INFO, read
    // every 10 s: one read while a replica was still syncing shows
    // `master-link-status err` until the next. Wait for `ok` on both.
    let replicas = g.nodes.len() - 1;
    poll_sentinel(
        s0_real,
        &["SENTINEL", "REPLICAS", &name],
        Duration::from_secs(15),
        |f| {
            let view = sorted_entries(f, REPLICA_KEEP);
            (
                view.matches("master-link-status=$ok").count() == replicas,
                view,
            )
        },
        &format!("{imp:?}: sentinel1 sees a replica's link down 15 s after convergence"),
    )
    .await;

    // Jedis 4.x/5.x, JedisSentinelPool: per sentinel, RESP2.
    let mut j = Raw::connect(s0).await;
    t.exact(
        "jedis: CLIENT SETNAME",
        &j.call(&["CLIENT", "SETNAME", "jedis-sentinel"]).await.0,
    );
    t.exact(
        "jedis 5: CLIENT SETINFO LIB-NAME",
        &j.call(&["CLIENT", "SETINFO", "LIB-NAME", "jedis"]).await.0,
    );
    t.exact(
        "jedis 5: CLIENT SETINFO LIB-VER",
        &j.call(&["CLIENT", "SETINFO", "LIB-VER", "5.1.5"]).await.0,
    );
    let (_, f) = j
        .call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name])
        .await;
    assert_eq!(
        picket_ha::group::parse_addr_reply(&f),
        Some(old_addr),
        "{imp:?}"
    );
    t.shape("jedis: GET-MASTER-ADDR-BY-NAME", &f, &[]);
    t.exact(
        "jedis: GET-MASTER-ADDR-BY-NAME unknown (RESP2)",
        &j.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuchmaster"])
            .await
            .0,
    );
    // The MasterListener: GET-MASTER-ADDR-BY-NAME then SUBSCRIBE.
    let mut jl = Raw::connect(s0).await;
    jl.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name])
        .await;
    t.exact(
        "jedis: SUBSCRIBE +switch-master (RESP2)",
        &jl.call(&["SUBSCRIBE", "+switch-master"]).await.0,
    );
    // Jedis to the master: SETNAME/SETINFO pipelined, PING on validation.
    let mut jm = Raw::connect(old_addr).await;
    t.exact(
        "jedis→master: CLIENT SETNAME",
        &jm.call(&["CLIENT", "SETNAME", "app"]).await.0,
    );
    // 7.0 has no CLIENT SETINFO; clients ignore the error, and
    // reference/clients.md §1.1 lets a data node implement it: the 7.0
    // error or +OK, and the connection stays up.
    let (b, _) = jm.call(&["CLIENT", "SETINFO", "LIB-NAME", "jedis"]).await;
    let accepted =
        b == b"+OK\r\n" || b == b"-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n";
    assert!(accepted, "{imp:?}: {}", String::from_utf8_lossy(&b));
    t.note(
        "jedis→master: CLIENT SETINFO LIB-NAME",
        "+OK or the 7.0 error".into(),
    );
    t.exact("jedis→master: PING", &jm.call(&["PING"]).await.0);
    drop(jm);

    // Lettuce 6.x plain sentinel URI: HELLO 3 first, RESP3 from then on.
    let mut l = Raw::connect(s0).await;
    let (_, hello) = l.call(&["HELLO", "3"]).await;
    t.shape(
        "lettuce: HELLO 3 on a sentinel",
        &hello,
        &["server", "version", "proto", "mode"],
    );
    t.exact(
        "lettuce 6.4: CLIENT SETINFO lib-name",
        &l.call(&["CLIENT", "SETINFO", "lib-name", "Lettuce"])
            .await
            .0,
    );
    t.exact(
        "lettuce 6.4: CLIENT SETINFO lib-ver",
        &l.call(&["CLIENT", "SETINFO", "lib-ver", "6.4.0.RELEASE"])
            .await
            .0,
    );
    let (_, f) = l
        .call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name])
        .await;
    assert_eq!(picket_ha::group::parse_addr_reply(&f), Some(old_addr));
    t.shape("lettuce: GET-MASTER-ADDR-BY-NAME (RESP3)", &f, &[]);
    t.exact(
        "lettuce: GET-MASTER-ADDR-BY-NAME unknown (RESP3)",
        &l.call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nosuchmaster"])
            .await
            .0,
    );
    let mut l4 = Raw::connect(s0).await;
    t.exact(
        "HELLO 4 (Lettuce's fallback test)",
        &l4.call(&["HELLO", "4"]).await.0,
    );
    // Lettuce Master/Replica (Spring Data Redis with ReadFrom).
    let (_, f) = l.call(&["SENTINEL", "MASTER", &name]).await;
    t.shape("lettuce M/R: SENTINEL MASTER (RESP3)", &f, MASTER_KEEP);
    let (_, f) = l.call(&["SENTINEL", "REPLICAS", &name]).await;
    t.note(
        "lettuce M/R: SENTINEL REPLICAS (RESP3)",
        sorted_entries(&f, REPLICA_KEEP),
    );
    // redis-py, ioredis: RESP2.
    let (_, f) = j.call(&["SENTINEL", "MASTERS"]).await;
    t.note(
        "redis-py: SENTINEL MASTERS (RESP2)",
        sorted_entries(&f, MASTER_KEEP),
    );
    let (_, f) = j.call(&["SENTINEL", "SLAVES", &name]).await;
    t.note(
        "redis-py/ioredis: SENTINEL SLAVES (RESP2)",
        sorted_entries(&f, REPLICA_KEEP),
    );
    let (_, f) = j.call(&["sentinel", "sentinels", &name]).await;
    t.note(
        "ioredis: sentinel sentinels (RESP2)",
        sorted_entries(&f, SENTINEL_KEEP),
    );
    // Topology refresh on every data node.
    for (i, n) in g.nodes.iter().enumerate() {
        let mut c = Raw::connect(n.addr()).await;
        let (_, h) = c.call(&["HELLO", "3"]).await;
        // (`role` is checked by hello_3_reports_the_nodes_role.)
        t.shape(
            &format!("lettuce: HELLO 3 on node{} (RESP3)", i + 1),
            &h,
            &["server", "version", "proto", "mode", "modules"],
        );
        t.exact(
            "lettuce M/R: CLIENT SETNAME lettuce#MasterReplicaTopologyRefresh",
            &c.call(&["CLIENT", "SETNAME", "lettuce#MasterReplicaTopologyRefresh"])
                .await
                .0,
        );
        t.exact("lettuce M/R: PING (RESP3)", &c.call(&["PING"]).await.0);
    }
    // Pub/sub on every sentinel: PSUBSCRIBE * in RESP3.
    let mut psubs = Vec::new();
    for s in &g.sentinels {
        let mut p = Raw::connect(s.addr()).await;
        p.call(&["HELLO", "3"]).await;
        let (b, _) = p.call(&["PSUBSCRIBE", "*"]).await;
        t.exact("lettuce M/R: PSUBSCRIBE * (RESP3)", &b);
        psubs.push(p);
    }
    let mut sub3 = Raw::connect(s0).await;
    sub3.call(&["HELLO", "3"]).await;
    t.exact(
        "ioredis 6 failoverDetector: SUBSCRIBE +switch-master (RESP3)",
        &sub3.call(&["SUBSCRIBE", "+switch-master"]).await.0,
    );
    // Lettuce plain-mode data connections on the replicas: only a
    // CLIENT KILL from the sentinels tells them about the switch.
    let mut idle = Vec::new();
    for (i, n) in g.nodes.iter().enumerate() {
        if i != old {
            let mut c = Raw::connect(n.addr()).await;
            c.call(&["HELLO", "3"]).await;
            idle.push((i, c));
        }
    }

    // Kill the master.
    let t_kill = Instant::now();
    g.nodes[old].proc.kill();
    let (b, f) = jl
        .read(Duration::from_secs(35))
        .await
        .expect("no +switch-master message on SUBSCRIBE (RESP2)");
    let switch_at = Instant::now();
    let Frame::Array(m) = &f else { panic!("{f:?}") };
    let payload = text(&m[2]).unwrap();
    let new = g.current_master().await.expect("a new master");
    let new_addr = g.nodes[new].addr();
    assert_ne!(new, old);
    let norm = switch_payload(
        &payload,
        &name,
        &old_addr.to_string(),
        &new_addr.to_string(),
    );
    t.note(
        "jedis: +switch-master message (RESP2)",
        format!(
            "{}|{norm}",
            String::from_utf8_lossy(&b[..b.len() - payload.len() - 2])
                .rsplit_once('$')
                .unwrap()
                .0
                .escape_debug()
        ),
    );
    let (_, f) = sub3
        .read(Duration::from_secs(5))
        .await
        .expect("no +switch-master push (RESP3)");
    let Frame::Push(m) = &f else { panic!("{f:?}") };
    assert_eq!(text(&m[2]).as_deref(), Some(payload.as_str()));
    t.shape(
        "ioredis 6: +switch-master push (RESP3)",
        &Frame::Push(m[..2].to_vec()),
        &["*"],
    );
    // PSUBSCRIBE *: every pmessage until the +switch-master one.
    let mut channels = BTreeSet::new();
    loop {
        let (_, f) = psubs[0]
            .read(Duration::from_secs(5))
            .await
            .expect("no +switch-master pmessage");
        let Frame::Push(m) = &f else { panic!("{f:?}") };
        assert_eq!(m.len(), 4, "{f:?}");
        assert_eq!(text(&m[0]).as_deref(), Some("pmessage"));
        assert_eq!(text(&m[1]).as_deref(), Some("*"));
        let ch = text(&m[2]).unwrap();
        channels.insert(ch.clone());
        if ch == "+switch-master" {
            assert_eq!(text(&m[3]).as_deref(), Some(payload.as_str()));
            break;
        }
    }
    eprintln!("{imp:?}: events before +switch-master on sentinel1: {channels:?}");
    for ch in ["+sdown", "+switch-master"] {
        t.note(
            &format!("PSUBSCRIBE *: {ch} published"),
            channels.contains(ch).to_string(),
        );
    }
    // The replicas' clients were killed by the reconfiguration.
    for (i, c) in idle.iter_mut() {
        let closed = c.closed_within(Duration::from_secs(5)).await;
        t.note(
            &format!(
                "CLIENT KILL TYPE normal closed a client of the {}",
                if *i == new {
                    "promoted replica"
                } else {
                    "other replica"
                }
            ),
            closed.to_string(),
        );
    }
    eprintln!(
        "{imp:?}: kill → +switch-master {:.2}s",
        (switch_at - t_kill).as_secs_f64()
    );
    let (_, f) = j
        .call(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &name])
        .await;
    assert_eq!(picket_ha::group::parse_addr_reply(&f), Some(new_addr));

    // The old master comes back (empty, as a master), a client connects
    // to it; the sentinels convert it and that client is killed.
    g.restart_node(old).await.unwrap();
    let mut back = Raw::connect(old_addr).await;
    let (_, h) = back.call(&["HELLO", "3"]).await;
    t.shape("HELLO 3 on the returning old master", &h, &["role"]);
    let t_back = Instant::now();
    let closed = back.closed_within(Duration::from_secs(25)).await;
    t.note(
        "CLIENT KILL closed a client of the converted old master",
        closed.to_string(),
    );
    eprintln!(
        "{imp:?}: old master back → its client killed {:.2}s",
        t_back.elapsed().as_secs_f64()
    );
    g.wait_converged(Duration::from_secs(20)).await.unwrap();
    let mut ro = Raw::connect(old_addr).await;
    t.exact(
        "write on the demoted master (RESP2)",
        &ro.call(&["SADD", "k", "x"]).await.0,
    );
    ro.call(&["HELLO", "3"]).await;
    t.exact(
        "write on the demoted master (RESP3)",
        &ro.call(&["SADD", "k", "x"]).await.0,
    );
    let (_, f) = j.call(&["SENTINEL", "MASTER", &name]).await;
    // The epoch a failover ends at depends on how many election rounds it
    // took (a split vote moves on to the next epoch), in Redis as in
    // picket: it is compared as "advanced past 0", not as a number.
    let after: Vec<&str> = MASTER_KEEP
        .iter()
        .copied()
        .filter(|k| *k != "config-epoch")
        .collect();
    t.shape("SENTINEL MASTER after the failover (RESP2)", &f, &after);
    let epoch = match &f {
        Frame::Array(items) => items
            .chunks(2)
            .find(|p| text(&p[0]).as_deref() == Some("config-epoch"))
            .and_then(|p| text(&p[1])),
        _ => None,
    };
    t.note(
        "config-epoch after the failover is ≥ 1",
        format!(
            "{:?}",
            epoch.and_then(|e| e.parse::<u64>().ok()).map(|e| e >= 1)
        ),
    );
    g.stop();
    t
}

/// Jedis's, Lettuce's (plain and Master/Replica), redis-py's and ioredis's
/// requests get the same replies from picket as from redis 7.0.15: exact
/// bytes where the values are the same, the same shape (types, keys, and
/// the values clients read) where they differ (ports, ids, run ids).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jedis_and_lettuce_sequences_get_redis_replies() {
    let _s = serial();
    let d1 = TempDir::new("clients-seq-redis");
    let redis = client_sequences(Impl::Redis, d1.path()).await;
    let d2 = TempDir::new("clients-seq-picket");
    let picket = client_sequences(Impl::Picket, d2.path()).await;
    assert_eq!(redis.steps.len(), picket.steps.len());
    let mut diffs = Vec::new();
    for ((label, r), (_, p)) in redis.steps.iter().zip(&picket.steps) {
        if r != p {
            diffs.push(format!("{label}:\n  redis:  {r}\n  picket: {p}"));
        }
    }
    for (label, r) in &redis.steps {
        eprintln!("{label}: {r}");
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// HELLO's `role` is the node's role (`master` or `replica`), as INFO says,
/// on a picket group and on a redis group alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_3_reports_the_nodes_role() {
    let _s = serial();
    let mut wrong = Vec::new();
    for imp in [Impl::Redis, Impl::Picket] {
        let d = TempDir::new(&format!("clients-hello-{}", imp.name()));
        let g = start(&topology(d.path()), imp).await;
        for (i, n) in g.nodes.iter().enumerate() {
            let info = g.node_info(i).await.unwrap();
            let role = match picket_ha::client::info_field(&info, "role").as_deref() {
                Some("slave") => "replica",
                Some("master") => "master",
                other => panic!("{imp:?} node{}: role {other:?}", i + 1),
            };
            let mut c = Raw::connect(n.addr()).await;
            let (_, h) = c.call(&["HELLO", "3"]).await;
            let Frame::Map(pairs) = &h else {
                panic!("{h:?}")
            };
            let said = pairs
                .iter()
                .find(|(k, _)| text(k).as_deref() == Some("role"))
                .and_then(|(_, v)| text(v));
            if said.as_deref() != Some(role) {
                wrong.push(format!(
                    "{imp:?} node{} is a {role}, HELLO 3 says role {said:?}",
                    i + 1
                ));
            }
        }
        g.stop();
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}
