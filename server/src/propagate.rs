//! The stream of effects (ARCHITECTURE.md, invariant 1): every write is
//! appended, in the order it took effect, to the AOF and to the
//! replication stream (backlog and replicas) as the command Redis 7.0
//! would propagate for it.
//!
//! How a command becomes stream entries (Redis's `call` +
//! `alsoPropagate` + `propagatePendingCommands`):
//! - a command that changed the data set (the change counter `dirty`
//!   moved) is propagated as it was sent, unless its handler rewrote it
//!   into its effects with [`crate::cmd::Ctx::propagate_as`] (EXPIRE →
//!   PEXPIREAT, SET EX → SET PXAT, INCRBYFLOAT → SET KEEPTTL, SPOP → SREM,
//!   a blocking pop → its plain pop, ...);
//! - a key deleted because it expired becomes `DEL key`: found by a
//!   command (lazily), it joins that command's unit before the command's
//!   own entry; found by the active cycle, it is a unit of its own;
//! - the entries of one top-level command (an EXEC included) are written
//!   as one unit: wrapped in MULTI/EXEC when there are several (Redis
//!   7.0.15 writes `MULTI DEL k SET k v EXEC` for a SET that found `k`
//!   expired, and a lone `DEL k` for a GET that did).
//!
//! The stream carries `SELECT` whenever the database changes; each sink
//! keeps its own selected database (a new AOF file starts without one).

use bytes::Bytes;

use crate::state::State;

/// One stream entry: a database and the command's arguments.
pub type Op = (usize, Vec<Bytes>);

/// Per-command propagation bookkeeping.
#[derive(Debug, Default)]
pub struct Propagation {
    /// Nesting of `call` (EXEC runs commands inside a command).
    pub depth: u32,
    /// Entries of the running top-level command (Redis's `also_propagate`).
    pub pending: Vec<Op>,
}

/// Whether anything consumes the stream (an AOF; later, replicas): when
/// nothing does, commands skip building their entries altogether.
#[inline]
pub fn active(st: &State) -> bool {
    st.aof.is_some() || crate::replication::active(st)
}

/// Writes one entry to every sink.
fn emit(st: &mut State, db: usize, args: &[Bytes]) {
    if let Some(aof) = st.aof.as_mut() {
        aof.feed(db, args);
    }
    crate::replication::feed_command(st, Some(db), args);
}

/// Writes a unit of one entry (no MULTI/EXEC).
pub fn emit_one(st: &mut State, db: usize, args: &[Bytes]) {
    emit(st, db, args);
}

/// Writes a unit of entries, wrapped in MULTI/EXEC when there are several.
pub fn emit_unit(st: &mut State, ops: Vec<Op>) {
    if ops.is_empty() || !active(st) {
        return;
    }
    let wrap = ops.len() > 1;
    if wrap {
        // MULTI and EXEC carry no database: no SELECT for them
        emit_nodb(st, "MULTI");
    }
    for (db, args) in ops {
        emit(st, db, &args);
    }
    if wrap {
        emit_nodb(st, "EXEC");
    }
}

fn emit_nodb(st: &mut State, name: &'static str) {
    let args = [Bytes::from_static(name.as_bytes())];
    if let Some(aof) = st.aof.as_mut() {
        aof.feed_nodb(&args);
    }
    crate::replication::feed_command(st, None, &args);
}

/// Adds an entry to the running command's unit.
pub fn also(st: &mut State, db: usize, args: Vec<Bytes>) {
    st.prop.pending.push((db, args));
}

/// Ends a top-level command: writes its unit.
pub fn end_command(st: &mut State) {
    if st.prop.depth == 0 && !st.prop.pending.is_empty() {
        let ops = std::mem::take(&mut st.prop.pending);
        emit_unit(st, ops);
    }
}

/// `DEL key` for every key that expired since the last call: added to
/// the running command's unit (`in_command`, lazy expiry) or written as
/// units of their own (the active cycle).
pub fn expired_keys(st: &mut State, in_command: bool) {
    if !active(st) {
        for db in st.dbs.iter_mut() {
            db.expired_propagated = db.expired.len();
        }
        return;
    }
    let lazy_free = st.config.get("lazyfree-lazy-expire") == Some("yes");
    let verb = Bytes::from_static(if lazy_free { b"UNLINK" } else { b"DEL" });
    for i in 0..st.dbs.len() {
        let from = st.dbs[i].expired_propagated;
        let to = st.dbs[i].expired.len();
        if from >= to {
            continue;
        }
        for j in from..to {
            let key = st.dbs[i].expired[j].clone();
            if in_command {
                also(st, i, vec![verb.clone(), key]);
            } else {
                emit(st, i, &[verb.clone(), key]);
            }
        }
        st.dbs[i].expired_propagated = to;
    }
}

/// `*<n>\r\n$<len>\r\n<arg>\r\n...`: a command as RESP2 multibulk.
pub fn encode_command(out: &mut Vec<u8>, args: &[Bytes]) {
    out.push(b'*');
    put_decimal(out, args.len() as u64);
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        put_decimal(out, a.len() as u64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `n` in decimal without allocating.
fn put_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_encode_as_resp2_multibulk() {
        let mut out = Vec::new();
        encode_command(
            &mut out,
            &[
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"k"),
                Bytes::from(vec![b'x'; 1234]),
            ],
        );
        let want = format!(
            "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1234\r\n{}\r\n",
            "x".repeat(1234)
        );
        assert_eq!(out, want.as_bytes());
        let mut z = Vec::new();
        put_decimal(&mut z, 0);
        put_decimal(&mut z, u64::MAX);
        assert_eq!(z, format!("0{}", u64::MAX).as_bytes());
    }
}
