//! The key type of the key space: keys up to 22 bytes live inline in the
//! map's bucket (no heap allocation), longer ones in a boxed slice. Most
//! real keys ("user:1000:profile", "key:000000123456") are short, so this
//! saves an allocation and 8 bytes of handle per key compared with `Bytes`
//! — the difference that keeps per-key memory close to Redis's.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use bytes::Bytes;

const INLINE: usize = 22;

/// A key-space key (binary safe).
#[derive(Clone)]
pub enum Key {
    /// Up to 22 bytes stored in place: (length, bytes).
    Inline(u8, [u8; INLINE]),
    /// Longer keys.
    Heap(Box<[u8]>),
}

impl Key {
    /// Copies bytes into a key.
    pub fn new(b: &[u8]) -> Key {
        if b.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..b.len()].copy_from_slice(b);
            Key::Inline(b.len() as u8, buf)
        } else {
            Key::Heap(b.into())
        }
    }
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(n, buf) => &buf[..*n as usize],
            Key::Heap(b) => b,
        }
    }
    /// A `Bytes` copy (for replies).
    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl Deref for Key {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    // Must hash exactly like `[u8]` so lookups by `&[u8]` find the key.
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_bytes().hash(h)
    }
}

impl PartialEq for Key {
    fn eq(&self, o: &Key) -> bool {
        self.as_bytes() == o.as_bytes()
    }
}
impl Eq for Key {}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl From<&[u8]> for Key {
    fn from(b: &[u8]) -> Key {
        Key::new(b)
    }
}
impl From<Bytes> for Key {
    fn from(b: Bytes) -> Key {
        Key::new(&b)
    }
}
impl From<&Bytes> for Key {
    fn from(b: &Bytes) -> Key {
        Key::new(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_inline_and_lookups_by_slice_work() {
        assert_eq!(std::mem::size_of::<Key>(), 24);
        let mut m: indexmap::IndexMap<Key, u32> = indexmap::IndexMap::new();
        m.insert(Key::new(b"short"), 1);
        m.insert(Key::new(&[7u8; 100]), 2);
        assert!(matches!(
            m.get_index(0).map(|(k, _)| k),
            Some(Key::Inline(..))
        ));
        assert_eq!(m.get(&b"short"[..]), Some(&1));
        assert_eq!(m.get(&[7u8; 100][..]), Some(&2));
        assert_eq!(m.get(&b"nope"[..]), None);
    }
}
