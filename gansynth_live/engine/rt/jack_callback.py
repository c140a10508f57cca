"""Audio thread only: JACK's process callback when the engine is a JACK client of its own, compiled.

`serve --jack` (engine/jack_stream.py) plays without PortAudio, and JACK calls
this callback: a numba `cfunc`, machine code with no Python in it, registered
with libjack directly. Why: a Python callback must take the interpreter lock at
every period's start, and any other Python thread of serve (OSC, web, the bank
service's bookkeeping, the recorder's writer) that holds the lock then delays
the period; the soak measured it (docs/benchmarks.md, "Whose xruns they are").

Per cycle, all compiled: note how late the cycle started (JACK's frame clock)
and mark the callback in flight; read this cycle's MIDI from the engine's ports
into a ring and apply its plain note-ons, note-offs and pitch bends
(rt/jack_midi.py); then decide whether the cycle needs Python, from numbers
only: MIDI messages for the translator (controllers, pedals, program
changes...), a layer set or recorder
published since the last cycle, records the compiled rules leave to Python,
lost events to apply, a bank slot to let go, a port to release, the first
cycle. Only then does it call `JackCycle.python_part` through a C function
pointer, which takes the interpreter lock for that part (counted:
`python_cycles`). Then, compiled again: the renderer's block
(`renderer.render_frames`: events, mix, limiter, counters), the recorder rings
(`recorder.ring_write`), the two output ports (`write_stereo`), and the cost
accounting.

What it reads lives in one stash (rt/stash.py): the renderer's block tuple,
the MIDI ring, the counters, the addresses of the current layer set's and
the recorders' stashes, which the Python part rewrites when the control
threads publish new ones. The cfunc is compiled once per process for the
engine's types (numba cannot cache code that calls library addresses).
"""

from __future__ import annotations

import ctypes
import threading
from typing import TYPE_CHECKING

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from ..recorder import ring_write
from .atomics import fence
from .counters import CALLBACK_ERRORS, IN_CALLBACK, PYTHON_CYCLES, close_callback
from .jack_midi import CallbackMidi, take_plain
from .jack_ports import clock_now_s, note_cycle_start, read_midi, write_stereo
from .jit import OPTIONS, njit, on_warm_up
from .renderer import P_LAYERS, P_RECORDER, render_frames, wants_python
from .stash import Stash

if TYPE_CHECKING:
    from ..engine import Engine

MAX_FRAMES = 8192  # JACK's largest period
MAX_RECORDERS = 4  # recorders fed at once (a session recording and a take are two)
# JackCycle.control: run Python in the next cycle whatever else; the layer and recorder
# publications the Python part has taken; recorders in the stash
C_FORCE, C_LAYERS_SEEN, C_RECORDER_SEEN, C_RECORDERS = range(4)
CONTROL = 4
PYTHON_PART = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)  # (frames) -> events applied

_COMPILE = dict(OPTIONS, cache=False)


@intrinsic
def _call(typingctx, address, argument):
    """Call the C function `int64 f(int64)` at an integer address."""
    def codegen(context, builder, signature, args):
        function = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        return builder.call(builder.inttoptr(args[0], function.as_pointer()), [args[1]])
    return types.int64(types.int64, types.int64), codegen


def _compile(cycle_stash: Stash, layer_stash: Stash, recorder_stash: Stash):
    """The cfunc JACK calls, for these stashes' types."""
    load_cycle, load_layers, load_recorder = cycle_stash.load, layer_stash.load, recorder_stash.load

    @numba.njit(**_COMPILE)
    def run(frames, address):
        (block, layers_at, banks, buffer, counters, jack, midi, notes_path, port_path,
         control, python_part, recorders_at, recorder_stride, rates) = load_cycle(address)
        ints, starts, costs, hist, clock = counters
        client, left, right = jack
        sample_rate, per_bin = rates
        addresses, midi_control, event, event_address, data, meta, ring, lost = midi
        started = clock_now_s(clock)
        ints[IN_CALLBACK] = 1
        fence()  # before reading what control threads published (atomics.py)
        note_cycle_start(starts, ints, client, sample_rate, frames)
        waiting = read_midi(addresses, midi_control[0], frames, event, event_address, data,
                            meta, ring, lost)
        midi_python = take_plain(midi, notes_path, port_path, waiting)  # plain notes, here
        published = block[13]  # Renderer.published
        applied = 0
        if (control[C_FORCE] != 0 or midi_python
                or wants_python(block) or published[P_LAYERS] != control[C_LAYERS_SEEN]
                or published[P_RECORDER] != control[C_RECORDER_SEEN]):
            ints[PYTHON_CYCLES] += 1
            applied = _call(python_part, frames)
            if applied < 0:  # the Python part failed (counted there); render anyway
                applied = 0
        out = buffer[:frames]
        render_frames(block, load_layers(layers_at), banks, out, frames, applied)
        for i in range(control[C_RECORDERS]):
            recorder_ring, recorder_counts = load_recorder(recorders_at + i * recorder_stride)
            ring_write(recorder_ring, out, recorder_counts)
        write_stereo(left, right, buffer, frames)
        close_callback(ints, costs, hist, clock_now_s(clock) - started, frames, sample_rate,
                       per_bin)
        ints[IN_CALLBACK] = 0
        return 0

    @numba.cfunc(types.int32(types.uint32, types.int64), **_COMPILE)
    def process(frames, address):  # JACK's int (*)(jack_nframes_t, void *arg)
        return run(frames, address)

    return process


_COMPILED: dict[tuple, object] = {}


@njit
def take_publications(control, published):
    """Note the publications this Python part takes (before acting on them, so a later one
    is seen next cycle); returns 1 when the recorder changed, 2 on the first cycle, or both."""
    changed = 0
    if control[C_FORCE] != 0:
        control[C_FORCE] = 0
        changed |= 2
    control[C_LAYERS_SEEN] = published[P_LAYERS]
    if control[C_RECORDER_SEEN] != published[P_RECORDER]:
        control[C_RECORDER_SEEN] = published[P_RECORDER]
        changed |= 1
    return changed


@on_warm_up
def _warm_up() -> None:
    take_publications(np.zeros(CONTROL, dtype=np.int64), np.zeros(2, dtype=np.int64))


class JackCycle:
    """The compiled process callback for `engine` and the Python part it calls.

    `address` and `arg` are what jack_set_process_callback takes; keep this object
    alive while the client is active (it owns every buffer the callback reads).
    `client`, `left`, `right`: the addresses of the client and its output ports.
    """

    def __init__(self, engine: Engine, client: int, left: int, right: int,
                 midi: CallbackMidi) -> None:
        self.engine = engine
        self.midi = midi
        self.renderer = renderer = engine.renderer
        counters = engine.counters
        self.control = np.zeros(CONTROL, dtype=np.int64)
        self.control[C_FORCE] = 1  # the first cycle notes the thread and takes the layers
        self.buffer = np.zeros((MAX_FRAMES, 2), dtype=np.float32)
        self.buffer.fill(0.0)  # every page touched now
        self.clock = np.zeros(2, dtype=np.int64)  # clock_gettime's timespec
        ring, counts = np.zeros((1, 2), dtype=np.float32), np.zeros(4, dtype=np.int64)
        self._no_recorder = (ring, counts)
        self.recorders = Stash(self._no_recorder, MAX_RECORDERS)
        self._python_part = PYTHON_PART(self.python_part)  # kept: libjack holds its address
        python_address = ctypes.cast(self._python_part, ctypes.c_void_p).value or 0
        cycle = (renderer.block, renderer.layer_stash.entry(0), renderer.slots.banks, self.buffer,
                 (counters.ints, counters.starts, counters.costs, counters.cost_hist,
                  self.clock),
                 (client, left, right), midi.reader, midi.notes_path, midi.port_path,
                 self.control, python_address,
                 self.recorders.entry(0), self.recorders.stride,
                 (float(engine.sample_rate), 1.0 / counters.COST_BIN_S))
        self.stash = Stash(cycle)
        key = (self.stash.nbtype, renderer.layer_stash.nbtype, self.recorders.nbtype)
        if key not in _COMPILED:  # about a second, once per process (control thread)
            _COMPILED[key] = _compile(self.stash, renderer.layer_stash, self.recorders)
        self.address = _COMPILED[key].address
        self.arg = self.stash.address
        self._kept_thread_state = False

    def python_part(self, frames: int) -> int:
        """The cycle's Python, with the interpreter lock (a ctypes callback takes it):
        the MIDI translation, the renderer's `prepare`, a new recorder. Returns the
        events applied (they count against the block's limit), -1 on an internal error
        (counted; the cycle still renders)."""
        try:
            changed = take_publications(self.control, self.renderer.published)
            if changed:
                if changed & 2:
                    self._first_cycle()
                if changed & 1:
                    self._take_recorder()
            midi = self.midi
            try:
                midi.apply()
            except Exception as exc:  # noqa: BLE001 - the audio must go on; counted
                midi.errors += 1
                midi.last_error = f"{type(exc).__name__}: {exc}"
            return self.renderer.prepare()
        except BaseException as exc:  # noqa: BLE001 - nothing may escape into libjack
            counters = self.engine.counters
            counters.ints[CALLBACK_ERRORS] += 1
            counters.last_error = f"{type(exc).__name__}: {exc}"
            return -1

    def _first_cycle(self) -> None:
        """JACK's thread, seen for the first time: note it (the soak watches its faults)
        and keep its Python thread state, which ctypes would otherwise make and free in
        every cycle that runs Python."""
        counters = self.engine.counters
        counters.audio_thread_id = threading.get_native_id()
        if not self._kept_thread_state:
            ctypes.pythonapi.PyGILState_Ensure()  # never released: the thread keeps it
            self._kept_thread_state = True

    def _take_recorder(self) -> None:
        """Feed the recorder(s) the engine holds now (the old ones are let go here; the
        control thread waits for this cycle before closing them)."""
        recorder = self.engine.recorder
        parts = () if recorder is None else tuple(r.parts for r in recorder.recorders)
        count = min(len(parts), MAX_RECORDERS)
        self.control[C_RECORDERS] = 0  # while the stash changes
        for k in range(MAX_RECORDERS):
            self.recorders.put(parts[k] if k < count else self._no_recorder, k)
        self.control[C_RECORDERS] = count
