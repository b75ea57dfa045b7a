#!/usr/bin/env bash
# One-time (and idempotent) setup of everything neuroloop needs on a fresh Debian 12 machine:
#   - system packages: C/C++ toolchain, ALSA headers (cpal), Xvfb and Mesa (GUI tests and the
#     demo window without a display server),
#   - the ONNX Runtime shared library, taken from the PyPI wheel onnxruntime==$ORT_VERSION into .deps/,
#   - the liblsl shared library, taken from the PyPI wheel pylsl==$PYLSL_VERSION into .deps/
#     (see .cargo/config.toml for why it is not built from the lsl crate's bundled sources),
#   - a Python virtual environment in .venv with the peers the tests talk to (pylsl, pyxdf, scipy),
#   - the Rust dependencies (cargo fetch).
# Re-running it only does what is missing. Set NEUROLOOP_SKIP_APT=1 to skip the package step.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ORT_VERSION="1.31.1"
PYLSL_VERSION="1.18.6"
LIBLSL_VERSION="1.18.0"
DEPS="$ROOT/.deps"
VENV="$ROOT/.venv"

log() { printf '[setup] %s\n' "$*"; }

APT_PACKAGES=(
  ca-certificates g++ make pkg-config
  libasound2-dev alsa-utils
  xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 mesa-vulkan-drivers
  libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6 libx11-xcb1
  unzip
)

install_apt() {
  if [[ "${NEUROLOOP_SKIP_APT:-0}" == 1 ]]; then
    log "skipping system packages (NEUROLOOP_SKIP_APT=1)"
    return
  fi
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then
    log "system packages present"
    return
  fi
  log "installing system packages: ${missing[*]}"
  local sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

install_onnxruntime() {
  local lib="$DEPS/onnxruntime/lib/libonnxruntime.so.$ORT_VERSION"
  if [[ -f "$lib" ]]; then
    log "ONNX Runtime $ORT_VERSION present in $DEPS/onnxruntime"
    return
  fi
  log "fetching ONNX Runtime $ORT_VERSION from its PyPI wheel"
  mkdir -p "$DEPS/wheels" "$DEPS/onnxruntime/lib"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --dest "$DEPS/wheels" "onnxruntime==$ORT_VERSION"
  local wheel
  wheel="$(ls "$DEPS"/wheels/onnxruntime-"$ORT_VERSION"-*.whl | head -n 1)"
  python3 - "$wheel" "$DEPS/onnxruntime/lib" "$ORT_VERSION" <<'PY'
import sys, zipfile, pathlib
wheel, dest, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(wheel) as z:
    (dest / f"libonnxruntime.so.{version}").write_bytes(z.read(name))
PY
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$DEPS/onnxruntime/lib/libonnxruntime.so"
  rm -rf "$DEPS/wheels"
}

install_liblsl() {
  local dir="$DEPS/liblsl/lib"
  if [[ -f "$dir/liblsl.so.$LIBLSL_VERSION" ]]; then
    log "liblsl $LIBLSL_VERSION present in $DEPS/liblsl"
    return
  fi
  log "fetching liblsl $LIBLSL_VERSION from the PyPI wheel pylsl==$PYLSL_VERSION"
  mkdir -p "$DEPS/wheels" "$dir"
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux_2_35_x86_64 --dest "$DEPS/wheels" "pylsl==$PYLSL_VERSION"
  local wheel
  wheel="$(ls "$DEPS"/wheels/pylsl-"$PYLSL_VERSION"-*.whl | head -n 1)"
  python3 - "$wheel" "$dir" "$LIBLSL_VERSION" <<'PY'
import sys, zipfile, pathlib
wheel, dest, version = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.startswith("pylsl/lib/liblsl.so")]
    if not names:
        sys.exit(f"no liblsl.so in {wheel}: {z.namelist()}")
    # The wheel stores the library once or under each of its names; keep the real file.
    best = max(names, key=lambda n: z.getinfo(n).file_size)
    (dest / f"liblsl.so.{version}").write_bytes(z.read(best))
PY
  ln -sf "liblsl.so.$LIBLSL_VERSION" "$dir/liblsl.so.2"
  ln -sf "liblsl.so.$LIBLSL_VERSION" "$dir/liblsl.so"
  rm -rf "$DEPS/wheels"
}

install_python() {
  local stamp="$VENV/.requirements.sha256"
  local want
  want="$(sha256sum scripts/requirements.txt | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "Python environment up to date in .venv"
    return
  fi
  log "creating the Python environment in .venv"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  echo "$want" >"$stamp"
}

install_apt
install_onnxruntime
install_liblsl
install_python
log "fetching Rust dependencies"
cargo fetch --quiet
log "done"
