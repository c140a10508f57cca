#!/usr/bin/env python
"""Where a bank's generator time goes, and what fewer FLOPs would cost in TensorFlow.

Issue 20 asks for 2x magenta's seconds per bank; the fast path is at ~1.6x. This
prints the measurements behind the choice of what to try next:

1. the split of one batch between the generator and the decoder;
2. an ablation of the activations (leaky ReLU + pixel norm), which are memory
   passes over the largest maps: the generator with them replaced by identity
   (wrong output, timing only) bounds what fusing them could save;
3. per 3x3 layer shape of the full-size model: oneDNN's direct convolution
   against Winograd F(2x2, 3x3) written in TensorFlow ops (2.25x fewer
   multiplies), without and with XLA, and Winograd's rounding against direct.

The reference in the same run is the direct convolution of each shape (and the
unablated generator). Run it with nothing else busy; the load average and the
steal time over the run are printed beside the table.

Usage:
    python bench/conv_paths.py [--batch 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from soaklib.machine import cpu_times  # noqa: E402

# Winograd F(2x2, 3x3) (Lavin & Gray 2015): Y = A^T [ (G g G^T) * (B^T d B) ] A
_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


def winograd_kernel(kernel: np.ndarray) -> tf.Tensor:
    """[3,3,C,K] -> the 16 transformed kernels [16, C, K] (in float64, then rounded)."""
    u = np.einsum("ai,ijck,bj->abck", _G, kernel.astype(np.float64), _G)
    return tf.constant(u.reshape(16, *kernel.shape[2:]).astype(np.float32))


def _bt(r0, r1, r2, r3):
    return (r0 - r2, r1 + r2, r2 - r1, r1 - r3)


def winograd_conv(x: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """3x3 SAME convolution of x [B,H,W,C] (H, W even) by Winograd F(2x2, 3x3)."""
    b, h, w, c = x.shape
    th, tw = h // 2, w // 2
    xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    rows = _bt(*[xp[:, k:k + 2 * th:2] for k in range(4)])
    tiles = []
    for t in rows:
        tiles.extend(_bt(*[t[:, :, k:k + 2 * tw:2] for k in range(4)]))
    m = tf.matmul(tf.reshape(tf.stack(tiles), [16, -1, c]), u)  # [16, N, K]
    m = tf.reshape(m, [4, 4, -1, u.shape[-1]])
    s0, s1 = m[0] + m[1] + m[2], m[1] - m[2] - m[3]
    y = tf.stack([s0[0] + s0[1] + s0[2], s0[1] - s0[2] - s0[3],
                  s1[0] + s1[1] + s1[2], s1[1] - s1[2] - s1[3]], axis=-1)  # [N, K, 4]
    k = u.shape[-1]
    y = tf.transpose(tf.reshape(y, [b, th, tw, k, 2, 2]), [0, 1, 4, 2, 5, 3])
    return tf.reshape(y, [b, h, w, k])


def best_of(fn, *args, n: int = 3) -> float:
    """The fastest of `n` calls after one to trace and warm up, seconds. A TensorFlow
    result is fetched (`.numpy()`) inside the timing; other results are already here."""
    def call() -> None:
        result = fn(*args)
        if hasattr(result, "numpy"):
            result.numpy()

    call()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return min(times)


def generator_split(batch: int) -> list[str]:
    """Generator and decoder time for one batch, and the activations' share."""
    from gansynth_live.model import fastgen
    from generate import _build_model

    z = tf.constant(np.random.default_rng(0).standard_normal((batch, 256)).astype(np.float32))
    labels = tf.constant(np.arange(batch, dtype=np.int32) + 10)
    model = _build_model("full", True, False)
    t_gen = best_of(model._specgrams, z, labels)
    t_dec = best_of(model._waves, model._specgrams(z, labels))
    def identity(self, y):  # timing only: the output is wrong
        return y

    act = fastgen.FastSampler._act
    fastgen.FastSampler._act = identity
    try:
        bare = _build_model("full", True, False)
        t_bare = best_of(bare._specgrams, z, labels)
    finally:
        fastgen.FastSampler._act = act
    per_bank = 61 / batch
    return [
        f"full-size fast path, batch {batch}, seconds per 61-note bank:",
        f"  generator {per_bank * t_gen:5.2f}   decoder {per_bank * t_dec:5.2f}",
        f"  generator without its activations (identity; timing only) {per_bank * t_bare:5.2f}"
        f"  -> activations {100 * (t_gen - t_bare) / t_gen:.0f} % of the generator",
    ]


def winograd_table(batch: int) -> list[str]:
    lines = [f"3x3 SAME convolutions of the full-size model, batch {batch}, ms (best of 3):",
             f"{'map':>10} {'C':>4} {'direct':>8} {'GF/s':>5} {'winograd':>9} {'+XLA':>7}"
             f" {'rel. error':>10}"]
    rng = np.random.default_rng(0)
    for h, w, c in ((16, 128, 256), (32, 256, 128), (64, 512, 64), (128, 1024, 32)):
        x = tf.constant(rng.standard_normal((batch, h, w, c)).astype(np.float32))
        kernel = (rng.standard_normal((3, 3, c, c)) * np.sqrt(2 / (9 * c))).astype(np.float32)
        direct_k, u = tf.constant(kernel), winograd_kernel(kernel)
        direct = tf.function(lambda x: tf.nn.conv2d(x, direct_k, 1, "SAME"))
        wino = tf.function(lambda x: winograd_conv(x, u))
        wino_xla = tf.function(lambda x: winograd_conv(x, u), jit_compile=True)
        ref, got = direct(x).numpy(), wino(x).numpy()
        err = float(np.abs(ref - got).max() / np.abs(ref).max())
        t_d, t_w, t_x = best_of(direct, x), best_of(wino, x), best_of(wino_xla, x)
        flops = 2 * 9 * c * c * h * w * batch
        lines.append(f"{h:>4}x{w:<5} {c:>4} {1e3 * t_d:8.1f} {flops / t_d / 1e9:5.0f}"
                     f" {1e3 * t_w:9.1f} {1e3 * t_x:7.1f} {err:10.1e}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    steal0, _, total0 = cpu_times()
    lines = generator_split(args.batch) + [""] + winograd_table(args.batch)
    steal1, _, total1 = cpu_times()
    print("\n".join(lines))
    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end, "
          f"steal {100 * (steal1 - steal0) / max(1, total1 - total0):.1f} % during the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
