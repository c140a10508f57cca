"""Recording from the audio thread: everything arrives, or what cannot is counted."""

import numpy as np
import pytest
import soundfile as sf

from engine_testing import SR
from gansynth_live.engine import Engine, EngineConfig, Recorder, RecorderError
from gansynth_live.engine.rt.callback import make_callback
from gansynth_live.events import NoteOn


def test_recording_matches_what_was_played(tmp_path, layers):
    engine = Engine(EngineConfig())
    engine.set_layers(layers)
    engine.push(NoteOn(60, 100))
    callback = make_callback(engine)
    played = []
    with Recorder(tmp_path / "out.wav", SR, subtype="FLOAT") as recorder:
        engine.recorder = recorder
        for _ in range(200):
            block = np.zeros((256, 2), dtype=np.float32)
            callback(block, 256, None, None)
            played.append(block)
        engine.recorder = None
    recorded, rate = sf.read(tmp_path / "out.wav", dtype="float32")
    assert rate == SR and recorder.overflow_frames == 0
    assert np.array_equal(recorded, np.concatenate(played))


def test_a_slow_writer_costs_counted_frames_never_a_wait(tmp_path):
    with Recorder(tmp_path / "slow.wav", SR, buffer_s=0.1) as recorder:  # 4800 frames of room
        block = np.full((1024, 2), 0.25, dtype=np.float32)
        for _ in range(100):  # far faster than the writer's 20 ms cadence drains
            recorder.write(block)
    assert recorder.overflow_frames > 0
    assert recorder.overflow_frames + recorder.frames_written == 100 * 1024
    assert sf.info(tmp_path / "slow.wav").frames == recorder.frames_written


def test_an_unwritable_path_is_a_clear_error(tmp_path):
    with pytest.raises(RecorderError, match="cannot record"):
        Recorder(tmp_path / "missing" / "x.wav", SR)


def test_engine_stats_report_the_recorder(tmp_path):
    engine = Engine(EngineConfig())
    with Recorder(tmp_path / "s.wav", SR, buffer_s=0.1) as recorder:
        engine.recorder = recorder
        for _ in range(50):
            recorder.write(np.zeros((1024, 2), dtype=np.float32))
        stats = engine.stats()
        engine.recorder = None
    assert stats.recorder_overflow_frames == recorder.overflow_frames > 0
