//! Server commands: INFO, CONFIG, COMMAND, TIME, ROLE, DEBUG, MONITOR,
//! SLOWLOG, LATENCY, SHUTDOWN, LASTSAVE.

use std::time::Duration;

use bytes::Bytes;
use picket_common::glob::glob_match;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, is, syntax_err, table, unknown_sub, wrong_arity, Cmd, CmdResult, Ctx, Flow};
use crate::cmd;
use crate::cmd::connection::help_reply;
use crate::db::{Entry, Value};

/// Server rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!(
        "info",
        -1,
        LOADING | STALE | SENTINEL,
        0,
        0,
        0,
        "server",
        info
    ),
    cmd!(
        "config",
        -2,
        0,
        0,
        0,
        0,
        "server",
        config,
        subs = &[
            ("get", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("set", -4, ADMIN | NOSCRIPT | LOADING | STALE),
            ("resetstat", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("rewrite", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("help", 2, LOADING | STALE)
        ]
    ),
    cmd!(
        "command",
        -1,
        LOADING | STALE | SENTINEL,
        0,
        0,
        0,
        "server",
        command,
        subs = &[
            ("count", 2, LOADING | STALE),
            ("info", -2, LOADING | STALE),
            ("docs", -2, LOADING | STALE),
            ("getkeys", -4, LOADING | STALE),
            ("getkeysandflags", -4, LOADING | STALE),
            ("list", -2, LOADING | STALE),
            ("help", 2, LOADING | STALE)
        ]
    ),
    cmd!("time", 1, LOADING | STALE | FAST, 0, 0, 0, "server", time),
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        "server",
        debug
    ),
    cmd!(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        0,
        0,
        "server",
        monitor
    ),
    cmd!(
        "slowlog",
        -2,
        0,
        0,
        0,
        0,
        "server",
        slowlog,
        subs = &[
            ("get", -2, ADMIN | LOADING | STALE),
            ("len", 2, ADMIN | LOADING | STALE),
            ("reset", 2, ADMIN | LOADING | STALE),
            ("help", 2, LOADING | STALE)
        ]
    ),
    cmd!(
        "latency",
        -2,
        0,
        0,
        0,
        0,
        "server",
        latency,
        subs = &[
            ("latest", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("history", 3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("reset", -2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("doctor", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("graph", 3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("histogram", -2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("help", 2, LOADING | STALE)
        ]
    ),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | SENTINEL | ALLOW_BUSY,
        0,
        0,
        0,
        "server",
        shutdown
    ),
    cmd!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        "server",
        lastsave
    ),
    cmd!(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        0,
        0,
        0,
        "server",
        save
    ),
    cmd!(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        0,
        0,
        0,
        "server",
        bgsave
    ),
    cmd!(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        0,
        0,
        0,
        "server",
        bgrewriteaof
    ),
];

fn info(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let args: Vec<String> = a[1..]
        .iter()
        .map(|x| String::from_utf8_lossy(x).to_ascii_lowercase())
        .collect();
    let n = ctx.st.clients.len() + 1;
    let text = crate::info::info(ctx.shared, ctx.st, &args, n);
    Ok(Frame::Verbatim("txt".into(), Bytes::from(text)))
}

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

fn config(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "get" => {
            let mut pairs: Vec<(Frame, Frame)> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            let all = ctx.st.config.all();
            for pat in &a[2..] {
                for (name, val) in &all {
                    if glob_match(pat, name.as_bytes(), true) && seen.insert(*name) {
                        pairs.push((Frame::bulk(name), Frame::bulk(val)));
                    }
                }
            }
            Ok(Frame::Map(pairs))
        }
        "set" => {
            if !a.len().is_multiple_of(2) {
                return Err(wrong_arity("config|set"));
            }
            // validate everything first, then apply: CONFIG SET is atomic in 7.0
            let mut staged = ctx.st.config.clone();
            let mut names = Vec::new();
            for p in a[2..].chunks(2) {
                let name = String::from_utf8_lossy(&p[0]).to_ascii_lowercase();
                let Some(d) = crate::config::find(&name) else {
                    return Err(Frame::err(format!(
                        "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                    )));
                };
                if names.contains(&d.name) {
                    return Err(Frame::err(format!("ERR Duplicate parameter - {name}")));
                }
                names.push(d.name);
                let val = String::from_utf8_lossy(&p[1]).into_owned();
                let args: Vec<String> = match d.kind {
                    crate::config::Kind::Special => {
                        match picket_common::conf::split_args(val.as_bytes()) {
                            Ok(v) => v
                                .into_iter()
                                .map(|x| String::from_utf8_lossy(&x).into_owned())
                                .collect(),
                            Err(_) => vec![val.clone()],
                        }
                    }
                    _ => vec![val.clone()],
                };
                let args = if args.is_empty() && d.name != "save" {
                    vec![String::new()]
                } else {
                    args
                };
                staged.set(&name, &args, false).map_err(|e| {
                    Frame::err(format!(
                        "ERR CONFIG SET failed (possibly related to argument '{name}') - {}",
                        e.0
                    ))
                })?;
            }
            let rebind = staged.port != ctx.st.config.port || staged.bind != ctx.st.config.bind;
            if rebind {
                let ls = crate::server::bind_all_std(&staged.bind, staged.port).map_err(|e| Frame::err(format!("ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port: {e}")))?;
                let _ = ctx.shared.rebind_tx.send(ls);
            }
            let aof_was = ctx.st.config.get("appendonly") == Some("yes");
            let aof_now = staged.get("appendonly") == Some("yes");
            if aof_now && !aof_was {
                // writes the first BASE in the background, as Redis does
                let old = std::mem::replace(&mut ctx.st.config, staged.clone());
                if let Err(e) = crate::persistence::aof::enable(ctx.shared, ctx.st) {
                    ctx.st.config = old;
                    return Err(Frame::err(format!(
                        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
                    )));
                }
            } else if aof_was && !aof_now {
                crate::persistence::aof::disable(ctx.st);
            }
            // updateRequirePass: a changed requirepass is the default
            // user's only password (or nopass), whatever ACLs did before
            if staged.requirepass != ctx.st.config.requirepass {
                ctx.st
                    .acl
                    .set_default_password(super::acl::table(), staged.requirepass.as_deref());
            }
            ctx.st.acl.pubsub_all = staged.get("acl-pubsub-default") == Some("allchannels");
            ctx.st.config = staged;
            crate::persistence::aof::config_changed(ctx.st);
            ctx.st.repl.limits = crate::push::Limits::from_config(
                ctx.st
                    .config
                    .get("client-output-buffer-limit")
                    .unwrap_or(""),
                "replica",
            );
            ctx.st.pubsub.limits = crate::push::Limits::pubsub_from_config(
                ctx.st
                    .config
                    .get("client-output-buffer-limit")
                    .unwrap_or(""),
            );
            Ok(Frame::ok())
        }
        "resetstat" => {
            ctx.st.stats = Default::default();
            ctx.st.command_stats.clear();
            ctx.st.latency.clear();
            ctx.st.error_stats.clear();
            Ok(Frame::ok())
        }
        "rewrite" => {
            let users = super::acl::config_lines(ctx.st);
            ctx.st
                .config
                .rewrite(&users)
                .map_err(|e| Frame::err(format!("ERR Rewriting config file: {e}")))?;
            tracing::info!("CONFIG REWRITE executed with success.");
            Ok(Frame::ok())
        }
        "help" => Ok(help_reply(CONFIG_HELP)),
        _ => Err(unknown_sub("config", &a[1])),
    }
}

fn acl_categories(c: &Cmd) -> Vec<Frame> {
    categories_of(c.name)
}

/// COMMAND INFO's categories of a command or subcommand: those of the ACL
/// table (Redis 7.0.15's own lists), in `ACLCommandCategories` order.
fn categories_of(fullname: &str) -> Vec<Frame> {
    let t = super::acl::table();
    let bits = t.lookup(fullname).map_or(0, |id| t.get(id).categories);
    picket_common::acl::CATEGORIES
        .iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .map(|(_, c)| Frame::Simple(format!("@{c}")))
        .collect()
}

/// The categories guessed from a command's flags and group, for a command
/// Redis 7.0.15 does not have (the ACL table uses Redis's own lists).
pub fn acl_category_names(c: &Cmd) -> Vec<&'static str> {
    let mut v = Vec::new();
    if c.flags & WRITE != 0 {
        v.push("@write");
    }
    if c.flags & READONLY != 0 {
        v.push("@read");
    }
    match c.group {
        "string" => v.push("@string"),
        "list" => v.push("@list"),
        "hash" => v.push("@hash"),
        "set" => v.push("@set"),
        "sorted-set" | "sorted_set" | "zset" => v.push("@sortedset"),
        "generic" => v.push("@keyspace"),
        "pubsub" => v.push("@pubsub"),
        "transactions" => v.push("@transaction"),
        "connection" => v.push("@connection"),
        _ => {}
    }
    if c.flags & ADMIN != 0 {
        v.push("@admin");
        v.push("@dangerous");
    }
    if c.flags & BLOCKING != 0 {
        v.push("@blocking");
    }
    v.push(if c.flags & FAST != 0 {
        "@fast"
    } else {
        "@slow"
    });
    v
}

fn flag_frames(flags: u32) -> Vec<Frame> {
    // Redis keeps may_replicate and sentinel internal: COMMAND INFO never shows them
    crate::cmd::flags::NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0 && *b != MAY_REPLICATE && *b != SENTINEL)
        .map(|(_, n)| Frame::Simple((*n).into()))
        .collect()
}

/// One key spec as COMMAND INFO prints it (`addReplyCommandKeySpecs`).
fn key_spec_frame(k: &super::acl::KeySpec) -> Frame {
    use super::acl::{Begin, Find};
    let kv = |key: &str, v: Frame| (Frame::bulk(key), v);
    let int = |n: i32| Frame::Integer(n as i64);
    let mut m = Vec::new();
    if let Some(n) = k.notes {
        m.push(kv("notes", Frame::bulk(n)));
    }
    m.push(kv(
        "flags",
        Frame::Set(
            k.flags
                .iter()
                .map(|f| Frame::Simple(f.to_string()))
                .collect(),
        ),
    ));
    let (bt, bs) = match k.begin {
        Begin::Index(i) => ("index", vec![kv("index", int(i))]),
        Begin::Keyword(w, from) => (
            "keyword",
            vec![kv("keyword", Frame::bulk(w)), kv("startfrom", int(from))],
        ),
        Begin::Unknown => ("unknown", vec![]),
    };
    m.push(kv(
        "begin_search",
        Frame::Map(vec![
            kv("type", Frame::bulk(bt)),
            kv("spec", Frame::Map(bs)),
        ]),
    ));
    let (ft, fs) = match k.find {
        Find::Range {
            lastkey,
            step,
            limit,
        } => (
            "range",
            vec![
                kv("lastkey", int(lastkey)),
                kv("keystep", int(step)),
                kv("limit", int(limit)),
            ],
        ),
        Find::Keynum {
            keynumidx,
            firstkey,
            step,
        } => (
            "keynum",
            vec![
                kv("keynumidx", int(keynumidx)),
                kv("firstkey", int(firstkey)),
                kv("keystep", int(step)),
            ],
        ),
        Find::Unknown => ("unknown", vec![]),
    };
    m.push(kv(
        "find_keys",
        Frame::Map(vec![
            kv("type", Frame::bulk(ft)),
            kv("spec", Frame::Map(fs)),
        ]),
    ));
    Frame::Map(m)
}

/// COMMAND INFO's tips and key specs of a command or subcommand: Redis
/// 7.0.15's own, or (for a command Redis does not have) no tips and the
/// key range of `c`.
fn tips_and_specs(fullname: &str, c: &Cmd) -> (Vec<Frame>, Vec<Frame>) {
    match super::acl::redis_info(fullname) {
        Some((tips, specs)) => (
            tips.iter().map(|t| Frame::bulk(*t)).collect(),
            specs.iter().map(key_spec_frame).collect(),
        ),
        None => (vec![], key_specs(c)),
    }
}

fn key_specs(c: &Cmd) -> Vec<Frame> {
    if c.first_key <= 0 {
        return vec![];
    }
    let flags = if c.flags & WRITE != 0 { "RW" } else { "RO" };
    vec![Frame::Map(vec![
        (
            Frame::bulk("flags"),
            Frame::Set(vec![Frame::Simple(flags.into())]),
        ),
        (
            Frame::bulk("begin_search"),
            Frame::Map(vec![
                (Frame::bulk("type"), Frame::bulk("index")),
                (
                    Frame::bulk("spec"),
                    Frame::Map(vec![(
                        Frame::bulk("index"),
                        Frame::Integer(c.first_key as i64),
                    )]),
                ),
            ]),
        ),
        (
            Frame::bulk("find_keys"),
            Frame::Map(vec![
                (Frame::bulk("type"), Frame::bulk("range")),
                (
                    Frame::bulk("spec"),
                    Frame::Map(vec![
                        (
                            Frame::bulk("lastkey"),
                            Frame::Integer(if c.last_key < 0 {
                                c.last_key as i64
                            } else {
                                (c.last_key - c.first_key) as i64
                            }),
                        ),
                        (Frame::bulk("keystep"), Frame::Integer(c.step as i64)),
                        (Frame::bulk("limit"), Frame::Integer(0)),
                    ]),
                ),
            ]),
        ),
    ])]
}

/// COMMAND DOCS's map for a command or subcommand (full name): Redis
/// 7.0.15's own docs ([`super::docs_data`]), or only the group for a
/// command Redis does not have.
fn docs_map(fullname: &str, group: &str, subcommands: Vec<(Frame, Frame)>) -> Frame {
    match super::docs_data::docs(fullname) {
        Some(d) => picket_common::cmddocs::doc_frame(d, subcommands),
        None => {
            let mut m = vec![(Frame::bulk("group"), Frame::bulk(group))];
            if !subcommands.is_empty() {
                m.push((Frame::bulk("subcommands"), Frame::Map(subcommands)));
            }
            Frame::Map(m)
        }
    }
}

/// COMMAND DOCS's map for a command with its subcommands'.
fn command_docs(c: &Cmd) -> Frame {
    let subs = c
        .subs
        .iter()
        .map(|(n, _, _)| {
            let full = format!("{}|{n}", c.name);
            let doc = docs_map(&full, c.group, Vec::new());
            (Frame::bulk(full), doc)
        })
        .collect();
    docs_map(c.name, c.group, subs)
}

/// COMMAND DOCS <name>: a command, or `parent|sub` (as
/// `lookupCommandBySds` finds it); unknown names are left out.
fn docs_by_name(name: &[u8]) -> Option<(Frame, Frame)> {
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    match name.split_once('|') {
        None => {
            let c = super::lookup(name.as_bytes())?;
            Some((Frame::bulk(c.name), command_docs(c)))
        }
        Some((parent, sub)) => {
            let c = super::lookup(parent.as_bytes())?;
            let (n, _, _) = c.subs.iter().find(|(n, _, _)| *n == sub)?;
            let full = format!("{}|{n}", c.name);
            let doc = docs_map(&full, c.group, Vec::new());
            Some((Frame::bulk(full), doc))
        }
    }
}

/// COMMAND INFO's entry for a subcommand (`parent|sub`).
/// (A container's key positions, OBJECT's, belong to its subcommands in
/// Redis's table: they are shown there and the container shows none.)
fn sub_info(c: &Cmd, n: &str, arity: i32, flags: u32) -> Frame {
    let full = format!("{}|{}", c.name, n);
    let cats = categories_of(&full);
    let (tips, specs) = tips_and_specs(&full, c);
    // positions only for a subcommand with keys (OBJECT HELP has none):
    // Redis derives them from the key specs
    let pos = |v: i32| Frame::Integer(if specs.is_empty() { 0 } else { v as i64 });
    Frame::Array(vec![
        Frame::bulk(full),
        Frame::Integer(arity as i64),
        Frame::Set(flag_frames(flags)),
        pos(c.first_key),
        pos(c.last_key),
        pos(c.step),
        Frame::Set(cats),
        Frame::Set(tips),
        Frame::Set(specs),
        Frame::Set(vec![]),
    ])
}

/// COMMAND INFO's entry for `name` or `parent|sub`, as `lookupCommandBySds`
/// finds it.
fn info_by_name(name: &[u8]) -> Option<Frame> {
    let name = String::from_utf8_lossy(name);
    match name.split_once('|') {
        None => super::lookup(name.as_bytes()).map(command_info),
        Some((parent, sub)) => {
            let c = super::lookup(parent.as_bytes())?;
            c.subs
                .iter()
                .find(|(n, _, _)| n.eq_ignore_ascii_case(sub))
                .map(|(n, ar, fl)| sub_info(c, n, *ar, *fl))
        }
    }
}

fn command_info(c: &Cmd) -> Frame {
    let subs: Vec<Frame> = c
        .subs
        .iter()
        .map(|(n, ar, fl)| sub_info(c, n, *ar, *fl))
        .collect();
    let mut fl = c.flags;
    if c.getkeys.is_some() {
        fl |= MOVABLEKEYS;
    }
    let container = !c.subs.is_empty();
    let pos = |v: i32| Frame::Integer(if container { 0 } else { v as i64 });
    let (tips, specs) = tips_and_specs(c.name, c);
    Frame::Array(vec![
        Frame::bulk(c.name),
        Frame::Integer(c.arity as i64),
        Frame::Set(flag_frames(fl)),
        pos(c.first_key),
        pos(c.last_key),
        pos(c.step),
        Frame::Set(acl_categories(c)),
        Frame::Set(tips),
        // key specs: a set; subcommands: an array, or an empty set for a
        // command without any (addReplyCommandKeySpecs, ...SubCommands)
        Frame::Set(specs),
        if subs.is_empty() {
            Frame::Set(subs)
        } else {
            Frame::Array(subs)
        },
    ])
}

fn sorted_commands() -> Vec<&'static Cmd> {
    let mut v: Vec<&'static Cmd> = table().values().copied().collect();
    v.sort_by_key(|c| c.name);
    v
}

/// Key positions of a command line, by first/last/step or the command's own function.
pub fn get_keys(c: &Cmd, args: &[Bytes]) -> Vec<usize> {
    if let Some(f) = c.getkeys {
        return f(args);
    }
    if c.first_key <= 0 {
        return vec![];
    }
    let last = if c.last_key < 0 {
        args.len() as i32 + c.last_key
    } else {
        c.last_key
    };
    let mut v = Vec::new();
    let mut i = c.first_key;
    while i <= last && (i as usize) < args.len() {
        v.push(i as usize);
        i += c.step.max(1);
    }
    v
}

fn command(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let _ = &ctx;
    if a.len() == 1 {
        return Ok(Frame::Array(
            sorted_commands().into_iter().map(command_info).collect(),
        ));
    }
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "count" => Ok(Frame::Integer(table().len() as i64)),
        "info" => {
            if a.len() == 2 {
                return Ok(Frame::Array(
                    sorted_commands().into_iter().map(command_info).collect(),
                ));
            }
            Ok(Frame::Array(
                a[2..]
                    .iter()
                    .map(|n| info_by_name(n).unwrap_or(Frame::NullArray))
                    .collect(),
            ))
        }
        "docs" => {
            if a.len() == 2 {
                return Ok(Frame::Map(
                    sorted_commands()
                        .into_iter()
                        .map(|c| (Frame::bulk(c.name), command_docs(c)))
                        .collect(),
                ));
            }
            Ok(Frame::Map(
                a[2..].iter().filter_map(|n| docs_by_name(n)).collect(),
            ))
        }
        "getkeys" | "getkeysandflags" => {
            // getKeysSubcommandImpl: the command (or subcommand), whether
            // it has keys at all, its arity, then its keys
            let rest = &a[2..];
            let Some(c) = super::lookup(&a[2]) else {
                return Err(Frame::err("ERR Invalid command specified"));
            };
            let id = super::acl::cmd_id(c, rest);
            // an unknown subcommand is an unknown command to lookupCommand
            if !c.subs.is_empty() && rest.len() >= 2 && id.is_none() {
                return Err(Frame::err("ERR Invalid command specified"));
            }
            let has_keys = c.first_key > 0
                || c.getkeys.is_some()
                || id.and_then(|id| {
                    super::acl::redis_info(super::acl::fullname(id))
                        .map(|(_, specs)| !specs.is_empty())
                }) == Some(true);
            if !has_keys {
                return Err(Frame::err("ERR The command has no key arguments"));
            }
            let arity = match (id, c.subs.is_empty()) {
                (Some(id), false) => {
                    let full = super::acl::fullname(id);
                    let sub = full.split_once('|').map_or("", |x| x.1);
                    c.subs
                        .iter()
                        .find(|(n, _, _)| *n == sub)
                        .map_or(c.arity, |x| x.1)
                }
                _ => c.arity,
            };
            if (arity > 0 && rest.len() as i32 != arity) || (rest.len() as i32) < -arity {
                return Err(Frame::err(
                    "ERR Invalid number of arguments specified for command",
                ));
            }
            let with_flags = is(&a[1], "getkeysandflags");
            let keys: Vec<(usize, Vec<&str>)> = match (with_flags, id) {
                (true, Some(id)) => super::acl::keys_with_flags(id, c, rest),
                _ => get_keys(c, rest).into_iter().map(|p| (p, vec![])).collect(),
            };
            let keys: Vec<(usize, Vec<&str>)> =
                keys.into_iter().filter(|(p, _)| *p < rest.len()).collect();
            if keys.is_empty() {
                return Err(Frame::err("ERR Invalid arguments specified for command"));
            }
            Ok(Frame::Array(
                keys.into_iter()
                    .map(|(p, flags)| {
                        let key = Frame::Bulk(rest[p].clone());
                        match with_flags {
                            false => key,
                            true => Frame::Array(vec![
                                key,
                                Frame::Set(
                                    flags
                                        .into_iter()
                                        .filter(|f| *f != "variable_flags")
                                        .map(|f| Frame::Simple(f.to_string()))
                                        .collect(),
                                ),
                            ]),
                        }
                    })
                    .collect(),
            ))
        }
        "list" => {
            let mut names: Vec<&str> = table().keys().copied().collect();
            names.sort();
            if a.len() == 5 && is(&a[2], "filterby") {
                let v = a[4].clone();
                if is(&a[3], "pattern") {
                    names.retain(|n| glob_match(&v, n.as_bytes(), true));
                } else if is(&a[3], "aclcat") {
                    let cat = format!("@{}", String::from_utf8_lossy(&v).to_ascii_lowercase());
                    names.retain(|n| {
                        table()
                            .get(n)
                            .map(|c| {
                                acl_categories(c)
                                    .iter()
                                    .any(|f| matches!(f, Frame::Simple(s) if *s == cat))
                            })
                            .unwrap_or(false)
                    });
                } else if is(&a[3], "module") {
                    names.clear();
                } else {
                    return Err(syntax_err());
                }
            } else if a.len() != 2 {
                return Err(syntax_err());
            }
            Ok(Frame::Array(names.into_iter().map(Frame::bulk).collect()))
        }
        "help" => Ok(help_reply(picket_common::help::COMMAND_HELP)),
        _ => Err(unknown_sub("command", &a[1])),
    }
}

fn time(_ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let us = crate::state::now_us();
    Ok(Frame::Array(vec![
        Frame::bulk((us / 1_000_000).to_string()),
        Frame::bulk((us % 1_000_000).to_string()),
    ]))
}

fn save(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.st.bgsave.is_some() {
        return Err(Frame::err("ERR Background save already in progress"));
    }
    crate::persistence::save(ctx.shared, ctx.st)
        .map(|_| Frame::ok())
        .map_err(|_| Frame::err("ERR"))
}

fn bgsave(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match a.len() {
        1 => {}
        2 if is(&a[1], "schedule") => {}
        _ => return Err(syntax_err()),
    }
    if ctx.st.bgsave.is_some() {
        return Err(Frame::err("ERR Background save already in progress"));
    }
    let rewriting = ctx.st.aofrw.rewrite.is_some();
    if rewriting || ctx.in_exec {
        if a.len() == 2 || ctx.in_exec {
            ctx.st.bgsave_scheduled = true;
            return Ok(Frame::Simple("Background saving scheduled".into()));
        }
        return Err(Frame::err("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."));
    }
    crate::persistence::bgsave_start(ctx.shared, ctx.st)
        .map_err(|e| Frame::err(format!("ERR {e}")))?;
    Ok(Frame::Simple("Background saving started".into()))
}

fn bgrewriteaof(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.st.aofrw.rewrite.is_some() {
        return Err(Frame::err(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if ctx.st.bgsave.is_some() || ctx.in_exec {
        ctx.st.aofrw.scheduled = true;
        ctx.st.aofrw.consecutive_failures = 0;
        return Ok(Frame::Simple(
            "Background append only file rewriting scheduled".into(),
        ));
    }
    match crate::persistence::aof::rewrite_start(ctx.shared, ctx.st) {
        Ok(()) => Ok(Frame::Simple(
            "Background append only file rewriting started".into(),
        )),
        Err(e) => {
            tracing::warn!("{e}");
            Err(Frame::err("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."))
        }
    }
}

fn lastsave(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    Ok(Frame::Integer(ctx.st.lastsave))
}

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about the <key> and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
];

fn debug_allowed(ctx: &Ctx) -> bool {
    match ctx.st.config.enable_debug_command.as_str() {
        "yes" => true,
        "local" => ctx.client.addr.starts_with("127.") || ctx.client.addr.starts_with("[::1]"),
        _ => false,
    }
}

fn debug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if !debug_allowed(ctx) {
        return Err(Frame::err("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server."));
    }
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => Ok(help_reply(DEBUG_HELP)),
        "sleep" if a.len() == 3 => {
            let secs = picket_common::num::parse_f64(&a[2])
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(super::not_float)?;
            // Redis sleeps holding the whole server; so do we: the state
            // lock stays held for the whole sleep.
            std::thread::sleep(Duration::from_micros((secs * 1e6) as u64));
            Ok(Frame::ok())
        }
        "error" if a.len() == 3 => Err(Frame::err(String::from_utf8_lossy(&a[2]).into_owned())),
        "log" if a.len() == 3 => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&a[2]));
            Ok(Frame::ok())
        }
        "set-active-expire" if a.len() == 3 => {
            ctx.st.active_expire_enabled = arg_i64(&a[2])? != 0;
            Ok(Frame::ok())
        }
        "object" if a.len() == 3 => {
            let now = ctx.now;
            let (db, lru_now) = (ctx.client.db, ctx.lru);
            let st = &mut *ctx.st;
            let Some(e) = st.dbs[db].peek(&a[2], now) else {
                return Err(Frame::err("ERR no such key"));
            };
            let e: &Entry = e;
            let enc = super::keys::encoding_of(&st.config, e);
            let idle = lru_now.saturating_sub(e.lru);
            let ser = match &e.value {
                Value::Str(s) => s.len(),
                Value::List(l) => l.iter().map(|x| x.len() + 1).sum(),
                Value::Hash(h) => h.iter().map(|(k, v)| k.len() + v.len() + 2).sum(),
                Value::Set(s) => s.iter().map(|x| x.len() + 1).sum(),
                Value::ZSet(z) => z.dict.keys().map(|x| x.len() + 9).sum(),
            };
            let mut s = format!("Value at:0x{:x} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}", e as *const Entry as usize, enc, ser, e.lru, idle);
            if let Value::List(l) = &e.value {
                s.push_str(&format!(" ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{}", l.len().div_ceil(128).max(1), l.len() as f64 / l.len().div_ceil(128).max(1) as f64, st.config.list_max_listpack_size, ser));
            }
            Ok(Frame::Simple(s))
        }
        "populate" if a.len() >= 3 && a.len() <= 5 => {
            let count = arg_i64(&a[2])?;
            if count < 0 {
                return Err(Frame::err("ERR count should be greater than or equal to 0"));
            }
            let prefix = a
                .get(3)
                .map(|p| p.to_vec())
                .unwrap_or_else(|| b"key".to_vec());
            let size = match a.get(4) {
                Some(s) => Some(arg_i64(s)?.max(0) as usize),
                None => None,
            };
            let lru = ctx.lru;
            let now = ctx.now;
            let db = ctx.db();
            for i in 0..count {
                let mut k = prefix.clone();
                k.push(b':');
                k.extend_from_slice(i.to_string().as_bytes());
                if db.exists(&k, now) {
                    continue;
                }
                let mut v = format!("value:{i}").into_bytes();
                if let Some(sz) = size {
                    v.resize(sz, 0);
                }
                db.set(Bytes::from(k), Value::Str(v), false, lru, now);
            }
            Ok(Frame::ok())
        }
        "reload" => {
            // DEBUG RELOAD [NOSAVE]: save (unless NOSAVE), empty, load back
            let nosave = a[2..].iter().any(|o| is(o, "nosave"));
            if !nosave {
                crate::persistence::save(ctx.shared, ctx.st)
                    .map_err(|e| Frame::err(format!("ERR Error trying to save the DB: {e}")))?;
            }
            super::keys::flush_all(ctx);
            match crate::persistence::load(ctx.st) {
                Ok(_) => {
                    tracing::info!("DB reloaded by DEBUG RELOAD");
                    Ok(Frame::ok())
                }
                Err(e) => Err(Frame::err(format!(
                    "ERR Error trying to load the RDB dump: {e}"
                ))),
            }
        }
        "digest" if a.len() == 2 => {
            let d = crate::digest::dataset_digest(&ctx.st.dbs);
            Ok(Frame::Simple(crate::digest::hex(&d)))
        }
        "digest-value" => {
            // Like Redis, no lookup: logically expired keys still count.
            let db = &ctx.st.dbs[ctx.client.db];
            let ds = a[2..].iter().map(|k| {
                let d = crate::digest::value_digest(db.dict.get(&k[..]));
                Frame::Simple(crate::digest::hex(&d))
            });
            Ok(Frame::Array(ds.collect()))
        }
        "change-repl-id" | "jmap" => Err(Frame::err(format!(
            "ERR DEBUG {} is not available yet in this server",
            sub.to_ascii_uppercase()
        ))),
        _ => Err(super::sub_syntax_err("debug", &a[1])),
    }
}

fn monitor(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.in_exec {
        return Err(Frame::err("ERR MONITOR isn't allowed inside MULTI"));
    }
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.st
            .monitors
            .insert(ctx.client.id, ctx.client.push_tx.clone());
    }
    Ok(Frame::ok())
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn slowlog(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "len" => Ok(Frame::Integer(ctx.st.slowlog.len() as i64)),
        "reset" => {
            ctx.st.slowlog.clear();
            Ok(Frame::ok())
        }
        "get" => {
            let n = match a.get(2) {
                Some(c) => {
                    let v = picket_common::num::parse_i64(c)
                        .filter(|v| *v >= -1)
                        .ok_or_else(|| {
                            Frame::err("ERR count should be greater than or equal to -1")
                        })?;
                    if v == -1 {
                        usize::MAX
                    } else {
                        v as usize
                    }
                }
                None => 10,
            };
            Ok(Frame::Array(
                ctx.st
                    .slowlog
                    .iter()
                    .take(n)
                    .map(|e| {
                        Frame::Array(vec![
                            Frame::Integer(e.id as i64),
                            Frame::Integer(e.time),
                            Frame::Integer(e.duration_us as i64),
                            Frame::Array(e.args.iter().cloned().map(Frame::Bulk).collect()),
                            Frame::bulk(&e.addr),
                            Frame::Bulk(e.name.clone()),
                        ])
                    })
                    .collect(),
            ))
        }
        "help" => Ok(help_reply(SLOWLOG_HELP)),
        _ => Err(unknown_sub("slowlog", &a[1])),
    }
}

/// LATENCY HISTOGRAM [command ...]: each command's calls and cumulative
/// distribution (`fillCommandCDF`); a container names its subcommands;
/// unknown names are skipped.
fn latency_histogram(ctx: &Ctx, names: &[Bytes]) -> Frame {
    let mut wanted: Vec<String> = Vec::new();
    if names.is_empty() {
        wanted.extend(ctx.st.latency.keys().cloned());
        wanted.sort();
    }
    for n in names {
        let n = String::from_utf8_lossy(n).to_ascii_lowercase();
        match super::lookup(n.as_bytes()) {
            Some(c) if !c.subs.is_empty() => {
                wanted.extend(c.subs.iter().map(|(s, _, _)| format!("{}|{s}", c.name)))
            }
            Some(c) => wanted.push(c.name.to_string()),
            None => wanted.push(n),
        }
    }
    let mut seen = std::collections::HashSet::new();
    Frame::Map(
        wanted
            .into_iter()
            .filter(|n| seen.insert(n.clone()))
            .filter_map(|n| {
                let h = ctx.st.latency.get(&n)?;
                let cdf = h
                    .cdf()
                    .into_iter()
                    .map(|(us, count)| (Frame::Integer(us), Frame::Integer(count as i64)))
                    .collect();
                Some((
                    Frame::bulk(n),
                    Frame::Map(vec![
                        (Frame::bulk("calls"), Frame::Integer(h.total() as i64)),
                        (Frame::bulk("histogram_usec"), Frame::Map(cdf)),
                    ]),
                ))
            })
            .collect(),
    )
}

fn latency(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Latency monitoring (LATEST, HISTORY, GRAPH, DOCTOR) is off by default
    // in Redis (threshold 0) and is not recorded by Picket: those answer
    // as an empty monitor. HISTOGRAM reads the latency-tracking data.
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    match sub.as_str() {
        "latest" => Ok(Frame::Array(vec![])),
        "history" => Ok(Frame::Array(vec![])),
        "reset" => Ok(Frame::Integer(0)),
        "histogram" => Ok(latency_histogram(ctx, &a[2..])),
        "doctor" => Ok(Frame::Verbatim("txt".into(), Bytes::from_static(b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep a little more.\n"))),
        "graph" => Err(Frame::err(format!("ERR No samples available for event '{}'", String::from_utf8_lossy(&a[2])))),
        "help" => Ok(help_reply(&["LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "DOCTOR", "    Return a human readable latency analysis report.", "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.", "HISTORY <event>", "    Return time-latency samples for the <event> class.", "LATEST", "    Return the latest latency samples for all events.", "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.", "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]", "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.", "    If no commands are specified then all histograms are replied.", "HELP", "    Prints this help."])),
        _ => Err(unknown_sub("latency", &a[1])),
    }
}

fn shutdown(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut abort = false;
    let (mut nosave, mut save, mut force) = (false, false, false);
    for o in &a[1..] {
        if is(o, "nosave") {
            nosave = true;
        } else if is(o, "save") {
            save = true;
        } else if is(o, "force") {
            force = true;
        } else if is(o, "now") {
        } else if is(o, "abort") {
            abort = true;
        } else {
            return Err(syntax_err());
        }
    }
    if nosave && save {
        return Err(syntax_err());
    }
    if abort {
        return Err(Frame::err("ERR No shutdown in progress."));
    }
    tracing::warn!("User requested shutdown...");
    crate::persistence::bgsave_kill(ctx.st);
    if ctx.st.aof.is_some() {
        tracing::warn!("Calling fsync() on the AOF file.");
        crate::persistence::aof::rewrite_kill(ctx.st);
        crate::persistence::aof::flush_and_sync(ctx.st);
    }
    // Redis saves when asked to, or when save points are configured
    if save || (!nosave && !ctx.st.config.save_params.is_empty()) {
        tracing::warn!("Saving the final RDB snapshot before exiting.");
        if let Err(e) = crate::persistence::save(ctx.shared, ctx.st) {
            if !force {
                tracing::warn!("Error trying to save the DB, can't exit: {e}");
                return Err(Frame::err("ERR Errors trying to SHUTDOWN. Check logs."));
            }
        }
    }
    ctx.st.shutdown_asap = true;
    ctx.flow = Flow::Shutdown;
    ctx.no_reply = true;
    Ok(Frame::ok())
}
