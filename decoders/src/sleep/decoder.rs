//! The spindle detector and the slow-oscillation trigger as streaming [`Decoder`]s on one
//! channel of the session's stream.

use super::slow_oscillation::{SoConfig, SoTrigger, SoTriggerEvent};
use super::spindle::{SpindleConfig, SpindleDetector, SpindleEvent, SpindleEventKind, Verdict};
use super::spindle_net::SpindleNet;
use crate::roles::{SO_CHANNELS, SPINDLE_CHANNELS, find_role_among, first_eeg};
use crate::step::channel_indices;
use crate::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};

/// Class names of [`SpindleDecoder`] decisions, by index.
pub const SPINDLE_CLASSES: [&str; 3] = ["spindle-onset", "spindle", "rejected"];
/// Class of an onset declaration (the stimulation trigger).
pub const ONSET_CLASS: u16 = 0;
/// Class of the end of an accepted spindle.
pub const SPINDLE_CLASS: u16 = 1;
/// Class of the end of a run rejected for its duration.
pub const REJECTED_CLASS: u16 = 2;

/// Settings of [`SpindleDecoder`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpindleDecoderConfig {
    /// Channel to watch (e.g. `C3` or `Cz`); `None` takes the stream's first channel.
    pub channel: Option<String>,
    /// The detector's settings.
    pub detector: SpindleConfig,
}

/// A spindle detector of either kind, behind one interface: both declare the same
/// [`SpindleEvent`]s. (Held inline: one engine per decoder, sized once at set-up.)
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum SpindleEngine {
    /// The causal A7-style detector.
    A7(SpindleDetector),
    /// The neural detector (an ONNX model).
    Net(SpindleNet),
}

impl SpindleEngine {
    /// Short identifier: `spindle-a7` or `spindle-net`.
    pub fn name(&self) -> &'static str {
        match self {
            SpindleEngine::A7(_) => "spindle-a7",
            SpindleEngine::Net(_) => "spindle-net",
        }
    }

    /// Prepares for a stream. Allocates.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        max_block_frames: usize,
    ) -> Result<(), DecoderError> {
        match self {
            SpindleEngine::A7(d) => d.prepare(sample_rate_hz, max_block_frames),
            SpindleEngine::Net(d) => d.prepare(sample_rate_hz, max_block_frames),
        }
    }

    /// Consumes samples with their stamps, calling `emit` for each declaration.
    pub fn process(&mut self, samples: &[f64], stamps: &[f64], emit: &mut dyn FnMut(SpindleEvent)) {
        match self {
            SpindleEngine::A7(d) => d.process(samples, stamps, emit),
            SpindleEngine::Net(d) => d.process(samples, stamps, emit),
        }
    }

    /// Closes a spindle still under way at `time`.
    pub fn finish(&mut self, time: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        match self {
            SpindleEngine::A7(d) => d.finish(time, emit),
            SpindleEngine::Net(d) => d.finish(time, emit),
        }
    }

    /// Forgets all history. Does not allocate.
    pub fn reset(&mut self) {
        match self {
            SpindleEngine::A7(d) => d.reset(),
            SpindleEngine::Net(d) => d.reset(),
        }
    }

    /// Non-finite input samples seen since `prepare`.
    pub fn non_finite(&self) -> u64 {
        match self {
            SpindleEngine::A7(d) => d.non_finite(),
            SpindleEngine::Net(d) => d.non_finite(),
        }
    }
}

/// Streams one channel through a [`SpindleEngine`] and turns its declarations into
/// decisions:
///
/// - onset ([`ONSET_CLASS`]): `score` = the event's score (A7: relative sigma power z-score;
///   neural: probability), `confidence` = its confidence, stamped with the sample that
///   completed the deciding window;
/// - end ([`SPINDLE_CLASS`] when accepted, [`REJECTED_CLASS`] otherwise): `score` = the
///   spindle's duration in seconds, `confident` = accepted.
///
/// In both, `window_secs` is the time from the spindle's estimated start to the decision's
/// stamp, so `sample_time - window_secs` is the start.
#[derive(Debug)]
pub struct SpindleDecoder {
    classes: Vec<String>,
    engine: SpindleEngine,
    input: OneChannel,
}

impl SpindleDecoder {
    /// An A7 decoder with `cfg`; nothing is allocated for a stream until `prepare`.
    pub fn new(cfg: SpindleDecoderConfig) -> Self {
        Self::with_engine(
            cfg.channel,
            SpindleEngine::A7(SpindleDetector::new(cfg.detector)),
        )
    }

    /// A decoder watching `channel` (`None`: the first of [`SPINDLE_CHANNELS`] the stream
    /// has, else its first channel) with `engine`.
    pub fn with_engine(channel: Option<String>, engine: SpindleEngine) -> Self {
        SpindleDecoder {
            engine,
            input: OneChannel::new(channel, SPINDLE_CHANNELS),
            classes: SPINDLE_CLASSES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// The detector (for its counters).
    pub fn engine(&self) -> &SpindleEngine {
        &self.engine
    }
}

/// The decision for a detector event.
pub fn spindle_decision(e: &SpindleEvent) -> Decision {
    let (class, score, confident) = match (e.kind, e.verdict) {
        (SpindleEventKind::Onset, _) => (ONSET_CLASS, e.score as f32, true),
        (SpindleEventKind::End, Verdict::Accepted) => {
            (SPINDLE_CLASS, e.duration_secs() as f32, true)
        }
        (SpindleEventKind::End, _) => (REJECTED_CLASS, e.duration_secs() as f32, false),
    };
    Decision {
        class,
        score,
        confidence: e.confidence.clamp(0.0, 1.0) as f32,
        confident,
        sample_time: e.declared_time,
        window_start: e.start_time,
        window_secs: (e.declared_time - e.start_time) as f32,
    }
}

impl Decoder for SpindleDecoder {
    fn name(&self) -> &str {
        self.engine.name()
    }

    fn failures(&self) -> u64 {
        match &self.engine {
            SpindleEngine::A7(_) => 0,
            SpindleEngine::Net(net) => net.faults(),
        }
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        self.input.prepare(ctx)?;
        self.engine
            .prepare(ctx.sample_rate_hz, ctx.max_block_frames)
    }

    fn input_channels(&self) -> Vec<usize> {
        self.input.picked()
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let engine = &mut self.engine;
        self.input.runs(block, stamps, |x, t| {
            engine.process(x, t, &mut |e| out.push(spindle_decision(&e)));
        });
    }

    fn reset(&mut self) {
        self.engine.reset();
    }
}

/// Class name of [`SoDecoder`] decisions.
pub const SO_TARGET_CLASS: &str = "so-target";

/// Settings of [`SoDecoder`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SoDecoderConfig {
    /// Channel to watch (frontal or central, e.g. `Fz`/`Cz`); `None` takes the first of
    /// [`SO_CHANNELS`] the stream has, else its first channel.
    pub channel: Option<String>,
    /// The trigger's settings.
    pub trigger: SoConfig,
}

/// Streams one channel through a [`SoTrigger`]: one decision per trigger, class
/// [`SO_TARGET_CLASS`], `score` = slow-oscillation amplitude (µV), `confidence` = 1,
/// stamped with the firing sample; `window_secs` is minus the lookahead (the stimulus is due
/// at `sample_time + lookahead`).
#[derive(Debug)]
pub struct SoDecoder {
    name: String,
    classes: Vec<String>,
    trigger: SoTrigger,
    input: OneChannel,
}

impl SoDecoder {
    /// A decoder with `cfg`.
    pub fn new(cfg: SoDecoderConfig) -> Self {
        SoDecoder {
            trigger: SoTrigger::new(cfg.trigger),
            input: OneChannel::new(cfg.channel, SO_CHANNELS),
            name: "so-phase".to_owned(),
            classes: vec![SO_TARGET_CLASS.to_owned()],
        }
    }
}

/// The channel a slow-oscillation decoder without a label watches (the artefact watch of
/// stimulation follows it): the first of [`SO_CHANNELS`] among the EEG channels (`eeg`, one
/// flag per channel; empty: all), else the first EEG channel.
pub fn so_channel_index(labels: &[String], eeg: &[bool]) -> usize {
    find_role_among(labels, eeg, SO_CHANNELS).unwrap_or_else(|| first_eeg(eeg))
}

/// The decision for a trigger.
pub fn so_decision(e: &SoTriggerEvent) -> Decision {
    Decision {
        class: 0,
        score: e.estimate.amplitude as f32,
        confidence: 1.0,
        confident: true,
        sample_time: e.time,
        window_start: e.target_time,
        window_secs: (e.time - e.target_time) as f32,
    }
}

impl Decoder for SoDecoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        self.input.prepare(ctx)?;
        self.trigger.prepare(ctx.sample_rate_hz)
    }

    fn input_channels(&self) -> Vec<usize> {
        self.input.picked()
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let trigger = &mut self.trigger;
        self.input.runs(block, stamps, |x, t| {
            trigger.process(x, t, &mut |e| out.push(so_decision(&e)));
        });
    }

    fn reset(&mut self) {
        self.trigger.reset();
    }
}

/// The input of a single-channel detector: which channel of the stream it watches, and that
/// channel copied out of the interleaved `f32` blocks as `f64`. [`OneChannel::prepare`]
/// allocates; [`OneChannel::runs`] does not.
#[derive(Debug, Clone)]
struct OneChannel {
    /// Requested label; `None` takes the first channel of `role` the stream has, else its
    /// first channel.
    label: Option<String>,
    role: &'static [&'static str],
    pick: usize,
    channels: usize,
    scratch: Vec<f64>,
}

impl OneChannel {
    fn new(label: Option<String>, role: &'static [&'static str]) -> Self {
        OneChannel {
            label,
            role,
            pick: 0,
            channels: 0,
            scratch: Vec::new(),
        }
    }

    /// Finds the channel in the stream and sizes the scratch buffer.
    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        self.pick = match &self.label {
            Some(label) => channel_indices(std::slice::from_ref(label), &ctx.channel_labels)?[0],
            None if ctx.channel_labels.is_empty() => return Err(DecoderError::NoChannels),
            None => find_role_among(&ctx.channel_labels, &ctx.eeg, self.role)
                .unwrap_or_else(|| first_eeg(&ctx.eeg)),
        };
        self.channels = ctx.channel_labels.len();
        self.scratch = vec![0.0; ctx.max_block_frames.max(1)];
        Ok(())
    }

    /// The channel watched, once prepared.
    fn picked(&self) -> Vec<usize> {
        if self.channels == 0 {
            Vec::new()
        } else {
            vec![self.pick]
        }
    }

    /// Hands the channel of `block` to `f` piece by piece (as long as the scratch buffer),
    /// with its stamps. Real-time safe; nothing happens before `prepare`.
    fn runs(&mut self, block: &[f32], stamps: &[f64], mut f: impl FnMut(&[f64], &[f64])) {
        let channels = self.channels;
        if channels == 0 {
            return;
        }
        let frames = (block.len() / channels).min(stamps.len());
        let mut start = 0;
        while start < frames {
            let len = (frames - start).min(self.scratch.len());
            for (i, v) in self.scratch[..len].iter_mut().enumerate() {
                *v = f64::from(block[(start + i) * channels + self.pick]);
            }
            f(&self.scratch[..len], &stamps[start..start + len]);
            start += len;
        }
    }
}
