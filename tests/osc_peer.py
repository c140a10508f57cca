"""An OSC peer over real UDP on 127.0.0.1: sends like a control surface and reads feedback.

Shared by the OSC server's unit tests and the serve integration tests, so both
speak to the server the way TouchOSC does (one datagram a message, replies to
the sender's port).
"""

from __future__ import annotations

import socket
from typing import Any

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def message(address: str, *args: Any) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


class OscPeer:
    """A UDP OSC client bound to 127.0.0.1 that can also receive feedback."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.3)
        self.server = ("127.0.0.1", port)

    def send(self, address: str, *args: Any) -> None:
        self.sock.sendto(message(address, *args), self.server)

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, quiet_s: float = 0.3) -> list[tuple[str, list]]:
        """Every message that arrives until the line has been quiet for `quiet_s`."""
        got = []
        self.sock.settimeout(quiet_s)
        try:
            while True:
                data, _ = self.sock.recvfrom(65536)
                got += [(m.message.address, m.message.params) for m in OscPacket(data).messages]
        except socket.timeout:
            return got

    def state(self) -> dict[str, list]:
        """Ask for the whole state (/state) and return the last value of each address."""
        self.receive(0.05)
        self.send("/state")
        return dict(self.receive())

    def close(self) -> None:
        self.sock.close()
