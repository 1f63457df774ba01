//! HyperLogLog in Redis 7.0's exact string representation, so the bytes
//! a PFADD leaves in a key are the bytes redis-server would leave there
//! for the same inputs (GET, DUMP, RDB and replication interoperate).
//!
//! Layout (Redis's `struct hllhdr`): the magic `HYLL`, one encoding byte
//! (0 dense, 1 sparse), three unused bytes, then the cached cardinality
//! as a little-endian u64 whose top bit marks it invalid, then the
//! registers:
//! - dense: 16384 six-bit registers packed from the least significant
//!   bit of each byte upwards (12288 bytes);
//! - sparse: run-length opcodes ZERO `00xxxxxx` (1..=64 zero registers),
//!   XZERO `01xxxxxx yyyyyyyy` (1..=16384 zero registers) and VAL
//!   `1vvvvvxx` (1..=4 registers holding 1..=32).
//!
//! Corrupted sparse data is handled the way Redis handles it, byte for
//! byte: an operation that Redis would apply to an inconsistent run list
//! is applied here too, and the ones Redis refuses report [`Corrupt`].

/// Registers index bits (`HLL_P`).
pub const P: u32 = 14;
/// Bits of the hash left for the run of zeroes (`HLL_Q`).
pub const Q: u32 = 64 - P;
/// Number of registers (`HLL_REGISTERS`).
pub const REGISTERS: usize = 1 << P;
/// Header size (`HLL_HDR_SIZE`).
pub const HDR_SIZE: usize = 16;
/// Length of a dense HLL string (`HLL_DENSE_SIZE`).
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * 6).div_ceil(8);
/// Encoding byte of the dense representation.
pub const DENSE: u8 = 0;
/// Encoding byte of the sparse representation.
pub const SPARSE: u8 = 1;

const REGISTER_MAX: u8 = 63;
const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2) (`HLL_ALPHA_INF`).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// Redis's seed for the element hash.
const SEED: u32 = 0xadc8_3b19;

/// The sparse run list does not describe exactly 16384 registers (Redis's
/// `-INVALIDOBJ Corrupted HLL object detected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash64A (MurmurHash2, 64-bit), reading blocks little-endian as
/// Redis's endian-neutral version does.
pub fn murmurhash64a(key: &[u8], seed: u32) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = u64::from(seed) ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut b = [0u8; 8];
        b.copy_from_slice(c);
        let mut k = u64::from_le_bytes(b);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate().rev() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `000..1`
/// pattern (1..=Q+1), as `hllPatLen`.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(ele, SEED);
    let index = (hash as usize) & (REGISTERS - 1);
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

/// A fresh, empty HLL: sparse, one XZERO covering every register, cached
/// cardinality 0 (`createHLLObject`).
pub fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(b"HYLL");
    v.push(SPARSE);
    v.extend_from_slice(&[0; 11]);
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(SPARSE_XZERO_MAX_LEN);
        push_xzero(&mut v, n);
        left -= n;
    }
    v
}

/// Whether a string value is an HLL Redis accepts (`isHLLObjectOrReply`):
/// long enough for a header, the magic, a known encoding, and a dense
/// value of the exact dense length.
pub fn is_valid(v: &[u8]) -> bool {
    v.len() >= HDR_SIZE
        && &v[..4] == b"HYLL"
        && v[4] <= SPARSE
        && (v[4] != DENSE || v.len() == DENSE_SIZE)
}

/// The cached cardinality, if the cache is valid.
pub fn cached(v: &[u8]) -> Option<u64> {
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[8..16]);
    (b[7] & 0x80 == 0).then(|| u64::from_le_bytes(b))
}

/// Stores a freshly computed cardinality in the header.
pub fn set_cached(v: &mut [u8], card: u64) {
    v[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Marks the cached cardinality stale (`HLL_INVALIDATE_CACHE`).
pub fn invalidate(v: &mut [u8]) {
    v[15] |= 0x80;
}

/// Reads dense register `i` from the register bytes (a missing byte past
/// the end reads as 0, like the sds terminator Redis relies on).
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = u32::from(regs[byte]);
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & u32::from(REGISTER_MAX)) as u8
}

/// Writes dense register `i` (`HLL_DENSE_SET_REGISTER`).
pub fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = u32::from(val);
    let max = u32::from(REGISTER_MAX);
    regs[byte] &= !((max << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b1) = regs.get_mut(byte + 1) {
        *b1 &= !((max >> (8 - fb)) as u8);
        *b1 |= (v >> (8 - fb)) as u8;
    }
}

/// Raises dense register `i` to `count`; whether it changed (`hllDenseSet`).
fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push((l >> 8) as u8 | 0x40);
    v.push((l & 0xff) as u8);
}

/// One sparse opcode at the start of `p` (the byte after a lone XZERO
/// head reads as 0, the sds terminator).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

impl Op {
    fn read(s: &[u8], p: usize) -> Op {
        let b = s[p];
        if b & 0xc0 == 0 {
            Op::Zero(usize::from(b & 0x3f) + 1)
        } else if b & 0x80 == 0 {
            let lo = usize::from(s.get(p + 1).copied().unwrap_or(0));
            Op::XZero(((usize::from(b & 0x3f) << 8) | lo) + 1)
        } else {
            Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)
        }
    }

    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    fn bytes(self) -> usize {
        if matches!(self, Op::XZero(_)) {
            2
        } else {
            1
        }
    }
}

fn val_byte(val: u8, len: usize) -> u8 {
    ((val - 1) << 2) | (len as u8 - 1) | 0x80
}

/// Calls `f(first_register, op)` for every opcode of a sparse HLL's
/// registers. The run list must cover exactly 16384 registers: an opcode
/// that would run past the last register stops the walk as corrupt (the
/// overflow checks of Redis's CVE-2025-32023 fix, which Debian's 7.0.15
/// carries), and so does a list that ends short.
fn walk_sparse(v: &[u8], mut f: impl FnMut(usize, Op)) -> Result<(), Corrupt> {
    let mut p = HDR_SIZE;
    let mut idx = 0usize;
    while p < v.len() {
        let op = Op::read(v, p);
        if idx + op.span() > REGISTERS {
            return Err(Corrupt);
        }
        f(idx, op);
        idx += op.span();
        p += op.bytes();
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Converts a sparse HLL to dense in place, keeping the header's cached
/// cardinality (`hllSparseToDense`). A dense value is left alone.
pub fn sparse_to_dense(v: &mut Vec<u8>) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&v[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    walk_sparse(v, |first, op| {
        if let Op::Val(val, n) = op {
            for i in first..first + n {
                dense_put(regs, i, val);
            }
        }
    })?;
    *v = dense;
    Ok(())
}

/// Raises register `index` of a sparse HLL to `count` (`hllSparseSet`),
/// promoting to dense when the value does not fit a VAL opcode or the
/// string would grow past `max_bytes`. Ok(true) if a register changed.
pub fn sparse_set(
    v: &mut Vec<u8>,
    index: usize,
    count: u8,
    max_bytes: usize,
) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(v, index, count);
    }
    // Work on the string plus Redis's slack (sdsMakeRoomFor(3) and the
    // terminator), so writes a corrupted run list pushes past the logical
    // end land where Redis's land and are cut off the same way.
    let mut end = v.len();
    let mut b = std::mem::take(v);
    b.resize(end + 8, 0);

    // Step 1: find the opcode covering `index`.
    let mut p = HDR_SIZE;
    let mut first = 0usize;
    let mut span = 0usize;
    let mut prev: Option<usize> = None;
    while p < end {
        let op = Op::read(&b, p);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += op.bytes();
        first += span;
    }
    if span == 0 || p >= end {
        b.truncate(end);
        *v = b;
        return Err(Corrupt);
    }
    let op = Op::read(&b, p);
    let next = Some(p + op.bytes()).filter(|&n| n < end);

    let updated_in_place = match op {
        // Case A: the VAL already holds as much.
        Op::Val(old, _) if old >= count => {
            b.truncate(end);
            *v = b;
            return Ok(false);
        }
        // Case B / C: a single-register VAL or ZERO becomes our VAL.
        Op::Val(_, 1) | Op::Zero(1) => {
            b[p] = val_byte(count, 1);
            true
        }
        _ => false,
    };

    if !updated_in_place {
        // Step 2 (case D): split the opcode into up to three.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        match op {
            Op::Zero(_) | Op::XZero(_) => {
                let zeros = |seq: &mut Vec<u8>, len: usize| {
                    if len > SPARSE_ZERO_MAX_LEN {
                        push_xzero(seq, len);
                    } else {
                        seq.push((len - 1) as u8);
                    }
                };
                if index != first {
                    zeros(&mut seq, index - first);
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    zeros(&mut seq, last - index);
                }
            }
            Op::Val(cur, _) => {
                if index != first {
                    seq.push(val_byte(cur, index - first));
                }
                seq.push(val_byte(count, 1));
                if index != last {
                    seq.push(val_byte(cur, last - index));
                }
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        let oldlen = op.bytes();
        let delta = seq.len() as isize - oldlen as isize;
        if delta > 0 && end + delta as usize > max_bytes {
            b.truncate(end);
            *v = b;
            return promote(v, index, count);
        }
        if delta != 0 {
            if let Some(n) = next {
                let to = (n as isize + delta) as usize;
                b.copy_within(n..end, to);
            }
        }
        end = (end as isize + delta) as usize;
        // sdsIncrLen writes the terminator before the sequence is copied
        b[end] = 0;
        b[p..p + seq.len()].copy_from_slice(&seq);
    }

    // Step 4: merge adjacent VALs of equal value, scanning up to five
    // opcodes from the one before the change.
    let mut p = prev.unwrap_or(HDR_SIZE);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        match Op::read(&b, p) {
            Op::XZero(_) => {
                p += 2;
                continue;
            }
            Op::Zero(_) => {
                p += 1;
                continue;
            }
            Op::Val(v1, l1) => {
                if p + 1 < end {
                    if let Op::Val(v2, l2) = Op::read(&b, p + 1) {
                        if v1 == v2 && l1 + l2 <= SPARSE_VAL_MAX_LEN {
                            b[p + 1] = val_byte(v1, l1 + l2);
                            b.copy_within(p + 1..end, p);
                            end -= 1;
                            b[end] = 0;
                            // try the merged run with its right neighbour
                            continue;
                        }
                    }
                }
                p += 1;
            }
        }
    }
    b.truncate(end);
    invalidate(&mut b);
    *v = b;
    Ok(true)
}

/// Sparse → dense, then the register update (`promote:` in hllSparseSet).
fn promote(v: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(v)?;
    Ok(dense_set(&mut v[HDR_SIZE..], index, count))
}

/// Adds one element (`hllAdd`): Ok(true) if a register changed.
pub fn add(v: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    match v[4] {
        DENSE => Ok(dense_set(&mut v[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(v, index, count, max_bytes),
        _ => Err(Corrupt),
    }
}

/// Folds an HLL into `max` (one byte per register) by register-wise
/// maximum (`hllMerge`). The value must have passed [`is_valid`].
pub fn merge_into(max: &mut [u8; REGISTERS], v: &[u8]) -> Result<(), Corrupt> {
    if v[4] == DENSE {
        let regs = &v[HDR_SIZE..];
        for (i, m) in max.iter_mut().enumerate() {
            let r = dense_get(regs, i);
            if r > *m {
                *m = r;
            }
        }
        return Ok(());
    }
    walk_sparse(v, |first, op| {
        if let Op::Val(val, n) = op {
            for m in &mut max[first..first + n] {
                if val > *m {
                    *m = val;
                }
            }
        }
    })
}

/// Ertl's sigma (`hllSigma`).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// Ertl's tau (`hllTau`).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powf(2.0) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram (Ertl's improved
/// estimator, as `hllCount`).
fn estimate(hist: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - f64::from(hist[Q as usize + 1])) / m);
    for j in (1..=Q as usize).rev() {
        z += f64::from(hist[j]);
        z *= 0.5;
    }
    z += m * sigma(f64::from(hist[0]) / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of an HLL value (`hllCount`); a sparse run
/// list not covering exactly 16384 registers is [`Corrupt`].
pub fn count(v: &[u8]) -> Result<u64, Corrupt> {
    let mut hist = [0u32; 64];
    if v[4] == DENSE {
        let regs = &v[HDR_SIZE..];
        for i in 0..REGISTERS {
            hist[usize::from(dense_get(regs, i))] += 1;
        }
    } else {
        walk_sparse(v, |_, op| match op {
            Op::Zero(n) | Op::XZero(n) => hist[0] += n as u32,
            Op::Val(val, n) => hist[usize::from(val)] += n as u32,
        })?;
    }
    Ok(estimate(&hist))
}

/// The estimated cardinality of registers held one per byte (the union
/// PFCOUNT computes for several keys, Redis's `HLL_RAW`).
pub fn count_raw(max: &[u8; REGISTERS]) -> u64 {
    let mut hist = [0u32; 64];
    for &r in max.iter() {
        hist[usize::from(r & 63)] += 1;
    }
    estimate(&hist)
}

/// PFDEBUG DECODE's text for a sparse HLL: `z:N`, `Z:N`, `v:VAL,N`.
pub fn decode(v: &[u8]) -> String {
    let mut out = Vec::new();
    let mut p = HDR_SIZE;
    while p < v.len() {
        let op = Op::read(v, p);
        out.push(match op {
            Op::Zero(n) => format!("z:{n}"),
            Op::XZero(n) => format!("Z:{n}"),
            Op::Val(val, n) => format!("v:{val},{n}"),
        });
        p += op.bytes();
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_hll_is_one_xzero_and_counts_zero() {
        let v = new_sparse();
        assert_eq!(v.len(), 18);
        assert_eq!(&v[16..], &[0x7f, 0xff]);
        assert_eq!(count(&v), Ok(0));
        assert_eq!(decode(&v), "Z:16384");
    }

    #[test]
    fn dense_registers_keep_their_neighbours() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        let vals: Vec<u8> = (0..REGISTERS).map(|i| ((i * 37 + 11) % 64) as u8).collect();
        for (i, &x) in vals.iter().enumerate() {
            dense_put(&mut regs, i, x);
        }
        for (i, &x) in vals.iter().enumerate() {
            assert_eq!(dense_get(&regs, i), x, "register {i}");
        }
    }

    #[test]
    fn sparse_and_dense_agree_on_every_count() {
        let mut s = new_sparse();
        let mut d = new_sparse();
        sparse_to_dense(&mut d).unwrap();
        for i in 0..5000u32 {
            let e = i.to_le_bytes();
            add(&mut s, &e, 3000).unwrap();
            add(&mut d, &e, 3000).unwrap();
            if i % 97 == 0 {
                assert_eq!(count(&s), count(&d));
            }
        }
        assert_eq!(s[4], DENSE);
        assert_eq!(s[HDR_SIZE..], d[HDR_SIZE..]);
    }

    #[test]
    fn short_xzero_at_the_end_reads_the_terminator() {
        let mut v = new_sparse();
        v.pop();
        // 0x7f followed by the implicit 0: 16128 registers, corrupt
        assert_eq!(count(&v), Err(Corrupt));
    }
}
