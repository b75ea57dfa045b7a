#!/usr/bin/env python3
"""Times one call of an ONNX graph through onnxruntime's Python API, as `neuroloop model check`
times the same graph in the app: one intra-op and one inter-op thread, CPU, batch 1, the same
input values, only the named output fetched.

Usage: ort_time.py MODEL INPUT_NAME OUTPUT_NAME SHAPE INPUT.f32 CALLS
(SHAPE comma-separated; INPUT.f32 little-endian float32). Prints one JSON object: version,
calls, median_ms, p99_ms, first_output.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    model, input_name, output_name, shape, data, calls = sys.argv[1:7]
    shape = [int(d) for d in shape.split(",")]
    x = np.fromfile(data, dtype="<f4").reshape(shape)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    feed = {input_name: x}
    first = sess.run([output_name], feed)[0]
    for _ in range(min(20, int(calls))):
        sess.run([output_name], feed)
    times = []
    for _ in range(int(calls)):
        t0 = time.perf_counter_ns()
        sess.run([output_name], feed)
        times.append((time.perf_counter_ns() - t0) / 1e6)
    times.sort()
    print(json.dumps({
        "version": ort.__version__,
        "calls": len(times),
        "median_ms": times[len(times) // 2],
        "p99_ms": times[min(len(times) - 1, int(0.99 * len(times)))],
        "first_output": float(np.asarray(first).reshape(-1)[0]),
    }))


if __name__ == "__main__":
    main()
