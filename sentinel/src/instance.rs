//! The records Sentinel keeps about what it watches: a monitored master, its
//! replicas and the other sentinels that watch it (Redis's
//! `sentinelRedisInstance`, one struct for all three kinds as in Redis).
//!
//! Everything here is plain data; the rules that change it live in
//! `monitor`, `election`, `failover` and `hello`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Milliseconds of wall-clock time (Redis's `mstime_t`). Signed so that a
/// clock jumping backwards gives a negative delta, which TILT looks for.
pub type Millis = i64;

/// A network address as Sentinel stores it (`sentinelAddr`): the host
/// text as configured or discovered, the IP it resolved to, and a port
/// (0 marks an invalid address).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr {
    /// The host as given (config, SENTINEL MONITOR, INFO, hello): an IP
    /// literal, or a hostname when `resolve-hostnames` is on.
    pub hostname: String,
    /// The IP `hostname` resolved to; empty when it did not resolve
    /// (accepted only with `resolve-hostnames yes`).
    pub ip: String,
    /// TCP port; 0 means "address invalid, do not connect".
    pub port: u16,
}

impl Addr {
    /// An address given as an IP literal (host and IP are the same text).
    pub fn new(ip: impl Into<String>, port: u16) -> Addr {
        let ip = ip.into();
        Addr {
            hostname: ip.clone(),
            ip,
            port,
        }
    }

    /// An address given as `hostname` that resolved to `ip`.
    pub fn resolved(hostname: impl Into<String>, ip: impl Into<String>, port: u16) -> Addr {
        Addr {
            hostname: hostname.into(),
            ip: ip.into(),
            port,
        }
    }

    /// What Sentinel shows of it (`announceSentinelAddr`): the hostname
    /// with `announce-hostnames yes`, otherwise the IP.
    pub fn announced(&self, announce_hostnames: bool) -> &str {
        if announce_hostnames {
            &self.hostname
        } else {
            &self.ip
        }
    }

    /// `<host> <port>` as events print an address.
    pub fn show(&self, announce_hostnames: bool) -> String {
        format!("{} {}", self.announced(announce_hostnames), self.port)
    }

    /// The name Redis gives a replica (`announceSentinelAddrAndPort`):
    /// `host:port`, or `[host]:port` for IPv6.
    pub fn name(&self, announce_hostnames: bool) -> String {
        let a = self.announced(announce_hostnames);
        if a.contains(':') {
            format!("[{a}]:{}", self.port)
        } else {
            format!("{a}:{}", self.port)
        }
    }

    /// Where to connect: the IP, or the hostname while it is unresolved.
    pub fn connect_host(&self) -> &str {
        if self.ip.is_empty() {
            &self.hostname
        } else {
            &self.ip
        }
    }

    /// Same port and `host` names this address (`sentinelAddrEqualsHostname`
    /// once `host` is resolved): `host_ip` is what `host` resolved to, if
    /// it did; unresolved, it is compared with the hostname (the IP while
    /// `resolve-hostnames` is off), ASCII case-insensitively.
    pub fn matches(&self, host: &str, host_ip: Option<&str>, port: i64) -> bool {
        i64::from(self.port) == port
            && match host_ip {
                Some(ip) => self.ip.eq_ignore_ascii_case(ip),
                None => {
                    self.hostname.eq_ignore_ascii_case(host) || self.ip.eq_ignore_ascii_case(host)
                }
            }
    }

    /// `sentinelAddrOrHostnameEqual`: same port and same IP, or the same
    /// hostname (case-insensitively).
    pub fn same(&self, other: &Addr) -> bool {
        self.port == other.port
            && ((!self.ip.is_empty() && self.ip == other.ip)
                || self.hostname.eq_ignore_ascii_case(&other.hostname))
    }
}

/// Which record an input or an action is about. Replicas are named
/// `ip:port` and sentinels by their run id (myid), as in Redis's dicts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceId {
    /// The monitored master called this name.
    Master(String),
    /// A replica of `master`, named `ip:port`.
    Replica {
        /// Master name.
        master: String,
        /// Replica name (`ip:port`).
        name: String,
    },
    /// Another sentinel watching `master`, by its run id.
    Sentinel {
        /// Master name.
        master: String,
        /// The sentinel's myid.
        runid: String,
    },
}

impl InstanceId {
    /// Name of the master this record belongs to.
    pub fn master_name(&self) -> &str {
        match self {
            InstanceId::Master(m) => m,
            InstanceId::Replica { master, .. } | InstanceId::Sentinel { master, .. } => master,
        }
    }

    pub(crate) fn who(&self) -> Who {
        match self {
            InstanceId::Master(_) => Who::Master,
            InstanceId::Replica { name, .. } => Who::Replica(name.clone()),
            InstanceId::Sentinel { runid, .. } => Who::Sentinel(runid.clone()),
        }
    }
}

/// An instance inside one master's record (the master itself, one of its
/// replicas, one of its sentinels).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Who {
    Master,
    Replica(String),
    Sentinel(String),
}

impl Who {
    pub(crate) fn id(&self, master: &str) -> InstanceId {
        match self {
            Who::Master => InstanceId::Master(master.to_string()),
            Who::Replica(name) => InstanceId::Replica {
                master: master.to_string(),
                name: name.clone(),
            },
            Who::Sentinel(runid) => InstanceId::Sentinel {
                master: master.to_string(),
                runid: runid.clone(),
            },
        }
    }
}

/// The three kinds of record (`SRI_MASTER`, `SRI_SLAVE`, `SRI_SENTINEL`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A monitored master.
    Master,
    /// A replica of a monitored master.
    Replica,
    /// Another sentinel.
    Sentinel,
}

impl Kind {
    /// The type word used in event payloads: `master`, `slave`, `sentinel`.
    pub fn type_str(self) -> &'static str {
        match self {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        }
    }
}

/// The role an instance's INFO reported (`role_reported`). `Unknown` is an
/// INFO without a `role:` line (Redis stores 0 then).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `role:master`.
    Master,
    /// `role:slave`.
    Slave,
    /// No role line seen.
    Unknown,
}

/// A [`Link`] that several records may hold (Redis's refcounted
/// `instanceLink`): the records of one sentinel (same run id) in the
/// contexts of several masters share one link, so one connection, one
/// PING clock and one reconnection throttle serve them all
/// (`sentinelTryConnectionSharing`). Cloning shares; the refcount is the
/// number of holders.
///
/// The mutex only gives shared ownership a `Send` form: the core runs
/// under the runtime's lock, one thread at a time. Never hold two guards
/// of one link at once (take one and read what is needed from it).
#[derive(Clone, Debug, Default)]
pub struct SharedLink(Arc<Mutex<Link>>);

impl SharedLink {
    /// A link held by one record.
    pub fn new(link: Link) -> SharedLink {
        SharedLink(Arc::new(Mutex::new(link)))
    }

    /// The link's state.
    pub fn get(&self) -> MutexGuard<'_, Link> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How many records hold this link (`link->refcount`).
    pub fn refcount(&self) -> usize {
        Arc::strong_count(&self.0)
    }

    /// Both are the same link.
    pub fn same(&self, other: &SharedLink) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// State of the command and pub/sub connections to one instance
/// (`instanceLink`). The sockets live outside the core; these are the
/// facts about them the rules need.
#[derive(Clone, Debug, Default)]
pub struct Link {
    /// Command connection established.
    pub cc: bool,
    /// Pub/sub connection established (masters and replicas only).
    pub pc: bool,
    /// Commands sent on the command link whose replies have not arrived.
    pub pending_commands: u32,
    /// When the command link was (re)established.
    pub cc_conn_time: Millis,
    /// When the pub/sub link was (re)established.
    pub pc_conn_time: Millis,
    /// Last message received on the pub/sub link.
    pub pc_last_activity: Millis,
    /// Last reconnection attempt.
    pub last_reconn_time: Millis,
    /// When the oldest still unanswered PING was sent, 0 if none.
    pub act_ping_time: Millis,
    /// When the last PING was sent.
    pub last_ping_time: Millis,
    /// Last valid PING reply (PONG, LOADING, MASTERDOWN).
    pub last_avail_time: Millis,
    /// Last PING reply of any kind.
    pub last_pong_time: Millis,
    /// Local address of the command-link socket (the hello's sentinel ip
    /// when no announce-ip is set).
    pub local_ip: Option<String>,
}

/// Boolean state flags (`SRI_*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    /// Subjectively down.
    pub s_down: bool,
    /// Objectively down (masters).
    pub o_down: bool,
    /// A sentinel's last answer said the master is down.
    pub master_down: bool,
    /// A failover of this master is running.
    pub failover_in_progress: bool,
    /// The replica selected for promotion.
    pub promoted: bool,
    /// SLAVEOF sent to reconfigure this replica.
    pub reconf_sent: bool,
    /// The replica is syncing with the promoted one.
    pub reconf_inprog: bool,
    /// The replica is reconfigured.
    pub reconf_done: bool,
    /// Failover started by `SENTINEL FAILOVER`.
    pub force_failover: bool,
    /// `SCRIPT KILL` already sent during this SDOWN.
    pub script_kill_sent: bool,
    /// The master restarted (new run id) and has not answered PONG yet.
    pub master_reboot: bool,
}

/// One monitored instance: a master, a replica or a sentinel.
#[derive(Clone, Debug)]
pub struct Instance {
    /// Master, replica or sentinel.
    pub kind: Kind,
    /// Master name, replica `ip:port`, or sentinel run id.
    pub name: String,
    /// Where it is.
    pub addr: Addr,
    /// Run id from INFO (or the sentinel's myid).
    pub runid: Option<String>,
    /// Connection facts, shared between the records of one sentinel.
    pub link: SharedLink,
    /// State flags.
    pub flags: Flags,
    /// Start of the current (or last) SDOWN.
    pub s_down_since_time: Millis,
    /// Start of the current (or last) ODOWN.
    pub o_down_since_time: Millis,
    /// Last successful hello PUBLISH to this instance.
    pub last_pub_time: Millis,
    /// Last hello received from this sentinel.
    pub last_hello_time: Millis,
    /// Last well-formed IS-MASTER-DOWN-BY-ADDR reply from this sentinel.
    pub last_master_down_reply_time: Millis,
    /// Last INFO text received.
    pub info: Option<String>,
    /// When INFO was last received, 0 if never.
    pub info_refresh: Millis,
    /// Role from the last INFO.
    pub role_reported: Role,
    /// When `role_reported` last changed.
    pub role_reported_time: Millis,
    /// Replica: `master_link_down_since_seconds` × 1000 (0 when absent).
    pub master_link_down_time: Millis,
    /// Replica: `master_host` from INFO.
    pub slave_master_host: Option<String>,
    /// Replica: `master_port` from INFO.
    pub slave_master_port: i64,
    /// Replica: `master_link_status:up`.
    pub slave_master_link_up: bool,
    /// Replica: `slave_priority` (100 by default; 0 = never promote).
    pub slave_priority: i64,
    /// Replica: `slave_repl_offset`.
    pub slave_repl_offset: u64,
    /// Replica: `replica_announced` (false hides it from SENTINEL REPLICAS).
    pub replica_announced: bool,
    /// Replica: last change of its reported master address or role.
    pub slave_conf_change_time: Millis,
    /// Replica: when the failover's SLAVEOF was sent.
    pub slave_reconf_sent_time: Millis,
    /// Master: our vote; sentinel: its vote as told in its last answer.
    pub leader: Option<String>,
    /// Epoch of `leader`.
    pub leader_epoch: u64,
    /// Master: when the reboot (new run id) was seen.
    pub master_reboot_since_time: Millis,
}

impl Instance {
    /// A fresh record as `createSentinelRedisInstance` makes it: no link
    /// yet, but timers set to `now` so an unreachable instance still goes
    /// SDOWN after down-after-milliseconds.
    pub fn new(kind: Kind, name: String, addr: Addr, now: Millis) -> Instance {
        Instance {
            kind,
            name,
            addr,
            runid: None,
            link: SharedLink::new(Link {
                act_ping_time: now,
                last_avail_time: now,
                last_pong_time: now,
                ..Link::default()
            }),
            flags: Flags::default(),
            s_down_since_time: 0,
            o_down_since_time: 0,
            last_pub_time: now,
            last_hello_time: now,
            last_master_down_reply_time: now,
            info: None,
            info_refresh: 0,
            role_reported: match kind {
                Kind::Master => Role::Master,
                Kind::Replica => Role::Slave,
                Kind::Sentinel => Role::Unknown,
            },
            role_reported_time: now,
            master_link_down_time: 0,
            slave_master_host: None,
            slave_master_port: 0,
            slave_master_link_up: false,
            slave_priority: 100,
            slave_repl_offset: 0,
            replica_announced: true,
            slave_conf_change_time: now,
            slave_reconf_sent_time: 0,
            leader: None,
            leader_epoch: 0,
            master_reboot_since_time: 0,
        }
    }

    /// Both links needed for this kind are up (`!link->disconnected`).
    pub fn connected(&self) -> bool {
        let l = self.link.get();
        l.cc && (self.kind == Kind::Sentinel || l.pc)
    }

    /// No SDOWN or ODOWN episode began in the last `ms`
    /// (`sentinelRedisInstanceNoDownFor`).
    pub fn no_down_for(&self, now: Millis, ms: Millis) -> bool {
        let most_recent = self.s_down_since_time.max(self.o_down_since_time);
        most_recent == 0 || now - most_recent > ms
    }

    /// The `flags` field of SENTINEL MASTER/REPLICAS/SENTINELS, in Redis's
    /// order.
    pub fn flags_string(&self) -> String {
        let f = &self.flags;
        let mut out: Vec<&str> = Vec::new();
        if f.s_down {
            out.push("s_down");
        }
        if f.o_down {
            out.push("o_down");
        }
        out.push(match self.kind {
            Kind::Master => "master",
            Kind::Replica => "slave",
            Kind::Sentinel => "sentinel",
        });
        if !self.connected() {
            out.push("disconnected");
        }
        let rest = [
            (f.master_down, "master_down"),
            (f.failover_in_progress, "failover_in_progress"),
            (f.promoted, "promoted"),
            (f.reconf_sent, "reconf_sent"),
            (f.reconf_inprog, "reconf_inprog"),
            (f.reconf_done, "reconf_done"),
            (f.force_failover, "force_failover"),
            (f.script_kill_sent, "script_kill_sent"),
        ];
        out.extend(rest.iter().filter(|(on, _)| *on).map(|(_, n)| *n));
        out.join(",")
    }
}

/// Per-master settings (`sentinel <option> <name> ...` lines and SENTINEL
/// SET). Defaults are Redis's.
#[derive(Clone, Debug)]
pub struct MasterConfig {
    /// Master name.
    pub name: String,
    /// Configured address.
    pub addr: Addr,
    /// Sentinels needed to agree on ODOWN (and the minimum votes to lead).
    pub quorum: u32,
    /// `down-after-milliseconds` (30000).
    pub down_after: Millis,
    /// `failover-timeout` (180000).
    pub failover_timeout: Millis,
    /// `parallel-syncs` (1).
    pub parallel_syncs: u32,
    /// `master-reboot-down-after-period` (0 = off).
    pub master_reboot_down_after_period: Millis,
    /// `notification-script`.
    pub notification_script: Option<String>,
    /// `client-reconfig-script`.
    pub client_reconfig_script: Option<String>,
    /// `auth-pass`.
    pub auth_pass: Option<String>,
    /// `auth-user`.
    pub auth_user: Option<String>,
    /// `rename-command`: lower-cased original name → new name.
    pub renamed_commands: BTreeMap<String, String>,
}

impl MasterConfig {
    /// A master with Redis's default settings.
    pub fn new(name: impl Into<String>, addr: Addr, quorum: u32) -> MasterConfig {
        MasterConfig {
            name: name.into(),
            addr,
            quorum,
            down_after: 30_000,
            failover_timeout: 180_000,
            parallel_syncs: 1,
            master_reboot_down_after_period: 0,
            notification_script: None,
            client_reconfig_script: None,
            auth_pass: None,
            auth_user: None,
            renamed_commands: BTreeMap::new(),
        }
    }
}

/// The failover state machine's states (`SENTINEL_FAILOVER_STATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FailoverState {
    /// No failover.
    None,
    /// Waiting to be elected leader.
    WaitStart,
    /// Choosing the replica to promote.
    SelectSlave,
    /// Sending SLAVEOF NO ONE to it.
    SendSlaveofNoone,
    /// Waiting for its INFO to say `role:master`.
    WaitPromotion,
    /// Pointing the other replicas at it.
    ReconfSlaves,
    /// Done; the master record switches to the promoted address.
    UpdateConfig,
}

impl FailoverState {
    /// The `failover-state` text of SENTINEL MASTER.
    pub fn as_str(self) -> &'static str {
        match self {
            FailoverState::None => "none",
            FailoverState::WaitStart => "wait_start",
            FailoverState::SelectSlave => "select_slave",
            FailoverState::SendSlaveofNoone => "send_slaveof_noone",
            FailoverState::WaitPromotion => "wait_promotion",
            FailoverState::ReconfSlaves => "reconf_slaves",
            FailoverState::UpdateConfig => "update_config",
        }
    }
}

/// A monitored master with everything known about it.
#[derive(Clone, Debug)]
pub struct Master {
    /// The master's own record (its `leader`/`leader_epoch` are our vote).
    pub inst: Instance,
    /// Settings.
    pub cfg: MasterConfig,
    /// Epoch of the configuration (the failover that produced this
    /// address).
    pub config_epoch: u64,
    /// Epoch of the failover we run or ran.
    pub failover_epoch: u64,
    /// Failover state.
    pub failover_state: FailoverState,
    /// Last state change.
    pub failover_state_change_time: Millis,
    /// Start of the last failover attempt or vote for another sentinel
    /// (randomised; may be in the future).
    pub failover_start_time: Millis,
    /// Name of the replica being promoted.
    pub promoted_slave: Option<String>,
    /// Replicas by `ip:port`.
    pub replicas: BTreeMap<String, Instance>,
    /// Other sentinels by run id.
    pub sentinels: BTreeMap<String, Instance>,
}

impl Master {
    /// A freshly monitored master.
    pub fn new(cfg: MasterConfig, now: Millis) -> Master {
        let inst = Instance::new(Kind::Master, cfg.name.clone(), cfg.addr.clone(), now);
        Master {
            inst,
            cfg,
            config_epoch: 0,
            failover_epoch: 0,
            failover_state: FailoverState::None,
            failover_state_change_time: 0,
            failover_start_time: 0,
            promoted_slave: None,
            replicas: BTreeMap::new(),
            sentinels: BTreeMap::new(),
        }
    }

    /// Master name.
    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub(crate) fn get(&self, who: &Who) -> Option<&Instance> {
        match who {
            Who::Master => Some(&self.inst),
            Who::Replica(n) => self.replicas.get(n),
            Who::Sentinel(r) => self.sentinels.get(r),
        }
    }

    pub(crate) fn get_mut(&mut self, who: &Who) -> Option<&mut Instance> {
        match who {
            Who::Master => Some(&mut self.inst),
            Who::Replica(n) => self.replicas.get_mut(n),
            Who::Sentinel(r) => self.sentinels.get_mut(r),
        }
    }

    /// "Instance details" of §15: `master <name> <ip> <port>`, or for a
    /// replica/sentinel `<type> <name> <ip> <port> @ <master> <ip> <port>`.
    pub fn details_of(&self, inst: &Instance, ah: bool) -> String {
        match inst.kind {
            Kind::Master => format!("master {} {}", inst.name, inst.addr.show(ah)),
            k => format!(
                "{} {} {} @ {} {}",
                k.type_str(),
                inst.name,
                inst.addr.show(ah),
                self.cfg.name,
                self.inst.addr.show(ah)
            ),
        }
    }

    pub(crate) fn details(&self, who: &Who, ah: bool) -> String {
        self.get(who)
            .map(|i| self.details_of(i, ah))
            .unwrap_or_default()
    }

    /// The master address as this sentinel believes it: the promoted
    /// replica's once a failover reached reconf-slaves
    /// (`sentinelGetCurrentMasterAddress`).
    pub fn current_addr(&self) -> &Addr {
        if self.inst.flags.failover_in_progress
            && self.failover_state >= FailoverState::ReconfSlaves
        {
            if let Some(p) = self
                .promoted_slave
                .as_ref()
                .and_then(|n| self.replicas.get(n))
            {
                return &p.addr;
            }
        }
        &self.inst.addr
    }

    /// The command name to send after `rename-command` (Redis applies the
    /// master's table to its replicas and sentinels too).
    pub fn command_name(&self, name: &str) -> String {
        self.cfg
            .renamed_commands
            .get(&name.to_ascii_lowercase())
            .cloned()
            .unwrap_or_else(|| name.to_string())
    }

    /// The master "looks sane" for enforcing replica configuration
    /// (`sentinelMasterLooksSane`).
    pub fn looks_sane(&self, now: Millis, info_period: Millis) -> bool {
        self.inst.role_reported == Role::Master
            && !self.inst.flags.s_down
            && !self.inst.flags.o_down
            && now - self.inst.info_refresh < 2 * info_period
    }
}
