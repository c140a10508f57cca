"""A simple sustain loop, so a note can be held longer than the model made it.

A GANSynth note is 4 s with the key held for the first 3 (NSynth's layout),
then the instrument's own release. magenta cuts every note at 3 s; here a
note held longer loops a stretch of its held part:

- the loop end is the last rising zero crossing before the key-up (minus a margin);
- the loop start is the rising zero crossing 0.2..1.0 s earlier, after the
  attack, whose surroundings correlate best with the loop end's, with a
  penalty for a level step between the two;
- a note that decays too much for the loop (a level step over `max_step_db`)
  or is silent gets no loop: it plays as a one-shot and simply ends;
- the crossfade is baked into the samples on both sides of the loop end
  (`bake_loop`), so jumping back to the loop start and going on into the
  note's own release are both seamless: the NoteSlot contract of banks/bank.py.

The bank builder (banks/builder.py) makes finer loops; this one exists so the
studio renders long notes before that lands, and it honours the same contract.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoopSettings:
    """Where a loop may go (seconds at the note's playback speed)."""

    attack_s: float = 0.25
    release_margin_s: float = 0.1
    min_loop_s: float = 0.2
    max_loop_s: float = 1.0
    crossfade_s: float = 0.04
    max_step_db: float = 2.0
    silence_db: float = -60.0  # loop region this far below the note's peak: no loop


@dataclass(frozen=True)
class Loop:
    start: int
    end: int
    crossfade: int
    correlation: float


def rising_zero_crossings(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Indices s in [lo, hi) with x[s-1] < 0 <= x[s]."""
    lo, hi = max(1, int(lo)), min(len(x), int(hi))
    if hi <= lo:
        return np.empty(0, np.int64)
    seg = x[lo - 1:hi]
    return np.flatnonzero((seg[:-1] < 0) & (seg[1:] >= 0)).astype(np.int64) + lo


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def find_loop(x: np.ndarray, rate: int, held_frames: int,
              settings: LoopSettings = LoopSettings()) -> Loop | None:
    """The sustain loop of a note whose key goes up at `held_frames`, or None."""
    x = np.asarray(x, dtype=np.float64)
    fade = max(4, int(round(settings.crossfade_s * rate)))
    min_loop = max(2 * fade + 1, int(round(settings.min_loop_s * rate)))
    max_loop = max(min_loop + 1, int(round(settings.max_loop_s * rate)))
    target_end = min(int(held_frames - settings.release_margin_s * rate), len(x) - fade - 1)
    earliest_start = int(settings.attack_s * rate) + fade
    if target_end - min_loop < earliest_start:
        return None
    ends = rising_zero_crossings(x, target_end - int(0.05 * rate), target_end + 1)
    end = int(ends[-1]) if len(ends) else target_end
    lo, hi = max(earliest_start, end - max_loop), end - min_loop + 1
    starts = rising_zero_crossings(x, lo, hi)
    if len(starts) == 0:
        starts = np.arange(lo, hi, max(1, fade // 4), dtype=np.int64)
    if len(starts) == 0:
        return None
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    end_window = x[end - fade:end + fade]
    end_rms = _rms(end_window)
    if peak <= 0.0 or end_rms <= peak * 10.0 ** (settings.silence_db / 20.0):
        return None
    # correlation of every window x[s-fade : s+fade] with the end window, by one FFT
    from scipy.signal import fftconvolve

    region = x[lo - fade:hi + fade]
    cross = fftconvolve(region, end_window[::-1], mode="valid")
    energy = np.concatenate([[0.0], np.cumsum(np.square(region))])
    window_energy = np.maximum(energy[2 * fade:] - energy[:-2 * fade], 0.0)
    at = starts - lo
    norms = np.sqrt(window_energy[at])
    corr = cross[at] / (norms * np.sqrt(np.sum(np.square(end_window))) + 1e-30)
    step_db = 20.0 * np.log10((norms / np.sqrt(2 * fade) + 1e-30) / end_rms)
    score = corr - 0.1 * np.abs(step_db)
    best = int(np.argmax(score))
    if abs(step_db[best]) > settings.max_step_db:
        return None
    return Loop(int(starts[best]), end, fade, float(corr[best]))


def bake_loop(x: np.ndarray, loop: Loop) -> np.ndarray:
    """Samples in which loop.end -> loop.start and loop.end -> loop.end+1 are both seamless.

    Before the loop end the note fades into what precedes the loop start, so the
    jump back continues where it lands; after the loop end what follows the loop
    start fades back into the note's own continuation, so leaving the loop is
    seamless too. Well correlated material gets a linear (constant-amplitude)
    crossfade, uncorrelated material an equal-power one.
    """
    y = np.array(x, dtype=np.float64, copy=True)
    s, e, f = loop.start, loop.end, loop.crossfade
    ramp = (np.arange(f) + 0.5) / f
    if loop.correlation > 0.5:
        fade_in, fade_out = ramp, 1.0 - ramp
    else:
        fade_in, fade_out = np.sin(0.5 * np.pi * ramp), np.cos(0.5 * np.pi * ramp)
    y[e - f:e] = x[e - f:e] * fade_out + x[s - f:s] * fade_in
    y[e:e + f] = x[s:s + f] * fade_out + x[e:e + f] * fade_in
    return y
