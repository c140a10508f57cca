"""The Engine: events and banks in, stereo blocks out.

Threads (the contract every method states):
- any thread: `push` (non-blocking), `set_layers` (builds lookup tables in
  the caller, then swaps one reference), `stats`, `collect`;
- the audio thread only (the PortAudio callback, or the offline render loop,
  never both): `process`.

Nothing the audio thread touches is locked: events come through the bounded
`EventQueue`, new banks as an immutable `PreparedLayers` read once per
block, and references the audio thread lets go of leave through a
`RetireRing` so that big arrays are freed by `collect`, never in the callback.
"""

from __future__ import annotations

import importlib
import math
import threading
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..banks.bank import BankLayers
from ..events import (AllNotesOff, AllSoundOff, NoteOff, NoteOn, PitchBend, SetBendRange,
                      SetEnvelope, SetLayers, SetMasterGain, SustainPedal)
from . import envelope as env
from .bank_slots import BankSlots, RetireRing
from .config import EngineConfig
from .event_queue import EventQueue
from .layers import PitchTable, PreparedLayers, prepare_layers
from .limiter import OutputStage
from .mixer import Mixer
from .voices import Voices


class Counters:
    """Plain counters the audio thread bumps and `Engine.stats` reads (GIL-atomic ints)."""

    __slots__ = ("callbacks", "xruns", "callback_errors", "last_error", "overruns",
                 "cost_total_s", "cost_max_s", "blocks", "frames", "notes_started",
                 "notes_refused", "notes_silent", "voices_stolen", "layer_swaps",
                 "layer_swaps_waiting", "nonfinite_blocks", "unknown_events",
                 "lost_events_applied", "cost_hist")

    COST_BIN_S = 25e-6  # callback cost histogram: 25 us bins up to 10 ms (the last bin: more)
    COST_BINS = 400

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)
        self.last_error = ""
        self.cost_total_s = 0.0
        self.cost_max_s = 0.0
        self.cost_hist = np.zeros(self.COST_BINS, dtype=np.int64)

    def cost_percentile_s(self, q: float) -> float:
        """The q-th percentile (0..100) of the callback's cost, to the histogram's 25 us."""
        hist = self.cost_hist.copy()
        total = int(hist.sum())
        if total == 0:
            return 0.0
        index = int(np.searchsorted(np.cumsum(hist), q / 100.0 * total))
        return (min(index, self.COST_BINS - 1) + 1) * self.COST_BIN_S


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


def load_kernels(name: str) -> ModuleType:
    """The per-sample kernels: numba compiled and warmed up, or the numpy ones.

    "auto" falls back to numpy only when numba cannot be imported.
    """
    if name in ("auto", "numba"):
        try:
            module = importlib.import_module(".kernel_numba", __package__)
        except ImportError:
            if name == "numba":
                raise
        else:
            module.warm_up()
            return module
    return importlib.import_module(".kernel_numpy", __package__)


class Engine:
    """A polyphonic sampler playing NoteBanks, morphing between them while notes sound."""

    def __init__(self, config: EngineConfig | None = None) -> None:
        self.config = config = config or EngineConfig()
        self.sample_rate = config.sample_rate
        self.kernels = load_kernels(config.kernel)
        self.kernel_name = self.kernels.__name__.rsplit("_", 1)[-1]
        self.counters = Counters()
        self.recorder = None  # a Recorder the callback feeds, swapped by reference
        self._queue = EventQueue(config.queue_capacity, config.queue_reserve)
        self._retire = RetireRing()
        self._slots = BankSlots(config.bank_slots, self._retire)
        sr = config.sample_rate
        self._voices = Voices(config.voice_count, config.polyphony, config.bank_slots,
                              min_note_frames=int(round(config.min_note_s * sr)),
                              steal=self.kernels.choose_victim)
        self._fade_frames = config.steal_fade_s * sr
        self._mixer = Mixer(self._voices, self._slots, self.kernels, config.max_block_frames,
                            glide_frames=config.morph_glide_s * sr, fade_frames=self._fade_frames)
        self._output = OutputStage(sr, config.master_gain, config.limiter_threshold,
                                   config.limiter_release_s, config.max_block_frames)
        self._coeffs = env.EnvelopeCoefficients.make(
            config.attack_s, config.decay_s, config.sustain, config.release_s, sr)
        self._bend = np.zeros(16, dtype=np.float64)
        self._bend_range = config.bend_range_semitones
        self._step = np.ones(16, dtype=np.float64)
        self._pedal = np.zeros(16, dtype=bool)
        # layers: written by set_layers (any thread), adopted by the audio thread
        self._pending: PreparedLayers | None = None
        self._applied: PreparedLayers | None = None
        self._layer_slots = np.zeros(0, dtype=np.int64)
        self._layer_weights = np.zeros(0, dtype=np.float64)
        self._tables: dict[int, PitchTable] = {}
        self._tables_lock = threading.Lock()
        self._frame = 0
        self._handlers = {
            NoteOn: self._note_on, NoteOff: self._note_off, PitchBend: self._pitch_bend,
            SustainPedal: self._sustain, AllNotesOff: self._all_notes_off,
            AllSoundOff: self._all_sound_off, SetMasterGain: self._master_gain,
            SetEnvelope: self._envelope, SetBendRange: self._bend_range_event,
        }

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
        if type(event) not in self._handlers:
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
        self._pending = prepared
        self.collect()

    def collect(self) -> int:
        """Drop references the audio thread has finished with (frees old banks here). Any thread.

        AudioStream calls this from its housekeeping thread; call it yourself
        when driving `process` directly. Returns how many references it dropped.
        """
        dropped = self._retire.drain()
        with self._tables_lock:
            keep = {id(t.bank) for t in list(self._slots.tables) if t is not None}
            for prepared in (self._pending, self._applied):
                if prepared is not None:
                    keep.update(id(t.bank) for t in prepared.tables)
            for key in [key for key in self._tables if key not in keep]:
                del self._tables[key]
        return dropped

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
        return EngineStats(
            voices_active=int(np.count_nonzero(active)), voices_sounding=sounding,
            polyphony=self.config.polyphony, callbacks=c.callbacks, xruns=c.xruns,
            overruns=c.overruns, callback_errors=c.callback_errors, last_error=c.last_error,
            callback_avg_ms=1e3 * c.cost_total_s / c.callbacks if c.callbacks else 0.0,
            callback_max_ms=1e3 * c.cost_max_s, frames=c.frames,
            events_refused=self._queue.refused, events_lost_recovered=self._queue.lost_critical,
            notes_started=c.notes_started, notes_refused=c.notes_refused,
            notes_silent=c.notes_silent, voices_stolen=c.voices_stolen,
            layer_swaps=c.layer_swaps, layer_swaps_waiting=c.layer_swaps_waiting,
            nonfinite_blocks=c.nonfinite_blocks,
            limiter_reduction_db=self._output.reduction_db,
            recorder_overflow_frames=recorder.overflow_frames if recorder else 0,
            recorder_frames=recorder.frames_written if recorder else 0,
            recorder_error=recorder.error if recorder else "",
            callback_p99_ms=1e3 * c.cost_percentile_s(99.0))

    # --- audio thread -------------------------------------------------------------------
    def process(self, out: np.ndarray) -> None:
        """Render len(out) frames into `out` (float32, shape (frames, 2)). Audio thread only.

        Events queued so far are applied at the start of each block (blocks
        longer than max_block_frames are split). A zero-length `out` only
        applies waiting events.
        """
        frames = out.shape[0]
        if frames == 0:
            self._begin_block()
            return
        limit = self.config.max_block_frames
        pos = 0
        while pos < frames:
            n = min(frames - pos, limit)
            self._begin_block()
            mix = self._mixer.render(n, self._coeffs, self._step)
            if not self._output.process(mix, out[pos:pos + n]):
                self.counters.nonfinite_blocks += 1
            self._frame += n
            pos += n
        self.counters.blocks += 1
        self.counters.frames += frames
        self._release_unused_slots()

    def _begin_block(self) -> None:
        pending = self._pending
        if pending is not self._applied:
            self._adopt_layers(pending)
        queue = self._queue
        handlers = self._handlers
        for _ in range(self.config.max_events_per_block):
            event = queue.pop()
            if event is None:
                break
            handler = handlers.get(type(event))
            if handler is None:
                self.counters.unknown_events += 1
            else:
                handler(event)
        if queue.lost_pending and queue.empty():
            self._apply_lost_events()
        if self._voices.release_pending.any():
            self._voices.release_due(self._frame)

    def _adopt_layers(self, prepared: PreparedLayers | None) -> None:
        """Map the new layers' banks to slots and start sounding voices gliding to them.

        With follow_morph False sounding voices are left alone: they keep
        reading (and pinning) the slots of the banks they started with.
        """
        slots = self._slots
        tables = prepared.tables if prepared is not None else ()
        wanted = {id(t) for t in tables}
        in_use = self._voices.slots_in_use()  # by voices; the old layers no longer pin theirs
        reusable = [k for k, t in enumerate(slots.tables)
                    if t is not None and not in_use[k] and id(t) not in wanted]
        missing = sum(1 for t in tables if slots.find(t) < 0)
        if missing > slots.free_count() + len(reusable):
            self.counters.layer_swaps_waiting += 1  # a glide must end first; retry next block
            return
        if self._applied is not None and not self._retire.put(self._applied):
            return  # housekeeping is behind; keep the old reference one more block
        for k in reusable:
            if slots.free_count() >= missing:
                break
            slots.release(k)
        indices = np.array([slots.assign(t) for t in tables], dtype=np.int64)
        if (indices < 0).any():  # the retire ring was full: keep playing the old layers
            self.counters.layer_swaps_waiting += 1
            return
        weights = np.array(prepared.weights if prepared is not None else (), dtype=np.float64)
        if self.config.follow_morph:
            self._voices.retarget(indices, weights, tables)
        self._applied = prepared
        self._layer_slots, self._layer_weights = indices, weights
        self.counters.layer_swaps += 1

    def _release_unused_slots(self) -> None:
        """Hand banks no voice reads any more (and not in the current layers) to the retire ring."""
        slots = self._slots
        idle = slots.occupied & ~self._mixer.slot_used  # slot_used: this block's prepare step
        if not idle.any():
            return
        current = self._layer_slots
        for k in np.flatnonzero(idle):
            if k not in current:
                slots.release(int(k))

    # --- event handlers (audio thread) ----------------------------------------------------
    def _note_on(self, event: NoteOn) -> None:
        prepared = self._applied
        if prepared is None or not prepared.tables:
            self.counters.notes_silent += 1
            return
        voices = self._voices
        now = self._frame
        retrigger = voices.voices_on_key(event.channel, event.pitch)
        if retrigger.size:
            voices.release(retrigger, now)
        v, stolen = voices.allocate(now)
        if stolen >= 0:
            voices.fade(np.array([stolen]), self._fade_frames)
            self.counters.voices_stolen += 1
        if v < 0:
            self.counters.notes_refused += 1
            return
        config = self.config
        gain = (event.velocity / 127.0) ** config.velocity_curve
        pan = config.pan_spread * min(max((event.pitch - 60) / 36.0, -1.0), 1.0)
        angle = (pan + 1.0) * math.pi / 4.0
        voices.start_note(v, event.pitch, event.channel, gain, math.cos(angle), math.sin(angle),
                          now, self._layer_slots, prepared)
        self.counters.notes_started += 1

    def _note_off(self, event: NoteOff) -> None:
        self._voices.key_up(event.channel, event.pitch, bool(self._pedal[event.channel]),
                            self._frame)

    def _pitch_bend(self, event: PitchBend) -> None:
        self._bend[event.channel] = event.value
        self._step[event.channel] = 2.0 ** (event.value * self._bend_range / 12.0)

    def _bend_range_event(self, event: SetBendRange) -> None:
        self._bend_range = event.semitones
        np.power(2.0, self._bend * (self._bend_range / 12.0), out=self._step)

    def _sustain(self, event: SustainPedal) -> None:
        self._pedal[event.channel] = event.on
        if not event.on:
            self._voices.pedal_up(event.channel, self._frame)

    def _all_notes_off(self, event: AllNotesOff) -> None:
        if event.channel is None:
            self._pedal[:] = False
        else:
            self._pedal[event.channel] = False
        self._voices.release_all(event.channel, self._frame)

    def _all_sound_off(self, event: AllSoundOff) -> None:
        self._pedal[:] = False
        voices = self._voices
        voices.fade(np.flatnonzero(voices.active & (voices.stage != env.FADE)), self._fade_frames)

    def _master_gain(self, event: SetMasterGain) -> None:
        self._output.master_target = event.gain

    def _envelope(self, event: SetEnvelope) -> None:
        self._coeffs = env.EnvelopeCoefficients.make(
            event.attack_s, event.decay_s, event.sustain, event.release_s, self.sample_rate)

    def _apply_lost_events(self) -> None:
        """Apply note-offs, pedal-ups and panics that found the queue full (never lost)."""
        keys, pedal, panic = self._queue.take_lost()
        now = self._frame
        for channel, pitch in keys.T:
            self._voices.key_up(int(channel), int(pitch), bool(self._pedal[channel]), now)
        for channel in pedal:
            self._pedal[channel] = False
            self._voices.pedal_up(int(channel), now)
        if panic:
            self._pedal[:] = False
            self._voices.release_all(None, now)
        self.counters.lost_events_applied += 1
