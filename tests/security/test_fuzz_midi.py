"""MIDI input under hypothesis: any message, any byte stream, and no note left sounding.

Messages go through the same path as a port's: raw bytes parsed by mido (running
status, garbage, SysEx included), then the port's MidiTranslator driving a real
Instrument and Engine, with audio blocks rendered in between. At the end the
sender releases every key it could have pressed, then lifts its pedals (what a
keyboard does when the player lets go); then every voice must end.
"""

from __future__ import annotations

import mido
import pytest
from fuzz_rig import Rig
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi import MidiTranslator

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
# What a port delivers: whole messages (as rtmidi hands them over) and junk packets,
# each decoded alone as the port reader does; and wire bytes (running status: status
# bytes left out, junk) through one mido Parser.
packets = st.one_of(*[messages.map(lambda b: ("packet", b))] * 6,
                    st.binary(min_size=1, max_size=8).map(lambda b: ("packet", b)),
                    messages.map(lambda b: ("wire", b[1:] if b[0] < 0xF0 else b)),
                    st.binary(min_size=1, max_size=4).map(lambda b: ("wire", b)))


def decode(kind: str, data: bytes, parser: mido.Parser) -> list:
    if kind == "wire":
        parser.feed(data)
        return list(parser)
    try:  # as MidiInputs' reader does
        return [mido.Message.from_bytes(list(data))]
    except (ValueError, TypeError, IndexError):
        return []


@pytest.fixture(scope="module")
def rig(tone_service, tmp_path_factory):
    rig = Rig(tone_service, tmp_path_factory.mktemp("midi-fuzz"))
    yield rig
    rig.close()


class Keys:
    """The sender's view: which keys it holds down (a note-on without its note-off yet)."""

    def __init__(self) -> None:
        self.down: set[tuple[int, int]] = set()

    def saw(self, message) -> None:
        if message.type == "note_on" and message.velocity > 0:
            self.down.add((message.channel, message.note))
        elif message.type in ("note_on", "note_off"):
            self.down.discard((message.channel, message.note))


def let_go(translator: MidiTranslator, keys: Keys) -> int:
    """A note-off for each key still down, then the pedals up on every channel: exactly
    what a keyboard sends when the player lets go (so a voice the pedals hold must be
    released by the pedals themselves)."""
    for ch, note in sorted(keys.down):
        translator.handle(mido.Message("note_off", channel=ch, note=note))
    for ch in range(16):
        translator.handle(mido.Message("control_change", channel=ch, control=64, value=0))
        translator.handle(mido.Message("control_change", channel=ch, control=66, value=0))
    return len(keys.down) + 32


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(stream=st.lists(st.tuples(packets, st.integers(0, 2)), min_size=20, max_size=150),
       channels=st.sampled_from([None, frozenset({0}), frozenset({0, 9, 15})]))
def test_any_midi_stream_then_letting_go_leaves_no_voice(rig, stream, channels):
    translator = MidiTranslator(rig.instrument, CCMap(), channels, name="fuzz")
    parser = mido.Parser()
    keys = Keys()
    for (kind, data), blocks in stream:
        for message in decode(kind, data, parser):
            translator.handle(message)
            keys.saw(message)
        rig.render(blocks)
    rig.render_until_silent(events=let_go(translator, keys))
    assert not translator.sounding.any() and not translator.pedal.any()
    stats = rig.engine.stats()
    assert stats.callback_errors == 0 and stats.nonfinite_blocks == 0


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=16) | messages)
def test_decoding_raw_port_bytes_fails_only_as_the_reader_expects(data):
    """The port reader turns rtmidi's bytes into messages; it catches these three only."""
    try:
        mido.Message.from_bytes(list(data))
    except (ValueError, TypeError, IndexError):
        pass
