//! Second-order sections.

use std::f64::consts::PI;

use biquad::Coefficients;
use realfft::num_complex::Complex64;

use crate::DspError;

/// A cascade of second-order sections, each row `[b0, b1, b2, a0, a1, a2]` with `a0 = 1`: the
/// layout of `scipy.signal` SOS arrays, so coefficients can be compared row by row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sos {
    sections: Vec<[f64; 6]>,
}

/// Gain and phase of a filter at one frequency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrequencyResponse {
    /// Magnitude (1.0 = unity gain).
    pub gain: f64,
    /// Phase shift in radians, in (-π, π]; negative values are lags.
    pub phase_rad: f64,
}

impl Sos {
    /// Builds a cascade from rows `[b0, b1, b2, a0, a1, a2]`, dividing each row by its `a0`.
    ///
    /// Allocates nothing beyond taking `sections`; not for the real-time path.
    pub fn new(mut sections: Vec<[f64; 6]>) -> Result<Sos, DspError> {
        for (i, s) in sections.iter_mut().enumerate() {
            if s[3] == 0.0 || s.iter().any(|c| !c.is_finite()) {
                return Err(DspError::InvalidSection { section: i });
            }
            let a0 = s[3];
            if a0 != 1.0 {
                for c in s.iter_mut() {
                    *c /= a0;
                }
            }
        }
        Ok(Sos { sections })
    }

    /// The identity filter (no sections).
    pub fn identity() -> Sos {
        Sos::default()
    }

    /// The rows `[b0, b1, b2, a0, a1, a2]`.
    pub fn sections(&self) -> &[[f64; 6]] {
        &self.sections
    }

    /// Number of sections.
    pub fn len(&self) -> usize {
        self.sections.len()
    }

    /// Whether there are no sections (the identity filter).
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Appends the sections of `other` (the cascade of `self` then `other`).
    pub fn append(&mut self, other: &Sos) {
        self.sections.extend_from_slice(&other.sections);
    }

    /// The sections as `biquad` coefficients (note the sign convention is the same: the
    /// denominator is `1 + a1 z⁻¹ + a2 z⁻²`).
    pub fn coefficients(&self) -> Vec<Coefficients<f64>> {
        self.sections
            .iter()
            .map(|s| Coefficients {
                b0: s[0],
                b1: s[1],
                b2: s[2],
                a1: s[4],
                a2: s[5],
            })
            .collect()
    }

    /// Complex response at `freq_hz` (negative frequencies are allowed and give the conjugate).
    pub(crate) fn response_complex(&self, freq_hz: f64, sample_rate_hz: f64) -> Complex64 {
        let w = 2.0 * PI * freq_hz / sample_rate_hz;
        let z1 = Complex64::new(w.cos(), -w.sin());
        let z2 = z1 * z1;
        self.sections
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, s| {
                let num = s[0] + z1 * s[1] + z2 * s[2];
                let den = s[3] + z1 * s[4] + z2 * s[5];
                acc * num / den
            })
    }

    /// Gain and phase at `freq_hz` for sampling at `sample_rate_hz`.
    pub fn response(&self, freq_hz: f64, sample_rate_hz: f64) -> FrequencyResponse {
        let h = self.response_complex(freq_hz, sample_rate_hz);
        FrequencyResponse {
            gain: h.norm(),
            phase_rad: h.arg(),
        }
    }

    /// Group delay in seconds at `freq_hz`: minus the derivative of the unwrapped phase with
    /// respect to angular frequency, evaluated by a central difference of the complex response
    /// (so it is exact up to rounding for any smooth response away from zeros on the circle).
    pub fn group_delay_secs(&self, freq_hz: f64, sample_rate_hz: f64) -> f64 {
        let df = sample_rate_hz * 1e-6;
        let lo = self.response_complex(freq_hz - df, sample_rate_hz);
        let hi = self.response_complex(freq_hz + df, sample_rate_hz);
        // arg(hi / lo) is the phase change across the interval, free of wrapping.
        let dphi = (hi * lo.conj()).arg();
        -dphi / (2.0 * PI * 2.0 * df)
    }

    /// Default edge padding of zero-phase filtering, as `scipy.signal.sosfiltfilt` computes it:
    /// `3 * (2 * sections + 1 - min(sections with b2 = 0, sections with a2 = 0))`.
    pub fn default_padlen(&self) -> usize {
        let b2_zero = self.sections.iter().filter(|s| s[2] == 0.0).count();
        let a2_zero = self.sections.iter().filter(|s| s[5] == 0.0).count();
        3 * (2 * self.sections.len() + 1 - b2_zero.min(a2_zero))
    }
}
