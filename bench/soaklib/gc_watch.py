"""How long Python's garbage collector holds serve's process, and on which thread.

Why: a collection runs in whichever thread's allocation crossed the threshold,
and it keeps the interpreter lock for its whole length. A long one in any thread
delays the audio callback (at its start, or in the middle, when the callback has
handed the lock over at a switch-interval request), and the lock probe cannot
name it: the collecting thread sits at whatever allocation set it off. This
watches every collection through `gc.callbacks`. Bench only: it allocates.
"""

from __future__ import annotations

import gc
import threading
import time
from typing import Callable


class GcWatch:
    """Count and time every collection from `start()` to `stop()`."""

    def __init__(self, audio_thread_id: Callable[[], int]) -> None:
        self._audio_thread_id = audio_thread_id  # the engine's counters know it once playing
        self._started: dict[int, float] = {}
        self.count = [0, 0, 0]
        self.longest_s = [0.0, 0.0, 0.0]
        self.over_1ms = 0
        self.audio_count = 0
        self.audio_longest_s = 0.0

    def _callback(self, phase: str, info: dict) -> None:
        me = threading.get_ident()
        if phase == "start":
            self._started[me] = time.perf_counter()
            return
        took = time.perf_counter() - self._started.pop(me, time.perf_counter())
        generation = min(int(info.get("generation", 0)), 2)
        self.count[generation] += 1
        self.longest_s[generation] = max(self.longest_s[generation], took)
        self.over_1ms += took > 0.001
        if threading.get_native_id() == self._audio_thread_id():
            self.audio_count += 1
            self.audio_longest_s = max(self.audio_longest_s, took)

    def start(self) -> "GcWatch":
        gc.callbacks.append(self._callback)
        return self

    def stop(self) -> None:
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    close = stop  # the soak's clean-up closes every part

    def summary(self) -> str:
        longest = " / ".join(f"{1e3 * s:.2f}" for s in self.longest_s)
        return (f"{self.count[0]} / {self.count[1]} / {self.count[2]}; longest {longest} ms; "
                f"{self.over_1ms} over 1 ms; on the audio thread {self.audio_count} "
                f"(longest {1e3 * self.audio_longest_s:.2f} ms)")
