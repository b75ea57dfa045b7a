//! Motor-imagery calibration: trials cut from recorded sessions whose cues are marker
//! annotations, and the decoder fitted from them (for `neuroloop mi fit` and the motor-imagery
//! window's own fitting step).
//!
//! A cue is any annotation of the form `<prefix>/mi class=<name> ...`: the simulator's ground
//! truth (`truth/mi class=left_hand duration_s=4`, recorded by `--record`) and the cue markers
//! of the paradigm (`cue/mi class=left_hand ...`). A recording holding paradigm cues is cut at
//! those only (the simulator's truth of the same trials would count each trial twice).
//! Recordings made elsewhere mark their cues with their own labels (EEGMMIDB's `T1`/`T2`, a GDF
//! file's event codes, a BrainVision marker's description): [`CalibrationCut::cues`] names the
//! class of such a label, so that they calibrate too, alone or beside recordings with paradigm
//! cues (earlier users' runs beside a new user's short calibration).
//! Classes are ordered as the simulator orders them (left_hand, right_hand, feet, rest), other
//! names after them alphabetically.

use std::path::PathBuf;

use neuroloop_acquisition::MiClass;
use neuroloop_decoders::mi::model::MiProtocol;
use neuroloop_decoders::mi::{MiMethod, MiModel};

use crate::error::{OfflineError, Result};
use crate::eval::mi::{FOLDS, MethodTrials, MiEval, MiTrials, cut_trials, evaluate_mi, fit_all};

/// The class named by a cue annotation, if it is one.
pub fn cue_class_name(text: &str) -> Option<&str> {
    neuroloop_acquisition::mi_marker_field(text, "class").filter(|c| !c.is_empty())
}

/// Prefix of the paradigm's cue markers.
const PARADIGM_CUE: &str = "cue/mi ";

/// Whether `recording` holds cue markers of the imagery paradigm.
fn has_paradigm_cues(recording: &neuroloop_formats::Recording) -> bool {
    recording
        .annotations
        .iter()
        .any(|a| a.label.starts_with(PARADIGM_CUE))
}

/// The class of a trial-defining annotation: only the paradigm's cues when `only_paradigm`;
/// otherwise a label `cues` names (matched whole, surrounding spaces ignored), or any cue.
fn trial_cue<'a>(
    text: &'a str,
    only_paradigm: bool,
    cues: &'a [(String, String)],
) -> Option<&'a str> {
    if only_paradigm {
        return text
            .starts_with(PARADIGM_CUE)
            .then(|| cue_class_name(text))
            .flatten();
    }
    let label = text.trim();
    if let Some((_, class)) = cues.iter().find(|(l, _)| l == label) {
        return Some(class);
    }
    cue_class_name(text)
}

/// The distinct annotation labels of `recordings` with how often each occurs, most frequent
/// first (at most `max`), for a message that asks which of them are cues.
fn annotation_labels(recordings: &[neuroloop_formats::Recording], max: usize) -> String {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for r in recordings {
        super::count_labels(&mut counts, &r.annotations);
    }
    neuroloop_acquisition::cues::label_listing(counts, max)
}

/// How calibration trials are cut.
#[derive(Debug, Clone)]
pub struct CalibrationCut {
    /// Channels to use (empty: every channel of the first recording).
    pub channels: Vec<String>,
    /// Band-pass.
    pub band_hz: (f64, f64),
    /// Window length.
    pub window_secs: f64,
    /// Window start after the cue.
    pub cue_offset_secs: f64,
    /// Sub-bands of a filter bank (empty: the single `band_hz`; see
    /// [`MiProtocol::sub_bands`]).
    pub sub_bands: Vec<(f64, f64)>,
    /// Annotation labels that are cues, with the class each names (`("T1", "left_hand")`), for
    /// recordings without the paradigm's cue markers.
    pub cues: Vec<(String, String)>,
}

impl Default for CalibrationCut {
    fn default() -> Self {
        CalibrationCut {
            channels: Vec::new(),
            band_hz: (8.0, 30.0),
            window_secs: 2.0,
            cue_offset_secs: 0.5,
            sub_bands: Vec::new(),
            cues: Vec::new(),
        }
    }
}

/// Reads calibration recordings (XDF, EDF/BDF) and cuts one trial per cue.
pub fn load_calibration(files: &[PathBuf], cut: &CalibrationCut) -> Result<MiTrials> {
    cut_calibration(&read_calibration(files)?, files, cut)
}

/// Reads calibration recordings (XDF, EDF/BDF).
pub fn read_calibration(files: &[PathBuf]) -> Result<Vec<neuroloop_formats::Recording>> {
    files
        .iter()
        .map(|f| {
            neuroloop_formats::read_recording(f).map_err(|source| OfflineError::ReadCalibration {
                path: f.clone(),
                source: Box::new(source),
            })
        })
        .collect()
}

/// Cuts one trial per cue from `recordings` (read from `files`, named in messages).
pub fn cut_calibration(
    recordings: &[neuroloop_formats::Recording],
    files: &[PathBuf],
    cut: &CalibrationCut,
) -> Result<MiTrials> {
    let Some(first) = recordings.first() else {
        return Err(OfflineError::request(
            "give at least one calibration recording",
        ));
    };
    let rate = first
        .common_sample_rate_hz()
        .or_else(|| first.channels.first().map(|c| c.sample_rate_hz))
        .ok_or_else(|| OfflineError::data("the first recording has no channels"))?;
    let channels = if cut.channels.is_empty() {
        first.channels.iter().map(|c| c.label.clone()).collect()
    } else {
        cut.channels.clone()
    };
    let mut names: Vec<String> = recordings
        .iter()
        .flat_map(|r| {
            let only_paradigm = has_paradigm_cues(r);
            r.annotations.iter().filter_map(move |a| {
                trial_cue(&a.label, only_paradigm, &cut.cues).map(str::to_string)
            })
        })
        .collect();
    let rank = |n: &str| {
        MiClass::ALL
            .iter()
            .position(|c| c.name() == n)
            .unwrap_or(MiClass::ALL.len())
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    names.dedup();
    if names.len() < 2 {
        let labels = annotation_labels(recordings, 8);
        let found = if labels.is_empty() {
            "they hold no annotation at all".to_string()
        } else {
            format!(
                "their annotations are {labels}; if some of them are cues, name their classes with --cue LABEL=CLASS (e.g. --cue T1=left_hand --cue T2=right_hand)"
            )
        };
        return Err(OfflineError::data(format!(
            "the recordings hold cues of {} class(es) ({}); a decoder needs at least two: record a calibration with `<prefix>/mi class=NAME` cue markers of two classes or more (the motor-imagery paradigm's calibration run writes them, and so does a recorded simulated motor-imagery session); {found}",
            names.len(),
            names.join(", ")
        )));
    }
    let protocol = MiProtocol {
        band_hz: cut.band_hz,
        window_secs: cut.window_secs,
        sub_bands: cut.sub_bands.clone(),
        ..MiProtocol::new(channels, rate)
    };
    let mut out = MiTrials {
        protocol,
        class_names: names.clone(),
        trials: Vec::new(),
        labels: Vec::new(),
        source: files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    for (r, f) in recordings.iter().zip(files) {
        let only_paradigm = has_paradigm_cues(r);
        let classify = |text: &str| {
            let name = trial_cue(text, only_paradigm, &cut.cues)?;
            names.iter().position(|n| n == name)
        };
        let protocol = out.protocol.clone();
        cut_trials(r, &protocol, &classify, cut.cue_offset_secs, &mut out).map_err(|e| {
            OfflineError::CutTrials {
                path: f.clone(),
                source: Box::new(e),
            }
        })?;
    }
    Ok(out)
}

/// A model fitted on calibration trials with the method that cross-validated best.
pub struct FitOutcome {
    /// The model, fitted on every trial.
    pub model: MiModel,
    /// Cross-validation of every method tried, in the order given.
    pub evaluations: Vec<MiEval>,
    /// Methods that could not be fitted on these trials, with why.
    pub skipped: Vec<(MiMethod, String)>,
    /// The trials (single band).
    pub trials: MiTrials,
}

/// Cuts the calibration trials of `files` as `cut` says (with the FBCSP filter bank for the
/// methods that need it), cross-validates each of `methods` (stratified folds), then fits the
/// most accurate on all trials; the model records its cross-validated accuracy and the cue
/// offset.
pub fn fit_best(
    files: &[PathBuf],
    cut: &CalibrationCut,
    methods: &[MiMethod],
) -> Result<FitOutcome> {
    let recordings = read_calibration(files)?;
    let trials = MethodTrials::cut(methods, |bank| match bank {
        None => cut_calibration(&recordings, files, cut),
        Some(protocol) => cut_calibration(
            &recordings,
            files,
            &CalibrationCut {
                sub_bands: protocol.sub_bands.clone(),
                ..cut.clone()
            },
        ),
    })?;
    let single = &trials.single;
    if single.labels.len() < 2 * FOLDS {
        return Err(OfflineError::data(format!(
            "{} calibration trials ({}) are too few to cross-validate: calibrate with at least {} trials",
            single.labels.len(),
            trial_counts(single),
            2 * FOLDS
        )));
    }
    // A method that cannot be fitted on these trials is reported and left out.
    let mut evaluations = Vec::with_capacity(methods.len());
    let mut failures = Vec::new();
    for &m in methods {
        match evaluate_mi(trials.for_method(m), m) {
            Ok(e) => evaluations.push(e),
            Err(e) => failures.push((m, e)),
        }
    }
    let skipped: Vec<(MiMethod, String)> =
        failures.iter().map(|(m, e)| (*m, e.to_string())).collect();
    let Some(best) = evaluations
        .iter()
        .reduce(|a, b| if b.accuracy > a.accuracy { b } else { a })
    else {
        return Err(match failures.into_iter().next() {
            Some((method, e)) => OfflineError::NoMethodFitted {
                method,
                source: Box::new(e),
            },
            None => OfflineError::request("give at least one method to fit"),
        });
    };
    let mut model = fit_all(
        trials.for_method(best.method),
        best.method,
        Some(best.accuracy),
    )?;
    model.training.cue_offset_secs = cut.cue_offset_secs;
    Ok(FitOutcome {
        model,
        evaluations,
        skipped,
        trials: trials.single,
    })
}

/// One line per class: how many trials of it `data` holds.
pub fn trial_counts(data: &MiTrials) -> String {
    data.class_names
        .iter()
        .enumerate()
        .map(|(k, n)| format!("{} {n}", data.labels.iter().filter(|&&y| y == k).count()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cue_markers_name_their_class() {
        assert_eq!(
            cue_class_name("truth/mi class=left_hand duration_s=4"),
            Some("left_hand")
        );
        assert_eq!(cue_class_name("cue/mi class=feet"), Some("feet"));
        assert_eq!(cue_class_name("truth/ssvep target=1 freq_hz=8"), None);
        assert_eq!(cue_class_name("T1"), None);
        assert_eq!(cue_class_name("cue/mi class="), None);
    }
}
