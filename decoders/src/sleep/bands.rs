//! Causal band-passes of one channel, run block by block: the filtering both spindle
//! detectors start from.

use neuroloop_dsp::DspError;
use neuroloop_dsp::filter::{FilterChain, FilterSpec};

/// `N` Butterworth band-passes over the same single-channel input. [`BandBank::prepare`]
/// allocates; the rest does not.
#[derive(Debug, Clone)]
pub(crate) struct BandBank<const N: usize> {
    chains: [FilterChain; N],
    /// The latest block's output per band, `max_block` long.
    blocks: [Vec<f64>; N],
}

impl<const N: usize> BandBank<N> {
    /// Nothing designed yet: [`BandBank::max_block`] is 0.
    pub(crate) fn new() -> Self {
        BandBank {
            chains: std::array::from_fn(|_| FilterChain::new(Vec::new())),
            blocks: std::array::from_fn(|_| Vec::new()),
        }
    }

    /// Designs the band-passes (prototype `order`; each upper edge capped at 0.45 × the rate)
    /// for a `sample_rate_hz` stream filtered `max_block_frames` samples at a time.
    pub(crate) fn prepare(
        &mut self,
        bands_hz: [(f64, f64); N],
        order: usize,
        sample_rate_hz: f64,
        max_block_frames: usize,
    ) -> Result<(), DspError> {
        let block = max_block_frames.max(1);
        for (k, (lo, hi)) in bands_hz.into_iter().enumerate() {
            let mut chain = FilterChain::new(vec![FilterSpec::bandpass(
                lo,
                hi.min(0.45 * sample_rate_hz),
                order,
            )]);
            chain.prepare(sample_rate_hz, 1, block)?;
            self.chains[k] = chain;
            self.blocks[k] = vec![0.0; block];
        }
        Ok(())
    }

    /// Longest block [`BandBank::filter`] takes (0 before `prepare`).
    pub(crate) fn max_block(&self) -> usize {
        self.blocks.first().map_or(0, Vec::len)
    }

    /// Group delay of band `k` at `freq_hz`, s.
    pub(crate) fn group_delay_secs(&self, k: usize, freq_hz: f64, sample_rate_hz: f64) -> f64 {
        self.chains[k]
            .sos()
            .group_delay_secs(freq_hz, sample_rate_hz)
    }

    /// Clears the filters' state.
    pub(crate) fn reset(&mut self) {
        for chain in &mut self.chains {
            chain.reset();
        }
    }

    /// Filters `x` (at most [`BandBank::max_block`] samples) through every band; sample `i`'s
    /// outputs are then [`BandBank::at`]`(i)`.
    pub(crate) fn filter(&mut self, x: &[f64]) {
        for (chain, block) in self.chains.iter_mut().zip(&mut self.blocks) {
            let out = &mut block[..x.len()];
            out.copy_from_slice(x);
            chain.process_interleaved_f64(out);
        }
    }

    /// Every band's output for sample `i` of the latest block.
    pub(crate) fn at(&self, i: usize) -> [f64; N] {
        std::array::from_fn(|k| self.blocks[k][i])
    }
}
