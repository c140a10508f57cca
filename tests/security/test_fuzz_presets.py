"""Preset loading under arbitrary input: a PresetError or a valid preset, nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gansynth_live.presets import PresetError, load_preset_file, preset_from_dict

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner,
                                                                 max_size=6),
    max_leaves=30)
keys = st.sampled_from(["name", "model", "latent", "seed", "envelope", "gain_db",
                        "description", "corners", "resolution", "attack_s", "x"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, json_values, max_size=8))
def test_preset_dicts(raw):
    try:
        preset = preset_from_dict(raw, "fuzz.json", "fuzz")
    except PresetError:
        return
    assert preset.latent is not None or preset.seed is not None or preset.corners


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode), st.sampled_from([".json", ".toml"]))
def test_preset_files(tmp_path, data, suffix):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        load_preset_file(path)
    except PresetError as exc:
        assert str(path) in str(exc)
