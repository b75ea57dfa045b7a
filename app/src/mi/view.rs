//! The motor-imagery window: a calibration run recorded with cue markers, the decoder fitted
//! from that recording in the background, then an online feedback run on the fitted model,
//! all in one window.
//!
//! Each stage runs its own [`Session`] (built by the caller's [`SessionFactory`], so the
//! window works the same on the simulator, an LSL stream or in tests): the calibration
//! session records to a file, which is closed before fitting reads it; the feedback session
//! decodes with the fitted model. The window reads decisions with `try_lock` only and sends
//! its markers through the session's lock-free UI ring, so it never blocks the pipeline.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use egui::{Align2, Color32, FontId, Pos2, Stroke, vec2};
use neuroloop_acquisition::MiClass;
use neuroloop_acquisition::sim::Attention;
use neuroloop_decoders::Decision;
use neuroloop_decoders::mi::MiMethod;

use super::model::FeedbackModel;

use super::paradigm::{
    ImageryEvent, ImageryMode, ImageryParadigm, ImageryPhase, ImageryTiming, class_direction,
};
use crate::speller::FrameClock;
use neuroloop_offline::calibration::imagery::{CalibrationCut, FitOutcome, fit_best};
use neuroloop_offline::eval::chance::ChanceCheck;

use super::summary::{MiSummary, confusion_ui};
use neuroloop_runtime::outputs::{UiEvent, UiEventSender};
use neuroloop_runtime::session::Session;

/// Which session the window needs next.
pub enum SessionRole {
    /// Calibration: record (the factory must give the session a recording path), no decoder
    /// needed.
    Calibration,
    /// Feedback with this model as the session's first decoder.
    Feedback(Box<FeedbackModel>),
}

/// Starts the session a stage needs.
pub type SessionFactory = Box<dyn FnMut(SessionRole) -> anyhow::Result<Session>>;

/// What the window runs.
#[derive(Debug, Clone)]
pub struct ImageryPlan {
    /// Cued classes, in the simulator's intent order.
    pub classes: Vec<MiClass>,
    /// Trial durations.
    pub timing: ImageryTiming,
    /// Calibration trials per class (0: no calibration; `model` must be given).
    pub calibration_trials: usize,
    /// Feedback trials per class (0: stop after fitting).
    pub feedback_trials: usize,
    /// Seed of the trial order and rest lengths.
    pub seed: u64,
    /// How calibration trials are cut for fitting.
    pub cut: CalibrationCut,
    /// Methods cross-validated; the best is fitted.
    pub methods: Vec<MiMethod>,
    /// Where the fitted model is saved.
    pub model_out: Option<PathBuf>,
    /// A fitted model or network card to use instead of calibrating.
    pub model: Option<FeedbackModel>,
    /// Close the window when everything is done.
    pub close_when_done: bool,
    /// Ask before feedback from a model whose cross-validated accuracy is not shown above
    /// chance (false: go on, noting it in the report).
    pub ask_below_chance: bool,
}

impl ImageryPlan {
    /// Checks everything that can be checked before a window opens (classes, timing, a
    /// model's classes against the cued ones, a model or calibration to decode with) and
    /// returns the plan, without calibration when a model is given.
    pub fn checked(mut self) -> anyhow::Result<Self> {
        use super::paradigm::ImageryParadigm;
        let needed = neuroloop_decoders::mi::model::MIN_TRIALS_PER_CLASS;
        if self.model.is_none() && self.calibration_trials < needed {
            anyhow::bail!(
                "{} calibration trials per class and no fitted model: calibrate with at least {needed} trials per class (20 or more fit better), or give a model (`--mi-model`, or the start screen's model field) from `neuroloop mi fit` or an earlier run's model.json",
                self.calibration_trials
            );
        }
        if self.model.is_some() && self.feedback_trials == 0 {
            anyhow::bail!(
                "a fitted model skips calibration, so give at least 1 feedback trial per class (`--feedback-trials`, or the start screen's feedback trials)"
            );
        }
        ImageryParadigm::calibration(&self.classes, 1, self.timing, self.seed)?;
        let (names, offset, window) = match &self.model {
            Some(m) => (
                m.class_names().to_vec(),
                m.cue_offset_secs(),
                m.window_secs(),
            ),
            None => (
                self.classes.iter().map(|c| c.name().to_string()).collect(),
                self.cut.cue_offset_secs,
                self.cut.window_secs,
            ),
        };
        if self.feedback_trials > 0 {
            ImageryParadigm::feedback(
                &self.classes,
                1,
                self.timing,
                self.seed,
                &names,
                offset,
                window,
            )?;
        }
        if self.model.is_some() {
            self.calibration_trials = 0;
        }
        Ok(self)
    }
}

/// A paradigm run on its session.
struct Run {
    session: Session,
    ui_events: Option<UiEventSender>,
    paradigm: ImageryParadigm,
}

enum Stage {
    Starting,
    Running(Box<Run>),
    Fitting(Receiver<anyhow::Result<FitOutcome>>),
    /// A model is ready; the feedback session starts on the next frame (after this one has
    /// said so on screen).
    Fitted(Box<FeedbackModel>),
    /// The model's cross-validated accuracy is not shown above chance: feedback from it would
    /// mislead the participant, so the user chooses (feedback anyway, calibrate again, stop).
    Doubtful(Box<FeedbackModel>, ChanceCheck),
    Finished,
    Failed(String),
}

/// The motor-imagery window as an eframe app (or a plain `ui` for tests).
pub struct ImageryView {
    plan: ImageryPlan,
    factory: SessionFactory,
    /// The simulated subject's intent, when the source is the simulator.
    intent: Option<Arc<Attention>>,
    clock: Box<dyn FnMut() -> f64>,
    frames: FrameClock,
    stage: Stage,
    /// Lines shown under the status: calibration size, cross-validation, feedback score.
    report: Vec<String>,
    decisions: Vec<Decision>,
    seen_until: f64,
    events: Vec<ImageryEvent>,
    text: String,
    /// Markers the full ring refused (shown: the recording misses them).
    dropped_events: u64,
    /// The cursor as last drawn (x, y in [-1, 1]), for checks.
    cursor: Option<(f32, f32)>,
    /// Feedback score once the feedback run ended.
    final_score: Option<(usize, usize)>,
    screenshot: Option<(PathBuf, f64)>,
    started: Option<f64>,
    finished_at: Option<f64>,
    /// Clock reading of the last frame.
    last_drawn: f64,
    /// What the run did so far.
    summary: MiSummary,
    /// The model of the last feedback run (for another one).
    last_model: Option<FeedbackModel>,
    /// Where the model being fitted is saved.
    fit_path: Option<PathBuf>,
}

impl ImageryView {
    /// A window running `plan`; `factory` starts each stage's session, `clock` returns the LSL
    /// time, `intent` makes the simulator imagine what the cue says.
    pub fn new(
        plan: ImageryPlan,
        factory: SessionFactory,
        intent: Option<Arc<Attention>>,
        clock: Box<dyn FnMut() -> f64>,
    ) -> Self {
        ImageryView {
            factory,
            intent,
            clock,
            frames: FrameClock::new(1.0 / 60.0),
            stage: Stage::Starting,
            report: Vec::new(),
            decisions: Vec::new(),
            seen_until: f64::NEG_INFINITY,
            events: Vec::new(),
            text: String::new(),
            dropped_events: 0,
            cursor: None,
            final_score: None,
            screenshot: None,
            started: None,
            finished_at: None,
            last_drawn: 0.0,
            summary: MiSummary {
                classes: plan.classes.iter().map(|c| c.name().to_string()).collect(),
                ..MiSummary::default()
            },
            last_model: None,
            fit_path: None,
            plan,
        }
    }

    /// What the run did so far (calibration, cross-validation, model, feedback).
    pub fn summary(&self) -> &MiSummary {
        &self.summary
    }

    /// The model this run fitted and saved, if it did and it is fit to use: shown above
    /// chance, or confirmed by the user for feedback.
    pub fn fitted_model_path(&self) -> Option<&str> {
        let usable = self.summary.confirmed_below_chance
            || self.summary.model_check.is_none_or(|c| c.above_chance());
        self.summary.model_path.as_deref().filter(|_| usable)
    }

    /// Saves the summary beside `recording`; says where in the report (or why not).
    fn save_summary(&mut self, recording: Option<&std::path::Path>) {
        let Some(recording) = recording else {
            return;
        };
        match self.summary.save_beside(recording) {
            Ok(path) => self
                .report
                .push(format!("summary saved to {}", path.display())),
            Err(e) => self.report.push(format!(
                "warning: the summary could not be saved beside {} ({e})",
                recording.display()
            )),
        }
    }

    /// Saves a PNG of the window to `path` `after_secs` after the first frame.
    pub fn with_screenshot(mut self, path: PathBuf, after_secs: f64) -> Self {
        self.screenshot = Some((path, after_secs));
        self
    }

    /// Lines of the report (calibration, cross-validation, feedback score).
    pub fn report(&self) -> &[String] {
        &self.report
    }

    /// Correct and scored feedback trials, once the feedback run has ended.
    pub fn final_score(&self) -> Option<(usize, usize)> {
        self.final_score
    }

    /// Whether every stage is over (successfully or not).
    pub fn is_finished(&self) -> bool {
        matches!(self.stage, Stage::Finished | Stage::Failed(_))
    }

    /// The error that stopped the run, if one did.
    pub fn error(&self) -> Option<&str> {
        match &self.stage {
            Stage::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The feedback cursor as last drawn.
    pub fn cursor(&self) -> Option<(f32, f32)> {
        self.cursor
    }

    /// The running paradigm, if a run is on.
    pub fn paradigm(&self) -> Option<&ImageryParadigm> {
        match &self.stage {
            Stage::Running(run) => Some(&run.paradigm),
            _ => None,
        }
    }

    /// Stops the running session, if any (its recording is closed).
    pub fn finish(&mut self) {
        if let Stage::Running(run) = &mut self.stage {
            run.session.stop_in_place();
        }
    }

    fn start(&mut self, role: SessionRole) -> anyhow::Result<Stage> {
        let (mode, trials, decoder_model) = match &role {
            SessionRole::Calibration => {
                (ImageryMode::Calibration, self.plan.calibration_trials, None)
            }
            SessionRole::Feedback(m) => (
                ImageryMode::Feedback,
                self.plan.feedback_trials,
                Some(m.as_ref().clone()),
            ),
        };
        let paradigm = match &decoder_model {
            None => ImageryParadigm::calibration(
                &self.plan.classes,
                trials,
                self.plan.timing,
                self.plan.seed,
            )?,
            Some(m) => ImageryParadigm::feedback(
                &self.plan.classes,
                trials,
                self.plan.timing,
                self.plan.seed.wrapping_add(1),
                m.class_names(),
                m.cue_offset_secs(),
                m.window_secs(),
            )?,
        };
        if let Some(m) = &decoder_model {
            self.last_model = Some(m.clone());
            self.summary.model_method = Some(m.describe());
        }
        let mut session = (self.factory)(role)?;
        if mode == ImageryMode::Calibration && session.record_path.is_none() {
            anyhow::bail!(
                "the calibration session records nothing, so nothing can be fitted: give it a recording path"
            );
        }
        let ui_events = session.take_ui_events();
        self.seen_until = f64::NEG_INFINITY;
        Ok(Stage::Running(Box::new(Run {
            session,
            ui_events,
            paradigm,
        })))
    }

    /// Moves the stages on; called once per frame with the frame's presentation time.
    fn step(&mut self, present: f64) {
        self.stage = match std::mem::replace(&mut self.stage, Stage::Starting) {
            Stage::Starting => match self.plan.model.take() {
                Some(m) if self.plan.calibration_trials == 0 => {
                    let check = m.check();
                    self.summary.model_check = check;
                    self.checked(Box::new(m), check)
                }
                _ if self.plan.calibration_trials == 0 => Stage::Failed(
                    "nothing to run: give calibration trials, or a model for feedback".into(),
                ),
                _ => self
                    .start(SessionRole::Calibration)
                    .unwrap_or_else(|e| Stage::Failed(format!("{e:#}"))),
            },
            Stage::Running(run) => self.run_paradigm(present, run),
            Stage::Fitting(rx) => match rx.try_recv() {
                Ok(Ok(outcome)) => {
                    for (m, why) in &outcome.skipped {
                        self.report
                            .push(format!("{}: not fitted ({why})", m.name()));
                    }
                    for r in &outcome.evaluations {
                        self.report.push(format!(
                            "{}: cross-validated accuracy {:.1} %, kappa {:.2}",
                            r.method.name(),
                            100.0 * r.accuracy,
                            r.kappa
                        ));
                        self.summary
                            .cross_validation
                            .push(super::summary::MethodScore {
                                method: r.method.name().to_string(),
                                accuracy: r.accuracy,
                                kappa: r.kappa,
                            });
                    }
                    let check = outcome
                        .evaluations
                        .iter()
                        .find(|e| e.method == outcome.model.method)
                        .map(|e| {
                            ChanceCheck::of_accuracy(
                                e.accuracy,
                                e.predictions.len(),
                                outcome.model.class_names.len(),
                            )
                        });
                    let model = outcome.model;
                    self.summary.model_method = Some(model.method.name().to_string());
                    self.summary.model_check = check;
                    self.summary.model_path =
                        self.fit_path.as_ref().map(|p| p.display().to_string());
                    self.report.push(format!(
                        "fitted {}{}",
                        model.method.name(),
                        match &self.fit_path {
                            Some(p) => format!(", saved to {}", p.display()),
                            None => String::new(),
                        }
                    ));
                    if self.plan.feedback_trials == 0 {
                        let recording = self.summary.calibration_recording.clone();
                        self.save_summary(recording.as_deref().map(std::path::Path::new));
                        Stage::Finished
                    } else {
                        self.checked(Box::new(FeedbackModel::Fitted(model)), check)
                    }
                }
                Ok(Err(e)) => {
                    Stage::Failed(format!("fitting failed: {}", crate::errors::error_text(&e)))
                }
                Err(TryRecvError::Empty) => Stage::Fitting(rx),
                Err(TryRecvError::Disconnected) => {
                    Stage::Failed("the fitting thread stopped without a result".into())
                }
            },
            Stage::Fitted(model) => self
                .start(SessionRole::Feedback(model))
                .unwrap_or_else(|e| Stage::Failed(format!("{e:#}"))),
            done @ (Stage::Finished | Stage::Failed(_) | Stage::Doubtful(..)) => done,
        };
    }

    /// The end of the run: the feedback's accuracy against chance and its confusion matrix,
    /// and buttons for another feedback run with the same model or a new calibration.
    fn finished_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("motor imagery: done");
        if let Some(check) = self.summary.model_check {
            ui.label(format!(
                "decoder ({}): {} {}",
                self.summary.model_method.as_deref().unwrap_or("?"),
                self.last_model
                    .as_ref()
                    .map_or("cross-validated accuracy", FeedbackModel::accuracy_kind),
                check.describe()
            ));
        }
        if let Some(fb) = &self.summary.feedback {
            ui.label(
                egui::RichText::new(format!(
                    "feedback: {} of {} trials decoded as cued, {}",
                    fb.correct,
                    fb.trials,
                    fb.accuracy.describe()
                ))
                .size(18.0),
            );
            confusion_ui(ui, &self.plan.classes, fb);
        }
        ui.add_space(12.0);
        ui.horizontal(|ui| {
            if self.last_model.is_some()
                && self.plan.feedback_trials > 0
                && ui.button("Feedback again").clicked()
                && let Some(model) = self.last_model.clone()
            {
                self.restart(Stage::Fitted(Box::new(model)));
            }
            if self.plan.calibration_trials > 0 && ui.button("Calibrate again").clicked() {
                self.plan.model = None;
                self.restart(Stage::Starting);
            }
        });
    }

    /// Runs `stage` next, as a new run (a new summary; the report keeps the earlier lines).
    fn restart(&mut self, stage: Stage) {
        self.report.push("— again —".into());
        if matches!(stage, Stage::Starting) {
            // A new calibration: nothing of the earlier one describes this run.
            self.summary = MiSummary {
                classes: std::mem::take(&mut self.summary.classes),
                ..MiSummary::default()
            };
        }
        self.summary.feedback = None;
        self.final_score = None;
        self.finished_at = None;
        self.stage = stage;
    }

    /// Feedback from `model` when `check` (its cross-validated accuracy) shows it above
    /// chance, or when there is nothing to check; the user's choice otherwise.
    fn checked(&mut self, model: Box<FeedbackModel>, check: Option<ChanceCheck>) -> Stage {
        match check {
            Some(c) if !c.above_chance() && self.plan.ask_below_chance => Stage::Doubtful(model, c),
            Some(c) if !c.above_chance() => {
                self.report.push(format!(
                    "warning: feedback from a model not shown above chance ({})",
                    c.describe()
                ));
                self.summary.confirmed_below_chance = true;
                Stage::Fitted(model)
            }
            _ => Stage::Fitted(model),
        }
    }

    /// The choice a doubtful model asks for: its accuracy against chance and three buttons.
    fn doubt_ui(&mut self, ui: &mut egui::Ui) {
        let Stage::Doubtful(model, check) = &self.stage else {
            return;
        };
        let (check, kind) = (*check, model.accuracy_kind());
        ui.add_space(40.0);
        ui.vertical_centered(|ui| {
            ui.heading(
                egui::RichText::new("the decoder is not shown to work better than chance")
                    .color(Color32::from_rgb(230, 160, 40)),
            );
            ui.label(format!("{kind} {}", check.describe()));
            ui.label(
                "Feedback from it would move the cursor at random and teach the participant nothing. More calibration trials, a rested participant or better electrode contact usually help.",
            );
            ui.add_space(12.0);
            ui.horizontal(|ui| {
                if self.plan.calibration_trials > 0 && ui.button("Calibrate again").clicked() {
                    self.plan.model = None;
                    self.restart(Stage::Starting);
                } else if ui.button("Give feedback anyway").clicked() {
                    if let Stage::Doubtful(model, check) =
                        std::mem::replace(&mut self.stage, Stage::Starting)
                    {
                        self.report.push(format!(
                            "feedback confirmed with a model at {}",
                            check.describe()
                        ));
                        self.summary.confirmed_below_chance = true;
                        self.stage = Stage::Fitted(model);
                    }
                } else if ui.button("Stop").clicked() {
                    self.stage = Stage::Finished;
                }
            });
        });
    }

    /// One frame of a running paradigm: decisions in, markers and intent out; at the end of
    /// the run the session is stopped and the next stage returned.
    fn run_paradigm(&mut self, present: f64, mut run: Box<Run>) -> Stage {
        let Run {
            session,
            ui_events,
            paradigm,
        } = run.as_mut();
        self.decisions.clear();
        session.new_decisions(0, &mut self.seen_until, &mut self.decisions);
        for d in &self.decisions {
            paradigm.decision(d);
        }
        self.events.clear();
        let events = &mut self.events;
        paradigm.advance(present, &mut |e| events.push(e));
        for e in &self.events {
            if let Some(intent) = &self.intent {
                match *e {
                    ImageryEvent::Cue { class, at, .. } => {
                        if let Some(k) = paradigm.classes().iter().position(|&c| c == class) {
                            intent.attend(k, at);
                        }
                    }
                    ImageryEvent::End { .. } => intent.release(),
                    _ => {}
                }
            }
            if let Some(tx) = ui_events.as_mut() {
                e.marker(&mut self.text);
                if !tx.send(UiEvent::Marker {
                    text: self.text.clone(),
                    at: e.at(),
                }) {
                    self.dropped_events += 1;
                }
            }
        }
        self.cursor = paradigm.cursor();
        if let Some(err) = session.acquisition_error() {
            session.stop_in_place();
            self.release_intent();
            return Stage::Failed(format!(
                "acquisition failed: {err} (the recording so far is kept)"
            ));
        }
        if !paradigm.is_done() {
            return Stage::Running(run);
        }
        session.stop_in_place();
        self.release_intent();
        // What the output thread reported (a failed recording, an outlet that failed): the
        // session is over, so waiting for the log is fine.
        let errors = session
            .log
            .lock()
            .map(|l| l.errors.clone())
            .unwrap_or_default();
        for e in &errors {
            self.report.push(format!("warning: {e}"));
        }
        let recording_failed = errors.iter().any(|e| e.contains("recording"));
        match paradigm.mode() {
            ImageryMode::Calibration if recording_failed => Stage::Failed(
                "the calibration recording failed (see above), so the decoder is not fitted: free disk space or choose another folder (--out, or the start screen's recordings folder) and calibrate again"
                    .into(),
            ),
            ImageryMode::Calibration => {
                let path = session.record_path.clone().unwrap_or_default();
                self.report.push(format!(
                    "calibration: {} trials recorded to {}",
                    paradigm.progress().1,
                    path.display()
                ));
                self.summary.calibration_trials = paradigm.progress().1;
                self.summary.calibration_recording = Some(path.display().to_string());
                Stage::Fitting(self.spawn_fit(path))
            }
            ImageryMode::Feedback => {
                let (ok, n) = paradigm.score();
                self.final_score = Some((ok, n));
                self.report.push(format!(
                    "feedback: {ok}/{n} trials decoded correctly = {:.1} %",
                    100.0 * ok as f64 / n.max(1) as f64
                ));
                if let Some(p) = &session.record_path {
                    self.report
                        .push(format!("feedback recorded to {}", p.display()));
                }
                self.summary.feedback = Some(MiSummary::score_feedback(
                    paradigm.classes(),
                    paradigm.results(),
                    session.record_path.as_deref(),
                ));
                let recording = session.record_path.clone();
                self.save_summary(recording.as_deref());
                Stage::Finished
            }
        }
    }

    fn release_intent(&self) {
        if let Some(intent) = &self.intent {
            intent.release();
        }
    }

    /// Fits on `recording` in a background thread (the window keeps drawing meanwhile).
    fn spawn_fit(&mut self, recording: PathBuf) -> Receiver<anyhow::Result<FitOutcome>> {
        // A second calibration's model goes beside the first, not over it.
        self.fit_path = self.plan.model_out.as_ref().map(|p| {
            let dir = p.parent().unwrap_or(std::path::Path::new("."));
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
            let ext = p.extension().and_then(|s| s.to_str()).unwrap_or("json");
            neuroloop_runtime::record::free_path(dir, stem, ext)
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let cut = self.plan.cut.clone();
        let methods = self.plan.methods.clone();
        let out = self.fit_path.clone();
        std::thread::Builder::new()
            .name("mi-fit".into())
            .spawn(move || {
                let result = (|| {
                    let outcome = fit_best(std::slice::from_ref(&recording), &cut, &methods)?;
                    if let Some(path) = &out {
                        outcome.model.save(path)?;
                    }
                    Ok(outcome)
                })();
                let _ = tx.send(result);
            })
            .expect("spawning the fitting thread");
        rx
    }

    /// Draws one frame.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        let now = (self.clock)();
        self.last_drawn = now;
        let frame = self.frames.frame(now);
        self.started.get_or_insert(now);
        self.step(frame.present);
        if self.is_finished() {
            self.finished_at.get_or_insert(now);
        }
        egui::Panel::top("imagery-status").show(ui, |ui| self.status_ui(ui));
        if matches!(self.stage, Stage::Doubtful(..)) {
            egui::CentralPanel::default().show(ui, |ui| self.doubt_ui(ui));
        } else if matches!(self.stage, Stage::Finished) {
            egui::CentralPanel::default().show(ui, |ui| self.finished_ui(ui));
        } else {
            egui::CentralPanel::default().show(ui, |ui| self.stage_ui(ui, frame.present));
        }
        ui.ctx().request_repaint();
    }

    fn status_ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let stage = match &self.stage {
                Stage::Starting => "starting".to_string(),
                Stage::Running(run) => {
                    let paradigm = &run.paradigm;
                    let (k, n) = paradigm.progress();
                    let mode = match paradigm.mode() {
                        ImageryMode::Calibration => "calibration",
                        ImageryMode::Feedback => "feedback",
                    };
                    format!("{mode}: trial {k} of {n}")
                }
                Stage::Fitting(_) => "fitting the decoder…".to_string(),
                Stage::Fitted(_) => "starting feedback…".to_string(),
                Stage::Doubtful(..) => "waiting for your choice".to_string(),
                Stage::Finished => "done".to_string(),
                Stage::Failed(_) => "stopped".to_string(),
            };
            ui.label(egui::RichText::new(stage).size(18.0));
            if let Stage::Running(run) = &self.stage
                && run.paradigm.mode() == ImageryMode::Feedback
            {
                let (ok, n) = run.paradigm.score();
                if n > 0 {
                    ui.separator();
                    ui.label(format!(
                        "accuracy {ok}/{n} = {:.0} %",
                        100.0 * ok as f64 / n as f64
                    ));
                }
            }
            if self.dropped_events > 0 {
                ui.colored_label(
                    Color32::RED,
                    format!(
                        "{} markers lost (the output thread fell behind): this recording is incomplete",
                        self.dropped_events
                    ),
                );
            }
        });
        for line in &self.report {
            ui.label(line);
        }
        if let Stage::Failed(e) = &self.stage {
            ui.colored_label(Color32::from_rgb(230, 80, 60), e);
        }
    }

    fn stage_ui(&self, ui: &mut egui::Ui, present: f64) {
        let area = ui.available_rect_before_wrap();
        let painter = ui.painter();
        painter.rect_filled(area, 0.0, Color32::BLACK);
        let Stage::Running(run) = &self.stage else {
            return;
        };
        let paradigm = &run.paradigm;
        let centre = area.center();
        let size = area.width().min(area.height()) * 0.35;
        let white = Color32::from_gray(230);
        let cross = |painter: &egui::Painter| {
            let s = size * 0.25;
            painter.line_segment(
                [centre - vec2(s, 0.0), centre + vec2(s, 0.0)],
                Stroke::new(4.0, white),
            );
            painter.line_segment(
                [centre - vec2(0.0, s), centre + vec2(0.0, s)],
                Stroke::new(4.0, white),
            );
        };
        match paradigm.phase() {
            ImageryPhase::Fixation { .. } => cross(painter),
            ImageryPhase::Imagery { .. } => {
                cross(painter);
                let Some(class) = paradigm.cued() else {
                    return;
                };
                let (dx, dy) = class_direction(class);
                if paradigm.cue_visible(present) {
                    arrow(
                        painter,
                        centre,
                        vec2(dx, dy) * size,
                        Color32::from_rgb(240, 200, 60),
                    );
                    painter.text(
                        centre + vec2(0.0, size * 1.2),
                        Align2::CENTER_CENTER,
                        class.name().replace('_', " "),
                        FontId::proportional(28.0),
                        white,
                    );
                }
                if paradigm.mode() == ImageryMode::Feedback {
                    // The target the cursor should reach, and the cursor.
                    let goal = centre + vec2(dx, dy) * size;
                    painter.circle_stroke(goal, size * 0.18, Stroke::new(3.0, Color32::GREEN));
                    if let Some((x, y)) = self.cursor {
                        painter.circle_filled(
                            centre + vec2(x, y) * size,
                            size * 0.1,
                            Color32::from_rgb(60, 140, 230),
                        );
                    }
                }
            }
            ImageryPhase::Rest { .. } => {
                if let Some((class, decided)) = paradigm.current_result() {
                    let (text, colour) = if Some(class) == decided {
                        ("correct", Color32::GREEN)
                    } else {
                        ("missed", Color32::from_rgb(230, 80, 60))
                    };
                    painter.text(
                        centre,
                        Align2::CENTER_CENTER,
                        text,
                        FontId::proportional(36.0),
                        colour,
                    );
                }
            }
            ImageryPhase::Idle | ImageryPhase::Done => {}
        }
    }
}

/// An arrow from `from` along `v`.
fn arrow(painter: &egui::Painter, from: Pos2, v: egui::Vec2, colour: Color32) {
    let stroke = Stroke::new(10.0, colour);
    let tip = from + v;
    painter.line_segment([from, tip], stroke);
    let back = -v.normalized() * 30.0;
    let side = vec2(-back.y, back.x) * 0.6;
    painter.line_segment([tip, tip + back + side], stroke);
    painter.line_segment([tip, tip + back - side], stroke);
}

impl eframe::App for ImageryView {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        ImageryView::ui(self, ui);
        let now = self.last_drawn;
        let started = self.started.unwrap_or(now);
        crate::window::screenshot_when_due(ui.ctx(), &mut self.screenshot, now - started);
        // Leave the report on screen for a moment before closing.
        if self.plan.close_when_done
            && self.screenshot.is_none()
            && self.finished_at.is_some_and(|t| now - t > 1.5)
        {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.finish();
    }
}
