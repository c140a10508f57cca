"""What `serve` plays first: the preset `default` only when it belongs to the model."""

from __future__ import annotations

import pytest

from gansynth_live.live.config import ServeConfig
from gansynth_live.live.corners import PresetLibrary
from gansynth_live.live.session import DEFAULT_SEEDS, Session
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


def test_seeded_corners_draw_from_the_models_prior(tmp_path):
    """serve's first corners, seed:N corners and /corner/N/random use the model's prior
    (model/prior.py), as `sample` and `audition` do; magenta's models keep N(0, 1)."""
    import numpy as np

    from gansynth_live.live.corners import seeded_corner
    from gansynth_live.banks.source import ModelSource
    from gansynth_live.model.prior import NORMAL, LatentPrior
    from gansynth_live.model.registry import resolve_model

    prior = LatentPrior(kind="blend", latents=3.0 * np.eye(4), names=tuple("abcd"),
                        mix=(2, 2))
    assert np.array_equal(seeded_corner(4, 7, prior).latent, prior.draw(1, 4, 7)[0])
    assert np.array_equal(seeded_corner(4, 7).latent, NORMAL.draw(1, 4, 7)[0])
    library = PresetLibrary(tmp_path)
    library.latent_size, library.model_name = 4, "mine"
    session = Session(ServeConfig(presets_dir=tmp_path, corners=["seed:9", "seed:10"]))
    session.prior = prior
    corners, _ = session._initial_setup(library, 4, print)
    assert [c.latent.tolist() for c in corners] == prior.draw(1, 4, 9).tolist() + \
        prior.draw(1, 4, 10).tolist()
    assert not ModelSource(path=resolve_model("default")).prior(256).is_normal
