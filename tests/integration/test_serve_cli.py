"""`gansynth-live serve` as a user runs it: the tiny checkpoint, a TOML config, OSC, SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import soundfile as sf
from osc_peer import OscPeer
from serve_process import ROOT, read_until, serve_env, start_serve, write_serve_config

pytestmark = [pytest.mark.jack, pytest.mark.slow]


@pytest.mark.parametrize("host", [[], ["--jack"]], ids=["portaudio", "jack"])
def test_serve_with_the_tiny_model_until_ctrl_c(jack_server, tiny_model_dir, tmp_path, host):
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "tiny one.toml").write_text('seed = 5\ngain_db = -6.0\n'
                                           '[envelope]\nrelease_s = 0.1\n')
    config = write_serve_config(tmp_path / "live.toml", tiny_model_dir,
                                'preset = "tiny one"\npresets_dir = "presets"\n')
    proc = start_serve(["--config", str(config), "--volume", "0.6", *host],
                       serve_env(tmp_path), tmp_path)
    lines: list[str] = []
    try:
        port = int(read_until(proc, r"OSC: listening on 127\.0\.0\.1:(\d+)", lines, 150)[1])
        read_until(proc, r"playing; Ctrl-C to stop", lines, 10)
        if host:  # played by its own JACK client, not PortAudio's (a line may begin with
            # the end of the bank progress bar, which tqdm erases with '\r', not a newline)
            assert any("audio: JACK client 'gansynth-live'" in line for line in lines), lines
        peer = OscPeer(port)
        state = peer.state()
        assert state["/preset/name"] == ["tiny one"] and state["/bank/progress"] == [1.0]
        assert state["/volume"] == [pytest.approx(0.6)]
        assert state["/envelope/release"] == [pytest.approx(0.1)]
        peer.send("/record", "start")
        peer.send("/note", 60, 110)
        time.sleep(0.6)
        assert peer.state()["/status/voices"] == [1]
        peer.send("/note", 60, 0)
        peer.send("/record", "stop")
        time.sleep(0.3)
        peer.send("/note", 64, 100)  # left sounding: Ctrl-C must end it cleanly
        time.sleep(0.2)
        peer.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        read_until(proc, r"^stopped$", lines, 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = "\n".join(lines)
    assert output.count("recording saved") == 2 and "Traceback" not in output
    session_audio, rate = sf.read(tmp_path / "session.wav")
    assert rate == 48000 and len(session_audio) > rate and abs(session_audio).max() > 1e-3
    assert abs(session_audio[-2400:]).max() < 1e-4  # it ended in silence, not cut mid-note
    takes = list((tmp_path / "takes").glob("gansynth-live-*.wav"))
    assert len(takes) == 1 and sf.info(takes[0]).frames > 0.5 * rate
    assert sf.info(takes[0]).frames < len(session_audio) - rate  # a part of the session


def test_list_devices(jack_server):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "gansynth_live", "serve", "--list-devices"],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "JACK Audio Connection Kit" in result.stdout
    assert "MIDI inputs (JACK):" in result.stdout
    assert "MIDI inputs (ALSA):" in result.stdout or "MIDI (ALSA): unavailable" in result.stdout


def test_config_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("osc_prot = 1\n")
    result = subprocess.run([sys.executable, "-m", "gansynth_live", "serve", "--config",
                             str(bad)], env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "unknown key(s) osc_prot" in result.stderr and result.stderr.count("\n") == 1
