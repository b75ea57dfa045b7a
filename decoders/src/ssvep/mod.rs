//! SSVEP decoders: canonical correlation analysis against sinusoidal references (CCA, FBCCA),
//! task-related component analysis fitted from calibration trials (TRCA, ensemble TRCA), and a
//! network run through ONNX Runtime; the last two onset-locked ([`onset`]).

pub mod cca;
pub mod decoder;
pub mod net;
pub mod onset;
pub mod trca;

pub use decoder::{SsvepCcaConfig, SsvepCcaDecoder};
pub use net::SsvepNet;
