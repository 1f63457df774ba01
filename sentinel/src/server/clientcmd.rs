//! CLIENT and COMMAND with every subcommand redis-sentinel 7.0.15 accepts
//! (`clientCommand` in networking.c; `commandCommand` and
//! `getKeysSubcommandImpl` in server.c), with Redis's replies and error
//! texts, and the connection state those subcommands control:
//!
//! - [`ReplyMode`]: CLIENT REPLY ON/OFF/SKIP;
//! - [`Tracking`]: CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO (a
//!   sentinel has no keys, so no invalidation is ever sent; the state is
//!   kept and reported as Redis does);
//! - [`Pause`]: CLIENT PAUSE/UNPAUSE, the one server-wide state here. The
//!   connection loop ([`Client::run`]) holds a postponed command until the
//!   pause ends, then runs it from scratch, as `processCommand` does with
//!   `BLOCKED_POSTPONE`.

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::watch;

use super::*;

fn syntax_error() -> Flow {
    err("ERR syntax error")
}

/// `addReplySubcommandSyntaxError`: what CLIENT answers when a
/// subcommand passed the table's arity but not its own argument count.
fn subcommand_syntax_error(args: &[Bytes]) -> Flow {
    let sub = lossy(&args[1]);
    err(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        &sub[..sub.floor_char_boundary(128)],
        lossy(&args[0]).to_ascii_uppercase()
    ))
}

fn not_an_integer() -> Flow {
    err("ERR value is not an integer or out of range")
}

/// CLIENT REPLY's state (`CLIENT_REPLY_OFF`, `CLIENT_REPLY_SKIP`,
/// `CLIENT_REPLY_SKIP_NEXT`). Pushes (subscribe confirmations, messages)
/// are never silenced, as Redis flags them `CLIENT_PUSHING`.
#[derive(Default)]
pub(super) struct ReplyMode {
    off: bool,
    skip: bool,
    skip_next: bool,
}

impl ReplyMode {
    /// Whether a command's reply reaches the client.
    pub(super) fn sends(&self) -> bool {
        !self.off && !self.skip
    }

    /// After every command (`resetClient`): SKIP silences exactly the
    /// command that follows CLIENT REPLY SKIP.
    fn command_done(&mut self) {
        self.skip = std::mem::take(&mut self.skip_next);
    }
}

/// CLIENT TRACKING's state for one connection (the `CLIENT_TRACKING*`
/// flags, `client_tracking_redirection`, `client_tracking_prefixes`).
#[derive(Default)]
pub(super) struct Tracking {
    on: bool,
    bcast: bool,
    optin: bool,
    optout: bool,
    noloop: bool,
    /// CLIENT CACHING's flag; it lasts until a command other than CLIENT
    /// runs.
    caching: bool,
    /// 0 when there is no redirection.
    redirect: i64,
    /// BCAST prefixes, in Redis's (radix tree) byte order.
    prefixes: BTreeSet<Vec<u8>>,
}

/// The most restrictive pause wins: WRITE < ALL.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum PauseKind {
    /// Only commands flagged `write` or `may-replicate` wait.
    Write,
    /// Every command waits (CLIENT UNPAUSE too: the pause then only ends
    /// by its timeout, as in Redis).
    All,
}

/// The server-wide client pause: its kind and when it ends, `None` when
/// there is none. Held in a [`watch`] channel so that connections holding
/// a postponed command wake when it is lifted or changed.
pub(super) type Pause = Option<(PauseKind, Instant)>;

/// The sentinel commands a WRITE pause holds back: those flagged `write`
/// (none in a sentinel) or `may-replicate` (a flag COMMAND hides, so the
/// table does not carry it; in 7.0.15's sentinel only PUBLISH has it).
const MAY_REPLICATE: &[&str] = &["publish"];

fn waits_for_write_pause(name: &str) -> bool {
    MAY_REPLICATE.contains(&name)
        || crate::cmdtable::lookup(name).is_some_and(|c| c.flags.contains(&"write"))
}

/// Clients' pause channel, its initial value.
pub(super) fn pause_channel() -> watch::Sender<Pause> {
    watch::Sender::new(None)
}

impl Clients {
    /// `pauseClients`: a new pause, or the existing one widened to the
    /// more restrictive kind and the later end.
    fn pause(&self, kind: PauseKind, end: Option<Instant>) {
        let now = Instant::now();
        self.pause.send_modify(|p| {
            *p = match (p.filter(|(_, e)| *e > now), end) {
                (Some((k, e)), end) => Some((k.max(kind), end.map_or(e, |n| n.max(e)))),
                (None, Some(e)) => Some((kind, e)),
                (None, None) => None,
            }
        });
    }

    fn unpause(&self) {
        self.pause.send_replace(None);
    }

    /// When the pause holding back the command `name` ends, or `None`
    /// when it may run now.
    pub(super) fn held_until(&self, pause: Pause, name: &str) -> Option<Instant> {
        let (kind, end) = pause?;
        let held = end > Instant::now()
            && match kind {
                PauseKind::All => true,
                PauseKind::Write => waits_for_write_pause(name),
            };
        held.then_some(end)
    }

    /// Whether `processCommand` would postpone the command `name` now.
    pub(super) fn postpones(&self, name: &str) -> bool {
        self.held_until(*self.pause.borrow(), name).is_some()
    }
}

/// Waits until the pause changes or `until` passes.
pub(super) async fn pause_changed(rx: &mut watch::Receiver<Pause>, until: Instant) {
    let sleep = tokio::time::sleep_until(until.into());
    tokio::pin!(sleep);
    tokio::select! {
        r = rx.changed() => {
            if r.is_err() {
                sleep.await;
            }
        }
        _ = &mut sleep => {}
    }
}

/// The command table's full name for a request, as CLIENT LIST's `cmd=`
/// shows it (`client|list`), or `NULL` for a name the table does not know
/// (Redis sets `lastcmd` from its lookup, before any other check).
pub(super) fn full_command_name(args: &[Bytes]) -> &'static str {
    let name = lossy(&args[0]);
    let Some(spec) = crate::cmdtable::lookup(&name).filter(|_| !name.contains('|')) else {
        return "NULL";
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return spec.name;
    }
    let sub = format!("{}|{}", spec.name, lossy(&args[1]));
    crate::cmdtable::lookup(&sub).map_or("NULL", |s| s.name)
}

/// `getClientTypeByName`.
fn client_type(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "normal" => Some("normal"),
        "slave" | "replica" => Some("replica"),
        "pubsub" => Some("pubsub"),
        "master" => Some("master"),
        _ => None,
    }
}

impl Client {
    /// Whether an ACL user of that name exists (CLIENT KILL USER).
    fn user_exists(&self, name: &str) -> bool {
        self.s.lock().config.server.acl.get(name).is_some()
    }

    /// `getClientType` for a client of this sentinel: never a master or a
    /// replica.
    fn client_type_of(&self, id: u64) -> &'static str {
        let (sub, psub) = self.s.hub.counts(id);
        if sub + psub > 0 {
            "pubsub"
        } else {
            "normal"
        }
    }

    fn update_entry(&self, f: impl FnOnce(&mut ClientEntry)) {
        let id = self.id;
        self.clients.with(|m| {
            if let Some(e) = m.get_mut(&id) {
                f(e)
            }
        });
    }

    /// What `resetClient` does after every command that ran or was
    /// rejected (not after one that was postponed): the CLIENT REPLY SKIP
    /// window moves on, and CLIENT CACHING's flag survives only CLIENT
    /// subcommands.
    pub(super) fn command_done(&mut self, args: &[Bytes]) {
        self.reply.command_done();
        if !full_command_name(args).starts_with("client|") {
            self.tracking.caching = false;
        }
    }

    /// CLIENT <subcommand>; names and arities were checked against the
    /// command table by `check_arity`.
    pub(super) fn client(&mut self, args: &[Bytes]) -> Flow {
        let sub = lossy(&args[1]).to_ascii_lowercase();
        let n = args.len();
        match sub.as_str() {
            "help" => Flow::Reply(Frame::Array(
                picket_common::help::CLIENT_HELP
                    .iter()
                    .map(|l| Frame::Simple(l.to_string()))
                    .collect(),
            )),
            "id" => Flow::Reply(Frame::Integer(self.id as i64)),
            "info" => {
                let (sub, psub) = self.s.hub.counts(self.id);
                let line = self
                    .clients
                    .with(|m| m.get(&self.id).map(|e| e.info_line(self.id, sub, psub)));
                let text = line.map_or(String::new(), |l| l + "\n");
                Flow::Reply(Frame::Verbatim("txt".into(), Bytes::from(text)))
            }
            "list" => self.client_list(args),
            "reply" => self.client_reply(&args[2]),
            "no-evict" => match lossy(&args[2]).to_ascii_lowercase().as_str() {
                v @ ("on" | "off") => {
                    self.update_entry(|e| e.no_evict = v == "on");
                    Flow::Reply(Frame::ok())
                }
                _ => syntax_error(),
            },
            "kill" => self.client_kill(&args[2..]),
            "unblock" if n <= 4 => self.client_unblock(args),
            "setname" => match self.set_name(&lossy(&args[2])) {
                Ok(()) => Flow::Reply(Frame::ok()),
                Err(f) => f,
            },
            "getname" => {
                if self.name.is_empty() {
                    Flow::Reply(Frame::Null)
                } else {
                    Flow::Reply(Frame::bulk(&self.name))
                }
            }
            "unpause" => {
                self.clients.unpause();
                Flow::Reply(Frame::ok())
            }
            "pause" if n <= 4 => self.client_pause(args),
            "tracking" => self.client_tracking(args),
            "caching" => self.client_caching(&args[2]),
            "getredir" => Flow::Reply(Frame::Integer(if self.tracking.on {
                self.tracking.redirect
            } else {
                -1
            })),
            "trackinginfo" => Flow::Reply(self.tracking_info()),
            _ => subcommand_syntax_error(args),
        }
    }

    /// CLIENT LIST [TYPE <type> | ID <id> [<id> ...]]: with ID, the lines
    /// of the clients found, in the order asked (an id asked twice is
    /// listed twice).
    fn client_list(&self, args: &[Bytes]) -> Flow {
        let word = |i: usize| lossy(&args[i]).to_ascii_lowercase();
        let line = |m: &BTreeMap<u64, ClientEntry>, id: u64| {
            m.get(&id).map(|e| {
                let (sub, psub) = self.s.hub.counts(id);
                e.info_line(id, sub, psub) + "\n"
            })
        };
        let text = if args.len() == 4 && word(2) == "type" {
            let Some(kind) = client_type(&word(3)) else {
                return err(format!("ERR Unknown client type '{}'", lossy(&args[3])));
            };
            self.clients.with(|m| {
                m.keys()
                    .filter(|id| self.client_type_of(**id) == kind)
                    .filter_map(|id| line(m, *id))
                    .collect::<String>()
            })
        } else if args.len() > 3 && word(2) == "id" {
            let mut ids = Vec::new();
            for a in &args[3..] {
                match parse_i64(a) {
                    Some(v) => ids.push(v),
                    None => return err("ERR Invalid client ID"),
                }
            }
            self.clients.with(|m| {
                ids.iter()
                    .filter_map(|id| u64::try_from(*id).ok().and_then(|id| line(m, id)))
                    .collect::<String>()
            })
        } else if args.len() != 2 {
            return syntax_error();
        } else {
            self.clients
                .with(|m| m.keys().filter_map(|id| line(m, *id)).collect::<String>())
        };
        Flow::Reply(Frame::Verbatim("txt".into(), Bytes::from(text)))
    }

    /// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP have no reply of their own.
    fn client_reply(&mut self, mode: &[u8]) -> Flow {
        match lossy(mode).to_ascii_lowercase().as_str() {
            "on" => {
                self.reply.off = false;
                self.reply.skip = false;
                Flow::Reply(Frame::ok())
            }
            "off" => {
                self.reply.off = true;
                Flow::Written
            }
            "skip" => {
                if !self.reply.off {
                    self.reply.skip_next = true;
                }
                Flow::Written
            }
            _ => syntax_error(),
        }
    }

    /// CLIENT KILL <ip:port> | CLIENT KILL <filter> <value> ..., the
    /// filters parsed in order with Redis's errors: ID, TYPE, ADDR,
    /// LADDR, USER, SKIPME (7.0 has no MAXAGE).
    pub(super) fn client_kill(&mut self, args: &[Bytes]) -> Flow {
        let old_style = args.len() == 1;
        let (mut addr, mut laddr, mut user) = (None, None, None);
        let (mut kind, mut id, mut skipme) = (None, None, !old_style);
        if old_style {
            addr = Some(lossy(&args[0]));
        } else {
            let mut i = 0;
            while i < args.len() {
                let more = i + 1 < args.len();
                let opt = lossy(&args[i]).to_ascii_lowercase();
                if !more {
                    return syntax_error();
                }
                let v = lossy(&args[i + 1]);
                match opt.as_str() {
                    "id" => match parse_i64(&args[i + 1]).filter(|v| *v >= 1) {
                        Some(v) => id = Some(v as u64),
                        None => return err("ERR client-id should be greater than 0"),
                    },
                    "type" => match client_type(&v) {
                        Some(k) => kind = Some(k),
                        None => return err(format!("ERR Unknown client type '{v}'")),
                    },
                    "addr" => addr = Some(v),
                    "laddr" => laddr = Some(v),
                    "user" => {
                        if !self.user_exists(&v) {
                            return err(format!("ERR No such user '{v}'"));
                        }
                        user = Some(v);
                    }
                    "skipme" => match v.to_ascii_lowercase().as_str() {
                        "yes" => skipme = true,
                        "no" => skipme = false,
                        _ => return syntax_error(),
                    },
                    _ => return syntax_error(),
                }
                i += 2;
            }
        }
        let victims: Vec<(u64, Arc<Notify>)> = self.clients.with(|m| {
            m.iter()
                .filter(|(cid, e)| {
                    addr.as_ref().is_none_or(|a| *a == e.addr)
                        && laddr.as_ref().is_none_or(|a| *a == e.laddr)
                        && kind.is_none_or(|k| k == self.client_type_of(**cid))
                        && id.is_none_or(|i| i == **cid)
                        && user.as_ref().is_none_or(|u| *u == e.user)
                        && !(skipme && **cid == self.id)
                })
                .map(|(cid, e)| (*cid, Arc::clone(&e.kill)))
                .collect()
        });
        for (cid, k) in &victims {
            if *cid == self.id {
                // closed once the reply is written (CLIENT_CLOSE_AFTER_REPLY)
                self.close = true;
            } else {
                k.notify_one();
            }
        }
        match (old_style, victims.len()) {
            (true, 0) => err("ERR No such client"),
            (true, _) => Flow::Reply(Frame::ok()),
            (false, n) => Flow::Reply(Frame::Integer(n as i64)),
        }
    }

    /// CLIENT UNBLOCK <id> [TIMEOUT|ERROR]. No sentinel command blocks;
    /// the only blocked clients are those CLIENT PAUSE holds (a PUBLISH
    /// during a WRITE pause). ERROR sends such a client Redis's
    /// `-UNBLOCKED` error and its command is held again, as in Redis;
    /// TIMEOUT makes redis-sentinel 7.0.15 abort (`replyToBlockedClientTimedOut`
    /// knows no postponed clients), here it unblocks nothing.
    fn client_unblock(&self, args: &[Bytes]) -> Flow {
        let mut error = false;
        if let Some(reason) = args.get(3) {
            match lossy(reason).to_ascii_lowercase().as_str() {
                "timeout" => {}
                "error" => error = true,
                _ => return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
            }
        }
        let Some(id) = parse_i64(&args[2]) else {
            return not_an_integer();
        };
        let unblocked = error
            && self.clients.with(
                |m| match u64::try_from(id).ok().and_then(|id| m.get_mut(&id)) {
                    Some(e) if e.blocked => {
                        e.unblock_error = true;
                        e.unblock.notify_one();
                        true
                    }
                    _ => false,
                },
            );
        Flow::Reply(Frame::Integer(i64::from(unblocked)))
    }

    /// Whether CLIENT UNBLOCK ... ERROR was called on this held client
    /// (and forget it).
    pub(super) fn take_unblock_error(&self) -> bool {
        self.clients.with(|m| {
            m.get_mut(&self.id)
                .is_some_and(|e| std::mem::take(&mut e.unblock_error))
        })
    }

    /// CLIENT PAUSE <timeout> [WRITE|ALL]: the mode is checked before the
    /// timeout; a timeout of 0 pauses nothing (but still widens a pause
    /// in progress to the given kind).
    fn client_pause(&self, args: &[Bytes]) -> Flow {
        let mut kind = PauseKind::All;
        if let Some(m) = args.get(3) {
            kind = match lossy(m).to_ascii_lowercase().as_str() {
                "write" => PauseKind::Write,
                "all" => PauseKind::All,
                _ => return err("ERR CLIENT PAUSE mode must be WRITE or ALL"),
            };
        }
        let Some(ms) = parse_i64(&args[2]) else {
            return err("ERR timeout is not an integer or out of range");
        };
        if ms < 0 {
            return err("ERR timeout is negative");
        }
        // Redis adds the timeout to the current unix time in ms; an end
        // that overflows is in the past, so the pause is already over
        let now_ms = crate::runtime::now_ms();
        let end = (ms > 0 && ms.checked_add(now_ms).is_some())
            .then(|| Instant::now() + Duration::from_millis(ms as u64));
        self.clients.pause(kind, end);
        Flow::Reply(Frame::ok())
    }

    /// CLIENT TRACKING ON|OFF [REDIRECT <id>] [BCAST] [PREFIX <p>]...
    /// [OPTIN] [OPTOUT] [NOLOOP]: the options are parsed (and REDIRECT's
    /// target checked) before ON/OFF, then ON's compatibility checks in
    /// Redis's order.
    fn client_tracking(&mut self, args: &[Bytes]) -> Flow {
        let (mut redirect, mut bcast, mut optin, mut optout, mut noloop) =
            (0i64, false, false, false, false);
        let mut prefixes: Vec<Vec<u8>> = Vec::new();
        let mut j = 3;
        while j < args.len() {
            let more = j + 1 < args.len();
            match lossy(&args[j]).to_ascii_lowercase().as_str() {
                "redirect" if more => {
                    j += 1;
                    if redirect != 0 {
                        return err("ERR A client can only redirect to a single other client");
                    }
                    let Some(r) = parse_i64(&args[j]) else {
                        return not_an_integer();
                    };
                    let exists =
                        u64::try_from(r).is_ok_and(|id| self.clients.with(|m| m.contains_key(&id)));
                    if !exists {
                        return err("ERR The client ID you want redirect to does not exist");
                    }
                    redirect = r;
                }
                "bcast" => bcast = true,
                "optin" => optin = true,
                "optout" => optout = true,
                "noloop" => noloop = true,
                "prefix" if more => {
                    j += 1;
                    prefixes.push(args[j].to_vec());
                }
                _ => return syntax_error(),
            }
            j += 1;
        }
        let t = &mut self.tracking;
        let mut replies = Vec::new();
        match lossy(&args[2]).to_ascii_lowercase().as_str() {
            "on" => {
                if !bcast && !prefixes.is_empty() {
                    return err("ERR PREFIX option requires BCAST mode to be enabled");
                }
                if t.on && t.bcast != bcast {
                    return err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
                }
                if bcast && (optin || optout) {
                    return err("ERR OPTIN and OPTOUT are not compatible with BCAST");
                }
                if optin && optout {
                    return err("ERR You can't specify both OPTIN mode and OPTOUT mode");
                }
                if (optin && t.optout) || (optout && t.optin) {
                    return err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
                }
                if bcast {
                    match prefix_collision(&t.prefixes, &prefixes) {
                        None => {}
                        Some((0, e)) => return err(e),
                        // checkPrefixCollisionsOrReply returns the index
                        // of the colliding prefix, which Redis takes for
                        // success past the first: the error is followed
                        // by the OK of a tracking enabled anyway
                        Some((_, e)) => replies.push(Frame::err(e)),
                    }
                }
                // enableTracking
                t.on = true;
                t.redirect = redirect;
                t.bcast = bcast;
                if bcast {
                    if prefixes.is_empty() {
                        prefixes.push(Vec::new());
                    }
                    t.prefixes.extend(prefixes);
                }
                (t.optin, t.optout, t.noloop) = (optin, optout, noloop);
            }
            "off" => {
                // disableTracking
                if t.bcast {
                    t.prefixes.clear();
                }
                if t.on {
                    *t = Tracking::default();
                }
            }
            _ => return syntax_error(),
        }
        let entry = t.on.then_some((t.bcast, t.redirect));
        self.update_entry(|e| e.tracking = entry);
        replies.push(Frame::ok());
        if replies.len() == 1 {
            Flow::Reply(Frame::ok())
        } else {
            Flow::Replies(replies)
        }
    }

    /// CLIENT CACHING YES|NO: only in tracking's OPTIN (YES) or OPTOUT
    /// (NO) mode.
    fn client_caching(&mut self, v: &[u8]) -> Flow {
        let t = &mut self.tracking;
        if !t.on {
            return err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
        }
        match lossy(v).to_ascii_lowercase().as_str() {
            "yes" if t.optin => t.caching = true,
            "yes" => {
                return err(
                    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
                )
            }
            "no" if t.optout => t.caching = true,
            "no" => {
                return err(
                    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
                )
            }
            _ => return syntax_error(),
        }
        Flow::Reply(Frame::ok())
    }

    /// CLIENT TRACKINGINFO: flags (a set), redirect, prefixes.
    fn tracking_info(&self) -> Frame {
        let t = &self.tracking;
        let mut flags = vec![if t.on { "on" } else { "off" }];
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        Frame::Map(vec![
            (
                Frame::bulk("flags"),
                Frame::Set(flags.into_iter().map(Frame::bulk).collect()),
            ),
            (
                Frame::bulk("redirect"),
                Frame::Integer(if t.on { t.redirect } else { -1 }),
            ),
            (
                Frame::bulk("prefixes"),
                Frame::Array(t.prefixes.iter().map(Frame::bulk).collect()),
            ),
        ])
    }
}

/// `checkPrefixCollisionsOrReply`: the first prefix that overlaps one the
/// client has or a later one given (two prefixes overlap when one starts
/// the other), as (its index, Redis's error).
fn prefix_collision(existing: &BTreeSet<Vec<u8>>, new: &[Vec<u8>]) -> Option<(usize, String)> {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    for (i, p) in new.iter().enumerate() {
        if let Some(e) = existing.iter().find(|e| overlap(e, p)) {
            return Some((
                0,
                format!(
                    "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                    lossy(p),
                    lossy(e)
                ),
            ));
        }
        if let Some(q) = new[i + 1..].iter().find(|q| overlap(p, q)) {
            return Some((
                i,
                format!(
                    "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                    lossy(p),
                    lossy(q)
                ),
            ));
        }
    }
    None
}

/// COMMAND [COUNT | LIST [FILTERBY ...] | INFO [name ...] | DOCS [name ...] |
/// GETKEYS | GETKEYSANDFLAGS | HELP], over the command table (reference
/// §13).
pub(super) fn command(args: &[Bytes]) -> Flow {
    use crate::cmdtable::{self, COMMANDS};
    let Some(sub) = args.get(1).map(|a| lossy(a).to_ascii_lowercase()) else {
        return Flow::Reply(Frame::Array(COMMANDS.iter().map(cmdtable::info).collect()));
    };
    // names and arities were checked against the table by check_arity
    let n = args.len();
    match sub.as_str() {
        "count" => Flow::Reply(Frame::Integer(COMMANDS.len() as i64)),
        "help" => Flow::Reply(Frame::Array(
            picket_common::help::COMMAND_HELP
                .iter()
                .map(|l| Frame::Simple(l.to_string()))
                .collect(),
        )),
        "info" if n == 2 => {
            Flow::Reply(Frame::Array(COMMANDS.iter().map(cmdtable::info).collect()))
        }
        "info" => Flow::Reply(Frame::Array(
            args[2..]
                .iter()
                .map(|a| cmdtable::lookup(&lossy(a)).map_or(Frame::Null, cmdtable::info))
                .collect(),
        )),
        "docs" => {
            let specs: Vec<&cmdtable::CommandSpec> = if n == 2 {
                COMMANDS.iter().collect()
            } else {
                args[2..]
                    .iter()
                    .filter_map(|a| cmdtable::lookup(&lossy(a)))
                    .collect()
            };
            Flow::Reply(Frame::Map(
                specs
                    .into_iter()
                    .map(|c| (Frame::bulk(c.name), cmdtable::docs(c)))
                    .collect(),
            ))
        }
        "getkeys" | "getkeysandflags" => {
            // lookupCommand over the words after GETKEYS; no sentinel
            // command has keys, so the no-key error comes before any
            // arity check of the target
            if full_command_name(&args[2..]) == "NULL" {
                err("ERR Invalid command specified")
            } else {
                err("ERR The command has no key arguments")
            }
        }
        "list" => {
            let names = cmdtable::names();
            let keep: Box<dyn Fn(&str) -> bool> = match &args[2..] {
                [] => Box::new(|_| true),
                [f, kind, v] if lossy(f).eq_ignore_ascii_case("filterby") => {
                    let v = lossy(v).to_string();
                    match lossy(kind).to_ascii_lowercase().as_str() {
                        "pattern" => Box::new(move |name| {
                            picket_common::glob::glob_match(v.as_bytes(), name.as_bytes(), true)
                        }),
                        "aclcat" => {
                            let cat = format!("@{}", v.to_ascii_lowercase());
                            Box::new(move |name| {
                                cmdtable::lookup(name)
                                    .is_some_and(|c| c.acl_categories.contains(&cat.as_str()))
                            })
                        }
                        "module" => Box::new(|_| false),
                        _ => return err("ERR syntax error"),
                    }
                }
                _ => return err("ERR syntax error"),
            };
            Flow::Reply(Frame::Array(
                names
                    .into_iter()
                    .filter(|n| keep(n))
                    .map(Frame::bulk)
                    .collect(),
            ))
        }
        _ => err(format!(
            "ERR unknown subcommand '{}'. Try COMMAND HELP.",
            lossy(&args[1])
        )),
    }
}
