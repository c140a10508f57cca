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
    """

    pitch: int
    start: int
    end: int
    loop_start: int
    loop_end: int
    peak: float
    rms: float

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


@dataclass(frozen=True)
class BankLayers:
    """What the engine plays at one morph position: up to 4 banks and their weights.

    Made off the audio thread (by the morph grid) and handed to the engine by
    reference; weights are non-negative and sum to 1.
    """

    banks: tuple[NoteBank, ...]
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.banks) != len(self.weights) or not 1 <= len(self.banks) <= 4:
            raise ValueError("BankLayers needs 1..4 banks with one weight each")
        if any(w < 0 for w in self.weights) or abs(sum(self.weights) - 1.0) > 1e-6:
            raise ValueError("BankLayers weights must be >= 0 and sum to 1")

    @classmethod
    def single(cls, bank: NoteBank) -> "BankLayers":
        return cls((bank,), (1.0,))
