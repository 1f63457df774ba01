//! Replication on real processes: picket masters and replicas among
//! themselves and with Debian's redis-server 7.0.15 both ways; data sets
//! compared with DEBUG DIGEST at every step.

mod common;
use common::*;
use std::time::{Duration, Instant};

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

fn picket(extra: &[&str]) -> Server {
    let mut a: Vec<&str> = DEBUG.to_vec();
    a.extend_from_slice(extra);
    Server::start(&a)
}

fn redis(extra: &[&str]) -> Server {
    let mut a: Vec<&str> = DEBUG.to_vec();
    a.extend_from_slice(extra);
    Server::start_redis(&a)
}

fn info(s: &Server, section: &str) -> String {
    let mut c = s.conn();
    q(&mut c, &["INFO", section])
}

fn field(info: &str, name: &str) -> String {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or("")
        .trim()
        .to_string()
}

fn offset(s: &Server) -> i64 {
    field(&info(s, "replication"), "master_repl_offset")
        .parse()
        .unwrap_or(-1)
}

fn digest(s: &Server) -> String {
    let mut c = s.conn();
    q(&mut c, &["DEBUG", "DIGEST"])
}

fn replicate(replica: &Server, master: &Server) {
    let mut c = replica.conn();
    let _: () = q(
        &mut c,
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
    );
}

/// Waits until the replica's link is up and it applied everything the
/// master produced.
fn wait_synced(replica: &Server, master: &Server) {
    let t = Instant::now();
    loop {
        let i = info(replica, "replication");
        let up = field(&i, "master_link_status") == "up";
        let off: i64 = field(&i, "master_repl_offset").parse().unwrap_or(-2);
        if up && off == offset(master) {
            return;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "not synced: {i}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stat(s: &Server, name: &str) -> i64 {
    field(&info(s, "stats"), name).parse().unwrap()
}

/// Some of every type, in two databases.
fn fill(s: &Server, prefix: &str, n: usize) {
    let mut c = s.conn();
    let mut p = redis::pipe();
    for i in 0..n {
        p.cmd("SET").arg(format!("{prefix}s{i}")).arg(i).ignore();
        p.cmd("RPUSH")
            .arg(format!("{prefix}l{}", i % 10))
            .arg(i)
            .ignore();
        p.cmd("HSET")
            .arg(format!("{prefix}h{}", i % 10))
            .arg(i)
            .arg("v")
            .ignore();
        p.cmd("SADD")
            .arg(format!("{prefix}t{}", i % 10))
            .arg(i)
            .ignore();
        p.cmd("ZADD")
            .arg(format!("{prefix}z{}", i % 10))
            .arg(i as f64 / 3.0)
            .arg(i)
            .ignore();
    }
    p.cmd("SELECT").arg(2).ignore();
    p.cmd("SET").arg(format!("{prefix}db2")).arg("x").ignore();
    p.cmd("SELECT").arg(0).ignore();
    let _: () = p.query(&mut c).unwrap();
}

fn kill_master_link(replica: &Server) {
    let mut c = replica.conn();
    let _: i64 = q(&mut c, &["CLIENT", "KILL", "TYPE", "master"]);
}

#[test]
fn full_sync_disk_and_diskless_under_write_load() {
    for diskless in ["yes", "no"] {
        let m = picket(&[
            "--repl-diskless-sync",
            diskless,
            "--repl-diskless-sync-delay",
            "0",
        ]);
        fill(&m, "a", 2000);
        let r = picket(&[]);
        // writes keep coming while the replica syncs
        let url = m.url();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s2 = stop.clone();
        let writer = std::thread::spawn(move || {
            let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
            let mut i = 0;
            while !s2.load(std::sync::atomic::Ordering::Relaxed) {
                let _: () = redis::cmd("SET")
                    .arg(format!("w{i}"))
                    .arg(i)
                    .query(&mut c)
                    .unwrap();
                let _: i64 = redis::cmd("INCR").arg("counter").query(&mut c).unwrap();
                i += 1;
            }
        });
        replicate(&r, &m);
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        wait_synced(&r, &m);
        assert_eq!(digest(&r), digest(&m), "diskless={diskless}");
        assert_eq!(stat(&m, "sync_full"), 1);
        let i = info(&m, "replication");
        assert!(field(&i, "slave0").contains("state=online"), "{i}");
    }
}

#[test]
fn partial_resync_after_the_link_is_cut() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r = picket(&[]);
    fill(&m, "a", 200);
    replicate(&r, &m);
    wait_synced(&r, &m);
    for round in 0..3 {
        kill_master_link(&r);
        fill(&m, &format!("b{round}"), 50);
        wait_synced(&r, &m);
    }
    assert_eq!(digest(&r), digest(&m));
    assert_eq!(stat(&m, "sync_full"), 1);
    assert!(stat(&m, "sync_partial_ok") >= 3);
}

#[test]
fn a_backlog_overrun_falls_back_to_full_sync() {
    let m = picket(&[
        "--repl-diskless-sync-delay",
        "0",
        "--repl-backlog-size",
        "16384",
    ]);
    let mut r = picket(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    // the replica stops reading; the master drops it and writes on
    let pid = r.child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let mut c = m.conn();
    let _: i64 = q(&mut c, &["CLIENT", "KILL", "TYPE", "replica"]);
    fill(&m, "big", 500);
    unsafe { libc::kill(pid, libc::SIGCONT) };
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    assert_eq!(stat(&m, "sync_full"), 2);
    assert!(stat(&m, "sync_partial_err") >= 1);
    let _ = &mut r;
}

#[test]
fn promoted_replica_lets_the_other_continue_through_replid2() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r1 = picket(&["--repl-diskless-sync-delay", "0"]);
    let r2 = picket(&[]);
    fill(&m, "a", 300);
    replicate(&r1, &m);
    replicate(&r2, &m);
    wait_synced(&r1, &m);
    wait_synced(&r2, &m);
    let old_id = field(&info(&m, "replication"), "master_replid");
    let at = offset(&m);
    drop(m);
    let mut c = r1.conn();
    let _: () = q(&mut c, &["REPLICAOF", "NO", "ONE"]);
    let i = info(&r1, "replication");
    assert_eq!(field(&i, "master_replid2"), old_id);
    assert_eq!(field(&i, "second_repl_offset"), (at + 1).to_string());
    assert_ne!(field(&i, "master_replid"), old_id);
    replicate(&r2, &r1);
    fill(&r1, "after", 20);
    wait_synced(&r2, &r1);
    assert_eq!(digest(&r2), digest(&r1));
    assert_eq!(stat(&r1, "sync_full"), 0);
    assert_eq!(stat(&r1, "sync_partial_ok"), 1);
    // the replica took the new id and keeps the old one as replid2
    let i2 = info(&r2, "replication");
    assert_eq!(field(&i2, "master_replid"), field(&i, "master_replid"));
}

#[test]
fn a_chain_of_three_carries_the_same_stream_and_offsets() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r1 = picket(&["--repl-diskless-sync-delay", "0"]);
    let r2 = picket(&[]);
    replicate(&r1, &m);
    wait_synced(&r1, &m);
    replicate(&r2, &r1);
    fill(&m, "a", 500);
    wait_synced(&r1, &m);
    wait_synced(&r2, &m);
    assert_eq!(digest(&r2), digest(&m));
    let ids: Vec<String> = [&m, &r1, &r2]
        .iter()
        .map(|s| field(&info(s, "replication"), "master_replid"))
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    // the middle replica never adds bytes of its own: after a while (its
    // crons ran) the end of the chain is still at the master's offset. The
    // master's own PINGs move both, so read until a pair of reads agrees
    // (bytes of r1's own would keep r2 ahead for good).
    std::thread::sleep(Duration::from_millis(1200));
    let t = Instant::now();
    loop {
        let (o2, om) = (offset(&r2), offset(&m));
        if o2 == om {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "r2 at {o2}, the master at {om}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn wait_counts_acknowledging_replicas() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r = picket(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    let mut c = m.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["WAIT", "1", "5000"]), 1);
    let t = Instant::now();
    assert_eq!(q::<i64>(&mut c, &["WAIT", "2", "300"]), 1);
    assert!(t.elapsed() >= Duration::from_millis(250));
    let mut rc = r.conn();
    assert!(qerr(&mut rc, &["WAIT", "1", "10"])
        .starts_with("ERR WAIT cannot be used with replica instances"));
}

#[test]
fn min_replicas_to_write_refuses_writes_without_fresh_replicas() {
    let m = picket(&[
        "--repl-diskless-sync-delay",
        "0",
        "--min-replicas-to-write",
        "1",
        "--min-replicas-max-lag",
        "2",
    ]);
    let mut c = m.conn();
    assert_eq!(
        qerr(&mut c, &["SET", "k", "v"]),
        "NOREPLICAS Not enough good replicas to write."
    );
    let r = picket(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    std::thread::sleep(Duration::from_millis(200));
    let _: () = q(&mut c, &["SET", "k", "v"]);
    assert!(info(&m, "replication").contains("min_slaves_good_slaves:1"));
    // the replica stops acknowledging: writes stop after the lag
    unsafe { libc::kill(r.child.id() as i32, libc::SIGSTOP) };
    let t = Instant::now();
    loop {
        let res: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg("w").query(&mut c);
        if let Err(e) = res {
            assert!(e.to_string().contains("NOREPLICAS"), "{e}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(100));
    }
    unsafe { libc::kill(r.child.id() as i32, libc::SIGCONT) };
}

#[test]
fn replicas_refuse_writes_and_stale_reads_as_configured() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r = picket(&["--replica-serve-stale-data", "no"]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    let mut c = r.conn();
    assert_eq!(
        qerr(&mut c, &["SET", "k", "v"]),
        "READONLY You can't write against a read only replica."
    );
    let _: Option<String> = q(&mut c, &["GET", "k"]);
    drop(m);
    let t = Instant::now();
    while field(&info(&r, "replication"), "master_link_status") == "up" {
        assert!(t.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        qerr(&mut c, &["GET", "k"]),
        "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    );
    // INFO is a stale command and shows the link down
    let i = info(&r, "replication");
    assert_eq!(field(&i, "master_link_status"), "down");
    // ROLE: slave, host, port, state, -1
    let role: redis::Value = q(&mut c, &["ROLE"]);
    let s = format!("{role:?}");
    assert!(s.contains("slave") && s.contains("-1"), "{s}");
}

#[test]
fn a_slow_replica_is_cut_off_by_its_output_buffer_limit_then_resyncs() {
    let m = picket(&[
        "--repl-diskless-sync-delay",
        "0",
        "--client-output-buffer-limit",
        "replica 1mb 0 0",
    ]);
    let r = picket(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    let pid = r.child.id() as i32;
    unsafe { libc::kill(pid, libc::SIGSTOP) };
    let mut c = m.conn();
    let big = "x".repeat(100_000);
    let t = Instant::now();
    let mut i = 0;
    while field(&info(&m, "replication"), "connected_slaves") != "0" {
        let _: () = q(&mut c, &["SET", &format!("big{i}"), &big]);
        i += 1;
        assert!(t.elapsed() < Duration::from_secs(20), "never disconnected");
    }
    unsafe { libc::kill(pid, libc::SIGCONT) };
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
}

#[test]
fn replica_killed_during_transfer_and_master_killed_during_transfer() {
    // replica dies mid-transfer: the master forgets it and serves the next one
    let m = picket(&[
        "--repl-diskless-sync-delay",
        "0",
        "--repl-diskless-sync",
        "no",
    ]);
    let mut c = m.conn();
    let _: () = q(&mut c, &["DEBUG", "POPULATE", "300000", "key", "100"]);
    let mut r = picket(&[]);
    replicate(&r, &m);
    std::thread::sleep(Duration::from_millis(50));
    let _ = r.child.kill();
    let _ = r.child.wait();
    let r2 = picket(&[]);
    replicate(&r2, &m);
    wait_synced(&r2, &m);
    assert_eq!(digest(&r2), digest(&m));
    // master dies mid-transfer: the replica keeps serving and retries
    let m2 = picket(&["--repl-diskless-sync-delay", "0"]);
    let mut c2 = m2.conn();
    let _: () = q(&mut c2, &["DEBUG", "POPULATE", "300000", "key", "100"]);
    let r3 = picket(&[]);
    replicate(&r3, &m2);
    std::thread::sleep(Duration::from_millis(30));
    let port = m2.port;
    drop(m2);
    let mut rc = r3.conn();
    let _: String = q(&mut rc, &["PING"]);
    // (had the transfer ended already, the replica sees the link drop a
    // moment after the kill)
    let t = Instant::now();
    let i = loop {
        let i = info(&r3, "replication");
        if field(&i, "master_link_status") == "down" {
            break i;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "{i}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(field(&i, "master_port"), port.to_string());
}

// ---------------------------------------------------------------- interop

#[test]
fn redis_replica_of_a_picket_master() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    fill(&m, "a", 500);
    let r = redis(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    // partial resync after a cut
    kill_master_link(&r);
    fill(&m, "b", 100);
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    assert_eq!(stat(&m, "sync_full"), 1);
    assert!(stat(&m, "sync_partial_ok") >= 1);
    // the replica's ACKs show in INFO
    let t = Instant::now();
    while !field(&info(&m, "replication"), "slave0").contains(&format!("offset={}", offset(&m))) {
        assert!(t.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn picket_replica_of_a_redis_master_then_promoted() {
    let m = redis(&["--repl-diskless-sync-delay", "0"]);
    fill(&m, "a", 500);
    let r = picket(&["--repl-diskless-sync-delay", "0"]);
    let other = redis(&[]);
    replicate(&r, &m);
    replicate(&other, &m);
    wait_synced(&r, &m);
    wait_synced(&other, &m);
    assert_eq!(digest(&r), digest(&m));
    kill_master_link(&r);
    fill(&m, "b", 100);
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    assert!(stat(&m, "sync_partial_ok") >= 1);
    // promotion: the real replica continues from us through replid2
    drop(m);
    let mut c = r.conn();
    let _: () = q(&mut c, &["REPLICAOF", "NO", "ONE"]);
    replicate(&other, &r);
    fill(&r, "c", 50);
    wait_synced(&other, &r);
    assert_eq!(digest(&other), digest(&r));
    assert_eq!(stat(&r, "sync_full"), 0);
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
}

/// Starts picket on `port` with `dir`, once: None if it could not serve
/// there (it exited, e.g. the port was taken). The server that answers
/// must be this very process (INFO process_id), done loading.
fn try_picket_at(dir: &std::path::Path, port: u16, extra: &[&str]) -> Option<Server> {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_picket-server"));
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args(DEBUG)
        .args(extra);
    try_serve(cmd, port).map(|(s, _)| s)
}

/// Waits (bounded) for `s` to exit after a SHUTDOWN.
fn wait_exit(s: &mut Server) {
    let t = Instant::now();
    while matches!(s.child.try_wait(), Ok(None)) {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "the server on port {} did not shut down",
            s.port
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts picket with `dir` on a free port.
fn picket_in(dir: &std::path::Path, extra: &[&str]) -> Server {
    for _ in 0..5 {
        if let Some(s) = try_picket_at(dir, free_port(), extra) {
            return s;
        }
    }
    panic!("picket did not start in {}", dir.display());
}

/// Restarts picket in place: same directory, same port (which others may
/// grab meanwhile: retried until it is ours again).
fn picket_at(dir: &std::path::Path, port: u16, extra: &[&str]) -> Server {
    let t = Instant::now();
    loop {
        if let Some(s) = try_picket_at(dir, port, extra) {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "picket could not restart on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn restarts_with_persistence_continue_partially() {
    let mdir = tempfile::tempdir().unwrap();
    let rdir = tempfile::tempdir().unwrap();
    let m = picket_in(
        mdir.path(),
        &["--save", "", "--repl-diskless-sync-delay", "0"],
    );
    let mut r = picket_in(rdir.path(), &["--save", ""]);
    let mport = m.port;
    replicate(&r, &m);
    fill(&m, "a", 300);
    wait_synced(&r, &m);
    // the replica restarts from its own dump and continues partially
    let mut rc = r.conn();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg("SAVE").query(&mut rc);
    wait_exit(&mut r);
    fill(&m, "b", 50);
    let r = picket_in(
        rdir.path(),
        &["--save", "", "--replicaof", "127.0.0.1", &mport.to_string()],
    );
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    assert_eq!(stat(&m, "sync_full"), 1);
    assert_eq!(stat(&m, "sync_partial_ok"), 1);
    // the master restarts from its dump: its old ID is now replid2, and
    // the replica continues partially again
    let old_id = field(&info(&m, "replication"), "master_replid");
    let at = offset(&m);
    let mut mc = m.conn();
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg("SAVE").query(&mut mc);
    let mut m = m;
    wait_exit(&mut m);
    let m = picket_at(
        mdir.path(),
        mport,
        &["--save", "", "--repl-diskless-sync-delay", "0"],
    );
    let i = info(&m, "replication");
    assert_eq!(field(&i, "master_replid2"), old_id);
    assert_eq!(field(&i, "second_repl_offset"), (at + 1).to_string());
    assert_eq!(field(&i, "master_repl_offset"), at.to_string());
    fill(&m, "c", 20);
    wait_synced(&r, &m);
    assert_eq!(digest(&r), digest(&m));
    assert_eq!(stat(&m, "sync_full"), 0);
    assert_eq!(stat(&m, "sync_partial_ok"), 1);
}

#[test]
fn a_replica_hides_expired_keys_but_waits_for_the_masters_del() {
    let m = picket(&["--repl-diskless-sync-delay", "0"]);
    let r = picket(&[]);
    replicate(&r, &m);
    wait_synced(&r, &m);
    let mut mc = m.conn();
    let _: () = q(&mut mc, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    let _: () = q(&mut mc, &["SET", "k", "v", "PX", "100"]);
    wait_synced(&r, &m);
    std::thread::sleep(Duration::from_millis(200));
    let mut rc = r.conn();
    // reads see it gone, but only the master deletes it
    assert_eq!(q::<Option<String>>(&mut rc, &["GET", "k"]), None);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 1);
    assert_eq!(q::<Option<String>>(&mut mc, &["GET", "k"]), None);
    wait_synced(&r, &m);
    assert_eq!(q::<i64>(&mut rc, &["DBSIZE"]), 0);
    assert_eq!(digest(&r), digest(&m));
}

#[test]
fn replicas_arriving_together_share_one_diskless_snapshot() {
    // both replicas ask within the delay (3 s leaves room for a slow start)
    let m = picket(&["--repl-diskless-sync-delay", "3"]);
    fill(&m, "a", 300);
    let forks = stat(&m, "total_forks");
    let r1 = picket(&[]);
    let r2 = picket(&[]);
    replicate(&r1, &m);
    replicate(&r2, &m);
    // writes while they wait for the delayed snapshot reach both after it
    fill(&m, "during", 50);
    wait_synced(&r1, &m);
    wait_synced(&r2, &m);
    assert_eq!(stat(&m, "total_forks"), forks + 1);
    assert_eq!(stat(&m, "sync_full"), 2);
    assert_eq!(digest(&r1), digest(&m));
    assert_eq!(digest(&r2), digest(&m));
}

/// `bind-source-addr` (Redis 7.0): the replica's link to its master leaves
/// from that address, so the master sees it in CLIENT LIST and INFO. The
/// HA harness tells processes apart by it.
#[test]
fn the_replica_link_leaves_from_bind_source_addr() {
    for (name, start) in [
        ("picket", picket as fn(&[&str]) -> Server),
        ("redis", redis),
    ] {
        let master = start(&["--protected-mode", "no"]);
        let replica = picket(&["--bind-source-addr", "127.0.0.7"]);
        replicate(&replica, &master);
        wait_synced(&replica, &master);
        let list: String = q(&mut master.conn(), &["CLIENT", "LIST", "TYPE", "replica"]);
        assert!(list.contains("addr=127.0.0.7:"), "{name} master: {list}");
        let i = info(&master, "replication");
        assert!(i.contains("slave0:ip=127.0.0.7,"), "{name} master: {i}");
    }
}

/// A write's share of the stream is handed to the replica's socket before
/// the reply to the client leaves (Redis writes replicas first in
/// `beforeSleep`), so a master killed right after acknowledging has
/// already passed the write on. Checked on the syscalls themselves: the
/// `send` carrying the SET to the replica precedes the `+OK` to the client.
#[test]
fn the_replica_gets_a_write_before_the_client_gets_its_reply() {
    let master = picket(&[]);
    let replica = picket(&[]);
    replicate(&replica, &master);
    wait_synced(&replica, &master);
    let mut c = master.conn();
    let out = std::env::temp_dir().join(format!("picket-order-{}", master.port));
    let mut tracer = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-s",
            "256",
            "-e",
            "trace=write,writev,sendto,sendmsg",
            "-o",
        ])
        .arg(&out)
        .args(["-p", &master.child.id().to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace (scripts/test.sh installs it)");
    wait_traced(&mut tracer, master.child.id());
    for i in 0..20 {
        let _: () = q(&mut c, &["SET", &format!("order-check-{i}"), "v"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let _ = tracer.wait();
    let text = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..20 {
        let key = format!("order-check-{i}\\r\\n");
        let stream = lines.iter().position(|l| l.contains(&key));
        let stream = stream.unwrap_or_else(|| panic!("no stream write for SET {i}:\n{text}"));
        // the reply to that SET: the first +OK after the previous SET's
        let replies: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.contains("\"+OK\\r\\n\""))
            .map(|(n, _)| n)
            .collect();
        let reply = replies[i];
        assert!(
            stream < reply,
            "SET {i}: the reply (line {reply}) left before the stream (line {stream}):\n{text}"
        );
    }
}
