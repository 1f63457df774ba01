//! Hello messages: the exact payload, and what receiving one does —
//! sentinel discovery, epoch adoption, and the newer-config-epoch-wins
//! rule that propagates a failover's result (reference §5).

use std::fmt;

use crate::failover::{client_reconf_script, reset_master_and_change_address};
use crate::info::{atoi, strtoull};
use std::collections::BTreeMap;

use crate::instance::{Instance, InstanceId, Kind, Master, Millis, SharedLink, Who};
use crate::io::{Action, Level};
use crate::state::SentinelState;

/// The pub/sub channel sentinels talk on.
pub const HELLO_CHANNEL: &str = "__sentinel__:hello";

/// One hello: `<ip>,<port>,<myid>,<current epoch>,<master name>,<master
/// ip>,<master port>,<master config epoch>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hello {
    /// The sender's announced address.
    pub sentinel_ip: String,
    /// The sender's announced port.
    pub sentinel_port: i64,
    /// The sender's myid.
    pub runid: String,
    /// The sender's current epoch.
    pub current_epoch: u64,
    /// Which master this is about.
    pub master_name: String,
    /// Where the sender believes that master is.
    pub master_ip: String,
    /// Its port.
    pub master_port: i64,
    /// The config epoch of that belief.
    pub master_config_epoch: u64,
}

impl Hello {
    /// Parses a payload: exactly 8 comma-separated fields, numbers read the
    /// C way (`atoi`, `strtoull`) as Redis does.
    pub fn parse(payload: &str) -> Option<Hello> {
        let t: Vec<&str> = payload.split(',').collect();
        if t.len() != 8 {
            return None;
        }
        Some(Hello {
            sentinel_ip: t[0].to_string(),
            sentinel_port: atoi(t[1]),
            runid: t[2].to_string(),
            current_epoch: strtoull(t[3]),
            master_name: t[4].to_string(),
            master_ip: t[5].to_string(),
            master_port: atoi(t[6]),
            master_config_epoch: strtoull(t[7]),
        })
    }
}

impl fmt::Display for Hello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{},{},{},{},{},{},{},{}",
            self.sentinel_ip,
            self.sentinel_port,
            self.runid,
            self.current_epoch,
            self.master_name,
            self.master_ip,
            self.master_port,
            self.master_config_epoch
        )
    }
}

impl SentinelState {
    /// A hello arrived (`sentinelReceiveHelloMessages` when `via` is a
    /// pub/sub link, `sentinelPublishCommand` when `None`).
    pub(crate) fn hello_received(&mut self, now: Millis, via: Option<&InstanceId>, payload: &str) {
        if let Some(id) = via {
            if let Some(i) = self.instance_mut(id) {
                i.link.get().pc_last_activity = now;
            }
            if payload.contains(&self.g.myid) {
                return;
            }
        }
        self.process_hello(now, payload);
    }

    /// `sentinelProcessHelloMessage`.
    fn process_hello(&mut self, now: Millis, payload: &str) {
        let Some(h) = Hello::parse(payload) else {
            return;
        };
        if !self.masters.contains_key(&h.master_name) {
            return;
        }
        let mname = h.master_name.clone();
        let sentinel_ip = self.host_ip(&h.sentinel_ip);
        let known = self.masters[&mname]
            .sentinels
            .get(&h.runid)
            .is_some_and(|s| {
                s.addr
                    .matches(&h.sentinel_ip, sentinel_ip.as_deref(), h.sentinel_port)
                    && s.runid.as_deref() == Some(&h.runid)
            });
        let mut si: Option<String> = known.then(|| h.runid.clone());
        if !known {
            self.add_hello_sender(now, &h, sentinel_ip.as_deref());
            if self.masters[&mname].sentinels.contains_key(&h.runid) {
                si = Some(h.runid.clone());
            }
        }

        let (mut ctx, masters) = self.split(now);
        let Some(m) = masters.get_mut(&mname) else {
            return;
        };
        let script = m.cfg.notification_script.clone();
        let ah = ctx.g.announce_hostnames;
        if h.current_epoch > ctx.g.current_epoch {
            ctx.g.current_epoch = h.current_epoch;
            ctx.out.persist();
            ctx.out.event(
                Level::Warning,
                "+new-epoch",
                ctx.g.current_epoch.to_string(),
                script.as_deref(),
            );
        }
        let Some(si) = si else {
            return;
        };
        if m.config_epoch < h.master_config_epoch {
            m.config_epoch = h.master_config_epoch;
            let master_ip = ctx.resolve(&h.master_ip);
            if !m
                .inst
                .addr
                .matches(&h.master_ip, master_ip.as_deref(), h.master_port)
            {
                if let Some(new_addr) = ctx.create_addr(&h.master_ip, h.master_port, false) {
                    let from = m.details(&Who::Sentinel(si.clone()), ah);
                    ctx.out.event(
                        Level::Warning,
                        "+config-update-from",
                        from,
                        script.as_deref(),
                    );
                    let text = format!(
                        "{} {} {}",
                        m.name(),
                        m.inst.addr.show(ah),
                        new_addr.show(ah)
                    );
                    ctx.out
                        .event(Level::Warning, "+switch-master", text, script.as_deref());
                    let old = m.inst.addr.clone();
                    reset_master_and_change_address(&mut ctx, m, new_addr);
                    let to = m.inst.addr.clone();
                    client_reconf_script(&mut ctx, m, "observer", &old, &to);
                }
            }
        }
        if let Some(s) = m.sentinels.get_mut(&si) {
            s.last_hello_time = now;
        }
    }

    /// Adds an unknown hello sender, handling address switches and
    /// address conflicts (step 2 of reference §5).
    fn add_hello_sender(&mut self, now: Millis, h: &Hello, sentinel_ip: Option<&str>) {
        let mname = h.master_name.clone();
        let (mut ctx, masters) = self.split(now);
        let ah = ctx.g.announce_hostnames;
        let Some(m) = masters.get_mut(&mname) else {
            return;
        };
        let removed = remove_sentinel(ctx.out, m, &h.runid);
        if removed > 0 {
            let text = format!(
                "{} ip {} port {} for {}",
                m.details(&Who::Master, ah),
                h.sentinel_ip,
                h.sentinel_port,
                h.runid
            );
            ctx.out
                .event(Level::Notice, "+sentinel-address-switch", text, None);
        } else if let Some(other) = m
            .sentinels
            .values()
            .find(|s| s.addr.matches(&h.sentinel_ip, sentinel_ip, h.sentinel_port))
        {
            let text = m.details_of(other, ah);
            let obsolete = other.name.clone();
            ctx.out
                .event(Level::Notice, "+sentinel-invalid-addr", text, None);
            for mm in masters.values_mut() {
                remove_sentinel(ctx.out, mm, &obsolete);
            }
        }
        let shared = shared_link(masters, &mname, &h.runid);
        let Some(m) = masters.get_mut(&mname) else {
            return;
        };
        let Some(addr) = ctx.create_addr(&h.sentinel_ip, h.sentinel_port, false) else {
            return;
        };
        let mut s = Instance::new(Kind::Sentinel, h.runid.clone(), addr.clone(), now);
        s.runid = Some(h.runid.clone());
        if let Some(link) = shared {
            s.link = link;
        }
        m.sentinels.insert(h.runid.clone(), s);
        if removed == 0 {
            let text = m.details(&Who::Sentinel(h.runid.clone()), ah);
            ctx.out.event(Level::Notice, "+sentinel", text, None);
        } else {
            // sentinelUpdateSentinelAddressInAllMasters
            let mut reconfigured = 0;
            for mm in masters.values_mut() {
                let mm_name = mm.name().to_string();
                if mm_name == mname {
                    continue;
                }
                if let Some(s) = mm.sentinels.get_mut(&h.runid) {
                    ctx.out.push(Action::Disconnect {
                        instance: Who::Sentinel(h.runid.clone()).id(&mm_name),
                        link: None,
                    });
                    s.link.get().cc = false;
                    s.link.get().pc = false;
                    s.addr = addr.clone();
                    reconfigured += 1;
                }
            }
            if reconfigured > 0 {
                if let Some(m) = masters.get(&mname) {
                    let text = format!(
                        "{} {} additional matching instances",
                        m.details(&Who::Sentinel(h.runid.clone()), ah),
                        reconfigured
                    );
                    ctx.out
                        .event(Level::Notice, "+sentinel-address-update", text, None);
                }
            }
        }
        ctx.out.persist();
    }
}

/// Removes the sentinel with `runid` from `m`, releasing its link; returns
/// how many were removed (`removeMatchingSentinelFromMaster`).
fn remove_sentinel(out: &mut crate::io::Out, m: &mut Master, runid: &str) -> usize {
    let name = m.name().to_string();
    match m.sentinels.remove(runid) {
        Some(s) => {
            release_link(out, &name, s);
            1
        }
        None => 0,
    }
}

/// `sentinelTryConnectionSharing` for a sentinel record about to join
/// master `master`: the link of a record with the same run id in another
/// master, if there is one (the address is not compared, as in Redis).
pub(crate) fn shared_link(
    masters: &BTreeMap<String, Master>,
    master: &str,
    runid: &str,
) -> Option<SharedLink> {
    masters
        .iter()
        .filter(|(name, _)| name.as_str() != master)
        .find_map(|(_, m)| m.sentinels.get(runid))
        .map(|s| s.link.clone())
}

/// `releaseInstanceLink` for a record leaving `master`: its connections
/// are closed only if no other record holds the link.
pub(crate) fn release_link(out: &mut crate::io::Out, master: &str, record: Instance) {
    if record.link.refcount() == 1 {
        let who = match record.kind {
            Kind::Master => Who::Master,
            Kind::Replica => Who::Replica(record.name.clone()),
            Kind::Sentinel => Who::Sentinel(record.name.clone()),
        };
        out.push(Action::Disconnect {
            instance: who.id(master),
            link: None,
        });
    }
}
