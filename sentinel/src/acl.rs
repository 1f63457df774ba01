//! The sentinel's side of ACLs: the command table ACL rules name (every
//! sentinel command and subcommand of [`crate::cmdtable`]), which request
//! arguments are channels, and the reply shapes of ACL GETUSER and ACL LOG.
//! The model itself (users, rules, checks, descriptions) is
//! [`picket_common::acl`], shared with picket-server.

use std::sync::OnceLock;

use picket_common::acl::{CommandTable, LogEntry, User};
use picket_common::resp::Frame;

/// The ACL command table, built once from the sentinel command table.
pub fn table() -> &'static CommandTable {
    static T: OnceLock<CommandTable> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = CommandTable::default();
        for c in crate::cmdtable::COMMANDS {
            t.add(c.name, c.acl_categories, c.flags.contains(&"no_auth"));
            for s in c.subcommands {
                t.add(s.name, s.acl_categories, s.flags.contains(&"no_auth"));
            }
        }
        t
    })
}

/// The channels a sentinel command publishes or subscribes to, as
/// (argument index, is a pattern): PUBLISH's channel, SUBSCRIBE's and
/// PSUBSCRIBE's arguments (UNSUBSCRIBE is never checked).
pub fn channels(fullname: &str, argc: usize) -> Vec<(usize, bool)> {
    match fullname {
        "publish" => vec![(1, false)],
        "subscribe" => (1..argc).map(|i| (i, false)).collect(),
        "psubscribe" => (1..argc).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// ACL GETUSER's map: flags, passwords, the root selector's commands,
/// keys and channels, then the other selectors.
pub fn getuser(u: &User) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    let mut sel = u.selector_descriptions(table()).into_iter();
    let (commands, keys, channels) = sel.next().expect("root selector");
    let mut m = vec![
        kv(
            "flags",
            Frame::Set(u.flags().into_iter().map(Frame::bulk).collect()),
        ),
        kv(
            "passwords",
            Frame::Array(u.passwords().iter().map(Frame::bulk).collect()),
        ),
        kv("commands", Frame::bulk(commands)),
        kv("keys", Frame::Bulk(keys.into())),
        kv("channels", Frame::Bulk(channels.into())),
    ];
    let others = sel
        .map(|(c, k, ch)| {
            Frame::Map(vec![
                kv("commands", Frame::bulk(c)),
                kv("keys", Frame::Bulk(k.into())),
                kv("channels", Frame::Bulk(ch.into())),
            ])
        })
        .collect();
    m.push(kv("selectors", Frame::Array(others)));
    Frame::Map(m)
}

/// One ACL LOG entry as a seven-field map.
pub fn log_entry(e: &LogEntry, now_ms: i64) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    Frame::Map(vec![
        kv("count", Frame::Integer(e.count as i64)),
        kv("reason", Frame::bulk(e.reason.word())),
        kv("context", Frame::bulk(e.context)),
        kv("object", Frame::Bulk(e.object.clone().into())),
        kv("username", Frame::bulk(&e.username)),
        kv(
            "age-seconds",
            Frame::Double((now_ms - e.ctime_ms) as f64 / 1000.0),
        ),
        kv("client-info", Frame::bulk(&e.client_info)),
    ])
}
