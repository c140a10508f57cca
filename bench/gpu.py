#!/usr/bin/env python
"""GPU bank generation: notes/s, seconds per 61-note bank, and parity with the CPU.

One short command on a machine with a GPU (a few minutes at most, most of it the CPU
reference and TensorFlow's start-up):

    python bench/gpu.py                 # full-size generator, random weights (seed 0)
    python bench/gpu.py --banks 5 --batches 32,61 --tf32

What it does:

1. checks that TensorFlow sees a GPU, that memory growth is on (gansynth_live.model
   sets it) and that the model's default batch puts a bank in one or two batches;
2. times `--banks` 61-note banks (MIDI 24..84, one latent) at each batch size after a
   warm-up bank, on the GPU: s/bank, notes/s, one note at batch 1, peak GPU memory;
3. generates the same bank on the CPU in a child process (CUDA_VISIBLE_DEVICES=""),
   and prints the GPU's difference from it as tests/float32.py measures it (max / mean
   float32 epsilons of the CPU result's peak), for the waves and the generator output,
   against the bounds the parity tests use (NETWORK_MAX_ULPS, WAVE_MEAN_ULPS,
   SPECGRAM_MEAN_ULPS);
4. runs the tiny fixture on the GPU against magenta's own output
   (tests/fixtures/gansynth-tiny-reference.npz), with the same bounds.

TensorFloat-32 is off (gansynth_live.model turns it off: 10-bit mantissas are far
outside the bounds); `--tf32` turns it back on to show what it would buy and cost.
Exit status 0 when every parity figure is within its bound, 1 when one is not, 2 when
no GPU is visible (`--allow-cpu` runs it all on the CPU instead, to test the script).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tests")]


def _bank_inputs(model):
    import numpy as np

    pitches = list(model.pitch_range)
    return np.repeat(model.random_latents(1, seed=0), len(pitches), axis=0), pitches


def cpu_reference(out: Path) -> None:
    """Child process, GPU hidden: the bank's waves and generator output on the CPU."""
    import numpy as np

    from generate import _build_model

    model = _build_model("full", True, False)
    z, pitches = _bank_inputs(model)
    t0 = time.perf_counter()
    waves = model.generate(z, pitches, batch_size=8)
    wall = time.perf_counter() - t0
    specs = model.generate_specgrams(z[:8], pitches[:8], batch_size=8)
    np.savez(out, waves=waves, specs=specs, seconds=wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--banks", type=int, default=3, help="timed banks per batch size")
    parser.add_argument("--batches", default="", help="batch sizes (default: the model's "
                        "default batch, and 61: the whole bank at once)")
    parser.add_argument("--tf32", action="store_true", help="allow TensorFloat-32")
    parser.add_argument("--allow-cpu", action="store_true",
                        help="run without a GPU (to test this script)")
    parser.add_argument("--cpu-reference", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cpu_reference:
        cpu_reference(args.cpu_reference)
        return 0

    import numpy as np
    import tensorflow as tf

    from float32 import NETWORK_MAX_ULPS, SPECGRAM_MEAN_ULPS, WAVE_MEAN_ULPS, ulps_of_peak
    from generate import _build_model
    from gansynth_live.model import load_model
    from gansynth_live.model.gansynth import GPU_BATCH_SIZE

    gpus = tf.config.list_physical_devices("GPU")
    print(f"TensorFlow {tf.__version__}, GPUs: {[g.name for g in gpus] or 'none'}")
    if not gpus and not args.allow_cpu:
        print("no GPU visible: nothing measured (--allow-cpu runs the script on the CPU)")
        return 2
    growth = [tf.config.experimental.get_memory_growth(g) for g in gpus]
    if args.tf32:
        tf.config.experimental.enable_tensor_float_32_execution(True)
    print(f"memory growth: {growth}; TensorFloat-32: "
          f"{tf.config.experimental.tensor_float_32_execution_enabled()}")
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        print(f"  {gpu.name}: {details.get('device_name', '?')}, compute capability "
              f"{details.get('compute_capability', '?')}")

    model = _build_model("full", True, False)
    z, pitches = _bank_inputs(model)
    default = model.default_batch_size
    n_batches = -(-len(pitches) // default)
    print(f"default batch {default} (GPU_BATCH_SIZE {GPU_BATCH_SIZE}): a 61-note bank in "
          f"{n_batches} batch(es)" + ("" if n_batches <= 2 or not gpus else "  <- NOT 1-2"))
    batches = [int(b) for b in args.batches.split(",")] if args.batches else \
        sorted({default, len(pitches)})
    failed = False
    results = {}
    print(f"\n{'batch':>5s} {'s/bank61':>9s} {'notes/s':>8s} {'cpu s':>7s} {'1 note s':>9s} "
          f"{'peak GPU MB':>11s}")
    for batch in batches:
        if gpus:
            tf.config.experimental.reset_memory_stats("GPU:0")
        waves = model.generate(z, pitches, batch_size=batch)  # warm-up: tracing, autotune
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(args.banks):
            waves = model.generate(z, pitches, batch_size=batch)
        wall = (time.perf_counter() - t0) / args.banks
        cpu = (time.process_time() - cpu0) / args.banks
        one = []
        for i in range(5):
            t1 = time.perf_counter()
            model.generate(model.random_latents(1, seed=100 + i), [60], batch_size=1)
            one.append(time.perf_counter() - t1)
        peak = (tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20 if gpus
                else float("nan"))
        results[batch] = waves
        print(f"{batch:5d} {wall:9.3f} {len(pitches) / wall:8.1f} {cpu:7.2f} "
              f"{sorted(one)[2]:9.4f} {peak:11.0f}", flush=True)

    print("\nparity with the CPU (child process, GPU hidden), ulps of the CPU result's peak:")
    with tempfile.TemporaryDirectory() as tmp:
        ref_path = Path(tmp) / "cpu.npz"
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="3",
                   PYTHONPATH=str(ROOT))
        subprocess.run([sys.executable, __file__, "--cpu-reference", str(ref_path)], env=env,
                       check=True)
        ref = dict(np.load(ref_path))
    print(f"  (CPU bank at batch 8: {float(ref['seconds']):.2f} s)")
    checks = [(f"waves, batch {b}", w, ref["waves"], WAVE_MEAN_ULPS) for b, w in results.items()]
    checks.append(("generator output, 8 notes", model.generate_specgrams(z[:8], pitches[:8]),
                   ref["specs"], SPECGRAM_MEAN_ULPS))
    tiny_dir = ROOT / "tests" / "fixtures" / "gansynth-tiny"
    tiny_ref = np.load(ROOT / "tests" / "fixtures" / "gansynth-tiny-reference.npz")
    tiny = load_model(tiny_dir)
    checks.append(("tiny fixture waves vs magenta's own", tiny.generate(tiny_ref["z"],
                   tiny_ref["pitches"]), tiny_ref["waves"], WAVE_MEAN_ULPS))
    n = len(tiny_ref["specgrams"])
    checks.append(("tiny fixture generator output vs magenta's",
                   tiny.generate_specgrams(tiny_ref["z"][:n], tiny_ref["pitches"][:n]),
                   tiny_ref["specgrams"], SPECGRAM_MEAN_ULPS))
    for label, got, want, mean_bound in checks:
        worst, mean = ulps_of_peak(got, want)
        ok = worst <= NETWORK_MAX_ULPS and mean <= mean_bound
        failed |= not ok
        print(f"  {label:44s} max {worst:8.0f} (<= {NETWORK_MAX_ULPS})  mean {mean:6.2f} "
              f"(<= {mean_bound})  {'ok' if ok else 'OUTSIDE THE BOUND'}")
    print(json.dumps({"gpu": bool(gpus), "tf32": bool(args.tf32), "parity_ok": not failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
