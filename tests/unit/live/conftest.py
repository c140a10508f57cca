"""Fixtures for the instrument tests: the real bank service over a tone model, an engine
driven block by block in the test thread (no audio device)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/: tone_model

from tone_model import write_tone_presets  # noqa: E402

from gansynth_live.live.corners import PresetLibrary  # noqa: E402
from gansynth_live.live.instrument import Instrument  # noqa: E402
from gansynth_live.live.timbre_space import GridSpace  # noqa: E402
from gansynth_live.engine import Engine, EngineConfig  # noqa: E402

SR = 48000


@pytest.fixture
def presets_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "presets"
    write_tone_presets(folder)
    return folder


@pytest.fixture
def engine():
    return Engine(EngineConfig(sample_rate=SR))


@pytest.fixture
def make_instrument(engine, tone_service, presets_dir, tmp_path):
    made = []

    def make(preset: str | None = "duo", corners=None, messages=None) -> Instrument:
        def make_space(anchors, previous, resolution):
            return GridSpace(tone_service, anchors, resolution, previous)

        report = messages.append if messages is not None else (lambda text: None)
        instrument = Instrument(engine, make_space, latent_size=8, model_name="tones",
                                library=PresetLibrary(presets_dir), recordings=tmp_path / "rec",
                                report=report)
        instrument.start(corners=corners, preset=preset if corners is None else None)
        made.append(instrument)
        return instrument

    yield make
    for instrument in made:
        instrument.close()
