//! The multi-part AOF file format of Redis 7.0 (persistence.md §9), with no
//! I/O in it: the file names, the manifest grammar (`aofLoadManifestFromFile`
//! and `getAofManifestAsString` in aof.c) and a scanner for the command part
//! of an AOF file (`loadSingleAppendOnlyFile` in aof.c and `processRESP` in
//! redis-check-aof.c).
//!
//! The runtime (`aof.rs`) writes and loads with these; `aof_check.rs` is
//! `picket-server --check-aof`.

use bytes::Bytes;
use picket_common::conf::sdstrim as trim;

use super::rdb;

// ---------------------------------------------------------------------------
// File names
// ---------------------------------------------------------------------------

/// The BASE file of sequence `seq`: `appendonly.aof.1.base.rdb` when it is
/// an RDB snapshot (`aof-use-rdb-preamble yes`), `appendonly.aof.1.base.aof`
/// when it holds commands.
pub fn base_name(filename: &str, seq: u64, rdb: bool) -> String {
    let fmt = if rdb { "rdb" } else { "aof" };
    format!("{filename}.{seq}.base.{fmt}")
}

/// The INCR file of sequence `seq`: `appendonly.aof.1.incr.aof`.
pub fn incr_name(filename: &str, seq: u64) -> String {
    format!("{filename}.{seq}.incr.aof")
}

/// The manifest: `appendonly.aof.manifest`.
pub fn manifest_name(filename: &str) -> String {
    format!("{filename}.manifest")
}

/// Where a new manifest is written before it is renamed over the old one:
/// `temp-appendonly.aof.manifest`.
pub fn temp_manifest_name(filename: &str) -> String {
    format!("temp-{filename}.manifest")
}

/// The INCR file used while AOF is being turned on at run time (before the
/// first rewrite finishes): `temp-appendonly.aof.incr`.
pub fn temp_incr_name(filename: &str) -> String {
    format!("temp-{filename}.incr")
}

// ---------------------------------------------------------------------------
// Manifest
// ---------------------------------------------------------------------------

/// `type` of a manifest line: `b`, `h` or `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The snapshot the INCR files apply to (at most one).
    Base,
    /// A file replaced by a rewrite, waiting to be deleted.
    History,
    /// Commands appended after the BASE, in sequence order.
    Incr,
}

impl FileKind {
    /// The character written after `type`.
    pub fn as_char(self) -> char {
        match self {
            FileKind::Base => 'b',
            FileKind::History => 'h',
            FileKind::Incr => 'i',
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestFile {
    /// A bare file name inside the AOF directory.
    pub name: String,
    /// Its sequence number (never 0).
    pub seq: u64,
    /// BASE, HISTORY or INCR.
    pub kind: FileKind,
}

/// The AOF manifest (`aofManifest` in aof.c): which files make up the data
/// set, in load order BASE then INCRs; HISTORY files are only listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The BASE file, if any.
    pub base: Option<ManifestFile>,
    /// HISTORY files, in file order.
    pub history: Vec<ManifestFile>,
    /// INCR files, sequence strictly increasing.
    pub incrs: Vec<ManifestFile>,
}

/// `MANIFEST_MAX_LINE` in aof.c: lines are read with `fgets` into a buffer
/// of this size plus one.
pub const MANIFEST_MAX_LINE: usize = 1024;

/// `fgets(buf, cap, fp)` over a byte slice: the bytes it would return from
/// `pos` (at most `cap - 1`, up to and including a newline). Empty at the end.
fn fgets(data: &[u8], pos: usize, cap: usize) -> &[u8] {
    let rest = data.get(pos..).unwrap_or(&[]);
    let max = rest.len().min(cap.saturating_sub(1));
    match rest[..max].iter().position(|&b| b == b'\n') {
        Some(i) => &rest[..=i],
        None => &rest[..max],
    }
}

/// The C string a buffer holds: everything before its first NUL.
pub(crate) fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(i) => &b[..i],
        None => b,
    }
}

/// `atoll` (glibc: `strtoll` base 10, saturating, no error).
fn c_atoll(s: &[u8]) -> i64 {
    let (v, _) = c_strtol(s);
    v
}

/// `strtol(s, &end, 10)` on a NUL-terminated buffer: the value (saturated
/// like glibc on overflow) and how many bytes were consumed (0 when no
/// digits were found, as `end` is then reset to `s`).
pub(crate) fn c_strtol(s: &[u8]) -> (i64, usize) {
    let s = c_str(s);
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits_start = i;
    let mut v: i64 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = (s[i] - b'0') as i64;
        match v.checked_mul(10).and_then(|x| {
            if neg {
                x.checked_sub(d)
            } else {
                x.checked_add(d)
            }
        }) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start {
        return (0, 0);
    }
    if overflow {
        v = if neg { i64::MIN } else { i64::MAX };
    }
    (v, i)
}

/// Where a manifest was rejected: Redis's message and, for errors found in
/// a line, that line (trimmed) and its number.
fn manifest_err(msg: &str, line: Option<(usize, &[u8])>) -> String {
    match line {
        Some((n, l)) => format!(
            "Reading the manifest file, at line {n}\n>>> '{}'\n{msg}",
            String::from_utf8_lossy(l)
        ),
        None => msg.to_string(),
    }
}

/// Whether `name` is a bare file name (`pathIsBaseName` in util.c).
fn is_base_name(name: &[u8]) -> bool {
    !name.iter().any(|&b| b == b'/' || b == b'\\')
}

impl Manifest {
    /// Parses a manifest like Redis 7.0's `aofLoadManifestFromFile`: lines
    /// starting with `#` are skipped; every other line must end in `\n`
    /// within 1024 bytes, is split like `sdssplitargs` into an even number
    /// (≥ 6) of key/value pairs where `file`, `seq` and `type` are required
    /// (any order, unknown keys ignored); `file` must be a bare name, `seq`
    /// non-zero, `type` starts with `b`, `h` or `i`; at most one BASE; INCR
    /// sequences strictly increase. A file with no line at all, and a blank
    /// line, are errors.
    ///
    /// The error text is Redis's: the message, preceded when it concerns a
    /// line by `Reading the manifest file, at line N` and `>>> 'line'`
    /// (Redis prints all of it after `*** FATAL AOF MANIFEST FILE ERROR ***`).
    pub fn parse(data: &[u8]) -> Result<Manifest, String> {
        let mut am = Manifest::default();
        let mut pos = 0;
        let mut linenum = 0usize;
        let mut maxseq: i64 = 0;
        loop {
            let chunk = fgets(data, pos, MANIFEST_MAX_LINE + 1);
            if chunk.is_empty() {
                if linenum == 0 {
                    return Err(manifest_err("Found an empty AOF manifest", None));
                }
                break;
            }
            pos += chunk.len();
            linenum += 1;
            let buf = c_str(chunk);
            if buf.first() == Some(&b'#') {
                continue;
            }
            if !buf.contains(&b'\n') {
                return Err(manifest_err(
                    "The AOF manifest file contains too long line",
                    None,
                ));
            }
            let line = trim(buf, b" \t\r\n");
            let at = Some((linenum, line));
            let invalid = || manifest_err("Invalid AOF manifest file format", at);
            if line.is_empty() {
                return Err(invalid());
            }
            let argv = picket_common::conf::split_args(line).map_err(|_| invalid())?;
            if argv.len() < 6 || argv.len() % 2 != 0 {
                return Err(invalid());
            }
            let (mut name, mut seq, mut kind) = (None, 0i64, 0u8);
            for kv in argv.chunks(2) {
                let key = c_str(&kv[0]);
                let val = c_str(&kv[1]);
                if key.eq_ignore_ascii_case(b"file") {
                    if !is_base_name(val) {
                        return Err(manifest_err("File can't be a path, just a filename", at));
                    }
                    name = Some(val.to_vec());
                } else if key.eq_ignore_ascii_case(b"seq") {
                    seq = c_atoll(val);
                } else if key.eq_ignore_ascii_case(b"type") {
                    kind = val.first().copied().unwrap_or(0);
                }
            }
            // Redis takes a negative seq (atoll) as set; it can only be a
            // corrupt file, and sequence numbers are unsigned here.
            let (Some(name), true, true) = (name, seq > 0, kind != 0) else {
                return Err(invalid());
            };
            let name = String::from_utf8(name).map_err(|_| invalid())?;
            let file = |kind| ManifestFile {
                name,
                seq: seq as u64,
                kind,
            };
            match kind {
                b'b' => {
                    if am.base.is_some() {
                        return Err(manifest_err("Found duplicate base file information", at));
                    }
                    am.base = Some(file(FileKind::Base));
                }
                b'h' => am.history.push(file(FileKind::History)),
                b'i' => {
                    if seq <= maxseq {
                        return Err(manifest_err("Found a non-monotonic sequence number", at));
                    }
                    maxseq = seq;
                    am.incrs.push(file(FileKind::Incr));
                }
                _ => return Err(manifest_err("Unknown AOF file type", at)),
            }
        }
        Ok(am)
    }

    /// The manifest as Redis writes it (`getAofManifestAsString`): BASE,
    /// then HISTORY, then INCR files, one `file <name> seq <n> type <t>\n`
    /// each; the name is quoted and escaped (`sdscatrepr`) only when it has
    /// spaces, quotes or non-printable bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for f in self.base.iter().chain(&self.history).chain(&self.incrs) {
            out.extend_from_slice(
                format!(
                    "file {} seq {} type {}\n",
                    picket_common::conf::repr_arg(f.name.as_bytes()),
                    f.seq,
                    f.kind.as_char()
                )
                .as_bytes(),
            );
        }
        out
    }

    /// The files to load, in order: the BASE (if any), then the INCRs.
    pub fn live_files(&self) -> impl Iterator<Item = &ManifestFile> {
        self.base.iter().chain(&self.incrs)
    }

    /// The sequence number the next BASE gets (Redis's
    /// `++curr_base_file_seq`, where a loaded manifest sets
    /// `curr_base_file_seq` to the BASE's seq, or 0 without a BASE).
    pub fn next_base_seq(&self) -> u64 {
        self.base.as_ref().map_or(0, |b| b.seq) + 1
    }

    /// The sequence number the next INCR gets (Redis's
    /// `++curr_incr_file_seq`, where a loaded manifest sets
    /// `curr_incr_file_seq` to the last INCR's seq, or 0 without INCRs).
    pub fn next_incr_seq(&self) -> u64 {
        self.incrs.last().map_or(0, |f| f.seq) + 1
    }
}

// ---------------------------------------------------------------------------
// Records of the command part
// ---------------------------------------------------------------------------

/// `AOF_ANNOTATION_LINE_MAX_LEN`: annotation lines are read with `fgets`
/// into a buffer of this size, so a longer line is read in pieces and the
/// piece after the first must itself start with `#` or `*`.
pub const ANNOTATION_LINE_MAX_LEN: usize = 1024;

/// redis-check-aof reads a count or length line with `fgets` into 128
/// bytes: a longer one is malformed.
const NUMBER_LINE_BUF: usize = 128;

/// One item of the command part of an AOF file, as [`next_record`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A command: `*<argc>\r\n` then argc × `$<len>\r\n<bytes>\r\n`, at
    /// `start..end` of the data.
    Command {
        /// The arguments (at least one).
        args: Vec<Bytes>,
        /// Offset of the `*`.
        start: usize,
        /// Offset just after the record.
        end: usize,
    },
    /// A line starting with `#` (e.g. `#TS:<unix secs>`), skipped by the
    /// loader. `text` is the line without its line ending.
    Annotation {
        /// The line, `#` included, `\r\n` excluded.
        text: Vec<u8>,
        /// Offset of the `#`.
        start: usize,
        /// Offset just after the line.
        end: usize,
    },
    /// Nothing left: `pos` is the end of the data.
    End,
    /// The data ends inside the record starting at `at` (a torn write):
    /// Redis truncates the last file there when `aof-load-truncated yes`.
    Truncated {
        /// Offset of the incomplete record.
        at: usize,
    },
    /// Malformed data found at `at` (redis-check-aof's position and
    /// message); Redis refuses to load such a file.
    Bad {
        /// Where the problem is.
        at: usize,
        /// What it is, in redis-check-aof's words.
        msg: String,
    },
}

/// The outcome of reading `*<n>\r\n` or `$<n>\r\n` (`readLong`).
enum Long {
    Ok(i64),
    /// Nothing left to read at all (`fgets` returned NULL).
    Eof,
    /// Malformed; `truncated` when the line is the end of the data and
    /// could have been completed.
    Err {
        msg: String,
        truncated: bool,
    },
}

/// A byte as C's `printf("%02x", (char)b)` shows it (char is signed).
fn c_hex(b: u8) -> String {
    format!("{:02x}", b as i8 as i32)
}

fn read_long(data: &[u8], p: usize, prefix: u8) -> (Long, usize) {
    let chunk = fgets(data, p, NUMBER_LINE_BUF);
    if chunk.is_empty() {
        return (Long::Eof, p);
    }
    if chunk[0] != prefix {
        return (
            Long::Err {
                msg: format!(
                    "Expected prefix '{}', got: '{}'",
                    prefix as char,
                    String::from_utf8_lossy(&chunk[..1])
                ),
                truncated: false,
            },
            p,
        );
    }
    let (v, n) = c_strtol(&chunk[1..]);
    let e = 1 + n;
    // the buffer fgets filled is NUL-terminated
    let at = |i: usize| chunk.get(i).copied().unwrap_or(0);
    if at(e) == b'\r' && at(e + 1) == b'\n' {
        return (Long::Ok(v), p + e + 2);
    }
    let at_eof = p + chunk.len() == data.len();
    let rest = &chunk[e..];
    let truncated = at_eof && (rest.is_empty() || rest == b"\r");
    (
        Long::Err {
            msg: format!("Expected \\r\\n, got: {}{}", c_hex(at(e)), c_hex(at(e + 1))),
            truncated,
        },
        p,
    )
}

/// What [`parse_record`] found, with the bookkeeping redis-check-aof does
/// along the way (its `line` counter, `epos` and error message).
pub(crate) struct Parsed {
    pub record: Record,
    /// `\r\n`-terminated lines consumed, as redis-check-aof's `line` counts.
    pub lines: u64,
    /// redis-check-aof's `epos` after this record: where its last read began.
    pub epos: usize,
    /// The message redis-check-aof prints for a failure (None: it fails
    /// silently, having met the end of the file at a line boundary).
    pub check_msg: Option<String>,
    /// The first argument once read whole, with the offset of its bytes
    /// (redis-check-aof checks MULTI/EXEC as soon as it has it).
    pub first_arg: Option<(Bytes, usize)>,
    /// Whether the failure met the end of the data (`feof`).
    pub eof: bool,
}

/// Parses one record at `pos`. `allow_empty` accepts `*0` and negative
/// counts as empty commands, as redis-check-aof does (the loader rejects
/// them).
pub(crate) fn parse_record(data: &[u8], pos: usize, allow_empty: bool) -> Parsed {
    let mut out = Parsed {
        record: Record::End,
        lines: 0,
        epos: pos,
        check_msg: None,
        first_arg: None,
        eof: false,
    };
    if pos >= data.len() {
        out.eof = true;
        return out;
    }
    match data[pos] {
        b'#' => {
            let chunk = fgets(data, pos, ANNOTATION_LINE_MAX_LEN);
            let mut text = chunk;
            if let Some(t) = text.strip_suffix(b"\n") {
                text = t.strip_suffix(b"\r").unwrap_or(t);
            }
            out.record = Record::Annotation {
                text: text.to_vec(),
                start: pos,
                end: pos + chunk.len(),
            };
            return out;
        }
        b'*' => {}
        c => {
            out.record = Record::Bad {
                at: pos,
                msg: format!(
                    "Expected prefix '*', got: '{}'",
                    String::from_utf8_lossy(&[c])
                ),
            };
            return out;
        }
    }
    let fail = |out: &mut Parsed, msg: Option<String>, at: usize, truncated: bool| {
        out.eof = truncated;
        out.record = if truncated {
            Record::Truncated { at: pos }
        } else {
            Record::Bad {
                at,
                msg: msg.clone().unwrap_or_default(),
            }
        };
        out.check_msg = msg;
    };
    let (argc, mut p) = match read_long(data, pos, b'*') {
        (Long::Ok(v), np) => (v, np),
        (Long::Eof, _) => {
            fail(&mut out, None, pos, true);
            return out;
        }
        (Long::Err { msg, truncated }, _) => {
            fail(&mut out, Some(msg), pos, truncated);
            return out;
        }
    };
    out.lines += 1;
    if argc < 1 && !allow_empty {
        out.record = Record::Bad {
            at: pos,
            msg: format!("Expected a positive argument count, got: {argc}"),
        };
        return out;
    }
    let mut args = Vec::with_capacity(argc.clamp(0, 64) as usize);
    for i in 0..argc {
        out.epos = p;
        let len = match read_long(data, p, b'$') {
            (Long::Ok(v), np) => {
                p = np;
                v
            }
            (Long::Eof, _) => {
                fail(&mut out, None, p, true);
                return out;
            }
            (Long::Err { msg, truncated }, _) => {
                fail(&mut out, Some(msg), p, truncated);
                return out;
            }
        };
        out.lines += 1;
        if !(0..=i64::MAX - 2).contains(&len) {
            let msg = format!(
                "Expected to read string of {len} bytes, which is not in the suitable range"
            );
            let at = out.epos;
            fail(&mut out, Some(msg), at, false);
            return out;
        }
        // from here on redis-check-aof's epos is the start of the bytes
        out.epos = p;
        let need = len as u64 + 2;
        let avail = (data.len() - p) as u64;
        if avail < need {
            let msg = format!("Expected to read {need} bytes, got {avail} bytes");
            // a torn write only if what is there could still be completed
            let ok_so_far = avail <= len as u64 || data[p + len as usize] == b'\r';
            fail(&mut out, Some(msg), p, ok_so_far);
            return out;
        }
        let len = len as usize;
        let arg = Bytes::copy_from_slice(&data[p..p + len]);
        if &data[p + len..p + len + 2] != b"\r\n" {
            let msg = format!(
                "Expected \\r\\n, got: {}{}",
                c_hex(data[p + len]),
                c_hex(data[p + len + 1])
            );
            fail(&mut out, Some(msg), p, false);
            return out;
        }
        out.lines += 1;
        if i == 0 {
            out.first_arg = Some((arg.clone(), p));
        }
        args.push(arg);
        p += len + 2;
    }
    out.record = Record::Command {
        args,
        start: pos,
        end: p,
    };
    out
}

/// Reads the record at `pos` of the command part of an AOF file, with the
/// rules of Redis's loader and redis-check-aof together (what both accept):
///
/// * a line starting with `#` is an [`Record::Annotation`] (read like
///   `fgets` into [`ANNOTATION_LINE_MAX_LEN`] bytes);
/// * a command is `*<argc>\r\n` with argc ≥ 1, then per argument
///   `$<len>\r\n`, len bytes and `\r\n` (numbers as `strtol` reads them);
/// * the data ending inside a record that could still be completed is
///   [`Record::Truncated`] at the record's start; anything else malformed is
///   [`Record::Bad`] with redis-check-aof's message (e.g.
///   `Expected prefix '*', got: 'x'`, `Expected \r\n, got: 0d0a`).
///
/// MULTI/EXEC are not tracked here; [`Scanner`] does that.
pub fn next_record(data: &[u8], pos: usize) -> Record {
    parse_record(data, pos, false).record
}

/// Walks the command part of an AOF file record by record, like
/// redis-check-aof: after the last record it yields the outcome
/// ([`Record::End`], [`Record::Truncated`] or [`Record::Bad`]) and then
/// stops. A `MULTI` still open at the end makes the outcome `Truncated` at
/// the `MULTI` (Redis reverts the incomplete transaction, and truncating a
/// torn transaction goes back to its start); a nested `MULTI` or an `EXEC`
/// without `MULTI` is `Bad`. Commands inside a transaction are yielded as
/// they are read: a loader applies them only at the `EXEC`.
pub struct Scanner<'a> {
    data: &'a [u8],
    pos: usize,
    multi_at: Option<usize>,
    done: bool,
}

impl<'a> Scanner<'a> {
    /// Scans `data` from `pos` (0, or the end of an RDB preamble).
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Scanner {
            data,
            pos,
            multi_at: None,
            done: false,
        }
    }

    /// The offset up to which the data is whole: after the last complete
    /// record outside a transaction (where `--fix` or `aof-load-truncated`
    /// cut the file).
    pub fn ok_up_to(&self) -> usize {
        self.multi_at.unwrap_or(self.pos)
    }
}

impl Iterator for Scanner<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        if self.done {
            return None;
        }
        let rec = next_record(self.data, self.pos);
        match &rec {
            Record::Command { args, start, end } => {
                if is_cmd(&args[0], b"multi") {
                    if self.multi_at.is_some() {
                        self.done = true;
                        return Some(Record::Bad {
                            at: *start,
                            msg: "Unexpected MULTI".into(),
                        });
                    }
                    self.multi_at = Some(*start);
                } else if is_cmd(&args[0], b"exec") && self.multi_at.take().is_none() {
                    self.done = true;
                    return Some(Record::Bad {
                        at: *start,
                        msg: "Unexpected EXEC".into(),
                    });
                }
                self.pos = *end;
            }
            Record::Annotation { end, .. } => self.pos = *end,
            Record::End => {
                self.done = true;
                if let Some(at) = self.multi_at {
                    return Some(Record::Truncated { at });
                }
            }
            Record::Truncated { .. } => {
                self.done = true;
                if let Some(at) = self.multi_at {
                    return Some(Record::Truncated { at });
                }
            }
            Record::Bad { .. } => self.done = true,
        }
        Some(rec)
    }
}

/// Whether a command name is `name` the way redis-check-aof compares it
/// (`strcasecmp` on a C string).
pub(crate) fn is_cmd(arg: &[u8], name: &[u8]) -> bool {
    c_str(arg).eq_ignore_ascii_case(name)
}

/// The time of a `#TS:<unix secs>` annotation (`text` as in
/// [`Record::Annotation`]); None for any other annotation.
pub fn parse_timestamp_annotation(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"#TS:")?;
    let (v, n) = c_strtol(digits);
    (n > 0 && n == digits.len() && v != i64::MAX && v != i64::MIN).then_some(v)
}

/// If `data` is an RDB (a BASE `.rdb` file or an old-style AOF with an RDB
/// preamble: it starts with `REDIS`), the length of the RDB part, checksum
/// included; the command part follows from there. None for a file of
/// commands. An RDB part that does not decode is an error.
pub fn rdb_preamble_len(data: &[u8]) -> Result<Option<usize>, String> {
    if !data.starts_with(b"REDIS") {
        return Ok(None);
    }
    let loaded = rdb::read_rdb(data).map_err(|e| e.to_string())?;
    Ok(Some(loaded.consumed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(args: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        out
    }

    #[test]
    fn names_follow_redis() {
        assert_eq!(
            base_name("appendonly.aof", 1, true),
            "appendonly.aof.1.base.rdb"
        );
        assert_eq!(
            base_name("appendonly.aof", 7, false),
            "appendonly.aof.7.base.aof"
        );
        assert_eq!(
            incr_name("appendonly.aof", 12),
            "appendonly.aof.12.incr.aof"
        );
        assert_eq!(manifest_name("appendonly.aof"), "appendonly.aof.manifest");
        assert_eq!(
            temp_manifest_name("appendonly.aof"),
            "temp-appendonly.aof.manifest"
        );
        assert_eq!(temp_incr_name("appendonly.aof"), "temp-appendonly.aof.incr");
    }

    fn mf(name: &str, seq: u64, kind: FileKind) -> ManifestFile {
        ManifestFile {
            name: name.into(),
            seq,
            kind,
        }
    }

    #[test]
    fn manifest_as_redis_writes_it_parses_and_round_trips() {
        let text = b"file appendonly.aof.2.base.rdb seq 2 type b\n\
                     file appendonly.aof.1.incr.aof seq 1 type h\n\
                     file appendonly.aof.2.incr.aof seq 2 type i\n\
                     file appendonly.aof.3.incr.aof seq 3 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(
            m.base,
            Some(mf("appendonly.aof.2.base.rdb", 2, FileKind::Base))
        );
        assert_eq!(
            m.history,
            vec![mf("appendonly.aof.1.incr.aof", 1, FileKind::History)]
        );
        assert_eq!(m.incrs.len(), 2);
        assert_eq!(m.to_bytes(), text.to_vec());
        assert_eq!(m.next_base_seq(), 3);
        assert_eq!(m.next_incr_seq(), 4);
        let live: Vec<_> = m.live_files().map(|f| f.name.as_str()).collect();
        assert_eq!(
            live,
            [
                "appendonly.aof.2.base.rdb",
                "appendonly.aof.2.incr.aof",
                "appendonly.aof.3.incr.aof"
            ]
        );
    }

    #[test]
    fn manifest_writes_base_history_incr_in_that_order() {
        let m = Manifest {
            base: Some(mf("a.2.base.rdb", 2, FileKind::Base)),
            history: vec![mf("a.1.base.rdb", 1, FileKind::History)],
            incrs: vec![mf("a.2.incr.aof", 2, FileKind::Incr)],
        };
        assert_eq!(
            m.to_bytes(),
            b"file a.2.base.rdb seq 2 type b\nfile a.1.base.rdb seq 1 type h\nfile a.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn manifest_quotes_names_that_need_it_and_reads_them_back() {
        let m = Manifest {
            base: None,
            history: vec![],
            incrs: vec![mf("my aof\t\"x\".1.incr.aof", 1, FileKind::Incr)],
        };
        let bytes = m.to_bytes();
        assert_eq!(
            bytes,
            b"file \"my aof\\t\\\"x\\\".1.incr.aof\" seq 1 type i\n".to_vec()
        );
        assert_eq!(Manifest::parse(&bytes).unwrap(), m);
    }

    #[test]
    fn manifest_keys_in_any_order_unknown_keys_ignored_type_by_first_char() {
        let m =
            Manifest::parse(b"# comment\nseq 5 TYPE incr FILE x.5.incr.aof future yes\n").unwrap();
        assert_eq!(m.incrs, vec![mf("x.5.incr.aof", 5, FileKind::Incr)]);
        assert_eq!(m.next_base_seq(), 1);
        assert_eq!(m.next_incr_seq(), 6);
    }

    #[test]
    fn manifest_grammar_errors_carry_redis_messages() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "Found an empty AOF manifest"),
            (b"file a seq 1 type b", "contains too long line"),
            (
                b"file a seq 1 type b\n\n",
                "at line 2\n>>> ''\nInvalid AOF manifest file format",
            ),
            (b"file a seq 1 type\n", "Invalid AOF manifest file format"),
            (
                b"file a seq 1 type b x\n",
                "Invalid AOF manifest file format",
            ),
            (b"file a seq 1 kind b\n", "Invalid AOF manifest file format"),
            (b"file a seq 0 type b\n", "Invalid AOF manifest file format"),
            (b"file a seq x type b\n", "Invalid AOF manifest file format"),
            (
                b"file a seq -1 type b\n",
                "Invalid AOF manifest file format",
            ),
            (
                b"file \"a seq 1 type b\n",
                "Invalid AOF manifest file format",
            ),
            (
                b"file a seq 1 type \"\"\n",
                "Invalid AOF manifest file format",
            ),
            (
                b"file d/a seq 1 type b\n",
                "File can't be a path, just a filename",
            ),
            (
                b"file a seq 1 type b\nfile b seq 2 type b\n",
                "at line 2\n>>> 'file b seq 2 type b'\nFound duplicate base file information",
            ),
            (
                b"file a seq 2 type i\nfile b seq 2 type i\n",
                "Found a non-monotonic sequence number",
            ),
            (
                b"file a seq 2 type i\nfile b seq 1 type i\n",
                "Found a non-monotonic sequence number",
            ),
            (b"file a seq 1 type x\n", "Unknown AOF file type"),
            (b"file a seq 1 type B\n", "Unknown AOF file type"),
        ];
        for (text, want) in cases {
            let err = Manifest::parse(text).unwrap_err();
            assert!(
                err.contains(want),
                "{:?}: got {err:?}, want {want:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn manifest_line_limit_is_1024_bytes_with_newline() {
        let mut line = b"file a seq 1 type b".to_vec();
        line.resize(1023, b' ');
        line.push(b'\n');
        assert!(Manifest::parse(&line).is_ok());
        line.insert(0, b' ');
        assert!(Manifest::parse(&line)
            .unwrap_err()
            .contains("too long line"));
    }

    #[test]
    fn manifest_of_only_comments_is_empty_but_valid() {
        let m = Manifest::parse(b"# nothing\n").unwrap();
        assert_eq!(m, Manifest::default());
        assert_eq!(m.next_base_seq(), 1);
        assert_eq!(m.next_incr_seq(), 1);
    }

    #[test]
    fn command_record() {
        let mut data = cmd(&["SET", "k", "v"]);
        let n = data.len();
        assert_eq!(
            next_record(&data, 0),
            Record::Command {
                args: vec!["SET".into(), "k".into(), "v".into()],
                start: 0,
                end: n
            }
        );
        assert_eq!(next_record(&data, n), Record::End);
        data.extend_from_slice(&cmd(&["PING"]));
        assert!(matches!(next_record(&data, n), Record::Command { start, .. } if start == n));
    }

    #[test]
    fn binary_arguments_are_read_by_length() {
        let data = b"*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n".to_vec();
        match next_record(&data, 0) {
            Record::Command { args, .. } => assert_eq!(args[1], Bytes::from_static(b"a\r\nb")),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn annotation_record_and_timestamp() {
        let mut data = b"#TS:1795523406\r\n".to_vec();
        data.extend_from_slice(&cmd(&["PING"]));
        match next_record(&data, 0) {
            Record::Annotation { text, start, end } => {
                assert_eq!(text, b"#TS:1795523406");
                assert_eq!((start, end), (0, 16));
                assert_eq!(parse_timestamp_annotation(&text), Some(1795523406));
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(parse_timestamp_annotation(b"#TS:12x"), None);
        assert_eq!(parse_timestamp_annotation(b"#TS:"), None);
        assert_eq!(parse_timestamp_annotation(b"#other"), None);
        // an annotation at the very end without a newline is still whole
        assert!(matches!(
            next_record(b"#TS:5", 0),
            Record::Annotation { end: 5, .. }
        ));
    }

    #[test]
    fn long_annotation_is_read_in_1023_byte_pieces() {
        let mut data = b"#".to_vec();
        data.resize(1500, b'x');
        data.extend_from_slice(b"\r\n");
        assert!(matches!(
            next_record(&data, 0),
            Record::Annotation { end: 1023, .. }
        ));
        assert!(matches!(
            next_record(&data, 1023),
            Record::Bad { at: 1023, .. }
        ));
    }

    #[test]
    fn every_torn_prefix_of_a_record_is_truncated_at_its_start() {
        let mut data = cmd(&["SET", "k1", "v1"]);
        let first = data.len();
        let second = cmd(&["SET", "key2", "value2"]);
        data.extend_from_slice(&second);
        for cut in first + 1..data.len() {
            assert_eq!(
                next_record(&data[..cut], first),
                Record::Truncated { at: first },
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn malformed_records_are_bad_with_check_aof_messages() {
        let cases: &[(&[u8], usize, &str)] = &[
            (b"x", 0, "Expected prefix '*', got: 'x'"),
            (b"*1\r\n#3\r\nfoo\r\n", 4, "Expected prefix '$', got: '#'"),
            (b"*1x\r\n$3\r\nfoo\r\n", 0, "Expected \\r\\n, got: 780d"),
            (b"*1\r\n$3\r\nfooXY", 8, "Expected \\r\\n, got: 5859"),
            (
                b"*1\r\n$-1\r\n",
                4,
                "Expected to read string of -1 bytes, which is not in the suitable range",
            ),
            (b"*0\r\n", 0, "Expected a positive argument count, got: 0"),
            (b"*-1\r\n", 0, "Expected a positive argument count, got: -1"),
            (
                b"*1\r\n$3\r\nfoo\x80X",
                8,
                "Expected \\r\\n, got: ffffff8058",
            ),
        ];
        for (data, at, msg) in cases {
            match next_record(data, 0) {
                Record::Bad { at: a, msg: m } => {
                    assert_eq!(
                        (a, m.as_str()),
                        (*at, *msg),
                        "{:?}",
                        String::from_utf8_lossy(data)
                    )
                }
                r => panic!("{:?}: {r:?}", String::from_utf8_lossy(data)),
            }
        }
        // a torn CRLF is still a torn write
        assert_eq!(
            next_record(b"*1\r\n$3\r\nfoo\r", 0),
            Record::Truncated { at: 0 }
        );
    }

    #[test]
    fn scanner_reports_open_multi_at_its_start() {
        let mut data = cmd(&["SET", "a", "1"]);
        let multi = data.len();
        data.extend_from_slice(&cmd(&["MULTI"]));
        data.extend_from_slice(&cmd(&["INCR", "a"]));
        let mut s = Scanner::new(&data, 0);
        let recs: Vec<_> = s.by_ref().collect();
        assert_eq!(recs.last(), Some(&Record::Truncated { at: multi }));
        assert_eq!(s.ok_up_to(), multi);
        // closed, it is fine
        data.extend_from_slice(&cmd(&["exec"]));
        let mut s = Scanner::new(&data, 0);
        assert_eq!(s.by_ref().last(), Some(Record::End));
        assert_eq!(s.ok_up_to(), data.len());
        // torn inside the transaction: back to the MULTI
        let torn = &data[..data.len() - 3];
        let mut s = Scanner::new(torn, 0);
        assert_eq!(s.by_ref().last(), Some(Record::Truncated { at: multi }));
        assert_eq!(s.ok_up_to(), multi);
    }

    #[test]
    fn scanner_rejects_nested_multi_and_lone_exec() {
        let mut data = cmd(&["MULTI"]);
        let second = data.len();
        data.extend_from_slice(&cmd(&["multi"]));
        assert_eq!(
            Scanner::new(&data, 0).last(),
            Some(Record::Bad {
                at: second,
                msg: "Unexpected MULTI".into()
            })
        );
        let data = cmd(&["EXEC"]);
        assert!(matches!(
            Scanner::new(&data, 0).last(),
            Some(Record::Bad { at: 0, .. })
        ));
    }

    #[test]
    fn rdb_preamble_length_is_the_rdb_part() {
        let dbs = vec![crate::db::Db::default()];
        let mut data = rdb::write_rdb(&dbs, &rdb::RdbAux::default(), 0, true, true);
        let n = data.len();
        data.extend_from_slice(&cmd(&["SET", "a", "b"]));
        assert_eq!(rdb_preamble_len(&data), Ok(Some(n)));
        assert!(matches!(next_record(&data, n), Record::Command { .. }));
        assert_eq!(rdb_preamble_len(&cmd(&["PING"])), Ok(None));
        assert!(rdb_preamble_len(&data[..n - 3]).is_err());
    }
}
