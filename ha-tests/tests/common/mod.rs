//! Shared by the HA test files: one group at a time per test binary (the
//! machine has 2 cores and the scenarios measure timings), temp dirs that
//! go away, and the usual small group.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use picket_ha::group::Group;
use picket_ha::proc::{Binaries, Impl};
use picket_ha::topology::Topology;

static SERIAL: Mutex<()> = Mutex::new(());

/// Held for a whole test: the tests of one binary run one after another.
/// (Each test has its own runtime that blocks its thread, so holding the
/// lock across its awaits stalls nothing else.)
pub struct Serial(#[allow(dead_code)] MutexGuard<'static, ()>);

pub fn serial() -> Serial {
    Serial(SERIAL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// A directory under the system temp dir, removed on drop (kept when the
/// test failed, for its logs, unless it passed).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "picket-ha-{tag}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("logs kept in {}", self.0.display());
        }
    }
}

/// The usual test topology: a master, 2 replicas, 3 sentinels (quorum 2),
/// down-after 1 s, failover-timeout 10 s, free ports.
pub fn topology(dir: &Path) -> Topology {
    let mut t = Topology::new(2, 3);
    t.dir = dir.to_path_buf();
    t.sentinel.down_after = Duration::from_secs(1);
    t.sentinel.failover_timeout = Duration::from_secs(10);
    t
}

/// Starts `t` with `imp`'s binaries and waits until it has converged.
pub async fn start(t: &Topology, imp: Impl) -> Group {
    let bins = Binaries::find(imp).expect("binaries");
    let mut g = Group::start(t, &bins).await.expect("group start");
    g.wait_converged(Duration::from_secs(60))
        .await
        .expect("initial convergence");
    g
}
