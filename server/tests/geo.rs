//! Geo commands against the real redis-server 7.0.15: thousands of seeded
//! random points (spread over the globe and packed around the poles'
//! limits, the antimeridian and duplicates that tie), random searches of
//! every kind compared reply byte for byte, and the AOF both servers wrote
//! for it (GEOADD as its ZADD, the STORE searches as sent).

mod common;
use common::*;

use std::path::{Path, PathBuf};

/// splitmix64: a fixed sequence, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

const LAT_MAX: f64 = 85.05112878;

/// Places where cells and the search's corrections are at their edges.
const HOTSPOTS: &[(f64, f64)] = &[
    (179.95, 0.0),
    (-179.95, 12.0),
    (0.0, 84.9),
    (30.0, -84.9),
    (13.36, 38.11),
    (0.0, 0.0),
    (-73.98, 40.75),
    (179.99, 70.0),
];

fn point(rng: &mut Rng) -> (f64, f64) {
    if rng.below(3) == 0 {
        return (rng.range(-180.0, 180.0), rng.range(-LAT_MAX, LAT_MAX));
    }
    let (lon, lat) = HOTSPOTS[rng.below(HOTSPOTS.len() as u64) as usize];
    let spread = [0.001, 0.05, 1.0, 5.0][rng.below(4) as usize];
    let lon = (lon + rng.range(-spread, spread)).clamp(-180.0, 180.0);
    let lat = (lat + rng.range(-spread, spread)).clamp(-LAT_MAX, LAT_MAX);
    (lon, lat)
}

fn aof_dir(dir: &Path) -> PathBuf {
    dir.join("appendonlydir")
}

/// The INCR files named by the manifest, concatenated.
fn incr_bytes(dir: &Path) -> Vec<u8> {
    let manifest =
        std::fs::read_to_string(aof_dir(dir).join("appendonly.aof.manifest")).unwrap_or_default();
    let mut out = Vec::new();
    for line in manifest.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        if parts.len() >= 6 && parts[5] == "i" {
            out.extend(std::fs::read(aof_dir(dir).join(parts[1])).unwrap_or_default());
        }
    }
    out
}

/// Sends one command to both servers; the replies must be the same bytes.
fn both(p: &mut Raw, r: &mut Raw, args: &[String]) -> String {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    let ours = p.call(&a);
    let theirs = r.call(&a);
    assert_eq!(ours, theirs, "{args:?}");
    ours
}

/// A random search command over `key` (or the STORE variants into `dst`).
fn search(rng: &mut Rng, key: &str, members: &[String]) -> Vec<String> {
    let (lon, lat) = point(rng);
    let member = members[rng.below(members.len() as u64) as usize].clone();
    let unit = rng.pick(&["m", "km", "ft", "mi", "KM"]);
    let meters = 10f64.powf(rng.range(0.0, 6.8));
    let per_unit = match unit {
        "m" => 1.0,
        "ft" => 0.3048,
        "mi" => 1609.34,
        _ => 1000.0,
    };
    let radius = format!("{}", (meters / per_unit * 1000.0).round() / 1000.0);
    let (w, h) = (
        format!("{:.3}", meters * rng.range(0.2, 3.0) / per_unit),
        format!("{:.3}", meters * rng.range(0.2, 3.0) / per_unit),
    );
    let s = |x: &str| x.to_string();
    let variant = rng.below(8);
    let mut v: Vec<String> = match variant {
        0 | 1 => {
            let mut v = vec![s("GEOSEARCH"), s(key)];
            v.extend(from(rng, lon, lat, &member));
            v.extend(by(rng, &radius, &w, &h, unit));
            v
        }
        2 => {
            let mut v = vec![s("GEOSEARCHSTORE"), s("dst"), s(key)];
            v.extend(from(rng, lon, lat, &member));
            v.extend(by(rng, &radius, &w, &h, unit));
            v
        }
        3 => vec![
            s(rng.pick(&["GEORADIUS", "GEORADIUS_RO"])),
            s(key),
            format!("{lon}"),
            format!("{lat}"),
            radius,
            s(unit),
        ],
        4 => vec![
            s(rng.pick(&["GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO"])),
            s(key),
            member,
            radius,
            s(unit),
        ],
        5 => vec![
            s("GEORADIUS"),
            s(key),
            format!("{lon}"),
            format!("{lat}"),
            radius,
            s(unit),
            s(rng.pick(&["STORE", "STOREDIST"])),
            s("dst"),
        ],
        _ => vec![
            s("GEORADIUSBYMEMBER"),
            s(key),
            member,
            radius,
            s(unit),
            s(rng.pick(&["STORE", "STOREDIST"])),
            s("dst"),
        ],
    };
    let stores = matches!(variant, 2 | 5 | 6);
    if rng.below(2) == 0 {
        v.push(s(rng.pick(&["ASC", "DESC"])));
    }
    if rng.below(2) == 0 {
        v.push(s("COUNT"));
        let most = if rng.below(2) == 0 { 5 } else { 200 };
        v.push((1 + rng.below(most)).to_string());
        if rng.below(4) == 0 {
            v.push(s("ANY"));
        }
    }
    if stores {
        if variant == 2 && rng.below(2) == 0 {
            v.push(s("STOREDIST"));
        }
    } else {
        for opt in ["WITHDIST", "WITHCOORD", "WITHHASH"] {
            if rng.below(2) == 0 {
                v.push(s(opt));
            }
        }
    }
    v
}

fn from(rng: &mut Rng, lon: f64, lat: f64, member: &str) -> Vec<String> {
    if rng.below(2) == 0 {
        vec!["FROMLONLAT".into(), format!("{lon}"), format!("{lat}")]
    } else {
        vec!["FROMMEMBER".into(), member.into()]
    }
}

fn by(rng: &mut Rng, radius: &str, w: &str, h: &str, unit: &str) -> Vec<String> {
    if rng.below(2) == 0 {
        vec!["BYRADIUS".into(), radius.into(), unit.into()]
    } else {
        vec!["BYBOX".into(), w.into(), h.into(), unit.into()]
    }
}

#[test]
fn random_points_and_searches_match_redis_and_its_aof() {
    let args = [
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ];
    let ps = Server::start(&args);
    let rs = Server::start_redis(&args);
    let (mut p, mut r) = (ps.raw(), rs.raw());
    let mut rng = Rng(0x6e0_5eed);
    let mut members: Vec<String> = Vec::new();
    // 3000 points in GEOADDs of up to 50, with random options; duplicates
    // of earlier positions make distance ties
    let mut placed: Vec<(f64, f64)> = Vec::new();
    while members.len() < 3000 {
        let mut cmd = vec!["GEOADD".to_string(), "g".to_string()];
        match rng.below(6) {
            0 => cmd.push("CH".into()),
            1 => cmd.push("NX".into()),
            2 => cmd.extend(["xx".to_string(), "ch".to_string()]),
            _ => {}
        }
        for _ in 0..1 + rng.below(50) {
            let (lon, lat) = if !placed.is_empty() && rng.below(5) == 0 {
                placed[rng.below(placed.len() as u64) as usize]
            } else {
                point(&mut rng)
            };
            placed.push((lon, lat));
            // some members are re-added elsewhere
            let name = if !members.is_empty() && rng.below(10) == 0 {
                members[rng.below(members.len() as u64) as usize].clone()
            } else {
                let n = format!("m{}", members.len());
                members.push(n.clone());
                n
            };
            cmd.extend([format!("{lon}"), format!("{lat}"), name]);
        }
        both(&mut p, &mut r, &cmd);
    }
    // a small set stays a listpack
    let mut small = vec!["GEOADD".to_string(), "small".to_string()];
    for i in 0..40 {
        let (lon, lat) = point(&mut rng);
        small.extend([format!("{lon}"), format!("{lat}"), format!("s{i}")]);
    }
    both(&mut p, &mut r, &small);
    let smalls: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
    let mut nonempty = 0;
    for i in 0..1500 {
        let (key, names) = if i % 5 == 0 {
            ("small", &smalls)
        } else {
            ("g", &members)
        };
        let cmd = search(&mut rng, key, names);
        let reply = both(&mut p, &mut r, &cmd);
        if reply.starts_with('*') && !reply.starts_with("*0") {
            nonempty += 1;
        }
        if cmd[0] == "GEOSEARCHSTORE" || cmd.iter().any(|a| a.starts_with("STORE")) {
            let a = ["ZRANGE", "dst", "0", "-1", "WITHSCORES"];
            let (x, y) = (p.call(&a), r.call(&a));
            assert_eq!(x, y, "after {cmd:?}");
        }
    }
    // the searches must have found things, or the test proves little
    assert!(nonempty > 300, "only {nonempty} non-empty replies");
    // positions, hashes and distances of every member
    for chunk in members.chunks(100) {
        for c in ["GEOPOS", "GEOHASH"] {
            let mut cmd = vec![c.to_string(), "g".to_string()];
            cmd.extend(chunk.iter().cloned());
            both(&mut p, &mut r, &cmd);
        }
        for pair in chunk.chunks(2) {
            if let [a, b] = pair {
                let unit = rng.pick(&["m", "km", "ft", "mi"]).to_string();
                let cmd = ["GEODIST", "g", a, b, &unit].map(String::from);
                both(&mut p, &mut r, &cmd);
            }
        }
    }
    // inside a transaction, GEOADD is still written as its ZADD
    for cmd in [
        &["MULTI"][..],
        &["GEOADD", "g", "CH", "1", "2", "m0", "3", "4", "tx"],
        &["GEORADIUS", "g", "1", "2", "500", "km", "STOREDIST", "dst"],
        &["GEOADD", "g", "NX", "1", "2", "m0"],
        &["EXEC"],
    ] {
        both(
            &mut p,
            &mut r,
            &cmd.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        );
    }
    let sync = ["SET", "end", "1"].map(String::from);
    both(&mut p, &mut r, &sync);
    let ours = incr_bytes(ps.dir.path());
    let theirs = incr_bytes(rs.dir.path());
    assert!(String::from_utf8_lossy(&theirs).contains("$4\r\nzadd\r\n"));
    assert!(ours == theirs, "the AOF streams differ");
}

#[test]
fn resp3_replies_carry_coordinates_as_doubles() {
    let ps = Server::start(&[]);
    let rs = Server::start_redis(&[]);
    let (mut p, mut r) = (ps.raw(), rs.raw());
    for c in [&mut p, &mut r] {
        c.call(&["HELLO", "3"]);
        c.call(&[
            "GEOADD",
            "k",
            "13.361389",
            "38.115556",
            "P",
            "15.087269",
            "37.502669",
            "C",
        ]);
    }
    let mut rng = Rng(7);
    for _ in 0..100 {
        let cmd = search(&mut rng, "k", &["P".to_string(), "C".to_string()]);
        both(&mut p, &mut r, &cmd);
    }
    let pos = both(
        &mut p,
        &mut r,
        &["GEOPOS", "k", "P", "nope"].map(String::from),
    );
    assert_eq!(
        pos,
        "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"
    );
}

#[test]
fn keyspace_events_match_redis() {
    let args = ["--notify-keyspace-events", "KEA"];
    let ps = Server::start(&args);
    let rs = Server::start_redis(&args);
    let mut events = Vec::new();
    for s in [&ps, &rs] {
        let mut sub = s.raw();
        sub.call(&["PSUBSCRIBE", "__keyevent@0__:*"]);
        let mut c = s.raw();
        c.call(&[
            "GEOADD",
            "k",
            "13.361389",
            "38.115556",
            "P",
            "15.087269",
            "37.502669",
            "C",
        ]);
        c.call(&["GEOADD", "k", "NX", "13.361389", "38.115556", "P"]);
        c.call(&["GEORADIUS", "k", "15", "37", "200", "km", "STORE", "d"]);
        c.call(&[
            "GEOSEARCHSTORE",
            "d2",
            "k",
            "FROMMEMBER",
            "P",
            "BYRADIUS",
            "1",
            "km",
        ]);
        c.call(&[
            "GEOSEARCHSTORE",
            "d",
            "k",
            "FROMMEMBER",
            "P",
            "BYRADIUS",
            "1",
            "km",
            "STOREDIST",
        ]);
        c.call(&[
            "GEOSEARCHSTORE",
            "d",
            "k",
            "FROMLONLAT",
            "0",
            "0",
            "BYRADIUS",
            "1",
            "km",
        ]);
        c.call(&["GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "d2"]);
        c.call(&["SET", "end", "1"]);
        let mut got = String::new();
        while !got.contains("\r\nend\r\n") {
            let more = sub.read_available(std::time::Duration::from_millis(200));
            assert!(!more.is_empty(), "no 'set end' event: {got}");
            got.push_str(&String::from_utf8_lossy(&more));
        }
        events.push(got);
    }
    assert_eq!(events[0], events[1]);
    assert!(events[0].contains(":georadiusstore\r\n"));
    assert!(events[0].contains(":geosearchstore\r\n"));
    assert!(events[0].contains(":zadd\r\n"));
}
