//! Offline filtering of whole signals: causal `sosfilt` with initial conditions, and
//! zero-phase forward-backward filtering matching `scipy.signal.sosfiltfilt`. These are the
//! evaluation references for the causal real-time paths; they allocate and are not meant for
//! the worker thread.

use biquad::{Biquad, DirectForm2Transposed};

use super::Sos;
use crate::DspError;

/// Filters `x` in place through the cascade, starting from state `zi` (one `[s1, s2]` per
/// section, direct form II transposed, as `scipy.signal.sosfilt`'s `zi`) or from rest.
/// Returns the final state.
///
/// Does not allocate beyond the returned state; usable offline or in tests.
pub fn sosfilt(sos: &Sos, x: &mut [f64], zi: Option<&[[f64; 2]]>) -> Vec<[f64; 2]> {
    let mut biquads: Vec<DirectForm2Transposed<f64>> = sos
        .coefficients()
        .into_iter()
        .map(DirectForm2Transposed::<f64>::new)
        .collect();
    if let Some(zi) = zi {
        for (bq, s) in biquads.iter_mut().zip(zi) {
            bq.s1 = s[0];
            bq.s2 = s[1];
        }
    }
    for v in x.iter_mut() {
        let mut y = *v;
        for bq in &mut biquads {
            y = bq.run(y);
        }
        *v = y;
    }
    biquads.iter().map(|bq| [bq.s1, bq.s2]).collect()
}

/// Initial state for a step response in steady state: filtering a constant `c` from state
/// `c * zi` produces the constant `c * H(1)` from the first sample on. This is
/// `scipy.signal.sosfilt_zi`.
///
/// For one direct form II transposed section with DC gain `g = (b0 + b1 + b2) / (1 + a1 + a2)`,
/// a steady output `g` needs `s1 = g - b0` and `s2 = b2 - a2 g`; each section sees the
/// constant output of the sections before it, so the states scale by the running DC gain.
pub fn sosfilt_zi(sos: &Sos) -> Result<Vec<[f64; 2]>, DspError> {
    let mut scale = 1.0;
    let mut zi = Vec::with_capacity(sos.len());
    for (i, s) in sos.sections().iter().enumerate() {
        let den = s[3] + s[4] + s[5];
        if den == 0.0 {
            return Err(DspError::NoSteadyState { section: i });
        }
        let g = (s[0] + s[1] + s[2]) / den;
        zi.push([scale * (g - s[0]), scale * (s[2] - s[5] * g)]);
        scale *= g;
    }
    Ok(zi)
}

/// Zero-phase filtering with the default padding of `scipy.signal.sosfiltfilt`
/// ([`Sos::default_padlen`] samples of odd extension at each end).
///
/// Allocates the result; offline only. Errors if `x` is not longer than the padding.
pub fn sosfiltfilt(sos: &Sos, x: &[f64]) -> Result<Vec<f64>, DspError> {
    sosfiltfilt_padded(sos, x, sos.default_padlen())
}

/// Zero-phase filtering with `padlen` samples of odd extension at each end (0: none).
///
/// The signal is extended by point reflection about its end samples, filtered forward from
/// the steady state of its first sample, reversed, filtered again from the steady state of
/// the forward output's last sample, reversed back, and the padding is cut off: the output
/// has no phase shift and the squared magnitude response of the cascade.
///
/// Allocates the result; offline only.
pub fn sosfiltfilt_padded(sos: &Sos, x: &[f64], padlen: usize) -> Result<Vec<f64>, DspError> {
    if padlen > 0 && x.len() <= padlen {
        return Err(DspError::SignalTooShort {
            len: x.len(),
            needed: padlen + 1,
            what: "zero-phase filtering with this padding",
        });
    }
    if x.is_empty() {
        return Ok(Vec::new());
    }
    let n = x.len();
    let mut ext = Vec::with_capacity(n + 2 * padlen);
    let (first, last) = (x[0], x[n - 1]);
    ext.extend((1..=padlen).rev().map(|i| 2.0 * first - x[i]));
    ext.extend_from_slice(x);
    ext.extend((1..=padlen).map(|i| 2.0 * last - x[n - 1 - i]));

    let zi = sosfilt_zi(sos)?;
    let scaled = |c: f64| -> Vec<[f64; 2]> { zi.iter().map(|s| [s[0] * c, s[1] * c]).collect() };
    let x0 = ext[0];
    sosfilt(sos, &mut ext, Some(&scaled(x0)));
    ext.reverse();
    let y0 = ext[0];
    sosfilt(sos, &mut ext, Some(&scaled(y0)));
    ext.reverse();
    Ok(ext[padlen..padlen + n].to_vec())
}

/// Zero-phase filters every row of a channel-major buffer (`channels` rows of equal length)
/// in place with [`sosfiltfilt`].
///
/// Allocates temporaries; offline only.
pub fn sosfiltfilt_channel_major(
    sos: &Sos,
    data: &mut [f64],
    channels: usize,
) -> Result<(), DspError> {
    if channels == 0 {
        return Err(DspError::NoChannels);
    }
    if !data.len().is_multiple_of(channels) {
        return Err(DspError::RaggedBlock {
            len: data.len(),
            channels,
        });
    }
    let frames = data.len() / channels;
    for row in data.chunks_exact_mut(frames.max(1)) {
        let y = sosfiltfilt(sos, row)?;
        row.copy_from_slice(&y);
    }
    Ok(())
}
