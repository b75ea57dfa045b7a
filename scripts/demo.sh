#!/usr/bin/env bash
# Sets the machine up, then opens the start screen (`neuroloop start`) when a display is
# available and no arguments are given; otherwise runs `neuroloop demo` with the arguments
# (e.g. --headless).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# Single-machine LSL unless the user chose a configuration.
export LSLAPICFG="${LSLAPICFG:-$ROOT/config/lsl_api.cfg}"
cargo build --release --locked -p neuroloop
if [[ $# -eq 0 && -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  exec "$ROOT/target/release/neuroloop" start
fi
exec "$ROOT/target/release/neuroloop" demo "$@"
