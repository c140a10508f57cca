"""The fidelity measurements (attack, decay, harmonic-to-noise ratio) on signals whose
answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.fit.quality import attack_ms, decay_ms, harmonic_to_noise_db

SR = 16000
T = np.arange(4 * SR) / SR
F0_HZ = 220.0


def harmonic_tone(f0_hz: float = F0_HZ, count: int = 12) -> np.ndarray:
    """Harmonics 1..count at 1/k amplitude, all below Nyquist."""
    return sum(np.sin(2 * np.pi * k * f0_hz * T + k) / k for k in range(1, count + 1))


def test_attack_ms_is_the_10_to_90_percent_rise_of_a_linear_ramp():
    ramp = np.minimum(T / 0.1, 1.0) * np.sin(2 * np.pi * F0_HZ * T)  # 0 -> full in 100 ms
    assert attack_ms(ramp, SR) == pytest.approx(80.0, abs=5.0)


def test_attack_ms_of_an_instant_onset_is_a_frame_or_less():
    assert attack_ms(np.sin(2 * np.pi * F0_HZ * T), SR) <= 5.0


def test_decay_ms_is_the_time_to_minus_20_db_of_an_exponential_decay():
    tau_s = 0.2
    note = np.exp(-T / tau_s) * np.sin(2 * np.pi * F0_HZ * T)
    assert decay_ms(note, SR) == pytest.approx(1000 * tau_s * np.log(10), rel=0.03)


def test_decay_ms_starts_at_the_peak_not_the_onset():
    swell = np.minimum(T / 0.5, 1.0) * np.exp(-np.maximum(T - 0.5, 0) / 0.1)
    note = swell * np.sin(2 * np.pi * F0_HZ * T)
    assert decay_ms(note, SR) == pytest.approx(100 * np.log(10), rel=0.05)


def test_decay_ms_is_nan_when_the_note_never_falls_20_db():
    assert np.isnan(decay_ms(0.5 * np.sin(2 * np.pi * F0_HZ * T), SR))


def test_harmonic_to_noise_db_of_a_pure_harmonic_tone_is_high():
    assert harmonic_to_noise_db(harmonic_tone(), F0_HZ, SR) > 40.0


def test_harmonic_to_noise_db_tolerates_a_slightly_mistuned_note():
    sharp_hz = F0_HZ * 2 ** (20 / 1200)  # 20 cents sharp, measured at the nominal f0
    assert harmonic_to_noise_db(harmonic_tone(sharp_hz), F0_HZ, SR) > 30.0


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0])
def test_harmonic_to_noise_db_reads_the_snr_of_added_white_noise(snr_db):
    tone = harmonic_tone()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(T)) * np.sqrt(np.mean(tone**2) / 10 ** (snr_db / 10))
    # the noise counted lies in 0.5 f0 .. 35.5 f0 (the last whole harmonic region), not
    # all of 0 .. 8 kHz: the ratio in that range is a little higher
    in_range = (35.5 - 0.5) * F0_HZ / (SR / 2)
    expected = snr_db - 10 * np.log10(in_range)
    assert harmonic_to_noise_db(tone + noise, F0_HZ, SR) == pytest.approx(expected, abs=1.0)


def test_harmonic_to_noise_db_of_noise_alone_is_low():
    noise = np.random.default_rng(1).standard_normal(len(T))
    assert harmonic_to_noise_db(noise, F0_HZ, SR) < -5.0
