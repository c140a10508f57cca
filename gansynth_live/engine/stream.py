"""Playing an Engine through PortAudio (python-sounddevice), JACK included.

`AudioStream` opens a float32 stereo `sounddevice.OutputStream` whose
callback is `callback.make_callback(engine)`, counts xruns from PortAudio's
status flags, feeds an optional `Recorder`, and runs a housekeeping thread
that calls `engine.collect()` (frees banks the audio thread let go of)
twice a second when there is something to free.

Python's GIL is the real-time weak spot: the callback runs on PortAudio's
(for JACK, real-time priority) thread but must take the GIL, and if a
normal-priority Python thread holding it is preempted by the OS, the
callback waits. Keep other Python threads of the process mostly asleep or in
GIL-free work (TensorFlow ops, I/O); the engine's own kernels keep the GIL
for the few hundred microseconds they run, on purpose.

Two process-wide settings help the Python callback keep its deadline and are
applied while the stream runs (both can be turned off):
- `sys.setswitchinterval(0.5 ms)`: a thread holding the GIL hands it over
  after at most this long when the callback wants it (default 5 ms: longer
  than a 128-frame period);
- `gc.freeze()`: objects alive at start (TensorFlow's are many) are moved out
  of the garbage collector's reach, so a full collection triggered on the
  audio thread stays short.

sounddevice is imported on `start()`, not at module import: PortAudio lists
host APIs once, when first initialised, so importing it before a JACK server
runs would hide JACK (`rescan_devices()` re-initialises PortAudio).

A device that goes away while playing (the JACK server killed or quitting, a
USB interface unplugged) stops the callbacks. The housekeeping thread is
also a watchdog: a stream that PortAudio no longer reports active although
nobody stopped it, or whose callback has not run for `stall_s` seconds, is
*lost*: `lost` says why and `on_lost` is called once. A lost stream is never
stopped or closed: PortAudio's JACK backend waits ten minutes for a process
callback that will not come (measured: `Pa_StopStream`, `Pa_AbortStream`
and `Pa_CloseStream` all block after the server died), and so would
sounddevice's exit handler. The stream is abandoned instead (kept referenced,
the exit handler unregistered) so the process can still finish its
recordings and exit. Reconnecting is not offered for the same reason: a new
JACK stream needs PortAudio re-initialised, which closes the dead one.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from ..errors import GansynthLiveError
from .rt.callback import make_callback
from .engine import Engine
from .recorder import Recorder


HOUSEKEEPING_S = 0.5  # how often the housekeeping thread frees what the callback let go of
STALL_S = 3.0  # no callback for this long while playing: the device is lost
STOP_TIMEOUT_S = 5.0  # a device that takes longer than this to stop is abandoned

_abandoned: list[Any] = []  # lost streams: never closed, never garbage-collected


class AudioDeviceError(GansynthLiveError):
    """The audio output cannot be opened as asked (device, rate, block size, latency)."""


class AudioDeviceLost(AudioDeviceError):
    """The audio output went away while playing (JACK server stopped, device unplugged)."""


def sounddevice() -> ModuleType:
    try:
        import sounddevice as sd
    except OSError as exc:  # no libportaudio2
        raise AudioDeviceError(f"PortAudio is not available ({exc}); install libportaudio2") \
            from None
    return sd


def rescan_devices() -> None:
    """Re-initialise PortAudio so host APIs started since (a JACK server) are seen.

    Only while no stream is open.
    """
    sd = sounddevice()
    sd._terminate()
    sd._initialize()


def _abandon(stream: Any) -> None:
    """Never touch a dead stream again, not even at exit (PortAudio would wait for it)."""
    import atexit

    _abandoned.append(stream)
    sd = sounddevice()
    exit_handler = getattr(sd, "_exit_handler", None)
    if exit_handler is not None:
        atexit.unregister(exit_handler)


def list_devices() -> str:
    """PortAudio's device list as sounddevice prints it (`python -m sounddevice`)."""
    return str(sounddevice().query_devices())


class AudioStream:
    """An Engine playing through an audio device. Use from a control thread, as a context manager.

    device: a PortAudio device index or a substring of "device name, host API"
        (e.g. "JACK", "pulse", "USB"); None for the default output.
    blocksize: frames per callback (64..1024 typical; 0 lets PortAudio choose).
    latency: "low", "high" or seconds; PortAudio rounds it to what the device allows.
    record: a file to record the output to (format from its suffix).
    on_lost: called once (from the housekeeping thread) with the reason when
        the device goes away while playing; `lost` holds the reason too.
    stall_s: seconds without a callback after which the device counts as lost.
    """

    def __init__(self, engine: Engine, *, device: int | str | None = None,
                 blocksize: int = 256, latency: float | str = "low",
                 record: str | Path | None = None, record_subtype: str | None = None,
                 switch_interval_s: float | None = 0.0005, freeze_gc: bool = True,
                 on_lost: Callable[[str], None] | None = None,
                 stall_s: float = STALL_S) -> None:
        if blocksize != 0 and not 16 <= blocksize <= 8192:
            raise AudioDeviceError(f"block size {blocksize} is out of range: 0 or 16..8192 frames")
        if isinstance(latency, str) and latency not in ("low", "high"):
            raise AudioDeviceError(f"latency {latency!r}: use 'low', 'high' or seconds")
        self.engine = engine
        self.device = device
        self.blocksize = blocksize
        self.latency = latency
        self.record = Path(record) if record is not None else None
        self.record_subtype = record_subtype
        self.switch_interval_s = switch_interval_s
        self.freeze_gc = freeze_gc
        self.on_lost = on_lost
        self.stall_s = float(stall_s)
        self.lost = ""  # why the device stopped playing under us ('' while it plays)
        self._stream: Any = None
        self._recorder: Recorder | None = None
        self.last_recording: Recorder | None = None  # closed; its counts stay readable
        self._housekeeping: threading.Thread | None = None
        self._stop = threading.Event()
        self._old_switch_interval: float | None = None
        self._froze_gc = False

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> "AudioStream":
        """Open the device and start playing the engine. Control thread."""
        sd = sounddevice()
        engine = self.engine
        recorder = None
        if self.record is not None:  # first: a bad path fails before any device is opened
            recorder = Recorder(self.record, engine.sample_rate, 2, subtype=self.record_subtype)
        engine.counters.audio_thread_id = 0  # this stream's callback thread notes itself
        try:
            stream = sd.OutputStream(
                samplerate=engine.sample_rate, blocksize=self.blocksize, device=self.device,
                channels=2, dtype="float32", latency=self.latency,
                callback=make_callback(engine))
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            if recorder is not None:
                recorder.close()
            raise AudioDeviceError(
                f"cannot open audio output {self.device if self.device is not None else '(default)'}"
                f" at {engine.sample_rate} Hz, block {self.blocksize}, latency {self.latency}: "
                f"{exc}. List devices with `python -m sounddevice`.") from None
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
        self._stream = stream
        self.lost = ""
        self._stop.clear()
        self._housekeeping = threading.Thread(target=self._collect_loop, daemon=True,
                                              name="gansynth-live housekeeping")
        self._housekeeping.start()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            self.close()
            raise AudioDeviceError(f"cannot start audio output: {exc}") from None
        return self

    def close(self) -> None:
        """Stop the stream, finish the recording, restore process settings. Idempotent.

        A lost device is abandoned rather than stopped (see the module docstring).
        """
        if self._housekeeping is not None:
            self._stop.set()
            self._housekeeping.join()
            self._housekeeping = None
        stream, self._stream = self._stream, None
        if stream is not None:
            self._stop_device(stream)
        self.stop_recording()
        if self._old_switch_interval is not None:
            sys.setswitchinterval(self._old_switch_interval)
            self._old_switch_interval = None
        if self._froze_gc:
            gc.unfreeze()
            self._froze_gc = False
        self.engine.collect()

    # --- recording while playing (e.g. started and stopped by OSC or MIDI) -------------
    def start_recording(self, path: str | Path, subtype: str | None = None) -> Recorder:
        """Record the output from the next block on. Control thread; the stream must be open."""
        if self._stream is None:
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
        if self._stream is not None and not self.lost:  # a callback may still hold it: let it end
            self.engine.wait_for_callback()
        recorder.close()
        self.last_recording = recorder
        return recorder

    def __enter__(self) -> "AudioStream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

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
            stream = self._stream
            if stream is None or self._stop.is_set():
                continue
            if not stream.active and not stream.stopped:
                self._mark_lost("the audio device stopped playing (the JACK server quit or "
                                "dropped this client, or the device was unplugged)")
            elif now - since >= self.stall_s:
                self._mark_lost(f"no audio callback for {now - since:.1f} s (the device or "
                                "audio server stopped running)")

    def _mark_lost(self, reason: str) -> None:
        self.lost = reason
        if self.on_lost is not None:
            try:
                self.on_lost(reason)
            except Exception:  # noqa: BLE001 - the watchdog must not die with the listener
                pass

    def _stop_device(self, stream: Any) -> None:
        """Stop and close the PortAudio stream, or abandon it if the device is gone."""
        if not self.lost and not stream.active and not stream.stopped:
            self.lost = "the audio device stopped playing"
        if self.lost:
            _abandon(stream)
            return
        failure: list[BaseException] = []

        def stop() -> None:
            try:
                try:
                    stream.stop()
                finally:
                    stream.close()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                failure.append(exc)

        stopper = threading.Thread(target=stop, name="gansynth-live audio stop", daemon=True)
        stopper.start()
        stopper.join(STOP_TIMEOUT_S)
        if stopper.is_alive():  # the device died as we stopped it: PortAudio waits for it
            self.lost = f"the audio device did not stop within {STOP_TIMEOUT_S:g} s"
            _abandon(stream)
            return
        if failure:
            raise failure[0]

    # --- what was opened ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    @property
    def output_latency_s(self) -> float:
        """The output latency PortAudio reports for the open stream."""
        return float(self._stream.latency) if self._stream is not None else 0.0

    def describe(self) -> str:
        """'device name (host API), rate Hz, block N, latency X ms' for the open stream."""
        if self._stream is None:
            return "closed"
        sd = sounddevice()
        info = sd.query_devices(self._stream.device)
        hostapi = sd.query_hostapis(info["hostapi"])["name"]
        block = self._stream.blocksize or "variable"
        return (f"{info['name']} ({hostapi}), {self._stream.samplerate:g} Hz, block {block}, "
                f"latency {1e3 * self.output_latency_s:.1f} ms")
