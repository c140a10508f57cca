"""Audio thread only: MIDI read from the engine's own JACK ports inside the process callback.

Why here and not in an input thread: a note that reaches JACK at a cycle's start
then sounds in that same cycle, as in FluidSynth, instead of one period later
(serve's RtMidi input is a second JACK client polled by a Python thread, so
the engine sees the note a cycle late: docs/engine.md, the latency table).
No thread of ours sits between the keyboard and the voices either.

Per cycle, `read` asks compiled code (rt/jack_ports.py) to copy every waiting
JACK MIDI event of every open port into a preallocated ring of rows: a cycle
without MIDI makes no Python object. Then, for the rows waiting:

- plain note-ons and note-offs are applied by compiled code straight from the
  bytes, with the translator's own key rules (rt/midi_notes.py): a record in
  the renderer's `own_queue`, applied in this same cycle;
- anything else goes through the port's byte stream and `MidiTranslator`
  (inputs/midi.py) here, on the audio thread: the one piece of code outside
  `rt/` this thread runs. It allocates (a mido message and an event, ~10 us a
  message: docs/engine.md). What it drives is `AudioThreadSink`: events into
  `own_queue` (a ring only this thread writes, so no lock another producer
  holds); morph controllers, MIDI learn and program changes, which take locks
  and may take milliseconds, to the control thread through `Handover`, a
  bounded deque (append and popleft take no lock under the GIL);
- the pitches played, which the bank service renders first, go to the control
  thread through a numeric ring.

A block applies at most ROWS_PER_BLOCK events, and spends at most
PYTHON_BUDGET_S on those that go through the translator (an event may hold a
dozen messages in running status, an MPE configuration message makes twenty
events), so a flood (a JACK port can carry thousands of events a period) waits
in the ring for the next blocks instead of stalling this one. A ring overflow
is counted (`dropped`), and the note-offs, pedal-ups and panics in it are
remembered and applied once the ring is empty, as the engine's event ring
does: a flood never leaves a note stuck.

Ports come and go from the control thread (inputs/jack_midi.py): it writes a
port's address into `addresses` after setting up its translator (publish
last), and to retire one it asks `release` and waits: this thread then clears
the address, releases the notes that port holds (`release_all`), and says done.

The reading (`read_midi`) is compiled and called by JACK's compiled process
callback (rt/jack_callback.py) every cycle; everything after it (`apply`) is
Python, which that callback runs only in a cycle with rows waiting, lost
events to apply or a release asked for (`needs_python`: all numbers).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from ...events import NoteOff, NoteOn
from .event_queue import EventQueue
from .jack_ports import (EVENT_BYTES, LOST_PANIC, LOST_PEDAL_UP, RING_DROPPED, RING_HEAD,
                         RING_LOST, RING_RECOVERED, RING_TAIL, event_struct, lost_to_apply,
                         read_midi)
from .jit import njit
from .midi_notes import note_rows, put_played

MAX_PORTS = 16
RING_ROWS = 16384  # JACK MIDI events waiting to be applied, all ports (past it: dropped)
ROWS_PER_BLOCK = 1024  # events applied per block at most (plain notes cost ~0.3 us each)
PYTHON_BUDGET_S = 0.0005  # a block's time for events through the translator (~10 us each)
HANDOVER_LIMIT = 65536  # actions waiting for the control thread (past it: dropped, counted)

CONTROL, PROGRAM, MORPH = "control", "program", "morph"
PLAYED_ROWS = 4096  # pitches played, waiting for the control thread (past it: dropped)
M_SLOTS, M_RELEASE = 0, 1  # CallbackMidi.control: port slots in use; a release was asked


@njit
def rows_waiting(ring):
    """Rows read but not applied yet (a Python int from compiled code: no numpy scalar)."""
    return ring[RING_TAIL] - ring[RING_HEAD]


@njit
def release_asked(control):
    return control[M_RELEASE] != 0


@njit
def needs_python(control, ring, waiting):
    """Whether this cycle's MIDI needs `CallbackMidi.apply` (Python): rows waiting, lost
    events to apply now that the ring is empty, or a port to release."""
    return (waiting > 0 or control[M_RELEASE] != 0
            or (ring[RING_LOST] != 0 and ring[RING_HEAD] == ring[RING_TAIL]))


class Handover:
    """Actions for the control thread, in order; bounded, no lock on either side."""

    def __init__(self, limit: int = HANDOVER_LIMIT) -> None:
        self._items: deque[tuple[Any, ...]] = deque()
        self.limit = limit
        self.dropped = 0

    def put(self, item: tuple[Any, ...]) -> None:
        """Audio thread."""
        if len(self._items) < self.limit:
            self._items.append(item)
        else:
            self.dropped += 1

    def take(self) -> tuple[Any, ...] | None:
        """Control thread: the oldest action, or None."""
        try:
            return self._items.popleft()
        except IndexError:
            return None


class AudioThreadSink:
    """The `MidiSink` a translator drives on the audio thread: events into the engine's
    own ring, the pitches played into a numeric ring, everything slow handed over."""

    def __init__(self, queue: EventQueue, handover: Handover, played: np.ndarray,
                 played_ring: np.ndarray) -> None:
        self.queue = queue
        self.handover = handover
        self.played, self.played_ring = played, played_ring

    def note_on(self, pitch: int, velocity: int, channel: int = 0) -> bool:
        ok = self.queue.push(NoteOn(pitch, velocity, channel))
        if ok:
            put_played(self.played, self.played_ring, pitch)
        return ok

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.queue.push(NoteOff(pitch, channel))

    def push(self, event: object) -> bool:
        return self.queue.push(event)

    def set_morph(self, x: float | None = None, y: float | None = None) -> None:
        self.handover.put((MORPH, x, y))

    def select_program(self, program: int) -> None:
        self.handover.put((PROGRAM, program))


class HandedOverControllers:
    """The translator's `cc_map` on the audio thread: a controller that is not the
    translator's own goes to the control thread, which owns the real `CCMap` (it locks)."""

    def __init__(self, handover: Handover) -> None:
        self.handover = handover

    def handle(self, control: int, value: int) -> None:
        self.handover.put((CONTROL, control, value))
        return None


class CallbackMidi:
    """The MIDI ports the process callback reads (see the module docstring)."""

    def __init__(self, queue: EventQueue) -> None:
        self.queue = queue
        self.handover = Handover()
        self.played = np.zeros(PLAYED_ROWS, dtype=np.int64)
        self.played_ring = np.zeros(3, dtype=np.int64)  # head, tail, dropped (put_played)
        self.sink = AudioThreadSink(queue, self.handover, self.played, self.played_ring)
        self.controllers = HandedOverControllers(self.handover)
        self.addresses = np.zeros(MAX_PORTS, dtype=np.uint64)  # 0: no port in the slot
        self.ports: list[Any] = [None] * MAX_PORTS  # midi_ports.OpenPort per slot
        # M_SLOTS: slots in use are below this; M_RELEASE: the control thread asks a release
        self.control = np.zeros(2, dtype=np.int64)
        self.releasing = [False] * MAX_PORTS  # asked by the control thread
        self.released = [-1] * MAX_PORTS  # notes released (set by this thread when done)
        self._event, self._event_address = event_struct()
        self._data = np.zeros((RING_ROWS, EVENT_BYTES), dtype=np.uint8)
        self._meta = np.zeros((RING_ROWS, 4), dtype=np.int64)
        self._ring = np.zeros(5, dtype=np.int64)  # jack_ports.read_midi's ring (RING_*)
        self._lost = np.zeros((MAX_PORTS, 16, LOST_PANIC + 1), dtype=np.uint8)  # read_midi's
        self.free_after = [0] * MAX_PORTS  # ring position a released slot may be reused at
        self._tally = np.zeros(3, dtype=np.int64)  # midi_notes.note_rows: refused, lost, status
        # counters (read from any thread)
        self.events = 0  # JACK MIDI events read
        self.messages = 0
        self.bad_messages = 0
        self.errors = 0
        self.last_error = ""

    @property
    def slots(self) -> int:
        """Port slots in use (all below this)."""
        return int(self.control[M_SLOTS])

    @slots.setter
    def slots(self, value: int) -> None:
        self.control[M_SLOTS] = value

    @property
    def release_requested(self) -> bool:
        return bool(self.control[M_RELEASE])

    @release_requested.setter
    def release_requested(self, value: bool) -> None:
        self.control[M_RELEASE] = 1 if value else 0

    @property
    def reader(self) -> tuple:
        """What `read_midi` takes besides the slot count and the frames, for compiled callers."""
        return (self.addresses, self.control, self._event, self._event_address, self._data,
                self._meta, self._ring, self._lost)

    @property
    def dropped(self) -> int:
        """JACK MIDI events that found the ring of RING_ROWS full (not read; the note-offs,
        pedal-ups and panics among them were applied late, `recovered`)."""
        return int(self._ring[RING_DROPPED])

    @property
    def recovered(self) -> int:
        return int(self._ring[RING_RECOVERED])

    def take_played(self) -> list[int]:
        """Control thread: the pitches played since the last call, in order."""
        ring = self.played_ring
        head, tail = int(ring[0]), int(ring[1])
        pitches = [int(self.played[k % PLAYED_ROWS]) for k in range(head, tail)]
        ring[0] = tail
        return pitches

    @property
    def waiting(self) -> int:
        """Events read but not translated yet (a flood is spread over blocks)."""
        return int(self._ring[RING_TAIL] - self._ring[RING_HEAD])

    def reusable(self, slot: int) -> bool:
        """Control thread: the rows a released port left in the ring are all read, so its
        slot can take a new port (they must not reach the new port's translator)."""
        return int(self._ring[RING_HEAD]) >= self.free_after[slot]

    def read(self, frames: int) -> None:
        """Audio thread: this cycle's MIDI, applied in this cycle within a budget (a flood
        waits in the ring, it never stalls the block). JACK's compiled callback does the
        two halves itself: `read_midi` compiled, then `apply` when `needs_python`."""
        read_midi(self.addresses, self.slots, frames, self._event, self._event_address,
                  self._data, self._meta, self._ring, self._lost)
        self.apply()

    def apply(self) -> None:
        """Audio thread: translate and apply the rows `read_midi` left waiting (within the
        block's budgets), lost events once the ring is empty, and asked releases."""
        n = rows_waiting(self._ring)
        if n:
            self._translate(n if n < ROWS_PER_BLOCK else ROWS_PER_BLOCK)
        if lost_to_apply(self._ring):  # compiled: a numpy scalar here would be an object
            self._apply_lost()
        if release_asked(self.control):  # compiled: no numpy scalar
            self._release()

    def _translate(self, n: int) -> None:
        """Apply up to n waiting rows: runs of plain notes compiled, the rest through the
        translator until PYTHON_BUDGET_S is spent (at least one row a block)."""
        data, meta = self._data, self._meta
        queue, tally = self.queue, self._tally
        records, indices, reserve, lost = (queue.records, queue.indices, queue.reserve,
                                           queue.lost_note_offs)
        played, played_ring = self.played, self.played_ring
        head = int(self._ring[RING_HEAD])
        rows = data.shape[0]
        deadline = 0.0
        i = 0
        while i < n:
            k = (head + i) % rows
            slot = int(meta[k, 0])
            port = self.ports[slot]
            if port is None:  # released: its rows are skipped
                i += 1
                continue
            if port.stream.idle:
                translator = port.translator
                tally[:] = 0
                done = note_rows(data, meta, head + i, n - i, slot, translator.key_state,
                                 translator.accepts, records, indices, reserve, lost, played,
                                 played_ring, tally)
                if done:
                    port.stream.passed(int(tally[2]), done)
                    translator.handled += done
                    self.messages += done
                    if tally[0] or tally[1]:
                        queue.refused += int(tally[0])
                        queue.lost_critical += int(tally[1])
                        queue.lost_pending = queue.lost_pending or bool(tally[1])
                    i += done
                    continue
            if deadline == 0.0:
                deadline = time.perf_counter() + PYTHON_BUDGET_S
            elif time.perf_counter() > deadline:
                break  # the rest waits for the next block
            self._feed(port, data[k, :int(meta[k, 2])].tolist(), int(meta[k, 2]) < meta[k, 3])
            i += 1
        self.events += i
        self._ring[RING_HEAD] = head + i

    def _feed(self, port: Any, data: list[int], cut: bool) -> None:
        """One event through the port's byte stream and translator (Python), counted."""
        from ...inputs.midi_ports import feed_port  # imported before audio (jack_midi.py)

        messages, junk, errors, error = feed_port(port, data)
        self.messages += messages
        self.bad_messages += junk or int(cut)
        if errors:
            self.errors += errors
            self.last_error = error

    def _apply_lost(self) -> None:
        """Note-offs, pedal-ups and panics that found the ring full, now that it is empty
        (after every note-on read before them)."""
        self._ring[RING_LOST] = 0  # before reading: a later loss sets it again
        for slot in range(self.slots):
            table = self._lost[slot]
            if not table.any():
                continue
            channels, columns = np.nonzero(table)
            table[channels, columns] = 0
            port = self.ports[slot]
            if port is None:
                continue
            for ch, column in zip(channels.tolist(), columns.tolist()):
                if column < LOST_PEDAL_UP:
                    self._feed(port, [0x80 | ch, column, 0], False)
                elif column == LOST_PEDAL_UP:
                    self._feed(port, [0xB0 | ch, 64, 0], False)
                else:
                    self._feed(port, [0xB0 | ch, 123, 0], False)

    def _release(self) -> None:
        self.control[M_RELEASE] = 0
        for slot in range(self.slots):
            if self.releasing[slot]:
                self.addresses[slot] = 0
                port = self.ports[slot]
                self.ports[slot] = None  # its rows still in the ring are skipped
                self.free_after[slot] = int(self._ring[RING_TAIL])
                self._lost[slot] = 0
                self.released[slot] = port.translator.release_all() if port is not None else 0
                self.releasing[slot] = False
