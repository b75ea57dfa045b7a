#!/usr/bin/env python3
"""Bring your own model: braindecode's EEGNet trained in PyTorch on EEGMMIDB subjects S002 and
S003, exported with torch.onnx.export, with the model card neuroloop reads (docs/models.md).

The network sees what neuroloop's motor-imagery decoder feeds a card's network: the card's
21 sensorimotor channels at 160 Hz, each run band-passed causally 4-40 Hz (Butterworth order 4)
from its first sample, a 2-s window, channel-major, in microvolts. `neuroloop eval mi
--dump-features` writes exactly those windows, so training and the app agree by construction:

- training: S002 and S003, executed runs (R03, R07, R11; random 2-s crops of the 4 s after each
  cue) and imagined runs (R04, R08, R12; the window 0.5-2.5 s after each cue);
- held out: S001's imagined runs, which influenced nothing; scored here with onnxruntime on the
  dumped windows, and by the script's caller with `neuroloop eval mi` and a live replay.

Usage: braindecode_mi.py --features DIR --out DIR (DIR/S001, DIR/S002, DIR/S003 from
`neuroloop eval mi --dump-features`). Writes OUT/eegnet-mi.onnx, OUT/eegnet-mi.toml and
OUT/held_out.json (the held-out probabilities, for the live comparison).
"""
import argparse
import json
import pathlib
import sys
import warnings

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning)

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "train"))
from cards import fmt, golden_inputs, provenance_lines  # noqa: E402

SEED = 20261207
TRAIN_SUBJECTS = ["S002", "S003"]
HELD_OUT_SUBJECT = "S001"
STEPS = 400
BATCH = 32
SCALE = 0.05  # microvolts -> about unit variance, inside the graph
GOLDEN_AMPLITUDE = [20.0] * 21


def read_set(folder, name):
    index = json.loads((folder / "index.json").read_text())
    s = next(x for x in index["sets"] if x["name"] == name)
    rows = len(index["protocol"]["channels"])
    x = np.fromfile(folder / s["file"], dtype="<f4").reshape(len(s["labels"]), rows, s["samples"])
    return index, x, np.array(s["labels"])


class Wrapped(nn.Module):
    """Scale -> braindecode EEGNet -> softmax: one window in microvolts, class probabilities out."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return torch.softmax(self.net(x * SCALE), dim=1)


def training_set(features, window):
    xs, ys = [], []
    for s in TRAIN_SUBJECTS:
        _, executed, y_exec = read_set(features / s, "train")
        _, imagined, y_imag = read_set(features / s, "test")
        xs.append(("crop", executed, y_exec))
        xs.append(("exact", imagined, y_imag))
    return xs


def batches(parts, window, rng):
    """Batches mixing random 2-s crops of the executed trials and the imagined windows."""
    while True:
        x = np.empty((BATCH, parts[0][1].shape[1], window), np.float32)
        y = np.empty(BATCH, np.int64)
        for b in range(BATCH):
            kind, data, labels = parts[rng.integers(len(parts))]
            i = rng.integers(len(labels))
            start = rng.integers(data.shape[2] - window + 1) if kind == "crop" else 0
            x[b] = data[i, :, start:start + window]
            y[b] = labels[i]
        yield torch.from_numpy(x), torch.from_numpy(y)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=pathlib.Path, required=True)
    ap.add_argument("--out", type=pathlib.Path, required=True)
    args = ap.parse_args()
    from braindecode.models import EEGNet
    import braindecode

    index, held_x, held_y = read_set(args.features / HELD_OUT_SUBJECT, "test")
    proto = index["protocol"]
    channels, window = len(proto["channels"]), held_x.shape[2]
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    net = EEGNet(n_chans=channels, n_outputs=2, n_times=window)
    model = Wrapped(net)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.NLLLoss()
    model.train()
    stream = batches(training_set(args.features, window), window, rng)
    for step in range(STEPS):
        xb, yb = next(stream)
        opt.zero_grad()
        loss = loss_fn(torch.log(model(xb) + 1e-7), yb)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == STEPS - 1:
            print(f"step {step}: loss {loss.item():.3f}", file=sys.stderr)
    model.eval()

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "eegnet-mi.onnx"
    example = torch.from_numpy(held_x[:1].astype(np.float32))
    program = torch.onnx.export(model, (example,), str(onnx_path), input_names=["window"],
                                output_names=["probability"], external_data=False)
    if program is not None and not onnx_path.exists():
        program.save(str(onnx_path))

    # The exported graph computes what PyTorch does.
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    run = lambda w: sess.run(["probability"], {"window": w[None].astype(np.float32)})[0][0]
    held = np.stack([run(w) for w in held_x])
    with torch.no_grad():
        ref = model(torch.from_numpy(held_x.astype(np.float32))).numpy()
    parity = float(np.max(np.abs(ref - held)))
    if parity > 1e-4:
        sys.exit(f"the ONNX graph disagrees with PyTorch: max |difference| {parity}")
    predictions = held.argmax(1)
    accuracy = float((predictions == held_y).mean())
    print(f"held-out {HELD_OUT_SUBJECT} imagined runs: accuracy {accuracy:.3f} over {len(held_y)} trials; export parity {parity:.2e}", file=sys.stderr)
    golden = [float(run(w)[0]) for w in golden_inputs(5, channels, window, GOLDEN_AMPLITUDE)]
    (args.out / "held_out.json").write_text(json.dumps({
        "labels": held_y.tolist(), "probabilities": held.tolist(), "accuracy": accuracy}) + "\n")

    runs = ["R03", "R04", "R07", "R08", "R11", "R12"]
    lines = [
        "# Model card of an example network: braindecode's EEGNet trained in PyTorch and exported with",
        "# torch.onnx.export by scripts/examples/braindecode_mi.sh; the numbers are measured, not typed.",
        'name = "eegnet-mi"',
        f"task = {fmt('left- versus right-hand motor imagery from 21 sensorimotor EEG channels, one 2-s window')}",
        'file = "eegnet-mi.onnx"',
        "",
        "[input]",
        'name = "window"',
        f"shape = [1, {channels}, {window}]",
        "",
        "[output]",
        'name = "probability"',
        "shape = [1, 2]",
        "",
        "[mi]",
        f"channels = {fmt(proto['channels'])}",
        f"sample_rate_hz = {fmt(float(proto['sample_rate_hz']))}",
        f"band_hz = {fmt([float(b) for b in proto['band_hz']])}",
        f"filter_order = {fmt(int(proto['filter_order']))}",
        f"window_secs = {fmt(float(proto['window_secs']))}",
        f"cue_offset_secs = {fmt(float(index['cue_offset_secs']))}",
        f"class_names = {fmt(index['class_names'])}",
        "",
        "[training]",
        'command = "bash scripts/examples/braindecode_mi.sh"',
        'script = "scripts/examples/braindecode_mi.py"',
        f"framework = {fmt(f'PyTorch {torch.__version__} + braindecode {braindecode.__version__}, torch.onnx.export (onnxscript)')}",
        f"architecture = {fmt(f'x {SCALE} -> braindecode EEGNet (n_chans {channels}, n_outputs 2, n_times {window}, defaults) -> softmax')}",
        f"parameters = {sum(p.numel() for p in net.parameters())}",
        f"data = {fmt('EEGMMIDB ' + ', '.join(TRAIN_SUBJECTS) + ': executed runs R03/R07/R11 (random 2-s crops of the 4 s after each cue) and imagined runs R04/R08/R12 (0.5-2.5 s after each cue); from `neuroloop eval mi --dump-features`')}",
        f"steps = {STEPS}",
        f"batch = {BATCH}",
        'optimizer = "Adam, learning rate 0.001"',
        f"seed = {SEED}",
        f"export_parity_max_abs = {fmt(parity)}",
        "",
        "[validation]",
        f"protocol = {fmt(f'trained on {TRAIN_SUBJECTS}; scored on every imagined trial of {HELD_OUT_SUBJECT} (the windows 0.5-2.5 s after each cue that `neuroloop eval mi` uses)')}",
        f"accuracy_imagined = {fmt(accuracy)}",
        f"trials_imagined = {len(held_y)}",
        "chance = 0.5",
    ]
    lines += provenance_lines(
        [f"EEGMMIDB {s}{r}" for s in TRAIN_SUBJECTS for r in runs],
        [f"EEGMMIDB {HELD_OUT_SUBJECT}{r}" for r in ("R04", "R08", "R12")],
        "weights from the training subjects' runs; the architecture (braindecode's defaults), "
        "steps and learning rate were fixed before any score was seen; S001 influenced nothing",
    )
    lines += ["", "[golden]", f"amplitude = {fmt(GOLDEN_AMPLITUDE)}", f"outputs = {fmt(golden)}", ""]
    (args.out / "eegnet-mi.toml").write_text("\n".join(lines))
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes) and {args.out / 'eegnet-mi.toml'}", file=sys.stderr)


if __name__ == "__main__":
    main()
