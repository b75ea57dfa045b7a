//! Phase-locked triggers on slow oscillations: when to stimulate so that a sound meets the
//! chosen phase (by default the up-state peak).
//!
//! A causal [`PhaseEstimator`] (0.5–1.5 Hz by default; see `neuroloop_dsp::phase`) tracks the
//! instantaneous phase, amplitude and frequency of the slow-oscillation band sample by
//! sample. A trigger fires on the sample where the phase predicted
//! [`SoConfig::lookahead_secs`] ahead (the output latency of the stimulation path) crosses
//! [`SoConfig::target_phase_deg`], provided that
//!
//! - the estimator has settled since the start, a reset or the last non-finite sample;
//! - the amplitude is at least [`SoConfig::min_amplitude_uv`] (a slow oscillation is present:
//!   40 µV of amplitude is 80 µV peak to peak, the usual N3 slow-wave criterion);
//! - the amplitude is at most [`SoConfig::max_amplitude_uv`] (larger swings are movement or
//!   electrode artefacts);
//! - [`SoConfig::refractory_secs`] have passed since the previous trigger.
//!
//! Phase convention (as the estimator's): 0 at the positive peak of the band-limited signal
//! (the up-state on a referenced scalp EEG), ±180° at the trough, -90° on the rising zero
//! crossing.

use std::f64::consts::PI;

use neuroloop_dsp::phase::{PhaseConfig, PhaseEstimate, PhaseEstimator, wrap_rad};
use serde::{Deserialize, Serialize};

use crate::DecoderError;

/// Settings of a [`SoTrigger`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SoConfig {
    /// Lower edge of the slow-oscillation band, Hz.
    pub low_hz: f64,
    /// Upper edge, Hz.
    pub high_hz: f64,
    /// Phase to hit, degrees (0 = up-state peak, -90 = rising zero crossing, ±180 = trough).
    pub target_phase_deg: f64,
    /// How far ahead of the trigger the stimulus lands (audio output latency), s.
    pub lookahead_secs: f64,
    /// Least band amplitude for a trigger, µV.
    pub min_amplitude_uv: f64,
    /// Largest band amplitude for a trigger (above: artefact), µV.
    pub max_amplitude_uv: f64,
    /// Least time between triggers, s.
    pub refractory_secs: f64,
}

impl Default for SoConfig {
    fn default() -> Self {
        SoConfig {
            low_hz: 0.5,
            high_hz: 1.5,
            target_phase_deg: 0.0,
            lookahead_secs: 0.0,
            min_amplitude_uv: 40.0,
            max_amplitude_uv: 500.0,
            refractory_secs: 2.5,
        }
    }
}

/// A trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoTriggerEvent {
    /// Stamp of the sample that fired it.
    pub time: f64,
    /// When the stimulus should land: `time + lookahead`.
    pub target_time: f64,
    /// The estimate at the firing sample.
    pub estimate: PhaseEstimate,
}

/// Phase-locked slow-oscillation trigger for one channel. See the
/// [module documentation](self).
///
/// [`SoTrigger::prepare`] allocates; [`SoTrigger::process`] and [`SoTrigger::reset`] do not.
#[derive(Debug, Clone)]
pub struct SoTrigger {
    config: SoConfig,
    estimator: PhaseEstimator,
    previous_offset: Option<f64>,
    last_trigger: Option<f64>,
    non_finite: u64,
    invalid_samples: usize,
    settle_samples: usize,
    latest: PhaseEstimate,
}

impl SoTrigger {
    /// A trigger with `config`; nothing is designed until [`SoTrigger::prepare`].
    pub fn new(config: SoConfig) -> Self {
        SoTrigger {
            estimator: PhaseEstimator::new(Self::phase_config(&config)),
            config,
            previous_offset: None,
            last_trigger: None,
            non_finite: 0,
            invalid_samples: 0,
            settle_samples: 0,
            latest: PhaseEstimate::default(),
        }
    }

    fn phase_config(c: &SoConfig) -> PhaseConfig {
        PhaseConfig {
            low_hz: c.low_hz,
            high_hz: c.high_hz,
            ..PhaseConfig::slow_oscillation()
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SoConfig {
        &self.config
    }

    /// The latest estimate.
    pub fn latest(&self) -> PhaseEstimate {
        self.latest
    }

    /// Non-finite samples seen since `prepare`.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Designs the estimator for `sample_rate_hz`.
    ///
    /// Allocates; call it on the setup thread.
    pub fn prepare(&mut self, sample_rate_hz: f64) -> Result<(), DecoderError> {
        let c = self.config;
        let bad = |name: &'static str, value: f64, hint: &'static str| {
            Err(DecoderError::BadSetting { name, value, hint })
        };
        if !(c.target_phase_deg.is_finite() && c.target_phase_deg.abs() <= 180.0) {
            return bad(
                "target_phase_deg",
                c.target_phase_deg,
                "use a phase from -180 to 180 degrees (0 = up-state peak)",
            );
        }
        if !(c.lookahead_secs.is_finite() && (0.0..=0.5).contains(&c.lookahead_secs)) {
            return bad(
                "lookahead_secs",
                c.lookahead_secs,
                "use the stimulation path's latency, from 0 to 0.5 s",
            );
        }
        if !(c.min_amplitude_uv >= 0.0 && c.max_amplitude_uv > c.min_amplitude_uv) {
            return bad(
                "max_amplitude_uv",
                c.max_amplitude_uv,
                "use max_amplitude_uv above min_amplitude_uv (e.g. 40 and 500 µV)",
            );
        }
        if !(c.refractory_secs.is_finite() && c.refractory_secs >= 0.0) {
            return bad(
                "refractory_secs",
                c.refractory_secs,
                "use a non-negative time, e.g. 2.5 s",
            );
        }
        if c.high_hz >= 0.5 * sample_rate_hz {
            return Err(DecoderError::FrequencyAboveNyquist {
                freq_hz: c.high_hz,
                sample_rate_hz,
            });
        }
        self.estimator.prepare(sample_rate_hz)?;
        self.settle_samples = (self.estimator.settle_secs() * sample_rate_hz).ceil() as usize;
        self.non_finite = 0;
        self.reset();
        Ok(())
    }

    /// Forgets all history.
    ///
    /// Real-time safe: does not allocate.
    pub fn reset(&mut self) {
        self.estimator.reset();
        self.previous_offset = None;
        self.last_trigger = None;
        self.invalid_samples = self.settle_samples;
        self.latest = PhaseEstimate::default();
    }

    /// Consumes samples (µV) with their stamps, calling `emit` for each trigger.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn process(
        &mut self,
        samples: &[f64],
        stamps: &[f64],
        emit: &mut dyn FnMut(SoTriggerEvent),
    ) {
        let c = self.config;
        let target = c.target_phase_deg.to_radians();
        for (&x, &t) in samples.iter().zip(stamps) {
            if !x.is_finite() {
                self.non_finite += 1;
                // The estimator holds the last finite value; its state is not trusted until
                // it has settled again.
                self.invalid_samples = self.settle_samples;
                self.previous_offset = None;
            }
            let e = self.estimator.process_sample(x);
            self.latest = e;
            self.invalid_samples = self.invalid_samples.saturating_sub(1);
            // Where the predicted phase stands relative to the target, in (-π, π].
            let offset = wrap_rad(e.predict_phase_rad(c.lookahead_secs) - target);
            let previous = self.previous_offset.replace(offset);
            let valid = self.invalid_samples == 0 && e.settled;
            if !valid || e.amplitude < c.min_amplitude_uv || e.amplitude > c.max_amplitude_uv {
                continue;
            }
            // A crossing from just below the target to at or past it (not the wrap at ±π).
            let crossed = previous.is_some_and(|p| p < 0.0 && offset >= 0.0 && offset - p < PI);
            let rested = self
                .last_trigger
                .is_none_or(|last| t - last >= c.refractory_secs);
            if crossed && rested {
                self.last_trigger = Some(t);
                emit(SoTriggerEvent {
                    time: t,
                    target_time: t + c.lookahead_secs,
                    estimate: e,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FS: f64 = 100.0;

    fn run(x: &[f64], cfg: SoConfig) -> Vec<SoTriggerEvent> {
        let mut s = SoTrigger::new(cfg);
        s.prepare(FS).unwrap();
        let stamps: Vec<f64> = (0..x.len()).map(|i| i as f64 / FS).collect();
        let mut out = Vec::new();
        for (xs, ts) in x.chunks(7).zip(stamps.chunks(7)) {
            s.process(xs, ts, &mut |e| out.push(e));
        }
        out
    }

    #[test]
    fn a_steady_slow_oscillation_is_hit_at_the_target_phase() {
        let f = 0.9;
        let x: Vec<f64> = (0..(60.0 * FS) as usize)
            .map(|i| 60.0 * (2.0 * PI * f * i as f64 / FS).cos())
            .collect();
        for (target, lookahead) in [(0.0, 0.0), (-90.0, 0.0), (0.0, 0.1), (180.0, 0.05)] {
            let cfg = SoConfig {
                target_phase_deg: target,
                lookahead_secs: lookahead,
                ..SoConfig::default()
            };
            let events = run(&x, cfg);
            assert!(events.len() > 10, "{target}: {} triggers", events.len());
            for e in &events {
                // True phase where the stimulus lands (x = cos, so phase = 2π f t).
                let truth = wrap_rad(2.0 * PI * f * e.target_time);
                let err = wrap_rad(truth - f64::to_radians(target)).to_degrees();
                assert!(err.abs() < 5.0, "target {target}: error {err:.1}°");
                assert!(e.estimate.amplitude > 55.0);
            }
            // Refractory 2.5 s at 0.9 Hz: every third cycle.
            for w in events.windows(2) {
                assert!(w[1].time - w[0].time >= 2.5);
            }
        }
    }

    #[test]
    fn small_or_huge_oscillations_and_nan_gaps_do_not_trigger() {
        let x: Vec<f64> = (0..(60.0 * FS) as usize)
            .map(|i| 15.0 * (2.0 * PI * 1.0 * i as f64 / FS).cos())
            .collect();
        assert!(run(&x, SoConfig::default()).is_empty());
        let x: Vec<f64> = x.iter().map(|v| v * 100.0).collect();
        assert!(run(&x, SoConfig::default()).is_empty());
        let mut x: Vec<f64> = x.iter().map(|v| v / 25.0).collect();
        x[3000] = f64::NAN;
        let events = run(&x, SoConfig::default());
        assert!(!events.is_empty());
        let settle = SoTrigger::new(SoConfig::default());
        let mut p = settle.clone();
        p.prepare(FS).unwrap();
        let quiet = p.settle_samples as f64 / FS;
        assert!(
            events
                .iter()
                .all(|e| e.time < 30.0 || e.time >= 30.0 + quiet),
            "{events:?}"
        );
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        for cfg in [
            SoConfig {
                target_phase_deg: 200.0,
                ..SoConfig::default()
            },
            SoConfig {
                lookahead_secs: -0.1,
                ..SoConfig::default()
            },
            SoConfig {
                max_amplitude_uv: 10.0,
                ..SoConfig::default()
            },
        ] {
            let err = SoTrigger::new(cfg).prepare(FS).unwrap_err().to_string();
            assert!(err.contains("use "), "{err}");
        }
    }
}
