"""The web surface's link as a QR code in the terminal, on a network bind only."""

from __future__ import annotations

from types import SimpleNamespace

import segno
from recording_instrument import RecordingInstrument

from gansynth_live.web.server import web_dispatcher
from gansynth_live.web.session import open_web, qr_text

HALF = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}  # (top, bottom) light


def modules(text):
    """The code's dark/light matrix back from the half-block drawing (True: dark)."""
    rows = []
    for line in text.split("\n"):
        top, bottom = zip(*(HALF[c] for c in line))
        rows += [[not v for v in top], [not v for v in bottom]]
    return rows


def test_the_drawing_is_the_qr_code_of_the_url():
    url = "http://192.168.1.20:8000/?token=abcdefghijklmnopqrstuv"
    text = qr_text(url)
    assert set(text) <= set(HALF) | {"\n"}
    rows = modules(text)
    matrix = [[bool(v) for v in row] for row in segno.make(url, error="l").matrix]
    size = len(matrix)
    assert [row[2:2 + size] for row in rows[2:2 + size]] == matrix  # inside the quiet zone
    assert not any(rows[0]) and not any(rows[1])  # the quiet zone is light


def serve_web(host, lines):
    config = SimpleNamespace(web_host=host, web_port=0, feedback_rate=20.0)
    server, url = open_web(config, web_dispatcher(RecordingInstrument(), None), dict,
                           lines.append)
    server.close()
    return url


def test_a_network_bind_prints_the_link_as_a_qr_code_and_loopback_does_not():
    lines: list[str] = []
    url = serve_web("0.0.0.0", lines)
    assert "?token=" in url
    shown = [line for line in lines if line.startswith("scan to open")]
    assert len(shown) == 1 and shown[0].split("\n", 1)[1] == qr_text(url)
    lines.clear()
    serve_web("127.0.0.1", lines)
    assert not any("scan" in line for line in lines)
