"""Reporting what senders cause: network text escaped, repeated problems rate-limited."""

from __future__ import annotations

from gansynth_live.inputs.problem_report import ProblemReport, printable


def test_printable_escapes_what_could_drive_a_terminal():
    hostile = "/note\x1b[2J\x1b]0;owned\x07\r\nfake line\x7f\x9b31m\u202eevil\\x1b"
    text = printable(hostile)
    assert text == ("/note\\x1b[2J\\x1b]0;owned\\x07\\r\\nfake line\\x7f\\x9b31m\\u202eevil"
                    "\\\\x1b")
    assert all(ch.isprintable() for ch in text)


def test_printable_keeps_ordinary_text_and_cuts_long_text():
    assert printable("warm pad ünï 😀") == "warm pad ünï 😀"
    long = printable("x" * 5000, limit=50)
    assert long == "x" * 50 + "... (5000 characters)"
    assert printable(ValueError("bad\x00value")) == "bad\\x00value"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_counted_then_summaries_at_most_every_few_seconds():
    lines: list[str] = []
    clock = Clock()
    report = ProblemReport(lines.append, burst=3, every_s=5.0, clock=clock)
    shown = [report("handler error", f"error {i}") for i in range(200)]
    assert shown == [True] * 3 + [False] * 197
    assert lines == ["error 0", "error 1",
                     "error 2 (further handler errors are counted, summarised every 5 s)"]
    for _ in range(50):  # a steady flood: one summary per 5 s, nothing else
        clock.now += 0.5
        report("handler error", "error again")
    assert lines[3:] == ["207 more handler error(s) not shown (last: error again)",
                         "10 more handler error(s) not shown (last: error again)",
                         "10 more handler error(s) not shown (last: error again)",
                         "10 more handler error(s) not shown (last: error again)",
                         "10 more handler error(s) not shown (last: error again)"]
    clock.now += 1.0
    report("handler error", "the last one")
    report.flush()
    assert lines[-1] == "1 more handler error(s) not shown (last: the last one)"
    assert report.suppressed_total == 197 + 50 + 1


def test_kinds_are_limited_apart_and_a_quiet_kind_starts_afresh():
    lines: list[str] = []
    clock = Clock()
    report = ProblemReport(lines.append, burst=2, every_s=5.0, clock=clock)
    for i in range(4):
        report("a", f"a{i}")
    report("b", "b0")
    assert [line.split(" (")[0] for line in lines] == ["a0", "a1", "b0"]
    clock.now += 6.0  # quiet: what was held back is summarised, then a fresh burst
    report("a", "a4")
    assert lines[3:] == ["2 more a(s) not shown (last: a3)", "a4"]
    report.flush()
    assert len(lines) == 5  # nothing held back: flush says nothing
