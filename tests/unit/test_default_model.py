"""The model shipped in the package: loads as the default and plays in tune."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.fit.instruments import pitched_presets, read_instruments
from gansynth_live.fit.quality import PITCH_BAR, in_tune, is_bad, pitch_error_cents
from gansynth_live.model import load_model
from gansynth_live.model.registry import resolve_model



@pytest.fixture(scope="module")
def default_model():
    path = resolve_model(None)
    return path, load_model(path), read_instruments(path)


def test_default_model_is_small_and_names_its_instruments(default_model):
    path, model, table = default_model
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    assert size < 6_000_000
    assert model.pitch_range == range(24, 85)
    assert len(table) >= 30
    for _, latent in table.values():
        assert latent.shape == (model.latent_size,)


def library_presets() -> list[str]:
    """The shipped presets/ of the default model (morph setups aside): what users play."""
    from gansynth_live.presets import SHIPPED_DIR, load_preset_file

    presets = [load_preset_file(p) for p in sorted(SHIPPED_DIR.glob("*.json"))]
    return [p.name for p in presets if p.model == "default" and not p.is_morph]


def _sample_pitches(index: int) -> list[int]:
    """Four pitches per preset over MIDI 36..84, spread differently for each preset."""
    return [36 + (index * 7 + k * 12) % 49 for k in range(4)]


@pytest.mark.slow
@pytest.mark.shipped_presets
def test_default_model_meets_the_pitch_bar_on_a_sample(default_model):
    path, model, table = default_model
    names = library_presets()
    assert names and set(names) <= set(pitched_presets(path))
    z, pitches, owner = [], [], []
    for i, name in enumerate(names):
        for p in _sample_pitches(i):
            z.append(table[name][1])
            pitches.append(p)
            owner.append(name)
    waves = model.generate(np.stack(z), pitches)
    assert not any(is_bad(w) for w in waves), "NaN or silent notes"
    cents = np.array([pitch_error_cents(w, p, model.sample_rate)
                      for w, p in zip(waves, pitches)])
    ok = in_tune(cents)
    per_preset = {n: ok[[o == n for o in owner]].mean() for n in names}
    worst = sorted(per_preset.items(), key=lambda kv: kv[1])[:5]
    assert ok.mean() >= PITCH_BAR, f"{ok.mean():.0%} in tune; worst presets {worst}"
    assert min(per_preset.values()) >= 0.75, f"worst presets {worst}"
