"""Playing an Engine through PortAudio (python-sounddevice), JACK included.

`AudioStream` opens a float32 stereo `sounddevice.OutputStream` whose
callback is `callback.make_callback(engine)` and counts xruns from PortAudio's
status flags; recording, the housekeeping thread, its watchdog and the
process-wide settings are `Playback`'s (playback.py). `serve --jack` plays
through JACK without PortAudio instead (jack_stream.py), with MIDI read inside
the process callback.

Python's GIL is the real-time weak spot: the callback runs on PortAudio's
(for JACK, real-time priority) thread but must take the GIL, and if a
normal-priority Python thread holding it is preempted by the OS, the
callback waits. Keep other Python threads of the process mostly asleep or in
GIL-free work (TensorFlow ops, I/O); the engine's own kernels keep the GIL
for the few hundred microseconds they run, on purpose.

sounddevice is imported on `start()`, not at module import: PortAudio lists
host APIs once, when first initialised, so importing it before a JACK server
runs would hide JACK (`rescan_devices()` re-initialises PortAudio).

A device that goes away while playing (the JACK server killed or quitting, a
USB interface unplugged) stops the callbacks, and the watchdog calls it lost.
A lost stream is never stopped or closed: PortAudio's JACK backend waits ten
minutes for a process callback that will not come (measured: `Pa_StopStream`,
`Pa_AbortStream` and `Pa_CloseStream` all block after the server died), and
so would sounddevice's exit handler. The stream is abandoned instead (kept
referenced, the exit handler unregistered) so the process can still finish
its recordings and exit. Reconnecting is not offered for the same reason: a
new JACK stream needs PortAudio re-initialised, which closes the dead one.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from .engine import Engine
from .playback import STALL_S, AudioDeviceError, AudioDeviceLost, Playback
from .rt.callback import make_callback

__all__ = ["AudioDeviceError", "AudioDeviceLost", "AudioStream", "list_devices",
           "rescan_devices", "sounddevice"]


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


def list_devices() -> str:
    """PortAudio's device list as sounddevice prints it (`python -m sounddevice`)."""
    return str(sounddevice().query_devices())


class AudioStream(Playback):
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
        super().__init__(engine, record=record, record_subtype=record_subtype,
                         switch_interval_s=switch_interval_s, freeze_gc=freeze_gc,
                         on_lost=on_lost, stall_s=stall_s)
        self.device = device
        self.blocksize = blocksize
        self.latency = latency

    def _check_available(self) -> None:
        sounddevice()

    def _open_device(self) -> Any:
        sd = sounddevice()
        engine = self.engine
        try:
            return sd.OutputStream(
                samplerate=engine.sample_rate, blocksize=self.blocksize, device=self.device,
                channels=2, dtype="float32", latency=self.latency,
                callback=make_callback(engine))
        except (sd.PortAudioError, ValueError, TypeError) as exc:
            raise AudioDeviceError(
                f"cannot open audio output {self.device if self.device is not None else '(default)'}"
                f" at {engine.sample_rate} Hz, block {self.blocksize}, latency {self.latency}: "
                f"{exc}. List devices with `python -m sounddevice`.") from None

    def _start_device(self, stream: Any) -> None:
        sd = sounddevice()
        try:
            stream.start()
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"cannot start audio output: {exc}") from None

    def _stopped_by_itself(self, stream: Any) -> str:
        if not stream.active and not stream.stopped:
            return ("the audio device stopped playing (the JACK server quit or dropped this "
                    "client, or the device was unplugged)")
        return ""

    def _close_device(self, stream: Any) -> None:
        try:
            stream.stop()
        finally:
            stream.close()

    def _abandon(self, stream: Any) -> None:
        """Never touch a dead stream again, not even at exit (PortAudio would wait for it)."""
        import atexit

        super()._abandon(stream)
        exit_handler = getattr(sounddevice(), "_exit_handler", None)
        if exit_handler is not None:
            atexit.unregister(exit_handler)

    # --- what was opened ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._device is not None and bool(self._device.active)

    @property
    def output_latency_s(self) -> float:
        """The output latency PortAudio reports for the open stream."""
        return float(self._device.latency) if self._device is not None else 0.0

    def describe(self) -> str:
        """'device name (host API), rate Hz, block N, latency X ms' for the open stream."""
        stream = self._device
        if stream is None:
            return "closed"
        sd = sounddevice()
        info = sd.query_devices(stream.device)
        hostapi = sd.query_hostapis(info["hostapi"])["name"]
        block = stream.blocksize or "variable"
        return (f"{info['name']} ({hostapi}), {stream.samplerate:g} Hz, block {block}, "
                f"latency {1e3 * self.output_latency_s:.1f} ms")
