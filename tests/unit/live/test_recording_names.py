"""A recording never overwrites a file (issue 15, item 6): `--record FILE` and OSC takes.

A service restarted after a crash with the same `--record take.wav` used to
truncate the take of the performance that died. Now the name is claimed with
O_EXCL: an existing file is kept and the recording goes to `take-2.wav`, ...,
and the name used is reported.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import soundfile as sf
from pythonosc.osc_message_builder import OscMessageBuilder

from gansynth_live.live import recording as recording_module
from gansynth_live.live.recording import LiveRecording
from gansynth_live.errors import GansynthLiveError

ROOT = Path(__file__).resolve().parents[3]
PRECIOUS = b"RIFF the take of the performance that died"


def fake_engine():
    return SimpleNamespace(sample_rate=48000, recorder=None,
                           wait_for_callback=lambda timeout_s=2.0: True)  # no callback runs


def test_session_recording_keeps_an_existing_file(tmp_path):
    take = tmp_path / "take.wav"
    take.write_bytes(PRECIOUS)
    messages: list[str] = []
    live = LiveRecording(fake_engine(), tmp_path / "rec", report=messages.append)
    used = live.start_session(take)
    assert used == tmp_path / "take-2.wav"
    assert live.stop_all() == [used]
    assert take.read_bytes() == PRECIOUS  # not truncated
    assert sf.info(str(used)).samplerate == 48000
    assert messages == [f"'{take}' exists and is kept; this session records to '{used}'"]
    again = LiveRecording(fake_engine(), tmp_path / "rec")  # the next restart
    assert again.start_session(take) == tmp_path / "take-3.wav"
    again.stop_all()
    assert take.read_bytes() == PRECIOUS


def test_a_symlink_or_folder_at_the_name_is_never_written_through(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_bytes(b"keep")
    (tmp_path / "take.wav").symlink_to(target)
    assert recording_module.claim_new_file(tmp_path / "take.wav") == tmp_path / "take-2.wav"
    assert target.read_bytes() == b"keep"
    (tmp_path / "dir.wav").mkdir()
    with pytest.raises(GansynthLiveError, match="is a folder"):
        recording_module.claim_new_file(tmp_path / "dir.wav")
    with pytest.raises(GansynthLiveError, match="cannot record"):
        recording_module.claim_new_file(tmp_path / "missing" / "take.wav")


def test_a_recording_that_cannot_start_leaves_no_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise GansynthLiveError("the disk is full")

    monkeypatch.setattr(recording_module, "Recorder", refuse)
    live = LiveRecording(fake_engine(), tmp_path)
    with pytest.raises(GansynthLiveError, match="disk is full"):
        live.start_session(tmp_path / "take.wav")
    assert list(tmp_path.iterdir()) == []


CLAIMER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from gansynth_live.live.recording import claim_new_file
    start = float(sys.argv[2])
    while time.time() < start:
        pass
    for _ in range(5):
        print(claim_new_file(Path(sys.argv[1])), flush=True)
""")


def test_processes_claiming_one_name_each_get_their_own(tmp_path):
    start = time.time() + 1.5  # all children released at once
    procs = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(tmp_path / "take.wav"),
                               str(start)], stdout=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
             for _ in range(4)]
    names = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        names += out.split()
    assert len(names) == 20 and len(set(names)) == 20
    assert {Path(n).name for n in names} == {"take.wav"} | {f"take-{i}.wav" for i in range(2, 21)}


class FrozenClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2024, 5, 17, 21, 30, 0)


def test_osc_record_start_never_overwrites_a_take(make_instrument, tmp_path, monkeypatch):
    from gansynth_live.inputs.osc import OscServer

    monkeypatch.setattr(recording_module, "datetime", FrozenClock)  # every take: one second
    folder = tmp_path / "rec"
    folder.mkdir()
    first = folder / "gansynth-live-20240517-213000.wav"
    first.write_bytes(PRECIOUS)
    outside = tmp_path / "outside.wav"  # a dangling link: exists() is False, open() follows it
    (folder / "gansynth-live-20240517-213000-2.wav").symlink_to(outside)
    messages: list[str] = []
    instrument = make_instrument("fund", messages=messages)
    server = OscServer(instrument, "127.0.0.1", 0, report=messages.append).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for step, arg in enumerate(("start", "stop", "start", "stop")):
            builder = OscMessageBuilder("/record")
            builder.add_arg(arg)
            sock.sendto(builder.build().dgram, ("127.0.0.1", server.port))
            deadline = time.monotonic() + 10  # until the handler has said it is done
            while len([m for m in messages if m.startswith("recording")]) <= step \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
    finally:
        sock.close()
        server.close()
    assert server.stats().handler_errors == 0
    assert first.read_bytes() == PRECIOUS and not outside.exists()
    takes = sorted(p.name for p in folder.iterdir() if not p.is_symlink())
    assert takes == ["gansynth-live-20240517-213000-3.wav", "gansynth-live-20240517-213000-4.wav",
                     "gansynth-live-20240517-213000.wav"]
    assert f"recording to {folder / 'gansynth-live-20240517-213000-3.wav'}" in messages
    assert f"recording saved: {folder / 'gansynth-live-20240517-213000-4.wav'}" in messages
