//! The streaming motor-imagery decoder: a fitted [`MiModel`] applied to a sliding window.

use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::window::RingWindow;

use super::model::{MiModel, MiPredictor, MiProtocol};
use super::net::MiNet;
use crate::moments::SlidingMoments;
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

/// The band-passes a protocol prescribes, one filter chain per band of
/// [`MiProtocol::bands`] (not yet prepared). Fitting and online decoding both filter with
/// them.
pub fn protocol_filters(protocol: &MiProtocol) -> Vec<FilterChain> {
    protocol
        .bands()
        .iter()
        .map(|&(lo, hi)| {
            FilterChain::new(vec![FilterSpec::bandpass(lo, hi, protocol.filter_order)])
        })
        .collect()
}

/// What classifies a window: a fitted covariance model or a network.
enum Classifier {
    Fitted(Box<MiPredictor>),
    Net(Box<MiNet>),
}

impl Classifier {
    fn protocol(&self) -> &MiProtocol {
        match self {
            Classifier::Fitted(p) => &p.model().protocol,
            Classifier::Net(n) => n.protocol(),
        }
    }

    fn class_names(&self) -> &[String] {
        match self {
            Classifier::Fitted(p) => &p.model().class_names,
            Classifier::Net(n) => &n.config().class_names,
        }
    }
}

/// Applies a fitted motor-imagery model (or a network, [`MiDecoder::with_net`]) to a stream:
/// picks the model's channels, band-passes them causally, and every `step_secs` classifies
/// the latest window. A decision's `score` and `confidence` are the chosen class's
/// probability.
///
/// A fitted model needs only the window's covariance, so the decoder keeps none of the
/// window's samples: each band's moments are accumulated as the samples arrive
/// (sliding-window moments) and a decision costs a few `channels²` sums plus the model's own
/// algebra, whatever the window's length. A network reads the samples from a ring.
pub struct MiDecoder {
    cfg: MiDecoderConfig,
    classifier: Classifier,
    name: String,
    stepper: Option<DecisionStepper>,
    /// One band-pass per band of the protocol.
    filters: Vec<FilterChain>,
    /// Filter banks: one band's copy of a segment, and the bands stacked per frame.
    band_buf: Vec<f32>,
    stacked: Vec<f32>,
    /// A fitted model's window moments, one accumulator per band.
    moments: Vec<SlidingMoments>,
    /// A network's window (channel-major rows, band after band).
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
        Ok(Self::with_classifier(
            Classifier::Fitted(Box::new(MiPredictor::new(model)?)),
            cfg,
            name,
        ))
    }

    /// A decoder running a motor-imagery network (named `mi-<card name>`).
    pub fn with_net(net: MiNet, cfg: MiDecoderConfig) -> Self {
        let name = format!("mi-{}", net.name());
        Self::with_classifier(Classifier::Net(Box::new(net)), cfg, name)
    }

    fn with_classifier(classifier: Classifier, cfg: MiDecoderConfig, name: String) -> Self {
        let filters = protocol_filters(classifier.protocol());
        let classes = classifier.class_names().len();
        MiDecoder {
            classifier,
            cfg,
            name,
            stepper: None,
            filters,
            band_buf: Vec::new(),
            stacked: Vec::new(),
            moments: Vec::new(),
            window: RingWindow::new(1, 1),
            window_buf: Vec::new(),
            proba: vec![0.0; classes],
            window_frames: 0,
        }
    }

    /// The fitted model applied (`None` for a network).
    pub fn model(&self) -> Option<&MiModel> {
        match &self.classifier {
            Classifier::Fitted(p) => Some(p.model()),
            Classifier::Net(_) => None,
        }
    }

    /// The preprocessing applied before classification.
    pub fn protocol(&self) -> &MiProtocol {
        self.classifier.protocol()
    }

    /// Class probabilities of the latest decision.
    pub fn probabilities(&self) -> &[f64] {
        &self.proba
    }

    /// Filters `segment` (interleaved picked channels) into every band and adds it to the
    /// window: to each band's moments for a fitted model, to the ring for a network (each
    /// frame then holds the bands one after another).
    fn push(&mut self, segment: &mut [f32]) {
        if let [filter] = self.filters.as_mut_slice() {
            filter.process_interleaved(segment);
            match self.moments.first_mut() {
                Some(m) => m.push(segment, &[]),
                None => self.window.push_interleaved(segment),
            }
            return;
        }
        let n = self.protocol().channels.len();
        let rows = n * self.filters.len();
        let frames = segment.len() / n;
        for (b, filter) in self.filters.iter_mut().enumerate() {
            let buf = &mut self.band_buf[..segment.len()];
            buf.copy_from_slice(segment);
            filter.process_interleaved(buf);
            if let Some(m) = self.moments.get_mut(b) {
                m.push(buf, &[]);
                continue;
            }
            for (frame, values) in self.stacked[..frames * rows]
                .chunks_exact_mut(rows)
                .zip(buf.chunks_exact(n))
            {
                frame[b * n..(b + 1) * n].copy_from_slice(values);
            }
        }
        if self.moments.is_empty() {
            self.window.push_interleaved(&self.stacked[..frames * rows]);
        }
    }

    fn decide(&mut self, stamp: f64, out: &mut DecisionBuffer) {
        let classified = match &mut self.classifier {
            Classifier::Fitted(p) => p.predict_moments(&mut self.moments, &mut self.proba),
            Classifier::Net(net) => {
                if self.window.len() < self.window_frames {
                    return;
                }
                self.window
                    .latest_channel_major(self.window_frames, &mut self.window_buf);
                net.predict(&self.window_buf, &mut self.proba)
            }
        };
        if !classified {
            // An incomplete, flat or corrupted window carries no evidence: no decision.
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
            window_start: stamp - (self.window_frames - 1) as f64 / self.protocol().sample_rate_hz,
            window_secs: self.protocol().window_secs as f32,
        });
    }
}

impl Decoder for MiDecoder {
    fn failures(&self) -> u64 {
        match &self.classifier {
            Classifier::Fitted(_) => 0,
            Classifier::Net(net) => net.failures(),
        }
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        self.classifier.class_names()
    }

    fn input_channels(&self) -> Vec<usize> {
        self.stepper
            .as_ref()
            .map_or_else(Vec::new, |s| s.picks().to_vec())
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        let protocol = self.classifier.protocol();
        if (ctx.sample_rate_hz - protocol.sample_rate_hz).abs() > 1e-6 * protocol.sample_rate_hz {
            return Err(DecoderError::Model {
                reason: format!(
                    "the stream runs at {} Hz but this motor-imagery model takes {} Hz: set the amplifier to {} Hz, or calibrate and fit again (a network: retrain) at the stream's rate",
                    ctx.sample_rate_hz, protocol.sample_rate_hz, protocol.sample_rate_hz
                ),
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
        let rows = n * self.filters.len();
        for f in &mut self.filters {
            f.prepare(ctx.sample_rate_hz, n, ctx.max_block_frames)?;
        }
        let step_frames = (self.cfg.step_secs * ctx.sample_rate_hz).round() as usize;
        let fitted = matches!(self.classifier, Classifier::Fitted(_));
        if self.filters.len() > 1 {
            self.band_buf = vec![0.0; n * ctx.max_block_frames];
            if !fitted {
                self.stacked = vec![0.0; rows * ctx.max_block_frames];
            }
        }
        self.stepper = Some(DecisionStepper::new(
            picks,
            ctx.channel_labels.len(),
            ctx.max_block_frames,
            step_frames,
        )?);
        if fitted {
            self.moments = (0..self.filters.len())
                .map(|_| {
                    SlidingMoments::new(n, 0, self.window_frames, step_frames, ctx.max_block_frames)
                })
                .collect();
        } else {
            self.window = RingWindow::new(rows, self.window_frames);
            self.window_buf = vec![0.0; self.window_frames * rows];
        }
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let Some(mut stepper) = self.stepper.take() else {
            return;
        };
        let mut cursor = 0;
        while let Some((segment, due)) = stepper.next_segment(block, stamps, &mut cursor) {
            self.push(segment);
            if let Some(stamp) = due {
                self.decide(stamp, out);
            }
        }
        self.stepper = Some(stepper);
    }

    fn reset(&mut self) {
        for f in &mut self.filters {
            f.reset();
        }
        self.window.clear();
        for m in &mut self.moments {
            m.reset();
        }
        if let Some(stepper) = self.stepper.as_mut() {
            stepper.reset();
        }
    }
}
