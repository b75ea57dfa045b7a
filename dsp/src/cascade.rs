//! The per-channel engine shared by every filtering processor: a biquad cascade per channel
//! plus the non-finite input policy.

use biquad::{Biquad, Coefficients, DirectForm2Transposed};

/// Replaces non-finite input samples by the channel's last finite sample and counts them.
///
/// Holding the last value (rather than substituting zero) matters for raw EEG, whose DC offset
/// can be thousands of microvolts: a zero would be a huge step that rings through a high-pass
/// filter for seconds, while a held value is a short flat segment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sanitizer {
    last: Vec<f64>,
    counts: Vec<u64>,
}

impl Sanitizer {
    pub fn new(channels: usize) -> Sanitizer {
        Sanitizer {
            last: vec![0.0; channels],
            counts: vec![0; channels],
        }
    }

    /// The sample to filter, and whether the input had to be replaced.
    #[inline]
    pub fn clean(&mut self, channel: usize, x: f64) -> (f64, bool) {
        if x.is_finite() {
            self.last[channel] = x;
            (x, false)
        } else {
            self.counts[channel] += 1;
            (self.last[channel], true)
        }
    }

    /// Forgets the held values (counters are totals and are kept).
    pub fn reset(&mut self) {
        self.last.fill(0.0);
    }

    /// Non-finite samples replaced so far, per channel.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    pub fn clear_counts(&mut self) {
        self.counts.fill(0);
    }
}

/// `channels` independent copies of one biquad cascade, `f64` state, direct form II
/// transposed (the form `scipy.signal.sosfilt` uses, and the most robust one for fixed
/// coefficients).
#[derive(Debug, Clone, Default)]
pub(crate) struct Cascade {
    sections: usize,
    coefficients: Vec<Coefficients<f64>>,
    /// Channel-major: channel `c` owns `biquads[c * sections..(c + 1) * sections]`.
    biquads: Vec<DirectForm2Transposed<f64>>,
    resets: Vec<u64>,
}

impl Cascade {
    pub fn new(coefficients: Vec<Coefficients<f64>>, channels: usize) -> Cascade {
        let biquads = (0..channels)
            .flat_map(|_| {
                coefficients
                    .iter()
                    .map(|c| DirectForm2Transposed::<f64>::new(*c))
            })
            .collect();
        Cascade {
            sections: coefficients.len(),
            coefficients,
            biquads,
            resets: vec![0; channels],
        }
    }

    pub fn sections(&self) -> usize {
        self.sections
    }

    /// Filters one sample of `channel`. Returns the output and whether the channel's state had
    /// overflowed and was reset (the output is then 0).
    #[inline]
    pub fn run(&mut self, channel: usize, x: f64) -> (f64, bool) {
        let n = self.sections;
        let chain = &mut self.biquads[channel * n..(channel + 1) * n];
        let mut y = x;
        for bq in chain.iter_mut() {
            y = bq.run(y);
        }
        if y.is_finite() {
            (y, false)
        } else {
            // Only reachable with finite inputs so large that the state overflows; starting
            // the channel afresh is the only way to get finite output again.
            for bq in chain.iter_mut() {
                bq.reset_state();
            }
            self.resets[channel] += 1;
            (0.0, true)
        }
    }

    /// Zeroes every channel's state.
    pub fn reset(&mut self) {
        for bq in &mut self.biquads {
            bq.reset_state();
        }
    }

    /// State resets after overflow so far, per channel.
    pub fn resets(&self) -> &[u64] {
        &self.resets
    }

    pub fn clear_resets(&mut self) {
        self.resets.fill(0);
    }

    /// Swaps in coefficients with the same number of sections, keeping the state, and returns
    /// the previous ones. The caller has checked the length.
    pub fn swap_coefficients(
        &mut self,
        mut coefficients: Vec<Coefficients<f64>>,
    ) -> Vec<Coefficients<f64>> {
        debug_assert_eq!(coefficients.len(), self.sections);
        std::mem::swap(&mut self.coefficients, &mut coefficients);
        let n = self.sections.max(1);
        for (i, bq) in self.biquads.iter_mut().enumerate() {
            bq.update_coefficients(self.coefficients[i % n]);
        }
        coefficients
    }
}
