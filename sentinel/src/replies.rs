//! The shapes of the SENTINEL replies and of INFO's `# Sentinel` section,
//! built from a [`SentinelState`] at time `now` (pure functions; the RESP
//! server encodes the frames for the client's protocol).
//!
//! Instance maps follow `addReplySentinelRedisInstance` of Redis 7.0.15:
//! [`Frame::Map`] (a RESP3 map, a flat field/value array in RESP2) whose
//! values are all bulk strings, numbers included, fields in Redis's order.
//! Where Redis walks a hash table (masters, replicas, sentinels) Picket
//! walks its sorted maps, so the order of the instances differs; the
//! order of the fields does not.

use picket_common::resp::Frame;

use crate::commands::SimulateFailure;
use crate::instance::{Instance, Kind, Master, Millis, Role};
use crate::state::{CommandError, SentinelState};

/// Counters of the script runner, which lives outside the core
/// (`sentinel.running_scripts` and the length of `sentinel.scripts_queue`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptStats {
    /// Scripts running now.
    pub running: usize,
    /// Scripts queued, running ones included (Redis keeps both in one
    /// list).
    pub queued: usize,
}

fn bulk(s: impl AsRef<[u8]>) -> Frame {
    Frame::bulk(s)
}

/// Collects `field → bulk value` pairs.
#[derive(Default)]
struct Fields(Vec<(Frame, Frame)>);

impl Fields {
    fn put(&mut self, key: &str, value: impl ToString) {
        self.0.push((bulk(key), bulk(value.to_string())));
    }
}

/// `now - t` for a timer that 0 means "never" (then 0).
fn age_or_zero(now: Millis, t: Millis) -> Millis {
    if t != 0 {
        now - t
    } else {
        0
    }
}

/// One instance map (`addReplySentinelRedisInstance`): the master `m`
/// itself or one of its replicas or sentinels.
pub fn instance_map(st: &SentinelState, m: &Master, inst: &Instance, now: Millis) -> Frame {
    let mut f = Fields::default();
    f.put("name", &inst.name);
    f.put("ip", inst.addr.announced(st.g.announce_hostnames));
    f.put("port", inst.addr.port);
    f.put("runid", inst.runid.as_deref().unwrap_or(""));
    f.put("flags", inst.flags_string());
    f.put("link-pending-commands", inst.link.get().pending_commands);
    // link->refcount: a sentinel's records share one link across masters
    f.put("link-refcount", inst.link.refcount());
    if inst.kind == Kind::Master && inst.flags.failover_in_progress {
        f.put("failover-state", m.failover_state.as_str());
    }
    f.put(
        "last-ping-sent",
        age_or_zero(now, inst.link.get().act_ping_time),
    );
    f.put("last-ok-ping-reply", now - inst.link.get().last_avail_time);
    f.put("last-ping-reply", now - inst.link.get().last_pong_time);
    if inst.flags.s_down {
        f.put("s-down-time", now - inst.s_down_since_time);
    }
    if inst.flags.o_down {
        f.put("o-down-time", now - inst.o_down_since_time);
    }
    // Redis copies the master's down-after to its replicas and sentinels.
    f.put("down-after-milliseconds", m.cfg.down_after);
    if inst.kind != Kind::Sentinel {
        f.put("info-refresh", age_or_zero(now, inst.info_refresh));
        f.put(
            "role-reported",
            if inst.role_reported == Role::Master {
                "master"
            } else {
                "slave"
            },
        );
        f.put("role-reported-time", now - inst.role_reported_time);
    }
    match inst.kind {
        Kind::Master => {
            f.put("config-epoch", m.config_epoch);
            f.put("num-slaves", m.replicas.len());
            f.put("num-other-sentinels", m.sentinels.len());
            f.put("quorum", m.cfg.quorum);
            f.put("failover-timeout", m.cfg.failover_timeout);
            f.put("parallel-syncs", m.cfg.parallel_syncs);
            if let Some(s) = &m.cfg.notification_script {
                f.put("notification-script", s);
            }
            if let Some(s) = &m.cfg.client_reconfig_script {
                f.put("client-reconfig-script", s);
            }
        }
        Kind::Replica => {
            f.put("master-link-down-time", inst.master_link_down_time);
            f.put(
                "master-link-status",
                if inst.slave_master_link_up {
                    "ok"
                } else {
                    "err"
                },
            );
            f.put(
                "master-host",
                inst.slave_master_host.as_deref().unwrap_or("?"),
            );
            f.put("master-port", inst.slave_master_port);
            f.put("slave-priority", inst.slave_priority);
            f.put("slave-repl-offset", inst.slave_repl_offset);
            f.put("replica-announced", u8::from(inst.replica_announced));
        }
        Kind::Sentinel => {
            f.put("last-hello-message", now - inst.last_hello_time);
            f.put("voted-leader", inst.leader.as_deref().unwrap_or("?"));
            f.put("voted-leader-epoch", inst.leader_epoch);
        }
    }
    Frame::Map(f.0)
}

/// `SENTINEL MASTERS`: an array of master maps.
pub fn masters(st: &SentinelState, now: Millis) -> Frame {
    Frame::Array(
        st.masters
            .values()
            .map(|m| instance_map(st, m, &m.inst, now))
            .collect(),
    )
}

fn master_named<'a>(st: &'a SentinelState, name: &str) -> Result<&'a Master, CommandError> {
    st.masters.get(name).ok_or(CommandError::NoSuchMaster)
}

/// `SENTINEL MASTER <name>`: one master map.
pub fn master(st: &SentinelState, name: &str, now: Millis) -> Result<Frame, CommandError> {
    let m = master_named(st, name)?;
    Ok(instance_map(st, m, &m.inst, now))
}

/// `SENTINEL REPLICAS|SLAVES <name>`: an array of replica maps, without
/// the replicas whose INFO says `replica_announced:0`.
pub fn replicas(st: &SentinelState, name: &str, now: Millis) -> Result<Frame, CommandError> {
    let m = master_named(st, name)?;
    Ok(Frame::Array(
        m.replicas
            .values()
            .filter(|r| r.replica_announced)
            .map(|r| instance_map(st, m, r, now))
            .collect(),
    ))
}

/// `SENTINEL SENTINELS <name>`: an array of maps of the other sentinels.
pub fn sentinels(st: &SentinelState, name: &str, now: Millis) -> Result<Frame, CommandError> {
    let m = master_named(st, name)?;
    Ok(Frame::Array(
        m.sentinels
            .values()
            .map(|s| instance_map(st, m, s, now))
            .collect(),
    ))
}

/// INFO's `# Sentinel` section, each line ending in CRLF, for example:
///
/// ```text
/// # Sentinel
/// sentinel_masters:1
/// sentinel_tilt:0
/// sentinel_tilt_since_seconds:-1
/// sentinel_running_scripts:0
/// sentinel_scripts_queue_length:0
/// sentinel_simulate_failure_flags:0
/// master0:name=mymaster,status=ok,address=127.0.0.1:6379,slaves=1,sentinels=3
/// ```
///
/// `status` is `odown`, else `sdown`, else `ok`; the address is not
/// bracketed for IPv6 (as in Redis); `sentinels` counts this one too.
pub fn info_section(st: &SentinelState, scripts: ScriptStats, now: Millis) -> String {
    let g = &st.g;
    let tilt_since = if g.tilt {
        (now - g.tilt_start_time) / 1000
    } else {
        -1
    };
    let mut s = format!(
        "# Sentinel\r\n\
         sentinel_masters:{}\r\n\
         sentinel_tilt:{}\r\n\
         sentinel_tilt_since_seconds:{}\r\n\
         sentinel_running_scripts:{}\r\n\
         sentinel_scripts_queue_length:{}\r\n\
         sentinel_simulate_failure_flags:{}\r\n",
        st.masters.len(),
        u8::from(g.tilt),
        tilt_since,
        scripts.running,
        scripts.queued,
        g.simulate_failure,
    );
    for (i, m) in st.masters.values().enumerate() {
        let f = &m.inst.flags;
        let status = if f.o_down {
            "odown"
        } else if f.s_down {
            "sdown"
        } else {
            "ok"
        };
        s.push_str(&format!(
            "master{i}:name={},status={status},address={}:{},slaves={},sentinels={}\r\n",
            m.name(),
            m.inst.addr.announced(st.g.announce_hostnames),
            m.inst.addr.port,
            m.replicas.len(),
            m.sentinels.len() + 1,
        ));
    }
    s
}

/// `SENTINEL INFO-CACHE [<name> ...]`: for each named master (all when
/// `names` is empty; unknown and repeated names are skipped) its name and
/// an array of `[age, INFO text or null]`, the master first, then its
/// replicas. As in Redis 7.0.15 every age is the *master's* INFO age
/// (0 if it never answered), the replicas' included.
pub fn info_cache<S: AsRef<str>>(st: &SentinelState, names: &[S], now: Millis) -> Frame {
    let chosen: Vec<&Master> = if names.is_empty() {
        st.masters.values().collect()
    } else {
        let mut v: Vec<&Master> = Vec::new();
        for n in names {
            if let Some(m) = st.masters.get(n.as_ref()) {
                if !v.iter().any(|c| c.name() == m.name()) {
                    v.push(m);
                }
            }
        }
        v
    };
    let mut out = Vec::with_capacity(chosen.len() * 2);
    for m in chosen {
        let age = age_or_zero(now, m.inst.info_refresh);
        let entry = |i: &Instance| {
            Frame::Array(vec![
                Frame::Integer(age),
                i.info.as_deref().map_or(Frame::Null, bulk),
            ])
        };
        let mut list = vec![entry(&m.inst)];
        list.extend(m.replicas.values().map(entry));
        out.push(bulk(m.name()));
        out.push(Frame::Array(list));
    }
    Frame::Array(out)
}

/// The parameters of `SENTINEL CONFIG GET`/`SET` in Redis 7.0.15's order.
pub const CONFIG_PARAMS: [&str; 6] = [
    "resolve-hostnames",
    "announce-hostnames",
    "announce-ip",
    "announce-port",
    "sentinel-user",
    "sentinel-pass",
];

/// `SENTINEL CONFIG GET <glob>`: a map of the matching parameters
/// (case-insensitive glob), values as bulk strings (`yes`/`no`, the port
/// number, empty when unset).
pub fn config_get(st: &SentinelState, pattern: &str) -> Frame {
    let g = &st.g;
    let yn = |b: bool| if b { "yes" } else { "no" };
    let mut f = Fields::default();
    for p in CONFIG_PARAMS {
        if !picket_common::glob::glob_match(pattern.as_bytes(), p.as_bytes(), true) {
            continue;
        }
        match p {
            "resolve-hostnames" => f.put(p, yn(g.resolve_hostnames)),
            "announce-hostnames" => f.put(p, yn(g.announce_hostnames)),
            "announce-ip" => f.put(p, g.announce_ip.as_deref().unwrap_or("")),
            "announce-port" => f.put(p, g.announce_port),
            "sentinel-user" => f.put(p, g.sentinel_user.as_deref().unwrap_or("")),
            _ => f.put(p, g.sentinel_pass.as_deref().unwrap_or("")),
        }
    }
    Frame::Map(f.0)
}

/// `SENTINEL DEBUG` without arguments: a map of the timer names and their
/// values as bulk strings.
pub fn debug_timers(s: &SentinelState) -> Frame {
    let mut f = Fields::default();
    for (k, v) in s.g.timers.list() {
        f.put(k, v);
    }
    Frame::Map(f.0)
}

/// `SENTINEL SIMULATE-FAILURE HELP`: the flag names.
pub fn simulate_failure_help() -> Frame {
    Frame::Array(SimulateFailure::NAMES.iter().map(bulk).collect())
}
