//! Onset-locked SSVEP decoding with TRCA (plain or ensemble) or a network, and dynamic stopping.
//!
//! A stimulus program (the speller) reports each flicker onset through
//! [`Decoder::stimulus_onset`]. From `onset + latency` the decoder scores growing windows, one
//! per checkpoint of the model (e.g. 0.5, 0.75, …, 2 s), each with TRCA filters and templates
//! fitted at that length, and emits a decision at every checkpoint until one is confident (the
//! relative margin of the best over the second score reaches `min_margin`): dynamic stopping.
//! A network ([`SsvepNet`]) has one checkpoint, its card's window, and scores class
//! probabilities. Filters, windows and scorers are allocated in `prepare`; `process` allocates
//! nothing.
//!
//! TRCA scores come from sums accumulated as the trial's frames arrive ([`TrcaSums`] and each
//! checkpoint's cross sums), so a checkpoint's decision costs the same at 0.5 s as at 2 s and at
//! 250 Hz as at 1 kHz; the band-passed history is kept only to catch up when an onset is
//! reported after its first frames have arrived. The network reads its window from that
//! history.

use std::path::Path;

use neuroloop_dsp::filterbank::FilterBank;
use neuroloop_dsp::window::RingWindow;
use serde::{Deserialize, Serialize};

use super::net::SsvepNet;
use super::trca::{TrcaKind, TrcaModel, TrcaParts, TrcaScorer, TrcaSums};
use crate::step::channel_indices;
use crate::{Decision, DecisionBuffer, Decoder, DecoderContext, DecoderError};

/// Format tag of model files.
pub const SSVEP_MODEL_FORMAT: &str = "neuroloop-ssvep-trca";

/// One window length of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Window length from `onset + latency`.
    pub window_secs: f64,
    /// Cross-validated accuracy on the calibration trials, when measured.
    pub cv_accuracy: Option<f64>,
    /// TRCA fitted at this length.
    pub trca: TrcaParts,
}

/// A fitted onset-locked SSVEP model with its protocol, saved as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SsvepTrcaModel {
    /// Always [`SSVEP_MODEL_FORMAT`].
    pub format: String,
    /// File version (1).
    pub version: u32,
    /// Channels, by label, in model order.
    pub channels: Vec<String>,
    /// Sampling rate the model was fitted at.
    pub sample_rate_hz: f64,
    /// Target frequencies in class order.
    pub targets_hz: Vec<f64>,
    /// Filter-bank sub-bands (causal Butterworth band-passes).
    pub bands_hz: Vec<(f64, f64)>,
    /// Order of the sub-band filters.
    pub filter_order: usize,
    /// Visual latency: windows start this long after the flicker onset.
    pub latency_secs: f64,
    /// Ensemble TRCA (every class's filter) rather than plain.
    pub ensemble: bool,
    /// Window lengths, increasing.
    pub checkpoints: Vec<Checkpoint>,
    /// Where the calibration came from.
    pub source: String,
    /// Calibration trials per class.
    pub trials_per_class: Vec<usize>,
}

/// Settings of [`SsvepTrcaModel::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrcaFitConfig {
    /// Window lengths to fit, in seconds.
    pub windows_secs: Vec<f64>,
    /// Visual latency.
    pub latency_secs: f64,
    /// Ensemble TRCA.
    pub ensemble: bool,
    /// Sub-bands `[k·f₀, 88]` Hz as in FBCCA.
    pub sub_bands: usize,
    /// Order of the sub-band filters.
    pub filter_order: usize,
    /// Folds of the cross-validation reported per checkpoint (0: none).
    pub folds: usize,
}

impl Default for TrcaFitConfig {
    fn default() -> Self {
        TrcaFitConfig {
            windows_secs: vec![0.5, 0.75, 1.0, 1.25, 1.5, 2.0],
            latency_secs: 0.14,
            ensemble: true,
            sub_bands: 5,
            filter_order: 4,
            folds: 5,
        }
    }
}

/// Sub-bands `[k·f₀, min(88, 0.45 fs)]` with `f₀ = min(8, lowest − 1)` (as FBCCA), those that
/// fit.
pub fn sub_bands(targets_hz: &[f64], sample_rate_hz: f64, count: usize) -> Vec<(f64, f64)> {
    let lowest = targets_hz.iter().copied().fold(f64::INFINITY, f64::min);
    let f0 = (lowest - 1.0).min(8.0);
    let upper = 88.0f64.min(0.45 * sample_rate_hz);
    (1..=count)
        .map(|k| (k as f64 * f0, upper))
        .take_while(|&(lo, hi)| f0 > 0.0 && lo + 2.0 <= hi)
        .collect()
}

/// Sub-band outputs of `data` (interleaved, `channels` wide), filtered causally as online
/// (from the first sample, in blocks of 256 frames): one interleaved array per band.
pub fn filter_bank(
    data: &[f32],
    channels: usize,
    fs: f64,
    bands: &[(f64, f64)],
    order: usize,
) -> Result<Vec<Vec<f32>>, DecoderError> {
    const BLOCK: usize = 256;
    let mut bank = FilterBank::new(bands.to_vec(), order);
    bank.prepare(fs, channels, BLOCK)?;
    let mut out: Vec<Vec<f32>> = bands
        .iter()
        .map(|_| Vec::with_capacity(data.len()))
        .collect();
    for block in data.chunks(BLOCK * channels) {
        bank.process_interleaved(block)?;
        for (b, o) in out.iter_mut().enumerate() {
            o.extend_from_slice(bank.band_output(b));
        }
    }
    Ok(out)
}

/// The window of `n` frames from frame `start` of sub-band outputs (each interleaved,
/// `channels` wide, as [`filter_bank`] makes them), band-major then channel-major: the layout
/// TRCA and the network read.
pub fn band_window(bands: &[Vec<f32>], channels: usize, start: usize, n: usize) -> Vec<f32> {
    let mut w = Vec::with_capacity(bands.len() * channels * n);
    for band in bands {
        for c in 0..channels {
            w.extend((0..n).map(|i| band[(start + i) * channels + c]));
        }
    }
    w
}

impl SsvepTrcaModel {
    /// Fits from a calibration recording: `data` interleaved over `labels` (after the session's
    /// front end), `trials` as (onset frame, class), classes flickering at `targets_hz`,
    /// `picks` the channels used (indices into `labels`).
    #[allow(clippy::too_many_arguments)]
    pub fn fit(
        data: &[f32],
        labels: &[String],
        sample_rate_hz: f64,
        picks: &[usize],
        trials: &[(usize, usize)],
        targets_hz: &[f64],
        cfg: &TrcaFitConfig,
        source: &str,
    ) -> Result<SsvepTrcaModel, DecoderError> {
        let width = labels.len();
        if picks.is_empty() || width == 0 {
            return Err(DecoderError::NoChannels);
        }
        let frames = data.len() / width;
        let picked: Vec<f32> = (0..frames)
            .flat_map(|f| picks.iter().map(move |&c| data[f * width + c]))
            .collect();
        let ch = picks.len();
        let bands = sub_bands(targets_hz, sample_rate_hz, cfg.sub_bands);
        if bands.is_empty() {
            return Err(DecoderError::BadSetting {
                name: "sub_bands",
                value: cfg.sub_bands as f64,
                hint: "no sub-band fits: TRCA's filter bank needs targets above 1 Hz and a sampling rate well above twice the lowest target",
            });
        }
        let filtered = filter_bank(&picked, ch, sample_rate_hz, &bands, cfg.filter_order)?;
        let weights = neuroloop_dsp::filterbank::fbcca_weights(bands.len(), 1.25, 0.25);
        let classes = targets_hz.len();
        let kind = if cfg.ensemble {
            TrcaKind::Ensemble
        } else {
            TrcaKind::Plain
        };
        let lag = (cfg.latency_secs * sample_rate_hz).round() as usize;
        let mut windows_secs = cfg.windows_secs.clone();
        windows_secs.sort_by(f64::total_cmp);
        // One checkpoint per window length in samples (0.5 and 0.501 s are one at 250 Hz).
        windows_secs.dedup_by_key(|s| (*s * sample_rate_hz).round() as usize);
        let mut checkpoints = Vec::with_capacity(windows_secs.len());
        let mut trials_per_class = vec![0; classes];
        for &secs in &windows_secs {
            let n = (secs * sample_rate_hz).round() as usize;
            let kept: Vec<(usize, usize)> = trials
                .iter()
                .copied()
                .filter(|&(o, k)| o + lag + n <= frames && k < classes)
                .collect();
            let windows: Vec<Vec<f32>> = kept
                .iter()
                .map(|&(o, _)| band_window(&filtered, ch, o + lag, n))
                .collect();
            let y: Vec<usize> = kept.iter().map(|t| t.1).collect();
            trials_per_class = (0..classes)
                .map(|k| y.iter().filter(|&&l| l == k).count())
                .collect();
            let refs: Vec<&[f32]> = windows.iter().map(Vec::as_slice).collect();
            let model = TrcaModel::fit(&refs, &y, classes, ch, n, &weights)?;
            let cv_accuracy = (cfg.folds >= 2)
                .then(|| cross_validate(&refs, &y, classes, ch, n, &weights, kind, cfg.folds))
                .transpose()?
                .flatten();
            checkpoints.push(Checkpoint {
                window_secs: secs,
                cv_accuracy,
                trca: model.parts().clone(),
            });
        }
        Ok(SsvepTrcaModel {
            format: SSVEP_MODEL_FORMAT.into(),
            version: 1,
            channels: picks.iter().map(|&c| labels[c].clone()).collect(),
            sample_rate_hz,
            targets_hz: targets_hz.to_vec(),
            bands_hz: bands,
            filter_order: cfg.filter_order,
            latency_secs: cfg.latency_secs,
            ensemble: cfg.ensemble,
            checkpoints,
            source: source.into(),
            trials_per_class,
        })
    }

    /// Checks the protocol and every checkpoint's shapes.
    pub fn validate(&self) -> Result<(), DecoderError> {
        let bad = |reason: String| DecoderError::Model { reason };
        if self.format != SSVEP_MODEL_FORMAT || self.version != 1 {
            return Err(bad(format!(
                "not an SSVEP TRCA model (format `{}` version {}): give a model fitted from an SSVEP calibration (the speller's calibration run, or its fit from a recording)",
                self.format, self.version
            )));
        }
        if self.checkpoints.is_empty()
            || !self.sample_rate_hz.is_finite()
            || self.sample_rate_hz <= 0.0
            || self.channels.is_empty()
            || self.bands_hz.is_empty()
        {
            return Err(bad(
                "the SSVEP model has no checkpoints, channels, bands or rate: refit it".into(),
            ));
        }
        for cp in &self.checkpoints {
            let n = (cp.window_secs * self.sample_rate_hz).round() as usize;
            let p = &cp.trca;
            if p.channels != self.channels.len()
                || p.classes != self.targets_hz.len()
                || p.samples != n
                || p.weights.len() != self.bands_hz.len()
            {
                return Err(bad(format!(
                    "the {} s checkpoint does not fit the model's channels, targets, rate or bands: refit the model",
                    cp.window_secs
                )));
            }
            TrcaModel::from_parts(p.clone())?;
        }
        if self
            .checkpoints
            .windows(2)
            .any(|w| w[1].trca.samples <= w[0].trca.samples)
        {
            return Err(bad(
                "the SSVEP model's checkpoints are not in increasing window lengths (in samples): refit the model".into(),
            ));
        }
        Ok(())
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<(), DecoderError> {
        let text = serde_json::to_string(self).map_err(|e| DecoderError::Model {
            reason: e.to_string(),
        })?;
        std::fs::write(path, text + "\n").map_err(|e| DecoderError::Model {
            reason: format!(
                "cannot write {} ({e}): choose a writable location",
                path.display()
            ),
        })
    }

    /// Reads and validates a model written by [`SsvepTrcaModel::save`].
    pub fn load(path: &Path) -> Result<SsvepTrcaModel, DecoderError> {
        let text = std::fs::read_to_string(path).map_err(|e| DecoderError::Model {
            reason: format!("cannot read {} ({e}): check the path", path.display()),
        })?;
        let model: SsvepTrcaModel =
            serde_json::from_str(&text).map_err(|e| DecoderError::Model {
                reason: format!(
                    "{} is not an SSVEP model ({e}): give a model fitted from an SSVEP calibration (the speller's calibration run, or its fit from a recording)",
                    path.display()
                ),
            })?;
        model.validate()?;
        Ok(model)
    }
}

/// Accuracy over `folds` stratified folds; `None` when a fold's training part lacks two trials
/// of some class.
#[allow(clippy::too_many_arguments)]
fn cross_validate(
    windows: &[&[f32]],
    labels: &[usize],
    classes: usize,
    channels: usize,
    samples: usize,
    weights: &[f64],
    kind: TrcaKind,
    folds: usize,
) -> Result<Option<f64>, DecoderError> {
    let mut correct = 0;
    let mut scores = vec![0.0; classes];
    // Stratified: the j-th trial of each class goes to fold j % folds.
    let mut seen = vec![0usize; classes];
    let fold_of: Vec<usize> = labels
        .iter()
        .map(|&k| {
            seen[k] += 1;
            (seen[k] - 1) % folds
        })
        .collect();
    for fold in 0..folds {
        let train: Vec<usize> = (0..windows.len()).filter(|&i| fold_of[i] != fold).collect();
        let counts_ok =
            (0..classes).all(|k| train.iter().filter(|&&i| labels[i] == k).count() >= 2);
        if !counts_ok {
            return Ok(None);
        }
        let tw: Vec<&[f32]> = train.iter().map(|&i| windows[i]).collect();
        let tl: Vec<usize> = train.iter().map(|&i| labels[i]).collect();
        let mut scorer = TrcaScorer::new(
            TrcaModel::fit(&tw, &tl, classes, channels, samples, weights)?,
            kind,
        );
        for i in (0..windows.len()).filter(|&i| fold_of[i] == fold) {
            scorer.score(windows[i], &mut scores);
            correct += usize::from(argmax(&scores) == labels[i]);
        }
    }
    Ok(Some(correct as f64 / windows.len().max(1) as f64))
}

fn argmax(v: &[f64]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

/// The trial being decoded.
#[derive(Debug, Clone, Copy)]
struct Pending {
    onset: f64,
    /// First frame of the windows (the onset's frame plus the latency in samples), once the
    /// onset's frame has arrived.
    start_frame: Option<u64>,
    /// Next checkpoint to evaluate.
    next: usize,
}

/// What scores the windows: TRCA fitted per checkpoint, or a network.
enum OnsetScorer {
    /// The fitted model and, after `prepare`, one scorer per checkpoint and the pending
    /// trial's sums.
    Trca {
        model: Box<SsvepTrcaModel>,
        scorers: Vec<TrcaScorer>,
        growing: Growing,
    },
    /// A network with one window.
    Net(Box<SsvepNet>),
}

/// The pending trial's window so far, for TRCA: its moments (shared by the checkpoints, whose
/// windows all start at the trial's first frame) and each checkpoint's cross sums.
struct Growing {
    sums: TrcaSums,
    /// `checkpoints × bands × classes`.
    cross: Vec<f64>,
    /// One frame of every band (`bands × channels`), read from the history.
    frame: Vec<f32>,
}

impl Growing {
    fn empty() -> Self {
        Growing {
            sums: TrcaSums::new(0, 0),
            cross: Vec::new(),
            frame: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.sums.clear();
        self.cross.fill(0.0);
    }
}

/// What the windows are cut from: the model's channels, rate, filter bank and timing.
#[derive(Debug, Clone)]
struct OnsetProtocol {
    name: &'static str,
    channels: Vec<String>,
    sample_rate_hz: f64,
    targets_hz: Vec<f64>,
    bands_hz: Vec<(f64, f64)>,
    filter_order: usize,
    latency_secs: f64,
    /// Checkpoints: window lengths in seconds and samples, increasing.
    windows_secs: Vec<f64>,
    lengths: Vec<usize>,
}

/// Onset-locked SSVEP decoder (TRCA or a network) with dynamic stopping.
pub struct SsvepOnsetDecoder {
    scorer: OnsetScorer,
    protocol: OnsetProtocol,
    min_margin: f64,
    class_names: Vec<String>,
    picks: Vec<usize>,
    width: usize,
    picked: Vec<f32>,
    bank: FilterBank,
    windows: Vec<RingWindow>,
    buf: Vec<f32>,
    scores: Vec<f64>,
    /// Stamp of every frame the windows hold, indexed by frame number modulo its length.
    stamps: Vec<f64>,
    pending: Option<Pending>,
    fs: f64,
}

impl SsvepOnsetDecoder {
    /// A TRCA decoder for `model`; a decision is confident (stops the trial) when the relative
    /// margin of the best over the second score reaches `min_margin`.
    pub fn trca(model: SsvepTrcaModel, min_margin: f64) -> Result<Self, DecoderError> {
        model.validate()?;
        let protocol = OnsetProtocol {
            name: if model.ensemble {
                "ssvep-etrca"
            } else {
                "ssvep-trca"
            },
            channels: model.channels.clone(),
            sample_rate_hz: model.sample_rate_hz,
            targets_hz: model.targets_hz.clone(),
            bands_hz: model.bands_hz.clone(),
            filter_order: model.filter_order,
            latency_secs: model.latency_secs,
            windows_secs: model.checkpoints.iter().map(|c| c.window_secs).collect(),
            lengths: model.checkpoints.iter().map(|c| c.trca.samples).collect(),
        };
        let scorer = OnsetScorer::Trca {
            model: Box::new(model),
            scorers: Vec::new(),
            growing: Growing::empty(),
        };
        Ok(Self::with(scorer, protocol, min_margin))
    }

    /// A decoder running `net` on its card's window after each onset; the decision is marked
    /// confident when the relative margin of the most over the second most probable target
    /// reaches `min_margin`.
    pub fn net(net: SsvepNet, min_margin: f64) -> Self {
        let c = net.config();
        let protocol = OnsetProtocol {
            name: "ssvep-net",
            channels: c.channels.clone(),
            sample_rate_hz: c.sample_rate_hz,
            targets_hz: c.targets_hz.clone(),
            bands_hz: c.bands_hz.clone(),
            filter_order: c.filter_order,
            latency_secs: c.latency_secs,
            windows_secs: vec![c.window_secs],
            lengths: vec![c.window_frames()],
        };
        Self::with(OnsetScorer::Net(Box::new(net)), protocol, min_margin)
    }

    fn with(scorer: OnsetScorer, protocol: OnsetProtocol, min_margin: f64) -> Self {
        let class_names = protocol
            .targets_hz
            .iter()
            .map(|f| format!("{f}Hz"))
            .collect();
        let bank = FilterBank::new(protocol.bands_hz.clone(), protocol.filter_order);
        SsvepOnsetDecoder {
            scorer,
            protocol,
            min_margin,
            class_names,
            picks: Vec::new(),
            width: 0,
            picked: Vec::new(),
            bank,
            windows: Vec::new(),
            buf: Vec::new(),
            scores: Vec::new(),
            stamps: Vec::new(),
            pending: None,
            fs: 0.0,
        }
    }

    /// Target frequencies in class order.
    pub fn targets_hz(&self) -> &[f64] {
        &self.protocol.targets_hz
    }

    /// Adds the pending trial's frames from `start + frames so far` up to `total` (exclusive)
    /// to the TRCA sums, deciding at each checkpoint reached, until the trial ends.
    fn advance_trca(&mut self, start: u64, total: u64, out: &mut DecisionBuffer) {
        loop {
            let Some(p) = self.pending else { return };
            let OnsetScorer::Trca {
                scorers, growing, ..
            } = &mut self.scorer
            else {
                return;
            };
            let offset = growing.sums.frames();
            let frame = start + offset as u64;
            if frame >= total {
                return;
            }
            let ch = self.picks.len();
            for (b, w) in self.windows.iter().enumerate() {
                let dest = &mut growing.frame[b * ch..(b + 1) * ch];
                if w.copy_range_channel_major(frame, 1, dest).is_err() {
                    // Not held (any more): give the trial up rather than retry it.
                    self.pending = None;
                    return;
                }
            }
            growing.sums.add(&growing.frame);
            let per_checkpoint = growing.cross.len() / scorers.len().max(1);
            for (i, scorer) in scorers.iter().enumerate().skip(p.next) {
                let cross = &mut growing.cross[i * per_checkpoint..(i + 1) * per_checkpoint];
                scorer.add_cross(offset, &growing.frame, cross);
            }
            if offset + 1 == self.protocol.lengths[p.next] {
                let cross = &growing.cross[p.next * per_checkpoint..(p.next + 1) * per_checkpoint];
                scorers[p.next].score_sums(&growing.sums, cross, &mut self.scores);
                self.emit(p.next, start, out);
            }
        }
    }

    /// Scores checkpoint `i` of the pending trial with the network, reading its window from
    /// the history.
    fn decide_net(&mut self, i: usize, start: u64, out: &mut DecisionBuffer) {
        let n = self.protocol.lengths[i];
        let per_band = self.picks.len() * n;
        for (b, w) in self.windows.iter().enumerate() {
            let dest = &mut self.buf[b * per_band..(b + 1) * per_band];
            if w.copy_range_channel_major(start, n, dest).is_err() {
                // Not held (any more): give the trial up rather than retry it.
                self.pending = None;
                return;
            }
        }
        let window = &self.buf[..self.windows.len() * per_band];
        if let OnsetScorer::Net(net) = &mut self.scorer
            && !net.predict(window, &mut self.scores)
        {
            // Non-finite samples in the window, or the network failed: no decision.
            self.pending = None;
            return;
        }
        self.emit(i, start, out);
    }

    /// Turns the scores of checkpoint `i` (in `self.scores`) into a decision, ending the trial
    /// when it is confident or the last checkpoint.
    fn emit(&mut self, i: usize, start: u64, out: &mut DecisionBuffer) {
        let n = self.protocol.lengths[i];
        let scores = &self.scores;
        if scores.iter().any(|s| !s.is_finite()) {
            // Non-finite samples in the window: no decision.
            self.pending = None;
            return;
        }
        let best = argmax(scores);
        let second = (0..scores.len())
            .filter(|&k| k != best)
            .max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        let top = scores[best];
        let margin = match second {
            Some(s) if top > 0.0 => ((top - scores[s]) / top).max(0.0),
            Some(_) => 0.0,
            None => 1.0,
        };
        let cap = self.stamps.len() as u64;
        let last_frame = start + n as u64 - 1;
        let sample_time = self.stamps[(last_frame % cap) as usize];
        let window_start = self.stamps[(start % cap) as usize];
        out.push(Decision {
            class: best as u16,
            score: top as f32,
            confidence: margin as f32,
            confident: margin >= self.min_margin,
            sample_time,
            window_start,
            window_secs: self.protocol.windows_secs[i] as f32,
        });
        if margin >= self.min_margin || i + 1 == self.protocol.lengths.len() {
            self.pending = None;
        } else if let Some(p) = self.pending.as_mut() {
            p.next = i + 1;
        }
    }
}

impl Decoder for SsvepOnsetDecoder {
    fn decides_at_onsets(&self) -> bool {
        true
    }

    fn failures(&self) -> u64 {
        match &self.scorer {
            OnsetScorer::Net(net) => net.failures(),
            OnsetScorer::Trca { .. } => 0,
        }
    }

    fn name(&self) -> &str {
        self.protocol.name
    }

    fn class_names(&self) -> &[String] {
        &self.class_names
    }

    fn input_channels(&self) -> Vec<usize> {
        self.picks.clone()
    }

    fn prepare(&mut self, ctx: &DecoderContext) -> Result<(), DecoderError> {
        let p = &self.protocol;
        if (ctx.sample_rate_hz - p.sample_rate_hz).abs() > 1e-6 {
            return Err(DecoderError::Model {
                reason: format!(
                    "the SSVEP model ({}) was made at {} Hz but the stream runs at {} Hz: use a model made at the stream's rate (calibrate at it for TRCA) or run the stream at {} Hz",
                    p.name, p.sample_rate_hz, ctx.sample_rate_hz, p.sample_rate_hz
                ),
            });
        }
        self.picks = channel_indices(&p.channels, &ctx.channel_labels)?;
        self.width = ctx.channel_labels.len();
        let ch = self.picks.len();
        self.fs = ctx.sample_rate_hz;
        self.bank = FilterBank::new(p.bands_hz.clone(), p.filter_order);
        self.bank.prepare(self.fs, ch, ctx.max_block_frames)?;
        self.picked = vec![0.0; ctx.max_block_frames * ch];
        let bands = p.bands_hz.len();
        let classes = p.targets_hz.len();
        if let OnsetScorer::Trca {
            model,
            scorers,
            growing,
        } = &mut self.scorer
        {
            let kind = if model.ensemble {
                TrcaKind::Ensemble
            } else {
                TrcaKind::Plain
            };
            *scorers = model
                .checkpoints
                .iter()
                .map(|cp| {
                    Ok(TrcaScorer::new(
                        TrcaModel::from_parts(cp.trca.clone())?,
                        kind,
                    ))
                })
                .collect::<Result<_, DecoderError>>()?;
            *growing = Growing {
                sums: TrcaSums::new(bands, ch),
                cross: vec![0.0; scorers.len() * bands * classes],
                frame: vec![0.0; bands * ch],
            };
        }
        let longest = p.lengths.iter().copied().max().unwrap_or(0);
        // Room for the latency, the longest window and two seconds of late onsets.
        let capacity = longest + ((p.latency_secs + 2.0) * self.fs).ceil() as usize;
        self.windows = (0..bands).map(|_| RingWindow::new(ch, capacity)).collect();
        // The network reads its window whole; TRCA reads one frame at a time.
        self.buf = match self.scorer {
            OnsetScorer::Net(_) => vec![0.0; bands * ch * longest],
            OnsetScorer::Trca { .. } => Vec::new(),
        };
        self.stamps = vec![f64::NAN; capacity];
        self.scores = vec![0.0; p.targets_hz.len()];
        self.pending = None;
        Ok(())
    }

    fn stimulus_onset(&mut self, onset: f64) {
        // The same onset reported twice (e.g. by the speller and by a marker) is one trial.
        if self.pending.is_some_and(|p| (p.onset - onset).abs() < 1e-3) {
            return;
        }
        self.pending = Some(Pending {
            onset,
            start_frame: None,
            next: 0,
        });
    }

    fn process(&mut self, block: &[f32], stamps: &[f64], out: &mut DecisionBuffer) {
        let frames = stamps.len().min(block.len() / self.width.max(1));
        if frames == 0 || self.windows.is_empty() {
            return;
        }
        let ch = self.picks.len();
        for f in 0..frames {
            for (j, &c) in self.picks.iter().enumerate() {
                self.picked[f * ch + j] = block[f * self.width + c];
            }
        }
        if self
            .bank
            .process_interleaved(&self.picked[..frames * ch])
            .is_err()
        {
            return;
        }
        let first = self.windows[0].total_frames();
        for (b, w) in self.windows.iter_mut().enumerate() {
            w.push_interleaved(self.bank.band_output(b));
        }
        let cap = self.stamps.len() as u64;
        for (f, &t) in stamps[..frames].iter().enumerate() {
            self.stamps[((first + f as u64) % cap) as usize] = t;
        }
        let total = self.windows[0].total_frames();
        let oldest = self.windows[0].oldest_frame();
        let last_stamp = stamps[frames - 1];
        let Some(mut p) = self.pending else {
            return;
        };
        if p.start_frame.is_none() {
            // The onset's frame is the one stamped nearest to it, found among the stamps held,
            // so that replays at any speed (whose stamps are compressed) and jittery stamps
            // still find it; the latency is then counted in samples, as in fitting.
            let target = p.onset;
            if target > last_stamp {
                return;
            }
            let stamp = |f: u64| self.stamps[(f % cap) as usize];
            if stamp(oldest) > target {
                // Reported too late for the data still held.
                self.pending = None;
                return;
            }
            let mut onset_frame = total - 1;
            while onset_frame > oldest && stamp(onset_frame - 1) >= target {
                onset_frame -= 1;
            }
            if onset_frame > oldest && target - stamp(onset_frame - 1) < stamp(onset_frame) - target
            {
                onset_frame -= 1;
            }
            let lag = (self.protocol.latency_secs * self.fs).round() as u64;
            p.start_frame = Some(onset_frame + lag);
            self.pending = Some(p);
            if let OnsetScorer::Trca { growing, .. } = &mut self.scorer {
                growing.clear();
            }
        }
        if let OnsetScorer::Trca { .. } = self.scorer {
            if let Some(start) = self.pending.and_then(|p| p.start_frame) {
                self.advance_trca(start, total, out);
            }
            return;
        }
        while let Some(Pending {
            start_frame: Some(start),
            next,
            ..
        }) = self.pending
        {
            if start < oldest {
                self.pending = None;
                break;
            }
            if total < start + self.protocol.lengths[next] as u64 {
                break;
            }
            self.decide_net(next, start, out);
        }
    }

    fn reset(&mut self) {
        self.bank.reset();
        for w in &mut self.windows {
            w.clear();
        }
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight channels at 250 Hz: trial `k` flickers at `targets[k]` with a per-channel gain
    /// and phase for 2.5 s from each onset (every 3 s), plus noise.
    fn recording(targets: &[f64], trials: usize) -> (Vec<f32>, Vec<String>, Vec<(usize, usize)>) {
        let (fs, ch) = (250.0, 8);
        let mut noise = crate::test_noise::Xorshift(0x0123_4567_89AB_CDEF);
        let frames = (trials * 3 + 1) * 250;
        let onsets: Vec<(usize, usize)> = (0..trials)
            .map(|t| (t * 750 + 100, t % targets.len()))
            .collect();
        let mut data = vec![0.0f32; frames * ch];
        for (f, frame) in data.chunks_exact_mut(ch).enumerate() {
            let on = onsets
                .iter()
                .find(|&&(o, _)| f >= o && f < o + 625)
                .map(|&(o, k)| (f - o, k));
            for (c, v) in frame.iter_mut().enumerate() {
                let mut x = 2.0 * (noise.uniform() - 0.5) + 0.5;
                if let Some((t, k)) = on {
                    let phase = std::f64::consts::TAU * targets[k] * t as f64 / fs;
                    x += (0.3 + 0.1 * c as f64) * (phase + 0.4 * c as f64).sin();
                }
                *v = x as f32;
            }
        }
        let labels = (0..ch).map(|c| format!("O{c}")).collect();
        (data, labels, onsets)
    }

    #[test]
    fn online_decisions_equal_scores_of_their_windows() {
        let targets = [8.0, 10.0, 13.0];
        let (data, labels, trials) = recording(&targets, 24);
        let (fs, ch) = (250.0, labels.len());
        let picks: Vec<usize> = (0..ch).collect();
        let cfg = TrcaFitConfig {
            windows_secs: vec![0.5, 1.0, 1.5],
            folds: 0,
            ..TrcaFitConfig::default()
        };
        let model = SsvepTrcaModel::fit(
            &data,
            &labels,
            fs,
            &picks,
            &trials[..12],
            &targets,
            &cfg,
            "test",
        )
        .unwrap();
        // Offline: every checkpoint's score of every held-out trial's window.
        let filtered = filter_bank(&data, ch, fs, &model.bands_hz, model.filter_order).unwrap();
        let lag = (model.latency_secs * fs).round() as usize;
        let mut scorers: Vec<TrcaScorer> = model
            .checkpoints
            .iter()
            .map(|c| {
                TrcaScorer::new(
                    TrcaModel::from_parts(c.trca.clone()).unwrap(),
                    TrcaKind::Ensemble,
                )
            })
            .collect();
        let mut expected = Vec::new();
        for &(onset, _) in &trials[12..] {
            for (i, scorer) in scorers.iter_mut().enumerate() {
                let n = model.checkpoints[i].trca.samples;
                let mut scores = vec![0.0; targets.len()];
                scorer.score(&band_window(&filtered, ch, onset + lag, n), &mut scores);
                expected.push(scores);
            }
        }
        // Online, never confident (every checkpoint decided), in blocks of 7 frames; every
        // other onset reported 0.3 s after its frame has arrived, so that the decoder catches
        // up from its history.
        let mut decoder = SsvepOnsetDecoder::trca(model, 2.0).unwrap();
        decoder
            .prepare(&DecoderContext {
                sample_rate_hz: fs,
                channel_labels: labels.clone(),
                max_block_frames: 7,
                eeg: Vec::new(),
            })
            .unwrap();
        let mut out = DecisionBuffer::with_capacity(16);
        let mut decisions = Vec::new();
        let frames = data.len() / ch;
        let mut reported = 12;
        let mut stamps = [0.0f64; 7];
        for first in (0..frames).step_by(7) {
            let n = 7.min(frames - first);
            if let Some(&(onset, _)) = trials.get(reported) {
                let delay = if reported % 2 == 0 { 0 } else { 75 };
                if first + n > onset + delay {
                    decoder.stimulus_onset(onset as f64 / fs);
                    reported += 1;
                }
            }
            for (j, s) in stamps[..n].iter_mut().enumerate() {
                *s = (first + j) as f64 / fs;
            }
            out.clear();
            decoder.process(&data[first * ch..(first + n) * ch], &stamps[..n], &mut out);
            decisions.extend(out.items().iter().map(|&(_, d)| d));
        }
        assert_eq!(
            decisions.len(),
            expected.len(),
            "one decision per checkpoint"
        );
        for (d, scores) in decisions.iter().zip(&expected) {
            let best = argmax(scores);
            assert_eq!(d.class as usize, best, "{d:?} vs {scores:?}");
            assert!(
                (f64::from(d.score) - scores[best]).abs() < 1e-4,
                "{d:?} vs {scores:?}"
            );
        }
        let at = |i: usize| decisions[i * 3 + 2].class as usize;
        let right = (0..12).filter(|&i| at(i) == trials[12 + i].1).count();
        assert!(right >= 10, "{right}/12 correct at 1.5 s");
    }
}
