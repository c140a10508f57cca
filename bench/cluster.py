#!/usr/bin/env python
"""Bank generation over Ray: this machine alone vs a generate server with 1 and 2 replicas.

Every row builds the same banks with an empty cache through `bank build`'s own code
(banks/library.py over BankServices), so the only difference is where the model runs:

* local (the reference, measured in the same run): the model in this process;
* ray x1: `generate-server --replicas 1` on this machine, one request at a time, so
  (its seconds per bank - local's) is the network path's overhead per bank (HTTP, the
  wire format, Serve's batching and scheduling);
* ray x2: two replicas, two requests at a time (on 2 cores the replicas share them).

Then a full 3 x 3 morph grid (9 banks), local and over 2 replicas. Each row prints the
load average and the steal time beside its figure (these VMs are noisy). The wire
format's sizes and costs come from cluster/measure.py.

Usage:
    python bench/cluster.py [--model default] [--banks 4] [--rate 48000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "tests"))

from soaklib.machine import cpu_times  # noqa: E402 - bench/ is the script's folder


def machine() -> tuple[int, int]:
    steal, _, total = cpu_times()
    return steal, total


def timed(label: str, build) -> dict:
    """Run build() -> (banks, notes) and time it with the machine's load and steal."""
    steal0, total0 = machine()
    t0 = time.perf_counter()
    banks, notes = build()
    seconds = time.perf_counter() - t0
    steal1, total1 = machine()
    return {"label": label, "banks": banks, "notes": notes, "s": seconds,
            "load1": os.getloadavg()[0],
            "steal": 100.0 * (steal1 - steal0) / max(1, total1 - total0)}


def build(latents, source, settings, generators) -> tuple[int, int]:
    from gansynth_live.banks.cache import BankCache
    from gansynth_live.banks.library import build_library
    from gansynth_live.banks.service import BankService

    with tempfile.TemporaryDirectory() as folder:
        cache = BankCache(Path(folder))
        services = [BankService(source, settings, cache, preload=False, generator=g)
                    for g in generators]
        try:
            result = build_library(latents, services)
        finally:
            for service in services:
                service.close()
    if result.failed:
        raise SystemExit(f"bench/cluster: banks failed: {result.failed}")
    return result.built, result.notes


def server(model: Path, home: Path, replicas: int):
    from generate_server_process import launch, wait_started

    running = launch(model, home, "--replicas", str(replicas))
    wait_started(running)
    return running


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder or name (default: shipped)")
    parser.add_argument("--banks", type=int, default=4, help="banks per row (default 4)")
    parser.add_argument("--rate", type=int, default=48000)
    args = parser.parse_args()

    from gansynth_live.live.corners import seeded_corner
    from gansynth_live.banks.builder import BuildSettings
    from gansynth_live.banks.generators import LocalGenerator
    from gansynth_live.banks.morph import MorphGrid
    from gansynth_live.banks.source import ModelSource
    from gansynth_live.cluster.client import RemoteGenerator
    from gansynth_live.cluster.measure import format_table, measure_formats
    from gansynth_live.model.registry import resolve_model

    path = resolve_model(args.model)
    settings = BuildSettings(sample_rate=args.rate)
    source = ModelSource(path=path)
    model = source.load()
    stamp = source.stamp
    prior = source.prior(stamp.latent_size)
    latents = list(prior.draw(args.banks, stamp.latent_size, seed=11))
    anchors = [seeded_corner(stamp.latent_size, s, prior).latent for s in (1, 2, 3, 4)]
    grid = [p.latent for p in MorphGrid(None, anchors, 3).order()]  # type: ignore[arg-type]
    local = LocalGenerator(source, settings)
    local.start()  # warm: the model's load is not what the rows compare

    rows = [timed("local (reference)", lambda: build(latents, source, settings, [local]))]
    home = Path(tempfile.mkdtemp(prefix="gsl-bench-home-"))
    for replicas in (1, 2):
        running = server(path, home, replicas)
        try:
            clients = [RemoteGenerator(running.url, settings) for _ in range(replicas)]
            for client in clients:
                client.start()
            rows.append(timed(f"ray x{replicas}",
                              lambda: build(latents, source, settings, clients)))
            if replicas == 2:
                grid_remote = timed("3x3 grid, ray x2",
                                    lambda: build(grid, source, settings, clients))
        finally:
            running.clean_up()
    grid_local = timed("3x3 grid, local", lambda: build(grid, source, settings, [local]))

    reference = rows[0]["s"] / rows[0]["banks"]
    print(f"\n## Bank generation over Ray (model {stamp.name}, {args.banks} banks of "
          f"{len(stamp.pitch_range)} notes at {args.rate} Hz, {os.cpu_count()} cores)\n")
    print("| where | notes/s | s per bank | vs local | overhead per bank | load1 | steal |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        per_bank = row["s"] / row["banks"]
        print(f"| {row['label']} | {row['notes'] / row['s']:.1f} | {per_bank:.2f} | "
              f"{reference / per_bank:.2f}x | {per_bank - reference:+.2f} s | "
              f"{row['load1']:.1f} | {row['steal']:.1f} % |")
    print("\n| full 3 x 3 grid (9 banks) | seconds | load1 | steal |")
    print("| --- | --- | --- | --- |")
    for row in (grid_local, grid_remote):
        print(f"| {row['label']} | {row['s']:.1f} | {row['load1']:.1f} | {row['steal']:.1f} % |")
    pitches = list(stamp.pitch_range)
    waves = model.generate(np.repeat(latents[0][None, :], len(pitches), axis=0), pitches,
                           batch_size=len(pitches))
    print(f"\nWire formats, one bank ({len(pitches)} notes at {stamp.sample_rate} Hz; "
          "cluster/measure.py):\n")
    print(format_table(measure_formats(waves, pitches, stamp.sample_rate, settings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
