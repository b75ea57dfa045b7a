//! The built-in EEG simulator: a virtual amplifier with ground truth.
//!
//! Every channel is a sum of sources spread over the scalp by [`montage`] weights:
//! - a 1/f ("pink") background, partly shared between channels as volume conduction would,
//! - posterior alpha (about 10 Hz) with a slowly wandering amplitude,
//! - power-line interference with its harmonics,
//! - and, depending on the [`Scenario`]: SSVEP responses with harmonics at the attended
//!   target's frequency and phase, motor-imagery event-related desynchronisation of the mu and
//!   beta rhythms over the motor cortex, or sleep spindles and slow oscillations.
//!
//! The simulator is seeded and deterministic: the same [`SimConfig`] produces bit-identical
//! samples and events, whatever the chunk sizes it is asked for. Ground truth is reported as
//! [`TruthEvent`]s so that decoders can be scored on it.
//!
//! Generation never allocates after [`Simulator::new`]: the source can run on the real-time
//! acquisition thread.

pub mod montage;
pub mod rng;

use std::f64::consts::TAU;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use crate::event::{MiClass, TruthEvent, TruthKind};
use crate::meta::StreamMeta;
use rng::Rng;

/// Errors in a simulator configuration; each says what to change.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SimError {
    /// The sampling rate is not a positive finite number.
    #[error("simulator sample rate {0} Hz is invalid: use a positive rate such as 250 or 1000")]
    BadSampleRate(f64),
    /// No channels were requested.
    #[error("the simulator needs at least one channel: give channel labels or a channel count")]
    NoChannels,
    /// A requested frequency cannot be represented at this sampling rate.
    #[error(
        "{what} at {freq_hz} Hz is at or above the Nyquist frequency ({nyquist_hz} Hz): raise the sample rate or lower the frequency"
    )]
    AboveNyquist {
        /// Which component.
        what: &'static str,
        /// Its frequency.
        freq_hz: f64,
        /// Half the sampling rate.
        nyquist_hz: f64,
    },
    /// A duration or rate is negative or not finite.
    #[error("simulator setting {name} = {value} is invalid: {hint}")]
    BadSetting {
        /// Setting name.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// What a valid value looks like.
        hint: &'static str,
    },
}

/// One SSVEP stimulus: frequency and phase of its flicker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsvepTarget {
    /// Flicker frequency.
    pub freq_hz: f64,
    /// Flicker phase at stimulus onset, in radians.
    pub phase_rad: f64,
}

/// Cued SSVEP trials: the simulated user attends each target in turn (shuffled per block).
#[derive(Debug, Clone, PartialEq)]
pub struct SsvepScenario {
    /// The stimuli on screen.
    pub targets: Vec<SsvepTarget>,
    /// Length of each attended period.
    pub trial_secs: f64,
    /// Gap between trials (gaze shift, no response).
    pub rest_secs: f64,
    /// Amplitude of the fundamental at the strongest (occipital) channel.
    pub amplitude_uv: f64,
    /// Number of harmonics including the fundamental; harmonic k has amplitude 1/k relative.
    pub harmonics: usize,
    /// Visual pathway latency between stimulus onset and response.
    pub latency_secs: f64,
    /// Follow a stimulus program's gaze (an [`Attention`]) instead of the cue sequence (`None`: cued trials).
    pub gaze: Option<Arc<Attention>>,
}

impl Default for SsvepScenario {
    fn default() -> Self {
        SsvepScenario {
            // Away from the 10 Hz alpha peak, whose harmonics would otherwise mask a target.
            targets: [7.0, 8.5, 12.0, 15.0]
                .iter()
                .enumerate()
                .map(|(i, &f)| SsvepTarget {
                    freq_hz: f,
                    phase_rad: i as f64 * std::f64::consts::FRAC_PI_2,
                })
                .collect(),
            trial_secs: 4.0,
            rest_secs: 1.0,
            amplitude_uv: 3.0,
            harmonics: 3,
            latency_secs: 0.14,
            gaze: None,
        }
    }
}

/// What a stimulus program tells the simulated user to attend: the flicker to look at (the
/// speller) or the motor-imagery class to imagine (the imagery paradigm). The simulator then
/// answers that program instead of following its own cue sequence. Shared between the
/// program's thread and the acquisition thread; lock-free.
#[derive(Debug, Default)]
pub struct Attention {
    /// Attended item (SSVEP target or imagery class index), or -1 for none.
    target: AtomicI32,
    /// LSL time the attended flicker or imagery started (`f64` bits).
    onset_bits: AtomicU64,
    /// Bumped on every change, so that one item attended twice is two trials.
    fixation: AtomicU64,
}

impl Attention {
    /// Nothing attended yet.
    pub fn new() -> Self {
        Attention {
            target: AtomicI32::new(-1),
            onset_bits: AtomicU64::new(0),
            fixation: AtomicU64::new(0),
        }
    }

    /// Attends `target` (a flicker, or an imagery class), from LSL time `onset` (past or
    /// future).
    pub fn attend(&self, target: usize, onset: f64) {
        self.onset_bits.store(onset.to_bits(), Ordering::Release);
        self.target
            .store(i32::try_from(target).unwrap_or(-1), Ordering::Release);
        self.fixation.fetch_add(1, Ordering::AcqRel);
    }

    /// Attends nothing (looks away, stops imagining).
    pub fn release(&self) {
        self.target.store(-1, Ordering::Release);
        self.fixation.fetch_add(1, Ordering::AcqRel);
    }

    /// The attended item with its onset and change number.
    pub fn current(&self) -> (Option<usize>, f64, u64) {
        let fixation = self.fixation.load(Ordering::Acquire);
        let target = usize::try_from(self.target.load(Ordering::Acquire)).ok();
        let onset = f64::from_bits(self.onset_bits.load(Ordering::Acquire));
        (target, onset, fixation)
    }
}

impl PartialEq for Attention {
    /// Two attentions are the same when they are the same shared object.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Cued motor-imagery trials with event-related desynchronisation.
#[derive(Debug, Clone, PartialEq)]
pub struct MiScenario {
    /// Classes cued, shuffled per block.
    pub classes: Vec<MiClass>,
    /// Imagery period.
    pub trial_secs: f64,
    /// Rest between trials.
    pub rest_secs: f64,
    /// Baseline amplitude of the mu rhythm over each motor cortex.
    pub mu_amplitude_uv: f64,
    /// Fraction of mu/beta amplitude lost contralaterally during imagery (0..1).
    pub erd_fraction: f64,
    /// Imagine what a paradigm cues (an [`Attention`] whose item indexes `classes`) instead
    /// of following the cue sequence (`None`: cued trials).
    pub intent: Option<Arc<Attention>>,
}

impl Default for MiScenario {
    fn default() -> Self {
        MiScenario {
            classes: vec![MiClass::LeftHand, MiClass::RightHand],
            trial_secs: 4.0,
            rest_secs: 2.0,
            mu_amplitude_uv: 6.0,
            erd_fraction: 0.6,
            intent: None,
        }
    }
}

/// Stage-2/3 sleep: spindles and slow oscillations at random times.
#[derive(Debug, Clone, PartialEq)]
pub struct SleepScenario {
    /// Mean spindle rate.
    pub spindles_per_min: f64,
    /// Spindle frequency range (uniformly drawn).
    pub spindle_freq_hz: (f64, f64),
    /// Spindle duration range (uniformly drawn).
    pub spindle_secs: (f64, f64),
    /// Spindle peak amplitude at the strongest (central) channel.
    pub spindle_amplitude_uv: f64,
    /// Mean slow-oscillation rate.
    pub slow_oscillations_per_min: f64,
    /// Slow-oscillation frequency range.
    pub slow_oscillation_freq_hz: (f64, f64),
    /// Slow-oscillation peak amplitude at the strongest (frontal) channel.
    pub slow_oscillation_amplitude_uv: f64,
    /// Probability that a slow oscillation carries a spindle on its up-state.
    pub coupling: f64,
}

impl Default for SleepScenario {
    fn default() -> Self {
        SleepScenario {
            spindles_per_min: 4.0,
            spindle_freq_hz: (11.0, 16.0),
            spindle_secs: (0.5, 2.0),
            spindle_amplitude_uv: 25.0,
            slow_oscillations_per_min: 6.0,
            slow_oscillation_freq_hz: (0.5, 1.5),
            slow_oscillation_amplitude_uv: 70.0,
            coupling: 0.5,
        }
    }
}

/// What the simulated subject does.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Scenario {
    /// Eyes-closed rest: background, alpha and line noise only.
    #[default]
    Rest,
    /// Cued SSVEP trials.
    Ssvep(SsvepScenario),
    /// Cued motor-imagery trials.
    MotorImagery(MiScenario),
    /// Sleep with spindles and slow oscillations.
    Sleep(SleepScenario),
}

/// Simulator configuration. [`Default`] is an 8-channel 250 Hz cap at rest.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Sampling rate.
    pub sample_rate_hz: f64,
    /// Channel labels; 10-10 names get realistic source weights, others weak random ones.
    pub channel_labels: Vec<String>,
    /// Seed of every random draw.
    pub seed: u64,
    /// RMS of the 1/f background per channel.
    pub background_uv: f64,
    /// Alpha peak frequency and amplitude at the occipital pole (`None`: no alpha).
    pub alpha: Option<(f64, f64)>,
    /// Power-line frequency and amplitude (`None`: no line noise).
    pub line_noise: Option<(f64, f64)>,
    /// What the subject does.
    pub scenario: Scenario,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            sample_rate_hz: 250.0,
            channel_labels: montage::DEFAULT_MONTAGE
                .iter()
                .map(|s| s.to_string())
                .collect(),
            seed: 1,
            background_uv: 10.0,
            alpha: Some((10.0, 8.0)),
            line_noise: Some((50.0, 5.0)),
            scenario: Scenario::Rest,
        }
    }
}

impl SimConfig {
    /// Channel labels for `n` channels: the default montage for up to 8, the 64-channel 10-10
    /// montage up to 64, then generic `E65`, `E66`, ... labels.
    pub fn labels_for(n: usize) -> Vec<String> {
        let base: &[&str] = if n <= montage::DEFAULT_MONTAGE.len() {
            &montage::DEFAULT_MONTAGE
        } else {
            &montage::MONTAGE_64
        };
        (0..n)
            .map(|i| match base.get(i) {
                Some(l) => l.to_string(),
                None => format!("E{}", i + 1),
            })
            .collect()
    }

    /// Checks the rate, the channels and every setting of the scenario; the first problem found
    /// is returned.
    fn validate(&self) -> Result<(), SimError> {
        let fs = self.sample_rate_hz;
        if !(fs.is_finite() && fs > 0.0) {
            return Err(SimError::BadSampleRate(fs));
        }
        if self.channel_labels.is_empty() {
            return Err(SimError::NoChannels);
        }
        let nyquist_hz = fs / 2.0;
        check_non_negative(
            "background_uv",
            self.background_uv,
            "give a non-negative RMS in microvolts",
        )?;
        if let Some((f, a)) = self.alpha {
            check_below_nyquist("alpha", f, nyquist_hz)?;
            check_non_negative("alpha amplitude", a, "give a non-negative amplitude")?;
        }
        match &self.scenario {
            Scenario::Rest => Ok(()),
            Scenario::Ssvep(s) => s.validate(nyquist_hz),
            Scenario::MotorImagery(m) => m.validate(),
            Scenario::Sleep(s) => s.validate(nyquist_hz),
        }
    }
}

/// Rejects a frequency at or above the Nyquist frequency.
fn check_below_nyquist(what: &'static str, freq_hz: f64, nyquist_hz: f64) -> Result<(), SimError> {
    if freq_hz >= nyquist_hz {
        Err(SimError::AboveNyquist {
            what,
            freq_hz,
            nyquist_hz,
        })
    } else {
        Ok(())
    }
}

/// Rejects a setting that is negative or not finite.
fn check_non_negative(name: &'static str, value: f64, hint: &'static str) -> Result<(), SimError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(SimError::BadSetting { name, value, hint })
    }
}

impl SsvepScenario {
    /// Checks the targets and timing against the stream's Nyquist frequency.
    fn validate(&self, nyquist_hz: f64) -> Result<(), SimError> {
        for t in &self.targets {
            check_below_nyquist("SSVEP target", t.freq_hz, nyquist_hz)?;
        }
        check_non_negative("trial_secs", self.trial_secs, "give a positive duration")?;
        check_non_negative("rest_secs", self.rest_secs, "give a non-negative duration")?;
        check_non_negative(
            "latency_secs",
            self.latency_secs,
            "give a non-negative latency",
        )?;
        if self.targets.is_empty() || self.trial_secs <= 0.0 {
            return Err(SimError::BadSetting {
                name: "targets",
                value: self.targets.len() as f64,
                hint: "give at least one target and a positive trial length",
            });
        }
        Ok(())
    }
}

impl MiScenario {
    /// Checks the classes, timing and desynchronisation depth.
    fn validate(&self) -> Result<(), SimError> {
        check_non_negative("trial_secs", self.trial_secs, "give a positive duration")?;
        check_non_negative("rest_secs", self.rest_secs, "give a non-negative duration")?;
        if self.classes.is_empty() || self.trial_secs <= 0.0 {
            return Err(SimError::BadSetting {
                name: "classes",
                value: self.classes.len() as f64,
                hint: "give at least one class and a positive trial length",
            });
        }
        if !(0.0..=1.0).contains(&self.erd_fraction) {
            return Err(SimError::BadSetting {
                name: "erd_fraction",
                value: self.erd_fraction,
                hint: "give a fraction between 0 and 1",
            });
        }
        Ok(())
    }
}

impl SleepScenario {
    /// Checks the event rates and the spindle and slow-oscillation ranges.
    fn validate(&self, nyquist_hz: f64) -> Result<(), SimError> {
        check_below_nyquist("spindle", self.spindle_freq_hz.1, nyquist_hz)?;
        check_non_negative(
            "spindles_per_min",
            self.spindles_per_min,
            "give a rate >= 0",
        )?;
        check_non_negative(
            "slow_oscillations_per_min",
            self.slow_oscillations_per_min,
            "give a rate >= 0",
        )?;
        if self.spindle_secs.0 <= 0.0 || self.spindle_secs.1 < self.spindle_secs.0 {
            return Err(SimError::BadSetting {
                name: "spindle_secs",
                value: self.spindle_secs.0,
                hint: "give a range (min, max) with 0 < min <= max",
            });
        }
        if self.slow_oscillation_freq_hz.0 <= 0.0
            || self.slow_oscillation_freq_hz.1 < self.slow_oscillation_freq_hz.0
        {
            return Err(SimError::BadSetting {
                name: "slow_oscillation_freq_hz",
                value: self.slow_oscillation_freq_hz.0,
                hint: "give a range (min, max) with 0 < min <= max",
            });
        }
        Ok(())
    }
}

/// Paul Kellet's "economy" pink filter: three leaky integrators plus a direct path, flat to
/// about -3 dB/octave over several decades below Nyquist.
#[derive(Debug, Clone, Copy, Default)]
struct Pink {
    b0: f64,
    b1: f64,
    b2: f64,
}

impl Pink {
    /// Output RMS for unit-variance white input, from the filter's coefficients:
    /// `sqrt(sum_ij g_i g_j / (1 - p_i p_j) + d^2 + 2 d sum_i g_i)`. Dividing by it gives a unit-RMS
    /// output, so `background_uv` really is the RMS.
    const RMS: f64 = 2.979_014_365_655_584;

    fn next(&mut self, white: f64) -> f64 {
        self.b0 = 0.99765 * self.b0 + white * 0.0990460;
        self.b1 = 0.96300 * self.b1 + white * 0.2965164;
        self.b2 = 0.57000 * self.b2 + white * 1.0526913;
        (self.b0 + self.b1 + self.b2 + white * 0.1848) / Self::RMS
    }
}

/// A sinusoid whose frequency wanders slightly and whose amplitude drifts slowly, like a
/// physiological rhythm rather than a pure tone.
#[derive(Debug, Clone)]
struct Rhythm {
    freq_hz: f64,
    phase: f64,
    /// Slow amplitude modulation (AR(1) around 1).
    envelope: f64,
    rng: Rng,
}

impl Rhythm {
    fn new(freq_hz: f64, rng: Rng) -> Self {
        Rhythm {
            freq_hz,
            phase: 0.0,
            envelope: 1.0,
            rng,
        }
    }

    fn next(&mut self, dt: f64) -> f64 {
        // Phase jitter of ~0.3 Hz RMS keeps the peak a few tenths of a hertz wide.
        let jitter = 0.3 * self.rng.gaussian();
        self.phase = (self.phase + TAU * (self.freq_hz + jitter) * dt) % TAU;
        // Envelope with a ~1 s time constant.
        let a = (-dt / 1.0).exp();
        self.envelope =
            a * self.envelope + (1.0 - a) * 1.0 + (1.0 - a * a).sqrt() * 0.3 * self.rng.gaussian();
        self.envelope.max(0.0) * self.phase.sin()
    }
}

#[derive(Debug, Clone, Copy)]
struct ChannelWeights {
    occipital: f64,
    posterior_alpha: f64,
    motor_left: f64,
    motor_right: f64,
    motor_mid: f64,
    spindle: f64,
    slow_wave: f64,
    line: f64,
}

fn channel_weights(label: &str, rng: &mut Rng) -> ChannelWeights {
    match montage::position(label) {
        Some(pos) => {
            let w = |c: (f64, f64), s: f64| montage::weight(pos, c, s);
            ChannelWeights {
                occipital: w((0.0, -0.9), 0.35),
                posterior_alpha: w((0.0, -0.75), 0.5),
                motor_left: w((-0.5, 0.0), 0.25),
                motor_right: w((0.5, 0.0), 0.25),
                motor_mid: w((0.0, 0.05), 0.2),
                spindle: w((0.0, -0.1), 0.5),
                slow_wave: w((0.0, 0.5), 0.7),
                line: 0.5 + rng.uniform(),
            }
        }
        // Channels without a known position (auxiliary inputs, generic labels) see a little of
        // everything, so they are neither silent nor informative.
        None => ChannelWeights {
            occipital: 0.1 * rng.uniform(),
            posterior_alpha: 0.2 * rng.uniform(),
            motor_left: 0.1 * rng.uniform(),
            motor_right: 0.1 * rng.uniform(),
            motor_mid: 0.1 * rng.uniform(),
            spindle: 0.2 * rng.uniform(),
            slow_wave: 0.3 * rng.uniform(),
            line: 0.5 + rng.uniform(),
        },
    }
}

#[derive(Debug, Clone, Copy)]
struct ActiveSpindle {
    start_frame: u64,
    frames: u64,
    freq_hz: f64,
    amplitude_uv: f64,
}

#[derive(Debug, Clone, Copy)]
struct ActiveSlowWave {
    start_frame: u64,
    frames: u64,
    freq_hz: f64,
    amplitude_uv: f64,
}

/// Maximum ground-truth events buffered between two drains. Events are sparse (trials last
/// seconds), so this only overflows if a caller never drains; overflowing events are counted.
const TRUTH_CAPACITY: usize = 256;

/// The cue sequencer: shuffled blocks of trials separated by rest.
#[derive(Debug, Clone)]
struct TrialSequencer {
    order: Vec<usize>,
    position: usize,
    n: usize,
    trial_frames: u64,
    rest_frames: u64,
    /// Frame at which the current trial started, and its item.
    current: Option<(u64, usize)>,
    next_trial_frame: u64,
    rng: Rng,
}

impl TrialSequencer {
    fn new(n: usize, trial_secs: f64, rest_secs: f64, fs: f64, rng: Rng) -> Self {
        let rest_frames = (rest_secs * fs).round() as u64;
        let mut s = TrialSequencer {
            order: (0..n).collect(),
            position: n,
            n,
            trial_frames: ((trial_secs * fs).round() as u64).max(1),
            rest_frames,
            current: None,
            next_trial_frame: rest_frames,
            rng,
        };
        s.reshuffle_if_needed();
        s
    }

    fn reshuffle_if_needed(&mut self) {
        if self.position < self.n {
            return;
        }
        // Fisher–Yates with the sequencer's own generator.
        for i in (1..self.n).rev() {
            let j = (self.rng.uniform() * (i + 1) as f64) as usize;
            self.order.swap(i, j.min(i));
        }
        self.position = 0;
    }

    /// Advances to `frame`; returns `Some(item)` when a trial starts exactly at this frame.
    fn step(&mut self, frame: u64) -> Option<usize> {
        if let Some((start, _)) = self.current
            && frame >= start + self.trial_frames
        {
            self.current = None;
            self.next_trial_frame = start + self.trial_frames + self.rest_frames;
        }
        if self.current.is_none() && frame >= self.next_trial_frame {
            self.reshuffle_if_needed();
            let item = self.order[self.position];
            self.position += 1;
            self.current = Some((frame, item));
            return Some(item);
        }
        None
    }
}

/// The simulator. See the module documentation.
pub struct Simulator {
    cfg: SimConfig,
    dt: f64,
    frame: u64,
    time_origin: f64,
    noise_rng: Vec<Rng>,
    pink: Vec<Pink>,
    common_pink: Pink,
    common_rng: Rng,
    weights: Vec<ChannelWeights>,
    line_phase: Vec<f64>,
    alpha: Option<Rhythm>,
    mu: [Rhythm; 3],
    beta: [Rhythm; 3],
    sequencer: Option<TrialSequencer>,
    /// Last [`Attention`] change seen (to emit one truth event per fixation or imagery).
    last_fixation: u64,
    event_rng: Rng,
    spindle: Option<ActiveSpindle>,
    slow_wave: Option<ActiveSlowWave>,
    next_spindle_frame: u64,
    next_slow_wave_frame: u64,
    /// Per-source ERD gain currently applied (left, right, mid), smoothed.
    motor_gain: [f64; 3],
    truth: TruthBuffer,
}

/// Gains of the (left, right, midline) motor sources while imagining `class`: the
/// contralateral hand area (or the midline for the feet) loses `erd` of its amplitude.
fn erd_gains(class: MiClass, erd: f64) -> [f64; 3] {
    match class {
        MiClass::LeftHand => [1.0 - 0.3 * erd, 1.0 - erd, 1.0],
        MiClass::RightHand => [1.0 - erd, 1.0 - 0.3 * erd, 1.0],
        MiClass::Feet => [1.0, 1.0, 1.0 - erd],
        MiClass::Rest => [1.0; 3],
    }
}

/// Fixed-capacity store of ground-truth events awaiting [`Simulator::drain_truth`].
struct TruthBuffer {
    events: Vec<TruthEvent>,
    overflow: u64,
}

impl TruthBuffer {
    fn emit(&mut self, event: TruthEvent) {
        if self.events.len() < TRUTH_CAPACITY {
            self.events.push(event);
        } else {
            self.overflow += 1;
        }
    }
}

impl Simulator {
    /// Builds a simulator; allocates everything it will need.
    pub fn new(cfg: SimConfig) -> Result<Self, SimError> {
        cfg.validate()?;
        let fs = cfg.sample_rate_hz;
        let n = cfg.channel_labels.len();
        let mut layout_rng = Rng::fork(cfg.seed, 1);
        let weights = cfg
            .channel_labels
            .iter()
            .map(|l| channel_weights(l, &mut layout_rng))
            .collect();
        let line_phase = (0..n).map(|_| layout_rng.range(0.0, 0.3)).collect();
        let noise_rng = (0..n)
            .map(|c| Rng::fork(cfg.seed, 1000 + c as u64))
            .collect();
        let alpha = cfg
            .alpha
            .map(|(f, _)| Rhythm::new(f, Rng::fork(cfg.seed, 2)));
        let mu = [0u64, 1, 2].map(|i| Rhythm::new(11.0, Rng::fork(cfg.seed, 10 + i)));
        let beta = [0u64, 1, 2].map(|i| Rhythm::new(22.0, Rng::fork(cfg.seed, 20 + i)));
        let sequencer = match &cfg.scenario {
            Scenario::Ssvep(s) => Some(TrialSequencer::new(
                s.targets.len(),
                s.trial_secs,
                s.rest_secs,
                fs,
                Rng::fork(cfg.seed, 3),
            )),
            Scenario::MotorImagery(m) => Some(TrialSequencer::new(
                m.classes.len(),
                m.trial_secs,
                m.rest_secs,
                fs,
                Rng::fork(cfg.seed, 3),
            )),
            _ => None,
        };
        let mut sim = Simulator {
            dt: 1.0 / fs,
            frame: 0,
            time_origin: 0.0,
            noise_rng,
            pink: vec![Pink::default(); n],
            common_pink: Pink::default(),
            common_rng: Rng::fork(cfg.seed, 4),
            weights,
            line_phase,
            alpha,
            mu,
            beta,
            sequencer,
            last_fixation: 0,
            event_rng: Rng::fork(cfg.seed, 5),
            spindle: None,
            slow_wave: None,
            next_spindle_frame: u64::MAX,
            next_slow_wave_frame: u64::MAX,
            motor_gain: [1.0; 3],
            truth: TruthBuffer {
                events: Vec::with_capacity(TRUTH_CAPACITY),
                overflow: 0,
            },
            cfg,
        };
        if let Scenario::Sleep(s) = &sim.cfg.scenario {
            let (sp, so) = (s.spindles_per_min, s.slow_oscillations_per_min);
            sim.next_spindle_frame = sim.draw_wait_frames(sp);
            sim.next_slow_wave_frame = sim.draw_wait_frames(so);
        }
        Ok(sim)
    }

    /// The stream this simulator produces.
    pub fn meta(&self) -> StreamMeta {
        StreamMeta {
            name: "neuroloop-sim".into(),
            content_type: "EEG".into(),
            channel_labels: self.cfg.channel_labels.clone(),
            sample_rate_hz: self.cfg.sample_rate_hz,
            source_id: format!("neuroloop-sim-{}", self.cfg.seed),
            hostname: String::new(),
            // The simulator's channels are all scalp EEG.
            channel_kinds: vec![crate::ChannelKind::Eeg; self.cfg.channel_labels.len()],
            line_hz: self.cfg.line_noise.map(|(hz, _)| hz),
            line_source: "the simulator's line noise",
            set_aside: Vec::new(),
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Number of channels per frame.
    pub fn channels(&self) -> usize {
        self.cfg.channel_labels.len()
    }

    /// Frames generated so far.
    pub fn frames_generated(&self) -> u64 {
        self.frame
    }

    /// Sets the LSL time of frame 0; ground-truth events are reported in that time base.
    pub fn set_time_origin(&mut self, time_origin: f64) {
        self.time_origin = time_origin;
    }

    /// LSL time of a frame index.
    pub fn frame_time(&self, frame: u64) -> f64 {
        self.time_origin + frame as f64 * self.dt
    }

    fn draw_wait_frames(&mut self, per_min: f64) -> u64 {
        if per_min <= 0.0 {
            return u64::MAX;
        }
        let secs = self.event_rng.exponential(60.0 / per_min);
        self.frame + ((secs / self.dt).round() as u64).max(1)
    }

    /// Takes the ground-truth events produced since the last call, oldest first.
    /// Real-time safe: the callback receives each event; nothing is allocated.
    pub fn drain_truth(&mut self, mut f: impl FnMut(TruthEvent)) {
        for e in self.truth.events.drain(..) {
            f(e);
        }
    }

    /// Ground-truth events lost because [`Simulator::drain_truth`] was not called in time.
    pub fn truth_overflow(&self) -> u64 {
        self.truth.overflow
    }

    /// Fills `out` (interleaved, `out.len() / channels` frames) with the next frames.
    ///
    /// Real-time safe: does not allocate; called on the acquisition thread.
    pub fn generate(&mut self, out: &mut [f32]) -> usize {
        let n = self.channels();
        let frames = out.len() / n;
        for f in 0..frames {
            let frame_out = &mut out[f * n..(f + 1) * n];
            self.next_frame(frame_out);
        }
        frames
    }

    /// Generates one frame (one value per channel) into `out`.
    ///
    /// Real-time safe: does not allocate.
    fn next_frame(&mut self, out: &mut [f32]) {
        let frame = self.frame;
        let t = frame as f64 * self.dt;
        let drive = self.scenario_drive(frame, t);
        self.smooth_motor_gain(drive.motor_target);
        let sources = self.shared_sources(frame, &drive);
        self.mix_channels(out, t, &sources);
        self.frame += 1;
    }

    /// Advances the scenario to `frame` (trial starts, attention changes and sleep events,
    /// each reported as ground truth) and returns what it asks of the shared sources.
    #[inline]
    fn scenario_drive(&mut self, frame: u64, t: f64) -> ScenarioDrive {
        if let Scenario::Sleep(_) = self.cfg.scenario {
            self.sleep_events(frame);
            return ScenarioDrive::IDLE;
        }
        // The cue state is borrowed field by field so that the scenario can be read while
        // it changes.
        let mut cues = Cues {
            frame,
            now: self.time_origin + t,
            dt: self.dt,
            sequencer: &mut self.sequencer,
            last_fixation: &mut self.last_fixation,
            truth: &mut self.truth,
        };
        match &self.cfg.scenario {
            Scenario::Rest | Scenario::Sleep(_) => ScenarioDrive::IDLE,
            Scenario::Ssvep(s) => ScenarioDrive {
                ssvep: match s.gaze.as_deref() {
                    Some(gaze) => cues.gazed_ssvep(s, gaze),
                    None => cues.cued_ssvep(s),
                },
                ..ScenarioDrive::IDLE
            },
            Scenario::MotorImagery(m) => ScenarioDrive {
                motor_target: match m.intent.as_deref() {
                    Some(intent) => cues.intended_mi(m, intent),
                    None => cues.cued_mi(m),
                },
                mu_scale_uv: m.mu_amplitude_uv,
                ..ScenarioDrive::IDLE
            },
        }
    }

    /// Moves the applied ERD gains towards `motor_target`.
    #[inline]
    fn smooth_motor_gain(&mut self, motor_target: [f64; 3]) {
        // Smooth the ERD gain with a ~0.2 s time constant.
        let k = 1.0 - (-self.dt / 0.2).exp();
        for (g, target) in self.motor_gain.iter_mut().zip(motor_target) {
            *g += k * (target - *g);
        }
    }

    /// Advances the sources every channel shares, in a fixed order (each draws from its own
    /// generator, and the order is part of what makes runs reproducible).
    #[inline]
    fn shared_sources(&mut self, frame: u64, drive: &ScenarioDrive) -> FrameSources {
        let alpha_uv = match (&mut self.alpha, self.cfg.alpha) {
            (Some(r), Some((_, amp))) => amp * r.next(self.dt),
            _ => 0.0,
        };
        let motor_uv = self.motor_sources(drive.mu_scale_uv);
        let ssvep_uv = drive.ssvep.map_or(0.0, |ssvep| ssvep.value_uv(self.dt));
        let (spindle_uv, slow_wave_uv) = self.sleep_sources(frame);
        let common_pink = self.common_pink.next(self.common_rng.gaussian());
        FrameSources {
            alpha_uv,
            motor_uv,
            ssvep_uv,
            spindle_uv,
            slow_wave_uv,
            common_pink,
        }
    }

    /// The left, right and midline motor sources: mu plus half as much beta, scaled by the
    /// current ERD gains.
    #[inline]
    fn motor_sources(&mut self, mu_scale_uv: f64) -> [f64; 3] {
        let mut motor = [0.0f64; 3];
        for (((out, mu), beta), gain) in motor
            .iter_mut()
            .zip(&mut self.mu)
            .zip(&mut self.beta)
            .zip(&self.motor_gain)
        {
            *out = mu_scale_uv * gain * (mu.next(self.dt) + 0.5 * beta.next(self.dt));
        }
        motor
    }

    /// The spindle and slow-wave values at `frame` (0 when none is under way); an event
    /// ends with its last frame.
    #[inline]
    fn sleep_sources(&mut self, frame: u64) -> (f64, f64) {
        let spindle_uv = self.spindle.map_or(0.0, |s| {
            let i = (frame - s.start_frame) as f64;
            let n = s.frames as f64;
            let envelope = 0.5 - 0.5 * (TAU * i / n).cos();
            s.amplitude_uv * envelope * (TAU * s.freq_hz * i * self.dt).sin()
        });
        let slow_wave_uv = self.slow_wave.map_or(0.0, |s| {
            let i = (frame - s.start_frame) as f64;
            // Down-state (negative half-wave) first, then the up-state.
            -s.amplitude_uv * (TAU * s.freq_hz * i * self.dt).sin()
        });
        if let Some(s) = self.spindle
            && frame + 1 >= s.start_frame + s.frames
        {
            self.spindle = None;
        }
        if let Some(s) = self.slow_wave
            && frame + 1 >= s.start_frame + s.frames
        {
            self.slow_wave = None;
        }
        (spindle_uv, slow_wave_uv)
    }

    /// Spreads the shared sources over the channels with their montage weights and adds each
    /// channel's own background and line noise.
    #[inline]
    fn mix_channels(&mut self, out: &mut [f32], t: f64, sources: &FrameSources) {
        let background_uv = self.cfg.background_uv;
        let line = self.cfg.line_noise;
        let motor = sources.motor_uv;
        for (c, sample) in out.iter_mut().enumerate() {
            let w = self.weights[c];
            let own = self.pink[c].next(self.noise_rng[c].gaussian());
            let mut v = background_uv * (0.8 * own + 0.6 * sources.common_pink);
            v += sources.alpha_uv * w.posterior_alpha;
            v += motor[0] * w.motor_left + motor[1] * w.motor_right + motor[2] * w.motor_mid;
            v += sources.ssvep_uv * w.occipital;
            v += sources.spindle_uv * w.spindle;
            v += sources.slow_wave_uv * w.slow_wave;
            if let Some((f_line, a_line)) = line {
                let ph = TAU * f_line * t + self.line_phase[c];
                v += a_line * w.line * (ph.sin() + 0.2 * (3.0 * ph).sin());
            }
            *sample = v as f32;
        }
    }

    fn sleep_events(&mut self, frame: u64) {
        let Scenario::Sleep(s) = &self.cfg.scenario else {
            return;
        };
        let s = s.clone_params();
        let fs = 1.0 / self.dt;
        if frame >= self.next_slow_wave_frame && self.slow_wave.is_none() {
            let freq_hz = self
                .event_rng
                .range(s.slow_oscillation_freq_hz.0, s.slow_oscillation_freq_hz.1);
            let frames = (fs / freq_hz).round() as u64;
            let amplitude_uv = s.slow_oscillation_amplitude_uv * self.event_rng.range(0.7, 1.2);
            self.slow_wave = Some(ActiveSlowWave {
                start_frame: frame,
                frames,
                freq_hz,
                amplitude_uv,
            });
            let onset = self.frame_time(frame);
            self.truth.emit(TruthEvent {
                onset,
                duration_secs: frames as f64 * self.dt,
                kind: TruthKind::SlowOscillation {
                    freq_hz: freq_hz as f32,
                    up_state_peak: onset + 0.75 / freq_hz,
                },
            });
            // A coupled spindle rides on the up-state (starting a little before its peak).
            if self.event_rng.uniform() < s.coupling && self.spindle.is_none() {
                let start = frame + ((0.6 / freq_hz) * fs).round() as u64;
                self.next_spindle_frame = self.next_spindle_frame.min(start);
            }
            self.next_slow_wave_frame =
                self.draw_wait_frames(s.slow_oscillations_per_min) + (1.0 / freq_hz * fs) as u64;
        }
        if frame >= self.next_spindle_frame && self.spindle.is_none() {
            let freq_hz = self
                .event_rng
                .range(s.spindle_freq_hz.0, s.spindle_freq_hz.1);
            let secs = self.event_rng.range(s.spindle_secs.0, s.spindle_secs.1);
            let frames = ((secs * fs).round() as u64).max(2);
            let amplitude_uv = s.spindle_amplitude_uv * self.event_rng.range(0.6, 1.2);
            self.spindle = Some(ActiveSpindle {
                start_frame: frame,
                frames,
                freq_hz,
                amplitude_uv,
            });
            self.truth.emit(TruthEvent {
                onset: self.frame_time(frame),
                duration_secs: frames as f64 * self.dt,
                kind: TruthKind::Spindle {
                    freq_hz: freq_hz as f32,
                    amplitude_uv: amplitude_uv as f32,
                },
            });
            self.next_spindle_frame = self.draw_wait_frames(s.spindles_per_min) + frames;
        }
    }
}

/// The SSVEP response on one frame: the attended target and how long it has been seen.
#[derive(Debug, Clone, Copy)]
struct SsvepDrive {
    freq_hz: f64,
    phase_rad: f64,
    /// Time since the response started (stimulus onset plus latency).
    tau_secs: f64,
    /// Harmonics including the fundamental.
    harmonics: usize,
    /// Amplitude of the fundamental at the strongest channel.
    amplitude_uv: f64,
}

impl SsvepDrive {
    /// The response to `target` of scenario `s`, `tau_secs` after it started.
    #[inline]
    fn new(s: &SsvepScenario, target: SsvepTarget, tau_secs: f64) -> Self {
        SsvepDrive {
            freq_hz: target.freq_hz,
            phase_rad: target.phase_rad,
            tau_secs,
            harmonics: s.harmonics,
            amplitude_uv: s.amplitude_uv,
        }
    }

    /// The response's value at the strongest channel: harmonic `h` at `1/h` of the
    /// fundamental's amplitude, stopping below the Nyquist frequency of sample period `dt`.
    #[inline]
    fn value_uv(self, dt: f64) -> f64 {
        let nyquist = 0.5 / dt;
        let mut v = 0.0;
        for h in 1..=self.harmonics {
            let fh = self.freq_hz * h as f64;
            if fh >= nyquist {
                break;
            }
            v += (TAU * fh * self.tau_secs + h as f64 * self.phase_rad).sin() / h as f64;
        }
        // A 100 ms onset ramp: the steady state builds up over a few cycles.
        self.amplitude_uv * v * (self.tau_secs / 0.1).min(1.0)
    }
}

/// What the scenario asks of the shared sources on one frame.
#[derive(Debug, Clone, Copy)]
struct ScenarioDrive {
    /// The SSVEP response under way, if any.
    ssvep: Option<SsvepDrive>,
    /// ERD gains of the (left, right, midline) motor sources that the smoothed gains follow.
    motor_target: [f64; 3],
    /// Amplitude of the motor rhythms (0 outside motor imagery).
    mu_scale_uv: f64,
}

impl ScenarioDrive {
    /// No SSVEP, no desynchronisation, no motor rhythm.
    const IDLE: ScenarioDrive = ScenarioDrive {
        ssvep: None,
        motor_target: [1.0; 3],
        mu_scale_uv: 0.0,
    };
}

/// The sources every channel shares on one frame, before the channel weights.
#[derive(Debug, Clone, Copy)]
struct FrameSources {
    alpha_uv: f64,
    /// Left, right and midline motor sources.
    motor_uv: [f64; 3],
    ssvep_uv: f64,
    spindle_uv: f64,
    slow_wave_uv: f64,
    /// The volume-conducted part of the background (unit RMS).
    common_pink: f64,
}

/// The simulator state that cued and attended trials update on each frame, borrowed apart
/// from the configuration that describes the trials.
struct Cues<'a> {
    frame: u64,
    /// LSL time of `frame`.
    now: f64,
    /// Sample period.
    dt: f64,
    sequencer: &'a mut Option<TrialSequencer>,
    last_fixation: &'a mut u64,
    truth: &'a mut TruthBuffer,
}

impl Cues<'_> {
    /// SSVEP following a stimulus program's gaze: one truth event per fixation, and the
    /// response once the latency has passed.
    #[inline]
    fn gazed_ssvep(&mut self, s: &SsvepScenario, gaze: &Attention) -> Option<SsvepDrive> {
        let (target, onset, fixation) = gaze.current();
        let Some(k) = target.filter(|&k| k < s.targets.len()) else {
            *self.last_fixation = fixation;
            return None;
        };
        if fixation != *self.last_fixation {
            *self.last_fixation = fixation;
            self.truth.emit(TruthEvent {
                onset,
                duration_secs: s.trial_secs,
                kind: TruthKind::SsvepTarget {
                    index: k as u16,
                    freq_hz: s.targets[k].freq_hz as f32,
                },
            });
        }
        let tau_secs = self.now - onset - s.latency_secs;
        (tau_secs >= 0.0).then(|| SsvepDrive::new(s, s.targets[k], tau_secs))
    }

    /// SSVEP following the cue sequence: a truth event at each trial start, and the response
    /// once the latency has passed.
    #[inline]
    fn cued_ssvep(&mut self, s: &SsvepScenario) -> Option<SsvepDrive> {
        let seq = self
            .sequencer
            .as_mut()
            .expect("SSVEP scenario has a sequencer");
        if let Some(item) = seq.step(self.frame) {
            let target = s.targets[item];
            self.truth.emit(TruthEvent {
                onset: self.now,
                duration_secs: s.trial_secs,
                kind: TruthKind::SsvepTarget {
                    index: item as u16,
                    freq_hz: target.freq_hz as f32,
                },
            });
        }
        let (start, item) = seq.current?;
        let tau_secs = (self.frame - start) as f64 * self.dt - s.latency_secs;
        (tau_secs >= 0.0).then(|| SsvepDrive::new(s, s.targets[item], tau_secs))
    }

    /// Motor imagery following a paradigm's intent: one truth event per change, and the
    /// class's ERD gains from 0.3 s after its onset.
    #[inline]
    fn intended_mi(&mut self, m: &MiScenario, intent: &Attention) -> [f64; 3] {
        let (item, onset, change) = intent.current();
        let Some(class) = item.and_then(|k| m.classes.get(k).copied()) else {
            *self.last_fixation = change;
            return [1.0; 3];
        };
        if change != *self.last_fixation {
            *self.last_fixation = change;
            self.truth.emit(TruthEvent {
                onset,
                duration_secs: m.trial_secs,
                kind: TruthKind::MotorImagery { class },
            });
        }
        if self.now - onset > 0.3 {
            erd_gains(class, m.erd_fraction)
        } else {
            [1.0; 3]
        }
    }

    /// Motor imagery following the cue sequence: a truth event at each trial start, and the
    /// cued class's ERD gains from 0.3 s into the trial.
    #[inline]
    fn cued_mi(&mut self, m: &MiScenario) -> [f64; 3] {
        let seq = self
            .sequencer
            .as_mut()
            .expect("MI scenario has a sequencer");
        if let Some(item) = seq.step(self.frame) {
            let class = m.classes[item];
            self.truth.emit(TruthEvent {
                onset: self.now,
                duration_secs: m.trial_secs,
                kind: TruthKind::MotorImagery { class },
            });
        }
        match seq.current {
            // Desynchronisation builds up after ~0.3 s, as in real cue-based imagery.
            Some((start, item)) if (self.frame - start) as f64 * self.dt > 0.3 => {
                erd_gains(m.classes[item], m.erd_fraction)
            }
            _ => [1.0; 3],
        }
    }
}

/// The numeric parameters of a [`SleepScenario`], copied out so the event code can borrow the
/// simulator mutably without cloning (and allocating) the scenario.
#[derive(Clone, Copy)]
struct SleepParams {
    spindles_per_min: f64,
    spindle_freq_hz: (f64, f64),
    spindle_secs: (f64, f64),
    spindle_amplitude_uv: f64,
    slow_oscillations_per_min: f64,
    slow_oscillation_freq_hz: (f64, f64),
    slow_oscillation_amplitude_uv: f64,
    coupling: f64,
}

impl SleepScenario {
    fn clone_params(&self) -> SleepParams {
        SleepParams {
            spindles_per_min: self.spindles_per_min,
            spindle_freq_hz: self.spindle_freq_hz,
            spindle_secs: self.spindle_secs,
            spindle_amplitude_uv: self.spindle_amplitude_uv,
            slow_oscillations_per_min: self.slow_oscillations_per_min,
            slow_oscillation_freq_hz: self.slow_oscillation_freq_hz,
            slow_oscillation_amplitude_uv: self.slow_oscillation_amplitude_uv,
            coupling: self.coupling,
        }
    }
}

#[cfg(test)]
mod tests;
