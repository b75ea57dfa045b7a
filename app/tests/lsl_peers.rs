//! The LSL tools researchers already run, as sources: MNE-LSL's `PlayerLSL` (the most used
//! Python LSL tool) publishes a recording as a stream of type `eeg`, in volts; `neuroloop run`
//! finds it by name with no `--type`, reads its channels in microvolts, and decodes it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::neuroloop;
use neuroloop_tests::python_with;

/// Plays 60 s of an 8-channel occipital montage at 256 Hz with a 12 Hz SSVEP (5 µV, in volts
/// as MNE keeps it) through `PlayerLSL` named `name`; prints `ready` once it streams.
const PLAYER: &str = r#"
import sys, time
import numpy as np
import mne
from mne_lsl.player import PlayerLSL
name = sys.argv[1]
sfreq = 256.0
t = np.arange(int(60 * sfreq)) / sfreq
chs = ["Oz", "O1", "O2", "PO3", "POz", "PO7", "PO8", "PO4"]
rng = np.random.default_rng(1)
data = np.array([5e-6 * np.sin(2 * np.pi * 12 * t) + 2e-6 * rng.standard_normal(t.size) for _ in chs])
raw = mne.io.RawArray(data, mne.create_info(chs, sfreq, "eeg"), verbose=False)
player = PlayerLSL(raw, chunk_size=8, name=name)
player.start()
print("ready", flush=True)
sys.stdin.read()
player.stop()
"#;

#[test]
fn mne_lsl_player_is_found_by_name_and_decoded_with_no_type_given() {
    let Some(py) = python_with(&["mne_lsl", "mne"]) else {
        return;
    };
    let name = format!("mne-player-{}", std::process::id());
    let mut player = Command::new(py)
        .args(["-c", PLAYER, &name])
        .env(
            "LSLAPICFG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/lsl_api.cfg"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the MNE-LSL player starts");
    let mut ready = String::new();
    BufReader::new(player.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    assert_eq!(ready.trim(), "ready", "the player did not start");
    let dir = common::temp_dir("mne-lsl");
    let record = dir.join("player.xdf");
    let out = neuroloop()
        .args([
            "run",
            "--stream",
            &name,
            "--headless",
            "--seconds",
            "8",
            "--json",
        ])
        .args([
            "--markers",
            "none",
            "--paradigm",
            "ssvep",
            "--targets",
            "9,12,15",
        ])
        .arg("--record")
        .arg(&record)
        .output()
        .unwrap();
    drop(player.stdin.take());
    let _ = player.wait();
    let stdout = common::stdout_ok(&out, "neuroloop run on the MNE-LSL player");
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["channels"], 8, "{r}");
    assert_eq!(r["sample_rate_hz"], 256.0);
    assert!(r["frames_processed"].as_u64().unwrap() > 256 * 5, "{r}");
    let decisions = r["decisions"].as_u64().unwrap();
    assert!(decisions >= 10, "{decisions} decisions");
    // The player's volts arrive as microvolts (a 5 µV sine in 2 µV noise: RMS about 4), and
    // the 12 Hz flicker wins most decisions.
    let xdf = neuroloop_formats::xdf::read(&record).unwrap();
    let eeg = xdf
        .stream_by_name(&name)
        .expect("the EEG stream is recorded");
    let oz = eeg.channel_f64(0).unwrap();
    let rms = (oz.iter().map(|v| v * v).sum::<f64>() / oz.len() as f64).sqrt();
    assert!((2.0..8.0).contains(&rms), "Oz RMS {rms} µV");
    let texts = xdf.stream_by_name("neuroloop-decisions").unwrap();
    let twelve = (0..texts.sample_count())
        .filter(|&i| texts.value_str(i, 0).unwrap().contains("class=12Hz"))
        .count();
    assert!(
        2 * twelve > texts.sample_count(),
        "{twelve} of {} at 12 Hz",
        texts.sample_count()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A stimulus program's marker stream read beside a live EEG stream (here the simulator's, with
/// its ground truth on `NAME-truth`): the network decides at each onset it marks and every
/// decision is scored against it; without the marker stream, or with one that is not there,
/// the session is refused with the fix.
#[test]
fn an_onset_locked_network_decodes_a_live_stream_at_its_marker_stream_s_onsets() {
    if !common::onnx_runtime() {
        return;
    }
    let card = neuroloop_decoders::onnx::shipped_models_dir().join("ssvep-net.toml");
    let card = card.to_str().unwrap();
    let name = format!("sim-markers-{}", std::process::id());
    let err = common::run_err(&[
        "run",
        "--stream",
        &name,
        "--headless",
        "--ssvep-model",
        card,
    ]);
    assert!(err.contains("--marker-stream NAME"), "{err}");
    let mut sim = neuroloop()
        .args([
            "simulate",
            "--lsl",
            "--name",
            &name,
            "--channels",
            "64",
            "--rate-hz",
            "256",
            "--targets",
            "13,17,21",
            "--seconds",
            "40",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the simulator starts");
    let err = common::run_err(&[
        "run",
        "--stream",
        &name,
        "--headless",
        "--resolve-timeout-secs",
        "2",
        "--ssvep-model",
        card,
        "--marker-stream",
        "no-such-markers",
    ]);
    assert!(err.contains("no-such-markers"), "{err}");
    let out = neuroloop()
        .args([
            "run",
            "--stream",
            &name,
            "--headless",
            "--seconds",
            "16",
            "--json",
            "--markers",
            "none",
            "--ssvep-model",
            card,
            "--marker-stream",
        ])
        .arg(format!("{name}-truth"))
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &r["decoders"][0];
    let (decisions, scored, correct) = (
        d["decisions"].as_u64().unwrap(),
        d["scored"].as_u64().unwrap(),
        d["correct"].as_u64().unwrap(),
    );
    println!("live with a marker stream: {correct}/{scored} of {decisions} decisions");
    // 5-s trials, one decision 2 s after each onset.
    assert!(decisions >= 2, "{d}");
    assert_eq!(scored, decisions, "{d}");
    assert!(correct * 5 >= scored * 4, "{d}");
}
