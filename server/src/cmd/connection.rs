//! Connection commands: PING, ECHO, SELECT, QUIT, RESET, HELLO, AUTH, CLIENT.

use bytes::Bytes;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, is, syntax_err, unknown_sub, wrong_arity, Cmd, CmdResult, Ctx, Flow};
use crate::cmd;
use crate::state::{ClientInfo, ClientKind, Pause, ReplyMode};

/// Connection rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("ping", -1, FAST | SENTINEL, 0, 0, 0, "connection", ping),
    cmd!(
        "echo",
        2,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        "connection",
        echo
    ),
    cmd!(
        "select",
        2,
        LOADING | STALE | FAST,
        0,
        0,
        0,
        "connection",
        select
    ),
    cmd!(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | NO_AUTH | LOADING | STALE | FAST,
        0,
        0,
        0,
        "connection",
        quit
    ),
    cmd!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | NO_AUTH | FAST | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        reset
    ),
    cmd!(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | NO_AUTH | FAST | SENTINEL | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        hello
    ),
    cmd!(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | NO_AUTH | FAST | SENTINEL | ALLOW_BUSY,
        0,
        0,
        0,
        "connection",
        auth
    ),
    cmd!(
        "client",
        -2,
        SENTINEL,
        0,
        0,
        0,
        "connection",
        client,
        subs = &[
            ("id", 2, NOSCRIPT | LOADING | STALE),
            ("setname", 3, NOSCRIPT | LOADING | STALE),
            ("getname", 2, NOSCRIPT | LOADING | STALE),
            ("list", -2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("info", 2, NOSCRIPT | LOADING | STALE),
            ("kill", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("setinfo", 4, NOSCRIPT | LOADING | STALE),
            ("pause", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("unpause", 2, ADMIN | NOSCRIPT | LOADING | STALE),
            ("reply", 3, NOSCRIPT | LOADING | STALE),
            ("no-evict", 3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("tracking", -3, NOSCRIPT | LOADING | STALE),
            ("trackinginfo", 2, NOSCRIPT | LOADING | STALE),
            ("getredir", 2, NOSCRIPT | LOADING | STALE),
            ("caching", 3, NOSCRIPT | LOADING | STALE),
            ("unblock", -3, ADMIN | NOSCRIPT | LOADING | STALE),
            ("help", 2, LOADING | STALE),
        ]
    ),
];

fn ping(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 2 {
        return Err(wrong_arity("ping"));
    }
    if ctx.client.resp == 2 && ctx.client.subscribed() {
        let msg = a.get(1).cloned().unwrap_or_default();
        return Ok(Frame::Array(vec![Frame::bulk("pong"), Frame::Bulk(msg)]));
    }
    Ok(match a.get(1) {
        Some(m) => Frame::Bulk(m.clone()),
        None => Frame::Simple("PONG".into()),
    })
}

fn echo(_ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    Ok(Frame::Bulk(a[1].clone()))
}

fn select(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let i = arg_i64(&a[1])?;
    if i < 0 || i as usize >= ctx.st.dbs.len() {
        return Err(Frame::err("ERR DB index is out of range"));
    }
    ctx.client.db = i as usize;
    Ok(Frame::ok())
}

fn quit(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.flow = Flow::Close;
    Ok(Frame::ok())
}

/// Drops every subscription of the client (RESET, disconnect).
pub fn unsubscribe_all(ctx: &mut Ctx) {
    let ch: Vec<Bytes> = ctx.client.channels.drain().collect();
    let pa: Vec<Bytes> = ctx.client.patterns.drain().collect();
    let sh: Vec<Bytes> = ctx.client.shard_channels.drain().collect();
    ctx.st.pubsub.remove_client(ctx.client.id, &ch, &pa, &sh);
}

fn reset(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.client.multi = None;
    ctx.client.multi_error = false;
    ctx.st.unwatch_all(ctx.client);
    unsubscribe_all(ctx);
    if ctx.client.monitor {
        ctx.client.monitor = false;
        ctx.st.monitors.shift_remove(&ctx.client.id);
    }
    ctx.client.db = 0;
    ctx.client.resp = 2;
    ctx.client.name = None;
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.no_evict = false;
    // clearClientConnectionState: back to the default user
    ctx.client.user = "default".into();
    ctx.client.authenticated = super::acl::starts_authenticated(ctx.st);
    Ok(Frame::Simple("RESET".into()))
}

/// AUTH <password> logs in as `default`, AUTH <user> <password> as any
/// user (`authCommand`).
fn auth(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 3 {
        return Err(syntax_err());
    }
    if a.len() == 2 && ctx.st.acl.default_user().nopass() {
        return Err(Frame::err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    }
    let (user, pass): (&[u8], &[u8]) = if a.len() == 3 {
        (&a[1], &a[2])
    } else {
        (b"default", &a[1])
    };
    super::acl::authenticate(ctx, &a[0], user, pass)?;
    Ok(Frame::ok())
}

fn valid_name(n: &[u8]) -> bool {
    n.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

fn hello(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut ver = ctx.client.resp as i64;
    let mut i = 1;
    if a.len() >= 2 {
        ver = picket_common::num::parse_i64(&a[1])
            .ok_or_else(|| Frame::err("ERR Protocol version is not an integer or out of range"))?;
        i = 2;
        if !(2..=3).contains(&ver) {
            return Err(Frame::err("NOPROTO unsupported protocol version"));
        }
    }
    let mut name: Option<Bytes> = None;
    let mut creds: Option<(Bytes, Bytes)> = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if is(&a[i], "auth") && more >= 2 {
            creds = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 3;
        } else if is(&a[i], "setname") && more >= 1 {
            name = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Err(Frame::err(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            )));
        }
    }
    if let Some((u, p)) = &creds {
        super::acl::authenticate(ctx, &a[0], u, p)?;
    }
    if !ctx.client.authenticated {
        return Err(Frame::err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        if !valid_name(&n) {
            return Err(Frame::err(
                "ERR Client names cannot contain spaces, newlines or special characters.",
            ));
        }
        ctx.client.name = if n.is_empty() { None } else { Some(n) };
    }
    ctx.client.resp = ver as u8;
    let role = if ctx.st.repl.is_replica() {
        "replica"
    } else {
        "master"
    };
    Ok(Frame::Map(vec![
        (Frame::bulk("server"), Frame::bulk("redis")),
        (Frame::bulk("version"), Frame::bulk("7.0.15")),
        (Frame::bulk("proto"), Frame::Integer(ver)),
        (Frame::bulk("id"), Frame::Integer(ctx.client.id as i64)),
        (Frame::bulk("mode"), Frame::bulk("standalone")),
        (Frame::bulk("role"), Frame::bulk(role)),
        (Frame::bulk("modules"), Frame::Array(vec![])),
    ]))
}

/// One CLIENT LIST / CLIENT INFO line, in Redis 7.0's field order.
pub fn client_line(c: &ClientInfo, current_cmd: Option<&str>) -> String {
    let mut flags = String::new();
    match c.kind {
        ClientKind::Replica => flags.push('S'),
        ClientKind::Master => flags.push('M'),
        _ => {}
    }
    if c.subscribed() {
        flags.push('P');
    }
    if c.multi.is_some() {
        flags.push('x');
    }
    if c.blocked {
        flags.push('b');
    }
    if c.monitor {
        flags.push('O');
    }
    if c.dirty_cas {
        flags.push('d');
    }
    if c.close_after_reply {
        flags.push('c');
    }
    if c.no_evict {
        flags.push('e');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let multi = c.multi.as_ref().map(|q| q.len() as i64).unwrap_or(-1);
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs=16384 rbp=16384 obl=0 oll=0 omem=0 tot-mem={} events=r cmd={} user={} redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        c.name.as_ref().map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        c.created.elapsed().as_secs(),
        c.last_interaction.elapsed().as_secs(),
        flags,
        c.db,
        c.channels.len(),
        c.patterns.len(),
        c.shard_channels.len(),
        multi,
        c.qbuf,
        16384usize.saturating_sub(c.qbuf),
        0,
        16384 + c.qbuf + 1024,
        current_cmd.unwrap_or(c.last_cmd),
        if c.superuser { "(superuser)" } else { &c.user },
        c.resp
    )
}

fn kind_matches(c: &ClientInfo, t: &str) -> bool {
    match t {
        "normal" => c.kind == ClientKind::Normal && !c.subscribed(),
        "master" => c.kind == ClientKind::Master,
        "replica" | "slave" => c.kind == ClientKind::Replica,
        "pubsub" => c.subscribed(),
        _ => false,
    }
}

/// Renders a HELP reply (array of status lines).
pub fn help_reply(lines: &[&str]) -> Frame {
    Frame::Array(lines.iter().map(|l| Frame::Simple((*l).into())).collect())
}

fn client(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let arity_ok = |n: usize, exact: bool| if exact { a.len() == n } else { a.len() >= n };
    let need = |n: usize, exact: bool| -> Result<(), Frame> {
        if arity_ok(n, exact) {
            Ok(())
        } else {
            Err(wrong_arity(&format!("client|{sub}")))
        }
    };
    match sub.as_str() {
        "id" => {
            need(2, true)?;
            Ok(Frame::Integer(ctx.client.id as i64))
        }
        "getname" => {
            need(2, true)?;
            Ok(match &ctx.client.name {
                Some(n) => Frame::Bulk(n.clone()),
                None => Frame::Null,
            })
        }
        "setname" => {
            need(3, true)?;
            if !valid_name(&a[2]) {
                return Err(Frame::err(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                ));
            }
            ctx.client.name = if a[2].is_empty() {
                None
            } else {
                Some(a[2].clone())
            };
            Ok(Frame::ok())
        }
        "setinfo" => {
            need(4, true)?;
            if !valid_name(&a[3]) {
                return Err(Frame::err(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    String::from_utf8_lossy(&a[2])
                )));
            }
            if is(&a[2], "lib-name") {
                ctx.client.lib_name = Some(a[3].clone());
            } else if is(&a[2], "lib-ver") {
                ctx.client.lib_ver = Some(a[3].clone());
            } else {
                return Err(Frame::err(format!(
                    "ERR Unrecognized option '{}'",
                    String::from_utf8_lossy(&a[2])
                )));
            }
            Ok(Frame::ok())
        }
        "info" => {
            need(2, true)?;
            let mut s = client_line(ctx.client, Some("client|info"));
            s.push('\n');
            Ok(Frame::Verbatim("txt".into(), Bytes::from(s)))
        }
        "list" => {
            let mut filter_type: Option<String> = None;
            let mut ids: Option<Vec<u64>> = None;
            if a.len() == 4 && is(&a[2], "type") {
                let t = String::from_utf8_lossy(&a[3]).to_ascii_lowercase();
                if !["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
                    return Err(Frame::err(format!(
                        "ERR Unknown client type '{}'",
                        String::from_utf8_lossy(&a[3])
                    )));
                }
                filter_type = Some(t);
            } else if a.len() >= 4 && is(&a[2], "id") {
                let mut v = Vec::new();
                for x in &a[3..] {
                    match picket_common::num::parse_i64(x) {
                        Some(n) if n > 0 => v.push(n as u64),
                        _ => return Err(Frame::err("ERR Invalid client ID")),
                    }
                }
                ids = Some(v);
            } else if a.len() != 2 {
                return Err(syntax_err());
            }
            let mut all: Vec<&ClientInfo> = ctx.st.clients.values().map(|c| &**c).collect();
            all.push(ctx.client);
            all.sort_by_key(|c| c.id);
            let mut s = String::new();
            for c in all {
                if let Some(t) = &filter_type {
                    if !kind_matches(c, t) {
                        continue;
                    }
                }
                if let Some(ids) = &ids {
                    if !ids.contains(&c.id) {
                        continue;
                    }
                }
                let cur = if c.id == ctx.client.id {
                    Some("client|list")
                } else {
                    None
                };
                s.push_str(&client_line(c, cur));
                s.push('\n');
            }
            Ok(Frame::Verbatim("txt".into(), Bytes::from(s)))
        }
        "kill" => client_kill(ctx, a),
        "pause" => {
            if a.len() != 3 && a.len() != 4 {
                return Err(wrong_arity("client|pause"));
            }
            let ms = picket_common::num::parse_i64(&a[2])
                .ok_or_else(|| Frame::err("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(Frame::err("ERR timeout is negative"));
            }
            let writes_only = match a.get(3) {
                None => false,
                Some(m) if is(m, "write") => true,
                Some(m) if is(m, "all") => false,
                Some(_) => return Err(Frame::err("ERR CLIENT PAUSE mode must be WRITE or ALL")),
            };
            let until = crate::state::now_ms() + ms;
            // A new pause extends, never shortens, and ALL wins over WRITE (Redis's pauseClients).
            let p = match ctx.st.pause {
                Some(old) => Pause {
                    until_ms: old.until_ms.max(until),
                    writes_only: old.writes_only && writes_only,
                },
                None => Pause {
                    until_ms: until,
                    writes_only,
                },
            };
            ctx.st.pause = Some(p);
            Ok(Frame::ok())
        }
        "unpause" => {
            need(2, true)?;
            ctx.st.pause = None;
            ctx.shared.unpaused.notify_waiters();
            Ok(Frame::ok())
        }
        "reply" => {
            need(3, true)?;
            if is(&a[2], "on") {
                ctx.client.reply_mode = ReplyMode::On;
                Ok(Frame::ok())
            } else if is(&a[2], "off") {
                ctx.client.reply_mode = ReplyMode::Off;
                ctx.no_reply = true;
                Ok(Frame::ok())
            } else if is(&a[2], "skip") {
                if ctx.client.reply_mode != ReplyMode::Off {
                    ctx.client.reply_mode = ReplyMode::Skip;
                }
                ctx.no_reply = true;
                Ok(Frame::ok())
            } else {
                Err(syntax_err())
            }
        }
        "no-evict" => {
            need(3, true)?;
            if is(&a[2], "on") {
                ctx.client.no_evict = true;
            } else if is(&a[2], "off") {
                ctx.client.no_evict = false;
            } else {
                return Err(syntax_err());
            }
            Ok(Frame::ok())
        }
        "unblock" => {
            if a.len() != 3 && a.len() != 4 {
                return Err(wrong_arity("client|unblock"));
            }
            let id = arg_i64(&a[2])? as u64;
            let error = match a.get(3) {
                None => false,
                Some(m) if is(m, "timeout") => false,
                Some(m) if is(m, "error") => true,
                Some(_) => {
                    return Err(Frame::err(
                        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                    ))
                }
            };
            match ctx.st.unblock(id) {
                Some(b) => {
                    let reply = if error {
                        Frame::err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
                    } else {
                        b.timeout_reply.clone()
                    };
                    let _ = b.tx.send(reply);
                    Ok(Frame::Integer(1))
                }
                None => Ok(Frame::Integer(0)),
            }
        }
        "tracking" => {
            need(3, false)?;
            Err(Frame::err(
                "ERR CLIENT TRACKING is not supported by this server yet",
            ))
        }
        "caching" => {
            need(3, true)?;
            Err(Frame::err("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"))
        }
        "getredir" => {
            need(2, true)?;
            Ok(Frame::Integer(-1))
        }
        "trackinginfo" => {
            need(2, true)?;
            Ok(Frame::Map(vec![
                (Frame::bulk("flags"), Frame::Set(vec![Frame::bulk("off")])),
                (Frame::bulk("redirect"), Frame::Integer(-1)),
                (Frame::bulk("prefixes"), Frame::Array(vec![])),
            ]))
        }
        "help" => {
            need(2, true)?;
            Ok(help_reply(picket_common::help::CLIENT_HELP))
        }
        _ => Err(unknown_sub("client", &a[1])),
    }
}

fn client_kill(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() == 3 {
        // old form: CLIENT KILL addr:port
        let addr = String::from_utf8_lossy(&a[2]).into_owned();
        if ctx.client.addr == addr {
            ctx.client.close_after_reply = true;
            return Ok(Frame::ok());
        }
        for c in ctx.st.clients.values_mut() {
            if c.addr == addr {
                c.killed = true;
                c.kill.notify_one();
                return Ok(Frame::ok());
            }
        }
        return Err(Frame::err("ERR No such client"));
    }
    if !a.len().is_multiple_of(2) {
        return Err(syntax_err());
    }
    let mut id: Option<u64> = None;
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut ty: Option<String> = None;
    let mut user: Option<Bytes> = None;
    let mut skipme = true;
    let mut i = 2;
    while i + 1 < a.len() {
        let v = &a[i + 1];
        if is(&a[i], "id") {
            match picket_common::num::parse_i64(v) {
                Some(n) if n > 0 => id = Some(n as u64),
                _ => return Err(Frame::err("ERR client-id should be greater than 0")),
            }
        } else if is(&a[i], "addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(&a[i], "laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if is(&a[i], "type") {
            let t = String::from_utf8_lossy(v).to_ascii_lowercase();
            if !["normal", "master", "replica", "slave", "pubsub"].contains(&t.as_str()) {
                return Err(Frame::err(format!(
                    "ERR Unknown client type '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
            ty = Some(t);
        } else if is(&a[i], "user") {
            if ctx.st.acl.get(&String::from_utf8_lossy(v)).is_none() {
                return Err(Frame::err(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
            user = Some(v.clone());
        } else if is(&a[i], "skipme") {
            if is(v, "yes") {
                skipme = true;
            } else if is(v, "no") {
                skipme = false;
            } else {
                return Err(syntax_err());
            }
        } else {
            return Err(syntax_err());
        }
        i += 2;
    }
    let matches = |c: &ClientInfo| {
        id.is_none_or(|x| c.id == x)
            && addr.as_ref().is_none_or(|x| &c.addr == x)
            && laddr.as_ref().is_none_or(|x| &c.laddr == x)
            && ty.as_ref().is_none_or(|t| kind_matches(c, t))
            && user.as_ref().is_none_or(|u| u[..] == *c.user.as_bytes())
    };
    let mut n = 0;
    for c in ctx.st.clients.values_mut() {
        if matches(c) {
            c.killed = true;
            c.kill.notify_one();
            n += 1;
        }
    }
    if !skipme && matches(ctx.client) {
        ctx.client.close_after_reply = true;
        n += 1;
    }
    // our link to the master is not in the client table: TYPE master
    // (with no other filter) drops it; it reconnects and PSYNCs
    if ty.as_deref() == Some("master") && id.is_none() && addr.is_none() && laddr.is_none() {
        if let Some(m) = ctx.st.repl.master.as_ref().filter(|m| m.running) {
            m.kill.notify_one();
            n += 1;
        }
    }
    Ok(Frame::Integer(n))
}
