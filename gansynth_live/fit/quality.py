"""Measurements of generated notes: pitch (pYIN), loudness, brightness, distance,
envelope (attack and decay times) and harmonic-to-noise ratio.

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
ENVELOPE_FRAME_S = 0.005  # RMS envelope frames (attack and decay times)
ATTACK_LEVELS = (0.1, 0.9)  # attack: rise from 10 % to 90 % of the peak RMS
DECAY_DB = 20.0  # decay: from the peak RMS until 20 dB below it
HARMONIC_WIDTH = 0.1  # a harmonic's band: +-0.1 f0 around its peak (HNR)


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


def rms_envelope(wave: np.ndarray, sample_rate: int,
                 frame_s: float = ENVELOPE_FRAME_S) -> np.ndarray:
    """RMS of consecutive `frame_s` frames (the last partial frame dropped)."""
    frame = max(1, int(round(frame_s * sample_rate)))
    w = np.asarray(wave, np.float64)
    return np.sqrt(np.mean(w[: len(w) // frame * frame].reshape(-1, frame) ** 2, axis=1))


def _crossing_s(env: np.ndarray, start: int, level: float, frame_s: float,
                rising: bool) -> float:
    """Time (s) the envelope first reaches `level` from frame `start` on, interpolated
    between frames; NaN if it never does."""
    seg = env[start:]
    hit = np.flatnonzero(seg >= level if rising else seg <= level)
    if not hit.size:
        return float("nan")
    i = int(hit[0])
    if i == 0:
        return (start + i) * frame_s
    a, b = seg[i - 1], seg[i]
    return (start + i - 1 + (level - a) / (b - a)) * frame_s


def attack_ms(wave: np.ndarray, sample_rate: int, levels: tuple[float, float] = ATTACK_LEVELS,
              frame_s: float = ENVELOPE_FRAME_S) -> float:
    """Rise time (ms) of the RMS envelope from levels[0] to levels[1] of its peak."""
    env = rms_envelope(wave, sample_rate, frame_s)
    peak = float(env.max())
    if peak < SILENT_RMS:
        return float("nan")
    lo = _crossing_s(env, 0, levels[0] * peak, frame_s, rising=True)
    hi = _crossing_s(env, 0, levels[1] * peak, frame_s, rising=True)
    return 1000.0 * (hi - lo)


def decay_ms(wave: np.ndarray, sample_rate: int, drop_db: float = DECAY_DB,
             frame_s: float = ENVELOPE_FRAME_S) -> float:
    """Time (ms) from the RMS envelope's peak until it is `drop_db` below it; NaN if it
    stays above that to the end of the note."""
    env = rms_envelope(wave, sample_rate, frame_s)
    top = int(np.argmax(env))
    if env[top] < SILENT_RMS:
        return float("nan")
    end = _crossing_s(env, top, env[top] * 10 ** (-drop_db / 20), frame_s, rising=False)
    return 1000.0 * (end - top * frame_s)


def harmonic_to_noise_db(wave: np.ndarray, f0_hz: float, sample_rate: int,
                         width: float = HARMONIC_WIDTH, n_fft: int = 4096) -> float:
    """Harmonic-to-noise ratio (dB) of the sustained part, for a note of known f0.

    Mean power spectrum over ANALYSIS_S (Hann, n_fft). Harmonic k's band is +-width*f0
    around the strongest bin within (k-0.5)f0..(k+0.5)f0 (so stretched partials and a
    few cents of mistuning still count as harmonic); the other bins from 0.5 f0 up to
    the last whole region below Nyquist are noise. The noise's mean level per bin is
    taken out of the harmonic bands too, so white noise at a signal-to-noise ratio of
    x dB (in that range) reads x dB.
    """
    import librosa

    start, stop = (int(t * sample_rate) for t in ANALYSIS_S)
    seg = np.asarray(wave[start:stop], np.float32)
    power = (np.abs(librosa.stft(seg, n_fft=n_fft, hop_length=n_fft // 4, center=False))
             ** 2).mean(axis=1)
    bin_hz = sample_rate / n_fft
    half = max(2, int(round(width * f0_hz / bin_hz)))  # at least the Hann main lobe
    harmonic = np.zeros(len(power), bool)
    count = int((sample_rate / 2) / f0_hz - 0.5)
    for k in range(1, count + 1):
        lo, hi = (int(round((k + d) * f0_hz / bin_hz)) for d in (-0.5, 0.5))
        top = lo + int(np.argmax(power[lo:hi]))
        harmonic[max(lo, top - half):min(hi, top + half + 1)] = True
    lo, hi = (int(round((k + 0.5) * f0_hz / bin_hz)) for k in (0, count))
    harmonic, power = harmonic[lo:hi], power[lo:hi]
    noise_per_bin = float(power[~harmonic].mean())
    signal = float(power[harmonic].sum()) - noise_per_bin * harmonic.sum()
    return float(10.0 * np.log10(max(signal, 1e-20) / (noise_per_bin * len(power) + 1e-30)))
