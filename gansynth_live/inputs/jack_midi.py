"""`serve --jack`'s MIDI inputs: ports of the engine's own JACK client, read in its process callback.

The reading and translating happen on the audio thread (engine/rt/jack_midi.py);
this is the control side, one thread of ours that wakes every few
milliseconds and does what the audio thread must not:

- ports: the virtual input (`--midi-virtual`, where DAWs and `jack_connect`
  send to) is registered at start; every JACK MIDI output a `--midi-in` spec
  selects ('all': the hardware ones, `system:` and a2jmidid's bridges) gets
  an input port of its own ("in N") connected to it, at start and whenever it
  appears. One port per source, as with RtMidi (midi_ports.py): when a source
  vanishes (a USB cable pulled), the audio thread releases exactly the notes
  that port holds, and then its port is unregistered; it comes back with the source;
- what the audio thread hands over: the pitches played (the bank service
  renders those first), and the translators' actions (rt/jack_midi.Handover):
  controllers for the morph axes and MIDI learn (`CCMap` locks), program
  changes (presets load from disk). They are applied here in order, a few
  milliseconds after the note;
- reporting: handler errors (rate-limited), ports opened, lost and back.

Same options, same status and counters as `MidiInputs`, which serve uses
without --jack.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any, Callable

from .cc_map import CCMap
from .midi import Expression, MidiSink, MidiTranslator, MpeZone, move_by_cc
from .midi_ports import OpenPort, PortStatus, plain_name, port_statuses, scan_plan
from .problem_report import ProblemReport

POLL_S = 0.005  # how often handed-over actions are applied


class JackMidiInputs:
    """MIDI ports on `stream`'s JACK client (see the module docstring)."""

    api = "jack"

    def __init__(self, stream: Any, sink: MidiSink, cc_map: CCMap, *,
                 inputs: tuple[str, ...] = ("all",), virtual: str | None = "gansynth-live in",
                 channels: frozenset[int] | None = None, scan_s: float = 1.0,
                 report: Callable[[str], None] = print, zones: tuple[MpeZone, ...] = (),
                 expression: Expression | None = None) -> None:
        self.stream = stream  # engine.jack_stream.JackStream, started
        self.sink = sink
        self.cc_map = cc_map
        self.specs = tuple(s for s in inputs if s and s != "none")
        self.virtual_name = virtual or None
        self.channels = channels
        self.zones = tuple(zones)
        self.expression = expression or Expression()
        self.scan_s = float(scan_s)
        self.report = report
        self._problems = ProblemReport(report)
        self._slots: dict[str, int] = {}  # source port name -> slot
        self._reopened: dict[str, int] = {}
        self._virtual_slot: int | None = None
        self._errors_seen = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.disappeared = 0
        self.notes_released_on_loss = 0
        self.handled_actions = 0

    @property
    def midi(self) -> Any:
        return self.stream.midi

    # --- control thread -----------------------------------------------------------------
    def start(self) -> "JackMidiInputs":
        """Register the virtual port, connect the sources there are, start the thread."""
        if self.virtual_name is not None:
            self._virtual_slot = self._open_slot(self.virtual_name, None)
        self._scan(initial=True)
        self._thread = threading.Thread(target=self._run, name="gansynth-live jack midi",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Release every note the ports hold, unregister them. Idempotent."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        for name in list(self._slots):
            self._close_slot(self._slots.pop(name))
        if self._virtual_slot is not None:
            self._close_slot(self._virtual_slot)
            self._virtual_slot = None
        self._apply_handed_over()
        self._problems.flush()

    def __enter__(self) -> "JackMidiInputs":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def status(self) -> list[PortStatus]:
        ports = self.midi.ports
        virtual = ports[self._virtual_slot] if self._virtual_slot is not None else None
        opened = [ports[slot] for slot in list(self._slots.values()) if ports[slot] is not None]
        statuses = port_statuses(virtual, opened, self._reopened, self.specs, self._excluded)
        # plain notes the audio thread's compiled path applied since it last synced a port
        pending = {ports[slot].name: self.midi.pending_handled(slot)
                   for slot in [*self._slots.values(), self._virtual_slot]
                   if slot is not None and ports[slot] is not None}
        return [replace(s, handled=s.handled + pending.get(s.name, 0)) if s.state != "waiting"
                else s for s in statuses]

    @property
    def open_count(self) -> int:
        return len(self._slots) + (1 if self._virtual_slot is not None else 0)

    def virtual_port_name(self) -> str | None:
        """The full name senders connect to ('gansynth-live:gansynth-live in')."""
        if self._virtual_slot is None:
            return None
        return f"{self.stream.client.name}:{self.virtual_name}"

    # counters, as MidiInputs has them (the audio thread counts)
    @property
    def messages(self) -> int:
        return self.midi.messages

    @property
    def bad_messages(self) -> int:
        return self.midi.bad_messages

    @property
    def errors(self) -> int:
        return self.midi.errors

    @property
    def last_error(self) -> str:
        return self.midi.last_error

    @property
    def dropped(self) -> int:
        """JACK MIDI events that found the ring full, and actions or played pitches the
        control thread was too far behind to take (all counted, never expected)."""
        return self.midi.dropped + self.midi.handover.dropped + int(self.midi.played_ring[2])

    # --- the thread ---------------------------------------------------------------------
    def _run(self) -> None:
        next_scan = time.monotonic() + self.scan_s
        while not self._stop.wait(POLL_S):
            self._apply_handed_over()
            if self.midi.errors != self._errors_seen:
                self._errors_seen = self.midi.errors
                self._problems("MIDI handler error", self.midi.last_error)
            now = time.monotonic()
            if now >= next_scan:
                self._scan()
                next_scan = now + self.scan_s

    def _apply_handed_over(self) -> None:
        from ..engine.rt.jack_midi import CONTROL, MORPH, PROGRAM

        handover, sink = self.midi.handover, self.sink
        note_played = getattr(sink, "note_played", None)
        for pitch in self.midi.take_played():
            if note_played is not None:
                note_played(pitch)
        while (action := handover.take()) is not None:
            kind = action[0]
            try:
                if kind == CONTROL:
                    move_by_cc(self.cc_map, sink, action[1], action[2])
                elif kind == PROGRAM:
                    sink.select_program(action[1])
                elif kind == MORPH:
                    sink.set_morph(action[1], action[2])
            except Exception as exc:  # noqa: BLE001 - one bad action must not stop input
                self._problems("MIDI action error", f"{kind}: {type(exc).__name__}: {exc}")
            self.handled_actions += 1

    def _excluded(self, name: str) -> bool:
        own = f"{self.stream.client.name}:"
        return plain_name(name).startswith(own) or "Midi Through" in name

    def _scan(self, initial: bool = False) -> None:
        client = self.stream.client
        if not self.stream.active:  # the server is gone: it takes no calls
            return
        try:
            names = [p.name for p in client.get_ports(is_midi=True, is_output=True)]
            # a source unplugged and back between two scans is listed, but its connection
            # to our port went with it: lost (its notes released), then connected again
            gone = [name for name, slot in self._slots.items()
                    if name in names and not self._connected(name, slot)]
        except Exception as exc:  # noqa: BLE001 - a flaky server must not stop us
            self._problems("JACK port list", f"listing JACK MIDI ports failed: {exc}")
            return
        for name in gone:
            self._lost(name)
        lost, new = scan_plan(self.specs, names, list(self._slots), self._excluded,
                              self.report if initial else None)
        for name in lost:
            self._lost(name)
        for name in new:
            self._open_source(name)

    def _connected(self, source: str, slot: int) -> bool:
        port = self.midi.ports[slot]
        if port is None:
            return False
        return source in [p.name for p in self.stream.client.get_all_connections(port.rt)]

    def _open_source(self, name: str) -> None:
        used = {port.rt.shortname for port in self.midi.ports if port is not None}
        number = 1
        while f"in {number}" in used:  # a source back after another came: its number is free
            number += 1
        slot = self._open_slot(f"in {number}", name)
        if slot is None:
            return
        self._slots[name] = slot
        if name in self._reopened:
            self._reopened[name] += 1
            self.report(f"MIDI input {name!r} is back")
        else:
            self._reopened[name] = 0
            self.report(f"MIDI input {name!r} opened")

    def _open_slot(self, port_name: str, source: str | None) -> int | None:
        """Register an input port, give it a translator, publish it to the audio thread,
        and connect `source` to it. None (said) when that fails."""
        from ..engine.rt.jack_midi import MAX_PORTS
        from ..engine.rt.jack_ports import address

        midi, client = self.midi, self.stream.client
        free = [k for k in range(MAX_PORTS) if midi.ports[k] is None and midi.reusable(k)]
        if not free:
            self._problems("MIDI inputs", f"cannot open {source or port_name!r}: "
                                          f"{MAX_PORTS} MIDI inputs are open")
            return None
        slot = free[0]
        try:
            port = client.midi_inports.register(port_name)
        except Exception as exc:  # noqa: BLE001 - a JACK error, said in one line
            self._problems("MIDI inputs", f"cannot register JACK MIDI port {port_name!r}: {exc}")
            return None
        translator = MidiTranslator(midi.sink, midi.controllers, self.channels,
                                    source or port_name, zones=self.zones,
                                    expression=self.expression)
        midi.publish(slot, OpenPort(source or port_name, port, translator,
                                    virtual=source is None), address(port._ptr))
        if source is not None:
            try:
                client.connect(source, port)
            except Exception as exc:  # noqa: BLE001 - gone again already: next scan
                self._problems("MIDI inputs", f"cannot connect {source!r}: {exc}")
        return slot

    def _lost(self, name: str) -> None:
        released = self._close_slot(self._slots.pop(name))
        self.disappeared += 1
        self.notes_released_on_loss += released
        self.report(f"MIDI input {name!r} disappeared"
                    + (f"; released {released} note(s) it held" if released else "")
                    + "; it will be reconnected when it comes back")

    def _close_slot(self, slot: int) -> int:
        """Have the audio thread stop reading the slot and release its notes, then
        unregister its port; returns the notes released."""
        midi, stream = self.midi, self.stream
        port = midi.ports[slot]
        midi.releasing[slot] = True
        midi.release_requested = True
        # The audio thread answers within a period; one that does not for STALL_S makes the
        # watchdog call the stream lost (stream.active turns False), and only then are the
        # notes released from here: never while a callback may still run.
        while midi.releasing[slot] and stream.active:
            time.sleep(0.002)
        if midi.releasing[slot]:  # no callback runs (closing or lost): release from here
            midi.addresses[slot] = 0
            midi.releasing[slot] = False
            midi.ports[slot] = None
            midi.released[slot] = port.translator.release_all() if port is not None else 0
        elif stream.active:
            stream.engine.wait_for_callback()  # none still reads the port's buffer
        released = max(0, midi.released[slot])
        if port is not None and stream.active:  # a server that is gone takes no calls
            try:
                port.rt.unregister()
            except Exception as exc:  # noqa: BLE001 - the server may be going
                self._problems("MIDI inputs", f"unregistering {port.name!r}: {exc}")
        midi.ports[slot] = None
        return released
