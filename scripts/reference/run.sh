#!/usr/bin/env bash
# Recomputes the committed reference numbers (offline/reference/*_reference.json) with the
# Python reference implementations. Not part of the tests: the tests compare against the
# committed files. Usage: scripts/reference/run.sh [DATA_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
./scripts/setup.sh
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-reference.txt
.venv/bin/python scripts/reference/ssvep_kalunga.py "$@"
.venv/bin/python scripts/reference/mi_eegmmidb.py "$@"
.venv/bin/python scripts/reference/spindles_dreams.py "$@"
