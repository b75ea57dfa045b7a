//! The streaming motor-imagery decoder: a fitted [`MiModel`] applied to a sliding window.

use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::window::RingWindow;

use super::model::{MiModel, MiPredictor, MiProtocol};
use crate::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};

/// Settings of [`MiDecoder`] beyond the model's own protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct MiDecoderConfig {
    /// Time between decisions.
    pub step_secs: f64,
    /// A decision counts as a selection when its class probability reaches this.
    pub min_probability: f64,
}

impl Default for MiDecoderConfig {
    fn default() -> Self {
        MiDecoderConfig {
            step_secs: 0.25,
            min_probability: 0.6,
        }
    }
}

/// A channel label compared loosely: case-insensitive, without the padding dots and spaces
/// some amplifiers and EDF files add (`"C3.."` matches `"c3"`).
pub fn label_key(label: &str) -> String {
    label.trim().trim_end_matches('.').to_ascii_uppercase()
}

/// Finds each of `wanted` in `available` by [`label_key`].
pub fn pick_channels(wanted: &[String], available: &[String]) -> Result<Vec<usize>, DecoderError> {
    let keys: Vec<String> = available.iter().map(|l| label_key(l)).collect();
    wanted
        .iter()
        .map(|w| {
            let key = label_key(w);
            keys.iter()
                .position(|k| *k == key)
                .ok_or_else(|| DecoderError::MissingChannel {
                    label: w.clone(),
                    available: available.join(", "),
                })
        })
        .collect()
}

/// The band-pass a protocol prescribes, as a filter chain (not yet prepared). Fitting and
/// online decoding both filter with it.
pub fn protocol_filter(protocol: &MiProtocol) -> FilterChain {
    let (lo, hi) = protocol.band_hz;
    FilterChain::new(vec![FilterSpec::bandpass(lo, hi, protocol.filter_order)])
}

/// Applies a fitted motor-imagery model to a stream: picks the model's channels, band-passes
/// them causally, and every `step_secs` classifies the latest window. A decision's `score`
/// and `confidence` are the chosen class's probability.
pub struct MiDecoder {
    cfg: MiDecoderConfig,
    predictor: MiPredictor,
    name: String,
    picks: Vec<usize>,
    filter: FilterChain,
    window: RingWindow,
    scratch: Vec<f32>,
    window_buf: Vec<f32>,
    proba: Vec<f64>,
    window_frames: usize,
    step_frames: usize,
    until_decision: usize,
}

impl MiDecoder {
    /// Creates the decoder from a fitted model (validated here); the stream is checked
    /// against the model in [`Decoder::prepare`].
    pub fn new(model: MiModel, cfg: MiDecoderConfig) -> Result<Self, super::MiError> {
        let name = format!("mi-{}", model.method.name());
        let filter = protocol_filter(&model.protocol);
        let classes = model.class_names.len();
        Ok(MiDecoder {
            predictor: MiPredictor::new(model)?,
            cfg,
            name,
            picks: Vec::new(),
            filter,
            window: RingWindow::new(1, 1),
            scratch: Vec::new(),
            window_buf: Vec::new(),
            proba: vec![0.0; classes],
            window_frames: 0,
            step_frames: 0,
            until_decision: 0,
        })
    }

    /// The model applied.
    pub fn model(&self) -> &MiModel {
        self.predictor.model()
    }

    /// Class probabilities of the latest decision.
    pub fn probabilities(&self) -> &[f64] {
        &self.proba
    }

    fn decide(&mut self, stamp: f64, out: &mut DecisionBuffer) {
        if self.window.len() < self.window_frames {
            return;
        }
        self.window
            .latest_channel_major(self.window_frames, &mut self.window_buf);
        if !self.predictor.predict(&self.window_buf, &mut self.proba) {
            // A flat or corrupted window carries no evidence: no decision.
            return;
        }
        let best = (0..self.proba.len())
            .max_by(|&a, &b| self.proba[a].total_cmp(&self.proba[b]))
            .unwrap_or(0);
        let p = self.proba[best];
        out.push(Decision {
            class: best as u16,
            score: p as f32,
            confidence: p as f32,
            confident: p >= self.cfg.min_probability,
            sample_time: stamp,
            window_secs: self.model().protocol.window_secs as f32,
        });
    }
}

impl Decoder for MiDecoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        &self.model().class_names
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        let protocol = &self.predictor.model().protocol;
        if (ctx.sample_rate_hz - protocol.sample_rate_hz).abs() > 1e-6 * protocol.sample_rate_hz {
            return Err(DecoderError::BadSetting {
                name: "sample rate (Hz) of the stream for this motor-imagery model",
                value: ctx.sample_rate_hz,
                hint: "the model was fitted at another rate: calibrate and fit again at the amplifier's current rate",
            });
        }
        if self.cfg.step_secs.is_nan() || self.cfg.step_secs <= 0.0 {
            return Err(DecoderError::BadSetting {
                name: "step_secs",
                value: self.cfg.step_secs,
                hint: "give a positive time between decisions, e.g. 0.25 s",
            });
        }
        self.picks = pick_channels(&protocol.channels, &ctx.channel_labels)?;
        let n = self.picks.len();
        self.window_frames = protocol.window_frames();
        self.step_frames = ((self.cfg.step_secs * ctx.sample_rate_hz).round() as usize).max(1);
        self.until_decision = self.step_frames;
        self.filter
            .prepare(ctx.sample_rate_hz, n, ctx.max_block_frames)?;
        self.window = RingWindow::new(n, self.window_frames);
        self.scratch = vec![0.0; ctx.max_block_frames * n];
        self.window_buf = vec![0.0; self.window_frames * n];
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let channels = block.len() / stamps.len().max(1);
        let n = self.picks.len();
        let mut start = 0;
        while start < stamps.len() {
            let take = (stamps.len() - start).min(self.until_decision);
            let scratch = &mut self.scratch[..take * n];
            for f in 0..take {
                let frame = &block[(start + f) * channels..(start + f + 1) * channels];
                for (k, &c) in self.picks.iter().enumerate() {
                    scratch[f * n + k] = frame[c];
                }
            }
            self.filter.process_interleaved(scratch);
            self.window.push_interleaved(scratch);
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
        self.window.clear();
        self.until_decision = self.step_frames;
    }
}
