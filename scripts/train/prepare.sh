# Sourced by the training commands (from the checkout's root): the toolchain, ONNX Runtime and
# the trainers' Python packages, the release binary, `$data` (the shared data folder) and a
# `$work` folder removed on exit.
bash scripts/setup.sh
.venv/bin/python -m pip install --quiet -r scripts/train/requirements.txt
cargo build --release --locked -p neuroloop
data="${NEUROLOOP_DATA_DIR:-../shared/data}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
