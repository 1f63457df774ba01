//! Pieces shared by `picket-server` and `picket-sentinel`:
//!
//! - [`resp`]: the RESP2/RESP3 frame type, the request parser (multibulk and
//!   inline, with Redis's protocol errors and limits) and the reply encoder.
//! - [`conf`]: the redis.conf grammar (`sdssplitargs` tokenising, quoted
//!   strings, escapes) used for config files and inline commands alike.
//! - [`directives`]: the table of generic redis.conf directives (names,
//!   aliases, defaults, value checks) read by server and sentinel alike.
//! - [`help`]: HELP texts both binaries answer (COMMAND HELP).
//! - [`num`]: number formatting and parsing exactly as Redis does it
//!   (`%.17g` doubles, strict integers, `strtold`-style floats).
//! - [`glob`]: Redis's `stringmatchlen` glob matcher (KEYS, SCAN MATCH,
//!   PSUBSCRIBE, CONFIG GET).
//! - [`net`]: outgoing connections bound to `bind-source-addr`.
//! - [`acl`]: ACL users, rules, permission checks, the ACL file and log.
//! - [`cmddocs`]: COMMAND DOCS argument trees and reply maps.

pub mod acl;
pub mod cmddocs;
pub mod conf;
pub mod directives;
pub mod glob;
pub mod help;
pub mod net;
pub mod num;
pub mod resp;
