"""Events as fixed-size numeric records: the form in which they cross into the audio thread.

The frozen event dataclasses (events.py) stay the validated public API, as
mido's messages are; `EventQueue.push` writes each one as a row of eight
float64 numbers into a preallocated ring, and the audio thread applies the
rows with compiled code (rt/event_apply.py) without touching a Python
object. float64 holds every field exactly: channels, pitches and velocities
are small integers, the floats were validated as finite and bounded.

Row layout: [kind, channel, pitch, a, b, c, d, 0]. A missing channel or pitch
(AllNotesOff(None), SetExpression(pitch=None)) is -1. `encode` runs in the
producer's thread; `decode` turns a row back into the event (the few events
the audio thread hands to Python, and the tests).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..events import (AllNotesOff, AllSoundOff, NoteBend, NoteOff, NoteOn, PitchBend,
                      SetBendRange, SetEnvelope, SetExpression, SetMasterGain, SetMpeZone,
                      SustainPedal)

RECORD_SIZE = 8
R_KIND, R_CHANNEL, R_PITCH, R_A, R_B, R_C, R_D = range(7)

(K_UNKNOWN, K_NOTE_ON, K_NOTE_OFF, K_PITCH_BEND, K_SUSTAIN, K_ALL_NOTES_OFF, K_ALL_SOUND_OFF,
 K_MASTER_GAIN, K_ENVELOPE, K_BEND_RANGE, K_MPE_ZONE, K_EXPRESSION, K_NOTE_BEND) = range(13)


def _none(value: int | None) -> int:
    return -1 if value is None else value


_ENCODERS: dict[type, Callable[[object], tuple[float, ...]]] = {
    NoteOn: lambda e: (K_NOTE_ON, e.channel, e.pitch, e.velocity),
    NoteOff: lambda e: (K_NOTE_OFF, e.channel, e.pitch),
    PitchBend: lambda e: (K_PITCH_BEND, e.channel, -1, e.value),
    SustainPedal: lambda e: (K_SUSTAIN, e.channel, -1, float(e.on)),
    AllNotesOff: lambda e: (K_ALL_NOTES_OFF, _none(e.channel), -1),
    AllSoundOff: lambda e: (K_ALL_SOUND_OFF, -1, -1),
    SetMasterGain: lambda e: (K_MASTER_GAIN, -1, -1, e.gain),
    SetEnvelope: lambda e: (K_ENVELOPE, -1, -1, e.attack_s, e.decay_s, e.sustain, e.release_s),
    SetBendRange: lambda e: (K_BEND_RANGE, _none(e.channel), -1, e.semitones),
    SetMpeZone: lambda e: (K_MPE_ZONE, e.master, -1, e.members),
    SetExpression: lambda e: (K_EXPRESSION, e.channel, _none(e.pitch), e.dx, e.dy),
    NoteBend: lambda e: (K_NOTE_BEND, e.channel, e.pitch, e.semitones),
}


QUEUED_TYPES = frozenset(_ENCODERS)  # the events the ring carries (Engine.push accepts these)


def encode(event: object, row: np.ndarray) -> None:
    """Write `event` into `row` (float64, RECORD_SIZE); an unknown type becomes K_UNKNOWN
    (the audio thread counts it)."""
    encoder = _ENCODERS.get(type(event))
    values = encoder(event) if encoder is not None else (K_UNKNOWN,)
    row[:] = 0.0
    row[:len(values)] = values


def _opt(value: float) -> int | None:
    return None if value < 0 else int(value)


_DECODERS: dict[int, Callable[[np.ndarray], object]] = {
    K_NOTE_ON: lambda r: NoteOn(int(r[R_PITCH]), int(r[R_A]), int(r[R_CHANNEL])),
    K_NOTE_OFF: lambda r: NoteOff(int(r[R_PITCH]), int(r[R_CHANNEL])),
    K_PITCH_BEND: lambda r: PitchBend(float(r[R_A]), int(r[R_CHANNEL])),
    K_SUSTAIN: lambda r: SustainPedal(bool(r[R_A]), int(r[R_CHANNEL])),
    K_ALL_NOTES_OFF: lambda r: AllNotesOff(_opt(r[R_CHANNEL])),
    K_ALL_SOUND_OFF: lambda r: AllSoundOff(),
    K_MASTER_GAIN: lambda r: SetMasterGain(float(r[R_A])),
    K_ENVELOPE: lambda r: SetEnvelope(float(r[R_A]), float(r[R_B]), float(r[R_C]),
                                      float(r[R_D])),
    K_BEND_RANGE: lambda r: SetBendRange(float(r[R_A]), _opt(r[R_CHANNEL])),
    K_MPE_ZONE: lambda r: SetMpeZone(int(r[R_CHANNEL]), int(r[R_A])),
    K_EXPRESSION: lambda r: SetExpression(int(r[R_CHANNEL]), _opt(r[R_PITCH]), float(r[R_A]),
                                          float(r[R_B])),
    K_NOTE_BEND: lambda r: NoteBend(int(r[R_CHANNEL]), int(r[R_PITCH]), float(r[R_A])),
}


def decode(row: np.ndarray) -> object | None:
    """The event a row holds (None for K_UNKNOWN)."""
    decoder = _DECODERS.get(int(row[R_KIND]))
    return decoder(row) if decoder is not None else None
