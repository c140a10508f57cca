"""Rendering through the bank builder and the live engine, on notes whose sound is known."""

from __future__ import annotations

import numpy as np
import pytest
from studio_notes import MODEL_RATE, nsynth_like, rms, synthetic_plan

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.engine import render_offline
from gansynth_live.engine.measure import fundamental_hz, max_jump, tone_level
from gansynth_live.presets import Envelope
from gansynth_live.studio.gain import finalize
from gansynth_live.studio.material import prepare_banks
from gansynth_live.studio.playback import BLOCK_FRAMES, schedule
from gansynth_live.studio.render import RenderSettings, render_generated

RATE = 16000
FLAT = Envelope(attack_s=0.001, decay_s=0.0, sustain=1.0, release_s=0.05)
A3 = 57  # 220 Hz


def window(x, rate, start_s, stop_s):
    return x[int(start_s * rate):int(stop_s * rate), 0]


def render(waves, notes, **settings):
    plan, generated = synthetic_plan(waves, notes)
    return render_generated(plan, generated, RenderSettings(**settings))


def banks_for(waves, notes, rate=RATE):
    plan, generated = synthetic_plan(waves, notes)
    return prepare_banks(generated, [n.pitch for n in plan.notes], plan.gains_db,
                         BuildSettings(sample_rate=rate))


@pytest.mark.parametrize("rate", [RATE, 48000])
def test_a_6_s_note_sustains_on_the_banks_loop(rate):
    waves = [(nsynth_like(220.0), A3)]
    notes = [(0.0, 6.0, A3, 127, 0)]
    slot = banks_for(waves, notes, rate)[0].slots[A3]
    assert slot.loops and slot.loop_end < 3 * rate  # the model's note-off is at 3 s
    out = render(waves, notes, sample_rate=rate).audio
    at_2, at_5 = rms(window(out, rate, 1.5, 2.5)), rms(window(out, rate, 4.5, 5.5))
    assert 20 * np.log10(at_5 / at_2) == pytest.approx(0.0, abs=1.0)  # held, not cut at 3 s
    assert fundamental_hz(window(out, rate, 4.5, 5.5), rate) == pytest.approx(220.0, rel=1e-3)
    tone_step = max_jump(out[rate:2 * rate])
    assert max_jump(out[:int(5.9 * rate)]) < 1.2 * tone_step  # no click at the loop points
    # released at 6 s: the track ends with the 0.3 s release, 80 dB down
    assert len(out) == round(6.3 * rate)
    assert np.abs(out[-int(0.002 * rate):]).max() < 2e-4 * np.abs(out).max()


@pytest.mark.parametrize("rate", [16000, 48000])
def test_renders_at_the_rate_asked_for(rate):
    waves = [(nsynth_like(220.0), A3)]
    notes = [(0.0, 1.0, A3, 100, 0)]
    assert banks_for(waves, notes, rate)[0].sample_rate == rate  # no resampling in the engine
    result = render(waves, notes, sample_rate=rate)
    assert result.sample_rate == rate and len(result.audio) == round(1.3 * rate)
    assert fundamental_hz(window(result.audio, rate, 0.2, 0.9), rate) == pytest.approx(
        220.0, rel=1e-3)


def test_a_short_note_plays_the_bank_note_itself_then_its_release():
    waves = [(nsynth_like(220.0), A3)]
    notes = [(0.5, 1.5, A3, 127, 0)]
    note = banks_for(waves, notes)[0].note_audio(A3).astype(np.float64)
    out = render(waves, notes, envelope=FLAT).audio[:, 0].astype(np.float64)
    assert len(out) == round(1.55 * RATE)
    seg, ref = out[8000 + 100:24000 - 100], note[100:16000 - 100]  # past the 1 ms attack
    scale = float(seg @ ref / (ref @ ref))
    np.testing.assert_allclose(seg, scale * ref, atol=1e-5 * np.abs(seg).max())
    tail = out[24000:]  # the release, not the rest of the 4 s bank note
    assert rms(tail[-160:]) < 1e-3 * rms(seg)


def test_velocity_and_instrument_level_without_per_note_normalisation():
    tone = nsynth_like(220.0)
    waves = [(tone, A3), (tone * 0.1, A3)]
    notes = [(0.0, 1.0, A3, 127, 0), (2.0, 3.0, A3, 64, 0), (4.0, 5.0, A3, 127, 1),
             (6.0, 7.0, A3, 127, 0, -20.0)]
    for curve in (1.0, 2.0):
        out = render(waves, notes, velocity_curve=curve, envelope=FLAT).audio
        loud = rms(window(out, RATE, 0.1, 0.9))
        assert rms(window(out, RATE, 2.1, 2.9)) / loud == pytest.approx((64 / 127) ** curve,
                                                                         rel=1e-3)
        # a quieter model note stays quieter; a preset's gain_db applies as well
        assert rms(window(out, RATE, 4.1, 4.9)) / loud == pytest.approx(0.1, rel=1e-3)
        assert rms(window(out, RATE, 6.1, 6.9)) / loud == pytest.approx(0.1, rel=1e-3)


def test_silent_notes_make_a_silent_track():
    waves = [(np.zeros(4 * MODEL_RATE, np.float32), A3)]
    result = render(waves, [(0.0, 0.5, A3, 100, 0), (0.1, 0.2, 60, 100, 0)])
    assert result.audio.shape[1] == 2 and np.all(result.audio == 0)
    assert result.gain_db == 0.0


def test_final_gain_never_clips():
    loud = np.random.RandomState(0).normal(scale=5.0, size=(48000, 2)).astype(np.float32)
    for peak_db in (-1.0, -0.01, -12.0):
        out, gain_db = finalize(loud, peak_db)
        assert np.max(np.abs(out)) <= np.float32(10 ** (peak_db / 20))
        assert np.max(np.abs(out)) > 0.99 * 10 ** (peak_db / 20)
    with pytest.raises(ValueError):
        finalize(loud, 1.0)


def test_each_note_keeps_the_timbre_of_its_onset():
    """A later note's bank does not reach a note already sounding (magenta's rule)."""
    waves = [(nsynth_like(220.0), A3), (nsynth_like(220.0, harmonic=2), A3)]  # 220 / 440 Hz
    out = render(waves, [(0.0, 2.0, A3, 100, 0), (0.5, 2.0, A3, 100, 1)]).audio
    before = tone_level(window(out, RATE, 0.1, 0.45), RATE, 220.0)
    after = window(out, RATE, 1.0, 1.9)
    assert tone_level(after, RATE, 220.0) == pytest.approx(before, rel=0.01)
    assert tone_level(after, RATE, 440.0) == pytest.approx(before, rel=0.01)


def test_overlapping_notes_of_one_pitch_each_end_at_their_own_note_off():
    waves = [(nsynth_like(220.0), A3)]
    out = render(waves, [(0.0, 2.0, A3, 100, 0), (1.0, 3.0, A3, 100, 0)], envelope=FLAT).audio
    one = rms(window(out, RATE, 0.2, 0.9))
    assert rms(window(out, RATE, 1.2, 1.9)) == pytest.approx(2 * one, rel=0.02)  # in phase
    assert rms(window(out, RATE, 2.2, 2.9)) == pytest.approx(one, rel=0.02)


def test_many_overlapping_notes_with_their_own_banks_all_sound():
    pitches = range(40, 80)
    freqs = [440.0 * 2 ** ((p - 69) / 12) for p in pitches]
    waves = [(nsynth_like(f, level=0.9), p) for f, p in zip(freqs, pitches)]
    notes = [(0.01 * i, 1.0, p, 127, i) for i, p in enumerate(pitches)]
    plan, generated = synthetic_plan(waves, notes)
    banks = prepare_banks(generated, [n.pitch for n in plan.notes], plan.gains_db,
                          BuildSettings(sample_rate=RATE))
    playback = schedule(plan.notes, banks, RATE, FLAT, 2.0)
    assert playback.config.bank_slots > 40 and playback.config.polyphony >= 40
    out = render(waves, notes, envelope=FLAT).audio  # raises if a layer change had to wait
    levels = [tone_level(window(out, RATE, 0.5, 0.9), RATE, f) for f in freqs]
    assert min(levels) > 0.7 * max(levels)


def test_a_zero_length_note_is_released():
    waves = [(nsynth_like(220.0), A3)]
    out = render(waves, [(0.5, 0.5, A3, 100, 0)], envelope=FLAT).audio
    assert np.abs(out).max() > 0
    assert np.abs(out[-80:]).max() < 1e-3 * np.abs(out).max()


def test_render_is_the_engines_offline_render_of_the_same_events():
    waves = [(nsynth_like(220.0), A3), (nsynth_like(330.0, harmonic=2), 62)]
    notes = [(0.0, 1.2, A3, 90, 0), (0.3, 0.8, 64, 50, 1, -3.0), (0.31, 4.0, 62, 127, 1),
             (1.0, 1.5, A3, 70, 0)]
    settings = RenderSettings(sample_rate=24000, peak_db=-2.0)
    plan, generated = synthetic_plan(waves, notes)
    result = render_generated(plan, generated, settings)
    banks = prepare_banks(generated, [n.pitch for n in plan.notes], plan.gains_db,
                          BuildSettings(sample_rate=24000))
    playback = schedule(plan.notes, banks, 24000, settings.envelope, settings.velocity_curve)
    raw = render_offline(playback.config, None, playback.events, playback.duration_s,
                         block_frames=BLOCK_FRAMES)
    expected, _ = finalize(raw, -2.0)
    np.testing.assert_array_equal(result.audio, expected)


def test_notes_outside_the_model_range_are_made_from_the_nearest_pitch():
    waves = [(nsynth_like(220.0), A3)]
    up, down = banks_for(waves, [(0.0, 1.0, A3 + 12, 100, 0), (0.0, 1.0, A3 - 12, 100, 0)])
    high, low = up.note_audio(A3 + 12), down.note_audio(A3 - 12)
    assert fundamental_hz(high[:RATE // 2], RATE) == pytest.approx(440.0, rel=1e-3)
    assert fundamental_hz(low[:RATE], RATE) == pytest.approx(110.0, rel=1e-3)
    assert len(high) <= 2.05 * RATE and len(low) >= 6 * RATE  # held 1.5 s / 6 s, then a fade
    assert up is down  # one latent, one bank
    high_slot, low_slot = up.slots[A3 + 12], up.slots[A3 - 12]
    assert high_slot.loop_end - high_slot.start <= 1.5 * RATE  # so are the loops
    assert low_slot.loop_end - low_slot.start > 3 * RATE
