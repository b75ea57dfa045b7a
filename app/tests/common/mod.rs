//! Helpers shared by the binary's integration tests.

use std::process::Command;

/// The `neuroloop` binary under test, with the single-machine LSL configuration unless the
/// caller set one.
#[allow(dead_code)] // not every test binary runs the binary
pub fn neuroloop() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_neuroloop"));
    if std::env::var_os("LSLAPICFG").is_none() {
        c.env(
            "LSLAPICFG",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../config/lsl_api.cfg"),
        );
    }
    c
}

/// A folder of the shared data (`NEUROLOOP_DATA_DIR`, default `../shared/data` beside the
/// repository), or `None` after saying loudly that the test is skipped.
#[allow(dead_code)] // not every test binary reads shared data
pub fn data_dir(what: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("NEUROLOOP_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
        });
    let path = dir.join(what);
    if path.exists() {
        Some(path)
    } else {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: data `{}` not found; set NEUROLOOP_DATA_DIR to the shared data folder ***\n",
            path.display()
        );
        None
    }
}
