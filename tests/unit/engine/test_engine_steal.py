"""Voice stealing priorities (a pure function of the voice arrays)."""

import numpy as np
from gansynth_live.engine.rt.envelope import ATTACK, DECAY, FADE, RELEASE
from gansynth_live.engine.rt.steal import choose_victim


def voices(*rows):
    """rows: (stage, level, gain, key_down, started_at, released_at)"""
    cols = list(zip(*rows))
    return dict(active=np.ones(len(rows), bool), stage=np.array(cols[0]),
                level=np.array(cols[1], float), gain=np.array(cols[2], float),
                key_down=np.array(cols[3], bool), started_at=np.array(cols[4]),
                released_at=np.array(cols[5]))


def test_oldest_released_voice_goes_first():
    v = voices((DECAY, 0.1, 1.0, True, 0, 0),
               (RELEASE, 0.9, 1.0, False, 10, 500),
               (RELEASE, 0.9, 1.0, False, 20, 300),
               (RELEASE, 0.01, 1.0, False, 30, 400))
    assert choose_victim(**v, now=1000) == 2


def test_then_pedal_held_then_quietest_held():
    v = voices((DECAY, 0.5, 1.0, True, 0, 0),
               (DECAY, 0.2, 1.0, True, 10, 0),
               (DECAY, 0.9, 1.0, False, 20, 0))  # key up, pedal holding it
    assert choose_victim(**v, now=1000) == 2
    v["key_down"][2] = True
    assert choose_victim(**v, now=1000) == 1


def test_loudness_includes_velocity_and_attacking_voices_count_at_full_level():
    v = voices((DECAY, 0.5, 0.2, True, 0, 0),   # 0.1
               (ATTACK, 0.01, 0.5, True, 50, 0),  # about to be 0.5
               (DECAY, 0.3, 1.0, True, 10, 0))  # 0.3
    assert choose_victim(**v, now=1000) == 0


def test_a_chord_does_not_steal_its_own_notes_and_fading_voices_are_skipped():
    v = voices((FADE, 0.5, 1.0, False, 0, 0),
               (ATTACK, 0.0, 0.1, True, 1000, 0),
               (DECAY, 0.9, 1.0, True, 5, 0))
    assert choose_victim(**v, now=1000) == 2
    v["stage"][2] = FADE
    assert choose_victim(**v, now=1000) == 1  # only a fresh one is left
    v["stage"][1] = FADE
    assert choose_victim(**v, now=1000) == -1


def lexsort_oracle(active, stage, level, gain, key_down, started_at, released_at, now):
    """The rule written as array operations (rank, then loudness or release time, then
    start time): the oracle the compiled loop is held to."""
    idx = np.flatnonzero(active & (stage != FADE))
    if idx.size == 0:
        return -1
    st = stage[idx]
    released = st == RELEASE
    pedal_held = ~released & ~key_down[idx]
    fresh = started_at[idx] >= now
    rank = np.where(released, 0, np.where(pedal_held, 1, 2))
    rank = np.where(fresh, 3, rank)
    loudness = gain[idx] * np.where(st == ATTACK, 1.0, level[idx])
    secondary = np.where(released, released_at[idx].astype(np.float64), loudness)
    order = np.lexsort((started_at[idx], secondary, rank))
    return int(idx[order[0]])


def test_the_compiled_loop_chooses_what_the_array_rule_chooses():
    rng = np.random.default_rng(1)
    for _ in range(300):
        n = int(rng.integers(1, 40))
        v = dict(active=rng.random(n) < 0.8,
                 stage=rng.choice([ATTACK, DECAY, RELEASE, FADE], n).astype(np.int64),
                 level=rng.choice([0.1, 0.5, 0.9], n), gain=rng.choice([0.2, 1.0], n),
                 key_down=rng.random(n) < 0.5,
                 started_at=rng.choice([0, 500, 1000], n).astype(np.int64),
                 released_at=rng.choice([100, 200], n).astype(np.int64))
        assert choose_victim(**v, now=1000) == lexsort_oracle(**v, now=1000)
