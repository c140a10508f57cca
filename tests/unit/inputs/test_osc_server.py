"""The OSC server over real UDP on 127.0.0.1: dispatch, validation counters, patterns, feedback.

The instrument here records calls (the server's contract is "validated
keyword calls"); tests/integration/test_serve_osc.py drives the real
instrument and engine.
"""

from __future__ import annotations

import struct
import time

import pytest
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from osc_peer import OscPeer as Client
from osc_peer import message
from recording_instrument import RecordingInstrument

from gansynth_live.errors import GansynthLiveError
from gansynth_live.inputs.osc import OscServer


def settle(server, packets, timeout=5.0):
    deadline = time.monotonic() + timeout
    while server.packets < packets and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.packets >= packets


@pytest.fixture
def served():
    instrument = RecordingInstrument()
    state = {"/morph/xy": (0.5, 0.5), "/volume": (0.5,), "/preset/name": ("fund",)}
    server = OscServer(instrument, "127.0.0.1", 0, values=lambda: dict(state),
                       feedback_hz=50).start()
    yield instrument, server, Client(server.port), state
    server.close()


def test_valid_messages_become_calls(served):
    instrument, server, client, _ = served
    client.send("/morph/xy", 0.25, 1.0)
    client.send("/note", 60, 100)
    client.send("/corner/2/random", 1.0)
    client.send("/corner/2/random", 0.0)  # button released: ignored, not bad
    client.send("/envelope/attack", 0.5)
    client.send("/record", "start")
    settle(server, 6)
    assert instrument.calls == [("set_morph", {"x": 0.25, "y": 1.0}),
                                ("note", {"pitch": 60, "velocity": 100}),
                                ("corner_random", {"n": 2}),
                                ("set_envelope", {"attack_s": 0.5}),
                                ("set_recording", {"on": True})]
    stats = server.stats()
    assert stats.bad_total == 0 and stats.released_triggers == 1


def test_bad_messages_are_counted_and_ignored(served):
    instrument, server, client, _ = served
    client.send("/morph/xy", float("nan"), 0.5)
    client.send("/morph/xy", "a", "b")
    client.send("/morph/xy", 2.0, 0.5)
    client.send("/note", 60.5, 100)
    client.send("/preset", "x" * 5000)
    client.send("/no/such/address", 1)
    client.raw(b"\x00\x01garbage")
    client.raw(b"/morph/xy\x00\x00\x00,ff\x00\x00\x00")  # types promised, no data
    client.send("/preset", "missing")  # valid, but refused by the instrument
    settle(server, 9)
    stats = server.stats()
    assert instrument.calls == []
    assert stats.bad_packets >= 1 and stats.bad_messages >= 6 and stats.refused == 1
    assert stats.bad_packets + stats.bad_messages == 8


def test_bundles_and_patterns(served):
    instrument, server, client, _ = served
    bundle = OscBundleBuilder(IMMEDIATELY)
    bundle.add_content(OscMessageBuilder("/morph/x").build())
    bundle.add_content(OscMessageBuilder("/corner/[13]/next").build())
    builder = OscMessageBuilder("/morph/x")
    builder.add_arg(0.75)
    bundle.add_content(builder.build())
    client.raw(bundle.build().dgram)
    settle(server, 1)
    time.sleep(0.1)
    assert ("corner_step", {"step": 1, "n": 1}) in instrument.calls
    assert ("corner_step", {"step": 1, "n": 3}) in instrument.calls
    assert ("set_morph", {"x": 0.75}) in instrument.calls
    assert server.stats().bad_messages == 1  # /morph/x without its argument


def test_deeply_nested_bundle_is_a_bad_packet(served):
    _, server, client, _ = served
    inner = message("/ping")
    for _ in range(1500):
        inner = b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", len(inner)) + inner
        if len(inner) > 60000:
            break
    client.raw(inner)
    client.send("/ping")
    assert ("/pong", []) in client.receive()


def test_register_gets_full_state_then_changes_only(served):
    _, server, client, state = served
    client.send("/register")
    got = dict(client.receive())
    assert got["/morph/xy"] == [0.5, 0.5] and got["/preset/name"] == ["fund"]
    state["/volume"] = (0.8,)
    got = client.receive()
    assert [a for a, _ in got] == ["/volume"]
    assert got[0][1][0] == pytest.approx(0.8)
    client.send("/unregister")
    settle(server, 2)  # /register and /unregister handled before the state changes
    state["/volume"] = (0.1,)
    assert client.receive() == []


def test_values_a_client_sets_are_not_echoed_straight_back(served):
    _, server, client, state = served
    client.send("/register")
    client.receive()
    client.send("/morph/xy", 0.1, 0.2)
    settle(server, 2)  # handled (and the sender noted) before the state changes
    state["/morph/xy"] = (0.1, 0.2)
    state["/volume"] = (0.3,)
    got = [a for a, _ in client.receive(0.2)]
    assert "/volume" in got and "/morph/xy" not in got
    time.sleep(0.4)  # past the echo hold-off: the server's value arrives after all
    assert ("/morph/xy", [pytest.approx(0.1), pytest.approx(0.2)]) in client.receive()


def test_refused_requests_answer_error_to_registered_clients(served):
    _, server, client, _ = served
    client.send("/register")
    client.receive()
    client.send("/preset", "missing")
    client.send("/morph/xy", 5.0, 0.0)
    errors = [p[0] for a, p in client.receive() if a == "/error"]
    assert any("no preset named" in e for e in errors)
    assert any("x must be in 0..1" in e for e in errors)


def test_client_list_is_bounded():
    server = OscServer(RecordingInstrument(), "127.0.0.1", 0, max_clients=4)
    for port in range(1000, 1100):
        server.dispatch("/register", [port], ("127.0.0.1", 5000))
    assert len(server.clients) == 4 and server.clients.evicted == 96


def test_ping_answers_at_the_given_port(served):
    _, server, client, _ = served
    other = Client(server.port)
    client.send("/ping", other.sock.getsockname()[1])
    assert other.receive() == [("/pong", [])]


def test_a_hostile_pattern_is_ignored_quickly_and_the_next_message_applies(served):
    """Issue 15: `/` + 24 stars + `!` held the receive thread for minutes (regex backtracking)."""
    instrument, server, client, _ = served
    start = time.monotonic()
    client.send("/" + "*" * 24 + "!", 1.0)  # matches nothing
    client.send("/n" + "*" * 40 + "te", 61, 90)  # matches /note only
    client.send("/note", 60, 100)
    deadline = start + 5.0
    while len(instrument.calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    assert instrument.calls == [("note", {"pitch": 61, "velocity": 90}),
                                ("note", {"pitch": 60, "velocity": 100})]
    assert elapsed < 2.0
    stats = server.stats()
    assert stats.bad_messages == 1 and stats.handler_errors == 0


def test_port_in_use_is_a_clear_error():
    first = OscServer(RecordingInstrument(), "127.0.0.1", 0).start()
    try:
        with pytest.raises(GansynthLiveError, match="cannot open OSC port"):
            OscServer(RecordingInstrument(), "127.0.0.1", first.port).start()
    finally:
        first.close()


def bundle(*elements: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(e)) + e for e in elements)
    return b"#bundle\x00" + struct.pack(">Q", 1) + body


@pytest.mark.parametrize("data,match", [
    (bundle(b"\x07abc"), "neither"),  # python-osc would log and skip this element
    (b"#bundle\x00" + struct.pack(">Q", 1) + struct.pack(">i", 400) + b"/a\x00\x00", "fit"),
    (b"#bundle\x00" + struct.pack(">Q", 1) + b"\x00\x00", "cut off"),
    (b"#bundle\x00\x00", "shorter"),
    (b"/a\x00\x00,i\x00\x00", "bad message"),
    (b"", "neither"),
])
def test_parse_packet_is_strict(data, match):
    from gansynth_live.inputs.osc import PacketError, parse_packet

    with pytest.raises(PacketError, match=match):
        parse_packet(data)


def test_parse_packet_nesting():
    from gansynth_live.inputs.osc import PacketError, parse_packet

    ping = message("/ping")
    assert [m.address for m in parse_packet(bundle(ping, bundle(message("/state"))))] == \
        ["/ping", "/state"]
    assert parse_packet(bundle()) == []
    deep = ping
    for _ in range(9):
        deep = bundle(deep)
    with pytest.raises(PacketError, match="nested"):
        parse_packet(deep)
