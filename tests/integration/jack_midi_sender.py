"""A JACK client that sends raw MIDI events from its own process callback (tests)."""

from __future__ import annotations

import queue


class RawSender:
    """A JACK client whose MIDI output writes each queued byte string as one event, as
    many a cycle as the port's buffer takes (a JACK MIDI buffer holds a period's worth of
    bytes: about 90 short events at 256 frames); the rest waits for the next cycles."""

    def __init__(self, name: str = "raw-keys") -> None:
        import jack

        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.midi_outports.register("out")
        self.events: queue.Queue[bytes] = queue.Queue()
        self.sent_at: list[int] = []  # JACK frame time of each cycle that began with an event
        self._pending: bytes | None = None  # did not fit in the last cycle's buffer
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        import jack

        self.port.clear_buffer()
        offset = 0
        while offset < frames:
            data = self._pending
            if data is None:
                try:
                    data = self.events.get_nowait()
                except queue.Empty:
                    return
            try:
                self.port.write_midi_event(offset, data)
            except jack.JackError:  # the port's buffer is full this cycle: next cycle
                self._pending = data
                return
            self._pending = None
            if offset == 0:
                self.sent_at.append(self.client.last_frame_time)
            offset += 1

    def send(self, data: bytes) -> None:
        self.events.put(data)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
