//! The process around the core: one lock over the [`SentinelState`] and
//! the [`SentinelConfig`], the timer, the links to monitored instances and
//! other sentinels, and the execution of every [`Action`] the core returns.
//!
//! Concurrency: everything the core touches sits behind one
//! `std::sync::Mutex` ([`Sentinel::lock`]). Each input is fed and its
//! actions performed inside one critical section, so the core sees inputs
//! in a total order and the link table always matches what the core
//! believes. Performing actions never awaits: sends go to per-link
//! unbounded channels, connections and scripts are spawned as tasks. The
//! lock is never held across an `.await`. A config flush (fsync included)
//! runs under the lock, as `sentinelFlushConfig` runs in Redis's event
//! loop.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use picket_common::net::connect_from;
use picket_common::resp::{encode_command, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::config::{strerror, SentinelConfig};
use crate::hello::HELLO_CHANNEL;
use crate::instance::{Addr, InstanceId, Millis};
use crate::io::{Action, Event, Input, Level, LinkKind, MasterDownReply, Reply, Request};
use crate::log::Logger;
use crate::persist::persisted_state;
use crate::pubsub::Hub;
use crate::scripts::Scripts;
use crate::state::SentinelState;

/// A connection attempt that takes longer than this counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Wall-clock milliseconds (Redis's `mstime()`; TILT watches it jump).
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

/// What the lock protects.
pub struct Inner {
    /// The deterministic core.
    pub core: SentinelState,
    /// The loaded config; `config.state` is what was last written.
    pub config: SentinelConfig,
    /// Queued and running scripts.
    pub scripts: Scripts,
    links: HashMap<(LinkKey, LinkKind), LinkHandle>,
}

/// Which socket serves a record. The records of one sentinel (one run id)
/// share their link in the core, so they share one socket here: the
/// connection Redis keeps per `instanceLink`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum LinkKey {
    /// A master's or a replica's own link.
    Instance(InstanceId),
    /// The link to the sentinel with this run id, whatever master.
    Peer(String),
}

fn link_key(id: &InstanceId) -> LinkKey {
    match id {
        InstanceId::Sentinel { runid, .. } => LinkKey::Peer(runid.clone()),
        _ => LinkKey::Instance(id.clone()),
    }
}

struct LinkHandle {
    generation: u64,
    tx: mpsc::UnboundedSender<Outgoing>,
}

/// Where one reply on a command link goes: to the record that sent the
/// request (a shared link carries the requests of several records).
#[derive(Debug)]
enum Route {
    /// Handshake replies (AUTH, CLIENT SETNAME): dropped.
    Ignore,
    /// Counted as [`Input::ReplyDiscarded`].
    Discard(InstanceId),
    /// Turned into the input matching the request.
    Reply(InstanceId, Request),
}

/// Bytes to write on a link and the routes of the replies they will get.
struct Outgoing {
    bytes: BytesMut,
    routes: Vec<Route>,
}

/// A running sentinel: the shared state, the pub/sub hub its clients
/// subscribe to, and the shutdown signal.
pub struct Sentinel {
    inner: Mutex<Inner>,
    /// Subscriptions of the sentinel's own clients.
    pub hub: Hub,
    /// `logfile` / `loglevel`.
    pub logger: Logger,
    /// The per-process run id of INFO (not the myid).
    pub run_id: String,
    /// Process start.
    pub started: Instant,
    next_link: AtomicU64,
    shutdown: watch::Sender<bool>,
    /// The pid file written at start-up, removed at shutdown.
    pidfile: std::sync::OnceLock<String>,
}

impl Sentinel {
    /// Wraps a core built from `config` (see [`crate::persist::build_core`]).
    pub fn new(core: SentinelState, config: SentinelConfig, logger: Logger) -> Arc<Sentinel> {
        let (shutdown, _) = watch::channel(false);
        Arc::new(Sentinel {
            inner: Mutex::new(Inner {
                core,
                config,
                scripts: Scripts::default(),
                links: HashMap::new(),
            }),
            hub: Hub::default(),
            logger,
            run_id: crate::config::random_id(),
            started: Instant::now(),
            next_link: AtomicU64::new(1),
            shutdown,
            pidfile: std::sync::OnceLock::new(),
        })
    }

    /// The state lock. Never hold the guard across an `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the core under the lock with the current time, then
    /// performs the actions it returned.
    pub fn apply<R>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SentinelState, Millis) -> (R, Vec<Action>),
    ) -> R {
        let mut g = self.lock();
        let (r, actions) = f(&mut g.core, now_ms());
        self.perform(&mut g, actions);
        r
    }

    /// Feeds one input to the core and performs the result.
    pub fn feed(self: &Arc<Self>, input: Input) {
        self.apply(|core, now| ((), core.handle(now, input)));
    }

    /// `createPidFile`: writes our pid to `path` (Redis's default
    /// `/var/run/redis.pid` when daemonized without a `pidfile`); a
    /// failure is logged, as Redis does, and not fatal. The file is
    /// removed by [`Sentinel::remove_pidfile`] at shutdown.
    pub fn create_pidfile(&self, path: &str) {
        let _ = self.pidfile.set(path.to_string());
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            self.logger.log(
                Level::Warning,
                &format!("Failed to write PID file: {}", strerror(&e)),
            );
        }
    }

    /// At shutdown: `Removing the pid file.` and unlink it, if one was
    /// written (`prepareForShutdown`).
    pub fn remove_pidfile(&self) {
        if let Some(path) = self.pidfile.get() {
            self.logger.log(Level::Notice, "Removing the pid file.");
            let _ = std::fs::remove_file(path);
        }
    }

    /// Asks every task to stop ([`Sentinel::stopped`] resolves).
    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Resolves once a shutdown was requested.
    pub async fn stopped(&self) {
        let mut rx = self.shutdown.subscribe();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// The timer: ticks the core every 1000/hz ms, hz re-randomised each
    /// time (`sentinelTimer`), and starts due script runs.
    pub async fn run_timer(self: Arc<Self>) {
        loop {
            let delay = self.lock().core.next_tick_delay();
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(delay as u64)) => {}
                _ = self.stopped() => return,
            }
            self.feed(Input::Tick);
            let mut g = self.lock();
            self.run_pending_scripts(&mut g);
        }
    }

    /// Writes the core's state to the config file (`sentinelFlushConfig`);
    /// on failure logs Redis's warning and returns the error.
    pub fn flush_config(&self, g: &mut Inner) -> io::Result<()> {
        let st = persisted_state(&g.core, &g.config.state);
        match g.config.rewrite(&st) {
            Ok(()) => {
                g.config.state = st;
                Ok(())
            }
            Err(e) => {
                self.logger.log(
                    Level::Warning,
                    &format!(
                        "WARNING: Sentinel was not able to save the new configuration on disk!!!: {}",
                        strerror(&e)
                    ),
                );
                Err(e)
            }
        }
    }

    /// Performs the core's actions in order.
    pub fn perform(self: &Arc<Self>, g: &mut Inner, actions: Vec<Action>) {
        for a in actions {
            match a {
                Action::Connect {
                    instance,
                    addr,
                    cmd,
                    pubsub,
                } => {
                    if cmd {
                        self.open_link(g, &instance, &addr, LinkKind::Command);
                    }
                    if pubsub {
                        self.open_link(g, &instance, &addr, LinkKind::PubSub);
                    }
                }
                Action::Disconnect { instance, link } => {
                    let kinds = match link {
                        Some(k) => vec![k],
                        None => vec![LinkKind::Command, LinkKind::PubSub],
                    };
                    for k in kinds {
                        // dropping the sender ends the task; replies in
                        // flight are dropped with it
                        g.links.remove(&(link_key(&instance), k));
                    }
                }
                Action::Send {
                    instance,
                    request,
                    argv,
                } => {
                    let Some(h) = g.links.get(&(link_key(&instance), LinkKind::Command)) else {
                        continue;
                    };
                    let mut bytes = BytesMut::new();
                    let n = argv.len();
                    let mut routes = Vec::with_capacity(n);
                    for (i, a) in argv.iter().enumerate() {
                        encode_command(a, &mut bytes);
                        let whole =
                            matches!(request, Request::Slaveof { .. } | Request::ScriptKill);
                        routes.push(if whole || i + 1 < n {
                            Route::Discard(instance.clone())
                        } else {
                            Route::Reply(instance.clone(), request.clone())
                        });
                    }
                    let _ = h.tx.send(Outgoing { bytes, routes });
                }
                Action::Event(e) => self.event(&e),
                Action::RunScript { path, args } => {
                    let mut argv = vec![path];
                    argv.extend(args);
                    g.scripts.queue(argv, now_ms());
                    self.run_pending_scripts(g);
                }
                Action::PersistConfig => {
                    let _ = self.flush_config(g);
                }
                Action::Log { level, text } => self.logger.log(level, &text),
                Action::SimulatedCrash => {
                    // SENTINEL SIMULATE-FAILURE: nothing after this runs
                    self.logger.log(
                        Level::Warning,
                        "Sentinel CRASH because of SENTINEL simulate-failure",
                    );
                    std::process::exit(99);
                }
            }
        }
    }

    /// Logs an event as Redis does and publishes it unless debug-level.
    pub fn event(&self, e: &Event) {
        self.logger.log(e.level, &e.line());
        if e.level != Level::Debug {
            self.hub.publish(e.name.as_bytes(), e.text.as_bytes());
        }
    }

    fn open_link(self: &Arc<Self>, g: &mut Inner, id: &InstanceId, addr: &Addr, kind: LinkKind) {
        let key = (link_key(id), kind);
        if g.links.contains_key(&key) {
            return; // still connecting, or shared and up
        }
        let generation = self.next_link.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        g.links.insert(key, LinkHandle { generation, tx });

        let master = g.core.masters.get(id.master_name());
        let rename = |c: &str| master.map_or_else(|| c.to_string(), |m| m.command_name(c));
        let auth: Option<(Option<String>, String)> = match id {
            InstanceId::Sentinel { .. } => {
                let st = &g.core.g;
                match (&st.sentinel_pass, g.config.server.requirepass()) {
                    (Some(p), _) => Some((st.sentinel_user.clone(), p.clone())),
                    (None, Some(p)) => Some((None, p)),
                    (None, None) => None,
                }
            }
            _ => master.and_then(|m| {
                m.cfg
                    .auth_pass
                    .clone()
                    .map(|p| (m.cfg.auth_user.clone(), p))
            }),
        };
        let myid = &g.core.g.myid;
        let suffix = match kind {
            LinkKind::Command => "cmd",
            LinkKind::PubSub => "pubsub",
        };
        let mut hello = BytesMut::new();
        let mut routes = Vec::new();
        if let Some((user, pass)) = auth {
            let mut a = vec![rename("AUTH")];
            a.extend(user);
            a.push(pass);
            encode_command(&a, &mut hello);
            routes.push(Route::Ignore);
        }
        let name = format!("sentinel-{}-{suffix}", &myid[..myid.len().min(8)]);
        encode_command(&[rename("CLIENT"), "SETNAME".into(), name], &mut hello);
        routes.push(Route::Ignore);
        if kind == LinkKind::PubSub {
            encode_command(&[rename("SUBSCRIBE"), HELLO_CHANNEL.into()], &mut hello);
        }
        let handshake = Outgoing {
            bytes: hello,
            routes,
        };
        let s = Arc::clone(self);
        let (id, addr) = (id.clone(), addr.clone());
        tokio::spawn(async move {
            s.clone()
                .run_link(id.clone(), kind, generation, addr, handshake, rx)
                .await;
            s.link_closed(&id, kind, generation);
        });
    }

    /// The link task: connect, handshake, report LinkUp, then write what
    /// the core sends and route every reply back.
    async fn run_link(
        self: Arc<Self>,
        id: InstanceId,
        kind: LinkKind,
        generation: u64,
        addr: Addr,
        handshake: Outgoing,
        mut rx: mpsc::UnboundedReceiver<Outgoing>,
    ) {
        let source = self.lock().config.server.value("bind-source-addr");
        let connect = connect_from(addr.connect_host(), addr.port, Some(&source));
        let Ok(Ok(stream)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        let local_ip = stream
            .local_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        let (mut rd, mut wr) = stream.into_split();
        if wr.write_all(&handshake.bytes).await.is_err() {
            return;
        }
        let mut routes: VecDeque<Route> = handshake.routes.into();
        {
            let mut g = self.lock();
            if !self.is_current(&g, &id, kind, generation) {
                return;
            }
            let actions = g.core.handle(
                now_ms(),
                Input::LinkUp {
                    instance: id.clone(),
                    link: kind,
                    local_ip,
                },
            );
            self.perform(&mut g, actions);
        }
        let mut buf = BytesMut::with_capacity(16 * 1024);
        let mut stop = self.shutdown.subscribe();
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let Some(out) = out else { return };
                    routes.extend(out.routes);
                    if wr.write_all(&out.bytes).await.is_err() {
                        return;
                    }
                }
                n = rd.read_buf(&mut buf) => {
                    if !matches!(n, Ok(n) if n > 0) {
                        return;
                    }
                    loop {
                        let (frame, used) = match Frame::parse(&buf) {
                            Ok(Some(f)) => f,
                            Ok(None) => break,
                            Err(_) => return,
                        };
                        let _ = buf.split_to(used);
                        let input = match kind {
                            LinkKind::Command => match routes.pop_front() {
                                Some(Route::Reply(rid, req)) => Some(reply_input(&rid, &req, frame)),
                                Some(Route::Discard(rid)) => {
                                    Some(Input::ReplyDiscarded { instance: rid })
                                }
                                Some(Route::Ignore) | None => None,
                            },
                            LinkKind::PubSub => hello_message(&id, frame),
                        };
                        if let Some(input) = input {
                            if !self.feed_from(&id, kind, generation, input) {
                                return;
                            }
                        }
                    }
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// Feeds an input that arrived on a link, unless the core dropped
    /// that link meanwhile (then returns false).
    fn feed_from(
        self: &Arc<Self>,
        id: &InstanceId,
        kind: LinkKind,
        generation: u64,
        input: Input,
    ) -> bool {
        let mut g = self.lock();
        if !self.is_current(&g, id, kind, generation) {
            return false;
        }
        let actions = g.core.handle(now_ms(), input);
        self.perform(&mut g, actions);
        true
    }

    fn is_current(&self, g: &Inner, id: &InstanceId, kind: LinkKind, generation: u64) -> bool {
        g.links
            .get(&(link_key(id), kind))
            .is_some_and(|h| h.generation == generation)
    }

    /// A link task ended: unless the core already dropped that link,
    /// forget it and report LinkDown.
    fn link_closed(self: &Arc<Self>, id: &InstanceId, kind: LinkKind, generation: u64) {
        let mut g = self.lock();
        if !self.is_current(&g, id, kind, generation) {
            return;
        }
        g.links.remove(&(link_key(id), kind));
        let actions = g.core.handle(
            now_ms(),
            Input::LinkDown {
                instance: id.clone(),
                link: kind,
            },
        );
        self.perform(&mut g, actions);
    }

    /// Starts scripts that are due (at most 16 running).
    pub fn run_pending_scripts(self: &Arc<Self>, g: &mut Inner) {
        let now = now_ms();
        while let Some(job) = g.scripts.next_due(now) {
            let argv = g.scripts.argv(job);
            let spawned = tokio::process::Command::new(&argv[0])
                .args(&argv[1..])
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .spawn();
            let child = match spawned {
                Ok(c) => c,
                Err(_) => {
                    g.scripts.finished(job);
                    self.event(&script_error(&argv[0], 99, 0));
                    continue;
                }
            };
            g.scripts.started(job, child.id().unwrap_or(0), now);
            let s = Arc::clone(self);
            tokio::spawn(s.wait_script(job, argv, child));
        }
    }

    async fn wait_script(
        self: Arc<Self>,
        job: u64,
        argv: Vec<String>,
        mut child: tokio::process::Child,
    ) {
        // the guard is dropped before the wait
        let max_ms = self.lock().core.g.timers.script_max_runtime;
        let max = Duration::from_millis(max_ms.max(0) as u64);
        let status = match tokio::time::timeout(max, child.wait()).await {
            Ok(s) => s.ok(),
            Err(_) => {
                let pid = child.id().unwrap_or(0);
                let _ = child.kill().await;
                self.event(&Event {
                    level: Level::Warning,
                    name: "-script-timeout".into(),
                    text: format!("{} {pid}", argv[0]),
                });
                None
            }
        };
        use std::os::unix::process::ExitStatusExt;
        let (code, signal) = status
            .map(|s| (s.code().unwrap_or(0), s.signal().unwrap_or(0)))
            .unwrap_or((0, libc::SIGKILL));
        let mut g = self.lock();
        let retry_delay = g.core.g.timers.script_retry_delay;
        // exit 1 or a signal: retry later; other failures are reported
        if (code == 1 || signal != 0) && g.scripts.retry(job, now_ms(), retry_delay) {
            return;
        }
        g.scripts.finished(job);
        if code != 0 || signal != 0 {
            self.event(&script_error(&argv[0], signal, code));
        }
        self.run_pending_scripts(&mut g);
    }
}

fn script_error(path: &str, signal: i32, code: i32) -> Event {
    Event {
        level: Level::Warning,
        name: "-script-error".into(),
        text: format!("{path} {signal} {code}"),
    }
}

fn text_of(f: &Frame) -> Option<String> {
    match f {
        Frame::Bulk(b) | Frame::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Simple(s) => Some(s.clone()),
        _ => None,
    }
}

/// The input a reply to `request` becomes.
fn reply_input(id: &InstanceId, request: &Request, frame: Frame) -> Input {
    let instance = id.clone();
    let reply = |f: &Frame| match f {
        Frame::Simple(s) => Reply::Status(s.clone()),
        Frame::Error(s) => Reply::Error(s.clone()),
        _ => Reply::Other,
    };
    match request {
        Request::Ping => Input::PingReply {
            instance,
            reply: reply(&frame),
        },
        Request::Info => Input::InfoReply {
            instance,
            text: match &frame {
                Frame::Bulk(_) | Frame::Verbatim(..) => text_of(&frame),
                _ => None,
            },
        },
        Request::Hello { .. } => Input::PublishReply {
            instance,
            reply: reply(&frame),
        },
        Request::IsMasterDownByAddr => Input::MasterDownReply {
            instance,
            reply: match frame {
                Frame::Array(v) => match v.as_slice() {
                    [Frame::Integer(down), leader @ (Frame::Bulk(_) | Frame::Simple(_)), Frame::Integer(epoch)] => {
                        text_of(leader).map(|leader| MasterDownReply {
                            down: *down,
                            leader,
                            leader_epoch: *epoch,
                        })
                    }
                    _ => None,
                },
                _ => None,
            },
        },
        Request::Slaveof { .. } | Request::ScriptKill => Input::ReplyDiscarded { instance },
    }
}

/// A `message __sentinel__:hello <payload>` on a pub/sub link.
fn hello_message(id: &InstanceId, frame: Frame) -> Option<Input> {
    let (Frame::Array(v) | Frame::Push(v)) = frame else {
        return None;
    };
    match v.as_slice() {
        [kind, channel, payload]
            if text_of(kind).as_deref() == Some("message")
                && text_of(channel).as_deref() == Some(HELLO_CHANNEL) =>
        {
            Some(Input::Hello {
                via: Some(id.clone()),
                payload: text_of(payload)?,
            })
        }
        _ => None,
    }
}
