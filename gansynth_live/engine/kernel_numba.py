"""The per-sample work of one block, compiled with numba.

Same contract as `kernel_numpy.py` (tests compare the two). Compiled
because numpy needs ~600 us for 64 voices x 128 frames (gathers, cubic
interpolation and the envelope each touch every sample several times), over
twice the 10 % of a 2.67 ms period the engine may use; one compiled pass
per voice takes ~60 us (bench/engine.py).

Every argument type the engine passes is compiled ahead of audio by
`warm_up()` (float32 and int16 banks, read-only), so the audio callback never
triggers a compilation. `nogil=True` lets other Python threads run while a
kernel works.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from .envelope import Segments

_JIT = dict(nogil=True, cache=True, fastmath=False, error_model="numpy", boundscheck=False)


@numba.njit(**_JIT)
def _accumulate_layer(samples, scale, elapsed, step, start, end, loop_start, loop_end, rate,
                      w0, w1, frames, acc):
    n = elapsed.shape[0]
    for v in range(n):
        a0 = w0[v] * scale
        a1 = w1[v] * scale
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


@numba.njit(**_JIT)
def _apply_envelope_pan(acc, level0, slope, t1, join, target, log_k, gain_l, gain_r, frames, out):
    for f in range(frames):
        out[f, 0] = 0.0
        out[f, 1] = 0.0
    n = gain_l.shape[0]
    for v in range(n):
        gl = gain_l[v]
        gr = gain_r[v]
        start_exp = frames
        if t1[v] < frames:
            start_exp = max(0, int(math.ceil(t1[v])))
        for f in range(min(start_exp, frames)):
            env = level0[v] + slope[v] * f
            y = acc[v, f] * env
            out[f, 0] += gl * y
            out[f, 1] += gr * y
        if start_exp < frames:
            k = math.exp(log_k[v])
            g = math.exp((start_exp - t1[v]) * log_k[v])
            dist = join[v] - target[v]
            for f in range(start_exp, frames):
                y = acc[v, f] * (target[v] + dist * g)
                out[f, 0] += gl * y
                out[f, 1] += gr * y
                g *= k


def accumulate_layer(samples: np.ndarray, scale: float, elapsed: np.ndarray, step: np.ndarray,
                     start: np.ndarray, end: np.ndarray, loop_start: np.ndarray,
                     loop_end: np.ndarray, rate: np.ndarray, w0: np.ndarray, w1: np.ndarray,
                     frames: int, acc: np.ndarray) -> None:
    """See kernel_numpy.accumulate_layer."""
    if frames > 0:
        _accumulate_layer(samples, scale, elapsed, step, start, end, loop_start, loop_end, rate,
                          w0, w1, frames, acc)


def apply_envelope_pan(acc: np.ndarray, seg: Segments, gain_l: np.ndarray, gain_r: np.ndarray,
                       frames: int, out: np.ndarray) -> None:
    """See kernel_numpy.apply_envelope_pan."""
    if frames > 0:
        _apply_envelope_pan(acc, seg.level0, seg.slope, seg.t1, seg.join, seg.target, seg.log_k,
                            gain_l, gain_r, frames, out)


def signature_count() -> int:
    """Compiled variants so far (a test checks that playing adds none after warm_up)."""
    return len(_accumulate_layer.signatures) + len(_apply_envelope_pan.signatures)


def warm_up() -> None:
    """Compile every variant the engine uses, before any audio callback runs."""
    f64 = np.zeros(1, dtype=np.float64)
    i64 = np.array([0], dtype=np.int64)
    end = np.array([8], dtype=np.int64)
    acc = np.zeros((1, 4), dtype=np.float32)
    out = np.zeros((4, 2), dtype=np.float32)
    one = np.ones(1, dtype=np.float64)
    for dtype in (np.float32, np.int16):
        samples = np.zeros(8, dtype=dtype)
        samples.setflags(write=False)
        accumulate_layer(samples, 1.0, f64, one, i64, end, i64, i64, one, one, one, 4, acc)
    seg = Segments(f64.copy(), f64.copy(), f64.copy(), f64.copy(), f64.copy(), f64.copy())
    apply_envelope_pan(acc, seg, one, one, 4, out)
