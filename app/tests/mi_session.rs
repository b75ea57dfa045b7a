//! The motor-imagery window end to end on the simulator, whose subject imagines what the cue
//! says: a cued calibration run recorded with markers, the decoder fitted from that recording,
//! then online feedback scored trial by trial. Headless with egui_kittest (simulator and
//! paradigm 4x faster than real time), and the real window under the test display.

use std::sync::Arc;

use egui::epaint::Shape;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use neuroloop::mi::model::FeedbackModel;
use neuroloop::mi::paradigm::{ImageryMode, ImageryPhase, ImageryTiming, class_direction};
use neuroloop::mi::view::{ImageryPlan, ImageryView, SessionFactory, SessionRole};
use neuroloop_acquisition::sim::{Attention, MiScenario, Scenario, SimConfig};
use neuroloop_acquisition::{MiClass, Pacing};
use neuroloop_decoders::mi::{MiDecoderConfig, MiMethod};
use neuroloop_offline::calibration::imagery::CalibrationCut;
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};

mod common;

const SPEED: f64 = 4.0;

/// Two classes, 8 calibration and 2 feedback trials per class, CSP-LDA, no model saved, the
/// window closing when done: the plan the shorter tests start from.
fn short_plan(classes: Vec<MiClass>) -> ImageryPlan {
    ImageryPlan {
        classes,
        timing: timing(),
        calibration_trials: 8,
        feedback_trials: 2,
        seed: 3,
        cut: CalibrationCut::default(),
        methods: vec![MiMethod::CspLda],
        model_out: None,
        model: None,
        close_when_done: true,
        ask_below_chance: true,
    }
}

fn timing() -> ImageryTiming {
    ImageryTiming {
        fixation_secs: 0.5,
        cue_secs: 0.5,
        imagery_secs: 3.0,
        rest_secs: (0.5, 0.8),
    }
}

/// Cue markers of a recording's event stream.
fn markers(path: &std::path::Path, prefix: &str) -> Vec<String> {
    let xdf = neuroloop_formats::xdf::read(path).unwrap();
    let s = xdf.stream_by_name("neuroloop-events").unwrap();
    (0..s.sample_count())
        .map(|i| s.value_str(i, 0).unwrap().to_string())
        .filter(|m| m.starts_with(prefix))
        .collect()
}

/// Yellow line segments (the cue arrow) painted on the last frame.
fn arrow_segments(harness: &Harness<'_, ImageryView>) -> Vec<[egui::Pos2; 2]> {
    fn walk(shape: &Shape, out: &mut Vec<[egui::Pos2; 2]>) {
        match shape {
            Shape::LineSegment { points, stroke }
                if stroke.color.r() > 200 && stroke.color.b() < 100 =>
            {
                out.push(*points)
            }
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

/// Each stage's session on the simulator, paced SPEED times real time on `clock`: the
/// calibration recorded to DIR/calibration.xdf, feedback (counted in `feedback_started`) with
/// the fitted model to DIR/feedback.xdf. With `intent` the simulated subject imagines what
/// the cue says; without, it ignores the cues.
fn simulated_sessions(
    dir: &std::path::Path,
    classes: &[MiClass],
    intent: Option<Arc<Attention>>,
    clock: impl Fn() -> f64 + 'static,
    feedback_started: Option<Arc<std::sync::atomic::AtomicUsize>>,
    layout: Option<(f64, Vec<String>)>,
) -> SessionFactory {
    let (dir, classes) = (dir.to_path_buf(), classes.to_vec());
    let mut sessions = 0u64;
    Box::new(move |role: SessionRole| {
        sessions += 1;
        let defaults = SimConfig::default();
        let (sample_rate_hz, channel_labels) = layout
            .clone()
            .unwrap_or((defaults.sample_rate_hz, defaults.channel_labels.clone()));
        let source = SourceSpec::Simulator {
            config: SimConfig {
                seed: 10 + sessions,
                scenario: Scenario::MotorImagery(MiScenario {
                    classes: classes.clone(),
                    trial_secs: timing().imagery_secs,
                    intent: intent.clone(),
                    ..MiScenario::default()
                }),
                sample_rate_hz,
                channel_labels,
                ..defaults
            },
            pacing: Pacing::Speed(SPEED),
            chunk_frames: 0,
            duration_secs: None,
            time_origin: Some(clock()),
        };
        let config = SessionConfig::new(source).markers(None);
        let config = match role {
            SessionRole::Calibration => config.record(Some(dir.join("calibration.xdf"))),
            SessionRole::Feedback(model) => {
                if let Some(n) = &feedback_started {
                    n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                config
                    .decoder(model.decoder(MiDecoderConfig::default().step_secs)?)
                    .record(Some(dir.join("feedback.xdf")))
            }
        };
        Ok(Session::start(config)?)
    })
}

#[test]
fn calibrate_fit_and_feedback_in_one_window_on_the_simulator() {
    let dir = common::temp_dir("mi-window");
    let classes = vec![MiClass::LeftHand, MiClass::RightHand];
    // The paradigm's clock runs SPEED times faster than the wall clock, like the simulator.
    let wall0 = neuroloop_acquisition::clock::local_clock();
    let clock = move || wall0 + SPEED * (neuroloop_acquisition::clock::local_clock() - wall0);
    let intent = Arc::new(Attention::new());
    let factory = simulated_sessions(&dir, &classes, Some(Arc::clone(&intent)), clock, None, None);
    let plan = ImageryPlan {
        classes: classes.clone(),
        timing: timing(),
        calibration_trials: 8,
        feedback_trials: 4,
        seed: 3,
        cut: CalibrationCut::default(),
        methods: vec![MiMethod::CspLda, MiMethod::TsLr],
        model_out: Some(dir.join("model.json")),
        model: None,
        close_when_done: true,
        ask_below_chance: true,
    };
    let view = ImageryView::new(plan, factory, Some(intent), Box::new(clock));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(|ui, view: &mut ImageryView| view.ui(ui), view);
    harness.step();
    harness.get_by_label("calibration: trial 1 of 16");
    let mut arrows_checked = 0;
    let mut cursor_samples: Vec<(MiClass, f32)> = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while !harness.state().is_finished() {
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        std::thread::sleep(std::time::Duration::from_millis(4));
        harness.step();
        let view = harness.state();
        let Some(p) = view.paradigm() else {
            continue;
        };
        let (ImageryPhase::Imagery { at }, Some(cued)) = (p.phase(), p.cued()) else {
            continue;
        };
        let since = clock() - at;
        // The cue arrow points the class's way while it shows.
        if since < 0.3 {
            let segs = arrow_segments(&harness);
            if let Some(shaft) = segs.first() {
                let (dx, _) = class_direction(cued);
                let v = shaft[1] - shaft[0];
                assert!(v.x * dx > 50.0, "{cued:?} arrow {v:?}");
                arrows_checked += 1;
            }
        }
        if p.mode() == ImageryMode::Feedback
            && since > 2.6
            && let Some((x, _)) = harness.state().cursor()
        {
            cursor_samples.push((cued, x));
        }
    }
    let view = harness.state();
    assert_eq!(view.error(), None, "{:?}", view.report());
    let report = view.report().join("\n");
    println!("{report}");
    assert!(
        arrows_checked > 10,
        "arrows checked on {arrows_checked} frames"
    );
    // Calibration: 16 cue markers (not double-counted with the simulator's truth).
    assert_eq!(markers(&dir.join("calibration.xdf"), "cue/mi ").len(), 16);
    assert!(report.contains("calibration: 16 trials"), "{report}");
    assert!(dir.join("model.json").exists());
    let model = neuroloop_decoders::mi::MiModel::load(&dir.join("model.json")).unwrap();
    // Fitted on the paradigm's 16 cues, not also on the simulator's truth of the same trials.
    assert_eq!(model.training.trials_per_class, [8, 8]);
    let cv = model.training.cross_validated_accuracy.unwrap();
    assert!(cv >= 0.75, "cross-validated accuracy {cv}");
    // Feedback: 8 scored trials, well above chance (50 %).
    let (ok, n) = view.final_score().unwrap();
    assert_eq!(n, 8);
    assert!(ok >= 7, "feedback {ok}/{n}");
    let results = markers(&dir.join("feedback.xdf"), "mi result ");
    assert_eq!(results.len(), 8);
    // The end of the run: accuracy against chance, the confusion matrix, another run.
    harness.step();
    harness.get_by_label_contains(&format!("feedback: {ok} of 8 trials decoded as cued"));
    harness.get_by_label("cued \\ decoded");
    harness.get_by_label("Feedback again");
    harness.get_by_label("Calibrate again");
    // Saved beside the feedback recording.
    let summary: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join("feedback.summary.json")).expect("the run's summary"),
    )
    .unwrap();
    assert_eq!(summary["feedback"]["correct"], ok as u64);
    assert_eq!(summary["calibration_trials"], 16);
    assert_eq!(summary["cross_validation"].as_array().unwrap().len(), 2);
    let confusion = summary["feedback"]["confusion"].as_array().unwrap();
    let diagonal: u64 = (0..2).map(|i| confusion[i][i].as_u64().unwrap()).sum();
    assert_eq!(diagonal, ok as u64);
    assert_eq!(
        results
            .iter()
            .filter(|m| m.ends_with("correct=true"))
            .count(),
        ok
    );
    // Late in the imagery period the cursor leans to the cued side on most frames.
    let leaning = cursor_samples
        .iter()
        .filter(|(c, x)| class_direction(*c).0 * x > 0.0)
        .count();
    assert!(
        cursor_samples.len() > 20 && leaning * 4 >= cursor_samples.len() * 3,
        "cursor on the cued side in {leaning}/{} late frames",
        cursor_samples.len()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A subject who ignores the cues calibrates a decoder at chance: the window says so with the
/// accuracy's interval and starts no feedback until the user chooses; "Give feedback anyway"
/// then starts it.
#[test]
fn a_chance_level_model_asks_before_feedback() {
    let dir = common::temp_dir("mi-window-chance");
    let classes = vec![MiClass::LeftHand, MiClass::RightHand];
    let wall0 = neuroloop_acquisition::clock::local_clock();
    let clock = move || wall0 + SPEED * (neuroloop_acquisition::clock::local_clock() - wall0);
    let feedback = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let factory = simulated_sessions(
        &dir,
        &classes,
        None,
        clock,
        Some(Arc::clone(&feedback)),
        None,
    );
    let plan = short_plan(classes);
    let view = ImageryView::new(plan, factory, None, Box::new(clock));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(|ui, view: &mut ImageryView| view.ui(ui), view);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while harness.query_by_label("waiting for your choice").is_none() {
        assert!(
            std::time::Instant::now() < deadline && !harness.state().is_finished(),
            "no question asked: {:?}",
            harness.state().report()
        );
        std::thread::sleep(std::time::Duration::from_millis(4));
        harness.step();
    }
    harness.get_by_label_contains("not shown to work better than chance");
    harness.get_by_label_contains("95 % CI");
    // Nothing happens while the question stands.
    for _ in 0..20 {
        harness.step();
    }
    assert_eq!(feedback.load(std::sync::atomic::Ordering::SeqCst), 0);
    harness.get_by_label("Give feedback anyway").click();
    for _ in 0..5 {
        harness.step();
    }
    assert_eq!(feedback.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        harness
            .state()
            .report()
            .iter()
            .any(|l| l.starts_with("feedback confirmed with a model at")),
        "{:?}",
        harness.state().report()
    );
    harness.state_mut().finish();
    std::fs::remove_dir_all(&dir).ok();
}

/// A network's card (the PyTorch example, `assets/examples/eegnet-mi.toml`) gives feedback
/// without calibration: the simulator takes the card's rate and channels, the card's held-out
/// accuracy is checked against chance (here it is not above it, and the scripted run goes on
/// with a warning), and every feedback trial is scored.
#[test]
fn a_network_card_gives_feedback_without_calibration() {
    if !common::onnx_runtime() {
        return;
    }
    let dir = common::temp_dir("mi-window-card");
    let card = neuroloop_decoders::onnx::shipped_models_dir().join("../examples/eegnet-mi.toml");
    let model = FeedbackModel::load(&card).unwrap();
    assert_eq!(model.describe(), "network eegnet-mi");
    let check = model.check().expect("the card states a held-out accuracy");
    assert!(!check.above_chance(), "{}", check.describe());
    let FeedbackModel::Network { config, .. } = &model else {
        panic!("a card loads as a network");
    };
    let layout = Some((config.sample_rate_hz, config.channels.clone()));
    let classes = vec![MiClass::LeftHand, MiClass::RightHand];
    let wall0 = neuroloop_acquisition::clock::local_clock();
    let clock = move || wall0 + SPEED * (neuroloop_acquisition::clock::local_clock() - wall0);
    let intent = Arc::new(Attention::new());
    let factory = simulated_sessions(
        &dir,
        &classes,
        Some(Arc::clone(&intent)),
        clock,
        None,
        layout,
    );
    let plan = ImageryPlan {
        model: Some(model),
        ask_below_chance: false,
        ..short_plan(classes)
    }
    .checked()
    .unwrap();
    assert_eq!(plan.calibration_trials, 0, "a model skips calibration");
    let view = ImageryView::new(plan, factory, Some(intent), Box::new(clock));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(900.0, 700.0))
        .build_ui_state(|ui, view: &mut ImageryView| view.ui(ui), view);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !harness.state().is_finished() {
        assert!(std::time::Instant::now() < deadline, "the run did not end");
        std::thread::sleep(std::time::Duration::from_millis(4));
        harness.step();
    }
    let view = harness.state();
    assert_eq!(view.error(), None, "{:?}", view.report());
    let (_, scored) = view.final_score().expect("feedback scored");
    assert_eq!(scored, 4, "{:?}", view.report());
    assert_eq!(
        view.summary().model_method.as_deref(),
        Some("network eegnet-mi")
    );
    assert!(
        view.report()
            .iter()
            .any(|l| l.starts_with("warning: feedback from a model not shown above chance")),
        "{:?}",
        view.report()
    );
    assert!(dir.join("feedback.xdf").is_file());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_session_settings_are_refused_before_the_window_opens() {
    let dir = common::temp_dir("mi-window-settings");
    let out = dir.to_str().unwrap();
    // An unknown class: the choices are named.
    let err = common::run_err(&[
        "mi",
        "session",
        "--classes",
        "left_hand,tongue",
        "--out",
        out,
    ]);
    assert!(
        err.contains("tongue") && err.contains("left_hand, right_hand, feet, rest"),
        "{err}"
    );
    // A left/right model for a feet/rest paradigm: the model's classes are named.
    let labels = SimConfig::default().channel_labels;
    let model =
        neuroloop_decoders::mi::MiModel::synthetic(MiMethod::CspLda, &labels, 250.0, 2.0).unwrap();
    let path = dir.join("lr.json");
    model.save(&path).unwrap();
    let err = common::run_err(&[
        "mi",
        "session",
        "--mi-model",
        path.to_str().unwrap(),
        "--classes",
        "feet,rest",
        "--out",
        out,
    ]);
    assert!(err.contains("left_hand,right_hand (--classes"), "{err}");
    // An imagery period shorter than the decision window after the cue.
    let err = common::run_err(&["mi", "session", "--imagery-secs", "2", "--out", out]);
    assert!(err.contains("--imagery-secs"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The real window (eframe, glow) on the display the tests run under (Xvfb in CI): the whole
/// calibrate → fit → feedback flow in real time, closing itself at the end.
#[test]
fn the_imagery_window_calibrates_fits_and_gives_feedback_on_the_display() {
    if !common::display_or_skip() {
        return;
    }
    let dir = common::temp_dir("mi-session");
    let shot = dir.join("mi.png");
    let p = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let out = common::run_ok(&[
        "mi",
        "session",
        "--calibration-trials",
        "6",
        "--feedback-trials",
        "3",
        "--fixation-secs",
        "0.5",
        // The arrow shows from 0.5 to 2.5 s after the first trial starts, so the screenshot
        // at 1.3 s catches it even when starting the session delays that trial on a busy
        // machine.
        "--cue-secs",
        "2",
        "--imagery-secs",
        "3",
        "--rest-secs",
        "0.5,0.8",
        "--out",
        &p(&dir),
        "--markers",
        "none",
        "--close-when-done",
        // Twelve calibration trials rarely show a model above chance with 95 % confidence;
        // this run checks the window's flow, not that guard.
        "--allow-chance-model",
        "--screenshot",
        &p(&shot),
        "--screenshot-after",
        "1.3",
    ]);
    println!("{out}");
    assert!(out.contains("calibration: 12 trials"), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("feedback: "))
        .unwrap_or_else(|| panic!("no feedback score in:\n{out}"));
    let ok: usize = line["feedback: ".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(ok >= 5, "{line}");
    assert_eq!(markers(&dir.join("feedback.xdf"), "mi result ").len(), 6);
    // The screenshot shows the cue: the arrow's yellow on black.
    let img = image::open(&shot).expect("a PNG screenshot").to_rgb8();
    let yellow = img
        .pixels()
        .filter(|px| px.0[0] > 200 && px.0[1] > 160 && px.0[2] < 100)
        .count();
    assert!(yellow > 200, "{yellow} yellow pixels");
    std::fs::remove_dir_all(&dir).ok();
}
