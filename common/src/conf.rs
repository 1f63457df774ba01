//! The redis.conf grammar: a line is split into arguments the way Redis's
//! `sdssplitargs` does it, which is also how inline commands are split.

/// Why a line could not be split (Redis reports both as "Unbalanced quotes"
/// in config files and "unbalanced quotes in request" for inline commands).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnbalancedQuotes;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t' | 0x0b | 0x0c)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits a line into arguments like Redis's `sdssplitargs`: whitespace
/// separates arguments; `"..."` supports `\xHH`, `\n`, `\r`, `\t`, `\b`,
/// `\a` and `\<any>`; `'...'` supports only `\'`; a closing quote must be
/// followed by whitespace or the end of the line.
pub fn split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, UnbalancedQuotes> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n || line[i] == 0 {
            return Ok(out);
        }
        let mut cur = Vec::new();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n || line[i] == 0 {
                    return Err(UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex_val(line[i + 2]).is_some()
                    && hex_val(line[i + 3]).is_some()
                {
                    let v =
                        hex_val(line[i + 2]).unwrap_or(0) * 16 + hex_val(line[i + 3]).unwrap_or(0);
                    cur.push(v);
                    i += 4;
                    continue;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    // closing quote must be followed by a space or nothing
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else if insq {
                if i >= n || line[i] == 0 {
                    return Err(UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(c);
                }
                i += 1;
            } else {
                if i >= n {
                    break;
                }
                let c = line[i];
                if c == 0 {
                    // C strings end at NUL: nothing after it is seen
                    out.push(cur);
                    return Ok(out);
                } else if is_space(c) {
                    break;
                } else if c == b'"' {
                    inq = true;
                } else if c == b'\'' {
                    insq = true;
                } else {
                    cur.push(c);
                }
                i += 1;
            }
        }
        out.push(cur);
    }
}

/// Quotes a string for writing back into a config file the way Redis's
/// `sdscatrepr` does when it must (CONFIG REWRITE): plain when it has no
/// special characters, otherwise in double quotes with escapes.
pub fn repr_arg(s: &[u8]) -> String {
    let plain = !s.is_empty()
        && s.iter()
            .all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return String::from_utf8_lossy(s).into_owned();
    }
    repr_quoted(s)
}

/// Redis's `sdscatrepr`: always in double quotes, with `\\`, `\"`, `\n`,
/// `\r`, `\t`, `\a`, `\b` escapes and `\xhh` for other unprintable bytes
/// (CONFIG REWRITE writes string options such as `dir` this way).
pub fn repr_quoted(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b => out.push_str(&format!("\\x{:02x}", b)),
        }
    }
    out.push('"');
    out
}

/// `sdstrim`: drops bytes of `set` from both ends.
pub fn sdstrim<'a>(mut s: &'a [u8], set: &[u8]) -> &'a [u8] {
    while let Some((f, rest)) = s.split_first() {
        if !set.contains(f) {
            break;
        }
        s = rest;
    }
    while let Some((l, rest)) = s.split_last() {
        if !set.contains(l) {
            break;
        }
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|x| x.as_bytes().to_vec()).collect()
    }

    #[test]
    fn splits_like_sdssplitargs() {
        assert_eq!(split_args(b"  set a  b ").unwrap(), s(&["set", "a", "b"]));
        assert_eq!(
            split_args(b"set \"a b\" 'c d'").unwrap(),
            s(&["set", "a b", "c d"])
        );
        assert_eq!(split_args(b"\"\\x41\\n\"").unwrap(), vec![b"A\n".to_vec()]);
        assert_eq!(split_args(b"'it\\'s'").unwrap(), s(&["it's"]));
        assert_eq!(split_args(b"foo\"bar\"").unwrap(), s(&["foobar"]));
        assert_eq!(split_args(b"save \"\"").unwrap(), s(&["save", ""]));
        assert!(split_args(b"\"abc").is_err());
        assert!(split_args(b"\"abc\"def").is_err());
        assert!(split_args(b"'abc").is_err());
        assert_eq!(split_args(b"").unwrap(), Vec::<Vec<u8>>::new());
        assert_eq!(split_args(b"a b\0c d").unwrap(), s(&["a", "b"]));
    }

    #[test]
    fn repr_quoted_always_quotes_like_sdscatrepr() {
        assert_eq!(repr_quoted(b"/tmp/x"), "\"/tmp/x\"");
        assert_eq!(repr_quoted(b"a\"b\\\x01\xff"), "\"a\\\"b\\\\\\x01\\xff\"");
    }

    #[test]
    fn repr_round_trips() {
        for v in [
            &b"plain"[..],
            b"with space",
            b"q\"uote",
            b"\x00\x01bin\n",
            b"",
        ] {
            let r = repr_arg(v);
            assert_eq!(split_args(r.as_bytes()).unwrap(), vec![v.to_vec()], "{r}");
            let q = repr_quoted(v);
            assert_eq!(split_args(q.as_bytes()).unwrap(), vec![v.to_vec()], "{q}");
        }
    }
}
