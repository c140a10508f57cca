"""Costly OSC actions and replies are bounded (osc_limits), over real UDP on 127.0.0.1.

Each test sends a bounded burst from one socket and counts what the
instrument was asked to do, or what a "victim" socket (a port the requests
name, as a forged source address would) was sent.
"""

from __future__ import annotations

import socket
import time

from osc_peer import OscPeer, message
from recording_instrument import RecordingInstrument

from gansynth_live.inputs.osc import OscServer
from gansynth_live.inputs.osc_feedback import MAX_PORTS_PER_HOST
from gansynth_live.inputs.osc_limits import (REPLY_BURST, REPLY_BYTES_PER_S, REPLY_PER_BYTE,
                                             ActionLimits)


def settle(server: OscServer, packets: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while server.stats().packets < packets and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.stats().packets >= packets


def big_state() -> dict:
    """About as many values as a real session sends (~1.5 kB)."""
    return {f"/value/{i}": (float(i), f"text {i}") for i in range(40)}


REQUESTS = 100  # x ~1.5 kB answers: the victim's buffer holds them all (before: 41x)


def test_state_to_a_named_port_is_no_amplifier():
    victim = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    victim.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)  # holds all it is sent
    victim.bind(("127.0.0.1", 0))
    victim.settimeout(0.3)
    with OscServer(RecordingInstrument(), "127.0.0.1", 0, values=big_state, feedback_hz=0) as server:
        peer = OscPeer(server.port)
        request = message("/state", victim.getsockname()[1])
        started = time.monotonic()
        for _ in range(REQUESTS):
            peer.raw(request)
        settle(server, REQUESTS)
        elapsed = time.monotonic() - started
        got = 0
        try:
            while True:
                got += len(victim.recv(65536))
        except socket.timeout:
            pass
        peer.close()
        sent = REQUESTS * len(request)
        allowed = REPLY_BURST + REPLY_PER_BYTE * sent + REPLY_BYTES_PER_S * (elapsed + 0.5)
        assert 0 < got <= allowed, (got, sent)
        assert server.stats().replies_limited > 0
    victim.close()


def test_one_host_registers_a_bounded_number_of_ports():
    with OscServer(RecordingInstrument(), "127.0.0.1", 0, max_clients=16) as server:
        peer = OscPeer(server.port)
        for port in range(20000, 20040):
            peer.send("/register", port)
        settle(server, 40)
        peer.close()
        assert server.stats().clients == MAX_PORTS_PER_HOST


def flood(address: str, args_of, n: int) -> tuple[RecordingInstrument, OscServer, float]:
    instrument = RecordingInstrument()
    server = OscServer(instrument, "127.0.0.1", 0).start()
    peer = OscPeer(server.port)
    started = time.monotonic()
    for i in range(n):
        peer.send(address, *args_of(i))
    settle(server, n)
    elapsed = time.monotonic() - started
    peer.close()
    server.close()
    return instrument, server, elapsed


def test_preset_save_flood_is_rate_limited():
    instrument, server, elapsed = flood("/preset/save", lambda i: (f"p{i}",), 200)
    saves = [c for c in instrument.calls if c[0] == "save_preset"]
    assert 1 <= len(saves) <= 5 + 0.5 * elapsed + 1
    assert server.stats().limited == 200 - len(saves)


def test_preset_saves_are_capped_per_session():
    limits = ActionLimits(rates={}, max_saves=3)
    assert [limits.check("save_preset") for _ in range(3)] == ["", "", ""]
    assert "3 presets saved" in limits.check("save_preset")


def test_take_starts_are_rate_limited_and_stops_never():
    instrument, server, elapsed = flood("/record", lambda i: (1 - i % 2,), 100)
    starts = [c for c in instrument.calls if c == ("set_recording", {"on": True})]
    stops = [c for c in instrument.calls if c == ("set_recording", {"on": False})]
    assert 1 <= len(starts) <= 3 + 0.2 * elapsed + 1
    assert len(stops) == 50


def test_random_corner_flood_is_rate_limited():
    instrument, server, elapsed = flood("/corner/1/random", lambda i: (), 300)
    randoms = [c for c in instrument.calls if c[0] == "corner_random"]
    assert 1 <= len(randoms) <= 4 + 2.0 * elapsed + 1
    assert server.stats().limited == 300 - len(randoms)
