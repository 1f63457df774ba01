//! `picket`: start a local HA group, look at it, and run failover and
//! split-brain drills against picket or Debian's Redis binaries.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use picket_ha::drill::{self, FailoverOpts, Fault, SplitBrainOpts};
use picket_ha::group::{Group, GroupFile};
use picket_ha::proc::{Binaries, Impl};
use picket_ha::report;
use picket_ha::topology::Topology;

#[derive(Parser)]
#[command(
    name = "picket",
    version,
    about = "Local HA groups and failover drills for picket-server / picket-sentinel"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start a monitored group on loopback and follow it until Ctrl-C.
    Up(UpArgs),
    /// Print the roles, offsets and sentinel views of a running group.
    Status {
        /// The group's data directory (as given to `picket up`).
        #[arg(long, default_value = "picket-data")]
        dir: PathBuf,
        /// Print the table as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Fail the master under a write load and measure what it costs.
    #[command(subcommand)]
    Drill(DrillCmd),
}

#[derive(Args, Clone)]
struct GroupArgs {
    /// A topology file (TOML); the count options below are then ignored.
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Number of replicas (the group has one master more).
    #[arg(long, default_value_t = 2)]
    replicas: usize,
    /// Number of sentinels.
    #[arg(long, default_value_t = 3)]
    sentinels: usize,
    /// Default: a majority of the sentinels.
    #[arg(long)]
    quorum: Option<usize>,
    /// down-after-milliseconds, e.g. 1s or 500ms (default: 5s for `up`, 1s for drills).
    #[arg(long, value_parser = humantime::parse_duration)]
    down_after: Option<Duration>,
    /// failover-timeout.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    failover_timeout: Duration,
    /// Data directory (logs, configs, the group file).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// picket or redis (Debian's redis-server / redis-sentinel).
    #[arg(long = "impl", default_value = "picket")]
    implementation: String,
}

#[derive(Args)]
struct UpArgs {
    #[command(flatten)]
    group: GroupArgs,
    /// Client port of the master; the replicas take the next ones.
    #[arg(long, default_value_t = 7000)]
    port: u16,
    /// Client port of the first sentinel; the others take the next ones.
    #[arg(long, default_value_t = 27000)]
    sentinel_port: u16,
}

#[derive(Subcommand)]
enum DrillCmd {
    /// kill -9 (default), SIGSTOP or SENTINEL FAILOVER the master while a
    /// sentinel-aware client writes; per trial and min/median/max.
    Failover {
        #[command(flatten)]
        group: GroupArgs,
        /// kill -9 the master, restart it after the switch (the default).
        #[arg(long, group = "fault")]
        kill: bool,
        /// SIGSTOP the master, SIGCONT it after the switch.
        #[arg(long, group = "fault")]
        pause: bool,
        /// SENTINEL FAILOVER on the first sentinel.
        #[arg(long, group = "fault")]
        manual: bool,
        /// Failovers in a row (each waits for the group to converge).
        #[arg(long, default_value_t = 5)]
        trials: usize,
        /// Run against both implementations (picket first) and compare.
        #[arg(long)]
        both: bool,
        /// Print the results as JSON (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
    /// Cut the master off from sentinels and replicas while a client keeps
    /// writing to it; heal; count the acknowledged writes lost.
    SplitBrain {
        #[command(flatten)]
        group: GroupArgs,
        /// min-replicas-to-write on every data node (0: off).
        #[arg(long, default_value_t = 0)]
        min_replicas_to_write: u32,
        /// min-replicas-max-lag, seconds.
        #[arg(long, default_value_t = 10)]
        min_replicas_max_lag: u32,
        /// How long the cut lasts.
        #[arg(long, value_parser = humantime::parse_duration, default_value = "15s")]
        cut_for: Duration,
        /// Run against both implementations (picket first) and compare.
        #[arg(long)]
        both: bool,
        /// Print the results as JSON (progress stays on stderr).
        #[arg(long)]
        json: bool,
    },
}

impl GroupArgs {
    fn implementations(&self, both: bool) -> Result<Vec<Impl>> {
        if both {
            return Ok(vec![Impl::Picket, Impl::Redis]);
        }
        Ok(vec![self
            .implementation
            .parse()
            .map_err(anyhow::Error::msg)?])
    }

    fn topology(&self, default_down_after: Duration, default_dir: &str) -> Result<Topology> {
        let mut t = match &self.topology {
            Some(p) => Topology::load(p)?,
            None => {
                let mut t = Topology::new(self.replicas, self.sentinels);
                t.sentinel.quorum = self.quorum;
                t.sentinel.failover_timeout = self.failover_timeout;
                t.sentinel.down_after = default_down_after;
                t.dir = default_dir.into();
                t
            }
        };
        if let Some(d) = self.down_after {
            t.sentinel.down_after = d;
        }
        if let Some(d) = &self.dir {
            t.dir = d.clone();
        }
        t.check()?;
        Ok(t)
    }
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.cmd {
            Cmd::Up(a) => up(a).await,
            Cmd::Status { dir, json } => status(dir, json).await,
            Cmd::Drill(d) => drill_cmd(d).await,
        }
    })
}

fn group_file_path(t: &Topology) -> PathBuf {
    t.dir.join("group.json")
}

async fn up(a: UpArgs) -> Result<()> {
    let mut t = a.group.topology(Duration::from_secs(5), "picket-data")?;
    if a.group.topology.is_none() {
        for (i, n) in t.nodes.iter_mut().enumerate() {
            n.port = a.port + i as u16;
        }
        t.sentinel.base_port = a.sentinel_port;
    }
    let imp: Impl = a.group.implementation.parse().map_err(anyhow::Error::msg)?;
    let bins = Binaries::find(imp)?;
    // Installed first: a Ctrl-C during the start-up is seen by the loop
    // below, which then stops what was started.
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    eprintln!(
        "starting {} data nodes and {} sentinels ({}) in {}",
        t.nodes.len(),
        t.sentinel.count,
        imp.name(),
        t.dir.display()
    );
    let mut g = Group::start(&t, &bins).await?;
    let file = g.file();
    std::fs::write(
        group_file_path(&g.topology),
        serde_json::to_string_pretty(&file)?,
    )?;
    let converged = g.wait_converged(Duration::from_secs(60)).await;
    let sentinels: Vec<String> = g.sentinel_addrs().iter().map(|a| a.to_string()).collect();
    println!("\nMaster name: {}", g.master_name());
    println!("Sentinels:   {}", sentinels.join(","));
    println!(
        "\nredis-py:  Sentinel([{}]).master_for(\"{}\")",
        g.sentinel_addrs()
            .iter()
            .map(|a| format!("(\"{}\", {})", a.ip(), a.port()))
            .collect::<Vec<_>>()
            .join(", "),
        g.master_name()
    );
    println!(
        "Spring:    spring.data.redis.sentinel.master={}",
        g.master_name()
    );
    println!(
        "           spring.data.redis.sentinel.nodes={}",
        sentinels.join(",")
    );
    println!(
        "redis-cli: redis-cli -h {} -p {} SENTINEL GET-MASTER-ADDR-BY-NAME {}\n",
        g.sentinels[0].ip,
        g.sentinels[0].port,
        g.master_name()
    );
    if let Err(e) = converged {
        eprintln!("warning: {e}");
    }
    let events = g.events().await;
    let mut live = events.subscribe();
    let mut last = String::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let start = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = int.recv() => break,
            _ = term.recv() => break,
            e = live.recv() => {
                if let Ok(e) = e {
                    println!("{:>9.3}s  {}  {} {}", start.elapsed().as_secs_f64(), g.sentinels[e.sentinel].name, e.name, e.payload);
                }
            }
            _ = tick.tick() => {
                let table = report::status_table(&report::status(&file).await);
                if table != last {
                    println!("{table}");
                    last = table;
                }
            }
        }
    }
    eprintln!("stopping the group");
    let path = group_file_path(&g.topology);
    g.stop();
    let _ = std::fs::remove_file(path);
    Ok(())
}

async fn status(dir: PathBuf, json: bool) -> Result<()> {
    let path = dir.join("group.json");
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no running group in {} (start one with `picket up`)",
            dir.display()
        )
    })?;
    let file: GroupFile = serde_json::from_str(&text)?;
    let rows = report::status(&file).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        println!(
            "master name {} ({})\n",
            file.master_name,
            file.implementation.name()
        );
        print!("{}", report::status_table(&rows));
    }
    Ok(())
}

async fn fresh_group(t: &Topology, imp: Impl) -> Result<Group> {
    let mut t = t.clone();
    t.dir = t.dir.join(imp.name());
    if t.dir.exists() {
        std::fs::remove_dir_all(&t.dir)?;
    }
    let bins = Binaries::find(imp)?;
    eprintln!("[{}] starting the group in {}", imp.name(), t.dir.display());
    let mut g = Group::start(&t, &bins).await?;
    g.wait_converged(Duration::from_secs(60)).await?;
    Ok(g)
}

async fn drill_cmd(d: DrillCmd) -> Result<()> {
    match d {
        DrillCmd::Failover {
            group,
            kill: _,
            pause,
            manual,
            trials,
            both,
            json,
        } => {
            if trials == 0 {
                bail!("--trials must be at least 1");
            }
            let fault = if pause {
                Fault::Pause
            } else if manual {
                Fault::Manual
            } else {
                Fault::Kill
            };
            let t = group.topology(Duration::from_secs(1), "picket-drill")?;
            let opts = FailoverOpts {
                fault,
                trials,
                settle: Duration::from_secs(1),
            };
            let mut runs = Vec::new();
            for imp in group.implementations(both)? {
                let mut g = fresh_group(&t, imp).await?;
                let name = imp.name();
                let mut progress = |s: &str| eprintln!("[{name}] {s}");
                let res = drill::failover(&mut g, &opts, &mut progress).await;
                g.stop();
                runs.push((name.to_string(), res?));
            }
            if json {
                let out: Vec<_> = runs
                    .iter()
                    .map(|(n, tr)| serde_json::json!({"impl": n, "trials": tr, "summary": report::summarize(tr)}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"drill": "failover", "fault": fault, "down_after_ms": t.sentinel.down_after.as_millis() as u64, "runs": out})
                    )?
                );
            } else {
                println!();
                for (n, tr) in &runs {
                    println!("{}", report::failover_trials(n, tr));
                }
                println!("{}", report::failover_summary(&runs));
            }
        }
        DrillCmd::SplitBrain {
            group,
            min_replicas_to_write,
            min_replicas_max_lag,
            cut_for,
            both,
            json,
        } => {
            let t = group.topology(Duration::from_secs(1), "picket-drill")?;
            let opts = SplitBrainOpts {
                min_replicas_to_write,
                min_replicas_max_lag,
                cut_for,
            };
            let mut runs = Vec::new();
            for imp in group.implementations(both)? {
                let mut g = fresh_group(&t, imp).await?;
                let name = imp.name();
                let mut progress = |s: &str| eprintln!("[{name}] {s}");
                let res = drill::split_brain(&mut g, &opts, &mut progress).await;
                g.stop();
                runs.push((name.to_string(), res?));
            }
            if json {
                let out: Vec<_> = runs
                    .iter()
                    .map(|(n, r)| serde_json::json!({"impl": n, "report": r}))
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"drill": "split-brain", "runs": out})
                    )?
                );
            } else {
                println!("\n{}", report::split_brain_table(&runs));
            }
        }
    }
    Ok(())
}
