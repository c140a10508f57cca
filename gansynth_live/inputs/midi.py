"""MIDI messages of one input port turned into engine events and instrument actions.

A `MidiTranslator` belongs to one port and runs on the thread that reads it.
It keeps that port's own view of what is held (keys down, pedals, sostenuto
latches) so that when the port vanishes (a USB cable pulled, a DAW quitting)
exactly the notes *it* started are released, and notes from other ports keep
sounding: `release_all`.

What it understands (channel messages pass the channel filter first):

- note on / note off; a note on with velocity 0 is a note off;
- CC64 sustain (>= 64 down), handled by the engine: note-offs wait for the pedal;
- CC66 sostenuto, handled here: notes held when the pedal goes down keep
  sounding after their key is released, until the pedal goes up (notes struck
  later are not held by it);
- CC120 all sound off, CC123 all notes off (and CC124..127, which imply it);
- CC121 reset controllers: pitch bend centred, sustain and sostenuto up (the
  morph position is left alone: a reset must not change the timbre);
- pitch bend; program change (selects a preset); any other controller goes to
  the `CCMap` (morph axes, MIDI learn);
- RPN 0 (pitch-bend sensitivity, CC101=0 CC100=0 CC6 [CC38]) sets that
  channel's bend range; RPN 6 on channel 1 or 16 (the MPE Configuration
  Message) sets up the lower or upper MPE zone (`MpeZone`, or `zones=`);
- MPE (issue 19): on a zone's member channels, pitch bend, CC74 (slide) and
  channel pressure belong to that channel's note: bend is per note (default
  +-48 semitones, the master's +-2 moves the whole zone), slide and pressure
  move the note's own morph position (`Expression`: which axis, how far, on
  which curve); polyphonic aftertouch moves one key's morph on any channel.
  On a zone's master channel, CC74 and channel pressure are the zone's: their
  offset adds to the own offset of every note of the zone (member channels and
  the master's own notes), as the master's bend adds to a member's (the MPE spec
  asks receivers to combine zone and note values). Controls reset to none on
  every channel a Configuration Message puts into or takes out of a zone.
Everything else (channel pressure outside a zone, clock, SysEx) is counted as ignored.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Protocol

import numpy as np

from ..events import (AllNotesOff, AllSoundOff, PitchBend, SetBendRange, SetExpression,
                      SetMpeZone, SustainPedal)
from .cc_map import CCMap
from .midi_keys import key_down, key_state, key_up

SUSTAIN, SOSTENUTO = 64, 66
ALL_SOUND_OFF, RESET_CONTROLLERS, ALL_NOTES_OFF = 120, 121, 123
MODE_MESSAGES = (124, 125, 126, 127)  # omni off/on, mono, poly: each implies all notes off
DATA_ENTRY, DATA_ENTRY_LSB, NRPN_LSB, NRPN_MSB, RPN_LSB, RPN_MSB = 6, 38, 98, 99, 100, 101
SLIDE = 74  # MPE's third dimension (timbre) on member channels
RPN_NULL = 127
MPE_MEMBER_BEND, MPE_MASTER_BEND = 48.0, 2.0  # the MPE spec's default ranges
AXES = ("x", "y", "none")


@dataclass(frozen=True)
class MpeZone:
    """A zone: master channel 0 (lower zone) or 15 (upper), and how many member channels."""

    master: int
    members: int

    def __post_init__(self) -> None:
        SetMpeZone(self.master, self.members)  # the same checks

    @classmethod
    def parse(cls, text: str) -> "MpeZone":
        """'lower', 'upper', 'lower:N' or 'upper:N' (N member channels, default 15)."""
        name, _, count = text.strip().lower().partition(":")
        if name not in ("lower", "upper"):
            raise ValueError(f"MPE zone {text!r}: 'lower[:N]' or 'upper[:N]'")
        try:
            members = int(count) if count else 15
        except ValueError:
            raise ValueError(f"MPE zone {text!r}: N must be a number 1..15") from None
        if not 1 <= members <= 15:
            raise ValueError(f"MPE zone {text!r}: N must be 1..15")
        return cls(0 if name == "lower" else 15, members)


EXP_CURVE = 4.0  # 'exp': (e^(4v) - 1) / (e^4 - 1), half way moves 12 % of the depth
POWER_RANGE = (0.1, 10.0)  # a curve 'p': v**p (2: half way moves a quarter)


def curve_function(curve: str) -> Callable[[float], float]:
    """The shape of `Expression.curve`: a control's travel 0..1 -> 0..1 (0 and 1 stay put).

    'linear'; 'exp' (fine near the centre or a light touch, steep at the end);
    or a number p, the power v**p (2: gentle start; 0.5: fast start).
    Raises ValueError naming what is allowed.
    """
    text = str(curve).strip().lower()
    if text == "linear":
        return lambda v: v
    if text == "exp":
        scale = math.expm1(EXP_CURVE)
        return lambda v: math.expm1(EXP_CURVE * v) / scale
    try:
        power = float(text)
    except ValueError:
        power = math.nan
    low, high = POWER_RANGE
    if not low <= power <= high:  # NaN too
        raise ValueError(f"expression curve {curve!r}: 'linear', 'exp' or a power "
                         f"{low:g}..{high:g}")
    return lambda v: v ** power


@dataclass(frozen=True)
class Expression:
    """How per-note controls move a note's morph: slide (CC74) and pressure, each on an axis.

    Slide is bipolar (64 = the global position, 0 and 127 = -depth and
    +depth); pressure (channel pressure on a member or master channel,
    polyphonic aftertouch anywhere) is unipolar (0 = global, 127 = +depth).
    Axis 'none' ignores that control (there is no level or brightness
    target). `depth` is in morph units (the grid is 0..1). `curve` shapes
    each control's travel before the depth (`curve_function`; slide
    symmetrically around its centre): 'linear', 'exp' or a power.
    """

    slide_axis: str = "y"
    pressure_axis: str = "x"
    depth: float = 0.25
    curve: str = "linear"
    _shape: Callable[[float], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.slide_axis not in AXES or self.pressure_axis not in AXES:
            raise ValueError(f"expression axes must be one of {AXES}")
        if not 0.0 <= self.depth <= 1.0:
            raise ValueError(f"expression depth must be 0..1, got {self.depth!r}")
        object.__setattr__(self, "_shape", curve_function(self.curve))

    def offset(self, slide: float, pressure: float) -> tuple[float, float]:
        """(dx, dy) for slide -1..1 and pressure 0..1."""
        shape = self._shape
        d = {"x": 0.0, "y": 0.0, "none": 0.0}
        d[self.slide_axis] += math.copysign(shape(abs(slide)), slide) * self.depth
        d[self.pressure_axis] += shape(pressure) * self.depth
        return (min(max(d["x"], -1.0), 1.0), min(max(d["y"], -1.0), 1.0))


def clamped_sum(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Two morph offsets added, each axis held to -1..1 (a note's own on top of its zone's,
    a key's aftertouch on top of its channel's)."""
    return (min(max(a[0] + b[0], -1.0), 1.0), min(max(a[1] + b[1], -1.0), 1.0))


class MidiSink(Protocol):
    """What the translator drives (the Instrument). Channels are 0..15."""

    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool: ...
    def note_off(self, pitch: int, channel: int = 0) -> None: ...
    def push(self, event: object) -> bool: ...
    def set_morph(self, x: float | None = None, y: float | None = None) -> None: ...
    def select_program(self, program: int) -> None: ...
    # optional: note_played(pitch), for a note-on made on the audio thread (jack_midi.py)


def move_by_cc(cc_map: CCMap, sink: MidiSink, control: int, value: int) -> None:
    """A controller that is not the translator's own: the morph axis mapped to it moves
    (or MIDI learn takes it). Also called by the JACK input's control thread, for the
    controllers the audio thread hands over (rt/jack_midi.py)."""
    moved = cc_map.handle(control, value)
    if moved is not None:
        axis, position = moved
        sink.set_morph(**{axis: position})


class MidiTranslator:
    """One port's messages -> sink calls. Call `handle` and `release_all` from one thread."""

    def __init__(self, sink: MidiSink, cc_map: CCMap, channels: frozenset[int] | None = None,
                 name: str = "", zones: tuple[MpeZone, ...] = (),
                 expression: Expression | None = None) -> None:
        self.sink = sink
        self.cc_map = cc_map
        self.name = name
        # keys down on this port; started here, no note-off sent yet; held by sostenuto
        # when it went down; polyphonic aftertouch per key (0..1); sostenuto per channel;
        # zone moved, channel idle: send at note-on (midi_keys.py, shared with rt/)
        self.key_state = key_state()
        (self.keys, self.sounding, self.latched, self.poly, self.sostenuto,
         self.stale) = self.key_state
        # the channel filter (`channels`: None for omni, else 0-based channels), per channel
        self.accepts = np.array([channels is None or c in channels for c in range(16)])
        self.pedal = np.zeros(16, dtype=bool)
        self.handled = 0
        self.filtered = 0
        self.ignored = 0
        self.expression = expression or Expression()
        self.master = np.full(16, -1, dtype=np.int64)  # MPE: a member channel's zone master
        self.rpn = np.full((16, 2), RPN_NULL, dtype=np.int64)  # selected RPN (msb, lsb)
        self.bend_semitones = np.zeros(16)  # RPN 0's coarse value, for a following CC38
        self.slide = np.zeros(16)  # -1..1 per member channel (on a master: the zone's)
        self.pressure = np.zeros(16)  # 0..1 per member channel (on a master: the zone's)
        self.sent = np.zeros((16, 2))  # each channel's last SetExpression(pitch=None) offset
        self._by_type = {
            "note_on": self._note_on, "note_off": self._note_off,
            "control_change": self._control_change, "pitchwheel": self._pitchwheel,
            "program_change": self._program_change, "aftertouch": self._channel_pressure,
            "polytouch": self._poly_aftertouch,
        }
        for zone in zones:
            self.set_zone(zone.master, zone.members)

    def handle(self, msg) -> None:
        """Apply one mido Message."""
        handler = self._by_type.get(msg.type)
        if handler is None:
            self.ignored += 1
            return
        if not self.accepts[msg.channel]:
            self.filtered += 1
            return
        self.handled += 1
        handler(msg)

    # --- notes --------------------------------------------------------------------------
    def _note_on(self, msg) -> None:
        if msg.velocity == 0:
            self._note_off(msg)
            return
        ch, pitch = msg.channel, msg.note
        if self.stale[ch]:
            self._send_channel(ch)  # the zone's controls moved while the channel was idle
        key_down(self.key_state, ch, pitch)  # starts unpressed, no longer latched
        if self.sink.note_on(pitch, msg.velocity, ch):
            self.sounding[ch, pitch] = True

    def _note_off(self, msg) -> None:
        ch, pitch = msg.channel, msg.note
        if key_up(self.key_state, ch, pitch):  # else released when sostenuto goes up
            self._release(ch, pitch)

    def _release(self, ch: int, pitch: int) -> None:
        self.sounding[ch, pitch] = False
        self.sink.note_off(pitch, ch)

    # --- controllers --------------------------------------------------------------------
    def _control_change(self, msg) -> None:
        ch, control, value = msg.channel, msg.control, msg.value
        if control in (RPN_MSB, RPN_LSB):
            self.rpn[ch, 0 if control == RPN_MSB else 1] = value
        elif control in (NRPN_MSB, NRPN_LSB):
            self.rpn[ch] = RPN_NULL  # data entry now belongs to an NRPN: not ours
        elif control in (DATA_ENTRY, DATA_ENTRY_LSB) and self.rpn[ch, 0] != RPN_NULL:
            self._data_entry(ch, control, value)
        elif control == SLIDE and (self.master[ch] >= 0 or self.is_master(ch)):
            self.slide[ch] = max(-1.0, (value - 64) / 63.0 if value > 64 else (value - 64) / 64.0)
            self._send_expression(ch)
        elif control == SUSTAIN:
            down = value >= 64
            self.pedal[ch] = down
            self.sink.push(SustainPedal(down, ch))
        elif control == SOSTENUTO:
            self._sostenuto(ch, value >= 64)
        elif control == ALL_SOUND_OFF:
            self._forget(None)
            self.sink.push(AllSoundOff())
        elif control == ALL_NOTES_OFF or control in MODE_MESSAGES:
            self._forget(ch)
            self.sink.push(AllNotesOff(ch))
        elif control == RESET_CONTROLLERS:
            self.sink.push(PitchBend(0.0, ch))
            if self.pedal[ch]:
                self.pedal[ch] = False
                self.sink.push(SustainPedal(False, ch))
            self._sostenuto(ch, False)
        else:
            move_by_cc(self.cc_map, self.sink, control, value)

    def _sostenuto(self, ch: int, down: bool) -> None:
        if down == bool(self.sostenuto[ch]):
            return
        self.sostenuto[ch] = down
        if down:
            self.latched[ch] = self.keys[ch]
            return
        held = np.flatnonzero(self.latched[ch] & ~self.keys[ch] & self.sounding[ch])
        self.latched[ch] = False
        for pitch in held:
            self._release(ch, int(pitch))

    def _forget(self, ch: int | None) -> None:
        """Drop this port's note state after an all-notes/sound-off (the engine releases)."""
        rows = slice(None) if ch is None else ch
        self.keys[rows] = False
        self.sounding[rows] = False
        self.latched[rows] = False
        self.pedal[rows] = False
        self.sostenuto[rows] = False

    # --- RPNs and MPE ---------------------------------------------------------------------
    def _data_entry(self, ch: int, control: int, value: int) -> None:
        msb, lsb = int(self.rpn[ch, 0]), int(self.rpn[ch, 1])
        if (msb, lsb) == (0, 0):  # pitch-bend sensitivity: CC6 semitones, CC38 cents
            if control == DATA_ENTRY:
                self.bend_semitones[ch] = min(value, 48)
                semitones = float(self.bend_semitones[ch])
            else:
                semitones = min(float(self.bend_semitones[ch]) + min(value, 99) / 100.0, 48.0)
            self.sink.push(SetBendRange(semitones, ch))
        elif (msb, lsb) == (0, 6) and control == DATA_ENTRY and ch in (0, 15):
            self.set_zone(ch, min(value, 15))  # the MPE Configuration Message

    def set_zone(self, master: int, members: int) -> None:
        """Set up (members > 0) or end an MPE zone, with the MPE default bend ranges.

        Every channel entering or leaving a zone, and the zone's master, starts
        again with no slide or pressure (the MPE spec's reset); a channel whose
        notes had an offset is sent back to none.
        """
        event = SetMpeZone(master, members)
        before = self.master.copy()
        was_master = [self.is_master(m) for m in range(16)]
        self.master[self.master == master] = -1
        if (15 - master) in event.member_channels:
            self.master[self.master == 15 - master] = -1
        self.sink.push(event)
        for ch in event.member_channels:
            self.master[ch] = master
            self.sink.push(SetBendRange(MPE_MEMBER_BEND, ch))
        if members:
            self.sink.push(SetBendRange(MPE_MASTER_BEND, master))
        reset = set(np.flatnonzero(before != self.master).tolist()) | set(event.member_channels)
        reset |= {m for m in range(16) if m == master or was_master[m] != self.is_master(m)}
        for ch in sorted(reset):
            self.slide[ch] = self.pressure[ch] = 0.0
            self.stale[ch] = False
            if self.sent[ch].any():
                self.sent[ch] = 0.0
                self.sink.push(SetExpression(ch, None, 0.0, 0.0))

    def is_master(self, ch: int) -> bool:
        """Whether channel ch is the master channel of an MPE zone now."""
        return bool((self.master == ch).any())

    def channel_offset(self, ch: int) -> tuple[float, float]:
        """The morph offset of a channel's notes: a member's own slide and pressure plus
        its zone's (the master's), a master's the zone's, (0, 0) outside a zone."""
        offset = self.expression.offset
        m = int(self.master[ch])
        own = offset(float(self.slide[ch]), float(self.pressure[ch]))
        if m < 0:
            return own
        return clamped_sum(own, offset(float(self.slide[m]), float(self.pressure[m])))

    def _send_expression(self, ch: int) -> None:
        """A member's or a master's slide or pressure moved: its notes, or its zone's."""
        self._send_channel(ch)
        if self.master[ch] >= 0:
            return
        zone_pedal = self.pedal[ch]  # the master's pedal holds the whole zone
        for member in np.flatnonzero(self.master == ch):
            member = int(member)
            if zone_pedal or self.pedal[member] or self.sounding[member].any():
                self._send_channel(member)
            else:  # no note to move now: its next note-on sends it (one event, not 15)
                self.stale[member] = True

    def _send_channel(self, ch: int) -> None:
        """The channel's offset to its notes and later ones, and to its pressed keys."""
        dx, dy = self.channel_offset(ch)
        self.stale[ch] = False
        self.sent[ch] = (dx, dy)
        self.sink.push(SetExpression(ch, None, dx, dy))
        for key in np.flatnonzero((self.poly[ch] > 0.0) & self.sounding[ch]):
            self._send_key(ch, int(key))

    def _send_key(self, ch: int, key: int) -> None:
        dx, dy = self.expression.offset(0.0, float(self.poly[ch, key]))
        if self.master[ch] >= 0 or self.is_master(ch):  # on top of the channel's offset
            dx, dy = clamped_sum((dx, dy), self.channel_offset(ch))
        self.sink.push(SetExpression(ch, key, dx, dy))

    def _channel_pressure(self, msg) -> None:
        ch = msg.channel
        if self.master[ch] < 0 and not self.is_master(ch):
            self.ignored += 1
            self.handled -= 1
            return
        self.pressure[ch] = msg.value / 127.0
        self._send_expression(ch)

    def _poly_aftertouch(self, msg) -> None:
        self.poly[msg.channel, msg.note] = msg.value / 127.0
        self._send_key(msg.channel, msg.note)

    def _pitchwheel(self, msg) -> None:
        self.sink.push(PitchBend.from_midi(msg.pitch + 8192, msg.channel))

    def _program_change(self, msg) -> None:
        self.sink.select_program(msg.program)

    # --- the port went away -------------------------------------------------------------
    def release_all(self) -> int:
        """Release every note this port started and lift its pedals; returns notes released."""
        channels, pitches = np.nonzero(self.sounding)
        for ch, pitch in zip(channels, pitches):
            self.sink.note_off(int(pitch), int(ch))
        for ch in np.flatnonzero(self.pedal):
            self.sink.push(SustainPedal(False, int(ch)))
        self._forget(None)
        return len(pitches)
