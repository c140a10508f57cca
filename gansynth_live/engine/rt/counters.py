"""Audio thread only (it writes them): the counters the callback and the renderer bump.

Other threads only read them (`Engine.stats`), so plain attributes suffice:
a store of a Python int is atomic under the GIL and a reader sees the old or
the new value, never half of one.
"""

from __future__ import annotations

import numpy as np


class Counters:
    """Plain counters the audio thread bumps and `Engine.stats` reads (GIL-atomic ints)."""

    __slots__ = ("callbacks", "xruns", "callback_errors", "last_error", "overruns",
                 "cost_total_s", "cost_max_s", "blocks", "frames", "notes_started",
                 "notes_refused", "notes_silent", "voices_stolen", "layer_swaps",
                 "layer_swaps_waiting", "nonfinite_blocks", "unknown_events",
                 "lost_events_applied", "cost_hist", "in_callback")

    COST_BIN_S = 25e-6  # callback cost histogram: 25 us bins up to 10 ms (the last bin: more)
    COST_BINS = 400

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)
        self.last_error = ""
        self.cost_total_s = 0.0
        self.cost_max_s = 0.0
        self.cost_hist = np.zeros(self.COST_BINS, dtype=np.int64)
        self.in_callback = False  # True from a callback's start until after `callbacks` is bumped

    def cost_percentile_s(self, q: float) -> float:
        """The q-th percentile (0..100) of the callback's cost, to the histogram's 25 us. Any thread."""
        hist = self.cost_hist.copy()
        total = int(hist.sum())
        if total == 0:
            return 0.0
        index = int(np.searchsorted(np.cumsum(hist), q / 100.0 * total))
        return (min(index, self.COST_BINS - 1) + 1) * self.COST_BIN_S
