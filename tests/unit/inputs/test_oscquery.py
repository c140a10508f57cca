"""OSCQuery: the namespace says what the OSC server takes (from the same table), and the
HTTP side answers nodes, attributes and HOST_INFO, refuses junk, and keeps serving."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from gansynth_live.inputs.osc_space import FEEDBACK, address_table, expand
from gansynth_live.inputs.oscquery import (ACCESS_READ, ACCESS_READ_WRITE, ACCESS_WRITE,
                                           MAX_PATH, OscQueryServer, namespace, node_at)


def test_every_address_the_server_takes_is_in_the_namespace_with_its_types_and_ranges():
    tree = namespace({})
    for path, spec in address_table().items():
        node = node_at(tree, path)
        assert node is not None and node["FULL_PATH"] == path, path
        assert node["ACCESS"] == (ACCESS_READ_WRITE if spec.feedback else ACCESS_WRITE)
        if spec.trigger:
            assert node["TYPE"] == "I"
            continue
        assert len(node.get("TYPE", "")) == len(spec.args), path
        for arg, tag, span in zip(spec.args, node.get("TYPE", ""), node.get("RANGE", [])):
            assert tag == {"float": "f", "int": "i", "string": "s", "switch": "s"}[arg.kind]
            if arg.kind in ("float", "int"):
                assert (span["MIN"], span["MAX"]) == (arg.low, arg.high)


def test_values_are_the_feedbacks_and_sent_only_addresses_are_read_only():
    tree = namespace({"/morph/xy": (0.25, 0.75), "/volume": (0.5,)})
    assert node_at(tree, "/morph/xy")["VALUE"] == [0.25, 0.75]
    for fb in FEEDBACK:
        for path, _ in expand(fb.pattern):
            assert node_at(tree, path)["ACCESS"] == ACCESS_READ
    assert all("VALUE" not in node_at(tree, p) for p, spec in address_table().items()
               if not spec.feedback)
    assert node_at(tree, "/no/such") is None and node_at(tree, "/")["FULL_PATH"] == "/"


@pytest.fixture
def server():
    state = {"/morph/xy": (0.5, 0.5)}
    running = OscQueryServer(lambda: state, osc_port=9123, port=0).start()
    running.state = state
    yield running
    running.close()


def get(server, path: str, method: str = "GET") -> tuple[int, dict | None]:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            body = reply.read()
            return reply.status, json.loads(body) if body else None
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_the_http_side_answers_nodes_attributes_and_host_info(server):
    status, root = get(server, "/")
    assert status == 200 and set(root["CONTENTS"]) >= {"morph", "note", "preset", "corner"}
    assert get(server, "/?HOST_INFO") == (200, {
        "NAME": "gansynth-live", "OSC_PORT": 9123, "OSC_TRANSPORT": "UDP",
        "EXTENSIONS": {"ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True,
                       "TAGS": False, "LISTEN": False, "PATH_CHANGED": False}})
    assert get(server, "/morph/xy?VALUE") == (200, {"VALUE": [0.5, 0.5]})
    server.state["/morph/xy"] = (1.0, 0.0)  # the values are read per request
    assert get(server, "/morph/xy")[1]["VALUE"] == [1.0, 0.0]
    assert get(server, "/morph/xy", "HEAD") == (200, None)


def test_junk_is_refused_and_the_server_keeps_serving(server):
    assert get(server, "/no/such/address")[0] == 404
    assert get(server, "/" + "a" * MAX_PATH)[0] == 400
    assert get(server, "/morph/xy", "POST")[0] == 501  # read only
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"\x00\xff garbage \r\n\r\n")
        raw.recv(1024)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5):
        pass  # a client that connects and says nothing is dropped after the timeout
    assert get(server, "/morph/xy?VALUE") == (200, {"VALUE": [0.5, 0.5]})
    assert server.refused >= 2 and server.errors == 0


def test_a_busy_port_is_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(Exception, match=r"cannot open OSCQuery on 127\.0\.0\.1:\d+"):
            OscQueryServer(lambda: {}, 9000, port=taken.getsockname()[1]).start()
