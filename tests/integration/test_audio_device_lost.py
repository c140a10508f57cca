"""The JACK server dies under a playing `serve`: a one-line message, exit 3, recordings kept.

PortAudio's JACK backend cannot stop a stream whose server has gone (it waits
ten minutes for a process callback), so before the watchdog `serve` hung on
exit. Here the server is killed while serve plays a note and records both a
session file and a take, with a JACK MIDI virtual port open on that server.
"""

from __future__ import annotations

import signal
import time

import pytest
import soundfile as sf
from osc_peer import OscPeer
from serve_process import (PrivateJack, read_rest, read_until, serve_env, start_serve,
                           write_serve_config)

pytestmark = [pytest.mark.jack, pytest.mark.slow]


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["killed", "terminated"])
def test_serve_exits_cleanly_when_the_jack_server_dies(tiny_model_dir, tmp_path, how):
    jack = PrivateJack(tmp_path / "jackd.log")
    config = write_serve_config(tmp_path / "live.toml", tiny_model_dir,
                                'corners = ["seed:5", "seed:6"]\n')
    proc = start_serve(["--config", str(config)], serve_env(tmp_path, jack.name), tmp_path)
    lines: list[str] = []
    try:
        port = int(read_until(proc, r"OSC: listening on 127\.0\.0\.1:(\d+)", lines, 150)[1])
        read_until(proc, r"playing; Ctrl-C to stop", lines, 10)
        peer = OscPeer(port)
        peer.send("/record", "start")
        peer.send("/note", 60, 110)
        read_until(proc, r"recording to .*takes", lines, 10)
        time.sleep(1.0)
        peer.close()
        jack.kill(how)
        code = read_rest(proc, lines, 30)
    finally:
        jack.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "\n".join(lines)
    assert code == 3, output
    assert "audio output lost" in output and "Traceback" not in output, output
    assert output.count("recording saved") == 2, output
    session = sf.info(tmp_path / "session.wav")
    assert session.samplerate == 48000 and session.frames > 0.5 * 48000
    audio, _ = sf.read(tmp_path / "session.wav")
    assert len(audio) == session.frames and abs(audio).max() > 1e-3  # the note is in it
    takes = list((tmp_path / "takes").glob("gansynth-live-*.wav"))
    assert len(takes) == 1 and sf.info(takes[0]).frames > 0.5 * 48000
