//! What a session is made of, as plain values: the source, the front end, the decoders, the
//! outputs and the closed-loop stimulation. [`SessionConfig::new`] starts from the defaults and
//! [`SessionConfig::paradigm`] adds what a [`crate::spec::ParadigmSpec`] asks for, so every
//! entry point builds its session the same way.

use std::path::PathBuf;

use neuroloop_acquisition::lsl_io::{LslInletConfig, LslSource, Republish};
use neuroloop_acquisition::sim::{Scenario, SimConfig};
use neuroloop_acquisition::source::SimSource;
use neuroloop_acquisition::{FileSource, Pacing, Source, SourceError};
use neuroloop_decoders::Decoder;
use neuroloop_dsp::front_end::FrontEnd;

use crate::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use crate::stimulation::{StimPolicy, StimTrigger};

/// Where samples come from.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// The built-in simulator.
    Simulator {
        /// What to simulate.
        config: SimConfig,
        /// Delivery speed.
        pacing: Pacing,
        /// Frames per chunk (0: 10 ms).
        chunk_frames: usize,
        /// Stop after this much simulated time (`None`: until stopped).
        duration_secs: Option<f64>,
        /// Fixed LSL time of the first frame (`None`: the clock at start). Fixing it makes
        /// max-speed runs reproducible down to their timestamps.
        time_origin: Option<f64>,
    },
    /// An LSL stream.
    Lsl(LslInletConfig),
    /// A recorded file, replayed.
    File {
        /// The recording (any format `neuroloop_formats::read_recording` reads).
        path: PathBuf,
        /// Channels to replay, by label (empty: all at the main rate).
        channels: Vec<String>,
        /// Delivery speed.
        pacing: Pacing,
        /// Also publish the replayed samples on an LSL outlet of this name.
        lsl_outlet: Option<String>,
        /// Annotation labels that cue a class or mark a stimulus onset, besides the
        /// application's own markers ([`FileSource::with_cues`]).
        cues: neuroloop_acquisition::FileCues,
    },
}

impl SourceSpec {
    /// The simulator running `config` in real time until stopped.
    pub fn simulator(config: SimConfig) -> Self {
        SourceSpec::Simulator {
            config,
            pacing: Pacing::REAL_TIME,
            chunk_frames: 0,
            duration_secs: None,
            time_origin: None,
        }
    }

    /// The EEG stream called `name` on LSL, waited for as long as the inlet's default.
    pub fn lsl_named(name: &str) -> Self {
        SourceSpec::Lsl(LslInletConfig {
            name: Some(name.to_string()),
            ..LslInletConfig::default()
        })
    }

    /// A recording replayed at `pacing`, every channel at its main rate.
    pub fn file(path: impl Into<PathBuf>, pacing: Pacing) -> Self {
        SourceSpec::File {
            path: path.into(),
            channels: Vec::new(),
            pacing,
            lsl_outlet: None,
            cues: neuroloop_acquisition::FileCues::default(),
        }
    }

    /// Opens the source (on the thread that will read it: LSL handles are not `Send`).
    pub(crate) fn open(&self) -> Result<Box<dyn Source>, SourceError> {
        match self {
            SourceSpec::Simulator {
                config,
                pacing,
                chunk_frames,
                duration_secs,
                time_origin,
            } => {
                let mut s = SimSource::new(config.clone(), *pacing, *chunk_frames)?;
                if let Some(d) = duration_secs {
                    s = s.with_duration(*d);
                }
                if let Some(t) = time_origin {
                    s = s.with_time_origin(*t);
                }
                Ok(Box::new(s))
            }
            SourceSpec::Lsl(cfg) => Ok(Box::new(LslSource::open(cfg.clone())?)),
            SourceSpec::File {
                path,
                channels,
                pacing,
                lsl_outlet,
                cues,
            } => {
                let file = Box::new(FileSource::open(path, channels, *pacing, 0)?.with_cues(cues));
                match lsl_outlet {
                    Some(name) => Ok(Box::new(Republish::new(file, name)?)),
                    None => Ok(file),
                }
            }
        }
    }

    /// How many times faster than real time the source delivers (1 for live streams; maximum
    /// speed counts as 1 because the pipeline then waits for its consumers).
    pub fn speed(&self) -> f64 {
        match self {
            SourceSpec::Simulator { pacing, .. } | SourceSpec::File { pacing, .. } => {
                match pacing {
                    Pacing::Speed(f) => *f,
                    Pacing::Max => 1.0,
                }
            }
            SourceSpec::Lsl(_) => 1.0,
        }
    }

    /// The fastest the source may deliver while it runs: its speed, or for a file replayed
    /// against the clock the fastest its controls allow
    /// ([`neuroloop_acquisition::replay::MAX_REPLAY_SPEED`]).
    pub fn fastest_speed(&self) -> f64 {
        match self {
            SourceSpec::File {
                pacing: Pacing::Speed(f),
                ..
            } => f.max(neuroloop_acquisition::replay::MAX_REPLAY_SPEED),
            _ => self.speed(),
        }
    }

    /// Whether the source has no clock of its own (maximum speed), so the whole pipeline may
    /// wait for its consumers instead of dropping.
    pub fn is_consumer_paced(&self) -> bool {
        match self {
            SourceSpec::Simulator { pacing, .. } | SourceSpec::File { pacing, .. } => {
                *pacing == Pacing::Max
            }
            SourceSpec::Lsl(_) => false,
        }
    }

    /// Whether timestamps follow the wall clock (so latency from the sample stamp means
    /// something).
    pub fn is_clocked(&self) -> bool {
        match self {
            SourceSpec::Simulator { pacing, .. } => *pacing == Pacing::REAL_TIME,
            SourceSpec::Lsl(_) => true,
            // File stamps are scaled onto the clock at any finite speed.
            SourceSpec::File { pacing, .. } => matches!(pacing, Pacing::Speed(_)),
        }
    }

    /// The targets the simulator flickers, when it simulates SSVEP trials.
    pub fn simulated_targets_hz(&self) -> Option<Vec<f64>> {
        match self {
            SourceSpec::Simulator { config, .. } => match &config.scenario {
                Scenario::Ssvep(s) => Some(s.targets.iter().map(|t| t.freq_hz).collect()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A decoder of a session, with what its classes mean.
pub struct SessionDecoder {
    /// The decoder, moved to the worker at start.
    pub decoder: Box<dyn Decoder>,
    /// Its name and classes, for markers, scoring and display.
    pub info: DecoderInfo,
}

impl SessionDecoder {
    /// `decoder`, its classes compared with the source's ground truth by `truth`.
    pub fn new(decoder: impl Decoder + 'static, truth: TruthMapping) -> Self {
        Self::boxed(Box::new(decoder), truth)
    }

    /// A decoder already boxed.
    pub fn boxed(decoder: Box<dyn Decoder>, truth: TruthMapping) -> Self {
        let info = DecoderInfo::of(decoder.as_ref(), truth);
        SessionDecoder { decoder, info }
    }
}

impl std::fmt::Debug for SessionDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionDecoder")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Closed-loop stimulation of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct StimulationSpec {
    /// Policy (trigger, safety limits, amplitude, dry run).
    pub policy: StimPolicy,
    /// Channel watched for artefacts (`None`: the slow-oscillation tracker's channel rule: a
    /// frontal channel, else a central one, else the first).
    pub artifact_channel: Option<String>,
    /// Audio output settings (ignored in dry run).
    pub audio: neuroloop_stimuli::device::AudioConfig,
    /// Whether a session whose audio output cannot start goes on as a dry run (the error
    /// among the session's problems) instead of failing to start.
    pub allow_no_audio: bool,
}

impl StimulationSpec {
    /// Stimulation on `trigger` under the default policy, logged without sound.
    pub fn dry_run(trigger: StimTrigger, artifact_channel: Option<String>) -> Self {
        StimulationSpec {
            policy: StimPolicy {
                trigger,
                dry_run: true,
                ..Default::default()
            },
            artifact_channel,
            audio: Default::default(),
            allow_no_audio: false,
        }
    }
}

/// Everything a session needs. Start from [`SessionConfig::new`] and add to it.
#[derive(Debug)]
pub struct SessionConfig {
    /// The source.
    pub source: SourceSpec,
    /// Filters applied before the decoders.
    pub front_end: FrontEnd,
    /// Decoders, each with what its classes mean.
    pub decoders: Vec<SessionDecoder>,
    /// Outputs.
    pub outputs: OutputConfig,
    /// Sample ring length in seconds of data.
    pub ring_secs: f64,
    /// Whether a window will read the display feeds (and may start recordings).
    pub with_window: bool,
    /// Closed-loop stimulation, if any.
    pub stimulation: Option<StimulationSpec>,
    /// Whether the notch follows the mains the source declares or shows (its frequency in
    /// `front_end` is then the fallback), rather than the one `front_end` names.
    pub mains_auto: bool,
}

impl SessionConfig {
    /// A session on `source` with the default front end, no decoder, decisions published on
    /// the `neuroloop-markers` LSL stream, no recording, no window and no stimulation.
    pub fn new(source: SourceSpec) -> Self {
        SessionConfig {
            source,
            front_end: FrontEnd::default(),
            decoders: Vec::new(),
            outputs: OutputConfig::default(),
            ring_secs: neuroloop_acquisition::ring::DEFAULT_RING_SECS,
            with_window: false,
            stimulation: None,
            mains_auto: false,
        }
    }

    /// The front end (instead of the paradigm's).
    pub fn front_end(mut self, front_end: FrontEnd) -> Self {
        self.front_end = front_end;
        self
    }

    /// One more decoder.
    pub fn decoder(mut self, decoder: SessionDecoder) -> Self {
        self.decoders.push(decoder);
        self
    }

    /// The LSL marker stream decisions are published on (`None`: no LSL output).
    pub fn markers(mut self, stream: Option<String>) -> Self {
        self.outputs.marker_stream = stream;
        self
    }

    /// Records the whole session to this XDF file.
    pub fn record(mut self, path: Option<PathBuf>) -> Self {
        self.outputs.record = path;
        self
    }

    /// Whether a window reads the display feeds (and may start and stop recordings).
    pub fn with_window(mut self, window: bool) -> Self {
        self.with_window = window;
        self
    }

    /// Whether the notch follows the source's mains (declared, or detected in a recording's
    /// first seconds), the front end's frequency being the fallback.
    pub fn mains_auto(mut self, auto: bool) -> Self {
        self.mains_auto = auto;
        self
    }

    /// Closed-loop stimulation (instead of the paradigm's).
    pub fn stimulation(mut self, stimulation: Option<StimulationSpec>) -> Self {
        self.stimulation = stimulation;
        self
    }
}
