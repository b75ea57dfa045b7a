//! SSVEP calibration: trials cut from recorded sessions at their flicker onsets, for
//! `neuroloop ssvep fit`.
//!
//! Onsets come from the speller's markers (`speller cue … target=K … freq_hz=F` followed by
//! `speller stim-on`), in recordings without them from the simulator's ground truth
//! (`truth/ssvep target=K freq_hz=F …`), or, in recordings made elsewhere, from the labels a
//! [`FileCues`] names (OpenViBE's start of trial `32779`, its class codes `33025` = 13 Hz …; the
//! replay reads trials the same way). The recording goes through the session's default front
//! end first, so the fit sees what the online decoder sees.

use std::path::PathBuf;

use neuroloop_acquisition::FileCues;
use neuroloop_decoders::ssvep::onset::{SsvepTrcaModel, TrcaFitConfig};

use neuroloop_dsp::front_end::FrontEnd;

use crate::error::{OfflineError, Result};

/// Flicker trials of one recording's annotations ([`FileCues::ssvep_trials`]): (onset in
/// seconds from the first sample, target, frequency). A trial whose cue names no target index
/// (a label `cues` names) takes its frequency's place among the frequencies `cues` names.
pub fn onset_trials(
    annotations: &[neuroloop_formats::Annotation],
    cues: &FileCues,
) -> Vec<(f64, usize, f64)> {
    let mut sorted: Vec<(f64, f64, &str)> = annotations
        .iter()
        .filter(|a| a.onset_s.is_finite())
        .map(|a| (a.onset_s, a.duration_s, a.label.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut named: Vec<f64> = Vec::new();
    for &(_, hz) in &cues.ssvep {
        if !named.iter().any(|&f| (f - hz).abs() < 1e-9) {
            named.push(hz);
        }
    }
    cues.ssvep_trials(&sorted)
        .into_iter()
        .zip(&sorted)
        .filter_map(|(trial, &(onset, _, _))| {
            let t = trial?;
            let k = t
                .target
                .or_else(|| named.iter().position(|&f| (f - t.freq_hz).abs() < 1e-9))?;
            Some((onset, k, t.freq_hz))
        })
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
/// parietal and occipital channels, or all when the montage has none); `cues` names the trials
/// of recordings made elsewhere.
pub fn fit_recordings(
    files: &[PathBuf],
    channels: &[String],
    cues: &FileCues,
    cfg: &TrcaFitConfig,
) -> Result<SsvepTrcaModel> {
    let mut labels: Vec<String> = Vec::new();
    let mut rate = 0.0;
    let mut data: Vec<f32> = Vec::new();
    let mut trials: Vec<(usize, usize)> = Vec::new();
    let mut freqs: Vec<Option<f64>> = Vec::new();
    let mut annotation_counts: Vec<(String, usize)> = Vec::new();
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
        super::count_labels(&mut annotation_counts, &r.annotations);
        let width = labels.len();
        let frames = r.data.first().map_or(0, Vec::len);
        let mut chunk: Vec<f32> = (0..frames)
            .flat_map(|i| r.data.iter().map(move |ch| ch[i] as f32))
            .collect();
        FrontEnd::default().apply_offline(&mut chunk, width, fs)?;
        let offset = data.len() / width.max(1);
        for (onset_s, k, freq) in onset_trials(&r.annotations, cues) {
            if freqs.len() <= k {
                freqs.resize(k + 1, None);
            }
            freqs[k] = Some(freq);
            trials.push((offset + (onset_s * fs).round() as usize, k));
        }
        data.append(&mut chunk);
    }
    if trials.is_empty() {
        return Err(OfflineError::data(format!(
            "the recordings hold no cued flicker onsets (the speller's cue and stim-on markers, or the simulator's SSVEP ground truth); their annotations: {}. For a recording made elsewhere, name the label of each onset with --onset LABEL and the target each class code cues with --cue LABEL=HZ (OpenViBE: --onset 32779 --cue 33025=13Hz …); else record a cued speller session and fit on that",
            if annotation_counts.is_empty() {
                "none".to_string()
            } else {
                neuroloop_acquisition::cues::label_listing(annotation_counts, 8)
            }
        )));
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
