"""The closed-form ADSR the kernels run (envelope.py's per-voice rules): segment joins,
stage lengths, floors."""

import math

import numpy as np
import pytest

from gansynth_live.engine.rt import envelope as env

SR = 48000


def coeffs(attack=0.01, decay=0.2, sustain=0.5, release=0.3):
    return env.EnvelopeCoefficients.make(attack, decay, sustain, release, SR)


def as_array(c):
    return np.array([c.attack_rate, c.sustain, c.log_k_decay, c.log_k_release])


def one(stage, level, fade_rate=0.0, c=None):
    """One voice's block coefficients, seg (6, 1)."""
    seg = np.zeros((6, 1))
    env.segment(stage, level, fade_rate, as_array(c or coeffs()), seg, 0)
    return seg


def at(seg, t):
    """The level at frame offset t (a number, or an array of them)."""
    if np.ndim(t) == 0:
        return env.level_at(seg, 0, float(t))
    return np.array([env.level_at(seg, 0, float(x)) for x in t])


def test_attack_is_linear_to_one_then_decays_without_a_step():
    seg = one(env.ATTACK, 0.0)
    t = np.arange(2000, dtype=float)
    curve = at(seg, t)
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
    level = at(seg, 0.2 * SR)
    assert level - 0.5 == pytest.approx(0.5e-3, rel=1e-6)


def test_release_from_full_level_hits_the_floor_at_release_time():
    seg = one(env.RELEASE, 1.0)
    assert at(seg, 0.3 * SR) == pytest.approx(env.FLOOR, rel=1e-6)
    assert env.finished(env.RELEASE, at(seg, 0.3 * SR + 1), 0.5)


def test_fade_is_linear_to_exactly_zero():
    seg = one(env.FADE, 0.8, fade_rate=0.8 / 240)
    assert at(seg, 120.0) == pytest.approx(0.4)
    assert at(seg, 240.0) == 0.0
    assert at(seg, 300.0) == 0.0


def test_block_end_levels_chain_like_one_long_block():
    """Evaluating block by block from each block's end level equals one evaluation."""
    c = coeffs()
    stage, level = env.ATTACK, 0.0
    chained = []
    for _ in range(40):
        seg = one(stage, level, c=c)
        chained.append(at(seg, np.arange(128.0)))
        level = at(seg, 128.0)
        stage = env.next_stage(stage, seg, 0, 128)
    whole = at(one(env.ATTACK, 0.0, c=c), np.arange(40 * 128.0))
    assert np.abs(np.concatenate(chained) - whole).max() < 1e-9
    assert stage == env.DECAY


def test_decay_to_zero_sustain_frees_the_voice():
    c = coeffs(sustain=0.0)
    seg = one(env.DECAY, 1.0, c=c)
    assert env.finished(env.DECAY, at(seg, 1.0 * SR), 0.0)
    assert math.isclose(c.sustain, 0.0)
