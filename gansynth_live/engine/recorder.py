"""Recording the live output: the callback copies into a ring, a writer thread writes the file.

The callback side (`write`) is a bounded copy into a preallocated ring and
two integer updates: it never waits for the disk. The writer thread drains
the ring every 20 ms with soundfile (libsndfile releases the GIL while
writing). The ring holds `buffer_s` seconds (default 20), so a disk that
stalls for less than that loses nothing; beyond it the blocks that do not fit
are dropped and counted in `overflow_frames` (shown in engine stats), and
the file stays valid.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from ..errors import GansynthLiveError


class RecorderError(GansynthLiveError):
    """The recording file cannot be created."""


class Recorder:
    """Writes blocks handed over by the audio thread to a sound file from its own thread.

    Create and `close` it from a control thread; `write` is for the audio
    thread only. Use as a context manager or call `close()`: it drains the
    ring and finalises the file.
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int = 2,
                 buffer_s: float = 20.0, subtype: str | None = None) -> None:
        import soundfile as sf

        self.path = Path(path)
        try:
            self._file = sf.SoundFile(str(self.path), mode="w", samplerate=int(sample_rate),
                                      channels=channels, subtype=subtype)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise RecorderError(f"cannot record to '{self.path}': {exc}") from None
        capacity = max(int(buffer_s * sample_rate), 4096)
        self._ring = np.zeros((capacity, channels), dtype=np.float32)
        self._ring.fill(0.0)  # touch every page now, not in the audio callback
        self._capacity = capacity
        self._written = 0  # audio thread
        self._read = 0  # writer thread
        self.overflow_frames = 0
        self.frames_written = 0
        self.error = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gansynth-live recorder",
                                        daemon=True)
        self._thread.start()

    # --- audio thread -------------------------------------------------------------------
    def write(self, block: np.ndarray) -> None:
        """Copy a block into the ring; drop and count it if the ring is full. Never blocks."""
        frames = block.shape[0]
        written = self._written
        if frames == 0:
            return
        if self._capacity - (written - self._read) < frames or self.error:
            self.overflow_frames += frames
            return
        i = written % self._capacity
        first = min(frames, self._capacity - i)
        self._ring[i:i + first] = block[:first]
        if first < frames:
            self._ring[:frames - first] = block[first:]
        self._written = written + frames

    # --- writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            stopping = self._stop.is_set()
            if not self._drain() and stopping:
                break
            if not stopping:
                time.sleep(0.02)

    def _drain(self) -> bool:
        """Write what the ring holds; True if anything was written."""
        available = self._written - self._read
        if available <= 0 or self.error:
            return False
        i = self._read % self._capacity
        n = min(available, self._capacity - i)
        try:
            self._file.write(self._ring[i:i + n])
        except Exception as exc:  # noqa: BLE001 - disk full etc.: report, keep the gig going
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        self._read += n
        self.frames_written += n
        return True

    # --- control thread -----------------------------------------------------------------
    def close(self) -> None:
        """Write everything still in the ring, then close the file."""
        self._stop.set()
        self._thread.join()
        self._file.close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
