//! A running session: the acquisition, worker and output threads and what they share.
//!
//! Start-up ([`start`]) is the only phase that allocates or waits: the acquisition thread
//! opens its source (LSL handles must live on the thread that uses them) and reports the
//! stream's description; the ring, filters and decoders are then sized for it, and the worker
//! and output threads start. After that, data flows through lock-free rings only.

mod config;
mod problems;
pub mod start;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use neuroloop_acquisition::source::AcquisitionSummary;
use neuroloop_acquisition::{SourceError, StreamMeta};
use neuroloop_dsp::front_end::FrontEnd;

pub use config::{SessionConfig, SessionDecoder, SourceSpec, StimulationSpec};
pub use problems::{Problem, Severity};
pub use start::fault;

use crate::outputs::{DecoderInfo, SharedLog};
use crate::worker::{PipelineError, PipelineStats, ScopeReceiver};

/// Why a session could not start. Whatever had been started is stopped again, and a
/// recording already created is closed with its footers.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The source could not be opened.
    #[error("opening the source: {0}")]
    Source(#[from] SourceError),
    /// The source stopped while the session was being prepared.
    #[error("the source stopped while the session was starting: start it again")]
    AcquisitionStopped,
    /// Filters or decoders cannot run on this stream.
    #[error("preparing the pipeline: {0}")]
    Pipeline(#[from] PipelineError),
    /// Stimulation was asked for on a trigger no decoder produces.
    #[error(
        "stimulation on {trigger} needs a decoder that declares {class}: turn that detector on, or stimulate on another trigger"
    )]
    NoTriggerDecoder {
        /// The trigger's name.
        trigger: &'static str,
        /// The class a decoder must declare.
        class: &'static str,
    },
    /// The artefact channel of stimulation is not in the stream.
    #[error("the artefact channel of stimulation: {0}")]
    ArtifactChannel(neuroloop_decoders::DecoderError),
    /// Stimulation with sound was asked for and the audio output cannot start.
    #[error("{0}")]
    Audio(neuroloop_stimuli::device::AudioError),
    /// The recording could not be created.
    #[error("creating the recording {path}: {reason}; choose a writable recording path")]
    Recording {
        /// The file asked for.
        path: std::path::PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A decoder that decides at stimulus onsets runs on a recording that marks none.
    #[error(
        "{decoders} decides at stimulus onsets, and no annotation of the recording is known to mark one ({annotations}): name the label that marks each onset with --onset LABEL (and the targets with --cue LABEL=HZ to score it), or decode with the sliding-window method (no --ssvep-model)"
    )]
    NoOnsets {
        /// The onset-locked decoders, by name.
        decoders: String,
        /// The recording's annotation labels with their counts, or that it has none.
        annotations: String,
    },
    /// A cue or onset label named for a recording is none of its annotations' labels.
    #[error(
        "the label {label} (given as the recording's {role}) is not in the recording ({annotations}): correct it (labels match whole and exactly)"
    )]
    UnknownLabel {
        /// The label given.
        label: String,
        /// What it was given as: `cue` or `onset`.
        role: &'static str,
        /// The recording's annotation labels with their counts.
        annotations: String,
    },
    /// A recording's SSVEP cue names a frequency the decoder has no target at.
    #[error(
        "the cue {label}={hz} Hz names no target of {decoder} ({targets}): {}",
        if *by_model {
            "a model decodes its own targets only; correct the cue"
        } else {
            "give the decoder the recording's frequencies with --targets, or correct the cue"
        }
    )]
    CueTarget {
        /// The annotation label.
        label: String,
        /// The frequency it was given.
        hz: f64,
        /// The decoder's name.
        decoder: String,
        /// Its targets.
        targets: String,
        /// Whether the decoder is a model (whose targets are its own).
        by_model: bool,
    },
    /// The operating system refused a thread.
    #[error("starting the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
    /// A failure made on purpose by a test (`fault::inject`, with the `fault-injection` feature).
    #[cfg(any(test, feature = "fault-injection"))]
    #[error("start-up failure injected at {0:?}")]
    Injected(fault::StartStep),
}

/// Handle to a running session.
pub struct Session {
    /// Description of the stream being processed.
    pub meta: StreamMeta,
    /// Description of the front-end filter chain actually applied.
    pub front_end: String,
    /// The front end's settings.
    pub front_end_config: FrontEnd,
    /// Mains frequency the front end notches (`None`: the notch is off).
    mains_hz: Option<f64>,
    /// How the notch's frequency was chosen (as set, the source's mains, or assumed).
    pub mains: String,
    /// Whether the notch's frequency was assumed (the source did not say its mains): a
    /// window then checks it against the spectra.
    pub mains_assumed: bool,
    /// Shared counters.
    pub stats: Arc<PipelineStats>,
    /// Decision log (try-locked by the output thread; lock it briefly).
    pub log: SharedLog,
    /// Display feed, if requested.
    pub scope: Option<ScopeReceiver>,
    /// Decoder descriptions, in decision `decoder` index order.
    pub decoders: Vec<DecoderInfo>,
    /// The session recording, if one is being made.
    pub record_path: Option<std::path::PathBuf>,
    /// Frames the source will deliver, when known (files).
    pub total_frames: Option<u64>,
    /// Pause, speed and seek of a file replayed against the clock (`None` otherwise).
    pub replay: Option<Arc<neuroloop_acquisition::replay::ReplayControl>>,
    /// The session's threads; stopping it stops and joins them.
    threads: start::SessionThreads,
    source_finished: Arc<AtomicBool>,
    acquisition_error: Arc<Mutex<Option<String>>>,
    started_at: f64,
    /// The audio output of closed-loop stimulation; dropped (silenced) with the session.
    audio: Option<neuroloop_stimuli::device::AudioOutput>,
    ui_events: Option<crate::outputs::UiEventSender>,
}

/// Totals of a finished session.
#[derive(Debug, Clone, Default)]
pub struct SessionOutcome {
    /// What the acquisition thread saw.
    pub acquisition: AcquisitionSummary,
    /// The error that ended acquisition, if any.
    pub acquisition_error: Option<String>,
    /// Wall-clock duration of the session.
    pub wall_secs: f64,
}

impl Session {
    /// Asks the output thread to start recording the session to `path` (XDF) from now on,
    /// without waiting; false when the window's event sender was taken or its ring is full.
    /// Whether the file could be made shows in [`Session::recordings`] or the log's errors.
    pub fn start_recording(&mut self, path: std::path::PathBuf) -> bool {
        self.ui_events
            .as_mut()
            .is_some_and(|tx| tx.send(crate::outputs::UiEvent::StartRecording(path)))
    }

    /// Asks the output thread to close the recording being written (footers written, file
    /// synced); false when the window's event sender was taken or its ring is full.
    pub fn stop_recording(&mut self) -> bool {
        self.ui_events
            .as_mut()
            .is_some_and(|tx| tx.send(crate::outputs::UiEvent::StopRecording))
    }

    /// Every recording file of the session so far, the one being written (if any) last, with
    /// its frames, bytes and duration (read from the output log without waiting).
    pub fn recordings(&self) -> Vec<crate::record::RecordingStatus> {
        self.log
            .try_lock()
            .map(|l| l.recordings.clone())
            .unwrap_or_default()
    }

    /// The sender for what the window presents (frames, stimulus markers), handed out once:
    /// the output thread writes its events to the recording and the marker stream.
    pub fn take_ui_events(&mut self) -> Option<crate::outputs::UiEventSender> {
        self.ui_events.take()
    }

    /// Appends to `out` the decisions of decoder `decoder` stamped after `seen_until` that the
    /// log holds, and moves `seen_until` to the newest. Never waits: when the output thread
    /// holds the log, nothing is added and the next call catches up (the log keeps the
    /// latest few hundred decisions).
    pub fn new_decisions(
        &self,
        decoder: u16,
        seen_until: &mut f64,
        out: &mut Vec<neuroloop_decoders::Decision>,
    ) {
        let Ok(log) = self.log.try_lock() else {
            return;
        };
        for d in log.recent.iter().filter(|d| d.record.decoder == decoder) {
            if d.record.decision.sample_time > *seen_until {
                out.push(d.record.decision);
                *seen_until = d.record.decision.sample_time;
            }
        }
    }

    /// Whether the source has ended (end of a simulated duration or file) or failed.
    pub fn source_finished(&self) -> bool {
        self.source_finished.load(Ordering::Acquire)
    }

    /// The error that stopped acquisition, if it failed (the GUI shows it).
    pub fn acquisition_error(&self) -> Option<String> {
        self.acquisition_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Mains frequency of the session's front end (its notch), `None` when the notch is off.
    pub fn line_hz(&self) -> Option<f64> {
        self.mains_hz
    }

    /// The audio output of closed-loop stimulation, when one is open (not in dry run).
    pub fn audio_output(&self) -> Option<&neuroloop_stimuli::device::AudioOutput> {
        self.audio.as_ref()
    }

    /// Seconds since start.
    pub fn elapsed_secs(&self) -> f64 {
        neuroloop_acquisition::clock::local_clock() - self.started_at
    }

    /// Stops acquisition, lets the worker and outputs drain, and joins every thread.
    pub fn stop(mut self) -> SessionOutcome {
        self.stop_in_place()
    }

    /// Like [`Session::stop`], but keeps the handle so its counters and log can still be read.
    pub fn stop_in_place(&mut self) -> SessionOutcome {
        let (acquisition, acquisition_error) = self.threads.stop_all();
        SessionOutcome {
            acquisition,
            acquisition_error,
            wall_secs: self.elapsed_secs(),
        }
    }
}

impl Drop for Session {
    /// Joins the threads before the audio output (a field dropped after this) is silenced.
    fn drop(&mut self) {
        if self.threads.holds_threads() {
            self.threads.stop_all();
        }
    }
}
