"""Audio thread only (a note-on with polyphony full calls it): the voice-stealing rule.

Which voice to give up when a note arrives and polyphony is full.

A pure function of the voice-state arrays (testable without audio), compiled
(rt/jit.py; the note-on of rt/event_apply.py calls it), with
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

from .envelope import ATTACK, FADE, RELEASE
from .jit import njit, on_warm_up


@njit
def choose_victim(active, stage, level, gain, key_down, started_at, released_at, now):
    """Index of the voice to steal, or -1 if every active voice is already fading.

    All arrays have one entry per voice slot; `now` is the engine's frame
    counter at the current block (voices with `started_at == now` began in it).
    Ties on rank and loudness (or release time) go to the earliest started,
    then the lowest slot.
    """
    best = -1
    best_rank = 0
    best_secondary = 0.0
    best_started = 0
    for v in range(active.shape[0]):
        s = stage[v]
        if not active[v] or s == FADE:
            continue
        released = s == RELEASE
        if started_at[v] >= now:
            rank = 3
        elif released:
            rank = 0
        elif not key_down[v]:
            rank = 1
        else:
            rank = 2
        if released:
            secondary = float(released_at[v])
        else:
            secondary = gain[v] * (1.0 if s == ATTACK else level[v])
        if best < 0 or rank < best_rank or (rank == best_rank and (
                secondary < best_secondary or (secondary == best_secondary
                                               and started_at[v] < best_started))):
            best, best_rank, best_secondary, best_started = v, rank, secondary, started_at[v]
    return best


@on_warm_up
def _warm_up() -> None:
    import numpy as np

    n = np.zeros(2, dtype=np.int64)
    f = np.zeros(2, dtype=np.float64)
    b = np.zeros(2, dtype=bool)
    choose_victim(b, n, f, f, b, n, n, 0)
