"""A private JACK server with the dummy driver, a client counting its xruns, and the
reference run (an empty Python callback alone on the server).

Threads: JackMonitor's xrun callback is compiled C on libjack's notification thread
(rt/jack_ports.XrunLog): it counts and notes the time, with no Python.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np

from .machine import TICKS, cpu_times, process_cpu_s


class Alongside:
    """The empty callback on a second JACK server of its own, in a process of its own,
    while the soak plays, with a keyboard playing into a MIDI input on that server (the
    same clients as the engine's graph, MidiPair): what the same seconds of this machine
    do to any Python JACK client (item 7's reference that sees the same machine). Its
    figures: `result()`."""

    def __init__(self, rate: int, period: int, seconds: float, folder: Path,
                 host: str = "portaudio") -> None:
        import sys

        self.server = JackServer(rate, period, folder / "jackd-alongside.log")
        bench = Path(__file__).resolve().parent.parent
        env = dict(os.environ, JACK_DEFAULT_SERVER=self.server.name,
                   PYTHONPATH=os.pathsep.join([str(bench.parent), str(bench)]))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "soaklib.jack_server", str(seconds), self.server.name,
             str(period / rate), host],
            stdout=subprocess.PIPE, text=True, env=env)

    def result(self) -> dict:
        import json

        try:
            out, _ = self.proc.communicate(timeout=60)
            return json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.server.stop()


class JackServer:
    """`jackd -d dummy` (realtime, priority 70) under a name from the tests' pool
    (tests/integration/jack_process.py: a crashed run's entry in JACK's server table is
    reused), stopped at the end; it dies with this process."""

    def __init__(self, rate: int, period: int, log: Path) -> None:
        from jack_process import start_dummy_server

        self.name, self.proc = start_dummy_server(log, rate, period)

    def stop(self) -> None:
        from jack_process import stop

        stop(self.proc, timeout=10.0)


class JackMonitor:
    """A JACK client that counts the server's xruns (and when they happened)."""

    def __init__(self, server: str | None = None) -> None:
        import jack

        from gansynth_live.engine.rt.jack_ports import XrunLog, address

        self.client = jack.Client("soak-monitor", no_start_server=True, servername=server)
        # counted in C: a Python xrun callback deadlocks beside RtMidi in this process
        # (gansynth_live/engine/rt/jack_ports.count_xruns_and_shutdown says how)
        self._log = XrunLog(address(self.client._ptr))
        self.client.activate()

    @property
    def xruns(self) -> int:
        return self._log.count

    @property
    def times(self) -> list[float]:
        """time.monotonic() at each xrun."""
        return self._log.times()

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def late_figures(late: np.ndarray, period_s: float) -> dict[str, float]:
    """Lateness (seconds, as `reference_run` or Counters.start_lateness_s give it) as the
    soak prints it: p50, p99 and max in ms, and the starts later than half a period."""
    if late.size == 0:
        return {"late_p50_ms": 0.0, "late_p99_ms": 0.0, "late_max_ms": 0.0,
                "late_over_half_period": 0}
    p50, p99, worst = (1e3 * float(np.percentile(late, q)) for q in (50, 99, 100))
    return {"late_p50_ms": p50, "late_p99_ms": p99, "late_max_ms": worst,
            "late_over_half_period": int(np.count_nonzero(late > 0.5 * period_s))}


class MidiPair:
    """The MIDI half of the engine's JACK graph, for the reference: the soak's keyboard
    (a RtMidi JACK output playing the same kind of part) into a RtMidi JACK input read by
    a thread that polls every millisecond, as serve's MIDI input does. With it the empty
    callback's server carries the same clients as the engine's, and its process a MIDI
    reader thread as serve's has (the keyboard's thread runs there too, where in the soak
    the keyboard is a process of its own)."""

    def __init__(self, client) -> None:
        import threading

        import rtmidi

        from .performers import Keyboard

        self.stop = threading.Event()
        self.keys = Keyboard(32, 7, self.stop)
        self.input = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="ref-midi-in")
        self.input.ignore_types(sysex=True, timing=True, active_sense=True)
        self.input.open_virtual_port("in")
        client.connect(self.keys.port, "ref-midi-in:in")
        self.received = 0
        self.reader = threading.Thread(target=self._read, name="ref midi reader", daemon=True)
        self.keys.start()
        self.reader.start()

    def _read(self) -> None:
        while not self.stop.is_set():
            while self.input.get_message() is not None:
                self.received += 1
            time.sleep(0.001)

    def close(self) -> None:
        self.stop.set()
        self.keys.join()
        self.reader.join()
        self.keys.close()
        self.input.close_port()
        self.input.delete()


class EmptyJackClient:
    """The reference for `serve --jack`: a JACK client of its own whose Python process
    callback reads a MIDI input port (compiled, as the engine's does: rt/jack_ports.py),
    counts the events and writes zeros to two outputs; the soak's keyboard plays into it.
    `underflows` is the server's xruns as this client's xrun callback counts them (what
    the engine counts with --jack)."""

    def __init__(self, starts: np.ndarray, midi: bool) -> None:
        import threading

        import jack

        from gansynth_live.engine.rt import jack_ports as ports
        from gansynth_live.engine.rt.counters import INT_NAMES, STARTS_NOTED

        self.client = jack.Client("ref-jack", no_start_server=True)
        outs = [self.client.outports.register(f"out_{i}") for i in (1, 2)]
        port = self.client.midi_inports.register("in")
        addresses = np.array([ports.address(port._ptr)], dtype=np.uint64)
        event, event_address = ports.event_struct()
        data = np.zeros((2048, ports.EVENT_BYTES), dtype=np.uint8)
        meta = np.zeros((2048, 4), dtype=np.int64)
        ring = np.zeros(5, dtype=np.int64)
        lost = np.zeros((1, 16, ports.LOST_PANIC + 1), dtype=np.uint8)
        zeros = np.zeros((8192, 2), dtype=np.float32)
        client, left, right = (ports.address(x._ptr) for x in (self.client, *outs))
        ints = np.zeros(len(INT_NAMES), dtype=np.int64)  # as the engine's Counters.ints
        self.starts_noted = STARTS_NOTED
        self.received = 0
        self.starts, self.ints = starts, ints
        rate = float(self.client.samplerate)

        def process(frames: int) -> None:
            if ints[STARTS_NOTED] < starts.size:
                ports.note_cycle_start(starts, ints, client, rate, frames)
            self.received += ports.read_midi(addresses, 1, frames, event, event_address, data,
                                             meta, ring, lost)
            ring[ports.RING_HEAD] = ring[ports.RING_TAIL]  # counted, not translated
            ports.write_stereo(left, right, zeros, frames)

        self.client.set_process_callback(process)
        # counted in C, as the engine's: a Python xrun callback deadlocks beside RtMidi's
        # keyboard in this process (rt/jack_ports.count_xruns_and_shutdown says how)
        self._counts = np.zeros(2, dtype=np.int64)  # xruns, shutdown
        ports.count_xruns_and_shutdown(client, self._counts.ctypes.data,
                                       self._counts.ctypes.data + 8)
        self.client.activate()
        self.stop = threading.Event()
        self.keys = None
        if midi:
            from .performers import Keyboard

            self.keys = Keyboard(32, 7, self.stop)
            self.client.connect(self.keys.port, port)
            self.keys.start()

    @property
    def underflows(self) -> int:
        return int(self._counts[0])

    @property
    def noted(self) -> int:
        return int(self.ints[self.starts_noted])

    def close(self) -> None:
        self.stop.set()
        if self.keys is not None:
            self.keys.join()
            self.keys.close()
        self.client.deactivate()
        self.client.close()


def reference_run(seconds: float, server: str | None = None, midi: bool = False,
                  host: str = "portaudio") -> tuple[int, float, float, np.ndarray, int]:
    """JACK xruns while a Python callback that only writes zeros plays alone; others' CPU %
    and steal % meanwhile; how late each callback started (seconds, as the engine's
    Counters.start_lateness_s); the blocks PortAudio flagged as underflows (what the
    engine's own xrun count is, so the two compare like with like). The floor this
    machine's load sets for any Python JACK client. `midi`: with a MidiPair beside it.
    `host` "jack": the callback is `EmptyJackClient`'s (serve --jack's reference)."""
    from gansynth_live.engine.rt.counters import start_lateness

    if host == "jack":
        return _jack_reference_run(seconds, server, midi)
    import sounddevice as sd

    starts = np.zeros(int(seconds * 48000 / 64) + 4096)  # room for 64-frame periods
    noted = [0]
    underflows = [0]

    def callback(outdata, frames, time_info, status) -> None:
        entered = time.perf_counter()
        if status.output_underflow:
            underflows[0] += 1
        if noted[0] < starts.size:
            starts[noted[0]] = entered - time_info.currentTime
            noted[0] += 1
        outdata.fill(0.0)

    monitor = JackMonitor(server)
    pair = None
    try:
        pair = MidiPair(monitor.client) if midi else None
        with sd.OutputStream(samplerate=None, blocksize=0, channels=2, dtype="float32",
                             callback=callback):
            return _measure(seconds, monitor, lambda: underflows[0],
                            lambda: start_lateness(starts[:noted[0]]))
    finally:
        if pair is not None:
            pair.close()
        monitor.close()


def _jack_reference_run(seconds: float, server: str | None, midi: bool
                        ) -> tuple[int, float, float, np.ndarray, int]:
    from gansynth_live.engine.rt.counters import start_lateness

    starts = np.zeros(int(seconds * 48000 / 64) + 4096)
    monitor = JackMonitor(server)
    reference = None
    try:
        reference = client = EmptyJackClient(starts, midi)
        return _measure(seconds, monitor, lambda: client.underflows,
                        lambda: start_lateness(starts[:client.noted]))
    finally:
        if reference is not None:
            reference.close()
        monitor.close()


def _measure(seconds: float, monitor: JackMonitor, underflows: Callable[[], int],
             lateness: Callable[[], np.ndarray]) -> tuple[int, float, float, np.ndarray, int]:
    """`reference_run`'s figures for a reference that plays now: half a second to
    settle, then `seconds` counted."""
    steal0, busy0, total0 = cpu_times()
    cpu0, t0 = process_cpu_s(), time.monotonic()
    time.sleep(0.5)
    xruns0, underflows0 = monitor.xruns, underflows()
    time.sleep(seconds)
    xruns, underflows_run = monitor.xruns - xruns0, underflows() - underflows0
    steal1, busy1, total1 = cpu_times()
    wall = time.monotonic() - t0
    others = max(0.0, 100.0 * ((busy1 - busy0) / TICKS - (process_cpu_s() - cpu0)) / wall)
    return (xruns, others, 100.0 * (steal1 - steal0) / max(total1 - total0, 1), lateness(),
            underflows_run)


def main() -> int:
    """`python -m soaklib.jack_server SECONDS SERVER PERIOD_S [HOST]`: the reference on
    SERVER (HOST portaudio, the default, or jack), its figures as one JSON line."""
    import json
    import sys

    import faulthandler

    seconds, server, period_s = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    host = sys.argv[4] if len(sys.argv) > 4 else "portaudio"
    faulthandler.dump_traceback_later(seconds + 45, exit=True)  # a hang says where, then ends
    xruns, _, steal, late, underflows = reference_run(seconds, server, midi=True, host=host)
    print(json.dumps({"xruns": xruns, "portaudio_xruns": underflows, "steal_pct": steal,
                      **late_figures(late, period_s)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
