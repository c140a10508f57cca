"""Engine behaviour through the offline renderer (the live callback, block by block)."""

from __future__ import annotations

import numpy as np
import pytest

from engine_testing import SR, click_bound
from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import Engine, EngineConfig, render_offline, render_with_engine
from gansynth_live.engine.measure import (first_sound_frame, fundamental_hz, max_jump, rms,
                                          tone_level)
from gansynth_live.engine.synthetic import synthetic_bank, tone_frequency
from gansynth_live.events import (AllNotesOff, AllSoundOff, NoteOff, NoteOn, PitchBend,
                                  SetBendRange, SetMasterGain, SustainPedal)

PAN = np.sqrt(0.5)  # centre of the constant-power pan law


def gain_of(config: EngineConfig, velocity: int) -> float:
    return config.master_gain * PAN * (velocity / 127.0) ** config.velocity_curve


def window(x, start_s, stop_s):
    return x[int(start_s * SR):int(stop_s * SR)]


# --- pitch -------------------------------------------------------------------------------
@pytest.mark.parametrize("pitch", [45, 57, 69, 81])
def test_notes_sound_at_their_pitch(layers, pitch):
    out = render_offline(None, layers, [(0.0, NoteOn(pitch, 100))], 1.5)
    f0 = fundamental_hz(window(out, 0.5, 1.5), SR)
    assert f0 == pytest.approx(tone_frequency(pitch, SR), rel=5e-4)


def test_missing_pitches_play_from_the_nearest_note_resampled():
    sparse = synthetic_bank(range(48, 73, 6), SR)  # 48, 54, 60, 66, 72
    out = render_offline(None, BankLayers.single(sparse), [(0.0, NoteOn(63, 100))], 1.5)
    expected = tone_frequency(66, SR) * 2 ** (-3 / 12)  # read from 66, three semitones slower
    assert fundamental_hz(window(out, 0.5, 1.5), SR) == pytest.approx(expected, rel=5e-4)


@pytest.mark.parametrize("bank_rate, output_rate", [(16000, 48000), (48000, 44100),
                                                     (44100, 96000)])
def test_a_bank_at_another_rate_plays_at_the_right_pitch(bank_rate, output_rate):
    bank = synthetic_bank([60], bank_rate)
    out = render_offline(EngineConfig(sample_rate=output_rate), BankLayers.single(bank),
                         [(0.0, NoteOn(60, 100))], 1.5)
    segment = out[int(0.5 * output_rate):int(1.5 * output_rate)]
    f0 = fundamental_hz(segment, output_rate)
    assert f0 == pytest.approx(tone_frequency(60, bank_rate), rel=5e-4)


def test_pitch_bend_scales_by_the_bend_range(layers):
    events = [(0.0, NoteOn(57, 100)), (0.0, PitchBend(1.0)), (1.0, SetBendRange(12.0)),
              (1.5, PitchBend(-0.5))]
    out = render_offline(None, layers, events, 2.5)
    base = tone_frequency(57, SR)
    assert fundamental_hz(window(out, 0.5, 1.0), SR) == pytest.approx(base * 2 ** (2 / 12), rel=5e-4)
    assert fundamental_hz(window(out, 1.1, 1.5), SR) == pytest.approx(base * 2.0, rel=5e-4)
    assert fundamental_hz(window(out, 1.6, 2.5), SR) == pytest.approx(base * 2 ** (-6 / 12), rel=5e-4)


# --- envelope --------------------------------------------------------------------------------
def test_attack_ramps_from_silence_even_though_the_note_starts_at_its_peak(bank):
    config = EngineConfig(attack_s=0.0)  # clamped to 1 ms
    out = render_offline(config, BankLayers.single(bank), [(0.1, NoteOn(48, 127))], 0.3)
    onset = int(0.1 * SR)
    assert first_sound_frame(out) >= onset
    assert np.abs(out[onset]).max() == 0.0  # the envelope starts at 0
    assert max_jump(out) <= click_bound(bank, gain_of(config, 127), 0.001 * SR)
    unramped = bank.slots[48].peak * gain_of(config, 127)
    assert max_jump(out) < unramped / 4  # what a start without attack would jump


def test_release_fades_to_silence_in_release_time_and_frees_the_voice(layers):
    config = EngineConfig(release_s=0.25)
    engine = Engine(config)
    engine.set_layers(layers)
    out = render_with_engine(engine, [(0.0, NoteOn(60, 100)), (0.6, NoteOff(60))], 1.0)
    assert rms(window(out, 0.5, 0.6)) > 0.01
    tail = window(out, 0.6 + 0.25 * 0.5, 0.6 + 0.25 * 0.5 + 0.02)
    assert rms(tail) < rms(window(out, 0.58, 0.6)) * 10 ** (-30 / 20)  # -40 dB by half-time
    assert np.abs(window(out, 0.86, 1.0)).max() == 0.0
    assert engine.stats().voices_active == 0


def test_decay_falls_to_the_sustain_level(layers):
    events = [(0.0, NoteOn(60, 100))]
    held = render_offline(EngineConfig(attack_s=0.002, sustain=1.0), layers, events, 1.0)
    decayed = render_offline(EngineConfig(attack_s=0.002, decay_s=0.1, sustain=0.25), layers,
                             events, 1.0)
    ratio_late = rms(window(decayed, 0.6, 0.9)) / rms(window(held, 0.6, 0.9))
    assert ratio_late == pytest.approx(0.25, rel=1e-3)
    expected_at_50ms = 0.25 + 0.75 * 1e-3 ** ((0.05 - 0.002) / 0.1)
    ratio = rms(window(decayed, 0.049, 0.051)) / rms(window(held, 0.049, 0.051))
    assert ratio == pytest.approx(expected_at_50ms, rel=0.02)


# --- sustain loop and one-shots --------------------------------------------------------------
def test_a_held_note_sustains_through_its_loop_without_clicks(bank):
    config = EngineConfig(sustain=1.0)
    out = render_offline(config, BankLayers.single(bank), [(0.0, NoteOn(52, 100))], 5.0)
    levels = [rms(window(out, s, s + 0.5)) for s in np.arange(1.0, 5.0, 0.5)]
    assert max(levels) / min(levels) < 1.01  # steady for 4 s from a 1 s note
    assert max_jump(out) <= click_bound(bank, gain_of(config, 100), 0.005 * SR)
    assert fundamental_hz(window(out, 3.0, 4.0), SR) == pytest.approx(tone_frequency(52, SR),
                                                                     rel=5e-4)


def test_a_one_shot_note_fades_before_its_end_and_frees_the_voice():
    one_shot = synthetic_bank([60], SR, duration_s=0.5, loop=False)
    slot = one_shot.slots[60]
    length_s = (slot.end - slot.start) / SR
    engine = Engine(EngineConfig(sustain=1.0))
    engine.set_layers(BankLayers.single(one_shot))
    out = render_with_engine(engine, [(0.0, NoteOn(60, 100))], length_s + 0.2)
    assert rms(window(out, 0.2, 0.3)) > 0.01
    assert rms(window(out, length_s - 0.05, length_s - 0.04)) > 0.0
    assert np.abs(window(out, length_s, length_s + 0.2)).max() == 0.0
    assert max_jump(out) <= click_bound(one_shot, gain_of(engine.config, 100), 0.005 * SR)
    assert engine.stats().voices_active == 0


# --- voices: stealing, retrigger, pedal -------------------------------------------------------
def test_polyphony_is_kept_by_stealing_without_clicks(bank):
    config = EngineConfig(polyphony=4, sustain=1.0)
    engine = Engine(config)
    engine.set_layers(BankLayers.single(bank))
    events = [(0.05 * i, NoteOn(40 + 3 * i, 100)) for i in range(10)]
    out = render_with_engine(engine, events, 1.0)
    stats = engine.stats()
    assert stats.voices_stolen == 6 and stats.voices_sounding == 4
    v = engine._voices
    assert sorted(v.pitch[v.active].tolist()) == [58, 61, 64, 67]  # the four newest
    assert max_jump(out) <= 4 * click_bound(bank, gain_of(config, 100), 0.005 * SR)


def test_released_voices_are_stolen_before_held_ones(layers):
    engine = Engine(EngineConfig(polyphony=4, release_s=5.0))
    engine.set_layers(layers)
    events = [(0.0, NoteOn(p, 100)) for p in (50, 52, 54, 56)]
    events += [(0.1, NoteOff(52)), (0.2, NoteOff(50)), (0.3, NoteOn(60, 100)),
               (0.4, NoteOn(62, 100))]
    render_with_engine(engine, events, 0.5)
    v = engine._voices
    assert sorted(v.pitch[v.active & (v.stage != 4)].tolist()) == [54, 56, 60, 62]
    assert engine.stats().voices_stolen == 2


def test_a_retriggered_note_releases_its_old_voice(layers):
    engine = Engine(EngineConfig(release_s=0.2))
    engine.set_layers(layers)
    render_with_engine(engine, [(0.0, NoteOn(60, 100)), (0.3, NoteOn(60, 90))], 0.4)
    v = engine._voices
    assert sorted(v.stage[v.active].tolist()) == [2, 3]  # one decaying/sustaining, one released
    out = render_with_engine(engine, [(0.0, NoteOff(60))], 0.5)
    assert engine.stats().voices_active == 0 and np.abs(out[-100:]).max() == 0.0


def test_a_note_off_right_after_its_note_on_still_sounds(layers):
    engine = Engine(EngineConfig(attack_s=0.002, release_s=0.2, min_note_s=0.01))
    engine.set_layers(layers)
    out = render_with_engine(engine, [(0.0, NoteOn(60, 100)), (0.0, NoteOff(60))], 0.4)
    full = render_offline(EngineConfig(attack_s=0.002), layers, [(0.0, NoteOn(60, 100))], 0.4)
    assert np.abs(window(out, 0.0, 0.01)).max() == pytest.approx(
        np.abs(window(full, 0.0, 0.01)).max(), rel=1e-6)  # plays min_note_s as if held
    assert rms(window(out, 0.03, 0.04)) > 0.1 * rms(window(full, 0.03, 0.04))  # then releases
    assert np.abs(window(out, 0.25, 0.4)).max() == 0.0
    assert engine.stats().voices_active == 0


def test_sustain_pedal_holds_released_notes_until_it_goes_up(layers):
    engine = Engine(EngineConfig(release_s=0.1))
    engine.set_layers(layers)
    events = [(0.0, SustainPedal(True)), (0.0, NoteOn(60, 100)), (0.2, NoteOff(60)),
              (0.6, SustainPedal(False))]
    out = render_with_engine(engine, events, 1.0)
    assert rms(window(out, 0.5, 0.6)) > 0.5 * rms(window(out, 0.1, 0.2))
    assert np.abs(window(out, 0.75, 1.0)).max() == 0.0
    assert engine.stats().voices_active == 0


def test_all_notes_off_and_all_sound_off(layers):
    engine = Engine(EngineConfig(release_s=0.1))
    engine.set_layers(layers)
    chord = [(0.0, NoteOn(p, 100)) for p in (48, 52, 55)]
    out = render_with_engine(engine, chord + [(0.3, AllNotesOff())], 0.6)
    assert np.abs(window(out, 0.45, 0.6)).max() == 0.0
    out = render_with_engine(engine, chord + [(0.3, AllSoundOff())], 0.4)
    assert np.abs(window(out, 0.3 + 0.005 + 256 / SR, 0.4)).max() == 0.0
    assert engine.stats().voices_active == 0


# --- gain staging ------------------------------------------------------------------------------
def test_velocity_curve_sets_the_gain(layers):
    config = EngineConfig(velocity_curve=2.0)
    loud = render_offline(config, layers, [(0.0, NoteOn(60, 120))], 0.6)
    soft = render_offline(config, layers, [(0.0, NoteOn(60, 60))], 0.6)
    assert rms(window(soft, 0.4, 0.6)) / rms(window(loud, 0.4, 0.6)) == pytest.approx(0.25, rel=1e-3)


def test_pan_spread_places_low_notes_left_and_high_notes_right(layers):
    out = render_offline(EngineConfig(pan_spread=1.0), layers,
                         [(0.0, NoteOn(40, 100)), (0.0, NoteOn(84, 100))], 0.5)
    low = fundamental_hz(window(out, 0.3, 0.5)[:, 0], SR)
    high = fundamental_hz(window(out, 0.3, 0.5)[:, 1], SR)
    assert low == pytest.approx(tone_frequency(40, SR), rel=1e-3)
    assert high == pytest.approx(tone_frequency(84, SR), rel=1e-3)


def test_limiter_keeps_a_pile_of_loud_voices_under_full_scale_without_hard_clipping(layers):
    config = EngineConfig(master_gain=4.0, polyphony=64, attack_s=0.001)
    events = [(0.001 * i, NoteOn(36 + i % 48, 127, channel=i // 48)) for i in range(64)]
    out = render_offline(config, layers, events, 1.0)
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 1.0
    assert np.abs(out).max() > 0.85  # loud, but bent under 1.0 rather than cut at it
    assert (np.abs(out) >= 0.999).sum() == 0


def test_master_gain_scales_and_the_limiter_is_transparent_below_threshold(layers):
    events = [(0.0, NoteOn(60, 100))]
    half = render_offline(EngineConfig(master_gain=0.25), layers, events, 0.5)
    full = render_offline(EngineConfig(master_gain=0.5), layers, events, 0.5)
    assert np.allclose(full, 2 * half, atol=1e-6)
    ramped = render_offline(EngineConfig(master_gain=0.5), layers,
                            events + [(0.25, SetMasterGain(0.25))], 0.5)
    assert np.allclose(window(ramped, 0.26, 0.5), window(half, 0.26, 0.5), atol=1e-6)
    assert max_jump(ramped) <= max_jump(full) * 1.01


# --- morph --------------------------------------------------------------------------------------
def test_sounding_notes_glide_to_new_layers_without_a_gap(fundamental_bank, octave_bank):
    config = EngineConfig(morph_glide_s=0.04, sustain=1.0)
    engine = Engine(config)
    engine.set_layers(BankLayers.single(fundamental_bank))
    out_a = render_with_engine(engine, [(0.0, NoteOn(60, 100))], 0.5)
    engine.set_layers(BankLayers((fundamental_bank, octave_bank), (0.25, 0.75)))
    out_b = render_with_engine(engine, [], 0.5)
    out = np.concatenate([out_a, out_b])
    f0 = tone_frequency(60, SR)
    before = tone_level(window(out, 0.40, 0.50), SR, f0)
    assert tone_level(window(out, 0.40, 0.50), SR, 2 * f0) < 1e-2 * before
    mid = [tone_level(window(out, 0.5 + s, 0.5 + s + 0.01), SR, f0) for s in (0.0, 0.01, 0.02, 0.03)]
    assert mid[0] > mid[1] > mid[2] > mid[3]  # a glide, not a step
    after_f0 = tone_level(window(out, 0.6, 1.0), SR, f0)
    after_f1 = tone_level(window(out, 0.6, 1.0), SR, 2 * f0)
    assert after_f0 / before == pytest.approx(0.25, rel=0.02)
    assert after_f1 / before == pytest.approx(0.75, rel=0.02)
    # No gap: the level follows the linear weights of uncorrelated layers,
    # sqrt(wa^2 + wb^2), lowest (1/sqrt 2) where both weigh 0.5, never below.
    span = int(round(4 * SR / f0))  # whole periods, so steady tones measure steady
    levels = np.array([rms(out[s:s + span]) for s in range(int(0.4 * SR), int(0.65 * SR), 120)])
    levels /= levels[0]
    assert levels.min() > 0.95 * np.sqrt(0.5)
    assert levels[-1] == pytest.approx(np.hypot(0.25, 0.75), rel=1e-3)
    assert max_jump(out) <= click_bound(octave_bank, gain_of(config, 100), 0.005 * SR)


def test_new_notes_start_at_the_new_position_with_no_glide(fundamental_bank, octave_bank):
    engine = Engine(EngineConfig(morph_glide_s=0.5))
    engine.set_layers(BankLayers.single(fundamental_bank))
    render_with_engine(engine, [(0.0, NoteOn(60, 100))], 0.2)
    engine.set_layers(BankLayers.single(octave_bank))
    out = render_with_engine(engine, [(0.0, NoteOff(60)), (0.0, NoteOn(64, 100))], 0.1)
    f0 = tone_frequency(64, SR)
    # (the old note, released, leaks a little into the fit at f0 of the new one)
    assert tone_level(out, SR, f0) < 2e-2 * tone_level(out, SR, 2 * f0)


def test_a_finer_bank_for_the_same_point_is_used_by_new_notes(octave_bank):
    coarse = synthetic_bank([48, 72], SR, harmonics=1, latent_id="point", complete=False)
    engine = Engine(EngineConfig())
    engine.set_layers(BankLayers.single(coarse))
    out1 = render_with_engine(engine, [(0.0, NoteOn(62, 100))], 0.5)
    # 62 is read from 72, ten semitones slower
    assert fundamental_hz(window(out1, 0.3, 0.5), SR) == pytest.approx(
        tone_frequency(72, SR) * 2 ** (-10 / 12), rel=5e-4)
    engine.set_layers(BankLayers.single(octave_bank))  # finer (and, to tell, an octave up)
    out2 = render_with_engine(engine, [(0.0, AllSoundOff()), (0.1, NoteOn(64, 100))], 0.5)
    f0 = tone_frequency(64, SR)
    assert tone_level(window(out2, 0.3, 0.5), SR, 2 * f0) > 0.01
    assert fundamental_hz(window(out2, 0.3, 0.5), SR) == pytest.approx(2 * f0, rel=5e-4)
    assert engine.stats().layer_swaps == 2


def test_old_banks_are_freed_by_collect_never_by_the_audio_thread(bank):
    """The audio thread (here a plain thread calling process) lets go; collect() frees."""
    import threading
    import weakref

    engine = Engine(EngineConfig(morph_glide_s=0.02))
    old = synthetic_bank([60], SR, latent_id="old")
    freed_in = []
    weakref.finalize(old, lambda: freed_in.append(threading.current_thread().name))
    engine.set_layers(BankLayers.single(old))
    engine.push(NoteOn(60, 100))
    stop = threading.Event()
    blocks = []

    def audio():
        out = np.zeros((256, 2), dtype=np.float32)
        while not stop.is_set():
            engine.process(out)
            blocks.append(1)

    thread = threading.Thread(target=audio, name="audio")
    thread.start()
    try:
        while len(blocks) < 10:
            stop.wait(0.001)
        engine.set_layers(BankLayers.single(bank))
        del old
        start = len(blocks)
        while len(blocks) < start + 20:  # > glide time: the old bank left its slot
            stop.wait(0.001)
        assert freed_in == []  # only the retire ring holds it now
        assert engine._retire._counts[0] > 0  # WRITTEN
        while not freed_in:
            engine.collect()
            stop.wait(0.001)
    finally:
        stop.set()
        thread.join()
    assert freed_in == ["MainThread"]


def test_layer_changes_wait_for_free_bank_slots():
    banks = [synthetic_bank([60], SR, harmonics=1, latent_id=f"b{i}") for i in range(12)]
    engine = Engine(EngineConfig(bank_slots=8, morph_glide_s=0.05))
    engine.set_layers(BankLayers(tuple(banks[:4]), (0.25,) * 4))
    render_with_engine(engine, [(0.0, NoteOn(60, 100))], 0.1)
    engine.set_layers(BankLayers(tuple(banks[4:8]), (0.25,) * 4))
    render_with_engine(engine, [], 0.01)  # gliding from 4 banks to 4 others: 8 slots in use
    engine.set_layers(BankLayers(tuple(banks[8:]), (0.25,) * 4))
    out = render_with_engine(engine, [], 0.3)
    stats = engine.stats()
    assert stats.layer_swaps_waiting > 0 and stats.layer_swaps == 3
    assert [t.bank for t in engine._slots.tables if t is not None] == banks[8:]
    assert rms(window(out, 0.2, 0.3)) > 0.01


# --- robustness ---------------------------------------------------------------------------------
def test_no_bank_means_silence_and_a_count(layers):
    engine = Engine(EngineConfig())
    out = render_with_engine(engine, [(0.0, NoteOn(60, 100))], 0.1)
    assert np.abs(out).max() == 0.0 and engine.stats().notes_silent == 1


def test_a_flood_of_events_never_leaves_a_stuck_note(layers):
    engine = Engine(EngineConfig(queue_capacity=64, queue_reserve=16, max_events_per_block=8,
                                 release_s=0.05))
    engine.set_layers(layers)
    for i in range(3000):  # pushed all at once, no audio running: the queue overflows
        pitch = 36 + i % 40
        engine.push(NoteOn(pitch, 100))
        engine.push(NoteOff(pitch))
    out = render_with_engine(engine, [], 1.0)
    stats = engine.stats()
    assert stats.events_refused > 0 and stats.events_lost_recovered > 0
    assert stats.voices_active == 0 and np.abs(out[-1000:]).max() == 0.0


def test_the_callback_never_raises(layers, monkeypatch):
    from gansynth_live.engine.rt.callback import make_callback

    engine = Engine(EngineConfig())
    engine.set_layers(layers)

    def broken(out):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.renderer, "process", broken)  # what the callback calls
    callback = make_callback(engine)
    out = np.ones((128, 2), dtype=np.float32)
    callback(out, 128, None, None)
    assert np.all(out == 0.0)
    assert engine.stats().callback_errors == 1 and "boom" in engine.stats().last_error


def test_long_callbacks_are_split_and_quantized_events_wait_for_a_block_boundary(layers):
    events = [(0.01, NoteOn(60, 100))]
    exact = render_offline(EngineConfig(max_block_frames=256), layers, events, 0.1,
                           block_frames=2048)
    assert first_sound_frame(exact) == 481  # first frame after the onset is above zero
    late = render_offline(None, layers, events, 0.1, block_frames=256, quantize=True)
    assert first_sound_frame(late) == 513
