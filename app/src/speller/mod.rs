//! The SSVEP speller: layout, trial sequence and selection logic (the window is [`view`]).
//!
//! A trial is a cue (the target to look at is outlined in calibration; in free spelling the
//! user picks one), then the flicker, then feedback. Every target flickers with its JFPM code
//! (`stimuli::flicker`), its luminance sampled at each frame's predicted presentation time. The
//! selection is dynamic: the first decoder decision whose whole window lies inside the flicker
//! and that the decoder marks as confident selects at once; when none is confident by the end of
//! the flicker, the most confident in-window decision of the trial is taken.

pub mod launch;
pub mod summary;
pub mod view;

pub use neuroloop_stimuli::frame::{FrameClock, FrameTime};
pub use view::SpellerView;

use neuroloop_decoders::Decision;
use neuroloop_stimuli::flicker::{FlickerCode, jfpm_codes};
use std::f64::consts::PI;

/// What a target types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A character.
    Char(char),
    /// Removes the last character.
    Backspace,
}

impl Key {
    /// Label shown on the target.
    pub fn label(&self) -> String {
        match self {
            Key::Char(' ') => "_".into(),
            Key::Char(c) => c.to_string(),
            Key::Backspace => "<".into(),
        }
    }
}

/// One flickering target.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What selecting it types.
    pub key: Key,
    /// Its flicker.
    pub code: FlickerCode,
    /// Grid row and column.
    pub cell: (usize, usize),
}

/// The keyboard: targets on a grid.
#[derive(Debug, Clone, PartialEq)]
pub struct SpellerLayout {
    /// Grid rows.
    pub rows: usize,
    /// Grid columns.
    pub cols: usize,
    /// Targets in decoder class order (frequency order for JFPM sets).
    pub targets: Vec<Target>,
}

/// The 40 keys of the benchmark speller, row by row.
const BENCHMARK_KEYS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.<";

impl SpellerLayout {
    /// The 40-target benchmark speller (Wang et al. 2017): 5 rows × 8 columns of letters,
    /// digits, space, comma, full stop and backspace; target `k` flickers at `8 + 0.2 k` Hz
    /// with phase `k π/2`, and sits in column `k / 5`, row `k % 5`, so that frequency rises by
    /// 0.2 Hz down a column and by 1 Hz along a row.
    pub fn benchmark() -> Self {
        let keys: Vec<char> = BENCHMARK_KEYS.chars().collect();
        let codes = jfpm_codes(8.0, 0.2, 40, 0.5 * PI);
        let targets = codes
            .into_iter()
            .enumerate()
            .map(|(k, code)| {
                let (row, col) = (k % 5, k / 5);
                let key = match keys[row * 8 + col] {
                    '<' => Key::Backspace,
                    c => Key::Char(c),
                };
                Target {
                    key,
                    code,
                    cell: (row, col),
                }
            })
            .collect();
        SpellerLayout {
            rows: 5,
            cols: 8,
            targets,
        }
    }

    /// A smaller set: `freqs_hz` with phases in steps of `phase_step_rad`, keys taken in order
    /// from `keys` (`<` is backspace), laid out row by row on a near-square grid.
    pub fn custom(freqs_hz: &[f64], phase_step_rad: f64, keys: &str) -> Result<Self, SpellerError> {
        let keys: Vec<char> = keys.chars().collect();
        if freqs_hz.is_empty() || keys.len() < freqs_hz.len() {
            return Err(SpellerError::Keys {
                targets: freqs_hz.len(),
                keys: keys.len(),
            });
        }
        let cols = (freqs_hz.len() as f64).sqrt().ceil() as usize;
        let rows = freqs_hz.len().div_ceil(cols);
        let targets = freqs_hz
            .iter()
            .enumerate()
            .map(|(k, &f)| Target {
                key: match keys[k] {
                    '<' => Key::Backspace,
                    c => Key::Char(c),
                },
                code: FlickerCode {
                    freq_hz: f,
                    phase_rad: (phase_step_rad * k as f64).rem_euclid(std::f64::consts::TAU),
                },
                cell: (k / cols, k % cols),
            })
            .collect();
        Ok(SpellerLayout {
            rows,
            cols,
            targets,
        })
    }

    /// Target frequencies in class order.
    pub fn freqs_hz(&self) -> Vec<f64> {
        self.targets.iter().map(|t| t.code.freq_hz).collect()
    }

    /// A calibration phrase cueing every key `times` times, in key order (`<` for
    /// backspace).
    pub fn calibration_phrase(&self, times: usize) -> String {
        let keys: String = self
            .targets
            .iter()
            .map(|t| match t.key {
                Key::Char(c) => c,
                Key::Backspace => '<',
            })
            .collect();
        keys.repeat(times)
    }

    /// The target typing `c` (`<` is backspace; letters match either case when the layout
    /// has only one of them), if any.
    pub fn target_of(&self, c: char) -> Option<usize> {
        let key = |c: char| {
            if c == '<' {
                Key::Backspace
            } else {
                Key::Char(c)
            }
        };
        let find = |c: char| self.targets.iter().position(|t| t.key == key(c));
        find(c)
            .or_else(|| find(c.to_ascii_uppercase()))
            .or_else(|| find(c.to_ascii_lowercase()))
    }
}

/// Speller configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum SpellerError {
    /// Fewer keys than targets.
    #[error(
        "{targets} targets need at least as many keys but {keys} were given: list one key per target (`<` is backspace)"
    )]
    Keys {
        /// Targets.
        targets: usize,
        /// Keys given.
        keys: usize,
    },
    /// A cued phrase has a character no target types.
    #[error("no target types `{0}`: cue only characters of the layout")]
    Unknown(char),
}

/// Timing of a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpellerTiming {
    /// Cue before the flicker (gaze shift).
    pub cue_secs: f64,
    /// Longest flicker; a confident decision ends it earlier.
    pub stim_secs: f64,
    /// Feedback after the selection.
    pub feedback_secs: f64,
    /// How long after the flicker a decision covering its end may still arrive.
    pub grace_secs: f64,
}

impl Default for SpellerTiming {
    fn default() -> Self {
        SpellerTiming {
            cue_secs: 1.0,
            stim_secs: 4.0,
            feedback_secs: 0.5,
            grace_secs: 0.5,
        }
    }
}

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Phase {
    /// Before the first trial.
    Idle,
    /// Showing the cue (calibration) or letting the user find the key.
    Cue {
        /// Start time.
        since: f64,
    },
    /// Targets flicker.
    Stim {
        /// Flicker onset: the predicted presentation time of its first frame.
        onset: f64,
    },
    /// Showing the selection.
    Feedback {
        /// Start time.
        since: f64,
    },
    /// Calibration sequence done.
    Done,
}

/// What happened, for markers and the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpellerEvent {
    /// A cue appeared (`target` is the cued one in calibration).
    Cue {
        /// Trial number from 0.
        trial: u32,
        /// Cued target.
        target: Option<u16>,
        /// Time.
        at: f64,
    },
    /// The flicker started (at its first frame's predicted presentation).
    StimOn {
        /// Trial number.
        trial: u32,
        /// Time.
        at: f64,
    },
    /// A target was selected and the flicker stopped.
    Selected {
        /// Trial number.
        trial: u32,
        /// Selected target.
        target: u16,
        /// The decoder's confidence.
        confidence: f32,
        /// Whether the decoder was confident (dynamic stop) or the trial timed out.
        early: bool,
        /// Time.
        at: f64,
    },
    /// No decision covered the flicker.
    NoSelection {
        /// Trial number.
        trial: u32,
        /// Time.
        at: f64,
    },
}

/// The speller's state.
#[derive(Debug, Clone)]
pub struct Speller {
    layout: SpellerLayout,
    timing: SpellerTiming,
    /// Targets to cue, in order (calibration); empty for free spelling.
    cues: Vec<usize>,
    /// Whether a confident decision ends the flicker early (off for calibration, whose trials
    /// must keep the full flicker).
    early_stop: bool,
    phase: Phase,
    trial: u32,
    text: String,
    best: Option<Decision>,
    last_selection: Option<(usize, bool)>,
    correct: u32,
    judged: u32,
}

impl Speller {
    /// Free spelling.
    pub fn free(layout: SpellerLayout, timing: SpellerTiming) -> Self {
        Speller {
            layout,
            timing,
            cues: Vec::new(),
            early_stop: true,
            phase: Phase::Idle,
            trial: 0,
            text: String::new(),
            best: None,
            last_selection: None,
            correct: 0,
            judged: 0,
        }
    }

    /// Cue-guided spelling of `phrase` (calibration, or copy spelling).
    pub fn cued(
        layout: SpellerLayout,
        timing: SpellerTiming,
        phrase: &str,
    ) -> Result<Self, SpellerError> {
        let cues = phrase
            .chars()
            .map(|c| layout.target_of(c).ok_or(SpellerError::Unknown(c)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Speller {
            cues,
            ..Speller::free(layout, timing)
        })
    }

    /// Calibration: cue-guided like [`Speller::cued`], but every flicker runs its full length
    /// (no early stop), so that each recorded trial holds `stim_secs` of the cued response for
    /// `neuroloop ssvep fit`.
    pub fn calibration(
        layout: SpellerLayout,
        timing: SpellerTiming,
        phrase: &str,
    ) -> Result<Self, SpellerError> {
        Ok(Speller {
            early_stop: false,
            ..Speller::cued(layout, timing, phrase)?
        })
    }

    /// The layout.
    pub fn layout(&self) -> &SpellerLayout {
        &self.layout
    }

    /// The timing.
    pub fn timing(&self) -> SpellerTiming {
        self.timing
    }

    /// Current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Typed text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Trials started so far.
    pub fn trials(&self) -> u32 {
        self.trial
    }

    /// How many trials the phrase cues (0: free spelling).
    pub fn cues(&self) -> usize {
        self.cues.len()
    }

    /// The cued phrase (`None`: free spelling).
    pub fn phrase(&self) -> Option<String> {
        (!self.cues.is_empty()).then(|| {
            self.cues
                .iter()
                .map(|&k| match self.layout.targets[k].key {
                    Key::Char(c) => c,
                    Key::Backspace => '<',
                })
                .collect()
        })
    }

    /// Flickers run to their end: the trials started, less the one under way unless it is in
    /// its feedback.
    pub fn completed_flickers(&self) -> u32 {
        match self.phase {
            Phase::Feedback { .. } | Phase::Done => self.trial,
            _ => self.trial.saturating_sub(1),
        }
    }

    /// Cues begun so far (the current one included).
    pub fn cues_begun(&self) -> usize {
        (self.trial as usize).min(self.cues.len())
    }

    /// The cued target of the current trial (calibration).
    pub fn cued_target(&self) -> Option<usize> {
        if matches!(self.phase, Phase::Idle | Phase::Done) {
            return None;
        }
        self.cues
            .get(self.trial.saturating_sub(1) as usize)
            .copied()
    }

    /// The last selection and whether it was early (dynamic stop).
    pub fn last_selection(&self) -> Option<(usize, bool)> {
        self.last_selection
    }

    /// Cued selections judged and how many were right.
    pub fn score(&self) -> (u32, u32) {
        (self.correct, self.judged)
    }

    /// The best decision of the running trial so far.
    pub fn leading(&self) -> Option<Decision> {
        self.best
    }

    /// Luminance of `target` on a frame presented at `present` (0..=1): the sampled flicker
    /// during the stimulation, full brightness otherwise.
    pub fn luminance(&self, target: usize, present: f64) -> f32 {
        match self.phase {
            Phase::Stim { onset } if present >= onset => {
                self.layout.targets[target].code.luminance(present - onset)
            }
            _ => 1.0,
        }
    }

    /// Whether the flicker runs on a frame presented at `present` (drives the photodiode
    /// square).
    pub fn flickering(&self, present: f64) -> bool {
        matches!(self.phase, Phase::Stim { onset } if present >= onset)
    }

    /// Advances the trial sequence to a frame presented at `present`, taking the decoder's new
    /// decisions into account; returns what happened.
    pub fn advance(
        &mut self,
        present: f64,
        decisions: &[Decision],
        events: &mut Vec<SpellerEvent>,
    ) {
        let t = self.timing;
        match self.phase {
            Phase::Idle => self.start_trial(present, events),
            Phase::Cue { since } => {
                if present - since >= t.cue_secs {
                    self.best = None;
                    self.phase = Phase::Stim { onset: present };
                    events.push(SpellerEvent::StimOn {
                        trial: self.trial - 1,
                        at: present,
                    });
                }
            }
            Phase::Stim { onset } => {
                for d in decisions {
                    // Only windows that saw nothing but the flicker.
                    if !d.starts_at_or_after(onset) || d.sample_time > onset + t.stim_secs + 1e-9 {
                        continue;
                    }
                    if usize::from(d.class) >= self.layout.targets.len() {
                        continue;
                    }
                    if d.confident && self.early_stop {
                        self.select(d, true, present, events);
                        return;
                    }
                    if self.best.is_none_or(|b| d.confidence > b.confidence) {
                        self.best = Some(*d);
                    }
                }
                if present - onset >= t.stim_secs + t.grace_secs {
                    match self.best {
                        Some(b) => self.select(&b, false, present, events),
                        None => {
                            events.push(SpellerEvent::NoSelection {
                                trial: self.trial - 1,
                                at: present,
                            });
                            self.last_selection = None;
                            self.phase = Phase::Feedback { since: present };
                        }
                    }
                }
            }
            Phase::Feedback { since } => {
                if present - since >= t.feedback_secs {
                    self.start_trial(present, events);
                }
            }
            Phase::Done => {}
        }
    }

    fn start_trial(&mut self, now: f64, events: &mut Vec<SpellerEvent>) {
        if !self.cues.is_empty() && self.trial as usize >= self.cues.len() {
            self.phase = Phase::Done;
            return;
        }
        let target = self.cues.get(self.trial as usize).map(|&k| k as u16);
        events.push(SpellerEvent::Cue {
            trial: self.trial,
            target,
            at: now,
        });
        self.trial += 1;
        self.phase = Phase::Cue { since: now };
    }

    fn select(&mut self, d: &Decision, early: bool, now: f64, events: &mut Vec<SpellerEvent>) {
        let k = usize::from(d.class);
        match &self.layout.targets[k].key {
            Key::Char(c) => self.text.push(*c),
            Key::Backspace => {
                self.text.pop();
            }
        }
        if let Some(cued) = self.cued_target() {
            self.judged += 1;
            self.correct += u32::from(cued == k);
        }
        self.last_selection = Some((k, early));
        events.push(SpellerEvent::Selected {
            trial: self.trial - 1,
            target: d.class,
            confidence: d.confidence,
            early,
            at: now,
        });
        self.best = None;
        self.phase = Phase::Feedback { since: now };
    }
}

/// Marker text of a speller event, e.g. `speller stim-on trial=3`.
pub fn format_event(out: &mut String, layout: &SpellerLayout, e: &SpellerEvent) {
    use std::fmt::Write as _;
    out.clear();
    let label = |k: u16| {
        layout
            .targets
            .get(usize::from(k))
            .map_or_else(String::new, |t| t.key.label())
    };
    let _ = match *e {
        SpellerEvent::Cue { trial, target, .. } => match target {
            Some(k) => write!(
                out,
                "speller cue trial={trial} target={k} key={} freq_hz={:.2}",
                label(k),
                layout.targets[usize::from(k)].code.freq_hz
            ),
            None => write!(out, "speller cue trial={trial}"),
        },
        SpellerEvent::StimOn { trial, .. } => write!(out, "speller stim-on trial={trial}"),
        SpellerEvent::Selected {
            trial,
            target,
            confidence,
            early,
            ..
        } => write!(
            out,
            "speller select trial={trial} target={target} key={} confidence={confidence:.3} early={}",
            label(target),
            u8::from(early)
        ),
        SpellerEvent::NoSelection { trial, .. } => {
            write!(out, "speller no-selection trial={trial}")
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(class: u16, confident: bool, confidence: f32, at: f64) -> Decision {
        Decision {
            class,
            score: confidence,
            confidence,
            confident,
            sample_time: at,
            window_start: at - 1.0,
            window_secs: 1.0,
        }
    }

    #[test]
    fn the_benchmark_layout_matches_its_definition() {
        let l = SpellerLayout::benchmark();
        assert_eq!(l.targets.len(), 40);
        // Row 0 reads A..H at 8, 9, ..., 15 Hz; down column 0 frequency rises by 0.2 Hz.
        let a = &l.targets[l.target_of('A').unwrap()];
        assert_eq!(a.cell, (0, 0));
        assert!((a.code.freq_hz - 8.0).abs() < 1e-12);
        let b = &l.targets[l.target_of('B').unwrap()];
        assert!((b.code.freq_hz - 9.0).abs() < 1e-9);
        let i = &l.targets[l.target_of('I').unwrap()];
        assert_eq!(i.cell, (1, 0));
        assert!((i.code.freq_hz - 8.2).abs() < 1e-9);
        assert!((i.code.phase_rad - 0.5 * PI).abs() < 1e-12);
        // Space and backspace are there; every cell is used once.
        assert!(l.target_of(' ').is_some());
        assert!(l.targets.iter().any(|t| t.key == Key::Backspace));
        let mut cells: Vec<_> = l.targets.iter().map(|t| t.cell).collect();
        cells.sort_unstable();
        cells.dedup();
        assert_eq!(cells.len(), 40);
    }

    #[test]
    fn a_confident_decision_inside_the_flicker_selects_at_once() {
        let l = SpellerLayout::custom(&[8.0, 10.0, 12.0, 14.0], 0.5 * PI, "HI <").unwrap();
        let mut s = Speller::cued(l, SpellerTiming::default(), "HI").unwrap();
        let mut ev = Vec::new();
        s.advance(10.0, &[], &mut ev); // cue
        assert_eq!(s.cued_target(), Some(0));
        s.advance(11.0, &[], &mut ev); // flicker on at 11.0
        assert!(matches!(s.phase(), Phase::Stim { onset } if onset == 11.0));
        // A confident decision whose window started before the onset is ignored.
        s.advance(11.5, &[decision(1, true, 0.9, 11.5)], &mut ev);
        assert!(matches!(s.phase(), Phase::Stim { .. }));
        // An unsure one inside is remembered, a confident one inside selects.
        s.advance(12.1, &[decision(1, false, 0.2, 12.05)], &mut ev);
        s.advance(12.3, &[decision(0, true, 0.5, 12.25)], &mut ev);
        assert_eq!(s.text(), "H");
        assert_eq!(s.last_selection(), Some((0, true)));
        assert_eq!(s.score(), (1, 1));
        // Second trial: nothing confident, the best in-window decision wins at the end.
        s.advance(12.8, &[], &mut ev); // feedback over, cue 2
        assert_eq!(s.cued_target(), Some(1));
        s.advance(13.8, &[], &mut ev);
        s.advance(
            15.0,
            &[decision(2, false, 0.1, 15.0), decision(3, false, 0.3, 15.0)],
            &mut ev,
        );
        s.advance(18.2, &[], &mut ev);
        assert!(matches!(s.phase(), Phase::Stim { .. }), "grace period");
        s.advance(18.35, &[], &mut ev);
        assert_eq!(s.text(), "", "backspace removed the H");
        assert_eq!(s.last_selection(), Some((3, false)));
        assert_eq!(s.score(), (1, 2));
        s.advance(19.0, &[], &mut ev);
        assert_eq!(s.phase(), Phase::Done);
        let kinds: Vec<&str> = ev
            .iter()
            .map(|e| match e {
                SpellerEvent::Cue { .. } => "cue",
                SpellerEvent::StimOn { .. } => "on",
                SpellerEvent::Selected { .. } => "sel",
                SpellerEvent::NoSelection { .. } => "none",
            })
            .collect();
        assert_eq!(kinds, ["cue", "on", "sel", "cue", "on", "sel"]);
        let mut text = String::new();
        format_event(&mut text, s.layout(), &ev[2]);
        assert_eq!(
            text,
            "speller select trial=0 target=0 key=H confidence=0.500 early=1"
        );
    }

    #[test]
    fn luminance_follows_the_code_from_the_onset() {
        let l = SpellerLayout::benchmark();
        let mut s = Speller::free(l, SpellerTiming::default());
        let mut ev = Vec::new();
        s.advance(0.0, &[], &mut ev);
        assert_eq!(s.luminance(5, 0.5), 1.0);
        s.advance(1.0, &[], &mut ev);
        for k in [0usize, 7, 39] {
            let code = s.layout().targets[k].code;
            for frame in 0..10 {
                let t = 1.0 + frame as f64 / 144.0;
                assert_eq!(s.luminance(k, t), code.luminance(t - 1.0));
            }
        }
    }

    #[test]
    fn calibration_keeps_the_full_flicker_and_backspace_can_be_cued() {
        let l = SpellerLayout::benchmark();
        let back = l.target_of('<').unwrap();
        assert_eq!(l.targets[back].key, Key::Backspace);
        assert_eq!(l.target_of('h'), l.target_of('H'));
        let mut s = Speller::calibration(l, SpellerTiming::default(), "A<").unwrap();
        let mut ev = Vec::new();
        s.advance(0.0, &[], &mut ev);
        s.advance(1.0, &[], &mut ev);
        // A confident decision does not stop a calibration flicker.
        s.advance(2.5, &[decision(0, true, 0.9, 2.5)], &mut ev);
        assert!(matches!(s.phase(), Phase::Stim { .. }));
        s.advance(5.6, &[], &mut ev);
        assert_eq!(s.last_selection(), Some((0, false)));
    }

    #[test]
    fn unknown_cue_characters_and_short_key_lists_are_refused() {
        let l = SpellerLayout::custom(&[8.0, 10.0], 0.0, "AB").unwrap();
        let e = Speller::cued(l, SpellerTiming::default(), "AZ").unwrap_err();
        assert!(e.to_string().contains("`Z`"), "{e}");
        let e = SpellerLayout::custom(&[8.0, 10.0, 12.0], 0.0, "AB").unwrap_err();
        assert!(e.to_string().contains("one key per target"), "{e}");
    }
}
