"""Recording the live output on demand (`--record`, OSC `/record start|stop`).

The engine's `Recorder` does the work (the callback copies into a ring, a
writer thread writes the file); this module arms it by setting
`engine.recorder`, which the callback reads once per block, and disarms it
the same way. After disarming it waits a little over one callback period
before closing, so a block the callback was copying when the reference
changed still lands in the file before it is finalised.

File names come from the clock, never from a message: OSC can start a
recording but cannot choose where it goes.

Threads: control threads (OSC, main); never the audio callback.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

from ..engine import Engine, Recorder
from ..errors import GansynthLiveError

SETTLE_S = 0.05  # > one callback period at any block size we open


class LiveRecording:
    """Start/stop recording of one engine's output into WAV files."""

    def __init__(self, engine: Engine, folder: Path, subtype: str = "PCM_24") -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.subtype = subtype
        self._lock = threading.Lock()
        self._recorder: Recorder | None = None
        self._started = 0.0
        self.last_path: Path | None = None

    @property
    def active(self) -> bool:
        return self._recorder is not None

    @property
    def seconds(self) -> float:
        rec = self._recorder
        return rec.frames_written / self.engine.sample_rate if rec is not None else 0.0

    def start(self, path: Path | None = None) -> Path:
        """Start recording (to `path`, or a new time-stamped file); returns the file."""
        with self._lock:
            if self._recorder is not None:
                return self._recorder.path
            if path is None:
                try:
                    self.folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise GansynthLiveError(f"cannot create recordings folder "
                                            f"'{self.folder}': {exc}") from None
                path = self._new_name()
            recorder = Recorder(path, self.engine.sample_rate, 2, subtype=self.subtype)
            self._recorder = recorder
            self._started = time.monotonic()
            self.engine.recorder = recorder
            self.last_path = recorder.path
            return recorder.path

    def stop(self) -> Path | None:
        """Stop and finalise the file; returns it (None if nothing was recording)."""
        with self._lock:
            recorder, self._recorder = self._recorder, None
            if recorder is None:
                return None
            if self.engine.recorder is recorder:
                self.engine.recorder = None
            time.sleep(SETTLE_S)
            recorder.close()
            return recorder.path

    def _new_name(self) -> Path:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"gansynth-live-{stamp}.wav"
        n = 1
        while path.exists():
            n += 1
            path = self.folder / f"gansynth-live-{stamp}-{n}.wav"
        return path
