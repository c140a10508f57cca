"""Measurements of generated notes: pitch (pYIN), loudness, brightness, distance.

Shared by `bench/quality.py`, the fit progress probe and the tests, so the
numbers a user sees while fitting are the ones the quality bars are judged on.
"""

from __future__ import annotations

import numpy as np

PITCH_TOLERANCE_CENTS = 50.0
PITCH_BAR = 0.90  # share of a preset's notes that must be in tune (issue #4's bar)
DISTINCT_DB = 3.0  # nearest-preset spectral distance bar; why 3 dB: bench/quality.py
ANALYSIS_S = (0.2, 1.4)  # sustained part: after the attack, well before the release at 3 s
SILENT_RMS = 1.0e-4


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def median_f0_hz(wave: np.ndarray, sample_rate: int) -> float:
    """librosa pYIN median f0 over the voiced frames of the sustained part (NaN if none)."""
    import librosa

    start, stop = (int(t * sample_rate) for t in ANALYSIS_S)
    seg = np.asarray(wave[start:stop], np.float32)
    if not np.all(np.isfinite(seg)) or np.sqrt(np.mean(seg**2)) < SILENT_RMS:
        return float("nan")
    f0, voiced, _ = librosa.pyin(seg, fmin=30.0, fmax=2400.0, sr=sample_rate,
                                 frame_length=2048)
    good = voiced & np.isfinite(f0)
    return float(np.median(f0[good])) if good.any() else float("nan")


def pitch_error_cents(wave: np.ndarray, pitch: int, sample_rate: int) -> float:
    """Cents from the MIDI pitch to the measured f0 (NaN if unvoiced or silent)."""
    f0 = median_f0_hz(wave, sample_rate)
    return float(1200.0 * np.log2(f0 / midi_to_hz(pitch))) if np.isfinite(f0) else float("nan")


def in_tune(cents: np.ndarray) -> np.ndarray:
    cents = np.asarray(cents, float)
    return np.isfinite(cents) & (np.abs(cents) <= PITCH_TOLERANCE_CENTS)


def is_bad(wave: np.ndarray) -> bool:
    """NaN/inf anywhere, or silent over the whole note."""
    return (not np.all(np.isfinite(wave))) or float(np.sqrt(np.mean(wave**2))) < SILENT_RMS


def log_spectrum(wave: np.ndarray, n_fft: int = 2048) -> np.ndarray:
    """Mean log power spectrum (dB) of the sustained part, for timbre comparisons."""
    import librosa

    seg = np.asarray(wave[int(ANALYSIS_S[0] * 16000):int(ANALYSIS_S[1] * 16000)], np.float32)
    power = np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=n_fft // 4)) ** 2
    return 10.0 * np.log10(power.mean(axis=1) + 1.0e-10)


def spectral_centroid_hz(wave: np.ndarray, sample_rate: int) -> float:
    """Power-weighted mean frequency of the sustained part."""
    import librosa

    seg = np.asarray(wave[int(ANALYSIS_S[0] * sample_rate):int(ANALYSIS_S[1] * sample_rate)],
                     np.float32)
    power = np.abs(librosa.stft(seg, n_fft=2048, hop_length=512)) ** 2
    freqs = librosa.fft_frequencies(sr=sample_rate, n_fft=2048)
    spec = power.mean(axis=1)
    return float((spec * freqs).sum() / max(spec.sum(), 1e-20))
