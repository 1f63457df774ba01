//! Configuration: the directive table (one row per redis.conf directive,
//! used by the file loader, the command line, CONFIG GET/SET/REWRITE),
//! the redis.conf loader with `include`, and CONFIG REWRITE that keeps the
//! user's comments and order and writes atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use picket_common::conf::{repr_arg, split_args};

/// How a directive's argument is checked.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// yes/no
    Bool,
    /// A signed integer in an inclusive range.
    Int(i64, i64),
    /// A memory size ("1gb", "512mb", bytes) in an inclusive range.
    Mem(i64, i64),
    /// One of a fixed list of words.
    Enum(&'static [&'static str]),
    /// Any single string.
    Str,
    /// Checked by [`special`].
    Special,
}

/// One directive.
#[derive(Debug)]
pub struct Directive {
    /// Canonical name.
    pub name: &'static str,
    /// Argument check.
    pub kind: Kind,
    /// Default value, as CONFIG GET prints it.
    pub default: &'static str,
    /// Only settable at start-up.
    pub immutable: bool,
}

macro_rules! d {
    ($n:expr, $k:expr, $def:expr) => {
        Directive {
            name: $n,
            kind: $k,
            default: $def,
            immutable: false,
        }
    };
    ($n:expr, $k:expr, $def:expr, immutable) => {
        Directive {
            name: $n,
            kind: $k,
            default: $def,
            immutable: true,
        }
    };
}

const YESNO: Kind = Kind::Bool;
const I: Kind = Kind::Int(i64::MIN, i64::MAX);
const U: Kind = Kind::Int(0, i64::MAX);
const M: Kind = Kind::Mem(0, i64::MAX);
const S: Kind = Kind::Str;

/// Every directive Redis 7.0 knows, with its default. Directives that
/// Picket does not act on yet are accepted and stored, so that existing
/// redis.conf files load unchanged; the ones it acts on are read through
/// the typed fields of [`Config`].
pub static DIRECTIVES: &[Directive] = &[
    d!(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels"
    ),
    d!("aclfile", S, "", immutable),
    d!("acllog-max-len", U, "128"),
    d!("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    d!("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    d!("active-defrag-ignore-bytes", M, "104857600"),
    d!("active-defrag-max-scan-fields", U, "1000"),
    d!("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    d!("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    d!("active-expire-effort", Kind::Int(1, 10), "1"),
    d!("activedefrag", YESNO, "no"),
    d!("activerehashing", YESNO, "yes"),
    d!("always-show-logo", YESNO, "no", immutable),
    d!("aof-disable-auto-gc", YESNO, "no"),
    d!("aof-load-truncated", YESNO, "yes"),
    d!("aof-rewrite-incremental-fsync", YESNO, "yes"),
    d!("aof-timestamp-enabled", YESNO, "no"),
    d!("aof-use-rdb-preamble", YESNO, "yes"),
    d!("aof_rewrite_cpulist", S, "", immutable),
    d!("appenddirname", S, "appendonlydir", immutable),
    d!("appendfilename", S, "appendonly.aof", immutable),
    d!(
        "appendfsync",
        Kind::Enum(&["always", "everysec", "no"]),
        "everysec"
    ),
    d!("appendonly", YESNO, "no"),
    d!("auto-aof-rewrite-min-size", M, "67108864"),
    d!(
        "auto-aof-rewrite-percentage",
        Kind::Int(0, i32::MAX as i64),
        "100"
    ),
    d!("bgsave_cpulist", S, "", immutable),
    d!("bind", Kind::Special, "* -::*"),
    d!("bind-source-addr", S, ""),
    d!("bio_cpulist", S, "", immutable),
    d!("busy-reply-threshold", U, "5000"),
    d!(
        "client-output-buffer-limit",
        Kind::Special,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    ),
    d!(
        "client-query-buffer-limit",
        Kind::Mem(1024 * 1024, i64::MAX),
        "1073741824"
    ),
    d!("cluster-allow-pubsubshard-when-down", YESNO, "yes"),
    d!("cluster-allow-reads-when-down", YESNO, "no"),
    d!("cluster-allow-replica-migration", YESNO, "yes"),
    d!("cluster-announce-bus-port", Kind::Int(0, 65535), "0"),
    d!("cluster-announce-hostname", S, ""),
    d!("cluster-announce-ip", S, ""),
    d!("cluster-announce-port", Kind::Int(0, 65535), "0"),
    d!("cluster-announce-tls-port", Kind::Int(0, 65535), "0"),
    d!("cluster-config-file", S, "nodes.conf", immutable),
    d!("cluster-enabled", Kind::Enum(&["no"]), "no", immutable),
    d!("cluster-link-sendbuf-limit", M, "0"),
    d!("cluster-migration-barrier", U, "1"),
    d!("cluster-node-timeout", U, "15000"),
    d!("cluster-port", Kind::Int(0, 65535), "0", immutable),
    d!(
        "cluster-preferred-endpoint-type",
        Kind::Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip"
    ),
    d!("cluster-replica-no-failover", YESNO, "no"),
    d!("cluster-replica-validity-factor", U, "10"),
    d!("cluster-require-full-coverage", YESNO, "yes"),
    d!("crash-log-enabled", YESNO, "yes"),
    d!("crash-memcheck-enabled", YESNO, "yes"),
    d!("daemonize", YESNO, "no", immutable),
    d!("databases", Kind::Int(1, i32::MAX as i64), "16", immutable),
    d!("dbfilename", S, "dump.rdb"),
    d!("dir", Kind::Special, ""),
    d!("disable-thp", YESNO, "yes", immutable),
    d!("dynamic-hz", YESNO, "yes"),
    d!(
        "enable-debug-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        immutable
    ),
    d!(
        "enable-module-command",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        immutable
    ),
    d!(
        "enable-protected-configs",
        Kind::Enum(&["no", "yes", "local"]),
        "no",
        immutable
    ),
    d!("hash-max-listpack-entries", U, "512"),
    d!("hash-max-listpack-value", U, "64"),
    d!("hll-sparse-max-bytes", M, "3000"),
    d!("hz", Kind::Int(0, i32::MAX as i64), "10"),
    d!("ignore-warnings", S, ""),
    d!("io-threads", Kind::Int(1, 128), "1", immutable),
    d!("io-threads-do-reads", YESNO, "no", immutable),
    d!("jemalloc-bg-thread", YESNO, "yes"),
    d!("latency-monitor-threshold", U, "0"),
    d!("latency-tracking", YESNO, "yes"),
    d!(
        "latency-tracking-info-percentiles",
        Kind::Special,
        "50 99 99.9"
    ),
    d!("lazyfree-lazy-eviction", YESNO, "no"),
    d!("lazyfree-lazy-expire", YESNO, "no"),
    d!("lazyfree-lazy-server-del", YESNO, "no"),
    d!("lazyfree-lazy-user-del", YESNO, "no"),
    d!("lazyfree-lazy-user-flush", YESNO, "no"),
    d!("lfu-decay-time", U, "1"),
    d!("lfu-log-factor", U, "10"),
    d!("list-compress-depth", U, "0"),
    d!("list-max-listpack-size", I, "-2"),
    d!("logfile", S, "", immutable),
    d!(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice"
    ),
    d!("lua-time-limit", U, "5000"),
    d!("masterauth", S, ""),
    d!("masteruser", S, ""),
    d!("maxclients", Kind::Int(1, i32::MAX as i64), "10000"),
    d!("maxmemory", M, "0"),
    d!("maxmemory-clients", M, "0"),
    d!("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    d!(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction"
        ]),
        "noeviction"
    ),
    d!("maxmemory-samples", Kind::Int(1, 64), "5"),
    d!("min-replicas-max-lag", U, "10"),
    d!("min-replicas-to-write", U, "0"),
    d!("no-appendfsync-on-rewrite", YESNO, "no"),
    d!("notify-keyspace-events", Kind::Special, ""),
    d!(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no"
    ),
    d!("oom-score-adj-values", Kind::Special, "0 200 800"),
    d!("pidfile", S, "", immutable),
    d!("port", Kind::Int(0, 65535), "6379"),
    d!(
        "proc-title-template",
        S,
        "{title} {listen-addr} {server-mode}"
    ),
    d!(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore"
    ),
    d!("protected-mode", YESNO, "yes"),
    d!(
        "proto-max-bulk-len",
        Kind::Mem(1024 * 1024, i64::MAX),
        "536870912"
    ),
    d!("rdb-del-sync-files", YESNO, "no"),
    d!("rdb-save-incremental-fsync", YESNO, "yes"),
    d!("rdbchecksum", YESNO, "yes", immutable),
    d!("rdbcompression", YESNO, "yes"),
    d!("repl-backlog-size", Kind::Mem(1, i64::MAX), "1048576"),
    d!("repl-backlog-ttl", U, "3600"),
    d!("repl-disable-tcp-nodelay", YESNO, "no"),
    d!(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled"
    ),
    d!("repl-diskless-sync", YESNO, "yes"),
    d!("repl-diskless-sync-delay", U, "5"),
    d!("repl-diskless-sync-max-replicas", U, "0"),
    d!(
        "repl-ping-replica-period",
        Kind::Int(1, i32::MAX as i64),
        "10"
    ),
    d!("repl-timeout", Kind::Int(1, i32::MAX as i64), "60"),
    d!("replica-announce-ip", S, ""),
    d!("replica-announce-port", Kind::Int(0, 65535), "0"),
    d!("replica-announced", YESNO, "yes"),
    d!("replica-ignore-disk-write-errors", YESNO, "no"),
    d!("replica-ignore-maxmemory", YESNO, "yes"),
    d!("replica-lazy-flush", YESNO, "no"),
    d!("replica-priority", U, "100"),
    d!("replica-read-only", YESNO, "yes"),
    d!("replica-serve-stale-data", YESNO, "yes"),
    d!("replicaof", Kind::Special, ""),
    d!("requirepass", S, ""),
    d!(
        "sanitize-dump-payload",
        Kind::Enum(&["no", "yes", "clients"]),
        "no"
    ),
    d!("save", Kind::Special, "3600 1 300 100 60 10000"),
    d!("server_cpulist", S, "", immutable),
    d!("set-max-intset-entries", U, "512"),
    d!("set-proc-title", YESNO, "yes", immutable),
    d!("shutdown-on-sigint", Kind::Special, "default"),
    d!("shutdown-on-sigterm", Kind::Special, "default"),
    d!("shutdown-timeout", U, "10"),
    d!("slowlog-log-slower-than", I, "10000"),
    d!("slowlog-max-len", U, "128"),
    d!("socket-mark-id", U, "0"),
    d!("stop-writes-on-bgsave-error", YESNO, "yes"),
    d!("stream-node-max-bytes", M, "4096"),
    d!("stream-node-max-entries", U, "100"),
    d!(
        "supervised",
        Kind::Enum(&["no", "upstart", "systemd", "auto"]),
        "no",
        immutable
    ),
    d!("syslog-enabled", YESNO, "no", immutable),
    d!("syslog-facility", S, "local0", immutable),
    d!("syslog-ident", S, "redis", immutable),
    d!("tcp-backlog", U, "511", immutable),
    d!("tcp-keepalive", U, "300"),
    d!("timeout", U, "0"),
    d!(
        "tls-auth-clients",
        Kind::Enum(&["no", "yes", "optional"]),
        "yes"
    ),
    d!("tls-ca-cert-dir", S, ""),
    d!("tls-ca-cert-file", S, ""),
    d!("tls-cert-file", S, ""),
    d!("tls-ciphers", S, ""),
    d!("tls-ciphersuites", S, ""),
    d!("tls-client-cert-file", S, ""),
    d!("tls-client-key-file", S, ""),
    d!("tls-client-key-file-pass", S, ""),
    d!("tls-cluster", YESNO, "no"),
    d!("tls-dh-params-file", S, ""),
    d!("tls-key-file", S, ""),
    d!("tls-key-file-pass", S, ""),
    d!("tls-port", Kind::Int(0, 0), "0"),
    d!("tls-prefer-server-ciphers", YESNO, "no"),
    d!("tls-protocols", S, ""),
    d!("tls-replication", YESNO, "no"),
    d!("tls-session-cache-size", U, "20480"),
    d!("tls-session-cache-timeout", U, "300"),
    d!("tls-session-caching", YESNO, "yes"),
    d!("tracking-table-max-keys", U, "1000000"),
    d!("unixsocket", S, "", immutable),
    d!("unixsocketperm", U, "0", immutable),
    d!("zset-max-listpack-entries", U, "128"),
    d!("zset-max-listpack-value", U, "64"),
];

/// Old names Redis still accepts (and prints in CONFIG GET *).
pub static ALIASES: &[(&str, &str)] = &[
    ("cluster-slave-no-failover", "cluster-replica-no-failover"),
    (
        "cluster-slave-validity-factor",
        "cluster-replica-validity-factor",
    ),
    ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
    ("hash-max-ziplist-value", "hash-max-listpack-value"),
    ("list-max-ziplist-size", "list-max-listpack-size"),
    ("min-slaves-max-lag", "min-replicas-max-lag"),
    ("min-slaves-to-write", "min-replicas-to-write"),
    ("repl-ping-slave-period", "repl-ping-replica-period"),
    ("slave-announce-ip", "replica-announce-ip"),
    ("slave-announce-port", "replica-announce-port"),
    ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
    ("slave-lazy-flush", "replica-lazy-flush"),
    ("slave-priority", "replica-priority"),
    ("slave-read-only", "replica-read-only"),
    ("slave-serve-stale-data", "replica-serve-stale-data"),
    ("slaveof", "replicaof"),
    ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
    ("zset-max-ziplist-value", "zset-max-listpack-value"),
];

/// Looks up a directive by name or alias (case-insensitive).
pub fn find(name: &str) -> Option<&'static Directive> {
    let lower = name.to_ascii_lowercase();
    let canon = ALIASES
        .iter()
        .find(|(a, _)| *a == lower)
        .map(|(_, c)| *c)
        .unwrap_or(lower.as_str());
    DIRECTIVES.iter().find(|d| d.name == canon)
}

/// Keyspace notification class flags (notify-keyspace-events).
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const KEYEVENT: u32 = 1 << 1;
    pub const GENERIC: u32 = 1 << 2;
    pub const STRING: u32 = 1 << 3;
    pub const LIST: u32 = 1 << 4;
    pub const SET: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const ZSET: u32 = 1 << 7;
    pub const EXPIRED: u32 = 1 << 8;
    pub const EVICTED: u32 = 1 << 9;
    pub const STREAM: u32 = 1 << 10;
    pub const KEY_MISS: u32 = 1 << 11;
    pub const LOADED: u32 = 1 << 12;
    pub const MODULE: u32 = 1 << 13;
    pub const NEW: u32 = 1 << 14;
    /// 'A': every class except key-miss and new.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// Parses notify-keyspace-events classes like `keyspaceEventsStringToFlags`.
pub fn parse_notify(s: &str) -> Option<u32> {
    use notify::*;
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// Prints flags back like `keyspaceEventsFlagsToString`.
pub fn notify_to_string(f: u32) -> String {
    use notify::*;
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    if f & KEYSPACE != 0 {
        s.push('K');
    }
    if f & KEYEVENT != 0 {
        s.push('E');
    }
    if f & KEY_MISS != 0 {
        s.push('m');
    }
    if f & NEW != 0 {
        s.push('n');
    }
    s
}

/// Parses a memory value like Redis's `memtoull` ("1gb", "10k", "512").
pub fn parse_memory(s: &str) -> Option<i64> {
    let l = s.to_ascii_lowercase();
    let (num, mul): (&str, i64) = if let Some(n) = l.strip_suffix("kb") {
        (n, 1024)
    } else if let Some(n) = l.strip_suffix("mb") {
        (n, 1024 * 1024)
    } else if let Some(n) = l.strip_suffix("gb") {
        (n, 1024 * 1024 * 1024)
    } else if let Some(n) = l.strip_suffix('k') {
        (n, 1000)
    } else if let Some(n) = l.strip_suffix('m') {
        (n, 1000 * 1000)
    } else if let Some(n) = l.strip_suffix('g') {
        (n, 1000 * 1000 * 1000)
    } else if let Some(n) = l.strip_suffix('b') {
        (n, 1)
    } else {
        (l.as_str(), 1)
    };
    if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    num.parse::<i64>().ok()?.checked_mul(mul)
}

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
    pub slowlog_max_len: i64,
    pub enable_debug_command: String,
    pub save_params: Vec<(i64, i64)>,
    pub list_max_listpack_size: i64,
    pub hash_max_listpack_entries: i64,
    pub hash_max_listpack_value: i64,
    pub set_max_intset_entries: i64,
    pub zset_max_listpack_entries: i64,
    pub zset_max_listpack_value: i64,
    pub maxmemory: i64,
    pub maxmemory_policy: String,
    /// maxmemory-policy is one of the LFU policies.
    pub lfu: bool,
    pub lfu_log_factor: i64,
    pub lfu_decay_time: i64,
    /// A `save` line was read from the file already (later ones add up).
    pub save_from_file: bool,
}

/// A rejected value: the text Redis prints after the directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

fn check(d: &Directive, args: &[String]) -> Result<String, ConfigError> {
    let err = |s: &str| Err(ConfigError(s.to_string()));
    match d.kind {
        Kind::Special => special(d.name, args),
        _ if args.len() != 1 => err("wrong number of arguments"),
        Kind::Bool => match args[0].to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => err("argument must be 'yes' or 'no'"),
        },
        Kind::Int(min, max) => {
            let v: i64 = args[0]
                .parse()
                .map_err(|_| ConfigError("argument couldn't be parsed into an integer".into()))?;
            if v < min || v > max {
                return Err(ConfigError(format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(v.to_string())
        }
        Kind::Mem(min, max) => {
            let v = parse_memory(&args[0])
                .ok_or_else(|| ConfigError("argument must be a memory value".into()))?;
            if v < min || v > max {
                return Err(ConfigError(format!(
                    "argument must be between {min} and {max} inclusive"
                )));
            }
            Ok(v.to_string())
        }
        Kind::Enum(words) => {
            let l = args[0].to_ascii_lowercase();
            if words.contains(&l.as_str()) {
                Ok(l)
            } else {
                Err(ConfigError(format!(
                    "argument(s) must be one of the following: {}",
                    words.join(", ")
                )))
            }
        }
        Kind::Str => Ok(args[0].clone()),
    }
}

fn special(name: &str, args: &[String]) -> Result<String, ConfigError> {
    let err = |s: &str| Err(ConfigError(s.to_string()));
    match name {
        "save" => {
            // one or more "<seconds> <changes>" pairs, or "" to disable
            let joined: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if joined.is_empty() {
                return Ok(String::new());
            }
            if !joined.len().is_multiple_of(2)
                || joined
                    .iter()
                    .any(|x| x.parse::<i64>().map(|v| v < 0).unwrap_or(true))
            {
                return err("Invalid save parameters");
            }
            Ok(joined.join(" "))
        }
        "bind" => {
            let v: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if v.is_empty() {
                return err("wrong number of arguments");
            }
            Ok(v.join(" "))
        }
        "dir" => {
            if args.len() != 1 {
                return err("wrong number of arguments");
            }
            Ok(args[0].clone())
        }
        "notify-keyspace-events" => {
            if args.len() != 1 {
                return err("wrong number of arguments");
            }
            let f = parse_notify(&args[0]).ok_or_else(|| {
                ConfigError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into())
            })?;
            Ok(notify_to_string(f))
        }
        "replicaof" => {
            if args.len() == 2
                && args[0].eq_ignore_ascii_case("no")
                && args[1].eq_ignore_ascii_case("one")
            {
                return Ok(String::new());
            }
            if args.len() != 2 {
                return err("wrong number of arguments");
            }
            if args[1].parse::<u16>().is_err() {
                return err("Invalid master port");
            }
            Ok(format!("{} {}", args[0], args[1]))
        }
        "client-output-buffer-limit" => {
            let v: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if v.is_empty() || !v.len().is_multiple_of(4) {
                return err("Wrong number of arguments in buffer limit configuration.");
            }
            let mut cur: IndexMap<&str, [i64; 3]> = IndexMap::new();
            cur.insert("normal", [0, 0, 0]);
            cur.insert("slave", [268435456, 67108864, 60]);
            cur.insert("pubsub", [33554432, 8388608, 60]);
            for ch in v.chunks(4) {
                let class = match ch[0].to_ascii_lowercase().as_str() {
                    "normal" => "normal",
                    "slave" | "replica" => "slave",
                    "pubsub" => "pubsub",
                    _ => {
                        return err("Invalid client class specified in buffer limit configuration.")
                    }
                };
                let hard = parse_memory(ch[1]);
                let soft = parse_memory(ch[2]);
                let secs = ch[3].parse::<i64>().ok().filter(|s| *s >= 0);
                match (hard, soft, secs) {
                    (Some(h), Some(s), Some(t)) => {
                        cur.insert(class, [h, s, t]);
                    }
                    _ => return err("Error in hard, soft or soft_seconds setting in buffer limit configuration."),
                }
            }
            Ok(cur
                .iter()
                .map(|(k, v)| format!("{} {} {} {}", k, v[0], v[1], v[2]))
                .collect::<Vec<_>>()
                .join(" "))
        }
        "latency-tracking-info-percentiles" | "oom-score-adj-values" => {
            let v: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if v.iter().any(|x| x.parse::<f64>().is_err()) {
                return err("Invalid argument");
            }
            Ok(v.join(" "))
        }
        "shutdown-on-sigint" | "shutdown-on-sigterm" => {
            for a in args {
                if !["default", "save", "nosave", "now", "force"]
                    .contains(&a.to_ascii_lowercase().as_str())
                {
                    return err("argument(s) must be one of the following: default, save, nosave, now, force");
                }
            }
            Ok(args
                .iter()
                .map(|a| a.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join(" "))
        }
        _ => err("Bad directive or wrong number of arguments"),
    }
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
            slowlog_max_len: 128,
            enable_debug_command: "no".into(),
            save_params: vec![],
            list_max_listpack_size: -2,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            maxmemory: 0,
            maxmemory_policy: "noeviction".into(),
            lfu: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            save_from_file: false,
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
            if name == "rename-command" || name == "user" || name == "loadmodule" {
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
    /// non-default ones missing from it are appended. Written atomically.
    pub fn rewrite(&self) -> Result<(), String> {
        let path = self
            .config_file
            .as_ref()
            .ok_or_else(|| "The server is running without a config file".to_string())?;
        let orig = std::fs::read_to_string(path).unwrap_or_default();
        let mut out: Vec<String> = Vec::new();
        let mut done: HashSet<&'static str> = HashSet::new();
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
        c.rewrite().unwrap();
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
