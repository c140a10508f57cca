"""Audio thread only: voice state as arrays (one per voice slot) and the note operations on it.

Struct-of-arrays so that the mixer treats all voices at once and stealing is
a function of arrays. Per voice: envelope stage and level, velocity gain,
pan, MIDI key, key/pedal state, age, and `elapsed`, the read position in
the note (source frames at the note's own pitch, bend included). Per voice
*and* bank slot (arrays shaped (slots, voices)): the note's geometry in that
bank (start, end, loop, read rate) and its morph weight, so a voice can sound
from several banks at once and glide between them. All layers of a voice
read at `elapsed * rate`, so they stay time-aligned from the onset, and a
bank added mid-note starts at the voice's current position.

The note rules that change these arrays (note-on, off, pedal, stealing, ...)
are compiled functions in event_apply.py; the methods here are the morph
side (weights and glides), which the renderer runs in Python. Audio thread
only (or the offline render loop).
"""

from __future__ import annotations

import numpy as np

from . import envelope as env
from ..layers import PitchTable


class Voices:
    """All voice slots; `capacity` = polyphony + room for stolen voices to fade out."""

    def __init__(self, capacity: int, polyphony: int, bank_slots: int) -> None:
        n, k = capacity, bank_slots
        self.capacity = n
        self.polyphony = polyphony
        self.active = np.zeros(n, dtype=bool)
        self.stage = np.zeros(n, dtype=np.int64)
        self.level = np.zeros(n, dtype=np.float64)
        self.fade_rate = np.zeros(n, dtype=np.float64)
        self.gain = np.zeros(n, dtype=np.float64)  # velocity gain
        self.pan_l = np.zeros(n, dtype=np.float64)
        self.pan_r = np.zeros(n, dtype=np.float64)
        self.channel = np.zeros(n, dtype=np.int64)
        self.pitch = np.zeros(n, dtype=np.int64)
        self.key_down = np.zeros(n, dtype=bool)
        self.release_pending = np.zeros(n, dtype=bool)  # note-off came before min_note_frames
        self.started_at = np.zeros(n, dtype=np.int64)
        self.released_at = np.zeros(n, dtype=np.int64)
        self.elapsed = np.zeros(n, dtype=np.float64)
        self.glide = np.ones(n, dtype=np.float64)  # progress 0..1 from w_from to w_to
        self.w_from = np.zeros((k, n), dtype=np.float64)
        self.w_to = np.zeros((k, n), dtype=np.float64)
        self.w_cur = np.zeros((k, n), dtype=np.float64)
        self.start = np.zeros((k, n), dtype=np.int64)
        self.end = np.zeros((k, n), dtype=np.int64)
        self.loop_start = np.zeros((k, n), dtype=np.int64)
        self.loop_end = np.zeros((k, n), dtype=np.int64)
        self.rate = np.zeros((k, n), dtype=np.float64)
        self.note_gain = np.zeros((k, n), dtype=np.float64)  # NoteSlot.gain of each layer
        self.held = np.zeros((16, 128), dtype=np.int64)  # voices whose key is down, per key
        # per-note expression (issue 19): the note's own morph offset; False: shared weights
        self.expressive = np.zeros(n, dtype=bool)
        self.expr_dx = np.zeros(n, dtype=np.float64)
        self.expr_dy = np.zeros(n, dtype=np.float64)
        self.note_step = np.ones(n, dtype=np.float64)  # the note's own bend, as a rate factor
        # The arrays in the order the compiled note rules unpack them (rt/event_apply.py),
        # as tuples made once: passing them costs a block no new object.
        self.notes = (self.active, self.stage, self.level, self.fade_rate, self.gain,
                      self.pan_l, self.pan_r, self.channel, self.pitch, self.key_down,
                      self.release_pending, self.started_at, self.released_at, self.elapsed,
                      self.glide, self.expressive, self.expr_dx, self.expr_dy, self.note_step,
                      self.held)
        self.reads = (self.w_from, self.w_to, self.w_cur, self.start, self.end, self.loop_start,
                      self.loop_end, self.rate, self.note_gain)

    # --- queries ----------------------------------------------------------------------
    def sounding_count(self) -> int:
        """Voices that count against polyphony (active and not already fading out)."""
        return int(np.count_nonzero(self.active & (self.stage != env.FADE)))

    # --- morph ------------------------------------------------------------------------
    def set_weights(self, v: int, slots: np.ndarray, weights: np.ndarray) -> None:
        """Voice v (just started) reads these slots with these weights, no glide."""
        self.w_from[:, v] = 0.0
        self.w_from[slots, v] = weights
        self.w_to[:, v] = self.w_from[:, v]
        self.w_cur[:, v] = self.w_from[:, v]

    def retarget(self, slots: np.ndarray, weights: np.ndarray,
                 tables: tuple[PitchTable, ...], voices: np.ndarray | None = None) -> None:
        """Sounding voices (or these) start gliding from their current weights to these.

        `weights` is (layers,) for all of them, or (layers, len(voices)): each its own.
        """
        act = np.flatnonzero(self.active) if voices is None else voices
        if act.size == 0:
            return
        self.w_from[:, act] = self.w_cur[:, act]
        self.w_to[:, act] = 0.0
        for k, weight, table in zip(slots, weights, tables):
            fresh = act[self.w_cur[k, act] == 0.0]  # voices not yet reading this slot
            if fresh.size:
                p = self.pitch[fresh]
                self.start[k, fresh] = table.start[p]
                self.end[k, fresh] = table.end[p]
                self.loop_start[k, fresh] = table.loop_start[p]
                self.loop_end[k, fresh] = table.loop_end[p]
                self.rate[k, fresh] = table.rate[p]
                self.note_gain[k, fresh] = table.gain[p]
            self.w_to[k, act] = weight
        self.glide[act] = 0.0
