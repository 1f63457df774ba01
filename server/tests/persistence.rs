//! SAVE, loading dump.rdb at start-up, SHUTDOWN SAVE/NOSAVE, DEBUG RELOAD,
//! and refusing a corrupt file — with Redis 7.0.15 reading our file.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn fill(c: &mut redis::Connection) {
    let _: () = q(c, &["SET", "s", "value"]);
    let _: () = q(c, &["SET", "ttl", "x", "EX", "1000"]);
    let _: i64 = q(c, &["RPUSH", "l", "a", "b", "c"]);
    let _: i64 = q(c, &["HSET", "h", "f", "1", "g", "2"]);
    let _: i64 = q(c, &["SADD", "st", "1", "2", "x"]);
    let _: i64 = q(c, &["ZADD", "z", "1.5", "a", "2", "b"]);
    let _: () = q(c, &["SELECT", "3"]);
    let _: () = q(c, &["SET", "in3", "yes"]);
    let _: () = q(c, &["SELECT", "0"]);
}

fn check(c: &mut redis::Connection) {
    assert_eq!(q::<String>(c, &["GET", "s"]), "value");
    let ttl: i64 = q(c, &["TTL", "ttl"]);
    assert!(ttl > 900 && ttl <= 1000, "{ttl}");
    assert_eq!(
        q::<Vec<String>>(c, &["LRANGE", "l", "0", "-1"]),
        vec!["a", "b", "c"]
    );
    assert_eq!(
        q::<Vec<String>>(c, &["HMGET", "h", "f", "g"]),
        vec!["1", "2"]
    );
    assert_eq!(q::<i64>(c, &["SCARD", "st"]), 3);
    assert_eq!(q::<String>(c, &["ZSCORE", "z", "a"]), "1.5");
    let _: () = q(c, &["SELECT", "3"]);
    assert_eq!(q::<String>(c, &["GET", "in3"]), "yes");
    let _: () = q(c, &["SELECT", "0"]);
}

#[test]
fn save_then_restart_loads_every_type_and_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let s = start_in(pk, dir.path(), &["--save", ""]);
        let mut c = s.conn();
        fill(&mut c);
        assert!(q::<i64>(&mut c, &["LASTSAVE"]) > 0);
        let _: () = q(&mut c, &["SAVE"]);
        let info: String = q(&mut c, &["INFO", "persistence"]);
        assert!(
            info.contains("rdb_changes_since_last_save:0") && info.contains("rdb_saves:1"),
            "{info}"
        );
    }
    assert!(dir.path().join("dump.rdb").exists());
    let s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    check(&mut c);
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_load_keys_loaded:7"), "{info}");
    // and Debian's redis-server reads the same file
    drop(c);
    drop(s);
    let r = start_in("redis-server", dir.path(), &["--save", ""]);
    let mut c = r.conn();
    check(&mut c);
}

#[test]
fn redis_dump_loads_into_picket() {
    let dir = tempfile::tempdir().unwrap();
    {
        let r = start_in("redis-server", dir.path(), &["--save", ""]);
        let mut c = r.conn();
        fill(&mut c);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let s = start_in(
        env!("CARGO_BIN_EXE_picket-server"),
        dir.path(),
        &["--save", ""],
    );
    let mut c = s.conn();
    check(&mut c);
}

#[test]
fn shutdown_saves_unless_nosave_and_sigterm_saves_with_save_points() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    let mut s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "1"]);
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
    let _ = s.child.wait();
    assert!(
        !dir.path().join("dump.rdb").exists(),
        "NOSAVE must not save"
    );
    let mut s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "2"]);
    let _ = redis::cmd("SHUTDOWN").arg("SAVE").query::<()>(&mut c);
    let _ = s.child.wait();
    assert!(dir.path().join("dump.rdb").exists(), "SHUTDOWN SAVE saves");
    // save points configured: SIGTERM saves too
    let mut s = start_in(pk, dir.path(), &["--save", "3600 1"]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "2");
    let _: () = q(&mut c, &["SET", "k", "3"]);
    Command::new("kill")
        .arg(s.child.id().to_string())
        .status()
        .unwrap();
    let _ = s.child.wait();
    let s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "3");
}

#[test]
fn debug_reload_keeps_the_data() {
    let s = Server::start(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    fill(&mut c);
    let _: () = q(&mut c, &["DEBUG", "RELOAD"]);
    check(&mut c);
}

#[test]
fn corrupt_dump_stops_startup_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let s = start_in(pk, dir.path(), &["--save", ""]);
        let mut c = s.conn();
        fill(&mut c);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let path = dir.path().join("dump.rdb");
    let mut bytes = std::fs::read(&path).unwrap();
    let cut = bytes.len() - 20;
    bytes.truncate(cut);
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new(pk)
        .args([
            "--port",
            &free_port().to_string(),
            "--dir",
            &dir.path().display().to_string(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a truncated dump must not be loaded");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Fatal error loading the DB") && err.contains("offset"),
        "{err}"
    );
}

fn wait_bgsave_done(c: &mut redis::Connection) -> String {
    for _ in 0..500 {
        let info: String = q(c, &["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            return info;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("BGSAVE did not finish");
}

#[test]
fn bgsave_forks_and_the_snapshot_loads() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let s = start_in(
            pk,
            dir.path(),
            &["--save", "", "--enable-debug-command", "yes"],
        );
        let mut c = s.conn();
        fill(&mut c);
        let _: () = q(&mut c, &["DEBUG", "POPULATE", "50000"]);
        assert_eq!(
            q::<String>(&mut c, &["BGSAVE"]),
            "Background saving started"
        );
        // the server keeps serving while the child writes
        assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
        let info = wait_bgsave_done(&mut c);
        assert!(
            info.contains("rdb_last_bgsave_status:ok") && info.contains("rdb_saves:1"),
            "{info}"
        );
        assert!(info.contains("rdb_changes_since_last_save:0"), "{info}");
        let stats: String = q(&mut c, &["INFO", "stats"]);
        assert!(stats.contains("total_forks:1"), "{stats}");
    }
    let s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    check(&mut c);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 50006);
}

#[test]
fn save_points_trigger_background_saves() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(
        env!("CARGO_BIN_EXE_picket-server"),
        dir.path(),
        &["--save", "1 1"],
    );
    let mut c = s.conn();
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let mut saved = false;
    for _ in 0..300 {
        let info: String = q(&mut c, &["INFO", "persistence"]);
        if info.contains("rdb_saves:1") && info.contains("rdb_bgsave_in_progress:0") {
            saved = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saved, "the save point did not fire");
    assert!(dir.path().join("dump.rdb").exists());
}

#[test]
fn failed_background_save_refuses_writes_with_misconf() {
    let dir = tempfile::tempdir().unwrap();
    let s = start_in(
        env!("CARGO_BIN_EXE_picket-server"),
        dir.path(),
        &["--save", "1 1"],
    );
    let mut c = s.conn();
    // make the target unwritable: dbfilename points into a missing directory
    let _: () = q(
        &mut c,
        &["CONFIG", "SET", "dbfilename", "missing-dir/dump.rdb"],
    );
    let _: () = q(&mut c, &["SET", "k", "v"]);
    let mut misconf = String::new();
    for _ in 0..300 {
        match redis::cmd("SET").arg("k").arg("w").query::<()>(&mut c) {
            Ok(()) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                misconf = format!("{} {}", e.code().unwrap_or(""), e.detail().unwrap_or(""));
                break;
            }
        }
    }
    assert!(
        misconf.starts_with("MISCONF Redis is configured to save RDB snapshots"),
        "{misconf}"
    );
    // reads still work
    let v: String = q(&mut c, &["GET", "k"]);
    assert!(v == "v" || v == "w", "{v}");
    let info: String = q(&mut c, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
}

fn fill_types(c: &mut redis::Connection) {
    let _: () = q(c, &["SET", "s", "value"]);
    let _: () = q(c, &["SET", "n", "12345"]);
    let _: () = q(c, &["SET", "long", &"abc".repeat(100)]);
    let _: i64 = q(c, &["RPUSH", "l", "a", "b", "1"]);
    let _: i64 = q(c, &["HSET", "h", "f", "1", "g", &"x".repeat(100)]);
    let _: i64 = q(c, &["SADD", "si", "1", "2", "3"]);
    let _: i64 = q(c, &["SADD", "ss", "a", "b"]);
    let _: i64 = q(c, &["ZADD", "z", "1.5", "a", "2", "b"]);
}

const DUMPED: &[&str] = &["s", "n", "long", "l", "h", "si", "ss", "z"];

/// Contents of a key as comparable text, whatever its type.
fn contents(c: &mut redis::Connection, k: &str) -> String {
    let t: String = q(c, &["TYPE", k]);
    let v: redis::Value = match t.as_str() {
        "string" => q(c, &["GET", k]),
        "list" => q(c, &["LRANGE", k, "0", "-1"]),
        "hash" => {
            // hashtable-encoded hashes have no defined order: compare sorted pairs
            let flat: Vec<String> = q(c, &["HGETALL", k]);
            let mut pairs: Vec<String> = flat.chunks(2).map(|p| p.join("=")).collect();
            pairs.sort();
            return format!("{t} {pairs:?}");
        }
        "set" => q(c, &["SORT", k, "ALPHA"]),
        "zset" => q(c, &["ZRANGE", k, "0", "-1", "WITHSCORES"]),
        _ => redis::Value::Nil,
    };
    format!("{t} {v:?}")
}

#[test]
fn dump_and_restore_move_keys_both_ways_with_redis() {
    let p = Server::start(&[]);
    let r = Server::start_redis(&[]);
    let (mut pc, mut rc) = (p.conn(), r.conn());
    fill_types(&mut rc);
    // redis -> picket
    for k in DUMPED {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(*k).query(&mut rc).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(*k)
            .arg(0)
            .arg(&payload)
            .query(&mut pc)
            .unwrap();
        assert_eq!(contents(&mut pc, k), contents(&mut rc, k), "{k}");
    }
    // picket -> redis (into fresh names)
    for k in DUMPED {
        let payload: Vec<u8> = redis::cmd("DUMP").arg(*k).query(&mut pc).unwrap();
        let dst = format!("{k}-back");
        let _: () = redis::cmd("RESTORE")
            .arg(&dst)
            .arg(0)
            .arg(&payload)
            .query(&mut rc)
            .unwrap();
        assert_eq!(contents(&mut rc, &dst), contents(&mut rc, k), "{k}");
    }
    // options and errors, compared with redis byte for byte
    let payload: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut rc).unwrap();
    let mut bad = payload.clone();
    bad[2] ^= 0x40;
    for (args, data) in [
        (vec!["RESTORE", "s", "0"], payload.clone()),
        (vec!["RESTORE", "x", "-1"], payload.clone()),
        (vec!["RESTORE", "x", "0"], bad.clone()),
        (vec!["RESTORE", "x", "0"], b"garbage".to_vec()),
        (
            vec!["RESTORE", "s", "0", "REPLACE", "IDLETIME", "-1"],
            payload.clone(),
        ),
        (
            vec!["RESTORE", "s", "0", "REPLACE", "FREQ", "300"],
            payload.clone(),
        ),
        (
            vec!["RESTORE", "s", "0", "REPLACE", "BOGUS"],
            payload.clone(),
        ),
        (vec!["RESTORE", "t", "100000", "REPLACE"], payload.clone()),
        (vec!["RESTORE", "gone", "1", "ABSTTL"], payload.clone()),
    ] {
        let run = |c: &mut redis::Connection| {
            let mut cmd = redis::cmd(args[0]);
            for a in &args[1..] {
                cmd.arg(*a);
            }
            if args.len() == 3 {
                cmd.arg(&data);
            } else {
                // payload goes third, options after it
                let mut cmd2 = redis::cmd(args[0]);
                cmd2.arg(args[1]).arg(args[2]).arg(&data);
                for a in &args[3..] {
                    cmd2.arg(*a);
                }
                cmd = cmd2;
            }
            match cmd.query::<redis::Value>(c) {
                Ok(v) => format!("{v:?}"),
                Err(e) => format!("{:?} {:?}", e.code(), e.detail()),
            }
        };
        assert_eq!(run(&mut pc), run(&mut rc), "{args:?}");
    }
    let ttl: i64 = q(&mut pc, &["PTTL", "t"]);
    assert!(ttl > 90_000, "{ttl}");
    assert_eq!(q::<i64>(&mut pc, &["EXISTS", "gone"]), 0);
    assert_eq!(q::<Option<String>>(&mut pc, &["DUMP", "nokey"]), None);
}

#[test]
fn clients_get_loading_while_the_dump_loads() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let s = start_in(
            pk,
            dir.path(),
            &["--save", "", "--enable-debug-command", "yes"],
        );
        let mut c = s.conn();
        let _: () = q(&mut c, &["DEBUG", "POPULATE", "500000"]);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let s = start_raw(pk, dir.path(), &["--save", ""]);
    let mut r = s.raw();
    let first = r.call(&["GET", "key:1"]);
    assert_eq!(
        first, "-LOADING Redis is loading the dataset in memory\r\n",
        "the load of 500k keys should still be running"
    );
    let info = r.call(&["INFO", "persistence"]);
    assert!(info.contains("\nloading:1\r"), "{info}");
    let mut reply = String::new();
    for _ in 0..1000 {
        reply = r.call(&["GET", "key:1"]);
        if !reply.starts_with("-LOADING") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(reply, "$7\r\nvalue:1\r\n");
    assert_eq!(r.call(&["DBSIZE"]), ":500000\r\n");
}

#[test]
fn check_rdb_reports_whole_files_and_the_first_bad_offset() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let r = start_in("redis-server", dir.path(), &["--save", ""]);
        let mut c = r.conn();
        fill(&mut c);
        let _: () = q(&mut c, &["SAVE"]);
    }
    let path = dir.path().join("dump.rdb");
    let out = Command::new(pk)
        .args(["--check-rdb", &path.display().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("RDB looks OK!") && text.contains("[info] 7 keys read"),
        "{text}"
    );
    let bytes = std::fs::read(&path).unwrap();
    let cut = dir.path().join("cut.rdb");
    std::fs::write(&cut, &bytes[..60]).unwrap();
    let out = Command::new(pk)
        .args(["--check-rdb", &cut.display().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        text.contains("--- RDB ERROR DETECTED ---") && text.contains("truncated at offset"),
        "{text}"
    );
}

#[test]
fn flushall_with_save_points_leaves_an_empty_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let pk = env!("CARGO_BIN_EXE_picket-server");
    {
        let s = start_in(pk, dir.path(), &["--save", "3600 1000"]);
        let mut c = s.conn();
        let _: () = q(&mut c, &["SET", "k", "v"]);
        let _: () = q(&mut c, &["SAVE"]);
        let _: () = q(&mut c, &["FLUSHALL"]);
        // killed without a chance to save: only FLUSHALL's snapshot is on disk
        Command::new("kill")
            .args(["-9", &s.child.id().to_string()])
            .status()
            .unwrap();
    }
    let s = start_in(pk, dir.path(), &["--save", ""]);
    let mut c = s.conn();
    assert_eq!(
        q::<i64>(&mut c, &["DBSIZE"]),
        0,
        "an old dump brought flushed data back"
    );
}
