"""Audio thread only: JACK's port buffers read and written from compiled code, with no Python object.

Why not JACK-Client's own calls in the process callback: `Port.get_array()`
makes a numpy array per port per cycle and `OwnMidiPort.incoming_midi_events()`
a generator, tuples and buffers per message, all on the audio thread. Here
libjack's C functions are called from numba-compiled code through ctypes:
`jack_port_get_buffer`, `jack_midi_get_event_count`, `jack_midi_event_get` and
`jack_frames_since_cycle_start`, with every pointer passed as an integer
(int64: a Python int matches it exactly, where uint64 made numba's dispatcher
allocate while converting; arrays C-contiguous for the same reason) and
dereferenced by small intrinsics (`load_u8`, `store_f32`: rt/stash.py's). Each
function is compiled for its signature when this module is imported (by
`engine/jack_stream.py`, on the control thread), never in a callback; numba
cannot cache code that calls a library address, so import takes about a second.

The xrun and shutdown notifications are counted by compiled C callbacks too
(`count_xruns_and_shutdown`): no Python runs on libjack's notification thread.

Imported only when the engine plays through JACK directly (`serve --jack`): a
machine without libjack never loads it.
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numba
import numpy as np
from numba.core import types

from .counters import CYCLE_TIME, CYCLES_MISSED, note_start
from .jit import OPTIONS
from .stash import load_at, store_at

_LIBRARY = ctypes.util.find_library("jack")
if _LIBRARY is None:  # pragma: no cover - JACK-Client would have failed first
    raise ImportError("libjack is not installed (Debian/Ubuntu: libjack-jackd2-0)")
_jack = ctypes.CDLL(_LIBRARY)
_u64, _u32 = ctypes.c_uint64, ctypes.c_uint32  # pointers travel as integers (64-bit ABI)

port_get_buffer = _jack.jack_port_get_buffer
port_get_buffer.argtypes, port_get_buffer.restype = [_u64, _u32], _u64
midi_event_count = _jack.jack_midi_get_event_count
midi_event_count.argtypes, midi_event_count.restype = [_u64], _u32
midi_event_get = _jack.jack_midi_event_get  # (jack_midi_event_t *out, void *buffer, index)
midi_event_get.argtypes, midi_event_get.restype = [_u64, _u64, _u32], ctypes.c_int
frames_since_cycle_start = _jack.jack_frames_since_cycle_start
frames_since_cycle_start.argtypes, frames_since_cycle_start.restype = [_u64], _u32
last_frame_time = _jack.jack_last_frame_time  # the frame time at this cycle's start
last_frame_time.argtypes, last_frame_time.restype = [_u64], _u32

# jack_midi_event_t: {uint32 time (padded to 8 bytes), size_t size, uint8 *buffer}
EVENT_WORDS = 3
EV_TIME, EV_SIZE, EV_BUFFER = 0, 1, 2
EVENT_BYTES = 32  # kept of each JACK MIDI event: several messages with running status fit;
# a longer one (SysEx, which nothing here reads) is cut, and the byte stream counts it as junk

_COMPILE = dict(OPTIONS, cache=False)


# a byte, float32 or int64 read or written at an integer address (stash.py's intrinsics)
load_u8, store_f32 = load_at(types.uint8), store_at(types.float32)
load_i64, store_i64 = load_at(types.int64), store_at(types.int64)


@numba.njit(types.void(types.int64, types.int64, types.float32[:, ::1], types.int64),
            **_COMPILE)
def write_stereo(left_port, right_port, block, frames):
    """Copy `frames` rows of the interleaved (frames, 2) `block` into two JACK audio ports."""
    left = port_get_buffer(left_port, frames)
    right = port_get_buffer(right_port, frames)
    for i in range(frames):
        store_f32(left + 4 * i, block[i, 0])
        store_f32(right + 4 * i, block[i, 1])


RING_HEAD, RING_TAIL, RING_DROPPED, RING_LOST, RING_RECOVERED = range(5)  # read_midi's `ring`
LOST_PEDAL_UP, LOST_PANIC = 128, 129  # columns of read_midi's `lost` after the 128 keys


@numba.njit(types.int64(types.uint64[::1], types.int64, types.int64, types.uint64[::1], types.int64,
                        types.uint8[:, ::1], types.int64[:, ::1], types.int64[::1],
                        types.uint8[:, :, ::1]), **_COMPILE)
def read_midi(ports, count, frames, event, event_address, data, meta, ring, lost):
    """Append every MIDI event waiting at the first `count` ports (0 = an empty slot) this
    cycle to a ring of rows; return how many rows wait in it.

    Row k % len(data) of `data` gets an event's first bytes (up to its width), of `meta`
    (port slot, frame offset, length kept, length sent). `ring` is [head, tail, dropped,
    lost pending, recovered]: this function advances the tail, the reader the head. An
    event that finds the ring full is dropped and counted; if it is a note-off, a pedal
    up or an all-notes/sound-off (a whole 3-byte message), it is also remembered in
    `lost[slot, channel, key or LOST_PEDAL_UP or LOST_PANIC]` for the reader to apply
    once the ring is empty, as EventQueue does with its own: a flood never leaves a note
    stuck. (JACK clears its buffers at the cycle's end.)
    """
    width = data.shape[1]
    capacity = data.shape[0]
    for slot in range(count):
        port = ports[slot]
        if port == 0:
            continue
        buffer = port_get_buffer(port, frames)
        waiting = midi_event_count(buffer)
        for i in range(waiting):
            if midi_event_get(event_address, buffer, i) != 0:
                continue
            size = event[EV_SIZE]
            if ring[RING_TAIL] - ring[RING_HEAD] >= capacity:
                ring[RING_DROPPED] += 1
                if size == 3:
                    status = load_u8(event[EV_BUFFER])
                    key = load_u8(event[EV_BUFFER] + 1)
                    value = load_u8(event[EV_BUFFER] + 2)
                    kind, ch = status & 0xF0, status & 0x0F
                    column = -1
                    if key < 128 and (kind == 0x80 or (kind == 0x90 and value == 0)):
                        column = key
                    elif kind == 0xB0 and key == 64 and value < 64:
                        column = LOST_PEDAL_UP
                    elif kind == 0xB0 and (key == 120 or key == 123):
                        column = LOST_PANIC
                    if column >= 0:
                        lost[slot, ch, column] = 1
                        ring[RING_LOST] = 1
                        ring[RING_RECOVERED] += 1
                continue
            row = ring[RING_TAIL] % capacity
            kept = size if size < width else width
            for j in range(kept):
                data[row, j] = load_u8(event[EV_BUFFER] + j)
            meta[row, 0] = slot
            meta[row, 1] = event[EV_TIME] & 0xFFFFFFFF
            meta[row, 2] = kept
            meta[row, 3] = size
            ring[RING_TAIL] += 1
    return ring[RING_TAIL] - ring[RING_HEAD]


@numba.njit(types.boolean(types.int64[::1]), **_COMPILE)
def lost_to_apply(ring):
    """read_midi remembered note-offs, pedal-ups or panics, and the ring is empty now."""
    return ring[RING_LOST] != 0 and ring[RING_HEAD] == ring[RING_TAIL]


# int64 for each C `void *arg`: the same register on a 64-bit ABI, and integer arithmetic
# for the pointer intrinsics above; one writer per counter (libjack's notification thread)
@numba.cfunc(types.int32(types.int64), nopython=True, cache=False)
def _count_xrun(counter):
    store_i64(counter, load_i64(counter) + 1)
    return 0


@numba.cfunc(types.void(types.int32, types.voidptr, types.int64), nopython=True, cache=False)
def _note_shutdown(code, reason, flag):
    store_i64(flag, load_i64(flag) + 1)


_set_xrun = _jack.jack_set_xrun_callback  # (client, int (*)(void *), void *arg)
_set_xrun.argtypes, _set_xrun.restype = [_u64, _u64, _u64], ctypes.c_int
_on_shutdown = _jack.jack_on_info_shutdown  # (client, void (*)(status, char *, void *), arg)
_on_shutdown.argtypes, _on_shutdown.restype = [_u64, _u64, _u64], None


def count_xruns_and_shutdown(client: int, xruns: int, shutdown: int) -> None:
    """Before activating `client`: JACK's xrun and shutdown notifications bump the int64s
    at these addresses, in compiled code. Control thread.

    Why not Python callbacks (JACK-Client's set_xrun_callback): they run on libjack's
    notification thread and need the GIL; a thread of this process that holds the GIL
    inside a JACK call of its own (python-rtmidi opening a port does) waits for the
    server, the server for that notification, the notification for the GIL: a deadlock
    (seen in the tests, RtMidi keyboards beside the engine)."""
    if _set_xrun(client, _count_xrun.address, xruns) != 0:
        raise OSError("jack_set_xrun_callback failed")
    _on_shutdown(client, _note_shutdown.address, shutdown)


_set_process = _jack.jack_set_process_callback  # (client, int (*)(nframes, void *), void *)
_set_process.argtypes, _set_process.restype = [_u64, _u64, _u64], ctypes.c_int


def set_process(client: int, callback: int, arg: int) -> None:
    """Before activating `client`: JACK calls the C function at `callback` with `arg` each
    cycle (a numba cfunc: no Python). Control thread."""
    if _set_process(client, callback, arg) != 0:
        raise OSError("jack_set_process_callback failed")


_libc = ctypes.CDLL(None)
_clock_gettime = _libc.clock_gettime  # (clockid, struct timespec *): two int64 on 64-bit Linux
_clock_gettime.argtypes, _clock_gettime.restype = [ctypes.c_int, _u64], ctypes.c_int
_CLOCK_MONOTONIC = 1  # time.monotonic's clock on Linux
LOG_COUNT, LOG_CAPACITY, LOG_CLOCK, LOG_TIMES = 0, 1, 2, 4  # XrunLog's int64 words


@numba.njit(types.float64(types.int64[::1]), **_COMPILE)
def clock_now_s(timespec):
    """time.monotonic() in compiled code: seconds, through the int64 pair `timespec`."""
    _clock_gettime(_CLOCK_MONOTONIC, timespec.ctypes.data)
    return timespec[0] + timespec[1] * 1e-9


@numba.cfunc(types.int32(types.int64), nopython=True, cache=False)
def _log_xrun(log):  # log: XrunLog's int64 words, by address like the counters above
    count = load_i64(log + 8 * LOG_COUNT)
    if count < load_i64(log + 8 * LOG_CAPACITY):  # the time first: a reader trusts count
        clock = log + 8 * LOG_CLOCK
        _clock_gettime(_CLOCK_MONOTONIC, clock)
        store_i64(log + 8 * (LOG_TIMES + count),
                  load_i64(clock) * 1_000_000_000 + load_i64(clock + 8))
    store_i64(log + 8 * LOG_COUNT, count + 1)
    return 0


class XrunLog:
    """A JACK client's xrun notifications counted, and the first `capacity` timed, by a
    compiled C callback: for tests and benchmarks that watch a server from a process
    that also runs RtMidi (the deadlock `count_xruns_and_shutdown` describes). Set up
    before the client is activated (JACK takes one xrun callback per client)."""

    def __init__(self, client: int, capacity: int = 4096) -> None:
        self._log = np.zeros(LOG_TIMES + capacity, dtype=np.int64)
        self._log[LOG_CAPACITY] = capacity
        if _set_xrun(client, _log_xrun.address, self._log.ctypes.data) != 0:
            raise OSError("jack_set_xrun_callback failed")

    @property
    def count(self) -> int:
        return int(self._log[LOG_COUNT])

    def times(self) -> list[float]:
        """When each logged xrun was noticed, in seconds on time.monotonic()'s clock."""
        kept = min(self.count, int(self._log[LOG_CAPACITY]))
        return [int(t) / 1e9 for t in self._log[LOG_TIMES:LOG_TIMES + kept]]


def address(cdata: object) -> int:
    """A JACK-Client cdata pointer (a port's or client's `_ptr`) as an integer."""
    import jack

    return int(jack._ffi.cast("uintptr_t", cdata))


def event_struct() -> tuple[np.ndarray, int]:
    """A jack_midi_event_t that `read_midi` fills, and its address."""
    event = np.zeros(EVENT_WORDS, dtype=np.uint64)
    return event, int(event.ctypes.data)


@numba.njit(types.void(types.float64[::1], types.int64[::1], types.int64, types.float64,
                        types.int64), **_COMPILE)
def note_cycle_start(starts, ints, client, sample_rate, frames):
    """Keep how far into its period this process call began (seconds) in the ring `starts`,
    and count the cycles JACK ran since the last call without calling it: their MIDI is
    gone (a JACK port's events live one cycle), as in any JACK client that misses a cycle.
    ints[CYCLE_TIME] holds the frame time the next cycle should start at (0: none yet)."""
    note_start(starts, ints, frames_since_cycle_start(client) / sample_rate)
    now = np.int64(last_frame_time(client))
    expected = ints[CYCLE_TIME]  # where this cycle starts if none was missed (0: first)
    if expected != 0 and frames > 0:
        ahead = (now - expected) & 0xFFFFFFFF  # JACK's frame time wraps at 2**32
        if 0 < ahead < 0x80000000:
            ints[CYCLES_MISSED] += (ahead + frames - 1) // frames
    ints[CYCLE_TIME] = ((now + frames) & 0xFFFFFFFF) or 1


_latency_range = _jack.jack_port_get_latency_range  # (port, mode, jack_latency_range_t *)
_latency_range.argtypes, _latency_range.restype = [_u64, ctypes.c_int, _u64], None
PLAYBACK_LATENCY = 1  # JackPlaybackLatency


def playback_latency_frames(port: int) -> int:
    """Frames from writing `port` to the sound leaving the hardware (JACK's playback
    latency range, its maximum). Control thread."""
    latency = np.zeros(2, dtype=np.uint32)
    _latency_range(port, PLAYBACK_LATENCY, latency.ctypes.data)
    return int(latency[1])
