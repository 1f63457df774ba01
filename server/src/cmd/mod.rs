//! Commands: the one command table (name, arity, flags, key positions,
//! handler) used by dispatch, COMMAND, ACL and replication, the
//! execution context handed to handlers, and the dispatcher that applies
//! Redis's checks in Redis's order (unknown command, arity, auth, ACL
//! permissions, MULTI queueing, pub/sub context, client pause) before
//! running a handler.

pub mod acl;
mod acl_data;
pub mod bitmaps;
pub mod connection;
mod docs_data;
pub mod geo;
pub mod hashes;
pub mod hll;
pub mod keys;
pub mod lists;
pub mod pubsub;
pub mod replication;
pub mod server;
pub mod sets;
pub mod sort;
pub mod strings;
pub mod transactions;
pub mod zsets;

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use picket_common::num::parse_i64;
use picket_common::resp::Frame;
use tokio::sync::oneshot;

use crate::db::{Db, Entry, Value, WRONGTYPE};
use crate::pubsub::notify_keyspace_event;
use crate::state::{ClientInfo, ReplyMode, Shared, State};

/// What a handler returns: the reply, or an error reply (so `?` works).
pub type CmdResult = Result<Frame, Frame>;
/// A command implementation.
pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;

/// Command flags, named as COMMAND INFO prints them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLEKEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const SENTINEL: u32 = 1 << 17;
    /// Not allowed while a replica loads asynchronously (shown by COMMAND
    /// INFO; picket-server does not load asynchronously).
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    /// Names in COMMAND INFO order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (SENTINEL, "sentinel"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// A subcommand row: (name, arity, flags).
pub type SubCmd = (&'static str, i32, u32);
/// Finds the key positions of a command line with movable keys.
pub type GetKeys = fn(&[Bytes]) -> Vec<usize>;

/// One row of the command table.
#[derive(Debug)]
pub struct Cmd {
    /// Lowercase name.
    pub name: &'static str,
    /// Redis arity: positive = exact, negative = at least -arity.
    pub arity: i32,
    /// [`flags`] bits.
    pub flags: u32,
    /// First key position (0 = no keys).
    pub first_key: i32,
    /// Last key position (-1 = last argument).
    pub last_key: i32,
    /// Step between keys.
    pub step: i32,
    /// Command group for COMMAND DOCS ("string", "list", ...).
    pub group: &'static str,
    /// The implementation.
    pub handler: Handler,
    /// Subcommands (name, arity, flags) for COMMAND INFO / DOCS.
    pub subs: &'static [SubCmd],
    /// Key positions for commands whose keys move (numkeys arguments).
    pub getkeys: Option<GetKeys>,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("client", &self.client.id)
            .finish()
    }
}

/// Shorthand for table rows.
#[macro_export]
macro_rules! cmd {
    ($name:expr, $arity:expr, $flags:expr, $f:expr, $l:expr, $s:expr, $group:expr, $h:expr) => {
        $crate::cmd::Cmd {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $f,
            last_key: $l,
            step: $s,
            group: $group,
            handler: $h,
            subs: &[],
            getkeys: None,
        }
    };
    ($name:expr, $arity:expr, $flags:expr, $f:expr, $l:expr, $s:expr, $group:expr, $h:expr, subs = $subs:expr) => {
        $crate::cmd::Cmd {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $f,
            last_key: $l,
            step: $s,
            group: $group,
            handler: $h,
            subs: $subs,
            getkeys: None,
        }
    };
    ($name:expr, $arity:expr, $flags:expr, $f:expr, $l:expr, $s:expr, $group:expr, $h:expr, getkeys = $gk:expr) => {
        $crate::cmd::Cmd {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $f,
            last_key: $l,
            step: $s,
            group: $group,
            handler: $h,
            subs: &[],
            getkeys: Some($gk),
        }
    };
}

/// The whole table, built once.
pub fn table() -> &'static HashMap<&'static str, &'static Cmd, ahash::RandomState> {
    static T: OnceLock<HashMap<&'static str, &'static Cmd, ahash::RandomState>> = OnceLock::new();
    T.get_or_init(|| {
        let mut m = HashMap::default();
        for family in [
            connection::COMMANDS,
            keys::COMMANDS,
            strings::COMMANDS,
            bitmaps::COMMANDS,
            lists::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            sort::COMMANDS,
            zsets::COMMANDS,
            hll::COMMANDS,
            geo::COMMANDS,
            pubsub::COMMANDS,
            transactions::COMMANDS,
            server::COMMANDS,
            replication::COMMANDS,
            acl::COMMANDS,
        ] {
            for c in family {
                m.insert(c.name, c);
            }
        }
        m
    })
}

/// Looks a command up by (any-case) name.
pub fn lookup(name: &[u8]) -> Option<&'static Cmd> {
    let mut buf = [0u8; 32];
    if name.len() > buf.len() {
        return None;
    }
    for (i, b) in name.iter().enumerate() {
        buf[i] = b.to_ascii_lowercase();
    }
    let s = std::str::from_utf8(&buf[..name.len()]).ok()?;
    table().get(s).copied()
}

/// What the connection must do after a command, beyond writing its reply.
pub enum Flow {
    /// Go on with the next request.
    Continue,
    /// Wait for a blocked command to be served or to time out.
    Block {
        /// Receives the reply when another client serves the key.
        rx: oneshot::Receiver<Frame>,
        /// When to give up (None = forever).
        deadline: Option<Instant>,
        /// The reply on timeout.
        timeout_reply: Frame,
    },
    /// Write the reply, then close (QUIT, protocol error, CLIENT KILL self).
    Close,
    /// The command must wait for CLIENT UNPAUSE; run it (these args) again afterwards.
    Paused(picket_common::resp::Args),
    /// Stop the server (SHUTDOWN).
    Shutdown,
    /// The connection became a replica's link (PSYNC/SYNC): from now on
    /// it carries what the master queues for it.
    Replica {
        rx: tokio::sync::mpsc::UnboundedReceiver<crate::replication::ReplMsg>,
    },
    /// WAIT: the count of replicas that acknowledged `offset`, once enough
    /// did or at the deadline.
    Wait {
        rx: oneshot::Receiver<i64>,
        deadline: Option<Instant>,
        offset: i64,
    },
}

/// Everything a handler can reach while it runs. The state lock is held
/// for the whole call.
pub struct Ctx<'a> {
    /// The locked state.
    pub st: &'a mut State,
    /// The shared handle (run id, start time, signals).
    pub shared: &'a Shared,
    /// The calling client.
    pub client: &'a mut ClientInfo,
    /// Unix ms when the command started (one clock per command, as Redis's
    /// `commandTimeSnapshot`, so a command sees a key expire at most once).
    pub now: i64,
    /// LRU clock for accessed entries.
    pub lru: u32,
    /// What the connection does next.
    pub flow: Flow,
    /// Frames sent before the returned one (multi-frame replies: SUBSCRIBE).
    pub extra: Vec<Frame>,
    /// Send only `extra`, not the returned frame.
    pub no_reply: bool,
    /// Inside EXEC: blocking commands do not block.
    pub in_exec: bool,
    /// The connection's output buffer, when a hot command may write its
    /// reply there directly (not inside EXEC, replies on): saves building
    /// and copying a `Frame` for large values (GET).
    pub direct: Option<&'a mut BytesMut>,
    /// What the command propagates instead of its own arguments (its
    /// effects), set by [`Ctx::propagate_as`]; `Some(empty)` propagates
    /// nothing of its own (EXEC: its commands propagated themselves).
    pub propagate: Option<Vec<Vec<Bytes>>>,
}

/// The reply to writes after a failed background save (stop-writes-on-bgsave-error).
pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// `-ERR syntax error`
pub fn syntax_err() -> Frame {
    Frame::err("ERR syntax error")
}
/// `-ERR value is not an integer or out of range`
pub fn not_int() -> Frame {
    Frame::err("ERR value is not an integer or out of range")
}
/// `-ERR value is not a valid float`
pub fn not_float() -> Frame {
    Frame::err("ERR value is not a valid float")
}
/// `-WRONGTYPE ...`
pub fn wrongtype() -> Frame {
    Frame::err(WRONGTYPE)
}
/// `-ERR wrong number of arguments for '<name>' command`
pub fn wrong_arity(name: &str) -> Frame {
    Frame::err(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}
/// `-ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub fn unknown_sub(cmd: &str, sub: &[u8]) -> Frame {
    Frame::err(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        cmd.to_ascii_uppercase()
    ))
}

/// `addReplySubcommandSyntaxError`: a known subcommand with the wrong
/// number of arguments for its own parsing, or an unknown one (as typed).
pub fn sub_syntax_err(cmd: &str, sub: &[u8]) -> Frame {
    Frame::err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        cmd.to_ascii_uppercase()
    ))
}

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn arg_i64(a: &[u8]) -> Result<i64, Frame> {
    parse_i64(a).ok_or_else(not_int)
}

/// Parses a float argument (`ERR value is not a valid float`).
pub fn arg_f64(a: &[u8]) -> Result<f64, Frame> {
    picket_common::num::parse_f64(a).ok_or_else(not_float)
}

/// Whether an argument is a keyword, compared as Redis's `strcasecmp`
/// does: case-insensitively and only up to a NUL byte (`NX\0junk` is NX).
pub fn is(a: &[u8], kw: &str) -> bool {
    crate::persistence::aof_file::c_str(a).eq_ignore_ascii_case(kw.as_bytes())
}

/// Turns a list of byte strings into an array of bulk strings.
pub fn bulk_array<I: IntoIterator<Item = Bytes>>(it: I) -> Frame {
    Frame::Array(it.into_iter().map(Frame::Bulk).collect())
}

impl<'a> Ctx<'a> {
    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        let i = self.client.db;
        &mut self.st.dbs[i]
    }

    /// Looks a key up for reading: lazy expiry, LRU/LFU touch and
    /// keyspace_hits / keyspace_misses like `lookupKeyRead`.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.index_read(key)?;
        let i = self.client.db;
        self.st.dbs[i].dict.get_index_mut(idx).map(|(_, e)| e)
    }

    /// [`Ctx::lookup_read`] returning the key's position in the current db
    /// (so callers can borrow the entry and other `Ctx` fields at once).
    pub fn index_read(&mut self, key: &[u8]) -> Option<usize> {
        match self.index_write(key) {
            Some(idx) => {
                self.st.stats.keyspace_hits += 1;
                Some(idx)
            }
            None => {
                self.st.stats.keyspace_misses += 1;
                if self.st.config.notify_flags & crate::config::notify::KEY_MISS != 0 {
                    self.notify(crate::config::notify::KEY_MISS, "keymiss", key);
                }
                None
            }
        }
    }

    /// Looks a key up for writing (lazy expiry, LRU/LFU touch, no stats).
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let idx = self.index_write(key)?;
        let i = self.client.db;
        self.st.dbs[i].dict.get_index_mut(idx).map(|(_, e)| e)
    }

    /// [`Ctx::lookup_write`] returning the key's position in the current db.
    pub fn index_write(&mut self, key: &[u8]) -> Option<usize> {
        let (now, lru) = (self.now, self.lru);
        let i = self.client.db;
        let c = &self.st.config;
        let (lfu, factor, decay) = (c.lfu, c.lfu_log_factor, c.lfu_decay_time);
        let db = &mut self.st.dbs[i];
        let idx = db.live_index(key, now)?;
        if let Some((_, e)) = db.dict.get_index_mut(idx) {
            e.lru = if lfu {
                crate::db::lfu_touch(e.lru, now, factor, decay)
            } else {
                lru
            };
        }
        Some(idx)
    }

    /// Whether the stream of effects has a consumer (AOF, replicas): a
    /// handler builds rewritten arguments only then.
    pub fn propagating(&self) -> bool {
        crate::propagate::active(self.st)
    }

    /// Propagates these commands (in the current db) instead of the
    /// command as sent; several are written as one MULTI/EXEC unit.
    pub fn propagate_as(&mut self, ops: Vec<Vec<Bytes>>) {
        self.propagate = Some(ops);
    }

    /// Sends a keyspace notification for the current db.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.notify_db(class, event, key, db);
    }

    /// Sends a keyspace notification for a given db.
    pub fn notify_db(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        let flags = self.st.config.notify_flags;
        if flags & class != 0 {
            notify_keyspace_event(&self.st.pubsub, flags, class, event, key, db);
        }
    }

    /// A key of the current db was written: invalidates WATCH, counts a
    /// change, notifies, and wakes clients blocked on it.
    pub fn modified(&mut self, key: &[u8], class: u32, event: &str) {
        let db = self.client.db;
        self.modified_db(key, class, event, db);
    }

    /// [`Ctx::modified`] for a given db.
    pub fn modified_db(&mut self, key: &[u8], class: u32, event: &str, db: usize) {
        self.st.touch_watched(db, key, self.client);
        self.st.dirty += 1;
        self.notify_db(class, event, key, db);
        self.st.signal_ready(db, key);
    }

    /// Only invalidates WATCH (signalModifiedKey) for the current db.
    pub fn touch(&mut self, key: &[u8]) {
        let db = self.client.db;
        self.st.touch_watched(db, key, self.client);
    }

    /// Deletes a key of the current db, returning whether it existed.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        let now = self.now;
        let db = self.db();
        db.expire_if_needed(key, now);
        db.remove(key).is_some()
    }

    /// Reads a string value: `Ok(None)` when missing, WRONGTYPE otherwise.
    pub fn get_str(&mut self, key: &[u8]) -> Result<Option<&mut Vec<u8>>, Frame> {
        match self.lookup_read(key) {
            None => Ok(None),
            Some(Entry {
                value: Value::Str(s),
                ..
            }) => Ok(Some(s)),
            Some(_) => Err(wrongtype()),
        }
    }

    /// Asks the connection to block; the handler returns a placeholder.
    pub fn block(
        &mut self,
        keys: Vec<Bytes>,
        op: crate::blocking::BlockOp,
        timeout: Option<Duration>,
        timeout_reply: Frame,
    ) {
        let (tx, rx) = oneshot::channel();
        let id = self.client.id;
        let db = self.client.db;
        for k in &keys {
            self.st
                .blocking_keys
                .entry((db, k.clone()))
                .or_default()
                .push_back(id);
        }
        self.st.blocked.insert(
            id,
            crate::state::Blocked {
                db,
                keys,
                op,
                tx,
                timeout_reply: timeout_reply.clone(),
            },
        );
        self.client.blocked = true;
        // the reply comes when the client is served or times out
        self.no_reply = true;
        self.flow = Flow::Block {
            rx,
            deadline: timeout.map(|t| Instant::now() + t),
            timeout_reply,
        };
    }
}

/// Parses a blocking timeout in seconds exactly like Redis (long double
/// seconds × 1000 truncated to ms; "ERR timeout is negative", "ERR timeout
/// is not a float or out of range").
pub fn parse_timeout(a: &[u8]) -> Result<Option<Duration>, Frame> {
    crate::longdouble::parse_timeout(a)
}

fn client_allowed_in_subscribed_resp2(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// Runs one request for `client` with the state locked, appending the
/// encoded reply to `out`. This is Redis's `processCommand` + `call`.
pub fn execute(
    shared: &Shared,
    st: &mut State,
    client: &mut ClientInfo,
    args: picket_common::resp::Args,
    out: &mut BytesMut,
) -> Flow {
    if args.is_empty() {
        return Flow::Continue;
    }
    client.last_interaction = st.batch_instant;
    let Some(cmd) = lookup(&args[0]) else {
        let mut msg = format!(
            "ERR unknown command '{}', with args beginning with: ",
            String::from_utf8_lossy(&args[0][..args[0].len().min(128)])
        );
        for a in args.iter().skip(1) {
            if msg.len() >= 128 {
                break;
            }
            msg.push_str(&format!(
                "'{}' ",
                String::from_utf8_lossy(&a[..a.len().min(128 - msg.len().min(128))])
            ));
        }
        return refuse(st, client, None, Frame::err(msg), out);
    };
    // CLIENT LIST's cmd= is the command's or subcommand's full name (a
    // command without subcommands is its own, no lookup needed)
    client.last_cmd = if cmd.subs.is_empty() {
        cmd.name
    } else {
        match acl::cmd_id(cmd, &args) {
            Some(id) => acl::fullname(id),
            None => cmd.name,
        }
    };
    if (cmd.arity > 0 && args.len() as i32 != cmd.arity) || (args.len() as i32) < -cmd.arity {
        return refuse(st, client, Some(cmd), wrong_arity(cmd.name), out);
    }
    if !cmd.subs.is_empty() && args.len() >= 2 {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if let Some((name, arity, _)) = cmd.subs.iter().find(|(n, _, _)| *n == sub) {
            if (*arity > 0 && args.len() as i32 != *arity) || (args.len() as i32) < -*arity {
                let e = wrong_arity(&format!("{}|{}", cmd.name, name));
                return refuse(st, client, Some(cmd), e, out);
            }
        }
    }
    if !client.authenticated && cmd.flags & flags::NO_AUTH == 0 {
        let e = Frame::err("NOAUTH Authentication required.");
        return refuse(st, client, Some(cmd), e, out);
    }
    if client.multi.is_some() && cmd.flags & flags::NO_MULTI != 0 {
        let e = Frame::err("ERR Command not allowed inside a transaction");
        return refuse(st, client, Some(cmd), e, out);
    }
    if let Err((d, name)) = acl::check(st, client, cmd, &args, false) {
        return refuse(st, client, Some(cmd), Frame::err(d.noperm(name)), out);
    }
    if client.multi.is_some()
        && !matches!(
            cmd.name,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        if let Some(q) = client.multi.as_mut() {
            q.push(crate::state::Queued {
                cmd,
                args: args.into_vec(),
            });
        }
        emit(client, Frame::Simple("QUEUED".into()), out);
        return Flow::Continue;
    }
    if client.resp == 2 && client.subscribed() && !client_allowed_in_subscribed_resp2(cmd.name) {
        reject(
            st,
            client,
            Some(cmd),
            Frame::err(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                cmd.name
            )),
            out,
        );
        return Flow::Continue;
    }
    if st.loading && cmd.flags & flags::LOADING == 0 {
        reject(
            st,
            client,
            Some(cmd),
            Frame::err("LOADING Redis is loading the dataset in memory"),
            out,
        );
        return Flow::Continue;
    }
    if !st.rdb_last_save_ok
        && (cmd.flags & flags::WRITE != 0 || cmd.name == "ping")
        && !st.config.save_params.is_empty()
        && st.config.get("stop-writes-on-bgsave-error") == Some("yes")
    {
        reject(st, client, Some(cmd), Frame::err(MISCONF), out);
        return Flow::Continue;
    }
    if st.aof.as_ref().is_some_and(|a| a.write_error.is_some())
        && (cmd.flags & flags::WRITE != 0 || cmd.name == "ping")
    {
        let e = crate::persistence::aof::misconf(st).unwrap_or_default();
        reject(st, client, Some(cmd), Frame::err(e), out);
        return Flow::Continue;
    }
    if cmd.flags & flags::WRITE != 0 && crate::replication::master::too_few_replicas(st) {
        reject(
            st,
            client,
            Some(cmd),
            Frame::err("NOREPLICAS Not enough good replicas to write."),
            out,
        );
        return Flow::Continue;
    }
    if let Some(m) = st.repl.master.as_ref() {
        if cmd.flags & flags::WRITE != 0 && st.config.get("replica-read-only") != Some("no") {
            reject(
                st,
                client,
                Some(cmd),
                Frame::err("READONLY You can't write against a read only replica."),
                out,
            );
            return Flow::Continue;
        }
        if m.state != crate::replication::LinkState::Connected
            && cmd.flags & flags::STALE == 0
            && st.config.get("replica-serve-stale-data") == Some("no")
        {
            reject(
                st,
                client,
                Some(cmd),
                Frame::err("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
                out,
            );
            return Flow::Continue;
        }
    }
    if let Some(p) = st.pause {
        if p.until_ms <= crate::state::now_ms() {
            st.pause = None;
        } else if !p.writes_only || cmd.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0 {
            // Redis 7.0 also pauses EVAL/PUBLISH-like may-replicate commands
            // in WRITE mode; the request is retried once the pause ends.
            return Flow::Paused(args);
        }
    }
    // a coordinated FAILOVER pauses writes with a pause of its own
    // (CLIENT UNPAUSE does not end it)
    if cmd.flags & (flags::WRITE | flags::MAY_REPLICATE) != 0
        && crate::replication::failover::pauses_writes(st)
    {
        return Flow::Paused(args);
    }
    let direct = if client.reply_mode == ReplyMode::On {
        Some(&mut *out)
    } else {
        None
    };
    let (reply, flow, extra, no_reply) = call_with(shared, st, client, cmd, &args, false, direct);
    for f in extra {
        emit(client, f, out);
    }
    if !no_reply {
        emit(client, reply, out);
    }
    after_command(st, Some(client));
    flow
}

/// Runs a handler with stats, slowlog and MONITOR feeding (Redis's `call`).
pub fn call(
    shared: &Shared,
    st: &mut State,
    client: &mut ClientInfo,
    cmd: &'static Cmd,
    args: &[Bytes],
    in_exec: bool,
) -> (Frame, Flow, Vec<Frame>, bool) {
    call_with(shared, st, client, cmd, args, in_exec, None)
}

/// [`call`] with the output buffer for commands that write their reply
/// directly (see [`Ctx::direct`]).
pub fn call_with(
    shared: &Shared,
    st: &mut State,
    client: &mut ClientInfo,
    cmd: &'static Cmd,
    args: &[Bytes],
    in_exec: bool,
    direct: Option<&mut BytesMut>,
) -> (Frame, Flow, Vec<Frame>, bool) {
    // Time: the wall clock is read once per batch; per command only the
    // cycle counter is read (clock_gettime per command was ~8% of a
    // pipelined GET profile).
    let start = st.last_raw;
    let now = st.batch_ms + (st.clock.delta_as_nanos(st.batch_raw, start) / 1_000_000) as i64;
    // With an LFU policy the entry's clock field holds Redis's LFU data
    // (minutes << 8 | log counter); new keys start at LFU_INIT_VAL.
    let lru = if st.config.lfu {
        crate::db::lfu_init(now)
    } else {
        st.batch_lru
    };
    let mut ctx = Ctx {
        st,
        shared,
        client,
        now,
        lru,
        flow: Flow::Continue,
        extra: Vec::new(),
        no_reply: false,
        in_exec,
        direct,
        propagate: None,
    };
    let dirty_before = ctx.st.dirty;
    let db_before = ctx.client.db;
    ctx.st.prop.depth += 1;
    let reply = match (cmd.handler)(&mut ctx, args) {
        Ok(f) => f,
        Err(f) => f,
    };
    let Ctx {
        flow,
        extra,
        no_reply,
        propagate,
        ..
    } = ctx;
    st.prop.depth -= 1;
    if crate::propagate::active(st) {
        // keys the command found expired go first, in its unit
        crate::propagate::expired_keys(st, true);
        match propagate {
            Some(ops) => {
                for op in ops {
                    crate::propagate::also(st, db_before, op);
                }
            }
            // (only growth counts: SAVE and SHUTDOWN reset the counter)
            None if st.dirty > dirty_before => {
                if st.prop.depth == 0 && st.prop.pending.is_empty() {
                    // the common case, a lone top-level write: no copy
                    crate::propagate::emit_one(st, db_before, args);
                } else {
                    crate::propagate::also(st, db_before, args.to_vec());
                }
            }
            None => {}
        }
        crate::propagate::end_command(st);
    }
    let end = st.clock.raw();
    st.last_raw = end;
    let usec = st.clock.delta_as_nanos(start, end) / 1000;
    st.stats.total_commands_processed += 1;
    let stat = if cmd.subs.is_empty() {
        match st.command_stats.get_mut(cmd.name) {
            Some(s) => s,
            None => st.command_stats.entry(cmd.name.to_string()).or_default(),
        }
    } else {
        st.command_stats.entry(stat_name(cmd, args)).or_default()
    };
    stat.calls += 1;
    stat.usec += usec;
    if let Frame::Error(e) = &reply {
        stat.failed_calls += 1;
        count_error(st, e);
    }
    if st.config.latency_tracking {
        let ns = st.clock.delta_as_nanos(start, end) as i64;
        let h = if cmd.subs.is_empty() {
            match st.latency.get_mut(cmd.name) {
                Some(h) => h,
                None => st.latency.entry(cmd.name.to_string()).or_default(),
            }
        } else {
            st.latency.entry(stat_name(cmd, args)).or_default()
        };
        h.record(ns);
    }
    let shown = redacted(cmd, args);
    let shown = shown.as_deref().unwrap_or(args);
    if cmd.flags & flags::SKIP_SLOWLOG == 0 {
        st.slowlog_push(shown, usec, client);
    }
    if !st.monitors.is_empty() && own_flags(cmd, args) & (flags::SKIP_MONITOR | flags::ADMIN) == 0 {
        feed_monitors(st, client, shown);
    }
    (reply, flow, extra, no_reply)
}

/// The flags of the command or, for a container, of the subcommand it
/// runs (Redis's `c->cmd` is the subcommand: CONFIG SET is an admin
/// command, CONFIG itself is not).
fn own_flags(cmd: &Cmd, args: &[Bytes]) -> u32 {
    if cmd.subs.is_empty() || args.len() < 2 {
        return cmd.flags;
    }
    cmd.subs
        .iter()
        .find(|(n, _, _)| n.as_bytes().eq_ignore_ascii_case(&args[1]))
        .map_or(cmd.flags, |(_, _, f)| *f)
}

/// The directives whose values CONFIG SET hides (`SENSITIVE_CONFIG`).
const SENSITIVE_CONFIGS: &[&str] = &[
    "requirepass",
    "masterauth",
    "masteruser",
    "tls-key-file-pass",
    "tls-client-key-file-pass",
];

/// The arguments SLOWLOG and MONITOR show, with secrets replaced by
/// `(redacted)` where Redis's commands call `redactClientCommandArgument`:
/// AUTH's arguments, HELLO's AUTH pair, everything after ACL SETUSER, and
/// the values of sensitive directives in CONFIG SET. `None`: nothing to
/// hide.
fn redacted(cmd: &Cmd, args: &[Bytes]) -> Option<Vec<Bytes>> {
    let mut hide: Vec<usize> = Vec::new();
    match cmd.name {
        // authCommand redacts only the two forms it accepts
        "auth" if args.len() <= 3 => hide.extend(1..args.len()),
        "hello" => {
            // after a valid protocol version, until the first bad option
            if args.len() >= 2 && !matches!(parse_i64(&args[1]), Some(2 | 3)) {
                return None;
            }
            let mut j = 2;
            while j < args.len() {
                let more = args.len() - 1 - j;
                if is(&args[j], "auth") && more >= 2 {
                    hide.extend([j + 1, j + 2]);
                    j += 3;
                } else if is(&args[j], "setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
        "acl" if args.len() >= 3 && is(&args[1], "setuser") => hide.extend(2..args.len()),
        "config" if args.len() >= 4 && args.len().is_multiple_of(2) && is(&args[1], "set") => {
            for i in (2..args.len()).step_by(2) {
                let name = String::from_utf8_lossy(&args[i]).to_ascii_lowercase();
                let sensitive = picket_common::directives::find(&name)
                    .is_some_and(|d| SENSITIVE_CONFIGS.contains(&d.name));
                if sensitive {
                    hide.push(i + 1);
                }
            }
        }
        _ => return None,
    }
    if hide.is_empty() {
        return None;
    }
    let mut out = args.to_vec();
    for i in hide {
        out[i] = Bytes::from_static(b"(redacted)");
    }
    Some(out)
}

fn stat_name(cmd: &Cmd, args: &[Bytes]) -> String {
    if !cmd.subs.is_empty() && args.len() > 1 {
        let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        if cmd.subs.iter().any(|(n, _, _)| *n == sub) {
            return format!("{}|{}", cmd.name, sub);
        }
    }
    cmd.name.to_string()
}

fn count_error(st: &mut State, e: &str) {
    st.stats.total_error_replies += 1;
    let prefix = e.split(' ').next().unwrap_or("ERR").to_string();
    *st.error_stats.entry(prefix).or_insert(0) += 1;
}

/// `rejectCommand`: the error reply, and a transaction being queued is
/// marked to fail at EXEC (`flagTransaction`).
fn refuse(
    st: &mut State,
    client: &mut ClientInfo,
    cmd: Option<&Cmd>,
    f: Frame,
    out: &mut BytesMut,
) -> Flow {
    if client.multi.is_some() {
        client.multi_error = true;
    }
    reject(st, client, cmd, f, out);
    Flow::Continue
}

fn reject(
    st: &mut State,
    client: &mut ClientInfo,
    cmd: Option<&Cmd>,
    f: Frame,
    out: &mut BytesMut,
) {
    if let Frame::Error(e) = &f {
        count_error(st, e);
    }
    if let Some(c) = cmd {
        st.command_stats
            .entry(c.name.to_string())
            .or_default()
            .rejected_calls += 1;
    }
    emit(client, f, out);
}

/// Appends a reply unless CLIENT REPLY silenced it.
pub fn emit(client: &mut ClientInfo, f: Frame, out: &mut BytesMut) {
    match client.reply_mode {
        ReplyMode::On => f.encode(client.resp, out),
        ReplyMode::Off => {}
        ReplyMode::Skip => client.reply_mode = ReplyMode::SkipNext,
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::On,
    }
}

/// Work Redis does after every command: serve clients blocked on keys
/// that received data, and account for keys that expired while it ran.
pub fn after_command(st: &mut State, mut current: Option<&mut ClientInfo>) {
    crate::propagate::expired_keys(st, false);
    if !st.ready_keys.is_empty() {
        crate::blocking::serve_ready_keys(st);
        let served = std::mem::take(&mut st.served_keys);
        if let Some(c) = current.as_deref_mut() {
            if served.iter().any(|k| c.watched.contains(k)) {
                c.dirty_cas = true;
            }
        }
    }
    for i in 0..st.dbs.len() {
        if st.dbs[i].expired.is_empty() {
            continue;
        }
        crate::propagate::expired_keys(st, false);
        st.dbs[i].expired_propagated = 0;
        let expired = std::mem::take(&mut st.dbs[i].expired);
        for k in expired {
            st.stats.expired_keys += 1;
            let flags = st.config.notify_flags;
            notify_keyspace_event(
                &st.pubsub,
                flags,
                crate::config::notify::EXPIRED,
                "expired",
                &k,
                i,
            );
            if let Some(ids) = st.watched.get(&(i, k.clone())) {
                for id in ids.clone() {
                    match current.as_deref_mut() {
                        // the running client is out of the table while it runs
                        Some(c) if c.id == id => c.dirty_cas = true,
                        _ => {
                            if let Some(c) = st.clients.get_mut(&id) {
                                c.dirty_cas = true;
                            }
                        }
                    }
                }
            }
        }
    }
}

fn feed_monitors(st: &mut State, client: &ClientInfo, args: &[Bytes]) {
    let us = crate::state::now_us();
    let mut line = format!(
        "{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        client.addr
    );
    for a in args {
        line.push(' ');
        line.push('"');
        for &b in a.iter() {
            match b {
                b'\\' => line.push_str("\\\\"),
                b'"' => line.push_str("\\\""),
                b'\n' => line.push_str("\\n"),
                b'\r' => line.push_str("\\r"),
                b'\t' => line.push_str("\\t"),
                7 => line.push_str("\\a"),
                8 => line.push_str("\\b"),
                b if b.is_ascii_graphic() || b == b' ' => line.push(b as char),
                b => line.push_str(&format!("\\x{:02x}", b)),
            }
        }
        line.push('"');
    }
    let f = Frame::Simple(line);
    st.monitors.retain(|_, tx| tx.send(f.clone()));
}
