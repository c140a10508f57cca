"""The Engine: the facade any thread may call, and the setup of the real-time core.

Threads (the contract every method states):
- any thread: `push` (non-blocking), `set_layers` (builds lookup tables in
  the caller, then swaps one reference), `stats`, `collect`;
- the audio thread only (the PortAudio callback, or the offline render loop,
  never both): `process`, which is `rt.renderer.Renderer.process`.

The code the audio thread runs lives in `engine/rt/` (every module there
says "Audio thread only."); this module builds it and reads its counters.
Nothing the audio thread touches is locked: events go through the bounded
`EventQueue`, new banks as an immutable `PreparedLayers` read once per
block, and references the audio thread lets go of come back through a
`RetireRing` so that big arrays are freed by `collect`, never in the callback.
"""

from __future__ import annotations

import importlib
import threading
import time
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..banks.bank import BankLayers
from ..events import SetLayers
from .config import EngineConfig
from .event_records import QUEUED_TYPES
from .layers import PitchTable, prepare_layers
from .rt import envelope as env
from .rt import jit
from .rt.counters import Counters
from .rt.atomics import publish
from .rt.renderer import P_LAYERS, P_RECORDER, Renderer

__all__ = ["Counters", "Engine", "EngineStats", "load_kernels"]

HAND_OFF_TIMEOUT_S = 2.0  # a callback still in flight after this long: the device stalled
HAND_OFF_POLL_S = 0.0005


@dataclass(frozen=True)
class EngineStats:
    """A snapshot for status displays and tests; see docs/engine.md for each field."""

    voices_active: int
    voices_sounding: int
    polyphony: int
    callbacks: int
    xruns: int
    overruns: int
    callback_errors: int
    last_error: str
    callback_avg_ms: float
    callback_max_ms: float
    frames: int
    events_refused: int
    events_lost_recovered: int
    notes_started: int
    notes_refused: int
    notes_silent: int
    voices_stolen: int
    layer_swaps: int
    layer_swaps_waiting: int
    nonfinite_blocks: int
    limiter_reduction_db: float
    recorder_overflow_frames: int
    recorder_frames: int
    recorder_error: str
    callback_p99_ms: float = 0.0  # to 25 us (a histogram's bin)
    dsp_load: float = 0.0  # the callback's share of the period, smoothed (~0.5 s); 1.0 = all
    output_db: float = -120.0  # output level meter: peak dBFS, held and falling 20 dB / 1.7 s
    cycles_missed: int = 0  # serve --jack: JACK cycles without this callback (their MIDI lost)


def load_kernels() -> ModuleType:
    """The per-sample kernels (rt/kernel_numba.py), compiled and warmed up before any audio."""
    module = importlib.import_module(".rt.kernel_numba", __package__)
    module.warm_up()
    return module


class Engine:
    """A polyphonic sampler playing NoteBanks, morphing between them while notes sound."""

    def __init__(self, config: EngineConfig | None = None,
                 kernels: ModuleType | None = None) -> None:
        """`kernels`: for the tests only, a module with the kernels' interface (their numpy
        oracle, tests/unit/engine/kernel_oracle.py); the engine's own are compiled."""
        self.config = config = config or EngineConfig()
        self.sample_rate = config.sample_rate
        self.kernels = kernels if kernels is not None else load_kernels()
        jit.warm_up()  # the allocation-free helpers the callback calls, compiled now
        self.counters = Counters()
        self.renderer = Renderer(config, self.kernels, self.counters)
        self._recorder = None
        r = self.renderer
        self._queue, self._retire, self._slots, self._voices = r.queue, r.retire, r.slots, r.voices
        self._tables: dict[int, PitchTable] = {}
        self._tables_lock = threading.Lock()

    # --- any thread ---------------------------------------------------------------------
    def push(self, event: object) -> bool:
        """Send an event to the audio thread without blocking. Any thread.

        Returns False when the queue refused it (a flood; counted in stats).
        Note-offs, pedal-up and panic are never lost. A `SetLayers` is not
        queued but applied through `set_layers` in the calling thread.
        """
        if isinstance(event, SetLayers):
            self.set_layers(event.layers)
            return True
        if type(event) not in QUEUED_TYPES:
            raise TypeError(f"not an engine event: {event!r}")
        return self._queue.push(event)

    def set_layers(self, layers: BankLayers) -> None:
        """Play from these banks from now on: new notes at once, sounding notes glide. Any thread.

        With `config.follow_morph` False sounding notes keep the banks they
        started with; only notes started from now on play these.

        Builds per-pitch tables here (milliseconds for a new bank; cached per
        bank), then swaps one reference the audio thread reads once per block.
        Raises BankLayoutError for a bank the engine cannot play.
        """
        with self._tables_lock:
            prepared = prepare_layers(layers, self.sample_rate, self._tables)
        self.renderer.pending = prepared
        publish(self.renderer.published, P_LAYERS)
        self.collect()

    def collect(self) -> int:
        """Drop references the audio thread has finished with (frees old banks here). Any thread.

        AudioStream calls this from its housekeeping thread; call it yourself
        when driving `process` directly. Returns how many references it dropped.
        """
        dropped = self._retire.drain()
        r = self.renderer
        with self._tables_lock:
            keep = {id(t.bank) for t in list(self._slots.tables) if t is not None}
            for prepared in (r.pending, r.applied):
                if prepared is not None:
                    keep.update(id(t.bank) for t in prepared.tables)
            for key in [key for key in self._tables if key not in keep]:
                del self._tables[key]
        return dropped

    @property
    def recorder(self):  # Recorder | RecorderTee | None
        """What the callback feeds each block, swapped by reference (then `wait_for_callback`
        before closing the old one)."""
        return self._recorder

    @recorder.setter
    def recorder(self, recorder) -> None:
        self._recorder = recorder
        publish(self.renderer.published, P_RECORDER)

    def wait_for_callback(self, timeout_s: float = HAND_OFF_TIMEOUT_S) -> bool:
        """Return once no audio callback can still hold a reference swapped before this call. Any thread.

        For hand-offs such as `recorder`: the callback reads the reference
        once per block, so after swapping it, the old object may still be in
        use by the callback in flight, and by no later one. This waits until
        that callback has finished (the callback counter has moved past the
        block in which the swap was published), or returns at once when none
        is in flight, whatever the block size. False after `timeout_s` (a
        stalled device): the caller decides what to do with the old object.
        """
        counters = self.counters
        published = counters.callbacks
        deadline = time.monotonic() + timeout_s
        while counters.in_callback and counters.callbacks == published:
            if time.monotonic() >= deadline:
                return False
            time.sleep(HAND_OFF_POLL_S)
        return True

    def needs_collect(self) -> bool:
        """True when the audio thread has handed back references for `collect`. Any thread."""
        return self._retire.pending()

    def stats(self) -> EngineStats:
        """A consistent-enough snapshot of counters and state. Any thread."""
        c = self.counters
        v = self._voices
        active = v.active.copy()
        sounding = int(np.count_nonzero(active & (v.stage != env.FADE)))
        recorder = self.recorder
        own = self.renderer.own_queue  # events the audio thread made (serve --jack's MIDI)
        return EngineStats(
            voices_active=int(np.count_nonzero(active)), voices_sounding=sounding,
            polyphony=self.config.polyphony, callbacks=c.callbacks, xruns=c.xruns,
            overruns=c.overruns, callback_errors=c.callback_errors, last_error=c.last_error,
            callback_avg_ms=1e3 * c.cost_total_s / c.callbacks if c.callbacks else 0.0,
            callback_max_ms=1e3 * c.cost_max_s, frames=c.frames,
            events_refused=self._queue.refused + own.refused,
            events_lost_recovered=self._queue.lost_critical + own.lost_critical,
            notes_started=c.notes_started, notes_refused=c.notes_refused,
            notes_silent=c.notes_silent, voices_stolen=c.voices_stolen,
            layer_swaps=c.layer_swaps, layer_swaps_waiting=c.layer_swaps_waiting,
            nonfinite_blocks=c.nonfinite_blocks,
            limiter_reduction_db=self.renderer.output.reduction_db,
            recorder_overflow_frames=recorder.overflow_frames if recorder else 0,
            recorder_frames=recorder.frames_written if recorder else 0,
            recorder_error=recorder.error if recorder else "",
            callback_p99_ms=1e3 * c.cost_percentile_s(99.0), dsp_load=c.dsp_load,
            output_db=self.renderer.output.meter_db(), cycles_missed=c.cycles_missed)

    # --- audio thread -------------------------------------------------------------------
    def process(self, out: np.ndarray) -> None:
        """Render len(out) frames into `out` (float32, (frames, 2)). Audio thread only.

        The renderer's `process` (rt/renderer.py); the callback calls that directly.
        """
        self.renderer.process(out)
