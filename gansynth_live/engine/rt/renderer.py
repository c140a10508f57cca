"""Audio thread only: the block loop that turns queued events and the current banks into audio.

This is the half of the engine the callback runs (`process`): pop events and
apply them to the voices, adopt a new layer set when `Engine.set_layers` has
published one, mix, run the output stage, and let go of banks no voice reads.
It takes no lock and waits for nothing: events arrive through the
`EventQueue`, layer sets as one immutable `PreparedLayers` reference read once
per block, and references it is done with leave through the `RetireRing`, so
big arrays are freed by `Engine.collect` in another thread, never here.
Everything other threads may call lives in `engine.Engine` (the facade).

A block has a Python part and a compiled part. `prepare` (Python) does what
needs objects: adopting a new layer set, the records the compiled rules leave
to Python (MPE expression), events a full ring lost, letting go of idle
slots. `render_frames` (compiled) does the rest: applies the queued records,
mixes, limits, counts; and it says whether the next block needs `prepare`
(`wants`). PortAudio's callback runs both every block; JACK's compiled process
callback (rt/jack_callback.py) runs `prepare`, and so takes the interpreter
lock, only in the cycles that need it.
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ...events import NoteOn, SetExpression
from ..config import EngineConfig
from ..layers import PreparedLayers
from . import envelope as env
from . import event_apply as rules
from .bank_slots import BankSlots, RetireRing, item, plan_adoption
from .counters import (BLOCKS, CLOCK, FRAMES, LAYER_SWAPS, LAYER_SWAPS_WAITING,
                       LOST_EVENTS_APPLIED, NONFINITE_BLOCKS, UNKNOWN_EVENTS, Counters, bump)
from .event_apply import apply_events
from .event_queue import LOST, EventQueue
from .jit import njit, on_warm_up
from .output_stage import OutputStage, output_block
from .mixer import Mixer, mix
from .morph_glide import retarget_all, slots_in_use
from .stash import Stash
from .voices import Voices

# Renderer.wants: what the next block's `prepare` has to do (render_frames sets them)
W_RELEASE, W_EVENT = 0, 1  # a slot holds a bank nobody reads; a record waits for Python
WANTS = 2
L_EVENTS, L_BLOCK_FRAMES = 0, 1  # Renderer.limits: events applied a block, frames a block
# Renderer.published: bumped (atomics.publish) after a control thread swaps a reference the
# audio thread reads, so JACK's compiled callback knows to run Python for it
P_LAYERS, P_RECORDER = 0, 1


@njit
def any_true(flags):
    """flags.any() without a numpy scalar."""
    for k in range(flags.shape[0]):
        if flags[k]:
            return True
    return False


@njit
def next_idle_slot(occupied, slot_used, current, start):
    """The first slot >= start that holds a bank no voice read last block and the layers do not use."""
    for k in range(start, occupied.shape[0]):
        if occupied[k] and not slot_used[k]:
            wanted = False
            for j in range(current.shape[0]):
                if current[j] == k:
                    wanted = True
            if not wanted:
                return k
    return -1


@njit
def begin_block(block, layers, applied):
    """Apply the queued records compiled code can (both rings, at most the block's limit
    less `applied`), then the releases that waited for a note's minimum length."""
    (queue, own, notes, reads, channels, envelope, output, settings, ints, limits, wants,
     parts, occupied, published) = block
    left = limits[L_EVENTS] - applied
    for ring in (queue, own):
        done = apply_events(ring[0], ring[1], left, notes, reads, channels, layers, envelope,
                            output, settings, ints)
        if done < 0:  # the next record is for Python: it waits for `prepare`
            wants[W_EVENT] = 1
            done = -done - 1
        left -= done
    if any_true(notes[10]):  # release_pending
        rules.release_due(notes, settings, ints)


@njit
def render_frames(block, layers, banks, out, frames, applied):
    """The compiled part of `Renderer.process`: `frames` frames into `out` in blocks of at
    most limits[L_BLOCK_FRAMES], each after its events; `applied`: events `prepare`
    applied. Sets `wants` for the next `prepare`; returns whether it has work."""
    (queue, own, notes, reads, channels, envelope, output, settings, ints, limits, wants,
     parts, occupied, published) = block
    if frames == 0:  # only apply what waits
        begin_block(block, layers, applied)
        return wants_python(block)
    most = limits[L_BLOCK_FRAMES]
    pos = 0
    while pos < frames:
        n = min(frames - pos, most)
        begin_block(block, layers, applied)
        applied = 0
        mix(parts, banks, n)
        if not output_block(parts[11][:n], out[pos:pos + n], output):
            ints[NONFINITE_BLOCKS] += 1
        ints[CLOCK] += n
        pos += n
    ints[BLOCKS] += 1
    ints[FRAMES] += frames
    if next_idle_slot(occupied, parts[9], layers[4], 0) >= 0:  # slot_used, slot_indices
        wants[W_RELEASE] = 1
    return wants_python(block)


@njit
def wants_python(block):
    """Whether the next block needs `prepare` for its rings or slots (a new layer set, the
    engine's own check, is not seen here)."""
    queue, own, wants = block[0], block[1], block[10]
    return (wants[W_RELEASE] != 0 or wants[W_EVENT] != 0 or queue[1][LOST] != 0
            or own[1][LOST] != 0)


@on_warm_up
def _warm_up() -> None:
    flags = np.zeros(2, dtype=bool)
    any_true(flags)
    next_idle_slot(flags, flags, np.zeros(0, dtype=np.int64), 0)
    from .counters import Counters as _Counters
    from ..config import EngineConfig as _Config
    from . import kernel_numba

    renderer = Renderer(_Config(), kernel_numba, _Counters())
    out = np.zeros((4, 2), dtype=np.float32)
    for frames in (0, 4):
        render_frames(renderer.block, renderer.layers, renderer.slots.banks, out, frames, 0)


class Renderer:
    """Voices, bank slots, mixer and output stage, driven one block at a time by `process`."""

    def __init__(self, config: EngineConfig, kernels: ModuleType, counters: Counters) -> None:
        self.config = config
        self.sample_rate = sr = config.sample_rate
        self.counters = counters
        self.queue = EventQueue(config.queue_capacity, config.queue_reserve)
        # events this thread makes itself (MIDI read inside JACK's process callback,
        # rt/jack_midi.py): its own ring, so it never takes the other producers' lock
        self.own_queue = EventQueue(config.queue_capacity, config.queue_reserve)
        self.retire = RetireRing()
        self.slots = BankSlots(config.bank_slots, self.retire)
        self.voices = Voices(config.voice_count, config.polyphony, config.bank_slots)
        self._fade_frames = config.steal_fade_s * sr
        self.mixer = Mixer(self.voices, self.slots, kernels, config.max_block_frames,
                           glide_frames=config.morph_glide_s * sr, fade_frames=self._fade_frames)
        self.compiled = self.mixer.compiled  # the engine's kernels (not the tests' oracle)
        self.output = OutputStage(sr, config.master_gain, config.limiter_threshold,
                                  config.limiter_release_s, config.max_block_frames)
        # The envelope's coefficients live in the mixer's kernel params (a view), where a
        # SetEnvelope record rewrites them.
        env.coefficients(float(config.attack_s), float(config.decay_s), float(config.sustain),
                         float(config.release_s), float(sr), self.mixer.envelope)
        self._bend = np.zeros(16, dtype=np.float64)
        self._bend_range = np.full(16, float(config.bend_range_semitones))  # per channel
        self._master = np.full(16, -1, dtype=np.int64)  # MPE: the zone master of a member channel
        self._step = self.mixer.step_by_channel  # each channel's bend, as a rate factor
        self._pedal = np.zeros(16, dtype=bool)
        self._chan_expr = np.zeros((16, 2), dtype=np.float64)  # SetExpression(pitch=None)
        # what the compiled note rules read (rt/event_apply.py), in tuples made once
        self._channels = (self._bend, self._bend_range, self._master, self._step, self._pedal,
                          self._chan_expr)
        self._settings = np.zeros(rules.SETTINGS, dtype=np.float64)
        self._settings[rules.C_FADE_FRAMES] = self._fade_frames
        self._settings[rules.C_MIN_NOTE_FRAMES] = int(round(config.min_note_s * sr))
        self._settings[rules.C_POLYPHONY] = config.polyphony
        self._settings[rules.C_VELOCITY_CURVE] = config.velocity_curve
        self._settings[rules.C_PAN_SPREAD] = config.pan_spread
        self._settings[rules.C_SAMPLE_RATE] = sr
        self._layers = rules.empty_layers()
        self.limits = np.array([config.max_events_per_block, config.max_block_frames],
                               dtype=np.int64)
        self.wants = np.zeros(WANTS, dtype=np.int64)
        self.published = np.zeros(2, dtype=np.int64)  # P_LAYERS, P_RECORDER
        # what render_frames reads, in one tuple made once (JACK's callback: a stash)
        self.block = ((self.queue.records, self.queue.indices),
                      (self.own_queue.records, self.own_queue.indices), self.voices.notes,
                      self.voices.reads, self._channels, self.mixer.envelope, self.output.state,
                      self._settings, counters.ints, self.limits, self.wants, self.mixer.parts,
                      self.slots.occupied, self.published)
        # the current layers' tuple for compiled code, rewritten by this thread on adoption
        self.layer_stash = Stash(self._layers)
        self._in_use = np.zeros(config.bank_slots, dtype=bool)  # scratch of _adopt_layers
        self._release_plan = np.zeros(config.bank_slots, dtype=np.int64)
        # layers: `pending` is written by Engine.set_layers (any thread), adopted here
        self.pending: PreparedLayers | None = None
        self.applied: PreparedLayers | None = None
        self._layer_slots = np.zeros(0, dtype=np.int64)
        self._layer_weights = np.zeros(0, dtype=np.float64)
        self._ints = counters.ints
        self.next_frames: int | None = None  # the callback's `frames` for the next process

    @property
    def _frame(self) -> int:
        """The frame counter at the current block (`now` for the event handlers)."""
        return int(self._ints[CLOCK])

    def process(self, out: np.ndarray, frames: int | None = None) -> None:
        """Render len(out) frames into `out` (float32, shape (frames, 2)).

        Events queued so far are applied at the start of each block (blocks
        longer than max_block_frames are split). A zero-length `out` only
        applies waiting events. `frames` (or `next_frames`, which the callback
        sets to its `frames` argument) must be len(out) when given: an int from
        out.shape past 256 would be a new object in every block.
        """
        if frames is None:
            frames = self.next_frames
            self.next_frames = None
            if frames is None:
                frames = out.shape[0]
        applied = self.prepare()
        if self.compiled:
            render_frames(self.block, self._layers, self.slots.banks, out, frames, applied)
        else:
            self._render_with_python_kernels(out, frames, applied)
        if item(self.wants, W_RELEASE):  # a Python int (0 or 1): no numpy scalar
            self._release_unused_slots()

    @property
    def layers(self) -> tuple:
        """The current layers' tuple the compiled note rules read (PreparedLayers.rt)."""
        return self._layers

    def prepare(self) -> int:
        """The Python part of a block (see the module docstring); returns how many events
        it applied (they count against the block's limit)."""
        wants = self.wants
        if item(wants, W_RELEASE):
            self._release_unused_slots()
        wants[W_EVENT] = 0
        pending = self.pending
        if pending is not self.applied:
            self._adopt_layers(pending)
        count = self._apply_queue(self.queue, 0)
        return self._apply_queue(self.own_queue, count)

    def _render_with_python_kernels(self, out: np.ndarray, frames: int, applied: int) -> None:
        """render_frames' steps with `Mixer.render` in Python: for a kernel module that is
        not compiled (the tests' numpy oracle), which compiled code cannot call."""
        if frames == 0:
            begin_block(self.block, self._layers, applied)
            return
        pos = 0
        while pos < frames:
            n = min(frames - pos, self.config.max_block_frames)
            begin_block(self.block, self._layers, applied)
            applied = 0
            if not self.output.process(self.mixer.render(n), out[pos:pos + n]):
                bump(self._ints, NONFINITE_BLOCKS, 1)
            bump(self._ints, CLOCK, n)
            pos += n
        bump(self._ints, BLOCKS, 1)
        bump(self._ints, FRAMES, frames)
        self.wants[W_RELEASE] = 1

    def _apply_queue(self, queue: EventQueue, count: int) -> int:
        """Apply what `queue` holds, up to the block's event limit less `count` (already
        applied this block); returns the new count."""
        limit = self.config.max_events_per_block
        while count < limit:  # a while loop: `for` would make a range and an iterator object
            done = apply_events(queue.records, queue.indices, limit - count, self.voices.notes,
                                self.voices.reads, self._channels, self._layers,
                                self.mixer.envelope, self.output.state, self._settings,
                                self._ints)
            if done >= 0:
                count += done
                break
            count -= done  # the compiled ones and the one for Python
            self._python_event(queue.pop())
        if item(queue.indices, LOST) and queue.empty():  # compiled: no numpy scalar
            self._apply_lost_events(queue)
        return count

    def _adopt_layers(self, prepared: PreparedLayers | None) -> None:
        """Map the new layers' banks to slots and start sounding voices gliding to them.

        With follow_morph False sounding voices are left alone: they keep
        reading (and pinning) the slots of the banks they started with. The
        planning and the glides are compiled (bank_slots.plan_adoption,
        morph_glide.py) over arrays `prepare_layers` made in the calling thread.
        """
        if prepared is None:  # only before the first set_layers (pending starts as None)
            return
        slots, voices = self.slots, self.voices
        slots_in_use(voices.active, voices.w_cur, voices.w_to, self._in_use)
        releases = plan_adoption(slots.serial, slots.occupied, self._in_use, prepared.serials,
                                 prepared.slot_indices, self._release_plan)
        if releases < 0:
            bump(self._ints, LAYER_SWAPS_WAITING, 1)  # a glide must end first; retry next block
            return
        if self.applied is not None and not self.retire.put(self.applied):
            return  # housekeeping is behind; keep the old reference one more block
        i = 0
        while i < releases:  # not `for`: no range or iterator object
            slots.release(item(self._release_plan, i))
            i += 1
        tables = prepared.tables
        count = len(tables)
        j = 0
        while j < count:
            if item(prepared.slot_indices, j) < 0:
                k = slots.assign(tables[j])
                if k < 0:  # the retire ring was full: keep playing the old layers
                    bump(self._ints, LAYER_SWAPS_WAITING, 1)
                    return
                prepared.slot_indices[j] = k
            j += 1
        if self.config.follow_morph:
            retarget_all(voices.notes, voices.reads, prepared.rt)
        self.applied = prepared
        self._layer_slots, self._layer_weights = prepared.slot_indices, prepared.weight_array
        self._layers = prepared.rt
        self.layer_stash.put(prepared.rt)
        self._settings[rules.C_HAS_LAYERS] = 1.0
        if self.config.follow_morph and any_true(voices.expressive):
            self._express(np.flatnonzero(voices.active & voices.expressive))
        bump(self._ints, LAYER_SWAPS, 1)

    def _release_unused_slots(self) -> None:
        """Hand banks no voice reads any more (and not in the current layers) to the retire ring."""
        self.wants[W_RELEASE] = 0
        slots = self.slots
        occupied, used, current = slots.occupied, self.mixer.slot_used, self._layer_slots
        k = next_idle_slot(occupied, used, current, 0)  # slot_used: this block's prepare step
        while k >= 0:
            slots.release(k)
            k = next_idle_slot(occupied, used, current, k + 1)

    # --- the events the compiled rules hand to Python (rt/event_apply.py) ------------------
    def _python_event(self, event: object) -> None:
        """A record `apply_events` left for Python: the two that need the morph layers."""
        if isinstance(event, NoteOn):
            self._note_on_expressive(event)
        elif isinstance(event, SetExpression):
            self._expression(event)
        else:  # cannot happen: apply_events hands over only these two kinds
            bump(self._ints, UNKNOWN_EVENTS, 1)

    def _note_on_expressive(self, event: NoteOn) -> None:
        """A note-on on a channel with its own expression (MPE: sent before the note):
        the note starts at its own weights."""
        v = rules.note_on(event.channel, event.pitch, float(event.velocity), self.voices.notes,
                          self.voices.reads, self._layers, self._settings, self._ints)
        prepared = self.applied
        if v < 0 or prepared is None:
            return
        dx, dy = self._chan_expr[event.channel]
        voices = self.voices
        voices.expressive[v] = True
        voices.expr_dx[v], voices.expr_dy[v] = dx, dy
        own = prepared.weights_at(float(dx), float(dy))
        if own is not None:
            voices.set_weights(v, self._layer_slots, own)

    def _expression(self, event: SetExpression) -> None:
        """A note's (or a channel's notes') own morph offset: they glide to their own weights."""
        voices = self.voices
        mask = voices.active & (voices.channel == event.channel)
        if event.pitch is None:
            self._chan_expr[event.channel] = (event.dx, event.dy)
        else:
            mask &= voices.pitch == event.pitch
        chosen = np.flatnonzero(mask)
        voices.expr_dx[chosen] = event.dx
        voices.expr_dy[chosen] = event.dy
        voices.expressive[chosen] = event.dx != 0.0 or event.dy != 0.0
        if self.config.follow_morph:  # else a note keeps the banks it started with
            self._express(chosen)

    def _express(self, chosen: np.ndarray) -> None:
        """Retarget these voices to their own weights (shared ones where there is no offset)."""
        prepared = self.applied
        if chosen.size == 0 or prepared is None or not prepared.tables:
            return
        voices = self.voices
        shared = prepared.weight_array
        columns = np.repeat(shared[:, None], chosen.size, axis=1)
        own = prepared.weights_at_many(voices.expr_dx[chosen], voices.expr_dy[chosen])
        if own is not None:  # expressive voices with a weighted point take their own
            use = voices.expressive[chosen] & np.isfinite(own[0])
            columns[:, use] = own[:, use]
        voices.retarget(self._layer_slots, columns, prepared.tables, chosen)

    def _apply_lost_events(self, queue: EventQueue) -> None:
        """Apply note-offs, pedal-ups and panics that found `queue` full (never lost)."""
        keys, pedal, panic = queue.take_lost()
        now = self._frame
        notes = self.voices.notes
        for channel, pitch in keys.T:
            rules.note_off(int(channel), int(pitch), notes, self._channels, self._settings, now)
        for channel in pedal:
            rules.sustain(int(channel), False, notes, self._channels, now)
        if panic:
            rules.all_notes_off(-1, notes, self._channels, now)
        bump(self._ints, LOST_EVENTS_APPLIED, 1)
