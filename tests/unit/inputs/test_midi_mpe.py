"""MPE zones, RPN 0/6, per-note bend and per-note timbre in the MIDI translator (issue 19)."""

from __future__ import annotations

import mido
import pytest

from midi_sink import RecordingSink

from gansynth_live.events import PitchBend, SetBendRange, SetExpression, SetMpeZone
from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi import Expression, MidiTranslator, MpeZone


def cc(control, value, channel=0):
    return mido.Message("control_change", control=control, value=value, channel=channel)


def rpn(msb, lsb, value, channel):
    return [cc(101, msb, channel), cc(100, lsb, channel), cc(6, value, channel)]


def events(sink):
    return [call[1] for call in sink.calls if call[0] == "event"]


@pytest.fixture
def sink():
    return RecordingSink()


def test_rpn_6_on_channel_1_sets_up_the_lower_zone_with_the_mpe_bend_ranges(sink):
    tr = MidiTranslator(sink, CCMap())
    for m in rpn(0, 6, 7, 0):
        tr.handle(m)
    sent = events(sink)
    assert sent[0] == SetMpeZone(0, 7)
    assert [e for e in sent if isinstance(e, SetBendRange)] == \
        [SetBendRange(48.0, ch) for ch in range(1, 8)] + [SetBendRange(2.0, 0)]
    assert list(tr.master[1:8]) == [0] * 7 and tr.master[8] == -1 and tr.master[0] == -1


def test_rpn_6_on_channel_16_sets_up_the_upper_zone(sink):
    tr = MidiTranslator(sink, CCMap())
    for m in rpn(0, 6, 3, 15):
        tr.handle(m)
    assert events(sink)[0] == SetMpeZone(15, 3)
    assert list(tr.master[12:15]) == [15] * 3 and tr.master[11] == -1


def test_rpn_6_elsewhere_and_data_entry_without_an_rpn_are_not_zones(sink):
    tr = MidiTranslator(sink, CCMap())
    for m in rpn(0, 6, 7, 4):
        tr.handle(m)
    assert not any(isinstance(e, SetMpeZone) for e in events(sink))
    sink.calls.clear()
    tr.handle(cc(101, 127, 2))
    tr.handle(cc(100, 127, 2))
    tr.handle(cc(6, 12, 2))  # RPN null: CC6 sets no bend range
    assert events(sink) == []


def test_rpn_0_sets_a_channels_bend_range_with_cents(sink):
    tr = MidiTranslator(sink, CCMap())
    for m in rpn(0, 0, 12, 3):
        tr.handle(m)
    tr.handle(cc(38, 50, 3))
    assert events(sink) == [SetBendRange(12.0, 3), SetBendRange(12.5, 3)]


def test_a_member_channel_bend_is_that_channels_note_only(sink):
    tr = MidiTranslator(sink, CCMap(), zones=(MpeZone.parse("lower:15"),))
    sink.calls.clear()
    tr.handle(mido.Message("note_on", note=60, velocity=90, channel=1))
    tr.handle(mido.Message("note_on", note=64, velocity=90, channel=2))
    tr.handle(mido.Message("pitchwheel", pitch=4096, channel=1))
    tr.handle(mido.Message("pitchwheel", pitch=-8192, channel=0))  # the master: the whole zone
    assert events(sink) == [PitchBend(0.5, 1), PitchBend(-1.0, 0)]


def test_cc74_on_a_member_channel_sets_only_that_notes_expression(sink):
    tr = MidiTranslator(sink, CCMap(x_cc=74, y_cc=None), zones=(MpeZone(0, 15),),
                        expression=Expression(slide_axis="x", pressure_axis="y", depth=0.5))
    sink.calls.clear()
    tr.handle(cc(74, 127, 2))
    tr.handle(mido.Message("aftertouch", value=127, channel=2))
    assert events(sink) == [SetExpression(2, None, 0.5, 0.0), SetExpression(2, None, 0.5, 0.5)]
    sink.calls.clear()
    tr.handle(cc(74, 127, 0))  # the master channel: an ordinary controller (here morph x)
    assert sink.calls[-1][0] == "morph"


def test_poly_aftertouch_moves_one_key_and_channel_pressure_outside_a_zone_is_ignored(sink):
    tr = MidiTranslator(sink, CCMap(), expression=Expression(pressure_axis="y", depth=0.25))
    tr.handle(mido.Message("polytouch", note=60, value=127, channel=3))
    tr.handle(mido.Message("aftertouch", value=127, channel=3))
    assert events(sink) == [SetExpression(3, 60, 0.0, 0.25)]
    assert tr.ignored == 1


def test_zone_specs_parse_and_reject_junk():
    assert MpeZone.parse("upper:5") == MpeZone(15, 5)
    assert MpeZone.parse("lower") == MpeZone(0, 15)
    for bad in ("middle", "lower:0", "lower:x", "upper:16"):
        with pytest.raises(ValueError):
            MpeZone.parse(bad)
    with pytest.raises(ValueError):
        Expression(slide_axis="z")


def test_expression_curves_shape_the_travel_not_its_ends():
    linear, square = Expression(depth=0.5), Expression(depth=0.5, curve="2")
    steep = Expression(depth=0.5, curve="exp")
    for e in (linear, square, steep):
        assert e.offset(0.0, 0.0) == (0.0, 0.0)
        assert e.offset(1.0, 1.0) == pytest.approx((0.5, 0.5))  # full travel: the depth
        assert e.offset(-1.0, 0.0) == pytest.approx((0.0, -0.5))
    assert linear.offset(0.5, 0.5) == pytest.approx((0.25, 0.25))
    assert square.offset(-0.5, 0.5) == pytest.approx((0.125, -0.125))  # slide: symmetric
    dx, dy = steep.offset(0.5, 0.5)
    assert dx == dy and 0.0 < dx < 0.125  # fine at first
    assert Expression(curve="0.5").offset(0.25, 0.0)[1] == pytest.approx(0.125)  # quick start
    assert Expression(curve=" EXP ") == Expression(curve=" EXP ")
    for bad in ("cubic", "0", "-1", "11", "nan", ""):
        with pytest.raises(ValueError, match="'linear', 'exp' or a power"):
            Expression(curve=bad)
    with pytest.raises(ValueError, match="depth"):
        Expression(depth=1.5)


def test_the_curve_shapes_what_the_translator_sends(sink):
    tr = MidiTranslator(sink, CCMap(), zones=(MpeZone(0, 15),),
                        expression=Expression(slide_axis="y", pressure_axis="none", depth=1.0,
                                              curve="2"))
    sink.calls.clear()
    tr.handle(cc(74, 96, 3))  # slide (96 - 64) / 63
    tr.handle(mido.Message("aftertouch", value=127, channel=3))  # pressure on axis 'none'
    sent = events(sink)
    assert [(e.channel, e.pitch, e.dx) for e in sent] == [(3, None, 0.0)] * 2
    assert [e.dy for e in sent] == pytest.approx([((96 - 64) / 63) ** 2] * 2)


def test_midi_inputs_give_every_port_the_configured_expression():
    from gansynth_live.inputs.midi_ports import MidiInputs

    expression = Expression(slide_axis="x", pressure_axis="y", depth=0.5, curve="exp")
    inputs = MidiInputs(RecordingSink(), CCMap(), report=lambda text: None,
                        expression=expression)
    assert inputs._translator("keys").expression is expression
    assert MidiInputs(RecordingSink(), CCMap())._translator("keys").expression == Expression()
