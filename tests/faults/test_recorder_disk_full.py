"""A full disk while recording: the file is closed valid up to that point, the failure reported.

Each case runs a child process (tests/faults/recorder_child.py) that records a known
signal through the engine's Recorder while its file size limit (RLIMIT_FSIZE, SIGXFSZ
ignored so write() fails with EFBIG) or a 3 MB tmpfs runs out. The audio-thread side
of the recorder keeps taking blocks throughout (the dropped ones are counted).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recorder_child import BLOCK, RATE, source  # noqa: E402

CHILD = Path(__file__).resolve().parent / "recorder_child.py"


def record(out: Path, limit: int, subtype: str, kind: str, *extra: str,
           prefix: list[str] | None = None) -> dict:
    result = subprocess.run([*(prefix or []), sys.executable, str(CHILD), str(out), str(limit),
                             subtype, kind, *extra], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_counts_and_report(report: dict) -> None:
    assert len(report["errors"]) == 1 and report["errors"][0] == report["error"]
    assert report["frames_written"] > RATE  # more than a second made it
    total = report["blocks"] * BLOCK
    assert report["frames_written"] + report["overflow_frames"] == total  # nothing unaccounted


def check_content(path: Path, kind: str, at_least: int) -> np.ndarray:
    """The file decodes completely (length as its header says) and holds the signal sent."""
    info = sf.info(path)
    audio, rate = sf.read(path, dtype="float32")
    assert rate == RATE and len(audio) == info.frames >= at_least
    sent = source(kind, 2000)[:len(audio)]
    tolerance = 1e-4 if info.subtype == "PCM_16" else 1e-6
    assert np.abs(audio - sent).max() < tolerance
    return audio


@pytest.mark.parametrize("suffix, subtype, kind, limit", [
    (".wav", "PCM_24", "sine", 2_000_000), (".flac", "PCM_16", "noise", 1_500_000)])
def test_file_size_limit_stops_the_recording_with_a_valid_file(tmp_path, suffix, subtype, kind,
                                                             limit):
    out = tmp_path / f"take{suffix}"
    report = record(out, limit, subtype, kind)
    assert "the disk is full" in report["error"] and "complete up to there" in report["error"]
    check_counts_and_report(report)
    assert out.stat().st_size <= limit
    check_content(out, kind, report["frames_written"])


def riff_sizes(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    riff = struct.unpack("<I", data[4:8])[0]
    offset = 12
    while data[offset:offset + 4] != b"data":
        offset += 8 + struct.unpack("<I", data[offset + 4:offset + 8])[0]
    return len(data), riff + 8, offset + 8 + struct.unpack("<I", data[offset + 4:offset + 8])[0]


def test_a_write_that_fails_leaves_a_wav_trimmed_to_whole_frames(tmp_path):
    """Space gone between the check and the write: the failed write's partial frame is cut."""
    out = tmp_path / "take.wav"
    report = record(out, 1_000_003, "PCM_24", "sine", "--no-room-check")
    assert "writing failed" in report["error"]
    check_counts_and_report(report)
    file_size, riff_end, data_end = riff_sizes(out)
    assert file_size == riff_end == data_end  # header, RIFF size and data agree
    check_content(out, "sine", report["frames_written"])


def test_a_full_tmpfs_stops_the_recording_with_a_valid_file(tmp_path):
    """A real ENOSPC: a 3 MB tmpfs mounted in a private mount namespace (unshare)."""
    unshare = shutil.which("unshare")
    mount = tmp_path / "small"
    mount.mkdir()
    prefix = None
    for flags in (["-rm"], ["-m"]):  # as an unprivileged user namespace, else as root
        probe = subprocess.run([unshare or "unshare", *flags, "true"], capture_output=True)
        if unshare and probe.returncode == 0:
            prefix = [unshare, *flags, "sh", "-c",
                      f'mount -t tmpfs -o size=3m tmpfs "{mount}" && exec "$0" "$@"']
            break
    if prefix is None:
        pytest.skip("no private mount namespace here (unshare); the RLIMIT_FSIZE cases above "
                    "cover the same code")
    result = subprocess.run([*prefix, sys.executable, str(CHILD), str(mount / "take.wav"), "0",
                             "PCM_24", "sine", "--copy-to", str(tmp_path / "take.wav")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "the disk is full" in report["error"]
    check_counts_and_report(report)
    check_content(tmp_path / "take.wav", "sine", report["frames_written"])
