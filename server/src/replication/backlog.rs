//! The replication backlog: a ring holding the most recent bytes of the
//! replication stream, so a replica that lost its link can continue from
//! its offset (PSYNC) instead of a full resynchronisation.

/// A fixed-size ring of stream bytes.
#[derive(Debug)]
pub struct Backlog {
    buf: Vec<u8>,
    /// Next write position.
    idx: usize,
    /// Valid bytes (≤ buf.len()).
    histlen: usize,
}

impl Backlog {
    /// An empty backlog of `size` bytes (Redis's minimum is 16 KB).
    pub fn new(size: usize) -> Backlog {
        Backlog {
            buf: vec![0; size.max(16 * 1024)],
            idx: 0,
            histlen: 0,
        }
    }

    /// Configured size.
    pub fn size(&self) -> usize {
        self.buf.len()
    }

    /// Bytes held (`repl_backlog_histlen`).
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Appends stream bytes, dropping the oldest when full.
    pub fn feed(&mut self, mut data: &[u8]) {
        let size = self.buf.len();
        if data.len() >= size {
            data = &data[data.len() - size..];
            self.buf.copy_from_slice(data);
            self.idx = 0;
            self.histlen = size;
            return;
        }
        let first = (size - self.idx).min(data.len());
        self.buf[self.idx..self.idx + first].copy_from_slice(&data[..first]);
        let rest = data.len() - first;
        if rest > 0 {
            self.buf[..rest].copy_from_slice(&data[first..]);
        }
        self.idx = (self.idx + data.len()) % size;
        self.histlen = (self.histlen + data.len()).min(size);
    }

    /// The last `n` bytes (n ≤ histlen), oldest first.
    pub fn tail(&self, n: usize) -> Vec<u8> {
        let n = n.min(self.histlen);
        let size = self.buf.len();
        let start = (self.idx + size - n) % size;
        let mut out = Vec::with_capacity(n);
        if start + n <= size {
            out.extend_from_slice(&self.buf[start..start + n]);
        } else {
            out.extend_from_slice(&self.buf[start..]);
            out.extend_from_slice(&self.buf[..n - (size - start)]);
        }
        out
    }

    /// Changes the size, keeping the most recent bytes that fit.
    pub fn resize(&mut self, size: usize) {
        let size = size.max(16 * 1024);
        if size == self.buf.len() {
            return;
        }
        let keep = self.tail(self.histlen.min(size));
        let mut b = Backlog::new(size);
        b.feed(&keep);
        *self = b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_most_recent_bytes_across_wraps() {
        let mut b = Backlog::new(16 * 1024);
        let mut all = Vec::new();
        for i in 0..5000u32 {
            let chunk = format!("cmd{i};").into_bytes();
            b.feed(&chunk);
            all.extend_from_slice(&chunk);
        }
        assert_eq!(b.histlen(), 16 * 1024);
        assert_eq!(b.tail(16 * 1024), all[all.len() - 16 * 1024..]);
        assert_eq!(b.tail(10), all[all.len() - 10..]);
        // a feed larger than the ring keeps its end
        let big = vec![7u8; 40_000];
        b.feed(&big);
        assert_eq!(b.tail(100), vec![7u8; 100]);
        b.resize(20_000);
        assert_eq!(b.histlen(), 16 * 1024);
        assert_eq!(b.tail(5), vec![7u8; 5]);
    }
}
