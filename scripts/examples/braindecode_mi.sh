#!/usr/bin/env bash
# Bring your own model, end to end, in one command (not run in CI: PyTorch from PyPI is about
# 2.7 GB to download and 4.3 GB installed):
#   1. a Python environment .venv-torch with PyTorch 2.15 and braindecode 1.8.1 (pinned);
#   2. the windows neuroloop's motor-imagery decoder sees, dumped from EEGMMIDB S001-S003;
#   3. braindecode's EEGNet trained in PyTorch on S002 and S003, exported with torch.onnx.export,
#      and its model card written (scripts/examples/braindecode_mi.py);
#   4. `neuroloop model check` on the card and S001's run 12;
#   5. `neuroloop eval mi --method onnx` on S001's imagined runs (held out);
#   6. `neuroloop replay S001R12.edf --mi-model CARD`, every live decision recomputed offline
#      outside neuroloop (scripts/examples/compare_live.py).
# Usage: bash scripts/examples/braindecode_mi.sh [OUT_DIR]   (default target/example-eegnet)
set -euo pipefail
cd "$(dirname "$0")/../.."
bash scripts/setup.sh
cargo build --release --locked -p neuroloop
data="${NEUROLOOP_DATA_DIR:-../shared/data}"
out="${1:-target/example-eegnet}"
venv=.venv-torch
want="$(sha256sum scripts/examples/requirements-torch.txt | cut -d' ' -f1)"
if [[ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]]; then
    [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
        -r scripts/examples/requirements-torch.txt
    echo "$want" >"$venv/.requirements.sha256"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for s in S001 S002 S003; do
    ./target/release/neuroloop eval mi --eegmmidb "$data/mi_eegmmidb_$s" --dump-features "$work/$s"
done
"$venv/bin/python" scripts/examples/braindecode_mi.py --features "$work" --out "$out"
./target/release/neuroloop model check "$out/eegnet-mi.toml" --file "$data/mi_eegmmidb_S001/S001R12.edf"
./target/release/neuroloop eval mi --method onnx --model "$out/eegnet-mi.toml" --eegmmidb "$data/mi_eegmmidb_S001"
./target/release/neuroloop replay "$data/mi_eegmmidb_S001/S001R12.edf" --headless --speed max \
    --markers none --notch-hz 0 --highpass-hz 0 --mi-model "$out/eegnet-mi.toml" \
    --record "$out/replay-S001R12.xdf"
"$venv/bin/python" scripts/examples/compare_live.py "$out/eegnet-mi.toml" \
    "$data/mi_eegmmidb_S001/S001R12.edf" "$out/replay-S001R12.xdf"
