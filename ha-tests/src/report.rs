//! Tables for people and JSON for machines: a group's live status and the
//! drills' results.

use std::fmt::Write as _;
use std::time::Duration;

use picket_common::resp::Frame;
use serde::Serialize;

use crate::client::{call_once, field, fields, info_field, text};
use crate::drill::{spread, FailoverTrial, SplitBrainReport};
use crate::group::{GroupFile, Kind};

const PROBE: Duration = Duration::from_millis(300);

/// One line of `picket status`.
#[derive(Debug, Serialize)]
pub struct StatusRow {
    pub name: String,
    pub addr: String,
    /// master / replica / sentinel / down
    pub role: String,
    /// Data node: the master it follows (replica) and its link state.
    /// Sentinel: the master it names.
    pub master: String,
    pub link: String,
    /// Data node: its replication offset. Sentinel: the master's flags as
    /// it sees them.
    pub detail: String,
}

/// Asks every member of a group for its state (on its own port).
pub async fn status(file: &GroupFile) -> Vec<StatusRow> {
    let mut rows = Vec::new();
    for m in &file.members {
        let mut row = StatusRow {
            name: m.name.clone(),
            addr: m.addr.to_string(),
            role: "down".into(),
            master: String::new(),
            link: String::new(),
            detail: String::new(),
        };
        match m.kind {
            Kind::Node => {
                if let Ok(f) = call_once(m.real_addr, &["INFO", "replication"], PROBE).await {
                    let info = text(&f).unwrap_or_default();
                    let role = info_field(&info, "role").unwrap_or_default();
                    row.role = if role == "slave" {
                        "replica".into()
                    } else {
                        role
                    };
                    if row.role == "replica" {
                        row.master = format!(
                            "{}:{}",
                            info_field(&info, "master_host").unwrap_or_default(),
                            info_field(&info, "master_port").unwrap_or_default()
                        );
                        row.link = info_field(&info, "master_link_status").unwrap_or_default();
                        row.detail = format!(
                            "offset {}",
                            info_field(&info, "slave_repl_offset").unwrap_or_default()
                        );
                    } else {
                        row.detail = format!(
                            "offset {}, {} replicas",
                            info_field(&info, "master_repl_offset").unwrap_or_default(),
                            info_field(&info, "connected_slaves").unwrap_or_default()
                        );
                    }
                }
            }
            Kind::Sentinel => {
                let q = ["SENTINEL", "MASTER", file.master_name.as_str()];
                if let Ok(f) = call_once(m.real_addr, &q, PROBE).await {
                    row.role = "sentinel".into();
                    if let Frame::Error(e) = f {
                        row.detail = e;
                    } else {
                        let fl = fields(&f);
                        row.master = format!(
                            "{}:{}",
                            field(&fl, "ip").unwrap_or(""),
                            field(&fl, "port").unwrap_or("")
                        );
                        row.detail = format!(
                            "flags {}, {} replicas, {} other sentinels, epoch {}",
                            field(&fl, "flags").unwrap_or(""),
                            field(&fl, "num-slaves").unwrap_or(""),
                            field(&fl, "num-other-sentinels").unwrap_or(""),
                            field(&fl, "config-epoch").unwrap_or("")
                        );
                    }
                }
            }
        }
        rows.push(row);
    }
    rows
}

/// A plain aligned text table.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut w: Vec<usize> = head.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if i < w.len() {
                w[i] = w[i].max(c.len());
            }
        }
    }
    let mut out = String::new();
    let line = |cells: &[String], out: &mut String| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let _ = write!(s, "{:<width$}  ", c, width = w[i]);
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(
        &head.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        &mut out,
    );
    line(
        &w.iter().map(|n| "-".repeat(*n)).collect::<Vec<_>>(),
        &mut out,
    );
    for r in rows {
        line(r, &mut out);
    }
    out
}

pub fn status_table(rows: &[StatusRow]) -> String {
    table(
        &["member", "address", "role", "master", "link", "state"],
        &rows
            .iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.addr.clone(),
                    r.role.clone(),
                    r.master.clone(),
                    r.link.clone(),
                    r.detail.clone(),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

fn s(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

/// Per-trial table of one implementation's failover drill.
pub fn failover_trials(name: &str, trials: &[FailoverTrial]) -> String {
    let rows: Vec<Vec<String>> = trials
        .iter()
        .map(|t| {
            vec![
                format!("{name} #{}", t.trial),
                s(t.sdown),
                s(t.odown),
                s(t.elected),
                s(Some(t.switch)),
                s(Some(t.first_write)),
                s(Some(t.unavailable)),
                s(t.rejoin),
                t.acked.to_string(),
                t.lost.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "trial",
            "+sdown s",
            "+odown s",
            "+elected s",
            "+switch s",
            "1st write s",
            "unavailable s",
            "rejoin s",
            "acked",
            "lost",
        ],
        &rows,
    )
}

/// The metrics the summary compares, by name.
fn metrics(t: &FailoverTrial) -> [(&'static str, Option<f64>); 8] {
    [
        ("+sdown (s)", t.sdown),
        ("+odown (s)", t.odown),
        ("+elected-leader (s)", t.elected),
        ("+switch-master (s)", Some(t.switch)),
        ("first write on new master (s)", Some(t.first_write)),
        ("client unavailable (s)", Some(t.unavailable)),
        ("acked writes", Some(t.acked as f64)),
        ("lost acked writes", Some(t.lost as f64)),
    ]
}

#[derive(Debug, Serialize)]
pub struct Summary {
    pub metric: String,
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

pub fn summarize(trials: &[FailoverTrial]) -> Vec<Summary> {
    let Some(first) = trials.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, (name, _)) in metrics(first).iter().enumerate() {
        if let Some((min, median, max)) = spread(trials.iter().filter_map(|t| metrics(t)[k].1)) {
            out.push(Summary {
                metric: name.to_string(),
                min,
                median,
                max,
            });
        }
    }
    out
}

/// min / median / max per implementation, side by side, with the ratio of
/// medians (first / second) when there are two.
pub fn failover_summary(runs: &[(String, Vec<FailoverTrial>)]) -> String {
    let sums: Vec<Vec<Summary>> = runs.iter().map(|r| summarize(&r.1)).collect();
    let mut head = vec!["metric".to_string()];
    for (name, _) in runs {
        head.push(format!("{name} min / median / max"));
    }
    if runs.len() == 2 {
        head.push(format!("median {} / {}", runs[0].0, runs[1].0));
    }
    let mut rows = Vec::new();
    for (k, m) in sums
        .first()
        .map(|v| v.as_slice())
        .unwrap_or(&[])
        .iter()
        .enumerate()
    {
        let mut row = vec![m.metric.clone()];
        let mut meds = Vec::new();
        for s in &sums {
            match s.iter().find(|x| x.metric == m.metric) {
                Some(x) => {
                    row.push(format!(
                        "{} / {} / {}",
                        num(x.min),
                        num(x.median),
                        num(x.max)
                    ));
                    meds.push(x.median);
                }
                None => row.push("-".into()),
            }
        }
        if runs.len() == 2 {
            row.push(if meds.len() == 2 && meds[1] > 0.0 {
                format!("{:.2}", meds[0] / meds[1])
            } else {
                "-".into()
            });
        }
        let _ = k;
        rows.push(row);
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    table(&head, &rows)
}

fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e12 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// Split-brain reports side by side.
pub fn split_brain_table(runs: &[(String, SplitBrainReport)]) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(name, r)| {
            vec![
                name.clone(),
                if r.min_replicas_to_write == 0 {
                    "off".into()
                } else {
                    format!("{} / {} s", r.min_replicas_to_write, r.min_replicas_max_lag)
                },
                s(Some(r.switch)),
                s(r.last_ack_after_cut),
                s(Some(r.cut_for)),
                s(r.rejoin),
                r.acked.to_string(),
                r.acked_after_cut.to_string(),
                r.lost.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "run",
            "min-replicas",
            "+switch s",
            "last ack after cut s",
            "cut s",
            "rejoin s",
            "acked",
            "acked after cut",
            "lost",
        ],
        &rows,
    )
}
