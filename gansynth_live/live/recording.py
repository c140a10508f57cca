"""Recording the live output: the whole session (`--record FILE`) and takes (OSC `/record`).

The engine's `Recorder` does the work (the callback copies into a ring, a
writer thread writes the file). The engine feeds one object through
`engine.recorder`, read once per block; when a session recording and a take
run at the same time, that object is a `RecorderTee` handing each block to
both (two ring copies, no allocation). Arming and disarming swap that
reference; before a recorder that was disarmed is closed, this waits until
the callback that may still hold it has finished (`Engine.wait_for_callback`:
the callback counter has moved past the block of the swap, at any block
size), so a block the callback was copying when the reference changed still
lands in the file before it is finalised.

Take file names come from the clock, never from a message: OSC can start a
recording but cannot choose where it goes.

A recording never overwrites a file: a service restarted after a crash with
the same `--record take.wav` must not wipe the take of the performance that
died. The name is claimed by creating it with O_EXCL (which also refuses a
symlink planted there), so two processes cannot pick the same one; if it
exists, `take-2.wav`, `take-3.wav`, ... in the same folder are tried, and the
name used is what `start_session`/`start` return and report.

A recording whose disk fills up stops writing, keeps a valid file up to that
point and says so through `report`; the audio plays on (see `Recorder`). A take
(started over OSC, by anyone the allow list admits) also stops by itself after
`max_take_s` (`serve --max-take-minutes`): one left running must not fill the disk.

Threads: control threads (OSC, main); `RecorderTee.write` is the audio thread's.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..engine import Engine, Recorder
from ..errors import GansynthLiveError

MAX_NUMBERED = 9999  # take-2 .. take-9999, then a clear error
DEFAULT_MAX_TAKE_S = 3600.0  # a take stops by itself after an hour (serve --max-take-minutes)


def claim_new_file(path: Path) -> Path:
    """Create `path`, or the first free `stem-N.suffix` beside it, empty and only for us.

    O_CREAT | O_EXCL is atomic: of two processes asking for one name, one gets
    it and the other the next number; an existing file (or symlink) is never
    opened. The recorder then writes into the empty file this made.
    """
    path = Path(path)
    if path.is_dir():
        raise GansynthLiveError(f"cannot record to '{path}': it is a folder; give a file "
                                "name such as take.wav")
    for n in range(1, MAX_NUMBERED + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        except OSError as exc:
            raise GansynthLiveError(f"cannot record to '{candidate}': "
                                    f"{exc.strerror or exc}") from None
        os.close(fd)
        return candidate
    raise GansynthLiveError(f"cannot record to '{path}': it and {path.stem}-2 .. "
                            f"{path.stem}-{MAX_NUMBERED} all exist")


class RecorderTee:
    """Several recorders fed the same blocks; looks like one Recorder to the engine."""

    def __init__(self, recorders: tuple[Recorder, ...]) -> None:
        self.recorders = recorders

    def write(self, block) -> None:  # audio thread
        for recorder in self.recorders:
            recorder.write(block)

    @property
    def overflow_frames(self) -> int:
        return sum(r.overflow_frames for r in self.recorders)

    @property
    def frames_written(self) -> int:
        return max(r.frames_written for r in self.recorders)

    @property
    def error(self) -> str:
        return "; ".join(r.error for r in self.recorders if r.error)


class LiveRecording:
    """The session recording and the current take of one engine's output."""

    def __init__(self, engine: Engine, folder: Path, subtype: str = "PCM_24",
                 report: Callable[[str], None] | None = None,
                 max_take_s: float = DEFAULT_MAX_TAKE_S) -> None:
        self.engine = engine
        self.folder = Path(folder)
        self.subtype = subtype
        self.max_take_s = float(max_take_s)
        self.report = report  # told (from a recorder's writer thread) when a recording stops early
        self._lock = threading.Lock()
        self._session: Recorder | None = None
        self._take: Recorder | None = None
        self._last_session: Recorder | None = None
        self.last_path: Path | None = None  # the latest take

    @property
    def active(self) -> bool:
        """A take is being recorded."""
        return self._take is not None

    @property
    def session_active(self) -> bool:
        return self._session is not None

    @property
    def session_recorder(self) -> Recorder | None:
        """The session recording's Recorder (its counts stay readable after `stop_all`)."""
        return self._session or self._last_session

    @property
    def seconds(self) -> float:
        """Length of the current take."""
        rec = self._take
        return rec.frames_written / self.engine.sample_rate if rec is not None else 0.0

    def start_session(self, path: Path) -> Path:
        """Record everything from now until `stop_all` into `path`, or into a new numbered
        name beside it if it exists (said through `report`); returns the file used."""
        with self._lock:
            if self._session is None:
                self._session = self._open(Path(path))
                self._arm()
                if self._session.path != Path(path) and self.report is not None:
                    self.report(f"'{path}' exists and is kept; this session records to "
                                f"'{self._session.path}'")
            return self._session.path

    def start(self) -> Path:
        """Start a take: a new time-stamped WAV file in the recordings folder."""
        with self._lock:
            if self._take is not None:
                return self._take.path
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GansynthLiveError(f"cannot create recordings folder "
                                        f"'{self.folder}': {exc}") from None
            self._take = self._open(self._new_name())
            self.last_path = self._take.path
            self._arm()
            return self._take.path

    def stop(self) -> Path | None:
        """Stop the take and finalise its file; returns it (None if no take was running)."""
        with self._lock:
            take, self._take = self._take, None
            if take is None:
                return None
            self._arm()
            self._close(take)
            return take.path

    def stop_if_too_long(self) -> Path | None:
        """Stop the take once it is `max_take_s` long (called by the session's status loop);
        the stopped take's file, or None."""
        if self._take is None or self.seconds < self.max_take_s:
            return None
        path = self.stop()
        if path is not None and self.report is not None:
            self.report(f"take '{path.name}' stopped after {self.max_take_s / 60:g} min "
                        "(--max-take-minutes)")
        return path

    def stop_all(self) -> list[Path]:
        """Stop the take and the session recording (after the stream has stopped)."""
        with self._lock:
            recorders = [r for r in (self._take, self._session) if r is not None]
            self._last_session = self._session or self._last_session
            self._take = self._session = None
            self._arm()
            for recorder in recorders:
                self._close(recorder)
            return [r.path for r in recorders]

    def _open(self, path: Path) -> Recorder:
        """A recorder writing into a newly claimed file: `path` or a numbered name beside it."""
        claimed = claim_new_file(path)
        try:
            return Recorder(claimed, self.engine.sample_rate, 2, subtype=self.subtype,
                            on_error=self.report)
        except BaseException:
            claimed.unlink(missing_ok=True)  # the empty file claimed just now, nothing else
            raise

    def _arm(self) -> None:
        """Point the engine at what should record now (one swap of a reference)."""
        recorders = tuple(r for r in (self._session, self._take) if r is not None)
        if not recorders:
            self.engine.recorder = None
        elif len(recorders) == 1:
            self.engine.recorder = recorders[0]
        else:
            self.engine.recorder = RecorderTee(recorders)

    def _close(self, recorder: Recorder) -> None:
        self.engine.wait_for_callback()  # a block being copied when the reference moved lands first
        recorder.close()

    def _new_name(self) -> Path:
        """The take's name from the clock (`_open` numbers it if that second is taken)."""
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        return self.folder / f"gansynth-live-{stamp}.wav"
