"""Sustain loops: how a 4-second note sounds for as long as its key is held.

A GANSynth note is NSynth-shaped: the key goes down at 0 s and up at 3 s, then
about a second of release. The loop therefore sits in the held part, after the
attack and before the note-off, and is chosen where the sound repeats best:

- The loop end is a rising zero crossing just before the note-off.
- The loop start is the rising zero crossing, 0.25..1.2 s earlier, whose
  neighbourhood correlates best with the loop end's (normalised
  cross-correlation over the crossfade window, computed with one FFT; candidates
  whose level differs from the loop end's are penalised, longer loops get a
  small bonus because they repeat less audibly).
- A loop may only change level by `max_step_db` end to start: a note decaying
  too fast for even the shortest loop gets none (a one-shot that simply ends;
  a loop there would pump).
- The crossfade is baked into the samples on both sides of the loop end, so
  jumping back (loop end -> loop start) and leaving the loop on key release
  (loop end -> release tail) are both seamless. Its gain law keeps power
  constant for the measured correlation rho of the two signals it mixes:
  gains cos/sin divided by sqrt(1 + 2 rho sin cos), which is the classic
  equal-power fade for uncorrelated signals (rho = 0) and sums to unity gain
  for identical ones (rho = 1), so neither case dips nor bulges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoopSettings:
    """Where loops may go and what they may sound like (seconds at the model's speed)."""

    min_loop_s: float = 0.25
    max_loop_s: float = 1.2
    crossfade_s: float = 0.08
    attack_s: float = 0.3          # loops start after this: attack transients never repeat
    release_margin_s: float = 0.1  # loops end this long before the note-off
    max_step_db: float = 1.5       # largest level change allowed from loop end to loop start
    min_level_db: float = -40.0    # below this (re the loudest 20 ms) the note has decayed
    long_loop_bonus: float = 0.1   # score added per max_loop of loop length


@dataclass(frozen=True)
class Loop:
    """A chosen loop, in samples of the note it was found in."""

    start: int
    end: int
    crossfade: int
    correlation: float


def _frame_db(x: np.ndarray, frame: int) -> np.ndarray:
    n = len(x) // frame
    energy = np.mean(np.square(x[: n * frame].reshape(n, frame)), axis=1)
    return 10.0 * np.log10(energy + 1e-20)


def rising_zero_crossings(x: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Indices s in [lo, hi) with x[s-1] < 0 <= x[s] (lo >= 1)."""
    lo = max(1, lo)
    if hi <= lo:
        return np.empty(0, np.int64)
    seg = x[lo - 1:hi]
    return np.flatnonzero((seg[:-1] < 0) & (seg[1:] >= 0)) + lo


def find_loop(x: np.ndarray, rate: int, note_off: int, settings: LoopSettings = LoopSettings(),
              time_scale: float = 1.0) -> Loop | None:
    """The best sustain loop of note `x`, or None when the note should be a one-shot.

    `note_off` is the sample where the key went up; `time_scale` shrinks every
    duration for notes played faster than the model made them (pitch-shifted up).
    """
    x = np.asarray(x, np.float64)
    n = len(x)
    sec = rate * time_scale
    fade = max(8, int(round(settings.crossfade_s * sec)))
    min_loop = max(2 * fade, int(round(settings.min_loop_s * sec)))
    max_loop = max(min_loop, int(round(settings.max_loop_s * sec)))
    e_target = min(note_off - int(round(settings.release_margin_s * sec)), n - fade)
    s_lowest = int(round(settings.attack_s * sec)) + fade
    if e_target - min_loop < s_lowest:
        return None

    crossings = rising_zero_crossings(x, e_target - max(1, int(0.005 * rate)), e_target + 1)
    e = int(crossings[-1]) if len(crossings) else e_target

    # Level: decayed notes end; decaying ones get only loops short enough not to pump.
    frame = max(32, int(round(0.02 * sec)))
    level = _frame_db(x, frame)
    if len(level) == 0:
        return None
    peak_db = float(level.max())
    end_db = 10.0 * np.log10(np.mean(np.square(x[e - fade:e])) + 1e-20)
    if end_db < peak_db + settings.min_level_db:
        return None
    fit_lo = max(s_lowest, e - max(max_loop, int(sec))) // frame
    fit_hi = e // frame
    if fit_hi - fit_lo >= 3:
        t = np.arange(fit_lo, fit_hi) * frame / sec  # seconds at the model's speed
        slope_db_per_s = abs(float(np.polyfit(t, level[fit_lo:fit_hi], 1)[0]))
        if slope_db_per_s > 0:
            max_loop = min(max_loop, int(settings.max_step_db / slope_db_per_s * sec))
    if max_loop < min_loop:
        return None

    s_lo = max(s_lowest, e - max_loop)
    s_hi = e - min_loop
    if s_hi < s_lo:
        return None
    ref = x[e - fade:e + fade]
    span = x[s_lo - fade:s_hi + fade]
    corr = _correlate_valid(span, ref)
    cum = np.concatenate(([0.0], np.cumsum(np.square(span))))
    energy = cum[2 * fade:] - cum[:-2 * fade]
    ref_energy = float(np.dot(ref, ref))
    ncc = corr / np.sqrt(energy * ref_energy + 1e-30)
    level_match = np.minimum(energy, ref_energy) / (np.maximum(energy, ref_energy) + 1e-30)
    # Between similar matches prefer the longer loop: it repeats less audibly
    # (this decides for noisy sounds, where no candidate correlates well).
    length_bonus = settings.long_loop_bonus * (e - s_lo - np.arange(len(ncc))) / max_loop
    score = ncc * level_match + length_bonus
    candidates = rising_zero_crossings(x, s_lo, s_hi + 1) - s_lo
    if len(candidates):
        best = int(candidates[np.argmax(score[candidates])])
    else:
        best = int(np.argmax(score))
    return Loop(start=s_lo + best, end=e, crossfade=fade,
                correlation=float(np.clip(ncc[best], -1.0, 1.0)))


def _correlate_valid(span: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """c[k] = sum_t span[k + t] * ref[t] for every full overlap, by FFT."""
    m = len(span) + len(ref) - 1
    size = 1 << (m - 1).bit_length()
    spec = np.fft.rfft(span, size) * np.conj(np.fft.rfft(ref, size))
    return np.fft.irfft(spec, size)[: len(span) - len(ref) + 1]


def crossfade_gains(length: int, correlation: float) -> tuple[np.ndarray, np.ndarray]:
    """(fade-out, fade-in) gains keeping the mix's power constant for this correlation."""
    t = (np.arange(length) + 0.5) / length
    fade_in = np.sin(0.5 * np.pi * t)
    fade_out = np.cos(0.5 * np.pi * t)
    rho = float(np.clip(correlation, 0.0, 1.0))
    norm = 1.0 / np.sqrt(1.0 + 2.0 * rho * fade_in * fade_out)
    return fade_out * norm, fade_in * norm


def bake_loop(x: np.ndarray, loop: Loop) -> None:
    """Write the loop's crossfades into `x` in place (both sides of loop.end).

    Before the end, the note fades into what precedes the loop start, so the
    jump back continues it; after the end it fades from what follows the loop
    start back into the release, so leaving the loop there is seamless too.
    """
    s, e, fade = loop.start, loop.end, loop.crossfade
    if e - s < 2 * fade or s < fade or e + fade > len(x):
        raise ValueError(f"loop {s}..{e} with crossfade {fade} does not fit a {len(x)}-sample "
                         "note")
    out_gain, in_gain = crossfade_gains(fade, loop.correlation)
    before_e, before_s = x[e - fade:e].copy(), x[s - fade:s].copy()
    after_e, after_s = x[e:e + fade].copy(), x[s:s + fade].copy()
    x[e - fade:e] = out_gain * before_e + in_gain * before_s
    x[e:e + fade] = in_gain * after_e + out_gain * after_s
