//! Bitmap commands (Redis's `bitops.c`): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO.
//!
//! A bitmap is a plain string value, so nothing here touches RDB or AOF
//! formats. Bit 0 is the most significant bit of the first byte. Writes
//! propagate verbatim (the dirty counter decides, as in Redis 7.0): a
//! SETBIT or BITFIELD that changes nothing (only GETs, the same values,
//! writes refused by OVERFLOW FAIL) is neither propagated nor notified.
//! Argument checks run in Redis 7.0.15's order, which is not always
//! "arguments first": BITCOUNT and BITPOS answer for a missing key before
//! looking at their range arguments.

use bytes::Bytes;
use picket_common::num::parse_i64;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, is, syntax_err, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};
use crate::state::ClientKind;

/// Bitmap rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("setbit", 4, WRITE | DENYOOM, 1, 1, 1, "bitmap", setbit),
    cmd!("getbit", 3, READONLY | FAST, 1, 1, 1, "bitmap", getbit),
    cmd!("bitcount", -2, READONLY, 1, 1, 1, "bitmap", bitcount),
    cmd!("bitpos", -3, READONLY, 1, 1, 1, "bitmap", bitpos),
    cmd!("bitop", -4, WRITE | DENYOOM, 2, -1, 1, "bitmap", bitop),
    cmd!("bitfield", -2, WRITE | DENYOOM, 1, 1, 1, "bitmap", bitfield),
    cmd!(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        1,
        1,
        1,
        "bitmap",
        bitfield_ro
    ),
];

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_BIT: &str = "ERR bit is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// `getBitOffsetFromArgument`: a bit offset, or with `field_bits` (BITFIELD)
/// also `#N`, meaning N fields of that width. The offset's byte must be
/// below proto-max-bulk-len, except for the master's stream, which a
/// replica must obey whatever its own limit.
fn bit_offset(ctx: &Ctx, a: &[u8], field_bits: Option<u32>) -> Result<u64, Frame> {
    let (digits, mul) = match (a.first(), field_bits) {
        (Some(b'#'), Some(bits)) => (&a[1..], bits as i64),
        _ => (a, 1),
    };
    let bad = || Frame::err(BAD_OFFSET);
    // C multiplies without an overflow check; wrapping keeps its result
    let off = parse_i64(digits).ok_or_else(bad)?.wrapping_mul(mul);
    let limited = ctx.client.kind != ClientKind::Master;
    if off < 0 || (limited && (off >> 3) >= ctx.st.config.proto_max_bulk_len) {
        return Err(bad());
    }
    Ok(off as u64)
}

/// `lookupStringForBitCommand`: the key's string, created or zero-padded
/// so that bit `maxbit` exists, and whether it was created or grew. The
/// value reports the `raw` encoding from now on, as Redis unshares it.
fn string_for_write<'c>(
    ctx: &'c mut Ctx,
    key: &Bytes,
    maxbit: u64,
) -> Result<(&'c mut Vec<u8>, bool), Frame> {
    let need = (maxbit >> 3) as usize + 1;
    let exists = match ctx.lookup_write(key) {
        Some(Entry {
            value: Value::Str(_),
            ..
        }) => true,
        Some(_) => return Err(wrongtype()),
        None => false,
    };
    if !exists {
        let (lru, now) = (ctx.lru, ctx.now);
        ctx.db()
            .set(key.clone(), Value::Str(vec![0; need]), false, lru, now);
    }
    match ctx.db().dict.get_mut(&key[..]) {
        Some(Entry {
            value: Value::Str(s),
            raw,
            ..
        }) => {
            *raw = true;
            let grew = s.len() < need;
            if grew {
                s.resize(need, 0);
            }
            Ok((s, grew || !exists))
        }
        _ => Err(wrongtype()),
    }
}

fn get_bit(s: &[u8], pos: u64) -> bool {
    s.get((pos >> 3) as usize)
        .is_some_and(|b| b & (0x80 >> (pos & 7)) != 0)
}

fn put_bit(s: &mut [u8], pos: u64, on: bool) {
    let mask = 0x80 >> (pos & 7);
    let b = &mut s[(pos >> 3) as usize];
    if on {
        *b |= mask;
    } else {
        *b &= !mask;
    }
}

fn setbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let pos = bit_offset(ctx, &a[2], None)?;
    let on = match parse_i64(&a[3]) {
        Some(0) => false,
        Some(1) => true,
        _ => return Err(Frame::err(BAD_BIT)),
    };
    let (s, grew) = string_for_write(ctx, &a[1], pos)?;
    let old = get_bit(s, pos);
    // Redis 7.0 skips the write, notification and propagation when the
    // bit already had that value and the string did not grow
    if grew || old != on {
        put_bit(s, pos, on);
        ctx.modified(&a[1], notify::STRING, "setbit");
    }
    Ok(Frame::Integer(old as i64))
}

fn getbit(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let pos = bit_offset(ctx, &a[2], None)?;
    let bit = ctx.get_str(&a[1])?.is_some_and(|s| get_bit(s, pos));
    Ok(Frame::Integer(bit as i64))
}

/// A bit range of a string in bits, both ends included.
struct BitRange {
    first: u64,
    last: u64,
}

/// Applies Redis's range rules to `start`/`end` given in bytes or bits
/// (negative counts from the end, clamped to the string), returning the
/// bit range or `None` when it is empty.
fn bit_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<BitRange> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let start = if start < 0 { total + start } else { start }.max(0);
    let end = if end < 0 { total + end } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        BitRange {
            first: start,
            last: end,
        }
    } else {
        BitRange {
            first: start * 8,
            last: end * 8 + 7,
        }
    })
}

/// Parses BYTE|BIT (`ERR syntax error` otherwise); true for BIT.
fn unit_is_bit(a: &[u8]) -> Result<bool, Frame> {
    if is(a, "bit") {
        Ok(true)
    } else if is(a, "byte") {
        Ok(false)
    } else {
        Err(syntax_err())
    }
}

/// Mask of the bits of a byte at positions `from..=to` (0 = MSB).
fn byte_mask(from: u64, to: u64) -> u8 {
    (0xffu8 >> from) & (0xffu8 << (7 - to))
}

fn count_bits(s: &[u8], r: &BitRange) -> u64 {
    let (fb, lb) = ((r.first >> 3) as usize, (r.last >> 3) as usize);
    if fb == lb {
        return (s[fb] & byte_mask(r.first & 7, r.last & 7)).count_ones() as u64;
    }
    let head = (s[fb] & byte_mask(r.first & 7, 7)).count_ones() as u64;
    let tail = (s[lb] & byte_mask(0, r.last & 7)).count_ones() as u64;
    head + tail + popcount(&s[fb + 1..lb])
}

fn popcount(s: &[u8]) -> u64 {
    let mut chunks = s.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

fn bitcount(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Redis 7.0 answers 0 for a missing key before parsing the range
    let Some(s) = ctx.get_str(&a[1])? else {
        return Ok(Frame::Integer(0));
    };
    let range = match a.len() {
        2 => bit_range(s.len(), 0, -1, false),
        4 | 5 => {
            let start = arg_i64(&a[2])?;
            let end = arg_i64(&a[3])?;
            // checked before the unit, so a bad unit goes unnoticed here
            if start < 0 && end < 0 && start > end {
                return Ok(Frame::Integer(0));
            }
            let in_bits = match a.get(4) {
                Some(u) => unit_is_bit(u)?,
                None => false,
            };
            bit_range(s.len(), start, end, in_bits)
        }
        _ => return Err(syntax_err()),
    };
    Ok(Frame::Integer(range.map_or(0, |r| count_bits(s, &r)) as i64))
}

/// The first bit equal to `bit` in the range.
fn find_bit(s: &[u8], r: &BitRange, bit: bool) -> Option<u64> {
    let skip = if bit { 0x00 } else { 0xff };
    let mut pos = r.first;
    while pos <= r.last {
        if pos & 7 == 0 && pos + 7 <= r.last {
            // whole bytes: jump over the ones without a match
            let from = (pos >> 3) as usize;
            let to = ((r.last + 1) >> 3) as usize;
            match s[from..to].iter().position(|&b| b != skip) {
                Some(n) => pos = ((from + n) as u64) << 3,
                None => {
                    pos = (to as u64) << 3;
                    continue;
                }
            }
        }
        if get_bit(s, pos) == bit {
            return Some(pos);
        }
        pos += 1;
    }
    None
}

fn bitpos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let bit = match arg_i64(&a[2])? {
        0 => false,
        1 => true,
        _ => return Err(Frame::err("ERR The bit argument must be 1 or 0.")),
    };
    // a missing key is an endless run of zeros, whatever the range
    let Some(s) = ctx.get_str(&a[1])? else {
        return Ok(Frame::Integer(if bit { -1 } else { 0 }));
    };
    let (range, end_given) = match a.len() {
        3 => (bit_range(s.len(), 0, -1, false), false),
        4..=6 => {
            let start = arg_i64(&a[3])?;
            // Redis reads the unit before the end
            let in_bits = match a.get(5) {
                Some(u) => unit_is_bit(u)?,
                None => false,
            };
            match a.get(4) {
                Some(e) => (bit_range(s.len(), start, arg_i64(e)?, in_bits), true),
                None => (bit_range(s.len(), start, -1, false), false),
            }
        }
        _ => return Err(syntax_err()),
    };
    let Some(r) = range else {
        return Ok(Frame::Integer(-1));
    };
    let pos = match find_bit(s, &r, bit) {
        Some(p) => p as i64,
        // looking for a clear bit without an end: the string continues
        // with zeros past its last byte
        None if !bit && !end_given => r.last as i64 + 1,
        None => -1,
    };
    Ok(Frame::Integer(pos))
}

#[derive(Clone, Copy, PartialEq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

fn bitop(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let op = if is(&a[1], "and") {
        BitOp::And
    } else if is(&a[1], "or") {
        BitOp::Or
    } else if is(&a[1], "xor") {
        BitOp::Xor
    } else if is(&a[1], "not") {
        BitOp::Not
    } else {
        return Err(syntax_err());
    };
    if op == BitOp::Not && a.len() != 4 {
        return Err(Frame::err(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    // One pass over the sources (one lookup each, as Redis counts hits and
    // misses); a missing key or the part past a short string reads as zeros.
    let mut res: Vec<u8> = Vec::new();
    for (i, k) in a[3..].iter().enumerate() {
        let src: &[u8] = match ctx.get_str(k)? {
            Some(s) => s,
            None => &[],
        };
        if i == 0 {
            res = src.to_vec();
            if op == BitOp::Not {
                res.iter_mut().for_each(|b| *b = !*b);
            }
            continue;
        }
        if res.len() < src.len() {
            res.resize(src.len(), 0);
        }
        match op {
            BitOp::And => {
                for (r, s) in res.iter_mut().zip(src.iter().chain(std::iter::repeat(&0))) {
                    *r &= s;
                }
            }
            BitOp::Or => res.iter_mut().zip(src).for_each(|(r, s)| *r |= s),
            BitOp::Xor => res.iter_mut().zip(src).for_each(|(r, s)| *r ^= s),
            BitOp::Not => {}
        }
    }
    let dest = &a[2];
    let len = res.len();
    if len > 0 {
        let (lru, now) = (ctx.lru, ctx.now);
        ctx.db().set(dest.clone(), Value::Str(res), false, lru, now);
        if let Some(e) = ctx.db().dict.get_mut(&dest[..]) {
            e.raw = true;
        }
        ctx.modified(dest, notify::STRING, "set");
    } else if ctx.delete(dest) {
        ctx.modified(dest, notify::GENERIC, "del");
    }
    Ok(Frame::Integer(len as i64))
}

/// Overflow policy of BITFIELD's SET and INCRBY.
#[derive(Clone, Copy, PartialEq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq)]
enum FieldOp {
    Get,
    Set(i64),
    IncrBy(i64),
}

/// One BITFIELD operation with the overflow policy in force when parsed.
struct Field {
    op: FieldOp,
    signed: bool,
    bits: u32,
    offset: u64,
    overflow: Overflow,
}

/// `getBitfieldTypeFromArgument`: i1..i64 or u1..u63.
fn field_type(a: &[u8]) -> Result<(bool, u32), Frame> {
    let a = crate::persistence::aof_file::c_str(a);
    let bad = || Frame::err(BAD_TYPE);
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(bad()),
    };
    match parse_i64(&a[1..]) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => Err(bad()),
    }
}

fn parse_fields(ctx: &Ctx, a: &[Bytes]) -> Result<Vec<Field>, Frame> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < a.len() {
        let rest = a.len() - j - 1;
        let name = &a[j];
        let is_get = is(name, "get") && rest >= 2;
        let is_set = is(name, "set") && rest >= 3;
        let is_incr = is(name, "incrby") && rest >= 3;
        if is(name, "overflow") && rest >= 1 {
            let t = &a[j + 1];
            overflow = if is(t, "wrap") {
                Overflow::Wrap
            } else if is(t, "sat") {
                Overflow::Sat
            } else if is(t, "fail") {
                Overflow::Fail
            } else {
                return Err(Frame::err("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        }
        if !(is_get || is_set || is_incr) {
            return Err(syntax_err());
        }
        let (signed, bits) = field_type(&a[j + 1])?;
        let offset = bit_offset(ctx, &a[j + 2], Some(bits))?;
        let op = if is_get {
            j += 3;
            FieldOp::Get
        } else {
            let v = arg_i64(&a[j + 3])?;
            j += 4;
            if is_set {
                FieldOp::Set(v)
            } else {
                FieldOp::IncrBy(v)
            }
        };
        fields.push(Field {
            op,
            signed,
            bits,
            offset,
            overflow,
        });
    }
    Ok(fields)
}

/// `getUnsignedBitfield`: `bits` bits at `offset`, most significant first;
/// bytes past the end of `s` read as zeros.
fn get_field(s: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0, |v, i| (v << 1) | get_bit(s, offset + i) as u64)
}

/// `getSignedBitfield`: the same bits, sign-extended.
fn get_signed_field(s: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_field(s, offset, bits);
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// `setUnsignedBitfield`: stores the low `bits` bits of `v` (the string
/// is long enough: it was grown to the highest bit written).
fn set_field(s: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..bits as u64 {
        put_bit(s, offset + i, (v >> (bits as u64 - 1 - i)) & 1 != 0);
    }
}

/// `checkUnsignedBitfieldOverflow`: `Ok(sum)` when `value + incr` fits in
/// `bits`, else `Err(Some(v))` with the wrapped or saturated value, or
/// `Err(None)` under FAIL.
fn unsigned_add(value: u64, incr: i64, bits: u32, ow: Overflow) -> Result<u64, Option<u64>> {
    let max: u64 = (1u64 << bits) - 1;
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let limit = if value > max || (incr > 0 && incr > maxincr) {
        max
    } else if incr < 0 && incr < minincr {
        0
    } else {
        return Ok(value.wrapping_add(incr as u64));
    };
    match ow {
        Overflow::Wrap => Err(Some(value.wrapping_add(incr as u64) & max)),
        Overflow::Sat => Err(Some(limit)),
        Overflow::Fail => Err(None),
    }
}

/// `checkSignedBitfieldOverflow`, the signed counterpart of [`unsigned_add`].
fn signed_add(value: i64, incr: i64, bits: u32, ow: Overflow) -> Result<i64, Option<i64>> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    // as in C these may wrap; they are only used once `value` is in range
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let limit = if value > max
        || (bits != 64 && incr > maxincr)
        || (value >= 0 && incr > 0 && incr > maxincr)
    {
        max
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        min
    } else {
        return Ok(value.wrapping_add(incr));
    };
    match ow {
        Overflow::Wrap => {
            let c = (value as u64).wrapping_add(incr as u64);
            let c = if bits < 64 {
                let mask = u64::MAX << bits;
                if c & (1 << (bits - 1)) != 0 {
                    c | mask
                } else {
                    c & !mask
                }
            } else {
                c
            };
            Err(Some(c as i64))
        }
        Overflow::Sat => Err(Some(limit)),
        Overflow::Fail => Err(None),
    }
}

/// Runs one SET or INCRBY on the string: `Some((reply, changed))` with
/// the old value for SET or the new one for INCRBY and whether the stored
/// value changed, or `None` when FAIL refuses the overflow.
fn write_field(s: &mut [u8], f: &Field, incr: i64, is_set: bool) -> Option<(i64, bool)> {
    if f.signed {
        let old = get_signed_field(s, f.offset, f.bits);
        let r = if is_set {
            signed_add(incr, 0, f.bits, f.overflow)
        } else {
            signed_add(old, incr, f.bits, f.overflow)
        };
        let (Ok(new) | Err(Some(new))) = r else {
            return None;
        };
        set_field(s, f.offset, f.bits, new as u64);
        Some((if is_set { old } else { new }, old != new))
    } else {
        let old = get_field(s, f.offset, f.bits);
        let r = if is_set {
            unsigned_add(incr as u64, 0, f.bits, f.overflow)
        } else {
            unsigned_add(old, incr, f.bits, f.overflow)
        };
        let (Ok(new) | Err(Some(new))) = r else {
            return None;
        };
        set_field(s, f.offset, f.bits, new);
        Some(((if is_set { old } else { new }) as i64, old != new))
    }
}

fn read_field(s: &[u8], f: &Field) -> Frame {
    Frame::Integer(if f.signed {
        get_signed_field(s, f.offset, f.bits)
    } else {
        get_field(s, f.offset, f.bits) as i64
    })
}

fn bitfield_generic(ctx: &mut Ctx, a: &[Bytes], read_only_cmd: bool) -> CmdResult {
    let fields = parse_fields(ctx, a)?;
    if fields.iter().all(|f| f.op == FieldOp::Get) {
        let s = ctx.get_str(&a[1])?.map_or(&[][..], |s| &s[..]);
        return Ok(Frame::Array(
            fields.iter().map(|f| read_field(s, f)).collect(),
        ));
    }
    if read_only_cmd {
        return Err(Frame::err(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let maxbit = fields
        .iter()
        .filter(|f| f.op != FieldOp::Get)
        .map(|f| f.offset + f.bits as u64 - 1)
        .max()
        .unwrap_or(0);
    let (s, grew) = string_for_write(ctx, &a[1], maxbit)?;
    let mut changes: u64 = 0;
    let mut replies = Vec::with_capacity(fields.len());
    for f in &fields {
        let (incr, is_set) = match f.op {
            FieldOp::Get => {
                replies.push(read_field(s, f));
                continue;
            }
            FieldOp::Set(v) => (v, true),
            FieldOp::IncrBy(v) => (v, false),
        };
        // as in 7.0, a write counts when the string was created or grew or
        // the field's value changed; one that FAIL refused never counts
        // (so a key created only for refused writes is not propagated)
        replies.push(match write_field(s, f, incr, is_set) {
            Some((v, changed)) => {
                if changed || grew {
                    changes += 1;
                }
                Frame::Integer(v)
            }
            None => Frame::Null,
        });
    }
    if changes > 0 {
        ctx.modified(&a[1], notify::STRING, "setbit");
        ctx.st.dirty += changes - 1;
    }
    Ok(Frame::Array(replies))
}

fn bitfield(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, a, false)
}

fn bitfield_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    bitfield_generic(ctx, a, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_overflow_wraps_saturates_or_fails() {
        assert_eq!(unsigned_add(3, 1, 2, Overflow::Wrap), Err(Some(0)));
        assert_eq!(unsigned_add(3, 1, 2, Overflow::Sat), Err(Some(3)));
        assert_eq!(unsigned_add(3, 1, 2, Overflow::Fail), Err(None));
        assert_eq!(unsigned_add(1, -2, 2, Overflow::Sat), Err(Some(0)));
        assert_eq!(unsigned_add(1, -2, 2, Overflow::Wrap), Err(Some(3)));
        assert_eq!(unsigned_add(1, 2, 2, Overflow::Fail), Ok(3));
        // SET of a negative value into an unsigned field
        assert_eq!(unsigned_add(u64::MAX, 0, 8, Overflow::Wrap), Err(Some(255)));
    }

    #[test]
    fn signed_overflow_wraps_to_the_most_negative_value() {
        assert_eq!(signed_add(127, 1, 8, Overflow::Wrap), Err(Some(-128)));
        assert_eq!(signed_add(127, 1, 8, Overflow::Sat), Err(Some(127)));
        assert_eq!(signed_add(-128, -1, 8, Overflow::Sat), Err(Some(-128)));
        assert_eq!(
            signed_add(i64::MAX, 1, 64, Overflow::Wrap),
            Err(Some(i64::MIN))
        );
        assert_eq!(signed_add(i64::MIN, -1, 64, Overflow::Fail), Err(None));
        assert_eq!(signed_add(-5, 3, 4, Overflow::Fail), Ok(-2));
    }

    #[test]
    fn fields_are_read_most_significant_bit_first() {
        let s = [0b1010_0000, 0xff];
        assert_eq!(get_field(&s, 0, 3), 0b101);
        assert_eq!(get_signed_field(&s, 0, 3), -3);
        assert_eq!(get_field(&s, 12, 8), 0xf0);
        let mut t = [0u8; 2];
        set_field(&mut t, 4, 8, 0xab);
        assert_eq!(t, [0x0a, 0xb0]);
    }
}
