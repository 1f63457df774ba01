//! INFO's `# Stats` and `# CPU` sections of a sentinel, with the counters
//! redis-sentinel 7.0.15 keeps for its clients: connections, commands,
//! bytes in and out, error replies, reads and writes, and the
//! instantaneous rates sampled every 100 ms over the last 16 samples
//! (`trackInstantaneousMetric`). The data-set fields (keys, evictions,
//! forks, defrag, tracking tables) are those of a process without a data
//! set: zero, as in redis-sentinel.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// `STATS_METRIC_SAMPLES`.
const SAMPLES: usize = 16;

/// One kind of instantaneous metric: (time, counter value) samples.
#[derive(Default)]
struct Metric {
    samples: VecDeque<f64>,
    last: Option<(Instant, u64)>,
}

impl Metric {
    /// Adds the rate since the previous sample, per second.
    fn track(&mut self, now: Instant, value: u64) {
        if let Some((t, v)) = self.last {
            let secs = now.duration_since(t).as_secs_f64();
            if secs > 0.0 {
                self.samples
                    .push_back(value.saturating_sub(v) as f64 / secs);
                if self.samples.len() > SAMPLES {
                    self.samples.pop_front();
                }
            }
        }
        self.last = Some((now, value));
    }

    fn average(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        self.samples.iter().sum::<f64>() / self.samples.len() as f64
    }
}

/// The counters of the sentinel's client side.
#[derive(Default)]
pub struct Stats {
    pub connections_received: AtomicU64,
    pub commands_processed: AtomicU64,
    pub net_input_bytes: AtomicU64,
    pub net_output_bytes: AtomicU64,
    pub error_replies: AtomicU64,
    pub reads_processed: AtomicU64,
    pub writes_processed: AtomicU64,
    /// ops/s, input bytes/s, output bytes/s.
    rates: Mutex<[Metric; 3]>,
}

impl Stats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// One sample of every rate (called every 100 ms).
    pub fn sample(&self) {
        let now = Instant::now();
        let values = [
            Self::get(&self.commands_processed),
            Self::get(&self.net_input_bytes),
            Self::get(&self.net_output_bytes),
        ];
        let mut r = self.rates.lock().unwrap_or_else(|e| e.into_inner());
        for (m, v) in r.iter_mut().zip(values) {
            m.track(now, v);
        }
    }

    /// INFO's `# Stats`, with the pub/sub totals given.
    pub fn section(&self, pubsub_channels: usize, pubsub_patterns: usize) -> String {
        let (ops, inb, outb) = {
            let r = self.rates.lock().unwrap_or_else(|e| e.into_inner());
            (r[0].average(), r[1].average(), r[2].average())
        };
        format!(
            "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ntotal_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ninstantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\nrejected_connections:0\r\nsync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\nexpired_keys:0\r\nexpired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\nexpire_cycle_cpu_milliseconds:0\r\nevicted_keys:0\r\nevicted_clients:0\r\ntotal_eviction_exceeded_time:0\r\ncurrent_eviction_exceeded_time:0\r\nkeyspace_hits:0\r\nkeyspace_misses:0\r\npubsub_channels:{pubsub_channels}\r\npubsub_patterns:{pubsub_patterns}\r\npubsubshard_channels:0\r\nlatest_fork_usec:0\r\ntotal_forks:0\r\nmigrate_cached_sockets:0\r\nslave_expires_tracked_keys:0\r\nactive_defrag_hits:0\r\nactive_defrag_misses:0\r\nactive_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\ntotal_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\ntracking_total_keys:0\r\ntracking_total_items:0\r\ntracking_total_prefixes:0\r\nunexpected_error_replies:0\r\ntotal_error_replies:{}\r\ndump_payload_sanitizations:0\r\ntotal_reads_processed:{}\r\ntotal_writes_processed:{}\r\nio_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\nreply_buffer_shrinks:0\r\nreply_buffer_expands:0\r\n",
            Self::get(&self.connections_received),
            Self::get(&self.commands_processed),
            ops.round() as u64,
            Self::get(&self.net_input_bytes),
            Self::get(&self.net_output_bytes),
            inb / 1024.0,
            outb / 1024.0,
            Self::get(&self.error_replies),
            Self::get(&self.reads_processed),
            Self::get(&self.writes_processed),
        )
    }
}

/// CPU seconds of `getrusage(who)`: (system, user).
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: getrusage only writes the struct it is given
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(r.ru_stime), secs(r.ru_utime))
}

/// INFO's `# CPU`: the process, its reaped children (the scripts) and the
/// calling thread (the sentinel's main thread: its runtime is
/// single-threaded).
pub fn cpu_section() -> String {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (csys, cuser) = rusage(libc::RUSAGE_CHILDREN);
    let (tsys, tuser) = rusage(libc::RUSAGE_THREAD);
    format!(
        "# CPU\r\nused_cpu_sys:{sys:.6}\r\nused_cpu_user:{user:.6}\r\nused_cpu_sys_children:{csys:.6}\r\nused_cpu_user_children:{cuser:.6}\r\nused_cpu_sys_main_thread:{tsys:.6}\r\nused_cpu_user_main_thread:{tuser:.6}\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rates_average_the_last_sixteen_samples() {
        let mut m = Metric::default();
        let t0 = Instant::now();
        m.track(t0, 0);
        assert_eq!(m.average(), 0.0);
        for i in 1..=20u64 {
            m.track(t0 + Duration::from_millis(100 * i), 100 * i);
        }
        assert_eq!(m.samples.len(), SAMPLES);
        assert!((m.average() - 1000.0).abs() < 1e-6, "{}", m.average());
    }
}
