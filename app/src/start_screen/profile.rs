//! The start screen's settings profile: a TOML file holding the source, the paradigm and
//! each paradigm's settings (the same specs the command line builds), saved and loaded by
//! the screen.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use neuroloop_acquisition::lsl_io::{LslInletConfig, MarkerInput};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SleepScenario, SsvepScenario};
use neuroloop_acquisition::{FileCues, Pacing};
use neuroloop_runtime::spec::{
    FrontEndChoice, MiSpec, ParadigmSpec, SleepSpec, SsvepSpec, parse_labels, parse_mi_cues,
    parse_ssvep_cues, ssvep_card_stream, ssvep_scenario,
};
use neuroloop_runtime::{SessionConfig, SourceSpec};
use serde::{Deserialize, Serialize};

use super::FIND_STREAM_SECS;

/// Where the samples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// The built-in simulator (no hardware).
    Simulator,
    /// An LSL stream, by name.
    Lsl,
    /// A recording (XDF, EDF/BDF, BrainVision, GDF, EEGLAB, FIF) replayed in real time.
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
    /// Sleep: spindle detection, slow-oscillation phase triggers and closed-loop stimulation.
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
    pub(super) fn label(self) -> &'static str {
        match self {
            Paradigm::Monitor => "Monitor only",
            Paradigm::Ssvep => "SSVEP decoding (FBCCA, CCA or a fitted model)",
            Paradigm::Sleep => "Sleep: spindles, slow oscillations, closed-loop stimulation",
            Paradigm::Speller => {
                "SSVEP speller (40 keys, dynamic stopping; FBCCA or a fitted TRCA model)"
            }
            Paradigm::MotorImagery => {
                "Motor imagery: calibration, fit, feedback (a recording: decoded with a model)"
            }
        }
    }
}

/// The error context of a profile file that does not parse.
fn not_parsed(path: &Path) -> String {
    format!(
        "the profile {} does not parse: fix the field named above or delete the file to start from the defaults",
        path.display()
    )
}

/// Keys of a profile `file` that no profile field reads (`table.key` for nested ones);
/// `parsed` is the profile read from it.
fn unknown_keys(file: &toml::Table, parsed: &Profile) -> Vec<String> {
    // Every field appears when serialised, except options that are unset: the file's own
    // options are set in `parsed`; add the defaults' fields.
    let known = |p: &Profile| toml::Table::try_from(p).unwrap_or_default();
    let (a, b) = (known(parsed), known(&Profile::default()));
    let mut out = Vec::new();
    collect_unknown(file, &[&a, &b], "", &mut out);
    out
}

fn collect_unknown(
    file: &toml::Table,
    known: &[&toml::Table],
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (key, value) in file {
        let inner: Vec<&toml::Table> = known
            .iter()
            .filter_map(|k| k.get(key))
            .filter_map(toml::Value::as_table)
            .collect();
        if known.iter().all(|k| !k.contains_key(key)) {
            out.push(format!("{prefix}{key}"));
        } else if let (Some(table), false) = (value.as_table(), inner.is_empty()) {
            collect_unknown(table, &inner, &format!("{prefix}{key}."), out);
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
            ssvep_uv: crate::speller::launch::SIMULATED_SSVEP_UV,
        }
    }
}

/// Front-end settings of a profile: each filter the paradigm's default unless set (0 turns it
/// off).
pub type FrontEndProfile = FrontEndChoice;

/// Everything the start screen remembers: a TOML file, every field optional (defaults shown
/// in [`Profile::default`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Profile {
    /// Layout of the file: 2 since the front end's filters follow the paradigm unless set;
    /// files without it are read as version 1 (see [`Profile::load`]).
    #[serde(default = "first_version")]
    pub version: u32,
    /// Source kind (`simulator`, `lsl`, `file`).
    pub source: SourceKind,
    /// LSL stream name (for `lsl`).
    pub stream: String,
    /// A marker stream read beside the LSL stream (a stimulus program's): its onsets start an
    /// onset-locked SSVEP model's trials, its cues score the decisions (empty: none).
    pub marker_stream: String,
    /// Recording to replay (for `file`).
    pub file: String,
    /// Paradigm (`monitor`, `ssvep`, `sleep`, `speller`, `motor-imagery`).
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
    /// The speller's own keyboard: its target frequencies, Hz, with phases in 0.5 π steps
    /// (empty: the 40-key benchmark keyboard, 8.0-15.8 Hz).
    pub speller_targets: Vec<f64>,
    /// The keys of that keyboard, one character per target in target order (`<` deletes).
    pub speller_keys: String,
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
    /// A recording decoded with `mi_model`: the annotation labels that cue a class, scored as
    /// its trials (`T1=left_hand, T2=right_hand`; the application's own cue markers are
    /// scored without them).
    pub mi_file_cues: String,
    /// A recording or marker stream decoded with an onset-locked SSVEP model: the labels that
    /// mark a stimulus onset (`32779`; comma-separated; empty: each SSVEP cue marks its own;
    /// this application's markers need no naming).
    pub ssvep_onsets: String,
    /// A recording or marker stream decoded for SSVEP: the labels that cue a target, by its
    /// frequency (`33025=13Hz, 33027=17Hz`), scored as its trials.
    pub ssvep_cues: String,
    /// Motor-imagery calibration trials per class.
    pub mi_calibration_trials: usize,
    /// Motor-imagery feedback trials per class.
    pub mi_feedback_trials: usize,
    /// Simulator settings.
    pub simulator: SimulatorProfile,
    /// Front end.
    pub front_end: FrontEndProfile,
    /// SSVEP decoding (`[ssvep]`: the same settings and defaults as `--paradigm ssvep`).
    pub ssvep: SsvepSpec,
    /// Sleep (`[sleep]`: the same settings and defaults as `neuroloop sleep`).
    pub sleep: SleepSpec,
    /// Play sleep's bursts on the audio output (false: a dry run, every stimulus logged without
    /// sound). An output that cannot play then stops the start with the reason.
    pub sleep_sound: bool,
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            version: PROFILE_VERSION,
            source: SourceKind::Simulator,
            stream: String::new(),
            file: String::new(),
            paradigm: Paradigm::Monitor,
            record_dir: String::new(),
            record_at_start: Some(false),
            speller_phrase: "NEUROLOOP".into(),
            speller_targets: Vec::new(),
            speller_keys: String::new(),
            speller_model: String::new(),
            speller_calibrate: false,
            speller_calibration_blocks: 2,
            mi_classes: vec!["left_hand".into(), "right_hand".into()],
            mi_model: String::new(),
            mi_file_cues: String::new(),
            marker_stream: String::new(),
            ssvep_onsets: String::new(),
            ssvep_cues: String::new(),
            mi_calibration_trials: 20,
            mi_feedback_trials: 10,
            simulator: SimulatorProfile::default(),
            front_end: FrontEndProfile::default(),
            ssvep: SsvepSpec::default(),
            sleep: SleepSpec::default(),
            sleep_sound: false,
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

    /// Reads a profile; a missing file is the default profile. A version-1 file always held
    /// a high-pass and a notch, 1 and 50 Hz unless changed, which the sleep paradigm
    /// overrode with 0.1 Hz: those two values are read as "the paradigm's default", so such a
    /// file keeps doing what it did.
    pub fn load(path: &Path) -> anyhow::Result<Profile> {
        Profile::load_checked(path).map(|(profile, _)| profile)
    }

    /// [`Profile::load`], and a warning naming the file's settings this version does not know
    /// (a misspelt key would otherwise be dropped without a word, and the session run without
    /// it).
    pub fn load_checked(path: &Path) -> anyhow::Result<(Profile, Option<String>)> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Profile::default(), None));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        // Parsed from the text (not from a table) so that an error shows its line and column.
        let mut profile: Profile = toml::from_str(&text).with_context(|| not_parsed(path))?;
        let unknown = text
            .parse::<toml::Table>()
            .map(|file| unknown_keys(&file, &profile))
            .unwrap_or_default();
        if profile.version < PROFILE_VERSION {
            let fe = &mut profile.front_end;
            fe.highpass_hz = fe.highpass_hz.filter(|&hz| hz != 1.0);
            fe.notch_hz = fe.notch_hz.filter(|&hz| hz != 50.0);
            profile.version = PROFILE_VERSION;
        }
        let warning = (!unknown.is_empty()).then(|| {
            format!(
                "the profile {} has settings this version does not know, so they are ignored: {} (check their spelling against a profile saved here)",
                path.display(),
                unknown.join(", ")
            )
        });
        Ok((profile, warning))
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
    pub(super) fn lsl_query(&self) -> Option<LslInletConfig> {
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
    /// The SSVEP onsets and cues of a recording or marker stream, as the SSVEP fields name
    /// them.
    fn ssvep_file_cues(&self) -> anyhow::Result<FileCues> {
        Ok(FileCues {
            ssvep: parse_ssvep_cues(&self.ssvep_cues)
                .map_err(|e| anyhow::anyhow!("the SSVEP cues: {e}"))?,
            onsets: parse_labels(&self.ssvep_onsets),
            ..FileCues::default()
        })
    }

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
        Ok(Some(neuroloop_runtime::record::recording_path(
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

    /// The speller's keyboard: the benchmark's 40 keys, or the profile's own targets and keys.
    pub fn speller_layout(&self) -> anyhow::Result<crate::speller::SpellerLayout> {
        use crate::speller::SpellerLayout;
        if self.speller_targets.is_empty() {
            return Ok(SpellerLayout::benchmark());
        }
        SpellerLayout::custom(
            &self.speller_targets,
            0.5 * std::f64::consts::PI,
            self.speller_keys.trim(),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "the speller's own keyboard: {e}: give one key per target frequency, or clear the targets for the 40-key keyboard"
            )
        })
    }

    /// The speller session this profile describes: its keyboard, cued by
    /// `speller_phrase` (free spelling when empty), decoded by `speller_model` or FBCCA, or
    /// the calibration run of `speller_calibrate`; on the simulator or the LSL stream; files
    /// and other sources are refused with the reason.
    pub fn speller_setup(&self) -> anyhow::Result<crate::speller::launch::SpellerSetup> {
        use crate::speller::launch::{SpellerDecoder, SpellerSetup};
        let stream = self.live_stream(
            "the speller needs a live source (its flicker drives what the user sees): choose the simulator or an LSL stream, or replay a recorded speller session with `neuroloop replay`",
        )?;
        let layout = self.speller_layout()?;
        let uv = self.simulator.ssvep_uv;
        if !(0.0..=100.0).contains(&uv) {
            anyhow::bail!(
                "the simulated speller user's SSVEP amplitude must be 0 to 100 µV, not {uv}: set it in the profile ({} µV by default)",
                crate::speller::launch::SIMULATED_SSVEP_UV
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
            let file = neuroloop_runtime::record::unused_path(&dir, "speller-calibration", ".xdf");
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
                margin: SsvepSpec::default().model_margin,
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
        use crate::mi::paradigm::{ImageryTiming, parse_classes};
        use neuroloop_decoders::mi::MiMethod;
        use neuroloop_offline::calibration::imagery::CalibrationCut;
        let stream = self.live_stream(
            "motor imagery needs a live source (the cues drive what the subject does): choose the simulator or an LSL stream, or fit a recorded calibration with `neuroloop mi fit`",
        )?;
        let classes = parse_classes(&self.mi_classes).map_err(anyhow::Error::msg)?;
        let model = match self.mi_model.trim() {
            "" => None,
            path => Some(
                crate::mi::model::FeedbackModel::load(Path::new(path)).with_context(|| {
                    format!(
                        "the motor-imagery model `{path}` cannot be used: give a model from `neuroloop mi fit`, an earlier run's model.json or a network's model card (.toml), or leave it empty to calibrate"
                    )
                })?,
            ),
        };
        let seed = 1;
        let out = neuroloop_runtime::record::unused_path(&self.recordings_folder(), "mi", "");
        let cut = CalibrationCut::default();
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
            ask_below_chance: true,
        }
        .checked()?;
        let source = crate::mi::launch::ImagerySource {
            stream,
            seed,
            markers: Some("neuroloop-markers".into()),
            out,
            step_secs: MiSpec::default().step_secs,
        };
        Ok((plan, source))
    }

    /// The paradigm spec of a monitor, SSVEP or sleep session, or of a recording decoded with a
    /// motor-imagery model (the speller and cued motor imagery run windows of their own).
    pub fn paradigm_spec(&self) -> anyhow::Result<ParadigmSpec> {
        Ok(match self.paradigm {
            Paradigm::Monitor => ParadigmSpec::Monitor,
            Paradigm::Ssvep => ParadigmSpec::Ssvep(self.ssvep.clone()),
            Paradigm::Sleep => ParadigmSpec::Sleep(self.sleep.clone()),
            // A recording has no cues to follow: it is decoded with the model.
            Paradigm::MotorImagery if self.source == SourceKind::File => {
                match self.mi_model.trim() {
                    "" => anyhow::bail!(
                        "a recording is decoded with a model: choose a fitted model (.json) or a network's card (.toml) in the motor-imagery model field, or choose the simulator or an LSL stream to calibrate"
                    ),
                    path => ParadigmSpec::Mi(MiSpec {
                        model: Some(PathBuf::from(path)),
                        ..MiSpec::default()
                    }),
                }
            }
            Paradigm::Speller | Paradigm::MotorImagery => anyhow::bail!(
                "the speller and motor imagery run their own views: start them from the start screen, `neuroloop speller` or `neuroloop mi session`"
            ),
        })
    }

    /// The session this profile describes, with its label: the paradigm spec's decoders and
    /// front end (with the profile's filters), stimulation with sound only when
    /// `sleep_sound` asks for it, in a window.
    pub fn session_config(&self) -> anyhow::Result<(SessionConfig, String)> {
        let spec = self.paradigm_spec()?;
        let (source, label) = self.source_spec(&spec)?;
        let front_end = self.front_end.over(&spec.front_end());
        let config = SessionConfig::new(source)
            .paradigm(&spec, !self.sleep_sound)?
            .front_end(front_end)
            // An unset notch follows the source's mains.
            .mains_auto(self.front_end.notch_hz.is_none())
            .record(self.recording_at_start()?)
            .with_window(true);
        Ok((config, label))
    }

    /// Where a monitor, SSVEP or sleep session reads from, and its label; the simulator
    /// simulates sleep for the sleep paradigm and the SSVEP targets otherwise.
    fn source_spec(&self, spec: &ParadigmSpec) -> anyhow::Result<(SourceSpec, String)> {
        match self.source {
            SourceKind::Simulator => {
                let sim = &self.simulator;
                if sim.channels == 0 || sim.rate_hz.is_nan() || sim.rate_hz < 100.0 {
                    anyhow::bail!(
                        "the simulator needs at least 1 channel and 100 Hz: set them in the profile"
                    );
                }
                // The simulated user attends the targets the SSVEP settings decode.
                let scenario = match spec {
                    ParadigmSpec::Sleep(_) => Scenario::Sleep(SleepScenario::default()),
                    _ => Scenario::Ssvep(ssvep_scenario(
                        &self.ssvep.targets_hz,
                        SsvepScenario::default().amplitude_uv,
                    )),
                };
                // A network's card fixes the rate and channels: the simulator has them.
                let card = match spec {
                    ParadigmSpec::Ssvep(SsvepSpec {
                        model: Some(path), ..
                    }) => ssvep_card_stream(path)?,
                    _ => None,
                };
                let (rate_hz, channel_labels, whose) = match card {
                    Some((rate_hz, channels)) => (rate_hz, channels, ", the network card's"),
                    None => (sim.rate_hz, SimConfig::labels_for(sim.channels), ""),
                };
                let label = format!(
                    "simulator ({} ch @ {rate_hz} Hz{whose})",
                    channel_labels.len()
                );
                let config = SimConfig {
                    sample_rate_hz: rate_hz,
                    channel_labels,
                    scenario,
                    ..SimConfig::default()
                };
                Ok((SourceSpec::simulator(config), label))
            }
            SourceKind::Lsl => {
                if self.stream.trim().is_empty() {
                    anyhow::bail!("choose an LSL stream from the list (or type its name)");
                }
                let markers = self.marker_stream.trim();
                if markers.is_empty() && matches!(spec, ParadigmSpec::Ssvep(s) if s.model.is_some())
                {
                    anyhow::bail!(
                        "an onset-locked SSVEP model decodes trials from flicker onsets, which a bare LSL stream does not carry: write the stimulus program's marker stream in \"marker stream\" under LSL stream (and its onset label under SSVEP), or run the speller on the stream instead, which reports each onset"
                    );
                }
                let mut inlet = self.monitor_inlet(self.stream.trim());
                if !markers.is_empty() {
                    inlet.markers = Some(MarkerInput {
                        name: markers.to_string(),
                        cues: self.ssvep_file_cues()?,
                    });
                }
                Ok((
                    SourceSpec::Lsl(inlet),
                    format!("LSL stream {}", self.stream.trim()),
                ))
            }
            SourceKind::File => {
                let path = PathBuf::from(self.file.trim());
                if !path.is_file() {
                    anyhow::bail!(
                        "the recording `{}` was not found: give the path of a recording (XDF, EDF/BDF, BrainVision .vhdr, GDF, EEGLAB .set or FIF)",
                        path.display()
                    );
                }
                let label = format!("replay of {}", path.display());
                let mut spec = SourceSpec::file(path, Pacing::REAL_TIME);
                if let SourceSpec::File { cues, .. } = &mut spec {
                    match self.paradigm {
                        Paradigm::MotorImagery => {
                            cues.mi = parse_mi_cues(&self.mi_file_cues).map_err(|e| {
                                anyhow::anyhow!("the motor-imagery cues of the recording: {e}")
                            })?;
                        }
                        Paradigm::Ssvep => *cues = self.ssvep_file_cues()?,
                        _ => {}
                    }
                }
                Ok((spec, label))
            }
        }
    }
}

/// The profile layout this version writes.
pub const PROFILE_VERSION: u32 = 2;

/// The version of a profile file that does not say (written before versions existed).
fn first_version() -> u32 {
    1
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
                notch_hz: Some(60.0),
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
            err.contains("was not found") && err.contains("BrainVision .vhdr"),
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
        assert!(cfg.stimulation.is_some() && cfg.with_window);
        // Sleep's stimulation is a dry run unless the profile plays the bursts.
        assert!(cfg.stimulation.unwrap().policy.dry_run);
    }

    #[test]
    fn the_simulator_takes_an_ssvep_network_cards_rate_and_channels() {
        let card = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../assets/models/ssvep-net.toml"
        ));
        let profile = Profile {
            paradigm: Paradigm::Ssvep,
            ssvep: SsvepSpec {
                model: Some(card),
                targets_hz: vec![13.0, 17.0, 21.0],
                ..SsvepSpec::default()
            },
            ..Profile::default()
        };
        let spec = profile.paradigm_spec().unwrap();
        let (source, label) = profile.source_spec(&spec).unwrap();
        let SourceSpec::Simulator { config, .. } = source else {
            panic!("{source:?}")
        };
        assert_eq!(config.sample_rate_hz, 256.0);
        assert_eq!(config.channel_labels.len(), 8);
        assert_eq!(config.channel_labels[0], "Oz");
        assert!(label.contains("256 Hz, the network card's"), "{label}");
        // Without a card, the profile's own simulator settings.
        let plain = Profile {
            paradigm: Paradigm::Ssvep,
            ..Profile::default()
        };
        let (source, _) = plain.source_spec(&plain.paradigm_spec().unwrap()).unwrap();
        let SourceSpec::Simulator { config, .. } = source else {
            panic!("{source:?}")
        };
        assert_eq!(config.sample_rate_hz, plain.simulator.rate_hz);
    }

    #[test]
    fn the_speller_keyboard_is_the_benchmark_or_the_profiles_own() {
        assert_eq!(
            Profile::default().speller_layout().unwrap().targets.len(),
            40
        );
        let own = Profile {
            speller_targets: vec![7.0, 8.5, 12.0, 15.0],
            speller_keys: "YES<".into(),
            ..Profile::default()
        };
        assert_eq!(
            own.speller_layout().unwrap().freqs_hz(),
            vec![7.0, 8.5, 12.0, 15.0]
        );
        let short = Profile {
            speller_keys: "YE".into(),
            ..own
        };
        let err = short.speller_layout().unwrap_err().to_string();
        assert!(err.contains("one key per target frequency"), "{err}");
    }

    #[test]
    fn settings_this_version_does_not_know_are_named() {
        let dir = std::env::temp_dir().join(format!("nl-profile-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.toml");
        let saved = Profile {
            mi_model: "m.json".into(),
            ..Profile::default()
        };
        saved.save(&path).unwrap();
        assert_eq!(Profile::load_checked(&path).unwrap(), (saved.clone(), None));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[simulator]\n"), "{text}");
        let typos = format!("mi_modle = \"x.toml\"\n{text}")
            .replace("[simulator]\n", "[simulator]\nchanels = 16\n");
        std::fs::write(&path, typos).unwrap();
        let (loaded, warning) = Profile::load_checked(&path).unwrap();
        assert_eq!(loaded, saved);
        let warning = warning.unwrap();
        assert!(
            warning.ends_with("so they are ignored: mi_modle, simulator.chanels (check their spelling against a profile saved here)"),
            "{warning}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn old_profiles_keep_their_filters_and_new_ones_follow_the_paradigm() {
        let dir = std::env::temp_dir().join(format!("neuroloop-profile-v1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("profile.toml");
        // Version 1 always wrote both filters; 1 and 50 Hz were its defaults.
        std::fs::write(&path, "[front_end]\nhighpass_hz = 1.0\nnotch_hz = 60.0\n").unwrap();
        let old = Profile::load(&path).unwrap();
        assert_eq!(old.front_end.highpass_hz, None);
        assert_eq!(old.front_end.notch_hz, Some(60.0));
        std::fs::write(&path, "[front_end]\nhighpass_hz = 2.0\nnotch_hz = 50.0\n").unwrap();
        let changed = Profile::load(&path).unwrap();
        assert_eq!(changed.front_end.highpass_hz, Some(2.0));
        assert_eq!(changed.front_end.notch_hz, None);
        // A version-2 file means what it says.
        let explicit = Profile {
            front_end: FrontEndProfile {
                highpass_hz: Some(1.0),
                ..FrontEndProfile::default()
            },
            ..Profile::default()
        };
        explicit.save(&path).unwrap();
        assert_eq!(Profile::load(&path).unwrap(), explicit);
        std::fs::remove_dir_all(&dir).ok();
        let sleep = Profile {
            paradigm: Paradigm::Sleep,
            ..Profile::default()
        };
        let spec = sleep.paradigm_spec().unwrap();
        assert_eq!(sleep.front_end.over(&spec.front_end()), spec.front_end());
        assert_eq!(spec, ParadigmSpec::Sleep(SleepSpec::default()));
    }
}
