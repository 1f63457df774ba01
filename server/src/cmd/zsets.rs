//! zsets commands (being written).

use super::Cmd;

/// The zsets rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
