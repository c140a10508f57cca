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
"""

from __future__ import annotations

import math

import numpy as np

KNEE = 0.9  # soft clipper starts here (linear peak); never reaches 1.0
ATTACK_FRAMES = 32  # a falling gain ramps over this many frames (0.7 ms at 48 kHz)


class OutputStage:
    """Master gain ramp, peak limiter and soft clipper from the mix buffer to the output."""

    def __init__(self, sample_rate: int, master_gain: float, threshold: float,
                 release_s: float, max_block_frames: int) -> None:
        self.master = float(master_gain)  # gain at the end of the last block
        self.master_target = float(master_gain)
        self.threshold = float(threshold)
        self.limit = 1.0  # limiter gain at the end of the last block
        self.release_frames = release_s * sample_rate
        self.knee = min(KNEE, self.threshold)
        self._ramp = np.zeros(max_block_frames, dtype=np.float32)
        self._steps = np.arange(1, max_block_frames + 1, dtype=np.float32)
        self.reduction_db = 0.0  # deepest gain reduction in the last block (for status)

    def process(self, mix: np.ndarray, out: np.ndarray) -> bool:
        """Write mix * gain, limited, into out (same shape). False if the mix was not finite."""
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
