//! Command-line interface.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::lsl_io::{
    LslInletConfig, VirtualAmplifier, list_streams, run_virtual_amplifier,
};
use neuroloop_acquisition::sim::{
    MiScenario, Scenario, SimConfig, SleepScenario, SsvepScenario, SsvepTarget,
};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};

use crate::eval::mi::{
    CUE_OFFSET_SECS, EEGMMIDB_RUNS, MethodTrials, evaluate_mi, fit_all, load_eegmmidb,
    load_eegmmidb_with, reference as mi_reference,
};
use crate::eval::{SsvepMethod, evaluate_ssvep, load_kalunga, reference_mean_accuracy};
use crate::mi::{CalibrationCut, FitOutcome, fit_best, trial_counts};
use crate::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use crate::pipeline::FrontEnd;
use crate::power::{HoldStatus, WakeLatency, WakeLatencyHold};
use crate::report::SessionReport;
use crate::session::{Session, SessionConfig, SourceSpec};
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiMethod, MiModel};
use neuroloop_decoders::sleep::{
    SoConfig, SoDecoder, SoDecoderConfig, SpindleDecoder, SpindleDecoderConfig,
};

/// neuroloop: real-time brain-computer interfaces on Lab Streaming Layer.
#[derive(Debug, Parser)]
#[command(name = "neuroloop", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Longest CPU wake-up latency, in microseconds, allowed while a session runs (Linux PM
    /// QoS through /dev/cpu_dma_latency; idle cores stay ready instead of sleeping deeply,
    /// which shortens decisions after idle periods at the cost of power), or `off`.
    #[arg(long, global = true, value_name = "US|off", default_value_t = WakeLatency::default())]
    pub cpu_wake_latency: WakeLatency,
}

impl Command {
    /// Whether the command runs real-time sessions from the command line, and so holds the
    /// CPU wake-up latency while it runs (`start` holds it per session, `bench` per run).
    fn runs_sessions(&self) -> bool {
        matches!(
            self,
            Command::Demo(_)
                | Command::Run(_)
                | Command::Speller(_)
                | Command::Replay(_)
                | Command::Sleep(_)
                | Command::Mi(MiCommand::Session(_))
                | Command::Bench {
                    soak_hours: Some(_),
                    ..
                }
        )
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole loop on the built-in simulator (no hardware needed): SSVEP trials are
    /// simulated, filtered, decoded by CCA and published as LSL markers. Opens a live window
    /// when a display is available, otherwise prints a summary.
    Demo(DemoArgs),
    /// Decode a live LSL EEG stream and publish the decisions as LSL markers.
    Run(RunArgs),
    /// The SSVEP speller window: the 40-target benchmark keyboard (or a custom set) flickering
    /// with JFPM codes sampled per frame, decoded by FBCCA with dynamic stopping; cued
    /// (--phrase) or free spelling, on the simulator (whose user looks where the cue says) or
    /// an LSL stream (--stream). Frames, cues and selections go to the markers and --record.
    Speller(SpellerArgs),
    /// Replay a recorded file (XDF, EDF/BDF) through the same pipeline as live data.
    Replay(ReplayArgs),
    /// Motor imagery: fit a decoder from calibration recordings.
    #[command(subcommand)]
    Mi(MiCommand),
    /// SSVEP: fit an onset-locked TRCA decoder from calibration recordings.
    #[command(subcommand)]
    Ssvep(SsvepCommand),
    /// Closed-loop sleep stimulation: live spindle detection and slow-oscillation phase
    /// tracking on the simulator (default), an LSL stream (--stream) or a file (--replay),
    /// with pink-noise bursts at the target phase (or spindle onsets) under safety limits;
    /// --dry-run logs stimuli without sound.
    Sleep(SleepArgs),
    /// Measure pipeline latency and throughput on this machine (figures printed and written
    /// as JSON and SVG; build with --release for representative numbers).
    Bench {
        /// Short runs (10 s of data per configuration instead of 60 s).
        #[arg(long)]
        quick: bool,
        /// Folder for bench.json and latency.svg (and soak.xdf, the soak run's recording).
        #[arg(long, default_value = "out/bench")]
        out: PathBuf,
        /// Only the rows whose key contains one of these (comma-separated); keys look like
        /// `64ch-1000hz-fbcca`, `32ch-500hz-csp-lda`, `8ch-250hz-sleep`, `lsl-loopback`,
        /// `audio-onset`; `audio-device` (only by name) plays audible bursts on the default
        /// output device.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
        /// Instead: a soak run of this many hours of simulated sleep at maximum speed (spindle
        /// detector, slow-oscillation trigger, stimulation in dry run, the session recorded to
        /// OUT/soak.xdf), printing memory as it goes; e.g. 8 for a night.
        #[arg(long, value_name = "HOURS")]
        soak_hours: Option<f64>,
    },
    /// Evaluate decoders offline on a recorded data set, beside reference numbers.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Publish the simulator as an LSL EEG stream (a virtual amplifier), with its ground truth
    /// on a `<name>-truth` marker stream.
    Simulate(SimulateArgs),
    /// The start screen: choose the source (the simulator, an LSL stream listed live, a
    /// recording), the paradigm (monitor, SSVEP, sleep) and a settings profile, then run it in
    /// the same window. Needs a display.
    Start(StartArgs),
    /// List the LSL streams visible from this machine.
    Streams {
        /// Seconds to wait for streams to answer.
        #[arg(long, default_value_t = 1.0)]
        wait_secs: f64,
    },
    /// Check the installation: LSL, ONNX Runtime, display.
    Doctor,
}

/// How the session is shown.
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// Print a textual summary instead of opening a window (automatic without a display).
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds (headless default: 10 for the demo, until Ctrl-C for live).
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Name of the LSL marker stream for decisions; `none` disables it.
    #[arg(long, default_value = "neuroloop-markers")]
    pub markers: String,
    /// Record the session to this XDF file: the raw EEG as received, every decision and every
    /// source event (written as it happens; a crash loses at most the last second).
    #[arg(long, value_name = "OUT.xdf")]
    pub record: Option<PathBuf>,
}

/// Training-free SSVEP methods of the online sliding-window decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnlineSsvepMethod {
    /// Canonical correlation analysis on one band.
    Cca,
    /// Filter-bank CCA (Chen et al. 2015).
    Fbcca,
}

/// SSVEP decoder options.
#[derive(Debug, Clone, Args)]
pub struct SsvepArgs {
    /// Target frequencies in Hz, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = [7.0, 8.5, 12.0, 15.0])]
    pub targets: Vec<f64>,
    /// Analysis window.
    #[arg(long, default_value_t = 2.0)]
    pub window_secs: f64,
    /// Time between decisions.
    #[arg(long, default_value_t = 0.2)]
    pub step_secs: f64,
    /// Harmonics in the references.
    #[arg(long, default_value_t = 3)]
    pub harmonics: usize,
    /// Decoding method: fbcca (filter-bank CCA, Chen et al. 2015) or cca (one band).
    #[arg(long = "ssvep-method", value_enum, default_value_t = OnlineSsvepMethod::Fbcca)]
    pub ssvep_method: OnlineSsvepMethod,
    /// Sub-bands of FBCCA.
    #[arg(long, default_value_t = 5)]
    pub sub_bands: usize,
    /// Decode onset-locked with this fitted TRCA model (`neuroloop ssvep fit`) or network
    /// (its card, e.g. `assets/models/ssvep-net.toml`) instead of the sliding-window CCA;
    /// trials start at the speller's flicker onsets (or, on the simulator and in replays, at
    /// the recorded onset markers).
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    pub ssvep_model: Option<PathBuf>,
    /// Relative margin of the best over the second TRCA score (or network probability) that
    /// stops a trial early.
    #[arg(long, default_value_t = 0.2)]
    pub trca_margin: f64,
    /// Channels to decode from, by label (default: parietal and occipital channels).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    pub decode_channels: Vec<String>,
}

/// Motor-imagery decoder options.
#[derive(Debug, Clone, Args)]
pub struct MiArgs {
    /// Decode motor imagery with this fitted model (written by `neuroloop mi fit` or
    /// `neuroloop eval mi --save-model`), or with the network of this model card (`.toml`,
    /// e.g. assets/models/mi-net.toml), instead of SSVEP.
    #[arg(long, value_name = "MODEL.json")]
    pub mi_model: Option<PathBuf>,
    /// Time between motor-imagery decisions.
    #[arg(long, default_value_t = 0.25)]
    pub mi_step_secs: f64,
}

/// Options of `neuroloop sleep`.
#[derive(Debug, Clone, Args)]
pub struct SleepArgs {
    #[command(flatten)]
    view: ViewArgs,
    /// Read this LSL EEG stream instead of the simulator.
    #[arg(long, conflicts_with = "replay")]
    stream: Option<String>,
    /// Replay this recording (XDF, EDF/BDF) instead of the simulator.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay or simulation speed: 1 (real time), N, or max.
    #[arg(long, default_value = "1")]
    speed: String,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Channel for spindle detection.
    #[arg(long, default_value = "Cz", value_name = "LABEL")]
    spindle_channel: String,
    /// Spindle detector: the A7-style rules or the neural model.
    #[arg(long, value_enum, default_value_t = SpindleDetectorArg::A7)]
    spindle_detector: SpindleDetectorArg,
    /// Model card of the neural spindle detector (default: the shipped
    /// assets/models/spindle-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    spindle_model: Option<PathBuf>,
    /// Channel for slow-oscillation tracking (and artefact watch).
    #[arg(long, default_value = "Fz", value_name = "LABEL")]
    so_channel: String,
    /// Slow-oscillation phase to hit, degrees (0 = up-state peak).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    so_target_deg: f64,
    /// Output latency the slow-oscillation trigger anticipates, ms.
    #[arg(long, default_value_t = 50.0)]
    lookahead_ms: f64,
    /// What triggers a burst.
    #[arg(long, value_enum, default_value_t = StimOnArg::So)]
    stim_on: StimOnArg,
    /// Log stimuli (markers, recording) without playing sound.
    #[arg(long)]
    dry_run: bool,
    /// Burst amplitude (full scale 1.0).
    #[arg(long, default_value_t = 0.1)]
    volume: f32,
    /// Hard cap on the audio output (full scale 1.0).
    #[arg(long, default_value_t = 0.5)]
    volume_cap: f32,
    /// Least time between bursts, s.
    #[arg(long, default_value_t = 2.5)]
    min_interval_secs: f64,
    /// Most bursts in any minute.
    #[arg(long, default_value_t = 12)]
    max_per_min: usize,
    /// Amplitude on the slow-oscillation channel taken as an artefact or arousal (µV);
    /// stimulation pauses 5 s after one.
    #[arg(long, default_value_t = 300.0)]
    artifact_uv: f64,
    /// Burst length, ms (5 ms raised-cosine ramps).
    #[arg(long, default_value_t = 50.0)]
    burst_ms: f64,
    /// Fault injection for testing: the audio output fails this many seconds after it starts,
    /// as an unplugged device would.
    #[arg(long, hide = true)]
    audio_fail_after_secs: Option<f64>,
    /// Power-line frequency to notch (with harmonics); 0 disables.
    #[arg(long, default_value_t = 50.0)]
    notch_hz: f64,
    /// High-pass cutoff (low enough to keep slow oscillations); 0 disables.
    #[arg(long, default_value_t = 0.1)]
    highpass_hz: f64,
}

/// What triggers a burst in `neuroloop sleep`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StimOnArg {
    /// Slow-oscillation phase triggers.
    So,
    /// Spindle onsets.
    Spindle,
    /// Nothing: detection only.
    None,
}

/// Sleep decoder options of `demo`, `run` and `replay` (`neuroloop sleep` has its own).
#[derive(Debug, Clone, Args)]
pub struct SleepDecoderArgs {
    /// Detect sleep spindles (causal A7-style detector) instead of decoding SSVEP.
    #[arg(long)]
    pub spindles: bool,
    /// Channel the spindle detector watches (default: the stream's first channel).
    #[arg(long, value_name = "LABEL")]
    pub spindle_channel: Option<String>,
    /// Spindle detector: the A7-style rules or the neural model.
    #[arg(long, value_enum, default_value_t = SpindleDetectorArg::A7)]
    pub spindle_detector: SpindleDetectorArg,
    /// Model card of the neural spindle detector (default: the shipped
    /// assets/models/spindle-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    pub spindle_model: Option<PathBuf>,
    /// Fire phase-locked slow-oscillation triggers (with or instead of --spindles).
    #[arg(long)]
    pub so_triggers: bool,
    /// Channel the slow-oscillation trigger watches (default: the stream's first channel).
    #[arg(long, value_name = "LABEL")]
    pub so_channel: Option<String>,
    /// Slow-oscillation phase to target, degrees (0 = up-state peak).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub so_target_deg: f64,
}

/// `neuroloop ssvep` subcommands.
#[derive(Debug, Subcommand)]
pub enum SsvepCommand {
    /// Fit an onset-locked (ensemble) TRCA decoder with dynamic stopping from calibration
    /// recordings (a cued `neuroloop speller --phrase … --record` session, or a `--record`ed
    /// simulator session): one model per window length, each cross-validated; saved as JSON for
    /// `--ssvep-model`.
    Fit(SsvepFitArgs),
}

/// Options of `neuroloop ssvep fit`.
#[derive(Debug, Clone, Args)]
pub struct SsvepFitArgs {
    /// Calibration recordings.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// Where to save the model.
    #[arg(long, value_name = "MODEL.json")]
    out: PathBuf,
    /// Window lengths (checkpoints of dynamic stopping), seconds.
    #[arg(long, value_delimiter = ',', default_values_t = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0])]
    windows_secs: Vec<f64>,
    /// Visual latency: windows start this long after the flicker onset.
    #[arg(long, default_value_t = 0.14)]
    latency_secs: f64,
    /// Plain TRCA (one filter per target) instead of ensemble TRCA.
    #[arg(long)]
    plain: bool,
    /// Channels to use, by label (default: parietal and occipital channels).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    channels: Vec<String>,
}

/// `neuroloop mi` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum MiCommand {
    /// Fit a motor-imagery decoder from calibration recordings (XDF/EDF with
    /// `<prefix>/mi class=NAME` cue markers, e.g. a `--record`ed simulator session), report
    /// its cross-validated accuracy and save it.
    Fit(MiFitArgs),
    /// The motor-imagery paradigm in a window: a cued calibration run (fixation, cue arrow,
    /// imagery, randomised rest) recorded with markers, the decoder fitted from it, then online
    /// feedback (a cursor driven by the decoder) with the accuracy shown. On the simulator
    /// (default; the simulated subject imagines what the cue says) or an LSL stream.
    Session(MiSessionArgs),
}

/// How calibration trials are cut and which decoders are tried.
#[derive(Debug, Clone, Args)]
pub struct MiFitOptions {
    /// Methods to cross-validate; the most accurate is saved.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [MiMethodArg::CspLda, MiMethodArg::TsLr, MiMethodArg::Mdm, MiMethodArg::FbcspLda])]
    method: Vec<MiMethodArg>,
    /// Channels to use, by label (default: every channel of the first recording).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    channels: Vec<String>,
    /// Band-pass, low and high edge in Hz.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [8.0, 30.0])]
    band_hz: Vec<f64>,
    /// Window length (also the online decision window).
    #[arg(long, default_value_t = 2.0)]
    window_secs: f64,
    /// Window start after each cue.
    #[arg(long, default_value_t = 0.5)]
    cue_offset_secs: f64,
}

impl MiFitOptions {
    fn cut(&self) -> CalibrationCut {
        CalibrationCut {
            channels: self.channels.clone(),
            band_hz: (self.band_hz[0], self.band_hz[1]),
            window_secs: self.window_secs,
            cue_offset_secs: self.cue_offset_secs,
            sub_bands: Vec::new(),
        }
    }

    fn methods(&self) -> Vec<MiMethod> {
        self.method.iter().map(|&m| m.into()).collect()
    }
}

/// Options of `neuroloop mi fit`.
#[derive(Debug, Clone, Args)]
pub struct MiFitArgs {
    /// Calibration recordings.
    #[arg(required = true)]
    recordings: Vec<PathBuf>,
    /// Where to save the model.
    #[arg(long, value_name = "MODEL.json")]
    out: PathBuf,
    #[command(flatten)]
    fit: MiFitOptions,
}

/// Options of `neuroloop mi session`.
#[derive(Debug, Clone, Args)]
pub struct MiSessionArgs {
    /// Classes to cue: left_hand, right_hand, feet, rest.
    #[arg(long, value_delimiter = ',', default_values_t = ["left_hand".to_string(), "right_hand".to_string()])]
    classes: Vec<String>,
    /// Calibration trials per class (none with --mi-model: feedback only).
    #[arg(long, default_value_t = 20)]
    calibration_trials: usize,
    /// Feedback trials per class (0: stop after fitting).
    #[arg(long, default_value_t = 10)]
    feedback_trials: usize,
    /// Skip calibration and give feedback with this fitted model (`neuroloop mi fit` or an
    /// earlier session's model.json).
    #[arg(long, value_name = "MODEL.json")]
    mi_model: Option<PathBuf>,
    /// Folder for calibration.xdf, model.json and feedback.xdf.
    #[arg(long, default_value = "out/mi-session")]
    out: PathBuf,
    /// Fixation cross before each cue.
    #[arg(long, default_value_t = 2.0)]
    fixation_secs: f64,
    /// How long the cue arrow shows.
    #[arg(long, default_value_t = 1.25)]
    cue_secs: f64,
    /// Imagery period from the cue.
    #[arg(long, default_value_t = 4.0)]
    imagery_secs: f64,
    /// Rest after imagery, drawn uniformly between these two lengths (`LOW,HIGH`).
    #[arg(long, value_delimiter = ',', default_values_t = [1.5, 2.5])]
    rest_secs: Vec<f64>,
    #[command(flatten)]
    fit: MiFitOptions,
    /// Time between decisions during feedback.
    #[arg(long, default_value_t = 0.25)]
    mi_step_secs: f64,
    /// Read this LSL stream instead of the simulator.
    #[arg(long)]
    stream: Option<String>,
    /// Seed of the simulator and of the trial order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// LSL marker stream for decisions and paradigm events (`none` to disable).
    #[arg(long, default_value = "neuroloop-markers")]
    markers: String,
    /// Close the window once feedback is over (default: stay open showing the results).
    #[arg(long)]
    close_when_done: bool,
    /// Save a PNG of the window to this file (after --screenshot-after seconds).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    /// When to take the --screenshot, in seconds from the first frame.
    #[arg(long, default_value_t = 2.0)]
    screenshot_after: f64,
}

/// Front-end filter options.
#[derive(Debug, Clone, Args)]
pub struct FrontEndArgs {
    /// Power-line frequency to notch (with harmonics); 0 disables.
    #[arg(long, default_value_t = 50.0)]
    pub notch_hz: f64,
    /// High-pass cutoff; 0 disables.
    #[arg(long, default_value_t = 1.0)]
    pub highpass_hz: f64,
    /// Re-reference to the common average.
    #[arg(long)]
    pub car: bool,
}

impl FrontEndArgs {
    fn front_end(&self) -> FrontEnd {
        FrontEnd {
            highpass_hz: (self.highpass_hz > 0.0).then_some(self.highpass_hz),
            notch_hz: (self.notch_hz > 0.0).then_some(self.notch_hz),
            common_average: self.car,
        }
    }
}

/// Options of `neuroloop demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    view: ViewArgs,
    /// Simulated channels (8: a standard cap; up to 64 use 10-10 labels).
    #[arg(long, default_value_t = 8)]
    channels: usize,
    /// Simulated sampling rate.
    #[arg(long, default_value_t = 250.0)]
    rate_hz: f64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Delivery speed: 1 (real time), N (N times faster) or max.
    #[arg(long, default_value = "1")]
    speed: String,
    /// What the simulated subject does: ssvep (default) or mi (cued left/right-hand imagery;
    /// the default with --mi-model). Record an mi session to calibrate with `neuroloop mi fit`.
    #[arg(long, value_enum)]
    scenario: Option<ScenarioArg>,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = 3.0)]
    ssvep_uv: f64,
    #[command(flatten)]
    ssvep: SsvepArgs,
    #[command(flatten)]
    mi: MiArgs,
    #[command(flatten)]
    sleep: SleepDecoderArgs,
    #[command(flatten)]
    front_end: FrontEndArgs,
}

/// Options of `neuroloop speller`.
#[derive(Debug, Clone, Args)]
pub struct SpellerArgs {
    /// Target frequencies in Hz (default: the 40-target benchmark set, 8.0-15.8 Hz in 0.2 Hz
    /// steps, phases in 0.5 pi steps, 5 x 8 keys).
    #[arg(long, value_delimiter = ',')]
    targets: Vec<f64>,
    /// Keys of custom targets, one character each, in target order (`<` is backspace).
    #[arg(long, default_value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.<")]
    keys: String,
    /// Phase step between consecutive custom targets, in units of pi.
    #[arg(long, default_value_t = 0.5)]
    phase_step_pi: f64,
    /// Cue-guided spelling of this phrase (copy spelling, or calibration with --calibrate);
    /// free spelling without it. `<` cues backspace.
    #[arg(long)]
    phrase: Option<String>,
    /// Calibration: every flicker of the cued --phrase runs its full --stim-secs (no early
    /// stop), for `neuroloop ssvep fit` on the --record'ed session.
    #[arg(long)]
    calibrate: bool,
    /// Cue (gaze shift) before each flicker.
    #[arg(long, default_value_t = 1.0)]
    cue_secs: f64,
    /// Longest flicker; a confident decision stops it earlier.
    #[arg(long, default_value_t = 4.0)]
    stim_secs: f64,
    /// Decoder window (decisions use windows lying entirely inside the flicker).
    #[arg(long, default_value_t = 2.0)]
    window_secs: f64,
    /// Relative margin of the best over the second FBCCA score that counts as confident
    /// (dynamic stopping).
    #[arg(long, default_value_t = 0.3)]
    min_margin: f64,
    /// Decode with this onset-locked TRCA model (`neuroloop ssvep fit` on a cued session with
    /// the same targets) or network card with the same targets instead of FBCCA.
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    ssvep_model: Option<PathBuf>,
    /// Relative margin of the best over the second TRCA score (or network probability) that
    /// stops a flicker early.
    #[arg(long, default_value_t = 0.2)]
    trca_margin: f64,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = 3.0)]
    ssvep_uv: f64,
    /// Read this LSL stream instead of the simulator.
    #[arg(long)]
    stream: Option<String>,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Record the session (EEG, decisions, speller markers, frame times) to this XDF file.
    #[arg(long)]
    record: Option<PathBuf>,
    /// LSL marker stream for decisions and speller events (`none` to disable).
    #[arg(long, default_value = "neuroloop-markers")]
    markers: String,
    /// Save a PNG of the window to this file (after --screenshot-after seconds).
    #[arg(long, value_name = "FILE.png")]
    screenshot: Option<PathBuf>,
    /// When to take the --screenshot, in seconds from the first frame.
    #[arg(long, default_value_t = 2.0)]
    screenshot_after: f64,
}

/// Options of `neuroloop run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    view: ViewArgs,
    /// Name of the LSL stream to read (default: the first stream of the given type).
    #[arg(long)]
    stream: Option<String>,
    /// Type of the LSL stream to read.
    #[arg(long = "type", default_value = "EEG")]
    content_type: String,
    /// Seconds to wait for the stream at start-up.
    #[arg(long, default_value_t = 10.0)]
    resolve_timeout_secs: f64,
    #[command(flatten)]
    ssvep: SsvepArgs,
    #[command(flatten)]
    mi: MiArgs,
    #[command(flatten)]
    sleep: SleepDecoderArgs,
    #[command(flatten)]
    front_end: FrontEndArgs,
}

/// Options of `neuroloop replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording: .xdf (its EEG stream), .edf or .bdf.
    pub file: PathBuf,
    #[command(flatten)]
    view: ViewArgs,
    /// Delivery speed: 1 (real time, timestamps on the live clock), N (N times faster) or max
    /// (as fast as the pipeline goes, timestamps in file time; bit-reproducible).
    #[arg(long, default_value = "1")]
    speed: String,
    /// Channels to replay, by label (default: every channel at the file's main sampling rate).
    #[arg(long, value_delimiter = ',')]
    channels: Vec<String>,
    /// Also publish the replayed EEG as an LSL stream (default name `neuroloop-replay`), so
    /// other LSL tools see the file as a live amplifier; use with a paced --speed.
    #[arg(long, num_args = 0..=1, default_missing_value = "neuroloop-replay", value_name = "NAME")]
    lsl_outlet: Option<String>,
    #[command(flatten)]
    ssvep: SsvepArgs,
    #[command(flatten)]
    mi: MiArgs,
    #[command(flatten)]
    sleep: SleepDecoderArgs,
    #[command(flatten)]
    front_end: FrontEndArgs,
}

/// Data sets `neuroloop eval` knows.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// SSVEP decoders on the Kalunga SSVEP exoskeleton data set (CCA and FBCCA training-free,
    /// TRCA and ensemble TRCA leave one trial out within each session): accuracy and ITR per
    /// window length, beside numpy/scipy reference numbers on the same protocol.
    Ssvep(EvalSsvepArgs),
    /// Motor-imagery decoders on EEGMMIDB (imagined left vs right fist, runs 4, 8, 12):
    /// cross-validated accuracy and kappa, beside pyRiemann/scikit-learn on the same folds.
    Mi(EvalMiArgs),
    /// Sleep-spindle detection on the DREAMS spindles excerpts: per-excerpt and pooled
    /// precision/recall/F1 against each expert and the detection delay, beside YASA's
    /// `spindles_detect` and the database authors' detections.
    Spindles(EvalSpindlesArgs),
    /// Slow-oscillation phase targeting on the sleep recordings found (DREAMS excerpts, YASA's
    /// N3 sample): phase error of the causal triggers against an offline zero-phase reference.
    SoPhase(EvalSoPhaseArgs),
}

/// Options of `neuroloop eval so-phase`.
#[derive(Debug, Clone, Args)]
pub struct EvalSoPhaseArgs {
    /// The data folder holding `spindles_dreams/` and/or `sleep_yasa_samples/`.
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Phase to target, degrees (0 = up-state peak, -90 = rising zero crossing).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    target_deg: f64,
    /// Stimulation-path latency the trigger anticipates, s.
    #[arg(long, default_value_t = 0.0)]
    lookahead_secs: f64,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `neuroloop eval spindles`.
#[derive(Debug, Clone, Args)]
pub struct EvalSpindlesArgs {
    /// The DREAMS spindles folder (excerptN.txt, Visual_scoringK_excerptN.txt), or a data
    /// folder holding `spindles_dreams/`.
    #[arg(long, value_name = "DIR")]
    dreams: PathBuf,
    /// Detector to evaluate.
    #[arg(long, value_enum, default_value_t = SpindleDetectorArg::A7)]
    detector: SpindleDetectorArg,
    /// Model card of the neural detector (default: the shipped
    /// assets/models/spindle-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    model: Option<PathBuf>,
    /// Evaluate only these excerpts (comma-separated numbers).
    #[arg(long, value_delimiter = ',')]
    excerpts: Vec<u32>,
    /// Instead of evaluating, write the neural detector's front-end output for every excerpt
    /// into this folder (read by scripts/train/spindle_net.py).
    #[arg(long, value_name = "DIR")]
    dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Spindle detectors, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpindleDetectorArg {
    /// Causal A7-style detector (sigma power, relative power, covariance, correlation).
    A7,
    /// Neural detector: a small CNN (ONNX model with its card) on a causal front end.
    Onnx,
}

/// The model card `path` names, or the shipped spindle model's.
fn spindle_card(path: Option<&Path>) -> anyhow::Result<neuroloop_decoders::onnx::ModelCard> {
    use neuroloop_decoders::onnx::{ModelCard, SPINDLE_NET_CARD};
    Ok(path.map_or_else(|| ModelCard::shipped(SPINDLE_NET_CARD), ModelCard::read)?)
}

/// A spindle decoder on `channel` with the chosen detector (`model`: the neural detector's
/// card, default the shipped one).
pub(crate) fn spindle_decoder(
    channel: Option<String>,
    detector: SpindleDetectorArg,
    model: Option<&Path>,
) -> anyhow::Result<SpindleDecoder> {
    Ok(match detector {
        SpindleDetectorArg::A7 => SpindleDecoder::new(SpindleDecoderConfig {
            channel,
            ..SpindleDecoderConfig::default()
        }),
        SpindleDetectorArg::Onnx => {
            let card = spindle_card(model)?;
            let net = neuroloop_decoders::onnx::load_spindle_net(&card)?;
            SpindleDecoder::with_engine(channel, neuroloop_decoders::sleep::SpindleEngine::Net(net))
        }
    })
}

/// Motor-imagery methods, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MiMethodArg {
    /// Common spatial patterns + shrinkage LDA.
    CspLda,
    /// Riemannian tangent space + logistic regression.
    TsLr,
    /// Minimum distance to Riemannian class means.
    Mdm,
    /// Filter-bank CSP (4-40 Hz in 4-Hz bands) + feature selection + shrinkage LDA.
    FbcspLda,
}

impl From<MiMethodArg> for MiMethod {
    fn from(m: MiMethodArg) -> MiMethod {
        match m {
            MiMethodArg::CspLda => MiMethod::CspLda,
            MiMethodArg::TsLr => MiMethod::TsLr,
            MiMethodArg::Mdm => MiMethod::Mdm,
            MiMethodArg::FbcspLda => MiMethod::FbcspLda,
        }
    }
}

/// Motor-imagery methods `eval mi` scores: the fitted ones and the shipped network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalMiMethod {
    /// Common spatial patterns + shrinkage LDA.
    CspLda,
    /// Riemannian tangent space + logistic regression.
    TsLr,
    /// Minimum distance to Riemannian class means.
    Mdm,
    /// Filter-bank CSP (4-40 Hz in 4-Hz bands) + feature selection + shrinkage LDA.
    FbcspLda,
    /// The ONNX network of a model card (trained on the executed runs, scored on the
    /// imagined ones).
    Onnx,
}

impl EvalMiMethod {
    /// The fitted method, or `None` for the network.
    fn fitted(self) -> Option<MiMethod> {
        match self {
            EvalMiMethod::CspLda => Some(MiMethod::CspLda),
            EvalMiMethod::TsLr => Some(MiMethod::TsLr),
            EvalMiMethod::Mdm => Some(MiMethod::Mdm),
            EvalMiMethod::FbcspLda => Some(MiMethod::FbcspLda),
            EvalMiMethod::Onnx => None,
        }
    }
}

/// Options of `neuroloop eval mi`.
#[derive(Debug, Clone, Args)]
pub struct EvalMiArgs {
    /// One subject's folder of EEGMMIDB EDF files (S001R04.edf, S001R08.edf, S001R12.edf).
    #[arg(long, value_name = "DIR")]
    eegmmidb: PathBuf,
    /// Methods to evaluate.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EvalMiMethod::CspLda, EvalMiMethod::TsLr, EvalMiMethod::Mdm, EvalMiMethod::FbcspLda, EvalMiMethod::Onnx])]
    method: Vec<EvalMiMethod>,
    /// Card of the network `--method onnx` scores (default: the shipped mi-net).
    #[arg(long, value_name = "CARD.toml")]
    model: Option<PathBuf>,
    /// Also fit the best evaluated method on every trial and save it (a model file for
    /// `--mi-model`).
    #[arg(long, value_name = "MODEL.json")]
    save_model: Option<PathBuf>,
    /// Instead of evaluating, write the network trainer's input to this folder (executed runs
    /// for training, imagined runs as the app sees them; `scripts/train/mi_net.sh`).
    #[arg(long, value_name = "OUT")]
    dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Options of `neuroloop eval ssvep`.
#[derive(Debug, Clone, Args)]
pub struct EvalSsvepArgs {
    /// The data set's `npy` folder (`SESSION.npy` with `SESSION_events.csv`).
    #[arg(long, value_name = "DIR")]
    kalunga: PathBuf,
    /// Methods to evaluate (`onnx`: the network of `--model`, at its card's window).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [SsvepMethod::Cca, SsvepMethod::Fbcca, SsvepMethod::Trca, SsvepMethod::Etrca])]
    method: Vec<SsvepMethod>,
    /// Window lengths in seconds.
    #[arg(long, value_delimiter = ',', default_values_t = [1.0, 2.0, 3.0, 4.0])]
    window_secs: Vec<f64>,
    /// Card of the network `onnx` runs (default: the shipped assets/models/ssvep-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    model: Option<PathBuf>,
    /// Score `onnx` behind the live pipeline's default front end (50 Hz notch with harmonics,
    /// 1 Hz high-pass), which the network was not trained behind.
    #[arg(long)]
    front_end: bool,
    /// Write the network trainer's input (every trial's sub-band windows, `index.json`) to
    /// this folder instead of evaluating.
    #[arg(long, value_name = "DIR")]
    dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

/// Simulated paradigms.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ScenarioArg {
    /// Eyes-closed rest.
    Rest,
    /// Cued SSVEP trials.
    Ssvep,
    /// Cued left/right-hand motor imagery.
    Mi,
    /// Sleep with spindles and slow oscillations.
    Sleep,
}

/// Options of `neuroloop start`.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Settings profile (TOML) to load and save [default: ~/.config/neuroloop/profile.toml].
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Start the profile's session at once instead of waiting for the Start button.
    #[arg(long)]
    now: bool,
    /// Save a PNG of the window after a few seconds (with --now: of the running session).
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// Seconds before the screenshot.
    #[arg(long, default_value_t = 6.0)]
    screenshot_after_secs: f64,
}

/// Options of `neuroloop simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Publish on LSL (the output of this command).
    #[arg(long)]
    lsl: bool,
    /// Name of the EEG outlet.
    #[arg(long, default_value = "neuroloop-sim")]
    name: String,
    /// What the simulated subject does.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Ssvep)]
    scenario: ScenarioArg,
    /// Channels.
    #[arg(long, default_value_t = 8)]
    channels: usize,
    /// Sampling rate.
    #[arg(long, default_value_t = 250.0)]
    rate_hz: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long)]
    seconds: Option<f64>,
    /// SSVEP target frequencies in Hz (ssvep scenario).
    #[arg(long, value_delimiter = ',', default_values_t = [7.0, 8.5, 12.0, 15.0])]
    targets: Vec<f64>,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = 3.0)]
    ssvep_uv: f64,
}

/// Whether a window can be opened here.
pub fn display_available() -> bool {
    std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty())
        || std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty())
}

fn install_interrupt(stop: &Arc<AtomicBool>) {
    let flag = Arc::clone(stop);
    // A second handler cannot be installed; the first one keeps working, so ignore that case.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::Release));
}

fn ssvep_scenario(targets: &[f64], amplitude_uv: f64) -> SsvepScenario {
    SsvepScenario {
        amplitude_uv,
        targets: targets
            .iter()
            .enumerate()
            .map(|(i, &f)| SsvepTarget {
                freq_hz: f,
                phase_rad: (i as f64 * std::f64::consts::FRAC_PI_2) % std::f64::consts::TAU,
            })
            .collect(),
        ..SsvepScenario::default()
    }
}

fn ssvep_decoder(
    args: &SsvepArgs,
    scored: bool,
) -> (Box<dyn neuroloop_decoders::Decoder>, DecoderInfo) {
    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig {
        targets_hz: args.targets.clone(),
        harmonics: args.harmonics,
        window_secs: args.window_secs,
        step_secs: args.step_secs,
        channels: args.decode_channels.clone(),
        sub_bands: match args.ssvep_method {
            OnlineSsvepMethod::Cca => 0,
            OnlineSsvepMethod::Fbcca => args.sub_bands,
        },
        ..SsvepCcaConfig::default()
    });
    let truth = TruthMapping::ssvep_when(scored);
    let info = DecoderInfo::of(&decoder, truth);
    (Box::new(decoder), info)
}

/// The motor-imagery decoder of `--mi-model`: a fitted model file, or a network's card
/// (`.toml`).
fn mi_decoder(
    args: &MiArgs,
    path: &Path,
    scored: bool,
) -> anyhow::Result<(Box<dyn neuroloop_decoders::Decoder>, DecoderInfo)> {
    let cfg = MiDecoderConfig {
        step_secs: args.mi_step_secs,
        ..MiDecoderConfig::default()
    };
    let decoder = if is_card(path) {
        let card = neuroloop_decoders::onnx::ModelCard::read(path)?;
        MiDecoder::with_net(neuroloop_decoders::mi::MiNet::load(&card)?, cfg)
    } else {
        MiDecoder::new(MiModel::load(path)?, cfg)?
    };
    Ok(boxed_mi_decoder(decoder, scored))
}

fn boxed_mi_decoder(
    decoder: MiDecoder,
    scored: bool,
) -> (Box<dyn neuroloop_decoders::Decoder>, DecoderInfo) {
    let truth = if scored {
        TruthMapping::MiClassName
    } else {
        TruthMapping::None
    };
    let info = DecoderInfo::of(&decoder, truth);
    (Box::new(decoder), info)
}

/// The session's decoders: motor imagery with `--mi-model`, spindles with `--spindles` and/or
/// slow-oscillation triggers with `--so-triggers`, SSVEP otherwise. An `--ssvep-model` must
/// have been fitted for `simulated_targets` when given (the simulator's flickers).
fn session_decoders(
    ssvep: &SsvepArgs,
    mi: &MiArgs,
    sleep: &SleepDecoderArgs,
    scored: bool,
    simulated_targets: Option<&[f64]>,
) -> anyhow::Result<Vec<(Box<dyn neuroloop_decoders::Decoder>, DecoderInfo)>> {
    let any_sleep = sleep.spindles || sleep.so_triggers;
    if any_sleep && (mi.mi_model.is_some() || ssvep.ssvep_model.is_some()) {
        bail!(
            "--spindles/--so-triggers and --mi-model/--ssvep-model each choose the session's decoders: give one of them"
        );
    }
    let mut decoders: Vec<(Box<dyn neuroloop_decoders::Decoder>, DecoderInfo)> = Vec::new();
    if sleep.spindles {
        let decoder = spindle_decoder(
            sleep.spindle_channel.clone(),
            sleep.spindle_detector,
            sleep.spindle_model.as_deref(),
        )?;
        let info = DecoderInfo::of(&decoder, TruthMapping::None);
        decoders.push((Box::new(decoder), info));
    }
    if sleep.so_triggers {
        let decoder = SoDecoder::new(SoDecoderConfig {
            channel: sleep.so_channel.clone(),
            trigger: SoConfig {
                target_phase_deg: sleep.so_target_deg,
                ..SoConfig::default()
            },
        });
        let info = DecoderInfo::of(&decoder, TruthMapping::None);
        decoders.push((Box::new(decoder), info));
    }
    if any_sleep {
        return Ok(decoders);
    }
    Ok(vec![match (&mi.mi_model, &ssvep.ssvep_model) {
        (Some(_), Some(_)) => {
            bail!(
                "--mi-model and --ssvep-model each choose the session's decoder: give one of them"
            )
        }
        (Some(path), None) => mi_decoder(mi, path, scored)?,
        (None, Some(path)) => {
            let decoder = load_onset_decoder(path, ssvep.trca_margin)?;
            if let Some(simulated) = simulated_targets
                && !same_frequencies(decoder.targets_hz(), simulated)
            {
                bail!(
                    "the SSVEP model was fitted for targets {:?} Hz but the simulator flickers {simulated:?} Hz: pass the model's frequencies with --targets",
                    decoder.targets_hz()
                );
            }
            let truth = TruthMapping::ssvep_when(scored);
            let info = DecoderInfo::of(&decoder, truth);
            (Box::new(decoder), info)
        }
        (None, None) => ssvep_decoder(ssvep, scored),
    }])
}

/// Whether `path` names a model card (`.toml`) rather than a fitted model file.
fn is_card(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// Whether two target-frequency lists are the same targets (within 1 mHz each).
pub(crate) fn same_frequencies(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && !a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-3)
}

/// The onset-locked decoder of `--ssvep-model`: TRCA from a fitted model file, or the network
/// a card describes.
pub(crate) fn load_onset_decoder(
    path: &Path,
    margin: f64,
) -> anyhow::Result<neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder> {
    use neuroloop_decoders::ssvep::onset::{SsvepOnsetDecoder, SsvepTrcaModel};
    Ok(if is_card(path) {
        let card = neuroloop_decoders::onnx::ModelCard::read(path)?;
        SsvepOnsetDecoder::net(neuroloop_decoders::ssvep::SsvepNet::load(&card)?, margin)
    } else {
        SsvepOnsetDecoder::trca(SsvepTrcaModel::load(path)?, margin)?
    })
}

fn ssvep_fit(args: &SsvepFitArgs) -> anyhow::Result<()> {
    use neuroloop_decoders::ssvep::onset::TrcaFitConfig;
    let cfg = TrcaFitConfig {
        windows_secs: args.windows_secs.clone(),
        latency_secs: args.latency_secs,
        ensemble: !args.plain,
        ..TrcaFitConfig::default()
    };
    let model = crate::speller::fit::fit_recordings(&args.recordings, &args.channels, &cfg)?;
    println!(
        "{} targets ({:?} Hz), channels {}, {} calibration trials per target (min), {}",
        model.targets_hz.len(),
        model.targets_hz,
        model.channels.join(","),
        model.trials_per_class.iter().min().unwrap_or(&0),
        if model.ensemble {
            "ensemble TRCA"
        } else {
            "TRCA"
        }
    );
    println!("window   cross-validated accuracy (5 folds)");
    for cp in &model.checkpoints {
        println!(
            "{:>5.2} s  {}",
            cp.window_secs,
            cp.cv_accuracy.map_or_else(
                || "- (too few trials)".to_string(),
                |a| format!("{:.1} %", 100.0 * a)
            )
        );
    }
    model.save(&args.out)?;
    println!("saved {}", args.out.display());
    Ok(())
}

fn markers(view: &ViewArgs) -> OutputConfig {
    OutputConfig {
        marker_stream: (!view.markers.eq_ignore_ascii_case("none")).then(|| view.markers.clone()),
        record: view.record.clone(),
        ..OutputConfig::default()
    }
}

/// Runs a session to its end: in a window, or headless until the source ends, the duration
/// elapses or Ctrl-C; then prints the report.
fn drive(
    cfg: SessionConfig,
    view: &ViewArgs,
    label: &str,
    default_secs: Option<f64>,
) -> anyhow::Result<SessionReport> {
    let clocked = cfg.source.is_clocked();
    let headless = view.headless || !display_available();
    let cfg = SessionConfig {
        with_scope: !headless,
        ..cfg
    };
    let session = Session::start(cfg)?;
    if headless {
        let stop = Arc::new(AtomicBool::new(false));
        install_interrupt(&stop);
        let limit = view.seconds.or(default_secs);
        let mut progress = Progress::new(session.total_frames, session.meta.sample_rate_hz);
        while !stop.load(Ordering::Acquire) && !session.source_finished() {
            if limit.is_some_and(|l| session.elapsed_secs() >= l) {
                break;
            }
            progress.show(session.stats.ring.frames_in.load(Ordering::Relaxed));
            std::thread::sleep(Duration::from_millis(20));
        }
        progress.finish();
        let mut session = session;
        let outcome = session.stop_in_place();
        return Ok(SessionReport::build(&session, &outcome, label, clocked));
    }
    let sink = Arc::new(Mutex::new(None));
    // Recordings started in the window go beside the --record file, if one was given.
    let record_dir = session
        .record_path
        .as_ref()
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("recordings"), Path::to_path_buf);
    let view_app =
        crate::gui::LiveView::new(session, label.to_string(), clocked, Arc::clone(&sink))
            .with_record_dir(record_dir);
    run_window(
        "neuroloop",
        &format!("neuroloop — {label}"),
        [1200.0, 720.0],
        view_app,
    )
    .map_err(|e| {
        anyhow::anyhow!(
            "the window failed: {e}; use --headless on machines without a working display"
        )
    })?;
    let report = sink
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .context("the window closed before the session reported")?;
    Ok(report)
}

/// Progress of a file replay on stderr: a bar redrawn in place on a terminal, a line every
/// 10 % otherwise. Silent for sources of unknown length and for short files.
struct Progress {
    total: u64,
    rate_hz: f64,
    terminal: bool,
    last_decile: u64,
    last_draw: std::time::Instant,
    drawn: bool,
}

impl Progress {
    fn new(total_frames: Option<u64>, rate_hz: f64) -> Progress {
        use std::io::IsTerminal as _;
        // Files under a minute of data finish before a bar is worth reading.
        let total = total_frames
            .filter(|&t| t as f64 / rate_hz >= 60.0)
            .unwrap_or(0);
        Progress {
            total,
            rate_hz,
            terminal: std::io::stderr().is_terminal(),
            last_decile: 0,
            last_draw: std::time::Instant::now(),
            drawn: false,
        }
    }

    fn show(&mut self, frames: u64) {
        if self.total == 0 {
            return;
        }
        let frac = (frames as f64 / self.total as f64).min(1.0);
        let minutes = |f: u64| f as f64 / self.rate_hz / 60.0;
        if self.terminal {
            if self.last_draw.elapsed() < Duration::from_millis(200) {
                return;
            }
            self.last_draw = std::time::Instant::now();
            let filled = (frac * 30.0) as usize;
            eprint!(
                "\rreplay [{}{}] {:5.1} % ({:.1} of {:.1} min)",
                "#".repeat(filled),
                " ".repeat(30 - filled),
                100.0 * frac,
                minutes(frames),
                minutes(self.total)
            );
            self.drawn = true;
        } else {
            let decile = (frac * 10.0) as u64;
            if decile > self.last_decile {
                self.last_decile = decile;
                eprintln!(
                    "replay {:3} % ({:.1} of {:.1} min)",
                    decile * 10,
                    minutes(frames),
                    minutes(self.total)
                );
            }
        }
    }

    fn finish(&mut self) {
        if self.drawn {
            eprintln!();
        }
    }
}

/// Prints the session's report; a recording that holds fewer frames than the session processed
/// (its disk filled up or stalled) then fails the command, so scripts notice.
fn print_report(report: &SessionReport, json: bool) -> anyhow::Result<()> {
    print_json_or_text(report, json, SessionReport::to_text)?;
    // Files started or stopped in the window hold part of the session by design.
    if let Some(rec) = report
        .recordings
        .iter()
        .find(|r| r.whole_session && r.frames < report.frames_processed)
    {
        bail!(
            "the recording {} holds {} of the {} frames processed (the report's errors say why); what it holds is readable",
            rec.path,
            rec.frames,
            report.frames_processed
        );
    }
    Ok(())
}

/// Prints `value` as pretty JSON, or as the text `to_text` makes of it.
fn print_json_or_text<T: serde::Serialize>(
    value: &T,
    json: bool,
    to_text: impl FnOnce(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", to_text(value));
    }
    Ok(())
}

fn demo(args: &DemoArgs) -> anyhow::Result<()> {
    let pacing = parse_speed(&args.speed)?;
    if args.channels == 0 {
        bail!("--channels must be at least 1");
    }
    let mi = args.mi.mi_model.is_some();
    let scenario_arg = args.scenario.unwrap_or(if mi {
        ScenarioArg::Mi
    } else {
        ScenarioArg::Ssvep
    });
    let (scenario, what) = match scenario_arg {
        ScenarioArg::Ssvep => (
            Scenario::Ssvep(ssvep_scenario(&args.ssvep.targets, args.ssvep_uv)),
            format!("SSVEP targets {:?} Hz", args.ssvep.targets),
        ),
        ScenarioArg::Mi => (
            Scenario::MotorImagery(MiScenario::default()),
            "left/right-hand motor imagery".to_string(),
        ),
        ScenarioArg::Rest => (Scenario::Rest, "rest".to_string()),
        ScenarioArg::Sleep => (
            Scenario::Sleep(SleepScenario::default()),
            "sleep".to_string(),
        ),
    };
    let sim = SimConfig {
        sample_rate_hz: args.rate_hz,
        channel_labels: SimConfig::labels_for(args.channels),
        seed: args.seed,
        scenario,
        ..SimConfig::default()
    };
    let label = format!(
        "simulator ({} ch @ {} Hz, {what}, seed {}, speed {})",
        args.channels, args.rate_hz, args.seed, args.speed
    );
    // Decisions are scored against the simulator's truth when decoder and scenario match.
    let scored = match scenario_arg {
        ScenarioArg::Ssvep => !mi,
        ScenarioArg::Mi => mi,
        _ => false,
    };
    let headless = args.view.headless || !display_available();
    let duration = if headless {
        args.view.seconds.or(Some(10.0))
    } else {
        args.view.seconds
    };
    // Duration is counted in simulated time so that max-speed runs stop at the same data.
    let cfg = SessionConfig {
        source: SourceSpec::Simulator {
            config: sim,
            pacing,
            chunk_frames: 0,
            duration_secs: duration,
            time_origin: None,
        },
        front_end: args.front_end.front_end(),
        decoders: session_decoders(
            &args.ssvep,
            &args.mi,
            &args.sleep,
            scored,
            Some(&args.ssvep.targets),
        )?,
        outputs: markers(&args.view),
        ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
        with_scope: false,
        stimulation: None,
    };
    let view = ViewArgs {
        seconds: None,
        ..args.view.clone()
    };
    let report = drive(cfg, &view, &label, None)?;
    print_report(&report, args.view.json)
}

fn speller(args: &SpellerArgs) -> anyhow::Result<()> {
    use crate::speller::SpellerLayout;
    use crate::speller::launch::{SpellerDecoder, SpellerSetup};
    if !display_available() {
        bail!("the speller needs a display (set DISPLAY, or run it under xvfb-run for a test)");
    }
    let layout = if args.targets.is_empty() {
        SpellerLayout::benchmark()
    } else {
        SpellerLayout::custom(
            &args.targets,
            args.phase_step_pi * std::f64::consts::PI,
            &args.keys,
        )?
    };
    let setup = SpellerSetup {
        timing: crate::speller::SpellerTiming {
            cue_secs: args.cue_secs,
            stim_secs: args.stim_secs,
            ..Default::default()
        },
        phrase: args.phrase.clone(),
        calibrate: args.calibrate,
        decoder: match &args.ssvep_model {
            Some(path) => SpellerDecoder::Model {
                path: path.clone(),
                margin: args.trca_margin,
            },
            None => SpellerDecoder::Fbcca {
                window_secs: args.window_secs,
                min_margin: args.min_margin,
            },
        },
        stream: args.stream.clone(),
        seed: args.seed,
        ssvep_uv: args.ssvep_uv,
        markers: (!args.markers.eq_ignore_ascii_case("none")).then(|| args.markers.clone()),
        record: args.record.clone(),
        ..SpellerSetup::new(layout)
    };
    let mut view = setup.start()?;
    if let Some(path) = &args.screenshot {
        view = view.with_screenshot(path.clone(), args.screenshot_after);
    }
    run_window(
        "neuroloop-speller",
        "neuroloop speller",
        [1280.0, 800.0],
        view,
    )
    .map_err(|e| anyhow::anyhow!("the speller window failed: {e}"))?;
    if let Some(path) = &args.record {
        println!("recorded to {}", path.display());
    }
    Ok(())
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    if args.ssvep.ssvep_model.is_some() {
        bail!(
            "--ssvep-model decodes trials from flicker onsets, which a bare LSL stream does not carry: run the stimulus with `neuroloop speller --stream NAME --ssvep-model MODEL.json`, which reports each onset to the decoder"
        );
    }
    let inlet = LslInletConfig {
        name: args.stream.clone(),
        content_type: Some(args.content_type.clone()),
        resolve_timeout_secs: args.resolve_timeout_secs,
        ..LslInletConfig::default()
    };
    let label = format!(
        "LSL stream {} (type {})",
        args.stream.as_deref().unwrap_or("(any)"),
        args.content_type
    );
    let source = SourceSpec::Lsl(inlet);
    decode_unscored(
        source,
        &args.ssvep,
        &args.mi,
        &args.sleep,
        &args.front_end,
        &args.view,
        &label,
    )
}

/// Runs the session's decoder on a source without ground truth (a live stream, a file) to
/// its end and prints the report.
fn decode_unscored(
    source: SourceSpec,
    ssvep: &SsvepArgs,
    mi: &MiArgs,
    sleep: &SleepDecoderArgs,
    front_end: &FrontEndArgs,
    view: &ViewArgs,
    label: &str,
) -> anyhow::Result<()> {
    let cfg = SessionConfig {
        source,
        front_end: front_end.front_end(),
        decoders: session_decoders(ssvep, mi, sleep, false, None)?,
        outputs: markers(view),
        ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
        with_scope: false,
        stimulation: None,
    };
    let report = drive(cfg, view, label, None)?;
    print_report(&report, view.json)
}

fn eval_ssvep(args: &EvalSsvepArgs) -> anyhow::Result<()> {
    use crate::eval::ssvep::{dump_net_features, evaluate_ssvep_net};
    use neuroloop_decoders::onnx::ModelCard;
    use neuroloop_decoders::ssvep::net::SSVEP_NET_CARD;
    if (args.model.is_some() || args.front_end) && !args.method.contains(&SsvepMethod::Onnx) {
        bail!("--model and --front-end are for the network: add onnx to --method");
    }
    let sessions = load_kalunga(&args.kalunga)?;
    if let Some(out) = &args.dump_features {
        let dump = dump_net_features(&sessions, out)?;
        println!(
            "wrote {} trials of {} sessions to {}",
            dump.trials.len(),
            sessions.len(),
            out.display()
        );
        return Ok(());
    }
    let trials: usize = sessions.iter().map(|s| s.trials.len()).sum();
    let mut results = Vec::new();
    for &method in &args.method {
        if method == SsvepMethod::Onnx {
            let card = args
                .model
                .as_deref()
                .map_or_else(|| ModelCard::shipped(SSVEP_NET_CARD), ModelCard::read)?;
            let front_end = args.front_end.then(FrontEnd::default);
            results.push(evaluate_ssvep_net(&sessions, &card, front_end.as_ref())?);
        } else {
            results.extend(evaluate_ssvep(&sessions, method, &args.window_secs)?);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!(
        "Kalunga SSVEP: {} sessions, {trials} trials (13/17/21 Hz, chance 33.3 %); ITR: Wolpaw, T = W + 0.5 s",
        sessions.len()
    );
    println!("method  window   accuracy   ITR (bits/min)   reference (numpy/scipy; onnx: FBCCA)");
    for r in &results {
        let reference = if let Some(fbcca) = r.fbcca_same_subjects {
            let subjects: Vec<&str> = r.subjects.keys().map(String::as_str).collect();
            format!(
                "FBCCA {:.1} % on the same held-out subjects ({}); the card's window, --window-secs does not apply",
                100.0 * fbcca,
                subjects.join(" ")
            )
        } else {
            reference_mean_accuracy(r.method, r.window_secs)
                .map_or_else(|| "-".to_string(), |a| format!("{:.1} %", 100.0 * a))
        };
        println!(
            "{:<7} {:>4.1} s   {:>6.1} %   {:>10.2}       {reference}",
            r.method.name(),
            r.window_secs,
            100.0 * r.mean_accuracy,
            r.mean_itr_bits_per_min
        );
    }
    Ok(())
}

fn eval_spindles(args: &EvalSpindlesArgs) -> anyhow::Result<()> {
    use crate::eval::spindles::{
        Detector, dump_features, evaluate_dreams_with, format_report, resolve_dreams_dir,
    };
    let dir = resolve_dreams_dir(&args.dreams);
    let detector = match args.detector {
        SpindleDetectorArg::A7 => Detector::A7(Default::default()),
        SpindleDetectorArg::Onnx => Detector::Net(Box::new(spindle_card(args.model.as_deref())?)),
    };
    if let Some(out) = &args.dump_features {
        let front_end = match &detector {
            Detector::Net(card) => card.spindle.map(|c| c.front_end).unwrap_or_default(),
            Detector::A7(_) => Default::default(),
        };
        let dump = dump_features(&dir, front_end, out)?;
        println!(
            "wrote the front end of {} excerpts to {}",
            dump.excerpts.len(),
            out.display()
        );
        return Ok(());
    }
    let only = (!args.excerpts.is_empty()).then_some(args.excerpts.as_slice());
    let report = evaluate_dreams_with(&dir, &detector, only)?;
    print_json_or_text(&report, args.json, format_report)
}

fn eval_so_phase(args: &EvalSoPhaseArgs) -> anyhow::Result<()> {
    use crate::eval::so_phase::{evaluate_so_phase, format_so_report};
    let config = SoConfig {
        target_phase_deg: args.target_deg,
        lookahead_secs: args.lookahead_secs,
        ..Default::default()
    };
    let report = evaluate_so_phase(&args.data, config)?;
    print_json_or_text(&report, args.json, format_so_report)
}

fn eval_mi(args: &EvalMiArgs) -> anyhow::Result<()> {
    if let Some(out) = &args.dump_features {
        let dump = crate::eval::mi::dump_net_features(&args.eegmmidb, out)?;
        for set in &dump.sets {
            println!(
                "{}: {} trials x {} channels x {} samples from {} -> {}",
                set.name,
                set.labels.len(),
                dump.protocol.channels.len(),
                set.samples,
                set.runs.join(", "),
                out.join(&set.file).display()
            );
        }
        return Ok(());
    }
    let fitted: Vec<MiMethod> = args.method.iter().filter_map(|m| m.fitted()).collect();
    let trials = MethodTrials::cut(&fitted, |bank| match bank {
        None => load_eegmmidb(&args.eegmmidb),
        Some(protocol) => {
            load_eegmmidb_with(&args.eegmmidb, &EEGMMIDB_RUNS, protocol, CUE_OFFSET_SECS)
        }
    })?;
    let data = &trials.single;
    let mut results = Vec::new();
    let mut net_result = None;
    for &m in &args.method {
        let m = match m.fitted() {
            Some(m) => m,
            None => {
                let run = || -> anyhow::Result<crate::eval::mi::MiNetEval> {
                    use neuroloop_decoders::mi::MiNet;
                    use neuroloop_decoders::onnx::ModelCard;
                    let card = match &args.model {
                        Some(p) => ModelCard::read(p)?,
                        None => ModelCard::shipped(neuroloop_decoders::mi::net::MI_NET_CARD)?,
                    };
                    let mut net = MiNet::load(&card)?;
                    let claimed = card.validation_number("accuracy_imagined");
                    crate::eval::mi::evaluate_mi_net(&args.eegmmidb, &mut net, claimed)
                };
                match run() {
                    Ok(r) => net_result = Some(r),
                    // Beside other methods, a network that cannot run here (no ONNX Runtime,
                    // no executed runs in the folder) is reported, not fatal.
                    Err(e) if args.method.len() > 1 => {
                        eprintln!("onnx skipped: {e:#}");
                    }
                    Err(e) => return Err(e),
                }
                continue;
            }
        };
        results.push(evaluate_mi(trials.for_method(m), m)?);
    }
    // The first of equally accurate methods, as `mi fit` chooses.
    let best = results
        .iter()
        .reduce(|a, b| if b.accuracy > a.accuracy { b } else { a })
        .map(|r| (r.method, r.accuracy));
    if args.json {
        let mut all: Vec<serde_json::Value> = results
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        if let Some(n) = &net_result {
            all.push(serde_json::to_value(n)?);
        }
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        let left = data.labels.iter().filter(|&&y| y == 0).count();
        println!(
            "EEGMMIDB imagined left vs right fist ({}): {} trials ({left} left, {} right; chance 50 %), \
             {} channels, {}-{} Hz, window {}-{} s after the cue, {} stratified folds",
            data.source,
            data.labels.len(),
            data.labels.len() - left,
            data.protocol.channels.len(),
            data.protocol.band_hz.0,
            data.protocol.band_hz.1,
            CUE_OFFSET_SECS,
            CUE_OFFSET_SECS + data.protocol.window_secs,
            crate::eval::mi::FOLDS,
        );
        println!(
            "method     accuracy   kappa   | reference (pyRiemann + scikit-learn)   same prediction"
        );
        for r in &results {
            let reference = mi_reference(r.method).filter(|(labels, _)| *labels == data.labels);
            let (ref_text, agree) = match &reference {
                Some((_, rf)) => (
                    format!("{:>6.1} %   {:>6.3}", 100.0 * rf.accuracy, rf.kappa),
                    format!(
                        "{}/{}",
                        rf.predictions
                            .iter()
                            .zip(&r.predictions)
                            .filter(|(a, b)| a == b)
                            .count(),
                        r.predictions.len()
                    ),
                ),
                None => ("-".into(), "-".into()),
            };
            println!(
                "{:<9} {:>6.1} %   {:>6.3}  | {ref_text:<38} {agree}",
                r.method.name(),
                100.0 * r.accuracy,
                r.kappa
            );
        }
        if let Some(n) = &net_result {
            println!(
                "{:<9} {:>6.1} %   {:>6.3}  | {} trained on the executed runs (R03, R07, R11), every imagined trial held out; card {}; CSP-LDA fitted the same way: {:.1} %",
                "onnx",
                100.0 * n.accuracy,
                n.kappa,
                n.model,
                n.card_accuracy
                    .map_or("-".to_string(), |a| format!("{:.1} %", 100.0 * a)),
                100.0 * n.csp_lda_transfer_accuracy
            );
        }
    }
    if let Some(path) = &args.save_model {
        let Some((method, accuracy)) = best else {
            bail!("--save-model needs at least one --method");
        };
        let model = fit_all(trials.for_method(method), method, Some(accuracy))?;
        model.save(path)?;
        if !args.json {
            println!(
                "saved {} fitted on all {} trials to {}",
                method.name(),
                data.labels.len(),
                path.display()
            );
        }
    }
    Ok(())
}

fn mi_fit(args: &MiFitArgs) -> anyhow::Result<()> {
    let cut = args.fit.cut();
    let FitOutcome {
        model,
        evaluations,
        skipped,
        trials: data,
    } = fit_best(&args.recordings, &cut, &args.fit.methods())?;
    println!(
        "{} trials ({}) from {}; {} channels at {} Hz, {}-{} Hz, window {}-{} s after the cue",
        data.labels.len(),
        trial_counts(&data),
        data.source,
        data.protocol.channels.len(),
        data.protocol.sample_rate_hz,
        cut.band_hz.0,
        cut.band_hz.1,
        cut.cue_offset_secs,
        cut.cue_offset_secs + cut.window_secs
    );
    if args.fit.methods().iter().any(|m| m.uses_filter_bank()) {
        println!(
            "fbcsp-lda reads the same windows band-passed into {:?} Hz instead",
            data.protocol.for_method(MiMethod::FbcspLda).sub_bands
        );
    }
    for (m, why) in &skipped {
        println!("{:<9} not fitted: {why}", m.name());
    }
    for r in &evaluations {
        println!(
            "{:<9} cross-validated accuracy {:>5.1} %  kappa {:.3}",
            r.method.name(),
            100.0 * r.accuracy,
            r.kappa
        );
    }
    let method = model.method;
    model.save(&args.out)?;
    println!(
        "saved {} fitted on all {} trials to {}",
        method.name(),
        data.labels.len(),
        args.out.display()
    );
    Ok(())
}

fn mi_session(args: &MiSessionArgs) -> anyhow::Result<()> {
    use crate::mi::paradigm::{ImageryTiming, parse_classes};
    use crate::mi::view::ImageryPlan;
    // Everything that can be checked is checked before the window opens.
    let classes = parse_classes(&args.classes).map_err(anyhow::Error::msg)?;
    let model = match &args.mi_model {
        Some(path) => Some(MiModel::load(path)?),
        None => None,
    };
    let [rest_low, rest_high] = args.rest_secs[..] else {
        bail!("--rest-secs takes two lengths, LOW,HIGH (e.g. 1.5,2.5)");
    };
    let plan = ImageryPlan {
        classes,
        timing: ImageryTiming {
            fixation_secs: args.fixation_secs,
            cue_secs: args.cue_secs,
            imagery_secs: args.imagery_secs,
            rest_secs: (rest_low, rest_high),
        },
        calibration_trials: args.calibration_trials,
        feedback_trials: args.feedback_trials,
        seed: args.seed,
        cut: args.fit.cut(),
        methods: args.fit.methods(),
        model_out: Some(args.out.join("model.json")),
        model,
        close_when_done: args.close_when_done,
    }
    .checked()?;
    if !display_available() {
        bail!(
            "the motor-imagery paradigm needs a display (set DISPLAY, or run it under xvfb-run for a test)"
        );
    }
    let mut view = crate::mi::launch::start(
        plan,
        crate::mi::launch::ImagerySource {
            stream: args.stream.clone(),
            seed: args.seed,
            markers: (!args.markers.eq_ignore_ascii_case("none")).then(|| args.markers.clone()),
            out: args.out.clone(),
            step_secs: args.mi_step_secs,
        },
    )?;
    if let Some(path) = &args.screenshot {
        view = view.with_screenshot(path.clone(), args.screenshot_after);
    }
    let report = Arc::new(Mutex::new(ImageryReport::default()));
    let shared = Arc::clone(&report);
    run_window(
        "neuroloop-mi",
        "neuroloop motor imagery",
        [1100.0, 800.0],
        ReportOnExit { view, shared },
    )
    .map_err(|e| anyhow::anyhow!("the motor-imagery window failed: {e}"))?;
    let report = report.lock().unwrap_or_else(|p| p.into_inner());
    for line in &report.lines {
        println!("{line}");
    }
    if let Some(e) = &report.error {
        println!("error: {e}");
        bail!("{e}");
    }
    Ok(())
}

/// Opens an eframe window (glow renderer) titled `title` running `app` until it closes.
fn run_window(
    app_id: &str,
    title: &str,
    size: [f32; 2],
    app: impl eframe::App + 'static,
) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size(size),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(app_id, options, Box::new(move |_| Ok(Box::new(app))))
}

/// What the motor-imagery window reported when it closed.
#[derive(Default)]
struct ImageryReport {
    lines: Vec<String>,
    error: Option<String>,
}

/// The motor-imagery window, copying its report out when it closes (printed by the command).
struct ReportOnExit {
    view: crate::mi::view::ImageryView,
    shared: Arc<Mutex<ImageryReport>>,
}

impl eframe::App for ReportOnExit {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        eframe::App::ui(&mut self.view, ui, frame);
    }

    fn on_exit(&mut self, gl: Option<&eframe::glow::Context>) {
        eframe::App::on_exit(&mut self.view, gl);
        *self.shared.lock().unwrap_or_else(|p| p.into_inner()) = ImageryReport {
            lines: self.view.report().to_vec(),
            error: self.view.error().map(str::to_string),
        };
    }
}

fn bench(quick: bool, only: &[String], out: &Path, wake: WakeLatency) -> anyhow::Result<()> {
    let report = crate::bench::run(quick, only, wake)?;
    if let Some(rss) = report.peak_rss_mib {
        println!("peak RSS {rss:.1} MiB");
    }
    let (json, plot) = crate::bench::write(&report, out)?;
    println!(
        "{} build on {} ({}); wrote {} and {}",
        report.build,
        report.machine,
        report.cpu_wake_latency,
        json.display(),
        plot.display()
    );
    Ok(())
}

fn soak(hours: f64, out: &Path) -> anyhow::Result<()> {
    if !(hours.is_finite() && hours > 0.0) {
        bail!("--soak-hours {hours}: give a positive number of hours, e.g. 8");
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("creating the bench folder {}", out.display()))?;
    let record = out.join("soak.xdf");
    let r = crate::bench::soak(hours, Some(&record))?;
    println!(
        "soak: {:.2} h of simulated sleep in {:.1} s ({:.0}x real time), {} frames dropped, {} decisions, {} stimuli (dry run)",
        r.data_hours, r.wall_secs, r.x_real_time, r.frames_dropped, r.decisions, r.stimuli
    );
    println!(
        "recording: {} ({} frames, {:.1} MiB)",
        record.display(),
        r.recorded_frames,
        r.recording_bytes as f64 / 1048576.0
    );
    let step = (r.samples.len() / 8).max(1);
    for p in r.samples.iter().step_by(step).chain(r.samples.last()) {
        println!("  {:>6.2} h  RSS {:>6.1} MiB", p.data_hours, p.rss_mib);
    }
    println!(
        "RSS growth from the first quarter to the end: {:+.2} MiB",
        r.rss_growth_mib
    );
    Ok(())
}

fn parse_speed(speed: &str) -> anyhow::Result<Pacing> {
    match Pacing::parse(speed) {
        Some(p) => Ok(p),
        None => bail!("--speed {speed}: use 1 (real time), a factor such as 10, or max"),
    }
}

fn sleep(args: &SleepArgs) -> anyhow::Result<()> {
    use crate::session::StimulationSpec;
    use crate::stimulation::{StimPolicy, StimTrigger};
    let pacing = parse_speed(&args.speed)?;
    let (source, label) = if let Some(path) = &args.replay {
        (
            SourceSpec::File {
                path: path.clone(),
                channels: Vec::new(),
                pacing,
                lsl_outlet: None,
            },
            format!("{} (speed {})", path.display(), args.speed),
        )
    } else if let Some(name) = &args.stream {
        (
            SourceSpec::Lsl(LslInletConfig {
                name: Some(name.clone()),
                ..LslInletConfig::default()
            }),
            format!("LSL stream {name}"),
        )
    } else {
        let headless = args.view.headless || !display_available();
        (
            SourceSpec::Simulator {
                config: SimConfig {
                    sample_rate_hz: 250.0,
                    channel_labels: SimConfig::labels_for(8),
                    seed: args.seed,
                    scenario: Scenario::Sleep(SleepScenario::default()),
                    ..SimConfig::default()
                },
                pacing,
                chunk_frames: 0,
                duration_secs: if headless {
                    args.view.seconds.or(Some(60.0))
                } else {
                    args.view.seconds
                },
                time_origin: None,
            },
            format!(
                "simulator (8 ch @ 250 Hz, sleep, seed {}, speed {})",
                args.seed, args.speed
            ),
        )
    };
    let spindles = spindle_decoder(
        Some(args.spindle_channel.clone()),
        args.spindle_detector,
        args.spindle_model.as_deref(),
    )?;
    let so = SoDecoder::new(SoDecoderConfig {
        channel: Some(args.so_channel.clone()),
        trigger: SoConfig {
            target_phase_deg: args.so_target_deg,
            lookahead_secs: args.lookahead_ms / 1000.0,
            ..SoConfig::default()
        },
    });
    let decoders: Vec<(Box<dyn neuroloop_decoders::Decoder>, DecoderInfo)> = vec![
        {
            let info = DecoderInfo::of(&spindles, TruthMapping::None);
            (Box::new(spindles), info)
        },
        {
            let info = DecoderInfo::of(&so, TruthMapping::None);
            (Box::new(so), info)
        },
    ];
    let trigger = match args.stim_on {
        StimOnArg::So => Some(StimTrigger::SlowOscillation),
        StimOnArg::Spindle => Some(StimTrigger::SpindleOnset),
        StimOnArg::None => None,
    };
    let stimulation = trigger.map(|trigger| StimulationSpec {
        policy: StimPolicy {
            trigger,
            min_interval_secs: args.min_interval_secs,
            max_per_minute: args.max_per_min,
            artifact_uv: args.artifact_uv,
            amplitude: args.volume,
            dry_run: args.dry_run,
            ..StimPolicy::default()
        },
        artifact_channel: Some(args.so_channel.clone()),
        audio: neuroloop_stimuli::device::AudioConfig {
            shape: neuroloop_stimuli::burst::BurstShape {
                duration_ms: args.burst_ms,
                amplitude: args.volume,
                ..Default::default()
            },
            volume_cap: args.volume_cap,
            // Spindle onsets are due as soon as they are declared: allow the output latency.
            max_late_secs: 0.1,
            fail_after_secs: args.audio_fail_after_secs,
            ..Default::default()
        },
    });
    if !(0.0..=1.0).contains(&args.volume_cap) || args.volume > args.volume_cap {
        bail!(
            "--volume {} must not exceed --volume-cap {}, which must be within 0..1 of full scale",
            args.volume,
            args.volume_cap
        );
    }
    let cfg = SessionConfig {
        source,
        front_end: FrontEnd {
            highpass_hz: (args.highpass_hz > 0.0).then_some(args.highpass_hz),
            notch_hz: (args.notch_hz > 0.0).then_some(args.notch_hz),
            common_average: false,
        },
        decoders,
        outputs: markers(&args.view),
        ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
        with_scope: false,
        stimulation,
    };
    let view = ViewArgs {
        seconds: if args.replay.is_none() && args.stream.is_none() {
            None
        } else {
            args.view.seconds
        },
        ..args.view.clone()
    };
    let report = drive(cfg, &view, &label, None)?;
    print_report(&report, args.view.json)
}

fn replay(args: &ReplayArgs) -> anyhow::Result<()> {
    let pacing = parse_speed(&args.speed)?;
    let label = format!("{} (speed {})", args.file.display(), args.speed);
    let source = SourceSpec::File {
        path: args.file.clone(),
        channels: args.channels.clone(),
        pacing,
        lsl_outlet: args.lsl_outlet.clone(),
    };
    decode_unscored(
        source,
        &args.ssvep,
        &args.mi,
        &args.sleep,
        &args.front_end,
        &args.view,
        &label,
    )
}

fn simulate(args: &SimulateArgs) -> anyhow::Result<()> {
    if !args.lsl {
        bail!("choose where the simulated stream goes: --lsl publishes it as an LSL outlet");
    }
    let scenario = match args.scenario {
        ScenarioArg::Rest => Scenario::Rest,
        ScenarioArg::Ssvep => Scenario::Ssvep(ssvep_scenario(&args.targets, args.ssvep_uv)),
        ScenarioArg::Mi => Scenario::MotorImagery(MiScenario::default()),
        ScenarioArg::Sleep => Scenario::Sleep(SleepScenario::default()),
    };
    let amp = VirtualAmplifier {
        sim: SimConfig {
            sample_rate_hz: args.rate_hz,
            channel_labels: SimConfig::labels_for(args.channels),
            seed: args.seed,
            scenario,
            ..SimConfig::default()
        },
        name: args.name.clone(),
        chunk_frames: 0,
        duration_secs: args.seconds,
        pacing: Pacing::REAL_TIME,
    };
    let stop = Arc::new(AtomicBool::new(false));
    install_interrupt(&stop);
    eprintln!(
        "publishing `{}` (type EEG, {} ch @ {} Hz) and `{}-truth` (Markers); Ctrl-C stops",
        args.name, args.channels, args.rate_hz, args.name
    );
    let summary = run_virtual_amplifier(&amp, &stop, |_, _, _| {})?;
    println!(
        "published {} frames and {} ground-truth markers",
        summary.frames, summary.truth_markers
    );
    Ok(())
}

fn start(args: &StartArgs, wake: WakeLatency) -> anyhow::Result<()> {
    use crate::launcher::{Launcher, Profile};
    if !display_available() {
        bail!(
            "the start screen needs a display (DISPLAY or WAYLAND_DISPLAY): run it on a desktop, under `xvfb-run`, or use the headless commands (`neuroloop demo --headless`, `neuroloop run`, `neuroloop replay`)"
        );
    }
    let path = args.profile.clone().unwrap_or_else(Profile::default_path);
    let (profile, problem) = match Profile::load(&path) {
        Ok(p) => (p, None),
        Err(e) => (Profile::default(), Some(error_text(&e))),
    };
    let mut launcher = Launcher::new(profile, path, true).with_wake_latency(wake);
    if let Some(problem) = problem {
        launcher.show_error(problem);
    }
    if args.now {
        launcher.start();
    }
    if let Some(shot) = &args.screenshot {
        launcher.screenshot(shot.clone(), args.screenshot_after_secs);
    }
    run_window("neuroloop", "neuroloop", [1280.0, 860.0], launcher)
        .map_err(|e| anyhow::anyhow!("the window could not open: {e}"))
}

fn streams(wait_secs: f64) -> anyhow::Result<()> {
    let list = list_streams(wait_secs)?;
    if list.is_empty() {
        println!("no LSL streams visible (waited {wait_secs} s)");
    }
    for s in list {
        println!(
            "{:<28} type={:<10} {:>3} ch  {:>8} Hz  host={}  source_id={}",
            s.name, s.content_type, s.channels, s.sample_rate_hz, s.hostname, s.source_id
        );
    }
    Ok(())
}

fn doctor(wake: WakeLatency) -> anyhow::Result<()> {
    println!(
        "LSL            liblsl {} (protocol {})",
        lsl::library_version(),
        lsl::protocol_version()
    );
    match std::env::var_os("LSLAPICFG") {
        Some(p) => println!(
            "               configuration {}",
            PathBuf::from(p).display()
        ),
        None => {
            println!("               configuration: liblsl defaults (set LSLAPICFG to use another)")
        }
    }
    match neuroloop_decoders::onnx::init() {
        Ok(info) => println!(
            "ONNX Runtime   {} ({})",
            info.path.display(),
            info.build_info
        ),
        Err(e) => println!("ONNX Runtime   NOT AVAILABLE: {e}"),
    }
    println!(
        "display        {}",
        if display_available() {
            "available (the demo opens a window)"
        } else {
            "none (the demo runs headless; use Xvfb for a virtual display)"
        }
    );
    println!(
        "CPU wake-up    {}",
        WakeLatencyHold::request(wake).describe()
    );
    Ok(())
}

/// The error and its causes on one line, leaving out a cause whose text the message before it
/// already contains (library errors often include their source in their own message).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// Entry point of the `neuroloop` binary: parses the command line, runs it, prints errors
/// with their causes and maps them to an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let _wake_hold = cli.command.runs_sessions().then(|| {
        let hold = WakeLatencyHold::request(cli.cpu_wake_latency);
        if let HoldStatus::Refused(why) = hold.status() {
            eprintln!("neuroloop: {why}");
        }
        hold
    });
    let result = match &cli.command {
        Command::Demo(a) => demo(a),
        Command::Speller(a) => speller(a),
        Command::Ssvep(SsvepCommand::Fit(a)) => ssvep_fit(a),
        Command::Run(a) => run(a),
        Command::Replay(a) => replay(a),
        Command::Eval(EvalCommand::Ssvep(a)) => eval_ssvep(a),
        Command::Eval(EvalCommand::Mi(a)) => eval_mi(a),
        Command::Eval(EvalCommand::Spindles(a)) => eval_spindles(a),
        Command::Sleep(a) => sleep(a),
        Command::Eval(EvalCommand::SoPhase(a)) => eval_so_phase(a),
        Command::Mi(MiCommand::Fit(a)) => mi_fit(a),
        Command::Mi(MiCommand::Session(a)) => mi_session(a),
        Command::Bench {
            soak_hours: Some(h),
            out,
            ..
        } => soak(*h, out),
        Command::Bench {
            quick, only, out, ..
        } => bench(*quick, only, out, cli.cpu_wake_latency),
        Command::Simulate(a) => simulate(a),
        Command::Start(a) => start(a, cli.cpu_wake_latency),
        Command::Streams { wait_secs } => streams(*wait_secs),
        Command::Doctor => doctor(cli.cpu_wake_latency),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("neuroloop: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}
