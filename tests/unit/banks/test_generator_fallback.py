"""A bank service whose primary generator goes away: the fallback takes over at once, the
status says why, and the primary takes over again when it answers (the network case is
tests/integration/test_cluster.py, over a real Ray server)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from fixture_paths import TINY_MODEL

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.cache import BankCache
from gansynth_live.banks.generators import GeneratorError, GeneratorUnavailable, LocalGenerator
from gansynth_live.banks.source import ModelSource
from gansynth_live.banks.service import BankService
from gansynth_live.cluster.client import LIVE_TIMEOUT_S
from gansynth_live.live.config import ServeConfig
from gansynth_live.live.session import Session

SETTINGS = BuildSettings(sample_rate=16000)


class Switchable(LocalGenerator):
    """The model in this process behind a switch, as a server that can be down."""

    name = "switchable"

    def __init__(self, source, settings):
        super().__init__(source, settings)
        self.down = False
        self.rendered = 0

    def start(self):
        if self.down:
            raise GeneratorUnavailable("connection refused")
        return super().start()

    def render(self, latent, pitches, extensions):
        if self.down:
            raise GeneratorUnavailable("connection refused")
        self.rendered += len(pitches)
        return super().render(latent, pitches, extensions)


def test_the_fallback_takes_over_at_once_and_hands_back(tiny_model, monkeypatch):
    import gansynth_live.banks.service as service_module
    monkeypatch.setattr(service_module, "RETRY_PRIMARY_S", 0.1)
    source = ModelSource(model=tiny_model)
    primary = Switchable(source, SETTINGS)
    fallback = LocalGenerator(source, SETTINGS)
    with BankService(source, SETTINGS, None, generator=primary, fallback=fallback,
                     batch_size=4) as service:
        z = source.stamp.random_latents(3, seed=4)
        first = service.request(z[0], [60])
        assert first.wait(120) and first.state == "done", first.error
        assert primary.rendered == 61 and service.status()["generator"] == "switchable"
        primary.down = True
        second = service.request(z[1], [60])
        assert second.wait(120) and second.state == "done", second.error  # nothing failed
        status = service.status()
        assert status["generator"] == "local" and "unreachable" in status["generator_note"]
        assert primary.rendered == 61
        primary.down = False
        deadline = time.monotonic() + 10
        while not service._primary_back.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        third = service.request(z[2], [60])
        assert third.wait(120) and third.state == "done", third.error
        assert primary.rendered > 61 and service.status()["generator_note"] == ""
        assert second.current.complete and third.current.complete


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.05)


@pytest.mark.slow  # the fallback is a child process that imports TensorFlow
def test_the_fallback_process_is_loaded_before_the_primary_goes_away(monkeypatch):
    """serve's set-up: the fallback is this machine's generator process, started in the
    background with the service, so a remote found unreachable later hands over to a
    model already loaded (no TensorFlow import and model load at that moment)."""
    import gansynth_live.banks.service as service_module
    monkeypatch.setattr(service_module, "RETRY_PRIMARY_S", 60.0)  # no switch back here
    source = ModelSource(path=TINY_MODEL)
    fallback = BankService.own_generator(source, SETTINGS, process=True)
    assert fallback.name == "child process" and not fallback.running
    primary = Switchable(source, SETTINGS)
    with BankService(source, SETTINGS, None, generator=primary, fallback=fallback,
                     batch_size=4) as service:
        z = primary.start().random_latents(2, seed=6)
        first = service.request(z[0], [60])
        assert first.wait(120) and first.state == "done", first.error
        assert service.status()["generator"] == "switchable" and primary.rendered == 61
        # nothing has asked the fallback for a note, yet its model is loaded
        wait_for(lambda: fallback.running and fallback.stamp is not None, 120,
                 "the fallback process started in the background")
        pid, loaded_in = fallback.pid, fallback.warm_up_s
        assert loaded_in > 0
        primary.down = True
        t0 = time.monotonic()
        second = service.request(z[1], [60])
        wait_for(lambda: second.progress[0] > 0, 60, "the fallback's first notes")
        first_notes_s = time.monotonic() - t0
        assert second.wait(120) and second.state == "done", second.error
        assert service.status()["generator"] == "child process"
        assert fallback.pid == pid  # the notes came from the process started in advance
        # its load and warm-up were not paid after the primary went away
        assert first_notes_s < loaded_in, (first_notes_s, loaded_in)
        assert second.current.complete and primary.rendered == 61


class HungServer:
    """A real socket that accepts connections and never answers (a hung box behind a live
    SSH tunnel: the tunnel accepts, nothing comes back)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.accepted: list[socket.socket] = []
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_serve_falls_back_from_a_hung_server_within_its_batch_timeout(tiny_model):
    """serve's own client (Session._remote_generator) against a server that never answers:
    this machine takes over after LIVE_TIMEOUT_S, not the client's default 60 s."""
    hung = HungServer()
    try:
        remote = Session(ServeConfig(generator=hung.url))._remote_generator(SETTINGS)
        source = ModelSource(model=tiny_model)
        fallback = LocalGenerator(source, SETTINGS)
        fallback.start()  # loaded, as the service's background start leaves it
        t0 = time.monotonic()
        with BankService(source, SETTINGS, None, generator=remote, fallback=fallback,
                         batch_size=4) as service:
            wait_for(lambda: service.status()["generator"] == "local", LIVE_TIMEOUT_S + 10,
                     "the fallback taking over from the hung server")
            took_over_s = time.monotonic() - t0
            assert hung.accepted, "the client never reached the hung server"
            assert "did not answer" in service.generator_note
            # the timeout is what ended the wait (a refused connection would be ~1 s)
            assert LIVE_TIMEOUT_S - 0.5 < took_over_s < LIVE_TIMEOUT_S + 5, took_over_s
            handle = service.request(source.stamp.random_latents(1, seed=8)[0], [60])
            assert handle.wait(120) and handle.state == "done", handle.error
            assert handle.current.complete
    finally:
        hung.close()


class DiesMidBank(LocalGenerator):
    """Makes `notes` notes, then fails every batch (a replica killed mid-bank, its
    retries spent, no fallback: bank build's case)."""

    name = "dies mid-bank"

    def __init__(self, source, settings, notes: int):
        super().__init__(source, settings)
        self.notes = notes
        self.rendered = 0

    def render(self, latent, pitches, extensions):
        if self.rendered >= self.notes:
            raise GeneratorError("the replica died mid-bank")
        self.rendered += len(pitches)
        return super().render(latent, pitches, extensions)


def test_a_failed_bank_is_never_saved_as_complete(tiny_model, tmp_path):
    source = ModelSource(model=tiny_model)
    cache = BankCache(tmp_path)
    z = tiny_model.random_latents(1, seed=12)[0]
    dying = DiesMidBank(source, SETTINGS, notes=9)
    with BankService(source, SETTINGS, cache, generator=dying, batch_size=4) as service:
        handle = service.request(z, [60])
        assert handle.wait(120) and handle.state == "failed", handle.state
        assert dying.rendered == 9  # it failed part-way, with notes made
        assert handle.current is not None and not handle.current.complete
        assert len(handle.current.slots) >= 9
    assert handle.key is not None
    saved = cache.load(handle.key)
    assert saved is None or not saved.complete
    assert not any(entry.complete for entry in cache.entries())
    # the same cache does take the bank once it is whole (the check above is not vacuous)
    with BankService(source, SETTINGS, cache, batch_size=4) as service:
        again = service.request(z, [60])
        assert again.wait(120) and again.state == "done" and not again.from_cache
    saved = cache.load(handle.key)
    assert saved is not None and saved.complete and len(saved.slots) >= 61
