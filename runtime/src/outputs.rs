//! The output thread: publishes decisions as LSL markers, scores them against ground truth
//! when the source provides it, and keeps a log for the GUI and the final report.
//!
//! It is fed by the worker through a lock-free ring and never makes the worker wait. The GUI
//! reads the log through a mutex that this thread only ever `try_lock`s, so a slow frame on
//! screen cannot delay a marker.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use neuroloop_acquisition::lsl_io::MarkerOutlet;
use neuroloop_acquisition::{SourceEvent, TruthEvent, TruthKind};
use ringbuf::HeapCons;
use ringbuf::traits::Consumer;

use crate::record::{Recording, RecordingStatus};
use crate::worker::{DecisionRecord, OutputEvent};
use neuroloop_formats::XdfWriteError;

/// Decisions kept for display.
pub const LOG_CAPACITY: usize = 200;
/// Ground-truth intervals remembered for scoring late decisions.
const TRUTH_MEMORY: usize = 64;

/// What a decoder's classes mean, for markers and scoring.
#[derive(Debug, Clone, PartialEq)]
pub struct DecoderInfo {
    /// Decoder name.
    pub name: String,
    /// Class names, indexed by `Decision::class`.
    pub class_names: Vec<String>,
    /// How its classes map onto the simulator's ground truth, if they do.
    pub truth: TruthMapping,
    /// The stream's channels it reads, by label, once the session started (empty: all, or
    /// not said).
    pub channels: Vec<String>,
    /// Whether it decides only at stimulus onsets
    /// ([`neuroloop_decoders::Decoder::decides_at_onsets`]).
    pub decides_at_onsets: bool,
}

impl DecoderInfo {
    /// Describes `decoder` (its name and classes) with the given truth mapping.
    pub fn of(decoder: &dyn neuroloop_decoders::Decoder, truth: TruthMapping) -> Self {
        DecoderInfo {
            name: decoder.name().to_string(),
            class_names: decoder.class_names().to_vec(),
            truth,
            channels: Vec::new(),
            decides_at_onsets: decoder.decides_at_onsets(),
        }
    }

    /// Whether class `class` is what the ground truth `kind` asks for: the SSVEP target of
    /// that frequency (a class named `<f>Hz`; else the target's index), the motor-imagery
    /// class of that name. `None` when this decoder is not scored against `kind`.
    pub fn is_truth_class(&self, class: usize, kind: &TruthKind) -> Option<bool> {
        match (self.truth, *kind) {
            (TruthMapping::SsvepTargetIndex, TruthKind::SsvepTarget { index, freq_hz }) => {
                let name = self.class_names.get(class)?;
                Some(match ssvep_class_hz(name) {
                    Some(hz) => (hz - f64::from(freq_hz)).abs() < 1e-3,
                    None => usize::from(index) == class,
                })
            }
            (TruthMapping::MiClassName, TruthKind::MotorImagery { class: cued }) => {
                Some(self.class_names.get(class)? == cued.name())
            }
            _ => None,
        }
    }

    /// The frequencies of its classes when they are SSVEP targets named `<f>Hz`.
    pub fn targets_hz(&self) -> Option<Vec<f64>> {
        self.class_names
            .iter()
            .map(|n| ssvep_class_hz(n))
            .collect::<Option<Vec<f64>>>()
            .filter(|v| self.truth == TruthMapping::SsvepTargetIndex && !v.is_empty())
    }
}

/// The frequency of an SSVEP decoder's class name (`13Hz`, as the SSVEP decoders name them).
fn ssvep_class_hz(name: &str) -> Option<f64> {
    name.strip_suffix("Hz")?.trim().parse().ok()
}

/// How decisions are compared with ground truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruthMapping {
    /// Not scored.
    None,
    /// Class `i` is SSVEP target `i` of the scenario.
    SsvepTargetIndex,
    /// Class names are motor-imagery class names (`left_hand`, ...) of the scenario.
    MiClassName,
}

/// Accuracy against ground truth.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Decisions whose window lay inside a ground-truth trial.
    pub scored: u64,
    /// Of those, how many matched the truth.
    pub correct: u64,
}

impl Score {
    /// Fraction correct (0 when nothing was scored).
    pub fn accuracy(&self) -> f64 {
        if self.scored == 0 {
            0.0
        } else {
            self.correct as f64 / self.scored as f64
        }
    }
}

/// One logged decision.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedDecision {
    /// The record from the worker.
    pub record: DecisionRecord,
    /// Whether it matched ground truth (`None`: not scorable).
    pub correct: Option<bool>,
}

/// State shared with the GUI and the final report.
#[derive(Debug, Default)]
pub struct OutputLog {
    /// Most recent decisions, oldest first.
    pub recent: VecDeque<LoggedDecision>,
    /// Most recent source events (gaps, losses, truth), oldest first.
    pub events: VecDeque<SourceEvent>,
    /// Per decoder accuracy.
    pub scores: Vec<Score>,
    /// Markers published.
    pub markers_sent: u64,
    /// Errors from the outlets (the pipeline keeps running without them).
    pub errors: Vec<String>,
    /// EEG frames written to the session recording (the latest file, when the window started
    /// several).
    pub recorded_frames: u64,
    /// Every recording file of the session, the one being written (if any) last.
    pub recordings: Vec<RecordingStatus>,
    /// Stimulation counts, when stimulation runs.
    pub stim: Option<crate::stimulation::StimSummary>,
    /// Most recent stimulation events, oldest first.
    pub stim_events: VecDeque<crate::stimulation::StimEvent>,
}

/// Settings of the output thread.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputConfig {
    /// Publish decisions on an LSL marker stream of this name (`None`: no LSL output).
    pub marker_stream: Option<String>,
    /// Record the session (raw EEG, decisions, events) to this XDF file.
    pub record: Option<PathBuf>,
    /// Whether sample stamps follow the wall clock, so that markers can carry a latency
    /// (not at maximum speed, where stamps are virtual). Set by the session.
    pub clocked: bool,
    /// What triggers stimuli, when stimulation runs (names them in markers).
    pub stim_trigger: Option<crate::stimulation::StimTrigger>,
    /// Whether stimuli are logged without sound (asked for, or no audio device): the summary
    /// says so from the start, not only once the first stimulus is commanded.
    pub stim_dry_run: bool,
}

impl Default for OutputConfig {
    fn default() -> Self {
        OutputConfig {
            marker_stream: Some("neuroloop-markers".into()),
            stim_trigger: None,
            stim_dry_run: false,
            record: None,
            clocked: true,
        }
    }
}

/// Marker text of a decision, e.g.
/// `ssvep-cca class=12Hz index=2 score=0.5312 confidence=0.412 selected=1 latency_ms=0.214`.
/// The latency is left out when `clocked` is false (virtual stamps at maximum speed).
pub fn format_decision(out: &mut String, info: &DecoderInfo, r: &DecisionRecord, clocked: bool) {
    out.clear();
    let d = &r.decision;
    let class = info
        .class_names
        .get(usize::from(d.class))
        .map_or("?", String::as_str);
    let _ = write!(
        out,
        "{} class={} index={} score={:.4} confidence={:.3} selected={}",
        info.name,
        class,
        d.class,
        d.score,
        d.confidence,
        u8::from(d.confident),
    );
    if clocked {
        let _ = write!(
            out,
            " latency_ms={:.3}",
            (r.decided_at - d.sample_time) * 1e3
        );
    }
}

struct Scorer {
    truths: VecDeque<TruthEvent>,
}

impl Scorer {
    fn judge(&self, info: &DecoderInfo, r: &DecisionRecord) -> Option<bool> {
        let mapping = info.truth;
        if mapping == TruthMapping::None {
            return None;
        }
        let end = r.decision.sample_time;
        self.truths.iter().rev().find_map(|t| {
            let inside =
                r.decision.starts_at_or_after(t.onset) && end <= t.onset + t.duration_secs + 1e-9;
            if !inside {
                return None;
            }
            info.is_truth_class(usize::from(r.decision.class), &t.kind)
        })
    }
}

/// What the window presented, sent from the GUI thread to the output thread for the recording
/// and the marker stream.
#[derive(Debug, Clone, PartialEq)]
pub enum UiEvent {
    /// One presented frame (its predicted presentation time and refreshes missed before it).
    Frame(neuroloop_stimuli::frame::FrameTime),
    /// A stimulus marker (e.g. `speller stim-on trial=3`), stamped on the LSL clock.
    Marker {
        /// Marker text.
        text: String,
        /// LSL time.
        at: f64,
    },
    /// Start recording to this XDF file (sessions with a window; errors go to the log).
    StartRecording(PathBuf),
    /// Close the recording being written.
    StopRecording,
}

/// Capacity of the GUI-to-output event ring (over a minute of frames at 60 Hz).
pub const UI_EVENT_CAPACITY: usize = 8192;

/// The GUI's end of the event ring. Never blocks: when the output thread falls a full ring
/// behind, events are refused (`send` returns false) and the window counts and shows them.
pub struct UiEventSender {
    pub(crate) ring: ringbuf::HeapProd<UiEvent>,
    pub(crate) outputs: std::thread::Thread,
    /// Stimulus onsets for the worker's decoders.
    pub(crate) onsets: ringbuf::HeapProd<f64>,
}

impl UiEventSender {
    /// Queues `event` for the output thread; false (and the event dropped) when the ring is
    /// full.
    pub fn send(&mut self, event: UiEvent) -> bool {
        use ringbuf::traits::Producer;
        let ok = self.ring.try_push(event).is_ok();
        self.outputs.unpark();
        ok
    }

    /// Tells the decoders that a stimulus starts (or started) at LSL time `onset`; false when
    /// the worker is 64 onsets behind.
    pub fn stimulus_onset(&mut self, onset: f64) -> bool {
        use ringbuf::traits::Producer;
        self.onsets.try_push(onset).is_ok()
    }
}

/// What the output thread needs to know about the session.
pub struct OutputContext<'a> {
    /// Decoder descriptions, in decision `decoder` index order.
    pub decoders: &'a [DecoderInfo],
    /// Name of the input stream (annotations are republished as `<name>-annotations`).
    pub stream_name: &'a str,
    /// Texts of the source's annotations (replayed files).
    pub annotation_texts: &'a [String],
}

/// Runs the output thread until `done` is set and the ring is empty. Creates its LSL outlet
/// itself (LSL handles are not `Send`) and reports a failure to create it in the log.
pub fn run_outputs(
    mut rx: HeapCons<OutputEvent>,
    cfg: &OutputConfig,
    ctx: &OutputContext<'_>,
    log: &Mutex<OutputLog>,
    done: &AtomicBool,
    recording: Recording,
    mut ui_events: HeapCons<UiEvent>,
) {
    let mut out = OutputThread::new(cfg, ctx, log, recording);
    loop {
        let finishing = done.load(Ordering::Acquire);
        let mut got = 0;
        while let Some(event) = rx.try_pop() {
            got += 1;
            match event {
                OutputEvent::Decision(r) => out.decision(&r),
                OutputEvent::Stim(e) => out.stimulus(e),
                OutputEvent::Source(e) => out.source_event(e),
            }
        }
        while let Some(event) = ui_events.try_pop() {
            got += 1;
            out.ui_event(event);
        }
        let now = neuroloop_acquisition::clock::local_clock();
        out.errors.extend(out.recording.service(now));
        if let Ok(mut shared) = log.try_lock() {
            out.hand_over(&mut shared);
        }
        if finishing && got == 0 {
            break;
        }
        if got == 0 {
            // The worker unparks this thread when it pushes; the timeout bounds shutdown.
            std::thread::park_timeout(Duration::from_millis(50));
        }
    }
    // The worker has stopped: the recording gets the rest of the feed and its footers.
    let finished = out.recording.finish();
    out.errors.extend(finished);
    // Final hand-over, waiting for the lock this once: the session is over.
    let mut shared = log.lock().unwrap_or_else(|p| p.into_inner());
    out.hand_over(&mut shared);
}

/// Events kept for display per kind (source events, stimulation events).
const EVENT_MEMORY: usize = 64;

/// Pushes `item` onto `queue`, dropping the oldest when it holds `capacity`.
fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, capacity: usize) {
    if queue.len() == capacity {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// The output thread's state: its outlets, the recording, the scores, and what waits to be
/// handed to the log (the GUI may hold its lock).
struct OutputThread<'a> {
    cfg: &'a OutputConfig,
    ctx: &'a OutputContext<'a>,
    outlet: Option<MarkerOutlet>,
    annotation_outlet: Option<MarkerOutlet>,
    recording: Recording,
    scorer: Scorer,
    text: String,
    pending: VecDeque<LoggedDecision>,
    pending_events: VecDeque<SourceEvent>,
    pending_stim: VecDeque<crate::stimulation::StimEvent>,
    scores: Vec<Score>,
    markers_sent: u64,
    errors: Vec<String>,
    stim: Option<crate::stimulation::StimSummary>,
}

impl<'a> OutputThread<'a> {
    fn new(
        cfg: &'a OutputConfig,
        ctx: &'a OutputContext<'a>,
        log: &Mutex<OutputLog>,
        recording: Recording,
    ) -> Self {
        let open = |name: &str, what: &str| match MarkerOutlet::new(
            name,
            &format!("{name}-{}", std::process::id()),
        ) {
            Ok(o) => Some(o),
            Err(e) => {
                push_error(log, format!("{what}: {e}"));
                None
            }
        };
        let outlet = cfg.marker_stream.as_deref().and_then(|name| {
            open(
                name,
                "marker outlet unavailable, decisions are not published on LSL",
            )
        });
        // A replayed file's annotations go out as their own marker stream, stamped at their
        // onset.
        let annotation_outlet = match &cfg.marker_stream {
            Some(_) if !ctx.annotation_texts.is_empty() => open(
                &format!("{}-annotations", ctx.stream_name),
                "annotation outlet unavailable",
            ),
            _ => None,
        };
        OutputThread {
            cfg,
            ctx,
            outlet,
            annotation_outlet,
            recording,
            scorer: Scorer {
                truths: VecDeque::with_capacity(TRUTH_MEMORY),
            },
            text: String::with_capacity(256),
            pending: VecDeque::with_capacity(LOG_CAPACITY),
            pending_events: VecDeque::with_capacity(EVENT_MEMORY),
            pending_stim: VecDeque::with_capacity(EVENT_MEMORY),
            scores: vec![Score::default(); ctx.decoders.len()],
            markers_sent: 0,
            errors: Vec::new(),
            stim: cfg.stim_trigger.map(|t| crate::stimulation::StimSummary {
                trigger: t.name(),
                dry_run: cfg.stim_dry_run,
                ..Default::default()
            }),
        }
    }

    /// Publishes `text` on the marker outlet at LSL time `at`, counting it or the error.
    fn publish(&mut self, text: &str, at: f64) {
        if let Some(o) = self.outlet.as_mut() {
            match o.push(text, at) {
                Ok(()) => self.markers_sent += 1,
                Err(e) => self.errors.push(format!("publishing a marker failed: {e}")),
            }
        }
    }

    /// Records `write`'s output to the open file, giving the file up on a write error.
    fn record(
        &mut self,
        write: impl FnOnce(&mut crate::record::SessionRecorder) -> Result<(), XdfWriteError>,
    ) {
        if let Some(rec) = self.recording.recorder()
            && let Err(e) = write(rec)
        {
            let message = self.recording.fail(&e);
            self.errors.extend(message);
        }
    }

    fn decision(&mut self, r: &DecisionRecord) {
        let Some(info) = self.ctx.decoders.get(usize::from(r.decoder)) else {
            return;
        };
        let mut text = std::mem::take(&mut self.text);
        if self.outlet.is_some() || self.recording.recorder().is_some() {
            format_decision(&mut text, info, r, self.cfg.clocked);
        }
        self.publish(&text, r.decision.sample_time);
        self.record(|rec| rec.decision(&text, r.decision.sample_time));
        self.text = text;
        let correct = self.scorer.judge(info, r);
        if let Some(c) = correct {
            let s = &mut self.scores[usize::from(r.decoder)];
            s.scored += 1;
            s.correct += u64::from(c);
        }
        let logged = LoggedDecision {
            record: *r,
            correct,
        };
        push_bounded(&mut self.pending, logged, LOG_CAPACITY);
    }

    fn stimulus(&mut self, e: crate::stimulation::StimEvent) {
        let trigger = self
            .cfg
            .stim_trigger
            .unwrap_or(crate::stimulation::StimTrigger::SlowOscillation);
        let mut text = std::mem::take(&mut self.text);
        e.marker(trigger, &mut text);
        let at = if e.time.is_finite() {
            e.time
        } else {
            e.target_time
        };
        self.publish(&text, at);
        self.record(|rec| rec.text_event(&text, at));
        self.text = text;
        if let Some(s) = self.stim.as_mut() {
            s.add(&e);
        }
        push_bounded(&mut self.pending_stim, e, EVENT_MEMORY);
    }

    fn source_event(&mut self, e: SourceEvent) {
        if let (SourceEvent::Annotation { at, index }, Some(o)) =
            (e, self.annotation_outlet.as_mut())
        {
            let text = self.ctx.annotation_texts.get(index as usize);
            if let Err(err) = o.push(text.map_or("annotation", String::as_str), at) {
                self.errors
                    .push(format!("publishing an annotation failed: {err}"));
            }
        }
        self.record(|rec| rec.event(&e));
        if let SourceEvent::Truth(t) = e {
            push_bounded(&mut self.scorer.truths, t, TRUTH_MEMORY);
        }
        push_bounded(&mut self.pending_events, e, EVENT_MEMORY);
    }

    fn ui_event(&mut self, event: UiEvent) {
        match event {
            UiEvent::Frame(f) => self.record(|rec| rec.frame(&f)),
            UiEvent::Marker { text, at } => {
                self.publish(&text, at);
                self.record(|rec| rec.text_event(&text, at));
            }
            UiEvent::StartRecording(path) => {
                if let Err(e) = self.recording.start(&path) {
                    self.errors.push(e);
                }
            }
            UiEvent::StopRecording => {
                if let Err(e) = self.recording.stop() {
                    self.errors.push(e);
                }
            }
        }
    }

    /// Moves what waits into the shared log and copies the totals there.
    fn hand_over(&mut self, shared: &mut OutputLog) {
        shared.recorded_frames = self.recording.frames();
        shared.recordings.clone_from(&self.recording.files);
        for d in self.pending.drain(..) {
            push_bounded(&mut shared.recent, d, LOG_CAPACITY);
        }
        for e in self.pending_events.drain(..) {
            push_bounded(&mut shared.events, e, EVENT_MEMORY);
        }
        for e in self.pending_stim.drain(..) {
            push_bounded(&mut shared.stim_events, e, EVENT_MEMORY);
        }
        shared.scores.clone_from(&self.scores);
        shared.markers_sent = self.markers_sent;
        shared.errors.append(&mut self.errors);
        shared.stim = self.stim;
    }
}

fn push_error(log: &Mutex<OutputLog>, message: String) {
    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
    l.errors.push(message);
}

/// Shared handle to the output log.
pub type SharedLog = Arc<Mutex<OutputLog>>;

#[cfg(test)]
mod tests {
    use super::*;
    use neuroloop_decoders::Decision;

    fn record(class: u16, sample_time: f64) -> DecisionRecord {
        DecisionRecord {
            decoder: 0,
            decision: Decision {
                class,
                score: 0.5,
                confidence: 0.25,
                confident: true,
                sample_time,
                window_start: sample_time - 2.0,
                window_secs: 2.0,
            },
            decided_at: sample_time + 0.0005,
            arrival: sample_time + 0.0001,
        }
    }

    #[test]
    fn decision_markers_are_readable() {
        let info = DecoderInfo {
            name: "ssvep-cca".into(),
            class_names: vec!["8Hz".into(), "12Hz".into()],
            truth: TruthMapping::SsvepTargetIndex,
            channels: Vec::new(),
            decides_at_onsets: false,
        };
        let mut s = String::new();
        format_decision(&mut s, &info, &record(1, 10.0), true);
        assert_eq!(
            s,
            "ssvep-cca class=12Hz index=1 score=0.5000 confidence=0.250 selected=1 latency_ms=0.500"
        );
    }

    #[test]
    fn decisions_are_scored_only_when_their_window_is_inside_a_trial() {
        let mut scorer = Scorer {
            truths: VecDeque::new(),
        };
        scorer.truths.push_back(TruthEvent {
            onset: 10.0,
            duration_secs: 4.0,
            kind: TruthKind::SsvepTarget {
                index: 1,
                freq_hz: 12.0,
            },
        });
        let mut m = DecoderInfo {
            name: "ssvep-cca".into(),
            class_names: vec!["8Hz".into(), "12Hz".into()],
            truth: TruthMapping::SsvepTargetIndex,
            channels: Vec::new(),
            decides_at_onsets: false,
        };
        assert_eq!(scorer.judge(&m, &record(1, 12.0)), Some(true));
        assert_eq!(scorer.judge(&m, &record(0, 13.5)), Some(false));
        // Window starts before the trial.
        assert_eq!(scorer.judge(&m, &record(1, 11.0)), None);
        // Window ends after it.
        assert_eq!(scorer.judge(&m, &record(1, 14.5)), None);
        // A recording's cue names the target by its frequency alone.
        scorer.truths.push_back(TruthEvent {
            onset: 20.0,
            duration_secs: 4.0,
            kind: TruthKind::SsvepTarget {
                index: TruthKind::NO_TARGET_INDEX,
                freq_hz: 8.0,
            },
        });
        assert_eq!(scorer.judge(&m, &record(0, 22.0)), Some(true));
        assert_eq!(scorer.judge(&m, &record(1, 22.0)), Some(false));
        assert_eq!(m.targets_hz(), Some(vec![8.0, 12.0]));
        m.truth = TruthMapping::None;
        assert_eq!(scorer.judge(&m, &record(1, 12.0)), None);
    }

    #[test]
    fn motor_imagery_decisions_are_scored_by_class_name() {
        let mut scorer = Scorer {
            truths: VecDeque::new(),
        };
        scorer.truths.push_back(TruthEvent {
            onset: 10.0,
            duration_secs: 4.0,
            kind: TruthKind::MotorImagery {
                class: neuroloop_acquisition::event::MiClass::RightHand,
            },
        });
        let m = DecoderInfo {
            name: "mi-csp-lda".into(),
            class_names: vec!["left_hand".into(), "right_hand".into()],
            truth: TruthMapping::MiClassName,
            channels: Vec::new(),
            decides_at_onsets: false,
        };
        assert_eq!(scorer.judge(&m, &record(1, 12.0)), Some(true));
        assert_eq!(scorer.judge(&m, &record(0, 12.0)), Some(false));
        assert_eq!(scorer.judge(&m, &record(1, 15.0)), None);
    }
}
