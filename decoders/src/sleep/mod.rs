//! Sleep decoders: causal spindle detection ([`spindle`], streamed by [`decoder`]) and
//! phase-locked slow-oscillation triggers ([`slow_oscillation`]).

pub mod decoder;
pub mod slow_oscillation;
pub mod spindle;

pub use decoder::{SoDecoder, SoDecoderConfig, SpindleDecoder, SpindleDecoderConfig};
pub use slow_oscillation::{SoConfig, SoTrigger, SoTriggerEvent};
pub use spindle::{
    SpindleConfig, SpindleDetector, SpindleEvent, SpindleEventKind, SpindleFeatures, Verdict,
};
