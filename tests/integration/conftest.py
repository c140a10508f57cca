"""A real JACK server with the dummy driver for the integration tests.

Started once per session under a name of its own (so parallel runs and other
JACK users on the machine do not meet), in realtime mode at priority 70 (-R
-P 70: its clients' threads then outrank other JACK servers' on a shared
machine; at the default priority 10 a saturated 2-core machine showed xruns),
and stopped at the end, however the session ends (jack_process.py: its own
process group, an atexit handler, and it dies with pytest).
An already running server is reused when JACK_DEFAULT_SERVER names one.
sounddevice only sees JACK if PortAudio is (re)initialised after the server
runs, which the fixture does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from jack_process import launch, stop

RATE = 48000
PERIOD = 256


def _server_answers(name: str) -> bool:
    result = subprocess.run(["jack_wait", "-s", name, "-c"], capture_output=True, text=True)
    return result.returncode == 0 and result.stdout.strip() == "running"


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """The JACK server's name; JACK_DEFAULT_SERVER points every client in this process at it."""
    for tool in ("jackd", "jack_wait"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install jackd2 (scripts/install-system-deps.sh)")
    existing = os.environ.get("JACK_DEFAULT_SERVER")
    if existing and _server_answers(existing):
        from gansynth_live.engine.stream import rescan_devices

        rescan_devices()
        yield existing
        return
    name = f"gansynth-test-{os.getpid()}"
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    with open(log, "w") as log_file:  # a file, not a pipe: a full pipe would stall jackd
        server = launch(["jackd", "-n", name, "-R", "-P", "70", "-d", "dummy", "-r", str(RATE),
                         "-p", str(PERIOD)], log_file)
    deadline = time.monotonic() + 10.0
    while not _server_answers(name):
        if server.poll() is not None or time.monotonic() > deadline:
            stop(server, timeout=1.0)
            pytest.fail(f"jackd did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    os.environ["JACK_DEFAULT_SERVER"] = name
    from gansynth_live.engine.stream import rescan_devices

    rescan_devices()
    try:
        yield name
    finally:
        import sounddevice as sd

        sd._terminate()  # PortAudio must let go of JACK before the server goes (else it aborts)
        if existing is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = existing
        stop(server)
        sd._initialize()  # without JACK now; sounddevice's exit handler terminates it cleanly
