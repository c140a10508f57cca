"""JACK MIDI events that hold more than one message, read by MidiInputs over a real JACK server.

Issue 15: a JACK MIDI event with running status (`90 40 64 40 00`) or two
complete messages was dropped whole (`mido.Message.from_bytes` refuses it),
note-offs included, so notes stuck. RtMidi's MidiOut will not send such an
event (it refuses more than 3 bytes), so the sender here is a JACK client of
its own writing raw events from its process callback, as a hardware bridge or
a sequencer may.
"""

from __future__ import annotations

import time

import pytest
from jack_midi_sender import RawSender
from midi_sink import RecordingSink

from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi_ports import MidiInputs

pytestmark = pytest.mark.jack


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_running_status_and_two_messages_in_one_jack_event(jack_server):
    sink = RecordingSink()
    sender = RawSender()
    inputs = MidiInputs(sink, CCMap(), inputs=("raw-keys",), virtual=None, api="jack",
                        client_name="gansynth-live-test", scan_s=0.1, report=lambda text: None)
    try:
        inputs.start()
        wait_for(lambda: inputs.open_count == 1)
        sender.send(bytes([0x90, 0x40, 0x64, 0x40, 0x00]))  # note on, running-status note off
        sender.send(bytes([0x91, 0x3C, 0x64, 0x81, 0x3C, 0x00]))  # two complete messages
        wait_for(lambda: len(sink.calls) >= 4)
    finally:
        inputs.close()
        sender.close()
    assert sink.calls == [("on", 0x40, 0x64, 0), ("off", 0x40, 0),
                          ("on", 0x3C, 0x64, 1), ("off", 0x3C, 1)]
    assert inputs.messages == 4 and inputs.bad_messages == 0
