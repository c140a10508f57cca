"""Notes through the MIDI translator into the instrument and a real engine: what sounds."""

from __future__ import annotations

import mido
import numpy as np
import pytest
from instrument_testing import render, wait_playable
from tone_model import band_energy, peak_hz

from gansynth_live.inputs.midi import MidiTranslator


def msg(kind, **kw):
    return mido.Message(kind, **kw)


@pytest.fixture
def played(make_instrument, engine):
    instrument = make_instrument("fund")
    wait_playable(instrument)
    render(engine, 0.05)  # adopt the layers
    return instrument, MidiTranslator(instrument, instrument.cc_map), engine


def test_note_sounds_at_its_pitch(played):
    instrument, tr, engine = played
    tr.handle(msg("note_on", note=69, velocity=110))
    audio = render(engine, 0.6)
    assert np.abs(audio).max() > 0.05
    assert peak_hz(audio[4800:]) == pytest.approx(440.0, abs=1.5)
    tr.handle(msg("note_off", note=69))
    render(engine, 0.5)
    assert engine.stats().voices_active == 0


def test_sustain_pedal_holds_then_releases_everything(played):
    instrument, tr, engine = played
    tr.handle(msg("control_change", control=64, value=127))
    for pitch in (60, 64, 67):
        tr.handle(msg("note_on", note=pitch, velocity=100))
    render(engine, 0.2)
    for pitch in (60, 64, 67):
        tr.handle(msg("note_off", note=pitch))
    held = render(engine, 0.5)  # far longer than the 50 ms release: only the pedal holds them
    assert engine.stats().voices_sounding == 3
    assert np.sqrt(np.mean(held[-4800:] ** 2)) > 0.01
    tr.handle(msg("control_change", control=64, value=0))
    tail = render(engine, 0.5)
    assert engine.stats().voices_active == 0
    assert np.abs(tail[-4800:]).max() < 1e-4


@pytest.mark.parametrize("control", [123, 120])
def test_all_notes_off_and_all_sound_off_leave_no_voice(played, control):
    instrument, tr, engine = played
    tr.handle(msg("control_change", control=64, value=127, channel=3))
    for pitch in range(57, 73, 2):
        tr.handle(msg("note_on", note=pitch, velocity=90, channel=3))
    render(engine, 0.2)
    assert engine.stats().voices_sounding == 8
    tr.handle(msg("control_change", control=control, value=0, channel=3))
    tail = render(engine, 0.5)
    assert engine.stats().voices_active == 0
    assert np.abs(tail[-4800:]).max() < 1e-4
    tr.handle(msg("note_on", note=60, velocity=90, channel=3))  # the pedal was lifted too
    tr.handle(msg("note_off", note=60, channel=3))
    render(engine, 0.3)
    assert engine.stats().voices_active == 0


def test_port_loss_releases_its_notes_only(played):
    instrument, tr, engine = played
    other = MidiTranslator(instrument, instrument.cc_map, name="other")
    tr.handle(msg("note_on", note=60, velocity=100))
    tr.handle(msg("note_on", note=62, velocity=100))
    other.handle(msg("note_on", note=67, velocity=100))
    render(engine, 0.1)
    assert tr.release_all() == 2
    audio = render(engine, 0.6)
    assert engine.stats().voices_sounding == 1
    assert peak_hz(audio[-9600:]) == pytest.approx(440.0 * 2 ** (-2 / 12), abs=1.5)


def test_morph_moves_the_timbre_of_sounding_notes(make_instrument, engine):
    instrument = make_instrument("duo")  # x=0: fundamental, x=1: octave
    instrument.set_morph(x=0.0, y=0.0)
    wait_playable(instrument)
    render(engine, 0.05)
    instrument.note_on(69, 110)
    before = render(engine, 0.5)[2400:]
    assert band_energy(before, 440.0) > 100 * band_energy(before, 880.0)
    instrument.set_morph(x=1.0)
    wait_playable(instrument)
    after = render(engine, 0.5)[4800:]  # the same note, still held
    assert band_energy(after, 880.0) > 100 * band_energy(after, 440.0)
    assert engine.stats().notes_started == 1
