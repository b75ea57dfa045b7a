//! The live window, driven headless by egui_kittest on a simulator session.

use std::sync::{Arc, Mutex};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use neuroloop::gui::LiveView;
use neuroloop::outputs::{DecoderInfo, OutputConfig, TruthMapping};
use neuroloop::pipeline::FrontEnd;
use neuroloop::session::{Session, SessionConfig, SourceSpec};
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_decoders::Decoder;
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};

fn session(seconds: f64) -> Session {
    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig::default());
    let info = DecoderInfo::of(&decoder, TruthMapping::SsvepTargetIndex);
    session_with(
        Box::new(decoder),
        info,
        Scenario::Ssvep(SsvepScenario::default()),
        seconds,
    )
}

fn session_with(
    decoder: Box<dyn Decoder>,
    info: DecoderInfo,
    scenario: Scenario,
    seconds: f64,
) -> Session {
    Session::start(config(vec![(decoder, info)], scenario, 20.0, seconds)).unwrap()
}

/// A simulator session at `speed` times real time, feeding the window.
fn config(
    decoders: Vec<(Box<dyn Decoder>, DecoderInfo)>,
    scenario: Scenario,
    speed: f64,
    seconds: f64,
) -> SessionConfig {
    SessionConfig {
        source: SourceSpec::Simulator {
            config: SimConfig {
                scenario,
                ..SimConfig::default()
            },
            pacing: Pacing::Speed(speed),
            chunk_frames: 0,
            duration_secs: Some(seconds),
            time_origin: None,
        },
        front_end: FrontEnd::default(),
        decoders,
        outputs: OutputConfig {
            marker_stream: None,
            record: None,
            clocked: true,
            stim_trigger: None,
        },
        ring_secs: 4.0,
        with_scope: true,
        stimulation: None,
    }
}

#[test]
fn live_view_shows_status_targets_and_decisions_then_the_report() {
    let sink = Arc::new(Mutex::new(None));
    let view = LiveView::new(session(20.0), "simulator".into(), false, Arc::clone(&sink));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .build_eframe(|_| view);
    // While running: the status line, the decoder panel with its four targets.
    harness.run_steps(5);
    harness.get_by_label("simulator");
    harness.get_by_label("ssvep-cca");
    for target in ["7Hz", "8.5Hz", "12Hz", "15Hz"] {
        harness.get_by_label(target);
    }
    harness.get_by_label_contains("front end: ");
    // The raw-signal monitor: a quality cell per channel, waiting for its first 4 s.
    harness.get_by_label_contains("raw signal (before the front end)");
    for label in ["Fz", "Cz", "Oz"] {
        harness.get_by_label_contains(&format!("{label}: "));
    }
    // 20 s of data at 20x real time: about a second; step the UI until the session ends,
    // checking that the simulated channels are assessed good on the way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut assessed = false;
    while sink.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        assessed |= harness.query_by_label("Oz: good").is_some();
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.run_steps(2);
    harness.get_by_label("session finished");
    let report = sink
        .lock()
        .unwrap()
        .clone()
        .expect("the view reports when the source ends");
    assert_eq!(report.frames_processed, 5000);
    assert_eq!(report.frames_dropped, 0);
    assert!(report.decisions >= 80, "{} decisions", report.decisions);
    assert!(assessed, "the monitor never assessed Oz");
}

/// Motor imagery in the live window: the two classes, the feedback cursor between them, and
/// decisions scored against the simulator's cues.
#[test]
fn motor_imagery_view_shows_classes_and_the_feedback_cursor() {
    use neuroloop_acquisition::sim::MiScenario;
    use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiMethod};
    let labels = SimConfig::default().channel_labels;
    let model =
        neuroloop::bench::synthetic_mi_model(MiMethod::CspLda, &labels, 250.0, 2.0).unwrap();
    let decoder = MiDecoder::new(model, MiDecoderConfig::default()).unwrap();
    let info = DecoderInfo::of(&decoder, TruthMapping::MiClassName);
    let s = session_with(
        Box::new(decoder),
        info,
        Scenario::MotorImagery(MiScenario::default()),
        20.0,
    );
    let sink = Arc::new(Mutex::new(None));
    let view = LiveView::new(s, "simulator".into(), false, Arc::clone(&sink));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 700.0))
        .build_eframe(|_| view);
    // While running, once the cursor averages a full set of decisions (past the first
    // cued trial, so some decisions are scored).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while harness
        .query_by_label_contains("(mean of the last 8 decisions)")
        .is_none()
        || harness
            .query_by_label_contains("accuracy vs ground truth")
            .is_none()
    {
        assert!(std::time::Instant::now() < deadline, "no feedback shown");
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.get_by_label("mi-csp-lda");
    // Class names appear in the class row and beside the cursor.
    assert!(harness.query_all_by_label("left_hand").count() >= 2);
    assert!(harness.query_all_by_label("right_hand").count() >= 2);
    harness.get_by_label_contains("feedback ");
    while sink.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let report = sink.lock().unwrap().clone().unwrap();
    // 20 s, a decision every 0.25 s once the 2-s window is full.
    assert!(report.decisions >= 70, "{} decisions", report.decisions);
}

/// Sleep in the live window: spindle and slow-oscillation decoders, and the stimulation panel
/// with its dry-run banner, counts and the latest stimulus events.
#[test]
fn sleep_view_shows_the_stimulation_log() {
    use neuroloop::session::StimulationSpec;
    use neuroloop::stimulation::StimTrigger;
    use neuroloop_acquisition::sim::SleepScenario;
    use neuroloop_decoders::sleep::{SoDecoder, SoDecoderConfig, SpindleDecoder};
    let spindles = SpindleDecoder::new(Default::default());
    let so = SoDecoder::new(SoDecoderConfig {
        channel: Some("Fz".into()),
        ..SoDecoderConfig::default()
    });
    let (a, b) = (
        DecoderInfo::of(&spindles, TruthMapping::None),
        DecoderInfo::of(&so, TruthMapping::None),
    );
    let s = Session::start(SessionConfig {
        front_end: FrontEnd {
            highpass_hz: Some(0.1),
            ..FrontEnd::default()
        },
        stimulation: Some(StimulationSpec::dry_run(
            StimTrigger::SlowOscillation,
            Some("Fz".into()),
        )),
        ..config(
            vec![(Box::new(spindles), a), (Box::new(so), b)],
            Scenario::Sleep(SleepScenario::default()),
            40.0,
            240.0,
        )
    })
    .unwrap();
    let sink = Arc::new(Mutex::new(None));
    let view = LiveView::new(s, "simulator".into(), false, Arc::clone(&sink));
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 800.0))
        .build_eframe(|_| view);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while harness.query_by_label_contains("stim/commanded").is_none() {
        assert!(std::time::Instant::now() < deadline, "no stimulus shown");
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.get_by_label("stimulation");
    harness.get_by_label("DRY RUN: no sound");
    harness.get_by_label_contains("bursts commanded");
    harness.get_by_label("spindle-a7");
    // The spindle decoder brings the sigma-power plot.
    harness.get_by_label_contains("sigma (11-16 Hz) RMS");
    harness.get_by_label("so-phase");
    harness.get_by_label("so-target");
    while sink.lock().unwrap().is_none() && std::time::Instant::now() < deadline {
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let report = sink.lock().unwrap().clone().unwrap();
    let st = report.stimulation.unwrap();
    assert!(st.commanded >= 1 && st.dry_run, "{st:?}");
    assert_eq!(st.trigger, "so");
}

#[test]
fn the_sigma_plot_shows_band_power_in_microvolts() {
    use neuroloop::gui::SigmaHistory;
    let fs = 250.0;
    let mut sigma = SigmaHistory::new(2, fs).unwrap();
    // Channel 0: 13 Hz at 20 µV amplitude (RMS 14.1 µV); channel 1: 3 Hz at 50 µV.
    for i in 0..(10.0 * fs) as usize {
        let t = i as f64 / fs;
        let tau = std::f64::consts::TAU;
        sigma.push_frame(&[
            (20.0 * (tau * 13.0 * t).sin()) as f32,
            (50.0 * (tau * 3.0 * t).sin()) as f32,
        ]);
    }
    assert_eq!(sigma.channels[0].len(), 100);
    let last = |c: usize| f64::from(*sigma.channels[c].back().unwrap());
    assert!((last(0) - 14.14).abs() < 1.0, "13 Hz: {} µV", last(0));
    assert!(last(1) < 1.0, "3 Hz: {} µV", last(1));
    // No sigma band at 25 Hz sampling.
    assert!(SigmaHistory::new(2, 25.0).is_none());
}

/// The start screen: its choices, an error shown with its fix (a recording that does not
/// exist), then the simulator started in monitor mode in the same window, and back.
#[test]
fn start_screen_starts_the_simulator_monitor_and_shows_errors_with_the_fix() {
    use neuroloop::launcher::{Launcher, Paradigm, Profile, SourceKind};
    let dir = std::env::temp_dir().join(format!("neuroloop-start-{}", std::process::id()));
    let profile_path = dir.join("profile.toml");
    let launcher = Launcher::new(Profile::default(), profile_path.clone(), false);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 860.0))
        .build_eframe(|_| launcher);
    harness.run_steps(2);
    for label in [
        "Source",
        "Simulator",
        "LSL stream",
        "Recording to replay (XDF, EDF, BDF)",
        "Paradigm",
        "Monitor only",
        "SSVEP decoding (FBCCA)",
        "Start",
        "Save profile",
    ] {
        harness.get_by_label(label);
    }
    // A missing recording: the screen says so and what to give instead; nothing starts.
    harness.state_mut().profile_mut().file = "/nonexistent/night.edf".into();
    harness
        .get_by_label("Recording to replay (XDF, EDF, BDF)")
        .click();
    harness.run_steps(1);
    assert_eq!(harness.state().profile().source, SourceKind::File);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    harness.get_by_label_contains("was not found: give the path of an XDF, EDF or BDF file");
    assert!(!harness.state().is_running());
    // The profile is saved where the screen says.
    harness.get_by_label("Save profile").click();
    harness.run_steps(2);
    let saved = Profile::load(&profile_path).unwrap();
    assert_eq!(saved.source, SourceKind::File);
    // The simulator, monitor only: the live view with the raw-signal monitor.
    harness.get_by_label("Simulator").click();
    harness.run_steps(1);
    assert_eq!(harness.state().profile().paradigm, Paradigm::Monitor);
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    assert!(harness.state().is_running());
    harness.get_by_label_contains("raw signal (before the front end)");
    for label in ["Fz", "Oz"] {
        harness.get_by_label_contains(&format!("{label}: "));
    }
    // Back to the start screen, with the last session's summary.
    std::thread::sleep(std::time::Duration::from_millis(300));
    harness.run_steps(1);
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    harness.get_by_label_contains("last session:");
    std::fs::remove_dir_all(&dir).ok();
}
