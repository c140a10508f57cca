"""The model in a child process: same banks as in-process, clear failures, restarts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from float32 import NETWORK_MAX_ULPS, WAVE_MEAN_ULPS, assert_within_ulps

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.generator_process import (THREADS_ENV, GeneratorProcessError,
                                                   generator_threads, settings_from_json,
                                                   settings_to_json, thread_env)
from gansynth_live.banks.source import ModelSource
from gansynth_live.banks.service import BankService

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow  # each test starts a process that imports TensorFlow


def test_settings_round_trip_through_json():
    settings = BuildSettings(sample_rate=44100, highest_pitch=90, note_gain=False)
    assert settings_from_json(settings_to_json(settings)) == settings


def test_the_child_leaves_a_core_to_the_audio_unless_told(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert generator_threads() == max(1, (os.cpu_count() or 2) - 1)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert generator_threads() == 3 and thread_env(3)["TF_NUM_INTRAOP_THREADS"] == "3"
    monkeypatch.setenv(THREADS_ENV, "zero")
    assert generator_threads() == max(1, (os.cpu_count() or 2) - 1)


def test_the_child_makes_the_same_banks_and_is_restarted_after_a_crash(tiny_model_dir,
                                                                        tiny_model,
                                                                        monkeypatch):
    # TensorFlow gives no bit-exact promise across processes (oneDNN may block its sums
    # differently): the child's banks are held to float32 rounding, not to the same bits
    monkeypatch.setenv(THREADS_ENV, str(os.cpu_count() or 1))
    settings = BuildSettings(highest_pitch=90)
    z = tiny_model.random_latents(1, seed=3)[0]
    with BankService(tiny_model, settings, None) as local:
        assert local.in_process
        handle = local.request(z, [60])
        assert handle.wait(120) and handle.state == "done"
        made_here = handle.current
    with BankService(ModelSource(path=tiny_model_dir), settings, None, process=True) as remote:
        assert not remote.in_process
        handle = remote.request(z, [60])
        assert handle.wait(120) and handle.state == "done", handle.error
        assert remote.stats.generated_notes == 61 and remote.stats.generate_s > 0
        assert_same_bank(handle.current, made_here)
        # the child is killed: the batch in flight fails (or, if the worker finds it dead
        # first, restarts it), and the next request is served by a new child
        process = remote.generator
        pid = remote.generator_pid
        os.kill(pid, signal.SIGKILL)
        while process.running:  # reaped by poll()
            time.sleep(0.01)
        stamp = remote.stamp
        first = remote.request(stamp.random_latents(1, seed=1)[0], [60])
        assert first.wait(120)
        if first.state == "failed":
            assert isinstance(first.error, GeneratorProcessError)
            assert "generator process ended" in str(first.error)
        second = remote.request(stamp.random_latents(1, seed=2)[0], [60])
        assert second.wait(120) and second.state == "done", second.error
        assert process.running


def assert_same_bank(got, expected) -> None:
    """The same notes at the same places, levels and audio within float32 rounding."""
    assert got.slots.keys() == expected.slots.keys()
    for pitch, slot in expected.slots.items():
        other = got.slots[pitch]
        positions = ("start", "end", "loop_start", "loop_end")
        assert [getattr(other, k) for k in positions] == [getattr(slot, k) for k in positions]
        np.testing.assert_allclose([other.peak, other.rms, other.gain],
                                   [slot.peak, slot.rms, slot.gain], rtol=1e-4)
        assert_within_ulps(got.note_audio(pitch), expected.note_audio(pitch),
                           NETWORK_MAX_ULPS, WAVE_MEAN_ULPS)


def test_the_parent_never_imports_tensorflow(tiny_model_dir):
    code = f"""
import sys
from gansynth_live.banks.source import ModelSource
from gansynth_live.banks.service import BankService
from gansynth_live.banks.builder import BuildSettings
with BankService(ModelSource(path={str(tiny_model_dir)!r}), BuildSettings(highest_pitch=84),
                 None, process=True) as service:
    assert service.wait_ready(120)
    handle = service.request(service.stamp.random_latents(1, seed=1)[0], [60])
    handle.wait(120)
    print(handle.state, "tensorflow" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert result.stdout.split() == ["done", "False"], result.stderr[-2000:]


def test_a_model_the_child_cannot_load_is_a_clear_error(tmp_path):
    (tmp_path / "experiment.json").write_text("{}")
    with BankService(ModelSource(path=tmp_path), BuildSettings(), None,
                     process=True) as service:
        assert not service.wait_ready(120)
        assert "ModelLoadError" in service.status()["load_error"]
