"""A zip server on 127.0.0.1 for the fetch-model tests: real sockets, told how to misbehave.

It can cut the connection, trickle, ignore Range, fail, redirect, lie about the
length, send ETag / Last-Modified and honour If-Range like a real server, and speak
TLS with the test certificate in tests/fixtures/tls/ (trusted through SSL_CERT_FILE).
"""

from __future__ import annotations

import io
import re
import ssl
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixture_paths import FIXTURES
from gansynth_live.cli import main
from gansynth_live.model.fetch import MARKER

TLS = FIXTURES / "tls"
PATH = "/acoustic_only.zip"


@dataclass
class Behaviour:
    """What the next responses do; tests change it between runs."""

    body: bytes = b""
    status: int = 200
    cut_after: int | None = None  # close after this many body bytes of each response
    trickle_bytes: int | None = None  # send this many bytes, pause, repeat
    ignore_range: bool = False
    etag: str | None = None  # sent with every answer; If-Range must match it to resume
    last_modified: str | None = None
    content_length: int | None = None  # announce this instead of the real length
    no_length: bool = False  # send no Content-Length (the body ends when the socket closes)
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (302)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        server: ZipServer = self.server.owner  # type: ignore[attr-defined]
        how = server.behaviour
        requested = self.headers.get("Range")
        server.ranges.append(requested)
        server.if_ranges.append(self.headers.get("If-Range"))
        server.paths.append(self.path)
        if self.path in how.redirects:
            self.send_response(302)
            self.send_header("Location", how.redirects[self.path])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if how.status != 200:
            self.send_error(how.status)
            return
        body, start = how.body, 0
        match = re.fullmatch(r"bytes=(\d+)-", requested or "")
        if_range = self.headers.get("If-Range")
        fresh = if_range is None or if_range in (how.etag, how.last_modified)
        if match and not how.ignore_range and fresh:
            start = int(match.group(1))
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        payload = body[start:]
        self.send_header("Content-Type", "application/zip")
        if how.etag:
            self.send_header("ETag", how.etag)
        if how.last_modified:
            self.send_header("Last-Modified", how.last_modified)
        if how.no_length:
            self.close_connection = True
        else:
            length = len(payload) if how.content_length is None else how.content_length
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if how.cut_after is not None or how.content_length is not None:
            self.close_connection = True
        if how.cut_after is not None:
            payload = payload[:how.cut_after]
        step = how.trickle_bytes or max(len(payload), 1)
        try:
            for i in range(0, len(payload), step):
                if server.stopping.is_set():
                    break
                self.wfile.write(payload[i:i + step])
                self.wfile.flush()
                if how.trickle_bytes:
                    time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True


class _TLSServer(ThreadingHTTPServer):
    """Handshakes in the handler's thread, so one stuck client cannot block accept()."""

    context: ssl.SSLContext

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), address

    def finish_request(self, request, client_address) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        super().finish_request(request, client_address)


class ZipServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0) that records every request."""

    def __init__(self, tls: bool = False) -> None:
        self.behaviour = Behaviour()
        self.ranges: list[str | None] = []
        self.if_ranges: list[str | None] = []
        self.paths: list[str] = []
        self.stopping = threading.Event()
        self.tls = tls
        self.httpd = (_TLSServer if tls else ThreadingHTTPServer)(("127.0.0.1", 0), _Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
            self.httpd.context = context
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def at(self, path: str = PATH, host: str = "127.0.0.1") -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host}:{self.httpd.server_address[1]}{path}"

    @property
    def url(self) -> str:
        return self.at()

    def close(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def zip_tree(folder: Path, prefix: str = "acoustic_only/", extra: dict | None = None) -> bytes:
    """A zip of `folder` under `prefix`, laid out like magenta's released zips."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        if prefix:
            zf.writestr(prefix, b"")
        for path in sorted(folder.rglob("*")):
            name = prefix + path.relative_to(folder).as_posix()
            zf.write(path, name + "/" if path.is_dir() else name)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by relative path, without the marker fetch-model adds."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MARKER}


def fetch(url: str, dest: Path, *extra: str) -> int:
    return main(["fetch-model", "acoustic_only", "--url", url, "--dest", str(dest), *extra])


@pytest.fixture(scope="module")
def fixture_zip(tiny_model_dir) -> bytes:
    return zip_tree(tiny_model_dir)


@pytest.fixture
def server(fixture_zip):
    srv = ZipServer()
    srv.behaviour.body = fixture_zip
    yield srv
    srv.close()


@pytest.fixture
def tls_server(fixture_zip, monkeypatch):
    """An https server whose certificate this process trusts (SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(TLS / "ca.pem"))
    srv = ZipServer(tls=True)
    srv.behaviour.body = fixture_zip
    yield srv
    srv.close()
