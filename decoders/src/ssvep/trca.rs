//! Task-related component analysis (Nakanishi et al. 2018), plain and ensemble, on one band or a
//! filter bank.
//!
//! Fitting (offline, allocating) takes calibration trials that start at stimulus onset. For each
//! class and band, with every trial `Xᵢ` (channels × samples) centred per channel,
//! `S = Σ_{i≠j} Xᵢ Xⱼᵀ` and `Q = Σᵢ Xᵢ Xᵢᵀ`; the spatial filter `w` is the leading generalised
//! eigenvector of `S w = λ Q w` (found as `Q^-½ v` with `v` the leading eigenvector of
//! `Q^-½ S Q^-½`), the template is the class's mean trial.
//!
//! Scoring a window `X` against class `k` is Pearson's correlation of the projected window with
//! the projected template: `corr(w_kᵀ X, w_kᵀ T_k)` for plain TRCA, `corr(Wᵀ X, Wᵀ T_k)` over
//! all of its entries for ensemble TRCA (`W` = every class's filter). On a filter bank the score
//! is `Σ_b a_b ρ_b` with Chen's weights `a_b = b^-1.25 + 0.25`.
//!
//! Scoring is allocation-free: with `P̃_k` the centred projected template scaled to unit norm,
//! `<Wᵀ X, P̃_k> = <X, W P̃_k>`, so the fit stores `G_k = W P̃_k` (channels × samples) and a
//! window costs one projection `Wᵀ X` (for its mean and norm) and one inner product per class.

use faer::linalg::matmul::matmul;
use faer::{Accum, Col, Mat, Par};

use crate::DecoderError;
use crate::mi::spd::inv_sqrtm;

/// Relative ridge added to `Q` so that rank-deficient calibration data (a flat channel,
/// re-referenced channels) still yield filters.
const RIDGE: f64 = 1e-9;

/// Plain or ensemble TRCA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrcaKind {
    /// One spatial filter per class, applied to that class's template only.
    Plain,
    /// Every class's filter applied together (Nakanishi et al.'s ensemble TRCA).
    Ensemble,
}

/// One band's fitted filters and templates.
#[derive(Debug, Clone)]
struct BandModel {
    /// Spatial filters, one column per class (channels × classes).
    filters: Mat<f64>,
    /// Templates, one per class (channels × samples).
    templates: Vec<Mat<f64>>,
}

impl BandModel {
    /// What a window's centred data is correlated with, per class (channels × samples):
    /// ensemble `W P̃_k`, `P̃_k` the centred, unit-norm `Wᵀ T_k`; plain `w_k p̃_kᵀ`, `p̃_k` the
    /// centred, unit-norm `w_kᵀ T_k`.
    fn references(&self, kind: TrcaKind) -> Vec<Mat<f64>> {
        let filters = &self.filters;
        let (channels, samples) = (filters.nrows(), self.templates[0].ncols());
        self.templates
            .iter()
            .enumerate()
            .map(|(k, t)| match kind {
                TrcaKind::Ensemble => {
                    let mut p = filters.transpose() * t;
                    unit_centred(&mut p);
                    filters * &p
                }
                TrcaKind::Plain => {
                    let w = filters.col(k);
                    let mut p = Mat::from_fn(1, samples, |_, j| {
                        (0..channels).map(|c| w[c] * t[(c, j)]).sum()
                    });
                    unit_centred(&mut p);
                    Mat::from_fn(channels, samples, |c, j| w[c] * p[(0, j)])
                }
            })
            .collect()
    }
}

/// Fitted TRCA: filters and templates for every band and class at one window length.
#[derive(Debug, Clone)]
pub struct TrcaModel {
    /// Per band, built from `parts`.
    bands: Vec<BandModel>,
    /// Dimensions, weights, filters and templates.
    parts: TrcaParts,
}

/// What a fitted [`TrcaModel`] is made of, in plain vectors (for model files).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrcaParts {
    /// Channels per window.
    pub channels: usize,
    /// Samples per window.
    pub samples: usize,
    /// Classes.
    pub classes: usize,
    /// Weight of each band's correlation.
    pub weights: Vec<f64>,
    /// Per band: spatial filters, class by class (`classes × channels`).
    pub filters: Vec<Vec<f64>>,
    /// Per band: templates (class means of the centred trials), class by class, channel-major
    /// (`classes × channels × samples`).
    pub templates: Vec<Vec<f64>>,
}

impl TrcaModel {
    /// Fits from calibration trials. Each trial is `bands × channels × samples` values (band
    /// major, then channel-major windows that start at stimulus onset); `labels` gives each
    /// trial's class in `0..classes`; `weights` has one weight per band. Every class needs at
    /// least two trials.
    pub fn fit(
        trials: &[&[f32]],
        labels: &[usize],
        classes: usize,
        channels: usize,
        samples: usize,
        weights: &[f64],
    ) -> Result<TrcaModel, DecoderError> {
        let bands = weights.len();
        check_calibration(trials, labels, classes, channels, samples, bands)?;
        let calibration = Calibration {
            trials,
            labels,
            channels,
            samples,
        };
        let mut parts = TrcaParts {
            channels,
            samples,
            classes,
            weights: weights.to_vec(),
            filters: Vec::with_capacity(bands),
            templates: Vec::with_capacity(bands),
        };
        // One centred trial at a time, reused for every class and band.
        let mut x = Mat::<f64>::zeros(channels, samples);
        for b in 0..bands {
            let mut filters = Vec::with_capacity(classes * channels);
            let mut templates = Vec::with_capacity(classes * channels * samples);
            for class in 0..classes {
                let (sum, q) = calibration.class_sums(class, b, &mut x);
                let w = calibration.leading_filter(&sum, q, class, b)?;
                filters.extend((0..channels).map(|c| w[c]));
                let count = labels.iter().filter(|&&l| l == class).count() as f64;
                for c in 0..channels {
                    templates.extend((0..samples).map(|j| sum[(c, j)] / count));
                }
            }
            parts.filters.push(filters);
            parts.templates.push(templates);
        }
        TrcaModel::from_parts(parts)
    }

    /// Rebuilds a model from its parts (as saved in a model file), checking their shapes.
    pub fn from_parts(parts: TrcaParts) -> Result<TrcaModel, DecoderError> {
        let TrcaParts {
            channels,
            samples,
            classes,
            ..
        } = parts;
        let bands = parts.weights.len();
        let bad = |what: &'static str| DecoderError::Model {
            reason: format!(
                "the TRCA model's {what} do not fit its {channels} channels, {samples} samples, {classes} classes and {bands} bands: refit the model"
            ),
        };
        if channels == 0 || samples < 2 || classes == 0 || bands == 0 {
            return Err(bad("dimensions"));
        }
        if parts.filters.len() != bands
            || parts.filters.iter().any(|f| f.len() != classes * channels)
        {
            return Err(bad("filters"));
        }
        if parts.templates.len() != bands
            || parts
                .templates
                .iter()
                .any(|t| t.len() != classes * channels * samples)
        {
            return Err(bad("templates"));
        }
        if parts
            .filters
            .iter()
            .chain(&parts.templates)
            .flatten()
            .chain(&parts.weights)
            .any(|v| !v.is_finite())
        {
            return Err(bad("values (not finite)"));
        }
        let mut models = Vec::with_capacity(bands);
        for b in 0..bands {
            let f = &parts.filters[b];
            let filters = Mat::from_fn(channels, classes, |c, k| f[k * channels + c]);
            let per_class = channels * samples;
            let templates: Vec<Mat<f64>> = (0..classes)
                .map(|k| {
                    let t = &parts.templates[b][k * per_class..(k + 1) * per_class];
                    Mat::from_fn(channels, samples, |c, j| t[c * samples + j])
                })
                .collect();
            models.push(BandModel { filters, templates });
        }
        Ok(TrcaModel {
            bands: models,
            parts,
        })
    }

    /// The model's parts, for saving.
    pub fn parts(&self) -> &TrcaParts {
        &self.parts
    }

    /// Channels per window.
    pub fn channels(&self) -> usize {
        self.parts.channels
    }

    /// Samples per window.
    pub fn samples(&self) -> usize {
        self.parts.samples
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.parts.classes
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.bands.len()
    }
}

/// Checks the calibration set's shape before anything is fitted: one label per trial, every
/// trial `bands × channels × samples` long, at least two trials of every class and no label
/// outside the classes.
fn check_calibration(
    trials: &[&[f32]],
    labels: &[usize],
    classes: usize,
    channels: usize,
    samples: usize,
    bands: usize,
) -> Result<(), DecoderError> {
    let per_band = channels * samples;
    if channels == 0 {
        return Err(DecoderError::NoChannels);
    }
    if bands == 0 || samples < 2 || trials.len() != labels.len() {
        return Err(DecoderError::BadSetting {
            name: "trca trials",
            value: trials.len() as f64,
            hint: "give one label per trial, at least one band and windows of two or more samples",
        });
    }
    if let Some(t) = trials.iter().find(|t| t.len() != bands * per_band) {
        return Err(DecoderError::BadSetting {
            name: "trca trial length",
            value: t.len() as f64,
            hint: "every trial must hold bands × channels × samples values",
        });
    }
    for class in 0..classes {
        let n = labels.iter().filter(|&&l| l == class).count();
        if n < 2 {
            return Err(DecoderError::BadSetting {
                name: "trca trials per class",
                value: n as f64,
                hint: "TRCA needs at least two calibration trials of every target; record more calibration trials",
            });
        }
    }
    if let Some(&l) = labels.iter().find(|&&l| l >= classes) {
        return Err(DecoderError::BadSetting {
            name: "trca label",
            value: l as f64,
            hint: "labels must be class indices below the number of classes",
        });
    }
    Ok(())
}

/// Calibration trials checked by [`check_calibration`], with their dimensions.
struct Calibration<'a> {
    trials: &'a [&'a [f32]],
    labels: &'a [usize],
    channels: usize,
    samples: usize,
}

impl Calibration<'_> {
    /// `Σ Xᵢ` (channels × samples) and `Q = Σ Xᵢ Xᵢᵀ` over the centred trials of `class` in
    /// band `band`; `x` is scratch for one centred trial.
    fn class_sums(&self, class: usize, band: usize, x: &mut Mat<f64>) -> (Mat<f64>, Mat<f64>) {
        let (channels, samples) = (self.channels, self.samples);
        let per_band = channels * samples;
        let mut sum = Mat::<f64>::zeros(channels, samples);
        let mut q = Mat::<f64>::zeros(channels, channels);
        for (t, _) in self
            .trials
            .iter()
            .zip(self.labels)
            .filter(|&(_, &l)| l == class)
        {
            crate::centre::load_centred(&t[band * per_band..(band + 1) * per_band], x);
            sum += &*x;
            matmul(
                q.as_mut(),
                Accum::Add,
                x.as_ref(),
                x.as_ref().transpose(),
                1.0,
                Par::Seq,
            );
        }
        (sum, q)
    }

    /// The TRCA filter of one class and band: the leading generalised eigenvector of
    /// `S w = λ Q w`, with `S = (Σ X)(Σ X)ᵀ − Q` and a small ridge on `Q`.
    fn leading_filter(
        &self,
        sum: &Mat<f64>,
        mut q: Mat<f64>,
        class: usize,
        band: usize,
    ) -> Result<Col<f64>, DecoderError> {
        let channels = self.channels;
        // S = (Σ X)(Σ X)ᵀ − Σ X Xᵀ.
        let s = sum * sum.transpose() - &q;
        let trace: f64 = (0..channels).map(|c| q[(c, c)]).sum();
        let ridge = RIDGE * (trace / channels as f64).max(f64::MIN_POSITIVE);
        for c in 0..channels {
            q[(c, c)] += ridge;
        }
        let q_isqrt = inv_sqrtm(q.as_ref(), "the TRCA trial covariance").map_err(|e| {
            DecoderError::Model {
                reason: format!(
                    "{e} (class {class}, band {band}): check the calibration recording for flat or non-finite channels"
                ),
            }
        })?;
        let m = &q_isqrt * &s * &q_isqrt;
        let eig = m
            .self_adjoint_eigen(faer::Side::Lower)
            .map_err(|_| DecoderError::Model {
                reason: format!(
                    "the TRCA eigenproblem did not converge (class {class}, band {band}): check the calibration recording for non-finite samples"
                ),
            })?;
        let (u, lambda) = (eig.U(), eig.S().column_vector());
        let top = (0..channels)
            .max_by(|&i, &j| lambda[i].total_cmp(&lambda[j]))
            .unwrap_or(0);
        Ok(&q_isqrt * u.col(top))
    }
}

/// Subtracts the mean of all entries and scales to unit Frobenius norm (left at zero when
/// constant).
fn unit_centred(m: &mut Mat<f64>) {
    let n = (m.nrows() * m.ncols()) as f64;
    let mean = (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
        .map(|(i, j)| m[(i, j)])
        .sum::<f64>()
        / n;
    let mut norm = 0.0;
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            m[(i, j)] -= mean;
            norm += m[(i, j)] * m[(i, j)];
        }
    }
    let scale = if norm > 0.0 { 1.0 / norm.sqrt() } else { 0.0 };
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            m[(i, j)] *= scale;
        }
    }
}

/// The moments of a window that grows one frame at a time from its first sample: per band,
/// `Σx` and the upper triangle of `Σ x xᵀ`. With a scorer's per-class cross sums
/// ([`TrcaScorer::add_cross`]) they give the window's scores ([`TrcaScorer::score_sums`])
/// without keeping the window: an onset-locked decoder adds each frame as it arrives, and a
/// decision costs no more for a long window than for a short one.
#[derive(Debug, Clone)]
pub struct TrcaSums {
    bands: usize,
    channels: usize,
    frames: usize,
    /// `bands × channels`.
    sum: Vec<f64>,
    /// `bands × channels × channels`, entries `c <= d` only.
    outer: Vec<f64>,
}

impl TrcaSums {
    /// Empty sums for `bands` bands of `channels` channels. Allocates; call it while preparing.
    pub fn new(bands: usize, channels: usize) -> Self {
        TrcaSums {
            bands,
            channels,
            frames: 0,
            sum: vec![0.0; bands * channels],
            outer: vec![0.0; bands * channels * channels],
        }
    }

    /// Forgets every frame. Real-time safe.
    pub fn clear(&mut self) {
        self.frames = 0;
        self.sum.fill(0.0);
        self.outer.fill(0.0);
    }

    /// Frames added since the last clear.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Adds one frame: `bands × channels` values, band-major. Real-time safe.
    ///
    /// # Panics
    /// Panics if `frame` has the wrong length (a programming error).
    pub fn add(&mut self, frame: &[f32]) {
        let ch = self.channels;
        assert_eq!(frame.len(), self.bands * ch, "frame shape");
        for (b, x) in frame.chunks_exact(ch.max(1)).enumerate() {
            let sum = &mut self.sum[b * ch..(b + 1) * ch];
            let outer = &mut self.outer[b * ch * ch..(b + 1) * ch * ch];
            for (c, &xc) in x.iter().enumerate() {
                let xc = f64::from(xc);
                sum[c] += xc;
                let row = &mut outer[c * ch..(c + 1) * ch];
                for (o, &xd) in row[c..].iter_mut().zip(&x[c..]) {
                    *o += xc * f64::from(xd);
                }
            }
        }
        self.frames += 1;
    }
}

/// Scores windows against a fitted [`TrcaModel`] without allocating.
pub struct TrcaScorer {
    model: TrcaModel,
    kind: TrcaKind,
    /// Per band and class, what the window is correlated with (built for `kind` only).
    references: Vec<Vec<Mat<f64>>>,
    /// Per band and class, each channel's sum over the window of `references` (`bands ×
    /// classes × channels`): what centring the window takes off a cross sum.
    reference_sums: Vec<f64>,
    x: Mat<f64>,
    y: Mat<f64>,
    /// Scratch for [`TrcaScorer::score_sums`]: a window's mean and centred `Σ x xᵀ`.
    mean: Vec<f64>,
    cov: Mat<f64>,
}

impl TrcaScorer {
    /// Precomputes `kind`'s per-class references and the buffers for `model`.
    pub fn new(model: TrcaModel, kind: TrcaKind) -> Self {
        let references: Vec<Vec<Mat<f64>>> =
            model.bands.iter().map(|b| b.references(kind)).collect();
        let reference_sums = references
            .iter()
            .flatten()
            .flat_map(|g| (0..g.nrows()).map(move |c| (0..g.ncols()).map(|j| g[(c, j)]).sum()))
            .collect();
        TrcaScorer {
            references,
            reference_sums,
            x: Mat::zeros(model.channels(), model.samples()),
            y: Mat::zeros(model.classes(), model.samples()),
            mean: vec![0.0; model.channels()],
            cov: Mat::zeros(model.channels(), model.channels()),
            model,
            kind,
        }
    }

    /// The fitted model.
    pub fn model(&self) -> &TrcaModel {
        &self.model
    }

    /// Plain or ensemble.
    pub fn kind(&self) -> TrcaKind {
        self.kind
    }

    /// Scores one window (`bands × channels × samples`, as in [`TrcaModel::fit`]) against every
    /// class into `out`: the band-weighted sum of correlations.
    ///
    /// Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics if `window` or `out` has the wrong length (programming errors).
    pub fn score(&mut self, window: &[f32], out: &mut [f64]) {
        let m = &self.model;
        let (classes, weights) = (m.classes(), &m.parts.weights);
        let per_band = m.channels() * m.samples();
        assert_eq!(window.len(), m.bands.len() * per_band, "window shape");
        assert_eq!(out.len(), classes, "one output per class");
        out.fill(0.0);
        for (b, band) in m.bands.iter().enumerate() {
            crate::centre::load_centred(&window[b * per_band..(b + 1) * per_band], &mut self.x);
            matmul(
                self.y.as_mut(),
                Accum::Replace,
                band.filters.as_ref().transpose(),
                self.x.as_ref(),
                1.0,
                Par::Seq,
            );
            // Ensemble: every projected row against `W P̃_k`; plain: row k against `w_k p̃_kᵀ`.
            let ensemble_norm = match self.kind {
                TrcaKind::Ensemble => centred_norm(&self.y, 0..classes),
                TrcaKind::Plain => 0.0,
            };
            for (k, o) in out.iter_mut().enumerate() {
                let g = &self.references[b][k];
                let norm = match self.kind {
                    TrcaKind::Ensemble => ensemble_norm,
                    TrcaKind::Plain => centred_norm(&self.y, k..k + 1),
                };
                let rho = if norm > 0.0 {
                    inner(&self.x, g) / norm
                } else {
                    0.0
                };
                *o += weights[b] * rho;
            }
        }
    }
}

impl TrcaScorer {
    /// Adds the frame at `offset` samples into the window (`bands × channels` values,
    /// band-major, as [`TrcaSums::add`] takes) to `cross` (`bands × classes`): per band and
    /// class, the running sum of the frame's products with the class's reference at that
    /// offset. Frames at or past the model's window length are ignored.
    ///
    /// Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics if `frame` or `cross` has the wrong length (programming errors).
    pub fn add_cross(&self, offset: usize, frame: &[f32], cross: &mut [f64]) {
        let (ch, classes) = (self.model.channels(), self.model.classes());
        assert_eq!(frame.len(), self.references.len() * ch, "frame shape");
        assert_eq!(cross.len(), self.references.len() * classes, "cross shape");
        if offset >= self.model.samples() {
            return;
        }
        for (b, refs) in self.references.iter().enumerate() {
            let x = &frame[b * ch..(b + 1) * ch];
            for (k, g) in refs.iter().enumerate() {
                let column = g.col_as_slice(offset);
                cross[b * classes + k] += x
                    .iter()
                    .zip(column)
                    .map(|(&v, &r)| f64::from(v) * r)
                    .sum::<f64>();
            }
        }
    }

    /// Scores a window of exactly the model's length from its sums: `sums` holding its
    /// frames and `cross` filled by [`TrcaScorer::add_cross`] for every one of them. Equal to
    /// [`TrcaScorer::score`] on the same window up to rounding; its cost does not depend on
    /// the window's length.
    ///
    /// Real-time safe: no allocation.
    ///
    /// # Panics
    /// Panics if the shapes do not match the model (programming errors).
    pub fn score_sums(&mut self, sums: &TrcaSums, cross: &[f64], out: &mut [f64]) {
        let m = &self.model;
        let (ch, classes, weights) = (m.channels(), m.classes(), &m.parts.weights);
        assert_eq!(
            (sums.bands, sums.channels),
            (m.bands.len(), ch),
            "sums shape"
        );
        assert_eq!(cross.len(), m.bands.len() * classes, "cross shape");
        assert_eq!(out.len(), classes, "one output per class");
        out.fill(0.0);
        let n = sums.frames as f64;
        if sums.frames == 0 {
            return;
        }
        if sums.sum.iter().chain(cross).any(|v| !v.is_finite()) {
            // A non-finite sample in the window: no scores.
            out.fill(f64::NAN);
            return;
        }
        for (b, band) in m.bands.iter().enumerate() {
            let sum = &sums.sum[b * ch..(b + 1) * ch];
            let outer = &sums.outer[b * ch * ch..(b + 1) * ch * ch];
            for (mean, &s) in self.mean.iter_mut().zip(sum) {
                *mean = s / n;
            }
            // Centred Σ x xᵀ = Σ x xᵀ − n m mᵀ, mirrored from the upper triangle.
            for c in 0..ch {
                for d in c..ch {
                    let v = outer[c * ch + d] - n * self.mean[c] * self.mean[d];
                    self.cov[(c, d)] = v;
                    self.cov[(d, c)] = v;
                }
            }
            // The projected window's squared norm: `w_jᵀ C w_j` summed over the filters
            // (ensemble) or for the class's own filter (plain); its rows have zero mean.
            let quadratic = |cov: &Mat<f64>, j: usize| -> f64 {
                let w = band.filters.col(j);
                (0..ch)
                    .map(|c| w[c] * (0..ch).map(|d| cov[(c, d)] * w[d]).sum::<f64>())
                    .sum()
            };
            let ensemble_norm = match self.kind {
                TrcaKind::Ensemble => (0..classes)
                    .map(|j| quadratic(&self.cov, j))
                    .sum::<f64>()
                    .max(0.0)
                    .sqrt(),
                TrcaKind::Plain => 0.0,
            };
            for (k, o) in out.iter_mut().enumerate() {
                let norm = match self.kind {
                    TrcaKind::Ensemble => ensemble_norm,
                    TrcaKind::Plain => quadratic(&self.cov, k).max(0.0).sqrt(),
                };
                let g_sum =
                    &self.reference_sums[(b * classes + k) * ch..(b * classes + k + 1) * ch];
                let centring: f64 = self.mean.iter().zip(g_sum).map(|(a, g)| a * g).sum();
                let inner = cross[b * classes + k] - centring;
                let rho = if norm > 0.0 { inner / norm } else { 0.0 };
                *o += weights[b] * rho;
            }
        }
    }
}

/// Norm of `rows` of `y` (all their entries) after subtracting those entries' mean.
fn centred_norm(y: &Mat<f64>, rows: std::ops::Range<usize>) -> f64 {
    let count = (rows.len() * y.ncols()) as f64;
    let (mut sum, mut sq) = (0.0, 0.0);
    for j in 0..y.ncols() {
        for i in rows.clone() {
            let v = y[(i, j)];
            sum += v;
            sq += v * v;
        }
    }
    (sq - sum * sum / count).max(0.0).sqrt()
}

/// Frobenius inner product of two equally shaped matrices.
fn inner(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (0..a.ncols())
        .map(|j| {
            a.col_as_slice(j)
                .iter()
                .zip(b.col_as_slice(j))
                .map(|(x, y)| x * y)
                .sum::<f64>()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::TAU;

    /// Noise generator for the tests, uniform in ±1.
    struct Noise(crate::test_noise::Xorshift);
    impl Noise {
        fn next(&mut self) -> f64 {
            self.0.uniform() * 2.0 - 1.0
        }
    }

    /// A phase-locked response of class `k` (frequency `8 + k` Hz, phase `k π/2`) mixed into
    /// channels with different gains, plus noise.
    fn trial(k: usize, channels: usize, samples: usize, snr: f64, noise: &mut Noise) -> Vec<f32> {
        let fs = 250.0;
        let f = 8.0 + k as f64;
        let mut out = Vec::with_capacity(channels * samples);
        for c in 0..channels {
            let gain = 1.0 - c as f64 / channels as f64;
            for i in 0..samples {
                let t = i as f64 / fs;
                let s = (TAU * f * t + k as f64 * TAU / 4.0).sin();
                out.push((snr * gain * s + noise.next()) as f32);
            }
        }
        out
    }

    /// Direct (allocating) correlation for checking the precomputed form.
    fn corr(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len() as f64;
        let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
        let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
        for (x, y) in a.iter().zip(b) {
            ab += (x - ma) * (y - mb);
            aa += (x - ma) * (x - ma);
            bb += (y - mb) * (y - mb);
        }
        ab / (aa * bb).sqrt()
    }

    fn fitted(kind: TrcaKind) -> (TrcaScorer, Vec<Vec<f32>>, Vec<usize>, Noise) {
        let (channels, samples) = (4, 250);
        let mut noise = Noise(crate::test_noise::Xorshift(0x9E37_79B9_7F4A_7C15));
        let mut trials = Vec::new();
        let mut labels = Vec::new();
        for rep in 0..5 {
            for k in 0..3 {
                let _ = rep;
                trials.push(trial(k, channels, samples, 0.5, &mut noise));
                labels.push(k);
            }
        }
        let refs: Vec<&[f32]> = trials.iter().map(Vec::as_slice).collect();
        let model = TrcaModel::fit(&refs, &labels, 3, channels, samples, &[1.0]).unwrap();
        (TrcaScorer::new(model, kind), trials, labels, noise)
    }

    #[test]
    fn scores_equal_the_direct_correlation() {
        for kind in [TrcaKind::Plain, TrcaKind::Ensemble] {
            let (mut scorer, trials, labels, mut noise) = fitted(kind);
            let test = trial(1, 4, 250, 0.5, &mut noise);
            let mut out = [0.0; 3];
            scorer.score(&test, &mut out);
            let m = scorer.model().clone();
            let band = &m.bands[0];
            // Templates: class means of the centred trials.
            let mut x = Mat::<f64>::zeros(4, 250);
            for (k, &score) in out.iter().enumerate() {
                let mut t = Mat::<f64>::zeros(4, 250);
                let members: Vec<&Vec<f32>> = trials
                    .iter()
                    .zip(&labels)
                    .filter(|&(_, &l)| l == k)
                    .map(|(t, _)| t)
                    .collect();
                for tr in &members {
                    crate::centre::load_centred(tr, &mut x);
                    t += &x;
                }
                t *= faer::Scale(1.0 / members.len() as f64);
                crate::centre::load_centred(&test, &mut x);
                let (py, pt): (Mat<f64>, Mat<f64>) = match kind {
                    TrcaKind::Ensemble => {
                        (band.filters.transpose() * &x, band.filters.transpose() * &t)
                    }
                    TrcaKind::Plain => {
                        let w = band.filters.col(k);
                        let a = w.transpose() * &x;
                        let b = w.transpose() * &t;
                        (
                            Mat::from_fn(1, 250, |_, j| a[j]),
                            Mat::from_fn(1, 250, |_, j| b[j]),
                        )
                    }
                };
                let flat = |m: &Mat<f64>| -> Vec<f64> {
                    (0..m.ncols())
                        .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
                        .map(|(i, j)| m[(i, j)])
                        .collect()
                };
                let direct = corr(&flat(&py), &flat(&pt));
                assert!(
                    (direct - score).abs() < 1e-9,
                    "{kind:?} class {k}: {direct} vs {score}"
                );
            }
        }
    }

    #[test]
    fn scores_from_sums_equal_scores_of_the_window() {
        for kind in [TrcaKind::Plain, TrcaKind::Ensemble] {
            let (mut scorer, _, _, mut noise) = fitted(kind);
            for k in 0..3 {
                // An offset so that centring matters.
                let test: Vec<f32> = trial(k, 4, 250, 0.5, &mut noise)
                    .iter()
                    .enumerate()
                    .map(|(i, v)| v + 3.0 + (i / 250) as f32)
                    .collect();
                let mut window = [0.0; 3];
                scorer.score(&test, &mut window);
                let mut sums = TrcaSums::new(1, 4);
                let mut cross = [0.0; 3];
                let mut frame = [0.0f32; 4];
                for t in 0..250 {
                    for (c, v) in frame.iter_mut().enumerate() {
                        *v = test[c * 250 + t];
                    }
                    sums.add(&frame);
                    scorer.add_cross(t, &frame, &mut cross);
                }
                // Past the window's length: ignored.
                scorer.add_cross(250, &frame, &mut cross);
                let mut moments = [0.0; 3];
                scorer.score_sums(&sums, &cross, &mut moments);
                for (a, b) in window.iter().zip(&moments) {
                    assert!((a - b).abs() < 1e-9, "{kind:?} class {k}: {a} vs {b}");
                }
                assert!(window[k] > 0.5, "{kind:?}: class {k} scores {window:?}");
                sums.clear();
                assert_eq!(sums.frames(), 0);
            }
        }
    }

    #[test]
    fn the_filter_maximises_reproducibility_across_trials() {
        // The response sits on channel 0 only; channel 1 carries the same amount of noise
        // only. The filter must weight channel 0 far above channel 1.
        let mut noise = Noise(crate::test_noise::Xorshift(7));
        let samples = 200;
        let mut trials = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..6 {
            for k in 0..2 {
                let mut t = Vec::new();
                for c in 0..2 {
                    for i in 0..samples {
                        let s = if c == 0 {
                            (TAU * (9.0 + k as f64) * i as f64 / 250.0).sin()
                        } else {
                            0.0
                        };
                        t.push((s + noise.next()) as f32);
                    }
                }
                trials.push(t);
                labels.push(k);
            }
        }
        let refs: Vec<&[f32]> = trials.iter().map(Vec::as_slice).collect();
        let model = TrcaModel::fit(&refs, &labels, 2, 2, samples, &[1.0]).unwrap();
        for k in 0..2 {
            let w = model.bands[0].filters.col(k);
            assert!(
                w[0].abs() > 5.0 * w[1].abs(),
                "class {k}: {:?}",
                (w[0], w[1])
            );
        }
    }

    #[test]
    fn held_out_trials_are_classified() {
        for kind in [TrcaKind::Plain, TrcaKind::Ensemble] {
            let (mut scorer, _, _, mut noise) = fitted(kind);
            let mut correct = 0;
            for rep in 0..10 {
                let k = rep % 3;
                let t = trial(k, 4, 250, 0.5, &mut noise);
                let mut out = [0.0; 3];
                scorer.score(&t, &mut out);
                let best = (0..3).max_by(|&a, &b| out[a].total_cmp(&out[b])).unwrap();
                correct += usize::from(best == k);
            }
            assert_eq!(correct, 10, "{kind:?}");
        }
    }

    #[test]
    fn too_few_trials_or_a_bad_shape_is_refused_with_the_fix() {
        let t = vec![0.0f32; 2 * 10];
        let err = TrcaModel::fit(&[&t, &t], &[0, 1], 2, 2, 10, &[1.0]).unwrap_err();
        assert!(
            err.to_string().contains("at least two calibration trials"),
            "{err}"
        );
        let short = vec![0.0f32; 5];
        let err = TrcaModel::fit(&[&short, &short], &[0, 0], 1, 2, 10, &[1.0]).unwrap_err();
        assert!(
            err.to_string().contains("bands × channels × samples"),
            "{err}"
        );
    }
}
