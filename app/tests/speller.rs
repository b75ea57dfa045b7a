//! The SSVEP speller window, driven headless by egui_kittest: the painted luminance of targets
//! at mocked frame times, and a cued spelling run end to end on the simulator (whose user looks
//! where the cue says) with the frames and markers in the recording.

use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

use egui::epaint::{RectShape, Shape};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use neuroloop::speller::{Phase, Speller, SpellerLayout, SpellerTiming, SpellerView};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::sim::{Attention, Scenario, SimConfig, SsvepScenario, SsvepTarget};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use neuroloop_formats::xdf::XdfValues;
use neuroloop_runtime::outputs::TruthMapping;
use neuroloop_runtime::{Session, SessionConfig, SessionDecoder, SourceSpec};

mod common;

/// Every filled rectangle painted on the last frame with its fill.
fn filled_rects(harness: &Harness<'_, SpellerView>) -> Vec<(egui::Rect, egui::Color32)> {
    fn walk(shape: &Shape, out: &mut Vec<(egui::Rect, egui::Color32)>) {
        match shape {
            Shape::Rect(RectShape { rect, fill, .. }) => out.push((*rect, *fill)),
            Shape::Vec(v) => v.iter().for_each(|s| walk(s, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for clipped in &harness.output().shapes {
        walk(&clipped.shape, &mut out);
    }
    out
}

/// A real-time simulator session whose user looks where the speller cues (`gaze`), flickering
/// `layout`'s codes at `amplitude_uv`, decoded by `decoder`, recorded to `record` if given.
/// Runs the speller window headless on `session` until the speller is done (at most 40 s),
/// calling `on_step` with the speller after every frame; returns the harness.
fn spell(
    speller: Speller,
    session: Session,
    gaze: Arc<Attention>,
    size: egui::Vec2,
    mut on_step: impl FnMut(&Speller),
) -> Harness<'static, SpellerView> {
    let view = SpellerView::new(
        speller,
        Some(session),
        Some(gaze),
        Box::new(neuroloop_acquisition::clock::local_clock),
    );
    let mut harness = Harness::builder()
        .with_size(size)
        .build_ui_state(|ui, view: &mut SpellerView| view.ui(ui), view);
    let started = std::time::Instant::now();
    while harness.state().speller().phase() != Phase::Done {
        assert!(
            started.elapsed().as_secs_f64() < 40.0,
            "spelling did not finish: {:?}",
            harness.state().speller().text()
        );
        harness.step();
        on_step(harness.state().speller());
        std::thread::sleep(std::time::Duration::from_millis(8));
    }
    harness
}

/// The default simulator with another seed.
fn seed(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        ..SimConfig::default()
    }
}

/// Transport delay of the simulated amplifier in the gaze-following sessions, s.
const AMPLIFIER_DELAY_SECS: f64 = 0.3;

fn gaze_session(
    layout: &SpellerLayout,
    gaze: &Arc<Attention>,
    decoder: Box<dyn neuroloop_decoders::Decoder>,
    sim: SimConfig,
    amplitude_uv: f64,
    record: Option<std::path::PathBuf>,
) -> Session {
    let targets = layout
        .targets
        .iter()
        .map(|t| SsvepTarget {
            freq_hz: t.code.freq_hz,
            phase_rad: t.code.phase_rad,
        })
        .collect();
    let source = SourceSpec::Simulator {
        config: SimConfig {
            scenario: Scenario::Ssvep(SsvepScenario {
                targets,
                amplitude_uv,
                gaze: Some(Arc::clone(gaze)),
                ..SsvepScenario::default()
            }),
            ..sim
        },
        pacing: Pacing::Speed(1.0),
        chunk_frames: 0,
        duration_secs: Some(60.0),
        // Samples arrive AMPLIFIER_DELAY_SECS after they are stamped, as through a real
        // amplifier's transport: the simulated user's gaze, set when the window draws a
        // flicker's first frame, is then seen by every sample from that frame on even when a
        // loaded machine draws late (with no delay, samples already out missed the response).
        time_origin: Some(neuroloop_acquisition::clock::local_clock() - AMPLIFIER_DELAY_SECS),
    };
    Session::start(
        SessionConfig::new(source)
            .decoder(SessionDecoder::boxed(
                decoder,
                TruthMapping::SsvepTargetIndex,
            ))
            .markers(None)
            .record(record),
    )
    .unwrap()
}

/// The benchmark speller cueing "HI" with no session, headless, on a mocked clock (its time,
/// moved by the test, starts at 100 s).
fn mocked_speller() -> (Arc<Mutex<f64>>, Harness<'static, SpellerView>) {
    let now = Arc::new(Mutex::new(100.0f64));
    let clock = {
        let now = Arc::clone(&now);
        Box::new(move || *now.lock().unwrap())
    };
    let speller =
        Speller::cued(SpellerLayout::benchmark(), SpellerTiming::default(), "HI").unwrap();
    let view = SpellerView::new(speller, None, None, clock);
    let harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .build_ui_state(|ui, view: &mut SpellerView| view.ui(ui), view);
    (now, harness)
}

#[test]
fn targets_are_painted_with_the_sampled_flicker_at_each_frame() {
    let (now, mut harness) = mocked_speller();
    let period = 1.0 / 144.0;
    // A 144 Hz display: the clock learns the refresh from the frame intervals.
    let step = |harness: &mut Harness<'_, SpellerView>| {
        *now.lock().unwrap() += period;
        harness.step();
    };
    // The refresh is measured before the first cue.
    step(&mut harness);
    harness.get_by_label("measuring the display's refresh before the first flicker…");
    for _ in 0..neuroloop::speller::summary::REFRESH_FRAMES {
        step(&mut harness);
    }
    harness.get_by_label("look at H");
    harness.get_by_label("letter 1 of 2");
    // During the cue every key is at full brightness.
    assert!(harness.state().drawn().iter().all(|&(l, _)| l == 1.0));
    for _ in 0..160 {
        step(&mut harness);
        if matches!(harness.state().speller().phase(), Phase::Stim { .. }) {
            break;
        }
    }
    let Phase::Stim { onset } = harness.state().speller().phase() else {
        panic!("the flicker did not start after the 1-s cue");
    };
    harness.get_by_label("flickering");
    let layout = SpellerLayout::benchmark();
    for frame in 0..6 {
        step(&mut harness);
        let view = harness.state();
        let f = view.last_frame().unwrap();
        assert!((view.speller().layout().targets.len()) == 40);
        assert!(
            (f.present - f.drawn - period).abs() < 1e-9,
            "present = next refresh"
        );
        let rects = filled_rects(&harness);
        for k in [0usize, 13, 39] {
            let code = layout.targets[k].code;
            let expect = code.luminance(f.present - onset);
            let (l, rect) = view.drawn()[k];
            assert_eq!(l, expect, "frame {frame} target {k}");
            // The painted key has that grey level.
            let grey = (expect * 255.0).round() as u8;
            assert!(
                rects
                    .iter()
                    .any(|&(r, c)| r == rect && c == egui::Color32::from_gray(grey)),
                "frame {frame} target {k}: no key painted grey {grey} at {rect:?}"
            );
        }
        // Known values: target 0 (8 Hz, phase 0) and target 1 (8.2 Hz, phase pi/2).
        let t = f.present - onset;
        let l0 = 0.5 * (1.0 + (2.0 * PI * 8.0 * t).sin());
        let l1 = 0.5 * (1.0 + (2.0 * PI * 8.2 * t + 0.5 * PI).sin());
        assert!((f64::from(view.drawn()[0].0) - l0).abs() < 1e-6);
        assert!((f64::from(view.drawn()[1].0) - l1).abs() < 1e-6);
        // The photodiode square follows target 0.
        let (pd, square) = view.photodiode().unwrap();
        assert_eq!(pd, view.drawn()[0].0);
        assert!(rects.iter().any(|&(r, _)| r == square));
    }
}

/// A display drawing 30 frames/s is too slow for the benchmark's codes (up to 15.8 Hz): before
/// the first flicker the window says so and what to change, and a person's run waits for
/// "Flicker anyway".
#[test]
fn a_slow_display_is_named_before_the_first_flicker_and_the_run_waits() {
    use neuroloop::speller::summary::RefreshGate;
    let (now, mut harness) = mocked_speller();
    let step = |harness: &mut Harness<'_, SpellerView>| {
        *now.lock().unwrap() += 1.0 / 30.0;
        harness.step();
    };
    for _ in 0..150 {
        step(&mut harness);
    }
    assert!(
        matches!(harness.state().refresh_gate(), RefreshGate::Slow { hz, go_on: false } if (hz - 30.0).abs() < 0.5),
        "{:?}",
        harness.state().refresh_gate()
    );
    assert_eq!(harness.state().speller().phase(), Phase::Idle);
    harness.get_by_label_contains(
        "draws 30.0 frames/s, but the fastest code (15.8 Hz) needs at least 59",
    );
    harness.get_by_label("Flicker anyway").click();
    step(&mut harness);
    step(&mut harness);
    harness.get_by_label("look at H");
    // The warning stays while the run goes on.
    harness.get_by_label_contains("draws 30.0 frames/s");
    let summary = harness.state().summary();
    assert!(
        summary
            .diagnosis
            .iter()
            .any(|d| d.contains("30.0 frames/s")),
        "{summary:?}"
    );
}

#[test]
fn a_cued_phrase_is_spelled_on_the_simulator_and_recorded() {
    // Four targets with JFPM phases; the simulated user looks where the cue says.
    let freqs = [7.0, 8.5, 12.0, 15.0]; // away from the simulated 10 Hz alpha
    let layout = SpellerLayout::custom(&freqs, 0.5 * PI, "NEO<").unwrap();
    let timing = SpellerTiming {
        cue_secs: 0.5,
        stim_secs: 2.5,
        feedback_secs: 0.3,
        grace_secs: 0.6,
    };
    let phrase = "ONE";
    let speller = Speller::cued(layout.clone(), timing, phrase).unwrap();
    let gaze = Arc::new(Attention::new());
    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig {
        targets_hz: freqs.to_vec(),
        window_secs: 1.5,
        step_secs: 0.1,
        sub_bands: 5,
        min_margin: 0.3,
        ..SsvepCcaConfig::default()
    });
    let dir = common::temp_dir("speller");
    let record = dir.join("speller.xdf");
    let session = gaze_session(
        &layout,
        &gaze,
        Box::new(decoder),
        seed(1),
        4.0,
        Some(record.clone()),
    );
    let mut harness = spell(speller, session, gaze, egui::vec2(900.0, 600.0), |_| {});
    let (correct, judged) = harness.state().speller().score();
    let typed = harness.state().speller().text().to_string();
    println!("typed {typed:?}, {correct}/{judged} correct");
    // Shown (the cued phrase, the same letters when all is right, shows too).
    assert!(harness.query_all_by_label(&typed).next().is_some());
    let summary = harness.state().summary();
    assert_eq!(summary.correct, correct);
    assert_eq!(summary.cued, judged + summary.no_selection);
    assert!(summary.itr_bits_per_min.unwrap() > 0.0 || correct * 4 <= summary.cued);
    assert_eq!(judged, 3);
    assert!(correct >= 2, "typed {typed:?}");
    let outcome = harness.state_mut().finish().unwrap();
    assert!(outcome.acquisition_error.is_none());
    drop(harness);
    // The recording has every frame and the speller's markers.
    let file = neuroloop_formats::xdf::read(&record).unwrap();
    let frames = file
        .streams
        .iter()
        .find(|s| s.header.name == "neuroloop-frames")
        .expect("frame stream");
    let XdfValues::Double64(v) = &frames.values else {
        panic!("frames are float64");
    };
    assert!(v.len() / 3 > 100, "{} frames", v.len() / 3);
    // Frame indices count up from 0 and stamps equal the predicted presentation times.
    assert_eq!(v[0], 0.0);
    assert!(
        v.chunks(3)
            .zip(&frames.timestamps_s)
            .all(|(f, &t)| (f[1] - t).abs() < 1e-6)
    );
    let events = file
        .streams
        .iter()
        .find(|s| s.header.name == "neuroloop-events")
        .unwrap();
    let XdfValues::String(texts) = &events.values else {
        panic!("events are strings");
    };
    let count = |prefix: &str| texts.iter().filter(|t| t.starts_with(prefix)).count();
    assert_eq!(count("speller cue"), 3, "{texts:?}");
    assert_eq!(count("speller stim-on"), 3);
    assert_eq!(count("speller select") + count("speller no-selection"), 3);
}

/// The 40-target benchmark speller with an onset-locked ensemble-TRCA model: calibration on a
/// simulated session of the same JFPM codes, fit, then a cued phrase spelled with dynamic
/// stopping on a new simulated user who looks where the cue says.
#[test]
fn the_forty_target_speller_spells_with_a_fitted_trca_model() {
    let dir = common::temp_dir("speller-trca");
    let cal = dir.join("calibration.xdf");
    let model = dir.join("model.json");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    common::record_benchmark_calibration(&cal, 1200);
    let fit = common::run_ok(&["ssvep", "fit", &p(&cal), "--out", &p(&model)]);
    println!("{fit}");
    let trca = neuroloop_decoders::ssvep::onset::SsvepTrcaModel::load(&model).unwrap();
    let decoder = neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder::trca(trca, 0.2).unwrap();
    let layout = SpellerLayout::benchmark();
    let phrase = "NEURO";
    let speller = Speller::cued(layout.clone(), SpellerTiming::default(), phrase).unwrap();
    let gaze = Arc::new(Attention::new());
    let session = gaze_session(&layout, &gaze, Box::new(decoder), seed(5), 6.0, None);
    let started = std::time::Instant::now();
    let mut early = 0;
    let mut harness = spell(speller, session, gaze, egui::vec2(1000.0, 640.0), |sp| {
        if let (Phase::Feedback { .. }, Some((_, true))) = (sp.phase(), sp.last_selection()) {
            early += 1;
        }
    });
    let (correct, judged) = harness.state().speller().score();
    let typed = harness.state().speller().text().to_string();
    let secs = started.elapsed().as_secs_f64();
    println!("typed {typed:?}: {correct}/{judged} correct in {secs:.1} s");
    assert_eq!(judged, 5);
    assert!(correct >= 4, "typed {typed:?}");
    assert!(early > 0, "dynamic stopping ended some flickers early");
    harness.state_mut().finish();
    std::fs::remove_dir_all(&dir).ok();
}

/// A three-key speller at the shipped SSVEP network's targets (13/17/21 Hz), decoded by the
/// network on a simulated user whose 64-channel montage at 256 Hz holds the card's channels:
/// every flicker is decided 2 s after its onset (the window starts at the onset) and the cued
/// keys are typed.
#[test]
fn the_speller_spells_with_the_shipped_ssvep_network() {
    if !common::onnx_runtime() {
        return;
    }
    let net = neuroloop_decoders::ssvep::SsvepNet::shipped().unwrap();
    let cfg = net.config().clone();
    let decoder = neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder::net(net, 0.2);
    let layout = SpellerLayout::custom(&cfg.targets_hz, PI / 2.0, "ABC").unwrap();
    let phrase = "CAB";
    let timing = SpellerTiming {
        stim_secs: 2.5,
        ..SpellerTiming::default()
    };
    let speller = Speller::cued(layout.clone(), timing, phrase).unwrap();
    let gaze = Arc::new(Attention::new());
    let sim = SimConfig {
        seed: 3,
        sample_rate_hz: cfg.sample_rate_hz,
        channel_labels: SimConfig::labels_for(64),
        ..SimConfig::default()
    };
    let session = gaze_session(&layout, &gaze, Box::new(decoder), sim, 4.0, None);
    let started = std::time::Instant::now();
    let mut harness = spell(speller, session, gaze, egui::vec2(600.0, 300.0), |_| {});
    let (correct, judged) = harness.state().speller().score();
    let typed = harness.state().speller().text().to_string();
    println!(
        "network speller typed {typed:?}: {correct}/{judged} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        judged, 3,
        "every flicker ends in a selection, typed {typed:?}"
    );
    assert!(correct >= 2, "typed {typed:?}");
    harness.state_mut().finish();
}

/// The real window (eframe, glow) on the display the tests run under (Xvfb in CI): a short
/// cued run on four targets closes itself at the end and leaves a screenshot whose keys show
/// several grey levels (the flicker) and a recording with the speller's markers.
#[test]
fn the_speller_window_runs_on_the_display_and_saves_a_screenshot() {
    if !common::display_or_skip() {
        return;
    }
    let dir = common::temp_dir("speller-window");
    let shot = dir.join("speller.png");
    let record = dir.join("speller.xdf");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let out = common::run_ok(&[
        "speller",
        "--targets",
        "7,8.5,12,15",
        "--keys",
        "AB <",
        "--phrase",
        "AB",
        "--cue-secs",
        "0.5",
        "--stim-secs",
        "1.5",
        "--markers",
        "none",
        "--record",
        &p(&record),
        "--screenshot",
        &p(&shot),
        "--screenshot-after",
        "0.8",
    ]);
    let img = image::open(&shot).expect("a PNG screenshot").to_luma8();
    assert!(img.width() > 200 && img.height() > 200);
    let mut levels = std::collections::BTreeSet::new();
    for px in img.pixels() {
        levels.insert(px.0[0] / 16);
    }
    assert!(levels.len() >= 4, "grey levels seen: {levels:?}");
    let file = neuroloop_formats::xdf::read(&record).unwrap();
    assert!(
        file.streams
            .iter()
            .any(|s| s.header.name == "neuroloop-frames")
    );
    // The run's summary: printed, and saved beside the recording.
    // Its 1.5-s flickers are shorter than FBCCA's 2-s window: no selection, and it says so.
    assert!(
        out.contains("phrase        AB")
            && out.contains("none of the 2 flickers ended in a selection"),
        "{out}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("speller.summary.json")).unwrap()).unwrap();
    assert_eq!(summary["phrase"], "AB");
    assert_eq!(summary["cued"], 2);
    assert_eq!(summary["no_selection"], 2);
    assert_eq!(summary["targets"], 4);
    std::fs::remove_dir_all(&dir).ok();
}
