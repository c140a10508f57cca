"""Sustain loops on synthetic notes: click-free seams, steady level, sensible placement."""

from __future__ import annotations

import numpy as np
import pytest

from banktones import RATE, estimate_hz, harmonic, highpass_peak, noise
from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.bank import NoteBank, NoteSlot
from gansynth_live.banks.builder import process_wave
from gansynth_live.banks.loops import Loop, crossfade_gains, find_loop, rising_zero_crossings
from gansynth_live.banks.render import held_indices, render_held

OUT = 48000
SOUNDS = {
    "sine with a fractional period": lambda: harmonic(441.3, partials=1),
    "bright low tone": lambda: harmonic(110.0, partials=40),
    "tone with vibrato": lambda: harmonic(220.0, vibrato_cents=20),
    "band-passed noise": lambda: noise(),
    "slowly decaying tone": lambda: harmonic(330.0, decay_db_per_s=2.0),
}


def bank_of(note) -> NoteBank:
    arena = BankArena(len(note.samples), OUT)
    arena.add(note)
    return arena.snapshot(complete=True)


def seams(bank: NoteBank, pitch: int, hold_frames: int) -> tuple[np.ndarray, np.ndarray]:
    idx = held_indices(bank, pitch, hold_frames)
    return idx, np.flatnonzero(np.diff(idx) != 1) + 1


def seam_hf_db(y: np.ndarray, jumps: np.ndarray, peak: float) -> float:
    hf = highpass_peak(y, OUT, 12000.0)
    return 20 * np.log10(max(hf[j - 480:j + 480].max() for j in jumps) / peak)


@pytest.mark.parametrize("name", list(SOUNDS))
def test_held_note_loops_without_clicks(name):
    note = process_wave(SOUNDS[name](), RATE, 60)
    assert note.loops
    bank = bank_of(note)
    y = render_held(bank, 60, 8.0)
    _, jumps = seams(bank, 60, 8 * OUT)
    assert len(jumps) >= 4  # a held key really went round the loop (and left it)
    # The notes hold nothing above 8 kHz, so anything above 12 kHz near a seam is
    # a click: it must stay as low as in the note's steady part (int16 floor).
    hf_steady = 20 * np.log10(highpass_peak(y, OUT, 12000.0)[OUT // 2:2 * OUT].max() / note.peak)
    assert seam_hf_db(y, jumps, note.peak) < max(hf_steady + 6.0, -80.0)


@pytest.mark.parametrize("name", list(SOUNDS))
def test_level_is_steady_across_the_crossfade(name):
    note = process_wave(SOUNDS[name](), RATE, 60)
    bank = bank_of(note)
    y = render_held(bank, 60, 8.0)
    _, jumps = seams(bank, 60, 8 * OUT)
    frame = 1920  # 40 ms

    def db(seg):
        return 10 * np.log10(np.mean(np.square(seg)))
    for j in jumps[:-1]:  # the last jump is the release, into the natural decay
        around = [db(y[j + k * frame:j + (k + 1) * frame]) for k in range(-3, 3)]
        before = db(y[j - 10 * frame:j - 4 * frame])
        assert max(abs(a - before) for a in around) < 1.6, around


def test_pitch_is_the_same_across_the_seam():
    note = process_wave(harmonic(441.3, partials=1), RATE, 60)
    bank = bank_of(note)
    y = render_held(bank, 60, 8.0)
    _, jumps = seams(bank, 60, 8 * OUT)
    j = int(jumps[1])
    assert estimate_hz(y[j - 4800:j + 4800], OUT) == pytest.approx(441.3, abs=0.2)


def test_the_click_measure_catches_a_naive_loop():
    """Loop points a quarter period off and no crossfade: the measure must see it."""
    note = process_wave(harmonic(441.3, partials=1), RATE, 60)
    arena = BankArena(len(note.samples), OUT)
    arena.add(note)
    good = arena.snapshot(True).slots[60]
    quarter = int(OUT / 441.3 / 4)
    bad = NoteSlot(60, good.start, good.end, good.loop_start + quarter, good.loop_end,
                   good.peak, good.rms, good.gain)
    bank = NoteBank(OUT, arena.snapshot(True).samples, {60: bad}, scale=1 / 32767)
    y = render_held(bank, 60, 8.0)
    _, jumps = seams(bank, 60, 8 * OUT)
    assert seam_hf_db(y, jumps, note.peak) > -60.0


def test_loop_points_are_rising_zero_crossings_in_the_sustain():
    import soxr

    x = soxr.resample(harmonic(220.0, partials=6), RATE, OUT, "VHQ")
    loop = find_loop(x, OUT, note_off=3 * OUT)
    assert loop is not None
    for point in (loop.start, loop.end):
        assert x[point - 1] < 0 <= x[point]
    assert 0.3 * OUT <= loop.start - loop.crossfade
    assert loop.end <= 3 * OUT - 0.1 * OUT
    assert 0.25 * OUT <= loop.end - loop.start <= 1.2 * OUT
    assert loop.correlation > 0.99


def test_fast_decay_gets_no_loop_slow_decay_a_short_one():
    import soxr

    fast = soxr.resample(harmonic(220.0, decay_db_per_s=12.0), RATE, OUT, "VHQ")
    slow = soxr.resample(harmonic(220.0, decay_db_per_s=2.0), RATE, OUT, "VHQ")
    assert find_loop(fast, OUT, 3 * OUT) is None
    loop = find_loop(slow, OUT, 3 * OUT)
    assert loop is not None
    assert (loop.end - loop.start) / OUT * 2.0 <= 1.5 + 0.1  # at most 1.5 dB of decay looped


def test_note_too_short_for_a_loop():
    x = np.sin(np.arange(OUT // 4) * 0.1)
    assert find_loop(x, OUT, note_off=len(x)) is None


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.7, 1.0])
def test_crossfade_keeps_power_for_the_measured_correlation(rho):
    out_gain, in_gain = crossfade_gains(1000, rho)
    power = out_gain**2 + in_gain**2 + 2 * rho * out_gain * in_gain
    assert np.allclose(power, 1.0, atol=1e-12)
    assert out_gain[0] > 0.99 and in_gain[-1] > 0.99


def test_rising_zero_crossings():
    x = np.array([1.0, -1.0, -0.5, 0.0, 2.0, -3.0, 1.0])
    assert list(rising_zero_crossings(x, 0, len(x))) == [3, 6]


def test_bake_refuses_a_loop_that_does_not_fit():
    from gansynth_live.banks.loops import bake_loop

    with pytest.raises(ValueError):
        bake_loop(np.zeros(1000), Loop(start=100, end=150, crossfade=40, correlation=0.0))
