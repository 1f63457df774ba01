//! hashes commands (being written).

use super::Cmd;

/// The hashes rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
