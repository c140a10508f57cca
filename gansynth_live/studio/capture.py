"""A MIDI file's messages -> the timed engine events `serve` would get from them.

`render --corners/--mpe` does not translate MIDI itself: every message of
the file goes, in file order, through the live `MidiTranslator` (the very
object a MIDI port feeds in `serve`), with serve's defaults (controller 1
moves the pad's x, 2 its y; slide and pressure per the `expression` mapping, serve's). Its
sink, `EventRecorder`, stamps whatever the translator sends with the time of
the message being handled. So pitch bend and bend ranges (RPN 0), MPE zones
(`--mpe` and the file's own RPN 6), slide, channel pressure, polyphonic
aftertouch, pedals and channel-mode messages become exactly the events a
live performance of the file would send; pad moves become `SetLayers` of
the grid at the new position, as the instrument's layer thread makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from ..banks.bank import BankLayers
from ..engine.offline import TimedEvent
from ..events import NoteOff, NoteOn, SetLayers
from ..inputs.cc_map import CCMap
from ..inputs.midi import Expression, MidiTranslator, MpeZone

LayersAt = Callable[[float, float], BankLayers | None]
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Capture:
    """The engine events of a file, the pad's moves, and what the translator set aside."""

    events: tuple[TimedEvent, ...]
    pad: tuple[tuple[float, float, float], ...]  # (time_s, x, y), the start position first
    programs_ignored: int  # program changes: serve selects presets, a render keeps its corners
    messages_ignored: int  # what the translator ignores live too (e.g. pressure outside a zone)


class EventRecorder:
    """A `MidiSink` that records (time, event) instead of playing: `time_s` is set per message."""

    def __init__(self, layers_at: LayersAt, position: tuple[float, float]) -> None:
        self.layers_at = layers_at
        self.time_s = 0.0
        self.x, self.y = float(position[0]), float(position[1])
        self.events: list[TimedEvent] = []
        self.pad: list[tuple[float, float, float]] = []
        self.programs = 0
        self._move()

    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool:
        self.events.append((self.time_s, NoteOn(pitch, velocity, channel)))
        return True

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.events.append((self.time_s, NoteOff(pitch, channel)))

    def push(self, event: object) -> bool:
        self.events.append((self.time_s, event))
        return True

    def set_morph(self, x: float | None = None, y: float | None = None) -> None:
        """Clamped like `Instrument.set_morph`; a move to where the pad is adds nothing."""
        new_x = self.x if x is None else min(max(float(x), 0.0), 1.0)
        new_y = self.y if y is None else min(max(float(y), 0.0), 1.0)
        if (new_x, new_y) != (self.x, self.y):
            self.x, self.y = new_x, new_y
            self._move()

    def select_program(self, program: int) -> None:
        self.programs += 1

    def _move(self) -> None:
        layers = self.layers_at(self.x, self.y)
        if layers is None:
            raise ValueError("the morph grid has no banks yet")
        self.pad.append((self.time_s, self.x, self.y))
        self.events.append((self.time_s, SetLayers(layers)))


def capture(messages: Iterable[tuple[float, object]], layers_at: LayersAt,
            position: tuple[float, float], zones: tuple[MpeZone, ...] = (), *,
            skip_drums: bool = False, end_s: float | None = None,
            expression: Expression | None = None) -> Capture:
    """Feed (seconds, mido message) pairs through a live translator; see the module docstring.

    `skip_drums` leaves MIDI channel 10 out (the translator's channel
    filter, as `serve --midi-channels` does). At `end_s` (the end of the
    file) whatever is still held is released, as when a port goes away.
    """
    recorder = EventRecorder(layers_at, position)
    channels = frozenset(range(16)) - {DRUM_CHANNEL} if skip_drums else None
    translator = MidiTranslator(recorder, CCMap(), channels=channels, name="render",
                                zones=zones, expression=expression)
    for time_s, message in messages:
        recorder.time_s = float(time_s)
        translator.handle(message)
    if end_s is not None:
        recorder.time_s = max(recorder.time_s, float(end_s))
    translator.release_all()
    return Capture(events=tuple(recorder.events), pad=tuple(recorder.pad),
                   programs_ignored=recorder.programs, messages_ignored=translator.ignored)
