//! Motor-imagery evaluation on EEGMMIDB (PhysioNet EEG Motor Movement/Imagery Database).
//!
//! `neuroloop eval mi --eegmmidb DIR` cross-validates the motor-imagery methods on one
//! subject's imagined left- versus right-fist runs and prints them beside the numbers that
//! `scripts/reference/mi_eegmmidb.py` computes with MNE, pyRiemann and scikit-learn on the
//! same protocol:
//!
//! - runs R04, R08 and R12 (`*R04.edf`, ... in DIR), 160 Hz; trials are the T1 (left) and T2
//!   (right) annotations in file order; T0 (rest) is left out, so chance is 1/2;
//! - the 21 sensorimotor channels FC5..FC6, C5..C6, CP5..CP6;
//! - each continuous run is band-passed causally (Butterworth 8-30 Hz, order 4; the same
//!   filter the online decoder runs), then the window `[cue + 0.5 s, cue + 2.5 s)` is cut;
//! - 5 stratified folds, deterministic: the i-th trial of each class goes to fold i mod 5;
//! - accuracy over all held-out predictions and Cohen's kappa of the pooled confusion.

use std::path::{Path, PathBuf};

use neuroloop_decoders::mi::decoder::protocol_filters;
use neuroloop_decoders::mi::model::{MiProtocol, TrainingInfo};
use neuroloop_decoders::mi::{MiMethod, MiModel, MiPredictor};
use neuroloop_decoders::step::channel_indices;
use neuroloop_dsp::window::epochs_channel_major;
use neuroloop_formats::Recording;
use serde::Serialize;

use super::{create_dump_folder, dump_index_json, write_file};
use crate::error::{OfflineError, Result};

/// The imagined left/right fist runs.
pub const EEGMMIDB_RUNS: [&str; 3] = ["R04", "R08", "R12"];
/// Sampling rate of EEGMMIDB.
pub const EEGMMIDB_RATE_HZ: f64 = 160.0;
/// The sensorimotor channels the protocol uses.
pub const SENSORIMOTOR_CHANNELS: [&str; 21] = [
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6", "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6",
];
/// Where windows start after the cue.
pub const CUE_OFFSET_SECS: f64 = 0.5;
/// Cross-validation folds.
pub const FOLDS: usize = 5;
/// The reference results computed by `scripts/reference/mi_eegmmidb.py`.
pub const EEGMMIDB_REFERENCE_JSON: &str =
    include_str!("../../reference/mi_eegmmidb_reference.json");

/// Labelled trials cut from recordings, ready to fit or evaluate.
#[derive(Debug, Clone)]
pub struct MiTrials {
    /// Preprocessing the trials went through (and a fitted model will apply online).
    pub protocol: MiProtocol,
    /// Class names, in label order.
    pub class_names: Vec<String>,
    /// Channel-major windows (`channels × window_frames`; with a filter bank, the bands one
    /// after another: `bands × channels × window_frames`).
    pub trials: Vec<Vec<f32>>,
    /// Class index of each trial.
    pub labels: Vec<usize>,
    /// Where they came from.
    pub source: String,
}

/// The continuous signal a model sees: `protocol`'s channels picked from `recording`,
/// converted to `f32` as a replay does, and band-passed causally from the first sample with
/// the decoder's own filter. Returns interleaved frames.
pub fn protocol_signal(recording: &Recording, protocol: &MiProtocol) -> Result<Vec<f32>> {
    let labels: Vec<String> = recording.channels.iter().map(|c| c.label.clone()).collect();
    let picks = channel_indices(&protocol.channels, &labels)?;
    let fs = recording.channels[picks[0]].sample_rate_hz;
    if (fs - protocol.sample_rate_hz).abs() > 1e-6 * fs {
        return Err(OfflineError::data(format!(
            "the recording is sampled at {fs} Hz but the trials are cut at {} Hz (the first recording's rate, or the model's): give recordings of that one rate (resample this one, or leave it out)",
            protocol.sample_rate_hz
        )));
    }
    let frames = picks
        .iter()
        .map(|&c| recording.data[c].len())
        .min()
        .unwrap_or(0);
    let n = picks.len();
    let mut data = Vec::with_capacity(frames * n);
    for i in 0..frames {
        data.extend(picks.iter().map(|&c| recording.data[c][i] as f32));
    }
    const BLOCK: usize = 256;
    let filters = protocol_filters(protocol);
    let rows = n * filters.len();
    let mut out = vec![0.0f32; frames * rows];
    for (b, mut filter) in filters.into_iter().enumerate() {
        filter.prepare(fs, n, BLOCK)?;
        let mut band = data.clone();
        for block in band.chunks_mut(BLOCK * n) {
            filter.process_interleaved(block);
        }
        for (frame, values) in out.chunks_exact_mut(rows).zip(band.chunks_exact(n)) {
            frame[b * n..(b + 1) * n].copy_from_slice(values);
        }
    }
    Ok(out)
}

/// Cuts trials from a continuous recording ([`protocol_signal`]): the window
/// `[cue + offset, cue + offset + window)` after every annotation that `cue_class` maps to a
/// class index. Cues too close to the end are skipped.
pub fn cut_trials(
    recording: &Recording,
    protocol: &MiProtocol,
    cue_class: &dyn Fn(&str) -> Option<usize>,
    cue_offset_secs: f64,
    out: &mut MiTrials,
) -> Result<()> {
    let data = protocol_signal(recording, protocol)?;
    let n = protocol.window_rows();
    let frames = data.len() / n;
    let fs = protocol.sample_rate_hz;
    let len = protocol.window_frames();
    let offset = (cue_offset_secs * fs).round() as usize;
    let (starts, classes): (Vec<usize>, Vec<usize>) = recording
        .annotations
        .iter()
        .filter_map(|a| {
            let class = cue_class(&a.label)?;
            let start = (a.onset_s * fs).round() as usize + offset;
            (start + len <= frames).then_some((start, class))
        })
        .unzip();
    let epochs = epochs_channel_major(&data, n, &starts, 0, len)?;
    out.trials
        .extend(epochs.chunks_exact(n * len).map(<[f32]>::to_vec));
    out.labels.extend(classes);
    Ok(())
}

/// Finds the file of `run` (e.g. `R04`) in `dir`: `S001R04.edf` or any `*R04.edf`.
fn run_file(dir: &Path, run: &str) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|source| OfflineError::ListFolder {
        path: dir.to_path_buf(),
        hint: "pass the folder holding S001R04.edf etc.",
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.to_ascii_uppercase().ends_with(&format!("{run}.EDF")))
        })
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        OfflineError::data(format!(
            "no EDF file of run {run} (such as S001{run}.edf) in {}: pass the EEGMMIDB subject folder",
            dir.display()
        ))
    })
}

/// Loads the imagined left/right fist trials of one EEGMMIDB subject with the protocol in
/// the module documentation.
pub fn load_eegmmidb(dir: &Path) -> Result<MiTrials> {
    load_eegmmidb_runs(dir, &EEGMMIDB_RUNS)
}

/// [`load_eegmmidb`] restricted to some of the runs (e.g. `["R04", "R08"]`).
pub fn load_eegmmidb_runs(dir: &Path, runs: &[&str]) -> Result<MiTrials> {
    load_eegmmidb_with(dir, runs, &eegmmidb_protocol(), CUE_OFFSET_SECS)
}

/// [`load_eegmmidb`] as `method` reads it (with the FBCSP filter bank for `fbcsp-lda`).
pub fn load_eegmmidb_for(dir: &Path, method: MiMethod) -> Result<MiTrials> {
    load_eegmmidb_with(
        dir,
        &EEGMMIDB_RUNS,
        &eegmmidb_protocol().for_method(method),
        CUE_OFFSET_SECS,
    )
}

/// The protocol of the module documentation: the sensorimotor channels at 160 Hz, 8-30 Hz,
/// 2-s windows.
pub fn eegmmidb_protocol() -> MiProtocol {
    MiProtocol::new(
        SENSORIMOTOR_CHANNELS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        EEGMMIDB_RATE_HZ,
    )
}

/// Left (T1) / right (T2) fist trials of some EEGMMIDB runs, cut with `protocol` from
/// `offset_secs` after each cue.
pub fn load_eegmmidb_with(
    dir: &Path,
    runs: &[&str],
    protocol: &MiProtocol,
    offset_secs: f64,
) -> Result<MiTrials> {
    let mut out = MiTrials {
        protocol: protocol.clone(),
        class_names: vec!["left_hand".into(), "right_hand".into()],
        trials: Vec::new(),
        labels: Vec::new(),
        source: String::new(),
    };
    let cue_class = |label: &str| match label {
        "T1" => Some(0),
        "T2" => Some(1),
        _ => None,
    };
    let mut names = Vec::new();
    for &run in runs {
        let path = run_file(dir, run)?;
        let recording = neuroloop_formats::read_recording(&path).map_err(|source| {
            OfflineError::ReadRecording {
                path: path.clone(),
                source: Box::new(source),
            }
        })?;
        let protocol = out.protocol.clone();
        cut_trials(&recording, &protocol, &cue_class, offset_secs, &mut out).map_err(|e| {
            OfflineError::CutTrials {
                path: path.clone(),
                source: Box::new(e),
            }
        })?;
        names.push(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
    }
    out.source = format!("EEGMMIDB {}", names.join(", "));
    Ok(out)
}

/// The executed left/right fist runs: the movements the imagery runs imagine, performed.
pub const EEGMMIDB_EXECUTED_RUNS: [&str; 3] = ["R03", "R07", "R11"];

/// Band the neural decoder's input is filtered to (wider than the classical 8-30 Hz: the
/// network learns its own spectral filters).
pub const NET_BAND_HZ: (f64, f64) = (4.0, 40.0);

/// Length of the training windows in a feature dump (the trainer crops 2-s windows from them).
pub const NET_TRAIN_SECS: f64 = 4.0;

/// One set of trials in a feature dump.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DumpedSet {
    /// `train`, `train_imagined` or `test`.
    pub name: String,
    /// The runs cut.
    pub runs: Vec<String>,
    /// File in the dump folder.
    pub file: String,
    /// Window start after the cue.
    pub offset_secs: f64,
    /// Samples per channel and trial.
    pub samples: usize,
    /// Class index of each trial.
    pub labels: Vec<usize>,
}

/// The index of a motor-imagery feature dump (`index.json`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct MiFeatureDump {
    /// Channels, rate, band and the model's window.
    pub protocol: MiProtocol,
    /// Where the model's window starts after the cue.
    pub cue_offset_secs: f64,
    /// Class names, in label order.
    pub class_names: Vec<String>,
    /// Layout of the files.
    pub layout: String,
    /// Training (executed runs, long windows), training from imagery (imagined runs, long
    /// windows) and test (imagined runs, the model's windows).
    pub sets: Vec<DumpedSet>,
}

/// Writes what the neural motor-imagery decoder's trainer needs to `out`: the executed and the
/// imagined runs' trials from the cue for [`NET_TRAIN_SECS`] (`train.f32`,
/// `train_imagined.f32`) and the imagined runs' trials exactly as evaluation and the online
/// decoder see them (`test.f32`), all cut from the
/// continuous runs band-passed causally to [`NET_BAND_HZ`] with the decoder's own filter,
/// with `index.json`.
pub fn dump_net_features(dir: &Path, out: &Path) -> Result<MiFeatureDump> {
    create_dump_folder(out)?;
    let protocol = MiProtocol {
        band_hz: NET_BAND_HZ,
        ..eegmmidb_protocol()
    };
    let mut sets = Vec::new();
    for (name, runs, offset, secs) in [
        ("train", &EEGMMIDB_EXECUTED_RUNS, 0.0, NET_TRAIN_SECS),
        ("train_imagined", &EEGMMIDB_RUNS, 0.0, NET_TRAIN_SECS),
        (
            "test",
            &EEGMMIDB_RUNS,
            CUE_OFFSET_SECS,
            protocol.window_secs,
        ),
    ] {
        let cut = MiProtocol {
            window_secs: secs,
            ..protocol.clone()
        };
        let trials = load_eegmmidb_with(dir, runs, &cut, offset)?;
        let mut bytes = Vec::new();
        for t in &trials.trials {
            for v in t {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
        }
        let file = format!("{name}.f32");
        write_file(&out.join(&file), &bytes)?;
        sets.push(DumpedSet {
            name: name.to_string(),
            runs: runs.iter().map(|r| r.to_string()).collect(),
            file,
            offset_secs: offset,
            samples: cut.window_frames(),
            labels: trials.labels,
        });
    }
    let dump = MiFeatureDump {
        protocol,
        cue_offset_secs: CUE_OFFSET_SECS,
        class_names: vec!["left_hand".into(), "right_hand".into()],
        layout: "f32 little-endian; trials one after another, each channel-major (channels x samples), in µV".into(),
        sets,
    };
    write_file(&out.join("index.json"), dump_index_json(&dump)?.as_bytes())?;
    Ok(dump)
}

/// Trials as every method of a set reads them, each cut once: single-band, and the filter bank
/// when one of the methods needs it.
pub struct MethodTrials {
    /// Single-band trials (every method but the filter-bank ones).
    pub single: MiTrials,
    /// Filter-bank trials, when a method needs them.
    pub bank: Option<MiTrials>,
}

impl MethodTrials {
    /// Cuts the trials `methods` need: `cut(None)` the single-band ones, then, if a method
    /// needs a filter bank, `cut(Some(protocol))` with the single-band protocol turned into
    /// that method's ([`MiProtocol::for_method`]).
    pub fn cut(
        methods: &[MiMethod],
        mut cut: impl FnMut(Option<&MiProtocol>) -> Result<MiTrials>,
    ) -> Result<MethodTrials> {
        let single = cut(None)?;
        let bank = match methods.iter().find(|m| m.uses_filter_bank()) {
            Some(&m) => Some(cut(Some(&single.protocol.for_method(m)))?),
            None => None,
        };
        Ok(MethodTrials { single, bank })
    }

    /// The trials `method` reads.
    pub fn for_method(&self, method: MiMethod) -> &MiTrials {
        match (&self.bank, method.uses_filter_bank()) {
            (Some(b), true) => b,
            _ => &self.single,
        }
    }
}

/// Index of the largest probability (the first of equal ones).
fn argmax(proba: &[f64]) -> usize {
    (0..proba.len())
        .rev()
        .max_by(|&a, &b| proba[a].total_cmp(&proba[b]))
        .unwrap_or(0)
}

/// Fold of every trial: the i-th trial of each class goes to fold `i mod folds`.
pub fn stratified_folds(labels: &[usize], folds: usize) -> Vec<usize> {
    let classes = labels.iter().copied().max().map_or(0, |m| m + 1);
    let mut seen = vec![0usize; classes];
    labels
        .iter()
        .map(|&y| {
            let f = seen[y] % folds;
            seen[y] += 1;
            f
        })
        .collect()
}

/// Cohen's kappa of predictions against labels.
pub fn cohen_kappa(labels: &[usize], predictions: &[usize]) -> f64 {
    let k = labels
        .iter()
        .chain(predictions)
        .copied()
        .max()
        .map_or(0, |m| m + 1);
    let mut m = vec![vec![0.0f64; k]; k];
    for (&a, &b) in labels.iter().zip(predictions) {
        m[a][b] += 1.0;
    }
    let n = labels.len() as f64;
    let po = (0..k).map(|i| m[i][i]).sum::<f64>() / n;
    let pe = (0..k)
        .map(|i| m[i].iter().sum::<f64>() * (0..k).map(|j| m[j][i]).sum::<f64>())
        .sum::<f64>()
        / (n * n);
    if pe >= 1.0 {
        0.0
    } else {
        (po - pe) / (1.0 - pe)
    }
}

/// Held-out score of one fold.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct FoldScore {
    /// Correct predictions.
    pub correct: usize,
    /// Held-out trials.
    pub trials: usize,
}

/// Cross-validated result of one method.
#[derive(Debug, Clone, Serialize)]
pub struct MiEval {
    /// The method.
    pub method: MiMethod,
    /// Fraction of held-out trials classified correctly.
    pub accuracy: f64,
    /// Cohen's kappa of the pooled held-out predictions.
    pub kappa: f64,
    /// Per-fold scores.
    pub folds: Vec<FoldScore>,
    /// Held-out prediction of every trial.
    pub predictions: Vec<usize>,
}

/// Cross-validates `method` on `data` with [`FOLDS`] stratified folds: fit on the other
/// folds, predict the held-out one with the same allocation-free predictor as online.
pub fn evaluate_mi(data: &MiTrials, method: MiMethod) -> Result<MiEval> {
    let fold = stratified_folds(&data.labels, FOLDS);
    let mut predictions = vec![0usize; data.labels.len()];
    let mut folds = Vec::with_capacity(FOLDS);
    for f in 0..FOLDS {
        let (train, test) = split(&fold, f);
        let predicted = fit_predict(data, method, &train, &test).map_err(|e| match e {
            OfflineError::Mi(source) => OfflineError::FitFold {
                method,
                fold: f,
                source,
            },
            e => e,
        })?;
        folds.push(score_into(
            &mut predictions,
            &data.labels,
            &test,
            &predicted,
        ));
    }
    Ok(MiEval {
        method,
        accuracy: accuracy(&data.labels, &predictions),
        kappa: cohen_kappa(&data.labels, &predictions),
        folds,
        predictions,
    })
}

/// The trials outside fold `f` and those in it.
pub(crate) fn split(fold: &[usize], f: usize) -> (Vec<usize>, Vec<usize>) {
    (0..fold.len()).partition(|&i| fold[i] != f)
}

/// Writes `predicted` (for the trials `test`) into `predictions` and counts the hits.
pub(crate) fn score_into(
    predictions: &mut [usize],
    labels: &[usize],
    test: &[usize],
    predicted: &[usize],
) -> FoldScore {
    let mut score = FoldScore {
        correct: 0,
        trials: test.len(),
    };
    for (&i, &p) in test.iter().zip(predicted) {
        predictions[i] = p;
        score.correct += usize::from(p == labels[i]);
    }
    score
}

/// Fraction of `predictions` equal to `labels`.
pub(crate) fn accuracy(labels: &[usize], predictions: &[usize]) -> f64 {
    let correct = predictions
        .iter()
        .zip(labels)
        .filter(|(p, y)| p == y)
        .count();
    correct as f64 / labels.len().max(1) as f64
}

/// Fits `method` on the trials `train` of `data` and predicts the trials `test` with the
/// same allocation-free predictor as online.
pub fn fit_predict(
    data: &MiTrials,
    method: MiMethod,
    train: &[usize],
    test: &[usize],
) -> Result<Vec<usize>> {
    Ok(fit_probabilities(data, method, train, test)?
        .iter()
        .map(|p| argmax(p))
        .collect())
}

/// [`fit_predict`] with the class probabilities of every test trial.
pub fn fit_probabilities(
    data: &MiTrials,
    method: MiMethod,
    train: &[usize],
    test: &[usize],
) -> Result<Vec<Vec<f64>>> {
    let trials: Vec<Vec<f32>> = train.iter().map(|&i| data.trials[i].clone()).collect();
    let labels: Vec<usize> = train.iter().map(|&i| data.labels[i]).collect();
    let model = MiModel::fit(
        method,
        data.protocol.clone(),
        data.class_names.clone(),
        &trials,
        &labels,
        TrainingInfo::default(),
    )?;
    probabilities(model, test.iter().map(|&i| (i, data.trials[i].as_slice())))
}

/// The most probable class of every `(index, window)` under `model`.
pub(crate) fn predict_all<'a>(
    model: MiModel,
    windows: impl Iterator<Item = (usize, &'a [f32])>,
) -> Result<Vec<usize>> {
    Ok(probabilities(model, windows)?
        .iter()
        .map(|p| argmax(p))
        .collect())
}

/// The class probabilities of every `(index, window)` under `model`.
pub(crate) fn probabilities<'a>(
    model: MiModel,
    windows: impl Iterator<Item = (usize, &'a [f32])>,
) -> Result<Vec<Vec<f64>>> {
    let mut proba = vec![0.0; model.class_names.len()];
    let mut predictor = MiPredictor::new(model)?;
    windows
        .map(|(i, w)| {
            if predictor.predict(w, &mut proba) {
                Ok(proba.clone())
            } else {
                Err(OfflineError::data(format!(
                    "trial {i} could not be classified: it is flat or holds non-finite samples"
                )))
            }
        })
        .collect()
}

/// A motor-imagery network's score on the imagined runs: it was trained on the executed
/// runs ([`EEGMMIDB_EXECUTED_RUNS`]), so every imagined trial is held out. Beside it, the
/// same transfer for CSP-LDA (fitted on the executed runs with the classical protocol).
#[derive(Debug, Clone, Serialize)]
pub struct MiNetEval {
    /// Always `onnx`.
    pub method: &'static str,
    /// The card's model name.
    pub model: String,
    /// Accuracy over the imagined trials.
    pub accuracy: f64,
    /// Cohen's kappa.
    pub kappa: f64,
    /// Predicted class of every trial.
    pub predictions: Vec<usize>,
    /// What the card says the accuracy is.
    pub card_accuracy: Option<f64>,
    /// CSP-LDA fitted on the executed runs, scored on the same imagined trials.
    pub csp_lda_transfer_accuracy: f64,
}

/// Scores `net` on the imagined runs in `dir`, cut with the network's own window.
pub fn evaluate_mi_net(
    dir: &Path,
    net: &mut neuroloop_decoders::mi::MiNet,
    card_accuracy: Option<f64>,
) -> Result<MiNetEval> {
    let cfg = net.config().clone();
    if cfg.class_names != ["left_hand", "right_hand"] {
        return Err(OfflineError::data(format!(
            "the network decodes {:?}; EEGMMIDB's runs 4/8/12 are left_hand vs right_hand: pass a left/right model card",
            cfg.class_names
        )));
    }
    let data = load_eegmmidb_with(dir, &EEGMMIDB_RUNS, &cfg.protocol(), cfg.cue_offset_secs)?;
    let mut proba = vec![0.0; cfg.class_names.len()];
    let mut predictions = Vec::with_capacity(data.trials.len());
    for (i, t) in data.trials.iter().enumerate() {
        if !net.predict(t, &mut proba) {
            return Err(OfflineError::data(format!(
                "trial {i}: the network returned no probabilities (non-finite input or output)"
            )));
        }
        predictions.push(argmax(&proba));
    }
    let correct = predictions
        .iter()
        .zip(&data.labels)
        .filter(|(p, y)| p == y)
        .count();
    // The classical transfer on the same trials.
    let executed = load_eegmmidb_runs(dir, &EEGMMIDB_EXECUTED_RUNS)?;
    let imagined = load_eegmmidb(dir)?;
    let csp = fit_all(&executed, MiMethod::CspLda, None)?;
    let mut predictor = MiPredictor::new(csp)?;
    let mut hits = 0usize;
    for (t, &y) in imagined.trials.iter().zip(&imagined.labels) {
        if predictor.predict(t, &mut proba) {
            hits += usize::from(argmax(&proba) == y);
        }
    }
    Ok(MiNetEval {
        method: "onnx",
        model: net.name().to_string(),
        accuracy: correct as f64 / data.labels.len().max(1) as f64,
        kappa: cohen_kappa(&data.labels, &predictions),
        predictions,
        card_accuracy,
        csp_lda_transfer_accuracy: hits as f64 / imagined.labels.len().max(1) as f64,
    })
}

/// The reference result of one method, from the committed reference file.
#[derive(Debug, Clone, PartialEq)]
pub struct MiReference {
    /// Accuracy.
    pub accuracy: f64,
    /// Kappa.
    pub kappa: f64,
    /// Held-out prediction of every trial.
    pub predictions: Vec<usize>,
}

/// The subjects of the reference file.
pub const REFERENCE_SUBJECTS: [&str; 3] = ["S001", "S002", "S003"];

/// The reference file's labels of `subject` (trial order, e.g. `S001`) and its result for
/// `method` on them.
pub fn reference(subject: &str, method: MiMethod) -> Option<(Vec<usize>, MiReference)> {
    static REFERENCE: std::sync::OnceLock<Option<serde_json::Value>> = std::sync::OnceLock::new();
    let v = REFERENCE
        .get_or_init(|| serde_json::from_str(EEGMMIDB_REFERENCE_JSON).ok())
        .as_ref()?;
    let list = |v: &serde_json::Value| -> Option<Vec<usize>> {
        v.as_array()?
            .iter()
            .map(|x| x.as_u64().and_then(|x| usize::try_from(x).ok()))
            .collect()
    };
    let s = &v["subjects"][subject];
    let r = &s["results"][method.name()];
    Some((
        list(&s["labels"])?,
        MiReference {
            accuracy: r["accuracy"].as_f64()?,
            kappa: r["kappa"].as_f64()?,
            predictions: list(&r["predictions"])?,
        },
    ))
}

/// Fits `method` on every trial and fills in its provenance (with `cv_accuracy` when known).
pub fn fit_all(data: &MiTrials, method: MiMethod, cv_accuracy: Option<f64>) -> Result<MiModel> {
    Ok(MiModel::fit(
        method,
        data.protocol.clone(),
        data.class_names.clone(),
        &data.trials,
        &data.labels,
        TrainingInfo {
            source: data.source.clone(),
            cue_offset_secs: CUE_OFFSET_SECS,
            cross_validated_accuracy: cv_accuracy,
            ..TrainingInfo::default()
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_are_stratified_and_deterministic() {
        let labels = [0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0];
        let f = stratified_folds(&labels, 5);
        assert_eq!(f, vec![0, 0, 1, 2, 1, 2, 3, 3, 4, 4, 0, 1]);
    }

    #[test]
    fn kappa_of_perfect_chance_and_known_case() {
        assert!((cohen_kappa(&[0, 1, 0, 1], &[0, 1, 0, 1]) - 1.0).abs() < 1e-12);
        // po = 0.5, pe = 0.5 → 0.
        assert!(cohen_kappa(&[0, 1, 0, 1], &[0, 0, 1, 1]).abs() < 1e-12);
        // Confusion [[2,1],[0,3]]: po = 5/6, pe = (3·2 + 3·4)/36 = 0.5 → 2/3.
        let k = cohen_kappa(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 1, 1]);
        assert!((k - 2.0 / 3.0).abs() < 1e-12, "{k}");
    }

    #[test]
    fn reference_file_has_every_subject_and_method() {
        for subject in REFERENCE_SUBJECTS {
            for m in MiMethod::ALL {
                let (labels, r) = reference(subject, m).unwrap();
                assert_eq!(labels.len(), r.predictions.len());
                assert!((0.3..=1.0).contains(&r.accuracy), "{m:?}: {}", r.accuracy);
            }
        }
        // S001's CSP-LDA, as REFERENCES.md lists it.
        let (_, r) = reference("S001", MiMethod::CspLda).unwrap();
        assert!((r.accuracy - 34.0 / 45.0).abs() < 1e-12);
    }
}
