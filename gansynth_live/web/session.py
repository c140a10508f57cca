"""How `serve` opens the web surface: the token decision and the URL it prints.

Kept out of live/session.py so the session only wires: which bind needs a
token, and what address a phone should open for a wildcard bind, are the
web surface's business. On a network bind it also prints the link as a QR code
(segno), so a phone's camera opens it, token and all.
"""

from __future__ import annotations

import io
import socket
from typing import Any, Callable

from ..inputs.osc import OscServer, is_loopback
from ..inputs.osc_feedback import Values
from .access import new_token
from .catalog import instrument_documents
from .server import WebServer


def open_web(config: Any, dispatcher: OscServer, values: Callable[[], Values],
             report: Callable[[str], None]) -> tuple[WebServer, str]:
    """Start the surface as the config says; (server, the URL to open). WebServerError."""
    host = config.web_host
    token = None if is_loopback(host) else new_token()
    if token is not None:
        report(f"web surface open to the network on {host}: only the link with its token "
               "gets in; keep it to yourself")
    server = WebServer(dispatcher, values, host, config.web_port, token=token,
                       feedback_hz=config.feedback_rate or 20.0, report=report,
                       documents=instrument_documents(dispatcher.instrument)).start()
    url = surface_url(host, server.port, token)
    if token is not None:  # a phone is what opens it: scan rather than type the token
        code = qr_text(url)
        if code:
            report(f"scan to open the web surface on a phone or tablet:\n{code}")
    return server, url


def qr_text(url: str) -> str:
    """`url` as a QR code drawn with Unicode half blocks (two modules a character row),
    for a terminal; '' if segno is missing. Dark on light, with a quiet zone."""
    try:
        import segno
    except ImportError:  # a dependency; an odd install still plays
        return ""
    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue().rstrip("\n")


def surface_url(host: str, port: int, token: str | None) -> str:
    """http://HOST:PORT/ (with ?token=...); a wildcard bind shows this machine's address."""
    if host in ("0.0.0.0", "::", ""):
        host = _this_machine() or host
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def _this_machine() -> str:
    """The address other machines most likely reach this one at ('' if unknown).

    A UDP socket 'connected' towards a private address sends nothing but makes
    the kernel pick the outgoing interface."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("10.254.254.254", 9))
            address = probe.getsockname()[0]
    except OSError:
        return ""
    return "" if address.startswith("127.") or address == "0.0.0.0" else address
