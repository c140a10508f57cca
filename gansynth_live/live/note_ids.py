"""OSC note ids: which sounding note a client's id names, and its own expression.

MIDI names a note by channel and key, and gives it per-note control only
through MPE's one-note-per-channel trick. OSC clients (Surge XT's `/mnote`
and `/ne/...` convention) name each note by an id they choose; this table
maps the id to the (channel, key) the engine knows, and keeps the note's
slide (timbre) and pressure so either can change without losing the other.

The table is bounded (MAX_IDS, oldest forgotten first) so a client that
never releases its ids cannot grow it; an id it does not know is ignored
and counted, not an error: expression messages often trail a note-off.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_IDS = 512  # notes a client may name at once (more than any polyphony)


@dataclass
class NamedNote:
    """A note an OSC client named: where it plays and its expression so far."""

    channel: int  # 0..15
    pitch: int
    slide: float = 0.0  # -1..1 (/ne/timbre 0..1 around its middle)
    pressure: float = 0.0  # 0..1


class NoteIds:
    """id -> NamedNote for the notes OSC clients started with an id. Thread-safe."""

    def __init__(self, max_ids: int = MAX_IDS) -> None:
        self.max_ids = int(max_ids)
        self._notes: OrderedDict[int, NamedNote] = OrderedDict()
        self._lock = threading.Lock()
        self.unknown = 0  # expression or release messages naming no sounding note
        self.forgotten = 0  # ids dropped to keep the table bounded

    def start(self, note_id: int, channel: int, pitch: int) -> NamedNote | None:
        """Name a new note; returns the note the id named before (to release), if any."""
        with self._lock:
            previous = self._notes.pop(note_id, None)
            self._notes[note_id] = NamedNote(channel, pitch)
            if len(self._notes) > self.max_ids:
                self._notes.popitem(last=False)
                self.forgotten += 1
            return previous

    def get(self, note_id: int) -> NamedNote | None:
        with self._lock:
            note = self._notes.get(note_id)
            if note is None:
                self.unknown += 1
            return note

    def end(self, note_id: int) -> NamedNote | None:
        """Forget the id; the note it named (to release), or None (counted)."""
        with self._lock:
            note = self._notes.pop(note_id, None)
            if note is None:
                self.unknown += 1
            return note

    def clear(self) -> None:
        with self._lock:
            self._notes.clear()

    def __len__(self) -> int:
        return len(self._notes)
