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

Every method here runs on the audio thread only (or the offline render loop).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import envelope as env
from ..layers import PitchTable, PreparedLayers
from .steal import choose_victim


class Voices:
    """All voice slots; `capacity` = polyphony + room for stolen voices to fade out."""

    def __init__(self, capacity: int, polyphony: int, bank_slots: int,
                 min_note_frames: int = 0, steal: Callable[..., int] = choose_victim) -> None:
        n, k = capacity, bank_slots
        self.capacity = n
        self.polyphony = polyphony
        self.min_note_frames = min_note_frames
        self.steal = steal  # steal.choose_victim or its compiled twin
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

    # --- queries ----------------------------------------------------------------------
    def sounding_count(self) -> int:
        """Voices that count against polyphony (active and not already fading out)."""
        return int(np.count_nonzero(self.active & (self.stage != env.FADE)))

    # --- note life --------------------------------------------------------------------
    def allocate(self, now: int) -> tuple[int, int]:
        """A free voice slot for a new note, stealing if polyphony is full.

        Returns (voice index or -1 if none can be had, stolen voice or -1).
        The stolen voice is not faded here: the caller fades it.
        """
        stolen = -1
        if self.sounding_count() >= self.polyphony:
            stolen = int(self.steal(self.active, self.stage, self.level, self.gain,
                                    self.key_down, self.started_at, self.released_at, now))
        free = np.flatnonzero(~self.active)
        if free.size == 0:
            return -1, -1
        return int(free[0]), stolen

    def start_note(self, v: int, pitch: int, channel: int, gain: float, pan_l: float,
                   pan_r: float, now: int, slots: np.ndarray, prepared: PreparedLayers) -> None:
        """Begin a note in voice slot v, reading bank slots `slots` (one per layer)."""
        self.active[v] = True
        self.stage[v] = env.ATTACK
        self.level[v] = 0.0
        self.fade_rate[v] = 0.0
        self.gain[v] = gain
        self.pan_l[v] = pan_l
        self.pan_r[v] = pan_r
        self.channel[v] = channel
        self.pitch[v] = pitch
        self.key_down[v] = True
        self.release_pending[v] = False
        self.held[channel, pitch] += 1
        self.started_at[v] = now
        self.released_at[v] = 0
        self.elapsed[v] = 0.0
        self.glide[v] = 1.0
        self.expressive[v] = False
        self.expr_dx[v] = self.expr_dy[v] = 0.0
        self.note_step[v] = 1.0
        geometry = prepared.geometry[:, :, pitch]
        self.start[slots, v] = geometry[0]
        self.end[slots, v] = geometry[1]
        self.loop_start[slots, v] = geometry[2]
        self.loop_end[slots, v] = geometry[3]
        self.rate[slots, v] = prepared.rate[:, pitch]
        self.note_gain[slots, v] = prepared.gain[:, pitch]
        weights = np.zeros(self.w_cur.shape[0])
        weights[slots] = prepared.weight_array
        self.w_from[:, v] = weights
        self.w_to[:, v] = weights
        self.w_cur[:, v] = weights

    def _key_up(self, voices: np.ndarray) -> None:
        down = voices[self.key_down[voices]]
        if down.size:
            np.subtract.at(self.held, (self.channel[down], self.pitch[down]), 1)
            self.key_down[down] = False

    def release(self, voices: np.ndarray, now: int) -> None:
        """Note-off for these voices: into release from their current level."""
        voices = voices[(self.stage[voices] == env.ATTACK) | (self.stage[voices] == env.DECAY)]
        self._key_up(voices)
        self.stage[voices] = env.RELEASE
        self.released_at[voices] = now

    def fade(self, voices: np.ndarray, fade_frames: float) -> None:
        """Fade these voices to silence over `fade_frames` (steal, panic, end of a one-shot)."""
        self._key_up(voices)
        self.stage[voices] = env.FADE
        self.fade_rate[voices] = np.maximum(self.level[voices], 1e-9) / max(fade_frames, 1.0)

    def free(self, voices: np.ndarray) -> None:
        """Silent voices give their slot back."""
        self._key_up(voices)
        self.active[voices] = False
        self.stage[voices] = env.FREE
        self.level[voices] = 0.0
        self.w_from[:, voices] = 0.0
        self.w_to[:, voices] = 0.0
        self.w_cur[:, voices] = 0.0

    def voices_on_key(self, channel: int, pitch: int) -> np.ndarray:
        """Active voices playing this key that have not been released yet."""
        return np.flatnonzero(self.active & (self.channel == channel) & (self.pitch == pitch)
                              & ((self.stage == env.ATTACK) | (self.stage == env.DECAY)))

    def key_up(self, channel: int, pitch: int, pedal_down: bool, now: int) -> None:
        """A note-off: release the key's voices, or leave them to the pedal."""
        if self.held[channel, pitch] == 0:
            return
        voices = np.flatnonzero(self.active & self.key_down & (self.channel == channel)
                                & (self.pitch == pitch))
        if pedal_down:
            self._key_up(voices)
            return
        young = now - self.started_at[voices] < self.min_note_frames
        if young.any():  # too short to be heard: release once min_note_frames have played
            self._key_up(voices[young])
            self.release_pending[voices[young]] = True
        self.release(voices[~young], now)

    def release_due(self, now: int) -> None:
        """Release the short notes whose note-off was held back until min_note_frames."""
        due = np.flatnonzero(self.release_pending & self.active
                             & (now - self.started_at >= self.min_note_frames))
        self.release_pending[due] = False
        self.release(due, now)

    def pedal_up(self, channel: int, now: int) -> None:
        """Release the channel's voices that only the pedal was holding."""
        held_by_pedal = np.flatnonzero(self.active & ~self.key_down & (self.channel == channel)
                                       & ((self.stage == env.ATTACK) | (self.stage == env.DECAY)))
        self.release(held_by_pedal, now)

    def release_all(self, channel: int | None, now: int) -> None:
        mask = self.active.copy()
        if channel is not None:
            mask &= self.channel == channel
        self.release(np.flatnonzero(mask), now)

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

    def slots_in_use(self) -> np.ndarray:
        """(slots,) bool: some active voice reads, or is gliding towards, each bank slot."""
        act = self.active
        return ((self.w_cur[:, act] > 0.0) | (self.w_to[:, act] > 0.0)).any(axis=1)
