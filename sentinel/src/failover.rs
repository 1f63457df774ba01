//! The failover state machine run by the elected leader (reference §7.1,
//! §9, §11), the master reset/switch shared with config propagation, and
//! the enforcement of the configuration on replicas outside failovers
//! (+convert-to-slave, +fix-slave-config, §9.5).

use std::cmp::Ordering;

use crate::election::{get_leader, MAX_DESYNC};
use crate::instance::{Addr, FailoverState, Instance, Master, Millis, Role, Who};
use crate::io::{Action, Level, Request};
use crate::monitor::{cmd, send};
use crate::state::Timers;
use crate::state::{add_replica, CommandError, Ctx, SentinelState};

/// A replica whose SLAVEOF made no progress for this long counts as done.
pub const SLAVE_RECONF_TIMEOUT: Millis = 10_000;

impl SentinelState {
    /// `SENTINEL FAILOVER <name>`: start a failover now, without needing an
    /// election (`force_failover`).
    pub fn failover(&mut self, now: Millis, name: &str) -> (Result<(), CommandError>, Vec<Action>) {
        let (mut ctx, masters) = self.split(now);
        let result = match masters.get_mut(name) {
            None => Err(CommandError::NoSuchMaster),
            Some(m) if m.inst.flags.failover_in_progress => Err(CommandError::InProgress),
            Some(m) if select_slave(now, m, &ctx.g.timers).is_none() => {
                Err(CommandError::NoGoodSlave)
            }
            Some(m) => {
                start_failover(&mut ctx, m);
                m.inst.flags.force_failover = true;
                Ok(())
            }
        };
        (result, self.out_take())
    }
}

/// `sentinelStartFailoverIfNeeded`: ODOWN, no failover running, and none
/// started (or voted for someone else) in the last 2 × failover-timeout.
pub(crate) fn start_failover_if_needed(ctx: &mut Ctx, m: &mut Master) -> bool {
    if !m.inst.flags.o_down || m.inst.flags.failover_in_progress {
        return false;
    }
    if ctx.now - m.failover_start_time < m.cfg.failover_timeout * 2 {
        return false;
    }
    start_failover(ctx, m);
    true
}

/// `sentinelStartFailover`: a new epoch, state wait_start.
pub(crate) fn start_failover(ctx: &mut Ctx, m: &mut Master) {
    m.failover_state = FailoverState::WaitStart;
    m.inst.flags.failover_in_progress = true;
    ctx.g.current_epoch += 1;
    m.failover_epoch = ctx.g.current_epoch;
    let script = m.cfg.notification_script.clone();
    ctx.out.event(
        Level::Warning,
        "+new-epoch",
        ctx.g.current_epoch.to_string(),
        script.as_deref(),
    );
    ctx.out.event(
        Level::Warning,
        "+try-failover",
        m.details(&Who::Master, ctx.g.announce_hostnames),
        script.as_deref(),
    );
    m.failover_start_time = ctx.now + ctx.rand(MAX_DESYNC);
    m.failover_state_change_time = ctx.now;
}

/// `sentinelFailoverStateMachine`: one step per tick.
pub(crate) fn state_machine(ctx: &mut Ctx, m: &mut Master) {
    if !m.inst.flags.failover_in_progress {
        return;
    }
    match m.failover_state {
        FailoverState::WaitStart => wait_start(ctx, m),
        FailoverState::SelectSlave => select_slave_state(ctx, m),
        FailoverState::SendSlaveofNoone => send_slaveof_noone(ctx, m),
        FailoverState::WaitPromotion => wait_promotion(ctx, m),
        FailoverState::ReconfSlaves => reconf_next_slave(ctx, m),
        FailoverState::None | FailoverState::UpdateConfig => {}
    }
}

fn warn(ctx: &mut Ctx, m: &Master, name: &str, who: &Who) {
    let text = m.details(who, ctx.g.announce_hostnames);
    ctx.out.event(
        Level::Warning,
        name,
        text,
        m.cfg.notification_script.as_deref(),
    );
}

fn notice(ctx: &mut Ctx, m: &Master, name: &str, who: &Who) {
    let text = m.details(who, ctx.g.announce_hostnames);
    ctx.out.event(Level::Notice, name, text, None);
}

fn wait_start(ctx: &mut Ctx, m: &mut Master) {
    let leader = get_leader(ctx, m, m.failover_epoch);
    let is_leader = leader.is_some_and(|l| l.eq_ignore_ascii_case(&ctx.g.myid));
    if !is_leader && !m.inst.flags.force_failover {
        let election_timeout = ctx.g.timers.election_timeout.min(m.cfg.failover_timeout);
        if ctx.now - m.failover_start_time > election_timeout {
            warn(ctx, m, "-failover-abort-not-elected", &Who::Master);
            abort_failover(ctx, m);
        }
        return;
    }
    warn(ctx, m, "+elected-leader", &Who::Master);
    if ctx.g.simulate_failure & crate::commands::SimulateFailure::CRASH_AFTER_ELECTION != 0 {
        ctx.out.push(Action::SimulatedCrash);
    }
    m.failover_state = FailoverState::SelectSlave;
    m.failover_state_change_time = ctx.now;
    warn(ctx, m, "+failover-state-select-slave", &Who::Master);
}

/// `compareSlavesForPromotion`: lower priority, then higher offset, then
/// smaller run id (case-insensitive, missing last).
fn compare_for_promotion(a: &Instance, b: &Instance) -> Ordering {
    a.slave_priority
        .cmp(&b.slave_priority)
        .then(b.slave_repl_offset.cmp(&a.slave_repl_offset))
        .then_with(|| match (&a.runid, &b.runid) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()),
        })
}

/// `sentinelSelectSlave`: the best replica to promote, if any passes the
/// filters of reference §9.1.
pub fn select_slave(now: Millis, m: &Master, t: &Timers) -> Option<String> {
    let mut max_master_down_time = 0;
    if m.inst.flags.s_down {
        max_master_down_time += now - m.inst.s_down_since_time;
    }
    max_master_down_time += m.cfg.down_after * 10;
    let info_validity_time = if m.inst.flags.s_down {
        t.ping_period * 5
    } else {
        t.info_period * 3
    };
    m.replicas
        .values()
        .filter(|r| {
            !r.flags.s_down
                && !r.flags.o_down
                && r.connected()
                && now - r.link.get().last_avail_time <= t.ping_period * 5
                && r.slave_priority != 0
                && now - r.info_refresh <= info_validity_time
                && r.master_link_down_time <= max_master_down_time
        })
        .min_by(|a, b| compare_for_promotion(a, b))
        .map(|r| r.name.clone())
}

fn select_slave_state(ctx: &mut Ctx, m: &mut Master) {
    match select_slave(ctx.now, m, &ctx.g.timers) {
        None => {
            warn(ctx, m, "-failover-abort-no-good-slave", &Who::Master);
            abort_failover(ctx, m);
        }
        Some(name) => {
            let who = Who::Replica(name.clone());
            warn(ctx, m, "+selected-slave", &who);
            if let Some(r) = m.replicas.get_mut(&name) {
                r.flags.promoted = true;
            }
            m.promoted_slave = Some(name);
            m.failover_state = FailoverState::SendSlaveofNoone;
            m.failover_state_change_time = ctx.now;
            notice(ctx, m, "+failover-state-send-slaveof-noone", &who);
        }
    }
}

/// The transaction of `sentinelSendSlaveOf` (reference §9.2).
pub fn slaveof_argv(m: &Master, target: Option<&Addr>, ah: bool) -> Vec<Vec<String>> {
    let (host, port) = match target {
        Some(a) => (a.announced(ah).to_string(), a.port.to_string()),
        None => ("NO".to_string(), "ONE".to_string()),
    };
    vec![
        cmd(m, &["MULTI"]),
        cmd(m, &["SLAVEOF", &host, &port]),
        cmd(m, &["CONFIG", "REWRITE"]),
        cmd(m, &["CLIENT", "KILL", "TYPE", "normal"]),
        cmd(m, &["CLIENT", "KILL", "TYPE", "pubsub"]),
        cmd(m, &["EXEC"]),
    ]
}

fn send_slaveof(ctx: &mut Ctx, m: &mut Master, who: &Who, target: Option<Addr>) {
    let argv = slaveof_argv(m, target.as_ref(), ctx.g.announce_hostnames);
    send(ctx, m, who, Request::Slaveof { master: target }, argv);
}

fn promoted(m: &Master) -> Option<(Who, Addr)> {
    let name = m.promoted_slave.as_ref()?;
    let r = m.replicas.get(name)?;
    Some((Who::Replica(name.clone()), r.addr.clone()))
}

fn send_slaveof_noone(ctx: &mut Ctx, m: &mut Master) {
    let Some((who, _)) = promoted(m) else {
        return;
    };
    let connected = m.get(&who).is_some_and(Instance::connected);
    if !connected {
        if ctx.now - m.failover_state_change_time > m.cfg.failover_timeout {
            warn(ctx, m, "-failover-abort-slave-timeout", &Who::Master);
            abort_failover(ctx, m);
        }
        return;
    }
    send_slaveof(ctx, m, &who, None);
    notice(ctx, m, "+failover-state-wait-promotion", &who);
    m.failover_state = FailoverState::WaitPromotion;
    m.failover_state_change_time = ctx.now;
}

fn wait_promotion(ctx: &mut Ctx, m: &mut Master) {
    if ctx.now - m.failover_state_change_time > m.cfg.failover_timeout {
        warn(ctx, m, "-failover-abort-slave-timeout", &Who::Master);
        abort_failover(ctx, m);
    }
}

/// `sentinelFailoverReconfNextSlave`: keep at most parallel-syncs replicas
/// reconfiguring at once, then check for the end.
fn reconf_next_slave(ctx: &mut Ctx, m: &mut Master) {
    let Some((_, promoted_addr)) = promoted(m) else {
        return;
    };
    let mut in_progress = m
        .replicas
        .values()
        .filter(|r| r.flags.reconf_sent || r.flags.reconf_inprog)
        .count() as u32;
    let names: Vec<String> = m.replicas.keys().cloned().collect();
    for name in names {
        // Redis walks the replicas only while below parallel-syncs, so a
        // stuck replica's reconf-sent timeout is only noticed then.
        if in_progress >= m.cfg.parallel_syncs {
            break;
        }
        let who = Who::Replica(name.clone());
        let Some(r) = m.replicas.get_mut(&name) else {
            continue;
        };
        if r.flags.promoted || r.flags.reconf_done {
            continue;
        }
        if r.flags.reconf_sent
            && ctx.now - r.slave_reconf_sent_time > ctx.g.timers.slave_reconf_timeout
        {
            r.flags.reconf_sent = false;
            r.flags.reconf_done = true;
            notice(ctx, m, "-slave-reconf-sent-timeout", &who);
        }
        let Some(r) = m.replicas.get_mut(&name) else {
            continue;
        };
        if r.flags.reconf_sent || r.flags.reconf_inprog || !r.connected() {
            continue;
        }
        r.flags.reconf_sent = true;
        r.slave_reconf_sent_time = ctx.now;
        send_slaveof(ctx, m, &who, Some(promoted_addr.clone()));
        notice(ctx, m, "+slave-reconf-sent", &who);
        in_progress += 1;
    }
    detect_end(ctx, m, &promoted_addr);
}

/// `sentinelFailoverDetectEnd`.
fn detect_end(ctx: &mut Ctx, m: &mut Master, promoted_addr: &Addr) {
    let elapsed = ctx.now - m.failover_state_change_time;
    let promoted_down = promoted(m)
        .and_then(|(w, _)| m.get(&w).map(|r| r.flags.s_down))
        .unwrap_or(true);
    if promoted_down {
        return;
    }
    let mut not_reconfigured = m
        .replicas
        .values()
        .filter(|r| !(r.flags.promoted || r.flags.reconf_done || r.flags.s_down))
        .count();
    let mut timeout = false;
    if elapsed > m.cfg.failover_timeout {
        not_reconfigured = 0;
        timeout = true;
        warn(ctx, m, "+failover-end-for-timeout", &Who::Master);
    }
    if not_reconfigured == 0 {
        warn(ctx, m, "+failover-end", &Who::Master);
        m.failover_state = FailoverState::UpdateConfig;
        m.failover_state_change_time = ctx.now;
    }
    if timeout {
        let names: Vec<String> = m.replicas.keys().cloned().collect();
        for name in names {
            let who = Who::Replica(name.clone());
            let Some(r) = m.replicas.get_mut(&name) else {
                continue;
            };
            if r.flags.promoted || r.flags.reconf_done || r.flags.reconf_sent || !r.connected() {
                continue;
            }
            r.flags.reconf_sent = true;
            send_slaveof(ctx, m, &who, Some(promoted_addr.clone()));
            notice(ctx, m, "+slave-reconf-sent-be", &who);
        }
    }
}

/// `sentinelAbortFailover` (states up to wait_promotion only).
fn abort_failover(ctx: &mut Ctx, m: &mut Master) {
    m.inst.flags.failover_in_progress = false;
    m.inst.flags.force_failover = false;
    m.failover_state = FailoverState::None;
    m.failover_state_change_time = ctx.now;
    if let Some(name) = m.promoted_slave.take() {
        if let Some(r) = m.replicas.get_mut(&name) {
            r.flags.promoted = false;
        }
    }
}

/// `sentinelFailoverSwitchToPromotedSlave`: `+switch-master` and the
/// master record moves to the promoted replica's address.
pub(crate) fn switch_to_promoted(ctx: &mut Ctx, m: &mut Master) {
    let new_addr = promoted(m)
        .map(|(_, a)| a)
        .unwrap_or_else(|| m.inst.addr.clone());
    let ah = ctx.g.announce_hostnames;
    let text = format!(
        "{} {} {}",
        m.name(),
        m.inst.addr.show(ah),
        new_addr.show(ah)
    );
    ctx.out.event(
        Level::Warning,
        "+switch-master",
        text,
        m.cfg.notification_script.as_deref(),
    );
    reset_master_and_change_address(ctx, m, new_addr);
}

/// `sentinelResetMaster`: forget replicas (and sentinels unless
/// `keep_sentinels`), flags, failover state, run id; close links.
pub(crate) fn reset_master(ctx: &mut Ctx, m: &mut Master, keep_sentinels: bool, event: bool) {
    let name = m.name().to_string();
    for r in std::mem::take(&mut m.replicas).into_keys() {
        ctx.out.push(Action::Disconnect {
            instance: Who::Replica(r).id(&name),
            link: None,
        });
    }
    if keep_sentinels {
        // Their IS-MASTER-DOWN-BY-ADDR answers were about the instance we
        // stop monitoring: counted for the new one, a single late PONG
        // from it would make it ODOWN at once and fail it over again.
        // (Redis keeps them until they age out, 5 s later.)
        for s in m.sentinels.values_mut() {
            s.flags.master_down = false;
            s.leader = None;
        }
    } else {
        for s in std::mem::take(&mut m.sentinels).into_values() {
            crate::hello::release_link(ctx.out, &name, s);
        }
    }
    ctx.out.push(Action::Disconnect {
        instance: Who::Master.id(&name),
        link: None,
    });
    let now = ctx.now;
    let i = &mut m.inst;
    i.link.get().cc = false;
    i.link.get().pc = false;
    i.link.get().pending_commands = 0;
    i.flags = Default::default();
    i.leader = None;
    m.failover_state = FailoverState::None;
    m.failover_state_change_time = 0;
    m.failover_start_time = 0;
    m.promoted_slave = None;
    i.runid = None;
    i.slave_master_host = None;
    i.link.get().act_ping_time = now;
    // We closed the links ourselves: reopen them on the next tick. The
    // once-per-second throttle (still running from attempts to reach a
    // dead old master) could otherwise delay the first PONG past a short
    // down-after-milliseconds counted from now: a spurious +sdown of a
    // healthy new master. (Redis keeps the throttle.)
    i.link.get().last_reconn_time = 0;
    i.link.get().last_ping_time = 0;
    i.link.get().last_avail_time = now;
    i.link.get().last_pong_time = now;
    i.role_reported_time = now;
    i.role_reported = Role::Master;
    if event {
        warn(ctx, m, "+reset-master", &Who::Master);
    }
}

/// `sentinelResetMasterAndChangeAddress`: keep the sentinels, move the
/// master to `new_addr`, and re-add the replicas (minus the new master,
/// plus the old master address) with `+slave` each.
pub(crate) fn reset_master_and_change_address(ctx: &mut Ctx, m: &mut Master, new_addr: Addr) {
    let mut slaves: Vec<Addr> = m
        .replicas
        .values()
        .filter(|r| !r.addr.same(&new_addr))
        .map(|r| r.addr.clone())
        .collect();
    if !new_addr.same(&m.inst.addr) {
        slaves.push(m.inst.addr.clone());
    }
    reset_master(ctx, m, true, false);
    m.inst.addr = new_addr.clone();
    m.cfg.addr = new_addr;
    m.inst.o_down_since_time = 0;
    m.inst.s_down_since_time = 0;
    for addr in slaves {
        if let Some(name) = add_replica(m, addr, ctx.now, ctx.g.announce_hostnames) {
            notice(ctx, m, "+slave", &Who::Replica(name));
        }
    }
    ctx.out.persist();
}

/// Backdate every hello timestamp of this master so hellos go out on the
/// next tick (`sentinelForceHelloUpdateForMaster`).
fn force_hello_update(m: &mut Master, publish_period: Millis) {
    let back = |i: &mut Instance| {
        if i.last_pub_time > publish_period {
            i.last_pub_time -= publish_period + 1;
        }
    };
    back(&mut m.inst);
    m.replicas.values_mut().for_each(back);
    m.sentinels.values_mut().for_each(back);
}

/// Runs the client-reconfig script, if any.
pub(crate) fn client_reconf_script(ctx: &mut Ctx, m: &Master, role: &str, from: &Addr, to: &Addr) {
    if let Some(path) = &m.cfg.client_reconfig_script {
        ctx.out.push(Action::RunScript {
            path: path.clone(),
            args: vec![
                m.name().to_string(),
                role.to_string(),
                "start".to_string(),
                from.announced(ctx.g.announce_hostnames).to_string(),
                from.port.to_string(),
                to.announced(ctx.g.announce_hostnames).to_string(),
                to.port.to_string(),
            ],
        });
    }
}

/// The acting half of INFO processing for a replica (outside TILT):
/// promotion observed, replicas turned masters, replicas pointing
/// elsewhere, and reconfiguration progress.
pub(crate) fn replica_info_acting(ctx: &mut Ctx, m: &mut Master, who: &Who, role: Role) {
    let now = ctx.now;
    let Some(r) = m.get(who) else {
        return;
    };
    let r_promoted = r.flags.promoted;
    let r_addr = r.addr.clone();

    if role == Role::Master {
        if r_promoted
            && m.inst.flags.failover_in_progress
            && m.failover_state == FailoverState::WaitPromotion
        {
            m.config_epoch = m.failover_epoch;
            m.failover_state = FailoverState::ReconfSlaves;
            m.failover_state_change_time = now;
            ctx.out.persist();
            warn(ctx, m, "+promoted-slave", who);
            if ctx.g.simulate_failure & crate::commands::SimulateFailure::CRASH_AFTER_PROMOTION != 0
            {
                ctx.out.push(Action::SimulatedCrash);
            }
            warn(ctx, m, "+failover-state-reconf-slaves", &Who::Master);
            let from = m.inst.addr.clone();
            client_reconf_script(ctx, m, "leader", &from, &r_addr);
            force_hello_update(m, ctx.g.timers.publish_period);
        } else {
            let wait_time = ctx.g.timers.publish_period * 4;
            let ok = m.get(who).is_some_and(|r| {
                !r.flags.promoted
                    && r.no_down_for(now, wait_time)
                    && now - r.role_reported_time > wait_time
            });
            if ok && m.looks_sane(now, ctx.g.timers.info_period) {
                let target = m.inst.addr.clone();
                send_slaveof(ctx, m, who, Some(target));
                notice(ctx, m, "+convert-to-slave", who);
            }
        }
    }

    let master_addr = m.inst.addr.clone();
    let Some(r) = m.get(who) else {
        return;
    };
    let points_elsewhere = r.slave_master_port != i64::from(master_addr.port)
        || !r.slave_master_host.as_ref().is_some_and(|h| {
            master_addr.matches(h, ctx.resolve(h).as_deref(), i64::from(master_addr.port))
        });
    if role == Role::Slave && points_elsewhere {
        let wait_time = m.cfg.failover_timeout;
        if m.looks_sane(now, ctx.g.timers.info_period)
            && r.no_down_for(now, wait_time)
            && now - r.slave_conf_change_time > wait_time
        {
            send_slaveof(ctx, m, who, Some(master_addr));
            notice(ctx, m, "+fix-slave-config", who);
        }
    }

    let promoted_addr = promoted(m).map(|(_, a)| a);
    let Some(r) = m.get_mut(who) else {
        return;
    };
    if role == Role::Slave && (r.flags.reconf_sent || r.flags.reconf_inprog) {
        let mut events = Vec::new();
        if r.flags.reconf_sent {
            if let (Some(p), Some(h)) = (&promoted_addr, &r.slave_master_host) {
                if p.matches(h, ctx.resolve(h).as_deref(), r.slave_master_port) {
                    r.flags.reconf_sent = false;
                    r.flags.reconf_inprog = true;
                    events.push("+slave-reconf-inprog");
                }
            }
        }
        if r.flags.reconf_inprog && r.slave_master_link_up {
            r.flags.reconf_inprog = false;
            r.flags.reconf_done = true;
            events.push("+slave-reconf-done");
        }
        for e in events {
            notice(ctx, m, e, who);
        }
    }
}
