//! The listener, the accept loop (maxclients, protected mode), the cron
//! (active expiry at `hz`, idle client timeout, pause expiry) and shutdown
//! on SHUTDOWN or SIGTERM/SIGINT.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpSocket};

use picket_common::net::{protected_mode_admits, PROTECTED_MODE_MSG};

use crate::state::Shared;

/// Binds every address of `bind` (Redis's `* -::*` default: IPv4 any and,
/// optionally, IPv6 any; a leading `-` means "ignore if unavailable").
pub fn bind_all(bind: &[String], port: u16, backlog: u32) -> anyhow::Result<Vec<TcpListener>> {
    let out: Vec<TcpListener> = bind_all_std_backlog(bind, port, backlog)?
        .into_iter()
        .map(TcpListener::from_std)
        .collect::<std::io::Result<_>>()?;
    if out.is_empty() {
        anyhow::bail!("Failed listening on port {port} (tcp), aborting.");
    }
    Ok(out)
}

/// Binds listeners synchronously (CONFIG SET port/bind must fail at once
/// when the port is taken, as in Redis).
pub fn bind_all_std(bind: &[String], port: u16) -> anyhow::Result<Vec<std::net::TcpListener>> {
    bind_all_std_backlog(bind, port, 511)
}

fn bind_all_std_backlog(
    bind: &[String],
    port: u16,
    backlog: u32,
) -> anyhow::Result<Vec<std::net::TcpListener>> {
    let mut out = Vec::new();
    let addrs: Vec<String> = if bind.is_empty() {
        vec!["*".into(), "-::*".into()]
    } else {
        bind.to_vec()
    };
    for a in addrs {
        let (optional, a) = match a.strip_prefix('-') {
            Some(r) => (true, r.to_string()),
            None => (false, a),
        };
        let ip: IpAddr = match a.as_str() {
            "*" | "0.0.0.0" => "0.0.0.0".parse()?,
            "::*" | "::" => "::".parse()?,
            other => match other.parse() {
                Ok(ip) => ip,
                Err(_) if optional => continue,
                Err(e) => anyhow::bail!("Invalid bind address '{other}': {e}"),
            },
        };
        let sock = if ip.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let res = sock.and_then(|s| {
            s.set_reuseaddr(true)?;
            if ip.is_ipv6() {
                let raw = std::os::fd::AsRawFd::as_raw_fd(&s);
                let one: libc::c_int = 1;
                // SAFETY: plain setsockopt on a socket we own.
                unsafe {
                    libc::setsockopt(
                        raw,
                        libc::IPPROTO_IPV6,
                        libc::IPV6_V6ONLY,
                        &one as *const _ as *const libc::c_void,
                        std::mem::size_of::<libc::c_int>() as u32,
                    );
                }
            }
            s.bind(SocketAddr::new(ip, port))?;
            let l = s.listen(backlog)?;
            l.into_std()
        });
        match res {
            Ok(l) => out.push(l),
            Err(e) if optional => tracing::debug!("skipping optional bind {ip}:{port}: {e}"),
            Err(e) => {
                anyhow::bail!("Could not create server TCP listening socket {ip}:{port}: {e}")
            }
        }
    }
    Ok(out)
}

/// Runs the server until SHUTDOWN or a signal.
pub async fn run(shared: Arc<Shared>, listeners: Vec<TcpListener>) -> anyhow::Result<()> {
    let mut shutdown_rx = shared.shutdown.subscribe();
    let mut accepting: Vec<tokio::task::JoinHandle<()>> = listeners
        .into_iter()
        .map(|l| tokio::spawn(accept_loop(shared.clone(), l)))
        .collect();
    let _ = PARK_SHARED.set(Arc::downgrade(&shared));
    tokio::spawn(cron(shared.clone()));
    tokio::spawn(replication_cron(shared.clone()));
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut rebind_rx = match shared.rebind_rx.lock() {
        Ok(mut g) => g.take(),
        Err(p) => p.into_inner().take(),
    };
    loop {
        tokio::select! {
            _ = sigterm.recv() => { tracing::warn!("Received SIGTERM scheduling shutdown..."); break }
            _ = sigint.recv() => { tracing::warn!("Received SIGINT scheduling shutdown..."); break }
            _ = shutdown_rx.changed() => break,
            Some(ls) = async { match rebind_rx.as_mut() { Some(r) => r.recv().await, None => std::future::pending().await } } => {
                // CONFIG SET port/bind: the new sockets are already bound; swap them in.
                for h in accepting.drain(..) {
                    h.abort();
                }
                for l in ls {
                    match TcpListener::from_std(l) {
                        Ok(l) => accepting.push(tokio::spawn(accept_loop(shared.clone(), l))),
                        Err(e) => tracing::warn!("cannot use new listener: {e}"),
                    }
                }
            }
        }
    }
    tracing::warn!("User requested shutdown...");
    prepare_for_shutdown(&shared);
    tracing::warn!("Redis is now ready to exit, bye bye...");
    Ok(())
}

/// What SHUTDOWN does before exiting (Redis's `prepareForShutdown`).
pub fn prepare_for_shutdown(shared: &Shared) {
    let mut st = shared.lock();
    crate::persistence::bgsave_kill(&mut st);
    if st.aof.is_some() {
        crate::persistence::aof::rewrite_kill(&mut st);
        crate::persistence::aof::flush_and_sync(&mut st);
    }
    // SIGTERM/SIGINT: save like SHUTDOWN without arguments would
    if !st.shutdown_asap && !st.config.save_params.is_empty() {
        tracing::warn!("Saving the final RDB snapshot before exiting.");
        if let Err(e) = crate::persistence::save(shared, &mut st) {
            tracing::warn!("Error trying to save the DB: {e}");
        }
    }
    let pidfile = st.config.get("pidfile").unwrap_or("").to_string();
    if !pidfile.is_empty() {
        let _ = std::fs::remove_file(&pidfile);
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let (mut socket, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("Accepting client connection: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let (protected, keepalive) = {
            let st = shared.lock();
            (
                st.config.protected_mode && st.acl.default_user().nopass(),
                st.config.tcp_keepalive,
            )
        };
        if protected && !protected_mode_admits(peer.ip()) {
            tokio::spawn(async move {
                let _ = socket.write_all(PROTECTED_MODE_MSG.as_bytes()).await;
            });
            continue;
        }
        if keepalive > 0 {
            set_keepalive(&socket, keepalive as u32);
        }
        match crate::conn::register(&shared, &socket) {
            Some((id, rx, kill, budget)) => {
                let shared = shared.clone();
                tokio::spawn(crate::conn::serve(shared, socket, id, rx, budget, kill));
            }
            None => {
                tokio::spawn(async move {
                    let _ = socket
                        .write_all(b"-ERR max number of clients reached\r\n")
                        .await;
                });
            }
        }
    }
}

fn set_keepalive(socket: &tokio::net::TcpStream, secs: u32) {
    use std::os::fd::AsRawFd;
    let fd = socket.as_raw_fd();
    let one: libc::c_int = 1;
    let idle = secs as libc::c_int;
    let intvl = (secs / 3).max(1) as libc::c_int;
    let cnt: libc::c_int = 3;
    unsafe {
        let sz = std::mem::size_of::<libc::c_int>() as u32;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            &one as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPIDLE,
            &idle as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            &intvl as *const _ as *const libc::c_void,
            sz,
        );
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPCNT,
            &cnt as *const _ as *const libc::c_void,
            sz,
        );
    }
}

/// The server the runtime's park hook works for (set once by [`run`]).
static PARK_SHARED: std::sync::OnceLock<std::sync::Weak<Shared>> = std::sync::OnceLock::new();

/// The server, for work done outside a task (the park hook, the blocking pool).
pub fn park_shared() -> Option<Arc<Shared>> {
    PARK_SHARED.get().and_then(|w| w.upgrade())
}

/// Runs when a runtime thread has nothing ready and is about to park
/// (tokio's `on_thread_park`; Redis's `beforeSleep`): the AOF write (and
/// fdatasync) and the replicas' share of the stream for every batch of
/// the tick, once.
pub fn before_sleep() {
    if !crate::persistence::aof::has_work() && !crate::replication::has_work() {
        return;
    }
    let Some(shared) = park_shared() else { return };
    crate::persistence::aof::before_sleep(&shared);
    crate::replication::before_sleep(&shared);
}

/// The replication cron (10 Hz, and at once when kicked: a new replica,
/// REPLICAOF, WAIT): starts full syncs, pings replicas, drops dead ones,
/// answers WAIT, and keeps the link to our master running.
async fn replication_cron(shared: Arc<Shared>) {
    let mut shutdown_rx = shared.shutdown.subscribe();
    let kick = shared.lock().repl.kick.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            _ = kick.notified() => {}
            _ = shutdown_rx.changed() => return,
        }
        {
            let mut st = shared.lock();
            if st.loading {
                continue;
            }
            st.start_batch(shared.started);
            crate::replication::failover::cron(&mut st, &shared);
            crate::replication::master::cron(&shared, &mut st);
            let _ = crate::persistence::aof::flush(&mut st);
            crate::replication::flush_out(&mut st);
        }
        crate::replication::replica::ensure_link(&shared);
    }
}

/// `serverCron`: active expiry, idle-client timeout, pause expiry, ops/sec samples.
async fn cron(shared: Arc<Shared>) {
    let mut shutdown_rx = shared.shutdown.subscribe();
    loop {
        let hz = shared.lock().config.hz.max(1) as u64;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(1000 / hz)) => {}
            _ = shutdown_rx.changed() => return,
        }
        let mut st = shared.lock();
        st.start_batch(shared.started);
        crate::persistence::bgsave_poll(&mut st);
        crate::persistence::aof::cron(&shared, &mut st);
        crate::persistence::save_points_check(&shared, &mut st);
        // Active expiry: a slice of at most 25% of the cron period
        // (ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC), spread over the dbs.
        if st.active_expire_enabled {
            let budget = Duration::from_micros(250_000 / hz);
            let deadline = Instant::now() + budget;
            let now = crate::state::now_ms();
            let n = st.dbs.len();
            let (mut sampled, mut expired) = (0usize, 0usize);
            for i in 0..n {
                let (s, e) = st.dbs[i].active_expire(now, deadline);
                sampled += s;
                expired += e;
                if Instant::now() >= deadline {
                    st.stats.expired_time_cap_reached_count += 1;
                    break;
                }
            }
            if sampled > 0 {
                let perc = expired as f64 / sampled as f64;
                st.stats.expired_stale_perc = perc * 0.05 + st.stats.expired_stale_perc * 0.95;
            }
            crate::cmd::after_command(&mut st, None);
        }
        // what the cron itself wrote (expired keys' DELs)
        let _ = crate::persistence::aof::flush(&mut st);
        crate::replication::flush_out(&mut st);
        // Idle timeout (blocked, pub/sub and MONITOR clients are exempt, as in Redis).
        let timeout = st.config.timeout;
        if timeout > 0 {
            let limit = Duration::from_secs(timeout as u64);
            for c in st.clients.values() {
                if !c.blocked
                    && !c.subscribed()
                    && !c.monitor
                    && c.last_interaction.elapsed() > limit
                {
                    tracing::debug!(client = c.id, "Closing idle client");
                    c.kill.notify_one();
                }
            }
        }
        if let Some(p) = st.pause {
            if p.until_ms <= crate::state::now_ms() {
                st.pause = None;
                drop(st);
                shared.unpaused.notify_waiters();
                continue;
            }
        }
        let total = st.stats.total_commands_processed;
        st.stats.ops_samples.push_back((Instant::now(), total));
        while st.stats.ops_samples.len() > 16 {
            st.stats.ops_samples.pop_front();
        }
    }
}
