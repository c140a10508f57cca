"""Audio thread only: what a layer swap does to sounding voices, in compiled loops.

When new layers are adopted (a morph move, a new bank), every sounding voice
starts gliding from the weights it has now to the new layers' weights, and a
bank slot a voice was not reading yet gets that note's geometry first, so the
voice enters it at its current position. Which slots voices still read (or
glide towards) decides which banks can leave. Both run once per swap over the
voice arrays; compiled so a swap makes no array temporaries in the callback.
(Per-note expression glides, which need the layers' morph geometry, stay in
Voices.retarget, in Python.)
"""

from __future__ import annotations

import numpy as np

from .event_apply import load_geometry
from .jit import njit, on_warm_up


@njit
def slots_in_use(active, w_cur, w_to, out):
    """out[k]: some active voice reads, or is gliding towards, bank slot k."""
    for k in range(out.shape[0]):
        out[k] = False
    for v in range(active.shape[0]):
        if not active[v]:
            continue
        for k in range(out.shape[0]):
            if w_cur[k, v] > 0.0 or w_to[k, v] > 0.0:
                out[k] = True


@njit
def retarget_all(notes, reads, layers):
    """Every active voice glides from its current weights to the layers' shared weights."""
    active, pitch, glide = notes[0], notes[8], notes[14]
    w_from, w_to, w_cur = reads[0], reads[1], reads[2]
    weights, slots = layers[3], layers[4]
    n_slots = w_cur.shape[0]
    for v in range(active.shape[0]):
        if not active[v]:
            continue
        for k in range(n_slots):
            w_from[k, v] = w_cur[k, v]
            w_to[k, v] = 0.0
        p = pitch[v]
        for j in range(slots.shape[0]):
            k = slots[j]
            if w_cur[k, v] == 0.0:  # a slot this voice does not read yet: its note's geometry
                load_geometry(v, j, p, reads, layers)
            w_to[k, v] = weights[j]
        glide[v] = 0.0


@on_warm_up
def _warm_up() -> None:
    from .event_apply import empty_layers
    from .voices import Voices

    voices = Voices(capacity=2, polyphony=1, bank_slots=2)
    slots_in_use(voices.active, voices.w_cur, voices.w_to, np.zeros(2, dtype=bool))
    layers = (np.zeros((4, 1, 128), dtype=np.int64), np.ones((1, 128)), np.ones((1, 128)),
              np.ones(1), np.zeros(1, dtype=np.int64))
    for lay in (layers, empty_layers()):
        retarget_all(voices.notes, voices.reads, lay)
