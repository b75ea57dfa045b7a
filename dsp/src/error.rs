//! The crate's error type.

/// Everything that can go wrong configuring or running the DSP blocks. Each message says what
/// is wrong and what to do about it.
///
/// Variants that real-time methods can return hold only numbers and static strings, so
/// returning them does not allocate. Only [`DspError::UnknownChannel`], raised while preparing,
/// owns a `String`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DspError {
    /// The sample rate is zero, negative, NaN or infinite.
    #[error(
        "sample rate {sample_rate_hz} Hz is not a positive finite number: pass the stream's nominal sampling rate (e.g. 250)"
    )]
    InvalidSampleRate {
        /// The rejected rate.
        sample_rate_hz: f64,
    },
    /// A filter frequency is at or above the Nyquist frequency.
    #[error(
        "{what} {freq_hz} Hz is at or above Nyquist ({nyquist_hz} Hz) for {sample_rate_hz} Hz sampling: lower the frequency or raise the sample rate"
    )]
    AboveNyquist {
        /// Which frequency (e.g. "cutoff", "notch frequency").
        what: &'static str,
        /// The rejected frequency.
        freq_hz: f64,
        /// Half the sample rate.
        nyquist_hz: f64,
        /// The sample rate.
        sample_rate_hz: f64,
    },
    /// A filter frequency is zero, negative, NaN or infinite.
    #[error("{what} {freq_hz} Hz must be a positive finite frequency: use a value above 0 Hz")]
    NonPositiveFrequency {
        /// Which frequency (e.g. "cutoff").
        what: &'static str,
        /// The rejected frequency.
        freq_hz: f64,
    },
    /// A band's low edge is not below its high edge.
    #[error(
        "band {low_hz}–{high_hz} Hz is empty or inverted: the low edge must be strictly below the high edge"
    )]
    InvalidBand {
        /// Low edge.
        low_hz: f64,
        /// High edge.
        high_hz: f64,
    },
    /// A filter order is zero or too high.
    #[error("filter order {order} is not supported: use an order from 1 to {max}")]
    InvalidOrder {
        /// The rejected order.
        order: usize,
        /// The highest supported order.
        max: usize,
    },
    /// A notch quality factor is not positive.
    #[error(
        "notch quality factor {quality} must be a positive finite number: typical values are 20 to 35"
    )]
    InvalidQuality {
        /// The rejected quality factor.
        quality: f64,
    },
    /// A notch was asked to remove no frequency at all.
    #[error(
        "a notch with 0 harmonics removes nothing: use 1 for the fundamental only, 2 to add the first harmonic, and so on"
    )]
    NoHarmonics,
    /// A harmonic of a notch lies at or above Nyquist.
    #[error(
        "harmonic {harmonic} of the {freq_hz} Hz notch ({harmonic_hz} Hz) is at or above Nyquist ({nyquist_hz} Hz): use at most {max_harmonics} harmonics at this sample rate"
    )]
    HarmonicAboveNyquist {
        /// 1-based index of the offending harmonic (1 is the fundamental).
        harmonic: usize,
        /// The fundamental.
        freq_hz: f64,
        /// The offending frequency.
        harmonic_hz: f64,
        /// Half the sample rate.
        nyquist_hz: f64,
        /// How many harmonics fit below Nyquist.
        max_harmonics: usize,
    },
    /// Zero channels were requested.
    #[error(
        "zero channels requested: prepare with the number of channels in the stream (at least 1)"
    )]
    NoChannels,
    /// The maximum block length is zero.
    #[error(
        "maximum block length is 0 frames: pass the largest chunk the source delivers (at least 1 frame)"
    )]
    ZeroBlockLen,
    /// A channel index does not exist.
    #[error(
        "channel index {channel} is out of range for a {channels}-channel stream: use indices 0 to {channels} - 1"
    )]
    ChannelOutOfRange {
        /// The rejected index.
        channel: usize,
        /// Channels in the stream.
        channels: usize,
    },
    /// A channel label is not in the stream.
    #[error("channel `{label}` is not in the stream: pick one of the stream's channel labels")]
    UnknownChannel {
        /// The missing label.
        label: String,
    },
    /// A buffer does not hold a whole number of frames.
    #[error(
        "a buffer of {len} values does not hold a whole number of {channels}-channel frames: pass frames × channels values"
    )]
    RaggedBlock {
        /// Values in the buffer.
        len: usize,
        /// Channels per frame.
        channels: usize,
    },
    /// A caller-provided buffer is too small.
    #[error(
        "the {what} buffer holds {got} values but {needed} are needed: allocate it with the size the processor reports"
    )]
    BufferTooSmall {
        /// Which buffer.
        what: &'static str,
        /// Values needed.
        needed: usize,
        /// Values provided.
        got: usize,
    },
    /// A block is longer than what the processor was prepared for.
    #[error(
        "a block of {frames} frames exceeds the {max_block_len} frames this processor was prepared for: prepare it with the largest block the source delivers"
    )]
    BlockTooLong {
        /// Frames in the block.
        frames: usize,
        /// Frames prepared for.
        max_block_len: usize,
    },
    /// A signal is too short for the requested operation.
    #[error(
        "a signal of {len} samples is too short: {what} needs at least {needed}; use a longer signal or a lower filter order"
    )]
    SignalTooShort {
        /// Samples given.
        len: usize,
        /// Samples needed.
        needed: usize,
        /// What needs them.
        what: &'static str,
    },
    /// A decimation factor is below 2.
    #[error(
        "decimation factor {factor} is invalid: use an integer of at least 2 (split factors above 13 into several stages)"
    )]
    InvalidDecimation {
        /// The rejected factor.
        factor: usize,
    },
    /// Welch segment settings are inconsistent.
    #[error("Welch segments of {nperseg} samples with {noverlap} overlapping are invalid: {hint}")]
    InvalidSegment {
        /// Segment length.
        nperseg: usize,
        /// Overlap.
        noverlap: usize,
        /// What a valid setting looks like.
        hint: &'static str,
    },
    /// A numeric setting is out of range.
    #[error("{name} = {value} is invalid: {hint}")]
    InvalidParameter {
        /// Setting name.
        name: &'static str,
        /// Rejected value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
    /// A processor was used before `prepare`.
    #[error("the {what} is not prepared: call prepare(...) before processing")]
    NotPrepared {
        /// Which processor.
        what: &'static str,
    },
    /// A frame range is not (or no longer) held by a ring window.
    #[error(
        "frames {first_frame}..{end_frame} are not in the window, which holds frames {oldest_frame}..{next_frame}: {hint}"
    )]
    OutOfWindow {
        /// First requested frame (absolute index since the last clear).
        first_frame: u64,
        /// One past the last requested frame.
        end_frame: u64,
        /// Oldest frame held.
        oldest_frame: u64,
        /// One past the newest frame held.
        next_frame: u64,
        /// What to do.
        hint: &'static str,
    },
    /// A filter section has no steady state at DC, so zero-phase initial conditions do not exist.
    #[error(
        "section {section} has a pole at DC (1 + a1 + a2 = 0), so it has no steady state for zero-phase filtering: remove the integrating section"
    )]
    NoSteadyState {
        /// Index of the section.
        section: usize,
    },
    /// A second-order section is malformed.
    #[error(
        "second-order section {section} has a0 = 0 or a non-finite coefficient: give finite coefficients with a non-zero a0"
    )]
    InvalidSection {
        /// Index of the section.
        section: usize,
    },
    /// A coefficient set does not fit the chain it should be swapped into.
    #[error(
        "the new coefficients have {got_sections} sections at {got_rate_hz} Hz but the chain runs {expected_sections} at {expected_rate_hz} Hz: design them with the chain's design_replacement, or prepare a new chain off the real-time thread and swap the whole chain"
    )]
    CoefficientMismatch {
        /// Sections per channel in the chain.
        expected_sections: usize,
        /// Sections per channel in the refused set.
        got_sections: usize,
        /// The chain's sample rate.
        expected_rate_hz: f64,
        /// The refused set's sample rate.
        got_rate_hz: f64,
    },
    /// No frequency bin falls in a requested band.
    #[error(
        "band {low_hz}–{high_hz} Hz contains no frequency bin (resolution {resolution_hz} Hz): widen the band or use longer segments"
    )]
    EmptyBand {
        /// Low edge.
        low_hz: f64,
        /// High edge.
        high_hz: f64,
        /// Bin spacing.
        resolution_hz: f64,
    },
}
