//! RESP2/RESP3: one frame type for both protocol versions, a request parser
//! for servers (multibulk and inline) and a general frame parser for
//! clients. Parsing is check-then-parse over a buffer: `Ok(None)` means
//! "incomplete, read more", never an error.

use bytes::{BufMut, Bytes, BytesMut};
use thiserror::Error;

use crate::num::fmt_g17;

/// A reply (or request) frame. Replies are built once and encoded for the
/// connection's protocol version by [`Frame::encode`].
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`
    Simple(String),
    /// `-ERR ...`; the text includes the prefix (`ERR`, `WRONGTYPE`, ...).
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nfoo`
    Bulk(Bytes),
    /// Null bulk: `$-1` in RESP2, `_` in RESP3.
    Null,
    /// Null array: `*-1` in RESP2, `_` in RESP3.
    NullArray,
    /// `*n`
    Array(Vec<Frame>),
    /// `%n` in RESP3, a flat array of 2n in RESP2.
    Map(Vec<(Frame, Frame)>),
    /// `~n` in RESP3, an array in RESP2.
    Set(Vec<Frame>),
    /// `,1.5` in RESP3 (printed `%.17g`), a bulk string in RESP2.
    Double(f64),
    /// `#t` in RESP3, `:1`/`:0` in RESP2.
    Boolean(bool),
    /// `>n` out-of-band push in RESP3, an array in RESP2.
    Push(Vec<Frame>),
    /// `=len\r\ntxt:...` in RESP3, a bulk string in RESP2.
    Verbatim(String, Bytes),
    /// `(123...` in RESP3, a bulk string in RESP2.
    BigNumber(String),
    /// A double whose text the command formats itself (GEOPOS prints
    /// coordinates `%.17Lf` without trailing zeros, not `%.17g`): `,text`
    /// in RESP3, a bulk string in RESP2. Never produced by the parser.
    DoubleText(String),
}

impl Frame {
    /// `+OK`.
    pub fn ok() -> Frame {
        Frame::Simple("OK".into())
    }
    /// An error reply; `msg` starts with its prefix, e.g. `ERR syntax error`.
    pub fn err(msg: impl Into<String>) -> Frame {
        Frame::Error(msg.into())
    }
    /// A bulk string copied from bytes.
    pub fn bulk(b: impl AsRef<[u8]>) -> Frame {
        Frame::Bulk(Bytes::copy_from_slice(b.as_ref()))
    }
    /// Whether this is an error reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Frame::Error(_))
    }

    /// Appends the encoding of this frame for protocol version `resp` (2 or 3).
    pub fn encode(&self, resp: u8, out: &mut BytesMut) {
        match self {
            Frame::Simple(s) => {
                out.put_u8(b'+');
                out.put_slice(s.as_bytes());
                out.put_slice(b"\r\n");
            }
            Frame::Error(s) => {
                out.put_u8(b'-');
                // error texts never carry newlines (Redis replaces them)
                for &b in s.as_bytes() {
                    out.put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
                }
                out.put_slice(b"\r\n");
            }
            Frame::Integer(i) => {
                out.put_u8(b':');
                put_int(out, *i);
                out.put_slice(b"\r\n");
            }
            Frame::Bulk(b) => put_bulk(out, b),
            Frame::Null => {
                if resp >= 3 {
                    out.put_slice(b"_\r\n")
                } else {
                    out.put_slice(b"$-1\r\n")
                }
            }
            Frame::NullArray => {
                if resp >= 3 {
                    out.put_slice(b"_\r\n")
                } else {
                    out.put_slice(b"*-1\r\n")
                }
            }
            Frame::Array(items) => {
                put_header(out, b'*', items.len());
                for f in items {
                    f.encode(resp, out);
                }
            }
            Frame::Map(pairs) => {
                if resp >= 3 {
                    put_header(out, b'%', pairs.len());
                } else {
                    put_header(out, b'*', pairs.len() * 2);
                }
                for (k, v) in pairs {
                    k.encode(resp, out);
                    v.encode(resp, out);
                }
            }
            Frame::Set(items) => {
                put_header(out, if resp >= 3 { b'~' } else { b'*' }, items.len());
                for f in items {
                    f.encode(resp, out);
                }
            }
            Frame::Push(items) => {
                put_header(out, if resp >= 3 { b'>' } else { b'*' }, items.len());
                for f in items {
                    f.encode(resp, out);
                }
            }
            Frame::Double(d) => put_typed_text(out, resp, b',', &fmt_g17(*d)),
            Frame::Boolean(b) => {
                if resp >= 3 {
                    out.put_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
                } else {
                    out.put_slice(if *b { b":1\r\n" } else { b":0\r\n" });
                }
            }
            Frame::Verbatim(fmt, body) => {
                if resp >= 3 {
                    out.put_u8(b'=');
                    put_int(out, (body.len() + 4) as i64);
                    out.put_slice(b"\r\n");
                    out.put_slice(fmt.as_bytes());
                    out.put_u8(b':');
                    out.put_slice(body);
                    out.put_slice(b"\r\n");
                } else {
                    put_bulk(out, body);
                }
            }
            Frame::DoubleText(s) => put_typed_text(out, resp, b',', s),
            Frame::BigNumber(s) => put_typed_text(out, resp, b'(', s),
        }
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self, resp: u8) -> Bytes {
        let mut b = BytesMut::new();
        self.encode(resp, &mut b);
        b.freeze()
    }

    /// Parses one frame of any RESP2/RESP3 type (what a client reads).
    /// Returns the frame and the number of bytes it used, or `None` when
    /// more bytes are needed.
    pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
        let mut pos = 0;
        match parse_any(buf, &mut pos, 0)? {
            Some(f) => Ok(Some((f, pos))),
            None => Ok(None),
        }
    }
}

fn put_int(out: &mut BytesMut, i: i64) {
    let mut b = itoa_buf(i);
    out.put_slice(b.as_bytes_mut());
}

struct IntBuf {
    buf: [u8; 20],
    start: usize,
}
impl IntBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..]
    }
}

fn itoa_buf(i: i64) -> IntBuf {
    let mut buf = [0u8; 20];
    let mut pos = 20;
    let neg = i < 0;
    let mut v = i.unsigned_abs();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    if neg {
        pos -= 1;
        buf[pos] = b'-';
    }
    IntBuf { buf, start: pos }
}

fn put_header(out: &mut BytesMut, tag: u8, n: usize) {
    out.put_u8(tag);
    put_int(out, n as i64);
    out.put_slice(b"\r\n");
}

/// A RESP3 scalar written as text after its type byte (`,` double, `(`
/// big number), or a bulk string of the same text in RESP2.
fn put_typed_text(out: &mut BytesMut, resp: u8, tag: u8, text: &str) {
    if resp >= 3 {
        out.put_u8(tag);
        out.put_slice(text.as_bytes());
        out.put_slice(b"\r\n");
    } else {
        put_bulk(out, text.as_bytes());
    }
}

fn put_bulk(out: &mut BytesMut, b: &[u8]) {
    out.reserve(b.len() + 16);
    put_header(out, b'$', b.len());
    out.put_slice(b);
    out.put_slice(b"\r\n");
}

/// Appends a bulk string (`$len\r\n...\r\n`), the same in RESP2 and RESP3.
pub fn put_bulk_into(out: &mut BytesMut, b: &[u8]) {
    put_bulk(out, b);
}

/// A protocol violation. The text is what Redis sends after `-ERR `.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct ProtocolError(pub String);

impl ProtocolError {
    fn new(s: &str) -> Self {
        ProtocolError(format!("Protocol error: {s}"))
    }
}

/// Limits the request parser enforces, as Redis's `processMultibulkBuffer`.
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// `proto-max-bulk-len` (default 512 MB).
    pub max_bulk_len: i64,
    /// Whether the client still has to authenticate: Redis then allows at
    /// most 10 arguments of at most 16 KB each.
    pub unauthenticated: bool,
}

impl Default for RequestLimits {
    fn default() -> Self {
        RequestLimits {
            max_bulk_len: 512 * 1024 * 1024,
            unauthenticated: false,
        }
    }
}

/// Redis's PROTO_INLINE_MAX_SIZE: the longest inline request or length line.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;

/// A request's arguments: up to 4 (most commands) without a heap
/// allocation for the list itself.
pub type Args = smallvec::SmallVec<[Bytes; 4]>;

/// One parsed request: its arguments, and whether it came inline.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Arguments, command name first. Empty for a blank line or `*0`.
    pub args: Args,
    /// Whether it was an inline command (telnet style).
    pub inline: bool,
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let hay = &buf[from..];
    let mut i = 0;
    while let Some(off) = memchr(b'\r', &hay[i..]) {
        let at = i + off;
        if at + 1 < hay.len() {
            if hay[at + 1] == b'\n' {
                return Some(from + at);
            }
            i = at + 1;
        } else {
            return None;
        }
    }
    None
}

fn memchr(c: u8, s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == c)
}

/// Parses one client request from the front of `buf`: `Ok(Some((req,
/// used)))`, `Ok(None)` when incomplete, or the protocol error Redis sends
/// before closing the connection.
pub fn parse_request(
    buf: &[u8],
    limits: &RequestLimits,
) -> Result<Option<(Request, usize)>, ProtocolError> {
    if buf.is_empty() {
        return Ok(None);
    }
    if buf[0] != b'*' {
        return parse_inline(buf);
    }
    let Some(eol) = find_crlf(buf, 1) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big mbulk count string"));
        }
        return Ok(None);
    };
    let count = crate::num::parse_i64(&buf[1..eol]);
    let count = match count {
        Some(n) if n <= i32::MAX as i64 => n,
        _ => return Err(ProtocolError::new("invalid multibulk length")),
    };
    if limits.unauthenticated && count > 10 {
        return Err(ProtocolError::new("unauthenticated multibulk length"));
    }
    let mut pos = eol + 2;
    if count <= 0 {
        return Ok(Some((
            Request {
                args: Args::new(),
                inline: false,
            },
            pos,
        )));
    }
    // Reserve conservatively: a hostile count must not allocate up front.
    let mut args = Args::with_capacity((count as usize).min(1024));
    for _ in 0..count {
        if pos >= buf.len() {
            return Ok(None);
        }
        let Some(eol) = find_crlf(buf, pos) else {
            if buf.len() - pos > PROTO_INLINE_MAX_SIZE {
                return Err(ProtocolError::new("too big bulk count string"));
            }
            return Ok(None);
        };
        if buf[pos] != b'$' {
            return Err(ProtocolError(format!(
                "Protocol error: expected '$', got '{}'",
                buf[pos] as char
            )));
        }
        let len = match crate::num::parse_i64(&buf[pos + 1..eol]) {
            Some(l) if l >= 0 && l <= limits.max_bulk_len => l as usize,
            _ => return Err(ProtocolError::new("invalid bulk length")),
        };
        if limits.unauthenticated && len > 16384 {
            return Err(ProtocolError::new("unauthenticated bulk length"));
        }
        let start = eol + 2;
        if buf.len() < start + len + 2 {
            return Ok(None);
        }
        args.push(Bytes::copy_from_slice(&buf[start..start + len]));
        pos = start + len + 2;
    }
    Ok(Some((
        Request {
            args,
            inline: false,
        },
        pos,
    )))
}

fn parse_inline(buf: &[u8]) -> Result<Option<(Request, usize)>, ProtocolError> {
    // Redis looks for the newline with strchr, so a NUL byte hides any
    // newline after it: the request stays incomplete until the size limit.
    let visible = match memchr(0, buf) {
        Some(z) => &buf[..z],
        None => buf,
    };
    let Some(nl) = memchr(b'\n', visible) else {
        if buf.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtocolError::new("too big inline request"));
        }
        return Ok(None);
    };
    let mut line = &buf[..nl];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args = crate::conf::split_args(line)
        .map_err(|_| ProtocolError::new("unbalanced quotes in request"))?;
    Ok(Some((
        Request {
            args: args.into_iter().map(Bytes::from).collect(),
            inline: true,
        },
        nl + 1,
    )))
}

fn line(buf: &[u8], pos: &mut usize) -> Option<std::ops::Range<usize>> {
    let eol = find_crlf(buf, *pos)?;
    let r = *pos..eol;
    *pos = eol + 2;
    Some(r)
}

fn parse_len(s: &[u8]) -> Result<i64, ProtocolError> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
        .ok_or_else(|| ProtocolError::new("invalid length"))
}

fn parse_any(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Frame>, ProtocolError> {
    if depth > 128 {
        return Err(ProtocolError::new("nesting too deep"));
    }
    if *pos >= buf.len() {
        return Ok(None);
    }
    let tag = buf[*pos];
    let start = *pos;
    *pos += 1;
    let Some(r) = line(buf, pos) else {
        *pos = start;
        return Ok(None);
    };
    let text = &buf[r];
    let text_str = || String::from_utf8_lossy(text).into_owned();
    let frame = match tag {
        b'+' => Frame::Simple(text_str()),
        b'-' => Frame::Error(text_str()),
        b':' => Frame::Integer(parse_len(text)?),
        b'_' => Frame::Null,
        b'#' => Frame::Boolean(text == b"t"),
        b',' => {
            let s = text_str();
            let d = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                _ => s
                    .parse()
                    .map_err(|_| ProtocolError::new("invalid double"))?,
            };
            Frame::Double(d)
        }
        b'(' => Frame::BigNumber(text_str()),
        b'$' | b'=' | b'!' => {
            let n = parse_len(text)?;
            if n < 0 {
                Frame::Null
            } else {
                let n = n as usize;
                if buf.len() < *pos + n + 2 {
                    *pos = start;
                    return Ok(None);
                }
                let body = Bytes::copy_from_slice(&buf[*pos..*pos + n]);
                *pos += n + 2;
                match tag {
                    b'$' => Frame::Bulk(body),
                    b'!' => Frame::Error(String::from_utf8_lossy(&body).into_owned()),
                    _ => {
                        let (fmt, rest) = if body.len() >= 4 {
                            (
                                String::from_utf8_lossy(&body[..3]).into_owned(),
                                body.slice(4..),
                            )
                        } else {
                            (String::new(), body)
                        };
                        Frame::Verbatim(fmt, rest)
                    }
                }
            }
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = parse_len(text)?;
            if n < 0 {
                Frame::NullArray
            } else {
                let items = if tag == b'%' || tag == b'|' { n * 2 } else { n } as usize;
                let mut v = Vec::with_capacity(items.min(1024));
                for _ in 0..items {
                    match parse_any(buf, pos, depth + 1)? {
                        Some(f) => v.push(f),
                        None => {
                            *pos = start;
                            return Ok(None);
                        }
                    }
                }
                match tag {
                    b'*' => Frame::Array(v),
                    b'~' => Frame::Set(v),
                    b'>' => Frame::Push(v),
                    b'|' => {
                        // attributes precede the real reply: skip them
                        let inner = parse_any(buf, pos, depth + 1)?;
                        if inner.is_none() {
                            *pos = start;
                        }
                        return Ok(inner);
                    }
                    _ => {
                        let mut pairs = Vec::with_capacity(v.len() / 2);
                        let mut it = v.into_iter();
                        while let (Some(k), Some(val)) = (it.next(), it.next()) {
                            pairs.push((k, val));
                        }
                        Frame::Map(pairs)
                    }
                }
            }
        }
        other => {
            return Err(ProtocolError(format!(
                "Protocol error: unexpected type byte '{}'",
                other as char
            )))
        }
    };
    Ok(Some(frame))
}

/// Encodes a command as a RESP array of bulk strings (what clients send).
pub fn encode_command<A: AsRef<[u8]>>(args: &[A], out: &mut BytesMut) {
    put_header(out, b'*', args.len());
    for a in args {
        put_bulk(out, a.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn req(s: &[u8]) -> Result<Option<(Request, usize)>, ProtocolError> {
        parse_request(s, &RequestLimits::default())
    }

    #[test]
    fn parses_multibulk_and_inline() {
        let (r, n) = req(b"*2\r\n$3\r\nGET\r\n$1\r\na\r\n").unwrap().unwrap();
        assert_eq!(n, 20);
        assert_eq!(r.args.to_vec(), vec![Bytes::from("GET"), Bytes::from("a")]);
        let (r, n) = req(b"set a \"b c\"\r\nGET").unwrap().unwrap();
        assert_eq!(n, 13);
        assert!(r.inline);
        assert_eq!(r.args.len(), 3);
        assert!(req(b"*2\r\n$3\r\nGET\r\n$1\r\n").unwrap().is_none());
        assert!(req(b"*2\r\n$3\r\nGE").unwrap().is_none());
    }

    #[test]
    fn protocol_errors_have_redis_texts() {
        assert_eq!(
            req(b"*x\r\n").unwrap_err().0,
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            req(b"*1\r\n:1\r\n").unwrap_err().0,
            "Protocol error: expected '$', got ':'"
        );
        assert_eq!(
            req(b"*1\r\n$-5\r\n").unwrap_err().0,
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            req(b"*1\r\n$536870913\r\n").unwrap_err().0,
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            req(b"\"abc\r\n").unwrap_err().0,
            "Protocol error: unbalanced quotes in request"
        );
        let big = vec![b'a'; PROTO_INLINE_MAX_SIZE + 1];
        assert_eq!(
            req(&big).unwrap_err().0,
            "Protocol error: too big inline request"
        );
        let mut big = b"*".to_vec();
        big.extend(vec![b'1'; PROTO_INLINE_MAX_SIZE + 1]);
        assert_eq!(
            req(&big).unwrap_err().0,
            "Protocol error: too big mbulk count string"
        );
        let lim = RequestLimits {
            unauthenticated: true,
            ..Default::default()
        };
        assert_eq!(
            parse_request(b"*11\r\n", &lim).unwrap_err().0,
            "Protocol error: unauthenticated multibulk length"
        );
    }

    #[test]
    fn encodes_for_both_versions() {
        let f = Frame::Map(vec![(Frame::bulk("a"), Frame::Double(1.5))]);
        assert_eq!(&f.to_bytes(2)[..], b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
        assert_eq!(&f.to_bytes(3)[..], b"%1\r\n$1\r\na\r\n,1.5\r\n");
        assert_eq!(&Frame::Null.to_bytes(2)[..], b"$-1\r\n");
        assert_eq!(&Frame::NullArray.to_bytes(2)[..], b"*-1\r\n");
        assert_eq!(&Frame::Null.to_bytes(3)[..], b"_\r\n");
        assert_eq!(&Frame::Integer(-12).to_bytes(2)[..], b":-12\r\n");
    }

    #[test]
    fn client_parser_round_trips() {
        let frames = vec![
            Frame::Simple("OK".into()),
            Frame::Error("ERR x".into()),
            Frame::Integer(7),
            Frame::bulk("hello"),
            Frame::Array(vec![Frame::Integer(1), Frame::Set(vec![Frame::bulk("x")])]),
            Frame::Map(vec![(Frame::bulk("k"), Frame::Boolean(true))]),
            Frame::Double(2.5),
            Frame::Push(vec![Frame::bulk("message")]),
            Frame::Verbatim("txt".into(), Bytes::from("abc")),
        ];
        for f in frames {
            let b = f.to_bytes(3);
            let (g, n) = Frame::parse(&b).unwrap().unwrap();
            assert_eq!(n, b.len());
            assert_eq!(g, f);
            for cut in 0..b.len() {
                assert!(Frame::parse(&b[..cut]).unwrap().is_none());
            }
        }
    }

    /// Random and truncated input never panics and never claims more bytes
    /// than it was given.
    #[test]
    fn random_and_truncated_requests_never_panic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let alphabet = b"*$\r\n0123456789-abc \"'\\x";
        let lim = RequestLimits::default();
        for _ in 0..200_000 {
            let len = rng.gen_range(0..40);
            let buf: Vec<u8> = (0..len)
                .map(|_| alphabet[rng.gen_range(0..alphabet.len())])
                .collect();
            if let Ok(Some((_, used))) = parse_request(&buf, &lim) {
                assert!(used <= buf.len());
            }
            if let Ok(Some((_, used))) = Frame::parse(&buf) {
                assert!(used <= buf.len());
            }
        }
        let good = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        for cut in 0..good.len() {
            assert!(
                parse_request(&good[..cut], &lim).unwrap().is_none(),
                "cut {cut}"
            );
        }
    }
}
