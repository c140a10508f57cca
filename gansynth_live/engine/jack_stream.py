"""Playing an Engine as a JACK client of its own (JACK-Client), with MIDI read in the callback.

Why besides PortAudio's JACK host API (stream.py): PortAudio has no MIDI, so
serve reads JACK MIDI through RtMidi, a second JACK client polled by a
Python thread, and a note arriving at a cycle's start sounds one period later
than in a synth that reads its MIDI port inside its own process callback
(FluidSynth). Here the engine is that synth: its client has two audio
outputs (`out_1`, `out_2`, connected to the first two physical playback
ports) and the MIDI input ports that inputs/jack_midi.py registers on it, and
one process callback (rt/jack_callback.py) reads the MIDI, renders and writes
the outputs. The MIDI reader thread is gone from the process with it.

The server's rate and period are the stream's: a server at another rate
than the engine's is refused in one line (`--sample-rate` must match, as for
any JACK client). Xruns are JACK's own count (its xrun notification). A server
that shuts down notifies the client: the watchdog (playback.py) then calls the
stream lost, and the client is abandoned, never closed. Both notifications are
counted by compiled callbacks, not Python ones (rt/jack_ports.py says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from .engine import Engine
from .playback import STALL_S, AudioDeviceError, Playback
from .rt.counters import CYCLE_TIME, XRUNS

CLIENT_NAME = "gansynth-live"


def _jack() -> Any:
    try:
        import jack
    except (ImportError, OSError) as exc:  # JACK-Client missing, or no libjack
        raise AudioDeviceError(f"JACK is not available ({exc}); install libjack-jackd2-0 "
                               "and JACK-Client, or play through PortAudio (no --jack)") from None
    return jack


class JackStream(Playback):
    """An Engine playing as the JACK client `client_name`; a context manager.

    connect: connect out_1/out_2 to the first two physical playback ports.
    record, on_lost, stall_s: as for `AudioStream` (playback.py).
    After `start`, `client` is the jack.Client and `midi` the ports' reader
    (rt/jack_midi.CallbackMidi) that inputs/jack_midi.JackMidiInputs fills.
    """

    def __init__(self, engine: Engine, *, client_name: str = CLIENT_NAME,
                 connect: bool = True, record: str | Path | None = None,
                 record_subtype: str | None = None,
                 switch_interval_s: float | None = 0.0005, freeze_gc: bool = True,
                 on_lost: Callable[[str], None] | None = None,
                 stall_s: float = STALL_S) -> None:
        super().__init__(engine, record=record, record_subtype=record_subtype,
                         switch_interval_s=switch_interval_s, freeze_gc=freeze_gc,
                         on_lost=on_lost, stall_s=stall_s)
        self.client_name = client_name
        self.connect = connect
        self.client: Any = None
        self.midi: Any = None
        self.outputs: tuple[Any, Any] | None = None
        self.connected_to: list[str] = []
        self._shutdown_flag = np.zeros(1, dtype=np.int64)  # bumped by JACK's shutdown callback
        self._cycle: Any = None  # rt/jack_callback.JackCycle: what the compiled callback reads

    def _check_available(self) -> None:
        _jack()

    def _open_device(self) -> Any:
        jack = _jack()
        from .rt import jack_ports  # compiles the port functions (about a second), here
        from .rt import jit
        from .rt.jack_callback import MAX_FRAMES, JackCycle
        from .rt.jack_midi import CallbackMidi

        jit.warm_up()  # the compiled note path (rt/midi_notes.py) too, before any callback

        engine = self.engine
        try:
            client = jack.Client(self.client_name, no_start_server=True)
        except jack.JackOpenError as exc:
            raise AudioDeviceError(f"cannot reach a JACK server ({exc}): start one (jackd, "
                                   "qjackctl or pipewire-jack) or play through PortAudio "
                                   "(no --jack)") from None
        try:
            if client.samplerate != engine.sample_rate:
                raise AudioDeviceError(f"the JACK server runs at {client.samplerate} Hz: start "
                                       f"with --sample-rate {client.samplerate}")
            if client.blocksize > MAX_FRAMES:
                raise AudioDeviceError(f"the JACK server's period is {client.blocksize} frames; "
                                       f"at most {MAX_FRAMES} are played")
            left = client.outports.register("out_1")
            right = client.outports.register("out_2")
            self.midi = CallbackMidi(engine.renderer.own_queue)
            engine.counters.ints[CYCLE_TIME] = 0  # a new client: no cycle seen yet
            self._cycle = JackCycle(engine, jack_ports.address(client._ptr),
                                    jack_ports.address(left._ptr),
                                    jack_ports.address(right._ptr), self.midi)
            jack_ports.set_process(jack_ports.address(client._ptr), self._cycle.address,
                                   self._cycle.arg)
            ints = engine.counters.ints  # JACK's xruns bump XRUNS there, in C (jack_ports)
            jack_ports.count_xruns_and_shutdown(
                jack_ports.address(client._ptr), ints.ctypes.data + XRUNS * ints.itemsize,
                self._shutdown_flag.ctypes.data)
        except BaseException as exc:
            client.close()
            if isinstance(exc, jack.JackError):
                raise AudioDeviceError(f"cannot set up the JACK client: {exc}") from None
            raise
        self.client, self.outputs = client, (left, right)
        return client

    def _start_device(self, client: Any) -> None:
        jack = _jack()
        try:
            client.activate()
        except jack.JackError as exc:
            raise AudioDeviceError(f"cannot activate the JACK client: {exc}") from None
        if not self.connect:
            return
        playback = client.get_ports(is_audio=True, is_input=True, is_physical=True)
        for port, target in zip(self.outputs or (), playback[:2]):
            try:
                client.connect(port, target)
                self.connected_to.append(target.name)
            except jack.JackError:  # already connected by a session manager: fine
                pass

    @property
    def _shutdown(self) -> str:
        """Why the server dropped the client ('' while it plays): set by JACK's shutdown
        notification, counted in compiled code (jack_ports.count_xruns_and_shutdown)."""
        if self._shutdown_flag[0]:
            return "the JACK server shut this client down"
        return ""

    def _stopped_by_itself(self, client: Any) -> str:
        return self._shutdown

    def _close_device(self, client: Any) -> None:
        try:
            client.deactivate()
        finally:
            client.close()

    # --- what was opened ----------------------------------------------------------------
    @property
    def active(self) -> bool:
        """Open, and neither shut down by the server nor called lost by the watchdog."""
        return self._device is not None and not self._shutdown and not self.lost

    @property
    def blocksize(self) -> int:
        return int(self.client.blocksize) if self.client is not None else 0

    @property
    def output_latency_s(self) -> float:
        """JACK's playback latency of out_1 (the period the engine fills plus the
        server's own), seconds."""
        if self._device is None or self.outputs is None:
            return 0.0
        from .rt.jack_ports import address, playback_latency_frames

        frames = playback_latency_frames(address(self.outputs[0]._ptr))
        return frames / self.engine.sample_rate

    def describe(self) -> str:
        """'JACK client NAME, rate Hz, block N, latency X ms, out -> ports' when open."""
        client = self.client
        if self._device is None or client is None:
            return "closed"
        to = ", ".join(self.connected_to) or "not connected"
        return (f"JACK client '{client.name}', {client.samplerate} Hz, block {client.blocksize}, "
                f"latency {1e3 * self.output_latency_s:.1f} ms, out_1/out_2 -> {to}")
