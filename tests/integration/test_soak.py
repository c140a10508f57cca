"""A 15-second soak of the whole instrument (bench/soak.py's code) on a JACK server of its own.

Asserted every run: no MIDI or OSC message lost or refused, no note refused, no
callback error, the session recording complete (every frame the callback handed over
is in the file), memory bounded after warm-up, the bank worker kept busy.

Xruns are timing: on a machine shared with other busy processes a Python JACK client
can miss a period through no fault of its own (the interpreter lock's holder waits
for a CPU). So zero xruns and zero engine overruns are asserted when the machine was
quiet during the run (the other processes used less than half a core and the
hypervisor's steal time stayed under 2 %); otherwise the figures are printed next to
that load. `python bench/soak.py` runs the full 60 s and prints the same table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from soak import SoakOptions, run_soak  # noqa: E402

pytestmark = [pytest.mark.jack, pytest.mark.slow]

SECONDS = 15.0
QUIET_OTHERS_PCT = 50.0
QUIET_STEAL_PCT = 2.0


def test_soak(tiny_model_dir, tmp_path):
    options = SoakOptions(seconds=SECONDS, model=str(tiny_model_dir), resolution=2, wait="all",
                          corner_every_s=2.0, reference_s=3.0, folder=tmp_path)
    result = run_soak(options, say=lambda text: None)
    print("\n" + result.table())
    # nothing dropped
    assert result.midi_sent > 1000 and result.midi_received == result.midi_sent
    assert result.midi_bad == 0
    assert result.osc_sent > 300 and result.osc_received == result.osc_sent
    assert result.osc_bad == 0
    assert result.events_refused == 0 and result.notes_refused == 0
    assert result.callback_errors == 0 and result.notes_started > 100
    # the recording holds the whole run
    assert result.recording_complete, (result.record_expected_frames,
                                       result.record_written_frames,
                                       result.record_file_frames, result.record_error)
    assert result.record_file_frames >= SECONDS * result.rate
    # the worker regenerated banks the whole time, in its own process
    assert result.banks_requested >= SECONDS / 2 - 1 and result.notes_generated > 60
    assert not result.generator_in_process
    # memory: bounded after the warm-up (a leaked bank is 20+ MB)
    assert result.rss_end_mb - result.rss_start_mb < 40.0, result.timeline
    # xruns: asserted on a quiet machine only (see the module docstring)
    quiet = (result.others_cpu_pct < QUIET_OTHERS_PCT and result.steal_pct < QUIET_STEAL_PCT)
    if quiet:
        assert result.xruns == 0 and result.overruns == 0, result.xrun_seconds
    else:
        print(f"xruns not asserted: other processes used {result.others_cpu_pct:.0f} % of a "
              f"core, steal {result.steal_pct:.1f} % ({result.xruns} xruns, "
              f"{result.overruns} overruns; the empty-callback reference had "
              f"{result.reference_xruns} in {result.reference_s:.0f} s)")
