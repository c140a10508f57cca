"""Events validate on construction and name the field that is wrong."""

import pytest

from gansynth_live.events import (AllNotesOff, AllSoundOff, NoteOff, NoteOn, PitchBend, SetEnvelope,
                                  SetMasterGain, SustainPedal, is_critical)


@pytest.mark.parametrize("make, field", [
    (lambda: NoteOn(128, 100), "pitch"),
    (lambda: NoteOn(60, 0), "velocity"),
    (lambda: NoteOn(60, 100, channel=16), "channel"),
    (lambda: NoteOn(60.0, 100), "pitch"),
    (lambda: NoteOff(-1), "pitch"),
    (lambda: PitchBend(1.5), "value"),
    (lambda: PitchBend(float("nan")), "value"),
    (lambda: SetMasterGain(-0.1), "gain"),
    (lambda: SetEnvelope(0.01, 0.1, 1.2, 0.1), "sustain"),
    (lambda: SustainPedal(1), "on"),
])
def test_bad_fields_are_named(make, field):
    with pytest.raises(ValueError, match=field):
        make()


def test_events_are_frozen_and_hashable():
    event = NoteOn(60, 100)
    with pytest.raises(AttributeError):
        event.pitch = 61
    assert {event, NoteOn(60, 100)} == {event}


def test_pitch_bend_from_midi_maps_the_14_bit_range():
    assert PitchBend.from_midi(8192).value == 0.0
    assert PitchBend.from_midi(0).value == -1.0
    assert PitchBend.from_midi(16383).value == pytest.approx(1.0, abs=2e-4)
    with pytest.raises(ValueError, match="raw14"):
        PitchBend.from_midi(16384)


def test_critical_events_are_the_ones_that_end_notes():
    assert is_critical(NoteOff(60))
    assert is_critical(SustainPedal(False))
    assert is_critical(AllNotesOff()) and is_critical(AllSoundOff())
    assert not is_critical(NoteOn(60)) and not is_critical(SustainPedal(True))
