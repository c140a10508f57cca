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


# --- the rules, per voice (compiled; the kernels call them) ----------------------------------
@njit
def segment(stage, level, fade_rate, coeffs, seg, v):
    """The five block coefficients of voice v (module docstring) into seg[0..5, v]:
    level0, slope, t1, join, target, log_k. `coeffs`: COEFFICIENTS (attack rate,
    sustain, log k decay, log k release)."""
    seg[0, v] = level
    if stage == ATTACK:
        seg[1, v] = coeffs[E_ATTACK_RATE]
        seg[2, v] = (1.0 - level) / coeffs[E_ATTACK_RATE]
        seg[3, v] = 1.0
        seg[4, v] = coeffs[E_SUSTAIN]
        seg[5, v] = coeffs[E_LOG_K_DECAY]
    elif stage == FADE:
        seg[1, v] = -fade_rate
        seg[2, v] = level / max(fade_rate, 1e-12)
        seg[3, v] = 0.0
        seg[4, v] = 0.0
        seg[5, v] = 0.0
    elif stage == RELEASE:
        seg[1, v] = 0.0
        seg[2, v] = 0.0
        seg[3, v] = level
        seg[4, v] = 0.0
        seg[5, v] = coeffs[E_LOG_K_RELEASE]
    else:  # DECAY (and sustain)
        seg[1, v] = 0.0
        seg[2, v] = 0.0
        seg[3, v] = level
        seg[4, v] = coeffs[E_SUSTAIN]
        seg[5, v] = coeffs[E_LOG_K_DECAY]


@njit
def level_at(seg, v, t):
    """Voice v's envelope level at frame offset t of the block."""
    if t < seg[2, v]:
        return seg[0, v] + seg[1, v] * t
    return seg[4, v] + (seg[3, v] - seg[4, v]) * math.exp((t - seg[2, v]) * seg[5, v])


@njit
def next_stage(stage, seg, v, frames):
    """Stage after `frames`: an attack that reached 1 becomes decay; other stages stay."""
    if stage == ATTACK and seg[2, v] <= frames:
        return DECAY
    return stage


@njit
def finished(stage, level, sustain):
    """Silent for good after this block (the voice can be freed)."""
    return ((stage == FADE and level <= 0.0) or (stage == RELEASE and level < FLOOR)
            or (stage == DECAY and sustain < FLOOR and level < FLOOR))


@on_warm_up
def _warm_up_rules() -> None:
    seg = np.zeros((6, 1))
    coeffs = np.ones(COEFFICIENTS)
    for stage in (ATTACK, DECAY, RELEASE, FADE):
        segment(stage, 0.5, 0.01, coeffs, seg, 0)
        next_stage(stage, seg, 0, 4)
        finished(stage, level_at(seg, 0, 4.0), 0.5)
