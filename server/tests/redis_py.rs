//! redis-py (Debian's python3-redis, what users' Python code runs) drives
//! picket-server and redis-server 7.0.15 through the same script; every
//! printed result must match.

mod common;
use common::*;
use std::process::Command;

fn run_script(port: u16) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/redis_py_script.py");
    // Debian's interpreter: python3-redis is installed for it by .ci/run
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(port.to_string())
        .output()
        .expect("/usr/bin/python3 must exist (scripts/test.sh installs python3-redis)");
    assert!(
        out.status.success(),
        "script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_py_sees_the_same_results_as_with_redis_server() {
    let p = Server::start(&[]);
    let r = Server::start_redis(&[]);
    let ours = run_script(p.port);
    let theirs = run_script(r.port);
    for (a, b) in ours.lines().zip(theirs.lines()) {
        assert_eq!(a, b, "redis-py result differs");
    }
    assert_eq!(ours.lines().count(), theirs.lines().count());
    assert!(ours.contains("watch: 'WatchError'"), "{ours}");
}
