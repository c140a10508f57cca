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
    tr.handle(cc(74, 127, 9))  # outside the zone's channels? none here: all 15 are members
    assert events(sink) == [SetExpression(9, None, 0.5, 0.0)]


def test_cc74_outside_a_zone_is_an_ordinary_controller(sink):
    tr = MidiTranslator(sink, CCMap(x_cc=74, y_cc=None), zones=(MpeZone(0, 3),))
    sink.calls.clear()
    tr.handle(cc(74, 127, 6))  # channel 7: in no zone, so morph x (learned here)
    assert sink.calls == [("morph", 1.0, None)]


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


def note(pitch, channel, velocity=100):
    return mido.Message("note_on", note=pitch, velocity=velocity, channel=channel)


def zone_translator(sink, members=3):
    tr = MidiTranslator(sink, CCMap(x_cc=None, y_cc=None), zones=(MpeZone(0, members),),
                        expression=Expression(slide_axis="y", pressure_axis="x", depth=0.25))
    return tr


def test_the_masters_slide_and_pressure_add_to_every_note_of_the_zone(sink):
    tr = zone_translator(sink)
    tr.handle(cc(74, 127, 1))  # member 1's own slide: y + 0.25
    tr.handle(note(60, 1))
    tr.handle(note(64, 2))
    tr.handle(note(67, 0))  # a note on the master channel is in the zone too
    sink.calls.clear()
    tr.handle(cc(74, 0, 0))  # the zone's slide: y - 0.25 for every note
    assert events(sink) == [SetExpression(0, None, 0.0, -0.25), SetExpression(1, None, 0.0, 0.0),
                            SetExpression(2, None, 0.0, -0.25)]  # member 3 is idle: not yet
    sink.calls.clear()
    tr.handle(mido.Message("aftertouch", value=127, channel=0))  # the zone's pressure: x
    assert events(sink) == [SetExpression(0, None, 0.25, -0.25),
                            SetExpression(1, None, 0.25, 0.0),
                            SetExpression(2, None, 0.25, -0.25)]
    assert tr.ignored == 0
    sink.calls.clear()
    tr.handle(note(72, 3))  # the idle member's first note starts at the zone's offset
    assert sink.calls == [("event", SetExpression(3, None, 0.25, -0.25)), ("on", 72, 100, 3)]
    sink.calls.clear()
    tr.handle(mido.Message("aftertouch", value=127, channel=2))  # a member's own: both add
    assert events(sink) == [SetExpression(2, None, 0.5, -0.25)]


def test_the_zone_offset_and_a_notes_own_add_up_within_the_pad(sink):
    tr = zone_translator(sink)
    tr.handle(note(60, 1))
    tr.handle(mido.Message("aftertouch", value=127, channel=1))
    tr.handle(cc(74, 127, 1))
    sink.calls.clear()
    tr.handle(cc(74, 127, 0))
    tr.handle(mido.Message("aftertouch", value=127, channel=0))
    assert events(sink)[-1] == SetExpression(1, None, 0.5, 0.5)  # (0.25, 0.25) twice
    full = MidiTranslator(sink, CCMap(), zones=(MpeZone(0, 3),), expression=Expression(depth=1.0))
    for m in (note(60, 1), cc(74, 127, 1), cc(74, 127, 0)):
        full.handle(m)
    assert events(sink)[-1] == SetExpression(1, None, 0.0, 1.0)  # 1 + 1, clamped


def test_notes_held_by_the_masters_pedal_still_follow_the_zone(sink):
    tr = zone_translator(sink)
    tr.handle(note(60, 1))
    tr.handle(cc(64, 127, 0))  # the master's pedal holds the zone
    tr.handle(mido.Message("note_off", note=60, channel=1))
    sink.calls.clear()
    tr.handle(cc(74, 127, 0))
    assert SetExpression(1, None, 0.0, 0.25) in events(sink)
    tr.handle(cc(64, 0, 0))
    sink.calls.clear()
    tr.handle(cc(74, 0, 0))  # pedal up, nothing held: the member waits for its next note
    assert events(sink) == [SetExpression(0, None, 0.0, -0.25)]


def test_poly_aftertouch_on_the_master_adds_to_the_zone_and_keeps_its_own(sink):
    tr = zone_translator(sink)
    tr.handle(note(60, 0))
    tr.handle(note(64, 0))
    tr.handle(mido.Message("polytouch", note=64, value=127, channel=0))
    sink.calls.clear()
    tr.handle(cc(74, 127, 0))  # the zone's slide moves both, key 64 keeps its pressure
    assert events(sink)[:1] + events(sink)[-1:] == [SetExpression(0, None, 0.0, 0.25),
                                                    SetExpression(0, 64, 0.25, 0.25)]
    sink.calls.clear()
    tr.handle(note(64, 0))  # struck again: a new note, unpressed, at the channel's offset
    tr.handle(cc(74, 0, 0))
    assert SetExpression(0, 64, 0.0, -0.25) not in events(sink)
    assert events(sink)[0] == SetExpression(0, None, 0.0, -0.25)


def test_a_configuration_message_resets_the_zones_controls(sink):
    tr = zone_translator(sink, members=15)
    for m in (note(60, 1), cc(74, 127, 1), note(62, 9), cc(74, 127, 9), cc(74, 32, 0),
              note(64, 12)):  # member 13 sounds with the zone's offset alone
        tr.handle(m)
    assert [SetExpression(ch, None, 0.0, dy) for ch, dy in ((1, 0.125), (9, 0.125))] == \
        [e for e in events(sink) if isinstance(e, SetExpression)][-3:-1]
    sink.calls.clear()
    for m in rpn(0, 6, 7, 0):  # the zone shrinks to members 2..8: 10 and 13 leave it
        tr.handle(m)
    reset = [e for e in events(sink) if isinstance(e, SetExpression)]
    assert reset == [SetExpression(ch, None, 0.0, 0.0) for ch in (0, 1, 9, 12)]
    assert not tr.slide.any() and not tr.sent.any()
    sink.calls.clear()
    tr.handle(cc(74, 127, 9))  # channel 10 is in no zone now: an ordinary controller
    tr.handle(mido.Message("aftertouch", value=100, channel=9))
    assert events(sink) == [] and tr.ignored == 1


def test_the_zones_slide_reaches_the_engine_on_top_of_each_notes_own():
    """Through the engine: the master's slide moves a sliding note and a plain one alike."""
    from gansynth_live.banks.bank import BankLayers
    from gansynth_live.engine import Engine, EngineConfig, render_with_engine
    from gansynth_live.engine.synthetic import synthetic_bank
    from gansynth_live.inputs.engine_sink import EngineSink

    fundamental = synthetic_bank(range(57, 66), 48000, harmonics=1, latent_id="fundamental")
    octave = synthetic_bank(range(57, 66), 48000, harmonics=1, harmonic_offset=1,
                            latent_id="octave")
    cell = BankLayers((fundamental, octave), (0.5, 0.5), ((0.0, 0.0), (0.0, 1.0)), (0.0, 0.5))
    engine = Engine(EngineConfig(morph_glide_s=0.01))
    engine.set_layers(cell)

    tr = zone_translator(EngineSink(engine))
    for m in (cc(74, 127, 1), note(60, 1), note(64, 2)):  # 60: y 0.75; 64: the pad's 0.5
        tr.handle(m)
    render_with_engine(engine, [], 0.05)
    v = engine.renderer.voices

    def octave_weight(channel):
        return float(v.w_cur[1, v.active & (v.channel == channel)][0])

    assert (octave_weight(1), octave_weight(2)) == pytest.approx((0.75, 0.5))
    tr.handle(cc(74, 0, 0))  # the zone: y - 0.25
    render_with_engine(engine, [], 0.05)
    assert (octave_weight(1), octave_weight(2)) == pytest.approx((0.5, 0.25))
