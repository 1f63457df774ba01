//! The multi-part AOF on real processes: the stream of effects byte for
//! byte against Redis 7.0.15's, restart round trips, interop both ways,
//! rewrite, turning AOF on at run time, torn and corrupt files, and
//! kill -9 under a write load with every acknowledged write found again.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PICKET: &str = env!("CARGO_BIN_EXE_picket-server");

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap_or_default()
}

/// The INCR files named by the manifest, concatenated.
fn incr_bytes(dir: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for line in manifest(dir).lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() >= 6 && parts[5] == "i" {
            out.extend(std::fs::read(aof_dir(dir).join(parts[1])).unwrap());
        }
    }
    out
}

/// Replaces millisecond timestamps (13 digits) so two runs compare.
fn normalize(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b).into_owned();
    let mut out = String::new();
    let mut digits = String::new();
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        if digits.len() == 13 {
            out.push_str("<ms>");
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        out.push(ch);
    }
    out.push_str(&digits);
    out.replace("\r\n", " ")
}

fn aof_args() -> Vec<&'static str> {
    vec![
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ]
}

/// Every command family whose propagation Redis rewrites, run against a
/// server; the server's INCR file must then equal Redis's own.
fn effects_script(c: &mut redis::Connection) {
    let run = |c: &mut redis::Connection, a: &[&str]| {
        let _: redis::Value = redis::cmd(a[0]).arg(&a[1..]).query(c).unwrap();
    };
    for a in [
        &["SET", "a", "1", "PX", "100000"][..],
        &["set", "b", "2"],
        &["SET", "b2", "2", "EXAT", "4102444800"],
        &["SETEX", "d", "100", "v"],
        &["EXPIRE", "nokey", "10"],
        &["EXPIRE", "b", "100", "NX"],
        &["PEXPIREAT", "b2", "4102444800000"],
        &["INCRBYFLOAT", "f", "1.5"],
        &["HINCRBYFLOAT", "h", "x", "2.5"],
        &["SADD", "s", "1", "2", "3", "4", "5"],
        &["SADD", "s2", "x"],
        &["SPOP", "s2"],
        &["SADD", "s3", "a", "b"],
        &["SPOP", "s3", "10"],
        &["SET", "c", "1"],
        &["GETEX", "c", "PERSIST"],
        &["GETEX", "c", "EX", "100"],
        &["GETDEL", "c"],
        &["RPUSH", "l", "a", "b", "c", "d"],
        &["BLPOP", "l", "0"],
        &["BRPOP", "l", "0"],
        &["LMPOP", "1", "l", "LEFT", "COUNT", "5"],
        &["RPUSH", "q", "1", "2"],
        &["BLMOVE", "q", "q2", "left", "right", "0"],
        &["BRPOPLPUSH", "q", "q2", "0"],
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        &["BZPOPMIN", "z", "0"],
        &["ZMPOP", "1", "z", "MAX", "COUNT", "5"],
        &["SET", "e", "1"],
        &["EXPIRE", "e", "-1"],
        &["SET", "g", "1"],
        &["PEXPIREAT", "g", "1"],
        &["SELECT", "3"],
        &["SET", "in3", "x"],
        &["SELECT", "0"],
        &["SWAPDB", "0", "3"],
        &["SWAPDB", "0", "3"],
        &["SET", "k", "v", "NX"],
        &["SET", "k", "w", "NX"],
        &["FLUSHDB"],
        &["SET", "lazy", "1", "PX", "1"],
    ] {
        run(c, a);
    }
    std::thread::sleep(Duration::from_millis(20));
    // found expired by a write: DEL, then the write, unwrapped
    run(c, &["SET", "lazy", "2"]);
    // transactions: one write is not wrapped, two are
    let _: redis::Value = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("t")
        .arg(1)
        .cmd("GET")
        .arg("t")
        .query(c)
        .unwrap();
    let _: redis::Value = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg("t")
        .arg(2)
        .cmd("INCR")
        .arg("t")
        .query(c)
        .unwrap();
    let _: redis::Value = redis::pipe().atomic().cmd("GET").arg("t").query(c).unwrap();
    run(c, &["SET", "end", "1"]);
}

#[test]
fn the_aof_stream_equals_redis_byte_for_byte() {
    let mut args = aof_args();
    args.extend(["--enable-debug-command", "yes"]);
    let p = Server::start(&args);
    let r = Server::start_redis(&args);
    let mut pc = p.conn();
    let mut rc = r.conn();
    // only lazy expiry, so the expired key is found by the command
    for c in [&mut pc, &mut rc] {
        let _: () = q(c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    }
    effects_script(&mut pc);
    effects_script(&mut rc);
    let ours = normalize(&incr_bytes(p.dir.path()));
    let theirs = normalize(&incr_bytes(r.dir.path()));
    assert!(!theirs.is_empty());
    assert_eq!(ours, theirs);
    // and the manifests name the same files
    assert_eq!(manifest(p.dir.path()), manifest(r.dir.path()));
}

#[test]
fn a_served_blocked_client_is_written_as_its_plain_pop() {
    let p = Server::start(&aof_args());
    let mut waiter = p.raw();
    waiter.cmd(&["BLPOP", "q", "0"]);
    let mut zwaiter = p.raw();
    zwaiter.cmd(&["BZPOPMAX", "z", "0"]);
    std::thread::sleep(Duration::from_millis(100));
    let mut c = p.conn();
    let _: i64 = q(&mut c, &["RPUSH", "q", "a", "b"]);
    let _: i64 = q(&mut c, &["ZADD", "z", "1", "m"]);
    assert!(String::from_utf8_lossy(&waiter.read_frame()).contains('a'));
    assert!(String::from_utf8_lossy(&zwaiter.read_frame()).contains('m'));
    let _: () = q(&mut c, &["SET", "sync", "1"]);
    let got = normalize(&incr_bytes(p.dir.path()));
    let want = "*2 $6 SELECT $1 0 *4 $5 RPUSH $1 q $1 a $1 b *2 $4 LPOP $1 q *4 $4 ZADD $1 z $1 1 $1 m *2 $7 ZPOPMAX $1 z *3 $3 SET $4 sync $1 1 ";
    assert_eq!(got, want);
}

/// Every key of every type, compared as text.
fn snapshot(c: &mut redis::Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        let _: () = q(c, &["SELECT", &db.to_string()]);
        let mut keys: Vec<String> = q(c, &["KEYS", "*"]);
        keys.sort();
        for k in keys {
            let t: String = q(c, &["TYPE", &k]);
            let v = match t.as_str() {
                "string" => q::<String>(c, &["GET", &k]),
                "list" => format!("{:?}", q::<Vec<String>>(c, &["LRANGE", &k, "0", "-1"])),
                "hash" => {
                    let mut v: Vec<String> = q(c, &["HGETALL", &k]);
                    let mut pairs: Vec<String> = v.chunks(2).map(|p| p.join("=")).collect();
                    pairs.sort();
                    v.clear();
                    format!("{pairs:?}")
                }
                "set" => format!("{:?}", q::<Vec<String>>(c, &["SORT", &k, "ALPHA"])),
                "zset" => format!(
                    "{:?}",
                    q::<Vec<String>>(c, &["ZRANGE", &k, "0", "-1", "WITHSCORES"])
                ),
                other => other.to_string(),
            };
            let ttl: i64 = q(c, &["TTL", &k]);
            out.push(format!("{db} {k} {t} {v} ttl={}", ttl > 0));
        }
    }
    let _: () = q(c, &["SELECT", "0"]);
    out
}

/// Small and large values of every type, so each encoding appears.
fn fill(c: &mut redis::Connection) {
    let _: () = q(c, &["SET", "s", "value"]);
    let _: () = q(c, &["SET", "n", "12345"]);
    let _: () = q(c, &["SET", "ttl", "x", "EX", "1000"]);
    let _: i64 = q(c, &["RPUSH", "l", "a", "b", "1"]);
    let _: i64 = q(c, &["HSET", "h", "f", "1", "g", "2"]);
    let _: i64 = q(c, &["SADD", "si", "1", "2", "3"]);
    let _: i64 = q(c, &["SADD", "ss", "a", "b"]);
    let _: i64 = q(c, &["ZADD", "z", "1.5", "a", "-2", "b"]);
    for i in 0..300 {
        let i = i.to_string();
        let _: i64 = q(c, &["RPUSH", "biglist", &i]);
        let _: i64 = q(c, &["HSET", "bighash", &i, &i]);
        let _: i64 = q(c, &["SADD", "bigset", &format!("m{i}")]);
        let _: i64 = q(c, &["ZADD", "bigz", &i, &format!("m{i}")]);
    }
    let _: () = q(c, &["SELECT", "5"]);
    let _: () = q(c, &["SET", "in5", "yes"]);
    let _: () = q(c, &["SELECT", "0"]);
}

fn restart_in(bin: &str, dir: &Path, extra: &[&str]) -> Server {
    start_in(bin, dir, extra)
}

fn shutdown(c: &mut redis::Connection) {
    let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").arg("NOSAVE").query(c);
}

#[test]
fn picket_reloads_its_aof_and_redis_loads_it_too() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--appendonly", "yes", "--save", ""];
    let p = restart_in(PICKET, dir.path(), &args);
    let mut c = p.conn();
    fill(&mut c);
    let want = snapshot(&mut c);
    shutdown(&mut c);
    drop(p);
    let p = restart_in(PICKET, dir.path(), &args);
    assert_eq!(snapshot(&mut p.conn()), want);
    shutdown(&mut p.conn());
    drop(p);
    // the same directory loads into Redis 7.0.15
    let r = restart_in("redis-server", dir.path(), &args);
    assert_eq!(snapshot(&mut r.conn()), want);
}

#[test]
fn redis_aof_loads_into_picket() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--appendonly", "yes", "--save", ""];
    let r = restart_in("redis-server", dir.path(), &args);
    let mut c = r.conn();
    fill(&mut c);
    // a rewrite so the directory has an RDB-preamble BASE and an INCR
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    let _: () = q(&mut c, &["SET", "after", "rewrite"]);
    let want = snapshot(&mut c);
    shutdown(&mut c);
    drop(r);
    let p = restart_in(PICKET, dir.path(), &args);
    assert_eq!(snapshot(&mut p.conn()), want);
}

fn info(c: &mut redis::Connection) -> String {
    q(c, &["INFO", "persistence"])
}

fn wait_rewrite(c: &mut redis::Connection) {
    for _ in 0..500 {
        let i = info(c);
        if i.contains("aof_rewrite_in_progress:0") && i.contains("aof_rewrite_scheduled:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("rewrite did not finish");
}

#[test]
fn bgrewriteaof_switches_to_a_new_base_and_drops_the_history() {
    for preamble in ["yes", "no"] {
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "--appendonly",
            "yes",
            "--save",
            "",
            "--aof-use-rdb-preamble",
            preamble,
        ];
        let p = restart_in(PICKET, dir.path(), &args);
        let mut c = p.conn();
        fill(&mut c);
        let reply: String = q(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(reply, "Background append only file rewriting started");
        wait_rewrite(&mut c);
        let _: () = q(&mut c, &["SET", "after", "rewrite"]);
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(
            manifest(dir.path()),
            format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        );
        let mut files: Vec<String> = std::fs::read_dir(aof_dir(dir.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            vec![
                format!("appendonly.aof.2.base.{ext}"),
                "appendonly.aof.2.incr.aof".to_string(),
                "appendonly.aof.manifest".to_string()
            ]
        );
        let i = info(&mut c);
        assert!(i.contains("aof_rewrites:1"), "{i}");
        assert!(i.contains("aof_last_bgrewrite_status:ok"), "{i}");
        let want = snapshot(&mut c);
        shutdown(&mut c);
        drop(p);
        let p = restart_in(PICKET, dir.path(), &args);
        assert_eq!(snapshot(&mut p.conn()), want, "preamble {preamble}");
        shutdown(&mut p.conn());
        drop(p);
        let r = restart_in("redis-server", dir.path(), &args);
        assert_eq!(snapshot(&mut r.conn()), want, "redis, preamble {preamble}");
    }
}

#[test]
fn growth_triggers_an_automatic_rewrite() {
    let p = Server::start(&[
        "--appendonly",
        "yes",
        "--auto-aof-rewrite-min-size",
        "10000",
        "--auto-aof-rewrite-percentage",
        "100",
    ]);
    let mut c = p.conn();
    for i in 0..400 {
        let _: () = q(&mut c, &["SET", "k", &format!("value-{i}")]);
    }
    for _ in 0..300 {
        if info(&mut c).contains("aof_rewrites:1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_rewrite(&mut c);
    let i = info(&mut c);
    assert!(i.contains("aof_rewrites:1"), "{i}");
    // the new base holds one key: the file shrank below the trigger
    let size: u64 = i
        .lines()
        .find_map(|l| l.strip_prefix("aof_current_size:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(size < 10000, "{size}");
}

#[test]
fn config_set_appendonly_yes_writes_a_base_first() {
    let dir = tempfile::tempdir().unwrap();
    let p = restart_in(PICKET, dir.path(), &["--save", ""]);
    let mut c = p.conn();
    fill(&mut c);
    assert!(manifest(dir.path()).is_empty());
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    let _: () = q(&mut c, &["SET", "during", "1"]);
    wait_rewrite(&mut c);
    let _: () = q(&mut c, &["SET", "after", "1"]);
    assert_eq!(
        manifest(dir.path()),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert!(info(&mut c).contains("aof_enabled:1"));
    let want = snapshot(&mut c);
    shutdown(&mut c);
    drop(p);
    let p = restart_in(PICKET, dir.path(), &["--appendonly", "yes", "--save", ""]);
    assert_eq!(snapshot(&mut p.conn()), want);
    // and off again: nothing more is appended
    let mut c = p.conn();
    let _: () = q(&mut c, &["CONFIG", "SET", "appendonly", "no"]);
    let before = incr_bytes(dir.path());
    let _: () = q(&mut c, &["SET", "off", "1"]);
    assert_eq!(incr_bytes(dir.path()), before);
    assert!(info(&mut c).contains("aof_enabled:0"));
}

#[test]
fn timestamp_annotations_are_written_when_enabled() {
    let p = Server::start(&["--appendonly", "yes", "--aof-timestamp-enabled", "yes"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let text = String::from_utf8_lossy(&incr_bytes(p.dir.path())).into_owned();
    assert!(text.starts_with("#TS:"), "{text:?}");
    let ts: i64 = text[4..text.find('\r').unwrap()].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 5);
}

/// Writes through the server, then kills it with SIGKILL.
fn kill9(s: &mut Server) {
    let _ = s.child.kill();
    let _ = s.child.wait();
}

fn incr_path(dir: &Path) -> PathBuf {
    aof_dir(dir).join("appendonly.aof.1.incr.aof")
}

#[test]
fn a_torn_last_record_is_cut_off_and_logged() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--appendonly", "yes", "--save", ""];
    let mut p = restart_in(PICKET, dir.path(), &args);
    let mut c = p.conn();
    for i in 0..10 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    kill9(&mut p);
    let good = std::fs::metadata(incr_path(dir.path())).unwrap().len();
    // half a command at the end, as a crash mid-write leaves it
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(incr_path(dir.path()))
        .unwrap();
    std::io::Write::write_all(&mut f, b"*3\r\n$3\r\nSET\r\n$2\r\nk1").unwrap();
    drop(f);
    // aof-load-truncated no: start-up stops and says what to do
    let out = std::process::Command::new(PICKET)
        .args(["--port", &free_port().to_string(), "--dir"])
        .arg(dir.path())
        .args(["--appendonly", "yes", "--aof-load-truncated", "no"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("redis-check-aof --fix"), "{err}");
    // default (yes): loads what was whole and truncates the file there
    let log = dir.path().join("log.txt");
    let p = restart_in(
        PICKET,
        dir.path(),
        &[
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            log.to_str().unwrap(),
        ],
    );
    let mut c = p.conn();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 10);
    assert_eq!(
        std::fs::metadata(incr_path(dir.path())).unwrap().len(),
        good
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!(
            "!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {good} !!!"
        )),
        "{text}"
    );
    // and writes go on after the cut
    let _: () = q(&mut c, &["SET", "after", "1"]);
    shutdown(&mut c);
    drop(p);
    let p = restart_in(PICKET, dir.path(), &args);
    assert_eq!(q::<i64>(&mut p.conn(), &["DBSIZE"]), 11);
}

#[test]
fn a_flipped_byte_in_the_middle_stops_startup_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--appendonly", "yes", "--save", ""];
    let mut p = restart_in(PICKET, dir.path(), &args);
    let mut c = p.conn();
    for i in 0..10 {
        let _: () = q(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    kill9(&mut p);
    let path = incr_path(dir.path());
    let mut data = std::fs::read(&path).unwrap();
    // the '*' of the fifth record
    let starts: Vec<usize> = data
        .windows(3)
        .enumerate()
        .filter(|(_, w)| w == b"*3\r")
        .map(|(i, _)| i)
        .collect();
    let at = starts[4];
    data[at] = b'!';
    std::fs::write(&path, &data).unwrap();
    let out = std::process::Command::new(PICKET)
        .args(["--port", &free_port().to_string(), "--dir"])
        .arg(dir.path())
        .args(["--appendonly", "yes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Bad file format reading the append only file"),
        "{err}"
    );
    assert!(err.contains(&format!("offset {at}")), "{err}");
    // nothing was cut: the file is as it was
    assert_eq!(std::fs::read(&path).unwrap(), data);
}

/// N writer threads RPUSH unique elements and record the acknowledged
/// ones until the server is killed; after a restart every acknowledged
/// element must be there.
fn kill_during_load_keeps_acknowledged_writes(fsync: &str) -> (usize, usize) {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--appendonly", "yes", "--appendfsync", fsync, "--save", ""];
    let mut p = restart_in(PICKET, dir.path(), &args);
    let url = p.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for w in 0..4 {
        let url = url.clone();
        let stop = stop.clone();
        let count = count.clone();
        writers.push(std::thread::spawn(move || {
            let mut acked = Vec::new();
            let Ok(mut c) = connect_url(&url) else {
                return acked;
            };
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let el = format!("w{w}-{i}");
                let r: redis::RedisResult<i64> =
                    redis::cmd("RPUSH").arg("log").arg(&el).query(&mut c);
                match r {
                    Ok(_) => {
                        acked.push(el);
                        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Err(_) => break,
                }
                i += 1;
            }
            acked
        }));
    }
    // kill it mid-load after 700 ms and once 200 writes were acknowledged
    // (a slow fsync gets up to 10 s to get there)
    let t = std::time::Instant::now();
    while (count.load(std::sync::atomic::Ordering::Relaxed) < 200
        || t.elapsed() < Duration::from_millis(700))
        && t.elapsed() < Duration::from_secs(10)
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    kill9(&mut p);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked: Vec<String> = writers
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(acked.len() > 100, "only {} writes", acked.len());
    let p = restart_in(PICKET, dir.path(), &args);
    let mut c = p.conn();
    let present: std::collections::HashSet<String> =
        q::<Vec<String>>(&mut c, &["LRANGE", "log", "0", "-1"])
            .into_iter()
            .collect();
    let missing = acked.iter().filter(|e| !present.contains(*e)).count();
    (acked.len(), missing)
}

#[test]
fn kill9_with_appendfsync_always_loses_no_acknowledged_write() {
    let (acked, missing) = kill_during_load_keeps_acknowledged_writes("always");
    assert_eq!(missing, 0, "{missing} of {acked} acknowledged writes lost");
}

#[test]
fn kill9_with_appendfsync_everysec_loses_no_acknowledged_write() {
    // a process crash (not a power loss) keeps what write() handed to the
    // kernel, and the buffer is written before any reply leaves
    let (acked, missing) = kill_during_load_keeps_acknowledged_writes("everysec");
    assert_eq!(missing, 0, "{missing} of {acked} acknowledged writes lost");
}

#[test]
fn info_persistence_reports_the_aof() {
    let p = Server::start(&["--appendonly", "yes"]);
    let mut c = p.conn();
    let _: () = q(&mut c, &["SET", "a", "1"]);
    let i = info(&mut c);
    for f in [
        "aof_enabled:1",
        "aof_rewrite_in_progress:0",
        "aof_last_write_status:ok",
        "aof_base_size:",
        "aof_buffer_length:0",
    ] {
        assert!(i.contains(f), "{f} in {i}");
    }
    let size: u64 = i
        .lines()
        .find_map(|l| l.strip_prefix("aof_current_size:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let on_disk: u64 = std::fs::read_dir(aof_dir(p.dir.path()))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().ends_with("manifest"))
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(size, on_disk);
}

#[test]
fn bgrewriteaof_with_aof_off_writes_a_base_like_redis() {
    for (bin, s) in [
        (PICKET, Server::start(&["--save", ""])),
        ("redis-server", Server::start_redis(&["--save", ""])),
    ] {
        let mut c = s.conn();
        fill(&mut c);
        let want = snapshot(&mut c);
        let reply: String = q(&mut c, &["BGREWRITEAOF"]);
        assert_eq!(
            reply, "Background append only file rewriting started",
            "{bin}"
        );
        wait_rewrite(&mut c);
        assert_eq!(
            manifest(s.dir.path()),
            "file appendonly.aof.1.base.rdb seq 1 type b\n",
            "{bin}"
        );
        let i = info(&mut c);
        assert!(
            i.contains("aof_enabled:0") && i.contains("aof_rewrites:1"),
            "{bin}: {i}"
        );
        shutdown(&mut c);
        // the base loads when AOF is turned on at the next start
        let p = restart_in(PICKET, s.dir.path(), &["--appendonly", "yes", "--save", ""]);
        assert_eq!(snapshot(&mut p.conn()), want, "{bin}");
    }
}

/// fdatasync calls a process makes while `during` runs (strace -f -c).
fn fdatasyncs_during(pid: u32, during: impl FnOnce()) -> u64 {
    let out = std::env::temp_dir().join(format!("picket-strace-{pid}"));
    let mut tracer = std::process::Command::new("strace")
        .args(["-f", "-c", "-e", "trace=fdatasync", "-o"])
        .arg(&out)
        .args(["-p", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("strace (scripts/test.sh installs it)");
    wait_traced(&mut tracer, pid);
    during();
    unsafe { libc::kill(tracer.id() as i32, libc::SIGINT) };
    let _ = tracer.wait();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    text.lines()
        .find(|l| l.trim_end().ends_with("fdatasync"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The state letter of process `pid` (/proc/<pid>/stat), None if gone.
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may hold anything but the last ')'
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// The pids of the processes whose parent is `ppid`.
fn children_of(ppid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(ppid) {
            out.push(pid);
        }
    }
    out
}

/// A BGSAVE child held stopped (SIGSTOP) so it stays "running" for as long
/// as the test needs, however fast the machine writes; killed on drop.
struct StoppedChild(i32);

impl Drop for StoppedChild {
    fn drop(&mut self) {
        // SAFETY: kill(2) on a child of our own server, not yet reaped
        // (it cannot exit while stopped).
        unsafe { libc::kill(self.0, libc::SIGKILL) };
    }
}

/// Starts a BGSAVE on `p` and stops its child before it can finish
/// (retried if the child finished first).
fn stopped_bgsave_child(p: &Server, c: &mut redis::Connection) -> StoppedChild {
    let t = std::time::Instant::now();
    while t.elapsed() < Duration::from_secs(30) {
        let r: redis::RedisResult<String> = redis::cmd("BGSAVE").query(c);
        if r.is_err() {
            // the previous try's child is still being reaped
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        let seen = std::time::Instant::now();
        while seen.elapsed() < Duration::from_secs(5) {
            if let Some(&pid) = children_of(p.child.id()).first() {
                // SAFETY: plain kill(2) on a child of our own server
                unsafe { libc::kill(pid, libc::SIGSTOP) };
                let wait = std::time::Instant::now();
                loop {
                    match proc_state(pid) {
                        // (a guard only for a stopped child: one that ended
                        // may be reaped and its pid reused)
                        Some('T') => return StoppedChild(pid),
                        Some('Z') | Some('X') | None => break,
                        _ => {}
                    }
                    assert!(
                        wait.elapsed() < Duration::from_secs(5),
                        "the BGSAVE child {pid} does not stop"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
                break; // it ended before the SIGSTOP: try again
            }
            if info(c).contains("rdb_bgsave_in_progress:0") {
                break; // it ended before we saw it: try again
            }
        }
    }
    panic!("could not catch a BGSAVE child running for 30 s");
}

#[test]
fn no_appendfsync_on_rewrite_skips_fsync_while_a_child_runs() {
    for (flag, expect_fsync) in [("yes", false), ("no", true)] {
        let p = Server::start(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--no-appendfsync-on-rewrite",
            flag,
            "--enable-debug-command",
            "yes",
        ]);
        let mut c = p.conn();
        // a child that runs for as long as the test needs: a BGSAVE held
        // stopped (of a data set large enough to be caught running)
        let _: () = q(&mut c, &["DEBUG", "POPULATE", "300000", "k", "200"]);
        let child = stopped_bgsave_child(&p, &mut c);
        let i = info(&mut c);
        assert!(i.contains("rdb_bgsave_in_progress:1"), "no child: {i}");
        // (no wait: the write path sees the child at once, as Redis's
        // flushAppendOnlyFile checks for one at every flush)
        let n = fdatasyncs_during(p.child.id(), || {
            for i in 0..50 {
                let _: () = q(&mut c, &["SET", &format!("x{i}"), "v"]);
            }
        });
        let i = info(&mut c);
        assert!(
            i.contains("rdb_bgsave_in_progress:1"),
            "the child ended too soon: {i}"
        );
        assert_eq!(
            n > 0,
            expect_fsync,
            "no-appendfsync-on-rewrite {flag}: {n} fdatasync"
        );
        drop(child);
    }
}
