//! `long double` arithmetic Redis uses for INCRBYFLOAT, HINCRBYFLOAT and
//! blocking timeouts, done in C (csrc/longdouble.c) because Rust has no
//! 80-bit float: results are byte-identical to Redis 7.0 on x86-64.

use std::time::Duration;

use picket_common::resp::Frame;

extern "C" {
    fn picket_ld_incr(
        cur: *const u8,
        curlen: usize,
        incr: *const u8,
        incrlen: usize,
        out: *mut u8,
        outcap: usize,
        outlen: *mut usize,
    ) -> i32;
    fn picket_is_ld(s: *const u8, len: usize) -> i32;
    fn picket_ld_human(value: f64, out: *mut u8, outcap: usize) -> i32;
    fn picket_timeout_ms(s: *const u8, len: usize, ms: *mut i64) -> i32;
}

/// Why an increment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncrError {
    /// The stored value is not a float.
    BadCurrent,
    /// The increment is not a float.
    BadIncrement,
    /// The result is NaN or infinite.
    NanOrInf,
}

/// `cur + incr` formatted as Redis prints it (`%.17Lf` without trailing zeros).
pub fn incr(cur: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, IncrError> {
    let mut out = vec![0u8; 5 * 1024 + 16];
    let mut n: usize = 0;
    let (cp, cl) = match cur {
        Some(c) => (c.as_ptr(), c.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: the C function reads exactly the given lengths and writes at
    // most `out.len()` bytes into `out`.
    let rc = unsafe {
        picket_ld_incr(
            cp,
            cl,
            incr.as_ptr(),
            incr.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut n,
        )
    };
    match rc {
        0 => {
            out.truncate(n);
            Ok(out)
        }
        1 => Err(IncrError::BadCurrent),
        2 => Err(IncrError::BadIncrement),
        _ => Err(IncrError::NanOrInf),
    }
}

/// `d` as `addReplyHumanLongDouble` prints it: widened to long double,
/// `%.17Lf` without trailing zeros, `-0` as `0`, `inf`/`-inf`.
pub fn human(d: f64) -> String {
    // %.17Lf of the largest double: 309 digits, a point and 17 decimals
    let mut buf = [0u8; 400];
    // SAFETY: the C function writes at most `buf.len()` bytes into `buf`.
    let n = unsafe { picket_ld_human(d, buf.as_mut_ptr(), buf.len()) };
    String::from_utf8_lossy(&buf[..n.max(0) as usize]).into_owned()
}

/// Whether Redis's `string2ld` accepts the string.
pub fn is_long_double(s: &[u8]) -> bool {
    // SAFETY: reads exactly `len` bytes.
    unsafe { picket_is_ld(s.as_ptr(), s.len()) == 1 }
}

/// Parses a blocking timeout in seconds like Redis's
/// `getTimeoutFromObjectOrReply` (None = block forever).
pub fn parse_timeout(a: &[u8]) -> Result<Option<Duration>, Frame> {
    let mut ms: i64 = 0;
    // SAFETY: reads exactly `len` bytes, writes one i64.
    if unsafe { picket_timeout_ms(a.as_ptr(), a.len(), &mut ms) } != 0 {
        return Err(Frame::err("ERR timeout is not a float or out of range"));
    }
    if ms < 0 {
        return Err(Frame::err("ERR timeout is negative"));
    }
    Ok(if ms == 0 {
        None
    } else {
        Some(Duration::from_millis(ms as u64))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn increments_like_redis_long_double() {
        assert_eq!(incr(Some(b"10.5"), b"0.1").unwrap(), b"10.6");
        assert_eq!(
            incr(Some(b"5.6"), b"5000").unwrap(),
            b"5005.60000000000000009"
        );
        assert_eq!(incr(None, b"3.0e3").unwrap(), b"3000");
        assert_eq!(incr(Some(b"1"), b"-1").unwrap(), b"0");
        assert_eq!(incr(Some(b"abc"), b"1"), Err(IncrError::BadCurrent));
        assert_eq!(incr(Some(b"1"), b" 1"), Err(IncrError::BadIncrement));
        assert_eq!(incr(Some(b"1"), b"nan"), Err(IncrError::BadIncrement));
        assert!(
            incr(Some(b"1e308"), b"1e308").is_ok(),
            "long double does not overflow here"
        );
    }

    #[test]
    fn timeouts_like_redis() {
        assert_eq!(parse_timeout(b"0").unwrap(), None);
        assert_eq!(parse_timeout(b"0.0001").unwrap(), None);
        assert_eq!(
            parse_timeout(b"1.5").unwrap(),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_timeout(b"0x10").unwrap(),
            Some(Duration::from_secs(16))
        );
        assert!(parse_timeout(b"-1").is_err());
        assert!(parse_timeout(b"abc").is_err());
    }
}
