"""Presets: validation with clear errors, safe names, save/load round trip."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from gansynth_live.paths import UnsafePathError
from gansynth_live.presets import (Preset, PresetError, find_preset, list_presets,
                                   load_preset_file, save_preset)


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "presets"


def test_round_trip(tmp_path):
    p = Preset(name="warm pad", latent=tuple(np.linspace(-1, 1, 8)), gain_db=-3.0)
    path = save_preset(p)
    loaded = find_preset("warm pad")
    assert loaded == p and path.suffix == ".json"
    with pytest.raises(PresetError, match="exists"):
        save_preset(p)
    np.testing.assert_array_equal(loaded.latent_vector(8), np.linspace(-1, 1, 8))


def test_seed_preset_matches_random_latents(tiny_model):
    p = Preset(name="s", seed=42)
    np.testing.assert_array_equal(p.latent_vector(256), tiny_model.random_latents(1, seed=42)[0])


@pytest.mark.parametrize("name", ["../evil", "/etc/passwd", "a/b", ".hidden", "", "x" * 200,
                                  "..", "a\\b", "nul\x00"])
def test_names_cannot_escape(name):
    with pytest.raises(UnsafePathError):
        save_preset(Preset(name=name, seed=1))
    with pytest.raises(UnsafePathError):
        find_preset(name)


@pytest.mark.parametrize("content,match", [
    ("{not json", "malformed JSON"),
    ('{"latent": [1, "x"]}', "latent"),
    ('{"latent": [1, NaN]}', "latent"),
    ('{"seed": -1}', "seed"),
    ('{"seed": 1, "envelope": {"attack_s": 0}}', "attack_s"),
    ('{"seed": 1, "envelope": {"attack_s": "fast"}}', "attack_s"),
    ('{"seed": 1, "gain_db": 1e9}', "gain_db"),
    ('{"seed": 1, "bogus": 1}', "unknown key"),
    ('{"corners": ["a"]}', "2 to 4"),
    ('{"name": "x"}', "needs a latent"),
    ('[1, 2]', "top level"),
])
def test_malformed_presets_name_the_file(user_dir, content, match):
    user_dir.mkdir(parents=True)
    path = user_dir / "bad.json"
    path.write_text(content)
    with pytest.raises(PresetError, match=match) as info:
        find_preset("bad")
    assert str(path) in str(info.value)
    listed = {p.name: err for _, p, err in list_presets()}
    assert match.split()[0] in listed["bad.json"] or listed["bad.json"]


def test_toml_preset(user_dir):
    user_dir.mkdir(parents=True)
    (user_dir / "organ.toml").write_text(
        'seed = 7\ngain_db = -2.0\n[envelope]\nattack_s = 0.02\nrelease_s = 1.5\n')
    p = find_preset("organ")
    assert p.name == "organ" and p.seed == 7 and p.envelope.release_s == 1.5
    (user_dir / "broken.toml").write_text("seed = = 7")
    with pytest.raises(PresetError, match="malformed TOML"):
        load_preset_file(user_dir / "broken.toml")


def test_morph_setup(user_dir):
    user_dir.mkdir(parents=True)
    (user_dir / "square.json").write_text(json.dumps({"corners": ["a", "b", "c", "d"],
                                                       "resolution": 5}))
    p = find_preset("square")
    assert p.is_morph and p.corners == ("a", "b", "c", "d") and p.resolution == 5


@pytest.mark.shipped_presets
def test_shipped_presets_are_valid_for_the_default_model():
    from gansynth_live.presets import SHIPPED_DIR
    from gansynth_live.fit.instruments import read_instruments
    from gansynth_live.model.registry import resolve_model

    table = read_instruments(resolve_model(None))
    listed = list_presets()
    errors = [err for _, path, err in listed if err and path.parent == SHIPPED_DIR]
    assert not errors
    shipped = {p.name: p for p, path, _ in listed if p and path.parent == SHIPPED_DIR}
    library = [p for p in shipped.values() if not p.is_morph]
    assert len(library) >= 6
    for preset in library:  # each a fitted instrument of the model, with its latent
        np.testing.assert_allclose(preset.latent_vector(256), table[preset.name][1])
    default = shipped["default"]
    assert default.is_morph and all(c in shipped for c in default.corners)


def _preset_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "make_default_presets.py"
    spec = importlib.util.spec_from_file_location("make_default_presets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_library_keeps_pitch_accurate_distinct_instruments():
    """scripts/make_default_presets.py: the library is chosen by the bench's measurements."""
    script = _preset_script()
    table = {n: {} for n in ("flute", "recorder", "tuba", "organ", "harp")}
    quality = {
        "pitch": [
            {"preset": "flute", "in_tune": 1.0, "pass": True, "out_of_tune": []},
            {"preset": "recorder", "in_tune": 0.92, "pass": True, "out_of_tune": [36]},
            {"preset": "tuba", "in_tune": 0.95, "pass": True, "out_of_tune": [84]},
            {"preset": "harp", "in_tune": 0.7, "pass": False, "out_of_tune": [36, 40]},
        ],  # organ not measured: its own training notes fail the pitch test
        "distinct": [
            {"preset": "flute", "distances_db": {"recorder": 1.2, "tuba": 6.0, "harp": 4.0}},
            {"preset": "recorder", "distances_db": {"flute": 1.2, "tuba": 5.0, "harp": 4.0}},
            {"preset": "tuba", "distances_db": {"flute": 6.0, "recorder": 5.0, "harp": 5.0}},
        ],
    }
    chosen, left = script.choose_library(table, quality)
    assert chosen == ["flute", "tuba"]  # recorder: as in tune but 1.2 dB from flute
    # an instrument whose own recordings fail the pitch test is not held to it, nor shipped
    without_tuba, left2 = script.choose_library(table, quality, pitched={"flute", "recorder"})
    assert without_tuba == ["flute"] and "not measured" in left2["tuba"]
    # a preferred staple is kept over a better-measured near copy of it
    chosen3, left3 = script.choose_library(table, quality, prefer=("recorder",))
    assert chosen3 == ["recorder", "tuba"] and "from recorder" in left3["flute"]
    assert "1.2 dB from flute" in left["recorder"]
    assert "70%" in left["harp"] and "not measured" in left["organ"]
    words = script.character_words({"centroid_hz": 1500.0, "attack_ms": 800.0,
                                     "level_1s_db": -2.0, "level_2_5s_db": -4.0})
    assert words.startswith("very bright") and "sustained" in words and "0.8 s" in words


HOSTILE = {  # issue 15: each escaped as a traceback and broke `preset list` and stepping
    "big-gain.json": '{"seed": 1, "gain_db": 1' + "0" * 400 + "}",
    "big-latent.json": '{"latent": [0.5, 1' + "0" * 400 + "]}",
    "big-attack.json": '{"seed": 1, "envelope": {"attack_s": 1' + "0" * 400 + "}}",
    "huge-int.json": '{"seed": 1, "gain_db": ' + "9" * 5000 + "}",
    "deep.json": "[" * 100000 + "]" * 100000,
    "deep-object.json": '{"seed": 1, "description": ' + '{"a": ' * 50 + "1" + "}" * 51,
    "deep-array.toml": "seed = 1\nx = " + "[" * 5000 + "]" * 5000,
    "dotted.toml": "seed = 1\n" + "a." * 2000 + "b = 1\n",  # see the memory test below
    "big.toml": "seed = 1\ngain_db = 1" + "0" * 400 + "\n",
    "far-latent.toml": "latent = [1e300]\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_preset_is_one_line_error(user_dir, name):
    user_dir.mkdir(parents=True)
    path = user_dir / name
    path.write_text(HOSTILE[name])
    with pytest.raises(PresetError) as info:
        load_preset_file(path)
    message = str(info.value)
    assert str(path) in message and "\n" not in message and len(message) < 400


def test_hostile_user_presets_are_skipped_by_listing_and_stepping(user_dir, capsys):
    from gansynth_live.live.corners import PresetLibrary
    from gansynth_live.cli import main

    user_dir.mkdir(parents=True)
    for name, text in HOSTILE.items():
        (user_dir / name).write_text(text)
    for name in ("a", "b"):
        save_preset(Preset(name=name, seed=1), user_dir)
    listed = list_presets(user_dir)
    bad = sorted(path.name for preset, path, _ in listed if preset is None)
    assert bad == sorted(HOSTILE)
    library = PresetLibrary(user_dir)
    assert library.names() == ["a", "b"]
    assert library.step("a", 1) == "b" and library.program(1) == "b"
    assert main(["preset", "list", "--dir", str(user_dir)]) == 0
    marked = [line for line in capsys.readouterr().out.splitlines() if line.startswith("  !")]
    assert len(marked) == len(HOSTILE)  # one line each, the good presets listed too


def test_a_dotted_toml_key_cannot_exhaust_memory(user_dir):
    """tomllib keeps every prefix of a dotted key: 60000 parts (120 kB) needed ~14 GB."""
    import subprocess
    import sys
    import textwrap

    user_dir.mkdir(parents=True)
    path = user_dir / "dotted.toml"
    path.write_text("seed = 1\n" + "a." * 60000 + "b = 1\n")
    child = textwrap.dedent(f"""
        import os, resource, sys
        from pathlib import Path
        from gansynth_live.presets import PresetError, load_preset_file
        pages = int(open("/proc/self/statm").read().split()[0])
        room = pages * os.sysconf("SC_PAGE_SIZE") + 300 * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (room, room))
        try:
            load_preset_file(Path({str(path)!r}))
        except PresetError as exc:
            print("refused:", exc)
    """)
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused:" in done.stdout and "dotted key" in done.stdout
