#!/usr/bin/env bash
# Trains the neural motor-imagery decoder and writes assets/models/mi-net.{onnx,toml}.
# One command, from a checkout: bash scripts/train/mi_net.sh [--seed N]
# Needs EEGMMIDB subject S001 in ../shared/data/mi_eegmmidb_S001 (or NEUROLOOP_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/prepare.sh
eegmmidb="$data/mi_eegmmidb_S001"
for run in R03 R04 R07 R08 R11 R12; do
    if [ ! -f "$eegmmidb/S001$run.edf" ]; then
        echo "no EEGMMIDB run S001$run.edf in $eegmmidb: put subject S001 there or set NEUROLOOP_DATA_DIR" >&2
        exit 1
    fi
done
./target/release/neuroloop eval mi --eegmmidb "$eegmmidb" --dump-features "$work/features"
.venv/bin/python scripts/train/mi_net.py \
    --features "$work/features" --data-dir "$eegmmidb" \
    --neuroloop ./target/release/neuroloop "$@"
