//! What a speller run did, for the user: the display's refresh against the codes, the phrase
//! and how far it got, and at the end a summary (typed text, accuracy, ITR, a diagnosis when
//! the decoder did not follow the cues) shown in the window, printed and saved as JSON.

use serde::Serialize;

use neuroloop_offline::eval::chance::ChanceCheck;
use neuroloop_offline::eval::wolpaw_itr;

/// Frames per cycle of the fastest code a display must draw: the benchmark's 15.8-Hz code on
/// a 60-Hz display has 3.8; fewer distort the sampled sinusoid.
pub const MIN_FRAMES_PER_CYCLE: f64 = 3.75;

/// Frames drawn before the first flicker to judge the refresh: the judgement reads the last 31
/// intervals, so the window's first, slower frames (shaders compiled, fonts laid out) are left
/// out.
pub const REFRESH_FRAMES: u64 = 90;

/// Whether the display is fast enough for the codes, judged before the first flicker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefreshGate {
    /// Still measuring (frames drawn so far).
    Measuring,
    /// Fast enough.
    Fine,
    /// Too slow: its refresh (Hz); the run waits for the user unless `go_on`.
    Slow {
        /// Measured refresh, Hz.
        hz: f64,
        /// Whether the run goes on (the user confirmed, or nobody watches: the simulator).
        go_on: bool,
    },
}

/// The least refresh (Hz) that draws codes up to `max_code_hz`.
pub fn required_refresh_hz(max_code_hz: f64) -> f64 {
    MIN_FRAMES_PER_CYCLE * max_code_hz
}

/// What is wrong with a display at `refresh_hz` for codes up to `max_code_hz`, and what to
/// change; `None` when it is fast enough.
pub fn refresh_problem(refresh_hz: f64, max_code_hz: f64) -> Option<String> {
    let needed = required_refresh_hz(max_code_hz);
    (refresh_hz < needed).then(|| {
        format!(
            "the display draws {refresh_hz:.1} frames/s, but the fastest code ({max_code_hz:.1} Hz) needs at least {needed:.0}: the flicker is distorted and decoding suffers. Use a 60 Hz (or faster) display with vsync, close other programs, or choose codes up to {:.1} Hz (`neuroloop speller --targets`)",
            refresh_hz / MIN_FRAMES_PER_CYCLE
        )
    })
}

/// The end of a speller run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpellerSummary {
    /// The cued phrase (`None`: free spelling).
    pub phrase: Option<String>,
    /// What was typed.
    pub typed: String,
    /// Flickers run.
    pub flickers: u32,
    /// Cued flickers whose selection was the cued key.
    pub correct: u32,
    /// Cued flickers (a flicker that ended without a selection counts as a miss).
    pub cued: u32,
    /// Flickers that ended without a selection (no decision inside the flicker).
    pub no_selection: u32,
    /// `correct / cued` (`None` without cues).
    pub accuracy: Option<f64>,
    /// 95 % interval of the accuracy beside chance (`None` without cues).
    pub accuracy_check: Option<ChanceCheck>,
    /// Keys on the keyboard.
    pub targets: usize,
    /// Mean time per selection (cue, flicker, feedback), s.
    pub secs_per_selection: Option<f64>,
    /// Wolpaw information transfer rate at that pace, bits/min (`None` without cues).
    pub itr_bits_per_min: Option<f64>,
    /// The display's refresh, Hz.
    pub refresh_hz: f64,
    /// Frames the display missed.
    pub frames_missed: u64,
    /// The decoder.
    pub decoder: String,
    /// What went wrong and what to change, when the run did not work.
    pub diagnosis: Vec<String>,
    /// Where this summary was saved (not part of the file).
    #[serde(skip)]
    pub saved_to: Option<String>,
}

impl SpellerSummary {
    /// Completes the figures from the counts: accuracy and its interval, ITR, diagnosis.
    /// `refresh_problem` is [`refresh_problem`]'s verdict on this run's display.
    pub fn finish(mut self, refresh_problem: Option<String>) -> Self {
        if self.cued > 0 {
            let check = ChanceCheck::new(self.correct as usize, self.cued as usize, self.targets);
            self.accuracy = Some(check.accuracy);
            self.accuracy_check = Some(check);
            self.itr_bits_per_min = self
                .secs_per_selection
                .filter(|&s| s > 0.0)
                .map(|s| wolpaw_itr(check.accuracy, self.targets, s));
            if self.no_selection == self.cued {
                self.diagnosis.push(format!(
                    "none of the {} flickers ended in a selection: the decoder made no decision inside them (its window may be longer than the flicker, or no signal reaches it)",
                    self.cued
                ));
            } else if self.cued >= 3 && !check.above_chance() {
                self.diagnosis.push(format!(
                    "the decoder did not follow the cues ({} of {} right, {}): with a person, check the occipital electrodes (O1, Oz, O2) and that they look at the outlined key; with the simulator, raise its SSVEP amplitude; a TRCA model fitted from a calibration run decodes better than FBCCA",
                    self.correct,
                    self.cued,
                    check.describe()
                ));
            }
        }
        self.diagnosis.extend(refresh_problem);
        self
    }

    /// The summary as lines of text.
    pub fn to_text(&self) -> String {
        let mut t = String::new();
        if let Some(p) = &self.phrase {
            t += &format!("phrase        {p}\n");
        }
        t += &format!(
            "typed         \"{}\" in {} flickers, {} without a selection ({})\n",
            self.typed, self.flickers, self.no_selection, self.decoder
        );
        if let (Some(c), Some(s)) = (&self.accuracy_check, self.secs_per_selection) {
            t += &format!(
                "accuracy      {} of {} as cued: {}\n",
                self.correct,
                self.cued,
                c.describe()
            );
            t += &format!(
                "ITR           {:.1} bits/min at {s:.2} s per selection ({} keys)\n",
                self.itr_bits_per_min.unwrap_or(0.0),
                self.targets
            );
        }
        t += &format!(
            "display       {:.1} frames/s, {} missed\n",
            self.refresh_hz, self.frames_missed
        );
        for d in &self.diagnosis {
            t += &format!("problem       {d}\n");
        }
        t
    }

    /// Saves the summary as JSON beside the recording (`NAME.summary.json`).
    pub fn save_beside(&self, recording: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        neuroloop_runtime::report::SessionReport::save_json_beside(recording, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(correct: u32, cued: u32) -> SpellerSummary {
        SpellerSummary {
            phrase: Some("NEUROLOOP".into()),
            typed: "NEUROLOOP".into(),
            flickers: cued,
            correct,
            cued,
            no_selection: 0,
            accuracy: None,
            accuracy_check: None,
            targets: 40,
            secs_per_selection: Some(5.0),
            itr_bits_per_min: None,
            refresh_hz: 60.0,
            frames_missed: 0,
            decoder: "ssvep-fbcca".into(),
            diagnosis: Vec::new(),
            saved_to: None,
        }
    }

    #[test]
    fn a_perfect_run_scores_the_wolpaw_rate_and_a_chance_run_is_diagnosed() {
        let s = summary(9, 9).finish(None);
        assert_eq!(s.accuracy, Some(1.0));
        // log2(40) bits every 5 s.
        assert!((s.itr_bits_per_min.unwrap() - 40f64.log2() * 12.0).abs() < 1e-9);
        assert!(s.diagnosis.is_empty());
        let s = summary(0, 9).finish(None);
        assert_eq!(s.itr_bits_per_min, Some(0.0));
        assert!(
            s.diagnosis[0].contains("did not follow the cues (0 of 9"),
            "{:?}",
            s.diagnosis
        );
        assert!(s.to_text().contains("accuracy      0 of 9 as cued"));
        let s = SpellerSummary {
            no_selection: 9,
            ..summary(0, 9)
        }
        .finish(None);
        assert!(
            s.diagnosis[0].contains("none of the 9 flickers ended in a selection"),
            "{:?}",
            s.diagnosis
        );
    }

    #[test]
    fn a_slow_display_is_named_with_what_to_change() {
        assert_eq!(refresh_problem(60.0, 15.8), None);
        let p = refresh_problem(38.0, 15.8).unwrap();
        assert!(
            p.contains("draws 38.0 frames/s") && p.contains("at least 59"),
            "{p}"
        );
        assert!(p.contains("codes up to 10.1 Hz"), "{p}");
    }
}
