"""A JACK client whose process callback is compiled C: when the audio thread itself wakes.

Why: the engine's callback notes how late its Python code starts in each period,
which is the scheduler's delay plus the wait for the interpreter lock. This
client, on the same server in the same cycles, has a numba `cfunc` as its process
callback: it never takes the lock and runs no Python, so its lateness is the
scheduler's (and the machine's) alone. The two side by side split the engine's
late starts into "the thread woke late" (both late) and "Python was not free"
(only the engine late): item 6's question, whether a process of its own would help.
"""

from __future__ import annotations


import numba
import numpy as np
from numba.core import types

from gansynth_live.engine.rt import jack_ports as ports

RING = 1 << 16  # lateness of the last 65,536 cycles (about 6 minutes at 256 frames)
CLIENT, COUNT, LATE = 0, 1, 2  # the log's words: client address, cycles seen, the ring


@numba.cfunc(types.int32(types.uint32, types.CPointer(types.int64)), nopython=True,
             cache=False)
def _process(frames, log):
    words = numba.carray(log, (LATE + RING,))
    count = words[COUNT]
    words[LATE + count % RING] = ports.frames_since_cycle_start(words[CLIENT])
    words[COUNT] = count + 1
    return 0


class CompiledProbe:
    """Activate on the default (or named) JACK server; `mark()` the start of a window,
    `late_s()` the lateness (seconds) of every cycle since."""

    def __init__(self, server: str | None = None, name: str = "soak-compiled-probe") -> None:
        import jack

        self.client = jack.Client(name, no_start_server=True, servername=server)
        self.rate = float(self.client.samplerate)
        self._log = np.zeros(LATE + RING, dtype=np.int64)
        self._log[CLIENT] = ports.address(self.client._ptr)
        ports.set_process(int(self._log[CLIENT]), _process.address, self._log.ctypes.data)
        self._mark = 0
        self.client.activate()

    def mark(self) -> None:
        self._mark = int(self._log[COUNT])

    def late_s(self) -> np.ndarray:
        end = int(self._log[COUNT])
        start = max(self._mark, end - RING)
        rows = np.arange(start, end) % RING
        return self._log[LATE + rows] / self.rate

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
