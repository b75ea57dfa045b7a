#!/usr/bin/env python3
"""Reference sleep-spindle detections on the DREAMS spindles excerpts, computed with YASA on
exactly the protocol of `neuroloop eval spindles`:

- excerpts: every `excerptN.txt` in DIR (one channel in uV, title line first); the sampling
  rate is the number of samples over the excerpt length of 1800 s (100 Hz for excerpt 1,
  50 Hz for excerpt 3, 200 Hz for the others);
- detector: `yasa.spindles_detect` with its defaults on the whole excerpt (no hypnogram), except
  that the broad band (1-30 Hz) is capped at Nyquist - 1 Hz for the 50 Hz excerpt;
- scorers: `Visual_scoringK_excerptN.txt` ("onset duration" in seconds per line);
- matching: a detection and an expert spindle match when their intersection over union is at
  least 0.2; pairs are taken one-to-one, greedily by decreasing IoU (ties: earlier expert,
  then earlier detection); precision, recall and F1 per excerpt and pooled over excerpts
  (pooled = counts summed).

Writes offline/reference/spindles_dreams_reference.json (small: YASA's detected spans and the
match counts, so the Rust side can re-score them with its own matcher).
Usage: .venv/bin/python scripts/reference/spindles_dreams.py [DATA_DIR]
(needs the packages in scripts/requirements-reference.txt)
"""
import json
import pathlib
import re
import sys
import time

import numpy as np
import yasa

EXCERPT_SECS = 1800.0
MIN_IOU = 0.2


def read_signal(path):
    lines = path.read_text().split("\n")
    return np.array([float(v) for v in lines[1:] if v.strip()], dtype=np.float64)


def read_scoring(path):
    spans = []
    for line in path.read_text().split("\n")[1:]:
        parts = line.split()
        if len(parts) >= 2:
            onset, duration = float(parts[0]), float(parts[1])
            spans.append((onset, onset + duration))
    return spans


def iou(a, b):
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter <= 0:
        return 0.0
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union


def match(detected, truth):
    """One-to-one greedy matching by decreasing IoU; returns the number of matched pairs."""
    pairs = []
    for i, t in enumerate(truth):
        for j, d in enumerate(detected):
            v = iou(t, d)
            if v >= MIN_IOU:
                pairs.append((-v, i, j))
    pairs.sort()
    used_t, used_d = set(), set()
    for _, i, j in pairs:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
    return len(used_t)


def scores(tp, n_detected, n_truth):
    precision = tp / n_detected if n_detected else 0.0
    recall = tp / n_truth if n_truth else 0.0
    f1 = 2 * tp / (n_detected + n_truth) if (n_detected + n_truth) else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def main():
    data_dir = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data")
    folder = data_dir / "spindles_dreams"
    excerpts = sorted(
        int(m.group(1))
        for p in folder.glob("excerpt*.txt")
        if (m := re.fullmatch(r"excerpt(\d+)\.txt", p.name))
    )
    if not excerpts:
        sys.exit(f"no excerptN.txt in {folder}")
    out = {
        "protocol": {
            "detector": "yasa.spindles_detect defaults, whole excerpt, no hypnogram",
            "freq_broad": "(1, min(30, fs/2 - 1)) Hz",
            "min_iou": MIN_IOU,
            "matching": "one-to-one, greedy by decreasing IoU",
        },
        "versions": {"yasa": yasa.__version__, "numpy": np.__version__},
        "excerpts": [],
        "pooled": {},
    }
    pooled = {}
    for n in excerpts:
        x = read_signal(folder / f"excerpt{n}.txt")
        fs = len(x) / EXCERPT_SECS
        broad = (1.0, min(30.0, fs / 2.0 - 1.0))
        t0 = time.perf_counter()
        sp = yasa.spindles_detect(x, sf=fs, freq_broad=broad, verbose="error")
        secs = time.perf_counter() - t0
        detected = []
        if sp is not None:
            summary = sp.summary()
            detected = [(float(s), float(e)) for s, e in zip(summary["Start"], summary["End"])]
        entry = {
            "excerpt": n,
            "sample_rate_hz": fs,
            "yasa_seconds": secs,
            "yasa_spans": [[round(s, 4), round(e, 4)] for s, e in detected],
            "scorers": {},
        }
        for k in (1, 2):
            path = folder / f"Visual_scoring{k}_excerpt{n}.txt"
            if not path.exists():
                continue
            truth = read_scoring(path)
            tp = match(detected, truth)
            entry["scorers"][str(k)] = {
                "expert": len(truth),
                "detected": len(detected),
                "matched": tp,
                **scores(tp, len(detected), len(truth)),
            }
            acc = pooled.setdefault(str(k), [0, 0, 0])
            acc[0] += tp
            acc[1] += len(detected)
            acc[2] += len(truth)
        out["excerpts"].append(entry)
        print(
            f"excerpt {n} ({fs:g} Hz): {len(detected)} YASA spindles in {secs:.2f} s; "
            + ", ".join(
                f"scorer {k} F1 {v['f1']:.3f}" for k, v in entry["scorers"].items()
            )
        )
    for k, (tp, nd, nt) in pooled.items():
        out["pooled"][k] = {"expert": nt, "detected": nd, "matched": tp, **scores(tp, nd, nt)}
        print(f"pooled vs scorer {k}: F1 {out['pooled'][k]['f1']:.3f}")
    target = pathlib.Path(__file__).resolve().parents[2] / "offline/reference/spindles_dreams_reference.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
