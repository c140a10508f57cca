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

JACK's compiled process callback (rt/jack_callback.py) reads the ports
(`read_midi`) and applies the plain notes (`plain_rows`) every cycle without
Python; what is left (`apply`: other messages through the translator, lost
events to apply, a release asked for) is Python, which that callback runs only
in the cycles with such work (`take_plain` says so, from numbers only). For that, what the
plain-note rules read and write per port lives in numbers too: the
translator's key arrays (in a stash, rt/stash.py), whether the port's byte
stream is between messages (`idle`), and the notes passed since Python last
looked at the port (`passed`), which the byte stream (its running status) and
the translator's count take in before the port's next message through Python.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

from ...events import NoteOff, NoteOn
from .event_queue import LOST, LOST_CRITICAL, REFUSED, EventQueue
from .jack_ports import (EVENT_BYTES, LOST_PANIC, LOST_PEDAL_UP, RING_DROPPED, RING_HEAD,
                         RING_LOST, RING_RECOVERED, RING_TAIL, event_struct, lost_to_apply,
                         read_midi)
from .jit import njit, on_warm_up
from .cells import array_cell
from .midi_notes import note_rows, put_played
from .stash import Stash

MAX_PORTS = 16
RING_ROWS = 16384  # JACK MIDI events waiting to be applied, all ports (past it: dropped)
ROWS_PER_BLOCK = 1024  # events applied per block at most (plain notes cost ~0.3 us each)
PYTHON_BUDGET_S = 0.0005  # a block's time for events through the translator (~10 us each)
HANDOVER_LIMIT = 65536  # actions waiting for the control thread (past it: dropped, counted)

CONTROL, PROGRAM, MORPH = "control", "program", "morph"
PLAYED_ROWS = 4096  # pitches played, waiting for the control thread (past it: dropped)
# CallbackMidi.control: port slots in use; a release was asked; rows the compiled path took
# this cycle (they count against ROWS_PER_BLOCK)
M_SLOTS, M_RELEASE, M_TAKEN = 0, 1, 2
C_EVENTS, C_MESSAGES = 0, 1  # CallbackMidi.counts: JACK MIDI events taken; messages applied
P_COUNT, P_STATUS = 0, 1  # CallbackMidi.passed[slot]: plain notes applied, the last status


@njit
def plain_rows(reader, queue, ports, n):
    """Take up to n waiting rows from the ring's head while each is a plain note-on,
    note-off or pitch bend from a port whose byte stream is between messages (applied, as the
    translator would, by midi_notes.note_rows) or from a released port (skipped); stop at
    the first row that needs the translator. Returns the rows taken.

    `reader`: CallbackMidi.reader; `queue`: (records, indices, reserve, lost note-offs,
    played, played ring); `ports`: (stash address, stride, idle, passed, counts, tally)."""
    addresses, control, event, event_address, data, meta, ring, lost = reader
    records, indices, reserve, lost_note_offs, played, played_ring = queue
    at, stride, idle, passed, counts, tally = ports
    head = ring[RING_HEAD]
    rows = data.shape[0]
    i = 0
    while i < n:
        k = (head + i) % rows
        slot = meta[k, 0]
        if addresses[slot] == 0:  # released: its rows are skipped
            i += 1
            continue
        if idle[slot] == 0:
            break
        state, accepts = PORT_LOAD(at + slot * stride)
        tally[0] = tally[1] = tally[2] = 0
        done = note_rows(data, meta, head + i, n - i, slot, state, accepts, records, indices,
                         reserve, lost_note_offs, played, played_ring, tally)
        if done == 0:
            break
        passed[slot, P_COUNT] += done
        passed[slot, P_STATUS] = tally[2]
        counts[C_MESSAGES] += done
        indices[REFUSED] += tally[0]
        if tally[1] != 0:
            indices[LOST_CRITICAL] += tally[1]
            indices[LOST] = 1
        i += done
    counts[C_EVENTS] += i
    ring[RING_HEAD] = head + i
    return i


@njit
def rows_waiting(ring):
    """Rows read but not applied yet (a Python int from compiled code: no numpy scalar)."""
    return ring[RING_TAIL] - ring[RING_HEAD]


@njit
def any_passed(passed):
    for slot in range(passed.shape[0]):
        if passed[slot, P_COUNT] != 0:
            return True
    return False


@njit
def rows_left(control):
    """Rows this cycle may still apply (ROWS_PER_BLOCK less what the compiled path took)."""
    return ROWS_PER_BLOCK - control[M_TAKEN]


@njit
def release_asked(control):
    return control[M_RELEASE] != 0


@njit
def take_plain(reader, queue, ports, waiting):
    """The compiled callback's MIDI step after `read_midi`: the plain notes at the ring's
    head (`plain_rows`, within ROWS_PER_BLOCK); returns whether the cycle needs `apply`
    (Python): a row for the translator within the budget, lost events to apply now that
    the ring is empty, or a port to release."""
    control, ring = reader[1], reader[6]
    budget = waiting if waiting < ROWS_PER_BLOCK else ROWS_PER_BLOCK
    taken = plain_rows(reader, queue, ports, budget)
    control[M_TAKEN] = taken
    return taken < budget or release_asked(control) or lost_to_apply(ring)


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
        self.control = np.zeros(3, dtype=np.int64)
        self.releasing = [False] * MAX_PORTS  # asked by the control thread
        self.released = [-1] * MAX_PORTS  # notes released (set by this thread when done)
        self._event, self._event_address = event_struct()
        self._data = np.zeros((RING_ROWS, EVENT_BYTES), dtype=np.uint8)
        self._meta = np.zeros((RING_ROWS, 4), dtype=np.int64)
        self._ring = np.zeros(5, dtype=np.int64)  # jack_ports.read_midi's ring (RING_*)
        self._lost = np.zeros((MAX_PORTS, 16, LOST_PANIC + 1), dtype=np.uint8)  # read_midi's
        self.free_after = [0] * MAX_PORTS  # ring position a released slot may be reused at
        self._tally = np.zeros(3, dtype=np.int64)  # midi_notes.note_rows: refused, lost, status
        # the plain-note path's numbers per port slot (see the module docstring)
        self.idle = np.zeros(MAX_PORTS, dtype=np.int64)
        self.passed = np.zeros((MAX_PORTS, 2), dtype=np.int64)  # P_COUNT, P_STATUS
        self._keys = Stash(_port_arrays(), MAX_PORTS)  # each port translator's key arrays
        self.counts = np.zeros(2, dtype=np.int64)  # C_EVENTS, C_MESSAGES (read any thread)
        self.notes_path = (queue.records, queue.indices, queue.reserve, queue.lost_note_offs,
                           self.played, self.played_ring)
        self.port_path = (self._keys.address, self._keys.stride, self.idle, self.passed,
                          self.counts, self._tally)
        # counters (read from any thread)
        self.bad_messages = 0
        self.errors = 0
        self.last_error = ""

    events = array_cell("counts", C_EVENTS, int)  # JACK MIDI events read and taken
    messages = array_cell("counts", C_MESSAGES, int)

    def publish(self, slot: int, port: Any, address: int) -> None:
        """Control thread: give the audio thread a new port (midi_ports.OpenPort) in a free
        slot, its port buffer at `address` published last."""
        translator = port.translator
        self.ports[slot] = port
        self.released[slot] = -1
        self.passed[slot] = 0
        self.idle[slot] = 1 if port.stream.idle else 0
        self._keys.put((translator.key_state, translator.accepts), slot)
        self.addresses[slot] = address  # last: the audio thread reads the slot from now on
        self.slots = max(self.slots, slot + 1)

    def pending_handled(self, slot: int) -> int:
        """Any thread: plain notes the compiled path applied for the port in `slot` that its
        translator's `handled` does not count yet."""
        return int(self.passed[slot, P_COUNT])

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
        two halves itself: `read_midi` and `take_plain` compiled, then `apply` when
        `take_plain` says the cycle needs it."""
        read_midi(self.addresses, self.slots, frames, self._event, self._event_address,
                  self._data, self._meta, self._ring, self._lost)
        self.control[M_TAKEN] = 0
        self.apply()

    def apply(self) -> None:
        """Audio thread: translate and apply the rows `read_midi` left waiting (within the
        block's budgets), lost events once the ring is empty, and asked releases."""
        n = rows_waiting(self._ring)
        if n:  # (an int past 256 is an object: only in cycles with MIDI, which allocate)
            left = rows_left(self.control)
            if left:
                self._translate(n if n < left else left)
        if lost_to_apply(self._ring):  # compiled: a numpy scalar here would be an object
            self._apply_lost()
        if release_asked(self.control):  # compiled: no numpy scalar
            self._release()
        self._sync_all()

    def _sync_all(self) -> None:
        """Every port takes in what the compiled path passed (so a port that only plays
        plain notes still counts them whenever this thread runs Python)."""
        passed, ports = self.passed, self.ports
        if not any_passed(passed):  # compiled: the usual case allocates nothing
            return
        for slot in range(self.slots):
            port = ports[slot]
            if port is not None and passed[slot, P_COUNT]:
                self._sync(slot, port)

    def _translate(self, n: int) -> None:
        """Apply up to n waiting rows: runs of plain notes compiled (`plain_rows`), the rest
        through the translator until PYTHON_BUDGET_S is spent (at least one row a block)."""
        data, meta, ring = self._data, self._meta, self._ring
        rows = data.shape[0]
        deadline = 0.0
        i = 0
        while i < n:
            i += plain_rows(self.reader, self.notes_path, self.port_path, n - i)
            if i >= n:
                break
            if deadline == 0.0:
                deadline = time.perf_counter() + PYTHON_BUDGET_S
            elif time.perf_counter() > deadline:
                break  # the rest waits for the next block
            k = int(ring[RING_HEAD]) % rows
            slot = int(meta[k, 0])
            port = self.ports[slot]
            if port is not None:  # (a slot published without a port, in tests: skipped)
                self._feed(slot, port, data[k, :int(meta[k, 2])].tolist(),
                           int(meta[k, 2]) < meta[k, 3])
            ring[RING_HEAD] += 1
            self.counts[C_EVENTS] += 1
            i += 1

    def _sync(self, slot: int, port: Any) -> None:
        """Before Python handles the port's next message: its byte stream and translator take
        in the plain notes the compiled path passed (running status, counts)."""
        count = int(self.passed[slot, P_COUNT])
        if count:
            port.stream.passed(int(self.passed[slot, P_STATUS]), count)
            port.translator.handled += count
            self.passed[slot, P_COUNT] = 0

    def _feed(self, slot: int, port: Any, data: list[int], cut: bool) -> None:
        """One event through the port's byte stream and translator (Python), counted."""
        from ...inputs.midi_ports import feed_port  # imported before audio (jack_midi.py)

        self._sync(slot, port)
        messages, junk, errors, error = feed_port(port, data)
        self.idle[slot] = 1 if port.stream.idle else 0
        self.counts[C_MESSAGES] += messages
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
                    self._feed(slot, port, [0x80 | ch, column, 0], False)
                elif column == LOST_PEDAL_UP:
                    self._feed(slot, port, [0xB0 | ch, 64, 0], False)
                else:
                    self._feed(slot, port, [0xB0 | ch, 123, 0], False)

    def _release(self) -> None:
        self.control[M_RELEASE] = 0
        for slot in range(self.slots):
            if self.releasing[slot]:
                self.addresses[slot] = 0
                port = self.ports[slot]
                self.ports[slot] = None  # its rows still in the ring are skipped
                self.free_after[slot] = int(self._ring[RING_TAIL])
                self._lost[slot] = 0
                if port is not None:
                    self._sync(slot, port)
                self.idle[slot] = 0
                self.released[slot] = port.translator.release_all() if port is not None else 0
                self.releasing[slot] = False


def _port_arrays() -> tuple:
    """An empty slot's (key arrays, accepted channels): of the types a translator's are."""
    from ...inputs.midi_keys import key_state

    return key_state(), np.zeros(16, dtype=bool)


PORT_LOAD = Stash(_port_arrays()).load  # the stash load intrinsic `plain_rows` calls


@on_warm_up
def _warm_up() -> None:
    midi = CallbackMidi(EventQueue(8, 2))
    take_plain(midi.reader, midi.notes_path, midi.port_path, 0)
    plain_rows(midi.reader, midi.notes_path, midi.port_path, 0)  # also called from Python
    rows_waiting(midi._ring)
    rows_left(midi.control)
    any_passed(midi.passed)
    release_asked(midi.control)
