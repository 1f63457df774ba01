//! Comparing ACL replies of picket and Redis: helpers shared by
//! sentinel/tests/acl_users.rs and server/tests/acl.rs (each includes this
//! file with `#[path]`; the two test crates share no module otherwise).
//!
//! Redis prints the single-command part of an ACL rule description in the
//! order of a randomly seeded hash table, so runs of such rules are
//! compared as sets; ACL LOG's client-info keeps only the fields that do
//! not depend on the process, and ages are checked, then masked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Sorts every run of single-command rules (`+cmd`, `-cmd|sub`) in a line.
pub fn sort_rule_runs(line: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<String> = Vec::new();
    let flush = |run: &mut Vec<String>, out: &mut Vec<String>| {
        run.sort();
        out.append(run);
    };
    for w in line.split(' ') {
        let (w, close) = match w.strip_suffix(')') {
            Some(x) => (x, true),
            None => (w, false),
        };
        let single = (w.starts_with('+') || w.starts_with('-')) && !w[1..].starts_with('@');
        if single {
            run.push(w.to_string());
        } else {
            flush(&mut run, &mut out);
            out.push(w.to_string());
        }
        if close {
            flush(&mut run, &mut out);
            let last = out.pop().unwrap_or_default();
            out.push(format!("{last})"));
        }
    }
    flush(&mut run, &mut out);
    out.join(" ")
}

/// Keeps the process-independent fields of a CLIENT LIST line.
pub fn client_info(line: &str) -> String {
    line.split(' ')
        .filter(|f| {
            ["name=", "flags=", "sub=", "psub=", "cmd=", "user=", "resp="]
                .iter()
                .any(|k| f.starts_with(k))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Normalizes redis-cli output: rule runs sorted, client-info reduced,
/// ACL LOG ages replaced by their shape.
pub fn normalize(out: &str) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let mut norm = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let prev = if i > 0 { lines[i - 1] } else { "" };
        let l = l.trim_end();
        // RESP2 prints a map's keys and values on lines of their own,
        // redis-cli -3 prints `key value`
        let age = |v: &str| {
            let v: f64 = v.parse().unwrap_or_else(|_| panic!("age-seconds {l:?}"));
            assert!((0.0..30.0).contains(&v), "age-seconds {v}");
            "<age>".to_string()
        };
        let n = if l.starts_with("id=") {
            client_info(l)
        } else if let Some(rest) = l.strip_prefix("client-info id=") {
            format!("client-info {}", client_info(rest))
        } else if prev.ends_with("age-seconds") {
            age(l)
        } else if let Some(rest) = l.strip_prefix("age-seconds ") {
            format!("age-seconds {}", age(rest))
        } else {
            sort_rule_runs(l)
        };
        norm.push(n);
    }
    norm.join("\n")
}

/// One redis-cli session: `lines` sent on one connection.
pub fn session(port: u16, flags: &[&str], lines: &[&str]) -> String {
    let mut child = Command::new("timeout")
        .args(["10", "redis-cli", "-p", &port.to_string()])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = lines.join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A raw RESP connection.
pub struct Raw(TcpStream);

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        Raw(s)
    }

    pub fn send(&mut self, args: &[&str]) {
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        self.0.write_all(req.as_bytes()).unwrap();
    }

    pub fn read(&mut self) -> String {
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0u8; 4096];
        let n = loop {
            match self.0.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                r => break r.unwrap_or(0),
            }
        };
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    pub fn call(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.read()
    }

    /// Whether the server has closed the connection.
    pub fn closed(&mut self) -> bool {
        self.0
            .set_read_timeout(Some(Duration::from_secs(2)))
            .unwrap();
        let _ = self.0.write_all(b"*1\r\n$4\r\nPING\r\n");
        let mut buf = [0u8; 64];
        loop {
            match self.0.read(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                // a reply (or a pushed message) means open; EOF or a reset,
                // closed
                r => return matches!(r, Ok(0) | Err(_)),
            }
        }
    }
}
