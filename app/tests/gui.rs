//! The live window, driven headless by egui_kittest on a simulator session.

mod common;

use std::sync::{Arc, Mutex};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use neuroloop::session_window::SessionWindow;
use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_decoders::Decoder;
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use neuroloop_runtime::outputs::TruthMapping;
use neuroloop_runtime::{Session, SessionConfig, SessionDecoder, SourceSpec};

fn session(seconds: f64) -> Session {
    let decoder = SsvepCcaDecoder::new(SsvepCcaConfig::default());
    session_with(
        SessionDecoder::new(decoder, TruthMapping::SsvepTargetIndex),
        Scenario::Ssvep(SsvepScenario::default()),
        seconds,
    )
}

fn session_with(decoder: SessionDecoder, scenario: Scenario, seconds: f64) -> Session {
    Session::start(config(vec![decoder], scenario, 20.0, seconds)).unwrap()
}

/// A 1200-pixel-wide headless window `height` pixels tall running `app`.
fn window<S: eframe::App + 'static>(app: S, height: f32) -> Harness<'static, S> {
    Harness::builder()
        .with_size(egui::vec2(1200.0, height))
        .build_eframe(|_| app)
}

/// Ten minutes of the simulator's SSVEP scenario at `speed` times real time, no decoder.
fn undecoded_session(speed: f64) -> Session {
    Session::start(config(
        vec![],
        Scenario::Ssvep(SsvepScenario::default()),
        speed,
        600.0,
    ))
    .unwrap()
}

/// A simulator session at `speed` times real time, feeding the window.
fn config(
    decoders: Vec<SessionDecoder>,
    scenario: Scenario,
    speed: f64,
    seconds: f64,
) -> SessionConfig {
    let source = SourceSpec::Simulator {
        config: SimConfig {
            scenario,
            ..SimConfig::default()
        },
        pacing: Pacing::Speed(speed),
        chunk_frames: 0,
        duration_secs: Some(seconds),
        time_origin: None,
    };
    let mut config = SessionConfig::new(source).markers(None).with_window(true);
    config.decoders = decoders;
    config
}

#[test]
fn live_view_shows_status_targets_and_decisions_then_the_report() {
    let sink = Arc::new(Mutex::new(None));
    let view = SessionWindow::new(session(20.0), "simulator".into(), false, Arc::clone(&sink));
    let mut harness = window(view, 700.0);
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
        neuroloop_decoders::mi::MiModel::synthetic(MiMethod::CspLda, &labels, 250.0, 2.0).unwrap();
    let decoder = MiDecoder::new(model, MiDecoderConfig::default()).unwrap();
    let s = session_with(
        SessionDecoder::new(decoder, TruthMapping::MiClassName),
        Scenario::MotorImagery(MiScenario::default()),
        20.0,
    );
    let sink = Arc::new(Mutex::new(None));
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::clone(&sink));
    let mut harness = window(view, 700.0);
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
    use neuroloop_acquisition::sim::SleepScenario;
    use neuroloop_decoders::sleep::{SoDecoder, SoDecoderConfig, SpindleDecoder};
    use neuroloop_runtime::session::StimulationSpec;
    use neuroloop_runtime::stimulation::StimTrigger;
    let spindles = SpindleDecoder::new(Default::default());
    let so = SoDecoder::new(SoDecoderConfig {
        channel: Some("Fz".into()),
        ..SoDecoderConfig::default()
    });
    let decoders = vec![
        SessionDecoder::new(spindles, TruthMapping::None),
        SessionDecoder::new(so, TruthMapping::None),
    ];
    let config = config(
        decoders,
        Scenario::Sleep(SleepScenario::default()),
        40.0,
        240.0,
    )
    .front_end(neuroloop_runtime::FrontEnd {
        highpass_hz: Some(0.1),
        ..Default::default()
    })
    .stimulation(Some(StimulationSpec::dry_run(
        StimTrigger::SlowOscillation,
        Some("Fz".into()),
    )));
    let s = Session::start(config).unwrap();
    let sink = Arc::new(Mutex::new(None));
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::clone(&sink));
    let mut harness = window(view, 800.0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while harness
        .query_by_label_contains("burst on so commanded, due")
        .is_none()
    {
        assert!(std::time::Instant::now() < deadline, "no stimulus shown");
        harness.run_steps(1);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    harness.get_by_label("stimulation");
    harness.get_by_label("DRY RUN: stimuli logged, no sound");
    // Times are seconds since the session's first sample, not LSL clock readings.
    let line = harness
        .query_by_label_contains("burst on so commanded, due")
        .map(|n| {
            use egui_kittest::kittest::NodeT as _;
            let node = n.accesskit_node();
            node.label().or_else(|| node.value()).unwrap_or_default()
        })
        .unwrap();
    let secs: f64 = line.split_whitespace().next().unwrap().parse().unwrap();
    assert!((0.0..=240.0).contains(&secs), "{line}");
    assert!(line.ends_with("(dry run)"), "{line}");
    harness.get_by_label_contains("bursts commanded");
    harness.get_by_label("spindle-a7");
    // The spindle decoder brings the sigma-power plot.
    harness.get_by_label_contains("sigma (11-16 Hz) RMS");
    harness.get_by_label("so-phase");
    // The class names the decoder panel and the decision table.
    assert!(harness.query_all_by_label("so-target").next().is_some());
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
    use neuroloop::session_window::SigmaHistory;
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
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let dir = std::env::temp_dir().join(format!("neuroloop-start-{}", std::process::id()));
    let profile_path = dir.join("profile.toml");
    let launcher = StartScreen::new(Profile::default(), profile_path.clone(), false);
    let mut harness = window(launcher, 860.0);
    harness.run_steps(2);
    for label in [
        "Source",
        "Simulator",
        "LSL stream",
        "Recording to replay (XDF, EDF/BDF, BrainVision, GDF, EEGLAB, FIF)",
        "Paradigm",
        "Monitor only",
        "SSVEP decoding (FBCCA, CCA or a fitted model)",
        "Start",
        "Save profile",
    ] {
        harness.get_by_label(label);
    }
    // A missing recording: the screen says so and what to give instead; nothing starts.
    harness.state_mut().profile_mut().file = "/nonexistent/night.edf".into();
    harness
        .get_by_label("Recording to replay (XDF, EDF/BDF, BrainVision, GDF, EEGLAB, FIF)")
        .click();
    harness.run_steps(1);
    assert_eq!(harness.state().profile().source, SourceKind::File);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    harness.get_by_label_contains("was not found: give the path of a recording (XDF, EDF/BDF, BrainVision .vhdr, GDF, EEGLAB .set or FIF)");
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

/// Sleep on a PSG from the start screen: the spindle channel is found by name when the field
/// is empty; a channel typed that the file lacks is refused with the file's channels named;
/// the one typed is what the detector then reads.
#[test]
fn start_screen_sleep_takes_its_channels_from_the_file_or_the_field() {
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let Some(dreams) = common::data_dir("spindles_dreams") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("neuroloop-start-sleep-{}", std::process::id()));
    let profile = Profile {
        source: SourceKind::File,
        file: dreams.join("excerpt3.edf").to_string_lossy().into_owned(),
        paradigm: Paradigm::Sleep,
        ..Profile::default()
    };
    let mut harness = window(StartScreen::new(profile, dir.join("p.toml"), false), 860.0);
    harness.run_steps(2);
    let field = "spindle channel (empty: a central one by name, e.g. Cz, C3-A1)";
    harness.get_by_label(field);
    let start_and_read = |harness: &mut Harness<'static, StartScreen>, reads: &str| {
        harness.get_by_label("Start").click();
        harness.run_steps(3);
        assert!(harness.state().is_running());
        harness.get_by_label("spindle-a7");
        assert!(
            harness.query_all_by_label(reads).next().is_some(),
            "no `{reads}` in the window"
        );
        harness
            .get_by_label("Stop and return to the start screen")
            .click();
        harness.run_steps(2);
        assert!(!harness.state().is_running());
    };
    // Empty field: the file's C3-A1 is found (the file has no Cz). Bursts are logged only.
    harness.get_by_label("Start").click();
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label("DRY RUN: stimuli logged, no sound")
            .is_some()),
        "the stimulation panel did not say dry run"
    );
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    start_and_read(&mut harness, "reads C3-A1");
    // A channel the file lacks: refused, naming what it has; nothing starts.
    harness.get_by_label(field).focus();
    harness.run_steps(1);
    harness.get_by_label(field).type_text("Pz");
    harness.run_steps(1);
    assert_eq!(
        harness.state().profile().sleep.spindle_channel.as_deref(),
        Some("Pz")
    );
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    assert!(!harness.state().is_running());
    harness.get_by_label_contains("channel `Pz` is not in the stream (its channels: O1-A1");
    // A channel it has, by 10-20 name: the detector reads it.
    harness.state_mut().profile_mut().sleep.spindle_channel = Some("Fp1".into());
    start_and_read(&mut harness, "reads FP1-A1");
    // With sound: the output is opened before anything starts. Where it cannot play, nothing
    // starts and the box to untick is named; where it can, the window says it plays.
    harness.state_mut().profile_mut().sleep.spindle_channel = None;
    harness
        .get_by_label("play the bursts (off: dry run, logged only)")
        .click();
    harness.run_steps(1);
    assert!(harness.state().profile().sleep_sound);
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    if harness.state().is_running() {
        assert!(step_until(&mut harness, 10.0, |h| h
            .query_by_label_contains("sound playing on")
            .is_some()));
        harness
            .get_by_label("Stop and return to the start screen")
            .click();
        harness.run_steps(2);
    } else {
        harness.get_by_label_contains("untick \"play the bursts\"");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Start on an LSL stream looks for it on another thread: the window keeps drawing (a spinner,
/// what it looks for), says when the stream is not there with the fix, and starts the session
/// once the stream is on the network; the list shows the amplifier's marker stream, which a
/// click makes (and a second click no longer makes) the marker stream read beside it.
#[test]
fn start_screen_looks_for_the_lsl_stream_without_holding_the_window() {
    use neuroloop::start_screen::{Profile, SourceKind, StartScreen};
    use neuroloop_acquisition::lsl_io::{VirtualAmplifier, run_virtual_amplifier};
    use std::sync::atomic::{AtomicBool, Ordering};
    let name = format!("neuroloop-gui-find-{}", std::process::id());
    let dir = std::env::temp_dir().join(&name);
    let profile = Profile {
        source: SourceKind::Lsl,
        stream: name.clone(),
        ..Profile::default()
    };
    // Listing the network's streams as the start screen does.
    let launcher = StartScreen::new(profile, dir.join("profile.toml"), true);
    let mut harness = window(launcher, 860.0);
    harness.run_steps(2);
    harness.get_by_label("Start").click();
    harness.run_steps(1);
    // The frame right after Start is drawn while the lookup runs: a start on the window's
    // thread would have waited out the whole timeout and show its error here already.
    harness.get_by_label_contains(&format!("looking for the LSL stream `{name}`"));
    assert!(harness.state().is_starting());
    assert!(
        harness
            .query_by_label_contains("no LSL stream matching")
            .is_none()
    );
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label_contains("no LSL stream matching")
            .is_some()),
        "the missing stream was never reported"
    );
    harness.get_by_label_contains("check the stream name and type");
    assert!(!harness.state().is_starting() && !harness.state().is_running());
    // The amplifier appears: Start finds it and the monitor runs on it.
    let stop = Arc::new(AtomicBool::new(false));
    let amp = VirtualAmplifier {
        sim: SimConfig::default(),
        name: name.clone(),
        chunk_frames: 0,
        duration_secs: Some(30.0),
        pacing: Pacing::REAL_TIME,
    };
    let amp_thread = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || run_virtual_amplifier(&amp, &stop, |_, _, _| {}))
    };
    // Visible on the network before Start (a busy machine may take a while to announce it).
    let query = neuroloop_acquisition::lsl_io::LslInletConfig {
        name: Some(name.clone()),
        content_type: None,
        ..Default::default()
    };
    neuroloop_acquisition::lsl_io::find_stream(&query, 20.0).expect("the virtual amplifier");
    harness.get_by_label("Start").click();
    harness.run_steps(1);
    assert!(
        step_until(&mut harness, 10.0, |h| h.state().is_running()),
        "the session never started on the stream"
    );
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("LSL stream {name}"));
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    // Its ground truth is listed as a marker stream; a click reads it beside the EEG, a
    // second click no longer.
    let truth = format!("{name}-truth (markers, no EEG)");
    assert!(
        step_until(&mut harness, 15.0, |h| h.query_by_label(&truth).is_some()),
        "the marker stream was never listed"
    );
    harness.get_by_label(&truth).click();
    harness.run_steps(1);
    assert_eq!(
        harness.state().profile().marker_stream,
        format!("{name}-truth")
    );
    harness.get_by_label(&truth).click();
    harness.run_steps(1);
    assert_eq!(harness.state().profile().marker_stream, "");
    // The window closing while a recorded session is being opened: the session is closed
    // with it, its recording finished (footers written), not killed with the process.
    let recordings = dir.join("recordings");
    let p = harness.state_mut().profile_mut();
    p.record_dir = recordings.display().to_string();
    p.record_at_start = Some(true);
    harness.get_by_label("Start").click();
    harness.run_steps(1);
    assert!(harness.state().is_starting());
    drop(harness);
    let files: Vec<_> = std::fs::read_dir(&recordings)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let xdf = neuroloop_formats::xdf::read(&files[0]).unwrap();
    assert!(xdf.streams.iter().all(|s| s.footer.is_some()));
    stop.store(true, Ordering::Relaxed);
    amp_thread.join().unwrap().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

/// Steps `harness` until `done` holds, for at most `secs` seconds of wall clock.
fn step_until<S>(
    harness: &mut Harness<'_, S>,
    secs: f64,
    mut done: impl FnMut(&Harness<'_, S>) -> bool,
) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < deadline {
        harness.run_steps(1);
        if done(harness) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

/// Recording controls: a recording started and stopped with the button, a second one started
/// with Ctrl+R and left running when the window goes away, which closes it with footers.
#[test]
fn recordings_start_and_stop_in_the_window_and_survive_it_closing() {
    let dir = std::env::temp_dir().join(format!("neuroloop-gui-rec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = undecoded_session(5.0);
    let rate = s.meta.sample_rate_hz;
    let sink = Arc::new(Mutex::new(None));
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::clone(&sink))
        .with_record_dir(dir.clone());
    let mut harness = window(view, 700.0);
    harness.run_steps(2);
    harness.get_by_label("Record").click();
    assert!(
        step_until(&mut harness, 10.0, |h| h.query_by_label("REC").is_some()),
        "the recording never showed as running"
    );
    // A second of wall clock (5 s of data), then stop.
    std::thread::sleep(std::time::Duration::from_secs(1));
    harness.run_steps(1);
    harness.get_by_label("Stop recording").click();
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label_contains("saved ")
            .is_some()),
        "the stopped recording was never listed"
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let first = neuroloop_formats::xdf::read(&files[0]).unwrap();
    let eeg = first.stream_by_name("neuroloop-sim").unwrap();
    assert!(
        eeg.footer.is_some(),
        "a stopped recording is closed with footers"
    );
    let frames = eeg.sample_count();
    assert!(
        frames as f64 >= 2.0 * rate,
        "{frames} frames in about 5 s of data"
    );
    // Stamps follow each other at the sampling interval: nothing lost inside the file.
    let steps = eeg.timestamps_s.windows(2).map(|w| w[1] - w[0]);
    assert!(steps.clone().all(|d| (d - 1.0 / rate).abs() < 1e-6));
    // Ctrl+R starts the next one; the window then closes with it running.
    harness.key_combination_modifiers(egui::Modifiers::COMMAND, &[egui::Key::R]);
    assert!(step_until(&mut harness, 10.0, |h| h
        .query_by_label("REC")
        .is_some()));
    std::thread::sleep(std::time::Duration::from_millis(500));
    harness.run_steps(1);
    drop(harness);
    let second: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| *p != files[0])
        .collect();
    assert_eq!(second.len(), 1, "{second:?}");
    let last = neuroloop_formats::xdf::read(&second[0]).unwrap();
    let eeg = last.stream_by_name("neuroloop-sim").unwrap();
    assert!(
        eeg.footer.is_some(),
        "closing the window closes the recording with footers"
    );
    assert!(eeg.sample_count() > 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Errors the pipeline reports appear in the window with their fix, without stopping the
/// session, and can be dismissed: here a recording asked for in a folder that cannot exist.
#[test]
fn a_pipeline_error_is_shown_with_its_fix_and_can_be_dismissed() {
    let dir = std::env::temp_dir().join(format!("neuroloop-gui-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let blocker = dir.join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let s = undecoded_session(1.0);
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::new(Mutex::new(None)))
        .with_record_dir(blocker.join("recordings"));
    let mut harness = window(view, 700.0);
    harness.run_steps(2);
    assert!(
        harness.query_by_label("problem").is_none(),
        "no problem before"
    );
    harness.get_by_label("Record").click();
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label_contains("cannot be created")
            .is_some()),
        "the failed recording was never reported"
    );
    harness.get_by_label_contains("choose a writable folder");
    harness.get_by_label("problem");
    // The session goes on, and another recording can be asked for.
    harness.get_by_label("Record");
    harness.get_by_label("dismiss").click();
    harness.run_steps(2);
    assert!(
        harness
            .query_by_label_contains("cannot be created")
            .is_none()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A decoder standing for a network whose every call fails (as an ONNX Runtime error would):
/// it decides nothing and counts each window.
struct FailingNet {
    classes: Vec<String>,
    calls: u64,
}

impl Decoder for FailingNet {
    fn name(&self) -> &str {
        "failing-net"
    }
    fn class_names(&self) -> &[String] {
        &self.classes
    }
    fn prepare(
        &mut self,
        _ctx: &neuroloop_decoders::DecoderContext,
    ) -> Result<(), neuroloop_decoders::DecoderError> {
        Ok(())
    }
    fn process(
        &mut self,
        _block: &[f32],
        _stamps: &[f64],
        _out: &mut neuroloop_decoders::DecisionBuffer,
    ) {
        self.calls += 1;
    }
    fn reset(&mut self) {}
    fn failures(&self) -> u64 {
        self.calls
    }
}

/// Failed model calls reach the problems panel with the fix, and the session's report.
#[test]
fn failed_model_calls_are_counted_shown_and_reported() {
    let decoder = FailingNet {
        classes: vec!["a".into(), "b".into()],
        calls: 0,
    };
    let s = Session::start(config(
        vec![SessionDecoder::new(decoder, TruthMapping::None)],
        Scenario::Ssvep(SsvepScenario::default()),
        1.0,
        600.0,
    ))
    .unwrap();
    let reports = Arc::new(Mutex::new(None));
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::clone(&reports));
    let mut harness = window(view, 700.0);
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label_contains("model call(s) of failing-net failed")
            .is_some()),
        "the failed calls were never shown"
    );
    harness.get_by_label_contains("check ONNX Runtime with `neuroloop doctor`");
    harness.state_mut().finish();
    let report = reports.lock().unwrap().take().unwrap();
    assert!(report.decoders[0].failures > 0);
    assert!(
        report.to_text().contains("model calls failed"),
        "{}",
        report.to_text()
    );
}

/// Events drawn on the traces: those of the last seconds, placed relative to the newest
/// sample, with labels naming them.
#[test]
fn trace_events_place_cues_gaps_and_bursts_on_the_time_axis() {
    use neuroloop::session_window::trace_events;
    use neuroloop_acquisition::{SourceEvent, TruthEvent, TruthKind};
    use neuroloop_runtime::outputs::OutputLog;
    use neuroloop_runtime::stimulation::{StimEvent, StimEventKind};
    let mut log = OutputLog::default();
    let truth = |onset| {
        SourceEvent::Truth(TruthEvent {
            onset,
            duration_secs: 4.0,
            kind: TruthKind::SsvepTarget {
                index: 2,
                freq_hz: 12.0,
            },
        })
    };
    log.events.extend([
        truth(90.0), // too old for a 5-s window ending at 100 s
        truth(97.5),
        SourceEvent::Gap {
            at: 99.0,
            missing_secs: 0.25,
        },
        truth(100.5), // not yet on screen
    ]);
    log.stim_events.push_back(StimEvent {
        id: 1,
        kind: StimEventKind::Commanded { dry_run: true },
        target_time: 99.6,
        time: 99.5,
    });
    let events = trace_events(&log, 100.0, 5.0);
    let got: Vec<(f64, &str)> = events
        .iter()
        .map(|e| (e.at_secs, e.label.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (-2.5, "cue 12 Hz"),
            (-1.0, "gap 0.250 s"),
            (-0.5, "burst (dry run)")
        ]
    );
}

/// The speller from the start screen: a file source is refused with the reason; on the
/// simulator the cued phrase starts in the same window, and Esc returns with what was typed.
#[test]
fn start_screen_runs_the_speller_and_returns_with_what_was_typed() {
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let dir = std::env::temp_dir().join(format!("neuroloop-start-speller-{}", std::process::id()));
    let profile = Profile {
        paradigm: Paradigm::Speller,
        speller_phrase: "hi".into(),
        source: SourceKind::File,
        file: "/nonexistent/night.edf".into(),
        ..Profile::default()
    };
    let launcher = StartScreen::new(profile, dir.join("profile.toml"), false);
    let mut harness = window(launcher, 860.0);
    harness.run_steps(2);
    harness.get_by_label("SSVEP speller (40 keys, dynamic stopping; FBCCA or a fitted TRCA model)");
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    harness.get_by_label_contains("the speller needs a live source");
    assert!(!harness.state().is_running());
    harness.get_by_label("Simulator").click();
    harness.run_steps(1);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    assert!(harness.state().is_running());
    assert!(harness.state().speller_view().is_some());
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label("look at H")
            .is_some()),
        "the speller never cued the first letter"
    );
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    harness.get_by_label_contains("last speller session: typed");
    std::fs::remove_dir_all(&dir).ok();
}

/// The speller's calibration from the start screen: the run records to the recordings folder
/// (stopped early, it keeps the recording and fits nothing); a complete calibration recording
/// is fitted on another thread into an ensemble-TRCA model that becomes the profile's speller
/// model, and the speller then starts with it.
#[test]
fn a_speller_calibration_is_fitted_into_the_model_the_speller_then_uses() {
    use neuroloop::start_screen::{Paradigm, Profile, StartScreen};
    let dir = common::temp_dir("start-speller-calibration");
    let recordings = dir.join("recordings");
    let profile = Profile {
        paradigm: Paradigm::Speller,
        speller_calibrate: true,
        record_dir: recordings.display().to_string(),
        ..Profile::default()
    };
    let launcher = StartScreen::new(profile, dir.join("profile.toml"), false);
    let mut harness = window(launcher, 860.0);
    harness.run_steps(2);
    harness.get_by_label_contains("calibration run: every key cued");
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    assert!(harness.state().speller_view().is_some());
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label("look at A")
            .is_some()),
        "the calibration never cued the first key"
    );
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().is_running() && !harness.state().is_fitting());
    harness.get_by_label_contains("the calibration stopped after 0 of its 80 flickers");
    assert!(harness.state().profile().speller_model.is_empty());
    let stopped: Vec<_> = std::fs::read_dir(&recordings)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        stopped
            .iter()
            .any(|n| n.starts_with("speller-calibration-") && n.ends_with(".xdf")),
        "{stopped:?}"
    );
    // A whole calibration of the 40 targets (the simulator's cued user, two trials each).
    let cal = dir.join("calibration.xdf");
    common::record_benchmark_calibration(&cal, 400);
    harness.state_mut().fit_speller_model(cal.clone());
    harness.run_steps(1);
    harness.get_by_label_contains("fitting an ensemble-TRCA speller model");
    assert!(
        step_until(&mut harness, 60.0, |h| !h.state().is_fitting()),
        "the fit never answered"
    );
    harness.run_steps(1);
    harness.get_by_label_contains("ensemble TRCA fitted on 40 targets, 2 trials each");
    let model = cal.with_extension("trca.json");
    assert_eq!(
        harness.state().profile().speller_model,
        model.display().to_string()
    );
    assert!(!harness.state().profile().speller_calibrate);
    neuroloop_decoders::ssvep::onset::SsvepTrcaModel::load(&model).unwrap();
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    let speller = harness.state().speller_view().expect("the speller runs");
    assert!(
        speller.decoder_name().contains("trca"),
        "{}",
        speller.decoder_name()
    );
    assert!(
        step_until(&mut harness, 10.0, |h| h
            .query_by_label("look at N")
            .is_some()),
        "the speller never cued the first letter"
    );
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().is_running() && !harness.state().is_fitting());
    std::fs::remove_dir_all(&dir).ok();
}

/// Motor imagery from the start screen: the calibration run starts in the same window with
/// its files in a new folder under the recordings folder, and Esc returns to the screen.
#[test]
fn start_screen_runs_motor_imagery_calibration() {
    use neuroloop::start_screen::{Paradigm, Profile, StartScreen};
    let dir = std::env::temp_dir().join(format!("neuroloop-start-mi-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let profile = Profile {
        paradigm: Paradigm::MotorImagery,
        record_dir: dir.join("recordings").display().to_string(),
        mi_calibration_trials: 5,
        ..Profile::default()
    };
    let launcher = StartScreen::new(profile, dir.join("profile.toml"), false);
    let mut harness = window(launcher, 860.0);
    harness.run_steps(2);
    harness
        .get_by_label(
            "Motor imagery: calibration, fit, feedback (a recording: decoded with a model)",
        )
        .click();
    harness.run_steps(1);
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    assert!(harness.state().is_running());
    // The calibration session records into mi-*/calibration.xdf.
    let run_dir = std::fs::read_dir(dir.join("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("mi-"))
        })
        .expect("a run folder mi-… in the recordings folder");
    assert!(
        step_until(&mut harness, 10.0, |_| run_dir
            .join("calibration.xdf")
            .exists()),
        "no calibration recording in {}",
        run_dir.display()
    );
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    harness.get_by_label_contains("last motor-imagery session");
    // Stopped early, the calibration recording is closed and readable.
    neuroloop_formats::xdf::read(run_dir.join("calibration.xdf")).unwrap();
    // The classes are chosen on the screen, in their canonical order.
    harness.get_by_label("feet").click();
    harness.run_steps(1);
    assert_eq!(
        harness.state().profile().mi_classes,
        ["left_hand", "right_hand", "feet"]
    );
    harness.get_by_label("feet").click();
    harness.run_steps(1);
    assert_eq!(
        harness.state().profile().mi_classes,
        ["left_hand", "right_hand"]
    );
    // A model that is not there: the screen says what to give instead.
    harness.state_mut().profile_mut().mi_model = dir.join("nothing.json").display().to_string();
    start_is_refused_with(
        &mut harness,
        "cannot be used: give a model from `neuroloop mi fit`",
    );
    // A fitted model: feedback straight away, no calibration.
    let cal = dir.join("calibration.xdf");
    let model = dir.join("model.json");
    common::record_demo(&cal, &["--scenario", "mi", "--seconds", "120"]);
    common::run_ok(&[
        "mi",
        "fit",
        cal.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    harness.state_mut().profile_mut().mi_model = model.display().to_string();
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    assert!(harness.state().is_running());
    let feedback_dir = std::fs::read_dir(dir.join("recordings"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p != &run_dir);
    let feedback_dir = feedback_dir.expect("a second run folder");
    assert!(
        step_until(&mut harness, 10.0, |_| feedback_dir
            .join("feedback.xdf")
            .exists()),
        "no feedback recording in {}",
        feedback_dir.display()
    );
    assert!(!feedback_dir.join("calibration.xdf").exists());
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    std::fs::remove_dir_all(&dir).ok();
}

/// A recording with motor imagery from the start screen: without a model it asks for one, and a
/// cue that is not LABEL=CLASS is refused with the fix; with a network's card exported from
/// PyTorch (`assets/examples/eegnet-mi.toml`) and the run's cues named, the recording is
/// replayed and decoded, and the decisions show in the session window, scored on its trials.
#[test]
fn start_screen_decodes_a_recording_with_a_pytorch_network() {
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let Some(data) = common::data_dir("mi_eegmmidb_S001") else {
        return;
    };
    if !common::onnx_runtime() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("neuroloop-start-mi-file-{}", std::process::id()));
    let profile = Profile {
        source: SourceKind::File,
        file: data.join("S001R12.edf").display().to_string(),
        paradigm: Paradigm::MotorImagery,
        ..Profile::default()
    };
    let mut harness = window(StartScreen::new(profile, dir.join("p.toml"), false), 860.0);
    harness.run_steps(2);
    harness.get_by_label_contains("decisions inside its cued trials");
    start_is_refused_with(
        &mut harness,
        "a recording is decoded with a model: choose a fitted model (.json) or a network's card (.toml)",
    );
    let card = neuroloop_decoders::onnx::shipped_models_dir().join("../examples/eegnet-mi.toml");
    harness.state_mut().profile_mut().mi_model = card.display().to_string();
    harness.state_mut().profile_mut().mi_file_cues = "T1=left".into();
    start_is_refused_with(
        &mut harness,
        "`left` is not a motor-imagery class a replay scores; name one of left_hand, right_hand, feet, rest",
    );
    harness.state_mut().profile_mut().mi_file_cues = "T1=left_hand, T2=right_hand".into();
    start_runs(&mut harness, "mi-eegnet-mi");
    // The first decision needs a full 2-s window of the replay (real time); the first scored
    // one, a window inside the first cued trial (from 4.2 s).
    assert!(
        step_until(&mut harness, 20.0, |h| h
            .query_by_label_contains("accuracy vs ground truth: ")
            .is_some()),
        "no motor-imagery decision scored"
    );
    harness.get_by_label_contains("(mean of the last 8 decisions)");
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    std::fs::remove_dir_all(&dir).ok();
}

/// Clicks Start and checks that nothing started and that the start screen says `text`.
fn start_is_refused_with(
    harness: &mut Harness<'static, neuroloop::start_screen::StartScreen>,
    text: &str,
) {
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    harness.get_by_label_contains(text);
}

/// Clicks Start and checks that the session runs, with the decoder `decoder` shown.
fn start_runs(harness: &mut Harness<'static, neuroloop::start_screen::StartScreen>, decoder: &str) {
    harness.get_by_label("Start").click();
    harness.run_steps(3);
    assert!(harness.state().is_running());
    harness.get_by_label(decoder);
}

/// An OpenViBE recording decoded from the start screen with the SSVEP network: refused in the
/// start screen's words while no onset label is named (its labels listed), and a cue at a
/// frequency the network lacks too; with the onset and cues written in the SSVEP fields, it
/// runs.
#[test]
fn start_screen_names_the_onsets_an_ssvep_model_needs_in_a_recording() {
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let Some(data) = common::data_dir("formats_real_gdf_fif") else {
        return;
    };
    if !common::onnx_runtime() {
        return;
    }
    let dir =
        std::env::temp_dir().join(format!("neuroloop-start-ssvep-file-{}", std::process::id()));
    let card = neuroloop_decoders::onnx::shipped_models_dir().join("ssvep-net.toml");
    let mut profile = Profile {
        source: SourceKind::File,
        file: data
            .join("s01_2012.07.06-19.02.16.gdf")
            .display()
            .to_string(),
        paradigm: Paradigm::Ssvep,
        ..Profile::default()
    };
    profile.ssvep.model = Some(card);
    let mut harness = window(StartScreen::new(profile, dir.join("p.toml"), false), 900.0);
    harness.run_steps(2);
    harness.get_by_label_contains("A model decides at each onset");
    start_is_refused_with(
        &mut harness,
        "write the label that marks each onset in \"stimulus onsets in the recording or marker stream\" under SSVEP",
    );
    harness.get_by_label_contains("\"32779\" x32");
    harness.state_mut().profile_mut().ssvep_onsets = "32779".into();
    harness.state_mut().profile_mut().ssvep_cues = "33025=12Hz".into();
    start_is_refused_with(
        &mut harness,
        "names no target of ssvep-net (13Hz, 17Hz, 21Hz)",
    );
    harness.state_mut().profile_mut().ssvep_cues = "33025=13Hz, 33027=17Hz, 33026=21Hz".into();
    start_runs(&mut harness, "ssvep-net");
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    std::fs::remove_dir_all(&dir).ok();
}

/// The raw view's display filters: the session's stages offered as switches, all on at first
/// (the same chain as the decoders get), each switched off and on from the window.
#[test]
fn raw_traces_take_the_front_end_stages_as_display_filters() {
    let s = undecoded_session(5.0);
    let view = SessionWindow::new(s, "simulator".into(), false, Arc::new(Mutex::new(None)));
    let mut harness = window(view, 700.0);
    harness.run_steps(2);
    assert_eq!(harness.state().display_filters(), (true, true, false));
    harness.get_by_label("raw, display filters:").click();
    harness.run_steps(1);
    harness.get_by_label("notch 50 Hz").click();
    harness.run_steps(1);
    assert_eq!(harness.state().display_filters(), (true, false, false));
    harness.get_by_label("high-pass 1 Hz").click();
    harness.run_steps(1);
    assert_eq!(harness.state().display_filters(), (false, false, false));
    harness.get_by_label("notch 50 Hz").click();
    harness.run_steps(1);
    assert_eq!(harness.state().display_filters(), (false, true, false));
    // The session's own chain is untouched: the front end still reads as it started.
    harness.get_by_label_contains("front end: notch 50");
}

/// A 64-channel recording (EEGMMIDB S001R04) monitored from the start screen: every channel listed, the
/// traces a page at a time with each row named, quality counted for all 64, and the channel
/// menu selecting a scalp region.
#[test]
fn a_64_channel_recording_is_monitored_a_page_at_a_time_with_regions_to_select() {
    use neuroloop::start_screen::{Paradigm, Profile, SourceKind, StartScreen};
    let Some(dir) = common::data_dir("mi_eegmmidb_S001") else {
        return;
    };
    // From the start screen, as a user opens it: the file, the monitor, Start.
    let tmp = std::env::temp_dir().join(format!("neuroloop-start-64-{}", std::process::id()));
    let profile = Profile {
        source: SourceKind::File,
        file: dir.join("S001R04.edf").to_string_lossy().into_owned(),
        paradigm: Paradigm::Monitor,
        ..Profile::default()
    };
    let mut harness = window(StartScreen::new(profile, tmp.join("p.toml"), false), 900.0);
    harness.run_steps(2);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    assert!(harness.state().is_running());
    assert!(
        step_until(&mut harness, 30.0, |h| h
            .query_by_label_contains("quality: 64 good")
            .is_some()),
        "no quality verdict for the 64 channels"
    );
    harness.get_by_label("channels (64 of 64)");
    // The traces do not fit one page: the first page is named.
    harness.get_by_label_contains("rows 1-");
    harness.get_by_label_contains("of 64 (page 1 of");
    harness.get_by_label("next >").click();
    harness.run_steps(2);
    harness.get_by_label_contains("(page 2 of");
    // Only the occipital channels: PO7, PO3, POz, PO4, PO8, O1, Oz, O2, Iz.
    harness.get_by_label("channels (64 of 64)").click();
    harness.run_steps(2);
    harness.get_by_label("none").click();
    harness.run_steps(2);
    harness.get_by_label("occipital (9)").click();
    harness.run_steps(2);
    harness.get_by_label("channels (9 of 64)");
    // Nine rows fit one page.
    assert!(harness.query_by_label_contains("(page 1 of").is_none());
    // The replay's controls: its position in the file, pause and resume.
    harness.get_by_label_contains("of 0:02:05");
    harness.get_by_label("Pause").click();
    harness.run_steps(2);
    harness.get_by_label("paused");
    harness.get_by_label("Resume").click();
    harness.run_steps(2);
    assert!(harness.query_by_label("paused").is_none());
    harness
        .get_by_label("Stop and return to the start screen")
        .click();
    harness.run_steps(2);
    assert!(!harness.state().is_running());
    std::fs::remove_dir_all(&tmp).ok();
}
