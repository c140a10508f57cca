"""Where each note sat on the morph pad while it sounded, from the events that moved it.

The piano roll of `render --corners/--mpe` draws these paths. They are
computed from the same recorded events the engine played (`capture.py`),
following the engine's rules for `SetExpression` (engine/rt/renderer.py):

- a channel's expression (`pitch` None: MPE slide and pressure) applies to
  the notes sounding on the channel and to notes started on it later, so a
  note starts at the channel's last offset;
- a key's expression (polyphonic aftertouch) applies to that key's
  sounding notes only; the latest event for a note wins;
- the note's position is the pad's plus its offset, within the pad (0..1).

This is the position asked for. The engine moves a note only as far as the
grid points the pad's layers carry: up to one grid step past the point
nearest the pad (`MorphGrid.layers_at`; half the pad on the default 3 x 3
grid), its weights clamped there. A path that goes further shows where the
note was sent, not how far its timbre went. The engine's 30 ms glides are
drawn as steps.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..banks.morph import triangle_weights
from ..engine.offline import TimedEvent
from ..events import SetExpression
from .score import ScoreNote


@dataclass(frozen=True)
class NotePath:
    """A note's pad position as steps: from `times_s[i]` on it is at (x[i], y[i])."""

    times_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    expressive: bool = False  # it had an offset of its own from the pad at some time

    @property
    def moved(self) -> bool:
        """Whether the note's position changed while it sounded."""
        return bool(np.ptp(self.x) > 0.0 or np.ptp(self.y) > 0.0)


def note_paths(notes: Sequence[ScoreNote], events: Sequence[TimedEvent],
               pad: Sequence[tuple[float, float, float]]) -> list[NotePath]:
    """Each note's path over [start_s, end_s] (see the module docstring)."""
    pad_times = [t for t, _, _ in pad]
    by_channel: dict[int, list[tuple[float, int | None, float, float]]] = {}
    for t, event in events:
        if isinstance(event, SetExpression):
            by_channel.setdefault(event.channel, []).append((t, event.pitch, event.dx,
                                                             event.dy))
    times = {ch: [e[0] for e in items] for ch, items in by_channel.items()}
    return [_path(note, pad, pad_times, by_channel.get(note.channel, []),
                  times.get(note.channel, [])) for note in notes]


def _path(note: ScoreNote, pad, pad_times, expressions, expression_times) -> NotePath:
    start, end = note.start_s, note.end_s
    offset = (0.0, 0.0)
    i = bisect.bisect_right(expression_times, start)
    for n in range(i - 1, -1, -1):  # the channel's offset at the onset
        _, pitch, dx, dy = expressions[n]
        if pitch is None:
            offset = (dx, dy)
            break
    changes: list[tuple[float, int, tuple[float, float]]] = []  # (time, order, value)
    k = bisect.bisect_right(pad_times, start) - 1
    pad_at = pad[max(k, 0)][1:]
    for n in range(k + 1, bisect.bisect_right(pad_times, end)):
        t, x, y = pad[n]
        changes.append((t, 0, (x, y)))
    for n in range(bisect.bisect_left(expression_times, start),
                   bisect.bisect_right(expression_times, end)):
        t, pitch, dx, dy = expressions[n]
        if pitch is None or pitch == note.pitch:
            changes.append((t, 1, (dx, dy)))
    steps_t, steps = [start], [_position(pad_at, offset)]
    expressive = offset != (0.0, 0.0)
    for t, kind, value in sorted(changes, key=lambda c: c[0]):
        if kind == 0:
            pad_at = value
        else:
            offset = value
            expressive = expressive or offset != (0.0, 0.0)
        position = _position(pad_at, offset)
        if t <= steps_t[-1]:
            steps[-1] = position
        else:
            steps_t.append(t)
            steps.append(position)
    xy = np.array(steps, dtype=np.float64)
    return NotePath(np.array(steps_t, dtype=np.float64), xy[:, 0], xy[:, 1], expressive)


def _position(pad_xy: tuple[float, float], offset: tuple[float, float]) -> tuple[float, float]:
    return (min(max(pad_xy[0] + offset[0], 0.0), 1.0),
            min(max(pad_xy[1] + offset[1], 0.0), 1.0))


def corner_weights(count: int, x: float, y: float) -> np.ndarray:
    """How much of each corner a pad position is (2: a line, 3: a triangle, 4: a square),
    with the corner order of `MorphGrid` (bottom-left, bottom-right, top-left, top-right)."""
    if count == 2:
        return np.array([1.0 - x, x])
    if count == 3:
        return np.array(triangle_weights(x, y))
    if count == 4:
        return np.array([(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y])
    raise ValueError("a pad has 2 to 4 corners")
