"""Audio thread only (the consumer side; `push` is the one entry for other threads): the event ring.

A bounded event queue between input threads and the audio thread.

Why not the standard containers: `collections.deque(maxlen=...)` silently
drops the *oldest* event when full (a lost note-off is a stuck note);
`queue.Queue` takes a lock the consumer must also take, and a producer
preempted while holding it would stall the audio callback. Here the audio
thread takes no lock at all: a preallocated ring of object references with a
producer index (`_tail`, published after the slot is written) and a consumer
index (`_head`). Under CPython's GIL a list-item store and an attribute store
are each atomic, which is all a single-consumer ring needs. Producers
(MIDI thread, OSC thread, scripts) serialise among themselves with a lock the
consumer never touches, like FluidSynth's API mutex.

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


class EventQueue:
    """Bounded multi-producer, single-consumer queue; the consumer never blocks or locks.

    `push` may be called from any thread; `pop`, `empty` and `take_lost` only
    from the consumer (the audio thread).
    """

    def __init__(self, capacity: int = 2048, reserve: int = 512) -> None:
        if not 1 <= reserve < capacity:
            raise ValueError("EventQueue needs 1 <= reserve < capacity")
        self.capacity = capacity
        self.reserve = reserve
        self._slots: list[object] = [None] * capacity
        self._head = 0  # written by the consumer only
        self._tail = 0  # written by producers only, under _lock
        self._lock = threading.Lock()
        # counters (read from any thread)
        self.refused = 0  # ordinary events refused near capacity
        self.lost_critical = 0  # critical events that found the ring full (then recovered)
        # what full-ring critical events left to do (written by producers, cleared by consumer)
        self.lost_note_offs = np.zeros((16, 128), dtype=bool)
        self.lost_pedal_up = np.zeros(16, dtype=bool)
        self.lost_panic = False
        self.lost_pending = False

    # --- producers (any thread) -------------------------------------------------------
    def push(self, event: object) -> bool:
        """Queue an event without blocking.

        Returns False when an ordinary event is refused (counted in `refused`).
        A critical event always returns True: if the ring is full it is
        recorded in the lost-event tables and applied late.
        """
        critical = is_critical(event)
        with self._lock:
            tail = self._tail
            limit = self.capacity if critical else self.capacity - self.reserve
            if tail - self._head >= limit:
                if not critical:
                    self.refused += 1
                    return False
                self._remember_lost(event)
                return True
            self._slots[tail % self.capacity] = event
            self._tail = tail + 1  # publish only after the slot holds the event
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

    def __len__(self) -> int:
        """Events waiting (approximate while others push or pop)."""
        return self._tail - self._head

    # --- consumer (audio thread only) -----------------------------------------------
    def pop(self) -> object | None:
        """The oldest event, or None when empty. Never blocks."""
        head = self._head
        if head == self._tail:
            return None
        index = head % self.capacity
        event = self._slots[index]
        self._slots[index] = None
        self._head = head + 1
        return event

    def empty(self) -> bool:
        return self._head == self._tail

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
