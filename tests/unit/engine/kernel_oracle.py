"""The test oracle of the engine's kernels: one block of voices vectorised with numpy.

The same functions, steps and contract as gansynth_live/engine/rt/kernel_numba.py
(read its docstring), which computes them with compiled loops, one voice at a
time, through envelope.py's per-voice rules. This file writes the same rules as
array operations, independently, so the tests can hold the engine to them
(`Engine(config, kernels=kernel_oracle)`). It is not part of the package: the
engine has one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gansynth_live.engine.rt import envelope as env
from gansynth_live.engine.rt.block_params import (P_ATTACK_RATE, P_FADE_FRAMES, P_FRAMES,
                                                  P_GLIDE_INC, P_LOG_K_DECAY, P_LOG_K_RELEASE,
                                                  P_SUSTAIN)
from gansynth_live.engine.rt.envelope import ATTACK, DECAY, FADE, FLOOR, RELEASE


# --- the envelope's rules as array operations (envelope.py has them per voice) ----------
@dataclass
class Segments:
    """The five per-voice coefficients of one block (see the module docstring)."""

    level0: np.ndarray
    slope: np.ndarray
    t1: np.ndarray
    join: np.ndarray
    target: np.ndarray
    log_k: np.ndarray


def segments(stage: np.ndarray, level: np.ndarray, fade_rate: np.ndarray,
             coeffs: env.EnvelopeCoefficients) -> Segments:
    """Block coefficients for voices in `stage` with current `level` (arrays of one length)."""
    attack = stage == ATTACK
    fade = stage == FADE
    release = stage == RELEASE
    slope = np.where(attack, coeffs.attack_rate, np.where(fade, -fade_rate, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(attack, (1.0 - level) / coeffs.attack_rate,
                      np.where(fade, level / np.maximum(fade_rate, 1e-12), 0.0))
    join = np.where(attack, 1.0, np.where(fade, 0.0, level))
    target = np.where(release | fade, 0.0, coeffs.sustain)
    log_k = np.where(release, coeffs.log_k_release, np.where(fade, 0.0, coeffs.log_k_decay))
    return Segments(level.astype(np.float64), slope, t1, join, target, log_k)


def level_at(seg: Segments, t: float | np.ndarray) -> np.ndarray:
    """Envelope level at frame offset `t` (a scalar for all voices, or a (voices, frames) grid)."""
    t = np.asarray(t, dtype=np.float64)
    if t.ndim == 0:
        lin = seg.level0 + seg.slope * t
        exp = seg.target + (seg.join - seg.target) * np.exp(np.maximum(t - seg.t1, 0.0) * seg.log_k)
        return np.where(t < seg.t1, lin, exp)
    col = (lambda a: a[:, None])
    lin = col(seg.level0) + col(seg.slope) * t
    exp = col(seg.target) + col(seg.join - seg.target) * np.exp(
        np.maximum(t - col(seg.t1), 0.0) * col(seg.log_k))
    return np.where(t < col(seg.t1), lin, exp)


def next_stage(stage: np.ndarray, seg: Segments, frames: int) -> np.ndarray:
    """Stage after `frames`: an attack that reached 1 becomes decay; other stages stay."""
    return np.where((stage == ATTACK) & (seg.t1 <= frames), DECAY, stage)


def finished(stage: np.ndarray, level: np.ndarray, sustain: float) -> np.ndarray:
    """Voices that are silent for good after this block and can be freed."""
    faded = (stage == FADE) & (level <= 0.0)
    released = (stage == RELEASE) & (level < FLOOR)
    decayed_out = (stage == DECAY) & (sustain < FLOOR) & (level < FLOOR)
    return faded | released | decayed_out


# --- the kernels -------------------------------------------------------------------------


def prepare_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide,
                  w_from, w_to, w_cur, start, end, loop_start, loop_end, rate, note_step,
                  step_by_channel, params, step, seg, w1, slot_used, acc):
    """Block coefficients into `step`, `seg` (6, voices), `w1` and `slot_used`. See module doc."""
    frames = int(params[P_FRAMES])
    act = np.flatnonzero(active)
    slot_used[:] = False
    if act.size == 0:
        return
    st = step_by_channel[channel[act]] * note_step[act]  # the channel's bend, the note's own
    step[act] = st
    g = np.minimum(glide[act] + params[P_GLIDE_INC], 1.0)
    wf = w_from[:, act]
    wt = w_to[:, act]
    wc = w_cur[:, act]
    w_end = wf + (wt - wf) * g
    w1[:, act] = w_end
    reading = (wc > 0.0) | (w_end > 0.0)
    slot_used[:] = reading.any(axis=1)

    one_shot = reading & (loop_end[:, act] == loop_start[:, act])
    if one_shot.any():
        r = rate[:, act]
        position = start[:, act] + elapsed[act] * r
        with np.errstate(divide="ignore", invalid="ignore"):
            remaining = (end[:, act] - 1 - position) / (r * st)
        remaining = np.where(one_shot, remaining, np.inf).min(axis=0)
        fade_frames = params[P_FADE_FRAMES]
        ending = (remaining <= frames + fade_frames) & (stage[act] != env.FADE)
        if ending.any():
            voices = act[ending]
            length = np.minimum(fade_frames, np.maximum(remaining[ending] - 2.0, 1.0))
            down = voices[key_down[voices]]
            np.subtract.at(held, (channel[down], pitch[down]), 1)
            key_down[voices] = False
            stage[voices] = env.FADE
            fade_rate[voices] = np.maximum(level[voices], 1e-9) / length

    coeffs = env.EnvelopeCoefficients(params[P_ATTACK_RATE], params[P_SUSTAIN],
                                      params[P_LOG_K_DECAY], params[P_LOG_K_RELEASE])
    s = segments(stage[act], level[act], fade_rate[act], coeffs)
    for row, values in enumerate((s.level0, s.slope, s.t1, s.join, s.target, s.log_k)):
        seg[row, act] = values
    acc[act, :frames] = 0.0


def accumulate_layer(samples, scale, note_gain, active, elapsed, step, start, end, loop_start,
                     loop_end, rate, w0, w1, frames, acc):
    """Add one bank's interpolated notes into acc[v, :frames], weight ramping w0 -> w1.

    Each voice's samples are multiplied by the bank's `scale` and its note's
    `note_gain[v]` (NoteSlot.gain: int16 banks store notes normalised).

    Voice v reads its note at start + (elapsed + t * step) * rate,
    t = 0..frames-1, wrapping into [loop_start, loop_end) when the note loops
    (loop length >= 4), clamped to its last sample when it does not.
    """
    sel = np.flatnonzero(active & ((w0 != 0.0) | (w1 != 0.0)))
    if sel.size == 0 or frames == 0:
        return
    t = np.arange(frames, dtype=np.float64)
    s, e = start[sel, None], end[sel, None]
    ls, le = loop_start[sel, None], loop_end[sel, None]
    loops = (le - ls) >= 4
    length = np.maximum(le - ls, 1)
    p = s + elapsed[sel, None] * rate[sel, None] + t * (step[sel] * rate[sel])[:, None]
    p = np.where(loops & (p >= le), ls + np.mod(p - ls, length), p)
    i = np.floor(p)
    frac = p - i
    i = i.astype(np.int64)
    last = e - 1
    i0 = np.where(loops, i, np.minimum(i, last))
    im = np.minimum(np.maximum(i0 - 1, s), last)
    i1 = i0 + 1
    i2 = i0 + 2
    i1 = np.where(loops, np.where(i1 >= le, i1 - length, i1), np.minimum(i1, last))
    i2 = np.where(loops, np.where(i2 >= le, i2 - length, i2), np.minimum(i2, last))
    xm = samples[im].astype(np.float64)
    x0 = samples[i0].astype(np.float64)
    x1 = samples[i1].astype(np.float64)
    x2 = samples[i2].astype(np.float64)
    c1 = 0.5 * (x1 - xm)
    c2 = xm - 2.5 * x0 + 2.0 * x1 - 0.5 * x2
    c3 = 0.5 * (x2 - xm) + 1.5 * (x0 - x1)
    y = ((c3 * frac + c2) * frac + c1) * frac + x0
    gain = scale * note_gain[sel]
    a0 = (w0[sel] * gain)[:, None]
    da = ((w1[sel] - w0[sel]) * gain / frames)[:, None]
    acc[sel, :frames] += ((a0 + da * t) * y).astype(np.float32)


def finish_block(active, stage, level, fade_rate, channel, pitch, key_down, held, elapsed, glide,
                 w_from, w_to, w_cur, gain, pan_l, pan_r, params, step, seg, w1, acc, out):
    """Envelope, gain and pan into out[:frames] (stereo sum); then advance and free voices.

    Returns the number of voices still active.
    """
    frames = int(params[P_FRAMES])
    act = np.flatnonzero(active)
    if act.size == 0:
        out[:frames] = 0.0
        return 0
    s = Segments(*(seg[row, act] for row in range(6)))
    if frames:
        envelope = level_at(s, np.arange(frames, dtype=np.float64))
        y = acc[act, :frames] * envelope
        g = gain[act]
        out[:frames, 0] = (g * pan_l[act]) @ y
        out[:frames, 1] = (g * pan_r[act]) @ y
    new_level = level_at(s, float(frames))
    new_stage = next_stage(stage[act], s, frames)
    level[act] = new_level
    stage[act] = new_stage
    elapsed[act] += frames * step[act]
    w_cur[:, act] = w1[:, act]
    glide[act] = np.minimum(glide[act] + params[P_GLIDE_INC], 1.0)
    done = act[finished(new_stage, new_level, params[P_SUSTAIN])]
    if done.size:
        down = done[key_down[done]]
        np.subtract.at(held, (channel[down], pitch[down]), 1)
        key_down[done] = False
        active[done] = False
        stage[done] = env.FREE
        level[done] = 0.0
        w_from[:, done] = 0.0
        w_to[:, done] = 0.0
        w_cur[:, done] = 0.0
    return act.size - done.size


def prepare_packed(state, geometry, step_by_channel, params, step, seg, w1, slot_used, acc):
    """prepare_block(*state, *geometry, ...): state as Mixer._state, geometry as Mixer._geometry."""
    prepare_block(*state, *geometry, step_by_channel, params, step, seg, w1, slot_used, acc)


def finish_packed(state, voice_gains, params, step, seg, w1, acc, out):
    """finish_block(*state, *voice_gains, ...): voice_gains = (gain, pan_l, pan_r)."""
    return finish_block(*state, *voice_gains, params, step, seg, w1, acc, out)
