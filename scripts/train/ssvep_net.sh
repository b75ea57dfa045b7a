#!/usr/bin/env bash
# Trains the neural SSVEP decoder and writes assets/models/ssvep-net.{onnx,toml}.
# One command, from a checkout: bash scripts/train/ssvep_net.sh
# Needs the Kalunga SSVEP recordings in ../shared/data/ssvep_exoskeleton_kalunga2016/npy
# (or NEUROLOOP_DATA_DIR).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/train/prepare.sh
kalunga="$data/ssvep_exoskeleton_kalunga2016/npy"
if [ ! -f "$kalunga/s01_2012.07.06-19.02.16.npy" ]; then
    echo "no Kalunga recordings in $kalunga: put them there or set NEUROLOOP_DATA_DIR" >&2
    exit 1
fi
for shift in -0.25 0 +0.25; do
    ./target/release/neuroloop eval ssvep --kalunga "$kalunga" \
        --marker-shift-secs="$shift" --dump-features "$work/features/shift$shift"
done
.venv/bin/python scripts/train/ssvep_net.py \
    --features "$work/features" --kalunga "$kalunga" \
    --neuroloop ./target/release/neuroloop "$@"
