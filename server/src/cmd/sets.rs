//! sets commands (being written).

use super::Cmd;

/// The sets rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
