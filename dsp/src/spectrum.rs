//! Power spectral density by Welch's method and band power.
//!
//! [`Welch`] matches `scipy.signal.welch(x, fs, window='hann', nperseg, noverlap)` with its
//! defaults (periodic Hann window, constant detrend per segment, one-sided density scaling,
//! mean over segments). The FFT plan and every buffer are made by [`Welch::prepare`]; the
//! `psd*` methods then run without allocating.

use std::f64::consts::PI;
use std::sync::Arc;

use realfft::num_complex::Complex64;
use realfft::{RealFftPlanner, RealToComplex};

use crate::{DspError, Sample, check_sample_rate};

/// What is removed from each segment before windowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detrend {
    /// Nothing.
    None,
    /// The segment mean (scipy's default).
    #[default]
    Constant,
}

/// The periodic Hann window of length `n` (`0.5 - 0.5 cos(2π i / n)`), the one spectral
/// estimators use.
pub fn hann_periodic(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f64 / n as f64).cos())
        .collect()
}

/// A prepared Welch estimator: segment length, overlap, window and FFT plan fixed.
pub struct Welch {
    sample_rate_hz: f64,
    nperseg: usize,
    noverlap: usize,
    detrend: Detrend,
    window: Vec<f64>,
    /// `1 / (fs Σ w²)`: density scaling.
    scale: f64,
    fft: Arc<dyn RealToComplex<f64>>,
    segment: Vec<f64>,
    spectrum: Vec<Complex64>,
    scratch: Vec<Complex64>,
    frequencies_hz: Vec<f64>,
}

impl std::fmt::Debug for Welch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Welch")
            .field("sample_rate_hz", &self.sample_rate_hz)
            .field("nperseg", &self.nperseg)
            .field("noverlap", &self.noverlap)
            .field("detrend", &self.detrend)
            .finish_non_exhaustive()
    }
}

impl Welch {
    /// Plans segments of `nperseg` samples overlapping by `noverlap` (scipy's default is
    /// `nperseg / 2`) at `sample_rate_hz`.
    ///
    /// Allocates the FFT plan and buffers; call it on the setup thread.
    pub fn prepare(sample_rate_hz: f64, nperseg: usize, noverlap: usize) -> Result<Self, DspError> {
        let fs = check_sample_rate(sample_rate_hz)?;
        if nperseg < 2 {
            return Err(DspError::InvalidSegment {
                nperseg,
                noverlap,
                hint: "use segments of at least 2 samples, typically 1 to 4 seconds of data",
            });
        }
        if noverlap >= nperseg {
            return Err(DspError::InvalidSegment {
                nperseg,
                noverlap,
                hint: "the overlap must be shorter than the segment, typically half of it",
            });
        }
        let window = hann_periodic(nperseg);
        let scale = 1.0 / (fs * window.iter().map(|w| w * w).sum::<f64>());
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(nperseg);
        let bins = nperseg / 2 + 1;
        let frequencies_hz = (0..bins).map(|k| k as f64 * fs / nperseg as f64).collect();
        Ok(Welch {
            sample_rate_hz: fs,
            nperseg,
            noverlap,
            detrend: Detrend::Constant,
            window,
            scale,
            segment: fft.make_input_vec(),
            spectrum: fft.make_output_vec(),
            scratch: fft.make_scratch_vec(),
            fft,
            frequencies_hz,
        })
    }

    /// Sets what is removed from each segment (default [`Detrend::Constant`]).
    pub fn with_detrend(mut self, detrend: Detrend) -> Self {
        self.detrend = detrend;
        self
    }

    /// Frequency bins in the output (`nperseg / 2 + 1`).
    pub fn bins(&self) -> usize {
        self.frequencies_hz.len()
    }

    /// Centre frequency of every bin.
    pub fn frequencies_hz(&self) -> &[f64] {
        &self.frequencies_hz
    }

    /// Bin spacing (`fs / nperseg`).
    pub fn resolution_hz(&self) -> f64 {
        self.sample_rate_hz / self.nperseg as f64
    }

    /// Segment length in samples.
    pub fn nperseg(&self) -> usize {
        self.nperseg
    }

    /// Overlap in samples.
    pub fn noverlap(&self) -> usize {
        self.noverlap
    }

    /// The sample rate.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Segments averaged for a signal of `len` samples (0 if shorter than one segment).
    pub fn segments(&self, len: usize) -> usize {
        if len < self.nperseg {
            0
        } else {
            (len - self.nperseg) / (self.nperseg - self.noverlap) + 1
        }
    }

    /// Power spectral density of `x` (units²/Hz) into `psd` (at least [`Welch::bins`] values).
    /// Returns the number of segments averaged. Non-finite samples make the result non-finite;
    /// check signals with [`crate::quality`] first.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn psd<S: Sample>(&mut self, x: &[S], psd: &mut [f64]) -> Result<usize, DspError> {
        self.psd_strided(x, 0, 1, x.len(), psd)
    }

    /// [`Welch::psd`] of every row of a channel-major buffer (`channels` rows); `psd` receives
    /// `channels` rows of [`Welch::bins`] values. Returns the segments averaged per channel.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn psd_channel_major<S: Sample>(
        &mut self,
        data: &[S],
        channels: usize,
        psd: &mut [f64],
    ) -> Result<usize, DspError> {
        if channels == 0 {
            return Err(DspError::NoChannels);
        }
        if !data.len().is_multiple_of(channels) {
            return Err(DspError::RaggedBlock {
                len: data.len(),
                channels,
            });
        }
        let bins = self.bins();
        if psd.len() < channels * bins {
            return Err(DspError::BufferTooSmall {
                what: "PSD",
                needed: channels * bins,
                got: psd.len(),
            });
        }
        let frames = data.len() / channels;
        let mut segments = 0;
        for c in 0..channels {
            segments = self.psd_strided(
                data,
                c * frames,
                1,
                frames,
                &mut psd[c * bins..(c + 1) * bins],
            )?;
        }
        Ok(segments)
    }

    /// [`Welch::psd`] of channel `channel` of an interleaved buffer with `channels` channels.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn psd_interleaved<S: Sample>(
        &mut self,
        data: &[S],
        channels: usize,
        channel: usize,
        psd: &mut [f64],
    ) -> Result<usize, DspError> {
        if channel >= channels {
            return Err(DspError::ChannelOutOfRange { channel, channels });
        }
        let frames = data.len() / channels;
        self.psd_strided(data, channel, channels, frames, psd)
    }

    /// The estimator on `len` samples `data[start + i * stride]`.
    fn psd_strided<S: Sample>(
        &mut self,
        data: &[S],
        start: usize,
        stride: usize,
        len: usize,
        psd: &mut [f64],
    ) -> Result<usize, DspError> {
        let bins = self.bins();
        if psd.len() < bins {
            return Err(DspError::BufferTooSmall {
                what: "PSD",
                needed: bins,
                got: psd.len(),
            });
        }
        let segments = self.segments(len);
        if segments == 0 {
            return Err(DspError::SignalTooShort {
                len,
                needed: self.nperseg,
                what: "a Welch segment",
            });
        }
        let psd = &mut psd[..bins];
        psd.fill(0.0);
        let step = self.nperseg - self.noverlap;
        for s in 0..segments {
            let first = start + s * step * stride;
            for (i, v) in self.segment.iter_mut().enumerate() {
                *v = data[first + i * stride].to_f64();
            }
            if self.detrend == Detrend::Constant {
                let mean = self.segment.iter().sum::<f64>() / self.nperseg as f64;
                for v in &mut self.segment {
                    *v -= mean;
                }
            }
            for (v, w) in self.segment.iter_mut().zip(&self.window) {
                *v *= w;
            }
            // Lengths come from the plan itself, so the transform cannot fail.
            let _ = self.fft.process_with_scratch(
                &mut self.segment,
                &mut self.spectrum,
                &mut self.scratch,
            );
            for (p, c) in psd.iter_mut().zip(&self.spectrum) {
                *p += c.norm_sqr();
            }
        }
        let norm = self.scale / segments as f64;
        // One-sided: every bin but DC (and Nyquist, for even lengths) also holds the power of
        // its negative-frequency twin.
        let last_doubled = if self.nperseg.is_multiple_of(2) {
            bins - 1
        } else {
            bins
        };
        for (k, p) in psd.iter_mut().enumerate() {
            let twice = if k > 0 && k < last_doubled { 2.0 } else { 1.0 };
            *p *= norm * twice;
        }
        Ok(segments)
    }
}

/// Power in `[low_hz, high_hz]`: the trapezoidal integral of `psd` over the bins inside the
/// band (bin edges inclusive). A band holding one bin gets that bin times the bin spacing.
///
/// Real-time safe: does not allocate.
pub fn band_power(
    psd: &[f64],
    frequencies_hz: &[f64],
    low_hz: f64,
    high_hz: f64,
) -> Result<f64, DspError> {
    if low_hz.is_nan() || high_hz.is_nan() || low_hz >= high_hz {
        return Err(DspError::InvalidBand { low_hz, high_hz });
    }
    let resolution_hz = if frequencies_hz.len() > 1 {
        frequencies_hz[1] - frequencies_hz[0]
    } else {
        0.0
    };
    let mut first = None;
    let mut last = 0;
    for (i, &f) in frequencies_hz.iter().enumerate().take(psd.len()) {
        if f >= low_hz && f <= high_hz {
            first.get_or_insert(i);
            last = i;
        }
    }
    let Some(first) = first else {
        return Err(DspError::EmptyBand {
            low_hz,
            high_hz,
            resolution_hz,
        });
    };
    if first == last {
        return Ok(psd[first] * resolution_hz);
    }
    let mut total = 0.0;
    for i in first..last {
        total += 0.5 * (psd[i] + psd[i + 1]) * (frequencies_hz[i + 1] - frequencies_hz[i]);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_power_is_recovered() {
        // A sine of amplitude A has power A²/2; its Welch peak integrates to that.
        let fs = 250.0;
        let x: Vec<f64> = (0..2500)
            .map(|i| 3.0 * (2.0 * PI * 10.0 * i as f64 / fs).sin())
            .collect();
        let mut w = Welch::prepare(fs, 250, 125).unwrap();
        let mut psd = vec![0.0; w.bins()];
        assert_eq!(w.psd(&x, &mut psd).unwrap(), 19);
        let p = band_power(&psd, w.frequencies_hz(), 8.0, 12.0).unwrap();
        assert!((p - 4.5).abs() < 0.05, "{p}");
    }

    #[test]
    fn errors_for_short_signals_and_empty_bands() {
        let mut w = Welch::prepare(100.0, 64, 32).unwrap();
        let mut psd = vec![0.0; w.bins()];
        assert!(matches!(
            w.psd(&[0.0f32; 10], &mut psd),
            Err(DspError::SignalTooShort { .. })
        ));
        assert!(matches!(
            band_power(&psd, w.frequencies_hz(), 10.1, 10.2),
            Err(DspError::EmptyBand { .. })
        ));
        assert!(Welch::prepare(100.0, 64, 64).is_err());
    }
}
