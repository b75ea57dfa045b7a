//! Per-channel signal quality over a window: non-finite samples, flat lines, clipping and
//! mains (line-noise) contamination.
//!
//! Run it on raw (unfiltered) windows, a few times per second at most: a flat or clipped
//! amplifier channel is recognisable by exactly repeated values, which filtering hides.

use crate::spectrum::{Welch, band_power};
use crate::{DspError, Sample, check_sample_rate};

/// Thresholds of a [`QualityMonitor`]. Amplitude thresholds are in the stream's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityConfig {
    /// Mains frequency (50 or 60 Hz).
    pub line_hz: f64,
    /// Half-width of the band around `line_hz` counted as line noise.
    pub line_halfwidth_hz: f64,
    /// Band of EEG power the line noise is compared with (should exclude `line_hz`).
    pub reference_band_hz: (f64, f64),
    /// A channel is flagged when line power exceeds this multiple of the reference power.
    pub max_line_ratio: f64,
    /// A channel is flat when it repeats exactly the same value for at least this long...
    pub flat_run_secs: f64,
    /// ...or when its peak-to-peak range is at most this (0: only exactly constant windows;
    /// e.g. 0.5 for microvolt data flags near-flat channels too).
    pub flat_peak_to_peak: f64,
    /// Amplifier rail: samples with `|x| >= clip_level` count as clipped. `None`: samples
    /// stuck at the window's extreme value (two or more in a row) count as clipped.
    pub clip_level: Option<f64>,
    /// A channel is flagged when this fraction of its samples or more are clipped.
    pub max_clipped_fraction: f64,
}

impl Default for QualityConfig {
    fn default() -> Self {
        QualityConfig {
            line_hz: 50.0,
            line_halfwidth_hz: 1.0,
            reference_band_hz: (1.0, 40.0),
            max_line_ratio: 1.0,
            flat_run_secs: 0.5,
            flat_peak_to_peak: 0.0,
            clip_level: None,
            max_clipped_fraction: 0.01,
        }
    }
}

/// Quality measures of one channel over one window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ChannelQuality {
    /// NaN or infinite samples.
    pub non_finite: usize,
    /// Peak-to-peak range of the finite samples.
    pub peak_to_peak: f64,
    /// Standard deviation of the finite samples.
    pub std: f64,
    /// Longest run of exactly repeated values.
    pub longest_flat_secs: f64,
    /// Flat line (see [`QualityConfig::flat_run_secs`]).
    pub flat: bool,
    /// Fraction of samples counted as clipped.
    pub clipped_fraction: f64,
    /// Clipping (see [`QualityConfig::max_clipped_fraction`]).
    pub clipping: bool,
    /// Line power over reference-band power; `None` when the line frequency is at or above
    /// Nyquist or the channel has no power in the reference band.
    pub line_noise_ratio: Option<f64>,
    /// Line noise above [`QualityConfig::max_line_ratio`].
    pub line_noise: bool,
}

impl ChannelQuality {
    /// Whether no problem was found.
    ///
    /// Real-time safe: does not allocate.
    pub fn is_good(&self) -> bool {
        self.non_finite == 0 && !self.flat && !self.clipping && !self.line_noise
    }
}

/// Counts NaN and infinite samples.
///
/// Real-time safe: does not allocate.
pub fn count_non_finite<S: Sample>(x: &[S]) -> usize {
    x.iter().filter(|v| !v.to_f64().is_finite()).count()
}

/// Assesses windows of a fixed length, channel by channel, with a prepared Welch estimator
/// for the line-noise ratio.
#[derive(Debug)]
pub struct QualityMonitor {
    config: QualityConfig,
    sample_rate_hz: f64,
    channels: usize,
    window_frames: usize,
    welch: Welch,
    psd: Vec<f64>,
    scratch: Vec<f64>,
}

impl QualityMonitor {
    /// Prepares for `channels`-channel windows of `window_frames` frames at `sample_rate_hz`.
    /// The line-noise spectrum uses Welch segments of about one second (1 Hz resolution), or
    /// the whole window when it is shorter.
    ///
    /// Allocates; call it on the setup thread.
    pub fn prepare(
        config: QualityConfig,
        sample_rate_hz: f64,
        channels: usize,
        window_frames: usize,
    ) -> Result<Self, DspError> {
        let fs = check_sample_rate(sample_rate_hz)?;
        if channels == 0 {
            return Err(DspError::NoChannels);
        }
        if window_frames < 2 {
            return Err(DspError::InvalidParameter {
                name: "window_frames",
                value: window_frames as f64,
                hint: "assess windows of at least 2 frames, typically 1 to 4 seconds",
            });
        }
        let (lo, hi) = config.reference_band_hz;
        if lo.is_nan() || hi.is_nan() || lo >= hi {
            return Err(DspError::InvalidBand {
                low_hz: lo,
                high_hz: hi,
            });
        }
        let nperseg = window_frames.min(fs.round().max(2.0) as usize);
        let welch = Welch::prepare(fs, nperseg, nperseg / 2)?;
        Ok(QualityMonitor {
            psd: vec![0.0; welch.bins()],
            scratch: vec![0.0; window_frames],
            welch,
            config,
            sample_rate_hz: fs,
            channels,
            window_frames,
        })
    }

    /// The thresholds.
    pub fn config(&self) -> &QualityConfig {
        &self.config
    }

    /// Frames per assessed window.
    pub fn window_frames(&self) -> usize {
        self.window_frames
    }

    /// Assesses a channel-major window (`channels × window_frames`, as
    /// [`crate::window::RingWindow::latest_channel_major`] produces) into `out` (one entry
    /// per channel).
    ///
    /// Real-time safe: does not allocate; called on the worker thread (or a slower monitoring
    /// thread).
    pub fn assess_channel_major<S: Sample>(
        &mut self,
        window: &[S],
        out: &mut [ChannelQuality],
    ) -> Result<(), DspError> {
        let n = self.window_frames;
        if window.len() != self.channels * n {
            return Err(DspError::BufferTooSmall {
                what: "quality window",
                needed: self.channels * n,
                got: window.len(),
            });
        }
        if out.len() < self.channels {
            return Err(DspError::BufferTooSmall {
                what: "quality result",
                needed: self.channels,
                got: out.len(),
            });
        }
        for (row, q) in window.chunks_exact(n).zip(out.iter_mut()) {
            *q = self.assess_row(row);
        }
        Ok(())
    }

    fn assess_row<S: Sample>(&mut self, row: &[S]) -> ChannelQuality {
        let c = self.config;
        let mut q = ChannelQuality::default();

        // Copy with the crate's non-finite policy (hold the last finite value) so that the
        // statistics and the spectrum describe the finite part of the signal.
        let mut last = row
            .iter()
            .map(|v| v.to_f64())
            .find(|v| v.is_finite())
            .unwrap_or(0.0);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut sum, mut sum_sq, mut finite) = (0.0, 0.0, 0usize);
        for (s, v) in self.scratch.iter_mut().zip(row) {
            let v = v.to_f64();
            if v.is_finite() {
                last = v;
                min = min.min(v);
                max = max.max(v);
                sum += v;
                sum_sq += v * v;
                finite += 1;
            } else {
                q.non_finite += 1;
            }
            *s = last;
        }
        if finite > 0 {
            let mean = sum / finite as f64;
            q.peak_to_peak = max - min;
            q.std = (sum_sq / finite as f64 - mean * mean).max(0.0).sqrt();
        }

        let x = &self.scratch;
        let mut longest = 1usize;
        let mut run = 1usize;
        let mut clipped = 0usize;
        for i in 0..x.len() {
            if i > 0 && x[i] == x[i - 1] {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 1;
            }
            let is_clipped = match c.clip_level {
                Some(level) => x[i].abs() >= level,
                None => {
                    let at_extreme = x[i] == max || x[i] == min;
                    let repeated =
                        (i > 0 && x[i - 1] == x[i]) || (i + 1 < x.len() && x[i + 1] == x[i]);
                    at_extreme && repeated && max > min
                }
            };
            clipped += usize::from(is_clipped);
        }
        q.longest_flat_secs = longest as f64 / self.sample_rate_hz;
        q.flat = finite == 0
            || q.longest_flat_secs >= c.flat_run_secs
            || q.peak_to_peak <= c.flat_peak_to_peak;
        q.clipped_fraction = clipped as f64 / x.len() as f64;
        q.clipping = !q.flat && q.clipped_fraction >= c.max_clipped_fraction;

        if c.line_hz + c.line_halfwidth_hz < self.sample_rate_hz / 2.0
            && self.welch.psd(&self.scratch, &mut self.psd).is_ok()
        {
            let freqs = self.welch.frequencies_hz();
            let line = band_power(
                &self.psd,
                freqs,
                c.line_hz - c.line_halfwidth_hz,
                c.line_hz + c.line_halfwidth_hz,
            );
            let reference = band_power(
                &self.psd,
                freqs,
                c.reference_band_hz.0,
                c.reference_band_hz.1,
            );
            if let (Ok(line), Ok(reference)) = (line, reference)
                && reference > 0.0
            {
                let ratio = line / reference;
                q.line_noise_ratio = Some(ratio);
                q.line_noise = ratio > c.max_line_ratio;
            }
        }
        q
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn eeg_like(fs: f64, n: usize, line_amplitude: f64) -> Vec<f64> {
        // Deterministic broadband signal: a few incommensurate sines plus a line component.
        (0..n)
            .map(|i| {
                let t = i as f64 / fs;
                10.0 * (2.0 * PI * 3.1 * t).sin()
                    + 8.0 * (2.0 * PI * 10.3 * t + 1.0).sin()
                    + 4.0 * (2.0 * PI * 21.7 * t + 2.0).sin()
                    + line_amplitude * (2.0 * PI * 50.0 * t).sin()
            })
            .collect()
    }

    #[test]
    fn finds_flat_clipped_noisy_and_nan_channels() {
        let fs = 250.0;
        let n = 500;
        let good = eeg_like(fs, n, 1.0);
        let flat = vec![3.0; n];
        let clipped: Vec<f64> = good.iter().map(|v| v.clamp(-12.0, 12.0)).collect();
        let noisy = eeg_like(fs, n, 60.0);
        let mut with_nan = good.clone();
        with_nan[100] = f64::NAN;
        let window: Vec<f64> = [&good, &flat, &clipped, &noisy, &with_nan]
            .iter()
            .flat_map(|r| r.iter().copied())
            .collect();
        let mut monitor = QualityMonitor::prepare(QualityConfig::default(), fs, 5, n).unwrap();
        let mut out = [ChannelQuality::default(); 5];
        monitor.assess_channel_major(&window, &mut out).unwrap();
        assert!(out[0].is_good(), "{:?}", out[0]);
        assert!(out[1].flat && !out[1].clipping);
        assert!(out[2].clipping && !out[2].flat, "{:?}", out[2]);
        assert!(out[3].line_noise && !out[3].clipping, "{:?}", out[3]);
        assert!(out[3].line_noise_ratio.unwrap() > 10.0);
        assert_eq!(out[4].non_finite, 1);
        assert!(!out[4].is_good() && !out[4].line_noise && !out[4].flat);
    }

    #[test]
    fn clip_level_counts_rail_hits() {
        let fs = 100.0;
        let x: Vec<f32> = (0..100)
            .map(|i| if i % 10 == 0 { 500.0 } else { i as f32 })
            .collect();
        let config = QualityConfig {
            clip_level: Some(500.0),
            ..QualityConfig::default()
        };
        let mut m = QualityMonitor::prepare(config, fs, 1, 100).unwrap();
        let mut out = [ChannelQuality::default()];
        m.assess_channel_major(&x, &mut out).unwrap();
        assert!((out[0].clipped_fraction - 0.1).abs() < 1e-12);
        assert!(out[0].clipping);
        assert_eq!(out[0].line_noise_ratio, None, "50 Hz is Nyquist at 100 Hz");
        assert_eq!(count_non_finite(&[1.0f32, f32::NAN, f32::INFINITY]), 2);
    }
}
