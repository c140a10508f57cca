"""Measurements on rendered or captured audio, shared by tests, benchmarks and the demo.

Kept small and plain (numpy only): the fundamental of a steady tone, the
largest sample-to-sample jump (a click shows up as one), the first frame
that is not silent (latency), and the level of one frequency in a window.
"""

from __future__ import annotations

import numpy as np


def mono(x: np.ndarray) -> np.ndarray:
    return x.mean(axis=1) if x.ndim == 2 else x


def fundamental_hz(x: np.ndarray, sample_rate: int, fmin: float = 20.0,
                   fmax: float = 5000.0) -> float:
    """Frequency of the strongest spectral peak in fmin..fmax (Hann window, zero-padded,
    parabolic interpolation): the fundamental for tones whose first harmonic is strongest."""
    x = mono(x).astype(np.float64)
    x = x - x.mean()
    n = 1 << int(np.ceil(np.log2(len(x) * 8)))
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), n))
    lo, hi = int(fmin * n / sample_rate), int(fmax * n / sample_rate)
    k = lo + int(np.argmax(spectrum[lo:hi]))
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-30)
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return (k + offset) * sample_rate / n


def tone_level(x: np.ndarray, sample_rate: int, frequency_hz: float) -> float:
    """Amplitude of one sinusoid in x (least-squares fit of a sine and cosine)."""
    x = mono(x).astype(np.float64)
    t = np.arange(len(x)) / sample_rate
    basis = np.stack([np.cos(2 * np.pi * frequency_hz * t), np.sin(2 * np.pi * frequency_hz * t)])
    coef = basis @ x * 2.0 / len(x)
    return float(np.hypot(*coef))


def max_jump(x: np.ndarray) -> float:
    """Largest |x[n] - x[n-1]| over all channels (a click is a jump well above the tone's own)."""
    if x.shape[0] < 2:
        return 0.0
    return float(np.abs(np.diff(x, axis=0)).max())


def first_sound_frame(x: np.ndarray, threshold: float = 1e-6) -> int:
    """Index of the first frame with |sample| > threshold on any channel, -1 if none."""
    loud = np.abs(x).reshape(len(x), -1).max(axis=1) > threshold
    hits = np.flatnonzero(loud)
    return int(hits[0]) if hits.size else -1


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2))) if x.size else 0.0
