//! SSVEP decoders: canonical correlation analysis against sinusoidal references.

pub mod cca;
pub mod decoder;

pub use decoder::{SsvepCcaConfig, SsvepCcaDecoder};
