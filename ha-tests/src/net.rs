//! Fault injection on loopback: a TCP proxy in front of every process of a
//! group, and the cuts it obeys.
//!
//! Every process has an address of its own in 127.0.0.0/8 and opens its
//! outgoing connections from it (`bind-source-addr`), so the proxy in
//! front of process B knows that a connection comes from process A by its
//! peer address alone. A cut between A and B freezes their traffic the way
//! a partition does: the proxy stops reading, bytes wait in the kernel's
//! buffers, senders eventually block, and new connections are accepted but
//! get nothing through, so each side sees timeouts, never a reset. On heal
//! the held bytes flow again; whatever timed out in between has closed its
//! end, and that close is delivered then.
//!
//! The proxy connects upstream from the client's own address, so the
//! process behind it sees the real peer (a master lists its replicas by
//! the address their link comes from).

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The cuts of one group, shared by all its proxies.
#[derive(Clone)]
pub struct Net {
    cuts: Arc<Mutex<HashSet<(IpAddr, IpAddr)>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Default for Net {
    fn default() -> Self {
        Net::new()
    }
}

impl Net {
    pub fn new() -> Net {
        Net {
            cuts: Arc::default(),
            changed: Arc::new(watch::channel(0).0),
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|g| *g += 1);
    }

    /// Cuts traffic between `a` and `b`, both ways.
    pub fn cut(&self, a: IpAddr, b: IpAddr) {
        {
            let mut c = self.cuts.lock().unwrap();
            c.insert((a, b));
            c.insert((b, a));
        }
        self.bump();
    }

    /// Cuts every address of `side` from every address of `other`.
    pub fn partition(&self, side: &[IpAddr], other: &[IpAddr]) {
        {
            let mut c = self.cuts.lock().unwrap();
            for &a in side {
                for &b in other {
                    c.insert((a, b));
                    c.insert((b, a));
                }
            }
        }
        self.bump();
    }

    /// Removes every cut.
    pub fn heal(&self) {
        self.cuts.lock().unwrap().clear();
        self.bump();
    }

    pub fn is_cut(&self, from: IpAddr, to: IpAddr) -> bool {
        self.cuts.lock().unwrap().contains(&(from, to))
    }

    /// Number of directed cuts in force.
    pub fn cuts(&self) -> usize {
        self.cuts.lock().unwrap().len()
    }

    /// Returns once traffic from `from` to `to` may pass.
    async fn open(&self, from: IpAddr, to: IpAddr) {
        let mut rx = self.changed.subscribe();
        while self.is_cut(from, to) {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// A running proxy; it stops (and drops its connections) on drop.
pub struct Proxy {
    pub listen: SocketAddr,
    pub target: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listens on `listen` and forwards to `target`, obeying `net`'s cuts
    /// between each client's address and `listen`'s.
    pub async fn start(net: Net, listen: SocketAddr, target: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    acc = listener.accept() => {
                        let Ok((client, peer)) = acc else { continue };
                        conns.spawn(serve(net.clone(), client, peer.ip(), listen.ip(), target));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(Proxy {
            listen,
            target,
            task,
        })
    }
}

async fn serve(net: Net, client: TcpStream, from: IpAddr, to: IpAddr, target: SocketAddr) {
    let _ = client.set_nodelay(true);
    net.open(from, to).await;
    let source = from.to_string();
    let Ok(upstream) =
        picket_common::net::connect_from(&target.ip().to_string(), target.port(), Some(&source))
            .await
    else {
        return; // the process is down: the client sees its connection close
    };
    let _ = upstream.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (ur, uw) = upstream.into_split();
    let up = pump(net.clone(), cr, uw, from, to);
    let down = pump(net, ur, cw, to, from);
    // Each direction ends with a shutdown of its writer, so an end that
    // closes (or a process that dies) closes the other end too.
    tokio::join!(up, down);
}

/// Copies `rd` to `wr`, holding bytes while `from`→`to` is cut.
async fn pump(
    net: Net,
    mut rd: tokio::net::tcp::OwnedReadHalf,
    mut wr: tokio::net::tcp::OwnedWriteHalf,
    from: IpAddr,
    to: IpAddr,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        net.open(from, to).await;
        let n = match rd.read(&mut buf).await {
            Ok(0) | Err(_) => {
                net.open(from, to).await;
                let _ = wr.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        net.open(from, to).await;
        if wr.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
