"""A port's MIDI bytes as a stream: running status, several messages an event, junk counted.

Issue 15: a JACK MIDI event holding running status (`90 40 64 40 00`) or two
messages was dropped whole by `mido.Message.from_bytes`, note-offs included.
"""

from __future__ import annotations

import mido
from hypothesis import given, settings
from hypothesis import strategies as st

from gansynth_live.inputs.midi_stream import MidiStream


def decoded(*events: list[int]) -> tuple[list[tuple], MidiStream]:
    stream = MidiStream()
    out = []
    for event in events:
        out += [m.bytes() for m in stream.feed(event)]
    return out, stream


def test_running_status_in_one_event_is_two_messages():
    got, stream = decoded([0x90, 0x40, 0x64, 0x40, 0x00])
    assert got == [[0x90, 0x40, 0x64], [0x90, 0x40, 0x00]]  # note on, then its note off
    assert stream.garbage == 0 and stream.messages == 2


def test_two_full_messages_in_one_event():
    got, stream = decoded([0x90, 60, 100, 0x80, 60, 0], [0xB0, 64, 127, 0xC0, 5])
    assert got == [[0x90, 60, 100], [0x80, 60, 0], [0xB0, 64, 127], [0xC0, 5]]
    assert stream.garbage == 0


def test_running_status_and_cut_messages_carry_between_events():
    got, stream = decoded([0x91, 60, 100], [62, 90], [0xE0, 0], [64], [0xC3, 1, 2])
    assert got == [[0x91, 60, 100], [0x91, 62, 90], [0xE0, 0, 64], [0xC3, 1], [0xC3, 2]]
    assert stream.garbage == 0


def test_real_time_bytes_inside_a_message_leave_it_alone():
    got, stream = decoded([0x90, 60, 0xF8, 100, 0xFE, 61, 0xFA, 0])
    assert got == [[0xF8], [0x90, 60, 100], [0xFE], [0xFA], [0x90, 61, 0]]
    assert stream.garbage == 0


def test_system_messages_cancel_running_status_and_sysex_is_skipped():
    got, stream = decoded([0x90, 60, 100, 0xF0, 1, 2, 3, 0xF7, 61, 0],
                          [0x90, 60, 100, 0xF3, 4, 61, 0], [0xF6])
    assert got == [[0x90, 60, 100], [0x90, 60, 100], [0xF3, 4], [0xF6]]
    assert stream.ignored == 1 and stream.garbage == 4  # 61 0, twice: no status to belong to


def test_junk_is_counted_and_what_follows_still_decodes():
    got, stream = decoded([1, 2, 3], [0x90, 60], [0x80, 60, 0], [0xF4, 0xF9, 0xFD, 0xF7],
                          [0xF1], [0x90, 70, 100])
    assert got == [[0x80, 60, 0], [0x90, 70, 100]]
    # 3 stray data bytes, a note on cut off by a status (2), four undefined or stray
    # status bytes, a quarter frame cut off by the next status (1)
    assert stream.garbage == 3 + 2 + 4 + 1


channel_messages = st.one_of(
    st.builds(lambda c, n, v: mido.Message("note_on", channel=c, note=n, velocity=v),
              st.integers(0, 15), st.integers(0, 127), st.integers(0, 127)),
    st.builds(lambda c, n, v: mido.Message("note_off", channel=c, note=n, velocity=v),
              st.integers(0, 15), st.integers(0, 127), st.integers(0, 127)),
    st.builds(lambda c, n, v: mido.Message("control_change", channel=c, control=n, value=v),
              st.integers(0, 15), st.integers(0, 127), st.integers(0, 127)),
    st.builds(lambda c, p: mido.Message("program_change", channel=c, program=p),
              st.integers(0, 15), st.integers(0, 127)),
    st.builds(lambda c, p: mido.Message("pitchwheel", channel=c, pitch=p),
              st.integers(0, 15), st.integers(-8192, 8191)),
    st.builds(lambda c, v: mido.Message("aftertouch", channel=c, value=v),
              st.integers(0, 15), st.integers(0, 127)),
)


def wire(messages: list[mido.Message]) -> list[int]:
    """The messages as a sender using running status puts them on the wire."""
    out, running = [], None
    for message in messages:
        data = message.bytes()
        out += data[1:] if data[0] == running else data
        running = data[0]
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(channel_messages, max_size=30), st.data())
def test_any_messages_with_running_status_split_anywhere_come_back(messages, data):
    stream_bytes = wire(messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream_bytes)), max_size=6)))
    events = [stream_bytes[a:b] for a, b in zip([0] + cuts, cuts + [len(stream_bytes)])]
    got, stream = decoded(*events)
    assert got == [m.bytes() for m in messages] and stream.garbage == 0


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(max_size=12), max_size=10))
def test_any_bytes_decode_to_valid_messages_or_count_as_junk(events):
    stream = MidiStream()
    for event in events:
        for message in stream.feed(event):
            assert isinstance(message, mido.Message)
    assert stream.messages + stream.garbage + stream.ignored <= sum(map(len, events))
