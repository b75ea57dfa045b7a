#!/usr/bin/env python3
"""Offline = live for a motor-imagery network card: every decision `neuroloop replay` recorded
(stream `neuroloop-decisions` in the XDF) is recomputed here, independently of neuroloop, from
the EDF run: MNE reads it, scipy band-passes the card's channels causally from the first sample
(Butterworth, the card's band and order), the 2-s window ending at the decision's sample goes
through onnxruntime, and the class and its probability are compared.

Usage: compare_live.py CARD.toml RUN.edf REPLAY.xdf (replayed with --notch-hz 0 --highpass-hz 0,
so that the card's band-pass is the only filter).
"""
import pathlib
import sys
import tomllib

import mne
import numpy as np
import onnxruntime as ort
import pyxdf
from scipy import signal


def norm(label):
    return label.strip().rstrip(".").upper()


def main():
    card_path, run, replay = (pathlib.Path(a) for a in sys.argv[1:4])
    card = tomllib.loads(card_path.read_text())
    mi = card["mi"]
    raw = mne.io.read_raw_edf(run, preload=True, verbose="error")
    fs = float(mi["sample_rate_hz"])
    assert raw.info["sfreq"] == fs, (raw.info["sfreq"], fs)
    names = [norm(c) for c in raw.ch_names]
    picks = [names.index(norm(c)) for c in mi["channels"]]
    x = raw.get_data(picks=picks).astype(np.float32).astype(np.float64) * 1e6
    sos = signal.butter(mi["filter_order"], mi["band_hz"], btype="bandpass", fs=fs, output="sos")
    x = signal.sosfilt(sos, x, axis=1)
    window = int(round(mi["window_secs"] * fs))
    sess = ort.InferenceSession(str(card_path.parent / card["file"]), providers=["CPUExecutionProvider"])
    streams, _ = pyxdf.load_xdf(str(replay), select_streams=[{"name": "neuroloop-decisions"}])
    decisions = streams[0]
    same, worst, total = 0, 0.0, len(decisions["time_stamps"])
    for stamp, (text,) in zip(decisions["time_stamps"], decisions["time_series"]):
        fields = dict(kv.split("=", 1) for kv in text.split() if "=" in kv)
        last = int(round(stamp * fs))
        w = x[:, last + 1 - window:last + 1].astype(np.float32)
        p = sess.run([card["output"]["name"]], {card["input"]["name"]: w[None]})[0][0]
        live = int(fields["index"])
        same += int(np.argmax(p) == live)
        worst = max(worst, abs(float(fields["score"]) - float(p[live])))
    print(f"offline = live: {same}/{total} decisions of the same class; largest probability difference {worst:.1e}")
    sys.exit(0 if total > 0 and same == total else 1)


if __name__ == "__main__":
    main()
