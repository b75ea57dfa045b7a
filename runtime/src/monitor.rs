//! Signal monitor: spectra and per-channel signal quality of the raw stream, computed on the
//! GUI thread from the pipeline's raw display feed (full rate, before the front end), so a
//! researcher sees what the amplifier delivers — line noise, flat or clipping electrodes,
//! missing samples — beside the filtered traces the decoders read.
//!
//! [`SignalMonitor`] keeps the latest [`SignalMonitor::WINDOW_SECS`] of raw samples and every
//! [`SignalMonitor::UPDATE_SECS`] recomputes a Welch spectrum per channel (1-s Hann segments,
//! half overlap: scipy's `welch` with `nperseg = fs`) and the quality measures of
//! [`neuroloop_dsp::quality`]. It never touches the pipeline: the feed is a lock-free ring the
//! worker fills and this side drains.
//!
//! The mains frequency is the session's notch; with the notch off it is read from the spectra
//! ([`mains_from_spectra`]: 50 or 60 Hz, whichever stands out of its neighbourhood), so the
//! line-noise check and the spectrum's marker follow the site's mains.

use neuroloop_acquisition::ChannelKind;
use neuroloop_dsp::quality::{ChannelQuality, QualityConfig, QualityMonitor};
use neuroloop_dsp::spectrum::Welch;
use neuroloop_dsp::window::RingWindow;

/// What is wrong with a channel, worst first; each has a colour, a short label and the fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QualityFlag {
    /// Not enough data yet.
    Waiting,
    /// NaN or infinite samples (the amplifier or the stream lost samples).
    NonFinite,
    /// The channel repeats one value (electrode off, channel disabled).
    Flat,
    /// Samples at the amplifier's rail.
    Clipping,
    /// Mains interference above EEG power.
    LineNoise,
    /// Nothing found.
    Good,
}

impl QualityFlag {
    /// The worst problem of `q`.
    pub fn of(q: &ChannelQuality) -> QualityFlag {
        if q.non_finite > 0 {
            QualityFlag::NonFinite
        } else if q.flat {
            QualityFlag::Flat
        } else if q.clipping {
            QualityFlag::Clipping
        } else if q.line_noise {
            QualityFlag::LineNoise
        } else {
            QualityFlag::Good
        }
    }

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            QualityFlag::Waiting => "waiting",
            QualityFlag::NonFinite => "NaN",
            QualityFlag::Flat => "flat",
            QualityFlag::Clipping => "clipping",
            QualityFlag::LineNoise => "line noise",
            QualityFlag::Good => "good",
        }
    }

    /// What to do about it.
    pub fn fix(self) -> &'static str {
        match self {
            QualityFlag::Waiting => "collecting the first seconds of data",
            QualityFlag::NonFinite => {
                "the stream delivers NaN/Inf samples: check the amplifier's connection and its driver"
            }
            QualityFlag::Flat => {
                "the channel does not change: reseat the electrode or check that the channel is enabled"
            }
            QualityFlag::Clipping => {
                "samples sit at the amplifier's rail: lower the impedance (gel), check the reference, or reduce the gain"
            }
            QualityFlag::LineNoise => {
                "mains interference dominates: lower the electrode impedance, move cables away from power supplies, check the ground"
            }
            QualityFlag::Good => "no problem found",
        }
    }
}

/// Spectra and quality of the latest raw window. See the [module documentation](self).
#[derive(Debug)]
pub struct SignalMonitor {
    labels: Vec<String>,
    rate_hz: f64,
    history: RingWindow,
    window: Vec<f32>,
    welch: Welch,
    psd: Vec<f64>,
    quality_monitor: QualityMonitor,
    quality_config: QualityConfig,
    /// Whether the mains frequency is read from the spectra (no notch to say it).
    detect_mains: bool,
    /// Another mains frequency the spectra showed, and in how many updates in a row.
    mains_candidate: Option<(f64, u32)>,
    quality: Vec<ChannelQuality>,
    /// What each channel measures; only EEG is assessed as EEG.
    kinds: Vec<ChannelKind>,
    /// Whether each channel carries EEG.
    eeg: Vec<bool>,
    /// Frames since the last update.
    since_update: usize,
    updates: u64,
}

impl SignalMonitor {
    /// Seconds of raw signal assessed.
    pub const WINDOW_SECS: f64 = 4.0;
    /// Seconds between updates.
    pub const UPDATE_SECS: f64 = 0.5;
    /// Updates in a row that must show another mains frequency before it is taken.
    pub const MAINS_UPDATES: u32 = 3;

    /// A monitor for a stream of `labels` at `rate_hz`, flagging with `quality` (its amplitude
    /// thresholds in the stream's units, µV for EEG).
    pub fn new(
        labels: Vec<String>,
        rate_hz: f64,
        quality: QualityConfig,
    ) -> Result<Self, neuroloop_dsp::DspError> {
        let channels = labels.len();
        let frames = (Self::WINDOW_SECS * rate_hz).round() as usize;
        let nperseg = (rate_hz.round() as usize).clamp(2, frames);
        let welch = Welch::prepare(rate_hz, nperseg, nperseg / 2)?;
        Ok(SignalMonitor {
            history: RingWindow::new(channels, frames),
            window: vec![0.0; channels * frames],
            psd: vec![f64::NAN; channels * welch.bins()],
            quality_monitor: QualityMonitor::prepare(quality, rate_hz, channels, frames)?,
            quality_config: quality,
            detect_mains: false,
            mains_candidate: None,
            quality: vec![ChannelQuality::default(); channels],
            kinds: vec![ChannelKind::Eeg; channels],
            eeg: vec![true; channels],
            welch,
            labels,
            rate_hz,
            since_update: 0,
            updates: 0,
        })
    }

    /// Reads the mains frequency from the spectra ([`mains_from_spectra`]) instead of
    /// trusting the configured `line_hz` (for sessions without a notch): another frequency
    /// is taken once [`SignalMonitor::MAINS_UPDATES`] updates in a row show it.
    pub fn detecting_mains(mut self) -> Self {
        self.detect_mains = true;
        self
    }

    /// What each channel measures (default: all EEG); only EEG channels feed the quality
    /// verdicts, the spectra and the mains detection a window shows.
    pub fn with_kinds(mut self, kinds: &[ChannelKind]) -> Self {
        for (c, kind) in kinds.iter().enumerate().take(self.kinds.len()) {
            self.kinds[c] = *kind;
            self.eeg[c] = *kind == ChannelKind::Eeg;
        }
        self
    }

    /// What channel `c` measures.
    pub fn kind(&self, c: usize) -> ChannelKind {
        self.kinds.get(c).copied().unwrap_or_default()
    }

    /// Whether channel `c` carries EEG.
    pub fn is_eeg(&self, c: usize) -> bool {
        self.eeg.get(c).copied().unwrap_or(true)
    }

    /// The mains frequency the line-noise check uses (and the spectra mark).
    pub fn line_hz(&self) -> f64 {
        self.quality_config.line_hz
    }

    /// Channel labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The stream's rate.
    pub fn rate_hz(&self) -> f64 {
        self.rate_hz
    }

    /// Adds raw interleaved frames; recomputes spectra and quality when an update is due and
    /// a full window is held. Returns whether it recomputed.
    pub fn push_interleaved(&mut self, block: &[f32]) -> bool {
        let channels = self.labels.len().max(1);
        self.history.push_interleaved(block);
        self.since_update += block.len() / channels;
        let due = self.since_update as f64 >= Self::UPDATE_SECS * self.rate_hz;
        if due && self.history.len() == self.history.capacity() {
            self.since_update = 0;
            self.update();
            true
        } else {
            false
        }
    }

    fn update(&mut self) {
        let n = self.history.capacity();
        let channels = self.labels.len();
        if self
            .history
            .try_latest_channel_major(n, &mut self.window)
            .is_err()
        {
            return;
        }
        if self
            .welch
            .psd_channel_major(&self.window, channels, &mut self.psd)
            .is_err()
        {
            self.psd.fill(f64::NAN);
        }
        if self.detect_mains {
            let seen =
                mains_from_spectra_of(self.welch.frequencies_hz(), &self.psd, channels, &self.eeg)
                    .filter(|&hz| hz != self.quality_config.line_hz);
            self.mains_candidate = match (seen, self.mains_candidate) {
                (Some(hz), Some((c, votes))) if c == hz => Some((hz, votes + 1)),
                (Some(hz), _) => Some((hz, 1)),
                (None, _) => None,
            };
            if let Some((hz, votes)) = self.mains_candidate
                && votes >= Self::MAINS_UPDATES
            {
                let config = QualityConfig {
                    line_hz: hz,
                    ..self.quality_config
                };
                // The GUI thread: rebuilding the check here allocates nothing the pipeline
                // sees.
                if let Ok(m) = QualityMonitor::prepare(config, self.rate_hz, channels, n) {
                    self.quality_monitor = m;
                    self.quality_config = config;
                }
                self.mains_candidate = None;
            }
        }
        if self
            .quality_monitor
            .assess_channel_major(&self.window, &mut self.quality)
            .is_err()
        {
            self.quality.fill(ChannelQuality::default());
        }
        self.updates += 1;
    }

    /// Updates so far (0: not a full window yet).
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Frequencies of the spectrum's bins (Hz).
    pub fn frequencies_hz(&self) -> &[f64] {
        self.welch.frequencies_hz()
    }

    /// Power spectral density of `channel` (units² / Hz; NaN before the first update).
    pub fn psd(&self, channel: usize) -> &[f64] {
        let bins = self.welch.bins();
        &self.psd[channel * bins..(channel + 1) * bins]
    }

    /// Quality measures per channel (defaults before the first update).
    pub fn quality(&self) -> &[ChannelQuality] {
        &self.quality
    }

    /// The verdict per channel.
    pub fn flag(&self, channel: usize) -> QualityFlag {
        if self.updates == 0 {
            QualityFlag::Waiting
        } else {
            QualityFlag::of(&self.quality[channel])
        }
    }

    /// Frequency of the largest spectral value of `channel` within `band_hz`, after the first
    /// update.
    pub fn peak_hz(&self, channel: usize, band_hz: (f64, f64)) -> Option<f64> {
        self.frequencies_hz()
            .iter()
            .zip(self.psd(channel))
            .filter(|&(&f, p)| f >= band_hz.0 && f <= band_hz.1 && p.is_finite())
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(&f, _)| f)
    }
}

/// The mains frequency standing out of `psd` (channel-major spectra at `freqs_hz`): 50 or
/// 60 Hz, whichever has the larger upper-quartile (over channels: mains often shows on a few
/// poorly connected electrodes only) ratio of its bin to the median of the bins 3-8 Hz away
/// (on the side below only, near Nyquist), when that ratio is at least 4; `None` when neither
/// line is seen or the rate cannot show it.
pub fn mains_from_spectra(freqs_hz: &[f64], psd: &[f64], channels: usize) -> Option<f64> {
    mains_from_spectra_of(freqs_hz, psd, channels, &[])
}

/// [`mains_from_spectra`] over the channels flagged in `eeg` (empty: all): a pulse or position
/// channel says nothing about the mains on the scalp.
pub fn mains_from_spectra_of(
    freqs_hz: &[f64],
    psd: &[f64],
    channels: usize,
    eeg: &[bool],
) -> Option<f64> {
    let bins = freqs_hz.len();
    if bins < 2 || channels == 0 || psd.len() != bins * channels {
        return None;
    }
    let step = freqs_hz[1] - freqs_hz[0];
    let bin = |f: f64| ((f - freqs_hz[0]) / step).round() as usize;
    let prominence = |f0: f64| -> Option<f64> {
        if f0 + step > freqs_hz[bins - 1] {
            return None;
        }
        let mut ratios: Vec<f64> = (0..channels)
            .filter(|&c| eeg.get(c).is_none_or(|&e| e))
            .filter_map(|c| {
                let p = &psd[c * bins..(c + 1) * bins];
                let mut around: Vec<f64> = freqs_hz
                    .iter()
                    .zip(p)
                    .filter(|&(&f, v)| (3.0..=8.0).contains(&(f - f0).abs()) && v.is_finite())
                    .map(|(_, &v)| v)
                    .collect();
                if around.len() < 3 {
                    return None;
                }
                around.sort_by(f64::total_cmp);
                let floor = around[around.len() / 2];
                let peak = p[bin(f0)];
                (peak.is_finite() && floor > 0.0).then(|| peak / floor)
            })
            .collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        Some(ratios[(ratios.len() * 3 / 4).min(ratios.len() - 1)])
    };
    [50.0, 60.0]
        .into_iter()
        .filter_map(|f0| Some((f0, prominence(f0)?)))
        .filter(|&(_, r)| r >= 4.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(f0, _)| f0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuroloop_acquisition::sim::{SimConfig, Simulator};

    fn simulated(config: SimConfig, secs: f64) -> (Vec<f32>, Vec<String>, f64) {
        let mut sim = Simulator::new(config.clone()).unwrap();
        let ch = config.channel_labels.len();
        let frames = (secs * config.sample_rate_hz) as usize;
        let mut data = vec![0.0f32; frames * ch];
        sim.generate(&mut data);
        (data, config.channel_labels, config.sample_rate_hz)
    }

    /// Without a notch, the monitor reads the mains from the spectra: 60 Hz from a 60-Hz
    /// site and 50 Hz from a 50-Hz one whatever it started with (after
    /// [`SignalMonitor::MAINS_UPDATES`] updates agree), and keeps its setting when no line
    /// stands out.
    #[test]
    fn the_mains_frequency_is_read_from_the_spectra_when_no_notch_says_it() {
        for (line, start, expected) in [
            (Some(60.0), 50.0, 60.0),
            (Some(50.0), 60.0, 50.0),
            (None, 60.0, 60.0),
        ] {
            let config = SimConfig {
                line_noise: line.map(|hz| (hz, 5.0)),
                ..SimConfig::default()
            };
            let (data, labels, fs) = simulated(config, 6.0);
            let ch = labels.len();
            let quality = QualityConfig {
                line_hz: start,
                ..QualityConfig::default()
            };
            let mut m = SignalMonitor::new(labels, fs, quality)
                .unwrap()
                .detecting_mains();
            let mut seen = Vec::new();
            for block in data.chunks(10 * ch) {
                if m.push_interleaved(block) {
                    seen.push(m.line_hz());
                }
            }
            // The first two updates keep the start, the third takes the line.
            assert!(seen.len() >= 3, "{} updates", seen.len());
            if line.is_some_and(|hz| hz != start) {
                assert_eq!(&seen[..2], &[start, start], "line {line:?}");
            }
            assert_eq!(m.line_hz(), expected, "line {line:?}");
            let found = mains_from_spectra(m.frequencies_hz(), &m.psd, ch);
            assert_eq!(found, line, "line {line:?}");
        }
        // Too slow a rate to show either line; a 128-Hz headset still shows 60 Hz.
        assert_eq!(mains_from_spectra(&[0.0, 1.0, 2.0], &[1.0; 3], 1), None);
        let freqs: Vec<f64> = (0..=64).map(f64::from).collect();
        let mut psd = vec![1.0; 65];
        psd[60] = 10.0;
        assert_eq!(mains_from_spectra(&freqs, &psd, 1), Some(60.0));
    }

    #[test]
    fn spectra_show_alpha_and_line_noise_and_quality_flags_bad_channels() {
        let config = SimConfig::default();
        let (mut data, labels, fs) = simulated(config, 6.0);
        let ch = labels.len();
        // Channel 1 flat from the start, channel 2 clipped at ±100 µV, channel 3 with a NaN.
        for (f, frame) in data.chunks_exact_mut(ch).enumerate() {
            frame[1] = 5.0;
            frame[2] = (frame[2] * 20.0).clamp(-100.0, 100.0);
            if f == 900 {
                frame[3] = f32::NAN;
            }
        }
        let mut m = SignalMonitor::new(
            labels.clone(),
            fs,
            QualityConfig {
                clip_level: Some(100.0),
                ..QualityConfig::default()
            },
        )
        .unwrap();
        assert_eq!(m.flag(0), QualityFlag::Waiting);
        let mut updated = 0;
        for block in data.chunks(8 * ch) {
            updated += usize::from(m.push_interleaved(block));
        }
        // 6 s of data, a 4-s window, an update every 0.5 s once it is full.
        assert!((4..=5).contains(&updated), "{updated} updates");
        assert_eq!(m.frequencies_hz()[1] - m.frequencies_hz()[0], 1.0);
        let occipital = labels.iter().position(|l| l == "Oz").expect("Oz");
        assert_eq!(m.peak_hz(occipital, (6.0, 14.0)), Some(10.0), "alpha");
        assert_eq!(m.peak_hz(occipital, (40.0, 60.0)), Some(50.0), "mains");
        assert_eq!(m.flag(1), QualityFlag::Flat);
        assert_eq!(m.flag(2), QualityFlag::Clipping);
        assert_eq!(m.flag(3), QualityFlag::NonFinite);
        assert_eq!(
            m.flag(occipital),
            QualityFlag::Good,
            "{:?}",
            m.quality()[occipital]
        );
        for flag in [
            QualityFlag::Flat,
            QualityFlag::Clipping,
            QualityFlag::NonFinite,
        ] {
            assert!(!flag.fix().is_empty() && flag.label() != QualityFlag::Good.label());
        }
    }
}
