//! Which annotations of a recording are stimulus onsets and cued trials: the application's own
//! markers, and the labels a user names for recordings made elsewhere ([`FileCues`]). The
//! replay ([`crate::FileSource::with_cues`]) and SSVEP calibration read trials the same way.

use crate::event::{
    MiClass, TruthEvent, TruthKind, is_onset_marker, mi_marker_field, ssvep_marker_field,
};

/// How long a cued trial lasts when neither its text nor its annotation says, s (the
/// motor-imagery paradigm's default imagery period).
pub const DEFAULT_CUE_SECS: f64 = 4.0;

/// The shortest annotation duration taken as an SSVEP trial's length, s: formats that store an
/// event's duration as one sample state none.
pub const MIN_TRIAL_SECS: f64 = 0.5;

/// Which of a recording's annotations are cued trials and stimulus onsets, named by their
/// labels; the application's own markers need no naming.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileCues {
    /// Labels that cue a motor-imagery class (EEGMMIDB's `T1` = left hand).
    pub mi: Vec<(String, MiClass)>,
    /// Labels that cue an SSVEP target, by its frequency in Hz (OpenViBE's `33025` = 13 Hz).
    pub ssvep: Vec<(String, f64)>,
    /// Labels that mark a stimulus onset (OpenViBE's `32779`, start of trial); when empty,
    /// each SSVEP cue marks its own.
    pub onsets: Vec<String>,
}

/// An SSVEP trial of a recording: the attended target and the trial's length.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SsvepTrial {
    /// Frequency of the target the trial showed, Hz.
    pub freq_hz: f64,
    /// The target's index, when the cue says it (the speller's and simulator's markers,
    /// `target=K`).
    pub target: Option<usize>,
    /// Length of the trial, s.
    pub secs: f64,
}

/// What one cue says: the target's frequency and index, and the trial's length, when given.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SsvepCue {
    freq_hz: f64,
    target: Option<usize>,
    secs: Option<f64>,
}

impl FileCues {
    /// The SSVEP target `text` cues (frequency, and index when it says), with the trial
    /// length its text states: a label [`FileCues::ssvep`] names, the speller's cue (`speller
    /// cue … target=K … freq_hz=F`) or the simulator's recorded truth (`truth/ssvep target=K
    /// freq_hz=F duration_s=D`).
    fn ssvep_cue(&self, text: &str) -> Option<SsvepCue> {
        let label = text.trim();
        if let Some(&(_, freq_hz)) = self.ssvep.iter().find(|(l, _)| l == label) {
            return Some(SsvepCue {
                freq_hz,
                target: None,
                secs: None,
            });
        }
        let field = |key: &str| {
            if text.starts_with("speller cue ") {
                speller_field(text, key)
            } else if text.contains("truth/ssvep ") {
                ssvep_marker_field(text, key)
            } else {
                None
            }
        };
        let freq_hz = field("freq_hz")?
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f > 0.0)?;
        let secs = field("duration_s").and_then(|v| v.parse::<f64>().ok());
        Some(SsvepCue {
            freq_hz,
            target: field("target").and_then(|v| v.parse().ok()),
            secs: secs.filter(|s| s.is_finite() && *s > 0.0),
        })
    }

    /// Whether `text` marks a stimulus onset: the speller's and simulator's markers
    /// ([`is_onset_marker`]), a label [`FileCues::onsets`] names, or, when it names none, a
    /// label [`FileCues::ssvep`] names.
    pub fn is_onset(&self, text: &str) -> bool {
        let label = text.trim();
        is_onset_marker(text)
            || self.onsets.iter().any(|l| l == label)
            || (self.onsets.is_empty() && self.ssvep.iter().any(|(l, _)| l == label))
    }

    /// The SSVEP trial starting at each of `annotations` (onset s, duration s, text; sorted by
    /// onset), if one does. An onset is a trial when a cue says which target it shows: its
    /// own text, else the latest cue since the previous onset, else the annotation right after
    /// it (the next trial's cue may come before its onset, so no further). The speller's
    /// onsets, when there are any, are the trials; the simulator's truth beside them is not
    /// counted again. A trial lasts its text's `duration_s`, else the annotation's duration
    /// when it is at least [`MIN_TRIAL_SECS`] (a one-sample event states none), else until the
    /// recording's next annotation, else [`DEFAULT_CUE_SECS`].
    pub fn ssvep_trials(&self, annotations: &[(f64, f64, &str)]) -> Vec<Option<SsvepTrial>> {
        let speller = annotations
            .iter()
            .any(|a| a.2.starts_with("speller stim-on"));
        let counts = |text: &str| !(speller && text.contains("truth/ssvep "));
        let onsets: Vec<usize> = (0..annotations.len())
            .filter(|&k| self.is_onset(annotations[k].2) && counts(annotations[k].2))
            .collect();
        let target_at = |k: usize| {
            let text = annotations[k].2;
            counts(text).then(|| self.ssvep_cue(text)).flatten()
        };
        let time = |k: usize| annotations[k].0;
        let mut trials = vec![None; annotations.len()];
        // Cues already given to a trial.
        let mut taken = vec![false; annotations.len()];
        for (n, &k) in onsets.iter().enumerate() {
            let previous = if n == 0 { 0 } else { onsets[n - 1] + 1 };
            let next = onsets.get(n + 1).copied().unwrap_or(annotations.len());
            let cue = |j: usize| target_at(j).is_some().then_some(j);
            let Some(at) = cue(k)
                .or_else(|| (previous..k).rev().filter(|&j| !taken[j]).find_map(cue))
                .or_else(|| (k + 1..next).next().and_then(cue))
            else {
                continue;
            };
            taken[at] = true;
            let Some(cue) = target_at(at) else {
                continue;
            };
            let given = annotations[k].1;
            let until_next = (k + 1..annotations.len())
                .map(time)
                .find(|&t| t > time(k))
                .map(|t| t - time(k));
            let secs = cue
                .secs
                .or((given >= MIN_TRIAL_SECS).then_some(given))
                .or(until_next)
                .unwrap_or(DEFAULT_CUE_SECS);
            trials[k] = Some(SsvepTrial {
                freq_hz: cue.freq_hz,
                target: cue.target,
                secs,
            });
        }
        trials
    }

    /// The motor-imagery class `text` cues, with the trial length its text states: a label
    /// [`FileCues::mi`] names, or a marker of this application's (`cue/mi class=NAME …
    /// duration_s=D` when `own` is `"cue/mi "`, the simulator's `truth/mi …` when it is
    /// `"truth/mi "`).
    pub fn mi_cue(&self, text: &str, own: &str) -> Option<(MiClass, Option<f64>)> {
        let label = text.trim();
        if let Some(&(_, class)) = self.mi.iter().find(|(l, _)| l == label) {
            return Some((class, None));
        }
        if !text.starts_with(own) {
            return None;
        }
        let class = MiClass::from_name(mi_marker_field(text, "class")?)?;
        let secs = mi_marker_field(text, "duration_s").and_then(|v| v.parse::<f64>().ok());
        Some((class, secs.filter(|s| s.is_finite() && *s > 0.0)))
    }
}

/// The trials of a live marker stream, read one marker at a time: a motor-imagery cue starts
/// its trial at once; an SSVEP cue waits for the next onset (a live stream cannot look ahead,
/// so a cue must come at or before its onset).
#[derive(Debug, Clone)]
pub struct LiveTrials {
    cues: FileCues,
    pending: Option<SsvepCue>,
}

impl LiveTrials {
    /// Reads trials as `cues` names them.
    pub fn new(cues: FileCues) -> Self {
        LiveTrials {
            cues,
            pending: None,
        }
    }

    /// Whether the marker `text` marks a stimulus onset ([`FileCues::is_onset`]).
    pub fn is_onset(&self, text: &str) -> bool {
        self.cues.is_onset(text)
    }

    /// The ground-truth trial that the marker `text`, stamped `at` (LSL time), starts, if it
    /// starts one. A trial lasts its text's `duration_s`, else [`DEFAULT_CUE_SECS`].
    pub fn on_marker(&mut self, text: &str, at: f64) -> Option<TruthEvent> {
        let trial = |kind, secs: Option<f64>| TruthEvent {
            onset: at,
            duration_secs: secs.unwrap_or(DEFAULT_CUE_SECS),
            kind,
        };
        let mi = self
            .cues
            .mi_cue(text, "cue/mi ")
            .or_else(|| self.cues.mi_cue(text, "truth/mi "));
        if let Some((class, secs)) = mi {
            return Some(trial(TruthKind::MotorImagery { class }, secs));
        }
        let cue = self.cues.ssvep_cue(text);
        if !self.cues.is_onset(text) {
            if cue.is_some() {
                self.pending = cue;
            }
            return None;
        }
        let cue = cue.or(self.pending.take())?;
        let index = cue
            .target
            .and_then(|k| u16::try_from(k).ok())
            .unwrap_or(TruthKind::NO_TARGET_INDEX);
        Some(trial(
            TruthKind::SsvepTarget {
                index,
                freq_hz: cue.freq_hz as f32,
            },
            cue.secs,
        ))
    }
}

/// Annotation labels with how often each occurs, most frequent first (then by label), at most
/// `max` of them (`"32779" x32, "33025" x8 and 3 more`): for a message that asks which of them
/// are cues or onsets.
pub fn label_listing(mut counts: Vec<(String, usize)>, max: usize) -> String {
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let shown: Vec<String> = counts
        .iter()
        .take(max)
        .map(|(l, n)| format!("\"{l}\" x{n}"))
        .collect();
    match counts.len().saturating_sub(max) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// `key=value` of a speller marker (`speller cue trial=3 target=K key=X freq_hz=F`).
fn speller_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    crate::event::field_value(text.strip_prefix("speller ")?, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_live_stream_s_cues_start_trials_at_their_onsets() {
        let cues = FileCues {
            mi: vec![("769".into(), MiClass::LeftHand)],
            ssvep: vec![("33025".into(), 13.0), ("33026".into(), 21.0)],
            onsets: vec!["32779".into()],
        };
        let mut live = LiveTrials::new(cues);
        let ssvep = |onset: f64, freq_hz: f32, index: u16, secs: f64| TruthEvent {
            onset,
            duration_secs: secs,
            kind: TruthKind::SsvepTarget { index, freq_hz },
        };
        let none = TruthKind::NO_TARGET_INDEX;
        // OpenViBE: the class code, then the start of trial; a rest trial's onset without a
        // cue starts none; other markers start none.
        assert_eq!(live.on_marker("33025", 1.0), None);
        assert_eq!(
            live.on_marker("32779", 1.5),
            Some(ssvep(1.5, 13.0, none, DEFAULT_CUE_SECS))
        );
        assert_eq!(live.on_marker("32780", 6.5), None);
        assert_eq!(live.on_marker("33024", 7.5), None);
        // (An onset is still an onset: the source hands it on by itself.)
        assert!(live.is_onset("32779") && !live.is_onset("33024"));
        assert_eq!(live.on_marker("32779", 8.0), None);
        assert_eq!(live.on_marker("33026", 14.0), None);
        assert_eq!(
            live.on_marker(" 32779 ", 14.5),
            Some(ssvep(14.5, 21.0, none, DEFAULT_CUE_SECS))
        );
        // The simulator's truth stream: each marker is its own trial.
        assert_eq!(
            live.on_marker("truth/ssvep target=2 freq_hz=21 duration_s=4", 20.0),
            Some(ssvep(20.0, 21.0, 2, 4.0))
        );
        assert_eq!(
            live.on_marker("769", 30.0),
            Some(TruthEvent {
                onset: 30.0,
                duration_secs: DEFAULT_CUE_SECS,
                kind: TruthKind::MotorImagery {
                    class: MiClass::LeftHand
                }
            })
        );
        assert_eq!(
            live.on_marker("truth/mi class=feet duration_s=3", 40.0)
                .map(|t| t.kind),
            Some(TruthKind::MotorImagery {
                class: MiClass::Feet
            })
        );
    }

    #[test]
    fn a_speller_session_s_trials_are_its_onsets_cued_by_its_cues() {
        // The speller's cue, its onset, the simulator's truth beside it (not counted again),
        // the end of the flicker.
        let annotations = [
            (1.0, 0.0, "speller cue trial=1 target=3 key=D freq_hz=8.60"),
            (2.0, 0.0, "speller stim-on trial=1"),
            (2.0, 0.0, "truth/ssvep target=3 freq_hz=8.6 duration_s=4"),
            (6.0, 0.0, "speller stim-off trial=1"),
        ];
        let trials = FileCues::default().ssvep_trials(&annotations);
        assert_eq!(
            trials,
            [
                None,
                Some(SsvepTrial {
                    freq_hz: 8.6,
                    target: Some(3),
                    secs: 4.0
                }),
                None,
                None
            ]
        );
        // Without the speller's markers, the simulator's truth is the trial.
        let trials = FileCues::default().ssvep_trials(&annotations[2..]);
        assert_eq!(
            trials[0],
            Some(SsvepTrial {
                freq_hz: 8.6,
                target: Some(3),
                secs: 4.0
            })
        );
    }
}
