//! SSVEP decoders: canonical correlation analysis against sinusoidal references (CCA, FBCCA)
//! and task-related component analysis fitted from calibration trials (TRCA, ensemble TRCA).

pub mod cca;
pub mod decoder;
pub mod onset;
pub mod trca;

pub use decoder::{SsvepCcaConfig, SsvepCcaDecoder};
