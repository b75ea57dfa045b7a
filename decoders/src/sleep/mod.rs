//! Sleep decoders: causal spindle detection (classical [`spindle`] and neural
//! [`spindle_net`], streamed by [`decoder`]) and
//! phase-locked slow-oscillation triggers ([`slow_oscillation`]).

mod bands;
pub mod decoder;
pub mod slow_oscillation;
pub mod spindle;
pub mod spindle_net;
#[cfg(test)]
mod test_signal;

pub use decoder::{
    SoDecoder, SoDecoderConfig, SpindleDecoder, SpindleDecoderConfig, SpindleEngine,
};
pub use slow_oscillation::{SoConfig, SoTrigger, SoTriggerEvent};
pub use spindle::{
    SpindleConfig, SpindleDetector, SpindleEvent, SpindleEventKind, SpindleFeatures, Verdict,
};
pub use spindle_net::{
    NetFrontEnd, NetFrontEndConfig, NetSample, SpindleNet, SpindleNetConfig, WindowModel,
};
