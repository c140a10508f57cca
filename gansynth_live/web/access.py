"""Who may use the surface: the checks made on every WebSocket handshake and state query.

The socket plays notes and saves presets, so it is guarded like the OSC port
and a little more, because any web page the performer opens could try it:

- Loopback by default. There the Host header must name a loopback address
  (127.x, ::1, localhost): a hostile page using DNS rebinding reaches
  127.0.0.1 under its own name, and its Origin would then match its Host.
- A non-loopback bind needs a token (random per start, printed as part of the
  URL); it travels as `?token=` and is compared in constant time.
- A browser always sends Origin on a WebSocket handshake: it must be
  `http://` + the Host the request was sent to, so another site's page cannot
  drive the synth (cross-site WebSocket hijacking). A request without Origin
  comes from a program, not a page, and the other checks still apply.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import parse_qs, urlsplit


def new_token() -> str:
    """A random token for one `serve` run (128 bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def host_name(host_header: str) -> str:
    """The host part of a Host header ('[::1]:8000' -> '::1', 'a:80' -> 'a')."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def is_loopback_host(host_header: str) -> bool:
    name = host_name(host_header)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def query_token(path: str) -> str:
    values = parse_qs(urlsplit(path).query).get("token", [])
    return values[0] if values else ""


def refusal(path: str, host: str | None, origin: str | None, token: str | None,
            websocket: bool) -> str:
    """'' if the request may go on, else why not (one line, shown to the page)."""
    if not host:
        return "no Host header"
    if token is None:
        if not is_loopback_host(host):
            return "this surface only answers to 127.0.0.1 or localhost"
    elif not hmac.compare_digest(query_token(path).encode(), token.encode()):
        return "wrong or missing token: open the link with ?token=... that serve printed"
    if websocket and origin is not None and origin.strip().lower() != f"http://{host.lower()}":
        return f"Origin {origin[:80]!r} is not this page's ({host[:80]!r})"
    return ""
