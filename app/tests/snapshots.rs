//! Pixel snapshots of the window, rendered headless by egui_kittest through wgpu on a
//! software adapter (Mesa's lavapipe, installed by scripts/setup.sh) and compared with the
//! images in `app/tests/snapshots/`. The clock is mocked: kittest steps egui's time by a fixed
//! interval, and the signals come from the simulator for a fixed span of virtual time, so
//! every run draws the same pixels. After a deliberate change of the look, rewrite the images
//! with `UPDATE_SNAPSHOTS=1 cargo test -p neuroloop --test snapshots` and review them.

use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotOptions};
use neuroloop::session_window::{TraceHistory, monitor_panel, traces_plot};
use neuroloop::start_screen::{Profile, SourceKind, StartScreen};
use neuroloop_acquisition::sim::{Scenario, SimConfig, Simulator, SsvepScenario, SsvepTarget};
use neuroloop_dsp::quality::QualityConfig;
use neuroloop_runtime::FrontEnd;
use neuroloop_runtime::monitor::SignalMonitor;

/// Text is rasterised by the same code everywhere, but a software rasteriser on another CPU
/// may round a few edge pixels differently: allow a handful, never a layout change.
fn options() -> SnapshotOptions {
    SnapshotOptions::new().max_failed_pixels(200)
}

/// A profile path that does not depend on the run (it is shown on the screen).
fn profile_path() -> std::path::PathBuf {
    std::path::PathBuf::from("/tmp/neuroloop-snapshots/profile.toml")
}

fn start_screen(profile: Profile) -> Harness<'static, StartScreen> {
    let launcher = StartScreen::new(profile, profile_path(), false);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 620.0))
        .build_eframe(|_| launcher);
    harness.run_steps(2);
    harness
}

#[test]
fn start_screen_snapshot() {
    let mut harness = start_screen(Profile::default());
    harness.get_by_label("Start");
    harness.snapshot_options("start_screen", &options());
}

/// The error state: a recording to replay that does not exist, reported on the screen with
/// what to give instead.
#[test]
fn start_screen_error_snapshot() {
    let profile = Profile {
        source: SourceKind::File,
        file: "/nonexistent/night.edf".into(),
        ..Profile::default()
    };
    let mut harness = start_screen(profile);
    harness.get_by_label("Start").click();
    harness.run_steps(2);
    harness.get_by_label_contains("was not found");
    harness.snapshot_options("start_screen_error", &options());
}

/// The monitor: 8 s of the simulator (virtual time) with a 15-Hz flicker attended, the traces
/// through the default front end, the raw signal's quality and spectra (alpha at 10 Hz, the
/// flicker at 15 Hz and its harmonics, mains at 50 Hz).
#[test]
fn monitor_snapshot() {
    // One flicker at 15 Hz attended throughout, so that its peak is in every window.
    let config = SimConfig {
        scenario: Scenario::Ssvep(SsvepScenario {
            targets: vec![SsvepTarget {
                freq_hz: 15.0,
                phase_rad: 0.0,
            }],
            trial_secs: 10.0,
            ..SsvepScenario::default()
        }),
        ..SimConfig::default()
    };
    let (labels, fs) = (config.channel_labels.clone(), config.sample_rate_hz);
    let ch = labels.len();
    let mut raw = vec![0.0f32; (8.0 * fs) as usize * ch];
    Simulator::new(config).unwrap().generate(&mut raw);
    let mut monitor = SignalMonitor::new(labels.clone(), fs, QualityConfig::default()).unwrap();
    for block in raw.chunks(10 * ch) {
        monitor.push_interleaved(block);
    }
    let oz = labels.iter().position(|l| l == "Oz").unwrap();
    assert_eq!(monitor.peak_hz(oz, (6.0, 13.0)), Some(10.0), "alpha");
    assert_eq!(monitor.peak_hz(oz, (13.0, 20.0)), Some(15.0), "the flicker");
    assert_eq!(monitor.peak_hz(oz, (40.0, 60.0)), Some(50.0), "mains");
    let mut filtered = raw.clone();
    FrontEnd::default()
        .apply_offline(&mut filtered, ch, fs)
        .unwrap();
    let mut traces = TraceHistory::new(labels, fs);
    for frame in filtered.chunks_exact(ch) {
        traces.push_frame(frame);
    }
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 760.0))
        .build_ui(move |ui| {
            egui::Panel::bottom("monitor")
                .exact_size(400.0)
                .show(ui, |ui| monitor_panel(ui, &monitor, true));
            egui::CentralPanel::default().show(ui, |ui| {
                traces_plot(ui, &traces, &[0, 1, 2, 3, 4, 5, 6, 7], None, &[])
            });
        });
    harness.run_steps(2);
    harness.get_by_label_contains("raw signal (before the front end)");
    harness.get_by_label_contains("Oz: good");
    harness.snapshot_options("monitor", &options());
}

/// The speller on a display too slow for its codes (30 frames/s for codes up to 15.8 Hz):
/// before the first flicker it says so, what to change, and waits (the keys unlit).
#[test]
fn speller_on_a_slow_display_snapshot() {
    use neuroloop::speller::{Speller, SpellerLayout, SpellerTiming, SpellerView};
    use std::sync::{Arc, Mutex};
    let now = Arc::new(Mutex::new(100.0f64));
    let clock = {
        let now = Arc::clone(&now);
        Box::new(move || *now.lock().unwrap())
    };
    let speller = Speller::cued(
        SpellerLayout::benchmark(),
        SpellerTiming::default(),
        "NEUROLOOP",
    )
    .unwrap();
    let view = SpellerView::new(speller, None, None, clock);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1000.0, 620.0))
        .build_ui_state(|ui, view: &mut SpellerView| view.ui(ui), view);
    for _ in 0..neuroloop::speller::summary::REFRESH_FRAMES + 10 {
        *now.lock().unwrap() += 1.0 / 30.0;
        harness.step();
    }
    harness.get_by_label("Flicker anyway");
    harness.snapshot_options("speller_slow_display", &options());
}
