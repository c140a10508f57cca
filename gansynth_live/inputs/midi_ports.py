"""MIDI input ports: open by name or substring, a virtual port, hot-plug, no stuck notes.

Ports are python-rtmidi `MidiIn` objects read by one thread of ours that
polls them (about every millisecond when idle). What a port delivers is fed
to that port's own `MidiStream` (midi_stream.py): a JACK MIDI event may hold
running status or several messages, and junk bytes are counted, not fatal;
each message it completes goes to the port's `MidiTranslator`, whose errors
are reported rate-limited (problem_report.py). Why not rtmidi's callbacks:
with the JACK API, RtMidi calls the callback inside JACK's real-time process
thread, so Python code (and the GIL) would sit in the audio graph's cycle; a
MIDI flood could then cost the whole JACK server xruns. Polling keeps Python
out of JACK's thread; RtMidi's ring buffer (`queue_size`, 65536 messages by
default, 6 s of a 10 kHz flood) holds what arrives between polls.

The same thread scans the port list every `scan_s` seconds:
- a requested port that appeared (or came back) is opened;
- an open port whose name vanished is reported, closed, and its
  `MidiTranslator.release_all()` releases the notes it was holding, so an
  unplugged keyboard leaves nothing sounding; it is reopened when it returns.

A spec is a port name, a case-insensitive substring of one, or "all": every
*hardware* input (ALSA ports of kernel clients, numbered 16..127; under JACK
the `system:` MIDI ports and a2jmidid's bridges of such ALSA ports). Software
ports (DAWs, sequencers) are left to be named or connected to the virtual
port: a DAW whose output were both opened here and connected to the virtual
port would play every note twice. ALSA appends client and port numbers
("... 20:0") that change when a device is replugged; they are ignored when
matching by name. The virtual port (`--midi-virtual`) is where DAWs and
`aconnect`/`jack_connect` send to. Its senders cannot be seen by polling: if a
DAW crashes while holding notes on it, CC123/CC120 or OSC `/panic` clears them.

Threads: `start`, `close` and `status` from the control thread; everything
touching rtmidi runs on the reader thread.
"""

from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from ..errors import GansynthLiveError
from .cc_map import CCMap
from .midi import Expression, MidiSink, MidiTranslator, MpeZone
from .midi_stream import MidiStream
from .problem_report import ProblemReport, printable

APIS = ("auto", "alsa", "jack")
_ALSA_NUMBERS = re.compile(r"\s+\d+:\d+$")
_ALSA_CLIENT = re.compile(r"\s(\d+):\d+$")  # "Keystation 49:Keystation 49 MIDI 1 20:0"
_A2J_CLIENT = re.compile(r"^a2j:.*\[(\d+)\]")  # "a2j:Keystation 49 [20] (capture): ..."
DRAIN_PER_PORT = 512  # messages taken from one port before looking at the next


class MidiUnavailable(GansynthLiveError):
    """No MIDI system to talk to (no ALSA sequencer, no JACK server), or a port cannot be made."""


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - a dependency
        raise MidiUnavailable(f"python-rtmidi is not available ({exc})") from None
    return rtmidi


def api_ids() -> dict[str, int]:
    rtmidi = _rtmidi()
    return {"alsa": rtmidi.API_LINUX_ALSA, "jack": rtmidi.API_UNIX_JACK}


def open_client(api: str, client_name: str, queue_size: int = 1024):
    """An rtmidi MidiIn on `api` ("alsa" or "jack"); MidiUnavailable says why not."""
    rtmidi = _rtmidi()
    api_id = api_ids()[api]
    if api_id not in rtmidi.get_compiled_api():
        raise MidiUnavailable(f"python-rtmidi was built without the {api.upper()} MIDI API")
    if api == "alsa" and not Path("/dev/snd/seq").exists():
        raise MidiUnavailable("no ALSA sequencer (/dev/snd/seq is missing; load snd-seq)")
    try:
        return rtmidi.MidiIn(api_id, name=client_name, queue_size_limit=queue_size)
    except Exception as exc:  # rtmidi raises its own SystemError type
        hint = " (is a JACK server running? set JACK_DEFAULT_SERVER for a named one)" \
            if api == "jack" else ""
        raise MidiUnavailable(f"cannot open a {api.upper()} MIDI client: {exc}{hint}") from None


def choose_api(requested: str) -> str:
    """The API to use: as requested, or for "auto" ALSA when it works, else JACK."""
    if requested not in APIS:
        raise MidiUnavailable(f"MIDI API must be one of {', '.join(APIS)}, got {requested!r}")
    candidates = ["alsa", "jack"] if requested == "auto" else [requested]
    reasons = []
    for api in candidates:
        try:
            probe = open_client(api, "gansynth-live probe")
        except MidiUnavailable as exc:
            reasons.append(str(exc))
            continue
        probe.delete()
        return api
    raise MidiUnavailable("; ".join(reasons))


def list_input_ports(api: str) -> list[str]:
    """Input port names (sources we can open) on `api`."""
    probe = open_client(api, "gansynth-live probe")
    try:
        return list(probe.get_ports())
    finally:
        probe.delete()


def plain_name(name: str) -> str:
    """A port name without ALSA's trailing client:port numbers."""
    return _ALSA_NUMBERS.sub("", name)


def is_hardware(name: str) -> bool:
    """A port of a MIDI device rather than of a program (see the module docstring)."""
    match = _ALSA_CLIENT.search(name) or _A2J_CLIENT.search(name)
    if match:
        return 16 <= int(match.group(1)) < 128  # 0 system, 14 Midi Through, 128+ programs
    return name.startswith("system:")


def match_spec(spec: str, names: list[str], exclude: Callable[[str], bool]) -> list[str]:
    """Port names a spec selects: "all" hardware; exact (ALSA numbers ignored); substrings."""
    candidates = [n for n in names if not exclude(n)]
    if spec == "all":
        return [n for n in candidates if is_hardware(n)]
    exact = [n for n in candidates if n == spec or plain_name(n) == plain_name(spec)]
    if exact:
        return exact[:1]
    low = spec.lower()
    return [n for n in candidates if low in n.lower()][:1]


def scan_plan(specs: Sequence[str], names: list[str], open_names: list[str],
              exclude: Callable[[str], bool], report: Callable[[str], None] | None
              ) -> tuple[list[str], list[str]]:
    """From the port names listed now: the open ports that vanished, and the ports the
    specs select that are not open yet. `report` (on the first scan) hears of a named
    spec that selects nothing."""
    present = set(names)
    wanted: list[str] = []
    for spec in specs:
        found = match_spec(spec, names, exclude)
        if not found and report is not None and spec != "all":
            report(f"MIDI input {spec!r} not found; waiting for it "
                   f"(ports now: {', '.join(names) or 'none'})")
        wanted += [n for n in found if n not in wanted]
    return ([n for n in open_names if n not in present],
            [n for n in wanted if n not in open_names])


@dataclass
class PortStatus:
    name: str
    state: str  # "open", "waiting", "virtual"
    handled: int
    reopened: int


class OpenPort:
    """One open input: its rtmidi object, its byte stream and its translator."""

    def __init__(self, name: str, rt, translator: MidiTranslator, virtual: bool = False) -> None:
        self.name = name
        self.rt = rt
        self.stream = MidiStream()  # running status carries from one event to the next
        self.translator = translator
        self.virtual = virtual


def feed_port(port: OpenPort, data: Sequence[int]) -> tuple[int, int, int, str]:
    """One event's bytes through `port`'s byte stream and translator, on the thread that
    owns the port: (messages decoded, 1 if the event held junk else 0, handler errors,
    the last error's text). Never raises: one bad message must not stop the input."""
    garbage = port.stream.garbage
    try:
        messages = port.stream.feed(data)
    except (TypeError, ValueError):  # not a sequence of ints: rtmidi never hands such
        messages = []
        port.stream.garbage += 1
    errors, error = 0, ""
    for msg in messages:
        try:
            port.translator.handle(msg)
        except Exception as exc:  # noqa: BLE001 - counted and said by the caller
            errors += 1
            error = (f"MIDI message {msg} from {port.name!r}: "
                     f"{type(exc).__name__}: {printable(exc)}")
    return len(messages), int(port.stream.garbage != garbage), errors, error


def port_statuses(virtual: OpenPort | None, ports: list[OpenPort], reopened: dict[str, int],
                  specs: Sequence[str], exclude: Callable[[str], bool]) -> list[PortStatus]:
    """The virtual port, the open ones, and each named spec nothing open matches yet."""
    out = [PortStatus(virtual.name, "virtual", virtual.translator.handled, 0)] \
        if virtual is not None else []
    out += [PortStatus(p.name, "virtual" if p.virtual else "open", p.translator.handled,
                       reopened.get(p.name, 0)) for p in ports]
    open_names = [p.name for p in ports]
    for spec in specs:
        if spec != "all" and not match_spec(spec, open_names, exclude):
            out.append(PortStatus(spec, "waiting", 0, 0))
    return out


class MidiInputs:
    """Every MIDI input of a session, read by one thread (see the module docstring)."""

    def __init__(self, sink: MidiSink, cc_map: CCMap, *, inputs: tuple[str, ...] = ("all",),
                 virtual: str | None = "gansynth-live in", api: str = "auto",
                 channels: frozenset[int] | None = None, client_name: str = "gansynth-live",
                 scan_s: float = 1.0, queue_size: int = 65536,
                 report: Callable[[str], None] = print,
                 zones: tuple[MpeZone, ...] = (),
                 expression: Expression | None = None) -> None:
        self.sink = sink
        self.cc_map = cc_map
        self.zones = tuple(zones)  # MPE zones every port's translator starts with
        self.expression = expression or Expression()  # slide/pressure -> each note's morph
        self.specs = tuple(s for s in inputs if s and s != "none")
        self.virtual_name = virtual or None
        self.requested_api = api
        self.api: str | None = None
        self.channels = channels
        self.client_name = client_name
        self.scan_s = float(scan_s)
        self.queue_size = int(queue_size)
        self.report = report
        self._problems = ProblemReport(report)
        self._ports: dict[str, OpenPort] = {}
        self._virtual: OpenPort | None = None
        self._reopened: dict[str, int] = {}
        self._probe = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        # counters (read from any thread)
        self.messages = 0  # MIDI messages decoded
        self.bad_messages = 0  # events holding bytes that formed no message (junk, cut off)
        self.errors = 0
        self.last_error = ""
        self.disappeared = 0
        self.notes_released_on_loss = 0

    # --- control thread -----------------------------------------------------------------
    def start(self) -> "MidiInputs":
        """Choose the API, make the virtual port, open what is there; raises MidiUnavailable."""
        self._thread = threading.Thread(target=self._run, name="gansynth-live midi", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            self._thread.join()
            self._thread = None
            raise self._start_error
        return self

    def close(self) -> None:
        """Release every note the ports hold, close them. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> "MidiInputs":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> list[PortStatus]:
        return port_statuses(self._virtual, list(self._ports.values()), self._reopened,
                             self.specs, self._excluded)

    @property
    def open_count(self) -> int:
        return len(self._ports) + (1 if self._virtual is not None else 0)

    def virtual_port_name(self) -> str | None:
        """The full name senders connect to (e.g. 'gansynth-live:gansynth-live in' on JACK)."""
        if self._virtual is None:
            return None
        return f"{self.client_name}:{self.virtual_name}"

    # --- reader thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._open_initial()
        except BaseException as exc:  # noqa: BLE001 - handed to start()
            self._start_error = exc
            self._close_all()
            self._ready.set()
            return
        self._ready.set()
        next_scan = time.monotonic() + self.scan_s
        try:
            while not self._stop.is_set():
                busy = self._drain()
                now = time.monotonic()
                if now >= next_scan:
                    self._scan()
                    next_scan = now + self.scan_s
                if not busy:
                    time.sleep(0.001)
        finally:
            self._drain()
            self._close_all()
            self._problems.flush()

    def _open_initial(self) -> None:
        self.api = choose_api(self.requested_api)
        self._probe = open_client(self.api, f"{self.client_name} probe")
        if self.virtual_name is not None:
            rt = open_client(self.api, self.client_name, self.queue_size)
            try:
                rt.open_virtual_port(self.virtual_name)
            except Exception as exc:
                rt.delete()
                raise MidiUnavailable(f"cannot create virtual MIDI port "
                                      f"{self.virtual_name!r}: {exc}") from None
            rt.ignore_types(True, True, True)  # SysEx, clock, active sensing
            self._virtual = OpenPort(self.virtual_name, rt, self._translator(self.virtual_name),
                                      virtual=True)
        self._scan(initial=True)

    def _translator(self, name: str) -> MidiTranslator:
        return MidiTranslator(self.sink, self.cc_map, self.channels, name, zones=self.zones,
                              expression=self.expression)

    def _excluded(self, name: str) -> bool:
        plain = plain_name(name)
        return plain.startswith(f"{self.client_name}:") or plain.startswith(self.client_name) \
            or "Midi Through" in plain

    def _scan(self, initial: bool = False) -> None:
        try:
            names = list(self._probe.get_ports())
        except Exception as exc:  # noqa: BLE001 - a flaky MIDI system must not stop us
            self._error(f"listing MIDI ports failed: {exc}")
            return
        lost, new = scan_plan(self.specs, names, list(self._ports), self._excluded,
                              self.report if initial else None)
        for name in lost:
            self._lost(name)
        for name in new:
            self._open(name, names.index(name), initial)

    def _open(self, name: str, index: int, initial: bool) -> None:
        rt = None
        try:
            rt = open_client(self.api, self.client_name, self.queue_size)
            if rt.get_port_name(index) != name:  # the list moved under us; next scan retries
                rt.delete()
                return
            rt.open_port(index, f"in {len(self._ports) + 1}")
            rt.ignore_types(True, True, True)
        except Exception as exc:  # noqa: BLE001
            if rt is not None:
                rt.delete()
            self._error(f"cannot open MIDI input {name!r}: {exc}")
            return
        self._ports[name] = OpenPort(name, rt, self._translator(name))
        if name in self._reopened:
            self._reopened[name] += 1
            self.report(f"MIDI input {name!r} is back")
        else:
            self._reopened[name] = 0
            self.report(f"MIDI input {name!r} opened")

    def _lost(self, name: str) -> None:
        port = self._ports.pop(name)
        released = port.translator.release_all()
        self.disappeared += 1
        self.notes_released_on_loss += released
        self._close_port(port)
        self.report(f"MIDI input {name!r} disappeared"
                    + (f"; released {released} note(s) it held" if released else "")
                    + "; it will be reopened when it comes back")

    def _drain(self) -> bool:
        busy = False
        ports = list(self._ports.values())
        if self._virtual is not None:
            ports.append(self._virtual)
        for port in ports:
            for _ in range(DRAIN_PER_PORT):
                try:
                    item = port.rt.get_message()
                except Exception as exc:  # noqa: BLE001
                    self._error(f"reading MIDI input {port.name!r}: {exc}")
                    break
                if item is None:
                    break
                busy = True
                self.feed(port, item[0])
        return busy

    def feed(self, port: OpenPort, data: Sequence[int]) -> None:
        """One event's bytes from `port` (the reader thread): decoded, then translated."""
        messages, junk, errors, error = feed_port(port, data)
        self.messages += messages
        self.bad_messages += junk
        if errors:
            self.errors += errors
            self.last_error = error
            self._problems("MIDI handler error", error)

    def _close_all(self) -> None:
        for name in list(self._ports):
            port = self._ports.pop(name)
            port.translator.release_all()
            self._close_port(port)
        if self._virtual is not None:
            self._virtual.translator.release_all()
            self._close_port(self._virtual)
            self._virtual = None
        if self._probe is not None:
            self._probe.delete()
            self._probe = None

    def _close_port(self, port: OpenPort) -> None:
        try:
            port.rt.close_port()
            port.rt.delete()
        except Exception as exc:  # noqa: BLE001
            self._error(f"closing MIDI input {port.name!r}: {exc}")

    def _error(self, text: str) -> None:
        self.errors += 1
        self.last_error = text
        self.report(text)


def describe_ports(api: str = "auto") -> str:
    """The MIDI input ports of every usable API, for --list-devices."""
    lines = []
    apis = ["alsa", "jack"] if api == "auto" else [api]
    for name in apis:
        try:
            ports = list_input_ports(name)
        except MidiUnavailable as exc:
            lines.append(f"MIDI ({name.upper()}): unavailable: {exc}")
            continue
        lines.append(f"MIDI inputs ({name.upper()}):")
        lines += [f"  {p}" for p in ports] or ["  (none)"]
    if os.environ.get("JACK_DEFAULT_SERVER"):
        lines.append(f"(JACK server name from JACK_DEFAULT_SERVER: "
                     f"{os.environ['JACK_DEFAULT_SERVER']})")
    return "\n".join(lines)
