"""Instrument specs a user types (`--instrument SPEC@TIME`) and the latents they name.

SPEC is one of:

- `NAME`: a preset (user presets first, then shipped ones, see presets.py);
- `seed:N`: the latent the model's prior draws with numpy's RandomState(N), as
  `GanSynth.random_latents(1, N)` does (N(0, 1) for magenta's models, as a preset
  with `seed = N` does; blends of fitted instruments for a model with a prior.json,
  model/prior.py);
- `audition:DIR:INDEX`: instrument INDEX of an earlier `gansynth-live audition`
  whose output folder is DIR (read from its latents.npy).

TIME is seconds (`12.5`) or minutes:seconds (`1:02.5`). Either every instrument
has a time or none has; without times they are spread evenly over the piece
from just before 0 to its end, as magenta's `get_random_instruments` does.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import GansynthLiveError
from ..presets import PresetError, find_preset
from .timbre_path import Timbre, TimbrePath, TimbrePoint

AUDITION_LATENTS = "latents.npy"
AUDITION_INFO = "audition.json"
MAGENTA_FIRST_TIME_S = -0.0001  # magenta starts its instrument times just before 0


class InstrumentError(GansynthLiveError):
    """An instrument spec that cannot be parsed or resolved."""


@dataclass(frozen=True)
class InstrumentSpec:
    kind: str  # "preset" | "seed" | "audition"
    value: str
    time_s: float | None
    text: str


def parse_time(text: str) -> float:
    """Seconds from `12.5` or `1:02.5`."""
    try:
        if ":" in text:
            minutes, seconds = text.split(":", 1)
            value = int(minutes) * 60 + float(seconds)
        else:
            value = float(text)
    except ValueError:
        raise InstrumentError(f"time {text!r} is not seconds (12.5) or minutes:seconds "
                              "(1:02.5)") from None
    if not math.isfinite(value):
        raise InstrumentError(f"time {text!r} is not a finite number")
    return value


def parse_spec(text: str) -> InstrumentSpec:
    body, at, when = text.rpartition("@")
    if not at:
        body, when = text, ""
    time_s = parse_time(when) if at else None
    if not body:
        raise InstrumentError(f"instrument spec {text!r} names no instrument")
    if body.startswith("seed:"):
        return InstrumentSpec("seed", body[5:], time_s, text)
    if body.startswith("audition:"):
        return InstrumentSpec("audition", body[9:], time_s, text)
    return InstrumentSpec("preset", body, time_s, text)


def seed_latent(seed: int, latent_size: int, prior=None) -> np.ndarray:
    """The latent of `seed:N`: GanSynth.random_latents(1, N)[0] of a model whose prior
    (model/prior.py) is `prior`; None is N(0, 1)."""
    if prior is None:
        return np.random.RandomState(seed).normal(size=[1, latent_size])[0]
    return prior.draw(1, latent_size, seed)[0]


def read_audition_latents(folder: Path, latent_size: int | None = None) -> np.ndarray:
    """The latents an audition wrote, validated (no pickle, finite, right width)."""
    path = folder / AUDITION_LATENTS
    try:
        latents = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InstrumentError(f"no {AUDITION_LATENTS} in '{folder}': is it a folder written by "
                              "'gansynth-live audition'?") from None
    except (OSError, ValueError) as exc:
        raise InstrumentError(f"cannot read '{path}': {exc}") from None
    if latents.ndim != 2 or not np.issubdtype(latents.dtype, np.floating) \
            or not np.all(np.isfinite(latents)):
        raise InstrumentError(f"'{path}' does not hold finite latents [count, size]")
    if latent_size is not None and latents.shape[1] != latent_size:
        raise InstrumentError(f"'{path}' holds {latents.shape[1]}-d latents; the model needs "
                              f"{latent_size}")
    return latents.astype(np.float64)


def resolve(spec: InstrumentSpec, latent_size: int, preset_dir: Path | None = None,
            warnings: list[str] | None = None, model_name: str = "default",
            prior=None) -> Timbre:
    """The instrument a spec names; `warnings` collects non-fatal remarks.

    `model_name` is the model in use as the user named it; a preset made for
    another model still works (latents are just vectors) but sounds different.
    """
    if spec.kind == "seed":
        try:
            seed = int(spec.value)
        except ValueError:
            raise InstrumentError(f"{spec.text!r}: seed must be an integer") from None
        if not 0 <= seed < 2**32:
            raise InstrumentError(f"{spec.text!r}: seed must be in 0..2**32-1")
        return Timbre(f"seed:{seed}", seed_latent(seed, latent_size, prior))
    if spec.kind == "audition":
        folder, colon, index_text = spec.value.rpartition(":")
        if not colon or not folder:
            raise InstrumentError(f"{spec.text!r}: expected audition:DIR:INDEX")
        try:
            index = int(index_text)
        except ValueError:
            raise InstrumentError(f"{spec.text!r}: INDEX must be an integer") from None
        latents = read_audition_latents(Path(folder).expanduser(), latent_size)
        if not 0 <= index < len(latents):
            raise InstrumentError(f"{spec.text!r}: the audition has instruments "
                                  f"0..{len(latents) - 1}")
        return Timbre(f"audition:{Path(folder).name}:{index}", latents[index])
    try:
        preset = find_preset(spec.value, preset_dir)
    except PresetError as exc:
        raise InstrumentError(str(exc)) from None
    if preset.is_morph:
        raise InstrumentError(f"preset {preset.name!r} is a morph setup; name one of its "
                              f"corners ({', '.join(preset.corners)}) instead")
    try:
        latent = preset.latent_vector(latent_size)
    except PresetError as exc:
        raise InstrumentError(str(exc)) from None
    if warnings is not None and preset.model not in (model_name, ""):
        warnings.append(f"preset {preset.name!r} was made with model {preset.model!r}; its "
                        "latent sounds different on another model")
    return Timbre(preset.name, latent, preset.gain_db)


def path_from_specs(texts: Sequence[str], latent_size: int, duration_s: float,
                    interpolation: str = "linear", preset_dir: Path | None = None,
                    warnings: list[str] | None = None, model_name: str = "default",
                    prior=None) -> TimbrePath:
    """A timbre path from `--instrument` arguments (see the module docstring)."""
    if not texts:
        raise InstrumentError("no instruments given")
    specs = [parse_spec(t) for t in texts]
    timed = [s.time_s is not None for s in specs]
    if any(timed) and not all(timed):
        raise InstrumentError("give every --instrument a time (SPEC@SECONDS) or none")
    instruments = [resolve(s, latent_size, preset_dir, warnings, model_name, prior)
                   for s in specs]
    if all(timed):
        times = [float(s.time_s) for s in specs]  # type: ignore[arg-type]
    elif len(specs) == 1:
        times = [0.0]
    else:
        times = list(np.linspace(MAGENTA_FIRST_TIME_S, max(duration_s, 1e-3), len(specs)))
    return TimbrePath([TimbrePoint(t, i) for t, i in zip(times, instruments)], interpolation)


def random_path(latent_size: int, total_time_s: float, secs_per_instrument: float,
                seed: int, interpolation: str = "linear", prior=None) -> TimbrePath:
    """magenta's get_random_instruments: int(total/secs) latents evenly spread over the piece.

    The latents are drawn at once from one RandomState(seed), as magenta's
    generate_z draws them (or the model's `prior`, model/prior.py, when given);
    at least two (magenta fails with fewer).
    """
    if not secs_per_instrument > 0:
        raise InstrumentError("seconds per instrument must be positive")
    count = max(2, int(total_time_s / secs_per_instrument))
    latents = (np.random.RandomState(seed).normal(size=[count, latent_size]) if prior is None
               else prior.draw(count, latent_size, seed))
    times = np.linspace(MAGENTA_FIRST_TIME_S, max(total_time_s, 1e-3), count)
    points = [TimbrePoint(float(t), Timbre(f"random:{seed}:{i}", z))
              for i, (t, z) in enumerate(zip(times, latents))]
    return TimbrePath(points, interpolation)


def describe_audition(folder: Path) -> dict:
    """The audition.json of an audition folder ({} when absent or unreadable)."""
    try:
        data = json.loads((folder / AUDITION_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
