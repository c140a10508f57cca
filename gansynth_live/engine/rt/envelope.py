"""Audio thread only (the kernels evaluate it per block): the ADSR envelope's rules.

The ADSR amplitude envelope, evaluated in closed form so a block needs no per-sample state.

Each voice's envelope over one block is one of two shapes joined at frame `t1`:

    level(t) = level0 + slope * t                                 for t < t1
    level(t) = target + (join - target) * exp((t - t1) * log_k)   for t >= t1

- attack: linear rise from the current level to 1 (slope = 1/attack_frames,
  t1 where it reaches 1), then the decay shape;
- decay/sustain: t1 = 0, one-pole fall to the sustain level;
- release: t1 = 0, one-pole fall to 0; freed below FLOOR (-80 dB);
- fade: linear fall to 0 at `fade_rate` per frame (steal, panic, one-shot end).

`segments` turns (stage, level) arrays into these five coefficients for all
voices at once; `level_at` evaluates them (the kernels evaluate the same
formula per sample). The level at the end of each block is recomputed from
the formula, so no error accumulates across blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .jit import njit, on_warm_up

FREE, ATTACK, DECAY, RELEASE, FADE = 0, 1, 2, 3, 4
FLOOR = 1e-4  # -80 dB: a releasing voice below this is silent and freed
MIN_ATTACK_S = 0.001  # a faster rise clicks
MIN_DECAY_S = 0.001
MIN_RELEASE_S = 0.005  # as short as the steal fade


# The coefficients as one float64 array (what the compiled code reads and a SetEnvelope
# record rewrites in place): rows of `coefficients`.
E_ATTACK_RATE, E_SUSTAIN, E_LOG_K_DECAY, E_LOG_K_RELEASE = range(4)
COEFFICIENTS = 4


@njit
def coefficients(attack_s, decay_s, sustain, release_s, sample_rate, out):
    """Per-frame ADSR constants at one sample rate into `out` (COEFFICIENTS float64)."""
    attack_frames = max(attack_s, MIN_ATTACK_S) * sample_rate
    decay_frames = max(decay_s, MIN_DECAY_S) * sample_rate
    release_frames = max(release_s, MIN_RELEASE_S) * sample_rate
    out[E_ATTACK_RATE] = 1.0 / attack_frames
    out[E_SUSTAIN] = sustain
    out[E_LOG_K_DECAY] = math.log(1e-3) / decay_frames  # -60 dB of the distance
    out[E_LOG_K_RELEASE] = math.log(FLOOR) / release_frames  # full level to -80 dB


@on_warm_up
def _warm_up() -> None:
    coefficients(0.01, 0.1, 0.5, 0.2, 48000.0, np.zeros(COEFFICIENTS))


@dataclass(frozen=True)
class EnvelopeCoefficients:
    """Per-frame ADSR constants at one sample rate (made from SetEnvelope or the config)."""

    attack_rate: float  # level per frame during attack
    sustain: float
    log_k_decay: float  # natural log of the per-frame decay factor
    log_k_release: float

    @classmethod
    def make(cls, attack_s: float, decay_s: float, sustain: float, release_s: float,
             sample_rate: int) -> "EnvelopeCoefficients":
        out = np.zeros(COEFFICIENTS)
        coefficients(float(attack_s), float(decay_s), float(sustain), float(release_s),
                     float(sample_rate), out)
        return cls.from_array(out)

    @classmethod
    def from_array(cls, array: np.ndarray) -> "EnvelopeCoefficients":
        return cls(*(float(v) for v in array[:COEFFICIENTS]))


@dataclass
class Segments:
    """The five per-voice coefficients of one block (see the module docstring)."""

    level0: np.ndarray
    slope: np.ndarray
    t1: np.ndarray
    join: np.ndarray
    target: np.ndarray
    log_k: np.ndarray


def segments(stage: np.ndarray, level: np.ndarray, fade_rate: np.ndarray,
             coeffs: EnvelopeCoefficients) -> Segments:
    """Block coefficients for voices in `stage` with current `level` (arrays of one length)."""
    attack = stage == ATTACK
    fade = stage == FADE
    release = stage == RELEASE
    slope = np.where(attack, coeffs.attack_rate, np.where(fade, -fade_rate, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(attack, (1.0 - level) / coeffs.attack_rate,
                      np.where(fade, level / np.maximum(fade_rate, 1e-12), 0.0))
    join = np.where(attack, 1.0, np.where(fade, 0.0, level))
    target = np.where(release | fade, 0.0, coeffs.sustain)
    log_k = np.where(release, coeffs.log_k_release, np.where(fade, 0.0, coeffs.log_k_decay))
    return Segments(level.astype(np.float64), slope, t1, join, target, log_k)


def level_at(seg: Segments, t: float | np.ndarray) -> np.ndarray:
    """Envelope level at frame offset `t` (a scalar for all voices, or a (voices, frames) grid)."""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 0:
        lin = seg.level0 + seg.slope * t
        exp = seg.target + (seg.join - seg.target) * np.exp(np.maximum(t - seg.t1, 0.0) * seg.log_k)
        return np.where(t < seg.t1, lin, exp)
    col = (lambda a: a[:, None])
    lin = col(seg.level0) + col(seg.slope) * t
    exp = col(seg.target) + col(seg.join - seg.target) * np.exp(
        np.maximum(t - col(seg.t1), 0.0) * col(seg.log_k))
    return np.where(t < col(seg.t1), lin, exp)


def next_stage(stage: np.ndarray, seg: Segments, frames: int) -> np.ndarray:
    """Stage after `frames`: an attack that reached 1 becomes decay; other stages stay."""
    return np.where((stage == ATTACK) & (seg.t1 <= frames), DECAY, stage)


def finished(stage: np.ndarray, level: np.ndarray, sustain: float) -> np.ndarray:
    """Voices that are silent for good after this block and can be freed."""
    faded = (stage == FADE) & (level <= 0.0)
    released = (stage == RELEASE) & (level < FLOOR)
    decayed_out = (stage == DECAY) & (sustain < FLOOR) & (level < FLOOR)
    return faded | released | decayed_out
