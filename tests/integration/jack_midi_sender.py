"""A JACK client that sends raw MIDI events from its own process callback (tests)."""

from __future__ import annotations

import queue


class RawSender:
    """A JACK client whose MIDI output writes each queued byte string as one event."""

    def __init__(self, name: str = "raw-keys") -> None:
        import jack

        self.client = jack.Client(name, no_start_server=True)
        self.port = self.client.midi_outports.register("out")
        self.events: queue.Queue[bytes] = queue.Queue()
        self.sent_at: list[int] = []  # JACK frame time of each cycle that began with an event
        self.client.set_process_callback(self._process)
        self.client.activate()

    def _process(self, frames: int) -> None:
        self.port.clear_buffer()
        offset = 0
        while offset < frames:
            try:
                data = self.events.get_nowait()
            except queue.Empty:
                return
            self.port.write_midi_event(offset, data)
            if offset == 0:
                self.sent_at.append(self.client.last_frame_time)
            offset += 1

    def send(self, data: bytes) -> None:
        self.events.put(data)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()
