"""Helpers for tests that run `gansynth-live serve` as a process, on a JACK server of their own.

A private server (not the session's `jack_server` fixture) is needed when a
test kills it or when a long run must not share its graph with other tests.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from jack_process import launch_dummy_server, servers_named, start_dummy_server

ROOT = Path(__file__).resolve().parents[2]


class PrivateJack:
    """`jackd -d dummy` under a name of its own from the pool, realtime; `kill()` ends it
    like a crash.

    A JACK server killed with SIGKILL leaves its entry in JACK's shared server
    table (/dev/shm/jack-shm-registry, 8 entries machine-wide), which only a
    server started under the same name reclaims: `close()` does that at once
    (the pool would on a later run). Started with jack_process.launch: it dies
    with the test process, even if `close()` is never reached.
    """

    def __init__(self, log: Path, rate: int = 48000, period: int = 256) -> None:
        self.log = log
        self.rate, self.period = rate, period
        self.name, self.proc = start_dummy_server(log, rate, period)
        self.crashed = False

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode == -signal.SIGKILL:
            self.crashed = True

    def close(self) -> None:
        """Stop the server; after a crash, reclaim its table entry (start and stop it once)."""
        self.kill(signal.SIGTERM)
        if self.crashed:
            self.crashed = False
            if servers_named(self.name):
                return  # the name went to another run meanwhile: its entry is in use again
            proc = launch_dummy_server(self.name, self.log, self.rate, self.period)
            if proc is None:
                return
            self.proc = proc
            self.kill(signal.SIGTERM)
        if not servers_named(self.name):  # never another run's live server's semaphores
            for leftover in Path("/dev/shm").glob(f"jack_sem.*_{self.name}_*"):
                leftover.unlink(missing_ok=True)  # a killed server's clients leave these

    def __enter__(self) -> "PrivateJack":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_env(tmp_path: Path, jack_name: str | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), GANSYNTH_LIVE_DATA_DIR=str(tmp_path / "data"),
               GANSYNTH_LIVE_CACHE_DIR=str(tmp_path / "cache"), PYTHONUNBUFFERED="1")
    if jack_name is not None:
        env["JACK_DEFAULT_SERVER"] = jack_name
    return env


def write_serve_config(path: Path, model: Path, extra: str = "") -> Path:
    """A serve TOML for tests: the given model, OSC on a free port, JACK MIDI with no
    input, a session recording and a takes folder; `extra` adds lines."""
    path.write_text(f'''
model = "{model}"
{extra}osc_port = 0
midi_api = "jack"
midi_in = ["none"]
record = "session.wav"
record_dir = "takes"
''')
    return path


def start_serve(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "gansynth_live", "serve", *args], env=env,
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.set_blocking(proc.stdout.fileno(), False)  # read_until polls; a quiet server must not block
    return proc


def _read_chunk(proc: subprocess.Popen) -> str:
    try:
        data = os.read(proc.stdout.fileno(), 65536)
    except BlockingIOError:
        return ""
    return data.decode(errors="replace")


def read_until(proc: subprocess.Popen, pattern: str, lines: list[str],
               timeout: float) -> re.Match:
    """Read the server's output until a line matches (a non-blocking pipe: no hanging)."""
    deadline = time.monotonic() + timeout
    buffer = ""
    regex = re.compile(pattern)
    checked = 0
    while time.monotonic() < deadline:
        for line in lines[checked:]:
            match = regex.search(line)
            if match:
                return match
        checked = len(lines)
        exited = proc.poll() is not None
        chunk = _read_chunk(proc)
        if not chunk:
            if exited:  # everything it wrote has been read
                if buffer:
                    lines.append(buffer)
                    buffer = ""
                    continue
                break
            time.sleep(0.05)
            continue
        buffer += chunk
        *done, buffer = buffer.split("\n")
        lines += done
    raise AssertionError(f"no line matching {pattern!r}; output so far:\n" + "\n".join(lines))


def read_rest(proc: subprocess.Popen, lines: list[str], timeout: float) -> int:
    """Wait for the process to exit (killing it after `timeout`), collecting its output."""
    chunks = []
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        chunks.append(_read_chunk(proc))
        time.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    chunks.append(_read_chunk(proc))
    lines += "".join(chunks).split("\n")
    if proc.returncode == -signal.SIGKILL:
        raise AssertionError(f"serve did not exit within {timeout:g} s; output:\n"
                             + "\n".join(lines))
    return proc.returncode
