//! COMMAND DOCS data and reply shapes shared by picket-server and
//! picket-sentinel: the argument trees and history both binaries carry as
//! generated tables (from Redis 7.0.15's own COMMAND DOCS), and the map
//! `addReplyCommandDocs` prints for one command.

use crate::resp::Frame;

/// One argument of a command (`COMMAND DOCS` ... `arguments`).
pub struct Arg {
    pub name: &'static str,
    /// string, integer, double, key, pattern, unix-time, pure-token, oneof, block
    pub kind: &'static str,
    /// The key spec a `key` argument belongs to.
    pub key_spec_index: Option<i64>,
    pub token: Option<&'static str>,
    pub since: Option<&'static str>,
    pub deprecated_since: Option<&'static str>,
    /// optional, multiple, multiple_token
    pub flags: &'static [&'static str],
    /// Sub-arguments of a oneof or block.
    pub args: &'static [Arg],
}

/// The documentation of one command or subcommand.
pub struct Doc<'a> {
    pub summary: &'a str,
    pub since: &'a str,
    pub group: &'a str,
    pub complexity: Option<&'a str>,
    /// `deprecated`, `syscmd`
    pub doc_flags: &'a [&'a str],
    /// (deprecated_since, replaced_by)
    pub deprecated: Option<(&'a str, &'a str)>,
    /// (version, what changed)
    pub history: &'a [(&'static str, &'static str)],
    pub args: &'a [Arg],
}

/// COMMAND DOCS's map for one command (`addReplyCommandDocs`): summary,
/// since, group, complexity, deprecation, history, arguments, then the
/// subcommands' maps.
pub fn doc_frame(d: &Doc, subcommands: Vec<(Frame, Frame)>) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    let mut m = vec![
        kv("summary", Frame::bulk(d.summary)),
        kv("since", Frame::bulk(d.since)),
        kv("group", Frame::bulk(d.group)),
    ];
    if let Some(x) = d.complexity {
        m.push(kv("complexity", Frame::bulk(x)));
    }
    if !d.doc_flags.is_empty() {
        let f = d
            .doc_flags
            .iter()
            .map(|f| Frame::Simple(f.to_string()))
            .collect();
        m.push(kv("doc_flags", Frame::Set(f)));
    }
    if let Some((since, by)) = d.deprecated {
        m.push(kv("deprecated_since", Frame::bulk(since)));
        m.push(kv("replaced_by", Frame::bulk(by)));
    }
    if !d.history.is_empty() {
        let h = d
            .history
            .iter()
            .map(|(v, what)| Frame::Array(vec![Frame::bulk(*v), Frame::bulk(*what)]))
            .collect();
        m.push(kv("history", Frame::Set(h)));
    }
    if !d.args.is_empty() {
        m.push(kv("arguments", args_frame(d.args)));
    }
    if !subcommands.is_empty() {
        m.push(kv("subcommands", Frame::Map(subcommands)));
    }
    Frame::Map(m)
}

/// An argument list as COMMAND DOCS prints it (`addReplyCommandArgList`).
pub fn args_frame(list: &[Arg]) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    Frame::Array(
        list.iter()
            .map(|a| {
                let mut m = vec![
                    kv("name", Frame::bulk(a.name)),
                    kv("type", Frame::bulk(a.kind)),
                ];
                if let Some(i) = a.key_spec_index {
                    m.push(kv("key_spec_index", Frame::Integer(i)));
                }
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
                    m.push(kv("arguments", args_frame(a.args)));
                }
                Frame::Map(m)
            })
            .collect(),
    )
}
