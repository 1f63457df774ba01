//! The redis.conf directive table shared by `picket-server` and
//! `picket-sentinel`: every generic directive Redis 7.0 knows (name, kind
//! of argument, default, mutability), its aliases, and the value checks
//! with Redis's error texts. A sentinel accepts the same generic
//! directives as a server, so both binaries read them from this one table.

use indexmap::IndexMap;

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
/// the typed fields of the server's `Config`.
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

/// A rejected value: the text Redis prints after the directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

/// Checks a directive's arguments and returns the value as CONFIG GET
/// prints it, or the error text Redis prints after the directive.
pub fn check(d: &Directive, args: &[String]) -> Result<String, ConfigError> {
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
