//! `neuroloop model check CARD.toml`: everything about a model card a user needs to know
//! before a session. It loads the graph and compares it with the card, loads it the way its
//! paradigm does, runs the card's golden inputs and times one inference, beside the same graph
//! in onnxruntime's Python API. Given a recording or a stream, it also says whether the
//! channels and rate fit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use neuroloop_acquisition::Source as _;
use neuroloop_decoders::DecoderContext;
use neuroloop_decoders::onnx::{ModelCard, OnnxModel, Provenance, TensorSpec};
use neuroloop_runtime::SessionDecoder;
use neuroloop_runtime::spec::{MiSpec, SleepSpec, SpindleDetectorKind, SsvepSpec};
use serde::Serialize;

use super::args::ModelCheckArgs;
use crate::bench::loopback::{project_file, python};

/// Golden outputs must match within `1e-6 + GOLDEN_RELATIVE × |expected|`.
const GOLDEN_RELATIVE: f64 = 1e-4;

/// What `model check` found; `--json` prints it.
#[derive(Debug, Default, Serialize)]
struct CheckReport {
    card: PathBuf,
    name: String,
    task: String,
    paradigm: Option<&'static str>,
    settings: Vec<String>,
    declared_input: Option<TensorSpec>,
    declared_output: Option<TensorSpec>,
    graph: Option<GraphInfo>,
    paradigm_loader: Option<String>,
    golden: Option<GoldenCheck>,
    timing: Option<Timing>,
    python: Option<Timing>,
    python_version: Option<String>,
    python_skipped: Option<String>,
    /// Median in the app / median in Python.
    ratio: Option<f64>,
    data: Option<DataFit>,
    provenance: Option<Provenance>,
    problems: Vec<String>,
}

#[derive(Debug, Serialize)]
struct GraphInfo {
    file: PathBuf,
    bytes: u64,
    inputs: Vec<TensorSpec>,
    outputs: Vec<TensorSpec>,
}

#[derive(Debug, Serialize)]
struct GoldenCheck {
    windows: usize,
    max_abs_difference: f64,
    matches: bool,
    outputs_are_probabilities: bool,
}

#[derive(Debug, Serialize)]
struct Timing {
    calls: usize,
    median_ms: f64,
    p99_ms: f64,
}

#[derive(Debug, Serialize)]
struct DataFit {
    source: String,
    /// Whether the recording or stream could be opened at all.
    opened: bool,
    sample_rate_hz: f64,
    channels: Vec<String>,
    fits: bool,
    detail: String,
}

/// `neuroloop model check`.
pub(super) fn check(args: &ModelCheckArgs) -> anyhow::Result<()> {
    let card = ModelCard::read(&args.card)?;
    let mut report = CheckReport {
        card: args.card.clone(),
        name: card.name.clone(),
        task: card.task.clone(),
        declared_input: Some(card.input.clone()),
        declared_output: Some(card.output.clone()),
        provenance: card.provenance.clone(),
        ..CheckReport::default()
    };
    describe_paradigm(&card, &mut report);
    if card.provenance.is_none() {
        report.settings.push(
            "no [provenance]: the card does not say which recordings shaped the model (docs/models.md)"
                .into(),
        );
    }
    match neuroloop_decoders::onnx::init() {
        Ok(_) => check_graph(&card, args, &mut report),
        Err(e) => report.problems.push(e.to_string()),
    }
    if let Some(source) = data_source(args) {
        report.data = Some(check_data(&card, &report, source));
    }
    if let Some(d) = &report.data
        && !d.fits
    {
        report.problems.push(if d.opened {
            format!("{} does not fit: {}", d.source, d.detail)
        } else {
            format!("{} cannot be opened: {}", d.source, d.detail)
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    if report.problems.is_empty() {
        Ok(())
    } else if args.json {
        anyhow::bail!(
            "{} problem(s) with {}: {}",
            report.problems.len(),
            args.card.display(),
            report.problems.join("; ")
        )
    } else {
        anyhow::bail!(
            "{} problem(s) with {} (above)",
            report.problems.len(),
            args.card.display()
        )
    }
}

/// The paradigm the card is for and its settings, in words.
fn describe_paradigm(card: &ModelCard, report: &mut CheckReport) {
    let tables = [
        card.spindle.is_some(),
        card.mi.is_some(),
        card.ssvep.is_some(),
    ];
    if tables.iter().filter(|&&t| t).count() > 1 {
        report.problems.push(
            "the card has more than one of [spindle], [mi], [ssvep]: keep the one of the paradigm it decodes".into(),
        );
    }
    if let Some(s) = &card.spindle {
        report.paradigm = Some("sleep spindles");
        let f = &s.front_end;
        report.settings.push(format!(
            "one EEG channel (C3/C4/Cz… found by name unless the spindle channel is set), band-passed {:?} and {:?} Hz, resampled to {} Hz, divided by a {} s running RMS, clipped at ±{}",
            f.wide_band_hz, f.sigma_band_hz, f.rate_hz, f.norm_secs, f.clip
        ));
        report.settings.push(format!(
            "window {} s every {} s; a spindle = output ≥ {} for {} hop(s), {}-{} s long",
            f.window_secs,
            f.hop_secs,
            s.threshold,
            s.confirm_hops,
            s.min_duration_secs,
            s.max_duration_secs
        ));
    } else if let Some(m) = &card.mi {
        report.paradigm = Some("motor imagery");
        report.settings.push(format!(
            "channels {} at {} Hz, band-passed {:?} Hz (order {}), window {} s; classes {}",
            m.channels.join(" "),
            m.sample_rate_hz,
            m.band_hz,
            m.filter_order,
            m.window_secs,
            m.class_names.join(", ")
        ));
    } else if let Some(s) = &card.ssvep {
        report.paradigm = Some("SSVEP");
        let targets: Vec<String> = s.targets_hz.iter().map(|t| format!("{t}")).collect();
        report.settings.push(format!(
            "channels {} at {} Hz, {} sub-bands (order {}), window {} s from {} s after each stimulus onset; targets {} Hz",
            s.channels.join(" "),
            s.sample_rate_hz,
            s.bands_hz.len(),
            s.filter_order,
            s.window_secs,
            s.latency_secs,
            targets.join(", ")
        ));
    } else {
        report.problems.push(
            "the card has no [spindle], [mi] or [ssvep] table: add the table of the paradigm it decodes (docs/models.md)".into(),
        );
    }
}

/// Loads the graph, then the paradigm's loader, runs the golden inputs and times a call.
fn check_graph(card: &ModelCard, args: &ModelCheckArgs, report: &mut CheckReport) {
    let path = card.model_path();
    let mut model = match OnnxModel::load(card) {
        Ok(m) => m,
        Err(e) => {
            report.problems.push(e.to_string());
            return;
        }
    };
    report.graph = Some(GraphInfo {
        bytes: std::fs::metadata(&path).map_or(0, |m| m.len()),
        file: path.clone(),
        inputs: model.graph_inputs(),
        outputs: model.graph_outputs(),
    });
    if let Err(e) = paradigm_decoder(card) {
        report.problems.push(e);
    } else if report.paradigm.is_some() {
        report.paradigm_loader = Some("loads as the paradigm loads it".into());
    }
    let (rows, samples) = rows_and_samples(&card.input);
    let input = match &card.golden {
        Some(golden) => {
            let check = check_golden(&mut model, golden, rows, samples);
            if !check.matches {
                report.problems.push(format!(
                    "the graph's outputs differ from the card's [golden] by up to {:.3e}: the card and the model do not belong together; retrain (the script writes both) or rewrite [golden]",
                    check.max_abs_difference
                ));
            }
            if !check.outputs_are_probabilities {
                report.problems.push(format!(
                    "the output `{}` is not a probability on the golden inputs (outside 0-1, non-finite, or a classifier's outputs not summing to 1): the app reads it as one; end the graph with a sigmoid or softmax",
                    card.output.name
                ));
            }
            report.golden = Some(check);
            golden.input(0, rows, samples)
        }
        None => {
            report.settings.push(
                "no [golden]: a copy of the model cannot be checked without data (docs/models.md, Golden outputs)"
                    .into(),
            );
            vec![0.0; card.input.elements()]
        }
    };
    let timing = time_calls(&mut model, &input, args.calls as usize);
    if args.no_python {
        report.python_skipped = Some("--no-python".into());
    } else {
        match python_timing(card, &input, args.calls as usize) {
            Ok((version, t)) => {
                if let Some(ours) = &timing {
                    report.ratio = Some(ours.median_ms / t.median_ms);
                }
                report.python_version = Some(version);
                report.python = Some(t);
            }
            Err(e) => report.python_skipped = Some(format!("{e:#}")),
        }
    }
    report.timing = timing;
}

/// The decoder a session would build from the card (the paradigm's own loader and checks).
fn paradigm_decoder(card: &ModelCard) -> Result<SessionDecoder, String> {
    let path = Some(card.path.clone());
    let built = if card.spindle.is_some() {
        let spec = SleepSpec {
            detector: SpindleDetectorKind::Net,
            spindle_model: path,
            ..SleepSpec::default()
        };
        spec.spindle_decoder()
            .map(|d| SessionDecoder::new(d, neuroloop_runtime::outputs::TruthMapping::None))
    } else if card.mi.is_some() {
        MiSpec {
            model: path,
            ..MiSpec::default()
        }
        .decoder()
    } else if let Some(s) = &card.ssvep {
        SsvepSpec {
            model: path,
            targets_hz: s.targets_hz.clone(),
            ..SsvepSpec::default()
        }
        .decoder(None)
    } else {
        return Err("no paradigm table".into());
    };
    built.map_err(|e| e.to_string())
}

/// The input's dimensions but the last flattened into rows, and the last (samples).
fn rows_and_samples(spec: &TensorSpec) -> (usize, usize) {
    let dims: Vec<usize> = spec.shape.iter().map(|&d| d.max(1) as usize).collect();
    let samples = dims.last().copied().unwrap_or(1);
    (dims.iter().product::<usize>() / samples.max(1), samples)
}

fn check_golden(
    model: &mut OnnxModel,
    golden: &neuroloop_decoders::onnx::Golden,
    rows: usize,
    samples: usize,
) -> GoldenCheck {
    let mut worst = 0.0f64;
    let mut matches = !golden.outputs.is_empty();
    let mut probabilities = true;
    for (k, &want) in golden.outputs.iter().enumerate() {
        let x = golden.input(k, rows, samples);
        match model.run(&x) {
            Ok(out) => {
                let got = f64::from(out[0]);
                let diff = (got - want).abs();
                worst = worst.max(diff);
                matches &= diff <= 1e-6 + GOLDEN_RELATIVE * want.abs();
                let in_range = out.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v));
                let sums_to_one = out.len() == 1
                    || (out.iter().map(|&v| f64::from(v)).sum::<f64>() - 1.0).abs() < 1e-3;
                probabilities &= in_range && sums_to_one;
            }
            Err(_) => {
                matches = false;
                worst = f64::INFINITY;
            }
        }
    }
    GoldenCheck {
        windows: golden.outputs.len(),
        max_abs_difference: worst,
        matches,
        outputs_are_probabilities: probabilities,
    }
}

/// Median and 99th percentile of `calls` inferences on `input` (after 20 warm-up calls).
fn time_calls(model: &mut OnnxModel, input: &[f32], calls: usize) -> Option<Timing> {
    for _ in 0..20 {
        model.run(input).ok()?;
    }
    let mut ms = Vec::with_capacity(calls);
    for _ in 0..calls {
        let t = Instant::now();
        model.run(input).ok()?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Some(percentiles(ms))
}

fn percentiles(mut ms: Vec<f64>) -> Timing {
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    Timing {
        calls: n,
        median_ms: ms[n / 2],
        p99_ms: ms[((0.99 * n as f64) as usize).min(n - 1)],
    }
}

/// The same graph, input and call count through onnxruntime's Python API
/// (`scripts/bench/ort_time.py`).
fn python_timing(
    card: &ModelCard,
    input: &[f32],
    calls: usize,
) -> anyhow::Result<(String, Timing)> {
    let py = python().context("no Python found: set NEUROLOOP_PYTHON or run scripts/setup.sh")?;
    let script = project_file(Path::new("scripts/bench/ort_time.py"))
        .context("scripts/bench/ort_time.py is not beside this binary")?;
    let data =
        std::env::temp_dir().join(format!("neuroloop-model-check-{}.f32", std::process::id()));
    let bytes: Vec<u8> = input.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&data, bytes).context("writing the input for Python")?;
    let shape: Vec<String> = card
        .input
        .shape
        .iter()
        .map(|&d| d.max(1).to_string())
        .collect();
    let out = std::process::Command::new(&py)
        .arg(&script)
        .arg(card.model_path())
        .args([&card.input.name, &card.output.name, &shape.join(",")])
        .arg(&data)
        .arg(calls.to_string())
        .output()
        .with_context(|| format!("running {}", py.display()));
    std::fs::remove_file(&data).ok();
    let out = out?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").to_string();
        if last.contains("No module named 'onnxruntime'") {
            anyhow::bail!(
                "onnxruntime is not installed in {} (run scripts/setup.sh)",
                py.display()
            );
        }
        anyhow::bail!("{} failed: {last}", script.display());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading its result")?;
    let num = |k: &str| {
        v[k].as_f64()
            .with_context(|| format!("no {k} in its result"))
    };
    Ok((
        v["version"].as_str().unwrap_or("?").to_string(),
        Timing {
            calls: num("calls")? as usize,
            median_ms: num("median_ms")?,
            p99_ms: num("p99_ms")?,
        },
    ))
}

#[derive(Clone, Copy)]
enum DataSource<'a> {
    File(&'a Path),
    Stream(&'a str),
}

fn data_source(args: &ModelCheckArgs) -> Option<DataSource<'_>> {
    match (&args.file, &args.stream) {
        (Some(f), _) => Some(DataSource::File(f)),
        (None, Some(s)) => Some(DataSource::Stream(s)),
        (None, None) => None,
    }
}

/// Whether the recording's or stream's channels and rate fit: the paradigm's decoder is
/// prepared for them exactly as a session prepares it.
fn check_data(card: &ModelCard, report: &CheckReport, source: DataSource<'_>) -> DataFit {
    let opened: Result<(String, neuroloop_acquisition::StreamMeta, usize), String> = match source {
        DataSource::File(path) => neuroloop_acquisition::FileSource::open(
            path,
            &[],
            neuroloop_acquisition::Pacing::Max,
            256,
        )
        .map(|s| {
            (
                path.display().to_string(),
                s.meta().clone(),
                s.max_chunk_frames(),
            )
        })
        .map_err(|e| e.to_string()),
        DataSource::Stream(name) => {
            let cfg = neuroloop_acquisition::lsl_io::LslInletConfig {
                name: Some(name.to_string()),
                content_type: None,
                ..Default::default()
            };
            neuroloop_acquisition::lsl_io::LslSource::open(cfg)
                .map(|s| {
                    (
                        format!("stream {name}"),
                        s.meta().clone(),
                        s.max_chunk_frames(),
                    )
                })
                .map_err(|e| e.to_string())
        }
    };
    let (source, meta, chunk) = match opened {
        Ok(o) => o,
        Err(e) => {
            return DataFit {
                source: match source {
                    DataSource::File(p) => p.display().to_string(),
                    DataSource::Stream(s) => format!("stream {s}"),
                },
                opened: false,
                sample_rate_hz: 0.0,
                channels: Vec::new(),
                fits: false,
                detail: e,
            };
        }
    };
    let mut fit = DataFit {
        source,
        opened: true,
        sample_rate_hz: meta.sample_rate_hz,
        channels: meta.channel_labels.clone(),
        fits: false,
        detail: String::new(),
    };
    if report.paradigm.is_none() {
        fit.detail = "the card names no paradigm".into();
        return fit;
    }
    let mut decoder = match paradigm_decoder(card) {
        Ok(d) => d,
        Err(e) => {
            fit.detail = e;
            return fit;
        }
    };
    let ctx = DecoderContext {
        sample_rate_hz: meta.sample_rate_hz,
        channel_labels: meta.channel_labels.clone(),
        max_block_frames: chunk.max(1),
        eeg: meta.eeg_mask(),
    };
    match decoder.decoder.prepare(&ctx) {
        Ok(()) => {
            let picks: Vec<String> = decoder
                .decoder
                .input_channels()
                .iter()
                .filter_map(|&i| meta.channel_labels.get(i).cloned())
                .collect();
            fit.fits = true;
            fit.detail = format!(
                "the {} decoder reads {} of its {} channels at {} Hz: {}",
                report.paradigm.unwrap_or("paradigm's"),
                picks.len(),
                meta.channels(),
                meta.sample_rate_hz,
                picks.join(" ")
            );
        }
        Err(e) => fit.detail = e.to_string(),
    }
    fit
}

fn print_report(r: &CheckReport) {
    println!("card {}: {} ({})", r.card.display(), r.name, r.task);
    if let Some(p) = r.paradigm {
        println!("paradigm: {p}");
    }
    for s in &r.settings {
        println!("  {s}");
    }
    let spec = |t: &TensorSpec| format!("{} {:?}", t.name, t.shape);
    if let (Some(i), Some(o)) = (&r.declared_input, &r.declared_output) {
        println!("card declares: input {}, output {}", spec(i), spec(o));
    }
    if let Some(g) = &r.graph {
        let list = |l: &[TensorSpec]| l.iter().map(spec).collect::<Vec<_>>().join(", ");
        println!(
            "graph {} ({:.1} kB): inputs {}; outputs {}",
            g.file.display(),
            g.bytes as f64 / 1024.0,
            list(&g.inputs),
            list(&g.outputs)
        );
    }
    if let Some(l) = &r.paradigm_loader {
        println!("paradigm loader: {l}");
    }
    if let Some(g) = &r.golden {
        println!(
            "golden: {} windows, largest difference {:.2e} ({}), outputs {}",
            g.windows,
            g.max_abs_difference,
            if g.matches { "match" } else { "DIFFER" },
            if g.outputs_are_probabilities {
                "are probabilities"
            } else {
                "are NOT probabilities"
            }
        );
    }
    if let Some(t) = &r.timing {
        println!(
            "inference in neuroloop: median {:.3} ms, p99 {:.3} ms over {} calls (one thread, one window per call)",
            t.median_ms, t.p99_ms, t.calls
        );
    }
    match (&r.python, &r.python_skipped) {
        (Some(t), _) => println!(
            "same graph in onnxruntime {} (Python): median {:.3} ms, p99 {:.3} ms; ratio neuroloop / Python {:.2}",
            r.python_version.as_deref().unwrap_or("?"),
            t.median_ms,
            t.p99_ms,
            r.ratio.unwrap_or(f64::NAN)
        ),
        (None, Some(why)) => println!("Python comparison skipped: {why}"),
        (None, None) => {}
    }
    if let Some(p) = &r.provenance {
        println!(
            "provenance: {} recording(s) influenced it, {} held out; {}",
            p.influenced.len(),
            p.held_out.len(),
            p.note
        );
    }
    if let Some(d) = r.data.as_ref().filter(|d| d.opened) {
        println!(
            "{} ({} channels at {} Hz): {} — {}",
            d.source,
            d.channels.len(),
            d.sample_rate_hz,
            if d.fits { "fits" } else { "does NOT fit" },
            d.detail
        );
    }
    for p in &r.problems {
        println!("PROBLEM: {p}");
    }
    if r.problems.is_empty() {
        println!("ok");
    }
}
