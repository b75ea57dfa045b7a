//! Offline work of neuroloop, apart from the real-time runtime: decoders evaluated on recorded
//! data sets beside reference implementations' numbers on the same protocol ([`eval`]), and
//! calibration models fitted from recordings ([`calibration`]).

pub mod calibration;
mod error;
pub mod eval;

pub use error::{OfflineError, Result};
