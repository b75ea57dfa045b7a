//! Helpers shared by the integration tests: locating the shared data directory, loading the
//! golden numbers and finding the Python interpreter.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Prints a skip notice. It goes straight to the process's standard error rather than through
/// `eprintln!`, whose output the test harness hides for passing tests: a skipped check must be
/// visible in every run.
pub fn skip_notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED: {message}");
}

/// The shared data directory: `$NEUROLOOP_DATA_DIR`, else `../shared/data` next to the
/// workspace root.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("NEUROLOOP_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    }
}

/// Path of a data file or folder, or `None` after printing a loud notice when it is absent.
pub fn data_path(relative: &str) -> Option<PathBuf> {
    let path = data_dir().join(relative);
    if path.exists() {
        Some(path)
    } else {
        skip_notice(&format!(
            "test data {} is missing (set NEUROLOOP_DATA_DIR to the shared data folder)",
            path.display()
        ));
        None
    }
}

/// Loads a golden JSON file from `tests/golden`.
pub fn golden(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Relative closeness check with an absolute floor for values near zero.
pub fn assert_close(actual: f64, expected: f64, relative: f64, context: &str) {
    let tolerance = relative * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{context}: got {actual:.12}, expected {expected:.12} (tolerance {tolerance:e})"
    );
}

pub fn as_f64(value: &serde_json::Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("not a number: {value}"))
}

pub fn as_usize(value: &serde_json::Value) -> usize {
    usize::try_from(
        value
            .as_u64()
            .unwrap_or_else(|| panic!("not a count: {value}")),
    )
    .unwrap()
}

/// The Python interpreter with pyxdf: `$NEUROLOOP_PYTHON`, else the workspace `.venv`. Prints
/// a loud notice and returns `None` when it is missing.
pub fn python() -> Option<PathBuf> {
    let candidate = std::env::var_os("NEUROLOOP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    if candidate.exists() {
        Some(candidate)
    } else {
        skip_notice(&format!(
            "Python interpreter {} is missing (set NEUROLOOP_PYTHON)",
            candidate.display()
        ));
        None
    }
}

/// A fresh scratch directory for one test.
pub fn scratch_dir(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("formats-tests")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
