"""MIDI into a live session over JACK MIDI, out as sound captured by a second JACK client.

Each test runs twice: serve through PortAudio with RtMidi's JACK MIDI client, and
serve --jack (the engine a JACK client of its own, MIDI read in its process callback)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from jack_capture import JackCapture
from serve_testing import RATE, MidiSender, open_session, output_client, wait_until
from tone_model import peak_hz

pytestmark = pytest.mark.jack


@pytest.fixture(params=["portaudio", "jack"])
def session(jack_server, tmp_path, monkeypatch, request):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="fund", midi_in=["test-keys"],
                                jack=request.param == "jack")
    yield session, out
    session.close()


def rms(x):
    return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0


def test_note_through_the_virtual_port_comes_out_at_its_pitch(session):
    session, _ = session
    sender = MidiSender("test-daw")
    try:
        sender.connect_to(session.midi.virtual_port_name())
        with JackCapture(3.0) as capture:
            capture.connect(output_client(session))
            capture.start()
            time.sleep(0.3)
            sender.send(0x90, 69, 110)  # note on, A4
            time.sleep(1.0)
            sender.send(0x80, 69, 0)
            time.sleep(0.7)
            audio = capture.stop()
    finally:
        sender.close()
    assert session.midi.messages == 2 and session.midi.bad_messages == 0
    assert rms(audio[:int(0.25 * RATE)]) < 1e-4  # silence before the note
    sounding = audio[int(0.7 * RATE):int(1.25 * RATE)]
    assert rms(sounding) > 0.01
    assert peak_hz(sounding) == pytest.approx(440.0, abs=1.0)
    assert rms(audio[-int(0.3 * RATE):]) < 1e-4  # released, nothing left
    assert session.engine.stats().voices_active == 0


def test_named_port_vanishing_releases_its_notes_and_reopens(session):
    session, out = session
    keys = MidiSender("test-keys")
    wait_until(lambda: session.midi.open_count == 2, 5, "the keyboard port to open")
    keys.send(0x90, 60, 100)
    keys.send(0x90, 64, 100)
    wait_until(lambda: session.engine.stats().voices_sounding == 2, 5, "two voices")
    keys.close()  # unplugged with two keys down
    wait_until(lambda: session.engine.stats().voices_active == 0, 5, "the held notes to stop")
    assert "disappeared; released 2 note(s)" in out.getvalue()
    keys = MidiSender("test-keys")  # plugged back in
    try:
        wait_until(lambda: "is back" in out.getvalue(), 5, "the port to be reopened")
        keys.send(0x90, 67, 100)
        wait_until(lambda: session.engine.stats().voices_sounding == 1, 5, "a new note")
        keys.send(0x80, 67, 0)
        wait_until(lambda: session.engine.stats().voices_active == 0, 5, "its release")
    finally:
        keys.close()


def test_sustain_pedal_and_all_notes_off_over_midi(session):
    session, _ = session
    keys = MidiSender("test-keys")
    try:
        wait_until(lambda: session.midi.open_count == 2, 5, "the keyboard port to open")
        engine = session.engine
        keys.send(0xB0, 64, 127)  # pedal down
        for pitch in (60, 64, 67):
            keys.send(0x90, pitch, 100)
            keys.send(0x80, pitch, 0)
        time.sleep(0.5)  # ten times the preset's 50 ms release: only the pedal holds them
        assert engine.stats().voices_sounding == 3
        keys.send(0xB0, 64, 0)
        wait_until(lambda: engine.stats().voices_active == 0, 5, "pedal release")
        for pitch in (48, 55, 62, 69):
            keys.send(0x90, pitch, 90)  # held, never released by a key
        wait_until(lambda: engine.stats().voices_sounding == 4, 5, "four voices")
        keys.send(0xB0, 123, 0)  # all notes off
        wait_until(lambda: engine.stats().voices_active == 0, 5, "all notes off")
    finally:
        keys.close()
