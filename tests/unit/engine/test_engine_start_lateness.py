"""How late callbacks started (issue 16 item 6's measure): the ring the callback fills
and the lateness read from it against drifting clocks and catch-up after a stall."""

import numpy as np

from gansynth_live.engine.rt.counters import Counters, note_start, start_lateness


def test_a_late_start_is_measured_against_the_on_time_ones_around_it():
    period = 256 / 48000
    starts = 0.3 + np.arange(2000) * 1e-9  # a slowly drifting offset between the clocks
    starts[1000] += 0.004  # one start 4 ms late
    late = start_lateness(starts)
    assert abs(late[1000] - 0.004) < 1e-6
    assert np.max(np.abs(np.delete(late, 1000))) < 1e-6
    assert period > 0.004  # the figure the soak compares with half a period


def test_catch_up_after_a_stall_does_not_make_every_start_look_late():
    # after a 20 ms stall the server runs four periods back to back: those starts come
    # early against their periods; a minimum-based reference would call all others late
    starts = np.zeros(1500)
    starts[700] = 0.020
    starts[701:705] = [-0.015, -0.010, -0.005, 0.0]
    late = start_lateness(starts)
    assert late[700] >= 0.0199
    assert np.count_nonzero(late > 1e-3) == 1


def test_the_ring_keeps_the_newest_starts_and_reads_them_oldest_first():
    counters = Counters()
    ring = Counters.START_RING
    for i in range(ring + 10):
        note_start(counters.starts, counters.ints, 0.001 if i == ring + 5 else 0.0)
    assert counters.starts[5] == 0.001  # wrapped: the newest overwrote the oldest
    late = counters.start_lateness_s()
    assert late.shape == (ring,)
    assert np.argmax(late) == ring - 5 and abs(late[-5] - 0.001) < 1e-12
