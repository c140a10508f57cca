"""A UDP flood on the OSC port: the socket is drained faster than a flood fills it.

The flood comes from a separate process (its own interpreter, so it does
not share our GIL) to 127.0.0.1 at RATE datagrams a second (several times
what the server parsed before the fix, with margin below what it drains now
on a busy two-core machine) and stops by itself after a fixed number. Morph moves are coalesced
(only the latest position matters), so a note-off sent behind 20,000 of them
is applied, and whatever the kernel still drops is counted (`kernel_drops`).
"""

from __future__ import annotations

import subprocess
import sys
import time

from osc_peer import OscPeer
from recording_instrument import RecordingInstrument

from gansynth_live.inputs.osc import OscServer

FLOOD = 20_000
RATE = 100_000  # datagrams a second

SENDER = """
import socket, sys, time
from pythonosc.osc_message_builder import OscMessageBuilder
def msg(address, *args):
    b = OscMessageBuilder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram
port, n, rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
moves = [msg("/morph/xy", (i % 100) / 100.0, 0.5) for i in range(100)]
target = ("127.0.0.1", port)
sock.sendto(msg("/note", 64, 100), target)
start = time.monotonic()
for i in range(n):
    sock.sendto(moves[i % 100], target)
    if i % 500 == 499:  # keep to the rate
        time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))
sock.sendto(msg("/morph/xy", 0.25, 0.75), target)
sock.sendto(msg("/note", 64, 0), target)
"""


def quiet(server: OscServer, total: int, timeout: float = 20.0) -> None:
    """Wait until all `total` datagrams are handled or counted as dropped, or nothing new
    came for a second (bounded)."""
    deadline = time.monotonic() + timeout
    last, still = -1, 0
    while time.monotonic() < deadline and still < 50:
        stats = server.stats()
        seen = stats.packets + stats.kernel_drops
        if seen >= total:
            return
        still = still + 1 if seen == last else 0
        last = seen
        time.sleep(0.02)


def test_note_off_behind_a_morph_flood_is_applied_and_drops_are_counted():
    instrument = RecordingInstrument()
    with OscServer(instrument, "127.0.0.1", 0) as server:
        subprocess.run([sys.executable, "-c", SENDER, str(server.port), str(FLOOD),
                        str(RATE)],
                       check=True, timeout=60)
        quiet(server, FLOOD + 3)
        stats = server.stats()
        notes = [kwargs for name, kwargs in instrument.calls if name == "note"]
        assert {"pitch": 64, "velocity": 0} in notes, stats
        # every datagram is accounted for: handled, or dropped by the kernel and counted
        assert stats.packets + stats.kernel_drops == FLOOD + 3, stats
        assert stats.coalesced > 0
        moves = [kwargs for name, kwargs in instrument.calls if name == "set_morph"]
        assert moves[-1] == {"x": 0.25, "y": 0.75}  # the latest position won
        assert len(moves) < FLOOD // 2


def test_a_lone_move_is_applied_at_once():
    instrument = RecordingInstrument()
    with OscServer(instrument, "127.0.0.1", 0) as server:
        peer = OscPeer(server.port)
        peer.send("/morph/xy", 0.5, 0.25)
        deadline = time.monotonic() + 5
        while not instrument.calls and time.monotonic() < deadline:
            time.sleep(0.005)
        peer.close()
        assert instrument.calls == [("set_morph", {"x": 0.5, "y": 0.25})]
