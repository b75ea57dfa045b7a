//! Lab Streaming Layer input and output.
//!
//! - [`LslSource`] resolves an EEG stream by name and/or type, pulls its samples with
//!   clock-offset correction, marks gaps, declares the stream lost when it stalls and picks it
//!   up again when it returns (liblsl recovers streams that have a `source_id`; streams without
//!   one are re-resolved).
//! - [`MarkerOutlet`] publishes string markers (`type = Markers`, irregular rate) such as
//!   decoder decisions and stimulus events, so LabRecorder and other tools record them.
//! - [`SignalOutlet`] publishes a regular-rate float stream: the simulator as a virtual
//!   amplifier ([`run_virtual_amplifier`]) or a replayed file.
//!
//! LSL handles are not `Send`: create each inlet or outlet on the thread that uses it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lsl::{ExPushable, Pullable};

use crate::ChannelKind;
use crate::clock::local_clock;
use crate::event::{SourceEvent, TruthEvent, TruthKind};
use crate::meta::StreamMeta;
use crate::sim::SimConfig;
use crate::source::{Pacing, ReadStatus, SimSource, Source, SourceError};

/// How to find and read an LSL stream.
#[derive(Debug, Clone, PartialEq)]
pub struct LslInletConfig {
    /// Required stream name (`None`: any name).
    pub name: Option<String>,
    /// Required content type (`None`: any type). Default `EEG`.
    pub content_type: Option<String>,
    /// How long to wait for the stream to appear at start-up.
    pub resolve_timeout_secs: f64,
    /// After this long without samples the stream is reported lost.
    pub stall_timeout_secs: f64,
    /// Inlet buffer (seconds of data liblsl keeps if we fall behind).
    pub max_buffer_secs: i32,
    /// Largest chunk handed to the pipeline at once.
    pub max_chunk_frames: usize,
    /// Smooth timestamps with liblsl's dejitter filter (off: raw corrected stamps).
    pub dejitter: bool,
    /// A marker stream read beside the EEG, whose markers start ground-truth trials (and so
    /// an onset-locked decoder's trials): a stimulus program's, or the simulator's truth.
    pub markers: Option<MarkerInput>,
}

/// A marker stream read beside an EEG stream ([`LslInletConfig::markers`]).
#[derive(Debug, Clone, PartialEq)]
pub struct MarkerInput {
    /// The marker stream's name.
    pub name: String,
    /// Which of its markers are onsets and cues ([`crate::cues::LiveTrials`]).
    pub cues: crate::cues::FileCues,
}

impl Default for LslInletConfig {
    fn default() -> Self {
        LslInletConfig {
            name: None,
            content_type: Some("EEG".into()),
            resolve_timeout_secs: 10.0,
            stall_timeout_secs: 2.0,
            max_buffer_secs: 10,
            max_chunk_frames: 256,
            dejitter: false,
            markers: None,
        }
    }
}

impl LslInletConfig {
    /// The LSL XPath predicate selecting the stream, e.g. `name='X' and type='EEG'`; the type
    /// is compared without regard to case, since tools write `EEG`, `eeg` or `Eeg` (MNE-LSL's
    /// player writes `eeg`).
    pub fn predicate(&self) -> String {
        let mut parts = Vec::new();
        if let Some(n) = &self.name {
            parts.push(format!("name='{}'", n.replace('\'', "")));
        }
        if let Some(t) = &self.content_type {
            parts.push(format!(
                "translate(type,'{LOWER}','{UPPER}')='{}'",
                t.replace('\'', "").to_ascii_uppercase()
            ));
        }
        if parts.is_empty() {
            // Any stream with a regular sampling rate.
            "nominal_srate>0".to_string()
        } else {
            parts.join(" and ")
        }
    }
}

/// The alphabet, for XPath's `translate` to compare without regard to case.
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn lsl_err(action: &'static str) -> impl FnOnce(lsl::Error) -> SourceError {
    move |source| SourceError::Lsl { action, source }
}

/// One line per visible stream, for error messages and `neuroloop streams`.
pub fn describe_visible_streams(wait_secs: f64) -> String {
    match lsl::resolve_streams(wait_secs) {
        Ok(list) if list.is_empty() => "none".into(),
        Ok(list) => list
            .iter()
            .map(|i| {
                format!(
                    "`{}` (type {}, {} ch, {} Hz, host {})",
                    i.stream_name(),
                    i.stream_type(),
                    i.channel_count(),
                    i.nominal_srate(),
                    i.hostname()
                )
            })
            .collect::<Vec<_>>()
            .join(", "),
        Err(e) => format!("unknown ({e})"),
    }
}

/// A visible LSL stream, as listed by [`list_streams`].
#[derive(Debug, Clone, PartialEq)]
pub struct StreamListing {
    /// Stream name.
    pub name: String,
    /// Content type.
    pub content_type: String,
    /// Channel count.
    pub channels: usize,
    /// Nominal rate (0 for irregular streams).
    pub sample_rate_hz: f64,
    /// Source identifier.
    pub source_id: String,
    /// Host it runs on.
    pub hostname: String,
}

/// Lists the streams visible on the network after waiting `wait_secs`.
pub fn list_streams(wait_secs: f64) -> Result<Vec<StreamListing>, SourceError> {
    let infos = lsl::resolve_streams(wait_secs).map_err(lsl_err("listing streams"))?;
    Ok(infos.iter().map(listing).collect())
}

fn listing(i: &lsl::StreamInfo) -> StreamListing {
    StreamListing {
        name: i.stream_name(),
        content_type: i.stream_type(),
        channels: usize::try_from(i.channel_count()).unwrap_or(0),
        sample_rate_hz: i.nominal_srate(),
        source_id: i.source_id(),
        hostname: i.hostname(),
    }
}

/// Waits up to `timeout_secs` for the stream `cfg` selects and describes it, without opening
/// an inlet; returns as soon as it is seen. For callers that must not wait on the network
/// themselves (a window): run it on a thread of its own.
pub fn find_stream(cfg: &LslInletConfig, timeout_secs: f64) -> Result<StreamListing, SourceError> {
    resolve(cfg, timeout_secs).map(|info| listing(&info))
}

fn resolve(cfg: &LslInletConfig, timeout_secs: f64) -> Result<lsl::StreamInfo, SourceError> {
    let query = cfg.predicate();
    let found =
        lsl::resolve_bypred(&query, 1, timeout_secs).map_err(lsl_err("resolving the stream"))?;
    if let Some(info) = found.into_iter().next() {
        return Ok(info);
    }
    // A stream of the asked name with another type is the usual mix-up: say so plainly.
    if let (Some(name), Some(wanted)) = (&cfg.name, &cfg.content_type)
        && let Ok(named) = lsl::resolve_byprop("name", name, 1, 0.5)
        && let Some(other) = named.first()
    {
        return Err(SourceError::WrongType {
            name: name.clone(),
            wanted: wanted.clone(),
            found: other.stream_type(),
        });
    }
    Err(SourceError::StreamNotFound {
        query: query.clone(),
        timeout_secs,
        // Long enough for every stream on the network to answer.
        visible: describe_visible_streams(1.0),
    })
}

/// Channel labels and kinds from a stream's `desc/channels/channel/{label,type}`: labels
/// `Ch1..ChN` when any is missing; a kind from the channel's `type` when it names one, else
/// from its label.
fn channel_descriptions(info: &lsl::StreamInfo, channels: usize) -> ChannelDescriptions {
    let mut labels = Vec::with_capacity(channels);
    let mut types = Vec::with_capacity(channels);
    let mut units = Vec::with_capacity(channels);
    let mut info = info.clone();
    let mut ch = info.desc().child("channels").child("channel");
    while ch.is_valid() && !ch.empty() && labels.len() < channels {
        labels.push(ch.child_value_named("label"));
        types.push(ch.child_value_named("type"));
        units.push(ch.child_value_named("unit"));
        ch = ch.next_sibling_named("channel");
    }
    units.resize(channels, String::new());
    // Voltages arrive in microvolts whatever the sender's unit (MNE-LSL sends volts).
    let scales: Vec<f32> = units
        .iter()
        .map(|u| crate::file::microvolts_per_unit(u) as f32)
        .collect();
    if labels.len() != channels || labels.iter().any(String::is_empty) {
        labels = (1..=channels).map(|i| format!("Ch{i}")).collect();
    }
    types.resize(channels, String::new());
    let kinds = labels
        .iter()
        .zip(&types)
        .map(|(label, declared)| {
            ChannelKind::from_type_name(declared).unwrap_or_else(|| ChannelKind::from_label(label))
        })
        .collect();
    ChannelDescriptions {
        labels,
        kinds,
        scales: scales.iter().any(|&s| s != 1.0).then_some(scales),
    }
}

/// What a stream's description says of its channels.
struct ChannelDescriptions {
    labels: Vec<String>,
    kinds: Vec<ChannelKind>,
    /// Microvolts per sent unit, channel by channel; `None` when all are 1.
    scales: Option<Vec<f32>>,
}

struct OpenInlet {
    inlet: lsl::StreamInlet,
    meta: StreamMeta,
    scales: Option<Vec<f32>>,
}

fn open_inlet(cfg: &LslInletConfig, timeout_secs: f64) -> Result<OpenInlet, SourceError> {
    let info = resolve(cfg, timeout_secs)?;
    let name = info.stream_name();
    let rate = info.nominal_srate();
    let channels = usize::try_from(info.channel_count()).unwrap_or(0);
    if rate <= 0.0 {
        return Err(SourceError::Unusable {
            name,
            reason: "it has an irregular sampling rate; choose a regularly sampled EEG stream \
                     (markers are read separately)"
                .into(),
        });
    }
    if channels == 0 || info.channel_format() == lsl::ChannelFormat::String {
        return Err(SourceError::Unusable {
            name,
            reason: "it carries no numeric channels; choose the amplifier's EEG stream".into(),
        });
    }
    let inlet = lsl::StreamInlet::new(
        &info,
        cfg.max_buffer_secs,
        i32::try_from(cfg.max_chunk_frames).unwrap_or(0),
        true,
    )
    .map_err(lsl_err("creating the inlet"))?;
    let mut options = vec![lsl::ProcessingOption::ClockSync];
    if cfg.dejitter {
        options.push(lsl::ProcessingOption::Dejitter);
        options.push(lsl::ProcessingOption::Monotonize);
    }
    inlet
        .set_postprocessing(&options)
        .map_err(lsl_err("enabling clock synchronisation"))?;
    inlet
        .open_stream(timeout_secs.max(1.0))
        .map_err(lsl_err("opening the stream"))?;
    let full = inlet
        .info(timeout_secs.max(1.0))
        .map_err(lsl_err("reading the stream description"))?;
    let described = channel_descriptions(&full, channels);
    let meta = StreamMeta {
        channel_labels: described.labels,
        channel_kinds: described.kinds,
        // A stream does not say; the monitor reads it from the spectra once data flows.
        line_hz: None,
        line_source: "",
        set_aside: Vec::new(),
        name,
        content_type: full.stream_type(),
        sample_rate_hz: rate,
        source_id: full.source_id(),
        hostname: full.hostname(),
    };
    Ok(OpenInlet {
        inlet,
        meta,
        scales: described.scales,
    })
}

/// Resolves the string marker stream `name` and opens an inlet on it whose stamps are on this
/// machine's clock.
fn open_marker_inlet(name: &str, timeout_secs: f64) -> Result<lsl::StreamInlet, SourceError> {
    let query = format!("name='{}'", name.replace('\'', ""));
    let found = lsl::resolve_bypred(&query, 1, timeout_secs)
        .map_err(lsl_err("resolving the marker stream"))?;
    let Some(info) = found.into_iter().next() else {
        return Err(SourceError::StreamNotFound {
            query,
            timeout_secs,
            visible: describe_visible_streams(1.0),
        });
    };
    if info.channel_format() != lsl::ChannelFormat::String {
        return Err(SourceError::Unusable {
            name: name.to_string(),
            reason: "it carries numbers, not text markers; name the stimulus program's marker stream (type Markers)".into(),
        });
    }
    let inlet =
        lsl::StreamInlet::new(&info, 360, 0, true).map_err(lsl_err("creating the marker inlet"))?;
    inlet
        .set_postprocessing(&[lsl::ProcessingOption::ClockSync])
        .map_err(lsl_err("enabling clock synchronisation"))?;
    inlet
        .open_stream(timeout_secs.max(1.0))
        .map_err(lsl_err("opening the marker stream"))?;
    Ok(inlet)
}

/// An EEG stream read from LSL. See the module documentation.
pub struct LslSource {
    cfg: LslInletConfig,
    inlet: Option<lsl::StreamInlet>,
    /// The marker stream read beside it, the trials its markers start, and the marker buffer.
    markers: Option<(lsl::StreamInlet, crate::cues::LiveTrials, Vec<String>)>,
    meta: StreamMeta,
    frame: Vec<f32>,
    /// Microvolts per sent unit, channel by channel (`None`: already microvolts).
    scales: Option<Vec<f32>>,
    last_stamp: Option<f64>,
    last_data_clock: f64,
    lost: bool,
    gaps: u64,
    losses: u64,
}

impl LslSource {
    /// Resolves and opens the stream, waiting up to `resolve_timeout_secs`.
    /// Call on the thread that will read from it.
    pub fn open(cfg: LslInletConfig) -> Result<Self, SourceError> {
        let OpenInlet {
            inlet,
            meta,
            scales,
        } = open_inlet(&cfg, cfg.resolve_timeout_secs)?;
        let markers = match &cfg.markers {
            Some(m) => Some((
                open_marker_inlet(&m.name, cfg.resolve_timeout_secs)?,
                crate::cues::LiveTrials::new(m.cues.clone()),
                vec![String::new()],
            )),
            None => None,
        };
        Ok(LslSource {
            markers,
            frame: vec![0.0; meta.channels()],
            scales,
            inlet: Some(inlet),
            meta,
            last_stamp: None,
            last_data_clock: local_clock(),
            lost: false,
            gaps: 0,
            losses: 0,
            cfg,
        })
    }

    /// Hands the trials that the markers received since the last call start to `events`.
    /// Pulls only what is already there (no wait); a marker's string is allocated by liblsl's
    /// binding, a few per trial at most.
    fn read_markers(&mut self, events: &mut dyn FnMut(SourceEvent)) {
        let Some((inlet, trials, buf)) = self.markers.as_mut() else {
            return;
        };
        while inlet.samples_available() > 0 {
            match inlet.pull_sample_buf(buf, 0.0) {
                Ok(ts) if ts != 0.0 => {
                    let Some(text) = buf.first() else { break };
                    if trials.is_onset(text) {
                        events(SourceEvent::Onset { at: ts });
                    }
                    if let Some(trial) = trials.on_marker(text, ts) {
                        events(SourceEvent::Truth(trial));
                    }
                }
                _ => break,
            }
        }
    }

    /// Gaps marked so far.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Times the stream was declared lost.
    pub fn losses(&self) -> u64 {
        self.losses
    }

    /// A gap is declared when consecutive stamps are further apart than this: several sample
    /// periods, and at least 50 ms so that ordinary network jitter is not reported.
    fn gap_threshold_secs(&self) -> f64 {
        (5.0 / self.meta.sample_rate_hz).max(0.05)
    }

    fn try_reopen(&mut self, max_wait: Duration) -> Result<(), SourceError> {
        match open_inlet(&self.cfg, max_wait.as_secs_f64().max(0.05)) {
            Ok(open) => {
                if open.meta.channels() != self.meta.channels()
                    || (open.meta.sample_rate_hz - self.meta.sample_rate_hz).abs() > 1e-9
                {
                    return Err(SourceError::Unusable {
                        name: open.meta.name.clone(),
                        reason: format!(
                            "it came back with {} channels at {} Hz instead of {} at {} Hz; \
                             restart the session for the new amplifier setup",
                            open.meta.channels(),
                            open.meta.sample_rate_hz,
                            self.meta.channels(),
                            self.meta.sample_rate_hz
                        ),
                    });
                }
                self.inlet = Some(open.inlet);
                Ok(())
            }
            // Still gone: keep waiting (the caller reports Idle).
            Err(SourceError::StreamNotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Source for LslSource {
    fn meta(&self) -> &StreamMeta {
        &self.meta
    }

    fn marks_onsets(&self) -> bool {
        self.markers.is_some()
    }

    fn max_chunk_frames(&self) -> usize {
        self.cfg.max_chunk_frames
    }

    fn read(
        &mut self,
        values: &mut [f32],
        stamps: &mut [f64],
        events: &mut dyn FnMut(SourceEvent),
        max_wait: Duration,
    ) -> Result<ReadStatus, SourceError> {
        self.read_markers(events);
        let channels = self.meta.channels();
        let Some(inlet) = self.inlet.as_ref() else {
            self.try_reopen(max_wait)?;
            return Ok(ReadStatus::Idle);
        };
        let mut n = 0;
        let mut timeout = max_wait.as_secs_f64();
        let mut stream_lost = false;
        while n < self.cfg.max_chunk_frames {
            match inlet.pull_sample_buf(&mut self.frame, timeout) {
                Ok(0.0) => break,
                Ok(ts) => {
                    let frame = &mut values[n * channels..(n + 1) * channels];
                    match &self.scales {
                        None => frame.copy_from_slice(&self.frame),
                        Some(scales) => {
                            for ((v, &x), &k) in frame.iter_mut().zip(&self.frame).zip(scales) {
                                *v = x * k;
                            }
                        }
                    }
                    stamps[n] = ts;
                    n += 1;
                    // After the first sample, take only what is already buffered.
                    timeout = 0.0;
                }
                Err(lsl::Error::StreamLost) => {
                    stream_lost = true;
                    break;
                }
                Err(e) => {
                    return Err(SourceError::Lsl {
                        action: "pulling samples",
                        source: e,
                    });
                }
            }
        }
        let now = local_clock();
        if stream_lost {
            // Not recoverable by liblsl (no source_id): drop the inlet and re-resolve.
            self.inlet = None;
        }
        if n == 0 {
            if !self.lost && now - self.last_data_clock > self.cfg.stall_timeout_secs {
                self.lost = true;
                self.losses += 1;
                events(SourceEvent::StreamLost { at: now });
            }
            return Ok(ReadStatus::Idle);
        }
        self.last_data_clock = now;
        if self.lost {
            self.lost = false;
            events(SourceEvent::Reconnected { at: stamps[0] });
        }
        let threshold = self.gap_threshold_secs();
        let period = 1.0 / self.meta.sample_rate_hz;
        for &ts in &stamps[..n] {
            if let Some(prev) = self.last_stamp
                && ts - prev > threshold
            {
                self.gaps += 1;
                events(SourceEvent::Gap {
                    at: ts,
                    missing_secs: ts - prev - period,
                });
            }
            self.last_stamp = Some(ts);
        }
        Ok(ReadStatus::Frames(n))
    }
}

/// A string marker stream (`type = Markers`, one channel, irregular rate).
pub struct MarkerOutlet {
    outlet: lsl::StreamOutlet,
    scratch: Vec<String>,
}

impl MarkerOutlet {
    /// Creates the outlet. `source_id` lets receivers recover it after a restart.
    pub fn new(name: &str, source_id: &str) -> Result<Self, SourceError> {
        let mut info = lsl::StreamInfo::new(
            name,
            "Markers",
            1,
            lsl::IRREGULAR_RATE,
            lsl::ChannelFormat::String,
            source_id,
        )
        .map_err(lsl_err("describing the marker stream"))?;
        let mut ch = info.desc().append_child("channels").append_child("channel");
        ch.append_child_value("label", "marker");
        ch.append_child_value("type", "Markers");
        let outlet =
            lsl::StreamOutlet::new(&info, 1, 360).map_err(lsl_err("creating the marker outlet"))?;
        Ok(MarkerOutlet {
            outlet,
            scratch: vec![String::with_capacity(256)],
        })
    }

    /// Publishes `text` stamped `timestamp` (LSL time of the event it marks).
    pub fn push(&mut self, text: &str, timestamp: f64) -> Result<(), SourceError> {
        self.scratch[0].clear();
        self.scratch[0].push_str(text);
        self.outlet
            .push_sample_ex(&self.scratch, timestamp, true)
            .map_err(lsl_err("pushing a marker"))
    }

    /// Whether any inlet is connected.
    pub fn has_consumers(&self) -> bool {
        self.outlet.have_consumers()
    }

    /// Waits up to `timeout_secs` for a consumer; returns whether one connected.
    pub fn wait_for_consumers(&self, timeout_secs: f64) -> bool {
        self.outlet.wait_for_consumers(timeout_secs)
    }
}

/// A regular-rate float32 stream with channel labels (a virtual amplifier).
pub struct SignalOutlet {
    outlet: lsl::StreamOutlet,
    frame: Vec<f32>,
}

impl SignalOutlet {
    /// Creates the outlet from a stream description; the channel labels go into `desc`.
    pub fn new(meta: &StreamMeta, chunk_frames: usize) -> Result<Self, SourceError> {
        let mut info = lsl::StreamInfo::new(
            &meta.name,
            &meta.content_type,
            u32::try_from(meta.channels()).unwrap_or(u32::MAX),
            meta.sample_rate_hz,
            lsl::ChannelFormat::Float32,
            &meta.source_id,
        )
        .map_err(lsl_err("describing the signal stream"))?;
        let mut chans = info.desc().append_child("channels");
        for (c, label) in meta.channel_labels.iter().enumerate() {
            let mut ch = chans.append_child("channel");
            ch.append_child_value("label", label);
            ch.append_child_value("unit", "microvolts");
            let kind = meta.channel_kinds.get(c).copied().unwrap_or_default();
            ch.append_child_value("type", &kind.name().to_ascii_uppercase());
        }
        let outlet = lsl::StreamOutlet::new(&info, i32::try_from(chunk_frames).unwrap_or(0), 360)
            .map_err(lsl_err("creating the signal outlet"))?;
        Ok(SignalOutlet {
            outlet,
            frame: vec![0.0; meta.channels()],
        })
    }

    /// Publishes interleaved frames with their stamps; the last one flushes the chunk.
    pub fn push_chunk(&mut self, values: &[f32], stamps: &[f64]) -> Result<(), SourceError> {
        let channels = self.frame.len();
        for (i, (frame, &ts)) in values.chunks_exact(channels).zip(stamps).enumerate() {
            self.frame.copy_from_slice(frame);
            self.outlet
                .push_sample_ex(&self.frame, ts, i + 1 == stamps.len())
                .map_err(lsl_err("pushing samples"))?;
        }
        Ok(())
    }

    /// Whether any inlet is connected.
    pub fn has_consumers(&self) -> bool {
        self.outlet.have_consumers()
    }
}

/// Text form of a ground-truth event, as published on the simulator's truth marker stream.
pub fn truth_marker(t: &TruthEvent) -> String {
    match t.kind {
        // A trial a recording cued by frequency alone has no target index to state.
        TruthKind::SsvepTarget { index, freq_hz } if index == TruthKind::NO_TARGET_INDEX => {
            format!(
                "truth/ssvep freq_hz={freq_hz} duration_s={}",
                t.duration_secs
            )
        }
        TruthKind::SsvepTarget { index, freq_hz } => format!(
            "truth/ssvep target={index} freq_hz={freq_hz} duration_s={}",
            t.duration_secs
        ),
        TruthKind::MotorImagery { class } => format!(
            "truth/mi class={} duration_s={}",
            class.name(),
            t.duration_secs
        ),
        TruthKind::Spindle {
            freq_hz,
            amplitude_uv,
        } => format!(
            "truth/spindle freq_hz={freq_hz} amplitude_uv={amplitude_uv} duration_s={}",
            t.duration_secs
        ),
        TruthKind::SlowOscillation {
            freq_hz,
            up_state_peak,
        } => format!(
            "truth/slow_oscillation freq_hz={freq_hz} up_state_peak={up_state_peak} duration_s={}",
            t.duration_secs
        ),
    }
}

/// Options of [`run_virtual_amplifier`].
#[derive(Debug, Clone)]
pub struct VirtualAmplifier {
    /// What to simulate.
    pub sim: SimConfig,
    /// Name of the EEG outlet (its type is `EEG`).
    pub name: String,
    /// Frames per pushed chunk (0: 10 ms).
    pub chunk_frames: usize,
    /// Stop after this long (`None`: until `stop`).
    pub duration_secs: Option<f64>,
    /// Delivery speed (normally real time).
    pub pacing: Pacing,
}

/// Totals of a virtual-amplifier run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct AmplifierSummary {
    /// Frames published.
    pub frames: u64,
    /// Ground-truth markers published.
    pub truth_markers: u64,
}

/// Publishes the simulator as an LSL EEG stream named `amp.name` (with a `<name>-truth` marker
/// stream carrying its ground truth) until `stop` is set or the duration elapses.
/// Runs on the calling thread, which owns the outlets. `on_chunk` sees every published chunk
/// (values, stamps) and the ground truth that started in it.
pub fn run_virtual_amplifier(
    amp: &VirtualAmplifier,
    stop: &AtomicBool,
    mut on_chunk: impl FnMut(&[f32], &[f64], &[TruthEvent]),
) -> Result<AmplifierSummary, SourceError> {
    let mut src = SimSource::new(amp.sim.clone(), amp.pacing, amp.chunk_frames)?;
    if let Some(d) = amp.duration_secs {
        src = src.with_duration(d);
    }
    let mut meta = src.meta().clone();
    meta.name = amp.name.clone();
    meta.source_id = format!("{}-{}", amp.name, amp.sim.seed);
    let mut outlet = SignalOutlet::new(&meta, src.max_chunk_frames())?;
    let mut truth_outlet = MarkerOutlet::new(
        &format!("{}-truth", amp.name),
        &format!("{}-truth", meta.source_id),
    )?;
    let channels = meta.channels();
    let max = src.max_chunk_frames();
    let mut values = vec![0.0f32; max * channels];
    let mut stamps = vec![0.0f64; max];
    let mut truths: Vec<TruthEvent> = Vec::with_capacity(16);
    let mut summary = AmplifierSummary::default();
    while !stop.load(Ordering::Acquire) {
        let status = src.read(
            &mut values,
            &mut stamps,
            &mut |e| {
                if let SourceEvent::Truth(t) = e {
                    truths.push(t);
                }
            },
            Duration::from_millis(20),
        )?;
        match status {
            ReadStatus::Frames(n) => {
                outlet.push_chunk(&values[..n * channels], &stamps[..n])?;
                on_chunk(&values[..n * channels], &stamps[..n], &truths);
                summary.frames += n as u64;
            }
            ReadStatus::Idle => {}
            ReadStatus::Ended => break,
        }
        for t in truths.drain(..) {
            truth_outlet.push(&truth_marker(&t), t.onset)?;
            summary.truth_markers += 1;
        }
    }
    Ok(summary)
}

/// A source whose chunks are also published on an LSL outlet as they are read: a replayed file
/// then looks like a live amplifier to LabRecorder and other LSL tools. Meant for paced replay,
/// where the stamps follow the clock.
pub struct Republish {
    inner: Box<dyn Source>,
    outlet: SignalOutlet,
}

impl Republish {
    /// Wraps `inner`; the outlet is named `name` and carries the inner stream's channel labels.
    /// Create it on the acquisition thread (LSL handles are not `Send`).
    pub fn new(inner: Box<dyn Source>, name: &str) -> Result<Self, SourceError> {
        let mut meta = inner.meta().clone();
        meta.name = name.to_string();
        meta.source_id = format!("neuroloop-republish-{name}");
        let outlet = SignalOutlet::new(&meta, inner.max_chunk_frames())?;
        Ok(Republish { inner, outlet })
    }
}

impl Source for Republish {
    fn meta(&self) -> &StreamMeta {
        self.inner.meta()
    }

    fn max_chunk_frames(&self) -> usize {
        self.inner.max_chunk_frames()
    }

    fn read(
        &mut self,
        values: &mut [f32],
        stamps: &mut [f64],
        events: &mut dyn FnMut(SourceEvent),
        max_wait: Duration,
    ) -> Result<ReadStatus, SourceError> {
        let status = self.inner.read(values, stamps, events, max_wait)?;
        if let ReadStatus::Frames(n) = status {
            let channels = self.inner.meta().channels();
            self.outlet
                .push_chunk(&values[..n * channels], &stamps[..n])?;
        }
        Ok(status)
    }

    fn paced_by_consumer(&self) -> bool {
        self.inner.paced_by_consumer()
    }

    fn total_frames(&self) -> Option<u64> {
        self.inner.total_frames()
    }

    fn annotation_texts(&self) -> &[String] {
        self.inner.annotation_texts()
    }

    fn onset_annotations(&self) -> Vec<bool> {
        self.inner.onset_annotations()
    }

    fn marks_onsets(&self) -> bool {
        self.inner.marks_onsets()
    }

    fn annotation_counts(&self) -> Vec<usize> {
        self.inner.annotation_counts()
    }

    fn replay_control(&self) -> Option<std::sync::Arc<crate::replay::ReplayControl>> {
        self.inner.replay_control()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates() {
        let mut c = LslInletConfig::default();
        let eeg = format!("translate(type,'{LOWER}','{UPPER}')='EEG'");
        assert_eq!(c.predicate(), eeg);
        c.name = Some("Amp'1".into());
        assert_eq!(c.predicate(), format!("name='Amp1' and {eeg}"));
        c.content_type = None;
        c.name = None;
        assert_eq!(c.predicate(), "nominal_srate>0");
    }

    #[test]
    fn truth_markers_are_parseable_text() {
        let t = TruthEvent {
            onset: 1.0,
            duration_secs: 4.0,
            kind: TruthKind::SsvepTarget {
                index: 2,
                freq_hz: 12.0,
            },
        };
        assert_eq!(
            truth_marker(&t),
            "truth/ssvep target=2 freq_hz=12 duration_s=4"
        );
        // A recording's cue names no target index: none is written, so reading the
        // recording back (`ssvep fit`, a replay) takes the frequency alone.
        let cued = TruthEvent {
            kind: TruthKind::SsvepTarget {
                index: TruthKind::NO_TARGET_INDEX,
                freq_hz: 13.0,
            },
            ..t
        };
        assert_eq!(truth_marker(&cued), "truth/ssvep freq_hz=13 duration_s=4");
    }
}
