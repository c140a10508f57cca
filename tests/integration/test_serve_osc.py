"""An OSC client on 127.0.0.1 playing a live session: morph while a note sounds, feedback."""

from __future__ import annotations

import time

import pytest
from jack_capture import JackCapture
from osc_peer import OscPeer
from serve_testing import RATE, open_session, wait_until
from tone_model import band_energy

pytestmark = pytest.mark.jack


@pytest.fixture
def session(jack_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", morph=[0.0, 0.5], midi=False)
    yield session
    session.close()


def test_osc_morph_moves_a_sounding_note_and_feedback_shows_the_truth(session):
    player, surface = OscPeer(session.osc.port), OscPeer(session.osc.port)
    try:
        surface.send("/register")
        first = dict(surface.receive())
        assert first["/preset/name"] == ["duo"]
        assert first["/corner/1/name"] == ["fund"] and first["/corner/2/name"] == ["oct"]
        assert first["/bank/progress"] == [1.0] and first["/morph/xy"] == [0.0, 0.5]
        with JackCapture(3.0) as capture:
            capture.connect("PortAudio")
            capture.start()
            player.send("/note", 69, 110)
            time.sleep(1.0)
            moved_at = capture.frames
            player.send("/morph/x", 1.0)  # a TouchOSC fader would send a float
            time.sleep(1.0)
            player.send("/note", 69, 0)
            time.sleep(0.5)
            audio = capture.stop()
        before = audio[moved_at - int(0.5 * RATE):moved_at]
        after = audio[moved_at + int(0.3 * RATE):moved_at + int(0.9 * RATE)]
        assert band_energy(before, 440.0) > 100 * band_energy(before, 880.0)
        assert band_energy(after, 880.0) > 100 * band_energy(after, 440.0)
        assert session.engine.stats().notes_started == 1  # the same note, morphed
        feedback = dict(surface.receive(0.5))
        assert feedback["/morph/xy"] == [1.0, 0.5] and feedback["/morph/x"] == [1.0]
        wait_until(lambda: session.engine.stats().voices_active == 0, 5, "release")
        assert session.osc.stats().bad_total == 0
    finally:
        player.close()
        surface.close()


def test_osc_corners_presets_volume_and_record(session, tmp_path):
    peer = OscPeer(session.osc.port)
    try:
        peer.send("/register")
        peer.receive()
        peer.send("/corner/2/preset", "fund")
        peer.send("/volume", 0.25)
        peer.send("/envelope/release", 1.5)
        peer.send("/record", "start")
        peer.send("/note", 60, 100)
        time.sleep(0.5)
        peer.send("/note/off", 60)
        peer.send("/record", 0)
        got = peer.state()  # everything, also what this client set itself
        assert got["/corner/2/name"] == ["fund"] and got["/record"] == [0]
        assert got["/envelope/release"] == [1.5] and got["/volume"] == [0.25]
        recordings = list((tmp_path / "rec").glob("*.wav"))
        assert len(recordings) == 1
        import soundfile as sf

        data, rate = sf.read(recordings[0])
        assert rate == RATE and abs(data).max() > 0.005
        peer.send("/preset", "no such preset")
        peer.send("/corner/4/random")  # 'duo' has two corners
        peer.send("/corner/2/random")
        errors = [p[0] for a, p in peer.receive(0.5) if a == "/error"]
        assert "no preset named" in errors[0] and "corners 1..2" in errors[1]
        assert session.instrument.state().corners[1].startswith("random ")
        assert session.osc.stats().refused == 2
    finally:
        peer.close()


def test_named_notes_bend_and_move_on_their_own_over_osc(session):
    """/mnote with ids, then /ne/pitch and /ne/morph: one note of two moves (Surge XT's
    convention), heard through JACK."""
    player = OscPeer(session.osc.port)
    try:
        with JackCapture(3.0) as capture:
            capture.connect("PortAudio")
            capture.start()
            player.send("/mnote", 57, 110, 1)  # A3 and E4 on the pad's x = 0 (fund)
            player.send("/mnote", 64, 110, 2)
            time.sleep(0.8)
            moved_at = capture.frames
            player.send("/ne/pitch", 1, 12.0)  # A3 -> A4, its own bend
            player.send("/ne/morph", 2, 1.0, 0.0)  # E4 -> x = 1 (oct): 659 -> 1319 Hz
            time.sleep(1.0)
            player.send("/mnote/rel", 57, 1)
            player.send("/mnote", 64, 0, 2)
            time.sleep(0.6)
            audio = capture.stop()
        before = audio[moved_at - int(0.5 * RATE):moved_at]
        after = audio[moved_at + int(0.3 * RATE):moved_at + int(0.9 * RATE)]
        assert band_energy(before, 220.0) > 10 * band_energy(before, 440.0)
        assert band_energy(after, 440.0) > 10 * band_energy(after, 220.0)  # A3 bent up
        assert band_energy(before, 329.63) > 10 * band_energy(before, 659.26)
        assert band_energy(after, 659.26) > 10 * band_energy(after, 329.63)  # E4 moved
        wait_until(lambda: session.engine.stats().voices_active == 0, 5, "both released")
        assert len(session.instrument.note_ids) == 0 and session.osc.stats().bad_total == 0
    finally:
        player.close()


def test_oscquery_lists_what_osc_takes_with_the_sessions_values(jack_server, tmp_path,
                                                                monkeypatch):
    import json
    import re
    import urllib.request

    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", morph=[0.0, 0.5], midi=False,
                                oscquery_port=0)
    player = OscPeer(session.osc.port)
    try:
        found = re.search(r"OSCQuery: (http://127\.0\.0\.1:\d+/) \(OSC port (\d+)\)",
                          out.getvalue())
        assert found and int(found.group(2)) == session.osc.port, out.getvalue()

        def get(path: str) -> dict:
            with urllib.request.urlopen(found.group(1).rstrip("/") + path, timeout=5) as r:
                return json.loads(r.read())

        assert get("/?HOST_INFO")["OSC_PORT"] == session.osc.port
        assert get("/morph/xy?VALUE") == {"VALUE": [0.0, 0.5]}
        assert get("/preset/name?VALUE") == {"VALUE": ["duo"]}
        player.send("/morph/xy", 0.25, 1.0)  # over OSC: OSCQuery shows the new value
        wait_until(lambda: get("/morph/xy?VALUE") == {"VALUE": [0.25, 1.0]}, 5, "the value")
    finally:
        player.close()
        session.close()
    assert session.oscquery is None  # closed with the session
