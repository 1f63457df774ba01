//! The sentinel's own pub/sub: its clients subscribe to event names
//! (`+switch-master`, `+sdown`, or patterns such as `*`) and every
//! non-debug event is published with channel = event name and payload =
//! event text (reference §15).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use picket_common::glob::glob_match;
use tokio::sync::mpsc::UnboundedSender;

/// A message for a subscribed client, encoded by the client's task for its
/// protocol version.
#[derive(Clone, Debug)]
pub enum Message {
    /// `message <channel> <payload>`.
    Message {
        /// Channel.
        channel: Bytes,
        /// Payload.
        payload: Bytes,
    },
    /// `pmessage <pattern> <channel> <payload>`.
    PMessage {
        /// The matching pattern.
        pattern: Bytes,
        /// Channel.
        channel: Bytes,
        /// Payload.
        payload: Bytes,
    },
}

struct Subscriber {
    channels: BTreeSet<Bytes>,
    patterns: BTreeSet<Bytes>,
    tx: UnboundedSender<Message>,
}

/// Who is subscribed to what. A plain mutex: every operation is a short
/// map update and nothing awaits while holding it. Lock order: the
/// sentinel's state lock (if held) before this one.
#[derive(Default)]
pub struct Hub {
    subs: Mutex<HashMap<u64, Subscriber>>,
}

impl Hub {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<u64, Subscriber>) -> R) -> R {
        let mut g = self.subs.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    }

    /// Registers client `id`; messages for it go to `tx`.
    pub fn register(&self, id: u64, tx: UnboundedSender<Message>) {
        self.with(|s| {
            s.insert(
                id,
                Subscriber {
                    channels: BTreeSet::new(),
                    patterns: BTreeSet::new(),
                    tx,
                },
            )
        });
    }

    /// Forgets client `id` and its subscriptions.
    pub fn unregister(&self, id: u64) {
        self.with(|s| s.remove(&id));
    }

    /// Subscribes (`pattern` = PSUBSCRIBE); returns the client's total
    /// subscription count afterwards.
    pub fn subscribe(&self, id: u64, name: Bytes, pattern: bool) -> usize {
        self.with(|s| {
            let Some(c) = s.get_mut(&id) else { return 0 };
            if pattern {
                c.patterns.insert(name);
            } else {
                c.channels.insert(name);
            }
            c.channels.len() + c.patterns.len()
        })
    }

    /// Unsubscribes; returns the total count afterwards.
    pub fn unsubscribe(&self, id: u64, name: &[u8], pattern: bool) -> usize {
        self.with(|s| {
            let Some(c) = s.get_mut(&id) else { return 0 };
            if pattern {
                c.patterns.remove(name);
            } else {
                c.channels.remove(name);
            }
            c.channels.len() + c.patterns.len()
        })
    }

    /// The client's channels (or patterns), in order.
    pub fn subscriptions(&self, id: u64, pattern: bool) -> Vec<Bytes> {
        self.with(|s| {
            s.get(&id)
                .map(|c| {
                    let set = if pattern { &c.patterns } else { &c.channels };
                    set.iter().cloned().collect()
                })
                .unwrap_or_default()
        })
    }

    /// `(channels, patterns)` counts of a client.
    /// The distinct channels and patterns anyone is subscribed to (INFO's
    /// `pubsub_channels`, `pubsub_patterns`).
    pub fn totals(&self) -> (usize, usize) {
        self.with(|m| {
            let channels: std::collections::HashSet<&Bytes> =
                m.values().flat_map(|s| &s.channels).collect();
            let patterns: std::collections::HashSet<&Bytes> =
                m.values().flat_map(|s| &s.patterns).collect();
            (channels.len(), patterns.len())
        })
    }

    pub fn counts(&self, id: u64) -> (usize, usize) {
        self.with(|s| {
            s.get(&id)
                .map(|c| (c.channels.len(), c.patterns.len()))
                .unwrap_or((0, 0))
        })
    }

    /// Delivers a message; returns how many subscriptions received it.
    pub fn publish(&self, channel: &[u8], payload: &[u8]) -> usize {
        let channel = Bytes::copy_from_slice(channel);
        let payload = Bytes::copy_from_slice(payload);
        self.with(|s| {
            let mut n = 0;
            for c in s.values() {
                if c.channels.contains(&channel) {
                    n += 1;
                    let _ = c.tx.send(Message::Message {
                        channel: channel.clone(),
                        payload: payload.clone(),
                    });
                }
                for p in &c.patterns {
                    if glob_match(p, &channel, false) {
                        n += 1;
                        let _ = c.tx.send(Message::PMessage {
                            pattern: p.clone(),
                            channel: channel.clone(),
                            payload: payload.clone(),
                        });
                    }
                }
            }
            n
        })
    }
}
