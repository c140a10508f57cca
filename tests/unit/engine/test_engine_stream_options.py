"""AudioStream validates its options before touching any device."""

import pytest

from gansynth_live.engine import AudioDeviceError, AudioStream, Engine, EngineConfig


@pytest.mark.parametrize("options, match", [
    (dict(blocksize=8), "block size"),
    (dict(blocksize=100000), "block size"),
    (dict(latency="lowest"), "latency"),
])
def test_bad_options_are_named(options, match):
    with pytest.raises(AudioDeviceError, match=match):
        AudioStream(Engine(EngineConfig()), **options)


def test_recording_needs_an_open_stream(tmp_path):
    stream = AudioStream(Engine(EngineConfig()))
    with pytest.raises(AudioDeviceError, match="start the audio stream"):
        stream.start_recording(tmp_path / "x.wav")
    assert stream.stop_recording() is None
