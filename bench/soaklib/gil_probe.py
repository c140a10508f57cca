"""Who keeps the interpreter lock from the audio callback: a probe thread in serve's process.

Why: the soak measures how late callbacks start, not why. A Python thread that
wakes every millisecond waits, like the callback, for the OS and then for the
interpreter lock. When it comes back late, the thread that held the lock has just
let go of it and is still at (or right after) the call that held it, so the
other threads' stacks at that moment name the culprit. The same stacks are also
sampled when the probe is on time: a stack that is there as often either way is a
thread that merely sleeps there (a reader blocked in select); one far more common
when late is the holder. Bench only: the probe allocates and takes the lock itself.
"""

from __future__ import annotations

import collections
import sys
import threading
import time
import traceback

PERIOD_S = 0.001


def _where(frame, depth: int = 3) -> str:
    """The innermost `depth` frames of a stack as 'file:line func' (innermost last)."""
    stack = traceback.extract_stack(frame)[-depth:]
    return " < ".join(f"{f.name} ({f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
                      for f in reversed(stack))


class GilProbe(threading.Thread):
    """Wake every PERIOD_S; when woken `late_s` late, note the other threads' stacks."""

    def __init__(self, late_s: float = 0.002, on_time_every: int = 50) -> None:
        super().__init__(name="soak gil probe", daemon=True)
        self.late_s = late_s
        self.on_time_every = on_time_every
        self.late = collections.Counter()  # (thread, stack) -> times seen when late
        self.on_time = collections.Counter()  # the same, on a sample of on-time wakes
        self.late_wakes = 0
        self.on_time_samples = 0
        self.worst_s = 0.0
        self._done = threading.Event()

    def _snapshot(self, into: collections.Counter) -> None:
        names = {t.ident: t.name for t in threading.enumerate()}
        me = threading.get_ident()
        for ident, frame in sys._current_frames().items():
            if ident != me:
                into[(names.get(ident, str(ident)), _where(frame))] += 1

    def run(self) -> None:
        wakes = 0
        while not self._done.is_set():
            due = time.perf_counter() + PERIOD_S
            time.sleep(PERIOD_S)
            late = time.perf_counter() - due
            wakes += 1
            if late > self.late_s:
                self.late_wakes += 1
                self.worst_s = max(self.worst_s, late)
                self._snapshot(self.late)
            elif wakes % self.on_time_every == 0:
                self.on_time_samples += 1
                self._snapshot(self.on_time)

    def stop(self) -> None:
        self._done.set()
        self.join(2.0)

    def report(self, most: int = 12) -> str:
        """The stacks seen far more often at late wakes than at on-time ones."""
        if not self.late_wakes:
            return f"gil probe: no wake later than {1e3 * self.late_s:.1f} ms"
        rows = []
        for key, count in self.late.items():
            late_share = count / self.late_wakes
            on_share = self.on_time[key] / max(1, self.on_time_samples)
            rows.append((late_share - on_share, late_share, on_share, key))
        rows.sort(reverse=True)
        lines = [f"gil probe: {self.late_wakes} wakes later than {1e3 * self.late_s:.1f} ms "
                 f"(worst {1e3 * self.worst_s:.1f} ms), {self.on_time_samples} on-time samples; "
                 "share of late wakes / of on-time samples, thread, innermost frames:"]
        for _, late_share, on_share, (thread, where) in rows[:most]:
            lines.append(f"  {100 * late_share:5.1f} % / {100 * on_share:5.1f} %  {thread}: {where}")
        return "\n".join(lines)
