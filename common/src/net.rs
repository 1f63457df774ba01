//! Outgoing TCP connections the way Redis makes them.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{lookup_host, TcpSocket, TcpStream};

/// The message Redis sends a client that protected mode turns away.
pub const PROTECTED_MODE_MSG: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Whether protected mode lets `peer` in: Redis 7.0 compares the peer's
/// text with "127.0.0.1" and "::1", so the rest of 127.0.0.0/8 is turned
/// away too.
pub fn protected_mode_admits(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => v6 == std::net::Ipv6Addr::LOCALHOST,
    }
}

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

/// An I/O error as C's `strerror` prints it (`No such file or directory`),
/// without Rust's ` (os error N)` suffix.
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}
