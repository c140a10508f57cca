"""From a model's 16 kHz note to a note the engine can play at the output rate.

The steps, per note:

1. DC removal: a 2nd-order Butterworth high-pass at 10 Hz at the model's rate.
   A high-pass rather than subtracting the mean because the generator's offset
   is not constant over a note (it drifts with the spectrogram frames) and a
   mean removed from a note that decays into silence would leave that
   silence sitting off zero, so the note would end on a step. 10 Hz is 3.3x
   below the lowest model pitch (MIDI 24, 32.7 Hz), where the filter's loss is
   0.02 dB; it is causal, so nothing leaks before the onset.
2. Resampling to the output rate with soxr (VHQ, linear phase, aligned output),
   optionally pitch-shifting by reading the note as if it had been recorded
   faster (see `extend.py`): one band-limited conversion either way.
3. Leading silence trimmed so the note starts at most 0.75 ms before its onset
   (the first 0.5 ms frame within `onset_db` of the loudest one), with a
   0.25 ms fade-in over the pre-onset samples kept.
4. Tail trimmed where the note has fallen `tail_db` below its loudest 10 ms.
5. A sustain loop (`loops.py`), baked in, or none for notes that decay.
6. A 10 ms fade-out at the very end, so no note ever ends on a step.
7. Peak and RMS (loudest 400 ms window), for loudness matching.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from .loops import LoopSettings, bake_loop, find_loop

log = logging.getLogger(__name__)

BUILD_VERSION = 1  # bump when processing changes what a cached bank contains


@dataclass(frozen=True)
class BuildSettings:
    """Everything that shapes a processed note; part of every cache key."""

    sample_rate: int = 48000
    quality: str = "VHQ"
    highpass_hz: float = 10.0
    onset_db: float = -45.0
    tail_db: float = -60.0
    held_s: float = 3.0          # the model's note-off inside its window (NSynth: 3 s of 4)
    extend_step: int = 3         # pre-rendered pitches above the model's range, every N
    highest_pitch: int = 127
    note_gain: bool = True       # int16 per-note gain (NoteSlot.gain); False: one fixed scale
    loops: LoopSettings = field(default_factory=LoopSettings)

    def __post_init__(self) -> None:
        if not 8000 <= int(self.sample_rate) <= 384000:
            raise ValueError(f"output sample rate {self.sample_rate} Hz is outside 8000..384000")
        if self.quality not in ("HQ", "VHQ"):
            raise ValueError("quality must be 'HQ' or 'VHQ'")
        if self.extend_step < 1:
            raise ValueError("extend_step must be at least 1")

    @property
    def settings_id(self) -> str:
        """Short hash of these settings and the processing code version."""
        text = json.dumps({"build": BUILD_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ProcessedNote:
    """One note at the output rate; loop indices are relative to `samples`."""

    pitch: int
    samples: np.ndarray  # float32
    loop_start: int
    loop_end: int
    peak: float
    rms: float
    source_pitch: int

    @property
    def loops(self) -> bool:
        return self.loop_end > self.loop_start


@lru_cache(maxsize=16)
def _highpass_sos(cutoff_hz: float, rate: float) -> np.ndarray:
    from scipy.signal import butter

    return butter(2, cutoff_hz, btype="highpass", fs=rate, output="sos")


def remove_dc(x: np.ndarray, rate: float, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(_highpass_sos(float(cutoff_hz), float(rate)), x)


def onset_trim(x: np.ndarray, rate: int, onset_db: float) -> int:
    """Index to start the note at: <= 0.75 ms before its first loud 0.5 ms frame."""
    frame = max(1, int(round(0.0005 * rate)))
    lead = max(1, int(round(0.00025 * rate)))
    n = len(x) // frame
    if n == 0:
        return 0
    energy = np.mean(np.square(x[: n * frame].reshape(n, frame)), axis=1)
    top = float(energy.max())
    if top <= 0.0:
        return 0
    first = int(np.argmax(energy > top * 10.0 ** (onset_db / 10.0)))
    return max(0, first * frame - lead)


def tail_end(x: np.ndarray, rate: int, tail_db: float) -> int:
    """Length to keep: up to 10 ms after the last 10 ms frame within `tail_db` of the loudest."""
    frame = max(1, int(round(0.01 * rate)))
    n = -(-len(x) // frame)
    padded = np.zeros(n * frame)
    padded[: len(x)] = x
    energy = np.mean(np.square(padded.reshape(n, frame)), axis=1)
    top = float(energy.max()) if n else 0.0
    if top <= 0.0:
        return min(len(x), frame)
    last = int(np.flatnonzero(energy > top * 10.0 ** (tail_db / 10.0))[-1])
    return min(len(x), (last + 2) * frame)


def loudest_rms(x: np.ndarray, rate: int, window_s: float = 0.4) -> float:
    """RMS of the loudest `window_s` window (10 ms hops); the whole note if shorter."""
    frame = max(1, int(round(0.01 * rate)))
    n = len(x) // frame
    per = max(1, int(round(window_s / 0.01)))
    if n <= per:
        return float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0
    energy = np.sum(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    cum = np.concatenate(([0.0], np.cumsum(energy)))
    best = float(np.max(cum[per:] - cum[:-per]))
    return float(np.sqrt(best / (per * frame)))


def process_wave(wave: np.ndarray, source_rate: int, pitch: int,
                 settings: BuildSettings = BuildSettings(), shift_semitones: int = 0,
                 ) -> ProcessedNote:
    """Turn one generated note into a playable one (see the module docstring).

    `shift_semitones` > 0 renders the note that many semitones higher (and
    shorter), band-limited at the output rate's Nyquist: `pitch` is then the
    pitch played and `pitch - shift_semitones` the one generated.
    """
    import soxr

    rate = int(settings.sample_rate)
    x = np.asarray(wave, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"a note must be 1-D, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        log.warning("note %d: %d non-finite samples replaced by 0", pitch,
                    int(np.count_nonzero(~np.isfinite(x))))
        x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    ratio = 2.0 ** (shift_semitones / 12.0)
    x = remove_dc(x, source_rate, settings.highpass_hz)
    y = soxr.resample(x, source_rate * ratio, rate, settings.quality)

    start = onset_trim(y, rate, settings.onset_db)
    lead = max(1, int(round(0.00025 * rate)))
    y = np.array(y[start:tail_end(y, rate, settings.tail_db)], dtype=np.float64)
    if start > 0:
        ramp = min(lead, len(y))
        y[:ramp] *= 0.5 - 0.5 * np.cos(np.pi * (np.arange(ramp) + 0.5) / ramp)
    fade_out = min(len(y), max(1, int(round(0.01 * rate))))

    note_off = int(round(settings.held_s * rate / ratio)) - start
    loop = find_loop(y[: len(y) - fade_out], rate, note_off, settings.loops, 1.0 / ratio)
    if loop is not None:
        bake_loop(y, loop)
    y[len(y) - fade_out:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(fade_out) + 0.5) / fade_out)

    out = y.astype(np.float32)
    peak = float(np.max(np.abs(out))) if len(out) else 0.0
    ls, le = (loop.start, loop.end) if loop is not None else (len(out), len(out))
    return ProcessedNote(pitch=int(pitch), samples=out, loop_start=ls, loop_end=le, peak=peak,
                         rms=loudest_rms(out, rate), source_pitch=int(pitch - shift_semitones))


def max_note_frames(audio_length: int, source_rate: int, settings: BuildSettings,
                    shift_semitones: int = 0) -> int:
    """Upper bound on a processed note's length (for preallocating a bank)."""
    ratio = 2.0 ** (shift_semitones / 12.0)
    return int(np.ceil(audio_length * settings.sample_rate / (source_rate * ratio))) + 16
