//! transactions commands (being written).

use super::Cmd;

/// The transactions rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
