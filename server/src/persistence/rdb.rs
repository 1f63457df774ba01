//! RDB version 10 encoding and decoding of the key space (Redis 7.0.15).
//!
//! [`write_rdb`] produces a file real Redis 7.0 loads: strings (integer and
//! LZF encodings), lists as QUICKLIST_2 with listpack nodes, sets as INTSET
//! or plain SET, hashes and sorted sets as listpacks when small and plain
//! HASH / ZSET_2 otherwise. [`read_rdb`] parses everything Redis 7.0 writes
//! (and the legacy ziplist / zipmap / quicklist encodings) except streams
//! and module data, which are reported as errors with their byte offset.
//! Every error carries the offset where decoding failed; no input panics.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet, VecDeque};

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use picket_common::num::{fmt_g17, parse_f64, parse_i64};

use crate::db::{Db, Entry, Value, NO_EXPIRE};
use crate::types::zset::ZSet;

const OP_FUNCTION2: u8 = 0xF5;
const OP_FUNCTION: u8 = 0xF6;
const OP_MODULE_AUX: u8 = 0xF7;
const OP_IDLE: u8 = 0xF8;
const OP_FREQ: u8 = 0xF9;
const OP_AUX: u8 = 0xFA;
const OP_RESIZEDB: u8 = 0xFB;
const OP_EXPIRETIME_MS: u8 = 0xFC;
const OP_EXPIRETIME: u8 = 0xFD;
const OP_SELECTDB: u8 = 0xFE;
const OP_EOF: u8 = 0xFF;

const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_ZSET: u8 = 3;
const T_HASH: u8 = 4;
const T_ZSET_2: u8 = 5;
const T_HASH_ZIPMAP: u8 = 9;
const T_LIST_ZIPLIST: u8 = 10;
const T_SET_INTSET: u8 = 11;
const T_ZSET_ZIPLIST: u8 = 12;
const T_HASH_ZIPLIST: u8 = 13;
const T_LIST_QUICKLIST: u8 = 14;
const T_HASH_LISTPACK: u8 = 16;
const T_ZSET_LISTPACK: u8 = 17;
const T_LIST_QUICKLIST_2: u8 = 18;

/// Redis 7.0 defaults used to pick compact encodings when writing.
const HASH_MAX_LISTPACK_ENTRIES: usize = 512;
const HASH_MAX_LISTPACK_VALUE: usize = 64;
const ZSET_MAX_LISTPACK_ENTRIES: usize = 128;
const ZSET_MAX_LISTPACK_VALUE: usize = 64;
const SET_MAX_INTSET_ENTRIES: usize = 512;
/// Target size of one list node (list-max-listpack-size -2 = 8 KB).
const LIST_NODE_BYTES: usize = 8192;

/// Why an RDB payload could not be decoded. Every variant carries the byte
/// offset (from the start of the payload) where the problem was found.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RdbError {
    /// The payload ended before a complete item.
    #[error("truncated at offset {0}")]
    Truncated(usize),
    /// The first 5 bytes are not `REDIS`.
    #[error("wrong signature at offset 0")]
    BadMagic,
    /// The version digits are not a version this loader handles (1..=10).
    #[error("can't handle RDB format version {0}")]
    BadVersion(String),
    /// The CRC64 trailer does not match the content.
    #[error("bad checksum: expected {expected:016x} but got {got:016x}")]
    BadChecksum {
        /// The checksum stored in the file.
        expected: u64,
        /// The checksum computed over the content.
        got: u64,
    },
    /// A value type byte this loader does not know.
    #[error("unknown type {ty} at offset {offset}")]
    UnknownType {
        /// The type byte.
        ty: u8,
        /// Where it was read.
        offset: usize,
    },
    /// A known type or opcode this loader cannot load (streams, modules).
    #[error("unsupported {what} at offset {offset}")]
    Unsupported {
        /// What was found.
        what: &'static str,
        /// Where it was read.
        offset: usize,
    },
    /// A database index the loading server has no database for (it was
    /// saved by a server with a larger `databases` setting).
    #[error("database {db} out of range at offset {offset}")]
    DbOutOfRange {
        /// The index in the file.
        db: u64,
        /// Where its SELECTDB was read.
        offset: usize,
    },
    /// Any other malformed content.
    #[error("corrupt RDB at offset {offset}: {what}")]
    Corrupt {
        /// What was wrong.
        what: String,
        /// Where it was found.
        offset: usize,
    },
}

fn corrupt<T>(offset: usize, what: impl Into<String>) -> Result<T, RdbError> {
    Err(RdbError::Corrupt {
        what: what.into(),
        offset,
    })
}

/// Values of the AUX fields [`write_rdb`] stores.
#[derive(Debug, Clone, Default)]
pub struct RdbAux {
    /// Creation time, unix seconds (`ctime`).
    pub ctime: i64,
    /// Memory in use, bytes (`used-mem`).
    pub used_mem: u64,
    /// Replication info (`repl-stream-db`, `repl-id`, `repl-offset`), when any.
    pub repl: Option<ReplAux>,
    /// Whether the file is an AOF base (`aof-base` 1).
    pub aof_base: bool,
}

/// Replication AUX fields.
#[derive(Debug, Clone, Default)]
pub struct ReplAux {
    /// DB of the replication stream.
    pub stream_db: i64,
    /// 40-character replication id.
    pub repl_id: String,
    /// Replication offset at snapshot time.
    pub offset: i64,
}

/// One key read from an RDB file.
#[derive(Debug, Clone)]
pub struct LoadedKey {
    /// The key.
    pub key: Bytes,
    /// The value.
    pub value: Value,
    /// Absolute expire time in unix milliseconds, if any (possibly past:
    /// the caller decides whether to drop expired keys).
    pub expire: Option<i64>,
}

/// The decoded content of an RDB payload.
#[derive(Debug, Clone, Default)]
pub struct LoadedRdb {
    /// RDB version from the header.
    pub version: u32,
    /// AUX fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Function library sources (FUNCTION2 opcodes).
    pub functions: Vec<Vec<u8>>,
    /// Keys per database index, in file order. Empty collections are
    /// skipped like Redis does. The caller must check the index against
    /// its `databases` setting.
    pub dbs: BTreeMap<u64, Vec<LoadedKey>>,
    /// Bytes of the payload up to and including the checksum: an AOF file
    /// with an RDB preamble continues with commands from here.
    pub consumed: usize,
}

// ---------------------------------------------------------------------------
// CRC64 (Jones polynomial, reflected, init 0, no final xor)
// ---------------------------------------------------------------------------

const CRC64_POLY_REFLECTED: u64 = 0x95AC_9329_AC4B_C9B5;

/// Slice-by-16 tables: `t[0]` is the classic byte table; `t[k][b]` is the
/// CRC of byte `b` followed by `k` zero bytes, so 16 input bytes fold in
/// with 16 independent lookups (Redis uses the same idea, `crcspeed.c`).
/// Byte-at-a-time was most of the checksum cost of SAVE and load.
const fn crc64_tables() -> [[u64; 256]; 16] {
    let mut t = [[0u64; 256]; 16];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ CRC64_POLY_REFLECTED
            } else {
                c >> 1
            };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 16 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static CRC64_TABLES: [[u64; 256]; 16] = crc64_tables();

/// Redis's CRC64 (`crc64.c`) of `data`, continuing from `crc` (start at 0).
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = &CRC64_TABLES;
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(&c[..8]);
        let lo = crc ^ u64::from_le_bytes(a);
        a.copy_from_slice(&c[8..]);
        let hi = u64::from_le_bytes(a);
        let byte = |v: u64, n: u32| ((v >> (8 * n)) & 0xff) as usize;
        crc = t[15][byte(lo, 0)]
            ^ t[14][byte(lo, 1)]
            ^ t[13][byte(lo, 2)]
            ^ t[12][byte(lo, 3)]
            ^ t[11][byte(lo, 4)]
            ^ t[10][byte(lo, 5)]
            ^ t[9][byte(lo, 6)]
            ^ t[8][byte(lo, 7)]
            ^ t[7][byte(hi, 0)]
            ^ t[6][byte(hi, 1)]
            ^ t[5][byte(hi, 2)]
            ^ t[4][byte(hi, 3)]
            ^ t[3][byte(hi, 4)]
            ^ t[2][byte(hi, 5)]
            ^ t[1][byte(hi, 6)]
            ^ t[0][byte(hi, 7)];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

// ---------------------------------------------------------------------------
// LZF
// ---------------------------------------------------------------------------

/// Decompresses an LZF body into exactly `out_len` bytes; `None` if corrupt.
pub fn lzf_decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(out_len.min(input.len().saturating_mul(300) + 16));
    let mut i = 0;
    while i < input.len() {
        let c = input[i] as usize;
        i += 1;
        if c < 32 {
            let n = c + 1;
            let lit = input.get(i..i + n)?;
            if out.len() + n > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            i += n;
        } else {
            let mut len = c >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            let dist = ((c & 0x1f) << 8) + *input.get(i)? as usize + 1;
            i += 1;
            let len = len + 2;
            if dist > out.len() || out.len() + len > out_len {
                return None;
            }
            let start = out.len() - dist;
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

const LZF_HLOG: usize = 14;

/// LZF's hash table of recent input positions, kept between calls so a
/// short string does not pay for clearing it (clearing 128 KB per string
/// was half of SAVE's time). Like liblzf built without `INIT_HTAB`, a stale
/// entry is harmless: a candidate is used only when it lies before the
/// current position, within the window, and its bytes really match.
struct LzfState {
    table: Box<[u32]>,
    /// Scratch output for [`put_string`], reused for the same reason.
    scratch: Vec<u8>,
}

thread_local! {
    static LZF: std::cell::RefCell<LzfState> = std::cell::RefCell::new(LzfState {
        table: vec![0; 1 << LZF_HLOG].into_boxed_slice(),
        scratch: Vec::new(),
    });
}

/// Compresses with LZF; `None` when the output would not be smaller than
/// `max_out` bytes.
pub fn lzf_compress(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    LZF.with(|z| {
        let mut out = Vec::with_capacity(max_out);
        lzf_compress_into(&mut z.borrow_mut().table, input, &mut out, max_out).then_some(out)
    })
}

/// Appends the LZF form of `input` to `out` and returns true, or leaves
/// `out` as it was and returns false when the compressed form would not
/// be smaller than `max_out` bytes.
fn lzf_compress_into(table: &mut [u32], input: &[u8], out: &mut Vec<u8>, max_out: usize) -> bool {
    const MAX_OFF: usize = 1 << 13;
    const MAX_REF: usize = (1 << 8) + (1 << 3); // 264
    let n = input.len();
    if n > u32::MAX as usize {
        return false;
    }
    let base = out.len();
    let limit = base + max_out;
    let mut lit_start = 0usize; // start of the pending literal run
    let mut i = 0usize;
    let flush_lits = |out: &mut Vec<u8>, from: usize, to: usize| {
        let mut s = from;
        while s < to {
            let run = (to - s).min(32);
            out.push((run - 1) as u8);
            out.extend_from_slice(&input[s..s + run]);
            s += run;
        }
    };
    while i + 2 < n {
        let h = ((input[i] as usize) << 16 | (input[i + 1] as usize) << 8 | input[i + 2] as usize)
            .wrapping_mul(2654435761)
            >> 8
            & ((1 << LZF_HLOG) - 1);
        let cand = table[h] as usize;
        table[h] = i as u32;
        if cand < i && i - cand <= MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
            let mut len = 3;
            while len < MAX_REF && i + len < n && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush_lits(out, lit_start, i);
            let off = i - cand - 1;
            let l = len - 2;
            if l < 7 {
                out.push(((l << 5) | (off >> 8)) as u8);
            } else {
                out.push(((7 << 5) | (off >> 8)) as u8);
                out.push((l - 7) as u8);
            }
            out.push((off & 0xff) as u8);
            i += len;
            lit_start = i;
        } else {
            i += 1;
        }
        if out.len() >= limit {
            out.truncate(base);
            return false;
        }
    }
    flush_lits(out, lit_start, n);
    if out.len() < limit {
        true
    } else {
        out.truncate(base);
        false
    }
}

// ---------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------

fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push((n & 0xff) as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The canonical integer a string spells (Redis `string2ll`), if any.
fn as_int(s: &[u8]) -> Option<i64> {
    parse_i64(s)
}

fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = as_int(s) {
            if let Ok(v8) = i8::try_from(v) {
                out.push(0xC0);
                out.push(v8 as u8);
                return;
            }
            if let Ok(v16) = i16::try_from(v) {
                out.push(0xC1);
                out.extend_from_slice(&v16.to_le_bytes());
                return;
            }
            if let Ok(v32) = i32::try_from(v) {
                out.push(0xC2);
                out.extend_from_slice(&v32.to_le_bytes());
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        // Kept only when it saves at least 4 bytes, as Redis does.
        let done = LZF.with(|z| {
            let z = &mut *z.borrow_mut();
            z.scratch.clear();
            let ok = lzf_compress_into(&mut z.table, s, &mut z.scratch, s.len() - 4);
            if ok {
                out.push(0xC3);
                put_len(out, z.scratch.len() as u64);
                put_len(out, s.len() as u64);
                out.extend_from_slice(&z.scratch);
            }
            if z.scratch.capacity() > 1 << 20 {
                z.scratch = Vec::new(); // don't keep a huge value's buffer
            }
            ok
        });
        if done {
            return;
        }
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// Builds listpacks.
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if let Some(v) = as_int(s) {
            if (0..=127).contains(&v) {
                b.push(v as u8);
            } else if (-4096..=4095).contains(&v) {
                let u = (v as u16) & 0x1fff;
                b.push(0xC0 | (u >> 8) as u8);
                b.push((u & 0xff) as u8);
            } else if i16::try_from(v).is_ok() {
                b.push(0xF1);
                b.extend_from_slice(&(v as i16).to_le_bytes());
            } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                b.push(0xF2);
                b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            } else if i32::try_from(v).is_ok() {
                b.push(0xF3);
                b.extend_from_slice(&(v as i32).to_le_bytes());
            } else {
                b.push(0xF4);
                b.extend_from_slice(&v.to_le_bytes());
            }
        } else if s.len() < 64 {
            b.push(0x80 | s.len() as u8);
            b.extend_from_slice(s);
        } else if s.len() < 4096 {
            b.push(0xE0 | (s.len() >> 8) as u8);
            b.push((s.len() & 0xff) as u8);
            b.extend_from_slice(s);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s);
        }
        let size = b.len() - start;
        // backlen: 7-bit groups, most significant first; all but the first
        // byte carry bit 7.
        let mut groups = Vec::with_capacity(5);
        let mut v = size;
        loop {
            groups.push((v & 0x7f) as u8);
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        for (k, g) in groups.iter().rev().enumerate() {
            if k == 0 {
                b.push(*g);
            } else {
                b.push(*g | 0x80);
            }
        }
        self.count += 1;
    }

    fn bytes_len(&self) -> usize {
        self.buf.len() + 1
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&total.to_le_bytes());
        let cnt = if self.count < 65535 {
            self.count as u16
        } else {
            65535
        };
        self.buf[4..6].copy_from_slice(&cnt.to_le_bytes());
        self.buf
    }
}

/// A score as Redis 7.0 stores it in a listpack (`d2string`).
fn score_string(d: f64) -> Vec<u8> {
    if d == 0.0 {
        return if d.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    if d.is_finite() && d.fract() == 0.0 && d.abs() < 4503599627370496.0 {
        return (d as i64).to_string().into_bytes();
    }
    fmt_g17(d).into_bytes()
}

fn put_value(out: &mut Vec<u8>, key: &[u8], v: &Value, compress: bool) {
    match v {
        Value::Str(s) => {
            out.push(T_STRING);
            put_string(out, key, compress);
            put_string(out, s, compress);
        }
        Value::List(l) => {
            out.push(T_LIST_QUICKLIST_2);
            put_string(out, key, compress);
            let mut nodes = Vec::new();
            let mut lp = Listpack::new();
            for e in l.iter() {
                if lp.count > 0 && lp.bytes_len() + e.len() + 11 > LIST_NODE_BYTES {
                    nodes.push(std::mem::replace(&mut lp, Listpack::new()).finish());
                }
                lp.push(e);
            }
            if lp.count > 0 {
                nodes.push(lp.finish());
            }
            put_len(out, nodes.len() as u64);
            for n in nodes {
                put_len(out, 2); // PACKED
                put_string(out, &n, compress);
            }
        }
        Value::Set(s) => {
            let ints: Option<Vec<i64>> = if s.len() <= SET_MAX_INTSET_ENTRIES {
                s.iter().map(|m| as_int(m)).collect()
            } else {
                None
            };
            put_set(out, key, s, ints, compress);
        }
        Value::Hash(h) => {
            let small = h.len() <= HASH_MAX_LISTPACK_ENTRIES
                && h.iter().all(|(f, v)| {
                    f.len() <= HASH_MAX_LISTPACK_VALUE && v.len() <= HASH_MAX_LISTPACK_VALUE
                });
            if small {
                out.push(T_HASH_LISTPACK);
                put_string(out, key, compress);
                let mut lp = Listpack::new();
                for (f, v) in h.iter() {
                    lp.push(f);
                    lp.push(v);
                }
                put_string(out, &lp.finish(), compress);
            } else {
                out.push(T_HASH);
                put_string(out, key, compress);
                put_len(out, h.len() as u64);
                for (f, v) in h.iter() {
                    put_string(out, f, compress);
                    put_string(out, v, compress);
                }
            }
        }
        Value::ZSet(z) => {
            let small = z.len() <= ZSET_MAX_LISTPACK_ENTRIES
                && z.dict.keys().all(|m| m.len() <= ZSET_MAX_LISTPACK_VALUE);
            if small {
                out.push(T_ZSET_LISTPACK);
                put_string(out, key, compress);
                let mut lp = Listpack::new();
                for (m, s) in z.iter_all(false) {
                    lp.push(m);
                    lp.push(&score_string(s));
                }
                put_string(out, &lp.finish(), compress);
            } else {
                out.push(T_ZSET_2);
                put_string(out, key, compress);
                put_len(out, z.len() as u64);
                // Redis writes the highest score first.
                for (m, s) in z.iter_all(true) {
                    put_string(out, m, compress);
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
}

fn put_set(
    out: &mut Vec<u8>,
    key: &[u8],
    s: &IndexSet<Bytes>,
    ints: Option<Vec<i64>>,
    compress: bool,
) {
    match ints {
        Some(mut v) => {
            v.sort_unstable();
            let (lo, hi) = (v[0], v[v.len() - 1]);
            let width: usize = if i16::try_from(lo).is_ok() && i16::try_from(hi).is_ok() {
                2
            } else if i32::try_from(lo).is_ok() && i32::try_from(hi).is_ok() {
                4
            } else {
                8
            };
            let mut b = Vec::with_capacity(8 + v.len() * width);
            b.extend_from_slice(&(width as u32).to_le_bytes());
            b.extend_from_slice(&(v.len() as u32).to_le_bytes());
            for x in v {
                b.extend_from_slice(&x.to_le_bytes()[..width]);
            }
            out.push(T_SET_INTSET);
            put_string(out, key, compress);
            put_string(out, &b, compress);
        }
        None => {
            out.push(T_SET);
            put_string(out, key, compress);
            put_len(out, s.len() as u64);
            for m in s.iter() {
                put_string(out, m, compress);
            }
        }
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Str(_) => false,
        Value::List(l) => l.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::ZSet(z) => z.is_empty(),
    }
}

fn put_aux(out: &mut Vec<u8>, k: &str, v: &[u8]) {
    out.push(OP_AUX);
    put_string(out, k.as_bytes(), false);
    put_string(out, v, false);
}

/// Serialises databases as an RDB version 10 payload. `dbs[i]` is stored
/// as database `i`; empty databases are omitted; keys expired at `now_ms`
/// and empty collections are skipped. `compress` enables LZF for strings
/// longer than 20 bytes; without `checksum` the CRC64 trailer is zero.
pub fn write_rdb(dbs: &[Db], aux: &RdbAux, now_ms: i64, compress: bool, checksum: bool) -> Vec<u8> {
    let mut out = Vec::new();
    write_rdb_to(&mut out, dbs, aux, now_ms, compress, checksum)
        .expect("writing to a Vec cannot fail");
    out
}

/// Bytes [`write_rdb_to`] gathers before handing them to the writer.
const WRITE_CHUNK: usize = 256 * 1024;

/// Encodes into a buffer that is checksummed and passed on to the writer
/// in [`WRITE_CHUNK`] pieces, so a snapshot never needs memory for the
/// whole file (a BGSAVE child would otherwise touch as many pages again
/// as the data set holds).
struct ChunkedOut<'w, W: std::io::Write> {
    w: &'w mut W,
    buf: Vec<u8>,
    crc: u64,
    checksum: bool,
    written: u64,
}

impl<W: std::io::Write> ChunkedOut<'_, W> {
    fn flush(&mut self) -> std::io::Result<()> {
        if self.checksum {
            self.crc = crc64(self.crc, &self.buf);
        }
        self.w.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        if self.buf.capacity() > 4 * WRITE_CHUNK {
            // one big value went through: don't keep its size
            self.buf = Vec::with_capacity(WRITE_CHUNK + WRITE_CHUNK / 4);
        }
        Ok(())
    }

    fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= WRITE_CHUNK {
            self.flush()?;
        }
        Ok(())
    }
}

/// [`write_rdb`] streamed to `w` (which gets large sequential writes, so
/// it needs no buffering of its own). Returns the bytes written.
pub fn write_rdb_to<W: std::io::Write>(
    w: &mut W,
    dbs: &[Db],
    aux: &RdbAux,
    now_ms: i64,
    compress: bool,
    checksum: bool,
) -> std::io::Result<u64> {
    let mut o = ChunkedOut {
        w,
        buf: Vec::with_capacity(WRITE_CHUNK + WRITE_CHUNK / 4),
        crc: 0,
        checksum,
        written: 0,
    };
    let out = &mut o.buf;
    out.extend_from_slice(b"REDIS0010");
    put_aux(out, "redis-ver", b"7.0.15");
    put_aux(out, "redis-bits", b"64");
    put_aux(out, "ctime", aux.ctime.to_string().as_bytes());
    put_aux(out, "used-mem", aux.used_mem.to_string().as_bytes());
    if let Some(r) = &aux.repl {
        put_aux(out, "repl-stream-db", r.stream_db.to_string().as_bytes());
        put_aux(out, "repl-id", r.repl_id.as_bytes());
        put_aux(out, "repl-offset", r.offset.to_string().as_bytes());
    }
    put_aux(out, "aof-base", if aux.aof_base { b"1" } else { b"0" });
    for (idx, db) in dbs.iter().enumerate() {
        let live = |e: &crate::db::Entry| {
            (e.expire == NO_EXPIRE || e.expire > now_ms) && !is_empty_value(&e.value)
        };
        let (mut n, mut with_ttl) = (0u64, 0u64);
        for e in db.dict.values() {
            if live(e) {
                n += 1;
                if e.expire != NO_EXPIRE {
                    with_ttl += 1;
                }
            }
        }
        if n == 0 {
            continue;
        }
        let out = &mut o.buf;
        out.push(OP_SELECTDB);
        put_len(out, idx as u64);
        out.push(OP_RESIZEDB);
        put_len(out, n);
        put_len(out, with_ttl);
        for (k, e) in db.dict.iter() {
            if !live(e) {
                continue;
            }
            let out = &mut o.buf;
            if e.expire != NO_EXPIRE {
                out.push(OP_EXPIRETIME_MS);
                out.extend_from_slice(&e.expire.to_le_bytes());
            }
            put_value(out, k.as_bytes(), &e.value, compress);
            o.maybe_flush()?;
        }
    }
    o.buf.push(OP_EOF);
    o.flush()?;
    let crc = if checksum { o.crc } else { 0 };
    o.w.write_all(&crc.to_le_bytes())?;
    Ok(o.written + 8)
}

// ---------------------------------------------------------------------------
// Reader
// ---------------------------------------------------------------------------

struct Reader<'a> {
    d: &'a [u8],
    pos: usize,
}

enum Len {
    Plain(u64),
    Enc(u8),
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.d.len())
            .ok_or(RdbError::Truncated(self.pos))?;
        let s = &self.d[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, RdbError> {
        Ok(self.take(1)?[0])
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_or_enc(&mut self) -> Result<Len, RdbError> {
        let at = self.pos;
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.u8()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.arr()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.arr()?)),
                _ => return corrupt(at, format!("unknown length encoding 0x{b:02x}")),
            },
            _ => Len::Enc(b & 0x3f),
        })
    }

    fn len(&mut self) -> Result<u64, RdbError> {
        let at = self.pos;
        match self.len_or_enc()? {
            Len::Plain(n) => Ok(n),
            Len::Enc(_) => corrupt(at, "expected a length, found a string encoding"),
        }
    }

    /// A count of items each at least `min_item` bytes long: rejects counts
    /// the remaining input cannot hold (so allocations stay bounded).
    fn count(&mut self, min_item: usize) -> Result<usize, RdbError> {
        let at = self.pos;
        let n = self.len()?;
        let rest = (self.d.len() - self.pos) as u64;
        if n.saturating_mul(min_item as u64) > rest {
            return Err(RdbError::Truncated(self.pos));
        }
        usize::try_from(n).or_else(|_| corrupt(at, "length too large"))
    }

    fn string(&mut self) -> Result<Vec<u8>, RdbError> {
        self.string_ref().map(Cow::into_owned)
    }

    /// A string, borrowed from the input when it is stored raw (keys and
    /// container blobs then cost no copy).
    fn string_ref(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        let at = self.pos;
        match self.len_or_enc()? {
            Len::Plain(n) => {
                let n = usize::try_from(n).map_err(|_| RdbError::Truncated(self.pos))?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Len::Enc(0) => Ok(int_string((self.u8()? as i8).into())),
            Len::Enc(1) => Ok(int_string(i16::from_le_bytes(self.arr()?).into())),
            Len::Enc(2) => Ok(int_string(i32::from_le_bytes(self.arr()?).into())),
            Len::Enc(3) => {
                let clen = self.len()?;
                let olen = self.len()?;
                let clen = usize::try_from(clen).map_err(|_| RdbError::Truncated(self.pos))?;
                let body = self.take(clen)?;
                // LZF expands at most ~264/2 per input byte.
                if olen > (clen as u64).saturating_mul(264) + 64 {
                    return corrupt(at, "invalid LZF compressed string");
                }
                lzf_decompress(body, olen as usize).map_or_else(
                    || corrupt(at, "invalid LZF compressed string"),
                    |v| Ok(v.into()),
                )
            }
            Len::Enc(e) => corrupt(at, format!("unknown string encoding {e}")),
        }
    }

    fn bin_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.arr()?))
    }

    fn text_double(&mut self) -> Result<f64, RdbError> {
        let at = self.pos;
        let n = self.u8()?;
        match n {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            _ => {
                let s = self.take(n as usize)?;
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.trim().parse::<f64>().ok())
                    .map_or_else(|| corrupt(at, "bad double value"), Ok)
            }
        }
    }
}

fn int_string(v: i64) -> Cow<'static, [u8]> {
    Cow::Owned(v.to_string().into_bytes())
}

fn int_bytes(v: i64) -> Bytes {
    Bytes::from(v.to_string().into_bytes())
}

/// Parses a listpack into its elements (integers as decimal strings).
fn parse_listpack(lp: &[u8], at: usize) -> Result<Vec<Bytes>, RdbError> {
    let bad = |what: &str| corrupt::<Vec<Bytes>>(at, format!("invalid listpack: {what}"));
    if lp.len() < 7 {
        return bad("too short");
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() || lp[lp.len() - 1] != 0xFF {
        return bad("header size mismatch");
    }
    let declared = u16::from_le_bytes([lp[4], lp[5]]);
    let mut out = Vec::new();
    let mut p = 6;
    let end = lp.len() - 1;
    let get = |from: usize, n: usize| -> Option<&[u8]> {
        lp.get(from..from.checked_add(n)?)
            .filter(|_| from + n <= end)
    };
    while p < end {
        let b = lp[p];
        let (elem, size): (Bytes, usize) = if b & 0x80 == 0 {
            (int_bytes((b & 0x7f) as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3f) as usize;
            let Some(s) = get(p + 1, n) else {
                return bad("string out of range");
            };
            (Bytes::copy_from_slice(s), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let Some(s) = get(p + 1, 1) else {
                return bad("int out of range");
            };
            let u = (((b & 0x1f) as u16) << 8) | s[0] as u16;
            let v = if u & 0x1000 != 0 {
                u as i64 - 0x2000
            } else {
                u as i64
            };
            (int_bytes(v), 2)
        } else if b & 0xF0 == 0xE0 {
            let Some(s) = get(p + 1, 1) else {
                return bad("string out of range");
            };
            let n = (((b & 0x0f) as usize) << 8) | s[0] as usize;
            let Some(s) = get(p + 2, n) else {
                return bad("string out of range");
            };
            (Bytes::copy_from_slice(s), 2 + n)
        } else {
            let w = match b {
                0xF0 => 4,
                0xF1 => 2,
                0xF2 => 3,
                0xF3 => 4,
                0xF4 => 8,
                _ => return bad("unknown entry encoding"),
            };
            let Some(s) = get(p + 1, w) else {
                return bad("entry out of range");
            };
            if b == 0xF0 {
                let n = u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize;
                let Some(st) = get(p + 5, n) else {
                    return bad("string out of range");
                };
                (Bytes::copy_from_slice(st), 5 + n)
            } else {
                let mut buf = [0u8; 8];
                buf[..w].copy_from_slice(s);
                // sign-extend
                if s[w - 1] & 0x80 != 0 {
                    for x in buf.iter_mut().skip(w) {
                        *x = 0xff;
                    }
                }
                (int_bytes(i64::from_le_bytes(buf)), 1 + w)
            }
        };
        let backlen = if size < 128 {
            1
        } else if size < 16384 {
            2
        } else if size < 2097152 {
            3
        } else if size < 268435456 {
            4
        } else {
            5
        };
        p = p.saturating_add(size).saturating_add(backlen);
        if p > end {
            return bad("entry past the end");
        }
        out.push(elem);
    }
    if declared != 65535 && declared as usize != out.len() {
        return bad("element count mismatch");
    }
    Ok(out)
}

/// Parses a ziplist into its elements (integers as decimal strings).
fn parse_ziplist(zl: &[u8], at: usize) -> Result<Vec<Bytes>, RdbError> {
    let bad = |what: &str| corrupt::<Vec<Bytes>>(at, format!("invalid ziplist: {what}"));
    if zl.len() < 11 {
        return bad("too short");
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    if total != zl.len() || zl[zl.len() - 1] != 0xFF {
        return bad("header size mismatch");
    }
    let declared = u16::from_le_bytes([zl[8], zl[9]]);
    let end = zl.len() - 1;
    let get = |from: usize, n: usize| -> Option<&[u8]> {
        zl.get(from..from.checked_add(n)?)
            .filter(|_| from + n <= end)
    };
    let mut out = Vec::new();
    let mut p = 10;
    while p < end {
        // prevlen
        p += if zl[p] < 254 { 1 } else { 5 };
        let Some(&b) = get(p, 1).map(|s| &s[0]) else {
            return bad("entry out of range");
        };
        let le = |s: &[u8]| {
            let mut buf = [0u8; 8];
            buf[..s.len()].copy_from_slice(s);
            if s[s.len() - 1] & 0x80 != 0 {
                for x in buf.iter_mut().skip(s.len()) {
                    *x = 0xff;
                }
            }
            i64::from_le_bytes(buf)
        };
        let (elem, size) = match b >> 6 {
            0 => {
                let n = (b & 0x3f) as usize;
                let Some(s) = get(p + 1, n) else {
                    return bad("string out of range");
                };
                (Bytes::copy_from_slice(s), 1 + n)
            }
            1 => {
                let Some(s) = get(p + 1, 1) else {
                    return bad("string out of range");
                };
                let n = (((b & 0x3f) as usize) << 8) | s[0] as usize;
                let Some(s) = get(p + 2, n) else {
                    return bad("string out of range");
                };
                (Bytes::copy_from_slice(s), 2 + n)
            }
            2 => {
                let Some(s) = get(p + 1, 4) else {
                    return bad("string out of range");
                };
                let n = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                let Some(s) = get(p + 5, n) else {
                    return bad("string out of range");
                };
                (Bytes::copy_from_slice(s), 5 + n)
            }
            _ => {
                let w = match b {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return bad("unknown entry encoding"),
                };
                if w == 0 {
                    (int_bytes((b & 0x0f) as i64 - 1), 1)
                } else {
                    let Some(s) = get(p + 1, w) else {
                        return bad("int out of range");
                    };
                    (int_bytes(le(s)), 1 + w)
                }
            }
        };
        p += size;
        out.push(elem);
    }
    if p != end {
        return bad("entry past the end");
    }
    if declared != 65535 && declared as usize != out.len() {
        return bad("element count mismatch");
    }
    Ok(out)
}

/// Parses an intset.
fn parse_intset(b: &[u8], at: usize) -> Result<Vec<i64>, RdbError> {
    let bad = |what: &str| corrupt::<Vec<i64>>(at, format!("invalid intset: {what}"));
    if b.len() < 8 {
        return bad("too short");
    }
    let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(w, 2 | 4 | 8) {
        return bad("bad encoding");
    }
    if n == 0 || (b.len() - 8) / w != n || !(b.len() - 8).is_multiple_of(w) {
        return bad("size mismatch");
    }
    let mut out = Vec::with_capacity(n);
    for c in b[8..].chunks_exact(w) {
        let v = match w {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
        };
        if out.last().is_some_and(|&l| l >= v) {
            return bad("not strictly ascending");
        }
        out.push(v);
    }
    Ok(out)
}

/// Parses a zipmap into field/value pairs.
fn parse_zipmap(b: &[u8], at: usize) -> Result<Vec<(Bytes, Bytes)>, RdbError> {
    let bad = || corrupt::<Vec<(Bytes, Bytes)>>(at, "invalid zipmap");
    let mut p = 1;
    let mut out = Vec::new();
    let read_len = |p: &mut usize| -> Option<usize> {
        let l = *b.get(*p)?;
        if l < 254 {
            *p += 1;
            Some(l as usize)
        } else if l == 254 {
            let s = b.get(*p + 1..*p + 5)?;
            *p += 5;
            Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
        } else {
            None
        }
    };
    loop {
        match b.get(p) {
            None => return bad(),
            Some(0xFF) => break,
            Some(_) => {}
        }
        let Some(kl) = read_len(&mut p) else {
            return bad();
        };
        let Some(k) = b.get(p..p.saturating_add(kl)) else {
            return bad();
        };
        p += kl;
        let Some(vl) = read_len(&mut p) else {
            return bad();
        };
        let Some(&free) = b.get(p) else {
            return bad();
        };
        p += 1;
        let Some(v) = b.get(p..p.saturating_add(vl)) else {
            return bad();
        };
        p = p.saturating_add(vl).saturating_add(free as usize);
        out.push((Bytes::copy_from_slice(k), Bytes::copy_from_slice(v)));
    }
    Ok(out)
}

fn parse_score(s: &[u8], at: usize) -> Result<f64, RdbError> {
    parse_f64(s).map_or_else(|| corrupt(at, "bad zset score"), Ok)
}

fn make_zset(pairs: Vec<(Bytes, f64)>, at: usize) -> Result<ZSet, RdbError> {
    let mut z = ZSet::default();
    let mut maxlen = 0;
    for (m, s) in pairs {
        if s.is_nan() {
            return corrupt(at, "zset with NAN score detected");
        }
        maxlen = maxlen.max(m.len());
        if z.insert(m, s).is_some() {
            return corrupt(at, "duplicate zset member");
        }
    }
    z.skiplist = z.len() > ZSET_MAX_LISTPACK_ENTRIES || maxlen > ZSET_MAX_LISTPACK_VALUE;
    Ok(z)
}

fn make_hash(pairs: Vec<(Bytes, Bytes)>, at: usize) -> Result<Value, RdbError> {
    let mut h = IndexMap::with_capacity(pairs.len());
    for (f, v) in pairs {
        if h.insert(f, v).is_some() {
            return corrupt(at, "duplicate hash field");
        }
    }
    Ok(Value::Hash(Box::new(h)))
}

fn make_set(items: Vec<Bytes>, at: usize) -> Result<Value, RdbError> {
    let mut s = IndexSet::with_capacity(items.len());
    for m in items {
        if !s.insert(m) {
            return corrupt(at, "duplicate set member");
        }
    }
    Ok(Value::Set(Box::new(s)))
}

fn pairs<T>(
    items: Vec<Bytes>,
    at: usize,
    f: impl Fn(Bytes) -> Result<T, RdbError>,
) -> Result<Vec<(Bytes, T)>, RdbError> {
    if !items.len().is_multiple_of(2) {
        return corrupt(at, "odd number of elements");
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, f(b)?));
    }
    Ok(out)
}

/// Reads one value of type `ty`.
fn read_value(r: &mut Reader, ty: u8, ty_at: usize) -> Result<Value, RdbError> {
    let at = r.pos;
    let bs = |v: Vec<u8>| Bytes::from(v);
    Ok(match ty {
        T_STRING => Value::Str(r.string()?),
        T_LIST => {
            let n = r.count(1)?;
            let mut l = VecDeque::with_capacity(n);
            for _ in 0..n {
                l.push_back(bs(r.string()?));
            }
            Value::List(Box::new(l))
        }
        T_SET => {
            let n = r.count(1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(bs(r.string()?));
            }
            make_set(v, at)?
        }
        T_ZSET | T_ZSET_2 => {
            let n = r.count(if ty == T_ZSET { 2 } else { 9 })?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let m = bs(r.string()?);
                let s = if ty == T_ZSET {
                    r.text_double()?
                } else {
                    r.bin_double()?
                };
                v.push((m, s));
            }
            Value::ZSet(Box::new(make_zset(v, at)?))
        }
        T_HASH => {
            let n = r.count(2)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let f = bs(r.string()?);
                let val = bs(r.string()?);
                v.push((f, val));
            }
            make_hash(v, at)?
        }
        T_HASH_ZIPMAP => make_hash(parse_zipmap(&r.string_ref()?, at)?, at)?,
        T_LIST_ZIPLIST => Value::List(Box::new(parse_ziplist(&r.string_ref()?, at)?.into())),
        T_SET_INTSET => {
            let v = parse_intset(&r.string_ref()?, at)?;
            make_set(v.into_iter().map(int_bytes).collect(), at)?
        }
        T_ZSET_ZIPLIST | T_ZSET_LISTPACK => {
            let s = r.string_ref()?;
            let items = if ty == T_ZSET_ZIPLIST {
                parse_ziplist(&s, at)?
            } else {
                parse_listpack(&s, at)?
            };
            let p = pairs(items, at, |b| parse_score(&b, at))?;
            Value::ZSet(Box::new(make_zset(p, at)?))
        }
        T_HASH_ZIPLIST | T_HASH_LISTPACK => {
            let s = r.string_ref()?;
            let items = if ty == T_HASH_ZIPLIST {
                parse_ziplist(&s, at)?
            } else {
                parse_listpack(&s, at)?
            };
            make_hash(pairs(items, at, Ok)?, at)?
        }
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let n = r.count(if ty == T_LIST_QUICKLIST { 1 } else { 2 })?;
            let mut l = VecDeque::new();
            for _ in 0..n {
                let node_at = r.pos;
                let container = if ty == T_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    2
                };
                let s = r.string_ref()?;
                match (ty, container) {
                    (T_LIST_QUICKLIST, _) => l.extend(parse_ziplist(&s, node_at)?),
                    (_, 1) => l.push_back(bs(s.into_owned())),
                    (_, 2) => l.extend(parse_listpack(&s, node_at)?),
                    _ => {
                        return corrupt(node_at, format!("unknown quicklist container {container}"))
                    }
                }
            }
            Value::List(Box::new(l))
        }
        6 | 7 => {
            return Err(RdbError::Unsupported {
                what: "module value",
                offset: ty_at,
            })
        }
        15 | 19 | 21 => {
            return Err(RdbError::Unsupported {
                what: "stream value",
                offset: ty_at,
            })
        }
        _ => return Err(RdbError::UnknownType { ty, offset: ty_at }),
    })
}

/// Where [`read_rdb_with`] puts the keys it decodes, so a loader can build
/// its databases directly instead of going through a list of keys first.
pub trait RdbSink {
    /// A SELECTDB opcode at `offset`: the keys that follow belong to `db`.
    /// An error (say, an index the server has no database for) stops the
    /// load.
    fn select_db(&mut self, db: u64, offset: usize) -> Result<(), RdbError>;
    /// A RESIZEDB opcode: the current database's key count and keys with
    /// a TTL, as written (a size hint; already capped by the input size).
    fn resize_db(&mut self, keys: usize, expires: usize);
    /// One non-empty key of the current database, with its absolute
    /// expire time if any. Returns false when the database already holds
    /// `key` (the reader then fails with Redis's duplicated-key error).
    fn key(&mut self, key: &[u8], value: Value, expire: Option<i64>) -> bool;
}

/// The sink of [`read_rdb`]: keys in file order, duplicates detected with
/// a set per database.
#[derive(Default)]
struct CollectKeys {
    db: u64,
    dbs: BTreeMap<u64, Vec<LoadedKey>>,
    // aHash: duplicate detection was a third of the load time with SipHash
    seen: BTreeMap<u64, HashSet<Bytes, ahash::RandomState>>,
}

impl RdbSink for CollectKeys {
    fn select_db(&mut self, db: u64, _offset: usize) -> Result<(), RdbError> {
        self.db = db;
        Ok(())
    }

    fn resize_db(&mut self, keys: usize, _expires: usize) {
        self.seen.entry(self.db).or_default().reserve(keys);
        self.dbs.entry(self.db).or_default().reserve(keys);
    }

    fn key(&mut self, key: &[u8], value: Value, expire: Option<i64>) -> bool {
        let key = Bytes::copy_from_slice(key);
        if !self.seen.entry(self.db).or_default().insert(key.clone()) {
            return false;
        }
        self.dbs
            .entry(self.db)
            .or_default()
            .push(LoadedKey { key, value, expire });
        true
    }
}

/// Decodes an RDB payload straight into `dbs` (no intermediate key list):
/// the dict's own insert finds duplicates, and keys whose TTL passed at
/// `now_ms` are dropped and counted as a master does (`i64::MIN` keeps
/// them all). A database index beyond `dbs` is [`RdbError::DbOutOfRange`].
/// On an error `dbs` holds part of the file and must be discarded.
pub fn read_rdb_into_dbs(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
) -> Result<(LoadedRdb, super::LoadStats), RdbError> {
    let mut sink = DbLoader {
        dbs,
        cur: 0,
        now_ms,
        stats: super::LoadStats::default(),
    };
    let loaded = read_rdb_with(data, &mut sink)?;
    Ok((loaded, sink.stats))
}

struct DbLoader<'a> {
    dbs: &'a mut [Db],
    cur: usize,
    now_ms: i64,
    stats: super::LoadStats,
}

impl RdbSink for DbLoader<'_> {
    fn select_db(&mut self, db: u64, offset: usize) -> Result<(), RdbError> {
        if db >= self.dbs.len() as u64 {
            return Err(RdbError::DbOutOfRange { db, offset });
        }
        self.cur = db as usize;
        Ok(())
    }

    fn resize_db(&mut self, keys: usize, expires: usize) {
        self.dbs[self.cur].reserve(keys, expires);
    }

    fn key(&mut self, key: &[u8], value: Value, expire: Option<i64>) -> bool {
        if let Some(at) = expire {
            if at <= self.now_ms {
                self.stats.expired += 1;
                return true;
            }
        }
        let mut e = Entry::new(value, 0);
        e.expire = expire.unwrap_or(NO_EXPIRE);
        let inserted = self.dbs[self.cur].insert_new(key, e);
        self.stats.loaded += u64::from(inserted);
        inserted
    }
}

/// Decodes a whole RDB payload (versions 1 to 10). Fails with the byte
/// offset on any malformed or truncated input and on a checksum mismatch
/// (a zero stored checksum means "disabled" and is accepted).
pub fn read_rdb(data: &[u8]) -> Result<LoadedRdb, RdbError> {
    let mut sink = CollectKeys::default();
    let mut out = read_rdb_with(data, &mut sink)?;
    out.dbs = sink.dbs;
    Ok(out)
}

/// [`read_rdb`] handing each key to `sink` as it is decoded; the returned
/// [`LoadedRdb`] has everything but `dbs` (left empty). On an error the
/// sink may hold part of the file: the caller must discard it.
pub fn read_rdb_with(data: &[u8], sink: &mut impl RdbSink) -> Result<LoadedRdb, RdbError> {
    if data.len() < PARALLEL_CRC_MIN {
        return decode(data, sink, |end| crc64(0, &data[..end]));
    }
    // The checksum is over everything up to EOF, which is normally all but
    // the 8-byte trailer: compute that on another core while decoding (as
    // Redis does inside its reads, it is otherwise ~10% of a load). An AOF
    // preamble has more after the trailer; then the guess goes unused.
    std::thread::scope(|sc| {
        let covered = &data[..data.len() - 8];
        let guess = std::thread::Builder::new()
            .name("rdb-crc".into())
            .spawn_scoped(sc, move || crc64(0, covered))
            .ok();
        decode(data, sink, |end| match guess {
            Some(h) if end == covered.len() => h.join().unwrap_or_else(|_| crc64(0, covered)),
            _ => crc64(0, &data[..end]),
        })
    })
}

/// Payloads from this size on have their checksum computed on a second
/// thread.
const PARALLEL_CRC_MIN: usize = 4 << 20;

/// The decoder of [`read_rdb_with`]; `crc_of(end)` is the CRC64 of
/// `data[..end]`.
fn decode(
    data: &[u8],
    sink: &mut impl RdbSink,
    crc_of: impl FnOnce(usize) -> u64,
) -> Result<LoadedRdb, RdbError> {
    if data.len() < 9 {
        return if data.len() >= 5.min(data.len())
            && !b"REDIS".starts_with(&data[..5.min(data.len())])
        {
            Err(RdbError::BadMagic)
        } else {
            Err(RdbError::Truncated(data.len()))
        };
    }
    if &data[..5] != b"REDIS" {
        return Err(RdbError::BadMagic);
    }
    let vs = &data[5..9];
    let version = std::str::from_utf8(vs)
        .ok()
        .filter(|s| s.bytes().all(|c| c.is_ascii_digit()))
        .and_then(|s| s.parse::<u32>().ok())
        .filter(|v| (1..=10).contains(v))
        .ok_or_else(|| RdbError::BadVersion(String::from_utf8_lossy(vs).into_owned()))?;
    let mut out = LoadedRdb {
        version,
        ..Default::default()
    };
    let mut r = Reader { d: data, pos: 9 };
    let mut db: u64 = 0;
    let mut expire: Option<i64> = None;
    sink.select_db(0, 9)?;
    loop {
        let at = r.pos;
        let op = r.u8()?;
        match op {
            OP_EOF => break,
            OP_SELECTDB => {
                db = r.len()?;
                if db > u32::MAX as u64 {
                    return corrupt(at, "database index out of range");
                }
                sink.select_db(db, at)?;
            }
            OP_RESIZEDB => {
                let size = r.len()?;
                let expires = r.len()?;
                // a hint: capped so a hostile file cannot make us allocate
                // without data
                let cap = |n: u64| (n as usize).min(data.len() / 4);
                sink.resize_db(cap(size), cap(expires));
            }
            OP_AUX => {
                let k = r.string()?;
                let v = r.string()?;
                out.aux.push((k, v));
            }
            OP_EXPIRETIME_MS => expire = Some(i64::from_le_bytes(r.arr()?)),
            OP_EXPIRETIME => {
                expire = Some(i32::from_le_bytes(r.arr()?) as i64 * 1000);
            }
            OP_IDLE => {
                r.len()?;
            }
            OP_FREQ => {
                r.u8()?;
            }
            OP_FUNCTION2 => out.functions.push(r.string()?),
            OP_FUNCTION => {
                return Err(RdbError::Unsupported {
                    what: "pre-GA FUNCTION opcode",
                    offset: at,
                })
            }
            OP_MODULE_AUX => {
                return Err(RdbError::Unsupported {
                    what: "module aux data",
                    offset: at,
                })
            }
            ty => {
                let key_at = r.pos;
                let key = r.string_ref()?;
                let value = read_value(&mut r, ty, at)?;
                let exp = expire.take();
                if is_empty_value(&value) {
                    continue;
                }
                if !sink.key(&key, value, exp) {
                    return corrupt(
                        key_at,
                        format!(
                            "duplicated key '{}' found in DB {db}",
                            String::from_utf8_lossy(&key)
                        ),
                    );
                }
            }
        }
    }
    if version >= 5 {
        let crc_at = r.pos;
        let stored = u64::from_le_bytes(r.arr()?);
        if stored != 0 {
            let got = crc_of(crc_at);
            if got != stored {
                return Err(RdbError::BadChecksum {
                    expected: stored,
                    got,
                });
            }
        }
    }
    out.consumed = r.pos;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::key::Key;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn crc64_check_value_matches_redis() {
        assert_eq!(crc64(0, b"123456789"), 0xE9C6_D914_C4B8_D9CA);
    }

    /// The bitwise definition, one bit at a time.
    fn crc64_bitwise(mut crc: u64, data: &[u8]) -> u64 {
        for &b in data {
            crc ^= b as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ CRC64_POLY_REFLECTED
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn crc64_slice_by_16_matches_bitwise_at_every_length_and_split() {
        let mut rng = 7u64;
        let data: Vec<u8> = (0..300)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                (rng >> 33) as u8
            })
            .collect();
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), crc64_bitwise(0, &data[..len]));
        }
        let whole = crc64(0, &data);
        for split in 0..data.len() {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole);
        }
    }

    #[test]
    fn reference_examples_decode() {
        let f = [
            0x52, 0x45, 0x44, 0x49, 0x53, 0x30, 0x30, 0x31, 0x30, 0xfe, 0x00, 0x00, 0x01, 0x6b,
            0x01, 0x76, 0xff, 0xb9, 0xd4, 0xa1, 0x8e, 0x31, 0x24, 0x9e, 0xce,
        ];
        let r = read_rdb(&f).unwrap();
        assert_eq!(r.dbs[&0].len(), 1);
        assert!(matches!(&r.dbs[&0][0].value, Value::Str(v) if v == b"v"));
        let mut bad = f;
        bad[15] = b'w';
        assert!(matches!(read_rdb(&bad), Err(RdbError::BadChecksum { .. })));
    }

    #[test]
    fn lzf_round_trips() {
        let mut rng = 12345u64;
        // long inputs first too: the reused hash table then holds stale
        // positions past the end of the next, shorter input
        for len in [100_000usize, 21, 50, 300, 5000, 100_000, 21] {
            let mut v = Vec::with_capacity(len);
            for i in 0..len {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
                v.push(if (rng >> 40).is_multiple_of(4) {
                    (rng >> 33) as u8
                } else {
                    (i % 7) as u8 + b'a'
                });
            }
            let c = lzf_compress(&v, v.len() + 100).unwrap();
            assert_eq!(lzf_decompress(&c, v.len()).unwrap(), v);
        }
    }

    #[test]
    fn listpack_ints_round_trip() {
        let vals: Vec<String> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-4097",
            "32767",
            "-32768",
            "32768",
            "8388607",
            "-8388608",
            "8388608",
            "2147483647",
            "-2147483648",
            "2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "-0",
            "abc",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            ("x".repeat(63)),
            "y".repeat(64),
            "z".repeat(4095),
            "w".repeat(4096),
        ])
        .collect();
        let mut lp = Listpack::new();
        for v in &vals {
            lp.push(v.as_bytes());
        }
        let got = parse_listpack(&lp.finish(), 0).unwrap();
        let got: Vec<String> = got
            .iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect();
        assert_eq!(got, vals);
    }

    fn sample_dbs() -> Vec<Db> {
        let mut dbs: Vec<Db> = (0..3).map(|_| Db::default()).collect();
        let put = |db: &mut Db, k: &str, v: Value, exp: i64| {
            let mut e = Entry::new(v, 0);
            e.expire = exp;
            db.dict.insert(Key::new(k.as_bytes()), e);
        };
        put(&mut dbs[0], "s", Value::Str(b"hello".to_vec()), NO_EXPIRE);
        put(&mut dbs[0], "n", Value::Str(b"-300".to_vec()), NO_EXPIRE);
        put(
            &mut dbs[0],
            "big",
            Value::Str(b"abc".repeat(1000)),
            4_000_000_000_000,
        );
        put(&mut dbs[0], "gone", Value::Str(b"x".to_vec()), 5);
        let l: VecDeque<Bytes> = (0..3000).map(|i| b(&format!("e{i}"))).collect();
        put(&mut dbs[0], "l", Value::List(Box::new(l)), NO_EXPIRE);
        let s: IndexSet<Bytes> = (0..10).map(|i| b(&(i * 100_000 - 7).to_string())).collect();
        put(&mut dbs[0], "si", Value::Set(Box::new(s)), NO_EXPIRE);
        let s: IndexSet<Bytes> = (0..600).map(|i| b(&format!("m{i}"))).collect();
        put(&mut dbs[1], "ss", Value::Set(Box::new(s)), NO_EXPIRE);
        let h: IndexMap<Bytes, Bytes> = (0..5)
            .map(|i| (b(&format!("f{i}")), b(&i.to_string())))
            .collect();
        put(&mut dbs[1], "h", Value::Hash(Box::new(h)), NO_EXPIRE);
        let h: IndexMap<Bytes, Bytes> = (0..500)
            .map(|i| (b(&format!("f{i}")), b(&"v".repeat(i))))
            .collect();
        put(&mut dbs[1], "hb", Value::Hash(Box::new(h)), NO_EXPIRE);
        let mut z = ZSet::default();
        for (i, s) in [1.5, -2.0, f64::INFINITY, 0.0, 1e300].iter().enumerate() {
            z.insert(b(&format!("z{i}")), *s);
        }
        put(&mut dbs[1], "z", Value::ZSet(Box::new(z)), NO_EXPIRE);
        let mut z = ZSet::default();
        for i in 0..200 {
            z.insert(b(&format!("z{i}")), i as f64 / 3.0);
        }
        put(&mut dbs[1], "zb", Value::ZSet(Box::new(z)), NO_EXPIRE);
        dbs
    }

    fn canon(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::Str(s) => vec![s.clone()],
            Value::List(l) => l.iter().map(|x| x.to_vec()).collect(),
            Value::Set(s) => {
                let mut v: Vec<_> = s.iter().map(|x| x.to_vec()).collect();
                v.sort();
                v
            }
            Value::Hash(h) => {
                let mut v: Vec<_> = h
                    .iter()
                    .map(|(a, b)| [a.to_vec(), b"=".to_vec(), b.to_vec()].concat())
                    .collect();
                v.sort();
                v
            }
            Value::ZSet(z) => z
                .iter_all(false)
                .map(|(m, s)| [m.to_vec(), s.to_bits().to_le_bytes().to_vec()].concat())
                .collect(),
        }
    }

    #[test]
    fn write_then_read_is_identity() {
        let dbs = sample_dbs();
        for compress in [false, true] {
            let f = write_rdb(&dbs, &RdbAux::default(), 1000, compress, true);
            let r = read_rdb(&f).unwrap();
            assert!(!r.dbs.contains_key(&2));
            for (i, db) in dbs.iter().enumerate().take(2) {
                let keys = &r.dbs[&(i as u64)];
                let live: Vec<_> = db.dict.iter().filter(|(_, e)| e.expire > 1000).collect();
                assert_eq!(keys.len(), live.len());
                for (k, e) in live {
                    let lk = keys.iter().find(|x| &x.key[..] == k.as_bytes()).unwrap();
                    assert_eq!(canon(&lk.value), canon(&e.value));
                    assert_eq!(lk.expire, (e.expire != NO_EXPIRE).then_some(e.expire));
                }
            }
        }
    }

    #[test]
    fn loading_into_dbs_matches_read_rdb_and_drops_expired_keys() {
        let dbs = sample_dbs();
        let f = write_rdb(&dbs, &RdbAux::default(), 1000, true, true);
        let listed = read_rdb(&f).unwrap();
        let mut into: Vec<Db> = (0..3).map(|_| Db::default()).collect();
        let (_, stats) = read_rdb_into_dbs(&f, &mut into, 1000).unwrap();
        assert_eq!(stats.expired, 0);
        for (i, db) in into.iter().enumerate() {
            let keys = listed.dbs.get(&(i as u64)).map_or(&[][..], |v| &v[..]);
            assert_eq!(db.len(), keys.len());
            for k in keys {
                let e = &db.dict[&k.key[..]];
                assert_eq!(canon(&e.value), canon(&k.value));
                assert_eq!(e.expire, k.expire.unwrap_or(NO_EXPIRE));
                assert_eq!(db.expires.contains(&k.key[..]), k.expire.is_some());
            }
        }
        assert_eq!(
            stats.loaded,
            listed.dbs.values().map(|v| v.len() as u64).sum()
        );
        // "big" expires at 4e12: loading later drops and counts it
        let mut later: Vec<Db> = (0..3).map(|_| Db::default()).collect();
        let (_, stats) = read_rdb_into_dbs(&f, &mut later, 4_000_000_000_000).unwrap();
        assert_eq!(stats.expired, 1);
        assert!(!later[0].dict.contains_key(&b"big"[..]));
        assert!(later[0].expires.is_empty());
    }

    #[test]
    fn loading_into_dbs_refuses_duplicates_and_unknown_databases() {
        let mut d = b"REDIS0010\xfe\x00\x00\x01k\x01v\x00\x01k\x01w\xff".to_vec();
        d.extend_from_slice(&[0; 8]);
        let mut dbs = vec![Db::default()];
        let e = read_rdb_into_dbs(&d, &mut dbs, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "corrupt RDB at offset 17: duplicated key 'k' found in DB 0"
        );
        let mut d = b"REDIS0010\xfe\x05\x00\x01k\x01v\xff".to_vec();
        d.extend_from_slice(&[0; 8]);
        let mut dbs: Vec<Db> = (0..5).map(|_| Db::default()).collect();
        assert_eq!(
            read_rdb_into_dbs(&d, &mut dbs, 0).unwrap_err(),
            RdbError::DbOutOfRange { db: 5, offset: 9 }
        );
        let mut dbs: Vec<Db> = (0..6).map(|_| Db::default()).collect();
        assert!(read_rdb_into_dbs(&d, &mut dbs, 0).is_ok());
        assert_eq!(dbs[5].len(), 1);
    }

    #[test]
    fn snapshot_spanning_many_chunks_keeps_one_checksum() {
        let mut db = Db::default();
        for i in 0..30_000 {
            let v = format!("{i:08}").repeat(1 + i % 9);
            db.insert_entry(b(&format!("key:{i}")), Entry::new(Value::Str(v.into()), 0));
        }
        // one value bigger than a chunk on its own
        db.insert_entry(
            b("huge"),
            Entry::new(Value::Str(vec![7; 3 * WRITE_CHUNK]), 0),
        );
        let f = write_rdb(&[db], &RdbAux::default(), 1000, true, true);
        assert!(f.len() > 2 * WRITE_CHUNK);
        let r = read_rdb(&f).unwrap();
        assert_eq!(r.dbs[&0].len(), 30_001);
        assert_eq!(r.consumed, f.len());
    }

    #[test]
    fn large_payloads_are_checksummed_in_parallel_and_still_checked() {
        let mut db = Db::default();
        db.insert_entry(
            b("big"),
            Entry::new(Value::Str(vec![3; PARALLEL_CRC_MIN]), 0),
        );
        db.insert_entry(b("k"), Entry::new(Value::Str(b"v".to_vec()), 0));
        let f = write_rdb(&[db], &RdbAux::default(), 0, false, true);
        assert!(f.len() > PARALLEL_CRC_MIN);
        assert_eq!(read_rdb(&f).unwrap().consumed, f.len());
        let mut bad = f.clone();
        bad[f.len() / 2] ^= 1;
        assert!(matches!(read_rdb(&bad), Err(RdbError::BadChecksum { .. })));
        // an AOF preamble: commands follow the trailer, so the checksum
        // covers less than "all but the last 8 bytes"
        let mut aof = f.clone();
        aof.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(read_rdb(&aof).unwrap().consumed, f.len());
        let mut bad = aof.clone();
        bad[f.len() / 2] ^= 1;
        assert!(matches!(read_rdb(&bad), Err(RdbError::BadChecksum { .. })));
    }

    #[test]
    fn a_failing_writer_fails_the_snapshot() {
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 < b.len() {
                    return Err(std::io::Error::other("disk full"));
                }
                self.0 -= b.len();
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let dbs = sample_dbs();
        let whole = write_rdb(&dbs, &RdbAux::default(), 1000, true, true).len();
        let mut w = Full(whole - 1);
        assert!(write_rdb_to(&mut w, &dbs, &RdbAux::default(), 1000, true, true).is_err());
        let mut w = Full(whole);
        assert_eq!(
            write_rdb_to(&mut w, &dbs, &RdbAux::default(), 1000, true, true).unwrap(),
            whole as u64
        );
    }

    #[test]
    fn truncation_and_corruption_never_pass_or_panic() {
        let dbs = sample_dbs();
        let f = write_rdb(&dbs, &RdbAux::default(), 1000, true, true);
        let step = (f.len() / 400).max(1);
        for cut in (0..f.len()).step_by(step).chain(f.len() - 40..f.len()) {
            assert!(read_rdb(&f[..cut]).is_err(), "cut at {cut} accepted");
        }
        // Random byte flips: with the checksum on, every change is caught.
        let mut rng = 99u64;
        for _ in 0..500 {
            let mut g = f.clone();
            for _ in 0..1 + (rng >> 60) {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let i = (rng >> 20) as usize % g.len();
                g[i] ^= (rng >> 8) as u8 | 1;
            }
            assert!(read_rdb(&g).is_err());
        }
        // Without a checksum flips must simply not panic.
        let f0 = write_rdb(&dbs, &RdbAux::default(), 1000, true, false);
        for _ in 0..1500 {
            let mut g = f0.clone();
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (rng >> 20) as usize % g.len();
            g[i] = (rng >> 8) as u8;
            let _ = read_rdb(&g);
            let _ = read_rdb(&g[..i]);
        }
        // Pure random input.
        for n in 0..2000usize {
            let mut g = b"REDIS0010".to_vec();
            for _ in 0..n % 64 {
                rng = rng
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                g.push((rng >> 33) as u8);
            }
            let _ = read_rdb(&g);
        }
    }

    #[test]
    fn errors_name_offsets() {
        let f = write_rdb(&sample_dbs(), &RdbAux::default(), 1000, true, true);
        let e = read_rdb(&f[..f.len() - 20]).unwrap_err();
        assert!(e.to_string().starts_with("truncated at offset"), "{e}");
        let mut g = b"REDIS0010\xfe\x00\xc8\x01k".to_vec();
        g.push(0xff);
        assert_eq!(
            read_rdb(&g).unwrap_err().to_string(),
            "unknown type 200 at offset 11"
        );
        assert_eq!(read_rdb(b"REDXS0010\xff").unwrap_err(), RdbError::BadMagic);
        assert!(matches!(
            read_rdb(b"REDIS0011\xff"),
            Err(RdbError::BadVersion(_))
        ));
    }

    /// A ziplist built by hand from the format description.
    fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev = 0usize;
        for it in items {
            let start = body.len();
            if prev < 254 {
                body.push(prev as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            match std::str::from_utf8(it)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
            {
                Some(v) if (0..=12).contains(&v) => body.push(0xF1 + v as u8),
                Some(v) if i8::try_from(v).is_ok() => {
                    body.push(0xFE);
                    body.push(v as i8 as u8);
                }
                Some(v) if i16::try_from(v).is_ok() => {
                    body.push(0xC0);
                    body.extend_from_slice(&(v as i16).to_le_bytes());
                }
                Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                    body.push(0xF0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                }
                Some(v) if i32::try_from(v).is_ok() => {
                    body.push(0xD0);
                    body.extend_from_slice(&(v as i32).to_le_bytes());
                }
                Some(v) => {
                    body.push(0xE0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
                None if it.len() < 64 => {
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
                None if it.len() < 16384 => {
                    body.push(0x40 | (it.len() >> 8) as u8);
                    body.push(it.len() as u8);
                    body.extend_from_slice(it);
                }
                None => {
                    body.push(0x80);
                    body.extend_from_slice(&(it.len() as u32).to_be_bytes());
                    body.extend_from_slice(it);
                }
            }
            prev = body.len() - start;
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(items.len() as u16).to_le_bytes());
        out.extend_from_slice(&body);
        out.push(0xFF);
        out
    }

    fn strs(v: &Value) -> Vec<String> {
        canon(v)
            .into_iter()
            .map(|x| String::from_utf8_lossy(&x).into_owned())
            .collect()
    }

    #[test]
    fn legacy_encodings_load() {
        let long = "L".repeat(20_000);
        let mid = "m".repeat(100);
        let list_items: Vec<&[u8]> = vec![
            b"a",
            b"0",
            b"12",
            b"13",
            b"-100",
            b"1000",
            b"-70000",
            b"100000000",
            b"-9000000000",
            mid.as_bytes(),
            long.as_bytes(),
            b"end",
        ];
        let mut f = b"REDIS0009".to_vec();
        f.push(OP_AUX);
        put_string(&mut f, b"redis-ver", false);
        put_string(&mut f, b"6.2.0", false);
        f.push(OP_FUNCTION2);
        put_string(&mut f, b"#!lua name=lib\nreturn 1", false);
        f.push(OP_SELECTDB);
        put_len(&mut f, 2);
        f.push(OP_RESIZEDB);
        put_len(&mut f, 8);
        put_len(&mut f, 1);
        f.push(T_LIST_ZIPLIST);
        put_string(&mut f, b"zl", false);
        put_string(&mut f, &ziplist(&list_items), true);
        f.push(OP_EXPIRETIME);
        f.extend_from_slice(&2_000_000_000i32.to_le_bytes());
        f.push(OP_IDLE);
        put_len(&mut f, 1000);
        f.push(T_HASH_ZIPLIST);
        put_string(&mut f, b"zh", false);
        put_string(&mut f, &ziplist(&[b"f1", b"v1", b"n", b"-5"]), false);
        f.push(OP_FREQ);
        f.push(7);
        f.push(T_ZSET_ZIPLIST);
        put_string(&mut f, b"zz", false);
        put_string(
            &mut f,
            &ziplist(&[b"a", b"-3", b"b", b"1.5", b"c", b"inf"]),
            false,
        );
        f.push(T_LIST_QUICKLIST);
        put_string(&mut f, b"ql", false);
        put_len(&mut f, 2);
        put_string(&mut f, &ziplist(&[b"x", b"1"]), false);
        put_string(&mut f, &ziplist(&[b"y", b"2"]), false);
        f.push(T_HASH_ZIPMAP);
        put_string(&mut f, b"zm", false);
        put_string(&mut f, b"\x02\x01k\x01\x02vXX\x02kk\x00\x00\xff", false);
        f.push(T_ZSET);
        put_string(&mut f, b"z3", false);
        put_len(&mut f, 3);
        put_string(&mut f, b"p", false);
        f.extend_from_slice(b"\x032.5");
        put_string(&mut f, b"q", false);
        f.push(255);
        put_string(&mut f, b"r", false);
        f.push(254);
        f.push(T_LIST);
        put_string(&mut f, b"l1", false);
        put_len(&mut f, 2);
        put_string(&mut f, b"300", false);
        put_string(&mut f, b"x", false);
        f.push(T_SET);
        put_string(&mut f, b"s", false);
        put_len(&mut f, 0); // empty: skipped
        f.push(OP_EOF);
        let crc = crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
        let r = read_rdb(&f).unwrap();
        assert_eq!(r.version, 9);
        assert_eq!(r.functions.len(), 1);
        let keys = &r.dbs[&2];
        let get = |k: &str| keys.iter().find(|x| &x.key[..] == k.as_bytes()).unwrap();
        let want: Vec<String> = list_items
            .iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect();
        assert_eq!(strs(&get("zl").value), want);
        assert_eq!(get("zl").expire, None);
        assert_eq!(get("zh").expire, Some(2_000_000_000_000));
        assert_eq!(strs(&get("zh").value), ["f1=v1", "n=-5"]);
        let Value::ZSet(z) = &get("zz").value else {
            panic!()
        };
        let v: Vec<_> = z.iter_all(false).map(|(m, s)| (m.clone(), s)).collect();
        assert_eq!(v, [(b("a"), -3.0), (b("b"), 1.5), (b("c"), f64::INFINITY)]);
        assert_eq!(strs(&get("ql").value), ["x", "1", "y", "2"]);
        assert_eq!(strs(&get("zm").value), ["k=v", "kk="]);
        let Value::ZSet(z) = &get("z3").value else {
            panic!()
        };
        let v: Vec<_> = z.iter_all(false).map(|(m, s)| (m.clone(), s)).collect();
        assert_eq!(
            v,
            [
                (b("q"), f64::NEG_INFINITY),
                (b("p"), 2.5),
                (b("r"), f64::INFINITY)
            ]
        );
        assert_eq!(strs(&get("l1").value), ["300", "x"]);
        assert!(keys.iter().all(|k| &k.key[..] != b"s"));
        // Every prefix fails; duplicate keys are refused.
        for cut in 0..f.len() {
            assert!(read_rdb(&f[..cut]).is_err());
        }
        let mut d = b"REDIS0010\xfe\x00\x00\x01k\x01v\x00\x01k\x01w\xff".to_vec();
        d.extend_from_slice(&[0; 8]);
        let e = read_rdb(&d).unwrap_err().to_string();
        assert!(e.contains("duplicated key 'k'"), "{e}");
        // Streams and modules are refused with their offset.
        let mut g = b"REDIS0010\xfe\x00\x13\x01x".to_vec();
        g.extend_from_slice(&[0; 20]);
        assert_eq!(
            read_rdb(&g).unwrap_err().to_string(),
            "unsupported stream value at offset 11"
        );
    }
}

/// The RDB version DUMP payloads carry (Redis 7.0: 10).
pub const DUMP_RDB_VERSION: u16 = 10;

/// DUMP: the value in RDB form, then the RDB version (2 bytes LE) and the
/// CRC64 of everything before it (8 bytes LE) — Redis's `createDumpPayload`.
pub fn dump_value(v: &Value, compress: bool) -> Vec<u8> {
    let mut tmp = Vec::new();
    // put_value writes type, key, value: an empty key is the single byte 0
    put_value(&mut tmp, b"", v, compress);
    let mut out = Vec::with_capacity(tmp.len() + 9);
    out.push(tmp[0]);
    out.extend_from_slice(&tmp[2..]);
    out.extend_from_slice(&DUMP_RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Why a RESTORE payload was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreError {
    /// Version too new or checksum wrong ("DUMP payload version or checksum are wrong").
    VersionOrChecksum,
    /// The body does not decode ("Bad data format").
    BadFormat,
}

/// RESTORE: checks the footer like Redis's `verifyDumpPayload` and
/// decodes the value, which must use the whole body.
pub fn restore_value(p: &[u8]) -> Result<Value, RestoreError> {
    if p.len() < 10 {
        return Err(RestoreError::VersionOrChecksum);
    }
    let body_len = p.len() - 10;
    let ver = u16::from_le_bytes([p[body_len], p[body_len + 1]]);
    if ver > DUMP_RDB_VERSION {
        return Err(RestoreError::VersionOrChecksum);
    }
    let mut crc_bytes = [0u8; 8];
    crc_bytes.copy_from_slice(&p[p.len() - 8..]);
    if crc64(0, &p[..p.len() - 8]) != u64::from_le_bytes(crc_bytes) {
        return Err(RestoreError::VersionOrChecksum);
    }
    let body = &p[..body_len];
    if body.is_empty() {
        return Err(RestoreError::BadFormat);
    }
    let mut r = Reader { d: body, pos: 1 };
    let v = read_value(&mut r, body[0], 0).map_err(|_| RestoreError::BadFormat)?;
    if r.pos != body.len() || is_empty_value(&v) {
        return Err(RestoreError::BadFormat);
    }
    Ok(v)
}

#[cfg(test)]
mod dump_tests {
    use super::*;

    #[test]
    fn dump_round_trips_and_checks_its_footer() {
        let v = Value::Str(b"hello world".to_vec());
        let p = dump_value(&v, true);
        assert!(matches!(restore_value(&p), Ok(Value::Str(s)) if s == b"hello world"));
        let mut bad = p.clone();
        bad[1] ^= 1;
        assert_eq!(
            restore_value(&bad).err(),
            Some(RestoreError::VersionOrChecksum)
        );
        assert_eq!(
            restore_value(b"short").err(),
            Some(RestoreError::VersionOrChecksum)
        );
    }
}
