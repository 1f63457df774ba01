//! A monitored group on loopback: data nodes and sentinels as real
//! processes, each behind its own fault-injecting proxy ([`crate::net`]).
//!
//! Addresses: data node `i` is 127.0.0.(11+i), sentinel `j` is
//! 127.0.0.(51+j); the harness itself (probes, drill clients, event
//! watchers) is 127.0.0.1, which no cut ever names. Every process listens
//! on its own address at a private port, opens its outgoing connections
//! from that address (`bind-source-addr`), and announces the proxy's port
//! (`replica-announce-port`, `sentinel announce-ip/announce-port`), so all
//! traffic between members crosses a proxy that can cut it. The harness
//! talks to processes on their private ports, so it sees them even while
//! they are cut off.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use picket_common::resp::Frame;
use serde::{Deserialize, Serialize};

use crate::client::{call_once, field, fields, info_field, text};
use crate::net::{Net, Proxy};
use crate::proc::{Binaries, Impl, Process};
use crate::topology::Topology;

/// A probe in a polling loop (the loop retries).
const PROBE: Duration = Duration::from_millis(500);
/// A single request a caller acts on (a stall of a loaded machine is not
/// an answer).
const CALL: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Node,
    Sentinel,
}

/// One process of the group.
pub struct Member {
    pub name: String,
    pub kind: Kind,
    pub ip: Ipv4Addr,
    /// The port clients and peers use (the proxy's).
    pub port: u16,
    /// The process's own port (the harness's back door).
    pub real_port: u16,
    pub dir: PathBuf,
    pub proc: Process,
    pub proxy: Proxy,
}

impl Member {
    /// The address clients and peers use.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.port)
    }

    /// The process's own listening address (never cut).
    pub fn real_addr(&self) -> SocketAddr {
        SocketAddr::new(IpAddr::V4(self.ip), self.real_port)
    }

    pub fn ip(&self) -> IpAddr {
        IpAddr::V4(self.ip)
    }
}

pub struct Group {
    pub topology: Topology,
    pub bins: Binaries,
    pub dir: PathBuf,
    pub net: Net,
    pub nodes: Vec<Member>,
    pub sentinels: Vec<Member>,
}

/// What `picket up` leaves in the data directory for `picket status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct GroupFile {
    pub master_name: String,
    pub implementation: Impl,
    pub members: Vec<MemberFile>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MemberFile {
    pub name: String,
    pub kind: Kind,
    pub addr: SocketAddr,
    pub real_addr: SocketAddr,
    pub pid: Option<u32>,
}

pub fn node_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 11 + i as u8)
}

pub fn sentinel_ip(j: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 51 + j as u8)
}

/// A port free on `ip` right now.
pub fn free_port(ip: Ipv4Addr) -> Result<u16> {
    Ok(TcpListener::bind((ip, 0))?.local_addr()?.port())
}

/// A free port on `ip` other than `taken` (the public port, not bound yet
/// when the private one is picked).
fn free_port_except(ip: Ipv4Addr, taken: u16) -> Result<u16> {
    loop {
        let p = free_port(ip)?;
        if p != taken {
            return Ok(p);
        }
    }
}

fn port_or_free(ip: Ipv4Addr, p: u16) -> Result<u16> {
    if p != 0 {
        Ok(p)
    } else {
        free_port(ip)
    }
}

impl Group {
    /// Starts every process and proxy and waits until each answers PING
    /// (not until the sentinels have found each other: see
    /// [`Group::wait_converged`]).
    pub async fn start(topology: &Topology, bins: &Binaries) -> Result<Group> {
        topology.check()?;
        if topology.nodes.len() > 40 || topology.sentinel.count > 40 {
            bail!("at most 40 data nodes and 40 sentinels");
        }
        let dir = topology.dir.clone();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let net = Net::new();
        let mut nodes = Vec::new();
        let master_ip = node_ip(0);
        let master_port = port_or_free(master_ip, topology.nodes[0].port)?;
        for (i, spec) in topology.nodes.iter().enumerate() {
            let ip = node_ip(i);
            let port = if i == 0 {
                master_port
            } else {
                port_or_free(ip, spec.port)?
            };
            let real_port = free_port_except(ip, port)?;
            let name = format!("node{}", i + 1);
            let mdir = dir.join(&name);
            std::fs::create_dir_all(&mdir)?;
            let mut args: Vec<String> = [
                "--port",
                &real_port.to_string(),
                "--bind",
                &ip.to_string(),
                "--bind-source-addr",
                &ip.to_string(),
                "--protected-mode",
                "no",
                "--dir",
                &mdir.display().to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--replica-announce-port",
                &port.to_string(),
                "--replica-priority",
                &spec.priority.to_string(),
                "--repl-diskless-sync-delay",
                "0",
                "--enable-debug-command",
                "yes",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if i > 0 {
                args.extend([
                    "--replicaof".into(),
                    master_ip.to_string(),
                    master_port.to_string(),
                ]);
            }
            args.extend(topology.server_args.iter().cloned());
            let proc = Process::spawn(&name, &bins.server, args, &mdir.join("server.log"))?;
            let proxy = Proxy::start(
                net.clone(),
                SocketAddr::new(IpAddr::V4(ip), port),
                SocketAddr::new(IpAddr::V4(ip), real_port),
            )
            .await
            .with_context(|| format!("proxy for {name} on {ip}:{port}"))?;
            nodes.push(Member {
                name,
                kind: Kind::Node,
                ip,
                port,
                real_port,
                dir: mdir,
                proc,
                proxy,
            });
        }
        let mut g = Group {
            topology: topology.clone(),
            bins: bins.clone(),
            dir: dir.clone(),
            net,
            nodes,
            sentinels: Vec::new(),
        };
        for m in &g.nodes {
            wait_ping(m.real_addr(), Duration::from_secs(10))
                .await
                .with_context(|| {
                    format!("{} did not start (log: {})", m.name, m.proc.log().display())
                })?;
        }
        for j in 0..topology.sentinel.count {
            g.spawn_sentinel(j, master_ip, master_port).await?;
        }
        for m in &g.sentinels {
            wait_ping(m.real_addr(), Duration::from_secs(10))
                .await
                .with_context(|| {
                    format!("{} did not start (log: {})", m.name, m.proc.log().display())
                })?;
        }
        Ok(g)
    }

    /// Starts sentinel `j` monitoring the master at `master_ip:master_port`.
    async fn spawn_sentinel(
        &mut self,
        j: usize,
        master_ip: Ipv4Addr,
        master_port: u16,
    ) -> Result<()> {
        let t = &self.topology;
        let ip = sentinel_ip(j);
        let port = port_or_free(ip, t.sentinel_port(j))?;
        let real_port = free_port_except(ip, port)?;
        let name = format!("sentinel{}", j + 1);
        let sdir = self.dir.join(&name);
        std::fs::create_dir_all(&sdir)?;
        let conf = sdir.join("sentinel.conf");
        std::fs::write(
            &conf,
            sentinel_conf(t, ip, port, real_port, &sdir, master_ip, master_port),
        )?;
        let proc = Process::spawn(
            &name,
            &self.bins.sentinel,
            vec![conf.display().to_string()],
            &sdir.join("sentinel.log"),
        )?;
        let proxy = Proxy::start(
            self.net.clone(),
            SocketAddr::new(IpAddr::V4(ip), port),
            SocketAddr::new(IpAddr::V4(ip), real_port),
        )
        .await
        .with_context(|| format!("proxy for {name} on {ip}:{port}"))?;
        self.sentinels.push(Member {
            name,
            kind: Kind::Sentinel,
            ip,
            port,
            real_port,
            dir: sdir,
            proc,
            proxy,
        });
        Ok(())
    }

    /// Adds a sentinel that monitors the current master (as an operator
    /// would configure it: `sentinel monitor` only; it finds the replicas
    /// and the other sentinels by itself).
    pub async fn add_sentinel(&mut self) -> Result<usize> {
        let mi = self
            .current_master()
            .await
            .ok_or_else(|| anyhow!("no master to monitor"))?;
        let (ip, port) = (self.nodes[mi].ip, self.nodes[mi].port);
        let j = self.sentinels.len();
        if j >= 40 {
            bail!("at most 40 sentinels");
        }
        self.spawn_sentinel(j, ip, port).await?;
        let m = &self.sentinels[j];
        wait_ping(m.real_addr(), Duration::from_secs(10))
            .await
            .with_context(|| {
                format!("{} did not start (log: {})", m.name, m.proc.log().display())
            })?;
        Ok(j)
    }

    pub fn master_name(&self) -> &str {
        &self.topology.master_name
    }

    /// The sentinels' client addresses, ready for a client's config.
    pub fn sentinel_addrs(&self) -> Vec<SocketAddr> {
        self.sentinels.iter().map(Member::addr).collect()
    }

    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.nodes.iter().chain(self.sentinels.iter())
    }

    /// Starts watching every sentinel's events (on their own ports).
    pub async fn events(&self) -> crate::events::Events {
        let addrs: Vec<SocketAddr> = self.sentinels.iter().map(Member::real_addr).collect();
        crate::events::Events::watch(&addrs).await
    }

    /// The data node whose client address is `addr`.
    pub fn node_at(&self, addr: SocketAddr) -> Option<usize> {
        self.nodes.iter().position(|m| m.addr() == addr)
    }

    /// What each sentinel answers to GET-MASTER-ADDR-BY-NAME (None when it
    /// does not answer).
    pub async fn sentinel_views(&self) -> Vec<Option<SocketAddr>> {
        let mut out = Vec::new();
        for s in &self.sentinels {
            out.push(
                master_addr_from(s.real_addr(), self.master_name())
                    .await
                    .ok()
                    .flatten(),
            );
        }
        out
    }

    /// INFO replication of node `i`, read on its own port.
    pub async fn node_info(&self, i: usize) -> Result<String> {
        let f = call_once(self.nodes[i].real_addr(), &["INFO", "replication"], CALL).await?;
        text(&f).ok_or_else(|| anyhow!("INFO: {f:?}"))
    }

    /// One command to data node `i` on its own port.
    pub async fn node_call(&self, i: usize, args: &[&str]) -> Result<Frame> {
        call_once(self.nodes[i].real_addr(), args, CALL).await
    }

    /// One command to sentinel `j` on its own port.
    pub async fn sentinel_call(&self, j: usize, args: &[&str]) -> Result<Frame> {
        call_once(self.sentinels[j].real_addr(), args, CALL).await
    }

    /// `SENTINEL MASTER <name>` of sentinel `j` as field pairs.
    pub async fn sentinel_master(&self, j: usize) -> Result<Vec<(String, String)>> {
        let f = call_once(
            self.sentinels[j].real_addr(),
            &["SENTINEL", "MASTER", self.master_name()],
            CALL,
        )
        .await?;
        match f {
            Frame::Error(e) => bail!("{e}"),
            f => Ok(fields(&f)),
        }
    }

    /// Waits until every running, unpaused member agrees: the sentinels
    /// name one master, it says `role:master`, every other live node
    /// replicates it with its link up, and each sentinel sees all live
    /// replicas and all other live sentinels with clean flags. Returns the
    /// master's index.
    pub async fn wait_converged(&mut self, within: Duration) -> Result<usize> {
        let deadline = Instant::now() + within;
        loop {
            let why = match self.converged().await {
                Ok(i) => return Ok(i),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                bail!("the group did not converge within {within:?}: {why}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn converged(&mut self) -> Result<usize> {
        let live_nodes: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].proc.alive() && !self.nodes[i].proc.is_paused())
            .collect();
        let live_sentinels: Vec<usize> = (0..self.sentinels.len())
            .filter(|&j| self.sentinels[j].proc.alive() && !self.sentinels[j].proc.is_paused())
            .collect();
        let views = self.sentinel_views().await;
        let mut master = None;
        for &j in &live_sentinels {
            let v = views[j].ok_or_else(|| anyhow!("sentinel{} names no master", j + 1))?;
            if master.is_some_and(|m| m != v) {
                bail!("sentinels disagree on the master");
            }
            master = Some(v);
        }
        let maddr = master.ok_or_else(|| anyhow!("no live sentinel"))?;
        let mi = self
            .node_at(maddr)
            .ok_or_else(|| anyhow!("master {maddr} is not a node of the group"))?;
        if !live_nodes.contains(&mi) {
            bail!("master {} is down", self.nodes[mi].name);
        }
        for &i in &live_nodes {
            let info = self.node_info(i).await?;
            let role = info_field(&info, "role").unwrap_or_default();
            if i == mi {
                if role != "master" {
                    bail!(
                        "{} is the sentinels' master but says role:{role}",
                        self.nodes[i].name
                    );
                }
                continue;
            }
            let following = format!(
                "{}:{}",
                info_field(&info, "master_host").unwrap_or_default(),
                info_field(&info, "master_port").unwrap_or_default()
            );
            if role != "slave" || following != maddr.to_string() {
                bail!("{} is {role} of {following}", self.nodes[i].name);
            }
            if info_field(&info, "master_link_status").as_deref() != Some("up") {
                bail!("{}'s link is down", self.nodes[i].name);
            }
        }
        for &j in &live_sentinels {
            let m = self.sentinel_master(j).await?;
            if field(&m, "flags") != Some("master") {
                bail!(
                    "sentinel{} flags the master {:?}",
                    j + 1,
                    field(&m, "flags")
                );
            }
            let others: usize = field(&m, "num-other-sentinels")
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            if others + 1 < live_sentinels.len() {
                bail!("sentinel{} knows {others} other sentinels", j + 1);
            }
            // Every live replica listed with clean flags (dead ones may
            // stay listed, as Redis keeps them until SENTINEL RESET).
            let f = call_once(
                self.sentinels[j].real_addr(),
                &["SENTINEL", "REPLICAS", self.master_name()],
                PROBE,
            )
            .await?;
            let listed: Vec<(String, String)> = match &f {
                Frame::Array(rs) => rs
                    .iter()
                    .map(|r| {
                        let r = fields(r);
                        (
                            format!(
                                "{}:{}",
                                field(&r, "ip").unwrap_or(""),
                                field(&r, "port").unwrap_or("")
                            ),
                            field(&r, "flags").unwrap_or("").to_string(),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            };
            for &i in live_nodes.iter().filter(|&&i| i != mi) {
                let a = self.nodes[i].addr().to_string();
                match listed.iter().find(|(addr, _)| *addr == a) {
                    Some((_, flags)) if flags == "slave" => {}
                    Some((_, flags)) => bail!("sentinel{} flags replica {a} {flags}", j + 1),
                    None => bail!("sentinel{} does not list replica {a}", j + 1),
                }
            }
        }
        Ok(mi)
    }

    /// The master the sentinels agree on now (the first live answer).
    pub async fn current_master(&self) -> Option<usize> {
        for v in self.sentinel_views().await.into_iter().flatten() {
            if let Some(i) = self.node_at(v) {
                return Some(i);
            }
        }
        None
    }

    /// Cuts node `i` off from every other member (its clients on the
    /// harness address keep reaching it).
    pub fn isolate_node(&self, i: usize) {
        let others: Vec<IpAddr> = self
            .members()
            .filter(|m| m.ip != self.nodes[i].ip)
            .map(Member::ip)
            .collect();
        self.net.partition(&[self.nodes[i].ip()], &others);
    }

    /// Cuts sentinel `j` off from every other member.
    pub fn isolate_sentinel(&self, j: usize) {
        let others: Vec<IpAddr> = self
            .members()
            .filter(|m| m.ip != self.sentinels[j].ip)
            .map(Member::ip)
            .collect();
        self.net.partition(&[self.sentinels[j].ip()], &others);
    }

    pub fn heal(&self) {
        self.net.heal();
    }

    /// Restarts a killed node with its original command line; it comes
    /// back as a master with an empty data set unless it was a replica
    /// (then it replicates its original master): the sentinels reconvert it.
    pub async fn restart_node(&mut self, i: usize) -> Result<()> {
        self.nodes[i].proc.restart()?;
        wait_ping(self.nodes[i].real_addr(), Duration::from_secs(10)).await
    }

    pub async fn restart_sentinel(&mut self, j: usize) -> Result<()> {
        self.sentinels[j].proc.restart()?;
        wait_ping(self.sentinels[j].real_addr(), Duration::from_secs(10)).await
    }

    /// Sets `CONFIG SET name value` on every live data node.
    pub async fn config_set_all(&self, name: &str, value: &str) -> Result<()> {
        for m in &self.nodes {
            let f = call_once(m.real_addr(), &["CONFIG", "SET", name, value], PROBE).await?;
            if let Frame::Error(e) = f {
                bail!("{}: CONFIG SET {name} {value}: {e}", m.name);
            }
        }
        Ok(())
    }

    pub fn file(&self) -> GroupFile {
        GroupFile {
            master_name: self.master_name().to_string(),
            implementation: self.bins.kind,
            members: self
                .members()
                .map(|m| MemberFile {
                    name: m.name.clone(),
                    kind: m.kind,
                    addr: m.addr(),
                    real_addr: m.real_addr(),
                    pid: m.proc.pid(),
                })
                .collect(),
        }
    }

    /// Stops every process (SIGTERM, then SIGKILL) and every proxy.
    pub fn stop(mut self) {
        for m in self.sentinels.iter_mut().chain(self.nodes.iter_mut()) {
            m.proc.stop(Duration::from_secs(2));
        }
    }
}

fn sentinel_conf(
    t: &Topology,
    ip: Ipv4Addr,
    port: u16,
    real_port: u16,
    dir: &Path,
    master_ip: Ipv4Addr,
    master_port: u16,
) -> String {
    let n = &t.master_name;
    format!(
        "port {real_port}\nbind {ip}\nbind-source-addr {ip}\ndir \"{dir}\"\n\
         sentinel announce-ip {ip}\nsentinel announce-port {port}\n\
         sentinel monitor {n} {master_ip} {master_port} {q}\n\
         sentinel down-after-milliseconds {n} {da}\n\
         sentinel failover-timeout {n} {ft}\n\
         sentinel parallel-syncs {n} {ps}\n",
        dir = dir.display(),
        q = t.quorum(),
        da = t.sentinel.down_after.as_millis(),
        ft = t.sentinel.failover_timeout.as_millis(),
        ps = t.sentinel.parallel_syncs,
    )
}

/// GET-MASTER-ADDR-BY-NAME on one sentinel.
pub async fn master_addr_from(sentinel: SocketAddr, name: &str) -> Result<Option<SocketAddr>> {
    let f = call_once(
        sentinel,
        &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", name],
        PROBE,
    )
    .await?;
    Ok(parse_addr_reply(&f))
}

/// `[ip, port]` as an address.
pub fn parse_addr_reply(f: &Frame) -> Option<SocketAddr> {
    let Frame::Array(a) = f else { return None };
    let ip = text(a.first()?)?;
    let port = text(a.get(1)?)?;
    format!("{ip}:{port}").parse().ok()
}

async fn wait_ping(addr: SocketAddr, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(Frame::Simple(s)) = call_once(addr, &["PING"], PROBE).await {
            if s == "PONG" {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            bail!("no PONG from {addr} within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
