"""`serve`'s config loader under hypothesis: any TOML, any bytes, any flag values.

A gig's config must either load into a valid ServeConfig or fail with one
ConfigError naming the file and the key: nothing else may escape (no TypeError from a
table where a list was expected, no OverflowError from a huge number, no NaN accepted).
And a loader that refused everything would pass that, so valid documents (every key,
in each form it accepts) must load, holding exactly the values they were given.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gansynth_live.live.config import (OPTION_BY_KEY, OPTIONS, ConfigError, ServeConfig,
                                      add_arguments, build_config)

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
scalars = st.one_of(
    st.booleans(), st.integers(), st.integers(-2**70, 2**70), st.sampled_from([0, 1, -1, 9000, 65536]),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1e300, -0.0]),
    st.text(max_size=30), st.sampled_from(["none", "off", "", "low", "all", "jack", "0.0.0.0",
                                           "1,2", "0.3,0.6", "seed:7", "../x", "ünï😀"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8) | st.sampled_from(["0", "1", "127", "200"]), inner, max_size=3),
    max_leaves=10)
keys = st.sampled_from(sorted(OPTION_BY_KEY)) | st.text(min_size=1, max_size=12)


def toml_key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):  # JSON's escapes are TOML's, but DEL must be escaped too
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def load(path) -> ServeConfig | None:
    namespace = argparse.Namespace(config=path)
    try:
        return build_config(namespace)
    except ConfigError as exc:
        assert str(path) in str(exc)  # the message names the file
        return None


def check_valid(config: ServeConfig) -> None:
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in config.morph)
    assert math.isfinite(config.volume) and math.isfinite(config.bend_range)
    assert 0 <= config.osc_port <= 65535 and 8000 <= config.sample_rate <= 384000
    assert all(isinstance(n, str) for n in config.midi_in + config.corners + config.osc_allow)
    assert all(0 <= p <= 127 and isinstance(n, str) for p, n in config.programs.items())
    assert 0 <= config.expression.depth <= 1  # the translator's Expression accepts it


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(keys, values, max_size=6))
def test_any_toml_document(tmp_path, document):
    path = tmp_path / "gig.toml"
    path.write_text("\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in document.items()),
                    encoding="utf-8")
    config = load(path)
    if config is not None:
        check_valid(config)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "replace")))
def test_any_bytes(tmp_path, data):
    path = tmp_path / "junk.toml"
    path.write_bytes(data)
    config = load(path)
    if config is not None:
        check_valid(config)


# --- valid documents: (TOML value, what the ServeConfig field must then hold) -----------
name = st.text(st.characters(blacklist_characters=",", blacklist_categories=("Cs",)),
               min_size=1, max_size=12).map(str.strip).filter(bool)
word = st.text("abcdefghijklmnopqrstuvwxyz0123456789 _-.+", min_size=1, max_size=10).map(
    str.strip).filter(bool)


def same(strategy):
    return strategy.map(lambda v: (v, v))


def optional_int(low: int, high: int):
    return same(st.integers(low, high)) | st.sampled_from(
        [("none", None), ("off", None), ("", None), (False, None)]) | st.integers(
        low, high).map(lambda n: (f" {n} ", n))


def unit_float(high: float = 1.0):
    return same(st.floats(0.0, high)) | same(st.integers(0, int(high))).map(
        lambda pair: (pair[0], float(pair[1])))


def names_list(min_size: int = 0, max_size: int = 4):
    return same(st.lists(name, min_size=min_size, max_size=max_size)) | st.lists(
        name, min_size=max(min_size, 1), max_size=max_size).map(lambda ws: (",".join(ws), ws))


def path_value(folder):
    return st.one_of(st.sampled_from(["rec", "a/b", "x y.wav", "../up"]).map(
        lambda v: (v, folder / v)), st.sampled_from(["/abs/x", "/tmp/y z"]).map(
        lambda v: (v, Path(v))))


def curve_value():
    """A curve by name (any case) or a power as a number or as text: what the config holds."""
    power = st.floats(0.1, 10.0)
    return st.sampled_from([("linear", "linear"), ("exp", "exp"), (" Exp ", "exp"),
                            (2, "2"), ("0.5", "0.5")]) | power.map(lambda p: (p, repr(p))) | \
        power.map(lambda p: (repr(p), repr(p)))


def channels_list():
    return same(st.lists(st.integers(1, 16), max_size=4)) | st.lists(
        st.integers(1, 16), min_size=1, max_size=4).map(lambda cs: (",".join(map(str, cs)), cs))


def programs_value():
    table = st.dictionaries(st.integers(0, 127), word, max_size=4)
    return table.map(lambda t: ({str(k): v for k, v in t.items()}, t)) | table.map(
        lambda t: ([f"{k}={v}" for k, v in t.items()], t))


def valid_values(folder: Path) -> dict:
    return {
        "model": same(name), "preset": same(name), "corners": names_list(2, 4),
        "morph": st.tuples(unit_float(), unit_float()).map(
            lambda xy: ([xy[0][0], xy[1][0]], [xy[0][1], xy[1][1]])),
        "resolution": optional_int(2, 33), "presets_dir": path_value(folder),
        "cache_dir": path_value(folder), "no_cache": same(st.booleans()),
        "wait": same(st.sampled_from(["none", "first", "all"])),
        "audio_device": same(name), "jack": same(st.booleans()),
        "sample_rate": same(st.integers(8000, 384000)),
        "blocksize": same(st.sampled_from([0]) | st.integers(16, 8192)),
        "latency": same(st.sampled_from(["low", "high"]) | st.floats(0.001, 9.99).map(repr)),
        "polyphony": same(st.integers(1, 1024)),
        "volume": unit_float(), "bend_range": unit_float(48.0), "record": path_value(folder),
        "record_dir": path_value(folder), "max_take_minutes": same(st.floats(0.01, 1440.0)),
        "allow_large_grid": same(st.booleans()), "midi": same(st.booleans()),
        "generator": same(st.sampled_from(["http://127.0.0.1:8100", "http://localhost:9"])),
        "allow_insecure_generator": same(st.booleans()),
        "midi_in": names_list(), "midi_virtual": same(name),
        "midi_api": same(st.sampled_from(["auto", "alsa", "jack"])),
        "midi_channels": channels_list(), "cc_x": optional_int(0, 127),
        "cc_y": optional_int(0, 127), "programs": programs_value(), "osc": same(st.booleans()),
        "mpe": same(st.lists(st.sampled_from(["lower", "upper", "lower:3", "upper:15"]),
                             max_size=2)),
        "expression_slide": same(st.sampled_from(["x", "y", "none"])),
        "expression_pressure": same(st.sampled_from(["x", "y", "none"])),
        "expression_depth": unit_float(), "expression_curve": curve_value(),
        "osc_host": same(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "localhost"])),
        "osc_port": same(st.integers(0, 65535)), "osc_allow": names_list(),
        "osc_reply_port": optional_int(1, 65535),
        "oscquery_port": optional_int(0, 65535), "feedback_rate": unit_float(200.0),
        "web": same(st.booleans()),
        "web_host": same(st.sampled_from(["127.0.0.1", "0.0.0.0", "::1", "localhost"])),
        "web_port": same(st.integers(0, 65535)),
    }


def test_the_valid_values_cover_every_option(tmp_path):
    assert set(valid_values(tmp_path)) == set(OPTION_BY_KEY)


@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_valid_documents_load_with_the_values_they_hold(tmp_path, data):
    document = data.draw(st.fixed_dictionaries({}, optional=valid_values(tmp_path)))
    if "preset" in document and "corners" in document:
        del document[data.draw(st.sampled_from(["preset", "corners"]))]
    if document.get("jack", (False,))[0]:  # --jack refuses a PortAudio device and ALSA MIDI
        if "audio_device" in document:
            del document["audio_device"]
        if document.get("midi_api", (None,))[0] == "alsa":
            del document["midi_api"]
    path = tmp_path / "gig.toml"
    path.write_text("\n".join(f"{key} = {toml_value(value)}"
                              for key, (value, _) in document.items()), encoding="utf-8")
    config = load(path)
    assert config is not None, path.read_text(encoding="utf-8")  # accepted
    check_valid(config)
    for key, (_, expected) in document.items():
        assert getattr(config, key) == expected, key
    defaults = ServeConfig()
    for key in set(OPTION_BY_KEY) - set(document):
        assert getattr(config, key) == getattr(defaults, key), key


FLAGS = [o for o in OPTIONS if o.convert.__name__ != "_bool"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FLAGS), st.text(max_size=20) | st.sampled_from(
    ["nan", "inf", "-1", "1e999", "99999999999999999999", "0x10", " 7 ", "none", "1,2,3"])),
    max_size=4))
def test_any_flag_values(flags):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=None)
    add_arguments(parser)
    argv = []
    for option, value in flags:
        argv.append(f"{option.flag}={value}")
    try:
        namespace = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's own usage error (a choice not offered): exit 2
        assert exc.code == 2
        return
    try:
        config = build_config(namespace)
    except ConfigError:
        return
    check_valid(config)


@pytest.mark.parametrize("text, key", [("morph = [nan, 0.5]", "morph"), ("volume = inf", "volume"),
                                       ("osc_port = 99999999999999999999999", "osc_port"),
                                       ("programs = {200 = 'x'}", "programs"),
                                       ("midi_in = [1, 2]", "midi_in"), ("cc_x = 1.5", "cc_x")])
def test_examples_fail_naming_the_key(tmp_path, text, key):
    path = tmp_path / "gig.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key):
        build_config(argparse.Namespace(config=path))
