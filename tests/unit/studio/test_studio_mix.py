"""Mixing and sustain loops on synthetic notes, where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from gansynth_live.banks.bank import NoteBank, NoteSlot
from gansynth_live.presets import Envelope
from gansynth_live.studio.material import MaterialSettings, build_bank, prepare_note
from gansynth_live.studio.mix import (MixNote, envelope_levels, finalize, mix_notes,
                                      velocity_gain)
from gansynth_live.studio.sustain import bake_loop, find_loop

RATE = 16000
FLAT = Envelope(attack_s=0.001, decay_s=0.0, sustain=1.0, release_s=0.05)


def nsynth_like(freq=220.0, seconds=4.0, held_s=3.0, rate=RATE):
    """A steady tone held for `held_s`, then a 0.3 s exponential fade: GANSynth's layout."""
    t = np.arange(int(seconds * rate)) / rate
    amp = np.where(t < held_s, 1.0, np.exp(-(t - held_s) / 0.08))
    return (0.2 * amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def one_note_bank(samples, rate=RATE, pitch=60):
    samples = np.asarray(samples, np.float32)
    n = len(samples)
    return NoteBank(rate, samples, {pitch: NoteSlot(pitch, 0, n, n, n, 1.0, 1.0)})


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_velocity_scales_without_per_note_normalisation():
    bank = one_note_bank(nsynth_like())
    notes = [MixNote(0.0, 1.0, 60, 127, bank), MixNote(2.0, 3.0, 60, 64, bank)]
    for curve in (1.0, 2.0):
        out = mix_notes(notes, RATE, FLAT, velocity_curve=curve)[:, 0]
        loud, soft = rms(out[1600:14400]), rms(out[33600:46400])
        assert soft / loud == pytest.approx((64 / 127) ** curve, rel=1e-3)
    # the model's own level survives: a quieter note stays quieter
    quiet = one_note_bank(nsynth_like() * 0.1)
    out = mix_notes([MixNote(0.0, 1.0, 60, 127, quiet)], RATE, FLAT)[:, 0]
    ref = mix_notes([MixNote(0.0, 1.0, 60, 127, bank)], RATE, FLAT)[:, 0]
    assert rms(out) / rms(ref) == pytest.approx(0.1, rel=1e-3)
    assert velocity_gain(0, 2.0) == 0.0 and velocity_gain(127, 2.0) == 1.0


def test_silent_notes_and_silent_mix_do_not_divide_by_zero():
    silent = one_note_bank(np.zeros(RATE))
    empty = NoteBank(RATE, np.zeros(0, np.float32), {})
    out = mix_notes([MixNote(0.0, 0.5, 60, 100, silent), MixNote(0.1, 0.2, 60, 0, silent),
                     MixNote(0.2, 0.3, 60, 100, empty)], RATE, FLAT)
    assert out.shape[1] == 2 and np.all(out == 0)
    final, gain_db = finalize(out)
    assert np.all(final == 0) and gain_db == 0.0


def test_final_gain_never_clips():
    loud = np.random.RandomState(0).normal(scale=5.0, size=(48000, 2)).astype(np.float32)
    for peak_db in (-1.0, -0.01, -12.0):
        out, gain_db = finalize(loud, peak_db)
        assert np.max(np.abs(out)) <= np.float32(10 ** (peak_db / 20))
        assert np.max(np.abs(out)) > 0.99 * 10 ** (peak_db / 20)
    with pytest.raises(ValueError):
        finalize(loud, 1.0)


def test_envelope_shape():
    env = Envelope(attack_s=0.01, decay_s=0.1, sustain=0.5, release_s=0.2)
    level = envelope_levels(RATE, 8000, env, RATE)
    assert level[0] == 0.0 and level[80] == pytest.approx(0.5, rel=0.02)   # linear attack
    assert level[160 + 1600] == pytest.approx(0.5 + 0.5e-3, abs=1e-3)      # decayed to sustain
    assert level[8000 + 3200 - 1] == pytest.approx(0.5e-4, rel=0.01)      # -80 dB after release
    assert np.all(np.diff(level[8000:]) <= 0)


def test_loop_is_found_in_the_held_part_and_baked_seamlessly():
    x = nsynth_like().astype(np.float64)
    loop = find_loop(x, RATE, held_frames=3 * RATE)
    assert loop is not None
    assert int(0.25 * RATE) <= loop.start < loop.end <= 3 * RATE
    assert loop.correlation > 0.99
    y = bake_loop(x, loop)
    step = np.max(np.abs(np.diff(x[:RATE])))
    assert abs(y[loop.end - 1] - y[loop.start - 1]) < step        # jump back continues
    assert abs(y[loop.start] - y[loop.end - 1]) <= 1.5 * step
    assert abs(y[loop.end] - y[loop.end - 1]) <= 1.5 * step         # leaving continues
    decaying = x * np.exp(-np.arange(len(x)) / RATE * 3)           # -26 dB/s: too steep
    assert find_loop(decaying, RATE, 3 * RATE) is None
    assert find_loop(np.zeros(4 * RATE), RATE, 3 * RATE) is None


@pytest.mark.parametrize("rate", [16000, 44100])
def test_long_notes_sustain_on_the_loop_without_clicks(rate):
    note = prepare_note(nsynth_like(), RATE, 0.0, MaterialSettings(sample_rate=rate))
    assert note.loop_end > note.loop_start
    bank = build_bank({60: note}, rate)
    out = mix_notes([MixNote(0.0, 9.0, 60, 127, bank)], rate, FLAT)[:, 0]
    assert len(out) >= 9 * rate
    early, late = rms(out[rate:2 * rate]), rms(out[7 * rate:8 * rate])
    assert 20 * np.log10(late / early) == pytest.approx(0.0, abs=0.5)   # held, not cut at 3 s
    tone_step = np.max(np.abs(np.diff(out[rate:2 * rate])))
    assert np.max(np.abs(np.diff(out[:int(8.9 * rate)]))) < 1.2 * tone_step  # no clicks
    # released at 9 s: the track ends with the 50 ms release, 80 dB down
    assert len(out) == int(9.0 * rate) + int(np.ceil(0.05 * rate))
    assert np.max(np.abs(out[-int(0.002 * rate):])) < 2e-4 * np.max(np.abs(out))


def test_short_notes_play_the_note_itself_then_release():
    x = nsynth_like()
    bank = build_bank({60: prepare_note(x, RATE, 0.0, MaterialSettings(highpass_hz=0))}, RATE)
    out = mix_notes([MixNote(0.5, 1.5, 60, 127, bank)], RATE, FLAT)[:, 0] / np.sqrt(0.5)
    seg = out[8000 + 200:8000 + 16000 - 200]
    np.testing.assert_allclose(seg, x[200:16000 - 200], atol=1e-6)
    assert len(out) == int(1.5 * RATE) + int(0.05 * RATE)


def test_pitch_shift_for_notes_outside_the_range():
    x = nsynth_like(freq=220.0)
    note = prepare_note(x, RATE, 12.0, MaterialSettings(sample_rate=RATE))
    spectrum = np.abs(np.fft.rfft(note.samples[:RATE]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)  # an octave up, read twice as fast
    assert len(note.samples) <= len(x) / 2
    assert note.loop_end <= 1.5 * RATE  # the held part is half as long too
