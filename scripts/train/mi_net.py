"""Trains neuroloop's neural motor-imagery decoder and writes assets/models/mi-net.{onnx,toml}.

Run through scripts/train/mi_net.sh (one command: builds neuroloop, installs the trainer into
.venv, dumps the trials, trains, validates, writes the model and its card).

Data: PhysioNet EEGMMIDB subjects S001-S003 (../shared/data/mi_eegmmidb_S00N), executed
left/right fist runs 3, 7, 11 and imagined runs 4, 8, 12. The model sees exactly what the
application computes: `neuroloop eval mi --dump-features` writes, per subject, the 21
sensorimotor channels, each continuous run band-passed causally 4-40 Hz with the decoder's own
filter, cut into trials: 4 s from each cue of both kinds of run for training (this script
takes random 2-s crops of them) and the imagined runs' 2-s windows 0.5-2.5 s after each cue
for scoring, the windows `neuroloop eval mi` and the online decoder feed the model.

Network (a shallow filter-bank ConvNet, a few thousand weights): learned FIR filters along
time shared by all channels, learned spatial filters across the 21 channels, squared and
averaged over time (band power of each spatial filter), log, dropout while training, then a
dense layer and a softmax over (left_hand, right_hand). The input is scaled by a constant in
the graph, so the application feeds raw microvolts. Built and trained with JAX + optax; the
ONNX graph is written op by op with `onnx.helper` and checked against the JAX forward pass
with ONNX Runtime.

Protocol: the model is for a user it has never seen, so it is measured leave one subject out,
nested. The candidates are fixed recipes (RECIPES) times the runs they train on (executed and
imagined, or executed only). For each subject in turn, the candidate is chosen by leave one
subject out inside the other subjects, fitted on all of them and scored on the new subject's
imagined windows. The shipped model is chosen the same way over every subject and fitted on
all of them; its card gives the nested figures as the estimate for a new user and its
in-sample figures as what `neuroloop eval mi --method onnx` reproduces.
"""

import argparse
import json
import pathlib
import subprocess
import sys

import numpy as np

from cards import fmt, golden_inputs, ort_outputs, provenance_lines

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = 20261207
INPUT_SCALE = 0.1  # 1 / (10 µV): the graph's first op
LOG_EPS = 1e-4
GOLDEN_AMPLITUDE = [20.0] * 21
GOLDEN_COUNT = 5

# Fixed candidate recipes, compared only by leave one subject out inside the training subjects.
# filters: temporal FIR filters; taps: their length at 160 Hz; spatial: spatial filters;
# pool/stride: the band-power averaging window in samples (pool = 0: the whole window).
RECIPES = [
    {
        "name": "global-power",
        "filters": 8, "taps": 25, "spatial": 8, "pool": 0, "stride": 0,
        "dropout": 0.5, "lr": 3e-3, "weight_decay": 1e-3, "steps": 600, "batch": 32,
    },
    {
        "name": "binned-power",
        "filters": 8, "taps": 25, "spatial": 8, "pool": 128, "stride": 56,
        "dropout": 0.5, "lr": 3e-3, "weight_decay": 1e-3, "steps": 600, "batch": 32,
    },
    {
        "name": "wide-global-power",
        "filters": 12, "taps": 33, "spatial": 12, "pool": 0, "stride": 0,
        "dropout": 0.5, "lr": 3e-3, "weight_decay": 1e-3, "steps": 600, "batch": 32,
    },
]


def log(message):
    print(message, file=sys.stderr, flush=True)


def read_dump(folder):
    """The dump's index and, per set, (trials (n, channels, samples) in µV, labels (n,))."""
    index = json.loads((folder / "index.json").read_text())
    channels = len(index["protocol"]["channels"])
    sets = {}
    for s in index["sets"]:
        raw = np.fromfile(folder / s["file"], dtype="<f4")
        x = raw.reshape(len(s["labels"]), channels, s["samples"])
        sets[s["name"]] = (x, np.asarray(s["labels"], np.int32), s)
    return index, sets


def geometry(recipe, samples):
    """Length after the temporal convolution, pooling window and stride, pooled bins."""
    length = samples - recipe["taps"] + 1
    pool = recipe["pool"] or length
    stride = recipe["stride"] or length
    bins = (length - pool) // stride + 1
    return length, pool, stride, bins


def init_params(key, recipe, channels, samples, classes):
    import jax

    k1, k2, k3 = jax.random.split(key, 3)
    f, taps, s = recipe["filters"], recipe["taps"], recipe["spatial"]
    bins = geometry(recipe, samples)[3]
    return {
        "temporal": jax.random.normal(k1, (f, 1, 1, taps)) * (1.0 / np.sqrt(taps)),
        "spatial": jax.random.normal(k2, (s, f, channels, 1)) * (1.0 / np.sqrt(f * channels)),
        "spatial_bias": np.zeros(s, np.float32),
        "dense": jax.random.normal(k3, (s * bins, classes)) * (1.0 / np.sqrt(s * bins)),
        "dense_bias": np.zeros(classes, np.float32),
    }


def forward(params, x, recipe, dropout_key=None):
    """Logits for windows x of shape (batch, channels, samples) in µV. With `dropout_key`,
    the log band powers go through dropout (training)."""
    import jax
    import jax.numpy as jnp

    _, pool, stride, _ = geometry(recipe, x.shape[-1])
    # The temporal then spatial convolutions are linear: compose them into one
    # (spatial filters x channels x taps) kernel, the same function computed faster.
    kernel = jnp.einsum("sfc,fk->sck", params["spatial"][..., 0], params["temporal"][:, 0, 0])
    h = jax.lax.conv_general_dilated(
        x * INPUT_SCALE, kernel, (1,), "VALID", dimension_numbers=("NCH", "OIH", "NCH")
    ) + params["spatial_bias"][None, :, None]
    e = jax.lax.reduce_window(h * h, 0.0, jax.lax.add, (1, 1, pool), (1, 1, stride), "VALID") / pool
    z = jnp.log(e + LOG_EPS).reshape(x.shape[0], -1)
    if dropout_key is not None and recipe["dropout"] > 0:
        keep = 1.0 - recipe["dropout"]
        mask = jax.random.bernoulli(dropout_key, keep, z.shape)
        z = jnp.where(mask, z / keep, 0.0)
    return z @ params["dense"] + params["dense_bias"]


def softmax(logits):
    z = np.asarray(logits, np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train(x, y, recipe, window, seed):
    """Trains on trials x (n, channels, longer than `window`) with random `window`-sample crops,
    random polarity and a random gain per trial; returns the parameters as numpy arrays."""
    import jax
    import jax.numpy as jnp
    import optax

    n, channels, samples = x.shape
    key = jax.random.PRNGKey(seed)
    key, k0 = jax.random.split(key)
    params = init_params(k0, recipe, channels, window, 2)
    opt = optax.adamw(
        optax.cosine_decay_schedule(recipe["lr"], recipe["steps"]),
        weight_decay=recipe["weight_decay"],
    )
    state = opt.init(params)

    def loss_fn(p, xb, yb, k):
        logits = forward(p, xb, recipe, dropout_key=k)
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, yb))

    @jax.jit
    def step(p, s, xb, yb, k):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, yb, k)
        upd, s = opt.update(g, s, p)
        return optax.apply_updates(p, upd), s, loss

    rng = np.random.default_rng(seed)
    batch = min(recipe["batch"], n)
    order = rng.permutation(n)
    pos = 0
    losses = []
    for i in range(recipe["steps"]):
        if pos + batch > n:
            order, pos = rng.permutation(n), 0
        sel = order[pos : pos + batch]
        pos += batch
        start = rng.integers(0, samples - window + 1, batch)
        xb = np.stack([x[j, :, s : s + window] for j, s in zip(sel, start)])
        # EEG polarity carries no class information for band power; gains vary between recordings.
        sign = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
        gain = np.exp(rng.normal(0.0, 0.2, batch))
        xb = (xb * (sign * gain)[:, None, None]).astype(np.float32)
        key, k = jax.random.split(key)
        params, state, loss = step(params, state, xb, y[sel], k)
        losses.append(float(loss))
        if (i + 1) % 200 == 0:
            log(f"      step {i + 1}/{recipe['steps']}: loss {np.mean(losses[-200:]):.4f}")
    return jax.tree_util.tree_map(np.asarray, params)


def predict(params, x, recipe):
    import jax

    return softmax(jax.jit(lambda p, v: forward(p, v, recipe))(params, x))


def cohen_kappa(labels, predictions):
    k = int(max(np.max(labels), np.max(predictions))) + 1
    m = np.zeros((k, k))
    for a, b in zip(labels, predictions):
        m[a, b] += 1
    n = len(labels)
    po = np.trace(m) / n
    pe = float((m.sum(axis=1) * m.sum(axis=0)).sum()) / (n * n)
    return 0.0 if pe >= 1.0 else float((po - pe) / (1.0 - pe))


def export_onnx(params, recipe, channels, samples, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    _, pool, stride, bins = geometry(recipe, samples)
    s = recipe["spatial"]
    f32 = lambda v: np.asarray(v, np.float32)
    init = [
        numpy_helper.from_array(np.array([INPUT_SCALE], np.float32), "scale"),
        numpy_helper.from_array(np.array([1, 1, channels, samples], np.int64), "as_image"),
        numpy_helper.from_array(f32(params["temporal"]), "temporal"),
        numpy_helper.from_array(f32(params["spatial"]), "spatial"),
        numpy_helper.from_array(f32(params["spatial_bias"]), "spatial_bias"),
        numpy_helper.from_array(np.array([LOG_EPS], np.float32), "eps"),
        numpy_helper.from_array(np.array([1, s * bins], np.int64), "flat"),
        numpy_helper.from_array(f32(params["dense"]), "dense"),
        numpy_helper.from_array(f32(params["dense_bias"]), "dense_bias"),
    ]
    nodes = [
        helper.make_node("Mul", ["window", "scale"], ["scaled"]),
        helper.make_node("Reshape", ["scaled", "as_image"], ["image"]),
        helper.make_node("Conv", ["image", "temporal"], ["filtered"], kernel_shape=[1, recipe["taps"]]),
        helper.make_node("Conv", ["filtered", "spatial", "spatial_bias"], ["sources"], kernel_shape=[channels, 1]),
        helper.make_node("Mul", ["sources", "sources"], ["squared"]),
        helper.make_node("AveragePool", ["squared"], ["power"], kernel_shape=[1, pool], strides=[1, stride]),
        helper.make_node("Add", ["power", "eps"], ["power_eps"]),
        helper.make_node("Log", ["power_eps"], ["log_power"]),
        helper.make_node("Reshape", ["log_power", "flat"], ["features"]),
        helper.make_node("Gemm", ["features", "dense", "dense_bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probability"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "mi_net",
        [helper.make_tensor_value_info("window", TensorProto.FLOAT, [1, channels, samples])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 2])],
        init,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="neuroloop"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))


RUNS = ["R03", "R04", "R07", "R08", "R11", "R12"]
# Trials after the first ALIGNMENT_TRIALS: the ones `neuroloop eval mi`'s calibration-light table
# scores (offline/src/eval/mi_subjects.rs), so the network's figures stand beside it.
ALIGNMENT_TRIALS = 20
# The training data a candidate uses from each training subject (the dump's sets).
TRAINING_SETS = {
    "executed+imagined": ("train", "train_imagined"),
    "executed": ("train",),
}
PROVENANCE_NOTE = (
    "leave one subject out: in each outer fold the recipe and training data are chosen by leave "
    "one subject out inside the other two subjects and the model is fitted on them; the candidate "
    "recipes, the 4-40 Hz band and the window were fixed while the project evaluated its classical "
    "methods on S001's imagined runs, and the shipped model is chosen and trained on all three "
    "subjects, so no recording here is held out: the nested figures are the estimate for a new user"
)

def write_card(path, task, channels, samples, mi, training, validation, golden, provenance):
    lines = [
        "# Model card of neuroloop's neural motor-imagery decoder. Written by",
        "# scripts/train/mi_net.sh; the numbers are measured, not typed.",
        'name = "mi-net"',
        f"task = {fmt(task)}",
        'file = "mi-net.onnx"',
        "",
        "[input]",
        'name = "window"',
        f"shape = [1, {channels}, {samples}]",
        "",
        "[output]",
        'name = "probability"',
        "shape = [1, 2]",
        "",
        "[mi]",
    ]
    lines += [f"{k} = {fmt(v)}" for k, v in mi.items()]
    lines += ["", "[training]"]
    lines += [f"{k} = {fmt(v)}" for k, v in training.items()]
    lines += ["", "[validation]"]
    lines += [f"{k} = {fmt(v)}" for k, v in validation.items()]
    lines += provenance_lines(*provenance)
    lines += ["", "[golden]", f"amplitude = {fmt(GOLDEN_AMPLITUDE)}", f"outputs = {fmt(golden)}", ""]
    path.write_text("\n".join(lines))


def architecture(recipe, channels, samples):
    length, pool, stride, bins = geometry(recipe, samples)
    f, s = recipe["filters"], recipe["spatial"]
    pooling = (
        f"mean over all {length} samples"
        if bins == 1
        else f"mean over {pool} samples every {stride} ({bins} bins)"
    )
    return (
        f"x {INPUT_SCALE} (1/10 uV) -> temporal Conv {f} filters x {recipe['taps']} taps (shared by the "
        f"{channels} channels, no bias) -> spatial Conv {f}x{channels} -> {s} (bias) -> square -> {pooling} "
        f"-> log(. + {LOG_EPS}) -> dropout {recipe['dropout']} (training only) -> Dense {s * bins}->2 -> softmax"
    )


def run_app_eval(neuroloop, data_root, card):
    """`neuroloop eval mi --method onnx` with `card` on every subject under `data_root`: the
    rows by subject."""
    cmd = [
        str(neuroloop), "eval", "mi", "--eegmmidb", str(data_root), "--method", "onnx",
        "--model", str(card), "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"`{' '.join(cmd)}` failed:\n{done.stderr}")
    return {r["subject"]: r for r in json.loads(done.stdout)["scores"] if r.get("method") == "onnx"}


def candidates(recipes):
    return [(r, t) for r in recipes for t in TRAINING_SETS]


def stack(dumps, subjects, training):
    xs = [dumps[s][name][0] for s in subjects for name in TRAINING_SETS[training]]
    ys = [dumps[s][name][1] for s in subjects for name in TRAINING_SETS[training]]
    return np.concatenate(xs), np.concatenate(ys)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=pathlib.Path, nargs="+", required=True,
                    help="one folder per subject written by `neuroloop eval mi --dump-features`, named after the subject (S001, ...)")
    ap.add_argument("--neuroloop", type=pathlib.Path, required=True, help="the neuroloop binary")
    ap.add_argument("--data-root", type=pathlib.Path, required=True,
                    help="the folder holding the subjects' EEGMMIDB folders the dumps were cut from")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / "assets" / "models")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--recipes", default=",".join(r["name"] for r in RECIPES),
                    help="candidate recipes (comma-separated names)")
    args = ap.parse_args()

    dumps, index = {}, None
    for folder in args.features:
        index, sets = read_dump(folder)
        dumps[folder.name] = sets
    subjects = sorted(dumps)
    if len(subjects) < 3:
        sys.exit(f"leave one subject out inside leave one subject out needs three subjects or more, got {subjects}")
    proto = index["protocol"]
    channels = len(proto["channels"])
    rate = float(proto["sample_rate_hz"])
    window = int(round(proto["window_secs"] * rate))
    for s in subjects:
        if dumps[s]["test"][0].shape[2] != window:
            sys.exit(f"{s}'s test windows hold {dumps[s]['test'][0].shape[2]} samples, the model {window}")
    wanted = args.recipes.split(",")
    recipes = [r for r in RECIPES if r["name"] in wanted]
    if not recipes:
        sys.exit(f"no recipe among {wanted}")
    cands = candidates(recipes)
    log(f"subjects {subjects}; candidates: " + ", ".join(f"{r['name']} on {t}" for r, t in cands))

    # Every candidate fitted on every proper subset of subjects the protocol needs (single
    # subjects for the inner folds, all but one for the outer folds), each scored on the
    # imagined test windows of every subject it did not see. Seeds depend on the candidate and
    # the subset only, so the same fit serves every fold that asks for it.
    fits = {}

    def held_out_predictions(ci, train_subjects):
        key = (ci, tuple(train_subjects))
        if key not in fits:
            recipe, training = cands[ci]
            x, y = stack(dumps, train_subjects, training)
            seed = args.seed + 100 * ci + sum(1 << subjects.index(s) for s in train_subjects)
            log(f"  {recipe['name']} on {training} of {'+'.join(train_subjects)} ({len(y)} trials)")
            params = train(x, y, recipe, window, seed)
            fits[key] = {
                s: np.argmax(predict(params, dumps[s]["test"][0], recipe), axis=1)
                for s in subjects if s not in train_subjects
            }
        return fits[key]

    def accuracy(s, pred):
        return float((pred == dumps[s]["test"][1]).mean())

    def loso_score(ci, pool):
        """Mean accuracy of candidate ci, leave one subject out within `pool`."""
        return float(np.mean([
            accuracy(h, held_out_predictions(ci, [s for s in pool if s != h])[h]) for h in pool
        ]))

    def choose(pool):
        scores = [loso_score(ci, pool) for ci in range(len(cands))]
        return max(range(len(cands)), key=lambda i: (scores[i], -i)), scores

    # 1. Nested: for each new subject, choose inside the others, fit on them, score it.
    nested = {}
    for h in subjects:
        pool = [s for s in subjects if s != h]
        ci, scores = choose(pool)
        pred = held_out_predictions(ci, pool)[h]
        y = dumps[h]["test"][1]
        nested[h] = {
            "choice": ci,
            "accuracy": accuracy(h, pred),
            "kappa": cohen_kappa(y, pred),
            "accuracy_after_alignment_trials": float((pred[ALIGNMENT_TRIALS:] == y[ALIGNMENT_TRIALS:]).mean()),
            "predictions": pred,
        }
        r, t = cands[ci]
        log(f"new subject {h}: chose {r['name']} on {t} (inner {max(scores):.3f}); scores {nested[h]['accuracy']:.3f}")

    # 2. The shipped model: chosen by leave one subject out over all subjects, fitted on all.
    ci, final_scores = choose(subjects)
    recipe, training = cands[ci]
    log(f"shipped: {recipe['name']} on {training} of every subject (leave one subject out {final_scores[ci]:.3f})")
    x, y = stack(dumps, subjects, training)
    params = train(x, y, recipe, window, args.seed)
    n_params = int(sum(np.asarray(v).size for v in params.values()))
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "mi-net.onnx"
    export_onnx(params, recipe, channels, window, onnx_path)

    # 3. The ONNX graph must compute what JAX trained; in-sample scores per subject.
    parity = 0.0
    in_sample = {}
    for s in subjects:
        xt, yt, _ = dumps[s]["test"]
        got = ort_outputs(onnx_path, xt)
        parity = max(parity, float(np.max(np.abs(predict(params, xt, recipe) - got))))
        pred = np.argmax(got, axis=1)
        in_sample[s] = (float((pred == yt).mean()), cohen_kappa(yt, pred), pred)
    if parity > 1e-4:
        sys.exit(f"ONNX export disagrees with the trained network: max |diff| {parity}")
    golden = [float(v) for v in ort_outputs(onnx_path, golden_inputs(GOLDEN_COUNT, channels, window, GOLDEN_AMPLITUDE))[:, 0]]

    all_y = np.concatenate([dumps[s]["test"][1] for s in subjects])
    all_pred = np.concatenate([nested[s]["predictions"] for s in subjects])
    mi = {
        "channels": list(proto["channels"]),
        "sample_rate_hz": rate,
        "band_hz": [float(v) for v in proto["band_hz"]],
        "filter_order": int(proto["filter_order"]),
        "window_secs": float(proto["window_secs"]),
        "cue_offset_secs": float(index["cue_offset_secs"]),
        "class_names": list(index["class_names"]),
    }
    sets = TRAINING_SETS[training]
    training_table = {
        "command": "bash scripts/train/mi_net.sh",
        "script": "scripts/train/mi_net.py",
        "framework": "JAX 0.10.2 + optax 0.2.8, ONNX written with onnx.helper (opset 17)",
        "data": "PhysioNet EEGMMIDB (Schalk et al. 2004, BCI2000; Open Data Commons Attribution License v1.0) subjects "
        + ", ".join(subjects) + ": "
        + {"train": "executed", "train_imagined": "imagined"}[sets[0]]
        + (" and imagined" if len(sets) > 1 else "")
        + f" left/right fist runs ({len(y)} trials), 21 sensorimotor channels, 160 Hz, each run band-passed causally "
        + f"{proto['band_hz'][0]:g}-{proto['band_hz'][1]:g} Hz (Butterworth order {proto['filter_order']}); from `neuroloop eval mi --dump-features`",
        "labels": "T1 cue (left fist) = left_hand, T2 cue (right fist) = right_hand; T0 (rest) left out",
        "augmentation": f"random {window}-sample crop of the 4 s after each cue; random polarity; random gain exp(N(0, 0.2)) per trial",
        "loss": "softmax cross-entropy",
        "epochs": round(recipe["steps"] * recipe["batch"] / len(y), 1),
        "steps": recipe["steps"],
        "batch": recipe["batch"],
        "optimizer": f"AdamW, learning rate {recipe['lr']:g} with cosine decay to 0, weight decay {recipe['weight_decay']:g}",
        "seed": args.seed,
        "parameters": n_params,
        "architecture": architecture(recipe, channels, window),
        "recipe": recipe["name"],
        "training_runs": training,
        "candidates": [f"{r['name']} on {t}" for r, t in cands],
        "choice": "the candidate with the best mean accuracy leave one subject out (fitted on the other subjects, scored on the new one's imagined windows 0.5-2.5 s after each cue); a tie goes to the one listed first",
        "export_parity_max_abs": parity,
    }
    validation = {
        "protocol": "leave one subject out, nested: for each subject the candidate is chosen by leave one subject out inside the other subjects, fitted on all their chosen runs and scored on the new subject's 45 imagined trials (runs 4/8/12, the windows 0.5-2.5 s after each cue that `neuroloop eval mi` uses); no trial of the new subject is used",
        "training_subjects": subjects,
        "accuracy_imagined": float((all_pred == all_y).mean()),
        "kappa_imagined": cohen_kappa(all_y, all_pred),
        "trials_imagined": int(len(all_y)),
        "chance": 0.5,
        "accuracy_nested_loso_per_subject": [nested[s]["accuracy"] for s in subjects],
        "kappa_nested_loso_per_subject": [nested[s]["kappa"] for s in subjects],
        "nested_loso_choices": [f"{cands[nested[s]['choice']][0]['name']} on {cands[nested[s]['choice']][1]}" for s in subjects],
        "accuracy_nested_loso_after_alignment_trials": [nested[s]["accuracy_after_alignment_trials"] for s in subjects],
        "after_alignment_trials_note": f"the same nested predictions scored on each subject's trials after the first {ALIGNMENT_TRIALS}, the trials `neuroloop eval mi`'s calibration-light table scores",
        "accuracy_loso_candidates": final_scores,
        "accuracy_in_sample_per_subject": [in_sample[s][0] for s in subjects],
        "kappa_in_sample_per_subject": [in_sample[s][1] for s in subjects],
        "in_sample_note": "the shipped model (fitted on every subject) on each subject's imagined windows: what `neuroloop eval mi --method onnx` prints, not an estimate for a new user",
    }
    task = "left- versus right-hand motor imagery from 21 sensorimotor EEG channels, one 2-s window"
    provenance = (
        [f"EEGMMIDB {s}{r}" for s in subjects for r in RUNS], [], PROVENANCE_NOTE,
    )
    card = args.out / "mi-net.toml"
    write_card(card, task, channels, window, mi, training_table, validation, golden, provenance)
    log(f"wrote {onnx_path} and {card}")
    per_subject = ", ".join(f"{s} {nested[s]['accuracy']:.3f}" for s in subjects)
    log(f"nested leave one subject out: {validation['accuracy_imagined']:.3f} ({per_subject})")

    # 4. The application must score every subject as this script did.
    app = run_app_eval(args.neuroloop, args.data_root, card)
    for s in subjects:
        row = app.get(s)
        if row is None:
            sys.exit(f"`neuroloop eval mi` did not score {s}")
        if [int(p) for p in row["predictions"]] != [int(p) for p in in_sample[s][2]]:
            sys.exit(f"the application's predictions on {s} differ from this script's")
    log("the application agrees on every subject")


if __name__ == "__main__":
    main()
