"""Audio thread only: the function PortAudio calls once per block, small on purpose.

PortAudio calls Python (sounddevice's cffi callback), so this callback takes the
interpreter lock every block; with `serve --jack` the engine is a JACK client
whose process callback is compiled instead (rt/jack_callback.py), and both run
the renderer's same two parts (rt/renderer.py). Per call: note an xrun if
PortAudio flagged one, let the engine render into `outdata` (it pops events,
reads the bank reference once, mixes into
preallocated buffers), hand the block to the recorder if one is armed, and
time itself (total, worst, and a preallocated histogram for percentiles). It
never raises: on an internal error it writes silence and counts. No locks, no
TensorFlow, disk, network or logging here or in anything it calls, and no
allocation in a block without events: counters are int64 arrays bumped by
compiled code (rt/jit.py), the output stage and the recorder's ring copy are
compiled loops (test_engine_allocations.py measures it; what event blocks
still allocate is listed in docs/engine.md).

The offline renderer calls the very same function with `status=None`.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .counters import CALLBACK_ERRORS, XRUNS, bump, close_callback, note_start

if TYPE_CHECKING:
    from ..engine import Engine

Callback = Callable[[np.ndarray, int, Any, Any], None]
Block = Callable[[np.ndarray, int, float, bool], None]


def make_block(engine: Engine) -> Block:
    """What every host's callback does once it has a buffer: `block(outdata, frames,
    started, underflow)` renders `frames` frames into `outdata` (float32, (frames, 2)),
    feeds the recorder and keeps the accounting; `started` is perf_counter at entry.

    PortAudio's callback (`make_callback`) calls it.
    """
    counters = engine.counters
    renderer = engine.renderer
    process = renderer.process
    clock = time.perf_counter
    sample_rate = float(engine.sample_rate)
    ints, costs, hist = counters.ints, counters.costs, counters.cost_hist
    per_bin = 1.0 / counters.COST_BIN_S

    def block(outdata: np.ndarray, frames: int, started: float, underflow: bool) -> None:
        counters.in_callback = True
        if not counters.audio_thread_id:  # once (warm-up): the thread a soak watches
            counters.audio_thread_id = threading.get_native_id()
        if underflow:
            bump(ints, XRUNS, 1)
        try:
            renderer.next_frames = frames  # len(outdata): spares process an int from shape
            process(outdata)
        except Exception as exc:  # noqa: BLE001 - a gig must not stop; the error is counted
            outdata.fill(0.0)
            bump(ints, CALLBACK_ERRORS, 1)
            counters.last_error = f"{type(exc).__name__}: {exc}"
        recorder = engine.recorder
        if recorder is not None:
            recorder.write(outdata)
        close_callback(ints, costs, hist, clock() - started, frames, sample_rate, per_bin)
        counters.in_callback = False  # after `callbacks` is bumped: Engine.wait_for_callback

    return block


def make_callback(engine: Engine) -> Callback:
    """A sounddevice OutputStream callback that plays `engine` (float32, 2 channels)."""
    block = make_block(engine)
    clock = time.perf_counter
    counters = engine.counters
    ints, starts = counters.ints, counters.starts

    def callback(outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        started = clock()
        if time_info is not None:  # live: how late after its period's start this ran
            note_start(starts, ints, started - time_info.currentTime)
        block(outdata, frames, started, bool(status and status.output_underflow))

    return callback
