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

    /// Display colour.
    pub fn color(self) -> egui::Color32 {
        match self {
            QualityFlag::Waiting => egui::Color32::GRAY,
            QualityFlag::NonFinite => egui::Color32::from_rgb(170, 60, 200),
            QualityFlag::Flat => egui::Color32::from_rgb(220, 50, 50),
            QualityFlag::Clipping => egui::Color32::from_rgb(240, 130, 20),
            QualityFlag::LineNoise => egui::Color32::from_rgb(220, 190, 30),
            QualityFlag::Good => egui::Color32::from_rgb(40, 170, 70),
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
    quality: Vec<ChannelQuality>,
    /// Frames since the last update.
    since_update: usize,
    updates: u64,
}

impl SignalMonitor {
    /// Seconds of raw signal assessed.
    pub const WINDOW_SECS: f64 = 4.0;
    /// Seconds between updates.
    pub const UPDATE_SECS: f64 = 0.5;

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
            quality: vec![ChannelQuality::default(); channels],
            welch,
            labels,
            rate_hz,
            since_update: 0,
            updates: 0,
        })
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

/// The spectra of every channel (log scale, µV²/Hz for EEG) up to `max_hz`, with the mains
/// frequency marked.
pub fn spectra_ui(ui: &mut egui::Ui, m: &SignalMonitor, line_hz: f64, max_hz: f64) {
    use egui_plot::{Legend, Line, Plot, PlotPoints, VLine};
    let f = m.frequencies_hz();
    Plot::new("spectra")
        .legend(Legend::default())
        .allow_scroll(false)
        .x_axis_label("Hz")
        .y_axis_label("log10 PSD (units²/Hz)")
        .show(ui, |plot| {
            for (c, label) in m.labels().iter().enumerate() {
                let points: PlotPoints<'_> = f
                    .iter()
                    .zip(m.psd(c))
                    .filter(|&(&hz, p)| hz > 0.0 && hz <= max_hz && *p > 0.0)
                    .map(|(&hz, &p)| [hz, p.log10()])
                    .collect();
                plot.line(Line::new(label.clone(), points));
            }
            if line_hz < max_hz {
                plot.vline(VLine::new(format!("mains {line_hz} Hz"), line_hz));
            }
        });
}

/// One coloured cell per channel with its verdict; hovering shows the measures and the fix.
pub fn quality_ui(ui: &mut egui::Ui, m: &SignalMonitor) {
    ui.horizontal_wrapped(|ui| {
        for (c, label) in m.labels().iter().enumerate() {
            let flag = m.flag(c);
            let q = m.quality()[c];
            let text = egui::RichText::new(format!("{label}: {}", flag.label()))
                .color(egui::Color32::BLACK)
                .background_color(flag.color());
            ui.label(text).on_hover_text(format!(
                "{}\nstd {:.1}, peak-to-peak {:.1}, longest flat run {:.2} s, clipped {:.1} %, line/EEG power {}",
                flag.fix(),
                q.std,
                q.peak_to_peak,
                q.longest_flat_secs,
                100.0 * q.clipped_fraction,
                q.line_noise_ratio
                    .map_or("n/a".to_owned(), |r| format!("{r:.2}"))
            ));
        }
    });
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
            assert!(!flag.fix().is_empty() && flag.color() != QualityFlag::Good.color());
        }
    }
}
