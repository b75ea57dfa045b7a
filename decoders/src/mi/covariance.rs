//! Window covariance with Oracle Approximating Shrinkage (Chen et al. 2010), computed the
//! way scikit-learn's `oas` does, without allocating.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, Par};

/// Estimates shrunk covariances of fixed-size windows. All buffers are allocated by
/// [`CovEstimator::new`]; [`CovEstimator::estimate`] is real-time safe.
#[derive(Debug, Clone)]
pub struct CovEstimator {
    channels: usize,
    samples: usize,
    x: Mat<f64>,
}

impl CovEstimator {
    /// An estimator for windows of `channels × samples`.
    pub fn new(channels: usize, samples: usize) -> Self {
        CovEstimator {
            channels,
            samples,
            x: Mat::zeros(channels, samples),
        }
    }

    /// Channels per window.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Samples per window.
    pub fn samples(&self) -> usize {
        self.samples
    }

    /// Writes the OAS covariance of `window` (channel-major, `channels × samples`) into
    /// `out` (`channels × channels`) and returns the shrinkage used, or `None` when the
    /// window holds non-finite values or no variance at all (then `out` is unspecified):
    /// [`CovEstimator::sample_covariance`] shrunk by [`oas_shrink`].
    ///
    /// Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics on a window or output of the wrong shape (a programming error).
    pub fn estimate(&mut self, window: &[f32], mut out: MatMut<'_, f64>) -> Option<f64> {
        self.sample_covariance(window, out.as_mut());
        oas_shrink(out, self.samples)
    }

    /// Writes the sample covariance of `window` (mean removed, divided by `n`) into `out`,
    /// unshrunk. Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics on a window or output of the wrong shape (a programming error).
    pub fn sample_covariance(&mut self, window: &[f32], out: MatMut<'_, f64>) {
        let (p, n) = (self.channels, self.samples);
        assert_eq!(window.len(), p * n, "window shape");
        assert_eq!((out.nrows(), out.ncols()), (p, p), "covariance shape");
        crate::centre::load_centred(window, &mut self.x);
        matmul(
            out,
            Accum::Replace,
            self.x.as_ref(),
            self.x.as_ref().transpose(),
            1.0 / n as f64,
            Par::Seq,
        );
    }

    /// Allocating convenience for offline use: the covariance as a new matrix.
    pub fn estimate_owned(&mut self, window: &[f32]) -> Option<Mat<f64>> {
        let mut out = Mat::zeros(self.channels, self.channels);
        self.estimate(window, out.as_mut()).map(|_| out)
    }
}

/// Shrinks `out`, the sample covariance (mean removed, divided by `n`) of `n` samples, in
/// place by Oracle Approximating Shrinkage and returns the shrinkage used, or `None` when it
/// holds non-finite values or no variance at all (then `out` is unspecified).
///
/// The sample covariance `S` is shrunk towards `μI`, `μ = tr(S)/p`, by
/// `min((ᾱ + μ²) / ((n + 1)(ᾱ − μ²/p)), 1)` where `ᾱ` is the mean of the squared entries of
/// `S`. Real-time safe: no allocation.
pub fn oas_shrink(mut out: MatMut<'_, f64>, n: usize) -> Option<f64> {
    let p = out.nrows();
    let mut trace = 0.0;
    let mut sq = 0.0;
    for j in 0..p {
        trace += out[(j, j)];
        for i in 0..p {
            sq += out[(i, j)] * out[(i, j)];
        }
    }
    if !trace.is_finite() || !sq.is_finite() || trace <= 0.0 {
        return None;
    }
    let mu = trace / p as f64;
    let alpha = sq / (p * p) as f64;
    let num = alpha + mu * mu;
    let den = (n as f64 + 1.0) * (alpha - mu * mu / p as f64);
    let shrinkage = if den == 0.0 {
        1.0
    } else {
        (num / den).min(1.0)
    };
    for j in 0..p {
        for i in 0..p {
            out[(i, j)] *= 1.0 - shrinkage;
        }
        out[(j, j)] += shrinkage * mu;
    }
    Some(shrinkage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_oas_formula_on_a_small_case() {
        // Two channels, four samples; values checked by hand against the OAS formula
        // (scikit-learn: oas(X.T) gives the same matrix).
        let w = [1.0f32, 2.0, 3.0, 6.0, 0.0, 1.0, 0.0, 3.0];
        let mut est = CovEstimator::new(2, 4);
        let mut out = Mat::zeros(2, 2);
        let s = est.estimate(&w, out.as_mut()).unwrap();
        // S = [[3.5, 2.0], [2.0, 1.5]]; mu = 2.5; alpha = (12.25+4+4+2.25)/4 = 5.625.
        let (mu, alpha): (f64, f64) = (2.5, 5.625);
        let want = ((alpha + mu * mu) / (5.0 * (alpha - mu * mu / 2.0))).min(1.0);
        assert!((s - want).abs() < 1e-12);
        assert!((out[(0, 0)] - ((1.0 - s) * 3.5 + s * mu)).abs() < 1e-12);
        assert!((out[(0, 1)] - (1.0 - s) * 2.0).abs() < 1e-12);
        assert_eq!(out[(0, 1)], out[(1, 0)]);
    }

    #[test]
    fn flat_or_non_finite_window_is_refused() {
        let mut est = CovEstimator::new(2, 3);
        let mut out = Mat::zeros(2, 2);
        assert!(est.estimate(&[1.0; 6], out.as_mut()).is_none());
        let bad = [1.0, f32::NAN, 0.0, 1.0, 2.0, 3.0];
        assert!(est.estimate(&bad, out.as_mut()).is_none());
    }
}
