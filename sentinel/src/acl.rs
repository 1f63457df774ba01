//! The sentinel's side of ACLs: the command table ACL rules name (every
//! sentinel command and subcommand of [`crate::cmdtable`]), which request
//! arguments are channels.
//! The model itself (users, rules, checks, descriptions) is
//! [`picket_common::acl`], shared with picket-server.

use std::sync::OnceLock;

use picket_common::acl::CommandTable;

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
