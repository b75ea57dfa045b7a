//! The start screen: choose the source (the simulator, an LSL stream found on the network —
//! listed live with name, type, channels, rate and host — or a recording to replay), the
//! paradigm and a settings profile (TOML, saved and loaded), then start. The session then runs
//! in the same window ([`LiveView`]: traces, spectra and signal quality of the raw stream,
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

use anyhow::Context as _;
use egui::{Color32, RichText};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::lsl_io::{LslInletConfig, StreamListing, find_stream, list_streams};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SleepScenario, SsvepScenario};
use neuroloop_decoders::Decoder;
use serde::{Deserialize, Serialize};

use crate::gui::LiveView;
use crate::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use crate::pipeline::FrontEnd;
use crate::report::SessionReport;
use crate::session::{Session, SessionConfig, SourceSpec, StimulationSpec};
use crate::speller::view::SpellerView;

/// Where the samples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The built-in simulator (no hardware).
    Simulator,
    /// An LSL stream, by name.
    Lsl,
    /// A recording (XDF, EDF/BDF) replayed in real time.
    File,
}

/// What runs on the samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paradigm {
    /// Traces, spectra and signal quality only.
    Monitor,
    /// SSVEP decoding with filter-bank CCA (the simulator's four flickers).
    Ssvep,
    /// Sleep: spindle detection, slow-oscillation phase triggers and stimulation in dry run.
    Sleep,
    /// The SSVEP speller: the 40-target benchmark keyboard with dynamic stopping, decoded by
    /// FBCCA or the profile's `speller_model`; cued by its `speller_phrase` (free spelling
    /// when empty), or a calibration run (`speller_calibrate`).
    Speller,
    /// Motor imagery of the profile's `mi_classes`: a cued calibration run, the decoder fitted
    /// from it, then online feedback (`mi_calibration_trials`, `mi_feedback_trials`); or
    /// feedback only with a fitted `mi_model`.
    MotorImagery,
}

impl Paradigm {
    fn label(self) -> &'static str {
        match self {
            Paradigm::Monitor => "Monitor only",
            Paradigm::Ssvep => "SSVEP decoding (FBCCA)",
            Paradigm::Sleep => "Sleep: spindles, slow oscillations, stimulation (dry run)",
            Paradigm::Speller => {
                "SSVEP speller (40 keys, dynamic stopping; FBCCA or a fitted TRCA model)"
            }
            Paradigm::MotorImagery => "Motor imagery: calibration, fit, feedback",
        }
    }
}

/// Simulator settings of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SimulatorProfile {
    /// Channels (8: the default montage; up to 64: the 10-10 cap).
    pub channels: usize,
    /// Sampling rate, Hz.
    pub rate_hz: f64,
    /// The simulated speller user's SSVEP amplitude at the occipital pole, µV (the speller
    /// simulates its own 8-channel, 250 Hz cap).
    pub ssvep_uv: f64,
}

impl Default for SimulatorProfile {
    fn default() -> Self {
        SimulatorProfile {
            channels: 8,
            rate_hz: 250.0,
            ssvep_uv: 3.0,
        }
    }
}

/// Front-end settings of a profile (0 turns a filter off).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrontEndProfile {
    /// High-pass cutoff, Hz (1 Hz; 0.1 Hz is used for sleep whatever this says, to keep slow
    /// oscillations).
    pub highpass_hz: f64,
    /// Mains frequency notched with its harmonics, Hz (50; 60 in the Americas).
    pub notch_hz: f64,
    /// Re-reference to the common average.
    pub common_average: bool,
}

impl Default for FrontEndProfile {
    fn default() -> Self {
        FrontEndProfile {
            highpass_hz: 1.0,
            notch_hz: 50.0,
            common_average: false,
        }
    }
}

/// Everything the start screen remembers: a TOML file, every field optional (defaults shown
/// in [`Profile::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Source kind (`simulator`, `lsl`, `file`).
    pub source: SourceKind,
    /// LSL stream name (for `lsl`).
    pub stream: String,
    /// Recording to replay (for `file`).
    pub file: String,
    /// Paradigm (`monitor`, `ssvep`, `sleep`).
    pub paradigm: Paradigm,
    /// Folder for session recordings (XDF), started and stopped in the session's window
    /// (Ctrl+R) or from the start (`record_at_start`); empty: `recordings` in the working
    /// folder.
    pub record_dir: String,
    /// Record every session from its first sample. Absent in profiles written before it
    /// existed: those recorded whenever they named a `record_dir`, and still do.
    #[serde(default)]
    pub record_at_start: Option<bool>,
    /// The phrase the speller cues (copy spelling); empty: free spelling.
    pub speller_phrase: String,
    /// Decode the speller with this onset-locked TRCA model (`neuroloop ssvep fit`, or the
    /// speller's calibration run here) or SSVEP network card; empty: FBCCA.
    pub speller_model: String,
    /// The next speller run calibrates: every key cued `speller_calibration_blocks` times
    /// with its flicker at full length, recorded to `speller-calibration-….xdf` in the
    /// recordings folder; an ensemble-TRCA model is then fitted from it, saved beside it and
    /// chosen as `speller_model`.
    pub speller_calibrate: bool,
    /// Times every key is cued in a speller calibration (at least 2; each block of 40 keys
    /// takes about 3.7 min; more blocks fit a better model).
    pub speller_calibration_blocks: usize,
    /// Motor-imagery classes cued (`left_hand`, `right_hand`, `feet`, `rest`; at least two).
    pub mi_classes: Vec<String>,
    /// A fitted motor-imagery model (`neuroloop mi fit`, or an earlier run's `model.json`):
    /// feedback only, no calibration; empty: calibrate first.
    pub mi_model: String,
    /// Motor-imagery calibration trials per class.
    pub mi_calibration_trials: usize,
    /// Motor-imagery feedback trials per class.
    pub mi_feedback_trials: usize,
    /// Simulator settings.
    pub simulator: SimulatorProfile,
    /// Front end.
    pub front_end: FrontEndProfile,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            source: SourceKind::Simulator,
            stream: String::new(),
            file: String::new(),
            paradigm: Paradigm::Monitor,
            record_dir: String::new(),
            record_at_start: Some(false),
            speller_phrase: "NEUROLOOP".into(),
            speller_model: String::new(),
            speller_calibrate: false,
            speller_calibration_blocks: 2,
            mi_classes: vec!["left_hand".into(), "right_hand".into()],
            mi_model: String::new(),
            mi_calibration_trials: 20,
            mi_feedback_trials: 10,
            simulator: SimulatorProfile::default(),
            front_end: FrontEndProfile::default(),
        }
    }
}

impl Profile {
    /// The default profile file: `$XDG_CONFIG_HOME/neuroloop/profile.toml`, else
    /// `~/.config/neuroloop/profile.toml`.
    pub fn default_path() -> PathBuf {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
            .unwrap_or_else(|| PathBuf::from("."));
        base.join("neuroloop").join("profile.toml")
    }

    /// Reads a profile; a missing file is the default profile.
    pub fn load(path: &Path) -> anyhow::Result<Profile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Profile::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).with_context(|| {
            format!(
                "the profile {} does not parse: fix the field named above or delete the file to start from the defaults",
                path.display()
            )
        })
    }

    /// Writes the profile (creating its folder).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the folder {}", dir.display()))?;
        }
        let text = toml::to_string_pretty(self).context("writing the profile as TOML")?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    /// Whether sessions record from their first sample: `record_at_start`, or for a profile
    /// without that field, whether it names a `record_dir`.
    pub fn records_at_start(&self) -> bool {
        self.record_at_start
            .unwrap_or_else(|| !self.record_dir.trim().is_empty())
    }

    /// Where recordings go: `record_dir`, or `recordings` in the working folder when empty.
    pub fn recordings_folder(&self) -> PathBuf {
        match self.record_dir.trim() {
            "" => PathBuf::from("recordings"),
            dir => PathBuf::from(dir),
        }
    }

    /// How the chosen paradigm's session finds its LSL stream, for an LSL source with a name.
    fn lsl_query(&self) -> Option<LslInletConfig> {
        let name = self.stream.trim();
        if self.source != SourceKind::Lsl || name.is_empty() {
            return None;
        }
        Some(match self.paradigm {
            // The speller and motor imagery read EEG-typed streams only.
            Paradigm::Speller | Paradigm::MotorImagery => LslInletConfig {
                name: Some(name.to_string()),
                ..LslInletConfig::default()
            },
            Paradigm::Monitor | Paradigm::Ssvep | Paradigm::Sleep => self.monitor_inlet(name),
        })
    }

    /// The inlet of the monitor, SSVEP and sleep sessions: the stream by name, any type.
    fn monitor_inlet(&self, name: &str) -> LslInletConfig {
        LslInletConfig {
            name: Some(name.to_string()),
            content_type: None,
            resolve_timeout_secs: FIND_STREAM_SECS,
            ..LslInletConfig::default()
        }
    }

    /// For a paradigm that drives what the user does: no stream for the simulator, the chosen
    /// LSL stream's name, or `refusal` for a recording.
    fn live_stream(&self, refusal: &str) -> anyhow::Result<Option<String>> {
        match self.source {
            SourceKind::Simulator => Ok(None),
            SourceKind::Lsl => {
                let name = self.stream.trim();
                if name.is_empty() {
                    anyhow::bail!("no LSL stream chosen: pick one from the list or type its name");
                }
                Ok(Some(name.to_string()))
            }
            SourceKind::File => anyhow::bail!("{refusal}"),
        }
    }

    /// The file a session records to from its start (a new name in the recordings folder,
    /// which is created), or `None` when the profile does not record from the start.
    fn recording_at_start(&self) -> anyhow::Result<Option<PathBuf>> {
        if !self.records_at_start() {
            return Ok(None);
        }
        Ok(Some(crate::record::recording_path(
            &self.created_recordings_folder()?,
        )))
    }

    /// The recordings folder, created if missing.
    fn created_recordings_folder(&self) -> anyhow::Result<PathBuf> {
        let dir = self.recordings_folder();
        std::fs::create_dir_all(&dir).with_context(|| {
            format!(
                "the recording folder {} cannot be created: choose a writable folder",
                dir.display()
            )
        })?;
        Ok(dir)
    }

    /// The speller session this profile describes: the benchmark keyboard, cued by
    /// `speller_phrase` (free spelling when empty), decoded by `speller_model` or FBCCA, or
    /// the calibration run of `speller_calibrate`; on the simulator or the LSL stream; files
    /// and other sources are refused with the reason.
    pub fn speller_setup(&self) -> anyhow::Result<crate::speller::launch::SpellerSetup> {
        use crate::speller::SpellerLayout;
        use crate::speller::launch::{SpellerDecoder, SpellerSetup};
        let stream = self.live_stream(
            "the speller needs a live source (its flicker drives what the user sees): choose the simulator or an LSL stream, or replay a recorded speller session with `neuroloop replay`",
        )?;
        let layout = SpellerLayout::benchmark();
        let uv = self.simulator.ssvep_uv;
        if !(0.0..=100.0).contains(&uv) {
            anyhow::bail!(
                "the simulated speller user's SSVEP amplitude must be 0 to 100 µV, not {uv}: set it in the profile (3 µV is typical)"
            );
        }
        if self.speller_calibrate {
            if !(2..=20).contains(&self.speller_calibration_blocks) {
                anyhow::bail!(
                    "a speller calibration cues every key 2 to 20 times (TRCA learns from what repeats; each block takes about 3.7 min), not {}: set the calibration blocks in that range",
                    self.speller_calibration_blocks
                );
            }
            let dir = self.created_recordings_folder()?;
            let file = crate::record::unused_path(&dir, "speller-calibration", ".xdf");
            return Ok(SpellerSetup {
                phrase: Some(layout.calibration_phrase(self.speller_calibration_blocks)),
                calibrate: true,
                stream,
                record: Some(file),
                ssvep_uv: self.simulator.ssvep_uv,
                ..SpellerSetup::new(layout)
            });
        }
        let model = self.speller_model.trim();
        let decoder = if model.is_empty() {
            SpellerSetup::new(layout.clone()).decoder
        } else {
            let path = PathBuf::from(model);
            if !path.is_file() {
                anyhow::bail!(
                    "the speller model `{model}` was not found: give the path of a model from `neuroloop ssvep fit` (or a network card), run the speller's calibration, or leave it empty for FBCCA"
                );
            }
            SpellerDecoder::Model {
                path,
                margin: TRCA_MARGIN,
            }
        };
        let phrase = self.speller_phrase.trim();
        let record = self.recording_at_start()?;
        Ok(SpellerSetup {
            phrase: (!phrase.is_empty()).then(|| phrase.to_uppercase()),
            decoder,
            stream,
            record,
            ssvep_uv: self.simulator.ssvep_uv,
            ..SpellerSetup::new(layout)
        })
    }

    /// The motor-imagery run this profile describes: the cued `mi_classes`, the profile's
    /// trial counts, calibrated with every fitting method (the best cross-validated kept) or
    /// feedback with `mi_model`, on the simulator or the LSL stream; its files go to a new
    /// `mi-YYYYMMDD-HHMMSS` folder in the recordings folder.
    pub fn imagery_setup(
        &self,
    ) -> anyhow::Result<(
        crate::mi::view::ImageryPlan,
        crate::mi::launch::ImagerySource,
    )> {
        use crate::mi::CalibrationCut;
        use crate::mi::paradigm::{ImageryTiming, parse_classes};
        use neuroloop_decoders::mi::{MiMethod, MiModel};
        let stream = self.live_stream(
            "motor imagery needs a live source (the cues drive what the subject does): choose the simulator or an LSL stream, or fit a recorded calibration with `neuroloop mi fit`",
        )?;
        let classes = parse_classes(&self.mi_classes).map_err(anyhow::Error::msg)?;
        let model = match self.mi_model.trim() {
            "" => None,
            path => Some(MiModel::load(Path::new(path)).with_context(|| {
                format!(
                    "the motor-imagery model `{path}` cannot be used: give a model from `neuroloop mi fit` or an earlier run's model.json, or leave it empty to calibrate"
                )
            })?),
        };
        let seed = 1;
        let out = crate::record::unused_path(&self.recordings_folder(), "mi", "");
        let cut = CalibrationCut {
            channels: Vec::new(),
            band_hz: (8.0, 30.0),
            window_secs: 2.0,
            cue_offset_secs: 0.5,
            sub_bands: Vec::new(),
        };
        let plan = crate::mi::view::ImageryPlan {
            classes,
            timing: ImageryTiming::default(),
            calibration_trials: self.mi_calibration_trials,
            feedback_trials: self.mi_feedback_trials,
            seed,
            cut,
            methods: vec![
                MiMethod::CspLda,
                MiMethod::TsLr,
                MiMethod::Mdm,
                MiMethod::FbcspLda,
            ],
            model_out: Some(out.join("model.json")),
            model,
            close_when_done: false,
        }
        .checked()?;
        let source = crate::mi::launch::ImagerySource {
            stream,
            seed,
            markers: Some("neuroloop-markers".into()),
            out,
            step_secs: 0.25,
        };
        Ok((plan, source))
    }

    /// The session this profile describes, with its label.
    pub fn session_config(&self) -> anyhow::Result<(SessionConfig, String)> {
        let sleep = self.paradigm == Paradigm::Sleep;
        let front_end = FrontEnd {
            highpass_hz: if sleep {
                Some(0.1)
            } else {
                (self.front_end.highpass_hz > 0.0).then_some(self.front_end.highpass_hz)
            },
            notch_hz: (self.front_end.notch_hz > 0.0).then_some(self.front_end.notch_hz),
            common_average: self.front_end.common_average,
        };
        let (source, label) = match self.source {
            SourceKind::Simulator => {
                let sim = &self.simulator;
                if sim.channels == 0 || sim.rate_hz.is_nan() || sim.rate_hz < 100.0 {
                    anyhow::bail!(
                        "the simulator needs at least 1 channel and 100 Hz: set them in the profile"
                    );
                }
                let scenario = if sleep {
                    Scenario::Sleep(SleepScenario::default())
                } else {
                    Scenario::Ssvep(SsvepScenario::default())
                };
                (
                    SourceSpec::Simulator {
                        config: SimConfig {
                            sample_rate_hz: sim.rate_hz,
                            channel_labels: SimConfig::labels_for(sim.channels),
                            scenario,
                            ..SimConfig::default()
                        },
                        pacing: Pacing::REAL_TIME,
                        chunk_frames: 0,
                        duration_secs: None,
                        time_origin: None,
                    },
                    format!("simulator ({} ch @ {} Hz)", sim.channels, sim.rate_hz),
                )
            }
            SourceKind::Lsl => {
                if self.stream.trim().is_empty() {
                    anyhow::bail!("choose an LSL stream from the list (or type its name)");
                }
                (
                    SourceSpec::Lsl(self.monitor_inlet(self.stream.trim())),
                    format!("LSL stream {}", self.stream.trim()),
                )
            }
            SourceKind::File => {
                let path = PathBuf::from(self.file.trim());
                if !path.is_file() {
                    anyhow::bail!(
                        "the recording `{}` was not found: give the path of an XDF, EDF or BDF file",
                        path.display()
                    );
                }
                (
                    SourceSpec::File {
                        path: path.clone(),
                        channels: Vec::new(),
                        pacing: Pacing::REAL_TIME,
                        lsl_outlet: None,
                    },
                    format!("replay of {}", path.display()),
                )
            }
        };
        let mut decoders: Vec<(Box<dyn Decoder>, DecoderInfo)> = Vec::new();
        let scored = self.source == SourceKind::Simulator;
        match self.paradigm {
            Paradigm::Monitor => {}
            Paradigm::Ssvep => {
                let d = neuroloop_decoders::ssvep::SsvepCcaDecoder::new(
                    neuroloop_decoders::ssvep::SsvepCcaConfig {
                        sub_bands: 5,
                        ..Default::default()
                    },
                );
                let truth = TruthMapping::ssvep_when(scored);
                let info = DecoderInfo::of(&d, truth);
                decoders.push((Box::new(d), info));
            }
            Paradigm::Sleep => decoders.extend(crate::bench::sleep_decoders("Cz", "Cz")),
            Paradigm::Speller | Paradigm::MotorImagery => anyhow::bail!(
                "the speller and motor imagery run their own views: start them from the start screen, `neuroloop speller` or `neuroloop mi session`"
            ),
        }
        let record = self.recording_at_start()?;
        let config = SessionConfig {
            source,
            front_end,
            decoders,
            outputs: OutputConfig {
                record,
                ..OutputConfig::default()
            },
            ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
            with_scope: true,
            stimulation: sleep.then(|| {
                StimulationSpec::dry_run(
                    crate::stimulation::StimTrigger::SlowOscillation,
                    Some("Cz".into()),
                )
            }),
        };
        Ok((config, label))
    }
}

/// Relative margin of the best over the second TRCA score (or network probability) that stops
/// a speller flicker early (as `neuroloop speller --trca-margin`).
pub const TRCA_MARGIN: f64 = 0.2;

/// How long Start looks for the chosen LSL stream before saying it is not there.
pub const FIND_STREAM_SECS: f64 = 2.0;

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
        // Set up and started by the window ([`open_imagery`]).
        Paradigm::MotorImagery => Ok(Opened::Seen),
        Paradigm::Speller => {
            let setup = profile.speller_setup()?;
            let view = setup.start()?;
            Ok(Opened::Speller(
                Box::new(view),
                setup.calibrate.then_some(setup.record).flatten(),
            ))
        }
        Paradigm::Monitor | Paradigm::Ssvep | Paradigm::Sleep => {
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

/// Flickers the speller ran to their end: the trials started, less the one under way unless
/// it is in its feedback.
fn completed_flickers(sp: &crate::speller::Speller) -> u32 {
    match sp.phase() {
        crate::speller::Phase::Feedback { .. } | crate::speller::Phase::Done => sp.trials(),
        _ => sp.trials().saturating_sub(1),
    }
}

/// Fits the speller's ensemble-TRCA model from a calibration recording and saves it beside
/// the recording (`X.xdf` → `X.trca.json`): the model's path and a one-line summary.
fn fit_calibration(recording: &Path) -> anyhow::Result<(PathBuf, String)> {
    use neuroloop_decoders::ssvep::onset::TrcaFitConfig;
    let model = crate::speller::fit::fit_recordings(
        &[recording.to_path_buf()],
        &[],
        &TrcaFitConfig::default(),
    )?;
    let out = recording.with_extension("trca.json");
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
pub struct Launcher {
    profile: Profile,
    profile_path: PathBuf,
    scan: Arc<Mutex<Scan>>,
    scan_stop: Arc<AtomicBool>,
    /// Last message: (is an error, text).
    message: Option<(bool, String)>,
    live: Option<LiveView>,
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
    /// The CPU wake-up latency to hold while a session runs, and the hold itself.
    wake: crate::power::WakeLatency,
    wake_hold: Option<crate::power::WakeLatencyHold>,
}

impl Launcher {
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
        Launcher {
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
            wake: crate::power::WakeLatency::Off,
            wake_hold: None,
        }
    }

    /// Holds `wake` ([`crate::power`]) while a session runs (none by default); a refusal is
    /// printed on stderr with its fix, and the session runs anyway.
    pub fn with_wake_latency(mut self, wake: crate::power::WakeLatency) -> Self {
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
        let hold = crate::power::WakeLatencyHold::request(self.wake);
        if let crate::power::HoldStatus::Refused(why) = hold.status() {
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
                Err(e) => self.message = Some((true, crate::cli::error_text(&e))),
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
                    .and_then(|_| open(&profile).map_err(|e| crate::cli::error_text(&e)));
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
                    LiveView::new(*session, label, from_lsl, Arc::clone(&self.reports))
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
            Err(e) => self.message = Some((true, crate::cli::error_text(&e))),
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
            self.message = Some((view.error().is_some(), text));
        }
        if let Some(mut view) = self.speller.take() {
            view.finish();
            self.wake_hold = None;
            let sp = view.speller();
            let (correct, scored) = sp.score();
            self.message = Some((
                false,
                format!(
                    "last speller session: typed \"{}\" in {} selections{}",
                    sp.text(),
                    sp.trials(),
                    if scored > 0 {
                        format!(", {correct}/{scored} as cued")
                    } else {
                        String::new()
                    }
                ),
            ));
            if let Some(recording) = self.speller_calibration.take() {
                if sp.phase() == crate::speller::Phase::Done {
                    self.fit_speller_model(recording);
                } else {
                    self.message = Some((
                        true,
                        format!(
                            "the calibration stopped after {} of its {} flickers, so no model was fitted; its recording {} is kept: run the calibration to its end, or fit several recordings together with `neuroloop ssvep fit`",
                            completed_flickers(sp),
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
                        crate::cli::error_text(&e)
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
            Err(e) => (true, crate::cli::error_text(&e)),
        });
    }

    fn load_profile(&mut self) {
        match Profile::load(&self.profile_path) {
            Ok(p) => {
                self.profile = p;
                self.message = Some((
                    false,
                    format!("profile loaded from {}", self.profile_path.display()),
                ));
            }
            Err(e) => self.message = Some((true, crate::cli::error_text(&e))),
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
            egui::Grid::new("streams").striped(true).show(ui, |ui| {
                if !scan.streams.is_empty() {
                    for h in ["name", "type", "channels", "rate", "host"] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                }
                for s in &scan.streams {
                    let chosen = p.source == SourceKind::Lsl && p.stream == s.name;
                    if ui.selectable_label(chosen, &s.name).clicked() {
                        p.source = SourceKind::Lsl;
                        p.stream = s.name.clone();
                    }
                    ui.label(&s.content_type);
                    ui.label(s.channels.to_string());
                    ui.label(format!("{} Hz", s.sample_rate_hz));
                    ui.label(&s.hostname);
                    ui.end_row();
                }
            });
            ui.horizontal(|ui| {
                let l = ui.label("name");
                ui.text_edit_singleline(&mut p.stream).labelled_by(l.id);
            });
        });
        ui.radio_value(
            &mut p.source,
            SourceKind::File,
            "Recording to replay (XDF, EDF, BDF)",
        );
        ui.indent("file", |ui| {
            ui.horizontal(|ui| {
                let l = ui.label("path");
                ui.text_edit_singleline(&mut p.file).labelled_by(l.id);
            });
        });
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
                ui.heading("Paradigm");
                for p in [
                    Paradigm::Monitor,
                    Paradigm::Ssvep,
                    Paradigm::Sleep,
                    Paradigm::Speller,
                    Paradigm::MotorImagery,
                ] {
                    ui.radio_value(&mut self.profile.paradigm, p, p.label());
                }
                if self.profile.paradigm == Paradigm::Speller {
                    let p = &mut self.profile;
                    ui.indent("speller", |ui| {
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
                            ui.horizontal(|ui| {
                                let l = ui.label("TRCA model or network card (empty: FBCCA)");
                                ui.text_edit_singleline(&mut p.speller_model)
                                    .labelled_by(l.id);
                            });
                        });
                    });
                }
                if self.profile.paradigm == Paradigm::MotorImagery {
                    let p = &mut self.profile;
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
                        ui.horizontal(|ui| {
                            let l = ui.label("fitted model (empty: calibrate first)");
                            ui.text_edit_singleline(&mut p.mi_model).labelled_by(l.id);
                        });
                        ui.horizontal(|ui| {
                            let l = ui.label("motor imagery trials per class: calibration");
                            ui.add_enabled(
                                p.mi_model.trim().is_empty(),
                                egui::DragValue::new(&mut p.mi_calibration_trials)
                                    .range(5..=100),
                            )
                            .labelled_by(l.id);
                            let l = ui.label("feedback");
                            ui.add(
                                egui::DragValue::new(&mut p.mi_feedback_trials)
                                    .range(0..=100),
                            )
                            .labelled_by(l.id);
                        });
                    });
                }
                ui.separator();
                ui.heading("Settings");
                let fe = &mut self.profile.front_end;
                ui.horizontal(|ui| {
                    let l = ui.label("high-pass (Hz, 0 = off)");
                    ui.add(
                        egui::DragValue::new(&mut fe.highpass_hz)
                            .range(0.0..=10.0)
                            .speed(0.1),
                    )
                    .labelled_by(l.id);
                    let l = ui.label("mains notch (Hz, 0 = off)");
                    ui.add(egui::DragValue::new(&mut fe.notch_hz).range(0.0..=60.0))
                        .labelled_by(l.id);
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
                ui.separator();
                let starting = self.pending.is_some() || self.fitting.is_some();
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(!starting, egui::Button::new(RichText::new("Start").strong()))
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
            });
        });
        if save {
            self.save_profile();
        }
        if enter && !self.is_running() {
            self.start();
        }
    }
}

impl eframe::App for Launcher {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let elapsed = self
            .first_frame
            .get_or_insert_with(std::time::Instant::now)
            .elapsed()
            .as_secs_f64();
        crate::gui::screenshot_when_due(ui.ctx(), &mut self.screenshot, elapsed);
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

impl Launcher {
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

impl Drop for Launcher {
    fn drop(&mut self) {
        self.scan_stop.store(true, Ordering::Relaxed);
        self.abandon_pending();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_written_before_record_at_start_keep_recording_when_they_name_a_folder() {
        let old: Profile = toml::from_str("record_dir = \"/data/eeg\"\n").unwrap();
        assert!(old.records_at_start());
        let old_none: Profile = toml::from_str("record_dir = \"\"\n").unwrap();
        assert!(!old_none.records_at_start());
        assert!(!Profile::default().records_at_start());
        let new: Profile =
            toml::from_str("record_dir = \"/data/eeg\"\nrecord_at_start = false\n").unwrap();
        assert!(!new.records_at_start());
    }

    #[test]
    fn profiles_round_trip_and_fill_missing_fields_with_defaults() {
        let dir = std::env::temp_dir().join(format!("neuroloop-profile-{}", std::process::id()));
        let path = dir.join("sub").join("profile.toml");
        assert_eq!(Profile::load(&path).unwrap(), Profile::default());
        let p = Profile {
            source: SourceKind::Lsl,
            stream: "amp".into(),
            paradigm: Paradigm::Sleep,
            front_end: FrontEndProfile {
                notch_hz: 60.0,
                ..FrontEndProfile::default()
            },
            ..Profile::default()
        };
        p.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), p);
        std::fs::write(&path, "paradigm = \"ssvep\"\n").unwrap();
        let partial = Profile::load(&path).unwrap();
        assert_eq!(partial.paradigm, Paradigm::Ssvep);
        assert_eq!(partial.simulator, SimulatorProfile::default());
        std::fs::write(&path, "paradigm = \"speling\"\n").unwrap();
        let err = format!("{:#}", Profile::load(&path).unwrap_err());
        assert!(
            err.contains("does not parse") && err.contains("paradigm"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_profile_that_cannot_start_says_why() {
        let missing = Profile {
            source: SourceKind::File,
            file: "/nonexistent/night.edf".into(),
            ..Profile::default()
        };
        let err = missing.session_config().err().unwrap().to_string();
        assert!(
            err.contains("was not found") && err.contains("XDF, EDF or BDF"),
            "{err}"
        );
        let unnamed = Profile {
            source: SourceKind::Lsl,
            ..Profile::default()
        };
        assert!(unnamed.session_config().is_err());
        let (cfg, label) = Profile {
            paradigm: Paradigm::Sleep,
            ..Profile::default()
        }
        .session_config()
        .unwrap();
        assert!(label.starts_with("simulator"));
        assert_eq!(cfg.decoders.len(), 2);
        assert_eq!(cfg.front_end.highpass_hz, Some(0.1));
        assert!(cfg.stimulation.is_some() && cfg.with_scope);
    }
}
