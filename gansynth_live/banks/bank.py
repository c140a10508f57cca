"""The immutable note bank the audio engine reads.

Contract between the bank builder (any thread) and the audio callback: a
NoteBank is never mutated after construction; new pitches or new latents arrive
as a new NoteBank swapped in by reference. All notes live in one flat array so
the mixer can gather many voices' samples with one fancy-index per bank.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class NoteSlot:
    """Where one pitch's note sits inside NoteBank.samples (absolute indices).

    start <= loop_start <= loop_end <= end. loop_end > loop_start means the note
    sustains by jumping from loop_end back to loop_start (the crossfade is baked
    into the samples, so the jump is seamless); loop_end == loop_start means a
    one-shot note that ends at `end`.

    Samples between loop_end and end are the note's own release (the model's
    note-off happens 3 s into its 4 s window): a voice that leaves the loop at
    loop_end on key release plays on seamlessly into them (both sides of loop_end
    are crossfaded), or it may keep looping under its own release envelope.

    A sample's value is `bank.samples[i] * bank.scale * slot.gain`: int16 banks
    store every note normalised to full scale and carry its level in `gain`
    (per-note scale keeps quantisation noise 90+ dB below each note's peak).
    `peak` and `rms` are in those final units (rms: loudest 400 ms window), for
    loudness matching.
    """

    pitch: int
    start: int
    end: int
    loop_start: int
    loop_end: int
    peak: float
    rms: float
    gain: float = 1.0

    @property
    def loops(self) -> bool:
        return self.loop_end > self.loop_start


@dataclass(frozen=True)
class NoteBank:
    """Rendered notes for one latent at one output rate.

    `samples` is float32 (or int16, then multiplied by `scale`). `slots` maps a
    MIDI pitch to its note; pitches missing from a partial bank are played from
    the nearest present pitch, resampled (see `nearest`).
    """

    sample_rate: int
    samples: np.ndarray
    slots: dict[int, NoteSlot]
    scale: float = 1.0
    latent_id: str = ""
    complete: bool = True
    _sorted: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.samples.setflags(write=False)
        object.__setattr__(self, "_sorted", np.array(sorted(self.slots), dtype=np.int64))

    @property
    def pitches(self) -> np.ndarray:
        return self._sorted

    @property
    def nbytes(self) -> int:
        """Bytes of sample data this bank references (what it costs in RAM)."""
        return int(self.samples.nbytes)

    def amplitude(self, slot: NoteSlot) -> float:
        """Factor turning stored samples of `slot` into float audio (scale * gain)."""
        return float(self.scale) * float(slot.gain)

    def note_audio(self, pitch: int) -> np.ndarray:
        """One note as a new float32 array (offline use: allocates, never in the callback)."""
        slot = self.slots[pitch]
        return self.samples[slot.start:slot.end].astype(np.float32) * np.float32(
            self.amplitude(slot))

    def nearest(self, pitch: int) -> tuple[NoteSlot, float]:
        """The slot to play for `pitch` and the playback-rate ratio to apply.

        Prefers a slot at or above the pitch (playing slower never aliases).
        Raises LookupError on an empty bank.
        """
        if pitch in self.slots:
            return self.slots[pitch], 1.0
        if len(self._sorted) == 0:
            raise LookupError("empty bank")
        i = int(np.searchsorted(self._sorted, pitch))
        candidates = [int(self._sorted[j]) for j in (i - 1, i) if 0 <= j < len(self._sorted)]
        best = min(candidates, key=lambda p: (abs(p - pitch), p < pitch))
        return self.slots[best], float(2.0 ** ((pitch - best) / 12.0))


MAX_REACH_BANKS = 9  # the 3 x 3 grid points around a morph position (banks/morph.py)


@dataclass(frozen=True)
class BankLayers:
    """What the engine plays at one morph position: up to 4 banks and their weights.

    Made off the audio thread (by the morph grid) and handed to the engine by
    reference; weights are non-negative and sum to 1. With `corners` (per-note
    expression, issue 19) it may also carry up to MAX_REACH_BANKS banks of
    weight 0 around the position: the grid points a note's own morph may glide
    to. The shared mix never reads them.
    """

    banks: tuple[NoteBank, ...]
    weights: tuple[float, ...]
    # optional, for per-note expression (issue 19): each bank's (x, y) in the morph space
    # (grid points around the position, the bilinear cell among them) and the position
    corners: tuple[tuple[float, float], ...] | None = None
    position: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        most = MAX_REACH_BANKS if self.corners is not None else 4
        if len(self.banks) != len(self.weights) or not 1 <= len(self.banks) <= most or \
                sum(1 for w in self.weights if w > 0) > 4:
            raise ValueError("BankLayers needs 1..4 banks with one weight each (up to "
                             f"{MAX_REACH_BANKS} with corners, 4 of them weighted)")
        if (self.corners is None) != (self.position is None) or \
                (self.corners is not None and len(self.corners) != len(self.banks)):
            raise ValueError("BankLayers corners: one (x, y) per bank, with a position")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1.0) > 1e-6:
            raise ValueError("BankLayers weights must be >= 0 and sum to 1")

    @classmethod
    def single(cls, bank: NoteBank) -> "BankLayers":
        return cls((bank,), (1.0,))
