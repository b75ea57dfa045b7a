//! The streaming SSVEP decoder: band-pass, sliding window, CCA against every target.

use neuroloop_dsp::filter::{FilterChain, FilterKind, FilterSpec};
use neuroloop_dsp::window::RingWindow;

use super::cca::CcaScorer;
use crate::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};

/// Settings of [`SsvepCcaDecoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct SsvepCcaConfig {
    /// Stimulus frequencies, one class each.
    pub targets_hz: Vec<f64>,
    /// Harmonics in the references (including the fundamental).
    pub harmonics: usize,
    /// Analysis window.
    pub window_secs: f64,
    /// Time between decisions.
    pub step_secs: f64,
    /// Channels to use; empty selects parietal and occipital channels by their 10-10 labels
    /// (all channels when the stream has none).
    pub channels: Vec<String>,
    /// Band-pass applied before CCA.
    pub band_hz: (f64, f64),
    /// Order of the band-pass.
    pub filter_order: usize,
    /// A decision is a selection when `(ρ₁ − ρ₂) / ρ₁` reaches this margin.
    pub min_margin: f64,
}

impl Default for SsvepCcaConfig {
    fn default() -> Self {
        SsvepCcaConfig {
            targets_hz: vec![7.0, 8.5, 12.0, 15.0],
            harmonics: 3,
            window_secs: 2.0,
            step_secs: 0.2,
            channels: Vec::new(),
            band_hz: (6.0, 45.0),
            filter_order: 4,
            min_margin: 0.15,
        }
    }
}

/// Whether a 10-10 label sits over parietal or occipital cortex (P*, PO*, O*, Iz).
fn is_posterior(label: &str) -> bool {
    let l = label.trim().trim_end_matches('.').to_ascii_uppercase();
    l.starts_with('P') || l.starts_with('O') || l == "IZ"
}

/// CCA SSVEP decoder (Lin et al. 2006) on a sliding window.
pub struct SsvepCcaDecoder {
    cfg: SsvepCcaConfig,
    class_names: Vec<String>,
    picks: Vec<usize>,
    filter: FilterChain,
    window: Option<RingWindow>,
    scorer: Option<CcaScorer>,
    scratch: Vec<f32>,
    window_buf: Vec<f32>,
    scores: Vec<f64>,
    window_frames: usize,
    step_frames: usize,
    until_decision: usize,
    sample_rate_hz: f64,
}

impl SsvepCcaDecoder {
    /// Creates the decoder; validation happens in [`Decoder::prepare`].
    pub fn new(cfg: SsvepCcaConfig) -> Self {
        let class_names = cfg.targets_hz.iter().map(|f| format!("{f}Hz")).collect();
        SsvepCcaDecoder {
            class_names,
            picks: Vec::new(),
            filter: FilterChain::new(Vec::new()),
            window: None,
            scorer: None,
            scratch: Vec::new(),
            window_buf: Vec::new(),
            scores: Vec::new(),
            window_frames: 0,
            step_frames: 0,
            until_decision: 0,
            sample_rate_hz: 0.0,
            cfg,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SsvepCcaConfig {
        &self.cfg
    }

    /// Indices (into the stream's channels) the decoder reads.
    pub fn picked_channels(&self) -> &[usize] {
        &self.picks
    }

    fn decide(&mut self, stamp: f64, out: &mut DecisionBuffer) {
        let (Some(window), Some(scorer)) = (self.window.as_ref(), self.scorer.as_mut()) else {
            return;
        };
        if window.len() < self.window_frames {
            return;
        }
        window.latest_channel_major(self.window_frames, &mut self.window_buf);
        scorer.score(&self.window_buf, &mut self.scores);
        let (mut best, mut second) = (0usize, None::<usize>);
        for i in 1..self.scores.len() {
            if self.scores[i] > self.scores[best] {
                second = Some(best);
                best = i;
            } else if second.is_none_or(|s| self.scores[i] > self.scores[s]) {
                second = Some(i);
            }
        }
        let rho = self.scores[best];
        let margin = match second {
            Some(s) if rho > 0.0 => (rho - self.scores[s]) / rho,
            Some(_) => 0.0,
            None => 1.0,
        };
        out.push(Decision {
            class: best as u16,
            score: rho as f32,
            confidence: margin as f32,
            confident: margin >= self.cfg.min_margin,
            sample_time: stamp,
            window_secs: (self.window_frames as f64 / self.sample_rate_hz) as f32,
        });
    }
}

impl Decoder for SsvepCcaDecoder {
    fn name(&self) -> &str {
        "ssvep-cca"
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        let fs = ctx.sample_rate_hz;
        let labels = &ctx.channel_labels;
        self.picks = if self.cfg.channels.is_empty() {
            let posterior: Vec<usize> = (0..labels.len())
                .filter(|&i| is_posterior(&labels[i]))
                .collect();
            if posterior.is_empty() {
                (0..labels.len()).collect()
            } else {
                posterior
            }
        } else {
            self.cfg
                .channels
                .iter()
                .map(|want| {
                    labels
                        .iter()
                        .position(|l| l.eq_ignore_ascii_case(want))
                        .ok_or_else(|| DecoderError::MissingChannel {
                            label: want.clone(),
                            available: labels.join(", "),
                        })
                })
                .collect::<Result<_, _>>()?
        };
        if self.picks.is_empty() {
            return Err(DecoderError::NoChannels);
        }
        if !(self.cfg.window_secs > 0.0 && self.cfg.step_secs > 0.0) {
            return Err(DecoderError::BadSetting {
                name: "window_secs/step_secs",
                value: self.cfg.window_secs.min(self.cfg.step_secs),
                hint: "give positive durations, e.g. a 2 s window every 0.25 s",
            });
        }
        let n = self.picks.len();
        self.window_frames = (self.cfg.window_secs * fs).round() as usize;
        self.step_frames = ((self.cfg.step_secs * fs).round() as usize).max(1);
        self.until_decision = self.step_frames;
        self.sample_rate_hz = fs;
        let high = self.cfg.band_hz.1.min(0.45 * fs);
        self.filter = FilterChain::new(vec![FilterSpec {
            kind: FilterKind::BandPass {
                low_hz: self.cfg.band_hz.0,
                high_hz: high,
            },
            order: self.cfg.filter_order,
        }]);
        self.filter.prepare(fs, n, ctx.max_block_frames)?;
        self.scorer = Some(CcaScorer::new(
            n,
            self.window_frames,
            fs,
            &self.cfg.targets_hz,
            self.cfg.harmonics,
        )?);
        self.window = Some(RingWindow::new(n, self.window_frames));
        self.scratch = vec![0.0; ctx.max_block_frames * n];
        self.window_buf = vec![0.0; self.window_frames * n];
        self.scores = vec![0.0; self.cfg.targets_hz.len()];
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let channels = block.len() / stamps.len().max(1);
        let n = self.picks.len();
        let mut start = 0;
        while start < stamps.len() {
            // Cut the block where a decision falls due, so it is stamped with the exact sample.
            let take = (stamps.len() - start).min(self.until_decision);
            let scratch = &mut self.scratch[..take * n];
            for f in 0..take {
                let frame = &block[(start + f) * channels..(start + f + 1) * channels];
                for (k, &c) in self.picks.iter().enumerate() {
                    scratch[f * n + k] = frame[c];
                }
            }
            self.filter.process_interleaved(scratch);
            if let Some(w) = self.window.as_mut() {
                w.push_interleaved(scratch);
            }
            self.until_decision -= take;
            start += take;
            if self.until_decision == 0 {
                self.until_decision = self.step_frames;
                self.decide(stamps[start - 1], out);
            }
        }
    }

    fn reset(&mut self) {
        self.filter.reset();
        if let Some(w) = self.window.as_mut() {
            w.clear();
        }
        self.until_decision = self.step_frames;
    }
}
