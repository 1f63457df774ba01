//! Client discovery with the real libraries (issue 6): redis-py, ioredis and
//! the `redis` crate find the master through picket sentinels and follow
//! it through a failover; Jedis's and Lettuce's command sequences (which
//! cannot run here) are replayed byte for byte against picket and Debian's
//! redis 7.0.15 and the replies compared. See docs/clients.md.
//!
//! Every client run logs one record per operation with the wall clock
//! (unix time), so its records line up with the sentinel events the
//! harness timestamps ([`Clock`]).

mod common;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{serial, start, topology, TempDir};
use picket_common::resp::Frame;
use picket_ha::client::{call_once, text, Client};
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
    #[serde(default)]
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
            redis::cmd("SADD")
                .arg(&key)
                .arg(n)
                .query_async(c)
                .await
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
/// must have an acknowledged write on the new master.
const SWITCH_BOUND: f64 = 3.0;
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
            Duration::from_secs(20),
        )
        .await
        .expect("no +switch-master within 20 s");
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
    let f = check_failover_run(&recs, s, clock.unix(t_fault), &old_addr, &new_addr, &members);
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
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged writes lost: {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(20)]
    );
    // 5. Reads through the replicas keep working: never a gap of more than
    // 2 s without a successful read, and they succeed to the end.
    let mut last_ok = reads
        .iter()
        .find(|r| r.ok)
        .map(|r| r.t)
        .expect("no successful read");
    let mut gap: f64 = 0.0;
    for r in reads.iter().filter(|r| r.ok) {
        gap = gap.max(r.t - last_ok);
        last_ok = r.t;
    }
    gap = gap.max(end - last_ok);
    assert!(gap < 2.0, "reads through the replicas stopped for {gap:.2}s");
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
