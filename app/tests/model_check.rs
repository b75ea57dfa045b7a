//! `neuroloop model check`: the shipped cards pass (graph = card, paradigm loader, golden
//! outputs, probabilities, timing beside onnxruntime's Python API); broken cards and data that
//! does not fit are named with the fix.

use std::path::{Path, PathBuf};

mod common;

fn shipped(card: &str) -> PathBuf {
    neuroloop_decoders::onnx::shipped_models_dir().join(card)
}

/// The small network exported from PyTorch (braindecode's EEGNet) that the repository keeps
/// as a worked example of a card from elsewhere.
fn example_card() -> PathBuf {
    neuroloop_decoders::onnx::shipped_models_dir().join("../examples/eegnet-mi.toml")
}

/// A copy of a shipped card and its graph in `dir`, the card's text edited by `edit`.
fn edited(dir: &Path, card: &str, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(shipped(card)).unwrap();
    let onnx = card.replace(".toml", ".onnx");
    std::fs::copy(shipped(&onnx), dir.join(&onnx)).unwrap();
    let out = dir.join(card);
    let changed = edit(&text);
    assert_ne!(changed, text, "the edit changed nothing");
    std::fs::write(&out, changed).unwrap();
    out
}

#[test]
fn every_shipped_card_checks_out_and_is_timed_beside_python() {
    if !common::onnx_runtime() {
        return;
    }
    let python = std::env::var_os("NEUROLOOP_PYTHON").is_some();
    let mut cards: Vec<PathBuf> = ["mi-net.toml", "spindle-net.toml", "ssvep-net.toml"]
        .into_iter()
        .map(shipped)
        .collect();
    // The network exported from PyTorch by scripts/examples/braindecode_mi.sh.
    cards.push(example_card());
    for path in cards {
        let card = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = common::neuroloop()
            .args(["model", "check", "--calls", "200", "--json"])
            .arg(&path)
            .output()
            .unwrap();
        let text = common::stdout_ok(&out, &format!("model check {card}"));
        let r: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(r["problems"].as_array().unwrap().len(), 0, "{card}: {text}");
        assert_eq!(r["golden"]["matches"], true, "{card}");
        assert_eq!(r["golden"]["outputs_are_probabilities"], true, "{card}");
        assert_eq!(r["graph"]["inputs"][0], r["declared_input"], "{card}");
        assert_eq!(r["timing"]["calls"], 200);
        let median = r["timing"]["median_ms"].as_f64().unwrap();
        assert!(median > 0.0 && median <= r["timing"]["p99_ms"].as_f64().unwrap());
        assert!(r["provenance"]["influenced"].as_array().unwrap().len() >= 5);
        assert!(!r["provenance"]["note"].as_str().unwrap().is_empty());
        if python {
            // CI runs with the project's Python, where setup installs onnxruntime.
            assert_eq!(r["python"]["calls"], 200, "{card}: {}", r["python_skipped"]);
            let ratio = r["ratio"].as_f64().unwrap();
            assert!(ratio.is_finite() && ratio > 0.0);
            println!(
                "{card}: median {median:.3} ms, onnxruntime (Python) {:.3} ms, ratio {ratio:.2}",
                r["python"]["median_ms"].as_f64().unwrap()
            );
        }
    }
    // The plain text names each step.
    let text = common::run_ok(&[
        "model",
        "check",
        "--no-python",
        "--calls",
        "20",
        shipped("mi-net.toml").to_str().unwrap(),
    ]);
    for line in [
        "paradigm: motor imagery",
        "card declares: input window [1, 21, 320], output probability [1, 2]",
        "paradigm loader: loads as the paradigm loads it",
        "(match), outputs are probabilities",
        "inference in neuroloop: median",
        "Python comparison skipped: --no-python",
        "ok",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
}

#[test]
fn broken_cards_are_named_with_the_fix() {
    if !common::onnx_runtime() {
        return;
    }
    let dir = common::temp_dir("model-check");
    let check = |card: &Path| {
        let out = common::neuroloop()
            .args(["model", "check", "--no-python", "--calls", "10"])
            .arg(card)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{} should fail", card.display());
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    // (card, text replaced, replacement, what the check must say)
    let cases = [
        (
            "mi-net.toml",
            "shape = [1, 21, 320]",
            "shape = [1, 21, 300]",
            "PROBLEM: ONNX model",
        ),
        (
            "mi-net.toml",
            "shape = [1, 21, 320]",
            "shape = [1, 21, 300]",
            "its input is window [1, 21, 320] but its card says window [1, 21, 300]",
        ),
        (
            "mi-net.toml",
            "window_secs = 2.0",
            "window_secs = 1.5",
            "is not [1, channels, window samples]",
        ),
        (
            "mi-net.toml",
            "[mi]",
            "[mi_settings]",
            "unknown field `mi_settings`",
        ),
        (
            "ssvep-net.toml",
            "outputs = [",
            "outputs = [0.0123, ",
            "differ from the card's [golden]",
        ),
        (
            "spindle-net.toml",
            "name = \"probability\"",
            "name = \"logits\"",
            "named [\"probability\"]",
        ),
        (
            "mi-net.toml",
            "held_out = []",
            "held_out = [\"EEGMMIDB S001R03\"]",
            "\"EEGMMIDB S001R03\" both as influenced and as held_out",
        ),
    ];
    for (k, (card, from, to, expected)) in cases.into_iter().enumerate() {
        let case = dir.join(format!("case{k}"));
        std::fs::create_dir_all(&case).unwrap();
        let path = edited(&case, card, |t| t.replacen(from, to, 1));
        let text = check(&path);
        assert!(
            text.contains(expected),
            "case {k}: {expected:?} missing from:\n{text}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_recording_is_said_to_fit_or_not_with_what_to_change() {
    if !common::onnx_runtime() {
        return;
    }
    let (Some(mi), Some(dreams)) = (
        common::data_dir("mi_eegmmidb_S002"),
        common::data_dir("spindles_dreams"),
    ) else {
        return;
    };
    let card = shipped("mi-net.toml");
    let args = |file: &Path| {
        vec![
            "model".to_string(),
            "check".into(),
            "--no-python".into(),
            "--calls".into(),
            "10".into(),
            card.display().to_string(),
            "--file".into(),
            file.display().to_string(),
        ]
    };
    let fits = args(&mi.join("S002R04.edf"));
    let text = common::run_ok(&fits.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        text.contains("fits — the motor imagery decoder reads 21 of its 64 channels at 160 Hz"),
        "{text}"
    );
    let wrong = args(&dreams.join("excerpt3.edf"));
    let out = common::neuroloop().args(&wrong).output().unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("does NOT fit — the stream runs at 50 Hz but this motor-imagery model takes 160 Hz: set the amplifier to 160 Hz"),
        "{text}"
    );
    // The spindle network finds its channel by name in the PSG.
    let text = common::run_ok(&[
        "model",
        "check",
        "--no-python",
        "--calls",
        "10",
        shipped("spindle-net.toml").to_str().unwrap(),
        "--file",
        dreams.join("excerpt3.edf").to_str().unwrap(),
    ]);
    assert!(
        text.contains("reads 1 of its 15 channels at 50 Hz: C3-A1"),
        "{text}"
    );
}

/// `neuroloop speller --ssvep-model CARD` on the simulator: the simulated user takes the card's
/// rate and channels (256 Hz, the occipital eight), so the shipped network runs there (the
/// simulator's own 250 Hz would be refused) and every flicker is decided. (Here, not beside
/// the speller's timing-sensitive tests: its real window takes a core for a few seconds.)
#[test]
fn the_speller_command_runs_a_network_card_on_the_simulator() {
    if !common::display_or_skip() {
        return;
    }
    if !common::onnx_runtime() {
        return;
    }
    let card = neuroloop_decoders::onnx::shipped_models_dir().join("ssvep-net.toml");
    let out = common::run_ok(&[
        "speller",
        "--targets",
        "13,17,21",
        "--keys",
        "ABC",
        "--phrase",
        "CA",
        "--cue-secs",
        "0.5",
        "--stim-secs",
        "2.5",
        "--markers",
        "none",
        "--ssvep-model",
        card.to_str().unwrap(),
    ]);
    assert!(
        out.contains("in 2 flickers, 0 without a selection (ssvep-net)"),
        "{out}"
    );
}
