//! Frame timing of a stimulus window: when the frame being drawn will be presented (the
//! next refresh, from the measured refresh period) and how many refreshes were missed. A
//! flicker sampled at the presentation time shows the luminance its code prescribes even when
//! the display's rate differs from the one assumed.

/// Frame timing: predicts when the frame being drawn is presented and counts dropped frames.
#[derive(Debug, Clone)]
pub struct FrameClock {
    intervals: [f64; 31],
    filled: usize,
    next: usize,
    last: Option<f64>,
    period: f64,
    frames: u64,
    dropped: u64,
}

/// One frame's timing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTime {
    /// Frame number from 0.
    pub index: u64,
    /// When the frame started being drawn.
    pub drawn: f64,
    /// Predicted presentation: the next refresh after `drawn`.
    pub present: f64,
    /// Refreshes missed since the previous frame.
    pub missed: u32,
}

impl FrameClock {
    /// A clock expecting refreshes every `period_secs` until it has measured them.
    pub fn new(period_secs: f64) -> Self {
        FrameClock {
            intervals: [period_secs; 31],
            filled: 0,
            next: 0,
            last: None,
            period: period_secs,
            frames: 0,
            dropped: 0,
        }
    }

    /// The refresh period in use (median of the last 31 frame intervals below 0.25 s, once
    /// five are measured).
    pub fn period(&self) -> f64 {
        self.period
    }

    /// Frames seen and refreshes missed.
    pub fn counts(&self) -> (u64, u64) {
        (self.frames, self.dropped)
    }

    /// Registers a frame drawn at `now` (LSL seconds).
    pub fn frame(&mut self, now: f64) -> FrameTime {
        let mut missed = 0;
        if let Some(last) = self.last {
            let dt = now - last;
            let ratio = dt / self.period;
            if ratio >= 1.5 {
                missed = (ratio.round() as u32).saturating_sub(1);
                self.dropped += u64::from(missed);
            }
            // Every interval short of a stall feeds the median, so a display slower than the
            // first guess (or one that slows down) is learnt rather than counted as missing
            // frames for ever; occasional drops do not move the median.
            if dt > 0.0 && dt < 0.25 {
                self.intervals[self.next] = dt;
                self.next = (self.next + 1) % self.intervals.len();
                self.filled = (self.filled + 1).min(self.intervals.len());
                if self.filled >= 5 {
                    let mut sorted = self.intervals;
                    let n = self.filled;
                    let window = &mut sorted[..n];
                    window.sort_by(f64::total_cmp);
                    self.period = window[n / 2];
                }
            }
        }
        self.last = Some(now);
        let t = FrameTime {
            index: self.frames,
            drawn: now,
            present: now + self.period,
            missed,
        };
        self.frames += 1;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_clock_learns_the_refresh_rate_and_counts_drops() {
        let mut c = FrameClock::new(1.0 / 60.0);
        let p = 1.0 / 144.0;
        let mut t = 100.0;
        for _ in 0..40 {
            c.frame(t);
            t += p;
        }
        assert!((c.period() - p).abs() < 1e-9);
        t += 2.0 * p; // two refreshes missed
        let f = c.frame(t);
        assert_eq!(f.missed, 2);
        assert!((f.present - (t + p)).abs() < 1e-9);
        assert_eq!(c.counts(), (41, 2));
        // A slower display than the first guess is learnt, not counted as drops for ever.
        let mut slow = FrameClock::new(1.0 / 60.0);
        let mut t = 0.0;
        for _ in 0..20 {
            slow.frame(t);
            t += 1.0 / 30.0;
        }
        assert!((slow.period() - 1.0 / 30.0).abs() < 1e-9);
        let before = slow.counts().1;
        slow.frame(t);
        assert_eq!(slow.counts().1, before, "no drop at the learnt rate");
    }
}
