"""Banks made ready for the audio thread: per-pitch lookup tables, built off it.

`NoteBank.nearest` is a Python call per note; the audio thread instead looks
up arrays indexed by MIDI pitch (0..127), one `PitchTable` per bank, built
once in the thread that calls `Engine.set_layers` and cached per bank.

Building also validates the bank, because the compiled kernel trusts the
indices it is given: every slot must lie inside `samples`, loops must be at
least 4 samples long (else the note plays as a one-shot), and samples must be
finite. A bank that fails raises `BankLayoutError` here, never in the callback.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from ..banks.bank import BankLayers, NoteBank
from ..errors import GansynthLiveError

MIN_LOOP_FRAMES = 4  # the 4-point interpolation must wrap within one loop length
_SERIALS = itertools.count(1)  # PitchTable.serial: the audio thread matches tables by number


class BankLayoutError(GansynthLiveError, ValueError):
    """A NoteBank whose slots, loop points or samples the engine cannot play."""


@dataclass(frozen=True, eq=False)
class PitchTable:
    """Where each MIDI pitch plays from in one bank, at one output rate.

    `rate[p]` is the read increment per output frame before pitch bend:
    nearest-pitch ratio * bank.sample_rate / output rate. `samples` is the
    bank's flat array as C-contiguous read-only float32 or int16.
    """

    bank: NoteBank
    samples: np.ndarray
    scale: float
    start: np.ndarray
    end: np.ndarray
    loop_start: np.ndarray
    loop_end: np.ndarray
    rate: np.ndarray
    gain: np.ndarray  # NoteSlot.gain of the slot each pitch plays from
    # a number no other table has: what the audio thread's compiled code compares
    serial: int = field(default_factory=lambda: next(_SERIALS))

    @classmethod
    def build(cls, bank: NoteBank, output_rate: int) -> "PitchTable":
        name = f"bank {bank.latent_id!r}" if bank.latent_id else "bank"
        samples = bank.samples
        if samples.ndim != 1:
            raise BankLayoutError(f"{name}: samples must be one flat array, got shape {samples.shape}")
        if samples.dtype not in (np.float32, np.int16):
            samples = samples.astype(np.float32)
        elif not samples.flags.c_contiguous:
            samples = np.ascontiguousarray(samples)
        samples = samples.view()  # the kernels are compiled for read-only arrays
        samples.setflags(write=False)
        if samples.dtype == np.float32 and not np.isfinite(samples).all():
            raise BankLayoutError(f"{name}: samples contain NaN or infinity")
        if not np.isfinite(bank.scale) or bank.sample_rate <= 0:
            raise BankLayoutError(f"{name}: scale {bank.scale!r} / sample rate "
                                  f"{bank.sample_rate!r} not usable")
        if not bank.slots:
            raise BankLayoutError(f"{name}: has no notes")
        n = samples.shape[0]
        for slot in bank.slots.values():
            ok = 0 <= slot.start < slot.end <= n and \
                slot.start <= slot.loop_start <= slot.loop_end <= slot.end
            if not ok:
                raise BankLayoutError(
                    f"{name}: pitch {slot.pitch} has start={slot.start} loop={slot.loop_start}.."
                    f"{slot.loop_end} end={slot.end}, outside 0..{n} or out of order")
        start = np.zeros(128, dtype=np.int64)
        end = np.zeros(128, dtype=np.int64)
        loop_start = np.zeros(128, dtype=np.int64)
        loop_end = np.zeros(128, dtype=np.int64)
        rate = np.zeros(128, dtype=np.float64)
        gain = np.ones(128, dtype=np.float64)
        for pitch in range(128):
            slot, ratio = bank.nearest(pitch)
            gain[pitch] = slot.gain
            start[pitch], end[pitch] = slot.start, slot.end
            if slot.loop_end - slot.loop_start >= MIN_LOOP_FRAMES:
                loop_start[pitch], loop_end[pitch] = slot.loop_start, slot.loop_end
            else:  # one-shot: the kernels see an empty loop
                loop_start[pitch] = loop_end[pitch] = slot.end
            rate[pitch] = ratio * bank.sample_rate / output_rate
        if not np.isfinite(gain).all():
            raise BankLayoutError(f"{name}: a note gain is NaN or infinite")
        for array in (start, end, loop_start, loop_end, rate, gain):
            array.setflags(write=False)
        return cls(bank, samples, float(bank.scale), start, end, loop_start, loop_end, rate,
                   gain)


@dataclass(frozen=True, eq=False)
class PreparedLayers:
    """A BankLayers with a PitchTable per bank, ready to be swapped into the engine.

    `geometry` (4, layers, 128: start, end, loop start, loop end) and `rate`
    (layers, 128) stack the tables so a note-on reads all layers of a pitch
    with one index per field.
    """

    layers: BankLayers
    tables: tuple[PitchTable, ...]
    weights: tuple[float, ...]
    geometry: np.ndarray
    rate: np.ndarray
    weight_array: np.ndarray
    gain: np.ndarray  # (layers, 128) NoteSlot.gain per pitch
    corners: np.ndarray | None = None  # (layers, 2): each bank's morph (x, y), if known
    position: np.ndarray | None = None  # (2,) the morph position the weights are for
    corner_table: np.ndarray | None = None  # (corners,) which table each corner plays
    step: np.ndarray | None = None  # (2,) the grid step per axis (grid_step), with corners
    low: np.ndarray | None = None  # (2,) the box the corners span
    high: np.ndarray | None = None
    # For the audio thread, made here so adopting the layers makes no object there:
    serials: np.ndarray | None = None  # (layers,) int64: each table's serial
    slot_indices: np.ndarray | None = None  # (layers,) int64: the bank slot of each table,
    # written once by the audio thread when it adopts these layers
    rt: tuple | None = None  # (geometry, rate, gain, weight_array, slot_indices): what the
    # compiled note rules read (rt/event_apply.py)

    def weights_at(self, dx: float, dy: float) -> np.ndarray | None:
        """A note's own weights, at the position moved by (dx, dy) (issue 19), or None.

        One column of `weights_at_many`; None when the layers carry no corners
        (one bank, or a triangle grid) or the point has no weight anywhere.
        """
        many = self.weights_at_many(np.array([dx]), np.array([dy]))
        if many is None or not np.isfinite(many[0, 0]):
            return None
        return many[:, 0]

    def weights_at_many(self, dx: np.ndarray, dy: np.ndarray) -> np.ndarray | None:
        """Notes' own weights (tables, notes) at the position moved by each (dx, dy).

        Bilinear weights over the grid points the layers carry (the cell and its
        neighbours, banks/morph.py `_reach`): a tent of one grid step per axis
        around each point, clamped into the box the points span, summed per bank
        (corners may share one). A column is NaN where no point has weight; None
        without corners. All notes in one numpy pass: a chord's expression costs
        the audio thread one call, not one per note.
        """
        corners, step = self.corners, self.step
        if corners is None or step is None or corners.shape[0] < 2:
            return None
        moved = self.position[:, None] + np.stack([np.asarray(dx, np.float64),
                                                   np.asarray(dy, np.float64)])
        p = np.clip(moved, self.low[:, None], self.high[:, None])
        w = np.ones((corners.shape[0], p.shape[1]))
        for axis in (0, 1):
            if step[axis] > 0.0:
                w *= np.maximum(1.0 - np.abs(p[axis][None, :] - corners[:, axis][:, None])
                                / step[axis], 0.0)
        per_table = np.zeros((len(self.tables), p.shape[1]))
        np.add.at(per_table, self.corner_table, w)
        total = per_table.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0.0, per_table / total, np.nan)


def grid_step(corners: np.ndarray) -> np.ndarray:
    """Per axis, the smallest distance between the points' distinct coordinates (0: one)."""
    step = np.zeros(2)
    for axis in (0, 1):
        coords = np.unique(np.round(corners[:, axis], 12))
        if coords.size > 1:
            step[axis] = float(np.diff(coords).min())
    return step


def prepare_layers(layers: BankLayers, output_rate: int,
                   cache: dict[int, PitchTable] | None = None) -> PreparedLayers:
    """Tables for every bank of `layers`; banks already in `cache` (by identity) are reused.

    A bank that appears twice (one preset on two corners) gets one table, its
    weights summed. Banks with zero weight are left out (they would add nothing), except the
    ones layers with corners carry for per-note expression: a voice's mix skips
    a bank it gives no weight, so they cost a voice nothing until it glides there.
    """
    if not isinstance(layers, BankLayers):
        raise TypeError(f"expected BankLayers, got {type(layers).__name__}")
    tables: list[PitchTable] = []
    weights: list[float] = []
    corners, owner = [], []
    index_of: dict[int, int] = {}  # id(bank) -> its table: a bank on two corners is read once
    for i, (bank, weight) in enumerate(zip(layers.banks, layers.weights)):
        if weight <= 0.0 and layers.corners is None:
            continue
        k = index_of.get(id(bank))
        if k is None:
            table = cache.get(id(bank)) if cache is not None else None
            if table is None or table.bank is not bank:
                table = PitchTable.build(bank, output_rate)
                if cache is not None:
                    cache[id(bank)] = table
            k = index_of[id(bank)] = len(tables)
            tables.append(table)
            weights.append(0.0)
        weights[k] += float(weight)
        if layers.corners is not None:
            corners.append(layers.corners[i])
            owner.append(k)
    total = sum(weights)
    weights = [w / total for w in weights]
    geometry = np.stack([np.stack([t.start, t.end, t.loop_start, t.loop_end]) for t in tables],
                        axis=1)
    rate = np.stack([t.rate for t in tables])
    gain = np.stack([t.gain for t in tables])
    corner_array = position = corner_table = step = low = high = None
    if layers.corners is not None:
        corner_array = np.array(corners, dtype=np.float64).reshape(-1, 2)
        position = np.array(layers.position, dtype=np.float64)
        corner_table = np.array(owner, dtype=np.int64)
        step, low, high = grid_step(corner_array), corner_array.min(0), corner_array.max(0)
    weight_array = np.array(weights, dtype=np.float64)
    slot_indices = np.full(len(tables), -1, dtype=np.int64)
    return PreparedLayers(layers, tuple(tables), tuple(weights), geometry, rate,
                          weight_array, gain, corner_array, position,
                          corner_table, step, low, high,
                          serials=np.array([t.serial for t in tables], dtype=np.int64),
                          slot_indices=slot_indices,
                          rt=(geometry, rate, gain, weight_array, slot_indices))
