//! The speller window: the flickering keyboard, typed text, cue and decoder confidence, a
//! photodiode square, and frame timing sent to the recording.

use std::sync::{Arc, Mutex};

use egui::{Align2, Color32, FontId, Rect, Stroke, StrokeKind, vec2};
use neuroloop_acquisition::sim::Attention;

use super::summary::{REFRESH_FRAMES, RefreshGate, SpellerSummary, refresh_problem};
use super::{FrameClock, FrameTime, Phase, Speller, SpellerEvent, format_event};
use neuroloop_decoders::Decision;
use neuroloop_runtime::outputs::{UiEvent, UiEventSender};
use neuroloop_runtime::session::Session;

/// Side of the photodiode square, in points.
pub const PHOTODIODE_SIDE: f32 = 48.0;

/// The speller as an eframe app (or a plain `ui` for tests).
pub struct SpellerView {
    speller: Speller,
    session: Option<Session>,
    ui_events: Option<UiEventSender>,
    /// The simulated user's gaze, when the source is the simulator.
    gaze: Option<Arc<Attention>>,
    clock: Box<dyn FnMut() -> f64 + Send>,
    frames: FrameClock,
    last_frame: Option<FrameTime>,
    /// Decoder decisions already handed to the speller (by stamp).
    seen_until: f64,
    decisions: Vec<Decision>,
    events: Vec<SpellerEvent>,
    text: String,
    /// Luminance and rectangle of every target on the last frame, for checks.
    drawn: Vec<(f32, Rect)>,
    photodiode: Option<(f32, Rect)>,
    /// Frames, markers or onsets the full rings refused (shown; a lost onset spoils a trial).
    dropped_events: u64,
    /// Save a PNG of the window to this path once this many seconds have passed.
    screenshot: Option<(std::path::PathBuf, f64)>,
    started: Option<f64>,
    /// The display's refresh against the codes, judged before the first flicker.
    gate: RefreshGate,
    /// When the first cue showed and the last selection's feedback ends (the pace of the run).
    first_cue_at: Option<f64>,
    last_end_at: Option<f64>,
    /// The session's recording, beside which the summary is saved.
    recording: Option<std::path::PathBuf>,
    /// The summary of the finished run, for whoever opened the window.
    summary_sink: Option<Arc<Mutex<Option<SpellerSummary>>>>,
    /// Whether [`SpellerView::finish`] has run.
    finished: bool,
    /// Flickers that ended without a selection.
    no_selection: u32,
    /// When the cued phrase was done (the summary shows from then).
    done_at: Option<f64>,
}

/// Seconds the summary of a finished phrase stays on screen before the window closes.
const SUMMARY_SECS: f64 = 4.0;

impl SpellerView {
    /// A speller fed by `session` (its first decoder, whose classes are the layout's targets).
    /// `clock` returns the LSL time; `gaze` makes the simulator look where the cue says.
    pub fn new(
        speller: Speller,
        mut session: Option<Session>,
        gaze: Option<Arc<Attention>>,
        clock: Box<dyn FnMut() -> f64 + Send>,
    ) -> Self {
        let ui_events = session.as_mut().and_then(Session::take_ui_events);
        SpellerView {
            speller,
            session,
            ui_events,
            gaze,
            clock,
            frames: FrameClock::new(1.0 / 60.0),
            last_frame: None,
            seen_until: f64::NEG_INFINITY,
            decisions: Vec::new(),
            events: Vec::new(),
            text: String::new(),
            drawn: Vec::new(),
            photodiode: None,
            dropped_events: 0,
            screenshot: None,
            started: None,
            gate: RefreshGate::Measuring,
            first_cue_at: None,
            last_end_at: None,
            recording: None,
            summary_sink: None,
            finished: false,
            no_selection: 0,
            done_at: None,
        }
    }

    /// The session records to `path`: the run's summary is saved beside it when it ends.
    pub fn with_recording(mut self, path: Option<std::path::PathBuf>) -> Self {
        self.recording = path;
        self
    }

    /// Puts the run's summary in `sink` when the run ends (for a caller whose window owns the
    /// view).
    pub fn with_summary_sink(mut self, sink: Arc<Mutex<Option<SpellerSummary>>>) -> Self {
        self.summary_sink = Some(sink);
        self
    }

    /// The display's refresh as judged against the codes.
    pub fn refresh_gate(&self) -> RefreshGate {
        self.gate
    }

    /// The fastest code on the keyboard, Hz.
    fn max_code_hz(&self) -> f64 {
        self.speller
            .layout()
            .freqs_hz()
            .into_iter()
            .fold(0.0, f64::max)
    }

    /// Judges the refresh once [`REFRESH_FRAMES`] frames are measured. Too slow for the
    /// codes: the run waits for the user's word, unless the source is the simulator, whose
    /// simulated user does not look at the screen.
    fn judge_refresh(&mut self) {
        if self.gate != RefreshGate::Measuring || self.frames.counts().0 < REFRESH_FRAMES {
            return;
        }
        let hz = 1.0 / self.frames.period();
        self.gate = match refresh_problem(hz, self.max_code_hz()) {
            None => RefreshGate::Fine,
            Some(_) => RefreshGate::Slow {
                hz,
                go_on: self.gaze.is_some(),
            },
        };
    }

    /// What the run did so far (all of it once the speller is done).
    pub fn summary(&self) -> SpellerSummary {
        let (correct, judged) = self.speller.score();
        let flickers = self.speller.completed_flickers();
        let cued = if self.speller.phrase().is_some() {
            judged + self.no_selection
        } else {
            0
        };
        let refresh_hz = 1.0 / self.frames.period();
        SpellerSummary {
            phrase: self.speller.phrase(),
            typed: self.speller.text().to_string(),
            flickers,
            correct,
            cued,
            no_selection: self.no_selection,
            accuracy: None,
            accuracy_check: None,
            targets: self.speller.layout().targets.len(),
            secs_per_selection: match (self.first_cue_at, self.last_end_at) {
                (Some(a), Some(b)) if flickers > 0 && b > a => Some((b - a) / f64::from(flickers)),
                _ => None,
            },
            itr_bits_per_min: None,
            refresh_hz,
            frames_missed: self.frames.counts().1,
            decoder: self.decoder_name().to_string(),
            diagnosis: Vec::new(),
            saved_to: None,
        }
        .finish(refresh_problem(refresh_hz, self.max_code_hz()))
    }

    /// Saves a PNG of the window to `path` `after_secs` after the first frame (for
    /// documentation and for checking a display's rendering).
    pub fn with_screenshot(mut self, path: std::path::PathBuf, after_secs: f64) -> Self {
        self.screenshot = Some((path, after_secs));
        self
    }

    /// The speller state.
    pub fn speller(&self) -> &Speller {
        &self.speller
    }

    /// The name of the decoder the speller follows (empty without a session).
    pub fn decoder_name(&self) -> &str {
        self.session
            .as_ref()
            .and_then(|s| s.decoders.first())
            .map_or("", |d| d.name.as_str())
    }

    /// The last frame's timing.
    pub fn last_frame(&self) -> Option<FrameTime> {
        self.last_frame
    }

    /// Luminance and screen rectangle of every target on the last frame.
    pub fn drawn(&self) -> &[(f32, Rect)] {
        &self.drawn
    }

    /// Luminance and rectangle of the photodiode square on the last frame.
    pub fn photodiode(&self) -> Option<(f32, Rect)> {
        self.photodiode
    }

    /// Stops the session (recording closed) and returns how it ended; the run's summary goes
    /// beside the recording (a file that cannot be written is named in the summary's problems)
    /// and to the summary sink. Only the first call stops and saves.
    pub fn finish(&mut self) -> Option<neuroloop_runtime::session::SessionOutcome> {
        if self.finished {
            return None;
        }
        let outcome = self.session.as_mut().map(Session::stop_in_place);
        self.finished = true;
        if outcome.is_some() {
            let mut summary = self.summary();
            if let Some(path) = &self.recording {
                match summary.save_beside(path) {
                    Ok(saved) => summary.saved_to = Some(saved.display().to_string()),
                    Err(e) => summary.diagnosis.push(format!(
                        "the summary could not be saved beside {} ({e}); the recording itself is not affected",
                        path.display()
                    )),
                }
            }
            if let Some(sink) = &self.summary_sink {
                *sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(summary);
            }
        }
        outcome
    }

    /// New decisions of the first decoder since the last frame (never waits for the lock).
    fn collect_decisions(&mut self) {
        self.decisions.clear();
        if let Some(session) = self.session.as_ref() {
            session.new_decisions(0, &mut self.seen_until, &mut self.decisions);
        }
    }

    /// Draws one frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let now = (self.clock)();
        let frame = self.frames.frame(now);
        self.last_frame = Some(frame);
        self.judge_refresh();
        self.collect_decisions();
        self.events.clear();
        // The first flicker waits for the refresh to be judged (and, too slow, for the user).
        if matches!(
            self.gate,
            RefreshGate::Fine | RefreshGate::Slow { go_on: true, .. }
        ) {
            self.speller
                .advance(frame.present, &self.decisions, &mut self.events);
        }
        let feedback = self.speller.timing().feedback_secs;
        for e in &self.events {
            match *e {
                SpellerEvent::Cue { at, .. } => {
                    self.first_cue_at.get_or_insert(at);
                }
                SpellerEvent::Selected { at, .. } => self.last_end_at = Some(at + feedback),
                SpellerEvent::NoSelection { at, .. } => {
                    self.last_end_at = Some(at + feedback);
                    self.no_selection += 1;
                }
                SpellerEvent::StimOn { .. } => {}
            }
        }
        for e in &self.events {
            if let Some(gaze) = &self.gaze {
                match *e {
                    SpellerEvent::StimOn { at, .. } => {
                        if let Some(k) = self.speller.cued_target() {
                            gaze.attend(k, at);
                        }
                    }
                    SpellerEvent::Selected { .. } | SpellerEvent::NoSelection { .. } => {
                        gaze.release();
                    }
                    SpellerEvent::Cue { .. } => {}
                }
            }
            if let Some(tx) = self.ui_events.as_mut() {
                if let SpellerEvent::StimOn { at, .. } = *e
                    && !tx.stimulus_onset(at)
                {
                    self.dropped_events += 1;
                }
                format_event(&mut self.text, self.speller.layout(), e);
                let at = match *e {
                    SpellerEvent::Cue { at, .. }
                    | SpellerEvent::StimOn { at, .. }
                    | SpellerEvent::Selected { at, .. }
                    | SpellerEvent::NoSelection { at, .. } => at,
                };
                if !tx.send(UiEvent::Marker {
                    text: self.text.clone(),
                    at,
                }) {
                    self.dropped_events += 1;
                }
            }
        }
        if let Some(tx) = self.ui_events.as_mut()
            && !tx.send(UiEvent::Frame(frame))
        {
            self.dropped_events += 1;
        }
        egui::Panel::top("speller-status").show(ui, |ui| self.status_ui(ui, frame));
        egui::Panel::top("speller-refresh").show(ui, |ui| self.refresh_ui(ui));
        if self.speller.phase() == Phase::Done {
            self.done_at.get_or_insert(now);
            egui::CentralPanel::default().show(ui, |ui| self.summary_ui(ui));
        } else {
            egui::CentralPanel::default().show(ui, |ui| self.keyboard_ui(ui, frame.present));
        }
        ui.ctx().request_repaint();
    }

    /// The refresh verdict: measuring, or too slow with what to change (and, when the run
    /// waits, a button to go on).
    fn refresh_ui(&mut self, ui: &mut egui::Ui) {
        match self.gate {
            RefreshGate::Measuring => {
                ui.label("measuring the display's refresh before the first flicker…");
            }
            RefreshGate::Fine => {}
            RefreshGate::Slow { hz, go_on: false } => {
                let problem = refresh_problem(hz, self.max_code_hz()).unwrap_or_default();
                ui.colored_label(Color32::from_rgb(230, 160, 40), problem);
                if ui.button("Flicker anyway").clicked() {
                    self.gate = RefreshGate::Slow { hz, go_on: true };
                }
            }
            // Going on: the display as it draws now (it may have caught up).
            RefreshGate::Slow { go_on: true, .. } => {
                let now_hz = 1.0 / self.frames.period();
                if let Some(problem) = refresh_problem(now_hz, self.max_code_hz()) {
                    ui.colored_label(Color32::from_rgb(230, 160, 40), problem);
                }
            }
        }
    }

    /// The cued phrase with the letters done, the current one and those to come.
    fn phrase_ui(&self, ui: &mut egui::Ui) {
        let Some(phrase) = self.speller.phrase() else {
            return;
        };
        let at = self.speller.cues_begun();
        let current = match self.speller.phase() {
            Phase::Idle | Phase::Done => None,
            _ => at.checked_sub(1),
        };
        let mut job = egui::text::LayoutJob::default();
        let font = FontId::monospace(22.0);
        for (i, c) in phrase.chars().enumerate() {
            let format = if Some(i) == current {
                egui::TextFormat {
                    font_id: font.clone(),
                    color: Color32::BLACK,
                    background: Color32::from_rgb(240, 200, 60),
                    ..Default::default()
                }
            } else {
                egui::TextFormat {
                    font_id: font.clone(),
                    color: if i < at {
                        Color32::GRAY
                    } else {
                        Color32::WHITE
                    },
                    ..Default::default()
                }
            };
            job.append(&c.to_string(), 0.0, format);
        }
        ui.horizontal(|ui| {
            ui.label("phrase:");
            ui.label(job);
            let len = phrase.chars().count();
            ui.label(match (self.speller.phase(), current) {
                (Phase::Done, _) => format!("all {len} letters cued"),
                (_, Some(c)) => format!("letter {} of {len}", c + 1),
                _ => format!("letter {} of {len} next", (at + 1).min(len)),
            });
        });
    }

    fn status_ui(&self, ui: &mut egui::Ui, frame: FrameTime) {
        self.phrase_ui(ui);
        ui.horizontal(|ui| {
            ui.label("typed:");
            let shown = if self.speller.text().is_empty() {
                "…".to_string()
            } else {
                self.speller.text().to_string()
            };
            ui.label(egui::RichText::new(shown).monospace().size(28.0));
        });
        ui.horizontal(|ui| {
            let phase = match self.speller.phase() {
                Phase::Idle => "starting".to_string(),
                Phase::Cue { .. } => match self.speller.cued_target() {
                    Some(k) => format!("look at {}", self.speller.layout().targets[k].key.label()),
                    None => "choose a key".to_string(),
                },
                Phase::Stim { .. } => "flickering".to_string(),
                Phase::Feedback { .. } => match self.speller.last_selection() {
                    Some((k, early)) => format!(
                        "selected {}{}",
                        self.speller.layout().targets[k].key.label(),
                        if early { " (early stop)" } else { "" }
                    ),
                    None => "no selection".to_string(),
                },
                Phase::Done => "phrase done".to_string(),
            };
            ui.label(phase);
            ui.separator();
            match self.speller.leading() {
                Some(d) => ui.label(format!(
                    "decoder: {} confidence {:.2}",
                    self.speller.layout().targets[usize::from(d.class)]
                        .key
                        .label(),
                    d.confidence
                )),
                None => ui.label("decoder: waiting"),
            };
            ui.add(
                egui::ProgressBar::new(self.speller.leading().map_or(0.0, |d| d.confidence))
                    .desired_width(120.0),
            );
            ui.separator();
            let (judged_ok, judged) = self.speller.score();
            if judged > 0 {
                ui.label(format!("correct {judged_ok}/{judged}"));
                ui.separator();
            }
            let (frames, dropped) = self.frames.counts();
            ui.label(format!(
                "{:.1} Hz refresh, {frames} frames, {dropped} dropped",
                1.0 / self.frames.period()
            ));
            if self.dropped_events > 0 {
                ui.colored_label(
                    Color32::RED,
                    format!(
                        "{} frame/marker events lost (the output thread fell behind): this session's recording is incomplete",
                        self.dropped_events
                    ),
                );
            }
            let _ = frame;
        });
    }

    /// The end of a cued run: its summary, large, until the window closes.
    fn summary_ui(&self, ui: &mut egui::Ui) {
        let summary = self.summary();
        ui.add_space(24.0);
        ui.heading("the phrase is done");
        for line in summary.to_text().lines() {
            let text = egui::RichText::new(line).monospace().size(18.0);
            ui.label(if line.starts_with("problem") {
                text.color(Color32::from_rgb(230, 160, 40))
            } else {
                text
            });
        }
        ui.label(egui::RichText::new("Enter or Esc closes").weak());
    }

    fn keyboard_ui(&mut self, ui: &mut egui::Ui, present: f64) {
        let layout = self.speller.layout();
        let area = ui.available_rect_before_wrap();
        let (rows, cols) = (layout.rows as f32, layout.cols as f32);
        let cell = vec2(
            area.width() / cols,
            (area.height() - PHOTODIODE_SIDE) / rows,
        );
        let painter = ui.painter();
        painter.rect_filled(area, 0.0, Color32::BLACK);
        self.drawn.clear();
        let cued = self.speller.cued_target();
        let cue_visible = matches!(self.speller.phase(), Phase::Cue { .. });
        let selected = match self.speller.phase() {
            Phase::Feedback { .. } => self.speller.last_selection().map(|(k, _)| k),
            _ => None,
        };
        for (k, target) in layout.targets.iter().enumerate() {
            let (row, col) = target.cell;
            let min = area.min + vec2(col as f32 * cell.x, row as f32 * cell.y);
            let rect = Rect::from_min_size(min, cell).shrink(cell.min_elem() * 0.12);
            let l = self.speller.luminance(k, present);
            let grey = (l * 255.0).round() as u8;
            painter.rect_filled(rect, 4.0, Color32::from_gray(grey));
            let ink = if grey > 127 {
                Color32::BLACK
            } else {
                Color32::WHITE
            };
            painter.text(
                rect.center(),
                Align2::CENTER_CENTER,
                target.key.label(),
                FontId::proportional(rect.height() * 0.45),
                ink,
            );
            if cue_visible && cued == Some(k) {
                painter.rect_stroke(
                    rect.expand(4.0),
                    4.0,
                    Stroke::new(4.0, Color32::RED),
                    StrokeKind::Outside,
                );
            }
            if selected == Some(k) {
                painter.rect_stroke(
                    rect.expand(4.0),
                    4.0,
                    Stroke::new(4.0, Color32::GREEN),
                    StrokeKind::Outside,
                );
            }
            self.drawn.push((l, rect));
        }
        // Photodiode square, bottom left: black outside the flicker, then the first target's
        // sampled luminance (the flicker onset is its first bright-going frame).
        let square = Rect::from_min_size(
            egui::pos2(area.min.x, area.max.y - PHOTODIODE_SIDE),
            vec2(PHOTODIODE_SIDE, PHOTODIODE_SIDE),
        );
        let l = if self.speller.flickering(present) {
            self.speller.luminance(0, present)
        } else {
            0.0
        };
        painter.rect_filled(square, 0.0, Color32::from_gray((l * 255.0).round() as u8));
        self.photodiode = Some((l, square));
    }
}

impl eframe::App for SpellerView {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        SpellerView::ui(self, ui);
        let now = self.last_frame.map_or(0.0, |f| f.drawn);
        let started = *self.started.get_or_insert(now);
        crate::window::screenshot_when_due(ui.ctx(), &mut self.screenshot, now - started);
        // The summary stays on screen a moment (or until Enter or Esc) before the window
        // closes.
        let key = ui.input(|i| i.key_pressed(egui::Key::Enter) || i.key_pressed(egui::Key::Escape));
        if self.done_at.is_some_and(|t| key || now - t > SUMMARY_SECS) {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.finish();
    }
}
