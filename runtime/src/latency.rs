//! Lock-free latency histograms: recorded on the worker thread, read by the GUI and reports.
//!
//! Buckets are log-linear (as in HdrHistogram): each power of two of nanoseconds is split into
//! [`SUB_BUCKETS`] equal buckets, so any recorded value is known to within 1/64 (1.6 %) of
//! itself, from 1 µs to about 70 s, in a fixed array of atomics.

use std::sync::atomic::{AtomicU64, Ordering};

/// Linear sub-buckets per power of two.
pub const SUB_BUCKETS: usize = 64;
/// Powers of two covered above the linear range (2^36 ns ≈ 69 s).
const OCTAVES: usize = 30;
const LINEAR_LIMIT_NS: u64 = SUB_BUCKETS as u64 * 16; // values below 1024 ns are binned at 16 ns
const BUCKETS: usize = SUB_BUCKETS + OCTAVES * SUB_BUCKETS;

/// A concurrent histogram of durations.
pub struct LatencyHistogram {
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    sum_ns: AtomicU64,
    max_ns: AtomicU64,
    /// Durations below zero: the stamp is later than the moment it is compared with, which
    /// on one clock means the source's clock runs ahead of this machine's (skew).
    negative: AtomicU64,
    /// The largest of them, as a positive number of nanoseconds.
    most_negative_ns: AtomicU64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

fn bucket_of(ns: u64) -> usize {
    if ns < LINEAR_LIMIT_NS {
        return (ns / 16) as usize;
    }
    // Octave k covers [1024 · 2^k, 1024 · 2^(k+1)).
    let octave = (63 - ns.leading_zeros()) as usize - 10;
    if octave >= OCTAVES {
        return BUCKETS - 1;
    }
    let base = 1024u64 << octave;
    let width = base / SUB_BUCKETS as u64;
    SUB_BUCKETS + octave * SUB_BUCKETS + ((ns - base) / width) as usize
}

/// Midpoint of a bucket, in nanoseconds.
fn bucket_value(index: usize) -> f64 {
    if index < SUB_BUCKETS {
        return index as f64 * 16.0 + 8.0;
    }
    let octave = (index - SUB_BUCKETS) / SUB_BUCKETS;
    let sub = (index - SUB_BUCKETS) % SUB_BUCKETS;
    let base = (1024u64 << octave) as f64;
    let width = base / SUB_BUCKETS as f64;
    base + (sub as f64 + 0.5) * width
}

/// Percentiles and counts read from a histogram.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    /// Number of recorded values.
    pub count: u64,
    /// Mean.
    pub mean_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest value recorded.
    pub max_ms: f64,
    /// Durations that came out negative (clock skew), left out of the figures above.
    pub skewed: u64,
    /// The most negative of them, as a positive number of milliseconds.
    pub max_skew_ms: f64,
}

impl LatencyHistogram {
    /// Allocates the buckets (start-up only).
    pub fn new() -> Self {
        LatencyHistogram {
            counts: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            sum_ns: AtomicU64::new(0),
            max_ns: AtomicU64::new(0),
            negative: AtomicU64::new(0),
            most_negative_ns: AtomicU64::new(0),
        }
    }

    /// Records one duration in seconds. A negative duration (a source whose clock runs ahead
    /// of this machine's) is counted apart as skew ([`LatencySummary::skewed`]), not as zero;
    /// a value that is not a number counts as zero.
    ///
    /// Real-time safe: a few relaxed atomic operations, no allocation.
    pub fn record_secs(&self, secs: f64) {
        if secs < 0.0 {
            self.negative.fetch_add(1, Ordering::Relaxed);
            self.most_negative_ns
                .fetch_max((-secs * 1e9) as u64, Ordering::Relaxed);
            return;
        }
        let ns = if secs.is_finite() {
            (secs * 1e9) as u64
        } else {
            0
        };
        self.counts[bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        self.total.fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.max_ns.fetch_max(ns, Ordering::Relaxed);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Value below which `q` (0..=1) of the recorded values lie, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let total: u64 = self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum();
        if total == 0 {
            return 0.0;
        }
        // Rank of the requested value (1-based), rounding up as the nearest-rank method does.
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c.load(Ordering::Relaxed);
            if seen >= rank {
                let max = self.max_ns.load(Ordering::Relaxed) as f64;
                return bucket_value(i).min(max) / 1e6;
            }
        }
        self.max_ns.load(Ordering::Relaxed) as f64 / 1e6
    }

    /// Non-empty buckets as `(midpoint in ms, count)`, in increasing order (for plots).
    pub fn nonzero_buckets_ms(&self) -> Vec<(f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter_map(|(i, c)| {
                let n = c.load(Ordering::Relaxed);
                (n > 0).then(|| (bucket_value(i) / 1e6, n))
            })
            .collect()
    }

    /// Count, mean, p50/p99/p99.9 and max.
    pub fn summary(&self) -> LatencySummary {
        let count = self.count();
        LatencySummary {
            count,
            mean_ms: if count == 0 {
                0.0
            } else {
                self.sum_ns.load(Ordering::Relaxed) as f64 / count as f64 / 1e6
            },
            p50_ms: self.quantile_ms(0.5),
            p99_ms: self.quantile_ms(0.99),
            p999_ms: self.quantile_ms(0.999),
            max_ms: self.max_ns.load(Ordering::Relaxed) as f64 / 1e6,
            skewed: self.negative.load(Ordering::Relaxed),
            max_skew_ms: self.most_negative_ns.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_tight() {
        let mut last = 0;
        for ns in (0..10_000_000u64).step_by(997) {
            let b = bucket_of(ns);
            assert!(b >= last);
            last = b;
            let mid = bucket_value(b);
            let err = (mid - ns as f64).abs();
            assert!(err <= 8.0 || err / ns as f64 <= 1.0 / 64.0, "{ns} -> {mid}");
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_distribution() {
        let h = LatencyHistogram::new();
        for i in 1..=1000 {
            h.record_secs(i as f64 * 1e-6); // 1 µs .. 1 ms
        }
        let s = h.summary();
        assert_eq!(s.count, 1000);
        assert!((s.p50_ms - 0.5).abs() < 0.5 * 0.02, "{s:?}");
        assert!((s.p99_ms - 0.99).abs() < 0.99 * 0.02, "{s:?}");
        assert!((s.max_ms - 1.0).abs() < 1e-9);
        assert!((s.mean_ms - 0.5005).abs() < 1e-6);
    }

    #[test]
    fn negative_durations_are_skew_and_nan_counts_as_zero() {
        let h = LatencyHistogram::new();
        h.record_secs(-0.002);
        h.record_secs(-0.001);
        h.record_secs(f64::NAN);
        h.record_secs(0.0005);
        let s = h.summary();
        assert_eq!((s.count, s.skewed), (2, 2));
        assert!((s.max_skew_ms - 2.0).abs() < 1e-9, "{s:?}");
        assert!(s.max_ms < 0.6, "the skew is not in the figures: {s:?}");
    }
}
