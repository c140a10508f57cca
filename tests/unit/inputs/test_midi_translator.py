"""MIDI messages -> sink calls: notes, pedals, sostenuto, panic, bend, programs, filters.

The sink here records calls, to check the translator's own bookkeeping
message by message; tests/unit/live/test_instrument_notes.py runs the same
translator into a real engine and checks what sounds.
"""

from __future__ import annotations

import mido
import pytest

from midi_sink import RecordingSink

from gansynth_live.events import AllNotesOff, AllSoundOff, PitchBend, SustainPedal
from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi import MidiTranslator


def msg(kind, **kw):
    return mido.Message(kind, **kw)


@pytest.fixture
def sink():
    return RecordingSink()


@pytest.fixture
def tr(sink):
    return MidiTranslator(sink, CCMap())


def test_note_on_velocity_zero_is_note_off(tr, sink):
    tr.handle(msg("note_on", note=60, velocity=90, channel=2))
    tr.handle(msg("note_on", note=60, velocity=0, channel=2))
    tr.handle(msg("note_off", note=61, velocity=40))
    assert sink.calls == [("on", 60, 90, 2), ("off", 60, 2), ("off", 61, 0)]


def test_sustain_goes_to_the_engine(tr, sink):
    tr.handle(msg("control_change", control=64, value=127, channel=1))
    tr.handle(msg("control_change", control=64, value=10, channel=1))
    assert sink.calls == [("event", SustainPedal(True, 1)), ("event", SustainPedal(False, 1))]


def test_sostenuto_holds_only_notes_down_when_pressed(tr, sink):
    tr.handle(msg("note_on", note=60, velocity=100))
    tr.handle(msg("control_change", control=66, value=127))
    tr.handle(msg("note_on", note=64, velocity=100))  # struck after: not held
    tr.handle(msg("note_off", note=60))
    tr.handle(msg("note_off", note=64))
    assert ("off", 60, 0) not in sink.calls and ("off", 64, 0) in sink.calls
    tr.handle(msg("control_change", control=66, value=0))
    assert sink.calls[-1] == ("off", 60, 0)


def test_sostenuto_does_not_release_a_key_still_down(tr, sink):
    tr.handle(msg("note_on", note=60, velocity=100))
    tr.handle(msg("control_change", control=66, value=127))
    tr.handle(msg("control_change", control=66, value=0))
    assert ("off", 60, 0) not in sink.calls
    tr.handle(msg("note_off", note=60))
    assert sink.calls[-1] == ("off", 60, 0)


def test_panic_messages(tr, sink):
    tr.handle(msg("control_change", control=123, value=0, channel=3))
    tr.handle(msg("control_change", control=120, value=0, channel=3))
    tr.handle(msg("control_change", control=125, value=0, channel=4))  # omni on: all notes off
    assert sink.calls == [("event", AllNotesOff(3)), ("event", AllSoundOff()),
                          ("event", AllNotesOff(4))]


def test_reset_controllers_centres_bend_and_lifts_pedals(tr, sink):
    tr.handle(msg("note_on", note=60, velocity=100))
    tr.handle(msg("control_change", control=64, value=127))
    tr.handle(msg("control_change", control=66, value=127))
    tr.handle(msg("note_off", note=60))
    sink.calls.clear()
    tr.handle(msg("control_change", control=121, value=0))
    assert ("event", PitchBend(0.0, 0)) in sink.calls
    assert ("event", SustainPedal(False, 0)) in sink.calls
    assert ("off", 60, 0) in sink.calls  # sostenuto released it


def test_pitch_bend_and_program_and_morph_controllers(tr, sink):
    tr.handle(msg("pitchwheel", pitch=8191, channel=5))
    tr.handle(msg("pitchwheel", pitch=-8192, channel=5))
    tr.handle(msg("program_change", program=7))
    tr.handle(msg("control_change", control=1, value=127))
    tr.handle(msg("control_change", control=2, value=0))
    tr.handle(msg("control_change", control=7, value=100))  # unmapped: nothing
    bends = [c[1] for c in sink.calls if c[0] == "event"]
    assert bends[0].value == pytest.approx(8191 / 8192) and bends[1].value == -1.0
    assert ("program", 7) in sink.calls
    assert ("morph", 1.0, None) in sink.calls and ("morph", None, 0.0) in sink.calls
    assert len(sink.calls) == 5


def test_channel_filter_and_ignored_types(sink):
    tr = MidiTranslator(sink, CCMap(), channels=frozenset({0, 9}))
    tr.handle(msg("note_on", note=60, velocity=100, channel=1))
    tr.handle(msg("note_on", note=62, velocity=100, channel=9))
    tr.handle(msg("aftertouch", value=3))
    tr.handle(msg("clock"))
    assert sink.calls == [("on", 62, 100, 9)]
    assert tr.filtered == 1 and tr.ignored == 2 and tr.handled == 1


def test_release_all_frees_exactly_this_ports_notes(tr, sink):
    tr.handle(msg("note_on", note=60, velocity=100))
    tr.handle(msg("note_on", note=67, velocity=100, channel=2))
    tr.handle(msg("note_on", note=64, velocity=100))
    tr.handle(msg("note_off", note=64))
    tr.handle(msg("control_change", control=64, value=127, channel=2))
    sink.calls.clear()
    assert tr.release_all() == 2
    assert sorted(c for c in sink.calls if c[0] == "off") == [("off", 60, 0), ("off", 67, 2)]
    assert ("event", SustainPedal(False, 2)) in sink.calls
    sink.calls.clear()
    assert tr.release_all() == 0 and sink.calls == []


def test_refused_note_on_is_not_remembered_as_sounding():
    sink = RecordingSink(accept=False)
    tr = MidiTranslator(sink, CCMap())
    tr.handle(msg("note_on", note=60, velocity=100))
    assert tr.release_all() == 0
