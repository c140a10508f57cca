"""A sender that makes a handler fail on every packet: a few escaped lines, not a log flood.

Issue 15: 200 such packets wrote 188 KB of tracebacks, and the raw address,
ESC sequences included, reached the terminal. The address used here matches
/note through a brace alternative that holds terminal escapes (clear the
screen, retitle the window, a C1 CSI), and the instrument raises an
exception quoting what it was given.
"""

from __future__ import annotations

import logging
import unicodedata

from osc_peer import message

from gansynth_live.inputs.osc import OscServer

SENDER = ("127.0.0.1", 50000)
HOSTILE = "/{note,\x1b[2J\x1b]0;owned\x07\x9b31m\u202e}"


class Broken:
    """An instrument whose note handler has a bug that echoes its input."""

    def __getattr__(self, name):
        def call(**kwargs):
            raise RuntimeError(f"bug in {name} \x1b[1A\x1b[2K{kwargs}\n  File fake")
        return call


def raw_controls(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf")]


def flood(caplog, packets: int = 200) -> tuple[OscServer, list[str], str]:
    """Lines reported, and the text logged, for `packets` failing datagrams."""
    lines: list[str] = []
    server = OscServer(Broken(), "127.0.0.1", 0, report=lines.append)
    data = message(HOSTILE, 60, 100)
    for _ in range(packets):
        server.handle_datagram(data, SENDER)
    server.close()  # says how many were held back
    return server, lines, caplog.text


def test_200_failing_packets_make_a_small_escaped_log(caplog):
    caplog.set_level(logging.INFO)
    server, lines, logged = flood(caplog)
    assert server.handler_errors == 200
    printed = "\n".join(lines)
    assert len(lines) <= 8 and len(printed) + len(logged) < 4000, printed + logged
    assert [raw_controls(line) for line in lines + logged.splitlines() if raw_controls(line)] == []
    assert "\\x1b[2J" in printed and "RuntimeError" in printed  # escaped, still readable
    assert "195 more OSC handler error(s)" in lines[-1]
    assert "Traceback" not in logged


def test_tracebacks_only_at_the_debug_level_and_only_for_the_lines_shown(caplog):
    caplog.set_level(logging.DEBUG, logger="gansynth_live.inputs.osc")
    server, lines, _ = flood(caplog)
    records = [r for r in caplog.records if r.name == "gansynth_live.inputs.osc"]
    assert 1 <= len(records) <= 5 and all(r.exc_info for r in records)
    assert all(raw_controls(r.getMessage()) == [] for r in records)
