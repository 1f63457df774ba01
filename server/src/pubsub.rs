//! Pub/sub registry: channel and pattern subscriptions, PUBLISH delivery,
//! and keyspace notifications (which are PUBLISHes to
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>`).

use std::collections::HashMap;

use crate::push::{Limits, PushSink};
use bytes::Bytes;
use indexmap::IndexMap;
use picket_common::glob::glob_match;
use picket_common::resp::Frame;

use crate::config::notify;

/// Subscribers by channel and by pattern.
#[derive(Default)]
pub struct PubSub {
    /// channel → (client id → sink)
    pub channels: HashMap<Bytes, IndexMap<u64, PushSink>>,
    /// pattern → (client id → sink)
    pub patterns: IndexMap<Bytes, IndexMap<u64, PushSink>>,
    /// shard channel → (client id → sink)
    pub shard_channels: HashMap<Bytes, IndexMap<u64, PushSink>>,
    /// `client-output-buffer-limit pubsub` as configured.
    pub limits: Limits,
}

impl PubSub {
    /// Delivers a message; returns the number of receivers (PUBLISH's reply).
    pub fn publish(&self, channel: &[u8], msg: &[u8]) -> i64 {
        let mut n = 0;
        if let Some(subs) = self.channels.get(channel) {
            let f = Frame::Push(vec![
                Frame::bulk("message"),
                Frame::bulk(channel),
                Frame::bulk(msg),
            ]);
            for tx in subs.values() {
                let _ = tx.send_limited(f.clone(), self.limits, crate::state::now_ms());
                n += 1;
            }
        }
        for (pat, subs) in &self.patterns {
            if glob_match(pat, channel, false) {
                let f = Frame::Push(vec![
                    Frame::bulk("pmessage"),
                    Frame::Bulk(pat.clone()),
                    Frame::bulk(channel),
                    Frame::bulk(msg),
                ]);
                for tx in subs.values() {
                    let _ = tx.send_limited(f.clone(), self.limits, crate::state::now_ms());
                    n += 1;
                }
            }
        }
        n
    }

    /// Delivers a shard message (SPUBLISH).
    pub fn spublish(&self, channel: &[u8], msg: &[u8]) -> i64 {
        let mut n = 0;
        if let Some(subs) = self.shard_channels.get(channel) {
            let f = Frame::Push(vec![
                Frame::bulk("smessage"),
                Frame::bulk(channel),
                Frame::bulk(msg),
            ]);
            for tx in subs.values() {
                let _ = tx.send_limited(f.clone(), self.limits, crate::state::now_ms());
                n += 1;
            }
        }
        n
    }

    /// Registers `id` on a channel; returns false when it already was.
    pub fn subscribe(&mut self, id: u64, channel: &Bytes, tx: &PushSink) -> bool {
        let subs = self.channels.entry(channel.clone()).or_default();
        if subs.contains_key(&id) {
            return false;
        }
        subs.insert(id, tx.clone());
        true
    }

    /// Drops `id` from a channel; returns whether it was subscribed.
    pub fn unsubscribe(&mut self, id: u64, channel: &[u8]) -> bool {
        let Some(subs) = self.channels.get_mut(channel) else {
            return false;
        };
        let found = subs.shift_remove(&id).is_some();
        if subs.is_empty() {
            self.channels.remove(channel);
        }
        found
    }

    /// Registers `id` on a pattern; returns false when it already was.
    pub fn psubscribe(&mut self, id: u64, pattern: &Bytes, tx: &PushSink) -> bool {
        let subs = self.patterns.entry(pattern.clone()).or_default();
        if subs.contains_key(&id) {
            return false;
        }
        subs.insert(id, tx.clone());
        true
    }

    /// Drops `id` from a pattern; returns whether it was subscribed.
    pub fn punsubscribe(&mut self, id: u64, pattern: &[u8]) -> bool {
        let Some(subs) = self.patterns.get_mut(pattern) else {
            return false;
        };
        let found = subs.shift_remove(&id).is_some();
        if subs.is_empty() {
            self.patterns.shift_remove(pattern);
        }
        found
    }

    /// Registers `id` on a shard channel; returns false when it already was.
    pub fn ssubscribe(&mut self, id: u64, channel: &Bytes, tx: &PushSink) -> bool {
        let subs = self.shard_channels.entry(channel.clone()).or_default();
        if subs.contains_key(&id) {
            return false;
        }
        subs.insert(id, tx.clone());
        true
    }

    /// Drops `id` from a shard channel; returns whether it was subscribed.
    pub fn sunsubscribe(&mut self, id: u64, channel: &[u8]) -> bool {
        let Some(subs) = self.shard_channels.get_mut(channel) else {
            return false;
        };
        let found = subs.shift_remove(&id).is_some();
        if subs.is_empty() {
            self.shard_channels.remove(channel);
        }
        found
    }

    /// Number of subscribers of a channel (PUBSUB NUMSUB).
    pub fn numsub(&self, channel: &[u8]) -> usize {
        self.channels.get(channel).map_or(0, |m| m.len())
    }

    /// Number of subscribers of a shard channel (PUBSUB SHARDNUMSUB).
    pub fn shard_numsub(&self, channel: &[u8]) -> usize {
        self.shard_channels.get(channel).map_or(0, |m| m.len())
    }

    /// Removes every subscription of a client (on disconnect / RESET).
    pub fn remove_client(
        &mut self,
        id: u64,
        channels: &[Bytes],
        patterns: &[Bytes],
        shard: &[Bytes],
    ) {
        for c in channels {
            if let Some(m) = self.channels.get_mut(c) {
                m.shift_remove(&id);
                if m.is_empty() {
                    self.channels.remove(c);
                }
            }
        }
        for p in patterns {
            if let Some(m) = self.patterns.get_mut(p) {
                m.shift_remove(&id);
                if m.is_empty() {
                    self.patterns.shift_remove(p);
                }
            }
        }
        for c in shard {
            if let Some(m) = self.shard_channels.get_mut(c) {
                m.shift_remove(&id);
                if m.is_empty() {
                    self.shard_channels.remove(c);
                }
            }
        }
    }
}

/// Sends a keyspace notification if `class` is enabled (notifyKeyspaceEvent).
pub fn notify_keyspace_event(
    ps: &PubSub,
    flags: u32,
    class: u32,
    event: &str,
    key: &[u8],
    db: usize,
) {
    if flags & class == 0 {
        return;
    }
    if flags & notify::KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{db}__:").into_bytes();
        ch.extend_from_slice(key);
        ps.publish(&ch, event.as_bytes());
    }
    if flags & notify::KEYEVENT != 0 {
        let ch = format!("__keyevent@{db}__:{event}");
        ps.publish(ch.as_bytes(), key);
    }
}
