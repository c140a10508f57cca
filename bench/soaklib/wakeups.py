"""The machine's own floor, without Python: how late a C real-time thread wakes.

`cyclictest` (Debian's rt-tests) runs beside the soak: one SCHED_FIFO thread per
CPU (priority 60, below every JACK thread, so it never delays them, and above
every normal process) asks to wake every millisecond and records how late each
wake-up was. A wake-up later than a period here is a moment when no program on
this machine, in any language or process, could have started its audio block
on time: the hypervisor paused the virtual CPU, or the kernel ran something it
would not preempt. Printed beside the engine's xruns it says which of them the
machine alone explains.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class Wakeups:
    """`cyclictest` for `seconds` in the background; `result()` waits and parses."""

    def __init__(self, seconds: float, folder: Path, priority: int = 60) -> None:
        self.out = folder / "cyclictest.txt"
        self.proc = None
        if shutil.which("cyclictest") is None:
            return
        with open(self.out, "w") as out:
            self.proc = subprocess.Popen(
                ["cyclictest", "-m", "-p", str(priority), "-t", "-a", "-i", "1000",
                 "-D", str(max(1, int(seconds))), "-q", "-h", "20000"],
                stdout=out, stderr=subprocess.DEVNULL)

    def result(self, period_s: float) -> dict:
        """Wake-ups in all, later than half a period and than a period, and the latest
        (ms); {} when cyclictest is not installed or failed."""
        if self.proc is None:
            return {}
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.close()
            return {}
        return parse_histogram(self.out.read_text(), period_s)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()


def parse_histogram(text: str, period_s: float) -> dict:
    """cyclictest's `-h` output: rows `<latency us> <count thread 0> <count thread 1> ...`,
    then `# Histogram Overflows: ...` (later than the last row) and `# Max Latencies: ...`."""
    rows = []
    latest = 0
    beyond = 0  # wake-ups later than the histogram's last bucket (20 ms)
    for line in text.splitlines():
        if line[:1].isdigit():
            fields = [int(f) for f in line.split()]
            rows.append((fields[0], sum(fields[1:])))
        elif line.startswith("# Max Latencies:"):
            latest = max((int(f) for f in line.split(":", 1)[1].split()), default=0)
        elif line.startswith("# Histogram Overflows:"):
            beyond = sum(int(f) for f in line.split(":", 1)[1].split())
    if not rows:
        return {}
    period_us = period_s * 1e6
    return {"wakeups": sum(n for _, n in rows) + beyond,
            "over_half_period": sum(n for us, n in rows if us > period_us / 2) + beyond,
            "over_period": sum(n for us, n in rows if us > period_us) + beyond,
            "max_ms": latest / 1e3}
