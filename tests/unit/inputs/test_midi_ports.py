"""MIDI ports: choosing them by spec (names, substrings, 'all'), and reading their events."""

from __future__ import annotations

import pytest
from midi_sink import RecordingSink

from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.midi_ports import (MidiInputs, MidiUnavailable, OpenPort, choose_api,
                                             is_hardware, match_spec)

ALSA = ["Midi Through:Midi Through Port-0 14:0", "Keystation 49:Keystation 49 MIDI 1 20:0",
        "nanoKONTROL2:nanoKONTROL2 MIDI 1 24:0", "REAPER:REAPER out 1 128:0",
        "gansynth-live:gansynth-live in 129:0"]
JACK = ["system:midi_capture_1", "a2j:Keystation 49 [20] (capture): Keystation 49 MIDI 1",
        "a2j:Midi Through [14] (capture): Midi Through Port-0", "Bitwig Studio:out 1",
        "test-keys:out"]


def own(name: str) -> bool:
    return name.startswith("gansynth-live")


def test_all_means_hardware_inputs():
    assert match_spec("all", ALSA, own) == ALSA[1:3]
    assert match_spec("all", JACK, own) == JACK[:2]
    assert not is_hardware("REAPER:REAPER out 1 128:0") and is_hardware(ALSA[1])


def test_exact_names_ignore_alsa_numbers_then_substrings():
    assert match_spec("Keystation 49:Keystation 49 MIDI 1 28:0", ALSA, own) == [ALSA[1]]
    assert match_spec("nanokontrol", ALSA, own) == [ALSA[2]]
    assert match_spec("reaper", ALSA, own) == [ALSA[3]]  # software ports by name
    assert match_spec("gansynth", ALSA, own) == []  # never our own ports
    assert match_spec("absent", ALSA, own) == []


def test_unknown_api_is_refused():
    with pytest.raises(MidiUnavailable, match="one of"):
        choose_api("coremidi")


class FakeRtMidi:
    """An rtmidi MidiIn whose queue holds the given events (as JACK hands them over)."""

    def __init__(self, events: list[list[int]]) -> None:
        self.events = [(list(e), 0.0) for e in events]

    def get_message(self):
        return self.events.pop(0) if self.events else None


def drained(events: list[list[int]]) -> tuple[MidiInputs, RecordingSink]:
    sink = RecordingSink()
    inputs = MidiInputs(sink, CCMap(), report=lambda text: None)
    port = OpenPort("test-keys:out", FakeRtMidi(events), inputs._translator("test-keys:out"))
    inputs._ports[port.name] = port
    inputs._drain()
    return inputs, sink


def test_an_event_with_running_status_or_two_messages_is_read_whole():
    """Issue 15: mido.Message.from_bytes dropped both events, note-offs included."""
    inputs, sink = drained([[0x90, 0x40, 0x64, 0x40, 0x00],  # note on, running-status note off
                            [0x90, 0x3C, 0x64, 0x80, 0x3C, 0x00]])  # two full messages
    assert sink.calls == [("on", 0x40, 0x64, 0), ("off", 0x40, 0),
                          ("on", 0x3C, 0x64, 0), ("off", 0x3C, 0)]
    assert inputs.messages == 4 and inputs.bad_messages == 0


def test_running_status_carries_between_events_and_junk_is_counted():
    inputs, sink = drained([[0x91, 60, 100], [60, 0], [0x05, 0x06], [0xF4],
                            [0x90, 62], [0x80, 62, 0]])
    assert sink.calls == [("on", 60, 100, 1), ("off", 60, 1), ("on", 5, 6, 1), ("off", 62, 0)]
    assert inputs.bad_messages == 2  # 0xF4; the note on cut off by the next status


def test_a_translator_error_is_reported_escaped_and_rate_limited():
    lines: list[str] = []

    class Broken(RecordingSink):
        def note_on(self, pitch, velocity, channel=0):
            raise RuntimeError("bug \x1b[2J")

    inputs = MidiInputs(Broken(), CCMap(), report=lines.append)
    port = OpenPort("keys", None, inputs._translator("keys"))
    for _ in range(100):
        inputs.feed(port, [0x90, 60, 100])
    assert inputs.errors == 100 and len(lines) == 5
    assert all("\x1b" not in line and "\\x1b[2J" in line for line in lines)


def test_configured_mpe_zones_reach_every_port():
    """serve --mpe lower:3: a member channel's bend is that note's own from the first event,
    before the controller sends its own RPN 6 (or if it never does)."""
    from gansynth_live.events import PitchBend, SetMpeZone
    from gansynth_live.inputs.midi import MpeZone

    sink = RecordingSink()
    inputs = MidiInputs(sink, CCMap(), report=lambda text: None,
                        zones=(MpeZone.parse("lower:3"),))
    port = OpenPort("mpe:out", FakeRtMidi([[0x91, 60, 100], [0xE1, 0x00, 0x50]]),
                    inputs._translator("mpe:out"))
    inputs._ports[port.name] = port
    inputs._drain()
    events = [c[1] for c in sink.calls if c[0] == "event"]
    assert SetMpeZone(0, 3) in events
    bends = [e for e in events if isinstance(e, PitchBend)]
    assert bends and all(e.channel == 1 for e in bends)
