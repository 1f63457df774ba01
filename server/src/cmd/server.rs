//! server commands (being written).

use super::Cmd;

/// The server rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
