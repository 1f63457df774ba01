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
    let got = r.read_available(std::time::Duration::from_millis(300));
    assert_eq!(
        String::from_utf8_lossy(&got),
        "+OK\r\n$3\r\na b\r\n+PONG\r\n"
    );
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
    let got = r.read_available(std::time::Duration::from_millis(300));
    assert_eq!(String::from_utf8_lossy(&got), "+OK\r\n+PONG\r\n");
}

#[test]
fn maxclients_refuses_extra_connections() {
    let s = Server::start(&["--maxclients", "2"]);
    // let the readiness probe's connection be reaped first
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.call(&["PING"]), "+PONG\r\n");
    assert_eq!(b.call(&["PING"]), "+PONG\r\n");
    let mut c = s.raw();
    let got = c.read_available(std::time::Duration::from_millis(500));
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR max number of clients reached\r\n"
    );
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
