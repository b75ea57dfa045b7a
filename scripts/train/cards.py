"""What the model trainers share: TOML values for the model cards, ONNX Runtime run as the
application runs it (one intra-op thread, one window per call), and the cards' formula-made
golden inputs (`Golden::input` in decoders/src/onnx.rs)."""

import json

import numpy as np


def fmt(v):
    """A TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(fmt(x) for x in v) + "]"
    raise TypeError(v)


def provenance_lines(influenced, held_out, note):
    """The card's `[provenance]` table: every recording that influenced any choice, the
    recordings that influenced nothing (the card's held-out numbers are measured on them only),
    and how the choices were made. The application refuses a card that lists a recording in
    both."""
    return ["", "[provenance]", f"influenced = {fmt(influenced)}", f"held_out = {fmt(held_out)}",
            f"note = {fmt(note)}"]


def ort_outputs(path, windows, input_name="window"):
    """The first output of the ONNX model at `path` for each window (batch 1 per call),
    stacked: (windows, outputs)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return np.stack(
        [sess.run(None, {input_name: w[None].astype(np.float32)})[0][0] for w in windows]
    )


def golden_inputs(count, rows, samples, amplitude, row_rate=0.0):
    """Golden windows 0..count: row c, sample i holds
    sin(0.05 (k + 1) (1 + row_rate c) (i + 1) + c) * amplitude[c]; (count, rows, samples)."""
    i = np.arange(samples, dtype=np.float64)
    out = np.zeros((count, rows, samples), np.float32)
    for k in range(count):
        for c in range(rows):
            rate = 0.05 * (k + 1) * (1.0 + row_rate * c)
            out[k, c] = (np.sin(rate * (i + 1) + c) * amplitude[c]).astype(np.float32)
    return out
