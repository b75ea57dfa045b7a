//! The `neuroloop` binary as a user runs it.

mod common;
use common::neuroloop;

/// The newcomer's command: ten seconds of the simulator through the whole loop in real time,
/// headless, with a summary of counts, drops and latency.
#[test]
fn headless_demo_reports_counts_drops_and_latency() {
    let out = neuroloop()
        .args(["demo", "--headless", "--seconds", "10", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed: {stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["channels"], 8);
    assert_eq!(r["frames_read"], 2500, "10 s at 250 Hz");
    assert_eq!(r["frames_processed"], 2500);
    assert_eq!(r["samples_processed"], 20000);
    assert_eq!(r["frames_dropped"], 0);
    assert_eq!(r["decisions_dropped"], 0);
    // A 2 s window every 0.2 s over 10 s of data: at 2.0, 2.2, ..., 10.0 s.
    assert_eq!(r["decisions"], 41);
    let lat = &r["latency_from_sample"];
    assert_eq!(lat["count"], 41);
    assert!(lat["p50_ms"].as_f64().unwrap() > 0.0);
    assert!(lat["p99_ms"].as_f64().unwrap() >= lat["p50_ms"].as_f64().unwrap());
    let d = &r["decoders"][0];
    assert_eq!(d["name"], "ssvep-fbcca");
    let (scored, correct) = (
        d["scored"].as_u64().unwrap(),
        d["correct"].as_u64().unwrap(),
    );
    assert!(scored >= 10, "{scored} decisions inside trials");
    // Chance is 25 %; ten seconds hold only a few trials (accuracy is checked below).
    assert!(correct as f64 >= 0.5 * scored as f64, "{correct}/{scored}");
}

/// Ten simulated minutes of SSVEP trials: filter-bank CCA clearly beats plain CCA.
#[test]
fn fbcca_beats_cca_on_ten_simulated_minutes() {
    let accuracy = |method: &str| {
        let out = neuroloop()
            .args([
                "demo",
                "--headless",
                "--seconds",
                "600",
                "--speed",
                "max",
                "--json",
            ])
            .args(["--markers", "none", "--ssvep-method", method])
            .output()
            .unwrap();
        let r: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out, method)).unwrap();
        let d = &r["decoders"][0];
        let scored = d["scored"].as_u64().unwrap();
        // A 2-s window every 0.2 s lies inside a 4-s trial from the onset to 2 s later.
        assert_eq!(scored, 1320, "120 trials, 11 windows each inside the trial");
        d["correct"].as_u64().unwrap() as f64 / scored as f64
    };
    let (cca, fbcca) = (accuracy("cca"), accuracy("fbcca"));
    println!(
        "simulator, 2-s windows: CCA {:.1} %, FBCCA {:.1} %",
        100.0 * cca,
        100.0 * fbcca
    );
    assert!(fbcca >= 0.8, "FBCCA {fbcca}");
    assert!(fbcca > cca + 0.1, "FBCCA {fbcca} vs CCA {cca}");
}

/// Max speed is deterministic and far faster than real time.
#[test]
fn max_speed_demo_is_reproducible() {
    let run = || {
        let out = neuroloop()
            .args([
                "demo",
                "--headless",
                "--seconds",
                "60",
                "--speed",
                "max",
                "--json",
                "--markers",
                "none",
            ])
            .output()
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&common::stdout_ok(&out, "replay")).unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(a["frames_processed"], 15000);
    assert_eq!(a["decisions"], b["decisions"]);
    assert_eq!(a["decoders"], b["decoders"]);
    assert!(
        a["latency_from_sample"].is_null(),
        "virtual stamps are not latencies"
    );
    assert!(a["real_time_factor"].as_f64().unwrap() > 5.0);
}

#[test]
fn bad_arguments_get_a_clear_error() {
    let out = neuroloop()
        .args(["demo", "--headless", "--speed", "fast"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--speed fast"), "{err}");
    let out = neuroloop().args(["simulate"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lsl"));
}

#[test]
fn missing_lsl_stream_is_named_in_the_error() {
    let out = neuroloop()
        .args([
            "run",
            "--stream",
            "no-such-amplifier",
            "--resolve-timeout-secs",
            "1",
            "--headless",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-amplifier"), "{err}");
    assert!(err.contains("neuroloop simulate --lsl"), "{err}");
}

/// What a recorded run decided: the number of decision markers and an FNV-1a digest of their
/// texts (maximum-speed runs carry no latency in their markers, so the texts are exact).
fn decision_digest(record: &std::path::Path) -> (usize, u64) {
    let xdf = neuroloop_formats::xdf::read(record).unwrap();
    let decisions = xdf
        .streams
        .iter()
        .find(|s| s.header.name == "neuroloop-decisions")
        .expect("a decisions stream");
    let neuroloop_formats::xdf::XdfValues::String(texts) = &decisions.values else {
        panic!("decisions are text markers")
    };
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in texts.iter().flat_map(|t| t.bytes().chain([b'\n'])) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    (texts.len(), hash)
}

/// A headless demo at maximum speed with `args`, recorded; what it decided.
fn demo_decisions(tag: &str, args: &[&str]) -> (usize, u64) {
    let dir = common::temp_dir("paradigm-flags");
    let record = dir.join(format!("{tag}.xdf"));
    common::record_demo(&record, args);
    let digest = decision_digest(&record);
    std::fs::remove_file(&record).ok();
    digest
}

/// `--paradigm` and a paradigm's own flags build the same spec, and the examples of the
/// documentation decide exactly what they decided before the paradigm spec existed (the
/// digests were taken from the same commands run by the binary before it: the old flags, and
/// for sleep the 1 Hz high-pass and no trigger lookahead those commands used then; the sleep
/// paradigm's one set of defaults is now 0.1 Hz and 50 ms, as `neuroloop sleep` had).
#[test]
fn paradigm_flags_decide_as_the_old_flags_did() {
    let shipped = |card: &str| format!("{}/../assets/models/{card}", env!("CARGO_MANIFEST_DIR"));
    let ssvep_net = shipped("ssvep-net.toml");
    // (name, the old flags, the same with --paradigm, the old binary's decisions)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>, (usize, u64));
    let cases: Vec<Case<'_>> = vec![
        (
            "fbcca",
            vec!["--seconds", "60"],
            vec!["--seconds", "60", "--paradigm", "ssvep"],
            SSVEP_FBCCA_60S,
        ),
        (
            "cca",
            vec!["--seconds", "60", "--ssvep-method", "cca"],
            vec![
                "--seconds",
                "60",
                "--paradigm",
                "ssvep",
                "--ssvep-method",
                "cca",
            ],
            SSVEP_CCA_60S,
        ),
        (
            "sleep",
            vec![
                "--seconds",
                "600",
                "--scenario",
                "sleep",
                "--spindles",
                "--spindle-channel",
                "Cz",
                "--so-triggers",
                "--so-channel",
                "Fz",
                "--highpass-hz",
                "1",
                "--lookahead-ms",
                "0",
            ],
            vec![
                "--seconds",
                "600",
                "--paradigm",
                "sleep",
                "--stim-on",
                "none",
                "--spindle-channel",
                "Cz",
                "--so-channel",
                "Fz",
                "--highpass-hz",
                "1",
                "--lookahead-ms",
                "0",
            ],
            SLEEP_600S,
        ),
        (
            "ssvep-net",
            vec![
                "--seconds",
                "120",
                "--ssvep-model",
                &ssvep_net,
                "--targets",
                "13,17,21",
                "--channels",
                "64",
                "--rate-hz",
                "256",
            ],
            vec![
                "--seconds",
                "120",
                "--paradigm",
                "ssvep",
                "--ssvep-model",
                &ssvep_net,
                "--targets",
                "13,17,21",
                "--channels",
                "64",
                "--rate-hz",
                "256",
            ],
            SSVEP_NET_120S,
        ),
    ];
    for (tag, old, new, golden) in cases {
        let before = demo_decisions(&format!("{tag}-old"), &old);
        let after = demo_decisions(&format!("{tag}-new"), &new);
        assert_eq!(before, after, "{tag}: --paradigm and the old flags differ");
        assert_eq!(before, golden, "{tag}: the decisions changed");
        assert!(before.0 > 0, "{tag} decided nothing");
    }
}

// Taken with the binary before the paradigm spec (`neuroloop demo --headless --speed max
// --markers none --record F.xdf` with the old flags of each case above).
const SSVEP_FBCCA_60S: (usize, u64) = (291, 0xc933_337c_e87e_5511);
const SSVEP_CCA_60S: (usize, u64) = (291, 0x2660_efcc_53d4_4fe8);
const SLEEP_600S: (usize, u64) = (124, 0x19af_0cda_cddf_5fdf);
// The network's digest was taken again when ssvep-net became FBCCA over window starts (the
// decisions of its new graph; old and new flags still agree).
const SSVEP_NET_120S: (usize, u64) = (24, 0x4fd7_d85e_f87d_2bd6);

/// Ctrl-C in a session's window stops the session in order, as closing the window does: the
/// report is printed, the exit code is 0 and the recording is closed with its footers.
#[test]
fn ctrl_c_in_a_window_stops_the_session_and_closes_its_recording() {
    if !common::display_or_skip() {
        return;
    }
    let dir = common::temp_dir("ctrl-c-window");
    let rec = dir.join("session.xdf");
    let mut child = neuroloop()
        .args(["demo", "--markers", "none", "--record"])
        .arg(&rec)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The window is up and recording once the file has grown past its header.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(&rec).map_or(0, |m| m.len()) < 20_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "no recording after 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // Long enough for the first 2-s windows to be decided.
    std::thread::sleep(std::time::Duration::from_secs(4));
    let kill = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().ok();
            panic!("the window was still open 30 s after Ctrl-C");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let text = common::stdout_ok(&out, "demo stopped by Ctrl-C");
    let frames: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("recording "))
        .and_then(|l| l.split_once(" ("))
        .and_then(|(_, l)| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no recording line:\n{text}"));
    let xdf = neuroloop_formats::xdf::read(&rec).unwrap();
    let eeg = xdf
        .streams
        .iter()
        .find(|s| s.header.channel_count == 8)
        .expect("the EEG stream");
    assert!(
        eeg.footer.is_some(),
        "the recording was closed with footers"
    );
    assert_eq!(eeg.timestamps_s.len(), frames, "{text}");
    assert!(frames >= 250, "{frames} frames recorded");
    // The session's summary is saved beside its recording.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("session.summary.json")).unwrap()).unwrap();
    assert_eq!(summary["recordings"][0]["frames"], frames as u64);
    assert_eq!(summary["frames_processed"], frames as u64);
    assert!(summary["decisions"].as_u64().unwrap() > 0);
    assert!(text.contains("session.summary.json"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}
