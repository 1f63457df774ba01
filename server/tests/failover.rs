//! The FAILOVER command on real processes (Redis 7.0.15 `failoverCommand`,
//! `shared/reference/replication.md` §15): roles swap and the old master
//! continues partially; writes wait during waiting-for-sync and then meet
//! a replica; TIMEOUT, ABORT and FORCE; every error text; and interop with
//! Debian's redis-server 7.0.15 in both directions.
//!
//! A replica that must not catch up is frozen with SIGSTOP (the kernel
//! still accepts connections for it), so no test depends on a race.

mod common;
use common::*;
use std::time::{Duration, Instant};

fn picket(extra: &[&str]) -> Server {
    let mut a = vec!["--enable-debug-command", "yes"];
    a.extend_from_slice(extra);
    Server::start(&a)
}

fn redis(extra: &[&str]) -> Server {
    let mut a = vec!["--enable-debug-command", "yes"];
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

fn repl(s: &Server, name: &str) -> String {
    field(&info(s, "replication"), name)
}

fn stat(s: &Server, name: &str) -> i64 {
    field(&info(s, "stats"), name).parse().unwrap()
}

/// Polls `cond` every 20 ms for at most 20 s.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(20), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `r` replicates `m` and has applied everything `m` produced.
fn attach(r: &Server, m: &Server) {
    let mut c = r.conn();
    let _: () = q(&mut c, &["REPLICAOF", "127.0.0.1", &m.port.to_string()]);
    wait_synced(r, m);
}

fn wait_synced(r: &Server, m: &Server) {
    wait_for("replica in sync", || {
        let i = info(r, "replication");
        field(&i, "master_link_status") == "up"
            && field(&i, "master_repl_offset") == repl(m, "master_repl_offset")
            // the master saw the ACK of that offset
            && info(m, "replication").contains(&format!(
                "port={},state=online,offset={}",
                r.port,
                field(&i, "master_repl_offset")
            ))
    });
}

/// `new` is a master and `old` its connected replica.
fn wait_swapped(old: &Server, new: &Server) {
    wait_for("roles swapped", || {
        let o = info(old, "replication");
        field(&o, "role") == "slave"
            && field(&o, "master_port") == new.port.to_string()
            && field(&o, "master_link_status") == "up"
            && field(&o, "master_failover_state") == "no-failover"
            && repl(new, "role") == "master"
    });
}

fn signal(s: &Server, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &s.child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig}");
}

fn set(s: &Server, k: &str, v: &str) {
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", k, v]);
}

fn get(s: &Server, k: &str) -> Option<String> {
    let mut c = s.conn();
    q(&mut c, &["GET", k])
}

/// Sends a write on a raw socket and checks it stays unanswered.
fn paused_write(s: &Server, key: &str) -> Raw {
    let mut w = s.raw();
    w.cmd(&["SET", key, "during"]);
    let got = w.read_available(Duration::from_millis(400));
    assert!(
        got.is_empty(),
        "a write was answered during the failover: {got:?}"
    );
    w.s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    w
}

fn read_line(w: &mut Raw) -> String {
    String::from_utf8_lossy(&w.read_frame()).into_owned()
}

#[test]
fn failover_swaps_roles_and_the_old_master_continues_partially() {
    let m = picket(&[]);
    let r = picket(&[]);
    for i in 0..100 {
        set(&m, &format!("k{i}"), "v");
    }
    attach(&r, &m);
    let old_id = repl(&m, "master_replid");
    let mut c = m.conn();
    let _: () = q(&mut c, &["FAILOVER"]);
    wait_swapped(&m, &r);
    // the target promoted itself: a new history, ours valid as replid2 ...
    assert_eq!(repl(&r, "master_replid2"), old_id);
    assert_ne!(repl(&r, "master_replid"), old_id);
    // ... and the old master continued from it without a full sync
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
    assert_eq!(stat(&r, "sync_full"), 0);
    assert_eq!(repl(&m, "master_replid"), repl(&r, "master_replid"));
    set(&r, "after", "1");
    wait_synced(&m, &r);
    assert_eq!(get(&m, "after").as_deref(), Some("1"));
    assert_eq!(get(&m, "k99").as_deref(), Some("v"));
    let mut c = m.conn();
    assert_eq!(
        qerr(&mut c, &["SET", "x", "1"]),
        "READONLY You can't write against a read only replica."
    );
}

#[test]
fn writes_wait_during_waiting_for_sync_then_get_readonly() {
    let m = picket(&[]);
    let r = picket(&[]);
    attach(&r, &m);
    signal(&r, "-STOP");
    set(&m, "ahead", "1"); // the frozen replica cannot acknowledge this
    let mut c = m.conn();
    let _: () = q(
        &mut c,
        &["FAILOVER", "TO", "127.0.0.1", &r.port.to_string()],
    );
    assert_eq!(repl(&m, "master_failover_state"), "waiting-for-sync");
    let mut w = paused_write(&m, "w");
    // reads go on; CLIENT UNPAUSE does not end the failover's pause
    assert_eq!(get(&m, "ahead").as_deref(), Some("1"));
    let _: () = q(&mut c, &["CLIENT", "UNPAUSE"]);
    assert!(w.read_available(Duration::from_millis(300)).is_empty());
    w.s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    signal(&r, "-CONT");
    // the write was held until the switch, then met a replica
    assert_eq!(
        read_line(&mut w),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    wait_swapped(&m, &r);
    assert_eq!(get(&r, "ahead").as_deref(), Some("1"));
    assert_eq!(get(&r, "w"), None);
}

#[test]
fn errors_are_redis_texts() {
    let m = picket(&["--repl-diskless-sync-delay", "60"]);
    let mut c = m.conn();
    let e = |c: &mut redis::Connection, args: &[&str]| qerr(c, args);
    assert_eq!(
        e(&mut c, &["FAILOVER"]),
        "ERR FAILOVER requires connected replicas."
    );
    assert_eq!(
        e(&mut c, &["FAILOVER", "ABORT"]),
        "ERR No failover in progress."
    );
    assert_eq!(
        e(&mut c, &["FAILOVER", "TIMEOUT", "0"]),
        "ERR FAILOVER timeout must be greater than 0"
    );
    assert_eq!(e(&mut c, &["FAILOVER", "TO", "h"]), "ERR syntax error");
    assert_eq!(
        e(&mut c, &["FAILOVER", "TO", "h", "p"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        e(&mut c, &["PSYNC", "x", "1", "FAILOVER"]),
        "ERR PSYNC FAILOVER can't be sent to a master."
    );
    let r = picket(&["--repl-diskless-sync-delay", "0"]);
    let mut rc = r.conn();
    let _: () = q(&mut rc, &["REPLICAOF", "127.0.0.1", &m.port.to_string()]);
    // the master waits 60 s before a diskless sync: the replica is not online
    wait_for("replica waiting for its sync", || {
        info(&m, "replication").contains(&format!("port={},state=wait_bgsave", r.port))
    });
    // (a replica acknowledging offset 0 would count as caught up at 0)
    set(&m, "x", "1");
    let to_r = ["FAILOVER", "TO", "127.0.0.1", &r.port.to_string()];
    assert_eq!(
        e(&mut c, &to_r),
        "ERR FAILOVER target replica is not online."
    );
    assert_eq!(
        e(&mut rc, &["FAILOVER"]),
        "ERR FAILOVER is not valid when server is a replica."
    );
    assert_eq!(
        e(&mut rc, &["PSYNC", "0123", "1", "FAILOVER"]),
        "ERR PSYNC FAILOVER replid must match my replid."
    );
    assert_eq!(
        e(&mut c, &["FAILOVER", "TO", "127.0.0.1", "1"]),
        "ERR FAILOVER target HOST and PORT is not a replica."
    );
    assert_eq!(
        e(
            &mut c,
            &["FAILOVER", "TO", "127.0.0.1", &r.port.to_string(), "FORCE"]
        ),
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    );
    assert_eq!(
        e(&mut c, &["FAILOVER", "TIMEOUT", "100", "FORCE"]),
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP."
    );
    // a failover waiting for a replica that never acknowledges
    let _: () = q(&mut c, &["FAILOVER", "TIMEOUT", "60000"]);
    assert_eq!(
        e(&mut c, &["FAILOVER"]),
        "ERR FAILOVER already in progress."
    );
    assert_eq!(
        e(&mut c, &["REPLICAOF", "127.0.0.1", "1"]),
        "ERR REPLICAOF not allowed while failing over."
    );
    assert_eq!(
        e(&mut c, &["REPLICAOF", "NO", "ONE"]),
        "ERR REPLICAOF not allowed while failing over."
    );
    let mut raw = m.raw();
    assert_eq!(
        raw.call(&["PSYNC", "?", "-1"]),
        "-NOMASTERLINK Can't SYNC while failing over\r\n"
    );
    let _: () = q(&mut c, &["FAILOVER", "ABORT"]);
    assert_eq!(repl(&m, "master_failover_state"), "no-failover");
    assert_eq!(repl(&m, "role"), "master");
}

#[test]
fn timeout_without_force_aborts_and_abort_cancels() {
    let m = picket(&[]);
    let r = picket(&[]);
    attach(&r, &m);
    signal(&r, "-STOP");
    set(&m, "ahead", "1");
    let mut c = m.conn();
    let port = r.port.to_string();
    let _: () = q(
        &mut c,
        &["FAILOVER", "TO", "127.0.0.1", &port, "TIMEOUT", "1500"],
    );
    let mut w = paused_write(&m, "t");
    // the deadline passes: writes resume on a master that stayed one
    assert_eq!(read_line(&mut w), "+OK\r\n");
    assert_eq!(repl(&m, "master_failover_state"), "no-failover");
    assert_eq!(repl(&m, "role"), "master");
    let _: () = q(&mut c, &["FAILOVER"]);
    assert_eq!(repl(&m, "master_failover_state"), "waiting-for-sync");
    let mut w = paused_write(&m, "a");
    let _: () = q(&mut c, &["FAILOVER", "ABORT"]);
    assert_eq!(read_line(&mut w), "+OK\r\n");
    assert_eq!(repl(&m, "master_failover_state"), "no-failover");
    signal(&r, "-CONT");
    wait_synced(&r, &m);
    assert_eq!(repl(&r, "role"), "slave");
    assert_eq!(get(&r, "a").as_deref(), Some("during"));
}

#[test]
fn force_switches_at_the_deadline_even_if_the_target_lags() {
    let m = picket(&[]);
    let r = picket(&[]);
    set(&m, "kept", "1");
    attach(&r, &m);
    signal(&r, "-STOP");
    set(&m, "lost", "1"); // not acknowledged by the target
    let mut c = m.conn();
    let port = r.port.to_string();
    let _: () = q(
        &mut c,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &port,
            "TIMEOUT",
            "1000",
            "FORCE",
        ],
    );
    let mut w = paused_write(&m, "w");
    // past the deadline we are the frozen target's replica, waiting for
    // its answer to PSYNC FAILOVER
    wait_for("switched", || {
        let i = info(&m, "replication");
        field(&i, "role") == "slave" && field(&i, "master_failover_state") == "failover-in-progress"
    });
    // new writes meet a replica at once; the held one still waits
    assert_eq!(
        qerr(&mut c, &["SET", "x", "1"]),
        "READONLY You can't write against a read only replica."
    );
    assert!(w.read_available(Duration::from_millis(200)).is_empty());
    w.s.set_read_timeout(Some(Duration::from_secs(20))).ok();
    signal(&r, "-CONT");
    assert_eq!(
        read_line(&mut w),
        "-READONLY You can't write against a read only replica.\r\n"
    );
    wait_swapped(&m, &r);
    wait_synced(&m, &r);
    // (the frozen target may still apply the write its socket holds, and
    // then the old master continues partially; either way both agree)
    assert_eq!(get(&m, "lost"), get(&r, "lost"));
    assert_eq!(get(&m, "kept").as_deref(), Some("1"));
}

#[test]
fn picket_master_fails_over_to_a_redis_replica() {
    let m = picket(&[]);
    let r = redis(&[]);
    for i in 0..50 {
        set(&m, &format!("k{i}"), "v");
    }
    attach(&r, &m);
    let old_id = repl(&m, "master_replid");
    let mut c = m.conn();
    let _: () = q(
        &mut c,
        &["FAILOVER", "TO", "127.0.0.1", &r.port.to_string()],
    );
    wait_swapped(&m, &r);
    assert_eq!(repl(&r, "master_replid2"), old_id);
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
    assert_eq!(stat(&r, "sync_full"), 0);
    set(&r, "after", "1");
    wait_synced(&m, &r);
    assert_eq!(get(&m, "after").as_deref(), Some("1"));
}

#[test]
fn redis_master_fails_over_to_a_picket_replica() {
    let m = redis(&[]);
    let r = picket(&[]);
    for i in 0..50 {
        set(&m, &format!("k{i}"), "v");
    }
    attach(&r, &m);
    let old_id = repl(&m, "master_replid");
    let mut c = m.conn();
    let _: () = q(&mut c, &["FAILOVER"]);
    wait_swapped(&m, &r);
    assert_eq!(repl(&r, "master_replid2"), old_id);
    assert_eq!(stat(&r, "sync_partial_ok"), 1);
    assert_eq!(stat(&r, "sync_full"), 0);
    set(&r, "after", "1");
    wait_synced(&m, &r);
    assert_eq!(get(&m, "after").as_deref(), Some("1"));
    assert_eq!(get(&m, "k49").as_deref(), Some("v"));
}

#[test]
fn abort_while_failover_in_progress_makes_us_master_again() {
    let m = picket(&[]);
    let r = picket(&[]);
    attach(&r, &m);
    let old_id = repl(&m, "master_replid");
    signal(&r, "-STOP");
    set(&m, "ahead", "1");
    let mut c = m.conn();
    let port = r.port.to_string();
    let _: () = q(
        &mut c,
        &[
            "FAILOVER",
            "TO",
            "127.0.0.1",
            &port,
            "TIMEOUT",
            "1000",
            "FORCE",
        ],
    );
    let mut w = paused_write(&m, "w");
    wait_for("switched", || {
        repl(&m, "master_failover_state") == "failover-in-progress"
    });
    let _: () = q(&mut c, &["FAILOVER", "ABORT"]);
    // a master again, with a new history as after REPLICAOF NO ONE; the
    // held write now runs
    assert_eq!(read_line(&mut w), "+OK\r\n");
    let i = info(&m, "replication");
    assert_eq!(field(&i, "role"), "master");
    assert_eq!(field(&i, "master_failover_state"), "no-failover");
    assert_eq!(field(&i, "master_replid2"), old_id);
    signal(&r, "-CONT");
    assert_eq!(get(&m, "w").as_deref(), Some("during"));
}
