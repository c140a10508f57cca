"""A bank service whose primary generator goes away: the fallback takes over at once, the
status says why, and the primary takes over again when it answers (the network case is
tests/integration/test_cluster.py, over a real Ray server)."""

from __future__ import annotations

import time

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.generators import GeneratorUnavailable, LocalGenerator
from gansynth_live.banks.source import ModelSource
from gansynth_live.banks.service import BankService

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
