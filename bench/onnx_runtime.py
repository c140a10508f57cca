#!/usr/bin/env python
"""ONNX Runtime against the TensorFlow fast path for the full-size generator (issue 20).

Issue 20 names an ONNX Runtime backend as an optional extra "if it is faster on CPU".
This converts the fast path's generator (the same tf.function `serve` runs, released
channel counts, random weights) to ONNX with tf2onnx, frozen, and times one batch in
both runtimes in the same run (the TensorFlow time is the reference), with the largest
difference between their outputs, the load average and the steal time.

Needs two packages the project does not depend on (they are only for this question):
    pip install onnxruntime tf2onnx onnx
Usage:
    python bench/onnx_runtime.py [--batch 1 8 16] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8, 16])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2,
                        help="ONNX Runtime intra-op threads (default: every core)")
    args = parser.parse_args()
    try:
        import onnxruntime as ort
        import tf2onnx
    except ImportError as exc:
        print(f"onnx_runtime.py: {exc.name} is not installed: pip install onnxruntime tf2onnx onnx")
        return 2
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2)

    from conv_paths import best_of
    from generate import _build_model
    from soaklib.machine import cpu_times

    model = _build_model("full", True, False)
    frozen = convert_variables_to_constants_v2(model._specgrams.get_concrete_function())
    proto, _ = tf2onnx.convert.from_graph_def(
        frozen.graph.as_graph_def(), input_names=[t.name for t in frozen.inputs],
        output_names=[t.name for t in frozen.outputs], opset=17)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(proto.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    steal0, _, total0 = cpu_times()
    print(f"full-size generator, seconds per 61-note bank (ONNX Runtime {ort.__version__}, "
          f"{args.threads} threads; tf2onnx {tf2onnx.__version__}, opset 17)")
    print("| batch | TensorFlow fast path (reference) | ONNX Runtime | ONNX Runtime speed vs reference | max abs diff / peak |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for batch in args.batch:
        z = rng.standard_normal((batch, model.latent_size)).astype(np.float32)
        labels = (np.arange(batch, dtype=np.int32) + 10) % model.info.num_pitches
        feed = dict(zip(names, (z, labels)))
        ref = model._specgrams(tf.constant(z), tf.constant(labels)).numpy()
        out = session.run(None, feed)[0]
        t_tf = best_of(model._specgrams, tf.constant(z), tf.constant(labels))
        t_ort = best_of(session.run, None, feed)
        per_bank = 61 / batch
        print(f"| {batch} | {per_bank * t_tf:.2f} s | {per_bank * t_ort:.2f} s | "
              f"{t_tf / t_ort:.2f}x | {np.abs(out - ref).max():.2g} / {np.abs(ref).max():.3g} |")
    steal1, _, total1 = cpu_times()
    print(f"load average {os.getloadavg()[0]:.1f}, steal "
          f"{100 * (steal1 - steal0) / max(1, total1 - total0):.1f} % during the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
