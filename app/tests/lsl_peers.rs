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
