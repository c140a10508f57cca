"""How much an OSC sender may make the server do: token buckets, caps and reply budgets.

The OSC port is unauthenticated UDP (see docs/security.md), so every action
that costs more than a message is bounded here, not by trusting senders:

- `ActionLimits`: actions that write files, start takes or generate banks
  (`/preset/save`, `/record start`, `/corner/N/random`) each have a token
  bucket (a burst, then a steady rate), and preset saves a cap per session:
  10,000 saves in 17 s filled the presets folder that every preset step then
  re-read, 300 random corners churned the bank cache. A refusal is counted
  as `limited` and answered with `/error` (to registered clients).
- `ReplyBudget`: answers (`/state`, `/pong`, `/error`, feedback) are sent to
  the datagram's source address, which UDP does not authenticate, so a forged
  one aims them at another machine (41x byte amplification before). Each host
  may be sent at most REPLY_BYTES_PER_S a second (bursts to REPLY_BURST) plus
  REPLY_PER_BYTE bytes per byte it sent us, and all hosts together at most
  TOTAL_REPLY_BYTES_PER_S: a flood of forged requests gets back less than it
  sent, a control surface gets its state.

Threads: the OSC receive and feedback threads; one lock each, held briefly.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

REPLY_BYTES_PER_S = 4096.0  # steady reply bytes to one host, whatever it sends
REPLY_BURST = 8192.0  # what one host may be sent at once (a full /state is ~1.5 kB)
REPLY_PER_BYTE = 4.0  # extra reply bytes earned per byte received from that host
TOTAL_REPLY_BYTES_PER_S = 65536.0  # all hosts together
MAX_HOSTS = 256  # reply budgets remembered (least recently heard-from forgotten)

# action -> (burst, per second); sessions cap saves on top (MAX_SAVES)
ACTION_RATES: dict[str, tuple[float, float]] = {
    "save_preset": (5.0, 0.5),
    "start_take": (3.0, 0.2),
    "corner_random": (4.0, 2.0),
}
MAX_SAVES = 100  # user presets one session may save over OSC


class Bucket:
    """A token bucket: `burst` tokens at most, refilled at `rate` a second."""

    def __init__(self, burst: float, rate: float) -> None:
        self.burst = float(burst)
        self.rate = float(rate)
        self.tokens = float(burst)
        self.at = time.monotonic()

    def refill(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens

    def take(self, amount: float = 1.0) -> bool:
        """Spend `amount` if there is that much; False (and nothing spent) if not."""
        if self.refill() >= amount:
            self.tokens -= amount
            return True
        return False

    def add(self, amount: float) -> None:
        self.refill()
        self.tokens = min(self.burst, self.tokens + amount)


class ActionLimits:
    """Per-action token buckets and the session's preset-save cap."""

    def __init__(self, rates: dict[str, tuple[float, float]] | None = None,
                 max_saves: int = MAX_SAVES) -> None:
        self._buckets = {name: Bucket(*rate) for name, rate in (rates or ACTION_RATES).items()}
        self.max_saves = int(max_saves)
        self.saves = 0
        self._lock = threading.Lock()

    def check(self, action: str) -> str:
        """'' if `action` may run now, else why not (one line, for /error and the log)."""
        with self._lock:
            if action == "save_preset" and self.saves >= self.max_saves:
                return (f"/preset/save: {self.max_saves} presets saved over OSC this session, "
                        "the most allowed; save more from the command line")
            bucket = self._buckets.get(action)
            if bucket is not None and not bucket.take():
                return f"{action}: too many requests, at most {bucket.rate:g} a second"
            if action == "save_preset":
                self.saves += 1
            return ""


class ReplyBudget:
    """Bytes each host may still be sent (see the module docstring)."""

    def __init__(self, per_host: float = REPLY_BYTES_PER_S, burst: float = REPLY_BURST,
                 per_byte: float = REPLY_PER_BYTE,
                 total: float = TOTAL_REPLY_BYTES_PER_S, max_hosts: int = MAX_HOSTS) -> None:
        self.per_host, self.burst, self.per_byte = float(per_host), float(burst), float(per_byte)
        self.max_hosts = int(max_hosts)
        self._hosts: OrderedDict[str, Bucket] = OrderedDict()
        self._total = Bucket(total, total)
        self._lock = threading.Lock()

    def _bucket(self, host: str) -> Bucket:
        bucket = self._hosts.get(host)
        if bucket is None:
            bucket = self._hosts[host] = Bucket(self.burst, self.per_host)
            if len(self._hosts) > self.max_hosts:
                self._hosts.popitem(last=False)
        self._hosts.move_to_end(host)
        return bucket

    def received(self, host: str, nbytes: int) -> None:
        """`host` sent us `nbytes`: it earns a little more reply room."""
        with self._lock:
            self._bucket(host).add(self.per_byte * nbytes)

    def spend(self, host: str, nbytes: int) -> bool:
        """Reserve `nbytes` of replies to `host`; False (nothing spent) if over budget."""
        with self._lock:
            bucket = self._bucket(host)
            if bucket.refill() < nbytes or self._total.refill() < nbytes:
                return False
            bucket.tokens -= nbytes
            self._total.tokens -= nbytes
            return True

    def has_room(self, host: str, nbytes: int = 256) -> bool:
        """Whether `host` could be sent `nbytes` now (spends nothing)."""
        with self._lock:
            return self._bucket(host).refill() >= nbytes and self._total.refill() >= nbytes
