//! lists commands (being written).

use super::Cmd;

/// The lists rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
