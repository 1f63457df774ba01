//! DEBUG DIGEST and DEBUG DIGEST-VALUE against Redis 7.0.15: the same
//! data set built in both servers must give the same digests, for every
//! type in its small and large encodings.

mod common;
use common::*;

use redis::Value as V;

const DEBUG: &[&str] = &["--enable-debug-command", "yes"];

/// Runs one command with binary-safe arguments.
fn cmd(c: &mut redis::Connection, args: &[&[u8]]) -> V {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("command name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| {
        panic!(
            "{:?}: {e}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        )
    })
}

/// Runs a command given as a list of owned arguments.
fn run(c: &mut redis::Connection, args: Vec<Vec<u8>>) {
    let refs: Vec<&[u8]> = args.iter().map(|a| &a[..]).collect();
    cmd(c, &refs);
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// A deterministic pseudo-random sequence (no seeds shared between runs
/// matter: both servers receive the same commands).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// The commands that build the data set: every type, small and large
/// encodings, integers stored as strings, binary bytes, odd scores, TTLs,
/// several databases.
fn script(expire_at_ms: u64) -> Vec<Vec<Vec<u8>>> {
    let mut s: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut rng = Lcg(42);
    let bin: Vec<u8> = vec![0, 0xff, b'\r', b'\n', 0x80, b' ', 0x7f, 0];
    let at = expire_at_ms.to_string();

    for db in ["0", "3", "15"] {
        s.push(args(&["SELECT", db]));
        // Strings: plain, integer-encoded, not-quite-integers, empty,
        // binary, long, modified in place.
        for (k, v) in [
            ("s:plain", "hello"),
            ("s:int", "12345"),
            ("s:neg", "-987654321"),
            ("s:big", "9223372036854775807"),
            ("s:lead0", "007"),
            ("s:float", "3.14"),
            ("s:empty", ""),
        ] {
            s.push(args(&["SET", k, v]));
        }
        s.push(vec![b"SET".to_vec(), b"s:bin".to_vec(), bin.clone()]);
        s.push(vec![b"SET".to_vec(), bin.clone(), b"binary key".to_vec()]);
        s.push(args(&["SET", "s:long", &"x".repeat(5000)]));
        s.push(args(&["SET", "s:app", "10"]));
        s.push(args(&["APPEND", "s:app", "20"]));
        s.push(args(&["INCRBY", "s:counter", "-42"]));

        // Lists: one quicklist node, several nodes.
        s.push(args(&["RPUSH", "l:small", "a", "1", "-2", "", "b"]));
        s.push(vec![b"LPUSH".to_vec(), b"l:small".to_vec(), bin.clone()]);
        let mut big = args(&["RPUSH", "l:big"]);
        for i in 0..700 {
            big.push(format!("e{}:{}", i, rng.next() % 1000).into_bytes());
        }
        s.push(big);
        s.push(args(&["LSET", "l:big", "10", "changed"]));
        s.push(args(&["RPUSH", "l:order1", "x", "y"]));
        s.push(args(&["RPUSH", "l:order2", "y", "x"]));

        // Sets: intset, small and large hashtable, an intset grown past
        // set-max-intset-entries.
        s.push(args(&["SADD", "set:ints", "1", "2", "3", "-5", "100000"]));
        s.push(args(&["SADD", "set:small", "a", "b", "12", "c"]));
        s.push(vec![b"SADD".to_vec(), b"set:small".to_vec(), bin.clone()]);
        let mut big = args(&["SADD", "set:big"]);
        for i in 0..600 {
            big.push(format!("m{}", rng.next() % 100_000 + i).into_bytes());
        }
        s.push(big);
        let mut ints = args(&["SADD", "set:manyints"]);
        for i in 0..700 {
            ints.push((i * 3 - 1000).to_string().into_bytes());
        }
        s.push(ints);
        s.push(args(&["SREM", "set:manyints", "-1000", "2"]));

        // Sorted sets: listpack and skiplist, with negative, infinite,
        // fractional, huge, tiny and negative-zero scores.
        s.push(args(&[
            "ZADD",
            "z:small",
            "1.5",
            "a",
            "-2",
            "b",
            "inf",
            "c",
            "-inf",
            "d",
            "0.1",
            "e",
            "1e300",
            "f",
            "3",
            "12",
            "-0",
            "g",
            "5e-324",
            "h",
            "0.30000000000000004",
            "i",
        ]));
        s.push(vec![
            b"ZADD".to_vec(),
            b"z:small".to_vec(),
            b"2.5".to_vec(),
            bin.clone(),
        ]);
        s.push(args(&["ZINCRBY", "z:small", "0.2", "e"]));
        let mut big = args(&["ZADD", "z:big"]);
        for i in 0..300 {
            let score = (rng.next() as f64 - 1e9) / 7.0;
            big.push(format!("{score}").into_bytes());
            big.push(format!("member:{i}").into_bytes());
        }
        big.extend(args(&["-inf", "lowest", "inf", "highest", "-0", "zero"]));
        s.push(big);
        s.push(args(&["ZINCRBY", "z:big", "1e-10", "member:7"]));
        s.push(args(&["ZADD", "z:ints", "1", "1", "2", "2", "-3", "-3"]));

        // Hashes: listpack and hashtable, integer and binary fields/values.
        s.push(args(&[
            "HSET", "h:small", "f1", "v1", "n", "123", "-7", "x", "empty", "",
        ]));
        s.push(vec![
            b"HSET".to_vec(),
            b"h:small".to_vec(),
            bin.clone(),
            bin.clone(),
        ]);
        s.push(args(&["HINCRBY", "h:small", "counter", "5"]));
        s.push(args(&["HINCRBYFLOAT", "h:small", "fl", "1.25"]));
        let mut big = args(&["HSET", "h:big"]);
        for i in 0..600 {
            big.push(format!("field:{i}").into_bytes());
            big.push(format!("{}", rng.next()).into_bytes());
        }
        s.push(big);
        s.push(args(&["HSET", "h:bigvalue", "f", &"v".repeat(100)]));
        s.push(args(&["HDEL", "h:big", "field:3"]));

        // TTLs: the same absolute deadline on both sides.
        for k in ["s:plain", "l:small", "set:ints", "z:big", "h:small"] {
            s.push(args(&["PEXPIREAT", k, &at]));
        }
        s.push(args(&["SET", "s:ttl", "v", "PXAT", &at]));
        s.push(args(&["SET", "s:persisted", "v", "PXAT", &at]));
        s.push(args(&["PERSIST", "s:persisted"]));
    }
    // Databases differ, so moving a key between them shows.
    s.push(args(&["SELECT", "3"]));
    s.push(args(&["SET", "only:in:3", "1"]));
    s.push(args(&["SELECT", "15"]));
    s.push(args(&["DEL", "s:plain"]));
    s
}

fn digest(c: &mut redis::Connection) -> String {
    q(c, &["DEBUG", "DIGEST"])
}

fn digest_values(c: &mut redis::Connection, keys: &[Vec<u8>]) -> Vec<String> {
    let mut a: Vec<&[u8]> = vec![b"DEBUG", b"DIGEST-VALUE"];
    a.extend(keys.iter().map(|k| &k[..]));
    match cmd(c, &a) {
        V::Array(items) => items
            .into_iter()
            .map(|v| match v {
                V::SimpleString(s) => s,
                other => panic!("DIGEST-VALUE item is not a status: {other:?}"),
            })
            .collect(),
        other => panic!("DIGEST-VALUE is not an array: {other:?}"),
    }
}

fn all_keys(c: &mut redis::Connection) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = q(c, &["KEYS", "*"]);
    keys.sort();
    keys
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64
}

#[test]
fn every_type_and_encoding_digests_like_redis() {
    let ours = Server::start(DEBUG);
    let theirs = Server::start_redis(DEBUG);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let script = script(now_ms() + 3_600_000);
    for c in &script {
        run(&mut a, c.clone());
        run(&mut b, c.clone());
    }

    // The data set really covers both encodings of each type in Redis.
    q::<()>(&mut b, &["SELECT", "0"]);
    for (k, enc) in [
        ("s:int", "int"),
        ("s:plain", "embstr"),
        ("s:long", "raw"),
        // 7.0 lists are always quicklists (one node or several).
        ("l:small", "quicklist"),
        ("l:big", "quicklist"),
        ("set:ints", "intset"),
        ("set:small", "hashtable"),
        ("set:manyints", "hashtable"),
        ("z:small", "listpack"),
        ("z:big", "skiplist"),
        ("h:small", "listpack"),
        ("h:big", "hashtable"),
        ("h:bigvalue", "hashtable"),
    ] {
        let got: String = q(&mut b, &["OBJECT", "ENCODING", k]);
        assert_eq!(got, enc, "Redis encoding of {k}");
    }

    for db in ["0", "3", "15"] {
        q::<()>(&mut a, &["SELECT", db]);
        q::<()>(&mut b, &["SELECT", db]);
        let keys = all_keys(&mut b);
        assert_eq!(all_keys(&mut a), keys, "db {db}: same keys");
        let mut probe = keys.clone();
        probe.push(b"no:such:key".to_vec());
        let (da, db_) = (digest_values(&mut a, &probe), digest_values(&mut b, &probe));
        for (i, k) in probe.iter().enumerate() {
            assert_eq!(
                da[i],
                db_[i],
                "db {db}: DIGEST-VALUE of {:?}",
                String::from_utf8_lossy(k)
            );
        }
        assert_eq!(db_.last().map(String::as_str), Some(&*"0".repeat(40)));
    }
    let d = digest(&mut b);
    assert_ne!(d, "0".repeat(40));
    assert_eq!(digest(&mut a), d, "DEBUG DIGEST of the whole data set");
}

#[test]
fn order_matters_for_lists_but_not_for_sets_and_hashes() {
    let s = Server::start(DEBUG);
    let mut c = s.conn();
    q::<()>(&mut c, &["RPUSH", "l1", "x", "y"]);
    q::<()>(&mut c, &["RPUSH", "l2", "y", "x"]);
    q::<()>(&mut c, &["SADD", "s1", "x", "y"]);
    q::<()>(&mut c, &["SADD", "s2", "y", "x"]);
    q::<()>(&mut c, &["HSET", "h1", "a", "1", "b", "2"]);
    q::<()>(&mut c, &["HSET", "h2", "b", "2", "a", "1"]);
    let d = digest_values(&mut c, &args(&["l1", "l2", "s1", "s2", "h1", "h2"]));
    assert_ne!(d[0], d[1]);
    assert_eq!(d[2], d[3]);
    assert_eq!(d[4], d[5]);
}

#[test]
fn moving_a_key_to_another_db_changes_the_digest() {
    let s = Server::start(DEBUG);
    let mut c = s.conn();
    q::<()>(&mut c, &["SET", "k", "v"]);
    let before = digest(&mut c);
    q::<()>(&mut c, &["MOVE", "k", "1"]);
    assert_ne!(digest(&mut c), before);
}

#[test]
fn a_ttl_changes_the_value_digest_but_not_its_deadline() {
    let ours = Server::start(DEBUG);
    let theirs = Server::start_redis(DEBUG);
    let at = (now_ms() + 3_600_000).to_string();
    let later = (now_ms() + 7_200_000).to_string();
    for s in [&ours, &theirs] {
        let mut c = s.conn();
        q::<()>(&mut c, &["SET", "k", "v"]);
        let plain = digest_values(&mut c, &args(&["k"]));
        q::<()>(&mut c, &["PEXPIREAT", "k", &at]);
        let with_ttl = digest_values(&mut c, &args(&["k"]));
        assert_ne!(plain, with_ttl);
        q::<()>(&mut c, &["PEXPIREAT", "k", &later]);
        assert_eq!(digest_values(&mut c, &args(&["k"])), with_ttl);
    }
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    assert_eq!(
        digest_values(&mut a, &args(&["k"])),
        digest_values(&mut b, &args(&["k"]))
    );
    assert_eq!(digest(&mut a), digest(&mut b));
}

#[test]
fn empty_dataset_digest_is_forty_zeros_like_redis() {
    let ours = Server::start(DEBUG);
    let theirs = Server::start_redis(DEBUG);
    for s in [&ours, &theirs] {
        let mut c = s.conn();
        assert_eq!(digest(&mut c), "0".repeat(40));
        q::<()>(&mut c, &["SET", "k", "v"]);
        assert_ne!(digest(&mut c), "0".repeat(40));
        q::<()>(&mut c, &["FLUSHALL"]);
        assert_eq!(digest(&mut c), "0".repeat(40));
        assert_eq!(digest_values(&mut c, &[]), Vec::<String>::new());
        assert_eq!(digest_values(&mut c, &args(&["k"])), vec!["0".repeat(40)]);
    }
}

#[test]
fn digest_with_arguments_is_rejected_like_redis() {
    let ours = Server::start(DEBUG);
    let theirs = Server::start_redis(DEBUG);
    let (mut a, mut b) = (ours.conn(), theirs.conn());
    let args = ["DEBUG", "DIGEST", "extra"];
    assert_eq!(qerr(&mut a, &args), qerr(&mut b, &args));
}
