"""OSCQuery: the OSC address space, its types, ranges and current values, over HTTP.

Why: an OSC surface that speaks OSCQuery (Chataigne, ossia score, Vezér, ...) can
then list every control `serve` takes and build its own controls, instead of a
user typing addresses from docs/osc.md. The namespace is made from the same
validated table the OSC server, the web surface and the TouchOSC layout use
(`osc_space`), and the values from the same feedback (`feedback_values`), so it
cannot say something the server does not do.

What it serves (the OSCQuery proposal, github.com/Vidvox/OSCQueryProposal): GET of
a path of the namespace gives that node as JSON (`/` the whole tree; FULL_PATH,
CONTENTS, TYPE, RANGE, VALUE, ACCESS, DESCRIPTION); `?HOST_INFO` gives the OSC port
and transport. Read only: values are changed over OSC itself. Not done: the
WebSocket LISTEN extension and the mDNS (`_oscjson._tcp`) advertisement, so a client
is given host and port by hand.

Bounds: GET and HEAD only, one request at a time on one thread with a 2 s socket
timeout (a flood is served at the speed of one thread, never by a thread per
request), paths up to 256 characters. Binds --osc-host, like the OSC server.

Threads: start/close from the control thread; requests on the server's own thread.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

from ..errors import GansynthLiveError
from .osc_feedback import Values
from .osc_space import FEEDBACK, Arg, address_table, expand

ACCESS_NONE, ACCESS_READ, ACCESS_WRITE, ACCESS_READ_WRITE = 0, 1, 2, 3
TYPE_TAGS = {"float": "f", "int": "i", "string": "s", "switch": "s"}
IMPULSE = "I"  # a button: OSC 1.1's impulse, sent as any value (osc_space: trigger)
MAX_PATH = 256
REQUEST_TIMEOUT_S = 2.0


class OscQueryError(GansynthLiveError):
    """The OSCQuery port cannot be opened (one line)."""


def _range(arg: Arg) -> dict[str, Any]:
    if arg.kind in ("float", "int"):
        cast = int if arg.kind == "int" else float
        return {"MIN": cast(arg.low), "MAX": cast(arg.high)}
    if arg.kind == "switch":
        return {"VALS": ["on", "off"]}
    return {}


def _leaf(path: str, help_text: str, args: tuple[Arg, ...], access: int, trigger: bool,
          value: list[Any] | None) -> dict[str, Any]:
    node: dict[str, Any] = {"FULL_PATH": path, "DESCRIPTION": help_text, "ACCESS": access}
    if trigger:
        node["TYPE"] = IMPULSE
        return node
    if args:
        node["TYPE"] = "".join(TYPE_TAGS[a.kind] for a in args)
        node["RANGE"] = [_range(a) for a in args]
    if value is not None and len(value) == len(args):
        node["VALUE"] = list(value)
    return node


def _insert(root: dict[str, Any], leaf: dict[str, Any]) -> None:
    node = root
    parts = leaf["FULL_PATH"].strip("/").split("/")
    for depth, part in enumerate(parts[:-1], start=1):
        contents = node.setdefault("CONTENTS", {})
        node = contents.setdefault(part, {"FULL_PATH": "/" + "/".join(parts[:depth]),
                                          "ACCESS": ACCESS_NONE})
    contents = node.setdefault("CONTENTS", {})
    contents[parts[-1]] = {**contents.get(parts[-1], {}), **leaf}  # keeps a CONTENTS there


def namespace(values: Values) -> dict[str, Any]:
    """The whole tree: every address the server takes (with its current value where the
    server sends one back) and every address it only sends."""
    root: dict[str, Any] = {"FULL_PATH": "/", "ACCESS": ACCESS_NONE, "CONTENTS": {}}
    for path, spec in sorted(address_table().items()):
        access = ACCESS_READ_WRITE if spec.feedback else ACCESS_WRITE
        _insert(root, _leaf(path, spec.help, spec.args, access, spec.trigger,
                            values.get(path) if spec.feedback else None))
    for fb in FEEDBACK:
        for path, _ in expand(fb.pattern):
            _insert(root, _leaf(path, fb.help, fb.args, ACCESS_READ, False, values.get(path)))
    return root


def node_at(tree: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The node at `path` ('/' the root), None if the namespace has none."""
    node = tree
    for part in [p for p in path.split("/") if p]:
        node = node.get("CONTENTS", {}).get(part)
        if node is None:
            return None
    return node


def host_info(name: str, osc_port: int) -> dict[str, Any]:
    return {"NAME": name, "OSC_PORT": osc_port, "OSC_TRANSPORT": "UDP",
            "EXTENSIONS": {"ACCESS": True, "VALUE": True, "RANGE": True, "DESCRIPTION": True,
                           "TAGS": False, "LISTEN": False, "PATH_CHANGED": False}}


class OscQueryServer:
    """The HTTP side of OSCQuery (see the module docstring)."""

    def __init__(self, values: Callable[[], Values], osc_port: int, host: str = "127.0.0.1",
                 port: int = 0, name: str = "gansynth-live") -> None:
        self.values = values
        self.osc_port = osc_port
        self.host = host
        self.requested_port = port
        self.name = name
        self.requests = self.refused = self.errors = 0  # the server's thread writes them
        self._http: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._http.server_address[1] if self._http is not None else self.requested_port

    def start(self) -> "OscQueryServer":
        owner = self

        class Handler(_Handler):
            server_owner = owner

        try:
            self._http = HTTPServer((self.host, self.requested_port), Handler)
        except OSError as exc:
            raise OscQueryError(f"cannot open OSCQuery on {self.host}:{self.requested_port}: "
                                f"{exc.strerror or exc}") from None
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={
            "poll_interval": 0.25}, name="gansynth-live oscquery", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def answer(self, raw_path: str) -> tuple[int, dict[str, Any] | None]:
        """(HTTP status, JSON body) for a request path: a node, HOST_INFO, or 404/400."""
        if len(raw_path) > MAX_PATH:
            return 400, None
        parts = urlsplit(raw_path)
        if parts.query == "HOST_INFO":
            return 200, host_info(self.name, self.osc_port)
        node = node_at(namespace(self.values()), unquote(parts.path))
        if node is None:
            return 404, None
        if not parts.query:
            return 200, node
        attribute = parts.query.upper()
        return (200, {attribute: node[attribute]}) if attribute in node else (204, None)


class _Handler(BaseHTTPRequestHandler):
    server_owner: OscQueryServer
    timeout = REQUEST_TIMEOUT_S
    server_version = "gansynth-live-oscquery"

    def do_GET(self) -> None:  # noqa: N802 - the http.server convention
        self._reply(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(body=False)

    def _reply(self, body: bool) -> None:
        owner = self.server_owner
        owner.requests += 1
        try:
            status, document = owner.answer(self.path)
        except Exception:  # noqa: BLE001 - a request never takes the server down
            owner.errors += 1
            status, document = 500, None
        if status >= 400:
            owner.refused += 1
        data = json.dumps(document, allow_nan=False).encode() if document is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass  # counted, not printed: a scanner must not fill the terminal
