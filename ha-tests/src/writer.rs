//! The drills' client and the lost-write checker.
//!
//! The writer adds unique elements (`SADD <key> <n>`, n = 1, 2, …) one at
//! a time and records which were acknowledged and when. It finds the
//! master the way Sentinel-aware clients do: asks the sentinels in turn
//! with GET-MASTER-ADDR-BY-NAME on every (re)connect, drops its connection
//! on `-READONLY` or a timeout, and asks again. Or it is pinned to one
//! address (the client on the old master's side of a partition).
//!
//! After the group has healed and converged, [`check`] reads the set back
//! from the master and reports every acknowledged element that is missing.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use picket_common::resp::Frame;
use serde::Serialize;
use tokio::task::JoinHandle;

use crate::client::{text, Client};
use crate::group::master_addr_from;

/// Where the writer sends its writes.
#[derive(Clone, Debug)]
pub enum Target {
    /// Discover the master through these sentinels (in order).
    Sentinels {
        addrs: Vec<SocketAddr>,
        name: String,
    },
    /// Always this address.
    Fixed(SocketAddr),
}

#[derive(Default)]
pub struct WriteLog {
    /// (element, when acknowledged, by which address).
    pub acked: Vec<(u64, Instant, SocketAddr)>,
    /// Writes sent whose outcome is unknown (timeout, dropped link).
    pub unknown: u64,
    /// Error replies, by their first word (`READONLY`, `NOREPLICAS`, …).
    pub errors: Vec<(Instant, String)>,
}

pub struct Writer {
    pub key: String,
    log: Arc<Mutex<WriteLog>>,
    task: JoinHandle<()>,
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Pause between writes: the drill's time resolution, and a bound on its
/// CPU share on a 2-core machine.
pub const INTERVAL: Duration = Duration::from_millis(1);
const REPLY_TIMEOUT: Duration = Duration::from_millis(500);

impl Writer {
    pub fn start(target: Target, key: &str) -> Writer {
        let log = Arc::new(Mutex::new(WriteLog::default()));
        let task = tokio::spawn(run(target, key.to_string(), log.clone()));
        Writer {
            key: key.to_string(),
            log,
            task,
        }
    }

    /// Stops writing; returns what happened.
    pub fn stop(self) -> WriteLog {
        self.task.abort();
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// Reads the log while the writer goes on.
    pub fn with_log<R>(&self, f: impl FnOnce(&WriteLog) -> R) -> R {
        f(&self.log.lock().unwrap())
    }

    pub fn acked(&self) -> usize {
        self.log.lock().unwrap().acked.len()
    }

    /// When the latest acknowledgement arrived.
    pub fn last_ack(&self) -> Option<Instant> {
        self.log.lock().unwrap().acked.last().map(|a| a.1)
    }

    /// Waits until an acknowledgement newer than `since` arrives.
    pub async fn wait_ack_after(&self, since: Instant, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.last_ack().is_some_and(|t| t > since) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        false
    }
}

async fn resolve(target: &Target) -> Option<SocketAddr> {
    match target {
        Target::Fixed(a) => Some(*a),
        Target::Sentinels { addrs, name } => {
            for &s in addrs {
                if let Ok(Some(a)) = master_addr_from(s, name).await {
                    return Some(a);
                }
            }
            None
        }
    }
}

async fn run(target: Target, key: String, log: Arc<Mutex<WriteLog>>) {
    let mut next: u64 = 1;
    let mut conn: Option<(Client, SocketAddr)> = None;
    loop {
        if conn.is_none() {
            let Some(addr) = resolve(&target).await else {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            match Client::connect(addr, REPLY_TIMEOUT).await {
                Ok(c) => conn = Some((c, addr)),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let (c, addr) = conn.as_mut().unwrap();
        let addr = *addr;
        let id = next;
        next += 1;
        let n = id.to_string();
        match c.call(&["SADD", &key, &n]).await {
            Ok(Frame::Integer(_)) => log.lock().unwrap().acked.push((id, Instant::now(), addr)),
            Ok(Frame::Error(e)) => {
                let word = e.split_whitespace().next().unwrap_or("").to_string();
                let drop_it = word == "READONLY";
                log.lock().unwrap().errors.push((Instant::now(), word));
                if drop_it {
                    conn = None;
                }
            }
            Ok(_) | Err(_) => {
                log.lock().unwrap().unknown += 1;
                conn = None;
            }
        }
        tokio::time::sleep(INTERVAL).await;
    }
}

/// What the checker found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Loss {
    pub acked: usize,
    pub lost: usize,
    /// The lost elements (the first 20).
    pub lost_sample: Vec<u64>,
    /// Elements present that were never acknowledged (timed-out writes
    /// that did land): not a loss, reported for completeness.
    pub unacked_present: usize,
}

/// Reads `key` from `master` and compares it with the acknowledgements.
pub async fn check(master: SocketAddr, key: &str, log: &WriteLog) -> Result<Loss> {
    let mut c = Client::connect(master, Duration::from_secs(5)).await?;
    c.timeout = Duration::from_secs(30);
    let present: HashSet<u64> = match c.call(&["SMEMBERS", key]).await? {
        Frame::Array(a) | Frame::Set(a) => a.iter().filter_map(|f| text(f)?.parse().ok()).collect(),
        f => bail!("SMEMBERS {key}: {f:?}"),
    };
    let acked: HashSet<u64> = log.acked.iter().map(|a| a.0).collect();
    let mut lost: Vec<u64> = acked.difference(&present).copied().collect();
    lost.sort_unstable();
    Ok(Loss {
        acked: acked.len(),
        lost: lost.len(),
        lost_sample: lost.iter().take(20).copied().collect(),
        unacked_present: present.difference(&acked).count(),
    })
}

/// The longest time without an acknowledgement in `[from, to]` (the
/// client's unavailability window).
pub fn longest_gap(log: &WriteLog, from: Instant, to: Instant) -> Duration {
    let mut prev = from;
    let mut worst = Duration::ZERO;
    for &(_, t, _) in &log.acked {
        if t < from {
            continue;
        }
        if t > to {
            break;
        }
        worst = worst.max(t - prev);
        prev = t;
    }
    worst.max(to.saturating_duration_since(prev))
}
