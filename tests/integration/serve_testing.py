"""Helpers for the serve integration tests: a session over the tone model, OSC and MIDI peers."""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: tone_model

from tone_model import tone_source, write_tone_presets  # noqa: E402

from gansynth_live.live.config import ServeConfig  # noqa: E402
from gansynth_live.live.session import Session  # noqa: E402
from gansynth_live.live.status import Console  # noqa: E402

RATE = 48000


def open_session(tmp_path: Path, **overrides: Any) -> tuple[Session, io.StringIO]:
    """A live session (JACK audio) over the tone model, with presets fund, oct and duo."""
    presets = tmp_path / "presets"
    if not presets.exists():
        write_tone_presets(presets)
    settings: dict[str, Any] = dict(
        preset="duo", morph=[0.0, 0.0], presets_dir=presets, no_cache=True, wait="all",
        midi_api="jack", midi_in=["none"], osc_port=0, record_dir=tmp_path / "rec",
        blocksize=256, feedback_rate=50.0)
    settings.update(overrides)
    out = io.StringIO()
    source, build = tone_source()
    session = Session(ServeConfig(**settings), Console(out, tty=False), source=source,
                      settings=build, model_name="tones")
    return session.open(), out


def output_client(session: Session) -> str:
    """The JACK client whose outputs play the session: PortAudio's, or with --jack its own."""
    return session.stream.client.name if session.config.jack else "PortAudio"


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


class MidiSender:
    """A JACK MIDI output port of another client (a keyboard or a DAW)."""

    def __init__(self, client: str = "test-keys", port: str = "out") -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
        self.out.open_virtual_port(port)
        self.name = f"{client}:{port}"

    def send(self, *data: int) -> None:
        self.out.send_message(list(data))

    def send_paced(self, chunks: list[list[list[int]]], per_second: float = 100.0) -> int:
        """Send each chunk of messages at its time on the clock (a flood at a steady
        rate, not as fast as the port takes it); the number of messages sent."""
        sent = 0
        start = time.monotonic()
        for i, chunk in enumerate(chunks):
            time.sleep(max(0.0, start + i / per_second - time.monotonic()))
            for message in chunk:
                self.send(*message)
            sent += len(chunk)
        return sent

    def connect_to(self, destination: str) -> None:
        import jack

        client = jack.Client("test-patchbay", no_start_server=True)
        try:
            client.connect(self.name, destination)
        finally:
            client.close()

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()
