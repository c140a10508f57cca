"""What hostile OSC address patterns cost the server: little, whatever their shape.

Issue 15: a pattern such as `/` + 24 `*` + `!`, turned into a regex, backtracked
exponentially (18 stars held the receive thread 3.3 s and the audio callback
waited 2.75 s for the interpreter lock; 24 stars, 113 s). Every datagram here
goes through `OscServer.handle_datagram`, the receive thread's path, against the
full address table. These are guards against a hang, not speed targets (those
live in bench/inputs.py): the whole family gets 10 s and one datagram 2 s,
hundreds of times what the linear matcher takes (milliseconds), so a machine
busy training cannot make them fail (a 1 s bound once did), yet far below what
a backtracking matcher spends (3.3 s on one 18-star datagram, 113 s on 24).
"""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st
from osc_peer import message

from gansynth_live.inputs.osc import OscServer

SENDER = ("127.0.0.1", 50000)


class Anything:
    """An instrument that accepts every call."""

    def __getattr__(self, name):
        return lambda **kwargs: None


def families() -> list[str]:
    out: list[str] = []
    for n in (1, 8, 18, 24, 40, 100, 200, 254):
        out += ["/" + "*" * n + "!", "/" + "*" * n, "/" + "*" * n + "x" + "*" * n + "!",
                "/corner/" + "*" * n + "/" + "*" * n + "!", "/" + "*a" * (n // 2) + "!",
                "/" + "?*" * (n // 2) + "!", "/" + "*?" * (n // 2), "/" + "{,}*" * (n // 4),
                "/" + "[a-z]*" * (n // 6) + "!", "/" + "*[!x]" * (n // 5) + "!",
                "/" + "{" * n + "a,b" + "}" * n, "/{{{a,b},c},d}" * max(1, n // 14),
                "/[" + "a-z" * (n // 3) + "]*", "/[!" + "x" * n + "]" + "*" * 10 + "!",
                "/*" * min(n, 20), "/a" * n, "/" + "*/" * (n // 2) + "*!",
                "/{" + ",".join("*" * (i % 7) + "o" for i in range(n // 3)) + "}*!",
                "/n" + "*o" * (n // 2) + "*te", "/" + "\u00fc*" * (n // 2) + "\U0001F600"]
    out += ["/" + "*" * 255, "/" + "*" * 256, "/" + "*" * 10000 + "!", "/note", "/corner/1/next"]
    return out


def test_no_pattern_of_the_families_hangs_the_receive_thread():
    server = OscServer(Anything(), "127.0.0.1", 0, report=lambda text: None)
    datagrams = [message(p, 1.0) for p in families()]
    start = time.perf_counter()
    for data in datagrams:
        server.handle_datagram(data, SENDER)
    elapsed = time.perf_counter() - start
    assert elapsed < 10.0, f"{len(datagrams)} patterns took {elapsed:.2f} s"
    stats = server.stats()
    assert stats.packets == len(datagrams) and stats.handler_errors == 0
    assert stats.rejected_patterns >= 2  # over the length or part bounds, counted


wild = st.text(alphabet="*?[]{},!-/ano", min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(st.lists(wild, min_size=1, max_size=5))
def test_no_random_pattern_hangs_the_receive_thread(texts):
    server = OscServer(Anything(), "127.0.0.1", 0, report=lambda text: None)
    for text in texts:
        data = message("/" + text)
        start = time.perf_counter()
        server.handle_datagram(data, SENDER)
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0, f"{text!r} took {elapsed:.2f} s"
    assert server.stats().handler_errors == 0
