"""The timbre space a session plays in: its corners' morph grid, over the bank service.

`GridSpace` wraps the banks package's `MorphGrid` for one set of corner
latents and adds what a live session needs around it:

- corners that are all the same latent (one preset on every corner) need one
  bank, not a grid of copies: the space then holds a single handle;
- when a corner changes, the new space takes over the old space's handles for
  every latent both share (a grid point that did not move keeps its bank, no
  cache round trip), and `release` cancels only the work nobody needs now
  (the worker keeps partial banks in the cache, so coming back resumes);
- progress counted over distinct banks, for the status line and OSC meters.

`merge_layers` folds repeated banks of a BankLayers into one with the summed
weight: grid cells whose corners share a latent would otherwise make the
engine mix the same bank several times.

Threads: a space is built, moved and released by the instrument's layer
thread only; `progress` may be read from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

import numpy as np

from ..banks.bank import BankLayers
from ..banks.cache import latent_id
from ..banks.morph import MorphGrid
from ..banks.service import BankHandle, BankService

TRIANGLE_RESOLUTIONS = (2, 3, 5, 9, 17, 33)


@dataclass(frozen=True)
class BankProgress:
    """Distinct banks complete / needed, and notes generated / needed (0 when unknown)."""

    banks_done: int = 0
    banks_total: int = 0
    notes_done: int = 0
    notes_total: int = 0
    failed: int = 0

    @property
    def fraction(self) -> float:
        if self.notes_total > 0:
            return min(1.0, self.notes_done / self.notes_total)
        return 1.0 if self.banks_total and self.banks_done == self.banks_total else 0.0

    @property
    def complete(self) -> bool:
        return self.banks_total > 0 and self.banks_done == self.banks_total

    def describe(self) -> str:
        text = f"banks {self.banks_done}/{self.banks_total}"
        if not self.complete:
            text += f", notes {100.0 * self.fraction:.0f}%"
        if self.failed:
            text += f", {self.failed} failed"
        return text


class TimbreSpace(Protocol):
    """What the layer thread needs from a space of banks."""

    shape: str

    def layers_at(self, x: float, y: float) -> BankLayers | None: ...
    def focus(self, x: float, y: float) -> None: ...
    def prioritize(self, pitches: Iterable[int]) -> None: ...
    def progress(self) -> BankProgress: ...
    def handles(self) -> list[BankHandle]: ...
    def release(self, keep: "TimbreSpace | None") -> None: ...


def merge_layers(layers: BankLayers | None) -> BankLayers | None:
    """The same layers with each bank once (weights of repeats summed, zero weights dropped).

    Layers with corners come back as they are: their weight-0 banks are where a
    note's own expression may glide (issue 19), and the engine reads a bank on
    two corners once (`prepare_layers`).
    """
    if layers is None:
        return None
    if layers.corners is not None:
        return layers
    order: list[int] = []
    banks: dict[int, object] = {}
    weights: dict[int, float] = {}
    for bank, weight in zip(layers.banks, layers.weights):
        if weight <= 0.0:
            continue
        key = id(bank)
        if key not in banks:
            order.append(key)
            banks[key] = bank
            weights[key] = 0.0
        weights[key] += float(weight)
    if not order:
        return None
    if len(order) == len(layers.banks):
        return layers
    total = sum(weights.values())
    return BankLayers(tuple(banks[k] for k in order), tuple(weights[k] / total for k in order))


def grid_resolution(corners: int, requested: int) -> int:
    """A resolution MorphGrid accepts for this many corners (triangles need 2^k + 1)."""
    requested = max(2, min(33, int(requested)))
    if corners == 3:
        return next(r for r in TRIANGLE_RESOLUTIONS if r >= requested)
    return requested


class GridSpace:
    """The morph grid over a session's corner latents (2..4), or one bank if they are equal."""

    def __init__(self, service: BankService, anchors: Sequence[np.ndarray], resolution: int = 3,
                 previous: TimbreSpace | None = None, priority: float = 10.0) -> None:
        anchors = np.asarray(anchors, dtype=np.float64)
        if anchors.ndim != 2 or not 1 <= len(anchors) <= 4:
            raise ValueError("a timbre space needs 1 to 4 corner latents")
        reuse = {h.latent_id: h for h in (previous.handles() if previous is not None else [])
                 if h.state not in ("cancelled", "failed")}
        self.service = service
        self.anchor_ids = [latent_id(a) for a in anchors]
        self._grid: MorphGrid | None = None
        self._single: BankHandle | None = None
        if len(set(self.anchor_ids)) == 1:
            self.shape = "point"
            self._single = reuse.get(self.anchor_ids[0]) or service.request(anchors[0],
                                                                            priority=priority)
        else:
            grid = MorphGrid(service, anchors, grid_resolution(len(anchors), resolution),
                             priority=priority)
            for point in grid.points.values():
                handle = reuse.get(latent_id(point.latent))
                if handle is not None:
                    point.handle = handle
            self._grid = grid.start()
            self.shape = grid.shape

    # --- layer thread -------------------------------------------------------------------
    def layers_at(self, x: float, y: float) -> BankLayers | None:
        if self._grid is not None:
            return merge_layers(self._grid.layers_at(x, y))
        bank = self._single.current if self._single is not None else None
        return BankLayers.single(bank) if bank is not None else None

    def focus(self, x: float, y: float) -> None:
        if self._grid is not None:
            self._grid.focus(x, y)

    def prioritize(self, pitches: Iterable[int]) -> None:
        pitches = list(pitches)
        for handle in self.handles():
            if not handle.finished:
                handle.prioritize(pitches)

    def release(self, keep: TimbreSpace | None) -> None:
        """Cancel unfinished banks that `keep` does not use."""
        kept = {id(h) for h in keep.handles()} if keep is not None else set()
        for handle in self.handles():
            if id(handle) not in kept and not handle.finished:
                handle.cancel()

    # --- any thread ---------------------------------------------------------------------
    def handles(self) -> list[BankHandle]:
        """The distinct bank handles of this space."""
        if self._grid is None:
            return [self._single] if self._single is not None else []
        seen: dict[int, BankHandle] = {}
        for point in self._grid.points.values():
            if point.handle is not None:
                seen.setdefault(id(point.handle), point.handle)
        return list(seen.values())

    def progress(self) -> BankProgress:
        done = total = notes = notes_total = failed = 0
        for handle in self.handles():
            total += 1
            bank = handle.current
            if bank is not None and bank.complete:
                done += 1
            if handle.state == "failed":
                failed += 1
            n, t = handle.progress
            notes += n
            notes_total += t
        return BankProgress(done, total, notes, notes_total, failed)
