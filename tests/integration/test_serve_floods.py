"""Floods: 10,000 MIDI messages a second for 10 s through JACK MIDI, 100,000 malformed OSC
packets over UDP. Afterwards the session still answers and nothing is left sounding."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from osc_peer import OscPeer
from serve_testing import MidiSender, open_session, wait_until

pytestmark = [pytest.mark.jack, pytest.mark.slow]

MIDI_RATE = 10_000  # messages per second
MIDI_SECONDS = 10.0
OSC_PACKETS = 100_000


@pytest.fixture
def session(jack_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", midi_in=["test-flood"])
    yield session
    session.close()


def flood_chunk(rng: np.random.Generator, n: int) -> list[list[int]]:
    """n messages: note on/off pairs (every on gets its off), mod wheel, bend, pedal."""
    messages: list[list[int]] = []
    while len(messages) < n:
        kind = rng.integers(0, 10)
        channel = int(rng.integers(0, 4))
        if kind < 6:
            pitch = int(rng.integers(40, 90))
            messages.append([0x90 | channel, pitch, int(rng.integers(1, 128))])
            messages.append([0x80 | channel, pitch, 0])
        elif kind < 8:
            messages.append([0xB0 | channel, 1, int(rng.integers(0, 128))])  # morph x
        elif kind < 9:
            value = int(rng.integers(0, 16384))
            messages.append([0xE0 | channel, value & 0x7F, value >> 7])
        else:
            messages.append([0xB0 | channel, 64, 127])  # pedal down ... and up again
            messages.append([0xB0 | channel, 64, 0])
    return messages[:n] if messages[n - 1][0] & 0xF0 != 0x90 else messages[:n + 1]


def test_midi_flood_leaves_no_stuck_note_and_the_session_answers(session):
    sender = MidiSender("test-flood")
    wait_until(lambda: session.midi.open_count == 2, 5, "the flood port to open")
    rng = np.random.default_rng(7)
    chunks = [flood_chunk(rng, MIDI_RATE // 100) for _ in range(int(MIDI_SECONDS * 100))]
    sent = sender.send_paced(chunks)  # 100 chunks a second
    try:
        assert sent >= MIDI_RATE * MIDI_SECONDS
        wait_until(lambda: session.midi.messages >= sent, 120, "the reader to drain the flood")
        assert session.midi.messages == sent and session.midi.bad_messages == 0
        engine = session.engine
        wait_until(lambda: engine.stats().voices_active == 0, 15, "every voice to end")
        stats = engine.stats()
        assert stats.notes_started > 10_000 and stats.callback_errors == 0
        # still playing and answering
        peer = OscPeer(session.osc.port)
        peer.send("/ping")
        assert ("/pong", []) in peer.receive(1.0)
        sender.send(0x90, 69, 100)
        wait_until(lambda: engine.stats().voices_sounding == 1, 5, "a note after the flood")
        sender.send(0x80, 69, 0)
        wait_until(lambda: engine.stats().voices_active == 0, 5, "its release")
        peer.close()
    finally:
        sender.close()
    print(f"\nMIDI flood: {sent} messages in {MIDI_SECONDS:.0f} s, "
          f"{stats.notes_started} notes started, {stats.notes_refused} refused by the "
          f"voice allocator, {stats.events_refused} events refused by the queue, "
          f"{stats.voices_stolen} voices stolen, xruns {stats.xruns}")


def malformed_packets(n: int, seed: int = 3) -> list[bytes]:
    """n datagrams, each malformed in one way: it yields exactly one bad count."""
    rng = np.random.default_rng(seed)

    def msg(address, *args):
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        return builder.build().dgram

    note = msg("/note", 60, 100)
    packets = []
    for i in range(n):
        kind = i % 12
        if kind == 0:  # random bytes that are neither a message nor a bundle
            data = rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8).tobytes()
            packets.append(b"\x01" + data)
        elif kind == 1:
            packets.append(msg("/morph/xy", float("nan"), 0.5))
        elif kind == 2:
            packets.append(msg("/note", "sixty", "loud"))
        elif kind == 3:  # a huge string (one packet in 100), else a long one
            size = 30_000 if i % 1200 == 3 else 300
            packets.append(msg("/preset", "x" * size))
        elif kind == 4:
            packets.append(msg(f"/x/{int(rng.integers(1e9))}", 1.0))
        elif kind == 5:  # truncated: the second int is missing
            packets.append(note[:-4])
        elif kind == 6:
            packets.append(msg("/note", 60, 100, 1, 2, 3))
        elif kind == 7:
            packets.append(msg("/zz*/q?", 1))
        elif kind == 8:
            packets.append(b"#bundle\x00" + rng.integers(0, 256, 20, dtype=np.uint8).tobytes())
        elif kind == 9:
            packets.append(msg("/volume", float("inf")))
        elif kind == 10:
            packets.append(msg("/note", 128, 100))
        else:
            packets.append(msg("/morph/xy", 2.0, -1.0))
    return packets


def test_osc_flood_of_malformed_packets(session):
    engine, osc = session.engine, session.osc
    packets = malformed_packets(OSC_PACKETS)
    peer = OscPeer(osc.port)
    before = osc.stats()
    try:
        for i, data in enumerate(packets):
            peer.raw(data)
            if i % 2000 == 1999:  # let the server keep up, so most packets are examined
                deadline = time.monotonic() + 2.0
                while osc.packets - before.packets < i - 2000 and time.monotonic() < deadline:
                    time.sleep(0.002)
        last = -1
        while osc.packets != last:  # until the server has taken everything that arrived
            last = osc.packets
            time.sleep(0.3)
        after = osc.stats()
        received = after.packets - before.packets
        bad = after.bad_total - before.bad_total
        assert 0 < received <= OSC_PACKETS
        assert bad == received  # every packet that arrived was counted as bad
        assert after.handler_errors == 0 and after.refused == before.refused
        peer.send("/ping")
        assert ("/pong", []) in peer.receive(1.0)
        peer.send("/note", 64, 100)
        wait_until(lambda: engine.stats().voices_sounding == 1, 5, "a valid note")
        peer.send("/note", 64, 0)
        wait_until(lambda: engine.stats().voices_active == 0, 5, "its release")
    finally:
        peer.close()
    print(f"\nOSC flood: {OSC_PACKETS} sent, {received} received (UDP dropped "
          f"{OSC_PACKETS - received}), {after.bad_packets - before.bad_packets} unparsable, "
          f"{after.bad_messages - before.bad_messages} bad messages")


@pytest.fixture
def web_session(jack_server, tmp_path, monkeypatch):
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    session, out = open_session(tmp_path, preset="duo", morph=[0.3, 0.6], web_port=0,
                                midi_in=["test-web-flood"])
    yield session
    session.close()


def test_a_flooding_web_page_stalls_neither_the_audio_nor_midi(web_session):
    """One page sends frames as fast as its socket takes them (moves and bad JSON) for 5 s
    while a keyboard plays 1,000 MIDI messages a second: every MIDI message arrives, the
    audio clock keeps pace with the wall clock, and both ends still answer afterwards."""
    import json

    from websockets.sync.client import connect

    session = web_session
    engine = session.engine
    sender = MidiSender("test-web-flood")
    wait_until(lambda: session.midi.open_count == 2, 5, "the keyboard port to open")
    url = f"ws://127.0.0.1:{session.web.port}/ws"
    stop = threading.Event()
    flooded = 0

    def flood():
        nonlocal flooded
        rng = np.random.default_rng(5)
        with connect(url, open_timeout=5) as ws:
            while not stop.is_set():
                if flooded % 4 == 3:
                    ws.send("{not json")
                else:
                    ws.send(json.dumps({"address": "/morph/xy",
                                        "args": [float(rng.random()), float(rng.random())]}))
                flooded += 1

    flooder = threading.Thread(target=flood)
    frames0, wall0 = engine.stats().frames, time.monotonic()
    flooder.start()
    sent = 0
    rng = np.random.default_rng(9)
    try:
        for i in range(500):  # 5 s, 2 messages every 10 ms
            delay = wall0 + i / 100.0 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pitch = int(rng.integers(48, 84))
            sender.send(0x90, pitch, 100)
            sender.send(0x80, pitch, 0)
            sent += 2
        frames1, wall1 = engine.stats().frames, time.monotonic()  # the flood still going
    finally:
        stop.set()
        flooder.join(60)
    try:
        audio_s = (frames1 - frames0) / engine.sample_rate
        assert audio_s > 0.9 * (wall1 - wall0), \
            f"the audio clock fell behind: {audio_s:.2f} s of audio in {wall1 - wall0:.2f} s"
        wait_until(lambda: session.midi.messages >= sent, 30, "every MIDI message")
        assert session.midi.messages == sent and session.midi.bad_messages == 0
        wait_until(lambda: engine.stats().voices_active == 0, 15, "every voice to end")
        assert engine.stats().notes_started >= 250
        stats = session.web.stats()
        assert stats.bad_json > 0 and stats.paced > 0  # the flood was real and was paced
        with connect(url, open_timeout=5) as ws:  # the surface still answers
            ws.send(json.dumps({"address": "/ping", "args": []}))
            deadline = time.monotonic() + 10
            answered = False
            while not answered and time.monotonic() < deadline:
                answered = "/pong" in ws.recv(timeout=10)
            assert answered
    finally:
        sender.close()
    print(f"\nweb flood: {flooded} frames in {wall1 - wall0:.1f} s ({stats.paced} paced), "
          f"{sent} MIDI messages all received, audio {audio_s:.2f} s, xruns "
          f"{engine.stats().xruns}")
