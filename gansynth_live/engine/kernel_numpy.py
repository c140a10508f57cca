"""The per-sample work of one block, vectorised across voices with numpy.

Reference implementation of the two kernels (the numba ones in
`kernel_numba.py` compute the same thing and are tested against these), and
the fallback where numba is not installed. About 5-10x slower than numba at
64 voices, so it fits a 128-frame period only for a few voices.

Both kernels take compact per-voice arrays (one row per active voice) that
`mixer.py` gathers from the voice state once per block.
"""

from __future__ import annotations

import numpy as np

from .envelope import Segments, level_at


def accumulate_layer(samples: np.ndarray, scale: float, elapsed: np.ndarray, step: np.ndarray,
                     start: np.ndarray, end: np.ndarray, loop_start: np.ndarray,
                     loop_end: np.ndarray, rate: np.ndarray, w0: np.ndarray, w1: np.ndarray,
                     frames: int, acc: np.ndarray) -> None:
    """Add one bank's interpolated notes into acc[v, :frames], weight ramping w0 -> w1.

    Voice v reads its note at position start + (elapsed + t * step) * rate
    (t = 0..frames-1), wrapping into [loop_start, loop_end) when the note
    loops, clamped to its last sample when it does not. Interpolation is
    4-point Catmull-Rom. Voices with both weights 0 are skipped.
    """
    sel = np.flatnonzero((w0 != 0.0) | (w1 != 0.0))
    if sel.size == 0 or frames == 0:
        return
    t = np.arange(frames, dtype=np.float64)
    s, e = start[sel, None], end[sel, None]
    ls, le = loop_start[sel, None], loop_end[sel, None]
    loops = (le - ls) >= 4
    length = np.maximum(le - ls, 1)
    dp = (step[sel] * rate[sel])[:, None]
    p = s + elapsed[sel, None] * rate[sel, None] + t * dp
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
    a0 = (w0[sel] * scale)[:, None]
    da = ((w1[sel] - w0[sel]) * scale / frames)[:, None]
    acc[sel, :frames] += ((a0 + da * t) * y).astype(np.float32)


def apply_envelope_pan(acc: np.ndarray, seg: Segments, gain_l: np.ndarray, gain_r: np.ndarray,
                       frames: int, out: np.ndarray) -> None:
    """out[:frames] = sum over voices of acc[v] * envelope[v] * (gain_l[v], gain_r[v])."""
    n = gain_l.shape[0]
    if frames == 0:
        return
    if n == 0:
        out[:frames] = 0.0
        return
    env = level_at(seg, np.arange(frames, dtype=np.float64))
    y = acc[:n, :frames] * env
    out[:frames, 0] = gain_l @ y
    out[:frames, 1] = gain_r @ y
