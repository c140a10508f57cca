"""What the real callback allocates in steady state (issue 16, item 3).

The callback PortAudio would call runs 3,000 blocks of a dense performance
(chords past polyphony so voices are stolen, releases, sustain pedal, pitch
bend, panic, gain and envelope changes, morph swaps through banks made up
front, and a recording), and each call is measured with tracemalloc
(alloc_testing.py). The goal is zero; measured at 256 frames (numba):
before this work every call allocated, peak rise up to 6.5 kB (median
1.8 kB); now median 1.7 kB, with per-slot views and the index array of the
mixer gone. The rest (event handlers' index arrays in voices.py, the output
stage's reductions and soft clip, layer adoption's sets and lists, Python
int counters) is the remaining part of the issue: the strict test below is
expected to fail until then, and the budget test keeps it from growing.
"""

import numpy as np
import pytest

from alloc_testing import measure

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
    assert np.median(peaks) <= 2048 and peaks.max() <= 8 * 1024  # measured 1.7 / 6.5 kB


@pytest.mark.xfail(strict=True, reason="issue 16 item 3 not finished: event handlers, output "
                   "stage, layer adoption and int counters still allocate")
def test_the_callback_allocates_nothing_after_warm_up(measured):
    peaks, kept, _ = measured
    assert peaks.max() == 0 and kept.max() <= 0
