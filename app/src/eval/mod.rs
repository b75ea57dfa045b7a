//! Offline evaluation of decoders on recorded data sets, with the field's metrics, beside
//! reference implementations' numbers on the same protocol:
//!
//! - [`ssvep`]: `neuroloop eval ssvep --kalunga DIR`, training-free SSVEP (CCA, FBCCA);
//! - [`mi`]: `neuroloop eval mi --eegmmidb DIR`, motor imagery (CSP-LDA, TS-LR, MDM);
//! - [`spindles`]: `neuroloop eval spindles --dreams DIR`, causal sleep-spindle detection;
//! - [`so_phase`]: `neuroloop eval so-phase --data DIR`, slow-oscillation phase targeting.

pub mod mi;
pub mod so_phase;
pub mod spindles;
pub mod ssvep;

pub use ssvep::*;
