//! The live window: scrolling traces, spectra and signal quality of the raw stream, decoder
//! output and pipeline health.
//!
//! The view only reads what the pipeline publishes (atomics, the display ring, the output log
//! under a briefly held mutex that the output thread only `try_lock`s), so a slow frame never
//! delays acquisition or decoding.

mod channels;
mod quality;

pub use channels::{Region, Side, channels_menu, page_rows};
pub use quality::{flag_color, monitor_panel, quality_ui, spectra_ui};

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use egui::{Color32, RichText};
use egui_plot::{Legend, Line, Plot, PlotPoints};
use neuroloop_acquisition::{SourceEvent, TruthKind};
use ringbuf::traits::{Consumer, Observer};

use neuroloop_dsp::filter::FilterChain;
use neuroloop_runtime::FrontEnd;
use neuroloop_runtime::monitor::SignalMonitor;
use neuroloop_runtime::outputs::{DecoderInfo, OutputLog};
use neuroloop_runtime::record::RecordingStatus;
use neuroloop_runtime::report::SessionReport;
use neuroloop_runtime::session::{Problem, Session, Severity};
use neuroloop_runtime::stimulation::{StimSummary, StimTrigger};

use crate::window::clock_text;

/// Seconds of signal kept on screen.
pub const TRACE_SECS: f64 = 5.0;

/// Seconds of decisions drawn per decoder.
pub const DECISIONS_SECS: f64 = 30.0;

/// Recent display samples per channel.
pub struct TraceHistory {
    /// Channel labels.
    pub labels: Vec<String>,
    /// Which channels are drawn (all unless set).
    pub visible: Vec<bool>,
    /// Samples per channel, oldest first.
    pub channels: Vec<VecDeque<f32>>,
    /// Display rate.
    pub rate_hz: f64,
    capacity: usize,
    frame: Vec<f32>,
}

impl TraceHistory {
    /// An empty history for these channels at `rate_hz`.
    pub fn new(labels: Vec<String>, rate_hz: f64) -> Self {
        let capacity = (TRACE_SECS * rate_hz).ceil() as usize;
        TraceHistory {
            visible: vec![true; labels.len()],
            channels: (0..labels.len())
                .map(|_| VecDeque::with_capacity(capacity))
                .collect(),
            frame: vec![0.0; labels.len()],
            labels,
            rate_hz,
            capacity,
        }
    }

    /// Appends one interleaved frame.
    pub fn push_frame(&mut self, frame: &[f32]) {
        for (ch, &v) in self.channels.iter_mut().zip(frame) {
            if ch.len() == self.capacity {
                ch.pop_front();
            }
            ch.push_back(v);
        }
    }

    /// Robust amplitude of the traces (median of per-channel standard deviations), used to
    /// space them on screen.
    pub fn typical_amplitude(&self) -> f32 {
        let mut sds: Vec<f32> = self
            .channels
            .iter()
            .filter(|c| c.len() > 1)
            .map(|c| {
                let n = c.len() as f32;
                let mean = c.iter().sum::<f32>() / n;
                (c.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n).sqrt()
            })
            .filter(|s| s.is_finite())
            .collect();
        if sds.is_empty() {
            return 10.0;
        }
        sds.sort_by(f32::total_cmp);
        sds[sds.len() / 2].max(1e-3)
    }
}

/// Seconds of sigma power kept on screen.
pub const SIGMA_SECS: f64 = 30.0;

/// Sigma-band (11-16 Hz) RMS of every displayed channel over the last [`SIGMA_SECS`],
/// computed on the GUI thread from the display feed (a copy; the pipeline never waits for it):
/// a causal band-pass, then the square root of a 0.3 s exponential mean square, kept 10 times a
/// second.
pub struct SigmaHistory {
    filter: FilterChain,
    mean_square: Vec<f64>,
    alpha: f64,
    scratch: Vec<f64>,
    every: usize,
    count: usize,
    /// RMS per channel, µV, oldest first, one value per 0.1 s.
    pub channels: Vec<VecDeque<f32>>,
    capacity: usize,
}

impl SigmaHistory {
    /// Sigma band, Hz.
    pub const BAND_HZ: (f64, f64) = (11.0, 16.0);

    /// For `channels` display channels at `rate_hz`; `None` when the rate cannot carry the
    /// sigma band.
    pub fn new(channels: usize, rate_hz: f64) -> Option<Self> {
        use neuroloop_dsp::filter::{FilterChain, FilterSpec};
        if Self::BAND_HZ.1 >= 0.45 * rate_hz {
            return None;
        }
        let mut filter = FilterChain::new(vec![FilterSpec::bandpass(
            Self::BAND_HZ.0,
            Self::BAND_HZ.1,
            2,
        )]);
        filter.prepare(rate_hz, channels, 1).ok()?;
        let capacity = (SIGMA_SECS * 10.0) as usize;
        Some(SigmaHistory {
            filter,
            mean_square: vec![0.0; channels],
            alpha: 1.0 / (0.3 * rate_hz),
            scratch: vec![0.0; channels],
            every: ((rate_hz / 10.0).round() as usize).max(1),
            count: 0,
            channels: (0..channels)
                .map(|_| VecDeque::with_capacity(capacity))
                .collect(),
            capacity,
        })
    }

    /// Takes one interleaved display frame.
    pub fn push_frame(&mut self, frame: &[f32]) {
        for (d, &v) in self.scratch.iter_mut().zip(frame) {
            *d = f64::from(v);
        }
        self.filter.process_interleaved_f64(&mut self.scratch);
        for (m, &x) in self.mean_square.iter_mut().zip(&self.scratch) {
            *m += self.alpha * (x * x - *m);
        }
        self.count += 1;
        if self.count.is_multiple_of(self.every) {
            for (ch, m) in self.channels.iter_mut().zip(&self.mean_square) {
                if ch.len() == self.capacity {
                    ch.pop_front();
                }
                ch.push_back(m.sqrt() as f32);
            }
        }
    }
}

/// Height of one trace row, points: the least at which egui_plot names every row.
const ROW_POINTS: f32 = 24.0;
/// Spacings between traces offered by the window, in µV (`None`: automatic).
pub const TRACE_SPACINGS_UV: [Option<f64>; 8] = [
    None,
    Some(10.0),
    Some(20.0),
    Some(50.0),
    Some(100.0),
    Some(200.0),
    Some(500.0),
    Some(1000.0),
];

/// The spacing `traces_plot` uses: `fixed`, or six typical amplitudes rounded up to 1, 2 or 5
/// times a power of ten (a stable scale that reads well).
pub fn trace_spacing_uv(traces: &TraceHistory, fixed: Option<f64>) -> f64 {
    if let Some(uv) = fixed {
        return uv;
    }
    let raw = (6.0 * f64::from(traces.typical_amplitude())).max(1e-3);
    let decade = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * decade)
        .find(|&v| v >= raw)
        .unwrap_or(10.0 * decade)
}

/// An event drawn across the traces: seconds before the newest sample, label, colour.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceEvent {
    /// Seconds relative to the newest sample on screen (negative: earlier).
    pub at_secs: f64,
    /// Short label (shown in the legend and on hover).
    pub label: String,
    /// Line colour.
    pub colour: Color32,
}

/// The events of the log that fall within the last `secs` seconds before `latest` (the
/// newest sample's stamp): ground-truth onsets (cue, imagery class, spindle, slow
/// oscillation), gaps, stream losses and returns, a replayed file's annotations, and
/// stimulation commands and onsets.
pub fn trace_events(log: &OutputLog, latest: f64, secs: f64) -> Vec<TraceEvent> {
    let mut out = Vec::new();
    let mut add = |t: f64, label: String, colour: Color32| {
        let at = t - latest;
        if at.is_finite() && (-secs..=0.0).contains(&at) {
            out.push(TraceEvent {
                at_secs: at,
                label,
                colour,
            });
        }
    };
    let cue = Color32::from_rgb(120, 200, 255);
    let trouble = Color32::from_rgb(230, 70, 60);
    for e in &log.events {
        match *e {
            SourceEvent::Truth(t) => {
                let label = match t.kind {
                    TruthKind::SsvepTarget { freq_hz, .. } => format!("cue {freq_hz} Hz"),
                    TruthKind::MotorImagery { class } => format!("cue {}", class.name()),
                    TruthKind::Spindle { .. } => "spindle".into(),
                    TruthKind::SlowOscillation { .. } => "slow oscillation".into(),
                };
                add(t.onset, label, cue);
            }
            SourceEvent::Gap { at, missing_secs } => {
                add(at, format!("gap {missing_secs:.3} s"), trouble);
            }
            SourceEvent::StreamLost { at } => add(at, "stream lost".into(), trouble),
            SourceEvent::Reconnected { at } => add(at, "reconnected".into(), trouble),
            SourceEvent::Jump { at, to_secs, .. } => add(
                at,
                format!("jump to {to_secs:.1} s"),
                Color32::from_rgb(120, 170, 230),
            ),
            SourceEvent::Annotation { at, .. } => {
                add(at, "annotation".into(), Color32::from_rgb(200, 200, 120));
            }
            SourceEvent::Onset { at } => {
                add(
                    at,
                    "stimulus onset".into(),
                    Color32::from_rgb(200, 200, 120),
                );
            }
        }
    }
    for e in &log.stim_events {
        match e.kind {
            neuroloop_runtime::stimulation::StimEventKind::Commanded { dry_run } => add(
                e.time,
                if dry_run { "burst (dry run)" } else { "burst" }.into(),
                Color32::from_rgb(240, 150, 240),
            ),
            neuroloop_runtime::stimulation::StimEventKind::Onset { .. } => {
                add(
                    e.time,
                    "sound onset".into(),
                    Color32::from_rgb(250, 210, 90),
                );
            }
            neuroloop_runtime::stimulation::StimEventKind::Suppressed(_) => {}
        }
    }
    out
}

/// The scrolling traces: one row per channel of `rows` (indices into `traces`), named on the
/// left, `spacing_uv` apart (`None`: automatic, [`trace_spacing_uv`]), the newest sample at
/// 0 s, `events` as vertical lines.
pub fn traces_plot(
    ui: &mut egui::Ui,
    traces: &TraceHistory,
    rows: &[usize],
    spacing_uv: Option<f64>,
    events: &[TraceEvent],
) {
    let spacing = trace_spacing_uv(traces, spacing_uv);
    let rate = traces.rate_hz;
    let shown = rows;
    let n = shown.len();
    let labels: Vec<String> = shown.iter().map(|&c| traces.labels[c].clone()).collect();
    Plot::new("traces")
        .allow_scroll(false)
        .x_axis_label(format!("seconds · rows {spacing} µV apart"))
        .y_grid_spacer(move |_| {
            (0..n)
                .map(|i| egui_plot::GridMark {
                    value: -(i as f64) * spacing,
                    step_size: spacing,
                })
                .collect()
        })
        .y_axis_formatter(move |mark, _| {
            let row = (-mark.value / spacing).round();
            if row >= 0.0 && ((row * spacing) + mark.value).abs() < 1e-9 * spacing.max(1.0) {
                labels.get(row as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            for (i, &c) in shown.iter().enumerate() {
                let (label, ch) = (&traces.labels[c], &traces.channels[c]);
                let offset = -(i as f64) * spacing;
                let len = ch.len();
                let points: PlotPoints<'_> = ch
                    .iter()
                    .enumerate()
                    .map(|(k, &v)| [(k as f64 - len as f64) / rate, f64::from(v) + offset])
                    .collect();
                plot.line(Line::new(label.clone(), points));
            }
            for e in events {
                plot.vline(
                    egui_plot::VLine::new(e.label.clone(), e.at_secs)
                        .color(e.colour)
                        .width(1.5),
                );
            }
        });
}

/// Speeds offered for a replay (up to [`neuroloop_acquisition::replay::MAX_REPLAY_SPEED`]).
const REPLAY_SPEEDS: [f64; 5] = [0.5, 1.0, 2.0, 5.0, 10.0];

/// A file replay's controls: pause (Space), position with a slider to move it (applied when
/// let go, `drag` holds it meanwhile), speed.
pub fn replay_ui(
    ui: &mut egui::Ui,
    control: &neuroloop_acquisition::replay::ReplayControl,
    drag: &mut Option<f64>,
) {
    let (at, total) = control.position_secs();
    ui.horizontal(|ui| {
        let paused = control.paused();
        let space = ui.input_mut(|i| i.consume_key(egui::Modifiers::NONE, egui::Key::Space));
        if ui
            .button(if paused { "Resume" } else { "Pause" })
            .on_hover_text("Space")
            .clicked()
            || space
        {
            control.set_paused(!paused);
        }
        let mut shown = drag.unwrap_or(at);
        let text = format!("{} of {}", clock_text(shown), clock_text(total));
        ui.spacing_mut().slider_width = 360.0;
        let slider = ui.add(
            egui::Slider::new(&mut shown, 0.0..=total.max(0.1))
                .show_value(false)
                .text(text),
        );
        if slider.dragged() || slider.changed() {
            *drag = Some(shown);
        }
        if (slider.drag_stopped() || (slider.changed() && !slider.dragged()))
            && let Some(to) = drag.take()
        {
            control.seek_secs(to);
        }
        let speed = control.speed();
        egui::ComboBox::from_label("speed")
            .selected_text(format!("{speed}×"))
            .show_ui(ui, |ui| {
                for s in REPLAY_SPEEDS {
                    if ui.selectable_label(s == speed, format!("{s}×")).clicked() {
                        control.set_speed(s);
                    }
                }
            });
        if paused {
            ui.label(RichText::new("paused").color(Color32::from_rgb(230, 160, 40)));
        }
    });
}

/// One stimulation event for the log on screen, its times in seconds since `origin`:
/// `  12.34 s  burst on so commanded, due 12.39 s (dry run)`.
pub fn stim_line(
    e: &neuroloop_runtime::stimulation::StimEvent,
    trigger: StimTrigger,
    origin: f64,
) -> String {
    use neuroloop_runtime::stimulation::StimEventKind;
    use neuroloop_stimuli::audio::Placement;
    let at = |t: f64| t - origin;
    match e.kind {
        StimEventKind::Commanded { dry_run } => format!(
            "{:8.2} s  burst on {} commanded, due {:.2} s{}",
            at(e.time),
            trigger.name(),
            at(e.target_time),
            if dry_run { " (dry run)" } else { "" }
        ),
        StimEventKind::Suppressed(why) => format!(
            "{:8.2} s  {} trigger not acted on: {}",
            at(e.time),
            trigger.name(),
            why.name()
        ),
        StimEventKind::Onset { placement, .. } => match placement {
            Placement::Dropped => format!(
                "{:8.2} s  burst dropped (due {:.2} s)",
                at(e.target_time),
                at(e.target_time)
            ),
            Placement::OnTime | Placement::Late => format!(
                "{:8.2} s  burst played {}, {:+.1} ms from its target",
                at(e.time),
                if placement == Placement::Late {
                    "late"
                } else {
                    "on time"
                },
                1e3 * (e.time - e.target_time)
            ),
        },
    }
}

/// Decisions of the last `secs` seconds before `latest`, one row per class (0 at the bottom),
/// each decision a point (large when confident), hits green and misses red when scored.
pub fn decisions_plot(
    ui: &mut egui::Ui,
    id: &str,
    log: &OutputLog,
    decoder: usize,
    class_names: &[String],
    latest: f64,
    secs: f64,
) {
    use egui_plot::{Points, Text};
    let names = class_names.to_vec();
    let n = names.len();
    Plot::new(id.to_string())
        .height(24.0 + 18.0 * n.min(8) as f32)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .include_x(-secs)
        .include_x(0.0)
        .include_y(-0.5)
        .include_y(n as f64 - 0.5)
        .show_axes([true, false])
        .x_axis_label("s before the newest sample; one row per class")
        .show(ui, |plot| {
            for (hit, colour) in [
                (Some(true), Color32::from_rgb(60, 180, 80)),
                (Some(false), Color32::from_rgb(220, 70, 60)),
                (None, Color32::from_rgb(120, 170, 230)),
            ] {
                for confident in [true, false] {
                    let points: Vec<[f64; 2]> = log
                        .recent
                        .iter()
                        .filter(|l| {
                            usize::from(l.record.decoder) == decoder
                                && l.correct == hit
                                && l.record.decision.confident == confident
                        })
                        .map(|l| {
                            [
                                l.record.decision.sample_time - latest,
                                f64::from(l.record.decision.class),
                            ]
                        })
                        .filter(|p| (-secs..=0.0).contains(&p[0]))
                        .collect();
                    if !points.is_empty() {
                        plot.points(
                            Points::new(String::new(), points)
                                .color(colour)
                                .radius(if confident { 3.5 } else { 1.5 }),
                        );
                    }
                }
            }
            if n <= 8 {
                for (c, name) in names.iter().enumerate() {
                    plot.text(
                        Text::new(
                            String::new(),
                            egui_plot::PlotPoint::new(-secs, c as f64),
                            RichText::new(name).small(),
                        )
                        .anchor(egui::Align2::LEFT_CENTER),
                    );
                }
            }
        });
}

/// The live view of a running session.
pub struct SessionWindow {
    session: Option<Session>,
    source_label: String,
    clocked: bool,
    traces: TraceHistory,
    /// Shown when the session detects spindles.
    sigma: Option<SigmaHistory>,
    /// Spectra and quality of the raw stream.
    monitor: Option<SignalMonitor>,
    /// Scratch for draining the raw feed.
    raw_block: Vec<f32>,
    report_sink: Arc<Mutex<Option<SessionReport>>>,
    stopped_report: Option<SessionReport>,
    /// Where recordings started in the window go.
    record_dir: PathBuf,
    /// A recording asked for and not yet reported open by the output thread, with the
    /// number of errors in the log when it was asked for (a new one means it failed).
    record_requested: Option<(PathBuf, usize)>,
    /// The session's recording files, as last read from its log.
    recordings: Vec<RecordingStatus>,
    /// Problems the user dismissed (by text: a changed count shows again).
    dismissed: HashSet<String>,
    /// The raw stream's last seconds (before the front end), for the raw view of the traces.
    raw_traces: TraceHistory,
    /// Which channels carry EEG; the others are drawn only when ticked in the channel menu.
    eeg: Vec<bool>,
    /// The page of traces shown when the channels ticked do not fit the window.
    trace_page: usize,
    /// Whether the traces show the raw stream instead of the front end's output.
    show_raw: bool,
    /// Spacing between trace rows in µV (`None`: automatic).
    spacing_uv: Option<f64>,
    /// Stamp of the newest frame drained for the traces (events are placed against it).
    shown_until: Option<f64>,
    /// The stream's time when the window first drew data: times shown to the user are seconds
    /// since then.
    time_origin: Option<f64>,
    /// A replay position being dragged on the slider (applied when it is let go).
    seek_drag: Option<f64>,
    /// Display filters of the raw view (the session's stages, each switched on or off).
    view_filters: FrontEnd,
    /// The session's front end, whose stages the raw view offers.
    session_filters: FrontEnd,
    /// The raw view's filters, rebuilt when a stage is switched.
    view_chain: Option<FilterChain>,
    view_block: Vec<f32>,
}

impl SessionWindow {
    /// Wraps a started session. The final report is written to `report_sink` when the view
    /// stops the session (window closed or source ended).
    pub fn new(
        session: Session,
        source_label: String,
        clocked: bool,
        report_sink: Arc<Mutex<Option<SessionReport>>>,
    ) -> Self {
        let rate = session.scope.as_ref().map_or(250.0, |s| s.rate_hz);
        let traces = TraceHistory::new(session.meta.channel_labels.clone(), rate);
        let sigma = session
            .decoders
            .iter()
            .any(|d| d.name.starts_with("spindle"))
            .then(|| SigmaHistory::new(session.meta.channel_labels.len(), rate))
            .flatten();
        let monitor = session.scope.as_ref().and_then(|s| {
            SignalMonitor::new(
                session.meta.channel_labels.clone(),
                s.raw_rate_hz,
                neuroloop_dsp::quality::QualityConfig {
                    line_hz: session.line_hz().unwrap_or(50.0),
                    ..Default::default()
                },
            )
            .ok()
            .map(|m| m.with_kinds(&session.meta.channel_kinds))
            // Without a notch to say it, or with one assumed, the mains is read from the
            // spectra.
            .map(|m| {
                if session.line_hz().is_none() || session.mains_assumed {
                    m.detecting_mains()
                } else {
                    m
                }
            })
        });
        let raw_block = vec![0.0; session.meta.channels() * 64];
        let raw_rate = session.scope.as_ref().map_or(rate, |s| s.raw_rate_hz);
        let raw_traces = TraceHistory::new(session.meta.channel_labels.clone(), raw_rate);
        let channels = session.meta.channels();
        let eeg = session.meta.eeg_mask();
        let (mut traces, mut raw_traces) = (traces, raw_traces);
        // Other channels (ECG, oximetry, position) are drawn only when asked for.
        traces.visible.clone_from(&eeg);
        raw_traces.visible.clone_from(&eeg);
        // The stages the session applies: a notch it left out (at or above Nyquist) is none.
        let session_filters = FrontEnd {
            notch_hz: session.line_hz(),
            ..session.front_end_config.clone()
        };
        SessionWindow {
            session: Some(session),
            source_label,
            clocked,
            traces,
            sigma,
            monitor,
            raw_block,
            report_sink,
            stopped_report: None,
            record_dir: PathBuf::from("recordings"),
            record_requested: None,
            recordings: Vec::new(),
            dismissed: HashSet::new(),
            raw_traces,
            eeg,
            trace_page: 0,
            show_raw: false,
            spacing_uv: None,
            shown_until: None,
            time_origin: None,
            seek_drag: None,
            view_chain: Self::display_chain(&session_filters, raw_rate, channels),
            view_filters: session_filters.clone(),
            session_filters,
            view_block: vec![0.0; channels * 64],
        }
    }

    /// The session's problems, each with its fix and a button that hides it (until its text
    /// changes, e.g. a count grows). Not modal: the session goes on underneath.
    fn problems_ui(ui: &mut egui::Ui, problems: &[Problem], dismissed: &mut HashSet<String>) {
        let mut hide = None;
        for p in problems.iter().filter(|p| !dismissed.contains(&p.text)) {
            let (colour, tag) = match p.severity {
                Severity::Error => (Color32::from_rgb(230, 70, 60), "problem"),
                Severity::Warning => (Color32::from_rgb(220, 170, 40), "warning"),
            };
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(tag).strong().color(colour));
                ui.label(RichText::new(&p.text).color(colour));
                if ui.small_button("dismiss").clicked() {
                    hide = Some(p.text.clone());
                }
            });
        }
        dismissed.extend(hide);
    }

    /// Recordings started in the window go to `dir` (default `recordings`).
    pub fn with_record_dir(mut self, dir: PathBuf) -> Self {
        self.record_dir = dir;
        self
    }

    /// The raw view's filter chain for `filters` (`None` when no filtering stage is on or the
    /// chain cannot be made at this rate).
    fn display_chain(filters: &FrontEnd, rate_hz: f64, channels: usize) -> Option<FilterChain> {
        let specs = filters.specs(rate_hz);
        if specs.is_empty() {
            return None;
        }
        let mut chain = FilterChain::new(specs);
        chain.prepare(rate_hz, channels.max(1), 64).ok()?;
        Some(chain)
    }

    /// Switches the raw view's display filters: the session's high-pass, notch and common
    /// average, each on or off (those the session does not apply stay off). The traces
    /// restart, so that no frame mixes two filter settings.
    pub fn set_display_filters(&mut self, highpass: bool, notch: bool, common_average: bool) {
        let s = &self.session_filters;
        let wanted = FrontEnd {
            highpass_hz: s.highpass_hz.filter(|_| highpass),
            notch_hz: s.notch_hz.filter(|_| notch),
            common_average: s.common_average && common_average,
        };
        if wanted == self.view_filters {
            return;
        }
        self.view_chain = Self::display_chain(
            &wanted,
            self.raw_traces.rate_hz,
            self.raw_traces.labels.len(),
        );
        self.view_filters = wanted;
        let visible = std::mem::take(&mut self.raw_traces.visible);
        self.raw_traces =
            TraceHistory::new(self.raw_traces.labels.clone(), self.raw_traces.rate_hz);
        self.raw_traces.visible = visible;
    }

    /// The raw view's display filters: (high-pass, notch, common average) on.
    pub fn display_filters(&self) -> (bool, bool, bool) {
        let v = &self.view_filters;
        (
            v.highpass_hz.is_some(),
            v.notch_hz.is_some(),
            v.common_average,
        )
    }

    /// Whether the session has stopped (its source ended or the view finished it).
    pub fn is_finished(&self) -> bool {
        self.session.is_none()
    }

    /// Whether a recording file is being written.
    pub fn is_recording(&self) -> bool {
        self.recordings.last().is_some_and(|r| r.open)
    }

    /// Starts a recording in the recordings folder, or stops the one being written (Ctrl+R).
    pub fn toggle_recording(&mut self) {
        let recording = self.is_recording();
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if recording {
            session.stop_recording();
        } else if self.record_requested.is_none() {
            // Briefly, like the decision panel: the output thread only try_locks the log.
            let errors = session
                .log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .errors
                .len();
            let path = neuroloop_runtime::record::recording_path(&self.record_dir);
            if session.start_recording(path.clone()) {
                self.record_requested = Some((path, errors));
            }
        }
    }

    /// The recording row: the file being written with its duration and size and the button
    /// that stops it, or the button that starts one and the last file written.
    fn recording_ui(&self, ui: &mut egui::Ui) -> bool {
        let mut toggle = false;
        ui.horizontal_wrapped(|ui| match self.recordings.last().filter(|r| r.open) {
            Some(r) => {
                ui.label(RichText::new("REC").strong().color(Color32::WHITE).background_color(Color32::from_rgb(190, 30, 30)));
                ui.label(format!(
                    "{}  {}  {:.1} MiB  {} frames",
                    r.path.display(),
                    clock_text(r.duration_secs()),
                    r.bytes as f64 / 1048576.0,
                    r.frames
                ));
                if r.frames_dropped > 0 {
                    ui.label(
                        RichText::new(format!(
                            "{} frames lost (the disk did not keep up)",
                            r.frames_dropped
                        ))
                        .color(Color32::RED),
                    );
                }
                toggle = ui
                    .button("Stop recording")
                    .on_hover_text("Ctrl+R; the file is closed and readable")
                    .clicked();
            }
            None => {
                if let Some((path, _)) = &self.record_requested {
                    ui.label(format!("starting the recording {}…", path.display()));
                } else {
                    toggle = ui
                        .button("Record")
                        .on_hover_text(format!(
                            "Ctrl+R: record the raw EEG, decisions and events to a new XDF file in {}",
                            self.record_dir.display()
                        ))
                        .clicked();
                }
                if let Some(last) = self.recordings.last() {
                    ui.label(
                        RichText::new(format!(
                            "saved {} ({}, {:.1} MiB)",
                            last.path.display(),
                            clock_text(last.duration_secs()),
                            last.bytes as f64 / 1048576.0
                        ))
                        .weak(),
                    );
                    if last.frames_dropped > 0 {
                        ui.label(
                            RichText::new(format!(
                                "{} frames lost while it was written",
                                last.frames_dropped
                            ))
                            .color(Color32::RED),
                        );
                    }
                }
            }
        });
        toggle
    }

    fn drain_scope(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let Some(scope) = session.scope.as_mut() else {
            return;
        };
        // Read before draining: every frame up to this stamp is in the rings now, so after
        // the drain the newest frame on screen is at (or a chunk after) it.
        self.shown_until = scope.latest_stamp();
        if self.time_origin.is_none() {
            self.time_origin = self.shown_until;
        }
        let n = scope.channels;
        while scope.consumer.occupied_len() >= n {
            let got = scope.consumer.pop_slice(&mut self.traces.frame);
            if got < n {
                break;
            }
            let frame = std::mem::take(&mut self.traces.frame);
            self.traces.push_frame(&frame);
            if let Some(sigma) = self.sigma.as_mut() {
                sigma.push_frame(&frame);
            }
            self.traces.frame = frame;
        }
        // What is there now, not what the worker adds meanwhile: a replay at maximum speed
        // would otherwise keep this frame from ever ending.
        let mut pending = scope.raw.occupied_len() / n.max(1) * n;
        match self.monitor.as_mut() {
            Some(monitor) => {
                let whole = self.raw_block.len() / n.max(1) * n;
                while pending > 0 && whole > 0 {
                    let take = pending.min(whole);
                    let got = scope.raw.pop_slice(&mut self.raw_block[..take]);
                    monitor.push_interleaved(&self.raw_block[..got]);
                    let shown = &mut self.view_block[..got];
                    shown.copy_from_slice(&self.raw_block[..got]);
                    if let Some(chain) = self.view_chain.as_mut() {
                        chain.process_interleaved(shown);
                    }
                    if self.view_filters.common_average {
                        neuroloop_dsp::reref::common_average_interleaved(shown, n);
                    }
                    for frame in shown.chunks_exact(n) {
                        self.raw_traces.push_frame(frame);
                    }
                    pending -= got;
                    if got < take {
                        break;
                    }
                }
            }
            None => {
                scope.raw.skip(pending);
            }
        }
    }

    fn status_ui(&self, ui: &mut egui::Ui, session: &Session) {
        let s = &session.stats;
        let lat = s.latency_from_sample.summary();
        let arr = s.latency_from_arrival.summary();
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&self.source_label).strong());
            ui.separator();
            ui.label(format!(
                "{} ch @ {} Hz",
                session.meta.channels(),
                session.meta.sample_rate_hz
            ));
            if !session.meta.set_aside.is_empty() {
                ui.label(
                    RichText::new(format!("+{} not replayed", session.meta.set_aside.len()))
                        .weak(),
                )
                .on_hover_text(format!(
                    "{}: another sampling rate than the replayed channels; \
                     `neuroloop replay FILE --channels` picks them (one rate at a time)",
                    session.meta.set_aside.join(", ")
                ));
            }
            ui.separator();
            ui.label(format!(
                "frames {}",
                s.frames_processed.load(Ordering::Relaxed)
            ));
            let dropped = s.ring.frames_dropped.load(Ordering::Relaxed);
            ui.label(
                RichText::new(format!("dropped {dropped}")).color(if dropped > 0 {
                    Color32::RED
                } else {
                    ui.visuals().text_color()
                }),
            );
            let skipped = s.scope_dropped.load(Ordering::Relaxed)
                + s.monitor_dropped.load(Ordering::Relaxed);
            if skipped > 0 {
                ui.label(RichText::new(format!("display skipped {skipped} frames")).weak())
                    .on_hover_text(
                        "the window could not keep up with the stream; only the display lost them, not the recording or the decoders",
                    );
            }
            ui.separator();
            ui.label(format!("decisions {}", s.decisions.load(Ordering::Relaxed)));
            ui.separator();
            if arr.count == 0 {
                ui.label("latency: no decisions yet");
            } else {
                if self.clocked {
                    ui.label(format!(
                        "latency sample -> decision p50 {:.3} ms · p99 {:.3} ms",
                        lat.p50_ms, lat.p99_ms
                    ));
                }
                ui.label(format!(
                    "arrival -> decision p50 {:.3} ms · p99 {:.3} ms",
                    arr.p50_ms, arr.p99_ms
                ));
            }
        });
        ui.label(RichText::new(format!("front end: {}", session.front_end)).weak());
    }

    /// Sigma-band RMS of every channel over the last half minute.
    fn sigma_ui(ui: &mut egui::Ui, sigma: &SigmaHistory, labels: &[String], eeg: &[bool]) {
        ui.label(format!(
            "sigma ({}-{} Hz) RMS, µV, last {SIGMA_SECS} s",
            SigmaHistory::BAND_HZ.0,
            SigmaHistory::BAND_HZ.1
        ));
        Plot::new("sigma")
            .height(160.0)
            .legend(Legend::default())
            .allow_scroll(false)
            .x_axis_label("seconds")
            .show(ui, |plot| {
                let channels = labels.iter().zip(&sigma.channels).enumerate();
                for (_, (label, ch)) in channels.filter(|(c, _)| eeg.get(*c).is_none_or(|&e| e)) {
                    let len = ch.len();
                    let points: PlotPoints<'_> = ch
                        .iter()
                        .enumerate()
                        .map(|(k, &v)| [(k as f64 - len as f64) / 10.0, f64::from(v)])
                        .collect();
                    plot.line(Line::new(label.clone(), points));
                }
            });
    }

    fn decisions_ui(ui: &mut egui::Ui, session: &Session, origin: f64) {
        let log = session.log.lock().unwrap_or_else(|p| p.into_inner());
        let truth = log.events.iter().rev().find_map(|e| match e {
            SourceEvent::Truth(t) => Some(*t),
            _ => None,
        });
        let last = log.recent.back();
        for (d, info) in session.decoders.iter().enumerate() {
            ui.heading(&info.name);
            if (1..=8).contains(&info.channels.len()) {
                ui.label(format!("reads {}", info.channels.join(", ")));
            }
            let chosen = last
                .filter(|l| usize::from(l.record.decoder) == d)
                .map(|l| l.record.decision);
            ui.horizontal_wrapped(|ui| {
                for (c, name) in info.class_names.iter().enumerate() {
                    let is_chosen = chosen.is_some_and(|x| usize::from(x.class) == c);
                    let is_truth =
                        truth.is_some_and(|t| info.is_truth_class(c, &t.kind) == Some(true));
                    let mut text = RichText::new(name).size(20.0);
                    if is_chosen {
                        let confident = chosen.is_some_and(|x| x.confident);
                        text = text.background_color(if confident {
                            Color32::from_rgb(40, 140, 60)
                        } else {
                            Color32::from_rgb(140, 120, 30)
                        });
                    }
                    if is_truth {
                        text = text.underline();
                    }
                    ui.label(text);
                }
            });
            if info.name.starts_with("mi-") && info.class_names.len() == 2 {
                Self::feedback_bar(ui, info, &log, d);
            }
            if let Some(score) = log.scores.get(d).filter(|s| s.scored > 0) {
                ui.label(format!(
                    "accuracy vs ground truth: {}/{} = {:.1} %",
                    score.correct,
                    score.scored,
                    100.0 * score.accuracy()
                ));
            }
            if let Some(latest) = session.scope.as_ref().and_then(|s| s.latest_stamp()) {
                decisions_plot(
                    ui,
                    &format!("decisions-{d}"),
                    &log,
                    d,
                    &info.class_names,
                    latest,
                    DECISIONS_SECS,
                );
            }
        }
        if let Some(st) = &log.stim {
            Self::stimulation_ui(ui, st, &log, session.audio_output(), origin);
        }
        ui.separator();
        ui.label(RichText::new("recent decisions").strong());
        egui::ScrollArea::vertical().show(ui, |ui| {
            egui::Grid::new("recent-decisions")
                .striped(true)
                .show(ui, |ui| {
                    for h in [
                        "time (s)",
                        "class",
                        "score",
                        "confidence",
                        "latency (ms)",
                        "truth",
                    ] {
                        ui.label(RichText::new(h).small().strong());
                    }
                    ui.end_row();
                    for l in log.recent.iter().rev().take(30) {
                        let r = &l.record;
                        let name = session
                            .decoders
                            .get(usize::from(r.decoder))
                            .and_then(|i| i.class_names.get(usize::from(r.decision.class)))
                            .map_or("?", String::as_str);
                        ui.monospace(format!("{:.2}", r.decision.sample_time - origin));
                        ui.monospace(name);
                        ui.monospace(format!("{:.3}", r.decision.score));
                        ui.monospace(format!("{:.2}", r.decision.confidence));
                        ui.monospace(format!(
                            "{:.1}",
                            (r.decided_at - r.decision.sample_time) * 1e3
                        ));
                        ui.monospace(match l.correct {
                            Some(true) => "hit",
                            Some(false) => "miss",
                            None => "",
                        });
                        ui.end_row();
                    }
                });
        });
    }
}

impl SessionWindow {
    /// Closed-loop stimulation: counts, then the latest commands, suppressions and onsets.
    fn stimulation_ui(
        ui: &mut egui::Ui,
        st: &StimSummary,
        log: &OutputLog,
        audio: Option<&neuroloop_stimuli::device::AudioOutput>,
        origin: f64,
    ) {
        ui.separator();
        ui.heading("stimulation");
        ui.label(Self::audio_status(st, audio));
        ui.label(format!(
            "{} bursts commanded; suppressed {} interval, {} rate, {} artifact",
            st.commanded, st.suppressed_interval, st.suppressed_rate, st.suppressed_artifact
        ));
        if !st.dry_run {
            ui.label(format!(
                "played {} on time, {} late, {} dropped; largest onset error {:.2} ms",
                st.on_time, st.late, st.dropped, st.max_error_ms
            ));
        }
        let trigger = StimTrigger::from_name(st.trigger).unwrap_or(StimTrigger::SlowOscillation);
        ui.label(RichText::new("latest (s since the session's first sample)").weak());
        for e in log.stim_events.iter().rev().take(8) {
            ui.monospace(stim_line(e, trigger, origin));
        }
    }

    /// What the sound output is doing now, read from the device's own counters: a dry run
    /// (asked for, or no output could start) says so; an open output is playing only while
    /// its callbacks arrive.
    fn audio_status(
        st: &StimSummary,
        audio: Option<&neuroloop_stimuli::device::AudioOutput>,
    ) -> RichText {
        use neuroloop_stimuli::device::AudioHealth;
        let Some(out) = audio.filter(|_| !st.dry_run) else {
            return RichText::new("DRY RUN: stimuli logged, no sound")
                .color(Color32::from_rgb(200, 160, 40));
        };
        let now = neuroloop_acquisition::clock::local_clock();
        match out.stats.health(now) {
            AudioHealth::Playing => {
                let delay_ms = out.stats.output_delay_us.load(Ordering::Relaxed) as f64 * 1e-3;
                RichText::new(format!(
                    "sound playing on `{}` (output delay {delay_ms:.1} ms)",
                    out.device
                ))
                .color(Color32::from_rgb(60, 170, 80))
            }
            AudioHealth::Failed | AudioHealth::Stalled(_) => RichText::new(format!(
                "sound LOST on `{}`: later stimuli are logged, not played",
                out.device
            ))
            .color(Color32::from_rgb(220, 70, 60)),
        }
    }

    /// Decisions averaged into the feedback cursor (2 s at one decision every 0.25 s).
    const FEEDBACK_DECISIONS: usize = 8;

    /// Motor-imagery feedback for two classes: a cursor between the first class (left) and
    /// the second (right) at the mean of `p(second) − p(first)` over the latest decisions,
    /// so that it moves smoothly rather than jumping with every window.
    fn feedback_bar(ui: &mut egui::Ui, info: &DecoderInfo, log: &OutputLog, decoder: usize) {
        let mut sum = 0.0f32;
        let mut n = 0usize;
        for l in log
            .recent
            .iter()
            .rev()
            .filter(|l| usize::from(l.record.decoder) == decoder)
            .take(Self::FEEDBACK_DECISIONS)
        {
            let d = l.record.decision;
            let p_second = if d.class == 1 { d.score } else { 1.0 - d.score };
            sum += 2.0 * p_second - 1.0;
            n += 1;
        }
        let value = if n == 0 { 0.0 } else { sum / n as f32 };
        ui.horizontal(|ui| {
            ui.label(&info.class_names[0]);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(360.0, 22.0), egui::Sense::hover());
            let painter = ui.painter_at(rect);
            painter.rect_filled(rect, 3.0, Color32::from_gray(50));
            let mid = rect.center().x;
            let end = mid + value.clamp(-1.0, 1.0) * rect.width() / 2.0;
            let bar = egui::Rect::from_x_y_ranges(mid.min(end)..=mid.max(end), rect.y_range());
            painter.rect_filled(bar, 3.0, Color32::from_rgb(60, 130, 200));
            painter.vline(mid, rect.y_range(), (1.0, Color32::from_gray(200)));
            ui.label(&info.class_names[1]);
        });
        ui.label(format!(
            "feedback {value:+.2} (mean of the last {n} decisions)"
        ));
    }
}

impl eframe::App for SessionWindow {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.drain_scope();
        self.sync_recordings();
        let mut toggle = ui.input_mut(|i| i.consume_key(egui::Modifiers::COMMAND, egui::Key::R));
        if self.session.as_ref().is_some_and(|s| s.source_finished()) {
            self.finish();
        }
        if self.session.is_none() {
            egui::CentralPanel::default().show(ui, |ui| {
                ui.heading("session finished");
                if let Some(r) = &self.stopped_report {
                    ui.monospace(r.to_text());
                }
            });
            return;
        }
        toggle |= self.panels_ui(ui);
        let filters = self.central_ui(ui);
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(30));
        if toggle {
            self.toggle_recording();
        }
        if let Some((hp, notch, car)) = filters {
            self.set_display_filters(hp, notch, car);
        }
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.finish();
    }
}

impl SessionWindow {
    /// Takes the session's recording files from the log (keeping the last read while the log
    /// is busy) and settles a pending Record request once its file opened or failed.
    fn sync_recordings(&mut self) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let files = session.recordings();
        if !files.is_empty() {
            if files.len() > self.recordings.len()
                || (files.last().is_some_and(|f| f.open) && self.record_requested.is_some())
            {
                self.record_requested = None;
            }
            self.recordings = files;
        }
        if let Some((path, errors)) = &self.record_requested
            && !self.is_recording()
            && session.log.try_lock().is_ok_and(|l| {
                // A new error naming the file or its folder: it could not be made.
                let names: Vec<String> = [path.display().to_string()]
                    .into_iter()
                    .chain(path.parent().map(|d| d.display().to_string()))
                    .filter(|n| !n.is_empty())
                    .collect();
                l.errors
                    .iter()
                    .skip(*errors)
                    .any(|e| names.iter().any(|n| e.contains(n.as_str())))
            })
        {
            self.record_requested = None;
        }
    }

    /// The problems, status and decoder panels; whether the Record button was clicked.
    fn panels_ui(&mut self, ui: &mut egui::Ui) -> bool {
        let Some(session) = self.session.as_ref() else {
            return false;
        };
        let mut problems = session.problems();
        if let (Some(m), Some(notch)) = (&self.monitor, session.line_hz())
            && session.mains_assumed
            && (m.line_hz() - notch).abs() > 1.0
        {
            problems.push(Problem {
                severity: Severity::Warning,
                text: format!(
                    "the spectra show {} Hz mains but the notch removes {notch} Hz (assumed: the stream does not say): start the session again with a {} Hz notch",
                    m.line_hz(),
                    m.line_hz()
                ),
            });
        }
        if problems.iter().any(|p| !self.dismissed.contains(&p.text)) {
            let dismissed = &mut self.dismissed;
            egui::Panel::top("problems").show(ui, |ui| {
                Self::problems_ui(ui, &problems, dismissed);
            });
        }
        let mut toggle = false;
        let mut drag = self.seek_drag.take();
        egui::Panel::top("status").show(ui, |ui| {
            self.status_ui(ui, session);
            if let Some(control) = &session.replay {
                replay_ui(ui, control, &mut drag);
            }
            toggle = self.recording_ui(ui);
        });
        self.seek_drag = drag;
        let origin = self.time_origin.unwrap_or(0.0);
        egui::Panel::right("decoders")
            .default_size(320.0)
            .show(ui, |ui| Self::decisions_ui(ui, session, origin));
        toggle
    }

    /// The sigma and monitor panels and the traces with their controls; the display filters
    /// ticked (raw traces only).
    fn central_ui(&mut self, ui: &mut egui::Ui) -> Option<(bool, bool, bool)> {
        let session = self.session.as_ref()?;
        let mut filters = None;
        egui::CentralPanel::default().show(ui, |ui| {
            if let Some(sigma) = &self.sigma {
                let (labels, eeg) = (&self.traces.labels, &self.eeg);
                egui::Panel::bottom("sigma").show(ui, |ui| Self::sigma_ui(ui, sigma, labels, eeg));
            }
            if let Some(m) = &self.monitor {
                let live = !session.stats.stream_lost.load(Ordering::Relaxed);
                egui::Panel::bottom("monitor")
                    .default_size(320.0)
                    .resizable(true)
                    .show(ui, |ui| monitor_panel(ui, m, live));
            }
            ui.horizontal(|ui| {
                ui.label("traces:");
                ui.radio_value(&mut self.show_raw, false, "after the front end")
                    .on_hover_text(format!("as the decoders see them: {}", session.front_end));
                if self.monitor.is_some() {
                    filters = Some(Self::display_filters_ui(
                        ui,
                        &mut self.show_raw,
                        &self.session_filters,
                        &self.view_filters,
                    ));
                }
                let text = |s: Option<f64>| s.map_or("auto".to_string(), |uv| format!("{uv} µV"));
                egui::ComboBox::from_label("row spacing")
                    .selected_text(text(self.spacing_uv))
                    .show_ui(ui, |ui| {
                        for s in TRACE_SPACINGS_UV {
                            ui.selectable_value(&mut self.spacing_uv, s, text(s));
                        }
                    });
            });
            // Rows of at least ROW_POINTS keep every channel's label on the axis.
            let per_page = ((ui.available_height() - 60.0) / ROW_POINTS)
                .floor()
                .max(4.0) as usize;
            let (rows, pages) = page_rows(&self.traces.visible, per_page, self.trace_page);
            ui.horizontal(|ui| {
                let shown = self.traces.visible.iter().filter(|&&v| v).count();
                // The menu stays open while channels are ticked; a click outside closes it.
                let config = egui::containers::menu::MenuConfig::new()
                    .close_behavior(egui::PopupCloseBehavior::CloseOnClickOutside);
                let changed = egui::containers::menu::MenuButton::new(format!(
                    "channels ({shown} of {})",
                    self.traces.labels.len()
                ))
                .config(config)
                .ui(ui, |ui| {
                    channels_menu(ui, &self.traces.labels, &self.eeg, &mut self.traces.visible)
                })
                .1
                .is_some_and(|r| r.inner);
                if changed {
                    self.raw_traces.visible.clone_from(&self.traces.visible);
                    self.trace_page = 0;
                }
                let others = self.eeg.iter().filter(|&&e| !e).count();
                if others > 0 {
                    ui.label(
                        RichText::new(format!(
                            "{others} not EEG: drawn when ticked, never re-referenced or decoded"
                        ))
                        .weak(),
                    );
                }
                if pages > 1 {
                    ui.separator();
                    self.trace_page = self.trace_page.min(pages - 1);
                    if ui.button("< previous").clicked() {
                        self.trace_page = self.trace_page.saturating_sub(1);
                    }
                    ui.label(format!(
                        "rows {}-{} of {shown} (page {} of {pages})",
                        self.trace_page * per_page + 1,
                        self.trace_page * per_page + rows.len(),
                        self.trace_page + 1
                    ));
                    if ui.button("next >").clicked() {
                        self.trace_page = (self.trace_page + 1).min(pages - 1);
                    }
                }
            });
            let shown = if self.show_raw {
                &self.raw_traces
            } else {
                &self.traces
            };
            let events = self
                .shown_until
                .and_then(|latest| {
                    let log = session.log.try_lock().ok()?;
                    Some(trace_events(&log, latest, TRACE_SECS))
                })
                .unwrap_or_default();
            traces_plot(ui, shown, &rows, self.spacing_uv, &events);
        });
        filters
    }

    /// The raw traces' switch and the session's front-end stages as display filters; the
    /// stages ticked (high-pass, notch, common average).
    fn display_filters_ui(
        ui: &mut egui::Ui,
        show_raw: &mut bool,
        session: &FrontEnd,
        view: &FrontEnd,
    ) -> (bool, bool, bool) {
        ui.radio_value(show_raw, true, "raw, display filters:")
            .on_hover_text("as the amplifier sent them, through the filters ticked here (the decoders always get the whole front end)");
        let (mut hp, mut notch, mut car) = (
            view.highpass_hz.is_some(),
            view.notch_hz.is_some(),
            view.common_average,
        );
        ui.add_enabled_ui(*show_raw, |ui| {
            if let Some(hz) = session.highpass_hz {
                ui.checkbox(&mut hp, format!("high-pass {hz} Hz"));
            }
            if let Some(hz) = session.notch_hz {
                ui.checkbox(&mut notch, format!("notch {hz} Hz"));
            }
            if session.common_average {
                ui.checkbox(&mut car, "common average");
            }
        });
        (hp, notch, car)
    }

    /// Stops the session (if still running) and records its report for the caller, saved
    /// beside each recording as JSON.
    pub fn finish(&mut self) {
        if let Some(mut session) = self.session.take() {
            let outcome = session.stop_in_place();
            let mut report =
                SessionReport::build(&session, &outcome, &self.source_label, self.clocked);
            report.save_beside_recordings();
            *self.report_sink.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.clone());
            self.stopped_report = Some(report);
        }
    }
}
