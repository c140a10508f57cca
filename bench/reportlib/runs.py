"""Run one benchmark script as a child process and keep what it printed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    name: str
    command: list[str]  # as a reader would type it (python bench/...)
    output: str
    seconds: float
    ok: bool


def run_bench(name: str, script: str, args: list[str], timeout_s: float = 600.0) -> Run:
    """`python bench/<script> <args>`; a failure or timeout is kept in the output, not raised
    (one broken benchmark must not lose the others' figures)."""
    env = dict(os.environ, PYTHONPATH=str(BENCH.parent), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, str(BENCH / script), *args]
    shown = ["python", f"bench/{script}", *args]
    print(f"report: {' '.join(shown)} ...", flush=True)
    t0 = time.monotonic()
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,
                              timeout=timeout_s, cwd=BENCH.parent)
        output, ok = done.stdout, done.returncode == 0
        if not ok:
            output += f"\n(exit status {done.returncode})\n" + done.stderr[-3000:]
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        output += f"\n(stopped after {timeout_s:.0f} s)"
        ok = False
    return Run(name, shown, output, time.monotonic() - t0, ok)
