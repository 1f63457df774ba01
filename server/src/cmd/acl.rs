//! The server's side of ACLs: the ACL command table built from the
//! command table (names, subcommands, `no_auth`) with Redis 7.0.15's
//! categories and key specs ([`super::acl_data`]); which arguments of a
//! request are keys (and whether the command reads or writes them) and
//! channels; the permission check `processCommand` runs before every
//! command; AUTH's login; the ACL command; the users loaded at start-up.
//! The model itself (users, rules, checks, descriptions, the ACL file, the
//! ACL LOG) is [`picket_common::acl`], shared with picket-sentinel.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

use bytes::Bytes;
use picket_common::acl::{
    self as model, CommandTable, KeyAccess, LogEntry, Reason, Request, Users,
};
use picket_common::resp::Frame;

use super::flags::*;
use super::{is, lookup, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::state::{ClientInfo, State};

/// The ACL row of the command table.
#[rustfmt::skip]
pub static COMMANDS: &[Cmd] = &[
    cmd!(
        "acl", -2, SENTINEL, 0, 0, 0, "server", acl,
        subs = &[
            ("cat", -2, NOSCRIPT | LOADING | STALE),
            ("deluser", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("dryrun", -4, ADMIN | NOSCRIPT | LOADING | STALE),
            ("genpass", -2, NOSCRIPT | LOADING | STALE),
            ("getuser", 3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("help", 2, LOADING | STALE),
            ("list", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("load", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("log", -2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("save", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("setuser", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("users", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("whoami", 2, NOSCRIPT | LOADING | STALE)
        ]
    ),
];

/// Where the keys of a key spec start (`begin_search`).
#[derive(Debug, Clone, Copy)]
pub enum Begin {
    Index(i32),
    /// The argument after `keyword`, searched from `startfrom` (from the
    /// end when negative).
    Keyword(&'static str, i32),
    Unknown,
}

/// How many keys a key spec covers (`find_keys`).
#[derive(Debug, Clone, Copy)]
pub enum Find {
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

/// One key spec of Redis 7.0.15: what the keys it finds are used for
/// (`access` → read; `insert`, `delete`, `update` → write).
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub read: bool,
    pub write: bool,
    /// `variable_flags`: the arguments decide (SET without GET only writes).
    pub variable: bool,
    /// Every flag, as COMMAND INFO prints them (`RW`, `access`, ...).
    pub flags: &'static [&'static str],
    pub notes: Option<&'static str>,
    pub begin: Begin,
    pub find: Find,
}

/// One command's Redis data (`acl_data`): (full name, categories, tips,
/// key specs).
pub type CommandData = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    &'static [KeySpec],
);

/// The ACL view of the command table: the rules' command ids, and each
/// id's key specs.
pub struct AclTable {
    pub cmds: CommandTable,
    specs: Vec<&'static [KeySpec]>,
    /// Each id's COMMAND INFO tips.
    tips: Vec<&'static [&'static str]>,
    /// Whether Redis 7.0.15 has the command (its data is Redis's).
    known: Vec<bool>,
    /// Full name → id, for the lookup before every command.
    by_name: HashMap<String, usize>,
}

/// The ACL table, built once from [`super::table`]: every command (by
/// name) then its subcommands, with Redis's categories (the heuristic of
/// COMMAND INFO for a command Redis does not have).
pub fn acl_table() -> &'static AclTable {
    static T: OnceLock<AclTable> = OnceLock::new();
    T.get_or_init(|| {
        let data: HashMap<&str, &CommandData> =
            super::acl_data::COMMANDS.iter().map(|d| (d.0, d)).collect();
        let mut names: Vec<&&Cmd> = super::table().values().collect();
        names.sort_by_key(|c| c.name);
        let mut t = AclTable {
            cmds: CommandTable::default(),
            specs: Vec::new(),
            tips: Vec::new(),
            known: Vec::new(),
            by_name: HashMap::new(),
        };
        let add = |t: &mut AclTable, full: &str, flags: u32, fallback: &Cmd| {
            let (cats, tips, specs): (Vec<&str>, &'static [&'static str], &'static [KeySpec]) =
                match data.get(full) {
                    Some((_, c, tips, s)) => (c.to_vec(), tips, s),
                    None => (super::server::acl_category_names(fallback), &[], &[]),
                };
            let id = t.cmds.add(full, &cats, flags & NO_AUTH != 0);
            t.specs.push(specs);
            t.tips.push(tips);
            t.known.push(data.contains_key(full));
            t.by_name.insert(full.to_string(), id);
        };
        for c in names {
            add(&mut t, c.name, c.flags, c);
            for (sub, _, flags) in c.subs {
                add(&mut t, &format!("{}|{}", c.name, sub), *flags, c);
            }
        }
        t
    })
}

/// Redis 7.0.15's tips and key specs of a command or subcommand (full
/// name), when Redis has it.
pub fn redis_info(fullname: &str) -> Option<(&'static [&'static str], &'static [KeySpec])> {
    let t = acl_table();
    let id = *t.by_name.get(fullname)?;
    Some((t.tips[id], t.specs[id])).filter(|_| t.known[id])
}

/// The ACL command table.
pub fn table() -> &'static CommandTable {
    &acl_table().cmds
}

/// The ACL id of a request (the subcommand when there is one), if known.
pub fn request_id(args: &[Bytes]) -> Option<usize> {
    let words: Vec<&[u8]> = args.iter().take(2).map(|a| a.as_ref()).collect();
    table().lookup_request(&words)
}

/// The ACL id of a request for a known command: the command's, or its
/// subcommand's (None for an unknown subcommand), without scanning the
/// table.
pub fn cmd_id(cmd: &Cmd, args: &[Bytes]) -> Option<usize> {
    let by_name = &acl_table().by_name;
    if cmd.subs.is_empty() || args.len() < 2 {
        return by_name.get(cmd.name).copied();
    }
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    by_name.get(&format!("{}|{sub}", cmd.name)).copied()
}

/// The full name (`get`, `client|list`) of an ACL id, for CLIENT LIST.
pub fn fullname(id: usize) -> &'static str {
    &table().get(id).fullname
}

/// The argument positions one key spec covers (`getKeysUsingKeySpecs`).
fn spec_positions(s: &KeySpec, args: &[Bytes]) -> Vec<usize> {
    let argc = args.len() as i32;
    let first = match s.begin {
        Begin::Index(i) => i,
        Begin::Keyword(kw, from) => {
            let range: Vec<i32> = if from >= 0 {
                (from..argc).collect()
            } else {
                (1..=(argc + from)).rev().collect()
            };
            match range.into_iter().find(|&i| is(&args[i as usize], kw)) {
                Some(i) => i + 1,
                None => return Vec::new(),
            }
        }
        Begin::Unknown => return Vec::new(),
    };
    if first >= argc {
        return Vec::new();
    }
    let (first, last, step) = match s.find {
        Find::Range {
            lastkey,
            step,
            limit,
        } => {
            let last = if lastkey >= 0 {
                first + lastkey
            } else if limit == 0 {
                argc + lastkey
            } else {
                first + ((argc - first) / limit + lastkey)
            };
            (first, last, step)
        }
        Find::Keynum {
            keynumidx,
            firstkey,
            step,
        } => {
            let Some(n) = args
                .get((first + keynumidx) as usize)
                .and_then(|a| picket_common::num::parse_i64(a))
            else {
                return Vec::new();
            };
            let start = first + firstkey;
            (start, start + (n as i32 - 1) * step, step)
        }
        Find::Unknown => return Vec::new(),
    };
    let mut out = Vec::new();
    let mut i = first;
    while i <= last && i < argc && step > 0 {
        out.push(i as usize);
        i += step;
    }
    out
}

/// The keys of a request with what the command does to each: positions
/// from the server's own key finder, access from the key spec that covers
/// the position (all the specs' access together for one none covers).
pub fn keys(id: usize, cmd: &Cmd, args: &[Bytes]) -> Vec<(usize, KeyAccess)> {
    let positions = super::server::get_keys(cmd, args);
    if positions.is_empty() {
        return Vec::new();
    }
    let specs = acl_table().specs[id];
    let mut by_pos: HashMap<usize, KeyAccess> = HashMap::new();
    let mut any = KeyAccess {
        read: false,
        write: false,
    };
    for s in specs {
        let mut access = KeyAccess {
            read: s.read,
            write: s.write,
        };
        // setGetKeys: SET only reads its key with GET
        if s.variable
            && cmd.name == "set"
            && !args[3.min(args.len())..].iter().any(|a| is(a, "get"))
        {
            access.read = false;
        }
        any.read |= access.read;
        any.write |= access.write;
        for p in spec_positions(s, args) {
            by_pos.entry(p).or_insert(access);
        }
    }
    if specs.is_empty() {
        any = KeyAccess {
            read: cmd.flags & super::flags::READONLY != 0,
            write: cmd.flags & super::flags::WRITE != 0,
        };
    }
    positions
        .into_iter()
        .filter(|&p| p < args.len())
        .map(|p| (p, by_pos.get(&p).copied().unwrap_or(any)))
        .collect()
}

/// COMMAND GETKEYSANDFLAGS: every key position with the flags of the key
/// spec that finds it, as COMMAND INFO names them. SET's `variable_flags`
/// are resolved as `setGetKeys` does (`RW access update` with GET, `OW
/// update` without); a position only a command's own key finder knows
/// (SORT's STORE) takes the flags of its last `unknown` spec.
pub fn keys_with_flags(id: usize, cmd: &Cmd, args: &[Bytes]) -> Vec<(usize, Vec<&'static str>)> {
    let specs = acl_table().specs[id];
    let unknown = specs
        .iter()
        .rev()
        .find(|s| matches!(s.begin, Begin::Unknown))
        .map_or(&[][..], |s| s.flags);
    let mut by_pos: HashMap<usize, &'static [&'static str]> = HashMap::new();
    for s in specs {
        for p in spec_positions(s, args) {
            by_pos.entry(p).or_insert(s.flags);
        }
    }
    let with_get = args
        .get(3..)
        .is_some_and(|r| r.iter().any(|a| is(a, "get")));
    super::server::get_keys(cmd, args)
        .into_iter()
        .filter(|&p| p < args.len())
        .map(|p| {
            let flags = by_pos.get(&p).copied().unwrap_or(unknown);
            let flags = if flags.contains(&"variable_flags") && cmd.name == "set" {
                match with_get {
                    true => vec!["RW", "access", "update"],
                    false => vec!["OW", "update"],
                }
            } else {
                flags.to_vec()
            };
            (p, flags)
        })
        .collect()
}

/// The channels a command publishes or subscribes to, as (argument
/// index, is a pattern) (`getChannelsFromCommand`; unsubscribing is
/// never checked).
pub fn channels(fullname: &str, argc: usize) -> Vec<(usize, bool)> {
    match fullname {
        "publish" | "spublish" => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..argc).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argc).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// The ACL LOG context of a client (`multi` while it queues or runs a
/// transaction).
fn context(client: &ClientInfo, in_exec: bool) -> &'static str {
    if in_exec || client.multi.is_some() {
        "multi"
    } else {
        "toplevel"
    }
}

/// `addACLLogEntry`, with the client's CLIENT LIST line (its current
/// command is `fullname`).
pub fn log_denied(
    st: &mut State,
    client: &ClientInfo,
    reason: Reason,
    context: &'static str,
    object: &[u8],
    username: &str,
    fullname: &str,
) {
    let max_len = st
        .config
        .get("acllog-max-len")
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let info = super::connection::client_line(client, Some(fullname));
    st.acl_log.add(
        LogEntry {
            count: 1,
            reason,
            context,
            object: object.to_vec(),
            username: username.to_string(),
            ctime_ms: crate::state::now_ms(),
            client_info: info,
        },
        max_len,
    );
}

/// `ACLCheckAllPerm` before a command runs (or runs inside EXEC): on
/// refusal, the ACL LOG entry is added and the reason returned.
pub fn check(
    st: &mut State,
    client: &ClientInfo,
    cmd: &Cmd,
    args: &[Bytes],
    in_exec: bool,
) -> Result<(), (model::Denied, &'static str)> {
    if client.superuser {
        return Ok(());
    }
    let user = match st.acl.get(&client.user) {
        Some(u) => u,
        None => st.acl.default_user(),
    };
    // a user with every command, key and channel: nothing to look at (the
    // common case, checked before any lookup)
    if user.unrestricted() {
        return Ok(());
    }
    let Some(id) = cmd_id(cmd, args) else {
        return Ok(());
    };
    let t = acl_table();
    let name = fullname(id);
    // keys and channels are found only for a user they can be refused to
    let keys = match user.needs_keys() {
        true => keys(id, cmd, args),
        false => Vec::new(),
    };
    let channels = match user.needs_channels() {
        true => channels(name, args.len()),
        false => Vec::new(),
    };
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_ref()).collect();
    let r = user.check(
        &t.cmds,
        id,
        &Request {
            args: &words,
            keys: &keys,
            channels: &channels,
        },
    );
    match r {
        Ok(()) => Ok(()),
        Err(d) => {
            let object = match d.reason {
                Reason::Command => name.as_bytes(),
                _ => words[d.pos],
            };
            let username = client.user.clone();
            // inside EXEC the client is still running EXEC
            let current = if in_exec { "exec" } else { name };
            log_denied(
                st,
                client,
                d.reason,
                context(client, in_exec),
                object,
                &username,
                current,
            );
            Err((d, name))
        }
    }
}

/// The NOPERM reply of a command EXEC finds forbidden after it was
/// queued (`execCommand`).
pub fn exec_noperm(d: &model::Denied) -> Frame {
    let reason = match d.reason {
        Reason::Command => "no permission to execute the command or subcommand",
        Reason::Key => "no permission to touch the specified keys",
        Reason::Channel => "no permission to access one of the channels used as arguments",
        Reason::Auth => "no permission",
    };
    Frame::err(format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"))
}

/// `ACLAuthenticateUser`: on success the client becomes `user`'s; on
/// failure the attempt goes to the ACL LOG (object: the command as sent).
pub fn authenticate(ctx: &mut Ctx, cmd: &[u8], user: &[u8], pass: &[u8]) -> Result<(), Frame> {
    if ctx.st.acl.authenticate(user, pass) {
        ctx.client.user = String::from_utf8_lossy(user).into_owned();
        ctx.client.authenticated = true;
        return Ok(());
    }
    let ctxname = context(ctx.client, ctx.in_exec);
    let name = String::from_utf8_lossy(user).into_owned();
    let full = ctx.client.last_cmd;
    log_denied(ctx.st, ctx.client, Reason::Auth, ctxname, cmd, &name, full);
    Err(Frame::err(
        "WRONGPASS invalid username-password pair or user is disabled.",
    ))
}

/// Whether a client authenticated as nobody yet would be let in: the
/// default user is on and has `nopass` (`authRequired`).
pub fn starts_authenticated(st: &State) -> bool {
    !st.acl.auth_required()
}

/// Closes the connections of the users `gone` matches (this one after
/// its reply), as `ACLFreeUserAndKillClients` does.
fn kill_clients(ctx: &mut Ctx, gone: impl Fn(&str) -> bool) {
    for c in ctx.st.clients.values_mut() {
        if gone(&c.user) {
            c.killed = true;
            c.kill.notify_one();
        }
    }
    if gone(&ctx.client.user) {
        ctx.client.close_after_reply = true;
    }
}

/// `ACLKillPubsubClientsIfNeeded`: subscribers of `name` holding a
/// channel or pattern its new rules no longer grant are disconnected.
fn kill_revoked_subscribers(ctx: &mut Ctx, name: &str) {
    let Some(user) = ctx.st.acl.get(name).cloned() else {
        return;
    };
    let lost = |c: &ClientInfo| {
        c.user == name
            && (c
                .patterns
                .iter()
                .any(|p| !user.subscription_allowed(p, true))
                || c.channels
                    .iter()
                    .chain(c.shard_channels.iter())
                    .any(|ch| !user.subscription_allowed(ch, false)))
    };
    for c in ctx.st.clients.values_mut() {
        if lost(c) {
            c.killed = true;
            c.kill.notify_one();
        }
    }
    if lost(ctx.client) {
        ctx.client.close_after_reply = true;
    }
}

/// The `aclfile` as given, if any, and where it is (relative to `dir`,
/// the working directory).
fn aclfile(st: &State) -> Option<(String, PathBuf)> {
    let f = st.config.get("aclfile").filter(|f| !f.is_empty())?;
    Some((f.to_string(), PathBuf::from(f)))
}

fn err(s: impl Into<String>) -> Frame {
    Frame::err(s.into())
}

/// ACL and its subcommands (`aclCommand`).
pub fn acl(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let t = table();
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let sub = lossy(&a[1]).to_ascii_lowercase();
    let argc = a.len();
    match sub.as_str() {
        "setuser" => {
            let rules: Vec<Vec<u8>> = a[3..].iter().map(|r| r.to_vec()).collect();
            let old = ctx
                .st
                .acl
                .setuser(t, &a[2], &rules)
                .map_err(|e| err(format!("ERR {e}")))?;
            let name = lossy(&a[2]);
            if let (Some(old), Some(new)) = (old, ctx.st.acl.get(&name)) {
                if !new.keeps_channels_of(&old) {
                    kill_revoked_subscribers(ctx, &name);
                }
            }
            Ok(Frame::ok())
        }
        "deluser" => {
            let names: Vec<&[u8]> = a[2..].iter().map(|n| n.as_ref()).collect();
            let removed = ctx
                .st
                .acl
                .deluser(&names)
                .map_err(|e| err(format!("ERR {e}")))?;
            kill_clients(ctx, |u| removed.iter().any(|r| r == u));
            Ok(Frame::Integer(removed.len() as i64))
        }
        "getuser" => Ok(match ctx.st.acl.get(&lossy(&a[2])) {
            Some(u) => model::getuser_reply(u, t),
            None => Frame::Null,
        }),
        "list" => Ok(Frame::Array(
            ctx.st.acl.lines(t).into_iter().map(Frame::bulk).collect(),
        )),
        "users" => Ok(Frame::Array(
            ctx.st.acl.iter().map(|u| Frame::bulk(&u.name)).collect(),
        )),
        "whoami" => Ok(Frame::bulk(&ctx.client.user)),
        "load" | "save" if aclfile(ctx.st).is_none() => Err(err(model::NO_ACL_FILE)),
        "load" => {
            let (name, path) = aclfile(ctx.st).unwrap_or_default();
            ctx.st
                .acl
                .load_file(t, &path, &name)
                .map_err(|e| err(format!("ERR {e}")))?;
            // every user but the default one was freed with its clients
            // (ACLFreeUsersSet), even users still defined
            kill_clients(ctx, |u| u != "default");
            Ok(Frame::ok())
        }
        "save" => {
            let (_, path) = aclfile(ctx.st).unwrap_or_default();
            match ctx.st.acl.save_file(t, &path) {
                Ok(()) => Ok(Frame::ok()),
                Err(e) => {
                    tracing::warn!(
                        "Renaming ACL file for ACL SAVE: {}",
                        picket_common::net::strerror(&e)
                    );
                    Err(err("ERR There was an error trying to save the ACLs. Please check the server logs for more information"))
                }
            }
        }
        "cat" if argc == 2 => Ok(Frame::Array(
            model::CATEGORIES.iter().map(|c| Frame::bulk(*c)).collect(),
        )),
        "cat" if argc == 3 => {
            let c = lossy(&a[2]);
            match model::category_bit(&c) {
                Some(bit) => Ok(Frame::Array(
                    t.in_category(bit).into_iter().map(Frame::bulk).collect(),
                )),
                None => Err(err(format!(
                    "ERR Unknown category '{}'",
                    &c[..c.floor_char_boundary(128)]
                ))),
            }
        }
        "genpass" if argc <= 3 => Ok(model::genpass_reply(a.get(2).map(|b| b.as_ref()))),
        "log" if argc <= 3 => {
            let mut count = 10i64;
            if let Some(x) = a.get(2) {
                if is(x, "reset") {
                    ctx.st.acl_log.reset();
                    return Ok(Frame::ok());
                }
                count = super::arg_i64(x)?.max(0);
            }
            let now = crate::state::now_ms();
            Ok(Frame::Array(
                ctx.st
                    .acl_log
                    .newest(count as usize)
                    .map(|e| model::log_reply(e, now))
                    .collect(),
            ))
        }
        "dryrun" => {
            let Some(u) = ctx.st.acl.get(&lossy(&a[2])) else {
                return Err(err(format!("ERR User '{}' not found", lossy(&a[2]))));
            };
            let rest = &a[3..];
            let (Some(id), Some(cmd)) = (request_id(rest), lookup(&a[3])) else {
                return Err(err(format!("ERR Command '{}' not found", lossy(&a[3]))));
            };
            let name = fullname(id);
            let arity = match name.split_once('|') {
                Some((_, s)) => cmd
                    .subs
                    .iter()
                    .find(|(n, _, _)| *n == s)
                    .map_or(cmd.arity, |x| x.1),
                None => cmd.arity,
            };
            let n = rest.len() as i32;
            if (arity > 0 && arity != n) || n < -arity {
                return Err(super::wrong_arity(name));
            }
            let keys = keys(id, cmd, rest);
            let channels = channels(name, rest.len());
            let words: Vec<&[u8]> = rest.iter().map(|w| w.as_ref()).collect();
            let req = Request {
                args: &words,
                keys: &keys,
                channels: &channels,
            };
            Ok(match u.check(t, id, &req) {
                Ok(()) => Frame::ok(),
                Err(d) => Frame::bulk(d.dryrun(name, &words)),
            })
        }
        "help" => Ok(model::help_reply()),
        // a known subcommand with an argument count its own parsing
        // refuses, or an unknown one
        _ if COMMANDS[0].subs.iter().any(|(n, _, _)| *n == sub) => {
            Err(super::sub_syntax_err("acl", &a[1]))
        }
        _ => Err(super::unknown_sub("acl", &a[1])),
    }
}

/// `ACLLoadUsersAtStartup`: `requirepass`, then the config's `user`
/// lines or the `aclfile`. On error, the lines Redis logs before it exits.
pub fn load_users(config: &crate::config::Config) -> Result<Users, Vec<String>> {
    let t = table();
    let mut users = Users::new();
    users.pubsub_all = config.get("acl-pubsub-default") == Some("allchannels");
    users.set_default_password(t, config.requirepass.as_deref());
    let aclfile = config.get("aclfile").filter(|f| !f.is_empty());
    if aclfile.is_some() && !config.users.is_empty() {
        return Err(vec!["Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.".into()]);
    }
    if let Err(e) = users.load_config(t, &config.users) {
        return Err(vec![
            e,
            "Critical error while loading ACLs. Exiting.".into(),
        ]);
    }
    if let Some(f) = aclfile {
        if let Err(e) = users.load_file(t, std::path::Path::new(f), f) {
            return Err(vec![format!(
                "Aborting Redis startup because of ACL errors: {e}"
            )]);
        }
    }
    Ok(users)
}

/// The `user` lines CONFIG REWRITE writes (`rewriteConfigUserOption`):
/// every user by name; none when an `aclfile` holds the users.
pub fn config_lines(st: &State) -> Vec<String> {
    if aclfile(st).is_some() {
        return Vec::new();
    }
    st.acl
        .lines(table())
        .into_iter()
        .map(|l| String::from_utf8_lossy(&l).into_owned())
        .collect()
}

/// Checks a `user` line of the config at load time (`argv` is the whole
/// line): the "Error in user declaration" message on error.
pub fn check_config_user(argv: &[Vec<u8>], seen: &[Vec<Vec<u8>>]) -> Result<(), String> {
    let seen: Vec<Vec<u8>> = seen.iter().map(|u| u[0].clone()).collect();
    Users::new()
        .check_config_user(table(), &argv[1..], &seen)
        .map_err(|(i, e)| {
            format!(
                "Error in user declaration '{}': {}",
                argv.get(i)
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .unwrap_or_default(),
                e.message()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<Bytes> {
        line.split(' ')
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    /// (position, read, write) of a key.
    type Access = (usize, bool, bool);

    /// The [`Access`] of every key of a request.
    fn access(line: &str) -> Vec<Access> {
        let a = args(line);
        let cmd = lookup(&a[0]).expect("known command");
        let id = cmd_id(cmd, &a).expect("in the ACL table");
        keys(id, cmd, &a)
            .into_iter()
            .map(|(p, k)| (p, k.read, k.write))
            .collect()
    }

    #[test]
    fn key_access_follows_redis_key_specs() {
        let cases: &[(&str, &[Access])] = &[
            ("get k", &[(1, true, false)]),
            ("set k v", &[(1, false, true)]),
            ("set k v get", &[(1, true, true)]),
            ("del a b", &[(1, false, true), (2, false, true)]),
            ("exists a", &[(1, false, false)]),
            ("lmove s d left right", &[(1, true, true), (2, false, true)]),
            ("copy s d", &[(1, true, false), (2, false, true)]),
            ("mset a 1 b 2", &[(1, false, true), (3, false, true)]),
            (
                "zunionstore d 2 a b",
                &[(1, false, true), (3, true, false), (4, true, false)],
            ),
            ("ping", &[]),
        ];
        for (line, want) in cases {
            assert_eq!(access(line), *want, "{line}");
        }
    }

    #[test]
    fn superuser_clients_are_never_refused() {
        let shared = crate::state::Shared::new(crate::config::Config::default());
        let mut st = shared.lock();
        st.acl
            .setuser(table(), b"default", &[b"-set".to_vec()])
            .expect("valid rule");
        let a = args("set k v");
        let cmd = lookup(b"set").expect("set");
        // the master link's and the AOF loader's client
        let mut c = crate::conn::detached_client(7);
        assert!(check(&mut st, &c, cmd, &a, false).is_ok());
        c.superuser = false;
        assert!(check(&mut st, &c, cmd, &a, false).is_err());
    }
}
