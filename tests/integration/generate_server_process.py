"""A `generate-server` process for the tests: launched in a session of its own (so every
Ray process it starts can be found and killed), Ray's temp folder under /tmp (a short
path: Ray's Unix sockets must fit in 107 bytes), HOME where the test says (Ray writes
~/.ray/auth_token), its output in a file."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fixture_paths import REPO

START_TIMEOUT_S = 240.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def session_processes(sid: int) -> dict[int, str]:
    """pid -> state of every live process in session `sid` (zombies left out)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, session = fields[0], int(fields[3])
        if session == sid and state != "Z":
            found[int(entry.name)] = state
    return found


@dataclass
class GenerateServer:
    proc: subprocess.Popen
    url: str
    port: int
    log: Path
    ray_tmp: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> int:
        """Ctrl-C, as a user would; its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(120)

    def clean_up(self) -> None:
        """Whatever of the session still runs is killed, by pid; Ray's temp folder goes."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                pass
        for pid in session_processes(self.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc.poll() is None:
            self.proc.wait(10)
        shutil.rmtree(self.ray_tmp, ignore_errors=True)


def get(url: str | urllib.request.Request, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    return get(request, timeout=60.0)


def launch(model: Path, home: Path, *options: str, port: int | None = None) -> GenerateServer:
    """`generate-server` in a session of its own, its output in a file under `home`."""
    port = port or free_port()
    log = home / "generate-server.log"
    ray_tmp = Path(tempfile.mkdtemp(prefix="gsl-ray-", dir="/tmp"))
    env = dict(os.environ, RAY_TMPDIR=str(ray_tmp), HOME=str(home),
               RAY_USAGE_STATS_ENABLED="0", PYTHONPATH=str(REPO))
    with open(log, "w") as log_file:  # a file, not a pipe: nobody drains a pipe here
        proc = subprocess.Popen(
            [sys.executable, "-m", "gansynth_live", "generate-server", "--model", str(model),
             "--port", str(port), "--num-cpus", "2", *options],
            cwd=REPO, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True)
    return GenerateServer(proc, f"http://127.0.0.1:{port}", port, log, ray_tmp)


def wait_started(server: GenerateServer) -> None:
    """Until it prints that it serves (AssertionError with its output if it never does)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while "Ctrl-C stops." not in server.output():
        if server.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"generate-server did not start:\n{server.output()[-3000:]}")
        time.sleep(0.3)
