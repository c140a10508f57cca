"""Note banks of synthetic harmonic tones, for demos, tests and benchmarks without a model.

Each note is a sum of cosine harmonics (so it starts at its peak: a voice
that started without an attack ramp would click, which tests can see), with
a decay from full level to half over the first `loop_at_s`, then a steady
tail whose loop region holds a whole number of periods, so the loop is
seamless. The fundamental is nudged (by well under a cent) to make that
possible; `tone_frequency` returns the exact value for pitch tests.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..banks.bank import NoteBank, NoteSlot


@lru_cache(maxsize=None)
def _loop_periods(f0_hz: float, sample_rate: int, min_frames: int, max_frames: int) -> int:
    """Whole periods m whose length m * sr / f0 is closest to a whole number of frames."""
    period = sample_rate / f0_hz
    best_m, best_err = 1, 1.0
    for m in range(max(1, int(min_frames / period)), int(max_frames / period) + 1):
        frames = m * period
        err = abs(frames - round(frames))
        if err < best_err and min_frames <= round(frames) <= max_frames:
            best_m, best_err = m, err
    return best_m


def _loop_frames(pitch: int, sample_rate: int, loop_s: float) -> tuple[int, float]:
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
    target = int(loop_s * sample_rate)
    m = _loop_periods(f0, sample_rate, int(target * 0.75), target)
    frames = int(round(m * sample_rate / f0))
    return frames, m * sample_rate / frames


def tone_frequency(pitch: int, sample_rate: int = 48000, loop_s: float = 0.5) -> float:
    """The exact fundamental (Hz) `synthetic_bank` uses for `pitch`."""
    return _loop_frames(pitch, sample_rate, loop_s)[1]


def synthetic_note(pitch: int, sample_rate: int = 48000, duration_s: float = 1.0,
                   loop_at_s: float = 0.3, loop_s: float = 0.5, harmonics: int = 6,
                   rolloff: float = 1.5, harmonic_offset: int = 0, peak: float = 0.8,
                   loop: bool = True) -> tuple[np.ndarray, int, int]:
    """One note as float32 samples with its loop (start, end) relative to the note start.

    Harmonic h (1-based, plus `harmonic_offset`) has amplitude h ** -rolloff;
    harmonics at or above half the sample rate are left out. Without `loop`
    the tone fades out smoothly over its last 20 %, a one-shot.
    """
    loop_frames, f0 = _loop_frames(pitch, sample_rate, loop_s)
    start_loop = int(loop_at_s * sample_rate)
    total = max(int(duration_s * sample_rate), start_loop + loop_frames)
    end_loop = start_loop + loop_frames if loop else start_loop
    t = np.arange(total, dtype=np.float64) / sample_rate
    wave = np.zeros(total, dtype=np.float64)
    for h in range(1 + harmonic_offset, harmonics + 1 + harmonic_offset):
        if h * f0 >= sample_rate / 2:
            break
        wave += h ** -rolloff * np.cos(2.0 * np.pi * h * f0 * t)
    wave *= peak / np.abs(wave).max()
    shape = np.full(total, 0.5)
    head = np.arange(start_loop) / max(start_loop, 1)
    shape[:start_loop] = 0.5 + 0.5 * (1.0 - head) ** 2
    if not loop:
        tail = int(0.2 * total)
        shape[total - tail:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, tail))
    return (wave * shape).astype(np.float32), start_loop, end_loop


def synthetic_bank(pitches: range | list[int] = range(24, 85), sample_rate: int = 48000,
                   duration_s: float = 1.0, loop: bool = True, harmonics: int = 6,
                   rolloff: float = 1.5, harmonic_offset: int = 0, int16: bool = False,
                   latent_id: str = "synthetic", complete: bool = True) -> NoteBank:
    """A NoteBank with one synthetic note per pitch, laid out end to end.

    `rolloff` and `harmonic_offset` give banks different timbres (morph tests
    use a bank of fundamentals and one without them); `int16` stores samples
    as int16 with a scale, the bank format's compact form.
    """
    notes, slots, offset = [], {}, 0
    for pitch in pitches:
        wave, loop_start, loop_end = synthetic_note(
            pitch, sample_rate, duration_s, harmonics=harmonics, rolloff=rolloff,
            harmonic_offset=harmonic_offset, loop=loop)
        n = wave.shape[0]
        slots[pitch] = NoteSlot(pitch=pitch, start=offset, end=offset + n,
                                loop_start=offset + loop_start, loop_end=offset + loop_end,
                                peak=float(np.abs(wave).max()),
                                rms=float(math.sqrt(np.mean(wave.astype(np.float64) ** 2))))
        notes.append(wave)
        offset += n
    samples = np.concatenate(notes) if notes else np.zeros(0, dtype=np.float32)
    scale = 1.0
    if int16:
        scale = 1.0 / 32767.0
        samples = np.round(samples * 32767.0).astype(np.int16)
    return NoteBank(sample_rate=sample_rate, samples=samples, slots=slots, scale=scale,
                    latent_id=latent_id, complete=complete)
