//! Pink-noise bursts with raised-cosine ramps, the stimulus of closed-loop auditory
//! stimulation during sleep.

use std::f64::consts::PI;

/// Shape of one burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BurstShape {
    /// Total length including ramps.
    pub duration_ms: f64,
    /// Length of each of the rise and fall ramps.
    pub ramp_ms: f64,
    /// RMS amplitude of the burst's plateau (full scale = 1.0): the unit-RMS pink noise is
    /// scaled by it, so peaks reach about three times this value (the audio output's hard
    /// volume cap clamps them).
    pub amplitude: f32,
}

impl Default for BurstShape {
    fn default() -> Self {
        BurstShape {
            duration_ms: 50.0,
            ramp_ms: 5.0,
            amplitude: 0.1,
        }
    }
}

impl BurstShape {
    /// Length in samples at `sample_rate_hz`.
    pub fn len_samples(&self, sample_rate_hz: f64) -> usize {
        (self.duration_ms * 1e-3 * sample_rate_hz).round() as usize
    }

    /// Envelope gain (0..=1, times `amplitude` not applied) at sample `i` of the burst.
    pub fn envelope(&self, i: usize, sample_rate_hz: f64) -> f32 {
        let n = self.len_samples(sample_rate_hz);
        if i >= n {
            return 0.0;
        }
        let ramp = ((self.ramp_ms * 1e-3 * sample_rate_hz).round() as usize).min(n / 2);
        if ramp == 0 {
            return 1.0;
        }
        let pos = i.min(n - 1 - i);
        if pos >= ramp {
            1.0
        } else {
            (0.5 - 0.5 * (PI * (pos as f64 + 0.5) / ramp as f64).cos()) as f32
        }
    }
}

/// A seeded pink-noise generator (Paul Kellet's refined filter on white noise), normalised to
/// unit RMS. Deterministic for a seed.
#[derive(Debug, Clone)]
pub struct PinkNoise {
    state: u64,
    b: [f64; 7],
}

impl PinkNoise {
    /// RMS of the filter output for unit-variance white input: the square root of the energy
    /// of the filter's impulse response. Dividing by it gives unit-RMS noise.
    const RMS: f64 = 3.0525;

    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        PinkNoise {
            state: seed ^ 0x2545_F491_4F6C_DD1D,
            b: [0.0; 7],
        }
    }

    fn white(&mut self) -> f64 {
        // xorshift64*: plenty for audio noise, and stable across releases.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let bits = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // Uniform in [-√3, √3): unit variance.
        (bits as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) * 3f64.sqrt()
    }

    /// Next sample, unit RMS.
    ///
    /// Real-time safe: arithmetic only.
    pub fn next_sample(&mut self) -> f32 {
        let w = self.white();
        let b = &mut self.b;
        b[0] = 0.99886 * b[0] + w * 0.0555179;
        b[1] = 0.99332 * b[1] + w * 0.0750759;
        b[2] = 0.96900 * b[2] + w * 0.1538520;
        b[3] = 0.86650 * b[3] + w * 0.3104856;
        b[4] = 0.55000 * b[4] + w * 0.5329522;
        b[5] = -0.7616 * b[5] - w * 0.0168980;
        let out = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
        b[6] = w * 0.115926;
        (out / Self::RMS) as f32
    }

    /// Writes one burst into `out` (mono), shaped by `shape`; returns the samples written
    /// (the burst length, or less if `out` is shorter).
    ///
    /// Real-time safe: no allocation.
    pub fn render(&mut self, shape: &BurstShape, sample_rate_hz: f64, out: &mut [f32]) -> usize {
        let n = shape.len_samples(sample_rate_hz).min(out.len());
        for (i, o) in out[..n].iter_mut().enumerate() {
            *o = shape.amplitude * shape.envelope(i, sample_rate_hz) * self.next_sample();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pink_noise_has_unit_rms_and_is_deterministic() {
        let mut p = PinkNoise::new(1);
        let n = 400_000;
        let xs: Vec<f32> = (0..n).map(|_| p.next_sample()).collect();
        let rms = (xs.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / n as f64).sqrt();
        assert!((rms - 1.0).abs() < 0.05, "rms {rms}");
        let mut q = PinkNoise::new(1);
        assert!(xs.iter().take(100).all(|&x| x == q.next_sample()));
    }

    #[test]
    fn pink_noise_loses_about_3_db_per_octave() {
        // Compare power in two octave bands through simple first-difference / running-mean
        // estimates: the ratio of high-frequency to low-frequency energy is far below white.
        let mut p = PinkNoise::new(3);
        let xs: Vec<f64> = (0..200_000).map(|_| f64::from(p.next_sample())).collect();
        let diff_power: f64 =
            xs.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum::<f64>() / xs.len() as f64;
        let power: f64 = xs.iter().map(|x| x * x).sum::<f64>() / xs.len() as f64;
        // For white noise the first difference doubles the power; for pink it shrinks it.
        assert!(diff_power / power < 1.0, "ratio {}", diff_power / power);
    }

    #[test]
    fn bursts_ramp_up_and_down_and_have_the_right_length() {
        let shape = BurstShape::default();
        let fs = 48_000.0;
        assert_eq!(shape.len_samples(fs), 2400);
        assert!(shape.envelope(0, fs) < 0.01);
        assert_eq!(shape.envelope(1200, fs), 1.0);
        assert!(shape.envelope(2399, fs) < 0.01);
        assert_eq!(shape.envelope(2400, fs), 0.0);
        let mut out = vec![0.0; 3000];
        let n = PinkNoise::new(7).render(&shape, fs, &mut out);
        assert_eq!(n, 2400);
        assert!(out.iter().all(|v| v.abs() <= 1.0));
        assert!(out[2400..].iter().all(|&v| v == 0.0));
    }
}
