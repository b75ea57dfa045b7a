//! The one clock of the process: LSL's `local_clock()`.
//!
//! Every timestamp in neuroloop (sample stamps, decisions, audio onsets, frame times) is in this
//! time base, so latencies are differences of two readings of the same clock.

/// Seconds on LSL's monotonic clock (the time base of LSL timestamps on this machine).
///
/// Real-time safe: a system clock read, no allocation.
pub fn local_clock() -> f64 {
    lsl::local_clock()
}
