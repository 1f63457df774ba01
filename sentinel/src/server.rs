//! The sentinel's own server: clients (redis-cli, client libraries, other
//! sentinels) on `port`/`bind`, RESP2 and RESP3, the commands a 7.0
//! sentinel accepts (reference §13) and the SENTINEL subcommands whose
//! replies need no instance formatting (§14).
//!
//! The subcommands that print instance maps (MASTERS, MASTER, REPLICAS,
//! SLAVES, SENTINELS), SET, CONFIG, INFO-CACHE, DEBUG, SIMULATE-FAILURE and
//! the `# Sentinel` INFO section belong to the reply-formatting module;
//! they plug in at [`formatted_subcommand`] and [`info_sentinel_section`].
//!
//! CLIENT and COMMAND, and the connection state CLIENT controls (REPLY,
//! TRACKING, the server-wide PAUSE), are in `clientcmd`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use picket_common::acl::{AclLog, LogEntry, Reason, Request, User};
use picket_common::net::{protected_mode_admits, PROTECTED_MODE_MSG};
use picket_common::resp::{parse_request, Frame, RequestLimits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};

use crate::acl;
use crate::hello::HELLO_CHANNEL;
use crate::instance::MasterConfig;
use crate::io::Input;
use crate::pubsub::Message;
use crate::runtime::Sentinel;

mod clientcmd;
mod stats;

use clientcmd::{command, ReplyMode, Tracking};

const VERSION: &str = "7.0.15";

/// What CLIENT LIST/KILL need to know about a connection.
struct ClientEntry {
    addr: String,
    laddr: String,
    name: String,
    created: Instant,
    last: Instant,
    last_cmd: String,
    resp: u8,
    /// The ACL user the connection is authenticated as.
    user: String,
    kill: Arc<Notify>,
    /// CLIENT NO-EVICT ON (flag `e`).
    no_evict: bool,
    /// CLIENT TRACKING ON: (BCAST, redirect) (flags `t`, `B`; `redir=`).
    tracking: Option<(bool, i64)>,
    /// A command waiting for CLIENT PAUSE to end (flag `b`, counted in
    /// INFO's `blocked_clients`, as Redis's `BLOCKED_POSTPONE`).
    blocked: bool,
    /// CLIENT UNBLOCK <id> ERROR was called while `blocked`; the
    /// connection, woken through `unblock`, answers the error and holds
    /// its command again.
    unblock_error: bool,
    unblock: Arc<Notify>,
}

impl ClientEntry {
    /// The connection's CLIENT LIST / CLIENT INFO line
    /// (`catClientInfoString`), without the newline.
    fn info_line(&self, id: u64, sub: usize, psub: usize) -> String {
        // in catClientInfoString's order
        let mut flags = String::new();
        for (on, f) in [
            (sub + psub > 0, 'P'),
            (self.blocked, 'b'),
            (self.tracking.is_some(), 't'),
            (self.tracking.is_some_and(|(bcast, _)| bcast), 'B'),
            (self.no_evict, 'e'),
        ] {
            if on {
                flags.push(f);
            }
        }
        if flags.is_empty() {
            flags.push('N');
        }
        format!(
            "id={id} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db=0 sub={sub} psub={psub} ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={} redir={} resp={}",
            self.addr,
            self.laddr,
            self.name,
            self.created.elapsed().as_secs(),
            self.last.elapsed().as_secs(),
            flags,
            self.last_cmd,
            self.user,
            self.tracking.map_or(-1, |(_, redir)| redir),
            self.resp
        )
    }
}

/// The connected clients, by id, and the client pause they share.
pub struct Clients {
    map: Mutex<BTreeMap<u64, ClientEntry>>,
    next_id: AtomicU64,
    acl_log: Mutex<AclLog>,
    /// CLIENT PAUSE's state; a watch channel so that connections holding
    /// a postponed command wake when it changes.
    pause: tokio::sync::watch::Sender<clientcmd::Pause>,
    /// INFO's `# Stats` counters.
    stats: stats::Stats,
}

impl Default for Clients {
    fn default() -> Self {
        Clients {
            map: Mutex::default(),
            next_id: AtomicU64::default(),
            acl_log: Mutex::default(),
            pause: clientcmd::pause_channel(),
            stats: stats::Stats::default(),
        }
    }
}

impl Clients {
    fn with<R>(&self, f: impl FnOnce(&mut BTreeMap<u64, ClientEntry>) -> R) -> R {
        f(&mut self.map.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn acl_log(&self) -> std::sync::MutexGuard<'_, AclLog> {
        self.acl_log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Binds every `bind` address on `port` (Redis's default `* -::*`; a
/// leading `-` marks an address whose failure is not fatal). Returns the
/// listeners, or the error text Redis logs.
pub async fn bind(addrs: &[String], port: u16) -> Result<Vec<TcpListener>, String> {
    let mut out = Vec::new();
    for a in addrs {
        let (optional, a) = match a.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, a.as_str()),
        };
        let host = match a {
            "*" => "0.0.0.0",
            "::*" => "::",
            h => h,
        };
        match TcpListener::bind((host, port)).await {
            Ok(l) => out.push(l),
            Err(_) if optional => {}
            Err(e) => {
                return Err(format!(
                    "Warning: Could not create server TCP listening socket {a}:{port}: bind: {}",
                    crate::config::strerror(&e)
                ))
            }
        }
    }
    Ok(out)
}

/// Accepts clients on `listeners` until shutdown.
pub async fn serve(s: Arc<Sentinel>, listeners: Vec<TcpListener>) {
    let clients = Arc::new(Clients::default());
    {
        // trackInstantaneousMetric, every 100 ms
        let (s, clients) = (Arc::clone(&s), Arc::clone(&clients));
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
            loop {
                tokio::select! {
                    _ = every.tick() => clients.stats.sample(),
                    _ = s.stopped() => return,
                }
            }
        });
    }
    for l in listeners {
        let (s, clients) = (Arc::clone(&s), Arc::clone(&clients));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    r = l.accept() => {
                        let Ok((mut stream, peer)) = r else { continue };
                        stats::Stats::add(&clients.stats.connections_received, 1);
                        let protected = {
                            let g = s.lock();
                            g.config.server.protected_mode() && g.config.server.acl.default_user().nopass()
                        };
                        if protected && !protected_mode_admits(peer.ip()) {
                            // (protected mode holds while the default user
                            // has no password, however it was set;
                            // redis-sentinel is in protected mode only when
                            // its config turns it on; the default is off)
                            tokio::spawn(async move {
                                let _ = stream.write_all(PROTECTED_MODE_MSG.as_bytes()).await;
                            });
                            continue;
                        }
                        let (s, clients) = (Arc::clone(&s), Arc::clone(&clients));
                        tokio::spawn(async move { Client::run(s, clients, stream).await });
                    }
                    _ = s.stopped() => return,
                }
            }
        });
    }
}

/// One client connection.
struct Client {
    id: u64,
    s: Arc<Sentinel>,
    clients: Arc<Clients>,
    resp: u8,
    authed: bool,
    /// The ACL user the connection runs as.
    user: String,
    name: String,
    close: bool,
    /// CLIENT REPLY's mode.
    reply: ReplyMode,
    /// CLIENT TRACKING's state.
    tracking: Tracking,
    /// A command of this connection waits for CLIENT PAUSE to end.
    blocked: bool,
}

enum Flow {
    Reply(Frame),
    /// Several replies to one command (a Redis quirk kept on purpose).
    Replies(Vec<Frame>),
    /// Replies already written (SUBSCRIBE and friends).
    Written,
    /// Held back by CLIENT PAUSE: to run again, from scratch, once the
    /// pause ends (`BLOCKED_POSTPONE`).
    Postponed,
}

fn err(msg: impl Into<String>) -> Flow {
    Flow::Reply(Frame::err(msg))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn arity_error(name: &str) -> Flow {
    err(format!(
        "ERR wrong number of arguments for '{}' command",
        name.to_ascii_lowercase()
    ))
}

/// Redis's arity rule: `arity` exact when positive, a minimum when
/// negative.
fn arity_ok(arity: i64, argc: usize) -> bool {
    let argc = argc as i64;
    if arity > 0 {
        argc == arity
    } else {
        argc >= -arity
    }
}

/// `processCommand`'s checks, from the command table: an unknown command,
/// an unknown subcommand of a container command (`Try <NAME> HELP.`), and
/// the arity of the command or subcommand, with Redis's texts.
fn check_arity(args: &[Bytes]) -> Result<(), Flow> {
    use crate::cmdtable::lookup;
    let name = lossy(&args[0]).to_ascii_lowercase();
    let Some(spec) = lookup(&name) else {
        return Err(unknown_command(args));
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return match arity_ok(spec.arity, args.len()) {
            true => Ok(()),
            false => Err(arity_error(&name)),
        };
    }
    let sub = lossy(&args[1]);
    let full = format!("{name}|{}", sub.to_ascii_lowercase());
    let Some(sub_spec) = lookup(&full) else {
        let sub = &sub[..sub.floor_char_boundary(128)];
        return Err(err(format!(
            "ERR unknown subcommand '{sub}'. Try {} HELP.",
            name.to_ascii_uppercase()
        )));
    };
    match arity_ok(sub_spec.arity, args.len()) {
        true => Ok(()),
        false => Err(arity_error(&full)),
    }
}

/// `ERR unknown command '<name>', with args beginning with: '<a>' ...`.
fn unknown_command(args: &[Bytes]) -> Flow {
    let mut msg = format!(
        "ERR unknown command '{}', with args beginning with: ",
        lossy(&args[0][..args[0].len().min(128)])
    );
    let mut budget = 128usize;
    for a in &args[1..] {
        if budget == 0 {
            break;
        }
        let take = a.len().min(budget);
        msg.push_str(&format!("'{}' ", lossy(&a[..take])));
        budget -= take;
    }
    err(msg)
}

fn parse_i64(b: &[u8]) -> Option<i64> {
    picket_common::num::parse_i64(b)
}

impl Client {
    async fn run(s: Arc<Sentinel>, clients: Arc<Clients>, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let addr = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let laddr = stream
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        let id = clients.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let kill = Arc::new(Notify::new());
        let unblock = Arc::new(Notify::new());
        clients.with(|m| {
            m.insert(
                id,
                ClientEntry {
                    addr,
                    laddr,
                    name: String::new(),
                    created: Instant::now(),
                    last: Instant::now(),
                    last_cmd: "NULL".into(),
                    resp: 2,
                    user: "default".into(),
                    kill: Arc::clone(&kill),
                    no_evict: false,
                    tracking: None,
                    blocked: false,
                    unblock_error: false,
                    unblock: Arc::clone(&unblock),
                },
            )
        });
        let (tx, mut rx) = mpsc::unbounded_channel();
        s.hub.register(id, tx);
        let authed = !s.lock().config.server.acl.auth_required();
        let mut c = Client {
            id,
            s: Arc::clone(&s),
            clients: Arc::clone(&clients),
            resp: 2,
            authed,
            user: "default".into(),
            name: String::new(),
            close: false,
            reply: ReplyMode::default(),
            tracking: Tracking::default(),
            blocked: false,
        };
        let (mut rd, mut wr) = stream.into_split();
        let mut buf = BytesMut::with_capacity(4096);
        let mut out = BytesMut::new();
        let mut pause_rx = clients.pause.subscribe();
        // a command CLIENT PAUSE holds back; nothing after it is parsed
        // until it has run
        let mut postponed: Option<Vec<Bytes>> = None;
        loop {
            if let Some(args) = postponed.take() {
                c.execute(args, &mut out, &mut postponed);
            }
            while postponed.is_none() && !c.close {
                let limits = RequestLimits {
                    unauthenticated: !c.authed,
                    ..Default::default()
                };
                match parse_request(&buf, &limits) {
                    Ok(Some((req, used))) => {
                        let _ = buf.split_to(used);
                        if req.args.is_empty() {
                            continue;
                        }
                        c.execute(req.args.into_iter().collect(), &mut out, &mut postponed);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        if c.reply.sends() {
                            Frame::err(format!("ERR {}", e.0)).encode(c.resp, &mut out);
                        }
                        stats::Stats::add(&clients.stats.error_replies, 1);
                        c.close = true;
                    }
                }
            }
            if !out.is_empty() {
                if wr.write_all(&out).await.is_err() {
                    break;
                }
                stats::Stats::add(&clients.stats.net_output_bytes, out.len() as u64);
                stats::Stats::add(&clients.stats.writes_processed, 1);
                out.clear();
            }
            if c.close {
                break;
            }
            let held_until = match &postponed {
                Some(args) => {
                    let pause = *pause_rx.borrow_and_update();
                    match clients.held_until(pause, &lossy(&args[0]).to_ascii_lowercase()) {
                        Some(t) => Some(t),
                        // the pause ended since: run it now
                        None => continue,
                    }
                }
                None => None,
            };
            tokio::select! {
                n = rd.read_buf(&mut buf) => {
                    let n = match n {
                        Ok(n) if n > 0 => n,
                        _ => break,
                    };
                    stats::Stats::add(&clients.stats.net_input_bytes, n as u64);
                    stats::Stats::add(&clients.stats.reads_processed, 1);
                }
                _ = clientcmd::pause_changed(&mut pause_rx, held_until.unwrap_or_else(Instant::now)),
                    if held_until.is_some() => {}
                m = rx.recv() => {
                    let Some(m) = m else { break };
                    c.message_frame(m).encode(c.resp, &mut out);
                    while let Ok(m) = rx.try_recv() {
                        c.message_frame(m).encode(c.resp, &mut out);
                    }
                }
                _ = unblock.notified(), if held_until.is_some() => {
                    if c.take_unblock_error() && c.reply.sends() {
                        Frame::err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
                            .encode(c.resp, &mut out);
                    }
                }
                _ = kill.notified() => break,
                _ = s.stopped() => break,
            }
        }
        s.hub.unregister(id);
        clients.with(|m| m.remove(&id));
    }

    /// Runs one request and queues its reply unless CLIENT REPLY silences
    /// it; a request CLIENT PAUSE holds back goes to `postponed` instead.
    fn execute(
        &mut self,
        args: Vec<Bytes>,
        out: &mut BytesMut,
        postponed: &mut Option<Vec<Bytes>>,
    ) {
        let flow = self.dispatch(&args, out);
        if matches!(flow, Flow::Postponed) != self.blocked {
            self.blocked = !self.blocked;
            let blocked = self.blocked;
            self.clients.with(|m| {
                if let Some(e) = m.get_mut(&self.id) {
                    e.blocked = blocked;
                    e.unblock_error = false;
                }
            });
        }
        let errors = match &flow {
            Flow::Reply(f) => usize::from(f.is_error()),
            Flow::Replies(fs) => fs.iter().filter(|f| f.is_error()).count(),
            _ => 0,
        };
        stats::Stats::add(&self.clients.stats.error_replies, errors as u64);
        match flow {
            Flow::Reply(f) if self.reply.sends() => f.encode(self.resp, out),
            Flow::Replies(fs) if self.reply.sends() => {
                fs.iter().for_each(|f| f.encode(self.resp, out))
            }
            Flow::Postponed => {
                *postponed = Some(args);
                return;
            }
            _ => {}
        }
        self.command_done(&args);
    }

    fn push(&self, items: Vec<Frame>) -> Frame {
        if self.resp >= 3 {
            Frame::Push(items)
        } else {
            Frame::Array(items)
        }
    }

    fn message_frame(&self, m: Message) -> Frame {
        match m {
            Message::Message { channel, payload } => self.push(vec![
                Frame::bulk("message"),
                Frame::Bulk(channel),
                Frame::Bulk(payload),
            ]),
            Message::PMessage {
                pattern,
                channel,
                payload,
            } => self.push(vec![
                Frame::bulk("pmessage"),
                Frame::Bulk(pattern),
                Frame::Bulk(channel),
                Frame::Bulk(payload),
            ]),
        }
    }

    fn subscribed(&self) -> bool {
        let (c, p) = self.s.hub.counts(self.id);
        c + p > 0
    }

    fn dispatch(&mut self, args: &[Bytes], out: &mut BytesMut) -> Flow {
        let name = lossy(&args[0]).to_ascii_lowercase();
        self.clients.with(|m| {
            if let Some(e) = m.get_mut(&self.id) {
                e.last = Instant::now();
                e.last_cmd = clientcmd::full_command_name(args).into();
            }
        });
        // the command table is the one list of names and arities
        // (processCommand: lookup, then the arity of the command or of
        // its subcommand)
        if let Err(e) = check_arity(args) {
            return e;
        }
        if !self.authed && !matches!(name.as_str(), "auth" | "hello") {
            return err("NOAUTH Authentication required.");
        }
        if let Err(e) = self.check_permission(args) {
            return e;
        }
        if self.resp == 2
            && self.subscribed()
            && !matches!(
                name.as_str(),
                "ping" | "subscribe" | "psubscribe" | "unsubscribe" | "punsubscribe"
            )
        {
            return err(format!(
                "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            ));
        }
        if self.clients.postpones(&name) {
            return Flow::Postponed;
        }
        // call(): only commands that run are counted
        stats::Stats::add(&self.clients.stats.commands_processed, 1);
        match name.as_str() {
            "ping" => self.ping(args),
            "auth" => self.auth(args),
            "hello" => self.hello(args),
            "role" => {
                let names = self.s.lock().core.masters.keys().map(Frame::bulk).collect();
                Flow::Reply(Frame::Array(vec![
                    Frame::bulk("sentinel"),
                    Frame::Array(names),
                ]))
            }
            "info" => self.info(&args[1..]),
            "subscribe" | "psubscribe" => {
                let pattern = name == "psubscribe";
                for ch in &args[1..] {
                    let n = self.s.hub.subscribe(self.id, ch.clone(), pattern);
                    self.push(vec![
                        Frame::bulk(&name),
                        Frame::Bulk(ch.clone()),
                        Frame::Integer(n as i64),
                    ])
                    .encode(self.resp, out);
                }
                Flow::Written
            }
            "unsubscribe" | "punsubscribe" => {
                let pattern = name == "punsubscribe";
                let targets: Vec<Bytes> = if args.len() > 1 {
                    args[1..].to_vec()
                } else {
                    self.s.hub.subscriptions(self.id, pattern)
                };
                if targets.is_empty() {
                    let (c, p) = self.s.hub.counts(self.id);
                    self.push(vec![
                        Frame::bulk(&name),
                        Frame::Null,
                        Frame::Integer((c + p) as i64),
                    ])
                    .encode(self.resp, out);
                }
                for ch in targets {
                    let n = self.s.hub.unsubscribe(self.id, &ch, pattern);
                    self.push(vec![
                        Frame::bulk(&name),
                        Frame::Bulk(ch),
                        Frame::Integer(n as i64),
                    ])
                    .encode(self.resp, out);
                }
                Flow::Written
            }
            "publish" => {
                if args[1].as_ref() != HELLO_CHANNEL.as_bytes() {
                    return err("ERR Only HELLO messages are accepted by Sentinel instances.");
                }
                self.s.feed(Input::Hello {
                    via: None,
                    payload: lossy(&args[2]),
                });
                Flow::Reply(Frame::Integer(1))
            }
            "client" => self.client(args),
            "command" => command(args),
            "acl" => self.acl(args),
            "shutdown" => {
                shutdown(&self.s, "User requested shutdown...");
                self.close = true;
                Flow::Written
            }
            "sentinel" => self.sentinel(args),
            _ => unknown_command(args),
        }
    }

    /// ACL and its subcommands (`aclCommand`) over the live users.
    fn acl(&mut self, args: &[Bytes]) -> Flow {
        let table = acl::table();
        let sub = lossy(&args[1]).to_ascii_lowercase();
        let argc = args.len();
        let users = |s: &Self| s.s.lock().config.server.acl.clone();
        match sub.as_str() {
            "setuser" if argc >= 3 => {
                let rules: Vec<Vec<u8>> = args[3..].iter().map(|a| a.to_vec()).collect();
                let name = lossy(&args[2]);
                let result = {
                    let mut g = self.s.lock();
                    let r = g.config.server.acl.setuser(table, &args[2], &rules);
                    r.map(|old| (old, g.config.server.acl.get(&name).cloned()))
                };
                match result {
                    Ok((Some(old), Some(new))) => {
                        if !new.keeps_channels_of(&old) {
                            self.kill_revoked_subscribers(&new);
                        }
                        Flow::Reply(Frame::ok())
                    }
                    Ok(_) => Flow::Reply(Frame::ok()),
                    Err(e) => err(format!("ERR {e}")),
                }
            }
            "deluser" if argc >= 3 => {
                let names: Vec<&[u8]> = args[2..].iter().map(|a| a.as_ref()).collect();
                let removed = self.s.lock().config.server.acl.deluser(&names);
                match removed {
                    Ok(removed) => {
                        self.kill_clients(|u| removed.iter().any(|r| r == u));
                        Flow::Reply(Frame::Integer(removed.len() as i64))
                    }
                    Err(e) => err(format!("ERR {e}")),
                }
            }
            "getuser" if argc == 3 => {
                let users = users(self);
                match users.get(&lossy(&args[2])) {
                    Some(u) => Flow::Reply(picket_common::acl::getuser_reply(u, table)),
                    None => Flow::Reply(Frame::Null),
                }
            }
            "list" | "users" if argc == 2 => {
                let users = users(self);
                Flow::Reply(Frame::Array(
                    users
                        .iter()
                        .map(|u| match sub.as_str() {
                            "users" => Frame::bulk(&u.name),
                            _ => Frame::bulk(u.line(table)),
                        })
                        .collect(),
                ))
            }
            "whoami" if argc == 2 => Flow::Reply(Frame::bulk(&self.user)),
            "load" | "save" if self.s.lock().config.server.aclfile().is_none() => {
                err(picket_common::acl::NO_ACL_FILE)
            }
            "load" if argc == 2 => {
                let result = {
                    let mut g = self.s.lock();
                    let name = g.config.server.aclfile().unwrap_or_default();
                    let path = g.config.server.dir().join(&name);
                    g.config.server.acl.load_file(table, &path, &name)
                };
                match result {
                    Ok(()) => {
                        // every user but the default one was freed with its
                        // clients (ACLFreeUsersSet), even users still defined
                        self.kill_clients(|u| u != "default");
                        Flow::Reply(Frame::ok())
                    }
                    Err(e) => err(format!("ERR {e}")),
                }
            }
            "save" if argc == 2 => {
                let (users, path) = {
                    let g = self.s.lock();
                    let path = g.config.server.aclfile().unwrap_or_default();
                    (
                        g.config.server.acl.clone(),
                        g.config.server.dir().join(path),
                    )
                };
                match users.save_file(table, &path) {
                    Ok(()) => Flow::Reply(Frame::ok()),
                    Err(e) => {
                        self.s.logger.log(
                            crate::io::Level::Warning,
                            &format!(
                                "Renaming ACL file for ACL SAVE: {}",
                                picket_common::net::strerror(&e)
                            ),
                        );
                        err("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
                    }
                }
            }
            "cat" if argc == 2 => Flow::Reply(Frame::Array(
                picket_common::acl::CATEGORIES
                    .iter()
                    .map(|c| Frame::bulk(*c))
                    .collect(),
            )),
            "cat" if argc == 3 => {
                let c = lossy(&args[2]);
                match picket_common::acl::category_bit(&c) {
                    Some(bit) => Flow::Reply(Frame::Array(
                        table
                            .in_category(bit)
                            .into_iter()
                            .map(Frame::bulk)
                            .collect(),
                    )),
                    None => err(format!(
                        "ERR Unknown category '{}'",
                        &c[..c.floor_char_boundary(128)]
                    )),
                }
            }
            "genpass" if argc == 2 || argc == 3 => Flow::Reply(picket_common::acl::genpass_reply(
                args.get(2).map(|a| a.as_ref()),
            )),
            "log" if argc == 2 || argc == 3 => {
                let mut count = 10i64;
                if let Some(a) = args.get(2) {
                    if a.eq_ignore_ascii_case(b"reset") {
                        self.clients.acl_log().reset();
                        return Flow::Reply(Frame::ok());
                    }
                    match parse_i64(a) {
                        Some(c) => count = c.max(0),
                        None => return err("ERR value is not an integer or out of range"),
                    }
                }
                let now = now_ms();
                let log = self.clients.acl_log();
                Flow::Reply(Frame::Array(
                    log.newest(count as usize)
                        .map(|e| picket_common::acl::log_reply(e, now))
                        .collect(),
                ))
            }
            "dryrun" if argc >= 4 => {
                let users = users(self);
                let Some(u) = users.get(&lossy(&args[2])) else {
                    return err(format!("ERR User '{}' not found", lossy(&args[2])));
                };
                let words: Vec<&[u8]> = args[3..].iter().map(|a| a.as_ref()).collect();
                let Some(id) = table.lookup_request(&words) else {
                    return err(format!("ERR Command '{}' not found", lossy(&args[3])));
                };
                let fullname = table.get(id).fullname.clone();
                let spec = crate::cmdtable::lookup(&fullname).expect("in the table");
                if !arity_ok(spec.arity, words.len()) {
                    return err(format!(
                        "ERR wrong number of arguments for '{fullname}' command"
                    ));
                }
                let channels = acl::channels(&fullname, words.len());
                let req = Request {
                    args: &words,
                    keys: &[],
                    channels: &channels,
                };
                match u.check(table, id, &req) {
                    Ok(()) => Flow::Reply(Frame::ok()),
                    Err(d) => Flow::Reply(Frame::bulk(d.dryrun(&fullname, &words))),
                }
            }
            "help" if argc == 2 => Flow::Reply(picket_common::acl::help_reply()),
            _ => err(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try ACL HELP.",
                lossy(&args[1])
            )),
        }
    }

    /// Closes the connections authenticated as a user `gone` matches (this
    /// one after its reply), as `ACLFreeUserAndKillClients` does.
    fn kill_clients(&mut self, gone: impl Fn(&str) -> bool) {
        let victims: Vec<(u64, Arc<Notify>)> = self.clients.with(|m| {
            m.iter()
                .filter(|(_, e)| gone(&e.user))
                .map(|(id, e)| (*id, Arc::clone(&e.kill)))
                .collect()
        });
        for (id, k) in victims {
            if id == self.id {
                self.close = true;
            } else {
                k.notify_one();
            }
        }
    }

    /// `ACLKillPubsubClientsIfNeeded`: subscribers of `user` that hold a
    /// channel or pattern the new rules no longer grant are disconnected.
    fn kill_revoked_subscribers(&mut self, user: &User) {
        let candidates: Vec<(u64, Arc<Notify>)> = self.clients.with(|m| {
            m.iter()
                .filter(|(_, e)| e.user == user.name)
                .map(|(id, e)| (*id, Arc::clone(&e.kill)))
                .collect()
        });
        for (id, k) in candidates {
            let lost = self
                .s
                .hub
                .subscriptions(id, true)
                .iter()
                .any(|p| !user.subscription_allowed(p, true))
                || self
                    .s
                    .hub
                    .subscriptions(id, false)
                    .iter()
                    .any(|c| !user.subscription_allowed(c, false));
            if lost {
                if id == self.id {
                    self.close = true;
                } else {
                    k.notify_one();
                }
            }
        }
    }

    /// Records a refused command or login in the ACL LOG (`addACLLogEntry`),
    /// with this client's CLIENT LIST line.
    fn log_denied(&self, reason: Reason, object: &[u8], username: &str) {
        let (sub, psub) = self.s.hub.counts(self.id);
        let info = self
            .clients
            .with(|m| m.get(&self.id).map(|e| e.info_line(self.id, sub, psub)))
            .unwrap_or_default();
        let max_len = self
            .s
            .lock()
            .config
            .server
            .value("acllog-max-len")
            .parse()
            .unwrap_or(128);
        self.clients.acl_log().add(
            LogEntry {
                count: 1,
                reason,
                context: "toplevel",
                object: object.to_vec(),
                username: username.to_string(),
                ctime_ms: now_ms(),
                client_info: info,
            },
            max_len,
        );
    }

    /// `ACLCheckAllPerm` before a command runs: `-NOPERM` and an ACL LOG
    /// entry when the user may not run it or touch its channels.
    fn check_permission(&self, args: &[Bytes]) -> Result<(), Flow> {
        let table = acl::table();
        let g = self.s.lock();
        let users = &g.config.server.acl;
        let user = users.get(&self.user).unwrap_or(users.default_user());
        // a user allowed everything (the default one): nothing to look up
        if user.unrestricted() {
            return Ok(());
        }
        let words: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
        let Some(id) = table.lookup_request(&words) else {
            return Ok(());
        };
        let fullname = &table.get(id).fullname;
        let channels = acl::channels(fullname, words.len());
        let denied = user.check(
            table,
            id,
            &Request {
                args: &words,
                keys: &[],
                channels: &channels,
            },
        );
        drop(g);
        match denied {
            Ok(()) => Ok(()),
            Err(d) => {
                let object = match d.reason {
                    Reason::Command => fullname.as_bytes(),
                    _ => words[d.pos],
                };
                self.log_denied(d.reason, object, &self.user);
                Err(err(d.noperm(fullname)))
            }
        }
    }

    fn ping(&self, args: &[Bytes]) -> Flow {
        // arity -1 in the table; pingCommand itself refuses a third word
        if args.len() > 2 {
            return arity_error("ping");
        }
        if self.resp == 2 && self.subscribed() {
            let msg = args.get(1).cloned().unwrap_or_default();
            return Flow::Reply(Frame::Array(vec![Frame::bulk("pong"), Frame::Bulk(msg)]));
        }
        match args.get(1) {
            Some(m) => Flow::Reply(Frame::Bulk(m.clone())),
            None => Flow::Reply(Frame::Simple("PONG".into())),
        }
    }

    /// `ACLAuthenticateUser`: on success the connection becomes `user`'s;
    /// on failure the attempt goes to the ACL LOG (object: the command
    /// name as sent).
    fn authenticate(&mut self, cmd: &[u8], user: &[u8], pass: &[u8]) -> Result<(), Flow> {
        let ok = self.s.lock().config.server.acl.authenticate(user, pass);
        if !ok {
            self.log_denied(Reason::Auth, cmd, &lossy(user));
            return Err(err(
                "WRONGPASS invalid username-password pair or user is disabled.",
            ));
        }
        self.authed = true;
        self.user = lossy(user);
        let (id, name) = (self.id, self.user.clone());
        self.clients.with(|m| {
            if let Some(e) = m.get_mut(&id) {
                e.user = name;
            }
        });
        Ok(())
    }

    fn auth(&mut self, args: &[Bytes]) -> Flow {
        let (user, pass): (&[u8], &Bytes) = match &args[1..] {
            [p] => {
                if self.s.lock().config.server.acl.default_user().nopass() {
                    return err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
                }
                (b"default", p)
            }
            [u, p] => (u.as_ref(), p),
            _ => return err("ERR syntax error"),
        };
        match self.authenticate(&args[0], user, pass) {
            Ok(()) => Flow::Reply(Frame::ok()),
            Err(f) => f,
        }
    }

    fn hello(&mut self, args: &[Bytes]) -> Flow {
        let mut resp = self.resp;
        let mut i = 1;
        if let Some(v) = args.get(1) {
            match parse_i64(v) {
                Some(v @ 2..=3) => resp = v as u8,
                Some(_) => return err("NOPROTO unsupported protocol version"),
                None => return err("ERR Protocol version is not an integer or out of range"),
            }
            i = 2;
        }
        let mut setname = None;
        while i < args.len() {
            let opt = lossy(&args[i]).to_ascii_lowercase();
            if opt == "auth" && i + 2 < args.len() {
                if let Err(f) = self.authenticate(&args[0], &args[i + 1], &args[i + 2]) {
                    return f;
                }
                i += 3;
            } else if opt == "setname" && i + 1 < args.len() {
                setname = Some(lossy(&args[i + 1]));
                i += 2;
            } else {
                return err(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    lossy(&args[i])
                ));
            }
        }
        if !self.authed {
            return err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
        }
        if let Some(n) = setname {
            if let Err(f) = self.set_name(&n) {
                return f;
            }
        }
        self.resp = resp;
        let id = self.id;
        self.clients.with(|m| {
            if let Some(e) = m.get_mut(&id) {
                e.resp = resp;
            }
        });
        Flow::Reply(Frame::Map(vec![
            (Frame::bulk("server"), Frame::bulk("redis")),
            (Frame::bulk("version"), Frame::bulk(VERSION)),
            (Frame::bulk("proto"), Frame::Integer(i64::from(resp))),
            (Frame::bulk("id"), Frame::Integer(id as i64)),
            (Frame::bulk("mode"), Frame::bulk("sentinel")),
            (Frame::bulk("modules"), Frame::Array(vec![])),
        ]))
    }

    fn set_name(&mut self, n: &str) -> Result<(), Flow> {
        if n.bytes().any(|b| !(b'!'..=b'~').contains(&b)) {
            return Err(err(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        self.name = n.to_string();
        let id = self.id;
        self.clients.with(|m| {
            if let Some(e) = m.get_mut(&id) {
                e.name = n.to_string();
            }
        });
        Ok(())
    }

    fn info(&self, args: &[Bytes]) -> Flow {
        let wanted: Vec<String> = args.iter().map(|a| lossy(a).to_ascii_lowercase()).collect();
        let all = wanted.is_empty()
            || wanted
                .iter()
                .any(|w| w == "all" || w == "default" || w == "everything");
        let want = |s: &str| all || wanted.iter().any(|w| w == s);
        let mut sections = Vec::new();
        let g = self.s.lock();
        if want("server") {
            let uptime = self.s.started.elapsed().as_secs();
            let exe = std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let now = crate::runtime::now_ms();
            sections.push(format!(
                "# Server\r\nredis_version:{VERSION}\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\nredis_build_id:0\r\nredis_mode:sentinel\r\nos:{} {}\r\narch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\ngcc_version:0.0.0\r\nprocess_id:{}\r\nprocess_supervised:no\r\nrun_id:{}\r\ntcp_port:{}\r\nserver_time_usec:{}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{}\r\nhz:{}\r\nconfigured_hz:{}\r\nlru_clock:{}\r\nexecutable:{exe}\r\nconfig_file:{}\r\nio_threads_active:0\r\n",
                std::env::consts::OS,
                std::env::consts::ARCH,
                std::process::id(),
                self.s.run_id,
                g.config.server.port(),
                now * 1000,
                uptime / 86_400,
                g.core.current_hz,
                g.config.server.hz(),
                // getLRUClock: seconds, in 24 bits
                (now / 1000) & ((1 << 24) - 1),
                g.config.path.display(),
            ));
        }
        if want("clients") {
            let (n, blocked, tracking) = self.clients.with(|m| {
                let blocked = m.values().filter(|e| e.blocked).count();
                let tracking = m.values().filter(|e| e.tracking.is_some()).count();
                (m.len(), blocked, tracking)
            });
            sections.push(format!(
                "# Clients\r\nconnected_clients:{n}\r\ncluster_connections:0\r\nmaxclients:10000\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:{blocked}\r\ntracking_clients:{tracking}\r\nclients_in_timeout_table:0\r\n"
            ));
        }
        if want("stats") {
            let (channels, patterns) = self.s.hub.totals();
            sections.push(self.clients.stats.section(channels, patterns));
        }
        if want("cpu") {
            sections.push(stats::cpu_section());
        }
        if want("sentinel") {
            sections.push(info_sentinel_section(&g));
        }
        Flow::Reply(Frame::Bulk(Bytes::from(sections.join("\r\n"))))
    }

    fn sentinel(&mut self, args: &[Bytes]) -> Flow {
        let sub = lossy(&args[1]).to_ascii_lowercase();
        let s = Arc::clone(&self.s);
        match sub.as_str() {
            "myid" => Flow::Reply(Frame::bulk(&s.lock().core.g.myid)),
            "get-master-addr-by-name" => {
                let g = s.lock();
                let ah = g.core.g.announce_hostnames;
                Flow::Reply(match g.core.master_addr(&lossy(&args[2])) {
                    Some(a) => Frame::Array(vec![
                        Frame::bulk(a.announced(ah)),
                        Frame::bulk(a.port.to_string()),
                    ]),
                    None => Frame::NullArray,
                })
            }
            "is-master-down-by-addr" => {
                let (Some(port), Some(epoch)) = (parse_i64(&args[3]), parse_i64(&args[4])) else {
                    return err("ERR value is not an integer or out of range");
                };
                let (ip, runid) = (lossy(&args[2]), lossy(&args[5]));
                let a = s.apply(|core, now| {
                    core.is_master_down_by_addr(now, &ip, port, epoch.max(0) as u64, &runid)
                });
                Flow::Reply(Frame::Array(vec![
                    Frame::Integer(i64::from(a.down)),
                    Frame::bulk(&a.leader),
                    Frame::Integer(a.leader_epoch as i64),
                ]))
            }
            "failover" => {
                let name = lossy(&args[2]);
                match s.apply(|core, now| core.failover(now, &name)) {
                    Ok(()) => Flow::Reply(Frame::ok()),
                    Err(e) => err(e.to_string()),
                }
            }
            "reset" => {
                let pattern = lossy(&args[2]);
                let k = s.apply(|core, now| core.reset(now, &pattern));
                Flow::Reply(Frame::Integer(k as i64))
            }
            "ckquorum" => match s.lock().core.ckquorum(&lossy(&args[2])) {
                Ok(Ok(text)) => Flow::Reply(Frame::Simple(text)),
                Ok(Err(text)) => err(text),
                Err(e) => err(e.to_string()),
            },
            "flushconfig" => {
                let mut g = s.lock();
                match s.flush_config(&mut g) {
                    Ok(()) => Flow::Reply(Frame::ok()),
                    Err(_) => err("ERR Failed to save config file. Check server logs."),
                }
            }
            "monitor" => self.monitor(args),
            "remove" => {
                let name = lossy(&args[2]);
                match s.apply(|core, _| core.remove(&name)) {
                    Ok(()) => Flow::Reply(Frame::ok()),
                    Err(e) => err(e.to_string()),
                }
            }
            "pending-scripts" => {
                let g = s.lock();
                let now = crate::runtime::now_ms();
                let jobs = g
                    .scripts
                    .jobs
                    .iter()
                    .map(|j| {
                        let (k, v) = if j.running {
                            ("run-time", now - j.start_time)
                        } else {
                            ("run-delay", (j.start_time - now).max(0))
                        };
                        Frame::Map(vec![
                            (
                                Frame::bulk("argv"),
                                Frame::Array(j.argv.iter().map(Frame::bulk).collect()),
                            ),
                            (
                                Frame::bulk("flags"),
                                Frame::bulk(if j.running { "running" } else { "scheduled" }),
                            ),
                            (Frame::bulk("pid"), Frame::bulk(j.pid.to_string())),
                            (Frame::bulk(k), Frame::bulk(v.to_string())),
                            (
                                Frame::bulk("retry-num"),
                                Frame::bulk(j.retry_num.to_string()),
                            ),
                        ])
                    })
                    .collect();
                Flow::Reply(Frame::Array(jobs))
            }
            _ => match formatted_subcommand(&s, &sub, args) {
                Some(f) => f,
                None => err(format!(
                    "ERR unknown subcommand '{}'. Try SENTINEL HELP.",
                    lossy(&args[1])
                )),
            },
        }
    }

    /// `SENTINEL MONITOR <name> <ip> <port> <quorum>` with
    /// `sentinelCommand`'s checks in its order.
    fn monitor(&self, args: &[Bytes]) -> Flow {
        let Some(quorum) = parse_i64(&args[5]) else {
            return err("ERR Invalid quorum");
        };
        let Some(port) = parse_i64(&args[4]) else {
            return err("ERR Invalid port");
        };
        if quorum <= 0 {
            return err("ERR Quorum must be 1 or greater.");
        }
        let host = lossy(&args[3]);
        let g = self.s.lock();
        // anetResolve with ANET_IP_ONLY unless resolve-hostnames; the
        // master keeps the name it was given (createSentinelRedisInstance,
        // whose errors sentinelCheckCreateInstanceErrors words)
        if g.core.host_ip(&host).is_none() {
            return err("ERR Invalid IP address or hostname specified");
        }
        let Ok(port) = u16::try_from(port) else {
            return err("ERR Invalid port number.");
        };
        let Some(addr) = g.core.resolve_addr(&host, port) else {
            return err("ERR Can't resolve instance hostname.");
        };
        let mut cfg = MasterConfig::new(
            lossy(&args[2]),
            addr,
            u32::try_from(quorum).unwrap_or(u32::MAX),
        );
        {
            // the SENTINEL DEBUG defaults, as createSentinelRedisInstance
            cfg.down_after = g.core.g.timers.default_down_after;
            cfg.failover_timeout = g.core.g.timers.default_failover_timeout;
        }
        drop(g);
        match self.s.apply(|core, now| core.monitor(now, cfg)) {
            Ok(()) => Flow::Reply(Frame::ok()),
            Err(e) => err(e.to_string()),
        }
    }
}

/// Plug-in point for the reply-formatting module: SENTINEL MASTERS,
/// MASTER, REPLICAS, SLAVES, SENTINELS, SET, CONFIG, INFO-CACHE, DEBUG,
/// SIMULATE-FAILURE and HELP. Returns `None` for names that are not
/// The subcommands whose replies are formatted by [`crate::replies`] and
/// whose state changes are in [`crate::commands`]: MASTERS, MASTER,
/// REPLICAS, SLAVES, SENTINELS, SET, CONFIG, INFO-CACHE, DEBUG,
/// SIMULATE-FAILURE and HELP, with Redis's `sentinel|<sub>` arities.
/// Returns `None` for names that are not sentinel subcommands.
fn formatted_subcommand(s: &Arc<Sentinel>, sub: &str, args: &[Bytes]) -> Option<Flow> {
    use crate::replies;
    let n = args.len();
    if !matches!(
        sub,
        "masters"
            | "help"
            | "master"
            | "replicas"
            | "slaves"
            | "sentinels"
            | "set"
            | "config"
            | "info-cache"
            | "simulate-failure"
            | "debug"
    ) {
        return None;
    }
    let now = crate::runtime::now_ms();
    let reply = |r: Result<Frame, crate::state::CommandError>| match r {
        Ok(f) => Flow::Reply(f),
        Err(e) => err(e.to_string()),
    };
    let words: Vec<String> = args[2..].iter().map(|a| lossy(a)).collect();
    Some(match sub {
        "masters" => Flow::Reply(replies::masters(&s.lock().core, now)),
        "master" => reply(replies::master(&s.lock().core, &words[0], now)),
        "replicas" | "slaves" => reply(replies::replicas(&s.lock().core, &words[0], now)),
        "sentinels" => reply(replies::sentinels(&s.lock().core, &words[0], now)),
        "info-cache" => Flow::Reply(replies::info_cache(&s.lock().core, &words, now)),
        "debug" if n == 2 => Flow::Reply(replies::debug_timers(&s.lock().core)),
        "debug" => match s.lock().core.g.timers.set(&words) {
            Ok(()) => Flow::Reply(Frame::ok()),
            Err(e) => err(e),
        },
        "help" => Flow::Reply(Frame::Array(
            SENTINEL_HELP
                .iter()
                .map(|l| Frame::Simple((*l).into()))
                .collect(),
        )),
        "set" => {
            let name = words[0].clone();
            let rest = words[1..].to_vec();
            let is_exec = |p: &str| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::metadata(p)
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            };
            match s.apply(|core, _| core.set(&name, &rest, &is_exec)) {
                Ok(()) => Flow::Reply(Frame::ok()),
                Err(e) => err(e.to_string()),
            }
        }
        "config" => {
            let op = words[0].to_ascii_lowercase();
            match (op.as_str(), words.len()) {
                ("get", 2) => Flow::Reply(replies::config_get(&s.lock().core, &words[1])),
                ("set", 3) => {
                    let (param, value) = (words[1].clone(), words[2].clone());
                    match s.apply(|core, _| core.config_set(&param, &value)) {
                        Ok(()) => Flow::Reply(Frame::ok()),
                        Err(e) => err(e.to_string()),
                    }
                }
                _ => err(
                    "ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.",
                ),
            }
        }
        "simulate-failure" => {
            let r = s.lock().core.simulate_failure(&words);
            match r {
                Ok(crate::commands::SimulateFailureOutcome::Ok) => Flow::Reply(Frame::ok()),
                Ok(crate::commands::SimulateFailureOutcome::Help) => {
                    Flow::Reply(replies::simulate_failure_help())
                }
                Err(e) => err(e.to_string()),
            }
        }
        _ => return None,
    })
}

/// SENTINEL HELP, as redis-sentinel 7.0.15 prints it.
const SENTINEL_HELP: &[&str] = &[
    "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CKQUORUM <master-name>",
    "    Check if the current Sentinel configuration is able to reach the quorum",
    "    needed to failover a master and the majority needed to authorize the",
    "    failover.",
    "CONFIG SET <param> <value>",
    "    Set a global Sentinel configuration parameter.",
    "CONFIG GET <param>",
    "    Get global Sentinel configuration parameter.",
    "DEBUG [<param> <value> ...]",
    "    Show a list of configurable time parameters and their values (milliseconds).",
    "    Or update current configurable parameters values (one or more).",
    "GET-MASTER-ADDR-BY-NAME <master-name>",
    "    Return the ip and port number of the master with that name.",
    "FAILOVER <master-name>",
    "    Manually failover a master node without asking for agreement from other",
    "    Sentinels",
    "FLUSHCONFIG",
    "    Force Sentinel to rewrite its configuration on disk, including the current",
    "    Sentinel state.",
    "INFO-CACHE <master-name>",
    "    Return last cached INFO output from masters and all its replicas.",
    "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
    "    Check if the master specified by ip:port is down from current Sentinel's",
    "    point of view.",
    "MASTER <master-name>",
    "    Show the state and info of the specified master.",
    "MASTERS",
    "    Show a list of monitored masters and their state.",
    "MONITOR <name> <ip> <port> <quorum>",
    "    Start monitoring a new master with the specified name, ip, port and quorum.",
    "MYID",
    "    Return the ID of the Sentinel instance.",
    "PENDING-SCRIPTS",
    "    Get pending scripts information.",
    "REMOVE <master-name>",
    "    Remove master from Sentinel's monitor list.",
    "REPLICAS <master-name>",
    "    Show a list of replicas for this master and their state.",
    "RESET <pattern>",
    "    Reset masters for specific master name matching this pattern.",
    "SENTINELS <master-name>",
    "    Show a list of Sentinel instances for this master and their state.",
    "SET <master-name> <option> <value> [<option> <value> ...]",
    "    Set configuration parameters for certain masters.",
    "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
    "    Simulate a Sentinel crash.",
    "HELP",
    "    Prints this help.",
];

/// INFO's `# Sentinel` section (reference §16).
fn info_sentinel_section(g: &crate::runtime::Inner) -> String {
    let running = g.scripts.jobs.iter().filter(|j| j.running).count();
    crate::replies::info_section(
        &g.core,
        crate::replies::ScriptStats {
            running,
            queued: g.scripts.jobs.len(),
        },
        crate::runtime::now_ms(),
    )
}

/// SHUTDOWN and SIGTERM/SIGINT: flush the config, log as Redis does, stop
/// every task.
pub fn shutdown(s: &Arc<Sentinel>, why: &str) {
    use crate::io::Level;
    s.logger.log(Level::Warning, why);
    {
        let mut g = s.lock();
        let _ = s.flush_config(&mut g);
    }
    s.remove_pidfile();
    s.logger
        .log(Level::Warning, "Sentinel is now ready to exit, bye bye...");
    s.request_shutdown();
}
/// Unix time in milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
