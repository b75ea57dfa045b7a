//! Sampled sinusoidal SSVEP stimulation (Manyakov et al. 2013; Nakanishi et al. 2014).
//!
//! A target's luminance on the frame presented at time `t` (seconds since stimulus onset) is
//! `0.5 · (1 + sin(2π f t + φ))`. Sampling the sinusoid at each frame's presentation time,
//! rather than toggling on whole frames, renders any frequency below half the refresh rate on
//! 60, 120 or 144 Hz displays alike.

use std::f64::consts::{PI, TAU};

/// Frequency and phase of one flickering target (joint frequency-phase modulation, JFPM).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlickerCode {
    /// Flicker frequency.
    pub freq_hz: f64,
    /// Phase at onset, in radians.
    pub phase_rad: f64,
}

impl FlickerCode {
    /// Luminance in 0..=1 on a frame presented `t_secs` after stimulus onset.
    ///
    /// Real-time safe: pure arithmetic.
    pub fn luminance(&self, t_secs: f64) -> f32 {
        (0.5 * (1.0 + (TAU * self.freq_hz * t_secs + self.phase_rad).sin())) as f32
    }
}

/// JFPM codes: `count` frequencies from `start_hz` in steps of `step_hz`, the k-th with phase
/// `k · phase_step_rad` (wrapped to [0, 2π)). The 40-target benchmark set is
/// `jfpm_codes(8.0, 0.2, 40, 0.5 * PI)`.
pub fn jfpm_codes(
    start_hz: f64,
    step_hz: f64,
    count: usize,
    phase_step_rad: f64,
) -> Vec<FlickerCode> {
    (0..count)
        .map(|k| FlickerCode {
            freq_hz: start_hz + step_hz * k as f64,
            phase_rad: (phase_step_rad * k as f64).rem_euclid(TAU),
        })
        .collect()
}

/// The 40 codes of the SSVEP benchmark speller: 8.0–15.8 Hz in 0.2 Hz steps, phases in 0.5π
/// steps.
pub fn benchmark_codes() -> Vec<FlickerCode> {
    jfpm_codes(8.0, 0.2, 40, 0.5 * PI)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luminance_follows_the_sampled_sinusoid() {
        let c = FlickerCode {
            freq_hz: 10.0,
            phase_rad: 0.0,
        };
        assert!((c.luminance(0.0) - 0.5).abs() < 1e-6);
        assert!((c.luminance(0.025) - 1.0).abs() < 1e-6); // quarter period
        assert!((c.luminance(0.075) - 0.0).abs() < 1e-6);
        let shifted = FlickerCode {
            freq_hz: 10.0,
            phase_rad: 0.5 * PI,
        };
        assert!((shifted.luminance(0.0) - 1.0).abs() < 1e-6);
    }

    #[test]
    fn luminance_stays_in_range_at_any_refresh_rate() {
        for refresh in [60.0, 120.0, 144.0] {
            for c in benchmark_codes() {
                for frame in 0..300 {
                    let l = c.luminance(frame as f64 / refresh);
                    assert!((0.0..=1.0).contains(&l));
                }
            }
        }
    }

    #[test]
    fn benchmark_set_matches_its_definition() {
        let codes = benchmark_codes();
        assert_eq!(codes.len(), 40);
        assert!((codes[0].freq_hz - 8.0).abs() < 1e-12);
        assert!((codes[39].freq_hz - 15.8).abs() < 1e-9);
        assert!((codes[1].phase_rad - 0.5 * PI).abs() < 1e-12);
        assert!((codes[4].phase_rad).abs() < 1e-9);
    }
}
