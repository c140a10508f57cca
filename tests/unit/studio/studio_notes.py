"""Synthetic "generated" notes for the studio tests, where the right answer is known.

They stand in for the model's output only: everything after generation (the
bank builder, the engine, the final gain) is the real code.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from gansynth_live.studio.notegen import GeneratedNotes
from gansynth_live.studio.render import RenderPlan
from gansynth_live.studio.score import RangeFit, ScoreNote

MODEL_RATE = 16000


def nsynth_like(freq: float = 220.0, seconds: float = 4.0, held_s: float = 3.0,
                harmonic: int = 1, level: float = 0.2) -> np.ndarray:
    """A steady tone held for `held_s`, then a fast exponential fade: GANSynth's layout."""
    t = np.arange(int(seconds * MODEL_RATE)) / MODEL_RATE
    amp = np.where(t < held_s, 1.0, np.exp(-(t - held_s) / 0.08))
    return (level * amp * np.sin(2 * np.pi * harmonic * freq * t)).astype(np.float32)


def synthetic_plan(waves: Sequence[tuple[np.ndarray, int]],
                   notes: Sequence[tuple]) -> tuple[RenderPlan, GeneratedNotes]:
    """A plan and its generated notes: `waves[w]` = (wave, model pitch) is instrument w's note.

    Each note is (start_s, end_s, pitch, velocity, w) or (..., w, gain_db); wave w
    stands for its own latent, so notes of different waves play different banks.
    """
    latents = np.stack([np.full(8, w + 1.0) for w in range(len(waves))])
    score_notes = tuple(ScoreNote(float(n[0]), float(n[1]), int(n[2]), int(n[3]), 0)
                        for n in notes)
    which = np.array([n[4] for n in notes], dtype=np.int64)
    gains = np.array([n[5] if len(n) > 5 else 0.0 for n in notes], dtype=np.float64)
    plan = RenderPlan(notes=score_notes, latents=latents[which],
                      source_pitches=np.array([waves[w][1] for w in which], dtype=np.int64),
                      gains_db=gains, range_fit=RangeFit(score_notes, 0, 0, 0))
    generated = GeneratedNotes(waves=np.stack([w for w, _ in waves]), latents=latents,
                               pitches=np.array([p for _, p in waves], dtype=np.int64),
                               index=which, sample_rate=MODEL_RATE)
    return plan, generated


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
