//! Shared server state and the handle connections use to reach it.
//!
//! Execution model: every connection is a tokio task that reads and parses
//! requests on its own, then takes the one `Mutex<State>` and executes the
//! whole batch of requests it has read (pipelining) before releasing it.
//! Holding one lock while a command runs gives the same guarantees as
//! Redis's single thread: each command is atomic, and the order in which
//! commands take the lock is the one total order of writes that the
//! replication stream and the AOF will follow. The lock is a plain
//! `std::sync::Mutex`: it is never held across an `.await` (the guard is
//! not `Send`, so the compiler enforces it), and critical sections are
//! short, so a blocking mutex is cheaper than an async one.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use indexmap::IndexMap;
use picket_common::resp::Frame;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::config::Config;
use crate::db::Db;

/// Milliseconds since the unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Microseconds since the unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

/// The handle every task holds.
pub struct Shared {
    state: Mutex<State>,
    /// 40 hex chars, new at every start (INFO run_id).
    pub run_id: String,
    /// Listeners bound by CONFIG SET port/bind, handed to the accept loop.
    pub rebind_tx: mpsc::UnboundedSender<Vec<std::net::TcpListener>>,
    /// Receiving end of `rebind_tx`, taken once by the server loop.
    pub rebind_rx: Mutex<Option<mpsc::UnboundedReceiver<Vec<std::net::TcpListener>>>>,
    /// When the server started.
    pub started: Instant,
    /// Wakes paused clients when CLIENT UNPAUSE runs or a pause ends.
    pub unpaused: Notify,
    /// Signals the accept loop and cron to stop.
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// Creates the handle.
    pub fn new(config: Config) -> Arc<Shared> {
        let run_id = random_hex(40);
        let (tx, _rx) = tokio::sync::watch::channel(false);
        let (rebind_tx, rebind_rx) = mpsc::unbounded_channel();
        Arc::new(Shared {
            state: Mutex::new(State::new(config)),
            run_id,
            rebind_tx,
            rebind_rx: Mutex::new(Some(rebind_rx)),
            started: Instant::now(),
            unpaused: Notify::new(),
            shutdown: tx,
        })
    }

    /// Locks the state. A panic while holding the lock poisons it; we keep
    /// serving (the data of a half-run command is still consistent enough
    /// to be read) rather than bringing every client down.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        match self.state.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The LRU clock (seconds since start), as stored in entries.
    pub fn lru_clock(&self) -> u32 {
        self.started.elapsed().as_secs() as u32
    }
}

/// Random lowercase hex string.
pub fn random_hex(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| std::char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Counters INFO stats prints.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections_received: u64,
    pub total_commands_processed: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub total_net_input_bytes: u64,
    pub total_net_output_bytes: u64,
    pub total_reads_processed: u64,
    pub total_writes_processed: u64,
    pub client_recent_max_input_buffer: u64,
    pub client_recent_max_output_buffer: u64,
    pub ops_samples: VecDeque<(Instant, u64)>,
}

/// Per-command counters (INFO commandstats).
#[derive(Debug, Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected_calls: u64,
    pub failed_calls: u64,
}

/// An entry of SLOWLOG.
#[derive(Debug, Clone)]
pub struct SlowlogEntry {
    pub id: u64,
    pub time: i64,
    pub duration_us: u64,
    pub args: Vec<Bytes>,
    pub addr: String,
    pub name: Bytes,
}

/// CLIENT PAUSE state.
#[derive(Debug, Clone, Copy)]
pub struct Pause {
    /// Unix ms when the pause ends.
    pub until_ms: i64,
    /// Pause only writes (`WRITE`) or everything (`ALL`).
    pub writes_only: bool,
}

/// What CLIENT REPLY set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    Skip,
    /// SKIP was just given: the command after it gets no reply.
    SkipNext,
}

/// A queued MULTI command.
#[derive(Debug, Clone)]
pub struct Queued {
    pub cmd: &'static crate::cmd::Cmd,
    pub args: Vec<Bytes>,
}

/// Everything the server knows about one client. The connection task
/// owns the socket; this record is what commands and CLIENT LIST see.
#[derive(Debug)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
    pub db: usize,
    pub resp: u8,
    /// The ACL user the connection is authenticated as (`default` until
    /// AUTH or HELLO AUTH names another).
    pub user: String,
    /// Redis's NULL user: the AOF loader's and the master link's clients
    /// run every command without a permission check.
    pub superuser: bool,
    pub authenticated: bool,
    pub created: Instant,
    pub last_interaction: Instant,
    pub multi: Option<Vec<Queued>>,
    /// A command failed to queue: EXEC must answer EXECABORT.
    pub multi_error: bool,
    pub watched: Vec<(usize, Bytes)>,
    /// A watched key was modified (CLIENT_DIRTY_CAS).
    pub dirty_cas: bool,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub shard_channels: HashSet<Bytes>,
    /// Out-of-band frames (pub/sub messages, MONITOR lines, blocked replies).
    pub push_tx: crate::push::PushSink,
    /// Notified to close the connection (CLIENT KILL, timeouts).
    pub kill: Arc<Notify>,
    pub killed: bool,
    pub reply_mode: ReplyMode,
    pub last_cmd: &'static str,
    pub qbuf: usize,
    pub no_evict: bool,
    pub monitor: bool,
    pub blocked: bool,
    pub close_after_reply: bool,
    /// A master or replica link (for CLIENT LIST flags / KILL TYPE).
    pub kind: ClientKind,
}

/// CLIENT KILL TYPE classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    Normal,
    Replica,
    Master,
}

impl ClientInfo {
    /// Whether the client is in pub/sub context (RESP2 restrictions).
    pub fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }
    /// Number of subscriptions of all kinds.
    pub fn sub_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// A client waiting in a blocking command.
#[derive(Debug)]
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Bytes>,
    pub op: crate::blocking::BlockOp,
    pub tx: oneshot::Sender<Frame>,
    /// What the client gets on timeout (or CLIENT UNBLOCK ... TIMEOUT).
    pub timeout_reply: Frame,
}

/// The state behind the lock.
pub struct State {
    pub config: Config,
    pub dbs: Vec<Db>,
    /// Boxed so taking the running client out of the table and back (every
    /// batch) moves a pointer, not the whole record.
    pub clients: HashMap<u64, Box<ClientInfo>, ahash::RandomState>,
    pub next_client_id: u64,
    pub pubsub: crate::pubsub::PubSub,
    /// (db, key) → clients blocked on it, in arrival order.
    pub blocking_keys: HashMap<(usize, Bytes), VecDeque<u64>>,
    pub blocked: HashMap<u64, Blocked>,
    /// Keys that received data while clients block on them.
    pub ready_keys: Vec<(usize, Bytes)>,
    /// (db, key) → clients watching it.
    pub watched: HashMap<(usize, Bytes), Vec<u64>>,
    pub stats: Stats,
    pub command_stats: IndexMap<String, CmdStat, ahash::RandomState>,
    /// `latency-tracking`: each command's (or subcommand's) run times.
    pub latency: HashMap<String, crate::latency::Histogram, ahash::RandomState>,
    pub error_stats: IndexMap<String, u64>,
    /// Changes since the last save (INFO rdb_changes_since_last_save).
    pub dirty: u64,
    pub lastsave: i64,
    /// Successful saves since start (INFO rdb_saves).
    pub rdb_saves: u64,
    /// Whether the last save succeeded (INFO rdb_last_bgsave_status).
    pub rdb_last_save_ok: bool,
    /// The data set is being loaded at start-up: commands without the
    /// `loading` flag answer `-LOADING`.
    pub loading: bool,
    /// The background save running now, if any.
    pub bgsave: Option<crate::persistence::BgSave>,
    /// BGSAVE SCHEDULE asked for a save while another child ran.
    pub bgsave_scheduled: bool,
    /// Duration of the last BGSAVE, seconds (-1 = none yet).
    pub rdb_last_bgsave_time_sec: i64,
    /// When the last failed save was tried (retry delay), unix ms.
    pub rdb_last_try_ms: i64,
    /// How long the last fork took (INFO latest_fork_usec).
    pub latest_fork_usec: u64,
    /// Forks so far (INFO total_forks).
    pub total_forks: u64,
    /// Keys loaded / skipped as expired by the start-up load.
    pub rdb_last_load: crate::persistence::LoadStats,
    pub pause: Option<Pause>,
    pub monitors: IndexMap<u64, crate::push::PushSink>,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    pub active_expire_enabled: bool,
    pub shutdown_asap: bool,
    /// The clock read once per batch of commands (reading the clock is a
    /// measurable cost per command): wall-clock ms and the matching instant.
    pub batch_ms: i64,
    pub batch_instant: Instant,
    /// The cheap cycle counter (TSC where invariant) for per-command timing.
    pub clock: quanta::Clock,
    /// `clock.raw()` at the batch's start.
    pub batch_raw: u64,
    /// `clock.raw()` when the previous command of the batch ended: the
    /// next command's start, so each command reads the counter once.
    pub last_raw: u64,
    /// LRU clock (seconds since start) of the batch.
    pub batch_lru: u32,
    /// Keys written while serving blocked clients (for WATCH of the running client).
    pub served_keys: Vec<(usize, Bytes)>,
    /// Propagation bookkeeping of the running command (crate::propagate).
    pub prop: crate::propagate::Propagation,
    /// The append-only file, when `appendonly yes`.
    pub aof: Option<crate::persistence::aof::Aof>,
    /// AOF rewrites (also with AOF off).
    pub aofrw: crate::persistence::aof::Rewriting,
    /// Replication: IDs, offsets, backlog, replicas, the master link.
    pub repl: crate::replication::Repl,
    /// The ACL users (`requirepass` is the default user's password).
    pub acl: picket_common::acl::Users,
    /// ACL LOG: refused commands and logins.
    pub acl_log: picket_common::acl::AclLog,
}

impl State {
    fn new(config: Config) -> State {
        let limits = crate::push::Limits::pubsub_from_config(
            config.get("client-output-buffer-limit").unwrap_or(""),
        );
        let repl_limits = crate::push::Limits::from_config(
            config.get("client-output-buffer-limit").unwrap_or(""),
            "replica",
        );
        let n = config.databases.max(1) as usize;
        // the users proper are loaded at start-up (cmd::acl::load_users);
        // until then the default user has `requirepass`
        let mut acl = picket_common::acl::Users::new();
        acl.pubsub_all = config.get("acl-pubsub-default") == Some("allchannels");
        acl.set_default_password(crate::cmd::acl::table(), config.requirepass.as_deref());
        State {
            acl,
            acl_log: Default::default(),
            dbs: (0..n).map(|_| Db::default()).collect(),
            config,
            clients: HashMap::default(),
            next_client_id: 1,
            pubsub: crate::pubsub::PubSub {
                limits,
                ..Default::default()
            },
            blocking_keys: HashMap::new(),
            blocked: HashMap::new(),
            ready_keys: Vec::new(),
            watched: HashMap::new(),
            stats: Stats::default(),
            command_stats: IndexMap::default(),
            latency: HashMap::default(),
            error_stats: IndexMap::new(),
            dirty: 0,
            lastsave: now_ms() / 1000,
            rdb_saves: 0,
            rdb_last_save_ok: true,
            rdb_last_load: Default::default(),
            loading: false,
            bgsave: None,
            bgsave_scheduled: false,
            rdb_last_bgsave_time_sec: -1,
            rdb_last_try_ms: 0,
            latest_fork_usec: 0,
            total_forks: 0,
            pause: None,
            monitors: IndexMap::new(),
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            active_expire_enabled: true,
            shutdown_asap: false,
            batch_ms: now_ms(),
            batch_instant: Instant::now(),
            clock: quanta::Clock::new(),
            batch_raw: 0,
            last_raw: 0,
            batch_lru: 0,
            served_keys: Vec::new(),
            prop: Default::default(),
            aof: None,
            aofrw: Default::default(),
            repl: crate::replication::Repl::with_limits(random_hex(40), repl_limits),
        }
    }

    /// Reads the clock for the batch of commands about to run.
    pub fn start_batch(&mut self, started: Instant) {
        self.batch_instant = Instant::now();
        self.batch_ms = now_ms();
        self.batch_raw = self.clock.raw();
        self.last_raw = self.batch_raw;
        self.batch_lru = self
            .batch_instant
            .saturating_duration_since(started)
            .as_secs() as u32;
    }

    /// Marks every client watching (db, key) as dirty (signalModifiedKey).
    pub fn touch_watched(&mut self, db: usize, key: &[u8], current: &mut ClientInfo) {
        if self.watched.is_empty() {
            return;
        }
        if let Some(ids) = self.watched.get(&(db, Bytes::copy_from_slice(key))) {
            for id in ids {
                if *id == current.id {
                    current.dirty_cas = true;
                } else if let Some(c) = self.clients.get_mut(id) {
                    c.dirty_cas = true;
                }
            }
        }
    }

    /// Marks every client watching any key of `db` (FLUSHDB, SWAPDB).
    pub fn touch_all_watched_in_db(&mut self, db: Option<usize>, current: &mut ClientInfo) {
        let ids: Vec<u64> = self
            .watched
            .iter()
            .filter(|((d, _), _)| db.is_none_or(|x| x == *d))
            .flat_map(|(_, v)| v.iter().copied())
            .collect();
        for id in ids {
            if id == current.id {
                current.dirty_cas = true;
            } else if let Some(c) = self.clients.get_mut(&id) {
                c.dirty_cas = true;
            }
        }
    }

    /// Drops the WATCH registrations of a client.
    pub fn unwatch_all(&mut self, c: &mut ClientInfo) {
        for (db, key) in c.watched.drain(..) {
            if let Some(v) = self.watched.get_mut(&(db, key.clone())) {
                v.retain(|id| *id != c.id);
                if v.is_empty() {
                    self.watched.remove(&(db, key));
                }
            }
        }
        c.dirty_cas = false;
    }

    /// Records that a key got data that blocked clients may want.
    pub fn signal_ready(&mut self, db: usize, key: &[u8]) {
        if self.blocking_keys.is_empty() {
            return;
        }
        let k = (db, Bytes::copy_from_slice(key));
        if self.blocking_keys.contains_key(&k) && !self.ready_keys.contains(&k) {
            self.ready_keys.push(k);
        }
    }

    /// Removes a client from the blocking tables; returns its record.
    pub fn unblock(&mut self, id: u64) -> Option<Blocked> {
        let b = self.blocked.remove(&id)?;
        for k in &b.keys {
            let slot = (b.db, k.clone());
            if let Some(q) = self.blocking_keys.get_mut(&slot) {
                q.retain(|x| *x != id);
                if q.is_empty() {
                    self.blocking_keys.remove(&slot);
                }
            }
        }
        Some(b)
    }

    /// Adds a slow command to SLOWLOG when it ran past the threshold.
    pub fn slowlog_push(&mut self, args: &[Bytes], duration_us: u64, c: &ClientInfo) {
        let threshold = self.config.slowlog_log_slower_than;
        if threshold < 0 || (duration_us as i64) < threshold {
            return;
        }
        let args: Vec<Bytes> = args
            .iter()
            .take(32)
            .enumerate()
            .map(|(i, a)| {
                if i == 31 && args.len() > 32 {
                    Bytes::from(format!("... ({} more arguments)", args.len() - 31))
                } else if a.len() > 128 {
                    let mut v = a[..128].to_vec();
                    v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                    Bytes::from(v)
                } else {
                    a.clone()
                }
            })
            .collect();
        self.slowlog.push_front(SlowlogEntry {
            id: self.slowlog_next_id,
            time: now_ms() / 1000,
            duration_us,
            args,
            addr: c.addr.clone(),
            name: c.name.clone().unwrap_or_default(),
        });
        self.slowlog_next_id += 1;
        while self.slowlog.len() > self.config.slowlog_max_len.max(0) as usize {
            self.slowlog.pop_back();
        }
    }
}
