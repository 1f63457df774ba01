//! Real processes: three picket-sentinels over picket-servers, each with a
//! notification-script and a client-reconfig-script that append their
//! arguments to a file. After the master is killed and failed over, the
//! scripts must have run with Redis's arguments (reference §17):
//! `<event-type> <event-description>` for warning-level events only, and
//! `<master-name> <leader|observer> start <from-ip> <from-port> <to-ip>
//! <to-port>` (7.0.15's state is always `start`).
//!
//! Needs `redis-cli`; fails, never skips, without it. Build picket-server
//! first (`cargo build -p picket-server`).

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

/// A shell script appending its arguments, one run per line, to `out`.
fn recorder(dir: &Path, name: &str, out: &Path) -> PathBuf {
    let path = dir.join(name);
    fs::write(
        &path,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", out.display()),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn notification_and_client_reconfig_scripts_get_redis_arguments() {
    require_tool("redis-cli");
    let dir = TempDir::new("scripts");
    let bin = picket_server_bin();
    let mut master = server(&bin, &dir.0, None);
    let replicas = [
        server(&bin, &dir.0, Some(master.port)),
        server(&bin, &dir.0, Some(master.port)),
    ];
    let mut sentinels = Vec::new();
    let mut notified = Vec::new();
    let mut reconfigured = Vec::new();
    for i in 0..3 {
        let port = free_port();
        let (n, r) = (
            dir.0.join(format!("notify-{i}.out")),
            dir.0.join(format!("reconf-{i}.out")),
        );
        let extra = format!(
            "sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n\
             sentinel notification-script {MASTER} {}\n\
             sentinel client-reconfig-script {MASTER} {}\n",
            recorder(&dir.0, &format!("notify-{i}.sh"), &n).display(),
            recorder(&dir.0, &format!("reconf-{i}.sh"), &r).display(),
        );
        let conf = write_sentinel_conf(&dir.0, port, master.port, 2, &extra);
        sentinels.push((start_sentinel(PICKET, &dir.0, &conf, port), conf));
        notified.push(n);
        reconfigured.push(r);
    }
    let ports: Vec<u16> = sentinels.iter().map(|(p, _)| p.port).collect();
    let confs: Vec<PathBuf> = sentinels.iter().map(|(_, c)| c.clone()).collect();
    for conf in &confs {
        wait_for("discovery persisted", Duration::from_secs(20), || {
            count_lines(conf, &format!("sentinel known-sentinel {MASTER} ")) == 2
                && count_lines(conf, &format!("sentinel known-replica {MASTER} ")) == 2
        });
    }

    let old = master.port;
    master.kill();
    let replica_ports: Vec<u16> = replicas.iter().map(|r| r.port).collect();
    let new = check_switched(&ports, &confs, &replica_ports);
    let sdown = format!("+sdown master {MASTER} 127.0.0.1 {old}");
    let reconf = |role: &str| format!("{MASTER} {role} start 127.0.0.1 {old} 127.0.0.1 {new}");

    // the leader's client-reconfig-script ran (scripts run from a queue,
    // after the event that starts them)
    let mut leader = None;
    wait_for(
        "a client-reconfig-script run as leader",
        Duration::from_secs(20),
        || {
            leader = (0..3).find(|i| lines(&reconfigured[*i]).contains(&reconf("leader")));
            leader.is_some()
        },
    );
    let leader = leader.unwrap();
    // +sdown is a warning-level event: the leader's notification script
    // saw it (no +odown without its own SDOWN), and so did at least one
    // other's, since the quorum of 2 counts a peer's "down" answer, which
    // only an SDOWN peer gives. (The third may get the new configuration
    // from the leader's hellos before its own SDOWN, and never have one.)
    wait_for(
        "the leader's +sdown notified",
        Duration::from_secs(10),
        || lines(&notified[leader]).contains(&sdown),
    );
    wait_for(
        "+sdown notified by a quorum of sentinels",
        Duration::from_secs(10),
        || {
            notified
                .iter()
                .filter(|n| lines(n).contains(&sdown))
                .count()
                >= 2
        },
    );
    // the leader's saw +odown, +try-failover ... +failover-end and
    // +switch-master
    wait_for(
        "the leader's +failover-end",
        Duration::from_secs(20),
        || {
            lines(&notified[leader])
                .contains(&format!("+failover-end master {MASTER} 127.0.0.1 {old}"))
        },
    );
    let seen = lines(&notified[leader]);
    for want in [
        format!("+odown master {MASTER} 127.0.0.1 {old} #quorum "),
        format!("+try-failover master {MASTER} 127.0.0.1 {old}"),
        format!("+elected-leader master {MASTER} 127.0.0.1 {old}"),
        format!("+promoted-slave slave 127.0.0.1:{new} 127.0.0.1 {new} @ {MASTER} 127.0.0.1 {old}"),
        format!("+switch-master {MASTER} 127.0.0.1 {old} 127.0.0.1 {new}"),
    ] {
        assert!(
            seen.iter().any(|l| l.starts_with(&want)),
            "leader's notification script never got {want:?}: {seen:#?}"
        );
    }
    // only warning-level events: none of the notice-level ones
    for n in &notified {
        for l in lines(n) {
            let event = l.split(' ').next().unwrap_or("");
            assert!(
                !matches!(
                    event,
                    "+slave"
                        | "+sentinel"
                        | "+reboot"
                        | "+convert-to-slave"
                        | "+slave-reconf-sent"
                        | "+slave-reconf-inprog"
                        | "+slave-reconf-done"
                        | "-dup-sentinel"
                        | "+fix-slave-config"
                ),
                "{event} is not a warning-level event: {l}"
            );
        }
    }
    // the other two ran the reconfig script as observers, once each
    for i in (0..3).filter(|i| *i != leader) {
        wait_for("observer reconfig script", Duration::from_secs(20), || {
            lines(&reconfigured[i]) == vec![reconf("observer")]
        });
    }
    assert_eq!(lines(&reconfigured[leader]), vec![reconf("leader")]);
}
