"""int16 storage with per-note gain, and snapshots that never change."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.banks.arena import BankArena, quantize
from gansynth_live.banks.builder import ProcessedNote


def note(pitch, samples, loop=(0, 0)):
    samples = np.asarray(samples, np.float32)
    return ProcessedNote(pitch, samples, loop[0], loop[1], float(np.abs(samples).max()),
                         0.0, pitch)


@pytest.mark.parametrize("peak", [1e-3, 0.05, 0.7, 1.0, 1.8])
def test_round_trip_noise_below_minus_90_dbfs(peak):
    rng = np.random.default_rng(3)
    t = np.arange(48000) / 48000
    x = (np.sin(2 * np.pi * 220 * t) + 0.3 * rng.standard_normal(len(t))) * np.exp(-3 * t)
    x = (peak * x / np.abs(x).max()).astype(np.float32)
    data, gain = quantize(x, float(np.abs(x).max()))
    err = data.astype(np.float64) * gain / 32767 - x
    assert 20 * np.log10(np.sqrt(np.mean(err**2))) < -90  # dBFS
    assert np.abs(err).max() <= peak / 65534 * 1.0001 + 1e-9  # half an LSB of the note's scale


def test_slots_and_audio_round_trip():
    arena = BankArena(10, 48000, "abc")
    a = np.linspace(-0.5, 0.5, 100)
    slot = arena.add(note(60, a, loop=(10, 90)))
    bank = arena.snapshot(complete=False)
    assert (slot.start, slot.end, slot.loop_start, slot.loop_end) == (0, 100, 10, 90)
    assert bank.slots[60].gain == pytest.approx(0.5)
    assert np.allclose(bank.note_audio(60), a, atol=0.5 / 32767)
    assert bank.samples.dtype == np.int16 and not bank.samples.flags.writeable
    assert bank.latent_id == "abc" and not bank.complete


def test_snapshots_never_change_when_notes_are_added():
    arena = BankArena(150, 48000)  # too small on purpose: the arena must grow
    arena.add(note(60, np.full(100, 0.25)))
    first = arena.snapshot(complete=False)
    before = first.samples.copy()
    for pitch in range(61, 70):
        arena.add(note(pitch, np.full(100, -0.5)))
    last = arena.snapshot(complete=True)
    assert np.array_equal(first.samples, before)
    assert list(first.slots) == [60]
    assert len(last.slots) == 10 and len(last.samples) == 1000
    assert np.allclose(last.note_audio(60), 0.25, atol=1e-4)
    assert np.allclose(last.note_audio(69), -0.5, atol=1e-4)


def test_silent_note_and_bad_loop():
    arena = BankArena(10, 48000)
    slot = arena.add(note(60, np.zeros(20)))
    assert slot.gain == 1.0
    with pytest.raises(ValueError):
        arena.add_stored(61, np.zeros(10, np.int16), 1.0, 5, 20, 0.0, 0.0)


def test_fixed_scale_mode_needs_no_gain_and_stays_below_minus_90_dbfs():
    rng = np.random.default_rng(4)
    arena = BankArena(10, 48000, note_gain=False)
    x = (0.8 * np.sin(np.arange(48000) * 0.05) + 0.01 * rng.standard_normal(48000))
    quiet = 0.01 * x
    arena.add(note(60, x))
    arena.add(note(61, quiet))
    bank = arena.snapshot(True)
    assert all(s.gain == 1.0 for s in bank.slots.values())
    for pitch, ref in ((60, x), (61, quiet)):
        err = bank.samples[bank.slots[pitch].start:bank.slots[pitch].end] * bank.scale - ref
        assert 20 * np.log10(np.sqrt(np.mean(err**2))) < -94  # dBFS
        assert np.abs(err).max() <= 2.0 / 65534 * 1.001  # half an LSB (+ float32 input)
