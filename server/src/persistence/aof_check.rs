//! `picket-server --check-aof [--fix|--truncate-to-timestamp <ts>] <file>`:
//! Redis 7.0.15's `redis-check-aof`, same input kinds, output lines, prompt
//! and exit codes.
//!
//! The input is a manifest (every BASE and INCR file it lists is checked, in
//! load order), an old-style AOF of commands, an old-style AOF with an RDB
//! preamble, or a BASE `.rdb`. For each file it prints
//! `AOF analyzed: filename=…, size=…, ok_up_to=…, ok_up_to_line=…, diff=…`
//! where `ok_up_to` is the end of the last whole record outside a
//! transaction and `ok_up_to_line` is redis-check-aof's running count of
//! `\r\n` lines read (over all files). `--fix` asks `Continue? [y/N]:` on
//! stdin and truncates there, only in the last file. With
//! `--truncate-to-timestamp` the last file is cut at the first `#TS:`
//! annotation later than the given unix time.
//!
//! Deliberate differences from redis-check-aof, where it misbehaves:
//! * Redis takes any file with a line starting with `file` for a manifest,
//!   so an AOF holding a value that starts with `file` right after a
//!   `\r\n` cannot be checked; here only the first line that is not a
//!   comment decides.
//! * The RDB part is reported in the shape of `--check-rdb` (no per-field
//!   lines) and decoded by Picket's RDB reader.
//! * Manifest errors are printed without the log-line prefix.

use std::io::{BufRead, Write};

use super::aof_file::{self, c_strtol, is_cmd, parse_record, Manifest, Record};
use super::rdb;

/// `exit(code)` somewhere down the call chain.
struct Exit(i32);

/// What a check of one file concluded (`AOF_CHECK_*`).
enum Status {
    Ok,
    Empty,
    Truncated,
    TimestampTruncated,
}

/// Runs the checker with `args` (after `--check-aof`), printing to `out`
/// and reading the `--fix` confirmation from `input`. Returns the exit code.
pub fn run(args: &[String], out: &mut dyn Write, input: &mut dyn BufRead) -> i32 {
    let res = (|| -> Result<(), Exit> {
        let (fix, to_timestamp, filepath) = match args {
            [f] => (false, 0, f),
            [flag, f] if flag == "--fix" => (true, 0, f),
            [flag, ts, f] if flag == "--truncate-to-timestamp" => {
                let (v, n) = c_strtol(ts.as_bytes());
                // strtol: all of it must be a number (an empty one is 0)
                if (n != ts.len() && !ts.is_empty()) || v == i64::MAX || v == i64::MIN {
                    let _ = writeln!(out, "Invalid timestamp, aborting...");
                    return Err(Exit(1));
                }
                (false, v, f)
            }
            _ => {
                let _ = writeln!(
                    out,
                    "Usage: picket-server --check-aof [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>"
                );
                return Err(Exit(1));
            }
        };
        if filepath.len() > libc::PATH_MAX as usize {
            let _ = writeln!(out, "Error: filepath is too long (exceeds PATH_MAX)");
            return Err(Exit(1));
        }
        let mut c = Checker {
            out,
            input,
            fix,
            to_timestamp,
            line: 1,
            error: None,
            epos: 0,
        };
        let data = c.open(filepath, "")?;
        if is_manifest(&data) {
            c.check_multi_part(&dirname(filepath), &data)
        } else {
            let preamble = is_rdb(&data);
            c.check_old_style(filepath, preamble)
        }
    })();
    match res {
        Ok(()) => 0,
        Err(Exit(code)) => code,
    }
}

/// Whether the file is a manifest: its first line that is not a comment
/// starts with `file` (see the module notes for how Redis differs).
fn is_manifest(data: &[u8]) -> bool {
    data.split(|&b| b == b'\n')
        .find(|l| !l.starts_with(b"#"))
        .is_some_and(|l| l.starts_with(b"file"))
}

/// `fileIsRDB`: at least 8 bytes and the `REDIS` signature.
fn is_rdb(data: &[u8]) -> bool {
    data.len() >= 8 && data.starts_with(b"REDIS")
}

/// POSIX `dirname`.
fn dirname(path: &str) -> String {
    let p = path.trim_end_matches('/');
    if p.is_empty() {
        return if path.is_empty() { "." } else { "/" }.into();
    }
    match p.rfind('/') {
        None => ".".into(),
        Some(i) => {
            let d = p[..i].trim_end_matches('/');
            if d.is_empty() {
                "/".into()
            } else {
                d.into()
            }
        }
    }
}

/// `strerror` text of an I/O error (without Rust's `(os error N)`).
fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

struct Checker<'a> {
    out: &'a mut dyn Write,
    input: &'a mut dyn BufRead,
    fix: bool,
    /// 0: not truncating to a timestamp (as in redis-check-aof).
    to_timestamp: i64,
    /// redis-check-aof's `line`: 1 + every `\r\n` line read, in all files.
    line: u64,
    /// redis-check-aof's `error`: the last problem found, kept across files.
    error: Option<String>,
    /// redis-check-aof's `epos`: where the last read began.
    epos: usize,
}

macro_rules! say {
    ($c:expr, $($arg:tt)*) => {{
        let _ = writeln!($c.out, $($arg)*);
    }};
}

impl Checker<'_> {
    fn open(&mut self, path: &str, suffix: &str) -> Result<Vec<u8>, Exit> {
        std::fs::read(path).map_err(|e| {
            say!(self, "Cannot open file {path}: {}{suffix}", strerror(&e));
            Exit(1)
        })
    }

    fn set_error(&mut self, msg: &str) {
        self.error = Some(format!("0x{:16x}: {msg}", self.epos));
    }

    fn print_status(&mut self, st: Status, name: &str, kind: &str) {
        match st {
            Status::Ok => say!(self, "{kind} {name} is valid"),
            Status::Empty => say!(self, "{kind} {name} is empty"),
            Status::TimestampTruncated => say!(
                self,
                "Successfully truncated AOF {name} to timestamp {}",
                self.to_timestamp
            ),
            Status::Truncated => say!(self, "Successfully truncated AOF {name}"),
        }
    }

    fn check_old_style(&mut self, path: &str, preamble: bool) -> Result<(), Exit> {
        say!(self, "Start checking Old-Style AOF");
        let st = self.check_single(path, path, true, preamble)?;
        self.print_status(st, path, "AOF");
        Ok(())
    }

    fn check_multi_part(&mut self, dir: &str, data: &[u8]) -> Result<(), Exit> {
        say!(self, "Start checking Multi Part AOF");
        let am = Manifest::parse(data).map_err(|e| {
            say!(self, "\n*** FATAL AOF MANIFEST FILE ERROR ***");
            say!(self, "{e}");
            Exit(1)
        })?;
        let total = am.live_files().count();
        let mut num = 0;
        if let Some(base) = &am.base {
            let fpath = format!("{dir}/{}", base.name);
            num += 1;
            let preamble = is_rdb(&self.open(&fpath, "")?);
            say!(
                self,
                "Start to check BASE AOF ({} format).",
                if preamble { "RDB" } else { "RESP" }
            );
            let st = self.check_single(&base.name, &fpath, num == total, preamble)?;
            self.print_status(st, &base.name, "BASE AOF");
        }
        if !am.incrs.is_empty() {
            say!(self, "Start to check INCR files.");
            for f in &am.incrs {
                let fpath = format!("{dir}/{}", f.name);
                num += 1;
                let st = self.check_single(&f.name, &fpath, num == total, false)?;
                self.print_status(st, &f.name, "INCR AOF");
            }
        }
        say!(self, "All AOF files and manifest are valid");
        Ok(())
    }

    /// Prints the RDB part's report and returns its length.
    fn check_rdb_part(&mut self, name: &str, data: &[u8]) -> Option<usize> {
        say!(self, "[offset 0] Checking RDB file {name}");
        match rdb::read_rdb(data) {
            Ok(loaded) => {
                let end = loaded.consumed;
                if loaded.version >= 5 && data[end.saturating_sub(8)..end] != [0; 8] {
                    say!(self, "[offset {end}] Checksum OK");
                }
                say!(self, "[offset {end}] \\o/ RDB looks OK! \\o/");
                let now = crate::state::now_ms();
                let keys = loaded.dbs.values().flatten();
                let (mut n, mut expires, mut expired) = (0, 0, 0);
                for k in keys {
                    n += 1;
                    if let Some(at) = k.expire {
                        expires += 1;
                        if at <= now {
                            expired += 1;
                        }
                    }
                }
                say!(self, "[info] {n} keys read");
                say!(self, "[info] {expires} expires");
                say!(self, "[info] {expired} already expired");
                Some(end)
            }
            Err(e) => {
                say!(self, "--- RDB ERROR DETECTED ---");
                say!(self, "{e}");
                None
            }
        }
    }

    /// `checkSingleAof`: one file, reported as `name`, read at `path`.
    fn check_single(
        &mut self,
        name: &str,
        path: &str,
        last_file: bool,
        preamble: bool,
    ) -> Result<Status, Exit> {
        let data = self.open(path, ", aborting...")?;
        let size = data.len();
        if size == 0 {
            return Ok(Status::Empty);
        }
        let mut pos = 0;
        if preamble {
            match self.check_rdb_part(name, &data) {
                Some(end) => {
                    say!(self, "RDB preamble is OK, proceeding with AOF tail...");
                    pos = end;
                }
                None => {
                    say!(self, "RDB preamble of AOF file is not sane, aborting.");
                    return Err(Exit(1));
                }
            }
        }
        let mut multi: i64 = 0;
        let mut ok_up_to = pos;
        let mut format_error = false;
        loop {
            if multi == 0 {
                ok_up_to = pos;
            }
            if pos >= size {
                break;
            }
            match data[pos] {
                b'#' => {
                    let Record::Annotation { start, end, .. } = aof_file::next_record(&data, pos)
                    else {
                        break;
                    };
                    self.epos = start;
                    if self.annotation_truncates(&data[start..end], path, last_file)? {
                        truncate(path, start).map_err(|_| {
                            say!(
                                self,
                                "Failed to truncate AOF {path} to timestamp {}",
                                self.to_timestamp
                            );
                            Exit(1)
                        })?;
                        return Ok(Status::TimestampTruncated);
                    }
                    pos = end;
                }
                b'*' => {
                    let parsed = parse_record(&data, pos, true);
                    // redis-check-aof checks MULTI/EXEC as soon as it has the
                    // first argument, before reading the others
                    if let Some((arg0, at)) = &parsed.first_arg {
                        let unexpected = if is_cmd(arg0, b"multi") {
                            multi += 1;
                            (multi > 1).then_some("MULTI")
                        } else if is_cmd(arg0, b"exec") {
                            multi -= 1;
                            (multi != 0).then_some("EXEC")
                        } else {
                            None
                        };
                        if let Some(what) = unexpected {
                            self.line += 3;
                            self.epos = *at;
                            self.set_error(&format!("Unexpected {what} in AOF {path}"));
                            break;
                        }
                    }
                    self.line += parsed.lines;
                    self.epos = parsed.epos;
                    match parsed.record {
                        Record::Command { end, .. } => pos = end,
                        _ => {
                            if let Some(msg) = &parsed.check_msg {
                                self.set_error(msg);
                            }
                            break;
                        }
                    }
                }
                _ => {
                    say!(self, "AOF {name} format error");
                    format_error = true;
                    break;
                }
            }
        }
        if multi != 0 && self.error.is_none() && !format_error {
            self.set_error("Reached EOF before reading EXEC for MULTI");
        }
        if let Some(e) = &self.error {
            say!(self, "{e}");
        }
        let diff = size - ok_up_to;
        if diff == 0 && self.to_timestamp != 0 {
            say!(
                self,
                "Truncate nothing in AOF {name} to timestamp {}",
                self.to_timestamp
            );
            return Ok(Status::Ok);
        }
        say!(
            self,
            "AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, ok_up_to_line={}, diff={diff}",
            self.line
        );
        if diff == 0 {
            return Ok(Status::Ok);
        }
        if !self.fix {
            say!(
                self,
                "AOF {name} is not valid. Use the --fix option to try fixing it."
            );
            return Err(Exit(1));
        }
        if !last_file {
            say!(
                self,
                "Failed to truncate AOF {name} because it is not the last file"
            );
            return Err(Exit(1));
        }
        say!(
            self,
            "This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {ok_up_to} bytes"
        );
        let _ = write!(self.out, "Continue? [y/N]: ");
        let _ = self.out.flush();
        let mut answer = [0u8; 1];
        let got = std::io::Read::read(&mut self.input, &mut answer).unwrap_or(0);
        if got == 0 || !answer[0].eq_ignore_ascii_case(&b'y') {
            say!(self, "Aborting...");
            return Err(Exit(1));
        }
        if truncate(path, ok_up_to).is_err() {
            say!(self, "Failed to truncate AOF {name}");
            return Err(Exit(1));
        }
        Ok(Status::Truncated)
    }

    /// `processAnnotations` with `--truncate-to-timestamp`: whether the file
    /// must be cut at this annotation (at `self.epos`).
    fn annotation_truncates(
        &mut self,
        line: &[u8],
        path: &str,
        last_file: bool,
    ) -> Result<bool, Exit> {
        let Some(digits) = line.strip_prefix(b"#TS:") else {
            return Ok(false);
        };
        if self.to_timestamp == 0 {
            return Ok(false);
        }
        let (ts, n) = c_strtol(digits);
        if digits.get(n) != Some(&b'\r') || ts == i64::MAX || ts == i64::MIN {
            say!(self, "Invalid timestamp annotation");
            return Err(Exit(1));
        }
        if ts <= self.to_timestamp {
            return Ok(false);
        }
        let to = self.to_timestamp;
        if self.epos == 0 {
            say!(
                self,
                "AOF {path} has nothing before timestamp {to}, aborting..."
            );
            return Err(Exit(1));
        }
        if !last_file {
            say!(
                self,
                "Failed to truncate AOF {path} to timestamp {to} to offset {} because it is not the last file.",
                self.epos
            );
            say!(
                self,
                "If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof."
            );
            return Err(Exit(1));
        }
        Ok(true)
    }
}

fn truncate(path: &str, len: usize) -> std::io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len as u64)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirname_is_posix() {
        assert_eq!(dirname("a.manifest"), ".");
        assert_eq!(dirname("d/a.manifest"), "d");
        assert_eq!(dirname("/x"), "/");
        assert_eq!(dirname("/a/b//c"), "/a/b");
        assert_eq!(dirname("a/"), ".");
    }

    #[test]
    fn manifest_is_recognised_by_its_first_line_only() {
        assert!(is_manifest(b"file a seq 1 type b\n"));
        assert!(is_manifest(b"# c\nfile a seq 1 type b\n"));
        assert!(!is_manifest(
            b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$4\r\nfile\r\n"
        ));
        assert!(!is_manifest(b""));
    }
}
