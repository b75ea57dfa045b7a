//! Starting a session, step by step: the acquisition thread opens the source and reports the
//! stream; the ring, the worker (filters, decoders, display and record feeds) and the
//! stimulation are sized for that stream; the recording is created; then the output and
//! worker threads start and the acquisition thread gets the ring's writing end.
//!
//! A start-up guard owns every thread started so far. When a step fails, dropping the guard
//! stops and joins them in order (acquisition, worker, outputs), and the output thread closes
//! an open recording with its footers, so a failed start leaves no thread running and no file
//! without footers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use neuroloop_acquisition::ring::{self, RingShape, SampleReader, SampleWriter};
use neuroloop_acquisition::source::{AcquisitionSummary, run_acquisition};
use neuroloop_acquisition::{SourceError, StreamMeta};
use neuroloop_stimuli::device::AudioOutput;
use ringbuf::traits::Split as _;

use super::config::{SessionConfig, SourceSpec, StimulationSpec};
use super::{Session, StartError};
use crate::outputs::{
    DecoderInfo, OutputConfig, OutputContext, OutputLog, SharedLog, UI_EVENT_CAPACITY, UiEvent,
    UiEventSender, run_outputs,
};
use crate::record::{Recording, SessionRecorder, record_feed};
use crate::stimulation::{StimController, StimTrigger};
use crate::worker::{PipelineStats, ScopeFeed, ScopeReceiver, Worker};

/// What the acquisition thread reports once its source is open.
struct StartInfo {
    meta: StreamMeta,
    max_chunk: usize,
    total_frames: Option<u64>,
    annotation_texts: Vec<String>,
    /// Per annotation text: whether it marks a stimulus onset, and how many annotations carry
    /// it (empty when the source cannot say).
    onset_annotations: Vec<bool>,
    annotation_counts: Vec<usize>,
    /// Whether the source marks stimulus onsets itself.
    marks_onsets: bool,
    replay: Option<Arc<neuroloop_acquisition::replay::ReplayControl>>,
}

type AcquisitionHandle = JoinHandle<Result<AcquisitionSummary, SourceError>>;

/// The threads of a session, from the first step of its start to its end: dropping it stops
/// and joins them all (see the [module documentation](self)). A started session keeps it.
pub(super) struct SessionThreads {
    pub(super) stop: Arc<AtomicBool>,
    pub(super) worker_stop: Arc<AtomicBool>,
    pub(super) outputs_done: Arc<AtomicBool>,
    pub(super) acquisition: Option<AcquisitionHandle>,
    pub(super) worker: Option<JoinHandle<()>>,
    pub(super) outputs: Option<JoinHandle<()>>,
    /// The acquisition thread's start-up channel; dropping it tells the thread to give up.
    writer_tx: Option<mpsc::Sender<SampleWriter>>,
}

impl SessionThreads {
    fn new() -> Self {
        SessionThreads {
            stop: Arc::new(AtomicBool::new(false)),
            worker_stop: Arc::new(AtomicBool::new(false)),
            outputs_done: Arc::new(AtomicBool::new(false)),
            acquisition: None,
            worker: None,
            outputs: None,
            writer_tx: None,
        }
    }

    /// Stops acquisition, lets the worker and the outputs drain, and joins every thread
    /// started; returns what acquisition reported.
    pub(super) fn stop_all(&mut self) -> (AcquisitionSummary, Option<String>) {
        let mut summary = AcquisitionSummary::default();
        let mut error = None;
        self.stop.store(true, Ordering::Release);
        // A thread still waiting for the ring's writer gives up when its channel closes.
        self.writer_tx = None;
        if let Some(h) = self.acquisition.take() {
            match h.join() {
                Ok(Ok(s)) => summary = s,
                Ok(Err(e)) => error = Some(e.to_string()),
                Err(_) => error = Some("the acquisition thread panicked".into()),
            }
        }
        // The worker drains what is left in the ring before it exits.
        self.worker_stop.store(true, Ordering::Release);
        if let Some(h) = self.worker.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        // The output thread writes what is left and closes the recording with its footers.
        self.outputs_done.store(true, Ordering::Release);
        if let Some(h) = self.outputs.take() {
            h.thread().unpark();
            let _ = h.join();
        }
        (summary, error)
    }

    /// Whether any thread is still owned.
    pub(super) fn holds_threads(&self) -> bool {
        self.acquisition.is_some() || self.worker.is_some() || self.outputs.is_some()
    }
}

impl Drop for SessionThreads {
    fn drop(&mut self) {
        if self.holds_threads() {
            self.stop_all();
        }
    }
}

/// What the acquisition thread shares with the session.
struct AcquisitionShared {
    finished: Arc<AtomicBool>,
    error: Arc<Mutex<Option<String>>>,
}

/// Step 1: the acquisition thread, which opens the source and reports the stream (or the
/// error), then waits for the ring's writing end before it reads.
fn start_acquisition(
    guard: &mut SessionThreads,
    source: SourceSpec,
) -> Result<(StartInfo, AcquisitionShared), StartError> {
    let (info_tx, info_rx) = mpsc::channel::<Result<StartInfo, SourceError>>();
    let (writer_tx, writer_rx) = mpsc::channel::<SampleWriter>();
    let shared = AcquisitionShared {
        finished: Arc::new(AtomicBool::new(false)),
        error: Arc::new(Mutex::new(None)),
    };
    let (stop, finished, error) = (
        Arc::clone(&guard.stop),
        Arc::clone(&shared.finished),
        Arc::clone(&shared.error),
    );
    let handle = std::thread::Builder::new()
        .name("neuroloop-acquisition".into())
        .spawn(move || {
            let result = acquire(&source, &info_tx, &writer_rx, &stop);
            if let Err(e) = &result {
                *error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }
            finished.store(true, Ordering::Release);
            result
        })
        .map_err(|e| StartError::Thread("acquisition", e))?;
    guard.acquisition = Some(handle);
    guard.writer_tx = Some(writer_tx);
    match info_rx.recv() {
        Ok(Ok(info)) => Ok((info, shared)),
        Ok(Err(e)) => Err(StartError::Source(e)),
        Err(_) => Err(StartError::AcquisitionStopped),
    }
}

/// The acquisition thread's body: open, report, wait for the writer, read until stopped.
fn acquire(
    source: &SourceSpec,
    info_tx: &mpsc::Sender<Result<StartInfo, SourceError>>,
    writer_rx: &mpsc::Receiver<SampleWriter>,
    stop: &AtomicBool,
) -> Result<AcquisitionSummary, SourceError> {
    let mut source = match source.open() {
        Ok(s) => s,
        Err(e) => {
            // Reported through the start-up channel; nothing more to do here.
            let _ = info_tx.send(Err(e));
            return Ok(AcquisitionSummary::default());
        }
    };
    let _ = info_tx.send(Ok(StartInfo {
        meta: source.meta().clone(),
        max_chunk: source.max_chunk_frames(),
        total_frames: source.total_frames(),
        replay: source.replay_control(),
        annotation_texts: source.annotation_texts().to_vec(),
        onset_annotations: source.onset_annotations(),
        annotation_counts: source.annotation_counts(),
        marks_onsets: source.marks_onsets(),
    }));
    // The session sizes the ring for this stream; a closed channel means start-up failed.
    let Ok(mut writer) = writer_rx.recv() else {
        return Ok(AcquisitionSummary::default());
    };
    run_acquisition(source.as_mut(), &mut writer, stop)
}

/// Step 2: the sample ring, the shared counters, the display feed and the worker (filters and
/// decoders prepared for the stream).
fn prepare_worker(
    cfg: &mut SessionConfig,
    info: &StartInfo,
) -> Result<(Worker, PreparedParts), StartError> {
    check_recording_trials(cfg, info)?;
    let meta = &info.meta;
    let (mains, mains_assumed) = follow_mains(cfg, meta);
    let capacity_frames = ((cfg.ring_secs * meta.sample_rate_hz) as usize).max(4 * info.max_chunk);
    let (writer, reader): (SampleWriter, SampleReader) = ring::sample_ring(RingShape {
        channels: meta.channels(),
        capacity_frames,
        max_chunk_frames: info.max_chunk,
    });
    let stats = Arc::new(PipelineStats::new(
        Arc::clone(writer.stats()),
        cfg.decoders.len(),
    ));
    let (scope_feed, scope) = if cfg.with_window {
        let (f, r) = ScopeFeed::new(meta.channels(), meta.sample_rate_hz);
        (Some(f), Some(r))
    } else {
        (None, None)
    };
    let (decoders, mut infos): (Vec<_>, Vec<_>) = std::mem::take(&mut cfg.decoders)
        .into_iter()
        .map(|d| (d.decoder, d.info))
        .unzip();
    let (mut worker, output_rx) = Worker::new(
        reader,
        meta,
        &cfg.front_end,
        decoders,
        Arc::clone(&stats),
        scope_feed,
    )?;
    // Which channels each decoder found, so the user is told (a role found by name, or the
    // first channel when the stream has none of its names).
    for (info, picks) in infos.iter_mut().zip(worker.decoder_inputs()) {
        info.channels = picks
            .iter()
            .filter_map(|&i| meta.channel_labels.get(i).cloned())
            .collect();
    }
    worker.set_lossless(cfg.source.is_consumer_paced());
    worker.set_onsets(info.onset_annotations.clone(), !info.marks_onsets);
    let (onset_tx, onset_rx) = ringbuf::HeapRb::<f64>::new(64).split();
    worker.set_onset_ring(onset_rx);
    let parts = PreparedParts {
        mains,
        mains_assumed,
        writer,
        stats,
        scope,
        infos,
        output_rx,
        onset_tx,
    };
    Ok((worker, parts))
}

/// Refuses a replay that cannot decode or score what it was asked to: a cue or onset label the
/// recording does not have (a typo would score nothing), an SSVEP cue at a frequency the SSVEP
/// decoders have no target at, or a decoder that decides at stimulus onsets on a recording none
/// of whose annotations marks one.
fn check_recording_trials(cfg: &SessionConfig, info: &StartInfo) -> Result<(), StartError> {
    let SourceSpec::File { cues, .. } = &cfg.source else {
        return Ok(());
    };
    let listing = || annotation_listing(&info.annotation_texts, &info.annotation_counts);
    let named = cues
        .mi
        .iter()
        .map(|(l, _)| (l, "cue"))
        .chain(cues.ssvep.iter().map(|(l, _)| (l, "cue")))
        .chain(cues.onsets.iter().map(|l| (l, "onset")));
    for (label, role) in named {
        if !info.annotation_texts.iter().any(|t| t.trim() == label) {
            return Err(StartError::UnknownLabel {
                label: label.clone(),
                role,
                annotations: listing(),
            });
        }
    }
    let infos: Vec<_> = cfg.decoders.iter().map(|d| &d.info).collect();
    for (label, hz) in &cues.ssvep {
        for d in &infos {
            if let Some(targets) = d.targets_hz()
                && !targets.iter().any(|t| (t - hz).abs() < 1e-3)
            {
                return Err(StartError::CueTarget {
                    label: label.clone(),
                    hz: *hz,
                    decoder: d.name.clone(),
                    targets: d.class_names.join(", "),
                    by_model: d.decides_at_onsets,
                });
            }
        }
    }
    let onset_locked: Vec<&str> = infos
        .iter()
        .filter(|d| d.decides_at_onsets)
        .map(|d| d.name.as_str())
        .collect();
    if onset_locked.is_empty() || info.marks_onsets {
        return Ok(());
    }
    Err(StartError::NoOnsets {
        decoders: onset_locked.join(", "),
        annotations: listing(),
    })
}

/// A recording's annotation labels with their counts, most frequent first (`its annotations:
/// "32779" x32, "33025" x8`), the first 12.
fn annotation_listing(texts: &[String], counts: &[usize]) -> String {
    if texts.is_empty() {
        return "it has no annotations".into();
    }
    let counted = texts
        .iter()
        .enumerate()
        .map(|(i, t)| (t.trim().to_string(), counts.get(i).copied().unwrap_or(0)))
        .collect();
    format!(
        "its annotations: {}",
        neuroloop_acquisition::cues::label_listing(counted, 12)
    )
}

/// Sets the notch to the source's mains when the session follows it; says how the notch's
/// frequency was chosen, and whether it was assumed.
fn follow_mains(cfg: &mut SessionConfig, meta: &StreamMeta) -> (String, bool) {
    let Some(configured) = cfg.front_end.notch_hz else {
        return ("no notch".into(), false);
    };
    let nyquist = meta.sample_rate_hz / 2.0;
    let hz = match (cfg.mains_auto, meta.line_hz) {
        (true, Some(hz)) => hz,
        _ => configured,
    };
    if hz >= nyquist {
        // The front end leaves such a notch out: say so rather than name a filter not run,
        // and let the session's settings say it too.
        cfg.front_end.notch_hz = None;
        return (
            format!("no notch: {hz} Hz mains is not below the {nyquist} Hz Nyquist frequency"),
            false,
        );
    }
    if !cfg.mains_auto {
        return (format!("{configured} Hz notch, as set"), false);
    }
    match meta.line_hz {
        Some(hz) => {
            cfg.front_end.notch_hz = Some(hz);
            (format!("{hz} Hz notch: mains {}", meta.line_source), false)
        }
        None => (
            format!(
                "{configured} Hz notch, assumed (the source does not say its mains; the monitor checks the spectra)"
            ),
            true,
        ),
    }
}

/// What [`prepare_worker`] made besides the worker.
struct PreparedParts {
    /// How the notch's frequency was chosen.
    mains: String,
    /// Whether it was assumed (the source did not say).
    mains_assumed: bool,
    writer: SampleWriter,
    stats: Arc<PipelineStats>,
    scope: Option<ScopeReceiver>,
    infos: Vec<DecoderInfo>,
    output_rx: ringbuf::HeapCons<crate::worker::OutputEvent>,
    onset_tx: ringbuf::HeapProd<f64>,
}

/// Step 3: the stimulation controller on the worker, and the audio output unless in dry run.
/// An audio output that cannot start fails the start (before any sample is processed), unless
/// the spec allows going on without sound: the error then goes to `errors` and stimulation
/// continues as a dry run.
fn start_stimulation(
    spec: &StimulationSpec,
    decoders: &[DecoderInfo],
    meta: &StreamMeta,
    errors: &mut Vec<String>,
) -> Result<(StimController, Option<AudioOutput>), StartError> {
    use neuroloop_decoders::sleep::decoder::{ONSET_CLASS, SO_TARGET_CLASS, SPINDLE_CLASSES};
    fault::check(fault::StartStep::Stimulation)?;
    // The trigger is a class: whichever decoder declares it (the spindle detectors, A7 or
    // neural, share `spindle-onset`).
    let class_name = match spec.policy.trigger {
        StimTrigger::SlowOscillation => SO_TARGET_CLASS,
        StimTrigger::SpindleOnset => SPINDLE_CLASSES[usize::from(ONSET_CLASS)],
    };
    let Some((decoder, class)) = decoders.iter().enumerate().find_map(|(i, d)| {
        d.class_names
            .iter()
            .position(|c| c == class_name)
            .map(|c| (i as u16, c as u16))
    }) else {
        return Err(StartError::NoTriggerDecoder {
            trigger: spec.policy.trigger.name(),
            class: class_name,
        });
    };
    let channel = match &spec.artifact_channel {
        Some(label) => neuroloop_decoders::step::channel_indices(
            std::slice::from_ref(label),
            &meta.channel_labels,
        )
        .map_err(StartError::ArtifactChannel)?[0],
        None => neuroloop_decoders::sleep::decoder::so_channel_index(
            &meta.channel_labels,
            &meta.eeg_mask(),
        ),
    };
    if spec.policy.dry_run {
        let controller = StimController::new(spec.policy, decoder, class, channel, None);
        return Ok((controller, None));
    }
    let (sender, receiver) = neuroloop_stimuli::audio::stim_queue(64);
    let clock = neuroloop_acquisition::clock::local_clock;
    match neuroloop_stimuli::device::open_default_output(spec.audio, receiver, clock) {
        Ok(output) => {
            let controller =
                StimController::new(spec.policy, decoder, class, channel, Some(sender))
                    .watch_audio(Arc::clone(&output.stats), clock);
            Ok((controller, Some(output)))
        }
        Err(e) if !spec.allow_no_audio => Err(StartError::Audio(e)),
        Err(e) => {
            errors.push(format!(
                "{e}. Detection goes on and stimuli are logged as a dry run."
            ));
            let controller = StimController::new(spec.policy, decoder, class, channel, None);
            Ok((controller, None))
        }
    }
}

/// Step 4: the session's recording. The file given at start is created before any sample
/// flows, so a bad path fails here; sessions with a window keep the feed so that recordings
/// can start and stop while they run.
fn make_recording(
    cfg: &SessionConfig,
    worker: &mut Worker,
    info: &StartInfo,
) -> Result<Recording, StartError> {
    let meta = &info.meta;
    if cfg.outputs.record.is_none() && !cfg.with_window {
        return Ok(Recording::none(meta.clone()));
    }
    fault::check(fault::StartStep::Recording)?;
    let (feed, rx) = record_feed(
        meta.channels(),
        meta.sample_rate_hz,
        cfg.source.fastest_speed(),
    );
    let recording = if cfg.with_window {
        let mut r = Recording::on_demand(meta.clone(), info.annotation_texts.clone(), rx);
        if let Some(path) = &cfg.outputs.record {
            r.start_with_session(path)
                .map_err(|reason| StartError::Recording {
                    path: path.clone(),
                    reason,
                })?;
        }
        r
    } else {
        let path = cfg
            .outputs
            .record
            .as_deref()
            .unwrap_or(std::path::Path::new(""));
        let recorder = SessionRecorder::create(path, meta, rx, info.annotation_texts.clone())
            .map_err(|e| StartError::Recording {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Recording::fixed(recorder, meta.clone())
    };
    worker.set_record_feed(feed);
    Ok(recording)
}

/// What the output thread is started with.
struct OutputStart {
    config: OutputConfig,
    infos: Vec<DecoderInfo>,
    stream_name: String,
    annotation_texts: Vec<String>,
    log: SharedLog,
    recording: Recording,
    output_rx: ringbuf::HeapCons<crate::worker::OutputEvent>,
}

/// Step 5: the output thread (markers, scoring, the recording); returns the window's event
/// sender's ring end. From here on the guard's drop closes the recording with its footers.
fn start_outputs(
    guard: &mut SessionThreads,
    start: OutputStart,
) -> Result<ringbuf::HeapProd<UiEvent>, StartError> {
    let (ui_tx, ui_rx) = ringbuf::HeapRb::<UiEvent>::new(UI_EVENT_CAPACITY).split();
    let done = Arc::clone(&guard.outputs_done);
    fault::check(fault::StartStep::OutputThread)?;
    let handle = std::thread::Builder::new()
        .name("neuroloop-outputs".into())
        .spawn(move || {
            let OutputStart {
                config,
                infos,
                stream_name,
                annotation_texts,
                log,
                recording,
                output_rx,
            } = start;
            let ctx = OutputContext {
                decoders: &infos,
                stream_name: &stream_name,
                annotation_texts: &annotation_texts,
            };
            run_outputs(output_rx, &config, &ctx, &log, &done, recording, ui_rx);
        })
        .map_err(|e| StartError::Thread("output", e))?;
    guard.outputs = Some(handle);
    Ok(ui_tx)
}

/// Step 6: the worker thread.
fn start_worker(guard: &mut SessionThreads, mut worker: Worker) -> Result<(), StartError> {
    if let Some(outputs) = &guard.outputs {
        worker.set_output_thread(outputs.thread().clone());
    }
    let stop = Arc::clone(&guard.worker_stop);
    fault::check(fault::StartStep::WorkerThread)?;
    let handle = std::thread::Builder::new()
        .name("neuroloop-worker".into())
        .spawn(move || worker.run(&stop))
        .map_err(|e| StartError::Thread("worker", e))?;
    guard.worker = Some(handle);
    Ok(())
}

/// Step 7: the acquisition thread gets the ring's writing end and starts reading.
fn hand_over_ring(guard: &mut SessionThreads, writer: SampleWriter) -> Result<(), StartError> {
    if fault::check(fault::StartStep::AcquisitionStops).is_err() {
        // As if the source had died while the session was being prepared: the thread
        // returns without reading, so the hand-over below finds nobody to take the ring.
        guard.writer_tx = None;
        if let Some(h) = guard.acquisition.as_ref() {
            while !h.is_finished() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        }
    }
    let sent = guard
        .writer_tx
        .take()
        .is_some_and(|tx| tx.send(writer).is_ok());
    if sent {
        Ok(())
    } else {
        Err(StartError::AcquisitionStopped)
    }
}

impl Session {
    /// Starts the threads. Returns once the source is open and the pipeline is prepared, or
    /// with the error that prevented it, having stopped whatever it had started.
    pub fn start(mut cfg: SessionConfig) -> Result<Session, StartError> {
        let started_at = neuroloop_acquisition::clock::local_clock();
        // Declared before the threads' guard, so that on a failed start the audio output is
        // dropped (silenced) only after the worker that commands it has been joined.
        let mut audio = None;
        let mut guard = SessionThreads::new();
        let (info, acquisition) = start_acquisition(&mut guard, cfg.source.clone())?;
        let (mut worker, parts) = prepare_worker(&mut cfg, &info)?;
        let mut startup_errors = Vec::new();
        let mut stim_dry_run = false;
        if let Some(spec) = &cfg.stimulation {
            let (controller, output) =
                start_stimulation(spec, &parts.infos, &info.meta, &mut startup_errors)?;
            stim_dry_run = controller.policy().dry_run;
            worker.set_stimulation(controller);
            audio = output;
        }
        let recording = make_recording(&cfg, &mut worker, &info)?;
        let log: SharedLog = Arc::new(Mutex::new(OutputLog {
            scores: vec![Default::default(); parts.infos.len()],
            errors: startup_errors,
            ..Default::default()
        }));
        let front_end = worker.describe_front_end();
        let ui_tx = start_outputs(
            &mut guard,
            OutputStart {
                config: OutputConfig {
                    clocked: cfg.source.is_clocked(),
                    stim_trigger: cfg.stimulation.as_ref().map(|s| s.policy.trigger),
                    stim_dry_run,
                    ..cfg.outputs.clone()
                },
                infos: parts.infos.clone(),
                stream_name: info.meta.name.clone(),
                annotation_texts: info.annotation_texts.clone(),
                log: Arc::clone(&log),
                recording,
                output_rx: parts.output_rx,
            },
        )?;
        let outputs_thread = guard.outputs.as_ref().map(|h| h.thread().clone());
        start_worker(&mut guard, worker)?;
        hand_over_ring(&mut guard, parts.writer)?;
        fault::clear();
        let ui_events = outputs_thread.map(|outputs| UiEventSender {
            ring: ui_tx,
            outputs,
            onsets: parts.onset_tx,
        });
        Ok(Session {
            mains: parts.mains,
            mains_assumed: parts.mains_assumed,
            mains_hz: cfg.front_end.notch_hz,
            meta: info.meta,
            front_end,
            front_end_config: cfg.front_end,
            stats: parts.stats,
            log,
            scope: parts.scope,
            decoders: parts.infos,
            record_path: cfg.outputs.record,
            total_frames: info.total_frames,
            replay: info.replay.clone(),
            threads: guard,
            source_finished: acquisition.finished,
            acquisition_error: acquisition.error,
            started_at,
            audio,
            ui_events,
        })
    }
}

/// Start-up failures made on purpose, for tests of the clean-up: with the `fault-injection`
/// feature (or in this crate's own tests), `fault::inject` makes the next session start fail
/// at the chosen step; otherwise every check passes and compiles to nothing.
pub mod fault {
    use super::StartError;

    /// A step of [`crate::session::Session::start`] that can be made to fail.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum StartStep {
        /// Opening the audio output and the stimulation controller.
        Stimulation,
        /// Creating the recording.
        Recording,
        /// Starting the output thread.
        OutputThread,
        /// Starting the worker thread.
        WorkerThread,
        /// The acquisition thread stops before it gets the ring.
        AcquisitionStops,
    }

    #[cfg(any(test, feature = "fault-injection"))]
    static NEXT: std::sync::Mutex<Option<StartStep>> = std::sync::Mutex::new(None);

    /// Makes the next session start that reaches `step` fail there (once; a start that
    /// succeeds without reaching it clears it).
    #[cfg(any(test, feature = "fault-injection"))]
    pub fn inject(step: StartStep) {
        *NEXT.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
    }

    /// Fails (once) when `step` was injected.
    #[cfg(any(test, feature = "fault-injection"))]
    pub(super) fn check(step: StartStep) -> Result<(), StartError> {
        let mut next = NEXT.lock().unwrap_or_else(|p| p.into_inner());
        if *next == Some(step) {
            *next = None;
            return Err(StartError::Injected(step));
        }
        Ok(())
    }

    /// Forgets a failure injected for a step a successful start did not reach.
    #[cfg(any(test, feature = "fault-injection"))]
    pub(super) fn clear() {
        *NEXT.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Nothing was injected.
    #[cfg(not(any(test, feature = "fault-injection")))]
    #[inline(always)]
    pub(super) fn clear() {}

    /// Every step passes.
    #[cfg(not(any(test, feature = "fault-injection")))]
    #[inline(always)]
    pub(super) fn check(_step: StartStep) -> Result<(), StartError> {
        Ok(())
    }
}
