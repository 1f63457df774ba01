//! The one place where the config file's model ([`crate::config`]) and the
//! core's records ([`crate::state`]) meet: building the core from a loaded
//! config at start-up, and mapping the core back to the
//! [`PersistedState`] that a config flush writes.

use crate::config::{KnownSentinel, MasterConfig as FileMaster, PersistedState, SentinelAddr};
use crate::instance::{Addr, MasterConfig, Millis};
use crate::state::{Random, SentinelState};

fn core_addr(a: &SentinelAddr) -> Addr {
    Addr::resolved(a.hostname.clone(), a.ip.clone(), a.port)
}

fn file_addr(a: &Addr) -> SentinelAddr {
    SentinelAddr {
        hostname: a.hostname.clone(),
        ip: a.ip.clone(),
        port: a.port,
    }
}

/// The core's settings for a master read from the file.
fn core_master_config(m: &FileMaster) -> MasterConfig {
    let mut c = MasterConfig::new(m.name.clone(), core_addr(m.current_addr()), m.quorum);
    c.down_after = m.down_after_ms;
    c.failover_timeout = m.failover_timeout_ms;
    c.parallel_syncs = m.parallel_syncs.max(0) as u32;
    c.master_reboot_down_after_period = m.master_reboot_down_after_period_ms;
    c.notification_script = m.notification_script.clone();
    c.client_reconfig_script = m.client_reconfig_script.clone();
    c.auth_pass = m.auth_pass.clone();
    c.auth_user = m.auth_user.clone();
    c.renamed_commands = m
        .renamed_commands
        .iter()
        .map(|(old, new)| (old.to_ascii_lowercase(), new.clone()))
        .collect();
    c
}

/// Builds the core from a loaded config (`sentinelHandleConfiguration`'s
/// result): id, epochs, announce options, masters with their known
/// replicas and sentinels. No events are generated.
pub fn build_core(
    file: &PersistedState,
    port: u16,
    now: Millis,
    rng: Box<dyn Random + Send>,
) -> SentinelState {
    let mut core = SentinelState::new(file.myid.clone(), port, now, rng);
    core.g.current_epoch = file.current_epoch;
    core.g.announce_ip = file.announce_ip.clone();
    core.g.announce_port = u16::try_from(file.announce_port).unwrap_or(0);
    core.g.deny_scripts_reconfig = file.deny_scripts_reconfig;
    core.g.resolve_hostnames = file.resolve_hostnames;
    core.g.announce_hostnames = file.announce_hostnames;
    core.g.sentinel_user = file.sentinel_user.clone();
    core.g.sentinel_pass = file.sentinel_pass.clone();
    for m in &file.masters {
        if core.add_master(now, core_master_config(m)).is_err() {
            continue;
        }
        for r in &m.known_replicas {
            core.add_known_replica(now, &m.name, core_addr(r));
        }
        for k in &m.known_sentinels {
            core.add_known_sentinel(now, &m.name, core_addr(&k.addr), &k.runid);
        }
        if let Some(cm) = core.masters.get_mut(&m.name) {
            cm.config_epoch = m.config_epoch;
            cm.inst.leader_epoch = m.leader_epoch;
        }
    }
    core
}

/// What a config flush writes for the core's current state. `base` is the
/// state last loaded or written: the global options the core does not
/// model are kept from it, masters keep their order in the file (new ones
/// are appended), and a master's hostname survives while its address is
/// unchanged.
pub fn persisted_state(core: &SentinelState, base: &PersistedState) -> PersistedState {
    let mut st = base.clone();
    st.myid = core.g.myid.clone();
    st.current_epoch = core.g.current_epoch;
    st.announce_ip = core.g.announce_ip.clone();
    st.announce_port = i32::from(core.g.announce_port);
    st.deny_scripts_reconfig = core.g.deny_scripts_reconfig;
    st.resolve_hostnames = core.g.resolve_hostnames;
    st.announce_hostnames = core.g.announce_hostnames;
    st.sentinel_user = core.g.sentinel_user.clone();
    st.sentinel_pass = core.g.sentinel_pass.clone();
    st.default_down_after_ms = core.g.timers.default_down_after;
    st.default_failover_timeout_ms = core.g.timers.default_failover_timeout;
    let mut names: Vec<&str> = base
        .masters
        .iter()
        .map(|m| m.name.as_str())
        .filter(|n| core.masters.contains_key(*n))
        .collect();
    for n in core.masters.keys() {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    st.masters = names
        .into_iter()
        .filter_map(|n| {
            let m = core.masters.get(n)?;
            let old = base.master(n);
            let addr = match old {
                Some(o) if m.inst.addr.same(&core_addr(&o.addr)) => o.addr.clone(),
                _ => file_addr(&m.inst.addr),
            };
            let cur = m.current_addr();
            let mut f = FileMaster::new(n, addr, m.cfg.quorum);
            f.promoted = (!cur.same(&m.inst.addr)).then(|| file_addr(cur));
            f.down_after_ms = m.cfg.down_after;
            f.failover_timeout_ms = m.cfg.failover_timeout;
            f.parallel_syncs = i32::try_from(m.cfg.parallel_syncs).unwrap_or(i32::MAX);
            f.notification_script = m.cfg.notification_script.clone();
            f.client_reconfig_script = m.cfg.client_reconfig_script.clone();
            f.auth_pass = m.cfg.auth_pass.clone();
            f.auth_user = m.cfg.auth_user.clone();
            f.master_reboot_down_after_period_ms = m.cfg.master_reboot_down_after_period;
            f.config_epoch = m.config_epoch;
            f.leader_epoch = m.inst.leader_epoch;
            f.known_replicas = m.replicas.values().map(|r| file_addr(&r.addr)).collect();
            f.known_sentinels = m
                .sentinels
                .values()
                .map(|s| KnownSentinel {
                    addr: file_addr(&s.addr),
                    runid: s.runid.clone().unwrap_or_else(|| s.name.clone()),
                })
                .collect();
            // keep the file's spelling of renamed commands
            f.renamed_commands = m
                .cfg
                .renamed_commands
                .iter()
                .map(|(old, new)| {
                    let spelled =
                        old_entry(old, n, base).map_or_else(|| old.clone(), str::to_string);
                    (spelled, new.clone())
                })
                .collect();
            Some(f)
        })
        .collect();
    st
}

fn old_entry<'a>(lower: &str, master: &str, base: &'a PersistedState) -> Option<&'a str> {
    base.master(master)?
        .renamed_commands
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(lower))
        .map(|(o, _)| o.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> Box<dyn Random + Send> {
        Box::new(rand::rngs::StdRng::seed_from_u64(1))
    }

    #[test]
    fn a_loaded_state_maps_back_to_itself() {
        let mut file = PersistedState {
            myid: "a".repeat(40),
            current_epoch: 7,
            ..Default::default()
        };
        let mut m = FileMaster::new("m", SentinelAddr::from_ip("127.0.0.1", 7000), 2);
        m.down_after_ms = 1000;
        m.config_epoch = 3;
        m.leader_epoch = 5;
        m.auth_pass = Some("pw".into());
        m.known_replicas = vec![SentinelAddr::from_ip("127.0.0.1", 7001)];
        m.known_sentinels = vec![KnownSentinel {
            addr: SentinelAddr::from_ip("127.0.0.1", 26000),
            runid: "b".repeat(40),
        }];
        m.renamed_commands = vec![("CONFIG".into(), "XCONFIG".into())];
        file.masters.push(m);
        let core = build_core(&file, 26001, 1, rng());
        assert_eq!(core.masters["m"].cfg.renamed_commands["config"], "XCONFIG");
        assert_eq!(persisted_state(&core, &file), file);
    }

    #[test]
    fn rewrite_compares_timeouts_with_the_sentinel_debug_defaults() {
        // SENTINEL DEBUG default-down-after 5000 default-failover-timeout
        // 7000, then monitor a (gets 5000/7000) and b, set to 30000/180000:
        // redis-sentinel 7.0.15 writes b's values and not a's
        let mut core = build_core(&PersistedState::default(), 26001, 1, rng());
        core.g.timers.default_down_after = 5000;
        core.g.timers.default_failover_timeout = 7000;
        let mut a = MasterConfig::new("a", Addr::new("127.0.0.1", 7000), 2);
        a.down_after = 5000;
        a.failover_timeout = 7000;
        let mut b = MasterConfig::new("b", Addr::new("127.0.0.1", 7001), 2);
        b.down_after = 30_000;
        b.failover_timeout = 180_000;
        core.add_master(1, a).unwrap();
        core.add_master(1, b).unwrap();
        let st = persisted_state(&core, &PersistedState::default());
        let (server, _) = crate::config::parse("", &crate::config::SystemResolver).unwrap();
        let text = crate::config::rewrite_content("", &server, &st);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("down-after") || l.contains("failover-timeout"))
            .collect();
        assert_eq!(
            lines,
            [
                "sentinel down-after-milliseconds b 30000",
                "sentinel failover-timeout b 180000"
            ]
        );
    }
}
