//! Out-of-band frames for a client (pub/sub messages, keyspace
//! notifications, MONITOR lines) and Redis's `client-output-buffer-limit
//! pubsub` rule: a subscriber that does not read is disconnected once its
//! queued output passes the hard limit, or stays above the soft limit for
//! longer than the soft seconds — so one slow subscriber cannot exhaust the
//! server's memory.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use picket_common::resp::Frame;
use tokio::sync::{mpsc, Notify};

/// Hard limit, soft limit (bytes) and soft seconds; 0 disables a limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

impl Limits {
    /// Reads the `pubsub` class of `client-output-buffer-limit`.
    pub fn pubsub_from_config(value: &str) -> Limits {
        Self::from_config(value, "pubsub")
    }

    /// Reads one class (`normal`, `replica` alias `slave`, `pubsub`).
    pub fn from_config(value: &str, class: &str) -> Limits {
        let v: Vec<&str> = value.split_whitespace().collect();
        let alias = if class == "replica" { "slave" } else { class };
        for c in v.chunks(4) {
            if c.len() == 4 && (c[0] == class || c[0] == alias) {
                let n = |s: &str| s.parse::<u64>().unwrap_or(0);
                return Limits {
                    hard: n(c[1]),
                    soft: n(c[2]),
                    soft_secs: n(c[3]),
                };
            }
        }
        Limits::default()
    }
}

/// Bookkeeping shared by the senders and the connection that drains.
#[derive(Debug, Default)]
pub struct Budget {
    queued: AtomicU64,
    soft_since_ms: AtomicI64,
}

/// The sending side of a client's out-of-band queue.
#[derive(Debug, Clone)]
pub struct PushSink {
    tx: mpsc::UnboundedSender<Frame>,
    budget: Arc<Budget>,
    kill: Arc<Notify>,
}

/// Approximate bytes a frame takes once encoded.
pub fn frame_size(f: &Frame) -> u64 {
    match f {
        Frame::Bulk(b) => b.len() as u64 + 16,
        Frame::Simple(s) | Frame::Error(s) => s.len() as u64 + 3,
        Frame::Array(v) | Frame::Push(v) | Frame::Set(v) => {
            16 + v.iter().map(frame_size).sum::<u64>()
        }
        _ => 16,
    }
}

impl PushSink {
    /// Creates a queue; the receiver and budget go to the connection.
    pub fn new(kill: Arc<Notify>) -> (PushSink, mpsc::UnboundedReceiver<Frame>, Arc<Budget>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let budget = Arc::new(Budget::default());
        (
            PushSink {
                tx,
                budget: budget.clone(),
                kill,
            },
            rx,
            budget,
        )
    }

    /// Queues a frame, enforcing the limits; false if the client is gone.
    pub fn send_limited(&self, f: Frame, limits: Limits, now_ms: i64) -> bool {
        let size = frame_size(&f);
        let queued = self.budget.queued.fetch_add(size, Ordering::Relaxed) + size;
        if self.tx.send(f).is_err() {
            return false;
        }
        let over_hard = limits.hard > 0 && queued > limits.hard;
        let over_soft = limits.soft > 0 && queued > limits.soft;
        let mut kill = over_hard;
        if over_soft {
            let since = self.budget.soft_since_ms.load(Ordering::Relaxed);
            if since == 0 {
                self.budget.soft_since_ms.store(now_ms, Ordering::Relaxed);
            } else if (now_ms - since) as u64 > limits.soft_secs * 1000 {
                kill = true;
            }
        } else {
            self.budget.soft_since_ms.store(0, Ordering::Relaxed);
        }
        if kill {
            tracing::warn!("Client closed for overcoming of output buffer limits.");
            self.kill.notify_one();
        }
        true
    }

    /// Queues a frame without limits (replies the client itself asked for).
    pub fn send(&self, f: Frame) -> bool {
        self.budget
            .queued
            .fetch_add(frame_size(&f), Ordering::Relaxed);
        self.tx.send(f).is_ok()
    }
}

impl Budget {
    /// The connection took a frame off the queue.
    pub fn consumed(&self, f: &Frame) {
        self.consumed_bytes(frame_size(f));
    }

    /// The connection wrote `size` bytes of queued frames.
    pub fn consumed_bytes(&self, size: u64) {
        let _ = self
            .queued
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
                Some(q.saturating_sub(size))
            });
    }
}
