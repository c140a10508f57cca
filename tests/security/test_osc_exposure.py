"""Who may talk to the OSC port: loopback unless asked, and an allow list when it is opened."""

from __future__ import annotations

import argparse
import socket
import time

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from gansynth_live.live.config import ServeConfig, add_arguments, build_config
from gansynth_live.inputs.osc import OscServer, OscServerError, is_loopback, parse_allow


class CallLog:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def __getattr__(self, name):
        return lambda **kwargs: self.calls.append((name, kwargs))


def message(address, *args) -> bytes:
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build().dgram


def sender(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    sock.settimeout(0.5)
    return sock


def pong(sock: socket.socket) -> bool:
    try:
        data, _ = sock.recvfrom(65536)
    except socket.timeout:
        return False
    return data.startswith(b"/pong")


def wait_for(predicate, timeout=5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_serve_listens_on_loopback_unless_told_otherwise():
    assert ServeConfig().osc_host == "127.0.0.1" and ServeConfig().osc_allow == []
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", default=None)
    add_arguments(parser)
    config = build_config(parser.parse_args(["--osc-host", "0.0.0.0", "--osc-allow",
                                             "192.168.1.20,10.0.0.0/24", "--osc-allow",
                                             "127.0.0.2"]))
    assert config.osc_allow == ["192.168.1.20", "10.0.0.0/24", "127.0.0.2"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")


def test_a_sender_outside_the_allow_list_is_refused_and_counted():
    instrument = CallLog()
    messages: list[str] = []
    with OscServer(instrument, "127.0.0.1", 0, allow=["127.0.0.2"],
                   report=messages.append) as server:
        stranger, friend = sender("127.0.0.1"), sender("127.0.0.2")
        try:
            for sock in (stranger, friend):
                sock.sendto(message("/note", 60, 100), ("127.0.0.1", server.port))
                sock.sendto(message("/ping"), ("127.0.0.1", server.port))
            wait_for(lambda: server.blocked == 2 and server.packets == 2)
            assert pong(friend) and not pong(stranger)
        finally:
            stranger.close()
            friend.close()
        stats = server.stats()
    assert stats.blocked == 2 and stats.packets == 2 and stats.bad_total == 0
    assert instrument.calls == [("note", {"pitch": 60, "velocity": 100})]  # the friend's only
    assert sum("127.0.0.1, which is not in the allow list" in m for m in messages) == 1


def test_networks_host_names_and_mapped_addresses():
    server = OscServer(CallLog(), "127.0.0.1", 0, allow=["10.0.0.0/24", "localhost", "::1"],
                       report=lambda text: None)
    assert server.allowed("10.0.0.77") and not server.allowed("10.0.1.1")
    assert server.allowed("127.0.0.1") and server.allowed("::ffff:10.0.0.3")
    assert server.allowed("::1") and not server.allowed("fe80::1%eth0")
    assert not server.allowed("not an address")
    assert OscServer(CallLog(), report=lambda text: None).allowed("203.0.113.9")  # no list


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "no-such-host.invalid", "300.1.1.1"])
def test_a_bad_allow_entry_is_a_clear_error(entry):
    with pytest.raises(OscServerError, match="allow list"):
        parse_allow([entry])


def test_opening_to_the_network_without_a_list_warns():
    messages: list[str] = []
    with OscServer(CallLog(), "0.0.0.0", 0, report=messages.append):
        pass
    assert any("open to the network" in m and "--osc-allow" in m for m in messages)
    messages.clear()
    with OscServer(CallLog(), "0.0.0.0", 0, allow=["127.0.0.1"], report=messages.append):
        pass
    assert not messages
