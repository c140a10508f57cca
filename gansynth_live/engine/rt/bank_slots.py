"""Audio thread only (but `RetireRing.drain`, the housekeeping side): bank slots and the retire ring.

The banks voices may read at once, and how the audio thread lets go of them.

The audio thread must never drop the last reference to a bank (freeing a
100 MB array takes longer than a period). So, as in FluidSynth's finished-
voice return queue, whatever the audio thread is done with goes into a
`RetireRing`, and a housekeeping thread (`Engine.collect`) drops it there.
If the ring is full the audio thread keeps the reference and tries again
next block.

Compiled code finds each slot's samples without Python: `BankSlots.banks`
holds the slot's kind (float32 or int16 samples, or empty), its scale, and two
stashes (rt/stash.py) in which `assign` writes the samples array and
`release` writes an empty one back.
"""

from __future__ import annotations

import threading

import numba
import numpy as np

from ..layers import PitchTable
from .jit import njit, on_warm_up
from .stash import Stash, kind

WRITTEN, READ = 0, 1
EMPTY, F32, I16 = 0, 1, 2  # a slot's kind (BankSlots.kinds)


def _read_only(dtype: type) -> np.ndarray:
    """An empty slot's samples: of the type PitchTable's are (read-only, C-contiguous)."""
    samples = np.zeros(1, dtype=dtype)
    samples.setflags(write=False)
    return samples


_EMPTY = (_read_only(np.float32), _read_only(np.int16))  # by kind - 1
# the stash load intrinsics for a slot's samples, for compiled readers (mixer.mix)
LOAD_F32, LOAD_I16 = (kind(numba.typeof(samples))[1] for samples in _EMPTY)


@njit
def ring_position(counts, capacity):
    """Where the next put goes (a small int, < capacity), or -1 when the ring is full."""
    if counts[WRITTEN] - counts[READ] >= capacity:
        return -1
    return counts[WRITTEN] % capacity


@njit
def ring_commit(counts):
    counts[WRITTEN] += 1


@njit
def item(array, i):
    """array[i] as a Python int without a numpy scalar (a small int: no new object)."""
    return array[i]


@njit
def find_serial(serial, occupied, wanted):
    """The slot holding the table with this serial, or -1."""
    for k in range(serial.shape[0]):
        if occupied[k] and serial[k] == wanted:
            return k
    return -1


@njit
def first_free(occupied):
    for k in range(occupied.shape[0]):
        if not occupied[k]:
            return k
    return -1


@njit
def plan_adoption(serial, occupied, in_use, wanted, indices, release):
    """Map a new layer set's tables (their `wanted` serials) to slots.

    Fills `indices[j]` with the slot already holding table j (-1: it needs
    one) and `release[:count]` with the idle slots to empty first (holding a
    bank no voice reads and the new layers do not use), in slot order, only as
    many as the missing tables need. Returns count, or -1 when even all idle
    slots would not make room (a glide must end first).
    """
    n_slots = serial.shape[0]
    missing = 0
    for j in range(wanted.shape[0]):
        indices[j] = find_serial(serial, occupied, wanted[j])
        if indices[j] < 0:
            missing += 1
    free = 0
    for k in range(n_slots):
        if not occupied[k]:
            free += 1
    count = 0
    reusable = 0
    for k in range(n_slots):
        if not occupied[k] or in_use[k]:
            continue
        kept = False
        for j in range(wanted.shape[0]):
            if wanted[j] == serial[k]:
                kept = True
        if not kept:
            reusable += 1
            if free + count < missing:
                release[count] = k
                count += 1
    if missing > free + reusable:
        return -1
    return count


@on_warm_up
def _warm_up() -> None:
    counts = np.zeros(2, dtype=np.int64)
    ring_commit(counts)
    ring_position(counts, 4)
    ints = np.zeros(2, dtype=np.int64)
    flags = np.zeros(2, dtype=bool)
    item(ints, 0)
    find_serial(ints, flags, 0)
    first_free(flags)
    plan_adoption(ints, flags, flags, ints, ints.copy(), ints.copy())


class RetireRing:
    """References handed from the audio thread to a housekeeping thread.

    `put`: audio thread only. `drain`: any other thread (serialised by a lock
    the audio thread never takes). The two counts live in an int64 array that
    compiled code advances: a Python int index past 256 would be a new object
    per put.
    """

    def __init__(self, capacity: int = 256) -> None:
        if not 1 <= capacity <= 256:  # positions stay small ints (no new object per put)
            raise ValueError("RetireRing capacity must be 1..256")
        self._slots: list[object] = [None] * capacity
        self._capacity = capacity
        self._counts = np.zeros(2, dtype=np.int64)  # WRITTEN: audio thread; READ: housekeeping
        self._lock = threading.Lock()

    def put(self, obj: object) -> bool:
        position = ring_position(self._counts, self._capacity)
        if position < 0:
            return False
        self._slots[position] = obj
        ring_commit(self._counts)  # publish after the slot holds the reference
        return True

    def pending(self) -> bool:
        """True when something waits to be dropped (cheap; any thread)."""
        return bool(self._counts[WRITTEN] != self._counts[READ])

    def drain(self) -> int:
        """Drop every retired reference (here, in the calling thread); returns how many."""
        with self._lock:
            count = 0
            while self._counts[READ] != self._counts[WRITTEN]:
                self._slots[int(self._counts[READ]) % self._capacity] = None
                self._counts[READ] += 1
                count += 1
            return count


class BankSlots:
    """A fixed table of `size` PitchTables the voices index by slot number. Audio thread only.

    Beside the objects (which the mixer reads samples from and the retire ring
    takes), each slot's table serial (PitchTable.serial) in an int64 array, so
    compiled code can match a new layer set to the slots (`plan_adoption`).
    """

    def __init__(self, size: int, retire: RetireRing) -> None:
        self.tables: list[PitchTable | None] = [None] * size
        self.occupied = np.zeros(size, dtype=bool)  # tables[k] is not None, for numpy masks
        self.serial = np.full(size, -1, dtype=np.int64)
        self.retire = retire
        self.kinds = np.zeros(size, dtype=np.int64)  # EMPTY, F32 or I16
        self.scales = np.zeros(size, dtype=np.float64)
        self._stashes = (Stash(_EMPTY[0], size), Stash(_EMPTY[1], size))
        f32, i16 = self._stashes
        # what compiled code reads a slot's bank through (mixer.mix)
        self.banks = (self.kinds, self.scales, f32.address, f32.stride, i16.address, i16.stride)

    def find(self, table: PitchTable) -> int:
        return find_serial(self.serial, self.occupied, table.serial)

    def assign(self, table: PitchTable) -> int:
        """Put `table` in a free slot (or find it already there); -1 when none is free."""
        k = self.find(table)
        if k >= 0:
            return k
        k = first_free(self.occupied)
        if k >= 0:
            samples = table.samples
            sample_kind = I16 if samples.itemsize == 2 else F32  # PitchTable: float32 or int16
            self._stashes[sample_kind - 1].put(samples, k)
            self.kinds[k] = sample_kind
            self.scales[k] = table.scale
            self.tables[k] = table
            self.occupied[k] = True
            self.serial[k] = table.serial
        return k

    def release(self, k: int) -> bool:
        """Empty slot k, handing its table to the retire ring (False: ring full, try later)."""
        table = self.tables[k]
        if table is None:
            return True
        if not self.retire.put(table):
            return False
        sample_kind = item(self.kinds, k)
        self.kinds[k] = EMPTY
        self._stashes[sample_kind - 1].put(_EMPTY[sample_kind - 1], k)  # the stash lets go of the bank
        self.tables[k] = None
        self.occupied[k] = False
        self.serial[k] = -1
        return True
