"""RemoteGenerator against a stand-in server (the standard library's): addresses it
refuses, retries, and which failures are `GeneratorUnavailable` (the real Ray server:
tests/integration/test_cluster.py)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from gansynth_live.banks.builder import BuildSettings
from gansynth_live.banks.generators import GeneratorError, GeneratorUnavailable, process_waves
from gansynth_live.banks.source import ModelStamp
from gansynth_live.cluster import wire
from gansynth_live.cluster.client import AddressError, RemoteGenerator, check_address
from gansynth_live.errors import GansynthLiveError

STAMP = ModelStamp(fingerprint="f00d", name="tones", latent_size=4, pitch_min=24,
                   num_pitches=61, sample_rate=16000, audio_length=64000, batch_size=8)
SETTINGS = BuildSettings(highest_pitch=90)
FAST = (0.01, 0.01, 0.01)


@pytest.mark.parametrize("url, expected", [
    ("http://127.0.0.1:8100", ("127.0.0.1", 8100)),
    ("http://127.9.8.7/", ("127.9.8.7", 8100)),
    ("http://localhost:9000", ("localhost", 9000)),
    ("http://LOCALHOST", ("localhost", 8100)),
    ("http://[::1]:8101", ("::1", 8101)),
])
def test_loopback_addresses_are_taken(url, expected):
    assert check_address(url) == expected


@pytest.mark.parametrize("url, reason", [
    ("http://10.0.0.5:8100", "SSH tunnel"),
    ("http://gpu-box:8100", "not on this machine"),
    ("http://[2001:db8::1]:8100", "--allow-insecure"),
    ("https://127.0.0.1:8100", "must start with http://"),
    ("127.0.0.1:8100", "must start with http://"),
    ("http://127.0.0.1:8100/generate", "HOST\\[:PORT\\] alone"),
    ("http://user:pw@127.0.0.1:8100", "alone"),
    ("http://127.0.0.1:99999", "(?i)port"),
    ("http://127.0.0.1:0", "port 0"),
    ("http://:8100", "alone"),
])
def test_other_addresses_are_refused_in_one_line(url, reason):
    with pytest.raises(AddressError, match=reason) as info:
        check_address(url)
    assert isinstance(info.value, GansynthLiveError) and "\n" not in str(info.value)
    with pytest.raises(AddressError):
        RemoteGenerator(url, SETTINGS)


def test_allow_insecure_takes_a_plain_address_elsewhere():
    assert check_address("http://10.0.0.5:8100", allow_insecure=True) == ("10.0.0.5", 8100)
    assert RemoteGenerator("http://gpu-box", SETTINGS, allow_insecure=True).name == \
        "remote http://gpu-box"
    with pytest.raises(AddressError):
        check_address("https://10.0.0.5:8100", allow_insecure=True)


def tone(pitch: int) -> np.ndarray:
    t = np.arange(STAMP.audio_length) / STAMP.sample_rate
    hz = 440.0 * 2 ** ((pitch - 69) / 12)
    env = np.clip(t / 0.02, 0, 1) * np.where(t < 3.0, 1.0, np.exp(-(t - 3.0) / 0.05))
    return (0.3 * np.sin(2 * np.pi * hz * t) * env).astype(np.float32)


class StandIn(ThreadingHTTPServer):
    """Answers as a generate server would; `script` holds statuses to answer first."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[int] = []
        self.hang_s = 0.0
        self.fingerprint = STAMP.fingerprint
        self.calls = 0
        self.formats: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: StandIn

    def log_message(self, *args) -> None:
        pass

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:
            pass  # the client gave up waiting (the timeout test)

    def do_GET(self) -> None:
        self.server.calls += 1
        self.answer(200, json.dumps(asdict(STAMP)).encode())

    def do_POST(self) -> None:
        self.server.calls += 1
        body = self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(self.server.hang_s)
        if self.server.script:
            status = self.server.script.pop(0)
            self.answer(status, f"scripted {status}\nsecond line".encode())
            return
        try:
            request = wire.parse_request(body, STAMP.latent_size, STAMP.pitch_range)
        except wire.WireError as exc:
            self.answer(400, str(exc).encode())
            return
        self.server.formats.append(request.format)
        waves = np.stack([tone(p) for p in request.pitches])
        self.answer(200, wire.encode_waves(waves, request.format, 0.5, self.server.fingerprint))


@pytest.fixture
def stand_in():
    server = StandIn()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_notes_are_processed_here_from_the_servers_waves(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, retry_delays_s=FAST)
    assert not gen.running and gen.name == f"remote {stand_in.url}"
    assert gen.start() == STAMP and gen.running
    notes, generate_s, processing_s = gen.render(np.zeros(4), [60, 84], {87: 84})
    expected = process_waves(np.stack([tone(60), tone(84)]), [60, 84], 16000, SETTINGS,
                             {87: 84})
    assert [n.pitch for n in notes] == [60, 84, 87]
    assert generate_s == 0.5 and processing_s > 0
    for got, want in zip(notes, expected):
        assert (got.loop_start, got.loop_end) == (want.loop_start, want.loop_end)
        assert np.allclose(got.samples, want.samples, atol=1e-5)
    assert stand_in.formats == [wire.DEFAULT_FORMAT]


def test_more_pitches_than_a_request_takes_are_split(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, retry_delays_s=FAST, wire_format="i16")
    pitches = [60] * (wire.MAX_PITCHES + 2)
    notes, _, _ = gen.render(np.zeros(4), pitches, {})
    assert len(notes) == len(pitches) and stand_in.formats == ["i16", "i16"]


def test_5xx_is_retried_then_unavailable(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, retry_delays_s=FAST)
    gen.start()
    stand_in.script = [503, 500]
    assert len(gen.render(np.zeros(4), [60], {})[0]) == 1
    assert gen.retries == 2  # counted: the cluster tests read it to know a kill cost a try
    stand_in.script = [503] * 4
    with pytest.raises(GeneratorUnavailable, match=r"\(HTTP 503: scripted 503\)$"):
        gen.render(np.zeros(4), [60], {})
    assert gen.retries == 2 + len(FAST)
    assert not gen.running
    assert gen.render(np.zeros(4), [60], {}) and gen.running  # back: the stamp is asked again


def test_a_refused_request_is_an_error_not_an_outage(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, retry_delays_s=FAST)
    gen.start()
    calls = stand_in.calls
    with pytest.raises(GeneratorError, match="HTTP 400: pitch 12 is outside") as info:
        gen.render(np.zeros(4), [12], {})
    assert not isinstance(info.value, GeneratorUnavailable)
    assert stand_in.calls == calls + 1  # not retried


def test_waves_from_another_model_are_refused(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, retry_delays_s=FAST)
    gen.start()
    stand_in.fingerprint = "beef"
    with pytest.raises(GeneratorError, match="another model"):
        gen.render(np.zeros(4), [60], {})


def test_nobody_listening_is_unavailable_at_once():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: nobody listens there
    gen = RemoteGenerator(f"http://127.0.0.1:{port}", SETTINGS)
    t0 = time.monotonic()
    with pytest.raises(GeneratorUnavailable, match="unavailable"):
        gen.start()
    assert time.monotonic() - t0 < 5.0  # the retries' ~1 s; no timed bound is tight here


def test_a_server_that_does_not_answer_in_time_is_unavailable(stand_in):
    gen = RemoteGenerator(stand_in.url, SETTINGS, timeout_s=0.2, retry_delays_s=FAST)
    gen.start()
    stand_in.hang_s = 1.0
    with pytest.raises(GeneratorUnavailable, match="did not answer"):
        gen.render(np.zeros(4), [60], {})
