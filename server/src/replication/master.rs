//! The master's side of replication: PSYNC (partial from the backlog or
//! full), the full sync by a forked child (disk: a BGSAVE then the file;
//! diskless: the child streams the RDB through a pipe with the `$EOF:`
//! framing), serving replica connections (stream out, ACKs in), WAIT,
//! min-replicas-to-write and the replication cron.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use picket_common::resp::{parse_request, RequestLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

use super::{ReplMsg, ReplTx, ReplicaConn, ReplicaState};
use crate::state::{Shared, State};

/// A full synchronisation in flight.
#[derive(Debug)]
pub struct FullSync {
    /// Replicas served by this snapshot.
    pub targets: Vec<u64>,
    pub kind: SyncKind,
}

/// How the snapshot travels.
#[derive(Debug)]
pub enum SyncKind {
    /// A BGSAVE writes `dbfilename`; the file is sent when it finishes.
    Disk,
    /// A child streams the RDB through a pipe; the thread relaying it
    /// stores the outcome here when done.
    Diskless {
        pid: i32,
        done: Arc<Mutex<Option<bool>>>,
    },
}

/// `(min-replicas-to-write, min-replicas-max-lag)` when both are set.
pub fn min_replicas(st: &State) -> Option<(usize, u64)> {
    let (n, lag) = (
        st.config.min_replicas_to_write,
        st.config.min_replicas_max_lag,
    );
    (n > 0 && lag > 0).then_some((n as usize, lag as u64))
}

/// Whether writes must be refused with -NOREPLICAS.
pub fn too_few_replicas(st: &State) -> bool {
    match min_replicas(st) {
        Some((n, _)) => st.repl.master.is_none() && st.repl.good_replicas < n,
        None => false,
    }
}

fn refresh_good_replicas(st: &mut State) {
    let lag = min_replicas(st).map(|(_, l)| l).unwrap_or(10);
    st.repl.good_replicas = st
        .repl
        .replicas
        .values()
        .filter(|r| r.state == ReplicaState::Online && r.ack_time.elapsed().as_secs() <= lag)
        .count();
}

/// REPLCONF from a replica (or a client pretending).
pub fn replconf(st: &mut State, client: u64, a: &[Bytes]) -> Result<Option<()>, String> {
    if a.len().is_multiple_of(2) {
        return Err("ERR syntax error".into());
    }
    let mut i = 1;
    let mut out = Some(());
    while i + 1 < a.len() {
        let opt = String::from_utf8_lossy(&a[i]).to_ascii_lowercase();
        let val = &a[i + 1];
        match opt.as_str() {
            "listening-port" => {
                let p: u16 = std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or("ERR value is not an integer or out of range")?;
                pending_info(st, client).port = p;
            }
            "ip-address" => {
                if val.len() >= 256 {
                    return Err(format!(
                        "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                        val.len()
                    ));
                }
                pending_info(st, client).ip = Some(String::from_utf8_lossy(val).into_owned());
            }
            "capa" => {
                let info = pending_info(st, client);
                if val.eq_ignore_ascii_case(b"eof") {
                    info.eof = true;
                } else if val.eq_ignore_ascii_case(b"psync2") {
                    info.psync2 = true;
                }
            }
            "ack" => {
                // never answered; ignored from non-replicas
                if let Some(off) = std::str::from_utf8(val)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                {
                    on_ack(st, client, off);
                }
                out = None;
            }
            "getack" => out = None,
            "rdb-only" | "rdb-filter-only" => {}
            _ => {
                return Err(format!(
                    "ERR Unrecognized REPLCONF option: {}",
                    String::from_utf8_lossy(&a[i])
                ))
            }
        }
        i += 2;
    }
    Ok(out)
}

/// What a connection announced before PSYNC.
#[derive(Debug, Default, Clone)]
pub struct Announce {
    pub port: u16,
    pub ip: Option<String>,
    pub eof: bool,
    pub psync2: bool,
}

fn pending_info(st: &mut State, client: u64) -> &mut Announce {
    st.repl.announce.entry(client).or_default()
}

/// An ACK from a replica.
pub fn on_ack(st: &mut State, client: u64, off: i64) {
    super::flush_out(st);
    if let Some(r) = st.repl.replicas.get_mut(&client) {
        if off > r.ack_off {
            r.ack_off = off;
        }
        r.ack_time = Instant::now();
        if r.state == ReplicaState::WaitAck || r.state == ReplicaState::WaitBgsaveEnd {
            // diskless: the stream starts with the first ACK, which a
            // replica sends only once it loaded the whole payload (it can
            // arrive before the cron noticed the transfer ended)
            r.state = ReplicaState::Online;
            let p = std::mem::take(&mut r.pending);
            if !p.is_empty() {
                r.queued.fetch_add(p.len() as u64, Ordering::Relaxed);
                let _ = r.tx.send(ReplMsg::Stream(Bytes::from(p)));
            }
        }
    } else {
        return;
    }
    refresh_good_replicas(st);
    serve_waiters(st);
}

/// Answers WAIT clients whose target is reached.
pub fn serve_waiters(st: &mut State) {
    if st.repl.waiters.is_empty() {
        return;
    }
    let waiters = std::mem::take(&mut st.repl.waiters);
    for w in waiters {
        let n = acked_replicas(st, w.offset);
        if n >= w.numreplicas as i64 {
            let _ = w.tx.send(n);
        } else if !w.tx.is_closed() {
            st.repl.waiters.push(w);
        }
    }
}

/// Online replicas that acknowledged `offset`.
pub fn acked_replicas(st: &State, offset: i64) -> i64 {
    st.repl
        .replicas
        .values()
        .filter(|r| r.state == ReplicaState::Online && r.ack_off >= offset)
        .count() as i64
}

/// PSYNC / SYNC: registers the connection as a replica and answers with
/// +CONTINUE and the backlog's tail, or queues it for a full sync.
pub fn psync(
    st: &mut State,
    client: &crate::state::ClientInfo,
    id: &str,
    off: i64,
    sync_cmd: bool,
) -> mpsc::UnboundedReceiver<ReplMsg> {
    // the replicas already online get this hold's bytes first
    super::flush_out(st);
    let (tx, rx) = mpsc::unbounded_channel();
    let ann = st.repl.announce.remove(&client.id).unwrap_or_default();
    let ip = ann.ip.clone().unwrap_or_else(|| {
        client
            .addr
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or_default()
    });
    let mut conn = ReplicaConn {
        id: client.id,
        ip,
        port: ann.port,
        state: ReplicaState::WaitBgsaveStart,
        ack_off: 0,
        ack_time: Instant::now(),
        capa_eof: ann.eof,
        capa_psync2: ann.psync2,
        tx: ReplTx::new(tx),
        writer: None,
        queued: Arc::new(AtomicU64::new(0)),
        pending: Vec::new(),
        since: Instant::now(),
        soft_since: None,
        old_sync: sync_cmd,
        kill: client.kill.clone(),
    };
    let first = st.repl.replicas.is_empty() && st.repl.backlog.is_none();
    if !sync_cmd && !first && partial_ok(st, id, off) {
        let b = st.repl.backlog.as_ref().expect("checked");
        let skip = (off - st.repl.backlog_first_byte()) as usize;
        let tail = b.tail(b.histlen() - skip);
        let line = if conn.capa_psync2 {
            format!("+CONTINUE {}\r\n", st.repl.replid)
        } else {
            "+CONTINUE\r\n".to_string()
        };
        let _ = conn.tx.send(ReplMsg::Payload(Bytes::from(line)));
        if !tail.is_empty() {
            conn.queued.fetch_add(tail.len() as u64, Ordering::Relaxed);
            let _ = conn.tx.send(ReplMsg::Stream(Bytes::from(tail)));
        }
        conn.state = ReplicaState::Online;
        conn.ack_off = off - 1;
        st.repl.sync_partial_ok += 1;
        tracing::info!(
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {off}.",
            client.addr,
            st.repl.offset + 1 - off
        );
    } else {
        if !(sync_cmd || id == "?" && off == -1) {
            st.repl.sync_partial_err += 1;
        }
        st.repl.sync_full += 1;
        super::ensure_backlog(st);
        tracing::info!(
            "Replica {} asks for synchronization: full resync",
            client.addr
        );
    }
    st.repl.replicas.insert(client.id, conn);
    st.repl.no_replicas_since = None;
    st.repl.kick.notify_one();
    rx
}

fn partial_ok(st: &State, id: &str, off: i64) -> bool {
    let r = &st.repl;
    let id_ok = id.eq_ignore_ascii_case(&r.replid)
        || (id.eq_ignore_ascii_case(&r.replid2) && off <= r.second_offset);
    let Some(_) = r.backlog.as_ref() else {
        return false;
    };
    let first = r.backlog_first_byte();
    id_ok && id != "?" && off >= first && off <= r.offset + 1
}

/// Starts the snapshot for replicas waiting for one (from the cron):
/// diskless when enabled and every waiter announced `capa eof`, after
/// repl-diskless-sync-delay unless enough replicas wait.
pub fn start_full_sync(shared: &Shared, st: &mut State) {
    super::flush_out(st);
    if st.repl.fullsync.is_some() || st.bgsave.is_some() {
        return;
    }
    if st.aofrw.rewrite.is_some() {
        return;
    }
    let waiting: Vec<u64> = st
        .repl
        .replicas
        .values()
        .filter(|r| r.state == ReplicaState::WaitBgsaveStart)
        .map(|r| r.id)
        .collect();
    if waiting.is_empty() {
        return;
    }
    let diskless = st.config.get("repl-diskless-sync") != Some("no")
        && waiting.iter().all(|id| st.repl.replicas[id].capa_eof);
    if diskless {
        let delay: u64 = st
            .config
            .get("repl-diskless-sync-delay")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5);
        let max: usize = st
            .config
            .get("repl-diskless-sync-max-replicas")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let oldest = waiting
            .iter()
            .map(|id| st.repl.replicas[id].since)
            .min()
            .expect("non-empty");
        let enough = max > 0 && waiting.len() >= max;
        if oldest.elapsed() < Duration::from_secs(delay) && !enough {
            return;
        }
    }
    // the stream after the payload starts with a SELECT
    st.repl.seldb = None;
    let offset = st.repl.offset;
    let line = Bytes::from(format!("+FULLRESYNC {} {}\r\n", st.repl.replid, offset));
    if diskless {
        // +FULLRESYNC goes first: the relay thread starts sending the
        // payload as soon as the child runs
        for id in &waiting {
            if let Some(r) = st.repl.replicas.get_mut(id) {
                if !r.old_sync {
                    let _ = r.tx.send(ReplMsg::Payload(line.clone()));
                }
                r.state = ReplicaState::WaitBgsaveEnd;
            }
        }
        match fork_diskless(shared, st, &waiting) {
            Ok(kind) => {
                st.repl.fullsync = Some(FullSync {
                    targets: waiting,
                    kind,
                });
            }
            Err(e) => {
                tracing::warn!("Can't start the diskless sync: {e}");
                kill_replicas(st, &waiting);
            }
        }
        return;
    }
    match crate::persistence::bgsave_start(shared, st) {
        Ok(()) => {
            for id in &waiting {
                if let Some(r) = st.repl.replicas.get_mut(id) {
                    if !r.old_sync {
                        let _ = r.tx.send(ReplMsg::Payload(line.clone()));
                    }
                    r.state = ReplicaState::WaitBgsaveEnd;
                }
            }
            st.repl.fullsync = Some(FullSync {
                targets: waiting,
                kind: SyncKind::Disk,
            });
        }
        Err(e) => {
            tracing::warn!("BGSAVE for replication failed: {e}");
            kill_replicas(st, &waiting);
        }
    }
}

fn kill_replicas(st: &mut State, ids: &[u64]) {
    for id in ids {
        if let Some(r) = st.repl.replicas.shift_remove(id) {
            r.kill.notify_one();
        }
    }
}

/// Forks a child that writes the RDB into a pipe; a thread relays it to
/// the target replicas framed as `$EOF:<mark>` ... `<mark>`.
fn fork_diskless(shared: &Shared, st: &mut State, targets: &[u64]) -> Result<SyncKind, String> {
    let mut fds = [0; 2];
    // SAFETY: creates a pipe; both ends are owned below.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    let (rfd, wfd) = (fds[0], fds[1]);
    let now = crate::state::now_ms();
    let t = Instant::now();
    // SAFETY: as persistence::bgsave_start: the child encodes its
    // copy-on-write image, writes it to the pipe and _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        // SAFETY: closing our own fds.
        unsafe {
            libc::close(rfd);
            libc::close(wfd);
        }
        return Err(std::io::Error::last_os_error().to_string());
    }
    if pid == 0 {
        // SAFETY: the child closes the read end and writes to its own fd.
        unsafe { libc::close(rfd) };
        let mut w = std::io::BufWriter::with_capacity(256 * 1024, unsafe {
            std::fs::File::from_raw_fd(wfd)
        });
        let ok = crate::persistence::encode_snapshot(shared, st, now, &mut w).is_ok()
            && std::io::Write::flush(&mut w).is_ok();
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    // SAFETY: the parent does not write.
    unsafe { libc::close(wfd) };
    st.latest_fork_usec = t.elapsed().as_micros() as u64;
    st.total_forks += 1;
    let txs: Vec<ReplTx> = targets
        .iter()
        .filter_map(|id| st.repl.replicas.get(id).map(|r| r.tx.clone()))
        .collect();
    let done = Arc::new(Mutex::new(None));
    let done2 = done.clone();
    // SAFETY: we own the read end.
    let mut pipe = unsafe { std::fs::File::from_raw_fd(rfd) };
    let mark = crate::state::random_hex(40);
    std::thread::Builder::new()
        .name("repl-diskless".into())
        .spawn(move || {
            let send = |b: Bytes| {
                for tx in &txs {
                    let _ = tx.send(ReplMsg::Payload(b.clone()));
                }
            };
            send(Bytes::from(format!("$EOF:{mark}\r\n")));
            let mut buf = vec![0u8; 256 * 1024];
            let mut ok = true;
            loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => send(Bytes::copy_from_slice(&buf[..n])),
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        ok = false;
                        break;
                    }
                }
            }
            let mut status = 0;
            // SAFETY: reaps our own child.
            unsafe { libc::waitpid(pid, &mut status, 0) };
            ok = ok && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
            if ok {
                send(Bytes::from(mark.into_bytes()));
            }
            *done2.lock().unwrap_or_else(|p| p.into_inner()) = Some(ok);
        })
        .map_err(|e| e.to_string())?;
    tracing::info!("Starting BGSAVE for SYNC with target: replicas sockets (pid {pid})");
    Ok(SyncKind::Diskless { pid, done })
}

/// A BGSAVE finished: serve the replicas waiting for a disk snapshot.
pub fn bgsave_done(st: &mut State, ok: bool) {
    super::flush_out(st);
    let Some(fs) = st
        .repl
        .fullsync
        .take_if(|f| matches!(f.kind, SyncKind::Disk))
    else {
        return;
    };
    if !ok {
        kill_replicas(st, &fs.targets);
        return;
    }
    let path = crate::persistence::rdb_path(st);
    let data = match std::fs::read(&path) {
        Ok(d) => Bytes::from(d),
        Err(e) => {
            tracing::warn!("Can't read the snapshot for replicas: {e}");
            kill_replicas(st, &fs.targets);
            return;
        }
    };
    for id in &fs.targets {
        let Some(r) = st.repl.replicas.get_mut(id) else {
            continue;
        };
        let _ = r.tx.send(ReplMsg::Payload(Bytes::from(format!(
            "${}\r\n",
            data.len()
        ))));
        let _ = r.tx.send(ReplMsg::Payload(data.clone()));
        let pending = std::mem::take(&mut r.pending);
        if !pending.is_empty() {
            r.queued.fetch_add(pending.len() as u64, Ordering::Relaxed);
            let _ = r.tx.send(ReplMsg::Stream(Bytes::from(pending)));
        }
        r.state = ReplicaState::Online;
        r.ack_time = Instant::now();
        tracing::info!("Synchronization with replica {} succeeded", r.ip);
    }
}

/// Disconnects replicas whose queued stream passed the replica class of
/// client-output-buffer-limit (they resync when they come back).
pub fn enforce_output_limits(st: &mut State) {
    let limits = st.repl.limits;
    if limits.hard == 0 && limits.soft == 0 {
        return;
    }
    let mut kill = Vec::new();
    for r in st.repl.replicas.values_mut() {
        let q = r.queued.load(Ordering::Relaxed) + r.pending.len() as u64;
        if limits.hard > 0 && q > limits.hard {
            kill.push(r.id);
            continue;
        }
        if limits.soft > 0 && q > limits.soft {
            let since = *r.soft_since.get_or_insert_with(Instant::now);
            if since.elapsed().as_secs() >= limits.soft_secs {
                kill.push(r.id);
            }
        } else {
            r.soft_since = None;
        }
    }
    for id in kill {
        tracing::warn!(
            "Client id={id} scheduled to be closed ASAP for overcoming of output buffer limits."
        );
        kill_replicas(st, &[id]);
    }
}

/// The replication cron (10 times a second).
pub fn cron(shared: &Shared, st: &mut State) {
    // a diskless transfer finished?
    let finished = match st.repl.fullsync.as_ref().map(|f| &f.kind) {
        Some(SyncKind::Diskless { done, .. }) => *done.lock().unwrap_or_else(|p| p.into_inner()),
        _ => None,
    };
    if let Some(ok) = finished {
        let fs = st.repl.fullsync.take().expect("present");
        for id in &fs.targets {
            if let Some(r) = st.repl.replicas.get_mut(id) {
                if ok && r.state == ReplicaState::WaitBgsaveEnd {
                    r.state = ReplicaState::WaitAck;
                    r.ack_time = Instant::now();
                }
            }
        }
        if !ok {
            kill_replicas(st, &fs.targets);
        }
    }
    start_full_sync(shared, st);
    let timeout = Duration::from_secs(
        st.config
            .get("repl-timeout")
            .and_then(|v| v.parse().ok())
            .unwrap_or(60),
    );
    // replicas that stopped acknowledging
    let dead: Vec<u64> = st
        .repl
        .replicas
        .values()
        .filter(|r| {
            r.state == ReplicaState::Online && r.ack_time.elapsed() > timeout && r.capa_psync2
        })
        .map(|r| r.id)
        .collect();
    for id in &dead {
        tracing::warn!("Disconnecting timedout replica (streaming sync): id={id}");
    }
    kill_replicas(st, &dead);
    // PING every repl-ping-replica-period (masters only, with replicas)
    let period = Duration::from_secs(
        st.config
            .get("repl-ping-replica-period")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    );
    if st.repl.master.is_none()
        && !st.repl.replicas.is_empty()
        && st.repl.last_ping.elapsed() >= period
        && st.pause.is_none()
        && !super::failover::holds_pings(st)
    {
        st.repl.last_ping = Instant::now();
        super::feed_command(st, None, &[Bytes::from_static(b"ping")]);
    }
    if st.repl.getack_pending && st.repl.master.is_none() {
        st.repl.getack_pending = false;
        super::feed_command(
            st,
            None,
            &[
                Bytes::from_static(b"REPLCONF"),
                Bytes::from_static(b"GETACK"),
                Bytes::from_static(b"*"),
            ],
        );
    }
    // backlog TTL: a master alone for long enough starts a new history
    if st.repl.replicas.is_empty() {
        let since = *st.repl.no_replicas_since.get_or_insert_with(Instant::now);
        let ttl: u64 = st
            .config
            .get("repl-backlog-ttl")
            .and_then(|v| v.parse().ok())
            .unwrap_or(3600);
        if ttl > 0
            && st.repl.master.is_none()
            && st.repl.backlog.is_some()
            && since.elapsed().as_secs() >= ttl
        {
            st.repl.backlog = None;
            st.repl.new_replid();
            tracing::info!(
                "Replication backlog freed after {ttl} seconds without connected replicas."
            );
        }
    }
    refresh_good_replicas(st);
    serve_waiters(st);
}

/// Serves a replica connection: writes what the master queues for it,
/// reads its REPLCONF ACKs. Returns when the link ends.
pub async fn serve_replica(
    shared: Arc<Shared>,
    id: u64,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    wr: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<ReplMsg>,
    kill: Arc<Notify>,
    mut inbuf: BytesMut,
) {
    let wr: super::ReplWriter = Arc::new(tokio::sync::Mutex::new(wr));
    let handles = shared.lock().repl.replicas.get_mut(&id).map(|r| {
        r.writer = Some(wr.clone());
        (r.queued.clone(), r.tx.inflight.clone())
    });
    let Some((queued, inflight)) = handles else {
        return;
    };
    let limits = RequestLimits {
        max_bulk_len: 1 << 20,
        unauthenticated: false,
    };
    'conn: loop {
        // commands from the replica: ACKs (anything else is ignored)
        let mut consumed = 0;
        while let Ok(Some((req, used))) = parse_request(&inbuf[consumed..], &limits) {
            consumed += used;
            let a = req.args;
            if a.len() >= 3
                && a[0].eq_ignore_ascii_case(b"replconf")
                && a[1].eq_ignore_ascii_case(b"ack")
            {
                if let Some(off) = std::str::from_utf8(&a[2]).ok().and_then(|s| s.parse().ok()) {
                    on_ack(&mut shared.lock(), id, off);
                }
            }
        }
        bytes::Buf::advance(&mut inbuf, consumed);
        tokio::select! {
            m = rx.recv() => {
                let Some(m) = m else { break 'conn };
                // gather what is queued into one write (many small
                // commands under load), up to 256 KB
                let mut out = BytesMut::new();
                let mut stream_bytes = 0u64;
                let mut msgs = 0u64;
                let mut next = Some(m);
                while let Some(m) = next.take() {
                    msgs += 1;
                    match m {
                        ReplMsg::Stream(b) => {
                            stream_bytes += b.len() as u64;
                            out.extend_from_slice(&b);
                        }
                        ReplMsg::Payload(b) => out.extend_from_slice(&b),
                    }
                    if out.len() < 256 * 1024 {
                        next = rx.try_recv().ok();
                    }
                }
                {
                    // (held while writing: flush_out then queues behind us)
                    let mut w = wr.lock().await;
                    if w.write_all(&out).await.is_err() {
                        break 'conn;
                    }
                    let _ = queued.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                        Some(v.saturating_sub(stream_bytes))
                    });
                    inflight.fetch_sub(msgs, Ordering::AcqRel);
                }
            }
            n = rd.read_buf(&mut inbuf) => {
                match n {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(_) => {}
                }
            }
            _ = kill.notified() => break 'conn,
        }
    }
    let mut st = shared.lock();
    if st.repl.replicas.shift_remove(&id).is_some() {
        tracing::info!("Connection with replica id={id} lost.");
    }
    if st.repl.replicas.is_empty() {
        st.repl.no_replicas_since = Some(Instant::now());
    }
    refresh_good_replicas(&mut st);
}
