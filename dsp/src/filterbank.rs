//! Filter banks: one band-pass per sub-band applied to the same multi-channel stream, as
//! filter-bank CCA (FBCCA) uses for SSVEP: sub-band `k` spans `[8k, 88]` Hz for `k = 1..=N`,
//! so every sub-band keeps the harmonics above its lower edge.

use crate::cascade::{Cascade, Sanitizer};
use crate::filter::{FilterSpec, ProcessReport, Sos, design};
use crate::{DspError, Sample, check_sample_rate};

/// FBCCA sub-bands `[8k, upper_hz]` Hz for `k = 1..=n_bands` (Chen et al. 2015 use
/// `upper_hz = 88`).
pub fn fbcca_bands(n_bands: usize, upper_hz: f64) -> Vec<(f64, f64)> {
    (1..=n_bands).map(|k| (8.0 * k as f64, upper_hz)).collect()
}

/// FBCCA sub-band weights `k^-a + b` for `k = 1..=n_bands` (Chen et al. 2015: `a = 1.25`,
/// `b = 0.25`).
pub fn fbcca_weights(n_bands: usize, a: f64, b: f64) -> Vec<f64> {
    (1..=n_bands).map(|k| (k as f64).powf(-a) + b).collect()
}

/// Butterworth band-passes over one stream; after each block the output of every band is
/// available as an interleaved block of the same shape as the input.
#[derive(Debug, Clone)]
pub struct FilterBank {
    bands: Vec<(f64, f64)>,
    order: usize,
    designs: Vec<Sos>,
    cascades: Vec<Cascade>,
    sanitizer: Sanitizer,
    /// `bands × max_block_len × channels` values: band `b`'s block starts at
    /// `b * max_block_len * channels`.
    outputs: Vec<f32>,
    channels: usize,
    max_block_len: usize,
    last_frames: usize,
    sample_rate_hz: f64,
}

impl FilterBank {
    /// A bank of Butterworth band-passes of `order` (prototype order, 2 × `order` poles) over
    /// `bands` (`(low_hz, high_hz)` each). Nothing is designed until
    /// [`FilterBank::prepare`].
    pub fn new(bands: Vec<(f64, f64)>, order: usize) -> Self {
        FilterBank {
            bands,
            order,
            designs: Vec::new(),
            cascades: Vec::new(),
            sanitizer: Sanitizer::default(),
            outputs: Vec::new(),
            channels: 0,
            max_block_len: 0,
            last_frames: 0,
            sample_rate_hz: 0.0,
        }
    }

    /// The FBCCA bank: `n_bands` sub-bands `[8k, 88]` Hz.
    pub fn fbcca(n_bands: usize, order: usize) -> Self {
        Self::new(fbcca_bands(n_bands, 88.0), order)
    }

    /// Designs every band for `sample_rate_hz` and allocates state and output blocks for
    /// `channels` channels and blocks of up to `max_block_len` frames. Errors name the first
    /// band that cannot be built (for example an upper edge of 88 Hz at 160 Hz sampling).
    ///
    /// Allocates; call it on the setup thread.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        channels: usize,
        max_block_len: usize,
    ) -> Result<(), DspError> {
        let fs = check_sample_rate(sample_rate_hz)?;
        if channels == 0 {
            return Err(DspError::NoChannels);
        }
        if max_block_len == 0 {
            return Err(DspError::ZeroBlockLen);
        }
        if self.bands.is_empty() {
            return Err(DspError::InvalidParameter {
                name: "number of bands",
                value: 0.0,
                hint: "give at least one band",
            });
        }
        let designs = self
            .bands
            .iter()
            .map(|&(lo, hi)| design(&FilterSpec::bandpass(lo, hi, self.order), fs))
            .collect::<Result<Vec<_>, _>>()?;
        self.cascades = designs
            .iter()
            .map(|s| Cascade::new(s.coefficients(), channels))
            .collect();
        self.designs = designs;
        self.sanitizer = Sanitizer::new(channels);
        self.outputs = vec![0.0; self.bands.len() * max_block_len * channels];
        self.channels = channels;
        self.max_block_len = max_block_len;
        self.last_frames = 0;
        self.sample_rate_hz = fs;
        Ok(())
    }

    /// The bands, `(low_hz, high_hz)`.
    pub fn bands(&self) -> &[(f64, f64)] {
        &self.bands
    }

    /// The design of band `band` (after `prepare`).
    pub fn sos(&self, band: usize) -> Option<&Sos> {
        self.designs.get(band)
    }

    /// Channels the bank was prepared for.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Sample rate the bank was prepared for.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Filters an interleaved block through every band; read the results with
    /// [`FilterBank::band_output`]. Non-finite samples are replaced once (held last value)
    /// and counted once, not per band.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn process_interleaved<S: Sample>(
        &mut self,
        input: &[S],
    ) -> Result<ProcessReport, DspError> {
        let channels = self.channels;
        if channels == 0 {
            return Err(DspError::NotPrepared {
                what: "filter bank",
            });
        }
        if !input.len().is_multiple_of(channels) {
            return Err(DspError::RaggedBlock {
                len: input.len(),
                channels,
            });
        }
        let frames = input.len() / channels;
        if frames > self.max_block_len {
            return Err(DspError::BlockTooLong {
                frames,
                max_block_len: self.max_block_len,
            });
        }
        let stride = self.max_block_len * channels;
        let mut report = ProcessReport {
            frames,
            ..ProcessReport::default()
        };
        for (i, v) in input.iter().enumerate() {
            let c = i % channels;
            let (x, replaced) = self.sanitizer.clean(c, v.to_f64());
            report.non_finite += usize::from(replaced);
            for (b, cascade) in self.cascades.iter_mut().enumerate() {
                let (y, reset) = cascade.run(c, x);
                report.state_resets += usize::from(reset);
                #[allow(clippy::cast_possible_truncation)]
                {
                    self.outputs[b * stride + i] = y as f32;
                }
            }
        }
        self.last_frames = frames;
        Ok(report)
    }

    /// Band `band`'s output for the last block (interleaved, same shape as the input), or an
    /// empty slice for an unknown band.
    ///
    /// Real-time safe: does not allocate.
    pub fn band_output(&self, band: usize) -> &[f32] {
        if band >= self.cascades.len() {
            return &[];
        }
        let stride = self.max_block_len * self.channels;
        &self.outputs[band * stride..band * stride + self.last_frames * self.channels]
    }

    /// Forgets every band's history.
    ///
    /// Real-time safe: does not allocate.
    pub fn reset(&mut self) {
        for c in &mut self.cascades {
            c.reset();
        }
        self.sanitizer.reset();
        self.last_frames = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterChain;

    #[test]
    fn fbcca_layout_and_weights() {
        assert_eq!(
            fbcca_bands(3, 88.0),
            vec![(8.0, 88.0), (16.0, 88.0), (24.0, 88.0)]
        );
        let w = fbcca_weights(2, 1.25, 0.25);
        assert!((w[0] - 1.25).abs() < 1e-12);
        assert!((w[1] - (2f64.powf(-1.25) + 0.25)).abs() < 1e-12);
    }

    #[test]
    fn each_band_equals_its_own_chain() {
        let fs = 250.0;
        let mut bank = FilterBank::fbcca(3, 4);
        bank.prepare(fs, 2, 50).unwrap();
        let x: Vec<f32> = (0..200).map(|i| ((i * 7919) % 113) as f32 - 56.0).collect();
        let mut outputs = vec![Vec::new(); 3];
        for block in x.chunks(50) {
            bank.process_interleaved(block).unwrap();
            for (b, out) in outputs.iter_mut().enumerate() {
                out.extend_from_slice(bank.band_output(b));
            }
        }
        for (b, &(lo, hi)) in bank.bands().iter().enumerate() {
            let mut chain = FilterChain::new(vec![FilterSpec::bandpass(lo, hi, 4)]);
            chain.prepare(fs, 2, 200).unwrap();
            let mut y = x.clone();
            chain.process_interleaved(&mut y);
            assert_eq!(outputs[b], y, "band {b}");
        }
    }

    #[test]
    fn upper_edge_above_nyquist_is_reported() {
        let mut bank = FilterBank::fbcca(2, 4);
        assert!(matches!(
            bank.prepare(160.0, 1, 10),
            Err(DspError::AboveNyquist { .. })
        ));
    }
}
