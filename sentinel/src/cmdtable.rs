//! The sentinel's command table: name, arity, flags, ACL categories, tips
//! and docs of every command (and subcommand) picket-sentinel answers,
//! mirrored from redis-sentinel 7.0.15's `COMMAND` and `COMMAND DOCS`
//! (reference §13). Commands and subcommands picket-sentinel does not
//! implement are left out. No sentinel command has keys, so first/last/step
//! are 0 and the key specs are empty. COMMAND, COMMAND INFO/COUNT/LIST/DOCS
//! are built from it.

use picket_common::resp::Frame;

/// One command or subcommand (`parent|sub`), as COMMAND prints it.
pub struct CommandSpec {
    pub name: &'static str,
    /// Redis's arity: exact count, or negative for "at least".
    pub arity: i64,
    pub flags: &'static [&'static str],
    pub acl_categories: &'static [&'static str],
    pub tips: &'static [&'static str],
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: Option<&'static str>,
    /// (deprecated_since, replaced_by)
    pub deprecated: Option<(&'static str, &'static str)>,
    pub subcommands: &'static [CommandSpec],
}

/// Finds a command by name or a subcommand by `parent|sub`, case-insensitively.
pub fn lookup(name: &str) -> Option<&'static CommandSpec> {
    let name = name.to_ascii_lowercase();
    match name.split_once('|') {
        None => COMMANDS.iter().find(|c| c.name == name),
        Some((parent, _)) => COMMANDS
            .iter()
            .find(|c| c.name == parent)?
            .subcommands
            .iter()
            .find(|c| c.name == name),
    }
}

/// COMMAND's ten-element entry for one command.
pub fn info(c: &CommandSpec) -> Frame {
    let set = |xs: &[&str]| Frame::Set(xs.iter().map(|x| Frame::Simple(x.to_string())).collect());
    Frame::Array(vec![
        Frame::bulk(c.name),
        Frame::Integer(c.arity),
        set(c.flags),
        Frame::Integer(0),
        Frame::Integer(0),
        Frame::Integer(0),
        set(c.acl_categories),
        Frame::Set(c.tips.iter().map(|t| Frame::bulk(*t)).collect()),
        Frame::Set(vec![]),
        if c.subcommands.is_empty() {
            Frame::Set(vec![])
        } else {
            Frame::Array(c.subcommands.iter().map(info).collect())
        },
    ])
}

/// COMMAND DOCS's map for one command: summary, since, group, complexity,
/// deprecation, history, arguments ([`crate::cmdargs`]) and subcommands,
/// in Redis's order.
pub fn docs(c: &CommandSpec) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    let mut m = vec![
        kv("summary", Frame::bulk(c.summary)),
        kv("since", Frame::bulk(c.since)),
        kv("group", Frame::bulk(c.group)),
    ];
    if let Some(x) = c.complexity {
        m.push(kv("complexity", Frame::bulk(x)));
    }
    if let Some((since, by)) = c.deprecated {
        m.push(kv(
            "doc_flags",
            Frame::Set(vec![Frame::Simple("deprecated".into())]),
        ));
        m.push(kv("deprecated_since", Frame::bulk(since)));
        m.push(kv("replaced_by", Frame::bulk(by)));
    }
    if let Some(d) = crate::cmdargs::docs(c.name) {
        if !d.history.is_empty() {
            let h = d
                .history
                .iter()
                .map(|(v, what)| Frame::Array(vec![Frame::bulk(*v), Frame::bulk(*what)]))
                .collect();
            m.push(kv("history", Frame::Set(h)));
        }
        if !d.args.is_empty() {
            m.push(kv("arguments", args(d.args)));
        }
    }
    if !c.subcommands.is_empty() {
        m.push(kv(
            "subcommands",
            Frame::Map(
                c.subcommands
                    .iter()
                    .map(|s| (Frame::bulk(s.name), docs(s)))
                    .collect(),
            ),
        ));
    }
    Frame::Map(m)
}

/// An argument list as COMMAND DOCS prints it (`addReplyCommandArgList`).
fn args(list: &[crate::cmdargs::Arg]) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    Frame::Array(
        list.iter()
            .map(|a| {
                let mut m = vec![
                    kv("name", Frame::bulk(a.name)),
                    kv("type", Frame::bulk(a.kind)),
                ];
                if let Some(t) = a.token {
                    m.push(kv("token", Frame::bulk(t)));
                }
                if let Some(v) = a.since {
                    m.push(kv("since", Frame::bulk(v)));
                }
                if let Some(v) = a.deprecated_since {
                    m.push(kv("deprecated_since", Frame::bulk(v)));
                }
                if !a.flags.is_empty() {
                    let f = a
                        .flags
                        .iter()
                        .map(|f| Frame::Simple(f.to_string()))
                        .collect();
                    m.push(kv("flags", Frame::Set(f)));
                }
                if matches!(a.kind, "oneof" | "block") {
                    m.push(kv("arguments", args(a.args)));
                }
                Frame::Map(m)
            })
            .collect(),
    )
}

/// COMMAND LIST's names: every command, then its subcommands.
pub fn names() -> Vec<&'static str> {
    let mut out = Vec::new();
    for c in COMMANDS {
        out.push(c.name);
        out.extend(c.subcommands.iter().map(|s| s.name));
    }
    out
}

pub static COMMANDS: &[CommandSpec] = &[
    CommandSpec {
        name: "ping",
        arity: -1,
        flags: &["fast"],
        acl_categories: &["@fast", "@connection"],
        tips: &["request_policy:all_shards", "response_policy:all_succeeded"],
        summary: "Ping the server",
        since: "1.0.0",
        group: "connection",
        complexity: Some("O(1)"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "auth",
        arity: -2,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        acl_categories: &["@fast", "@connection"],
        tips: &[],
        summary: "Authenticate to the server",
        since: "1.0.0",
        group: "connection",
        complexity: Some("O(N) where N is the number of passwords defined for the user"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "subscribe",
        arity: -2,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl_categories: &["@pubsub", "@slow"],
        tips: &[],
        summary: "Listen for messages published to the given channels",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of channels to subscribe to."),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "sentinel",
        arity: -2,
        flags: &["admin"],
        acl_categories: &["@admin", "@slow", "@dangerous"],
        tips: &[],
        summary: "A container for Sentinel commands",
        since: "2.8.4",
        group: "sentinel",
        complexity: Some("Depends on subcommand."),
        deprecated: None,
        subcommands: &[
            CommandSpec {
                name: "sentinel|failover",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Force a failover",
                since: "2.8.4",
                group: "sentinel",
                complexity: None,
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|masters",
                arity: 2,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the monitored masters",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of masters"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|is-master-down-by-addr",
                arity: 6,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Check if a master is down",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|pending-scripts",
                arity: 2,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Get information about pending scripts",
                since: "2.8.4",
                group: "sentinel",
                complexity: None,
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|master",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Shows the state of a master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|flushconfig",
                arity: 2,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Rewrite configuration file",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|ckquorum",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Check for a Sentinel quorum",
                since: "2.8.4",
                group: "sentinel",
                complexity: None,
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|replicas",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the monitored replicas",
                since: "5.0.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of replicas"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|info-cache",
                arity: -3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Get cached INFO from the instances in the deployment",
                since: "3.2.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of instances"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|get-master-addr-by-name",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Get port and address of a master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|myid",
                arity: 2,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Get the Sentinel instance ID",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|help",
                arity: 2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow"],
                tips: &[],
                summary: "Show helpful text about the different subcommands",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|set",
                arity: -5,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Change the configuration of a monitored master",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|sentinels",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the Sentinel instances",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of Sentinels"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|monitor",
                arity: 6,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Start monitoring",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|remove",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Stop monitoring",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|simulate-failure",
                arity: -3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Simulate failover scenarios",
                since: "3.2.0",
                group: "sentinel",
                complexity: None,
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|debug",
                arity: -2,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List or update the current configurable parameters",
                since: "7.0.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of configurable parameters"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|config",
                arity: -3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Configure Sentinel",
                since: "6.2.0",
                group: "sentinel",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|slaves",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the monitored slaves",
                since: "2.8.0",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of slaves"),
                deprecated: Some(("5.0.0", "`SENTINEL REPLICAS`")),
                subcommands: &[],
            },
            CommandSpec {
                name: "sentinel|reset",
                arity: 3,
                flags: &["admin"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Reset masters by name pattern",
                since: "2.8.4",
                group: "sentinel",
                complexity: Some("O(N) where N is the number of monitored masters"),
                deprecated: None,
                subcommands: &[],
            },
        ],
    },
    CommandSpec {
        name: "client",
        arity: -2,
        flags: &[],
        acl_categories: &["@slow"],
        tips: &[],
        summary: "A container for client connection commands",
        since: "2.4.0",
        group: "connection",
        complexity: Some("Depends on subcommand."),
        deprecated: None,
        subcommands: &[
            CommandSpec {
                name: "client|setname",
                arity: 3,
                flags: &["noscript", "loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &[],
                summary: "Set the current connection name",
                since: "2.6.9",
                group: "connection",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "client|list",
                arity: -2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl_categories: &["@admin", "@slow", "@dangerous", "@connection"],
                tips: &["nondeterministic_output"],
                summary: "Get the list of client connections",
                since: "2.4.0",
                group: "connection",
                complexity: Some("O(N) where N is the number of client connections"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "client|id",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &[],
                summary: "Returns the client ID for the current connection",
                since: "5.0.0",
                group: "connection",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "client|getname",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &[],
                summary: "Get the current connection name",
                since: "2.6.9",
                group: "connection",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "client|kill",
                arity: -3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl_categories: &["@admin", "@slow", "@dangerous", "@connection"],
                tips: &[],
                summary: "Kill the connection of a client",
                since: "2.4.0",
                group: "connection",
                complexity: Some("O(N) where N is the number of client connections"),
                deprecated: None,
                subcommands: &[],
            },
        ],
    },
    CommandSpec {
        name: "psubscribe",
        arity: -2,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl_categories: &["@pubsub", "@slow"],
        tips: &[],
        summary: "Listen for messages published to channels matching the given patterns",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of patterns the client is already subscribed to."),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "hello",
        arity: -1,
        flags: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"],
        acl_categories: &["@fast", "@connection"],
        tips: &[],
        summary: "Handshake with Redis",
        since: "6.0.0",
        group: "connection",
        complexity: Some("O(1)"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "role",
        arity: 1,
        flags: &["noscript", "loading", "stale", "fast"],
        acl_categories: &["@admin", "@fast", "@dangerous"],
        tips: &[],
        summary: "Return the role of the instance in the context of replication",
        since: "2.8.12",
        group: "server",
        complexity: Some("O(1)"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "punsubscribe",
        arity: -1,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl_categories: &["@pubsub", "@slow"],
        tips: &[],
        summary: "Stop listening for messages posted to channels matching the given patterns",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client)."),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "unsubscribe",
        arity: -1,
        flags: &["pubsub", "noscript", "loading", "stale"],
        acl_categories: &["@pubsub", "@slow"],
        tips: &[],
        summary: "Stop listening for messages posted to the given channels",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N) where N is the number of clients already subscribed to a channel."),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "acl",
        arity: -2,
        flags: &[],
        acl_categories: &["@slow"],
        tips: &[],
        summary: "A container for Access List Control commands ",
        since: "6.0.0",
        group: "server",
        complexity: Some("Depends on subcommand."),
        deprecated: None,
        subcommands: &[
            CommandSpec {
                name: "acl|users",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the username of all the configured ACL rules",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "acl|list",
                arity: 2,
                flags: &["admin", "noscript", "loading", "stale"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "List the current ACL rules in ACL config file format",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of configured users."),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "acl|cat",
                arity: -2,
                flags: &["noscript", "loading", "stale"],
                acl_categories: &["@slow"],
                tips: &[],
                summary: "List the ACL categories or the commands inside a category",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1) since the categories and commands are a fixed set."),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "acl|getuser",
                arity: 3,
                flags: &["admin", "noscript", "loading", "stale"],
                acl_categories: &["@admin", "@slow", "@dangerous"],
                tips: &[],
                summary: "Get the rules for a specific ACL user",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(N). Where N is the number of password, command and pattern rules that the user has."),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "acl|whoami",
                arity: 2,
                flags: &["noscript", "loading", "stale"],
                acl_categories: &["@slow"],
                tips: &[],
                summary: "Return the name of the user associated to the current connection",
                since: "6.0.0",
                group: "server",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
        ],
    },
    CommandSpec {
        name: "shutdown",
        arity: -1,
        flags: &["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"],
        acl_categories: &["@admin", "@slow", "@dangerous"],
        tips: &[],
        summary: "Synchronously save the dataset to disk and then shut down the server",
        since: "1.0.0",
        group: "server",
        complexity: Some("O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "info",
        arity: -1,
        flags: &["loading", "stale"],
        acl_categories: &["@slow", "@dangerous"],
        tips: &["nondeterministic_output", "request_policy:all_shards", "response_policy:special"],
        summary: "Get information and statistics about the server",
        since: "1.0.0",
        group: "server",
        complexity: Some("O(1)"),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "publish",
        arity: 3,
        flags: &["pubsub", "loading", "stale", "fast"],
        acl_categories: &["@pubsub", "@fast"],
        tips: &[],
        summary: "Post a message to a channel",
        since: "2.0.0",
        group: "pubsub",
        complexity: Some("O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client)."),
        deprecated: None,
        subcommands: &[],
    },
    CommandSpec {
        name: "command",
        arity: -1,
        flags: &["loading", "stale"],
        acl_categories: &["@slow", "@connection"],
        tips: &["nondeterministic_output_order"],
        summary: "Get array of Redis command details",
        since: "2.8.13",
        group: "server",
        complexity: Some("O(N) where N is the total number of Redis commands"),
        deprecated: None,
        subcommands: &[
            CommandSpec {
                name: "command|list",
                arity: -2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get an array of Redis command names",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(N) where N is the total number of Redis commands"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "command|docs",
                arity: -2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get array of specific Redis command documentation",
                since: "7.0.0",
                group: "server",
                complexity: Some("O(N) where N is the number of commands to look up"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "command|help",
                arity: 2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &[],
                summary: "Show helpful text about the different subcommands",
                since: "5.0.0",
                group: "server",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "command|count",
                arity: 2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &[],
                summary: "Get total number of Redis commands",
                since: "2.8.13",
                group: "server",
                complexity: Some("O(1)"),
                deprecated: None,
                subcommands: &[],
            },
            CommandSpec {
                name: "command|info",
                arity: -2,
                flags: &["loading", "stale"],
                acl_categories: &["@slow", "@connection"],
                tips: &["nondeterministic_output_order"],
                summary: "Get array of specific Redis command details, or all when no argument is given.",
                since: "2.8.13",
                group: "server",
                complexity: Some("O(N) where N is the number of commands to look up"),
                deprecated: None,
                subcommands: &[],
            },
        ],
    },
];
