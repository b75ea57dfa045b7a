//! The streaming motor-imagery decoder: a fitted [`MiModel`] applied to a sliding window.

use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::window::RingWindow;

use super::model::{MiModel, MiPredictor, MiProtocol};
use crate::step::{DecisionStepper, channel_indices};
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
    stepper: Option<DecisionStepper>,
    filter: FilterChain,
    window: RingWindow,
    window_buf: Vec<f32>,
    proba: Vec<f64>,
    window_frames: usize,
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
            stepper: None,
            filter,
            window: RingWindow::new(1, 1),
            window_buf: Vec::new(),
            proba: vec![0.0; classes],
            window_frames: 0,
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
        let picks = channel_indices(&protocol.channels, &ctx.channel_labels)?;
        let n = picks.len();
        self.window_frames = protocol.window_frames();
        self.filter
            .prepare(ctx.sample_rate_hz, n, ctx.max_block_frames)?;
        self.stepper = Some(DecisionStepper::new(
            picks,
            ctx.channel_labels.len(),
            ctx.max_block_frames,
            (self.cfg.step_secs * ctx.sample_rate_hz).round() as usize,
        )?);
        self.window = RingWindow::new(n, self.window_frames);
        self.window_buf = vec![0.0; self.window_frames * n];
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let Some(mut stepper) = self.stepper.take() else {
            return;
        };
        let mut cursor = 0;
        while let Some((segment, due)) = stepper.next_segment(block, stamps, &mut cursor) {
            self.filter.process_interleaved(segment);
            self.window.push_interleaved(segment);
            if let Some(stamp) = due {
                self.decide(stamp, out);
            }
        }
        self.stepper = Some(stepper);
    }

    fn reset(&mut self) {
        self.filter.reset();
        self.window.clear();
        if let Some(stepper) = self.stepper.as_mut() {
            stepper.reset();
        }
    }
}
