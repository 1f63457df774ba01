//! Redis 7.0's ACL model (`acl.c`), shared by the server and the sentinel:
//! users with flags, password hashes and selectors; the rule language of
//! ACL SETUSER and `user` lines; the permission check run before every
//! command; the description ACL LIST, GETUSER, ACL SAVE and CONFIG REWRITE
//! print; the ACL file loader; and the ACL LOG.
//!
//! Rules name commands through a [`CommandTable`] the binary builds from
//! its own command table: a sentinel's ACLs know only sentinel commands,
//! as in Redis, where `server.orig_commands` holds the sentinel table in
//! sentinel mode.
//!
//! Where Redis's output depends on hash-table order (the single-command
//! part of a rule description, `+client -hello -auth`, is emitted in the
//! order of a randomly seeded dict, different in every process), Picket
//! uses the command table's order. Everything else is as 7.0.15 prints it.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::conf::{sdstrim as trim, split_args};
use crate::glob::glob_match;
use crate::resp::Frame;

/// ACL categories in Redis 7.0's order (`ACLCommandCategories`): the
/// order of ACL CAT and of the category pass of a rule description.
pub const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of a category name (case-insensitive), without the `@`.
pub fn category_bit(name: &str) -> Option<u32> {
    CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// One command or subcommand as ACL rules see it.
#[derive(Debug, Clone)]
pub struct AclCommand {
    /// `get`, or `client|kill` for a subcommand.
    pub fullname: String,
    /// Category bits ([`category_bit`]).
    pub categories: u32,
    pub parent: Option<usize>,
    pub subcommands: Vec<usize>,
    /// `CMD_NO_AUTH` (AUTH, HELLO): always allowed.
    pub no_auth: bool,
}

/// The commands ACL rules can name, with ids in the order they were added.
#[derive(Debug, Clone, Default)]
pub struct CommandTable {
    cmds: Vec<AclCommand>,
    top: Vec<usize>,
}

impl CommandTable {
    /// Adds a command (`name`) or a subcommand (`parent|sub`, after its
    /// parent), with categories written `@read` or `read`.
    pub fn add(&mut self, fullname: &str, categories: &[&str], no_auth: bool) -> usize {
        let id = self.cmds.len();
        let cats = categories
            .iter()
            .filter_map(|c| category_bit(c.trim_start_matches('@')))
            .fold(0, |a, b| a | b);
        let parent = fullname
            .split_once('|')
            .and_then(|(p, _)| self.lookup_top(p));
        self.cmds.push(AclCommand {
            fullname: fullname.to_ascii_lowercase(),
            categories: cats,
            parent,
            subcommands: Vec::new(),
            no_auth,
        });
        match parent {
            Some(p) => self.cmds[p].subcommands.push(id),
            None => self.top.push(id),
        }
        id
    }

    pub fn len(&self) -> usize {
        self.cmds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cmds.is_empty()
    }

    pub fn get(&self, id: usize) -> &AclCommand {
        &self.cmds[id]
    }

    fn lookup_top(&self, name: &str) -> Option<usize> {
        self.top
            .iter()
            .copied()
            .find(|&i| self.cmds[i].fullname.eq_ignore_ascii_case(name))
    }

    /// `lookupCommandBySdsLogic`: `name` or `parent|sub` (a subcommand only
    /// of a command that has subcommands), case-insensitively.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        let parts: Vec<&str> = name.split('|').collect();
        match parts.as_slice() {
            [n] => self.lookup_top(n),
            [p, s] => {
                let p = self.lookup_top(p)?;
                self.cmds[p].subcommands.iter().copied().find(|&i| {
                    self.cmds[i].fullname[self.cmds[p].fullname.len() + 1..].eq_ignore_ascii_case(s)
                })
            }
            _ => None,
        }
    }

    /// `lookupCommand` on a request: the subcommand when the command has
    /// subcommands and a second word is given (None if it is unknown).
    pub fn lookup_request(&self, args: &[&[u8]]) -> Option<usize> {
        let first = String::from_utf8_lossy(args.first()?);
        let id = self.lookup_top(&first)?;
        if self.cmds[id].subcommands.is_empty() || args.len() < 2 {
            return Some(id);
        }
        let full = format!("{first}|{}", String::from_utf8_lossy(args[1]));
        self.lookup(&full)
    }

    /// Every command then its subcommands, depth first (the walk of
    /// `server.orig_commands` and its subcommand dicts).
    fn walk(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.cmds.len());
        for &t in &self.top {
            out.push(t);
            out.extend(self.cmds[t].subcommands.iter().copied());
        }
        out
    }

    /// ACL CAT <category>: the full names of the commands in it.
    pub fn in_category(&self, bit: u32) -> Vec<&str> {
        self.walk()
            .into_iter()
            .filter(|&i| self.cmds[i].categories & bit != 0)
            .map(|i| self.cmds[i].fullname.as_str())
            .collect()
    }
}

/// Why a rule was refused (`ACLSetUserStringError`, by errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    /// EINVAL
    Syntax,
    /// ENOENT
    UnknownCommand,
    /// EEXIST
    KeyAfterAll,
    /// EISDIR
    ChannelAfterAll,
    /// ENODEV
    NoSuchPassword,
    /// EBADMSG
    BadHash,
    /// EALREADY
    Duplicate,
    /// ECHILD
    FirstArgOfSubcommand,
}

impl RuleError {
    pub fn message(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::Duplicate => "Duplicate user found. A user can only be defined once in config files",
            RuleError::FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        }
    }
}

/// A key pattern with its `%R~` / `%W~` / `~` permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPattern {
    pattern: Vec<u8>,
    read: bool,
    write: bool,
}

impl KeyPattern {
    fn describe(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(match (self.read, self.write) {
            (true, true) => b"~",
            (true, false) => b"%R~",
            _ => b"%W~",
        });
        out.extend_from_slice(&self.pattern);
    }
}

/// What a command does with a key (from its key specs), for `%R~`/`%W~`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAccess {
    pub read: bool,
    pub write: bool,
}

/// A set of permissions: the root selector of a user, or one in
/// parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selector {
    root: bool,
    allkeys: bool,
    allchannels: bool,
    allcommands: bool,
    /// The command bitmap, by command id.
    allowed: Vec<bool>,
    /// The reserved "future commands" bit, set only by `+@all`.
    future: bool,
    /// Allowed first arguments of otherwise denied commands (`+select|0`).
    firstargs: BTreeMap<usize, Vec<Vec<u8>>>,
    keys: Vec<KeyPattern>,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    fn new(root: bool, pubsub_all: bool) -> Self {
        Selector {
            root,
            allkeys: false,
            allchannels: pubsub_all,
            allcommands: false,
            allowed: Vec::new(),
            future: false,
            firstargs: BTreeMap::new(),
            keys: Vec::new(),
            channels: Vec::new(),
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.allowed.get(id).copied().unwrap_or(self.future)
    }

    fn set_bit(&mut self, table: &CommandTable, id: usize, v: bool) {
        if self.allowed.len() < table.len() {
            let fill = self.future;
            self.allowed.resize(table.len(), fill);
        }
        self.allowed[id] = v;
        if !v {
            self.allcommands = false;
        }
    }

    /// `ACLChangeSelectorPerm`: a command and all its subcommands.
    fn change_perm(&mut self, table: &CommandTable, id: usize, allow: bool) {
        self.set_bit(table, id, allow);
        self.firstargs.remove(&id);
        for &s in &table.get(id).subcommands {
            self.set_bit(table, s, allow);
        }
    }

    fn set_all(&mut self, table: &CommandTable, v: bool) {
        self.allowed = vec![v; table.len()];
        self.future = v;
        self.allcommands = v;
        self.firstargs.clear();
    }

    fn set_category(&mut self, table: &CommandTable, bit: u32, v: bool) {
        for id in table.walk() {
            if table.get(id).categories & bit != 0 {
                self.change_perm(table, id, v);
            }
        }
    }

    fn count_category(&self, table: &CommandTable, bit: u32) -> (usize, usize) {
        let (mut on, mut off) = (0, 0);
        for id in table.walk() {
            if table.get(id).categories & bit != 0 {
                if self.bit(id) {
                    on += 1;
                } else {
                    off += 1;
                }
            }
        }
        (on, off)
    }

    /// `ACLSetSelector`: one rule about commands, keys or channels.
    fn apply(&mut self, table: &CommandTable, op: &[u8]) -> Result<(), RuleError> {
        if op.is_empty() {
            return Err(RuleError::Syntax);
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("allkeys") || is("~*") {
            self.allkeys = true;
            self.keys.clear();
        } else if is("resetkeys") {
            self.allkeys = false;
            self.keys.clear();
        } else if is("allchannels") || is("&*") {
            self.allchannels = true;
            self.channels.clear();
        } else if is("resetchannels") {
            self.allchannels = false;
            self.channels.clear();
        } else if is("allcommands") || is("+@all") {
            self.set_all(table, true);
        } else if is("nocommands") || is("-@all") {
            self.set_all(table, false);
        } else if op[0] == b'~' || op[0] == b'%' {
            if self.allkeys {
                return Err(RuleError::KeyAfterAll);
            }
            let (mut read, mut write) = (false, false);
            let mut offset = 1;
            if op[0] == b'%' {
                while offset < op.len() {
                    match op[offset].to_ascii_uppercase() {
                        b'R' if !read => read = true,
                        b'W' if !write => write = true,
                        b'~' => {
                            offset += 1;
                            break;
                        }
                        _ => return Err(RuleError::Syntax),
                    }
                    offset += 1;
                }
            } else {
                (read, write) = (true, true);
            }
            let pattern = &op[offset.min(op.len())..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            match self.keys.iter_mut().find(|k| k.pattern == pattern) {
                Some(k) => {
                    k.read |= read;
                    k.write |= write;
                }
                None => self.keys.push(KeyPattern {
                    pattern: pattern.to_vec(),
                    read,
                    write,
                }),
            }
            self.allkeys = false;
        } else if op[0] == b'&' {
            if self.allchannels {
                return Err(RuleError::ChannelAfterAll);
            }
            let pattern = &op[1..];
            if has_spaces(pattern) {
                return Err(RuleError::Syntax);
            }
            if !self.channels.iter().any(|c| c == pattern) {
                self.channels.push(pattern.to_vec());
            }
            self.allchannels = false;
        } else if op[0] == b'+' && op.get(1) != Some(&b'@') {
            let name = String::from_utf8_lossy(&op[1..]).into_owned();
            match name.rfind('|') {
                None => {
                    let id = table.lookup(&name).ok_or(RuleError::UnknownCommand)?;
                    self.change_perm(table, id, true);
                }
                Some(bar) => {
                    let (base, sub) = (&name[..bar], &name[bar + 1..]);
                    let id = table.lookup(base).ok_or(RuleError::UnknownCommand)?;
                    if table.get(id).parent.is_some() {
                        return Err(RuleError::FirstArgOfSubcommand);
                    }
                    if sub.is_empty() {
                        return Err(RuleError::Syntax);
                    }
                    if !table.get(id).subcommands.is_empty() {
                        let sid = table.lookup(&name).ok_or(RuleError::UnknownCommand)?;
                        self.change_perm(table, sid, true);
                    } else {
                        let list = self.firstargs.entry(id).or_default();
                        if !list.iter().any(|a| a.eq_ignore_ascii_case(sub.as_bytes())) {
                            list.push(sub.as_bytes().to_vec());
                        }
                    }
                }
            }
        } else if op[0] == b'-' && op.get(1) != Some(&b'@') {
            let name = String::from_utf8_lossy(&op[1..]);
            let id = table.lookup(&name).ok_or(RuleError::UnknownCommand)?;
            self.change_perm(table, id, false);
        } else if (op[0] == b'+' || op[0] == b'-') && op.get(1) == Some(&b'@') {
            let cat = String::from_utf8_lossy(&op[2..]);
            let bit = category_bit(&cat).ok_or(RuleError::UnknownCommand)?;
            self.set_category(table, bit, op[0] == b'+');
        } else {
            return Err(RuleError::Syntax);
        }
        Ok(())
    }

    /// `ACLDescribeSelectorCommandRules`: `+@all`/`-@all`, then the
    /// categories that best fit the bitmap, then single commands.
    fn describe_commands(&self, table: &CommandTable) -> String {
        let additive = !self.future;
        let mut rules: Vec<String> = Vec::new();
        let mut fake = Selector::new(false, false);
        fake.set_all(table, !additive);
        rules.push(if additive { "-@all" } else { "+@all" }.into());
        let mut temp = self.clone();
        let mut applied = [false; CATEGORIES.len()];
        loop {
            let mut best = None;
            let (mut mindiff, mut maxsame) = (usize::MAX, 0);
            for (j, cat) in CATEGORIES.iter().enumerate() {
                if applied[j] {
                    continue;
                }
                let (on, off) = temp.count_category(table, 1 << j);
                let (diff, same) = if additive { (off, on) } else { (on, off) };
                if same > diff && (diff < mindiff || (diff == mindiff && same > maxsame)) {
                    best = Some((j, *cat));
                    mindiff = diff;
                    maxsame = same;
                }
            }
            let Some((j, cat)) = best else { break };
            fake.set_category(table, 1 << j, additive);
            temp.set_category(table, 1 << j, !additive);
            rules.push(format!("{}@{cat}", if additive { '+' } else { '-' }));
            applied[j] = true;
        }
        for id in table.walk() {
            let userbit = self.bit(id);
            if userbit != fake.bit(id) {
                rules.push(format!(
                    "{}{}",
                    if userbit { '+' } else { '-' },
                    table.get(id).fullname
                ));
                fake.change_perm(table, id, userbit);
            }
            if !userbit {
                for a in self.firstargs.get(&id).into_iter().flatten() {
                    rules.push(format!(
                        "+{}|{}",
                        table.get(id).fullname,
                        String::from_utf8_lossy(a)
                    ));
                }
            }
        }
        rules.join(" ")
    }

    /// `ACLDescribeSelector`: keys, channels, commands.
    fn describe(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = Vec::new();
        if self.allkeys {
            out.extend_from_slice(b"~* ");
        } else {
            for k in &self.keys {
                k.describe(&mut out);
                out.push(b' ');
            }
        }
        if self.allchannels {
            out.extend_from_slice(b"&* ");
        } else {
            out.extend_from_slice(b"resetchannels ");
            for c in &self.channels {
                out.push(b'&');
                out.extend_from_slice(c);
                out.push(b' ');
            }
        }
        out.extend_from_slice(self.describe_commands(table).as_bytes());
        out
    }

    fn keys_text(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            k.describe(&mut out);
        }
        out
    }

    fn channels_text(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut out = Vec::new();
        for (i, c) in self.channels.iter().enumerate() {
            if i > 0 {
                out.push(b' ');
            }
            out.push(b'&');
            out.extend_from_slice(c);
        }
        out
    }

    /// `ACLSelectorCheckCmd`.
    fn check(&self, table: &CommandTable, id: usize, req: &Request) -> Result<(), Denied> {
        let cmd = table.get(id);
        if !self.allcommands && !cmd.no_auth && !self.bit(id) {
            let idx = if cmd.parent.is_some() { 2 } else { 1 };
            let ok = req.args.len() >= 2
                && req.args.get(idx).is_some_and(|a| {
                    self.firstargs
                        .get(&id)
                        .is_some_and(|l| l.iter().any(|x| x.eq_ignore_ascii_case(a)))
                });
            if !ok {
                return Err(Denied {
                    reason: Reason::Command,
                    pos: 0,
                });
            }
        }
        if !self.allkeys {
            for &(pos, access) in req.keys {
                let key = req.args[pos];
                let ok = self.keys.iter().any(|k| {
                    (!access.read || k.read)
                        && (!access.write || k.write)
                        && glob_match(&k.pattern, key, false)
                });
                if !ok {
                    return Err(Denied {
                        reason: Reason::Key,
                        pos,
                    });
                }
            }
        }
        if !self.allchannels {
            for &(pos, is_pattern) in req.channels {
                if !channel_allowed(&self.channels, req.args[pos], is_pattern) {
                    return Err(Denied {
                        reason: Reason::Channel,
                        pos,
                    });
                }
            }
        }
        Ok(())
    }
}

/// `ACLCheckChannelAgainstList`: a pattern (PSUBSCRIBE) must equal an
/// allowed pattern; a channel is matched against them.
fn channel_allowed(list: &[Vec<u8>], channel: &[u8], is_pattern: bool) -> bool {
    list.iter().any(|p| {
        if is_pattern {
            p == channel
        } else {
            glob_match(p, channel, false)
        }
    })
}

/// `ACLStringHasSpaces`: whitespace or NUL.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter()
        .any(|&b| b == 0 || b.is_ascii_whitespace() || b == 0x0b)
}

/// The SHA-256 of a password, in lowercase hex (`ACLHashPassword`).
pub fn hash_password(p: &[u8]) -> String {
    Sha256::digest(p)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn valid_hash(h: &[u8]) -> bool {
    h.len() == 64
        && h.iter()
            .all(|&c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

/// An ACL user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    enabled: bool,
    nopass: bool,
    /// `None`: neither flag; `Some(true)`: sanitize-payload;
    /// `Some(false)`: skip-sanitize-payload.
    sanitize: Option<bool>,
    passwords: Vec<String>,
    /// The root selector first.
    selectors: Vec<Selector>,
}

impl User {
    /// `ACLCreateUser`: off, no passwords, no permissions.
    fn new(name: &str, pubsub_all: bool) -> Self {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            selectors: vec![Selector::new(true, pubsub_all)],
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn nopass(&self) -> bool {
        self.nopass
    }

    /// `ACLSetUser`: one rule (`oplen == 0` is a no-op).
    pub fn apply(
        &mut self,
        table: &CommandTable,
        op: &[u8],
        pubsub_all: bool,
    ) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let is = |w: &str| op.eq_ignore_ascii_case(w.as_bytes());
        if is("on") {
            self.enabled = true;
        } else if is("off") {
            self.enabled = false;
        } else if is("skip-sanitize-payload") {
            self.sanitize = Some(false);
        } else if is("sanitize-payload") {
            self.sanitize = Some(true);
        } else if is("nopass") {
            self.nopass = true;
            self.passwords.clear();
        } else if is("resetpass") {
            self.nopass = false;
            self.passwords.clear();
        } else if op[0] == b'>' || op[0] == b'#' {
            let h = if op[0] == b'>' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            if !self.passwords.contains(&h) {
                self.passwords.push(h);
            }
            self.nopass = false;
        } else if op[0] == b'<' || op[0] == b'!' {
            let h = if op[0] == b'<' {
                hash_password(&op[1..])
            } else {
                if !valid_hash(&op[1..]) {
                    return Err(RuleError::BadHash);
                }
                String::from_utf8_lossy(&op[1..]).into_owned()
            };
            match self.passwords.iter().position(|p| *p == h) {
                Some(i) => {
                    self.passwords.remove(i);
                }
                None => return Err(RuleError::NoSuchPassword),
            }
        } else if op[0] == b'(' && op[op.len() - 1] == b')' {
            let inner = &op[1..op.len() - 1];
            let words = split_args(inner).map_err(|_| RuleError::Syntax)?;
            let mut s = Selector::new(false, pubsub_all);
            for w in words {
                s.apply(table, &w)?;
            }
            self.selectors.push(s);
        } else if is("clearselectors") {
            self.selectors.truncate(1);
        } else if is("reset") {
            self.nopass = false;
            self.passwords.clear();
            let root = &mut self.selectors[0];
            root.allkeys = false;
            root.keys.clear();
            root.allchannels = pubsub_all;
            root.channels.clear();
            self.enabled = false;
            self.sanitize = Some(true);
            self.selectors.truncate(1);
            self.selectors[0].set_all(table, false);
        } else {
            self.selectors[0].apply(table, op)?;
        }
        Ok(())
    }

    /// `ACLDescribeUser`: flags, password hashes, then the selectors
    /// (the root one bare, the others in parentheses).
    pub fn describe(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.flags() {
            out.extend_from_slice(f.as_bytes());
            out.push(b' ');
        }
        for p in &self.passwords {
            out.push(b'#');
            out.extend_from_slice(p.as_bytes());
            out.push(b' ');
        }
        for s in &self.selectors {
            let d = s.describe(table);
            if s.root {
                out.extend_from_slice(&d);
            } else {
                out.extend_from_slice(b" (");
                out.extend_from_slice(&d);
                out.push(b')');
            }
        }
        out
    }

    /// The `user <name> <description>` line of ACL LIST and the files.
    pub fn line(&self, table: &CommandTable) -> Vec<u8> {
        let mut out = format!("user {} ", self.name).into_bytes();
        out.extend_from_slice(&self.describe(table));
        out
    }

    /// The flags in `ACLUserFlags` order.
    pub fn flags(&self) -> Vec<&'static str> {
        let mut f = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            f.push("nopass");
        }
        match self.sanitize {
            Some(false) => f.push("skip-sanitize-payload"),
            Some(true) => f.push("sanitize-payload"),
            None => {}
        }
        f
    }

    /// Whether a selector allows every command, key and channel (the
    /// permission check can be skipped).
    pub fn unrestricted(&self) -> bool {
        self.selectors
            .iter()
            .any(|s| s.allcommands && s.allkeys && s.allchannels)
    }

    /// Whether some selector restricts keys: only then must a check be
    /// given the request's keys (Redis finds them lazily for the same
    /// reason).
    pub fn needs_keys(&self) -> bool {
        self.selectors.iter().any(|s| !s.allkeys)
    }

    /// Whether some selector restricts channels.
    pub fn needs_channels(&self) -> bool {
        self.selectors.iter().any(|s| !s.allchannels)
    }

    pub fn passwords(&self) -> &[String] {
        &self.passwords
    }

    /// For ACL GETUSER: (commands, keys, channels) of the root selector and
    /// then of each other selector.
    pub fn selector_descriptions(&self, table: &CommandTable) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        self.selectors
            .iter()
            .map(|s| (s.describe_commands(table), s.keys_text(), s.channels_text()))
            .collect()
    }

    /// `ACLCheckUserCredentials` for this user.
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        // time_independent_strcmp: every byte of every hash is compared
        let h = hash_password(pass);
        self.passwords.iter().fold(false, |found, p| {
            let diff = p.bytes().zip(h.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b));
            found | (diff == 0 && p.len() == h.len())
        })
    }

    /// `ACLCheckAllUserCommandPerm`: allowed if any selector allows it;
    /// otherwise the command, or the last key or channel no selector
    /// could match.
    pub fn check(&self, table: &CommandTable, id: usize, req: &Request) -> Result<(), Denied> {
        let mut relevant = Denied {
            reason: Reason::Command,
            pos: 0,
        };
        for s in &self.selectors {
            match s.check(table, id, req) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    if d.reason > relevant.reason
                        || (d.reason == relevant.reason && d.pos > relevant.pos)
                    {
                        relevant = d;
                    }
                }
            }
        }
        Err(relevant)
    }

    /// `ACLUserCheckChannelPerm`.
    pub fn channel_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        self.selectors
            .iter()
            .any(|s| s.allchannels || channel_allowed(&s.channels, channel, is_pattern))
    }

    /// Whether every channel pattern of `old` is still granted by `self`
    /// word for word, or `self` has all channels (the test
    /// `ACLKillPubsubClientsIfNeeded` runs before it looks at clients).
    pub fn keeps_channels_of(&self, old: &User) -> bool {
        if self.selectors.iter().any(|s| s.allchannels) {
            return true;
        }
        let upcoming: Vec<&Vec<u8>> = self.selectors.iter().flat_map(|s| &s.channels).collect();
        old.selectors
            .iter()
            .flat_map(|s| &s.channels)
            .all(|c| upcoming.contains(&c))
    }

    /// Whether a subscription survives a permission change: checked against
    /// the new user's plain channel list (not its `allchannels` flags,
    /// which [`User::keeps_channels_of`] already covered).
    pub fn subscription_allowed(&self, channel: &[u8], is_pattern: bool) -> bool {
        let upcoming: Vec<Vec<u8>> = self
            .selectors
            .iter()
            .flat_map(|s| s.channels.iter().cloned())
            .collect();
        channel_allowed(&upcoming, channel, is_pattern)
    }
}

/// The arguments of a request and where its keys and channels are.
pub struct Request<'a> {
    pub args: &'a [&'a [u8]],
    /// (argument index, access) for every key.
    pub keys: &'a [(usize, KeyAccess)],
    /// (argument index, is a pattern) for every channel a command
    /// publishes or subscribes to.
    pub channels: &'a [(usize, bool)],
}

/// Why a command was refused; ordered as Redis's `ACL_DENIED_*` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

impl Reason {
    /// The word ACL LOG prints.
    pub fn word(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Auth => "auth",
            Reason::Channel => "channel",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denied {
    pub reason: Reason,
    /// The argument index of the key or channel.
    pub pos: usize,
}

impl Denied {
    /// The `-NOPERM` reply of `processCommand`.
    pub fn noperm(&self, fullname: &str) -> String {
        match self.reason {
            Reason::Command => {
                format!("NOPERM this user has no permissions to run the '{fullname}' command")
            }
            Reason::Key => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Reason::Channel => {
                "NOPERM this user has no permissions to access one of the channels used as arguments"
                    .into()
            }
            Reason::Auth => "NOPERM no permission".into(),
        }
    }

    /// ACL DRYRUN's text.
    pub fn dryrun(&self, fullname: &str, args: &[&[u8]]) -> String {
        let arg =
            || String::from_utf8_lossy(args.get(self.pos).copied().unwrap_or(b"")).into_owned();
        match self.reason {
            Reason::Command => {
                format!("This user has no permissions to run the '{fullname}' command")
            }
            Reason::Key => format!("This user has no permissions to access the '{}' key", arg()),
            _ => format!(
                "This user has no permissions to access the '{}' channel",
                arg()
            ),
        }
    }
}

/// `ACLMergeSelectorArguments`: joins a selector spread over several
/// words (`(~x` `+get)`); `Err(index)` of an unclosed `(`.
pub fn merge_selector_args(args: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, usize> {
    let mut out = Vec::new();
    let mut open: Option<(usize, Vec<u8>)> = None;
    for (j, op) in args.iter().enumerate() {
        if let Some((_, sel)) = open.as_mut() {
            sel.push(b' ');
            sel.extend_from_slice(op);
            if op.last() == Some(&b')') {
                out.push(open.take().unwrap().1);
            }
            continue;
        }
        if op.first() == Some(&b'(') && op.last() != Some(&b')') {
            open = Some((j, op.clone()));
            continue;
        }
        out.push(op.clone());
    }
    match open {
        Some((j, _)) => Err(j),
        None => Ok(out),
    }
}

/// The users of a process (`Users`, a radix tree: listed by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Users {
    map: BTreeMap<String, User>,
    /// `acl-pubsub-default allchannels`: new users and selectors start
    /// with all channels (7.0's default is `resetchannels`).
    pub pubsub_all: bool,
}

impl Default for Users {
    fn default() -> Self {
        Self::new()
    }
}

impl Users {
    /// `ACLInit`: the default user, `on nopass ~* &* +@all`.
    pub fn new() -> Self {
        let mut map = BTreeMap::new();
        map.insert("default".to_string(), default_user());
        Users {
            map,
            pubsub_all: false,
        }
    }

    pub fn get(&self, name: &str) -> Option<&User> {
        self.map.get(name)
    }

    pub fn default_user(&self) -> &User {
        &self.map["default"]
    }

    /// Every user, by name.
    pub fn iter(&self) -> impl Iterator<Item = &User> {
        self.map.values()
    }

    /// `requirepass`: the default user's password (`ACLUpdateDefaultUserPassword`).
    pub fn set_default_password(&mut self, table: &CommandTable, pass: Option<&[u8]>) {
        let pubsub_all = self.pubsub_all;
        let u = self.map.get_mut("default").expect("default user");
        let _ = u.apply(table, b"resetpass", pubsub_all);
        match pass {
            Some(p) => {
                let mut op = b">".to_vec();
                op.extend_from_slice(p);
                let _ = u.apply(table, &op, pubsub_all);
            }
            None => {
                let _ = u.apply(table, b"nopass", pubsub_all);
            }
        }
    }

    /// Whether new connections start authenticated (`authRequired`).
    pub fn auth_required(&self) -> bool {
        let d = self.default_user();
        !d.nopass || !d.enabled
    }

    /// `ACLCheckUserCredentials`.
    pub fn authenticate(&self, name: &[u8], pass: &[u8]) -> bool {
        std::str::from_utf8(name)
            .ok()
            .and_then(|n| self.map.get(n))
            .is_some_and(|u| u.password_ok(pass))
    }

    /// ACL SETUSER: every rule is tried on a copy first, then the user is
    /// created or replaced. Returns the error text (without `ERR `) and,
    /// on success, the user as it was before (to find pub/sub clients that
    /// lost a channel).
    pub fn setuser(
        &mut self,
        table: &CommandTable,
        name: &[u8],
        rules: &[Vec<u8>],
    ) -> Result<Option<User>, String> {
        if has_spaces(name) {
            return Err("Usernames can't contain spaces or null characters".into());
        }
        let name = String::from_utf8_lossy(name).into_owned();
        let merged = merge_selector_args(rules).map_err(|i| {
            format!(
                "Unmatched parenthesis in acl selector starting at '{}'.",
                String::from_utf8_lossy(&rules[i])
            )
        })?;
        let old = self.map.get(&name).cloned();
        let mut u = old
            .clone()
            .unwrap_or_else(|| User::new(&name, self.pubsub_all));
        for op in &merged {
            u.apply(table, op, self.pubsub_all).map_err(|e| {
                format!(
                    "Error in ACL SETUSER modifier '{}': {}",
                    String::from_utf8_lossy(op),
                    e.message()
                )
            })?;
        }
        self.map.insert(name, u);
        Ok(old)
    }

    /// ACL DELUSER: the number removed, or the error for `default`.
    pub fn deluser(&mut self, names: &[&[u8]]) -> Result<Vec<String>, String> {
        if names.iter().any(|n| *n == b"default") {
            return Err("The 'default' user cannot be removed".into());
        }
        let mut removed = Vec::new();
        for n in names {
            let n = String::from_utf8_lossy(n).into_owned();
            if self.map.remove(&n).is_some() {
                removed.push(n);
            }
        }
        Ok(removed)
    }

    /// The `user ...` lines, by name (ACL LIST, ACL SAVE, CONFIG REWRITE).
    pub fn lines(&self, table: &CommandTable) -> Vec<Vec<u8>> {
        self.map.values().map(|u| u.line(table)).collect()
    }

    /// `ACLAppendUserForLoading`'s check of a config-file `user` line
    /// (`args` after the keyword): on error, the index into `args` Redis
    /// names (it indexes the merged rules into the whole line, so the word
    /// it quotes may not be the faulty one) and the reason. Unknown
    /// commands are not errors here; they fail at [`Users::load_config`].
    pub fn check_config_user(
        &self,
        table: &CommandTable,
        args: &[Vec<u8>],
        seen: &[Vec<u8>],
    ) -> Result<(), (usize, RuleError)> {
        if seen.iter().any(|s| *s == args[0]) {
            return Err((1, RuleError::Duplicate));
        }
        let merged = match merge_selector_args(&args[1..]) {
            Ok(m) => m,
            // errno is stale here in Redis; 7.0.15 reports the last lookup
            Err(i) => return Err((i, RuleError::UnknownCommand)),
        };
        let mut fake = User::new("__fakeuser:0__", self.pubsub_all);
        for (j, op) in merged.iter().enumerate() {
            match fake.apply(table, op, self.pubsub_all) {
                Ok(()) | Err(RuleError::UnknownCommand) => {}
                Err(e) => return Err((j, e)),
            }
        }
        Ok(())
    }

    /// `ACLLoadConfiguredUsers`: the config file's `user` lines, applied
    /// in order (the default user is reset first). On error, the log line.
    pub fn load_config(
        &mut self,
        table: &CommandTable,
        users: &[Vec<Vec<u8>>],
    ) -> Result<(), String> {
        for args in users {
            let name = String::from_utf8_lossy(&args[0]).into_owned();
            if has_spaces(&args[0]) {
                return Err("Spaces not allowed in ACL usernames".into());
            }
            let pubsub_all = self.pubsub_all;
            let u = self
                .map
                .entry(name.clone())
                .or_insert_with(|| User::new(&name, pubsub_all));
            if name == "default" {
                let _ = u.apply(table, b"reset", pubsub_all);
            }
            let merged = merge_selector_args(&args[1..]).unwrap_or_default();
            for op in &merged {
                if let Err(e) = u.apply(table, op, pubsub_all) {
                    return Err(format!(
                        "Error loading ACL rule '{}' for the user named '{name}': {}",
                        String::from_utf8_lossy(op),
                        e.message()
                    ));
                }
            }
        }
        Ok(())
    }

    /// `ACLLoadFromFile`: every line must load, or nothing changes. On
    /// error, the one-line text Redis replies (or logs at start-up), which
    /// names the file as `aclfile` gave it (`path` is read: the same file
    /// seen from the current directory).
    pub fn load_file(
        &mut self,
        table: &CommandTable,
        path: &Path,
        name: &str,
    ) -> Result<(), String> {
        let text = match fs::read(path) {
            Ok(t) => t,
            Err(e) => {
                return Err(format!(
                    "Error loading ACLs, opening file '{name}': {}",
                    crate::net::strerror(&e)
                ))
            }
        };
        let mut fresh: BTreeMap<String, User> = BTreeMap::new();
        let mut errors = String::new();
        let pubsub_all = self.pubsub_all;
        for (i, line) in text.split(|&b| b == b'\n').enumerate() {
            let linenum = i + 1;
            let line = trim(line, b" \t\r\n");
            if line.is_empty() {
                continue;
            }
            // sdssplitlen on single spaces: doubled spaces give empty words
            let argv: Vec<Vec<u8>> = line.split(|&b| b == b' ').map(|w| w.to_vec()).collect();
            if argv[0] != b"user" || argv.len() < 2 {
                errors.push_str(&format!(
                    "{name}:{linenum} should start with user keyword followed by the username. "
                ));
                continue;
            }
            let uname = String::from_utf8_lossy(&argv[1]).into_owned();
            if has_spaces(&argv[1]) {
                errors.push_str(&format!(
                    "'{name}:{linenum}: username '{uname}' contains invalid characters. "
                ));
                continue;
            }
            if fresh.contains_key(&uname) {
                errors.push_str(&format!(
                    "WARNING: Duplicate user '{uname}' found on line {linenum}. "
                ));
                continue;
            }
            let mut u = User::new(&uname, pubsub_all);
            let merged = match merge_selector_args(&argv[2..]) {
                Ok(m) => m,
                Err(_) => {
                    errors.push_str(&format!(
                        "{name}:{linenum}: Unmatched parenthesis in selector definition."
                    ));
                    Vec::new()
                }
            };
            let mut syntax_error = false;
            for op in &merged {
                let op = trim(op, b"\t\r\n");
                if let Err(e) = u.apply(table, op, pubsub_all) {
                    if e == RuleError::UnknownCommand {
                        errors.push_str(&format!(
                            "{name}:{linenum}: Error in applying operation '{}': {}. ",
                            String::from_utf8_lossy(op),
                            e.message()
                        ));
                    } else if !syntax_error {
                        errors.push_str(&format!("{name}:{linenum}: {}. ", e.message()));
                        syntax_error = true;
                    }
                }
            }
            fresh.insert(uname, u);
        }
        if !errors.is_empty() {
            errors.push_str(
                "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
            );
            return Err(errors);
        }
        fresh.entry("default".into()).or_insert_with(default_user);
        self.map = fresh;
        Ok(())
    }

    /// `ACLSaveToFile`: every user line, written to a temp file and renamed
    /// over `path`.
    pub fn save_file(&self, table: &CommandTable, path: &Path) -> io::Result<()> {
        let mut text = Vec::new();
        for l in self.lines(table) {
            text.extend_from_slice(&l);
            text.push(b'\n');
        }
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(format!(".tmp-{}-{millis}", std::process::id()));
        let tmp = std::path::PathBuf::from(tmp);
        let r = (|| {
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(&tmp)?;
            f.write_all(&text)?;
            f.sync_all()?;
            fs::rename(&tmp, path)
        })();
        if r.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        r
    }
}

fn default_user() -> User {
    let mut u = User::new("default", false);
    let s = &mut u.selectors[0];
    s.allowed.clear();
    s.future = true;
    s.allcommands = true;
    s.allkeys = true;
    s.allchannels = true;
    u.enabled = true;
    u.nopass = true;
    u
}

/// ACL LOG's grouping window (`ACL_LOG_GROUPING_MAX_TIME_DELTA`).
const LOG_GROUPING_MS: i64 = 60_000;

/// One ACL LOG entry.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub count: u64,
    pub reason: Reason,
    /// `toplevel`, `multi`, `lua` or `module`.
    pub context: &'static str,
    pub object: Vec<u8>,
    pub username: String,
    /// Unix time in ms of the last occurrence.
    pub ctime_ms: i64,
    /// The client's CLIENT LIST line at the last occurrence.
    pub client_info: String,
}

/// The ACL security log, newest first.
#[derive(Debug, Clone, Default)]
pub struct AclLog {
    entries: VecDeque<LogEntry>,
}

impl AclLog {
    /// `addACLLogEntry`: an entry like one of the ten newest (same reason,
    /// context, object and user, within 60 s) is bumped and moved to the
    /// front; otherwise a new one is added and the log trimmed to `max_len`.
    pub fn add(&mut self, e: LogEntry, max_len: usize) {
        let similar = self.entries.iter().take(10).position(|c| {
            c.reason == e.reason
                && c.context == e.context
                && (c.ctime_ms - e.ctime_ms).abs() <= LOG_GROUPING_MS
                && c.object == e.object
                && c.username == e.username
        });
        if let Some(i) = similar {
            let mut m = self.entries.remove(i).expect("index");
            m.client_info = e.client_info;
            m.ctime_ms = e.ctime_ms;
            m.count += 1;
            self.entries.push_front(m);
        } else {
            self.entries.push_front(e);
            while self.entries.len() > max_len {
                self.entries.pop_back();
            }
        }
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }

    pub fn newest(&self, n: usize) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter().take(n)
    }
}

/// ACL HELP's lines (after the `ACL <subcommand> ...` header).
pub const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];

/// The text of ACL LOAD/SAVE without an `aclfile`.
pub const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// ACL GETUSER's map: flags, passwords, the root selector's commands,
/// keys and channels, then the other selectors.
pub fn getuser_reply(u: &User, table: &CommandTable) -> Frame {
    let kv = |k: &str, v: Frame| (Frame::bulk(k), v);
    let mut sel = u.selector_descriptions(table).into_iter();
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
pub fn log_reply(e: &LogEntry, now_ms: i64) -> Frame {
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

/// ACL HELP's reply.
pub fn help_reply() -> Frame {
    let mut lines = vec!["ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"];
    lines.extend_from_slice(HELP);
    lines.extend_from_slice(&["HELP", "    Prints this help."]);
    Frame::Array(lines.iter().map(|l| Frame::Simple(l.to_string())).collect())
}

/// ACL GENPASS [bits]: `bits` random bits as lowercase hex (rounded up to
/// whole hex digits), or the error reply.
pub fn genpass_reply(bits: Option<&[u8]>) -> Frame {
    let bits = match bits {
        None => 256,
        Some(a) => match crate::num::parse_i64(a) {
            Some(b) => b,
            None => return Frame::err("ERR value is not an integer or out of range"),
        },
    };
    if !(1..=4096).contains(&bits) {
        return Frame::err("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    }
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let hex: String = (0..(bits as usize).div_ceil(4))
        .map(|_| char::from(b"0123456789abcdef"[rng.gen_range(0..16)]))
        .collect();
    Frame::bulk(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small table shaped like a sentinel's.
    fn table() -> CommandTable {
        let mut t = CommandTable::default();
        t.add("ping", &["@fast", "@connection"], false);
        t.add("auth", &["@fast", "@connection"], true);
        t.add("hello", &["@fast", "@connection"], true);
        t.add("info", &["@slow", "@dangerous"], false);
        t.add("publish", &["@pubsub", "@fast"], false);
        t.add("subscribe", &["@pubsub", "@slow"], false);
        t.add("client", &["@slow"], false);
        t.add(
            "client|list",
            &["@admin", "@slow", "@dangerous", "@connection"],
            false,
        );
        t.add("client|id", &["@slow", "@connection"], false);
        t.add("get", &["@read", "@string", "@fast"], false);
        t.add("set", &["@write", "@string", "@slow"], false);
        t
    }

    fn setuser(u: &mut Users, t: &CommandTable, name: &str, rules: &[&str]) -> Result<(), String> {
        let rules: Vec<Vec<u8>> = rules.iter().map(|r| r.as_bytes().to_vec()).collect();
        u.setuser(t, name.as_bytes(), &rules).map(|_| ())
    }

    fn line(u: &Users, t: &CommandTable, name: &str) -> String {
        String::from_utf8(u.get(name).unwrap().line(t)).unwrap()
    }

    #[test]
    fn default_and_new_users_are_described_as_redis_does() {
        let t = table();
        let mut u = Users::new();
        assert_eq!(
            line(&u, &t, "default"),
            "user default on nopass ~* &* +@all"
        );
        setuser(&mut u, &t, "a", &[]).unwrap();
        assert_eq!(line(&u, &t, "a"), "user a off resetchannels -@all");
    }

    #[test]
    fn categories_then_single_commands_describe_the_bitmap() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &["+ping", "+client", "~k*", "%R~r", "&ch"]).unwrap();
        // @admin (client|list alone) fits with no difference, so it goes first;
        // what is left is spelled out
        assert_eq!(
            line(&u, &t, "a"),
            "user a off ~k* %R~r resetchannels &ch -@all +@admin +ping +client"
        );
        setuser(&mut u, &t, "b", &["+@all", "-@connection", "+hello"]).unwrap();
        assert_eq!(
            line(&u, &t, "b"),
            "user b off resetchannels +@all -@admin -@connection +hello"
        );
    }

    #[test]
    fn a_failed_rule_changes_nothing() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &["on", ">p"]).unwrap();
        let before = u.clone();
        let e = setuser(&mut u, &t, "a", &["off", "+nosuch"]).unwrap_err();
        assert_eq!(
            e,
            "Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
        );
        assert_eq!(u, before);
    }

    #[test]
    fn rule_errors_have_redis_texts() {
        let t = table();
        let mut u = Users::new();
        let cases = [
            (
                "~a allkeys ~b",
                "'~b': Adding a pattern after the * pattern (or the 'allkeys' flag)",
            ),
            (
                "&a allchannels &b",
                "'&b': Adding a pattern after the * pattern (or the 'allchannels' flag)",
            ),
            ("#abc", "'#abc': The password hash must be exactly 64"),
            ("<nope", "'<nope': The password you are trying to remove"),
            ("bogus", "'bogus': Syntax error"),
            (
                "+client|list|x",
                "'+client|list|x': Allowing first-arg of a subcommand",
            ),
            ("+client|", "'+client|': Syntax error"),
            ("-ping|x", "'-ping|x': Unknown command"),
            ("+@nope", "'+@nope': Unknown command"),
            ("%X~a", "'%X~a': Syntax error"),
        ];
        for (rules, want) in cases {
            let r: Vec<&str> = rules.split(' ').collect();
            let e = setuser(&mut u, &t, "x", &r).unwrap_err();
            assert!(e.contains(want), "{rules}: {e}");
        }
        assert_eq!(
            setuser(&mut u, &t, "a b", &[]).unwrap_err(),
            "Usernames can't contain spaces or null characters"
        );
        assert_eq!(
            setuser(&mut u, &t, "x", &["on", "(+ping", "~x"]).unwrap_err(),
            "Unmatched parenthesis in acl selector starting at '(+ping'."
        );
    }

    #[test]
    fn selectors_are_checked_in_turn() {
        let t = table();
        let mut u = Users::new();
        setuser(
            &mut u,
            &t,
            "a",
            &["on", "nopass", "+get", "~a*", "(+set", "~b*)"],
        )
        .unwrap();
        assert_eq!(
            line(&u, &t, "a"),
            "user a on nopass ~a* resetchannels -@all +@read (~b* resetchannels -@all +@write)"
        );
        let user = u.get("a").unwrap();
        let get = t.lookup("get").unwrap();
        let set = t.lookup("set").unwrap();
        let rw = KeyAccess {
            read: true,
            write: true,
        };
        let check = |id, key: &str| {
            let args: Vec<&[u8]> = vec![b"x", key.as_bytes()];
            user.check(
                &t,
                id,
                &Request {
                    args: &args,
                    keys: &[(1, rw)],
                    channels: &[],
                },
            )
        };
        assert!(check(get, "a1").is_ok());
        assert!(check(set, "b1").is_ok());
        assert_eq!(check(get, "b1").unwrap_err().reason, Reason::Key);
        assert_eq!(check(set, "a1").unwrap_err().reason, Reason::Key);
        assert_eq!(
            check(t.lookup("info").unwrap(), "a").unwrap_err().reason,
            Reason::Command
        );
    }

    #[test]
    fn read_and_write_key_patterns() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &["+@all", "%R~r*", "%W~w*"]).unwrap();
        let user = u.get("a").unwrap();
        let check = |key: &str, read, write| {
            let args: Vec<&[u8]> = vec![b"x", key.as_bytes()];
            user.check(
                &t,
                0,
                &Request {
                    args: &args,
                    keys: &[(1, KeyAccess { read, write })],
                    channels: &[],
                },
            )
        };
        assert!(check("r1", true, false).is_ok());
        assert!(check("r1", false, true).is_err());
        assert!(check("w1", false, true).is_ok());
        assert!(check("w1", true, true).is_err());
    }

    #[test]
    fn channels_patterns_match_literally_for_psubscribe() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &["+@all", "&ch*"]).unwrap();
        let user = u.get("a").unwrap();
        let pubid = t.lookup("publish").unwrap();
        let check = |ch: &str, pattern| {
            let args: Vec<&[u8]> = vec![b"x", ch.as_bytes()];
            user.check(
                &t,
                pubid,
                &Request {
                    args: &args,
                    keys: &[],
                    channels: &[(1, pattern)],
                },
            )
        };
        assert!(check("chx", false).is_ok());
        assert!(check("ch*", true).is_ok());
        assert_eq!(check("chx", true).unwrap_err().reason, Reason::Channel);
        assert_eq!(check("zz", false).unwrap_err().pos, 1);
    }

    #[test]
    fn first_args_allow_one_argument_and_are_described() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &["+info|server"]).unwrap();
        assert_eq!(
            line(&u, &t, "a"),
            "user a off resetchannels -@all +info|server"
        );
        let user = u.get("a").unwrap();
        let info = t.lookup("info").unwrap();
        let ok: Vec<&[u8]> = vec![b"info", b"SERVER"];
        let no: Vec<&[u8]> = vec![b"info", b"all"];
        assert!(user
            .check(
                &t,
                info,
                &Request {
                    args: &ok,
                    keys: &[],
                    channels: &[]
                }
            )
            .is_ok());
        assert!(user
            .check(
                &t,
                info,
                &Request {
                    args: &no,
                    keys: &[],
                    channels: &[]
                }
            )
            .is_err());
    }

    #[test]
    fn passwords_on_off_and_nopass() {
        let t = table();
        let mut u = Users::new();
        setuser(&mut u, &t, "a", &[">p1", ">p2"]).unwrap();
        assert!(!u.authenticate(b"a", b"p1"), "off users cannot log in");
        setuser(&mut u, &t, "a", &["on", "<p1"]).unwrap();
        assert!(!u.authenticate(b"a", b"p1"));
        assert!(u.authenticate(b"a", b"p2"));
        setuser(&mut u, &t, "a", &["nopass"]).unwrap();
        assert!(u.authenticate(b"a", b"anything"));
        setuser(&mut u, &t, "a", &["resetpass"]).unwrap();
        assert!(!u.authenticate(b"a", b"anything"));
        assert!(!u.authenticate(b"nobody", b""));
        u.set_default_password(&t, Some(b"s"));
        assert!(u.auth_required());
        assert!(u.authenticate(b"default", b"s"));
    }

    #[test]
    fn deluser_refuses_default() {
        let mut u = Users::new();
        let t = table();
        setuser(&mut u, &t, "a", &[]).unwrap();
        assert!(u.deluser(&[b"a", b"default"]).is_err());
        assert_eq!(u.deluser(&[b"a", b"b"]).unwrap(), vec!["a".to_string()]);
    }

    #[test]
    fn log_groups_similar_entries() {
        let mut log = AclLog::default();
        let e = |obj: &str, t| LogEntry {
            count: 1,
            reason: Reason::Command,
            context: "toplevel",
            object: obj.as_bytes().to_vec(),
            username: "a".into(),
            ctime_ms: t,
            client_info: String::new(),
        };
        log.add(e("info", 0), 128);
        log.add(e("ping", 10), 128);
        log.add(e("info", 20), 128);
        let v: Vec<_> = log
            .newest(10)
            .map(|x| (x.object.clone(), x.count))
            .collect();
        assert_eq!(v, vec![(b"info".to_vec(), 2), (b"ping".to_vec(), 1)]);
        log.add(e("info", 100_000), 1);
        assert_eq!(log.newest(10).count(), 1);
    }

    #[test]
    fn acl_file_loads_whole_or_not_at_all() {
        let t = table();
        let dir = std::env::temp_dir().join(format!("picket-acl-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("users.acl");
        let p = path.to_str().unwrap();
        fs::write(&path, "user a on nopass +ping\nuser b on +nosuch\n#x\n").unwrap();
        let mut u = Users::new();
        let e = u.load_file(&t, &path, p).unwrap_err();
        assert_eq!(
            e,
            format!("{p}:2: Error in applying operation '+nosuch': Unknown command or category name in ACL. {p}:3 should start with user keyword followed by the username. WARNING: ACL errors detected, no change to the previously active ACL rules was performed")
        );
        assert!(u.get("a").is_none());
        fs::write(&path, "user a on nopass +ping\n\n").unwrap();
        u.load_file(&t, &path, p).unwrap();
        assert!(u.get("a").is_some() && u.get("default").is_some());
        u.save_file(&t, &path).unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "user a on nopass resetchannels -@all +ping\nuser default on nopass ~* &* +@all\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
