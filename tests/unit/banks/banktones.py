"""Synthetic notes with known pitch, level and envelope (16 kHz, NSynth-shaped 4 s)."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

RATE = 16000
LENGTH = 64000


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def envelope(attack_s: float = 0.02, release_s: float = 0.3, off_s: float = 3.0,
             decay_db_per_s: float = 0.0, start_s: float = 0.0) -> np.ndarray:
    t = np.arange(LENGTH) / RATE - start_s
    env = np.clip(t / attack_s, 0.0, 1.0) * 10.0 ** (-decay_db_per_s * np.clip(t, 0, None) / 20)
    env *= np.where(t < off_s, 1.0, np.exp(-(t - off_s) / (release_s / 6.9)))
    return np.where(t >= 0, env, 0.0)


def harmonic(f0: float, partials: int = 8, amp: float = 0.5, seed: int = 0,
             vibrato_cents: float = 0.0, **env_kw) -> np.ndarray:
    """A harmonic tone (1/k partials, random phases) below the 8 kHz Nyquist."""
    rng = np.random.default_rng(seed)
    t = np.arange(LENGTH) / RATE
    phase_mod = 0.0
    if vibrato_cents:
        depth = f0 * (2 ** (vibrato_cents / 1200) - 1)
        phase_mod = depth / 5.0 * np.sin(2 * np.pi * 5.0 * t)
    x = np.zeros(LENGTH)
    for k in range(1, partials + 1):
        if k * f0 >= 7800:
            break
        x += np.sin(2 * np.pi * k * (f0 * t + phase_mod) + rng.uniform(0, 2 * np.pi)) / k
    return amp * x / np.max(np.abs(x)) * envelope(**env_kw)


def noise(amp: float = 0.3, seed: int = 0, low_hz: float = 200, high_hz: float = 3000,
          **env_kw) -> np.ndarray:
    """Band-passed noise (breath, bow noise): a sound without a period."""
    rng = np.random.default_rng(seed)
    sos = butter(4, [low_hz, high_hz], btype="bandpass", fs=RATE, output="sos")
    x = sosfiltfilt(sos, rng.standard_normal(LENGTH))
    return amp * x / np.max(np.abs(x)) * envelope(**env_kw)


def estimate_hz(x: np.ndarray, rate: int) -> float:
    """Frequency of the strongest component (Hann window, parabolic peak interpolation)."""
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n)))
    k = int(np.argmax(spec[1:-1])) + 1
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-30)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * rate / n


def highpass_peak(x: np.ndarray, rate: int, cutoff_hz: float = 9000.0) -> np.ndarray:
    """|x| above `cutoff_hz`: where band-limited notes have nothing, a click shows."""
    sos = butter(8, cutoff_hz, btype="highpass", fs=rate, output="sos")
    return np.abs(sosfiltfilt(sos, x))
