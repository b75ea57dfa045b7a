//! A running session: the acquisition, worker and output threads and what they share.
//!
//! Start-up is the only phase that allocates or waits: the acquisition thread opens its
//! source (LSL handles must live on the thread that uses them) and reports the stream's
//! description; the ring, filters and decoders are then sized for it, and the worker and
//! output threads start. After that, data flows through lock-free rings only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use anyhow::{Context, anyhow};
use neuroloop_acquisition::lsl_io::{LslInletConfig, LslSource, Republish};
use neuroloop_acquisition::ring::{self, RingShape};
use neuroloop_acquisition::sim::SimConfig;
use neuroloop_acquisition::source::{AcquisitionSummary, SimSource, run_acquisition};
use neuroloop_acquisition::{FileSource, Pacing, Source, SourceError, StreamMeta};
use neuroloop_decoders::Decoder;

use crate::outputs::{DecoderInfo, OutputConfig, OutputContext, OutputLog, SharedLog, run_outputs};
use crate::pipeline::{FrontEnd, PipelineStats, ScopeFeed, ScopeReceiver, Worker};
use crate::record::{Recording, SessionRecorder, record_feed};
use ringbuf::traits::Split as _;

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
        /// The recording (XDF, EDF/BDF).
        path: std::path::PathBuf,
        /// Channels to replay, by label (empty: all at the main rate).
        channels: Vec<String>,
        /// Delivery speed.
        pacing: Pacing,
        /// Also publish the replayed samples on an LSL outlet of this name.
        lsl_outlet: Option<String>,
    },
}

impl SourceSpec {
    fn open(&self) -> Result<Box<dyn Source>, SourceError> {
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
            } => {
                let file = Box::new(FileSource::open(path, channels, *pacing, 0)?);
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
}

/// What the acquisition thread reports once its source is open.
struct StartInfo {
    meta: StreamMeta,
    max_chunk: usize,
    total_frames: Option<u64>,
    annotation_texts: Vec<String>,
}

/// Everything a session needs.
pub struct SessionConfig {
    /// The source.
    pub source: SourceSpec,
    /// Filters applied before the decoders.
    pub front_end: FrontEnd,
    /// Decoders, each with what its classes mean.
    pub decoders: Vec<(Box<dyn Decoder>, DecoderInfo)>,
    /// Outputs.
    pub outputs: OutputConfig,
    /// Sample ring length in seconds of data.
    pub ring_secs: f64,
    /// Whether a GUI will read the display feed.
    pub with_scope: bool,
    /// Closed-loop stimulation, if any.
    pub stimulation: Option<StimulationSpec>,
}

/// Closed-loop stimulation of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct StimulationSpec {
    /// Policy (trigger, safety limits, amplitude, dry run).
    pub policy: crate::stimulation::StimPolicy,
    /// Channel watched for artefacts (default: the first).
    pub artifact_channel: Option<String>,
    /// Audio output settings (ignored in dry run).
    pub audio: neuroloop_stimuli::device::AudioConfig,
}

impl StimulationSpec {
    /// Stimulation on `trigger` under the default policy, logged without sound.
    pub fn dry_run(
        trigger: crate::stimulation::StimTrigger,
        artifact_channel: Option<String>,
    ) -> Self {
        StimulationSpec {
            policy: crate::stimulation::StimPolicy {
                trigger,
                dry_run: true,
                ..Default::default()
            },
            artifact_channel,
            audio: Default::default(),
        }
    }
}

/// How serious a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Data or function is being lost now.
    Error,
    /// Something happened that the user should know about; the session goes on normally.
    Warning,
}

/// Something wrong with a running session, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// How serious it is.
    pub severity: Severity,
    /// What happened and the fix.
    pub text: String,
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
    stop: Arc<AtomicBool>,
    worker_stop: Arc<AtomicBool>,
    outputs_done: Arc<AtomicBool>,
    acquisition: Option<JoinHandle<Result<AcquisitionSummary, SourceError>>>,
    worker: Option<JoinHandle<()>>,
    outputs: Option<JoinHandle<()>>,
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
    /// Starts the threads. Returns once the source is open and the pipeline is prepared, or
    /// with the error that prevented it.
    pub fn start(cfg: SessionConfig) -> anyhow::Result<Session> {
        let started_at = neuroloop_acquisition::clock::local_clock();
        let stop = Arc::new(AtomicBool::new(false));
        let source_finished = Arc::new(AtomicBool::new(false));
        let (meta_tx, meta_rx) = mpsc::channel::<Result<StartInfo, SourceError>>();
        let (writer_tx, writer_rx) = mpsc::channel::<ring::SampleWriter>();
        let source_spec = cfg.source.clone();
        let acq_stop = Arc::clone(&stop);
        let acq_finished = Arc::clone(&source_finished);
        let acquisition_error = Arc::new(Mutex::new(None));
        let acq_error = Arc::clone(&acquisition_error);
        let acquisition = std::thread::Builder::new()
            .name("neuroloop-acquisition".into())
            .spawn(move || {
                let result = (|| {
                    let mut source = match source_spec.open() {
                        Ok(s) => s,
                        Err(e) => {
                            // Reported through the start-up channel; nothing more to do here.
                            let _ = meta_tx.send(Err(e));
                            return Ok(AcquisitionSummary::default());
                        }
                    };
                    let _ = meta_tx.send(Ok(StartInfo {
                        meta: source.meta().clone(),
                        max_chunk: source.max_chunk_frames(),
                        total_frames: source.total_frames(),
                        annotation_texts: source.annotation_texts().to_vec(),
                    }));
                    // Start-up hand-shake: the main thread sizes the ring for this stream.
                    let Ok(mut writer) = writer_rx.recv() else {
                        return Ok(AcquisitionSummary::default());
                    };
                    run_acquisition(source.as_mut(), &mut writer, &acq_stop)
                })();
                if let Err(e) = &result {
                    *acq_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
                }
                acq_finished.store(true, Ordering::Release);
                result
            })
            .context("starting the acquisition thread")?;
        let StartInfo {
            meta,
            max_chunk,
            total_frames,
            annotation_texts,
        } = match meta_rx.recv() {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                let _ = acquisition.join();
                return Err(anyhow!(e)).context("opening the source");
            }
            Err(_) => {
                let _ = acquisition.join();
                return Err(anyhow!("the acquisition thread stopped during start-up"));
            }
        };
        let capacity_frames = ((cfg.ring_secs * meta.sample_rate_hz) as usize).max(4 * max_chunk);
        let (writer, reader) = ring::sample_ring(RingShape {
            channels: meta.channels(),
            capacity_frames,
            max_chunk_frames: max_chunk,
        });
        let stats = Arc::new(PipelineStats::new(
            Arc::clone(writer.stats()),
            cfg.decoders.len(),
        ));
        let (scope_feed, scope_rx) = if cfg.with_scope {
            let (f, r) = ScopeFeed::new(meta.channels(), meta.sample_rate_hz);
            (Some(f), Some(r))
        } else {
            (None, None)
        };
        let mains_hz = cfg.front_end.notch_hz;
        let (decoders, infos): (Vec<_>, Vec<_>) = cfg.decoders.into_iter().unzip();
        let worker_result = Worker::new(
            reader,
            &meta,
            &cfg.front_end,
            decoders,
            Arc::clone(&stats),
            scope_feed,
        );
        let (mut worker, output_rx) = match worker_result {
            Ok(w) => w,
            Err(e) => {
                stop.store(true, Ordering::Release);
                drop(writer_tx);
                let _ = acquisition.join();
                return Err(anyhow!(e)).context("preparing the pipeline");
            }
        };
        worker.set_lossless(cfg.source.is_consumer_paced());
        worker.set_annotation_texts(&annotation_texts);
        let (onset_tx, onset_rx) = ringbuf::HeapRb::<f64>::new(64).split();
        worker.set_onset_ring(onset_rx);
        let mut startup_errors = Vec::new();
        let mut audio = None;
        if let Some(spec) = &cfg.stimulation {
            match start_stimulation(spec, &infos, &meta, &mut startup_errors) {
                Ok((controller, output)) => {
                    worker.set_stimulation(controller);
                    audio = output;
                }
                Err(e) => {
                    stop.store(true, Ordering::Release);
                    drop(writer_tx);
                    let _ = acquisition.join();
                    return Err(e);
                }
            }
        }
        // The recording file is created before any sample flows, so a bad path fails here.
        // Sessions with a window keep the feed, so that recordings can start and stop while
        // they run.
        let mut recording = Recording::none(meta.clone());
        if cfg.outputs.record.is_some() || cfg.with_scope {
            let (feed, rx) = record_feed(meta.channels(), meta.sample_rate_hz, cfg.source.speed());
            let made = if cfg.with_scope {
                let mut r = Recording::on_demand(meta.clone(), annotation_texts.clone(), rx);
                match &cfg.outputs.record {
                    Some(path) => r.start_with_session(path).map(|()| r),
                    None => Ok(r),
                }
            } else {
                let path = cfg
                    .outputs
                    .record
                    .as_deref()
                    .unwrap_or(std::path::Path::new(""));
                SessionRecorder::create(path, &meta, rx, annotation_texts.clone())
                    .map(|rec| Recording::fixed(rec, meta.clone()))
                    .map_err(|e| {
                        format!(
                            "creating the recording {}: {e}; choose a writable --record path",
                            path.display()
                        )
                    })
            };
            match made {
                Ok(r) => {
                    worker.set_record_feed(feed);
                    recording = r;
                }
                Err(e) => {
                    stop.store(true, Ordering::Release);
                    drop(writer_tx);
                    let _ = acquisition.join();
                    return Err(anyhow!(e));
                }
            }
        }
        let front_end = worker.describe_front_end();
        let log: SharedLog = Arc::new(Mutex::new(OutputLog {
            scores: vec![Default::default(); infos.len()],
            errors: startup_errors,
            ..Default::default()
        }));
        let outputs_done = Arc::new(AtomicBool::new(false));
        let out_log = Arc::clone(&log);
        let out_done = Arc::clone(&outputs_done);
        let out_cfg = OutputConfig {
            clocked: cfg.source.is_clocked(),
            stim_trigger: cfg.stimulation.as_ref().map(|s| s.policy.trigger),
            ..cfg.outputs.clone()
        };
        let out_infos = infos.clone();
        let out_stream = meta.name.clone();
        let (ui_tx, ui_rx) =
            ringbuf::HeapRb::<crate::outputs::UiEvent>::new(crate::outputs::UI_EVENT_CAPACITY)
                .split();
        let outputs = std::thread::Builder::new()
            .name("neuroloop-outputs".into())
            .spawn(move || {
                let ctx = OutputContext {
                    decoders: &out_infos,
                    stream_name: &out_stream,
                    annotation_texts: &annotation_texts,
                };
                run_outputs(
                    output_rx, &out_cfg, &ctx, &out_log, &out_done, recording, ui_rx,
                );
            })
            .context("starting the output thread")?;
        worker.set_output_thread(outputs.thread().clone());
        let outputs_thread = outputs.thread().clone();
        let worker_stop = Arc::new(AtomicBool::new(false));
        let w_stop = Arc::clone(&worker_stop);
        let worker = std::thread::Builder::new()
            .name("neuroloop-worker".into())
            .spawn(move || worker.run(&w_stop))
            .context("starting the worker thread")?;
        if writer_tx.send(writer).is_err() {
            return Err(anyhow!("the acquisition thread stopped during start-up"));
        }
        Ok(Session {
            meta,
            front_end,
            front_end_config: cfg.front_end.clone(),
            mains_hz,
            stats,
            log,
            scope: scope_rx,
            decoders: infos,
            record_path: cfg.outputs.record.clone(),
            total_frames,
            stop,
            worker_stop,
            outputs_done,
            acquisition: Some(acquisition),
            worker: Some(worker),
            outputs: Some(outputs),
            source_finished,
            acquisition_error,
            started_at,
            audio,
            ui_events: Some(crate::outputs::UiEventSender {
                ring: ui_tx,
                outputs: outputs_thread,
                onsets: onset_tx,
            }),
        })
    }

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

    /// Everything wrong with the session now, each with what to do about it: the stream
    /// lost, gaps, samples that were not numbers, frames dropped or not recorded, decisions
    /// or events lost, failed model calls, the audio device, and every error the output thread logged (outlets,
    /// recordings, stimulation start-up). Reads counters and `try_lock`s the log: never
    /// waits for the pipeline (the log's errors are left out while it is busy).
    pub fn problems(&self) -> Vec<Problem> {
        let s = &self.stats;
        let mut out = Vec::new();
        let mut add = |severity, text: String| out.push(Problem { severity, text });
        if s.stream_lost.load(Ordering::Relaxed) {
            add(
                Severity::Error,
                format!(
                    "the stream {} is gone: waiting for it to return (check the amplifier, its LSL app and the network); the recording marks the gap",
                    self.meta.name
                ),
            );
        }
        if let Some(e) = self.acquisition_error() {
            add(Severity::Error, format!("acquisition stopped: {e}"));
        }
        let count = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        // Counters that only grow: each shown with its count once it is not zero.
        let counted = [
            (
                count(&s.gaps),
                Severity::Warning,
                "gap(s) in the stream: samples went missing and the decoders restarted their windows; check the amplifier's connection",
            ),
            (
                count(&s.non_finite_samples),
                Severity::Warning,
                "samples were not numbers (NaN/Inf) and were replaced: a channel is broken or disconnected; check the electrodes flagged in the quality cells",
            ),
            (
                count(&s.ring.frames_dropped),
                Severity::Error,
                "frames dropped: the pipeline fell behind the stream; close other programs, decode fewer channels or use a faster machine",
            ),
            (
                count(&s.record_dropped),
                Severity::Error,
                "frames could not be recorded: the disk did not keep up; record to a faster or less busy disk",
            ),
            (
                count(&s.decisions_dropped)
                    + count(&s.events_dropped)
                    + count(&s.ring.events_dropped),
                Severity::Warning,
                "decisions or events were not published: the output thread fell behind (a stalled LSL consumer or disk)",
            ),
        ];
        for (n, severity, what) in counted {
            if n > 0 {
                add(severity, format!("{n} {what}"));
            }
        }
        for (info, failures) in self.decoders.iter().zip(&s.decoder_failures) {
            let n = count(failures);
            if n > 0 {
                add(
                    Severity::Error,
                    format!(
                        "{n} model call(s) of {} failed, leaving those windows without a decision: check ONNX Runtime with `neuroloop doctor`, and that the network ends in a softmax (its output must be class probabilities, as its card says)",
                        info.name
                    ),
                );
            }
        }
        if let Some(out) = self.audio_output()
            && let Some(problem) = out
                .stats
                .problem(&out.device, neuroloop_acquisition::clock::local_clock())
        {
            add(Severity::Error, problem);
        }
        if let Ok(log) = self.log.try_lock() {
            for e in &log.errors {
                add(Severity::Error, e.clone());
            }
        }
        out
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
        let mut outcome = SessionOutcome::default();
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.acquisition.take() {
            match h.join() {
                Ok(Ok(s)) => outcome.acquisition = s,
                Ok(Err(e)) => outcome.acquisition_error = Some(e.to_string()),
                Err(_) => {
                    outcome.acquisition_error = Some("the acquisition thread panicked".into())
                }
            }
        }
        // The worker drains what is left in the ring before it exits.
        self.worker_stop.store(true, Ordering::Release);
        if let Some(h) = self.worker.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        self.outputs_done.store(true, Ordering::Release);
        if let Some(h) = self.outputs.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        outcome.wall_secs = self.elapsed_secs();
        outcome
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if self.acquisition.is_some() || self.worker.is_some() || self.outputs.is_some() {
            self.stop_in_place();
        }
    }
}

/// Builds the stimulation controller for a session: finds the trigger decoder, the artefact
/// channel, and opens the audio output unless in dry run. A missing audio device is not fatal:
/// the error goes to the session's log and stimulation continues as a dry run.
fn start_stimulation(
    spec: &StimulationSpec,
    decoders: &[DecoderInfo],
    meta: &StreamMeta,
    errors: &mut Vec<String>,
) -> anyhow::Result<(
    crate::stimulation::StimController,
    Option<neuroloop_stimuli::device::AudioOutput>,
)> {
    use crate::stimulation::{StimController, StimTrigger};
    use neuroloop_decoders::sleep::decoder::{ONSET_CLASS, SO_TARGET_CLASS, SPINDLE_CLASSES};
    // The trigger is a class: whichever decoder declares it (the spindle detectors, A7 or
    // neural, share `spindle-onset`).
    let (class_name, flag) = match spec.policy.trigger {
        StimTrigger::SlowOscillation => (SO_TARGET_CLASS, "--so-triggers"),
        StimTrigger::SpindleOnset => (SPINDLE_CLASSES[usize::from(ONSET_CLASS)], "--spindles"),
    };
    let Some((decoder, class)) = decoders.iter().enumerate().find_map(|(i, d)| {
        d.class_names
            .iter()
            .position(|c| c == class_name)
            .map(|c| (i as u16, c as u16))
    }) else {
        return Err(anyhow!(
            "stimulation on {} needs a decoder that declares {class_name}: add {flag}",
            spec.policy.trigger.name()
        ));
    };
    let channel = match &spec.artifact_channel {
        Some(label) => neuroloop_decoders::step::channel_indices(
            std::slice::from_ref(label),
            &meta.channel_labels,
        )?[0],
        None => 0,
    };
    if spec.policy.dry_run {
        return Ok((
            StimController::new(spec.policy, decoder, class, channel, None),
            None,
        ));
    }
    let (sender, receiver) = neuroloop_stimuli::audio::stim_queue(64);
    match neuroloop_stimuli::device::open_default_output(
        spec.audio,
        receiver,
        neuroloop_acquisition::clock::local_clock,
    ) {
        Ok(output) => Ok((
            StimController::new(spec.policy, decoder, class, channel, Some(sender)).watch_audio(
                Arc::clone(&output.stats),
                neuroloop_acquisition::clock::local_clock,
            ),
            Some(output),
        )),
        Err(e) => {
            errors.push(format!(
                "{e}. Detection goes on and stimuli are logged as a dry run."
            ));
            Ok((
                StimController::new(spec.policy, decoder, class, channel, None),
                None,
            ))
        }
    }
}
