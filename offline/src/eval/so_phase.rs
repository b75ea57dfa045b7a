//! Slow-oscillation phase targeting on recorded sleep EEG.
//!
//! `neuroloop eval so-phase --data DIR` streams each sleep recording found under DIR through
//! the causal slow-oscillation trigger exactly as a live session feeds it (samples rounded to
//! `f32`, chunks of 0.1 s) and compares the phase at which every stimulus would land
//! (trigger time + lookahead) with the offline reference phase there: zero-phase Butterworth
//! band-pass of the same band (order 2, forward-backward) and the FFT Hilbert transform
//! ([`neuroloop_dsp::phase::offline_phase`]). Reported per recording and pooled:
//!
//! - triggers, and triggers per minute;
//! - the circular mean of the phase error (the bias) and its circular SD
//!   (`sqrt(-2 ln R)`, R the mean resultant length), in degrees;
//! - the share of triggers landing in the up-phase (reference phase within ±90° of the peak).
//!
//! Recordings looked for: the DREAMS spindles excerpts (`spindles_dreams/excerptN.txt`, whole
//! 30-min excerpts, one channel) and YASA's 30 s N3 sample
//! (`sleep_yasa_samples/data_N3_no-spindles_30sec_100Hz.txt`, 100 Hz).

use std::path::{Path, PathBuf};

use neuroloop_decoders::sleep::{SoConfig, SoTrigger, SoTriggerEvent};
use neuroloop_dsp::phase::{offline_phase, wrap_rad};
use serde::Serialize;

use super::spindles::{as_streamed, find_excerpts, load_excerpt, stream_chunks};
use crate::error::{OfflineError, Result};

/// Order of the offline reference band-pass (applied forward and backward).
pub const REFERENCE_ORDER: usize = 2;

/// Phase statistics of a set of triggers.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct PhaseStats {
    /// Triggers.
    pub triggers: usize,
    /// Circular mean of (reference phase - target), degrees.
    pub mean_error_deg: f64,
    /// Circular SD of the error, degrees.
    pub circular_sd_deg: f64,
    /// Mean absolute error, degrees.
    pub mean_abs_error_deg: f64,
    /// Share of triggers whose reference phase is within ±90° of the up-state peak.
    pub up_phase_share: f64,
}

impl PhaseStats {
    /// Statistics of phase errors and reference phases (radians).
    pub fn of(errors: &[f64], phases: &[f64]) -> Self {
        let n = errors.len();
        if n == 0 {
            return PhaseStats::default();
        }
        let (s, c) = errors
            .iter()
            .fold((0.0, 0.0), |(s, c), e| (s + e.sin(), c + e.cos()));
        let r = (s * s + c * c).sqrt() / n as f64;
        PhaseStats {
            triggers: n,
            mean_error_deg: s.atan2(c).to_degrees(),
            circular_sd_deg: (-2.0 * r.max(1e-300).ln()).sqrt().to_degrees(),
            mean_abs_error_deg: errors.iter().map(|e| e.abs()).sum::<f64>() / n as f64 * 180.0
                / std::f64::consts::PI,
            up_phase_share: phases
                .iter()
                .filter(|p| p.abs() < std::f64::consts::FRAC_PI_2)
                .count() as f64
                / n as f64,
        }
    }
}

/// One recording's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordingPhase {
    /// Name of the recording.
    pub name: String,
    /// Sampling rate, Hz.
    pub sample_rate_hz: f64,
    /// Length, minutes.
    pub minutes: f64,
    /// Triggers per minute.
    pub triggers_per_min: f64,
    /// Statistics.
    pub stats: PhaseStats,
    /// Phase error of each trigger, degrees.
    pub errors_deg: Vec<f64>,
    /// Share of triggers during scored NREM stages 2-4 (when a hypnogram comes with the
    /// recording): the rest fell in wake, REM, stage 1 or movement, where a closed loop should
    /// not stimulate.
    pub nrem_share: Option<f64>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoPhaseReport {
    /// Trigger settings.
    pub config: SoConfig,
    /// Per recording.
    pub recordings: Vec<RecordingPhase>,
    /// All triggers together.
    pub pooled: PhaseStats,
    /// Share of triggers in NREM stages 2-4 over the recordings with a hypnogram.
    pub pooled_nrem_share: Option<f64>,
}

/// Streams `x` (samples [`as_streamed`]) through a trigger with `config` ([`stream_chunks`]).
pub fn triggers(x: &[f64], fs: f64, config: SoConfig) -> Result<Vec<SoTriggerEvent>> {
    let mut trigger = SoTrigger::new(config);
    trigger.prepare(fs)?;
    let mut out = Vec::new();
    stream_chunks(x, fs, |xs, ts| {
        trigger.process(xs, ts, &mut |e| out.push(e))
    });
    Ok(out)
}

/// Evaluates one recording.
pub fn evaluate_recording(
    name: &str,
    x: &[f64],
    fs: f64,
    config: SoConfig,
    hypnogram: Option<&[i8]>,
) -> Result<RecordingPhase> {
    // The trigger and the reference see the same samples.
    let x = as_streamed(x);
    let events = triggers(&x, fs, config)?;
    let (phase, _) = offline_phase(&x, fs, config.low_hz, config.high_hz, REFERENCE_ORDER)?;
    let target = config.target_phase_deg.to_radians();
    let (mut errors, mut phases) = (Vec::new(), Vec::new());
    for e in &events {
        let i = (e.target_time * fs).round() as usize;
        if let Some(&p) = phase.get(i) {
            errors.push(wrap_rad(p - target));
            phases.push(p);
        }
    }
    let minutes = x.len() as f64 / fs / 60.0;
    let nrem_share = hypnogram.filter(|_| !events.is_empty()).map(|stages| {
        let epoch = neuroloop_formats::dreams::HYPNOGRAM_EPOCH_S;
        let nrem = events
            .iter()
            .filter(|e| matches!(stages.get((e.target_time / epoch) as usize), Some(0..=2)))
            .count();
        nrem as f64 / events.len() as f64
    });
    Ok(RecordingPhase {
        nrem_share,
        name: name.to_owned(),
        sample_rate_hz: fs,
        minutes,
        triggers_per_min: errors.len() as f64 / minutes,
        stats: PhaseStats::of(&errors, &phases),
        errors_deg: errors.iter().map(|e| e.to_degrees()).collect(),
    })
}

/// Plain text: one value per line, optionally after a title line.
fn read_values(path: &Path) -> Result<Vec<f64>> {
    let text = std::fs::read_to_string(path).map_err(|source| OfflineError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || (i == 0 && line.starts_with('[')) {
            continue;
        }
        out.push(line.parse().map_err(|source| OfflineError::NotANumber {
            path: path.to_path_buf(),
            line: i + 1,
            text: line.to_owned(),
            source,
        })?);
    }
    Ok(out)
}

/// A sleep recording: name, samples, rate and, when scored, the DREAMS hypnogram (one R&K
/// stage code per 5 s).
pub type SleepRecording = (String, Vec<f64>, f64, Option<Vec<i8>>);

/// The sleep recordings under `data` (see the module documentation).
pub fn find_sleep_recordings(data: &Path) -> Result<Vec<SleepRecording>> {
    let mut out = Vec::new();
    let dreams = data.join("spindles_dreams");
    if dreams.is_dir() {
        for n in find_excerpts(&dreams)? {
            let (x, fs) = load_excerpt(&dreams, n)?;
            let hyp = dreams.join(format!("Hypnogram_excerpt{n}.txt"));
            let stages = if hyp.is_file() {
                Some(neuroloop_formats::dreams::read_hypnogram(&hyp)?.stages)
            } else {
                None
            };
            out.push((format!("DREAMS excerpt {n}"), x, fs, stages));
        }
    }
    let n3: PathBuf = data.join("sleep_yasa_samples/data_N3_no-spindles_30sec_100Hz.txt");
    if n3.is_file() {
        out.push(("YASA N3 sample".to_owned(), read_values(&n3)?, 100.0, None));
    }
    if out.is_empty() {
        return Err(OfflineError::data(format!(
            "no sleep recording under {}: pass the data folder holding spindles_dreams/ or sleep_yasa_samples/",
            data.display()
        )));
    }
    Ok(out)
}

/// Runs the evaluation on every recording under `data`.
pub fn evaluate_so_phase(data: &Path, config: SoConfig) -> Result<SoPhaseReport> {
    let mut recordings = Vec::new();
    for (name, x, fs, stages) in find_sleep_recordings(data)? {
        recordings.push(evaluate_recording(
            &name,
            &x,
            fs,
            config,
            stages.as_deref(),
        )?);
    }
    let errors: Vec<f64> = recordings
        .iter()
        .flat_map(|r| r.errors_deg.iter().map(|e| e.to_radians()))
        .collect();
    let phases: Vec<f64> = errors
        .iter()
        .map(|e| wrap_rad(e + config.target_phase_deg.to_radians()))
        .collect();
    let (mut nrem, mut scored) = (0.0, 0usize);
    for rec in &recordings {
        if let Some(share) = rec.nrem_share {
            nrem += share * rec.stats.triggers as f64;
            scored += rec.stats.triggers;
        }
    }
    Ok(SoPhaseReport {
        pooled_nrem_share: (scored > 0).then(|| nrem / scored as f64),
        config,
        pooled: PhaseStats::of(&errors, &phases),
        recordings,
    })
}

/// Human-readable table.
pub fn format_so_report(r: &SoPhaseReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Slow-oscillation triggers ({}-{} Hz, target {}°, lookahead {} s, amplitude >= {} µV, every >= {} s) vs offline zero-phase Hilbert phase",
        r.config.low_hz,
        r.config.high_hz,
        r.config.target_phase_deg,
        r.config.lookahead_secs,
        r.config.min_amplitude_uv,
        r.config.refractory_secs
    );
    let _ = writeln!(
        s,
        "{:<18} {:>5} {:>6} {:>8} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}",
        "recording",
        "Hz",
        "min",
        "triggers",
        "/min",
        "bias",
        "circ SD",
        "mean |e|",
        "up-phase",
        "in NREM"
    );
    let row = |s: &mut String,
               name: &str,
               hz: String,
               min: String,
               per: String,
               st: &PhaseStats,
               nrem: Option<f64>| {
        let _ = writeln!(
            s,
            "{:<18} {:>5} {:>6} {:>8} {:>6} {:>8.1}° {:>7.1}° {:>7.1}° {:>7.1} % {:>8}",
            name,
            hz,
            min,
            st.triggers,
            per,
            st.mean_error_deg,
            st.circular_sd_deg,
            st.mean_abs_error_deg,
            100.0 * st.up_phase_share,
            nrem.map_or("-".to_owned(), |v| format!("{:.1} %", 100.0 * v))
        );
    };
    for rec in &r.recordings {
        row(
            &mut s,
            &rec.name,
            format!("{}", rec.sample_rate_hz),
            format!("{:.1}", rec.minutes),
            format!("{:.1}", rec.triggers_per_min),
            &rec.stats,
            rec.nrem_share,
        );
    }
    row(
        &mut s,
        "pooled",
        String::new(),
        String::new(),
        String::new(),
        &r.pooled,
        r.pooled_nrem_share,
    );
    let _ = writeln!(
        s,
        "in NREM = share of triggers in hypnogram epochs scored S2-S4 (DREAMS, 5 s epochs)"
    );
    s
}
