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
