//! Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
//! BZPOPMAX, BZMPOP): after every command that may have given data to a
//! key that clients wait on, the waiting clients are served in arrival
//! (FIFO) order, inside the same critical section as the write, so the
//! pop is ordered right after the push that fed it — as Redis's
//! `handleClientsBlockedOnKeys` does.

use bytes::Bytes;
use picket_common::resp::Frame;

use crate::config::notify;
use crate::db::{Entry, Value};
use crate::pubsub::notify_keyspace_event;
use crate::state::State;

/// Which end of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl End {
    /// Parses LEFT / RIGHT.
    pub fn parse(a: &[u8]) -> Option<End> {
        if a.eq_ignore_ascii_case(b"left") {
            Some(End::Left)
        } else if a.eq_ignore_ascii_case(b"right") {
            Some(End::Right)
        } else {
            None
        }
    }
}

/// What a blocked client wants once a key has data.
#[derive(Debug, Clone)]
pub enum BlockOp {
    /// BLPOP / BRPOP: reply `[key, element]`.
    Pop(End),
    /// BLMOVE / BRPOPLPUSH: pop from `from`, push to `dst` at `to`; reply the element.
    Move { from: End, dst: Bytes, to: End },
    /// BLMPOP: reply `[key, [elements]]`.
    MPop { from: End, count: usize },
    /// BZPOPMIN / BZPOPMAX: reply `[key, member, score]`.
    ZPop { max: bool },
    /// BZMPOP: reply `[key, [[member, score], ...]]`.
    ZMPop { max: bool, count: usize },
}

impl BlockOp {
    fn wants_list(&self) -> bool {
        matches!(
            self,
            BlockOp::Pop(_) | BlockOp::Move { .. } | BlockOp::MPop { .. }
        )
    }
}

/// Pops from a list end, deleting the key when it empties; sends the
/// notifications Redis sends.
pub fn list_pop(st: &mut State, db: usize, key: &[u8], end: End, count: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut emptied = false;
    if let Some(Entry {
        value: Value::List(l),
        ..
    }) = st.dbs[db].dict.get_mut(key)
    {
        for _ in 0..count {
            let v = match end {
                End::Left => l.pop_front(),
                End::Right => l.pop_back(),
            };
            match v {
                Some(v) => out.push(v),
                None => break,
            }
        }
        emptied = l.is_empty();
    }
    if !out.is_empty() {
        let flags = st.config.notify_flags;
        let ev = if end == End::Left { "lpop" } else { "rpop" };
        notify_keyspace_event(&st.pubsub, flags, notify::LIST, ev, key, db);
        if emptied {
            st.dbs[db].remove(key);
            notify_keyspace_event(&st.pubsub, flags, notify::GENERIC, "del", key, db);
        }
        st.dirty += 1;
    }
    out
}

/// Pushes onto a list (creating it), with notifications; wakes waiters.
pub fn list_push(st: &mut State, db: usize, key: &Bytes, end: End, v: Bytes, lru: u32) {
    let d = &mut st.dbs[db];
    match d.dict.get_mut(&key[..]) {
        Some(Entry {
            value: Value::List(l),
            ..
        }) => match end {
            End::Left => l.push_front(v),
            End::Right => l.push_back(v),
        },
        _ => {
            let mut l = std::collections::VecDeque::new();
            l.push_back(v);
            d.insert_entry(key.clone(), Entry::new(Value::List(Box::new(l)), lru));
        }
    }
    let flags = st.config.notify_flags;
    let ev = if end == End::Left { "lpush" } else { "rpush" };
    notify_keyspace_event(&st.pubsub, flags, notify::LIST, ev, key, db);
    st.dirty += 1;
    st.signal_ready(db, key);
}

fn touch_watchers(st: &mut State, db: usize, key: &[u8]) {
    // the running client is not in st.clients: after_command checks these
    st.served_keys.push((db, Bytes::copy_from_slice(key)));
    if let Some(ids) = st.watched.get(&(db, Bytes::copy_from_slice(key))).cloned() {
        for id in ids {
            if let Some(c) = st.clients.get_mut(&id) {
                c.dirty_cas = true;
            }
        }
    }
}

/// Serves clients blocked on keys that became ready, FIFO per key, until
/// no served key has anything left for its waiters. Serving may feed
/// other keys (BLMOVE pushes to its destination), which are served in a
/// following round, as Redis's `handleClientsBlockedOnKeys` loops.
pub fn serve_ready_keys(st: &mut State) {
    let mut rounds = 0;
    while !st.ready_keys.is_empty() && rounds < 1_000_000 {
        rounds += 1;
        let ready = std::mem::take(&mut st.ready_keys);
        for (db, key) in ready {
            serve_key(st, db, &key);
        }
    }
}

/// What a ready key holds, as far as waiters care.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holds {
    List,
    ZSet,
}

fn holds(st: &State, db: usize, key: &[u8]) -> Option<Holds> {
    let now = crate::state::now_ms();
    match st.dbs.get(db)?.dict.get(key) {
        Some(Entry {
            value: Value::List(l),
            expire,
            ..
        }) if !l.is_empty() && *expire > now => Some(Holds::List),
        Some(Entry {
            value: Value::ZSet(z),
            expire,
            ..
        }) if !z.is_empty() && *expire > now => Some(Holds::ZSet),
        _ => None,
    }
}

/// Serves the waiters of one key in arrival order while it has data.
/// Waiters for another type than the key holds keep waiting (Redis only
/// serves clients whose blocking type matches the value's type).
fn serve_key(st: &mut State, db: usize, key: &Bytes) {
    let slot = (db, key.clone());
    loop {
        let Some(kind) = holds(st, db, key) else {
            return;
        };
        let Some(queue) = st.blocking_keys.get(&slot) else {
            return;
        };
        let mut pick = None;
        let mut stale = Vec::new();
        for &id in queue {
            match st.blocked.get(&id) {
                None => stale.push(id),
                Some(b) if b.op.wants_list() == (kind == Holds::List) => {
                    pick = Some(id);
                    break;
                }
                Some(_) => {}
            }
        }
        if !stale.is_empty() {
            if let Some(q) = st.blocking_keys.get_mut(&slot) {
                q.retain(|id| !stale.contains(id));
                if q.is_empty() {
                    st.blocking_keys.remove(&slot);
                }
            }
        }
        let Some(id) = pick else { return };
        let Some(b) = st.unblock(id) else { return };
        if let Some(c) = st.clients.get_mut(&id) {
            c.blocked = false;
        }
        if b.tx.is_closed() {
            // The client went away while blocked: Redis would have
            // forgotten it already, so it must not consume anything.
            continue;
        }
        let reply = serve_one(st, db, key, &b.op);
        touch_watchers(st, db, key);
        let op = crate::propagate::active(st)
            .then(|| served_op(key, &b.op, &reply))
            .flatten();
        // The receiver may have gone in the meantime: the pop already
        // happened, so put the data back to keep nothing lost.
        match b.tx.send(reply) {
            Err(reply) => undo(st, db, key, &b.op, reply),
            Ok(()) => {
                if let Some(op) = op {
                    crate::propagate::emit_unit(st, vec![(db, op)]);
                }
            }
        }
    }
}

/// What serving a blocked client propagates: its plain non-blocking
/// form (Redis's serveClientBlockedOnList / OnSortedSet).
fn served_op(key: &Bytes, op: &BlockOp, reply: &Frame) -> Option<Vec<Bytes>> {
    let side = |e: &End| {
        Bytes::from_static(match e {
            End::Left => b"LEFT",
            End::Right => b"RIGHT",
        })
    };
    let popped = |r: &Frame| match r {
        Frame::Array(v) => match v.get(1) {
            Some(Frame::Array(items)) => items.len(),
            _ => 0,
        },
        _ => 0,
    };
    let key = key.clone();
    Some(match op {
        BlockOp::Pop(end) if matches!(reply, Frame::Array(_)) => {
            vec![crate::cmd::lists::pop_verb(*end), key]
        }
        BlockOp::MPop { from, .. } if popped(reply) > 0 => vec![
            crate::cmd::lists::pop_verb(*from),
            key,
            Bytes::from(popped(reply).to_string()),
        ],
        BlockOp::Move { from, dst, to } if matches!(reply, Frame::Bulk(_)) => vec![
            Bytes::from_static(b"LMOVE"),
            key,
            dst.clone(),
            side(from),
            side(to),
        ],
        BlockOp::ZPop { max } if matches!(reply, Frame::Array(_)) => {
            vec![zpop_verb(*max), key]
        }
        BlockOp::ZMPop { max, .. } if popped(reply) > 0 => {
            vec![zpop_verb(*max), key, Bytes::from(popped(reply).to_string())]
        }
        _ => return None,
    })
}

fn zpop_verb(max: bool) -> Bytes {
    Bytes::from_static(if max { b"ZPOPMAX" } else { b"ZPOPMIN" })
}

fn serve_one(st: &mut State, db: usize, key: &Bytes, op: &BlockOp) -> Frame {
    match op {
        BlockOp::Pop(end) => {
            let v = list_pop(st, db, key, *end, 1);
            match v.into_iter().next() {
                Some(v) => Frame::Array(vec![Frame::Bulk(key.clone()), Frame::Bulk(v)]),
                None => Frame::NullArray,
            }
        }
        BlockOp::MPop { from, count } => {
            let v = list_pop(st, db, key, *from, *count);
            Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::Array(v.into_iter().map(Frame::Bulk).collect()),
            ])
        }
        BlockOp::Move { from, dst, to } => {
            // the destination must be a list or absent, else WRONGTYPE
            st.dbs[db].expire_if_needed(dst, crate::state::now_ms());
            if let Some(e) = st.dbs[db].dict.get(&dst[..]) {
                if !matches!(e.value, Value::List(_)) {
                    return Frame::err(crate::db::WRONGTYPE);
                }
            }
            let v = match st.dbs[db].dict.get_mut(&key[..]) {
                Some(Entry {
                    value: Value::List(l),
                    ..
                }) => match from {
                    End::Left => l.pop_front(),
                    End::Right => l.pop_back(),
                },
                _ => None,
            };
            let Some(v) = v else { return Frame::Null };
            // Redis's order: push (and its event) on the destination, then
            // the pop event on the source, then `del` if it emptied.
            list_push(st, db, dst, *to, v.clone(), 0);
            touch_watchers(st, db, dst);
            let flags = st.config.notify_flags;
            let ev = if *from == End::Left { "lpop" } else { "rpop" };
            notify_keyspace_event(&st.pubsub, flags, notify::LIST, ev, key, db);
            if matches!(st.dbs[db].dict.get(&key[..]), Some(Entry { value: Value::List(l), .. }) if l.is_empty())
            {
                st.dbs[db].remove(key);
                notify_keyspace_event(&st.pubsub, flags, notify::GENERIC, "del", key, db);
            }
            Frame::Bulk(v)
        }
        BlockOp::ZPop { max } => {
            let popped = zpop(st, db, key, *max, 1);
            match popped.into_iter().next() {
                Some((m, s)) => Frame::Array(vec![
                    Frame::Bulk(key.clone()),
                    Frame::Bulk(m),
                    Frame::Double(s),
                ]),
                None => Frame::NullArray,
            }
        }
        BlockOp::ZMPop { max, count } => {
            let popped = zpop(st, db, key, *max, *count);
            Frame::Array(vec![
                Frame::Bulk(key.clone()),
                Frame::Array(
                    popped
                        .into_iter()
                        .map(|(m, s)| Frame::Array(vec![Frame::Bulk(m), Frame::Double(s)]))
                        .collect(),
                ),
            ])
        }
    }
}

/// Pops from a sorted set with notifications, deleting it when empty.
pub fn zpop(st: &mut State, db: usize, key: &[u8], max: bool, count: usize) -> Vec<(Bytes, f64)> {
    let mut emptied = false;
    let out = match st.dbs[db].dict.get_mut(key) {
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => {
            let v = z.pop(count, max);
            emptied = z.is_empty();
            v
        }
        _ => Vec::new(),
    };
    if !out.is_empty() {
        let flags = st.config.notify_flags;
        notify_keyspace_event(
            &st.pubsub,
            flags,
            notify::ZSET,
            if max { "zpopmax" } else { "zpopmin" },
            key,
            db,
        );
        if emptied {
            st.dbs[db].remove(key);
            notify_keyspace_event(&st.pubsub, flags, notify::GENERIC, "del", key, db);
        }
        st.dirty += 1;
    }
    out
}

fn undo(st: &mut State, db: usize, key: &Bytes, op: &BlockOp, reply: Frame) {
    match (op, reply) {
        (BlockOp::Pop(end), Frame::Array(v)) => {
            if let Some(Frame::Bulk(x)) = v.into_iter().nth(1) {
                let back = if *end == End::Left {
                    End::Left
                } else {
                    End::Right
                };
                list_push(st, db, key, back, x, 0);
            }
        }
        (BlockOp::MPop { from, .. }, Frame::Array(v)) => {
            if let Some(Frame::Array(items)) = v.into_iter().nth(1) {
                for it in items.into_iter().rev() {
                    if let Frame::Bulk(x) = it {
                        list_push(st, db, key, *from, x, 0);
                    }
                }
            }
        }
        (BlockOp::Move { from, dst, to }, Frame::Bulk(x)) => {
            // take it back from the destination, return it to the source
            let at_end = match st.dbs[db].dict.get(&dst[..]) {
                Some(Entry {
                    value: Value::List(l),
                    ..
                }) => {
                    (if *to == End::Left {
                        l.front()
                    } else {
                        l.back()
                    }) == Some(&x)
                }
                _ => false,
            };
            if at_end {
                list_pop(st, db, dst, *to, 1);
                list_push(st, db, key, *from, x, 0);
            }
        }
        (BlockOp::ZPop { .. }, Frame::Array(v)) => {
            let mut it = v.into_iter().skip(1);
            if let (Some(Frame::Bulk(m)), Some(Frame::Double(s))) = (it.next(), it.next()) {
                zadd_back(st, db, key, m, s);
            }
        }
        (BlockOp::ZMPop { .. }, Frame::Array(v)) => {
            if let Some(Frame::Array(items)) = v.into_iter().nth(1) {
                for it in items {
                    if let Frame::Array(p) = it {
                        let mut p = p.into_iter();
                        if let (Some(Frame::Bulk(m)), Some(Frame::Double(s))) = (p.next(), p.next())
                        {
                            zadd_back(st, db, key, m, s);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

fn zadd_back(st: &mut State, db: usize, key: &Bytes, m: Bytes, s: f64) {
    let d = &mut st.dbs[db];
    match d.dict.get_mut(&key[..]) {
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => {
            z.insert(m, s);
        }
        _ => {
            let mut z = crate::types::zset::ZSet::default();
            z.insert(m, s);
            d.insert_entry(key.clone(), Entry::new(Value::ZSet(Box::new(z)), 0));
        }
    }
    st.signal_ready(db, key);
}
