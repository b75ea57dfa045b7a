//! Helpers shared by the binary's integration tests.

use std::process::Command;

/// The `neuroloop` binary under test, with the single-machine LSL configuration unless the
/// caller set one.
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
