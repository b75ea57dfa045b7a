#!/usr/bin/env python3
"""Writes the golden vectors the neuroloop-dsp tests compare against.

Run from the repository root:

    .venv/bin/python dsp/tests/golden/generate.py

Needs numpy and scipy only. Two files are written next to this script:

* golden.bin  -- every array, concatenated, as little-endian float64;
* golden.json -- the manifest: for every case its parameters and, for every array,
                 [offset, length] counted in float64 values into golden.bin.

Inputs are synthetic EEG-like signals (DC offset, slow drift, alpha-band and mains
sinusoids, a step and seeded Gaussian noise) so every filter has something to act on.
Outputs come from scipy.signal: butter/iirnotch/cheby1 designs (output='sos'), sosfilt,
sosfiltfilt (default padding), decimate (IIR, causal and zero-phase), welch and hilbert.
"""

import json
import pathlib

import numpy as np
import scipy
import scipy.signal as sig

HERE = pathlib.Path(__file__).resolve().parent
RATES_HZ = [160, 250, 256, 500, 1000]
INPUT_LEN = 1000
FILTER_LEN = 300


class Blob:
    """Accumulates float64 arrays and hands out their [offset, length]."""

    def __init__(self):
        self.parts = []
        self.offset = 0

    def add(self, values):
        arr = np.ascontiguousarray(np.asarray(values, dtype="<f8").ravel())
        ref = [self.offset, int(arr.size)]
        self.parts.append(arr)
        self.offset += arr.size
        return ref

    def bytes(self):
        return b"".join(p.tobytes() for p in self.parts)


def make_input(fs, n, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    x = (
        25.0
        + 12.0 * np.sin(2 * np.pi * 0.3 * t)
        + 20.0 * np.sin(2 * np.pi * 10.0 * t + 0.4)
        + 6.0 * np.sin(2 * np.pi * 23.0 * t + 1.1)
        + 15.0 * np.sin(2 * np.pi * 50.0 * t + 0.2)
        + 5.0 * rng.standard_normal(n)
    )
    x[n // 2 :] += 30.0
    return x


def butter_spec(kind, order, fs, params):
    if kind in ("highpass", "lowpass"):
        wn = params["cutoff_hz"]
    else:
        wn = [params["low_hz"], params["high_hz"]]
    return sig.butter(order, wn, btype=kind, fs=fs, output="sos")


def notch_sos(freq_hz, quality, harmonics, fs):
    rows = []
    for h in range(1, harmonics + 1):
        b, a = sig.iirnotch(freq_hz * h, quality, fs=fs)
        rows.append(np.concatenate([b, a]))
    return np.array(rows)


def main():
    blob = Blob()
    manifest = {
        "format": "arrays are little-endian float64 in golden.bin, referenced as [offset, length] in values",
        "generator": "dsp/tests/golden/generate.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "inputs": {},
        "filters": [],
        "decimate": [],
        "welch": [],
        "hilbert": [],
    }

    inputs = {}
    for i, fs in enumerate(RATES_HZ):
        x = make_input(fs, INPUT_LEN, seed=1000 + i)
        inputs[fs] = x
        manifest["inputs"][str(fs)] = blob.add(x)

    kinds = [
        ("highpass", {"cutoff_hz": 1.0}),
        ("lowpass", {"cutoff_hz": 40.0}),
        ("bandpass", {"low_hz": 8.0, "high_hz": 30.0}),
        ("bandstop", {"low_hz": 45.0, "high_hz": 55.0}),
    ]
    cases = []
    # Every kind at orders 2, 4, 6, 8, rotating through the sample rates so that each kind
    # meets four of the five rates and each rate meets every kind at least twice.
    for ki, (kind, params) in enumerate(kinds):
        for oi, order in enumerate([2, 4, 6, 8]):
            fs = RATES_HZ[(ki + oi) % len(RATES_HZ)]
            cases.append((kind, order, fs, params))
    # Odd orders (first-order sections change the default padding) and other corners.
    cases += [
        ("highpass", 3, 1000, {"cutoff_hz": 0.5}),
        ("lowpass", 5, 160, {"cutoff_hz": 30.0}),
        ("bandpass", 3, 250, {"low_hz": 1.0, "high_hz": 40.0}),
        ("bandstop", 1, 256, {"low_hz": 48.0, "high_hz": 52.0}),
        ("bandpass", 4, 1000, {"low_hz": 1.0, "high_hz": 40.0}),
        ("bandpass", 2, 160, {"low_hz": 0.5, "high_hz": 1.5}),
    ]

    for kind, order, fs, params in cases:
        sos = butter_spec(kind, order, fs, params)
        x = inputs[fs][:FILTER_LEN]
        manifest["filters"].append(
            {
                "name": f"{kind} order {order} @ {fs} Hz",
                "specs": [dict(kind=kind, order=order, **params)],
                "fs": fs,
                "input": str(fs),
                "len": FILTER_LEN,
                "sos": blob.add(sos),
                "sosfilt": blob.add(sig.sosfilt(sos, x)),
                "sosfiltfilt": blob.add(sig.sosfiltfilt(sos, x)),
            }
        )

    notches = [(160, 50.0, 30.0, 1), (250, 50.0, 30.0, 2), (256, 50.0, 30.0, 2),
               (500, 60.0, 35.0, 4), (1000, 50.0, 30.0, 9)]
    for fs, f0, q, harmonics in notches:
        sos = notch_sos(f0, q, harmonics, fs)
        x = inputs[fs][:FILTER_LEN]
        manifest["filters"].append(
            {
                "name": f"notch {f0} Hz x{harmonics} Q {q} @ {fs} Hz",
                "specs": [dict(kind="notch", freq_hz=f0, quality=q, harmonics=harmonics)],
                "fs": fs,
                "input": str(fs),
                "len": FILTER_LEN,
                "sos": blob.add(sos),
                "sosfilt": blob.add(sig.sosfilt(sos, x)),
                "sosfiltfilt": blob.add(sig.sosfiltfilt(sos, x)),
            }
        )

    # The front-end chain of the benchmark: 50 Hz notch then a 1-40 Hz band-pass of order 4.
    fs = 1000
    sos = np.vstack([notch_sos(50.0, 30.0, 1, fs),
                     butter_spec("bandpass", 4, fs, {"low_hz": 1.0, "high_hz": 40.0})])
    x = inputs[fs][:FILTER_LEN]
    manifest["filters"].append(
        {
            "name": "chain: notch 50 Hz + band-pass 1-40 Hz order 4 @ 1000 Hz",
            "specs": [dict(kind="notch", freq_hz=50.0, quality=30.0, harmonics=1),
                      dict(kind="bandpass", order=4, low_hz=1.0, high_hz=40.0)],
            "fs": fs,
            "input": str(fs),
            "len": FILTER_LEN,
            "sos": blob.add(sos),
            "sosfilt": blob.add(sig.sosfilt(sos, x)),
            "sosfiltfilt": blob.add(sig.sosfiltfilt(sos, x)),
        }
    )

    for fs, q in [(500, 2), (1000, 4), (250, 5), (256, 3)]:
        x = inputs[fs]
        manifest["decimate"].append(
            {
                "fs": fs,
                "factor": q,
                "input": str(fs),
                "sos": blob.add(sig.cheby1(8, 0.05, 0.8 / q, output="sos")),
                "zero_phase": blob.add(sig.decimate(x, q, ftype="iir", zero_phase=True)),
                "causal": blob.add(sig.decimate(x, q, ftype="iir", zero_phase=False)),
            }
        )

    for fs, nperseg, noverlap, n in [(250, 128, 64, 1000), (256, 256, 128, 1000),
                                     (500, 200, 100, 1000), (1000, 125, 50, 1000),
                                     (160, 160, 80, 700)]:
        x = inputs[fs][:n]
        f, pxx = sig.welch(x, fs=fs, window="hann", nperseg=nperseg, noverlap=noverlap)
        manifest["welch"].append(
            {
                "fs": fs,
                "nperseg": nperseg,
                "noverlap": noverlap,
                "input": str(fs),
                "len": n,
                "freqs": blob.add(f),
                "psd": blob.add(pxx),
            }
        )

    for n in [300, 301]:
        x = inputs[250][:n]
        z = sig.hilbert(x)
        manifest["hilbert"].append(
            {"input": "250", "len": n, "re": blob.add(z.real), "im": blob.add(z.imag)}
        )

    (HERE / "golden.bin").write_bytes(blob.bytes())
    (HERE / "golden.json").write_text(json.dumps(manifest, indent=1) + "\n")
    total = (HERE / "golden.bin").stat().st_size + (HERE / "golden.json").stat().st_size
    print(f"wrote {len(manifest['filters'])} filter, {len(manifest['decimate'])} decimation, "
          f"{len(manifest['welch'])} Welch and {len(manifest['hilbert'])} Hilbert cases "
          f"({total / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
