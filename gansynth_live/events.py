"""What inputs (MIDI, OSC, scripts) tell the engine: small frozen events.

Events are validated once, on construction, in the thread that makes them
(like mido's messages), so the audio thread can trust every field. They are
immutable, slotted and hashable, and carry no timestamps: the live engine
applies an event at the start of the next audio block; the offline renderer
(`engine.offline.render_offline`) pairs each event with a time.

A `ValueError` names the field and its allowed range; inputs that receive
junk from the network catch it and count the message as ignored.

Channels are MIDI channels 0..15 (what mido calls `channel`, shown to users
as 1..16). Pitch is a MIDI note number 0..127.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from .banks.bank import BankLayers


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in range {low}..{high}, got {value!r}")


def _check_float(name: str, value: object, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number in range {low}..{high}, got {value!r}")
    if not low <= float(value) <= high:  # also rejects NaN
        raise ValueError(f"{name} must be in range {low}..{high}, got {value!r}")


@dataclass(frozen=True, slots=True)
class NoteOn:
    """Start a note. Velocity 1..127 (a MIDI note-on with velocity 0 is a NoteOff)."""

    pitch: int
    velocity: int = 100
    channel: int = 0

    def __post_init__(self) -> None:
        _check_int("pitch", self.pitch, 0, 127)
        _check_int("velocity", self.velocity, 1, 127)
        _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class NoteOff:
    """Release a note (held on while the channel's sustain pedal is down)."""

    pitch: int
    channel: int = 0

    def __post_init__(self) -> None:
        _check_int("pitch", self.pitch, 0, 127)
        _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class PitchBend:
    """Bend a channel: `value` is normalised to -1..1 and scaled by the engine's range.

    The engine's `bend_range_semitones` (default 2) is the bend at value 1, so
    the same controller message means the same thing on any engine setting,
    as with MIDI. `from_midi` converts MIDI's 14-bit value (0..16383, centre
    8192); mido's `pitchwheel` (-8192..8191) is `from_midi(pitch + 8192)`.
    """

    value: float
    channel: int = 0

    def __post_init__(self) -> None:
        _check_float("value", self.value, -1.0, 1.0)
        _check_int("channel", self.channel, 0, 15)

    @classmethod
    def from_midi(cls, raw14: int, channel: int = 0) -> "PitchBend":
        _check_int("raw14", raw14, 0, 16383)
        return cls(max(-1.0, (raw14 - 8192) / 8192.0), channel)


@dataclass(frozen=True, slots=True)
class SustainPedal:
    """Sustain (damper) pedal, MIDI CC 64: note-offs wait until the pedal goes up."""

    on: bool
    channel: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.on, bool):
            raise ValueError(f"on must be a bool, got {self.on!r}")
        _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class AllNotesOff:
    """Release every note (of one channel, or all with channel=None) and lift the pedal."""

    channel: int | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class AllSoundOff:
    """Panic: fade every voice out within a few milliseconds (no release tail, no click)."""


@dataclass(frozen=True, slots=True)
class SetMasterGain:
    """Master gain as a linear factor 0..4 (1 = unity); ramped over one block."""

    gain: float

    def __post_init__(self) -> None:
        _check_float("gain", self.gain, 0.0, 4.0)


@dataclass(frozen=True, slots=True)
class SetEnvelope:
    """New ADSR settings; they apply to sounding voices too, from their current level.

    attack_s: linear rise 0 -> 1 (clamped to at least 1 ms so nothing clicks).
    decay_s: time for the fall towards `sustain` to get within -60 dB of it.
    sustain: level 0..1 held while the key is down.
    release_s: time for a full-level note to fall 80 dB after note-off (then it is freed).
    """

    attack_s: float
    decay_s: float
    sustain: float
    release_s: float

    def __post_init__(self) -> None:
        _check_float("attack_s", self.attack_s, 0.0, 30.0)
        _check_float("decay_s", self.decay_s, 0.0, 60.0)
        _check_float("sustain", self.sustain, 0.0, 1.0)
        _check_float("release_s", self.release_s, 0.0, 60.0)


@dataclass(frozen=True, slots=True)
class SetBendRange:
    """Pitch-bend range in semitones (the bend at PitchBend value 1): of one channel, or all.

    `channel` None sets every channel (the engine-wide setting); a channel's
    own range is what MIDI's RPN 0 sets (MPE member channels default to 48).
    """

    semitones: float
    channel: int | None = None

    def __post_init__(self) -> None:
        _check_float("semitones", self.semitones, 0.0, 48.0)
        if self.channel is not None:
            _check_int("channel", self.channel, 0, 15)


@dataclass(frozen=True, slots=True)
class SetMpeZone:
    """An MPE zone: `master` (0 = lower zone, 15 = upper) and its `members` member channels.

    The lower zone's members are channels 1..members, the upper zone's
    14-members+1..14 (0-based). A member channel's note bends by its own
    channel's bend plus the master's (the zone-wide bend). members 0 ends the
    zone. Bend ranges are left alone: send SetBendRange per channel.
    """

    master: int
    members: int

    def __post_init__(self) -> None:
        if self.master not in (0, 15) or isinstance(self.master, bool):
            raise ValueError(f"master must be 0 (lower zone) or 15 (upper zone), got {self.master!r}")
        _check_int("members", self.members, 0, 15)

    @property
    def member_channels(self) -> range:
        if self.master == 0:
            return range(1, 1 + self.members)
        return range(15 - self.members, 15)


@dataclass(frozen=True, slots=True)
class SetExpression:
    """A note's own morph offset (dx, dy in morph units, -1..1) around the global position.

    `pitch` None: every note of the channel, and notes started on it later
    (MPE: one note per member channel); a pitch: the sounding notes of that
    key only (polyphonic aftertouch). (0, 0) is no expression: the note plays
    the shared layer weights exactly.
    """

    channel: int
    pitch: int | None
    dx: float = 0.0
    dy: float = 0.0

    def __post_init__(self) -> None:
        _check_int("channel", self.channel, 0, 15)
        if self.pitch is not None:
            _check_int("pitch", self.pitch, 0, 127)
        _check_float("dx", self.dx, -1.0, 1.0)
        _check_float("dy", self.dy, -1.0, 1.0)


@dataclass(frozen=True, slots=True)
class NoteBend:
    """The sounding notes of one key bend by their own `semitones` (-48..48), on top of
    their channel's bend: per-note pitch where MIDI has none (OSC note ids, `/ne/pitch`).
    A new note on the key starts unbent."""

    channel: int
    pitch: int
    semitones: float = 0.0

    def __post_init__(self) -> None:
        _check_int("channel", self.channel, 0, 15)
        _check_int("pitch", self.pitch, 0, 127)
        _check_float("semitones", self.semitones, -48.0, 48.0)


@dataclass(frozen=True, slots=True)
class SetLayers:
    """Play from these banks from now on (sounding notes glide to them).

    Not queued: `Engine.push` hands it to `Engine.set_layers`, which prepares
    lookup tables in the calling thread and swaps them in by reference.
    The offline renderer accepts it as a timed event.
    """

    layers: "BankLayers"


Event = Union[NoteOn, NoteOff, PitchBend, SustainPedal, AllNotesOff, AllSoundOff,
              SetMasterGain, SetEnvelope, SetBendRange, SetMpeZone, SetExpression, NoteBend,
              SetLayers]



def is_critical(event: object) -> bool:
    """True for events whose loss could leave a note sounding (the queue keeps room for them)."""
    if isinstance(event, SustainPedal):
        return not event.on
    return isinstance(event, (NoteOff, AllNotesOff, AllSoundOff))
