//! The controls of a replay against the clock (pause, speed, a move to another place) and its
//! position, shared between a window and the acquisition thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Controls of a replay against the clock, shared between the window and the acquisition
/// thread (atomics only: the acquisition thread never waits for the window).
#[derive(Debug)]
pub struct ReplayControl {
    paused: AtomicBool,
    /// Speed factor (f64 bits).
    speed: AtomicU64,
    /// Frame to move to (`u64::MAX`: none asked).
    seek: AtomicU64,
    /// Frames delivered so far (the position).
    pub(crate) position: AtomicU64,
    /// Frames in the file.
    total: u64,
    /// The file's rate.
    rate_hz: f64,
}

impl ReplayControl {
    pub(crate) fn new(speed: f64, total: u64, rate_hz: f64) -> Self {
        ReplayControl {
            paused: AtomicBool::new(false),
            speed: AtomicU64::new(speed.to_bits()),
            seek: AtomicU64::new(u64::MAX),
            position: AtomicU64::new(0),
            total,
            rate_hz,
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

    /// Replays `factor` times faster than real time from now on (finite and above zero;
    /// other values are ignored).
    pub fn set_speed(&self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.speed.store(factor.to_bits(), Ordering::Release);
        }
    }

    /// The speed factor.
    pub fn speed(&self) -> f64 {
        f64::from_bits(self.speed.load(Ordering::Acquire))
    }

    /// Moves the replay to `secs` of file time (clamped to the file).
    pub fn seek_secs(&self, secs: f64) {
        let frame = (secs.max(0.0) * self.rate_hz) as u64;
        self.seek
            .store(frame.min(self.total.saturating_sub(1)), Ordering::Release);
    }

    /// Seconds of file delivered so far, and the file's length in seconds.
    pub fn position_secs(&self) -> (f64, f64) {
        (
            self.position.load(Ordering::Relaxed) as f64 / self.rate_hz,
            self.total as f64 / self.rate_hz,
        )
    }

    pub(crate) fn take_seek(&self) -> Option<usize> {
        let frame = self.seek.swap(u64::MAX, Ordering::AcqRel);
        (frame != u64::MAX).then_some(frame as usize)
    }
}
