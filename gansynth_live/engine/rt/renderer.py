"""Audio thread only: the block loop that turns queued events and the current banks into audio.

This is the half of the engine the callback runs (`process`): pop events and
apply them to the voices, adopt a new layer set when `Engine.set_layers` has
published one, mix, run the output stage, and let go of banks no voice reads.
It takes no lock and waits for nothing: events arrive through the
`EventQueue`, layer sets as one immutable `PreparedLayers` reference read once
per block, and references it is done with leave through the `RetireRing`, so
big arrays are freed by `Engine.collect` in another thread, never here.
Everything other threads may call lives in `engine.Engine` (the facade).
"""

from __future__ import annotations

import math
from types import ModuleType

import numpy as np

from ...events import (AllNotesOff, AllSoundOff, NoteBend, NoteOff, NoteOn, PitchBend,
                       SetBendRange, SetEnvelope, SetExpression, SetMasterGain, SetMpeZone,
                       SustainPedal)
from ..config import EngineConfig
from ..layers import PreparedLayers
from . import envelope as env
from .bank_slots import BankSlots, RetireRing
from .counters import (BLOCKS, CLOCK, FRAMES, LAYER_SWAPS, LAYER_SWAPS_WAITING,
                       LOST_EVENTS_APPLIED, NONFINITE_BLOCKS, NOTES_REFUSED, NOTES_SILENT,
                       NOTES_STARTED, UNKNOWN_EVENTS, VOICES_STOLEN, Counters, bump)
from .event_queue import EventQueue
from .jit import njit, on_warm_up
from .output_stage import OutputStage
from .mixer import Mixer
from .voices import Voices


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


@on_warm_up
def _warm_up() -> None:
    flags = np.zeros(2, dtype=bool)
    any_true(flags)
    next_idle_slot(flags, flags, np.zeros(0, dtype=np.int64), 0)


class Renderer:
    """Voices, bank slots, mixer and output stage, driven one block at a time by `process`."""

    def __init__(self, config: EngineConfig, kernels: ModuleType, counters: Counters) -> None:
        self.config = config
        self.sample_rate = sr = config.sample_rate
        self.counters = counters
        self.queue = EventQueue(config.queue_capacity, config.queue_reserve)
        self.retire = RetireRing()
        self.slots = BankSlots(config.bank_slots, self.retire)
        self.voices = Voices(config.voice_count, config.polyphony, config.bank_slots,
                             min_note_frames=int(round(config.min_note_s * sr)),
                             steal=kernels.choose_victim)
        self._fade_frames = config.steal_fade_s * sr
        self.mixer = Mixer(self.voices, self.slots, kernels, config.max_block_frames,
                           glide_frames=config.morph_glide_s * sr, fade_frames=self._fade_frames)
        self.output = OutputStage(sr, config.master_gain, config.limiter_threshold,
                                  config.limiter_release_s, config.max_block_frames)
        self._coeffs = env.EnvelopeCoefficients.make(
            config.attack_s, config.decay_s, config.sustain, config.release_s, sr)
        self._bend = np.zeros(16, dtype=np.float64)
        self._bend_range = np.full(16, float(config.bend_range_semitones))  # per channel
        self._master = np.full(16, -1, dtype=np.int64)  # MPE: the zone master of a member channel
        self._step = np.ones(16, dtype=np.float64)
        self._pedal = np.zeros(16, dtype=bool)
        self._channels = np.arange(16)
        self._chan_expr = np.zeros((16, 2), dtype=np.float64)  # SetExpression(pitch=None)
        # layers: `pending` is written by Engine.set_layers (any thread), adopted here
        self.pending: PreparedLayers | None = None
        self.applied: PreparedLayers | None = None
        self._layer_slots = np.zeros(0, dtype=np.int64)
        self._layer_weights = np.zeros(0, dtype=np.float64)
        self._ints = counters.ints
        self.next_frames: int | None = None  # the callback's `frames` for the next process
        self.handlers = {
            NoteOn: self._note_on, NoteOff: self._note_off, PitchBend: self._pitch_bend,
            SustainPedal: self._sustain, AllNotesOff: self._all_notes_off,
            AllSoundOff: self._all_sound_off, SetMasterGain: self._master_gain,
            SetEnvelope: self._envelope, SetBendRange: self._bend_range_event,
            SetMpeZone: self._mpe_zone, SetExpression: self._expression,
            NoteBend: self._note_bend,
        }

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
        if frames == 0:
            self._begin_block()
            return
        limit = self.config.max_block_frames
        if frames <= limit:  # the usual case: no view, no int arithmetic
            self._render_block(out, frames)
        else:
            pos = 0
            while pos < frames:
                n = min(frames - pos, limit)
                self._render_block(out[pos:pos + n], n)
                pos += n
        ints = self._ints
        bump(ints, BLOCKS, 1)
        bump(ints, FRAMES, frames)
        self._release_unused_slots()

    def _render_block(self, out: np.ndarray, n: int) -> None:
        self._begin_block()
        mix = self.mixer.render(n, self._coeffs, self._step)
        if not self.output.process(mix, out):
            bump(self._ints, NONFINITE_BLOCKS, 1)
        bump(self._ints, CLOCK, n)

    def _begin_block(self) -> None:
        pending = self.pending
        if pending is not self.applied:
            self._adopt_layers(pending)
        queue = self.queue
        handlers = self.handlers
        limit = self.config.max_events_per_block
        count = 0  # a while loop: `for` would make a range and an iterator object per block
        while count < limit:
            event = queue.pop()
            if event is None:
                break
            count += 1
            handler = handlers.get(type(event))
            if handler is None:
                bump(self._ints, UNKNOWN_EVENTS, 1)
            else:
                handler(event)
        if queue.lost_pending and queue.empty():
            self._apply_lost_events()
        if any_true(self.voices.release_pending):
            self.voices.release_due(self._frame)
    def _adopt_layers(self, prepared: PreparedLayers | None) -> None:
        """Map the new layers' banks to slots and start sounding voices gliding to them.

        With follow_morph False sounding voices are left alone: they keep
        reading (and pinning) the slots of the banks they started with.
        """
        slots = self.slots
        tables = prepared.tables if prepared is not None else ()
        wanted = {id(t) for t in tables}
        in_use = self.voices.slots_in_use()  # by voices; the old layers no longer pin theirs
        reusable = [k for k, t in enumerate(slots.tables)
                    if t is not None and not in_use[k] and id(t) not in wanted]
        missing = sum(1 for t in tables if slots.find(t) < 0)
        if missing > slots.free_count() + len(reusable):
            bump(self._ints, LAYER_SWAPS_WAITING, 1)  # a glide must end first; retry next block
            return
        if self.applied is not None and not self.retire.put(self.applied):
            return  # housekeeping is behind; keep the old reference one more block
        for k in reusable:
            if slots.free_count() >= missing:
                break
            slots.release(k)
        indices = np.array([slots.assign(t) for t in tables], dtype=np.int64)
        if (indices < 0).any():  # the retire ring was full: keep playing the old layers
            bump(self._ints, LAYER_SWAPS_WAITING, 1)
            return
        weights = np.array(prepared.weights if prepared is not None else (), dtype=np.float64)
        if self.config.follow_morph:
            self.voices.retarget(indices, weights, tables)
        self.applied = prepared
        self._layer_slots, self._layer_weights = indices, weights
        if self.config.follow_morph and any_true(self.voices.expressive):
            self._express(np.flatnonzero(self.voices.active & self.voices.expressive))
        bump(self._ints, LAYER_SWAPS, 1)

    def _release_unused_slots(self) -> None:
        """Hand banks no voice reads any more (and not in the current layers) to the retire ring."""
        slots = self.slots
        occupied, used, current = slots.occupied, self.mixer.slot_used, self._layer_slots
        k = next_idle_slot(occupied, used, current, 0)  # slot_used: this block's prepare step
        while k >= 0:
            slots.release(k)
            k = next_idle_slot(occupied, used, current, k + 1)

    # --- event handlers (audio thread) ----------------------------------------------------
    def _note_on(self, event: NoteOn) -> None:
        prepared = self.applied
        if prepared is None or not prepared.tables:
            bump(self._ints, NOTES_SILENT, 1)
            return
        voices = self.voices
        now = self._frame
        retrigger = voices.voices_on_key(event.channel, event.pitch)
        if retrigger.size:
            voices.release(retrigger, now)
        v, stolen = voices.allocate(now)
        if stolen >= 0:
            voices.fade(np.array([stolen]), self._fade_frames)
            bump(self._ints, VOICES_STOLEN, 1)
        if v < 0:
            bump(self._ints, NOTES_REFUSED, 1)
            return
        config = self.config
        gain = (event.velocity / 127.0) ** config.velocity_curve
        pan = config.pan_spread * min(max((event.pitch - 60) / 36.0, -1.0), 1.0)
        angle = (pan + 1.0) * math.pi / 4.0
        voices.start_note(v, event.pitch, event.channel, gain, math.cos(angle), math.sin(angle),
                          now, self._layer_slots, prepared)
        dx, dy = self._chan_expr[event.channel]
        if dx != 0.0 or dy != 0.0:  # the channel's expression (MPE: sent before the note)
            own = prepared.weights_at(float(dx), float(dy))
            voices.expressive[v] = True
            voices.expr_dx[v], voices.expr_dy[v] = dx, dy
            if own is not None:
                voices.set_weights(v, self._layer_slots, own)
        bump(self._ints, NOTES_STARTED, 1)

    def _note_off(self, event: NoteOff) -> None:
        self.voices.key_up(event.channel, event.pitch, bool(self._pedal[event.channel]),
                            self._frame)

    def _refresh_step(self, ch: int) -> None:
        """The channel's read-rate factor: its bend, plus its MPE master's (zone-wide) bend."""
        semitones = float(self._bend[ch]) * float(self._bend_range[ch])
        master = int(self._master[ch])
        if master >= 0:
            semitones += float(self._bend[master]) * float(self._bend_range[master])
        self._step[ch] = 2.0 ** (semitones / 12.0)

    def _refresh_channel_and_members(self, ch: int) -> None:
        self._refresh_step(ch)
        for member in np.flatnonzero(self._master == ch):
            self._refresh_step(int(member))

    def _pitch_bend(self, event: PitchBend) -> None:
        self._bend[event.channel] = event.value
        self._refresh_channel_and_members(event.channel)

    def _bend_range_event(self, event: SetBendRange) -> None:
        if event.channel is None:
            self._bend_range[:] = event.semitones
            for ch in range(16):
                self._refresh_step(ch)
        else:
            self._bend_range[event.channel] = event.semitones
            self._refresh_channel_and_members(event.channel)

    def _mpe_zone(self, event: SetMpeZone) -> None:
        master = self._master
        master[master == event.master] = -1
        members = event.member_channels
        if (15 - event.master) in members:  # the zone swallows the other zone's master
            master[master == 15 - event.master] = -1
        for ch in members:
            master[ch] = event.master
        for ch in range(16):
            self._refresh_step(ch)

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

    def _note_bend(self, event: NoteBend) -> None:
        """A key's own bend: its sounding notes read at 2^(semitones/12) times their rate."""
        voices = self.voices
        chosen = np.flatnonzero(voices.active & (voices.channel == event.channel)
                                & (voices.pitch == event.pitch))
        voices.note_step[chosen] = 2.0 ** (event.semitones / 12.0)

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

    def _zone(self, channel: int) -> np.ndarray:
        """The channel and, when it is an MPE zone's master, its member channels: what a
        master channel's pedal and all-notes-off reach (the MPE spec's zone-wide messages)."""
        return np.flatnonzero((self._master == channel) | (self._channels == channel))

    def _pedal_set(self, channel: int, on: bool) -> None:
        for ch in self._zone(channel):
            self._pedal[ch] = on
            if not on:
                self.voices.pedal_up(int(ch), self._frame)

    def _sustain(self, event: SustainPedal) -> None:
        self._pedal_set(event.channel, event.on)

    def _all_notes_off(self, event: AllNotesOff) -> None:
        if event.channel is None:
            self._pedal[:] = False
            self.voices.release_all(None, self._frame)
            return
        for ch in self._zone(event.channel):
            self._pedal[ch] = False
            self.voices.release_all(int(ch), self._frame)

    def _all_sound_off(self, event: AllSoundOff) -> None:
        self._pedal[:] = False
        voices = self.voices
        voices.fade(np.flatnonzero(voices.active & (voices.stage != env.FADE)), self._fade_frames)

    def _master_gain(self, event: SetMasterGain) -> None:
        self.output.master_target = event.gain

    def _envelope(self, event: SetEnvelope) -> None:
        self._coeffs = env.EnvelopeCoefficients.make(
            event.attack_s, event.decay_s, event.sustain, event.release_s, self.sample_rate)

    def _apply_lost_events(self) -> None:
        """Apply note-offs, pedal-ups and panics that found the queue full (never lost)."""
        keys, pedal, panic = self.queue.take_lost()
        now = self._frame
        for channel, pitch in keys.T:
            self.voices.key_up(int(channel), int(pitch), bool(self._pedal[channel]), now)
        for channel in pedal:
            self._pedal_set(int(channel), False)
        if panic:
            self._pedal[:] = False
            self.voices.release_all(None, now)
        bump(self._ints, LOST_EVENTS_APPLIED, 1)
