"""Trains neuroloop's neural SSVEP decoder and writes assets/models/ssvep-net.{onnx,toml}.

Run through scripts/train/ssvep_net.sh (one command: builds neuroloop, dumps the trials with the
markers as recorded and moved by -0.25 and +0.25 s, selects the design, trains, validates,
writes the model and its card).

Data: the SSVEP exoskeleton recordings of Kalunga et al. (8 occipital channels at 256 Hz, LEDs
at 13, 17 and 21 Hz; rest trials left out, so chance is 1/3), as `neuroloop eval ssvep
--dump-features` cuts them: each continuous session filtered causally by the FBCCA filter bank
(five Butterworth band-passes [8k, 88] Hz, order 4; the application's own filters), the 2-s
window from each stimulation onset.

The network is a differentiable filter-bank CCA over window starts, exported as a plain ONNX
graph of matrix products:

  for each sub-band k and each tail start d in TAILS (0, 0.25, 0.5, 0.75, 1 s after onset):
    X  = the window's samples d..end, centred per channel (8 x n)
    C  = X X^T / tau + EPS I, tau = trace(X X^T) / 8 (scale-free)
    G  = C^-1 by NS_ITERS Newton-Schulz steps (G <- G (2I - C G), G0 = I / (8 + EPS))
    for each target c: P_c = X Q_c, Q_c the orthonormal basis of the centred sin/cos references
      at HARMONICS harmonics of its frequency (n x 6, a constant of the graph);
      M_c = P_c^T G P_c / tau, whose eigenvalues are the squared canonical correlations;
      f[k, d, c] = its largest eigenvalue: A = M squared SQUARINGS times (trace-normalised),
        v = A (1..1), f = v^T M v / v^T v (power iteration, 2^SQUARINGS steps in SQUARINGS)
  logits_c = sum_{k,d} w[k, d] f[k, d, c] + b_c;  softmax.

With w[k, d] = Chen's FBCCA band weight (k^-1.25 + 0.25) for every tail, the argmax is
`neuroloop eval ssvep --method fbcca-starts`: no response latency is assumed. On these
recordings the marker-to-response delay is not a constant (the 2012 sessions respond later than
s08, recorded in 2013), and weights learned per tail bake one delay in: in an exploration before
this script (leave one subject out over all eight subjects, markers moved by -0.25, 0 and
+0.25 s), learned tail weights lost to FBCCA on s08 (79 % vs 94 % with markers moved by
+0.25 s). So the candidate designs here keep the tails' weights equal:

  prior:  w = alpha * Chen's weights on every tail, b = 0 (alpha, a temperature, only scales the
          probabilities);
  bands:  w[k, d] = u_k for every tail, u and b fitted by multinomial logistic regression with
          lambda * |u - c * Chen's weights|^2 (c free), lambda in LAMBDAS.

The design is chosen by leave-one-subject-out cross-validation inside the training subjects
(mean accuracy; a tie goes to the prior). Its protocol estimate is nested: leave one subject
out over s01-s08, the design chosen and fitted on the other seven each time, the left-out
subject scored with its markers as recorded and moved by +-0.25 s. The shipped model is chosen
and fitted the same way on all eight subjects, so no subject is held out from it: its card
gives the nested figures and the in-sample ones the application reproduces.

The model and its card are written to a temporary folder and moved into place only when the
application has reproduced the script's in-sample score with them.
"""

import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from cards import fmt, golden_inputs, ort_outputs, provenance_lines
from scipy.optimize import minimize

ROOT = pathlib.Path(__file__).resolve().parents[2]
SUBJECTS = ("s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08")
SHIFTS = ("-0.25", "0", "+0.25")
TAILS_SECS = (0.0, 0.25, 0.5, 0.75, 1.0)
HARMONICS = 3
EPS = 1e-3
NS_ITERS = 25
SQUARINGS = 6  # the largest eigenvalue from M^(2^6), as 64 power-iteration steps
LAMBDAS = (10.0, 1.0, 1e-1, 1e-2, 1e-3)  # strongest first: a tie goes to it
DESIGNS = [("prior", None)] + [("bands", lam) for lam in LAMBDAS]
GOLDEN_COUNT = 5
GOLDEN_AMPLITUDE_UV = 20.0
GOLDEN_ROW_RATE = 0.37  # every (band, channel) row at its own frequency


def log(message):
    print(message, file=sys.stderr, flush=True)


def read_dump(folder):
    """The dump's index, windows (n, bands, channels, samples), labels and subjects."""
    index = json.loads((folder / "index.json").read_text())
    cfg = index["config"]
    bands, channels = len(cfg["bands_hz"]), len(cfg["channels"])
    samples = int(round(cfg["window_secs"] * cfg["sample_rate_hz"]))
    trials = index["trials"]
    raw = np.fromfile(folder / index["file"], dtype="<f4")
    x = raw.reshape(len(trials), bands, channels, samples)
    y = np.array([t["label"] for t in trials], np.int64)
    subjects = np.array([t["subject"] for t in trials])
    return index, x, y, subjects


def chen_weights(bands):
    return np.array([(k + 1) ** -1.25 + 0.25 for k in range(bands)])


class Features:
    """The graph's feature layer in numpy (float64 to fit, float32 to mirror ONNX): the largest
    squared canonical correlation per band, tail and target, as the graph computes it."""

    def __init__(self, cfg):
        self.fs = float(cfg["sample_rate_hz"])
        self.freqs = [float(f) for f in cfg["targets_hz"]]
        self.channels = len(cfg["channels"])
        self.bands = len(cfg["bands_hz"])
        self.samples = int(round(cfg["window_secs"] * self.fs))
        self.tails = [int(round(d * self.fs)) for d in TAILS_SECS]
        self.refs = {d: self.references(self.samples - d) for d in self.tails}

    def references(self, n):
        """Orthonormal bases of the centred sin/cos references, all targets side by side
        (n x targets * 2 * HARMONICS)."""
        t = np.arange(n) / self.fs
        out = []
        for f in self.freqs:
            y = np.array(
                [g(2 * np.pi * f * h * t) for h in range(1, HARMONICS + 1) for g in (np.sin, np.cos)]
            ).T
            q, _ = np.linalg.qr(y - y.mean(0))
            out.append(q)
        return np.concatenate(out, 1)

    def __call__(self, x, dtype=np.float64):
        """x (B, bands, channels, samples) -> features (B, targets, bands, tails)."""
        x = x.astype(dtype)
        eye = np.eye(self.channels, dtype=dtype)
        k = 2 * HARMONICS
        eye_k = np.eye(k, dtype=dtype)
        per_tail = []
        for d in self.tails:
            xs = x[..., d:]
            xc = xs - xs.mean(-1, keepdims=True)
            c = xc @ np.swapaxes(xc, -1, -2)
            tau = (c * eye).sum((-1, -2), keepdims=True) / self.channels
            c = c / tau + EPS * eye
            g = np.broadcast_to(eye / (self.channels + EPS), c.shape)
            for _ in range(NS_ITERS):
                g = g @ (2 * eye - c @ g)
            p = xc @ self.refs[d].astype(dtype)  # (B, bands, ch, targets * k)
            p = p.reshape(p.shape[:-1] + (len(self.freqs), k))
            p = np.moveaxis(p, -2, 2)  # (B, bands, targets, ch, k)
            m = np.swapaxes(p, -1, -2) @ (g[:, :, None] @ p) / tau[:, :, None]
            a = m
            for _ in range(SQUARINGS):
                a = a / (a * eye_k).sum((-1, -2), keepdims=True)
                a = a @ a
            v = a.sum(-1, keepdims=True)  # A (1..1)
            per_tail.append((v * (m @ v)).sum((-1, -2)) / (v * v).sum((-1, -2)))
        f = np.stack(per_tail, -1)  # (B, bands, targets, tails)
        return np.moveaxis(f, 2, 1)  # (B, targets, bands, tails)


def softmax_loss(s, y):
    """Mean cross-entropy of logits s (n, k) and the gradient with respect to s."""
    n = len(y)
    mx = s.max(-1, keepdims=True)
    lse = np.log(np.exp(s - mx).sum(-1)) + mx[:, 0]
    p = np.exp(s - lse[:, None])
    p[np.arange(n), y] -= 1
    return np.mean(lse - s[np.arange(n), y]), p / n


def fit_design(design, f, y):
    """Fits `design` on features f (n, targets, bands, tails): returns (w (bands, tails), b)."""
    kind, lam = design
    n, k, nb, nt = f.shape
    prior = chen_weights(nb)
    per_band = f.sum(-1)  # equal tail weights: (n, targets, bands)
    if kind == "prior":
        evidence = per_band @ prior

        def objective(theta):
            loss, g = softmax_loss(theta[0] * evidence, y)
            return loss, np.array([np.sum(g * evidence)])

        alpha = minimize(objective, np.array([1.0]), jac=True, method="L-BFGS-B").x[0]
        return np.outer(alpha * prior, np.ones(nt)), np.zeros(k)

    def objective(theta):
        u, b, c = theta[:nb], theta[nb:nb + k], theta[-1]
        loss, g = softmax_loss(per_band @ u + b, y)
        r = u - c * prior
        grad_u = np.einsum("mc,mcd->d", g, per_band) + 2 * lam * r
        return loss + lam * (r @ r), np.concatenate([grad_u, g.sum(0), [-2 * lam * (r @ prior)]])

    theta0 = np.concatenate([prior, np.zeros(k), [1.0]])
    theta = minimize(objective, theta0, jac=True, method="L-BFGS-B").x
    return np.outer(theta[:nb], np.ones(nt)), theta[nb:nb + k]


def probabilities(w, b, f):
    s = np.einsum("mcbt,bt->mc", f, w) + b
    s = s - s.max(-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(-1, keepdims=True)


def subject_mean_accuracy(pred, y, subjects):
    """Mean over subjects of the per-subject accuracy (as `neuroloop eval ssvep`)."""
    per = {s: float(np.mean(pred[subjects == s] == y[subjects == s])) for s in np.unique(subjects)}
    return float(np.mean(list(per.values()))), per


def design_name(design):
    kind, lam = design
    return kind if lam is None else f"{kind} (lambda {lam:g})"


def choose_design(f, y, subjects):
    """Leave one subject out over `subjects`: mean accuracy per design, and the best (a tie goes
    to the earlier design in DESIGNS: the prior, then the stronger regularisation)."""
    scores = []
    for design in DESIGNS:
        pred = np.zeros(len(y), np.int64)
        for s in np.unique(subjects):
            train = subjects != s
            w, b = fit_design(design, f[train], y[train])
            pred[~train] = probabilities(w, b, f[~train]).argmax(1)
        scores.append(subject_mean_accuracy(pred, y, subjects)[0])
    best = max(range(len(DESIGNS)), key=lambda i: (scores[i], -i))
    return DESIGNS[best], scores


def export_onnx(feat, w, b, path):
    """The graph: each tail's centred window, covariance and projections on the references,
    one batched Newton-Schulz inverse over every (tail, band) covariance, each target's
    canonical-correlation matrix and its largest eigenvalue by repeated squaring, the weighed sum
    and a softmax."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    ch, nb, n = feat.channels, feat.bands, feat.samples
    targets, tails = len(feat.freqs), len(feat.tails)
    k = 2 * HARMONICS
    nodes, inits = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    eye = np.eye(ch, dtype=np.float32)
    const("eye", eye)
    const("eps_eye", (EPS * eye).astype(np.float32))
    const("two_eye", (2 * eye).astype(np.float32))
    const("g0", (eye / (ch + EPS)).astype(np.float32))
    const("channels", np.array(ch, np.float32))
    const("axis_time", np.array([-1], np.int64))
    const("axis_row", np.array([-2], np.int64))
    const("axes_mat", np.array([-1, -2], np.int64))
    const("end", np.array([n], np.int64))
    const("axis_3", np.array([3], np.int64))
    for d in feat.tails:
        p = f"t{d}_"
        const(p + "start", np.array([d], np.int64))
        const(p + "refs", feat.refs[d].astype(np.float32))
        nodes += [
            helper.make_node("Slice", ["window", p + "start", "end", "axis_3"], [p + "xs"]),
            helper.make_node("ReduceMean", [p + "xs", "axis_time"], [p + "mean"], keepdims=1),
            helper.make_node("Sub", [p + "xs", p + "mean"], [p + "xc"]),
            helper.make_node("Transpose", [p + "xc"], [p + "xt"], perm=[0, 1, 3, 2]),
            helper.make_node("MatMul", [p + "xc", p + "xt"], [p + "cov"]),
            helper.make_node("Mul", [p + "cov", "eye"], [p + "diag"]),
            helper.make_node("ReduceSum", [p + "diag", "axes_mat"], [p + "trace"], keepdims=1),
            helper.make_node("Div", [p + "trace", "channels"], [p + "tau"]),
            helper.make_node("Div", [p + "cov", p + "tau"], [p + "cov_n"]),
            helper.make_node("Add", [p + "cov_n", "eps_eye"], [p + "c"]),
            helper.make_node("MatMul", [p + "xc", p + "refs"], [p + "proj"]),
        ]
    # Every (tail, band) together: axis 1 holds tail * bands + band.
    nodes += [
        helper.make_node("Concat", [f"t{d}_c" for d in feat.tails], ["c"], axis=1),
        helper.make_node("Concat", [f"t{d}_proj" for d in feat.tails], ["proj"], axis=1),
        helper.make_node("Concat", [f"t{d}_tau" for d in feat.tails], ["tau"], axis=1),
    ]
    g = "g0"
    for i in range(NS_ITERS):
        nodes += [
            helper.make_node("MatMul", ["c", g], [f"cg{i}"]),
            helper.make_node("Sub", ["two_eye", f"cg{i}"], [f"r{i}"]),
            helper.make_node("MatMul", [g, f"r{i}"], [f"inv{i}"]),
        ]
        g = f"inv{i}"
    # Per target: M = P^T G P / tau (targets x k x k per tail and band).
    const("split_targets", np.array([1, tails * nb, ch, targets, k], np.int64))
    const("tau5", np.array([1, tails * nb, 1, 1, 1], np.int64))
    const("eye_k", np.eye(k, dtype=np.float32))
    const("ones_k", np.ones((k, 1), np.float32))
    nodes += [
        helper.make_node("MatMul", [g, "proj"], ["gp"]),
        helper.make_node("Reshape", ["proj", "split_targets"], ["p5"]),
        helper.make_node("Reshape", ["gp", "split_targets"], ["gp5"]),
        helper.make_node("Transpose", ["p5"], ["pt"], perm=[0, 1, 3, 4, 2]),
        helper.make_node("Transpose", ["gp5"], ["gq"], perm=[0, 1, 3, 2, 4]),
        helper.make_node("MatMul", ["pt", "gq"], ["m_raw"]),
        helper.make_node("Reshape", ["tau", "tau5"], ["tau_5"]),
        helper.make_node("Div", ["m_raw", "tau_5"], ["m"]),
    ]
    a = "m"
    for i in range(SQUARINGS):
        nodes += [
            helper.make_node("Mul", [a, "eye_k"], [f"ad{i}"]),
            helper.make_node("ReduceSum", [f"ad{i}", "axes_mat"], [f"atr{i}"], keepdims=1),
            helper.make_node("Div", [a, f"atr{i}"], [f"an{i}"]),
            helper.make_node("MatMul", [f"an{i}", f"an{i}"], [f"sq{i}"]),
        ]
        a = f"sq{i}"
    nodes += [
        helper.make_node("MatMul", [a, "ones_k"], ["v"]),
        helper.make_node("MatMul", ["m", "v"], ["mv"]),
        helper.make_node("Mul", ["v", "mv"], ["vmv"]),
        helper.make_node("ReduceSum", ["vmv", "axes_mat"], ["rayleigh_num"], keepdims=0),
        helper.make_node("Mul", ["v", "v"], ["vv"]),
        helper.make_node("ReduceSum", ["vv", "axes_mat"], ["rayleigh_den"], keepdims=0),
        helper.make_node("Div", ["rayleigh_num", "rayleigh_den"], ["features"]),
    ]
    # Weights in the same (tail, band) order.
    const("w", w.T.reshape(tails * nb, 1).astype(np.float32))
    const("b", b.astype(np.float32))
    const("axis_1", np.array([1], np.int64))
    nodes += [
        helper.make_node("Mul", ["features", "w"], ["weighed"]),
        helper.make_node("ReduceSum", ["weighed", "axis_1"], ["evidence"], keepdims=0),
        helper.make_node("Add", ["evidence", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probability"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "ssvep_net",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, [1, nb, ch, n])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, targets])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="neuroloop"
    )
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


PROVENANCE = (
    [f"Kalunga s0{s}" for s in range(1, 9)],
    [],
    "the design (equal tail weights, candidates prior and bands) was settled after an "
    "exploration scored leave one subject out over all eight subjects, and the shipped design "
    "is chosen and fitted on all eight: no subject is held out; the nested leave-one-subject-"
    "out figures on the card are the protocol's estimate for new subjects",
)


def write_card(path, feat, ssvep, training, validation, golden):
    lines = [
        "# Model card of neuroloop's neural SSVEP decoder. Written by",
        "# scripts/train/ssvep_net.sh; the numbers are measured, not typed.",
        'name = "ssvep-net"',
        f"task = {fmt('SSVEP target (13, 17 or 21 Hz) from 8 occipital EEG channels, the 2-s window after a stimulation onset')}",
        'file = "ssvep-net.onnx"',
        "",
        "[input]",
        'name = "window"',
        f"shape = [1, {feat.bands}, {feat.channels}, {feat.samples}]",
        "",
        "[output]",
        'name = "probability"',
        f"shape = [1, {len(feat.freqs)}]",
        "",
        "[ssvep]",
    ]
    lines += [f"{k} = {fmt(v)}" for k, v in ssvep.items()]
    lines += ["", "[training]"]
    lines += [f"{k} = {fmt(v)}" for k, v in training.items()]
    lines += ["", "[validation]"]
    lines += [f"{k} = {fmt(v)}" for k, v in validation.items()]
    lines += provenance_lines(*PROVENANCE)
    lines += [
        "",
        "[golden]",
        f"amplitude = {fmt([GOLDEN_AMPLITUDE_UV] * (feat.bands * feat.channels))}",
        f"row_rate = {fmt(GOLDEN_ROW_RATE)}",
        f"outputs = {fmt(golden)}",
        "",
    ]
    path.write_text("\n".join(lines))


def run_app_eval(neuroloop, kalunga, card, extra=()):
    """`neuroloop eval ssvep --method onnx` with `card`: the application's row."""
    cmd = [
        str(neuroloop), "eval", "ssvep", "--kalunga", str(kalunga), "--method", "onnx",
        "--model", str(card), "--json", *extra,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed:\n{done.stderr}")
    rows = [r for r in json.loads(done.stdout) if r.get("method") == "onnx"]
    if len(rows) != 1:
        sys.exit(f"expected one onnx row from `neuroloop eval ssvep`, got {done.stdout}")
    return rows[0]


def prior_design_accuracy(f, y, subjects):
    """The prior design's accuracy (nothing fitted moves its argmax): `fbcca-starts` as this
    graph computes it, Chen's weights on every tail."""
    prior = np.outer(chen_weights(f.shape[2]), np.ones(f.shape[3]))
    pred = np.einsum("mcbt,bt->mc", f, prior).argmax(1)
    return subject_mean_accuracy(pred, y, subjects)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=pathlib.Path, required=True,
                    help="folder holding the dumps of `neuroloop eval ssvep --dump-features`: "
                    "shift0 (markers as recorded), shift-0.25 and shift+0.25")
    ap.add_argument("--kalunga", type=pathlib.Path, required=True,
                    help="the data set's npy folder the dumps were cut from")
    ap.add_argument("--neuroloop", type=pathlib.Path, required=True, help="the neuroloop binary")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "assets" / "models")
    args = ap.parse_args()

    dumps = {}
    for shift in SHIFTS:
        index, *trials = read_dump(args.features / f"shift{shift}")
        dumps[shift] = tuple(trials)
        if shift == "0":
            cfg = index["config"]
    x, y, subjects = dumps["0"]
    feat = Features(cfg)
    missing = [s for s in SUBJECTS if s not in set(subjects)]
    if missing:
        sys.exit(f"the dump has no trials of subjects {missing}")
    log(f"{len(y)} trials; computing the features (markers as recorded and moved by +-0.25 s)")
    feats = {shift: feat(dumps[shift][0]) for shift in SHIFTS}
    f = feats["0"]

    # 1. Nested leave one subject out: the design chosen and fitted without the left-out
    # subject, which is then scored with its markers as recorded and moved.
    nested = {shift: np.zeros(len(y), np.int64) for shift in SHIFTS}
    chosen = {}
    for s in SUBJECTS:
        train = subjects != s
        design, _ = choose_design(f[train], y[train], subjects[train])
        chosen[s] = design_name(design)
        w, b = fit_design(design, f[train], y[train])
        for shift in SHIFTS:
            _, ys, ss = dumps[shift]
            nested[shift][ss == s] = probabilities(w, b, feats[shift][ss == s]).argmax(1)
        log(f"without {s}: {chosen[s]}")
    nested_scores = {}
    for shift in SHIFTS:
        _, ys, ss = dumps[shift]
        mean, per = subject_mean_accuracy(nested[shift], ys, ss)
        fb_mean, fb_per = prior_design_accuracy(feats[shift], ys, ss)
        nested_scores[shift] = (mean, per, fb_mean, fb_per)
        log(f"nested, markers {shift} s: {mean:.3f} {per}")

    # 2. The shipped model: design chosen on all eight, fitted on all eight.
    design, design_scores = choose_design(f, y, subjects)
    w, b = fit_design(design, f, y)
    log(f"shipped design: {design_name(design)} (leave-one-subject-out {design_scores})")
    staging = pathlib.Path(tempfile.mkdtemp(prefix="ssvep-net-"))
    onnx_path = staging / "ssvep-net.onnx"
    export_onnx(feat, w, b, onnx_path)

    # 3. The ONNX graph must compute what was fitted (float64 numpy) on every trial.
    reference = probabilities(w, b, f)
    got = ort_outputs(onnx_path, x)
    parity = float(np.max(np.abs(reference - got)))
    if parity > 1e-3:
        sys.exit(f"ONNX export disagrees with the fitted model: max |diff| {parity}")
    pred = got.argmax(1)
    in_sample, in_sample_per = subject_mean_accuracy(pred, y, subjects)
    log(f"in-sample (all eight): {in_sample:.3f} {in_sample_per}")

    golden = [
        float(v)
        for v in ort_outputs(
            onnx_path,
            golden_inputs(
                GOLDEN_COUNT,
                feat.bands * feat.channels,
                feat.samples,
                [GOLDEN_AMPLITUDE_UV] * (feat.bands * feat.channels),
                GOLDEN_ROW_RATE,
            ).reshape(GOLDEN_COUNT, feat.bands, feat.channels, feat.samples),
        )[:, 0]
    ]
    ssvep = {
        "channels": list(cfg["channels"]),
        "sample_rate_hz": float(cfg["sample_rate_hz"]),
        "targets_hz": [float(v) for v in cfg["targets_hz"]],
        "bands_hz": [[float(lo), float(hi)] for lo, hi in cfg["bands_hz"]],
        "filter_order": int(cfg["filter_order"]),
        "window_secs": float(cfg["window_secs"]),
        "latency_secs": float(cfg["latency_secs"]),
    }
    import onnx
    import scipy

    training = {
        "command": "bash scripts/train/ssvep_net.sh",
        "script": "scripts/train/ssvep_net.py",
        "framework": f"numpy {np.__version__} + scipy {scipy.__version__} (L-BFGS), ONNX written with onnx.helper {onnx.__version__} (opset 18)",
        "data": f"SSVEP exoskeleton data set (Kalunga et al. 2016; CC0), subjects s01-s08 ({len(y)} trials; the sessions the authors excluded left out), 8 occipital channels at 256 Hz, each session filtered causally by the FBCCA filter bank; the 2-s window from each stimulation onset (code 32779), labelled by the preceding code (33025 = 13 Hz, 33027 = 17 Hz, 33026 = 21 Hz; rest trials left out); from `neuroloop eval ssvep --dump-features`",
        "architecture": f"per sub-band ({feat.bands}) and tail start ({', '.join(f'{d:g}' for d in TAILS_SECS)} s after onset): the largest squared canonical correlation between the centred tail and each target's sin/cos references ({HARMONICS} harmonics), as the largest eigenvalue of P^T C^-1 P / tau (C = X X^T / tau + {EPS:g} I inverted by {NS_ITERS} Newton-Schulz steps; power iteration as {SQUARINGS} trace-normalised squarings of the matrix, then a Rayleigh quotient); logits = features . w[band, tail] + b[target] with the same weight for every tail of a band; softmax",
        "design": design_name(design),
        "design_candidates": [design_name(d) for d in DESIGNS],
        "design_choice": "best leave-one-subject-out mean accuracy over the training subjects (a tie goes to the prior); prior = Chen's FBCCA band weights on every tail times a fitted temperature, b = 0 (the argmax of `eval ssvep --method fbcca-starts`); bands = per-band weights shared by the tails and biases, by logistic regression with lambda |u - c Chen|^2",
        "design_cv_accuracies": design_scores,
        "design_note": "tail weights are not learned: in an exploration over all eight subjects, weights learned per tail baked in the 2012 sessions' marker-to-response delay and lost to FBCCA on s08 (2013); the candidate set was settled after that exploration",
        "parameters": 1 if design[0] == "prior" else int(w.shape[0] + b.size),
        "export_parity_max_abs": parity,
    }
    validation = {
        "protocol": "nested leave one subject out over s01-s08: for each subject, the design is chosen (leave one subject out within the other seven) and fitted on the other seven, and the subject is scored with its markers as recorded and moved by -0.25 and +0.25 s; accuracy = mean over subjects of the per-subject accuracy at 2 s, as `neuroloop eval ssvep` reports it. The shipped model is chosen and fitted on all eight (no subject is held out from it): `neuroloop eval ssvep --method onnx` scores it in-sample",
        "training_subjects": list(SUBJECTS),
        "held_out_subjects": [],
        "accuracy_nested_loso": nested_scores["0"][0],
        "accuracy_nested_loso_per_subject": [nested_scores["0"][1][s] for s in SUBJECTS],
        "accuracy_nested_loso_markers_minus_025": nested_scores["-0.25"][0],
        "accuracy_nested_loso_markers_plus_025": nested_scores["+0.25"][0],
        "accuracy_nested_loso_s08": [nested_scores[sh][1]["s08"] for sh in SHIFTS],
        "nested_designs": [chosen[s] for s in SUBJECTS],
        "accuracy_prior_design": [nested_scores[sh][2] for sh in SHIFTS],
        "accuracy_prior_design_s08": [nested_scores[sh][3]["s08"] for sh in SHIFTS],
        "shifts_note": "lists are for markers moved by -0.25, 0 and +0.25 s; prior_design = the prior design (fbcca-starts as this graph computes it, nothing fitted that moves the argmax) on every subject",
        "chance": 1.0 / len(feat.freqs),
        "trials": len(y),
        "accuracy_in_sample": in_sample,
        "accuracy_in_sample_per_subject": [in_sample_per[s] for s in SUBJECTS],
    }
    card = staging / "ssvep-net.toml"
    write_card(card, feat, ssvep, training, validation, golden)

    # 4. The application must score the shipped model as this script did.
    app = run_app_eval(args.neuroloop, args.kalunga, card)
    log(f"`neuroloop eval ssvep --method onnx`: {app['mean_accuracy']:.3f}, FBCCA on the same subjects {app['fbcca_same_subjects']:.3f}")
    if abs(float(app["mean_accuracy"]) - in_sample) > 1e-12:
        sys.exit(f"the application scores {app['mean_accuracy']}, this script {in_sample}")
    validation["accuracy_in_sample_fbcca"] = float(app["fbcca_same_subjects"])
    validation["fbcca_note"] = "FBCCA (5 sub-bands, 3 harmonics, Chen's weights, the whole window) on the same trials, measured by `neuroloop eval ssvep --method onnx`"
    behind = run_app_eval(args.neuroloop, args.kalunga, card, ["--front-end"])
    validation["accuracy_in_sample_default_front_end"] = float(behind["mean_accuracy"])
    validation["default_front_end_note"] = "the same trials after the live pipeline's default front end (50 Hz notch with harmonics, 1 Hz high-pass; the network was fitted without it), measured by `neuroloop eval ssvep --method onnx --front-end`"
    log(f"behind the default front end: {behind['mean_accuracy']:.3f}")
    write_card(card, feat, ssvep, training, validation, golden)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in (onnx_path, card):
        shutil.move(str(path), str(args.out / path.name))
    shutil.rmtree(staging, ignore_errors=True)
    log(f"the application agrees; wrote {args.out / onnx_path.name} and {args.out / card.name}")


if __name__ == "__main__":
    main()
