"""The web surface's WebSocket layer with the `websockets` client (no browser).

The instrument records calls: the contract is the OSC dispatch's ("validated
keyword calls"); tests/integration/test_web_surface.py drives the real
instrument from a browser.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from recording_instrument import RecordingInstrument
from websockets.sync.client import connect

from gansynth_live.web.protocol import MAX_MESSAGE_BYTES
from gansynth_live.web.server import (PAGE_BURST, PAGE_RATE, WebServer, WebServerError,
                                       web_dispatcher)


def wait_for(predicate, timeout=5.0, what=""):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what or predicate}"
        time.sleep(0.01)


def start(state, token=None):
    instrument = RecordingInstrument()
    server = WebServer(web_dispatcher(instrument, None), lambda: dict(state), "127.0.0.1", 0,
                       token=token, feedback_hz=50).start()
    return instrument, server


@pytest.fixture
def served():
    state = {"/morph/xy": (0.5, 0.5), "/volume": (0.5,), "/preset/name": ("fund",)}
    instrument, server = start(state)
    yield instrument, server, state
    server.close()


def page(server, query="", **kwargs):
    return connect(f"ws://127.0.0.1:{server.port}/ws{query}", open_timeout=5, **kwargs)


def send(ws, address, *args):
    ws.send(json.dumps({"address": address, "args": list(args)}))


def frames(ws, quiet_s=0.3):
    """Every message received until the socket has been quiet for `quiet_s`, in order."""
    got = []
    while True:
        try:
            text = ws.recv(timeout=quiet_s)
        except TimeoutError:
            return got
        got += [(m["address"], m["args"]) for m in json.loads(text)]


def test_messages_go_through_the_osc_dispatch(served):
    instrument, server, _ = served
    with page(server) as ws:
        send(ws, "/morph/xy", 0.25, 1)
        send(ws, "/note", 60, 100)
        send(ws, "/corner/2/random")
        send(ws, "/corner/2/random", 0)  # a button released: ignored
        send(ws, "/record", "start")
        send(ws, "/corner/*/next")  # OSC patterns work as they do over UDP
        wait_for(lambda: server.messages >= 6 and len(instrument.calls) >= 8)
    assert instrument.calls[:4] == [("set_morph", {"x": 0.25, "y": 1.0}),
                                    ("note", {"pitch": 60, "velocity": 100}),
                                    ("corner_random", {"n": 2}),
                                    ("set_recording", {"on": True})]
    assert sorted(kw["n"] for name, kw in instrument.calls[4:]) == [1, 2, 3, 4]
    stats = server.stats()
    assert stats.bad_json == 0 and stats.bad_messages == 0


def test_feedback_is_everything_first_then_what_changed_and_pages_stay_in_sync(served):
    _, server, state = served
    with page(server) as a, page(server) as b:
        assert dict(frames(a)) == {"/morph/xy": [0.5, 0.5], "/volume": [0.5],
                                   "/preset/name": ["fund"]}
        frames(b)
        send(a, "/morph/xy", 0.2, 0.8)
        wait_for(lambda: server.messages >= 1)
        state["/morph/xy"] = (0.2, 0.8)  # what the instrument would now report
        state["/volume"] = (0.25,)  # as if MIDI had moved it
        first = {m["address"]: m["args"] for m in json.loads(a.recv(timeout=2))}
        assert first == {"/volume": [0.25]}  # its own drag is not echoed straight back
        assert dict(frames(b)) == {"/morph/xy": [0.2, 0.8], "/volume": [0.25]}
        send(a, "/state")
        assert dict(frames(a))["/morph/xy"] == [0.2, 0.8]  # ... but /state sends it all


def test_bad_frames_are_counted_ignored_and_answered(served):
    instrument, server, _ = served
    with page(server) as ws:
        frames(ws)
        for junk in ("not json", "[1, 2]", '{"args": [1]}', '{"address": "/note", "args": 5}',
                     '{"address": "/note", "args": [%d, 1]}' % 10**400, "[" * 3000,
                     b"\x00binary"):
            ws.send(junk)
        send(ws, "/note", 60.5, 100)  # well-formed, but no such note: the OSC check's count
        ws.send('{"address": "/morph/xy", "args": [1e999, 0.5]}')  # JSON's infinity
        send(ws, "/preset", "missing")  # the instrument refuses
        send(ws, "/ping")
        wait_for(lambda: server.messages >= 11)
        got = frames(ws)
    stats = server.stats()
    assert stats.bad_json == 7 and stats.bad_messages == 2 and stats.refused == 1
    assert instrument.calls == []
    assert ("/pong", []) in got and ["/preset: no preset named 'missing'"] in \
        [args for address, args in got if address == "/error"]


def test_an_oversized_frame_closes_that_socket(served):
    _, server, _ = served
    with page(server) as ws:
        ws.send(json.dumps({"address": "/preset", "args": ["x" * MAX_MESSAGE_BYTES]}))
        with pytest.raises(ConnectionClosedError) as closed:
            while True:
                ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1009
    wait_for(lambda: server.stats().oversized == 1 and server.stats().pages == 0)


def test_the_token_is_checked_on_the_handshake_and_the_state_query():
    state = {"/volume": (0.5,)}
    _, server = start(state, token="s3cret")
    try:
        for query in ("", "?token=wrong"):
            with pytest.raises(InvalidStatus) as refused:
                page(server, query)
            assert refused.value.response.status_code == 403
            with pytest.raises(urllib.error.HTTPError) as denied:
                urllib.request.urlopen(f"http://127.0.0.1:{server.port}/state.json{query}")
            assert denied.value.code == 403
        with page(server, "?token=s3cret") as ws:
            assert dict(frames(ws)) == {"/volume": [0.5]}
        answer = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/state.json?token=s3cret")
        assert json.loads(answer.read()) == {"/volume": [0.5]}
        assert server.stats().refused_handshakes == 4
    finally:
        server.close()


def test_the_origin_must_be_the_page_the_socket_belongs_to(served):
    _, server, _ = served
    for origin in ("http://evil.example", f"http://127.0.0.1:{server.port}.evil.example",
                   "null"):
        with pytest.raises(InvalidStatus) as refused:
            page(server, origin=origin)
        assert refused.value.response.status_code == 403
    with page(server, origin=f"http://127.0.0.1:{server.port}") as ws:
        assert frames(ws)
    assert server.stats().refused_handshakes == 3


def test_a_loopback_surface_refuses_other_host_names(served):
    """DNS rebinding: a hostile name resolving to 127.0.0.1 has a matching Origin."""
    _, server, _ = served
    sock = socket.create_connection(("127.0.0.1", server.port))
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://evil.example:{server.port}/ws", sock=sock,
                origin=f"http://evil.example:{server.port}", open_timeout=5)
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):  # a loopback name, but not the Host it was sent to
        page(server, origin=f"http://localhost:{server.port}")
    assert server.stats().refused_handshakes == 2


def test_a_flooding_page_is_paced_and_the_others_still_answered(served):
    instrument, server, _ = served
    with page(server) as flood, page(server) as other:
        frames(other)
        message = json.dumps({"address": "/morph/xy", "args": [0.5, 0.5]})
        sender = threading.Thread(target=lambda: [flood.send(message) for _ in range(800)],
                                  daemon=True)
        started = time.monotonic()
        sender.start()
        time.sleep(0.3)
        send(other, "/ping")
        answered = [a for a, _ in frames(other, 0.5) if a == "/pong"]
        sender.join(20)
        assert answered and time.monotonic() - started < 20
        wait_for(lambda: server.messages >= 801, 15)
    assert server.stats().paced > 0
    assert time.monotonic() - started > (800 - PAGE_BURST) / PAGE_RATE * 0.8


def test_the_page_and_its_assets_are_served_with_a_strict_policy(served):
    _, server, _ = served
    base = f"http://127.0.0.1:{server.port}"
    with urllib.request.urlopen(base + "/") as answer:
        html = answer.read().decode()
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
    assert 'src="surface.js"' in html and 'href="surface.css"' in html
    assert "http" not in html.replace('http-equiv', '')  # nothing fetched from elsewhere
    for asset in ("/surface.js", "/surface.css"):
        with urllib.request.urlopen(base + asset) as answer:
            assert answer.status == 200 and len(answer.read()) > 1000
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(base + "/../../etc/passwd")
    assert missing.value.code == 404


def test_a_port_in_use_is_one_error_line(served):
    _, server, _ = served
    with pytest.raises(WebServerError, match="cannot open the web surface"):
        WebServer(web_dispatcher(RecordingInstrument(), None), dict, "127.0.0.1",
                  server.port).start()
