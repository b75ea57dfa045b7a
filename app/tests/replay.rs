//! `neuroloop replay`: recorded files through the live pipeline.

use std::path::Path;

use neuroloop_acquisition::sim::{Scenario, SimConfig, Simulator, SsvepScenario};
use neuroloop_formats::xdf::{ChannelFormat, StreamHeader, XdfWriter};

mod common;
use common::{neuroloop, temp_dir};

/// Thirty seconds of simulated SSVEP trials written as an XDF file, stamped from 1000 s with
/// a little clock jitter, as LabRecorder would store them.
fn write_fixture(path: &Path) {
    write_fixture_with(path, |_, _| {});
}

/// As [`write_fixture`], letting `damage(chunk, frames)` alter each 25-frame chunk before it is
/// written.
fn write_fixture_with(path: &Path, damage: impl Fn(usize, &mut [f32])) {
    let cfg = SimConfig {
        scenario: Scenario::Ssvep(SsvepScenario::default()),
        seed: 11,
        ..SimConfig::default()
    };
    let labels = cfg.channel_labels.clone();
    let mut sim = Simulator::new(cfg).unwrap();
    let mut w = XdfWriter::create(path).unwrap();
    let id = w
        .add_stream(
            &StreamHeader::new(
                "sim-eeg",
                "EEG",
                labels.len() as u32,
                250.0,
                ChannelFormat::Float32,
            )
            .with_channel_labels(&labels),
        )
        .unwrap();
    let mut frame = vec![0.0f32; 25 * labels.len()];
    for chunk in 0..300 {
        sim.generate(&mut frame);
        damage(chunk, &mut frame);
        let stamps: Vec<f64> = (0..25)
            .map(|i| 1000.0 + (chunk * 25 + i) as f64 / 250.0 + ((i * 7) % 5) as f64 * 1e-5)
            .collect();
        w.write_samples(id, &frame, &stamps).unwrap();
    }
    w.finish().unwrap();
}

/// A headless replay decoding SSVEP (the fixtures are SSVEP sessions; replay itself only
/// monitors unless told), its report.
fn replay_json(file: &Path, extra: &[&str]) -> serde_json::Value {
    let out = neuroloop()
        .arg("replay")
        .arg(file)
        .args([
            "--headless",
            "--json",
            "--markers",
            "none",
            "--paradigm",
            "ssvep",
        ])
        .args(extra)
        .output()
        .unwrap();
    serde_json::from_str(&common::stdout_ok(&out, "replay")).unwrap()
}

/// Runs a replay that must fail and returns what it printed on stderr.
fn replay_error(file: &Path, extra: &[&str]) -> String {
    let out = neuroloop()
        .arg("replay")
        .arg(file)
        .arg("--headless")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "replay of {} should fail",
        file.display()
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn max_speed_replay_is_lossless_and_bit_reproducible() {
    let dir = temp_dir("det");
    let file = dir.join("session.xdf");
    write_fixture(&file);
    let a = replay_json(&file, &["--speed", "max"]);
    let b = replay_json(&file, &["--speed", "max"]);
    assert_eq!(a["frames_read"], 7500);
    assert_eq!(a["frames_processed"], 7500);
    assert_eq!(a["frames_dropped"], 0);
    assert_eq!(a["channels"], 8);
    // 2-s windows every 0.2 s over 30 s: (30 - 2) / 0.2 + 1 decisions.
    assert_eq!(a["decisions"], 141);
    assert_eq!(a["decoders"], b["decoders"]);
    assert_eq!(a["decisions"], b["decisions"]);
    assert!(a["real_time_factor"].as_f64().unwrap() > 5.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn paced_replay_makes_the_same_decisions_and_measures_latency() {
    // The pipeline sees the same samples in the same windows whatever the pacing.
    let dir = temp_dir("speed");
    let file = dir.join("session.xdf");
    write_fixture(&file);
    let fast = replay_json(&file, &["--speed", "max"]);
    let paced = replay_json(&file, &["--speed", "20"]);
    assert_eq!(paced["frames_processed"], 7500);
    assert_eq!(paced["frames_dropped"], 0);
    assert_eq!(paced["decisions"], fast["decisions"]);
    // Paced replays stamp samples on the live clock, so latency is measured.
    assert!(paced["latency_from_sample"]["count"].as_u64().unwrap() > 100);
    // Every chunk's release was timed against the file clock (10 ms at 250 Hz rounds to
    // 3-frame chunks: 2500 of them).
    assert_eq!(paced["delivery_lag"]["count"], 2500);
    assert!(
        fast["delivery_lag"].is_null(),
        "virtual stamps at max speed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_files_get_an_error_naming_the_file_and_the_problem() {
    let dir = temp_dir("bad");
    let missing = dir.join("nope.xdf");
    let err = replay_error(&missing, &[]);
    assert!(err.contains("nope.xdf"), "{err}");

    let garbage = dir.join("garbage.edf");
    std::fs::write(&garbage, b"0       this is not an EDF header").unwrap();
    let err = replay_error(&garbage, &[]);
    assert!(err.contains("garbage.edf"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let file = dir.join("session.xdf");
    write_fixture(&file);
    let err = replay_error(&file, &["--channels", "Oz,Xx"]);
    assert!(err.contains("no channel `Xx`"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The DREAMS spindle excerpt (30 min of PSG at 50 Hz) through the pipeline at maximum speed.
#[test]
fn dreams_excerpt_replays_at_many_times_real_time() {
    let Some(dir) = common::data_dir("spindles_dreams") else {
        return;
    };
    let r = replay_json(&dir.join("excerpt3.edf"), &["--speed", "max"]);
    assert_eq!(r["sample_rate_hz"], 50.0);
    assert_eq!(r["frames_processed"], 90_000, "30 min at 50 Hz");
    assert_eq!(r["frames_dropped"], 0);
    let factor = r["real_time_factor"].as_f64().unwrap();
    println!("DREAMS excerpt 3 (15 ch, 30 min): {factor:.0}x real time");
    assert!(factor > 20.0, "{factor}");
}

#[test]
fn recording_holds_the_raw_samples_decisions_and_events() {
    let dir = temp_dir("rec");
    let file = dir.join("session.xdf");
    let out = dir.join("recorded.xdf");
    write_fixture(&file);
    let report = replay_json(
        &file,
        &["--speed", "max", "--record", out.to_str().unwrap()],
    );
    assert_eq!(report["recording"]["frames"], 7500);
    assert_eq!(report["recording"]["frames_dropped"], 0);
    let original = neuroloop_formats::xdf::read(&file).unwrap();
    let recorded = neuroloop_formats::xdf::read(&out).unwrap();
    let src = &original.streams[0];
    let eeg = recorded
        .stream_by_name("session.xdf")
        .expect("EEG stream named after the file");
    assert_eq!(eeg.sample_count(), 7500);
    assert_eq!(eeg.channel_count(), 8);
    for c in 0..8 {
        assert_eq!(
            eeg.channel_f64(c),
            src.channel_f64(c),
            "channel {c} recorded bit for bit"
        );
    }
    let decisions = recorded.stream_by_name("neuroloop-decisions").unwrap();
    assert_eq!(
        decisions.sample_count() as u64,
        report["decisions"].as_u64().unwrap()
    );
    assert!(
        decisions
            .value_str(0, 0)
            .unwrap()
            .starts_with("ssvep-fbcca class=")
    );
    assert!(recorded.stream_by_name("neuroloop-events").is_some());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A session killed while it records leaves a readable file missing at most the last second.
#[test]
fn killed_session_leaves_a_readable_recording() {
    let dir = temp_dir("kill");
    let out = dir.join("killed.xdf");
    let mut child = neuroloop()
        .args([
            "demo",
            "--headless",
            "--seconds",
            "60",
            "--markers",
            "none",
            "--record",
        ])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(3));
    child.kill().unwrap();
    child.wait().unwrap();
    let recorded = neuroloop_formats::xdf::read(&out).expect("the file is valid without footers");
    let eeg = recorded.stream_by_name("neuroloop-sim").unwrap();
    // Three seconds ran (minus start-up); at most the last second may be missing.
    let secs = eeg.sample_count() as f64 / 250.0;
    assert!(secs >= 1.0, "only {secs} s survived");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A recording whose file can no longer grow (a full disk, here a 256 KiB file-size limit on
/// the process) in a lossless maximum-speed session: the session finishes (it used to wait
/// for the stopped recorder forever), decodes everything, names the failure with the fix,
/// exits with an error, and the file holds every frame written before it, readable.
#[test]
fn a_recording_that_runs_out_of_space_ends_cleanly_with_the_data_so_far() {
    let dir = temp_dir("full");
    let out = dir.join("full.xdf");
    let bin = env!("CARGO_BIN_EXE_neuroloop");
    // The size limit makes writes past it fail (EFBIG) instead of killing the process.
    let mut child = std::process::Command::new("bash")
        .args(["-c", "trap '' XFSZ; ulimit -f 256; exec \"$0\" \"$@\"", bin])
        .args(["demo", "--headless", "--speed", "max", "--seconds", "600"])
        .args(["--markers", "none", "--json", "--record"])
        .arg(&out)
        .env(
            "LSLAPICFG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/lsl_api.cfg"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed().as_secs() > 120 {
            child.kill().ok();
            panic!("the session hung after its recording failed");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    // The report is printed, then the command fails so that scripts notice.
    assert!(!output.status.success(), "{text}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("frames processed") && stderr.contains("readable"),
        "{stderr}"
    );
    let r: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(r["frames_processed"], 150_000, "{text}");
    assert_eq!(r["frames_dropped"], 0, "{text}");
    let errors = r["errors"].to_string();
    assert!(
        errors.contains("stopped") && errors.contains("free disk space"),
        "{errors}"
    );
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size <= 256 * 1024, "{size} bytes");
    let recorded = neuroloop_formats::xdf::read(&out).expect("the file so far is readable");
    let eeg = recorded.stream_by_name("neuroloop-sim").unwrap();
    // Most of the 256 KiB are samples (8 channels of f32 plus stamps).
    assert!(
        eeg.sample_count() > 3000,
        "{} frames kept",
        eeg.sample_count()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `--lsl-outlet`: another process sees the replayed file as a live LSL amplifier.
#[test]
fn replay_republishes_the_file_on_lsl() {
    let dir = temp_dir("lsl");
    let file = dir.join("session.xdf");
    write_fixture(&file);
    let name = format!("nl-replay-{}", std::process::id());
    let mut player = neuroloop()
        .arg("replay")
        .arg(&file)
        .args([
            "--headless",
            "--seconds",
            "12",
            "--markers",
            "none",
            "--lsl-outlet",
            &name,
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = neuroloop()
        .args([
            "run",
            "--stream",
            &name,
            "--headless",
            "--seconds",
            "4",
            "--json",
        ])
        .args(["--markers", "none", "--resolve-timeout-secs", "10"])
        .output()
        .unwrap();
    let _ = player.kill();
    let _ = player.wait();
    let r: serde_json::Value =
        serde_json::from_str(&common::stdout_ok(&out, "run --stream")).unwrap();
    assert_eq!(r["channels"], 8);
    assert_eq!(r["frames_dropped"], 0);
    // Four seconds at 250 Hz, less resolution and connection time.
    assert!(r["frames_read"].as_u64().unwrap() > 500, "{r}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// SIGTERM or Ctrl-C during a recording: the session stops in order, the report is printed
/// and the file is complete (stream footers written), not just readable.
#[test]
fn interrupted_session_closes_its_recording() {
    for signal in ["-TERM", "-INT"] {
        let dir = temp_dir(&format!("sig{}", signal.trim_start_matches('-')));
        let out = dir.join("interrupted.xdf");
        let child = neuroloop()
            .args([
                "demo",
                "--headless",
                "--seconds",
                "60",
                "--markers",
                "none",
                "--json",
            ])
            .arg("--record")
            .arg(&out)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_secs(2));
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let result = child.wait_with_output().unwrap();
        let report: serde_json::Value =
            serde_json::from_str(&common::stdout_ok(&result, signal)).unwrap();
        let frames = report["recording"]["frames"].as_u64().unwrap();
        assert_eq!(report["frames_processed"].as_u64().unwrap(), frames);
        let recorded = neuroloop_formats::xdf::read(&out).unwrap();
        let eeg = recorded.stream_by_name("neuroloop-sim").unwrap();
        assert_eq!(eeg.sample_count() as u64, frames, "{signal}");
        assert!(frames >= 250, "{signal}: {frames} frames in 2 s");
        assert!(
            recorded.streams.iter().all(|s| s.footer.is_some()),
            "{signal}: every stream has its footer"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// NaN, infinite and flat-lined samples in a file: counted, replaced by the filters, never
/// propagated into decisions, and recorded as they were.
#[test]
fn bad_samples_are_counted_and_do_not_poison_decisions() {
    let dir = temp_dir("nan");
    let file = dir.join("damaged.xdf");
    let out = dir.join("recorded.xdf");
    write_fixture_with(&file, |chunk, frames| match chunk {
        // One second in: channel 3 goes NaN for a whole chunk, channel 5 spikes to infinity.
        10 => {
            for f in 0..25 {
                frames[f * 8 + 3] = f32::NAN;
            }
            frames[7 * 8 + 5] = f32::INFINITY;
        }
        // Later, every channel is flat for two seconds (an unplugged amplifier).
        100..=119 => frames.fill(0.0),
        _ => {}
    });
    let r = replay_json(
        &file,
        &["--speed", "max", "--record", out.to_str().unwrap()],
    );
    assert_eq!(r["frames_processed"], 7500);
    assert_eq!(r["non_finite_samples"], 26);
    assert_eq!(r["decisions"], 141);
    let recorded = neuroloop_formats::xdf::read(&out).unwrap();
    let decisions = recorded.stream_by_name("neuroloop-decisions").unwrap();
    for i in 0..decisions.sample_count() {
        let text = decisions.value_str(i, 0).unwrap();
        assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    }
    // The recording keeps the raw input, damage included.
    let eeg = recorded.stream_by_name("damaged.xdf").unwrap();
    assert!(eeg.value_f64(250, 3).unwrap().is_nan());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every shared recording replays with no flag at all: replay monitors unless told to decode,
/// so a file needs only to be readable — XDF (the XDF project's examples, Muse recordings made
/// with LabRecorder), EDF/EDF+/BDF, BrainVision, GDF, EEGLAB and MNE FIF, from MNE's test
/// files and real recordings, and a DREAMS PSG excerpt. The one annotation-only file (a
/// hypnogram) is refused with a message that says so.
#[test]
fn every_shared_recording_replays_with_no_flag() {
    let readable = ["xdf", "edf", "bdf", "vhdr", "gdf", "set", "fif"];
    let mut files = Vec::new();
    for folder in [
        "xdf/xdf_example_files",
        "xdf/muse_lsl2_recordings",
        "formats_mne_testing_data",
        "formats_real_gdf_fif",
        "sleepedf_SC4001_first5min",
        "sleep_yasa_samples",
    ] {
        let Some(dir) = common::data_dir(folder) else {
            continue;
        };
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| readable.contains(&e.to_ascii_lowercase().as_str()))
                    && !p.to_string_lossy().ends_with("-eve.fif")
                {
                    files.push(p);
                }
            }
        }
    }
    if let Some(dir) = common::data_dir("spindles_dreams") {
        files.push(dir.join("excerpt3.edf"));
    }
    files.sort();
    let mut failures = Vec::new();
    for file in &files {
        let out = neuroloop()
            .arg("replay")
            .arg(file)
            .args([
                "--speed",
                "max",
                "--headless",
                "--json",
                "--markers",
                "none",
            ])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        if file.to_string_lossy().contains("Hypnogram") {
            assert!(!out.status.success());
            assert!(stderr.contains("holds only annotations"), "{stderr}");
            continue;
        }
        if !out.status.success() {
            failures.push(format!("{}: {stderr}", file.display()));
            continue;
        }
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["frames_dropped"], 0, "{}", file.display());
        assert_eq!(
            r["decisions"],
            0,
            "{}: monitoring decides nothing",
            file.display()
        );
        assert!(
            r["frames_processed"].as_u64().unwrap() > 0,
            "{}",
            file.display()
        );
    }
    println!("{} recordings replayed", files.len());
    assert!(files.len() >= 20, "{files:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A sleep lab's PSG (Sleep-EDF: EEG and EOG at 100 Hz, respiration, EMG, temperature and
/// events at 1 Hz) runs the sleep paradigm with no flag but the paradigm: the EEG rate is
/// replayed, the detectors read an EEG derivation, the slow signals are named as not
/// replayed, and no notch is claimed at the Nyquist frequency.
#[test]
fn a_psg_runs_the_sleep_paradigm_on_its_eeg() {
    let Some(dir) = common::data_dir("sleepedf_SC4001_first5min") else {
        return;
    };
    let out = neuroloop()
        .arg("replay")
        .arg(dir.join("short_psg.edf"))
        .args([
            "--paradigm",
            "sleep",
            "--headless",
            "--json",
            "--speed",
            "max",
        ])
        .args(["--markers", "none"])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_str(&common::stdout_ok(&out, "replay")).unwrap();
    assert_eq!(r["sample_rate_hz"], 100.0);
    assert_eq!(r["channels"], 3);
    let set_aside: Vec<&str> = r["set_aside"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(set_aside.len(), 4, "{set_aside:?}");
    assert!(
        set_aside.iter().all(|s| s.ends_with("(1 Hz)")),
        "{set_aside:?}"
    );
    let mains = r["mains"].as_str().unwrap();
    assert!(mains.starts_with("no notch"), "{mains}");
    assert!(!r["front_end"].as_str().unwrap().contains("notch"), "{r}");
    for d in r["decoders"].as_array().unwrap() {
        let channels = d["channels"].as_array().unwrap();
        assert!(
            channels
                .iter()
                .all(|c| c.as_str().unwrap().starts_with("EEG ")),
            "{d}"
        );
    }
    assert!(r["decisions"].as_u64().unwrap() > 0, "{r}");
}

/// The notch follows the recording's mains: EEGMMIDB was recorded in the United States, and
/// its 60 Hz line is found in the first seconds and notched; a frequency given still wins.
#[test]
fn the_notch_follows_the_mains_a_recording_shows() {
    let Some(dir) = common::data_dir("mi_eegmmidb_S001") else {
        return;
    };
    let file = dir.join("S001R04.edf");
    let run = |extra: &[&str]| {
        let out = neuroloop()
            .arg("replay")
            .arg(&file)
            .args([
                "--headless",
                "--json",
                "--markers",
                "none",
                "--speed",
                "max",
            ])
            .args(extra)
            .output()
            .unwrap();
        let r: serde_json::Value =
            serde_json::from_str(&common::stdout_ok(&out, "replay")).unwrap();
        (
            r["front_end"].as_str().unwrap().to_string(),
            r["mains"].as_str().unwrap().to_string(),
        )
    };
    let (front_end, mains) = run(&[]);
    assert!(front_end.contains("notch 60"), "{front_end}");
    assert!(mains.contains("detected"), "{mains}");
    let (front_end, mains) = run(&["--notch-hz", "50"]);
    assert!(front_end.contains("notch 50"), "{front_end}");
    assert!(mains.contains("as set"), "{mains}");
}

/// A simulated SSVEP session recorded with its ground truth replays to the same decisions and
/// the same score: the recorded `truth/ssvep` markers are the replay's trials.
#[test]
fn a_recorded_ssvep_session_is_scored_again_when_replayed() {
    let dir = temp_dir("rescored");
    let file = dir.join("demo.xdf");
    let out = neuroloop()
        .args([
            "demo",
            "--headless",
            "--speed",
            "max",
            "--seconds",
            "40",
            "--markers",
            "none",
            "--json",
            "--record",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let live: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let replayed = replay_json(&file, &["--speed", "max"]);
    let (live, replayed) = (&live["decoders"][0], &replayed["decoders"][0]);
    assert!(live["scored"].as_u64().unwrap() >= 40, "{live}");
    for key in ["decisions", "scored", "correct"] {
        assert_eq!(live[key], replayed[key], "{key}: {live} vs {replayed}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
