//! RDB version 10 (being written).
