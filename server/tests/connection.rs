//! Connection-level behaviour: PING/ECHO/SELECT/HELLO/AUTH/CLIENT, protocol errors.

mod common;
use common::*;

#[test]
fn ping_echo_select() {
    let s = Server::start(&[]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hi"]), "hi");
    assert_eq!(q::<String>(&mut c, &["ECHO", "x y"]), "x y");
    assert_eq!(
        qerr(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        qerr(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    let _: () = q(&mut c, &["SELECT", "3"]);
}

#[test]
fn unknown_command_and_arity_errors_have_redis_texts() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(
        r.call(&["FOO", "a", "b"]),
        "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(
        r.call(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        r.call(&["CLIENT", "KILL"]),
        "-ERR wrong number of arguments for 'client|kill' command\r\n"
    );
    assert_eq!(
        r.call(&["CLIENT", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n"
    );
}

#[test]
fn inline_and_pipelined_commands() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"SET k \"a b\"\r\nGET k\r\n*1\r\n$4\r\nPING\r\n");
    let got = r.read_frames(3);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n$3\r\na b\r\n+PONG\r\n"
    );
    // and nothing else: the next command's reply comes next
    assert_eq!(r.call(&["ECHO", "end"]), "$3\r\nend\r\n");
}

#[test]
fn protocol_error_closes_only_that_client() {
    let s = Server::start(&[]);
    let mut good = s.raw();
    assert_eq!(good.call(&["SET", "k", "v"]), "+OK\r\n");
    let mut bad = s.raw();
    bad.send(b"*1\r\n$abc\r\n");
    assert_eq!(
        String::from_utf8_lossy(&bad.read_frame()),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    assert!(bad.is_closed());
    let mut bad2 = s.raw();
    bad2.send(b"*1\r\n$999999999999\r\n");
    assert_eq!(
        String::from_utf8_lossy(&bad2.read_frame()),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    let mut bad3 = s.raw();
    bad3.send(b"*2\r\n:1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&bad3.read_frame()),
        "-ERR Protocol error: expected '$', got ':'\r\n"
    );
    // a client that disconnects mid-command leaves nothing broken
    let mut half = s.raw();
    half.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc");
    drop(half);
    assert_eq!(good.call(&["GET", "k"]), "$1\r\nv\r\n");
}

#[test]
fn hello_switches_protocol_and_sets_name() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let hello = r.call(&["HELLO", "3", "SETNAME", "me"]);
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"), "{hello}");
    assert_eq!(r.call(&["CLIENT", "GETNAME"]), "$2\r\nme\r\n");
    assert_eq!(r.call(&["GET", "missing"]), "_\r\n");
    assert_eq!(
        r.call(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
}

#[test]
fn requirepass_auth_and_noauth() {
    let s = Server::start(&["--requirepass", "secret"]);
    let mut r = s.raw();
    assert_eq!(
        r.call(&["GET", "k"]),
        "-NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        r.call(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert!(r
        .call(&["HELLO", "3"])
        .starts_with("-NOAUTH HELLO must be called"));
    assert_eq!(r.call(&["AUTH", "default", "secret"]), "+OK\r\n");
    assert_eq!(r.call(&["GET", "k"]), "$-1\r\n");
    let mut r2 = s.raw();
    assert!(r2
        .call(&["HELLO", "3", "AUTH", "default", "secret"])
        .starts_with("%7"));
    let open_server = Server::start(&[]);
    let mut open = open_server.raw();
    assert_eq!(
        open.call(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
}

#[test]
fn client_list_kill_and_reply() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    let mut b = s.raw();
    let _: () = q(&mut a, &["CLIENT", "SETNAME", "alpha"]);
    let id_b = b.call(&["CLIENT", "ID"]);
    let id_b = id_b.trim_start_matches(':').trim().to_string();
    let list: String = q(&mut a, &["CLIENT", "LIST"]);
    assert!(list.contains("name=alpha"), "{list}");
    assert_eq!(list.lines().count(), 2);
    let killed: i64 = q(&mut a, &["CLIENT", "KILL", "ID", &id_b]);
    assert_eq!(killed, 1);
    assert!(b.is_closed());
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nPING\r\nCLIENT REPLY ON\r\nPING\r\n");
    let got = r.read_frames(2);
    assert_eq!(String::from_utf8_lossy(&got), "+OK\r\n+PONG\r\n");
    // no reply to the first two is still on its way: the next one is ECHO's
    assert_eq!(r.call(&["ECHO", "end"]), "$3\r\nend\r\n");
}

#[test]
fn maxclients_refuses_extra_connections() {
    let s = Server::start(&["--maxclients", "2"]);
    // the readiness probe's connection must be reaped first: wait until
    // `a` is the only client
    let mut a = s.raw();
    let t = std::time::Instant::now();
    loop {
        let info = a.call(&["INFO", "clients"]);
        if info.contains("\r\nconnected_clients:1\r\n") {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10),
            "the readiness probe is still connected: {info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let mut b = s.raw();
    assert_eq!(a.call(&["PING"]), "+PONG\r\n");
    assert_eq!(b.call(&["PING"]), "+PONG\r\n");
    let mut c = s.raw();
    assert_eq!(
        String::from_utf8_lossy(&c.read_frame()),
        "-ERR max number of clients reached\r\n"
    );
    assert!(c.is_closed(), "the refused client is disconnected");
    // the two admitted ones are still served
    assert_eq!(b.call(&["PING"]), "+PONG\r\n");
}

#[test]
fn idle_timeout_closes_clients() {
    let s = Server::start(&["--timeout", "1"]);
    let mut a = s.raw();
    assert_eq!(a.call(&["PING"]), "+PONG\r\n");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(a.is_closed());
}

#[test]
fn client_pause_holds_writes_until_unpause() {
    let s = Server::start(&[]);
    let mut a = s.conn();
    let _: () = q(&mut a, &["CLIENT", "PAUSE", "60000", "WRITE"]);
    let mut w = s.raw();
    w.cmd(&["SET", "k", "v"]);
    let early = w.read_available(std::time::Duration::from_millis(300));
    assert!(early.is_empty(), "write ran during pause");
    let mut r = s.raw();
    assert_eq!(r.call(&["GET", "k"]), "$-1\r\n");
    let _: () = q(&mut a, &["CLIENT", "UNPAUSE"]);
    assert_eq!(String::from_utf8_lossy(&w.read_frame()), "+OK\r\n");
}

#[test]
fn protected_mode_refuses_non_loopback_clients_without_password() {
    use std::io::{Read, Write};
    let ip = non_loopback_ip();
    let s = Server::start(&["--bind", "0.0.0.0"]);
    let mut sock = std::net::TcpStream::connect((ip, s.port)).unwrap();
    sock.write_all(b"PING\r\n").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(3)))
        .unwrap();
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("-DENIED Redis is running in protected mode"),
        "{text}"
    );
    // loopback clients are still served
    let mut r = s.raw();
    assert_eq!(r.call(&["PING"]), "+PONG\r\n");
    // with a password, remote clients are let in (and must AUTH)
    let s2 = Server::start(&["--bind", "0.0.0.0", "--requirepass", "pw"]);
    let mut sock = std::net::TcpStream::connect((ip, s2.port)).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    sock.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 64];
    let n = sock.read(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"-NOAUTH Authentication required.\r\n");
}

#[test]
fn daemonize_writes_pidfile_and_logfile() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let pidfile = dir.path().join("p.pid");
    let logfile = dir.path().join("p.log");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_picket-server"))
        .args([
            "--port",
            &port.to_string(),
            "--daemonize",
            "yes",
            "--save",
            "",
        ])
        .args([
            "--pidfile",
            &pidfile.display().to_string(),
            "--logfile",
            &logfile.display().to_string(),
            "--dir",
            &dir.path().display().to_string(),
        ])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the foreground process exits after forking"
    );
    let mut pid = String::new();
    for _ in 0..100 {
        pid = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if !pid.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pid = pid.trim().to_string();
    assert!(!pid.is_empty(), "no pidfile");
    struct KillPid(String);
    impl Drop for KillPid {
        fn drop(&mut self) {
            let _ = std::process::Command::new("kill")
                .arg("-9")
                .arg(&self.0)
                .status();
        }
    }
    let _guard = KillPid(pid.clone());
    // the daemon (not our child: its parent exited) must be the one that
    // answers on the port
    let daemon: u32 = pid.parse().expect("pid in the pidfile");
    let mut c = connect_to_pid(
        port,
        daemon,
        || {
            let stat = std::fs::read_to_string(format!("/proc/{daemon}/stat"));
            // gone, or a zombie nobody reaped
            stat.map_or(true, |s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
        },
        std::time::Duration::from_secs(10),
    )
    .unwrap_or_else(|| panic!("the daemon {daemon} exited"));
    let info: String = q(&mut c, &["INFO", "server"]);
    assert!(info.contains(&format!("process_id:{pid}")), "{info}");
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    for _ in 0..100 {
        if !pidfile.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!pidfile.exists(), "SHUTDOWN removes the pidfile");
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(log.contains("Ready to accept connections"), "{log}");
}

#[test]
fn query_buffer_limit_closes_only_the_offending_client() {
    let s = Server::start(&["--client-query-buffer-limit", "1mb"]);
    let mut good = s.raw();
    assert_eq!(good.call(&["SET", "k", "v"]), "+OK\r\n");
    let mut big = s.raw();
    // a 2 MB argument that is still arriving exceeds the 1 MB query buffer
    big.send(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$2000000\r\n");
    let chunk = vec![b'a'; 64 * 1024];
    let mut closed = false;
    for _ in 0..24 {
        if std::io::Write::write_all(&mut big.s, &chunk).is_err() {
            closed = true;
            break;
        }
    }
    assert!(
        closed || big.is_closed(),
        "the client over the limit is closed"
    );
    assert_eq!(good.call(&["GET", "k"]), "$1\r\nv\r\n");
    assert_eq!(good.call(&["EXISTS", "x"]), ":0\r\n");
}

/// What a client connecting from `source` reads after sending PING: a
/// whole reply (waited for up to 5 s) and whatever follows it within 300
/// ms, or all that came before the server closed the connection.
fn ping_from(source: &str, port: u16) -> Vec<u8> {
    use std::io::{Read, Write};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let s = rt
        .block_on(picket_common::net::connect_from(
            "127.0.0.1",
            port,
            Some(source),
        ))
        .unwrap();
    let mut sock = s.into_std().unwrap();
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    sock.write_all(b"PING\r\n").unwrap();
    let mut got = Vec::new();
    let mut tmp = [0u8; 1024];
    loop {
        if matches!(picket_common::resp::Frame::parse(&got), Ok(Some(_))) {
            sock.set_read_timeout(Some(std::time::Duration::from_millis(300)))
                .unwrap();
        }
        match sock.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&tmp[..n]),
        }
    }
    got
}

/// Protected mode admits 127.0.0.1 and ::1 only, as Redis compares the
/// peer's text: a client from 127.0.0.3 is turned away with the same bytes
/// redis-server sends.
#[test]
fn protected_mode_turns_away_the_rest_of_127_0_0_0_8_as_redis_does() {
    let picket = Server::start(&[]);
    let redis = Server::start_redis(&[]);
    let (p, r) = (
        ping_from("127.0.0.3", picket.port),
        ping_from("127.0.0.3", redis.port),
    );
    assert!(
        r.starts_with(b"-DENIED "),
        "{}",
        String::from_utf8_lossy(&r)
    );
    assert_eq!(String::from_utf8_lossy(&p), String::from_utf8_lossy(&r));
    assert_eq!(ping_from("127.0.0.1", picket.port), b"+PONG\r\n");
}
