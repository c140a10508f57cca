"""Helpers for the serve integration tests: a session over the tone model, OSC and MIDI peers."""

from __future__ import annotations

import io
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: tone_model

from tone_model import tone_source, write_tone_presets  # noqa: E402

from gansynth_live.app.config import ServeConfig  # noqa: E402
from gansynth_live.app.session import Session  # noqa: E402
from gansynth_live.app.status import Console  # noqa: E402

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


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


class OscPeer:
    """A UDP OSC client on 127.0.0.1 that can also receive feedback."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.server = ("127.0.0.1", port)

    def send(self, address: str, *args: Any) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        self.sock.sendto(builder.build().dgram, self.server)

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, quiet_s: float = 0.3) -> list[tuple[str, list]]:
        from pythonosc.osc_packet import OscPacket

        got = []
        self.sock.settimeout(quiet_s)
        try:
            while True:
                data, _ = self.sock.recvfrom(65536)
                got += [(m.message.address, m.message.params) for m in OscPacket(data).messages]
        except socket.timeout:
            return got

    def state(self) -> dict[str, list]:
        self.receive(0.05)
        self.send("/state")
        return dict(self.receive())

    def close(self) -> None:
        self.sock.close()


class MidiSender:
    """A JACK MIDI output port of another client (a keyboard or a DAW)."""

    def __init__(self, client: str = "test-keys", port: str = "out") -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name=client)
        self.out.open_virtual_port(port)
        self.name = f"{client}:{port}"

    def send(self, *data: int) -> None:
        self.out.send_message(list(data))

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
