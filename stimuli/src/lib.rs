//! Stimulus generation for neuroloop: SSVEP flicker luminance and closed-loop audio bursts.
//!
//! [`flicker`] and [`burst`] are pure, allocation-free functions of time or of a caller's
//! buffer, so they can run in a render loop or an audio callback. [`audio`] schedules bursts
//! sample-accurately inside an audio callback, fed by a lock-free queue; [`device`] runs it on
//! the default output device through cpal.

pub mod audio;
pub mod burst;
pub mod device;
pub mod flicker;
pub mod frame;
