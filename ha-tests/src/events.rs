//! Sentinel events as the harness sees them: one `PSUBSCRIBE *` per
//! sentinel (on its own port, so cuts never hide them), each message
//! stamped with the moment it arrived. Reconnects when a sentinel
//! restarts.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picket_common::resp::Frame;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use crate::client::{text, Client};

#[derive(Clone, Debug)]
pub struct Event {
    pub at: Instant,
    /// Index of the sentinel that published it.
    pub sentinel: usize,
    /// `+switch-master`, `+sdown`, …
    pub name: String,
    pub payload: String,
}

/// Collects events until dropped.
pub struct Events {
    log: Arc<Mutex<Vec<Event>>>,
    live: broadcast::Sender<Event>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Events {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Events {
    /// Subscribes to every sentinel at `addrs` (their own ports).
    pub async fn watch(addrs: &[SocketAddr]) -> Events {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (live, _) = broadcast::channel(1024);
        let mut tasks = Vec::new();
        let mut ready = Vec::new();
        for (j, &addr) in addrs.iter().enumerate() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            ready.push(rx);
            tasks.push(tokio::spawn(follow(j, addr, log.clone(), live.clone(), tx)));
        }
        // Wait (bounded) for the subscriptions, so no event is missed.
        for r in ready {
            let _ = tokio::time::timeout(Duration::from_secs(5), r).await;
        }
        Events { log, live, tasks }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.live.subscribe()
    }

    pub fn all(&self) -> Vec<Event> {
        self.log.lock().unwrap().clone()
    }

    /// Events named `name` that arrived at or after `since`.
    pub fn named(&self, name: &str, since: Instant) -> Vec<Event> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.name == name && e.at >= since)
            .cloned()
            .collect()
    }

    /// The first `name` event at or after `since`, whose payload starts
    /// with `prefix`.
    pub fn first(&self, name: &str, prefix: &str, since: Instant) -> Option<Event> {
        self.named(name, since)
            .into_iter()
            .find(|e| e.payload.starts_with(prefix))
    }

    /// Waits for the first matching event (see [`Events::first`]).
    pub async fn wait(
        &self,
        name: &str,
        prefix: &str,
        since: Instant,
        within: Duration,
    ) -> Option<Event> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.first(name, prefix, since) {
                return Some(e);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until `count` distinct sentinels published a matching event.
    pub async fn wait_from(
        &self,
        count: usize,
        name: &str,
        prefix: &str,
        since: Instant,
        within: Duration,
    ) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let mut who: Vec<usize> = self
                .named(name, since)
                .into_iter()
                .filter(|e| e.payload.starts_with(prefix))
                .map(|e| e.sentinel)
                .collect();
            who.sort_unstable();
            who.dedup();
            if who.len() >= count {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn follow(
    j: usize,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<Event>>>,
    live: broadcast::Sender<Event>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        if let Ok(mut c) = Client::connect(addr, Duration::from_secs(1)).await {
            if c.send(&["PSUBSCRIBE", "*"]).await.is_ok() {
                loop {
                    let f = match c.next_within(Duration::from_secs(3600)).await {
                        Ok(f) => f,
                        Err(_) => break,
                    };
                    let Frame::Array(a) = f else { continue };
                    let words: Vec<String> = a.iter().filter_map(text).collect();
                    match words.first().map(String::as_str) {
                        Some("psubscribe") => {
                            if let Some(r) = ready.take() {
                                let _ = r.send(());
                            }
                        }
                        Some("pmessage") if words.len() == 4 => {
                            let e = Event {
                                at: Instant::now(),
                                sentinel: j,
                                name: words[2].clone(),
                                payload: words[3].clone(),
                            };
                            log.lock().unwrap().push(e.clone());
                            let _ = live.send(e);
                        }
                        _ => {}
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
