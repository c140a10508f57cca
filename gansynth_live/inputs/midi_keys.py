"""One MIDI port's key state, and the two rules that change it, compiled and written once.

Why compiled: the translator (midi.py) applies these rules on its input thread, and
with `serve --jack` the audio thread applies the very same ones to plain note messages
without building a mido message or an event object (engine/rt/midi_notes.py). Both
pass the translator's `key_state`, a tuple of its arrays (changed in place only).
"""

from __future__ import annotations

import numpy as np

from ..engine.rt.jit import njit, on_warm_up

KEYS, SOUNDING, LATCHED, POLY, SOSTENUTO, STALE = range(6)  # positions in `key_state`


def key_state() -> tuple[np.ndarray, ...]:
    """Fresh arrays: keys down, notes started and not yet released, keys latched by
    sostenuto, polyphonic pressure per key, sostenuto per channel, channels whose zone
    controls moved while idle (MPE: sent at the next note-on)."""
    keys = np.zeros((16, 128), dtype=bool)
    return (keys, np.zeros_like(keys), np.zeros_like(keys), np.zeros((16, 128)),
            np.zeros(16, dtype=bool), np.zeros(16, dtype=bool))


@njit
def key_down(state, ch, pitch):
    """A key struck: down, unpressed, no longer held by sostenuto (struck again)."""
    state[POLY][ch, pitch] = 0.0
    state[KEYS][ch, pitch] = True
    state[LATCHED][ch, pitch] = False


@njit
def key_up(state, ch, pitch):
    """A key released; True when its note ends now (False: sostenuto holds it)."""
    state[KEYS][ch, pitch] = False
    return not (state[SOSTENUTO][ch] and state[LATCHED][ch, pitch])


@on_warm_up
def _warm_up() -> None:
    state = key_state()
    key_down(state, 0, 60)
    key_up(state, 0, 60)
