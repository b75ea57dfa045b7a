//! Neural spindle detection: a small convolutional network, run through ONNX Runtime on a
//! causal front end, sample chunk by sample chunk.
//!
//! # Front end ([`NetFrontEnd`])
//!
//! On the stream's own rate, two causal Butterworth band-passes (the same one-biquad designs
//! as the A7 detector): wide 0.3–30 Hz (the EEG as a scorer sees it) and sigma 11–16 Hz.
//! Both are resampled to [`NetFrontEndConfig::rate_hz`] (100 Hz) by linear interpolation at
//! exact sample positions (a 100 Hz stream passes through untouched, 200 Hz is decimated by 2),
//! and divided by a running RMS of the wide signal (an exponential average over
//! [`NetFrontEndConfig::norm_secs`], 30 s, with each sample's contribution capped at 25 times
//! the current mean square so artefacts do not flatten the next minutes). Three channels reach
//! the model:
//!
//! 0. wide / RMS, 1. sigma / RMS (both clipped to ±[`NetFrontEndConfig::clip`]),
//! 2. `log10(RMS in µV) - 1.5`: the record's amplitude, which A7 tests absolutely.
//!
//! # Network and decisions ([`SpindleNet`])
//!
//! Every [`NetFrontEndConfig::hop_secs`] (50 ms), the last [`NetFrontEndConfig::window_secs`]
//! (1 s) of the three channels, laid out `[1, 3, 100]` channel-major, go through the model,
//! which returns the probability that the window's last instant lies in a spindle. A run of
//! hops at or above [`SpindleNetConfig::threshold`] is a candidate; its onset is declared once
//! the run has lasted [`SpindleNetConfig::confirm_hops`] hops (the trigger closed-loop
//! stimulation locks to). Its span is the
//! run's first hop moved back by [`SpindleNetConfig::onset_lead_secs`] to its last hop moved
//! back by [`SpindleNetConfig::end_lag_secs`] (both measured on the training data: the network
//! sees a spindle only once some of it has passed). The end carries the same
//! [`Verdict`]s as A7's: accepted within the duration limits, otherwise too short or too long.
//!
//! The model's file, input layout and every setting above come from its model card
//! (`assets/models/spindle-net.toml`), read by [`crate::onnx::ModelCard`].

use super::bands::BandBank;
use super::spindle::{SpindleEvent, SpindleEventKind, SpindleFeatures, Verdict};
use crate::DecoderError;

// The card's `[spindle]` table is defined with the other card tables, so that the card reader
// in `onnx` does not depend on the detector for it; its old paths stay here.
pub use crate::card::{NetFrontEndConfig, SpindleNetConfig};

/// Channels the front end hands the model.
pub const NET_CHANNELS: usize = 3;

impl NetFrontEndConfig {
    fn check(&self, sample_rate_hz: f64) -> Result<(), DecoderError> {
        let bad = |name: &'static str, value: f64, hint: &'static str| {
            Err(DecoderError::BadSetting { name, value, hint })
        };
        if !(self.rate_hz.is_finite() && self.rate_hz > 0.0) {
            return bad(
                "rate_hz",
                self.rate_hz,
                "use the model card's rate, e.g. 100 Hz",
            );
        }
        if self.window_samples() < 4 {
            return bad(
                "window_secs",
                self.window_secs,
                "use the model card's window, e.g. 1 s",
            );
        }
        if !(self.norm_secs.is_finite() && self.norm_secs > 0.0) {
            return bad("norm_secs", self.norm_secs, "use e.g. 30 s");
        }
        if !(self.min_norm_secs.is_finite() && self.min_norm_secs >= 0.0) {
            return bad("min_norm_secs", self.min_norm_secs, "use e.g. 10 s");
        }
        if !(self.clip.is_finite() && self.clip > 0.0) {
            return bad("clip", self.clip, "use e.g. 20");
        }
        if self.sigma_band_hz.1 >= 0.5 * sample_rate_hz.min(self.rate_hz) {
            return Err(DecoderError::FrequencyAboveNyquist {
                freq_hz: self.sigma_band_hz.1,
                sample_rate_hz: sample_rate_hz.min(self.rate_hz),
            });
        }
        Ok(())
    }
}

/// One sample of the front end's output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetSample {
    /// The [`NET_CHANNELS`] values.
    pub values: [f32; NET_CHANNELS],
    /// Stamp (interpolated from the input stamps), s.
    pub time: f64,
    /// Whether the filters have settled and the RMS has enough history.
    pub valid: bool,
}

/// The causal front end of the neural detector. See the [module documentation](self).
///
/// [`NetFrontEnd::prepare`] allocates; [`NetFrontEnd::process`] and [`NetFrontEnd::reset`] do
/// not.
#[derive(Debug, Clone)]
pub struct NetFrontEnd {
    config: NetFrontEndConfig,
    /// Wide and sigma band-passes, in that order.
    bands: BandBank<2>,
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output sample, in input samples after the previous input sample.
    next_pos: f64,
    prev: (f64, f64, f64),
    have_prev: bool,
    mean_square: f64,
    norm_count: u64,
    alpha: f64,
    invalid_input: usize,
    settle_input: usize,
    min_norm: u64,
    non_finite: u64,
}

impl NetFrontEnd {
    /// A front end with `config`; nothing is designed until [`NetFrontEnd::prepare`].
    pub fn new(config: NetFrontEndConfig) -> Self {
        NetFrontEnd {
            config,
            bands: BandBank::new(),
            step: 1.0,
            next_pos: 0.0,
            prev: (0.0, 0.0, 0.0),
            have_prev: false,
            mean_square: 0.0,
            norm_count: 0,
            alpha: 0.0,
            invalid_input: 0,
            settle_input: 0,
            min_norm: 0,
            non_finite: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NetFrontEndConfig {
        &self.config
    }

    /// Non-finite input samples seen since `prepare`.
    pub fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Designs the filters for a `sample_rate_hz` stream fed in blocks of up to
    /// `max_block_frames` samples. Allocates.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        max_block_frames: usize,
    ) -> Result<(), DecoderError> {
        self.config.check(sample_rate_hz)?;
        let c = self.config;
        let fs = sample_rate_hz;
        self.bands.prepare(
            [c.wide_band_hz, c.sigma_band_hz],
            c.filter_order,
            fs,
            max_block_frames,
        )?;
        self.step = fs / c.rate_hz;
        self.alpha = 1.0 / (c.norm_secs * c.rate_hz);
        self.settle_input = ((2.0 / c.wide_band_hz.0.max(0.1)) * fs) as usize;
        self.min_norm = (c.min_norm_secs * c.rate_hz).round() as u64;
        self.non_finite = 0;
        self.reset();
        Ok(())
    }

    /// Forgets all history. Does not allocate.
    pub fn reset(&mut self) {
        self.bands.reset();
        self.next_pos = 0.0;
        self.have_prev = false;
        self.prev = (0.0, 0.0, 0.0);
        self.mean_square = 0.0;
        self.norm_count = 0;
        self.invalid_input = self.settle_input;
    }

    /// Consumes samples with their stamps, calling `out` for each output sample.
    ///
    /// Real-time safe: does not allocate.
    pub fn process(&mut self, samples: &[f64], stamps: &[f64], out: &mut dyn FnMut(NetSample)) {
        let block = self.bands.max_block();
        if block == 0 {
            return;
        }
        let n = samples.len().min(stamps.len());
        for (x, t) in samples[..n].chunks(block).zip(stamps[..n].chunks(block)) {
            self.bands.filter(x);
            for (i, (&xi, &time)) in x.iter().zip(t).enumerate() {
                if !xi.is_finite() {
                    self.non_finite += 1;
                    self.invalid_input = self.settle_input;
                }
                let [wide, sigma] = self.bands.at(i);
                let cur = (wide, sigma, time);
                self.invalid_input = self.invalid_input.saturating_sub(1);
                if !self.have_prev {
                    self.prev = cur;
                    self.have_prev = true;
                    // The first input sample is output sample 0.
                    self.next_pos = self.step;
                    self.emit(cur, out);
                    continue;
                }
                // Output samples falling in (prev, cur]: positions in (0, 1].
                while self.next_pos <= 1.0 + 1e-9 {
                    let f = self.next_pos.clamp(0.0, 1.0);
                    let p = self.prev;
                    let v = (
                        p.0 + f * (cur.0 - p.0),
                        p.1 + f * (cur.1 - p.1),
                        p.2 + f * (cur.2 - p.2),
                    );
                    self.emit(v, out);
                    self.next_pos += self.step;
                }
                self.next_pos -= 1.0;
                self.prev = cur;
            }
        }
    }

    fn emit(&mut self, (wide, sigma, time): (f64, f64, f64), out: &mut dyn FnMut(NetSample)) {
        let settled = self.invalid_input == 0;
        if settled {
            let sq = wide * wide;
            self.norm_count += 1;
            let sq = if self.norm_count > 200 {
                sq.min(25.0 * self.mean_square)
            } else {
                sq
            };
            let w = (1.0 / self.norm_count as f64).max(self.alpha);
            self.mean_square += w * (sq - self.mean_square);
        }
        let rms = self.mean_square.sqrt().max(1e-6);
        let clip = self.config.clip;
        out(NetSample {
            values: [
                (wide / rms).clamp(-clip, clip) as f32,
                (sigma / rms).clamp(-clip, clip) as f32,
                (rms.log10() - 1.5) as f32,
            ],
            time,
            valid: settled && self.norm_count >= self.min_norm.max(1),
        });
    }
}

/// Scores one front-end window: the probability that its last instant lies in a spindle.
pub trait WindowModel: Send + std::fmt::Debug {
    /// `window` is `[channels][samples]`, channel-major. Real-time safe implementations do
    /// not allocate.
    fn predict(&mut self, window: &[f32]) -> Result<f32, String>;
}

#[derive(Debug, Clone, Copy, Default)]
struct NetRun {
    active: bool,
    declared: bool,
    hops: usize,
    start_time: f64,
    end_time: f64,
    peak: f64,
}

/// The neural spindle detector for one channel. See the [module documentation](self).
#[derive(Debug)]
pub struct SpindleNet {
    front: NetFrontEnd,
    core: NetCore,
}

/// Everything after the front end: the window ring, the model and the run under way.
#[derive(Debug)]
struct NetCore {
    config: SpindleNetConfig,
    model: Box<dyn WindowModel>,
    /// Last `window` samples per channel, circular, channel-major.
    ring: Vec<f32>,
    /// Model input, channel-major, oldest first.
    window: Vec<f32>,
    ring_pos: usize,
    valid_run: usize,
    until_hop: usize,
    run: NetRun,
    last_probability: f64,
    faults: u64,
}

impl SpindleNet {
    /// A detector running `model` with `config`.
    pub fn new(config: SpindleNetConfig, model: Box<dyn WindowModel>) -> Self {
        SpindleNet {
            front: NetFrontEnd::new(config.front_end),
            core: NetCore {
                config,
                model,
                ring: Vec::new(),
                window: Vec::new(),
                ring_pos: 0,
                valid_run: 0,
                until_hop: 0,
                run: NetRun::default(),
                last_probability: 0.0,
                faults: 0,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SpindleNetConfig {
        &self.core.config
    }

    /// The latest probability the model returned.
    pub fn latest_probability(&self) -> f64 {
        self.core.last_probability
    }

    /// Model calls that failed (each counted as probability 0).
    pub fn faults(&self) -> u64 {
        self.core.faults
    }

    /// Non-finite input samples seen since `prepare`.
    pub fn non_finite(&self) -> u64 {
        self.front.non_finite()
    }

    /// Prepares for a `sample_rate_hz` stream in blocks of up to `max_block_frames`, and runs
    /// the model once on a zero window (so its first real call costs no set-up). Allocates.
    pub fn prepare(
        &mut self,
        sample_rate_hz: f64,
        max_block_frames: usize,
    ) -> Result<(), DecoderError> {
        let c = self.core.config;
        if !(c.threshold > 0.0 && c.threshold < 1.0) {
            return Err(DecoderError::BadSetting {
                name: "threshold",
                value: c.threshold,
                hint: "use a probability between 0 and 1, e.g. the model card's",
            });
        }
        if !(c.min_duration_secs >= 0.0 && c.min_duration_secs <= c.max_duration_secs) {
            return Err(DecoderError::BadSetting {
                name: "min_duration_secs",
                value: c.min_duration_secs,
                hint: "use a value between 0 and max_duration_secs, e.g. 0.5 s",
            });
        }
        self.front.prepare(sample_rate_hz, max_block_frames)?;
        let w = c.front_end.window_samples();
        let core = &mut self.core;
        core.ring = vec![0.0; w * NET_CHANNELS];
        core.window = vec![0.0; w * NET_CHANNELS];
        core.model
            .predict(&core.window)
            .map_err(|reason| DecoderError::Model { reason })?;
        core.faults = 0;
        self.reset();
        Ok(())
    }

    /// Forgets all history, dropping any spindle under way. Does not allocate.
    pub fn reset(&mut self) {
        self.front.reset();
        let core = &mut self.core;
        core.ring.fill(0.0);
        core.ring_pos = 0;
        core.valid_run = 0;
        core.until_hop = core.config.front_end.hop_samples();
        core.run = NetRun::default();
        core.last_probability = 0.0;
    }

    /// Consumes samples with their stamps, calling `emit` for each declaration.
    ///
    /// Real-time safe when the model is (the ONNX model's calls are measured by the
    /// allocation tests): nothing else allocates.
    pub fn process(&mut self, samples: &[f64], stamps: &[f64], emit: &mut dyn FnMut(SpindleEvent)) {
        if self.core.ring.is_empty() {
            return;
        }
        let core = &mut self.core;
        self.front
            .process(samples, stamps, &mut |s| core.on_sample(s, emit));
    }

    /// Closes a spindle still under way at `time` (e.g. at the end of a file).
    pub fn finish(&mut self, time: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        self.core.end_run(time, emit);
    }
}

impl NetCore {
    fn on_sample(&mut self, s: NetSample, emit: &mut dyn FnMut(SpindleEvent)) {
        let w = self.config.front_end.window_samples();
        for (c, v) in s.values.iter().enumerate() {
            self.ring[c * w + self.ring_pos] = *v;
        }
        self.ring_pos = (self.ring_pos + 1) % w;
        self.valid_run = if s.valid { self.valid_run + 1 } else { 0 };
        if !s.valid {
            self.end_run(s.time, emit);
        }
        self.until_hop -= 1;
        if self.until_hop > 0 {
            return;
        }
        self.until_hop = self.config.front_end.hop_samples();
        if self.valid_run < w {
            return;
        }
        // Unroll the ring, oldest first.
        for c in 0..NET_CHANNELS {
            let ring = &self.ring[c * w..(c + 1) * w];
            let dst = &mut self.window[c * w..(c + 1) * w];
            let (old, new) = ring.split_at(self.ring_pos);
            dst[..new.len()].copy_from_slice(new);
            dst[new.len()..].copy_from_slice(old);
        }
        let p = match self.model.predict(&self.window) {
            Ok(p) if p.is_finite() => f64::from(p),
            _ => {
                self.faults += 1;
                0.0
            }
        };
        self.last_probability = p;
        self.on_probability(p, s.time, emit);
    }

    fn on_probability(&mut self, p: f64, now: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        let c = self.config;
        if p < c.threshold {
            self.end_run(now, emit);
            return;
        }
        if !self.run.active {
            self.run = NetRun {
                active: true,
                declared: false,
                hops: 0,
                start_time: now - c.onset_lead_secs,
                end_time: now - c.end_lag_secs,
                peak: p,
            };
        }
        self.run.hops += 1;
        if !self.run.declared && self.run.hops >= c.confirm_hops.max(1) {
            self.run.declared = true;
            emit(SpindleEvent {
                kind: SpindleEventKind::Onset,
                start_time: self.run.start_time,
                end_time: now,
                declared_time: now,
                verdict: Verdict::Pending,
                features: SpindleFeatures::default(),
                score: p,
                confidence: p,
            });
        }
        self.run.end_time = (now - c.end_lag_secs).max(self.run.start_time);
        self.run.peak = self.run.peak.max(p);
    }

    fn end_run(&mut self, time: f64, emit: &mut dyn FnMut(SpindleEvent)) {
        let run = self.run;
        self.run = NetRun::default();
        if !(run.active && run.declared) {
            return;
        }
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
            features: SpindleFeatures::default(),
            score: run.peak,
            confidence: run.peak,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_signal::sleep_like;
    use super::*;

    /// Returns the mean of the sigma channel's square over the window's last 0.3 s, squashed:
    /// a crude hand-made "model" that fires on sigma bursts.
    #[derive(Debug)]
    struct SigmaPower {
        window: usize,
    }

    impl WindowModel for SigmaPower {
        fn predict(&mut self, x: &[f32]) -> Result<f32, String> {
            let w = self.window;
            let sigma = &x[w..2 * w];
            let tail = &sigma[w - 30..];
            let p = tail.iter().map(|v| v * v).sum::<f32>() / tail.len() as f32;
            Ok((p - 0.5).clamp(0.0, 1.0))
        }
    }

    /// Sleep-like background with 13 Hz, 60 µV spindles at `bursts` (onset, duration).
    fn spindle_signal(fs: f64, secs: f64, bursts: &[(f64, f64)]) -> Vec<f64> {
        sleep_like(fs, secs, bursts, 60.0, 7)
    }

    fn run(fs: f64, x: &[f64], chunk: usize) -> (Vec<SpindleEvent>, Vec<NetSample>) {
        let config = SpindleNetConfig::default();
        let mut net = SpindleNet::new(config, Box::new(SigmaPower { window: 100 }));
        net.prepare(fs, chunk).unwrap();
        let mut front = NetFrontEnd::new(config.front_end);
        front.prepare(fs, chunk).unwrap();
        let mut events = Vec::new();
        let mut samples = Vec::new();
        for (k, c) in x.chunks(chunk).enumerate() {
            let stamps: Vec<f64> = (0..c.len()).map(|i| (k * chunk + i) as f64 / fs).collect();
            net.process(c, &stamps, &mut |e| events.push(e));
            front.process(c, &stamps, &mut |s| samples.push(s));
        }
        net.finish(x.len() as f64 / fs, &mut |e| events.push(e));
        (events, samples)
    }

    #[test]
    fn the_front_end_resamples_any_rate_to_the_model_rate() {
        for fs in [50.0, 100.0, 200.0, 250.0, 512.0] {
            let x = spindle_signal(fs, 20.0, &[]);
            let (_, samples) = run(fs, &x, 37);
            let expected = (20.0 * 100.0) as usize;
            assert!(
                samples.len().abs_diff(expected) <= 2,
                "{fs} Hz: {} samples",
                samples.len()
            );
            // Stamps advance by 10 ms.
            for pair in samples.windows(2) {
                assert!((pair[1].time - pair[0].time - 0.01).abs() < 1e-9, "{fs} Hz");
            }
        }
    }

    #[test]
    fn at_the_model_rate_the_front_end_passes_samples_through() {
        let fs = 100.0;
        let x = spindle_signal(fs, 5.0, &[]);
        let (_, samples) = run(fs, &x, 10);
        assert_eq!(samples.len(), x.len());
        assert_eq!(samples[17].time, 0.17);
    }

    #[test]
    fn bursts_are_found_with_any_chunking() {
        let fs = 200.0;
        let bursts = [(30.0, 1.0), (45.0, 1.5), (60.0, 0.8)];
        let x = spindle_signal(fs, 75.0, &bursts);
        let (one, _) = run(fs, &x, 1);
        let (many, _) = run(fs, &x, 333);
        assert_eq!(one, many);
        let onsets: Vec<&SpindleEvent> = one
            .iter()
            .filter(|e| e.kind == SpindleEventKind::Onset)
            .collect();
        assert_eq!(onsets.len(), 3, "{one:?}");
        for (e, (start, _)) in onsets.iter().zip(bursts) {
            assert!(
                e.declared_time > start && e.declared_time < start + 0.8,
                "{e:?}"
            );
        }
    }

    #[test]
    fn non_finite_samples_mute_detection_until_the_filters_settle() {
        let fs = 100.0;
        let mut x = spindle_signal(fs, 60.0, &[(40.0, 1.0)]);
        x[3800] = f64::NAN;
        let (events, _) = run(fs, &x, 50);
        // The burst falls in the settling time after the NaN: nothing is declared.
        assert!(events.is_empty(), "{events:?}");
    }

    #[derive(Debug)]
    struct Failing;
    impl WindowModel for Failing {
        fn predict(&mut self, _: &[f32]) -> Result<f32, String> {
            Err("shape mismatch".into())
        }
    }

    #[test]
    fn a_model_that_fails_at_prepare_is_reported() {
        let mut net = SpindleNet::new(SpindleNetConfig::default(), Box::new(Failing));
        let err = net.prepare(100.0, 10).unwrap_err().to_string();
        assert!(err.contains("shape mismatch"), "{err}");
    }
}
