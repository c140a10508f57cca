"""Generating the notes a piece needs: each distinct (latent, pitch) once, in batches.

Kept apart from bank making and playing (material.py, playback.py), which
need no model, so they can be tested on known notes. The model sees float32
latents, so two latents equal in float32 are one note.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class GeneratedNotes:
    """`waves[index[i]]` is the note requested by row i."""

    waves: np.ndarray      # float32 [distinct, audio_length]
    latents: np.ndarray    # float64 [distinct, latent_size]
    pitches: np.ndarray    # int [distinct]
    index: np.ndarray      # int [requested]
    sample_rate: int


def distinct_requests(latents: np.ndarray, pitches: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(rows of the first occurrence of each distinct request, index of each request)."""
    keys: dict[bytes, int] = {}
    first: list[int] = []
    index = np.empty(len(pitches), dtype=np.int64)
    z32 = np.ascontiguousarray(np.asarray(latents, dtype=np.float32))
    for i, pitch in enumerate(np.asarray(pitches, dtype=np.int64)):
        key = z32[i].tobytes() + int(pitch).to_bytes(2, "little", signed=True)
        if key not in keys:
            keys[key] = len(first)
            first.append(i)
        index[i] = keys[key]
    return np.array(first, dtype=np.int64), index


def generate_notes(model, latents: np.ndarray, pitches: np.ndarray,
                   batch_size: int | None = None, progress: ProgressFn | None = None
                   ) -> GeneratedNotes:
    """Run the generator once per distinct (latent, pitch)."""
    latents = np.asarray(latents, dtype=np.float64)
    pitches = np.asarray(pitches, dtype=np.int64)
    if len(latents) != len(pitches):
        raise ValueError(f"{len(latents)} latents but {len(pitches)} pitches")
    first, index = distinct_requests(latents, pitches)
    if len(first) == 0:
        waves = np.zeros((0, model.config.audio_length), np.float32)
    else:
        waves = model.generate(latents[first], pitches[first], batch_size=batch_size,
                               progress=progress)
    return GeneratedNotes(waves=waves, latents=latents[first], pitches=pitches[first],
                          index=index, sample_rate=int(model.sample_rate))
