"""Audio thread only (it writes them): the counters the callback and the renderer bump.

Other threads only read them (`Engine.stats`). The integer counters live in
one preallocated int64 array (`ints`) written in place by compiled code
(`bump`, `close_callback`): a Python int past 256 is a new object, so `+= 1`
on an attribute would allocate in the callback. Each counter is still read
(and, for tests, written) as an attribute; a reader sees the old or the new
value of an aligned 8-byte word, never half of one.
"""

from __future__ import annotations

import numpy as np

from .cells import array_cell
from .jit import njit, on_warm_up

INT_NAMES = ("callbacks", "xruns", "callback_errors", "overruns", "blocks", "frames",
             "notes_started", "notes_refused", "notes_silent", "voices_stolen", "layer_swaps",
             "layer_swaps_waiting", "nonfinite_blocks", "unknown_events", "lost_events_applied",
             "clock",  # clock: the renderer's frame counter (`now` of the event handlers)
             "starts_noted",  # callbacks whose start time went into Counters.starts
             "cycles_missed",  # serve --jack: JACK cycles that ran without this callback
             "cycle_time",  # serve --jack: the JACK frame time the next cycle should start at
             "in_callback",  # 1 from a callback's start until after `callbacks` is bumped
             "python_cycles")  # serve --jack: cycles whose callback ran Python (took the GIL)
(CALLBACKS, XRUNS, CALLBACK_ERRORS, OVERRUNS, BLOCKS, FRAMES, NOTES_STARTED, NOTES_REFUSED,
 NOTES_SILENT, VOICES_STOLEN, LAYER_SWAPS, LAYER_SWAPS_WAITING, NONFINITE_BLOCKS, UNKNOWN_EVENTS,
 LOST_EVENTS_APPLIED, CLOCK, STARTS_NOTED, CYCLES_MISSED, CYCLE_TIME, IN_CALLBACK,
 PYTHON_CYCLES) = range(len(INT_NAMES))
COST_TOTAL, COST_MAX, COST_LOAD = 0, 1, 2
LOAD_SMOOTHING_S = 0.5  # the DSP load is the callback's share of the period, smoothed over ~0.5 s


@njit
def bump(ints, index, n):
    """ints[index] += n, in place."""
    ints[index] += n


@njit
def close_callback(ints, costs, hist, cost, frames, sample_rate, per_bin):
    """A callback's accounting: callbacks, cost total and worst, histogram bin, overrun,
    and the smoothed DSP load (cost / period: JACK's and a DAW's 'CPU' figure)."""
    ints[CALLBACKS] += 1
    costs[COST_TOTAL] += cost
    if cost > costs[COST_MAX]:
        costs[COST_MAX] = cost
    last = hist.shape[0] - 1
    b = cost * per_bin
    hist[last if b >= last else int(b)] += 1
    if frames and cost * sample_rate > frames:
        ints[OVERRUNS] += 1
    if frames:
        alpha = min(1.0, frames / (sample_rate * LOAD_SMOOTHING_S))
        costs[COST_LOAD] += (cost * sample_rate / frames - costs[COST_LOAD]) * alpha


@njit
def note_start(starts, ints, entered_minus_period_start):
    """Keep one callback's start (the time Python entered it, on perf_counter, minus the
    host's period start, PortAudio's time_info.currentTime) in the ring `starts`."""
    starts[ints[STARTS_NOTED] % starts.shape[0]] = entered_minus_period_start
    ints[STARTS_NOTED] += 1


@on_warm_up
def _warm_up() -> None:
    ints = np.zeros(len(INT_NAMES), dtype=np.int64)
    bump(ints, 0, 1)
    note_start(np.zeros(4), ints, 0.5)
    close_callback(ints, np.zeros(3), np.zeros(4, dtype=np.int64), 1e-5, 256, 48000.0, 4e4)


def start_lateness(starts: np.ndarray, window: int = 375) -> np.ndarray:
    """Callback starts (entry time minus period start, in order) to lateness, seconds.

    The two clocks differ by an offset that drifts slowly, so each start is compared
    with the on-time starts around it: the 10th percentile of the `window` callbacks
    centred on it (375: 2 s of 256-frame periods). Not the minimum: after a stall a
    server catches up by running a few periods back to back, and those starts look
    early by the stall's length. Any thread.
    """
    if starts.size == 0:
        return np.zeros(0)
    half = window // 2
    padded = np.pad(starts, half, mode="edge")
    views = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return starts - np.percentile(views, 10, axis=1)


class Counters:
    """Counters the audio thread bumps in place and `Engine.stats` reads."""

    __slots__ = ("ints", "costs", "last_error", "cost_hist", "audio_thread_id", "starts")

    START_RING = 1 << 16  # callback starts kept (5.8 minutes of 256-frame periods at 48 kHz)

    COST_BIN_S = 25e-6  # callback cost histogram: 25 us bins up to 10 ms (the last bin: more)
    COST_BINS = 400

    def __init__(self) -> None:
        self.ints = np.zeros(len(INT_NAMES), dtype=np.int64)
        self.costs = np.zeros(3, dtype=np.float64)  # seconds: total, worst; load (fraction)
        self.last_error = ""
        self.cost_hist = np.zeros(self.COST_BINS, dtype=np.int64)
        self.audio_thread_id = 0  # the OS thread id of the callback (benchmarks read its faults)
        # When each callback started, for `start_lateness_s`: how long after its period
        # began the Python code ran (the wait for the GIL and the scheduler, item 6)
        self.starts = np.zeros(self.START_RING, dtype=np.float64)

    cost_total_s = array_cell("costs", COST_TOTAL, float)
    cost_max_s = array_cell("costs", COST_MAX, float)
    dsp_load = array_cell("costs", COST_LOAD, float)

    def cost_percentile_s(self, q: float) -> float:
        """The q-th percentile (0..100) of the callback's cost, to the histogram's 25 us. Any thread."""
        hist = self.cost_hist.copy()
        total = int(hist.sum())
        if total == 0:
            return 0.0
        index = int(np.searchsorted(np.cumsum(hist), q / 100.0 * total))
        return (min(index, self.COST_BINS - 1) + 1) * self.COST_BIN_S

    def start_lateness_s(self, window: int = 375) -> np.ndarray:
        """How late each kept callback started, in seconds, oldest first. Any thread.

        A start is (perf_counter on entry) - (the host's period start); `start_lateness`
        turns starts into lateness against the on-time starts around each.
        """
        n = int(self.ints[STARTS_NOTED])
        kept = min(n, self.START_RING)
        return start_lateness(self.starts[np.arange(n - kept, n) % self.START_RING], window)


for _index, _name in enumerate(INT_NAMES):
    setattr(Counters, _name, array_cell("ints", _index, int))
del _index, _name
