#!/usr/bin/env python
"""Generation speed and memory: notes/s and seconds per 61-pitch bank.

Runs each configuration in its own process (so peak memory is per
configuration) and prints a table. References measured in the same run:

* the faithful path (magenta's op order: upscale, then 3x3 conv, scale after
  conv), which is our own port of magenta's sampling graph;
* magenta's own code, when a magenta-ref venv is given (`--magenta-venv`, built
  by ../shared/tools/magenta-ref/setup.sh): it times `generate_samples_from_z`
  on a full-size magenta-written checkpoint (made once by make_fixture.py).

With `--rounds N` every configuration (magenta included) runs N times, interleaved
(A, B, A, B, ...), and the table shows medians: on a shared machine a neighbour's job
then hits all configurations alike. Each row shows CPU seconds beside wall seconds
and the load average / steal time during its runs, and `1 note` is one note at
batch 1 (what the first playable note after a new latent costs in the generator).

Usage:
    python bench/generate.py [--batches 1,4,8,16] [--banks 2] [--rounds 3] [--magenta-venv DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FULL_SIZE = {"fmap_base": 4096, "fmap_max": 256, "fmap_decay": 1.0, "start_height": 2,
             "start_width": 16, "num_resolutions": 7, "latent_vector_size": 256,
             "batch_size_schedule": [8]}


def _build_model(which: str, fast: bool, jit: bool):
    from gansynth_live.model import load_model
    from gansynth_live.model.config import parse_config
    from gansynth_live.model.gansynth import GanSynth, ModelInfo
    from gansynth_live.model.generator import Generator

    if which == "tiny":
        return load_model(ROOT / "tests" / "fixtures" / "gansynth-tiny", fast=fast, jit_compile=jit)
    if which == "default":  # the model shipped in the package (what `serve` plays by default)
        from gansynth_live.model.registry import resolve_model

        return load_model(resolve_model("default"), fast=fast, jit_compile=jit)
    config = parse_config(FULL_SIZE, Path("full-size"))
    generator = Generator(config, 61, 7, 6.0, seed=0)
    info = ModelInfo(Path("full-size"), 12, 0, 7, 6.0, 61, "random")
    return GanSynth(config, generator, info, fast=fast, jit_compile=jit)


def measure(which: str, path: str, batch: int, banks: int) -> dict:
    """Child process: time `banks` 61-pitch banks after one warm-up bank."""
    import numpy as np

    fast, jit = {"faithful": (False, False), "fast": (True, False),
                 "fast+xla": (True, True)}[path]
    model = _build_model(which, fast, jit)
    pitches = list(model.pitch_range)
    z = np.repeat(model.random_latents(1, seed=0), len(pitches), axis=0)
    model.generate(z, pitches, batch_size=batch)  # warm-up: tracing, kernel selection
    cpu0, t0 = time.process_time(), time.perf_counter()
    for _ in range(banks):
        model.generate(z, pitches, batch_size=batch)
    wall = (time.perf_counter() - t0) / banks
    cpu = (time.process_time() - cpu0) / banks
    one = []
    for i in range(3):  # one new note at batch 1: the first playable note's generator time
        t1 = time.perf_counter()
        model.generate(model.random_latents(1, seed=100 + i), [60], batch_size=1)
        one.append(time.perf_counter() - t1)
    import tensorflow as tf

    return {"model": which, "path": path, "batch": batch, "s_per_bank": wall,
            "notes_per_s": len(pitches) / wall, "cpu_s_per_bank": cpu,
            "one_note_s": sorted(one)[1],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "gpu": bool(tf.config.list_physical_devices("GPU"))}


def _machine() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine so far (bench/soaklib/machine.py)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from soaklib.machine import cpu_times

    steal, _, total = cpu_times()
    return steal, total


def _with_machine(run) -> dict:
    """Run `run()` (returns a row) and add the machine's load and steal during it."""
    steal0, total0 = _machine()
    row = run()
    steal1, total1 = _machine()
    row["load1"] = os.getloadavg()[0]
    row["steal_pct"] = 100.0 * (steal1 - steal0) / max(1, total1 - total0)
    return row


def run_child(which: str, path: str, batch: int, banks: int) -> dict:
    cmd = [sys.executable, __file__, "--child", which, path, str(batch), str(banks)]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))

    def run() -> dict:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
        return json.loads(out.strip().splitlines()[-1])
    return _with_machine(run)


def magenta_reference(venv: Path, banks: int) -> dict | None:
    """Time magenta's own sampling on a full-size magenta-written checkpoint."""
    tools = SHARED / "tools" / "magenta-ref"
    python = venv / "bin" / "python"
    if not python.exists() or not tools.is_dir():
        print(f"(no magenta reference: {python} or {tools} missing)")
        return None
    ckpt = Path(os.environ.get("GANSYNTH_BENCH_FULL_CKPT", "/tmp/gansynth-full-size"))
    if not (ckpt / "experiment.json").exists():
        subprocess.run([str(python), str(tools / "make_fixture.py"), str(ckpt),
                        "--fmap-base", "4096", "--fmap-max", "256"], check=True,
                       capture_output=True)
    out = _with_machine(lambda: {"stdout": subprocess.run(
        [str(python), str(tools / "time_magenta.py"), str(ckpt), "--batch", "8",
         "--banks", str(banks)], check=True, capture_output=True, text=True).stdout})
    load1, steal_pct, out = out["load1"], out["steal_pct"], out["stdout"]
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    fields = dict(kv.split("=") for kv in line.split()[3:])
    return {"model": "full", "path": "magenta-2.1.4", "batch": 8,
            "s_per_bank": float(fields["seconds_per_bank"]),
            "notes_per_s": float(fields["notes_per_s"]),
            "cpu_s_per_bank": float(fields["cpu_s_per_bank"]), "peak_rss_mb": float("nan"),
            "one_note_s": float("nan"), "gpu": False, "load1": load1, "steal_pct": steal_pct}


def _median_row(runs: list[dict]) -> dict:
    """One row from a configuration's interleaved runs: medians, and the worst load seen."""
    def med(key: str) -> float:
        values = sorted(r[key] for r in runs)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else 0.5 * (values[mid - 1] + values[mid])
    row = dict(runs[0])
    for key in ("s_per_bank", "notes_per_s", "cpu_s_per_bank", "one_note_s", "peak_rss_mb",
                "steal_pct"):
        row[key] = med(key)
    row["load1"] = max(r["load1"] for r in runs)
    row["runs"] = len(runs)
    return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        which, path, batch, banks = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(measure(which, path, batch, banks)))
        return
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="1,4,8,16")
    parser.add_argument("--banks", type=int, default=1, help="timed banks per configuration")
    parser.add_argument("--paths", default="faithful,fast,fast+xla")
    parser.add_argument("--models", default="full,tiny",
                        help="full (released channel counts, random weights), tiny (the test "
                        "fixture), default (the packaged model)")
    parser.add_argument("--magenta-venv", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every configuration this many times, interleaved; medians")
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    configs = [(which, path, batch) for which in args.models.split(",") for batch in batches
               for path in args.paths.split(",")]
    measured: dict[tuple, list[dict]] = {}
    for rnd in range(args.rounds):
        if args.magenta_venv:
            ref = magenta_reference(args.magenta_venv, args.banks)
            if ref:
                measured.setdefault(("magenta",), []).append(ref)
                print(f"  round {rnd + 1}: magenta-2.1.4    batch   8: "
                      f"{ref['s_per_bank']:.2f} s/bank, {ref['cpu_s_per_bank']:.1f} CPU s, "
                      f"load {ref['load1']:.1f}", flush=True)
        for which, path, batch in configs:
            row = run_child(which, path, batch, args.banks)
            measured.setdefault((which, path, batch), []).append(row)
            print(f"  round {rnd + 1}: {which:5s} {path:9s} batch {batch:3d}: "
                  f"{row['s_per_bank']:.2f} s/bank, {row['cpu_s_per_bank']:.1f} CPU s, "
                  f"load {row['load1']:.1f}", flush=True)
    rows = [_median_row(runs) for runs in measured.values()]
    print()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the end; "
          f"{args.rounds} interleaved round(s), medians; load: the highest 1-minute load "
          "average seen after a run; steal: % of machine CPU time stolen by the hypervisor")
    header = (f"{'model':6s} {'path':14s} {'batch':>5s} {'s/bank61':>9s} {'notes/s':>8s} "
              f"{'cpu s':>7s} {'1 note':>7s} {'load':>5s} {'steal':>5s} {'peak MB':>8s} "
              f"{'vs faithful':>11s} {'vs magenta':>10s}")
    print(header)
    print("-" * len(header))
    magenta = next((r for r in rows if r["path"].startswith("magenta")), None)
    for row in rows:
        base = next((r for r in rows if r["model"] == row["model"] and r["path"] == "faithful"
                     and r["batch"] == row["batch"]), None)
        vs_f = f"{base['s_per_bank'] / row['s_per_bank']:.2f}x" if base else "-"
        vs_m = (f"{magenta['s_per_bank'] / row['s_per_bank']:.2f}x"
                if magenta and row["model"] == "full" else "-")
        print(f"{row['model']:6s} {row['path']:14s} {row['batch']:5d} {row['s_per_bank']:9.2f} "
              f"{row['notes_per_s']:8.2f} {row['cpu_s_per_bank']:7.1f} {row['one_note_s']:7.3f} "
              f"{row['load1']:5.1f} {row['steal_pct']:4.1f}% {row['peak_rss_mb']:8.0f} "
              f"{vs_f:>11s} {vs_m:>10s}" + ("  (GPU)" if row["gpu"] else ""))
    if magenta is None:
        print("\nvs magenta: not measured (give --magenta-venv; target: at least 2x faster "
              "than magenta 2.1.4 in the same run)")


if __name__ == "__main__":
    main()
