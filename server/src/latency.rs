//! Per-command latency histograms (Redis 7.0's `latency-tracking`): every
//! command's run time is recorded in nanoseconds in an HDR histogram of
//! 2 significant digits over 1 ns .. 1 s, as Redis's `hdr_histogram` with
//! `LATENCY_HISTOGRAM_PRECISION` 2 keeps it; INFO latencystats prints its
//! percentiles (`hdr_value_at_percentile`) and LATENCY HISTOGRAM its
//! cumulative distribution over power-of-two buckets from 1024 ns
//! (`hdr_iter_log_init(.., 1024, 2)`).
//!
//! Only the buckets that hold values are stored, keyed by the lowest value
//! of their equivalence range; the arithmetic of the ranges is HDR's.

use std::collections::BTreeMap;

/// `LATENCY_HISTOGRAM_LOWEST_TRACKABLE_VALUE` / `HIGHEST` (ns).
const LOWEST: i64 = 1;
const HIGHEST: i64 = 1_000_000_000;
/// 2 significant digits: 2^(floor(log2(2 * 10^2)) + 1) sub-buckets, of
/// which the upper half is used above the first bucket.
const SUB_BUCKET_HALF_MAGNITUDE: u32 = 7;
const SUB_BUCKET_MASK: i64 = (1 << (SUB_BUCKET_HALF_MAGNITUDE + 1)) - 1;

/// The bucket and sub-bucket of a value (`get_bucket_index`,
/// `get_sub_bucket_index`; unit magnitude 0).
fn indices(v: i64) -> (u32, i64) {
    let pow2ceiling = 64 - (v | SUB_BUCKET_MASK).leading_zeros();
    let bucket = pow2ceiling - (SUB_BUCKET_HALF_MAGNITUDE + 1);
    (bucket, v >> bucket)
}

/// `lowest_equivalent_value`.
pub fn lowest_equivalent(v: i64) -> i64 {
    let (bucket, sub) = indices(v);
    sub << bucket
}

/// `highest_equivalent_value`: the last value of `v`'s range.
pub fn highest_equivalent(v: i64) -> i64 {
    let (bucket, sub) = indices(v);
    let size = if sub >= 1 << (SUB_BUCKET_HALF_MAGNITUDE + 1) {
        1i64 << (bucket + 1)
    } else {
        1i64 << bucket
    };
    lowest_equivalent(v) + size - 1
}

/// One command's histogram.
#[derive(Debug, Clone, Default)]
pub struct Histogram {
    /// Lowest value of each range → how many values fell in it.
    counts: BTreeMap<i64, u64>,
    total: u64,
}

impl Histogram {
    /// Records a duration (clamped to 1 ns .. 1 s, as Redis does).
    pub fn record(&mut self, ns: i64) {
        let v = ns.clamp(LOWEST, HIGHEST);
        *self.counts.entry(lowest_equivalent(v)).or_insert(0) += 1;
        self.total += 1;
    }

    /// How many values were recorded (`calls`).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// `hdr_value_at_percentile`, in ns.
    pub fn value_at_percentile(&self, p: f64) -> i64 {
        let p = p.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        for (&v, &n) in &self.counts {
            seen += n;
            if seen >= want {
                return if p == 0.0 { v } else { highest_equivalent(v) };
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's `histogram_usec`: for each power-of-two level
    /// from 1024 ns until every value is counted, (the level's highest
    /// equivalent value in µs, values up to it), where the count grew.
    pub fn cdf(&self) -> Vec<(i64, u64)> {
        let mut out = Vec::new();
        let mut level: i64 = 1024;
        let (mut previous, mut cumulative) = (0u64, 0u64);
        let mut values = self.counts.iter().peekable();
        while cumulative < self.total {
            let top = highest_equivalent(level);
            while let Some((_, &n)) = values.next_if(|(&v, _)| v <= top) {
                cumulative += n;
            }
            if cumulative > previous {
                out.push((top / 1000, cumulative));
            }
            previous = cumulative;
            level *= 2;
        }
        out
    }
}

/// INFO latencystats' line for one command: `p50=1.003,p99=...` over the
/// configured percentiles, printed as `%f` trimmed of trailing zeros.
pub fn percentiles_line(h: &Histogram, percentiles: &[f64]) -> String {
    percentiles
        .iter()
        .map(|&p| {
            let name = format!("{p:.6}");
            let name = name.trim_end_matches('0').trim_end_matches('.');
            format!("p{name}={:.3}", h.value_at_percentile(p) as f64 / 1000.0)
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_keep_two_significant_digits() {
        // values redis-server 7.0.15 printed for one SET of ~10 µs and one
        // CONFIG GET of ~4 µs
        assert_eq!(highest_equivalent(10_000), 10_047);
        assert_eq!(highest_equivalent(4_000), 4_015);
        assert_eq!(highest_equivalent(16_384), 16_511);
        assert_eq!(lowest_equivalent(255), 255);
        assert_eq!(highest_equivalent(255), 255);
        assert_eq!(highest_equivalent(1_000_000_000), 1_002_438_655);
    }

    #[test]
    fn one_value_gives_its_range_everywhere() {
        let mut h = Histogram::default();
        h.record(10_000);
        assert_eq!(
            percentiles_line(&h, &[50.0, 99.0, 99.9]),
            "p50=10.047,p99=10.047,p99.9=10.047"
        );
        assert_eq!(h.cdf(), vec![(16, 1)]);
        let mut h = Histogram::default();
        h.record(4_000);
        assert_eq!(h.cdf(), vec![(4, 1)]);
    }

    #[test]
    fn percentiles_and_cdf_of_a_spread() {
        let mut h = Histogram::default();
        for ns in [900, 1_500, 1_500, 3_000, 100_000] {
            h.record(ns);
        }
        assert_eq!(h.value_at_percentile(50.0), highest_equivalent(1_500));
        assert_eq!(h.value_at_percentile(99.0), highest_equivalent(100_000));
        assert_eq!(h.cdf(), vec![(1, 1), (2, 3), (4, 4), (132, 5)]);
        // out of range values are clamped
        h.record(0);
        h.record(5_000_000_000);
        assert_eq!(h.total(), 7);
        assert_eq!(h.value_at_percentile(100.0), highest_equivalent(HIGHEST));
    }
}
