"""What every live output of the engine shares, whoever drives the callback.

`Playback` is the part of a live stream that does not depend on the host
API: a recording while playing (started at open or later, finished once no
callback holds it), two process-wide settings that help a Python callback keep
its deadline, and a housekeeping thread. `AudioStream` (PortAudio,
stream.py) and `JackStream` (the engine as a JACK client of its own,
jack_stream.py) fill in opening, starting and stopping the device.

The process-wide settings, applied while playing (both can be turned off):
- `sys.setswitchinterval(0.5 ms)`: a thread holding the GIL hands it over
  after at most this long when the callback wants it (default 5 ms: longer
  than a 128-frame period);
- `gc.freeze()`: objects alive at start (TensorFlow's are many) are moved out
  of the garbage collector's reach, so a full collection triggered on the
  audio thread stays short.

The housekeeping thread calls `engine.collect()` (frees banks the audio
thread let go of) twice a second when there is something to free, and is the
watchdog: a device that stopped by itself although nobody stopped it, or whose
callback has not run for `stall_s` seconds, is *lost*: `lost` says why and
`on_lost` is called once. A lost device is never stopped or closed (a dead
JACK server can make the host API wait for minutes); `_abandon` keeps it.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..errors import GansynthLiveError
from .engine import Engine
from .recorder import Recorder

HOUSEKEEPING_S = 0.5  # how often the housekeeping thread frees what the callback let go of
STALL_S = 3.0  # no callback for this long while playing: the device is lost
STOP_TIMEOUT_S = 5.0  # a device that takes longer than this to stop is abandoned


class AudioDeviceError(GansynthLiveError):
    """The audio output cannot be opened as asked (device, rate, block size, latency)."""


class AudioDeviceLost(AudioDeviceError):
    """The audio output went away while playing (JACK server stopped, device unplugged)."""


class Playback:
    """An Engine playing live; subclasses open the device. Control thread, context manager."""

    def __init__(self, engine: Engine, *, record: str | Path | None = None,
                 record_subtype: str | None = None,
                 switch_interval_s: float | None = 0.0005, freeze_gc: bool = True,
                 on_lost: Callable[[str], None] | None = None,
                 stall_s: float = STALL_S) -> None:
        self.engine = engine
        self.record = Path(record) if record is not None else None
        self.record_subtype = record_subtype
        self.switch_interval_s = switch_interval_s
        self.freeze_gc = freeze_gc
        self.on_lost = on_lost
        self.stall_s = float(stall_s)
        self.lost = ""  # why the device stopped playing under us ('' while it plays)
        self._device: Any = None  # the open stream or client
        self._recorder: Recorder | None = None
        self.last_recording: Recorder | None = None  # closed; its counts stay readable
        self._housekeeping: threading.Thread | None = None
        self._stop = threading.Event()
        self._old_switch_interval: float | None = None
        self._froze_gc = False

    # --- what a device fills in --------------------------------------------------------
    def _check_available(self) -> None:
        """Raise AudioDeviceError (one line) if the host API's library is missing: before
        a recording file is opened."""

    def _open_device(self) -> Any:
        """Open (not start) the device; raise AudioDeviceError with one line."""
        raise NotImplementedError

    def _start_device(self, device: Any) -> None:
        """Start the callbacks; raise AudioDeviceError with one line."""
        raise NotImplementedError

    def _stopped_by_itself(self, device: Any) -> str:
        """Why the device stopped although nobody stopped it ('' while it plays)."""
        raise NotImplementedError

    def _close_device(self, device: Any) -> None:
        """Stop and close a device that still answers (may block; run with a timeout)."""
        raise NotImplementedError

    def _abandon(self, device: Any) -> None:
        """Keep a dead device referenced and never touch it again."""
        _abandoned.append(device)

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> "Playback":
        """Open the device and start playing the engine. Control thread."""
        engine = self.engine
        self._check_available()
        recorder = None
        if self.record is not None:  # a bad path fails before any device is opened
            recorder = Recorder(self.record, engine.sample_rate, 2, subtype=self.record_subtype)
        engine.counters.audio_thread_id = 0  # this stream's callback thread notes itself
        try:
            device = self._open_device()
        except BaseException:
            if recorder is not None:
                recorder.close()
            raise
        if recorder is not None:
            self._recorder = recorder
            engine.recorder = recorder
        if self.switch_interval_s is not None:
            self._old_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._old_switch_interval, self.switch_interval_s))
        if self.freeze_gc:
            gc.collect()
            gc.freeze()
            self._froze_gc = True
        self._device = device
        self.lost = ""
        self._stop.clear()
        self._housekeeping = threading.Thread(target=self._collect_loop, daemon=True,
                                              name="gansynth-live housekeeping")
        self._housekeeping.start()
        try:
            self._start_device(device)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the device, finish the recording, restore process settings. Idempotent.

        A lost device is abandoned rather than stopped (see the module docstring).
        """
        if self._housekeeping is not None:
            self._stop.set()
            self._housekeeping.join()
            self._housekeeping = None
        device, self._device = self._device, None
        if device is not None:
            self._stop_device(device)
        self.stop_recording()
        if self._old_switch_interval is not None:
            sys.setswitchinterval(self._old_switch_interval)
            self._old_switch_interval = None
        if self._froze_gc:
            gc.unfreeze()
            self._froze_gc = False
        self.engine.collect()

    def __enter__(self) -> "Playback":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recording while playing (e.g. started and stopped by OSC or MIDI) -------------
    def start_recording(self, path: str | Path, subtype: str | None = None) -> Recorder:
        """Record the output from the next block on. Control thread; the stream must be open."""
        if self._device is None:
            raise AudioDeviceError("start the audio stream before recording")
        if self._recorder is not None:
            raise AudioDeviceError(f"already recording to '{self._recorder.path}'")
        self._recorder = Recorder(path, self.engine.sample_rate, 2, subtype=subtype)
        self.engine.recorder = self._recorder  # the callback picks it up by reference
        return self._recorder

    def stop_recording(self) -> Recorder | None:
        """Finish the recording (writes what is buffered, closes the file). Control thread."""
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return None
        self.engine.recorder = None
        if self._device is not None and not self.lost:  # a callback may still hold it
            self.engine.wait_for_callback()
        recorder.close()
        self.last_recording = recorder
        return recorder

    # --- housekeeping thread ----------------------------------------------------------
    def _collect_loop(self) -> None:
        # Rarely: every wake-up takes the GIL, and a normal-priority thread that
        # the OS preempts while holding it delays the real-time callback (measured:
        # waking every 50 ms caused xruns on a loaded 2-core machine).
        counters = self.engine.counters
        seen, since = counters.callbacks, time.monotonic()
        while not self._stop.wait(HOUSEKEEPING_S):
            if self.engine.needs_collect():
                self.engine.collect()
            if self.lost:
                continue
            now = time.monotonic()
            if counters.callbacks != seen:
                seen, since = counters.callbacks, now
            device = self._device
            if device is None or self._stop.is_set():
                continue
            why = self._stopped_by_itself(device)
            if why:
                self._mark_lost(why)
            elif now - since >= self.stall_s:
                self._mark_lost(f"no audio callback for {now - since:.1f} s (the device or "
                                "audio server stopped running)")

    def _mark_lost(self, reason: str) -> None:
        if self.lost:
            return
        self.lost = reason
        if self.on_lost is not None:
            try:
                self.on_lost(reason)
            except Exception:  # noqa: BLE001 - the watchdog must not die with the listener
                pass

    def _stop_device(self, device: Any) -> None:
        """Stop and close the device, or abandon it if it is gone or will not stop."""
        if not self.lost:
            why = self._stopped_by_itself(device)
            if why:
                self.lost = why
        if self.lost:
            self._abandon(device)
            return
        failure: list[BaseException] = []

        def stop() -> None:
            try:
                self._close_device(device)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                failure.append(exc)

        stopper = threading.Thread(target=stop, name="gansynth-live audio stop", daemon=True)
        stopper.start()
        stopper.join(STOP_TIMEOUT_S)
        if stopper.is_alive():  # the device died as we stopped it: the host API waits
            self.lost = f"the audio device did not stop within {STOP_TIMEOUT_S:g} s"
            self._abandon(device)
            return
        if failure:
            raise failure[0]


_abandoned: list[Any] = []  # lost devices: never closed, never garbage-collected
