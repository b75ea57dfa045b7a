//! Canonical correlation between an EEG window and sinusoidal references (Lin et al. 2006).
//!
//! For each target frequency `f` the reference set is `sin(2π h f t)`, `cos(2π h f t)` for
//! harmonics `h = 1..H`. The largest canonical correlation between the multi-channel window
//! `X` (channels × samples) and the reference set `Y` is
//! `ρ = σ_max(L⁻¹ X Q)`, where `L Lᵀ = X Xᵀ` (Cholesky, rows of `X` centred) and `Q` is an
//! orthonormal basis of the centred references (computed once). Everything per window runs
//! in preallocated `faer` matrices and a preallocated scratch stack: no allocation.

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::cholesky::llt::factor::{
    LltRegularization, cholesky_in_place, cholesky_in_place_scratch,
};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::linalg::matmul::matmul;
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::prelude::{Reborrow, ReborrowMut};
use faer::{Accum, Mat, Par};

use crate::DecoderError;

/// Relative ridge added to `X Xᵀ` so that rank-deficient windows (a flat channel, channels
/// made linearly dependent by re-referencing) still factorise.
const RIDGE: f64 = 1e-9;

/// Scores a window against every target's sinusoidal references.
pub struct CcaScorer {
    channels: usize,
    samples: usize,
    /// Per target: orthonormal basis (samples × 2H) of the centred reference signals.
    bases: Vec<Mat<f64>>,
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
        let bases: Vec<Mat<f64>> = freqs_hz
            .iter()
            .map(|&f| reference_basis(f, usable(f), samples, sample_rate_hz))
            .collect();
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
            bases,
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
        if factored.is_err() || !trace.is_finite() || trace <= 0.0 {
            // A flat or non-finite window carries no evidence for any target.
            out.fill(0.0);
            return;
        }
        for (t, basis) in self.bases.iter().enumerate() {
            let k = basis.ncols();
            let mut xq = self.xq.as_mut().subcols_mut(0, k);
            matmul(
                xq.rb_mut(),
                Accum::Replace,
                self.x.as_ref(),
                basis.as_ref(),
                1.0,
                Par::Seq,
            );
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
            out[t] = match eig {
                // Eigenvalues come sorted in nondecreasing order.
                Ok(()) => self.eigenvalues[t][k - 1].clamp(0.0, 1.0).sqrt(),
                Err(_) => 0.0,
            };
        }
    }
}

/// Orthonormal basis (thin Q of a QR factorisation) of the centred sine/cosine references.
fn reference_basis(freq_hz: f64, harmonics: usize, samples: usize, fs: f64) -> Mat<f64> {
    let mut y = Mat::<f64>::zeros(samples, 2 * harmonics);
    for h in 0..harmonics {
        let w = std::f64::consts::TAU * freq_hz * (h + 1) as f64 / fs;
        for i in 0..samples {
            let (s, c) = (w * i as f64).sin_cos();
            y[(i, 2 * h)] = s;
            y[(i, 2 * h + 1)] = c;
        }
    }
    for j in 0..y.ncols() {
        let mean = (0..samples).map(|i| y[(i, j)]).sum::<f64>() / samples as f64;
        for i in 0..samples {
            y[(i, j)] -= mean;
        }
    }
    y.qr().compute_thin_Q()
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
