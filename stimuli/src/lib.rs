//! Stimulus generation for neuroloop: SSVEP flicker luminance and closed-loop audio bursts.
//!
//! Both are pure, allocation-free functions of time or of a caller's buffer, so they can run
//! in a render loop or an audio callback.

pub mod burst;
pub mod flicker;
