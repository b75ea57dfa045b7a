//! Loading a channel-major window into a matrix with each channel's mean removed, the first
//! step of both CCA and covariance estimation.

use faer::Mat;

/// Writes `window` (channel-major, `x.nrows() × x.ncols()`) into `x` as `f64`, each row
/// minus its mean. Real-time safe: no allocation.
pub(crate) fn load_centred(window: &[f32], x: &mut Mat<f64>) {
    let n = x.ncols();
    for c in 0..x.nrows() {
        let row = &window[c * n..(c + 1) * n];
        let mean = row.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
        for (i, &v) in row.iter().enumerate() {
            x[(c, i)] = f64::from(v) - mean;
        }
    }
}
