//! Geo commands, following Redis 7.0's `geo.c`: a geo set is a sorted set
//! whose scores are 52-bit interleaved geohashes ([`crate::types::geohash`]).
//! GEOADD is ZADD with computed scores (and is propagated as that ZADD);
//! searches scan the centre + 8 neighbour cells in Redis's order, filter by
//! exact distance, and sort as Redis does (a stable sort for a full sort,
//! Redis's `pqsort` when COUNT returns fewer), so the same members come
//! back in the same order, ties included.

use bytes::Bytes;
use picket_common::resp::Frame;

use super::flags::*;
use super::zsets::{parse_score, read_zset, store_zset, zadd_generic};
use super::{is, not_float, syntax_err, Cmd, CmdResult, Ctx};
use crate::cmd;
use crate::db::{Entry, Value};
use crate::types::geohash::{self as gh, Shape, ShapeKind};
use crate::types::zset::{ScoreRange, ZSet};

/// The geo rows of the command table.
pub static COMMANDS: &[Cmd] = &[
    cmd!("geoadd", -5, WRITE | DENYOOM, 1, 1, 1, "geo", geoadd),
    cmd!("geodist", -4, READONLY, 1, 1, 1, "geo", geodist),
    cmd!("geohash", -2, READONLY, 1, 1, 1, "geo", geohash),
    cmd!("geopos", -2, READONLY, 1, 1, 1, "geo", geopos),
    cmd!(
        "georadius",
        -6,
        WRITE | DENYOOM,
        1,
        1,
        1,
        "geo",
        georadius,
        getkeys = georadius_keys
    ),
    cmd!(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM,
        1,
        1,
        1,
        "geo",
        georadiusbymember,
        getkeys = georadiusbymember_keys
    ),
    cmd!("georadius_ro", -6, READONLY, 1, 1, 1, "geo", georadius_ro),
    cmd!(
        "georadiusbymember_ro",
        -5,
        READONLY,
        1,
        1,
        1,
        "geo",
        georadiusbymember_ro
    ),
    cmd!("geosearch", -7, READONLY, 1, 1, 1, "geo", geosearch),
    cmd!(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        1,
        2,
        1,
        "geo",
        geosearchstore
    ),
];

// ---------------------------------------------------------------------------
// Key positions: the source, then the keys after STORE and STOREDIST (the
// key specs' keyword searches, starting at `from`).

fn store_keys_from(a: &[Bytes], from: usize) -> Vec<usize> {
    let mut v = vec![1];
    for kw in ["store", "storedist"] {
        if let Some(i) = (from..a.len().saturating_sub(1)).find(|&i| is(&a[i], kw)) {
            v.push(i + 1);
        }
    }
    v
}

fn georadius_keys(a: &[Bytes]) -> Vec<usize> {
    store_keys_from(a, 6)
}

fn georadiusbymember_keys(a: &[Bytes]) -> Vec<usize> {
    store_keys_from(a, 5)
}

// ---------------------------------------------------------------------------
// Argument helpers.

/// `extractLongLatOrReply`.
fn parse_lonlat(lon: &[u8], lat: &[u8]) -> Result<[f64; 2], Frame> {
    let lon = parse_score(lon).ok_or_else(not_float)?;
    let lat = parse_score(lat).ok_or_else(not_float)?;
    if !(gh::LONG_MIN..=gh::LONG_MAX).contains(&lon) || !(gh::LAT_MIN..=gh::LAT_MAX).contains(&lat)
    {
        return Err(Frame::err(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok([lon, lat])
}

/// `extractUnitOrReply`: meters per unit.
fn parse_unit(u: &[u8]) -> Result<f64, Frame> {
    if is(u, "m") {
        Ok(1.0)
    } else if is(u, "km") {
        Ok(1000.0)
    } else if is(u, "ft") {
        Ok(0.3048)
    } else if is(u, "mi") {
        Ok(1609.34)
    } else {
        Err(Frame::err(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

/// `extractDistanceOrReply`: (radius, meters per unit).
fn parse_distance(r: &[u8], unit: &[u8]) -> Result<(f64, f64), Frame> {
    let r = parse_score(r).ok_or_else(|| Frame::err("ERR need numeric radius"))?;
    if r < 0.0 {
        return Err(Frame::err("ERR radius cannot be negative"));
    }
    Ok((r, parse_unit(unit)?))
}

/// `extractBoxOrReply`: (width, height, meters per unit).
fn parse_box(w: &[u8], h: &[u8], unit: &[u8]) -> Result<(f64, f64, f64), Frame> {
    let w = parse_score(w).ok_or_else(|| Frame::err("ERR need numeric width"))?;
    let h = parse_score(h).ok_or_else(|| Frame::err("ERR need numeric height"))?;
    if h < 0.0 || w < 0.0 {
        return Err(Frame::err("ERR height or width cannot be negative"));
    }
    Ok((w, h, parse_unit(unit)?))
}

/// `addReplyDoubleDistance`: `%.4f`.
fn distance_reply(d: f64) -> Frame {
    Frame::Bulk(Bytes::from(format!("{d:.4}")))
}

/// `addReplyHumanLongDouble`: the coordinate widened to long double,
/// `%.17Lf` without trailing zeros, a double in RESP3.
fn coord_reply(d: f64) -> Frame {
    Frame::DoubleText(crate::longdouble::human(d))
}

/// The sorted set at a position found by one `lookupKeyRead`.
fn zset_at<'c>(ctx: &'c Ctx, idx: Option<usize>) -> Option<&'c ZSet> {
    let db = ctx.client.db;
    match ctx.st.dbs[db].dict.get_index(idx?) {
        Some((
            _,
            Entry {
                value: Value::ZSet(z),
                ..
            },
        )) => Some(z),
        _ => None,
    }
}

/// `lookupKeyRead` + `checkType`: the key's position, None when missing.
fn lookup_geo(ctx: &mut Ctx, key: &[u8]) -> Result<Option<usize>, Frame> {
    let idx = ctx.index_read(key);
    if idx.is_some() && zset_at(ctx, idx).is_none() {
        return Err(super::wrongtype());
    }
    Ok(idx)
}

// ---------------------------------------------------------------------------
// GEOADD / GEODIST / GEOHASH / GEOPOS.

/// GEOADD key [NX|XX] [CH] lon lat member ...: runs (and propagates) as
/// `ZADD key [options] score member ...`, as Redis rewrites it.
fn geoadd(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut idx = 2;
    while idx < a.len() {
        if is(&a[idx], "nx") {
            nx = true;
        } else if is(&a[idx], "xx") {
            xx = true;
        } else if !is(&a[idx], "ch") {
            break;
        }
        idx += 1;
    }
    if !(a.len() - idx).is_multiple_of(3) || (xx && nx) {
        return Err(syntax_err());
    }
    let mut argv: Vec<Bytes> = Vec::with_capacity(idx + (a.len() - idx) / 3 * 2);
    argv.push(Bytes::from_static(b"zadd"));
    argv.extend(a[1..idx].iter().cloned());
    for t in a[idx..].chunks(3) {
        let [lon, lat] = parse_lonlat(&t[0], &t[1])?;
        let score = gh::score_of_point(lon, lat).unwrap_or(0);
        argv.push(Bytes::from(score.to_string()));
        argv.push(t[2].clone());
    }
    let dirty = ctx.st.dirty;
    let reply = zadd_generic(ctx, &argv, false);
    if ctx.st.dirty > dirty && ctx.propagating() {
        ctx.propagate_as(vec![argv]);
    }
    reply
}

/// GEODIST key member1 member2 [unit].
fn geodist(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let to_meter = match a.len() {
        5 => parse_unit(&a[4])?,
        n if n > 5 => return Err(syntax_err()),
        _ => 1.0,
    };
    let Some(z) = read_zset(ctx, &a[1])? else {
        return Ok(Frame::Null);
    };
    let (Some(s1), Some(s2)) = (z.score(&a[2]), z.score(&a[3])) else {
        return Ok(Frame::Null);
    };
    let [x1, y1] = gh::point_of_score(s1);
    let [x2, y2] = gh::point_of_score(s2);
    Ok(distance_reply(gh::distance(x1, y1, x2, y2) / to_meter))
}

/// GEOHASH key member ...: 11-character standard geohashes.
fn geohash(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let z = read_zset(ctx, &a[1])?;
    Ok(Frame::Array(
        a[2..]
            .iter()
            .map(|m| match z.as_ref().and_then(|z| z.score(m)) {
                Some(s) => Frame::Bulk(Bytes::copy_from_slice(&gh::geohash_string(s))),
                None => Frame::Null,
            })
            .collect(),
    ))
}

/// GEOPOS key member ...: decoded positions.
fn geopos(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let z = read_zset(ctx, &a[1])?;
    Ok(Frame::Array(
        a[2..]
            .iter()
            .map(|m| match z.as_ref().and_then(|z| z.score(m)) {
                Some(s) => {
                    let [x, y] = gh::point_of_score(s);
                    Frame::Array(vec![coord_reply(x), coord_reply(y)])
                }
                None => Frame::NullArray,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------
// The searches (`georadiusGeneric`).

/// Which command is searching.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// GEORADIUS(_RO): a centre from arguments 2 and 3.
    Coords,
    /// GEORADIUSBYMEMBER(_RO): a centre from a member.
    Member,
    /// GEOSEARCH: FROM*/BY* options.
    Search,
    /// GEOSEARCHSTORE: GEOSEARCH storing into argument 1.
    SearchStore,
}

/// A candidate (`geoPoint`).
struct Point {
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
    member: Bytes,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// `membersOfAllNeighbors`: the points of the nine cells inside the shape,
/// in scan order; with `limit` (ANY) stops once that many were found.
fn points_in_shape(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = gh::areas_for_shape(shape);
    let mut out: Vec<Point> = Vec::new();
    let full = |out: &Vec<Point>| limit > 0 && out.len() >= limit;
    let mut last = 0usize;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // huge radii make neighbours repeat: skip a cell equal to the one
        // processed last (Redis's `last_processed`, which is never 0 here)
        if last != 0 && *cell == cells[last] {
            continue;
        }
        if full(&out) {
            break;
        }
        let min = cell.align52();
        // the next cell at this step starts past this one
        let max = gh::Cell {
            bits: cell.bits.wrapping_add(1),
            step: cell.step,
        }
        .align52();
        let range = ScoreRange {
            min: min as f64,
            minex: false,
            max: max as f64,
            maxex: true,
        };
        for (m, score) in z.iter_score(&range, false) {
            let [lon, lat] = gh::point_of_score(score);
            if let Some(dist) = gh::distance_if_within(shape, lon, lat) {
                out.push(Point {
                    lon,
                    lat,
                    dist,
                    score,
                    member: m.clone(),
                });
            }
            if full(&out) {
                break;
            }
        }
        last = i;
    }
    out
}

fn georadius_generic(
    ctx: &mut Ctx,
    a: &[Bytes],
    src: usize,
    v: Variant,
    nostore: bool,
) -> CmdResult {
    let search = matches!(v, Variant::Search | Variant::SearchStore);
    let idx = lookup_geo(ctx, &a[src])?;
    let exists = idx.is_some();
    let mut storekey: Option<Bytes> = None;
    let mut storedist = false;
    let mut xy = [0.0f64; 2];
    let mut conversion = 0.0;
    let mut kind = ShapeKind::Circle(0.0);
    let base = match v {
        Variant::Coords => {
            xy = parse_lonlat(&a[2], &a[3])?;
            let (r, c) = parse_distance(&a[4], &a[5])?;
            kind = ShapeKind::Circle(r);
            conversion = c;
            6
        }
        Variant::Member if !exists => 5,
        Variant::Member => {
            let score = zset_at(ctx, idx).and_then(|z| z.score(&a[2]));
            let Some(score) = score else {
                return Err(Frame::err("ERR could not decode requested zset member"));
            };
            xy = gh::point_of_score(score);
            let (r, c) = parse_distance(&a[3], &a[4])?;
            kind = ShapeKind::Circle(r);
            conversion = c;
            5
        }
        Variant::Search => 2,
        Variant::SearchStore => {
            storekey = Some(a[1].clone());
            3
        }
    };
    let (mut withdist, mut withhash, mut withcoord) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let rest = &a[base.min(a.len())..];
    let remaining = rest.len();
    let mut i = 0;
    while i < remaining {
        let arg = &rest[i];
        if is(arg, "withdist") {
            withdist = true;
        } else if is(arg, "withhash") {
            withhash = true;
        } else if is(arg, "withcoord") {
            withcoord = true;
        } else if is(arg, "any") {
            any = true;
        } else if is(arg, "asc") {
            sort = Sort::Asc;
        } else if is(arg, "desc") {
            sort = Sort::Desc;
        } else if is(arg, "count") && i + 1 < remaining {
            count = super::arg_i64(&rest[i + 1])?;
            if count <= 0 {
                return Err(Frame::err("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if is(arg, "store") && i + 1 < remaining && !nostore && !search {
            storekey = Some(rest[i + 1].clone());
            storedist = false;
            i += 1;
        } else if is(arg, "storedist") && i + 1 < remaining && !nostore && !search {
            storekey = Some(rest[i + 1].clone());
            storedist = true;
            i += 1;
        } else if is(arg, "storedist") && v == Variant::SearchStore {
            storedist = true;
        } else if is(arg, "frommember") && i + 1 < remaining && search && !fromloc {
            if exists {
                let score = zset_at(ctx, idx).and_then(|z| z.score(&rest[i + 1]));
                let Some(score) = score else {
                    return Err(Frame::err("ERR could not decode requested zset member"));
                };
                xy = gh::point_of_score(score);
            }
            frommember = true;
            i += 1;
        } else if is(arg, "fromlonlat") && i + 2 < remaining && search && !frommember {
            xy = parse_lonlat(&rest[i + 1], &rest[i + 2])?;
            fromloc = true;
            i += 2;
        } else if is(arg, "byradius") && i + 2 < remaining && search && !bybox {
            let (r, c) = parse_distance(&rest[i + 1], &rest[i + 2])?;
            kind = ShapeKind::Circle(r);
            conversion = c;
            byradius = true;
            i += 2;
        } else if is(arg, "bybox") && i + 3 < remaining && search && !byradius {
            let (w, h, c) = parse_box(&rest[i + 1], &rest[i + 2], &rest[i + 3])?;
            kind = ShapeKind::Rect(w, h);
            conversion = c;
            bybox = true;
            i += 3;
        } else {
            return Err(syntax_err());
        }
        i += 1;
    }
    if storekey.is_some() && (withdist || withhash || withcoord) {
        return Err(Frame::err(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if v == Variant::SearchStore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    let name = String::from_utf8_lossy(&a[0]);
    if search && !(frommember || fromloc) {
        return Err(Frame::err(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if search && !(byradius || bybox) {
        return Err(Frame::err(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(Frame::err("ERR the ANY argument requires COUNT argument"));
    }
    let event = if search {
        "geosearchstore"
    } else {
        "georadiusstore"
    };
    let Some(z) = zset_at(ctx, idx) else {
        return Ok(match storekey {
            Some(dst) => store_zset(ctx, &dst, ZSet::default(), event),
            None => Frame::Array(vec![]),
        });
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        xy,
        conversion,
        kind,
    };
    let limit = if any { count as usize } else { 0 };
    let mut points = points_in_shape(z, &shape, limit);
    if points.is_empty() && storekey.is_none() {
        return Ok(Frame::Array(vec![]));
    }
    let total = points.len();
    let returned = if count == 0 || (total as i64) < count {
        total
    } else {
        count as usize
    };
    if sort != Sort::None {
        let asc = |p: &Point, q: &Point| -> i32 {
            if p.dist > q.dist {
                1
            } else if p.dist == q.dist {
                0
            } else {
                -1
            }
        };
        let desc = |p: &Point, q: &Point| -asc(p, q);
        let cmp: &dyn Fn(&Point, &Point) -> i32 = if sort == Sort::Asc { &asc } else { &desc };
        if returned == total {
            // glibc's qsort is a merge sort: stable
            points.sort_by(|p, q| cmp(p, q).cmp(&0));
        } else {
            gh::pqsort(&mut points, cmp, 0, returned - 1);
        }
    }
    points.truncate(returned);
    match storekey {
        None => {
            let options = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
            Ok(Frame::Array(
                points
                    .into_iter()
                    .map(|p| {
                        if options == 0 {
                            return Frame::Bulk(p.member);
                        }
                        let mut item = vec![Frame::Bulk(p.member)];
                        if withdist {
                            item.push(distance_reply(p.dist / conversion));
                        }
                        if withhash {
                            item.push(Frame::Integer(gh::c_i64(p.score)));
                        }
                        if withcoord {
                            item.push(Frame::Array(vec![coord_reply(p.lon), coord_reply(p.lat)]));
                        }
                        Frame::Array(item)
                    })
                    .collect(),
            ))
        }
        Some(dst) => {
            let mut out = ZSet {
                skiplist: true,
                ..Default::default()
            };
            for p in points {
                let score = if storedist {
                    p.dist / conversion
                } else {
                    p.score
                };
                out.insert(p.member, score);
            }
            Ok(store_zset(ctx, &dst, out, event))
        }
    }
}

fn georadius(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 1, Variant::Coords, false)
}

fn georadiusbymember(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 1, Variant::Member, false)
}

fn georadius_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 1, Variant::Coords, true)
}

fn georadiusbymember_ro(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 1, Variant::Member, true)
}

fn geosearch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 1, Variant::Search, false)
}

fn geosearchstore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    georadius_generic(ctx, a, 2, Variant::SearchStore, false)
}
