#!/usr/bin/env bash
# Trains the neural spindle detector and writes assets/models/spindle-net.{onnx,toml}.
# One command, from a checkout: bash scripts/train/spindle_net.sh [--epochs N]
# Needs the DREAMS excerpts in ../shared/data/spindles_dreams (or NEUROLOOP_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/prepare.sh
dreams="$data/spindles_dreams"
if [ ! -f "$dreams/excerpt1.txt" ]; then
    echo "no DREAMS excerpts in $dreams: put them there or set NEUROLOOP_DATA_DIR" >&2
    exit 1
fi
./target/release/neuroloop eval spindles --dreams "$dreams" --dump-features "$work/features"
.venv/bin/python scripts/train/spindle_net.py \
    --features "$work/features" --dreams "$dreams" \
    --neuroloop ./target/release/neuroloop "$@"
