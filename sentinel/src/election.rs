//! Agreement between sentinels: asking peers whether a master is down
//! (SENTINEL IS-MASTER-DOWN-BY-ADDR, both sides), the vote-once-per-epoch
//! rule and the leader count (reference §6.2, §6.3, §7.2, §7.3).

use std::collections::BTreeMap;

use crate::instance::{InstanceId, Master, Millis, Who};
use crate::io::{Action, Level, MasterDownReply, Request};
use crate::monitor::{cmd, send};
use crate::state::{Ctx, SentinelState};

/// Peers are asked again this long after their last answer.
pub const ASK_PERIOD: Millis = 1000;
/// A peer's answer (down flag and vote) is forgotten after this long.
pub const INFO_VALIDITY_TIME: Millis = 5000;
/// A candidate not elected within min(this, failover-timeout) gives up.
pub const ELECTION_TIMEOUT: Millis = 10_000;
/// Random spread added to failover start times.
pub const MAX_DESYNC: u32 = 1000;

/// The answer to `SENTINEL IS-MASTER-DOWN-BY-ADDR`: `*3 :down $leader
/// :leader_epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterDownAnswer {
    /// We are not in TILT and have that master SDOWN.
    pub down: bool,
    /// Our vote for that master (`*` when none or when not asked to vote).
    pub leader: String,
    /// Epoch of that vote (0 when none).
    pub leader_epoch: u64,
}

impl SentinelState {
    /// Answers `SENTINEL IS-MASTER-DOWN-BY-ADDR <ip> <port> <epoch> <runid>`
    /// (the caller has parsed the integers). The master is looked up by
    /// address, not by name; a runid other than `*` asks for our vote.
    pub fn is_master_down_by_addr(
        &mut self,
        now: Millis,
        ip: &str,
        port: i64,
        req_epoch: u64,
        runid: &str,
    ) -> (MasterDownAnswer, Vec<Action>) {
        let (mut ctx, masters) = self.split(now);
        let mut answer = MasterDownAnswer {
            down: false,
            leader: "*".to_string(),
            leader_epoch: 0,
        };
        let resolved = ctx.resolve(ip);
        let found = masters
            .values_mut()
            .find(|m| m.inst.addr.matches(ip, resolved.as_deref(), port));
        if let Some(m) = found {
            answer.down = !ctx.g.tilt && m.inst.flags.s_down;
            if runid != "*" {
                let (leader, epoch) = vote_leader(&mut ctx, m, req_epoch, runid);
                if let Some(l) = leader {
                    answer.leader = l;
                }
                answer.leader_epoch = epoch;
            }
        }
        (answer, self.out_take())
    }

    /// `sentinelReceiveIsMasterDownReply`.
    pub(crate) fn master_down_reply(
        &mut self,
        now: Millis,
        id: &InstanceId,
        reply: Option<MasterDownReply>,
    ) {
        let Some(i) = self.instance_mut(id) else {
            return;
        };
        {
            let mut l = i.link.get();
            l.pending_commands = l.pending_commands.saturating_sub(1);
        }
        let Some(r) = reply else {
            return;
        };
        i.last_master_down_reply_time = now;
        i.flags.master_down = r.down == 1;
        if r.leader != "*" {
            i.leader = Some(r.leader);
            i.leader_epoch = r.leader_epoch as u64;
        }
    }
}

/// `sentinelVoteLeader`: adopt a newer epoch; vote for `req_runid` if we
/// have not voted in `req_epoch` (or later); return our vote for this
/// master, whichever epoch it is from.
pub(crate) fn vote_leader(
    ctx: &mut Ctx,
    m: &mut Master,
    req_epoch: u64,
    req_runid: &str,
) -> (Option<String>, u64) {
    let script = m.cfg.notification_script.clone();
    if req_epoch > ctx.g.current_epoch {
        ctx.g.current_epoch = req_epoch;
        ctx.out.persist();
        ctx.out.event(
            Level::Warning,
            "+new-epoch",
            ctx.g.current_epoch.to_string(),
            script.as_deref(),
        );
    }
    if m.inst.leader_epoch < req_epoch && ctx.g.current_epoch <= req_epoch {
        m.inst.leader = Some(req_runid.to_string());
        m.inst.leader_epoch = ctx.g.current_epoch;
        ctx.out.persist();
        ctx.out.event(
            Level::Warning,
            "+vote-for-leader",
            format!("{} {}", req_runid, m.inst.leader_epoch),
            script.as_deref(),
        );
        // Having voted for someone else, wait 2 × failover-timeout before
        // trying a failover of our own.
        if !req_runid.eq_ignore_ascii_case(&ctx.g.myid) {
            m.failover_start_time = ctx.now + ctx.rand(MAX_DESYNC);
        }
    }
    (m.inst.leader.clone(), m.inst.leader_epoch)
}

/// `sentinelGetLeader`: the winner of `epoch`, if any. Voters are all
/// sentinels ever known for this master plus us; the winner needs an
/// absolute majority of them and at least the quorum. Our own vote goes to
/// the most voted candidate, or to ourselves.
pub(crate) fn get_leader(ctx: &mut Ctx, m: &mut Master, epoch: u64) -> Option<String> {
    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut voters = 0u64;
    for s in m.sentinels.values() {
        if let Some(l) = &s.leader {
            if s.leader_epoch == ctx.g.current_epoch {
                *counters.entry(l.clone()).or_default() += 1;
            }
        }
        voters += 1;
    }
    let mut winner: Option<String> = None;
    let mut max_votes = 0;
    for (candidate, votes) in &counters {
        if *votes > max_votes {
            max_votes = *votes;
            winner = Some(candidate.clone());
        }
    }
    let candidate = winner.clone().unwrap_or_else(|| ctx.g.myid.clone());
    let (myvote, leader_epoch) = vote_leader(ctx, m, epoch, &candidate);
    if let Some(v) = myvote {
        if leader_epoch == epoch {
            let votes = counters.entry(v.clone()).or_default();
            *votes += 1;
            if *votes > max_votes {
                max_votes = *votes;
                winner = Some(v);
            }
        }
    }
    voters += 1;
    let voters_quorum = voters / 2 + 1;
    winner.filter(|_| max_votes >= voters_quorum && max_votes >= u64::from(m.cfg.quorum))
}

/// `sentinelAskMasterStateToOtherSentinels`: forget stale answers; while
/// the master is SDOWN ask each connected peer (once per ASK_PERIOD since
/// its last answer, or now when `forced`), with our id once a failover
/// runs so that the question is also a vote request.
pub(crate) fn ask_master_state(ctx: &mut Ctx, m: &mut Master, forced: bool) {
    let now = ctx.now;
    let runid = if m.failover_state > crate::instance::FailoverState::None {
        ctx.g.myid.clone()
    } else {
        "*".to_string()
    };
    let addr = m.inst.addr.clone();
    let s_down = m.inst.flags.s_down;
    let peers: Vec<String> = m.sentinels.keys().cloned().collect();
    for p in peers {
        let Some(s) = m.sentinels.get_mut(&p) else {
            continue;
        };
        if now - s.last_master_down_reply_time > INFO_VALIDITY_TIME {
            s.flags.master_down = false;
            s.leader = None;
        }
        if !s_down || !s.connected() {
            continue;
        }
        if !forced && now - s.last_master_down_reply_time < ctx.g.timers.ask_period {
            continue;
        }
        let argv = vec![cmd(
            m,
            &[
                "SENTINEL",
                "is-master-down-by-addr",
                addr.announced(ctx.g.announce_hostnames),
                &addr.port.to_string(),
                &ctx.g.current_epoch.to_string(),
                &runid,
            ],
        )];
        send(ctx, m, &Who::Sentinel(p), Request::IsMasterDownByAddr, argv);
    }
}
