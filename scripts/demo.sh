#!/usr/bin/env bash
# Sets the machine up and runs `neuroloop demo` (arguments are passed on, e.g. --headless).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
# Single-machine LSL unless the user chose a configuration.
export LSLAPICFG="${LSLAPICFG:-$ROOT/config/lsl_api.cfg}"
cargo build --release --locked -p neuroloop
exec "$ROOT/target/release/neuroloop" demo "$@"
