"""A morph space over 2..4 anchor latents, sampled on a grid of banks.

Shapes, with the (x, y) position in [0, 1]^2 that `layers_at` takes:

- 2 anchors, a line: x runs from anchor 0 to anchor 1 (y is ignored).
- 3 anchors, a triangle with corners (0, 0), (1, 0), (0.5, 1) for anchors
  0, 1, 2; positions outside it are clamped onto it.
- 4 anchors, NSynth Super's square: anchors at corners (0, 0), (1, 0),
  (0, 1), (1, 1).

Grid points get their latent the way magenta's GANSynth interpolates timbre
(`generate_util.get_z_notes`): spherical interpolation (slerp) between two
latents, nested for more (along x, then y; or along edge 0-1, then towards
2). Linear interpolation is an option. Slerp keeps the latent's norm, so a
mid-point stays as typical a draw from N(0, I) as the anchors.

Banks are requested coarse to fine: the anchors, then the mid-points of every
interval, then theirs, so a usable coarse grid exists early; within a level,
points nearest the last `focus` come first. `layers_at(x, y)` returns the
banks at the corners of the finest cell around (x, y) whose banks are all
complete, with bilinear (square, line) or barycentric (triangle) weights;
before any fine cell is ready it uses coarser cells, and at the coarsest
level partial banks, so something always plays as soon as one note exists.

Threads: any thread may call `layers_at` (it reads handles' `current` by
reference and allocates one small object; keep it out of the audio
callback); the others go through the bank service's lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal, Sequence

import numpy as np

from ..interpolation import lerp, slerp
from .bank import BankLayers, NoteBank
from .service import BankHandle, BankService

Interpolation = Literal["slerp", "linear"]


def _mix(a: np.ndarray, b: np.ndarray, t: float, how: Interpolation) -> np.ndarray:
    return slerp(a, b, t) if how == "slerp" else lerp(a, b, t)


def axis_levels(n: int) -> list[int]:
    """Refinement level of each of n grid indices: ends 0, mid-point 1, quarters 2, ..."""
    levels = [0] * n
    queue = [(0, n - 1, 1)]
    while queue:
        a, b, level = queue.pop(0)
        if b - a < 2:
            continue
        m = (a + b) // 2
        levels[m] = level
        queue += [(a, m, level + 1), (m, b, level + 1)]
    return levels


def triangle_weights(x: float, y: float) -> tuple[float, float, float]:
    """Barycentric weights of (x, y) in the triangle (0,0), (1,0), (0.5,1), clamped onto it."""
    w2 = float(y)
    w1 = float(x) - 0.5 * float(y)
    w = np.clip(np.array([1.0 - w1 - w2, w1, w2]), 0.0, None)
    w = w / w.sum() if w.sum() > 0 else np.array([1.0, 0.0, 0.0])
    return float(w[0]), float(w[1]), float(w[2])


@dataclass
class GridPoint:
    index: tuple[int, int]
    level: int
    latent: np.ndarray
    handle: BankHandle | None = None

    @property
    def bank(self) -> NoteBank | None:
        return None if self.handle is None else self.handle.current


class MorphGrid:
    """Banks on a grid between anchor latents, and the layers at any position."""

    def __init__(self, service: BankService, anchors: Sequence[np.ndarray] | np.ndarray,
                 resolution: int = 3, interpolation: Interpolation = "slerp",
                 priority: float = 10.0) -> None:
        anchors = np.asarray(anchors, np.float64)
        if anchors.ndim != 2 or not 2 <= len(anchors) <= 4:
            raise ValueError("a morph grid needs 2 to 4 anchor latents (shape (k, latent_size))")
        if not np.all(np.isfinite(anchors)):
            raise ValueError("anchor latents contain NaN or infinity")
        if interpolation not in ("slerp", "linear"):
            raise ValueError("interpolation must be 'slerp' or 'linear'")
        n = int(resolution)
        if not 2 <= n <= 33:
            raise ValueError("morph grid resolution must be 2..33 points per axis")
        self.shape = {2: "line", 3: "triangle", 4: "square"}[len(anchors)]
        if self.shape == "triangle" and (n - 1) & (n - 2):
            raise ValueError("a 3-anchor (triangle) grid needs resolution 2, 3, 5, 9, 17 or 33")
        self.service = service
        self.anchors = anchors
        self.n = n
        self.interpolation = interpolation
        self.priority = float(priority)
        self._levels = axis_levels(n)
        self._focus = (0.5, 0.5)
        self.points: dict[tuple[int, int], GridPoint] = {}
        for i in range(n):
            for j in range(n if self.shape != "line" else 1):
                if self.shape == "triangle" and i + j > n - 1:
                    continue
                level = self._point_level(i, j)
                self.points[(i, j)] = GridPoint((i, j), level, self.latent_at_index(i, j))
        self.max_level = max(p.level for p in self.points.values())

    # --- geometry --------------------------------------------------------------------
    def _point_level(self, i: int, j: int) -> int:
        lv = self._levels
        if self.shape == "line":
            return lv[i]
        if self.shape == "square":
            return max(lv[i], lv[j])
        return max(lv[i], lv[j], lv[self.n - 1 - i - j])

    def latent_at_index(self, i: int, j: int) -> np.ndarray:
        m = self.n - 1
        a, how = self.anchors, self.interpolation
        if self.shape == "line":
            return _mix(a[0], a[1], i / m, how)
        if self.shape == "square":
            bottom = _mix(a[0], a[1], i / m, how)
            top = _mix(a[2], a[3], i / m, how)
            return _mix(bottom, top, j / m, how)
        w1, w2 = i / m, j / m
        w0 = 1.0 - w1 - w2
        if w0 + w1 <= 0.0:
            return a[2].copy()
        edge = _mix(a[0], a[1], w1 / (w0 + w1), how)
        return _mix(edge, a[2], w2, how)

    def position_of(self, index: tuple[int, int]) -> tuple[float, float]:
        i, j = index
        m = self.n - 1
        if self.shape == "line":
            return i / m, 0.0
        if self.shape == "square":
            return i / m, j / m
        return i / m + 0.5 * j / m, j / m

    def _cell(self, x: float, y: float, level: int) -> list[tuple[tuple[int, int], float]]:
        """Corners of the level-`level` cell around (x, y), with interpolation weights."""
        m = self.n - 1
        axis = [i for i, lv in enumerate(self._levels) if lv <= level]
        if self.shape == "triangle":
            _, w1, w2 = triangle_weights(x, y)
            h = axis[1] - axis[0]
            u, v = w1 * m, w2 * m
            a = min(int(u // h) * h, m - h)
            c = min(int(v // h) * h, m - h)
            fu, fv = (u - a) / h, (v - c) / h
            if a + c + h > m:  # exactly on a lattice point of the far edge
                if a >= h:
                    a, fu = a - h, fu + 1.0
                else:
                    c, fv = c - h, fv + 1.0
            if fu + fv <= 1.0:
                return [((a, c), 1.0 - fu - fv), ((a + h, c), fu), ((a, c + h), fv)]
            return [((a + h, c + h), fu + fv - 1.0), ((a, c + h), 1.0 - fu),
                    ((a + h, c), 1.0 - fv)]

        def bracket(t: float) -> tuple[int, int, float]:
            u = min(max(t, 0.0), 1.0) * m
            k = max(0, min(len(axis) - 2, int(np.searchsorted(axis, u, side="right")) - 1))
            lo, hi = axis[k], axis[k + 1]
            return lo, hi, (u - lo) / (hi - lo)

        i0, i1, fx = bracket(x)
        if self.shape == "line":
            return [((i0, 0), 1.0 - fx), ((i1, 0), fx)]
        j0, j1, fy = bracket(y)
        return [((i0, j0), (1 - fx) * (1 - fy)), ((i1, j0), fx * (1 - fy)),
                ((i0, j1), (1 - fx) * fy), ((i1, j1), fx * fy)]

    def _reach(self, x: float, y: float, level: int) -> list[tuple[int, int]]:
        """The level-`level` points within one step of the grid point nearest (x, y): the
        banks a note's own morph (per-note expression, issue 19) may glide across. At most
        3 x 3, and always around the cell, so even a pad resting on a grid point leaves every
        note room to move half a step or more in every direction."""
        m = self.n - 1
        axis = [i for i, lv in enumerate(self._levels) if lv <= level]

        def around(t: float) -> list[int]:
            u = min(max(t, 0.0), 1.0) * m
            k = min(range(len(axis)), key=lambda a: abs(axis[a] - u))
            return axis[max(k - 1, 0):k + 2]
        if self.shape == "line":
            return [(i, 0) for i in around(x)]
        return [(i, j) for i in around(x) for j in around(y)]

    # --- requests --------------------------------------------------------------------
    def order(self) -> list[GridPoint]:
        """Points in fill order: coarse to fine, nearest the focus first within a level."""
        fx, fy = self._focus

        def key(p: GridPoint) -> tuple[int, float, tuple[int, int]]:
            px, py = self.position_of(p.index)
            return p.level, (px - fx) ** 2 + (py - fy) ** 2, p.index
        return sorted(self.points.values(), key=key)

    def _priority(self, rank: int) -> float:
        return self.priority + rank / (len(self.points) + 1.0)

    def start(self) -> "MorphGrid":
        """Request every grid point's bank from the service, in fill order."""
        for rank, point in enumerate(self.order()):
            if point.handle is None or point.handle.state in ("cancelled", "failed"):
                point.handle = self.service.request(point.latent, priority=self._priority(rank))
        return self

    def focus(self, x: float, y: float) -> None:
        """Fill points near (x, y) first within each level (e.g. where the player is)."""
        self._focus = (float(x), float(y))
        for rank, point in enumerate(self.order()):
            if point.handle is not None and not point.handle.finished:
                point.handle.set_priority(self._priority(rank))

    def prioritize(self, pitches: Iterable[int]) -> None:
        """Ask every unfinished bank for these pitches first (notes being played)."""
        pitches = list(pitches)
        for point in self.points.values():
            if point.handle is not None and not point.handle.finished:
                point.handle.prioritize(pitches)

    def cancel(self) -> None:
        for point in self.points.values():
            if point.handle is not None and not point.handle.finished:
                point.handle.cancel()

    @property
    def nbytes(self) -> int:
        """Sample memory of the grid's banks (each distinct bank counted once)."""
        banks = {id(p.bank): p.bank for p in self.points.values() if p.bank is not None}
        return sum(b.nbytes for b in banks.values())

    @property
    def progress(self) -> tuple[int, int]:
        """(complete banks, grid points)."""
        done = sum(1 for p in self.points.values() if p.bank is not None and p.bank.complete)
        return done, len(self.points)

    # --- playing ---------------------------------------------------------------------
    def layers_at(self, x: float, y: float = 0.0) -> BankLayers | None:
        """The banks and weights to play at (x, y); None while no bank has a note yet.

        The weights come from the finest level whose cell around (x, y) is made.
        Square and line grids also carry, at weight 0, the grid points a note's own
        morph may glide to (`_reach`), from the finest level where all of them are
        made too (else the ones made at the cell's level).
        """
        x = float(np.clip(x, 0.0, 1.0))
        y = float(np.clip(y, 0.0, 1.0))

        def ready(idx: tuple[int, int], level: int) -> NoteBank | None:
            bank = self.points[idx].bank
            return bank if bank is not None and (bank.complete or level == 0) else None

        found: BankLayers | None = None
        for level in range(self.max_level, -1, -1):
            corners = [(idx, w) for idx, w in self._cell(x, y, level) if w > 1e-9]
            banks = [ready(idx, level) for idx, _ in corners]
            if any(bank is None for bank in banks):
                continue
            weights = np.array([w for _, w in corners])
            weights = weights / weights.sum()
            if self.shape == "triangle":  # barycentric weights: no bilinear cell
                return BankLayers(tuple(banks), tuple(float(w) for w in weights))
            indices = [idx for idx, _ in corners]
            weights = [float(w) for w in weights]
            complete = True
            for idx in self._reach(x, y, level):  # weight 0 now; notes may glide there
                bank = ready(idx, level)
                complete = complete and bank is not None
                if idx not in indices and bank is not None:
                    indices.append(idx)
                    banks.append(bank)
                    weights.append(0.0)
            layers = BankLayers(tuple(banks), tuple(weights),
                                tuple(self.position_of(idx) for idx in indices), (x, y))
            if complete or level == 0:
                return layers
            found = found or layers
        if found is not None:
            return found
        ready = [p for p in self.points.values() if p.bank is not None]
        if not ready:
            return None

        def distance(p: GridPoint) -> float:
            px, py = self.position_of(p.index)
            return (px - x) ** 2 + (py - y) ** 2
        nearest = min(ready, key=distance)
        assert nearest.bank is not None
        return BankLayers.single(nearest.bank)
