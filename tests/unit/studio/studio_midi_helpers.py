"""Building MIDI files for the studio tests: with mido, or byte by byte where mido can't."""

from __future__ import annotations

import struct
from pathlib import Path

import mido


def on(note: int, time: int = 0, velocity: int = 100, channel: int = 0) -> mido.Message:
    return mido.Message("note_on", note=note, velocity=velocity, channel=channel, time=time)


def off(note: int, time: int = 0, channel: int = 0) -> mido.Message:
    return mido.Message("note_off", note=note, velocity=0, channel=channel, time=time)


def cc(control: int, value: int, time: int = 0, channel: int = 0) -> mido.Message:
    return mido.Message("control_change", control=control, value=value, channel=channel,
                        time=time)


def tempo(bpm: float, time: int = 0) -> mido.MetaMessage:
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=time)


def write_midi(path: Path, tracks: list[list], midi_type: int = 1,
               ticks_per_beat: int = 480) -> Path:
    midi = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        track = midi.add_track()
        track.extend(messages)
    midi.save(str(path))
    return path


def vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def raw_midi(path: Path, track_bodies: list[bytes], midi_type: int = 0,
             division: int = 480) -> Path:
    """A file from raw track bytes (end-of-track appended); division is the raw 16-bit word."""
    data = b"MThd" + struct.pack(">IHHH", 6, midi_type, len(track_bodies), division & 0xFFFF)
    for body in track_bodies:
        body = body + b"\x00\xff\x2f\x00"
        data += b"MTrk" + struct.pack(">I", len(body)) + body
    path.write_bytes(data)
    return path


def bend(value: int, time: int = 0, channel: int = 0) -> mido.Message:
    """Pitch bend, -8192..8191 (mido's `pitchwheel`)."""
    return mido.Message("pitchwheel", pitch=value, channel=channel, time=time)


def pressure(value: int, time: int = 0, channel: int = 0) -> mido.Message:
    """Channel pressure (mido's `aftertouch`)."""
    return mido.Message("aftertouch", value=value, channel=channel, time=time)


def polytouch(note: int, value: int, time: int = 0, channel: int = 0) -> mido.Message:
    """Polyphonic (key) aftertouch."""
    return mido.Message("polytouch", note=note, value=value, channel=channel, time=time)
