"""A second JACK client that records what another client plays (for tests and benchmarks)."""

from __future__ import annotations

import time

import numpy as np


class JackCapture:
    """Records two JACK input ports into a preallocated buffer; counts server xruns.

    Connect it to the ports of the client under test (`connect("PortAudio")`),
    then `start()` to record from the next period on. The process callback
    copies into the buffer (and stops at its end) and, if given a schedule,
    hands each (seconds, event) to `engine.push` when its time comes: from
    JACK's real-time thread, as a JACK MIDI input would, so that no
    normal-priority thread holds the GIL while the audio callback needs it.
    """

    def __init__(self, seconds: float, name: str = "capture") -> None:
        import jack

        from gansynth_live.engine.rt.jack_ports import XrunLog, address

        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.ports = [self.client.inports.register(f"in_{i}") for i in range(2)]
        self.buffer = np.zeros((int(seconds * self.rate), 2), dtype=np.float32)
        self.frames = 0
        self.recording = False
        self.start_frame_time = -1  # JACK frame time of buffer[0]
        self._xruns_before = 0  # the log's count at start()
        self.engine = None
        self.schedule: list = []
        self._next = 0
        self.pushed_late = 0  # events the engine refused (should stay 0)
        self.client.set_process_callback(self._process)
        # counted in C: a Python xrun callback deadlocks beside RtMidi keyboards in this
        # process (gansynth_live/engine/rt/jack_ports.count_xruns_and_shutdown says how)
        self._xrun_log = XrunLog(address(self.client._ptr))
        self._started_at = 0.0  # time.monotonic() at start()
        self.client.activate()

    def _process(self, frames: int) -> None:
        if not self.recording:
            return
        pos = self.frames
        if pos == 0:
            self.start_frame_time = self.client.last_frame_time
        schedule = self.schedule
        now = pos + frames
        while self._next < len(schedule) and schedule[self._next][0] * self.rate < now:
            if not self.engine.push(schedule[self._next][1]):
                self.pushed_late += 1
            self._next += 1
        n = min(frames, self.buffer.shape[0] - pos)
        if n > 0:
            self.buffer[pos:pos + n, 0] = self.ports[0].get_array()[:n]
            self.buffer[pos:pos + n, 1] = self.ports[1].get_array()[:n]
            self.frames = pos + n

    @property
    def xruns(self) -> int:
        """Server xruns since start()."""
        return self._xrun_log.count - self._xruns_before

    @property
    def xrun_frames(self) -> list[int]:
        """Roughly where in the capture each xrun since start() happened (frames)."""
        return [int((t - self._started_at) * self.rate)
                for t in self._xrun_log.times()[self._xruns_before:]]

    def connect(self, client_prefix: str) -> None:
        sources = self.client.get_ports(f"{client_prefix}:.*", is_audio=True, is_output=True)
        if len(sources) < 2:
            raise RuntimeError(f"no output ports of '{client_prefix}' to capture: "
                               f"{[p.name for p in self.client.get_ports()]}")
        for source, port in zip(sources, self.ports):
            self.client.connect(source, port)

    def start(self, engine=None, schedule=()) -> None:
        """Record from the next period; push `schedule` [(seconds, event)] into `engine`."""
        self.frames = 0
        self._xruns_before = self._xrun_log.count
        self._started_at = time.monotonic()
        self.engine = engine
        self.schedule = sorted(schedule, key=lambda item: item[0])
        self._next = 0
        self.recording = True

    def stop(self) -> np.ndarray:
        self.recording = False
        return self.buffer[:self.frames].copy()

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()

    def __enter__(self) -> "JackCapture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
