"""MIDI input under hypothesis: any message, any byte stream, and no note left sounding.

Bytes go through the same path as a port's events: `MidiInputs.feed` (the reader
thread's call for each event rtmidi hands over) decodes them with the port's own
`MidiStream` (running status, several messages an event, junk, SysEx) and drives
the port's `MidiTranslator`, into a real Instrument and Engine, with audio blocks
rendered in between. At the end the sender releases every key the reader let
through, then lifts its pedals (what a keyboard does when the player lets go),
through the same reader; then every voice must end.
"""

from __future__ import annotations

import mido
import pytest
from fuzz_rig import Rig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi import MidiTranslator
from gansynth_live.inputs.midi_ports import MidiInputs, OpenPort

channel = st.sampled_from([0, 0, 0, 1, 9]) | st.integers(0, 15)  # often the same channel
data7 = st.integers(0, 127)
note_on = st.builds(lambda c, n, v: mido.Message("note_on", channel=c, note=n, velocity=v),
                    channel, st.integers(48, 80) | data7, st.integers(1, 127))
pedal = st.builds(lambda c, n, v: mido.Message("control_change", channel=c, control=n, value=v),
                  channel, st.sampled_from([64, 66]), st.sampled_from([0, 127]) | data7)
controls = st.sampled_from([0, 1, 2, 6, 7, 32, 64, 64, 64, 66, 66, 74, 98, 99, 100, 101, 120,
                            121, 123, 124, 125, 126, 127]) | data7
messages = st.one_of(
    note_on, note_on, note_on, pedal, pedal,
    st.builds(lambda c, n, v: mido.Message("note_on", channel=c, note=n, velocity=v),
              channel, data7, data7),
    st.builds(lambda c, n, v: mido.Message("note_off", channel=c, note=n, velocity=v),
              channel, data7, data7),
    st.builds(lambda c, n, v: mido.Message("control_change", channel=c, control=n, value=v),
              channel, controls, data7),
    st.builds(lambda c, p: mido.Message("pitchwheel", channel=c, pitch=p), channel,
              st.integers(-8192, 8191)),
    st.builds(lambda c, p: mido.Message("program_change", channel=c, program=p), channel, data7),
    st.builds(lambda c, v: mido.Message("aftertouch", channel=c, value=v), channel, data7),
    st.builds(lambda c, n, v: mido.Message("polytouch", channel=c, note=n, value=v),
              channel, data7, data7),
    st.builds(lambda d: mido.Message("sysex", data=d), st.lists(data7, max_size=64)),
    st.sampled_from([mido.Message(t) for t in ("clock", "start", "stop", "continue", "reset",
                                               "active_sensing", "tune_request")]),
).map(lambda m: bytes(m.bytes()))


# What a port delivers, one event each, with the messages it must decode to when
# that is known whatever came before (an event starting with a status byte): a
# whole message (most of them), several in one event, or several with the repeated
# status bytes left out (running status); and junk, or a message without its
# status byte (running status after an earlier event, or junk), whose decoding
# depends on what came before (None).
def running_status(messages: list[bytes]) -> bytes:
    out, running = b"", None
    for data in messages:
        out += data[1:] if data[0] == running and data[0] < 0xF0 else data
        running = data[0] if data[0] < 0xF0 else None
    return out


def known(messages: list[bytes]) -> list[bytes]:
    return [m for m in messages if m[0] != 0xF0]  # SysEx is skipped by the reader


events = st.one_of(
    *[messages.map(lambda b: (b, known([b])))] * 6,
    st.lists(messages, min_size=2, max_size=4).map(lambda ms: (running_status(ms), known(ms))),
    st.lists(messages, min_size=2, max_size=3).map(lambda ms: (b"".join(ms), known(ms))),
    st.binary(min_size=1, max_size=8).map(lambda b: (b, None)),
    messages.map(lambda b: (b[1:] if b[0] < 0xF0 else b, None)),
    st.binary(min_size=1, max_size=4).map(lambda b: (b, None)))


@pytest.fixture(scope="module")
def rig(tone_service, tmp_path_factory):
    rig = Rig(tone_service, tmp_path_factory.mktemp("midi-fuzz"))
    yield rig
    rig.close()


class Keys:
    """The sender's view: which keys it holds down (a note-on without its note-off yet),
    from the messages the reader decoded (checked against what was sent where that is
    known); `got` holds the messages of the event being read."""

    def __init__(self) -> None:
        self.down: set[tuple[int, int]] = set()
        self.got: list[bytes] = []

    def saw(self, message) -> None:
        self.got.append(bytes(message.bytes()))
        if message.type == "note_on" and message.velocity > 0:
            self.down.add((message.channel, message.note))
        elif message.type in ("note_on", "note_off"):
            self.down.discard((message.channel, message.note))


def reader(sink, channels) -> tuple[MidiInputs, OpenPort, Keys]:
    """A MidiInputs reader (no MIDI system opened) with one port; Keys watches what it
    hands the port's translator."""
    inputs = MidiInputs(sink, CCMap(), channels=channels, report=lambda text: None)
    port = OpenPort("fuzz", None, MidiTranslator(sink, CCMap(), channels, name="fuzz"))
    keys = Keys()
    handle = port.translator.handle

    def watched(message) -> None:
        keys.saw(message)
        handle(message)

    port.translator.handle = watched
    return inputs, port, keys


def let_go(inputs: MidiInputs, port: OpenPort, keys: Keys) -> int:
    """A note-off event for each key still down, then the pedals up on every channel:
    exactly what a keyboard sends when the player lets go (so a voice the pedals hold
    must be released by the pedals themselves)."""
    for ch, note in sorted(keys.down):
        inputs.feed(port, [0x80 | ch, note, 0])
    for ch in range(16):
        inputs.feed(port, [0xB0 | ch, 64, 0])
        inputs.feed(port, [0xB0 | ch, 66, 0])
    return len(keys.down) + 32


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stream=st.lists(st.tuples(events, st.integers(0, 2)), min_size=20, max_size=150),
       channels=st.sampled_from([None, frozenset({0}), frozenset({0, 9, 15})]))
def test_any_midi_stream_then_letting_go_leaves_no_voice(rig, stream, channels):
    inputs, port, keys = reader(rig.instrument, channels)  # Keys sees what is filtered too
    for (data, expected), blocks in stream:
        keys.got = []
        inputs.feed(port, list(data))  # raising here fails the test
        if expected is not None:  # running status and several messages arrive whole
            assert keys.got == expected, data.hex(" ")
        rig.render(blocks)
    assert inputs.errors == 0, inputs.last_error
    rig.render_until_silent(events=let_go(inputs, port, keys))
    assert not port.translator.sounding.any() and not port.translator.pedal.any()
    stats = rig.engine.stats()
    assert stats.callback_errors == 0 and stats.nonfinite_blocks == 0


class Calls:
    """A sink that accepts everything and checks what it is given."""

    def note_on(self, pitch, velocity, channel=0):
        assert 0 <= pitch <= 127 and 1 <= velocity <= 127 and 0 <= channel <= 15
        return True

    def note_off(self, pitch, channel=0):
        assert 0 <= pitch <= 127 and 0 <= channel <= 15

    def push(self, event):
        return True

    def set_morph(self, x=None, y=None):
        assert all(v is None or 0.0 <= v <= 1.0 for v in (x, y))

    def select_program(self, program):
        assert 0 <= program <= 127


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=16) | events.map(lambda event: event[0]), max_size=20))
def test_any_event_bytes_reach_the_translator_only_as_valid_messages(data):
    """The reader decodes, counts junk and never raises; the translator only ever sees
    messages in range (the sink asserts it, which the reader would count as errors)."""
    inputs, port, _ = reader(Calls(), None)
    for event in data:
        inputs.feed(port, list(event))
    assert inputs.errors == 0, inputs.last_error
    stream = port.stream
    assert inputs.messages == stream.messages
    assert stream.messages + stream.garbage + stream.ignored <= sum(map(len, data))
