#!/usr/bin/env bash
# Sets the machine up (scripts/setup.sh) and runs every check CI runs:
# formatting, clippy with warnings as errors, rustdoc with warnings as errors, and all tests
# (GUI tests on a virtual X display).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"

# LSL on one machine, IPv6 off: works in containers and CI sandboxes.
export LSLAPICFG="$ROOT/config/lsl_api.cfg"
# Python peers (pylsl, pyxdf) used by interoperability tests.
export NEUROLOOP_PYTHON="$ROOT/.venv/bin/python"
export NEUROLOOP_DATA_DIR="${NEUROLOOP_DATA_DIR:-$ROOT/../shared/data}"

# One clean build: incremental caches would only cost disk (several GB) and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

step() { printf '\n== %s\n' "$*"; }

step "disk"
df -h "$ROOT" | tail -n 1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo doc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked

step "fuzz targets build (stable toolchain, no sanitizer; see formats/README.md to run them)"
cargo build --manifest-path fuzz/Cargo.toml --locked

step "cargo test"
# GUI tests and the demo need a display: run everything under a virtual X server.
if [[ -z "${DISPLAY:-}" ]] && command -v xvfb-run >/dev/null; then
  xvfb-run -a -s "-screen 0 1280x800x24" cargo test --workspace --locked
else
  cargo test --workspace --locked
fi

step "neuroloop bench --quick (figures printed, nothing asserted)"
cargo run --quiet --locked -p neuroloop -- bench --quick --out target/bench

step "disk used by the build"
du -sh "$ROOT/target" 2>/dev/null || true

step "all checks passed"
