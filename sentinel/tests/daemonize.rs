//! `daemonize yes` and `pidfile`, side by side with Debian's
//! redis-sentinel 7.0.15: the command returns at once, the sentinel keeps
//! running detached with its pid in the pid file, and SIGTERM removes the
//! file (`Removing the pid file.` in the log).
//!
//! Needs `redis-sentinel` and `redis-cli`; fails, never skips, without
//! them.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

const PICKET: &str = env!("CARGO_BIN_EXE_picket-sentinel");

/// Kills a detached sentinel on drop (it is nobody's child).
struct Detached(Option<u32>);

impl Drop for Detached {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

/// Starts `bin` daemonized (or not) with a pid file; returns what the
/// pid file and log showed along the way.
fn pidfile_lifecycle(bin: &str, dir: &Path, daemonize: bool) -> Vec<String> {
    let port = free_port();
    let pidfile = dir.join(format!("s-{port}.pid"));
    let logfile = dir.join(format!("s-{port}.log"));
    let conf = dir.join(format!("s-{port}.conf"));
    fs::write(
        &conf,
        format!(
            "port {port}\nbind 127.0.0.1\ndaemonize {}\npidfile {}\nlogfile {}\n",
            if daemonize { "yes" } else { "no" },
            pidfile.display(),
            logfile.display()
        ),
    )
    .unwrap();
    let mut seen = Vec::new();
    let mut child = Command::new(bin)
        .arg(&conf)
        .current_dir(dir)
        .spawn()
        .unwrap();
    let mut guard = Detached(Some(child.id()));
    if daemonize {
        // the command itself returns at once
        let mut status = None;
        for _ in 0..100 {
            status = child.try_wait().unwrap();
            if status.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        seen.push(format!("parent exit {:?}", status.map(|s| s.code())));
    }
    wait_for("the pid file", Duration::from_secs(10), || {
        fs::read_to_string(&pidfile).is_ok_and(|t| t.ends_with('\n'))
    });
    let pid: u32 = fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    guard.0 = Some(pid);
    seen.push(format!("pid is the parent's: {}", pid == child.id()));
    wait_for("the sentinel to answer", Duration::from_secs(10), || {
        cli(port, &["PING"]).trim() == "PONG"
    });
    seen.push(format!("alive: {}", alive(pid)));
    Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    // reaps the foreground process (the daemonized parent is reaped already)
    let _ = child.wait();
    wait_for("the sentinel to exit", Duration::from_secs(10), || {
        !alive(pid)
    });
    guard.0 = None;
    seen.push(format!("pid file left: {}", pidfile.exists()));
    let log = fs::read_to_string(&logfile).unwrap_or_default();
    seen.push(format!(
        "removal logged: {}",
        log.contains(" * Removing the pid file.\n")
    ));
    seen
}

#[test]
fn daemonize_writes_the_pid_file_and_sigterm_removes_it_as_redis_sentinel_does() {
    require_tool("redis-sentinel");
    require_tool("redis-cli");
    let dir = TempDir::new("daemon");
    for daemonize in [true, false] {
        let real = pidfile_lifecycle("redis-sentinel", &dir.0, daemonize);
        let ours = pidfile_lifecycle(PICKET, &dir.0, daemonize);
        assert_eq!(ours, real, "daemonize {daemonize}");
    }
    let real = pidfile_lifecycle("redis-sentinel", &dir.0, true);
    assert_eq!(
        real,
        [
            "parent exit Some(Some(0))",
            "pid is the parent's: false",
            "alive: true",
            "pid file left: false",
            "removal logged: true"
        ]
    );
}
