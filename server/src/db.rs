//! The keyspace: one [`Db`] per logical database, each a map from key to
//! [`Entry`] (value, expire time, LRU clock). Keys live in an `IndexMap`
//! so that random sampling (RANDOMKEY, active expiry) is O(1) and SCAN can
//! walk a stable cursor (see [`Db::scan`]).
//!
//! Expiry is lazy (every lookup checks the deadline) plus active (the
//! cron samples keys with a TTL, like Redis's `activeExpireCycle`). Keys
//! deleted because they expired are queued in `expired` so the caller can
//! send `expired` notifications and count them.

use std::collections::VecDeque;

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use rand::Rng;

use crate::types::key::Key;
use crate::types::zset::ZSet;

/// A stored value. Compound types are boxed so a string key stays small.
#[derive(Debug, Clone)]
pub enum Value {
    /// A string (binary safe).
    Str(Vec<u8>),
    /// A list.
    List(Box<VecDeque<Bytes>>),
    /// A hash.
    Hash(Box<IndexMap<Bytes, Bytes>>),
    /// A set.
    Set(Box<IndexSet<Bytes>>),
    /// A sorted set.
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE prints.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }
}

/// A key's value and metadata.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The value.
    pub value: Value,
    /// Absolute expire time in unix milliseconds, or `NO_EXPIRE`.
    pub expire: i64,
    /// Seconds-resolution clock of the last access (OBJECT IDLETIME).
    pub lru: u32,
    /// Whether a string was modified in place (APPEND, SETRANGE) and so
    /// reports the `raw` encoding like Redis, whatever its length.
    pub raw: bool,
}

/// Marker for "no expire".
pub const NO_EXPIRE: i64 = i64::MAX;

impl Entry {
    /// A new entry without expire.
    pub fn new(value: Value, lru: u32) -> Entry {
        Entry {
            value,
            expire: NO_EXPIRE,
            lru,
            raw: false,
        }
    }
}

/// WRONGTYPE error text.
pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// The key-space hasher: aHash with per-process random keys (fast, and
/// as resistant to hash flooding as Redis's seeded SipHash is meant to be).
pub type KeyHasher = ahash::RandomState;

/// One logical database.
#[derive(Debug, Default)]
pub struct Db {
    /// Key → entry.
    pub dict: IndexMap<Key, Entry, KeyHasher>,
    /// Keys that carry a TTL (for active expiry sampling and `expires=`).
    pub expires: IndexSet<Key, KeyHasher>,
    /// Keys deleted by expiry since the caller last drained this queue.
    pub expired: Vec<Bytes>,
    /// How many of `expired` were already written to the stream of effects
    /// (as DEL) by [`crate::propagate::expired_keys`].
    pub expired_propagated: usize,
    /// While an AOF loads nothing expires (Redis's `keyIsExpired` returns
    /// false while loading): the file's own DELs do the deleting.
    pub frozen: bool,
    /// On a replica: a key past its deadline reads as missing but stays
    /// until the master's DEL arrives (Redis's expireIfNeeded on replicas).
    pub keep_expired: bool,
    /// Average TTL estimate for INFO keyspace (`avg_ttl`), as Redis keeps it.
    pub avg_ttl: i64,
}

impl Db {
    /// Number of keys (including logically expired ones not reclaimed yet).
    pub fn len(&self) -> usize {
        self.dict.len()
    }

    /// Whether the database is empty.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Deletes `key` if its deadline passed; returns whether it did.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: i64) -> bool {
        let expired = match self.dict.get(key) {
            Some(e) => {
                e.expire != NO_EXPIRE && e.expire <= now_ms && !self.frozen && !self.keep_expired
            }
            None => false,
        };
        if expired {
            self.remove(key);
            self.expired.push(Bytes::copy_from_slice(key));
        }
        expired
    }

    /// Looks a key up (after lazy expiry) and updates its LRU clock.
    pub fn get(&mut self, key: &[u8], now_ms: i64, lru: u32) -> Option<&mut Entry> {
        self.expire_if_needed(key, now_ms);
        let e = self.dict.get_mut(key)?;
        e.lru = lru;
        Some(e)
    }

    /// Looks a key up without touching the LRU clock (OBJECT, TYPE-like
    /// introspection that Redis does with LOOKUP_NOTOUCH).
    pub fn peek(&mut self, key: &[u8], now_ms: i64) -> Option<&mut Entry> {
        let idx = self.live_index(key, now_ms)?;
        self.dict.get_index_mut(idx).map(|(_, e)| e)
    }

    /// The position of a live key (one hash lookup), expiring it if its
    /// deadline passed. Positions stay valid until a key is removed.
    pub fn live_index(&mut self, key: &[u8], now_ms: i64) -> Option<usize> {
        let idx = self.dict.get_index_of(key)?;
        let expire = self
            .dict
            .get_index(idx)
            .map(|(_, e)| e.expire)
            .unwrap_or(NO_EXPIRE);
        if expire != NO_EXPIRE && expire <= now_ms && !self.frozen {
            if self.keep_expired {
                return None;
            }
            self.remove(key);
            self.expired.push(Bytes::copy_from_slice(key));
            return None;
        }
        Some(idx)
    }

    /// Whether a live key exists.
    pub fn exists(&mut self, key: &[u8], now_ms: i64) -> bool {
        self.peek(key, now_ms).is_some()
    }

    /// Inserts or replaces a value; the old TTL is dropped unless `keep_ttl`.
    pub fn set(&mut self, key: Bytes, value: Value, keep_ttl: bool, lru: u32, now_ms: i64) {
        // one hash lookup: short keys are built inline, so making the owned
        // key up front costs no allocation
        match self.dict.entry(Key::new(&key)) {
            indexmap::map::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                let was_expired = e.expire != NO_EXPIRE
                    && e.expire <= now_ms
                    && !self.frozen
                    && !self.keep_expired;
                e.value = value;
                e.lru = lru;
                e.raw = false;
                if was_expired {
                    // the old key died before this write: it expired (event,
                    // stats) and its TTL is not kept
                    self.expired.push(key.clone());
                }
                if (!keep_ttl || was_expired) && e.expire != NO_EXPIRE {
                    e.expire = NO_EXPIRE;
                    self.expires.swap_remove(&key[..]);
                }
            }
            indexmap::map::Entry::Vacant(v) => {
                v.insert(Entry::new(value, lru));
            }
        }
    }

    /// Inserts a fresh entry (the caller made sure the key is absent or
    /// wants it replaced entirely, TTL included).
    pub fn insert_entry(&mut self, key: Bytes, entry: Entry) {
        let has_ttl = entry.expire != NO_EXPIRE;
        let key = Key::new(&key);
        if has_ttl {
            self.expires.insert(key.clone());
        } else {
            self.expires.swap_remove(&key[..]);
        }
        self.dict.insert(key, entry);
    }

    /// Inserts `entry` under `key` unless the key is already present
    /// (one hash lookup; for loading, where a duplicate is an error).
    /// Returns whether it inserted.
    pub fn insert_new(&mut self, key: &[u8], entry: Entry) -> bool {
        let has_ttl = entry.expire != NO_EXPIRE;
        match self.dict.entry(Key::new(key)) {
            indexmap::map::Entry::Occupied(_) => false,
            indexmap::map::Entry::Vacant(v) => {
                if has_ttl {
                    self.expires.insert(v.key().clone());
                }
                v.insert(entry);
                true
            }
        }
    }

    /// Makes room for `keys` more keys, `expires` of them with a TTL.
    pub fn reserve(&mut self, keys: usize, expires: usize) {
        self.dict.reserve(keys);
        self.expires.reserve(expires);
    }

    /// Removes a key, returning its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let e = self.dict.swap_remove(key)?;
        if e.expire != NO_EXPIRE {
            self.expires.swap_remove(key);
        }
        Some(e)
    }

    /// Sets an absolute expire time on an existing key.
    pub fn set_expire(&mut self, key: &[u8], at_ms: i64) {
        if let Some((_, k, e)) = self.dict.get_full_mut(key) {
            if e.expire == NO_EXPIRE {
                let k = k.clone();
                self.expires.insert(k);
            }
            e.expire = at_ms;
        }
    }

    /// Removes the TTL of a key; returns whether it had one.
    pub fn persist(&mut self, key: &[u8]) -> bool {
        match self.dict.get_mut(key) {
            Some(e) if e.expire != NO_EXPIRE => {
                e.expire = NO_EXPIRE;
                self.expires.swap_remove(key);
                true
            }
            _ => false,
        }
    }

    /// Removes every key.
    pub fn clear(&mut self) -> usize {
        let n = self.dict.len();
        self.dict = IndexMap::default();
        self.expires = IndexSet::default();
        self.avg_ttl = 0;
        n
    }

    /// A random live key (RANDOMKEY), expiring dead ones it meets.
    pub fn random_key(&mut self, now_ms: i64) -> Option<Bytes> {
        let mut rng = rand::thread_rng();
        // Redis gives up expiring after many tries when all keys are volatile.
        for _ in 0..100 {
            if self.dict.is_empty() {
                return None;
            }
            let i = rng.gen_range(0..self.dict.len());
            let (k, e) = self.dict.get_index(i)?;
            if e.expire != NO_EXPIRE && e.expire <= now_ms {
                let k = k.clone();
                self.expire_if_needed(&k, now_ms);
                continue;
            }
            return Some(k.to_bytes());
        }
        let i = rng.gen_range(0..self.dict.len().max(1));
        self.dict.get_index(i).map(|(k, _)| k.to_bytes())
    }

    /// One step of a SCAN. The cursor walks indices from the top down, so
    /// keys present for the whole scan are always returned: a removal moves
    /// the last (already visited) key into the hole. Cursor 0 starts;
    /// the returned cursor is 0 when done.
    pub fn scan(&self, cursor: u64, count: usize) -> (u64, Vec<Bytes>) {
        scan_indexed(self.dict.len(), cursor, count, |i| {
            self.dict.get_index(i).map(|(k, _)| k.to_bytes())
        })
    }

    /// Active expiry of this db: samples keys with a TTL and deletes the
    /// expired ones, repeating while more than a quarter of a sample was
    /// expired, within `budget_ms`. Returns (sampled, expired).
    pub fn active_expire(&mut self, now_ms: i64, deadline: std::time::Instant) -> (usize, usize) {
        let mut rng = rand::thread_rng();
        let (mut sampled, mut expired) = (0, 0);
        if self.frozen || self.keep_expired {
            return (0, 0);
        }
        loop {
            if self.expires.is_empty() {
                break;
            }
            let n = self.expires.len().min(20);
            let mut dead = 0;
            let mut ttl_sum: i64 = 0;
            let mut ttl_n: i64 = 0;
            for _ in 0..n {
                let i = rng.gen_range(0..self.expires.len());
                let Some(k) = self.expires.get_index(i).cloned() else {
                    break;
                };
                sampled += 1;
                let at = self.dict.get(&k).map(|e| e.expire).unwrap_or(NO_EXPIRE);
                if at <= now_ms {
                    self.remove(&k);
                    self.expired.push(k.to_bytes());
                    dead += 1;
                } else if at != NO_EXPIRE {
                    ttl_sum += at - now_ms;
                    ttl_n += 1;
                }
                if self.expires.is_empty() {
                    break;
                }
            }
            expired += dead;
            if ttl_n > 0 {
                let avg = ttl_sum / ttl_n;
                // Redis smooths the estimate the same way.
                self.avg_ttl = if self.avg_ttl == 0 {
                    avg
                } else {
                    (self.avg_ttl / 50) * 49 + avg / 50
                };
            }
            if dead * 4 <= n || std::time::Instant::now() >= deadline {
                break;
            }
        }
        (sampled, expired)
    }
}

/// Redis's LFU_INIT_VAL: the counter a new key starts with.
pub const LFU_INIT_VAL: u32 = 5;

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The LFU field of a new key: access time in minutes and the initial counter.
pub fn lfu_init(now_ms: i64) -> u32 {
    (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
}

/// The counter after decay (Redis's `LFUDecrAndReturn`): one step per
/// `decay_time` minutes without access.
pub fn lfu_decayed(field: u32, now_ms: i64, decay_time: i64) -> u32 {
    let ldt = field >> 8;
    let counter = field & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let periods = if decay_time > 0 {
        elapsed / decay_time as u32
    } else {
        0
    };
    counter.saturating_sub(periods)
}

/// An access under an LFU policy: decay, then the logarithmic increment
/// (Redis's `LFULogIncr` with `lfu-log-factor`).
pub fn lfu_touch(field: u32, now_ms: i64, log_factor: i64, decay_time: i64) -> u32 {
    let mut counter = lfu_decayed(field, now_ms, decay_time);
    if counter < 255 {
        let r: f64 = rand::thread_rng().gen();
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        let p = 1.0 / (base * log_factor as f64 + 1.0);
        if r < p {
            counter += 1;
        }
    }
    (lfu_minutes(now_ms) << 8) | counter
}

/// SCAN over anything indexable by position; see [`Db::scan`].
pub fn scan_indexed<T>(
    len: usize,
    cursor: u64,
    count: usize,
    mut at: impl FnMut(usize) -> Option<T>,
) -> (u64, Vec<T>) {
    let mut next = if cursor == 0 {
        len as u64
    } else {
        (cursor).min(len as u64)
    };
    let mut out = Vec::new();
    let mut steps = 0;
    while next > 0 && steps < count.max(1) {
        next -= 1;
        if let Some(v) = at(next as usize) {
            out.push(v);
        }
        steps += 1;
    }
    (next, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_returns_keys_present_throughout_despite_deletes() {
        let mut db = Db::default();
        for i in 0..1000 {
            db.set(
                Bytes::from(format!("k{i}")),
                Value::Str(vec![]),
                false,
                0,
                0,
            );
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            let (next, keys) = db.scan(cursor, 10);
            seen.extend(keys);
            // delete some odd keys as we go
            db.remove(format!("k{}", 2 * round + 1).as_bytes());
            round += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        for i in (0..1000).step_by(2) {
            assert!(seen.contains(format!("k{i}").as_bytes()), "missing k{i}");
        }
    }

    #[test]
    fn active_expire_reclaims_without_reads() {
        let mut db = Db::default();
        for i in 0..500 {
            let k = Bytes::from(format!("k{i}"));
            db.set(k.clone(), Value::Str(vec![1]), false, 0, 0);
            db.set_expire(&k, 10);
        }
        db.set(Bytes::from("live"), Value::Str(vec![1]), false, 0, 0);
        let far = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while db.len() > 1 {
            db.active_expire(100, far);
        }
        assert_eq!(db.expired.len(), 500);
        assert!(db.exists(b"live", 100));
    }
}
