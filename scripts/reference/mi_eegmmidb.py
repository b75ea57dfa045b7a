#!/usr/bin/env python3
"""Reference motor-imagery accuracies on EEGMMIDB subjects S001, S002 and S003 (imagined left vs
right fist, each subject cross-validated on its own trials),
computed with MNE (file reading), scipy (filtering), pyRiemann and scikit-learn, on exactly the
protocol of `neuroloop eval mi`:

- runs R04, R08 and R12 (imagined left / right fist), 160 Hz; trials are the T1 (left) and T2
  (right) annotations, in file order; T0 (rest) is left out, so chance is 1/2;
- channels: the 21 sensorimotor channels FC5..FC6, C5..C6, CP5..CP6 (10-10), in microvolts;
- preprocessing: causal Butterworth band-pass 8-30 Hz (order 4, scipy.signal.sosfilt) of each
  continuous run, then the window [cue + 0.5 s, cue + 2.5 s) (320 samples);
- folds: 5, stratified and deterministic: the i-th trial of each class (in file order) goes to
  fold i mod 5;
- covariance: OAS shrinkage (pyriemann Covariances("oas"));
- csp-lda: CSP with 6 filters (pyriemann.spatialfilters.CSP, log-variance) + LDA (scikit-learn,
  solver "lsqr", Ledoit-Wolf shrinkage "auto");
- ts-lr: tangent space at the Riemannian mean (pyriemann TangentSpace) + logistic regression
  (scikit-learn, L2, C = 1, run to convergence);
- mdm: minimum distance to the Riemannian class means (pyriemann MDM);
- fbcsp-lda: the same continuous runs band-passed instead into nine 4-Hz bands from 4 to 40 Hz
  (order 4, sosfilt); per band OAS covariance + CSP with 4 filters (log-variance); the 36
  features stacked band after band; the 8 with the highest ANOVA F (SelectKBest(f_classif));
  LDA as for csp-lda;
- metrics: accuracy over all held-out predictions and Cohen's kappa of the pooled confusion.

Writes offline/reference/mi_eegmmidb_reference.json (small: per subject, the labels and each
method's per-fold counts and predictions).
Usage: .venv/bin/python scripts/reference/mi_eegmmidb.py [DATA_DIR]
(needs the packages in scripts/requirements-reference.txt)
"""
import json
import pathlib
import sys

import mne
import numpy as np
import pyriemann
import sklearn
from pyriemann.classification import MDM
from pyriemann.estimation import Covariances
from pyriemann.spatialfilters import CSP
from pyriemann.tangentspace import TangentSpace
from scipy import signal
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

FS = 160.0
RUNS = ["R04", "R08", "R12"]
CHANNELS = [
    "FC5", "FC3", "FC1", "FCz", "FC2", "FC4", "FC6",
    "C5", "C3", "C1", "Cz", "C2", "C4", "C6",
    "CP5", "CP3", "CP1", "CPz", "CP2", "CP4", "CP6",
]
BAND = (8.0, 30.0)
WINDOW = (0.5, 2.5)
FOLDS = 5
CLASSES = {"T1": 0, "T2": 1}


def norm(label):
    return label.strip().rstrip(".").upper()


FBCSP_BANDS = [(lo, lo + 4.0) for lo in range(4, 40, 4)]


SUBJECTS = ["S001", "S002", "S003"]


def load(folder, band=BAND):
    """Epochs (trials x channels x samples) and labels, in file order."""
    sos = signal.butter(4, band, btype="bandpass", fs=FS, output="sos")
    start, stop = (int(round(w * FS)) for w in WINDOW)
    xs, ys = [], []
    for run in RUNS:
        raw = mne.io.read_raw_edf(folder / f"{folder.name[-4:]}{run}.edf", preload=True,
                                  verbose="error")
        assert raw.info["sfreq"] == FS
        names = [norm(c) for c in raw.ch_names]
        picks = [names.index(norm(c)) for c in CHANNELS]
        data = raw.get_data(picks=picks) * 1e6  # volts -> microvolts
        filtered = signal.sosfilt(sos, data, axis=1)
        for onset, desc in zip(raw.annotations.onset, raw.annotations.description):
            if desc not in CLASSES:
                continue
            cue = int(round(onset * FS))
            if cue + stop > filtered.shape[1]:
                continue
            xs.append(filtered[:, cue + start:cue + stop])
            ys.append(CLASSES[desc])
    return np.array(xs), np.array(ys)


def folds(y):
    fold = np.zeros(len(y), dtype=int)
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        fold[idx] = np.arange(len(idx)) % FOLDS
    return fold


def kappa(y, p):
    k = int(max(y.max(), p.max())) + 1
    m = np.zeros((k, k))
    for a, b in zip(y, p):
        m[a, b] += 1
    n = m.sum()
    po = np.trace(m) / n
    pe = float((m.sum(0) * m.sum(1)).sum()) / n**2
    return (po - pe) / (1 - pe)


class FilterBankCSP:
    """Per-band OAS covariance + CSP (4 filters, log-variance) on trials x bands x channels x
    samples; features stacked band after band."""

    def fit(self, x, y):
        self.bands = [make_pipeline(Covariances("oas"), CSP(nfilter=4, log=True)).fit(x[:, b], y)
                      for b in range(x.shape[1])]
        return self

    def transform(self, x):
        return np.hstack([p.transform(x[:, b]) for b, p in enumerate(self.bands)])


def fbcsp_lda():
    from sklearn.feature_selection import SelectKBest, f_classif

    class Pipe:
        def fit(self, x, y):
            self.fb = FilterBankCSP().fit(x, y)
            f = self.fb.transform(x)
            self.select = SelectKBest(f_classif, k=8).fit(f, y)
            self.lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(
                self.select.transform(f), y)
            return self

        def predict(self, x):
            return self.lda.predict(self.select.transform(self.fb.transform(x)))

    return Pipe()


def pipelines():
    return {
        "csp-lda": make_pipeline(
            Covariances("oas"), CSP(nfilter=6, log=True),
            LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")),
        "ts-lr": make_pipeline(
            Covariances("oas"), TangentSpace(metric="riemann"),
            LogisticRegression(C=1.0, max_iter=10000, tol=1e-10)),
        "mdm": make_pipeline(Covariances("oas"), MDM(metric="riemann")),
    }


def evaluate(folder):
    """Every method cross-validated on one subject's trials."""
    x, y = load(folder)
    bank = np.stack([load(folder, band)[0] for band in FBCSP_BANDS], axis=1)
    fold = folds(y)
    results = {}
    runs = [(name, pipe, x) for name, pipe in pipelines().items()]
    runs.append(("fbcsp-lda", fbcsp_lda(), bank))
    for name, pipe, x in runs:
        pred = np.zeros_like(y)
        per_fold = []
        for f in range(FOLDS):
            test = fold == f
            pipe.fit(x[~test], y[~test])
            pred[test] = pipe.predict(x[test])
            per_fold.append({"correct": int((pred[test] == y[test]).sum()), "trials": int(test.sum())})
        acc = float((pred == y).mean())
        results[name] = {
            "accuracy": acc,
            "kappa": float(kappa(y, pred)),
            "folds": per_fold,
            "predictions": pred.tolist(),
        }
        print(f"{folder.name[-4:]} {name:9} accuracy {100 * acc:.1f} %  kappa {kappa(y, pred):.3f}")
    return {"trials": len(y), "labels": y.tolist(), "results": results}


def main():
    here = pathlib.Path(__file__).resolve().parents[2]
    data = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "shared/data"
    subjects = {s: evaluate(data / f"mi_eegmmidb_{s}") for s in SUBJECTS}
    out = here / "offline/reference/mi_eegmmidb_reference.json"
    out.write_text(json.dumps({
        "protocol": "see scripts/reference/mi_eegmmidb.py",
        "mne": mne.__version__,
        "pyriemann": pyriemann.__version__,
        "scikit-learn": sklearn.__version__,
        "scipy": __import__("scipy").__version__,
        "numpy": np.__version__,
        "subjects": subjects,
    }, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
