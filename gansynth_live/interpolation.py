"""Between two latents: magenta's spherical interpolation (slerp) and the straight line.

One definition for everything that mixes latents (the morph grid's points, a rendered
piece's timbre path, the quality bench), so a "halfway" timbre is the same latent
wherever it is made, and a bank made for one is a cache hit for the others.
"""

from __future__ import annotations

import numpy as np

PARALLEL_SIN = 1e-9  # below this sin(angle), slerp's formula is 0/0: the line instead


def lerp(p0: np.ndarray, p1: np.ndarray, t: float) -> np.ndarray:
    """Straight line; exact at both ends (t = 0 gives p0, t = 1 gives p1)."""
    return (1.0 - t) * np.asarray(p0, np.float64) + t * np.asarray(p1, np.float64)


def slerp(p0: np.ndarray, p1: np.ndarray, t: float) -> np.ndarray:
    """magenta's spherical interpolation, with its arithmetic, defined everywhere.

    The angle comes from the normalised vectors but the unnormalised ones are
    mixed, as in magenta (`generate_util.slerp`). Where the formula is 0/0
    (parallel or opposite latents, a zero latent) the straight line is used.
    """
    a = np.asarray(p0, np.float64)
    b = np.asarray(p1, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return lerp(a, b, t)
    cos = float(np.dot(np.ravel(a / na), np.ravel(b / nb)))
    omega = np.arccos(min(1.0, max(-1.0, cos)))
    so = np.sin(omega)
    if abs(so) < PARALLEL_SIN:
        return lerp(a, b, t)
    return np.sin((1.0 - t) * omega) / so * a + np.sin(t * omega) / so * b
