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
  the `CCMap` (morph axes, MIDI learn). Everything else (aftertouch, clock,
  SysEx) is counted as ignored.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..events import AllNotesOff, AllSoundOff, PitchBend, SustainPedal
from .cc_map import CCMap

SUSTAIN, SOSTENUTO = 64, 66
ALL_SOUND_OFF, RESET_CONTROLLERS, ALL_NOTES_OFF = 120, 121, 123
MODE_MESSAGES = (124, 125, 126, 127)  # omni off/on, mono, poly: each implies all notes off


class MidiSink(Protocol):
    """What the translator drives (the Instrument). Channels are 0..15."""

    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool: ...
    def note_off(self, pitch: int, channel: int = 0) -> None: ...
    def push(self, event: object) -> bool: ...
    def set_morph(self, x: float | None = None, y: float | None = None) -> None: ...
    def select_program(self, program: int) -> None: ...


class MidiTranslator:
    """One port's messages -> sink calls. Call `handle` and `release_all` from one thread."""

    def __init__(self, sink: MidiSink, cc_map: CCMap, channels: frozenset[int] | None = None,
                 name: str = "") -> None:
        self.sink = sink
        self.cc_map = cc_map
        self.channels = channels  # None: omni; else 0-based channels to accept
        self.name = name
        self.keys = np.zeros((16, 128), dtype=bool)  # keys down on this port
        self.sounding = np.zeros((16, 128), dtype=bool)  # started here, no note-off sent yet
        self.pedal = np.zeros(16, dtype=bool)
        self.sostenuto = np.zeros(16, dtype=bool)
        self.latched = np.zeros((16, 128), dtype=bool)  # held by sostenuto when it went down
        self.handled = 0
        self.filtered = 0
        self.ignored = 0
        self._by_type = {
            "note_on": self._note_on, "note_off": self._note_off,
            "control_change": self._control_change, "pitchwheel": self._pitchwheel,
            "program_change": self._program_change,
        }

    def handle(self, msg) -> None:
        """Apply one mido Message."""
        handler = self._by_type.get(msg.type)
        if handler is None:
            self.ignored += 1
            return
        if self.channels is not None and msg.channel not in self.channels:
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
        self.keys[ch, pitch] = True
        self.latched[ch, pitch] = False  # struck again: no longer held by sostenuto
        if self.sink.note_on(pitch, msg.velocity, ch):
            self.sounding[ch, pitch] = True

    def _note_off(self, msg) -> None:
        ch, pitch = msg.channel, msg.note
        self.keys[ch, pitch] = False
        if self.sostenuto[ch] and self.latched[ch, pitch]:
            return  # released when the sostenuto pedal goes up
        self._release(ch, pitch)

    def _release(self, ch: int, pitch: int) -> None:
        self.sounding[ch, pitch] = False
        self.sink.note_off(pitch, ch)

    # --- controllers --------------------------------------------------------------------
    def _control_change(self, msg) -> None:
        ch, control, value = msg.channel, msg.control, msg.value
        if control == SUSTAIN:
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
            moved = self.cc_map.handle(control, value)
            if moved is not None:
                axis, position = moved
                self.sink.set_morph(**{axis: position})

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
