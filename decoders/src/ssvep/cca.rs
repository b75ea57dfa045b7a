//! Canonical correlation between an EEG window and sinusoidal references (Lin et al. 2006).
//!
//! For each target frequency `f` the reference set is `sin(2π h f t)`, `cos(2π h f t)` for
//! harmonics `h = 1..H`. The largest canonical correlation between the multi-channel window
//! `X` (channels × samples) and the reference set `Y` is
//! `ρ = σ_max(L⁻¹ X Q)`, where `L Lᵀ = X Xᵀ` (Cholesky, rows of `X` centred) and `Q` is an
//! orthonormal basis of the centred references (computed once). Everything per window runs
//! in preallocated `faer` matrices and a preallocated scratch stack: no allocation.
//!
//! The streaming decoder does not keep the window at all: `X Xᵀ` and `X Yᵀ` need only the
//! window's moments (`Σx`, `Σ x xᵀ`, and `Σ x yᵀ` against references of absolute phase,
//! accumulated as the samples arrive), and `CcaScorer::score_moments` turns them into the
//! same correlations: rotating each harmonic's sine/cosine pair by the phase at the window's
//! start gives the window-relative references, and `X Q = (X Yᵀ − x̄-terms) R⁻¹` for the
//! references' QR factor `R`.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::{
    LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::{
    solve_lower_triangular_in_place, solve_upper_triangular_in_place,
};
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, Par};

use crate::DecoderError;
use crate::moments::WindowMoments;

/// Relative ridge added to `X Xᵀ` so that rank-deficient windows (a flat channel, channels
/// made linearly dependent by re-referencing) still factorise.
const RIDGE: f64 = 1e-9;

/// Scores a window against every target's sinusoidal references.
pub struct CcaScorer {
    channels: usize,
    samples: usize,
    sample_rate_hz: f64,
    /// Per target: its frequency and the harmonics used.
    targets: Vec<(f64, usize)>,
    /// Per target: its first column among all targets' references.
    offsets: Vec<usize>,
    /// Per target: orthonormal basis (samples × 2H) of the centred reference signals.
    bases: Vec<Mat<f64>>,
    /// Per target: `R⁻¹` for the QR factor `R` of the centred references (`Y_c = Q R`).
    r_inverses: Vec<Mat<f64>>,
    /// Per target: the mean of each reference over a window.
    reference_means: Vec<Vec<f64>>,
    /// Window-relative, centred `X Yᵀ` of one target (channels × 2H).
    cross: Mat<f64>,
    x: Mat<f64>,
    cxx: Mat<f64>,
    xq: Mat<f64>,
    gram: Mat<f64>,
    /// Per target: eigenvalues of the (2H × 2H) Gram matrix.
    eigenvalues: Vec<Diag<f64>>,
    scratch: MemBuffer,
}

impl CcaScorer {
    /// Prepares references for `freqs_hz` with `harmonics` harmonics each (harmonics at or
    /// above Nyquist are left out) for windows of `samples` samples at `sample_rate_hz`.
    /// Allocates everything the scoring needs.
    pub fn new(
        channels: usize,
        samples: usize,
        sample_rate_hz: f64,
        freqs_hz: &[f64],
        harmonics: usize,
    ) -> Result<Self, DecoderError> {
        if channels == 0 {
            return Err(DecoderError::NoChannels);
        }
        let nyquist = sample_rate_hz / 2.0;
        let usable = |f: f64| {
            (1..=harmonics)
                .take_while(|h| f * *h as f64 + 0.5 < nyquist)
                .count()
        };
        let max_refs = freqs_hz.iter().map(|&f| 2 * usable(f)).max().unwrap_or(0);
        if let Some(&f) = freqs_hz.iter().find(|&&f| usable(f) == 0) {
            return Err(DecoderError::FrequencyAboveNyquist {
                freq_hz: f,
                sample_rate_hz,
            });
        }
        if samples <= channels.max(max_refs) {
            return Err(DecoderError::WindowTooShort {
                samples,
                needed: channels.max(max_refs) + 1,
            });
        }
        let targets: Vec<(f64, usize)> = freqs_hz.iter().map(|&f| (f, usable(f))).collect();
        let mut offsets = Vec::with_capacity(targets.len());
        let mut bases = Vec::with_capacity(targets.len());
        let mut r_inverses = Vec::with_capacity(targets.len());
        let mut reference_means = Vec::with_capacity(targets.len());
        let mut refs = 0;
        for &(f, h) in &targets {
            offsets.push(refs);
            refs += 2 * h;
            let (basis, r_inverse, means) = reference_basis(f, h, samples, sample_rate_hz);
            bases.push(basis);
            r_inverses.push(r_inverse);
            reference_means.push(means);
        }
        let eigenvalues = bases.iter().map(|b| Diag::zeros(b.ncols())).collect();
        let par = Par::Seq;
        let req = StackReq::any_of(&[
            cholesky_in_place_scratch::<f64>(channels, par, Default::default()),
            self_adjoint_evd_scratch::<f64>(
                max_refs,
                ComputeEigenvectors::No,
                par,
                Default::default(),
            ),
        ]);
        Ok(CcaScorer {
            channels,
            samples,
            sample_rate_hz,
            targets,
            offsets,
            bases,
            r_inverses,
            reference_means,
            cross: Mat::zeros(channels, max_refs),
            x: Mat::zeros(channels, samples),
            cxx: Mat::zeros(channels, channels),
            xq: Mat::zeros(channels, max_refs),
            gram: Mat::zeros(max_refs, max_refs),
            eigenvalues,
            scratch: MemBuffer::new(req),
        })
    }

    /// Number of targets scored.
    pub fn targets(&self) -> usize {
        self.bases.len()
    }

    /// Window length in samples.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Computes the largest canonical correlation of `window` (channel-major, channels ×
    /// samples) with each target's references into `out` (one value per target, in 0..=1).
    ///
    /// Real-time safe: no allocation; called on the worker thread.
    ///
    /// # Panics
    /// Panics if `window.len() != channels * samples` or `out.len() != targets`
    /// (programming errors).
    pub fn score(&mut self, window: &[f32], out: &mut [f64]) {
        assert_eq!(window.len(), self.channels * self.samples, "window shape");
        assert_eq!(out.len(), self.bases.len(), "one output per target");
        crate::centre::load_centred(window, &mut self.x);
        matmul(
            self.cxx.as_mut(),
            Accum::Replace,
            self.x.as_ref(),
            self.x.as_ref().transpose(),
            1.0,
            Par::Seq,
        );
        if !self.factor_cxx() {
            // A flat or non-finite window carries no evidence for any target.
            out.fill(0.0);
            return;
        }
        for (t, out) in out.iter_mut().enumerate() {
            let k = self.bases[t].ncols();
            matmul(
                self.xq.as_mut().subcols_mut(0, k),
                Accum::Replace,
                self.x.as_ref(),
                self.bases[t].as_ref(),
                1.0,
                Par::Seq,
            );
            *out = self.largest_correlation(t, k);
        }
    }

    /// References per frame over all targets (`Σ 2H`), in the order
    /// [`CcaScorer::fill_references`] writes them.
    pub fn reference_count(&self) -> usize {
        self.targets.iter().map(|&(_, h)| 2 * h).sum()
    }

    /// Writes the references of absolute phase for `frames` frames from frame `start`
    /// (counted from the stream's start): per frame, per target, per harmonic `sin` then
    /// `cos` of `2π h f t / fs`. Real-time safe.
    ///
    /// # Panics
    /// Panics if `out` does not hold `frames ×` [`CcaScorer::reference_count`] values.
    pub fn fill_references(&self, start: u64, frames: usize, out: &mut [f64]) {
        let refs = self.reference_count();
        assert_eq!(out.len(), frames * refs, "one row of references per frame");
        for (f, row) in out.chunks_exact_mut(refs.max(1)).enumerate() {
            let t = start + f as u64;
            for (&(freq, harmonics), &off) in self.targets.iter().zip(&self.offsets) {
                for h in 0..harmonics {
                    let (s, c) = self.phase(freq * (h + 1) as f64, t).sin_cos();
                    row[off + 2 * h] = s;
                    row[off + 2 * h + 1] = c;
                }
            }
        }
    }

    /// `2π f t / fs` reduced to one turn, exact enough for any session length.
    fn phase(&self, freq_hz: f64, t: u64) -> f64 {
        let cycles = freq_hz / self.sample_rate_hz * t as f64;
        std::f64::consts::TAU * (cycles - cycles.floor())
    }

    /// [`CcaScorer::score`] of the window whose moments `m` holds, its cross-products taken
    /// against [`CcaScorer::fill_references`]. Real-time safe.
    ///
    /// # Panics
    /// Panics on moments of another shape or window length (programming errors).
    pub(crate) fn score_moments(&mut self, m: &WindowMoments, out: &mut [f64]) {
        assert_eq!(m.n, self.samples, "window length");
        assert_eq!(m.cross.ncols(), self.reference_count(), "references");
        assert_eq!(out.len(), self.bases.len(), "one output per target");
        m.centred_outer_into(&mut self.cxx, 1.0);
        if !self.factor_cxx() {
            out.fill(0.0);
            return;
        }
        for (t, out) in out.iter_mut().enumerate() {
            let (freq, harmonics) = self.targets[t];
            let (off, k) = (self.offsets[t], 2 * harmonics);
            for h in 0..harmonics {
                // y_rel(i) = M y_abs(start + i), M the rotation by the start's phase.
                let (s0, c0) = self.phase(freq * (h + 1) as f64, m.start).sin_cos();
                let means = &self.reference_means[t];
                for c in 0..self.channels {
                    let (a_s, a_c) = (m.cross[(c, off + 2 * h)], m.cross[(c, off + 2 * h + 1)]);
                    self.cross[(c, 2 * h)] = a_s * c0 - a_c * s0 - m.sum[c] * means[2 * h];
                    self.cross[(c, 2 * h + 1)] = a_s * s0 + a_c * c0 - m.sum[c] * means[2 * h + 1];
                }
            }
            matmul(
                self.xq.as_mut().subcols_mut(0, k),
                Accum::Replace,
                self.cross.as_ref().subcols(0, k),
                self.r_inverses[t].as_ref(),
                1.0,
                Par::Seq,
            );
            *out = self.largest_correlation(t, k);
        }
    }

    /// Adds the ridge to the centred `X Xᵀ` in `cxx` and factors it in place; false for a
    /// flat or non-finite window.
    fn factor_cxx(&mut self) -> bool {
        let trace: f64 = (0..self.channels).map(|c| self.cxx[(c, c)]).sum();
        let ridge = RIDGE * (trace / self.channels as f64).max(f64::MIN_POSITIVE);
        for c in 0..self.channels {
            self.cxx[(c, c)] += ridge;
        }
        let stack = MemStack::new(&mut self.scratch);
        let factored = cholesky_in_place(
            self.cxx.as_mut(),
            LltRegularization::default(),
            Par::Seq,
            stack,
            Default::default(),
        );
        factored.is_ok() && trace.is_finite() && trace > 0.0
    }

    /// `σ_max(L⁻¹ X Q)` for target `t` from `X Q` in the first `k` columns of `xq`.
    fn largest_correlation(&mut self, t: usize, k: usize) -> f64 {
        let mut xq = self.xq.as_mut().subcols_mut(0, k);
        solve_lower_triangular_in_place(self.cxx.as_ref(), xq.rb_mut(), Par::Seq);
        let mut gram = self.gram.as_mut().submatrix_mut(0, 0, k, k);
        matmul(
            gram.rb_mut(),
            Accum::Replace,
            xq.rb().transpose(),
            xq.rb(),
            1.0,
            Par::Seq,
        );
        let stack = MemStack::new(&mut self.scratch);
        let eig = self_adjoint_evd(
            gram.rb(),
            self.eigenvalues[t].as_mut(),
            None,
            Par::Seq,
            stack,
            Default::default(),
        );
        match eig {
            // Eigenvalues come sorted in nondecreasing order.
            Ok(()) => self.eigenvalues[t][k - 1].clamp(0.0, 1.0).sqrt(),
            Err(_) => 0.0,
        }
    }
}

/// Orthonormal basis (thin Q of a QR factorisation) of the centred sine/cosine references,
/// the inverse of the factorisation's `R` and the references' means over the window.
fn reference_basis(
    freq_hz: f64,
    harmonics: usize,
    samples: usize,
    fs: f64,
) -> (Mat<f64>, Mat<f64>, Vec<f64>) {
    let mut y = Mat::<f64>::zeros(samples, 2 * harmonics);
    for h in 0..harmonics {
        let w = std::f64::consts::TAU * freq_hz * (h + 1) as f64 / fs;
        for i in 0..samples {
            let (s, c) = (w * i as f64).sin_cos();
            y[(i, 2 * h)] = s;
            y[(i, 2 * h + 1)] = c;
        }
    }
    let mut means = vec![0.0; y.ncols()];
    for (j, mean) in means.iter_mut().enumerate() {
        *mean = (0..samples).map(|i| y[(i, j)]).sum::<f64>() / samples as f64;
        for i in 0..samples {
            y[(i, j)] -= *mean;
        }
    }
    let q = y.qr().compute_thin_Q();
    // R = Qᵀ Y_c (upper triangular); its inverse by a triangular solve against I.
    let r = q.transpose() * &y;
    let mut r_inverse = Mat::<f64>::identity(r.nrows(), r.ncols());
    solve_upper_triangular_in_place(r.as_ref(), r_inverse.as_mut(), Par::Seq);
    (q, r_inverse, means)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Canonical correlation computed the textbook way (eigenvalues of Cxx⁻¹ Cxy Cyy⁻¹ Cyx)
    /// with faer's high-level (allocating) API, as an independent check.
    fn reference_cca(x: &Mat<f64>, y: &Mat<f64>) -> f64 {
        use faer::linalg::solvers::DenseSolveCore;
        let center = |m: &Mat<f64>| {
            let mut m = m.clone();
            for r in 0..m.nrows() {
                let mean = (0..m.ncols()).map(|c| m[(r, c)]).sum::<f64>() / m.ncols() as f64;
                for c in 0..m.ncols() {
                    m[(r, c)] -= mean;
                }
            }
            m
        };
        let (x, y) = (center(x), center(y));
        let cxx = &x * x.transpose();
        let cyy = &y * y.transpose();
        let cxy = &x * y.transpose();
        let a = cxx.partial_piv_lu().inverse()
            * &cxy
            * cyy.partial_piv_lu().inverse()
            * cxy.transpose();
        let ev = a.eigenvalues().unwrap();
        ev.iter().map(|z| z.re).fold(0.0, f64::max).sqrt()
    }

    fn noisy_ssvep(freq: f64, channels: usize, n: usize, fs: f64, seed: u64) -> Mat<f64> {
        let mut state = seed;
        let mut noise = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) - 0.5
        };
        Mat::from_fn(channels, n, |c, i| {
            let t = i as f64 / fs;
            let gain = 0.2 + c as f64 * 0.1;
            gain * (std::f64::consts::TAU * freq * t + c as f64).sin() + 2.0 * noise()
        })
    }

    #[test]
    fn matches_textbook_cca() {
        let (fs, n, ch) = (250.0, 500, 4);
        let x = noisy_ssvep(12.0, ch, n, fs, 7);
        let window: Vec<f32> = (0..ch)
            .flat_map(|c| (0..n).map(move |i| (c, i)))
            .map(|(c, i)| x[(c, i)] as f32)
            .collect();
        let freqs = [8.0, 10.0, 12.0, 15.0];
        let mut scorer = CcaScorer::new(ch, n, fs, &freqs, 2).unwrap();
        let mut out = [0.0; 4];
        scorer.score(&window, &mut out);
        let xf = Mat::from_fn(ch, n, |c, i| f64::from(window[c * n + i]));
        for (k, &f) in freqs.iter().enumerate() {
            let y = Mat::from_fn(4, n, |r, i| {
                let w = std::f64::consts::TAU * f * (r / 2 + 1) as f64 * i as f64 / fs;
                if r % 2 == 0 { w.sin() } else { w.cos() }
            });
            let expect = reference_cca(&xf, &y);
            assert!(
                (out[k] - expect).abs() < 1e-6,
                "target {f} Hz: {} vs {expect}",
                out[k]
            );
        }
        let best = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(best, 2);
    }

    /// The moments path gives the windowed path's correlations for windows at any start,
    /// including far into a long session (phases of large frame counts).
    #[test]
    fn moments_give_the_windowed_correlations() {
        use crate::moments::SlidingMoments;
        let (fs, n, ch, step) = (250.0, 500, 4, 50);
        let freqs = [8.0, 10.0, 12.0, 15.0];
        let mut scorer = CcaScorer::new(ch, n, fs, &freqs, 3).unwrap();
        let refs = scorer.reference_count();
        assert_eq!(refs, 24);
        let total = 1500;
        let x = noisy_ssvep(12.0, ch, total, fs, 3);
        let interleaved: Vec<f32> = (0..total)
            .flat_map(|i| (0..ch).map(move |c| (c, i)))
            .map(|(c, i)| x[(c, i)] as f32)
            .collect();
        for origin in [0u64, 86_400_000] {
            let mut m = SlidingMoments::new(ch, refs, n, step, step);
            let mut y = vec![0.0; step * refs];
            let mut compared = 0;
            for (b, block) in interleaved.chunks_exact(step * ch).enumerate() {
                scorer.fill_references(origin + (b * step) as u64, step, &mut y);
                m.push(block, &y);
                let Some(w) = m.window() else { continue };
                // The moments carry absolute phase: shift the window's start by the origin.
                let mut w = w.clone();
                let first = (w.start) as usize;
                w.start += origin;
                let mut streamed = [0.0; 4];
                scorer.score_moments(&w, &mut streamed);
                let window: Vec<f32> = (0..ch)
                    .flat_map(|c| (first..first + n).map(move |i| (c, i)))
                    .map(|(c, i)| interleaved[i * ch + c])
                    .collect();
                let mut windowed = [0.0; 4];
                scorer.score(&window, &mut windowed);
                for (a, b) in streamed.iter().zip(&windowed) {
                    assert!((a - b).abs() < 1e-9, "{streamed:?} vs {windowed:?}");
                }
                compared += 1;
            }
            assert_eq!(compared, (total - n) / step + 1);
        }
    }

    #[test]
    fn flat_window_scores_zero() {
        let mut scorer = CcaScorer::new(3, 300, 250.0, &[10.0, 12.0], 2).unwrap();
        let mut out = [1.0; 2];
        scorer.score(&[0.0; 900], &mut out);
        assert_eq!(out, [0.0, 0.0]);
    }

    #[test]
    fn rejects_impossible_configurations() {
        assert!(matches!(
            CcaScorer::new(3, 300, 20.0, &[12.0], 2),
            Err(DecoderError::FrequencyAboveNyquist { .. })
        ));
        assert!(matches!(
            CcaScorer::new(8, 6, 250.0, &[12.0], 2),
            Err(DecoderError::WindowTooShort { .. })
        ));
    }
}
