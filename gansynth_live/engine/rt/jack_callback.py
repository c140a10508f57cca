"""Audio thread only: the function JACK calls once per period when the engine is a JACK client.

`serve --jack` (engine/jack_stream.py) plays without PortAudio: this is its
process callback. Per period: note how late it started (JACK's own frame clock,
compiled), read and translate this period's MIDI from the engine's own ports
(rt/jack_midi.py), run the same per-block work as PortAudio's callback
(`callback.make_block`: render, recorder, accounting) into a preallocated
stereo buffer, and copy it into the two output ports (compiled: no numpy
array per port per period, which JACK-Client's `get_array` would make).
Xruns are JACK's own count (the xrun callback, engine/jack_stream.py).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

import numpy as np

from .callback import make_block
from .jack_midi import CallbackMidi
from .jack_ports import note_cycle_start, write_stereo

if TYPE_CHECKING:
    from ..engine import Engine

MAX_FRAMES = 8192  # JACK's largest period


def make_process(engine: Engine, client: int, left: int, right: int,
                 midi: CallbackMidi | None) -> Callable[[int], None]:
    """JACK's process callback for `engine`; `client`, `left`, `right` are the addresses of
    the client and its two output ports (jack_ports.address)."""
    block = make_block(engine)
    clock = time.perf_counter
    counters = engine.counters
    ints, starts = counters.ints, counters.starts
    sample_rate = float(engine.sample_rate)
    buffer = np.zeros((MAX_FRAMES, 2), dtype=np.float32)
    view = [0, buffer[:0]]  # the rows for the current period size, made again when it changes

    def process(frames: int) -> None:
        started = clock()
        counters.in_callback = True  # from here: Engine.wait_for_callback covers the MIDI read
        note_cycle_start(starts, ints, client, sample_rate, frames)
        if frames != view[0]:  # once, and when the server's period changes
            view[0], view[1] = frames, buffer[:frames]
        out = view[1]
        if midi is not None:
            try:
                midi.read(frames)
            except Exception as exc:  # noqa: BLE001 - the audio must go on; counted
                midi.errors += 1
                midi.last_error = f"{type(exc).__name__}: {exc}"
        block(out, frames, started, False)
        write_stereo(left, right, out, frames)

    return process
