//! The script queue (`sentinel.scripts_queue`): notification and
//! client-reconfig scripts run as child processes, at most
//! [`MAX_RUNNING`] at once, at most [`MAX_QUEUE`] queued (the oldest
//! waiting one is dropped), retried after exit code 1 or a signal with a
//! delay doubling from the SENTINEL DEBUG `SCRIPT-RETRY-DELAY` (default [`RETRY_DELAY`]), up to [`MAX_RETRY`] times
//! (reference §17). The process handling lives in the runtime.

use crate::instance::Millis;

/// Running scripts at most.
pub const MAX_RUNNING: usize = 16;
/// Queue length at most.
pub const MAX_QUEUE: usize = 256;
/// Retries at most.
pub const MAX_RETRY: u32 = 10;
/// First retry delay.
pub const RETRY_DELAY: Millis = 30_000;
/// A script running longer is killed (`-script-timeout`).
pub const SCRIPT_MAX_RUNTIME: Millis = 60_000;

/// One queued or running script.
#[derive(Clone, Debug)]
pub struct Job {
    /// Queue-unique id.
    pub id: u64,
    /// Path and arguments.
    pub argv: Vec<String>,
    /// Running now.
    pub running: bool,
    /// Pid while running, 0 otherwise.
    pub pid: u32,
    /// Start time when running; earliest start when scheduled.
    pub start_time: Millis,
    /// Retries so far.
    pub retry_num: u32,
}

/// The queue.
#[derive(Debug, Default)]
pub struct Scripts {
    /// Jobs in queue order.
    pub jobs: Vec<Job>,
    next_id: u64,
}

impl Scripts {
    /// Queues a run (`sentinelScheduleScriptExecution`).
    pub fn queue(&mut self, argv: Vec<String>, now: Millis) {
        self.next_id += 1;
        self.jobs.push(Job {
            id: self.next_id,
            argv,
            running: false,
            pid: 0,
            start_time: now,
            retry_num: 0,
        });
        if self.jobs.len() > MAX_QUEUE {
            if let Some(i) = self.jobs.iter().position(|j| !j.running) {
                self.jobs.remove(i);
            }
        }
    }

    /// Running count.
    pub fn running(&self) -> usize {
        self.jobs.iter().filter(|j| j.running).count()
    }

    /// The next job to start now, if any and if a slot is free.
    pub fn next_due(&self, now: Millis) -> Option<u64> {
        if self.running() >= MAX_RUNNING {
            return None;
        }
        self.jobs
            .iter()
            .find(|j| !j.running && j.start_time <= now)
            .map(|j| j.id)
    }

    /// A job's argv.
    pub fn argv(&self, id: u64) -> Vec<String> {
        self.jobs
            .iter()
            .find(|j| j.id == id)
            .map(|j| j.argv.clone())
            .unwrap_or_default()
    }

    /// Marks a job running.
    pub fn started(&mut self, id: u64, pid: u32, now: Millis) {
        if let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) {
            j.running = true;
            j.pid = pid;
            j.start_time = now;
        }
    }

    /// Reschedules after a retryable failure; false when out of retries.
    pub fn retry(&mut self, id: u64, now: Millis, retry_delay: Millis) -> bool {
        let Some(j) = self.jobs.iter_mut().find(|j| j.id == id) else {
            return false;
        };
        if j.retry_num >= MAX_RETRY {
            return false;
        }
        j.running = false;
        j.pid = 0;
        j.start_time = now + retry_delay * (1 << j.retry_num);
        j.retry_num += 1;
        true
    }

    /// Drops a job.
    pub fn finished(&mut self, id: u64) {
        self.jobs.retain(|j| j.id != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_the_delay_and_stop_after_ten() {
        let mut s = Scripts::default();
        s.queue(vec!["x".into()], 0);
        let id = s.next_due(0).unwrap();
        let mut now = 0;
        for n in 0..MAX_RETRY {
            s.started(id, 1, now);
            assert!(s.retry(id, now, RETRY_DELAY));
            assert_eq!(s.jobs[0].start_time, now + RETRY_DELAY * (1 << n));
            assert_eq!(s.next_due(now), None);
            now = s.jobs[0].start_time;
            assert_eq!(s.next_due(now), Some(id));
        }
        assert!(!s.retry(id, now, RETRY_DELAY));
    }

    #[test]
    fn the_queue_drops_the_oldest_waiting_job() {
        let mut s = Scripts::default();
        for i in 0..=MAX_QUEUE {
            s.queue(vec![i.to_string()], 0);
        }
        assert_eq!(s.jobs.len(), MAX_QUEUE);
        assert_eq!(s.jobs[0].argv, vec!["1".to_string()]);
    }
}
