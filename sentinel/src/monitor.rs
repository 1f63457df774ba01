//! Watching instances: the timer tick (`sentinelTimer`), which PING, INFO
//! and hello commands are due, link bookkeeping, PING/INFO replies, SDOWN,
//! ODOWN and TILT (reference §3, §4, §6, §8, §10, §12).

use crate::instance::{Kind, Master, Millis, Role, Who};
use crate::io::{Action, Level, LinkKind, Reply, Request};
use crate::state::{add_replica, Ctx, SentinelState};
use crate::{election, failover, hello};

/// PING period (capped by down-after-milliseconds).
pub const PING_PERIOD: Millis = 1000;
/// INFO period for masters and healthy replicas.
pub const INFO_PERIOD: Millis = 10_000;
/// Hello period.
pub const PUBLISH_PERIOD: Millis = 2000;
/// Reconnection attempts at most this often.
pub const RECONNECT_PERIOD: Millis = 1000;
/// A tick this late (or a clock going back) enters TILT.
pub const TILT_TRIGGER: Millis = 2000;
/// TILT lasts this long after its last trigger.
pub const TILT_PERIOD: Millis = 30_000;
/// Links younger than this are never recycled.
pub const MIN_LINK_RECONNECT_PERIOD: Millis = 15_000;
/// Periodic commands stop while this many replies are pending.
pub const MAX_PENDING_COMMANDS: u32 = 100;

/// Builds one command, applying the master's `rename-command` table to the
/// command name.
pub(crate) fn cmd(m: &Master, parts: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
    if let Some(first) = v.first_mut() {
        *first = m.command_name(first);
    }
    v
}

/// Queues commands to an instance and counts them as pending.
pub(crate) fn send(
    ctx: &mut Ctx,
    m: &mut Master,
    who: &Who,
    request: Request,
    argv: Vec<Vec<String>>,
) {
    let instance = who.id(m.name());
    if let Some(i) = m.get_mut(who) {
        i.link.get().pending_commands += argv.len() as u32;
    }
    ctx.out.push(Action::Send {
        instance,
        request,
        argv,
    });
}

/// `sentinelSendPing`: the oldest unanswered PING keeps its time.
pub(crate) fn send_ping(ctx: &mut Ctx, m: &mut Master, who: &Who) {
    let argv = vec![cmd(m, &["PING"])];
    send(ctx, m, who, Request::Ping, argv);
    if let Some(i) = m.get_mut(who) {
        i.link.get().last_ping_time = ctx.now;
        if i.link.get().act_ping_time == 0 {
            i.link.get().act_ping_time = ctx.now;
        }
    }
}

impl SentinelState {
    /// One timer tick (`sentinelTimer`).
    pub(crate) fn timer(&mut self, now: Millis) {
        let (mut ctx, masters) = self.split(now);
        check_tilt(&mut ctx);
        let names: Vec<String> = masters.keys().cloned().collect();
        let mut switch = Vec::new();
        for name in names {
            let Some(m) = masters.get_mut(&name) else {
                continue;
            };
            handle_instance(&mut ctx, m, &Who::Master);
            let replicas: Vec<String> = m.replicas.keys().cloned().collect();
            for r in replicas {
                handle_instance(&mut ctx, m, &Who::Replica(r));
            }
            let sentinels: Vec<String> = m.sentinels.keys().cloned().collect();
            for s in sentinels {
                handle_instance(&mut ctx, m, &Who::Sentinel(s));
            }
            if m.failover_state == crate::instance::FailoverState::UpdateConfig {
                switch.push(name);
            }
        }
        for name in switch {
            if let Some(m) = masters.get_mut(&name) {
                failover::switch_to_promoted(&mut ctx, m);
            }
        }
    }

    pub(crate) fn link_up(
        &mut self,
        now: Millis,
        id: &crate::instance::InstanceId,
        link: LinkKind,
        local_ip: String,
    ) {
        let (mut ctx, masters) = self.split(now);
        let Some(m) = masters.get_mut(id.master_name()) else {
            return;
        };
        let who = id.who();
        let Some(i) = m.get_mut(&who) else {
            return;
        };
        match link {
            LinkKind::Command => {
                i.link.get().cc = true;
                i.link.get().pending_commands = 0;
                i.link.get().cc_conn_time = now;
                i.link.get().local_ip = Some(local_ip);
                send_ping(&mut ctx, m, &who);
            }
            LinkKind::PubSub => {
                i.link.get().pc = true;
                i.link.get().pc_conn_time = now;
                i.link.get().pc_last_activity = now;
            }
        }
    }

    pub(crate) fn link_down(&mut self, id: &crate::instance::InstanceId, link: LinkKind) {
        if let Some(i) = self.instance_mut(id) {
            match link {
                LinkKind::Command => {
                    i.link.get().cc = false;
                    i.link.get().pending_commands = 0;
                }
                LinkKind::PubSub => i.link.get().pc = false,
            }
        }
    }

    /// `sentinelPingReplyCallback`.
    pub(crate) fn ping_reply(
        &mut self,
        now: Millis,
        id: &crate::instance::InstanceId,
        reply: Reply,
    ) {
        let (mut ctx, masters) = self.split(now);
        let Some(m) = masters.get_mut(id.master_name()) else {
            return;
        };
        let who = id.who();
        let Some(i) = m.get_mut(&who) else {
            return;
        };
        {
            let mut l = i.link.get();
            l.pending_commands = l.pending_commands.saturating_sub(1);
        }
        let text = match &reply {
            Reply::Status(s) | Reply::Error(s) => Some(s.as_str()),
            Reply::Other => None,
        };
        let mut script_kill = false;
        if let Some(t) = text {
            if t.starts_with("PONG") || t.starts_with("LOADING") || t.starts_with("MASTERDOWN") {
                i.link.get().last_avail_time = now;
                i.link.get().act_ping_time = 0;
                if i.flags.master_reboot && t.starts_with("PONG") {
                    i.flags.master_reboot = false;
                }
            } else if t.starts_with("BUSY") && i.flags.s_down && !i.flags.script_kill_sent {
                i.flags.script_kill_sent = true;
                script_kill = true;
            }
        }
        i.link.get().last_pong_time = now;
        if script_kill {
            let argv = vec![cmd(m, &["SCRIPT", "KILL"])];
            send(&mut ctx, m, &who, Request::ScriptKill, argv);
        }
    }

    /// `sentinelInfoReplyCallback`: only a bulk string is parsed.
    pub(crate) fn info_reply(
        &mut self,
        now: Millis,
        id: &crate::instance::InstanceId,
        text: Option<String>,
    ) {
        let (mut ctx, masters) = self.split(now);
        let Some(m) = masters.get_mut(id.master_name()) else {
            return;
        };
        let who = id.who();
        let Some(i) = m.get_mut(&who) else {
            return;
        };
        {
            let mut l = i.link.get();
            l.pending_commands = l.pending_commands.saturating_sub(1);
        }
        if let Some(text) = text {
            refresh_info(&mut ctx, m, &who, text);
        }
    }

    /// `sentinelPublishReplyCallback`: only a non-error reply counts as a
    /// published hello.
    pub(crate) fn publish_reply(
        &mut self,
        now: Millis,
        id: &crate::instance::InstanceId,
        reply: Reply,
    ) {
        if let Some(i) = self.instance_mut(id) {
            {
                let mut l = i.link.get();
                l.pending_commands = l.pending_commands.saturating_sub(1);
            }
            if !matches!(reply, Reply::Error(_)) {
                i.last_pub_time = now;
            }
        }
    }
}

/// `sentinelCheckTiltCondition`.
fn check_tilt(ctx: &mut Ctx) {
    let delta = ctx.now - ctx.g.previous_time;
    if !(0..=ctx.g.timers.tilt_trigger).contains(&delta) {
        ctx.g.tilt = true;
        ctx.g.tilt_start_time = ctx.now;
        ctx.out
            .event(Level::Warning, "+tilt", "#tilt mode entered".into(), None);
    }
    ctx.g.previous_time = ctx.now;
}

/// `sentinelHandleRedisInstance`: the monitoring half always, the acting
/// half only outside TILT.
fn handle_instance(ctx: &mut Ctx, m: &mut Master, who: &Who) {
    reconnect(ctx, m, who);
    send_periodic_commands(ctx, m, who);

    if ctx.g.tilt {
        if ctx.now - ctx.g.tilt_start_time < ctx.g.timers.tilt_period {
            return;
        }
        ctx.g.tilt = false;
        ctx.out
            .event(Level::Warning, "-tilt", "#tilt mode exited".into(), None);
    }

    check_subjectively_down(ctx, m, who);
    if *who == Who::Master {
        check_objectively_down(ctx, m);
        if failover::start_failover_if_needed(ctx, m) {
            election::ask_master_state(ctx, m, true);
        }
        failover::state_machine(ctx, m);
        election::ask_master_state(ctx, m, false);
    }
}

/// `sentinelReconnectInstance`: ask the caller to open missing links, at
/// most once per second, never to port 0.
fn reconnect(ctx: &mut Ctx, m: &mut Master, who: &Who) {
    let id = who.id(m.name());
    let Some(i) = m.get_mut(who) else {
        return;
    };
    if i.connected() || i.addr.port == 0 {
        return;
    }
    if ctx.now - i.link.get().last_reconn_time < RECONNECT_PERIOD {
        return;
    }
    i.link.get().last_reconn_time = ctx.now;
    let cmd = !i.link.get().cc;
    if cmd && ctx.g.resolve_hostnames {
        // the instance may have been unresolvable, or have moved: resolve
        // its name again (sentinelReconnectInstance)
        let (host, port) = (i.addr.hostname.clone(), i.addr.port);
        if let Some(a) = ctx.create_addr(&host, i64::from(port), false) {
            i.addr = a;
        }
    }
    if cmd {
        // Redis sends a PING as soon as it starts reconnecting the command
        // link (sentinelReconnectInstance → sentinelSendPing), so the
        // down-after-milliseconds count starts at the first attempt, not
        // at the last PONG before the link broke
        i.link.get().last_ping_time = ctx.now;
        if i.link.get().act_ping_time == 0 {
            i.link.get().act_ping_time = ctx.now;
        }
    }
    ctx.out.push(Action::Connect {
        instance: id,
        addr: i.addr.clone(),
        cmd,
        pubsub: i.kind != Kind::Sentinel && !i.link.get().pc,
    });
}

/// `sentinelSendPeriodicCommands`.
fn send_periodic_commands(ctx: &mut Ctx, m: &mut Master, who: &Who) {
    let master_busy = m.inst.flags.o_down || m.inst.flags.failover_in_progress;
    let down_after = m.cfg.down_after;
    let hello_master = (
        m.name().to_string(),
        m.current_addr().clone(),
        m.config_epoch,
    );
    let Some(i) = m.get(who) else {
        return;
    };
    // a shared link may carry the commands of all its records
    let max_pending = MAX_PENDING_COMMANDS * i.link.refcount() as u32;
    if !i.connected() || i.link.get().pending_commands >= max_pending {
        return;
    }
    let now = ctx.now;
    let info_period = if i.kind == Kind::Replica && (master_busy || i.master_link_down_time != 0) {
        1000
    } else {
        ctx.g.timers.info_period
    };
    let ping_period = down_after.min(ctx.g.timers.ping_period);
    let want_info =
        i.kind != Kind::Sentinel && (i.info_refresh == 0 || now - i.info_refresh > info_period);
    let want_ping = {
        let l = i.link.get();
        now - l.last_pong_time > ping_period && now - l.last_ping_time > ping_period / 2
    };
    let want_hello = now - i.last_pub_time > ctx.g.timers.publish_period;
    let local_ip = i.link.get().local_ip.clone();

    if want_info {
        let argv = vec![cmd(m, &["INFO"])];
        send(ctx, m, who, Request::Info, argv);
    }
    if want_ping {
        send_ping(ctx, m, who);
    }
    if want_hello {
        let ip = match (&ctx.g.announce_ip, local_ip) {
            (Some(a), _) => a.clone(),
            (None, Some(l)) => l,
            // Redis gives up when it cannot learn its own address.
            (None, None) => return,
        };
        let port = if ctx.g.announce_port != 0 {
            ctx.g.announce_port
        } else {
            ctx.g.port
        };
        let (name, addr, epoch) = hello_master;
        let payload = hello::Hello {
            sentinel_ip: ip,
            sentinel_port: i64::from(port),
            runid: ctx.g.myid.clone(),
            current_epoch: ctx.g.current_epoch,
            master_name: name,
            master_ip: addr.announced(ctx.g.announce_hostnames).to_string(),
            master_port: i64::from(addr.port),
            master_config_epoch: epoch,
        }
        .to_string();
        let argv = vec![cmd(m, &["PUBLISH", hello::HELLO_CHANNEL, &payload])];
        send(ctx, m, who, Request::Hello { payload }, argv);
    }
}

/// `sentinelCheckSubjectivelyDown`, with the link recycling it does first.
fn check_subjectively_down(ctx: &mut Ctx, m: &mut Master, who: &Who) {
    let t = ctx.g.timers.clone();
    let now = ctx.now;
    let down_after = m.cfg.down_after;
    let reboot_period = m.cfg.master_reboot_down_after_period;
    let details = m.details(who, ctx.g.announce_hostnames);
    let script = m.cfg.notification_script.clone();
    let id = who.id(m.name());
    let Some(i) = m.get_mut(who) else {
        return;
    };
    let elapsed = if i.link.get().act_ping_time != 0 {
        now - i.link.get().act_ping_time
    } else if !i.connected() {
        now - i.link.get().last_avail_time
    } else {
        0
    };

    let (recycle_cc, recycle_pc) = {
        let mut l = i.link.get();
        let cc = l.cc
            && now - l.cc_conn_time > t.min_link_reconnect_period
            && l.act_ping_time != 0
            && now - l.act_ping_time > down_after / 2
            && now - l.last_pong_time > down_after / 2;
        if cc {
            l.cc = false;
            l.pending_commands = 0;
        }
        let pc = l.pc
            && now - l.pc_conn_time > t.min_link_reconnect_period
            && now - l.pc_last_activity > t.publish_period * 3;
        if pc {
            l.pc = false;
        }
        (cc, pc)
    };
    if recycle_cc {
        ctx.out.push(Action::Disconnect {
            instance: id.clone(),
            link: Some(LinkKind::Command),
        });
    }
    if recycle_pc {
        ctx.out.push(Action::Disconnect {
            instance: id,
            link: Some(LinkKind::PubSub),
        });
    }

    let down = elapsed > down_after
        || (i.kind == Kind::Master
            && i.role_reported == Role::Slave
            && now - i.role_reported_time > down_after + t.info_period * 2)
        || (i.flags.master_reboot && now - i.master_reboot_since_time > reboot_period);
    if down {
        if !i.flags.s_down {
            i.s_down_since_time = now;
            i.flags.s_down = true;
            ctx.out
                .event(Level::Warning, "+sdown", details, script.as_deref());
        }
    } else if i.flags.s_down {
        i.flags.s_down = false;
        i.flags.script_kill_sent = false;
        ctx.out
            .event(Level::Warning, "-sdown", details, script.as_deref());
    }
}

/// `sentinelCheckObjectivelyDown`: our SDOWN plus other sentinels' recent
/// "down" answers must reach the quorum.
fn check_objectively_down(ctx: &mut Ctx, m: &mut Master) {
    let mut quorum: u32 = 0;
    let mut odown = false;
    if m.inst.flags.s_down {
        quorum = 1 + m.sentinels.values().filter(|s| s.flags.master_down).count() as u32;
        odown = quorum >= m.cfg.quorum;
    }
    let details = m.details(&Who::Master, ctx.g.announce_hostnames);
    let script = m.cfg.notification_script.clone();
    if odown {
        if !m.inst.flags.o_down {
            ctx.out.event(
                Level::Warning,
                "+odown",
                format!("{details} #quorum {quorum}/{}", m.cfg.quorum),
                script.as_deref(),
            );
            m.inst.flags.o_down = true;
            m.inst.o_down_since_time = ctx.now;
        }
    } else if m.inst.flags.o_down {
        ctx.out
            .event(Level::Warning, "-odown", details, script.as_deref());
        m.inst.flags.o_down = false;
    }
}

/// `sentinelRefreshInstanceInfo`: record what INFO says, then (outside
/// TILT) act on it.
pub(crate) fn refresh_info(ctx: &mut Ctx, m: &mut Master, who: &Who, text: String) {
    let now = ctx.now;
    let f = crate::info::parse_info(&text);
    let reboot_period = m.cfg.master_reboot_down_after_period;
    let details = m.details(who, ctx.g.announce_hostnames);
    let Some(i) = m.get_mut(who) else {
        return;
    };
    i.info = Some(text);
    i.master_link_down_time = f.master_link_down_time;

    if let Some(run_id) = &f.run_id {
        match &i.runid {
            None => i.runid = Some(run_id.clone()),
            Some(old) if old != run_id => {
                ctx.out
                    .event(Level::Notice, "+reboot", details.clone(), None);
                if i.kind == Kind::Master && reboot_period != 0 {
                    i.flags.master_reboot = true;
                    i.master_reboot_since_time = now;
                }
                i.runid = Some(run_id.clone());
            }
            Some(_) => {}
        }
    }

    if f.role == Some(Role::Slave) {
        if let Some(h) = &f.master_host {
            if i.slave_master_host
                .as_ref()
                .is_none_or(|old| !old.eq_ignore_ascii_case(h))
            {
                i.slave_master_host = Some(h.clone());
                i.slave_conf_change_time = now;
            }
        }
        if let Some(p) = f.master_port {
            if i.slave_master_port != p {
                i.slave_master_port = p;
                i.slave_conf_change_time = now;
            }
        }
        if let Some(up) = f.master_link_up {
            i.slave_master_link_up = up;
        }
        if let Some(p) = f.slave_priority {
            i.slave_priority = p;
        }
        if let Some(o) = f.slave_repl_offset {
            i.slave_repl_offset = o;
        }
        if let Some(a) = f.replica_announced {
            i.replica_announced = a != 0;
        }
    }
    i.info_refresh = now;
    let kind = i.kind;

    if kind == Kind::Master {
        let mut added = false;
        let ah = ctx.g.announce_hostnames;
        for (host, port) in &f.replicas {
            // sentinelRedisInstanceLookupSlave, then createSentinelRedisInstance:
            // a name is resolved (resolve-hostnames yes) or refused
            let Some(addr) = ctx.create_addr(host, *port, true) else {
                continue;
            };
            if m.replicas.contains_key(&addr.name(ah)) {
                continue;
            }
            if let Some(name) = add_replica(m, addr, now, ah) {
                let d = m.details(&Who::Replica(name), ah);
                ctx.out.event(Level::Notice, "+slave", d, None);
                added = true;
            }
        }
        if added {
            ctx.out.persist();
        }
    }

    let Some(i) = m.get_mut(who) else {
        return;
    };
    let role = f.role.unwrap_or(Role::Unknown);
    if role != i.role_reported {
        i.role_reported_time = now;
        i.role_reported = role;
        if role == Role::Slave {
            i.slave_conf_change_time = now;
        }
        let coherent = matches!(
            (kind, role),
            (Kind::Master, Role::Master) | (Kind::Replica, Role::Slave)
        );
        let name = if coherent {
            "+role-change"
        } else {
            "-role-change"
        };
        let role_str = if role == Role::Master {
            "master"
        } else {
            "slave"
        };
        ctx.out.event(
            Level::Verbose,
            name,
            format!("{details} new reported role is {role_str}"),
            None,
        );
    }

    if ctx.g.tilt || kind != Kind::Replica {
        return;
    }
    failover::replica_info_acting(ctx, m, who, role);
}
