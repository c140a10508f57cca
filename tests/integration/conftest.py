"""A real JACK server with the dummy driver for the integration tests.

Started once per session under a name of its own from a small pool (so parallel
runs and other JACK users on the machine do not meet, and a crashed run's entry in
JACK's server table is reused; jack_process.py says why), in realtime mode at priority 70 (-R
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

import pytest
from jack_process import server_answers, start_dummy_server, stop

RATE = 48000
PERIOD = 256


@pytest.fixture(scope="session")
def jack_server(tmp_path_factory):
    """The JACK server's name; JACK_DEFAULT_SERVER points every client in this process at it."""
    for tool in ("jackd", "jack_wait"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} not found: install jackd2 (scripts/install-system-deps.sh)")
    existing = os.environ.get("JACK_DEFAULT_SERVER")
    if existing and server_answers(existing):
        from gansynth_live.engine.stream import rescan_devices

        rescan_devices()
        yield existing
        return
    log = tmp_path_factory.mktemp("jackd") / "jackd.log"
    try:
        name, server = start_dummy_server(log, RATE, PERIOD)
    except RuntimeError as error:
        pytest.fail(str(error))
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
