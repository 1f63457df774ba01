//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis 7.0's dataset fingerprint
//! (`computeDatasetDigest` and `xorObjectDigest` in `debug.c`), computed
//! bit for bit so the datasets of Picket and of a real Redis can be
//! compared with one command each.
//!
//! Two primitives build everything, both over SHA1:
//! - *xor* (`d ^= SHA1(data)`) adds an element whose position must not
//!   matter: set members, hash pairs, sorted set pairs, keys of a db;
//! - *mix* (`d = SHA1(d ^ SHA1(data))`) adds an element whose position
//!   matters: list elements, a key before its value, a db id.
//!
//! Redis formats what it hashes from its logical value, not its encoding:
//! intset members and listpack integers are printed back in decimal
//! (the same bytes the client sent, since only canonical integers are
//! stored as integers), and a sorted set score is printed `%.17g` from the
//! double whether the set is a listpack or a skiplist. So Picket, which
//! keeps one representation per type, digests the same bytes.

use sha1_smol::Sha1;

use crate::db::{Db, Entry, Value, NO_EXPIRE};

/// A 20-byte SHA1-sized digest.
pub type Digest = [u8; 20];

/// Redis's `OBJ_*` type codes, hashed (big endian) before each value.
const OBJ_STRING: u32 = 0;
const OBJ_LIST: u32 = 1;
const OBJ_SET: u32 = 2;
const OBJ_ZSET: u32 = 3;
const OBJ_HASH: u32 = 4;

fn sha1(data: &[u8]) -> Digest {
    Sha1::from(data).digest().bytes()
}

/// `xorDigest`: `digest ^= SHA1(data)`; order independent.
pub fn xor_digest(digest: &mut Digest, data: &[u8]) {
    for (d, h) in digest.iter_mut().zip(sha1(data)) {
        *d ^= h;
    }
}

/// `mixDigest`: `digest = SHA1(digest ^ SHA1(data))`; order dependent.
pub fn mix_digest(digest: &mut Digest, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1(digest);
}

/// The digest of one pair (hash field/value, zset member/score). Redis
/// adds it with `xorDigest`, so the pair digest is itself hashed once
/// more before the xor; pairs may come in any order.
fn pair_digest(a: &[u8], b: &[u8]) -> Digest {
    let mut d = [0; 20];
    mix_digest(&mut d, a);
    mix_digest(&mut d, b);
    d
}

/// `xorObjectDigest`: mixes a value (type code, then its elements) into
/// `digest`, and xors in the `!!expire!!` marker when the key has a TTL
/// (the expire time itself is not part of the digest in Redis 7.0).
pub fn mix_value(digest: &mut Digest, e: &Entry) {
    let ty = match &e.value {
        Value::Str(_) => OBJ_STRING,
        Value::List(_) => OBJ_LIST,
        Value::Set(_) => OBJ_SET,
        Value::ZSet(_) => OBJ_ZSET,
        Value::Hash(_) => OBJ_HASH,
    };
    mix_digest(digest, &ty.to_be_bytes());
    match &e.value {
        Value::Str(s) => mix_digest(digest, s),
        Value::List(l) => l.iter().for_each(|x| mix_digest(digest, x)),
        Value::Set(s) => s.iter().for_each(|m| xor_digest(digest, m)),
        Value::ZSet(z) => {
            for (m, score) in &z.dict {
                let score = picket_common::num::fmt_g17(*score);
                xor_digest(digest, &pair_digest(m, score.as_bytes()));
            }
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                xor_digest(digest, &pair_digest(f, v));
            }
        }
    }
    if e.expire != NO_EXPIRE {
        xor_digest(digest, b"!!expire!!");
    }
}

/// DEBUG DIGEST-VALUE of one key: [`mix_value`] from zero, or zero when
/// the key is missing. Like Redis, logically expired keys still count.
pub fn value_digest(e: Option<&Entry>) -> Digest {
    let mut d = [0; 20];
    if let Some(e) = e {
        mix_value(&mut d, e);
    }
    d
}

/// `computeDatasetDigest`: for every non-empty db in order, mix in its id
/// (big endian u32), then `xorDigest` in each key's digest (the key
/// mixed, then its value). All zeros for an empty dataset. Like Redis,
/// logically expired keys not yet reclaimed still count.
pub fn dataset_digest(dbs: &[Db]) -> Digest {
    let mut fin = [0; 20];
    for (id, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        mix_digest(&mut fin, &(id as u32).to_be_bytes());
        for (k, e) in &db.dict {
            let mut d = [0; 20];
            mix_digest(&mut d, k);
            mix_value(&mut d, e);
            xor_digest(&mut fin, &d);
        }
    }
    fin
}

/// The 40 lowercase hex characters DEBUG replies with.
pub fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::zset::ZSet;
    use bytes::Bytes;

    // Golden values from redis-server 7.0.15 (DEBUG DIGEST-VALUE).
    #[test]
    fn string_value_matches_redis_7_0() {
        let e = Entry::new(Value::Str(b"b".to_vec()), 0);
        assert_eq!(
            hex(&value_digest(Some(&e))),
            "b78559cd22bce6e6df712eb99ce7f3b08e8f8f1f"
        );
    }

    #[test]
    fn zset_and_list_values_match_redis_7_0() {
        let mut z = ZSet::default();
        z.insert(Bytes::from_static(b"m"), 1.5);
        let e = Entry::new(Value::ZSet(Box::new(z)), 0);
        assert_eq!(
            hex(&value_digest(Some(&e))),
            "0b67afcf657d7aa53a5226bcca2f55ea7f2fff48"
        );
        let l = ["x", "y"].map(|s| Bytes::from_static(s.as_bytes()));
        let e = Entry::new(Value::List(Box::new(l.into_iter().collect())), 0);
        assert_eq!(
            hex(&value_digest(Some(&e))),
            "a3b14a34cfbd69f970cd30aff36fd797e07b4dbc"
        );
    }

    #[test]
    fn missing_key_and_empty_dataset_are_zero() {
        assert_eq!(hex(&value_digest(None)), "0".repeat(40));
        assert_eq!(
            hex(&dataset_digest(&[Db::default(), Db::default()])),
            "0".repeat(40)
        );
    }
}
