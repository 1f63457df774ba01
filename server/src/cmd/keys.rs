//! keys commands (being written).

use super::Cmd;

/// The keys rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
