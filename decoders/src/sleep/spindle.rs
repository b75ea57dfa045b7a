//! Causal sleep-spindle detection in the manner of A7 (Lacourse et al., 2019), sample chunk
//! by sample chunk.
//!
//! # Method
//!
//! Three causal Butterworth band-passes run on the single input channel: sigma
//! ([`SpindleConfig::sigma_band_hz`], 11–16 Hz), broad ([`SpindleConfig::broad_band_hz`],
//! 4.5–30 Hz: the signal without delta) and wide ([`SpindleConfig::wide_band_hz`], 0.3–30 Hz:
//! the EEG as a scorer sees it). Every [`SpindleConfig::hop_secs`], over the last
//! [`SpindleConfig::window_secs`] of samples, four features are computed:
//!
//! 1. absolute sigma power: `log10` of the mean square of the sigma signal (µV²);
//! 2. relative sigma power: `log10` of sigma power over broad power, as a z-score against
//!    the baseline;
//! 3. sigma covariance: `log10(1 + max(0, cov(broad, sigma)))`, as a z-score against the
//!    baseline;
//! 4. sigma correlation: Pearson correlation of the wide and sigma signals.
//!
//! The baseline is the past [`SpindleConfig::baseline_secs`] of feature values (the record's
//! own recent history, so thresholds adapt to each subject and amplifier); its mean and SD
//! are taken between the 10th and 90th percentiles, so spindles and artefacts do not inflate
//! it, and are refreshed every second.
//!
//! A window is a *candidate* when features 1 and 3 pass their thresholds; a run of candidate
//! windows is a spindle when, somewhere in the run, features 2 and 4 pass too. The spindle
//! starts where the run started (back-dated, as A7 extends detections over the candidate
//! run). Two declarations follow:
//!
//! - [`SpindleEventKind::Onset`] at the first window that confirms the run: the earliest
//!   moment the detector commits, which closed-loop stimulation locks to;
//! - [`SpindleEventKind::End`] when the run ends, with the final span and a [`Verdict`]: a
//!   spindle is accepted when it lasted between [`SpindleConfig::min_duration_secs`] and
//!   [`SpindleConfig::max_duration_secs`] (A7's rule). An onset whose run is then rejected
//!   was a false trigger; evaluations count those.
//!
//! Event times are the window centres shifted back by the sigma filter's group delay, in the
//! clock of the stamps given to [`SpindleDetector::process`]; the declaration time is the
//! stamp of the sample that completed the deciding window.
//!
//! Non-finite samples mark the signal invalid until the filters have settled again: any run in
//! progress ends and nothing is detected meanwhile.

use serde::{Deserialize, Serialize};

use super::bands::BandBank;
use crate::DecoderError;

/// Settings of a [`SpindleDetector`]. The defaults are A7's published thresholds (1.25 /
/// 1.6 / 1.3 / 0.69), windows (0.3 s) and baseline (30 s), with the AASM's 0.5 s minimum
/// spindle duration and the least-delay band-passes (one biquad each); on the DREAMS excerpts
/// this combination was also the one a leave-one-excerpt-out grid search picked (see
/// `app/examples/spindle_grid.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpindleConfig {
    /// Sigma band, Hz.
    pub sigma_band_hz: (f64, f64),
    /// Broad band for relative power and covariance (delta removed), Hz. The upper edge is
    /// lowered to 0.9 × Nyquist on slow streams.
    pub broad_band_hz: (f64, f64),
    /// Wide band for the correlation, Hz (upper edge capped as the broad band's).
    pub wide_band_hz: (f64, f64),
    /// Butterworth prototype order of each band-pass (1 = one biquad per band-pass edge pair).
    pub filter_order: usize,
    /// Feature window, s.
    pub window_secs: f64,
    /// Time between feature windows, s.
    pub hop_secs: f64,
    /// Length of the adaptive baseline, s.
    pub baseline_secs: f64,
    /// Baseline needed before anything is detected, s.
    pub min_baseline_secs: f64,
    /// Threshold on `log10` absolute sigma power (µV²).
    pub abs_power_log10: f64,
    /// Threshold on the relative sigma power z-score.
    pub rel_power_z: f64,
    /// Threshold on the sigma covariance z-score.
    pub covariance_z: f64,
    /// Threshold on the sigma correlation.
    pub correlation: f64,
    /// Shortest spindle accepted, s.
    pub min_duration_secs: f64,
    /// Longest spindle accepted, s.
    pub max_duration_secs: f64,
    /// Hops at which a run must meet all four thresholds before its onset is declared (the
    /// closed loop's trigger): 1 declares at the first such hop, as A7; more trade delay for
    /// fewer triggers on runs too short to be spindles.
    pub confirm_hops: usize,
}

impl Default for SpindleConfig {
    fn default() -> Self {
        SpindleConfig {
            sigma_band_hz: (11.0, 16.0),
            broad_band_hz: (4.5, 30.0),
            wide_band_hz: (0.3, 30.0),
            filter_order: 1,
            window_secs: 0.3,
            hop_secs: 0.05,
            baseline_secs: 30.0,
            min_baseline_secs: 10.0,
            abs_power_log10: 1.25,
            rel_power_z: 1.6,
            covariance_z: 1.3,
            correlation: 0.69,
            min_duration_secs: 0.5,
            max_duration_secs: 2.5,
            confirm_hops: 1,
        }
    }
}

/// The four features of one window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SpindleFeatures {
    /// `log10` mean square of the sigma signal (µV²).
    pub abs_power_log10: f64,
    /// Relative sigma power, z-score against the baseline.
    pub rel_power_z: f64,
    /// Sigma covariance, z-score against the baseline.
    pub covariance_z: f64,
    /// Correlation of the wide and sigma signals.
    pub correlation: f64,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpindleEventKind {
    /// A spindle is under way (declared once per spindle, as early as the rules allow).
    Onset,
    /// The spindle declared earlier has ended.
    End,
}

/// How an ended spindle was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Still under way (onsets).
    Pending,
    /// A spindle: its duration is within the configured limits.
    Accepted,
    /// Shorter than [`SpindleConfig::min_duration_secs`].
    TooShort,
    /// Longer than [`SpindleConfig::max_duration_secs`].
    TooLong,
}

impl Verdict {
    /// The verdict on a run of `duration_secs` when spindles last `min_secs` to `max_secs`
    /// (limits included, to a nanosecond).
    pub fn for_duration(duration_secs: f64, min_secs: f64, max_secs: f64) -> Verdict {
        if duration_secs < min_secs - 1e-9 {
            Verdict::TooShort
        } else if duration_secs > max_secs + 1e-9 {
            Verdict::TooLong
        } else {
            Verdict::Accepted
        }
    }
}

/// A declaration by the detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpindleEvent {
    /// Onset or end.
    pub kind: SpindleEventKind,
    /// Estimated start of the spindle (stamp clock, s).
    pub start_time: f64,
    /// Estimated end: so far for an onset, final for an end.
    pub end_time: f64,
    /// Stamp of the sample whose window made the declaration.
    pub declared_time: f64,
    /// For an end, whether the spindle is accepted; [`Verdict::Pending`] for an onset.
    pub verdict: Verdict,
    /// Features of the deciding window (for an end, of the last window in the spindle);
    /// zero for the neural detector.
    pub features: SpindleFeatures,
    /// Strength of the evidence: the relative sigma power z-score (A7) or the model's
    /// probability (neural; for an end, the run's peak).
    pub score: f64,
    /// Confidence in `[0, 1]`: the sigma correlation (A7) or the probability (neural).
    pub confidence: f64,
}

impl SpindleEvent {
    /// `end_time - start_time`.
    pub fn duration_secs(&self) -> f64 {
        self.end_time - self.start_time
    }
}

/// Rolling baseline of one feature: the last `capacity` values, and the mean and SD of those
/// between the 10th and 90th percentiles.
#[derive(Debug, Clone, Default)]
struct Baseline {
    values: Vec<f64>,
    scratch: Vec<f64>,
    next: usize,
    len: usize,
    mean: f64,
    sd: f64,
}

impl Baseline {
    fn new(capacity: usize) -> Self {
        Baseline {
            values: vec![0.0; capacity],
            scratch: vec![0.0; capacity],
            ..Baseline::default()
        }
    }

    fn reset(&mut self) {
        self.next = 0;
        self.len = 0;
        self.mean = 0.0;
        self.sd = 0.0;
    }

    fn push(&mut self, v: f64) {
        self.values[self.next] = v;
        self.next = (self.next + 1) % self.values.len();
        self.len = (self.len + 1).min(self.values.len());
    }

    /// Recomputes the trimmed statistics. No allocation: sorts into the scratch buffer.
    fn refresh(&mut self) {
        let n = self.len;
        let s = &mut self.scratch[..n];
        s.copy_from_slice(&self.values[..n]);
        s.sort_unstable_by(f64::total_cmp);
        let lo = (0.1 * (n as f64 - 1.0)).ceil() as usize;
        let hi = ((0.9 * (n as f64 - 1.0)).floor() as usize).max(lo);
        let kept = &s[lo..=hi.min(n.saturating_sub(1))];
        let m = kept.len() as f64;
        let mean = kept.iter().sum::<f64>() / m;
        let var = kept.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1.0).max(1.0);
        self.mean = mean;
        self.sd = var.sqrt();
    }

    fn z(&self, v: f64) -> f64 {
        if self.sd > 0.0 {
            (v - self.mean) / self.sd
        } else {
            0.0
        }
    }
}

/// State of the candidate run under way.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    active: bool,
    /// Hops of the run that met all four thresholds.
    confirmed: usize,
    declared: bool,
    start_time: f64,
    end_time: f64,
    features: SpindleFeatures,
}

/// Causal A7-style spindle detector for one channel. See the [module documentation](self).
///
/// [`SpindleDetector::prepare`] allocates; [`SpindleDetector::process`] and
/// [`SpindleDetector::reset`] do not.
#[derive(Debug, Clone)]
pub struct SpindleDetector {
    config: SpindleConfig,
    sample_rate_hz: f64,
    /// Sigma, broad and wide band-passes, in that order.
    bands: BandBank<3>,
    /// Last `window` filtered samples of each band, circular.
    sigma_ring: Vec<f64>,
    broad_ring: Vec<f64>,
    wide_ring: Vec<f64>,
    ring_pos: usize,
    window: usize,
    hop: usize,
    until_hop: usize,
    rel_baseline: Baseline,
    cov_baseline: Baseline,
    hops_since_refresh: usize,
    refresh_hops: usize,
    min_baseline: usize,
    /// Samples still to come before the signal counts as valid again (after a start, a reset
    /// or a non-finite sample).
    invalid_samples: usize,
    settle_samples: usize,
    delay_secs: f64,
    run: Run,
    non_finite: u64,
    last: SpindleFeatures,
}

impl SpindleDetector {
    /// A detector with `config`; nothing is designed until [`SpindleDetector::prepare`].
    pub fn new(config: SpindleConfig) -> Self {
        SpindleDetector {
            config,
            sample_rate_hz: 0.0,
            bands: BandBank::new(),
            sigma_ring: Vec::new(),
            broad_ring: Vec::new(),
            wide_ring: Vec::new(),
            ring_pos: 0,
            window: 0,
            hop: 0,
            until_hop: 0,
            rel_baseline: Baseline::default(),
            cov_baseline: Baseline::default(),
            hops_since_refresh: 0,
            refresh_hops: 1,
            min_baseline: 0,
            invalid_samples: 0,
            settle_samples: 0,
            delay_secs: 0.0,
            run: Run::default(),
            non_finite: 0,
            last: SpindleFeatures::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SpindleConfig {
        &self.config
    }

    /// Delay by which event times are shifted back: the sigma band-pass's group delay at the
    /// band centre. 0 before `prepare`.
    pub fn delay_secs(&self) -> f64 {
        self.delay_secs
    }

    /// Non-finite input samples seen since `prepare`.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Features of the latest window.
    pub fn latest_features(&self) -> SpindleFeatures {
        self.last
    }

    fn check(&self, sample_rate_hz: f64) -> Result<(), DecoderError> {
        let c = &self.config;
        let positive = |name: &'static str, v: f64, hint: &'static str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(DecoderError::BadSetting {
                    name,
                    value: v,
                    hint,
                })
            }
        };
        positive(
            "window_secs",
            c.window_secs,
            "use a positive window, e.g. 0.3 s",
        )?;
        positive("hop_secs", c.hop_secs, "use a positive hop, e.g. 0.05 s")?;
        positive("baseline_secs", c.baseline_secs, "use e.g. 30 s")?;
        positive(
            "max_duration_secs",
            c.max_duration_secs,
            "use e.g. 2.5 s for spindles",
        )?;
        if !(c.min_baseline_secs >= 0.0 && c.min_baseline_secs <= c.baseline_secs) {
            return Err(DecoderError::BadSetting {
                name: "min_baseline_secs",
                value: c.min_baseline_secs,
                hint: "use a value between 0 and baseline_secs",
            });
        }
        if !(c.min_duration_secs >= 0.0 && c.min_duration_secs <= c.max_duration_secs) {
            return Err(DecoderError::BadSetting {
                name: "min_duration_secs",
                value: c.min_duration_secs,
                hint: "use a value between 0 and max_duration_secs, e.g. 0.3 s",
            });
        }
        if c.sigma_band_hz.1 >= 0.5 * sample_rate_hz {
            return Err(DecoderError::FrequencyAboveNyquist {
                freq_hz: c.sigma_band_hz.1,
                sample_rate_hz,
            });
        }
        if c.window_secs * sample_rate_hz < 4.0 {
            return Err(DecoderError::WindowTooShort {
                samples: (c.window_secs * sample_rate_hz) as usize,
                needed: 4,
            });
        }
        Ok(())
    }

    /// Designs the filters and allocates every buffer for a `sample_rate_hz` stream fed in
    /// blocks of up to `max_block_frames` samples (longer blocks are split).
    ///
    /// Allocates; call it on the setup thread.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        max_block_frames: usize,
    ) -> Result<(), DecoderError> {
        self.check(sample_rate_hz)?;
        let c = self.config;
        let fs = sample_rate_hz;
        self.bands.prepare(
            [c.sigma_band_hz, c.broad_band_hz, c.wide_band_hz],
            c.filter_order,
            fs,
            max_block_frames,
        )?;
        let centre = 0.5 * (c.sigma_band_hz.0 + c.sigma_band_hz.1);
        self.delay_secs = self.bands.group_delay_secs(0, centre, fs);
        self.window = ((c.window_secs * fs).round() as usize).max(4);
        self.hop = ((c.hop_secs * fs).round() as usize).max(1);
        self.sigma_ring = vec![0.0; self.window];
        self.broad_ring = vec![0.0; self.window];
        self.wide_ring = vec![0.0; self.window];
        let hop_secs = self.hop as f64 / fs;
        let capacity = ((c.baseline_secs / hop_secs).round() as usize).max(2);
        self.rel_baseline = Baseline::new(capacity);
        self.cov_baseline = Baseline::new(capacity);
        self.refresh_hops = ((1.0 / hop_secs).round() as usize).max(1);
        self.min_baseline = ((c.min_baseline_secs / hop_secs).round() as usize).clamp(2, capacity);
        // The wide band-pass has the slowest edge (0.3 Hz): let it ring down for a couple of
        // its time constants, and fill one window.
        self.settle_samples = ((2.0 / c.wide_band_hz.0.max(0.1)) * fs) as usize + self.window;
        self.sample_rate_hz = fs;
        self.non_finite = 0;
        self.reset();
        Ok(())
    }

    /// Forgets all history: filters, baseline and any spindle under way (which is dropped
    /// without an end event).
    ///
    /// Real-time safe: does not allocate.
    pub fn reset(&mut self) {
        self.bands.reset();
        self.sigma_ring.fill(0.0);
        self.broad_ring.fill(0.0);
        self.wide_ring.fill(0.0);
        self.ring_pos = 0;
        self.until_hop = self.hop;
        self.rel_baseline.reset();
        self.cov_baseline.reset();
        self.hops_since_refresh = 0;
        self.invalid_samples = self.settle_samples;
        self.run = Run::default();
        self.last = SpindleFeatures::default();
    }

    /// Consumes samples of the channel with their stamps (seconds, any clock), calling `emit`
    /// for each declaration. Before `prepare` nothing happens.
    ///
    /// Real-time safe: does not allocate; called on the worker thread.
    pub fn process(&mut self, samples: &[f64], stamps: &[f64], emit: &mut dyn FnMut(SpindleEvent)) {
        let block = self.bands.max_block();
        if block == 0 {
            return;
        }
        let n = samples.len().min(stamps.len());
        for (x, t) in samples[..n].chunks(block).zip(stamps[..n].chunks(block)) {
            self.bands.filter(x);
            for (i, (&xi, &now)) in x.iter().zip(t).enumerate() {
                if !xi.is_finite() {
                    self.non_finite += 1;
                    self.invalid_samples = self.settle_samples;
                    self.end_run(now, emit);
                }
                let [sigma, broad, wide] = self.bands.at(i);
                self.sigma_ring[self.ring_pos] = sigma;
                self.broad_ring[self.ring_pos] = broad;
                self.wide_ring[self.ring_pos] = wide;
                self.ring_pos = (self.ring_pos + 1) % self.window;
                self.invalid_samples = self.invalid_samples.saturating_sub(1);
                self.until_hop -= 1;
                if self.until_hop == 0 {
                    self.until_hop = self.hop;
                    if self.invalid_samples == 0 {
                        self.hop_features(now, emit);
                    }
                }
            }
        }
    }

    /// Closes a spindle still under way at `time` (e.g. at the end of a file), emitting its
    /// end if it was declared.
    pub fn finish(&mut self, time: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        self.end_run(time, emit);
    }

    fn end_run(&mut self, time: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        let run = self.run;
        self.run = Run::default();
        if run.active && run.declared {
            let c = &self.config;
            let verdict = Verdict::for_duration(
                run.end_time - run.start_time,
                c.min_duration_secs,
                c.max_duration_secs,
            );
            emit(SpindleEvent {
                kind: SpindleEventKind::End,
                start_time: run.start_time,
                end_time: run.end_time,
                declared_time: time,
                verdict,
                features: run.features,
                score: run.features.rel_power_z,
                confidence: run.features.correlation.clamp(0.0, 1.0),
            });
        }
    }

    fn hop_features(&mut self, now: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        let w = self.window as f64;
        let mean = |r: &[f64]| r.iter().sum::<f64>() / w;
        let (ms, mb, mw) = (
            mean(&self.sigma_ring),
            mean(&self.broad_ring),
            mean(&self.wide_ring),
        );
        let (mut ss, mut ww, mut bs, mut ws, mut s2, mut b2) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for i in 0..self.window {
            let s = self.sigma_ring[i];
            let b = self.broad_ring[i];
            let x = self.wide_ring[i];
            s2 += s * s;
            b2 += b * b;
            let (ds, db, dw) = (s - ms, b - mb, x - mw);
            ss += ds * ds;
            ww += dw * dw;
            bs += db * ds;
            ws += dw * ds;
        }
        let tiny = 1e-12;
        let abs_power = (s2 / w + tiny).log10();
        let rel_power = ((s2 + tiny) / (b2 + tiny)).log10();
        let covariance = (1.0 + (bs / w).max(0.0)).log10();
        let correlation = if ss > 0.0 && ww > 0.0 {
            ws / (ss * ww).sqrt()
        } else {
            0.0
        };
        self.rel_baseline.push(rel_power);
        self.cov_baseline.push(covariance);
        self.hops_since_refresh += 1;
        if self.hops_since_refresh >= self.refresh_hops || self.rel_baseline.len < self.min_baseline
        {
            self.hops_since_refresh = 0;
            self.rel_baseline.refresh();
            self.cov_baseline.refresh();
        }
        let features = SpindleFeatures {
            abs_power_log10: abs_power,
            rel_power_z: self.rel_baseline.z(rel_power),
            covariance_z: self.cov_baseline.z(covariance),
            correlation,
        };
        self.last = features;
        if self.rel_baseline.len < self.min_baseline {
            return;
        }
        let c = &self.config;
        let candidate =
            features.abs_power_log10 > c.abs_power_log10 && features.covariance_z > c.covariance_z;
        let confirming = candidate
            && features.rel_power_z > c.rel_power_z
            && features.correlation > c.correlation;
        let half_hop = 0.5 * self.hop as f64 / self.sample_rate_hz;
        let centre = now - 0.5 * (w - 1.0) / self.sample_rate_hz - self.delay_secs;
        if !candidate {
            self.end_run(now, emit);
            return;
        }
        if !self.run.active {
            self.run = Run {
                active: true,
                start_time: centre - half_hop,
                ..Run::default()
            };
        }
        self.run.end_time = centre + half_hop;
        self.run.features = features;
        self.run.confirmed += usize::from(confirming);
        if self.run.confirmed >= self.config.confirm_hops.max(1) && !self.run.declared {
            self.run.declared = true;
            emit(SpindleEvent {
                kind: SpindleEventKind::Onset,
                start_time: self.run.start_time,
                end_time: self.run.end_time,
                declared_time: now,
                verdict: Verdict::Pending,
                features,
                score: features.rel_power_z,
                confidence: features.correlation.clamp(0.0, 1.0),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_signal::sleep_like;
    use super::*;

    const FS: f64 = 200.0;

    /// Sleep-like background with 1 s, 13 Hz, 30 µV spindles starting at `onsets`.
    fn signal(secs: f64, onsets: &[f64], seed: u64) -> Vec<f64> {
        let spindles: Vec<(f64, f64)> = onsets.iter().map(|&o| (o, 1.0)).collect();
        sleep_like(FS, secs, &spindles, 30.0, seed)
    }

    fn run(x: &[f64], chunk: usize, cfg: SpindleConfig) -> Vec<SpindleEvent> {
        let mut d = SpindleDetector::new(cfg);
        d.prepare(FS, chunk).unwrap();
        let mut events = Vec::new();
        let stamps: Vec<f64> = (0..x.len()).map(|i| 100.0 + i as f64 / FS).collect();
        for (xs, ts) in x.chunks(chunk).zip(stamps.chunks(chunk)) {
            d.process(xs, ts, &mut |e| events.push(e));
        }
        events
    }

    #[test]
    fn confirming_hops_delay_the_trigger_and_skip_short_runs() {
        let onsets: Vec<f64> = (0..12).map(|k| 40.0 + 15.0 * k as f64).collect();
        let x = signal(240.0, &onsets, 7);
        let onsets_of = |k: usize| -> Vec<f64> {
            run(
                &x,
                20,
                SpindleConfig {
                    confirm_hops: k,
                    ..SpindleConfig::default()
                },
            )
            .iter()
            .filter(|e| e.kind == SpindleEventKind::Onset)
            .map(|e| e.declared_time)
            .collect()
        };
        let (first, third) = (onsets_of(1), onsets_of(3));
        assert!(!third.is_empty() && third.len() <= first.len());
        // Each spindle declared at the third confirming hop is declared at least two hops
        // (0.1 s) after its first.
        for t in &third {
            let earlier = first
                .iter()
                .copied()
                .filter(|f| f <= t && t - f < 1.0)
                .fold(f64::NAN, f64::max);
            assert!(t - earlier >= 0.1 - 1e-9, "{t} vs {earlier}");
        }
        // 0 means 1: the first confirming hop.
        assert_eq!(onsets_of(0), first);
    }

    #[test]
    fn finds_synthetic_spindles_with_their_timing() {
        let onsets: Vec<f64> = (0..12).map(|k| 40.0 + 15.0 * k as f64).collect();
        let x = signal(240.0, &onsets, 7);
        let events = run(&x, 20, SpindleConfig::default());
        let accepted: Vec<&SpindleEvent> = events
            .iter()
            .filter(|e| e.kind == SpindleEventKind::End && e.verdict == Verdict::Accepted)
            .collect();
        assert_eq!(accepted.len(), onsets.len(), "{events:#?}");
        for (e, &o) in accepted.iter().zip(&onsets) {
            let onset = 100.0 + o;
            // The visible part of a Hann-shaped spindle is its middle; the detector's span
            // should sit within a quarter second of it at both ends.
            assert!(
                (e.start_time - (onset + 0.2)).abs() < 0.25,
                "start {} vs {onset}",
                e.start_time
            );
            assert!(
                (e.end_time - (onset + 0.8)).abs() < 0.25,
                "end {} vs {onset}",
                e.end_time
            );
        }
        let onsets_declared: Vec<&SpindleEvent> = events
            .iter()
            .filter(|e| e.kind == SpindleEventKind::Onset)
            .collect();
        assert_eq!(onsets_declared.len(), onsets.len());
        for (e, &o) in onsets_declared.iter().zip(&onsets) {
            let delay = e.declared_time - (100.0 + o);
            assert!(
                (0.1..0.6).contains(&delay),
                "declared {delay} s after the onset"
            );
        }
    }

    #[test]
    fn background_alone_yields_no_spindle() {
        let x = signal(600.0, &[], 3);
        let events = run(&x, 20, SpindleConfig::default());
        assert!(
            events.iter().all(|e| e.verdict != Verdict::Accepted),
            "{events:#?}"
        );
        // Brief sigma bursts of the noise may still trigger an onset now and then.
        let triggers = events
            .iter()
            .filter(|e| e.kind == SpindleEventKind::Onset)
            .count();
        assert!(triggers <= 10, "{triggers} onsets in 10 min of background");
    }

    #[test]
    fn chunking_does_not_change_events() {
        let x = signal(120.0, &[30.0, 50.0, 80.0], 11);
        let a = run(&x, 1, SpindleConfig::default());
        let b = run(&x, 37, SpindleConfig::default());
        let c = run(&x, 500, SpindleConfig::default());
        let accepted = a.iter().filter(|e| e.verdict == Verdict::Accepted).count();
        assert_eq!(accepted, 3, "{a:#?}");
        assert_eq!(a, b);
        assert_eq!(a, c);
    }

    #[test]
    fn non_finite_samples_end_the_run_and_mute_detection_until_settled() {
        let mut x = signal(120.0, &[30.0, 60.0, 90.0], 5);
        // A NaN in the middle of the second spindle, an Inf just before the third.
        x[(60.5 * FS) as usize] = f64::NAN;
        x[(89.0 * FS) as usize] = f64::INFINITY;
        let mut d = SpindleDetector::new(SpindleConfig::default());
        d.prepare(FS, 50).unwrap();
        let mut events = Vec::new();
        let stamps: Vec<f64> = (0..x.len()).map(|i| i as f64 / FS).collect();
        d.process(&x, &stamps, &mut |e| events.push(e));
        assert_eq!(d.non_finite(), 2);
        let ends: Vec<&SpindleEvent> = events
            .iter()
            .filter(|e| e.kind == SpindleEventKind::End)
            .collect();
        // The first spindle is whole; the second is cut at the NaN (too short), the third
        // falls in the settling time after the Inf.
        assert_eq!(ends.len(), 2, "{events:#?}");
        assert_eq!(ends[0].verdict, Verdict::Accepted);
        assert!((ends[1].declared_time - 60.5).abs() < 1e-9);
        assert!(events.iter().all(|e| e.start_time < 85.0));
    }

    #[test]
    fn bad_settings_are_refused_with_the_fix() {
        let mut d = SpindleDetector::new(SpindleConfig {
            min_duration_secs: 3.0,
            ..SpindleConfig::default()
        });
        let err = d.prepare(FS, 10).unwrap_err().to_string();
        assert!(err.contains("min_duration_secs"), "{err}");
        let mut d = SpindleDetector::new(SpindleConfig::default());
        let err = d.prepare(30.0, 10).unwrap_err().to_string();
        assert!(err.contains("Nyquist"), "{err}");
    }

    #[test]
    fn reset_forgets_the_baseline() {
        let x = signal(60.0, &[30.0], 9);
        let mut d = SpindleDetector::new(SpindleConfig::default());
        d.prepare(FS, 100).unwrap();
        let stamps: Vec<f64> = (0..x.len()).map(|i| i as f64 / FS).collect();
        let mut first = Vec::new();
        d.process(&x, &stamps, &mut |e| first.push(e));
        d.reset();
        let mut second = Vec::new();
        d.process(&x, &stamps, &mut |e| second.push(e));
        assert_eq!(first, second);
        assert!(!first.is_empty());
    }
}
