"""A MidiTranslator sink that drives a bare Engine, with no instrument around it.

Why: benchmarks and tests that measure or check the translator into the engine
(parse, translate, queue) need the notes and events to reach a real engine but have
no morph pad or preset library to move; `Instrument` is that sink in `serve`.
"""

from __future__ import annotations

from ..engine import Engine
from ..events import NoteOff, NoteOn


class EngineSink:
    """Notes and events go to `engine`; morph moves and program changes are ignored."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool:
        return self.engine.push(NoteOn(pitch, velocity, channel))

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.engine.push(NoteOff(pitch, channel))

    def push(self, event: object) -> bool:
        return self.engine.push(event)

    def note_played(self, pitch: int) -> None:
        pass

    def set_morph(self, x: float | None = None, y: float | None = None) -> None:
        pass

    def select_program(self, program: int) -> None:
        pass
