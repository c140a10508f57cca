"""Shared constants and bounds for the engine's unit tests."""

from __future__ import annotations

import numpy as np

SR = 48000


def click_bound(bank, gain: float, ramp_frames: float) -> float:
    """Largest sample step a click-free render of one voice of `bank` can show.

    The note's own steepest step (scaled by the voice's total gain) with 50 %
    margin for interpolation and pitch, plus what an envelope ramp of
    `ramp_frames` (the shortest fade or attack in play) adds at full level.
    A cut or an unramped start of these cosine-phase notes jumps by up to
    their full level, several times more.
    """
    own = float(np.abs(np.diff(bank.samples.astype(np.float64))).max()) * bank.scale
    peak = max(slot.peak for slot in bank.slots.values())
    return gain * (1.5 * own + peak / ramp_frames)
