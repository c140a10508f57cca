#!/usr/bin/env python
"""Note banks: first playable note, full bank, cache load, warm restart, memory.

The model is the full-size released architecture (channels 256..32, latent
256, 61 pitches) with random weights, written to a temporary model folder and
loaded like a downloaded one. References measured in the same run:

* the model alone generating one note (batch 1) and a whole bank, so the
  bank-service overhead (processing, loops, quantising, publishing) is the
  difference;
* `sha256` over the bank's bytes, the floor under a verified cache load.

Targets (issue #5): first playable note after a new latent <= 0.5 s;
warm-cache restart to first playable note < 1 s; <= 24 MB per 61-note bank
at 48 kHz.

Usage:
    python bench/banks.py [--latents 3] [--rate 48000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soaklib.machine import rss_mb  # noqa: E402 - bench/ is the script's folder

FULL_SIZE = {"fmap_base": 4096, "fmap_max": 256, "fmap_decay": 1.0, "start_height": 2,
             "start_width": 16, "num_resolutions": 7, "latent_vector_size": 256,
             "batch_size_schedule": [8]}

WARM_RESTART = """
import time, sys
t0 = time.perf_counter()
import numpy as np
from pathlib import Path
from gansynth_live.banks.cache import BankCache
from gansynth_live.banks.source import ModelSource, StampMemo
from gansynth_live.banks.service import BankService
folder = Path(sys.argv[2])
source = ModelSource(path=sys.argv[1], memo=StampMemo(folder))
z = source.stamp.random_latents(1, seed=int(sys.argv[3]))[0]
service = BankService(source, cache=BankCache(folder), preload=False).start()
handle = service.request(z, priority_pitches=[60])
while handle.current is None and not handle.finished:
    time.sleep(0.001)
t_first = time.perf_counter() - t0
print(f"{t_first} {'tensorflow' in sys.modules} {handle.from_cache}", flush=True)
service.close()
"""


def write_full_size_model(folder: Path) -> Path:
    from gansynth_live.model.config import parse_config
    from gansynth_live.model.export import write_model_dir
    from gansynth_live.model.generator import Generator

    config = parse_config(FULL_SIZE, Path("full-size"))
    generator = Generator(config, 61, 7, 6.0, seed=0)
    return write_model_dir(folder / "full-size-random", config, generator.numpy_weights())


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latents", type=int, default=3, help="new latents to time (default 3)")
    parser.add_argument("--rate", type=int, default=48000, help="output rate (default 48000)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    import numpy as np

    from gansynth_live.banks.builder import BuildSettings, process_wave
    from gansynth_live.banks.cache import BankCache
    from gansynth_live.banks.source import ModelSource, StampMemo
    from gansynth_live.banks.service import BankService
    from gansynth_live.model import load_model

    rows: list[tuple[str, str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-banks-"))
    model_dir = write_full_size_model(tmp)
    cache_folder = tmp / "cache" / "banks"
    settings = BuildSettings(sample_rate=args.rate)

    # --- references: the model alone ---------------------------------------------------
    model = load_model(model_dir)
    pitches = list(model.pitch_range)
    z0 = model.random_latents(1, seed=1000)
    model.generate(z0, [60], batch_size=1)  # trace
    one = []
    for i in range(3):
        t = time.perf_counter()
        wave = model.generate(model.random_latents(1, seed=2000 + i), [60], batch_size=1)
        one.append(time.perf_counter() - t)
    proc = []
    for _ in range(5):
        t = time.perf_counter()
        process_wave(wave[0], model.sample_rate, 60, settings)
        proc.append(time.perf_counter() - t)
    t = time.perf_counter()
    model.generate(np.repeat(z0, len(pitches), axis=0), pitches, batch_size=1)
    raw_bank_s = time.perf_counter() - t
    rows += [("model alone: 1 note, batch 1 (reference)", f"{median(one):.3f} s", ""),
             ("processing 1 note (DC, soxr, trim, loop, stats)", f"{median(proc) * 1e3:.1f} ms",
              ""),
             ("model alone: 61 notes, batch 1 (reference)", f"{raw_bank_s:.2f} s", "")]

    # --- the service: new latents ------------------------------------------------------
    source = ModelSource(model=model, path=model_dir, memo=StampMemo(cache_folder))
    source.memo.put(model_dir, source.stamp)  # what loading from the folder records
    cache = BankCache(cache_folder)
    first, full, alone = [], [], []
    rss0 = rss_mb()
    with BankService(source, settings, cache) as service:
        service.wait_ready(600)
        for i in range(args.latents):
            z = model.random_latents(1, seed=i)[0]
            t = time.perf_counter()  # the same note from the model alone, just before
            model.generate(z[np.newaxis], [60], batch_size=1)
            alone.append(time.perf_counter() - t)
            got = threading.Event()
            t = time.perf_counter()
            handle = service.request(z, priority_pitches=[60])
            handle.add_listener(lambda h: got.set() if h.current is not None else None)
            got.wait(600)
            first.append(time.perf_counter() - t)
            handle.wait(3600)
            full.append(time.perf_counter() - t)
        bank = handle.current
        rss_built = rss_mb() - rss0
        batch = service._batch
        stats = service.stats
    overhead = median([f - a for f, a in zip(first, alone)])
    rows += [("first playable note after a new latent (median)", f"{median(first):.3f} s",
              "<= 0.5 s"),
             ("  the same note, model alone, just before (median)", f"{median(alone):.3f} s", ""),
             ("  service overhead on the first note (median)", f"{overhead * 1e3:.0f} ms", ""),
             (f"full bank, 61 notes + {len(bank.slots) - 61} above (median)",
              f"{median(full):.2f} s", ""),
             ("  in the generator / in note processing (all runs)",
              f"{stats.generate_s:.1f} / {stats.process_s:.1f} s", ""),
             ("  generator batch chosen (~1 s per batch)", f"{batch}", "")]

    # --- cache --------------------------------------------------------------------------
    key = handle.key
    loads = []
    for _ in range(5):
        t = time.perf_counter()
        loaded = cache.load(key)
        loads.append(time.perf_counter() - t)
    data = bytes(memoryview(loaded.samples).cast("B"))
    t = time.perf_counter()
    hashlib.sha256(data).digest()
    sha_s = time.perf_counter() - t
    size = cache.path_for(key).stat().st_size
    rows += [("cache load, verified + mapped (page cache warm)", f"{median(loads) * 1e3:.1f} ms",
              ""),
             ("  sha256 of the same bytes (reference)", f"{sha_s * 1e3:.1f} ms", ""),
             ("  file size", f"{size / 1e6:.1f} MB", "")]

    restarts = []
    for i in range(3):
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", WARM_RESTART, str(model_dir),
                              str(cache_folder), str(args.latents - 1)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        wall = time.perf_counter() - t
        inside, tf_loaded, from_cache = out.stdout.split()
        restarts.append((wall, float(inside), tf_loaded, from_cache))
    rows += [("warm restart: process start to first playable note",
              f"{median([r[0] for r in restarts]):.3f} s", "< 1 s"),
             ("  of which in the script (after interpreter start)",
              f"{median([r[1] for r in restarts]):.3f} s", ""),
             ("  TensorFlow imported / served from cache",
              f"{restarts[0][2]} / {restarts[0][3]}", "False / True")]

    # --- memory -------------------------------------------------------------------------
    model_bytes = sum((s.end - s.start) * bank.samples.itemsize
                      for p, s in bank.slots.items() if p in model.pitch_range)
    ext_bytes = bank.nbytes - model_bytes
    looped = sum(s.loops for s in bank.slots.values())
    rows += [("bank memory, 61 model notes", f"{model_bytes / 1e6:.1f} MB", "<= 24 MB"),
             (f"bank memory, {len(bank.slots) - 61} pre-rendered notes above",
              f"{ext_bytes / 1e6:.1f} MB", ""),
             ("bank memory, total (int16, per-note gain)", f"{bank.nbytes / 1e6:.1f} MB", ""),
             ("  resident growth while building banks (RSS)",
              f"{rss_built:.0f} MB for {args.latents}", ""),
             ("notes with a sustain loop", f"{looped} of {len(bank.slots)}", "")]

    width = max(len(r[0]) for r in rows)
    print(f"\nbench/banks.py  full-size random-weight generator, {args.rate} Hz, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':<{width}}  {'value':>12}  target")
    print("-" * (width + 24))
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:>12}  {target}")
    print(json.dumps({"first_note_s": first, "alone_s": alone, "full_bank_s": full,
                      "cache_load_s": loads,
                      "restart_s": [r[0] for r in restarts]}))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
