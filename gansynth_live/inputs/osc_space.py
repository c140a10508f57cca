"""The OSC address space: one table the server, the TouchOSC layout and the docs are made from.

Keeping it as data (not as handler registrations scattered through the
server) lets the layout generator take its addresses and fader ranges from
here and a test check that every control of the shipped layout is served, so
the surface and the server cannot drift apart.

Arguments are validated against their `Arg` before anything is called: type,
range, NaN and infinity. Floats accept OSC ints too, and ints accept integral
floats, because TouchOSC sends every value as a float. A *trigger* address
(a button) fires with no argument or a non-zero one; a zero (TouchOSC sends 0
when a button is released) is ignored without counting as bad.

Corner addresses exist for corners 1..4: corner 1 is the XY pad's bottom-left
(x=0, y=0), 2 bottom-right, 3 top-left, 4 top-right.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

ArgKind = Literal["float", "int", "string", "switch"]
CORNERS = (1, 2, 3, 4)
MAX_STRING = 128
SWITCH_ON = {"start", "on", "true", "1"}
SWITCH_OFF = {"stop", "off", "false", "0"}


class BadArguments(ValueError):
    """An OSC message whose arguments do not fit its address (says which and why)."""


@dataclass(frozen=True)
class Arg:
    """One argument: name, kind, range (numbers), whether it may be left out."""

    name: str
    kind: ArgKind
    low: float = 0.0
    high: float = 1.0
    optional: bool = False
    unit: str = ""

    def convert(self, value: Any) -> Any:
        """The validated Python value for `value`, or BadArguments."""
        if self.kind == "string":
            if not isinstance(value, str):
                raise BadArguments(f"{self.name} must be a string, got {type(value).__name__}")
            if not 0 < len(value) <= MAX_STRING:
                raise BadArguments(f"{self.name} must be 1..{MAX_STRING} characters")
            return value
        if self.kind == "switch":
            if isinstance(value, str):
                word = value.strip().lower()
                if word in SWITCH_ON:
                    return True
                if word in SWITCH_OFF:
                    return False
                raise BadArguments(f"{self.name} must be start/stop, on/off or a number")
            return self._number(value) != 0.0
        number = self._number(value)
        if self.kind == "int":
            if number != math.floor(number):
                raise BadArguments(f"{self.name} must be a whole number, got {number!r}")
            number = int(number)
        if not self.low <= number <= self.high:
            raise BadArguments(f"{self.name} must be in {self.low:g}..{self.high:g}, got {number!r}")
        return number

    def _number(self, value: Any) -> float:
        if isinstance(value, bool):  # OSC T/F
            return 1.0 if value else 0.0
        if not isinstance(value, (int, float)):
            raise BadArguments(f"{self.name} must be a number, got {type(value).__name__}")
        number = float(value)
        if not math.isfinite(number):
            raise BadArguments(f"{self.name} must be finite, got {value!r}")
        return number


@dataclass(frozen=True)
class Address:
    """One address the server accepts (and, with `feedback`, sends back with the current value).

    `pattern` may contain `{n}` for the corner number; `action` is the method
    called with the converted arguments as keywords (plus `n`); `target` says
    whether the instrument or the OSC server itself handles it.
    """

    pattern: str
    action: str
    help: str
    args: tuple[Arg, ...] = ()
    trigger: bool = False
    feedback: bool = False
    target: Literal["instrument", "server"] = "instrument"
    fixed: dict[str, Any] = field(default_factory=dict)

    def convert(self, values: list[Any]) -> dict[str, Any] | None:
        """Keyword arguments for the action, None for a released trigger; BadArguments if wrong."""
        if self.trigger:
            if len(values) > 1:
                raise BadArguments(f"{self.pattern} takes at most one argument")
            if values and not Arg("press", "switch").convert(values[0]):
                return None
            return dict(self.fixed)
        required = sum(1 for a in self.args if not a.optional)
        if not required <= len(values) <= len(self.args):
            want = str(required) if required == len(self.args) else f"{required}..{len(self.args)}"
            raise BadArguments(f"{self.pattern} takes {want} argument(s), got {len(values)}")
        kwargs = dict(self.fixed)
        for arg, value in zip(self.args, values):
            kwargs[arg.name] = arg.convert(value)
        return kwargs


@dataclass(frozen=True)
class Feedback:
    """An address the server only sends (state a surface displays)."""

    pattern: str
    args: tuple[Arg, ...]
    help: str


_UNIT = Arg("value", "float", 0.0, 1.0)
_NAME = Arg("name", "string")
_CHANNEL = Arg("channel", "int", 1, 16, optional=True)
_NOTE_ID = Arg("note_id", "int", 0, 2**31 - 1)  # chosen by the client (live/note_ids.py)
_NOTE_ID_OPTIONAL = Arg("note_id", "int", 0, 2**31 - 1, optional=True)

ADDRESSES: tuple[Address, ...] = (
    # --- morph ---------------------------------------------------------------------------
    Address("/morph/xy", "set_morph", "move the morph position (x right, y up)",
            (Arg("x", "float"), Arg("y", "float")), feedback=True),
    Address("/morph/x", "set_morph", "move along x only", (Arg("x", "float"),), feedback=True),
    Address("/morph/y", "set_morph", "move along y only", (Arg("y", "float"),), feedback=True),
    # --- corners -------------------------------------------------------------------------
    Address("/corner/{n}/random", "corner_random", "a new random timbre for corner n",
            trigger=True),
    Address("/corner/{n}/next", "corner_step", "corner n takes the next preset",
            trigger=True, fixed={"step": 1}),
    Address("/corner/{n}/prev", "corner_step", "corner n takes the previous preset",
            trigger=True, fixed={"step": -1}),
    Address("/corner/{n}/preset", "corner_preset", "corner n takes the named preset", (_NAME,)),
    # --- presets -------------------------------------------------------------------------
    Address("/preset", "select_preset", "load a preset or morph setup by name", (_NAME,)),
    Address("/preset/next", "preset_step", "load the next preset", trigger=True,
            fixed={"step": 1}),
    Address("/preset/prev", "preset_step", "load the previous preset", trigger=True,
            fixed={"step": -1}),
    Address("/preset/save", "save_preset", "save the current corners, envelope and gain "
            "as a user preset (never overwrites)", (_NAME,)),
    Address("/program", "select_program", "like a MIDI program change (0..127)",
            (Arg("program", "int", 0, 127),)),
    # --- notes ---------------------------------------------------------------------------
    Address("/note", "note", "play a note; velocity 0 releases it",
            (Arg("pitch", "int", 0, 127), Arg("velocity", "int", 0, 127), _CHANNEL)),
    Address("/note/off", "note_release", "release a note", (Arg("pitch", "int", 0, 127), _CHANNEL)),
    Address("/mnote", "mnote", "play a note on channel 1 named by `note_id` (Surge XT's "
            "convention) for /ne/...; velocity 0 releases it",
            (Arg("pitch", "int", 0, 127), Arg("velocity", "int", 0, 127), _NOTE_ID_OPTIONAL)),
    Address("/mnote/rel", "mnote_release", "release the note `note_id` names (else the key)",
            (Arg("pitch", "int", 0, 127), _NOTE_ID_OPTIONAL)),
    Address("/ne/pitch", "note_expression", "bend the note `note_id` names by its own semitones",
            (_NOTE_ID, Arg("value", "float", -48.0, 48.0, unit="semitones")),
            fixed={"kind": "pitch"}),
    Address("/ne/timbre", "note_expression", "the note's slide, 0..1 (0.5 none; as MPE's "
            "CC74, moves its own morph through the expression mapping)",
            (_NOTE_ID, Arg("value", "float")), fixed={"kind": "timbre"}),
    Address("/ne/pressure", "note_expression", "the note's pressure, 0..1 (as MPE's channel "
            "pressure)", (_NOTE_ID, Arg("value", "float")), fixed={"kind": "pressure"}),
    Address("/ne/morph", "note_morph", "the note's own morph offset from the pad position",
            (_NOTE_ID, Arg("dx", "float", -1.0, 1.0), Arg("dy", "float", -1.0, 1.0))),
    Address("/sustain", "sustain", "sustain pedal down (1/on) or up (0/off)",
            (Arg("down", "switch"), _CHANNEL)),
    Address("/bend", "bend", "pitch bend, -1..1 of the bend range",
            (Arg("value", "float", -1.0, 1.0), _CHANNEL)),
    Address("/bend/range", "set_bend_range", "pitch-bend range in semitones",
            (Arg("semitones", "float", 0.0, 48.0, unit="semitones"),), feedback=True),
    Address("/all_notes_off", "all_notes_off", "release every note (release tails play)",
            trigger=True),
    Address("/panic", "panic", "silence everything at once (all sound off)", trigger=True),
    # --- sound ---------------------------------------------------------------------------
    Address("/volume", "set_volume", "master volume fader 0..1 (gain = 2 * v^2: 0.5 is -6 dB, "
            "0.707 unity, 1 is +6 dB), times the preset's gain", (_UNIT,), feedback=True),
    Address("/envelope/attack", "set_envelope", "attack time",
            (Arg("attack_s", "float", 0.001, 10.0, unit="s"),), feedback=True),
    Address("/envelope/decay", "set_envelope", "decay time (to within -60 dB of sustain)",
            (Arg("decay_s", "float", 0.0, 30.0, unit="s"),), feedback=True),
    Address("/envelope/sustain", "set_envelope", "sustain level",
            (Arg("sustain", "float", 0.0, 1.0),), feedback=True),
    Address("/envelope/release", "set_envelope", "release time (80 dB fall)",
            (Arg("release_s", "float", 0.001, 30.0, unit="s"),), feedback=True),
    # --- recording -----------------------------------------------------------------------
    Address("/record", "set_recording", "start (start/on/1) or stop (stop/off/0) recording "
            "the output to a new WAV file in the recordings folder",
            (Arg("on", "switch"),), feedback=True),
    # --- MIDI learn ----------------------------------------------------------------------
    Address("/midi/learn/x", "midi_learn", "the next MIDI controller moved drives morph x",
            trigger=True, fixed={"axis": "x"}),
    Address("/midi/learn/y", "midi_learn", "the next MIDI controller moved drives morph y",
            trigger=True, fixed={"axis": "y"}),
    Address("/midi/learn/cancel", "midi_learn", "stop waiting for a controller",
            trigger=True, fixed={"axis": None}),
    # --- clients -------------------------------------------------------------------------
    Address("/register", "register", "send feedback to the sender's host at `port` "
            "(default: the port the message came from)",
            (Arg("port", "int", 1, 65535, optional=True),), target="server"),
    Address("/unregister", "unregister", "stop sending feedback to that client",
            (Arg("port", "int", 1, 65535, optional=True),), target="server"),
    Address("/state", "send_state", "send every feedback value to the sender now",
            (Arg("port", "int", 1, 65535, optional=True),), target="server"),
    Address("/ping", "ping", "answer /pong to the sender (or to `port`)",
            (Arg("port", "int", 1, 65535, optional=True),), target="server"),
)

FEEDBACK: tuple[Feedback, ...] = (
    Feedback("/corner/{n}/name", (_NAME,), "what corner n plays (preset name or 'random N')"),
    Feedback("/preset/name", (_NAME,), "the preset or morph setup loaded last"),
    Feedback("/bank/progress", (_UNIT,), "notes generated / notes needed for the whole morph "
             "grid, 0..1"),
    Feedback("/bank/text", (Arg("text", "string"),), "bank progress as text, e.g. "
             "'banks 4/9, notes 61%'"),
    Feedback("/midi/learn", (Arg("axis", "string"),), "'x' or 'y' while waiting for a "
             "controller, '' otherwise"),
    Feedback("/midi/map", (Arg("text", "string"),), "which controllers drive x and y, "
             "e.g. 'x: CC1  y: CC2'"),
    Feedback("/record/time", (Arg("seconds", "float", 0.0, 1e9, unit="s"),), "the take's "
             "running time while recording (to 0.1 s), 0 otherwise"),
    Feedback("/status/text", (Arg("text", "string"),), "the status line"),
    Feedback("/status/voices", (Arg("voices", "int", 0, 1024),), "voices sounding"),
    Feedback("/status/xruns", (Arg("xruns", "int", 0, 2**31 - 1),), "audio dropouts so far"),
    Feedback("/status/cpu", (Arg("percent", "float", 0.0, 1000.0, unit="%"),), "DSP load: the "
             "audio callback's share of its period, smoothed over ~0.5 s (whole percent)"),
    Feedback("/status/level", (Arg("dbfs", "float", -120.0, 0.0, unit="dBFS"),), "output level "
             "meter: peak, held and falling 20 dB in 1.7 s (0.5 dB steps; -120 = silence)"),
    Feedback("/pong", (), "answer to /ping"),
    Feedback("/error", (Arg("text", "string"),), "why the last message from this client "
             "was refused"),
)


def expand(pattern: str) -> list[tuple[str, dict[str, Any]]]:
    """Concrete addresses of a pattern with their fixed keywords ({n} -> corners 1..4)."""
    if "{n}" not in pattern:
        return [(pattern, {})]
    return [(pattern.replace("{n}", str(n)), {"n": n}) for n in CORNERS]


def address_table() -> dict[str, Address]:
    """Every concrete address the server accepts -> its spec (with corner numbers fixed)."""
    table: dict[str, Address] = {}
    for spec in ADDRESSES:
        for address, fixed in expand(spec.pattern):
            table[address] = Address(address, spec.action, spec.help, spec.args, spec.trigger,
                                     spec.feedback, spec.target, {**spec.fixed, **fixed})
    return table


def feedback_addresses() -> set[str]:
    """Every concrete address the server may send to registered clients."""
    out = {address for spec in ADDRESSES if spec.feedback for address, _ in expand(spec.pattern)}
    out.update(address for spec in FEEDBACK for address, _ in expand(spec.pattern))
    return out


def _arg_text(arg: Arg) -> str:
    if arg.kind == "string":
        text = f"{arg.name} (string)"
    elif arg.kind == "switch":
        text = f"{arg.name} (start/stop, on/off or 1/0)"
    else:
        unit = f" {arg.unit}" if arg.unit and arg.unit != arg.name else ""
        span = f"{int(arg.low)}..{int(arg.high)}" if arg.kind == "int" else \
            f"{arg.low:g}..{arg.high:g}"
        text = f"{arg.name} ({arg.kind} {span}{unit})"
    return f"[{text}]" if arg.optional else text


def markdown_tables() -> str:
    """The address space as markdown (docs/osc.md embeds this; a test compares)."""
    lines = ["| address | arguments | what it does | sent back |", "| --- | --- | --- | --- |"]
    for spec in ADDRESSES:
        args = "[press (number; 0 = released, ignored)]" if spec.trigger else \
            ", ".join(_arg_text(a) for a in spec.args) or "-"
        lines.append(f"| `{spec.pattern}` | {args} | {spec.help} | "
                     f"{'yes' if spec.feedback else ''} |")
    lines += ["", "Sent by the server only (feedback to registered clients):", "",
              "| address | arguments | meaning |", "| --- | --- | --- |"]
    for fb in FEEDBACK:
        args = ", ".join(_arg_text(a) for a in fb.args) or "-"
        lines.append(f"| `{fb.pattern}` | {args} | {fb.help} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_tables(), end="")
