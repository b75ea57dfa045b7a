//! SSVEP evaluation on the Kalunga data set.
//! `neuroloop eval ssvep --kalunga DIR` scores SSVEP methods on the SSVEP
//! exoskeleton data set (Kalunga et al.; 8 occipital channels at 256 Hz, LEDs at 13, 17 and
//! 21 Hz) and prints them beside the reference numbers that `scripts/reference/ssvep_kalunga.py`
//! computes with numpy/scipy on the same protocol:
//!
//! - every `<session>.npy` with its `<session>_events.csv`, except the sessions the data set's
//!   authors excluded; trials are the stimulation onsets (32779) labelled by the preceding
//!   label code (33025 = 13 Hz, 33027 = 17 Hz, 33026 = 21 Hz); rest trials are left out, so
//!   chance is 1/3;
//! - the continuous session is filtered causally (as online), then the window
//!   `[onset, onset + W)` is classified;
//! - `cca`: Butterworth band-pass 5-45 Hz (order 4), references at 2 harmonics; `fbcca`: five
//!   sub-bands `[8k, 88]` Hz (order 4), references at 3 harmonics, score
//!   `sum_k (k^-1.25 + 0.25) rho_k^2` (Chen et al. 2015);
//! - `trca`, `etrca`: the FBCCA filter bank, TRCA or ensemble TRCA filters and templates
//!   fitted on the session's other trials (leave one trial out, no test trial in training),
//!   score `sum_k (k^-1.25 + 0.25) rho_k` (Nakanishi et al. 2018);
//! - accuracy per subject (sessions pooled), mean over subjects, and Wolpaw ITR with
//!   `T = W + 0.5 s` for the gaze shift.
//! - `onnx`: a network given its card (the shipped `assets/models/ssvep-net.toml` by default)
//!   on the card's sub-band windows from each onset; its mean is over the subjects it was not
//!   trained on (the card's `training_subjects` are left out of it), printed beside FBCCA's on
//!   the same subjects and window. A network trained on every subject present is scored on all
//!   of them, in-sample, and says so (`in_sample`).

use std::collections::BTreeMap;
use std::path::Path;

use neuroloop_decoders::onnx::ModelCard;
use neuroloop_decoders::ssvep::SsvepNet;
use neuroloop_decoders::ssvep::cca::CcaScorer;
use neuroloop_decoders::ssvep::net::SsvepNetConfig;
use neuroloop_decoders::ssvep::onset::{band_window, filter_bank};
use neuroloop_decoders::ssvep::trca::{TrcaKind, TrcaModel, TrcaScorer};
use neuroloop_dsp::filter::{FilterChain, FilterSpec};
use neuroloop_dsp::filterbank::{FilterBank, fbcca_weights};
use serde::Serialize;

use super::{create_dump_folder, dump_index_json, write_file};
use crate::error::{OfflineError, Result};

/// Sampling rate of the Kalunga recordings.
pub const KALUNGA_RATE_HZ: f64 = 256.0;
/// Stimulation frequencies, in class order.
pub const KALUNGA_FREQS_HZ: [f64; 3] = [13.0, 17.0, 21.0];
/// Channel labels of the recordings, in column order.
pub const KALUNGA_CHANNEL_LABELS: [&str; 8] = ["Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4"];
/// Channels per recording.
pub const KALUNGA_CHANNELS: usize = KALUNGA_CHANNEL_LABELS.len();
/// Sessions the data set's authors excluded for protocol problems.
const EXCLUDED: [&str; 5] = [
    "s08_2013.04.06-16.22.32",
    "s10_2014.02.26-15.10.48",
    "s10_2014.02.26-15.50.09",
    "s11_2014.02.24-17.56.37",
    "s11_2014.02.24-18.02.40",
];
/// The reference accuracies computed by `scripts/reference/ssvep_kalunga.py`.
pub const KALUNGA_REFERENCE_JSON: &str =
    include_str!("../../reference/ssvep_kalunga_reference.json");

/// One recording session: interleaved frames and its labelled trials.
pub struct SsvepSession {
    /// File stem, e.g. `s01_2012.07.06-19.02.16`.
    pub name: String,
    /// Subject id, e.g. `s01`.
    pub subject: String,
    /// Interleaved frames (`frames × channels`).
    pub data: Vec<f32>,
    /// Trials: onset sample and class index.
    pub trials: Vec<(usize, usize)>,
}

/// Moves every trial's marker by `secs` (positive: later), as an amplifier, a marker stream or
/// a display with another delay would place it; trials whose shifted onset falls before the
/// first sample are dropped. Returns how many were dropped. The data are untouched: only where
/// each method believes the response starts moves.
pub fn shift_markers(sessions: &mut [SsvepSession], secs: f64, sample_rate_hz: f64) -> usize {
    let shift = (secs * sample_rate_hz).round() as i64;
    let mut dropped = 0;
    for s in sessions {
        let before = s.trials.len();
        s.trials = s
            .trials
            .iter()
            .filter_map(|&(onset, label)| {
                usize::try_from(onset as i64 + shift)
                    .ok()
                    .map(|o| (o, label))
            })
            .collect();
        dropped += before - s.trials.len();
    }
    dropped
}

/// SSVEP methods: training-free (CCA, FBCCA) and fitted from calibration trials (TRCA,
/// ensemble TRCA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SsvepMethod {
    /// Canonical correlation analysis on one band.
    Cca,
    /// Filter-bank CCA (Chen et al. 2015).
    Fbcca,
    /// FBCCA's evidence summed over the window and its tails from every start
    /// [`STARTS_STEP_SECS`] apart up to half the window: no response latency is assumed.
    #[serde(rename = "fbcca-starts")]
    FbccaStarts,
    /// Filter-bank task-related component analysis (Nakanishi et al. 2018), one spatial filter
    /// per class; cross-validated leave one trial out within each session.
    Trca,
    /// Filter-bank ensemble TRCA (every class's filter applied together); cross-validated as
    /// TRCA.
    Etrca,
    /// A network run by ONNX Runtime (`--model CARD`, the shipped one by default), scored on
    /// the subjects it was not trained on.
    Onnx,
}

impl SsvepMethod {
    /// Name used on the command line and in the reference file.
    pub fn name(self) -> &'static str {
        match self {
            SsvepMethod::Cca => "cca",
            SsvepMethod::Fbcca => "fbcca",
            SsvepMethod::FbccaStarts => "fbcca-starts",
            SsvepMethod::Trca => "trca",
            SsvepMethod::Etrca => "etrca",
            SsvepMethod::Onnx => "onnx",
        }
    }

    /// The TRCA variant, for the methods fitted from calibration trials.
    fn trca_kind(self) -> Option<TrcaKind> {
        match self {
            SsvepMethod::Cca
            | SsvepMethod::Fbcca
            | SsvepMethod::FbccaStarts
            | SsvepMethod::Onnx => None,
            SsvepMethod::Trca => Some(TrcaKind::Plain),
            SsvepMethod::Etrca => Some(TrcaKind::Ensemble),
        }
    }
}

/// Spacing of the window starts `fbcca-starts` sums over, s.
pub const STARTS_STEP_SECS: f64 = 0.25;

/// Offsets (samples from the window's start) of the tails `fbcca-starts` scores in a window of
/// `n` samples at `fs`: every [`STARTS_STEP_SECS`] from 0 while the tail keeps at least half
/// the window.
pub fn tail_offsets(n: usize, fs: f64) -> Vec<usize> {
    let step = (STARTS_STEP_SECS * fs).round().max(1.0) as usize;
    (0..=n / 2).step_by(step).collect()
}

/// Result of one subject.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SubjectScore {
    /// Correct trials.
    pub correct: usize,
    /// Trials.
    pub trials: usize,
}

/// Result of one method at one window length.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SsvepEval {
    /// Method.
    pub method: SsvepMethod,
    /// Window length in seconds.
    pub window_secs: f64,
    /// Per subject.
    pub subjects: BTreeMap<String, SubjectScore>,
    /// Mean over subjects of the per-subject accuracy.
    pub mean_accuracy: f64,
    /// Mean over subjects of the Wolpaw ITR (bits/min, `T = W + 0.5 s`).
    pub mean_itr_bits_per_min: f64,
    /// A network: the subjects it was trained on, scored in-sample (not in the mean).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_subjects: Option<BTreeMap<String, SubjectScore>>,
    /// A network: FBCCA's mean accuracy on the same subjects and window.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fbcca_same_subjects: Option<f64>,
    /// A network trained on every subject scored: the mean is in-sample.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_sample: bool,
}

/// Loads every usable session of the Kalunga data set's `npy` folder.
pub fn load_kalunga(dir: &Path) -> Result<Vec<SsvepSession>> {
    let mut stems: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| OfflineError::ListFolder {
            path: dir.to_path_buf(),
            hint: "pass the Kalunga data set's npy folder",
            source,
        })?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".npy").map(str::to_string)
        })
        .filter(|s| !EXCLUDED.contains(&s.as_str()))
        .collect();
    stems.sort();
    if stems.is_empty() {
        return Err(OfflineError::data(format!(
            "no <session>.npy files in {}",
            dir.display()
        )));
    }
    let mut sessions = Vec::with_capacity(stems.len());
    for stem in stems {
        let array = neuroloop_formats::npy::read(dir.join(format!("{stem}.npy")))?;
        if array.columns() != KALUNGA_CHANNELS {
            return Err(OfflineError::data(format!(
                "{stem}.npy has {} columns; the Kalunga layout has {KALUNGA_CHANNELS} channels",
                array.columns()
            )));
        }
        let mut data = Vec::with_capacity(array.rows() * KALUNGA_CHANNELS);
        for r in 0..array.rows() {
            for c in 0..KALUNGA_CHANNELS {
                data.push(array.get(r, c).unwrap_or(f64::NAN) as f32);
            }
        }
        let events =
            neuroloop_formats::sample_events::read(dir.join(format!("{stem}_events.csv")))?;
        let mut trials = Vec::new();
        let mut label = None;
        for e in &events {
            match e.code {
                33025 => label = Some(0),
                33027 => label = Some(1),
                33026 => label = Some(2),
                33024 => label = None,
                32779 => {
                    if let Some(l) = label.take() {
                        trials.push((e.sample_index as usize, l));
                    }
                }
                _ => {}
            }
        }
        let subject = stem.split('_').next().unwrap_or(&stem).to_string();
        sessions.push(SsvepSession {
            name: stem,
            subject,
            data,
            trials,
        });
    }
    Ok(sessions)
}

/// Wolpaw information transfer rate in bits per minute for `n` classes, accuracy `p` and
/// `secs` per selection.
pub fn wolpaw_itr(p: f64, n: usize, secs: f64) -> f64 {
    let n_f = n as f64;
    let bits = if p >= 1.0 {
        n_f.log2()
    } else if p <= 1.0 / n_f {
        0.0
    } else {
        n_f.log2() + p * p.log2() + (1.0 - p) * ((1.0 - p) / (n_f - 1.0)).log2()
    };
    bits * 60.0 / secs
}

/// Causally filtered copies of a session: one interleaved array per band.
fn filtered_bands(method: SsvepMethod, data: &[f32]) -> Result<Vec<Vec<f32>>> {
    const BLOCK: usize = 256;
    let ch = KALUNGA_CHANNELS;
    if method == SsvepMethod::Cca {
        let mut chain = FilterChain::new(vec![FilterSpec::bandpass(5.0, 45.0, 4)]);
        chain.prepare(KALUNGA_RATE_HZ, ch, BLOCK)?;
        let mut out = data.to_vec();
        for block in out.chunks_mut(BLOCK * ch) {
            chain.process_interleaved(block);
        }
        return Ok(vec![out]);
    }
    let bands = FilterBank::fbcca(5, 4).bands().to_vec();
    Ok(filter_bank(data, ch, KALUNGA_RATE_HZ, &bands, 4)?)
}

/// Scores `method` on every trial of `sessions`, once per window length in `windows_secs`.
/// Each session is filtered once and shared by all window lengths.
pub fn evaluate_ssvep(
    sessions: &[SsvepSession],
    method: SsvepMethod,
    windows_secs: &[f64],
) -> Result<Vec<SsvepEval>> {
    let refs: Vec<&SsvepSession> = sessions.iter().collect();
    evaluate_ssvep_refs(&refs, method, windows_secs)
}

fn evaluate_ssvep_refs(
    sessions: &[&SsvepSession],
    method: SsvepMethod,
    windows_secs: &[f64],
) -> Result<Vec<SsvepEval>> {
    if let Some(kind) = method.trca_kind() {
        return evaluate_trca(sessions, method, kind, windows_secs);
    }
    if method == SsvepMethod::Onnx {
        return Err(OfflineError::request(
            "the network is scored by evaluate_ssvep_net, on its card's window",
        ));
    }
    let ch = KALUNGA_CHANNELS;
    let harmonics = match method {
        SsvepMethod::Cca => 2,
        _ => 3,
    };
    let weights = fbcca_weights(5, 1.25, 0.25);
    /// Scorers and window buffers (one per tail scored: the whole window, or its tails for
    /// `fbcca-starts`) and tallies of one window length.
    struct Tally {
        n: usize,
        tails: Vec<(usize, CcaScorer, Vec<f32>)>,
        subjects: BTreeMap<String, SubjectScore>,
    }
    let mut tallies = windows_secs
        .iter()
        .map(|&secs| {
            let n = (secs * KALUNGA_RATE_HZ).round() as usize;
            let offsets = match method {
                SsvepMethod::FbccaStarts => tail_offsets(n, KALUNGA_RATE_HZ),
                _ => vec![0],
            };
            let tails = offsets
                .into_iter()
                .map(|d| {
                    let len = n - d;
                    let scorer =
                        CcaScorer::new(ch, len, KALUNGA_RATE_HZ, &KALUNGA_FREQS_HZ, harmonics)?;
                    Ok((d, scorer, vec![0.0f32; ch * len]))
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(Tally {
                n,
                tails,
                subjects: BTreeMap::new(),
            })
        })
        .collect::<Result<Vec<Tally>>>()?;
    let mut rho = [0.0f64; 3];
    for session in sessions {
        let bands = filtered_bands(method, &session.data)?;
        let frames = session.data.len() / ch;
        for tally in &mut tallies {
            let n = tally.n;
            let score = tally
                .subjects
                .entry(session.subject.clone())
                .or_insert(SubjectScore {
                    correct: 0,
                    trials: 0,
                });
            for &(onset, label) in &session.trials {
                if onset + n > frames {
                    continue;
                }
                let mut total = [0.0f64; 3];
                for (b, band) in bands.iter().enumerate() {
                    for (d, scorer, window) in &mut tally.tails {
                        let len = n - *d;
                        for c in 0..ch {
                            for i in 0..len {
                                window[c * len + i] = band[(onset + *d + i) * ch + c];
                            }
                        }
                        scorer.score(window, &mut rho);
                        for (t, r) in total.iter_mut().zip(&rho) {
                            *t += match method {
                                SsvepMethod::Cca => *r,
                                _ => weights[b] * r * r,
                            };
                        }
                    }
                }
                let best = (0..3)
                    .max_by(|&a, &b| total[a].total_cmp(&total[b]))
                    .unwrap_or(0);
                score.correct += usize::from(best == label);
                score.trials += 1;
            }
        }
    }
    Ok(windows_secs
        .iter()
        .zip(tallies)
        .map(|(&window_secs, tally)| summarise(method, window_secs, tally.subjects))
        .collect())
}

/// Mean accuracy and ITR over subjects.
pub fn summarise(
    method: SsvepMethod,
    window_secs: f64,
    subjects: BTreeMap<String, SubjectScore>,
) -> SsvepEval {
    let accs: Vec<f64> = subjects
        .values()
        .map(|s| s.correct as f64 / s.trials.max(1) as f64)
        .collect();
    let count = accs.len().max(1) as f64;
    SsvepEval {
        method,
        window_secs,
        mean_accuracy: accs.iter().sum::<f64>() / count,
        mean_itr_bits_per_min: accs
            .iter()
            .map(|&a| wolpaw_itr(a, 3, window_secs + 0.5))
            .sum::<f64>()
            / count,
        subjects,
        training_subjects: None,
        fbcca_same_subjects: None,
        in_sample: false,
    }
}

/// TRCA and ensemble TRCA, leave one trial out within each session: for every trial, filters
/// and templates are fitted on the session's other trials (the same filter bank as FBCCA, Chen's
/// weights on the correlations) and the held-out window `[onset, onset + W)` is scored.
fn evaluate_trca(
    sessions: &[&SsvepSession],
    method: SsvepMethod,
    kind: TrcaKind,
    windows_secs: &[f64],
) -> Result<Vec<SsvepEval>> {
    let ch = KALUNGA_CHANNELS;
    let classes = KALUNGA_FREQS_HZ.len();
    let mut results = Vec::with_capacity(windows_secs.len());
    let filtered: Vec<Vec<Vec<f32>>> = sessions
        .iter()
        .map(|s| filtered_bands(method, &s.data))
        .collect::<Result<_>>()?;
    for &window_secs in windows_secs {
        let n = (window_secs * KALUNGA_RATE_HZ).round() as usize;
        let mut subjects: BTreeMap<String, SubjectScore> = BTreeMap::new();
        for (session, bands) in sessions.iter().zip(&filtered) {
            let frames = session.data.len() / ch;
            let weights = fbcca_weights(bands.len(), 1.25, 0.25);
            // Every complete trial as bands × channels × samples.
            let (windows, labels): (Vec<Vec<f32>>, Vec<usize>) = session
                .trials
                .iter()
                .filter(|&&(onset, _)| onset + n <= frames)
                .map(|&(onset, label)| (band_window(bands, ch, onset, n), label))
                .unzip();
            let score = subjects
                .entry(session.subject.clone())
                .or_insert(SubjectScore {
                    correct: 0,
                    trials: 0,
                });
            let mut rho = vec![0.0f64; classes];
            for held in 0..windows.len() {
                let train: Vec<&[f32]> = (0..windows.len())
                    .filter(|&i| i != held)
                    .map(|i| windows[i].as_slice())
                    .collect();
                let train_labels: Vec<usize> = (0..labels.len())
                    .filter(|&i| i != held)
                    .map(|i| labels[i])
                    .collect();
                let model = TrcaModel::fit(&train, &train_labels, classes, ch, n, &weights)
                    .map_err(|source| OfflineError::FitSession {
                        method: method.name(),
                        session: session.name.clone(),
                        source,
                    })?;
                TrcaScorer::new(model, kind).score(&windows[held], &mut rho);
                let best = (0..classes)
                    .max_by(|&a, &b| rho[a].total_cmp(&rho[b]))
                    .unwrap_or(0);
                score.correct += usize::from(best == labels[held]);
                score.trials += 1;
            }
        }
        results.push(summarise(method, window_secs, subjects));
    }
    Ok(results)
}

/// What the SSVEP network's trainer reads: the FBCCA filter bank (five sub-bands `[8k, 88]` Hz,
/// order 4) and the 2-s window from each onset, on the Kalunga channels.
pub fn kalunga_net_config() -> SsvepNetConfig {
    SsvepNetConfig {
        channels: KALUNGA_CHANNEL_LABELS
            .iter()
            .map(|c| c.to_string())
            .collect(),
        sample_rate_hz: KALUNGA_RATE_HZ,
        targets_hz: KALUNGA_FREQS_HZ.to_vec(),
        bands_hz: FilterBank::fbcca(5, 4).bands().to_vec(),
        filter_order: 4,
        window_secs: 2.0,
        latency_secs: 0.0,
    }
}

/// The network input of every complete trial of `session` (`config`'s sub-bands of the
/// continuous session, filtered causally as online, the window from `onset + latency`;
/// band-major, then channel-major) with its onset and class; `front_end`, when given, is
/// applied to the session first (as the live pipeline does). `config` must be for the Kalunga
/// channels and rate.
pub fn net_windows(
    session: &SsvepSession,
    config: &SsvepNetConfig,
    front_end: Option<&neuroloop_dsp::front_end::FrontEnd>,
) -> Result<Vec<(usize, Vec<f32>, usize)>> {
    if config.channels != KALUNGA_CHANNEL_LABELS
        || (config.sample_rate_hz - KALUNGA_RATE_HZ).abs() > 1e-9
        || config.targets_hz != KALUNGA_FREQS_HZ
    {
        return Err(OfflineError::data(format!(
            "the network reads channels {:?} at {} Hz with targets {:?} Hz; the Kalunga recordings have {KALUNGA_CHANNEL_LABELS:?} at {KALUNGA_RATE_HZ} Hz with targets {KALUNGA_FREQS_HZ:?} Hz: pass a model trained on them",
            config.channels, config.sample_rate_hz, config.targets_hz
        )));
    }
    let ch = KALUNGA_CHANNELS;
    let filtered;
    let data = match front_end {
        Some(f) => {
            let mut copy = session.data.clone();
            f.apply_offline(&mut copy, ch, KALUNGA_RATE_HZ)?;
            filtered = copy;
            &filtered
        }
        None => &session.data,
    };
    let bands = filter_bank(
        data,
        ch,
        KALUNGA_RATE_HZ,
        &config.bands_hz,
        config.filter_order,
    )?;
    let frames = session.data.len() / ch;
    let n = config.window_frames();
    let lag = (config.latency_secs * config.sample_rate_hz).round() as usize;
    Ok(session
        .trials
        .iter()
        .filter(|&&(onset, _)| onset + lag + n <= frames)
        .map(|&(onset, label)| (onset, band_window(&bands, ch, onset + lag, n), label))
        .collect())
}

/// One trial of a network feature dump.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct DumpedTrial {
    /// Session file stem.
    pub session: String,
    /// Subject id.
    pub subject: String,
    /// Onset sample in the session.
    pub onset: usize,
    /// Class index (target order).
    pub label: usize,
}

/// The index of an SSVEP network feature dump (`index.json`).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct SsvepFeatureDump {
    /// What the network reads (the card's `[ssvep]` table).
    pub config: SsvepNetConfig,
    /// The windows' file in the dump folder.
    pub file: String,
    /// Layout of the file.
    pub layout: String,
    /// The trials, in file order.
    pub trials: Vec<DumpedTrial>,
}

/// Writes the SSVEP network trainer's input to `out`: every complete trial of `sessions` cut
/// by [`net_windows`] with [`kalunga_net_config`] (`windows.f32`) and `index.json`.
pub fn dump_net_features(sessions: &[SsvepSession], out: &Path) -> Result<SsvepFeatureDump> {
    create_dump_folder(out)?;
    let config = kalunga_net_config();
    let mut bytes = Vec::new();
    let mut trials = Vec::new();
    for session in sessions {
        for (onset, w, label) in net_windows(session, &config, None)? {
            bytes.extend(w.iter().flat_map(|v| v.to_le_bytes()));
            trials.push(DumpedTrial {
                session: session.name.clone(),
                subject: session.subject.clone(),
                onset,
                label,
            });
        }
    }
    let file = "windows.f32".to_string();
    write_file(&out.join(&file), &bytes)?;
    let dump = SsvepFeatureDump {
        config,
        file,
        layout: "f32 little-endian; trials one after another, each bands x channels x samples (band-major, then channel-major), in the recordings' units".into(),
        trials,
    };
    write_file(&out.join("index.json"), dump_index_json(&dump)?.as_bytes())?;
    Ok(dump)
}

/// The subjects a network was trained on, from its card (`[validation] training_subjects`).
pub fn training_subjects(card: &ModelCard) -> Result<Vec<String>> {
    let list = card
        .validation
        .get("training_subjects")
        .and_then(|v| v.as_array())
        .and_then(|list| {
            list.iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
        });
    list.ok_or_else(|| {
        OfflineError::data(format!(
            "the card {} does not list its training_subjects (strings) in [validation], so the subjects it has not seen are unknown; train with scripts/train/ssvep_net.sh, which records them",
            card.path.display()
        ))
    })
}

/// Scores the network of `card` on every trial of `sessions` at its card's window (after
/// `front_end`, when given: the live pipeline's filters, which the network was not trained
/// behind): the mean is over the subjects it was not trained on, those it was trained on are
/// reported apart (scored in-sample), and FBCCA is scored on the same held-out subjects for
/// comparison (its window from the onset, without the front end: the same window when the
/// card's latency is 0, as the shipped one's). A network trained on every subject present is
/// scored on all of them, in-sample, with `in_sample` set.
pub fn evaluate_ssvep_net(
    sessions: &[SsvepSession],
    card: &ModelCard,
    front_end: Option<&neuroloop_dsp::front_end::FrontEnd>,
) -> Result<SsvepEval> {
    let mut net = SsvepNet::load(card)?;
    let config = net.config().clone();
    let trained_on = training_subjects(card)?;
    let is_held_out = |subject: &str| !trained_on.iter().any(|s| s == subject);
    let mut tested: BTreeMap<String, SubjectScore> = BTreeMap::new();
    let mut trained: BTreeMap<String, SubjectScore> = BTreeMap::new();
    let mut proba = vec![0.0f64; config.targets_hz.len()];
    for session in sessions {
        let tally = if is_held_out(&session.subject) {
            &mut tested
        } else {
            &mut trained
        };
        let score = tally
            .entry(session.subject.clone())
            .or_insert(SubjectScore {
                correct: 0,
                trials: 0,
            });
        for (onset, window, label) in net_windows(session, &config, front_end)? {
            if !net.predict(&window, &mut proba) {
                return Err(OfflineError::data(format!(
                    "the network {} gave no probabilities for the trial at sample {onset} of {} (a flat or non-finite window, or a model that does not return probabilities): check that recording, the card and the ONNX file",
                    net.name(),
                    session.name
                )));
            }
            let best = (0..proba.len())
                .max_by(|&a, &b| proba[a].total_cmp(&proba[b]))
                .unwrap_or(0);
            score.correct += usize::from(best == label);
            score.trials += 1;
        }
    }
    // Trained on every subject present: score them all, in-sample, and say so.
    let in_sample = tested.is_empty();
    if in_sample {
        std::mem::swap(&mut tested, &mut trained);
    }
    let held_sessions: Vec<&SsvepSession> = sessions
        .iter()
        .filter(|s| in_sample || is_held_out(&s.subject))
        .collect();
    let fbcca = evaluate_ssvep_refs(&held_sessions, SsvepMethod::Fbcca, &[config.window_secs])?;
    let mut eval = summarise(SsvepMethod::Onnx, config.window_secs, tested);
    eval.training_subjects = (!trained.is_empty()).then_some(trained);
    eval.fbcca_same_subjects = fbcca.first().map(|e| e.mean_accuracy);
    eval.in_sample = in_sample;
    Ok(eval)
}

/// The reference results of `method` at `window_secs` in the committed reference file
/// (parsed once).
fn reference_entry(method: SsvepMethod, window_secs: f64) -> Option<&'static serde_json::Value> {
    static REFERENCE: std::sync::OnceLock<Option<serde_json::Value>> = std::sync::OnceLock::new();
    let v = REFERENCE
        .get_or_init(|| serde_json::from_str(KALUNGA_REFERENCE_JSON).ok())
        .as_ref()?;
    Some(&v["results"][method.name()][format!("{window_secs}")])
}

/// The reference mean accuracy for `method` at `window_secs`, if the reference file has it.
pub fn reference_mean_accuracy(method: SsvepMethod, window_secs: f64) -> Option<f64> {
    reference_entry(method, window_secs)?["mean_accuracy"].as_f64()
}

/// The reference per-subject result for `method` at `window_secs`.
pub fn reference_subject(
    method: SsvepMethod,
    window_secs: f64,
    subject: &str,
) -> Option<SubjectScore> {
    let s = &reference_entry(method, window_secs)?["subjects"][subject];
    Some(SubjectScore {
        correct: usize::try_from(s["correct"].as_u64()?).ok()?,
        trials: usize::try_from(s["trials"].as_u64()?).ok()?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn markers_move_by_whole_samples_and_those_before_the_start_are_dropped() {
        let mut sessions = vec![SsvepSession {
            name: "s".into(),
            subject: "s01".into(),
            data: Vec::new(),
            trials: vec![(10, 0), (100, 1), (300, 2)],
        }];
        assert_eq!(shift_markers(&mut sessions, 0.25, 256.0), 0);
        assert_eq!(sessions[0].trials, [(74, 0), (164, 1), (364, 2)]);
        assert_eq!(shift_markers(&mut sessions, -0.5, 256.0), 1);
        assert_eq!(sessions[0].trials, [(36, 1), (236, 2)]);
    }
    use super::*;

    #[test]
    fn itr_matches_the_wolpaw_formula() {
        // Perfect accuracy: log2(3) bits per 2.5 s.
        assert!((wolpaw_itr(1.0, 3, 2.5) - 3f64.log2() * 24.0).abs() < 1e-12);
        assert_eq!(wolpaw_itr(1.0 / 3.0, 3, 2.5), 0.0);
        // p = 0.8, N = 3: 1.585 + 0.8 log2 0.8 + 0.2 log2 0.1 = 0.6630 bits.
        assert!((wolpaw_itr(0.8, 3, 1.0) - 0.663_034 * 60.0).abs() < 1e-3);
    }

    #[test]
    fn reference_file_has_every_method_and_window() {
        for m in [
            SsvepMethod::Cca,
            SsvepMethod::Fbcca,
            SsvepMethod::FbccaStarts,
            SsvepMethod::Trca,
            SsvepMethod::Etrca,
        ] {
            for w in [1.0, 2.0, 3.0, 4.0] {
                let a = reference_mean_accuracy(m, w).unwrap();
                // A fraction (TRCA sits near chance, 1/3, on these recordings).
                assert!((0.2..=1.0).contains(&a), "{m:?} {w}: {a}");
            }
        }
    }
}
