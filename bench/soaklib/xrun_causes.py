"""What each JACK xrun was: the driver's thread waking late, a client's thread not woken,
or a client still running its cycle.

Why: a JACK client's xrun callback fires once per notification, and jackd sends
one per cause: one when its driver thread finds itself past the cycle's deadline,
and one for every client still busy when the next cycle begins. One late wake-up
of the driver with two clients mid-cycle is three "xruns", and the counts the
clients see do not even match jackd's (some notifications never reach them).
jackd's log names every cause, in order:

    JackTimedDriver::Process XRun = N usec        the driver thread is past the deadline
    JackEngine::XRun: client = NAME was not finished, state = S
    JackAudioDriver::ProcessGraphAsyncMaster: Process error     (end of that check)

so the log alone tells the events and their causes apart:

- **driver late**: an event that opens with the driver's line is the machine's.
  With the dummy driver the cycle clock is that thread's own sleep; it overslept
  past the deadline (it runs at the server's priority, above every client), began
  a cycle and at once the next, and the clients it then found unfinished had had
  microseconds. No client, in any language, could have prevented it;
- **client not woken** (state Triggered): the cycle began on time and a client's
  thread had been signalled but had not started: the scheduler or the machine
  did not run it for a whole period (its code had not begun, nor its wait for the
  interpreter lock: libjack marks a client Running before calling it);
- **client overran** (state Running): it began, and was still in its cycle a period
  later: its own work, a wait for the interpreter lock, or a pause while running.

Caveat: jackd's log has no times. A driver event in which every client had
finished (none listed) followed, with nothing logged between, by a client's own
event would count as one driver event; with a Python client on the server the
first cannot happen (the next cycle begins microseconds after the trigger).

Only the lines written between `mark()` and `read()` count (the server's log also
holds the reference run and the warm-up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DRIVER = "JackTimedDriver::Process XRun"
NOT_FINISHED = "JackEngine::XRun: client = "  # NAME was not finished, state = S
CHECK_END = "Process error"


@dataclass
class XrunCauses:
    """Xrun events in a stretch of a jackd log, and what caused each."""

    notifications: int = 0  # one per cause jackd logged (what xrun callbacks would count)
    driver_late: int = 0
    not_woken: int = 0  # events with every listed client still Triggered
    overran_events: int = 0  # events with a client Running
    clients_not_woken: dict[str, int] = field(default_factory=dict)  # name -> events
    clients_overran: dict[str, int] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return self.driver_late + self.not_woken + self.overran_events

    def add(self, event: list[str]) -> None:
        if DRIVER in event[0]:
            self.driver_late += 1
            return
        running = {_client(line) for line in event if line.rstrip().endswith("Running")}
        if running:
            self.overran_events += 1
            _tally(self.clients_overran, running)
        else:
            self.not_woken += 1
            _tally(self.clients_not_woken, {_client(line) for line in event})

    def summary(self) -> str:
        return (f"{self.events} ({self.notifications} notifications): driver woke late "
                f"{self.driver_late}, a client not woken {self.not_woken}"
                f"{_names(self.clients_not_woken)}, a client overran {self.overran_events}"
                f"{_names(self.clients_overran)}")


def _tally(counts: dict[str, int], names: set[str]) -> None:
    for name in names:
        counts[name] = counts.get(name, 0) + 1


def _names(counts: dict[str, int]) -> str:
    return (" (" + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())) + ")"
            if counts else "")


def _client(line: str) -> str:
    return line.split(NOT_FINISHED, 1)[1].split(" was not finished", 1)[0].strip()


def classify(lines: list[str]) -> XrunCauses:
    """Group a jackd log's lines into xrun events (see the module docstring)."""
    causes = XrunCauses()
    event: list[str] = []
    for line in lines:
        if DRIVER in line:
            if event:
                causes.add(event)
            event = [line]
            causes.notifications += 1
        elif NOT_FINISHED in line:
            event.append(line)
            causes.notifications += 1
        elif CHECK_END in line and event:
            causes.add(event)
            event = []
    if event:
        causes.add(event)
    return causes


class JackLogWindow:
    """The lines a jackd log gains between `mark()` and `read()`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0

    def mark(self) -> None:
        self._offset = self.path.stat().st_size if self.path.exists() else 0

    def read(self) -> XrunCauses | None:
        if not self.path.exists():
            return None
        with open(self.path, "rb") as log:
            log.seek(self._offset)
            text = log.read().decode("utf-8", "replace")
        return classify(text.splitlines())
