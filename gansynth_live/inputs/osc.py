"""The OSC server: UDP in, validated calls on the instrument, feedback out.

Three layers, as in python-osc but with nothing dropped silently:
transport (one thread reading a UDP socket), parsing (`parse_packet`:
python-osc's `OscMessage` for messages, and a strict bundle walker of our
own, because python-osc's skips unidentifiable bundle elements with a log
line on the root logger, which a flood turns into megabytes of log; bundle
messages are applied on arrival, timetags are not waited for), dispatch
(the `osc_space` table: exact addresses, or OSC patterns such as
`/corner/*/random` matched against it part by part, in linear time and within
bounds: `osc_pattern`).

A flood is drained faster than it fills the socket: the receive thread reads
every datagram waiting (non-blocking, one system call each). Past the first
COALESCE_AFTER of one drain (a backlog: a flood, not a performer), a morph
move (`/morph/xy`, `/morph/x`, `/morph/y`) is held, and one superseded by a
later move of the same address before any other message arrives is counted
as `coalesced` and never parsed: only the latest position matters. Held moves
are applied before the next other message and when the socket is empty, so
order is kept. So a note-off behind 20,000 XY-pad messages is applied instead
of being dropped by the kernel with a full buffer. The receive buffer asks
for RECV_BUFFER_BYTES (the kernel caps it at net.core.rmem_max), and what the
kernel still drops is counted as `kernel_drops` (Linux: SO_RXQ_OVFL on each
datagram, and the socket's drops column of /proc/net/udp when stats are
read), so a lost message shows on the status line instead of vanishing.
Handler time (parse and dispatch of one datagram) goes into a fixed ring of
the last HANDLER_RING durations, for the soak's p99 and max.

Junk never stops the server: a datagram that does not parse counts as a bad
packet; an unknown address, a malformed pattern or arguments of the wrong
type, range, NaN or length count as bad messages (a pattern over the bounds
also as `rejected_patterns`); a request the instrument refuses (unknown
preset, corner 4 of a two-corner setup) counts as refused and, if the sender
is a registered client, is answered with `/error <reason>`; an unexpected
exception in a handler is counted and reported on one line, what came from
the network escaped and repeats rate-limited (`problem_report`; the traceback
only at the DEBUG log level). `stats()` returns the counters.

Costly actions and replies are bounded (`osc_limits`): preset saves, take
starts and random corners by token buckets (saves also by a cap per
session), refusals counted as `limited`; every reply by a per-host byte
budget (answers over it are not sent and are counted as `replies_limited`),
so a forged source address cannot turn the port into an amplifier.

Feedback: clients register with `/register [port]` (or every sender's host
is registered at `reply_port` when that is set); a second thread sends them
the values that changed, at most `feedback_hz` times a second, and all values
to a client that just registered or sent `/state`. A value a client has just
set is not echoed back to its host for half a second (it would make a
dragged XY pad jump back).

Bound to 127.0.0.1 by default: the port can play notes and write preset
files, so opening it to a LAN (`host="0.0.0.0"`) is a deliberate choice.
`allow` then narrows who may talk to it: addresses or networks
("192.168.1.20", "10.0.0.0/24", a host name resolved at start); a datagram
from anyone else is dropped before it is parsed and counted as `blocked`
(no reply: a refusal would tell a scanner the port is there).

Threads: `start`/`close`/`stats` from the control thread; handlers run on
the server's receive thread.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import select
import socket
import sys
import threading
import time
from array import array
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import GansynthLiveError
from .osc_feedback import Clients, Values
from .osc_limits import ActionLimits, ReplyBudget
from .osc_pattern import BadPattern, PatternTooComplex, compile_pattern, is_pattern
from .osc_space import Address, BadArguments, address_table
from .problem_report import ProblemReport, printable

log = logging.getLogger(__name__)

MAX_DATAGRAM = 65536
# Type tags python-osc parses; it skips any other with a warning on the root logger
# (one log line per packet: a flood of them would flood the console), so they are
# refused here first.
KNOWN_TYPE_TAGS = frozenset("ihfdsbrmtTFN[]")
MAX_BUNDLE_DEPTH = 8
RECV_BUFFER_BYTES = 4 << 20
# Linux's "how many datagrams this socket dropped" ancillary data (not in Python's socket module)
SO_RXQ_OVFL = getattr(socket, "SO_RXQ_OVFL", 40 if sys.platform.startswith("linux") else None)
DRAIN_BATCH = 4096  # datagrams read in one drain before waiting on the socket again
COALESCE_AFTER = 64  # datagrams of one drain handled one by one before moves are coalesced
# Exact morph addresses, as their padded OSC address strings: only the latest of each matters.
COALESCED = frozenset((b"/morph/xy\x00\x00\x00", b"/morph/x\x00\x00\x00\x00",
                       b"/morph/y\x00\x00\x00\x00"))
HANDLER_RING = 1024  # handler durations kept (a fixed array: no allocation while serving)


class OscServerError(GansynthLiveError):
    """The OSC port cannot be opened."""


@dataclass(frozen=True)
class OscStats:
    packets: int
    messages: int
    blocked: int
    bad_packets: int
    bad_messages: int
    refused: int
    handler_errors: int
    released_triggers: int
    clients: int
    feedback_sent: int
    last_problem: str
    rejected_patterns: int = 0  # over osc_pattern's bounds (also counted in bad_messages)
    coalesced: int = 0  # morph moves superseded in the same batch, never applied
    kernel_drops: int = 0  # datagrams the kernel dropped with the receive buffer full
    limited: int = 0  # costly actions refused by osc_limits (rate or cap)
    replies_limited: int = 0  # answers not sent: the host's reply budget was spent

    @property
    def bad_total(self) -> int:
        return self.bad_packets + self.bad_messages


class PacketError(ValueError):
    """A datagram that is not a well-formed OSC message or bundle."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow(entries: list[str] | tuple[str, ...]) -> tuple[Network, ...]:
    """Addresses, networks (CIDR) or host names -> networks; OscServerError names a bad one."""
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
            continue
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(text, None, type=socket.SOCK_DGRAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise OscServerError(f"OSC allow list: {text!r} is neither an address, a network "
                                 f"(10.0.0.0/24) nor a known host name ({exc})") from None
        for info in infos:
            networks.append(ipaddress.ip_network(info[4][0]))
    return tuple(networks)


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, 'localhost')."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_packet(data: bytes, depth: int = 0) -> list:
    """The OscMessages of a datagram (a bundle's, nested ones included, in order).

    Strict: a bundle element that is neither a message nor a bundle, a size
    that does not fit, or nesting deeper than MAX_BUNDLE_DEPTH make the whole
    datagram a PacketError. An empty bundle is valid and has no messages.
    """
    from pythonosc.osc_message import OscMessage

    if data.startswith(b"/"):
        check_type_tags(data)
        try:
            return [OscMessage(data)]
        except Exception as exc:  # noqa: BLE001 - ParseError, and odd ones on junk
            raise PacketError(f"bad message: {exc}") from None
    if not data.startswith(b"#bundle\x00"):
        raise PacketError("neither an OSC message nor a bundle")
    if depth >= MAX_BUNDLE_DEPTH:
        raise PacketError(f"bundles nested deeper than {MAX_BUNDLE_DEPTH}")
    if len(data) < 16:
        raise PacketError("bundle shorter than its header")
    messages, index = [], 16  # "#bundle\0" and the 8-byte timetag
    while index < len(data):
        if index + 4 > len(data):
            raise PacketError("bundle element size cut off")
        size = int.from_bytes(data[index:index + 4], "big", signed=True)
        index += 4
        if size <= 0 or size % 4 or index + size > len(data):
            raise PacketError(f"bundle element size {size} does not fit")
        messages += parse_packet(data[index:index + size], depth + 1)
        index += size
    return messages


def check_type_tags(data: bytes) -> None:
    """PacketError unless the message's type tag string is terminated and fully supported."""
    end = data.find(b"\x00")
    if end < 0:
        raise PacketError("bad message: address string not terminated")
    index = (end // 4 + 1) * 4  # strings are padded to 4 bytes
    if index >= len(data):
        return  # no type tag string: no arguments
    tag_end = data.find(b"\x00", index)
    if tag_end < 0:
        raise PacketError("bad message: type tag string not terminated")
    tags = data[index + 1:tag_end].decode("latin-1")
    if data[index:index + 1] != b",":
        raise PacketError("bad message: type tag string must start with ','")
    unknown = set(tags) - KNOWN_TYPE_TAGS
    if unknown:
        raise PacketError(f"unsupported OSC type tag(s) {''.join(sorted(unknown))!r}")


class OscServer:
    """UDP OSC server driving an instrument (see the module docstring)."""

    def __init__(self, instrument: Any, host: str = "127.0.0.1", port: int = 9000, *,
                 reply_port: int | None = None, max_clients: int = 16,
                 feedback_hz: float = 20.0, values: Callable[[], Values] | None = None,
                 allow: list[str] | tuple[str, ...] = (),
                 report: Callable[[str], None] = print) -> None:
        self.instrument = instrument
        self.host = host
        self.allow = parse_allow(allow)  # empty: anyone who can reach the port
        self.requested_port = int(port)
        self.reply_port = reply_port
        self.feedback_hz = float(feedback_hz)
        self.values = values
        self.report = report
        self._problems = ProblemReport(report)  # escaped, rate-limited (problem_report)
        self.table: dict[str, Address] = address_table()
        self.clients = Clients(max_clients)
        self._sock: socket.socket | None = None
        self._count_drops = False
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._pongs = _Bucket(200.0)
        self._errors_out = _Bucket(20.0)
        self.limits = ActionLimits()
        self.budget = ReplyBudget()
        # counters (bumped by the receive thread, read anywhere)
        self.packets = 0
        self.messages = 0
        self.blocked = 0
        self._blocked_hosts: set[str] = set()
        self.bad_packets = 0
        self.bad_messages = 0
        self.rejected_patterns = 0
        self.refused = 0
        self.handler_errors = 0
        self.released_triggers = 0
        self.feedback_sent = 0
        self.coalesced = 0
        self.kernel_drops = 0
        self.limited = 0
        self.replies_limited = 0
        self.last_problem = ""
        self._durations = array("d", bytes(8 * HANDLER_RING))  # seconds, a ring
        self._timed = 0  # datagrams timed so far (the ring's write position, modulo its size)

    # --- lifecycle (control thread) -----------------------------------------------------
    def start(self) -> "OscServer":
        if not is_loopback(self.host) and not self.allow:
            self.report(f"OSC is open to the network on {self.host}: anyone who can reach it "
                        "can play, load and save presets; --osc-allow ADDR[,ADDR] limits who")
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER_BYTES)
            self._count_drops = _enable_drop_count(sock)
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise OscServerError(f"cannot open OSC port {self.host}:{self.requested_port}: "
                                 f"{exc.strerror or exc}; choose another with --osc-port") from None
        sock.setblocking(False)  # drained until empty, then waited on with select
        self._sock = sock
        self._stop.clear()
        self._threads = [threading.Thread(target=self._receive_loop, name="gansynth-live osc",
                                          daemon=True)]
        if self.values is not None and self.feedback_hz > 0:
            self._threads.append(threading.Thread(target=self._feedback_loop, daemon=True,
                                                  name="gansynth-live osc feedback"))
        for thread in self._threads:
            thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads = []
        self._problems.flush()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> "OscServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        """The bound port (useful with port 0: any free port)."""
        return self._sock.getsockname()[1] if self._sock is not None else self.requested_port

    def stats(self) -> OscStats:
        sock = self._sock
        if sock is not None:
            self.kernel_drops = max(self.kernel_drops, proc_udp_drops(sock))
        return OscStats(self.packets, self.messages, self.blocked, self.bad_packets,
                        self.bad_messages,
                        self.refused, self.handler_errors, self.released_triggers,
                        len(self.clients), self.feedback_sent, self.last_problem,
                        self.rejected_patterns, self.coalesced, self.kernel_drops,
                        self.limited, self.replies_limited)

    def handler_times(self) -> tuple[float, float]:
        """(p99, max) in seconds of the handler time of the last HANDLER_RING datagrams."""
        n = min(self._timed, HANDLER_RING)
        if n == 0:
            return 0.0, 0.0
        times = sorted(self._durations[:n])
        return times[min(n - 1, int(0.99 * n))], times[-1]

    # --- receive thread -----------------------------------------------------------------
    def _receive_loop(self) -> None:
        sock = self._sock
        assert sock is not None
        ancillary = socket.CMSG_SPACE(4) if self._count_drops else 0
        pending: dict[bytes, tuple[bytes, tuple[str, int]]] = {}  # latest move per address
        drained = 0  # datagrams read since the socket was last found empty
        while not self._stop.is_set():
            empty = False
            for _ in range(DRAIN_BATCH):
                try:
                    if ancillary:
                        data, cmsgs, _flags, sender = sock.recvmsg(MAX_DATAGRAM, ancillary)
                        if cmsgs:
                            self._note_drops(cmsgs)
                    else:
                        data, sender = sock.recvfrom(MAX_DATAGRAM)
                except (BlockingIOError, InterruptedError):
                    empty = True
                    break
                except OSError as exc:
                    if self._stop.is_set():
                        return
                    self._problem("OSC socket error", f"OSC socket: {exc}")
                    time.sleep(0.01)
                    empty = True
                    break
                self._arrived(data, (sender[0], sender[1]), pending, drained >= COALESCE_AFTER)
                drained += 1
            if pending:
                self._apply_held(pending)
            if not empty:
                continue  # a backlog: keep draining
            if drained:
                drained = 0
                continue  # look once more (more may have come meanwhile), then wait
            try:
                select.select([sock], [], [], 0.2)
            except (OSError, ValueError):  # closed under us
                if self._stop.is_set():
                    return

    def _arrived(self, data: bytes, sender: tuple[str, int],
                 pending: dict[bytes, tuple[bytes, tuple[str, int]]], backlog: bool) -> None:
        """Handle a datagram now, or (in a backlog) hold a morph move a later one may supersede."""
        key = data[:12]
        if not backlog or key not in COALESCED or not self.allowed(sender[0]):
            if pending:
                self._apply_held(pending)  # moves held so far come first: order is kept
            self.handle_datagram(data, sender)
            return
        if pending.pop(key, None) is not None:
            self.packets += 1  # the superseded move: received, counted, never parsed
            self.messages += 1
            self.coalesced += 1
        pending[key] = (data, sender)

    def _apply_held(self, pending: dict[bytes, tuple[bytes, tuple[str, int]]]) -> None:
        for data, sender in pending.values():
            self.handle_datagram(data, sender)
        pending.clear()

    def _note_drops(self, cmsgs: list) -> None:
        for level, kind, value in cmsgs:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= 4:
                self.kernel_drops = max(self.kernel_drops,
                                        int.from_bytes(value[:4], sys.byteorder))

    def allowed(self, host: str) -> bool:
        """May this sender talk to us? (Always, without an allow list.)"""
        if not self.allow:
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    def handle_datagram(self, data: bytes, sender: tuple[str, int]) -> None:
        """Parse and dispatch one datagram (the receive thread; tests may call it directly)."""
        started = time.perf_counter()
        try:
            self._handle(data, sender)
        finally:
            self._durations[self._timed % HANDLER_RING] = time.perf_counter() - started
            self._timed += 1

    def _handle(self, data: bytes, sender: tuple[str, int]) -> None:
        if not self.allowed(sender[0]):
            self.blocked += 1
            self.last_problem = f"OSC from {sender[0]}, which is not in the allow list: ignored"
            if sender[0] not in self._blocked_hosts and len(self._blocked_hosts) < 64:
                self._blocked_hosts.add(sender[0])  # say so once per host (bounded)
                self.report(self.last_problem)
            return
        self.packets += 1
        self.budget.received(sender[0], len(data))
        try:
            messages = parse_packet(data)
        except PacketError as exc:
            self.bad_packets += 1
            self.last_problem = f"unparsable packet from {sender[0]}: {printable(exc)}"
            return
        for message in messages:
            self.messages += 1
            try:
                self.dispatch(message.address, list(message.params), sender)
            except Exception as exc:  # noqa: BLE001 - a handler bug must not stop the server
                self.handler_errors += 1
                address = printable(message.address)
                shown = self._problem("OSC handler error",
                                      f"OSC {address}: {type(exc).__name__}: {printable(exc)}")
                if shown and log.isEnabledFor(logging.DEBUG):  # tracebacks on request only
                    log.debug("OSC handler failed for %s", address, exc_info=True)

    def dispatch(self, address: str, params: list[Any], sender: tuple[str, int]) -> None:
        try:
            specs = self._lookup(address)
            problem = f"unknown OSC address {address[:80]!r}"
        except PatternTooComplex as exc:
            self.rejected_patterns += 1
            specs, problem = [], f"OSC pattern {address[:80]!r} rejected: {exc}"
        except BadPattern as exc:
            specs, problem = [], f"malformed OSC pattern {address[:80]!r}: {exc}"
        if not specs:
            self.bad_messages += 1
            self.last_problem = problem
            return
        for spec in specs:
            try:
                kwargs = spec.convert(params)
            except BadArguments as exc:
                self.bad_messages += 1
                self.last_problem = f"{spec.pattern}: {exc}"
                self._tell_error(sender, f"{spec.pattern}: {exc}")
                continue
            if kwargs is None:
                self.released_triggers += 1
                continue
            why = self.limits.check(_limit_key(spec.action, kwargs))
            if why:
                self.limited += 1
                self.last_problem = why
                self._tell_error(sender, why)
                continue
            if self.reply_port is not None:
                self.clients.add((sender[0], self.reply_port), full=False)
            try:
                if spec.target == "server":
                    getattr(self, "_" + spec.action)(sender, **kwargs)
                else:
                    getattr(self.instrument, spec.action)(**kwargs)
            except GansynthLiveError as exc:
                self.refused += 1
                self.last_problem = f"{spec.pattern}: {exc}"
                self._tell_error(sender, str(exc))
                continue
            if spec.feedback:
                self._mark_set(spec.pattern, sender[0])

    def _lookup(self, address: str) -> list[Address]:
        """The served addresses an address (or an OSC pattern, see osc_pattern) names."""
        spec = self.table.get(address)
        if spec is not None:
            return [spec]
        if not address.startswith("/") or not is_pattern(address):
            return []
        pattern = compile_pattern(address)  # BadPattern, PatternTooComplex: for dispatch
        return [spec for name, spec in self.table.items() if pattern.match(name)]

    def _mark_set(self, address: str, host: str) -> None:
        self.clients.set_by(address, host)
        if address.startswith("/morph/"):  # the pad and the single axes show one position
            for other in ("/morph/xy", "/morph/x", "/morph/y"):
                self.clients.set_by(other, host)

    # --- server actions (receive thread) ------------------------------------------------
    def _register(self, sender: tuple[str, int], port: int | None = None) -> None:
        self.clients.add((sender[0], port or sender[1]), full=True)

    def _unregister(self, sender: tuple[str, int], port: int | None = None) -> None:
        self.clients.remove((sender[0], port or sender[1]))

    def _send_state(self, sender: tuple[str, int], port: int | None = None) -> None:
        target = (sender[0], port or sender[1])
        if self.values is not None:
            self._send_all(target, self.values())

    def _ping(self, sender: tuple[str, int], port: int | None = None) -> None:
        if self._pongs.take():
            self._send((sender[0], port or sender[1]), "/pong", ())

    # --- feedback thread ----------------------------------------------------------------
    def _feedback_loop(self) -> None:
        period = 1.0 / self.feedback_hz
        while not self._stop.wait(period):
            try:
                self._send_feedback()
            except Exception as exc:  # noqa: BLE001 - keep the feedback going
                self._problem("OSC feedback error",
                              f"OSC feedback: {type(exc).__name__}: {printable(exc)}")

    def _send_feedback(self) -> None:
        if not len(self.clients) or self.values is None:
            return
        ready = lambda client: self.budget.has_room(client[0])  # noqa: E731
        for client, values in self.clients.due(self.values(), ready):
            addresses = list(values)
            for i, address in enumerate(addresses):
                if not self._send(client, address, values[address]):
                    self.clients.unsend(client, addresses[i:])  # sent on a later round
                    break

    def _send_all(self, target: tuple[str, int], values: Values) -> None:
        """All of `values` to `target` within its reply budget, or nothing (counted)."""
        dgrams = [_build(address, args) for address, args in values.items()]
        if not self.budget.spend(target[0], sum(len(d) for d in dgrams)):
            self.replies_limited += 1
            return
        for dgram in dgrams:
            self._sendto(dgram, target)

    def _send(self, target: tuple[str, int], address: str, args: tuple[Any, ...]) -> bool:
        """Send one message within `target`'s reply budget; False if over it (counted)."""
        dgram = _build(address, args)
        if not self.budget.spend(target[0], len(dgram)):
            self.replies_limited += 1
            return False
        self._sendto(dgram, target)
        return True

    def _sendto(self, dgram: bytes, target: tuple[str, int]) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(dgram, target)
            self.feedback_sent += 1
        except OSError:
            pass  # a client that went away; UDP has no one to tell

    def _tell_error(self, sender: tuple[str, int], text: str) -> None:
        if self._errors_out.take():
            for client in self.clients.host_of_port(sender[0]):
                self._send(client, "/error", (text[:200],))

    def _problem(self, kind: str, text: str) -> bool:
        """Record and report (rate-limited per kind) a problem; `text` must be printable.
        True if it was reported rather than only counted."""
        self.last_problem = text
        return self._problems(kind, text)


def _limit_key(action: str, kwargs: dict[str, Any]) -> str:
    """The osc_limits name of a call: a take start is limited, a stop never is."""
    if action == "set_recording":
        return "start_take" if kwargs.get("on") else ""
    return action


def _build(address: str, args: tuple[Any, ...]) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    builder = OscMessageBuilder(address)
    for arg in args:
        if isinstance(arg, bool) or isinstance(arg, int):
            builder.add_arg(int(arg), OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(arg, float):
            builder.add_arg(arg, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            builder.add_arg(str(arg)[:1000], OscMessageBuilder.ARG_TYPE_STRING)
    return builder.build().dgram


def _enable_drop_count(sock: socket.socket) -> bool:
    """Ask the kernel to attach its drop count to each datagram (Linux); False if it cannot."""
    if SO_RXQ_OVFL is None or not hasattr(sock, "recvmsg"):
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    except OSError:
        return False
    return True


def proc_udp_drops(sock: socket.socket) -> int:
    """The kernel's drop count for this socket from /proc/net/udp[6] (Linux; 0 elsewhere).

    Complements SO_RXQ_OVFL, which only arrives with a later datagram: drops
    at the end of a flood show here when the stats are read.
    """
    try:
        inode = str(os.fstat(sock.fileno()).st_ino)
    except (OSError, ValueError):
        return 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(table, encoding="ascii", errors="replace") as lines:
                next(lines, None)  # the header
                for line in lines:
                    fields = line.split()
                    if len(fields) >= 13 and fields[9] == inode:
                        return int(fields[12]) if fields[12].isdigit() else 0
        except OSError:
            continue
    return 0


class _Bucket:
    """A token bucket: at most `rate` events per second (bursts up to one second's worth)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
