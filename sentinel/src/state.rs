//! The sentinel's whole state (`struct sentinelState` plus the masters
//! dict) and its entry points. Every entry point takes the current time;
//! randomness comes from the injected [`Random`]. Nothing here touches a
//! socket, a file or the real clock, so a test can drive it exactly.

use std::collections::BTreeMap;
use std::fmt;

use crate::config::{Resolver, SystemResolver};
use crate::instance::{Addr, Instance, InstanceId, Kind, Master, MasterConfig, Millis, Who};
use crate::io::{Action, Input, Level, Out};

/// Source of randomness (Redis's `rand()`): failover start desync and the
/// timer frequency. Any `rand::RngCore` is one.
pub trait Random {
    /// A uniformly random 32-bit value.
    fn next_u32(&mut self) -> u32;
}

impl<R: rand::RngCore> Random for R {
    fn next_u32(&mut self) -> u32 {
        rand::RngCore::next_u32(self)
    }
}

/// The timers SENTINEL DEBUG lists and sets (sentinel.c's `sentinel_*`
/// globals), in milliseconds. The defaults are Redis's constants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timers {
    pub info_period: Millis,
    pub ping_period: Millis,
    pub ask_period: Millis,
    pub publish_period: Millis,
    /// down-after-milliseconds of masters added by SENTINEL MONITOR.
    pub default_down_after: Millis,
    /// failover-timeout of masters added by SENTINEL MONITOR.
    pub default_failover_timeout: Millis,
    pub tilt_trigger: Millis,
    pub tilt_period: Millis,
    pub slave_reconf_timeout: Millis,
    pub min_link_reconnect_period: Millis,
    pub election_timeout: Millis,
    pub script_max_runtime: Millis,
    pub script_retry_delay: Millis,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            info_period: crate::monitor::INFO_PERIOD,
            ping_period: crate::monitor::PING_PERIOD,
            ask_period: crate::election::ASK_PERIOD,
            publish_period: crate::monitor::PUBLISH_PERIOD,
            default_down_after: crate::config::DEFAULT_DOWN_AFTER_MS,
            default_failover_timeout: crate::config::DEFAULT_FAILOVER_TIMEOUT_MS,
            tilt_trigger: crate::monitor::TILT_TRIGGER,
            tilt_period: crate::monitor::TILT_PERIOD,
            slave_reconf_timeout: crate::failover::SLAVE_RECONF_TIMEOUT,
            min_link_reconnect_period: crate::monitor::MIN_LINK_RECONNECT_PERIOD,
            election_timeout: crate::election::ELECTION_TIMEOUT,
            script_max_runtime: crate::scripts::SCRIPT_MAX_RUNTIME,
            script_retry_delay: crate::scripts::RETRY_DELAY,
        }
    }
}

impl Timers {
    /// The timers by SENTINEL DEBUG name, in Redis's order.
    pub fn by_name(&mut self) -> [(&'static str, &mut Millis); 13] {
        [
            ("INFO-PERIOD", &mut self.info_period),
            ("PING-PERIOD", &mut self.ping_period),
            ("ASK-PERIOD", &mut self.ask_period),
            ("PUBLISH-PERIOD", &mut self.publish_period),
            ("DEFAULT-DOWN-AFTER", &mut self.default_down_after),
            (
                "DEFAULT-FAILOVER-TIMEOUT",
                &mut self.default_failover_timeout,
            ),
            ("TILT-TRIGGER", &mut self.tilt_trigger),
            ("TILT-PERIOD", &mut self.tilt_period),
            ("SLAVE-RECONF-TIMEOUT", &mut self.slave_reconf_timeout),
            (
                "MIN-LINK-RECONNECT-PERIOD",
                &mut self.min_link_reconnect_period,
            ),
            ("ELECTION-TIMEOUT", &mut self.election_timeout),
            ("SCRIPT-MAX-RUNTIME", &mut self.script_max_runtime),
            ("SCRIPT-RETRY-DELAY", &mut self.script_retry_delay),
        ]
    }

    /// `(name, value)` pairs as SENTINEL DEBUG lists them.
    pub fn list(&self) -> Vec<(&'static str, Millis)> {
        let mut t = self.clone();
        t.by_name().into_iter().map(|(k, v)| (k, *v)).collect()
    }

    /// `SENTINEL DEBUG <param> <value> ...` (`sentinelSetDebugConfigParameters`):
    /// pairs are applied in order; the first bad one stops there (earlier
    /// ones stay set) with Redis's error text. A value must be a positive
    /// integer.
    pub fn set(&mut self, args: &[String]) -> Result<(), String> {
        let mut i = 0;
        while i < args.len() {
            let option = &args[i];
            let slot = self
                .by_name()
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(option))
                .map(|(k, _)| k);
            let (Some(name), Some(value)) = (slot, args.get(i + 1)) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for SENTINEL DEBUG '{option}'"
                ));
            };
            match parse_positive(value) {
                Some(v) => {
                    if let Some((_, slot)) = self.by_name().into_iter().find(|(k, _)| *k == name) {
                        *slot = v;
                    }
                }
                None => {
                    return Err(format!(
                        "ERR Invalid argument '{value}' for SENTINEL DEBUG '{option}'"
                    ))
                }
            }
            i += 2;
        }
        Ok(())
    }
}

/// A positive integer as Redis's `string2ll` reads it (no sign, no spaces,
/// no leading zeros).
fn parse_positive(s: &str) -> Option<Millis> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse::<Millis>().ok().filter(|v| *v > 0)
}

/// The sentinel-wide fields of `struct sentinelState`.
#[derive(Clone, Debug)]
pub struct Global {
    /// This sentinel's 40-character id.
    pub myid: String,
    /// Current epoch (`current-epoch`).
    pub current_epoch: u64,
    /// In TILT mode.
    pub tilt: bool,
    /// When TILT was (last) entered.
    pub tilt_start_time: Millis,
    /// Time of the previous timer tick.
    pub previous_time: Millis,
    /// `announce-ip`.
    pub announce_ip: Option<String>,
    /// `announce-port` (0 = use `port`).
    pub announce_port: u16,
    /// Our own listening port.
    pub port: u16,
    /// `deny-scripts-reconfig` (default yes): SENTINEL SET may not change
    /// script paths.
    pub deny_scripts_reconfig: bool,
    /// `resolve-hostnames`.
    pub resolve_hostnames: bool,
    /// `announce-hostnames`.
    pub announce_hostnames: bool,
    /// `sentinel-user`: the ACL user towards other sentinels.
    pub sentinel_user: Option<String>,
    /// `sentinel-pass`: the password towards other sentinels.
    pub sentinel_pass: Option<String>,
    /// SENTINEL SIMULATE-FAILURE flags (`SENTINEL_SIMFAILURE_*` bits, see
    /// [`crate::commands::SimulateFailure`]).
    pub simulate_failure: u32,
    /// The SENTINEL DEBUG timers.
    pub timers: Timers,
}

/// What each rule function needs besides the master it works on.
pub(crate) struct Ctx<'a> {
    pub(crate) now: Millis,
    pub(crate) g: &'a mut Global,
    pub(crate) out: &'a mut Out,
    pub(crate) rng: &'a mut dyn Random,
    pub(crate) resolver: &'a dyn Resolver,
}

impl Ctx<'_> {
    /// `rand() % n`.
    pub(crate) fn rand(&mut self, n: u32) -> Millis {
        Millis::from(self.rng.next_u32() % n)
    }

    /// `host` resolved as `anetResolve` would with the current
    /// `resolve-hostnames` (IP literals only while it is off).
    pub(crate) fn resolve(&self, host: &str) -> Option<String> {
        self.resolver.resolve(host, !self.g.resolve_hostnames)
    }

    /// `createSentinelAddr(host, port, accept_unresolved)`: `None` for a
    /// bad port or a host that does not resolve (an unresolved one is kept
    /// with no IP when `accept_unresolved` and `resolve-hostnames yes`).
    /// A host that does not resolve is logged as Redis logs it (`Failed
    /// to resolve hostname '<host>'`, also while `resolve-hostnames` is
    /// off and the host is not an IP literal).
    pub(crate) fn create_addr(
        &mut self,
        host: &str,
        port: i64,
        accept_unresolved: bool,
    ) -> Option<Addr> {
        if (0..=65535).contains(&port) && self.resolve(host).is_none() {
            self.out.push(Action::Log {
                level: Level::Warning,
                text: format!("Failed to resolve hostname '{host}'"),
            });
        }
        create_addr(self.g, self.resolver, host, port, accept_unresolved)
    }
}

/// `createSentinelAddr` (see [`Ctx::create_addr`]).
pub(crate) fn create_addr(
    g: &Global,
    resolver: &dyn Resolver,
    host: &str,
    port: i64,
    accept_unresolved: bool,
) -> Option<Addr> {
    let port = u16::try_from(port).ok()?;
    match resolver.resolve(host, !g.resolve_hostnames) {
        Some(ip) => Some(Addr::resolved(host, ip, port)),
        None if g.resolve_hostnames && accept_unresolved => {
            Some(Addr::resolved(host, String::new(), port))
        }
        None => None,
    }
}

/// Errors of the SENTINEL commands the core answers, with Redis's text
/// (prefix included).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommandError {
    /// `-ERR No such master with that name`
    NoSuchMaster,
    /// `-INPROG Failover already in progress`
    InProgress,
    /// `-NOGOODSLAVE No suitable replica to promote`
    NoGoodSlave,
    /// `-ERR Duplicate master name.`
    DuplicateMaster,
    /// `-ERR Invalid argument '<value>' for SENTINEL SET '<option>'`
    InvalidSetArgument {
        /// The rejected value.
        value: String,
        /// The option as the client spelled it.
        option: String,
    },
    /// `-ERR Unknown option or number of arguments for SENTINEL SET '<option>'`
    UnknownSetOption(String),
    /// `-ERR Reconfiguration of scripts path is denied ...` (while
    /// `deny-scripts-reconfig yes`).
    ScriptsReconfigDenied,
    /// `-ERR Notification script seems non existing or non executable`
    NotificationScriptNotExecutable,
    /// `-ERR Client reconfiguration script seems non existing or non executable`
    ReconfigScriptNotExecutable,
    /// `-ERR Invalid argument '<param>' to SENTINEL CONFIG SET`
    UnknownConfigParameter(String),
    /// `-ERR Invalid value '<value>' to SENTINEL CONFIG SET '<param>'`
    InvalidConfigValue {
        /// The rejected value.
        value: String,
        /// The parameter as the client spelled it.
        param: String,
    },
    /// `-ERR Unknown failure simulation specified`
    UnknownFailureSimulation,
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::NoSuchMaster => f.write_str("ERR No such master with that name"),
            CommandError::InProgress => f.write_str("INPROG Failover already in progress"),
            CommandError::NoGoodSlave => f.write_str("NOGOODSLAVE No suitable replica to promote"),
            CommandError::DuplicateMaster => f.write_str("ERR Duplicate master name."),
            CommandError::InvalidSetArgument { value, option } => {
                write!(
                    f,
                    "ERR Invalid argument '{value}' for SENTINEL SET '{option}'"
                )
            }
            CommandError::UnknownSetOption(option) => write!(
                f,
                "ERR Unknown option or number of arguments for SENTINEL SET '{option}'"
            ),
            CommandError::ScriptsReconfigDenied => f.write_str(
                "ERR Reconfiguration of scripts path is denied for security reasons. \
                 Check the deny-scripts-reconfig configuration directive in your \
                 Sentinel configuration",
            ),
            CommandError::NotificationScriptNotExecutable => {
                f.write_str("ERR Notification script seems non existing or non executable")
            }
            CommandError::ReconfigScriptNotExecutable => f.write_str(
                "ERR Client reconfiguration script seems non existing or non executable",
            ),
            CommandError::UnknownConfigParameter(param) => {
                write!(f, "ERR Invalid argument '{param}' to SENTINEL CONFIG SET")
            }
            CommandError::InvalidConfigValue { value, param } => {
                write!(
                    f,
                    "ERR Invalid value '{value}' to SENTINEL CONFIG SET '{param}'"
                )
            }
            CommandError::UnknownFailureSimulation => {
                f.write_str("ERR Unknown failure simulation specified")
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// The deterministic core of a sentinel.
pub struct SentinelState {
    /// Sentinel-wide state.
    pub g: Global,
    /// Monitored masters by name.
    pub masters: BTreeMap<String, Master>,
    rng: Box<dyn Random + Send>,
    /// Name resolution (`anetResolve`); the system resolver unless a test
    /// injects one with [`SentinelState::set_resolver`]. Redis resolves
    /// in its event loop too, so a slow DNS stalls the core as it stalls
    /// redis-sentinel.
    resolver: Box<dyn Resolver + Send>,
    pub(crate) out: Out,
    /// The timer frequency last drawn (INFO's `hz`): 10 to 19, redrawn at
    /// every tick so that sentinels do not tick in step.
    pub current_hz: Millis,
}

impl SentinelState {
    /// A sentinel with id `myid` listening on `port`, created at `now`.
    pub fn new(
        myid: impl Into<String>,
        port: u16,
        now: Millis,
        rng: Box<dyn Random + Send>,
    ) -> Self {
        SentinelState {
            g: Global {
                myid: myid.into(),
                current_epoch: 0,
                tilt: false,
                tilt_start_time: 0,
                previous_time: now,
                announce_ip: None,
                announce_port: 0,
                port,
                deny_scripts_reconfig: true,
                resolve_hostnames: false,
                announce_hostnames: false,
                sentinel_user: None,
                sentinel_pass: None,
                simulate_failure: 0,
                timers: Timers::default(),
            },
            masters: BTreeMap::new(),
            rng,
            resolver: Box::new(SystemResolver),
            out: Out::default(),
            current_hz: 10,
        }
    }

    /// Replaces the name resolver (tests use a fixed table).
    pub fn set_resolver(&mut self, resolver: Box<dyn Resolver + Send>) {
        self.resolver = resolver;
    }

    /// `createSentinelAddr(host, port, 0)` with the current settings, for
    /// SENTINEL MONITOR: `None` when `host` is not an IP literal (a name
    /// with `resolve-hostnames yes`) that resolves.
    pub fn resolve_addr(&self, host: &str, port: u16) -> Option<Addr> {
        create_addr(&self.g, &*self.resolver, host, i64::from(port), false)
    }

    /// What `host` resolves to under the current `resolve-hostnames`.
    pub fn host_ip(&self, host: &str) -> Option<String> {
        self.resolver.resolve(host, !self.g.resolve_hostnames)
    }

    pub(crate) fn split(&mut self, now: Millis) -> (Ctx<'_>, &mut BTreeMap<String, Master>) {
        (
            Ctx {
                now,
                g: &mut self.g,
                out: &mut self.out,
                rng: &mut *self.rng,
                resolver: &*self.resolver,
            },
            &mut self.masters,
        )
    }

    /// Feeds one input; returns what to do, in order.
    pub fn handle(&mut self, now: Millis, input: Input) -> Vec<Action> {
        match input {
            Input::Tick => self.timer(now),
            Input::LinkUp {
                instance,
                link,
                local_ip,
            } => {
                let instance = self.link_holder(instance);
                self.link_up(now, &instance, link, local_ip)
            }
            Input::LinkDown { instance, link } => {
                let instance = self.link_holder(instance);
                self.link_down(&instance, link)
            }
            Input::PingReply { instance, reply } => self.ping_reply(now, &instance, reply),
            Input::InfoReply { instance, text } => self.info_reply(now, &instance, text),
            Input::PublishReply { instance, reply } => self.publish_reply(now, &instance, reply),
            Input::MasterDownReply { instance, reply } => {
                self.master_down_reply(now, &instance, reply)
            }
            Input::ReplyDiscarded { instance } => {
                if let Some(i) = self.instance_mut(&instance) {
                    {
                        let mut l = i.link.get();
                        l.pending_commands = l.pending_commands.saturating_sub(1);
                    }
                }
            }
            Input::Hello { via, payload } => self.hello_received(now, via.as_ref(), &payload),
        }
        self.out.take()
    }

    /// The delay until the next tick: Redis re-randomises `hz` to 10–19
    /// after every tick so that sentinels drift apart.
    pub fn next_tick_delay(&mut self) -> Millis {
        let hz = 10 + Millis::from(self.rng.next_u32() % 10);
        self.current_hz = hz;
        1000 / hz
    }

    /// Looks up any record.
    pub fn instance(&self, id: &InstanceId) -> Option<&Instance> {
        self.masters.get(id.master_name())?.get(&id.who())
    }

    /// A record holding the link of `id`: `id` itself while it exists;
    /// for a sentinel record that is gone, another record of the same run
    /// id (the link it shared lives on with it).
    pub(crate) fn link_holder(&self, id: InstanceId) -> InstanceId {
        if self.instance(&id).is_some() {
            return id;
        }
        if let InstanceId::Sentinel { runid, .. } = &id {
            if let Some((name, _)) = self
                .masters
                .iter()
                .find(|(_, m)| m.sentinels.contains_key(runid))
            {
                return Who::Sentinel(runid.clone()).id(name);
            }
        }
        id
    }

    pub(crate) fn instance_mut(&mut self, id: &InstanceId) -> Option<&mut Instance> {
        self.masters.get_mut(id.master_name())?.get_mut(&id.who())
    }

    /// `SENTINEL GET-MASTER-ADDR-BY-NAME`: the address clients should use.
    pub fn master_addr(&self, name: &str) -> Option<&Addr> {
        self.masters.get(name).map(Master::current_addr)
    }

    // ---- building the state from a config file (no events) ----

    /// Adds a master from a `sentinel monitor` line.
    pub fn add_master(&mut self, now: Millis, cfg: MasterConfig) -> Result<(), CommandError> {
        if self.masters.contains_key(&cfg.name) {
            return Err(CommandError::DuplicateMaster);
        }
        self.masters.insert(cfg.name.clone(), Master::new(cfg, now));
        Ok(())
    }

    /// Adds a replica from a `sentinel known-replica` line.
    pub fn add_known_replica(&mut self, now: Millis, master: &str, addr: Addr) -> bool {
        let Some(m) = self.masters.get_mut(master) else {
            return false;
        };
        add_replica(m, addr, now, self.g.announce_hostnames).is_some()
    }

    /// Adds a sentinel from a `sentinel known-sentinel` line.
    pub fn add_known_sentinel(
        &mut self,
        now: Millis,
        master: &str,
        addr: Addr,
        runid: &str,
    ) -> bool {
        let Some(m) = self.masters.get_mut(master) else {
            return false;
        };
        if m.sentinels.contains_key(runid) {
            return false;
        }
        let mut s = Instance::new(Kind::Sentinel, runid.to_string(), addr, now);
        s.runid = Some(runid.to_string());
        if let Some(link) = crate::hello::shared_link(&self.masters, master, runid) {
            s.link = link;
        }
        if let Some(m) = self.masters.get_mut(master) {
            m.sentinels.insert(runid.to_string(), s);
        }
        true
    }

    // ---- commands that change what is monitored ----

    /// `SENTINEL MONITOR`: `+monitor <details> quorum <q>` and a flush.
    pub fn monitor(
        &mut self,
        now: Millis,
        cfg: MasterConfig,
    ) -> (Result<(), CommandError>, Vec<Action>) {
        let name = cfg.name.clone();
        if let Err(e) = self.add_master(now, cfg) {
            return (Err(e), Vec::new());
        }
        self.out.persist();
        if let Some(m) = self.masters.get(&name) {
            let text = format!(
                "{} quorum {}",
                m.details(&Who::Master, self.g.announce_hostnames),
                m.cfg.quorum
            );
            let script = m.cfg.notification_script.clone();
            self.out
                .event(Level::Warning, "+monitor", text, script.as_deref());
        }
        (Ok(()), self.out.take())
    }

    /// `SENTINEL REMOVE`: `-monitor <details>`, links closed, flush.
    pub fn remove(&mut self, name: &str) -> (Result<(), CommandError>, Vec<Action>) {
        let Some(m) = self.masters.remove(name) else {
            return (Err(CommandError::NoSuchMaster), Vec::new());
        };
        let text = m.details(&Who::Master, self.g.announce_hostnames);
        self.out.event(
            Level::Warning,
            "-monitor",
            text,
            m.cfg.notification_script.as_deref(),
        );
        let name = m.name().to_string();
        let mut m = m;
        let mut ids = vec![InstanceId::Master(name.clone())];
        ids.extend(m.replicas.keys().map(|r| Who::Replica(r.clone()).id(&name)));
        for id in ids {
            self.out.push(Action::Disconnect {
                instance: id,
                link: None,
            });
        }
        for s in std::mem::take(&mut m.sentinels).into_values() {
            crate::hello::release_link(&mut self.out, &name, s);
        }
        self.out.persist();
        (Ok(()), self.out.take())
    }

    /// `SENTINEL RESET <pattern>`: every matching master forgets its
    /// replicas, sentinels and failover state (`+reset-master`); returns
    /// how many matched.
    pub fn reset(&mut self, now: Millis, pattern: &str) -> (usize, Vec<Action>) {
        let names: Vec<String> = self
            .masters
            .keys()
            .filter(|n| picket_common::glob::glob_match(pattern.as_bytes(), n.as_bytes(), false))
            .cloned()
            .collect();
        let (mut ctx, masters) = self.split(now);
        for n in &names {
            if let Some(m) = masters.get_mut(n) {
                crate::failover::reset_master(&mut ctx, m, false, true);
            }
        }
        if !names.is_empty() {
            self.out.persist();
        }
        (names.len(), self.out.take())
    }

    /// `SENTINEL CKQUORUM`: `Ok(usable)` or `Err(text after -NOQUORUM)`.
    pub fn ckquorum(&self, name: &str) -> Result<Result<String, String>, CommandError> {
        let m = self.masters.get(name).ok_or(CommandError::NoSuchMaster)?;
        let voters = m.sentinels.len() + 1;
        let usable = 1 + m
            .sentinels
            .values()
            .filter(|s| !s.flags.s_down && !s.flags.o_down)
            .count();
        let mut problems = Vec::new();
        if usable < m.cfg.quorum as usize {
            problems.push(
                "Not enough available Sentinels to reach the specified quorum for this master",
            );
        }
        if usable < voters / 2 + 1 {
            problems.push(
                "Not enough available Sentinels to reach the majority and authorize a failover",
            );
        }
        if problems.is_empty() {
            Ok(Ok(format!(
                "OK {usable} usable Sentinels. Quorum and failover authorization can be reached"
            )))
        } else {
            Ok(Err(format!(
                "NOQUORUM {usable} usable Sentinels. {}",
                problems.join(". ")
            )))
        }
    }
}

/// Adds a replica record unless one with that address exists; returns
/// its name (`announceSentinelAddrAndPort`, so `host:port` with
/// `announce-hostnames yes`) when added.
pub(crate) fn add_replica(m: &mut Master, addr: Addr, now: Millis, ah: bool) -> Option<String> {
    let name = addr.name(ah);
    if m.replicas.contains_key(&name) {
        return None;
    }
    m.replicas.insert(
        name.clone(),
        Instance::new(Kind::Replica, name.clone(), addr, now),
    );
    Some(name)
}

impl SentinelState {
    pub(crate) fn out_take(&mut self) -> Vec<Action> {
        self.out.take()
    }
}
