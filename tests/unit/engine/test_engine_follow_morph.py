"""`follow_morph`: whether sounding voices follow a layer change or keep their onset's banks."""

from __future__ import annotations

import pytest

from engine_testing import SR
from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import Engine, EngineConfig, EngineConfigError, render_with_engine
from gansynth_live.engine.measure import tone_level
from gansynth_live.engine.synthetic import synthetic_bank, tone_frequency
from gansynth_live.events import NoteOff, NoteOn, SetLayers

F0 = tone_frequency(60, SR)


def window(x, start_s, stop_s):
    return x[int(start_s * SR):int(stop_s * SR)]


def morph_mid_note(fundamental_bank, octave_bank, follow_morph):
    """Note 60 starts on the fundamentals; at 0.5 s the layers become the octave bank."""
    engine = Engine(EngineConfig(follow_morph=follow_morph, morph_glide_s=0.04, sustain=1.0))
    events = [(0.0, SetLayers(BankLayers.single(fundamental_bank))), (0.0, NoteOn(60, 100)),
              (0.5, SetLayers(BankLayers.single(octave_bank))), (0.8, NoteOn(64, 100))]
    return engine, render_with_engine(engine, events, 1.2)


def test_without_follow_morph_a_voice_keeps_its_onset_bank(fundamental_bank, octave_bank):
    engine, out = morph_mid_note(fundamental_bank, octave_bank, follow_morph=False)
    before = tone_level(window(out, 0.3, 0.5), SR, F0)
    held = window(out, 0.55, 0.8)
    assert tone_level(held, SR, F0) == pytest.approx(before, rel=1e-2)
    assert tone_level(held, SR, 2 * F0) < 1e-2 * before
    # a note started after the change plays the new bank
    f64 = tone_frequency(64, SR)
    late = window(out, 0.9, 1.2)
    assert tone_level(late, SR, 2 * f64) > 0.5 * before
    assert tone_level(late, SR, f64) < 2e-2 * before  # (note 60 leaks a little into the fit)
    assert engine.stats().layer_swaps == 2 and engine.stats().layer_swaps_waiting == 0


def test_with_follow_morph_a_voice_glides_to_the_new_bank(fundamental_bank, octave_bank):
    _, out = morph_mid_note(fundamental_bank, octave_bank, follow_morph=True)
    before = tone_level(window(out, 0.3, 0.5), SR, F0)
    glided = window(out, 0.6, 0.8)  # past the 40 ms glide
    assert tone_level(glided, SR, F0) < 1e-2 * before
    assert tone_level(glided, SR, 2 * F0) > 0.5 * before
    assert EngineConfig().follow_morph  # live default: the morph reaches sounding notes


def test_each_voice_reads_its_own_bank_and_slots_free_as_voices_end():
    """Ten overlapping notes with a bank each: ten slots pinned, none left once they end."""
    banks = [synthetic_bank([60], SR, harmonics=1, harmonic_offset=i, latent_id=f"h{i + 1}")
             for i in range(10)]
    engine = Engine(EngineConfig(follow_morph=False, bank_slots=11, release_s=0.05))
    events = []
    for i, bank in enumerate(banks):  # one pitch, so one channel each (a note-off per note)
        events += [(0.05 * i, SetLayers(BankLayers.single(bank))),
                   (0.05 * i, NoteOn(60, 100, channel=i))]
    out = render_with_engine(engine, events, 0.8)
    levels = [tone_level(window(out, 0.6, 0.8), SR, (i + 1) * F0) for i in range(10)]
    assert min(levels) > 0.9 * max(levels)  # every harmonic: every note on its own bank
    in_use = [t for t in engine._slots.tables if t is not None]
    assert len(in_use) == 10 and engine.stats().layer_swaps_waiting == 0
    render_with_engine(engine, [(0.0, NoteOff(60, channel=i)) for i in range(10)], 0.3)
    assert [t.bank for t in engine._slots.tables if t is not None] == [banks[-1]]


def test_without_room_for_every_onset_bank_layer_changes_wait():
    banks = [synthetic_bank([60], SR, harmonics=1, latent_id=f"b{i}") for i in range(10)]
    engine = Engine(EngineConfig(follow_morph=False, bank_slots=8))
    events = []
    for i, bank in enumerate(banks):
        events += [(0.01 * i, SetLayers(BankLayers.single(bank))),
                   (0.01 * i, NoteOn(60, 100, channel=i))]
    render_with_engine(engine, events, 0.2)
    assert engine.stats().layer_swaps_waiting > 0


def test_offline_events_keep_their_order_around_a_layer_change(fundamental_bank, octave_bank):
    """A note-on given before a layer change at the same frame plays the old layers."""
    engine = Engine(EngineConfig(follow_morph=False))
    events = [(0.0, SetLayers(BankLayers.single(fundamental_bank))), (0.0, NoteOn(60, 100)),
              (0.0, SetLayers(BankLayers.single(octave_bank))), (0.0, NoteOn(64, 100))]
    out = window(render_with_engine(engine, events, 0.5), 0.2, 0.5)
    f64 = tone_level(out, SR, tone_frequency(64, SR))
    assert tone_level(out, SR, F0) > 0.5 * tone_level(out, SR, 2 * tone_frequency(64, SR))
    assert tone_level(out, SR, 2 * F0) < 1e-2 * tone_level(out, SR, F0)
    assert f64 < 2e-2 * tone_level(out, SR, F0)  # (the other tones leak a little into the fit)


def test_follow_morph_must_be_a_bool():
    with pytest.raises(EngineConfigError, match="follow_morph"):
        EngineConfig(follow_morph="no")
    assert EngineConfig(bank_slots=1025).bank_slots == 1025  # offline renders need many
