//! A small RESP2 client with timeouts, for the harness's own probes, the
//! drill's writer and the event watcher (the `redis` crate is what the
//! client-discovery tests use; here every wait must be bounded and every
//! error visible).

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use bytes::BytesMut;
use picket_common::resp::{encode_command, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

pub struct Client {
    stream: TcpStream,
    buf: BytesMut,
    pub timeout: Duration,
}

impl Client {
    pub async fn connect(addr: SocketAddr, within: Duration) -> Result<Client> {
        let stream = timeout(within, TcpStream::connect(addr))
            .await
            .map_err(|_| anyhow!("connect {addr}: timed out"))??;
        let _ = stream.set_nodelay(true);
        Ok(Client {
            stream,
            buf: BytesMut::with_capacity(16 * 1024),
            timeout: within,
        })
    }

    /// Sends one command and returns its reply (an error reply is a
    /// `Frame::Error`, not an `Err`).
    pub async fn call(&mut self, args: &[&str]) -> Result<Frame> {
        self.send(args).await?;
        self.next().await
    }

    pub async fn send(&mut self, args: &[&str]) -> Result<()> {
        let mut out = BytesMut::new();
        encode_command(args, &mut out);
        timeout(self.timeout, self.stream.write_all(&out))
            .await
            .map_err(|_| anyhow!("write timed out"))??;
        Ok(())
    }

    /// The next frame, waiting at most `self.timeout`.
    pub async fn next(&mut self) -> Result<Frame> {
        let t = self.timeout;
        self.next_within(t).await
    }

    pub async fn next_within(&mut self, within: Duration) -> Result<Frame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some((frame, used)) =
                Frame::parse(&self.buf).map_err(|e| anyhow!("protocol error: {}", e.0))?
            {
                let _ = self.buf.split_to(used);
                return Ok(frame);
            }
            let n = tokio::time::timeout_at(deadline, self.stream.read_buf(&mut self.buf))
                .await
                .map_err(|_| anyhow!("reply timed out"))??;
            if n == 0 {
                bail!("connection closed");
            }
        }
    }
}

/// One command on a fresh connection.
pub async fn call_once(addr: SocketAddr, args: &[&str], within: Duration) -> Result<Frame> {
    let mut c = Client::connect(addr, within).await?;
    c.call(args).await
}

/// A bulk or simple string's text.
pub fn text(f: &Frame) -> Option<String> {
    match f {
        Frame::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Frame::Simple(s) => Some(s.clone()),
        Frame::Verbatim(_, b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// A flat `field value …` reply (SENTINEL MASTER, one entry of SENTINEL
/// REPLICAS) as pairs.
pub fn fields(f: &Frame) -> Vec<(String, String)> {
    let Frame::Array(items) = f else {
        return Vec::new();
    };
    items
        .chunks(2)
        .filter_map(|p| Some((text(&p[0])?, text(p.get(1)?)?)))
        .collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// `name:value` out of an INFO text.
pub fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
}
