//! SSVEP calibration: trials cut from recorded sessions at their flicker onsets, for
//! `neuroloop ssvep fit`.
//!
//! Onsets come from the speller's markers (`speller cue … target=K … freq_hz=F` followed by
//! `speller stim-on`) or, in recordings without them, from the simulator's ground truth
//! (`truth/ssvep target=K freq_hz=F …`). The recording goes through the session's default front
//! end first, so the fit sees what the online decoder sees.

use std::path::PathBuf;

use neuroloop_decoders::ssvep::onset::{SsvepTrcaModel, TrcaFitConfig};

use neuroloop_dsp::front_end::FrontEnd;

use crate::error::{OfflineError, Result};

/// `key=value` of a marker text.
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
}

/// Flicker trials of one recording's annotations: (onset in seconds from the first sample,
/// target, frequency).
pub fn onset_trials(annotations: &[neuroloop_formats::Annotation]) -> Vec<(f64, usize, f64)> {
    let target_of = |text: &str| -> Option<(usize, f64)> {
        Some((
            field(text, "target")?.parse().ok()?,
            field(text, "freq_hz")?.parse().ok()?,
        ))
    };
    let mut speller = Vec::new();
    let mut cued = None;
    for a in annotations {
        if a.label.starts_with("speller cue") {
            cued = target_of(&a.label);
        } else if a.label.starts_with("speller stim-on")
            && let Some((k, f)) = cued.take()
        {
            speller.push((a.onset_s, k, f));
        }
    }
    if !speller.is_empty() {
        return speller;
    }
    annotations
        .iter()
        .filter(|a| a.label.contains("truth/ssvep "))
        .filter_map(|a| target_of(&a.label).map(|(k, f)| (a.onset_s, k, f)))
        .collect()
}

/// The fitted model's cross-validated accuracy at its longest window that has one, over all
/// its calibration trials, against chance (`None`: too few trials to estimate it).
pub fn model_check(model: &SsvepTrcaModel) -> Option<(f64, crate::eval::chance::ChanceCheck)> {
    let cp = model
        .checkpoints
        .iter()
        .rev()
        .find(|cp| cp.cv_accuracy.is_some())?;
    let accuracy = cp.cv_accuracy?;
    let trials: usize = model.trials_per_class.iter().sum();
    Some((
        cp.window_secs,
        crate::eval::chance::ChanceCheck::of_accuracy(accuracy, trials, model.targets_hz.len()),
    ))
}

/// Reads calibration recordings and fits an onset-locked TRCA model on `channels` (empty:
/// parietal and occipital channels, or all when the montage has none).
pub fn fit_recordings(
    files: &[PathBuf],
    channels: &[String],
    cfg: &TrcaFitConfig,
) -> Result<SsvepTrcaModel> {
    let mut labels: Vec<String> = Vec::new();
    let mut rate = 0.0;
    let mut data: Vec<f32> = Vec::new();
    let mut trials: Vec<(usize, usize)> = Vec::new();
    let mut freqs: Vec<Option<f64>> = Vec::new();
    for f in files {
        let r = neuroloop_formats::read_recording(f).map_err(|source| {
            OfflineError::ReadCalibration {
                path: f.clone(),
                source: Box::new(source),
            }
        })?;
        let fs = r.common_sample_rate_hz().ok_or_else(|| {
            OfflineError::data(format!("{}: channels of different rates", f.display()))
        })?;
        let these: Vec<String> = r.channels.iter().map(|c| c.label.clone()).collect();
        if labels.is_empty() {
            labels = these;
            rate = fs;
        } else if these != labels || (fs - rate).abs() > 1e-9 {
            return Err(OfflineError::data(format!(
                "{} has other channels or another rate than the first recording: calibrate with one montage",
                f.display()
            )));
        }
        let width = labels.len();
        let frames = r.data.first().map_or(0, Vec::len);
        let mut chunk: Vec<f32> = (0..frames)
            .flat_map(|i| r.data.iter().map(move |ch| ch[i] as f32))
            .collect();
        FrontEnd::default().apply_offline(&mut chunk, width, fs)?;
        let offset = data.len() / width.max(1);
        for (onset_s, k, freq) in onset_trials(&r.annotations) {
            if freqs.len() <= k {
                freqs.resize(k + 1, None);
            }
            freqs[k] = Some(freq);
            trials.push((offset + (onset_s * fs).round() as usize, k));
        }
        data.append(&mut chunk);
    }
    if trials.is_empty() {
        return Err(OfflineError::data(
            "the recordings hold no flicker onsets (the speller's cue and stim-on markers, or the simulator's SSVEP ground truth): record a cued speller session, or a simulated SSVEP session, and fit on that recording",
        ));
    }
    let targets_hz: Vec<f64> = freqs
        .iter()
        .enumerate()
        .map(|(k, f)| {
            f.ok_or_else(|| {
                OfflineError::data(format!(
                    "target {k} was never cued: cue every target at least twice"
                ))
            })
        })
        .collect::<Result<_>>()?;
    let picks = neuroloop_decoders::ssvep::decoder::ssvep_channels(channels, &labels)?;
    let source = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(SsvepTrcaModel::fit(
        &data,
        &labels,
        rate,
        &picks,
        &trials,
        &targets_hz,
        cfg,
        &source,
    )?)
}
