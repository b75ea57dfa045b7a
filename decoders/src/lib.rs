//! Streaming BCI decoders for neuroloop: SSVEP, motor imagery, sleep spindles and slow
//! oscillations, classical and ONNX.
//!
//! Every decoder implements [`Decoder`]: it is configured and [`Decoder::prepare`]d (which
//! allocates) before the session starts, then fed filtered blocks on the worker thread by
//! [`Decoder::process`], which never allocates and emits [`Decision`]s into a fixed-capacity
//! [`DecisionBuffer`].

mod card;
mod centre;
pub mod decision;
pub mod mi;
mod moments;
pub mod onnx;
pub mod roles;
pub mod sleep;
pub mod ssvep;
pub mod step;
#[cfg(test)]
mod test_noise;

pub use decision::{Decision, DecisionBuffer};

/// What a decoder is told about its input when prepared.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderContext {
    /// Sampling rate of the blocks it will receive.
    pub sample_rate_hz: f64,
    /// Channel labels, in the order of the interleaved frames.
    pub channel_labels: Vec<String>,
    /// Largest block (in frames) one `process` call will receive.
    pub max_block_frames: usize,
    /// Which channels carry EEG, one flag per channel; empty: all of them. A decoder choosing
    /// channels by itself (a role found by name, the first channel) chooses among these.
    pub eeg: Vec<bool>,
}

impl DecoderContext {
    /// Whether channel `index` carries EEG.
    pub fn is_eeg(&self, index: usize) -> bool {
        self.eeg.get(index).is_none_or(|&e| e)
    }
}

/// Errors raised while configuring or preparing a decoder; each says how to fix it.
#[derive(Debug, thiserror::Error)]
pub enum DecoderError {
    /// No input channel is usable.
    #[error(
        "the decoder has no input channels: check the stream's channel labels and the decoder's channel selection"
    )]
    NoChannels,
    /// A requested channel is not in the stream.
    #[error(
        "channel `{label}` is not in the stream (its channels: {available}); name one of those (a 10-20 name such as C3 also finds C3-A1 or EEG C3-M2)"
    )]
    MissingChannel {
        /// The missing label.
        label: String,
        /// What the stream has.
        available: String,
    },
    /// A target frequency cannot be represented at the stream's rate.
    #[error(
        "target frequency {freq_hz} Hz is above the Nyquist frequency of the {sample_rate_hz} Hz stream: use a lower frequency or a faster amplifier setting"
    )]
    FrequencyAboveNyquist {
        /// The frequency.
        freq_hz: f64,
        /// The stream's rate.
        sample_rate_hz: f64,
    },
    /// The analysis window is too short for the number of channels/references.
    #[error(
        "the analysis window has {samples} samples but needs more than {needed}: lengthen the window or use fewer channels"
    )]
    WindowTooShort {
        /// Samples in the window.
        samples: usize,
        /// Minimum required.
        needed: usize,
    },
    /// A setting is out of range.
    #[error("decoder setting {name} = {value} is invalid: {hint}")]
    BadSetting {
        /// Setting name.
        name: &'static str,
        /// Rejected value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A model (ONNX) could not be loaded or run, or does not fit its card.
    #[error("{reason}")]
    Model {
        /// What went wrong and how to fix it.
        reason: String,
    },
    /// The signal-processing front end rejected its configuration.
    #[error(transparent)]
    Dsp(#[from] neuroloop_dsp::DspError),
}

/// A streaming decoder. See the crate documentation for the threading contract.
pub trait Decoder: Send {
    /// Short identifier used in markers and logs (e.g. `ssvep-cca`).
    fn name(&self) -> &str;

    /// Names of the classes a [`Decision::class`] indexes.
    fn class_names(&self) -> &[String];

    /// Prepares for a stream; allocates every buffer `process` will use.
    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError>;

    /// Consumes one block of interleaved frames (already through the session's front-end
    /// filters) with their LSL timestamps, pushing any decisions into `out`.
    ///
    /// Real-time safe: called on the worker thread; must not allocate or block.
    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer);

    /// Forgets all history (e.g. after a gap in the stream). Does not allocate.
    fn reset(&mut self);

    /// A stimulus (e.g. the speller's flicker) started at LSL time `onset`; onset-locked
    /// decoders start a trial there, the others ignore it. Real-time safe.
    fn stimulus_onset(&mut self, _onset: f64) {}

    /// Whether it decides only at stimulus onsets ([`Decoder::stimulus_onset`]): without
    /// them it says nothing.
    fn decides_at_onsets(&self) -> bool {
        false
    }

    /// Model calls that failed since start-up (an ONNX Runtime error, or an output that is
    /// not a probability distribution), each leaving its window without a decision. Faults
    /// of the data (non-finite windows) are not counted here. Real-time safe.
    fn failures(&self) -> u64 {
        0
    }

    /// The stream's channels (indices) the decoder reads, once prepared; empty when it reads
    /// them all or does not say. Called at start-up, so the user can be told which channels a
    /// paradigm found.
    fn input_channels(&self) -> Vec<usize> {
        Vec::new()
    }
}
