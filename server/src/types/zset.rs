//! The sorted set: members ordered by (score, member bytes) as Redis's
//! skiplist orders them, with a member → score map for O(1) ZSCORE.
//!
//! The ordered part is a `BTreeSet`, so rank queries walk the tree (O(n)
//! worst case) where Redis's skiplist spans give O(log n); range queries by
//! score or lex are O(log n + m) as in Redis.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::ops::Bound;

use bytes::Bytes;
use indexmap::IndexMap;

/// A score with a total order (NaN never enters a sorted set).
#[derive(Debug, Clone, Copy)]
pub struct Score(pub f64);

impl PartialEq for Score {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Score {}
impl PartialOrd for Score {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Score {
    fn cmp(&self, o: &Self) -> Ordering {
        self.0.partial_cmp(&o.0).unwrap_or(Ordering::Equal)
    }
}

/// A sorted set.
#[derive(Debug, Clone, Default)]
pub struct ZSet {
    /// member → score, in insertion order (ZSCAN, ZRANDMEMBER sample it).
    pub dict: IndexMap<Bytes, f64>,
    /// (score, member) in Redis's order.
    pub tree: BTreeSet<(Score, Bytes)>,
    /// Whether Redis would hold this set as a skiplist rather than a
    /// listpack (OBJECT ENCODING, ZSCAN's one-shot reply for small sets).
    pub skiplist: bool,
}

/// A score range bound as ZRANGEBYSCORE parses it (`(1.5`, `-inf`).
#[derive(Debug, Clone, Copy)]
pub struct ScoreRange {
    /// Minimum score.
    pub min: f64,
    /// Whether the minimum is exclusive.
    pub minex: bool,
    /// Maximum score.
    pub max: f64,
    /// Whether the maximum is exclusive.
    pub maxex: bool,
}

impl ScoreRange {
    /// Whether a score is inside the range.
    pub fn contains(&self, s: f64) -> bool {
        let lo = if self.minex {
            s > self.min
        } else {
            s >= self.min
        };
        let hi = if self.maxex {
            s < self.max
        } else {
            s <= self.max
        };
        lo && hi
    }
    /// Whether the range can hold nothing at all.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// A lex range bound as ZRANGEBYLEX parses it (`[a`, `(b`, `-`, `+`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    /// `-`: before everything.
    NegInf,
    /// `+`: after everything.
    PosInf,
    /// `[x`.
    Incl(Bytes),
    /// `(x`.
    Excl(Bytes),
}

impl LexBound {
    /// Parses `-`, `+`, `[x` or `(x`.
    pub fn parse(s: &[u8]) -> Option<LexBound> {
        match s.first()? {
            b'-' if s.len() == 1 => Some(LexBound::NegInf),
            b'+' if s.len() == 1 => Some(LexBound::PosInf),
            b'[' => Some(LexBound::Incl(Bytes::copy_from_slice(&s[1..]))),
            b'(' => Some(LexBound::Excl(Bytes::copy_from_slice(&s[1..]))),
            _ => None,
        }
    }
    fn gte_min(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(x) => m >= &x[..],
            LexBound::Excl(x) => m > &x[..],
        }
    }
    fn lte_max(&self, m: &[u8]) -> bool {
        match self {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(x) => m <= &x[..],
            LexBound::Excl(x) => m < &x[..],
        }
    }
}

impl ZSet {
    /// Number of members.
    pub fn len(&self) -> usize {
        self.dict.len()
    }
    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }
    /// Score of a member.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.dict.get(m).copied()
    }
    /// Inserts or updates; returns the previous score.
    pub fn insert(&mut self, m: Bytes, score: f64) -> Option<f64> {
        match self.dict.get_mut(&m) {
            Some(old) => {
                let prev = *old;
                if prev != score || prev.is_sign_negative() != score.is_sign_negative() {
                    self.tree.remove(&(Score(prev), m.clone()));
                    *old = score;
                    self.tree.insert((Score(score), m));
                }
                Some(prev)
            }
            None => {
                self.dict.insert(m.clone(), score);
                self.tree.insert((Score(score), m));
                None
            }
        }
    }
    /// Removes a member; returns whether it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self.dict.swap_remove(m) {
            Some(s) => {
                self.tree.remove(&(Score(s), Bytes::copy_from_slice(m)));
                true
            }
            None => false,
        }
    }
    /// 0-based rank in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = self.score(m)?;
        Some(
            self.tree
                .range(..(Score(s), Bytes::copy_from_slice(m)))
                .count(),
        )
    }
    /// Members with ranks `start..=end` (already clamped, ascending ranks),
    /// in ascending order or, with `rev`, counting ranks from the top.
    pub fn range_by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<(Bytes, f64)> {
        if start > end || start >= self.len() {
            return Vec::new();
        }
        let n = end - start + 1;
        if rev {
            self.tree
                .iter()
                .rev()
                .skip(start)
                .take(n)
                .map(|(s, m)| (m.clone(), s.0))
                .collect()
        } else {
            self.tree
                .iter()
                .skip(start)
                .take(n)
                .map(|(s, m)| (m.clone(), s.0))
                .collect()
        }
    }
    /// Iterates members whose score is in `r`, ascending or descending.
    pub fn iter_score<'a>(
        &'a self,
        r: &ScoreRange,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a> {
        if r.is_empty() {
            return Box::new(std::iter::empty());
        }
        // Lower bound: the smallest key whose score passes `min`.
        let lo = if r.minex {
            match next_up(r.min) {
                Some(v) => Bound::Included((Score(v), Bytes::new())),
                None => return Box::new(std::iter::empty()),
            }
        } else if r.min == f64::NEG_INFINITY {
            Bound::Unbounded
        } else {
            Bound::Included((Score(r.min), Bytes::new()))
        };
        // Upper bound: the smallest key whose score fails `max`.
        let hi = if r.maxex {
            Bound::Excluded((Score(r.max), Bytes::new()))
        } else {
            match next_up(r.max) {
                Some(v) => Bound::Excluded((Score(v), Bytes::new())),
                None => Bound::Unbounded,
            }
        };
        if let (Bound::Included(a), Bound::Excluded(b)) = (&lo, &hi) {
            if a > b {
                return Box::new(std::iter::empty());
            }
        }
        let it = self.tree.range((lo, hi));
        if rev {
            Box::new(it.rev().map(|(s, m)| (m, s.0)))
        } else {
            Box::new(it.map(|(s, m)| (m, s.0)))
        }
    }
    /// Number of members whose score is in `r`.
    pub fn count_score(&self, r: &ScoreRange) -> usize {
        self.iter_score(r, false).count()
    }
    /// Iterates members inside a lex range (meaningful when all scores are
    /// equal, as in Redis).
    pub fn iter_lex<'a>(
        &'a self,
        min: &LexBound,
        max: &LexBound,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (&'a Bytes, f64)> + 'a> {
        if lex_range_empty(min, max) {
            return Box::new(std::iter::empty());
        }
        // Redis first checks the extremes: the last member must pass the
        // minimum and the first member the maximum.
        match (self.tree.first(), self.tree.last()) {
            (Some(first), Some(last)) if min.gte_min(&last.1) && max.lte_max(&first.1) => {}
            _ => return Box::new(std::iter::empty()),
        }
        if let (Some(first), Some(last)) = (self.tree.first(), self.tree.last()) {
            if first.0 == last.0 {
                // One score everywhere: a tree range on (score, member).
                let s = first.0;
                let lo = match min {
                    LexBound::NegInf => Bound::Unbounded,
                    LexBound::Incl(x) => Bound::Included((s, x.clone())),
                    LexBound::Excl(x) => Bound::Excluded((s, x.clone())),
                    LexBound::PosInf => return Box::new(std::iter::empty()),
                };
                let hi = match max {
                    LexBound::PosInf => Bound::Unbounded,
                    LexBound::Incl(x) => Bound::Included((s, x.clone())),
                    LexBound::Excl(x) => Bound::Excluded((s, x.clone())),
                    LexBound::NegInf => return Box::new(std::iter::empty()),
                };
                let it = self.tree.range((lo, hi));
                return if rev {
                    Box::new(it.rev().map(|(s, m)| (m, s.0)))
                } else {
                    Box::new(it.map(|(s, m)| (m, s.0)))
                };
            }
        }
        let (min, max) = (min.clone(), max.clone());
        if rev {
            Box::new(
                self.tree
                    .iter()
                    .rev()
                    .skip_while({
                        let max = max.clone();
                        move |(_, m)| !max.lte_max(m)
                    })
                    .take_while(move |(_, m)| min.gte_min(m))
                    .map(|(s, m)| (m, s.0)),
            )
        } else {
            Box::new(
                self.tree
                    .iter()
                    .skip_while({
                        let min = min.clone();
                        move |(_, m)| !min.gte_min(m)
                    })
                    .take_while(move |(_, m)| max.lte_max(m))
                    .map(|(s, m)| (m, s.0)),
            )
        }
    }
    /// Members in rank order from the low end (or the high end with `rev`).
    pub fn iter_all(&self, rev: bool) -> Box<dyn Iterator<Item = (&Bytes, f64)> + '_> {
        if rev {
            Box::new(self.tree.iter().rev().map(|(s, m)| (m, s.0)))
        } else {
            Box::new(self.tree.iter().map(|(s, m)| (m, s.0)))
        }
    }
    /// The encoding name OBJECT ENCODING reports.
    pub fn encoding(&self) -> &'static str {
        if self.skiplist {
            "skiplist"
        } else {
            "listpack"
        }
    }
    /// Whether a set of this size whose longest member is `max_member`
    /// bytes fits a listpack under the given limits.
    pub fn fits_listpack(len: usize, max_member: usize, max_entries: i64, max_value: i64) -> bool {
        (len as i64) <= max_entries && (max_member as i64) <= max_value
    }
    /// Removes and returns up to `n` members from the low (or high) end.
    pub fn pop(&mut self, n: usize, max: bool) -> Vec<(Bytes, f64)> {
        let mut out = Vec::new();
        while out.len() < n {
            let first = if max {
                self.tree.pop_last()
            } else {
                self.tree.pop_first()
            };
            match first {
                Some((s, m)) => {
                    self.dict.swap_remove(&m);
                    out.push((m, s.0));
                }
                None => break,
            }
        }
        out
    }
}

/// The next representable double above `x` (None for +inf).
fn next_up(x: f64) -> Option<f64> {
    if x == f64::INFINITY {
        None
    } else if x == 0.0 {
        Some(f64::from_bits(1))
    } else if x > 0.0 {
        Some(f64::from_bits(x.to_bits() + 1))
    } else {
        Some(f64::from_bits(x.to_bits() - 1))
    }
}

/// Whether a lex range can hold nothing (Redis's `zslIsInLexRange` test
/// on the bounds alone).
pub fn lex_range_empty(min: &LexBound, max: &LexBound) -> bool {
    match (min, max) {
        (LexBound::PosInf, _) | (_, LexBound::NegInf) => true,
        (LexBound::NegInf, _) | (_, LexBound::PosInf) => false,
        (LexBound::Incl(a), LexBound::Incl(b)) => a > b,
        (LexBound::Incl(a) | LexBound::Excl(a), LexBound::Incl(b) | LexBound::Excl(b)) => a >= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_score_then_member() {
        let mut z = ZSet::default();
        z.insert(Bytes::from("b"), 1.0);
        z.insert(Bytes::from("a"), 1.0);
        z.insert(Bytes::from("c"), 0.5);
        let order: Vec<_> = z
            .range_by_rank(0, 2, false)
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        assert_eq!(
            order,
            vec![Bytes::from("c"), Bytes::from("a"), Bytes::from("b")]
        );
        assert_eq!(z.rank(b"b"), Some(2));
        z.insert(Bytes::from("c"), 5.0);
        assert_eq!(z.rank(b"c"), Some(2));
        let r = ScoreRange {
            min: 1.0,
            minex: true,
            max: 5.0,
            maxex: false,
        };
        let got: Vec<_> = z.iter_score(&r, false).map(|(m, _)| m.clone()).collect();
        assert_eq!(got, vec![Bytes::from("c")]);
        let got: Vec<_> = z
            .iter_score(
                &ScoreRange {
                    min: 1.0,
                    minex: false,
                    max: 5.0,
                    maxex: true,
                },
                true,
            )
            .map(|(m, _)| m.clone())
            .collect();
        assert_eq!(got, vec![Bytes::from("b"), Bytes::from("a")]);
        assert_eq!(z.pop(1, true)[0].0, Bytes::from("c"));
        assert_eq!(z.len(), 2);
    }
}
