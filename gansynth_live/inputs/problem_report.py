"""Problems that senders cause, reported without letting them flood the log or drive the terminal.

Two dangers of printing what came from the network (an OSC address, an
argument, an exception message quoting either):

- control characters: an address holding ESC sequences can move the cursor,
  clear the screen, retitle the window or rewrite the status line when it is
  printed raw; a newline forges log lines. `printable` escapes control and
  format characters the way `repr` does and cuts the text short;
- volume: a sender can trigger the same failure for every packet (200 packets
  once made 188 KB of tracebacks). `ProblemReport` passes the first `burst`
  reports of a kind, then only counts them and prints "N more ..." at most
  every `every_s` seconds; after a quiet `every_s` the kind starts afresh.
  Tracebacks are for the debug log level, not for this report.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Callable

# control, format (bidi overrides), surrogates, private use, unassigned, line/paragraph separators
_ESCAPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MAX_PRINTED = 120


def printable(text: object, limit: int = MAX_PRINTED) -> str:
    """`text` safe for a terminal and a log line: controls escaped, at most `limit` kept."""
    text = str(text)
    out = []
    for char in text[:limit]:
        if char == "\\" or unicodedata.category(char) in _ESCAPED_CATEGORIES:
            out.append(ascii(char)[1:-1])  # \x1b, \n, \u202e, \\
        else:
            out.append(char)
    if len(text) > limit:
        out.append(f"... ({len(text)} characters)")
    return "".join(out)


@dataclass
class _Kind:
    reported: int = 0  # in the current burst
    suppressed: int = 0  # since the last summary
    last_text: str = ""
    last_seen: float = -1e9
    summary_at: float = 0.0


class ProblemReport:
    """Rate-limited reporting of repeated problems, per kind (see the module docstring).

    Kinds are the caller's fixed words ("OSC handler error"), never network text;
    texts must already be `printable`. Each kind from one thread at a time (the
    one that hits it); `flush` once those have stopped.
    """

    def __init__(self, report: Callable[[str], None], burst: int = 5, every_s: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.report = report
        self.burst = int(burst)
        self.every_s = float(every_s)
        self.clock = clock
        self._kinds: dict[str, _Kind] = {}
        self.suppressed_total = 0

    def __call__(self, kind: str, text: str) -> bool:
        """Report `text` unless `kind` is over its burst (then count it); True if reported."""
        now = self.clock()
        state = self._kinds.setdefault(kind, _Kind())
        if now - state.last_seen > self.every_s:  # quiet for a while: a fresh burst
            self._summarise(kind, state, now)
            state.reported = 0
        state.last_seen = now
        if state.reported < self.burst:
            state.reported += 1
            if state.reported == self.burst:
                text += f" (further {kind}s are counted, summarised every {self.every_s:g} s)"
                state.summary_at = now
            self.report(text)
            return True
        state.suppressed += 1
        self.suppressed_total += 1
        state.last_text = text
        if now - state.summary_at >= self.every_s:
            self._summarise(kind, state, now)
        return False

    def flush(self) -> None:
        """Say how many were held back since the last summary (at close)."""
        now = self.clock()
        for kind, state in self._kinds.items():
            self._summarise(kind, state, now)

    def _summarise(self, kind: str, state: _Kind, now: float) -> None:
        if state.suppressed:
            self.report(f"{state.suppressed} more {kind}(s) not shown (last: {state.last_text})")
            state.suppressed = 0
        state.summary_at = now
