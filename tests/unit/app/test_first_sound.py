"""What `serve` plays first: the preset `default` only when it belongs to the model."""

from __future__ import annotations

import pytest

from gansynth_live.app.config import ServeConfig
from gansynth_live.app.corners import PresetLibrary
from gansynth_live.app.session import DEFAULT_SEEDS, Session
from gansynth_live.presets import Preset, save_preset


@pytest.fixture(autouse=True)
def no_user_presets(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))


def first_setup(folder, model_name: str, messages: list[str]):
    library = PresetLibrary(folder)
    library.latent_size, library.model_name = 4, model_name
    session = Session(ServeConfig(presets_dir=folder))
    return session._initial_setup(library, 4, messages.append)


def test_the_default_preset_of_this_model_plays_first(tmp_path):
    save_preset(Preset("a", model="mine", latent=(0.1, 0.2, 0.3, 0.4)), tmp_path)
    save_preset(Preset("default", model="mine", corners=("a", "a")), tmp_path)
    messages: list[str] = []
    assert first_setup(tmp_path, "mine", messages) == (None, "default")
    assert messages == []


def test_another_models_default_gives_way_to_seeds_and_says_so(tmp_path):
    save_preset(Preset("a", model="default", latent=(0.1, 0.2, 0.3, 0.4)), tmp_path)
    save_preset(Preset("default", model="default", corners=("a", "a")), tmp_path)
    messages: list[str] = []
    corners, preset = first_setup(tmp_path, "acoustic_only", messages)
    assert preset is None and [c.seed for c in corners] == list(DEFAULT_SEEDS)
    assert len(messages) == 1 and "belongs to model 'default'" in messages[0]
    assert "acoustic_only" in messages[0]
