"""The engine through PortAudio's JACK host API, captured by a second JACK client."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from jack_capture import JackCapture
from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import AudioStream, Engine, EngineConfig
from gansynth_live.engine.measure import first_sound_frame, fundamental_hz, max_jump, rms
from gansynth_live.engine.synthetic import synthetic_bank, tone_frequency
from gansynth_live.events import AllSoundOff, NoteOff, NoteOn

pytestmark = pytest.mark.jack

RATE = 48000
BLOCK = 256


@pytest.fixture(scope="module")
def bank():
    return synthetic_bank(range(36, 85), RATE)


def play(engine, schedule, seconds, record=None):
    """Play `schedule` [(seconds, event)] live; return the capture and the xruns during it.

    The capture client pushes the events from JACK's real-time thread; this
    thread only sleeps while it plays. Xruns are counted from the start to the
    end of the capture, both by PortAudio (the engine's count) and by JACK (the
    capture client's): opening clients and connecting ports reorders JACK's
    graph, which may cost an xrun before the run itself begins.
    """
    with JackCapture(seconds + 1.0) as capture, \
            AudioStream(engine, blocksize=BLOCK, record=record):
        capture.connect("PortAudio")
        time.sleep(0.2)  # let the graph settle after the connections
        before = engine.stats().xruns
        capture.start(engine, schedule)
        time.sleep(seconds)
        capture.recording = False
        xruns = {"portaudio": engine.stats().xruns - before, "jack": capture.xruns,
                 "jack_at_frames": list(capture.xrun_frames)}
        assert capture.pushed_late == 0
    return capture.stop(), xruns


def test_notes_come_out_at_their_pitch(jack_server, bank):
    engine = Engine(EngineConfig(sustain=1.0, release_s=0.05))
    engine.set_layers(BankLayers.single(bank))
    pitches = [45, 57, 69]
    schedule = []
    for i, pitch in enumerate(pitches):
        schedule += [(0.2 + 0.8 * i, NoteOn(pitch, 100)), (0.9 + 0.8 * i, NoteOff(pitch))]
    audio, _ = play(engine, schedule, 2.8)
    for i, pitch in enumerate(pitches):
        start = int((0.2 + 0.8 * i + 0.35) * RATE)  # past the onset and decay, inside the loop
        segment = audio[start:start + int(0.25 * RATE)]
        assert rms(segment) > 0.01
        assert fundamental_hz(segment, RATE) == pytest.approx(tone_frequency(pitch, RATE), rel=1e-3)
    stats = engine.stats()
    assert stats.notes_started == 3 and stats.callback_errors == 0


def test_no_clicks_at_voice_start_steal_and_end_and_the_recording_matches(jack_server, bank,
                                                                         tmp_path):
    polyphony = 3
    engine = Engine(EngineConfig(polyphony=polyphony, attack_s=0.002, release_s=0.1))
    engine.set_layers(BankLayers.single(bank))
    schedule = [(0.1 + 0.07 * i, NoteOn(40 + 2 * i, 110)) for i in range(9)]  # 6 steals
    schedule += [(0.9, NoteOff(40 + 2 * i)) for i in range(9)]  # ends by release
    schedule += [(1.2, NoteOn(48, 110)), (1.2, NoteOn(55, 110)), (1.5, AllSoundOff())]  # and fade
    record = tmp_path / "live.wav"
    audio, _ = play(engine, schedule, 1.9, record=record)
    stats = engine.stats()
    assert stats.voices_stolen == 6 and stats.voices_active == 0
    assert rms(audio) > 0.01

    # A click-free voice moves at most by the note's own steepest step plus an
    # envelope ramp (2 ms attack, 5 ms steal fade) at full level; a hard start
    # or cut of these cosine-phase notes jumps by up to the note's full level.
    gain = 0.5 * np.sqrt(0.5) * (110 / 127) ** 2
    note = bank.samples.astype(np.float64)
    own_step = np.abs(np.diff(note)).max()
    peak = np.abs(note).max()
    per_voice = gain * (1.5 * own_step + peak / (0.002 * RATE))
    jump = max_jump(audio)
    assert jump <= polyphony * per_voice
    assert jump < gain * peak / 2  # what a single unramped start or cut could jump

    recorded, rate = sf.read(record, dtype="float32")
    assert rate == RATE and stats.recorder_overflow_frames == 0
    # the capture started after the stream: align both on the first note
    lag = first_sound_frame(recorded) - first_sound_frame(audio)
    assert lag >= 0
    aligned = recorded[lag:lag + len(audio)]
    n = min(len(aligned), len(audio))
    assert n > RATE and np.abs(aligned[:n] - audio[:n]).max() < 1e-4


def _steal_ms() -> float:
    """CPU time the hypervisor took from this machine so far (Linux /proc/stat), in ms."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
        return 10.0 * float(fields[8])  # USER_HZ = 100
    except (OSError, IndexError, ValueError):
        return float("nan")


def soak_schedule(seconds, rng):
    """Keep 32 notes sounding: every 250 ms, 8 notes end and 8 others start."""
    schedule, sounding = [], []
    for step in range(int(seconds / 0.25) - 2):
        at = 0.1 + 0.25 * step
        while len(sounding) > 24:
            schedule.append((at, NoteOff(sounding.pop(0))))
        while len(sounding) < 32:
            pitch = int(rng.integers(36, 85))
            if pitch not in sounding:
                sounding.append(pitch)
                schedule.append((at, NoteOn(pitch, int(rng.integers(60, 127)))))
    schedule += [(seconds - 0.3, NoteOff(p)) for p in sounding]
    return schedule


@pytest.mark.slow
def test_32_voices_for_20_seconds_at_256_frames_keep_within_the_period(jack_server, bank):
    """20 s of 32 voices: every callback ends inside its period, and no gap in the output.

    What the engine controls is its own callback time; JACK's xrun count on
    this shared VM also counts the hypervisor's stalls of the whole machine
    (steal), which hit an empty callback as well. So the xrun target lives in
    `bench/soak.py`, beside an empty-callback reference measured in the same
    run (the guide: speed targets in benchmarks, not timed tests); this test
    prints the xruns and fails on what the engine does: a callback over its
    period (the engine's own `overruns` and maximum), a silent period while
    32 voices sound, a refused note or an error. Up to three attempts, since a
    steal of a whole period also stretches one callback.
    """
    seconds = 20.0
    period_ms = 1e3 * BLOCK / RATE
    attempts = []
    for attempt in range(3):
        engine = Engine(EngineConfig(polyphony=64, release_s=0.2))
        engine.set_layers(BankLayers.single(bank))
        schedule = soak_schedule(seconds, np.random.default_rng(7))
        steal_before = _steal_ms()
        audio, xruns = play(engine, schedule, seconds)
        stats = engine.stats()
        assert stats.callback_errors == 0 and stats.notes_refused == 0
        assert stats.notes_started >= 32 + 8 * 70
        # the output never drops out while notes sound: no silent period in the middle
        body = audio[int(0.5 * RATE):int((seconds - 0.5) * RATE), 0]
        periods = body[: len(body) // BLOCK * BLOCK].reshape(-1, BLOCK)
        assert np.abs(periods).max(axis=1).min() > 0.01
        attempts.append(dict(xruns, overruns=stats.overruns,
                             callback_avg_ms=round(stats.callback_avg_ms, 3),
                             callback_max_ms=round(stats.callback_max_ms, 3),
                             steal_ms=_steal_ms() - steal_before))
        print(f"\nattempt {attempt + 1}: {attempts[-1]} (period {period_ms:.2f} ms)")
        if stats.overruns == 0 and stats.callback_max_ms < period_ms:
            return
    pytest.fail(f"a callback over its period in every attempt: {attempts}")


def test_recording_starts_and_stops_while_playing(jack_server, bank, tmp_path):
    engine = Engine(EngineConfig(sustain=1.0))
    engine.set_layers(BankLayers.single(bank))
    with AudioStream(engine, blocksize=BLOCK) as stream:
        engine.push(NoteOn(57, 100))
        time.sleep(0.3)
        recorder = stream.start_recording(tmp_path / "take.wav")
        time.sleep(0.6)
        assert stream.stop_recording() is recorder
        engine.push(NoteOff(57))
    take, rate = sf.read(tmp_path / "take.wav", dtype="float32")
    assert recorder.overflow_frames == 0 and recorder.error == ""
    assert rate == RATE and 0.3 * RATE < len(take) == recorder.frames_written
    assert fundamental_hz(take, RATE) == pytest.approx(tone_frequency(57, RATE), rel=1e-3)
    assert max_jump(take) < 0.05  # a steady note, no glitch where the recording began
