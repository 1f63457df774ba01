//! pubsub commands (being written).

use super::Cmd;

/// The pubsub rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
