//! The command line, declared: every command, option and default. What they do is in the
//! sibling modules; the defaults of a paradigm's settings come from its spec
//! (`neuroloop_runtime::spec`), so `--help` shows what the code uses.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use neuroloop_runtime::FrontEnd;
use neuroloop_runtime::spec::{MiSpec, ParadigmSpec, SleepSpec, SsvepMethod, SsvepSpec, StimOn};
use neuroloop_runtime::wake_latency::WakeLatency;

/// neuroloop: real-time brain-computer interfaces on Lab Streaming Layer.
#[derive(Debug, Parser)]
#[command(name = "neuroloop", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole loop on the built-in simulator (no hardware needed): by default SSVEP
    /// trials simulated, filtered, decoded by filter-bank CCA and published as LSL markers
    /// (--paradigm chooses another). Opens a live window when a display is available,
    /// otherwise prints a summary.
    Demo(DemoArgs),
    /// Read a live LSL EEG stream: monitor it (default) or decode it (--paradigm) and publish
    /// the decisions as LSL markers.
    Run(RunArgs),
    /// The SSVEP speller window: the 40-target benchmark keyboard (or a custom set) flickering
    /// with JFPM codes sampled per frame, decoded by FBCCA with dynamic stopping; cued
    /// (--phrase) or free spelling, on the simulator (whose user looks where the cue says) or
    /// an LSL stream (--stream). Frames, cues and selections go to the markers and --record.
    Speller(SpellerArgs),
    /// Replay a recorded file (XDF, EDF/BDF, BrainVision .vhdr, GDF, EEGLAB .set, FIF)
    /// through the same pipeline as live data: monitor it (default) or decode it (--paradigm).
    Replay(ReplayArgs),
    /// Motor imagery: fit a decoder from calibration recordings, or run the cued paradigm.
    #[command(subcommand)]
    Mi(MiCommand),
    /// SSVEP: fit an onset-locked TRCA decoder from calibration recordings.
    #[command(subcommand)]
    Ssvep(SsvepCommand),
    /// Closed-loop sleep stimulation: live spindle detection and slow-oscillation phase
    /// tracking on the simulator (default), an LSL stream (--stream) or a file (--replay),
    /// with pink-noise bursts at the target phase (or spindle onsets) under safety limits;
    /// --dry-run logs stimuli without sound; an audio output that cannot start stops the
    /// command before any data flows (--allow-no-audio goes on as a dry run).
    Sleep(SleepArgs),
    /// Measure pipeline latency and throughput on this machine (figures printed and written
    /// as JSON and SVG; build with --release for representative numbers).
    Bench(BenchArgs),
    /// Evaluate decoders offline on a recorded data set, beside reference numbers.
    #[command(subcommand)]
    Eval(EvalCommand),
    /// Model cards of ONNX networks: check one before a session.
    #[command(subcommand)]
    Model(ModelCommand),
    /// Publish the simulator as an LSL EEG stream (a virtual amplifier), with its ground truth
    /// on a `<name>-truth` marker stream.
    Simulate(SimulateArgs),
    /// The start screen: choose the source (the simulator, an LSL stream listed live, a
    /// recording), the paradigm (monitor, SSVEP, sleep, the speller, motor imagery) and a
    /// settings profile, then run it in the same window. Needs a display.
    Start(StartArgs),
    /// List the LSL streams visible from this machine.
    Streams {
        /// Seconds to wait for streams to answer.
        #[arg(long, value_parser = positive_secs, default_value_t = 1.0)]
        wait_secs: f64,
    },
    /// Check the installation: LSL, ONNX Runtime, the display (by connecting to it), the audio
    /// output (by playing silence on it), CPU wake-up latency.
    Doctor {
        /// The wake-up latency to try holding.
        #[command(flatten)]
        wake: WakeArgs,
    },
}

/// How long idle processors may take to wake while a session runs.
#[derive(Debug, Clone, Args)]
pub struct WakeArgs {
    /// Longest CPU wake-up latency, in microseconds, allowed while a session runs (Linux PM
    /// QoS through /dev/cpu_dma_latency; idle cores stay ready instead of sleeping deeply,
    /// which shortens decisions after idle periods at the cost of power), or `off`.
    #[arg(long, value_name = "US|off", default_value_t = WakeLatency::default())]
    pub cpu_wake_latency: WakeLatency,
}

/// How the session is shown.
#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// Print a textual summary instead of opening a window (automatic without a display).
    #[arg(long)]
    pub headless: bool,
    /// Stop after this many seconds (headless default: 10 for the demo, until Ctrl-C for live).
    #[arg(long, value_parser = positive_secs)]
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
    #[command(flatten)]
    pub(crate) wake: WakeArgs,
}

/// Paradigms of `demo`, `run` and `replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParadigmArg {
    /// Traces, spectra and signal quality only (no decoder).
    Monitor,
    /// SSVEP decoding (FBCCA, CCA, or an onset-locked model).
    Ssvep,
    /// Motor-imagery decoding with a fitted model or network card (--mi-model).
    Mi,
    /// Spindle detection and slow-oscillation triggers (stimuli logged, not played; `neuroloop
    /// sleep` plays them).
    Sleep,
}

/// The paradigm and its settings.
#[derive(Debug, Clone, Args)]
pub struct ParadigmArgs {
    /// What runs on the samples [default: ssvep in the demo, monitor for run and replay]; any
    /// setting of a paradigm given below (--ssvep-model, --window-secs, --mi-model, --spindles,
    /// --spindle-channel, ...) chooses it too.
    #[arg(long, value_enum)]
    pub paradigm: Option<ParadigmArg>,
    #[command(flatten)]
    pub(crate) ssvep: SsvepArgs,
    #[command(flatten)]
    pub(crate) mi: MiArgs,
    #[command(flatten)]
    pub(crate) sleep: SleepDecoderArgs,
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
#[command(next_help_heading = "SSVEP (--paradigm ssvep)")]
pub struct SsvepArgs {
    /// Target frequencies in Hz, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = SsvepSpec::default().targets_hz)]
    pub targets: Vec<f64>,
    /// Analysis window.
    #[arg(long, value_parser = positive_secs, default_value_t = SsvepSpec::default().window_secs)]
    pub window_secs: f64,
    /// Time between decisions.
    #[arg(long, value_parser = positive_secs, default_value_t = SsvepSpec::default().step_secs)]
    pub step_secs: f64,
    /// Harmonics in the references.
    #[arg(long, default_value_t = SsvepSpec::default().harmonics)]
    pub harmonics: usize,
    /// Decoding method (help text: `ssvep_method_help`).
    #[arg(long = "ssvep-method", value_enum, help = ssvep_method_help())]
    pub ssvep_method: Option<OnlineSsvepMethod>,
    /// Sub-bands of FBCCA.
    #[arg(long, default_value_t = SsvepSpec::default().sub_bands)]
    pub sub_bands: usize,
    /// Decode onset-locked with this fitted TRCA model (`neuroloop ssvep fit`) or network
    /// (its card, e.g. `assets/models/ssvep-net.toml`) instead of the sliding-window CCA;
    /// trials start at the speller's flicker onsets (or, on the simulator and in replays, at
    /// the recorded onset markers). Implies --paradigm ssvep.
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    pub ssvep_model: Option<PathBuf>,
    /// Relative margin of the best over the second TRCA score (or network probability) that
    /// stops a trial early.
    #[arg(long, default_value_t = SsvepSpec::default().model_margin)]
    pub trca_margin: f64,
    /// Channels to decode from, by label (default: parietal and occipital channels).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    pub decode_channels: Vec<String>,
}

/// Motor-imagery decoder options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Motor imagery (--paradigm mi)")]
pub struct MiArgs {
    /// Decode motor imagery with this fitted model (written by `neuroloop mi fit` or
    /// `neuroloop eval mi --save-model`), or with the network of this model card (`.toml`,
    /// e.g. assets/models/mi-net.toml). Implies --paradigm mi.
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    pub mi_model: Option<PathBuf>,
    /// Time between motor-imagery decisions.
    #[arg(long, value_parser = positive_secs, default_value_t = MiSpec::default().step_secs)]
    pub mi_step_secs: f64,
}

/// Sleep decoders of `demo`, `run` and `replay`: the detectors and triggers of `neuroloop
/// sleep`, with stimuli logged instead of played.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Sleep (--paradigm sleep)")]
pub struct SleepDecoderArgs {
    /// Detect sleep spindles only (with --so-triggers: both), no stimulation unless
    /// --stim-on; implies --paradigm sleep.
    #[arg(long)]
    pub spindles: bool,
    /// Fire phase-locked slow-oscillation triggers only (with --spindles: both), no
    /// stimulation unless --stim-on; implies --paradigm sleep.
    #[arg(long)]
    pub so_triggers: bool,
    #[command(flatten)]
    pub(crate) settings: SleepSettingsArgs,
}

/// Spindle detectors, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpindleDetectorArg {
    /// Causal A7-style detector (sigma power, relative power, covariance, correlation).
    A7,
    /// Neural detector: a small CNN (ONNX model with its card) on a causal front end.
    Onnx,
}

/// What triggers a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StimOnArg {
    /// Slow-oscillation phase triggers.
    So,
    /// Spindle onsets.
    Spindle,
    /// Nothing: detection only.
    None,
}

/// The settings of the sleep paradigm, shared by `neuroloop sleep` and `--paradigm sleep`.
#[derive(Debug, Clone, Args)]
pub struct SleepSettingsArgs {
    /// Channel for spindle detection (default: a central channel found by name, e.g. Cz, C3,
    /// C3-A1, `EEG C3-A2`, else the first channel).
    #[arg(long, value_name = "LABEL")]
    pub spindle_channel: Option<String>,
    /// Spindle detector: the A7-style rules or the neural model [default: a7; onnx when
    /// --spindle-model is given].
    #[arg(long, value_enum)]
    pub spindle_detector: Option<SpindleDetectorArg>,
    /// Model card of the neural spindle detector (default: the shipped
    /// assets/models/spindle-net.toml); giving one chooses the neural detector.
    #[arg(long, value_name = "CARD.toml")]
    pub spindle_model: Option<PathBuf>,
    /// A7 detector: hops (50 ms each) at which a run must meet all four thresholds before its
    /// onset (the spindle trigger) is declared; more trade delay for trigger precision (see
    /// `neuroloop eval spindles`' trade-off curve). The network's come from its card.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=40), value_name = "N")]
    pub spindle_confirm_hops: u16,
    /// Channel for slow-oscillation tracking and the artefact watch (default: a frontal
    /// channel found by name, e.g. Fz, else a central one, else the first channel).
    #[arg(long, value_name = "LABEL")]
    pub so_channel: Option<String>,
    /// Slow-oscillation phase to hit, degrees (0 = up-state peak).
    #[arg(long, default_value_t = SleepSpec::default().so_target_deg, allow_negative_numbers = true)]
    pub so_target_deg: f64,
    /// Output latency the slow-oscillation trigger anticipates, ms.
    #[arg(long, default_value_t = SleepSpec::default().lookahead_ms)]
    pub lookahead_ms: f64,
    /// What triggers a burst (help text: `stim_on_help`).
    #[arg(long, value_enum, help = stim_on_help())]
    pub stim_on: Option<StimOnArg>,
    /// Burst amplitude (full scale 1.0).
    #[arg(long, default_value_t = SleepSpec::default().volume)]
    pub volume: f32,
    /// Hard cap on the audio output (full scale 1.0).
    #[arg(long, default_value_t = SleepSpec::default().volume_cap)]
    pub volume_cap: f32,
    /// Least time between bursts, s.
    #[arg(long, value_parser = non_negative_secs, default_value_t = SleepSpec::default().min_interval_secs)]
    pub min_interval_secs: f64,
    /// Most bursts in any minute.
    #[arg(long, default_value_t = SleepSpec::default().max_per_min)]
    pub max_per_min: usize,
    /// Amplitude on the slow-oscillation channel taken as an artefact or arousal (µV);
    /// stimulation pauses 5 s after one.
    #[arg(long, default_value_t = SleepSpec::default().artifact_uv)]
    pub artifact_uv: f64,
    /// Burst length, ms (5 ms raised-cosine ramps).
    #[arg(long, default_value_t = SleepSpec::default().burst_ms)]
    pub burst_ms: f64,
}

/// Front-end filter options; each left out takes the paradigm's default.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Front end")]
pub struct FrontEndArgs {
    /// Mains notch (help text: `notch_help`).
    #[arg(long, value_name = "auto|HZ", help = notch_help())]
    pub notch_hz: Option<NotchArg>,
    /// High-pass cutoff (help text: `highpass_help`).
    #[arg(long, help = highpass_help())]
    pub highpass_hz: Option<f64>,
    /// Re-reference to the common average.
    #[arg(long)]
    pub car: bool,
}

/// Options of `neuroloop demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub(crate) view: ViewArgs,
    /// Simulated channels (8: a standard cap; up to 64 use 10-10 labels).
    #[arg(long, default_value_t = 8)]
    pub channels: usize,
    /// Simulated sampling rate.
    #[arg(long, default_value_t = 250.0)]
    pub rate_hz: f64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Delivery speed: 1 (real time), N (N times faster) or max.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// What the simulated subject does [default: what the paradigm decodes: SSVEP trials,
    /// cued left/right-hand imagery for mi, sleep for sleep, SSVEP trials for monitor].
    /// Record an mi session to calibrate with `neuroloop mi fit`.
    #[arg(long, value_enum)]
    pub scenario: Option<ScenarioArg>,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = 3.0)]
    pub ssvep_uv: f64,
    #[command(flatten)]
    pub(crate) paradigm: ParadigmArgs,
    #[command(flatten)]
    pub(crate) front_end: FrontEndArgs,
}

/// Options of `neuroloop run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub(crate) view: ViewArgs,
    /// Name of the LSL stream to read (default: the first stream of the given type).
    #[arg(long)]
    pub stream: Option<String>,
    /// Type of the LSL stream to read.
    #[arg(long = "type", default_value = "EEG")]
    pub content_type: String,
    /// Seconds to wait for the stream at start-up.
    #[arg(long, value_parser = positive_secs, default_value_t = 10.0)]
    pub resolve_timeout_secs: f64,
    /// An LSL marker stream read beside the EEG (a stimulus program's, e.g. OpenViBE's or
    /// PsychoPy's, or the simulator's `NAME-truth`): its onsets start the trials of an
    /// onset-locked model (--ssvep-model), and its cues score the decisions. The application's
    /// own markers need no naming; others are named with --onset and --cue.
    #[arg(long, value_name = "NAME")]
    pub marker_stream: Option<String>,
    /// A marker that cues a class (repeat per class): a motor-imagery class (`769=left_hand`)
    /// or an SSVEP target's frequency (`33025=13Hz`). Needs --marker-stream.
    #[arg(long = "cue", value_name = "LABEL=CLASS", value_parser = neuroloop_runtime::spec::parse_recording_cue, requires = "marker_stream")]
    pub cues: Vec<neuroloop_runtime::spec::RecordingCue>,
    /// A marker that marks a stimulus onset (OpenViBE: `32779`); without it, each SSVEP cue
    /// is its own onset. Needs --marker-stream.
    #[arg(long = "onset", value_name = "LABEL", requires = "marker_stream")]
    pub onsets: Vec<String>,
    #[command(flatten)]
    pub(crate) paradigm: ParadigmArgs,
    #[command(flatten)]
    pub(crate) front_end: FrontEndArgs,
}

/// Options of `neuroloop replay`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording: .xdf (its EEG stream), .edf/.bdf, .vhdr, .gdf, .set or .fif.
    pub file: PathBuf,
    #[command(flatten)]
    pub(crate) view: ViewArgs,
    /// Delivery speed: 1 (real time, timestamps on the live clock), N (N times faster) or max
    /// (as fast as the pipeline goes, timestamps in file time; bit-reproducible).
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// Channels to replay, by label (default: every channel at the rate most EEG channels
    /// have; the others are named in the report).
    #[arg(long, value_delimiter = ',')]
    pub channels: Vec<String>,
    /// Also publish the replayed EEG as an LSL stream (default name `neuroloop-replay`), so
    /// other LSL tools see the file as a live amplifier; use with a paced --speed.
    #[arg(long, num_args = 0..=1, default_missing_value = "neuroloop-replay", value_name = "NAME")]
    pub lsl_outlet: Option<String>,
    /// An annotation label that cues a class, so that decisions inside its trials are scored
    /// (repeat it per class): a motor-imagery class (left_hand, right_hand, feet, rest; e.g.
    /// EEGMMIDB's imagery runs `--cue T1=left_hand --cue T2=right_hand`) or an SSVEP target's
    /// frequency (OpenViBE's `--cue 33025=13Hz --cue 33027=17Hz --cue 33026=21Hz`). The
    /// application's own cue markers are scored without it.
    #[arg(long = "cue", value_name = "LABEL=CLASS", value_parser = neuroloop_runtime::spec::parse_recording_cue)]
    pub cues: Vec<neuroloop_runtime::spec::RecordingCue>,
    /// An annotation label that marks a stimulus onset, where an onset-locked decoder
    /// (--ssvep-model) starts a trial (e.g. OpenViBE's start of trial, `--onset 32779`).
    /// Without it, each SSVEP cue marks its own onset; the speller's and simulator's markers
    /// need no naming.
    #[arg(long = "onset", value_name = "LABEL")]
    pub onsets: Vec<String>,
    #[command(flatten)]
    pub(crate) paradigm: ParadigmArgs,
    #[command(flatten)]
    pub(crate) front_end: FrontEndArgs,
}

/// Options of `neuroloop sleep`.
#[derive(Debug, Clone, Args)]
pub struct SleepArgs {
    #[command(flatten)]
    pub(crate) view: ViewArgs,
    /// Read this LSL EEG stream instead of the simulator.
    #[arg(long, conflicts_with = "replay")]
    pub stream: Option<String>,
    /// Replay this recording (XDF, EDF/BDF, .vhdr, GDF, .set, FIF) instead of the simulator.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Replay or simulation speed: 1 (real time), N, or max.
    #[arg(long, default_value = "1")]
    pub speed: String,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub(crate) settings: SleepSettingsArgs,
    /// Log stimuli (markers, recording) without playing sound.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on as a dry run when the audio output cannot start (the report says so), instead of
    /// refusing to start.
    #[arg(long, conflicts_with = "dry_run")]
    pub allow_no_audio: bool,
    /// Fault injection for testing: the audio output fails this many seconds after it starts,
    /// as an unplugged device would.
    #[arg(long, hide = true)]
    pub audio_fail_after_secs: Option<f64>,
    #[command(flatten)]
    pub(crate) front_end: FrontEndArgs,
}

/// Options of `neuroloop bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Short runs (10 s of data per configuration instead of 60 s).
    #[arg(long)]
    pub quick: bool,
    /// Folder for bench.json and latency.svg (and soak.xdf, the soak run's recording).
    #[arg(long, default_value = "out/bench")]
    pub out: PathBuf,
    /// Only the rows whose key contains one of these (comma-separated); keys look like
    /// `64ch-1000hz-fbcca`, `32ch-500hz-csp-lda`, `8ch-250hz-sleep`, `lsl-loopback`,
    /// `audio-onset`; `audio-device` (only by name) plays audible bursts on the default
    /// output device.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Instead: a soak run of this many hours of simulated sleep at maximum speed (spindle
    /// detector, slow-oscillation trigger, stimulation in dry run, the session recorded to
    /// OUT/soak.xdf), printing memory as it goes; e.g. 8 for a night.
    #[arg(long, value_parser = positive_secs, value_name = "HOURS")]
    pub soak_hours: Option<f64>,
    #[command(flatten)]
    pub(crate) wake: WakeArgs,
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
    pub recordings: Vec<PathBuf>,
    /// Where to save the model.
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// Window lengths (checkpoints of dynamic stopping), seconds.
    #[arg(long, value_parser = positive_secs, value_delimiter = ',', default_values_t = [0.5, 0.75, 1.0, 1.25, 1.5, 2.0])]
    pub windows_secs: Vec<f64>,
    /// Visual latency: windows start this long after the flicker onset.
    #[arg(long, value_parser = non_negative_secs, default_value_t = 0.14)]
    pub latency_secs: f64,
    /// Plain TRCA (one filter per target) instead of ensemble TRCA.
    #[arg(long)]
    pub plain: bool,
    /// Channels to use, by label (default: parietal and occipital channels).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    pub channels: Vec<String>,
    /// Save the model even when its cross-validated accuracy is not shown above chance.
    #[arg(long)]
    pub force: bool,
    /// For recordings made elsewhere: an annotation label that cues a target, by its
    /// frequency (repeat per target, in the order the model should list them; OpenViBE:
    /// `--cue 33025=13Hz --cue 33027=17Hz --cue 33026=21Hz`). The speller's and simulator's
    /// markers need no naming.
    #[arg(long = "cue", value_name = "LABEL=HZ", value_parser = neuroloop_runtime::spec::parse_ssvep_cue)]
    pub cues: Vec<(String, f64)>,
    /// For recordings made elsewhere: the annotation label that marks each flicker onset
    /// (OpenViBE: `--onset 32779`); without it, each cue is its own onset.
    #[arg(long = "onset", value_name = "LABEL")]
    pub onsets: Vec<String>,
}

/// `neuroloop mi` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum MiCommand {
    /// Fit a motor-imagery decoder from calibration recordings (with `<prefix>/mi class=NAME`
    /// cue markers, e.g. a `--record`ed simulator session, or any file whose cue labels
    /// `--cue` names), report its cross-validated accuracy and save it.
    Fit(MiFitArgs),
    /// The motor-imagery paradigm in a window: a cued calibration run (fixation, cue arrow,
    /// imagery, randomised rest) recorded with markers, the decoder fitted from it, then online
    /// feedback (a cursor driven by the decoder) with the accuracy shown. On the simulator
    /// (default; the simulated subject imagines what the cue says) or an LSL stream.
    Session(MiSessionArgs),
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

/// How calibration trials are cut and which decoders are tried.
#[derive(Debug, Clone, Args)]
pub struct MiFitOptions {
    /// Methods to cross-validate; the most accurate is saved.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [MiMethodArg::CspLda, MiMethodArg::TsLr, MiMethodArg::Mdm, MiMethodArg::FbcspLda])]
    pub method: Vec<MiMethodArg>,
    /// Channels to use, by label (default: every channel of the first recording).
    #[arg(long = "decode-channels", value_delimiter = ',')]
    pub channels: Vec<String>,
    /// Band-pass, low and high edge in Hz.
    #[arg(long, value_delimiter = ',', num_args = 2, default_values_t = [8.0, 30.0])]
    pub band_hz: Vec<f64>,
    /// Window length (also the online decision window).
    #[arg(long, value_parser = positive_secs, default_value_t = 2.0)]
    pub window_secs: f64,
    /// Window start after each cue.
    #[arg(long, default_value_t = 0.5)]
    pub cue_offset_secs: f64,
}

/// Options of `neuroloop mi fit`.
#[derive(Debug, Clone, Args)]
pub struct MiFitArgs {
    /// Calibration recordings.
    #[arg(required = true)]
    pub recordings: Vec<PathBuf>,
    /// Where to save the model.
    #[arg(long, value_name = "MODEL.json")]
    pub out: PathBuf,
    /// An annotation label that is a cue, and the class it cues, for recordings made without
    /// this application's cue markers (repeat it per class): e.g. EEGMMIDB's imagery runs
    /// `--cue T1=left_hand --cue T2=right_hand`, a GDF file's event codes `--cue 769=left_hand`.
    #[arg(long = "cue", value_name = "LABEL=CLASS", value_parser = neuroloop_runtime::spec::parse_cue)]
    pub cues: Vec<(String, String)>,
    #[command(flatten)]
    pub(crate) fit: MiFitOptions,
}

/// Options of `neuroloop mi session`.
#[derive(Debug, Clone, Args)]
pub struct MiSessionArgs {
    /// Classes to cue: left_hand, right_hand, feet, rest.
    #[arg(long, value_delimiter = ',', default_values_t = ["left_hand".to_string(), "right_hand".to_string()])]
    pub classes: Vec<String>,
    /// Calibration trials per class (none with --mi-model: feedback only).
    #[arg(long, default_value_t = 20)]
    pub calibration_trials: usize,
    /// Feedback trials per class (0: stop after fitting).
    #[arg(long, default_value_t = 10)]
    pub feedback_trials: usize,
    /// Skip calibration and give feedback with this fitted model (`neuroloop mi fit` or an
    /// earlier session's model.json) or the network of this model card (`.toml`).
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    pub mi_model: Option<PathBuf>,
    /// Folder for calibration.xdf, model.json and feedback.xdf.
    #[arg(long, default_value = "out/mi-session")]
    pub out: PathBuf,
    /// Fixation cross before each cue.
    #[arg(long, value_parser = positive_secs, default_value_t = 2.0)]
    pub fixation_secs: f64,
    /// How long the cue arrow shows.
    #[arg(long, value_parser = positive_secs, default_value_t = 1.25)]
    pub cue_secs: f64,
    /// Imagery period from the cue.
    #[arg(long, value_parser = positive_secs, default_value_t = 4.0)]
    pub imagery_secs: f64,
    /// Rest after imagery, drawn uniformly between these two lengths (`LOW,HIGH`).
    #[arg(long, value_parser = positive_secs, value_delimiter = ',', default_values_t = [1.5, 2.5])]
    pub rest_secs: Vec<f64>,
    #[command(flatten)]
    pub(crate) fit: MiFitOptions,
    /// Time between decisions during feedback.
    #[arg(long, value_parser = positive_secs, default_value_t = MiSpec::default().step_secs)]
    pub mi_step_secs: f64,
    /// Read this LSL stream instead of the simulator.
    #[arg(long)]
    pub stream: Option<String>,
    /// Seed of the simulator and of the trial order.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// LSL marker stream for decisions and paradigm events (`none` to disable).
    #[arg(long, default_value = "neuroloop-markers")]
    pub markers: String,
    /// Close the window once feedback is over (default: stay open showing the results).
    #[arg(long)]
    pub close_when_done: bool,
    /// Give feedback from a fitted model even when its cross-validated accuracy is not shown
    /// above chance (95 % interval), instead of asking in the window first.
    #[arg(long)]
    pub allow_chance_model: bool,
    /// Save a PNG of the window to this file (after --screenshot-after seconds).
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// When to take the --screenshot, in seconds from the first frame.
    #[arg(long, default_value_t = 2.0)]
    pub screenshot_after: f64,
    #[command(flatten)]
    pub(crate) wake: WakeArgs,
}

/// Options of `neuroloop speller`.
#[derive(Debug, Clone, Args)]
pub struct SpellerArgs {
    /// Target frequencies in Hz (default: the 40-target benchmark set, 8.0-15.8 Hz in 0.2 Hz
    /// steps, phases in 0.5 pi steps, 5 x 8 keys).
    #[arg(long, value_delimiter = ',')]
    pub targets: Vec<f64>,
    /// Keys of custom targets, one character each, in target order (`<` is backspace).
    #[arg(long, default_value = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.<")]
    pub keys: String,
    /// Phase step between consecutive custom targets, in units of pi.
    #[arg(long, default_value_t = 0.5)]
    pub phase_step_pi: f64,
    /// Cue-guided spelling of this phrase (copy spelling, or calibration with --calibrate);
    /// free spelling without it. `<` cues backspace.
    #[arg(long)]
    pub phrase: Option<String>,
    /// Calibration: every flicker of the cued --phrase runs its full --stim-secs (no early
    /// stop), for `neuroloop ssvep fit` on the --record'ed session.
    #[arg(long)]
    pub calibrate: bool,
    /// Cue (gaze shift) before each flicker.
    #[arg(long, value_parser = positive_secs, default_value_t = 1.0)]
    pub cue_secs: f64,
    /// Longest flicker; a confident decision stops it earlier.
    #[arg(long, value_parser = positive_secs, default_value_t = 4.0)]
    pub stim_secs: f64,
    /// Decoder window (decisions use windows lying entirely inside the flicker).
    #[arg(long, value_parser = positive_secs, default_value_t = SsvepSpec::default().window_secs)]
    pub window_secs: f64,
    /// Relative margin of the best over the second FBCCA score that counts as confident
    /// (dynamic stopping).
    #[arg(long, default_value_t = SsvepSpec::speller(Vec::new(), None).min_margin)]
    pub min_margin: f64,
    /// Decode with this onset-locked TRCA model (`neuroloop ssvep fit` on a cued session with
    /// the same targets) or network card with the same targets instead of FBCCA.
    #[arg(long, value_name = "MODEL.json|CARD.toml")]
    pub ssvep_model: Option<PathBuf>,
    /// Relative margin of the best over the second TRCA score (or network probability) that
    /// stops a flicker early.
    #[arg(long, default_value_t = SsvepSpec::default().model_margin)]
    pub trca_margin: f64,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = crate::speller::launch::SIMULATED_SSVEP_UV)]
    pub ssvep_uv: f64,
    /// Read this LSL stream instead of the simulator.
    #[arg(long)]
    pub stream: Option<String>,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Record the session (EEG, decisions, speller markers, frame times) to this XDF file.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// LSL marker stream for decisions and speller events (`none` to disable).
    #[arg(long, default_value = "neuroloop-markers")]
    pub markers: String,
    /// Save a PNG of the window to this file (after --screenshot-after seconds).
    #[arg(long, value_name = "FILE.png")]
    pub screenshot: Option<PathBuf>,
    /// When to take the --screenshot, in seconds from the first frame.
    #[arg(long, default_value_t = 2.0)]
    pub screenshot_after: f64,
    #[command(flatten)]
    pub(crate) wake: WakeArgs,
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
    pub data: PathBuf,
    /// Phase to target, degrees (0 = up-state peak, -90 = rising zero crossing).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub target_deg: f64,
    /// Stimulation-path latency the trigger anticipates, s.
    #[arg(long, value_parser = non_negative_secs, default_value_t = 0.0)]
    pub lookahead_secs: f64,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Options of `neuroloop eval spindles`.
#[derive(Debug, Clone, Args)]
pub struct EvalSpindlesArgs {
    /// The DREAMS spindles folder (excerptN.txt, Visual_scoringK_excerptN.txt), or a data
    /// folder holding `spindles_dreams/`.
    #[arg(long, value_name = "DIR")]
    pub dreams: PathBuf,
    /// Detector to evaluate.
    #[arg(long, value_enum, default_value_t = SpindleDetectorArg::A7)]
    pub detector: SpindleDetectorArg,
    /// Model card of the neural detector (default: the shipped
    /// assets/models/spindle-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    pub model: Option<PathBuf>,
    /// Evaluate only these excerpts (comma-separated numbers).
    #[arg(long, value_delimiter = ',')]
    pub excerpts: Vec<u32>,
    /// Instead of evaluating, write the neural detector's front-end output for every excerpt
    /// into this folder (read by scripts/train/spindle_net.py).
    #[arg(long, value_name = "DIR")]
    pub dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Leave out the trigger trade-off curve (each setting of the detector's trigger re-run over
    /// every excerpt: about 9 runs for a7, 17 for a network).
    #[arg(long)]
    pub no_curve: bool,
}

/// `neuroloop model` subcommands.
#[derive(Debug, Clone, Subcommand)]
pub enum ModelCommand {
    /// Check a model card (docs/models.md): load its graph and compare it with the card, load
    /// it as its paradigm does, run its golden inputs, time one inference beside the same
    /// graph in onnxruntime's Python API, and with --file or --stream say whether those
    /// channels and rate fit.
    Check(ModelCheckArgs),
}

/// Options of `neuroloop model check`.
#[derive(Debug, Clone, Args)]
pub struct ModelCheckArgs {
    /// The model card.
    #[arg(value_name = "CARD.toml")]
    pub card: PathBuf,
    /// A recording (any readable format) whose channels and rate should fit the model.
    #[arg(long, value_name = "REC", conflicts_with = "stream")]
    pub file: Option<PathBuf>,
    /// An LSL stream (by name) whose channels and rate should fit the model.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
    /// Inference calls timed.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(10..))]
    pub calls: u32,
    /// Do not time the graph in onnxruntime's Python API.
    #[arg(long)]
    pub no_python: bool,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
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
    /// The method an inner cross-validation of each outer fold's training trials picks
    /// among the four above (nested: the choice never sees the held-out fold).
    Auto,
    /// The ONNX network of a model card, scored on the imagined runs (in-sample on a subject
    /// its card lists as influencing it).
    Onnx,
}

/// Options of `neuroloop eval mi`.
#[derive(Debug, Clone, Args)]
pub struct EvalMiArgs {
    /// EEGMMIDB subjects: each DIR a subject's folder of EDF files (S001R04.edf, S001R08.edf,
    /// S001R12.edf) or a folder of subjects' folders. With two subjects or more, the
    /// calibration-light scores (leave one subject out) follow the table.
    #[arg(long, value_name = "DIR", num_args = 1.., required = true)]
    pub eegmmidb: Vec<PathBuf>,
    /// Methods to evaluate.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EvalMiMethod::CspLda, EvalMiMethod::TsLr, EvalMiMethod::Mdm, EvalMiMethod::FbcspLda, EvalMiMethod::Auto, EvalMiMethod::Onnx])]
    pub method: Vec<EvalMiMethod>,
    /// Card of the network `--method onnx` scores (default: the shipped mi-net).
    #[arg(long, value_name = "CARD.toml")]
    pub model: Option<PathBuf>,
    /// Also fit the best evaluated method on every trial of the (one) subject and save it (a
    /// model file for `--mi-model`).
    #[arg(long, value_name = "MODEL.json")]
    pub save_model: Option<PathBuf>,
    /// Instead of evaluating, write the network trainer's input to this folder (executed and
    /// imagined runs for training, imagined runs as the app sees them for scoring;
    /// `scripts/train/mi_net.sh`).
    #[arg(long, value_name = "OUT")]
    pub dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
}

/// SSVEP methods `eval ssvep` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalSsvepMethod {
    /// Canonical correlation analysis on one band.
    Cca,
    /// Filter-bank CCA (Chen et al. 2015).
    Fbcca,
    /// FBCCA's evidence summed over the window and its tails starting every 0.25 s up to half
    /// the window: no response latency assumed.
    FbccaStarts,
    /// Filter-bank task-related component analysis, leave one trial out within each session.
    Trca,
    /// Filter-bank ensemble TRCA, cross-validated as TRCA.
    Etrca,
    /// A network run by ONNX Runtime (`--model CARD`, the shipped one by default), scored on
    /// the subjects it was not trained on.
    Onnx,
}

/// Options of `neuroloop eval ssvep`.
#[derive(Debug, Clone, Args)]
pub struct EvalSsvepArgs {
    /// The data set's `npy` folder (`SESSION.npy` with `SESSION_events.csv`).
    #[arg(long, value_name = "DIR")]
    pub kalunga: PathBuf,
    /// Methods to evaluate (`onnx`: the network of `--model`, at its card's window).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [EvalSsvepMethod::Cca, EvalSsvepMethod::Fbcca, EvalSsvepMethod::FbccaStarts, EvalSsvepMethod::Trca, EvalSsvepMethod::Etrca])]
    pub method: Vec<EvalSsvepMethod>,
    /// Window lengths in seconds.
    #[arg(long, value_parser = positive_secs, value_delimiter = ',', default_values_t = [1.0, 2.0, 3.0, 4.0])]
    pub window_secs: Vec<f64>,
    /// Card of the network `onnx` runs (default: the shipped assets/models/ssvep-net.toml).
    #[arg(long, value_name = "CARD.toml")]
    pub model: Option<PathBuf>,
    /// Score `onnx` behind the live pipeline's default front end (50 Hz notch with harmonics,
    /// 1 Hz high-pass), which the network was not trained behind.
    #[arg(long)]
    pub front_end: bool,
    /// Move every trial's marker by this many seconds (positive: later) before scoring, to
    /// measure how a method copes with another marker-to-response delay.
    #[arg(
        long,
        default_value_t = 0.0,
        allow_negative_numbers = true,
        value_name = "SECS"
    )]
    pub marker_shift_secs: f64,
    /// Write the network trainer's input (every trial's sub-band windows, `index.json`) to
    /// this folder instead of evaluating.
    #[arg(long, value_name = "DIR")]
    pub dump_features: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    pub json: bool,
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
    pub profile: Option<PathBuf>,
    /// Start the profile's session at once instead of waiting for the Start button.
    #[arg(long)]
    pub now: bool,
    /// Save a PNG of the window after a few seconds (with --now: of the running session).
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
    /// Seconds before the screenshot.
    #[arg(long, value_parser = non_negative_secs, default_value_t = 6.0)]
    pub screenshot_after_secs: f64,
    #[command(flatten)]
    pub(crate) wake: WakeArgs,
}

/// Options of `neuroloop simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Publish on LSL (the output of this command).
    #[arg(long)]
    pub lsl: bool,
    /// Name of the EEG outlet.
    #[arg(long, default_value = "neuroloop-sim")]
    pub name: String,
    /// What the simulated subject does.
    #[arg(long, value_enum, default_value_t = ScenarioArg::Ssvep)]
    pub scenario: ScenarioArg,
    /// Channels.
    #[arg(long, default_value_t = 8)]
    pub channels: usize,
    /// Sampling rate.
    #[arg(long, default_value_t = 250.0)]
    pub rate_hz: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many seconds (default: until Ctrl-C).
    #[arg(long, value_parser = positive_secs)]
    pub seconds: Option<f64>,
    /// SSVEP target frequencies in Hz (ssvep scenario).
    #[arg(long, value_delimiter = ',', default_values_t = SsvepSpec::default().targets_hz)]
    pub targets: Vec<f64>,
    /// Amplitude of the simulated SSVEP fundamental at the occipital pole, in µV.
    #[arg(long, default_value_t = 3.0)]
    pub ssvep_uv: f64,
}

/// `--ssvep-method`'s help, with the spec's default.
fn ssvep_method_help() -> String {
    let default = match SsvepSpec::default().method {
        SsvepMethod::Cca => "cca",
        SsvepMethod::Fbcca => "fbcca",
    };
    format!(
        "Decoding method: fbcca (filter-bank CCA, Chen et al. 2015) or cca (one band); implies --paradigm ssvep [default: {default}]"
    )
}

/// `--notch-hz`: the source's mains, or a frequency (0: no notch).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NotchArg {
    /// The mains the source declares or shows.
    Auto,
    /// This frequency, Hz (0: none).
    Hz(f64),
}

impl std::str::FromStr for NotchArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(NotchArg::Auto);
        }
        match s.trim().parse::<f64>() {
            Ok(hz) if hz.is_finite() && hz >= 0.0 => Ok(NotchArg::Hz(hz)),
            _ => Err(format!(
                "`{s}` is not a mains frequency: give auto, a frequency such as 50 or 60, or 0 for none"
            )),
        }
    }
}

/// `--notch-hz`'s help, with the paradigms' fallback.
fn notch_help() -> String {
    let hz = |fe: FrontEnd| fe.notch_hz.map_or("off".to_string(), |f| format!("{f} Hz"));
    format!(
        "Power-line frequency to notch (with harmonics): auto follows the source's mains (declared, or detected in a recording's first seconds; else {}), a frequency sets it, 0 disables [default: auto]",
        hz(ParadigmSpec::Monitor.front_end())
    )
}

/// `--highpass-hz`'s help, with the paradigms' defaults.
fn highpass_help() -> String {
    let hz = |fe: FrontEnd| fe.highpass_hz.map_or("off".to_string(), |f| format!("{f}"));
    format!(
        "High-pass cutoff; 0 disables [default: {}; sleep: {}, to keep slow oscillations]",
        hz(ParadigmSpec::Monitor.front_end()),
        hz(ParadigmSpec::Sleep(SleepSpec::default()).front_end())
    )
}

/// `--stim-on`'s help, with the spec's default.
fn stim_on_help() -> String {
    let default = match SleepSpec::default().stim_on {
        StimOn::So => "so",
        StimOn::Spindle => "spindle",
        StimOn::None => "none",
    };
    format!("What triggers a burst [default: {default}]")
}

/// A duration on the command line: a finite number of seconds above zero.
fn positive_secs(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!(
            "`{text}` is not a duration: give a number of seconds above zero, such as 10 or 0.5"
        )),
    }
}

/// A delay or gap on the command line: a finite number of seconds, zero or more.
fn non_negative_secs(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "`{text}` is not a delay: give a number of seconds, zero or more, such as 0 or 0.25"
        )),
    }
}
