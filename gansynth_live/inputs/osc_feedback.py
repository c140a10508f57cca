"""What registered OSC clients are told, and whom to tell: state -> messages, client list.

`feedback_values` maps an instrument snapshot (plus engine stats and the
status line) to {address: arguments}, using the addresses of
`osc_space` so a TouchOSC control that sends `/volume` also shows the value
the server holds. The OSC server sends, at a bounded rate, only the values
that changed since the last send (and everything to a client that just
registered or asked for `/state`).

`Clients` is the bounded registry of where feedback goes: at most
`max_clients`, the least recently heard-from dropped first, so a stream of
`/register` from spoofed or changing ports cannot grow memory; and at most
MAX_PORTS_PER_HOST ports of one host (its oldest dropped first), so one
sender cannot fill the list and push the other surfaces out.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any, Callable

from .osc_space import CORNERS

Values = dict[str, tuple[Any, ...]]
MAX_PORTS_PER_HOST = 4  # feedback ports one host may register
SUPPRESS_ECHO_S = 0.5  # a value a client just set is not echoed back to that host meanwhile


def feedback_values(state, stats=None, status_text: str = "") -> Values:
    """{address: args} for an InstrumentState (and optional EngineStats, status line)."""
    env = state.envelope
    values: Values = {
        "/morph/xy": (float(state.x), float(state.y)),
        "/morph/x": (float(state.x),),
        "/morph/y": (float(state.y),),
        "/volume": (float(state.volume),),
        "/envelope/attack": (float(env.attack_s),),
        "/envelope/decay": (float(env.decay_s),),
        "/envelope/sustain": (float(env.sustain),),
        "/envelope/release": (float(env.release_s),),
        "/bend/range": (float(state.bend_range),),
        "/record": (1 if state.recording else 0,),
        "/record/time": (round(float(state.record_seconds), 1) if state.recording else 0.0,),
        "/preset/name": (state.preset,),
        "/bank/progress": (float(state.progress.fraction),),
        "/bank/text": (state.progress.describe(),),
        "/midi/learn": (state.learning,),
        "/midi/map": (state.midi_map,),
    }
    for n in CORNERS:
        label = state.corners[n - 1] if n <= len(state.corners) else ""
        values[f"/corner/{n}/name"] = (label,)
    if stats is not None:
        values["/status/voices"] = (int(stats.voices_sounding),)
        values["/status/xruns"] = (int(stats.xruns),)
        # rounded so a steady sound sends nothing new (feedback goes out only on change)
        values["/status/cpu"] = (float(round(100.0 * stats.dsp_load)),)
        values["/status/level"] = (max(-120.0, round(2.0 * stats.output_db) / 2.0),)
    if status_text:
        values["/status/text"] = (status_text,)
    return values


class Clients:
    """Registered feedback destinations (host, port) and what each was last sent. Thread-safe.

    Each client has its own record of the values it was sent, so a value held
    back from one client (echo suppression) reaches it on a later round, and
    a client that (re)registers gets everything again.
    """

    def __init__(self, max_clients: int = 16) -> None:
        self.max_clients = int(max_clients)
        self._lock = threading.Lock()
        self._clients: OrderedDict[tuple[str, int], Values] = OrderedDict()  # -> values sent
        self._setters: dict[str, tuple[str, float]] = {}  # address -> (host, time)
        self.evicted = 0

    def add(self, address: tuple[str, int], full: bool = True) -> None:
        with self._lock:
            known = address in self._clients
            if full or not known:
                self._clients[address] = {}
            self._clients.move_to_end(address)
            if known:
                return
            same_host = [c for c in self._clients if c[0] == address[0]]
            if len(same_host) > MAX_PORTS_PER_HOST:
                del self._clients[same_host[0]]  # that host's oldest
                self.evicted += 1
            elif len(self._clients) > self.max_clients:
                self._clients.popitem(last=False)
                self.evicted += 1

    def remove(self, address: tuple[str, int]) -> bool:
        with self._lock:
            return self._clients.pop(address, None) is not None

    def host_of_port(self, host: str) -> list[tuple[str, int]]:
        """Registered clients on `host`."""
        with self._lock:
            return [c for c in self._clients if c[0] == host]

    def due(self, values: Values, ready: Callable[[tuple[str, int]], bool] | None = None
            ) -> list[tuple[tuple[str, int], Values]]:
        """For each client (that is `ready`: within its reply budget), the values it has not
        been sent yet (echo-suppressed ones wait); they are recorded as sent."""
        out = []
        with self._lock:
            for client, sent in self._clients.items():
                if ready is not None and not ready(client):
                    continue  # its values wait for a later round
                todo = {a: v for a, v in values.items() if sent.get(a) != v
                        and not self.echo_suppressed(a, client[0])}
                sent.update(todo)
                if todo:
                    out.append((client, todo))
        return out

    def unsend(self, client: tuple[str, int], addresses: list[str]) -> None:
        """Forget that these values were sent to `client` (they were not: sent later)."""
        with self._lock:
            sent = self._clients.get(client)
            if sent is not None:
                for address in addresses:
                    sent.pop(address, None)

    def __len__(self) -> int:
        return len(self._clients)

    def set_by(self, address: str, host: str) -> None:
        """Remember that `host` just set `address` (so it is not echoed straight back)."""
        self._setters[address] = (host, time.monotonic())

    def echo_suppressed(self, address: str, host: str) -> bool:
        setter = self._setters.get(address)
        return setter is not None and setter[0] == host and \
            time.monotonic() - setter[1] < SUPPRESS_ECHO_S
