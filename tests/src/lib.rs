//! Shared helpers of the workspace integration tests: locating data and Python peers,
//! configuring LSL for single-machine tests, and counting allocations.

pub mod alloc_counter;

use std::path::PathBuf;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// Root of the repository.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The shared data folder (`NEUROLOOP_DATA_DIR`, default `../shared/data` beside the
/// repository), or `None` with a loud message naming what is missing.
pub fn data_dir(what: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("NEUROLOOP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data"));
    let path = dir.join(what);
    if path.exists() {
        Some(path)
    } else {
        skip(&format!(
            "data `{}` not found; set NEUROLOOP_DATA_DIR to the shared data folder",
            path.display()
        ));
        None
    }
}

/// Says loudly that a check was skipped. Written straight to the process's stderr, which the
/// test harness does not capture, so the message shows even for passing tests.
pub fn skip(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {message} ***\n");
}

/// A Python interpreter that has the given modules (`NEUROLOOP_PYTHON`, default the project's
/// `.venv`), or `None` with a loud message.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let py = std::env::var_os("NEUROLOOP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".venv/bin/python"));
    let check = format!("import {}", modules.join(", "));
    let ok = std::process::Command::new(&py)
        .args(["-c", &check])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        skip(&format!(
            "{} with {:?} not available; run scripts/setup.sh or set NEUROLOOP_PYTHON",
            py.display(),
            modules
        ));
        None
    }
}

static LSL_CONFIG: Once = Once::new();

/// Points liblsl at the repository's single-machine configuration (machine scope, IPv6 off)
/// unless `LSLAPICFG` is already set. Call before the first LSL call of a test binary.
pub fn init_lsl() {
    LSL_CONFIG.call_once(|| {
        if std::env::var_os("LSLAPICFG").is_none() {
            let cfg = repo_root().join("config/lsl_api.cfg");
            // SAFETY: called once, before any LSL thread of this process exists; test
            // binaries that use LSL call this first, so no other thread reads the
            // environment concurrently through liblsl.
            unsafe { std::env::set_var("LSLAPICFG", cfg) };
        }
    });
}

/// A stream name unique to this process and call, so parallel tests never see each other.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
