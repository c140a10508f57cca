"""Audio thread only: the function PortAudio calls once per block, small on purpose.

Per call: note an xrun if PortAudio flagged one, let the engine render into
`outdata` (it pops events, reads the bank reference once, mixes into
preallocated buffers), hand the block to the recorder if one is armed, and
time itself (total, worst, and a preallocated histogram for percentiles). It never raises: on an internal error it writes silence and
counts. No locks, no allocation beyond small per-block arrays, no TensorFlow,
disk, network or logging here or in anything it calls.

The offline renderer calls the very same function with `status=None`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

if TYPE_CHECKING:
    from ..engine import Engine

Callback = Callable[[np.ndarray, int, Any, Any], None]


def make_callback(engine: Engine) -> Callback:
    """A sounddevice OutputStream callback that plays `engine` (float32, 2 channels)."""
    counters = engine.counters
    process = engine.renderer.process
    clock = time.perf_counter
    sample_rate = float(engine.sample_rate)
    hist = counters.cost_hist
    per_bin = 1.0 / counters.COST_BIN_S
    last_bin = counters.COST_BINS - 1

    def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        started = clock()
        counters.in_callback = True
        if status and status.output_underflow:
            counters.xruns += 1
        try:
            process(outdata)
        except Exception as exc:  # noqa: BLE001 - a gig must not stop; the error is counted
            outdata.fill(0.0)
            counters.callback_errors += 1
            counters.last_error = f"{type(exc).__name__}: {exc}"
        recorder = engine.recorder
        if recorder is not None:
            recorder.write(outdata)
        cost = clock() - started
        counters.callbacks += 1
        counters.in_callback = False  # after the bump: Engine.wait_for_callback relies on it
        counters.cost_total_s += cost
        if cost > counters.cost_max_s:
            counters.cost_max_s = cost
        hist[min(int(cost * per_bin), last_bin)] += 1
        if frames and cost * sample_rate > frames:
            counters.overruns += 1

    return callback
