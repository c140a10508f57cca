"""MPE into a live session over JACK MIDI (issue 19): zones, per-note bend, per-note timbre.

A second JACK client plays the controller (`MidiSender` on the virtual port) and a third
records what comes out (`JackCapture`). The tone model makes pitch and timbre measurable:
in the morph square 'rise' (tone_model.write_tone_square) a note is the fundamental at
y = 0 and the octave at y = 1, so where its own y is shows as its spectral centroid.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from jack_capture import JackCapture
from serve_testing import RATE, MidiSender, open_session, wait_until
from tone_model import band_energy, peak_hz, write_tone_presets, write_tone_square

from gansynth_live.engine.rt.envelope import ATTACK, DECAY

pytestmark = pytest.mark.jack

BEND_UP_12 = 8192 + 2048  # +12 semitones at the member channels' +-48
BEND_DOWN_12 = 8192 - 2048


def hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def cents(measured: float, expected: float) -> float:
    return 1200.0 * math.log2(measured / expected)


def bend(channel: int, raw14: int) -> list[int]:
    return [0xE0 | channel, raw14 & 0x7F, raw14 >> 7]


def mcm(master: int, members: int) -> list[list[int]]:
    """The MPE Configuration Message: RPN 6 on channel 1 (lower zone) or 16 (upper)."""
    return [[0xB0 | master, 101, 0], [0xB0 | master, 100, 6], [0xB0 | master, 6, members]]


@pytest.fixture
def serve(jack_server, tmp_path, monkeypatch):
    """open(**settings) -> a session over the tone model with presets fund, oct, duo, rise."""
    monkeypatch.setenv("GANSYNTH_LIVE_DATA_DIR", str(tmp_path / "data"))
    write_tone_presets(tmp_path / "presets")
    write_tone_square(tmp_path / "presets")
    sessions = []

    def open_(**settings):
        session, _ = open_session(tmp_path, **settings)
        sessions.append(session)
        return session

    yield open_
    for session in sessions:
        session.close()


def play(session, steps: list[tuple[float, list[list[int]]]], seconds: float) -> np.ndarray:
    """Send each step's messages at its time (s from the capture's start); the audio."""
    sender = MidiSender("test-mpe")
    try:
        sender.connect_to(session.midi.virtual_port_name())
        with JackCapture(seconds) as capture:
            capture.connect("PortAudio")
            capture.start()
            start = time.monotonic()
            for at, messages in steps:
                time.sleep(max(0.0, start + at - time.monotonic()))
                for message in messages:
                    sender.send(*message)
            time.sleep(max(0.0, start + seconds - time.monotonic()))
            audio = capture.stop()
    finally:
        sender.close()
    sent = sum(len(messages) for _, messages in steps)
    wait_until(lambda: session.midi.messages == sent, 5, f"{sent} messages")
    assert session.midi.bad_messages == 0
    wait_until(lambda: session.engine.stats().voices_active == 0, 5, "every note to end")
    return audio


def window(audio: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    return audio[int(start_s * RATE):int(end_s * RATE)]


def test_the_mpe_configuration_message_sets_the_zones(serve):
    session = serve(preset="fund")  # no --mpe: the controller announces its zones
    steps = [
        (0.2, mcm(0, 3) + mcm(15, 2)),  # lower zone: members 2..4; upper: 14, 15
        (0.3, [bend(1, BEND_UP_12), [0x91, 60, 100]]),  # a lower member: +-48
        (1.0, [bend(0, 16383)]),  # the lower master: +2 for the whole zone
        (1.7, [[0x81, 60, 0], bend(0, 8192)]),
        (1.8, [bend(14, BEND_UP_12), [0x9E, 60, 100]]),  # an upper member: +-48
        (2.5, [[0x8E, 60, 0]]),
        (2.6, [bend(5, BEND_UP_12), [0x95, 60, 100]]),  # channel 6, in no zone: +-2
        (3.3, [[0x85, 60, 0]]),
    ]
    audio = play(session, steps, 3.7)
    master_up = 2.0 * 8191 / 8192
    for (start_s, end_s), pitch in (((0.55, 1.0), 72), ((1.25, 1.7), 72 + master_up),
                                    ((2.05, 2.5), 72), ((2.85, 3.3), 60.5)):
        measured = peak_hz(window(audio, start_s, end_s))
        assert abs(cents(measured, hz(pitch))) < 3, (start_s, measured, hz(pitch))


def test_per_note_bend_of_48_semitones_lands_on_pitch(serve):
    session = serve(preset="fund", mpe=["lower"])
    steps = [(0.2, [[0x92, 60, 100]]), (0.8, [bend(2, BEND_UP_12)]),
             (1.4, [bend(2, BEND_DOWN_12)]), (2.0, [bend(2, 16383)]),
             (2.6, [[0x82, 60, 0]])]
    audio = play(session, steps, 3.0)
    for (start_s, end_s), pitch in (((0.35, 0.8), 60), ((0.95, 1.4), 72), ((1.55, 2.0), 48),
                                    ((2.15, 2.6), 60 + 48 * 8191 / 8192)):
        measured = peak_hz(window(audio, start_s, end_s))
        assert abs(cents(measured, hz(pitch))) < 3, (start_s, measured, hz(pitch))


def octave_share(audio: np.ndarray, pitch: int) -> float:
    """Where a note of the 'rise' square sits: 0 all fundamental .. 1 all octave.

    The amplitudes of its two partials, each read in a narrow band (+-20 Hz): a
    centroid over the whole octave also weighs the other note's and the transitions'
    broadband floor, and moved by up to 0.15 from run to run with the other note's
    timing.
    """
    f0 = hz(pitch)
    low, high = np.sqrt(band_energy(audio, f0, RATE)), np.sqrt(band_energy(audio, 2 * f0, RATE))
    return float(high / (low + high))


def test_two_notes_with_their_own_slide_have_their_own_timbre_and_glide_alone(serve):
    # 'rise' at its centre: the default mapping moves a note's y by +-0.25 with slide
    session = serve(preset="rise", morph=[0.5, 0.5], mpe=["lower"])
    low, high = 57, 72  # partials 220 and 440 Hz, 523 and 1047 Hz: apart
    steps = [
        (0.2, [[0xB1, 74, 0], [0x91, low, 100], [0xB2, 74, 127], [0x92, high, 100]]),
        (1.2, [[0xB1, 74, 127]]),  # the low note glides up to the octave side ...
        (2.2, [[0xB2, 74, 0]]),  # ... then the high note down to the fundamental side
        (3.2, [[0x81, low, 0], [0x82, high, 0]]),
    ]
    audio = play(session, steps, 3.6)
    shares = [(octave_share(window(audio, s, s + 0.6), low),
               octave_share(window(audio, s, s + 0.6), high)) for s in (0.5, 1.5, 2.5)]
    expected = [(0.25, 0.75), (0.75, 0.75), (0.75, 0.25)]
    assert np.allclose(shares, expected, atol=0.03), shares
    (low_1, high_1), (low_2, high_2), (low_3, high_3) = shares
    assert abs(high_2 - high_1) < 0.01 and abs(low_3 - low_2) < 0.01  # the other one stays



def test_moving_the_pad_moves_a_sliding_note_and_a_plain_one_by_the_same_step(serve):
    # The rule (docs/midi-and-daws.md): a note with its own expression sits at the pad's
    # position plus its own offset, a plain note at the pad's; moving the pad moves both.
    session = serve(preset="rise", morph=[0.5, 0.3], mpe=["lower"])
    low, high = 57, 72
    pad_y = 64 / 127  # CC2 (morph y) on the master channel
    steps = [
        (0.2, [[0xB1, 74, 127], [0x91, low, 100], [0x92, high, 100]]),  # low: y + 0.25
        (1.1, [[0xB0, 2, 64]]),
        (2.2, [[0x81, low, 0], [0x82, high, 0]]),
    ]
    audio = play(session, steps, 2.5)
    shares = [(octave_share(window(audio, s, s + 0.5), low),
               octave_share(window(audio, s, s + 0.5), high)) for s in (0.5, 1.6)]
    expected = [(0.3 + 0.25, 0.3), (pad_y + 0.25, pad_y)]
    assert np.allclose(shares, expected, atol=0.03), (shares, expected)


def test_the_expression_setting_maps_slide_to_x_with_its_depth_and_curve(serve):
    # 'duo' is a line along x (fundamental .. octave): only a slide mapped to x moves it
    session = serve(preset="duo", morph=[0.5, 0.0], mpe=["lower"], expression_slide="x",
                    expression_depth=0.5, expression_curve="2")
    low, high = 57, 72
    steps = [(0.2, [[0xB1, 74, 96], [0x91, low, 100], [0xB2, 74, 0], [0x92, high, 100]]),
             (1.0, [[0x81, low, 0], [0x82, high, 0]])]
    audio = play(session, steps, 1.3)
    shaped = ((96 - 64) / 63) ** 2  # slide through the power curve 2
    shares = (octave_share(window(audio, 0.4, 0.95), low),
              octave_share(window(audio, 0.4, 0.95), high))
    assert shares == pytest.approx((0.5 + 0.5 * shaped, 0.0), abs=0.03)

def rotating_flood(rng: np.random.Generator) -> list[list[list[int]]]:
    """10 ms chunks of an MPE controller under a flood, ending with notes still held.

    Notes take the member channels in turn, each with its own bend, slide and pressure
    before the note-on (as MPE controllers send them) and more while it sounds; a note
    is released only after 5..40 later notes, so channels are reused before their
    note-off. The zones change while notes sound (lower:7, then an upper zone beside it,
    then back to lower:15). The last 12 notes never get a note-off.
    """
    phases = [([mcm(0, 15)], range(1, 16)), ([mcm(0, 7)], range(1, 8)),
              ([mcm(15, 7)], list(range(1, 8)) + list(range(8, 15))),
              ([mcm(15, 0), mcm(0, 15)], range(1, 16))]
    chunks: list[list[list[int]]] = []
    held: list[tuple[int, int, int]] = []  # (release after note number, channel, pitch)
    number = 0
    for zone_messages, channels in phases:
        chunks.append([m for mcm_messages in zone_messages for m in mcm_messages])
        channels = list(channels)
        for _ in range(60):
            chunk: list[list[int]] = []
            for _ in range(5):
                ch, pitch = channels[number % len(channels)], int(rng.integers(40, 90))
                chunk += [bend(ch, int(rng.integers(0, 16384))),
                          [0xB0 | ch, 74, int(rng.integers(0, 128))],
                          [0xD0 | ch, int(rng.integers(0, 128))], [0x90 | ch, pitch, 100]]
                held.append((number + int(rng.integers(5, 41)), ch, pitch))
                for _, other, _ in held[-4:-1]:  # notes still sounding keep moving
                    chunk.append([0xB0 | other, 74, int(rng.integers(0, 128))])
                number += 1
                chunk += [[0x80 | c, p, 0] for due, c, p in held if due <= number]
                held = [h for h in held if h[0] > number]
            chunks.append(chunk)
    chunks.append([[0x80 | c, p, 0] for _, c, p in held[:-12]])
    return chunks


def keys_left_down(chunks: list[list[list[int]]]) -> set[tuple[int, int]]:
    """(channel, pitch) of the keys a stream leaves down: MIDI's rule, replayed in order.

    A note-off releases its key whatever note-on started it, so a note re-struck on its
    channel before the earlier note's note-off is released by that note-off.
    """
    down: set[tuple[int, int]] = set()
    for chunk in chunks:
        for status, *data in chunk:
            kind, key = status & 0xF0, (status & 0x0F, data[0] if data else -1)
            if kind == 0x90 and data[1] > 0:
                down.add(key)
            elif kind == 0x80 or kind == 0x90:
                down.discard(key)
    return down


def keys_sounding(engine) -> list[tuple[int, int]]:
    """(channel, pitch) of the voices not yet released (attack or decay), sorted."""
    v = engine.renderer.voices
    playing = v.active & ((v.stage == ATTACK) | (v.stage == DECAY))
    return sorted(zip(v.channel[playing].tolist(), v.pitch[playing].tolist()))


def test_rotating_member_channels_under_a_flood_leave_no_stuck_note(serve):
    session = serve(preset="rise", morph=[0.5, 0.5], mpe=["lower"])
    engine = session.engine
    sender = MidiSender("test-mpe-flood")
    chunks = rotating_flood(np.random.default_rng(19))
    held = sorted(keys_left_down(chunks))
    assert len(held) == 12  # the notes the flood never releases
    try:
        sender.connect_to(session.midi.virtual_port_name())
        sent = sender.send_paced(chunks)  # 100 chunks a second
        wait_until(lambda: session.midi.messages >= sent, 20, "the reader to drain the flood")
        assert session.midi.messages == sent and session.midi.bad_messages == 0
        # No all-notes-off: exactly the keys left down sound on, every other note has
        # ended by itself (a few release times; generous for a loaded machine).
        try:
            wait_until(lambda: keys_sounding(engine) == held, 5, "the held notes alone")
            wait_until(lambda: engine.stats().voices_active == len(held), 5,
                       "the released notes to end")
        except AssertionError:
            raise AssertionError(f"sounding {keys_sounding(engine)}, held {held}, "
                                 f"{engine.stats()}") from None
        assert engine.stats().voices_sounding == len(held)
        for ch, pitch in held:  # their note-offs end them too
            sender.send(0x80 | ch, pitch, 0)
        wait_until(lambda: engine.stats().voices_active == 0, 5, "every voice to end")
        sender.send(0x93, 69, 100)  # still playing, at its pitch, after the flood
        wait_until(lambda: keys_sounding(engine) == [(3, 69)], 5, "a note after the flood")
        sender.send(0x83, 69, 0)
        wait_until(lambda: engine.stats().voices_active == 0, 5, "its release")
    finally:
        sender.close()
    stats = engine.stats()
    assert stats.callback_errors == 0 and stats.notes_started > 500
    assert stats.events_refused == 0 and stats.notes_refused == 0
    print(f"\nMPE flood: {sent} messages, {stats.notes_started} notes started, "
          f"{stats.voices_stolen} stolen, {stats.events_refused} events refused")


def held_on_members(session, sender) -> None:
    sender.connect_to(session.midi.virtual_port_name())
    for ch, pitch in ((0, 57), (1, 60), (2, 64), (3, 67)):  # the master's note and three
        sender.send(0x90 | ch, pitch, 100)
    wait_until(lambda: session.engine.stats().voices_sounding == 4, 5, "four notes")


def test_all_notes_off_on_the_master_channel_releases_the_whole_zone(serve):
    session = serve(preset="fund", mpe=["lower:3"])
    sender = MidiSender("test-mpe-master")
    try:
        held_on_members(session, sender)
        sender.send(0xB0, 123, 0)
        wait_until(lambda: session.engine.stats().voices_active == 0, 3, "the zone's release")
    finally:
        sender.close()


def test_the_master_channels_sustain_pedal_holds_the_whole_zone(serve):
    session = serve(preset="fund", mpe=["lower:3"])
    sender = MidiSender("test-mpe-master")
    try:
        held_on_members(session, sender)
        sender.send(0xB0, 64, 127)  # pedal down on the master
        for ch, pitch in ((0, 57), (1, 60), (2, 64), (3, 67)):
            sender.send(0x80 | ch, pitch, 0)
        time.sleep(0.5)  # ten times the preset's release: only the pedal holds them
        assert session.engine.stats().voices_sounding == 4
        sender.send(0xB0, 64, 0)
        wait_until(lambda: session.engine.stats().voices_active == 0, 3, "the pedal's release")
    finally:
        sender.close()
