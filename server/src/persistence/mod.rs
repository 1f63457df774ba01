//! Persistence (issue 3, in progress).
//!
//! - [`rdb`]: RDB version 10 encoding and decoding of the key space.
//! - this module: SAVE to `dir/dbfilename` (atomic: temp file, fsync,
//!   rename) and loading that file at start-up. Background saves (BGSAVE,
//!   `save` points), AOF and DUMP/RESTORE are not wired yet.

pub mod rdb;

use std::path::PathBuf;

use crate::db::{Entry, NO_EXPIRE};
use crate::state::{Shared, State};

/// What a load did (INFO rdb_last_load_keys_loaded / _expired).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    pub loaded: u64,
    pub expired: u64,
}

/// `dir/dbfilename` as configured.
pub fn rdb_path(st: &State) -> PathBuf {
    let dir = st.config.get("dir").unwrap_or(".");
    let name = st.config.get("dbfilename").unwrap_or("dump.rdb");
    PathBuf::from(dir).join(name)
}

/// SAVE: writes the whole key space synchronously (the server is stopped
/// while it runs, exactly as Redis's SAVE). Resets the change counter.
pub fn save(shared: &Shared, st: &mut State) -> Result<(), String> {
    let now = crate::state::now_ms();
    let aux = rdb::RdbAux {
        ctime: now / 1000,
        used_mem: crate::info::mem_stats().used,
        repl: Some(rdb::ReplAux {
            stream_db: 0,
            repl_id: shared.replid.clone(),
            offset: 0,
        }),
        aof_base: false,
    };
    let compress = st.config.get("rdbcompression") != Some("no");
    let checksum = st.config.get("rdbchecksum") != Some("no");
    let data = rdb::write_rdb(&st.dbs, &aux, now, compress, checksum);
    let path = rdb_path(st);
    let started = std::time::Instant::now();
    // temp-<pid>.rdb in the same directory, then rename, like Redis
    let dir = path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let res = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    match res {
        Ok(()) => {
            st.dirty = 0;
            st.lastsave = now / 1000;
            st.rdb_saves += 1;
            st.rdb_last_save_ok = true;
            tracing::info!(
                "DB saved on disk ({} bytes in {:?})",
                data.len(),
                started.elapsed()
            );
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            st.rdb_last_save_ok = false;
            tracing::warn!("Failed saving the DB: {e}");
            Err(e.to_string())
        }
    }
}

/// Loads `dir/dbfilename` into empty databases. A file that is missing is
/// not an error (an empty data set); a corrupt or truncated one is, with
/// its position, and nothing of it is loaded.
pub fn load(st: &mut State) -> Result<Option<LoadStats>, String> {
    let path = rdb_path(st);
    let data = match std::fs::read(&path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB {}: {e}",
                path.display()
            ))
        }
    };
    let loaded = rdb::read_rdb(&data).map_err(|e| {
        format!(
            "Fatal error loading the DB {}: {e}. Exiting.",
            path.display()
        )
    })?;
    let ndb = st.dbs.len() as u64;
    if let Some(bad) = loaded.dbs.keys().find(|d| **d >= ndb) {
        return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {ndb} databases (it uses db {bad}). Exiting"));
    }
    let now = crate::state::now_ms();
    let mut stats = LoadStats::default();
    for (dbi, keys) in loaded.dbs {
        let db = &mut st.dbs[dbi as usize];
        for k in keys {
            // a master drops keys that expired while the file sat on disk
            if let Some(at) = k.expire {
                if at <= now {
                    stats.expired += 1;
                    continue;
                }
            }
            let mut e = Entry::new(k.value, 0);
            e.expire = k.expire.unwrap_or(NO_EXPIRE);
            db.insert_entry(k.key, e);
            stats.loaded += 1;
        }
    }
    Ok(Some(stats))
}
