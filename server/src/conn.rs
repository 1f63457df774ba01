//! One task per connection: read, parse (check-then-parse, so partial
//! requests simply wait for more bytes), execute the whole parsed batch
//! under one lock (pipelining), write the replies, and handle what a
//! command asked for afterwards (block, sleep, pause, close, shutdown).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use picket_common::resp::{parse_request, Frame, RequestLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

use crate::cmd::{execute, Flow};
use crate::state::{ClientInfo, ClientKind, ReplyMode, Shared};

/// What a registered connection needs: its client id, the receiving end of
/// its out-of-band queue, its kill signal and the queue's byte budget.
pub type Registration = (
    u64,
    mpsc::UnboundedReceiver<Frame>,
    Arc<Notify>,
    Arc<crate::push::Budget>,
);

/// Registers a new client; returns None (after replying) when maxclients is reached.
pub fn register(shared: &Shared, socket: &TcpStream) -> Option<Registration> {
    let kill = Arc::new(Notify::new());
    let (tx, rx, budget) = crate::push::PushSink::new(kill.clone());
    let mut st = shared.lock();
    st.stats.total_connections_received += 1;
    if st.clients.len() as i64 >= st.config.maxclients {
        st.stats.rejected_connections += 1;
        return None;
    }
    let id = st.next_client_id;
    st.next_client_id += 1;
    let fd = {
        use std::os::fd::AsRawFd;
        socket.as_raw_fd()
    };
    let authenticated = crate::cmd::acl::starts_authenticated(&st);
    let mut info = new_client(id, tx, kill.clone());
    info.addr = socket
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info.laddr = socket
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    info.fd = fd;
    info.authenticated = authenticated;
    st.clients.insert(id, Box::new(info));
    Some((id, rx, kill, budget))
}

/// A client with no connection (the AOF loader's, like Redis's fake client).
pub fn detached_client(id: u64) -> ClientInfo {
    let kill = Arc::new(Notify::new());
    let (tx, _rx, _budget) = crate::push::PushSink::new(kill.clone());
    let mut c = new_client(id, tx, kill);
    c.superuser = true;
    c
}

fn new_client(id: u64, push_tx: crate::push::PushSink, kill: Arc<Notify>) -> ClientInfo {
    ClientInfo {
        id,
        addr: String::new(),
        laddr: String::new(),
        fd: -1,
        name: None,
        lib_name: None,
        lib_ver: None,
        db: 0,
        resp: 2,
        user: "default".into(),
        superuser: false,
        authenticated: true,
        created: Instant::now(),
        last_interaction: Instant::now(),
        multi: None,
        multi_error: false,
        watched: Vec::new(),
        dirty_cas: false,
        channels: Default::default(),
        patterns: Default::default(),
        shard_channels: Default::default(),
        push_tx,
        kill,
        killed: false,
        reply_mode: ReplyMode::On,
        last_cmd: "NULL",
        qbuf: 0,
        no_evict: false,
        monitor: false,
        blocked: false,
        close_after_reply: false,
        kind: ClientKind::Normal,
    }
}

/// Removes every trace of a client (subscriptions, blocking, watches).
pub fn unregister(shared: &Shared, id: u64) {
    let mut st = shared.lock();
    st.unblock(id);
    st.monitors.shift_remove(&id);
    if let Some(mut c) = st.clients.remove(&id) {
        let ch: Vec<Bytes> = c.channels.drain().collect();
        let pa: Vec<Bytes> = c.patterns.drain().collect();
        let sh: Vec<Bytes> = c.shard_channels.drain().collect();
        st.pubsub.remove_client(id, &ch, &pa, &sh);
        st.unwatch_all(&mut c);
    }
}

/// Writes the output buffer; false when the socket failed or the client
/// was killed meanwhile (a client that never reads must still be closable,
/// e.g. by the pub/sub output buffer limit or CLIENT KILL).
async fn write_out(wr: &mut tokio::net::tcp::OwnedWriteHalf, out: &[u8], kill: &Notify) -> bool {
    if out.is_empty() {
        return true;
    }
    tokio::select! {
        r = wr.write_all(out) => r.is_ok(),
        _ = kill.notified() => false,
    }
}

/// Waits for a blocked command's outcome (BLPOP & co., WAIT) until
/// `deadline`, still reading what the client pipelines meanwhile.
/// `Ok(None)` is the deadline; `Err(())` means the connection must close
/// (killed, or the client went away).
async fn await_reply<T>(
    rx: &mut tokio::sync::oneshot::Receiver<T>,
    deadline: Option<Instant>,
    rd: &mut tokio::net::tcp::OwnedReadHalf,
    inbuf: &mut BytesMut,
    kill: &Notify,
    net_in: &mut u64,
    reads: &mut u64,
) -> Result<Option<T>, ()> {
    let sleep = async {
        match deadline {
            Some(d) => tokio::time::sleep_until(d.into()).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            r = &mut *rx => return Ok(r.ok()),
            _ = &mut sleep => return Ok(None),
            _ = kill.notified() => return Err(()),
            n = rd.read_buf(inbuf) => match n {
                Ok(0) | Err(_) => return Err(()),
                Ok(n) => {
                    *net_in += n as u64;
                    *reads += 1;
                }
            },
        }
    }
}

/// Serves one connection until it closes.
pub async fn serve(
    shared: Arc<Shared>,
    socket: TcpStream,
    id: u64,
    mut push_rx: mpsc::UnboundedReceiver<Frame>,
    budget: Arc<crate::push::Budget>,
    kill: Arc<Notify>,
) {
    let _ = socket.set_nodelay(true);
    let (mut rd, mut wr) = socket.into_split();
    let mut inbuf = BytesMut::with_capacity(16 * 1024);
    let mut out = BytesMut::with_capacity(16 * 1024);
    let mut pending: VecDeque<picket_common::resp::Args> = VecDeque::new();
    let mut resp: u8 = 2;
    let mut closing = false;
    let mut protocol_error: Option<String> = None;
    let (mut net_in, mut net_out, mut reads, mut writes) = (0u64, 0u64, 0u64, 0u64);
    // Parser limits, refreshed from the config after every batch (we hold
    // the lock then anyway), so parsing itself never takes the lock.
    let (mut limits, mut qlimit) = {
        let st = shared.lock();
        let authed = st.clients.get(&id).map(|c| c.authenticated).unwrap_or(true);
        (
            RequestLimits {
                max_bulk_len: st.config.proto_max_bulk_len,
                unauthenticated: !authed,
            },
            st.config.client_query_buffer_limit as usize,
        )
    };

    'conn: loop {
        // Parse every complete request in the buffer.
        if protocol_error.is_none() {
            let mut consumed = 0;
            loop {
                match parse_request(&inbuf[consumed..], &limits) {
                    Ok(Some((req, used))) => {
                        consumed += used;
                        pending.push_back(req.args);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        protocol_error = Some(e.0);
                        break;
                    }
                }
            }
            bytes::Buf::advance(&mut inbuf, consumed);
            if inbuf.len() > qlimit {
                tracing::warn!(
                    client = id,
                    "Closing client that reached max query buffer length"
                );
                break 'conn;
            }
        }

        // Execute the batch under one lock.
        let mut flow = Flow::Continue;
        let mut durable = None;
        let mut streamed = None;
        if !pending.is_empty() {
            let mut st = shared.lock();
            let Some(mut client) = st.clients.remove(&id) else {
                break 'conn;
            };
            st.start_batch(shared.started);
            // traffic counters are kept locally and folded in here, under
            // the lock we hold anyway (INFO stats)
            st.stats.total_net_input_bytes += std::mem::take(&mut net_in);
            st.stats.total_net_output_bytes += std::mem::take(&mut net_out);
            st.stats.total_reads_processed += std::mem::take(&mut reads);
            st.stats.total_writes_processed += std::mem::take(&mut writes);
            client.qbuf = inbuf.len();
            while let Some(args) = pending.pop_front() {
                let quit = args.len() == 1 && args[0].eq_ignore_ascii_case(b"quit");
                if quit {
                    crate::cmd::emit(&mut client, Frame::ok(), &mut out);
                    closing = true;
                    pending.clear();
                    break;
                }
                let watch_pushes = client.subscribed() || client.monitor;
                if watch_pushes {
                    let mut tmp = BytesMut::new();
                    flow = execute(&shared, &mut st, &mut client, args, &mut tmp);
                    while let Ok(f) = push_rx.try_recv() {
                        budget.consumed(&f);
                        f.encode(client.resp, &mut out);
                    }
                    out.extend_from_slice(&tmp);
                } else {
                    flow = execute(&shared, &mut st, &mut client, args, &mut out);
                }
                if client.close_after_reply {
                    closing = true;
                }
                if !matches!(flow, Flow::Continue) || closing {
                    break;
                }
            }
            resp = client.resp;
            limits = RequestLimits {
                max_bulk_len: st.config.proto_max_bulk_len,
                unauthenticated: !client.authenticated,
            };
            qlimit = st.config.client_query_buffer_limit as usize;
            st.clients.insert(id, client);
            // the batch's writes reach the AOF before its replies leave
            durable = crate::persistence::aof::flush(&mut st);
            streamed = crate::replication::flush_later(&mut st);
        }
        if let Some((sync, upto)) = durable.take() {
            // appendfsync always: reply only once the bytes are on disk
            sync.wait(upto).await;
        }
        if let Some((mark, upto)) = streamed.take() {
            // the replicas' share of the batch's writes is handed to their
            // sockets before the replies leave (a master killed right after
            // acknowledging has already passed the write on)
            mark.wait(upto).await;
        }
        if let Some(e) = protocol_error.take() {
            Frame::err(format!("ERR {e}")).encode(resp, &mut out);
            tracing::debug!(client = id, "Protocol error ({e}) from client");
            let _ = wr.write_all(&out).await;
            break 'conn;
        }
        if !out.is_empty() {
            net_out += out.len() as u64;
            writes += 1;
            if !write_out(&mut wr, &out, &kill).await {
                break 'conn;
            }
            out.clear();
        }
        if closing {
            break 'conn;
        }

        match flow {
            Flow::Continue => {}
            Flow::Close => break 'conn,
            Flow::Shutdown => {
                let _ = shared.shutdown.send(true);
                break 'conn;
            }
            Flow::Replica { rx } => {
                crate::replication::master::serve_replica(
                    shared.clone(),
                    id,
                    rd,
                    wr,
                    rx,
                    kill.clone(),
                    std::mem::take(&mut inbuf),
                )
                .await;
                unregister(&shared, id);
                return;
            }
            Flow::Wait {
                mut rx,
                deadline,
                offset,
            } => {
                let Ok(n) = await_reply(
                    &mut rx,
                    deadline,
                    &mut rd,
                    &mut inbuf,
                    &kill,
                    &mut net_in,
                    &mut reads,
                )
                .await
                else {
                    break 'conn;
                };
                {
                    let mut st = shared.lock();
                    let n = n
                        .unwrap_or_else(|| crate::replication::master::acked_replicas(&st, offset));
                    if let Some(c) = st.clients.get_mut(&id) {
                        crate::cmd::emit(c, Frame::Integer(n), &mut out);
                    }
                }
                net_out += out.len() as u64;
                writes += 1;
                if !write_out(&mut wr, &out, &kill).await {
                    break 'conn;
                }
                out.clear();
                continue 'conn;
            }
            Flow::Paused(args) => {
                pending.push_front(args);
                // Wait for a change (CLIENT PAUSE's end or UNPAUSE, a
                // FAILOVER's end), then dispatch the command again: it may
                // still be paused, or now meet a replica (-READONLY).
                // Registered before looking, so no wake-up is missed.
                let unpaused = shared.unpaused.notified();
                tokio::pin!(unpaused);
                unpaused.as_mut().enable();
                let wait = {
                    let mut st = shared.lock();
                    match st.pause.map(|p| p.until_ms - crate::state::now_ms()) {
                        Some(ms) if ms > 0 => Some(Some(ms as u64)),
                        Some(_) => {
                            st.pause = None;
                            None
                        }
                        None if crate::replication::failover::pauses_writes(&st) => Some(None),
                        None => None,
                    }
                };
                if let Some(ms) = wait {
                    let sleep = async {
                        match ms {
                            Some(ms) => {
                                tokio::time::sleep(std::time::Duration::from_millis(ms)).await
                            }
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        _ = unpaused => {}
                        _ = sleep => {}
                        _ = kill.notified() => break 'conn,
                    }
                }
                continue 'conn;
            }
            Flow::Block {
                mut rx,
                deadline,
                timeout_reply,
            } => {
                let Ok(reply) = await_reply(
                    &mut rx,
                    deadline,
                    &mut rd,
                    &mut inbuf,
                    &kill,
                    &mut net_in,
                    &mut reads,
                )
                .await
                else {
                    break 'conn;
                };
                let reply = match reply {
                    Some(r) => r,
                    None => {
                        let mut st = shared.lock();
                        if st.unblock(id).is_some() {
                            timeout_reply
                        } else {
                            // served between the timeout and taking the lock
                            rx.try_recv().unwrap_or(timeout_reply)
                        }
                    }
                };
                let durable = {
                    let mut st = shared.lock();
                    if let Some(c) = st.clients.get_mut(&id) {
                        c.blocked = false;
                        crate::cmd::emit(c, reply, &mut out);
                    }
                    // the pop that served us was written by the batch that
                    // fed the key; with appendfsync always wait for it too
                    crate::persistence::aof::pending_target(&st)
                };
                if let Some((sync, upto)) = durable {
                    sync.wait(upto).await;
                }
                net_out += out.len() as u64;
                writes += 1;
                if !write_out(&mut wr, &out, &kill).await {
                    break 'conn;
                }
                out.clear();
                continue 'conn;
            }
        }

        // Wait for input, an out-of-band push, or a kill.
        tokio::select! {
            n = rd.read_buf(&mut inbuf) => {
                match n {
                    Ok(0) | Err(_) => break 'conn,
                    Ok(n) => {
                        net_in += n as u64;
                        reads += 1;
                    }
                }
            }
            f = push_rx.recv() => {
                if let Some(f) = f {
                    let mut drained = crate::push::frame_size(&f);
                    f.encode(resp, &mut out);
                    while let Ok(f) = push_rx.try_recv() {
                        drained += crate::push::frame_size(&f);
                        f.encode(resp, &mut out);
                    }
                    net_out += out.len() as u64;
            writes += 1;
            if !write_out(&mut wr, &out, &kill).await {
                        break 'conn;
                    }
                    budget.consumed_bytes(drained);
                    out.clear();
                }
            }
            _ = kill.notified() => break 'conn,
        }
    }
    unregister(&shared, id);
}
