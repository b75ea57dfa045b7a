#!/usr/bin/env bash
# Trains the neural motor-imagery decoder and writes assets/models/mi-net.{onnx,toml}.
# One command, from a checkout: bash scripts/train/mi_net.sh [--seed N]
# Needs EEGMMIDB subjects S001-S003 in ../shared/data/mi_eegmmidb_S00N (or NEUROLOOP_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/prepare.sh
dumps=()
for subject in S001 S002 S003; do
    eegmmidb="$data/mi_eegmmidb_$subject"
    for run in R03 R04 R07 R08 R11 R12; do
        if [ ! -f "$eegmmidb/$subject$run.edf" ]; then
            echo "no EEGMMIDB run $subject$run.edf in $eegmmidb: put subjects S001-S003 there or set NEUROLOOP_DATA_DIR" >&2
            exit 1
        fi
    done
    ./target/release/neuroloop eval mi --eegmmidb "$eegmmidb" --dump-features "$work/$subject"
    dumps+=("$work/$subject")
done
.venv/bin/python scripts/train/mi_net.py \
    --features "${dumps[@]}" --data-root "$data" \
    --neuroloop ./target/release/neuroloop "$@"
