"""Audio thread only (but `RetireRing.drain`, the housekeeping side): bank slots and the retire ring.

The banks voices may read at once, and how the audio thread lets go of them.

The audio thread must never drop the last reference to a bank (freeing a
100 MB array takes longer than a period). So, as in FluidSynth's finished-
voice return queue, whatever the audio thread is done with goes into a
`RetireRing`, and a housekeeping thread (`Engine.collect`) drops it there.
If the ring is full the audio thread keeps the reference and tries again
next block.
"""

from __future__ import annotations

import threading

import numpy as np

from ..layers import PitchTable


class RetireRing:
    """References handed from the audio thread to a housekeeping thread.

    `put`: audio thread only. `drain`: any other thread (serialised by a lock
    the audio thread never takes).
    """

    def __init__(self, capacity: int = 256) -> None:
        self._slots: list[object] = [None] * capacity
        self._capacity = capacity
        self._written = 0  # audio thread
        self._read = 0  # housekeeping, under _lock
        self._lock = threading.Lock()

    def put(self, obj: object) -> bool:
        written = self._written
        if written - self._read >= self._capacity:
            return False
        self._slots[written % self._capacity] = obj
        self._written = written + 1
        return True

    def pending(self) -> bool:
        """True when something waits to be dropped (cheap; any thread)."""
        return self._written != self._read

    def drain(self) -> int:
        """Drop every retired reference (here, in the calling thread); returns how many."""
        with self._lock:
            count = 0
            while self._read != self._written:
                self._slots[self._read % self._capacity] = None
                self._read += 1
                count += 1
            return count


class BankSlots:
    """A fixed table of `size` PitchTables the voices index by slot number. Audio thread only."""

    def __init__(self, size: int, retire: RetireRing) -> None:
        self.tables: list[PitchTable | None] = [None] * size
        self.occupied = np.zeros(size, dtype=bool)  # tables[k] is not None, for numpy masks
        self.retire = retire

    def find(self, table: PitchTable) -> int:
        for k, held in enumerate(self.tables):
            if held is table:
                return k
        return -1

    def free_count(self) -> int:
        return len(self.tables) - int(np.count_nonzero(self.occupied))

    def assign(self, table: PitchTable) -> int:
        """Put `table` in a free slot (or find it already there); -1 when none is free."""
        k = self.find(table)
        if k >= 0:
            return k
        for k, held in enumerate(self.tables):
            if held is None:
                self.tables[k] = table
                self.occupied[k] = True
                return k
        return -1

    def release(self, k: int) -> bool:
        """Empty slot k, handing its table to the retire ring (False: ring full, try later)."""
        table = self.tables[k]
        if table is None:
            return True
        if not self.retire.put(table):
            return False
        self.tables[k] = None
        self.occupied[k] = False
        return True
