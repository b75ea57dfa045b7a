//! Fitted motor-imagery models: fitting, saving and loading with metadata, and scoring
//! windows without allocating.

use std::path::Path;

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use serde::{Deserialize, Serialize};

use super::MiError;
use super::covariance::{CovEstimator, oas_shrink};
use super::fit::{Linear, csp_filters, lda, logistic_regression, softmax};
use super::spd::{inv_sqrtm, mean_euclid, mean_riemann, tangent_dim, tangent_vector, upper_into};
use crate::moments::SlidingMoments;

/// Identifies model files.
pub const MODEL_FORMAT: &str = "neuroloop-mi-model";
/// Version of the model file layout this build reads and writes.
pub const MODEL_VERSION: u32 = 1;

/// The motor-imagery methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MiMethod {
    /// Common spatial patterns + shrinkage LDA.
    CspLda,
    /// Tangent space at the Riemannian mean + logistic regression.
    TsLr,
    /// Minimum distance to the Riemannian class means.
    Mdm,
    /// Filter-bank CSP: CSP in each sub-band, the most discriminative log-variance features
    /// (ANOVA F), shrinkage LDA.
    FbcspLda,
}

impl MiMethod {
    /// Every method, in the order reports list them.
    pub const ALL: [MiMethod; 4] = [
        MiMethod::CspLda,
        MiMethod::TsLr,
        MiMethod::Mdm,
        MiMethod::FbcspLda,
    ];

    /// Name used on the command line, in files and in the reference numbers.
    pub fn name(self) -> &'static str {
        match self {
            MiMethod::CspLda => "csp-lda",
            MiMethod::TsLr => "ts-lr",
            MiMethod::Mdm => "mdm",
            MiMethod::FbcspLda => "fbcsp-lda",
        }
    }

    /// Whether the method reads filter-bank windows ([`MiProtocol::sub_bands`]).
    pub fn uses_filter_bank(self) -> bool {
        self == MiMethod::FbcspLda
    }
}

/// The filter bank of FBCSP (Ang et al. 2008): 4-Hz bands from 4 to 40 Hz.
pub const FBCSP_BANDS: [(f64, f64); 9] = [
    (4.0, 8.0),
    (8.0, 12.0),
    (12.0, 16.0),
    (16.0, 20.0),
    (20.0, 24.0),
    (24.0, 28.0),
    (28.0, 32.0),
    (32.0, 36.0),
    (36.0, 40.0),
];

/// CSP filters per sub-band in FBCSP.
pub const FBCSP_FILTERS_PER_BAND: usize = 4;

/// Features FBCSP keeps (the highest ANOVA F scores on the training trials).
pub const FBCSP_FEATURES: usize = 8;

/// Preprocessing shared by fitting and online use: which channels, at what rate, which
/// band, how long a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiProtocol {
    /// Channel labels, in the order the model's matrices index them.
    pub channels: Vec<String>,
    /// Sampling rate the model was fitted at.
    pub sample_rate_hz: f64,
    /// Causal Butterworth band-pass applied to the continuous signal.
    pub band_hz: (f64, f64),
    /// Order of that band-pass.
    pub filter_order: usize,
    /// Length of the window a decision is based on.
    pub window_secs: f64,
    /// Sub-bands of a filter-bank method: the continuous signal is band-passed into each
    /// (causal Butterworth of `filter_order`) instead of into `band_hz`, and a window stacks
    /// them band after band (`sub_bands × channels` rows). Empty: the single `band_hz`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sub_bands: Vec<(f64, f64)>,
}

impl MiProtocol {
    /// The sensorimotor defaults: 8-30 Hz, order 4, 2 s windows.
    pub fn new(channels: Vec<String>, sample_rate_hz: f64) -> Self {
        MiProtocol {
            channels,
            sample_rate_hz,
            band_hz: (8.0, 30.0),
            filter_order: 4,
            window_secs: 2.0,
            sub_bands: Vec::new(),
        }
    }

    /// The bands a window holds: the sub-bands, or the single `band_hz`.
    pub fn bands(&self) -> &[(f64, f64)] {
        if self.sub_bands.is_empty() {
            std::slice::from_ref(&self.band_hz)
        } else {
            &self.sub_bands
        }
    }

    /// Rows of a window: channels times bands.
    pub fn window_rows(&self) -> usize {
        self.channels.len() * self.bands().len()
    }

    /// This protocol with the filter bank `method` needs (the FBCSP bands below 0.45 times the
    /// sampling rate), or without one.
    pub fn for_method(&self, method: MiMethod) -> MiProtocol {
        MiProtocol {
            sub_bands: if method.uses_filter_bank() {
                FBCSP_BANDS
                    .iter()
                    .copied()
                    .filter(|&(_, hi)| hi < 0.45 * self.sample_rate_hz)
                    .collect()
            } else {
                Vec::new()
            },
            ..self.clone()
        }
    }

    /// Samples per window.
    pub fn window_frames(&self) -> usize {
        (self.window_secs * self.sample_rate_hz).round() as usize
    }
}

/// A method's fitted parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Fitted {
    /// CSP filters (row-major, `filters × channels`) and the LDA on their log-variances.
    CspLda {
        /// Spatial filters.
        filters: Vec<f64>,
        /// Classifier.
        lda: Linear,
    },
    /// Inverse square root of the reference point (row-major `channels²`) and the
    /// logistic regression on tangent vectors.
    TsLr {
        /// `P^-1/2` of the Riemannian mean of the training covariances.
        reference_isqrt: Vec<f64>,
        /// Classifier.
        lr: Linear,
    },
    /// Inverse square roots of the class means (row-major `channels²` each).
    Mdm {
        /// One per class.
        class_mean_isqrt: Vec<Vec<f64>>,
    },
    /// CSP filters per sub-band (row-major `filters × channels` each), the indices of the
    /// kept log-variance features (band-major: band `b`'s filter `r` is `b × filters + r`),
    /// and the LDA on them.
    FbcspLda {
        /// One filter matrix per sub-band.
        filters: Vec<Vec<f64>>,
        /// Kept features, in LDA input order.
        selected: Vec<usize>,
        /// Classifier.
        lda: Linear,
    },
}

/// How a model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct TrainingInfo {
    /// The calibration data (file names or a description).
    pub source: String,
    /// Trials per class.
    pub trials_per_class: Vec<usize>,
    /// Where windows start after the cue.
    pub cue_offset_secs: f64,
    /// Cross-validated accuracy on the training data, when measured.
    pub cross_validated_accuracy: Option<f64>,
}

/// A fitted decoder with everything needed to apply it to a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MiModel {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// Layout version ([`MODEL_VERSION`]).
    pub version: u32,
    /// The method.
    pub method: MiMethod,
    /// Class names, in decision-class order.
    pub class_names: Vec<String>,
    /// Preprocessing.
    pub protocol: MiProtocol,
    /// Parameters.
    pub fitted: Fitted,
    /// Provenance.
    pub training: TrainingInfo,
}

/// Minimum trials per class for fitting.
pub const MIN_TRIALS_PER_CLASS: usize = 3;

/// Covariances of every trial (channel-major windows of `protocol`'s shape).
pub fn trial_covariances(
    channels: usize,
    samples: usize,
    trials: &[Vec<f32>],
) -> Result<Vec<Mat<f64>>, MiError> {
    let mut est = CovEstimator::new(channels, samples);
    trials
        .iter()
        .enumerate()
        .map(|(index, t)| {
            if t.len() != channels * samples {
                return Err(MiError::TrialShape {
                    index,
                    len: t.len(),
                    expected: channels * samples,
                });
            }
            est.estimate_owned(t).ok_or(MiError::NotPositiveDefinite {
                what: "a trial covariance (the trial is flat or holds non-finite samples)",
            })
        })
        .collect()
}

fn flat(m: &Mat<f64>) -> Vec<f64> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| m[(i, j)])
        .collect()
}

fn unflat(v: &[f64], n: usize) -> Mat<f64> {
    Mat::from_fn(n, n, |i, j| v[i * n + j])
}

impl MiModel {
    /// A model fitted on 20 noise trials whose two classes (`left_hand`, `right_hand`) differ
    /// in the variance of one channel: it exercises every step of `method` at a stream's size,
    /// for benchmarks and allocation tests, which measure cost, not accuracy.
    pub fn synthetic(
        method: MiMethod,
        labels: &[String],
        rate_hz: f64,
        window_secs: f64,
    ) -> Result<MiModel, MiError> {
        let protocol = MiProtocol {
            window_secs,
            ..MiProtocol::new(labels.to_vec(), rate_hz)
        }
        .for_method(method);
        let (n, len) = (protocol.window_rows(), protocol.window_frames());
        let mut state = 1u64;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
        };
        let classes: Vec<usize> = (0..20).map(|i| i % 2).collect();
        let trials: Vec<Vec<f32>> = classes
            .iter()
            .map(|&y| {
                (0..n * len)
                    .map(|i| noise() * if i / len == (1 + 2 * y) % n { 3.0 } else { 1.0 })
                    .collect()
            })
            .collect();
        MiModel::fit(
            method,
            protocol,
            vec!["left_hand".into(), "right_hand".into()],
            &trials,
            &classes,
            TrainingInfo::default(),
        )
    }

    /// Fits `method` on `trials` (channel-major windows, [`MiProtocol::window_rows`] ×
    /// `window_frames`, already band-passed as `protocol` says: for `fbcsp-lda` the protocol
    /// of [`MiProtocol::for_method`], bands one after another) labelled by class index into
    /// `class_names`.
    ///
    /// Allocates; offline or on a setup thread.
    pub fn fit(
        method: MiMethod,
        protocol: MiProtocol,
        class_names: Vec<String>,
        trials: &[Vec<f32>],
        labels: &[usize],
        training: TrainingInfo,
    ) -> Result<MiModel, MiError> {
        let classes = class_names.len();
        let channels = protocol.channels.len();
        let counts = checked_class_counts(method, &protocol, &class_names, labels)?;
        // Filter-bank methods compute covariances band by band themselves.
        let covs = if method.uses_filter_bank() {
            Vec::new()
        } else {
            trial_covariances(channels, protocol.window_frames(), trials)?
        };
        let fitted = match method {
            MiMethod::CspLda => fit_csp_lda(&covs, labels, classes, channels)?,
            MiMethod::TsLr => fit_ts_lr(&covs, labels, classes)?,
            MiMethod::Mdm => fit_mdm(&covs, labels, classes)?,
            MiMethod::FbcspLda => fit_fbcsp_lda(&protocol, trials, labels, classes)?,
        };
        Ok(MiModel {
            format: MODEL_FORMAT.into(),
            version: MODEL_VERSION,
            method,
            class_names,
            protocol,
            fitted,
            training: TrainingInfo {
                trials_per_class: counts,
                ..training
            },
        })
    }

    /// Checks that the parameters fit together (a loaded file may have been edited).
    pub fn validate(&self) -> Result<(), MiError> {
        let bad = |detail: String| Err(MiError::BadModel { detail });
        if self.format != MODEL_FORMAT {
            return bad(format!(
                "format is `{}`, expected `{MODEL_FORMAT}`",
                self.format
            ));
        }
        if self.version != MODEL_VERSION {
            return bad(format!(
                "layout version {} but this build reads version {MODEL_VERSION}",
                self.version
            ));
        }
        let (n, k) = (self.protocol.channels.len(), self.class_names.len());
        if n == 0 || k < 2 {
            return bad(format!("{n} channels and {k} classes"));
        }
        let p = &self.protocol;
        let usable = |(lo, hi): (f64, f64)| {
            p.sample_rate_hz > 0.0 && lo > 0.0 && lo < hi && hi < p.sample_rate_hz / 2.0
        };
        let usable_band = p.bands().iter().all(|&b| usable(b))
            && self.method.uses_filter_bank() != p.sub_bands.is_empty();
        if !usable_band || p.window_frames() <= n || p.filter_order == 0 {
            return bad(format!(
                "protocol {} Hz, bands {:?} Hz ({}), order {}, window {} s does not describe usable bands (below half the rate; sub_bands exactly for fbcsp-lda) and window for {n} channels",
                p.sample_rate_hz,
                p.bands(),
                if p.sub_bands.is_empty() {
                    "band_hz"
                } else {
                    "sub_bands"
                },
                p.filter_order,
                p.window_secs
            ));
        }
        let linear_ok = |l: &Linear, features: usize| {
            l.features == features
                && l.intercepts.len() == k
                && l.weights.len() == k * features
                && l.weights.iter().chain(&l.intercepts).all(|v| v.is_finite())
        };
        let ok = match &self.fitted {
            Fitted::CspLda { filters, lda } => {
                !filters.is_empty()
                    && filters.len().is_multiple_of(n)
                    && filters.iter().all(|v| v.is_finite())
                    && linear_ok(lda, filters.len() / n)
            }
            Fitted::TsLr {
                reference_isqrt,
                lr,
            } => reference_isqrt.len() == n * n && linear_ok(lr, tangent_dim(n)),
            Fitted::Mdm { class_mean_isqrt } => {
                class_mean_isqrt.len() == k && class_mean_isqrt.iter().all(|m| m.len() == n * n)
            }
            Fitted::FbcspLda {
                filters,
                selected,
                lda,
            } => {
                let rows = filters.first().map_or(0, |f| f.len() / n);
                filters.len() == p.bands().len()
                    && rows > 0
                    && filters
                        .iter()
                        .all(|f| f.len() == rows * n && f.iter().all(|v| v.is_finite()))
                    && !selected.is_empty()
                    && selected.iter().all(|&i| i < filters.len() * rows)
                    && linear_ok(lda, selected.len())
            }
        };
        if ok {
            Ok(())
        } else {
            bad(format!(
                "the {} parameters do not match {n} channels and {k} classes",
                self.method.name()
            ))
        }
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), MiError> {
        let err = |reason: String| MiError::ModelFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = serde_json::to_string_pretty(self).map_err(|e| err(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| err(format!("cannot write it ({e}): choose a writable location")))
    }

    /// Reads and validates a model written by [`MiModel::save`].
    pub fn load(path: &Path) -> Result<MiModel, MiError> {
        let err = |reason: String| MiError::ModelFile {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read it ({e}): check the path")))?;
        let model: MiModel = serde_json::from_str(&text).map_err(|e| {
            err(format!(
                "is not a motor-imagery model ({e}): give a model fitted from a motor-imagery calibration (the motor-imagery window's calibration, or its fit from recordings)"
            ))
        })?;
        model.validate()?;
        Ok(model)
    }
}

/// Trials per class, once every class has enough of them and the protocol has the shape
/// `method` reads (filter bank or single band).
fn checked_class_counts(
    method: MiMethod,
    protocol: &MiProtocol,
    class_names: &[String],
    labels: &[usize],
) -> Result<Vec<usize>, MiError> {
    let classes = class_names.len();
    let counts: Vec<usize> = (0..classes)
        .map(|k| labels.iter().filter(|&&y| y == k).count())
        .collect();
    let present = counts.iter().filter(|&&c| c > 0).count();
    if present < 2 {
        return Err(MiError::TooFewClasses { classes: present });
    }
    if let Some(k) = (0..classes).find(|&k| counts[k] < MIN_TRIALS_PER_CLASS) {
        return Err(MiError::TooFewTrials {
            class: class_names[k].clone(),
            trials: counts[k],
            needed: MIN_TRIALS_PER_CLASS,
        });
    }
    if method.uses_filter_bank() == protocol.sub_bands.is_empty() {
        return Err(MiError::ProtocolMismatch {
            method: method.name(),
            needs: if method.uses_filter_bank() {
                "filter-bank (sub_bands)"
            } else {
                "single-band"
            },
        });
    }
    Ok(counts)
}

/// The covariances of the trials labelled `k`.
fn of_class(covs: &[Mat<f64>], labels: &[usize], k: usize) -> Vec<Mat<f64>> {
    covs.iter()
        .zip(labels)
        .filter(|&(_, &y)| y == k)
        .map(|(c, _)| c.clone())
        .collect()
}

/// The Euclidean mean covariance of every class, in class order.
fn class_means(covs: &[Mat<f64>], labels: &[usize], classes: usize) -> Vec<Mat<f64>> {
    (0..classes)
        .map(|k| mean_euclid(&of_class(covs, labels, k)))
        .collect()
}

/// CSP filters (6 per class) and the LDA on the trials' log-variances through them.
fn fit_csp_lda(
    covs: &[Mat<f64>],
    labels: &[usize],
    classes: usize,
    channels: usize,
) -> Result<Fitted, MiError> {
    let filters = csp_filters(&class_means(covs, labels, classes), 6)?;
    let rows = filters.len() / channels;
    let features: Vec<Vec<f64>> = covs
        .iter()
        .map(|c| csp_features(&filters, rows, c))
        .collect();
    Ok(Fitted::CspLda {
        lda: lda(&features, labels, classes)?,
        filters,
    })
}

/// Logistic regression on the tangent vectors at the trials' Riemannian mean.
fn fit_ts_lr(covs: &[Mat<f64>], labels: &[usize], classes: usize) -> Result<Fitted, MiError> {
    let reference = mean_riemann(covs)?;
    let p = inv_sqrtm(reference.as_ref(), "the Riemannian mean of the trials")?;
    let features = covs
        .iter()
        .map(|c| tangent_vector(p.as_ref(), c.as_ref()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Fitted::TsLr {
        lr: logistic_regression(&features, labels, classes, 1.0)?,
        reference_isqrt: flat(&p),
    })
}

/// The inverse square root of every class's Riemannian mean.
fn fit_mdm(covs: &[Mat<f64>], labels: &[usize], classes: usize) -> Result<Fitted, MiError> {
    Ok(Fitted::Mdm {
        class_mean_isqrt: (0..classes)
            .map(|k| {
                let m = mean_riemann(&of_class(covs, labels, k))?;
                inv_sqrtm(m.as_ref(), "a class's Riemannian mean").map(|p| flat(&p))
            })
            .collect::<Result<_, _>>()?,
    })
}

/// CSP in every sub-band of `protocol`, the [`FBCSP_FEATURES`] log-variance features with the
/// highest ANOVA F, and the LDA on them.
fn fit_fbcsp_lda(
    protocol: &MiProtocol,
    trials: &[Vec<f32>],
    labels: &[usize],
    classes: usize,
) -> Result<Fitted, MiError> {
    let channels = protocol.channels.len();
    let len = protocol.window_frames();
    let bands = protocol.bands().len();
    let rows_of_band = channels * len;
    for (index, t) in trials.iter().enumerate() {
        if t.len() != bands * rows_of_band {
            return Err(MiError::TrialShape {
                index,
                len: t.len(),
                expected: bands * rows_of_band,
            });
        }
    }
    let mut filters = Vec::with_capacity(bands);
    let mut features = vec![Vec::new(); trials.len()];
    for b in 0..bands {
        let band: Vec<Vec<f32>> = trials
            .iter()
            .map(|t| t[b * rows_of_band..(b + 1) * rows_of_band].to_vec())
            .collect();
        let covs = trial_covariances(channels, len, &band)?;
        let f = csp_filters(&class_means(&covs, labels, classes), FBCSP_FILTERS_PER_BAND)?;
        let rows = f.len() / channels;
        for (x, c) in features.iter_mut().zip(&covs) {
            x.extend(csp_features(&f, rows, c));
        }
        filters.push(f);
    }
    let selected = anova_best(&features, labels, classes, FBCSP_FEATURES);
    let kept: Vec<Vec<f64>> = features
        .iter()
        .map(|x| selected.iter().map(|&i| x[i]).collect())
        .collect();
    Ok(Fitted::FbcspLda {
        lda: lda(&kept, labels, classes)?,
        filters,
        selected,
    })
}

/// Indices of the `k` features with the highest one-way ANOVA F statistic across the classes
/// (scikit-learn's `SelectKBest(f_classif)`), in ascending index order.
fn anova_best(features: &[Vec<f64>], labels: &[usize], classes: usize, k: usize) -> Vec<usize> {
    let dims = features.first().map_or(0, Vec::len);
    let n = features.len() as f64;
    let f_stat = |j: usize| {
        let mean = features.iter().map(|x| x[j]).sum::<f64>() / n;
        let (mut between, mut within) = (0.0, 0.0);
        for c in 0..classes {
            let xs: Vec<f64> = features
                .iter()
                .zip(labels)
                .filter(|&(_, &y)| y == c)
                .map(|(x, _)| x[j])
                .collect();
            if xs.is_empty() {
                continue;
            }
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            between += xs.len() as f64 * (m - mean).powi(2);
            within += xs.iter().map(|v| (v - m).powi(2)).sum::<f64>();
        }
        let df_between = (classes - 1) as f64;
        let df_within = n - classes as f64;
        if within > 0.0 {
            (between / df_between) / (within / df_within)
        } else {
            f64::INFINITY
        }
    };
    let scores: Vec<f64> = (0..dims).map(f_stat).collect();
    // Ascending by score, ties by index (a stable sort), then the last k: what SelectKBest keeps.
    let mut order: Vec<usize> = (0..dims).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut best: Vec<usize> = order[dims.saturating_sub(k)..].to_vec();
    best.sort_unstable();
    best
}

fn csp_features(filters: &[f64], rows: usize, cov: &Mat<f64>) -> Vec<f64> {
    let n = cov.nrows();
    (0..rows)
        .map(|r| {
            let f = &filters[r * n..(r + 1) * n];
            let mut v = 0.0;
            for i in 0..n {
                for j in 0..n {
                    v += f[i] * cov[(i, j)] * f[j];
                }
            }
            v.ln()
        })
        .collect()
}

/// Scores windows with a fitted model; every buffer is allocated by [`MiPredictor::new`].
pub struct MiPredictor {
    model: MiModel,
    /// The final linear classifier (CSP-LDA and TS-LR).
    linear: Option<Linear>,
    est: CovEstimator,
    /// The window's covariance, one per band (one without a filter bank).
    covs: Vec<Mat<f64>>,
    /// CSP filters (`filters × channels`), or the reference / class-mean inverse roots.
    mats: Vec<Mat<f64>>,
    tmp: Mat<f64>,
    /// `cov · Fᵀ` for CSP (`channels × filters`; more filters than channels with one-vs-rest).
    projected: Mat<f64>,
    inner: Mat<f64>,
    vectors: Mat<f64>,
    values: Diag<f64>,
    /// Eigenvalues only (MDM).
    eigenvalues: super::spd::SymEigenvalues,
    ev: Vec<f64>,
    features: Vec<f64>,
    /// FBCSP: the selected features, in LDA input order.
    kept: Vec<f64>,
    scratch: MemBuffer,
}

impl MiPredictor {
    /// Prepares `model` (validated first) for scoring.
    pub fn new(model: MiModel) -> Result<Self, MiError> {
        model.validate()?;
        let n = model.protocol.channels.len();
        let (mats, features) = match &model.fitted {
            Fitted::CspLda { filters, .. } => {
                let rows = filters.len() / n;
                (
                    vec![Mat::from_fn(rows, n, |r, c| filters[r * n + c])],
                    vec![0.0; rows],
                )
            }
            Fitted::TsLr {
                reference_isqrt, ..
            } => (vec![unflat(reference_isqrt, n)], vec![0.0; tangent_dim(n)]),
            Fitted::Mdm { class_mean_isqrt } => (
                class_mean_isqrt.iter().map(|m| unflat(m, n)).collect(),
                Vec::new(),
            ),
            Fitted::FbcspLda { filters, .. } => {
                let rows = filters[0].len() / n;
                (
                    filters
                        .iter()
                        .map(|f| Mat::from_fn(rows, n, |r, c| f[r * n + c]))
                        .collect(),
                    vec![0.0; filters.len() * rows],
                )
            }
        };
        let kept = match &model.fitted {
            Fitted::FbcspLda { selected, .. } => vec![0.0; selected.len()],
            _ => Vec::new(),
        };
        let req =
            self_adjoint_evd_scratch::<f64>(n, ComputeEigenvectors::Yes, Par::Seq, evd_params());
        let linear = match &model.fitted {
            Fitted::CspLda { lda, .. } => Some(lda.clone()),
            Fitted::TsLr { lr, .. } => Some(lr.clone()),
            Fitted::FbcspLda { lda, .. } => Some(lda.clone()),
            Fitted::Mdm { .. } => None,
        };
        Ok(MiPredictor {
            linear,
            est: CovEstimator::new(n, model.protocol.window_frames()),
            covs: (0..model.protocol.bands().len())
                .map(|_| Mat::zeros(n, n))
                .collect(),
            tmp: Mat::zeros(n, n),
            projected: Mat::zeros(n, mats[0].nrows()),
            inner: Mat::zeros(n, n),
            vectors: Mat::zeros(n, n),
            values: Diag::zeros(n),
            eigenvalues: super::spd::SymEigenvalues::new(n),
            ev: vec![0.0; n],
            scratch: MemBuffer::new(StackReq::any_of(&[req])),
            mats,
            features,
            kept,
            model,
        })
    }

    /// The model applied.
    pub fn model(&self) -> &MiModel {
        &self.model
    }

    /// Class probabilities of `window` (channel-major, [`MiProtocol::window_rows`] ×
    /// `window_frames`: the model's channels, band after band for a filter bank) into `proba`
    /// (one per class). Returns `false`, leaving `proba`
    /// unspecified, when the window is flat, non-finite or numerically unusable.
    ///
    /// Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics on a window or output of the wrong shape (a programming error).
    pub fn predict(&mut self, window: &[f32], proba: &mut [f64]) -> bool {
        let block = window.len() / self.covs.len();
        for (b, cov) in self.covs.iter_mut().enumerate() {
            self.est
                .sample_covariance(&window[b * block..(b + 1) * block], cov.as_mut());
        }
        self.classify(proba)
    }

    /// [`MiPredictor::predict`] on the windows whose moments `bands` hold (one per band, as
    /// the streaming decoder accumulates them): the same covariances without reading the
    /// samples again. Returns `false` when a band has no complete window.
    pub(crate) fn predict_moments(
        &mut self,
        bands: &mut [SlidingMoments],
        proba: &mut [f64],
    ) -> bool {
        assert_eq!(bands.len(), self.covs.len(), "one accumulator per band");
        for (m, cov) in bands.iter_mut().zip(&mut self.covs) {
            let Some(w) = m.window() else {
                return false;
            };
            w.centred_outer_into(cov, 1.0 / w.n as f64);
        }
        self.classify(proba)
    }

    /// Shrinks the sample covariances in `covs` and classifies them.
    fn classify(&mut self, proba: &mut [f64]) -> bool {
        assert_eq!(
            proba.len(),
            self.model.class_names.len(),
            "one output per class"
        );
        let n = self.model.protocol.window_frames();
        for cov in &mut self.covs {
            if oas_shrink(cov.as_mut(), n).is_none() {
                return false;
            }
        }
        if self.model.method == MiMethod::FbcspLda {
            for b in 0..self.covs.len() {
                if !self.csp_log_variances(b) {
                    return false;
                }
            }
            let Fitted::FbcspLda { selected, .. } = &self.model.fitted else {
                unreachable!("an FBCSP model has FBCSP parameters (validated)");
            };
            for (k, &i) in self.kept.iter_mut().zip(selected) {
                *k = self.features[i];
            }
            if let Some(lda) = &self.linear {
                lda.scores(&self.kept, proba);
            }
            softmax(proba);
            return proba.iter().all(|p| p.is_finite());
        }
        let n = self.covs[0].nrows();
        match (self.model.method, &self.linear) {
            (MiMethod::CspLda, Some(_)) => {
                if !self.csp_log_variances(0) {
                    return false;
                }
                if let Some(lda) = &self.linear {
                    lda.scores(&self.features, proba);
                }
            }
            (MiMethod::TsLr, Some(_)) => {
                if !self.congruence(0) {
                    return false;
                }
                // L = U diag(log λ) Uᵀ, in `inner`.
                for k in 0..n {
                    let l = self.values[k].ln();
                    for i in 0..n {
                        self.tmp[(i, k)] = self.vectors[(i, k)] * l;
                    }
                }
                matmul(
                    self.inner.as_mut(),
                    Accum::Replace,
                    self.tmp.as_ref(),
                    self.vectors.as_ref().transpose(),
                    1.0,
                    Par::Seq,
                );
                upper_into(self.inner.as_ref(), &mut self.features);
                if let Some(lr) = &self.linear {
                    lr.scores(&self.features, proba);
                }
            }
            _ => {
                for (k, p) in proba.iter_mut().enumerate() {
                    self.project(k);
                    if !self.eigenvalues.compute(self.inner.as_ref(), &mut self.ev)
                        || self.ev.iter().any(|&v| v.is_nan() || v <= 0.0)
                    {
                        return false;
                    }
                    *p = -self.ev.iter().map(|v| v.ln().powi(2)).sum::<f64>();
                }
            }
        }
        softmax(proba);
        proba.iter().all(|p| p.is_finite())
    }

    /// Log-variances of `covs[m]` through the CSP filters `mats[m]`, into `features` from
    /// `m × filters` on; false if one is not positive.
    fn csp_log_variances(&mut self, m: usize) -> bool {
        let f = &self.mats[m];
        let (rows, n) = (f.nrows(), f.ncols());
        let tmp = &mut self.projected;
        matmul(
            tmp.as_mut(),
            Accum::Replace,
            self.covs[m].as_ref(),
            f.as_ref().transpose(),
            1.0,
            Par::Seq,
        );
        for r in 0..rows {
            let v: f64 = (0..n).map(|c| f[(r, c)] * tmp[(c, r)]).sum();
            if v.is_nan() || v <= 0.0 {
                return false;
            }
            self.features[m * rows + r] = v.ln();
        }
        true
    }

    /// Eigen-decomposes `P C P` for `P = mats[m]` and the window's covariance `C`; false if it
    /// is not positive definite.
    fn congruence(&mut self, m: usize) -> bool {
        self.project(m);
        let stack = MemStack::new(&mut self.scratch);
        let ok = self_adjoint_evd(
            self.inner.as_ref(),
            self.values.as_mut(),
            Some(self.vectors.as_mut()),
            Par::Seq,
            stack,
            evd_params(),
        )
        .is_ok();
        ok && (0..self.values.dim()).all(|i| self.values[i] > 0.0)
    }

    /// `inner = mats[m] · covs[0] · mats[m]` (the covariance seen from a reference point
    /// given by its inverse square root).
    fn project(&mut self, m: usize) {
        let p = &self.mats[m];
        matmul(
            self.tmp.as_mut(),
            Accum::Replace,
            p.as_ref(),
            self.covs[0].as_ref(),
            1.0,
            Par::Seq,
        );
        matmul(
            self.inner.as_mut(),
            Accum::Replace,
            self.tmp.as_ref(),
            p.as_ref(),
            1.0,
            Par::Seq,
        );
    }
}

/// Eigendecomposition settings: divide and conquer from 32 rows (faer's default switches at
/// 128), faster for the 32-64-channel covariances of tangent-space scoring (64 channels:
/// 0.35 instead of 0.43 ms on the development machine).
fn evd_params() -> faer::Spec<faer::linalg::evd::SelfAdjointEvdParams, f64> {
    let mut params: faer::Spec<faer::linalg::evd::SelfAdjointEvdParams, f64> = Default::default();
    params.config.recursion_threshold = 32;
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trials of `classes` classes over 6 channels: class k raises the variance of channel
    /// k (a stand-in for the contralateral power change of imagery); `bands` such blocks per
    /// trial for a filter bank.
    fn trials(
        classes: usize,
        per_class: usize,
        seed: u64,
        bands: usize,
    ) -> (Vec<Vec<f32>>, Vec<usize>) {
        let (n, len) = (6, 200);
        let mut s = seed;
        let mut noise = move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) as f32
        };
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..classes * per_class {
            let y = i % classes;
            let mut trial = Vec::with_capacity(bands * n * len);
            for b in 0..bands {
                // Only the last band carries the class: a filter bank read in the wrong band
                // order would fail.
                let gain = |j: usize| {
                    if b + 1 == bands && j / len == y {
                        2.0
                    } else {
                        1.0
                    }
                };
                let mixed: Vec<f32> = (0..n * len).map(|j| noise() * gain(j)).collect();
                // Mix channels a little so that the classes are not axis-aligned.
                let mut w = mixed.clone();
                for c in 1..n {
                    for t in 0..len {
                        w[c * len + t] += 0.3 * mixed[(c - 1) * len + t];
                    }
                }
                trial.extend(w);
            }
            xs.push(trial);
            ys.push(y);
        }
        (xs, ys)
    }

    fn protocol() -> MiProtocol {
        MiProtocol {
            window_secs: 1.0,
            ..MiProtocol::new((0..6).map(|c| format!("E{c}")).collect(), 200.0)
        }
    }

    #[test]
    fn every_method_separates_three_classes_and_survives_a_save_load_round_trip() {
        let names: Vec<String> = ["left_hand", "right_hand", "feet"].map(String::from).into();
        let dir = std::env::temp_dir().join(format!("neuroloop-mi-model-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for method in MiMethod::ALL {
            let protocol = protocol().for_method(method);
            let bands = protocol.bands().len();
            let (train, ytrain) = trials(3, 20, 1, bands);
            let (test, ytest) = trials(3, 20, 2, bands);
            let model = MiModel::fit(
                method,
                protocol,
                names.clone(),
                &train,
                &ytrain,
                TrainingInfo::default(),
            )
            .unwrap();
            let path = dir.join(format!("{}.json", method.name()));
            model.save(&path).unwrap();
            let loaded = MiModel::load(&path).unwrap();
            assert_eq!(loaded, model);
            let mut p = MiPredictor::new(loaded).unwrap();
            let mut proba = vec![0.0; 3];
            let mut hits = 0;
            for (x, &y) in test.iter().zip(&ytest) {
                assert!(p.predict(x, &mut proba));
                assert!((proba.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                let best = (0..3)
                    .max_by(|&a, &b| proba[a].total_cmp(&proba[b]))
                    .unwrap();
                hits += usize::from(best == y);
            }
            let acc = hits as f64 / ytest.len() as f64;
            assert!(acc > 0.85, "{}: {acc}", method.name());
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn single_band_model_files_keep_their_layout_and_mismatched_trials_are_named() {
        let names: Vec<String> = ["left_hand", "right_hand"].map(String::from).into();
        let (x, y) = trials(2, 6, 4, 1);
        let model = MiModel::fit(
            MiMethod::CspLda,
            protocol(),
            names.clone(),
            &x,
            &y,
            TrainingInfo::default(),
        )
        .unwrap();
        // Files written before filter banks existed have no `sub_bands`; single-band models
        // are still written (and read) without it.
        let text = serde_json::to_string(&model).unwrap();
        assert!(!text.contains("sub_bands"), "{text}");
        let back: MiModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, model);
        // FBCSP on single-band trials, CSP on filter-bank trials: named, with the fix.
        let err = MiModel::fit(
            MiMethod::FbcspLda,
            protocol(),
            names.clone(),
            &x,
            &y,
            TrainingInfo::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("for_method"), "{err}");
        let err = MiModel::fit(
            MiMethod::CspLda,
            protocol().for_method(MiMethod::FbcspLda),
            names,
            &x,
            &y,
            TrainingInfo::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("single-band"), "{err}");
    }

    #[test]
    fn too_little_calibration_is_named() {
        let names: Vec<String> = ["left_hand", "right_hand"].map(String::from).into();
        let (x, _) = trials(2, 4, 3, 1);
        let one_class = vec![0; x.len()];
        let err = MiModel::fit(
            MiMethod::Mdm,
            protocol(),
            names.clone(),
            &x,
            &one_class,
            TrainingInfo::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("at least two"), "{err}");
        let err = MiModel::fit(
            MiMethod::Mdm,
            protocol(),
            names,
            &x[..4],
            &[0, 0, 0, 1],
            TrainingInfo::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("class `right_hand` has 1 training trial"),
            "{err}"
        );
    }
}
