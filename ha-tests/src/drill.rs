//! The drills: fail the master (or cut it off) under a write load and
//! measure what it cost. Shared by `picket drill` and the scenario tests.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use serde::Serialize;

use crate::events::Events;
use crate::group::Group;
use crate::writer::{check, longest_gap, Loss, Target, WriteLog, Writer};

/// How the failover drill fails the master.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fault {
    /// kill -9; the process is restarted after the switch and rejoins.
    Kill,
    /// SIGSTOP; SIGCONT after the switch, and it rejoins.
    Pause,
    /// SENTINEL FAILOVER on the first sentinel (no agreement needed).
    Manual,
}

/// Seconds from the fault to an event, when it happened.
fn secs(t0: Instant, e: Option<Instant>) -> Option<f64> {
    e.map(|t| t.saturating_duration_since(t0).as_secs_f64())
}

#[derive(Clone, Debug, Serialize)]
pub struct FailoverTrial {
    pub trial: usize,
    pub fault: Fault,
    pub old_master: String,
    pub new_master: String,
    /// Seconds from the fault to the first +sdown / +odown /
    /// +elected-leader / +switch-master of the master (any sentinel).
    pub sdown: Option<f64>,
    pub odown: Option<f64>,
    pub elected: Option<f64>,
    pub switch: f64,
    /// Seconds from the fault to the writer's first acknowledgement by the
    /// new master.
    pub first_write: f64,
    /// The longest time the client went without an acknowledgement.
    pub unavailable: f64,
    /// Seconds from bringing the old master back until the whole group
    /// agrees again (it replicates the new master, link up, and every
    /// sentinel lists it as a healthy replica).
    pub rejoin: Option<f64>,
    pub acked: usize,
    pub lost: usize,
    pub lost_sample: Vec<u64>,
    /// Writes whose outcome the client could not know (timeouts).
    pub unknown: u64,
    /// -READONLY replies the client saw.
    pub readonly_errors: usize,
}

/// Options of the failover drill.
#[derive(Clone, Debug)]
pub struct FailoverOpts {
    pub fault: Fault,
    pub trials: usize,
    /// Writing before the fault, and after the first write on the new master.
    pub settle: Duration,
}

/// Progress lines go here (the CLI prints them to stderr; tests drop them).
pub type Progress<'a> = &'a mut dyn FnMut(&str);

fn limit(g: &Group) -> Duration {
    g.topology.sentinel.down_after * 3
        + g.topology.sentinel.failover_timeout
        + Duration::from_secs(20)
}

/// Runs `opts.trials` failovers on a converged group.
pub async fn failover(
    g: &mut Group,
    opts: &FailoverOpts,
    progress: Progress<'_>,
) -> Result<Vec<FailoverTrial>> {
    let events = g.events().await;
    let mut out = Vec::new();
    for trial in 1..=opts.trials {
        let mi = g.wait_converged(Duration::from_secs(90)).await?;
        progress(&format!(
            "trial {trial}/{}: writing through the sentinels, then {} {}",
            opts.trials,
            match opts.fault {
                Fault::Kill => "kill -9",
                Fault::Pause => "SIGSTOP",
                Fault::Manual => "SENTINEL FAILOVER of",
            },
            g.nodes[mi].name
        ));
        out.push(failover_trial(g, &events, trial, mi, opts).await?);
    }
    g.wait_converged(Duration::from_secs(90)).await?;
    Ok(out)
}

async fn failover_trial(
    g: &mut Group,
    events: &Events,
    trial: usize,
    mi: usize,
    opts: &FailoverOpts,
) -> Result<FailoverTrial> {
    let name = g.master_name().to_string();
    let key = format!("drill:failover:{trial}:{}", rand::random::<u32>());
    let w = Writer::start(
        Target::Sentinels {
            addrs: g.sentinel_addrs(),
            name: name.clone(),
        },
        &key,
    );
    let started = Instant::now();
    if !w.wait_ack_after(started, Duration::from_secs(10)).await {
        bail!("the writer got no acknowledgement before the fault");
    }
    tokio::time::sleep(opts.settle).await;
    let old = g.nodes[mi].addr();
    let t0 = Instant::now();
    match opts.fault {
        Fault::Kill => g.nodes[mi].proc.kill(),
        Fault::Pause => g.nodes[mi].proc.pause()?,
        Fault::Manual => {
            let f = crate::client::call_once(
                g.sentinels[0].real_addr(),
                &["SENTINEL", "FAILOVER", &name],
                Duration::from_secs(1),
            )
            .await?;
            if let picket_common::resp::Frame::Error(e) = f {
                bail!("SENTINEL FAILOVER: {e}");
            }
        }
    }
    let prefix = format!("{name} ");
    let switch = events
        .wait("+switch-master", &prefix, t0, limit(g))
        .await
        .ok_or_else(|| anyhow!("no +switch-master within {:?}", limit(g)))?;
    let new_addr = switch.payload.split(' ').collect::<Vec<_>>();
    let new_addr: std::net::SocketAddr = format!("{}:{}", new_addr[3], new_addr[4]).parse()?;
    let ni = g
        .node_at(new_addr)
        .ok_or_else(|| anyhow!("+switch-master to {new_addr}, not a node"))?;
    // The first acknowledgement by the new master.
    let deadline = Instant::now() + Duration::from_secs(20);
    let first_write = loop {
        if let Some(t) = w.first_ack_by(new_addr, t0) {
            break t;
        }
        if Instant::now() > deadline {
            bail!("no write acknowledged by the new master 20 s after +switch-master");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    tokio::time::sleep(opts.settle).await;
    // Bring the old master back; the sentinels turn it into a replica.
    let back = Instant::now();
    match opts.fault {
        Fault::Kill => g.restart_node(mi).await?,
        Fault::Pause => g.nodes[mi].proc.resume()?,
        Fault::Manual => {}
    }
    g.wait_converged(Duration::from_secs(90)).await?;
    let end = Instant::now();
    let rejoin = (opts.fault != Fault::Manual).then(|| (end - back).as_secs_f64());
    let log = w.stop();
    let loss = check(g.nodes[ni].real_addr(), &key, &log).await?;
    let m = format!("master {name} ");
    Ok(FailoverTrial {
        trial,
        fault: opts.fault,
        old_master: format!("{} ({old})", g.nodes[mi].name),
        new_master: format!("{} ({new_addr})", g.nodes[ni].name),
        sdown: secs(t0, events.first("+sdown", &m, t0).map(|e| e.at)),
        odown: secs(t0, events.first("+odown", &m, t0).map(|e| e.at)),
        elected: secs(t0, events.first("+elected-leader", &m, t0).map(|e| e.at)),
        switch: switch.at.saturating_duration_since(t0).as_secs_f64(),
        first_write: first_write.saturating_duration_since(t0).as_secs_f64(),
        unavailable: longest_gap(&log, t0, end).as_secs_f64(),
        rejoin,
        acked: loss.acked,
        lost: loss.lost,
        lost_sample: loss.lost_sample,
        unknown: log.unknown,
        readonly_errors: readonly(&log),
    })
}

fn readonly(log: &WriteLog) -> usize {
    log.errors.iter().filter(|e| e.1 == "READONLY").count()
}

impl Writer {
    /// The first acknowledgement from `addr` at or after `since`.
    pub fn first_ack_by(&self, addr: std::net::SocketAddr, since: Instant) -> Option<Instant> {
        self.with_log(|l| {
            l.acked
                .iter()
                .find(|a| a.2 == addr && a.1 >= since)
                .map(|a| a.1)
        })
    }
}

/// Options of the split-brain drill.
#[derive(Clone, Debug)]
pub struct SplitBrainOpts {
    /// `min-replicas-to-write` and `min-replicas-max-lag` set on every data
    /// node for the drill (0 = off, Redis's default).
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    /// How long the master stays cut off.
    pub cut_for: Duration,
}

#[derive(Clone, Debug, Serialize)]
pub struct SplitBrainReport {
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag: u32,
    pub old_master: String,
    pub new_master: String,
    /// Seconds from the cut to +switch-master on the majority side.
    pub switch: f64,
    /// Seconds from the cut to the old master's last acknowledgement.
    pub last_ack_after_cut: Option<f64>,
    pub cut_for: f64,
    /// Seconds from the heal to the old master's +convert-to-slave.
    pub rejoin: Option<f64>,
    pub acked: usize,
    pub acked_after_cut: usize,
    pub lost: usize,
    pub lost_sample: Vec<u64>,
    /// Refusals the client saw from the old master during the cut
    /// (`NOREPLICAS`, …).
    pub refusals: Vec<(String, usize)>,
    /// Writes whose outcome the client could not know.
    pub unknown: u64,
}

/// Cuts the master off from the sentinels and the replicas while a client
/// on its side keeps writing to it, heals, and counts the acknowledged
/// writes that did not survive.
pub async fn split_brain(
    g: &mut Group,
    opts: &SplitBrainOpts,
    progress: Progress<'_>,
) -> Result<SplitBrainReport> {
    let mi = g.wait_converged(Duration::from_secs(90)).await?;
    g.config_set_all(
        "min-replicas-to-write",
        &opts.min_replicas_to_write.to_string(),
    )
    .await?;
    g.config_set_all(
        "min-replicas-max-lag",
        &opts.min_replicas_max_lag.to_string(),
    )
    .await?;
    let events = g.events().await;
    let name = g.master_name().to_string();
    let key = format!("drill:split:{}", rand::random::<u32>());
    let old = g.nodes[mi].addr();
    let w = Writer::start(Target::Fixed(old), &key);
    let started = Instant::now();
    if !w.wait_ack_after(started, Duration::from_secs(10)).await {
        bail!("the writer got no acknowledgement before the cut");
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    progress(&format!(
        "cutting {} ({old}) off from the sentinels and replicas for {:?}; a client keeps writing to it",
        g.nodes[mi].name, opts.cut_for
    ));
    let t0 = Instant::now();
    g.isolate_node(mi);
    let prefix = format!("{name} ");
    let switch = events.wait("+switch-master", &prefix, t0, limit(g)).await;
    let Some(switch) = switch else {
        g.heal();
        bail!("no +switch-master within {:?} of the cut", limit(g));
    };
    progress(&format!(
        "+switch-master after {:.2} s; keeping the cut",
        switch.at.saturating_duration_since(t0).as_secs_f64()
    ));
    let heal_at = t0 + opts.cut_for;
    if let Some(wait) = heal_at.checked_duration_since(Instant::now()) {
        tokio::time::sleep(wait).await;
    }
    let last_ack = w.last_ack();
    progress("healing the cut");
    let healed = Instant::now();
    g.heal();
    let conv_prefix = format!("slave {}:{} ", g.nodes[mi].ip, g.nodes[mi].port);
    let rejoin = events
        .wait(
            "+convert-to-slave",
            &conv_prefix,
            healed,
            Duration::from_secs(60),
        )
        .await
        .map(|e| e.at.saturating_duration_since(healed).as_secs_f64());
    let ni = g.wait_converged(Duration::from_secs(90)).await?;
    let log = w.stop();
    let loss: Loss = check(g.nodes[ni].real_addr(), &key, &log).await?;
    g.config_set_all("min-replicas-to-write", "0").await?;
    let mut refusals: Vec<(String, usize)> = Vec::new();
    for (_, word) in log.errors.iter().filter(|e| e.0 >= t0 && e.0 < healed) {
        match refusals.iter_mut().find(|r| &r.0 == word) {
            Some(r) => r.1 += 1,
            None => refusals.push((word.clone(), 1)),
        }
    }
    Ok(SplitBrainReport {
        min_replicas_to_write: opts.min_replicas_to_write,
        min_replicas_max_lag: opts.min_replicas_max_lag,
        old_master: format!("{} ({old})", g.nodes[mi].name),
        new_master: format!("{} ({})", g.nodes[ni].name, g.nodes[ni].addr()),
        switch: switch.at.saturating_duration_since(t0).as_secs_f64(),
        last_ack_after_cut: last_ack
            .filter(|&t| t >= t0)
            .map(|t| (t - t0).as_secs_f64()),
        cut_for: opts.cut_for.as_secs_f64(),
        rejoin,
        acked: loss.acked,
        acked_after_cut: log.acked.iter().filter(|a| a.1 >= t0).count(),
        lost: loss.lost,
        lost_sample: loss.lost_sample,
        refusals,
        unknown: log.unknown,
    })
}

/// min / median / max of the values present.
pub fn spread(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let med = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    Some((v[0], med, v[v.len() - 1]))
}
