"""Starting `jackd` for the tests so that no server outlives the test session.

However the session ends, every server started here stops:

* normally, or with tests failing or erroring at setup: the fixture's finalizer
  (`jack_server` in conftest.py) or the test's own `close()`;
* Ctrl-C: pytest tears the session down. The server runs in a process group of
  its own, so the terminal's SIGINT reaches only pytest, which first lets go of
  JACK (PortAudio aborts the process if the server goes first) and then stops it;
* an exception that skips the teardown, or `sys.exit`: an `atexit` handler
  stops what is still running;
* pytest killed (SIGKILL, SIGTERM, a CI timeout): jackd gets SIGTERM from the
  kernel, because it is started with PR_SET_PDEATHSIG set. A tiny launcher sets it
  with prctl and then execs jackd (not a `preexec_fn`, which is unsafe in a
  process with threads); the signal comes when the thread that started the
  server ends, so start servers from the main thread (fixtures run there).
  (The kernel clears it for a set-user-ID jackd or one with file capabilities,
  which Debian's and Ubuntu's jackd2 are not; test_jack_cleanup.py would fail.)

Servers are named from a small pool (`start_dummy_server`): JACK2 keeps every
server in an 8-entry table shared by the whole machine (/dev/shm/jack-shm-registry)
and frees the entry of a server that died without unregistering only when a server
of the same name starts again. Names made from a pid never recur, so each crashed
run used to keep an entry for good, until "Too many servers already active".

tests/conftest.py also sets JACK_NO_START_SERVER, so a JACK client (PortAudio,
jack.Client) never starts a server of its own behind the tests' back: libjack
would daemonise it, out of reach of all of the above.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Sequence

PR_SET_PDEATHSIG = 1
_LAUNCHER = f"""\
import ctypes, os, signal, sys
if ctypes.CDLL(None, use_errno=True).prctl({PR_SET_PDEATHSIG}, signal.SIGTERM, 0, 0, 0) != 0:
    sys.exit("jack_process: prctl(PR_SET_PDEATHSIG) failed: " + os.strerror(ctypes.get_errno()))
if os.getppid() != int(sys.argv[1]):
    sys.exit("jack_process: the test process ended before jackd started")
os.execvp(sys.argv[2], sys.argv[2:])
"""

_started: list[subprocess.Popen] = []


def launch(command: Sequence[str], log: IO) -> subprocess.Popen:
    """Start `command` (jackd ...) writing to `log`; it dies with this process."""
    _started[:] = [p for p in _started if p.poll() is None]
    proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _LAUNCHER, str(os.getpid()),
                             *command], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, process_group=0)
    _started.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within `timeout`; waits for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _stop_all() -> None:
    for proc in _started:
        stop(proc)


atexit.register(_stop_all)


def servers_named(name: str) -> list[int]:
    """Process ids of running jackd processes started with `-n name`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv and Path(os.fsdecode(argv[0])).name in ("jackd", "jackdmp") and \
                any(a == b"-n" and b == os.fsencode(name) for a, b in zip(argv, argv[1:])):
            found.append(int(entry.name))
    return found


NAME_POOL = 6  # of JACK's 8 server entries, so at least two stay for other JACK users
REGISTRY = Path("/dev/shm/jack-shm-registry")


def server_answers(name: str) -> bool:
    """Whether a JACK server of this name runs and answers (`jack_wait -c`)."""
    result = subprocess.run(["jack_wait", "-s", name, "-c"], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "running"


def dummy_server_command(name: str, rate: int, period: int) -> list[str]:
    """`jackd -d dummy` in realtime mode at priority 70 (its clients' threads then
    outrank other servers' on a shared machine)."""
    return ["jackd", "-n", name, "-R", "-P", "70", "-d", "dummy", "-r", str(rate),
            "-p", str(period)]


def wait_until_answering(proc: subprocess.Popen, name: str, timeout: float = 10.0) -> bool:
    """Wait for the server `proc` started to answer; False (and `proc` stopped) if it
    ended or did not answer in time. Another run's server of the same name answering
    does not count: `proc` must be alive and be that jackd (the launcher execs it, so
    the pid is the same)."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc, timeout=1.0)
            return False
        if server_answers(name) and proc.pid in servers_named(name):  # ours, still running
            return True
        time.sleep(0.1)


def launch_dummy_server(name: str, log_path: Path, rate: int,
                        period: int) -> subprocess.Popen | None:
    """Start `jackd -d dummy` under `name` and wait for it; None if it did not come up
    (the name taken, JACK's table full: the log says)."""
    with open(log_path, "a") as log:  # a file, not a pipe: a full pipe would stall jackd
        proc = launch(dummy_server_command(name, rate, period), log)
    return proc if wait_until_answering(proc, name) else None


def _stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent, ...); [] if
    the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def parent_pid(pid: int) -> int:
    """The parent of process `pid` (0 if it is gone)."""
    fields = _stat(pid)
    return int(fields[1]) if fields else 0


def is_running(pid: int) -> bool:
    """Process `pid` exists and is not a zombie."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z"


def start_dummy_server(log_path: Path, rate: int, period: int) -> tuple[str, subprocess.Popen]:
    """Start a dummy-driver server under the first free name `gansynth-jack-0`, `-1`, ...
    (one pool for the tests and the benchmarks, so that crashed runs hold at most
    NAME_POOL of JACK's entries; see the module's docstring); it dies with this process.

    A name is free when no jackd runs under it; two runs that pick the same name at
    once are told apart by JACK itself (the second fails and tries the next name).
    """
    tried = []
    for index in range(NAME_POOL):
        name = f"gansynth-jack-{index}"
        if servers_named(name):
            continue
        proc = launch_dummy_server(name, log_path, rate, period)
        if proc is not None:
            return name, proc
        tried.append(name)
    text = log_path.read_text() if log_path.exists() else ""
    hint = (f"; with no jackd running, `rm {REGISTRY}` empties JACK's table of servers"
            if "Too many servers" in text else "")
    raise RuntimeError(f"jackd did not start under any of {tried or 'the pool names'}"
                       f"{hint}: {text[-2000:]}")
