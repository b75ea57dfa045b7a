//! Onset-locked SSVEP decoding end to end on the simulator: a recorded calibration session,
//! `neuroloop ssvep fit` (ensemble TRCA at several window lengths), online decoding of another
//! seed with dynamic stopping, and a replay of that session reproducing its decisions.

use std::path::Path;

use neuroloop_decoders::ssvep::onset::SsvepTrcaModel;

mod common;
use common::{decision_markers, marker_field, run_err, run_ok, temp_dir};

/// Eight JFPM targets inside the benchmark speller's band.
const TARGETS: &str = "8,8.6,9.2,11,11.6,12.2,13.4,14.6";

#[test]
fn calibrate_fit_decode_online_and_replay_on_the_simulator() {
    let dir = temp_dir("ssvep-trca");
    let cal = dir.join("calibration.xdf");
    let online = dir.join("online.xdf");
    let model = dir.join("model.json");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    let demo = |extra: &[&str]| {
        let mut args = vec![
            "demo",
            "--headless",
            "--speed",
            "max",
            "--seconds",
            "240",
            "--targets",
            TARGETS,
            "--ssvep-uv",
            "6",
            "--markers",
            "none",
        ];
        args.extend_from_slice(extra);
        run_ok(&args)
    };
    demo(&["--record", &p(&cal)]);
    let fit = run_ok(&["ssvep", "fit", &p(&cal), "--out", &p(&model)]);
    println!("{fit}");
    let m = SsvepTrcaModel::load(&model).unwrap();
    assert_eq!(m.targets_hz.len(), 8);
    assert!(m.ensemble);
    assert!(m.trials_per_class.iter().all(|&n| n >= 5), "{fit}");
    let cv = |secs: f64| {
        m.checkpoints
            .iter()
            .find(|c| (c.window_secs - secs).abs() < 1e-9)
            .and_then(|c| c.cv_accuracy)
            .unwrap()
    };
    // Measured: 93.8 % at 0.5 s, 97.9 % at 1 s, 100 % at 2 s (chance 12.5 %).
    assert!(cv(1.0) > 0.75 && cv(2.0) >= cv(0.5), "{fit}");

    // The same session as a recording made elsewhere (class codes half a second before a
    // start-of-trial label, an end-of-trial label): refused with its labels listed until they
    // are named, then the same model.
    let foreign = dir.join("foreign.xdf");
    foreign_copy(&cal, &foreign);
    let err = run_err(&[
        "ssvep",
        "fit",
        &p(&foreign),
        "--out",
        &p(&dir.join("x.json")),
    ]);
    assert!(
        err.contains("\"trial start\" x") && err.contains("--onset LABEL"),
        "{err}"
    );
    let again = dir.join("foreign.json");
    let mut args: Vec<String> = ["ssvep", "fit", &p(&foreign), "--out", &p(&again)]
        .map(String::from)
        .to_vec();
    args.extend(["--onset".into(), "trial start".into()]);
    for (k, f) in TARGETS.split(',').enumerate() {
        args.extend(["--cue".into(), format!("class {k}={f}Hz")]);
    }
    run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let m2 = SsvepTrcaModel::load(&again).unwrap();
    assert_eq!(m2.targets_hz, m.targets_hz);
    assert_eq!(m2.trials_per_class, m.trials_per_class);
    let cvs = |m: &SsvepTrcaModel| -> Vec<Option<f64>> {
        m.checkpoints.iter().map(|c| c.cv_accuracy).collect()
    };
    assert_eq!(cvs(&m2), cvs(&m));

    // Online on another seed, every decision scored against the simulator's truth.
    let report = demo(&[
        "--seed",
        "2",
        "--ssvep-model",
        &p(&model),
        "--record",
        &p(&online),
        "--json",
    ]);
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let d = &r["decoders"][0];
    assert_eq!(d["name"], "ssvep-etrca");
    let (scored, correct) = (
        d["scored"].as_u64().unwrap(),
        d["correct"].as_u64().unwrap(),
    );
    println!("online: {correct}/{scored}");
    // 48 trials: one decision each, or more when an early window was not yet confident.
    assert!((48..=48 * 6).contains(&scored), "{report}");
    assert!(correct as f64 / scored as f64 > 0.8, "{report}");
    let live = decision_markers(&online);
    // Dynamic stopping: most trials end on a confident (early) decision.
    let confident = live
        .iter()
        .filter(|(_, t)| t.contains("selected=1"))
        .count();
    assert!(confident >= 40, "{confident} confident decisions");

    // Replaying the online session (onsets from its recorded truth markers) gives the same
    // decisions at the same times (a replay stamps from the file's start: compared from the
    // first decision); paced at 20x real time (stamps compressed 20-fold) trials still start
    // at the onsets' samples, so the decisions are the same too.
    for (speed, same_times) in [("max", true), ("20", false)] {
        let replayed = dir.join(format!("replayed-{speed}.xdf"));
        run_ok(&[
            "replay",
            &p(&online),
            "--headless",
            "--speed",
            speed,
            "--ssvep-model",
            &p(&model),
            "--markers",
            "none",
            "--record",
            &p(&replayed),
        ]);
        let again = decision_markers(&replayed);
        assert_eq!(live.len(), again.len(), "speed {speed}");
        let (live0, again0) = (live[0].0, again[0].0);
        for ((t1, m1), (t2, m2)) in live.iter().zip(&again) {
            if same_times {
                assert!(((t1 - live0) - (t2 - again0)).abs() < 1e-6, "{t1} vs {t2}");
            }
            for key in ["class", "score", "confidence", "selected"] {
                assert_eq!(marker_field(m1, key), marker_field(m2, key), "{m1} vs {m2}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `cal` rewritten as a recording made elsewhere: its EEG, and for each simulated trial
/// (`truth/ssvep target=K freq_hz=F duration_s=D`) the labels `class K` 0.5 s before its onset,
/// `trial start` at it and `trial end` D seconds later.
fn foreign_copy(cal: &Path, out: &Path) {
    let r = neuroloop_formats::read_recording(cal).unwrap();
    let rate = r.channels[0].sample_rate_hz;
    let labels: Vec<String> = r.channels.iter().map(|c| c.label.clone()).collect();
    let frames = r.data[0].len();
    let stamps: Vec<f64> = match &r.timestamps_s {
        Some(ts) => ts[..frames].to_vec(),
        None => (0..frames).map(|i| i as f64 / rate).collect(),
    };
    let t0 = stamps[0];
    let values: Vec<f32> = (0..frames)
        .flat_map(|i| r.data.iter().map(move |ch| ch[i] as f32))
        .collect();
    let mut markers: Vec<(f64, String)> = Vec::new();
    for a in r
        .annotations
        .iter()
        .filter(|a| a.label.contains("truth/ssvep "))
    {
        let field = |key: &str| marker_field(&a.label, key).to_string();
        let at = t0 + a.onset_s;
        let secs: f64 = field("duration_s").parse().unwrap();
        markers.push((at - 0.5, format!("class {}", field("target"))));
        markers.push((at, "trial start".into()));
        markers.push((at + secs, "trial end".into()));
    }
    common::write_eeg_xdf(out, &labels, rate, &values, &stamps, &markers);
}

#[test]
fn a_model_for_another_rate_or_a_damaged_file_is_refused_with_the_fix() {
    let dir = temp_dir("ssvep-trca-bad");
    let cal = dir.join("calibration.xdf");
    let model = dir.join("model.json");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    run_ok(&[
        "demo",
        "--headless",
        "--speed",
        "max",
        "--seconds",
        "120",
        "--targets",
        TARGETS,
        "--ssvep-uv",
        "6",
        "--markers",
        "none",
        "--record",
        &p(&cal),
    ]);
    run_ok(&["ssvep", "fit", &p(&cal), "--out", &p(&model)]);
    let err = run_err(&[
        "demo",
        "--headless",
        "--speed",
        "max",
        "--seconds",
        "5",
        "--rate-hz",
        "500",
        "--targets",
        TARGETS,
        "--ssvep-model",
        &p(&model),
    ]);
    assert!(
        err.contains("made at 250 Hz") && err.contains("calibrate at it"),
        "{err}"
    );
    std::fs::write(&model, "{\"format\": \"something else\"}").unwrap();
    let err = run_err(&[
        "demo",
        "--headless",
        "--seconds",
        "1",
        "--ssvep-model",
        &p(&model),
    ]);
    assert!(err.contains("neuroloop ssvep fit"), "{err}");
    let err = run_err(&[
        "ssvep",
        "fit",
        &p(&dir.join("missing.xdf")),
        "--out",
        &p(&model),
    ]);
    assert!(err.contains("missing.xdf"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A calibration whose simulated user shows no SSVEP fits a model at chance: `ssvep fit`
/// refuses to save it, naming its accuracy's interval and the fix; `--force` saves it.
#[test]
fn a_model_at_chance_is_not_saved_unless_forced() {
    let dir = temp_dir("ssvep-trca-chance");
    let cal = dir.join("calibration.xdf");
    let model = dir.join("model.json");
    let p = |p: &Path| p.to_str().unwrap().to_string();
    common::record_demo(
        &cal,
        &["--seconds", "120", "--targets", TARGETS, "--ssvep-uv", "0"],
    );
    let err = run_err(&["ssvep", "fit", &p(&cal), "--out", &p(&model)]);
    assert!(
        err.contains("not shown above chance")
            && err.contains("95 % CI")
            && err.contains("--force"),
        "{err}"
    );
    assert!(!model.exists(), "a model at chance was saved");
    let out = run_ok(&["ssvep", "fit", &p(&cal), "--out", &p(&model), "--force"]);
    assert!(out.contains("saved because of --force"), "{out}");
    assert!(model.exists());
    std::fs::remove_dir_all(&dir).ok();
}
