"""`RemoteGenerator`: notes from a generate server, with the standard library only.

The laptop on stage needs no Ray: it sends a latent and pitches over HTTP
(http.client), gets the model's waves back (wire.py), and processes them into notes
here with the same function as every other generator (`process_waves`), so a
remote bank equals a local one within float32 rounding.

Security: the server has no authentication or encryption (Ray Serve's HTTP has none), so the
client only talks plain HTTP to this machine (127.0.0.0/8, ::1, localhost) unless told:
reach a GPU box through an SSH tunnel (`ssh -N -L 8100:127.0.0.1:8100 gpu-box`, then
http://127.0.0.1:8100), or pass `allow_insecure` on a private network you trust.

Faults: a connection refused, reset or dropped, or a 5xx while Ray restarts a replica,
is retried a few times with backoff (about a second in all), then `GeneratorUnavailable`,
so the bank service can fall back to local generation at once; a server that does not
answer in `timeout_s` is unavailable too (60 s by default, for the offline commands'
requests of up to 128 pitches; `serve` uses LIVE_TIMEOUT_S, below). A 4xx (a request
this client got wrong) is a `GeneratorError`, never retried.

Threads: used by one thread at a time (the bank worker); each request opens its own
connection, so nothing is shared between calls but the stamp.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import numpy as np

from ..banks.builder import BuildSettings
from ..banks.generators import GeneratorError, GeneratorUnavailable, Rendered, process_waves
from ..banks.source import ModelStamp
from ..errors import GansynthLiveError
from . import wire

RETRY_DELAYS_S = (0.1, 0.3, 0.6)  # after each failed try: four tries, ~1 s of waiting
CONNECT_TIMEOUT_S = 2.0
# serve's read timeout. Its bank worker asks for one batch at a time, sized to about 1 s
# of generation (BankService.batch_seconds); measured here (shipped model, generate-server
# with one replica on this 2-core VM, serve's settings, 27 requests of 1-8 notes) a
# request took 0.20 s median and 0.72 s at most. 10 s is ten batches' worth: room for a
# loaded server or another client's batch queued ahead, while a server that accepts and
# never answers (a hung box behind a live SSH tunnel) costs 10 s before the fallback
# takes over, not 60. The timeout bounds each wait for bytes, so a slow link that keeps
# sending is not cut off.
LIVE_TIMEOUT_S = 10.0
MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # 128 notes of a 4 s model as float32 take 33 MB
_TRANSIENT = (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead,
              http.client.BadStatusLine)


class AddressError(GansynthLiveError, ValueError):
    """A generator address this client will not use."""


def check_address(url: str, allow_insecure: bool = False) -> tuple[str, int]:
    """(host, port) of an http:// generator URL; AddressError, one line, for a URL that is
    not plain http:// to host[:port], or that leaves this machine without `allow_insecure`."""
    try:
        parts = urlsplit(url)
        port = wire.DEFAULT_PORT if parts.port is None else parts.port
    except ValueError as exc:
        raise AddressError(f"generator address {url!r}: {exc}") from None
    if port == 0:
        raise AddressError(f"generator address {url!r}: port 0")
    if parts.scheme != "http":
        raise AddressError(f"generator address {url!r} must start with http:// (for a GPU "
                           "box elsewhere use an SSH tunnel: ssh -N -L 8100:127.0.0.1:8100 "
                           "HOST, then http://127.0.0.1:8100)")
    host = parts.hostname
    if not host or parts.path not in ("", "/") or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise AddressError(f"generator address {url!r} must be http://HOST[:PORT] alone")
    if not allow_insecure and not is_loopback(host):
        raise AddressError(
            f"generator address {url!r} is not on this machine, and the generate server has "
            "no authentication or encryption: reach it through an SSH tunnel (ssh -N -L "
            "8100:127.0.0.1:8100 HOST, then http://127.0.0.1:8100), or on a private network "
            "you trust allow it (serve --allow-insecure-generator, bank build --allow-insecure)")
    return host, port


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


class RemoteGenerator:
    """A NoteGenerator (banks/generators.py) whose model runs behind a generate server."""

    def __init__(self, url: str, settings: BuildSettings, *, allow_insecure: bool = False,
                 timeout_s: float = 60.0, wire_format: str = wire.DEFAULT_FORMAT,
                 retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S) -> None:
        if wire_format not in wire.FORMATS:
            raise ValueError(f"wire_format must be one of {', '.join(wire.FORMATS)}")
        self.host, self.port = check_address(url, allow_insecure)
        self.url = url.rstrip("/")
        self.name = f"remote {self.url}"
        self.settings = settings
        self.timeout_s = timeout_s
        self.wire_format = wire_format
        self.retry_delays_s = retry_delays_s
        self.warm_up_s = 0.0
        self.retries = 0  # transient failures tried again (a killed replica's 5xx or drop)
        self._stamp: ModelStamp | None = None
        self._reachable = False

    @property
    def running(self) -> bool:
        """Started, and the last request reached the server."""
        return self._stamp is not None and self._reachable

    def start(self) -> ModelStamp:
        """The server's model stamp (asked once; again after the server was unreachable)."""
        if self._stamp is None or not self._reachable:
            t0 = time.perf_counter()
            body = self._request("GET", "/stamp")
            try:
                stamp = ModelStamp(**json.loads(body))
            except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
                raise GeneratorError(f"{self.url}/stamp is not a model stamp: {exc}") from None
            if self._stamp is not None and stamp.fingerprint != self._stamp.fingerprint:
                raise GeneratorError(f"{self.url} now serves another model "
                                     f"({stamp.name}, {stamp.fingerprint})")
            self._stamp = stamp
            self.warm_up_s = time.perf_counter() - t0
        return self._stamp

    def render(self, latent: np.ndarray, pitches: list[int],
               extensions: dict[int, int]) -> Rendered:
        stamp = self.start()
        waves, generate_s = [], 0.0
        for first in range(0, len(pitches), wire.MAX_PITCHES):
            part = pitches[first:first + wire.MAX_PITCHES]
            request = wire.GenerateRequest(np.asarray(latent, np.float64), tuple(part),
                                           self.wire_format)
            body = self._request("POST", "/generate", request.to_json())
            try:
                part_waves, header = wire.decode_waves(body)
            except wire.WireError as exc:
                raise GeneratorError(f"{self.url}: {exc}") from None
            if header.fingerprint != stamp.fingerprint:
                raise GeneratorError(f"{self.url} now serves another model "
                                     f"({header.fingerprint}, not {stamp.fingerprint})")
            if header.shape != (len(part), stamp.audio_length):
                raise GeneratorError(f"{self.url} sent waves of shape {header.shape} for "
                                     f"{len(part)} pitches")
            waves.append(part_waves)
            generate_s += header.generate_s
        t0 = time.perf_counter()
        notes = process_waves(np.concatenate(waves), list(pitches), stamp.sample_rate,
                              self.settings, extensions)
        return notes, generate_s, time.perf_counter() - t0

    def close(self) -> None:
        """Nothing held between requests."""

    # --- HTTP ---------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """The response body of a 200; retries transient failures, then
        GeneratorUnavailable; GeneratorError for a 4xx."""
        reason = ""
        for delay_s in (*self.retry_delays_s, None):
            try:
                status, data = self._once(method, path, body)
            except _TRANSIENT as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            except (TimeoutError, socket.timeout):
                self._reachable = False
                raise GeneratorUnavailable(f"{self.url} did not answer {method} {path} in "
                                           f"{self.timeout_s:g} s") from None
            except OSError as exc:  # no route to host, name not found: not worth a retry
                self._reachable = False
                raise GeneratorUnavailable(f"{self.url} unreachable: {exc}") from None
            else:
                if status == 200:
                    self._reachable = True
                    return data
                line = data[:300].decode("utf-8", "replace").strip().splitlines()
                reason = f"HTTP {status}: {line[0] if line else ''}"
                if status < 500:
                    raise GeneratorError(f"{self.url}{path} refused the request: {reason}")
            if delay_s is not None:
                self.retries += 1
                time.sleep(delay_s)
        self._reachable = False
        raise GeneratorUnavailable(f"{self.url} unavailable ({reason})")

    def _once(self, method: str, path: str, body: bytes | None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=CONNECT_TIMEOUT_S)
        try:
            conn.connect()
            assert conn.sock is not None
            conn.sock.settimeout(self.timeout_s)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_RESPONSE_BYTES + 1)
            if len(data) > MAX_RESPONSE_BYTES:
                raise GeneratorError(f"{self.url}{path} answered with over "
                                     f"{MAX_RESPONSE_BYTES} bytes")
            return response.status, data
        finally:
            conn.close()
