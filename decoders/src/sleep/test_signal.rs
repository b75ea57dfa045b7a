//! Synthetic sleep EEG for the spindle detectors' unit tests.

use std::f64::consts::PI;

use crate::test_noise::Xorshift as Rng;

/// `secs` of sleep-like background at `fs` (red noise of about 15 µV plus 4 µV white noise, a
/// 40 µV 0.8 Hz slow wave) with Hann-shaped 13 Hz spindles of `amplitude_uv`, one per
/// `(onset, duration)` in seconds.
pub(crate) fn sleep_like(
    fs: f64,
    secs: f64,
    spindles: &[(f64, f64)],
    amplitude_uv: f64,
    seed: u64,
) -> Vec<f64> {
    let mut rng = Rng(seed);
    let n = (secs * fs) as usize;
    let mut red = 0.0;
    (0..n)
        .map(|i| {
            let t = i as f64 / fs;
            red = 0.98 * red + 3.0 * rng.normal();
            let mut x = red + 4.0 * rng.normal() + 40.0 * (2.0 * PI * 0.8 * t).sin();
            for &(onset, duration) in spindles {
                let u = (t - onset) / duration;
                if (0.0..1.0).contains(&u) {
                    let w = 0.5 - 0.5 * (2.0 * PI * u).cos();
                    x += amplitude_uv * w * (2.0 * PI * 13.0 * t).sin();
                }
            }
            x
        })
        .collect()
}
