"""The closed-form ADSR: segment joins, stage lengths, floors."""

import math

import numpy as np
import pytest

from gansynth_live.engine.rt import envelope as env

SR = 48000


def coeffs(attack=0.01, decay=0.2, sustain=0.5, release=0.3):
    return env.EnvelopeCoefficients.make(attack, decay, sustain, release, SR)


def one(stage, level, fade_rate=0.0, c=None):
    return env.segments(np.array([stage]), np.array([level]), np.array([fade_rate]), c or coeffs())


def test_attack_is_linear_to_one_then_decays_without_a_step():
    seg = one(env.ATTACK, 0.0)
    t = np.arange(2000, dtype=float)
    curve = env.level_at(seg, t)[0]
    attack_frames = 0.01 * SR
    assert curve[0] == 0.0
    assert curve[int(attack_frames / 2)] == pytest.approx(0.5, abs=1e-3)
    peak = int(np.argmax(curve))
    assert abs(peak - attack_frames) <= 1 and curve[peak] == pytest.approx(1.0, abs=1e-3)
    assert np.abs(np.diff(curve)).max() <= 1.0 / attack_frames + 1e-9


def test_attack_is_never_shorter_than_one_millisecond():
    c = coeffs(attack=0.0)
    assert c.attack_rate == pytest.approx(1.0 / (env.MIN_ATTACK_S * SR))


def test_decay_reaches_sustain_within_60_db_at_decay_time():
    seg = one(env.DECAY, 1.0)
    at = env.level_at(seg, 0.2 * SR)[0]
    assert at - 0.5 == pytest.approx(0.5e-3, rel=1e-6)


def test_release_from_full_level_hits_the_floor_at_release_time():
    seg = one(env.RELEASE, 1.0)
    assert env.level_at(seg, 0.3 * SR)[0] == pytest.approx(env.FLOOR, rel=1e-6)
    assert env.finished(np.array([env.RELEASE]), env.level_at(seg, 0.3 * SR + 1), 0.5)[0]


def test_fade_is_linear_to_exactly_zero():
    seg = one(env.FADE, 0.8, fade_rate=0.8 / 240)
    assert env.level_at(seg, 120.0)[0] == pytest.approx(0.4)
    assert env.level_at(seg, 240.0)[0] == 0.0
    assert env.level_at(seg, 300.0)[0] == 0.0


def test_block_end_levels_chain_like_one_long_block():
    """Evaluating block by block from each block's end level equals one evaluation."""
    c = coeffs()
    stage, level = np.array([env.ATTACK]), np.array([0.0])
    chained = []
    for _ in range(40):
        seg = env.segments(stage, level, np.zeros(1), c)
        chained.append(env.level_at(seg, np.arange(128.0))[0])
        level = env.level_at(seg, 128.0)
        stage = env.next_stage(stage, seg, 128)
    whole = env.level_at(env.segments(np.array([env.ATTACK]), np.zeros(1), np.zeros(1), c),
                         np.arange(40 * 128.0))[0]
    assert np.abs(np.concatenate(chained) - whole).max() < 1e-9
    assert stage[0] == env.DECAY


def test_decay_to_zero_sustain_frees_the_voice():
    c = coeffs(sustain=0.0)
    seg = env.segments(np.array([env.DECAY]), np.array([1.0]), np.zeros(1), c)
    late = env.level_at(seg, 1.0 * SR)
    assert env.finished(np.array([env.DECAY]), late, 0.0)[0]
    assert math.isclose(c.sustain, 0.0)
