"""Audio thread only: the output stage (master gain, peak limiter, soft clipper) per block.

However many voices pile up, the output never clips hard.

Two stages, both per block and vectorised:
1. a peak limiter: if the block's peak after master gain exceeds the
   threshold, the gain drops to bring it under; it recovers exponentially
   with `release_s`. Gain changes are linear ramps, never steps: a falling
   gain falls within ATTACK_FRAMES and then holds for the rest of the block;
2. a soft clipper for what that short ramp lets through: above the knee the
   curve bends as knee + room * d / (1 + d) (d: overshoot in units of the
   room left), slope 1 at the knee, approaching 1.0 but never reaching it,
   and slowly enough that even a large overshoot keeps its shape (no wrap,
   no flat top).

Master-gain changes ramp over one block too. Audio thread only.

It also keeps the output level meter the status displays read: the block's
output peak, held and falling at METER_FALL_DB_S (a peak programme meter's
20 dB in 1.7 s), so a reader polling a few times a second sees every peak.

`output_block` does all of it in one compiled loop that allocates nothing
(rt/jit.py), with the same float32 arithmetic as the numpy version
(`OutputStage.process_numpy`, kept as the reference and the path without
numba; a test compares the two sample for sample).
"""

from __future__ import annotations

import math

import numpy as np

from .cells import array_cell
from .jit import AVAILABLE, njit, on_warm_up

KNEE = 0.9  # soft clipper starts here (linear peak); never reaches 1.0
ATTACK_FRAMES = 32  # a falling gain ramps over this many frames (0.7 ms at 48 kHz)
METER_FALL_DB_S = 20.0 / 1.7  # the level meter falls like a peak programme meter
# OutputStage.state: gain at the end of the last block, its target, limiter gain, deepest
# reduction of the last block (dB), the output meter (linear peak, falling), and the
# constants threshold, release frames, knee, meter fall (frames to fall by a factor e)
(S_MASTER, S_TARGET, S_LIMIT, S_REDUCTION_DB, S_METER, S_THRESHOLD, S_RELEASE_FRAMES, S_KNEE,
 S_METER_FALL_FRAMES) = range(9)
STATE_SIZE = 9


@njit
def meter_level(held, block_peak, frames, fall_frames):
    """The meter after a block: its output peak (the clipper keeps it below 1) or the held
    level fallen for `frames`, whichever is higher."""
    fallen = held * math.exp(-frames / fall_frames)
    level = min(block_peak, 1.0)
    return level if level > fallen else fallen


@njit
def output_block(mix, out, state):
    """OutputStage.process_numpy as one loop over the block: False if the mix was not finite."""
    frames = mix.shape[0]
    if frames == 0:
        return True
    peak = 0.0
    for f in range(frames):
        for c in range(mix.shape[1]):
            x = mix[f, c]
            if not math.isfinite(x):
                for g in range(frames):
                    for d in range(out.shape[1]):
                        out[g, d] = 0.0
                return False
            a = abs(x)
            if a > peak:
                peak = a
    peak = float(peak)
    threshold = state[S_THRESHOLD]
    old_limit = state[S_LIMIT]
    master = state[S_TARGET]
    wanted = master * peak
    target = threshold / wanted if wanted > threshold else 1.0
    if target < old_limit:
        limit = target
    else:
        recovered = old_limit + (1.0 - old_limit) * -math.expm1(-frames / state[S_RELEASE_FRAMES])
        limit = min(target, recovered)
    g0 = state[S_MASTER] * old_limit
    g1 = master * limit
    if g0 == g1:
        g = np.float32(g1)
        for f in range(frames):
            for c in range(mix.shape[1]):
                out[f, c] = mix[f, c] * g
    else:
        span = min(ATTACK_FRAMES, frames) if g1 < g0 else frames
        slope = np.float32((g1 - g0) / span)
        start = np.float32(g0)
        end = np.float32(g1)
        for f in range(frames):
            if f < span:
                r = np.float32(np.float32(np.float32(f + 1) * slope) + start)
            else:
                r = end
            for c in range(mix.shape[1]):
                out[f, c] = mix[f, c] * r
    state[S_MASTER] = master
    state[S_LIMIT] = limit
    state[S_REDUCTION_DB] = 20.0 * math.log10(limit) if limit < 1.0 else 0.0
    state[S_METER] = meter_level(state[S_METER], peak * max(g0, g1), frames,
                                 state[S_METER_FALL_FRAMES])
    knee = state[S_KNEE]
    if peak * max(g0, g1) > knee:
        room = 1.0 - knee
        knee32 = np.float32(knee)
        for f in range(frames):
            for c in range(out.shape[1]):
                y = out[f, c]
                m = abs(y)
                if m > knee32:
                    d = (float(m) - knee) / room
                    out[f, c] = math.copysign(knee + room * d / (1.0 + d), y)
    return True


@on_warm_up
def _warm_up() -> None:
    state = np.zeros(STATE_SIZE, dtype=np.float64)
    state[S_RELEASE_FRAMES] = state[S_METER_FALL_FRAMES] = 1.0
    block = np.zeros((4, 2), dtype=np.float32)
    output_block(block, block.copy(), state)


class OutputStage:
    """Master gain ramp, peak limiter and soft clipper from the mix buffer to the output."""

    def __init__(self, sample_rate: int, master_gain: float, threshold: float,
                 release_s: float, max_block_frames: int) -> None:
        self.state = np.zeros(STATE_SIZE, dtype=np.float64)  # S_*: what the compiled loop reads
        self.master = float(master_gain)  # gain at the end of the last block
        self.master_target = float(master_gain)
        self.threshold = float(threshold)
        self.limit = 1.0  # limiter gain at the end of the last block
        self.release_frames = release_s * sample_rate
        self.knee = min(KNEE, self.threshold)
        self._ramp = np.zeros(max_block_frames, dtype=np.float32)
        self._steps = np.arange(1, max_block_frames + 1, dtype=np.float32)
        self.reduction_db = 0.0  # deepest gain reduction in the last block (for status)
        self.meter = 0.0
        self.meter_fall_frames = sample_rate * 20.0 / (METER_FALL_DB_S * math.log(10.0))
        self.compiled = AVAILABLE

    master = array_cell("state", S_MASTER, float)
    master_target = array_cell("state", S_TARGET, float)
    limit = array_cell("state", S_LIMIT, float)
    reduction_db = array_cell("state", S_REDUCTION_DB, float)
    threshold = array_cell("state", S_THRESHOLD, float)
    release_frames = array_cell("state", S_RELEASE_FRAMES, float)
    knee = array_cell("state", S_KNEE, float)
    meter = array_cell("state", S_METER, float)  # output level, linear peak (held, falling)
    meter_fall_frames = array_cell("state", S_METER_FALL_FRAMES, float)

    def meter_db(self) -> float:
        """The output level meter in dBFS (-120 for silence). Any thread."""
        level = self.meter
        return 20.0 * math.log10(level) if level > 1e-6 else -120.0

    def process(self, mix: np.ndarray, out: np.ndarray) -> bool:
        """Write mix * gain, limited, into out (same shape). False if the mix was not finite."""
        if self.compiled:
            return output_block(mix, out, self.state)
        return self.process_numpy(mix, out)

    def process_numpy(self, mix: np.ndarray, out: np.ndarray) -> bool:
        """`process` in numpy (the reference for output_block, and the path without numba)."""
        frames = mix.shape[0]
        if frames == 0:
            return True
        peak = max(float(mix.max()), -float(mix.min()))
        if not math.isfinite(peak):
            out.fill(0.0)
            return False
        master = self.master_target
        wanted = master * peak
        target = self.threshold / wanted if wanted > self.threshold else 1.0
        if target < self.limit:
            limit = target
        else:
            recovered = self.limit + (1.0 - self.limit) * -math.expm1(-frames / self.release_frames)
            limit = min(target, recovered)
        g0 = self.master * self.limit
        g1 = master * limit
        if g0 == g1:
            np.multiply(mix, g1, out=out)
        else:
            ramp = self._ramp[:frames]
            span = min(ATTACK_FRAMES, frames) if g1 < g0 else frames
            np.multiply(self._steps[:span], (g1 - g0) / span, out=ramp[:span])
            ramp[:span] += g0
            ramp[span:] = g1
            np.multiply(mix, ramp[:, None], out=out)
        self.master, self.limit = master, limit
        self.reduction_db = 20.0 * math.log10(limit) if limit < 1.0 else 0.0
        self.meter = meter_level(self.meter, peak * max(g0, g1), frames, self.meter_fall_frames)
        if peak * max(g0, g1) > self.knee:
            self._soft_clip(out)
        return True

    def _soft_clip(self, out: np.ndarray) -> None:
        knee = self.knee
        room = 1.0 - knee
        magnitude = np.abs(out)
        over = magnitude > knee
        d = (magnitude[over].astype(np.float64) - knee) / room
        out[over] = np.copysign(knee + room * d / (1.0 + d), out[over])
