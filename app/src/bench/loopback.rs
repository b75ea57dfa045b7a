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
use neuroloop_acquisition::lsl_io::{LslInletConfig, VirtualAmplifier, run_virtual_amplifier};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use serde::Serialize;

use crate::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use crate::pipeline::FrontEnd;
use crate::session::{Session, SessionConfig, SourceSpec};

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
    let scenario = SsvepScenario::default();
    let targets: Vec<f64> = scenario.targets.iter().map(|t| t.freq_hz).collect();
    let amp = VirtualAmplifier {
        sim: SimConfig {
            sample_rate_hz: 250.0,
            scenario: Scenario::Ssvep(scenario),
            seed: 11,
            ..SimConfig::default()
        },
        name: amp_name.clone(),
        chunk_frames: 5,
        duration_secs: Some(secs),
        pacing: Pacing::REAL_TIME,
    };
    // (last stamp of a chunk, LSL clock when it was pushed), filled by the amplifier thread.
    let pushed = Arc::new(Mutex::new(Vec::<(f64, f64)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let amp_thread = {
        let (pushed, stop) = (Arc::clone(&pushed), Arc::clone(&stop));
        std::thread::spawn(move || {
            run_virtual_amplifier(&amp, &stop, |_, stamps, _| {
                let now = lsl::local_clock();
                if let (Some(&last), Ok(mut p)) = (stamps.last(), pushed.lock()) {
                    p.push((last, now));
                }
            })
        })
    };
    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig {
        targets_hz: targets,
        ..SsvepCcaConfig::default()
    });
    let info = DecoderInfo::of(&decoder, TruthMapping::None);
    let session = Session::start(SessionConfig {
        source: SourceSpec::Lsl(LslInletConfig {
            name: Some(amp_name),
            resolve_timeout_secs: 10.0,
            ..LslInletConfig::default()
        }),
        front_end: FrontEnd::default(),
        decoders: vec![(Box::new(decoder), info)],
        outputs: OutputConfig {
            marker_stream: Some(marker_name.clone()),
            record: None,
            clocked: true,
            stim_trigger: None,
        },
        ring_secs: 4.0,
        with_scope: false,
        stimulation: None,
    });
    let session = match session {
        Ok(s) => s,
        Err(e) => {
            stop.store(true, Ordering::Release);
            let _ = amp_thread.join();
            return Err(e).context("starting a session on the loopback amplifier");
        }
    };
    // The second inlet, on its own thread (LSL handles stay on the thread that made them).
    let receiver_stop = Arc::new(AtomicBool::new(false));
    let receiver = {
        let stop = Arc::clone(&receiver_stop);
        std::thread::spawn(move || -> anyhow::Result<Vec<(f64, f64)>> {
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
    };
    let amp_result = amp_thread.join();
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
    let pushed = pushed
        .lock()
        .map_err(|_| anyhow::anyhow!("push log poisoned"))?
        .clone();
    let mut latencies: Vec<f64> = received
        .iter()
        .filter_map(|&(stamp, at)| {
            // The chunk holding the decision's sample: the first whose last stamp reaches it.
            let i = pushed.partition_point(|&(last, _)| last < stamp - 1e-6);
            pushed.get(i).map(|&(_, pushed_at)| (at - pushed_at) * 1e3)
        })
        .collect();
    if latencies.is_empty() {
        bail!("no decision marker came back over LSL");
    }
    latencies.sort_by(f64::total_cmp);
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

/// A Python with pylsl: `NEUROLOOP_PYTHON`, else the project's `.venv` in a folder above the
/// executable or in the source tree.
fn python() -> Option<PathBuf> {
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
    let rel = Path::new("scripts/bench/pylsl_hop.py");
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
