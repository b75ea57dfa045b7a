//! `neuroloop bench`: latency and throughput of the real pipeline, measured on this machine.
//!
//! Every figure comes from a complete session (acquisition, worker and output threads) on the
//! simulator, so it includes thread hand-offs and wake-ups, not only the arithmetic:
//!
//! - **latency**: the simulator is paced at 10× real time (chunks of 10 ms of data every 1 ms)
//!   and the worker's histogram of chunk arrival → decision is read for each channel count,
//!   sampling rate and decoder. This is the time neuroloop adds between a chunk reaching the
//!   process and the decision it completes.
//! - **throughput**: the same configuration at maximum speed (consumer-paced, lossless), in
//!   multiples of real time.
//! - **peak RSS** of the process after all runs.
//! - **LSL loopback** ([`loopback`]): a virtual amplifier on LSL → neuroloop → its marker
//!   outlet → a second inlet, in real time, beside pylsl's own one-hop latency.
//!
//! Results are printed, written as JSON and drawn as an SVG (p50 to p99.9 per configuration).
//! Nothing is asserted: timings on a shared machine are reported, not tested.

pub mod audio;
pub mod loopback;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::sim::{MiScenario, Scenario, SimConfig, SleepScenario, SsvepScenario};
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiMethod, MiModel, MiNet};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use neuroloop_decoders::{Decoder, DecoderContext};
use neuroloop_runtime::outputs::TruthMapping;
use neuroloop_runtime::spec::{
    ParadigmSpec, SleepSpec, SpindleDetectorKind, SsvepMethod, SsvepSpec, StimOn,
};
use neuroloop_runtime::wake_latency::{WakeLatency, WakeLatencyHold};
use neuroloop_runtime::{Session, SessionConfig, SessionDecoder, SourceSpec};
use serde::Serialize;

/// Pacing of the latency runs.
const LATENCY_SPEED: f64 = 10.0;

/// One configuration's figures.
#[derive(Debug, Clone, Serialize)]
pub struct PipelineFigures {
    /// Channels.
    pub channels: usize,
    /// Sampling rate.
    pub rate_hz: f64,
    /// Decoder.
    pub decoder: String,
    /// Channels the decoder reads (the parietal and occipital ones of the montage).
    pub decoded_channels: usize,
    /// Decisions measured.
    pub decisions: u64,
    /// Chunk arrival → decision, median (ms).
    pub p50_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// 99.9th percentile (ms).
    pub p999_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
    /// Frames dropped in the latency run (0 unless the worker fell behind).
    pub frames_dropped: u64,
    /// Maximum-speed throughput in multiples of real time.
    pub throughput_x_real_time: f64,
    /// Latency histogram: `(bucket midpoint ms, count)`.
    #[serde(skip)]
    pub histogram: Vec<(f64, u64)>,
}

/// Everything one `neuroloop bench` run measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// CPU model and logical CPU count.
    pub machine: String,
    /// `release` or `debug` (debug builds are several times slower).
    pub build: &'static str,
    /// Simulated seconds per latency run.
    pub latency_data_secs: f64,
    /// Simulated seconds per throughput run.
    pub throughput_data_secs: f64,
    /// Per configuration.
    pub pipeline: Vec<PipelineFigures>,
    /// Peak resident set size of the process (MiB), if the OS reports it.
    pub peak_rss_mib: Option<f64>,
    /// The LSL loopback, unless LSL could not run here.
    pub lsl_loopback: Option<loopback::LoopbackFigures>,
    /// Audio onsets: the virtual device, and the default device when one opened.
    pub audio_onset: Vec<audio::AudioFigures>,
    /// Whether the CPU wake-up latency was held during the run ([`neuroloop_runtime::wake_latency`]).
    pub cpu_wake_latency: String,
}

fn machine() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} logical CPUs, {}", std::env::consts::OS)
}

/// Peak resident set size from `/proc/self/status` (Linux).
pub fn peak_rss_mib() -> Option<f64> {
    proc_status_mib("VmHWM:")
}

/// A memory figure of `/proc/self/status` (e.g. `VmRSS:`), in MiB.
fn proc_status_mib(key: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The decoders benchmarked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum BenchDecoder {
    /// SSVEP, plain CCA (`false`) or FBCCA (`true`).
    Ssvep(bool),
    /// Motor imagery on every channel of the montage, a decision every 0.25 s.
    Mi(MiMethod),
    /// Sleep: the spindle detector and the slow-oscillation trigger on Cz together, on
    /// the simulator's sleep scenario (decisions are events, a few per minute).
    Sleep,
    /// The neural spindle detector (the shipped ONNX model, a call every 50 ms) on Cz.
    SpindleNet,
    /// Onset-locked ensemble TRCA with dynamic stopping on the posterior channels, fitted on a
    /// simulated calibration at the stream's size; trials start at the simulator's cues.
    SsvepTrca,
    /// The shipped SSVEP network (ONNX), onset-locked, on the stream its card describes (the
    /// Kalunga montage at 256 Hz, 13/17/21 Hz targets); trials start at the simulator's cues.
    SsvepNet,
    /// The shipped motor-imagery network (ONNX) on the stream its card describes (21
    /// sensorimotor channels at 160 Hz), a decision every 0.25 s, on simulated imagery.
    MiNet,
}

impl BenchDecoder {
    /// The decoder's part of a row's key ([`row_key`]).
    fn tag(self) -> String {
        match self {
            BenchDecoder::Ssvep(false) => "cca".into(),
            BenchDecoder::Ssvep(true) => "fbcca".into(),
            BenchDecoder::Mi(m) => m.name().into(),
            BenchDecoder::Sleep => "sleep".into(),
            BenchDecoder::SpindleNet => "spindle-net".into(),
            BenchDecoder::SsvepTrca => "etrca".into(),
            BenchDecoder::SsvepNet => "ssvep-net".into(),
            BenchDecoder::MiNet => "mi-net".into(),
        }
    }
}

/// A configuration's key, e.g. `64ch-1000hz-fbcca`, which `--only` filters match.
fn row_key(channels: usize, rate_hz: f64, which: BenchDecoder) -> String {
    format!("{channels}ch-{rate_hz}hz-{}", which.tag())
}

/// Whether a row keyed `key` runs: no filters, or one of them is part of the key.
fn selected(key: &str, only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|f| key.contains(f.as_str()))
}

const DECODERS: [BenchDecoder; 9] = [
    BenchDecoder::Ssvep(false),
    BenchDecoder::Ssvep(true),
    BenchDecoder::SsvepTrca,
    BenchDecoder::Mi(MiMethod::CspLda),
    BenchDecoder::Mi(MiMethod::TsLr),
    BenchDecoder::Mi(MiMethod::Mdm),
    BenchDecoder::Mi(MiMethod::FbcspLda),
    BenchDecoder::Sleep,
    BenchDecoder::SpindleNet,
];

fn decoder_config(fbcca: bool) -> SsvepCcaConfig {
    let method = if fbcca {
        SsvepMethod::Fbcca
    } else {
        SsvepMethod::Cca
    };
    SsvepSpec {
        method,
        ..SsvepSpec::default()
    }
    .cca_config()
}

/// The channels the SSVEP decoders read by default (parietal and occipital).
fn posterior(labels: &[String]) -> Vec<usize> {
    neuroloop_decoders::ssvep::decoder::ssvep_channels(&[], labels).unwrap_or_default()
}

/// An onset-locked ensemble-TRCA model fitted on 60 s of the simulator's default SSVEP
/// scenario (12 cued trials) at the stream's size, as the bench's TRCA decoder.
pub fn synthetic_trca_model(
    labels: &[String],
    rate_hz: f64,
) -> anyhow::Result<neuroloop_decoders::ssvep::onset::SsvepTrcaModel> {
    use neuroloop_acquisition::TruthKind;
    use neuroloop_decoders::ssvep::onset::{SsvepTrcaModel, TrcaFitConfig};
    let scenario = SsvepScenario::default();
    let targets: Vec<f64> = scenario.targets.iter().map(|t| t.freq_hz).collect();
    let mut sim = neuroloop_acquisition::sim::Simulator::new(SimConfig {
        sample_rate_hz: rate_hz,
        channel_labels: labels.to_vec(),
        seed: 99,
        scenario: Scenario::Ssvep(scenario),
        ..SimConfig::default()
    })?;
    let ch = labels.len();
    let frames = (60.0 * rate_hz) as usize;
    let mut data = vec![0.0f32; frames * ch];
    sim.generate(&mut data);
    let origin = sim.frame_time(0);
    let mut trials = Vec::new();
    sim.drain_truth(|t| {
        if let TruthKind::SsvepTarget { index, .. } = t.kind {
            trials.push((
                ((t.onset - origin) * rate_hz).round() as usize,
                usize::from(index),
            ));
        }
    });
    let cfg = TrcaFitConfig {
        folds: 0,
        ..TrcaFitConfig::default()
    };
    Ok(SsvepTrcaModel::fit(
        &data,
        labels,
        rate_hz,
        &posterior(labels),
        &trials,
        &targets,
        &cfg,
        "simulator (bench)",
    )?)
}

/// How many of the montage's channels the decoder reads.
fn decoded_channels(channels: usize, rate_hz: f64, which: BenchDecoder) -> anyhow::Result<usize> {
    match which {
        BenchDecoder::Ssvep(fbcca) => {
            let mut probe = SsvepCcaDecoder::new(decoder_config(fbcca));
            probe.prepare(&DecoderContext {
                sample_rate_hz: rate_hz,
                channel_labels: SimConfig::labels_for(channels),
                max_block_frames: 16,
                eeg: Vec::new(),
            })?;
            Ok(probe.picked_channels().len())
        }
        BenchDecoder::Mi(_) => Ok(channels),
        BenchDecoder::SsvepTrca => Ok(posterior(&SimConfig::labels_for(channels)).len()),
        BenchDecoder::SsvepNet | BenchDecoder::MiNet => Ok(channels),
        BenchDecoder::Sleep => Ok(2),
        BenchDecoder::SpindleNet => Ok(1),
    }
}

fn session(
    channels: usize,
    rate_hz: f64,
    which: BenchDecoder,
    pacing: Pacing,
    secs: f64,
) -> anyhow::Result<Session> {
    let labels = match which {
        BenchDecoder::SsvepNet => ssvep_net_card()?.channels,
        BenchDecoder::MiNet => MiNet::shipped()?.config().channels.clone(),
        _ => SimConfig::labels_for(channels),
    };
    let one = |d: Box<dyn Decoder>, truth| vec![SessionDecoder::boxed(d, truth)];
    let (decoders, scenario) = match which {
        BenchDecoder::Ssvep(fbcca) => (
            one(
                Box::new(SsvepCcaDecoder::new(decoder_config(fbcca))),
                TruthMapping::SsvepTargetIndex,
            ),
            Scenario::Ssvep(SsvepScenario::default()),
        ),
        BenchDecoder::Mi(method) => (
            one(
                Box::new(MiDecoder::new(
                    MiModel::synthetic(method, &labels, rate_hz, 2.0)?,
                    MiDecoderConfig::default(),
                )?),
                TruthMapping::None,
            ),
            Scenario::MotorImagery(MiScenario::default()),
        ),
        BenchDecoder::SsvepTrca => (
            one(
                Box::new(neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder::trca(
                    synthetic_trca_model(&labels, rate_hz)?,
                    0.2,
                )?),
                TruthMapping::SsvepTargetIndex,
            ),
            Scenario::Ssvep(SsvepScenario::default()),
        ),
        BenchDecoder::SsvepNet => {
            let card = ssvep_net_card()?;
            let scenario = SsvepScenario {
                targets: card
                    .targets_hz
                    .iter()
                    .map(|&freq_hz| neuroloop_acquisition::sim::SsvepTarget {
                        freq_hz,
                        phase_rad: 0.0,
                    })
                    .collect(),
                ..SsvepScenario::default()
            };
            let net = neuroloop_decoders::ssvep::SsvepNet::shipped()?;
            (
                one(
                    Box::new(neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder::net(
                        net, 0.2,
                    )),
                    TruthMapping::SsvepTargetIndex,
                ),
                Scenario::Ssvep(scenario),
            )
        }
        BenchDecoder::MiNet => (
            one(
                Box::new(MiDecoder::with_net(
                    MiNet::shipped()?,
                    MiDecoderConfig::default(),
                )),
                TruthMapping::None,
            ),
            Scenario::MotorImagery(MiScenario::default()),
        ),
        BenchDecoder::Sleep => (
            sleep_spec(SpindleDetectorKind::A7).decoders()?,
            Scenario::Sleep(SleepScenario::default()),
        ),
        BenchDecoder::SpindleNet => {
            let ParadigmSpec::Sleep(spec) = sleep_spec(SpindleDetectorKind::Net) else {
                unreachable!("sleep_spec makes a sleep spec");
            };
            (
                vec![SessionDecoder::new(
                    spec.spindle_decoder()?,
                    TruthMapping::None,
                )],
                Scenario::Sleep(SleepScenario::default()),
            )
        }
    };
    let mut config = simulated(labels, rate_hz, scenario, pacing, secs);
    config.decoders = decoders;
    Ok(Session::start(config)?)
}

/// The shipped SSVEP network's stream and targets (its card's `[ssvep]`).
fn ssvep_net_card() -> anyhow::Result<neuroloop_decoders::ssvep::net::SsvepNetConfig> {
    use neuroloop_decoders::onnx::ModelCard;
    use neuroloop_decoders::ssvep::net::SSVEP_NET_CARD;
    ModelCard::shipped(SSVEP_NET_CARD)?
        .ssvep
        .ok_or_else(|| anyhow::anyhow!("{SSVEP_NET_CARD} has no [ssvep] table"))
}

/// The sleep paradigm on the bench's montages: both detectors on Cz (in every simulated
/// montage; Fz is not in the 32-channel one), `detector` finding the spindles, no
/// stimulation (the soak times that).
fn sleep_spec(detector: SpindleDetectorKind) -> ParadigmSpec {
    ParadigmSpec::Sleep(SleepSpec {
        detector,
        spindle_channel: Some("Cz".into()),
        so_channel: Some("Cz".into()),
        stim_on: StimOn::None,
        ..SleepSpec::default()
    })
}

/// A simulator session with the default front end and no marker outlet.
fn simulated(
    labels: Vec<String>,
    rate_hz: f64,
    scenario: Scenario,
    pacing: Pacing,
    secs: f64,
) -> SessionConfig {
    let source = SourceSpec::Simulator {
        config: SimConfig {
            sample_rate_hz: rate_hz,
            channel_labels: labels,
            scenario,
            ..SimConfig::default()
        },
        pacing,
        chunk_frames: 0,
        duration_secs: Some(secs),
        time_origin: None,
    };
    SessionConfig::new(source).markers(None)
}

fn run_to_end(mut s: Session) -> (Session, f64) {
    while !s.source_finished() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let outcome = s.stop_in_place();
    (s, outcome.wall_secs)
}

/// Runs every configuration, or those whose key (`64ch-1000hz-fbcca`, `160hz-mi-net`; the LSL
/// loop is `lsl-loopback`, the virtual audio output `audio-onset`) contains one of `only`;
/// the default audio device (audible bursts) runs only when `only` names `audio-device`.
/// `quick` shortens the runs (CI). `wake` is held for the whole run
/// ([`neuroloop_runtime::wake_latency`]); the
/// report says whether it was.
pub fn run(quick: bool, only: &[String], wake: WakeLatency) -> anyhow::Result<BenchReport> {
    let wake_hold = WakeLatencyHold::request(wake);
    let (latency_secs, throughput_secs): (f64, f64) =
        if quick { (10.0, 10.0) } else { (60.0, 60.0) };
    let mut pipeline = Vec::new();
    for (channels, rate_hz, which) in pipeline_rows(only)? {
        let fig = pipeline_row(channels, rate_hz, which, latency_secs, throughput_secs)?;
        println!(
            "{:>3} ch ({:>2} decoded) {:>5} Hz {:<12} n={:<5} arrival -> decision p50 {:>7.3} ms  p99 {:>7.3} ms  p99.9 {:>7.3} ms  drops {}  throughput {:>8.0}x",
            fig.channels,
            fig.decoded_channels,
            fig.rate_hz,
            fig.decoder,
            fig.decisions,
            fig.p50_ms,
            fig.p99_ms,
            fig.p999_ms,
            fig.frames_dropped,
            fig.throughput_x_real_time
        );
        pipeline.push(fig);
    }
    let lsl_loopback = selected("lsl-loopback", only)
        .then(|| loopback_row(if quick { 10.0 } else { 60.0 }))
        .flatten();
    Ok(BenchReport {
        machine: machine(),
        build: if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        latency_data_secs: latency_secs,
        throughput_data_secs: throughput_secs,
        pipeline,
        peak_rss_mib: peak_rss_mib(),
        lsl_loopback,
        audio_onset: audio_rows(only, if quick { 20 } else { 200 }),
        cpu_wake_latency: wake_hold.describe(),
    })
}

/// The pipeline rows `only` selects: every decoder at every stream size, then the networks on
/// the one stream each reads.
fn pipeline_rows(only: &[String]) -> anyhow::Result<Vec<(usize, f64, BenchDecoder)>> {
    let mut configs: Vec<(usize, f64, BenchDecoder)> = Vec::new();
    for channels in [8, 32, 64] {
        for rate_hz in [250.0, 500.0, 1000.0] {
            configs.extend(DECODERS.iter().map(|&which| (channels, rate_hz, which)));
        }
    }
    let net = ssvep_net_card()?;
    configs.push((
        net.channels.len(),
        net.sample_rate_hz,
        BenchDecoder::SsvepNet,
    ));
    let mi = MiNet::shipped()?.config().clone();
    configs.push((mi.channels.len(), mi.sample_rate_hz, BenchDecoder::MiNet));
    configs
        .retain(|&(channels, rate_hz, which)| selected(&row_key(channels, rate_hz, which), only));
    Ok(configs)
}

/// One pipeline row: latency paced at [`LATENCY_SPEED`], then throughput at maximum speed.
fn pipeline_row(
    channels: usize,
    rate_hz: f64,
    which: BenchDecoder,
    latency_secs: f64,
    throughput_secs: f64,
) -> anyhow::Result<PipelineFigures> {
    // Sleep decisions are events (a few a minute, after a 10 s baseline) and the SSVEP
    // network decides once per 5-s trial: give them two minutes of data.
    let sparse = matches!(
        which,
        BenchDecoder::Sleep | BenchDecoder::SpindleNet | BenchDecoder::SsvepNet
    );
    let latency_secs = if sparse {
        latency_secs.max(120.0)
    } else {
        latency_secs
    };
    let s = session(
        channels,
        rate_hz,
        which,
        Pacing::Speed(LATENCY_SPEED),
        latency_secs,
    )?;
    let name = if which == BenchDecoder::Sleep {
        "sleep".to_owned()
    } else {
        s.decoders[0].name.clone()
    };
    let (s, _) = run_to_end(s);
    let lat = s.stats.latency_from_arrival.summary();
    let histogram = s.stats.latency_from_arrival.nonzero_buckets_ms();
    let frames_dropped = s.stats.ring.frames_dropped.load(Ordering::Relaxed);
    drop(s);
    let t = session(channels, rate_hz, which, Pacing::Max, throughput_secs)?;
    let (t, wall) = run_to_end(t);
    let frames = t.stats.frames_processed.load(Ordering::Relaxed) as f64;
    Ok(PipelineFigures {
        channels,
        rate_hz,
        decoder: name,
        decoded_channels: decoded_channels(channels, rate_hz, which)?,
        decisions: lat.count,
        p50_ms: lat.p50_ms,
        p99_ms: lat.p99_ms,
        p999_ms: lat.p999_ms,
        max_ms: lat.max_ms,
        frames_dropped,
        throughput_x_real_time: frames / rate_hz / wall.max(1e-9),
        histogram,
    })
}

/// The LSL loopback beside its pylsl peer, printed; `None` when LSL could not run here.
fn loopback_row(secs: f64) -> Option<loopback::LoopbackFigures> {
    match loopback::run(secs) {
        Ok(l) => {
            let peer = match (l.pylsl_hop_p50_ms, &l.pylsl_note) {
                (Some(hop), _) => format!(
                    "; pylsl one hop p50 {hop:.3} ms, loop / two hops {:.1}x",
                    l.p50_ms / (2.0 * hop)
                ),
                (None, Some(why)) => format!("; pylsl peer not measured: {why}"),
                (None, None) => String::new(),
            };
            println!(
                "LSL loopback (amplifier outlet -> neuroloop -> marker outlet -> inlet, 8 ch 250 Hz, CCA) n={} chunk pushed -> marker received p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms{peer}",
                l.markers, l.p50_ms, l.p99_ms, l.p999_ms
            );
            Some(l)
        }
        Err(e) => {
            println!("LSL loopback not measured: {e:#}");
            None
        }
    }
}

/// Audio onsets of `bursts` bursts on the virtual device and, only when `only` names
/// `audio-device` (its bursts are audible), the default device; printed.
fn audio_rows(only: &[String], bursts: usize) -> Vec<audio::AudioFigures> {
    let device = only.iter().any(|f| f == "audio-device");
    let rows = [
        (
            selected("audio-onset", only),
            "virtual device",
            audio::run_virtual as fn(usize) -> _,
        ),
        (device, "default device", audio::run_device),
    ];
    let mut out = Vec::new();
    for (_, what, run) in rows.into_iter().filter(|r| r.0) {
        match run(bursts) {
            Ok(a) => {
                println!("{}", a.line());
                out.push(a);
            }
            Err(e) => println!("audio onset on the {what} not measured: {e:#}"),
        }
    }
    out
}

/// An SVG of the latency distributions: one row per configuration, a bar from p50 to p99.9 on
/// a logarithmic axis, ticks at p99, dots for every histogram bucket shaded by its count.
pub fn svg(report: &BenchReport) -> String {
    let (w, row, left, top) = (900.0, 18.0, 210.0, 40.0);
    let h = top + row * report.pipeline.len() as f64 + 40.0;
    let (lo, hi) = (1e-3f64, 100.0f64); // 1 µs .. 100 ms
    let x =
        |ms: f64| left + (w - left - 20.0) * ((ms.clamp(lo, hi) / lo).log10() / (hi / lo).log10());
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="18" font-size="13">neuroloop pipeline latency, chunk arrival to decision ({} build, {}; {})</text>"#,
        report.build,
        escape(&report.machine),
        escape(&report.cpu_wake_latency)
    );
    for (i, ms) in [0.001, 0.01, 0.1, 1.0, 10.0, 100.0].iter().enumerate() {
        let label = ["1 µs", "10 µs", "100 µs", "1 ms", "10 ms", "100 ms"][i];
        let _ = writeln!(
            s,
            r##"<line x1="{0:.1}" y1="{top}" x2="{0:.1}" y2="{1:.1}" stroke="#ddd"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{label}</text>"##,
            x(*ms),
            h - 30.0,
            h - 16.0
        );
    }
    for (i, f) in report.pipeline.iter().enumerate() {
        let y = top + row * i as f64 + row / 2.0;
        let _ = writeln!(
            s,
            r#"<text x="10" y="{:.1}">{} ch ({} decoded), {} Hz, {}</text>"#,
            y + 4.0,
            f.channels,
            f.decoded_channels,
            f.rate_hz,
            escape(&f.decoder)
        );
        let peak = f.histogram.iter().map(|b| b.1).max().unwrap_or(1) as f64;
        for &(ms, n) in &f.histogram {
            let _ = writeln!(
                s,
                r##"<circle cx="{:.1}" cy="{y:.1}" r="2" fill="#1f77b4" fill-opacity="{:.2}"/>"##,
                x(ms),
                0.15 + 0.85 * n as f64 / peak
            );
        }
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d62728" stroke-width="2"/><line x1="{2:.1}" y1="{3:.1}" x2="{2:.1}" y2="{4:.1}" stroke="#d62728" stroke-width="2"/>"##,
            x(f.p50_ms),
            x(f.p999_ms),
            x(f.p99_ms),
            y - 5.0,
            y + 5.0
        );
    }
    s.push_str("</svg>\n");
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Writes `bench.json` and `latency.svg` into `dir` and returns their paths.
pub fn write(report: &BenchReport, dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = dir.join("bench.json");
    std::fs::write(&json, serde_json::to_string_pretty(report)? + "\n")
        .with_context(|| format!("writing {}", json.display()))?;
    let plot = dir.join("latency.svg");
    std::fs::write(&plot, svg(report)).with_context(|| format!("writing {}", plot.display()))?;
    Ok((json, plot))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The network rows run on the streams their cards describe and decide.
    #[test]
    fn the_network_rows_decode_their_own_streams() {
        if let Err(e) = neuroloop_decoders::onnx::init() {
            eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
            return;
        }
        let mi = MiNet::shipped().unwrap().config().clone();
        let ssvep = ssvep_net_card().unwrap();
        for (channels, rate_hz, which, secs, at_least) in [
            (
                mi.channels.len(),
                mi.sample_rate_hz,
                BenchDecoder::MiNet,
                5.0,
                10,
            ),
            (
                ssvep.channels.len(),
                ssvep.sample_rate_hz,
                BenchDecoder::SsvepNet,
                12.0,
                1,
            ),
        ] {
            let s = session(channels, rate_hz, which, Pacing::Max, secs).unwrap();
            let (s, _) = run_to_end(s);
            let decisions = s.stats.decisions.load(Ordering::Relaxed);
            assert!(decisions >= at_least, "{which:?}: {decisions} decisions");
            assert_eq!(s.stats.ring.frames_dropped.load(Ordering::Relaxed), 0);
        }
    }

    #[test]
    fn report_is_written_as_json_and_svg() {
        let fig = PipelineFigures {
            channels: 8,
            rate_hz: 250.0,
            decoder: "ssvep-cca".into(),
            decoded_channels: 5,
            decisions: 3,
            p50_ms: 0.1,
            p99_ms: 0.2,
            p999_ms: 0.3,
            max_ms: 0.3,
            frames_dropped: 0,
            throughput_x_real_time: 1000.0,
            histogram: vec![(0.1, 2), (0.3, 1)],
        };
        let report = BenchReport {
            machine: "test <cpu>".into(),
            build: "debug",
            latency_data_secs: 1.0,
            throughput_data_secs: 1.0,
            pipeline: vec![fig.clone(), fig],
            peak_rss_mib: Some(10.0),
            lsl_loopback: None,
            audio_onset: Vec::new(),
            cpu_wake_latency: "CPU wake-up latency held at 0 µs".into(),
        };
        let dir = std::env::temp_dir().join(format!("neuroloop-bench-{}", std::process::id()));
        let (json, plot) = write(&report, &dir).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        assert_eq!(v["pipeline"][1]["p99_ms"], 0.2);
        let svg = std::fs::read_to_string(plot).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("test &lt;cpu&gt;"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn peak_rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_mib().unwrap() > 1.0);
        }
    }
}

/// Current resident set size of this process in MiB (Linux), if known.
pub fn rss_mib() -> Option<f64> {
    proc_status_mib("VmRSS:")
}

/// One memory sample of a soak run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SoakSample {
    /// Hours of data processed so far.
    pub data_hours: f64,
    /// Resident set size, MiB.
    pub rss_mib: f64,
}

/// A long sleep session at maximum speed, with memory sampled as it runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoakReport {
    /// Hours of data.
    pub data_hours: f64,
    /// Wall-clock seconds.
    pub wall_secs: f64,
    /// Data time over wall time.
    pub x_real_time: f64,
    /// Frames dropped anywhere (must be 0: the run is consumer-paced).
    pub frames_dropped: u64,
    /// Decisions made.
    pub decisions: u64,
    /// Stimuli commanded (dry run).
    pub stimuli: u64,
    /// Memory over the run.
    pub samples: Vec<SoakSample>,
    /// RSS growth from the end of the first quarter of the run to its end, MiB.
    pub rss_growth_mib: f64,
    /// The session recording (XDF), when one was made.
    pub recording: Option<String>,
    /// EEG frames written to it.
    pub recorded_frames: u64,
    /// Its size on disk, bytes.
    pub recording_bytes: u64,
}

/// Runs `hours` of simulated sleep (8 channels at 250 Hz) through the spindle detector, the
/// slow-oscillation trigger and the stimulation policy in dry run, at maximum speed, recording
/// the session to `record` (XDF: EEG, decisions, stimulation events) when given, sampling the
/// process's RSS every 50 ms of wall time.
pub fn soak(hours: f64, record: Option<&Path>) -> anyhow::Result<SoakReport> {
    let rate_hz = 250.0;
    let spec = ParadigmSpec::Sleep(SleepSpec {
        spindle_channel: Some("Cz".into()),
        so_channel: Some("Fz".into()),
        ..SleepSpec::default()
    });
    let config = simulated(
        SimConfig::labels_for(8),
        rate_hz,
        Scenario::Sleep(SleepScenario::default()),
        Pacing::Max,
        hours * 3600.0,
    )
    .paradigm(&spec, true)?
    .record(record.map(Path::to_path_buf));
    let session = Session::start(config)?;
    let mut samples = Vec::new();
    let sample = |s: &Session, samples: &mut Vec<SoakSample>| {
        if let Some(rss) = rss_mib() {
            let frames = s.stats.frames_processed.load(Ordering::Relaxed) as f64;
            samples.push(SoakSample {
                data_hours: frames / rate_hz / 3600.0,
                rss_mib: rss,
            });
        }
    };
    let mut s = session;
    while !s.source_finished() {
        sample(&s, &mut samples);
        std::thread::sleep(Duration::from_millis(50));
    }
    let outcome = s.stop_in_place();
    sample(&s, &mut samples);
    let quarter = samples
        .iter()
        .find(|p| p.data_hours >= hours / 4.0)
        .map_or(0.0, |p| p.rss_mib);
    let last = samples.last().map_or(0.0, |p| p.rss_mib);
    let (stimuli, recorded_frames) = {
        let log = s.log.lock().unwrap_or_else(|p| p.into_inner());
        (log.stim.map_or(0, |st| st.commanded), log.recorded_frames)
    };
    let frames = s.stats.frames_processed.load(Ordering::Relaxed) as f64;
    Ok(SoakReport {
        data_hours: frames / rate_hz / 3600.0,
        wall_secs: outcome.wall_secs,
        x_real_time: frames / rate_hz / outcome.wall_secs.max(1e-9),
        frames_dropped: s.stats.ring.frames_dropped.load(Ordering::Relaxed)
            + s.stats.record_dropped.load(Ordering::Relaxed),
        decisions: s.stats.decisions.load(Ordering::Relaxed),
        stimuli,
        samples,
        rss_growth_mib: last - quarter,
        recording: record.map(|p| p.display().to_string()),
        recorded_frames,
        recording_bytes: record
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len()),
    })
}
