"""The instrument the fuzz tests attack: real Instrument, Engine and bank service (tone model).

The engine is driven block by block in the test thread with the very callback
PortAudio would call, so a fuzz example can interleave input and audio and then
check that every voice ends.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: tone_model

from tone_model import write_tone_presets  # noqa: E402

from gansynth_live.live.corners import PresetLibrary  # noqa: E402
from gansynth_live.live.instrument import Instrument  # noqa: E402
from gansynth_live.live.timbre_space import GridSpace  # noqa: E402
from gansynth_live.banks.service import BankService  # noqa: E402
from gansynth_live.engine import Engine, EngineConfig  # noqa: E402
from gansynth_live.engine.rt.callback import make_callback  # noqa: E402

BLOCK = 256
RELEASE_LIMIT_S = 2.0  # the rig's presets release in 50 ms; a fuzz test that sets longer
# releases shortens them again before letting go


class Rig:
    """Instrument + engine over temporary folders; `render` plays blocks in this thread."""

    def __init__(self, service: BankService, folder: Path) -> None:
        presets = folder / "presets"
        if not presets.exists():
            write_tone_presets(presets)
        self.engine = Engine(EngineConfig())
        self.callback = make_callback(self.engine)
        self.block = np.zeros((BLOCK, 2), dtype=np.float32)

        def make_space(anchors, previous, resolution):
            return GridSpace(service, anchors, resolution, previous)

        self.messages: list[str] = []
        self.instrument = Instrument(self.engine, make_space, latent_size=8, model_name="tones",
                                     library=PresetLibrary(presets),
                                     recordings=folder / "rec", report=self.messages.append)
        self.instrument.start(preset="duo")
        self.wait_playable()

    def wait_playable(self, timeout: float = 30.0) -> None:
        """Until the banks at the morph position are complete (notes then always sound)."""
        follower = self.instrument.follower
        for _ in range(int(timeout)):
            follower.wait_pass(1.0)
            layers = follower.layers
            if layers is not None and all(bank.complete for bank in layers.banks):
                self.render(2)  # the engine adopts them
                return
        raise AssertionError(f"banks not ready: {follower.progress().describe()}")

    def render(self, blocks: int = 1) -> None:
        for i in range(blocks):
            self.callback(self.block, BLOCK, None, None)
            if not np.isfinite(self.block).all():
                raise AssertionError("the engine produced NaN or infinity")
            if i % 64 == 63:
                self.engine.collect()
        self.engine.collect()

    def render_until_silent(self, limit_s: float = RELEASE_LIMIT_S, events: int = 0) -> float:
        """Seconds of audio until no voice is active (fails after `limit_s`).

        `events`: how many were just pushed; at least the blocks that apply them
        are rendered first (the engine takes 64 per block), so that they neither
        hide a stuck voice nor fill the queue for what comes next.
        """
        per_block = self.engine.config.max_events_per_block
        self.render(-(-events // per_block) + 1)
        limit = int(limit_s * self.engine.sample_rate / BLOCK)
        for n in range(limit):
            if n % 8 == 0 and self.engine.stats().voices_active == 0:
                return n * BLOCK / self.engine.sample_rate
            self.render(1)
        stats = self.engine.stats()
        raise AssertionError(f"{stats.voices_active} voice(s) still sounding after "
                             f"{limit_s:g} s of release: a stuck note")

    def close(self) -> None:
        self.instrument.close()
