"""An instrument double for the OSC and web servers' tests: it records every call.

The servers call instrument methods by name with keyword arguments (the address table
in inputs/osc_space.py says which); this records (name, kwargs) for each, and refuses
the preset name 'missing' the way the real instrument refuses an unknown preset.
"""

from __future__ import annotations

from gansynth_live.errors import GansynthLiveError


class RecordingInstrument:
    def __init__(self) -> None:
        self.calls = []

    def __getattr__(self, name):
        def call(**kwargs):
            if kwargs.get("name") == "missing":
                raise GansynthLiveError("no preset named 'missing'")
            self.calls.append((name, kwargs))
        return call
