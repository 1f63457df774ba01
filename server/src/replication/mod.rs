//! Master/replica replication in the Redis 7.0 sense
//! (`shared/reference/replication.md`): replication IDs and offsets, the
//! backlog, the stream fed to replicas, INFO replication and ROLE.
//!
//! - [`backlog`]: the ring of recent stream bytes for partial resync.
//! - [`master`]: the master's side: REPLCONF, PSYNC/SYNC, full sync by a
//!   forked child (disk or diskless), serving replica connections, ACKs,
//!   WAIT, min-replicas, the replication cron.
//! - [`replica`]: the replica's side: the link to the master (handshake,
//!   PSYNC, loading the payload, applying the stream, ACKs).
//! - [`failover`]: the FAILOVER command's state machine (pause writes,
//!   wait for the target, switch roles with `PSYNC ... FAILOVER`).
//!
//! The stream is fed from [`crate::propagate`] on a master; a replica
//! forwards exactly the bytes it applied (cascading replicas see the same
//! stream and offsets as their master's replicas).

pub mod backlog;
pub mod failover;
pub mod master;
pub mod replica;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use indexmap::IndexMap;
use tokio::sync::{mpsc, Notify};

use crate::state::State;
use backlog::Backlog;

/// Redis's default client-output-buffer-limit.
const DEFAULT_LIMITS: &str = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";

/// 40 zeros: "no secondary ID".
pub const NO_REPLID: &str = "0000000000000000000000000000000000000000";

/// What a replica connection's writer receives.
#[derive(Debug)]
pub enum ReplMsg {
    /// Stream bytes (counted against the output buffer limit).
    Stream(Bytes),
    /// Handshake lines and the RDB payload (not counted, as in Redis).
    Payload(Bytes),
}

/// The sending side of a replica's queue. It counts the messages not yet
/// written to the socket, so [`flush_out`] knows when it may write to the
/// socket itself without overtaking them.
#[derive(Debug, Clone)]
pub struct ReplTx {
    tx: mpsc::UnboundedSender<ReplMsg>,
    pub inflight: Arc<AtomicU64>,
}

impl ReplTx {
    pub fn new(tx: mpsc::UnboundedSender<ReplMsg>) -> ReplTx {
        ReplTx {
            tx,
            inflight: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Queues `m`; false when the replica's task is gone.
    pub fn send(&self, m: ReplMsg) -> bool {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let ok = self.tx.send(m).is_ok();
        if !ok {
            self.inflight.fetch_sub(1, Ordering::AcqRel);
        }
        ok
    }
}

/// The socket of an online replica, shared by its task (which writes what
/// is queued) and [`flush_out`] (which writes the stream directly when
/// nothing is queued, so the bytes reach the kernel before the replies of
/// the commands that produced them, as in Redis's `beforeSleep`).
pub type ReplWriter = Arc<tokio::sync::Mutex<tokio::net::tcp::OwnedWriteHalf>>;

/// How many deferred flushes have been done; replies to writes wait for
/// theirs when the send is left to the park hook.
#[derive(Debug, Default)]
pub struct FlushMark {
    done: std::sync::atomic::AtomicI64,
    notify: Notify,
}

impl FlushMark {
    /// Returns once deferred flush number `target` has been done.
    pub async fn wait(&self, target: i64) {
        loop {
            let n = self.notify.notified();
            tokio::pin!(n);
            n.as_mut().enable();
            if self.done.load(Ordering::Acquire) >= target {
                return;
            }
            n.await;
        }
    }

    fn store_and_wake(&self, seq: i64) {
        self.done.store(seq, Ordering::Release);
        self.notify.notify_waiters();
    }
}

/// Where a replica connection stands (INFO `state=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Waiting for a snapshot to start.
    WaitBgsaveStart,
    /// `+FULLRESYNC` sent; the snapshot is being produced (and, diskless,
    /// streamed); new stream bytes are held in `pending`.
    WaitBgsaveEnd,
    /// A disk snapshot is being sent.
    SendBulk,
    /// Diskless payload sent: the stream starts at the first ACK.
    WaitAck,
    /// Streaming.
    Online,
}

impl ReplicaState {
    fn info_name(self) -> &'static str {
        match self {
            ReplicaState::WaitBgsaveStart | ReplicaState::WaitBgsaveEnd => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::WaitAck | ReplicaState::Online => "online",
        }
    }
}

/// A replica connected to us.
#[derive(Debug)]
pub struct ReplicaConn {
    pub id: u64,
    /// REPLCONF ip-address, else the peer address.
    pub ip: String,
    /// REPLCONF listening-port (0 when never sent).
    pub port: u16,
    pub state: ReplicaState,
    pub ack_off: i64,
    pub ack_time: Instant,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    pub tx: ReplTx,
    /// The socket, once its task runs (see [`ReplWriter`]).
    pub writer: Option<ReplWriter>,
    /// Stream bytes queued and not yet written.
    pub queued: Arc<AtomicU64>,
    /// Stream bytes produced while the full sync runs.
    pub pending: Vec<u8>,
    /// When it started waiting for a snapshot.
    pub since: Instant,
    /// Since when the queue is above the soft limit.
    pub soft_since: Option<Instant>,
    /// Came with SYNC (the pre-PSYNC protocol): no +FULLRESYNC line.
    pub old_sync: bool,
    pub kill: Arc<Notify>,
}

/// The replica link's state (ROLE): none, connect, connecting,
/// handshake, sync, connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Sync,
    Connected,
}

impl LinkState {
    pub fn name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Sync => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// We are a replica of this master.
#[derive(Debug)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Last data from the master.
    pub last_io: Option<Instant>,
    /// When an established link was lost (None: never up, or up now).
    pub down_since: Option<Instant>,
    /// Bytes received from the master (slave_read_repl_offset).
    pub read_offset: i64,
    /// Payload transfer progress: total (0 for EOF framing) and read.
    pub sync_total: u64,
    pub sync_read: u64,
    /// Ends the link task.
    pub kill: Arc<Notify>,
    /// Generation of the link task that owns this link.
    pub gen: u64,
    /// The link task is running.
    pub running: bool,
    /// Send `PSYNC <replid> <offset+1> FAILOVER`: we are the old master
    /// handing over to this one (a coordinated FAILOVER in progress).
    pub failover: bool,
}

/// A client blocked in WAIT.
#[derive(Debug)]
pub struct Waiter {
    pub client: u64,
    pub offset: i64,
    pub numreplicas: usize,
    pub tx: tokio::sync::oneshot::Sender<i64>,
}

/// Replication state (inside [`State`]).
#[derive(Debug)]
pub struct Repl {
    pub replid: String,
    pub replid2: String,
    pub second_offset: i64,
    /// master_repl_offset.
    pub offset: i64,
    pub backlog: Option<Backlog>,
    /// The database the stream last selected.
    pub seldb: Option<usize>,
    pub replicas: IndexMap<u64, ReplicaConn>,
    /// Since when there are no replicas (backlog TTL).
    pub no_replicas_since: Option<Instant>,
    /// Some when we are a replica.
    pub master: Option<MasterLink>,
    /// Bumped whenever the master changes: older link tasks stop.
    pub link_gen: u64,
    /// We have a history to offer in PSYNC (after a sync, or as a former master).
    pub cached: bool,
    pub last_ping: Instant,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub waiters: Vec<Waiter>,
    /// A full sync in flight (diskless child streaming, or disk BGSAVE).
    pub fullsync: Option<master::FullSync>,
    /// Replicas with a recent enough ACK (min-replicas-to-write).
    pub good_replicas: usize,
    /// A GETACK should go out (WAIT blocked).
    pub getack_pending: bool,
    /// Wakes the replication supervisor (REPLICAOF, new replica).
    pub kick: Arc<Notify>,
    /// What connections announced with REPLCONF before their PSYNC.
    pub announce: std::collections::HashMap<u64, master::Announce>,
    /// The database the master's stream starts in (RDB aux repl-stream-db).
    pub master_db: usize,
    /// A coordinated FAILOVER, if one runs.
    pub failover: failover::Failover,
    /// Stream bytes of the current lock hold for the online replicas
    /// ([`flush_out`]).
    pub outbuf: Vec<u8>,
    /// How far [`flush_out`] has handed the stream over, counted in
    /// deferred flushes (`flush_seq`), which only grow.
    pub flushed: Arc<FlushMark>,
    pub flush_seq: i64,
    /// The replica class of client-output-buffer-limit, parsed.
    pub limits: crate::push::Limits,
    /// Encoding buffer reused by [`feed_command`].
    pub scratch: Vec<u8>,
}

impl Repl {
    /// With the replica output-buffer limits from the configuration.
    pub fn with_limits(replid: String, limits: crate::push::Limits) -> Repl {
        Repl {
            limits,
            ..Repl::new(replid)
        }
    }

    pub fn new(replid: String) -> Repl {
        Repl {
            replid,
            replid2: NO_REPLID.to_string(),
            second_offset: -1,
            offset: 0,
            backlog: None,
            seldb: None,
            replicas: IndexMap::new(),
            no_replicas_since: Some(Instant::now()),
            master: None,
            link_gen: 0,
            cached: false,
            last_ping: Instant::now(),
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            waiters: Vec::new(),
            fullsync: None,
            good_replicas: 0,
            getack_pending: false,
            kick: Arc::new(Notify::new()),
            announce: Default::default(),
            master_db: 0,
            failover: failover::Failover::default(),
            outbuf: Vec::new(),
            flushed: Arc::default(),
            flush_seq: 0,
            limits: crate::push::Limits::from_config(DEFAULT_LIMITS, "replica"),
            scratch: Vec::new(),
        }
    }

    /// The stream's database for the RDB aux `repl-stream-db`.
    pub fn master_db_for_rdb(&self) -> usize {
        if self.master.is_some() {
            self.master_db
        } else {
            self.seldb.unwrap_or(0)
        }
    }

    /// Whether we are a replica.
    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    /// The link to the master is up.
    pub fn link_up(&self) -> bool {
        self.master
            .as_ref()
            .is_some_and(|m| m.state == LinkState::Connected)
    }

    /// `repl_backlog_first_byte_offset`.
    pub fn backlog_first_byte(&self) -> i64 {
        match &self.backlog {
            Some(b) => self.offset - b.histlen() as i64 + 1,
            None => 0,
        }
    }

    /// Starts a new history (REPLICAOF NO ONE): the old ID stays valid
    /// as the secondary ID up to the current offset.
    pub fn shift_replid(&mut self) {
        self.replid2 = std::mem::replace(&mut self.replid, crate::state::random_hex(40));
        self.second_offset = self.offset + 1;
    }

    /// After loading an RDB that carries a replication position: a master
    /// keeps it as its secondary ID (so its replicas can continue
    /// partially after the restart), a replica as its cached master.
    pub fn restore(&mut self, info: &crate::persistence::ReplInfo, backlog_size: usize) {
        self.backlog = Some(Backlog::new(backlog_size));
        if self.master.is_some() {
            self.replid = info.id.clone();
            self.offset = info.offset;
            self.cached = true;
            self.master_db = info.stream_db;
        } else {
            self.replid2 = info.id.clone();
            self.second_offset = info.offset + 1;
            self.offset = info.offset;
            self.no_replicas_since = Some(Instant::now());
        }
    }

    /// A brand new history with no secondary ID.
    pub fn new_replid(&mut self) {
        self.replid = crate::state::random_hex(40);
        self.replid2 = NO_REPLID.to_string();
        self.second_offset = -1;
    }
}

/// Whether the stream has consumers (a backlog exists).
pub fn active(st: &State) -> bool {
    st.repl.backlog.is_some() && st.repl.master.is_none()
}

/// Appends raw stream bytes: backlog, offset, every replica.
pub fn feed_raw(st: &mut State, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let Some(b) = st.repl.backlog.as_mut() else {
        return;
    };
    b.feed(data);
    st.repl.offset += data.len() as i64;
    if st.repl.replicas.is_empty() {
        return;
    }
    let mut online = false;
    for r in st.repl.replicas.values_mut() {
        match r.state {
            ReplicaState::Online => online = true,
            ReplicaState::WaitBgsaveEnd | ReplicaState::SendBulk | ReplicaState::WaitAck => {
                r.pending.extend_from_slice(data)
            }
            ReplicaState::WaitBgsaveStart => {}
        }
    }
    if online {
        st.repl.outbuf.extend_from_slice(data);
    }
}

/// Set when a batch left stream bytes for the replicas: the park hook
/// sends them ([`before_sleep`]).
static OUT_PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the park hook has stream bytes to send.
pub fn has_work() -> bool {
    OUT_PENDING.load(std::sync::atomic::Ordering::Acquire)
}

/// End of a client batch: the stream bytes go out when the runtime is
/// about to park, together with every other batch of the tick (one
/// message per replica per tick, as Redis writes a replica's buffer once
/// per event-loop pass); a large amount goes at once.
pub fn flush_later(st: &mut State) -> Option<(Arc<FlushMark>, i64)> {
    if st.repl.outbuf.is_empty() {
        return None;
    }
    // (a busy multi-threaded runtime may not park soon: send now there)
    let single = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread);
    if st.repl.outbuf.len() >= 64 * 1024 || !single {
        flush_out(st);
        None
    } else {
        OUT_PENDING.store(true, std::sync::atomic::Ordering::Release);
        st.repl.flush_seq += 1;
        Some((st.repl.flushed.clone(), st.repl.flush_seq))
    }
}

/// The park hook's share: sends the stream bytes left by the tick's batches.
pub fn before_sleep(shared: &crate::state::Shared) {
    if OUT_PENDING.swap(false, std::sync::atomic::Ordering::AcqRel) {
        flush_out(&mut shared.lock());
    }
}

/// Sends what this lock hold appended to the stream to the online
/// replicas, as one message each (Redis writes a replica's output buffer
/// once per event-loop pass, not once per command). Called at the end of
/// every batch, and before any replica changes state, so a replica only
/// ever gets the bytes produced while it was online. When nothing is
/// queued for a replica the bytes are written to its socket here, so
/// they are in the kernel before any reply that depends on them leaves;
/// what the socket does not take is queued for its task.
pub fn flush_out(st: &mut State) {
    if st.repl.outbuf.is_empty() {
        return;
    }
    let bytes = Bytes::from(std::mem::take(&mut st.repl.outbuf));
    for r in st.repl.replicas.values_mut() {
        if r.state != ReplicaState::Online {
            continue;
        }
        let mut written = 0;
        if r.tx.inflight.load(Ordering::Acquire) == 0 {
            if let Some(w) = r.writer.as_ref().and_then(|w| w.try_lock().ok()) {
                while written < bytes.len() {
                    match w.try_write(&bytes[written..]) {
                        Ok(n) if n > 0 => written += n,
                        _ => break,
                    }
                }
            }
        }
        if written < bytes.len() {
            let rest = bytes.slice(written..);
            r.queued.fetch_add(rest.len() as u64, Ordering::Relaxed);
            let _ = r.tx.send(ReplMsg::Stream(rest));
        }
    }
    st.repl.flushed.store_and_wake(st.repl.flush_seq);
    master::enforce_output_limits(st);
}

/// Appends one command to the stream (master side), with SELECT when the
/// database differs from the last one the stream selected.
pub fn feed_command(st: &mut State, db: Option<usize>, args: &[Bytes]) {
    if !active(st) {
        return;
    }
    // one reused buffer: no allocation per command
    let mut out = std::mem::take(&mut st.repl.scratch);
    out.clear();
    if let Some(db) = db {
        if st.repl.seldb != Some(db) {
            crate::propagate::encode_command(
                &mut out,
                &[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())],
            );
            st.repl.seldb = Some(db);
        }
    }
    crate::propagate::encode_command(&mut out, args);
    feed_raw(st, &out);
    st.repl.scratch = out;
}

/// Creates the backlog when the first replica attaches (a master then
/// starts a new history, as Redis does).
pub fn ensure_backlog(st: &mut State) {
    if st.repl.backlog.is_none() {
        let size = st
            .config
            .get("repl-backlog-size")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1 << 20);
        st.repl.backlog = Some(Backlog::new(size));
        if st.repl.master.is_none() {
            st.repl.new_replid();
        }
    }
}

/// INFO replication.
pub fn info(st: &State) -> String {
    use std::fmt::Write;
    let r = &st.repl;
    let mut o = String::from("# Replication\r\n");
    match &r.master {
        Some(m) => {
            let up = m.state == LinkState::Connected;
            let _ = write!(
                o,
                "role:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\nmaster_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
                m.host,
                m.port,
                if up { "up" } else { "down" },
                match (up, m.last_io) {
                    (true, Some(t)) => t.elapsed().as_secs() as i64,
                    _ => -1,
                },
                (m.state == LinkState::Sync) as u8,
                if r.cached || up { m.read_offset.max(r.offset) } else { 1 },
                if r.cached || up { r.offset } else { 1 },
            );
            if m.state == LinkState::Sync {
                let left = m.sync_total.saturating_sub(m.sync_read);
                let perc = if m.sync_total > 0 {
                    m.sync_read as f64 * 100.0 / m.sync_total as f64
                } else {
                    0.0
                };
                let _ = write!(
                    o,
                    "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\nmaster_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
                    m.sync_total,
                    m.sync_read,
                    left,
                    perc,
                    m.last_io.map(|t| t.elapsed().as_secs() as i64).unwrap_or(0),
                );
            }
            if !up {
                let _ = write!(
                    o,
                    "master_link_down_since_seconds:{}\r\n",
                    m.down_since
                        .map(|t| t.elapsed().as_secs() as i64)
                        .unwrap_or(-1)
                );
            }
            let _ = write!(
                o,
                "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
                st.config.get("replica-priority").unwrap_or("100"),
                (st.config.get("replica-read-only") != Some("no")) as u8,
                (st.config.get("replica-announced") != Some("no")) as u8,
            );
        }
        None => o.push_str("role:master\r\n"),
    }
    let _ = write!(o, "connected_slaves:{}\r\n", r.replicas.len());
    if master::min_replicas(st).is_some() {
        let _ = write!(o, "min_slaves_good_slaves:{}\r\n", r.good_replicas);
    }
    for (i, s) in r.replicas.values().enumerate() {
        let lag = if s.state == ReplicaState::Online || s.state == ReplicaState::WaitAck {
            s.ack_time.elapsed().as_secs()
        } else {
            0
        };
        let _ = write!(
            o,
            "slave{i}:ip={},port={},state={},offset={},lag={}\r\n",
            s.ip,
            s.port,
            s.state.info_name(),
            s.ack_off,
            lag
        );
    }
    let _ = write!(
        o,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\nsecond_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\nrepl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        failover::state_name(st),
        r.replid,
        r.replid2,
        r.offset,
        r.second_offset,
        r.backlog.is_some() as u8,
        st.config.get("repl-backlog-size").unwrap_or("1048576"),
        r.backlog_first_byte(),
        r.backlog.as_ref().map(|b| b.histlen()).unwrap_or(0),
    );
    o
}

/// ROLE.
pub fn role(st: &State) -> picket_common::resp::Frame {
    use picket_common::resp::Frame;
    let r = &st.repl;
    match &r.master {
        None => Frame::Array(vec![
            Frame::bulk("master"),
            Frame::Integer(r.offset),
            Frame::Array(
                r.replicas
                    .values()
                    .filter(|s| s.state == ReplicaState::Online || s.state == ReplicaState::WaitAck)
                    .map(|s| {
                        Frame::Array(vec![
                            Frame::bulk(s.ip.as_str()),
                            Frame::bulk(s.port.to_string()),
                            Frame::bulk(s.ack_off.to_string()),
                        ])
                    })
                    .collect(),
            ),
        ]),
        Some(m) => Frame::Array(vec![
            Frame::bulk("slave"),
            Frame::bulk(m.host.as_str()),
            Frame::Integer(m.port as i64),
            Frame::bulk(m.state.name()),
            Frame::Integer(if m.state == LinkState::Connected {
                r.offset
            } else {
                -1
            }),
        ]),
    }
}
