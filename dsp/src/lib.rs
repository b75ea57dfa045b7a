//! Real-time safe multi-channel DSP for EEG: biquad filter chains, filter banks, decimation,
//! spectra, phase estimation and signal quality.
//!
//! # Real-time rules
//!
//! Every stateful processor follows the same life cycle:
//!
//! 1. it is configured and `prepare`d (or built by a constructor that says it allocates) on a
//!    setup thread; this is the only step that allocates, designs filters or plans FFTs and
//!    the only step that returns configuration errors;
//! 2. its processing methods (`process_*`, `push_*`, `latest_*`, `psd*`, `assess_*`) are then
//!    called on the worker thread and never allocate, lock or block;
//! 3. `reset` forgets the signal history (for example after a gap in the stream) without
//!    allocating.
//!
//! Errors a real-time method can return carry only numbers and static text, so creating one
//! does not allocate either.
//!
//! # Data layout
//!
//! Blocks are interleaved and frame-major (`f0c0, f0c1, …, f1c0, …`), as Lab Streaming Layer
//! delivers chunks; windows handed to decoders are channel-major (`c0f0, c0f1, …, c1f0, …`).
//! Samples are `f32` on the way in and out; every filter keeps its state in `f64`.
//!
//! # Example
//!
//! ```
//! use neuroloop_dsp::filter::{FilterChain, FilterSpec};
//! use neuroloop_dsp::reref::common_average_interleaved;
//!
//! // Setup thread: design the filters and allocate their state.
//! let channels = 8;
//! let mut chain = FilterChain::new(vec![
//!     FilterSpec::notch(50.0, 30.0, 2),
//!     FilterSpec::bandpass(1.0, 40.0, 4),
//! ]);
//! chain.prepare(250.0, channels, 32)?;
//! assert_eq!(
//!     chain.describe(),
//!     "notch 50, 100 Hz (Q 30) -> band-pass 1-40 Hz (Butterworth order 4) @ 250 Hz"
//! );
//!
//! // Worker thread: filter every interleaved chunk in place, then re-reference.
//! let mut chunk = vec![1.0f32; 32 * channels];
//! chunk[3] = f32::NAN;
//! let report = chain.process_interleaved(&mut chunk);
//! assert_eq!(report.non_finite, 1);
//! common_average_interleaved(&mut chunk, channels);
//! # Ok::<(), neuroloop_dsp::DspError>(())
//! ```
//!
//! # Non-finite input
//!
//! A NaN or infinite input sample is never propagated into a filter's state: it is replaced by
//! the last finite sample of the same channel (zero if there was none since the last reset),
//! counted in the returned [`ProcessReport`] and in per-channel totals. Should a channel's
//! state nevertheless overflow, that channel's state is reset and the reset is counted.

mod cascade;
pub mod decimate;
mod error;
pub mod filter;
pub mod filterbank;
pub mod front_end;
pub mod phase;
pub mod quality;
pub mod reref;
pub mod spectrum;
pub mod window;

pub use error::DspError;
pub use filter::ProcessReport;

/// A sample type the processors accept: `f32` (the pipeline's format) or `f64`.
pub trait Sample: Copy + Send + Sync + 'static {
    /// Widens (or keeps) the sample as `f64`.
    fn to_f64(self) -> f64;
    /// Converts a processed `f64` value back to this type (rounding for `f32`).
    fn from_f64(value: f64) -> Self;
}

impl Sample for f32 {
    #[inline]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline]
    #[allow(clippy::cast_possible_truncation)]
    fn from_f64(value: f64) -> Self {
        // Rounding to the nearest f32 is the intended conversion for output samples.
        value as f32
    }
}

impl Sample for f64 {
    #[inline]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline]
    fn from_f64(value: f64) -> Self {
        value
    }
}

/// Checks that a sample rate is usable and returns it.
pub(crate) fn check_sample_rate(sample_rate_hz: f64) -> Result<f64, DspError> {
    if sample_rate_hz.is_finite() && sample_rate_hz > 0.0 {
        Ok(sample_rate_hz)
    } else {
        Err(DspError::InvalidSampleRate { sample_rate_hz })
    }
}
