//! The sentinel config against the real thing: `picket-sentinel` and
//! Debian's `redis-sentinel` 7.0.15 must refuse the same files with the
//! same words, and Picket's rewrite of a state must produce the file
//! redis-sentinel produced for that state (generic lines compared as a
//! set, since redis-sentinel writes them in hash-table order).
//!
//! Needs `redis-server`, `redis-sentinel` and `redis-cli` (apt-get install
//! redis-server redis-sentinel redis-tools); fails, never skips, without
//! them.

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use picket_sentinel::config::{KnownSentinel, SentinelAddr, SentinelConfig, REWRITE_SIGNATURE};

mod common;

use common::{free_port, require_tool, wait_for, TempDir, PICKET};

/// A child process killed (and reaped) on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a binary to completion (start-up refusals exit at once).
fn run(bin: &str, args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg("10").arg(bin).args(args).current_dir(cwd);
    cmd.output().unwrap()
}

/// Runs a long-running binary for a second, then SIGTERMs it and returns
/// its own exit status.
fn run_for(bin: &str, args: &[&str], cwd: &Path) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["--preserve-status", "1"])
        .arg(bin)
        .args(args)
        .current_dir(cwd);
    cmd.output().unwrap()
}

/// A log line without its `pid:X date time` prefix.
fn log_text(out: &[u8]) -> String {
    let s = String::from_utf8_lossy(out);
    s.lines()
        .map(|l| match l.find(" # ").or_else(|| l.find(" * ")) {
            Some(i) => l[i + 3..].to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn refusals_match_redis_sentinel() {
    require_tool("redis-sentinel");
    let dir = TempDir::new("refuse");
    let missing = dir.0.join("missing.conf");
    let missing = missing.to_str().unwrap();
    let cases: Vec<Vec<&str>> = vec![vec![], vec!["--port", "26999"], vec![missing]];
    for args in cases {
        let real = run("redis-sentinel", &args, &dir.0);
        let ours = run(PICKET, &args, &dir.0);
        assert_eq!(real.status.code(), Some(1), "{args:?}");
        assert_eq!(ours.status.code(), Some(1), "{args:?}");
        assert_eq!(log_text(&ours.stdout), log_text(&real.stdout), "{args:?}");
    }
    // relative paths are reported absolute, as getAbsolutePath does
    let real = run("redis-sentinel", &["nope.conf"], &dir.0);
    let ours = run(PICKET, &["nope.conf"], &dir.0);
    assert_eq!(log_text(&ours.stdout), log_text(&real.stdout));

    // not writable: checked as an unprivileged user (root may write anything)
    let ro = dir.0.join("ro.conf");
    fs::write(&ro, "sentinel monitor m 127.0.0.1 6370 1\n").unwrap();
    let mut perms = fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o444);
    fs::set_permissions(&ro, perms).unwrap();
    let as_nobody = |bin: &str| {
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0\n"))
            .unwrap_or(false);
        let mut cmd = if is_root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin]);
            c
        } else {
            Command::new(bin)
        };
        cmd.arg(&ro).current_dir(&dir.0).output().unwrap()
    };
    // our binary is copied next to the file: the build directory may sit
    // in a home the unprivileged user cannot enter
    let ours_bin = dir.0.join("picket-sentinel");
    fs::copy(PICKET, &ours_bin).unwrap();
    let mut perms = fs::metadata(&ours_bin).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs::set_permissions(&ours_bin, perms).unwrap();
    let real = as_nobody("redis-sentinel");
    let ours = as_nobody(ours_bin.to_str().unwrap());
    assert_eq!(ours.status.code(), Some(1));
    let want = format!(
        "Sentinel config file {} is not writable: Permission denied. Exiting...",
        ro.display()
    );
    assert_eq!(log_text(&real.stdout), want);
    assert_eq!(log_text(&ours.stdout), want);
}

#[test]
fn fatal_config_errors_match_redis_sentinel_byte_for_byte() {
    require_tool("redis-sentinel");
    let dir = TempDir::new("fatal");
    let script = dir.0.join("not-exec.sh");
    fs::write(&script, "#!/bin/sh\n").unwrap();
    let files = [
        "port 26999\nsentinel monitor m 127.0.0.1 6370 0\n",
        "sentinel monitor m 127.0.0.1 6370\n",
        "sentinel monitor m 127.0.0.1 99999 1\n",
        "sentinel monitor m no-such-host.invalid 6370 1\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel monitor m 127.0.0.1 6380 1\n",
        "sentinel down-after-milliseconds m 1000\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel down-after-milliseconds m 0\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel failover-timeout m -1\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel master-reboot-down-after-period m -1\n",
        "sentinel myid 123\n",
        "sentinel bogus-option 1\n",
        "  SENTINEL deny-scripts-reconfig maybe  \n",
        "sentinel resolve-hostnames 2\n",
        "sentinel announce-hostnames 2\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel known-replica m 127.0.0.1 1\nsentinel known-slave m 127.0.0.1 1\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel known-sentinel m 127.0.0.1 1 x\nsentinel known-sentinel m 127.0.0.1 2 x\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel rename-command m a b\nsentinel rename-command m A c\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel notification-script m /nonexistent\n",
        "sentinel monitor m 127.0.0.1 6370 1\nsentinel client-reconfig-script m /nonexistent\n",
        "sentinel monitor m 127.0.0.1 6370 0\nport abc\n",
        "bogus 1\n",
        "port 1 2\n",
        "daemonize perhaps\n",
        "port \"26999\n",
        "dir /nonexistent/dir\n",
        "# comment\n\nloglevel loud\n",
    ];
    for (i, text) in files.iter().enumerate() {
        let path = dir.0.join(format!("bad{i}.conf"));
        fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        let real = run("redis-sentinel", &[p], &dir.0);
        let ours = run(PICKET, &[p], &dir.0);
        assert_eq!(real.status.code(), Some(1), "{text:?}");
        assert_eq!(ours.status.code(), Some(1), "{text:?}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stderr),
            String::from_utf8_lossy(&real.stderr),
            "{text:?}"
        );
    }
    // an error in a command-line option: its line number counts the file's
    let path = dir.0.join("ok.conf");
    fs::write(&path, "sentinel monitor m 127.0.0.1 6370 1\n").unwrap();
    let p = path.to_str().unwrap();
    let args = [p, "--port", "x"];
    let real = run("redis-sentinel", &args, &dir.0);
    let ours = run(PICKET, &args, &dir.0);
    assert_eq!(ours.stderr, real.stderr);
    assert_eq!(ours.status.code(), Some(1));
}

#[test]
fn a_good_config_loads_gets_a_myid_and_exits_zero_on_sigterm() {
    let dir = TempDir::new("ok");
    let path = dir.0.join("s.conf");
    let port = free_port().to_string();
    let unused = free_port().to_string();
    fs::write(
        &path,
        format!("bind 127.0.0.1\nsentinel monitor m 127.0.0.1 {unused} 2\n"),
    )
    .unwrap();
    // the sentinel runs until SIGTERM, then exits 0
    let out = run_for(PICKET, &[path.to_str().unwrap(), "--port", &port], &dir.0);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = fs::read_to_string(&path).unwrap();
    let myid = text
        .lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .expect("myid persisted");
    assert_eq!(myid.len(), 40);
    assert!(myid.bytes().all(|b| b.is_ascii_hexdigit()));
    // the command-line port is persisted too, as CONFIG REWRITE does
    assert!(text.contains(&format!("\nport {port}\n")), "{text}");
    assert!(log_text(&out.stdout).contains(&format!("Sentinel ID is {myid}")));
    // a second start keeps the id
    let out = run_for(PICKET, &[path.to_str().unwrap()], &dir.0);
    assert_eq!(out.status.code(), Some(0));
    assert!(fs::read_to_string(&path)
        .unwrap()
        .contains(&format!("sentinel myid {myid}\n")));
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["5", "redis-cli", "-p", &port.to_string()])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn_redis(dir: &Path, args: &[String]) -> Proc {
    Proc(
        Command::new("redis-server")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

/// Puts the generic (non-`sentinel`) lines after the signature in sorted
/// order at their own positions: redis-sentinel emits them in the random
/// order of its config dictionary.
fn normalize(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let Some(sig) = lines.iter().position(|l| *l == REWRITE_SIGNATURE) else {
        return text.to_string();
    };
    let idx: Vec<usize> = (sig + 1..lines.len())
        .filter(|&i| !lines[i].is_empty() && !lines[i].starts_with("sentinel "))
        .collect();
    let mut generic: Vec<&str> = idx.iter().map(|&i| lines[i]).collect();
    generic.sort();
    let mut out: Vec<&str> = lines.clone();
    for (i, l) in idx.into_iter().zip(generic) {
        out[i] = l;
    }
    out.join("\n")
}

#[test]
fn rewrite_matches_redis_sentinel_after_discovering_a_replica_and_a_sentinel() {
    for t in ["redis-server", "redis-sentinel", "redis-cli"] {
        require_tool(t);
    }
    let work = TempDir::new("rewrite");
    let (mport, rport) = (free_port(), free_port());
    let _master = spawn_redis(
        &work.0,
        &[
            "--port".into(),
            mport.to_string(),
            "--save".into(),
            "".into(),
        ],
    );
    let _replica = spawn_redis(
        &work.0,
        &[
            "--port".into(),
            rport.to_string(),
            "--save".into(),
            "".into(),
            "--replicaof".into(),
            "127.0.0.1".into(),
            mport.to_string(),
        ],
    );
    wait_for("the replica to be online", Duration::from_secs(20), || {
        redis_cli(mport, &["info", "replication"]).contains(",state=online,")
    });

    // two real sentinels, so each learns a replica and a sentinel
    let (s1, s2) = (free_port(), free_port());
    let original = |port: u16, dir: &Path| {
        format!(
            "# a user comment\nport {port}\ndir {}\n\nsentinel monitor mymaster 127.0.0.1 {mport} 2\n\
             sentinel down-after-milliseconds mymaster 5000\nsentinel parallel-syncs mymaster 1\n\
             sentinel auth-user mymaster someone\n",
            dir.display()
        )
    };
    let d1 = TempDir::new("s1");
    let d2 = TempDir::new("s2");
    let conf1 = d1.0.join("sentinel.conf");
    let conf2 = d2.0.join("sentinel.conf");
    fs::write(&conf1, original(s1, &d1.0)).unwrap();
    fs::write(&conf2, original(s2, &d2.0)).unwrap();
    let log1 = d1.0.join("log");
    let spawn = |conf: &Path, dir: &Path, log: Option<&Path>| {
        let out = match log {
            Some(l) => Stdio::from(fs::File::create(l).unwrap()),
            None => Stdio::null(),
        };
        Proc(
            Command::new("redis-sentinel")
                .arg(conf)
                .current_dir(dir)
                .stdout(out)
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let p1 = spawn(&conf1, &d1.0, Some(&log1));
    let _p2 = spawn(&conf2, &d2.0, None);
    // Both in the file, and the log done with them: redis-sentinel logs
    // "saved on disk" only after the rename and the fsync, so the file can
    // show a flush whose log line is not written yet, and the replay below
    // would miss that flush. Wait for a "saved on disk" line after the last
    // +slave/+sentinel line (each is logged before its flush).
    wait_for(
        "redis-sentinel to persist a replica and a sentinel, and log it",
        Duration::from_secs(30),
        || {
            let t = fs::read_to_string(&conf1).unwrap_or_default();
            let log = fs::read_to_string(&log1).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let last_event = lines.iter().rposition(|l| {
                l.split_whitespace()
                    .any(|w| w == "+slave" || w == "+sentinel")
            });
            let last_save = lines
                .iter()
                .rposition(|l| l.ends_with("Sentinel new configuration saved on disk"));
            t.contains("sentinel known-replica")
                && t.contains("sentinel known-sentinel")
                && matches!((last_event, last_save), (Some(e), Some(s)) if s > e)
        },
    );
    drop(p1);
    let real = fs::read_to_string(&conf1).unwrap();
    let log = fs::read_to_string(&log1).unwrap();

    // replay the same sequence of flushes with Picket's rewrite
    let ours_dir = TempDir::new("ours");
    let ours_path = ours_dir.0.join("sentinel.conf");
    fs::write(&ours_path, original(s1, &d1.0)).unwrap();
    let cfg = SentinelConfig::load(Some(&ours_path), &[]).unwrap();
    let mut state = cfg.state.clone();
    state.myid = real
        .lines()
        .find_map(|l| l.strip_prefix("sentinel myid "))
        .unwrap()
        .to_string();
    let mut flushes = 0;
    for line in log.lines() {
        if line.ends_with("Sentinel new configuration saved on disk") {
            cfg.rewrite(&state).unwrap();
            flushes += 1;
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(pos) = words
            .iter()
            .position(|w| *w == "+slave" || *w == "+sentinel")
        else {
            continue;
        };
        let m = &mut state.masters[0];
        if words[pos] == "+slave" {
            // +slave slave <ip:port> <ip> <port> @ ...
            let port: u16 = words[pos + 4].parse().unwrap();
            m.known_replicas
                .push(SentinelAddr::from_ip(words[pos + 3], port));
        } else {
            // +sentinel sentinel <runid> <ip> <port> @ ...
            let port: u16 = words[pos + 4].parse().unwrap();
            m.known_sentinels.push(KnownSentinel {
                addr: SentinelAddr::from_ip(words[pos + 3], port),
                runid: words[pos + 2].to_string(),
            });
        }
    }
    assert!(
        flushes >= 3,
        "myid, +slave and +sentinel flushes expected:\n{log}"
    );
    let ours = fs::read_to_string(&ours_path).unwrap();
    assert_eq!(
        normalize(&ours),
        normalize(&real),
        "\nours:\n{ours}\nreal:\n{real}"
    );

    // and the real file loads into the same state
    let reloaded = SentinelConfig::load(Some(&conf1), &[]).unwrap();
    assert_eq!(reloaded.state, state);
}
