//! `neuroloop eval ssvep` on the real Kalunga recordings, checked against the numpy/scipy
//! reference of `scripts/reference/ssvep_kalunga.py` (same protocol, numbers committed).

use std::path::PathBuf;

use neuroloop::eval::{
    SsvepMethod, evaluate_ssvep, load_kalunga, reference_mean_accuracy, reference_subject,
};

mod common;

fn kalunga_dir() -> Option<PathBuf> {
    common::data_dir("ssvep_exoskeleton_kalunga2016/npy")
}

#[test]
fn cca_and_fbcca_match_the_reference_subject_by_subject() {
    let Some(dir) = kalunga_dir() else { return };
    let sessions = load_kalunga(&dir).unwrap();
    assert_eq!(sessions.len(), 17);
    for method in [SsvepMethod::Cca, SsvepMethod::Fbcca] {
        for r in evaluate_ssvep(&sessions, method, &[1.0, 2.0, 3.0, 4.0]).unwrap() {
            let w = r.window_secs;
            let reference = reference_mean_accuracy(method, w).unwrap();
            println!(
                "{} {w} s: {:.1} % (reference {:.1} %), ITR {:.2} bits/min",
                method.name(),
                100.0 * r.mean_accuracy,
                100.0 * reference,
                r.mean_itr_bits_per_min
            );
            for (subject, score) in &r.subjects {
                let expect = reference_subject(method, w, subject).unwrap();
                assert_eq!(score.trials, expect.trials, "{subject}");
                // f32 filtering against scipy's f64 may flip a trial on a knife edge.
                assert!(
                    score.correct.abs_diff(expect.correct) <= 1,
                    "{} {w} s {subject}: {} vs reference {}",
                    method.name(),
                    score.correct,
                    expect.correct
                );
            }
            assert!((r.mean_accuracy - reference).abs() < 0.01);
        }
    }
}

#[test]
fn the_best_method_at_two_seconds_beats_the_reference_baseline() {
    let Some(dir) = kalunga_dir() else { return };
    let sessions = load_kalunga(&dir).unwrap();
    let fbcca = evaluate_ssvep(&sessions, SsvepMethod::Fbcca, &[2.0])
        .unwrap()
        .remove(0);
    let cca_reference = reference_mean_accuracy(SsvepMethod::Cca, 2.0).unwrap();
    let fbcca_reference = reference_mean_accuracy(SsvepMethod::Fbcca, 2.0).unwrap();
    assert!(
        fbcca.mean_accuracy > cca_reference + 0.05,
        "FBCCA clearly above plain CCA"
    );
    assert!(fbcca.mean_accuracy >= fbcca_reference - 1e-9);
}
