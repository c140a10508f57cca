"""Pitches outside the model's range: pre-rendered above (anti-aliased), slowed below."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal.windows import blackmanharris

from banktones import LENGTH, RATE, estimate_hz, harmonic, midi_hz
from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.builder import BuildSettings, process_wave
from gansynth_live.banks.extend import extension_cost_notes, extension_sources

OUT = 48000


def test_plan_above_the_released_range():
    plan = extension_sources(range(24, 85))
    assert sorted(plan) == [*range(87, 127, 3), 127]
    assert set(plan.values()) == {84}
    assert extension_cost_notes([p - 84 for p in plan]) == pytest.approx(4.90, abs=0.01)
    assert extension_sources(range(24, 85), step=1, highest=90) == {p: 84 for p in range(85, 91)}
    assert extension_sources(range(0, 128)) == {}


@pytest.mark.parametrize("shift", [3, 12, 24, 43])
def test_shifted_note_has_the_right_pitch_and_length(shift):
    x = harmonic(midi_hz(84), partials=1)
    note = process_wave(x, RATE, 84 + shift, shift_semitones=shift)
    ratio = 2 ** (shift / 12)
    assert note.source_pitch == 84
    body = note.samples[: int(0.25 * OUT / ratio) * 4]
    assert estimate_hz(body, OUT) == pytest.approx(midi_hz(84 + shift), rel=2e-4)
    # held 3 s + 0.3 s release, faster by the ratio; the tail trim keeps <= 20 ms more
    expected = 3.3 * OUT / ratio
    assert len(note.samples) == pytest.approx(expected + 0.01 * OUT,
                                              abs=0.01 * OUT + 0.05 * expected)


def test_upward_shift_does_not_alias():
    """Partials of MIDI 84 up to 7.3 kHz, two octaves up: 5 of 7 land past 24 kHz.

    A resampler without a proper low-pass folds them back into the audible band
    (29.3 kHz -> 18.7 kHz, ...); soxr removes them.
    """
    f0 = midi_hz(84)
    x = harmonic(f0, partials=7)
    note = process_wave(x, RATE, 108, shift_semitones=24)
    window = blackmanharris(8192)  # sidelobes below -92 dB
    seg = note.samples[1000:1000 + 8192].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * window))
    freqs = np.fft.rfftfreq(len(seg), 1 / OUT)
    fund = 4 * f0
    harmonics = [k * fund for k in range(1, 6) if k * fund < OUT / 2]
    near = np.zeros_like(freqs, dtype=bool)
    for h in harmonics:
        near |= np.abs(freqs - h) < 100
    assert len(harmonics) == 5
    alias_db = 20 * np.log10(spec[~near & (freqs > 50)].max() / spec.max())
    assert alias_db < -90
    # the same shift done naively (linear interpolation) aliases: the check can fail
    naive = np.interp(np.arange(0, LENGTH, 4 * RATE / OUT), np.arange(LENGTH), x)
    nseg = naive[1000:1000 + 8192]
    nspec = np.abs(np.fft.rfft(nseg * window))
    assert 20 * np.log10(nspec[~near & (freqs > 50)].max() / nspec.max()) > -60


def test_engine_never_shifts_far_outside_the_model_range():
    settings = BuildSettings()
    arena = BankArena(1, OUT)
    note = process_wave(harmonic(440.0, partials=1, off_s=1.0), RATE, 60, settings)
    for pitch in [*range(24, 85), *extension_sources(range(24, 85))]:
        arena.add_stored(pitch, np.zeros(16, np.int16), 1.0, 16, 16, 0.0, 0.0)
    bank = arena.snapshot(complete=True)
    assert note.peak > 0
    for pitch in range(85, 128):
        _, ratio = bank.nearest(pitch)
        assert 2 ** (-1 / 12) - 1e-9 <= ratio <= 2 ** (1 / 12) + 1e-9
    for pitch in range(0, 24):
        slot, ratio = bank.nearest(pitch)
        assert slot.pitch == 24 and ratio < 1.0  # below: played slower, never aliases
