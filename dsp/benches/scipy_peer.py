#!/usr/bin/env python3
"""The scipy peer of dsp/benches/filter_chain.rs: the same front-end work in scipy.

Work: a 64-channel, 1 kHz stream through a 50 Hz notch (iirnotch, Q 30) and a Butterworth
band-pass 1-40 Hz of order 4 (sosfilt on the stacked sections), then the common average
reference (subtracting the mean over channels from every sample).

Two ways of running it are timed:

* streaming: one second of data in 32-frame chunks with the filter state carried between
  chunks (sosfilt with zi), exactly what the Rust benchmark does;
* whole array: one sosfilt call over 60 s of data (scipy's best case, no per-call overhead).

If the Rust benchmark has been run (cargo bench -p neuroloop-dsp --bench filter_chain), its
estimate is read from target/criterion and the speed ratios are printed. Run from the
repository root:

    .venv/bin/python dsp/benches/scipy_peer.py

Needs numpy and scipy only.
"""

import argparse
import json
import pathlib
import statistics
import time

import numpy as np
import scipy
import scipy.signal as sig

FS = 1000.0
CHANNELS = 64
CHUNK = 32
RUST_BENCH = "filter_chain/64ch_1kHz_notch_bandpass4_car"


def sections():
    b, a = sig.iirnotch(50.0, 30.0, fs=FS)
    notch = np.concatenate([b, a])[None, :]
    band = sig.butter(4, [1.0, 40.0], btype="bandpass", fs=FS, output="sos")
    return np.vstack([notch, band])


def signal(frames):
    i = np.arange(frames * CHANNELS)
    f, c = i // CHANNELS, i % CHANNELS
    t = f / FS
    x = (50.0 * c + 20.0 * np.sin(2 * np.pi * 10.0 * t + c) + 10.0 * np.sin(2 * np.pi * 50.0 * t)
         + ((i * 7919) % 997) * 0.01)
    # (channels, frames), float64: the Rust chain keeps f64 state as well.
    return x.reshape(frames, CHANNELS).T.copy()


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def streaming(sos, x):
    zi = np.zeros((sos.shape[0], CHANNELS, 2))
    out = np.empty_like(x)
    for start in range(0, x.shape[1], CHUNK):
        chunk, zi = sig.sosfilt(sos, x[:, start:start + CHUNK], axis=1, zi=zi)
        out[:, start:start + CHUNK] = chunk - chunk.mean(axis=0)
    return out


def whole_array(sos, x):
    y = sig.sosfilt(sos, x, axis=1)
    return y - y.mean(axis=0)


def rust_samples_per_sec(root):
    estimates = root / "target" / "criterion" / RUST_BENCH / "new" / "estimates.json"
    if not estimates.exists():
        return None
    e = json.loads(estimates.read_text())
    # Criterion's headline figure is the slope estimate when present, else the mean.
    key = "slope" if e.get("slope") else "mean"
    seconds_per_iter = e[key]["point_estimate"] * 1e-9
    return CHANNELS * FS / seconds_per_iter


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--rust-samples-per-sec", type=float, default=None,
                        help="Rust figure to compare with (default: read target/criterion)")
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parents[2]
    sos = sections()

    one_second = signal(int(FS))
    best, median = best_of(lambda: streaming(sos, one_second), args.repeats)
    stream_rate = CHANNELS * FS / median
    print(f"scipy {scipy.__version__} streaming (32-frame chunks, zi carried): "
          f"median {median * 1e3:.2f} ms per second of data (best {best * 1e3:.2f} ms), "
          f"{stream_rate / 1e6:.2f} M samples/s, {stream_rate / (CHANNELS * FS):.0f}x real time")

    minute = signal(int(60 * FS))
    best, median = best_of(lambda: whole_array(sos, minute), max(3, args.repeats // 4))
    whole_rate = CHANNELS * FS * 60 / median
    print(f"scipy whole array (one sosfilt over 60 s): median {median * 1e3:.1f} ms "
          f"(best {best * 1e3:.1f} ms), {whole_rate / 1e6:.2f} M samples/s, "
          f"{whole_rate / (CHANNELS * FS):.0f}x real time")

    rust = args.rust_samples_per_sec or rust_samples_per_sec(root)
    if rust is None:
        print("no Rust estimate found: run `cargo bench -p neuroloop-dsp --bench filter_chain` "
              "first or pass --rust-samples-per-sec")
        return
    print(f"Rust {RUST_BENCH}: {rust / 1e6:.2f} M samples/s, "
          f"{rust / (CHANNELS * FS):.0f}x real time")
    print(f"ratio Rust / scipy streaming: {rust / stream_rate:.1f}x; "
          f"Rust / scipy whole array: {rust / whole_rate:.1f}x")


if __name__ == "__main__":
    main()
