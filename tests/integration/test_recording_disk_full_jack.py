"""The disk fills while the engine plays and records: the sound does not stop, the file is valid.

The player (tests/integration/disk_full_player.py) runs in a process of its own with a
1 MB file size limit (about 2.5 s of 24-bit stereo at 48 kHz), holding a note
through JACK for 5 s; this process captures its output from another JACK client.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from jack_capture import JackCapture

pytestmark = pytest.mark.jack

PLAYER = Path(__file__).resolve().parent / "disk_full_player.py"
SECONDS = 5.0
BLOCK = 256


def test_audio_keeps_playing_when_the_recording_disk_fills(jack_server, tmp_path):
    out = tmp_path / "take.wav"
    player = subprocess.Popen([sys.executable, str(PLAYER), str(out), "1000000", str(SECONDS)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, JACK_DEFAULT_SERVER=jack_server))
    try:
        assert player.stdout.readline().strip() == "playing"
        with JackCapture(SECONDS + 2.0, name="disk-full-capture") as capture:
            capture.connect("PortAudio-[0-9]+")  # the player's (this process has "PortAudio")
            capture.start()
            player.stdin.write("go\n")
            player.stdin.flush()
            report = json.loads(player.stdout.readline())
            audio = capture.stop()
        assert player.wait(30) == 0
    finally:
        if player.poll() is None:
            player.kill()
            player.wait()
    samples = report["samples"]
    # the recording stopped on a full disk while the engine kept rendering
    assert "the disk is full" in report["error"]
    failed_at = next(i for i, s in enumerate(samples) if s["recorder_error"])
    assert failed_at < len(samples) - 4  # at least a second of playing after the failure
    assert samples[-1]["frames"] - samples[failed_at]["frames"] > 0.8 * 48000
    assert all(s["callback_errors"] == 0 for s in samples)
    # what came out of JACK: the held note, with no silent block from its start to the end
    levels = np.sqrt((audio[:len(audio) // BLOCK * BLOCK, 0].reshape(-1, BLOCK) ** 2).mean(1))
    start = int(np.argmax(levels > 1e-3))
    held = levels[start + 4:start + int(SECONDS * 48000 / BLOCK) - 8]
    assert len(held) > 3.5 * 48000 / BLOCK and held.min() > 0.2 * np.median(held)
    # the file holds everything up to the failure and is valid
    info = sf.info(out)
    recorded, rate = sf.read(out, dtype="float32")
    assert rate == 48000 and len(recorded) == info.frames == report["frames_written"]
    assert out.stat().st_size <= 1_000_000 and info.frames > 1.5 * 48000
    assert np.abs(recorded[-BLOCK:]).max() > 1e-3  # the note is still in the last block kept
