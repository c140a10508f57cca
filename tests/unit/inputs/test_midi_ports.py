"""Choosing MIDI ports by spec: exact names, substrings, 'all' hardware inputs."""

from __future__ import annotations

import pytest

from gansynth_live.inputs.midi_ports import MidiUnavailable, choose_api, is_hardware, match_spec

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
