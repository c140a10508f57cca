"""Child process for the disk-full tests: records a known signal under a file size limit.

    python recorder_child.py OUT LIMIT_BYTES SUBTYPE SIGNAL [--no-room-check] [--copy-to PATH]

LIMIT_BYTES 0 leaves RLIMIT_FSIZE alone (a small tmpfs is the limit then).
SIGNAL is "sine" or "noise" (noise keeps FLAC from compressing much). Blocks
are handed over at about 8x real time. Prints one JSON line with the
recorder's counts and the messages its on_error callback got. `--copy-to`
copies the finished file out (of a tmpfs mounted in a private namespace).
"""

from __future__ import annotations

import json
import resource
import signal
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from gansynth_live.engine import recorder as recorder_module  # noqa: E402

RATE = 48000
BLOCK = 256


def source(kind: str, blocks: int) -> np.ndarray:
    frames = blocks * BLOCK
    if kind == "sine":
        t = np.arange(frames) / RATE
        mono = 0.5 * np.sin(2 * np.pi * 440.0 * t)
        return np.stack([mono, -mono], axis=1).astype(np.float32)
    return np.random.default_rng(1).uniform(-0.5, 0.5, (frames, 2)).astype(np.float32)


def main() -> None:
    out, limit, subtype, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if "--no-room-check" in sys.argv:  # make the write itself fail, as when space vanishes
        recorder_module.room_bytes = lambda path: 1 << 62
    if limit:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(
            resource.RLIMIT_FSIZE)[1]))
    errors: list[str] = []
    blocks = 2000  # 10.7 s
    audio = source(kind, blocks)
    recorder = recorder_module.Recorder(out, RATE, 2, subtype=subtype, on_error=errors.append)
    longest_write_s = 0.0
    for i in range(blocks):
        started = time.perf_counter()
        recorder.write(audio[i * BLOCK:(i + 1) * BLOCK])
        longest_write_s = max(longest_write_s, time.perf_counter() - started)
        if i % 32 == 31:
            time.sleep(BLOCK * 32 / RATE / 8)
    recorder.close()
    if "--copy-to" in sys.argv:
        import shutil

        shutil.copyfile(out, sys.argv[sys.argv.index("--copy-to") + 1])
    print(json.dumps({"frames_written": recorder.frames_written,
                      "overflow_frames": recorder.overflow_frames, "error": recorder.error,
                      "errors": errors, "blocks": blocks, "longest_write_s": longest_write_s}))


if __name__ == "__main__":
    main()
