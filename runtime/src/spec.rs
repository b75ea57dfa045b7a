//! The paradigm spec: one plain-data description of what a session decodes — `monitor`,
//! `ssvep`, `mi` or `sleep`, each with its settings — and the one place that turns it into
//! decoders, a front end and a stimulation policy.
//!
//! The command line and the start screen's profile both produce a [`ParadigmSpec`], and the
//! speller and the motor-imagery window build their decoders through the same specs
//! ([`SsvepSpec::speller`], [`MiSpec::decoder_for`]), so a default cannot differ by entry
//! point. Every field has its default in the `Default` impl of its spec, which is what `--help`
//! and the start screen show. (The bench times decoders of models it makes itself.)

use std::path::{Path, PathBuf};

use neuroloop_acquisition::sim::{SsvepScenario, SsvepTarget};
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiModel, MiNet};
use neuroloop_decoders::onnx::{ModelCard, SPINDLE_NET_CARD, load_spindle_net};
use neuroloop_decoders::sleep::{
    SoConfig, SoDecoder, SoDecoderConfig, SpindleDecoder, SpindleDecoderConfig, SpindleEngine,
};
use neuroloop_decoders::ssvep::onset::{SsvepOnsetDecoder, SsvepTrcaModel};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder, SsvepNet};
use neuroloop_dsp::front_end::FrontEnd;
use serde::{Deserialize, Serialize};

use crate::outputs::TruthMapping;
use crate::session::{SessionConfig, SessionDecoder, StimulationSpec};
use crate::stimulation::{StimPolicy, StimTrigger};

/// What a session runs on its samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "paradigm", rename_all = "kebab-case")]
pub enum ParadigmSpec {
    /// Traces, spectra and signal quality only: no decoder. Every readable stream runs.
    #[default]
    Monitor,
    /// SSVEP decoding: training-free (F)BCCA on sliding windows, or an onset-locked model.
    Ssvep(SsvepSpec),
    /// Motor-imagery decoding with a fitted model or a network card.
    Mi(MiSpec),
    /// Sleep: spindle detection and slow-oscillation phase triggers, with closed-loop
    /// stimulation on one of them.
    Sleep(SleepSpec),
}

/// The user's changes to a paradigm's front end: each filter is the paradigm's
/// ([`ParadigmSpec::front_end`]) unless set here; 0 turns a filter off.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrontEndChoice {
    /// High-pass cutoff, Hz (unset: the paradigm's, 1 Hz; 0.1 Hz for sleep, to keep slow
    /// oscillations).
    pub highpass_hz: Option<f64>,
    /// Mains frequency notched with its harmonics, Hz (unset: the source's mains, declared or
    /// detected in a recording's first seconds, else the paradigm's 50 Hz).
    pub notch_hz: Option<f64>,
    /// Re-reference to the common average.
    pub common_average: bool,
}

impl FrontEndChoice {
    /// `paradigm_default` with the filters this choice sets.
    pub fn over(&self, paradigm_default: &FrontEnd) -> FrontEnd {
        let on = |hz: f64| (hz > 0.0).then_some(hz);
        FrontEnd {
            highpass_hz: self.highpass_hz.map_or(paradigm_default.highpass_hz, on),
            notch_hz: self.notch_hz.map_or(paradigm_default.notch_hz, on),
            common_average: self.common_average || paradigm_default.common_average,
        }
    }
}

/// Why a paradigm spec cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A model file or card could not be loaded.
    #[error("the model {path} cannot be used: {reason}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What went wrong, with the fix.
        reason: String,
    },
    /// The shipped spindle network is missing or broken.
    #[error("the shipped spindle network cannot be used: {0}")]
    ShippedModel(String),
    /// A motor-imagery session without a model.
    #[error(
        "motor-imagery decoding needs a fitted model or a network card: fit one from a calibration recording first"
    )]
    MissingMiModel,
    /// An onset-locked SSVEP model fitted for other targets than the ones shown.
    #[error(
        "the SSVEP model was fitted for targets {fitted:?} Hz but the stimulus flickers {shown:?} Hz: use a model fitted on a calibration with these targets"
    )]
    TargetMismatch {
        /// The model's targets.
        fitted: Vec<f64>,
        /// The stimulus's targets.
        shown: Vec<f64>,
    },
    /// A burst louder than the volume cap allows.
    #[error(
        "the burst volume {volume} must not exceed the volume cap {cap}, which must be within 0..1 of full scale"
    )]
    VolumeAboveCap {
        /// The burst amplitude asked for.
        volume: f32,
        /// The cap.
        cap: f32,
    },
    /// A setting out of its range.
    #[error("{0}")]
    Setting(String),
    /// A decoder refused its settings.
    #[error(transparent)]
    Decoder(#[from] neuroloop_decoders::DecoderError),
}

impl ParadigmSpec {
    /// Short name: `monitor`, `ssvep`, `mi` or `sleep`.
    pub fn name(&self) -> &'static str {
        match self {
            ParadigmSpec::Monitor => "monitor",
            ParadigmSpec::Ssvep(_) => "ssvep",
            ParadigmSpec::Mi(_) => "mi",
            ParadigmSpec::Sleep(_) => "sleep",
        }
    }

    /// The front end this paradigm runs behind unless the user chooses another: a 1 Hz
    /// high-pass and a 50 Hz notch; sleep keeps slow oscillations with a 0.1 Hz high-pass.
    pub fn front_end(&self) -> FrontEnd {
        match self {
            ParadigmSpec::Sleep(s) => FrontEnd {
                highpass_hz: Some(s.highpass_hz),
                ..FrontEnd::default()
            },
            _ => FrontEnd::default(),
        }
    }

    /// Builds the paradigm's decoders, each with what its classes mean (SSVEP classes are
    /// the targets in order, motor-imagery classes are class names; decisions are scored
    /// whenever the source reports matching ground truth).
    pub fn decoders(&self) -> Result<Vec<SessionDecoder>, SpecError> {
        match self {
            ParadigmSpec::Monitor => Ok(Vec::new()),
            ParadigmSpec::Ssvep(s) => Ok(vec![s.decoder(None)?]),
            ParadigmSpec::Mi(s) => Ok(vec![s.decoder()?]),
            ParadigmSpec::Sleep(s) => s.decoders(),
        }
    }

    /// The closed-loop stimulation the paradigm asks for (`dry_run`: stimuli logged, no
    /// sound), if any.
    pub fn stimulation(&self, dry_run: bool) -> Result<Option<StimulationSpec>, SpecError> {
        match self {
            ParadigmSpec::Sleep(s) => s.stimulation(dry_run),
            _ => Ok(None),
        }
    }
}

impl SessionConfig {
    /// What `spec` asks for: its decoders, its front end and its stimulation (`dry_run`:
    /// stimuli logged without sound). An onset-locked SSVEP model must have been fitted for
    /// the targets the simulator flickers, when the source is the simulator.
    pub fn paradigm(mut self, spec: &ParadigmSpec, dry_run: bool) -> Result<Self, SpecError> {
        self.front_end = spec.front_end();
        self.decoders = match spec {
            ParadigmSpec::Ssvep(s) => {
                let shown = self.source.simulated_targets_hz();
                vec![s.decoder(shown.as_deref())?]
            }
            _ => spec.decoders()?,
        };
        self.stimulation = spec.stimulation(dry_run)?;
        Ok(self)
    }
}

/// Training-free SSVEP methods of the sliding-window decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SsvepMethod {
    /// Canonical correlation analysis on one band.
    Cca,
    /// Filter-bank CCA (Chen et al. 2015).
    Fbcca,
}

/// SSVEP decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SsvepSpec {
    /// Sliding-window method (when no `model` is given).
    pub method: SsvepMethod,
    /// Target frequencies, Hz, one class each.
    pub targets_hz: Vec<f64>,
    /// Analysis window, s.
    pub window_secs: f64,
    /// Time between decisions, s.
    pub step_secs: f64,
    /// Harmonics in the references (including the fundamental).
    pub harmonics: usize,
    /// Sub-bands of FBCCA.
    pub sub_bands: usize,
    /// Relative margin of the best over the second score that makes a decision a selection.
    pub min_margin: f64,
    /// Decode onset-locked with this fitted TRCA model (`.json`) or network card (`.toml`)
    /// instead; trials start at the stimulus onsets the session reports.
    pub model: Option<PathBuf>,
    /// Relative margin of the best over the second model score (or network probability)
    /// that stops a trial early.
    pub model_margin: f64,
    /// Channels to decode from, by label (empty: the parietal and occipital channels).
    pub channels: Vec<String>,
}

impl Default for SsvepSpec {
    fn default() -> Self {
        SsvepSpec {
            method: SsvepMethod::Fbcca,
            targets_hz: vec![7.0, 8.5, 12.0, 15.0],
            window_secs: 2.0,
            step_secs: 0.2,
            harmonics: 3,
            sub_bands: 5,
            min_margin: 0.15,
            model: None,
            model_margin: 0.2,
            channels: Vec::new(),
        }
    }
}

impl SsvepSpec {
    /// The speller's decoding of `targets_hz`: FBCCA deciding every 0.1 s on windows inside
    /// the flicker, confident at a 0.3 margin (dynamic stopping), or `model`.
    pub fn speller(targets_hz: Vec<f64>, model: Option<PathBuf>) -> Self {
        SsvepSpec {
            targets_hz,
            step_secs: 0.1,
            min_margin: 0.3,
            model,
            ..SsvepSpec::default()
        }
    }

    /// The decoder. With a model, `shown_hz` (the targets the stimulus flickers, when known)
    /// must be the model's.
    pub fn decoder(&self, shown_hz: Option<&[f64]>) -> Result<SessionDecoder, SpecError> {
        self.check()?;
        let Some(path) = &self.model else {
            let decoder = SsvepCcaDecoder::new(self.cca_config());
            return Ok(SessionDecoder::new(decoder, TruthMapping::SsvepTargetIndex));
        };
        let decoder = onset_decoder(path, self.model_margin)?;
        if let Some(shown) = shown_hz
            && !same_frequencies(decoder.targets_hz(), shown)
        {
            return Err(SpecError::TargetMismatch {
                fitted: decoder.targets_hz().to_vec(),
                shown: shown.to_vec(),
            });
        }
        Ok(SessionDecoder::new(decoder, TruthMapping::SsvepTargetIndex))
    }

    /// The sliding-window decoder's configuration.
    pub fn cca_config(&self) -> SsvepCcaConfig {
        SsvepCcaConfig {
            targets_hz: self.targets_hz.clone(),
            harmonics: self.harmonics,
            window_secs: self.window_secs,
            step_secs: self.step_secs,
            channels: self.channels.clone(),
            min_margin: self.min_margin,
            sub_bands: match self.method {
                SsvepMethod::Cca => 0,
                SsvepMethod::Fbcca => self.sub_bands,
            },
            ..SsvepCcaConfig::default()
        }
    }

    fn check(&self) -> Result<(), SpecError> {
        let positive = |v: f64| v.is_finite() && v > 0.0;
        if self.targets_hz.is_empty() || !self.targets_hz.iter().all(|&f| positive(f)) {
            return Err(SpecError::Setting(
                "SSVEP decoding needs at least one target frequency above 0 Hz".into(),
            ));
        }
        if !positive(self.window_secs) || !positive(self.step_secs) {
            return Err(SpecError::Setting(format!(
                "the SSVEP window ({} s) and step ({} s) must be positive",
                self.window_secs, self.step_secs
            )));
        }
        if self.harmonics == 0 {
            return Err(SpecError::Setting(
                "SSVEP references need at least one harmonic (the fundamental)".into(),
            ));
        }
        Ok(())
    }
}

/// The simulator's SSVEP scenario for `targets_hz`: a simulated user attending each in turn,
/// phases a quarter period apart from target to target, responses of `amplitude_uv` at the
/// occipital pole.
pub fn ssvep_scenario(targets_hz: &[f64], amplitude_uv: f64) -> SsvepScenario {
    SsvepScenario {
        amplitude_uv,
        targets: targets_hz
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

/// Whether two target-frequency lists are the same targets (within 1 mHz each).
pub fn same_frequencies(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && !a.iter().zip(b).any(|(x, y)| (x - y).abs() > 1e-3)
}

/// Whether `path` names a model card (`.toml`) rather than a fitted model file.
pub fn is_card(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
}

/// A cue of a recording, `LABEL=CLASS` (e.g. `T1=left_hand`): the annotation label and the
/// class name it cues, surrounding spaces ignored. The error names the problem and the fix.
pub fn parse_cue(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((label, _)) if label.trim().is_empty() => Err(format!(
            "`{}` names no label: write the annotation label before `=` (e.g. T1=left_hand)",
            text.trim()
        )),
        Some((label, class)) if !class.trim().is_empty() => {
            Ok((label.trim().to_string(), class.trim().to_string()))
        }
        _ => Err(format!(
            "`{}` is not LABEL=CLASS: write the annotation label, `=`, then the class it cues (e.g. T1=left_hand)",
            text.trim()
        )),
    }
}

/// One motor-imagery cue of a recording ([`parse_cue`]) whose class is one a replay scores
/// ([`neuroloop_acquisition::MiClass`]), for [`crate::SourceSpec::File`]'s `cues`.
pub fn parse_mi_cue(text: &str) -> Result<(String, neuroloop_acquisition::MiClass), String> {
    use neuroloop_acquisition::MiClass;
    let classes = || MiClass::ALL.map(|c| c.name()).join(", ");
    let (label, class) = parse_cue(text).map_err(|e| format!("{e}; classes: {}", classes()))?;
    match MiClass::from_name(&class) {
        Some(c) => Ok((label, c)),
        None => Err(format!(
            "`{}`: `{class}` is not a motor-imagery class a replay scores; name one of {}",
            text.trim(),
            classes()
        )),
    }
}

/// One SSVEP cue of a recording, `LABEL=HZ` (e.g. `33025=13Hz` or `33025=13`): the annotation
/// label and the frequency of the target it cues.
pub fn parse_ssvep_cue(text: &str) -> Result<(String, f64), String> {
    let (label, class) = parse_cue(text)
        .map_err(|e| format!("{e}; for SSVEP the class is a frequency (33025=13Hz)"))?;
    match target_hz(&class) {
        Some(hz) => Ok((label, hz)),
        None => Err(format!(
            "`{}`: `{class}` is not a target frequency; write it in Hz (e.g. {label}=13Hz)",
            text.trim()
        )),
    }
}

/// The SSVEP cues of a comma-separated list of `LABEL=HZ` ([`parse_ssvep_cue`]); empty text:
/// none.
pub fn parse_ssvep_cues(text: &str) -> Result<Vec<(String, f64)>, String> {
    comma_list(text, parse_ssvep_cue)
}

/// The labels of a comma-separated list (`32779, 32780`), trimmed; empty text: none.
pub fn parse_labels(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Each non-empty entry of a comma-separated list, parsed.
fn comma_list<T, E>(text: &str, parse: impl Fn(&str) -> Result<T, E>) -> Result<Vec<T>, E> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(parse)
        .collect()
}

/// A positive frequency written `13`, `13Hz` or `13 Hz`.
fn target_hz(text: &str) -> Option<f64> {
    let number = text.trim();
    let number = number
        .strip_suffix("Hz")
        .or_else(|| number.strip_suffix("hz"))
        .unwrap_or(number);
    number
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f > 0.0)
}

/// A cue of a recording for a replay: a motor-imagery class or an SSVEP target.
#[derive(Debug, Clone, PartialEq)]
pub enum RecordingCue {
    /// The label cues this motor-imagery class.
    Mi(String, neuroloop_acquisition::MiClass),
    /// The label cues the SSVEP target at this frequency, Hz.
    Ssvep(String, f64),
}

/// One cue of a recording, `LABEL=CLASS`: a motor-imagery class (`T1=left_hand`) or an SSVEP
/// target's frequency (`33025=13Hz`).
pub fn parse_recording_cue(text: &str) -> Result<RecordingCue, String> {
    use neuroloop_acquisition::MiClass;
    let classes = || MiClass::ALL.map(|c| c.name()).join(", ");
    let (label, class) = parse_cue(text)
        .map_err(|e| format!("{e}; a class is one of {} or a frequency (13Hz)", classes()))?;
    if let Some(c) = MiClass::from_name(&class) {
        return Ok(RecordingCue::Mi(label, c));
    }
    match target_hz(&class) {
        Some(hz) => Ok(RecordingCue::Ssvep(label, hz)),
        None => Err(format!(
            "`{}`: `{class}` is neither a motor-imagery class a replay scores ({}) nor an SSVEP target's frequency (e.g. 13Hz)",
            text.trim(),
            classes()
        )),
    }
}

/// What a replay is told about a recording's trials: its `cues` and the labels that mark
/// stimulus onsets.
pub fn file_cues(cues: &[RecordingCue], onsets: &[String]) -> neuroloop_acquisition::FileCues {
    let mut out = neuroloop_acquisition::FileCues {
        onsets: onsets.iter().map(|l| l.trim().to_string()).collect(),
        ..Default::default()
    };
    for cue in cues {
        match cue {
            RecordingCue::Mi(label, class) => out.mi.push((label.clone(), *class)),
            RecordingCue::Ssvep(label, hz) => out.ssvep.push((label.clone(), *hz)),
        }
    }
    out
}

/// The cues of a comma-separated list of `LABEL=CLASS` ([`parse_mi_cue`]); empty text: none.
pub fn parse_mi_cues(text: &str) -> Result<Vec<(String, neuroloop_acquisition::MiClass)>, String> {
    comma_list(text, parse_mi_cue)
}

/// The sampling rate and channels an SSVEP network's card fixes, when `model` is a card with an
/// `[ssvep]` table (a fitted model fixes neither): what a simulated stream needs to feed it.
pub fn ssvep_card_stream(
    model: &Path,
) -> Result<Option<(f64, Vec<String>)>, neuroloop_decoders::onnx::ModelError> {
    if !is_card(model) {
        return Ok(None);
    }
    Ok(ModelCard::read(model)?
        .ssvep
        .map(|c| (c.sample_rate_hz, c.channels)))
}

fn model_error(path: &Path, e: impl std::fmt::Display) -> SpecError {
    SpecError::Model {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The onset-locked SSVEP decoder of a fitted TRCA model file or a network card.
pub fn onset_decoder(path: &Path, margin: f64) -> Result<SsvepOnsetDecoder, SpecError> {
    let err = |e: &dyn std::fmt::Display| model_error(path, e);
    if is_card(path) {
        let card = ModelCard::read(path).map_err(|e| err(&e))?;
        let net = SsvepNet::load(&card).map_err(|e| err(&e))?;
        Ok(SsvepOnsetDecoder::net(net, margin))
    } else {
        let model = SsvepTrcaModel::load(path).map_err(|e| err(&e))?;
        SsvepOnsetDecoder::trca(model, margin).map_err(|e| err(&e))
    }
}

/// Motor-imagery decoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiSpec {
    /// A fitted model (`.json`, from a calibration) or a network card (`.toml`).
    pub model: Option<PathBuf>,
    /// Time between decisions, s.
    pub step_secs: f64,
}

impl Default for MiSpec {
    fn default() -> Self {
        MiSpec {
            model: None,
            step_secs: 0.25,
        }
    }
}

impl MiSpec {
    /// The decoder's settings.
    pub fn decoder_config(&self) -> MiDecoderConfig {
        MiDecoderConfig {
            step_secs: self.step_secs,
            ..MiDecoderConfig::default()
        }
    }

    /// The decoder of the spec's model file or card.
    pub fn decoder(&self) -> Result<SessionDecoder, SpecError> {
        let Some(path) = &self.model else {
            return Err(SpecError::MissingMiModel);
        };
        let err = |e: &dyn std::fmt::Display| model_error(path, e);
        let decoder = if is_card(path) {
            let card = ModelCard::read(path).map_err(|e| err(&e))?;
            MiDecoder::with_net(
                MiNet::load(&card).map_err(|e| err(&e))?,
                self.decoder_config(),
            )
        } else {
            let model = MiModel::load(path).map_err(|e| err(&e))?;
            MiDecoder::new(model, self.decoder_config()).map_err(|e| err(&e))?
        };
        Ok(SessionDecoder::new(decoder, TruthMapping::MiClassName))
    }

    /// The decoder of a model already in memory (fitted in this run).
    pub fn decoder_for(&self, model: MiModel) -> Result<SessionDecoder, SpecError> {
        let decoder = MiDecoder::new(model, self.decoder_config())
            .map_err(|e| SpecError::Setting(format!("the fitted motor-imagery model: {e}")))?;
        Ok(SessionDecoder::new(decoder, TruthMapping::MiClassName))
    }
}

/// Spindle detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpindleDetectorKind {
    /// Causal A7-style rules (sigma power, relative power, covariance, correlation).
    A7,
    /// The neural detector of a model card (default: the shipped spindle network).
    Net,
}

/// What triggers a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StimOn {
    /// Slow-oscillation phase triggers.
    So,
    /// Spindle onsets.
    Spindle,
    /// Nothing: detection only.
    None,
}

/// Sleep: spindle detection, slow-oscillation phase tracking and closed-loop stimulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SleepSpec {
    /// Detect spindles.
    pub spindles: bool,
    /// Spindle detector.
    pub detector: SpindleDetectorKind,
    /// Card of the neural spindle detector (empty: the shipped one).
    pub spindle_model: Option<PathBuf>,
    /// Channel the spindle detector watches (empty: found by name, a central channel such as
    /// Cz, C3 or C4 in the usual spellings, else the first channel).
    pub spindle_channel: Option<String>,
    /// A7 detector: hops (50 ms each) at which a run must meet all four thresholds before its
    /// onset, the spindle trigger, is declared (1: at the first, as A7). More trade delay for
    /// trigger precision; `neuroloop eval spindles` prints the trade-off on real EEG.
    pub spindle_confirm_hops: usize,
    /// Track slow oscillations and fire phase-locked triggers.
    pub slow_oscillations: bool,
    /// Channel of slow-oscillation tracking and the artefact watch (empty: found by name, a
    /// frontal channel such as Fz, else a central one, else the first).
    pub so_channel: Option<String>,
    /// Slow-oscillation phase to hit, degrees (0 = up-state peak).
    pub so_target_deg: f64,
    /// Output latency the slow-oscillation trigger anticipates, ms.
    pub lookahead_ms: f64,
    /// What triggers a burst.
    pub stim_on: StimOn,
    /// Burst amplitude (full scale 1.0).
    pub volume: f32,
    /// Hard cap on the audio output (full scale 1.0).
    pub volume_cap: f32,
    /// Least time between bursts, s.
    pub min_interval_secs: f64,
    /// Most bursts in any minute.
    pub max_per_min: usize,
    /// Amplitude on the slow-oscillation channel taken as an artefact or arousal, µV;
    /// stimulation pauses 5 s after one.
    pub artifact_uv: f64,
    /// Burst length, ms (5 ms raised-cosine ramps).
    pub burst_ms: f64,
    /// High-pass of the front end, Hz: low enough to keep slow oscillations.
    pub highpass_hz: f64,
}

impl Default for SleepSpec {
    fn default() -> Self {
        let policy = StimPolicy::default();
        SleepSpec {
            spindles: true,
            detector: SpindleDetectorKind::A7,
            spindle_model: None,
            spindle_channel: None,
            spindle_confirm_hops: 1,
            slow_oscillations: true,
            so_channel: None,
            so_target_deg: 0.0,
            lookahead_ms: 50.0,
            stim_on: StimOn::So,
            volume: policy.amplitude,
            volume_cap: neuroloop_stimuli::device::AudioConfig::default().volume_cap,
            min_interval_secs: policy.min_interval_secs,
            max_per_min: policy.max_per_minute,
            artifact_uv: policy.artifact_uv,
            burst_ms: neuroloop_stimuli::burst::BurstShape::default().duration_ms,
            highpass_hz: 0.1,
        }
    }
}

impl SleepSpec {
    /// The spindle detector alone (no slow-oscillation tracking, no stimulation).
    pub fn spindles_only() -> Self {
        SleepSpec {
            slow_oscillations: false,
            stim_on: StimOn::None,
            ..SleepSpec::default()
        }
    }

    /// The spindle detector and the slow-oscillation trigger, as enabled.
    pub fn decoders(&self) -> Result<Vec<SessionDecoder>, SpecError> {
        if !self.spindles && !self.slow_oscillations {
            return Err(SpecError::Setting(
                "sleep decoding needs spindle detection, slow-oscillation tracking or both".into(),
            ));
        }
        let mut out = Vec::new();
        if self.spindles {
            out.push(SessionDecoder::new(
                self.spindle_decoder()?,
                TruthMapping::None,
            ));
        }
        if self.slow_oscillations {
            let so = SoDecoder::new(SoDecoderConfig {
                channel: self.so_channel.clone(),
                trigger: SoConfig {
                    target_phase_deg: self.so_target_deg,
                    lookahead_secs: self.lookahead_ms / 1000.0,
                    ..SoConfig::default()
                },
            });
            out.push(SessionDecoder::new(so, TruthMapping::None));
        }
        Ok(out)
    }

    /// The spindle detector of the spec.
    pub fn spindle_decoder(&self) -> Result<SpindleDecoder, SpecError> {
        let channel = self.spindle_channel.clone();
        Ok(match self.detector {
            SpindleDetectorKind::A7 => SpindleDecoder::new(SpindleDecoderConfig {
                channel,
                detector: neuroloop_decoders::sleep::SpindleConfig {
                    confirm_hops: self.spindle_confirm_hops,
                    ..Default::default()
                },
            }),
            SpindleDetectorKind::Net => {
                let card = self.spindle_card()?;
                let net = load_spindle_net(&card).map_err(|e| match &self.spindle_model {
                    Some(p) => model_error(p, e),
                    None => SpecError::ShippedModel(e.to_string()),
                })?;
                SpindleDecoder::with_engine(channel, SpindleEngine::Net(net))
            }
        })
    }

    /// The neural detector's card: the spec's, or the shipped one.
    pub fn spindle_card(&self) -> Result<ModelCard, SpecError> {
        match &self.spindle_model {
            Some(path) => ModelCard::read(path).map_err(|e| model_error(path, e)),
            None => ModelCard::shipped(SPINDLE_NET_CARD)
                .map_err(|e| SpecError::ShippedModel(e.to_string())),
        }
    }

    /// The stimulation policy (`None` when nothing triggers bursts).
    pub fn stimulation(&self, dry_run: bool) -> Result<Option<StimulationSpec>, SpecError> {
        let trigger = match self.stim_on {
            StimOn::None => return Ok(None),
            StimOn::So => StimTrigger::SlowOscillation,
            StimOn::Spindle => StimTrigger::SpindleOnset,
        };
        if !(0.0..=1.0).contains(&self.volume_cap)
            || !(0.0..=self.volume_cap).contains(&self.volume)
        {
            return Err(SpecError::VolumeAboveCap {
                volume: self.volume,
                cap: self.volume_cap,
            });
        }
        Ok(Some(StimulationSpec {
            policy: StimPolicy {
                trigger,
                min_interval_secs: self.min_interval_secs,
                max_per_minute: self.max_per_min,
                artifact_uv: self.artifact_uv,
                amplitude: self.volume,
                dry_run,
                ..StimPolicy::default()
            },
            artifact_channel: self.so_channel.clone(),
            audio: neuroloop_stimuli::device::AudioConfig {
                shape: neuroloop_stimuli::burst::BurstShape {
                    duration_ms: self.burst_ms,
                    amplitude: self.volume,
                    ..Default::default()
                },
                volume_cap: self.volume_cap,
                // Spindle onsets are due as soon as they are declared: allow the output
                // latency.
                max_late_secs: 0.1,
                ..Default::default()
            },
            allow_no_audio: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};

    #[test]
    fn motor_imagery_cues_are_parsed_or_refused_with_the_fix() {
        use neuroloop_acquisition::MiClass;
        assert_eq!(
            parse_mi_cues(" T1=left_hand, T2 = right_hand ,").unwrap(),
            [
                ("T1".to_string(), MiClass::LeftHand),
                ("T2".to_string(), MiClass::RightHand)
            ]
        );
        assert!(parse_mi_cues("  ").unwrap().is_empty());
        let e = parse_mi_cues("T1=left_hand, T2").unwrap_err();
        assert!(e.starts_with("`T2` is not LABEL=CLASS"), "{e}");
        let e = parse_mi_cue("=feet").unwrap_err();
        assert!(e.contains("names no label"), "{e}");
        let e = parse_mi_cue("769=tongue").unwrap_err();
        assert!(
            e.contains("name one of left_hand, right_hand, feet, rest"),
            "{e}"
        );
    }

    #[test]
    fn recording_cues_name_a_class_or_a_frequency() {
        use neuroloop_acquisition::MiClass;
        assert_eq!(
            parse_recording_cue("T1=left_hand").unwrap(),
            RecordingCue::Mi("T1".into(), MiClass::LeftHand)
        );
        for text in ["33025=13", "33025=13Hz", " 33025 = 13 Hz "] {
            assert_eq!(
                parse_recording_cue(text).unwrap(),
                RecordingCue::Ssvep("33025".into(), 13.0)
            );
        }
        let e = parse_recording_cue("769=tongue").unwrap_err();
        assert!(e.contains("left_hand") && e.contains("13Hz"), "{e}");
        assert!(parse_recording_cue("A=-3Hz").is_err());
        assert_eq!(
            parse_ssvep_cues("33025=13, 33026=21Hz,").unwrap(),
            [("33025".to_string(), 13.0), ("33026".to_string(), 21.0)]
        );
        let e = parse_ssvep_cues("33025=left_hand").unwrap_err();
        assert!(e.contains("33025=13Hz"), "{e}");
        let cues = file_cues(
            &[
                RecordingCue::Ssvep("33025".into(), 13.0),
                RecordingCue::Mi("T1".into(), MiClass::LeftHand),
            ],
            &[" 32779 ".into()],
        );
        assert_eq!(cues.onsets, ["32779"]);
        assert_eq!(cues.ssvep, [("33025".to_string(), 13.0)]);
        assert_eq!(cues.mi, [("T1".to_string(), MiClass::LeftHand)]);
    }

    #[test]
    fn every_paradigm_builds_its_decoders_from_its_defaults() {
        assert!(ParadigmSpec::Monitor.decoders().unwrap().is_empty());
        let ssvep = ParadigmSpec::Ssvep(SsvepSpec::default())
            .decoders()
            .unwrap();
        assert_eq!(ssvep.len(), 1);
        assert_eq!(ssvep[0].info.class_names, ["7Hz", "8.5Hz", "12Hz", "15Hz"]);
        assert_eq!(ssvep[0].info.truth, TruthMapping::SsvepTargetIndex);
        let sleep = ParadigmSpec::Sleep(SleepSpec::default())
            .decoders()
            .unwrap();
        let names: Vec<&str> = sleep.iter().map(|d| d.info.name.as_str()).collect();
        assert_eq!(names, ["spindle-a7", "so-phase"]);
        let only = SleepSpec::spindles_only();
        assert_eq!(only.decoders().unwrap().len(), 1);
        assert!(only.stimulation(true).unwrap().is_none());
        // A motor-imagery session needs a model, and says how to get one.
        let err = ParadigmSpec::Mi(MiSpec::default()).decoders().unwrap_err();
        assert!(err.to_string().contains("fit one"), "{err}");
    }

    #[test]
    fn sleep_keeps_slow_oscillations_and_stimulates_on_them_by_default() {
        let spec = ParadigmSpec::Sleep(SleepSpec::default());
        assert_eq!(spec.front_end().highpass_hz, Some(0.1));
        assert_eq!(ParadigmSpec::Monitor.front_end(), FrontEnd::default());
        let stim = spec.stimulation(true).unwrap().expect("stimulation");
        assert_eq!(stim.policy.trigger, StimTrigger::SlowOscillation);
        assert!(stim.policy.dry_run);
        assert!(!spec.stimulation(false).unwrap().unwrap().policy.dry_run);
        let loud = SleepSpec {
            volume: 0.8,
            ..SleepSpec::default()
        };
        let err = loud.stimulation(true).unwrap_err().to_string();
        assert!(err.contains("volume cap"), "{err}");
        assert!(!err.contains("--"), "{err}");
    }

    #[test]
    fn the_user_s_filters_go_over_the_paradigm_s() {
        let sleep = ParadigmSpec::Sleep(SleepSpec::default()).front_end();
        let mains_60 = FrontEndChoice {
            notch_hz: Some(60.0),
            ..FrontEndChoice::default()
        };
        let fe = mains_60.over(&sleep);
        assert_eq!((fe.highpass_hz, fe.notch_hz), (Some(0.1), Some(60.0)));
        let off = FrontEndChoice {
            highpass_hz: Some(0.0),
            ..FrontEndChoice::default()
        };
        assert_eq!(off.over(&sleep).highpass_hz, None);
    }

    #[test]
    fn specs_round_trip_through_toml_and_fill_missing_fields() {
        let spec = ParadigmSpec::Sleep(SleepSpec {
            spindle_channel: Some("C3-A1".into()),
            stim_on: StimOn::Spindle,
            ..SleepSpec::default()
        });
        let text = toml::to_string(&spec).unwrap();
        assert_eq!(toml::from_str::<ParadigmSpec>(&text).unwrap(), spec);
        let partial: ParadigmSpec =
            toml::from_str("paradigm = \"ssvep\"\nwindow_secs = 1.5\n").unwrap();
        let ParadigmSpec::Ssvep(s) = partial else {
            panic!("{partial:?}")
        };
        assert_eq!(s.window_secs, 1.5);
        assert_eq!(s.targets_hz, SsvepSpec::default().targets_hz);
    }

    #[test]
    fn an_onset_model_must_match_the_simulated_targets() {
        let card = neuroloop_decoders::onnx::shipped_models_dir().join("ssvep-net.toml");
        let spec = ParadigmSpec::Ssvep(SsvepSpec {
            model: Some(card),
            ..SsvepSpec::default()
        });
        let source = crate::SourceSpec::simulator(SimConfig {
            scenario: Scenario::Ssvep(SsvepScenario::default()),
            ..SimConfig::default()
        });
        match SessionConfig::new(source).paradigm(&spec, true) {
            // Without ONNX Runtime the card cannot load; the mismatch is what is checked.
            Err(SpecError::Model { .. }) => {}
            Err(SpecError::TargetMismatch { fitted, shown }) => {
                assert_eq!(fitted, [13.0, 17.0, 21.0]);
                assert_eq!(shown, [7.0, 8.5, 12.0, 15.0]);
            }
            other => panic!("{other:?}"),
        }
    }
}
