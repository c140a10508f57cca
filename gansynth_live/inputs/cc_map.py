"""Which MIDI controllers move the morph axes, and MIDI learn.

The mapping is omni (a controller number moves its axis on any channel that
passes the input's channel filter). Controllers with a fixed meaning in MIDI
(bank select, data entry, the pedals, RPN/NRPN, channel mode messages) can
neither be mapped nor learned: moving a pedal while learning must not steal
the pedal.

Threads: several MIDI input threads and the OSC thread call into one CCMap;
one small lock guards the two numbers and the learn state (never taken by the
audio thread).
"""

from __future__ import annotations

import threading
from typing import Callable

from ..errors import GansynthLiveError

AXES = ("x", "y")
# 0/32 bank select, 6/38 data entry, 64-69 pedals and hold, 96-101 data inc/dec and
# (N)RPN, 120-127 channel mode messages.
RESERVED = frozenset({0, 6, 32, 38, 64, 65, 66, 67, 68, 69, 96, 97, 98, 99, 100, 101,
                      *range(120, 128)})


class CCMapError(GansynthLiveError):
    """A controller number that cannot drive a morph axis."""


def check_cc(number: int | None, what: str) -> int | None:
    if number is None:
        return None
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 119:
        raise CCMapError(f"{what}: a MIDI controller number is 0..119, got {number!r}")
    if number in RESERVED:
        raise CCMapError(f"{what}: CC{number} has a fixed meaning in MIDI (pedal, bank "
                         "select, data entry or (N)RPN); choose another controller")
    return number


class CCMap:
    """Controller number -> morph axis, with MIDI learn.

    `on_change(text)` is called (from the input thread) when a learn completes,
    so the status line and OSC surfaces can show the new mapping.
    """

    def __init__(self, x_cc: int | None = 1, y_cc: int | None = 2,
                 on_change: Callable[[str], None] | None = None) -> None:
        self._ccs: dict[str, int | None] = {"x": check_cc(x_cc, "morph x controller"),
                                            "y": check_cc(y_cc, "morph y controller")}
        if x_cc is not None and x_cc == y_cc:
            raise CCMapError(f"CC{x_cc} cannot drive both morph axes")
        self._learning: str | None = None
        self._lock = threading.Lock()
        self.on_change = on_change

    @property
    def learning(self) -> str | None:
        """The axis waiting for a controller, or None."""
        return self._learning

    def cc_for(self, axis: str) -> int | None:
        return self._ccs[axis]

    def learn(self, axis: str | None) -> None:
        """Map the next (non-reserved) controller moved to `axis`; None cancels."""
        if axis is not None and axis not in AXES:
            raise CCMapError(f"axis must be 'x' or 'y', got {axis!r}")
        with self._lock:
            self._learning = axis

    def assign(self, axis: str, number: int | None) -> None:
        check_cc(number, f"morph {axis} controller")
        with self._lock:
            self._assign(axis, number)

    def _assign(self, axis: str, number: int | None) -> None:
        other = "y" if axis == "x" else "x"
        if number is not None and self._ccs[other] == number:
            self._ccs[other] = None  # one controller drives one axis
        self._ccs[axis] = number

    def handle(self, control: int, value: int) -> tuple[str, float] | None:
        """(axis, position 0..1) if this controller drives an axis, else None. Input threads."""
        if control in RESERVED:
            return None
        learned = None
        with self._lock:
            if self._learning is not None:
                learned = self._learning
                self._assign(learned, control)
                self._learning = None
            ccs = self._ccs
            axis = "x" if ccs["x"] == control else "y" if ccs["y"] == control else None
        if learned is not None and self.on_change is not None:
            self.on_change(f"MIDI learn: CC{control} now drives morph {learned}")
        if axis is None:
            return None
        return axis, value / 127.0

    def describe(self) -> str:
        parts = []
        for axis in AXES:
            cc = self._ccs[axis]
            parts.append(f"{axis}: CC{cc}" if cc is not None else f"{axis}: -")
        return "  ".join(parts)
