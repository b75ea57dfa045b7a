//! Second moments of a sliding window, accumulated as the samples arrive.
//!
//! A sliding-window decoder that needs only a window's covariance (motor imagery) or its
//! covariance and cross-products with known reference signals (CCA) does not have to touch
//! the window's samples when a decision falls due. [`SlidingMoments`] adds each arriving frame
//! into the sums of the current *segment*; segments are cut at every decision time and at
//! every window start, so a decision's window is an exact union of whole segments and its
//! moments are the sum of a few segment sums, `O(segments × channels²)` instead of
//! `O(window × channels²)`. Segment sums are recomputed into the window at each decision,
//! never added and subtracted in a running total, so rounding cannot drift over a long session
//! and a non-finite sample stops spoiling decisions once its segment has left the window.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};

/// The moments of one window: `n` frames, per-channel sums, `Σ x xᵀ` and `Σ x yᵀ`.
#[derive(Debug, Clone)]
pub(crate) struct WindowMoments {
    /// Frames in the window.
    pub n: usize,
    /// Absolute index (frames since the start or the last reset) of the window's first frame.
    pub start: u64,
    /// `Σ x` (channels).
    pub sum: Vec<f64>,
    /// `Σ x xᵀ` (channels × channels; uncentred).
    pub outer: Mat<f64>,
    /// `Σ x yᵀ` (channels × references; uncentred; empty without references).
    pub cross: Mat<f64>,
}

impl WindowMoments {
    fn new(channels: usize, refs: usize) -> Self {
        WindowMoments {
            n: 0,
            start: 0,
            sum: vec![0.0; channels],
            outer: Mat::zeros(channels, channels),
            cross: Mat::zeros(channels, refs),
        }
    }

    fn clear(&mut self) {
        self.n = 0;
        self.sum.fill(0.0);
        self.outer.fill(0.0);
        self.cross.fill(0.0);
    }

    fn add(&mut self, other: &WindowMoments) {
        self.n += other.n;
        for (a, b) in self.sum.iter_mut().zip(&other.sum) {
            *a += b;
        }
        add_into(&mut self.outer, &other.outer);
        add_into(&mut self.cross, &other.cross);
    }

    /// Writes the centred scatter `Σ (x − x̄)(x − x̄)ᵀ` times `scale` into `out` (`scale` 1
    /// for the scatter itself, `1/n` for the sample covariance).
    pub fn centred_outer_into(&self, out: &mut Mat<f64>, scale: f64) {
        let n = self.n.max(1) as f64;
        let p = self.sum.len();
        for j in 0..p {
            for i in 0..p {
                out[(i, j)] = scale * (self.outer[(i, j)] - self.sum[i] * self.sum[j] / n);
            }
        }
    }
}

fn add_into(a: &mut Mat<f64>, b: &Mat<f64>) {
    for j in 0..a.ncols() {
        for (x, y) in a.col_mut(j).iter_mut().zip(b.col(j).iter()) {
            *x += y;
        }
    }
}

/// Sliding-window moments of a `channels`-channel stream whose decisions fall every `step`
/// frames (counted from the start or the last reset, as [`crate::step::DecisionStepper`]
/// counts them) on the latest `window` frames. Everything is allocated by
/// [`SlidingMoments::new`]; pushing and reading a window are real-time safe.
#[derive(Debug, Clone)]
pub(crate) struct SlidingMoments {
    channels: usize,
    refs: usize,
    window: usize,
    step: usize,
    /// Frames pushed since the start or the last reset.
    frame: u64,
    /// Where the current segment ends.
    next_cut: u64,
    /// Ring of segments, oldest first from `head`; the last one is open.
    segments: Vec<WindowMoments>,
    head: usize,
    len: usize,
    /// The frames being added, as `f64` (channels × frames).
    x: Mat<f64>,
    total: WindowMoments,
}

impl SlidingMoments {
    /// Moments of windows of `window` frames, a decision every `step` frames, with `refs`
    /// reference signals (0 for covariance only), for pushes of up to `max_block` frames.
    pub fn new(channels: usize, refs: usize, window: usize, step: usize, max_block: usize) -> Self {
        let step = step.max(1);
        let window = window.max(1);
        // Segments that can still be read start within the last `window` frames; cuts fall on
        // two lattices of period `step`, so at most 2·(window/step + 1) of them, plus the open
        // one.
        let capacity = 2 * (window / step + 2) + 1;
        let mut m = SlidingMoments {
            channels,
            refs,
            window,
            step,
            frame: 0,
            next_cut: 0,
            segments: (0..capacity)
                .map(|_| WindowMoments::new(channels, refs))
                .collect(),
            head: 0,
            len: 0,
            x: Mat::zeros(channels, max_block.max(1)),
            total: WindowMoments::new(channels, refs),
        };
        m.reset();
        m
    }

    /// Forgets every frame.
    pub fn reset(&mut self) {
        self.frame = 0;
        self.head = 0;
        self.len = 1;
        self.segments[0].clear();
        self.segments[0].start = 0;
        self.next_cut = self.cut_after(0);
    }

    /// Channels per frame.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames pushed since the start or the last reset.
    pub fn frames(&self) -> u64 {
        self.frame
    }

    /// The first cut after frame `f`: the next decision time or the next window start.
    fn cut_after(&self, f: u64) -> u64 {
        let (step, window) = (self.step as u64, self.window as u64);
        let decision = (f / step + 1) * step;
        let start = ((f + window) / step + 1) * step - window;
        decision.min(start)
    }

    /// Index of the open (latest) segment in the ring.
    fn open_index(&self) -> usize {
        (self.head + self.len - 1) % self.segments.len()
    }

    /// Closes the open segment and opens one at the current frame, dropping segments no later
    /// window can start at.
    fn cut(&mut self) {
        let oldest_needed = self.frame.saturating_sub(self.window as u64);
        while self.len > 1 && self.segments[self.head].start < oldest_needed {
            self.head = (self.head + 1) % self.segments.len();
            self.len -= 1;
        }
        assert!(
            self.len < self.segments.len(),
            "segment ring sized for the cut lattice"
        );
        self.len += 1;
        let i = self.open_index();
        self.segments[i].clear();
        self.segments[i].start = self.frame;
        self.next_cut = self.cut_after(self.frame);
    }

    /// Adds `x` (interleaved frames of `channels`) and, with references, `y` (the same frames'
    /// `refs` reference values, frame after frame).
    ///
    /// # Panics
    /// Panics on more frames than prepared or mismatched shapes (programming errors).
    pub fn push(&mut self, x: &[f32], y: &[f64]) {
        let frames = x.len() / self.channels.max(1);
        assert_eq!(y.len(), frames * self.refs, "one reference row per frame");
        assert!(frames <= self.x.ncols(), "block longer than prepared");
        let mut done = 0;
        while done < frames {
            let take = ((self.next_cut - self.frame) as usize).min(frames - done);
            self.accumulate(
                &x[done * self.channels..(done + take) * self.channels],
                &y[done * self.refs..(done + take) * self.refs],
            );
            done += take;
            self.frame += take as u64;
            if self.frame == self.next_cut {
                self.cut();
            }
        }
    }

    fn accumulate(&mut self, x: &[f32], y: &[f64]) {
        let (p, r) = (self.channels, self.refs);
        let k = x.len() / p.max(1);
        for (f, frame) in x.chunks_exact(p).enumerate() {
            for (c, &v) in frame.iter().enumerate() {
                self.x[(c, f)] = f64::from(v);
            }
        }
        let i = self.open_index();
        let xs = self.x.as_ref().subcols(0, k);
        let seg = &mut self.segments[i];
        seg.n += k;
        for c in 0..p {
            seg.sum[c] += xs.row(c).iter().sum::<f64>();
        }
        matmul(
            seg.outer.as_mut(),
            Accum::Add,
            xs,
            xs.transpose(),
            1.0,
            Par::Seq,
        );
        if r > 0 {
            matmul(
                seg.cross.as_mut(),
                Accum::Add,
                xs,
                MatRef::from_row_major_slice(y, k, r),
                1.0,
                Par::Seq,
            );
        }
    }

    /// The moments of the latest `window` frames, or `None` before that many have arrived
    /// (or when the latest frame is not at a decision time, so no segment starts exactly
    /// where the window does).
    pub fn window(&mut self) -> Option<&WindowMoments> {
        let window = self.window as u64;
        if self.frame < window {
            return None;
        }
        let start = self.frame - window;
        self.total.clear();
        self.total.start = start;
        let mut aligned = false;
        for k in 0..self.len {
            let seg = &self.segments[(self.head + k) % self.segments.len()];
            if seg.start < start {
                continue;
            }
            aligned |= seg.start == start;
            self.total.add(seg);
        }
        (aligned && self.total.n == self.window).then_some(&self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_noise::Xorshift;

    /// Direct sums over the last `n` frames of `x` (interleaved, `p` channels) and `y`.
    fn direct(
        x: &[f32],
        y: &[f64],
        p: usize,
        r: usize,
        n: usize,
    ) -> (Vec<f64>, Mat<f64>, Mat<f64>) {
        let frames = x.len() / p;
        let mut sum = vec![0.0; p];
        let mut outer = Mat::zeros(p, p);
        let mut cross = Mat::zeros(p, r);
        for f in frames - n..frames {
            for i in 0..p {
                let xi = f64::from(x[f * p + i]);
                sum[i] += xi;
                for j in 0..p {
                    outer[(i, j)] += xi * f64::from(x[f * p + j]);
                }
                for j in 0..r {
                    cross[(i, j)] += xi * y[f * r + j];
                }
            }
        }
        (sum, outer, cross)
    }

    #[test]
    fn every_decision_reads_exactly_its_window() {
        // Windows that are and are not a multiple of the step, blocks that straddle cuts.
        for (window, step, block) in [(20, 5, 3), (17, 5, 4), (7, 10, 6), (12, 12, 12)] {
            let (p, r) = (3, 2);
            let mut noise = Xorshift(window as u64 * 7919 + 1);
            let total = 200;
            let x: Vec<f32> = (0..total * p).map(|_| noise.normal() as f32).collect();
            let y: Vec<f64> = (0..total * r).map(|_| noise.normal()).collect();
            let mut m = SlidingMoments::new(p, r, window, step, block);
            let mut decisions = 0;
            let mut f = 0;
            while f < total {
                // Push up to the next decision time at most, as the stepper does.
                let until = step - f % step;
                let take = block.min(total - f).min(until);
                m.push(&x[f * p..(f + take) * p], &y[f * r..(f + take) * r]);
                f += take;
                if f % step == 0 && f >= window {
                    let got = m.window().expect("a window at every decision");
                    let (sum, outer, cross) = direct(&x[..f * p], &y[..f * r], p, r, window);
                    assert_eq!(got.n, window);
                    assert_eq!(got.start, (f - window) as u64);
                    for i in 0..p {
                        assert!((got.sum[i] - sum[i]).abs() < 1e-9);
                        for j in 0..p {
                            assert!((got.outer[(i, j)] - outer[(i, j)]).abs() < 1e-9);
                        }
                        for j in 0..r {
                            assert!((got.cross[(i, j)] - cross[(i, j)]).abs() < 1e-9);
                        }
                    }
                    decisions += 1;
                }
            }
            assert!(decisions > 10, "{window}/{step}: {decisions} decisions");
        }
    }

    #[test]
    fn a_non_finite_sample_spoils_only_the_windows_that_hold_it() {
        let (p, window, step) = (2, 10, 5);
        let mut m = SlidingMoments::new(p, 0, window, step, step);
        let mut finite = Vec::new();
        for s in 0..8 {
            let mut block = vec![1.0f32; p * step];
            block[1] = (s as f32).sin();
            if s == 2 {
                block[3] = f32::NAN;
            }
            m.push(&block, &[]);
            if let Some(w) = m.window() {
                finite.push(w.outer[(0, 0)].is_finite() && w.outer[(1, 1)].is_finite());
            }
        }
        // Windows end after blocks 1..=7; those holding block 2 end after blocks 2 and 3.
        assert_eq!(finite, [true, false, false, true, true, true, true]);
        m.reset();
        assert!(m.window().is_none());
        assert_eq!(m.frames(), 0);
    }
}
