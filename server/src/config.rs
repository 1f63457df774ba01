//! Configuration: the directive table (one row per redis.conf directive,
//! used by the file loader, the command line, CONFIG GET/SET/REWRITE),
//! the redis.conf loader with `include`, and CONFIG REWRITE that keeps the
//! user's comments and order and writes atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use picket_common::conf::{repr_arg, split_args};

pub use picket_common::directives::{
    check, find, notify, notify_to_string, parse_memory, parse_notify, ConfigError, Directive,
    Kind, ALIASES, DIRECTIVES,
};

/// The running configuration: every directive's value as CONFIG GET
/// prints it, plus typed copies of the ones commands read often.
#[derive(Debug, Clone)]
pub struct Config {
    values: IndexMap<&'static str, String>,
    /// The config file given at start-up (for CONFIG REWRITE).
    pub config_file: Option<PathBuf>,
    pub port: u16,
    pub bind: Vec<String>,
    pub protected_mode: bool,
    pub requirepass: Option<Vec<u8>>,
    pub databases: i64,
    pub maxclients: i64,
    pub timeout: i64,
    pub tcp_keepalive: i64,
    pub hz: i64,
    pub notify_flags: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub slowlog_log_slower_than: i64,
    /// `latency-tracking`: record every command's run time.
    pub latency_tracking: bool,
    /// `latency-tracking-info-percentiles`, as INFO latencystats prints.
    pub latency_percentiles: Vec<f64>,
    pub slowlog_max_len: i64,
    pub enable_debug_command: String,
    pub save_params: Vec<(i64, i64)>,
    pub list_max_listpack_size: i64,
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    /// `hll-sparse-max-bytes`: a sparse HyperLogLog growing past this
    /// many bytes (header included) becomes dense.
    pub hll_sparse_max_bytes: i64,
    /// `min-replicas-to-write` and `min-replicas-max-lag`, read on every
    /// write (kept typed so the check costs no lookup).
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag: i64,
    pub maxmemory: i64,
    pub maxmemory_policy: String,
    /// maxmemory-policy is one of the LFU policies.
    pub lfu: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    /// A `save` line was read from the file already (later ones add up).
    pub save_from_file: bool,
    /// The `user` lines of the file, words after `user` (loaded into the
    /// ACL users at start-up by `cmd::acl::load_users`).
    pub users: Vec<Vec<Vec<u8>>>,
}

impl Default for Config {
    fn default() -> Self {
        let mut values = IndexMap::new();
        for d in DIRECTIVES {
            values.insert(d.name, d.default.to_string());
        }
        if let Ok(cwd) = std::env::current_dir() {
            values.insert("dir", cwd.display().to_string());
        }
        let mut c = Config {
            values,
            config_file: None,
            port: 6379,
            bind: vec![],
            protected_mode: true,
            requirepass: None,
            databases: 16,
            maxclients: 10000,
            timeout: 0,
            tcp_keepalive: 300,
            hz: 10,
            notify_flags: 0,
            proto_max_bulk_len: 536870912,
            client_query_buffer_limit: 1073741824,
            slowlog_log_slower_than: 10000,
            latency_tracking: true,
            latency_percentiles: vec![50.0, 99.0, 99.9],
            slowlog_max_len: 128,
            enable_debug_command: "no".into(),
            save_params: vec![],
            list_max_listpack_size: -2,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            lfu: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            save_from_file: false,
            users: Vec::new(),
        };
        c.refresh();
        c
    }
}

impl Config {
    /// The value CONFIG GET prints for a canonical name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|s| s.as_str())
    }

    /// Records the master (REPLICAOF) so CONFIG GET / REWRITE show it.
    pub fn set_replicaof(&mut self, master: Option<(String, u16)>) {
        let v = master.map(|(h, p)| format!("{h} {p}")).unwrap_or_default();
        self.values.insert("replicaof", v);
    }

    /// The configured master, if any.
    pub fn replicaof(&self) -> Option<(String, u16)> {
        let v = self.get("replicaof")?;
        let (h, p) = v.split_once(' ')?;
        Some((h.to_string(), p.parse().ok()?))
    }

    /// Every (name, value) pair, canonical names and aliases, as CONFIG GET * lists.
    pub fn all(&self) -> Vec<(&'static str, String)> {
        let mut v: Vec<(&'static str, String)> =
            self.values.iter().map(|(k, v)| (*k, v.clone())).collect();
        for (alias, canon) in ALIASES {
            if let Some(val) = self.values.get(canon) {
                v.push((alias, val.clone()));
            }
        }
        v
    }

    /// Sets a directive from its arguments, checking them; `startup` allows
    /// immutable ones. The error is the text Redis prints.
    pub fn set(&mut self, name: &str, args: &[String], startup: bool) -> Result<(), ConfigError> {
        let d = find(name)
            .ok_or_else(|| ConfigError("Bad directive or wrong number of arguments".into()))?;
        if d.immutable && !startup {
            return Err(ConfigError("can't set immutable config".into()));
        }
        let v = check(d, args)?;
        if d.name == "dir" {
            if startup {
                // redis-server chdir()s into dir at start-up; fail like it does
                std::env::set_current_dir(&v)
                    .map_err(|e| ConfigError(format!("No such file or directory: {e}")))?;
            } else {
                std::env::set_current_dir(&v).map_err(|e| ConfigError(e.to_string()))?;
            }
            let abs = std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or(v);
            self.values.insert(d.name, abs);
        } else if d.name == "save" && startup {
            // several `save` lines add up; `save ""` resets
            let old = self.values.get("save").cloned().unwrap_or_default();
            let fresh = self.save_from_file;
            if v.is_empty() {
                self.values.insert("save", String::new());
            } else if fresh {
                self.values
                    .insert("save", format!("{old} {v}").trim().to_string());
            } else {
                self.values.insert("save", v);
            }
            self.save_from_file = true;
        } else if d.name == "hz" {
            // Redis clamps hz to 1..=500 and reports the clamped value
            let hz = v.parse::<i64>().unwrap_or(10).clamp(1, 500);
            self.values.insert(d.name, hz.to_string());
        } else {
            self.values.insert(d.name, v);
        }
        self.refresh();
        Ok(())
    }

    fn refresh(&mut self) {
        let g = |c: &Config, n: &str| c.values.get(n).cloned().unwrap_or_default();
        let i = |c: &Config, n: &str| {
            c.values
                .get(n)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        self.port = i(self, "port") as u16;
        self.bind = g(self, "bind")
            .split_whitespace()
            .map(String::from)
            .collect();
        self.protected_mode = g(self, "protected-mode") == "yes";
        let rp = g(self, "requirepass");
        self.requirepass = if rp.is_empty() {
            None
        } else {
            Some(rp.into_bytes())
        };
        self.databases = i(self, "databases");
        self.maxclients = i(self, "maxclients");
        self.timeout = i(self, "timeout");
        self.tcp_keepalive = i(self, "tcp-keepalive");
        self.hz = i(self, "hz").clamp(1, 500);
        self.notify_flags = parse_notify(&g(self, "notify-keyspace-events")).unwrap_or(0);
        self.proto_max_bulk_len = i(self, "proto-max-bulk-len");
        self.client_query_buffer_limit = i(self, "client-query-buffer-limit");
        self.slowlog_log_slower_than = i(self, "slowlog-log-slower-than");
        self.latency_tracking = g(self, "latency-tracking") == "yes";
        self.latency_percentiles = g(self, "latency-tracking-info-percentiles")
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        self.slowlog_max_len = i(self, "slowlog-max-len");
        self.enable_debug_command = g(self, "enable-debug-command");
        let save: Vec<i64> = g(self, "save")
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        self.save_params = save
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect();
        self.list_max_listpack_size = i(self, "list-max-listpack-size");
        self.hash_max_listpack_entries = i(self, "hash-max-listpack-entries");
        self.hash_max_listpack_value = i(self, "hash-max-listpack-value");
        self.set_max_intset_entries = i(self, "set-max-intset-entries");
        self.zset_max_listpack_entries = i(self, "zset-max-listpack-entries");
        self.zset_max_listpack_value = i(self, "zset-max-listpack-value");
        self.hll_sparse_max_bytes = i(self, "hll-sparse-max-bytes");
        self.min_replicas_to_write = i(self, "min-replicas-to-write");
        self.min_replicas_max_lag = i(self, "min-replicas-max-lag");
        self.maxmemory = i(self, "maxmemory");
        self.maxmemory_policy = g(self, "maxmemory-policy");
        self.lfu = self.maxmemory_policy.contains("lfu");
        self.lfu_log_factor = i(self, "lfu-log-factor");
        self.lfu_decay_time = i(self, "lfu-decay-time");
    }
}

/// A fatal start-up configuration error, printed like Redis prints it.
#[derive(Debug, Clone)]
pub struct FatalConfigError {
    pub line_no: usize,
    pub line: String,
    pub msg: String,
    pub file: Option<String>,
}

impl std::fmt::Display for FatalConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***")?;
        match &self.file {
            Some(file) => writeln!(
                f,
                "Reading the configuration file {}, at line {}",
                file, self.line_no
            )?,
            None => writeln!(
                f,
                "Reading the configuration file, at line {}",
                self.line_no
            )?,
        }
        writeln!(f, ">>> '{}'", self.line)?;
        write!(f, "{}", self.msg)
    }
}

impl Config {
    /// Applies a whole config text (file content followed by the command
    /// line options), reporting the first bad line like `loadServerConfigFromString`.
    pub fn load_string(
        &mut self,
        text: &str,
        file: Option<&str>,
        depth: usize,
    ) -> Result<(), FatalConfigError> {
        for (idx, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches(|c| c == ' ' || c == '\t' || c == '\r' || c == '\n');
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |msg: String| FatalConfigError {
                line_no: idx + 1,
                line: line.to_string(),
                msg,
                file: file.map(String::from),
            };
            let args = split_args(line.as_bytes())
                .map_err(|_| fail("Unbalanced quotes in configuration line".into()))?;
            if args.is_empty() {
                continue;
            }
            let args: Vec<String> = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            let name = args[0].to_ascii_lowercase();
            if name == "include" && args.len() == 2 {
                if depth > 16 {
                    return Err(fail("include nesting too deep".into()));
                }
                let content = std::fs::read_to_string(&args[1]).map_err(|e| {
                    fail(format!(
                        "Fatal error, can't open config file '{}': {}",
                        args[1], e
                    ))
                })?;
                self.load_string(&content, Some(&args[1]), depth + 1)?;
                continue;
            }
            if name == "user" && args.len() >= 2 {
                // ACLAppendUserForLoading: the rules are tried on a scratch
                // user now, unknown commands only fail at start-up
                let argv: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
                crate::cmd::acl::check_config_user(&argv, &self.users).map_err(fail)?;
                self.users.push(argv[1..].to_vec());
                continue;
            }
            if name == "rename-command" || name == "loadmodule" {
                // accepted for compatibility; not acted on
                continue;
            }
            if find(&name).is_none() || args.len() < 2 && !matches!(name.as_str(), "save" | "bind")
            {
                return Err(fail("Bad directive or wrong number of arguments".into()));
            }
            self.set(&name, &args[1..], true).map_err(|e| fail(e.0))?;
        }
        Ok(())
    }

    /// CONFIG REWRITE: rewrites the config file in place, keeping comments
    /// and order; directives present in the file get their current value,
    /// non-default ones missing from it are appended, then the `user`
    /// lines (`users`: every ACL user, in place of the file's `user` lines;
    /// empty with an `aclfile`, which drops them). Written atomically.
    pub fn rewrite(&self, users: &[String]) -> Result<(), String> {
        let path = self
            .config_file
            .as_ref()
            .ok_or_else(|| "The server is running without a config file".to_string())?;
        let orig = std::fs::read_to_string(path).unwrap_or_default();
        let mut out: Vec<String> = Vec::new();
        let mut done: HashSet<&'static str> = HashSet::new();
        let mut users_done = false;
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        for raw in orig.lines() {
            let line = raw.trim();
            if line == MARKER {
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                out.push(raw.to_string());
                continue;
            }
            let Ok(args) = split_args(line.as_bytes()) else {
                out.push(raw.to_string());
                continue;
            };
            let Some(first) = args.first() else { continue };
            let name = String::from_utf8_lossy(first).to_ascii_lowercase();
            if name == "user" {
                if !users_done {
                    out.extend(users.iter().cloned());
                    users_done = true;
                }
                continue;
            }
            let Some(d) = find(&name) else {
                out.push(raw.to_string());
                continue;
            };
            if done.contains(d.name) {
                // later duplicates (e.g. several `save` lines) are folded into the first
                continue;
            }
            done.insert(d.name);
            out.extend(self.lines_for(d));
        }
        let mut appended = false;
        for d in DIRECTIVES {
            if done.contains(d.name) {
                continue;
            }
            let cur = self.values.get(d.name).map(|s| s.as_str()).unwrap_or("");
            if cur == d.default || d.name == "dir" {
                continue;
            }
            if !appended {
                out.push(MARKER.to_string());
                appended = true;
            }
            out.extend(self.lines_for(d));
        }
        if !users_done && !users.is_empty() {
            if !appended {
                out.push(MARKER.to_string());
            }
            out.extend(users.iter().cloned());
        }
        let mut text = out.join("\n");
        text.push('\n');
        write_atomically(path, text.as_bytes()).map_err(|e| e.to_string())
    }

    fn lines_for(&self, d: &Directive) -> Vec<String> {
        let v = self.values.get(d.name).cloned().unwrap_or_default();
        match d.name {
            "save" => {
                if v.is_empty() {
                    vec!["save \"\"".into()]
                } else {
                    self.save_params
                        .iter()
                        .map(|(s, c)| format!("save {s} {c}"))
                        .collect()
                }
            }
            "client-output-buffer-limit" => {
                let p: Vec<&str> = v.split_whitespace().collect();
                p.chunks(4)
                    .map(|c| format!("client-output-buffer-limit {}", c.join(" ")))
                    .collect()
            }
            "bind"
            | "replicaof"
            | "latency-tracking-info-percentiles"
            | "oom-score-adj-values"
            | "shutdown-on-sigint"
            | "shutdown-on-sigterm" => {
                if v.is_empty() {
                    vec![]
                } else {
                    vec![format!("{} {}", d.name, v)]
                }
            }
            _ => vec![format!("{} {}", d.name, repr_arg(v.as_bytes()))],
        }
    }
}

/// Writes a file atomically: temp file in the same directory, fsync, rename.
pub fn write_atomically(path: &Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("config"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_directive_names_the_line() {
        let mut c = Config::default();
        let e = c
            .load_string("port 7000\nloglevel loud\n", None, 0)
            .unwrap_err();
        assert_eq!(e.line_no, 2);
        assert_eq!(
            e.msg,
            "argument(s) must be one of the following: debug, verbose, notice, warning"
        );
        let e = c.load_string("\nfoo bar", None, 0).unwrap_err();
        assert_eq!(e.msg, "Bad directive or wrong number of arguments");
        let e = c.load_string("port 99999", None, 0).unwrap_err();
        assert_eq!(e.msg, "argument must be between 0 and 65535 inclusive");
    }

    #[test]
    fn save_lines_add_up_and_empty_resets() {
        let mut c = Config::default();
        c.load_string("save 900 1\nsave 300 10\n", None, 0).unwrap();
        assert_eq!(c.get("save"), Some("900 1 300 10"));
        c.load_string("save \"\"\n", None, 0).unwrap();
        assert_eq!(c.get("save"), Some(""));
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("1zz"), None);
    }

    #[test]
    fn rewrite_keeps_comments_and_order() {
        let dir = std::env::temp_dir().join(format!("picket-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("redis.conf");
        std::fs::write(&path, "# my comment\nport 7000\n\n# keep me\nhz 10\n").unwrap();
        let mut c = Config {
            config_file: Some(path.clone()),
            ..Default::default()
        };
        c.load_string(&std::fs::read_to_string(&path).unwrap(), None, 0)
            .unwrap();
        c.set("hz", &["20".into()], false).unwrap();
        c.set("maxmemory", &["1mb".into()], false).unwrap();
        c.rewrite(&[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# my comment\nport 7000\n\n# keep me\nhz 20\n"),
            "{text}"
        );
        assert!(text.contains("# Generated by CONFIG REWRITE\n"), "{text}");
        assert!(text.contains("maxmemory 1048576"), "{text}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
