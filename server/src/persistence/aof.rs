//! The append-only file, kept as Redis 7.0 keeps it (multi-part AOF,
//! `shared/reference/persistence.md` §9): a BASE snapshot plus INCR files
//! of commands, listed in a manifest, all in `dir/appenddirname`.
//!
//! - Writing: the stream of effects ([`crate::propagate`]) is encoded into
//!   an in-memory buffer while a batch of commands runs; the buffer is
//!   written to the current INCR file before the batch's replies leave
//!   (so a reply never promises more than the kernel has). Durability by
//!   `appendfsync`: `always` waits, before replying, for an fdatasync
//!   covering its bytes; the fdatasync runs when the runtime has nothing
//!   else ready (the thread is about to park: Redis's `beforeSleep`), so
//!   all the connections served meanwhile share it (group commit, see
//!   [`Durability`]); `everysec` leaves fdatasync to a thread that runs
//!   once per second; `no` leaves it to the kernel.
//! - Rewrite (BGREWRITEAOF, automatic growth trigger, turning AOF on at
//!   run time): a new INCR is opened at once and receives new writes, a
//!   forked child writes the data set as the next BASE (RDB preamble or
//!   commands), and when it succeeds the manifest switches to the new
//!   BASE; the old files become history and are deleted.
//! - Loading ([`load`]): BASE then INCRs, commands executed through a
//!   client of our own; a torn last record is cut off as
//!   `aof-load-truncated` says, anything else bad stops start-up with the
//!   file and offset.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::aof_file::{self, FileKind, Manifest, ManifestFile, Record};
use crate::db::{Db, Value, NO_EXPIRE};
use crate::state::{Shared, State};

/// `appendfsync`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    Always,
    Everysec,
    No,
}

impl Fsync {
    fn from_config(st: &State) -> Fsync {
        match st.config.get("appendfsync") {
            Some("always") => Fsync::Always,
            Some("no") => Fsync::No,
            _ => Fsync::Everysec,
        }
    }
}

/// What has reached the disk: bytes written to INCR files so far (one
/// counter across files) and bytes known to be fsynced. `always` clients
/// wait here; whoever finds no fdatasync running starts one covering
/// everything written so far, and every waiter it covers is released by
/// it (group commit).
#[derive(Debug)]
pub struct Durability {
    written: AtomicU64,
    inner: Mutex<SyncState>,
    done: tokio::sync::Notify,
    closed: AtomicBool,
    /// Connections waiting for an fdatasync.
    waiting: AtomicU64,
}

/// Part of [`crate::server::before_sleep`] (the runtime is about to
/// park: Redis's `beforeSleep`): one write of everything the batches of
/// the tick appended and, with `appendfsync always`, one fdatasync; then
/// every waiting reply is released.
pub fn before_sleep(shared: &Shared) {
    // the common case (AOF off, nothing appended this tick) costs one load
    if !WORK_PENDING.swap(false, Ordering::AcqRel) {
        return;
    }
    sync_pending(shared);
}

/// Set when a batch appended to the AOF buffer: the park hook has work.
static WORK_PENDING: AtomicBool = AtomicBool::new(false);

/// Whether the park hook has AOF work.
pub fn has_work() -> bool {
    WORK_PENDING.load(Ordering::Acquire)
}

/// Writes the AOF buffer (one `write` for every batch of the tick) and,
/// with `appendfsync always`, fdatasyncs it; then releases the replies
/// that waited for it.
fn sync_pending(shared: &Shared) {
    let (d, file, upto) = {
        let mut st = shared.lock();
        // checked at every flush, as flushAppendOnlyFile does: a child
        // started by this tick's BGSAVE already holds fsyncs back
        let skip_fsync = note_no_fsync_now(&st);
        let Some(aof) = st.aof.as_mut() else { return };
        // (writes nobody waits for, e.g. the cron's DELs, go out too)
        if aof.sync.waiting.load(Ordering::Acquire) == 0 && aof.buf.is_empty() {
            return;
        }
        let appended = aof.sync.written() + aof.buf.len() as u64;
        let res = aof.write_buf();
        let d = aof.sync.clone();
        if aof.fsync != Fsync::Always || (skip_fsync && res.is_ok()) {
            // the reply may go once the kernel has the bytes (with
            // no-appendfsync-on-rewrite and a child running, even under
            // `always`, as Redis); after a failed write it goes too (the
            // command ran) and MISCONF refuses the next writes
            d.release(appended);
            return;
        }
        if res.is_err() {
            tracing::error!("Can't write to the AOF with appendfsync always: exiting.");
            std::process::exit(1);
        }
        let mut g = d.lock();
        if g.running || g.synced >= d.written() {
            if g.running {
                // another fdatasync is under way: look again next tick
                WORK_PENDING.store(true, Ordering::Release);
            }
            drop(g);
            d.release(g_synced(&d));
            return;
        }
        g.running = true;
        let file = g.file.clone();
        drop(g);
        let upto = d.written();
        (d, file, upto)
    };
    let res = match file {
        Some(f) => f.sync_data(),
        None => Ok(()),
    };
    d.finish_sync(upto, res);
}

fn g_synced(d: &Durability) -> u64 {
    d.lock().synced
}

#[derive(Debug)]
struct SyncState {
    synced: u64,
    /// Replies waiting for bytes up to here may go: fsynced ones with
    /// `always`, written ones otherwise.
    released: u64,
    running: bool,
    file: Option<Arc<File>>,
    /// The everysec thread's last failed fdatasync, picked up by the cron
    /// (writes are refused with MISCONF, as Redis's aof_bio_fsync_status).
    last_error: Option<String>,
}

impl Durability {
    fn new(file: Arc<File>) -> Arc<Durability> {
        Arc::new(Durability {
            written: AtomicU64::new(0),
            inner: Mutex::new(SyncState {
                synced: 0,
                released: 0,
                running: false,
                file: Some(file),
                last_error: None,
            }),
            done: tokio::sync::Notify::new(),
            closed: AtomicBool::new(false),
            waiting: AtomicU64::new(0),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// One fdatasync of the current file covering everything written
    /// before it started.
    fn sync_now(&self) -> std::io::Result<()> {
        let (file, upto) = {
            let g = self.lock();
            (g.file.clone(), self.written())
        };
        if let Some(f) = file {
            f.sync_data()?;
        }
        let mut g = self.lock();
        g.synced = g.synced.max(upto);
        g.released = g.released.max(upto);
        drop(g);
        self.done.notify_waiters();
        Ok(())
    }

    /// Records the outcome of an fdatasync started with `running` set.
    fn finish_sync(&self, upto: u64, res: std::io::Result<()>) {
        {
            let mut g = self.lock();
            g.running = false;
            match res {
                Ok(()) => {
                    g.synced = g.synced.max(upto);
                    g.released = g.released.max(upto);
                }
                Err(e) => {
                    // Redis exits when an `always` fsync fails: a reply
                    // must never claim durability it does not have.
                    tracing::error!("Can't persist the AOF on disk (fsync: {e}): exiting.");
                    std::process::exit(1);
                }
            }
        }
        self.done.notify_waiters();
    }

    /// Lets replies waiting for bytes up to `upto` go.
    fn release(&self, upto: u64) {
        {
            let mut g = self.lock();
            g.released = g.released.max(upto);
        }
        self.done.notify_waiters();
    }

    /// Waits until `target` bytes (appended so far) are written, and with
    /// `appendfsync always` on disk. The write and fdatasync normally run in
    /// [`before_sleep`] once the runtime has served every ready
    /// connection; on a busy multi-threaded runtime that may not park
    /// soon, a waiter does them itself on the blocking pool.
    pub async fn wait(self: &Arc<Self>, target: u64) {
        self.waiting.fetch_add(1, Ordering::AcqRel);
        let current_thread = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::CurrentThread;
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().released >= target || self.closed.load(Ordering::Acquire) {
                break;
            }
            if current_thread {
                // the thread parks as soon as nothing else is ready
                notified.await;
                continue;
            }
            if tokio::time::timeout(Duration::from_millis(2), notified.as_mut())
                .await
                .is_ok()
            {
                continue;
            }
            if let Some(shared) = crate::server::park_shared() {
                let _ = tokio::task::spawn_blocking(move || sync_pending(&shared)).await;
            }
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    fn switch_file(&self, file: Arc<File>) {
        let mut g = self.lock();
        g.file = Some(file);
        // the old file was fsynced before the switch
        g.synced = g.synced.max(self.written());
        g.released = g.released.max(self.written());
    }
}

/// A rewrite in progress (a forked child writing the next BASE).
#[derive(Debug, Clone)]
pub struct Rewrite {
    pub pid: i32,
    pub started: Instant,
    /// The temporary file the child writes.
    pub temp: PathBuf,
}

/// Rewrites (BGREWRITEAOF), which also run with AOF off: Redis then
/// writes a BASE and a manifest listing only it.
#[derive(Debug)]
pub struct Rewriting {
    pub rewrite: Option<Rewrite>,
    pub scheduled: bool,
    pub last_ok: bool,
    pub last_time_sec: i64,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    /// Automatic rewrites are not retried before this (back-off after failures).
    pub next_auto: Option<Instant>,
}

impl Default for Rewriting {
    fn default() -> Rewriting {
        Rewriting {
            rewrite: None,
            scheduled: false,
            last_ok: true,
            last_time_sec: -1,
            rewrites: 0,
            consecutive_failures: 0,
            next_auto: None,
        }
    }
}

/// Whether AOF is fully on or waiting for its first BASE (turned on at
/// run time: writes go to a temporary INCR until the rewrite finishes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    On,
    WaitRewrite,
}

/// The AOF while `appendonly yes` (State::aof is None when off).
#[derive(Debug)]
pub struct Aof {
    /// `dir/appenddirname`.
    pub dir: PathBuf,
    /// `appendfilename`.
    pub filename: String,
    pub manifest: Manifest,
    pub status: Status,
    file: Arc<File>,
    /// Encoded commands not yet written.
    buf: Vec<u8>,
    selected_db: Option<usize>,
    pub fsync: Fsync,
    timestamps: bool,
    last_ts: i64,
    /// Size of the files in the manifest plus the current INCR (aof_current_size).
    pub current_size: u64,
    /// Size after the last rewrite / at start-up (aof_base_size).
    pub base_size: u64,
    pub sync: Arc<Durability>,
    /// The last failed write, reported as MISCONF until a write succeeds.
    pub write_error: Option<String>,
    pub delayed_fsync: u64,
}

impl Aof {
    /// Appends one command, with `SELECT` when its database differs from
    /// the last one written to this file.
    pub fn feed(&mut self, db: usize, args: &[Bytes]) {
        self.annotate();
        if self.selected_db != Some(db) {
            let n = Bytes::from(db.to_string());
            crate::propagate::encode_command(&mut self.buf, &[Bytes::from_static(b"SELECT"), n]);
            self.selected_db = Some(db);
        }
        crate::propagate::encode_command(&mut self.buf, args);
    }

    /// Appends a command that carries no database (MULTI, EXEC).
    pub fn feed_nodb(&mut self, args: &[Bytes]) {
        self.annotate();
        crate::propagate::encode_command(&mut self.buf, args);
    }

    /// `#TS:<unix seconds>` before a command when the second changed
    /// (aof-timestamp-enabled).
    fn annotate(&mut self) {
        if !self.timestamps {
            return;
        }
        let now = crate::state::now_ms() / 1000;
        if now != self.last_ts {
            self.last_ts = now;
            self.buf
                .extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
        }
    }

    /// Writes the buffer to the current INCR file. A failed or short write
    /// is cut off again (so the file never holds half a command) and the
    /// buffer kept for the next try; writes are refused meanwhile.
    fn write_buf(&mut self) -> Result<(), String> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let before = self.file.metadata().map(|m| m.len()).ok();
        match (&*self.file).write_all(&self.buf) {
            Ok(()) => {
                let n = self.buf.len() as u64;
                self.current_size += n;
                self.sync.written.fetch_add(n, Ordering::AcqRel);
                self.buf.clear();
                if self.write_error.take().is_some() {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
                Ok(())
            }
            Err(e) => {
                if let Some(len) = before {
                    let _ = self.file.set_len(len);
                }
                let msg = e.to_string();
                tracing::warn!("Error writing to the AOF file: {msg}");
                self.write_error = Some(msg.clone());
                Err(msg)
            }
        }
    }

    fn incr_path(&self, f: &ManifestFile) -> PathBuf {
        self.dir.join(&f.name)
    }
}

/// The `-MISCONF` text while AOF writes fail.
pub fn misconf(st: &State) -> Option<String> {
    let e = st.aof.as_ref()?.write_error.as_ref()?;
    Some(format!("MISCONF Errors writing to the AOF file: {e}"))
}

/// End of a batch: writes what the batch appended. With `appendfsync
/// always` returns what the caller must wait for before replying.
pub fn flush(st: &mut State) -> Option<(Arc<Durability>, u64)> {
    let aof = st.aof.as_mut()?;
    if aof.buf.is_empty() {
        return None;
    }
    // written (and with `always` fdatasynced) once per runtime tick, for
    // every batch of the tick, in [`before_sleep`]
    WORK_PENDING.store(true, Ordering::Release);
    let target = aof.sync.written() + aof.buf.len() as u64;
    Some((aof.sync.clone(), target))
}

/// What a reply must wait for: every byte appended so far, buffered
/// ones included (written, and with `always` fdatasynced).
pub fn pending_target(st: &State) -> Option<(Arc<Durability>, u64)> {
    let aof = st.aof.as_ref()?;
    let target = aof.sync.written() + aof.buf.len() as u64;
    (target > aof.sync.lock().released).then(|| (aof.sync.clone(), target))
}

/// Writes and fsyncs everything now (SHUTDOWN, switching files, turning AOF off).
pub fn flush_and_sync(st: &mut State) {
    if let Some(aof) = st.aof.as_mut() {
        let _ = aof.write_buf();
        if let Err(e) = aof.sync.sync_now() {
            tracing::warn!("fsync of the AOF failed: {e}");
        }
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn fsync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Writes the manifest atomically (temp file, fsync, rename, fsync dir).
fn persist_manifest(dir: &Path, filename: &str, m: &Manifest) -> std::io::Result<()> {
    let tmp = dir.join(aof_file::temp_manifest_name(filename));
    let path = dir.join(aof_file::manifest_name(filename));
    let mut f = File::create(&tmp)?;
    f.write_all(&m.to_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    fsync_dir(dir);
    Ok(())
}

fn file_size(p: &Path) -> u64 {
    std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
}

/// `dir/appenddirname` for a configuration.
pub fn aof_dir(st: &State) -> PathBuf {
    let dir = st.config.get("dir").unwrap_or(".");
    let sub = st.config.get("appenddirname").unwrap_or("appendonlydir");
    PathBuf::from(dir).join(sub)
}

fn aof_filename(st: &State) -> String {
    st.config
        .get("appendfilename")
        .unwrap_or("appendonly.aof")
        .to_string()
}

// ---------------------------------------------------------------------------
// The data set as a BASE file.

/// The data set as a BASE file: an RDB with `aof-base 1`
/// (aof-use-rdb-preamble yes) or commands (no).
fn encode_base(_shared: &Shared, st: &State, now: i64, preamble: bool) -> Vec<u8> {
    if preamble {
        let aux = super::rdb::RdbAux {
            ctime: now / 1000,
            used_mem: crate::info::mem_stats().used,
            repl: Some(super::rdb::ReplAux {
                stream_db: 0,
                repl_id: st.repl.replid.clone(),
                offset: st.repl.offset,
            }),
            aof_base: true,
        };
        let compress = st.config.get("rdbcompression") != Some("no");
        let checksum = st.config.get("rdbchecksum") != Some("no");
        super::rdb::write_rdb(&st.dbs, &aux, now, compress, checksum)
    } else {
        base_commands(&st.dbs, now)
    }
}

/// Items per command in a command-format BASE (AOF_REWRITE_ITEMS_PER_CMD).
const ITEMS_PER_CMD: usize = 64;

/// The data set as commands, the way Redis's `rewriteAppendOnlyFileRio`
/// writes it: SELECT per database, SET / RPUSH / SADD / HMSET / ZADD with
/// at most 64 items per command, PEXPIREAT; expired keys are left out.
pub fn base_commands(dbs: &[Db], now: i64) -> Vec<u8> {
    let mut out = Vec::new();
    let b = |s: &'static str| Bytes::from_static(s.as_bytes());
    for (i, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        crate::propagate::encode_command(&mut out, &[b("SELECT"), Bytes::from(i.to_string())]);
        for (k, e) in db.dict.iter() {
            if e.expire != NO_EXPIRE && e.expire < now {
                continue;
            }
            let key = Bytes::copy_from_slice(k);
            let mut chunked = |verb: &'static str, items: Vec<Bytes>, per: usize| {
                for c in items.chunks(ITEMS_PER_CMD * per) {
                    let mut args = Vec::with_capacity(c.len() + 2);
                    args.push(b(verb));
                    args.push(key.clone());
                    args.extend_from_slice(c);
                    crate::propagate::encode_command(&mut out, &args);
                }
            };
            match &e.value {
                Value::Str(s) => {
                    chunked("SET", vec![Bytes::copy_from_slice(s)], 1);
                }
                Value::List(l) => chunked("RPUSH", l.iter().cloned().collect(), 1),
                Value::Set(s) => chunked("SADD", s.iter().cloned().collect(), 1),
                Value::Hash(h) => chunked(
                    "HMSET",
                    h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]).collect(),
                    2,
                ),
                Value::ZSet(z) => chunked(
                    "ZADD",
                    z.iter_all(false)
                        .flat_map(|(m, s)| [Bytes::from(picket_common::num::fmt_g17(s)), m.clone()])
                        .collect(),
                    2,
                ),
            }
            if e.expire != NO_EXPIRE {
                crate::propagate::encode_command(
                    &mut out,
                    &[
                        b("PEXPIREAT"),
                        key.clone(),
                        Bytes::from(e.expire.to_string()),
                    ],
                );
            }
        }
    }
    out
}

/// Writes a whole file atomically (temp, fsync, rename, fsync dir).
fn write_file_atomic(path: &Path, tmp: &Path, data: &[u8]) -> std::io::Result<()> {
    let res = (|| {
        let mut f = File::create(tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(tmp, path)?;
        if let Some(d) = path.parent() {
            fsync_dir(d);
        }
        Ok(())
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    res
}

// ---------------------------------------------------------------------------
// Start-up.

/// What start-up found in the AOF directory.
#[derive(Debug)]
pub struct Plan {
    pub dir: PathBuf,
    pub filename: String,
    pub manifest: Manifest,
}

/// Start-up with `appendonly yes`: creates the directory, reads the
/// manifest (or adopts an old single `appendonly.aof` from `dir`, as the
/// 7.0 upgrade path does) and checks that every listed file exists.
pub fn prepare(st: &State) -> Result<Plan, String> {
    let dir = aof_dir(st);
    let filename = aof_filename(st);
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {e}",
            dir.display()
        )
    })?;
    let mpath = dir.join(aof_file::manifest_name(&filename));
    let manifest = match std::fs::read(&mpath) {
        Ok(data) => Manifest::parse(&data).map_err(|e| {
            format!("\n*** FATAL AOF MANIFEST FILE ERROR ***\nReading the manifest file, at line 1\n>>> '{}'\n{e}\n", mpath.display())
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let old = PathBuf::from(st.config.get("dir").unwrap_or(".")).join(&filename);
            if old.exists() {
                // upgrade from a single-file AOF: move it in as the BASE
                let to = dir.join(&filename);
                std::fs::rename(&old, &to)
                    .map_err(|e| format!("Error moving {} into the AOF dir: {e}", old.display()))?;
                let m = Manifest {
                    base: Some(ManifestFile {
                        name: filename.clone(),
                        seq: 1,
                        kind: FileKind::Base,
                    }),
                    ..Default::default()
                };
                persist_manifest(&dir, &filename, &m)
                    .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
                tracing::info!("Successfully migrated an old-style AOF into the AOF directory");
                m
            } else {
                Manifest::default()
            }
        }
        Err(e) => return Err(format!("Unable to open the AOF manifest: {e}")),
    };
    for f in manifest.base.iter().chain(manifest.incrs.iter()) {
        if !dir.join(&f.name).exists() {
            return Err(format!("The AOF file {} doesn't exist", f.name));
        }
    }
    Ok(Plan {
        dir,
        filename,
        manifest,
    })
}

/// Keys and commands loaded (for the log and INFO).
#[derive(Debug, Default, Clone, Copy)]
pub struct LoadReport {
    pub keys_from_base: u64,
    pub commands: u64,
    pub truncated: bool,
}

/// A fatal start-up error with what Redis would print.
pub type LoadError = String;

/// Loads BASE then INCRs into the state (which answers -LOADING
/// meanwhile): the RDB part is decoded off the lock and swapped in, the
/// commands run in chunks under the lock through a client of our own.
pub fn load(shared: &Arc<Shared>, plan: &Plan) -> Result<LoadReport, LoadError> {
    let mut report = LoadReport::default();
    let mut files: Vec<&ManifestFile> = Vec::new();
    files.extend(plan.manifest.base.iter());
    files.extend(plan.manifest.incrs.iter());
    {
        let mut st = shared.lock();
        for db in st.dbs.iter_mut() {
            db.frozen = true;
        }
    }
    let mut client = crate::conn::detached_client(u64::MAX);
    client.db = 0;
    let truncated_ok = shared.lock().config.get("aof-load-truncated") != Some("no");
    for (i, f) in files.iter().enumerate() {
        let last = i + 1 == files.len();
        let path = plan.dir.join(&f.name);
        let data = std::fs::read(&path).map_err(|e| {
            format!(
                "Fatal error: can't open the append log file {} for reading: {e}",
                f.name
            )
        })?;
        if data.is_empty() {
            continue;
        }
        let mut pos = 0;
        if data.starts_with(b"REDIS") {
            tracing::info!("Reading RDB base file on AOF loading...");
            let loaded = super::rdb::read_rdb(&data).map_err(|e| {
                format!(
                    "Bad file format reading the append only file {}: RDB preamble: {e}",
                    f.name
                )
            })?;
            pos = loaded.consumed;
            let mut st = shared.lock();
            let ndb = st.dbs.len();
            for (dbi, keys) in loaded.dbs {
                if dbi as usize >= ndb {
                    return Err(format!("FATAL: Data file was created with a Redis server configured to handle more than {ndb} databases. Exiting"));
                }
                let db = &mut st.dbs[dbi as usize];
                db.dict.reserve(keys.len());
                for k in keys {
                    // an AOF base keeps keys that expired meanwhile: the
                    // INCR part (or expiry after loading) decides
                    let mut e = crate::db::Entry::new(k.value, 0);
                    e.expire = k.expire.unwrap_or(NO_EXPIRE);
                    db.insert_entry(k.key, e);
                    report.keys_from_base += 1;
                }
            }
            tracing::info!("Reading the remaining AOF tail...");
        }
        let n = run_commands(shared, &mut client, &data, pos, &f.name)?;
        report.commands += n.commands;
        if let Some(at) = n.truncated_at {
            if !last {
                return Err(format!(
                    "Fatal error: the truncated file is not the last file ({})",
                    f.name
                ));
            }
            if !truncated_ok {
                return Err(format!(
                    "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
                    f.name
                ));
            }
            tracing::warn!(
                "!!! Warning: short read while loading the AOF file {}!!!",
                f.name
            );
            tracing::warn!("!!! Truncating the AOF {} at offset {at} !!!", f.name);
            let ok = OpenOptions::new()
                .write(true)
                .open(&path)
                .and_then(|fh| fh.set_len(at as u64));
            if let Err(e) = ok {
                return Err(format!("Error truncating the AOF file {}: {e}", f.name));
            }
            tracing::warn!(
                "AOF {} loaded anyway because aof-load-truncated is enabled",
                f.name
            );
            report.truncated = true;
        }
    }
    let mut st = shared.lock();
    for db in st.dbs.iter_mut() {
        db.frozen = false;
    }
    // the load's own commands are not traffic (Redis runs them outside call())
    st.command_stats.clear();
    st.stats.total_commands_processed = 0;
    st.dirty = 0;
    Ok(report)
}

struct Ran {
    commands: u64,
    truncated_at: Option<usize>,
}

/// Runs the command part of one file; returns where a torn final record
/// (or an unfinished MULTI) starts, if any.
fn run_commands(
    shared: &Arc<Shared>,
    client: &mut crate::state::ClientInfo,
    data: &[u8],
    mut pos: usize,
    name: &str,
) -> Result<Ran, LoadError> {
    const CHUNK: usize = 1024;
    let mut ran = Ran {
        commands: 0,
        truncated_at: None,
    };
    let mut multi: Option<(usize, Vec<Vec<Bytes>>)> = None;
    let mut batch: Vec<Vec<Bytes>> = Vec::with_capacity(CHUNK);
    loop {
        let rec = aof_file::next_record(data, pos);
        match rec {
            Record::Command { args, end, start } => {
                pos = end;
                let is = |n: &str| args[0].eq_ignore_ascii_case(n.as_bytes());
                if is("multi") {
                    if multi.is_some() {
                        return Err(format!("Bad file format reading the append only file {name}: nested MULTI at offset {start}"));
                    }
                    multi = Some((start, Vec::new()));
                } else if is("exec") {
                    let Some((_, cmds)) = multi.take() else {
                        return Err(format!("Bad file format reading the append only file {name}: EXEC without MULTI at offset {start}"));
                    };
                    batch.extend(cmds);
                } else if let Some((_, cmds)) = multi.as_mut() {
                    cmds.push(args);
                } else {
                    batch.push(args);
                }
                if batch.len() >= CHUNK {
                    ran.commands += exec_batch(shared, client, &mut batch, name)?;
                }
            }
            Record::Annotation { end, .. } => pos = end,
            Record::End => break,
            Record::Truncated { at } => {
                ran.truncated_at = Some(at);
                break;
            }
            Record::Bad { at, msg } => {
                return Err(format!(
                    "Bad file format reading the append only file {name}: {msg} at offset {at}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
                ));
            }
        }
    }
    if let Some((at, _)) = multi {
        // an unfinished transaction counts as a torn end: cut before MULTI
        ran.truncated_at = Some(ran.truncated_at.map_or(at, |t| t.min(at)));
    }
    ran.commands += exec_batch(shared, client, &mut batch, name)?;
    Ok(ran)
}

fn exec_batch(
    shared: &Arc<Shared>,
    client: &mut crate::state::ClientInfo,
    batch: &mut Vec<Vec<Bytes>>,
    name: &str,
) -> Result<u64, LoadError> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut st = shared.lock();
    st.start_batch(shared.started);
    let n = batch.len() as u64;
    for args in batch.drain(..) {
        let Some(cmd) = crate::cmd::lookup(&args[0]) else {
            return Err(format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&args[0])
            ));
        };
        if (cmd.arity > 0 && args.len() as i32 != cmd.arity) || (args.len() as i32) < -cmd.arity {
            return Err(format!(
                "Bad file format reading the append only file {name}: wrong number of arguments for '{}'",
                cmd.name
            ));
        }
        let _ = crate::cmd::call(shared, &mut st, client, cmd, &args, true);
        crate::cmd::after_command(&mut st, Some(client));
    }
    Ok(n)
}

/// After loading (or with no AOF yet): opens the AOF for appending.
/// With no BASE and no INCR a BASE of the current data set is written
/// first, synchronously (Redis 7.0's `aofOpenIfNeededOnServerStart`).
pub fn open(shared: &Shared, st: &mut State, plan: Plan) -> Result<(), String> {
    let Plan {
        dir,
        filename,
        mut manifest,
    } = plan;
    let preamble = st.config.get("aof-use-rdb-preamble") != Some("no");
    let mut dirty_manifest = false;
    if manifest.base.is_none() && manifest.incrs.is_empty() {
        let seq = manifest.next_base_seq();
        let name = aof_file::base_name(&filename, seq, preamble);
        let data = encode_base(shared, st, crate::state::now_ms(), preamble);
        let tmp = dir.join(format!("temp-rewriteaof-{}.aof", std::process::id()));
        write_file_atomic(&dir.join(&name), &tmp, &data)
            .map_err(|e| format!("Can't write the AOF base file {name}: {e}"))?;
        manifest.base = Some(ManifestFile {
            name,
            seq,
            kind: FileKind::Base,
        });
        dirty_manifest = true;
    }
    if manifest.incrs.is_empty() {
        let seq = manifest.next_incr_seq();
        manifest.incrs.push(ManifestFile {
            name: aof_file::incr_name(&filename, seq),
            seq,
            kind: FileKind::Incr,
        });
        dirty_manifest = true;
    }
    let incr = manifest.incrs.last().cloned().expect("an INCR");
    let file = open_append(&dir.join(&incr.name))
        .map_err(|e| format!("Can't open the append-only file {}: {e}", incr.name))?;
    if dirty_manifest {
        persist_manifest(&dir, &filename, &manifest)
            .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    }
    // history files left by an interrupted clean-up
    delete_history(&dir, &filename, &mut manifest);
    let base_size = manifest
        .base
        .as_ref()
        .map(|b| file_size(&dir.join(&b.name)))
        .unwrap_or(0);
    let current = base_size
        + manifest
            .incrs
            .iter()
            .map(|f| file_size(&dir.join(&f.name)))
            .sum::<u64>();
    let file = Arc::new(file);
    let sync = Durability::new(file.clone());
    st.aof = Some(new_aof(
        st,
        dir,
        filename,
        manifest,
        Status::On,
        file,
        sync,
        current,
        base_size,
    ));
    config_changed(st);
    spawn_fsync_thread(shared_sync(st));
    Ok(())
}

fn shared_sync(st: &State) -> Arc<Durability> {
    st.aof.as_ref().map(|a| a.sync.clone()).expect("aof on")
}

#[allow(clippy::too_many_arguments)]
fn new_aof(
    st: &State,
    dir: PathBuf,
    filename: String,
    manifest: Manifest,
    status: Status,
    file: Arc<File>,
    sync: Arc<Durability>,
    current_size: u64,
    base_size: u64,
) -> Aof {
    Aof {
        dir,
        filename,
        manifest,
        status,
        file,
        buf: Vec::new(),
        selected_db: None,
        fsync: Fsync::from_config(st),
        timestamps: st.config.get("aof-timestamp-enabled") == Some("yes"),
        last_ts: 0,
        current_size,
        base_size,
        sync,
        write_error: None,
        delayed_fsync: 0,
    }
}

/// The `everysec` fsync thread: once per second, fdatasync when bytes
/// were written since the last one (Redis's bio fsync job). Ends when the
/// AOF is turned off.
fn spawn_fsync_thread(sync: Arc<Durability>) {
    let _ = std::thread::Builder::new()
        .name("aof-fsync".into())
        .spawn(move || {
            while !sync.closed.load(Ordering::Acquire) {
                std::thread::sleep(Duration::from_secs(1));
                if sync.closed.load(Ordering::Acquire) {
                    break;
                }
                let policy =
                    FSYNC_EVERYSEC.load(Ordering::Relaxed) && !NO_FSYNC_NOW.load(Ordering::Relaxed);
                let pending = sync.written() > sync.lock().synced;
                if policy && pending {
                    if let Err(e) = sync.sync_now() {
                        let mut g = sync.lock();
                        g.last_error = Some(e.to_string());
                        tracing::warn!("AOF fsync failed: {e}");
                    }
                }
            }
        });
}

/// `no-appendfsync-on-rewrite yes` while a child process (BGSAVE,
/// rewrite, diskless sync) runs: no fsync then (Redis's
/// `aof_no_fsync_on_rewrite && hasActiveChildProcess()`). Updated at every
/// flush and by the cron, read by the everysec fsync thread.
static NO_FSYNC_NOW: AtomicBool = AtomicBool::new(false);

/// Computes and publishes [`NO_FSYNC_NOW`] from `st`.
fn note_no_fsync_now(st: &State) -> bool {
    let child = st.bgsave.is_some() || st.aofrw.rewrite.is_some() || st.repl.fullsync.is_some();
    let now = child && st.config.get("no-appendfsync-on-rewrite") == Some("yes");
    NO_FSYNC_NOW.store(now, Ordering::Relaxed);
    now
}

/// Whether the fsync thread should fsync (appendfsync everysec), kept
/// apart from the State lock so the thread never takes it.
static FSYNC_EVERYSEC: AtomicBool = AtomicBool::new(true);

/// Applies `appendfsync` / `aof-timestamp-enabled` after CONFIG SET.
pub fn config_changed(st: &mut State) {
    let policy = Fsync::from_config(st);
    let ts = st.config.get("aof-timestamp-enabled") == Some("yes");
    FSYNC_EVERYSEC.store(policy == Fsync::Everysec, Ordering::Relaxed);
    if let Some(aof) = st.aof.as_mut() {
        aof.fsync = policy;
        aof.timestamps = ts;
    }
}

fn delete_history(dir: &Path, filename: &str, m: &mut Manifest) {
    if m.history.is_empty() {
        return;
    }
    let history = std::mem::take(&mut m.history);
    if let Err(e) = persist_manifest(dir, filename, m) {
        tracing::warn!("Can't persist the AOF manifest: {e}");
        m.history = history;
        return;
    }
    for h in history {
        let p = dir.join(&h.name);
        match std::fs::remove_file(&p) {
            Ok(()) => tracing::info!("Removing the history file {} in the background", h.name),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("Can't remove the history file {}: {e}", h.name),
        }
    }
}

// ---------------------------------------------------------------------------
// Rewrite.

/// BGREWRITEAOF: opens the next INCR for new writes and forks a child
/// that writes the data set as the next BASE. With AOF off it only
/// writes the BASE (and a manifest naming it), as Redis 7.0 does.
pub fn rewrite_start(shared: &Shared, st: &mut State) -> Result<(), String> {
    if st.aofrw.rewrite.is_some() {
        return Err("Background append only file rewriting already in progress".into());
    }
    if st.bgsave.is_some() {
        st.aofrw.scheduled = true;
        return Err("scheduled".into());
    }
    let dir = match st.aof.as_mut() {
        Some(aof) => {
            // everything so far goes to the old INCR, durably
            let _ = aof.write_buf();
            let _ = aof.sync.sync_now();
            if aof.status == Status::On {
                let seq = aof.manifest.next_incr_seq();
                let f = ManifestFile {
                    name: aof_file::incr_name(&aof.filename, seq),
                    seq,
                    kind: FileKind::Incr,
                };
                let file = open_append(&aof.incr_path(&f))
                    .map_err(|e| format!("Can't open the append-only file {}: {e}", f.name))?;
                aof.manifest.incrs.push(f);
                persist_manifest(&aof.dir, &aof.filename, &aof.manifest)
                    .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
                let file = Arc::new(file);
                aof.sync.switch_file(file.clone());
                aof.file = file;
                aof.selected_db = None;
            }
            aof.dir.clone()
        }
        None => {
            let dir = aof_dir(st);
            std::fs::create_dir_all(&dir).map_err(|e| {
                format!(
                    "Can't open or create append-only dir {}: {e}",
                    dir.display()
                )
            })?;
            dir
        }
    };
    let preamble = st.config.get("aof-use-rdb-preamble") != Some("no");
    let now = crate::state::now_ms();
    let t = Instant::now();
    // SAFETY: the child only encodes its copy-on-write image of the data
    // set (the allocator is fork-safe in glibc) and writes one file, then
    // _exits without running destructors; it takes no lock another thread
    // could hold (see persistence::bgsave_start).
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!(
            "Can't rewrite append only file in background: fork: {}",
            std::io::Error::last_os_error()
        ));
    }
    if pid == 0 {
        let me = std::process::id();
        let data = encode_base(shared, st, now, preamble);
        let tmp = dir.join(format!("temp-rewriteaof-bg-{me}.aof"));
        let ok = (|| -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&data)?;
            f.sync_all()
        })()
        .is_ok();
        // SAFETY: ends the child without the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    st.latest_fork_usec = t.elapsed().as_micros() as u64;
    st.total_forks += 1;
    st.aofrw.scheduled = false;
    st.aofrw.rewrite = Some(Rewrite {
        pid,
        started: Instant::now(),
        temp: dir.join(format!("temp-rewriteaof-bg-{pid}.aof")),
    });
    tracing::info!("Background append only file rewriting started by pid {pid}");
    Ok(())
}

/// Cron: reaps a finished rewrite, starts a scheduled or automatic one.
pub fn cron(shared: &Shared, st: &mut State) {
    // appendfsync may have changed under the fsync thread
    FSYNC_EVERYSEC.store(
        st.aof.as_ref().is_some_and(|a| a.fsync == Fsync::Everysec),
        Ordering::Relaxed,
    );
    note_no_fsync_now(st);
    if let Some(aof) = st.aof.as_mut() {
        if let Some(e) = aof.sync.lock().last_error.take() {
            aof.write_error = Some(e);
        }
        if aof.write_error.is_some() {
            // retry: the pending bytes, or (after a failed fsync) an fsync
            if aof.buf.is_empty() {
                if aof.sync.sync_now().is_ok() {
                    aof.write_error = None;
                }
            } else {
                let _ = aof.write_buf();
            }
        }
    }
    if let Some(rw) = st.aofrw.rewrite.clone() {
        let mut status: libc::c_int = 0;
        // SAFETY: non-blocking wait on our own child.
        let r = unsafe { libc::waitpid(rw.pid, &mut status, libc::WNOHANG) };
        if r == 0 {
            return;
        }
        st.aofrw.rewrite = None;
        st.aofrw.last_time_sec = rw.started.elapsed().as_secs() as i64;
        let ok = r == rw.pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        if ok {
            if let Err(e) = rewrite_done(st, &rw) {
                tracing::warn!("Background AOF rewrite failed at the switch: {e}");
                rewrite_failed(st, &rw);
            }
        } else {
            tracing::warn!("Background AOF rewrite terminated with error");
            rewrite_failed(st, &rw);
        }
        return;
    }
    if st.bgsave.is_some() {
        return;
    }
    if st.aofrw.next_auto.is_some_and(|t| Instant::now() < t) {
        return;
    }
    if st.aofrw.scheduled {
        if let Err(e) = rewrite_start(shared, st) {
            tracing::warn!("{e}");
        }
        return;
    }
    let Some(aof) = st.aof.as_ref() else { return };
    // automatic rewrite on growth
    let perc = st
        .config
        .get("auto-aof-rewrite-percentage")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(100);
    let min = st
        .config
        .get("auto-aof-rewrite-min-size")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(64 << 20);
    if perc == 0 || aof.status != Status::On || aof.current_size <= min {
        return;
    }
    let base = aof.base_size.max(1);
    let growth = (aof.current_size * 100 / base).saturating_sub(100);
    if growth >= perc {
        tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
        if let Err(e) = rewrite_start(shared, st) {
            tracing::warn!("{e}");
        }
    }
}

fn rewrite_failed(st: &mut State, rw: &Rewrite) {
    let _ = std::fs::remove_file(&rw.temp);
    let rw_state = &mut st.aofrw;
    rw_state.last_ok = false;
    rw_state.consecutive_failures += 1;
    if st
        .aof
        .as_ref()
        .is_some_and(|a| a.status == Status::WaitRewrite)
    {
        // AOF was turned on and has no BASE yet: try again
        rw_state.scheduled = true;
    }
    if rw_state.consecutive_failures >= 3 {
        // 1, 2, 4 ... up to 60 minutes
        let exp = (rw_state.consecutive_failures - 3).min(6) as u32;
        let mins = (1u64 << exp).min(60);
        rw_state.next_auto = Some(Instant::now() + Duration::from_secs(mins * 60));
    }
}

/// The child wrote the new BASE: rename it in, switch the manifest, drop
/// the history.
fn rewrite_done(st: &mut State, rw: &Rewrite) -> Result<(), String> {
    let preamble = st.config.get("aof-use-rdb-preamble") != Some("no");
    if st.aof.is_none() {
        return rewrite_done_off(st, rw, preamble);
    }
    let Some(aof) = st.aof.as_mut() else {
        return Ok(());
    };
    let mut m = aof.manifest.clone();
    let seq = m.next_base_seq();
    let name = aof_file::base_name(&aof.filename, seq, preamble);
    std::fs::rename(&rw.temp, aof.dir.join(&name)).map_err(|e| e.to_string())?;
    fsync_dir(&aof.dir);
    if let Some(old) = m.base.take() {
        m.history.push(ManifestFile {
            kind: FileKind::History,
            ..old
        });
    }
    m.base = Some(ManifestFile {
        name: name.clone(),
        seq,
        kind: FileKind::Base,
    });
    if aof.status == Status::WaitRewrite {
        // turned on at run time: the temporary INCR becomes the first INCR
        for old in m.incrs.drain(..) {
            m.history.push(ManifestFile {
                kind: FileKind::History,
                ..old
            });
        }
        let seq = m.next_incr_seq();
        let incr = aof_file::incr_name(&aof.filename, seq);
        std::fs::rename(
            aof.dir.join(aof_file::temp_incr_name(&aof.filename)),
            aof.dir.join(&incr),
        )
        .map_err(|e| e.to_string())?;
        m.incrs.push(ManifestFile {
            name: incr,
            seq,
            kind: FileKind::Incr,
        });
    } else {
        // every INCR but the one opened when the rewrite started is in the new BASE
        let keep = m.incrs.pop();
        for old in m.incrs.drain(..) {
            m.history.push(ManifestFile {
                kind: FileKind::History,
                ..old
            });
        }
        m.incrs.extend(keep);
    }
    persist_manifest(&aof.dir, &aof.filename, &m).map_err(|e| e.to_string())?;
    aof.manifest = m;
    aof.status = Status::On;
    aof.base_size = file_size(&aof.dir.join(&name));
    let incr_size: u64 = aof
        .manifest
        .incrs
        .iter()
        .map(|f| file_size(&aof.dir.join(&f.name)))
        .sum();
    aof.current_size = aof.base_size + incr_size + aof.buf.len() as u64;
    let dir = aof.dir.clone();
    let filename = aof.filename.clone();
    let gc = st.config.get("aof-disable-auto-gc") != Some("yes");
    if let Some(aof) = st.aof.as_mut() {
        if gc {
            delete_history(&dir, &filename, &mut aof.manifest);
        }
    }
    rewrite_succeeded(st);
    Ok(())
}

fn rewrite_succeeded(st: &mut State) {
    st.aofrw.last_ok = true;
    st.aofrw.consecutive_failures = 0;
    st.aofrw.next_auto = None;
    st.aofrw.rewrites += 1;
    tracing::info!("Background AOF rewrite finished successfully");
}

/// A rewrite with AOF off: the new BASE replaces whatever the manifest
/// listed (those files become history and are deleted), and the manifest
/// names only the BASE.
fn rewrite_done_off(st: &mut State, rw: &Rewrite, preamble: bool) -> Result<(), String> {
    let dir = aof_dir(st);
    let filename = aof_filename(st);
    let mut m = std::fs::read(dir.join(aof_file::manifest_name(&filename)))
        .ok()
        .and_then(|d| Manifest::parse(&d).ok())
        .unwrap_or_default();
    let seq = m.next_base_seq();
    let name = aof_file::base_name(&filename, seq, preamble);
    std::fs::rename(&rw.temp, dir.join(&name)).map_err(|e| e.to_string())?;
    fsync_dir(&dir);
    for old in m.base.take().into_iter().chain(m.incrs.drain(..)) {
        m.history.push(ManifestFile {
            kind: FileKind::History,
            ..old
        });
    }
    m.base = Some(ManifestFile {
        name,
        seq,
        kind: FileKind::Base,
    });
    persist_manifest(&dir, &filename, &m).map_err(|e| e.to_string())?;
    if st.config.get("aof-disable-auto-gc") != Some("yes") {
        delete_history(&dir, &filename, &mut m);
    }
    rewrite_succeeded(st);
    Ok(())
}

/// Stops a running rewrite (AOF turned off, SHUTDOWN, FLUSHALL).
pub fn rewrite_kill(st: &mut State) {
    if let Some(rw) = st.aofrw.rewrite.take() {
        // SAFETY: signals and reaps our own child.
        unsafe {
            libc::kill(rw.pid, libc::SIGUSR1);
            let mut status = 0;
            libc::waitpid(rw.pid, &mut status, 0);
        }
        let _ = std::fs::remove_file(&rw.temp);
    }
}

// ---------------------------------------------------------------------------
// Turning AOF on and off at run time.

/// CONFIG SET appendonly yes: new writes go to a temporary INCR while a
/// rewrite writes the first BASE; AOF is fully on when it finishes.
pub fn enable(shared: &Shared, st: &mut State) -> Result<(), String> {
    if st.aof.is_some() {
        return Ok(());
    }
    let dir = aof_dir(st);
    let filename = aof_filename(st);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't create the AOF directory {}: {e}", dir.display()))?;
    let mpath = dir.join(aof_file::manifest_name(&filename));
    let manifest = match std::fs::read(&mpath) {
        Ok(d) => Manifest::parse(&d).unwrap_or_default(),
        Err(_) => Manifest::default(),
    };
    let tmp = dir.join(aof_file::temp_incr_name(&filename));
    let file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| format!("Can't open the append-only file {}: {e}", tmp.display()))?;
    let file = Arc::new(file);
    let sync = Durability::new(file.clone());
    st.aof = Some(new_aof(
        st,
        dir,
        filename,
        manifest,
        Status::WaitRewrite,
        file,
        sync,
        0,
        0,
    ));
    spawn_fsync_thread(shared_sync(st));
    FSYNC_EVERYSEC.store(Fsync::from_config(st) == Fsync::Everysec, Ordering::Relaxed);
    match rewrite_start(shared, st) {
        Ok(()) => Ok(()),
        Err(e) if e == "scheduled" => Ok(()),
        Err(e) => {
            disable(st);
            Err(e)
        }
    }
}

/// CONFIG SET appendonly no (and SHUTDOWN): flush, fsync, close.
pub fn disable(st: &mut State) {
    rewrite_kill(st);
    flush_and_sync(st);
    if let Some(aof) = st.aof.take() {
        aof.sync.closed.store(true, Ordering::Release);
        aof.sync.done.notify_waiters();
        if aof.status == Status::WaitRewrite {
            let _ = std::fs::remove_file(aof.dir.join(aof_file::temp_incr_name(&aof.filename)));
        }
    }
}

/// INFO persistence's AOF fields.
pub fn info_fields(st: &State) -> String {
    let rw = &st.aofrw;
    let mut s = format!(
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        st.aof.is_some() as u8,
        rw.rewrite.is_some() as u8,
        rw.scheduled as u8,
        rw.last_time_sec,
        rw.rewrite
            .as_ref()
            .map(|r| r.started.elapsed().as_secs() as i64)
            .unwrap_or(-1),
        if rw.last_ok { "ok" } else { "err" },
        rw.rewrites,
        rw.consecutive_failures,
        if st.aof.as_ref().is_some_and(|a| a.write_error.is_some()) {
            "err"
        } else {
            "ok"
        },
    );
    if let Some(a) = st.aof.as_ref() {
        s.push_str(&format!(
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:{}\r\n",
            a.current_size + a.buf.len() as u64,
            a.base_size,
            rw.scheduled as u8,
            a.buf.len(),
            a.delayed_fsync,
        ));
    }
    s
}
