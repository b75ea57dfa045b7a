//! The start screen: choose the source (the simulator, an LSL stream found on the network —
//! listed live with name, type, channels, rate and host — or a recording to replay), the
//! paradigm and a settings profile (TOML, saved and loaded), then start. The session then runs
//! in the same window ([`SessionWindow`]: traces, spectra and signal quality of the raw stream,
//! decoder output, pipeline counters) until the user returns to the start screen.
//!
//! The LSL list is refreshed by a background thread (LSL handles stay on that thread; only
//! plain descriptions cross), and Start on an LSL stream opens the session on another thread
//! (after waiting up to [`FIND_STREAM_SECS`] for the stream to appear), so the network never
//! holds the screen; motor imagery, whose window starts a session per stage, only has its
//! stream looked for there. Errors (a stream
//! that cannot be opened, a missing file, a profile that does not parse) are shown on the
//! screen with the fix, never in a modal dialog.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egui::{Color32, RichText};
use neuroloop_runtime::spec::{SpindleDetectorKind, SsvepMethod, StimOn};

use browse::{Browser, Choice, Field};
use neuroloop_acquisition::lsl_io::{LslInletConfig, StreamListing, find_stream, list_streams};

use crate::session_window::SessionWindow;
use crate::speller::view::SpellerView;
use neuroloop_runtime::Session;
use neuroloop_runtime::report::SessionReport;

mod browse;
mod profile;

pub use profile::{
    FrontEndProfile, PROFILE_VERSION, Paradigm, Profile, SimulatorProfile, SourceKind,
};

/// How long Start looks for the chosen LSL stream before saying it is not there.
pub const FIND_STREAM_SECS: f64 = 2.0;

/// Height of the LSL stream list, points (it scrolls past five streams).
const STREAM_LIST_HEIGHT: f32 = 100.0;

/// A start opening its LSL stream on another thread.
struct PendingStart {
    /// What it looks for.
    query: LslInletConfig,
    opened: Receiver<Result<Opened, String>>,
}

/// A paradigm's session, opened (on any thread) and not yet shown.
enum Opened {
    /// Motor imagery: its window opens a session per stage itself, on the window's thread;
    /// on an LSL source the stream was seen.
    Seen,
    /// The speller's window (Send), with its calibration recording when it calibrates.
    Speller(Box<SpellerView>, Option<PathBuf>),
    /// A monitor, SSVEP or sleep session.
    Live {
        session: Box<Session>,
        label: String,
        from_lsl: bool,
        record_dir: PathBuf,
    },
}

/// Opens the session `profile` describes (resolving its stream, creating its files): the
/// work that may wait, done on a thread of its own for an LSL source.
fn open(profile: &Profile) -> anyhow::Result<Opened> {
    match profile.paradigm {
        // Set up and started by the window ([`open_imagery`]), unless a recording is decoded.
        Paradigm::MotorImagery if profile.source != SourceKind::File => Ok(Opened::Seen),
        Paradigm::Speller => {
            let setup = profile.speller_setup()?;
            let view = setup.start()?;
            Ok(Opened::Speller(
                Box::new(view),
                setup.calibrate.then_some(setup.record).flatten(),
            ))
        }
        Paradigm::Monitor | Paradigm::Ssvep | Paradigm::Sleep | Paradigm::MotorImagery => {
            let (config, label) = profile.session_config()?;
            Ok(Opened::Live {
                session: Box::new(Session::start(config)?),
                label,
                from_lsl: profile.source == SourceKind::Lsl,
                record_dir: profile.recordings_folder(),
            })
        }
    }
}

/// The motor-imagery window `profile` describes, with its run folder.
fn open_imagery(profile: &Profile) -> anyhow::Result<(crate::mi::view::ImageryView, PathBuf)> {
    let (plan, source) = profile.imagery_setup()?;
    let out = source.out.clone();
    Ok((crate::mi::launch::start(plan, source)?, out))
}

/// Fits the speller's ensemble-TRCA model from a calibration recording and saves it beside
/// the recording (`X.xdf` → `X.trca.json`): the model's path and a one-line summary.
fn fit_calibration(recording: &Path) -> anyhow::Result<(PathBuf, String)> {
    use neuroloop_decoders::ssvep::onset::TrcaFitConfig;
    let model = neuroloop_offline::calibration::ssvep::fit_recordings(
        &[recording.to_path_buf()],
        &[],
        &neuroloop_acquisition::FileCues::default(),
        &TrcaFitConfig::default(),
    )?;
    let out = recording.with_extension("trca.json");
    if let Some((window, check)) = neuroloop_offline::calibration::ssvep::model_check(&model)
        && !check.above_chance()
    {
        anyhow::bail!(
            "the fitted model decodes {} at {window} s, not shown above chance, so it is not saved or chosen (the speller would type at random): run a calibration with more blocks, check the occipital electrodes, or fit it yourself with `neuroloop ssvep fit --force`",
            check.describe()
        );
    }
    model.save(&out)?;
    let accuracy = model
        .checkpoints
        .iter()
        .filter_map(|cp| {
            cp.cv_accuracy
                .map(|a| format!("{:.0} % at {} s", 100.0 * a, cp.window_secs))
        })
        .collect::<Vec<_>>();
    let summary = format!(
        "ensemble TRCA fitted on {} targets, {} trials each (fewest), channels {}; cross-validated accuracy {}",
        model.targets_hz.len(),
        model.trials_per_class.iter().min().unwrap_or(&0),
        model.channels.join(","),
        if accuracy.is_empty() {
            "not estimated (too few trials per target)".to_string()
        } else {
            accuracy.join(", ")
        }
    );
    Ok((out, summary))
}

/// The latest LSL scan.
#[derive(Debug, Default)]
struct Scan {
    streams: Vec<StreamListing>,
    error: Option<String>,
    scans: u64,
}

/// The start screen and, once started, the session's live view. See the
/// [module documentation](self).
pub struct StartScreen {
    profile: Profile,
    profile_path: PathBuf,
    scan: Arc<Mutex<Scan>>,
    scan_stop: Arc<AtomicBool>,
    /// Last message: (is an error, text).
    message: Option<(bool, String)>,
    live: Option<SessionWindow>,
    /// A start looking for its LSL stream.
    pending: Option<PendingStart>,
    /// The speller, when that paradigm runs.
    speller: Option<SpellerView>,
    /// The recording of the speller's calibration run, while it runs.
    speller_calibration: Option<PathBuf>,
    /// A TRCA model being fitted from a calibration recording: its answer (the model's path
    /// and a summary, or why not).
    fitting: Option<Receiver<Result<(PathBuf, String), String>>>,
    /// The motor-imagery paradigm and its output folder, when that runs.
    imagery: Option<(crate::mi::view::ImageryView, PathBuf)>,
    /// Reports of finished sessions, for the caller.
    reports: Arc<Mutex<Option<SessionReport>>>,
    /// A pending screenshot: path, seconds after the first frame.
    screenshot: Option<(PathBuf, f64)>,
    first_frame: Option<std::time::Instant>,
    /// The file chooser, while open.
    browser: Option<Browser>,
    /// The CPU wake-up latency to hold while a session runs, and the hold itself.
    wake: neuroloop_runtime::wake_latency::WakeLatency,
    wake_hold: Option<neuroloop_runtime::wake_latency::WakeLatencyHold>,
}

impl StartScreen {
    /// A start screen on `profile` (saved to `profile_path`); `scan_lsl` lists the network's
    /// streams in the background.
    pub fn new(profile: Profile, profile_path: PathBuf, scan_lsl: bool) -> Self {
        let scan = Arc::new(Mutex::new(Scan::default()));
        let scan_stop = Arc::new(AtomicBool::new(false));
        if scan_lsl {
            let (scan, stop) = (Arc::clone(&scan), Arc::clone(&scan_stop));
            let _ = std::thread::Builder::new()
                .name("lsl-scan".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let found = list_streams(1.0);
                        let mut s = scan.lock().unwrap_or_else(|p| p.into_inner());
                        match found {
                            Ok(list) => {
                                s.streams = list;
                                s.error = None;
                            }
                            Err(e) => s.error = Some(e.to_string()),
                        }
                        s.scans += 1;
                        drop(s);
                        std::thread::sleep(Duration::from_millis(500));
                    }
                });
        }
        StartScreen {
            profile,
            profile_path,
            scan,
            scan_stop,
            message: None,
            live: None,
            pending: None,
            speller: None,
            speller_calibration: None,
            fitting: None,
            imagery: None,
            reports: Arc::new(Mutex::new(None)),
            screenshot: None,
            first_frame: None,
            browser: None,
            wake: neuroloop_runtime::wake_latency::WakeLatency::Off,
            wake_hold: None,
        }
    }

    /// Holds `wake` ([`neuroloop_runtime::wake_latency`]) while a session runs (none by default); a refusal is
    /// printed on stderr with its fix, and the session runs anyway.
    pub fn with_wake_latency(mut self, wake: neuroloop_runtime::wake_latency::WakeLatency) -> Self {
        self.wake = wake;
        self
    }

    /// Shows `text` as an error on the start screen.
    pub fn show_error(&mut self, text: String) {
        self.message = Some((true, text));
    }

    /// Saves a PNG of the window `after_secs` after its first frame.
    pub fn screenshot(&mut self, path: PathBuf, after_secs: f64) {
        self.screenshot = Some((path, after_secs));
    }

    /// The profile, to edit (as the screen's fields do).
    pub fn profile_mut(&mut self) -> &mut Profile {
        &mut self.profile
    }

    /// The profile as edited on the screen.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Whether a session is running in the window.
    pub fn is_running(&self) -> bool {
        self.live.is_some() || self.speller.is_some() || self.imagery.is_some()
    }

    /// The speller running in the window, if any.
    pub fn speller_view(&self) -> Option<&SpellerView> {
        self.speller.as_ref()
    }

    /// Takes the CPU wake-up latency hold for a session that just started.
    fn hold_wake_latency(&mut self) {
        let hold = neuroloop_runtime::wake_latency::WakeLatencyHold::request(self.wake);
        if let neuroloop_runtime::wake_latency::HoldStatus::Refused(why) = hold.status() {
            eprintln!("neuroloop: {why}");
        }
        self.wake_hold = Some(hold);
    }

    /// Whether Start is looking for its LSL stream.
    pub fn is_starting(&self) -> bool {
        self.pending.is_some()
    }

    /// Starts the session the profile describes; on failure the start screen shows why. On an
    /// LSL stream, a thread waits for the stream (up to [`FIND_STREAM_SECS`]) and opens the
    /// session; a later frame shows it, so the window keeps drawing meanwhile.
    pub fn start(&mut self) {
        if self.is_running() || self.pending.is_some() || self.fitting.is_some() {
            return;
        }
        let Some(query) = self.profile.lsl_query() else {
            match open(&self.profile) {
                Ok(opened) => self.show(opened),
                Err(e) => self.message = Some((true, start_error_text(&e))),
            }
            return;
        };
        let stream = query.name.clone().unwrap_or_default();
        let (tx, opened) = std::sync::mpsc::channel();
        let (looked_for, profile) = (query.clone(), self.profile.clone());
        let spawned = std::thread::Builder::new()
            .name("lsl-open".into())
            .spawn(move || {
                let result = find_stream(&looked_for, FIND_STREAM_SECS)
                    .map_err(|e| e.to_string())
                    .and_then(|_| open(&profile).map_err(|e| start_error_text(&e)));
                let _ = tx.send(result);
            });
        match spawned {
            Ok(_) => {
                self.message = Some((
                    false,
                    format!(
                        "looking for the LSL stream `{stream}` (waiting up to {FIND_STREAM_SECS} s for it to appear)..."
                    ),
                ));
                self.pending = Some(PendingStart { query, opened });
            }
            Err(e) => {
                self.message = Some((
                    true,
                    format!("cannot start a thread to open the LSL stream: {e}"),
                ))
            }
        }
    }

    /// Shows the session its thread opened, or why it could not.
    fn poll_pending(&mut self) {
        let Some(pending) = &self.pending else {
            return;
        };
        let result = match pending.opened.try_recv() {
            Err(TryRecvError::Empty) => return,
            Ok(result) => result,
            Err(TryRecvError::Disconnected) => Err(format!(
                "opening the LSL stream `{}` stopped without an answer: press Start again",
                pending.query.name.as_deref().unwrap_or_default()
            )),
        };
        let looked_for = std::mem::take(&mut self.pending).map(|p| p.query);
        match result {
            // Motor imagery opens its stream itself, for what the profile says now: only
            // if that is still the stream that was seen (another stream or paradigm may have
            // been chosen meanwhile).
            Ok(Opened::Seen) if self.profile.lsl_query() != looked_for => self.message = Some((
                false,
                "the source or paradigm changed while the stream was looked for: press Start again"
                    .into(),
            )),
            Ok(opened) => self.show(opened),
            Err(e) => self.message = Some((true, e)),
        }
    }

    /// Runs what [`open`] started in the window.
    fn show(&mut self, opened: Opened) {
        let shown = match opened {
            Opened::Seen => match open_imagery(&self.profile) {
                Ok(imagery) => {
                    self.imagery = Some(imagery);
                    Ok(())
                }
                Err(e) => Err(e),
            },
            Opened::Speller(view, calibration) => {
                self.speller = Some(*view);
                self.speller_calibration = calibration;
                Ok(())
            }
            Opened::Live {
                session,
                label,
                from_lsl,
                record_dir,
            } => {
                self.live = Some(
                    SessionWindow::new(*session, label, from_lsl, Arc::clone(&self.reports))
                        .with_record_dir(record_dir),
                );
                Ok(())
            }
        };
        match shown {
            Ok(()) => {
                self.message = None;
                self.hold_wake_latency();
            }
            Err(e) => self.message = Some((true, crate::errors::error_text(&e))),
        }
    }

    /// Stops the running session and returns to the start screen.
    pub fn stop(&mut self) {
        if let Some((mut view, out)) = self.imagery.take() {
            view.finish();
            self.wake_hold = None;
            let mut text = format!("last motor-imagery session ({}):", out.display());
            for line in view.report() {
                text.push(' ');
                text.push_str(line);
            }
            if let Some(e) = view.error() {
                text.push_str(&format!(" error: {e}"));
            }
            // The next run gives feedback with the model this one fitted (clear the field to
            // calibrate again).
            if let Some(model) = view.fitted_model_path()
                && Path::new(model).is_file()
            {
                self.profile.mi_model = model.to_string();
                text.push_str(&format!(
                    " The fitted model {model} is now the motor-imagery model: the next run gives feedback with it (clear the field to calibrate again)."
                ));
            }
            self.message = Some((view.error().is_some(), text));
        }
        if let Some(mut view) = self.speller.take() {
            view.finish();
            self.wake_hold = None;
            let sp = view.speller();
            let summary = view.summary();
            let mut text = format!(
                "last speller session: typed \"{}\" in {} flickers",
                summary.typed, summary.flickers
            );
            if let (Some(c), Some(itr)) = (&summary.accuracy_check, summary.itr_bits_per_min) {
                text += &format!(
                    ", {} of {} as cued, {}; ITR {itr:.1} bits/min",
                    summary.correct,
                    summary.cued,
                    c.describe()
                );
            }
            for d in &summary.diagnosis {
                text += &format!(". Problem: {d}");
            }
            self.message = Some((!summary.diagnosis.is_empty(), text));
            if let Some(recording) = self.speller_calibration.take() {
                if sp.phase() == crate::speller::Phase::Done {
                    self.fit_speller_model(recording);
                } else {
                    self.message = Some((
                        true,
                        format!(
                            "the calibration stopped after {} of its {} flickers, so no model was fitted; its recording {} is kept: run the calibration to its end, or fit several recordings together with `neuroloop ssvep fit`",
                            sp.completed_flickers(),
                            sp.cues(),
                            recording.display()
                        ),
                    ));
                }
            }
        }
        if let Some(mut live) = self.live.take() {
            live.finish();
            self.wake_hold = None;
            if let Some(r) = self
                .reports
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                self.message = Some((
                    false,
                    format!(
                        "last session: {} s of data, {} frames dropped, {} decisions{}",
                        (r.frames_processed as f64 / r.sample_rate_hz).round(),
                        r.frames_dropped,
                        r.decisions,
                        r.recordings
                            .iter()
                            .map(|rec| format!(
                                ", recorded to {} ({:.0} s)",
                                rec.path,
                                rec.frames as f64 / r.sample_rate_hz
                            ))
                            .collect::<String>()
                    ),
                ));
            }
        }
    }

    /// Fits an ensemble-TRCA model from a speller calibration recording on another thread;
    /// once fitted it is saved beside the recording (`.trca.json`) and becomes the profile's
    /// `speller_model` (the calibration switch goes off). Used after the calibration run.
    pub fn fit_speller_model(&mut self, recording: PathBuf) {
        let (tx, rx) = std::sync::mpsc::channel();
        let shown = recording.display().to_string();
        let spawned = std::thread::Builder::new()
            .name("trca-fit".into())
            .spawn(move || {
                let _ = tx.send(fit_calibration(&recording).map_err(|e| {
                    format!(
                        "no speller model fitted from {}: {}",
                        recording.display(),
                        crate::errors::error_text(&e)
                    )
                }));
            });
        self.message = Some(match spawned {
            Ok(_) => {
                self.fitting = Some(rx);
                (
                    false,
                    format!("fitting an ensemble-TRCA speller model on {shown}..."),
                )
            }
            Err(e) => (true, format!("cannot start a thread to fit the model: {e}")),
        });
    }

    /// Whether a speller model is being fitted.
    pub fn is_fitting(&self) -> bool {
        self.fitting.is_some()
    }

    fn poll_fitting(&mut self) {
        let Some(rx) = &self.fitting else {
            return;
        };
        let result = match rx.try_recv() {
            Err(TryRecvError::Empty) => return,
            Ok(result) => result,
            Err(TryRecvError::Disconnected) => {
                Err("fitting the speller model stopped without an answer".into())
            }
        };
        self.fitting = None;
        self.message = Some(match result {
            // Chosen only while the profile still asks for a calibration (it may have been
            // edited or another one loaded during the fit).
            Ok((path, summary)) if self.profile.speller_calibrate => {
                self.profile.speller_model = path.display().to_string();
                self.profile.speller_calibrate = false;
                (
                    false,
                    format!(
                        "{summary}; saved to {} and chosen as the speller's model (Save profile keeps it)",
                        path.display()
                    ),
                )
            }
            Ok((path, summary)) => (
                false,
                format!(
                    "{summary}; saved to {} (the profile changed meanwhile, so it is not chosen: give it as the speller's model)",
                    path.display()
                ),
            ),
            Err(e) => (true, e),
        });
    }

    fn save_profile(&mut self) {
        self.message = Some(match self.profile.save(&self.profile_path) {
            Ok(()) => (
                false,
                format!("profile saved to {}", self.profile_path.display()),
            ),
            Err(e) => (true, crate::errors::error_text(&e)),
        });
    }

    fn load_profile(&mut self) {
        match Profile::load_checked(&self.profile_path) {
            Ok((p, warning)) => {
                self.profile = p;
                self.message = Some(match warning {
                    Some(w) => (true, w),
                    None => (
                        false,
                        format!("profile loaded from {}", self.profile_path.display()),
                    ),
                });
            }
            Err(e) => self.message = Some((true, crate::errors::error_text(&e))),
        }
    }

    fn source_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Source");
        let p = &mut self.profile;
        ui.radio_value(&mut p.source, SourceKind::Simulator, "Simulator");
        ui.indent("sim", |ui| {
            ui.add_enabled_ui(p.source == SourceKind::Simulator, |ui| {
                ui.horizontal(|ui| {
                    let l = ui.label("channels");
                    ui.add(egui::DragValue::new(&mut p.simulator.channels).range(1..=64))
                        .labelled_by(l.id);
                    let l = ui.label("rate (Hz)");
                    ui.add(egui::DragValue::new(&mut p.simulator.rate_hz).range(100.0..=2000.0))
                        .labelled_by(l.id);
                    let l = ui.label("speller SSVEP (µV)");
                    ui.add(
                        egui::DragValue::new(&mut p.simulator.ssvep_uv)
                            .range(0.0..=20.0)
                            .speed(0.1),
                    )
                    .labelled_by(l.id);
                });
            });
        });
        ui.radio_value(&mut p.source, SourceKind::Lsl, "LSL stream");
        ui.indent("lsl", |ui| {
            let scan = self.scan.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(e) = &scan.error {
                ui.label(
                    RichText::new(format!("listing LSL streams failed: {e}")).color(Color32::RED),
                );
            } else if scan.streams.is_empty() {
                ui.label(if scan.scans == 0 {
                    "looking for LSL streams..."
                } else {
                    "no LSL streams found on this network (start the amplifier's LSL app)"
                });
            }
            // A fixed height, so that streams coming and going never move what is below.
            let width = ui.available_width();
            ui.allocate_ui_with_layout(
                egui::vec2(width, STREAM_LIST_HEIGHT),
                egui::Layout::top_down(egui::Align::Min),
                |ui| {
                    ui.set_min_height(STREAM_LIST_HEIGHT);
                    egui::ScrollArea::vertical()
                        .max_height(STREAM_LIST_HEIGHT)
                        .show(ui, |ui| stream_list_ui(ui, &scan.streams, p));
                },
            );
            ui.horizontal(|ui| {
                let l = ui.label("name");
                ui.text_edit_singleline(&mut p.stream).labelled_by(l.id);
            });
            if p.source == SourceKind::Lsl {
                hinted_field_ui(
                    ui,
                    "marker stream (a stimulus program's onsets and cues; optional)",
                    &mut p.marker_stream,
                    "e.g. openvibeMarkers",
                    220.0,
                );
            }
        });
        ui.radio_value(
            &mut p.source,
            SourceKind::File,
            "Recording to replay (XDF, EDF/BDF, BrainVision, GDF, EEGLAB, FIF)",
        );
        let mut browse = None;
        ui.indent("file", |ui| {
            browse = path_field_ui(ui, "path", &mut p.file, Field::Recording);
        });
        if browse.is_some() {
            p.source = SourceKind::File;
        }
        self.open_browser(browse);
    }

    /// Opens the file chooser for `field`, when one was asked for.
    fn open_browser(&mut self, field: Option<Field>) {
        if let Some(field) = field {
            self.browser = Some(Browser::new(field, &self.field_text(field)));
        }
    }

    /// The profile's text of a path field.
    fn field_text(&self, field: Field) -> String {
        let p = &self.profile;
        let shown = |path: &Option<PathBuf>| path.as_ref().map(|p| p.display().to_string());
        match field {
            Field::Recording => p.file.clone(),
            Field::SpellerModel => p.speller_model.clone(),
            Field::MiModel => p.mi_model.clone(),
            Field::SsvepModel => shown(&p.ssvep.model).unwrap_or_default(),
            Field::SpindleCard => shown(&p.sleep.spindle_model).unwrap_or_default(),
        }
    }

    /// Puts `path` in the profile's field (a spindle card also chooses the neural detector).
    fn set_field(&mut self, field: Field, path: PathBuf) {
        let p = &mut self.profile;
        match field {
            Field::Recording => p.file = path.display().to_string(),
            Field::SpellerModel => p.speller_model = path.display().to_string(),
            Field::MiModel => p.mi_model = path.display().to_string(),
            Field::SsvepModel => p.ssvep.model = Some(path),
            Field::SpindleCard => {
                p.sleep.spindle_model = Some(path);
                p.sleep.detector = SpindleDetectorKind::Net;
            }
        }
    }

    /// The open file chooser, if any: a chosen file fills its field.
    fn browser_ui(&mut self, ctx: &egui::Context) {
        let Some(browser) = self.browser.as_mut() else {
            return;
        };
        match browser.ui(ctx) {
            Choice::Open => {}
            Choice::Cancelled => self.browser = None,
            Choice::Chosen(path) => {
                let field = browser.field;
                self.browser = None;
                self.set_field(field, path);
            }
        }
    }

    fn start_screen(&mut self, ui: &mut egui::Ui) {
        let (enter, save) = ui.input(|i| {
            (
                i.key_pressed(egui::Key::Enter) && !i.modifiers.any(),
                i.key_pressed(egui::Key::S) && i.modifiers.command,
            )
        });
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                if self.pending.is_some() {
                    // The session opening reads this profile: nothing changes until it is shown.
                    ui.disable();
                }
                ui.heading("neuroloop");
                ui.label("Choose where the EEG comes from and what to run on it.");
                ui.separator();
                self.source_ui(ui);
                ui.separator();
                self.paradigm_ui(ui);
                ui.separator();
                self.settings_ui(ui);
                ui.separator();
                self.start_ui(ui);
            });
        });
        if save {
            self.save_profile();
        }
        if enter && !self.is_running() {
            self.start();
        }
    }

    /// The paradigms, each chosen one's own settings under it.
    fn paradigm_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Paradigm");
        let mut browse = None;
        for paradigm in [
            Paradigm::Monitor,
            Paradigm::Ssvep,
            Paradigm::Sleep,
            Paradigm::Speller,
            Paradigm::MotorImagery,
        ] {
            let p = &mut self.profile;
            ui.radio_value(&mut p.paradigm, paradigm, paradigm.label());
            if p.paradigm != paradigm {
                continue;
            }
            browse = match paradigm {
                Paradigm::Speller => speller_settings_ui(ui, p),
                Paradigm::MotorImagery => imagery_settings_ui(ui, p),
                Paradigm::Sleep => sleep_settings_ui(ui, p),
                Paradigm::Ssvep => ssvep_settings_ui(ui, p),
                Paradigm::Monitor => None,
            };
        }
        self.open_browser(browse);
    }

    /// Front end, recordings folder and the profile file.
    fn settings_ui(&mut self, ui: &mut egui::Ui) {
        ui.heading("Settings");
        let default_front_end = self
            .profile
            .paradigm_spec()
            .map(|spec| spec.front_end())
            .unwrap_or_default();
        let fe = &mut self.profile.front_end;
        let hz = |f: Option<f64>| f.map_or("off".to_string(), |f| format!("{f} Hz"));
        let (highpass, notch) = (default_front_end.highpass_hz, default_front_end.notch_hz);
        ui.horizontal(|ui| {
            optional_hz_ui(
                ui,
                "high-pass",
                &mut fe.highpass_hz,
                format!("high-pass: paradigm's ({})", hz(highpass)),
                highpass,
                10.0,
            );
            optional_hz_ui(
                ui,
                "mains notch",
                &mut fe.notch_hz,
                format!(
                    "mains notch: the source's ({} if it does not say)",
                    hz(notch)
                ),
                notch,
                60.0,
            );
            ui.checkbox(&mut fe.common_average, "common average");
        });
        ui.horizontal(|ui| {
            let l = ui.label("recordings folder (empty: ./recordings)");
            ui.text_edit_singleline(&mut self.profile.record_dir)
                .labelled_by(l.id);
            let mut at_start = self.profile.records_at_start();
            if ui
                .checkbox(&mut at_start, "record from the start")
                .on_hover_text(
                    "otherwise start and stop recordings in the session's window (Ctrl+R)",
                )
                .changed()
            {
                self.profile.record_at_start = Some(at_start);
            }
        });
        ui.horizontal(|ui| {
            ui.label(format!("profile {}", self.profile_path.display()));
            if ui.button("Save profile").clicked() {
                self.save_profile();
            }
            if ui.button("Load profile").clicked() {
                self.load_profile();
            }
        });
    }

    /// Start (with a spinner while a session opens or a model is fitted) and the last message.
    fn start_ui(&mut self, ui: &mut egui::Ui) {
        let starting = self.pending.is_some() || self.fitting.is_some();
        ui.horizontal(|ui| {
            if ui
                .add_enabled(
                    !starting,
                    egui::Button::new(RichText::new("Start").strong()),
                )
                .clicked()
            {
                self.start();
            }
            if starting {
                ui.spinner();
            }
        });
        ui.label(RichText::new("Enter: start · Ctrl+S: save the profile").weak());
        if let Some((error, text)) = &self.message {
            let color = if *error {
                Color32::RED
            } else {
                ui.visuals().text_color()
            };
            ui.label(RichText::new(text).color(color));
        }
    }
}

/// The speller's settings: a calibration run and its blocks, or the phrase and the model;
/// the field whose file chooser was asked for.
fn speller_settings_ui(ui: &mut egui::Ui, p: &mut Profile) -> Option<Field> {
    let mut browse = None;
    ui.indent("speller", |ui| {
        keyboard_ui(ui, p);
        ui.horizontal(|ui| {
            ui.checkbox(
                &mut p.speller_calibrate,
                "calibration run: every key cued, full-length flickers, recorded, then a TRCA model fitted; blocks",
            );
            ui.add_enabled(
                p.speller_calibrate,
                egui::DragValue::new(&mut p.speller_calibration_blocks)
                    .range(2..=10),
            )
            .on_hover_text("times every key is cued (about 3.7 min each)");
        });
        ui.add_enabled_ui(!p.speller_calibrate, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("phrase to cue (empty: free spelling)");
                ui.text_edit_singleline(&mut p.speller_phrase)
                    .labelled_by(l.id);
            });
            browse = path_field_ui(
                ui,
                "TRCA model or network card (empty: FBCCA)",
                &mut p.speller_model,
                Field::SpellerModel,
            );
        });
    });
    browse
}

/// The speller's keyboard: the benchmark's 40 keys, or own targets (Hz) and keys.
fn keyboard_ui(ui: &mut egui::Ui, p: &mut Profile) {
    ui.horizontal(|ui| {
        let mut own = !p.speller_targets.is_empty();
        ui.label("keyboard");
        if ui.radio(!own, "40 keys, 8.0-15.8 Hz (benchmark)").clicked() {
            own = false;
            p.speller_targets.clear();
        }
        if ui.radio(own, "own targets").clicked() && !own {
            p.speller_targets = vec![7.0, 8.5, 12.0, 15.0];
            p.speller_keys = "YES<".into();
        }
        if !p.speller_targets.is_empty() {
            frequencies_ui(ui, "Hz", &mut p.speller_targets);
            let l = ui.label("keys");
            ui.add(egui::TextEdit::singleline(&mut p.speller_keys).desired_width(120.0))
                .labelled_by(l.id)
                .on_hover_text("one character per target, in target order; < deletes");
        }
    });
}

/// Sleep's settings (the spec `neuroloop sleep` takes): channels (found by 10-20 name unless
/// typed, e.g. a PSG's `C3-A1`), detector and its card, what triggers a burst, the phase
/// target, volume and limits, and whether bursts are played; the field whose file chooser
/// was asked for.
fn sleep_settings_ui(ui: &mut egui::Ui, p: &mut Profile) -> Option<Field> {
    let mut browse = None;
    let s = &mut p.sleep;
    ui.indent("sleep", |ui| {
        ui.horizontal(|ui| {
            optional_text_ui(
                ui,
                "spindle channel (empty: a central one by name, e.g. Cz, C3-A1)",
                &mut s.spindle_channel,
            );
            optional_text_ui(
                ui,
                "slow-oscillation channel (empty: a frontal one, e.g. Fz, F4-A1)",
                &mut s.so_channel,
            );
        });
        ui.horizontal(|ui| {
            ui.label("spindle detector");
            ui.radio_value(&mut s.detector, SpindleDetectorKind::A7, "A7 (rules)");
            ui.radio_value(&mut s.detector, SpindleDetectorKind::Net, "network");
        });
        if s.detector == SpindleDetectorKind::Net {
            browse = optional_path_field_ui(
                ui,
                "network card (empty: the shipped spindle network)",
                &mut s.spindle_model,
                Field::SpindleCard,
            );
        }
        ui.horizontal(|ui| {
            ui.label("bursts on");
            ui.radio_value(&mut s.stim_on, StimOn::So, "slow-oscillation phase");
            ui.radio_value(&mut s.stim_on, StimOn::Spindle, "spindle onsets");
            ui.radio_value(&mut s.stim_on, StimOn::None, "nothing (detection only)");
        });
        ui.add_enabled_ui(s.stim_on != StimOn::None, |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("target phase (°, 0 = up-state peak)");
                ui.add(
                    egui::DragValue::new(&mut s.so_target_deg)
                        .range(-180.0..=180.0)
                        .speed(1.0),
                )
                .labelled_by(l.id);
                let l = ui.label("volume");
                ui.add(
                    egui::DragValue::new(&mut s.volume)
                        .range(0.0..=s.volume_cap)
                        .speed(0.01),
                )
                .labelled_by(l.id);
                let l = ui.label("cap");
                ui.add(
                    egui::DragValue::new(&mut s.volume_cap)
                        .range(0.0..=1.0)
                        .speed(0.01),
                )
                .labelled_by(l.id)
                .on_hover_text("hard limit of the output, full scale 1.0");
                s.volume = s.volume.min(s.volume_cap);
            });
            ui.horizontal(|ui| {
                let l = ui.label("at least (s) between bursts");
                ui.add(
                    egui::DragValue::new(&mut s.min_interval_secs)
                        .range(0.5..=60.0)
                        .speed(0.1),
                )
                .labelled_by(l.id);
                let l = ui.label("at most per minute");
                ui.add(egui::DragValue::new(&mut s.max_per_min).range(1..=60))
                    .labelled_by(l.id);
                ui.checkbox(&mut p.sleep_sound, "play the bursts (off: dry run, logged only)")
                    .on_hover_text("the audio output is checked when the session starts: one that cannot play is reported and nothing starts");
            });
        });
    });
    browse
}

/// SSVEP decoding's settings: the targets, the method and its window, or a fitted model or
/// network card; the field whose file chooser was asked for.
fn ssvep_settings_ui(ui: &mut egui::Ui, p: &mut Profile) -> Option<Field> {
    let s = &mut p.ssvep;
    let mut browse = None;
    ui.indent("ssvep", |ui| {
        // A model brings its own targets, window and method: the fields it ignores are greyed.
        let by_model = s.model.is_some();
        ui.add_enabled_ui(!by_model, |ui| {
            ui.horizontal(|ui| {
                frequencies_ui(ui, "targets (Hz, comma-separated)", &mut s.targets_hz);
            });
            ui.horizontal(|ui| {
                ui.label("method");
                ui.radio_value(&mut s.method, SsvepMethod::Fbcca, "filter-bank CCA");
                ui.radio_value(&mut s.method, SsvepMethod::Cca, "CCA");
                let l = ui.label("window (s)");
                ui.add(
                    egui::DragValue::new(&mut s.window_secs)
                        .range(0.25..=8.0)
                        .speed(0.05),
                )
                .labelled_by(l.id);
                let l = ui.label("decision every (s)");
                ui.add(
                    egui::DragValue::new(&mut s.step_secs)
                        .range(0.05..=4.0)
                        .speed(0.01),
                )
                .labelled_by(l.id);
            });
        });
        browse = optional_path_field_ui(
            ui,
            "TRCA model or network card (empty: the method above)",
            &mut s.model,
            Field::SsvepModel,
        );
        if s.model.is_some() {
            ui.label(
                "The model decides with its own targets and window, from each stimulus onset.",
            );
        }
    });
    if p.source == SourceKind::File || p.source == SourceKind::Lsl {
        ui.indent("ssvep-file", |ui| {
            hinted_field_ui(
                ui,
                "stimulus onsets in the recording or marker stream (labels, …)",
                &mut p.ssvep_onsets,
                "e.g. 32779",
                160.0,
            );
            hinted_field_ui(
                ui,
                "cues in the recording or marker stream, scored (LABEL=HZ, …)",
                &mut p.ssvep_cues,
                "e.g. 33025=13Hz, 33027=17Hz, 33026=21Hz",
                320.0,
            );
            ui.label(
                "A model decides at each onset (this application's own onset markers need no naming); decisions inside the cued trials are scored.",
            );
        });
    }
    browse
}

/// A labelled one-line text field showing `hint` while empty.
fn hinted_field_ui(ui: &mut egui::Ui, label: &str, value: &mut String, hint: &str, width: f32) {
    ui.horizontal(|ui| {
        let l = ui.label(label);
        ui.add(
            egui::TextEdit::singleline(value)
                .hint_text(hint)
                .desired_width(width),
        )
        .labelled_by(l.id);
    });
}

/// Why a start failed, in the start screen's words: an audio output that cannot play names
/// the box that turns sound off.
fn start_error_text(e: &anyhow::Error) -> String {
    use neuroloop_runtime::session::StartError;
    match e.downcast_ref::<StartError>() {
        Some(StartError::Audio(audio)) => format!(
            "{audio}. Nothing was started: untick \"play the bursts\" under Sleep for a dry run that logs every stimulus without sound."
        ),
        Some(StartError::NoOnsets {
            decoders,
            annotations,
        }) => format!(
            "{decoders} decides at stimulus onsets, and no annotation of the recording is known to mark one ({annotations}). Nothing was started: write the label that marks each onset in \"stimulus onsets in the recording or marker stream\" under SSVEP (and the targets in \"cues in the recording or marker stream\" to score it), or empty the model field to decode with the method above."
        ),
        Some(StartError::UnknownLabel {
            label,
            role,
            annotations,
        }) => format!(
            "The label {label} is not in the recording ({annotations}). Nothing was started: correct it in \"{}\" (labels match whole and exactly).",
            if *role == "onset" {
                "stimulus onsets in the recording or marker stream"
            } else {
                "cues in the recording…"
            }
        ),
        Some(StartError::CueTarget {
            label,
            hz,
            decoder,
            targets,
            by_model,
        }) => format!(
            "The cue {label}={hz} Hz names no target of {decoder} ({targets}). Nothing was started: {}",
            if *by_model {
                "a model decodes its own targets only; correct \"cues in the recording or marker stream\" under SSVEP."
            } else {
                "write the recording's frequencies in the targets under SSVEP, or correct \"cues in the recording or marker stream\"."
            }
        ),
        _ => crate::errors::error_text(e),
    }
}

/// The visible LSL streams in a stable order: signal streams by name, then marker streams and
/// this app's own outlets, greyed (they carry no EEG to monitor); a click on a signal stream
/// chooses it, on a marker stream makes it (or no longer) the marker stream read beside it.
fn stream_list_ui(ui: &mut egui::Ui, streams: &[StreamListing], p: &mut Profile) {
    if streams.is_empty() {
        return;
    }
    let own = format!("-{}", std::process::id());
    let mine = |s: &StreamListing| s.source_id.ends_with(&own);
    let signal = |s: &StreamListing| s.sample_rate_hz > 0.0 && !mine(s);
    let mut sorted: Vec<&StreamListing> = streams.iter().collect();
    sorted.sort_by_key(|s| (!signal(s), s.name.to_lowercase(), s.source_id.clone()));
    egui::Grid::new("streams").striped(true).show(ui, |ui| {
        for h in ["name", "type", "channels", "rate", "host"] {
            ui.label(RichText::new(h).strong());
        }
        ui.end_row();
        for s in sorted {
            if signal(s) {
                let chosen = p.source == SourceKind::Lsl && p.stream == s.name;
                if ui.selectable_label(chosen, &s.name).clicked() {
                    p.source = SourceKind::Lsl;
                    p.stream = s.name.clone();
                }
            } else if mine(s) {
                ui.label(RichText::new(format!("{} (this app's output)", s.name)).weak());
            } else {
                // A stimulus program's markers: a click reads them beside the EEG.
                let chosen = p.marker_stream == s.name;
                let text = RichText::new(format!("{} (markers, no EEG)", s.name)).weak();
                if ui
                    .selectable_label(chosen, text)
                    .on_hover_text("read beside the EEG as the marker stream")
                    .clicked()
                {
                    p.marker_stream = if chosen {
                        String::new()
                    } else {
                        s.name.clone()
                    };
                }
            }
            ui.label(&s.content_type);
            ui.label(s.channels.to_string());
            ui.label(if s.sample_rate_hz > 0.0 {
                format!("{} Hz", s.sample_rate_hz)
            } else {
                "irregular".to_string()
            });
            ui.label(&s.hostname);
            ui.end_row();
        }
    });
}

/// A labelled field of comma-separated frequencies (Hz). While it has the focus the text is
/// the user's as typed (a trailing comma or `12.` stays); each edit that parses to at least
/// one frequency updates `hz`.
fn frequencies_ui(ui: &mut egui::Ui, name: &str, hz: &mut Vec<f64>) {
    let l = ui.label(name);
    let id = ui.make_persistent_id(("frequencies", name));
    let shown = || hz.iter().map(f64::to_string).collect::<Vec<_>>().join(", ");
    let mut text = ui.data(|d| d.get_temp::<String>(id)).unwrap_or_else(shown);
    let response = ui
        .add(egui::TextEdit::singleline(&mut text).desired_width(220.0))
        .labelled_by(l.id);
    if response.changed() {
        let parsed: Vec<f64> = text
            .split(',')
            .filter_map(|t| t.trim().parse().ok())
            .filter(|f: &f64| f.is_finite() && *f > 0.0)
            .collect();
        if !parsed.is_empty() {
            *hz = parsed;
        }
    }
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
}

/// A path field wide enough for a whole path, with a button opening the file chooser;
/// `Some(field)` when that button was clicked.
fn path_field_ui(ui: &mut egui::Ui, name: &str, value: &mut String, field: Field) -> Option<Field> {
    let mut browse = None;
    ui.horizontal(|ui| {
        let l = ui.label(name);
        ui.add(egui::TextEdit::singleline(value).desired_width(520.0))
            .labelled_by(l.id)
            .on_hover_text(value.as_str());
        if ui.button("Browse…").clicked() {
            browse = Some(field);
        }
    });
    browse
}

/// [`path_field_ui`] for an optional path (empty: `None`).
fn optional_path_field_ui(
    ui: &mut egui::Ui,
    name: &str,
    value: &mut Option<PathBuf>,
    field: Field,
) -> Option<Field> {
    let mut text = value
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let browse = path_field_ui(ui, name, &mut text, field);
    *value = (!text.trim().is_empty()).then(|| PathBuf::from(text.trim()));
    browse
}

/// A labelled text field for an optional value: empty means `None` (the default).
fn optional_text_ui(ui: &mut egui::Ui, name: &str, value: &mut Option<String>) {
    let mut text = value.clone().unwrap_or_default();
    let l = ui.label(name);
    if ui
        .add(egui::TextEdit::singleline(&mut text).desired_width(110.0))
        .labelled_by(l.id)
        .changed()
    {
        *value = (!text.trim().is_empty()).then_some(text);
    }
}

/// Motor imagery's settings: classes, a fitted model, trials per class; the field whose file
/// chooser was asked for.
fn imagery_settings_ui(ui: &mut egui::Ui, p: &mut Profile) -> Option<Field> {
    let mut browse = None;
    ui.indent("imagery", |ui| {
        ui.horizontal(|ui| {
            ui.label("classes");
            for class in neuroloop_acquisition::MiClass::ALL {
                let name = class.name();
                let mut on = p.mi_classes.iter().any(|c| c == name);
                if ui.checkbox(&mut on, name.replace('_', " ")).changed() {
                    p.mi_classes.retain(|c| c != name);
                    if on {
                        p.mi_classes.push(name.to_string());
                        // Cue order follows the classes' canonical order.
                        p.mi_classes.sort_by_key(|c| {
                            neuroloop_acquisition::MiClass::from_name(c)
                                .map_or(usize::MAX, |c| c as usize)
                        });
                    }
                }
            }
        });
        let replay = p.source == SourceKind::File;
        browse = path_field_ui(
            ui,
            if replay {
                "fitted model or network card (decodes the recording)"
            } else {
                "fitted model or network card (empty: calibrate first)"
            },
            &mut p.mi_model,
            Field::MiModel,
        );
        if replay {
            hinted_field_ui(
                ui,
                "cues in the recording, scored (LABEL=CLASS, …)",
                &mut p.mi_file_cues,
                "e.g. T1=left_hand, T2=right_hand",
                320.0,
            );
            ui.label(
                "The recording is replayed and decoded with the model; decisions inside its cued trials (this application's cue markers, or the labels named here) are scored.",
            );
            return;
        }
        ui.horizontal(|ui| {
            let l = ui.label("motor imagery trials per class: calibration");
            ui.add_enabled(
                p.mi_model.trim().is_empty(),
                egui::DragValue::new(&mut p.mi_calibration_trials).range(5..=100),
            )
            .labelled_by(l.id);
            let l = ui.label("feedback");
            ui.add(egui::DragValue::new(&mut p.mi_feedback_trials).range(0..=100))
                .labelled_by(l.id);
        });
    });
    browse
}

impl eframe::App for StartScreen {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let elapsed = self
            .first_frame
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
            .as_secs_f64();
        crate::window::screenshot_when_due(ui.ctx(), &mut self.screenshot, elapsed);
        let mut back = false;
        if self.is_running() {
            egui::Panel::top("launcher").show(ui, |ui| {
                ui.horizontal(|ui| {
                    back = ui.button("Stop and return to the start screen").clicked()
                        || ui.input(|i| i.key_pressed(egui::Key::Escape));
                    ui.label(RichText::new("Esc").weak());
                });
            });
        }
        if let Some(live) = self.live.as_mut() {
            eframe::App::ui(live, ui, frame);
            if live.is_finished() {
                // The source ended: nothing runs that needs the cores awake.
                self.wake_hold = None;
            }
        } else if let Some((view, _)) = self.imagery.as_mut() {
            egui::CentralPanel::default().show(ui, |ui| view.ui(ui));
        } else if let Some(view) = self.speller.as_mut() {
            // The speller's own frame loop (it repaints every refresh); a finished cued
            // phrase returns to the start screen with the result.
            egui::CentralPanel::default().show(ui, |ui| view.ui(ui));
            back |= view.speller().phase() == crate::speller::Phase::Done;
        } else {
            self.poll_pending();
            self.poll_fitting();
            self.start_screen(ui);
            self.browser_ui(ui.ctx());
            // The stream list changes without input; so does a pending screenshot's time.
            ui.ctx().request_repaint_after(Duration::from_millis(
                if self.pending.is_some() || self.fitting.is_some() {
                    30
                } else if self.screenshot.is_some() {
                    100
                } else {
                    500
                },
            ));
        }
        if back {
            self.stop();
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.scan_stop.store(true, Ordering::Relaxed);
        self.abandon_pending();
        self.stop();
    }
}

impl StartScreen {
    /// Waits for a session being opened and closes it (its recording finished, its threads
    /// joined) instead of leaving its thread to be killed with the process.
    fn abandon_pending(&mut self) {
        if let Some(pending) = self.pending.take() {
            let wait = Duration::from_secs_f64(FIND_STREAM_SECS + 30.0);
            // Dropping what arrives stops it here.
            drop(pending.opened.recv_timeout(wait));
        }
    }
}

impl Drop for StartScreen {
    fn drop(&mut self) {
        self.scan_stop.store(true, Ordering::Relaxed);
        self.abandon_pending();
    }
}

/// A filter frequency that is a default (described by `default_text`; `paradigm_hz` starts
/// the user's own, `None`: off) unless the user sets it: a checkbox for the default, and the
/// value (0 = off, up to `max_hz`) when set.
fn optional_hz_ui(
    ui: &mut egui::Ui,
    name: &str,
    value: &mut Option<f64>,
    default_text: String,
    paradigm_hz: Option<f64>,
    max_hz: f64,
) {
    let mut own = value.is_some();
    let text = if own { name.to_string() } else { default_text };
    if ui
        .checkbox(&mut own, text)
        .on_hover_text("unticked: the default; ticked: your own frequency (0 = off)")
        .changed()
    {
        *value = own.then(|| paradigm_hz.unwrap_or(0.0));
    }
    if let Some(hz) = value.as_mut() {
        let l = ui.label("Hz (0 = off)");
        ui.add(egui::DragValue::new(hz).range(0.0..=max_hz).speed(0.1))
            .labelled_by(l.id);
    }
}
