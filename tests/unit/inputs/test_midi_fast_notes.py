"""serve --jack's compiled note path against the translator it stands in for.

`CallbackMidi.apply` (engine/rt/jack_midi.py) applies plain note-ons, note-offs and pitch
bends with compiled code (rt/midi_notes.py, `plain_rows`: what JACK's compiled callback
runs without Python) and hands everything else to the port's byte
stream and `MidiTranslator`. Fed the same JACK MIDI events, it must leave exactly what
the translator alone leaves: the same event records in the engine's ring, in order,
the same key state (keys, notes sounding, sostenuto latches), the same pitches played
and the same counts. Hypothesis draws the events, from two ports, and how many rows
each block finds: notes with velocity 0, sustain and sostenuto, all-notes-off, channel
filters, MPE zones (whose idle channels make the translator send expression first),
pitch bends, running status across events, cut messages, SysEx.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gansynth_live.engine.event_records import decode
from gansynth_live.engine.rt.event_queue import HEAD, TAIL, EventQueue
from gansynth_live.engine.rt.jack_midi import RING_ROWS, CallbackMidi
from gansynth_live.engine.rt.jack_ports import RING_TAIL
from gansynth_live.inputs.midi import MidiTranslator, MpeZone
from gansynth_live.inputs.midi_ports import OpenPort, feed_port

channel = st.integers(0, 3)
pitch = st.integers(58, 62)  # few keys: notes meet again (retrigger, sostenuto latches)
note = st.builds(lambda on, ch, p, v: [(0x90 if on else 0x80) | ch, p, v],
                 st.booleans(), channel, pitch, st.sampled_from([0, 1, 64, 127]))
pedal = st.builds(lambda ch, cc, v: [0xB0 | ch, cc, v], channel, st.sampled_from([64, 66]),
                  st.sampled_from([0, 127]))
panic = st.builds(lambda ch: [0xB0 | ch, 123, 0], channel)
mpe_config = st.just([0xB0, 101, 0, 0xB0, 100, 6, 0xB0, 6, 2])  # lower zone, 2 members
slide = st.builds(lambda ch, v: [0xB0 | ch, 74, v], channel, st.integers(0, 127))
running = st.builds(lambda p, v: [p, v], pitch, st.sampled_from([0, 90]))  # data bytes only
cut = st.builds(lambda ch, p: [0x90 | ch, p], channel, pitch)  # a message cut at the end
sysex = st.just([0xF0, 0x7E, 0x01])  # an open SysEx, closed or cut by what follows
bend = st.builds(lambda ch, lsb, msb: [0xE0 | ch, lsb, msb], channel, st.integers(0, 127),
                 st.sampled_from([0, 64, 127]))
event = st.one_of(note, note, note, bend, pedal, panic, mpe_config, slide, running, cut, sysex)


def make_port(sink, controllers, channels, zones=(MpeZone(0, 1),)) -> OpenPort:
    return OpenPort("keys", None, MidiTranslator(sink, controllers, channels, "keys",
                                                 zones=zones))


def put_row(midi: CallbackMidi, slot: int, data: list[int]) -> None:
    """One JACK MIDI event in the ring, as jack_ports.read_midi leaves it."""
    tail = int(midi._ring[RING_TAIL])
    row = tail % RING_ROWS
    midi._data[row, :len(data)] = data
    midi._meta[row] = (slot, 0, len(data), len(data))
    midi._ring[RING_TAIL] = tail + 1


def through_callback(events: list[tuple[int, list[int]]], chunks: list[int],
                     channels) -> tuple:
    """The audio thread's way: rows in the ring from two ports, in chunks of several
    rows a block, `apply` (compiled runs of notes and bends first) until the ring is
    empty."""
    midi = CallbackMidi(EventQueue(64, 16))
    ports = [make_port(midi.sink, midi.controllers, channels) for _ in range(2)]
    for slot, port in enumerate(ports):
        midi.publish(slot, port, 1 + slot)  # a port buffer's address (never read here)
    i = 0
    for size in chunks + [len(events)]:
        for slot, data in events[i:i + size]:
            put_row(midi, slot, data)
        i += size
        while midi.waiting:
            midi.apply()
    return midi, ports


def through_translator(events: list[tuple[int, list[int]]], channels) -> tuple:
    """The translator alone, as the RtMidi input runs it (feed_port on every event)."""
    midi = CallbackMidi(EventQueue(64, 16))  # for its sink and rings only
    ports = [make_port(midi.sink, midi.controllers, channels) for _ in range(2)]
    for slot, data in events:
        feed_port(ports[slot], data)
    return midi, ports


def records(queue: EventQueue) -> list:
    head, tail = int(queue.indices[HEAD]), int(queue.indices[TAIL])
    return [decode(queue.records[k % queue.capacity]) for k in range(head, tail)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), event), max_size=60),
       st.lists(st.integers(1, 8), max_size=10),
       st.sampled_from([None, frozenset({0, 1, 2})]))
def test_the_compiled_note_path_leaves_what_the_translator_leaves(events, chunks, channels):
    fast_midi, fast_ports = through_callback(events, chunks, channels)
    slow_midi, slow_ports = through_translator(events, channels)
    assert records(fast_midi.queue) == records(slow_midi.queue)
    assert fast_midi.queue.refused == slow_midi.queue.refused
    assert fast_midi.queue.lost_critical == slow_midi.queue.lost_critical
    assert np.array_equal(fast_midi.queue.lost_note_offs, slow_midi.queue.lost_note_offs)
    assert fast_midi.take_played() == slow_midi.take_played()
    for fast, slow in zip(fast_ports, slow_ports):
        for a, b in zip(fast.translator.key_state, slow.translator.key_state):
            assert np.array_equal(a, b)
        assert fast.translator.handled == slow.translator.handled
        assert fast.translator.filtered == slow.translator.filtered
        assert fast.stream.messages == slow.stream.messages
        assert fast.stream.garbage == slow.stream.garbage


def test_plain_notes_take_the_compiled_path():
    """The cheap path is really taken: a note-on and its note-off make no mido message."""
    midi = CallbackMidi(EventQueue(64, 16))
    port = make_port(midi.sink, midi.controllers, None, zones=())
    midi.publish(0, port, 1)
    called = []
    port.stream.feed = lambda data: called.append(data) or []
    for data in ([0x90 | 1, 60, 100], [0xE0 | 1, 0, 96], [0x80 | 1, 60, 0]):
        put_row(midi, 0, data)
        midi.apply()
    assert called == []
    assert [type(e).__name__ for e in records(midi.queue)] == ["NoteOn", "PitchBend", "NoteOff"]
    assert records(midi.queue)[1].value == 0.5
    assert midi.messages == 3 and port.translator.handled == 3 and port.stream.messages == 3
    assert midi.take_played() == [60]


def test_a_full_ring_refuses_note_ons_and_remembers_note_offs():
    midi = CallbackMidi(EventQueue(16, 4))
    port = make_port(midi.sink, midi.controllers, None, zones=())
    midi.publish(0, port, 1)
    rows = [[0x90, 40 + k, 100] for k in range(14)] + [[0x80, 40, 0]] * 1
    rows += [[0x80, 41 + k, 0] for k in range(4)]
    for data in rows:
        put_row(midi, 0, data)
        midi.apply()
    queue = midi.queue
    assert queue.refused == 2  # 12 note-ons fit below the reserve
    assert len(records(queue)) == 16  # the reserve took note-offs until the ring was full
    assert queue.lost_critical == 1 and queue.lost_pending
    assert queue.lost_note_offs.sum() == 1
    assert not port.translator.sounding[:, 40:45].any()
