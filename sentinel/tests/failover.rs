//! Real processes: Debian's `redis-server` as the monitored master and
//! replicas, `picket-sentinel` (and, for the mixed quorum, Debian's
//! `redis-sentinel`) watching them, all on free ports in a temp directory.
//! Every wait is bounded; processes are killed and directories removed on
//! drop.
//!
//! Needs `redis-server`, `redis-sentinel` and `redis-cli` (apt-get install
//! redis-server redis-sentinel redis-tools); fails, never skips, without
//! them.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

#[test]
fn three_picket_sentinels_discover_each_other_and_fail_over_a_killed_master() {
    require_tool("redis-server");
    require_tool("redis-cli");
    let dir = TempDir::new("picket3");
    let mut master = redis_server(&dir.0, None);
    let replicas = [
        redis_server(&dir.0, Some(master.port)),
        redis_server(&dir.0, Some(master.port)),
    ];
    let sentinels: Vec<(Proc, PathBuf)> = (0..3)
        .map(|_| sentinel(PICKET, &dir.0, master.port))
        .collect();
    let ports: Vec<u16> = sentinels.iter().map(|(p, _)| p.port).collect();
    let confs: Vec<PathBuf> = sentinels.iter().map(|(_, c)| c.clone()).collect();

    // (a) discovery: replicas through INFO, sentinels through hellos, both
    // persisted
    for conf in &confs {
        wait_for("discovery persisted", Duration::from_secs(20), || {
            count_lines(conf, &format!("sentinel known-sentinel {MASTER} ")) == 2
                && count_lines(conf, &format!("sentinel known-replica {MASTER} ")) == 2
        });
    }
    for p in &ports {
        assert_eq!(
            cli(*p, &["SENTINEL", "CKQUORUM", MASTER]).trim(),
            "OK 3 usable Sentinels. Quorum and failover authorization can be reached"
        );
    }

    // (b) failover
    let events = &subscribe_all(ports[0]);
    let killed_at = Instant::now();
    master.kill();
    let within = Duration::from_secs(20);
    assert_eq!(
        expect_event(events, "+sdown", within),
        format!("master {MASTER} 127.0.0.1 {}", master.port)
    );
    // only the sentinels that collect the quorum before the leader's
    // hello arrives log +odown; the leader always does
    let odown = format!("master {MASTER} 127.0.0.1 {} #quorum ", master.port);
    wait_for("+odown in some sentinel's log", within, || {
        confs
            .iter()
            .any(|c| logged(c, "+odown").iter().any(|e| e.starts_with(&odown)))
    });
    // (a split vote retries after 2 × failover-timeout, 20 s)
    let switch = expect_event(events, "+switch-master", Duration::from_secs(45));
    let replica_ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let new_port = check_switched(&ports, &confs, &replica_ports);
    assert_eq!(
        switch,
        format!("{MASTER} 127.0.0.1 {} 127.0.0.1 {new_port}", master.port)
    );
    eprintln!("failover done {:?} after the kill", killed_at.elapsed());
}

#[test]
fn picket_and_redis_sentinels_share_a_quorum_and_fail_over_together() {
    require_tool("redis-server");
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("mixed");
    let mut master = redis_server(&dir.0, None);
    let replicas = [
        redis_server(&dir.0, Some(master.port)),
        redis_server(&dir.0, Some(master.port)),
    ];
    // down-after 2000, not the usual 1000: with 1000 a redis-sentinel can
    // call the master it just switched to down and fail it over a second
    // time (see interop.rs, down_after_ms)
    let mixed = |bin: &str| {
        let port = free_port();
        let conf = write_sentinel_conf(
            &dir.0,
            port,
            master.port,
            2,
            &format!(
                "sentinel down-after-milliseconds {MASTER} 2000\n\
                 sentinel failover-timeout {MASTER} 10000\n"
            ),
        );
        (start_sentinel(bin, &dir.0, &conf, port), conf)
    };
    let sentinels = [
        mixed("redis-sentinel"),
        mixed("redis-sentinel"),
        mixed(PICKET),
    ];
    let ports: Vec<u16> = sentinels.iter().map(|(p, _)| p.port).collect();
    let confs: Vec<PathBuf> = sentinels.iter().map(|(_, c)| c.clone()).collect();

    // hellos interoperate: every sentinel knows the two others
    for conf in &confs {
        wait_for("mixed discovery", Duration::from_secs(20), || {
            count_lines(conf, &format!("sentinel known-sentinel {MASTER} ")) == 2
        });
    }
    for p in &ports[..2] {
        let known = cli(*p, &["SENTINEL", "SENTINELS", MASTER]);
        assert_eq!(
            known.lines().filter(|l| *l == "runid").count(),
            2,
            "{known}"
        );
    }

    let events = subscribe_all(ports[2]);
    master.kill();
    // the picket sentinel takes part in the election (it votes, or it is
    // the leader itself); a redis-sentinel may ask for its vote before
    // its own +sdown, so every event from the kill on counts
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.iter().any(|n| n == "+sdown") {
        let left = deadline.saturating_duration_since(Instant::now());
        let (name, _) = events.recv_timeout(left).expect("+sdown in time");
        seen.push(name);
    }
    let deadline = Instant::now() + Duration::from_secs(40);
    while !seen.iter().any(|n| n == "+switch-master") {
        let left = deadline.saturating_duration_since(Instant::now());
        let (name, _) = events.recv_timeout(left).expect("+switch-master in time");
        seen.push(name);
    }
    assert!(
        seen.iter()
            .any(|n| n == "+vote-for-leader" || n == "+elected-leader"),
        "{seen:?}"
    );
    let replica_ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let first = check_switched(&ports, &confs, &replica_ports);

    let picket_id = cli(ports[2], &["SENTINEL", "MYID"]).trim().to_string();
    assert_eq!(picket_id.len(), 40);
    // a failover led by the picket sentinel: the redis sentinels accept
    // its new configuration from its hellos
    wait_for(
        "SENTINEL FAILOVER to be accepted",
        Duration::from_secs(30),
        || cli(ports[2], &["SENTINEL", "FAILOVER", MASTER]).trim() == "OK",
    );
    wait_for("the picket-led switch", Duration::from_secs(30), || {
        ports
            .iter()
            .all(|p| master_addr(*p) != format!("127.0.0.1:{first}"))
    });
    let second = check_switched(&ports, &confs, &replica_ports);
    assert_ne!(first, second);
    assert!(fs::read_to_string(confs[0].with_extension("log"))
        .unwrap()
        .contains(&format!("+config-update-from sentinel {picket_id} ")));
}

#[test]
fn picket_sentinels_fail_over_picket_servers_and_the_old_master_rejoins() {
    require_tool("redis-cli");
    let bin = picket_server_bin();
    let dir = TempDir::new("picketall");
    let mut master = server(&bin, &dir.0, None);
    let master_port = master.port;
    let replicas = [
        server(&bin, &dir.0, Some(master_port)),
        server(&bin, &dir.0, Some(master_port)),
    ];
    cli(master_port, &["SET", "before", "1"]);
    let sentinels: Vec<(Proc, PathBuf)> = (0..3)
        .map(|_| sentinel(PICKET, &dir.0, master_port))
        .collect();
    let ports: Vec<u16> = sentinels.iter().map(|(p, _)| p.port).collect();
    let confs: Vec<PathBuf> = sentinels.iter().map(|(_, c)| c.clone()).collect();
    for conf in &confs {
        wait_for("discovery persisted", Duration::from_secs(20), || {
            count_lines(conf, &format!("sentinel known-sentinel {MASTER} ")) == 2
                && count_lines(conf, &format!("sentinel known-replica {MASTER} ")) == 2
        });
    }
    // both replicas hold the data (the diskless sync waits 5 s by default)
    for r in &replicas {
        wait_for("the replicas to sync", Duration::from_secs(20), || {
            cli(r.port, &["GET", "before"]).trim() == "1"
        });
    }
    let events = subscribe_all(ports[0]);
    master.kill();
    // (a split vote retries after 2 × failover-timeout, 20 s)
    let switch = expect_event(&events, "+switch-master", Duration::from_secs(45));
    let replica_ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let new_port = check_switched(&ports, &confs, &replica_ports);
    assert_eq!(
        switch,
        format!("{MASTER} 127.0.0.1 {master_port} 127.0.0.1 {new_port}")
    );
    // the data written before the failure is on the new master
    assert_eq!(cli(new_port, &["GET", "before"]).trim(), "1");
    // the old master comes back on its port: the sentinels turn it into a
    // replica of the new one
    let child = Command::new(&bin)
        .args([
            "--port",
            &master_port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .current_dir(&dir.0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _old = Proc {
        child,
        port: master_port,
    };
    // (whichever sentinel notices first converts it and logs the event)
    wait_for("+convert-to-slave", Duration::from_secs(30), || {
        confs.iter().any(|c| {
            fs::read_to_string(c.with_extension("log"))
                .unwrap_or_default()
                .contains(&format!("+convert-to-slave slave 127.0.0.1:{master_port} "))
        })
    });
    wait_for(
        "the old master to replicate",
        Duration::from_secs(20),
        || {
            let info = cli(master_port, &["INFO", "replication"]);
            info.contains("role:slave")
                && info.contains(&format!("master_port:{new_port}"))
                && info.contains("master_link_status:up")
        },
    );
    assert_eq!(cli(master_port, &["GET", "before"]).trim(), "1");
}
