"""The OSC address table: validation of every argument kind, triggers, corner expansion."""

from __future__ import annotations

import math

import pytest

from gansynth_live.inputs.osc_space import (ADDRESSES, Arg, BadArguments, address_table,
                                            feedback_addresses)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "0.5", None,
                                   b"\x00", [1.0], 1.5, -0.1])
def test_float_arg_rejects_junk(value):
    with pytest.raises(BadArguments):
        Arg("x", "float").convert(value)


def test_float_arg_accepts_ints_bools_and_bounds():
    arg = Arg("x", "float")
    assert arg.convert(0) == 0.0 and arg.convert(1) == 1.0 and arg.convert(True) == 1.0
    assert arg.convert(0.25) == 0.25


def test_int_arg_takes_integral_floats_only():
    arg = Arg("pitch", "int", 0, 127)
    assert arg.convert(60.0) == 60 and isinstance(arg.convert(60.0), int)
    for bad in (60.5, 128, -1, float("nan"), "60"):
        with pytest.raises(BadArguments):
            arg.convert(bad)


def test_string_arg_length_and_type():
    arg = Arg("name", "string")
    assert arg.convert("warm pad") == "warm pad"
    for bad in ("", "x" * 129, 3, None):
        with pytest.raises(BadArguments):
            arg.convert(bad)


def test_switch_arg_words_and_numbers():
    arg = Arg("on", "switch")
    assert arg.convert("start") is True and arg.convert("STOP") is False
    assert arg.convert(1.0) is True and arg.convert(0) is False and arg.convert(True) is True
    for bad in ("maybe", float("nan"), None):
        with pytest.raises(BadArguments):
            arg.convert(bad)


def test_argument_counts():
    table = address_table()
    with pytest.raises(BadArguments, match="takes 2"):
        table["/morph/xy"].convert([0.5])
    with pytest.raises(BadArguments):
        table["/morph/xy"].convert([0.5, 0.5, 0.5])
    assert table["/note"].convert([60, 100]) == {"pitch": 60, "velocity": 100}
    assert table["/note"].convert([60, 100, 10]) == {"pitch": 60, "velocity": 100, "channel": 10}


def test_triggers_fire_on_press_and_ignore_release():
    spec = address_table()["/corner/3/random"]
    assert spec.convert([]) == {"n": 3}
    assert spec.convert([1.0]) == {"n": 3}
    assert spec.convert([0.0]) is None  # TouchOSC button released
    with pytest.raises(BadArguments):
        spec.convert([1.0, 2.0])
    with pytest.raises(BadArguments):
        spec.convert([math.nan])


def test_corner_addresses_expand_with_fixed_numbers():
    table = address_table()
    for n in (1, 2, 3, 4):
        assert table[f"/corner/{n}/next"].fixed == {"step": 1, "n": n}
        assert f"/corner/{n}/name" in feedback_addresses()
    assert "/corner/5/next" not in table and "/corner/{n}/next" not in table


def test_every_instrument_action_exists():
    from gansynth_live.live.instrument import Instrument
    from gansynth_live.inputs.osc import OscServer

    for spec in ADDRESSES:
        owner = Instrument if spec.target == "instrument" else OscServer
        name = spec.action if spec.target == "instrument" else "_" + spec.action
        assert callable(getattr(owner, name, None)), f"{spec.pattern} -> {name} missing"


def test_every_instrument_action_takes_its_addresses_arguments_by_name():
    import inspect

    from gansynth_live.live.instrument import Instrument

    for address, spec in address_table().items():
        if spec.target != "instrument":
            continue
        parameters = inspect.signature(getattr(Instrument, spec.action)).parameters
        names = [a.name for a in spec.args] + list(spec.fixed)
        missing = [n for n in names if n not in parameters]
        assert not missing, f"{address} sends {missing}, {spec.action} does not take them"


def test_docs_table_is_in_step_with_the_server():
    from pathlib import Path

    from gansynth_live.inputs.osc_space import markdown_tables

    doc = (Path(__file__).resolve().parents[3] / "docs" / "osc.md").read_text()
    table = doc.split("<!-- osc-table:start -->\n")[1].split("<!-- osc-table:end -->")[0]
    assert table == markdown_tables(), \
        "regenerate: python -m gansynth_live.inputs.osc_space (docs/osc.md)"
