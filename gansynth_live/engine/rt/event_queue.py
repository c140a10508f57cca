"""Audio thread only (the consumer side; `push` is the one entry for other threads): the event ring.

A bounded event queue between input threads and the audio thread.

Why not the standard containers: `collections.deque(maxlen=...)` silently
drops the *oldest* event when full (a lost note-off is a stuck note);
`queue.Queue` takes a lock the consumer must also take, and a producer
preempted while holding it would stall the audio callback. Here the audio
thread takes no lock at all: a preallocated ring of numeric records (one
float64 row per event, `event_records.py`: no Python object crosses into the
audio thread) with a producer index (`indices[TAIL]`, published after the row
is written) and a consumer index (`indices[HEAD]`), both in one int64 array
that compiled code reads and advances (rt/event_apply.py). Under CPython's GIL
a numpy item store is atomic, and the compiled consumer keeps the GIL, which
is all a single-consumer ring needs. Producers (MIDI thread, OSC thread,
scripts) serialise among themselves with a lock the consumer never touches,
like FluidSynth's API mutex.

Headroom: ordinary events (note-ons, bends, settings) are refused and counted
once the ring is `capacity - reserve` full; the reserve takes only note-offs,
pedal-up and panic. If even the reserve is full, a lost note-off is
remembered in a 16 x 128 table (a lost pedal-up or panic as a flag) that the
audio thread applies once it has emptied the ring: a flood can delay a
release but never leave a note stuck. (bench/engine.py measures this queue
against queue.SimpleQueue.)
"""

from __future__ import annotations

import threading

import numpy as np

from ...events import AllNotesOff, AllSoundOff, NoteOff, SustainPedal, is_critical
from ..event_records import RECORD_SIZE, decode, encode
from .cells import array_cell

# indices: the consumer's position, the producers', 1 while lost critical events wait, and
# the counts of refused events and of lost (then recovered) critical ones
HEAD, TAIL, LOST, REFUSED, LOST_CRITICAL = range(5)


class EventQueue:
    """Bounded multi-producer, single-consumer queue; the consumer never blocks or locks.

    `push` may be called from any thread; `pop`, `empty` and `take_lost` only
    from the consumer (the audio thread). The consumer normally reads `records`
    and `indices` in compiled code (event_apply.apply_events); `pop` decodes
    one record back into its event, for the few the audio thread hands to Python.
    """

    def __init__(self, capacity: int = 2048, reserve: int = 512) -> None:
        if not 1 <= reserve < capacity:
            raise ValueError("EventQueue needs 1 <= reserve < capacity")
        self.capacity = capacity
        self.reserve = reserve
        self.records = np.zeros((capacity, RECORD_SIZE), dtype=np.float64)
        # numbers, so JACK's compiled callback reads and bumps them without Python
        self.indices = np.zeros(5, dtype=np.int64)
        self._lock = threading.Lock()
        # what full-ring critical events left to do (written by producers, cleared by consumer)
        self.lost_note_offs = np.zeros((16, 128), dtype=bool)
        self.lost_pedal_up = np.zeros(16, dtype=bool)
        self.lost_panic = False

    # --- producers (any thread) -------------------------------------------------------
    def push(self, event: object) -> bool:
        """Queue an event without blocking.

        Returns False when an ordinary event is refused (counted in `refused`).
        A critical event always returns True: if the ring is full it is
        recorded in the lost-event tables and applied late.
        """
        critical = is_critical(event)
        with self._lock:
            tail = int(self.indices[TAIL])
            limit = self.capacity if critical else self.capacity - self.reserve
            if tail - int(self.indices[HEAD]) >= limit:
                if not critical:
                    self.refused += 1
                    return False
                self._remember_lost(event)
                return True
            encode(event, self.records[tail % self.capacity])
            self.indices[TAIL] = tail + 1  # publish only after the row holds the event
        return True

    def _remember_lost(self, event: object) -> None:
        self.lost_critical += 1
        if isinstance(event, NoteOff):
            self.lost_note_offs[event.channel, event.pitch] = True
        elif isinstance(event, SustainPedal):
            self.lost_pedal_up[event.channel] = True
        elif isinstance(event, (AllNotesOff, AllSoundOff)):
            self.lost_panic = True
        self.lost_pending = True  # set last: the consumer reads the tables after clearing it

    # counters (read from any thread): ordinary events refused near capacity; critical
    # events that found the ring full (then recovered)
    refused = array_cell("indices", REFUSED, int)
    lost_critical = array_cell("indices", LOST_CRITICAL, int)

    @property
    def lost_pending(self) -> bool:
        """Critical events found the ring full and wait in the tables to be applied."""
        return self.indices[LOST] != 0

    @lost_pending.setter
    def lost_pending(self, value: bool) -> None:
        self.indices[LOST] = 1 if value else 0

    def __len__(self) -> int:
        """Events waiting (approximate while others push or pop)."""
        return int(self.indices[TAIL]) - int(self.indices[HEAD])

    # --- consumer (audio thread only) -----------------------------------------------
    def pop(self) -> object | None:
        """The oldest event, decoded (None when empty, or for an unknown record). Never blocks."""
        head = int(self.indices[HEAD])
        if head == int(self.indices[TAIL]):
            return None
        event = decode(self.records[head % self.capacity])
        self.indices[HEAD] = head + 1
        return event

    def empty(self) -> bool:
        return self.indices[HEAD] == self.indices[TAIL]

    def take_lost(self) -> tuple[np.ndarray, np.ndarray, bool]:
        """Claim the lost-event tables: (channel, pitch) note-offs, pedal-up channels, panic.

        Call only when `lost_pending` is set and the ring is empty, so every
        note-on queued before a lost note-off has been applied first.
        """
        self.lost_pending = False  # before reading: a later loss sets it again
        channels, pitches = np.nonzero(self.lost_note_offs)
        self.lost_note_offs[channels, pitches] = False
        pedal = np.flatnonzero(self.lost_pedal_up)
        self.lost_pedal_up[pedal] = False
        panic = self.lost_panic
        self.lost_panic = False
        return np.stack([channels, pitches]), pedal, panic
