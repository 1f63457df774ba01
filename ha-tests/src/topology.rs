//! What a group is made of: data nodes (the first is the initial master),
//! sentinels and their settings. Built from command-line counts or read
//! from a TOML file:
//!
//! ```toml
//! master-name = "mymaster"
//! dir = "picket-data"
//!
//! [[node]]            # the first node is the initial master
//! port = 7000
//! [[node]]
//! port = 7001
//! priority = 10       # replica-priority (lower wins; 0 = never promoted)
//! [[node]]
//! port = 7002
//! priority = 0
//!
//! [sentinel]
//! count = 3
//! base-port = 27000   # sentinel i listens on base-port + i
//! quorum = 2
//! down-after = "1s"
//! failover-timeout = "10s"
//! parallel-syncs = 1
//! ```
//!
//! Ports are the addresses clients use; 0 (or absent) picks a free port.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Topology {
    #[serde(default = "default_name")]
    pub master_name: String,
    #[serde(default = "default_dir")]
    pub dir: PathBuf,
    #[serde(default, rename = "node")]
    pub nodes: Vec<NodeSpec>,
    #[serde(default)]
    pub sentinel: SentinelSpec,
    /// Extra `--directive value` pairs for every data node.
    #[serde(default)]
    pub server_args: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct NodeSpec {
    #[serde(default)]
    pub port: u16,
    #[serde(default = "default_priority")]
    pub priority: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SentinelSpec {
    #[serde(default = "default_sentinels")]
    pub count: usize,
    #[serde(default)]
    pub base_port: u16,
    /// Default: a majority of `count`.
    #[serde(default)]
    pub quorum: Option<usize>,
    #[serde(default = "default_down_after", with = "human")]
    pub down_after: Duration,
    #[serde(default = "default_failover_timeout", with = "human")]
    pub failover_timeout: Duration,
    #[serde(default = "default_parallel_syncs")]
    pub parallel_syncs: u32,
}

fn default_name() -> String {
    "mymaster".into()
}
fn default_dir() -> PathBuf {
    "picket-data".into()
}
fn default_priority() -> u32 {
    100
}
fn default_sentinels() -> usize {
    3
}
fn default_down_after() -> Duration {
    Duration::from_secs(5)
}
fn default_failover_timeout() -> Duration {
    Duration::from_secs(60)
}
fn default_parallel_syncs() -> u32 {
    1
}

impl Default for SentinelSpec {
    fn default() -> Self {
        SentinelSpec {
            count: default_sentinels(),
            base_port: 0,
            quorum: None,
            down_after: default_down_after(),
            failover_timeout: default_failover_timeout(),
            parallel_syncs: default_parallel_syncs(),
        }
    }
}

/// Durations as humantime text (`1s`, `500ms`).
mod human {
    use super::*;
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| serde::de::Error::custom(format!("'{s}': {e}")))
    }
}

impl Topology {
    /// `replicas` replicas and `sentinels` sentinels on free ports.
    pub fn new(replicas: usize, sentinels: usize) -> Topology {
        Topology {
            master_name: default_name(),
            dir: default_dir(),
            nodes: vec![NodeSpec::default_node(); replicas + 1],
            sentinel: SentinelSpec {
                count: sentinels,
                ..SentinelSpec::default()
            },
            server_args: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Topology> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut t: Topology =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        if t.nodes.is_empty() {
            t.nodes = vec![NodeSpec::default_node(); 3];
        }
        t.check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(t)
    }

    pub fn check(&self) -> Result<()> {
        if self.nodes.is_empty() {
            bail!("a group needs at least one data node");
        }
        if self.sentinel.count == 0 {
            bail!("a group needs at least one sentinel");
        }
        let q = self.quorum();
        if q == 0 || q > self.sentinel.count {
            bail!("quorum {q} with {} sentinels", self.sentinel.count);
        }
        if self.sentinel.down_after < Duration::from_millis(100) {
            bail!("down-after below 100ms");
        }
        if !self
            .master_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            bail!(
                "master name '{}': letters, digits, - _ . only",
                self.master_name
            );
        }
        Ok(())
    }

    pub fn quorum(&self) -> usize {
        self.sentinel.quorum.unwrap_or(self.sentinel.count / 2 + 1)
    }

    /// Sentinel `i`'s client port (0 = pick one).
    pub fn sentinel_port(&self, i: usize) -> u16 {
        if self.sentinel.base_port == 0 {
            0
        } else {
            self.sentinel.base_port + i as u16
        }
    }
}

impl NodeSpec {
    fn default_node() -> NodeSpec {
        NodeSpec {
            port: 0,
            priority: default_priority(),
        }
    }
}
