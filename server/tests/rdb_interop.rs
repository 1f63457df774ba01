//! RDB v10 interoperability with real redis-server 7.0.15: files Redis
//! writes decode to exactly the live data, and files picket writes load in
//! Redis with the same content and the expected compact encodings.

mod common;
use common::*;

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use indexmap::{IndexMap, IndexSet};
use picket_server::db::{Db, Entry, Value, NO_EXPIRE};
use picket_server::persistence::rdb::{read_rdb, write_rdb, RdbAux, RdbError, ReplAux};
use picket_server::types::key::Key;
use picket_server::types::zset::ZSet;

/// (db, key) → (type, canonical contents, expire in ms if any).
type Snapshot = BTreeMap<(u64, Vec<u8>), (String, Vec<Vec<u8>>, Option<i64>)>;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn zpair(m: &[u8], s: f64) -> Vec<u8> {
    [m, b"\0", &s.to_bits().to_le_bytes()].concat()
}

fn canon(v: &Value) -> (String, Vec<Vec<u8>>) {
    let items = match v {
        Value::Str(s) => vec![s.clone()],
        Value::List(l) => l.iter().map(|x| x.to_vec()).collect(),
        Value::Set(s) => {
            let mut v: Vec<_> = s.iter().map(|x| x.to_vec()).collect();
            v.sort();
            v
        }
        Value::Hash(h) => {
            let mut v: Vec<_> = h
                .iter()
                .map(|(a, b)| [&a[..], b"\0", &b[..]].concat())
                .collect();
            v.sort();
            v
        }
        Value::ZSet(z) => z.iter_all(false).map(|(m, s)| zpair(m, s)).collect(),
    };
    (v.type_name().to_string(), items)
}

/// Everything in the given databases of a live server.
fn fetch(c: &mut redis::Connection, dbs: &[u64]) -> Snapshot {
    let now = now_ms();
    let mut out = Snapshot::new();
    for &db in dbs {
        redis::cmd("SELECT").arg(db).query::<()>(c).unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(c).unwrap();
        for k in keys {
            let ty: String = redis::cmd("TYPE").arg(&k).query(c).unwrap();
            let items: Vec<Vec<u8>> = match ty.as_str() {
                "string" => vec![redis::cmd("GET").arg(&k).query(c).unwrap()],
                "list" => redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .unwrap(),
                "set" => {
                    let mut v: Vec<Vec<u8>> = redis::cmd("SMEMBERS").arg(&k).query(c).unwrap();
                    v.sort();
                    v
                }
                "hash" => {
                    let v: Vec<Vec<u8>> = redis::cmd("HGETALL").arg(&k).query(c).unwrap();
                    let mut v: Vec<Vec<u8>> = v
                        .chunks(2)
                        .map(|p| [&p[0][..], b"\0", &p[1][..]].concat())
                        .collect();
                    v.sort();
                    v
                }
                "zset" => {
                    let v: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query(c)
                        .unwrap();
                    v.chunks(2)
                        .map(|p| {
                            let s: f64 = String::from_utf8_lossy(&p[1]).parse().unwrap();
                            zpair(&p[0], s)
                        })
                        .collect()
                }
                other => panic!("unexpected type {other}"),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).unwrap();
            let exp = (pttl >= 0).then_some(now + pttl);
            out.insert((db, k), (ty, items, exp));
        }
    }
    out
}

fn snapshot_of_loaded(r: &picket_server::persistence::rdb::LoadedRdb) -> Snapshot {
    let mut out = Snapshot::new();
    for (&db, keys) in &r.dbs {
        for k in keys {
            let (ty, items) = canon(&k.value);
            out.insert((db, k.key.to_vec()), (ty, items, k.expire));
        }
    }
    out
}

fn snapshot_of_dbs(dbs: &[Db], now: i64) -> Snapshot {
    let mut out = Snapshot::new();
    for (i, db) in dbs.iter().enumerate() {
        for (k, e) in &db.dict {
            if e.expire != NO_EXPIRE && e.expire <= now {
                continue;
            }
            let (ty, items) = canon(&e.value);
            if items.is_empty() && ty != "string" {
                continue; // empty collections are not stored
            }
            let exp = (e.expire != NO_EXPIRE).then_some(e.expire);
            out.insert((i as u64, k.as_bytes().to_vec()), (ty, items, exp));
        }
    }
    out
}

/// Same keys, types and contents; TTL presence equal and deadlines within 5 s.
fn assert_same(a: &Snapshot, b: &Snapshot) {
    let names = |s: &Snapshot| -> Vec<(u64, String)> {
        s.keys()
            .map(|(d, k)| (*d, String::from_utf8_lossy(k).into_owned()))
            .collect()
    };
    assert_eq!(names(a), names(b), "key sets differ");
    for (k, (ty, items, exp)) in a {
        let (ty2, items2, exp2) = &b[k];
        let name = String::from_utf8_lossy(&k.1);
        assert_eq!(ty, ty2, "type of {name}");
        assert_eq!(items.len(), items2.len(), "length of {name}");
        assert!(items == items2, "contents of {name} differ");
        match (exp, exp2) {
            (None, None) => {}
            (Some(x), Some(y)) => assert!((x - y).abs() < 5000, "ttl of {name}: {x} vs {y}"),
            _ => panic!("ttl presence of {name}: {exp:?} vs {exp2:?}"),
        }
    }
}

fn run(c: &mut redis::Connection, args: &[&str]) {
    let _: redis::Value = q(c, args);
}

/// Fills a real server with every type in small and large encodings.
fn populate_redis(c: &mut redis::Connection) {
    run(c, &["DEBUG", "POPULATE", "1000"]);
    run(c, &["SET", "int", "300"]);
    run(c, &["SET", "neg", "-70000"]);
    run(c, &["SET", "i64", "12345678901234"]);
    run(c, &["SET", "empty", ""]);
    run(c, &["SET", "long", &"abcdefgh".repeat(200)]);
    let noisy: String = (0..300)
        .map(|i| ((i * 7919 % 94) as u8 + 33) as char)
        .collect();
    run(c, &["SET", "noisy", &noisy]);
    redis::cmd("SET")
        .arg(&b"bin\x00\xff"[..])
        .arg(&b"\x00\x01\x02\xfe"[..])
        .query::<()>(c)
        .unwrap();
    run(
        c,
        &[
            "RPUSH",
            "lsmall",
            "a",
            "1",
            "-2",
            "300",
            "70000",
            "4294967296",
            "-9223372036854775808",
        ],
    );
    for chunk in (0..1000).collect::<Vec<_>>().chunks(100) {
        let mut args = vec!["RPUSH".to_string(), "lbig".into()];
        args.extend(chunk.iter().map(|i| {
            if i % 3 == 0 {
                i.to_string()
            } else {
                format!("item-{i}")
            }
        }));
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(c, &a);
    }
    // PLAIN quicklist nodes: elements above the packed threshold.
    run(c, &["DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"]);
    run(
        c,
        &[
            "RPUSH",
            "lplain",
            "small",
            &"P".repeat(500),
            "x",
            &"Q".repeat(300),
        ],
    );
    run(
        c,
        &[
            "HSET", "hsmall", "f1", "v1", "n", "12", "neg", "-5000", "e", "",
        ],
    );
    for i in 0..600 {
        run(
            c,
            &["HSET", "hbig", &format!("field{i}"), &format!("value{i}")],
        );
    }
    run(c, &["HSET", "hlongval", "a", "1", "b", &"L".repeat(100)]);
    run(
        c,
        &[
            "SADD",
            "sints",
            "1",
            "-5",
            "70000",
            "9223372036854775807",
            "-40000",
        ],
    );
    for i in 0..700 {
        run(c, &["SADD", "sintsbig", &(i * 3).to_string()]);
        if i < 300 {
            run(c, &["SADD", "sstrbig", &format!("m{i}")]);
        }
    }
    run(c, &["SADD", "sstr", "a", "b", "c"]);
    run(
        c,
        &[
            "ZADD", "zsmall", "1", "a", "-2.5", "b", "inf", "c", "-inf", "d", "0.1", "e", "3", "f",
        ],
    );
    for i in 0..200 {
        run(
            c,
            &[
                "ZADD",
                "zbig",
                &format!("{}", i as f64 / 7.0 - 10.0),
                &format!("member{i}"),
            ],
        );
    }
    run(
        c,
        &["ZADD", "zlongmember", "1", &"M".repeat(80), "2", "short"],
    );
    run(c, &["EXPIRE", "int", "1000"]);
    run(c, &["PEXPIREAT", "lbig", "4102444800000"]);
    run(c, &["EXPIRE", "zsmall", "5000"]);
    run(c, &["EXPIRE", "key:5", "3000"]);
    run(c, &["SELECT", "1"]);
    run(c, &["SET", "db1key", "x"]);
    run(c, &["RPUSH", "db1list", "1", "2", "3"]);
    run(c, &["EXPIRE", "db1key", "100"]);
    run(c, &["SELECT", "5"]);
    run(c, &["HSET", "db5hash", "a", "b"]);
    run(c, &["ZADD", "db5z", "1", "one"]);
    run(c, &["SELECT", "0"]);
}

#[test]
fn redis_written_rdb_decodes_to_the_live_data() {
    let s = Server::start_redis(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    populate_redis(&mut c);
    // The encodings this test means to cover are really in use.
    for (k, enc) in [
        ("lsmall", "quicklist"),
        ("hsmall", "listpack"),
        ("hbig", "hashtable"),
        ("hlongval", "hashtable"),
        ("sints", "intset"),
        ("sintsbig", "hashtable"),
        ("zsmall", "listpack"),
        ("zbig", "skiplist"),
        ("zlongmember", "skiplist"),
    ] {
        let e: String = q(&mut c, &["OBJECT", "ENCODING", k]);
        assert_eq!(e, enc, "{k}");
    }
    run(&mut c, &["SAVE"]);
    let data = std::fs::read(s.dir.path().join("dump.rdb")).unwrap();
    let loaded = read_rdb(&data).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.version, 10);
    assert!(loaded
        .aux
        .iter()
        .any(|(k, v)| k == b"redis-ver" && v == b"7.0.15"));
    let live = fetch(&mut c, &[0, 1, 5]);
    assert_eq!(live.len(), 1000 + 20 + 4);
    assert_same(&snapshot_of_loaded(&loaded), &live);
}

#[test]
fn redis_written_rdb_corruption_and_truncation_are_detected() {
    let s = Server::start_redis(&["--enable-debug-command", "yes"]);
    let mut c = s.conn();
    populate_redis(&mut c);
    run(&mut c, &["SAVE"]);
    let data = std::fs::read(s.dir.path().join("dump.rdb")).unwrap();
    // Flip one byte inside a raw string value: only the checksum notices.
    let at = data
        .windows(9)
        .position(|w| w == b"value:123")
        .expect("populate value in file");
    let mut bad = data.clone();
    bad[at + 7] = b'9';
    assert!(matches!(read_rdb(&bad), Err(RdbError::BadChecksum { .. })));
    // With the checksum zeroed (disabled) the same file loads.
    let n = bad.len();
    bad[n - 8..].fill(0);
    assert!(read_rdb(&bad).is_ok());
    // Every truncation fails with an offset inside the truncated input.
    for cut in [
        9,
        30,
        data.len() / 3,
        data.len() / 2,
        data.len() - 9,
        data.len() - 1,
    ] {
        match read_rdb(&data[..cut]) {
            Err(RdbError::Truncated(off)) => assert!(off <= cut, "offset {off} > {cut}"),
            other => panic!("cut {cut}: {other:?}"),
        }
        let e = read_rdb(&data[..cut]).unwrap_err().to_string();
        assert!(e.starts_with("truncated at offset "), "{e}");
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn put(db: &mut Db, k: &[u8], v: Value, exp: i64) {
    let mut e = Entry::new(v, 0);
    e.expire = exp;
    db.dict.insert(Key::new(k), e);
}

/// Databases 0 and 3 with every type, small and large, and TTLs.
fn picket_dbs(now: i64) -> Vec<Db> {
    let mut dbs: Vec<Db> = (0..4).map(|_| Db::default()).collect();
    let d = &mut dbs[0];
    put(d, b"str", Value::Str(b"hello".to_vec()), NO_EXPIRE);
    put(d, b"int", Value::Str(b"-123".to_vec()), NO_EXPIRE);
    put(d, b"int32", Value::Str(b"2147483647".to_vec()), NO_EXPIRE);
    put(
        d,
        b"i64",
        Value::Str(b"-9223372036854775808".to_vec()),
        NO_EXPIRE,
    );
    put(d, b"notint", Value::Str(b"007".to_vec()), NO_EXPIRE);
    put(d, b"empty", Value::Str(Vec::new()), NO_EXPIRE);
    put(d, b"long", Value::Str(b"0123456789".repeat(500)), NO_EXPIRE);
    put(
        d,
        b"bin\x00\xff",
        Value::Str(vec![0, 255, 1, 254]),
        NO_EXPIRE,
    );
    put(d, b"ttl", Value::Str(b"soon".to_vec()), now + 600_000);
    put(d, b"expired", Value::Str(b"gone".to_vec()), now - 1000);
    put(d, &[b'k'; 100], Value::Str(b"long key".to_vec()), NO_EXPIRE);
    let l: VecDeque<Bytes> = ["a", "1", "-2", "300", "70000", "-9223372036854775808", ""]
        .iter()
        .map(|s| b(s))
        .collect();
    put(d, b"lsmall", Value::List(Box::new(l)), NO_EXPIRE);
    let l: VecDeque<Bytes> = (0..5000)
        .map(|i| {
            if i % 2 == 0 {
                b(&(i as i64 * 1001 - 77).to_string())
            } else {
                b(&format!("elem-{i}-{}", "z".repeat(i % 50)))
            }
        })
        .chain([b(&"H".repeat(20_000)), b(&"I".repeat(5000))])
        .collect();
    put(d, b"lbig", Value::List(Box::new(l)), now + 3_600_000);
    let s: IndexSet<Bytes> = ["1", "-5", "70000", "9223372036854775807", "-40000"]
        .iter()
        .map(|s| b(s))
        .collect();
    put(d, b"sints", Value::Set(Box::new(s)), NO_EXPIRE);
    let s: IndexSet<Bytes> = (0..600).map(|i| b(&(i * 3).to_string())).collect();
    put(d, b"sintsbig", Value::Set(Box::new(s)), NO_EXPIRE);
    let s: IndexSet<Bytes> = ["a", "b", "1"].iter().map(|s| b(s)).collect();
    put(d, b"smixed", Value::Set(Box::new(s)), NO_EXPIRE);
    let s: IndexSet<Bytes> = (0..1000).map(|i| b(&format!("m{i}"))).collect();
    put(d, b"sstrbig", Value::Set(Box::new(s)), NO_EXPIRE);
    let h: IndexMap<Bytes, Bytes> = [("f", "v"), ("n", "12"), ("neg", "-5000"), ("e", "")]
        .iter()
        .map(|(a, v)| (b(a), b(v)))
        .collect();
    put(d, b"hsmall", Value::Hash(Box::new(h)), NO_EXPIRE);
    let h: IndexMap<Bytes, Bytes> = (0..600)
        .map(|i| (b(&format!("field{i}")), b(&format!("value{i}"))))
        .collect();
    put(d, b"hbig", Value::Hash(Box::new(h)), NO_EXPIRE);
    let h: IndexMap<Bytes, Bytes> = [("a", "1".to_string()), ("b", "L".repeat(100))]
        .iter()
        .map(|(a, v)| (b(a), b(v)))
        .collect();
    put(d, b"hlongval", Value::Hash(Box::new(h)), now + 100_000);
    let mut z = ZSet::default();
    for (m, s) in [
        ("a", 1.0),
        ("b", -2.5),
        ("c", f64::INFINITY),
        ("d", f64::NEG_INFINITY),
        ("e", 0.1),
        ("f", 1e300),
        ("g", 123456789012.0),
        ("h", 0.0),
    ] {
        z.insert(b(m), s);
    }
    put(d, b"zsmall", Value::ZSet(Box::new(z)), NO_EXPIRE);
    let mut z = ZSet::default();
    for i in 0..200 {
        z.insert(b(&format!("member{i}")), i as f64 / 7.0 - 10.0);
    }
    z.skiplist = true;
    put(d, b"zbig", Value::ZSet(Box::new(z)), NO_EXPIRE);
    let mut z = ZSet::default();
    z.insert(b(&"M".repeat(80)), 1.0);
    z.insert(b("short"), 2.0);
    z.skiplist = true;
    put(d, b"zlongmember", Value::ZSet(Box::new(z)), NO_EXPIRE);
    // Empty collections are never written.
    put(d, b"emptylist", Value::List(Box::default()), NO_EXPIRE);
    let d = &mut dbs[3];
    put(d, b"db3", Value::Str(b"three".to_vec()), NO_EXPIRE);
    let l: VecDeque<Bytes> = (0..10).map(|i| b(&i.to_string())).collect();
    put(d, b"db3list", Value::List(Box::new(l)), now + 50_000);
    dbs
}

#[test]
fn picket_written_rdb_loads_in_real_redis() {
    let now = now_ms();
    let dbs = picket_dbs(now);
    let expect = snapshot_of_dbs(&dbs, now);
    assert!(!expect.contains_key(&(0, b"expired".to_vec())));
    for (compress, checksum) in [(true, true), (false, false)] {
        let dir = tempfile::tempdir().unwrap();
        let aux = RdbAux {
            ctime: now / 1000,
            used_mem: 1 << 20,
            repl: Some(ReplAux {
                stream_db: 0,
                repl_id: "0123456789abcdef0123456789abcdef01234567".into(),
                offset: 0,
            }),
            aof_base: false,
        };
        let data = write_rdb(&dbs, &aux, now, compress, checksum);
        let path = dir.path().join("dump.rdb");
        std::fs::write(&path, &data).unwrap();
        let check = std::process::Command::new("redis-check-rdb")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "redis-check-rdb: {}",
            String::from_utf8_lossy(&check.stdout)
        );
        let dirs = dir.path().display().to_string();
        let s = Server::start_redis(&[
            "--dir",
            &dirs,
            "--dbfilename",
            "dump.rdb",
            "--sanitize-dump-payload",
            "yes",
        ]);
        let mut c = s.conn();
        let live = fetch(&mut c, &[0, 1, 2, 3]);
        assert_same(&live, &expect);
        run(&mut c, &["SELECT", "0"]);
        for (k, enc) in [
            ("lsmall", "quicklist"),
            ("hsmall", "listpack"),
            ("hbig", "hashtable"),
            ("hlongval", "hashtable"),
            ("sints", "intset"),
            ("sintsbig", "hashtable"),
            ("zsmall", "listpack"),
            ("zbig", "skiplist"),
            ("zlongmember", "skiplist"),
            ("int", "int"),
        ] {
            let e: String = q(&mut c, &["OBJECT", "ENCODING", k]);
            assert_eq!(e, enc, "{k}");
        }
        // And our own reader agrees.
        let back = read_rdb(&data).unwrap();
        assert_same(&snapshot_of_loaded(&back), &expect);
    }
}

#[test]
fn write_read_round_trip_and_damage_detection() {
    let now = now_ms();
    let dbs = picket_dbs(now);
    let data = write_rdb(&dbs, &RdbAux::default(), now, true, true);
    let back = read_rdb(&data).unwrap();
    assert_same(&snapshot_of_loaded(&back), &snapshot_of_dbs(&dbs, now));
    let at = data.windows(5).position(|w| w == b"hello").unwrap();
    let mut bad = data.clone();
    bad[at] = b'j';
    let e = read_rdb(&bad).unwrap_err();
    assert!(e.to_string().starts_with("bad checksum"), "{e}");
    let e = read_rdb(&data[..data.len() - 3]).unwrap_err();
    assert_eq!(e, RdbError::Truncated(data.len() - 8));
    assert_eq!(
        e.to_string(),
        format!("truncated at offset {}", data.len() - 8)
    );
}
