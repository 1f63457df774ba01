//! Parsing the INFO text of a monitored server the way
//! `sentinelRefreshInstanceInfo` reads it (reference §8): CRLF-separated
//! lines, prefix matches, C `atoi`/`strtoull` number parsing, and the
//! replica-only fields read only after a `role:slave` line.

use crate::instance::Role;

/// The fields Sentinel takes from one INFO reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoFields {
    /// `run_id:` (only from a line of at least 47 bytes; first 40 chars).
    pub run_id: Option<String>,
    /// `slaveN:` lines: (ip, port) of each listed replica.
    pub replicas: Vec<(String, i64)>,
    /// `master_link_down_since_seconds` × 1000, 0 when absent.
    pub master_link_down_time: i64,
    /// `role:master` / `role:slave`, `None` when no role line.
    pub role: Option<Role>,
    /// `master_host:` (after `role:slave`).
    pub master_host: Option<String>,
    /// `master_port:` (after `role:slave`).
    pub master_port: Option<i64>,
    /// `master_link_status:` is `up` (after `role:slave`).
    pub master_link_up: Option<bool>,
    /// `slave_priority:` (after `role:slave`).
    pub slave_priority: Option<i64>,
    /// `slave_repl_offset:` (after `role:slave`).
    pub slave_repl_offset: Option<u64>,
    /// `replica_announced:` (after `role:slave`).
    pub replica_announced: Option<i64>,
}

/// C `atoi`: optional leading blanks and sign, then digits; stops at the
/// first non-digit; 0 when there are none.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// C `strtoull` base 10 for non-negative text (saturating).
pub fn strtoull(s: &str) -> u64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let s = s.strip_prefix('+').unwrap_or(s);
    let mut v: u64 = 0;
    for b in s.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        v = v.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    v
}

/// Parses one INFO reply.
pub fn parse_info(text: &str) -> InfoFields {
    let mut f = InfoFields::default();
    let mut role: Option<Role> = None;
    for l in text.split("\r\n") {
        if l.len() >= 47 && l.starts_with("run_id:") {
            if let Some(id) = l.get(7..47) {
                f.run_id = Some(id.to_string());
            }
        }
        let b = l.as_bytes();
        if l.len() >= 7 && l.starts_with("slave") && b[5].is_ascii_digit() {
            if let Some(r) = parse_replica_line(l) {
                f.replicas.push(r);
            }
        }
        if l.len() >= 32 && l.starts_with("master_link_down_since_seconds") {
            f.master_link_down_time = atoi(&l[31..]).saturating_mul(1000);
        }
        if l.len() >= 11 && l.starts_with("role:master") {
            role = Some(Role::Master);
        } else if l.len() >= 10 && l.starts_with("role:slave") {
            role = Some(Role::Slave);
        }
        if role == Some(Role::Slave) {
            if let Some(v) = l.strip_prefix("master_host:") {
                f.master_host = Some(v.to_string());
            }
            if let Some(v) = l.strip_prefix("master_port:") {
                f.master_port = Some(atoi(v));
            }
            if let Some(v) = l.strip_prefix("master_link_status:") {
                f.master_link_up = Some(v.eq_ignore_ascii_case("up"));
            }
            if let Some(v) = l.strip_prefix("slave_priority:") {
                f.slave_priority = Some(atoi(v));
            }
            if let Some(v) = l.strip_prefix("slave_repl_offset:") {
                f.slave_repl_offset = Some(strtoull(v));
            }
            if let Some(v) = l.strip_prefix("replica_announced:") {
                f.replica_announced = Some(atoi(v));
            }
        }
    }
    f.role = role;
    f
}

/// `slave0:ip=1.2.3.4,port=6380,...` or the old `slave0:1.2.3.4,6380,online`.
fn parse_replica_line(l: &str) -> Option<(String, i64)> {
    if !l.contains("ip=") {
        let rest = &l[l.find(':')? + 1..];
        let comma = rest.find(',')?;
        let ip = &rest[..comma];
        let after = &rest[comma + 1..];
        let end = after.find(',')?;
        return Some((ip.to_string(), atoi(&after[..end])));
    }
    let ip_start = l.find("ip=")? + 3;
    let port_start = l.find("port=")? + 5;
    let ip = &l[ip_start..];
    let ip = &ip[..ip.find(',').unwrap_or(ip.len())];
    let port = &l[port_start..];
    let port = &port[..port.find(',').unwrap_or(port.len())];
    Some((ip.to_string(), atoi(port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn reads_master_info_with_replica_lines_in_both_formats() {
        let text = format!(
            "# Server\r\nrun_id:{RUNID}\r\n# Replication\r\nrole:master\r\nconnected_slaves:2\r\n\
             slave0:ip=10.0.0.2,port=6380,state=online,offset=14,lag=0\r\n\
             slave1:10.0.0.3,6381,online\r\nmaster_repl_offset:14\r\n"
        );
        let f = parse_info(&text);
        assert_eq!(f.run_id.as_deref(), Some(RUNID));
        assert_eq!(f.role, Some(Role::Master));
        assert_eq!(
            f.replicas,
            vec![
                ("10.0.0.2".to_string(), 6380),
                ("10.0.0.3".to_string(), 6381)
            ]
        );
        assert_eq!(f.master_host, None);
    }

    #[test]
    fn replica_fields_are_read_only_after_role_slave() {
        let before =
            "master_host:1.1.1.1\r\nslave_priority:5\r\nrole:slave\r\nmaster_port:7000\r\n";
        let f = parse_info(before);
        assert_eq!(f.master_host, None);
        assert_eq!(f.slave_priority, None);
        assert_eq!(f.master_port, Some(7000));
    }

    #[test]
    fn reads_replica_fields() {
        let text = "role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6370\r\n\
                    master_link_status:down\r\nmaster_link_down_since_seconds:12\r\n\
                    slave_repl_offset:9001\r\nslave_priority:0\r\nreplica_announced:0\r\n";
        let f = parse_info(text);
        assert_eq!(f.role, Some(Role::Slave));
        assert_eq!(f.master_host.as_deref(), Some("10.0.0.1"));
        assert_eq!(f.master_port, Some(6370));
        assert_eq!(f.master_link_up, Some(false));
        assert_eq!(f.master_link_down_time, 12_000);
        assert_eq!(f.slave_repl_offset, Some(9001));
        assert_eq!(f.slave_priority, Some(0));
        assert_eq!(f.replica_announced, Some(0));
    }

    #[test]
    fn short_run_id_lines_and_bare_lf_are_not_parsed() {
        assert_eq!(parse_info("run_id:abc\r\n").run_id, None);
        // Redis splits on CRLF only; LF-only text is one long line.
        let f = parse_info("role:slave\nmaster_host:x\n");
        assert_eq!(f.role, Some(Role::Slave));
        assert_eq!(f.master_host, None);
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi("42abc"), 42);
        assert_eq!(atoi("  -7"), -7);
        assert_eq!(atoi("x"), 0);
        assert_eq!(strtoull("18446744073709551615"), u64::MAX);
    }
}
