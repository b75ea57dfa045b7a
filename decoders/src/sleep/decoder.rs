//! The spindle detector as a streaming [`Decoder`] on one channel of the session's stream.

use super::spindle::{SpindleConfig, SpindleDetector, SpindleEvent, SpindleEventKind, Verdict};
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

/// Streams one channel through a [`SpindleDetector`] and turns its declarations into
/// decisions:
///
/// - onset ([`ONSET_CLASS`]): `score` = relative sigma power z-score, `confidence` = sigma
///   correlation, stamped with the sample that completed the deciding window;
/// - end ([`SPINDLE_CLASS`] when accepted, [`REJECTED_CLASS`] otherwise): `score` = the
///   spindle's duration in seconds, `confident` = accepted.
///
/// In both, `window_secs` is the time from the spindle's estimated start to the decision's
/// stamp, so `sample_time - window_secs` is the start.
#[derive(Debug)]
pub struct SpindleDecoder {
    cfg: SpindleDecoderConfig,
    name: String,
    classes: Vec<String>,
    detector: SpindleDetector,
    pick: usize,
    channels: usize,
    scratch: Vec<f64>,
}

impl SpindleDecoder {
    /// A decoder with `cfg`; nothing is allocated for a stream until `prepare`.
    pub fn new(cfg: SpindleDecoderConfig) -> Self {
        SpindleDecoder {
            detector: SpindleDetector::new(cfg.detector),
            cfg,
            name: "spindle-a7".to_owned(),
            classes: SPINDLE_CLASSES.iter().map(|s| (*s).to_owned()).collect(),
            pick: 0,
            channels: 0,
            scratch: Vec::new(),
        }
    }

    /// The detector (for its features and counters).
    pub fn detector(&self) -> &SpindleDetector {
        &self.detector
    }
}

/// The decision for a detector event.
pub fn spindle_decision(e: &SpindleEvent) -> Decision {
    let (class, score, confident) = match (e.kind, e.verdict) {
        (SpindleEventKind::Onset, _) => (ONSET_CLASS, e.features.rel_power_z as f32, true),
        (SpindleEventKind::End, Verdict::Accepted) => {
            (SPINDLE_CLASS, e.duration_secs() as f32, true)
        }
        (SpindleEventKind::End, _) => (REJECTED_CLASS, e.duration_secs() as f32, false),
    };
    Decision {
        class,
        score,
        confidence: e.features.correlation.clamp(0.0, 1.0) as f32,
        confident,
        sample_time: e.declared_time,
        window_secs: (e.declared_time - e.start_time) as f32,
    }
}

impl Decoder for SpindleDecoder {
    fn name(&self) -> &str {
        &self.name
    }

    fn class_names(&self) -> &[String] {
        &self.classes
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        self.pick = match &self.cfg.channel {
            Some(label) => channel_indices(std::slice::from_ref(label), &ctx.channel_labels)?[0],
            None if ctx.channel_labels.is_empty() => return Err(DecoderError::NoChannels),
            None => 0,
        };
        self.channels = ctx.channel_labels.len();
        self.detector
            .prepare(ctx.sample_rate_hz, ctx.max_block_frames)?;
        self.scratch = vec![0.0; ctx.max_block_frames.max(1)];
        Ok(())
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let n = self.channels;
        if n == 0 {
            return;
        }
        let frames = (block.len() / n).min(stamps.len());
        let mut start = 0;
        while start < frames {
            let len = (frames - start).min(self.scratch.len());
            for (i, v) in self.scratch[..len].iter_mut().enumerate() {
                *v = f64::from(block[(start + i) * n + self.pick]);
            }
            self.detector.process(
                &self.scratch[..len],
                &stamps[start..start + len],
                &mut |e| out.push(spindle_decision(&e)),
            );
            start += len;
        }
    }

    fn reset(&mut self) {
        self.detector.reset();
    }
}
