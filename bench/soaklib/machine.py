"""What the machine and its processes did: CPU, steal time, resident memory (/proc).

Why: on a shared VM an xrun can be another guest's or another process's doing; the
soak reports these next to its own figures so a reader can tell which.
"""

from __future__ import annotations

import os

import numpy as np

PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int | None = None) -> float:
    """Resident memory of a process (this one by default); 0 if it is gone."""
    path = "/proc/self/statm" if pid is None else f"/proc/{pid}/statm"
    try:
        with open(path) as fh:
            return int(fh.read().split()[1]) * PAGE / 1e6
    except OSError:
        return 0.0


def cpu_times() -> tuple[int, int, int]:
    """(steal, busy, total) jiffies of the whole machine, from /proc/stat.

    busy: user, nice, system, irq, softirq (CPU time some process of this VM used).
    """
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    steal = fields[7] if len(fields) > 7 else 0
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    return steal, busy, sum(fields[:8])


def runnable() -> int:
    """Threads ready to run right now on the whole machine (procs_running in /proc/stat)."""
    with open("/proc/stat") as fh:
        for line in fh:
            if line.startswith("procs_running"):
                return int(line.split()[1])
    return 0


def process_cpu_s() -> float:
    """CPU seconds this process used so far (all its threads)."""
    times = os.times()
    return times.user + times.system


def pid_cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) another process used so far; 0 if it is gone."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def slope_per_min(ts: list[float], values: list[float]) -> float:
    """Least-squares slope of values over time, per minute."""
    if len(ts) < 3:
        return 0.0
    t = np.asarray(ts)
    return float(np.polyfit(t - t[0], np.asarray(values), 1)[0] * 60.0)


def thread_major_faults(tid: int) -> int | None:
    """Major page faults (a page read from disk) of thread `tid` of this process so far;
    None if it is gone or unknown (0)."""
    if not tid:
        return None
    try:
        with open(f"/proc/self/task/{tid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[9])  # majflt, field 12 of stat (after pid and comm)
