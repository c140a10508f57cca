"""What the real callback allocates in steady state (issue 16, item 3).

The callback PortAudio would call runs 3,000 blocks of a dense performance
(chords past polyphony so voices are stolen, releases, sustain pedal, pitch
bend, panic, gain and envelope changes, morph swaps through banks made up
front, and a recording), and each call is measured with tracemalloc
(alloc_testing.py). The goal is zero; measured at 256 frames (numba):
before this work every call allocated, peak rise up to 6.5 kB (median
1.8 kB); per-slot views and the mixer's index array gone: median 1.7 kB.
Then: kernels compiled without numba's runtime (an array argument cost a
48-byte MemInfo per call), voice arrays passed as two tuples (a call of more
than 20 arguments makes a tuple), counters in int64 arrays bumped by compiled
code, the output stage and the recorder's ring copy as compiled loops, no
`for` loops (iterator objects) in the block path: a block without events
allocated nothing (about half the blocks here; median 64 B over all blocks),
but a note-on up to 6.5 kB (index arrays of the numpy note handlers). Then
(issue 16 item 2): events cross as numeric records and compiled note rules
apply them (rt/event_apply.py); a layer swap is planned and glided by
compiled code over arrays made in the thread that called set_layers, and
both rings count in int64 arrays: no block allocates.
"""

import numpy as np
import pytest

from alloc_testing import events_for, measure

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("alloc"))


def test_the_performance_exercises_what_it_claims(measured):
    _, _, engine = measured
    stats = engine.stats()
    assert stats.callback_errors == 0
    assert stats.voices_stolen > 100 and stats.layer_swaps > 20 and stats.notes_started > 1000
    assert engine.recorder.overflow_frames > 0  # every block went through Recorder.write


def test_the_callback_keeps_nothing_and_stays_within_its_allocation_budget(measured):
    peaks, kept, _ = measured
    assert np.median(kept) == 0  # nothing retained block after block (no leak)
    assert kept.sum() < 64 * 1024
    assert np.median(peaks) <= 256 and peaks.max() <= 8 * 1024  # before item 2: 64 B / 6.6 kB


def test_a_block_without_events_allocates_nothing(measured):
    peaks, kept, _ = measured
    warm_up = 3000 - peaks.size
    quiet = np.array([not events_for(block) and block % 60 != 30  # no event, no set_layers
                      for block in range(warm_up, 3000)])
    assert quiet.sum() > 900  # rendering, releases, fades, glides, recording still run
    assert peaks[quiet].max() == 0 and kept[quiet].max() <= 0


def test_the_callback_allocates_nothing_after_warm_up(measured):
    peaks, kept, _ = measured
    assert peaks.max() == 0 and kept.max() <= 0
