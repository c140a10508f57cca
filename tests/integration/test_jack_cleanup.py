"""No JACK server outlives a test session, however the session ends (issue 22).

Each test runs a pytest session of its own in a subprocess, with the real
`jack_server` fixture of conftest.py: one that ends with tests erroring at
setup, one stopped by Ctrl-C (SIGINT to its whole process group, as a
terminal sends it), one killed with SIGKILL. Then no `jackd -n <the name that
session's server had>` may be left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from jack_process import is_running, parent_pid, servers_named

pytestmark = pytest.mark.jack

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

INNER_CONFTEST = f"""
import importlib.util
import sys

sys.path.insert(0, {str(HERE)!r})  # jack_process, as for the real suite
spec = importlib.util.spec_from_file_location("integration_conftest", {str(HERE / "conftest.py")!r})
integration = importlib.util.module_from_spec(spec)
spec.loader.exec_module(integration)
jack_server = integration.jack_server
"""

INNER_TESTS = """
import os
import pathlib
import time

import pytest


@pytest.fixture
def broken():
    raise RuntimeError("this fixture fails at setup")


def test_holds_the_server(jack_server):
    pathlib.Path(os.environ["SERVER_NAME_FILE"]).write_text(jack_server)
    if os.environ.get("HOLD"):
        time.sleep(120)


@pytest.mark.parametrize("n", range(5))
def test_errors_at_setup(jack_server, broken, n):
    pass
"""


@contextmanager
def _inner_session(tmp_path: Path, hold: bool) -> Iterator[tuple[subprocess.Popen, Path]]:
    """The inner pytest session and the file it names its JACK server in; the session is
    killed on the way out if the test left it running."""
    proc, name_file = _start_session(tmp_path, hold)
    try:
        yield proc, name_file
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _start_session(tmp_path: Path, hold: bool) -> tuple[subprocess.Popen, Path]:
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "conftest.py").write_text(INNER_CONFTEST)
    (inner / "test_inner.py").write_text(INNER_TESTS)
    name_file = tmp_path / "server-name"
    env = {k: v for k, v in os.environ.items() if k != "JACK_DEFAULT_SERVER"}
    env.update(PYTHONPATH=str(ROOT), SERVER_NAME_FILE=str(name_file), HOLD="1" if hold else "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(inner), str(inner)], cwd=inner, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True)  # a group of its own, as in a shell
    return proc, name_file


def _server_of(proc: subprocess.Popen, name_file: Path) -> tuple[str, list[int]]:
    """The name of the inner session's JACK server and the pids of the jackd it started
    (its children: pool names recur, so the name alone does not say whose it is)."""
    deadline = time.monotonic() + 120
    while not name_file.exists() or not name_file.read_text():
        if proc.poll() is not None:
            pytest.fail(f"the inner session ended early: {proc.stdout.read().decode()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail("the inner session did not start its JACK server")
        time.sleep(0.1)
    name = name_file.read_text()
    pids = [pid for pid in servers_named(name) if parent_pid(pid) == proc.pid]
    assert name.startswith("gansynth-jack-") and pids, (name, servers_named(name))
    return name, pids


def _assert_no_server_left(name: str, pids: list[int] | None = None, wait: float = 10.0) -> None:
    """No jackd the inner session started is left: `pids` (those seen running), or with
    none known, no jackd of that name at all."""
    def left() -> list[int]:
        return [pid for pid in pids if is_running(pid)] if pids is not None else servers_named(name)

    deadline = time.monotonic() + wait
    while left() and time.monotonic() < deadline:
        time.sleep(0.1)
    remaining = left()
    for pid in remaining:  # do not leave one behind ourselves
        os.kill(pid, signal.SIGKILL)
    if not servers_named(name):
        for leftover in Path("/dev/shm").glob(f"jack_sem.*_{name}_*"):
            leftover.unlink(missing_ok=True)  # a killed client's semaphores
    assert not remaining, f"jackd -n {name} outlived its test session (pids {remaining})"


def test_a_session_with_errors_at_setup_stops_its_server(tmp_path):
    with _inner_session(tmp_path, hold=False) as (proc, name_file):
        output = proc.communicate(timeout=180)[0].decode()
    name = name_file.read_text()
    assert name.startswith("gansynth-jack-"), output[-3000:]
    assert proc.returncode == 1 and "1 passed, 5 errors" in output, output[-3000:]
    _assert_no_server_left(name, wait=0.0)


def test_ctrl_c_stops_the_server_after_the_session_let_go_of_it(tmp_path):
    with _inner_session(tmp_path, hold=True) as (proc, name_file):
        name, pids = _server_of(proc, name_file)
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0].decode()
    # pytest's own "interrupted" exit: the server did not vanish under PortAudio (abort)
    assert proc.returncode == 2 and "KeyboardInterrupt" in output, output[-3000:]
    _assert_no_server_left(name, pids, wait=0.0)


def test_a_killed_session_takes_its_server_along(tmp_path):
    with _inner_session(tmp_path, hold=True) as (proc, name_file):
        name, pids = _server_of(proc, name_file)
        proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    _assert_no_server_left(name, pids)
