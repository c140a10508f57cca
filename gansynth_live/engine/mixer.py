"""One block of all active voices: per-block decisions in numpy, per-sample work in a kernel.

Per block, on arrays of the active voices only:
1. voices whose one-shot note would run out within a block and a fade start
   a fade that ends before the last sample (no cut-off click);
2. envelope coefficients (envelope.segments), pitch-bend step per channel,
   morph weights at the block's start and end (a linear glide);
3. kernel `accumulate_layer` once per bank slot in use: 4-point cubic reads
   with loop wrap, weight ramp, into one mono row per voice;
4. kernel `apply_envelope_pan`: envelope, velocity gain, pan, sum to stereo;
5. state advance: envelope level from its closed form, stage changes,
   read position, glide progress; silent voices are freed.

Audio thread only. The only allocations are small per-block numpy arrays
(a few hundred bytes per active voice); the big buffers are made once.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from . import envelope as env
from .bank_slots import BankSlots
from .voices import Voices


class Mixer:
    """Renders `Voices` reading from `BankSlots` into a preallocated stereo buffer."""

    def __init__(self, voices: Voices, slots: BankSlots, kernels: ModuleType,
                 max_block_frames: int, glide_frames: float, fade_frames: float) -> None:
        self.voices = voices
        self.slots = slots
        self.kernels = kernels
        self.glide_frames = float(glide_frames)
        self.fade_frames = float(fade_frames)
        self.acc = np.zeros((voices.capacity, max_block_frames), dtype=np.float32)
        self.mix = np.zeros((max_block_frames, 2), dtype=np.float32)

    def render(self, frames: int, coeffs: env.EnvelopeCoefficients,
               step_by_channel: np.ndarray) -> np.ndarray:
        """Mix `frames` frames of every active voice; returns a view of the stereo buffer."""
        v = self.voices
        mix = self.mix[:frames]
        act = np.flatnonzero(v.active)
        if act.size == 0:
            mix.fill(0.0)
            return mix
        step = step_by_channel[v.channel[act]]
        self._fade_ending_one_shots(act, step, frames)
        stage = v.stage[act]
        seg = env.segments(stage, v.level[act], v.fade_rate[act], coeffs)

        glide = np.minimum(v.glide[act] + frames / self.glide_frames, 1.0)
        w0 = v.w_cur[:, act]
        w_from = v.w_from[:, act]
        w1 = w_from + (v.w_to[:, act] - w_from) * glide

        n = act.size
        acc = self.acc[:n]
        acc[:, :frames] = 0.0
        elapsed = v.elapsed[act]
        for k, table in enumerate(self.slots.tables):
            if table is None or not (w0[k].any() or w1[k].any()):
                continue
            self.kernels.accumulate_layer(
                table.samples, table.scale, elapsed, step, v.start[k, act], v.end[k, act],
                v.loop_start[k, act], v.loop_end[k, act], v.rate[k, act], w0[k], w1[k],
                frames, acc)
        gain = v.gain[act]
        self.kernels.apply_envelope_pan(acc, seg, gain * v.pan_l[act], gain * v.pan_r[act],
                                        frames, mix)

        level = env.level_at(seg, float(frames))
        stage = env.next_stage(stage, seg, frames)
        v.level[act] = level
        v.stage[act] = stage
        v.elapsed[act] = elapsed + frames * step
        v.w_cur[:, act] = w1
        v.glide[act] = glide
        done = env.finished(stage, level, coeffs.sustain)
        if done.any():
            v.free(act[done])
        return mix

    def _fade_ending_one_shots(self, act: np.ndarray, step: np.ndarray, frames: int) -> None:
        """Start fades for voices whose non-looping note runs out within a block and a fade."""
        v = self.voices
        one_shot = (v.loop_end[:, act] == v.loop_start[:, act]) & (
            (v.w_cur[:, act] > 0.0) | (v.w_to[:, act] > 0.0))
        if not one_shot.any():
            return
        rate = v.rate[:, act]
        position = v.start[:, act] + v.elapsed[act] * rate
        with np.errstate(divide="ignore", invalid="ignore"):
            remaining = (v.end[:, act] - 1 - position) / (rate * step)
        remaining = np.where(one_shot, remaining, np.inf).min(axis=0)
        ending = (remaining <= frames + self.fade_frames) & (v.stage[act] != env.FADE)
        if ending.any():
            fade_frames = np.minimum(self.fade_frames, np.maximum(remaining[ending] - 2.0, 1.0))
            voices = act[ending]
            v.fade(voices, 1.0)
            v.fade_rate[voices] = np.maximum(v.level[voices], 1e-9) / fade_frames
