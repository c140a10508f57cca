"""Audio thread only (a note-on with polyphony full calls it): the voice-stealing rule.

Which voice to give up when a note arrives and polyphony is full.

A pure function of the voice-state arrays (testable without audio), with
FluidSynth-like priorities (cf. `fluid_voice_get_overflow_prio`): the voice
whose loss is least audible goes first.

1. released voices (key up, pedal up), the one released longest ago first;
2. voices held only by the sustain pedal, the quietest first;
3. voices whose key is down, the quietest first, then the oldest;
4. voices started in this very block (a chord never steals its own notes
   unless there is nothing else).

Voices already fading out (stolen earlier) are never chosen again. Loudness
is the envelope level times the velocity gain, and an attacking voice counts
at its full velocity gain, since it is about to be that loud.
"""

from __future__ import annotations

import numpy as np

from .envelope import ATTACK, FADE, RELEASE


def choose_victim(active: np.ndarray, stage: np.ndarray, level: np.ndarray, gain: np.ndarray,
                  key_down: np.ndarray, started_at: np.ndarray, released_at: np.ndarray,
                  now: int) -> int:
    """Index of the voice to steal, or -1 if every active voice is already fading.

    All arrays have one entry per voice slot; `now` is the engine's frame
    counter at the current block (voices with `started_at == now` began in it).
    """
    idx = np.flatnonzero(active & (stage != FADE))
    if idx.size == 0:
        return -1
    st = stage[idx]
    released = st == RELEASE
    pedal_held = ~released & ~key_down[idx]
    fresh = started_at[idx] >= now
    rank = np.where(released, 0, np.where(pedal_held, 1, 2))
    rank = np.where(fresh, 3, rank)
    loudness = gain[idx] * np.where(st == ATTACK, 1.0, level[idx])
    secondary = np.where(released, released_at[idx].astype(np.float64), loudness)
    order = np.lexsort((started_at[idx], secondary, rank))
    return int(idx[order[0]])
