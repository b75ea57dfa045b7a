#!/usr/bin/env python3
"""Reference SSVEP accuracies on the Kalunga (SSVEP exoskeleton) sessions, computed with numpy
and scipy alone, on exactly the protocol of `neuroloop eval ssvep`:

- sessions: every <session>.npy with its <session>_events.csv under the given folder, except
  those the dataset's authors excluded; 256 Hz, 8 channels (Oz, O1, O2, PO3, POz, PO7, PO8, PO4);
- trials: each VisualStimulationStart (32779) labelled by the Label code just before it:
  33025 = 13 Hz, 33027 = 17 Hz, 33026 = 21 Hz (rest trials, 33024, are left out: chance 1/3);
- preprocessing: causal filtering of the continuous session (scipy.signal.sosfilt), then the
  window [onset, onset + W);
- cca: Butterworth band-pass 5-45 Hz (order 4), references sin/cos at 2 harmonics, class =
  argmax of the largest canonical correlation;
- fbcca: sub-bands [8k, 88] Hz for k = 1..5 (Butterworth order 4), references at 3 harmonics,
  score = sum_k (k^-1.25 + 0.25) rho_k^2 (Chen et al. 2015);
- fbcca-starts: fbcca's score summed over the window and its tails [onset + d, onset + W) for
  d = 0, 64, 128, ... samples (every 0.25 s) while d <= W / 2, each tail against references of
  its own length;
- trca / etrca (Nakanishi et al. 2018): the fbcca sub-bands; leave one trial out within each
  session: on the other trials, per class and band, trials centred per channel,
  S = sum_{i != j} X_i X_j^T, Q = sum_i X_i X_i^T (+ 1e-9 * mean diagonal), filter = leading
  generalised eigenvector (scipy.linalg.eigh(S, Q)), template = class mean; score =
  sum_k (k^-1.25 + 0.25) rho_k with rho_k = corr(w_c^T X, w_c^T T_c) (trca) or
  corr(W^T X, W^T T_c) over all entries, W = every class's filter (etrca);
- ITR (Wolpaw) with N = 3 and T = W + 0.5 s (gaze shift).

Writes offline/reference/ssvep_kalunga_reference.json (small: per subject accuracies).
Usage: .venv/bin/python scripts/reference/ssvep_kalunga.py [DATA_DIR] [--methods m1,m2]
(--methods recomputes only those methods and keeps the others from the committed file).
"""
import json
import math
import pathlib
import sys

import numpy as np
from scipy import linalg, signal

FS = 256.0
FREQS = [13.0, 17.0, 21.0]
LABELS = {33025: 0, 33027: 1, 33026: 2}
EXCLUDED = {
    "s08_2013.04.06-16.22.32",
    "s10_2014.02.26-15.10.48",
    "s10_2014.02.26-15.50.09",
    "s11_2014.02.24-17.56.37",
    "s11_2014.02.24-18.02.40",
}
WINDOWS = [1.0, 2.0, 3.0, 4.0]


def trials(events):
    out = []
    label = None
    for sample, code in events:
        if code in LABELS or code == 33024:
            label = LABELS.get(code)
        elif code == 32779:
            if label is not None:
                out.append((sample, label))
            label = None
    return out


def references(n, harmonics):
    t = np.arange(n) / FS
    refs = []
    for f in FREQS:
        cols = []
        for h in range(1, harmonics + 1):
            cols += [np.sin(2 * np.pi * f * h * t), np.cos(2 * np.pi * f * h * t)]
        refs.append(np.array(cols))
    return refs


def cca_rho(x, y):
    x = x - x.mean(axis=1, keepdims=True)
    y = y - y.mean(axis=1, keepdims=True)
    qx, _ = np.linalg.qr(x.T)
    qy, _ = np.linalg.qr(y.T)
    return np.linalg.svd(qx.T @ qy, compute_uv=False)[0]


def centred(x):
    return x - x.mean(axis=-1, keepdims=True)


def trca_fit(windows, labels):
    """windows: (trials, bands, channels, samples); returns per band (filters (ch, classes),
    templates (classes, ch, samples))."""
    fitted = []
    for b in range(windows.shape[1]):
        filters, templates = [], []
        for c in range(len(FREQS)):
            x = centred(windows[labels == c, b])
            q = sum(t @ t.T for t in x)
            total = x.sum(axis=0)
            s = total @ total.T - q
            q = q + 1e-9 * np.trace(q) / q.shape[0] * np.eye(q.shape[0])
            _, v = linalg.eigh(s, q)
            filters.append(v[:, -1])
            templates.append(x.mean(axis=0))
        fitted.append((np.array(filters).T, np.array(templates)))
    return fitted


def corr(a, b):
    a = a.ravel() - a.mean()
    b = b.ravel() - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def trca_scores(fitted, window, weights, ensemble):
    scores = np.zeros(len(FREQS))
    for b, (w, templates) in enumerate(fitted):
        x = centred(window[b])
        for c in range(len(FREQS)):
            f = w if ensemble else w[:, c]
            scores[c] += weights[b] * corr(f.T @ x, f.T @ templates[c])
    return scores


def itr(p, n, t):
    if p >= 1.0:
        bits = math.log2(n)
    elif p <= 1.0 / n:
        bits = 0.0
    else:
        bits = math.log2(n) + p * math.log2(p) + (1 - p) * math.log2((1 - p) / (n - 1))
    return bits * 60.0 / t


def main():
    here = pathlib.Path(__file__).resolve().parents[2]
    args = sys.argv[1:]
    only = None
    if "--methods" in args:
        i = args.index("--methods")
        only = args[i + 1].split(",")
        del args[i:i + 2]
    data = pathlib.Path(args[0]) if args else here.parent / "shared/data"
    out = here / "offline/reference/ssvep_kalunga_reference.json"
    folder = data / "ssvep_exoskeleton_kalunga2016/npy"
    sessions = sorted(p.stem for p in folder.glob("*.npy") if p.stem not in EXCLUDED)
    cca_sos = signal.butter(4, [5, 45], btype="bandpass", fs=FS, output="sos")
    bank = [signal.butter(4, [8 * k, 88], btype="bandpass", fs=FS, output="sos") for k in range(1, 6)]
    weights = np.array([k ** -1.25 + 0.25 for k in range(1, 6)])
    methods = ["cca", "fbcca", "fbcca-starts", "trca", "etrca"]
    results = json.loads(out.read_text())["results"] if only else {}
    for method in methods:
        if only and method not in only:
            continue
        per_window = {}
        for w in WINDOWS:
            n = int(round(w * FS))
            subjects = {}
            for s in sessions:
                x = np.load(folder / f"{s}.npy").astype(np.float64)  # (samples, channels)
                ev = np.loadtxt(folder / f"{s}_events.csv", delimiter=",", skiprows=1, dtype=np.int64)
                if method == "cca":
                    bands = [signal.sosfilt(cca_sos, x, axis=0)]
                    refs = references(n, 2)
                else:
                    bands = [signal.sosfilt(sos, x, axis=0) for sos in bank]
                    refs = references(n, 3)
                subject = s.split("_")[0]
                c, t = subjects.get(subject, (0, 0))
                if method in ("trca", "etrca"):
                    kept = [(o, l) for o, l in trials(ev) if o + n <= x.shape[0]]
                    windows = np.array([[b[o:o + n].T for b in bands] for o, _ in kept])
                    labels = np.array([l for _, l in kept])
                    for held in range(len(kept)):
                        train = np.arange(len(kept)) != held
                        fitted = trca_fit(windows[train], labels[train])
                        scores = trca_scores(fitted, windows[held], weights, method == "etrca")
                        c += int(int(np.argmax(scores)) == labels[held])
                        t += 1
                    subjects[subject] = (c, t)
                    continue
                for onset, label in trials(ev):
                    if onset + n > x.shape[0]:
                        continue
                    if method == "fbcca-starts":
                        scores = np.zeros(len(refs))
                        for d in range(0, n // 2 + 1, int(round(0.25 * FS))):
                            for k, y in enumerate(references(n - d, 3)):
                                rhos = [cca_rho(b[onset + d:onset + n].T, y) for b in bands]
                                scores[k] += float(np.dot(weights, np.square(rhos)))
                    else:
                        scores = []
                        for y in refs:
                            rhos = [cca_rho(b[onset:onset + n].T, y) for b in bands]
                            if method == "cca":
                                scores.append(rhos[0])
                            else:
                                scores.append(float(np.dot(weights, np.square(rhos))))
                    c += int(int(np.argmax(scores)) == label)
                    t += 1
                subjects[subject] = (c, t)
            accs = {k: v[0] / v[1] for k, v in sorted(subjects.items())}
            mean = float(np.mean(list(accs.values())))
            per_window[f"{w:g}"] = {
                "subjects": {k: {"correct": subjects[k][0], "trials": subjects[k][1]} for k in accs},
                "mean_accuracy": mean,
                "mean_itr_bits_per_min": float(np.mean([itr(a, 3, w + 0.5) for a in accs.values()])),
            }
            print(f"{method:6} {w:g} s: mean accuracy {100 * mean:.1f} %")
        results[method] = per_window
    results = {m: results[m] for m in methods if m in results}
    out.write_text(json.dumps({
        "protocol": "see scripts/reference/ssvep_kalunga.py",
        "numpy": np.__version__,
        "scipy": __import__("scipy").__version__,
        "sessions": sessions,
        "results": results,
    }, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
