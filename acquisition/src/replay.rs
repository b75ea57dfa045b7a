//! The controls of a replay against the clock (pause, speed, a move to another place) and its
//! position, shared between a window and the acquisition thread. Places are file time: a
//! recording with a pause in it is moved to what its clock says, not to a sample count.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The fastest a replay can be set to run while it runs (the recording's buffers are sized
/// for it at start).
pub const MAX_REPLAY_SPEED: f64 = 10.0;

/// No move asked (not the bits of any finite time).
const NO_SEEK: u64 = u64::MAX;

/// Controls of a replay against the clock, shared between the window and the acquisition
/// thread (atomics only: the acquisition thread never waits for the window).
#[derive(Debug)]
pub struct ReplayControl {
    paused: AtomicBool,
    /// Speed factor (f64 bits).
    speed: AtomicU64,
    /// File time to move to, s (f64 bits; [`NO_SEEK`]: none asked).
    seek: AtomicU64,
    /// File time of the next sample to deliver, s (f64 bits).
    position: AtomicU64,
    /// File time of the last sample, s.
    end_secs: f64,
}

impl ReplayControl {
    pub(crate) fn new(speed: f64, end_secs: f64) -> Self {
        ReplayControl {
            paused: AtomicBool::new(false),
            speed: AtomicU64::new(speed.to_bits()),
            seek: AtomicU64::new(NO_SEEK),
            position: AtomicU64::new(0f64.to_bits()),
            end_secs,
        }
    }

    /// Pauses (no data flows; the session waits) or resumes.
    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Release);
    }

    /// Whether the replay is paused.
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Replays `factor` times faster than real time from now on (above zero, at most
    /// [`MAX_REPLAY_SPEED`]; other values are ignored).
    pub fn set_speed(&self, factor: f64) {
        if factor.is_finite() && factor > 0.0 && factor <= MAX_REPLAY_SPEED {
            self.speed.store(factor.to_bits(), Ordering::Release);
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        f64::from_bits(self.speed.load(Ordering::Acquire))
    }

    /// Moves the replay to `secs` of file time (clamped to the file).
    pub fn seek_secs(&self, secs: f64) {
        let secs = if secs.is_finite() { secs } else { 0.0 };
        self.seek
            .store(secs.clamp(0.0, self.end_secs).to_bits(), Ordering::Release);
    }

    /// The file time reached (of the next sample to deliver) and the file's length, s.
    pub fn position_secs(&self) -> (f64, f64) {
        (
            f64::from_bits(self.position.load(Ordering::Relaxed)),
            self.end_secs,
        )
    }

    pub(crate) fn set_position(&self, secs: f64) {
        self.position.store(secs.to_bits(), Ordering::Relaxed);
    }

    pub(crate) fn take_seek(&self) -> Option<f64> {
        let bits = self.seek.swap(NO_SEEK, Ordering::AcqRel);
        (bits != NO_SEEK).then(|| f64::from_bits(bits))
    }
}
