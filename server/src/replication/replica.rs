//! The replica's side: one task per master link. It connects, performs
//! Redis 7.0's handshake (PING, AUTH, REPLCONF listening-port /
//! ip-address / capa eof capa psync2, PSYNC), loads a full-sync payload
//! (either framing) or continues partially, then applies the stream,
//! forwarding exactly the applied bytes to its own backlog and replicas,
//! and sends REPLCONF ACK every second and on GETACK.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use picket_common::net::connect_from;
use picket_common::resp::{parse_request, RequestLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{LinkState, MasterLink};
use crate::state::{Shared, State};

/// Becomes a replica of host:port (REPLICAOF, the `replicaof` directive).
pub fn set_master(st: &mut State, host: String, port: u16) {
    super::flush_out(st);
    let was_master = st.repl.master.is_none();
    if let Some(m) = st.repl.master.take() {
        m.kill.notify_one();
    }
    st.repl.link_gen += 1;
    if was_master {
        // our own history becomes the cached master: PSYNC <replid> <offset+1>
        st.repl.cached = true;
    }
    st.repl.master = Some(MasterLink {
        host,
        port,
        state: LinkState::Connect,
        last_io: None,
        down_since: None,
        read_offset: st.repl.offset,
        sync_total: 0,
        sync_read: 0,
        kill: Arc::new(tokio::sync::Notify::new()),
        gen: st.repl.link_gen,
        running: false,
        failover: false,
    });
    // a replica's stream position is its master's: no own SELECTs
    st.repl.seldb = None;
    set_keep_expired(st, true);
    st.repl.kick.notify_one();
}

/// REPLICAOF NO ONE: a new history; the old one stays valid as replid2
/// so the other replicas can continue from us partially.
pub fn promote(st: &mut State) {
    super::flush_out(st);
    let Some(m) = st.repl.master.take() else {
        return;
    };
    m.kill.notify_one();
    st.repl.link_gen += 1;
    set_keep_expired(st, false);
    st.repl.shift_replid();
    super::ensure_backlog(st);
    st.repl.seldb = None;
    disconnect_replicas(st);
    tracing::info!(
        "MASTER MODE enabled (user request); new replication ID {}, secondary ID {} valid up to offset {}",
        st.repl.replid,
        st.repl.replid2,
        st.repl.second_offset
    );
}

/// A replica does not expire keys itself: the master's DELs do.
pub fn set_keep_expired(st: &mut State, on: bool) {
    for db in st.dbs.iter_mut() {
        db.keep_expired = on;
    }
}

/// Drops our own replicas (they reconnect and PSYNC).
pub fn disconnect_replicas(st: &mut State) {
    for (_, r) in st.repl.replicas.drain(..) {
        r.kill.notify_one();
    }
}

/// Starts the link task when we are a replica and none runs (from the
/// replication supervisor).
pub fn ensure_link(shared: &Arc<Shared>) {
    let gen = {
        let mut st = shared.lock();
        let gen = st.repl.link_gen;
        match st.repl.master.as_mut() {
            Some(m) if !m.running => {
                m.running = true;
                gen
            }
            _ => return,
        }
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let res = run_link(&shared, gen).await;
        let mut st = shared.lock();
        if let Err(e) = &res {
            tracing::warn!("Master link: {e}");
        }
        if st.repl.link_gen == gen {
            if let Some(m) = st.repl.master.as_mut() {
                let was_up = m.state == LinkState::Connected;
                if was_up {
                    m.down_since = Some(Instant::now());
                    tracing::warn!("Connection with master lost.");
                }
                m.state = LinkState::Connect;
                m.running = false;
                if was_up {
                    // reconnect at once after losing an established link
                    st.repl.kick.notify_one();
                }
            }
        }
    });
}

fn current(st: &State, gen: u64) -> bool {
    st.repl.link_gen == gen && st.repl.master.is_some()
}

fn set_state(shared: &Shared, gen: u64, s: LinkState) -> Result<(), String> {
    let mut st = shared.lock();
    if !current(&st, gen) {
        return Err("master changed".into());
    }
    if let Some(m) = st.repl.master.as_mut() {
        m.state = s;
        m.last_io = Some(Instant::now());
    }
    Ok(())
}

struct Link {
    s: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Link {
    async fn fill(&mut self) -> Result<(), String> {
        match tokio::time::timeout(self.timeout, self.s.read_buf(&mut self.buf)).await {
            Ok(Ok(0)) => Err("connection closed by master".into()),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timeout with master".into()),
        }
    }

    /// One CRLF line, skipping the master's lone `\n` keepalives.
    async fn line(&mut self) -> Result<String, String> {
        loop {
            while self.buf.first() == Some(&b'\n') {
                self.buf.advance(1);
            }
            if let Some(p) = self.buf.iter().position(|&c| c == b'\n') {
                let l = self.buf.split_to(p + 1);
                let s = String::from_utf8_lossy(&l).trim_end().to_string();
                return Ok(s);
            }
            self.fill().await?;
        }
    }

    async fn send(&mut self, args: &[&str]) -> Result<(), String> {
        let a: Vec<Bytes> = args
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect();
        let mut out = Vec::new();
        crate::propagate::encode_command(&mut out, &a);
        self.s.write_all(&out).await.map_err(|e| e.to_string())
    }
}

async fn run_link(shared: &Arc<Shared>, gen: u64) -> Result<(), String> {
    let (host, port, kill, timeout, auth, announce_port, announce_ip, source) = {
        let st = shared.lock();
        let Some(m) = st.repl.master.as_ref().filter(|_| current(&st, gen)) else {
            return Ok(());
        };
        let t: u64 = st
            .config
            .get("repl-timeout")
            .and_then(|v| v.parse().ok())
            .unwrap_or(60);
        let auth = st
            .config
            .get("masterauth")
            .filter(|s| !s.is_empty())
            .map(|p| {
                (
                    st.config
                        .get("masteruser")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                    p.to_string(),
                )
            });
        let ap: u16 = st
            .config
            .get("replica-announce-port")
            .and_then(|v| v.parse().ok())
            .filter(|p| *p != 0)
            .unwrap_or(st.config.port);
        let ip = st
            .config
            .get("replica-announce-ip")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        let source = st
            .config
            .get("bind-source-addr")
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        (
            m.host.clone(),
            m.port,
            m.kill.clone(),
            Duration::from_secs(t),
            auth,
            ap,
            ip,
            source,
        )
    };
    let work = async {
        set_state(shared, gen, LinkState::Connecting)?;
        tracing::info!("Connecting to MASTER {host}:{port}");
        let s = tokio::time::timeout(timeout, connect_from(&host, port, source.as_deref()))
            .await
            .map_err(|_| "timeout connecting to the master".to_string())?
            .map_err(|e| format!("Error condition on socket for SYNC: {e}"))?;
        let _ = s.set_nodelay(true);
        let mut link = Link {
            s,
            buf: BytesMut::with_capacity(64 * 1024),
            timeout,
        };
        tracing::info!("MASTER <-> REPLICA sync started");
        set_state(shared, gen, LinkState::Handshake)?;
        link.send(&["PING"]).await?;
        let pong = link.line().await?;
        if pong.starts_with('-')
            && !pong.starts_with("-NOAUTH")
            && !pong.starts_with("-NOPERM")
            && pong != "-ERR operation not permitted"
        {
            return Err(format!("Error reply to PING from master: '{pong}'"));
        }
        let mut expect = 0;
        if let Some((user, pass)) = &auth {
            match user {
                Some(u) => link.send(&["AUTH", u, pass]).await?,
                None => link.send(&["AUTH", pass]).await?,
            }
        }
        let port_s = announce_port.to_string();
        link.send(&["REPLCONF", "listening-port", &port_s]).await?;
        expect += 1;
        if let Some(ip) = &announce_ip {
            link.send(&["REPLCONF", "ip-address", ip]).await?;
            expect += 1;
        }
        link.send(&["REPLCONF", "capa", "eof", "capa", "psync2"])
            .await?;
        expect += 1;
        if auth.is_some() {
            let r = link.line().await?;
            if r.starts_with('-') {
                return Err(format!("Unable to AUTH to MASTER: {r}"));
            }
        }
        for _ in 0..expect {
            link.line().await?;
        }
        let (id, off, failover) = {
            let st = shared.lock();
            let failover = st.repl.master.as_ref().is_some_and(|m| m.failover);
            if st.repl.cached {
                (st.repl.replid.clone(), st.repl.offset + 1, failover)
            } else {
                ("?".to_string(), -1, failover)
            }
        };
        let off = off.to_string();
        let mut psync = vec!["PSYNC", &id, &off];
        if failover {
            psync.push("FAILOVER");
        }
        let reply = match link.send(&psync).await {
            Ok(()) => link.line().await,
            Err(e) => Err(e),
        };
        if failover {
            // the target said no (or could not be written to / read from):
            // back to being the master, as Redis's abortFailover
            let accepted = matches!(&reply, Ok(r) if r.starts_with("+FULLRESYNC") || r.starts_with("+CONTINUE"));
            let mut st = shared.lock();
            if current(&st, gen) {
                if !accepted {
                    super::failover::abort(
                        &mut st,
                        shared,
                        "Failover target rejected psync request",
                    );
                } else if reply.as_ref().is_ok_and(|r| r.starts_with("+FULLRESYNC")) {
                    super::failover::psync_accepted(&mut st, shared);
                }
            }
        }
        let reply = reply?;
        if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
            let mut it = rest.split(' ');
            let new_id = it.next().unwrap_or("").to_string();
            let new_off: i64 = it.next().and_then(|v| v.parse().ok()).unwrap_or(-1);
            tracing::info!("Full resync from master: {new_id}:{new_off}");
            full_sync(shared, gen, &mut link, new_id, new_off).await?;
        } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
            let new_id = rest.trim();
            let mut st = shared.lock();
            if !current(&st, gen) {
                return Err("master changed".into());
            }
            if !new_id.is_empty() && new_id != st.repl.replid {
                // the master's history has a new ID: shift ours
                st.repl.replid2 = std::mem::replace(&mut st.repl.replid, new_id.to_string());
                st.repl.second_offset = st.repl.offset + 1;
                disconnect_replicas(&mut st);
            }
            super::ensure_backlog(&mut st);
            st.repl.cached = true;
            super::failover::psync_accepted(&mut st, shared);
            tracing::info!("Successful partial resynchronization with master.");
        } else if reply.starts_with("-NOMASTERLINK") || reply.starts_with("-LOADING") {
            return Err(format!("Master is currently unable to PSYNC: {reply}"));
        } else {
            return Err(format!("Unexpected reply to PSYNC from master: {reply}"));
        }
        {
            let mut st = shared.lock();
            if !current(&st, gen) {
                return Err("master changed".into());
            }
            let off = st.repl.offset;
            if let Some(m) = st.repl.master.as_mut() {
                m.state = LinkState::Connected;
                m.down_since = None;
                m.last_io = Some(Instant::now());
                m.read_offset = off;
            }
        }
        tracing::info!("MASTER <-> REPLICA sync: Finished with success");
        stream(shared, gen, link).await
    };
    tokio::select! {
        r = work => r,
        _ = kill.notified() => Ok(()),
    }
}

/// Reads the payload (`$<len>` or `$EOF:<mark>`), loads it and takes the
/// master's ID and offset.
async fn full_sync(
    shared: &Arc<Shared>,
    gen: u64,
    link: &mut Link,
    new_id: String,
    new_off: i64,
) -> Result<(), String> {
    set_state(shared, gen, LinkState::Sync)?;
    let header = link.line().await?;
    let Some(h) = header.strip_prefix('$') else {
        return Err(format!(
            "Bad protocol from MASTER, the first byte is not '$': {header}"
        ));
    };
    let mut payload: Vec<u8>;
    let eof = h.strip_prefix("EOF:").map(|m| m.as_bytes().to_vec());
    match &eof {
        Some(mark) => {
            payload = Vec::new();
            loop {
                payload.extend_from_slice(&link.buf);
                link.buf.clear();
                progress(shared, 0, payload.len() as u64);
                if payload.len() >= mark.len() && payload.ends_with(mark) {
                    payload.truncate(payload.len() - mark.len());
                    break;
                }
                link.fill().await?;
            }
        }
        None => {
            let len: usize = h.parse().map_err(|_| format!("bad payload length {h}"))?;
            payload = Vec::with_capacity(len.min(1 << 30));
            while payload.len() < len {
                if link.buf.is_empty() {
                    link.fill().await?;
                }
                let take = (len - payload.len()).min(link.buf.len());
                payload.extend_from_slice(&link.buf[..take]);
                link.buf.advance(take);
                progress(shared, len as u64, payload.len() as u64);
            }
        }
    }
    // (repl-diskless-load disabled: the payload goes to dbfilename first)
    let (disk_load, path, ndb) = {
        let mut st = shared.lock();
        if !current(&st, gen) {
            return Err("master changed".into());
        }
        // sub-replicas must full-sync again from the new data set
        disconnect_replicas(&mut st);
        st.repl.backlog = None;
        let mode = st
            .config
            .get("repl-diskless-load")
            .unwrap_or("disabled")
            .to_string();
        let disk =
            mode == "disabled" || (mode == "on-empty-db" && st.dbs.iter().any(|d| !d.is_empty()));
        st.loading = true;
        (disk, crate::persistence::rdb_path(&st), st.dbs.len())
    };
    let data = payload;
    let loaded = tokio::task::spawn_blocking(move || -> Result<_, String> {
        if disk_load {
            let tmp = path.with_file_name(format!(
                "temp-{}.{}.rdb",
                crate::state::now_ms() / 1000,
                std::process::id()
            ));
            std::fs::write(&tmp, &data)
                .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("Failed trying to save the master payload: {e}"))?;
        }
        let r = crate::persistence::rdb::read_rdb(&data)
            .map_err(|e| format!("Failed trying to load the MASTER synchronization DB: {e}"))?;
        let stream_db = r
            .aux
            .iter()
            .find(|(k, _)| k == b"repl-stream-db")
            .and_then(|(_, v)| std::str::from_utf8(v).ok()?.parse::<usize>().ok())
            .unwrap_or(0);
        let mut dbs: Vec<crate::db::Db> = (0..ndb).map(|_| crate::db::Db::default()).collect();
        for (i, keys) in r.dbs {
            let Some(db) = dbs.get_mut(i as usize) else {
                return Err(format!("the master's payload uses db {i}"));
            };
            db.dict.reserve(keys.len());
            for k in keys {
                // a replica keeps what the master sent; the master expires
                let mut e = crate::db::Entry::new(k.value, 0);
                e.expire = k.expire.unwrap_or(crate::db::NO_EXPIRE);
                db.insert_entry(k.key, e);
            }
        }
        Ok((dbs, stream_db))
    })
    .await
    .map_err(|e| e.to_string())?;
    {
        let mut st = shared.lock();
        st.loading = false;
        let (dbs, stream_db) = loaded?;
        if !current(&st, gen) {
            return Err("master changed".into());
        }
        st.dbs = dbs;
        set_keep_expired(&mut st, true);
        st.repl.replid = new_id;
        st.repl.replid2 = super::NO_REPLID.to_string();
        st.repl.second_offset = -1;
        st.repl.offset = new_off;
        st.repl.cached = true;
        super::ensure_backlog(&mut st);
        st.repl.master_db = stream_db;
        st.dirty += 1;
    }
    if eof.is_some() {
        // a master streaming with EOF framing waits for this first ACK
        link.send(&["REPLCONF", "ACK", &new_off.to_string()])
            .await?;
    }
    Ok(())
}

fn progress(shared: &Shared, total: u64, read: u64) {
    let mut st = shared.lock();
    if let Some(m) = st.repl.master.as_mut() {
        m.sync_total = total;
        m.sync_read = read;
        m.last_io = Some(Instant::now());
    }
}

/// Applies the master's stream until the link ends.
async fn stream(shared: &Arc<Shared>, gen: u64, mut link: Link) -> Result<(), String> {
    let mut master = crate::conn::detached_client(u64::MAX - 1);
    master.kind = crate::state::ClientKind::Master;
    master.db = shared.lock().repl.master_db;
    let limits = RequestLimits {
        max_bulk_len: i64::MAX,
        unauthenticated: false,
    };
    let mut ack = tokio::time::interval(Duration::from_secs(1));
    ack.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // apply every whole command in the buffer under one lock
        let mut acks: Vec<i64> = Vec::new();
        if !link.buf.is_empty() {
            let mut st = shared.lock();
            if !current(&st, gen) {
                return Ok(());
            }
            st.start_batch(shared.started);
            let mut consumed = 0;
            loop {
                let slice = &link.buf[consumed..];
                if slice.first() == Some(&b'\n') {
                    consumed += 1;
                    continue;
                }
                if !slice.is_empty() && slice[0] != b'*' {
                    return Err("Protocol error: inline command from the master".into());
                }
                let (req, used) = match parse_request(slice, &limits) {
                    Ok(Some(x)) => x,
                    Ok(None) => break,
                    Err(e) => return Err(format!("Protocol error from master: {}", e.0)),
                };
                let raw = Bytes::copy_from_slice(&slice[..used]);
                consumed += used;
                let args: Vec<Bytes> = req.args.into_vec();
                if args.is_empty() {
                    continue;
                }
                let is = |n: &str| args[0].eq_ignore_ascii_case(n.as_bytes());
                if is("replconf") && args.len() >= 2 && args[1].eq_ignore_ascii_case(b"getack") {
                    // the ACK carries the offset before this command
                    acks.push(st.repl.offset);
                    super::feed_raw(&mut st, &raw);
                    continue;
                }
                if is("multi") {
                    // a transaction is applied (and counted) only once its
                    // EXEC has arrived
                    let start = consumed - used;
                    let mut pos = consumed;
                    let mut queued = Vec::new();
                    let mut complete = false;
                    while let Some((r, u)) = parse_request(&link.buf[pos..], &limits)
                        .map_err(|e| format!("Protocol error from master: {}", e.0))?
                    {
                        pos += u;
                        let a: Vec<Bytes> = r.args.into_vec();
                        if a.first().is_some_and(|c| c.eq_ignore_ascii_case(b"exec")) {
                            complete = true;
                            break;
                        }
                        queued.push(a);
                    }
                    if !complete {
                        consumed = start;
                        break;
                    }
                    for a in queued {
                        apply(shared, &mut st, &mut master, &a);
                    }
                    let all = Bytes::copy_from_slice(&link.buf[start..pos]);
                    super::feed_raw(&mut st, &all);
                    consumed = pos;
                    continue;
                }
                apply(shared, &mut st, &mut master, &args);
                super::feed_raw(&mut st, &raw);
            }
            link.buf.advance(consumed);
            let off = st.repl.offset;
            if let Some(m) = st.repl.master.as_mut() {
                m.last_io = Some(Instant::now());
                m.read_offset = off + link.buf.len() as i64;
            }
            crate::cmd::after_command(&mut st, None);
            let _ = crate::persistence::aof::flush(&mut st);
            super::flush_out(&mut st);
        }
        for off in acks {
            link.send(&["REPLCONF", "ACK", &off.to_string()]).await?;
        }
        tokio::select! {
            r = tokio::time::timeout(link.timeout, link.s.read_buf(&mut link.buf)) => {
                match r {
                    Ok(Ok(0)) => return Err("connection closed by master".into()),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(e.to_string()),
                    Err(_) => return Err("MASTER timeout: no data nor PING received...".into()),
                }
            }
            _ = ack.tick() => {
                let off = shared.lock().repl.offset;
                link.send(&["REPLCONF", "ACK", &off.to_string()]).await?;
            }
        }
    }
}

/// Runs one command from the master (no reply, no checks: the master
/// already decided).
fn apply(shared: &Shared, st: &mut State, master: &mut crate::state::ClientInfo, args: &[Bytes]) {
    let Some(cmd) = crate::cmd::lookup(&args[0]) else {
        tracing::warn!(
            "Unknown command '{}' from master, ignored",
            String::from_utf8_lossy(&args[0])
        );
        return;
    };
    if (cmd.arity > 0 && args.len() as i32 != cmd.arity) || (args.len() as i32) < -cmd.arity {
        return;
    }
    // the master's commands see every key it has not deleted yet
    for db in st.dbs.iter_mut() {
        db.frozen = true;
    }
    let _ = crate::cmd::call(shared, st, master, cmd, args, true);
    for db in st.dbs.iter_mut() {
        db.frozen = false;
    }
    crate::cmd::after_command(st, Some(master));
}
