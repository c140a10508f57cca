"""In which order a bank's pitches are generated.

Pitches someone is playing (or asked for) come first, one at a time: on a
CPU a batch of n notes takes n times as long as one, so batching them would
only delay the first. The rest follow in farthest-first order across the
keyboard (each next pitch is the one farthest from every pitch already
scheduled), so a partial bank covers the whole range coarsely early on and
`NoteBank.nearest` never has to shift a note far for long.

Not thread-safe: the bank worker calls it under its own lock.
"""

from __future__ import annotations

from collections import deque
from typing import Iterable


def farthest_first(pitches: Iterable[int], seeds: Iterable[int] = ()) -> list[int]:
    """`pitches` ordered so each is farthest from the seeds and those before it.

    Ties go to the pitch nearer the middle of the range (where most playing is).
    """
    todo = sorted(set(pitches))
    if not todo:
        return []
    chosen = sorted(set(seeds))
    middle = (todo[0] + todo[-1]) / 2.0
    order: list[int] = []
    dist = {p: min((abs(p - c) for c in chosen), default=float("inf")) for p in todo}
    while dist:
        best = max(dist, key=lambda p: (dist[p], -abs(p - middle), -p))
        order.append(best)
        del dist[best]
        for p in dist:
            dist[p] = min(dist[p], abs(p - best))
    return order


class PitchSchedule:
    """Pitches still to generate for one bank, urgent ones first."""

    def __init__(self, pitches: Iterable[int], first: Iterable[int] = ()) -> None:
        self._all = set(pitches)
        self._urgent: deque[int] = deque()
        self._done: set[int] = set()
        self.prioritize(first)
        self._order = farthest_first(self._all, seeds=self._urgent or ())

    @property
    def total(self) -> int:
        return len(self._all)

    @property
    def done(self) -> int:
        return len(self._done)

    @property
    def finished(self) -> bool:
        return self._done >= self._all

    def prioritize(self, pitches: Iterable[int]) -> None:
        """Move these pitches to the front (in the order given, ahead of earlier urgent ones).

        A MIDI pitch outside the range stands for the edge pitch it is made from
        (see extend.py); numbers that are no MIDI pitch are ignored.
        """
        lo, hi = (min(self._all), max(self._all)) if self._all else (0, -1)
        for pitch in reversed(list(pitches)):
            pitch = int(pitch)
            if not 0 <= pitch <= 127:
                continue
            pitch = min(max(pitch, lo), hi)
            if pitch not in self._all or pitch in self._done:
                continue
            try:
                self._urgent.remove(pitch)
            except ValueError:
                pass
            self._urgent.appendleft(pitch)

    def take(self, batch: int) -> list[int]:
        """The next pitches to generate: one urgent pitch, or up to `batch` others."""
        while self._urgent:
            pitch = self._urgent.popleft()
            if pitch not in self._done:
                return [pitch]
        out = []
        for pitch in self._order:
            if pitch not in self._done and pitch not in out:
                out.append(pitch)
                if len(out) >= batch:
                    break
        return out

    def mark_done(self, pitches: Iterable[int]) -> None:
        self._done.update(int(p) for p in pitches if int(p) in self._all)
        self._order = [p for p in self._order if p not in self._done]
