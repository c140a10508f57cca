"""Recording the live output: the callback copies into a ring, a writer thread writes the file.

The callback side (`write`) is a bounded copy into a preallocated ring and
two integer updates, one compiled loop that allocates nothing (`ring_write`):
it never waits for the disk. The writer thread drains
the ring every 20 ms with soundfile (libsndfile releases the GIL while
writing). The ring holds `buffer_s` seconds (default 20), so a disk that
stalls for less than that loses nothing; beyond it the blocks that do not fit
are dropped and counted in `overflow_frames` (shown in engine stats), and
the file stays valid.

A full disk must not cost the recording made so far. Before each write the
writer checks the room left (free space on the file's disk, and the
process's file size limit, RLIMIT_FSIZE): it writes what fits while keeping
`reserve_bytes` free, enough to finalise the file (a FLAC encoder flushes
its last block and rewrites its header then), and stops there, closing the
file valid with everything recorded up to that point. If the disk fills
between two checks (another program writing) and a write fails, the file is
closed at once; a WAV's partly written last frame is trimmed so its header
and data agree; a FLAC then keeps every complete frame, with its length
marked unknown (as the FLAC format allows), which players and libsndfile
still read. Either way `error` says what happened, `on_error` is called
once, and the audio thread goes on playing: later blocks are counted as
dropped.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import GansynthLiveError
from .rt.jit import njit, on_warm_up

RESERVE_BYTES = 256 * 1024  # kept free to finalise the file
MIN_START_S = 1.0  # a recording needs room for at least this much audio to start
_BYTES_PER_SAMPLE = {"PCM_S8": 1, "PCM_U8": 1, "PCM_16": 2, "PCM_24": 3, "PCM_32": 4,
                     "FLOAT": 4, "DOUBLE": 8}


# Recorder._counts: frames into the ring and frames refused (the audio thread's), frames
# read from it (the writer's), and 1 once the recording stopped early (refuse more);
# numbers, so JACK's compiled callback (rt/jack_callback.py) writes a ring with no Python
W_WRITTEN, W_OVERFLOW, W_READ, W_STOPPED = range(4)


@njit
def ring_write(ring, block, counts):
    """The audio thread's side of Recorder.write as one loop: no views, no int objects."""
    frames = block.shape[0]
    if frames == 0:
        return
    capacity = ring.shape[0]
    written = counts[W_WRITTEN]
    if counts[W_STOPPED] != 0 or capacity - (written - counts[W_READ]) < frames:
        counts[W_OVERFLOW] += frames
        return
    i = written % capacity
    for f in range(frames):
        for c in range(block.shape[1]):
            ring[i, c] = block[f, c]
        i += 1
        if i == capacity:
            i = 0
    counts[W_WRITTEN] = written + frames


@on_warm_up
def _warm_up() -> None:
    ring_write(np.zeros((8, 2), dtype=np.float32), np.zeros((2, 2), dtype=np.float32),
               np.zeros(4, dtype=np.int64))


class RecorderError(GansynthLiveError):
    """The recording file cannot be created."""


def room_bytes(path: Path) -> int:
    """Bytes `path` may still grow by: free disk space, and the file size limit (RLIMIT_FSIZE)."""
    room = []
    try:
        stat = os.statvfs(path.parent)
        room.append(stat.f_bavail * stat.f_frsize)
    except (OSError, AttributeError):  # no statvfs (Windows): no limit known
        pass
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if limit != resource.RLIM_INFINITY:
            room.append(limit - (path.stat().st_size if path.exists() else 0))
    except (ImportError, OSError, ValueError):
        pass
    return min(room) if room else 1 << 62


def trim_wav_to_whole_frames(path: Path) -> bool:
    """Cut a RIFF WAV after its data chunk's last whole frame (a failed write leaves part of one).

    libsndfile sizes the data chunk in whole frames when it closes a file, but
    bytes of a partly written frame stay behind it. Returns True if it trimmed.
    """
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        size = os.fstat(fh.fileno()).st_size
        offset = 12
        while offset + 8 <= size:
            fh.seek(offset)
            chunk_id, chunk_size = struct.unpack("<4sI", fh.read(8))
            if chunk_id == b"data":
                end = offset + 8 + chunk_size
                if end >= size:
                    return False
                fh.truncate(end)
                fh.seek(4)
                fh.write(struct.pack("<I", end - 8))
                return True
            offset += 8 + chunk_size + (chunk_size & 1)
    return False


class Recorder:
    """Writes blocks handed over by the audio thread to a sound file from its own thread.

    Create and `close` it from a control thread; `write` is for the audio
    thread only. Use as a context manager or call `close()`: it drains the
    ring and finalises the file. `on_error(text)` is called once, from the
    writer thread, if the recording had to stop early (disk full, write error).
    """

    def __init__(self, path: str | Path, sample_rate: int, channels: int = 2,
                 buffer_s: float = 20.0, subtype: str | None = None,
                 on_error: Callable[[str], None] | None = None,
                 reserve_bytes: int = RESERVE_BYTES) -> None:
        import soundfile as sf

        self.path = Path(path)
        frame_bytes = channels * _BYTES_PER_SAMPLE.get(subtype or "PCM_16", 4)
        needed = int(reserve_bytes) + int(MIN_START_S * sample_rate * frame_bytes)
        room = room_bytes(self.path)
        if room < needed:
            raise RecorderError(f"cannot record to '{self.path}': the disk is full "
                                f"({room / 1e6:.1f} MB left)")
        try:
            self._file = sf.SoundFile(str(self.path), mode="w", samplerate=int(sample_rate),
                                      channels=channels, subtype=subtype)
        except (OSError, RuntimeError, ValueError, TypeError) as exc:
            raise RecorderError(f"cannot record to '{self.path}': {exc}") from None
        self.sample_rate = int(sample_rate)
        self.format = self._file.format
        self._frame_bytes = channels * _BYTES_PER_SAMPLE.get(self._file.subtype, 4)
        self.reserve_bytes = int(reserve_bytes)
        self.on_error = on_error
        _warm_up()  # compiled here, not in the first callback
        capacity = max(int(buffer_s * sample_rate), 4096)
        self._ring = np.zeros((capacity, channels), dtype=np.float32)
        self._ring.fill(0.0)  # touch every page now, not in the audio callback
        self._capacity = capacity
        self._counts = np.zeros(4, dtype=np.int64)  # W_WRITTEN, W_OVERFLOW, W_READ, W_STOPPED
        self._finished = False  # writer thread: the file is closed
        self.frames_written = 0
        self.error = ""
        self._write_failed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gansynth-live recorder",
                                        daemon=True)
        self._thread.start()

    @property
    def _written(self) -> int:
        """Frames the audio thread has put into the ring (the writer reads it)."""
        return int(self._counts[W_WRITTEN])

    @property
    def _read(self) -> int:
        """Frames the writer thread has taken from the ring (it alone writes this)."""
        return int(self._counts[W_READ])

    @property
    def parts(self) -> tuple[np.ndarray, np.ndarray]:
        """(ring, counts): what a compiled caller of `ring_write` needs."""
        return self._ring, self._counts

    @property
    def recorders(self) -> tuple["Recorder"]:
        """This one (a RecorderTee has several): what the audio thread writes."""
        return (self,)

    @property
    def _overflow(self) -> int:
        return int(self._counts[W_OVERFLOW])

    # --- audio thread -------------------------------------------------------------------
    def write(self, block: np.ndarray) -> None:
        """Copy a block into the ring; drop and count it if the ring is full. Never blocks."""
        ring_write(self._ring, block, self._counts)

    @property
    def overflow_frames(self) -> int:
        """Frames that did not reach the file: refused by a full ring, or left when it stopped."""
        unwritten = self._written - self._read if self._finished else 0
        return self._overflow + unwritten

    # --- writer thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                stopping = self._stop.is_set()
                if not self._drain() and (stopping or self.error):
                    break
                if not stopping:
                    time.sleep(0.02)
        finally:
            self._finish()

    def _drain(self) -> bool:
        """Write what the ring holds (as much as the disk takes); True if anything was written."""
        available = self._written - self._read
        if available <= 0 or self.error:
            return False
        i = self._read % self._capacity
        n = min(available, self._capacity - i)
        fit = (room_bytes(self.path) - self.reserve_bytes) // self._frame_bytes
        if fit < n:
            n = max(int(fit), 0)
            self._stop_early(f"the disk is full (or the file size limit reached) after "
                             f"{self._clock(self.frames_written + n)} of recording; the file "
                             f"is complete up to there")
        if n <= 0:
            return False
        try:
            self._file.write(self._ring[i:i + n])
        except Exception as exc:  # noqa: BLE001 - disk full etc.: report, keep the gig going
            self._write_failed = True
            full = room_bytes(self.path) < self.reserve_bytes
            self._stop_early(f"writing failed after {self._clock(self.frames_written)}"
                             f"{' (the disk is full)' if full else ''}: "
                             f"{type(exc).__name__}: {exc}; the file is kept up to there")
            return False
        self._counts[W_READ] += n
        self.frames_written += n
        return True

    def _stop_early(self, text: str) -> None:
        if self.error:
            return
        self.error = f"recording '{self.path}' stopped: {text}"
        self._counts[W_STOPPED] = 1
        if self.on_error is not None:
            try:
                self.on_error(self.error)
            except Exception:  # noqa: BLE001 - a listener must not keep the file open
                pass

    def _finish(self) -> None:
        """Close the file (this thread wrote it); after a failed write, make the file agree."""
        self._finished = True
        try:
            self._file.close()
        except Exception as exc:  # noqa: BLE001
            self._stop_early(f"closing the file failed: {type(exc).__name__}: {exc}")
        if self._write_failed and self.format == "WAV":
            try:
                trim_wav_to_whole_frames(self.path)
            except OSError:
                pass

    def _clock(self, frames: int) -> str:
        minutes, seconds = divmod(frames / self.sample_rate, 60.0)
        return f"{int(minutes)}:{seconds:04.1f}"

    # --- control thread -----------------------------------------------------------------
    def close(self) -> None:
        """Write everything still in the ring, then close the file."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
