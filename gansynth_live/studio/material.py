"""Generated 16 kHz notes -> NoteBanks at the output rate, with sustain loops.

The studio's stand-in for the bank builder (banks/builder.py, written
elsewhere): per note it removes the generator's DC offset, resamples to the
output rate (and, for notes outside the model's range, to the wanted pitch) in
one band-limited soxr pass, finds and bakes a sustain loop, trims the silent
tail and fades the very end. The result follows the NoteBank contract, so the
engine's offline renderer can play it as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping

import numpy as np

from ..banks.bank import NoteBank, NoteSlot
from .sustain import LoopSettings, bake_loop, find_loop


@dataclass(frozen=True)
class MaterialSettings:
    sample_rate: int = 16000
    held_s: float = 3.0            # key-up inside the model's 4 s note (NSynth layout)
    highpass_hz: float = 10.0      # DC removal; 3.3x below the lowest model pitch
    tail_db: float = -70.0         # the tail is cut where the note stays this far below its peak
    end_fade_s: float = 0.01
    loops: LoopSettings = field(default_factory=LoopSettings)


@dataclass(frozen=True)
class PreparedNote:
    samples: np.ndarray  # float32, at MaterialSettings.sample_rate
    loop_start: int
    loop_end: int
    peak: float
    rms: float


@lru_cache(maxsize=8)
def _highpass(cutoff_hz: float, rate: int) -> np.ndarray:
    from scipy.signal import butter

    return butter(2, cutoff_hz, btype="highpass", fs=rate, output="sos")


def _loudest_rms(x: np.ndarray, window: int) -> float:
    if len(x) == 0:
        return 0.0
    window = max(1, min(window, len(x)))
    power = np.concatenate([[0.0], np.cumsum(np.square(x, dtype=np.float64))])
    return float(np.sqrt(np.max(power[window:] - power[:-window]) / window))


def _tail_end(x: np.ndarray, rate: int, tail_db: float) -> int:
    frame = max(1, int(0.01 * rate))
    n = -(-len(x) // frame)
    if n == 0:
        return 0
    padded = np.zeros(n * frame)
    padded[:len(x)] = x
    energy = np.mean(np.square(padded.reshape(n, frame)), axis=1)
    loud = energy > np.max(energy) * 10.0 ** (tail_db / 10.0)
    if not np.any(loud):
        return 0
    return min(len(x), (int(np.flatnonzero(loud)[-1]) + 2) * frame)


def prepare_note(wave: np.ndarray, model_rate: int, shift_semitones: float = 0.0,
                 settings: MaterialSettings = MaterialSettings()) -> PreparedNote:
    """One model note as playable material at the output rate, `shift_semitones` higher."""
    from scipy.signal import sosfilt
    import soxr

    x = np.asarray(wave, dtype=np.float64)
    if settings.highpass_hz > 0 and len(x):
        x = sosfilt(_highpass(float(settings.highpass_hz), int(model_rate)), x)
    ratio = float(2.0 ** (shift_semitones / 12.0))  # > 1 plays faster (higher)
    in_rate = model_rate * ratio
    rate = int(settings.sample_rate)
    if len(x) and abs(in_rate - rate) > 1e-9 * rate:
        x = soxr.resample(x, in_rate, rate, quality="VHQ")
    held = int(round(settings.held_s / ratio * rate))
    loop = find_loop(x, rate, held, settings.loops) if len(x) else None
    if loop is not None:
        x = bake_loop(x, loop)
    end = _tail_end(x, rate, settings.tail_db)
    if loop is not None:
        end = max(end, min(len(x), loop.end + loop.crossfade))
    x = x[:end]
    fade = min(len(x), int(settings.end_fade_s * rate))
    if fade:
        x[len(x) - fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    return PreparedNote(samples=x.astype(np.float32),
                        loop_start=loop.start if loop else 0,
                        loop_end=loop.end if loop else 0,
                        peak=peak, rms=_loudest_rms(x, int(0.4 * rate)))


def latent_id(latent: np.ndarray) -> str:
    """Short stable name of a latent (float32 bytes, as the model sees it)."""
    return hashlib.sha256(np.asarray(latent, np.float32).tobytes()).hexdigest()[:12]


def build_bank(notes: Mapping[int, PreparedNote], sample_rate: int, bank_id: str = ""
               ) -> NoteBank:
    """One NoteBank holding `notes` (pitch -> prepared note) back to back."""
    slots: dict[int, NoteSlot] = {}
    parts: list[np.ndarray] = []
    offset = 0
    for pitch in sorted(notes):
        note = notes[pitch]
        n = len(note.samples)
        loops = note.loop_end > note.loop_start
        slots[int(pitch)] = NoteSlot(
            pitch=int(pitch), start=offset, end=offset + n,
            loop_start=offset + (note.loop_start if loops else n),
            loop_end=offset + (note.loop_end if loops else n),
            peak=note.peak, rms=note.rms)
        parts.append(note.samples)
        offset += n
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return NoteBank(sample_rate=int(sample_rate), samples=samples.astype(np.float32),
                    slots=slots, latent_id=bank_id)
