//! SORT and SORT_RO, following Redis 7.0's `sortCommandGeneric`: the
//! elements of a list, set or sorted set are sorted numerically (C
//! `strtod` rules) or by bytes (ALPHA), optionally by the values of other
//! keys (BY pattern, `nosort` or any pattern without `*` skips sorting),
//! cut with LIMIT, projected with GET patterns (`#`, `key*`, `hash*->field`)
//! and either replied or stored as a list (STORE).

use std::cmp::Ordering;
use std::collections::VecDeque;

use bytes::Bytes;
use picket_common::resp::Frame;

use super::flags::*;
use super::{arg_i64, is, syntax_err, wrongtype, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::config::notify;
use crate::db::{Entry, Value};

/// The SORT rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!(
        "sort",
        -2,
        WRITE | DENYOOM | MOVABLEKEYS,
        1,
        1,
        1,
        "generic",
        sort,
        getkeys = sort_keys
    ),
    cmd!(
        "sort_ro",
        -2,
        READONLY | MOVABLEKEYS,
        1,
        1,
        1,
        "generic",
        sort_ro,
        getkeys = sort_ro_keys
    ),
];

/// Key positions of SORT: the sorted key and the (last) STORE destination,
/// skipping the arguments of LIMIT / GET / BY like Redis's `sortGetKeys`.
fn sort_keys(a: &[Bytes]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < a.len() {
        if is(&a[i], "limit") {
            i += 2;
        } else if is(&a[i], "get") || is(&a[i], "by") {
            i += 1;
        } else if is(&a[i], "store") && i + 1 < a.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}

/// Key positions of SORT_RO: only the sorted key.
fn sort_ro_keys(_a: &[Bytes]) -> Vec<usize> {
    vec![1]
}

fn sort(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    sort_generic(ctx, a, false)
}

fn sort_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    sort_generic(ctx, a, true)
}

/// C `strtod` as SORT uses it: leading white space skipped, the whole
/// string (up to a NUL) consumed, no overflow/underflow (`ERANGE`), no NaN.
/// An empty string converts to 0, as in Redis.
pub fn sort_strtod(s: &[u8]) -> Option<f64> {
    let s = match s.iter().position(|&b| b == 0) {
        Some(n) => &s[..n],
        None => s,
    };
    if s.is_empty() {
        return Some(0.0);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let rest = &s[i..];
    let lower: Vec<u8> = rest.iter().map(|b| b.to_ascii_lowercase()).collect();
    let v = if lower == b"inf" || lower == b"infinity" {
        f64::INFINITY
    } else if lower.starts_with(b"nan") || lower.starts_with(b"inf") {
        return None;
    } else if lower.starts_with(b"0x") {
        parse_hex(&lower[2..])?
    } else {
        parse_dec(rest)?
    };
    Some(if neg { -v } else { v })
}

fn parse_dec(s: &[u8]) -> Option<f64> {
    let digits = |s: &[u8], mut i: usize| {
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let int_end = digits(s, 0);
    let mut mant_digits = int_end;
    let mut i = int_end;
    if i < s.len() && s[i] == b'.' {
        let frac_end = digits(s, i + 1);
        mant_digits += frac_end - i - 1;
        i = frac_end;
    }
    if mant_digits == 0 || i == 0 {
        return None;
    }
    if i < s.len() && (s[i] == b'e' || s[i] == b'E') {
        let mut j = i + 1;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            j += 1;
        }
        let e_end = digits(s, j);
        if e_end == j {
            return None;
        }
        i = e_end;
    }
    if i != s.len() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    let nonzero_mantissa = s
        .iter()
        .take_while(|b| **b != b'e' && **b != b'E')
        .any(|b| (b'1'..=b'9').contains(b));
    if v.is_infinite() || (nonzero_mantissa && (v == 0.0 || v.abs() < f64::MIN_POSITIVE)) {
        return None; // ERANGE
    }
    Some(v)
}

fn parse_hex(s: &[u8]) -> Option<f64> {
    let mut v = 0f64;
    let mut i = 0;
    let mut any = false;
    while i < s.len() && s[i].is_ascii_hexdigit() {
        v = v * 16.0 + (s[i] as char).to_digit(16)? as f64;
        i += 1;
        any = true;
    }
    let mut scale = 0i32;
    if i < s.len() && s[i] == b'.' {
        i += 1;
        while i < s.len() && s[i].is_ascii_hexdigit() {
            v = v * 16.0 + (s[i] as char).to_digit(16)? as f64;
            scale = scale.saturating_sub(4);
            i += 1;
            any = true;
        }
    }
    if !any {
        return None;
    }
    if i < s.len() && s[i] == b'p' {
        let mut j = i + 1;
        let mut eneg = false;
        if j < s.len() && (s[j] == b'+' || s[j] == b'-') {
            eneg = s[j] == b'-';
            j += 1;
        }
        let start = j;
        let mut e: i32 = 0;
        while j < s.len() && s[j].is_ascii_digit() {
            e = e.saturating_mul(10).saturating_add((s[j] - b'0') as i32);
            j += 1;
        }
        if j == start {
            return None;
        }
        scale = scale.saturating_add(if eneg { -e } else { e });
        i = j;
    }
    if i != s.len() {
        return None;
    }
    let r = v * 2f64.powi(scale);
    if r.is_infinite() || (v != 0.0 && (r == 0.0 || r.abs() < f64::MIN_POSITIVE)) {
        return None;
    }
    Some(r)
}

/// Redis's `lookupKeyByPattern`: `#` is the element itself; otherwise the
/// first `*` is replaced by the element and the key read as a string, or,
/// with `->field` after the `*`, as a hash field.
fn lookup_by_pattern(ctx: &mut Ctx, pattern: &[u8], subst: &Bytes) -> Option<Bytes> {
    if pattern == b"#" {
        return Some(subst.clone());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = &pattern[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&p| p + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(p) => (&after[..p], Some(&after[p + 2..])),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + subst.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    match (ctx.lookup_read(&key), field) {
        (
            Some(Entry {
                value: Value::Hash(h),
                ..
            }),
            Some(f),
        ) => h.get(f).cloned(),
        (
            Some(Entry {
                value: Value::Str(s),
                ..
            }),
            None,
        ) => Some(Bytes::copy_from_slice(s)),
        _ => None,
    }
}

struct Item {
    obj: Bytes,
    score: f64,
    cmp: Option<Bytes>,
}

fn sort_generic(ctx: &mut Ctx, a: &[Bytes], readonly: bool) -> CmdResult {
    let (mut desc, mut alpha) = (false, false);
    let (mut limit_start, mut limit_count) = (0i64, -1i64);
    let mut dontsort = false;
    let mut sortby: Option<Bytes> = None;
    let mut storekey: Option<Bytes> = None;
    let mut gets: Vec<Bytes> = Vec::new();
    let mut j = 2;
    while j < a.len() {
        let left = a.len() - j - 1;
        if is(&a[j], "asc") {
            desc = false;
        } else if is(&a[j], "desc") {
            desc = true;
        } else if is(&a[j], "alpha") {
            alpha = true;
        } else if is(&a[j], "limit") && left >= 2 {
            limit_start = arg_i64(&a[j + 1])?;
            limit_count = arg_i64(&a[j + 2])?;
            j += 2;
        } else if !readonly && is(&a[j], "store") && left >= 1 {
            storekey = Some(a[j + 1].clone());
            j += 1;
        } else if is(&a[j], "by") && left >= 1 {
            let p = a[j + 1].clone();
            if !p.contains(&b'*') {
                dontsort = true;
            }
            sortby = Some(p);
            j += 1;
        } else if is(&a[j], "get") && left >= 1 {
            gets.push(a[j + 1].clone());
            j += 1;
        } else {
            return Err(syntax_err());
        }
        j += 1;
    }

    enum Src {
        List(Vec<Bytes>),
        Set(Vec<Bytes>),
        ZSet(Vec<Bytes>, Vec<Bytes>),
    }
    let max_intset = ctx.st.config.set_max_intset_entries;
    let src = match ctx.lookup_read(&a[1]) {
        None => Src::List(Vec::new()),
        Some(Entry {
            value: Value::List(l),
            ..
        }) => Src::List(l.iter().cloned().collect()),
        Some(Entry {
            value: Value::Set(s),
            ..
        }) => Src::Set(super::sets::ordered_members(s, max_intset)),
        Some(Entry {
            value: Value::ZSet(z),
            ..
        }) => Src::ZSet(
            z.tree.iter().map(|(_, m)| m.clone()).collect(),
            z.dict.keys().cloned().collect(),
        ),
        Some(_) => return Err(wrongtype()),
    };
    if dontsort && matches!(src, Src::Set(_)) && storekey.is_some() {
        // Sets have no native order: force ALPHA sorting for STORE.
        dontsort = false;
        alpha = true;
        sortby = None;
    }
    let total = match &src {
        Src::List(v) | Src::Set(v) | Src::ZSet(v, _) => v.len() as i64,
    };
    let mut start = limit_start.clamp(0, total);
    let limit_count = limit_count.clamp(-1, total);
    let mut end = if limit_count < 0 {
        total - 1
    } else {
        start + limit_count - 1
    };
    if start >= total {
        start = total - 1;
        end = total - 2;
    }
    if end >= total {
        end = total - 1;
    }

    let objs: Vec<Bytes> = match src {
        Src::List(v) | Src::ZSet(v, _) if dontsort => {
            // Native order (reversed for DESC), only the LIMIT range.
            let n = if end >= start {
                (end - start + 1) as usize
            } else {
                0
            };
            let s = start.max(0) as usize;
            let out: Vec<Bytes> = if desc {
                v.into_iter().rev().skip(s).take(n).collect()
            } else {
                v.into_iter().skip(s).take(n).collect()
            };
            end -= start;
            start = 0;
            out
        }
        Src::List(v) | Src::Set(v) => v,
        Src::ZSet(_, dict) => dict,
    };
    let mut items: Vec<Item> = objs
        .into_iter()
        .map(|obj| Item {
            obj,
            score: 0.0,
            cmp: None,
        })
        .collect();

    if !dontsort {
        let mut conversion_error = false;
        for it in items.iter_mut() {
            let byval = match &sortby {
                Some(p) => match lookup_by_pattern(ctx, p, &it.obj) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.obj.clone(),
            };
            if alpha {
                if sortby.is_some() {
                    it.cmp = Some(byval);
                }
            } else {
                match sort_strtod(&byval) {
                    Some(s) => it.score = s,
                    None => conversion_error = true,
                }
            }
        }
        if conversion_error {
            return Err(Frame::err(
                "ERR One or more scores can't be converted into double",
            ));
        }
        let by = sortby.is_some();
        items.sort_by(|x, y| {
            let c = if !alpha {
                x.score
                    .partial_cmp(&y.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| x.obj.cmp(&y.obj))
            } else if by {
                match (&x.cmp, &y.cmp) {
                    (Some(p), Some(q)) => p.cmp(q),
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                }
            } else {
                x.obj.cmp(&y.obj)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }

    let range: &[Item] = if end >= start && start >= 0 {
        items.get(start as usize..=end as usize).unwrap_or(&[])
    } else {
        &[]
    };
    let mut out: Vec<Option<Bytes>> = Vec::new();
    for it in range {
        if gets.is_empty() {
            out.push(Some(it.obj.clone()));
        }
        for g in &gets {
            out.push(lookup_by_pattern(ctx, g, &it.obj));
        }
    }
    match storekey {
        None => Ok(Frame::Array(
            out.into_iter()
                .map(|v| v.map(Frame::Bulk).unwrap_or(Frame::Null))
                .collect(),
        )),
        Some(dst) => {
            let n = out.len();
            if n == 0 {
                if ctx.delete(&dst) {
                    ctx.modified(&dst, notify::GENERIC, "del");
                }
            } else {
                let list: VecDeque<Bytes> =
                    out.into_iter().map(|v| v.unwrap_or_default()).collect();
                let (lru, now) = (ctx.lru, ctx.now);
                let db = ctx.db();
                db.expire_if_needed(&dst, now);
                db.remove(&dst);
                db.insert_entry(dst.clone(), Entry::new(Value::List(Box::new(list)), lru));
                ctx.modified(&dst, notify::LIST, "sortstore");
            }
            Ok(Frame::Integer(n as i64))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_follows_c_rules() {
        assert_eq!(sort_strtod(b""), Some(0.0));
        assert_eq!(sort_strtod(b"  7"), Some(7.0));
        assert_eq!(sort_strtod(b"7 "), None);
        assert_eq!(sort_strtod(b" "), None);
        assert_eq!(sort_strtod(b"+5"), Some(5.0));
        assert_eq!(sort_strtod(b".5"), Some(0.5));
        assert_eq!(sort_strtod(b"5."), Some(5.0));
        assert_eq!(sort_strtod(b"1e"), None);
        assert_eq!(sort_strtod(b"0x"), None);
        assert_eq!(sort_strtod(b"0x1A"), Some(26.0));
        assert_eq!(sort_strtod(b"0x1p3"), Some(8.0));
        assert_eq!(sort_strtod(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_strtod(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(sort_strtod(b"nan"), None);
        assert_eq!(sort_strtod(b"1e400"), None);
        assert_eq!(sort_strtod(b"1e-310"), None);
        assert_eq!(sort_strtod(b"0e-400"), Some(0.0));
        assert_eq!(sort_strtod(b"1.5e+2"), Some(150.0));
    }

    #[test]
    fn sort_keys_include_last_store() {
        let a: Vec<Bytes> = [
            "sort", "k", "limit", "0", "1", "get", "store", "store", "d1", "store", "d2",
        ]
        .iter()
        .map(|s| Bytes::from(*s))
        .collect();
        assert_eq!(sort_keys(&a), vec![1, 10]);
    }
}
