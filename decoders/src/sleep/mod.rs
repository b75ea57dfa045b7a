//! Sleep decoders: causal spindle detection ([`spindle`], streamed by [`decoder`]).

pub mod decoder;
pub mod spindle;

pub use decoder::{SpindleDecoder, SpindleDecoderConfig};
pub use spindle::{
    SpindleConfig, SpindleDetector, SpindleEvent, SpindleEventKind, SpindleFeatures, Verdict,
};
