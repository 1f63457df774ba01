//! Outgoing TCP connections the way Redis makes them.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{lookup_host, TcpSocket, TcpStream};

/// Connect to `host:port`, binding the local end to `source` first when it
/// is set (Redis 7.0's `bind-source-addr`: the replica's link to its master
/// and every link a sentinel opens). Each address `host` resolves to is
/// tried in turn; an empty `source` means the kernel picks.
pub async fn connect_from(host: &str, port: u16, source: Option<&str>) -> io::Result<TcpStream> {
    let source: Option<IpAddr> = match source.filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse().map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("bad bind-source-addr '{s}'"),
            )
        })?),
        None => None,
    };
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for addr in lookup_host((host, port)).await? {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = source {
            if ip.is_ipv4() != addr.is_ipv4() {
                continue;
            }
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        match socket.connect(addr).await {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}
