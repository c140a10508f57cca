"""The shipped TouchOSC layout speaks exactly the server's OSC, and is what the generator makes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from gansynth_live.inputs.osc_space import address_table, feedback_addresses
from gansynth_live.touchosc.layout import Arg, Control, LayoutError, build_layout, check_layout
from gansynth_live.touchosc.tosc import read_osc_controls, tosc_xml

SHIPPED = Path(__file__).resolve().parents[3] / "touchosc" / "gansynth-live.tosc"


@pytest.fixture(scope="module")
def shipped():
    return read_osc_controls(SHIPPED.read_bytes())


def test_every_control_address_is_handled_by_the_server(shipped):
    table, sent_back = address_table(), feedback_addresses()
    assert len(shipped) >= 30
    for control in shipped:
        if control["send"]:
            spec = table.get(control["address"])
            assert spec is not None, f"{control['name']}: {control['address']} is not served"
            values = [a for a in control["args"] if a["type"] == "VALUE"]
            if spec.trigger:
                assert len(values) <= 1
                continue
            assert len(values) == len(spec.args), control
            for arg, server in zip(values, spec.args):
                if server.kind in ("float", "int"):
                    assert server.low <= arg["low"] <= arg["high"] <= server.high, control
        if control["receive"]:
            assert control["address"] in sent_back, control


def test_the_surface_covers_the_issue_s_controls(shipped):
    sent = {c["address"] for c in shipped if c["send"]}
    shown = {c["address"] for c in shipped if c["receive"]}
    assert "/morph/xy" in sent and "/morph/xy" in shown
    for n in (1, 2, 3, 4):
        assert {f"/corner/{n}/random", f"/corner/{n}/next"} <= sent
        assert f"/corner/{n}/name" in shown
    assert {"/volume", "/envelope/attack", "/envelope/decay", "/envelope/sustain",
            "/envelope/release", "/record", "/preset/next"} <= sent
    assert {"/bank/progress", "/preset/name", "/status/text"} <= shown


def _server_defaults() -> dict[str, float]:
    """What `serve` starts with before a preset sets its own: address -> value."""
    from gansynth_live.live.config import ServeConfig
    from gansynth_live.engine.config import EngineConfig

    engine = EngineConfig()
    return {"/volume": ServeConfig().volume, "/envelope/attack": engine.attack_s,
            "/envelope/decay": engine.decay_s, "/envelope/sustain": engine.sustain,
            "/envelope/release": engine.release_s}


def _sent_value(arg: dict, position: float) -> float:
    """What TouchOSC sends for a control at `position` (its value, always 0..1)."""
    return arg["low"] + (arg["high"] - arg["low"]) * position ** arg["curve"]


def test_faders_start_where_the_server_starts(shipped):
    """A fader's default is its 0..1 position, not the value in seconds (issue 22)."""
    faders = {c["address"]: c for c in shipped if c["type"] == "FADER" and c["send"]}
    defaults = _server_defaults()
    assert set(defaults) <= set(faders)
    for address, expected in defaults.items():
        fader = faders[address]
        position = fader["default"]["x"]
        assert 0.0 <= position <= 1.0, fader
        shown = _sent_value(fader["args"][0], position)
        assert shown == pytest.approx(expected, rel=1e-4, abs=1e-6), \
            f"{fader['name']} starts at {shown:g}, the server at {expected:g}"


def test_faders_span_what_the_server_accepts(shipped):
    table = address_table()
    for fader in (c for c in shipped if c["type"] == "FADER" and c["send"]):
        (arg,), (server,) = fader["args"], table[fader["address"]].args
        assert (arg["low"], arg["high"]) == (server.low, server.high), fader["name"]
        assert _sent_value(arg, 0.0) == server.low and _sent_value(arg, 1.0) == server.high
    times = {c["address"]: c["args"][0] for c in shipped if c["address"].startswith("/env")}
    assert times["/envelope/attack"]["high"] == 10.0
    assert times["/envelope/decay"]["high"] == times["/envelope/release"]["high"] == 30.0
    # the curve keeps the short times reachable: 5 ms attack is not stuck at the bottom
    assert times["/envelope/attack"]["curve"] > 1.0
    assert _sent_value(times["/envelope/attack"], 0.1) < 0.05


def test_the_layout_registers_for_feedback_when_it_loads():
    """Without --osc-reply-port the server only answers clients that sent /register."""
    from gansynth_live.touchosc.layout import REPLY_PORT

    document = ET.fromstring(zlib.decompress(SHIPPED.read_bytes()))
    root = document.find("node")
    props = {p.findtext("key"): p.findtext("value") for p in root.find("properties")}
    script = props.get("script", "")
    assert "function init()" in script
    assert f"local REPLY_PORT = {REPLY_PORT}" in script
    assert "sendOSC('/register', REPLY_PORT)" in script
    spec = address_table()["/register"]
    assert spec.target == "server" and spec.args[0].convert(float(REPLY_PORT)) == REPLY_PORT


def test_shipped_file_is_what_the_generator_writes():
    assert zlib.decompress(SHIPPED.read_bytes()).decode() == tosc_xml(build_layout()), \
        "regenerate with: python -m gansynth_live.touchosc"


def test_check_layout_refuses_strangers():
    good = build_layout()
    check_layout(good)
    with pytest.raises(LayoutError, match="not serve"):
        check_layout(good + [Control("BUTTON", "x", (0, 0, 10, 10), (1, 1, 1), "/nope",
                                     (Arg("x"),))])
    with pytest.raises(LayoutError, match="outside the server"):
        check_layout(good + [Control("FADER", "y", (0, 0, 10, 10), (1, 1, 1), "/volume",
                                     (Arg("x", "FLOAT", 0.0, 2.0),))])
    with pytest.raises(LayoutError, match="never sends"):
        check_layout(good + [Control("LABEL", "z", (0, 0, 10, 10), (1, 1, 1), "/note",
                                     (Arg("text", "STRING"),), send=False)])


def test_rendering(tmp_path):
    from gansynth_live.touchosc.render import render_layout

    render_layout(build_layout(), tmp_path / "layout.png", "test.tosc")
    assert (tmp_path / "layout.png").stat().st_size > 10_000
