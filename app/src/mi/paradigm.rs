//! The cue-based motor-imagery paradigm (Graz style), free of any drawing: fixation cross,
//! cue, imagery period, randomised rest; in calibration mode the trials are only recorded, in
//! feedback mode the decoder's decisions move a cursor and each trial is scored.
//!
//! [`ImageryParadigm::advance`] is called once per displayed frame with the frame's
//! (predicted) presentation time and reports what changed as [`ImageryEvent`]s; their
//! [`ImageryEvent::marker`] texts go to the recording and the LSL marker stream. A cue marker
//! (`cue/mi class=left_hand trial=3 duration_s=4`) is stamped with the time the arrow
//! appears, which is when imagery starts: `neuroloop mi fit` cuts its calibration trials from
//! these markers.

use std::fmt::Write as _;

use neuroloop_acquisition::MiClass;
use neuroloop_decoders::Decision;

/// Durations of one trial.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageryTiming {
    /// Fixation cross before the cue.
    pub fixation_secs: f64,
    /// How long the cue arrow stays on screen (imagery starts with it).
    pub cue_secs: f64,
    /// Imagery period, from the cue.
    pub imagery_secs: f64,
    /// Rest after imagery: drawn uniformly from this range, so that the next cue cannot be
    /// anticipated.
    pub rest_secs: (f64, f64),
}

impl Default for ImageryTiming {
    fn default() -> Self {
        ImageryTiming {
            fixation_secs: 2.0,
            cue_secs: 1.25,
            imagery_secs: 4.0,
            rest_secs: (1.5, 2.5),
        }
    }
}

/// What the paradigm is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageryMode {
    /// Cued trials recorded for fitting; no feedback.
    Calibration,
    /// Cued trials with the decoder's output shown and scored.
    Feedback,
}

/// Where a trial is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageryPhase {
    /// Before the first frame.
    Idle,
    /// Fixation cross since `at`.
    Fixation {
        /// Start (LSL time).
        at: f64,
    },
    /// Imagery of the cued class since `at` (the cue arrow shows for the first
    /// [`ImageryTiming::cue_secs`]).
    Imagery {
        /// Cue onset (LSL time).
        at: f64,
    },
    /// Rest since `at`, for `secs`.
    Rest {
        /// Start (LSL time).
        at: f64,
        /// Drawn length.
        secs: f64,
    },
    /// Every trial done.
    Done,
}

/// Something that happened on a frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageryEvent {
    /// A trial's fixation cross appeared.
    Fixation {
        /// Trial number from 1.
        trial: u32,
        /// LSL time.
        at: f64,
    },
    /// The cue appeared and imagery starts.
    Cue {
        /// Trial number from 1.
        trial: u32,
        /// Cued class.
        class: MiClass,
        /// LSL time.
        at: f64,
        /// Imagery period.
        secs: f64,
    },
    /// The imagery period ended.
    End {
        /// Trial number from 1.
        trial: u32,
        /// LSL time.
        at: f64,
    },
    /// A feedback trial was scored: the class most decisions inside its imagery period chose
    /// (`None`: no decision arrived).
    Result {
        /// Trial number from 1.
        trial: u32,
        /// Cued class.
        class: MiClass,
        /// Decoded class.
        decided: Option<MiClass>,
        /// LSL time.
        at: f64,
    },
    /// The last trial ended.
    Done {
        /// LSL time.
        at: f64,
    },
}

impl ImageryEvent {
    /// LSL time of the event.
    pub fn at(&self) -> f64 {
        match *self {
            ImageryEvent::Fixation { at, .. }
            | ImageryEvent::Cue { at, .. }
            | ImageryEvent::End { at, .. }
            | ImageryEvent::Result { at, .. }
            | ImageryEvent::Done { at } => at,
        }
    }

    /// The marker text recorded for this event (into `out`, cleared first).
    pub fn marker(&self, out: &mut String) {
        out.clear();
        let _ = match *self {
            ImageryEvent::Fixation { trial, .. } => write!(out, "mi fixation trial={trial}"),
            ImageryEvent::Cue {
                trial, class, secs, ..
            } => write!(
                out,
                "cue/mi class={} trial={trial} duration_s={secs}",
                class.name()
            ),
            ImageryEvent::End { trial, .. } => write!(out, "mi end trial={trial}"),
            ImageryEvent::Result {
                trial,
                class,
                decided,
                ..
            } => write!(
                out,
                "mi result trial={trial} class={} decided={} correct={}",
                class.name(),
                decided.map_or("none", MiClass::name),
                decided == Some(class)
            ),
            ImageryEvent::Done { .. } => write!(out, "mi done"),
        };
    }
}

/// Why a paradigm cannot be set up.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParadigmError {
    /// Fewer than two classes.
    #[error(
        "motor imagery needs at least two classes, got {0}: choose two or more (e.g. left_hand,right_hand: --classes on the command line, the class boxes on the start screen)"
    )]
    TooFewClasses(usize),
    /// A class given twice.
    #[error("class {0} is given twice: list each class once")]
    DuplicateClass(&'static str),
    /// No trials.
    #[error("no trials: give at least one trial per class")]
    NoTrials,
    /// A timing that cannot be run.
    #[error("{0}: give positive, finite durations (rest range low <= high)")]
    BadTiming(&'static str),
    /// No decision window fits in the imagery period, so no trial could be scored.
    #[error(
        "the imagery period ({imagery_secs} s) is shorter than the decoder's window end after the cue ({needed_secs} s = cue offset + window): lengthen --imagery-secs or fit with a shorter --window-secs / --cue-offset-secs"
    )]
    ImageryTooShort {
        /// The imagery period.
        imagery_secs: f64,
        /// Cue offset plus window length.
        needed_secs: f64,
    },
    /// The decoder decides classes the paradigm does not cue.
    #[error(
        "the model decodes {model:?} but the paradigm cues {cued:?}: fit the model on a calibration with the same classes, or cue the model's classes {model_list} (--classes, or the class boxes on the start screen)"
    )]
    ClassMismatch {
        /// The model's classes.
        model: Vec<String>,
        /// The paradigm's classes.
        cued: Vec<String>,
        /// The model's classes as a `--classes` value.
        model_list: String,
    },
}

/// Decisions averaged into the feedback cursor (2 s at one decision every 0.25 s).
pub const CURSOR_DECISIONS: usize = 8;

/// The paradigm's state: trial order, phase, feedback cursor and score.
#[derive(Debug, Clone)]
pub struct ImageryParadigm {
    classes: Vec<MiClass>,
    timing: ImageryTiming,
    mode: ImageryMode,
    order: Vec<usize>,
    trial: usize,
    phase: ImageryPhase,
    rng: u64,
    /// Feedback: the decoder's class index → paradigm class index.
    decoder_classes: Vec<Option<usize>>,
    /// Feedback: which part of a decision's window must lie inside the imagery period to be
    /// scored: (offset after the cue, window length).
    scored_window: (f64, f64),
    /// Decisions of the current trial (class index, probability, sample time).
    trial_decisions: Vec<(usize, f32, f64)>,
    scored: bool,
    /// A decision about data after the imagery period has arrived: every decision about the
    /// period itself is in, so the trial can be scored.
    past_end: bool,
    results: Vec<(MiClass, Option<MiClass>)>,
}

impl ImageryParadigm {
    /// A calibration run: `trials_per_class` cues of every class, shuffled in blocks (one
    /// trial of each class per block) with `seed`.
    pub fn calibration(
        classes: &[MiClass],
        trials_per_class: usize,
        timing: ImageryTiming,
        seed: u64,
    ) -> Result<Self, ParadigmError> {
        Self::new(
            classes,
            trials_per_class,
            timing,
            seed,
            ImageryMode::Calibration,
        )
    }

    /// A feedback run for a decoder whose classes are `decoder_classes` (by name); a decision
    /// is scored when its window, `window_secs` long, starts at least `offset_secs` after the
    /// cue and ends inside the imagery period.
    pub fn feedback(
        classes: &[MiClass],
        trials_per_class: usize,
        timing: ImageryTiming,
        seed: u64,
        decoder_classes: &[String],
        offset_secs: f64,
        window_secs: f64,
    ) -> Result<Self, ParadigmError> {
        let mut p = Self::new(
            classes,
            trials_per_class,
            timing,
            seed,
            ImageryMode::Feedback,
        )?;
        let mapped: Vec<Option<usize>> = decoder_classes
            .iter()
            .map(|n| classes.iter().position(|c| c.name() == n))
            .collect();
        let covers = classes
            .iter()
            .all(|c| decoder_classes.iter().any(|n| n == c.name()));
        if !covers || mapped.iter().any(Option::is_none) {
            return Err(ParadigmError::ClassMismatch {
                model: decoder_classes.to_vec(),
                cued: classes.iter().map(|c| c.name().to_string()).collect(),
                model_list: decoder_classes.join(","),
            });
        }
        if offset_secs + window_secs > timing.imagery_secs + 1e-9 {
            return Err(ParadigmError::ImageryTooShort {
                imagery_secs: timing.imagery_secs,
                needed_secs: offset_secs + window_secs,
            });
        }
        p.decoder_classes = mapped;
        p.scored_window = (offset_secs.max(0.0), window_secs.max(0.0));
        Ok(p)
    }

    fn new(
        classes: &[MiClass],
        trials_per_class: usize,
        timing: ImageryTiming,
        seed: u64,
        mode: ImageryMode,
    ) -> Result<Self, ParadigmError> {
        if classes.len() < 2 {
            return Err(ParadigmError::TooFewClasses(classes.len()));
        }
        for (i, c) in classes.iter().enumerate() {
            if classes[..i].contains(c) {
                return Err(ParadigmError::DuplicateClass(c.name()));
            }
        }
        if trials_per_class == 0 {
            return Err(ParadigmError::NoTrials);
        }
        let ok = |x: f64| x.is_finite() && x > 0.0;
        if !ok(timing.fixation_secs) {
            return Err(ParadigmError::BadTiming("fixation"));
        }
        if !ok(timing.imagery_secs) || !ok(timing.cue_secs) {
            return Err(ParadigmError::BadTiming("cue or imagery"));
        }
        let (lo, hi) = timing.rest_secs;
        if !(ok(lo) && ok(hi) && lo <= hi) {
            return Err(ParadigmError::BadTiming("rest"));
        }
        let mut p = ImageryParadigm {
            classes: classes.to_vec(),
            timing,
            mode,
            order: Vec::with_capacity(classes.len() * trials_per_class),
            trial: 0,
            phase: ImageryPhase::Idle,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            decoder_classes: Vec::new(),
            scored_window: (0.0, 0.0),
            trial_decisions: Vec::new(),
            scored: true,
            past_end: false,
            results: Vec::new(),
        };
        for _ in 0..trials_per_class {
            let start = p.order.len();
            p.order.extend(0..classes.len());
            // Fisher–Yates within the block.
            for i in (1..classes.len()).rev() {
                let j = (p.next_random() * (i + 1) as f64) as usize;
                p.order.swap(start + i, start + j.min(i));
            }
        }
        Ok(p)
    }

    /// Uniform in [0, 1) (xorshift64*).
    fn next_random(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Calibration or feedback.
    pub fn mode(&self) -> ImageryMode {
        self.mode
    }

    /// The cued classes.
    pub fn classes(&self) -> &[MiClass] {
        &self.classes
    }

    /// The trial durations.
    pub fn timing(&self) -> ImageryTiming {
        self.timing
    }

    /// The current phase.
    pub fn phase(&self) -> ImageryPhase {
        self.phase
    }

    /// Current trial number from 1 (0 before the first) and the number of trials.
    pub fn progress(&self) -> (usize, usize) {
        (self.trial, self.order.len())
    }

    /// The class of the current trial (during fixation, imagery and rest).
    pub fn cued(&self) -> Option<MiClass> {
        match self.phase {
            ImageryPhase::Idle | ImageryPhase::Done => None,
            _ => self
                .trial
                .checked_sub(1)
                .and_then(|i| self.order.get(i))
                .map(|&k| self.classes[k]),
        }
    }

    /// Whether the cue arrow is on screen at `t`.
    pub fn cue_visible(&self, t: f64) -> bool {
        matches!(self.phase, ImageryPhase::Imagery { at } if t - at < self.timing.cue_secs)
    }

    /// The current trial's result, once it is scored (feedback, during its rest).
    pub fn current_result(&self) -> Option<(MiClass, Option<MiClass>)> {
        match self.phase {
            ImageryPhase::Rest { .. } if self.results.len() == self.trial => {
                self.results.last().copied()
            }
            _ => None,
        }
    }

    /// Scored feedback trials: (cued, decoded).
    pub fn results(&self) -> &[(MiClass, Option<MiClass>)] {
        &self.results
    }

    /// Correct and scored feedback trials.
    pub fn score(&self) -> (usize, usize) {
        let correct = self.results.iter().filter(|(c, d)| Some(*c) == *d).count();
        (correct, self.results.len())
    }

    /// Whether every trial is done.
    pub fn is_done(&self) -> bool {
        self.phase == ImageryPhase::Done
    }

    /// Advances to the frame presented at `t`, reporting what changed to `events`.
    pub fn advance(&mut self, t: f64, events: &mut impl FnMut(ImageryEvent)) {
        loop {
            let changed = match self.phase {
                ImageryPhase::Idle => {
                    self.start_trial(t, events);
                    true
                }
                ImageryPhase::Fixation { at } if t >= at + self.timing.fixation_secs => {
                    let cue = at + self.timing.fixation_secs;
                    self.phase = ImageryPhase::Imagery { at: cue };
                    self.trial_decisions.clear();
                    self.scored = self.mode == ImageryMode::Calibration;
                    self.past_end = false;
                    if let Some(class) = self.cued() {
                        events(ImageryEvent::Cue {
                            trial: self.trial as u32,
                            class,
                            at: cue,
                            secs: self.timing.imagery_secs,
                        });
                    }
                    true
                }
                ImageryPhase::Imagery { at } if t >= at + self.timing.imagery_secs => {
                    let end = at + self.timing.imagery_secs;
                    let (lo, hi) = self.timing.rest_secs;
                    let secs = lo + (hi - lo) * self.next_random();
                    self.phase = ImageryPhase::Rest { at: end, secs };
                    events(ImageryEvent::End {
                        trial: self.trial as u32,
                        at: end,
                    });
                    true
                }
                ImageryPhase::Rest { at, secs } => {
                    let mut changed = false;
                    // Scored once a decision about later data shows that every decision about
                    // the imagery period has arrived, else at the end of the rest.
                    if !self.scored && self.past_end && t < at + secs {
                        self.score_trial(t, events);
                        changed = true;
                    }
                    if t >= at + secs {
                        if !self.scored {
                            self.score_trial(at + secs, events);
                        }
                        self.start_trial(at + secs, events);
                        changed = true;
                    }
                    changed
                }
                _ => false,
            };
            if !changed {
                break;
            }
        }
    }

    fn start_trial(&mut self, at: f64, events: &mut impl FnMut(ImageryEvent)) {
        if self.trial >= self.order.len() {
            self.phase = ImageryPhase::Done;
            events(ImageryEvent::Done { at });
            return;
        }
        self.trial += 1;
        self.phase = ImageryPhase::Fixation { at };
        events(ImageryEvent::Fixation {
            trial: self.trial as u32,
            at,
        });
    }

    /// The imagery period of the current trial (cue, end), while it is imagery or rest.
    fn imagery_period(&self) -> Option<(f64, f64)> {
        match self.phase {
            ImageryPhase::Imagery { at } => Some((at, at + self.timing.imagery_secs)),
            ImageryPhase::Rest { at, .. } => Some((at - self.timing.imagery_secs, at)),
            _ => None,
        }
    }

    fn score_trial(&mut self, at: f64, events: &mut impl FnMut(ImageryEvent)) {
        self.scored = true;
        let Some(class) = self.cued() else {
            return;
        };
        let Some((cue, end)) = self.imagery_period() else {
            return;
        };
        let (offset, window) = self.scored_window;
        let first_end = cue + offset + window - 1e-6;
        // Votes and summed probability per class; most votes wins, ties by probability.
        let mut votes = vec![(0usize, 0.0f64); self.classes.len()];
        for &(k, p, sample_time) in &self.trial_decisions {
            if sample_time >= first_end && sample_time <= end + 1e-6 {
                votes[k].0 += 1;
                votes[k].1 += f64::from(p);
            }
        }
        let decided = votes
            .iter()
            .enumerate()
            .filter(|(_, v)| v.0 > 0)
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(a.1.1.total_cmp(&b.1.1)))
            .map(|(k, _)| self.classes[k]);
        self.results.push((class, decided));
        events(ImageryEvent::Result {
            trial: self.trial as u32,
            class,
            decided,
            at,
        });
    }

    /// Hands the paradigm a decoder decision (feedback mode; ignored otherwise). Decisions
    /// about data before the current cue are ignored.
    pub fn decision(&mut self, d: &Decision) {
        if self.mode != ImageryMode::Feedback {
            return;
        }
        let Some((cue, end)) = self.imagery_period() else {
            return;
        };
        let Some(Some(k)) = self.decoder_classes.get(usize::from(d.class)) else {
            return;
        };
        if d.sample_time > end {
            self.past_end = true;
        } else if d.sample_time > cue {
            self.trial_decisions.push((*k, d.score, d.sample_time));
        }
    }

    /// The feedback cursor in [-1, 1]²: the mean over the current trial's latest
    /// [`CURSOR_DECISIONS`] decisions of each decided class's direction
    /// ([`class_direction`]) times how far its probability is above chance (1 at
    /// probability 1, 0 at chance). Only decisions whose window lies at least half after the
    /// cue move it. `None` when there is nothing to show.
    pub fn cursor(&self) -> Option<(f32, f32)> {
        let (cue, _) = self.imagery_period()?;
        if self.mode != ImageryMode::Feedback {
            return None;
        }
        let from = cue + self.scored_window.1 / 2.0;
        let first = self.trial_decisions.partition_point(|d| d.2 < from);
        let shown = &self.trial_decisions[first..];
        if shown.is_empty() {
            return None;
        }
        let k = self.classes.len() as f32;
        let chance = 1.0 / k;
        let recent = &shown[shown.len().saturating_sub(CURSOR_DECISIONS)..];
        let (mut x, mut y) = (0.0f32, 0.0f32);
        for &(class, p, _) in recent {
            let (dx, dy) = class_direction(self.classes[class]);
            let gain = ((p - chance) / (1.0 - chance)).clamp(0.0, 1.0);
            x += dx * gain;
            y += dy * gain;
        }
        let n = recent.len() as f32;
        Some((x / n, y / n))
    }
}

/// Screen direction of a class's cue arrow and feedback cursor (x right, y down): left hand
/// left, right hand right, feet down, rest up.
pub fn class_direction(class: MiClass) -> (f32, f32) {
    match class {
        MiClass::LeftHand => (-1.0, 0.0),
        MiClass::RightHand => (1.0, 0.0),
        MiClass::Feet => (0.0, 1.0),
        MiClass::Rest => (0.0, -1.0),
    }
}

/// Parses a `--classes` list (`left_hand,right_hand`).
pub fn parse_classes(list: &[String]) -> Result<Vec<MiClass>, String> {
    list.iter()
        .map(|s| {
            MiClass::from_name(s.trim()).ok_or_else(|| {
                format!(
                    "unknown motor-imagery class {s:?}: use {}",
                    MiClass::ALL.map(MiClass::name).join(", ")
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LR: [MiClass; 2] = [MiClass::LeftHand, MiClass::RightHand];

    fn timing() -> ImageryTiming {
        ImageryTiming {
            fixation_secs: 1.0,
            cue_secs: 0.5,
            imagery_secs: 4.0,
            rest_secs: (1.0, 2.0),
        }
    }

    /// Runs the paradigm at 100 frames per second until done, calling `on_frame` first.
    fn run(
        p: &mut ImageryParadigm,
        mut on_frame: impl FnMut(&mut ImageryParadigm, f64),
    ) -> Vec<ImageryEvent> {
        let mut events = Vec::new();
        let mut t = 10.0;
        while !p.is_done() && t < 1000.0 {
            on_frame(p, t);
            p.advance(t, &mut |e| events.push(e));
            t += 0.01;
        }
        events
    }

    #[test]
    fn calibration_cues_every_class_equally_in_shuffled_blocks_with_timed_phases() {
        let mut p = ImageryParadigm::calibration(&LR, 10, timing(), 7).unwrap();
        let events = run(&mut p, |_, _| {});
        let cues: Vec<(MiClass, f64)> = events
            .iter()
            .filter_map(|e| match *e {
                ImageryEvent::Cue { class, at, .. } => Some((class, at)),
                _ => None,
            })
            .collect();
        assert_eq!(cues.len(), 20);
        for block in cues.chunks(2) {
            assert_ne!(block[0].0, block[1].0, "each block cues each class once");
        }
        let order: Vec<MiClass> = cues.iter().map(|c| c.0).collect();
        assert_ne!(
            order,
            [LR; 10].concat(),
            "the order is shuffled, not alternating"
        );
        // Fixation → cue is exact; cue → next cue = imagery + rest (1..2 s) + fixation.
        let mut rests = Vec::new();
        for w in cues.windows(2) {
            let gap = w[1].1 - w[0].1 - 4.0 - 1.0;
            assert!((1.0..=2.0).contains(&gap), "rest {gap}");
            rests.push(gap);
        }
        let spread = rests.iter().cloned().fold(f64::NAN, f64::max)
            - rests.iter().cloned().fold(f64::NAN, f64::min);
        assert!(spread > 0.3, "rests are randomised: spread {spread}");
        for e in &events {
            if let ImageryEvent::Fixation { at, trial } = *e {
                let cue = cues[trial as usize - 1].1;
                assert!((cue - at - 1.0).abs() < 1e-9);
            }
        }
        assert!(matches!(events.last(), Some(ImageryEvent::Done { .. })));
        assert!(p.results().is_empty(), "calibration scores nothing");
        // Markers: the cue marker names the class and imagery length.
        let mut text = String::new();
        events
            .iter()
            .find(|e| matches!(e, ImageryEvent::Cue { .. }))
            .unwrap()
            .marker(&mut text);
        assert!(
            text.starts_with("cue/mi class=") && text.ends_with("trial=1 duration_s=4"),
            "{text}"
        );
        assert_eq!(
            neuroloop_offline::calibration::imagery::cue_class_name(&text),
            Some(cues[0].0.name())
        );
    }

    #[test]
    fn same_seed_same_order_other_seed_other_order() {
        let order = |seed| {
            let mut p = ImageryParadigm::calibration(&MiClass::ALL, 5, timing(), seed).unwrap();
            run(&mut p, |_, _| {})
                .into_iter()
                .filter_map(|e| match e {
                    ImageryEvent::Cue { class, .. } => Some(class),
                    _ => None,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(order(3), order(3));
        assert_ne!(order(3), order(4));
        assert_eq!(order(3).len(), 20);
    }

    fn decision(class: u16, score: f32, sample_time: f64) -> Decision {
        Decision {
            class,
            score,
            confidence: score,
            confident: score >= 0.6,
            sample_time,
            window_start: sample_time - 2.0,
            window_secs: 2.0,
        }
    }

    #[test]
    fn feedback_scores_the_majority_of_decisions_inside_the_imagery_period() {
        // The decoder's class order differs from the paradigm's.
        let names = vec!["right_hand".to_string(), "left_hand".to_string()];
        let mut p = ImageryParadigm::feedback(&LR, 4, timing(), 1, &names, 0.5, 2.0).unwrap();
        let mut cursor_seen = Vec::new();
        let events = run(&mut p, |p, t| {
            // A decision every 0.25 s; it decodes the cued class right except in trial 3,
            // and before the window is inside the imagery period it says the opposite.
            let (trial, _) = p.progress();
            if let (ImageryPhase::Imagery { at }, Some(cued)) = (p.phase(), p.cued()) {
                let since = t - at;
                if (since / 0.25).fract() < 0.04 && since > 0.1 {
                    let right = cued == MiClass::RightHand;
                    let early = since < 2.5;
                    let says_right = right ^ early ^ (trial == 3);
                    p.decision(&decision(if says_right { 0 } else { 1 }, 0.9, t));
                    if !early {
                        cursor_seen.push((cued, p.cursor().unwrap()));
                    }
                }
            }
        });
        let results: Vec<_> = events
            .iter()
            .filter_map(|e| match *e {
                ImageryEvent::Result { class, decided, .. } => Some((class, decided)),
                _ => None,
            })
            .collect();
        assert_eq!(results.len(), 8);
        for (i, (class, decided)) in results.iter().enumerate() {
            if i == 2 {
                assert_ne!(Some(*class), *decided, "trial 3 decodes the other class");
            } else {
                assert_eq!(Some(*class), *decided, "trial {}", i + 1);
            }
        }
        assert_eq!(p.score(), (7, 8));
        // Late in a correct trial the cursor points at the cued side.
        let last_right = cursor_seen
            .iter()
            .rev()
            .find(|(c, _)| *c == MiClass::RightHand)
            .unwrap();
        assert!(last_right.1.0 > 0.3, "{last_right:?}");
        let mut text = String::new();
        events
            .iter()
            .find(|e| matches!(e, ImageryEvent::Result { .. }))
            .unwrap()
            .marker(&mut text);
        assert!(text.starts_with("mi result trial=1 class="), "{text}");
        assert!(text.ends_with("correct=true"), "{text}");
    }

    #[test]
    fn a_feedback_trial_without_decisions_is_scored_as_none() {
        let names = vec!["left_hand".to_string(), "right_hand".to_string()];
        let mut p = ImageryParadigm::feedback(&LR, 1, timing(), 1, &names, 0.5, 2.0).unwrap();
        run(&mut p, |_, _| {});
        assert_eq!(p.score(), (0, 2));
        assert!(p.results().iter().all(|r| r.1.is_none()));
    }

    #[test]
    fn a_trial_is_scored_as_soon_as_a_decision_about_later_data_arrives() {
        let names = vec!["left_hand".to_string(), "right_hand".to_string()];
        let mut p = ImageryParadigm::feedback(&LR, 1, timing(), 1, &names, 0.5, 2.0).unwrap();
        let mut events = Vec::new();
        let mut t = 10.0;
        let mut cue = None;
        let mut result_at = None;
        while result_at.is_none() && t < 30.0 {
            p.advance(t, &mut |e| events.push(e));
            for e in events.drain(..) {
                match e {
                    ImageryEvent::Cue { at, .. } => cue = Some(at),
                    ImageryEvent::Result { at, decided, .. } => {
                        assert!(decided.is_some());
                        result_at = Some(at);
                    }
                    _ => {}
                }
            }
            if let (Some(c), Some(cued)) = (cue, p.cued()) {
                let k = u16::from(cued == MiClass::RightHand);
                // Decisions every 0.25 s (at 2.6, 2.85, ... s) about data up to 4.6 s after
                // the cue.
                if t - c >= 2.5 && t - c <= 4.6 && ((t - c - 0.1) / 0.25).fract() < 0.04 {
                    p.decision(&decision(k, 0.9, t));
                }
            }
            t += 0.01;
        }
        let (c, r) = (cue.unwrap(), result_at.unwrap());
        // The imagery ends at cue + 4; the first decision past it is at about cue + 4.1; the
        // rest would last at least 1 s.
        assert!(
            r - c > 4.05 && r - c < 4.2,
            "scored {} s after the cue",
            r - c
        );
        assert_eq!(p.score(), (1, 1));
        assert_eq!(
            p.current_result().map(|r| r.0),
            p.results().first().map(|r| r.0)
        );
    }

    #[test]
    fn bad_set_ups_are_refused_with_the_fix() {
        let names = vec!["left_hand".to_string(), "right_hand".to_string()];
        let short = ImageryTiming {
            imagery_secs: 2.0,
            ..timing()
        };
        let err = ImageryParadigm::feedback(&LR, 3, short, 1, &names, 0.5, 2.0).unwrap_err();
        assert!(
            matches!(err, ParadigmError::ImageryTooShort { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("--imagery-secs"), "{err}");
        assert_eq!(
            ImageryParadigm::calibration(&LR[..1], 5, timing(), 1).unwrap_err(),
            ParadigmError::TooFewClasses(1)
        );
        assert!(ImageryParadigm::calibration(&LR, 0, timing(), 1).is_err());
        let bad = ImageryTiming {
            rest_secs: (2.0, 1.0),
            ..timing()
        };
        assert!(ImageryParadigm::calibration(&LR, 3, bad, 1).is_err());
        let dup = [MiClass::Feet, MiClass::Feet];
        assert!(ImageryParadigm::calibration(&dup, 3, timing(), 1).is_err());
        let err = ImageryParadigm::feedback(
            &LR,
            3,
            timing(),
            1,
            &["feet".to_string(), "rest".to_string()],
            0.5,
            2.0,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("classes feet,rest (--classes"),
            "{err}"
        );
        assert!(parse_classes(&["left_hand".into(), "tongue".into()]).is_err());
    }
}
