//! Decimation with anti-alias filtering, like `scipy.signal.decimate(x, q, ftype='iir')`: a
//! Chebyshev type I low-pass of order 8 with 0.05 dB ripple whose pass band ends at `0.8 / q`
//! of Nyquist, then every `q`-th sample (the first one included).
//!
//! [`Decimator`] is the causal, streaming version for the worker thread (it equals
//! `decimate(..., zero_phase=False)` however the stream is cut into blocks);
//! [`decimate_zero_phase`] is the offline forward-backward version (scipy's default).

use crate::cascade::{Cascade, Sanitizer};
use crate::filter::{ProcessReport, Sos, chebyshev1_lowpass_normalized, sosfilt, sosfiltfilt};
use crate::{DspError, Sample, check_sample_rate};

/// Order of the default anti-alias filter.
pub const DEFAULT_ORDER: usize = 8;
/// Pass-band ripple of the anti-alias filter, in dB.
pub const RIPPLE_DB: f64 = 0.05;

/// The anti-alias low-pass for decimation by `factor`: Chebyshev type I of `order` with
/// [`RIPPLE_DB`] ripple and its pass-band edge at `0.8 / factor` of Nyquist.
///
/// Allocates; call it while preparing.
pub fn anti_alias_sos(factor: usize, order: usize) -> Result<Sos, DspError> {
    if factor < 2 {
        return Err(DspError::InvalidDecimation { factor });
    }
    chebyshev1_lowpass_normalized(order, RIPPLE_DB, 0.8 / factor as f64)
}

/// Keeps samples `0, factor, 2 factor, …`.
fn downsample(y: &[f64], factor: usize) -> Vec<f64> {
    y.iter().step_by(factor).copied().collect()
}

/// Zero-phase decimation (`scipy.signal.decimate(x, factor)` with its defaults): forward-
/// backward anti-alias filtering with default padding, then every `factor`-th sample.
///
/// Allocates; offline only.
pub fn decimate_zero_phase(x: &[f64], factor: usize) -> Result<Vec<f64>, DspError> {
    let sos = anti_alias_sos(factor, DEFAULT_ORDER)?;
    Ok(downsample(&sosfiltfilt(&sos, x)?, factor))
}

/// Causal decimation (`scipy.signal.decimate(x, factor, zero_phase=False)`): the anti-alias
/// filter from rest, then every `factor`-th sample.
///
/// Allocates; offline only (see [`Decimator`] for streams).
pub fn decimate_causal(x: &[f64], factor: usize) -> Result<Vec<f64>, DspError> {
    let sos = anti_alias_sos(factor, DEFAULT_ORDER)?;
    let mut y = x.to_vec();
    sosfilt(&sos, &mut y, None);
    Ok(downsample(&y, factor))
}

/// Streaming multi-channel decimator for interleaved blocks, with the crate's non-finite input
/// policy (held last value, counted).
#[derive(Debug, Clone)]
pub struct Decimator {
    factor: usize,
    sos: Sos,
    cascade: Cascade,
    sanitizer: Sanitizer,
    channels: usize,
    sample_rate_hz: f64,
    max_block_len: usize,
    /// Input frames to skip before the next kept one.
    countdown: usize,
}

impl Decimator {
    /// A decimator by `factor` with the default order-8 Chebyshev anti-alias filter.
    ///
    /// Allocates; call it while preparing.
    pub fn new(factor: usize) -> Result<Self, DspError> {
        Self::with_order(factor, DEFAULT_ORDER)
    }

    /// A decimator by `factor` with an anti-alias filter of `order`.
    ///
    /// Allocates; call it while preparing.
    pub fn with_order(factor: usize, order: usize) -> Result<Self, DspError> {
        Ok(Decimator {
            factor,
            sos: anti_alias_sos(factor, order)?,
            cascade: Cascade::default(),
            sanitizer: Sanitizer::default(),
            channels: 0,
            sample_rate_hz: 0.0,
            max_block_len: 0,
            countdown: 0,
        })
    }

    /// Allocates state for `channels` channels at `sample_rate_hz`, for input blocks of up to
    /// `max_block_len` frames.
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
        self.cascade = Cascade::new(self.sos.coefficients(), channels);
        self.sanitizer = Sanitizer::new(channels);
        self.channels = channels;
        self.sample_rate_hz = fs;
        self.max_block_len = max_block_len;
        self.countdown = 0;
        Ok(())
    }

    /// The anti-alias filter.
    pub fn sos(&self) -> &Sos {
        &self.sos
    }

    /// The decimation factor.
    pub fn factor(&self) -> usize {
        self.factor
    }

    /// Sample rate of the output (0 before `prepare`).
    pub fn output_rate_hz(&self) -> f64 {
        self.sample_rate_hz / self.factor as f64
    }

    /// Output frames the next call will produce for `input_frames` input frames.
    ///
    /// Real-time safe: does not allocate; called on the worker thread to size reads.
    pub fn output_frames(&self, input_frames: usize) -> usize {
        if input_frames <= self.countdown {
            0
        } else {
            (input_frames - self.countdown - 1) / self.factor + 1
        }
    }

    /// Output frames a block of the prepared maximum length can produce, for sizing output
    /// buffers (in frames; multiply by the channel count for values).
    pub fn max_output_frames(&self) -> usize {
        self.max_block_len.div_ceil(self.factor)
    }

    /// Filters an interleaved block and writes the kept frames to the start of `output`
    /// (interleaved, same channel count). [`ProcessReport::frames`] is the number of output
    /// frames written. Nothing is processed when `input` is ragged or `output` too small.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn process_interleaved<S: Sample>(
        &mut self,
        input: &[S],
        output: &mut [S],
    ) -> Result<ProcessReport, DspError> {
        let channels = self.channels;
        if channels == 0 {
            return Err(DspError::NotPrepared { what: "decimator" });
        }
        if !input.len().is_multiple_of(channels) {
            return Err(DspError::RaggedBlock {
                len: input.len(),
                channels,
            });
        }
        let frames_in = input.len() / channels;
        let frames_out = self.output_frames(frames_in);
        if output.len() < frames_out * channels {
            return Err(DspError::BufferTooSmall {
                what: "decimator output",
                needed: frames_out * channels,
                got: output.len(),
            });
        }
        let mut report = ProcessReport::default();
        let mut written = 0;
        for frame in input.chunks_exact(channels) {
            let keep = self.countdown == 0;
            for (c, v) in frame.iter().enumerate() {
                let (x, replaced) = self.sanitizer.clean(c, v.to_f64());
                let (y, reset) = self.cascade.run(c, x);
                report.non_finite += usize::from(replaced);
                report.state_resets += usize::from(reset);
                if keep {
                    output[written * channels + c] = S::from_f64(y);
                }
            }
            if keep {
                written += 1;
                self.countdown = self.factor - 1;
            } else {
                self.countdown -= 1;
            }
        }
        report.frames = written;
        Ok(report)
    }

    /// Forgets the history; the next input frame is kept.
    ///
    /// Real-time safe: does not allocate.
    pub fn reset(&mut self) {
        self.cascade.reset();
        self.sanitizer.reset();
        self.countdown = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_frame_counts_follow_the_phase() {
        let mut d = Decimator::new(3).unwrap();
        d.prepare(300.0, 2, 10).unwrap();
        assert_eq!(d.output_frames(1), 1);
        assert_eq!(d.output_frames(3), 1);
        assert_eq!(d.output_frames(4), 2);
        let mut out = [0.0f32; 8];
        let r = d.process_interleaved(&[0.0f32; 8], &mut out).unwrap();
        // Frames 0 and 3 are kept; frames 4 and 5 will be skipped, frame 6 kept.
        assert_eq!(r.frames, 2);
        assert_eq!(d.output_frames(2), 0);
        assert_eq!(d.output_frames(3), 1);
        assert_eq!(d.max_output_frames(), 4);
        assert!((d.output_rate_hz() - 100.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_factors_and_small_buffers() {
        assert!(matches!(
            Decimator::new(1),
            Err(DspError::InvalidDecimation { factor: 1 })
        ));
        let mut d = Decimator::new(2).unwrap();
        d.prepare(250.0, 1, 8).unwrap();
        let mut out = [0.0f32; 1];
        assert!(matches!(
            d.process_interleaved(&[0.0f32; 8], &mut out),
            Err(DspError::BufferTooSmall { needed: 4, .. })
        ));
    }
}
