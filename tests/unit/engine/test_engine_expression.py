"""Per-note expression in the engine: MPE zone bends (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from engine_testing import SR
from gansynth_live.engine import render_offline
from gansynth_live.engine.measure import fundamental_hz
from gansynth_live.engine.synthetic import tone_frequency
from gansynth_live.events import NoteOn, PitchBend, SetBendRange, SetMpeZone


def window(x, start_s, stop_s):
    return x[int(start_s * SR):int(stop_s * SR)]


def f0_of(layers, events, duration=1.5):
    out = render_offline(None, layers, events, duration)
    return fundamental_hz(window(out, 0.5, duration), SR)


def test_a_channel_bend_range_applies_to_that_channel_only(layers):
    events = [(0.0, SetBendRange(12.0, channel=3)), (0.0, NoteOn(57, 100, 3)),
              (0.0, PitchBend(1.0, 3)), (0.0, PitchBend(1.0, 4))]
    assert f0_of(layers, events) == pytest.approx(tone_frequency(57, SR) * 2.0, rel=5e-4)
    other = [(0.0, SetBendRange(12.0, channel=3)), (0.0, NoteOn(57, 100, 4)),
             (0.0, PitchBend(1.0, 4))]
    assert f0_of(layers, other) == pytest.approx(tone_frequency(57, SR) * 2 ** (2 / 12), rel=5e-4)


def test_a_member_note_bends_by_its_own_bend_plus_the_masters(layers):
    zone = [(0.0, SetMpeZone(0, 15)), (0.0, SetBendRange(48.0, channel=1)),
            (0.0, NoteOn(57, 100, 1))]
    member = zone + [(0.0, PitchBend(0.25, 1))]  # +12 semitones
    assert f0_of(layers, member) == pytest.approx(tone_frequency(57, SR) * 2.0, rel=5e-4)
    both = member + [(0.0, PitchBend(-1.0, 0))]  # master -2
    assert f0_of(layers, both) == pytest.approx(tone_frequency(57, SR) * 2 ** (10 / 12), rel=5e-4)


def test_the_master_bend_does_not_reach_channels_outside_the_zone(layers):
    events = [(0.0, SetMpeZone(0, 3)), (0.0, NoteOn(57, 100, 5)), (0.0, PitchBend(1.0, 0))]
    assert f0_of(layers, events) == pytest.approx(tone_frequency(57, SR), rel=5e-4)
    ended = [(0.0, SetMpeZone(0, 3)), (0.0, SetMpeZone(0, 0)), (0.0, NoteOn(57, 100, 2)),
             (0.0, PitchBend(1.0, 0))]
    assert f0_of(layers, ended) == pytest.approx(tone_frequency(57, SR), rel=5e-4)


def test_an_upper_zone_uses_the_channels_below_its_master(layers):
    events = [(0.0, SetMpeZone(15, 2)), (0.0, NoteOn(57, 100, 13)), (0.0, PitchBend(1.0, 15))]
    assert f0_of(layers, events) == pytest.approx(tone_frequency(57, SR) * 2 ** (2 / 12), rel=5e-4)
    assert list(SetMpeZone(15, 2).member_channels) == [13, 14]
    with pytest.raises(ValueError):
        SetMpeZone(3, 2)


# --- per-note timbre -------------------------------------------------------------------------
from gansynth_live.banks.bank import BankLayers  # noqa: E402
from gansynth_live.engine import Engine, EngineConfig, render_with_engine  # noqa: E402
from gansynth_live.events import NoteOff, SetExpression, SetLayers  # noqa: E402


@pytest.fixture(scope="module")
def cell(fundamental_bank, octave_bank):
    """A 1-D cell: fundamental at x=0, octave at x=1, the morph at x=0.5 (half each)."""
    return BankLayers((fundamental_bank, octave_bank), (0.5, 0.5), ((0.0, 0.0), (1.0, 0.0)),
                      (0.5, 0.0))


def test_weights_at_are_bilinear_in_the_cell_and_clamped(fundamental_bank, octave_bank):
    from gansynth_live.engine.layers import prepare_layers
    b = (fundamental_bank, octave_bank, fundamental_bank, octave_bank)
    layers = BankLayers(b, (0.1875, 0.5625, 0.0625, 0.1875),
                        ((0.0, 0.0), (0.5, 0.0), (0.0, 0.5), (0.5, 0.5)), (0.375, 0.125))
    prepared = prepare_layers(layers, SR)
    assert prepared.weights_at(0.0, 0.0) == pytest.approx(prepared.weight_array)
    # each bank sits on two corners: its weight is theirs summed (one table each)
    assert prepared.weights_at(-0.125, 0.125) == pytest.approx([0.5, 0.5])
    assert prepared.weights_at(1.0, 1.0) == pytest.approx([0.0, 1.0])
    assert prepared.weights_at(-1.0, 0.0) == pytest.approx([1.0, 0.0])
    assert prepare_layers(BankLayers.single(fundamental_bank), SR).weights_at(0.5, 0.0) is None


def test_expression_moves_only_its_own_note(cell):
    plain = [(0.0, NoteOn(60, 100, 1)), (0.0, NoteOn(64, 100, 2))]
    expressive = plain + [(0.2, SetExpression(1, None, 0.5, 0.0))]
    outs = {}
    for name, events in (("plain", plain), ("expr", expressive)):
        engine = Engine(EngineConfig(morph_glide_s=0.05))
        engine.set_layers(cell)
        outs[name] = render_with_engine(engine, events, 0.6)
        v = engine.renderer.voices
        outs[name + "_w"] = v.w_cur[:2, v.channel == 2].copy(), v.w_cur[:2, v.channel == 1].copy()
    assert np.abs(outs["expr"] - outs["plain"]).max() > 0.01
    assert np.array_equal(outs["expr_w"][0], outs["plain_w"][0])  # note 64: shared weights
    assert outs["expr_w"][1][:, 0] == pytest.approx([0.0, 1.0])  # note 60 moved to x = 1


def test_no_expression_and_a_zero_or_elsewhere_expression_render_bit_identical(cell):
    base = [(0.0, NoteOn(60, 100, 1)), (0.1, NoteOn(64, 90, 2)), (0.4, NoteOff(60, 1))]
    quiet = base + [(0.2, SetExpression(1, None, 0.0, 0.0)), (0.2, SetExpression(5, 61, 0.3)),
                    (0.3, SetLayers(cell))]
    ref = render_offline(None, cell, base + [(0.3, SetLayers(cell))], 0.7)
    assert np.array_equal(render_offline(None, cell, quiet, 0.7), ref)


def test_a_pad_move_carries_a_note_with_expression_at_its_offset_and_a_plain_one_with_it(
        cell, fundamental_bank, octave_bank):
    """The rule: a note with its own expression sits at pad + offset, a plain note at the
    pad; a new pad position moves both (here the pad x 0.5 -> 0.25, the offset +0.25)."""
    moved = BankLayers((fundamental_bank, octave_bank), (0.75, 0.25), ((0.0, 0.0), (1.0, 0.0)),
                       (0.25, 0.0))
    events = [(0.0, SetExpression(1, None, 0.25, 0.0)), (0.0, NoteOn(60, 100, 1)),
              (0.0, NoteOn(64, 100, 2)), (0.0, SetExpression(0, 67, 0.25, 0.0)),
              (0.0, NoteOn(67, 100, 0)), (0.05, SetExpression(0, 67, -0.25, 0.0))]
    engine = Engine(EngineConfig(morph_glide_s=0.02))
    engine.set_layers(cell)
    render_with_engine(engine, events, 0.1)
    v = engine.renderer.voices

    def weights(ch):
        return v.w_cur[:2, v.active & (v.channel == ch)][:, 0]

    before = {ch: weights(ch) for ch in (0, 1, 2)}
    assert before[1] == pytest.approx([0.25, 0.75])  # MPE slide: x 0.5 + 0.25
    assert before[2] == pytest.approx([0.5, 0.5])  # plain: the pad
    assert before[0] == pytest.approx([0.75, 0.25])  # a key's own (aftertouch, /ne): x 0.25
    render_with_engine(engine, [(0.0, SetLayers(moved))], 0.1)
    assert weights(1) == pytest.approx([0.5, 0.5])  # x 0.25 + 0.25
    assert weights(2) == pytest.approx([0.75, 0.25])  # x 0.25
    assert weights(0) == pytest.approx([1.0, 0.0])  # x 0.25 - 0.25: the cell's edge
    assert v.expressive[v.active & (v.channel != 2)].all()
    assert not v.expressive[v.active & (v.channel == 2)].any()


def test_an_mpe_channels_expression_applies_to_the_note_it_starts_next(cell):
    later = [(0.0, SetExpression(1, None, -0.5, 0.0)), (0.0, NoteOn(60, 100, 1))]
    engine = Engine(EngineConfig())
    engine.set_layers(cell)
    render_with_engine(engine, later, 0.2)
    v = engine.renderer.voices
    assert v.w_cur[:2, v.active][:, 0] == pytest.approx([1.0, 0.0])


def test_poly_aftertouch_expression_moves_one_key(cell):
    events = [(0.0, NoteOn(60, 100)), (0.0, NoteOn(64, 100)), (0.1, SetExpression(0, 64, 0.25))]
    engine = Engine(EngineConfig(morph_glide_s=0.01))
    engine.set_layers(cell)
    render_with_engine(engine, events, 0.3)
    v = engine.renderer.voices
    assert v.w_cur[:2, v.active & (v.pitch == 60)][:, 0] == pytest.approx([0.5, 0.5])
    assert v.w_cur[:2, v.active & (v.pitch == 64)][:, 0] == pytest.approx([0.25, 0.75])


def test_kernels_agree_with_their_oracle_with_expression(cell):
    import kernel_oracle

    events = [(0.0, NoteOn(60, 100, 1)), (0.0, NoteOn(64, 100, 2)),
              (0.1, SetExpression(1, None, 0.4, 0.0)), (0.2, SetExpression(2, 64, -0.3, 0.0)),
              (0.3, SetLayers(cell))]
    outs = []
    for kernels in (None, kernel_oracle):
        engine = Engine(EngineConfig(morph_glide_s=0.05), kernels=kernels)
        engine.set_layers(cell)
        outs.append(render_with_engine(engine, events, 0.6, block_frames=200))
    assert np.abs(outs[0]).max() > 0.05
    assert np.abs(outs[0] - outs[1]).max() < 1e-5


def test_a_note_moves_off_a_grid_point_into_the_banks_the_layers_carry_at_weight_0(
        fundamental_bank, octave_bank):
    """The pad on a grid point plays one bank; the points around it come at weight 0, so a
    note's own expression still glides either way (what MorphGrid.layers_at hands over)."""
    from dataclasses import replace
    right = replace(fundamental_bank)  # a third bank (distinct object) at x = 1
    on_point = BankLayers((fundamental_bank, octave_bank, right), (0.0, 1.0, 0.0),
                          ((0.0, 0.0), (0.5, 0.0), (1.0, 0.0)), (0.5, 0.0))
    plain = [(0.0, NoteOn(60, 100, 1)), (0.0, NoteOn(64, 100, 2)), (0.0, NoteOn(67, 100, 3))]
    moved = plain + [(0.1, SetExpression(1, None, -0.25, 0.0)),
                     (0.1, SetExpression(2, None, 0.375, 0.0))]
    outs, weights = {}, {}
    for name, events in (("plain", plain), ("moved", moved)):
        engine = Engine(EngineConfig(morph_glide_s=0.02))
        engine.set_layers(on_point)
        outs[name] = render_with_engine(engine, events, 0.4)
        v = engine.renderer.voices
        slots = engine.renderer._layer_slots
        weights[name] = {ch: v.w_cur[slots][:, v.active & (v.channel == ch)][:, 0]
                         for ch in (1, 2, 3)}
    assert weights["plain"][1] == pytest.approx([0.0, 1.0, 0.0])
    assert weights["moved"][1] == pytest.approx([0.5, 0.5, 0.0])  # x = 0.25
    assert weights["moved"][2] == pytest.approx([0.0, 0.25, 0.75])  # x = 0.875
    assert weights["moved"][3] == pytest.approx([0.0, 1.0, 0.0])  # no expression: shared
    assert np.abs(outs["moved"] - outs["plain"]).max() > 0.01


def test_a_bank_on_two_corners_is_read_once_and_its_weights_add_up(fundamental_bank, octave_bank):
    from gansynth_live.engine.layers import prepare_layers
    layers = BankLayers((fundamental_bank, fundamental_bank, octave_bank, octave_bank),
                        (0.25, 0.25, 0.25, 0.25), ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)),
                        (0.5, 0.5))
    prepared = prepare_layers(layers, SR)
    assert len(prepared.tables) == 2 and prepared.weights == pytest.approx((0.5, 0.5))
    assert prepared.weights_at(0.0, 0.25) == pytest.approx([0.25, 0.75])  # y 0.75: mostly top
    assert prepared.weights_at(0.4, -0.5) == pytest.approx([1.0, 0.0])


def test_a_note_bend_moves_one_key_on_top_of_its_channels_bend(layers):
    from gansynth_live.events import NoteBend
    chord = [(0.0, NoteOn(57, 100, 0)), (0.0, NoteOn(64, 100, 0))]
    bent = chord + [(0.0, NoteBend(0, 57, 12.0)), (0.0, PitchBend(1.0, 0))]  # +12, and +2 all
    out = render_offline(None, layers, [(0.0, NoteOn(57, 100, 0)), *bent[2:]], 1.5)
    assert fundamental_hz(window(out, 0.5, 1.5), SR) == \
        pytest.approx(tone_frequency(57, SR) * 2 ** (14 / 12), rel=5e-4)
    alone = render_offline(None, layers, [(0.0, NoteOn(64, 100, 0)), (0.0, NoteBend(0, 57, 12.0))],
                           1.5)  # another key's bend leaves it alone
    assert fundamental_hz(window(alone, 0.5, 1.5), SR) == \
        pytest.approx(tone_frequency(64, SR), rel=5e-4)
    again = render_offline(None, layers, [(0.0, NoteOn(57, 100, 0)), (0.0, NoteBend(0, 57, 7.0)),
                                          (0.2, NoteOn(57, 100, 0))], 1.5)  # a new note: unbent
    assert fundamental_hz(window(again, 0.7, 1.5), SR) == \
        pytest.approx(tone_frequency(57, SR), rel=5e-4)
    with pytest.raises(ValueError):
        NoteBend(0, 57, 60.0)
