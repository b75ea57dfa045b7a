//! LSL loopback latency: the whole loop through two LSL hops on this machine.
//!
//! A virtual amplifier (the simulator behind an LSL outlet, 8 channels at 250 Hz, 20-ms chunks,
//! paced in real time) → neuroloop's LSL inlet → front end → FBCCA → neuroloop's marker outlet →
//! a second inlet, as LabRecorder would read it. Each decision marker carries the stamp of the
//! sample that completed its window; its latency is the time from the push of the chunk holding
//! that sample to the marker's arrival at the second inlet (one clock, one process).
//!
//! The peer is pylsl: the same library driven from Python, one hop (push a chunk, pull it on an
//! inlet) timed the same way by `scripts/bench/pylsl_hop.py`; the loop has two hops plus the
//! pipeline, so the ratio printed is the loop's median over twice the hop's.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, bail};
use lsl::Pullable;
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::SourceError;
use neuroloop_acquisition::lsl_io::{
    AmplifierSummary, LslInletConfig, VirtualAmplifier, run_virtual_amplifier,
};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_runtime::spec::{ParadigmSpec, SsvepMethod, SsvepSpec};
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};
use serde::Serialize;

/// What the loopback measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoopbackFigures {
    /// Seconds of data streamed.
    pub data_secs: f64,
    /// Decision markers received by the second inlet.
    pub markers: usize,
    /// Chunk pushed → its decision's marker received: median (ms).
    pub p50_ms: f64,
    /// 99th percentile (ms).
    pub p99_ms: f64,
    /// 99.9th percentile (ms).
    pub p999_ms: f64,
    /// Largest (ms).
    pub max_ms: f64,
    /// pylsl, one hop (chunk pushed → pulled): median (ms), when Python with pylsl is here.
    pub pylsl_hop_p50_ms: Option<f64>,
    /// Why the peer was not measured, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pylsl_note: Option<String>,
}

/// The value at quantile `q` of sorted `v` (nearest rank).
pub(crate) fn quantile(v: &[f64], q: f64) -> f64 {
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// Runs the loop for `secs` of real time and measures every decision marker that comes back.
pub fn run(secs: f64) -> anyhow::Result<LoopbackFigures> {
    let tag = std::process::id();
    let amp_name = format!("neuroloop-bench-amp-{tag}");
    let marker_name = format!("neuroloop-bench-markers-{tag}");
    let amp = Amplifier::start(&amp_name, secs);
    let session = match start_session(&amp_name, &marker_name) {
        Ok(s) => s,
        Err(e) => {
            amp.stop.store(true, Ordering::Release);
            let _ = amp.thread.join();
            return Err(e).context("starting a session on the loopback amplifier");
        }
    };
    let receiver_stop = Arc::new(AtomicBool::new(false));
    let receiver = read_markers(marker_name, Arc::clone(&receiver_stop));
    let amp_result = amp.thread.join();
    std::thread::sleep(Duration::from_millis(500));
    let outcome = session.stop();
    receiver_stop.store(true, Ordering::Release);
    let received = receiver
        .join()
        .map_err(|_| anyhow::anyhow!("the marker reader panicked"))??;
    match amp_result {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e).context("the loopback amplifier"),
        Err(_) => bail!("the loopback amplifier panicked"),
    }
    if let Some(e) = outcome.acquisition_error {
        bail!("the loopback session's acquisition failed: {e}");
    }
    let pushed = amp
        .pushed
        .lock()
        .map_err(|_| anyhow::anyhow!("push log poisoned"))?
        .clone();
    let latencies = latencies_ms(&received, &pushed);
    if latencies.is_empty() {
        bail!("no decision marker came back over LSL");
    }
    let (pylsl_hop_p50_ms, pylsl_note) = match pylsl_hop() {
        Ok(ms) => (Some(ms), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    Ok(LoopbackFigures {
        data_secs: secs,
        markers: latencies.len(),
        p50_ms: quantile(&latencies, 0.5),
        p99_ms: quantile(&latencies, 0.99),
        p999_ms: quantile(&latencies, 0.999),
        max_ms: latencies[latencies.len() - 1],
        pylsl_hop_p50_ms,
        pylsl_note,
    })
}

/// The simulated amplifier on LSL, pushing 5-frame chunks of SSVEP trials in real time on a
/// thread of its own, logging when each chunk went out.
struct Amplifier {
    thread: std::thread::JoinHandle<Result<AmplifierSummary, SourceError>>,
    stop: Arc<AtomicBool>,
    /// (last stamp of a chunk, LSL clock when it was pushed).
    pushed: Arc<Mutex<Vec<(f64, f64)>>>,
}

impl Amplifier {
    fn start(name: &str, secs: f64) -> Self {
        let amp = VirtualAmplifier {
            sim: SimConfig {
                sample_rate_hz: 250.0,
                scenario: Scenario::Ssvep(SsvepScenario::default()),
                seed: 11,
                ..SimConfig::default()
            },
            name: name.to_string(),
            chunk_frames: 5,
            duration_secs: Some(secs),
            pacing: Pacing::REAL_TIME,
        };
        let pushed = Arc::new(Mutex::new(Vec::<(f64, f64)>::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, flag) = (Arc::clone(&pushed), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            run_virtual_amplifier(&amp, &flag, |_, stamps, _| {
                let now = lsl::local_clock();
                if let (Some(&last), Ok(mut p)) = (stamps.last(), log.lock()) {
                    p.push((last, now));
                }
            })
        });
        Amplifier {
            thread,
            stop,
            pushed,
        }
    }
}

/// neuroloop on the amplifier's stream: plain CCA on the simulator's targets (the loopback
/// times the hops, not the decoder), its decisions on the marker outlet `marker_name`.
fn start_session(amp_name: &str, marker_name: &str) -> anyhow::Result<Session> {
    let targets: Vec<f64> = SsvepScenario::default()
        .targets
        .iter()
        .map(|t| t.freq_hz)
        .collect();
    let spec = ParadigmSpec::Ssvep(SsvepSpec {
        method: SsvepMethod::Cca,
        targets_hz: targets,
        ..SsvepSpec::default()
    });
    let source = SourceSpec::Lsl(LslInletConfig {
        name: Some(amp_name.to_string()),
        resolve_timeout_secs: 10.0,
        ..LslInletConfig::default()
    });
    let config = SessionConfig::new(source)
        .paradigm(&spec, true)?
        .markers(Some(marker_name.to_string()));
    Ok(Session::start(config)?)
}

/// The second inlet, on its own thread (LSL handles stay on the thread that made them):
/// every marker's stamp and the LSL clock when it arrived, until `stop`.
fn read_markers(
    marker_name: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<anyhow::Result<Vec<(f64, f64)>>> {
    std::thread::spawn(move || {
        let found = lsl::resolve_byprop("name", &marker_name, 1, 10.0)
            .map_err(|e| anyhow::anyhow!("resolving the marker stream: {e}"))?;
        let info = found
            .first()
            .context("neuroloop's marker stream is not visible on this machine")?;
        let inlet = lsl::StreamInlet::new(info, 360, 0, true)
            .map_err(|e| anyhow::anyhow!("opening the marker inlet: {e}"))?;
        inlet
            .open_stream(5.0)
            .map_err(|e| anyhow::anyhow!("opening the marker inlet: {e}"))?;
        let mut got = Vec::new();
        let mut buf: Vec<String> = Vec::new();
        while !stop.load(Ordering::Acquire) {
            let ts = inlet
                .pull_sample_buf(&mut buf, 0.05)
                .map_err(|e| anyhow::anyhow!("reading markers: {e}"))?;
            if ts != 0.0 {
                got.push((ts, lsl::local_clock()));
            }
        }
        Ok(got)
    })
}

/// For each received marker, the time from the push of the chunk holding its decision's
/// sample (the first chunk whose last stamp reaches it) to its arrival, ms, sorted.
fn latencies_ms(received: &[(f64, f64)], pushed: &[(f64, f64)]) -> Vec<f64> {
    let mut latencies: Vec<f64> = received
        .iter()
        .filter_map(|&(stamp, at)| {
            let i = pushed.partition_point(|&(last, _)| last < stamp - 1e-6);
            pushed.get(i).map(|&(_, pushed_at)| (at - pushed_at) * 1e3)
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    latencies
}

/// A Python with pylsl: `NEUROLOOP_PYTHON`, else the project's `.venv` in a folder above the
/// executable or in the source tree.
pub(crate) fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEUROLOOP_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv = Path::new(".venv/bin/python");
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|d| d.join(venv))
        .chain(std::iter::once(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(venv),
        ))
        .find(|p| p.is_file())
}

/// The script that times one pylsl hop.
fn pylsl_script() -> Option<PathBuf> {
    project_file(Path::new("scripts/bench/pylsl_hop.py"))
}

/// A file of the project (`rel` from the checkout's root) in a folder above the executable or
/// in the source tree.
pub(crate) fn project_file(rel: &Path) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .skip(1)
        .map(|d| d.join(rel))
        .chain(std::iter::once(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(rel),
        ))
        .find(|p| p.is_file())
}

/// Median pylsl hop (ms), measured by `scripts/bench/pylsl_hop.py`.
fn pylsl_hop() -> anyhow::Result<f64> {
    let py = python().context("no Python found (set NEUROLOOP_PYTHON or run scripts/setup.sh)")?;
    let script = pylsl_script().context("scripts/bench/pylsl_hop.py is not beside this binary")?;
    let out = std::process::Command::new(&py)
        .arg(&script)
        .output()
        .with_context(|| format!("running {}", py.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("reading {}'s output {text:?}", script.display()))?;
    v["p50_ms"]
        .as_f64()
        .with_context(|| format!("no p50_ms in {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 0.999), 100.0);
        assert_eq!(quantile(&[3.0], 0.5), 3.0);
    }
}
