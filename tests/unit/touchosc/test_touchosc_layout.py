"""The shipped TouchOSC layout speaks exactly the server's OSC, and is what the generator makes."""

from __future__ import annotations

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
