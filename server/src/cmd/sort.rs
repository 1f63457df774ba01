//! SORT and SORT_RO (being written).

use super::Cmd;

/// The SORT rows of the command table.
pub static COMMANDS: &[Cmd] = &[];
