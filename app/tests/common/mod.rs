//! Helpers shared by the binary's integration tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `neuroloop` binary under test, with the single-machine LSL configuration unless the
/// caller set one.
#[allow(dead_code)] // not every test binary runs the binary
pub fn neuroloop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neuroloop"));
    if std::env::var_os("LSLAPICFG").is_none() {
        c.env(
            "LSLAPICFG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/lsl_api.cfg"),
        );
    }
    c
}

/// A folder of the shared data (`NEUROLOOP_DATA_DIR`, default `../shared/data` beside the
/// repository), or `None` after saying loudly that the test is skipped.
#[allow(dead_code)] // not every test binary reads shared data
pub fn data_dir(what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("NEUROLOOP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let path = dir.join(what);
    if path.exists() {
        Some(path)
    } else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: data `{}` not found; set NEUROLOOP_DATA_DIR to the shared data folder ***\n",
            path.display()
        );
        None
    }
}

/// A fresh folder under the system's temporary directory, named after `tag` and this test
/// process.
#[allow(dead_code)] // not every test binary writes files
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuroloop-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The standard output of a finished run of the binary, which must have succeeded (`what`
/// names the run in the failure message, with both outputs).
#[allow(dead_code)] // not every test binary runs the binary
pub fn stdout_ok(out: &std::process::Output, what: &str) -> String {
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Runs the binary with `args`, which must succeed; returns its standard output.
#[allow(dead_code)] // not every test binary runs the binary
pub fn run_ok(args: &[&str]) -> String {
    let out = neuroloop().args(args).output().unwrap();
    stdout_ok(&out, &format!("neuroloop {args:?}"))
}

/// Records a headless `neuroloop demo` at full speed, without LSL markers, to `out`, with
/// `args` added (scenario, seconds, targets…); returns its standard output.
#[allow(dead_code)] // not every test binary records a demo
pub fn record_demo(out: &Path, args: &[&str]) -> String {
    let out = out.to_str().expect("a UTF-8 path");
    let mut all = vec![
        "demo",
        "--headless",
        "--speed",
        "max",
        "--markers",
        "none",
        "--record",
        out,
    ];
    all.extend_from_slice(args);
    run_ok(&all)
}

/// Records `seconds` of the simulated user looking at the 40 benchmark speller targets in
/// turn (6 µV responses) to `out`: a calibration for `neuroloop ssvep fit`.
#[allow(dead_code)] // not every test binary fits a speller
pub fn record_benchmark_calibration(out: &Path, seconds: u32) {
    let targets = neuroloop::speller::SpellerLayout::benchmark()
        .freqs_hz()
        .iter()
        .map(|f| format!("{f:.1}"))
        .collect::<Vec<_>>()
        .join(",");
    let seconds = seconds.to_string();
    record_demo(
        out,
        &[
            "--seconds",
            &seconds,
            "--targets",
            &targets,
            "--ssvep-uv",
            "6",
        ],
    );
}

/// Runs the binary with `args`, which must fail; returns its standard error.
#[allow(dead_code)] // not every test binary runs the binary
pub fn run_err(args: &[&str]) -> String {
    let out = neuroloop().args(args).output().unwrap();
    assert!(!out.status.success(), "neuroloop {args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `(stamp, marker text)` of every decision in a session recording.
#[allow(dead_code)] // not every test binary records
pub fn decision_markers(path: &Path) -> Vec<(f64, String)> {
    let xdf = neuroloop_formats::xdf::read(path).unwrap();
    let stream = xdf.stream_by_name("neuroloop-decisions").unwrap();
    (0..stream.sample_count())
        .map(|i| {
            (
                stream.timestamps_s[i],
                stream.value_str(i, 0).unwrap().to_string(),
            )
        })
        .collect()
}

/// The value of `key=` in a marker such as `name class=x score=0.5`.
#[allow(dead_code)] // not every test binary reads markers
pub fn marker_field<'a>(text: &'a str, key: &str) -> &'a str {
    text.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in `{text}`"))
}

/// Whether a display is available for a real window; says loudly that the test is skipped
/// when it is not.
#[allow(dead_code)] // not every test binary opens a window
pub fn display_or_skip() -> bool {
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        eprintln!("SKIPPED: no DISPLAY (the CI runs the tests under xvfb-run)");
        false
    } else {
        true
    }
}

/// Whether ONNX Runtime loads here; says loudly that the test is skipped when it does not.
#[allow(dead_code)] // not every test binary runs a network
pub fn onnx_runtime() -> bool {
    match neuroloop_decoders::onnx::init() {
        Ok(_) => true,
        Err(e) => {
            eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
            false
        }
    }
}

/// Writes an XDF recording: one EEG stream (`labels` at `rate_hz`, interleaved `values`, one
/// stamp per frame, written in chunks of 64 frames as a recorder would) and one marker stream
/// of (stamp, text).
#[allow(dead_code)] // not every test binary writes recordings
pub fn write_eeg_xdf(
    path: &Path,
    labels: &[String],
    rate_hz: f64,
    values: &[f32],
    stamps: &[f64],
    markers: &[(f64, String)],
) {
    use neuroloop_formats::xdf::{ChannelFormat, StreamHeader, XdfWriter};
    let ch = labels.len();
    let mut w = XdfWriter::create(path).unwrap();
    let eeg = w
        .add_stream(
            &StreamHeader::new("amp", "EEG", ch as u32, rate_hz, ChannelFormat::Float32)
                .with_channel_labels(labels),
        )
        .unwrap();
    let stream = w
        .add_stream(&StreamHeader::new(
            "stim",
            "Markers",
            1,
            0.0,
            ChannelFormat::String,
        ))
        .unwrap();
    for start in (0..stamps.len()).step_by(64) {
        let end = (start + 64).min(stamps.len());
        w.write_samples(eeg, &values[start * ch..end * ch], &stamps[start..end])
            .unwrap();
    }
    for (at, text) in markers {
        w.write_samples(stream, &[text.as_str()][..], &[*at])
            .unwrap();
    }
    w.finish().unwrap();
}
