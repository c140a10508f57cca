"""A sink for MidiTranslator that records what it was asked to do, call by call.

Shared by the translator, port and JACK event tests: they check the translator's own
bookkeeping message by message; tests/unit/live/test_instrument_notes.py runs the same
translator into a real engine and checks what sounds.
"""

from __future__ import annotations


class RecordingSink:
    """Notes as ("on", pitch, velocity, channel) / ("off", pitch, channel); the rest as
    ("event", event), ("morph", x, y) and ("program", n). `accept=False` refuses notes,
    as a full event ring does."""

    def __init__(self, accept: bool = True) -> None:
        self.calls: list[tuple] = []
        self.accept = accept

    def note_on(self, pitch, velocity, channel=0):
        self.calls.append(("on", pitch, velocity, channel))
        return self.accept

    def note_off(self, pitch, channel=0):
        self.calls.append(("off", pitch, channel))

    def push(self, event):
        self.calls.append(("event", event))
        return True

    def set_morph(self, x=None, y=None):
        self.calls.append(("morph", x, y))

    def select_program(self, program):
        self.calls.append(("program", program))
