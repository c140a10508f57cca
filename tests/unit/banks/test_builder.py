"""Note processing on synthetic notes: pitch, DC, onset, level, ends."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from banktones import LENGTH, RATE, estimate_hz, harmonic, midi_hz
from gansynth_live.banks.builder import BuildSettings, loudest_rms, process_wave


@pytest.mark.parametrize("rate", [48000, 44100])
def test_resampling_keeps_pitch_and_length(rate):
    f0 = midi_hz(57)
    note = process_wave(harmonic(f0, partials=1), RATE, 57, BuildSettings(sample_rate=rate))
    first_second = note.samples[int(0.1 * rate):int(1.1 * rate)]
    assert estimate_hz(first_second, rate) == pytest.approx(f0, abs=0.05)
    # held 3 s + 0.3 s release, trimmed where it fell 60 dB: about 3.3 s, not 4
    assert 3.2 * rate < len(note.samples) < 3.5 * rate


def test_dc_offset_removed_without_touching_the_tone():
    tone = harmonic(110.0, partials=1, amp=0.4)
    with_dc = tone + 0.2 * (np.abs(tone) > 0)  # offset only while the note sounds
    clean = process_wave(tone, RATE, 45)
    shifted = process_wave(with_dc, RATE, 45)
    body = slice(int(0.5 * 48000), int(2.5 * 48000))
    assert abs(np.mean(shifted.samples[body])) < 2e-3
    assert loudest_rms(shifted.samples[body], 48000) == pytest.approx(
        loudest_rms(clean.samples[body], 48000), rel=0.01)


@pytest.mark.parametrize("start_s", [0.0, 0.013, 0.3])
def test_note_starts_within_1ms_of_its_onset(start_s):
    rng = np.random.default_rng(1)
    x = harmonic(220.0, attack_s=0.002, start_s=start_s)
    x += 1e-5 * rng.standard_normal(LENGTH)  # a noise floor at -94 dB, not silence
    note = process_wave(x, RATE, 57)
    y = np.abs(note.samples)
    first_audible = int(np.argmax(y > 0.01 * note.peak))  # -40 dB
    assert first_audible <= 48  # 1 ms at 48 kHz
    # the trim lost nothing: the attack reaches half the peak ~2 ms later as in the input
    half = int(np.argmax(y > 0.5 * note.peak))
    assert half - first_audible < int(0.003 * 48000)
    # the silence before the note is gone: onset + 3 s held + 0.3 s release remain
    assert len(note.samples) == pytest.approx(3.3 * 48000, abs=0.05 * 48000)


def test_peak_and_rms_of_a_sine():
    note = process_wave(harmonic(440.0, partials=1, amp=0.5), RATE, 69)
    assert note.peak == pytest.approx(0.5, rel=0.01)
    assert note.rms == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_decayed_note_is_a_one_shot_that_ends_at_zero():
    x = harmonic(440.0, decay_db_per_s=40.0, off_s=10.0)
    note = process_wave(x, RATE, 69)
    assert not note.loops
    # -60 dB below the peak after 1.5 s at 40 dB/s: the tail is cut there
    assert len(note.samples) == pytest.approx(1.5 * 48000, abs=0.05 * 48000)
    assert abs(note.samples[-1]) < 1e-4 * note.peak


def test_sustained_note_loops_inside_its_held_part():
    note = process_wave(harmonic(220.0), RATE, 57)
    assert note.loops
    assert note.loop_start >= 0.3 * 48000
    assert note.loop_end <= 3.0 * 48000
    assert abs(note.samples[-1]) < 1e-4 * note.peak


def test_non_finite_samples_are_replaced_and_reported(caplog):
    x = harmonic(220.0)
    x[1000:1010] = np.nan
    x[2000] = np.inf
    with caplog.at_level(logging.WARNING):
        note = process_wave(x, RATE, 57)
    assert np.all(np.isfinite(note.samples))
    assert "11 non-finite" in caplog.text


def test_silent_note_is_short_and_silent():
    note = process_wave(np.zeros(LENGTH), RATE, 60)
    assert note.peak == 0.0 and not note.loops
    assert 0 < len(note.samples) <= 48000 // 100


def test_settings_id_changes_with_settings():
    assert BuildSettings().settings_id == BuildSettings().settings_id
    assert BuildSettings().settings_id != BuildSettings(sample_rate=44100).settings_id
    assert BuildSettings().settings_id != BuildSettings(tail_db=-70).settings_id
    with pytest.raises(ValueError):
        BuildSettings(sample_rate=1000)
