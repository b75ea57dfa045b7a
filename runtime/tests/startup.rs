//! A session whose start fails half-way leaves nothing behind: every step of
//! `Session::start` is made to fail in turn (the stimulation, the recording, the output
//! thread, the worker thread, the acquisition thread stopping before it gets the ring), and
//! each time the process has as many threads as before and the recording, if it was created,
//! is a complete XDF file with its footers.
//!
//! One test walks through every step; the tests of this file take turns (`SERIAL`), so that no
//! other session of this process starts threads while the count is taken.

use std::path::{Path, PathBuf};

use neuroloop_acquisition::Pacing;
use neuroloop_acquisition::sim::{Scenario, SimConfig, SleepScenario};
use neuroloop_runtime::session::StartError;
use neuroloop_runtime::session::fault::{StartStep, inject};
use neuroloop_runtime::spec::{ParadigmSpec, SleepSpec};
use neuroloop_runtime::{Session, SessionConfig, SourceSpec};

/// Held by each test: sessions of another test would change the thread count.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Threads of this process, from the kernel's list.
fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

/// A recorded, stimulating sleep session on the simulator: every start-up step runs.
fn config(record: &Path) -> SessionConfig {
    let source = SourceSpec::Simulator {
        config: SimConfig {
            scenario: Scenario::Sleep(SleepScenario::default()),
            ..SimConfig::default()
        },
        pacing: Pacing::REAL_TIME,
        chunk_frames: 0,
        duration_secs: Some(60.0),
        time_origin: None,
    };
    SessionConfig::new(source)
        .paradigm(&ParadigmSpec::Sleep(SleepSpec::default()), true)
        .unwrap()
        .markers(None)
        .record(Some(record.to_path_buf()))
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neuroloop-startup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_start_failing_at_any_step_leaves_no_thread_and_no_file_without_footers() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir();
    // A session that starts and stops normally first: whatever the process starts once
    // (the clock, allocator threads) is then counted in the baseline.
    let warm = dir.join("warm-up.xdf");
    Session::start(config(&warm)).unwrap().stop();
    let steps = [
        (StartStep::Stimulation, false),
        (StartStep::Recording, false),
        (StartStep::OutputThread, true),
        (StartStep::WorkerThread, true),
        (StartStep::AcquisitionStops, true),
    ];
    for (step, file_made) in steps {
        let before = thread_count();
        let path = dir.join(format!("{step:?}.xdf"));
        inject(step);
        let err = Session::start(config(&path))
            .err()
            .expect("the start fails");
        match (step, &err) {
            (StartStep::AcquisitionStops, StartError::AcquisitionStopped) => {}
            (_, StartError::Injected(s)) => assert_eq!(*s, step),
            _ => panic!("{step:?}: unexpected error {err}"),
        }
        assert_eq!(thread_count(), before, "{step:?} left threads behind");
        assert_eq!(path.exists(), file_made, "{step:?}: {}", path.display());
        if file_made {
            let xdf = neuroloop_formats::xdf::read(&path).unwrap();
            assert!(!xdf.streams.is_empty(), "{step:?}");
            assert!(
                xdf.streams.iter().all(|s| s.footer.is_some()),
                "{step:?}: the recording has no footers"
            );
        }
    }
    // Nothing injected: the next start runs.
    let session = Session::start(config(&dir.join("after.xdf"))).unwrap();
    assert!(session.stop().acquisition_error.is_none());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn errors_of_a_failed_start_say_what_to_change() {
    let _turn = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dir = temp_dir().join("errors");
    std::fs::create_dir_all(&dir).unwrap();
    // A recording path inside a file: the folder cannot exist.
    let blocker = dir.join("file");
    std::fs::write(&blocker, b"x").unwrap();
    let err = Session::start(config(&blocker.join("x.xdf")))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("choose a writable recording path"), "{err}");
    assert!(
        !err.contains("--"),
        "no command-line flag in a runtime error: {err}"
    );
    // Stimulation on slow oscillations without their tracker.
    let spec = ParadigmSpec::Sleep(SleepSpec {
        slow_oscillations: false,
        ..SleepSpec::default()
    });
    let source = SourceSpec::simulator(SimConfig::default());
    let err = SessionConfig::new(source)
        .paradigm(&spec, true)
        .map(|c| Session::start(c.markers(None)).err().unwrap().to_string())
        .unwrap();
    assert!(err.contains("turn that detector on"), "{err}");
    assert!(!err.contains("--"), "{err}");
}
