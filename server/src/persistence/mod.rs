//! Persistence.
//!
//! - [`rdb`]: RDB version 10 encoding and decoding of the key space.
//! - [`aof`]: the multi-part append-only file at run time (writing,
//!   fsync, rewrite, loading); [`aof_file`]: its file formats (manifest,
//!   records); [`aof_check`]: the `--check-aof` checker.
//! - this module: SAVE to `dir/dbfilename` (atomic: temp file, fsync,
//!   rename), BGSAVE by fork, the `save` points, and loading that file at
//!   start-up.

pub mod aof;
pub mod aof_check;
pub mod aof_file;
pub mod rdb;

use std::path::PathBuf;

use crate::state::{Shared, State};

/// What a load did (INFO rdb_last_load_keys_loaded / _expired).
#[derive(Debug, Clone, Copy, Default)]
pub struct LoadStats {
    pub loaded: u64,
    pub expired: u64,
}

/// The replication position an RDB file carries (aux repl-id,
/// repl-offset, repl-stream-db).
#[derive(Debug, Clone)]
pub struct ReplInfo {
    pub id: String,
    pub offset: i64,
    pub stream_db: usize,
}

fn repl_info(loaded: &rdb::LoadedRdb) -> Option<ReplInfo> {
    let get = |k: &[u8]| {
        loaded
            .aux
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| String::from_utf8(v.clone()).ok())
    };
    let id = get(b"repl-id").filter(|i| i.len() == 40)?;
    let offset = get(b"repl-offset")?.parse().ok()?;
    let stream_db = get(b"repl-stream-db")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Some(ReplInfo {
        id,
        offset,
        stream_db,
    })
}

/// A decoded dump: the databases, what loading counted, and the
/// replication position it carries.
pub type Loaded = (Vec<crate::db::Db>, LoadStats, Option<ReplInfo>);

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
    let path = rdb_path(st);
    let started = std::time::Instant::now();
    let res = write_snapshot(&path, |w| encode_snapshot(shared, st, now, w));
    match res {
        Ok(len) => {
            st.dirty = 0;
            st.lastsave = now / 1000;
            st.rdb_saves += 1;
            st.rdb_last_save_ok = true;
            tracing::info!(
                "DB saved on disk ({} bytes in {:?})",
                len,
                started.elapsed()
            );
            Ok(())
        }
        Err(e) => {
            st.rdb_last_save_ok = false;
            tracing::warn!("Failed saving the DB: {e}");
            Err(e.to_string())
        }
    }
}

/// Streams the whole key space as an RDB file to `w`, with the configured
/// compression and checksum and the AUX fields Redis writes; returns the
/// bytes written. The replication position (repl-stream-db, repl-id,
/// repl-offset) is written only when we are part of a replication chain
/// (a master with a backlog, a replica: Redis's rdbPopulateSaveInfo), so
/// a restart can continue partially and a standalone SAVE looks like a
/// standalone Redis's.
pub fn encode_snapshot(
    _shared: &Shared,
    st: &State,
    now: i64,
    w: &mut impl std::io::Write,
) -> std::io::Result<u64> {
    let in_chain = st.repl.backlog.is_some() || st.repl.master.is_some();
    let aux = rdb::RdbAux {
        ctime: now / 1000,
        used_mem: crate::info::mem_stats().used,
        repl: in_chain.then(|| rdb::ReplAux {
            stream_db: st.repl.master_db_for_rdb() as i64,
            repl_id: st.repl.replid.clone(),
            offset: st.repl.offset,
        }),
        aof_base: false,
    };
    let compress = st.config.get("rdbcompression") != Some("no");
    let checksum = st.config.get("rdbchecksum") != Some("no");
    rdb::write_rdb_to(w, &st.dbs, &aux, now, compress, checksum)
}

/// Writes a snapshot like Redis: `encode` streams it into
/// `temp-<pid>.rdb` in the same directory, then fsync, rename over the
/// target, fsync the directory; the temp file is removed on failure, so a
/// reader only ever sees a whole file. Returns the file's size.
fn write_snapshot(
    path: &std::path::Path,
    encode: impl FnOnce(&mut std::fs::File) -> std::io::Result<u64>,
) -> std::io::Result<u64> {
    let dir = path
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_else(|| PathBuf::from("."));
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let res = (|| -> std::io::Result<u64> {
        let mut f = std::fs::File::create(&tmp)?;
        let len = encode(&mut f)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(len)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Reads and decodes an RDB file into fresh databases, without touching
/// the server state (so it can run while the server answers `-LOADING`).
/// A missing file is `Ok(None)`; a corrupt or truncated one is an error
/// with its position, and nothing of it is used.
pub fn load_file(path: &std::path::Path, ndb: usize, now: i64) -> Result<Option<Loaded>, String> {
    let data = match std::fs::read(path) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB {}: {e}",
                path.display()
            ))
        }
    };
    let mut dbs: Vec<crate::db::Db> = (0..ndb).map(|_| crate::db::Db::default()).collect();
    match rdb::read_rdb_into_dbs(&data, &mut dbs, now) {
        Ok((loaded, stats)) => Ok(Some((dbs, stats, repl_info(&loaded)))),
        Err(rdb::RdbError::DbOutOfRange { db, .. }) => Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {ndb} databases (it uses db {db}). Exiting")),
        Err(e) => Err(format!(
            "Fatal error loading the DB {}: {e}. Exiting.",
            path.display()
        )),
    }
}

/// Loads `dir/dbfilename` in place (DEBUG RELOAD): the databases are
/// replaced only when the whole file decoded.
pub fn load(st: &mut State) -> Result<Option<LoadStats>, String> {
    let path = rdb_path(st);
    match load_file(&path, st.dbs.len(), crate::state::now_ms())? {
        Some((dbs, stats, _)) => {
            st.dbs = dbs;
            Ok(Some(stats))
        }
        None => Ok(None),
    }
}

/// A background save in progress (a forked child writing the snapshot).
#[derive(Debug, Clone, Copy)]
pub struct BgSave {
    /// The child's pid.
    pub pid: i32,
    /// When it started.
    pub started: std::time::Instant,
    /// Changes counted when it started (they are in the snapshot).
    pub dirty_at_start: u64,
}

/// BGSAVE: forks; the child writes the snapshot from its copy-on-write
/// image of memory while the parent keeps serving (Redis's mechanism).
pub fn bgsave_start(shared: &Shared, st: &mut State) -> Result<(), String> {
    if st.bgsave.is_some() {
        return Err("Background save already in progress".into());
    }
    let now = crate::state::now_ms();
    let path = rdb_path(st);
    let t = std::time::Instant::now();
    // SAFETY: the child only serializes its copy-on-write image of the
    // data set and writes one file, then _exits. It takes no lock another
    // thread could hold: the State lock is held by this very thread (the
    // child uses `st` directly), it does not log, and glibc's allocator
    // re-initialises its locks in the child of a multi-threaded process
    // (as Redis relies on with its own background threads).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "Can't save in background: fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        let ok = write_snapshot(&path, |w| encode_snapshot(shared, st, now, w)).is_ok();
        // SAFETY: leaves the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    st.latest_fork_usec = t.elapsed().as_micros() as u64;
    st.total_forks += 1;
    st.bgsave = Some(BgSave {
        pid,
        started: std::time::Instant::now(),
        dirty_at_start: st.dirty,
    });
    tracing::info!("Background saving started by pid {pid}");
    Ok(())
}

/// Called from the cron: reaps a finished background save.
pub fn bgsave_poll(st: &mut State) {
    let Some(b) = st.bgsave else { return };
    let mut status: libc::c_int = 0;
    // SAFETY: non-blocking wait on our own child.
    let r = unsafe { libc::waitpid(b.pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return;
    }
    st.bgsave = None;
    st.rdb_last_bgsave_time_sec = b.started.elapsed().as_secs() as i64;
    let ok = r == b.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if ok {
        st.dirty = st.dirty.saturating_sub(b.dirty_at_start);
        st.lastsave = crate::state::now_ms() / 1000;
        st.rdb_saves += 1;
        st.rdb_last_save_ok = true;
        st.rdb_last_try_ms = 0;
        tracing::info!("Background saving terminated with success");
    } else {
        st.rdb_last_save_ok = false;
        st.rdb_last_try_ms = crate::state::now_ms();
        tracing::warn!("Background saving error");
    }
    crate::replication::master::bgsave_done(st, ok);
}

/// The `save <seconds> <changes>` points: starts a BGSAVE when one is
/// due (after a failure, retries at most every 5 s, as Redis does).
pub fn save_points_check(shared: &Shared, st: &mut State) {
    let rewriting = st.aofrw.rewrite.is_some();
    if st.bgsave.is_none() && !rewriting && st.bgsave_scheduled && !st.loading {
        st.bgsave_scheduled = false;
        if let Err(e) = bgsave_start(shared, st) {
            tracing::warn!("{e}");
        }
        return;
    }
    if st.bgsave.is_some() || rewriting || st.loading || st.config.save_params.is_empty() {
        return;
    }
    let now = crate::state::now_ms();
    let since = now / 1000 - st.lastsave;
    let due = st
        .config
        .save_params
        .iter()
        .any(|(secs, changes)| st.dirty >= *changes as u64 && since >= *secs);
    let may_retry = st.rdb_last_save_ok || now - st.rdb_last_try_ms > 5_000;
    if due && may_retry {
        tracing::info!("{} changes in {} seconds. Saving...", st.dirty, since);
        if let Err(e) = bgsave_start(shared, st) {
            tracing::warn!("{e}");
            st.rdb_last_save_ok = false;
            st.rdb_last_try_ms = now;
        }
    }
}

/// Stops a running background save (SHUTDOWN, FLUSHALL).
pub fn bgsave_kill(st: &mut State) {
    if let Some(b) = st.bgsave.take() {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(b.pid, libc::SIGUSR1);
            let mut status = 0;
            libc::waitpid(b.pid, &mut status, 0);
        }
        let _ = std::fs::remove_file(std::path::Path::new(&format!("temp-{}.rdb", b.pid)));
    }
}
