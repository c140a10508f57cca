"""Audio thread only: one block of all active voices into a stereo buffer, via the kernels.

The mixer only sequences the kernel steps (prepare, one accumulate per bank
slot in use, finish; see kernel_numba.py) over the voice arrays. With the
engine's compiled kernels that sequence is itself compiled (`mix`), reading
each slot's bank through the slots' stashes (bank_slots.py), so JACK's
compiled process callback runs it with no Python; `Mixer.render` runs the same
steps in Python only for another kernel module (the tests' numpy oracle).
Every buffer is allocated here, once.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import envelope as env
from . import kernel_numba as compiled
from .bank_slots import F32, I16, LOAD_F32, LOAD_I16, BankSlots
from .block_params import (P_ATTACK_RATE, P_FADE_FRAMES, P_FRAMES, P_GLIDE_FRAMES, P_GLIDE_INC,
                           P_LOG_K_DECAY, P_LOG_K_RELEASE, P_SUSTAIN, PARAMS)
from .jit import njit, on_warm_up
from .voices import Voices


@njit
def mix(parts, banks, frames):
    """One block of every active voice into the first `frames` rows of parts' stereo buffer.

    `parts`: `Mixer.parts`; `banks`: `BankSlots.banks` (each slot's kind, scale and the
    stashes of its samples)."""
    (state, geometry, voice_gains, planes, step_by_channel, params, step, seg, w1, slot_used,
     acc, out) = parts
    kinds, scales, f32, f32_stride, i16, i16_stride = banks
    params[P_FRAMES] = frames
    params[P_GLIDE_INC] = frames / params[P_GLIDE_FRAMES]
    compiled.prepare_packed(state, geometry, step_by_channel, params, step, seg, w1, slot_used,
                            acc)
    note_gain, start, end, loop_start, loop_end, rate, w_cur = planes
    active, elapsed = state[0], state[8]
    for k in range(kinds.shape[0]):
        if not slot_used[k]:
            continue
        if kinds[k] == F32:
            compiled.accumulate_into(LOAD_F32(f32 + k * f32_stride), scales[k], note_gain[k],
                                     active, elapsed, step, start[k], end[k], loop_start[k],
                                     loop_end[k], rate[k], w_cur[k], w1[k], frames, acc)
        elif kinds[k] == I16:
            compiled.accumulate_into(LOAD_I16(i16 + k * i16_stride), scales[k], note_gain[k],
                                     active, elapsed, step, start[k], end[k], loop_start[k],
                                     loop_end[k], rate[k], w_cur[k], w1[k], frames, acc)
    compiled.finish_packed(state, voice_gains, params, step, seg, w1, acc, out[:frames])


class Mixer:
    """Renders `Voices` reading from `BankSlots` into a preallocated stereo buffer."""

    def __init__(self, voices: Voices, slots: BankSlots, kernels: ModuleType,
                 max_block_frames: int, glide_frames: float, fade_frames: float) -> None:
        self.voices = voices
        self.slots = slots
        self.kernels = kernels
        self.glide_frames = float(glide_frames)
        n, k = voices.capacity, len(slots.tables)
        self.params = np.zeros(PARAMS, dtype=np.float64)
        self.params[P_FADE_FRAMES] = fade_frames
        self.params[P_GLIDE_FRAMES] = max(self.glide_frames, 1e-9)
        # The envelope's coefficients are read in place, as the kernels' params
        # P_ATTACK_RATE..P_LOG_K_RELEASE (envelope.coefficients writes this view: a
        # SetEnvelope record rewrites it, no copy per block).
        assert (P_SUSTAIN - P_ATTACK_RATE, P_LOG_K_DECAY - P_ATTACK_RATE,
                P_LOG_K_RELEASE - P_ATTACK_RATE) == (env.E_SUSTAIN, env.E_LOG_K_DECAY,
                                                     env.E_LOG_K_RELEASE)
        self.envelope = self.params[P_ATTACK_RATE:P_ATTACK_RATE + env.COEFFICIENTS]
        self.step = np.ones(n, dtype=np.float64)
        self.seg = np.zeros((6, n), dtype=np.float64)
        self.w1 = np.zeros((k, n), dtype=np.float64)
        self.slot_used = np.zeros(k, dtype=bool)  # bank slots read in the last block
        self.acc = np.zeros((n, max_block_frames), dtype=np.float32)
        self.mix = np.zeros((max_block_frames, 2), dtype=np.float32)
        self.acc.fill(0.0)  # touch every page now: no page faults in the first callbacks
        self.mix.fill(0.0)
        v = voices
        self._state = (v.active, v.stage, v.level, v.fade_rate, v.channel, v.pitch, v.key_down,
                       v.held, v.elapsed, v.glide, v.w_from, v.w_to, v.w_cur)
        self._geometry = (v.start, v.end, v.loop_start, v.loop_end, v.rate, v.note_step)
        self._voice_gains = (v.gain, v.pan_l, v.pan_r)
        # per bank slot, the (voices,) rows accumulate_layer reads: views made once, here
        self._slot_rows = tuple(
            (v.note_gain[k], v.start[k], v.end[k], v.loop_start[k], v.loop_end[k], v.rate[k],
             v.w_cur[k], self.w1[k]) for k in range(k))
        self._mix_views: dict[int, np.ndarray] = {}  # mix[:frames], made once per block size
        self.compiled = kernels is compiled
        # what `mix` reads, in one tuple made once (the renderer's compiled block passes it)
        self.parts = (self._state, self._geometry, self._voice_gains,
                      (v.note_gain, v.start, v.end, v.loop_start, v.loop_end, v.rate, v.w_cur),
                      np.ones(16), self.params, self.step, self.seg, self.w1, self.slot_used,
                      self.acc, self.mix)

    @property
    def step_by_channel(self) -> np.ndarray:
        """Each channel's pitch-bend rate factor, which the renderer's rules write."""
        return self.parts[4]

    def render(self, frames: int) -> np.ndarray:
        """Mix `frames` frames of every active voice; returns a view of the stereo buffer."""
        mix_view = self._mix_views.get(frames)
        if mix_view is None:  # the first block of this size (warm-up, or a new PortAudio size)
            mix_view = self._mix_views[frames] = self.mix[:frames]
        if self.compiled:
            mix(self.parts, self.slots.banks, frames)
            return mix_view
        step_by_channel = self.parts[4]
        v = self.voices
        p = self.params
        p[P_FRAMES] = frames
        p[P_GLIDE_INC] = frames / p[P_GLIDE_FRAMES]
        k = self.kernels
        k.prepare_packed(self._state, self._geometry, step_by_channel, p, self.step, self.seg,
                         self.w1, self.slot_used, self.acc)
        used = self.slot_used
        tables = self.slots.tables
        slot_rows = self._slot_rows
        slot = -1
        last = len(slot_rows) - 1
        while slot < last:  # not `for`: no enumerate or iterator object per block
            slot += 1
            if not used[slot]:
                continue
            table = tables[slot]
            if table is None:  # cannot happen: a slot is emptied only when no voice reads it
                continue
            rows = slot_rows[slot]
            note_gain, start, end, loop_start, loop_end, rate, w0, w1 = rows
            k.accumulate_layer(table.samples, table.scale, note_gain, v.active, v.elapsed,
                               self.step, start, end, loop_start, loop_end, rate, w0, w1,
                               frames, self.acc)
        k.finish_packed(self._state, self._voice_gains, p, self.step, self.seg, self.w1,
                        self.acc, mix_view)
        return mix_view


@on_warm_up
def _warm_up() -> None:
    from .bank_slots import RetireRing

    voices = Voices(capacity=2, polyphony=1, bank_slots=2)
    slots = BankSlots(2, RetireRing())
    mixer = Mixer(voices, slots, compiled, 16, 100.0, 10.0)
    mix(mixer.parts, slots.banks, 4)
