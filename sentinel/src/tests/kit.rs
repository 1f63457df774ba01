//! Test fixtures: a single sentinel driven by hand with a fake clock, and
//! a deterministic simulation of several sentinels and data nodes.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::rngs::mock::StepRng;

use crate::instance::{Addr, InstanceId, MasterConfig, Millis};
use crate::io::{events, Action, Input, LinkKind, MasterDownReply, Reply, Request};
use crate::state::SentinelState;

/// A plausible wall-clock start (Redis's failover_start_time starts at 0,
/// so time must be far from 0).
pub const T0: Millis = 1_700_000_000_000;
pub const MASTER: &str = "mymaster";
pub const MYID: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const DOWN_AFTER: Millis = 5000;
pub const FAILOVER_TIMEOUT: Millis = 60_000;

pub fn runid(c: char) -> String {
    std::iter::repeat_n(c, 40).collect()
}

pub fn master_addr() -> Addr {
    Addr::new("10.0.0.1", 6370)
}

pub fn m() -> InstanceId {
    InstanceId::Master(MASTER.into())
}

/// The fixture's host for a port: the master (6370) is 10.0.0.1, replica
/// 6380 is 10.0.0.2, 6381 is 10.0.0.3, ...
pub fn host_of(port: u16) -> String {
    let n = if port == 6370 { 1 } else { port - 6378 };
    format!("10.0.0.{n}")
}

pub fn r(port: u16) -> InstanceId {
    InstanceId::Replica {
        master: MASTER.into(),
        name: format!("{}:{}", host_of(port), port),
    }
}

pub fn raddr(port: u16) -> Addr {
    Addr::new(host_of(port), port)
}

pub fn s(c: char) -> InstanceId {
    InstanceId::Sentinel {
        master: MASTER.into(),
        runid: runid(c),
    }
}

pub fn master_config(quorum: u32) -> MasterConfig {
    let mut cfg = MasterConfig::new(MASTER, master_addr(), quorum);
    cfg.down_after = DOWN_AFTER;
    cfg.failover_timeout = FAILOVER_TIMEOUT;
    cfg
}

/// `role:master` INFO listing the given replica ports.
pub fn master_info(run: char, replicas: &[u16]) -> String {
    let mut t = format!(
        "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:master\r\n",
        runid(run)
    );
    t += &format!("connected_slaves:{}\r\n", replicas.len());
    for (n, p) in replicas.iter().enumerate() {
        let a = raddr(*p);
        t += &format!(
            "slave{n}:ip={},port={},state=online,offset=100,lag=0\r\n",
            a.ip, a.port
        );
    }
    t
}

/// `role:slave` INFO.
pub fn replica_info(run: char, master: &Addr, link_up: bool, offset: u64, priority: i64) -> String {
    format!(
        "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:slave\r\nmaster_host:{}\r\nmaster_port:{}\r\n\
         master_link_status:{}\r\nslave_repl_offset:{}\r\nslave_priority:{}\r\nreplica_announced:1\r\n",
        runid(run),
        master.ip,
        master.port,
        if link_up { "up" } else { "down" },
        offset,
        priority
    )
}

/// One sentinel driven by hand.
pub struct Fx {
    pub s: SentinelState,
    pub now: Millis,
    /// Instances that answer everything sent to them, with their INFO.
    pub alive: BTreeMap<InstanceId, String>,
}

impl Fx {
    /// Sentinel `MYID` monitoring `mymaster` (quorum), rand() always 0.
    pub fn new(quorum: u32) -> Fx {
        Fx::with_config(master_config(quorum))
    }

    pub fn with_config(cfg: MasterConfig) -> Fx {
        let mut s = SentinelState::new(MYID, 26370, T0, Box::new(StepRng::new(0, 0)));
        s.add_master(T0, cfg).unwrap();
        Fx {
            s,
            now: T0,
            alive: BTreeMap::new(),
        }
    }

    pub fn input(&mut self, i: Input) -> Vec<Action> {
        self.s.handle(self.now, i)
    }

    /// Advances the clock by `dt` and ticks.
    /// Instances in `alive` answer what the tick sent them (their replies'
    /// consequences are included in the result).
    pub fn tick(&mut self, dt: Millis) -> Vec<Action> {
        self.now += dt;
        let a = self.s.handle(self.now, Input::Tick);
        self.serve(a)
    }

    /// Answers, for `alive` instances, every request among `actions`;
    /// returns `actions` followed by what the answers caused.
    pub fn serve(&mut self, actions: Vec<Action>) -> Vec<Action> {
        let mut all = Vec::new();
        let mut queue: VecDeque<Action> = actions.into();
        while let Some(a) = queue.pop_front() {
            if let Action::Connect {
                instance,
                cmd,
                pubsub,
                ..
            } = &a
            {
                if self.alive.contains_key(instance) {
                    for (want, link) in [(*cmd, LinkKind::Command), (*pubsub, LinkKind::PubSub)] {
                        if want {
                            let input = Input::LinkUp {
                                instance: instance.clone(),
                                link,
                                local_ip: "10.0.0.100".into(),
                            };
                            queue.extend(self.s.handle(self.now, input));
                        }
                    }
                }
            }
            if let Action::Send {
                instance,
                request,
                argv,
            } = &a
            {
                if let Some(info) = self.alive.get(instance).cloned() {
                    let replies: Vec<Input> = match request {
                        Request::Ping => vec![Input::PingReply {
                            instance: instance.clone(),
                            reply: Reply::Status("PONG".into()),
                        }],
                        Request::Info => vec![Input::InfoReply {
                            instance: instance.clone(),
                            text: Some(info),
                        }],
                        // Our own hello comes back on our pub/sub link.
                        Request::Hello { payload } => vec![
                            Input::Hello {
                                via: Some(instance.clone()),
                                payload: payload.clone(),
                            },
                            Input::PublishReply {
                                instance: instance.clone(),
                                reply: Reply::Other,
                            },
                        ],
                        Request::Slaveof { master } => {
                            // The instance obeys: its INFO changes.
                            let run = info
                                .split("run_id:")
                                .nth(1)
                                .and_then(|r| r.chars().next())
                                .unwrap_or('z');
                            let text = match master {
                                None => master_info(run, &[]),
                                Some(a) => replica_info(run, a, true, 0, 100),
                            };
                            self.alive.insert(instance.clone(), text);
                            argv.iter()
                                .map(|_| Input::ReplyDiscarded {
                                    instance: instance.clone(),
                                })
                                .collect()
                        }
                        _ => argv
                            .iter()
                            .map(|_| Input::ReplyDiscarded {
                                instance: instance.clone(),
                            })
                            .collect(),
                    };
                    for input in replies {
                        queue.extend(self.s.handle(self.now, input));
                    }
                }
            }
            all.push(a);
        }
        all
    }

    /// Makes `id` answer from now on, with this INFO text.
    pub fn alive(&mut self, id: &InstanceId, info: String) -> Vec<Action> {
        self.alive.insert(id.clone(), info.clone());
        let a = self.healthy(id, Some(info));
        self.serve(a)
    }

    /// Stops `id` from answering (SIGSTOP).
    pub fn freeze(&mut self, id: &InstanceId) {
        self.alive.remove(id);
    }

    /// Ticks every 100 ms for `dt`, collecting actions.
    pub fn run(&mut self, dt: Millis) -> Vec<Action> {
        let mut all = Vec::new();
        let end = self.now + dt;
        while self.now + 100 <= end {
            all.extend(self.tick(100));
        }
        all
    }

    /// Both links up (command and pub/sub).
    pub fn up(&mut self, id: &InstanceId) -> Vec<Action> {
        let mut a = self.input(Input::LinkUp {
            instance: id.clone(),
            link: LinkKind::Command,
            local_ip: "10.0.0.100".into(),
        });
        if !matches!(id, InstanceId::Sentinel { .. }) {
            a.extend(self.input(Input::LinkUp {
                instance: id.clone(),
                link: LinkKind::PubSub,
                local_ip: "10.0.0.100".into(),
            }));
        }
        a
    }

    pub fn pong(&mut self, id: &InstanceId) -> Vec<Action> {
        self.reply(id, Reply::Status("PONG".into()))
    }

    pub fn reply(&mut self, id: &InstanceId, reply: Reply) -> Vec<Action> {
        self.input(Input::PingReply {
            instance: id.clone(),
            reply,
        })
    }

    pub fn info(&mut self, id: &InstanceId, text: String) -> Vec<Action> {
        self.input(Input::InfoReply {
            instance: id.clone(),
            text: Some(text),
        })
    }

    /// A peer's IS-MASTER-DOWN-BY-ADDR answer.
    pub fn answer(&mut self, id: &InstanceId, down: i64, leader: &str, epoch: i64) -> Vec<Action> {
        self.input(Input::MasterDownReply {
            instance: id.clone(),
            reply: Some(MasterDownReply {
                down,
                leader: leader.into(),
                leader_epoch: epoch,
            }),
        })
    }

    /// Adds known sentinels `b`, `c`, ... (runids of repeated letters).
    pub fn add_sentinels(&mut self, letters: &str) {
        for (n, c) in letters.chars().enumerate() {
            let addr = Addr::new("10.0.1.1", 26380 + n as u16);
            self.s.add_known_sentinel(self.now, MASTER, addr, &runid(c));
        }
    }

    pub fn add_replicas(&mut self, ports: &[u16]) {
        for p in ports {
            self.s.add_known_replica(self.now, MASTER, raddr(*p));
        }
    }

    /// Makes an instance healthy now: links up, PONG, and INFO.
    pub fn healthy(&mut self, id: &InstanceId, info: Option<String>) -> Vec<Action> {
        let mut a = self.up(id);
        a.extend(self.pong(id));
        if let Some(t) = info {
            a.extend(self.info(id, t));
        }
        a
    }

    pub fn master(&self) -> &crate::instance::Master {
        &self.s.masters[MASTER]
    }

    pub fn master_mut(&mut self) -> &mut crate::instance::Master {
        self.s.masters.get_mut(MASTER).unwrap()
    }
}

/// The `Send` requests to `id` among `actions`.
pub fn sends_to<'a>(actions: &'a [Action], id: &InstanceId) -> Vec<&'a Request> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                instance, request, ..
            } if instance == id => Some(request),
            _ => None,
        })
        .collect()
}

/// The event lines whose name is `name`.
pub fn named(actions: &[Action], name: &str) -> Vec<String> {
    events(actions)
        .into_iter()
        .filter(|l| l.split(' ').next() == Some(name))
        .collect()
}

pub fn has_event(actions: &[Action], name: &str) -> bool {
    !named(actions, name).is_empty()
}

// ---------------------------------------------------------------------
// A deterministic network of sentinels and data nodes.

/// A simulated redis-server.
#[derive(Clone, Debug)]
pub struct Node {
    pub runid: String,
    /// Answers anything at all (false = frozen, like SIGSTOP).
    pub up: bool,
    /// `None` = master.
    pub master: Option<Addr>,
    pub offset: u64,
    pub priority: i64,
}

pub struct Sim {
    pub now: Millis,
    pub sentinels: Vec<SentinelState>,
    pub sentinel_addrs: Vec<Addr>,
    pub sentinel_up: Vec<bool>,
    pub nodes: BTreeMap<Addr, Node>,
    /// (sentinel index, address) pairs that cannot talk.
    pub cut: BTreeSet<(usize, Addr)>,
    /// Every action each sentinel produced, in order.
    pub log: Vec<Vec<Action>>,
}

impl Sim {
    /// `n` sentinels monitoring a master at 10.0.0.1:6370 with replicas at
    /// the given ports; each sentinel knows the replicas but no sentinel
    /// (they discover each other through hellos).
    pub fn new(n: usize, quorum: u32, replicas: &[u16], seed: u64) -> Sim {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            master_addr(),
            Node {
                runid: runid('m'),
                up: true,
                master: None,
                offset: 1000,
                priority: 100,
            },
        );
        for (k, p) in replicas.iter().enumerate() {
            nodes.insert(
                raddr(*p),
                Node {
                    runid: runid(char::from(b'n' + k as u8)),
                    up: true,
                    master: Some(master_addr()),
                    offset: 1000,
                    priority: 100,
                },
            );
        }
        let mut sentinels = Vec::new();
        let mut sentinel_addrs = Vec::new();
        for k in 0..n {
            let id = runid(char::from(b'a' + k as u8));
            let port = 26370 + k as u16;
            let rng = rand::rngs::StdRng::seed_from_u64(seed + k as u64);
            let mut s = SentinelState::new(id, port, T0, Box::new(rng));
            s.add_master(T0, master_config(quorum)).unwrap();
            sentinels.push(s);
            sentinel_addrs.push(Addr::new("127.0.0.1", port));
        }
        Sim {
            now: T0,
            sentinel_up: vec![true; n],
            sentinels,
            sentinel_addrs,
            nodes,
            cut: BTreeSet::new(),
            log: vec![Vec::new(); n],
        }
    }

    fn reachable(&self, from: usize, to: &Addr) -> bool {
        if self.cut.contains(&(from, to.clone())) {
            return false;
        }
        if let Some(n) = self.nodes.get(to) {
            return n.up;
        }
        match self.sentinel_addrs.iter().position(|a| a == to) {
            Some(j) => {
                self.sentinel_up[j] && !self.cut.contains(&(j, self.sentinel_addrs[from].clone()))
            }
            None => false,
        }
    }

    fn info_text(&self, addr: &Addr) -> String {
        let n = &self.nodes[addr];
        match &n.master {
            None => {
                let mut t = format!(
                    "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:master\r\n",
                    n.runid
                );
                let mut k = 0;
                for (a, r) in &self.nodes {
                    if r.master.as_ref() == Some(addr) {
                        t += &format!(
                            "slave{k}:ip={},port={},state=online,offset={},lag=0\r\n",
                            a.ip, a.port, r.offset
                        );
                        k += 1;
                    }
                }
                t
            }
            Some(ma) => {
                let link_up = self
                    .nodes
                    .get(ma)
                    .is_some_and(|mn| mn.up && mn.master.is_none());
                format!(
                    "# Server\r\nrun_id:{}\r\n# Replication\r\nrole:slave\r\nmaster_host:{}\r\n\
                     master_port:{}\r\nmaster_link_status:{}\r\nslave_repl_offset:{}\r\n\
                     slave_priority:{}\r\nreplica_announced:1\r\n",
                    n.runid,
                    ma.ip,
                    ma.port,
                    if link_up { "up" } else { "down" },
                    n.offset,
                    n.priority
                )
            }
        }
    }

    /// Where an instance id points in sentinel `k`'s view.
    fn addr_of(&self, k: usize, id: &InstanceId) -> Option<Addr> {
        self.sentinels[k].instance(id).map(|i| i.addr.clone())
    }

    /// Sentinel `k`'s id for the data node at `addr` (its pub/sub link).
    fn id_for(&self, k: usize, addr: &Addr) -> Option<InstanceId> {
        let m = self.sentinels[k].masters.get(MASTER)?;
        if m.inst.addr == *addr {
            return Some(InstanceId::Master(MASTER.into()));
        }
        m.replicas
            .values()
            .find(|r| r.addr == *addr)
            .map(|r| InstanceId::Replica {
                master: MASTER.into(),
                name: r.name.clone(),
            })
    }

    /// Feeds `input` to sentinel `k` and performs everything that follows.
    pub fn feed(&mut self, k: usize, input: Input) {
        let mut queue: VecDeque<(usize, Input)> = VecDeque::new();
        queue.push_back((k, input));
        while let Some((k, input)) = queue.pop_front() {
            if !self.sentinel_up[k] {
                continue;
            }
            let actions = self.sentinels[k].handle(self.now, input);
            self.perform(k, &actions, &mut queue);
            self.log[k].extend(actions);
        }
    }

    fn perform(&mut self, k: usize, actions: &[Action], queue: &mut VecDeque<(usize, Input)>) {
        for a in actions {
            match a {
                Action::Connect {
                    instance,
                    addr,
                    cmd,
                    pubsub,
                } => {
                    let ok = self.reachable(k, addr);
                    for (want, link) in [(*cmd, LinkKind::Command), (*pubsub, LinkKind::PubSub)] {
                        if !want {
                            continue;
                        }
                        let input = if ok {
                            Input::LinkUp {
                                instance: instance.clone(),
                                link,
                                local_ip: "127.0.0.1".into(),
                            }
                        } else {
                            Input::LinkDown {
                                instance: instance.clone(),
                                link,
                            }
                        };
                        queue.push_back((k, input));
                    }
                }
                Action::Send {
                    instance,
                    request,
                    argv,
                } => {
                    let Some(addr) = self.addr_of(k, instance) else {
                        continue;
                    };
                    if !self.reachable(k, &addr) {
                        continue;
                    }
                    self.serve(k, instance, &addr, request, argv, queue);
                }
                _ => {}
            }
        }
    }

    fn serve(
        &mut self,
        k: usize,
        instance: &InstanceId,
        addr: &Addr,
        request: &Request,
        argv: &[Vec<String>],
        queue: &mut VecDeque<(usize, Input)>,
    ) {
        let instance = instance.clone();
        match request {
            Request::Ping => queue.push_back((
                k,
                Input::PingReply {
                    instance,
                    reply: Reply::Status("PONG".into()),
                },
            )),
            Request::Info => {
                let text = self.info_text(addr);
                queue.push_back((
                    k,
                    Input::InfoReply {
                        instance,
                        text: Some(text),
                    },
                ));
            }
            Request::Hello { payload } => {
                if self.nodes.contains_key(addr) {
                    // Published on a data node: every other sentinel that
                    // can reach it is subscribed.
                    for j in 0..self.sentinels.len() {
                        if !self.reachable(j, addr) {
                            continue;
                        }
                        if let Some(via) = self.id_for(j, addr) {
                            queue.push_back((
                                j,
                                Input::Hello {
                                    via: Some(via),
                                    payload: payload.clone(),
                                },
                            ));
                        }
                    }
                } else if let Some(j) = self.sentinel_addrs.iter().position(|a| a == addr) {
                    queue.push_back((
                        j,
                        Input::Hello {
                            via: None,
                            payload: payload.clone(),
                        },
                    ));
                }
                queue.push_back((
                    k,
                    Input::PublishReply {
                        instance,
                        reply: Reply::Other,
                    },
                ));
            }
            Request::IsMasterDownByAddr => {
                let Some(j) = self.sentinel_addrs.iter().position(|a| a == addr) else {
                    return;
                };
                let a = &argv[0];
                let port: i64 = a[3].parse().unwrap();
                let epoch: u64 = a[4].parse().unwrap();
                let (ans, actions) =
                    self.sentinels[j].is_master_down_by_addr(self.now, &a[2], port, epoch, &a[5]);
                self.log[j].extend(actions);
                queue.push_back((
                    k,
                    Input::MasterDownReply {
                        instance,
                        reply: Some(MasterDownReply {
                            down: i64::from(ans.down),
                            leader: ans.leader,
                            leader_epoch: ans.leader_epoch as i64,
                        }),
                    },
                ));
            }
            Request::Slaveof { master } => {
                if let Some(n) = self.nodes.get_mut(addr) {
                    n.master = master.clone();
                }
                for _ in argv {
                    queue.push_back((
                        k,
                        Input::ReplyDiscarded {
                            instance: instance.clone(),
                        },
                    ));
                }
            }
            Request::ScriptKill => queue.push_back((k, Input::ReplyDiscarded { instance })),
        }
    }

    /// Advances the clock in 100 ms steps for `dt`, ticking every sentinel.
    pub fn run(&mut self, dt: Millis) {
        let end = self.now + dt;
        while self.now < end {
            self.now += 100;
            for k in 0..self.sentinels.len() {
                self.feed(k, Input::Tick);
            }
        }
    }

    pub fn events(&self, k: usize) -> Vec<String> {
        events(&self.log[k])
    }

    pub fn master_addr_seen_by(&self, k: usize) -> Addr {
        self.sentinels[k].master_addr(MASTER).unwrap().clone()
    }
}

use rand::SeedableRng;
