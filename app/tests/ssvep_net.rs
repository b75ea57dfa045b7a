//! The SSVEP network through the live pipeline: a Kalunga session (subject s05), written as an
//! XDF recording with its stimulation onsets as markers and
//! replayed with `--ssvep-model` given the network's card, gets at every onset the decision
//! `neuroloop eval ssvep --method onnx` computes offline for that trial, with and without the
//! pipeline's default front end; on the simulator the network decides each cued trial, and
//! streams or targets it was not made for are refused.

use neuroloop_decoders::ssvep::SsvepNet;
use neuroloop_offline::eval::ssvep::{
    KALUNGA_CHANNEL_LABELS, KALUNGA_RATE_HZ, load_kalunga, net_windows,
};
use neuroloop_runtime::FrontEnd;

mod common;
use common::{decision_markers, marker_field, run_err, run_ok, temp_dir};

#[test]
fn replaying_a_session_reproduces_the_offline_decisions() {
    let Some(dir) = common::data_dir("ssvep_exoskeleton_kalunga2016/npy") else {
        return;
    };
    if !common::onnx_runtime() {
        return;
    }
    let mut net = SsvepNet::shipped().unwrap();
    let config = net.config().clone();
    let session = load_kalunga(&dir)
        .unwrap()
        .into_iter()
        .find(|s| s.subject == "s05")
        .expect("subject s05's sessions");
    // The session as a recording: the EEG and its onsets as markers.
    let tmp = temp_dir("ssvep-net-replay");
    let file = tmp.join("kalunga.xdf");
    let stamp = |frame: usize| 500.0 + frame as f64 / KALUNGA_RATE_HZ;
    let ch = KALUNGA_CHANNEL_LABELS.len();
    let stamps: Vec<f64> = (0..session.data.len() / ch).map(stamp).collect();
    let markers: Vec<(f64, String)> = session
        .trials
        .iter()
        .map(|&(onset, label)| {
            let freq = config.targets_hz[label];
            let text = format!("truth/ssvep target={label} freq_hz={freq} duration_s=5");
            (stamp(onset), text)
        })
        .collect();
    let labels = KALUNGA_CHANNEL_LABELS.map(String::from);
    common::write_eeg_xdf(
        &file,
        &labels,
        KALUNGA_RATE_HZ,
        &session.data,
        &stamps,
        &markers,
    );

    // Without a front end (the samples the network was trained on) and behind the live
    // pipeline's default one (50 Hz notch, 1 Hz high-pass): online = offline at every onset.
    let card = net.card_path().to_str().unwrap().to_string();
    for (tag, front_end) in [("raw", None), ("front-end", Some(FrontEnd::default()))] {
        let mut proba = vec![0.0; config.targets_hz.len()];
        let offline: Vec<(usize, usize, f64)> = net_windows(&session, &config, front_end.as_ref())
            .unwrap()
            .into_iter()
            .map(|(onset, window, _)| {
                assert!(net.predict(&window, &mut proba));
                let best = (0..proba.len())
                    .max_by(|&a, &b| proba[a].total_cmp(&proba[b]))
                    .unwrap();
                (onset, best, proba[best])
            })
            .collect();
        assert!(offline.len() >= 20, "{} trials", offline.len());
        let rec = tmp.join(format!("replayed-{tag}.xdf"));
        let mut args = vec![
            "replay",
            file.to_str().unwrap(),
            "--headless",
            "--speed",
            "max",
            "--markers",
            "none",
            "--ssvep-model",
            &card,
            "--record",
            rec.to_str().unwrap(),
        ];
        if front_end.is_none() {
            args.extend(["--notch-hz", "0", "--highpass-hz", "0"]);
        } else {
            // The default front end's notch, not the one mains detection would choose.
            args.extend(["--notch-hz", "50"]);
        }
        run_ok(&args);
        let online = decision_markers(&rec);
        assert_eq!(online.len(), offline.len(), "{tag}: {online:?}");
        for ((t, text), &(onset, class, p)) in online.iter().zip(&offline) {
            // The replay stamps frames from 0 s: the decision is the window's last frame.
            let last = onset + config.window_frames() - 1;
            assert_eq!(
                (t * KALUNGA_RATE_HZ).round() as usize,
                last,
                "{tag}: {text} at {t} s"
            );
            assert_eq!(
                marker_field(text, "index").parse::<usize>().unwrap(),
                class,
                "{tag}: {text}"
            );
            let score: f64 = marker_field(text, "score").parse().unwrap();
            assert!((score - p).abs() < 1e-4, "{tag}: {text} vs offline {p}");
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
}

/// On the simulator (the card's channels are in the 64-channel montage; its rate and targets
/// given), the network decides each cued trial 2 s after its onset, scored against the
/// simulator's truth; a stream or targets the network was not made for are refused with the fix.
#[test]
fn the_network_decodes_the_simulator_and_refuses_what_it_was_not_made_for() {
    if !common::onnx_runtime() {
        return;
    }
    let card = SsvepNet::shipped()
        .unwrap()
        .card_path()
        .to_str()
        .unwrap()
        .to_string();
    let demo = |extra: &[&str]| {
        let mut args = vec![
            "demo",
            "--headless",
            "--speed",
            "max",
            "--ssvep-model",
            &card,
            "--json",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let args = demo(&[
        "--targets",
        "13,17,21",
        "--channels",
        "64",
        "--rate-hz",
        "256",
        "--seconds",
        "150",
    ]);
    let report = run_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let d = &r["decoders"][0];
    assert_eq!(d["name"], "ssvep-net");
    let (decisions, scored, correct) = (
        d["decisions"].as_u64().unwrap(),
        d["scored"].as_u64().unwrap(),
        d["correct"].as_u64().unwrap(),
    );
    println!("simulator: {correct}/{scored} of {decisions} decisions");
    // 5-s trials (4 s attended + 1 s rest): one decision each.
    assert!((28..=31).contains(&decisions), "{report}");
    assert_eq!(scored, decisions, "{report}");
    assert!(correct as f64 >= 0.8 * scored as f64, "{report}");
    // Another rate, other targets, channels the stream lacks.
    for (extra, want) in [
        (
            vec![
                "--targets",
                "13,17,21",
                "--channels",
                "64",
                "--seconds",
                "2",
            ],
            "made at 256 Hz but the stream runs at 250 Hz",
        ),
        (
            vec!["--channels", "64", "--rate-hz", "256", "--seconds", "2"],
            "pass the model's frequencies with --targets",
        ),
        (
            vec![
                "--targets",
                "13,17,21",
                "--rate-hz",
                "256",
                "--seconds",
                "2",
            ],
            "is not in the stream",
        ),
    ] {
        let args = demo(&extra);
        let err = run_err(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(err.contains(want), "{extra:?}: {err}");
    }
}

/// An OpenViBE recording (the Kalunga data set's own GDF file of s01's first session) replayed
/// with the network: refused with its annotation labels until the onset label is named (and
/// when a named label or a cue's frequency does not fit); then
/// it decides at every start of trial, and the trials its class codes cue are scored exactly
/// as offline on the same session's samples (the NPY copy `eval ssvep` reads).
#[test]
fn an_openvibe_recording_is_decoded_at_its_onsets_and_scored_by_its_class_codes() {
    const STEM: &str = "s01_2012.07.06-19.02.16";
    let (Some(gdf_dir), Some(npy_dir)) = (
        common::data_dir("formats_real_gdf_fif"),
        common::data_dir("ssvep_exoskeleton_kalunga2016/npy"),
    ) else {
        return;
    };
    if !common::onnx_runtime() {
        return;
    }
    let gdf = gdf_dir.join(format!("{STEM}.gdf"));
    let gdf = gdf.to_str().unwrap();
    let mut net = SsvepNet::shipped().unwrap();
    let config = net.config().clone();
    let card = net.card_path().to_str().unwrap().to_string();
    let mut session = load_kalunga(&npy_dir)
        .unwrap()
        .into_iter()
        .find(|s| s.name == STEM)
        .expect("the session's NPY copy");
    // The NPY copy's events keep the GDF event table's positions, which the GDF format counts
    // from 1: the onsets are one sample earlier.
    for trial in &mut session.trials {
        trial.0 -= 1;
    }
    let mut proba = vec![0.0; config.targets_hz.len()];
    let offline: Vec<(usize, usize, usize)> = net_windows(&session, &config, None)
        .unwrap()
        .into_iter()
        .zip(&session.trials)
        .map(|((onset, window, _), &(_, label))| {
            assert!(net.predict(&window, &mut proba));
            let best = (0..proba.len())
                .max_by(|&a, &b| proba[a].total_cmp(&proba[b]))
                .unwrap();
            (onset, best, label)
        })
        .collect();
    assert_eq!(offline.len(), 24);

    let base = [
        "replay",
        gdf,
        "--headless",
        "--speed",
        "max",
        "--markers",
        "none",
        "--ssvep-model",
        &card,
        "--notch-hz",
        "0",
        "--highpass-hz",
        "0",
    ];
    // Nothing marks an onset that the application knows: refused, the labels listed.
    let err = run_err(&base);
    assert!(
        err.contains("\"32779\" x32") && err.contains("--onset LABEL"),
        "{err}"
    );
    // A label the recording does not have (a typo would score nothing).
    let mut args = base.to_vec();
    args.extend(["--onset", "32778"]);
    let err = run_err(&args);
    assert!(
        err.contains("the label 32778 (given as the recording's onset) is not in the recording"),
        "{err}"
    );
    // A cue at a frequency the network has no target at.
    let mut args = base.to_vec();
    args.extend(["--onset", "32779", "--cue", "33025=12Hz"]);
    let err = run_err(&args);
    assert!(err.contains("13Hz, 17Hz, 21Hz"), "{err}");

    let tmp = temp_dir("ssvep-net-gdf");
    let rec = tmp.join("replayed.xdf");
    let mut args = base.to_vec();
    args.extend([
        "--onset",
        "32779",
        "--cue",
        "33025=13Hz",
        "--cue",
        "33027=17",
        "--cue",
        "33026=21 Hz",
        "--record",
        rec.to_str().unwrap(),
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_str(&run_ok(&args)).unwrap();
    let d = &report["decoders"][0];
    // Every start of trial is decided, the 8 rest trials too; the 24 cued ones are scored.
    assert_eq!(d["decisions"], 32, "{d}");
    assert_eq!(d["scored"], 24, "{d}");
    let correct = offline
        .iter()
        .filter(|(_, best, label)| best == label)
        .count();
    assert_eq!(d["correct"], correct, "{d}");
    // The cued trials' decisions are the offline ones, at the same samples.
    let online = decision_markers(&rec);
    for &(onset, best, _) in &offline {
        let last = onset + config.window_frames() - 1;
        let (_, text) = online
            .iter()
            .find(|(t, _)| (t * KALUNGA_RATE_HZ).round() as usize == last)
            .unwrap_or_else(|| panic!("no decision at frame {last}: {online:?}"));
        assert_eq!(marker_field(text, "index").parse::<usize>().unwrap(), best);
    }
    println!("{STEM}.gdf: {correct}/24 correct, as offline");
    std::fs::remove_dir_all(&tmp).ok();
}
