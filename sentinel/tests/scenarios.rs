//! The HA scenarios, on real processes over loopback: one picket-server
//! master, two picket-server replicas and three picket-sentinels (quorum
//! 2, down-after-milliseconds 1000, failover-timeout 10000), each test
//! with its own ports and temp directory, bounded in time, and cleaned up
//! on drop. The tests are independent and run in parallel.
//!
//! Needs `redis-cli` and target/debug/picket-server (`cargo build -p
//! picket-server`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;

/// One running sentinel: its process, port and config file.
struct Sentinel {
    proc: Proc,
    conf: PathBuf,
}

impl Sentinel {
    fn port(&self) -> u16 {
        self.proc.port
    }

    fn log_has(&self, event: &str) -> usize {
        logged(&self.conf, event).len()
    }
}

/// The usual group: a master, two replicas, three sentinels that already
/// know each other and both replicas (persisted), replicas in sync.
struct Cluster {
    master: Proc,
    replicas: Vec<Proc>,
    sentinels: Vec<Sentinel>,
    // dropped last: the logs are printed on failure once the processes
    // are gone
    dir: TempDir,
}

impl Cluster {
    /// Starts the group; `replica_args[i]` are extra options of replica i.
    fn start(tag: &str, replica_args: [&[&str]; 2]) -> Cluster {
        require_tool("redis-cli");
        let bin = picket_server_bin();
        let dir = TempDir::new(tag);
        // no 5 s wait before a diskless full sync
        let fast = ["--repl-diskless-sync-delay", "0"];
        let master = server_with(&bin, dir.path(), None, &fast);
        let replicas: Vec<Proc> = replica_args
            .iter()
            .map(|extra| {
                let args: Vec<&str> = fast.iter().chain(extra.iter()).copied().collect();
                server_with(&bin, dir.path(), Some(master.port), &args)
            })
            .collect();
        cli(master.port, &["SET", "before", "1"]);
        for r in &replicas {
            wait_for("the replicas to sync", Duration::from_secs(20), || {
                cli(r.port, &["GET", "before"]).trim() == "1"
            });
        }
        let sentinels: Vec<Sentinel> = (0..3)
            .map(|_| {
                let (proc, conf) = sentinel(PICKET, dir.path(), master.port);
                Sentinel { proc, conf }
            })
            .collect();
        let c = Cluster {
            master,
            replicas,
            sentinels,
            dir,
        };
        for s in &c.sentinels {
            wait_for("discovery persisted", Duration::from_secs(20), || {
                count_lines(&s.conf, &format!("sentinel known-sentinel {MASTER} ")) == 2
                    && count_lines(&s.conf, &format!("sentinel known-replica {MASTER} ")) == 2
            });
        }
        c
    }

    fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(Sentinel::port).collect()
    }

    fn confs(&self) -> Vec<PathBuf> {
        self.sentinels.iter().map(|s| s.conf.clone()).collect()
    }

    fn replica_ports(&self) -> Vec<u16> {
        self.replicas.iter().map(|r| r.port).collect()
    }

    /// Total of `event` lines over every sentinel's log.
    fn logged_total(&self, event: &str) -> usize {
        self.sentinels.iter().map(|s| s.log_has(event)).sum()
    }
}

fn addr(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// `port` is a replica of `master` with its link up.
fn replicates_from(port: u16, master: u16) -> bool {
    let info = cli(port, &["INFO", "replication"]);
    info.contains("role:slave")
        && info.contains(&format!("master_port:{master}\r"))
        && info.contains("master_link_status:up")
}

/// Every sentinel lists `n` replicas and `m` other sentinels.
fn wait_known(ports: &[u16], replicas: usize, sentinels: usize, within: Duration) {
    for p in ports {
        wait_for(
            &format!("sentinel {p} to know {replicas} replicas and {sentinels} sentinels"),
            within,
            || {
                records(&cli(*p, &["SENTINEL", "REPLICAS", MASTER])) == replicas
                    && records(&cli(*p, &["SENTINEL", "SENTINELS", MASTER])) == sentinels
            },
        );
    }
}

// ---- 1. master killed ----

#[test]
fn a_killed_master_is_failed_over_exactly_once() {
    let mut c = Cluster::start("killed", [&[], &[]]);
    let old = c.master.port;
    let subs: Vec<_> = c.ports().iter().map(|p| subscribe_all(*p)).collect();
    c.master.kill();
    let new = check_switched(&c.ports(), &c.confs(), &c.replica_ports());
    // each sentinel switched once (the leader at the failover end, the
    // others from its hellos)
    for rx in &subs {
        assert_eq!(
            expect_event(rx, "+switch-master", Duration::from_secs(5)),
            format!("{MASTER} 127.0.0.1 {old} 127.0.0.1 {new}")
        );
    }
    // nothing more happens once converged
    std::thread::sleep(Duration::from_secs(3));
    for s in &c.sentinels {
        assert_eq!(s.log_has("+switch-master"), 1, "{}", s.conf.display());
    }
    assert_eq!(c.logged_total("+failover-end"), 1);
    assert_eq!(c.logged_total("+elected-leader"), 1);
    assert_eq!(c.logged_total("+promoted-slave"), 1);
    // converged: same address everywhere, the data on the new master, the
    // old master listed as a (down) replica, both peers still known
    for p in c.ports() {
        assert_eq!(master_addr(p), addr(new));
    }
    assert_eq!(cli(new, &["GET", "before"]).trim(), "1");
    wait_known(&c.ports(), 2, 2, Duration::from_secs(10));
    for p in c.ports() {
        let replicas = cli(p, &["SENTINEL", "REPLICAS", MASTER]);
        assert!(replicas.contains(&format!("127.0.0.1:{old}")), "{replicas}");
    }
}

// ---- 2. master paused past down-after ----

#[test]
fn a_paused_master_is_failed_over_and_rejoins_as_a_replica() {
    let c = Cluster::start("paused", [&[], &[]]);
    let old = c.master.port;
    let events = subscribe_all(c.ports()[0]);
    c.master.pause();
    assert_eq!(
        expect_event(&events, "+sdown", Duration::from_secs(10)),
        format!("master {MASTER} 127.0.0.1 {old}")
    );
    // (45 s: a split vote retries after 2 × failover-timeout, 20 s)
    expect_event(&events, "+switch-master", Duration::from_secs(45));
    let new = check_switched(&c.ports(), &c.confs(), &c.replica_ports());
    c.master.resume();
    // it comes back believing it is a master; a sentinel turns it into a
    // replica of the new one
    wait_for("+convert-to-slave", Duration::from_secs(30), || {
        c.sentinels.iter().any(|s| {
            logged(&s.conf, "+convert-to-slave")
                .iter()
                .any(|l| l.starts_with(&format!("slave 127.0.0.1:{old} ")))
        })
    });
    wait_for(
        "the old master to replicate",
        Duration::from_secs(20),
        || replicates_from(old, new),
    );
    assert_eq!(cli(old, &["GET", "before"]).trim(), "1");
    assert_eq!(c.logged_total("+failover-end"), 1);
    for p in c.ports() {
        assert_eq!(master_addr(p), addr(new));
    }
}

// ---- 3. sentinels down ----

#[test]
fn one_sentinel_of_three_down_still_fails_over() {
    let mut c = Cluster::start("onedown", [&[], &[]]);
    c.sentinels[2].proc.kill();
    let alive = &c.sentinels[..2];
    let ports: Vec<u16> = alive.iter().map(Sentinel::port).collect();
    let confs: Vec<PathBuf> = alive.iter().map(|s| s.conf.clone()).collect();
    let events = subscribe_all(ports[0]);
    c.master.kill();
    // (the leader logs +odown; the other may vote before it sees it)
    wait_for("+odown", Duration::from_secs(15), || {
        c.logged_total("+odown") > 0
    });
    expect_event(&events, "+switch-master", Duration::from_secs(45));
    check_switched(&ports, &confs, &c.replica_ports());
}

#[test]
fn two_sentinels_of_three_down_block_the_failover() {
    let mut c = Cluster::start("twodown", [&[], &[]]);
    let old = c.master.port;
    c.sentinels[1].proc.kill();
    c.sentinels[2].proc.kill();
    let port = c.sentinels[0].port();
    let events = subscribe_all(port);
    c.master.kill();
    expect_event(&events, "+sdown", Duration::from_secs(10));
    // quorum 2: nobody agrees, no ODOWN, no failover
    let seen = events_for(&events, Duration::from_secs(5));
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert!(
        !names.contains(&"+odown") && !names.contains(&"+try-failover"),
        "{names:?}"
    );
    // quorum 1: ODOWN alone, but a failover still needs a majority of the
    // three known sentinels' votes
    assert_eq!(
        cli(port, &["SENTINEL", "SET", MASTER, "quorum", "1"]).trim(),
        "OK"
    );
    assert!(expect_event(&events, "+odown", Duration::from_secs(5)).ends_with("#quorum 1/1"));
    expect_event(&events, "+try-failover", Duration::from_secs(5));
    // the election times out after min(10 s, failover-timeout), counted
    // from the start time (+try-failover plus a random 0-1 s) and seen on
    // a timer tick: wait up to 15 s for the abort, then 1 s more for
    // anything that would follow it
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.iter().any(|(n, _)| n == "-failover-abort-not-elected") {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        seen.extend(events_for(&events, left.min(Duration::from_millis(200))));
    }
    seen.extend(events_for(&events, Duration::from_secs(1)));
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"-failover-abort-not-elected"), "{names:?}");
    assert!(
        !names.contains(&"+elected-leader") && !names.contains(&"+switch-master"),
        "{names:?}"
    );
    assert_eq!(master_addr(port), addr(old));
}

// ---- 4. replica-priority 0 ----

#[test]
fn a_replica_with_priority_zero_is_never_promoted() {
    let mut c = Cluster::start("prio0", [&["--replica-priority", "0"], &[]]);
    let (never, other) = (c.replicas[0].port, c.replicas[1].port);
    let events = subscribe_all(c.ports()[0]);
    c.master.kill();
    expect_event(&events, "+switch-master", Duration::from_secs(45));
    let new = check_switched(&c.ports(), &c.confs(), &c.replica_ports());
    assert_eq!(new, other);
    assert!(replicates_from(never, other));
    // the records re-created by the switch learn the priority from INFO
    wait_for(
        "SENTINEL REPLICAS to show priority 0",
        Duration::from_secs(15),
        || cli(c.ports()[0], &["SENTINEL", "REPLICAS", MASTER]).contains("slave-priority\n0\n"),
    );
}

#[test]
fn no_failover_when_every_replica_has_priority_zero() {
    let prio0: &[&str] = &["--replica-priority", "0"];
    let mut c = Cluster::start("allprio0", [prio0, prio0]);
    let old = c.master.port;
    let ports = c.ports();
    // wait for INFO to have shown the priorities to every sentinel
    for p in &ports {
        wait_for("priorities seen", Duration::from_secs(15), || {
            cli(*p, &["SENTINEL", "REPLICAS", MASTER])
                .matches("slave-priority\n0\n")
                .count()
                == 2
        });
    }
    assert_eq!(
        cli(ports[0], &["SENTINEL", "FAILOVER", MASTER]).trim(),
        "NOGOODSLAVE No suitable replica to promote"
    );
    let subs: Vec<_> = ports.iter().map(|p| subscribe_all(*p)).collect();
    c.master.kill();
    // whoever is elected finds no replica to promote (45 s: a split vote
    // retries after 2 × failover-timeout, 20 s)
    let deadline = Instant::now() + Duration::from_secs(45);
    let mut seen = Vec::new();
    while !seen.iter().any(|n| n == "-failover-abort-no-good-slave") {
        assert!(Instant::now() < deadline, "no abort: {seen:?}");
        for rx in &subs {
            seen.extend(
                events_for(rx, Duration::from_millis(100))
                    .into_iter()
                    .map(|(n, _)| n),
            );
        }
    }
    for rx in &subs {
        seen.extend(
            events_for(rx, Duration::from_millis(500))
                .into_iter()
                .map(|(n, _)| n),
        );
    }
    assert!(seen.iter().any(|n| n == "+elected-leader"), "{seen:?}");
    assert!(!seen.iter().any(|n| n == "+switch-master"), "{seen:?}");
    for p in &ports {
        assert_eq!(master_addr(*p), addr(old));
    }
    assert_eq!(c.logged_total("+selected-slave"), 0);
}

// ---- 5. SENTINEL FAILOVER drill ----

#[test]
fn sentinel_failover_swaps_roles_without_a_failure() {
    let c = Cluster::start("drill", [&[], &[]]);
    let old = c.master.port;
    let ports = c.ports();
    let events = subscribe_all(ports[1]);
    assert_eq!(
        cli(ports[0], &["SENTINEL", "FAILOVER", MASTER]).trim(),
        "OK"
    );
    assert_eq!(
        cli(ports[0], &["SENTINEL", "FAILOVER", MASTER]).trim(),
        "INPROG Failover already in progress"
    );
    expect_event(&events, "+switch-master", Duration::from_secs(30));
    let new = check_switched(&ports, &c.confs(), &c.replica_ports());
    // the old master, alive all along, is turned into a replica
    wait_for(
        "the old master to replicate",
        Duration::from_secs(30),
        || replicates_from(old, new),
    );
    assert_eq!(cli(new, &["GET", "before"]).trim(), "1");
    assert_eq!(cli(new, &["SET", "after", "2"]).trim(), "OK");
    for r in [old]
        .into_iter()
        .chain(c.replica_ports().into_iter().filter(|p| *p != new))
    {
        wait_for(
            "writes to reach the replicas",
            Duration::from_secs(10),
            || cli(r, &["GET", "after"]).trim() == "2",
        );
    }
    wait_known(&ports, 2, 2, Duration::from_secs(20));
    assert_eq!(c.logged_total("+failover-end"), 1);
    for s in &c.sentinels {
        assert_eq!(s.log_has("+switch-master"), 1);
    }
}

// ---- 6. a sentinel restarted ----

#[test]
fn a_restarted_sentinel_resumes_from_its_rewritten_config() {
    let mut c = Cluster::start("restart", [&[], &[]]);
    let ports = c.ports();
    c.master.kill();
    let new = check_switched(&ports, &c.confs(), &c.replica_ports());
    wait_for("the failover to end", Duration::from_secs(20), || {
        c.logged_total("+failover-end") == 1
    });
    let s0 = ports[0];
    let elected = c.sentinels[0].log_has("+elected-leader");
    let myid = cli(s0, &["SENTINEL", "MYID"]).trim().to_string();
    let before = cli(s0, &["SENTINEL", "MASTER", MASTER]);
    let config_epoch = field(&before, "config-epoch").unwrap();
    assert_ne!(config_epoch, "0");
    let conf = c.sentinels[0].conf.clone();

    let st = c.sentinels[0].proc.terminate(Duration::from_secs(10));
    assert!(st.success(), "{st:?}");
    let text = fs::read_to_string(&conf).unwrap();
    assert!(text.contains(&format!("sentinel myid {myid}")), "{text}");
    assert!(
        text.contains(&format!("sentinel monitor {MASTER} 127.0.0.1 {new} 2")),
        "{text}"
    );
    c.sentinels[0].proc = start_sentinel(PICKET, c.dir(), &conf, s0);

    // straight from the file, before any hello or INFO
    assert_eq!(cli(s0, &["SENTINEL", "MYID"]).trim(), myid);
    assert_eq!(master_addr(s0), addr(new));
    let after = cli(s0, &["SENTINEL", "MASTER", MASTER]);
    assert_eq!(field(&after, "config-epoch").unwrap(), config_epoch);
    assert_eq!(records(&cli(s0, &["SENTINEL", "SENTINELS", MASTER])), 2);
    assert_eq!(records(&cli(s0, &["SENTINEL", "REPLICAS", MASTER])), 2);
    // the peers still know it under the same id
    for p in &ports[1..] {
        let known = cli(*p, &["SENTINEL", "SENTINELS", MASTER]);
        assert!(known.contains(&myid), "{known}");
        assert_eq!(records(&known), 2);
    }
    // its epoch survived: a failover it forces now is accepted by the
    // others (a config epoch not above theirs would be ignored)
    let remaining = *c.replica_ports().iter().find(|p| **p != new).unwrap();
    wait_for(
        "the restarted sentinel to accept SENTINEL FAILOVER",
        Duration::from_secs(20),
        || cli(s0, &["SENTINEL", "FAILOVER", MASTER]).trim() == "OK",
    );
    wait_for("everyone to follow it", Duration::from_secs(30), || {
        ports.iter().all(|p| master_addr(*p) == addr(remaining))
    });
    let epoch: u64 = field(&cli(s0, &["SENTINEL", "MASTER", MASTER]), "config-epoch")
        .unwrap()
        .parse()
        .unwrap();
    assert!(epoch > config_epoch.parse().unwrap());
    assert_eq!(c.sentinels[0].log_has("+elected-leader"), elected + 1);
}

// ---- 7. a sentinel added later ----

#[test]
fn a_sentinel_added_later_discovers_the_group_by_itself() {
    let c = Cluster::start("added", [&[], &[]]);
    let port = free_port();
    let conf = write_sentinel_conf(c.dir(), port, c.master.port, 2, "");
    let late = start_sentinel(PICKET, c.dir(), &conf, port);
    // it finds the replicas through INFO and the sentinels through hellos
    wait_known(&[late.port], 2, 3, Duration::from_secs(20));
    wait_for("its discoveries persisted", Duration::from_secs(10), || {
        count_lines(&conf, &format!("sentinel known-sentinel {MASTER} ")) == 3
            && count_lines(&conf, &format!("sentinel known-replica {MASTER} ")) == 2
    });
    let late_id = cli(late.port, &["SENTINEL", "MYID"]).trim().to_string();
    // and the others learn it
    for s in &c.sentinels {
        wait_for("the others to learn it", Duration::from_secs(10), || {
            cli(s.port(), &["SENTINEL", "SENTINELS", MASTER]).contains(&late_id)
                && fs::read_to_string(&s.conf)
                    .unwrap_or_default()
                    .contains(&format!("127.0.0.1 {port} {late_id}"))
        });
    }
    assert_eq!(
        cli(late.port, &["SENTINEL", "CKQUORUM", MASTER]).trim(),
        "OK 4 usable Sentinels. Quorum and failover authorization can be reached"
    );
}

// ---- 8. SENTINEL RESET and SENTINEL SET ----

#[test]
fn reset_forgets_replicas_and_sentinels_then_rediscovers_them() {
    let c = Cluster::start("reset", [&[], &[]]);
    let s0 = c.ports()[0];
    {
        // Nothing may bring anything back while the empty state is
        // checked: the peers' hellos (about one a second) re-add
        // sentinels, the master's INFO (from the first tick after the
        // reset on) re-adds replicas. So the peers, then the master, are
        // stopped for the reset and its checks, and resumed (master
        // first) when the guard drops, also if a check fails. (Briefly:
        // well under down-after; the stopped peers see nothing meanwhile.)
        let _quiet = Paused::new(&[&c.sentinels[1].proc, &c.sentinels[2].proc, &c.master]);
        assert_eq!(cli(s0, &["SENTINEL", "RESET", MASTER]).trim(), "1");
        let replicas = records(&cli(s0, &["SENTINEL", "REPLICAS", MASTER]));
        let sentinels = records(&cli(s0, &["SENTINEL", "SENTINELS", MASTER]));
        assert_eq!((replicas, sentinels), (0, 0));
        let master = cli(s0, &["SENTINEL", "MASTER", MASTER]);
        assert_eq!(field(&master, "num-slaves").as_deref(), Some("0"));
        assert_eq!(field(&master, "num-other-sentinels").as_deref(), Some("0"));
        // the reset is persisted
        wait_for("the flushed config", Duration::from_secs(5), || {
            count_lines(&c.sentinels[0].conf, "sentinel known-") == 0
        });
    }
    // INFO (asked on the new link) and hellos bring them back
    wait_known(&[s0], 2, 2, Duration::from_secs(15));
    wait_for("the rediscovery persisted", Duration::from_secs(10), || {
        count_lines(
            &c.sentinels[0].conf,
            &format!("sentinel known-sentinel {MASTER} "),
        ) == 2
            && count_lines(
                &c.sentinels[0].conf,
                &format!("sentinel known-replica {MASTER} "),
            ) == 2
    });
    assert_eq!(master_addr(s0), addr(c.master.port));
}

#[test]
fn sentinel_set_is_applied_persisted_and_followed() {
    let mut c = Cluster::start("set", [&[], &[]]);
    let ports = c.ports();
    for p in &ports {
        assert_eq!(
            cli(
                *p,
                &[
                    "SENTINEL",
                    "SET",
                    MASTER,
                    "down-after-milliseconds",
                    "2000",
                    "quorum",
                    "4"
                ]
            )
            .trim(),
            "OK"
        );
        let m = cli(*p, &["SENTINEL", "MASTER", MASTER]);
        assert_eq!(
            field(&m, "down-after-milliseconds").as_deref(),
            Some("2000")
        );
        assert_eq!(field(&m, "quorum").as_deref(), Some("4"));
    }
    for s in &c.sentinels {
        let text = fs::read_to_string(&s.conf).unwrap();
        assert!(
            text.contains(&format!("sentinel down-after-milliseconds {MASTER} 2000")),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "sentinel monitor {MASTER} 127.0.0.1 {} 4",
                c.master.port
            )),
            "{text}"
        );
    }
    assert!(cli(ports[0], &["SENTINEL", "CKQUORUM", MASTER]).starts_with("NOQUORUM 3 usable"));

    let subs: Vec<_> = ports.iter().map(|p| subscribe_all(*p)).collect();
    let killed = Instant::now();
    c.master.kill();
    for rx in &subs {
        expect_event(rx, "+sdown", Duration::from_secs(10));
    }
    // the new down-after: the link was answering up to the kill
    assert!(
        killed.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        killed.elapsed()
    );
    // a quorum of 4 among 3 sentinels is never reached
    let seen = events_for(&subs[0], Duration::from_secs(5));
    assert!(!seen.iter().any(|(n, _)| n == "+odown"), "{seen:?}");
    assert_eq!(c.logged_total("+odown"), 0);
    assert_eq!(c.logged_total("+try-failover"), 0);
    // back to 2: the failover follows
    for p in &ports {
        assert_eq!(
            cli(*p, &["SENTINEL", "SET", MASTER, "quorum", "2"]).trim(),
            "OK"
        );
    }
    wait_for("+odown", Duration::from_secs(10), || {
        c.logged_total("+odown") > 0
    });
    check_switched(&ports, &c.confs(), &c.replica_ports());
}
