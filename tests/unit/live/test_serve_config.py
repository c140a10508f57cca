"""serve settings: flags and TOML hold the same options, precedence, clear errors."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

import pytest

from gansynth_live.live.config import (OPTIONS, ConfigError, ServeConfig, add_arguments,
                                      build_config)


def parse(argv, config=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", type=Path, default=config)
    add_arguments(parser)
    return build_config(parser.parse_args(argv))


def test_every_option_is_a_config_field_and_a_flag():
    assert {o.key for o in OPTIONS} == {f.name for f in fields(ServeConfig)}
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    flags = {s for a in parser._actions for s in a.option_strings}
    for option in OPTIONS:
        assert option.flag in flags or option.negative in flags


def test_defaults():
    config = parse([])
    assert config == ServeConfig()
    assert config.osc_host == "127.0.0.1" and config.channels is None
    assert config.midi_in == ["all"] and config.midi_virtual == "gansynth-live in"


def test_toml_holds_everything_and_flags_win(tmp_path):
    toml = tmp_path / "live.toml"
    toml.write_text('''
model = "acoustic_only"
corners = ["warm pad", "seed:7"]
morph = [0.2, 0.9]
presets_dir = "my presets"
no_cache = true
sample_rate = 44100
latency = "0.02"
midi = true
midi_in = ["Keystation", "nano"]
midi_virtual = ""
midi_api = "jack"
midi_channels = [1, 10]
cc_x = 74
cc_y = "none"
osc_host = "0.0.0.0"
osc_port = 9100
osc_reply_port = 9101
record = "takes/set.wav"
[programs]
0 = "warm pad"
5 = "glass"
''')
    config = parse([], toml)
    assert config.model == "acoustic_only" and config.corners == ["warm pad", "seed:7"]
    assert config.morph == [0.2, 0.9] and config.no_cache and config.sample_rate == 44100
    assert config.presets_dir == tmp_path / "my presets"  # relative to the file
    assert config.record == tmp_path / "takes/set.wav"
    assert config.latency_value == 0.02 and config.midi_virtual == ""
    assert config.channels == frozenset({0, 9}) and config.cc_x == 74 and config.cc_y is None
    assert config.programs == {0: "warm pad", 5: "glass"}
    flagged = parse(["--osc-port", "9200", "--midi-in", "Arturia", "--midi-in", "all",
                     "--cc-y", "2", "--programs", "1=organ", "--no-osc"], toml)
    assert flagged.osc_port == 9200 and flagged.midi_in == ["Arturia", "all"]
    assert flagged.cc_y == 2 and flagged.programs == {1: "organ"} and flagged.osc is False
    assert flagged.model == "acoustic_only"


@pytest.mark.parametrize("text,match", [
    ("osc_prot = 9000", "unknown key"),
    ("osc_port = 70000", "osc_port"),
    ("osc_port = \"x\"", "integer"),
    ("volume = 1.5", "volume"),
    ("midi_channels = [0]", "channels 1..16"),
    ("morph = [0.5]", "morph"),
    ("corners = [\"a\"]", "2 to 4"),
    ("midi_api = \"coreaudio\"", "one of"),
    ("[programs]\n200 = \"x\"", "outside 0..127"),
    ("model = = 1", "malformed TOML"),
    ("preset = \"a\"\ncorners = [\"b\", \"c\"]", "not both"),
])
def test_bad_config_files_name_the_file_and_key(tmp_path, text, match):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        parse([], toml)
    assert "bad.toml" in str(info.value)


def test_bad_flags_name_the_flag():
    with pytest.raises(ConfigError, match="--midi-channels"):
        parse(["--midi-channels", "1,x"])
    with pytest.raises(ConfigError, match="latency"):
        parse(["--latency", "fast"])
    with pytest.raises(ConfigError, match="cannot read config file"):
        parse([], Path("/nonexistent/live.toml"))


@pytest.mark.parametrize("text,match", [  # issue 15: each escaped as a traceback
    ("volume = 1" + "0" * 400, "volume: expected a finite number"),  # OverflowError
    ("morph = [0.5, 1" + "0" * 400 + "]", "morph: expected a finite number"),
    ("osc_port = 1" + "0" * 400, "osc_port: 1000.*far out of range"),
    ("osc_port = " + "9" * 5000, "malformed TOML"),  # past the int digit limit
    ("[programs]\n0 = \"" + "x" * 5000 + "\"\n1 = 3", "expected a string"),
    ("corners = " + "[" * 5000 + "]" * 5000, "nested too deeply"),  # RecursionError
    ("volume = " + "{a = " * 3000 + "1" + "}" * 3000, "nested too deeply"),
    ("programs = " + "[" * 40 + "]" * 40, "nested more than"),
    ("programs.0" + ".a" * 3000 + " = 1", "dotted key"),  # n**2 memory in tomllib
    ("[programs]\n0" + ".a" * 200 + " = \"x\"", "dotted key"),
])
def test_hostile_config_files_are_one_line_errors(tmp_path, text, match):
    toml = tmp_path / "gig.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        parse([], toml)
    message = str(info.value)
    assert "gig.toml" in message and "\n" not in message and len(message) < 600


def test_hostile_flags_are_one_line_errors(tmp_path):
    for argv, match in ((["--osc-port", "9" * 5000], "expected an integer"),
                        (["--polyphony", "1" + "0" * 40], "far out of range"),
                        (["--volume", "1" + "0" * 400], "finite")):
        with pytest.raises(ConfigError, match=match) as info:
            parse(argv)
        assert len(str(info.value)) < 300
    huge = tmp_path / "huge.toml"
    huge.write_text("# " + "x" * (2 << 20))
    with pytest.raises(ConfigError, match="larger than"):
        parse([], huge)


def test_mpe_zones_from_the_config_or_a_flag(tmp_path):
    from gansynth_live.inputs.midi import MpeZone

    path = tmp_path / "gig.toml"
    path.write_text('mpe = ["lower:7"]\n')
    assert parse([], config=path).mpe_zones == (MpeZone(0, 7),)
    assert parse(["--mpe", "upper"]).mpe_zones == (MpeZone(15, 15),)
    for bad in (["middle"], ["lower:0"], ["lower:16"], ["lower", "upper", "lower"]):
        with pytest.raises(ConfigError, match="mpe"):
            ServeConfig(mpe=bad)


def test_expression_mapping_from_the_config_or_flags(tmp_path):
    from gansynth_live.inputs.midi import Expression

    assert ServeConfig().expression == Expression()  # slide y, pressure x, 0.25, linear
    path = tmp_path / "gig.toml"
    path.write_text('expression_slide = "x"\nexpression_pressure = "none"\n'
                    'expression_depth = 0.5\nexpression_curve = 2\n')
    config = parse([], config=path)
    assert config.expression == Expression("x", "none", 0.5, "2")
    flagged = parse(["--expression-slide", "y", "--expression-curve", "EXP",
                     "--expression-depth", "1"], config=path)
    assert flagged.expression == Expression("y", "none", 1.0, "exp")
    path.write_text("expression_curve = 0.5\n")
    assert parse([], config=path).expression.curve == "0.5"


@pytest.mark.parametrize("text,match", [
    ('expression_slide = "z"', "expression_slide: expected one of x, y, none"),
    ("expression_pressure = 1", "expression_pressure: expected a string"),
    ("expression_depth = 1.5", "expression_depth = 1.5: 0..1 morph units"),
    ("expression_depth = nan", "expression_depth: expected a finite number"),
    ('expression_curve = "cubic"', "expression_curve = 'cubic': linear, exp or a power"),
    ("expression_curve = 20", "expression_curve = '20': linear, exp or a power 0.1..10"),
    ("expression_curve = true", "expression_curve: expected a string"),
])
def test_bad_expression_settings_name_the_key(tmp_path, text, match):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        parse([], toml)
    assert "bad.toml" in str(info.value)
