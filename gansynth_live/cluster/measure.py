"""The wire formats' figures for one 61-note bank: bytes, coding time, parity of the notes.

Why a module: wire.DEFAULT_FORMAT was chosen from these figures, and the bench
(`bench/`) and anyone with another model or machine can print them again:

    python -m gansynth_live.cluster.measure [--model NAME]

Parity is measured where it matters, on the processed notes (trimmed, looped, at
48 kHz) made from the decoded waves against those made from the model's own waves, in
float32 ulps of the note's peak (tests/float32.py's unit).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from ..banks.builder import BuildSettings
from ..banks.generators import process_waves
from . import wire

EPS32 = float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class WireFigures:
    format: str
    bytes: int
    encode_s: float
    decode_s: float
    max_ulps: float  # the worst note's; inf where a note's trim or loop points moved
    mean_ulps: float  # the worst note's mean


def measure_formats(waves: np.ndarray, pitches: list[int], source_rate: int,
                    settings: BuildSettings, repeats: int = 3) -> list[WireFigures]:
    """Each wire format on `waves` (the best of `repeats` timings)."""
    reference = process_waves(waves, pitches, source_rate, settings, {})
    rows = []
    for fmt in wire.FORMATS:
        encode_s, decode_s = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            body = wire.encode_waves(waves, fmt, 0.0, "", source_rate)
            t1 = time.perf_counter()
            decoded, _ = wire.decode_waves(body)
            encode_s.append(t1 - t0)
            decode_s.append(time.perf_counter() - t1)
        notes = process_waves(decoded, pitches, source_rate, settings, {})
        worst, mean = 0.0, 0.0
        for got, ref in zip(notes, reference):
            if (got.samples.shape != ref.samples.shape
                    or (got.loop_start, got.loop_end) != (ref.loop_start, ref.loop_end)):
                worst = mean = float("inf")
                break
            unit = EPS32 * float(np.max(np.abs(ref.samples)) or 1.0)
            diff = np.abs(got.samples.astype(np.float64) - ref.samples)
            worst = max(worst, float(diff.max() / unit))
            mean = max(mean, float(diff.mean() / unit))
        rows.append(WireFigures(fmt, len(body), min(encode_s), min(decode_s), worst, mean))
    return rows


def format_table(rows: list[WireFigures]) -> str:
    lines = ["format      MB  encode ms  decode ms  notes vs local: max, mean ulps of peak"]
    for r in rows:
        parity = ("trim or loop points moved" if not np.isfinite(r.max_ulps)
                  else f"{r.max_ulps:.0f}, {r.mean_ulps:.2f}")
        lines.append(f"{r.format:6s} {r.bytes / 1e6:7.2f} {r.encode_s * 1e3:10.0f} "
                     f"{r.decode_s * 1e3:10.0f}  {parity}")
    return "\n".join(lines)


def main() -> None:
    from ..model import load_model
    from ..model.registry import resolve_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder or name (default: shipped)")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    model = load_model(resolve_model(args.model))
    pitches = list(model.pitch_range)[:61]
    z = np.repeat(model.random_latents(1, seed=args.seed), len(pitches), axis=0)
    waves = model.generate(z, pitches, batch_size=len(pitches))
    print(f"{len(pitches)} notes x {waves.shape[1]} samples at {model.sample_rate} Hz")
    print(format_table(measure_formats(waves, pitches, model.sample_rate, BuildSettings())))


if __name__ == "__main__":
    main()
