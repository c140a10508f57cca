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
