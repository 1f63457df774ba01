//! What goes into the core ([`Input`]) and what comes out ([`Action`]).
//!
//! The networking layer turns socket traffic and timer expiries into
//! inputs, feeds them to [`crate::state::SentinelState::handle`] together
//! with the current time, and performs the returned actions in order.

use crate::instance::{Addr, InstanceId};

/// A reply to PING or PUBLISH, reduced to what Sentinel looks at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// A `+...` status reply (text without the `+`).
    Status(String),
    /// A `-...` error reply (text without the `-`).
    Error(String),
    /// Any other reply type.
    Other,
}

/// A well-formed `SENTINEL IS-MASTER-DOWN-BY-ADDR` reply: `:down`,
/// `$leader`, `:leader_epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterDownReply {
    /// First element (1 = down).
    pub down: i64,
    /// Second element: the voted leader's run id, or `*`.
    pub leader: String,
    /// Third element: the vote's epoch.
    pub leader_epoch: i64,
}

/// Which connection of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LinkKind {
    /// The command connection.
    Command,
    /// The pub/sub connection (`SUBSCRIBE __sentinel__:hello`).
    PubSub,
}

/// Something that happened, fed to the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The timer fired (Redis's `sentinelTimer`).
    Tick,
    /// A connection asked for by [`Action::Connect`] is established. For the
    /// command link, `local_ip` is the socket's local address (used in
    /// hellos when no announce-ip is set).
    LinkUp {
        /// Which instance.
        instance: InstanceId,
        /// Which connection.
        link: LinkKind,
        /// Local address of the socket.
        local_ip: String,
    },
    /// A connection failed or was closed by the peer.
    LinkDown {
        /// Which instance.
        instance: InstanceId,
        /// Which connection.
        link: LinkKind,
    },
    /// Reply to a [`Request::Ping`].
    PingReply {
        /// Which instance.
        instance: InstanceId,
        /// The reply.
        reply: Reply,
    },
    /// Reply to a [`Request::Info`]: `Some(text)` for a bulk string, `None`
    /// for anything else.
    InfoReply {
        /// Which instance.
        instance: InstanceId,
        /// The INFO text.
        text: Option<String>,
    },
    /// Reply to a [`Request::Hello`] (the PUBLISH).
    PublishReply {
        /// Which instance.
        instance: InstanceId,
        /// The reply.
        reply: Reply,
    },
    /// Reply to a [`Request::IsMasterDownByAddr`]; `None` when it did not
    /// have the expected shape (it is then ignored, as Redis does).
    MasterDownReply {
        /// The sentinel asked.
        instance: InstanceId,
        /// The parsed reply.
        reply: Option<MasterDownReply>,
    },
    /// A reply Sentinel discards (the SLAVEOF transaction, SCRIPT KILL);
    /// one input per reply, it only keeps the pending count right.
    ReplyDiscarded {
        /// Which instance.
        instance: InstanceId,
    },
    /// A hello payload: from the pub/sub link of `via` (a `message` on
    /// `__sentinel__:hello`), or `via = None` when another sentinel sent
    /// `PUBLISH __sentinel__:hello` to our own port.
    Hello {
        /// The pub/sub link it arrived on.
        via: Option<InstanceId>,
        /// The payload.
        payload: String,
    },
}

/// What a request is, so the caller can route its reply back as the right
/// [`Input`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `PING` → [`Input::PingReply`].
    Ping,
    /// `INFO` → [`Input::InfoReply`].
    Info,
    /// `PUBLISH __sentinel__:hello <payload>` → [`Input::PublishReply`].
    Hello {
        /// The exact payload.
        payload: String,
    },
    /// `SENTINEL is-master-down-by-addr ...` → [`Input::MasterDownReply`].
    IsMasterDownByAddr,
    /// The MULTI/SLAVEOF/CONFIG REWRITE/CLIENT KILL×2/EXEC transaction;
    /// six [`Input::ReplyDiscarded`]. `None` is SLAVEOF NO ONE.
    Slaveof {
        /// The new master, or none for a promotion.
        master: Option<Addr>,
    },
    /// `SCRIPT KILL` (to a busy SDOWN instance) → [`Input::ReplyDiscarded`].
    ScriptKill,
}

/// Log level of an event (Redis's `LL_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Never published.
    Debug,
    /// Published, logged at verbose.
    Verbose,
    /// Published, logged at notice.
    Notice,
    /// Published, logged at warning; runs the notification script.
    Warning,
}

/// A Sentinel event: published on the channel named `name` with payload
/// `text` (unless debug level) and logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Level.
    pub level: Level,
    /// Event (and channel) name, e.g. `+sdown`.
    pub name: String,
    /// Payload, e.g. `master mymaster 127.0.0.1 6379`.
    pub text: String,
}

impl Event {
    /// `name text`, the way Redis logs it.
    pub fn line(&self) -> String {
        format!("{} {}", self.name, self.text)
    }
}

/// Something the caller must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Open the missing connections to `instance` at `addr`
    /// (`cmd`: the command link; `pubsub`: the pub/sub link with
    /// AUTH/CLIENT SETNAME/SUBSCRIBE as in reference §3). Report the
    /// outcome with [`Input::LinkUp`] / [`Input::LinkDown`].
    Connect {
        /// Which instance.
        instance: InstanceId,
        /// Where.
        addr: Addr,
        /// Open the command link.
        cmd: bool,
        /// Open the pub/sub link.
        pubsub: bool,
    },
    /// Close a connection (link recycling, reset, removal). The caller
    /// must drop replies still in flight on it.
    Disconnect {
        /// Which instance.
        instance: InstanceId,
        /// Which connection; `None` = both.
        link: Option<LinkKind>,
    },
    /// Send commands on the command link of `instance`, pipelined.
    Send {
        /// Which instance.
        instance: InstanceId,
        /// What it is (for routing replies).
        request: Request,
        /// The exact commands, after `rename-command`.
        argv: Vec<Vec<String>>,
    },
    /// Publish (unless debug) and log an event.
    Event(Event),
    /// Queue a script run: `path args...`.
    RunScript {
        /// Script path.
        path: String,
        /// Arguments.
        args: Vec<String>,
    },
    /// Rewrite the config file ("flush config").
    PersistConfig,
    /// Write a line to the log only (not an event: never published), as
    /// Redis's `serverLog` calls inside Sentinel's rules.
    Log {
        /// Level.
        level: Level,
        /// The line.
        text: String,
    },
    /// `SENTINEL SIMULATE-FAILURE` fired: log `Sentinel CRASH because of
    /// SENTINEL simulate-failure` at warning level and exit with status 99
    /// at once, performing none of the actions after this one
    /// (`sentinelSimFailureCrash`).
    SimulatedCrash,
}

/// Collects actions during one call; de-duplicates config flushes.
#[derive(Debug, Default)]
pub(crate) struct Out {
    pub(crate) actions: Vec<Action>,
}

impl Out {
    pub(crate) fn push(&mut self, a: Action) {
        self.actions.push(a);
    }

    /// Emits an event; a warning about an instance also runs the master's
    /// notification script (`sentinelEvent`).
    pub(crate) fn event(&mut self, level: Level, name: &str, text: String, script: Option<&str>) {
        let run = match (level, script) {
            (Level::Warning, Some(path)) => Some(Action::RunScript {
                path: path.to_string(),
                args: vec![name.to_string(), text.clone()],
            }),
            _ => None,
        };
        self.actions.push(Action::Event(Event {
            level,
            name: name.to_string(),
            text,
        }));
        self.actions.extend(run);
    }

    pub(crate) fn persist(&mut self) {
        if !self.actions.contains(&Action::PersistConfig) {
            self.actions.push(Action::PersistConfig);
        }
    }

    pub(crate) fn take(&mut self) -> Vec<Action> {
        std::mem::take(&mut self.actions)
    }
}

/// The event lines (`name text`) among `actions`, in order.
pub fn events(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Event(e) => Some(e.line()),
            _ => None,
        })
        .collect()
}
