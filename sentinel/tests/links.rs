//! Links to another sentinel are shared across the masters both watch
//! (Redis's `sentinelTryConnectionSharing`): two sentinels watching two
//! masters keep one command connection to each other, as two
//! redis-sentinels do, and SENTINEL SENTINELS shows `link-refcount 2`.
//!
//! Needs `redis-server`, `redis-sentinel` and `redis-cli`; fails, never
//! skips, without them.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");

fn conf(dir: &Path, port: u16, masters: &[u16]) -> PathBuf {
    let path = dir.join(format!("sentinel-{port}.conf"));
    let mut text = format!(
        "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {}\n",
        dir.display()
    );
    for (n, m) in masters.iter().enumerate() {
        text += &format!("sentinel monitor m{n} 127.0.0.1 {m} 2\n");
    }
    fs::write(&path, text).unwrap();
    path
}

/// Per sentinel: how many of its clients are the other sentinel's command
/// links, and the link-refcount it shows for that sentinel in each master.
fn links_between(bin: &str, dir: &Path, masters: &[u16]) -> Vec<(usize, Vec<String>)> {
    let ports = [free_port(), free_port()];
    let procs: Vec<Proc> = ports
        .iter()
        .map(|&p| start_sentinel(bin, dir, &conf(dir, p, masters), p))
        .collect();
    let ids: Vec<String> = ports
        .iter()
        .map(|&p| cli(p, &["SENTINEL", "MYID"]).trim().to_string())
        .collect();
    wait_for(
        "both sentinels to know each other for both masters",
        Duration::from_secs(30),
        || {
            ports.iter().all(|&p| {
                (0..masters.len())
                    .all(|n| records(&cli(p, &["SENTINEL", "SENTINELS", &format!("m{n}")])) == 1)
            })
        },
    );
    // let every link settle (a hello arrives every 2 s)
    std::thread::sleep(Duration::from_millis(3000));
    let mut out = Vec::new();
    for (k, &p) in ports.iter().enumerate() {
        let peer = &ids[1 - k];
        let name = format!("name=sentinel-{}-cmd ", &peer[..8]);
        let clients = cli(p, &["CLIENT", "LIST"]);
        let n = clients.lines().filter(|l| l.contains(&name)).count();
        let refcounts = (0..masters.len())
            .map(|n| {
                let r = cli(p, &["SENTINEL", "SENTINELS", &format!("m{n}")]);
                field(&r, "link-refcount").unwrap_or_default()
            })
            .collect();
        out.push((n, refcounts));
    }
    drop(procs);
    out
}

#[test]
fn two_sentinels_watching_two_masters_keep_one_link_each_way_like_redis() {
    for t in ["redis-server", "redis-sentinel", "redis-cli"] {
        require_tool(t);
    }
    let dir = TempDir::new("links");
    let masters = [redis_server(&dir.0, None), redis_server(&dir.0, None)];
    let ports: Vec<u16> = masters.iter().map(|m| m.port).collect();
    let real = links_between("redis-sentinel", &dir.0, &ports);
    let ours = links_between(PICKET, &dir.0, &ports);
    let want = (1, vec!["2".to_string(), "2".to_string()]);
    assert_eq!(real, [want.clone(), want.clone()]);
    assert_eq!(ours, real);
}
