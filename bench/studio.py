#!/usr/bin/env python
"""Offline studio speed: where a render's time goes, and what a match step costs.

For the tiny fixture and a full-size architecture with random weights (the
released models' shapes: fmap 4096/256), prints per-stage times of rendering
the first N notes of examples/arpeggio.mid (every note its own latent, as with
a moving timbre) at 48 kHz, and seconds per gradient-descent step of `match`.
Reference measured in the same run: plain `model.generate` of the same number
of notes, so the studio's own overhead (preparing banks, mixing) is visible
next to the generator's cost. The mix is played by the live engine's code
(studio/playback.py), every note on its own bank.

Usage:
    python bench/studio.py [--notes 24] [--steps 3] [--models tiny,full]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FULL_SIZE = {"fmap_base": 4096, "fmap_max": 256, "fmap_decay": 1.0, "start_height": 2,
             "start_width": 16, "num_resolutions": 7, "latent_vector_size": 256,
             "batch_size_schedule": [8]}


def build(which: str):
    from gansynth_live.model import load_model
    from gansynth_live.model.config import parse_config
    from gansynth_live.model.gansynth import GanSynth, ModelInfo
    from gansynth_live.model.generator import Generator

    if which == "tiny":
        return load_model(ROOT / "tests" / "fixtures" / "gansynth-tiny")
    config = parse_config(FULL_SIZE, Path("full-size"))
    generator = Generator(config, 61, 7, 6.0, seed=0)
    info = ModelInfo(Path("full-size"), 12, 0, 7, 6.0, 61, "random")
    return GanSynth(config, generator, info)


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def bench(which: str, notes: int, steps: int) -> list[tuple[str, str, float, str]]:
    from gansynth_live.studio.instruments import path_from_specs, seed_latent
    from gansynth_live.studio.match import SpectralDistance, descend
    from gansynth_live.banks.builder import BuildSettings
    from gansynth_live.studio.gain import finalize
    from gansynth_live.studio.material import prepare_banks
    from gansynth_live.studio.notegen import generate_notes
    from gansynth_live.studio.playback import perform, schedule
    from gansynth_live.studio.render import COLAB_ENVELOPE, plan_render
    from gansynth_live.studio.score import Score, read_score

    model = build(which)
    full = read_score(ROOT / "examples" / "arpeggio.mid")
    score = Score(full.notes[:notes], full.duration_s, full.tempo_changes, full.midi_format)
    path = path_from_specs(["seed:1@0", f"seed:2@{score.notes[-1].start_s + 0.01}"], 256,
                           score.duration_s)
    plan = plan_render(score, path, model.pitch_range)
    model.generate(plan.latents[:1], plan.source_pitches[:1])  # tracing
    rows = []
    _, ref = timed(lambda: model.generate(plan.latents, plan.source_pitches))
    rows.append((which, "reference: model.generate", ref, f"{notes / ref:.1f} notes/s"))
    generated, gen_s = timed(lambda: generate_notes(model, plan.latents, plan.source_pitches))
    rows.append((which, "render: generate", gen_s, f"{len(generated.waves)} distinct notes"))
    pitches = [n.pitch for n in plan.notes]
    banks, prep_s = timed(lambda: prepare_banks(generated, pitches, plan.gains_db,
                                                BuildSettings(sample_rate=48000)))
    rows.append((which, "render: prepare banks (48 kHz)", prep_s,
                 f"{1000 * prep_s / notes:.0f} ms/note"))
    playback = schedule(plan.notes, banks, 48000, COLAB_ENVELOPE, 2.0)
    perform(playback)  # numba kernels compiled or loaded from cache, once per process
    audio, mix_s = timed(lambda: finalize(perform(playback).audio)[0])
    rows.append((which, "render: engine + final gain", mix_s,
                 f"{len(audio) / 48000 / mix_s:.0f}x real time"))
    target = model.generate(seed_latent(5, 256)[None], [60])[0]
    distance = SpectralDistance(target)
    descend(model, distance, seed_latent(6, 256), 60, 0, 0.01)  # tracing
    _, desc_s = timed(lambda: descend(model, distance, seed_latent(6, 256), 60, steps, 0.01))
    rows.append((which, "match: descent step", desc_s / (steps + 1),
                 f"{steps} steps + final evaluation"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notes", type=int, default=24)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--models", default="tiny,full")
    args = parser.parse_args()
    rows = []
    for which in args.models.split(","):
        rows += bench(which, args.notes, args.steps)
    print(f"{'model':6s} {'stage':34s} {'seconds':>9s}  note")
    for which, stage, seconds, note in rows:
        print(f"{which:6s} {stage:34s} {seconds:9.3f}  {note}")


if __name__ == "__main__":
    main()
