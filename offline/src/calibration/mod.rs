//! Calibration models fitted from recordings of a cued run: motor-imagery decoders
//! ([`imagery`]) and onset-locked SSVEP (TRCA) models ([`ssvep`]).

pub mod imagery;
pub mod ssvep;
