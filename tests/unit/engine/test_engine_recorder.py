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


class _SlowTaker:
    """A stand-in recorder whose `write` (the callback's copy) takes longer than any period."""

    def __init__(self, threading) -> None:
        self.entered = threading.Event()
        self.blocks = 0

    def write(self, block) -> None:
        import time

        self.entered.set()
        time.sleep(0.3)  # far longer than the old fixed 50 ms settle time
        self.blocks += 1


def test_the_hand_off_waits_for_the_callback_in_flight_at_any_block_size():
    import threading
    import time

    engine = Engine(EngineConfig())
    callback = make_callback(engine)
    taker = _SlowTaker(threading)
    engine.recorder = taker
    audio = threading.Thread(target=callback, args=(np.zeros((8192, 2), np.float32), 8192,
                                                    None, None))
    audio.start()
    assert taker.entered.wait(5)
    engine.recorder = None  # the hand-off: the callback in flight still holds `taker`
    started = time.monotonic()
    assert engine.wait_for_callback(timeout_s=5.0)
    assert taker.blocks == 1, "returned before the callback in flight had written its block"
    assert time.monotonic() - started > 0.2
    audio.join()


def test_the_hand_off_does_not_wait_with_no_callback_in_flight_and_times_out_on_a_stall():
    import time

    engine = Engine(EngineConfig())
    started = time.monotonic()
    assert engine.wait_for_callback()
    assert time.monotonic() - started < 1.0  # not a timing target: far under the 2 s timeout
    engine.counters.in_callback = True  # a callback that never finishes: a stalled device
    assert not engine.wait_for_callback(timeout_s=0.05)
