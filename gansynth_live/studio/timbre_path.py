"""The timbre path: instruments placed in time, and the latent each note gets from it.

magenta's colab (`generate_util.get_z_notes`) gives every note one fixed
latent, taken at its onset: with instruments z_i at times t_i sorted in time,
`idx = searchsorted(t, onset, 'left') - 1` picks the segment and
`(onset - t[idx]) / (t[idx+1] - t[idx])` the position in it. This module
keeps that rule exactly inside the span of the instruments, and differs only
where magenta breaks:

- before the first instrument (or exactly at it) magenta indexes z[-1] (the
  last instrument, by Python's negative indexing) and lands on z[0] only by
  accident at the first time; here every onset <= t[0] gets z[0];
- after the last instrument magenta extrapolates past z[-1] (interp > 1);
  here every later onset gets z[-1];
- magenta's slerp is NaN for parallel latents (the same instrument twice, a
  common way to hold a sound); here segments with equal ends return that latent,
  and near-parallel ones fall back to linear interpolation;
- one instrument alone is allowed (magenta needs two).

Two instruments at the same time make an instant switch: onsets up to that time
use the first, later ones the second. Interpolation is linear by default;
"spherical" is magenta's `slerp` (what the colab uses), which keeps a
Gaussian latent's norm where the straight line between two latents shrinks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import GansynthLiveError
from ..interpolation import lerp, slerp

INTERPOLATIONS = ("linear", "spherical")


class TimbreError(GansynthLiveError):
    """An unusable timbre path (no instruments, bad times, mismatched latents)."""


@dataclass(frozen=True, eq=False)
class Timbre:
    """A latent with a readable label and a level in dB (from a preset): one point's sound."""

    label: str
    latent: np.ndarray
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        latent = np.asarray(self.latent, dtype=np.float64)
        if latent.ndim != 1 or latent.size == 0 or not np.all(np.isfinite(latent)):
            raise TimbreError(f"timbre {self.label!r}: latent must be a finite 1-D vector")
        object.__setattr__(self, "latent", latent)


@dataclass(frozen=True)
class TimbrePoint:
    time_s: float
    timbre: Timbre


class TimbrePath:
    """Instruments at times; answers "which latent does a note starting at t get?"."""

    def __init__(self, points: Sequence[TimbrePoint], interpolation: str = "linear") -> None:
        if not points:
            raise TimbreError("a timbre path needs at least one instrument")
        if interpolation not in INTERPOLATIONS:
            raise TimbreError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, "
                              f"got {interpolation!r}")
        times = [float(p.time_s) for p in points]
        if not all(np.isfinite(times)):
            raise TimbreError("instrument times must be finite numbers")
        sizes = {p.timbre.latent.size for p in points}
        if len(sizes) != 1:
            raise TimbreError(f"instruments have latents of different sizes: {sorted(sizes)}")
        order = sorted(range(len(points)), key=lambda i: times[i])  # stable: file order on ties
        self.points: tuple[TimbrePoint, ...] = tuple(points[i] for i in order)
        self.interpolation = interpolation
        self.times = np.array([times[i] for i in order], dtype=np.float64)
        self.latents = np.stack([p.timbre.latent for p in self.points])
        self.gains_db = np.array([p.timbre.gain_db for p in self.points], dtype=np.float64)

    @property
    def latent_size(self) -> int:
        return int(self.latents.shape[1])

    def segments(self, onsets_s: Sequence[float] | np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(left index, right index, position 0..1) per onset, by magenta's rule."""
        t = np.asarray(onsets_s, dtype=np.float64).reshape(-1)
        k = len(self.times)
        if k == 1:
            zeros = np.zeros(t.shape, np.int64)
            return zeros, zeros, np.zeros(t.shape)
        idx = np.searchsorted(self.times, t, side="left") - 1
        idx = np.where(idx == k - 1, k - 2, idx)  # magenta's "out of bounds" fix
        left = np.clip(idx, 0, k - 2)
        right = left + 1
        width = self.times[right] - self.times[left]
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(width > 0, (t - self.times[left]) / width, 1.0)
        before = t <= self.times[0]
        after = t > self.times[-1]
        left = np.where(before, 0, np.where(after, k - 1, left))
        right = np.where(before, 0, np.where(after, k - 1, right))
        frac = np.where(before | after, 0.0, frac)
        return left, right, frac

    def latents_at(self, onsets_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """One latent per onset, float64 [n, latent_size]."""
        left, right, frac = self.segments(onsets_s)
        out = np.empty((len(frac), self.latent_size), dtype=np.float64)
        mix = slerp if self.interpolation == "spherical" else lerp
        for i, (a, b, f) in enumerate(zip(left, right, frac)):
            if a == b or np.array_equal(self.latents[a], self.latents[b]):
                out[i] = self.latents[a]
            else:
                out[i] = mix(self.latents[a], self.latents[b], float(f))
        return out

    def gains_db_at(self, onsets_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """Timbre level per onset, interpolated linearly in dB along the same segments."""
        left, right, frac = self.segments(onsets_s)
        return (1.0 - frac) * self.gains_db[left] + frac * self.gains_db[right]

    def weights_at(self, times_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """How much of each instrument a note at each time gets: [n, instruments], rows sum to 1.

        Exact for linear interpolation; for spherical it is the position along
        the arc (used for drawing the path).
        """
        left, right, frac = self.segments(times_s)
        weights = np.zeros((len(frac), len(self.times)))
        rows = np.arange(len(frac))
        np.add.at(weights, (rows, left), 1.0 - frac)
        np.add.at(weights, (rows, right), frac)
        return weights
