"""Audio thread only: one block of voices in compiled loops (numba), the engine's kernels.

Three steps, each a function of the voice-state arrays (see voices.py) that
`mixer.Mixer` calls in order:

1. `prepare_block`: per active voice, the pitch-bend step, the morph weights
   at the block's end (linear glide), a fade for a one-shot note that would
   run out within a block and a fade, and the envelope's block coefficients
   (envelope.segment); it also zeroes the voice's accumulator row and marks
   which bank slots are read;
2. `accumulate_layer`, once per bank slot in use: 4-point cubic (Catmull-Rom)
   reads with loop wrap, weight ramp, into one mono row per voice;
3. `finish_block`: envelope, velocity gain and pan applied and summed to
   stereo; then the state advances (envelope.level_at, next_stage,
   finished), and silent voices are freed.

`prepare_packed` and `finish_packed` take the voice arrays as the tuples the
mixer builds once (a call with more than 20 arguments makes a new tuple).
`params` carries the block's scalars (block_params.py). The tests hold these
loops to a numpy oracle written independently (tests/unit/engine/
kernel_oracle.py). Why compiled: measured on this
project's 2-core machine at 128 frames, numpy needed ~250 us for the block
bookkeeping alone (some 60 small array operations, whatever the voice count)
and ~770 us for 64 voices, against a budget of 267 us (10 % of the period);
these loops take a few microseconds of bookkeeping plus ~1 us per voice
(bench/engine.py prints current figures).

The envelope is the closed form of envelope.py, evaluated per sample with a
running exponential (`g *= k`), restarted from the exact formula each block.

Every argument type the engine passes is compiled ahead of audio by
`warm_up()` (float32 and int16 banks, read-only), so no compilation can
happen in the audio callback; `signature_count` lets a test check that.
The kernels keep the GIL (nogil=False) on purpose: releasing it inside the
callback lets a normal-priority thread take it, and getting it back can then
take milliseconds on a loaded machine (measured: 10-100 ms callback spikes).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .block_params import (P_ATTACK_RATE, P_FADE_FRAMES, P_FRAMES, P_GLIDE_INC, P_SUSTAIN,
                           PARAMS)
from .envelope import COEFFICIENTS, FADE, FREE, finished, level_at, next_stage, segment
from .event_apply import key_up_arrays

_JIT = dict(nogil=False, cache=True, fastmath=False, error_model="numpy", boundscheck=False,
            _nrt=False)

__all__ = ["PARAMS", "accumulate_into", "accumulate_layer", "finish_block", "finish_packed",
           "prepare_block", "prepare_packed", "signature_count", "warm_up"]


@numba.njit(**_JIT)
def prepare_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide,
                  w_from, w_to, w_cur, start, end, loop_start, loop_end, rate, note_step,
                  step_by_channel, params, step, seg, w1, slot_used, acc):
    frames = int(params[P_FRAMES])
    glide_inc = params[P_GLIDE_INC]
    fade_frames = params[P_FADE_FRAMES]
    coeffs = params[P_ATTACK_RATE:P_ATTACK_RATE + COEFFICIENTS]  # a view: envelope.coefficients
    n_slots = w_cur.shape[0]
    for k in range(n_slots):
        slot_used[k] = False
    for v in range(active.shape[0]):
        if not active[v]:
            continue
        st = step_by_channel[channel[v]] * note_step[v]  # the channel's bend, the note's own
        step[v] = st
        g = min(glide[v] + glide_inc, 1.0)
        remaining = np.inf
        for k in range(n_slots):
            w_end = w_from[k, v] + (w_to[k, v] - w_from[k, v]) * g
            w1[k, v] = w_end
            if w_cur[k, v] > 0.0 or w_end > 0.0:
                slot_used[k] = True
                if loop_end[k, v] == loop_start[k, v]:
                    r = rate[k, v]
                    left = (end[k, v] - 1 - (start[k, v] + elapsed[v] * r)) / (r * st)
                    remaining = min(remaining, left)
        if remaining <= frames + fade_frames and stage[v] != FADE:
            key_up_arrays(v, channel, pitch, key_down, held)
            stage[v] = FADE
            fade_rate[v] = max(level[v], 1e-9) / min(fade_frames, max(remaining - 2.0, 1.0))
        segment(stage[v], level[v], fade_rate[v], coeffs, seg, v)
        for f in range(frames):
            acc[v, f] = 0.0


@numba.njit(**_JIT)
def _accumulate_layer(samples, scale, note_gain, active, elapsed, step, start, end, loop_start,
                      loop_end, rate, w0, w1, frames, acc):
    for v in range(active.shape[0]):
        if not active[v]:
            continue
        a0 = w0[v] * scale * note_gain[v]
        a1 = w1[v] * scale * note_gain[v]
        if a0 == 0.0 and a1 == 0.0:
            continue
        s = start[v]
        last = end[v] - 1
        ls = loop_start[v]
        le = loop_end[v]
        length = le - ls
        loops = length >= 4
        dp = step[v] * rate[v]
        p = s + elapsed[v] * rate[v]
        if loops and p >= le:
            p = ls + (p - ls) % length
        da = (a1 - a0) / frames
        for f in range(frames):
            i = int(math.floor(p))
            frac = p - i
            if loops:
                i1 = i + 1
                if i1 >= le:
                    i1 -= length
                i2 = i + 2
                if i2 >= le:
                    i2 -= length
            else:
                if i > last:
                    i = last
                i1 = min(i + 1, last)
                i2 = min(i + 2, last)
            im = min(max(i - 1, s), last)
            xm = float(samples[im])
            x0 = float(samples[i])
            x1 = float(samples[i1])
            x2 = float(samples[i2])
            c1 = 0.5 * (x1 - xm)
            c2 = xm - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
            c3 = 0.5 * (x2 - xm) + 1.5 * (x0 - x1)
            y = ((c3 * frac + c2) * frac + c1) * frac + x0
            acc[v, f] += (a0 + da * f) * y
            p += dp
            if loops:
                while p >= le:
                    p -= length


accumulate_into = _accumulate_layer  # accumulate_layer for compiled callers (frames > 0)


def accumulate_layer(samples, scale, note_gain, active, elapsed, step, start, end, loop_start,
                     loop_end, rate, w0, w1, frames, acc):
    """Add one bank's interpolated notes into acc[v, :frames], weight ramping w0 -> w1.

    Each voice's samples are multiplied by the bank's `scale` and its note's
    `note_gain[v]` (NoteSlot.gain: int16 banks store notes normalised). Voice v
    reads its note at start + (elapsed + t * step) * rate, t = 0..frames-1,
    wrapping into [loop_start, loop_end) when the note loops (loop length >= 4),
    clamped to its last sample when it does not.
    """
    if frames > 0:
        _accumulate_layer(samples, scale, note_gain, active, elapsed, step, start, end,
                          loop_start, loop_end, rate, w0, w1, frames, acc)


@numba.njit(**_JIT)
def finish_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide,
                 w_from, w_to, w_cur, gain, pan_l, pan_r, params, step, seg, w1, acc, out):
    frames = int(params[P_FRAMES])
    glide_inc = params[P_GLIDE_INC]
    sustain = params[P_SUSTAIN]
    n_slots = w_cur.shape[0]
    for f in range(frames):
        out[f, 0] = 0.0
        out[f, 1] = 0.0
    count = 0
    for v in range(active.shape[0]):
        if not active[v]:
            continue
        level0 = seg[0, v]
        slope = seg[1, v]
        t1 = seg[2, v]
        join = seg[3, v]
        target = seg[4, v]
        log_k = seg[5, v]
        gl = gain[v] * pan_l[v]
        gr = gain[v] * pan_r[v]
        linear_end = frames
        if t1 < frames:
            linear_end = max(0, int(math.ceil(t1)))
        for f in range(linear_end):
            y = acc[v, f] * (level0 + slope * f)
            out[f, 0] += gl * y
            out[f, 1] += gr * y
        if linear_end < frames:
            k = math.exp(log_k)
            g = math.exp((linear_end - t1) * log_k)
            dist = join - target
            for f in range(linear_end, frames):
                y = acc[v, f] * (target + dist * g)
                out[f, 0] += gl * y
                out[f, 1] += gr * y
                g *= k
        # advance: the level at the block's end, the stage, the read position, the weights
        new_level = level_at(seg, v, float(frames))
        s = next_stage(stage[v], seg, v, frames)
        stage[v] = s
        level[v] = new_level
        elapsed[v] += frames * step[v]
        for j in range(n_slots):
            w_cur[j, v] = w1[j, v]
        glide[v] = min(glide[v] + glide_inc, 1.0)
        done = finished(s, new_level, sustain)
        if done:
            key_up_arrays(v, channel, pitch, key_down, held)
            active[v] = False
            stage[v] = FREE
            level[v] = 0.0
            for j in range(n_slots):
                w_from[j, v] = 0.0
                w_to[j, v] = 0.0
                w_cur[j, v] = 0.0
        else:
            count += 1
    return count


@numba.njit(**_JIT)
def prepare_packed(state, geometry, step_by_channel, params, step, seg, w1, slot_used, acc):
    """prepare_block with the voice arrays in two tuples (Mixer._state, Mixer._geometry)."""
    (active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide, w_from,
     w_to, w_cur) = state
    start, end, loop_start, loop_end, rate, note_step = geometry
    prepare_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide,
                  w_from, w_to, w_cur, start, end, loop_start, loop_end, rate, note_step,
                  step_by_channel, params, step, seg, w1, slot_used, acc)


@numba.njit(**_JIT)
def finish_packed(state, voice_gains, params, step, seg, w1, acc, out):
    """finish_block with the voice arrays in two tuples (Mixer._state, Mixer._voice_gains)."""
    (active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide, w_from,
     w_to, w_cur) = state
    gain, pan_l, pan_r = voice_gains
    return finish_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed,
                        glide, w_from, w_to, w_cur, gain, pan_l, pan_r, params, step, seg, w1,
                        acc, out)


_KERNELS = (prepare_block, _accumulate_layer, finish_block, prepare_packed,
            finish_packed)


def signature_count() -> int:
    """Compiled variants so far (a test checks that playing adds none after warm_up)."""
    return sum(len(kernel.signatures) for kernel in _KERNELS)


def warm_up() -> None:
    """Compile every variant the engine uses, before any audio callback runs."""
    from .voices import Voices

    voices = Voices(capacity=2, polyphony=1, bank_slots=2)
    params = np.zeros(PARAMS, dtype=np.float64)
    params[P_FRAMES] = 4.0
    step = np.ones(2, dtype=np.float64)
    seg = np.zeros((6, 2), dtype=np.float64)
    w1 = np.zeros((2, 2), dtype=np.float64)
    slot_used = np.zeros(2, dtype=bool)
    acc = np.zeros((2, 4), dtype=np.float32)
    out = np.zeros((4, 2), dtype=np.float32)
    v = voices
    prepare_block(v.active, v.stage, v.level, v.fade_rate, v.channel, v.pitch, v.key_down, v.held,
                  v.elapsed, v.glide, v.w_from, v.w_to, v.w_cur, v.start, v.end, v.loop_start,
                  v.loop_end, v.rate, v.note_step, np.ones(16), params, step, seg, w1, slot_used, acc)
    for dtype in (np.float32, np.int16):
        samples = np.zeros(8, dtype=dtype)
        samples.setflags(write=False)
        accumulate_layer(samples, 1.0, v.note_gain[0], v.active, v.elapsed, step, v.start[0],
                         v.end[0], v.loop_start[0], v.loop_end[0], v.rate[0], v.w_cur[0], w1[0], 4, acc)
    finish_block(v.active, v.stage, v.level, v.fade_rate, v.channel, v.pitch, v.key_down, v.held,
                 v.elapsed, v.glide, v.w_from, v.w_to, v.w_cur, v.gain, v.pan_l, v.pan_r, params,
                 step, seg, w1, acc, out)
    state = (v.active, v.stage, v.level, v.fade_rate, v.channel, v.pitch, v.key_down, v.held,
             v.elapsed, v.glide, v.w_from, v.w_to, v.w_cur)
    prepare_packed(state, (v.start, v.end, v.loop_start, v.loop_end, v.rate, v.note_step),
                   np.ones(16),
                   params, step, seg, w1, slot_used, acc)
    finish_packed(state, (v.gain, v.pan_l, v.pan_r), params, step, seg, w1, acc, out)
