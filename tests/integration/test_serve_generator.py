"""`serve --generator`: a live session on JACK whose banks a real `generate-server` makes
(Ray, tiny checkpoint); the server stopped while it plays, this machine takes over at once
and the status line says so; the server back on its port, the banks come from it again."""

from __future__ import annotations

import io
import time

import pytest
from fixture_paths import TINY_MODEL
from generate_server_process import launch, wait_started
from serve_testing import wait_until

from gansynth_live.live.config import ServeConfig
from gansynth_live.live.session import Session
from gansynth_live.live.status import Console

pytestmark = [pytest.mark.jack, pytest.mark.slow]


def test_serve_plays_from_the_server_falls_back_when_it_goes_and_returns(jack_server,
                                                                         tmp_path,
                                                                         monkeypatch):
    pytest.importorskip("ray", reason="the cluster extra: pip install -e '.[cluster]'")
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    home = tmp_path / "home"
    home.mkdir()
    server = launch(TINY_MODEL, home)
    again = None
    session = None
    try:
        wait_started(server)
        config = ServeConfig(model=str(TINY_MODEL), corners=["seed:1", "seed:2"],
                             morph=[0.0, 0.0], resolution=2, generator=server.url,
                             no_cache=True, wait="all", midi_api="jack", midi_in=["none"],
                             osc_port=0, web=False, record_dir=tmp_path / "rec")
        session = Session(config, Console(io.StringIO(), tty=False)).open()
        service = session.service
        assert service.status()["generator"] == f"remote {server.url}"
        assert "banks remote" in session.status_line()
        session.instrument.note(60, 100)  # it plays from the server's banks
        wait_until(lambda: session.engine.stats().voices_sounding == 1, 5, "the note")
        session.instrument.note(60, 0)
        # this machine's generator process was started with the session, in the background
        fallback = service.fallback
        wait_until(lambda: fallback.running and fallback.stamp is not None, 60,
                   "the fallback process loaded in the background")
        pid = fallback.pid

        assert server.stop() == 0  # the GPU box goes away while serve plays
        t0 = time.monotonic()
        session.instrument.corner_random(2)  # a new timbre: its bank must be made somewhere
        # at once: the client's ~1 s of retries, no model load (TensorFlow's import and the
        # model's load and warm-up were paid before)
        wait_until(lambda: service.status()["generator"] == "child process", 15,
                   "this machine to take over")
        assert fallback.pid == pid
        print(f"this machine took over {time.monotonic() - t0:.1f} s after the server stopped "
              f"(its process had loaded in {fallback.warm_up_s:.1f} s, in advance)")
        assert "banks here (generator unreachable)" in session.status_line()
        wait_until(lambda: session.instrument.state().progress.complete, 120,
                   "the new bank, made here")

        again = launch(TINY_MODEL, home, port=server.port)  # back on the same address
        wait_started(again)
        deadline = time.monotonic() + 60
        while service.status()["generator"] != f"remote {server.url}":
            assert time.monotonic() < deadline, "the server never took over again"
            session.instrument.corner_random(1)  # asks for banks: the worker switches back
            time.sleep(1.0)
        wait_until(lambda: session.instrument.state().progress.complete, 120, "banks again")
        assert "banks remote" in session.status_line()
        assert session.engine.stats().callback_errors == 0
    finally:
        if session is not None:
            session.close()
        for running in (server, again):
            if running is not None:
                running.clean_up()
