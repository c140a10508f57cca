"""The web surface server: the page over HTTP, control and feedback over a WebSocket.

One thread with its own asyncio loop runs the `websockets` server; it serves
the static page (`process_request` answers plain GETs), `/state.json` (the
feedback values, for scripts and tests), the catalog documents
(`/presets.json`, `/controls.json`, `/timbre-map.json`: catalog.py) and the
socket `/ws`. Nothing here
runs on the audio or MIDI threads, and the loop never waits for them: a
message is dispatched by calling the instrument, as the OSC receive thread
does.

One control table: a message's address and arguments go through
`OscServer.dispatch` (the validated `osc_space` table, its action limits
shared with the OSC server, so a page cannot save presets faster than an OSC
client may). The dispatcher is an `OscServer` that is never started (no
socket): its counters are the web's own, and its feedback registry holds the
open pages, keyed ('webN', 0), so its echo suppression keeps a page's own
drag from being sent back to it. Feedback is the OSC feedback (`values`,
`feedback_values`), sent at most `feedback_hz` times a second, only what
changed, one JSON list a round; a page still busy receiving the last round
is skipped, so a slow page never delays the others.

Bounds: frames over MAX_MESSAGE_BYTES close the socket (1009), frames that
are not a control message are ignored and counted as `bad_json`; each page
is paced to PAGE_RATE messages a second (bursts to PAGE_BURST) and all pages
together to TOTAL_RATE: past that the page's reading waits, so TCP pushes
back on a flooding page instead of its messages taking the interpreter from
the audio callback; at most MAX_PAGES pages at once. Who may connect:
`access`.

Threads: start/close/stats from the control thread; everything else on the
server's own loop thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import GansynthLiveError
from ..inputs.osc import OscServer
from ..inputs.osc_feedback import MAX_PORTS_PER_HOST, Values
from ..inputs.problem_report import printable
from .access import refusal
from .protocol import MAX_MESSAGE_BYTES, BadMessage, encode, parse_message

log = logging.getLogger(__name__)

MAX_PAGES = 16
PAGE_RATE = 200.0  # messages a second one page may send (a dragged pad sends ~60)
PAGE_BURST = 200.0
TOTAL_RATE = 1000.0
ASSETS = {  # path -> (file in static/, content type)
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/surface.js": ("surface.js", "text/javascript; charset=utf-8"),
    "/surface.css": ("surface.css", "text/css; charset=utf-8"),
}
SECURITY_HEADERS = (
    ("Cache-Control", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
     "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
)


class WebServerError(GansynthLiveError):
    """The web surface's port cannot be opened."""


@dataclass(frozen=True)
class WebStats:
    pages: int  # open now
    messages: int  # frames received
    bad_json: int  # frames that are not a control message (ignored)
    bad_messages: int  # unknown address or wrong arguments (the OSC dispatch's count)
    refused: int  # the instrument said no (unknown preset, ...)
    limited: int  # costly actions over their rate (osc_limits, shared with OSC)
    paced: int  # times a page's reading waited for its message rate
    oversized: int  # sockets closed for a frame over MAX_MESSAGE_BYTES
    refused_handshakes: int  # token, Origin, Host or page-count refusals
    feedback_sent: int  # frames sent to pages
    handler_errors: int
    last_problem: str


def web_dispatcher(instrument: Any, osc: OscServer | None,
                   report: Callable[[str], None] = print) -> OscServer:
    """An OscServer that is never started, for its validated `dispatch` (see the docstring).

    Sharing `limits` with the running OSC server makes a costly action's
    budget one budget, whichever surface asks."""
    dispatcher = OscServer(instrument, max_clients=MAX_PAGES * MAX_PORTS_PER_HOST + 1,
                           report=report)
    if osc is not None:
        dispatcher.limits = osc.limits
    return dispatcher


class _Pace:
    """Message pacing: a token bucket that may go into debt; claim() says how long to wait."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens = rate, burst, burst
        self.at = time.monotonic()

    def claim(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate) - 1.0
        self.at = now
        return 0.0 if self.tokens >= 0.0 else -self.tokens / self.rate


class _Page:
    """One open page: its socket, pacing, and what it is owed besides feedback."""

    def __init__(self, connection: Any, key: tuple[str, int]) -> None:
        self.connection = connection
        self.key = key
        self.pace = _Pace(PAGE_RATE, PAGE_BURST)
        self.error = ""
        self.pong = False
        self.sending: asyncio.Task | None = None


class WebServer:
    """The HTTP + WebSocket server of the browser surface (see the module docstring)."""

    def __init__(self, dispatcher: OscServer, values: Callable[[], Values],
                 host: str = "127.0.0.1", port: int = 8000, *, token: str | None = None,
                 feedback_hz: float = 20.0, report: Callable[[str], None] = print,
                 documents: dict[str, Callable[[], Any]] | None = None) -> None:
        self.dispatcher = dispatcher
        self.documents = dict(documents or {})  # path -> JSON-able producer (catalog)
        self.clients = dispatcher.clients  # the pages; dispatch marks who set what there
        self.values = values
        self.host = host
        self.requested_port = int(port)
        self.token = token  # None: no token asked (loopback only)
        self.feedback_hz = float(feedback_hz) if feedback_hz > 0 else 20.0
        self.report = report
        self.assets = {path: (_asset(name), kind) for path, (name, kind) in ASSETS.items()}
        self._pages: dict[tuple[str, int], _Page] = {}
        self._opened = 0
        self._total = _Pace(TOTAL_RATE, TOTAL_RATE)
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error = ""
        self._port = 0
        # counters (the loop thread writes them)
        self.messages = self.bad_json = self.paced = self.oversized = 0
        self.refused_handshakes = self.feedback_sent = self.handler_errors = 0
        self.last_problem = ""

    # --- lifecycle (control thread) -----------------------------------------------------
    def start(self) -> "WebServer":
        self._thread = threading.Thread(target=self._run, name="gansynth-live web", daemon=True)
        self._thread.start()
        if not self._ready.wait(10.0):
            self._error = self._error or "the web server did not start within 10 s"
        if self._error:
            self.close()
            raise WebServerError(self._error)
        return self

    def close(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stopping.set)
            except RuntimeError:  # the loop ended meanwhile
                pass
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None

    def __enter__(self) -> "WebServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0: any free port)."""
        return self._port or self.requested_port

    def stats(self) -> WebStats:
        d = self.dispatcher
        return WebStats(len(self._pages), self.messages, self.bad_json, d.bad_messages,
                        d.refused, d.limited, self.paced, self.oversized,
                        self.refused_handshakes, self.feedback_sent,
                        self.handler_errors + d.handler_errors,
                        self.last_problem or d.last_problem)

    # --- the loop thread ----------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as exc:  # noqa: BLE001 - reported to start() or the console
            self._error = self._error or f"web surface: {type(exc).__name__}: {exc}"
            if self._ready.is_set():
                self.report(self._error)
        finally:
            self._ready.set()

    async def _main(self) -> None:
        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        try:
            server = await serve(self._page, self.host, self.requested_port,
                                 process_request=self._request, max_size=MAX_MESSAGE_BYTES,
                                 max_queue=16, compression=None, close_timeout=1.0,
                                 server_header="gansynth-live", logger=log)
        except OSError as exc:
            self._error = (f"cannot open the web surface on {self.host}:{self.requested_port}: "
                           f"{exc.strerror or exc}")
            return
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        feeder = asyncio.create_task(self._feed())
        try:
            await self._stopping.wait()
        finally:
            feeder.cancel()
            server.close()
            await server.wait_closed()

    def _request(self, connection: Any, request: Any) -> Any:
        """HTTP: the assets, /state.json and the documents; for /ws, the access checks (None: go on)."""
        path = urlsplit(request.path).path
        host = request.headers.get("Host")
        if path == "/ws":
            why = refusal(request.path, host, request.headers.get("Origin"), self.token,
                          websocket=True)
            if not why and len(self._pages) >= MAX_PAGES:
                why = f"{MAX_PAGES} pages are open already"
            if why:
                self.refused_handshakes += 1
                self.last_problem = f"web: refused a connection: {printable(why)}"
                return connection.respond(403, why + "\n")
            return None
        if path == "/state.json" or path in self.documents:
            why = refusal(request.path, host, None, self.token, websocket=False)
            if why:
                self.refused_handshakes += 1
                return connection.respond(403, why + "\n")
            if path == "/state.json":
                body = json.dumps({a: list(v) for a, v in self.values().items()})
            else:
                try:
                    body = json.dumps(self.documents[path](), allow_nan=False)
                except Exception as exc:  # noqa: BLE001 - say it, keep serving
                    self.handler_errors += 1
                    self.last_problem = f"web {path}: {type(exc).__name__}: {printable(exc)}"
                    return connection.respond(500, "cannot list that now\n")
            return _response(connection, body, "application/json")
        asset = self.assets.get(path)
        if asset is None:
            return connection.respond(404, "not found\n")
        return _response(connection, *asset)

    async def _page(self, connection: Any) -> None:
        """One page's socket: read, pace and dispatch its messages until it closes."""
        from websockets.exceptions import ConnectionClosed
        from websockets.frames import CloseCode

        self._opened += 1
        key = (f"web{self._opened}", 0)
        page = self._pages[key] = _Page(connection, key)
        self.clients.add(key, full=True)  # the first round sends it everything
        try:
            async for frame in connection:
                wait = max(page.pace.claim(), self._total.claim())
                if wait > 0.0:
                    self.paced += 1
                    await asyncio.sleep(wait)  # meanwhile TCP pushes back on the page
                self._handle(page, frame)
        except ConnectionClosed as exc:
            if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self.oversized += 1
                self.last_problem = f"web: closed a page that sent over {MAX_MESSAGE_BYTES} bytes"
        finally:
            del self._pages[key]
            for client in self.clients.host_of_port(key[0]):
                self.clients.remove(client)

    def _handle(self, page: _Page, frame: str | bytes) -> None:
        self.messages += 1
        try:
            address, args = parse_message(frame)
        except BadMessage as exc:
            self.bad_json += 1
            self.last_problem = f"web: {exc}"
            page.error = str(exc)
            return
        if address in ("/state", "/register"):  # everything again, next round
            self.clients.add(page.key, full=True)
            return
        if address == "/ping":
            page.pong = True
            return
        if address == "/unregister":
            return  # an open page is always fed
        d = self.dispatcher
        before = (d.bad_messages, d.refused, d.limited, d.handler_errors)
        try:
            d.dispatch(address, args, page.key)
        except Exception as exc:  # noqa: BLE001 - a handler bug must not close the socket
            self.handler_errors += 1
            self.last_problem = f"web {printable(address[:80])}: {type(exc).__name__}: " \
                                f"{printable(exc)}"
            page.error = self.last_problem
            log.debug("web dispatch failed for %s", address[:80], exc_info=True)
            return
        if (d.bad_messages, d.refused, d.limited, d.handler_errors) != before:
            page.error = d.last_problem

    async def _feed(self) -> None:
        period = 1.0 / self.feedback_hz
        while True:
            await asyncio.sleep(period)
            if not self._pages:
                continue
            try:
                self._feed_round()
            except Exception as exc:  # noqa: BLE001 - keep feeding
                self.last_problem = f"web feedback: {type(exc).__name__}: {printable(exc)}"
                log.debug("web feedback failed", exc_info=True)

    def _feed_round(self) -> None:
        for key in self._pages:
            if not self.clients.host_of_port(key[0]):
                self.clients.add(key, full=True)  # it unregistered itself via a pattern
        ready = lambda c: c in self._pages and self._pages[c].sending is None  # noqa: E731
        due = dict(self.clients.due(self.values(), ready))
        for key, page in self._pages.items():
            if page.sending is not None:
                continue
            messages: list[tuple[str, Any]] = list(due.get(key, {}).items())
            if page.error:
                messages.append(("/error", (page.error[:200],)))
                page.error = ""
            if page.pong:
                messages.append(("/pong", ()))
                page.pong = False
            if messages:
                page.sending = asyncio.create_task(self._send(page, encode(messages)))

    async def _send(self, page: _Page, text: str) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            await page.connection.send(text)
            self.feedback_sent += 1
        except ConnectionClosed:
            pass
        finally:
            page.sending = None


def _asset(name: str) -> str:
    return (resources.files(__package__) / "static" / name).read_text(encoding="utf-8")


def _response(connection: Any, body: str, kind: str) -> Any:
    response = connection.respond(200, body)
    del response.headers["Content-Type"]
    response.headers["Content-Type"] = kind
    for name, value in SECURITY_HEADERS:
        response.headers[name] = value
    return response
