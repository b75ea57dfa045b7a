//! Motor imagery over several EEGMMIDB subjects.
//!
//! - [`subject_folders`] finds the subjects: each path is a subject's folder (it holds
//!   `*R04.edf`) or a folder of subject folders.
//! - [`evaluate_auto`] is the `auto` method: in every outer fold it picks the method whose
//!   inner cross-validation on the training trials only ([`choose_method`]) scores best, fits
//!   it on them and predicts the held-out fold. The choice never sees a held-out trial.
//! - [`calibration_light`] scores a new user with few labelled trials, leave one subject
//!   out: a model fitted on the other subjects (with or without Euclidean alignment, He & Wu
//!   2019), plus the new subject's first 0, 10 or 20 labelled trials, against a model fitted on
//!   those trials alone.
//!
//! Euclidean alignment whitens each subject's signal with `R^-1/2`, `R` the arithmetic mean
//! of its trials' sample covariances, so that every subject's mean covariance becomes the
//! identity. A source subject's `R` averages all its
//! trials; a new subject's averages its first [`ALIGNMENT_TRIALS`] trial windows, whose labels
//! are not used (a user's first minutes of cued imagery, or rest), and only its later trials
//! are scored. With `k` calibration trials, the first `k` of them are also labelled.

use std::path::{Path, PathBuf};

use faer::Mat;
use neuroloop_decoders::mi::covariance::CovEstimator;
use neuroloop_decoders::mi::model::{MiProtocol, TrainingInfo};
use neuroloop_decoders::mi::spd::inv_sqrtm;
use neuroloop_decoders::mi::{MiError, MiMethod, MiModel};
use serde::Serialize;

use super::mi::{
    FOLDS, FoldScore, MethodTrials, MiTrials, accuracy, cohen_kappa, fit_predict,
    fit_probabilities, predict_all, score_into, split, stratified_folds,
};
use crate::error::{OfflineError, Result};

/// A subject's folder and its name (the file names' prefix, such as `S001`).
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// `S001` for `S001R04.edf`.
    pub name: String,
    /// The folder of its EDF files.
    pub dir: PathBuf,
}

/// The name of the subject whose run 4 is in `dir`, if it holds one.
fn subject_in(dir: &Path) -> Option<Subject> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            let upper = n.to_ascii_uppercase();
            upper
                .strip_suffix("R04.EDF")
                .map(|prefix| n[..prefix.len()].to_string())
        })
        .collect();
    names.sort();
    let name = names.into_iter().next()?;
    let name = if name.is_empty() {
        dir.file_name()?.to_string_lossy().into_owned()
    } else {
        name
    };
    Some(Subject {
        name,
        dir: dir.to_path_buf(),
    })
}

/// The subjects in `paths`: each a subject's folder (holding `S001R04.edf` etc.) or a folder
/// whose sub-folders are subjects' folders, in name order. A subject named twice is kept once.
pub fn subject_folders(paths: &[PathBuf]) -> Result<Vec<Subject>> {
    let mut subjects = Vec::new();
    for path in paths {
        if let Some(s) = subject_in(path) {
            subjects.push(s);
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|source| OfflineError::ListFolder {
            path: path.clone(),
            hint: "pass an EEGMMIDB subject's folder (S001R04.edf, ...) or a folder of them",
            source,
        })?;
        let mut found: Vec<Subject> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .filter_map(|p| subject_in(&p))
            .collect();
        if found.is_empty() {
            return Err(OfflineError::data(format!(
                "{} holds no EEGMMIDB subject: pass a folder with S001R04.edf, S001R08.edf and S001R12.edf, or a folder of such folders",
                path.display()
            )));
        }
        subjects.append(&mut found);
    }
    subjects.sort_by(|a, b| a.name.cmp(&b.name));
    subjects.dedup_by(|a, b| a.name == b.name);
    Ok(subjects)
}

/// The `auto` method's cross-validated result on one subject.
#[derive(Debug, Clone, Serialize)]
pub struct AutoEval {
    /// Fraction of held-out trials classified correctly.
    pub accuracy: f64,
    /// Cohen's kappa of the pooled held-out predictions.
    pub kappa: f64,
    /// Per-fold scores.
    pub folds: Vec<FoldScore>,
    /// The method chosen in each outer fold (by the inner cross-validation).
    pub chosen: Vec<MiMethod>,
    /// Held-out prediction of every trial.
    pub predictions: Vec<usize>,
}

/// Times the inner cross-validation of `auto` is repeated, each on the training trials
/// rotated by a third of their number (so that every repeat splits them differently).
pub const INNER_REPEATS: usize = 3;

/// The candidate whose inner cross-validation on the trials `train` gives the held-out
/// trials' true classes the highest mean probability ([`INNER_REPEATS`] × [`FOLDS`]
/// stratified inner folds; the first of equal ones). The mean probability varies less from
/// one split to the next than the count of hits does, which on a few dozen trials is what
/// decides between methods a few points apart.
pub fn choose_method(
    trials: &MethodTrials,
    candidates: &[MiMethod],
    train: &[usize],
) -> Result<MiMethod> {
    let mut best: Option<(f64, MiMethod)> = None;
    for &method in candidates {
        let data = trials.for_method(method);
        let mut total = 0.0;
        for r in 0..INNER_REPEATS {
            let shift = r * train.len() / INNER_REPEATS;
            let order: Vec<usize> = (0..train.len())
                .map(|i| train[(i + shift) % train.len()])
                .collect();
            let labels: Vec<usize> = order.iter().map(|&i| data.labels[i]).collect();
            let inner = stratified_folds(&labels, FOLDS);
            for f in 0..FOLDS {
                let (fit, held) = split(&inner, f);
                let fit: Vec<usize> = fit.iter().map(|&i| order[i]).collect();
                let held: Vec<usize> = held.iter().map(|&i| order[i]).collect();
                let proba = fit_probabilities(data, method, &fit, &held)?;
                total += held
                    .iter()
                    .zip(&proba)
                    .map(|(&i, p)| p[data.labels[i]])
                    .sum::<f64>();
            }
        }
        if best.is_none_or(|(b, _)| total > b) {
            best = Some((total, method));
        }
    }
    best.map(|(_, m)| m)
        .ok_or_else(|| OfflineError::data("no candidate method for auto".to_string()))
}

/// Nested cross-validation of the `auto` method over `candidates` (cut in `trials`): the same
/// outer folds as every single method, the choice made inside each outer training set.
pub fn evaluate_auto(trials: &MethodTrials, candidates: &[MiMethod]) -> Result<AutoEval> {
    let labels = &trials.single.labels;
    let fold = stratified_folds(labels, FOLDS);
    let mut predictions = vec![0usize; labels.len()];
    let mut folds = Vec::with_capacity(FOLDS);
    let mut chosen = Vec::with_capacity(FOLDS);
    for f in 0..FOLDS {
        let (train, test) = split(&fold, f);
        let method = choose_method(trials, candidates, &train)?;
        let predicted = fit_predict(trials.for_method(method), method, &train, &test)?;
        folds.push(score_into(&mut predictions, labels, &test, &predicted));
        chosen.push(method);
    }
    Ok(AutoEval {
        accuracy: accuracy(labels, &predictions),
        kappa: cohen_kappa(labels, &predictions),
        folds,
        chosen,
        predictions,
    })
}

/// The pyRiemann/scikit-learn result on the same trials, beside a row.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReferenceScore {
    /// Its accuracy.
    pub accuracy: f64,
    /// Its kappa.
    pub kappa: f64,
    /// Trials this implementation predicts as it does.
    pub same_predictions: usize,
}

/// One method's score on one subject (a row of the table).
#[derive(Debug, Clone, Serialize)]
pub struct MiScoreRow {
    /// `S001`.
    pub subject: String,
    /// `csp-lda`, ..., `auto`, or `onnx` for a network.
    pub method: String,
    /// Accuracy over the held-out predictions.
    pub accuracy: f64,
    /// Cohen's kappa of the pooled held-out predictions.
    pub kappa: f64,
    /// Trials predicted.
    pub trials: usize,
    /// Held-out prediction of every trial, in file order.
    pub predictions: Vec<usize>,
    /// `auto`: the method chosen in each outer fold.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chosen: Vec<MiMethod>,
    /// The reference implementation on the same trials, when it has this subject and method.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceScore>,
    /// A network: its card's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// A network: the held-out accuracy its card claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card_accuracy: Option<f64>,
    /// A network: whether this subject's runs are among the recordings its card lists as
    /// influencing it (then this row is in-sample, not an estimate for a new user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub influenced: Option<bool>,
    /// A network: CSP-LDA fitted the same way (executed runs), on the same trials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csp_lda_transfer_accuracy: Option<f64>,
}

impl MiScoreRow {
    fn new(subject: &str, method: &str, labels: &[usize], predictions: Vec<usize>) -> MiScoreRow {
        MiScoreRow {
            subject: subject.to_string(),
            method: method.to_string(),
            accuracy: accuracy(labels, &predictions),
            kappa: cohen_kappa(labels, &predictions),
            trials: labels.len(),
            predictions,
            chosen: Vec::new(),
            reference: None,
            model: None,
            card_accuracy: None,
            influenced: None,
            csp_lda_transfer_accuracy: None,
        }
    }

    /// The row of a network's score on `subject` ([`super::mi::evaluate_mi_net`]).
    pub fn of_network(subject: &str, net: super::mi::MiNetEval) -> MiScoreRow {
        MiScoreRow {
            subject: subject.to_string(),
            method: net.method.to_string(),
            accuracy: net.accuracy,
            kappa: net.kappa,
            trials: net.predictions.len(),
            predictions: net.predictions,
            chosen: Vec::new(),
            reference: None,
            model: Some(net.model),
            card_accuracy: net.card_accuracy,
            influenced: None,
            csp_lda_transfer_accuracy: Some(net.csp_lda_transfer_accuracy),
        }
    }
}

/// A subject's trials cut for `methods` (and every method when `auto` is asked for).
pub fn load_subject(subject: &Subject, methods: &[MiMethod], auto: bool) -> Result<MethodTrials> {
    let needed: &[MiMethod] = if auto { &MiMethod::ALL } else { methods };
    MethodTrials::cut(needed, |bank| match bank {
        None => super::mi::load_eegmmidb(&subject.dir),
        Some(protocol) => super::mi::load_eegmmidb_with(
            &subject.dir,
            &super::mi::EEGMMIDB_RUNS,
            protocol,
            super::mi::CUE_OFFSET_SECS,
        ),
    })
}

/// Every method in `methods` cross-validated on `subject`'s `trials`, then `auto` (nested,
/// over every method) when asked for, each beside the reference when it has the subject.
pub fn score_subject(
    subject: &Subject,
    trials: &MethodTrials,
    methods: &[MiMethod],
    auto: bool,
) -> Result<Vec<MiScoreRow>> {
    let labels = &trials.single.labels;
    let mut rows = Vec::new();
    for &method in methods {
        let r = super::mi::evaluate_mi(trials.for_method(method), method)?;
        let mut row = MiScoreRow::new(&subject.name, method.name(), labels, r.predictions);
        row.reference = super::mi::reference(&subject.name, method)
            .filter(|(l, _)| l == labels)
            .map(|(_, rf)| ReferenceScore {
                accuracy: rf.accuracy,
                kappa: rf.kappa,
                same_predictions: rf
                    .predictions
                    .iter()
                    .zip(&row.predictions)
                    .filter(|(a, b)| a == b)
                    .count(),
            });
        rows.push(row);
    }
    if auto {
        let a = evaluate_auto(trials, &MiMethod::ALL)?;
        let mut row = MiScoreRow::new(&subject.name, AUTO, labels, a.predictions);
        row.chosen = a.chosen;
        rows.push(row);
    }
    Ok(rows)
}

/// The name of the `auto` method in tables.
pub const AUTO: &str = "auto";

/// One method's mean over the subjects.
#[derive(Debug, Clone, Serialize)]
pub struct MeanRow {
    /// The method.
    pub method: String,
    /// Subjects averaged.
    pub subjects: usize,
    /// Mean accuracy.
    pub accuracy: f64,
    /// Mean kappa.
    pub kappa: f64,
    /// The reference's mean accuracy over the same subjects, when it has them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference_accuracy: Option<f64>,
}

/// Mean accuracy and kappa of every method over the subjects, in the rows' method order.
pub fn means(rows: &[MiScoreRow]) -> Vec<MeanRow> {
    let mut methods: Vec<&str> = Vec::new();
    for r in rows {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    methods
        .into_iter()
        .map(|m| {
            let of: Vec<&MiScoreRow> = rows.iter().filter(|r| r.method == m).collect();
            let n = of.len() as f64;
            let references: Option<Vec<f64>> = of
                .iter()
                .map(|r| r.reference.as_ref().map(|x| x.accuracy))
                .collect();
            MeanRow {
                method: m.to_string(),
                subjects: of.len(),
                accuracy: of.iter().map(|r| r.accuracy).sum::<f64>() / n,
                kappa: of.iter().map(|r| r.kappa).sum::<f64>() / n,
                reference_accuracy: references.map(|v| v.iter().sum::<f64>() / n),
            }
        })
        .collect()
}

/// Trial windows of a new subject whose covariances set its alignment.
pub const ALIGNMENT_TRIALS: usize = 20;
/// Labelled trials of a new subject the calibration-light evaluation gives each model.
pub const CALIBRATION_TRIALS: [usize; 3] = [0, 10, 20];
/// Methods of the calibration-light evaluation (single band: the alignment is one spatial
/// whitening).
pub const TRANSFER_METHODS: [MiMethod; 3] = [MiMethod::CspLda, MiMethod::TsLr, MiMethod::Mdm];

/// What a calibration-light model is fitted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Training {
    /// The new subject's calibration trials alone.
    SubjectOnly,
    /// The other subjects' trials as recorded, plus the calibration trials.
    OtherSubjects,
    /// The other subjects' trials and the new subject's, each subject aligned.
    OtherSubjectsAligned,
}

impl Training {
    /// Every kind, in table order.
    pub const ALL: [Training; 3] = [
        Training::SubjectOnly,
        Training::OtherSubjects,
        Training::OtherSubjectsAligned,
    ];

    /// As printed.
    pub fn label(self) -> &'static str {
        match self {
            Training::SubjectOnly => "new subject only",
            Training::OtherSubjects => "other subjects",
            Training::OtherSubjectsAligned => "other subjects, aligned",
        }
    }
}

/// One new subject's score for one method, training and number of calibration trials.
#[derive(Debug, Clone, Serialize)]
pub struct TransferScore {
    /// The new subject.
    pub subject: String,
    /// The classifier.
    pub method: MiMethod,
    /// What it was fitted on.
    pub training: Training,
    /// Labelled trials of the new subject used (its first ones).
    pub calibration_trials: usize,
    /// Trials scored (the new subject's trials after the first [`ALIGNMENT_TRIALS`]).
    pub test_trials: usize,
    /// Accuracy on them, when the model could be fitted.
    pub accuracy: Option<f64>,
    /// Cohen's kappa on them.
    pub kappa: Option<f64>,
    /// Why there is no score (too few trials of a class, for example).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_fitted: Option<String>,
}

/// Mean calibration-light accuracy of one method, training and number of calibration trials
/// over the new subjects.
#[derive(Debug, Clone, Serialize)]
pub struct TransferMean {
    /// The classifier.
    pub method: MiMethod,
    /// What it was fitted on.
    pub training: Training,
    /// Labelled trials of each new subject.
    pub calibration_trials: usize,
    /// Subjects with a score.
    pub subjects: usize,
    /// Their mean accuracy (`None` when no subject has one).
    pub accuracy: Option<f64>,
}

/// [`TransferMean`] of every method, training and `k` in `scores`, in their order.
pub fn transfer_means(scores: &[TransferScore]) -> Vec<TransferMean> {
    let mut keys: Vec<(MiMethod, Training, usize)> = Vec::new();
    for s in scores {
        let key = (s.method, s.training, s.calibration_trials);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(method, training, k)| {
            let accuracies: Vec<f64> = scores
                .iter()
                .filter(|s| (s.method, s.training, s.calibration_trials) == (method, training, k))
                .filter_map(|s| s.accuracy)
                .collect();
            TransferMean {
                method,
                training,
                calibration_trials: k,
                subjects: accuracies.len(),
                accuracy: (!accuracies.is_empty())
                    .then(|| accuracies.iter().sum::<f64>() / accuracies.len() as f64),
            }
        })
        .collect()
}

/// `R^-1/2`, `R` the mean sample covariance (mean removed, divided by the window length) of
/// `windows` (channel-major, `protocol`'s shape): the spatial filter after which their mean
/// sample covariance is the identity.
pub fn alignment_matrix(protocol: &MiProtocol, windows: &[Vec<f32>]) -> Result<Mat<f64>> {
    let n = protocol.channels.len();
    let len = protocol.window_frames();
    let mut est = CovEstimator::new(n, len);
    let mut sum = Mat::<f64>::zeros(n, n);
    let mut cov = Mat::<f64>::zeros(n, n);
    for (index, w) in windows.iter().enumerate() {
        if w.len() != n * len {
            return Err(MiError::TrialShape {
                index,
                len: w.len(),
                expected: n * len,
            }
            .into());
        }
        est.sample_covariance(w, cov.as_mut());
        sum += &cov;
    }
    let mean = sum * faer::Scale(1.0 / windows.len().max(1) as f64);
    Ok(inv_sqrtm(
        mean.as_ref(),
        "the mean covariance of a subject's trials (are its channels flat or identical?)",
    )?)
}

/// `w · window` for a channel-major window of `channels` rows.
pub fn align_window(w: &Mat<f64>, window: &[f32]) -> Vec<f32> {
    let n = w.nrows();
    let len = window.len() / n;
    let mut out = vec![0.0f32; window.len()];
    for i in 0..n {
        let row = &mut out[i * len..(i + 1) * len];
        let mut acc = vec![0.0f64; len];
        for j in 0..n {
            let wij = w[(i, j)];
            for (a, &x) in acc.iter_mut().zip(&window[j * len..(j + 1) * len]) {
                *a += wij * f64::from(x);
            }
        }
        for (o, a) in row.iter_mut().zip(acc) {
            *o = a as f32;
        }
    }
    out
}

/// A subject's trials, and the same trials aligned.
struct Prepared<'a> {
    name: &'a str,
    trials: &'a MiTrials,
    aligned: Vec<Vec<f32>>,
}

/// Calibration-light scores of every subject in `subjects` (single-band trials, the same
/// protocol and classes), leave one subject out, for [`TRANSFER_METHODS`],
/// [`Training::ALL`] and [`CALIBRATION_TRIALS`].
pub fn calibration_light(subjects: &[(String, MiTrials)]) -> Result<Vec<TransferScore>> {
    if subjects.len() < 2 {
        return Err(OfflineError::data(
            "leave one subject out needs at least two subjects: pass more subject folders"
                .to_string(),
        ));
    }
    let mut prepared = Vec::with_capacity(subjects.len());
    for (name, trials) in subjects {
        if trials.labels.len() <= ALIGNMENT_TRIALS {
            return Err(OfflineError::data(format!(
                "{name} has {} trials; calibration-light scoring needs more than {ALIGNMENT_TRIALS}",
                trials.labels.len()
            )));
        }
        prepared.push(Prepared {
            name,
            trials,
            aligned: Vec::new(),
        });
    }
    let mut scores = Vec::new();
    for t in 0..prepared.len() {
        // Sources align on all their trials; the new subject on its first trials only.
        for (s, p) in prepared.iter_mut().enumerate() {
            let basis = if s == t {
                &p.trials.trials[..ALIGNMENT_TRIALS]
            } else {
                &p.trials.trials[..]
            };
            let w = alignment_matrix(&p.trials.protocol, basis)?;
            p.aligned = p
                .trials
                .trials
                .iter()
                .map(|x| align_window(&w, x))
                .collect();
        }
        for method in TRANSFER_METHODS {
            for training in Training::ALL {
                for k in CALIBRATION_TRIALS {
                    if training == Training::SubjectOnly && k == 0 {
                        continue;
                    }
                    scores.push(transfer_score(&prepared, t, method, training, k));
                }
            }
        }
    }
    Ok(scores)
}

/// Fits one calibration-light model for new subject `t` and scores it.
fn transfer_score(
    subjects: &[Prepared<'_>],
    t: usize,
    method: MiMethod,
    training: Training,
    k: usize,
) -> TransferScore {
    let target = &subjects[t];
    let aligned = training == Training::OtherSubjectsAligned;
    let windows = |p: &'_ Prepared<'_>| -> Vec<Vec<f32>> {
        if aligned {
            p.aligned.clone()
        } else {
            p.trials.trials.clone()
        }
    };
    let mut trials = Vec::new();
    let mut labels = Vec::new();
    if training != Training::SubjectOnly {
        for (_, p) in subjects.iter().enumerate().filter(|&(s, _)| s != t) {
            trials.extend(windows(p));
            labels.extend_from_slice(&p.trials.labels);
        }
    }
    let own = windows(target);
    trials.extend(own[..k].iter().cloned());
    labels.extend_from_slice(&target.trials.labels[..k]);
    let test: Vec<usize> = (ALIGNMENT_TRIALS..target.trials.labels.len()).collect();
    let mut score = TransferScore {
        subject: target.name.to_string(),
        method,
        training,
        calibration_trials: k,
        test_trials: test.len(),
        accuracy: None,
        kappa: None,
        not_fitted: None,
    };
    let fitted = MiModel::fit(
        method,
        target.trials.protocol.clone(),
        target.trials.class_names.clone(),
        &trials,
        &labels,
        TrainingInfo::default(),
    )
    .map_err(OfflineError::from)
    .and_then(|model| predict_all(model, test.iter().map(|&i| (i, own[i].as_slice()))));
    match fitted {
        Ok(predicted) => {
            let truth: Vec<usize> = test.iter().map(|&i| target.trials.labels[i]).collect();
            score.accuracy = Some(accuracy(&truth, &predicted));
            score.kappa = Some(cohen_kappa(&truth, &predicted));
        }
        Err(e) => score.not_fitted = Some(e.to_string()),
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment_whitens_the_mean_covariance() {
        let protocol = MiProtocol {
            window_secs: 1.0,
            ..MiProtocol::new(vec!["a".into(), "b".into()], 100.0)
        };
        let mut state = 7u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
        };
        // Channel b = 3 × channel a + noise: strongly correlated and unequal.
        let windows: Vec<Vec<f32>> = (0..30)
            .map(|_| {
                let a: Vec<f32> = (0..100).map(|_| noise() * 10.0).collect();
                let b: Vec<f32> = a.iter().map(|&v| 3.0 * v + noise()).collect();
                a.into_iter().chain(b).collect()
            })
            .collect();
        let w = alignment_matrix(&protocol, &windows).unwrap();
        let mut est = CovEstimator::new(2, 100);
        let mut mean = Mat::<f64>::zeros(2, 2);
        let mut cov = Mat::<f64>::zeros(2, 2);
        for x in &windows {
            est.sample_covariance(&align_window(&w, x), cov.as_mut());
            mean += &cov * faer::Scale(1.0 / windows.len() as f64);
        }
        for i in 0..2 {
            for j in 0..2 {
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (mean[(i, j)] - expected).abs() < 1e-4,
                    "{i},{j}: {}",
                    mean[(i, j)]
                );
            }
        }
    }

    #[test]
    fn subject_folders_take_a_subject_or_a_folder_of_them() {
        let root = std::env::temp_dir().join(format!("neuroloop-subjects-{}", std::process::id()));
        for s in ["S002", "S001"] {
            let dir = root.join(format!("mi_{s}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{s}R04.edf")), b"").unwrap();
        }
        std::fs::create_dir_all(root.join("other")).unwrap();
        let found = subject_folders(std::slice::from_ref(&root)).unwrap();
        let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["S001", "S002"]);
        let one = subject_folders(&[root.join("mi_S002"), root.join("mi_S002")]).unwrap();
        assert_eq!(one.len(), 1);
        let err = subject_folders(&[root.join("other")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("holds no EEGMMIDB subject"), "{err}");
        std::fs::remove_dir_all(&root).ok();
    }
}
