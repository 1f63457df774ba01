//! HyperLogLog against Debian's redis-server 7.0.15: the same inputs must
//! leave the same bytes in the key (sparse, through the promotion to
//! dense, merged), give the same counts, and HLL values must move
//! between the two servers (GET/SET, DUMP/RESTORE) and keep working.
//! Corrupted values are fuzzed: both servers must give the same reply
//! and leave the same bytes.

mod common;
use common::*;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use redis::Value as V;

/// Runs the same command on both servers; returns both replies.
fn both(p: &mut redis::Connection, r: &mut redis::Connection, args: &[&[u8]]) -> (V, V) {
    let run = |c: &mut redis::Connection| {
        let mut cmd = redis::cmd(std::str::from_utf8(args[0]).unwrap_or("PING"));
        for a in &args[1..] {
            cmd.arg(*a);
        }
        match cmd.query::<V>(c) {
            Ok(v) => v,
            Err(e) => V::SimpleString(format!("ERROR {e}")),
        }
    };
    (run(p), run(r))
}

/// Runs a command on both servers and asserts the replies are equal.
fn same(p: &mut redis::Connection, r: &mut redis::Connection, args: &[&[u8]]) -> V {
    let (a, b) = both(p, r, args);
    assert_eq!(a, b, "{:?}", show(args));
    a
}

fn show(args: &[&[u8]]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(&a[..a.len().min(40)]).into_owned())
        .collect()
}

fn get(c: &mut redis::Connection, key: &str) -> Vec<u8> {
    redis::cmd("GET").arg(key).query(c).expect("GET")
}

fn encoding(c: &mut redis::Connection, key: &str) -> String {
    q(c, &["PFDEBUG", "ENCODING", key])
}

/// PFADDs `elems` in batches of `batch` on both servers; after every
/// batch the keys must hold the same bytes and PFCOUNT must agree.
fn add_compare(
    p: &mut redis::Connection,
    r: &mut redis::Connection,
    key: &str,
    elems: &[Vec<u8>],
    batch: usize,
) {
    for chunk in elems.chunks(batch) {
        let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
        args.extend(chunk.iter().map(|e| &e[..]));
        same(p, r, &args);
        assert_eq!(get(p, key), get(r, key), "bytes of {key} after PFADD");
        same(p, r, &[b"PFCOUNT", key.as_bytes()]);
        assert_eq!(get(p, key), get(r, key), "bytes of {key} after PFCOUNT");
    }
}

/// Elements of varied lengths (every MurmurHash tail length), text and binary.
fn elements(n: usize, salt: u64) -> Vec<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(salt);
    (0..n)
        .map(|i| {
            if i % 3 == 0 {
                format!("el:{salt}:{i}").into_bytes()
            } else {
                let len = rng.gen_range(0..20);
                (0..len).map(|_| rng.gen()).collect()
            }
        })
        .collect()
}

#[test]
fn pfadd_bytes_and_counts_match_redis_from_sparse_to_dense() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    let (mut p, mut r) = (ps.conn(), rs.conn());
    // one element at a time first (every sparse update path), then batches
    add_compare(&mut p, &mut r, "h", &elements(300, 1), 1);
    assert_eq!(encoding(&mut p, "h"), "sparse");
    add_compare(&mut p, &mut r, "h", &elements(6000, 2), 150);
    assert_eq!(encoding(&mut p, "h"), "dense");
    assert_eq!(encoding(&mut r, "h"), "dense");
    // re-adding known elements changes nothing
    let again = elements(300, 1);
    let mut args: Vec<&[u8]> = vec![b"PFADD", b"h"];
    args.extend(again.iter().map(|e| &e[..]));
    assert_eq!(same(&mut p, &mut r, &args), V::Int(0));

    // a lower hll-sparse-max-bytes promotes earlier, on both
    for c in [&mut p, &mut r] {
        let _: () = q(c, &["CONFIG", "SET", "hll-sparse-max-bytes", "200"]);
    }
    add_compare(&mut p, &mut r, "small", &elements(200, 3), 7);
    assert_eq!(encoding(&mut p, "small"), "dense");
    // PFADD without elements: creates (1), then nothing to do (0)
    assert_eq!(same(&mut p, &mut r, &[b"PFADD", b"empty"]), V::Int(1));
    assert_eq!(same(&mut p, &mut r, &[b"PFADD", b"empty"]), V::Int(0));
    assert_eq!(get(&mut p, "empty"), get(&mut r, "empty"));
}

#[test]
fn pfmerge_and_union_counts_match_redis() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    let (mut p, mut r) = (ps.conn(), rs.conn());
    let sizes = [("s1", 20usize), ("s2", 150), ("s3", 900), ("d1", 4000)];
    for (i, (k, n)) in sizes.iter().enumerate() {
        add_compare(&mut p, &mut r, k, &elements(*n, 10 + i as u64), 500);
    }
    let merges: &[&[&str]] = &[
        &["m1", "s1", "s2"],       // sparse into an absent key: stays sparse
        &["m1", "s3"],             // existing sparse destination
        &["m2", "s1", "d1"],       // a dense source makes the result dense
        &["m3"],                   // no sources: an empty HLL
        &["s2", "s1", "missing"],  // destination among the sources
        &["m4", "s3", "s3", "s2"], // repeated sources
    ];
    for m in merges {
        let mut args: Vec<&[u8]> = vec![b"PFMERGE"];
        args.extend(m.iter().map(|s| s.as_bytes()));
        assert_eq!(same(&mut p, &mut r, &args), V::Okay);
        assert_eq!(get(&mut p, m[0]), get(&mut r, m[0]), "PFMERGE {m:?}");
        assert_eq!(encoding(&mut p, m[0]), encoding(&mut r, m[0]));
        same(&mut p, &mut r, &[b"PFCOUNT", m[0].as_bytes()]);
    }
    for keys in [
        &["s1", "s2"][..],
        &["s1", "s2", "s3", "d1"],
        &["missing", "s3"],
        &["d1", "m2", "nothing"],
    ] {
        let mut args: Vec<&[u8]> = vec![b"PFCOUNT"];
        args.extend(keys.iter().map(|s| s.as_bytes()));
        same(&mut p, &mut r, &args);
    }
    // a merge whose result outgrows hll-sparse-max-bytes is promoted
    for c in [&mut p, &mut r] {
        let _: () = q(c, &["CONFIG", "SET", "hll-sparse-max-bytes", "300"]);
    }
    same(&mut p, &mut r, &[b"PFMERGE", b"m5", b"s1", b"s2", b"s3"]);
    assert_eq!(get(&mut p, "m5"), get(&mut r, "m5"));
    assert_eq!(encoding(&mut p, "m5"), "dense");
}

#[test]
fn hll_values_move_between_picket_and_redis() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    let (mut p, mut r) = (ps.conn(), rs.conn());
    for (key, n) in [("sp", 100usize), ("de", 5000)] {
        let elems = elements(n, 77);
        for chunk in elems.chunks(500) {
            let mut cmd = redis::cmd("PFADD");
            cmd.arg(key);
            for e in chunk {
                cmd.arg(&e[..]);
            }
            let _: i64 = cmd.query(&mut r).expect("PFADD on redis");
        }
        // Redis → picket by DUMP/RESTORE, picket → Redis by GET/SET
        let dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut r).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(key)
            .arg(0)
            .arg(&dump[..])
            .query(&mut p)
            .expect("RESTORE on picket");
        assert_eq!(get(&mut p, key), get(&mut r, key));
        same(&mut p, &mut r, &[b"PFCOUNT", key.as_bytes()]);
        same(
            &mut p,
            &mut r,
            &[b"PFADD", key.as_bytes(), b"x", b"y", b"z"],
        );
        assert_eq!(get(&mut p, key), get(&mut r, key));
        // picket's value copied back into Redis and the reverse
        let from_p = get(&mut p, key);
        let _: () = redis::cmd("SET")
            .arg("copy")
            .arg(&from_p[..])
            .query(&mut r)
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg("copy")
            .arg(&from_p[..])
            .query(&mut p)
            .unwrap();
        same(&mut p, &mut r, &[b"PFCOUNT", b"copy"]);
        same(&mut p, &mut r, &[b"PFADD", b"copy", b"more", b"elements"]);
        assert_eq!(get(&mut p, "copy"), get(&mut r, "copy"));
        // picket's DUMP restores in Redis
        let dump: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut p).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg("back")
            .arg(0)
            .arg(&dump[..])
            .arg("REPLACE")
            .query(&mut r)
            .expect("RESTORE on redis");
        assert_eq!(get(&mut r, "back"), get(&mut p, key));
        same(&mut p, &mut r, &[b"PFCOUNT", b"back", key.as_bytes()]);
    }
}

#[test]
fn corrupted_hll_values_get_redis_replies_and_bytes() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    let (mut p, mut r) = (ps.conn(), rs.conn());
    let mut rng = StdRng::seed_from_u64(0x4859_4c4c);
    // sparse seeds of a few sizes, taken from Redis
    let mut seeds = Vec::new();
    for (i, n) in [3usize, 40, 300].into_iter().enumerate() {
        let key = format!("seed{i}");
        let mut cmd = redis::cmd("PFADD");
        cmd.arg(&key);
        for e in elements(n, 500 + i as u64) {
            cmd.arg(e);
        }
        let _: i64 = cmd.query(&mut r).unwrap();
        seeds.push(get(&mut r, &key));
    }
    let ops: &[&[&[u8]]] = &[
        &[b"PFCOUNT", b"c"],
        &[
            b"PFADD", b"c", b"a", b"b", b"c", b"d", b"e", b"f", b"g", b"h",
        ],
        &[b"PFCOUNT", b"c", b"seedkey"],
        &[b"PFMERGE", b"c", b"seedkey"],
        &[b"PFMERGE", b"dst", b"c"],
        &[b"PFDEBUG", b"TODENSE", b"c"],
        &[b"PFDEBUG", b"DECODE", b"c"],
    ];
    for round in 0..2000 {
        let mut v = seeds[round % seeds.len()].clone();
        // mutate the register part (and sometimes its length)
        for _ in 0..rng.gen_range(1..4) {
            match rng.gen_range(0..4) {
                0 if v.len() > 16 => {
                    let i = rng.gen_range(16..v.len());
                    v[i] = rng.gen();
                }
                1 if v.len() > 17 => {
                    let n = rng.gen_range(16..v.len());
                    v.truncate(n);
                }
                2 => {
                    let i = rng.gen_range(16..=v.len());
                    v.insert(i, rng.gen());
                }
                _ => v[15] &= 0x7f,
            }
        }
        let op = ops[round % ops.len()];
        for c in [&mut p, &mut r] {
            let _: () = redis::cmd("DEL").arg("c").arg("dst").query(c).unwrap();
            let _: () = redis::cmd("SET").arg("c").arg(&v[..]).query(c).unwrap();
            let _: () = redis::cmd("SET")
                .arg("seedkey")
                .arg(&seeds[1][..])
                .query(c)
                .unwrap();
        }
        same(&mut p, &mut r, op);
        for k in ["c", "dst"] {
            let (a, b): (Option<Vec<u8>>, Option<Vec<u8>>) = (
                redis::cmd("GET").arg(k).query(&mut p).unwrap(),
                redis::cmd("GET").arg(k).query(&mut r).unwrap(),
            );
            assert_eq!(a, b, "round {round}: {k} after {:?} on {v:?}", show(op));
        }
    }
}

#[test]
fn pfcount_cache_refresh_counts_a_change_and_breaks_watch() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    for s in [&ps, &rs] {
        let mut c = s.conn();
        let mut other = s.conn();
        let changes = |c: &mut redis::Connection| -> i64 {
            let info: String = q(c, &["INFO", "persistence"]);
            info.lines()
                .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(-1)
        };
        let base = changes(&mut c);
        // a new key and three changed registers: 4 changes
        let _: i64 = q(&mut c, &["PFADD", "h", "a", "b", "c"]);
        assert_eq!(changes(&mut c) - base, 4);
        // refreshing the cache is a change; the cached answer is not
        let _: i64 = q(&mut c, &["PFCOUNT", "h"]);
        let _: i64 = q(&mut c, &["PFCOUNT", "h"]);
        let _: i64 = q(&mut c, &["PFCOUNT", "h", "other"]);
        assert_eq!(changes(&mut c) - base, 5);
        // PFCOUNT refreshing the cache invalidates a WATCH
        let _: i64 = q(&mut c, &["PFADD", "h", "d"]);
        let _: () = q(&mut c, &["WATCH", "h"]);
        let _: i64 = q(&mut other, &["PFCOUNT", "h"]);
        let _: () = q(&mut c, &["MULTI"]);
        let _: () = q(&mut c, &["PING"]);
        let res: Option<Vec<String>> = q(&mut c, &["EXEC"]);
        assert_eq!(res, None, "EXEC after PFCOUNT refreshed a watched key");
    }
}

#[test]
fn pfadd_and_pfmerge_send_pfadd_events_as_redis() {
    let (ps, rs) = (Server::start(&[]), Server::start_redis(&[]));
    let mut seen = Vec::new();
    for s in [&ps, &rs] {
        let mut c = s.conn();
        let _: () = q(&mut c, &["CONFIG", "SET", "notify-keyspace-events", "KEA"]);
        let mut sub = s.conn();
        let mut ps = sub.as_pubsub();
        ps.psubscribe("__keyevent@0__:*").unwrap();
        ps.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _: i64 = q(&mut c, &["PFADD", "h", "a"]);
        let _: i64 = q(&mut c, &["PFADD", "h", "a"]); // unchanged: no event
        let _: i64 = q(&mut c, &["PFCOUNT", "h"]); // no event
        let _: () = q(&mut c, &["PFMERGE", "m", "h"]);
        let _: () = q(&mut c, &["SET", "end", "x"]);
        let mut events = Vec::new();
        loop {
            let msg = ps.get_message().expect("event");
            let key: String = msg.get_payload().unwrap();
            events.push(format!("{} {key}", msg.get_channel_name()));
            if key == "end" {
                break;
            }
        }
        seen.push(events);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        seen[1],
        [
            "__keyevent@0__:pfadd h",
            "__keyevent@0__:pfadd m",
            "__keyevent@0__:set end"
        ]
    );
}

/// Polls `f` until it returns true or 10 s pass.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(10) {
        if f() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[test]
fn a_redis_replica_of_picket_holds_the_same_hll_bytes() {
    let master = Server::start(&[]);
    let port = master.port.to_string();
    let replica = Server::start_redis(&["--replicaof", "127.0.0.1", &port]);
    let (mut m, mut r) = (master.conn(), replica.conn());
    assert!(eventually(|| {
        let info: String = q(&mut r, &["INFO", "replication"]);
        info.contains("master_link_status:up")
    }));
    let elems = elements(4000, 9);
    for chunk in elems.chunks(400) {
        let mut cmd = redis::cmd("PFADD");
        cmd.arg("h");
        for e in chunk {
            cmd.arg(&e[..]);
        }
        let _: i64 = cmd.query(&mut m).unwrap();
        // the cache refresh travels too: the replica's header matches
        let _: i64 = q(&mut m, &["PFCOUNT", "h"]);
        let want = get(&mut m, "h");
        assert!(eventually(|| get(&mut r, "h") == want), "replica bytes");
    }
    let _: () = q(&mut m, &["PFMERGE", "m", "h", "none"]);
    let _: i64 = q(&mut m, &["PFADD", "s", "x"]);
    let _: i64 = q(&mut m, &["PFDEBUG", "TODENSE", "s"]);
    for k in ["m", "s"] {
        let want = get(&mut m, k);
        assert!(
            eventually(|| get(&mut r, k) == want),
            "replica bytes of {k}"
        );
    }
}
