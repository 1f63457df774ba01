//! Real processes: Debian's `redis-server` as the monitored master and
//! replicas, `picket-sentinel` (and, for the mixed quorum, Debian's
//! `redis-sentinel`) watching them, all on free ports in a temp directory.
//! Every wait is bounded; processes are killed and directories removed on
//! drop.
//!
//! Needs `redis-server`, `redis-sentinel` and `redis-cli` (apt-get install
//! redis-server redis-sentinel redis-tools); fails, never skips, without
//! them.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use picket_common::resp::{encode_command, Frame};

const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");
const MASTER: &str = "mymaster";

fn require_tool(name: &str) {
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

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A temp directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "picket-failover-{tag}-{}-{}",
            std::process::id(),
            &picket_sentinel::config::random_id()[..8]
        ));
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL) and reaped on drop.
struct Proc {
    child: Child,
    port: u16,
}

impl Proc {
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn redis_server(dir: &Path, replica_of: Option<u16>) -> Proc {
    server("redis-server", dir, replica_of)
}

/// picket-server from this workspace's build directory (`cargo test
/// --workspace`, the README's test command, builds it with its own tests).
fn picket_server_bin() -> PathBuf {
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
fn server(bin: impl AsRef<std::ffi::OsStr>, dir: &Path, replica_of: Option<u16>) -> Proc {
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

fn sentinel_conf(dir: &Path, port: u16, master_port: u16) -> PathBuf {
    let path = dir.join(format!("sentinel-{port}.conf"));
    fs::write(
        &path,
        format!(
            "port {port}\nbind 127.0.0.1\nprotected-mode no\ndir {dir}\n\
             sentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n\
             sentinel down-after-milliseconds {MASTER} 1000\n\
             sentinel failover-timeout {MASTER} 10000\n",
            dir = dir.display()
        ),
    )
    .unwrap();
    path
}

/// A sentinel (`bin` = picket-sentinel or redis-sentinel) with its own
/// config file; its log goes to `<conf>.log`.
fn sentinel(bin: &str, dir: &Path, master_port: u16) -> (Proc, PathBuf) {
    let port = free_port();
    let conf = sentinel_conf(dir, port, master_port);
    let log = fs::File::create(conf.with_extension("log")).unwrap();
    let child = Command::new(bin)
        .arg(&conf)
        .current_dir(dir)
        .stdout(log)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let p = Proc { child, port };
    wait_for("a sentinel to answer", Duration::from_secs(10), || {
        cli(port, &["PING"]).trim() == "PONG"
    });
    (p, conf)
}

fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `SENTINEL GET-MASTER-ADDR-BY-NAME` as `ip:port`.
fn master_addr(port: u16) -> String {
    cli(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER])
        .lines()
        .collect::<Vec<_>>()
        .join(":")
}

fn count_lines(path: &Path, prefix: &str) -> usize {
    fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .count()
}

/// A raw RESP subscriber: `PSUBSCRIBE *` on a sentinel; every message is
/// sent to the channel as `(event, payload)`.
fn subscribe_all(port: u16) -> mpsc::Receiver<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = BytesMut::new();
    encode_command(&["PSUBSCRIBE", "*"], &mut req);
    s.write_all(&req).unwrap();
    let (tx, rx) = mpsc::channel();
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
    rx
}

/// Waits for an event named `name`; returns its payload.
fn expect_event(rx: &mpsc::Receiver<(String, String)>, name: &str, within: Duration) -> String {
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

/// After the failover: every sentinel names the same promoted replica,
/// the other replica follows it, and the config files say so.
fn check_switched(sentinels: &[u16], confs: &[PathBuf], replicas: &[u16]) -> u16 {
    let mut new_port = 0;
    wait_for(
        "every sentinel to report the promoted replica",
        Duration::from_secs(30),
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
    let other = *replicas.iter().find(|r| **r != new_port).unwrap();
    wait_for(
        "the other replica to replicate from the new master",
        Duration::from_secs(30),
        || {
            let info = cli(other, &["INFO", "replication"]);
            info.contains(&format!("master_port:{new_port}\r"))
                && info.contains("master_link_status:up")
        },
    );
    assert!(cli(new_port, &["ROLE"]).starts_with("master"));
    for conf in confs {
        wait_for(
            "the config file to name the new master",
            Duration::from_secs(10),
            || {
                fs::read_to_string(conf)
                    .unwrap_or_default()
                    .contains(&format!("sentinel monitor {MASTER} 127.0.0.1 {new_port} 2"))
            },
        );
    }
    new_port
}

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
    let events = subscribe_all(ports[0]);
    std::thread::sleep(Duration::from_millis(200));
    let killed_at = Instant::now();
    master.kill();
    let within = Duration::from_secs(20);
    assert_eq!(
        expect_event(&events, "+sdown", within),
        format!("master {MASTER} 127.0.0.1 {}", master.port)
    );
    assert!(
        expect_event(&events, "+odown", within).starts_with(&format!(
            "master {MASTER} 127.0.0.1 {} #quorum ",
            master.port
        ))
    );
    let switch = expect_event(&events, "+switch-master", Duration::from_secs(30));
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
    let sentinels = [
        sentinel("redis-sentinel", &dir.0, master.port),
        sentinel("redis-sentinel", &dir.0, master.port),
        sentinel(PICKET, &dir.0, master.port),
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
    std::thread::sleep(Duration::from_millis(200));
    master.kill();
    expect_event(&events, "+sdown", Duration::from_secs(20));
    // the picket sentinel takes part in the election (it votes, or it is
    // the leader itself)
    let mut seen = Vec::new();
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
    std::thread::sleep(Duration::from_millis(200));
    master.kill();
    let switch = expect_event(&events, "+switch-master", Duration::from_secs(30));
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
