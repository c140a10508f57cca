"""Generation order: played pitches first, then farthest-first across the keyboard."""

from __future__ import annotations

from gansynth_live.banks.schedule import PitchSchedule, farthest_first


def test_farthest_first_covers_the_keyboard_early():
    order = farthest_first(range(24, 85), seeds=[60])
    assert sorted(order) == list(range(24, 85))
    assert order[:3] == [24, 84, 42]
    # after 8 pitches no key is more than 6 semitones from a generated one
    have = {60, *order[:8]}
    assert max(min(abs(p - h) for h in have) for p in range(24, 85)) <= 6


def test_urgent_pitches_one_at_a_time_then_batches():
    s = PitchSchedule(range(24, 85), first=[60, 62])
    assert s.take(8) == [60]
    s.mark_done([60])
    assert s.take(8) == [62]
    s.mark_done([62])
    batch = s.take(8)
    assert len(batch) == 8 and 60 not in batch and 62 not in batch
    s.prioritize([70, 100, 3, 500])  # 100 -> 84 (made from it), 3 -> 24, 500 ignored
    assert [s.take(8)[0] for _ in range(1)] == [70]
    s.mark_done([70])
    assert s.take(8) == [84]
    s.mark_done([84])
    assert s.take(8) == [24]
    s.mark_done(range(24, 85))
    assert s.finished and s.take(8) == [] and s.done == s.total == 61
