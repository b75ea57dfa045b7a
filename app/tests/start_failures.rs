//! A session that cannot start, started again and again from the start screen, leaves the
//! process as it was: the error is shown with its fix each time and no thread stays behind.
//! Alone in its test binary, so that no other test's threads come and go while they are
//! counted.

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use neuroloop::start_screen::{Paradigm, Profile, StartScreen};

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count)
}

#[test]
fn a_start_failing_again_and_again_leaves_the_thread_count_unchanged() {
    let dir = std::env::temp_dir().join(format!("neuroloop-start-fail-{}", std::process::id()));
    // SSVEP decoding from a channel the simulator does not have: the source opens, then the
    // decoder refuses the stream, so the start fails after its acquisition thread started.
    let mut profile = Profile {
        paradigm: Paradigm::Ssvep,
        ..Profile::default()
    };
    profile.ssvep.channels = vec!["Nope".into()];
    let screen = StartScreen::new(profile, dir.join("profile.toml"), false);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1200.0, 860.0))
        .build_eframe(|_| screen);
    harness.run_steps(2);
    let mut before = None;
    for attempt in 0..5 {
        harness.get_by_label("Start").click();
        harness.run_steps(2);
        assert!(!harness.state().is_running(), "attempt {attempt}");
        harness.get_by_label_contains("channel `Nope` is not in the stream");
        // The first attempt may start what a process starts once (the clock, the renderer).
        let now = thread_count();
        match before {
            None => before = Some(now),
            Some(b) => assert_eq!(now, b, "attempt {attempt} left threads behind"),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
