"""The TouchOSC surface for `serve`, as data: controls, frames, and the OSC each one speaks.

Every OSC address and every fader range comes from `inputs.osc_space`, so
the surface is generated from the same table the server dispatches with;
`check_layout` (run by the generator and by a test) refuses a control whose
address the server does not serve (or does not send back, for displays) and
a fader whose range reaches outside what the server accepts.

Fader defaults are written in the server's units (seconds, the volume fader's
0..1) and converted to the fader's own 0..1 position by the writer
(`Arg.position_of`), because TouchOSC scales only the OSC message.

Geometry: 1024 x 768 points (a landscape tablet). Corner n of the pad is
where the morph grid puts corner n: 1 bottom-left, 2 bottom-right, 3
top-left, 4 top-right; each has its name and random/previous/next buttons on
its side of the pad.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..inputs.osc_space import address_table, feedback_addresses

WIDTH, HEIGHT = 1024, 768

# colours (r, g, b), 0..1
PAD = (0.20, 0.62, 0.86)
CORNER = (0.95, 0.55, 0.20)
PRESET = (0.55, 0.40, 0.85)
SOUND = (0.30, 0.75, 0.45)
RECORD = (0.90, 0.25, 0.25)
NEUTRAL = (0.55, 0.55, 0.60)
TEXT = (1.0, 1.0, 1.0)

TIME_CURVE = 3.0  # envelope time faders: seconds = low + (high - low) * position ** 3
REPLY_PORT = 9001  # the layout registers for feedback at this port (TouchOSC's receive port)


@dataclass(frozen=True)
class Arg:
    """One OSC argument of a control: a value of the control (scaled), or a constant.

    A control's own value is always 0..1 (`position`); what is sent is
    `low + (high - low) * position ** curve`. TouchOSC's message scaling is linear
    (curve 1); a curved argument is sent by the control's script instead (tosc.py).
    """

    value: str  # "x", "y", "text" (the control's value), or the constant itself
    conversion: str = "FLOAT"  # FLOAT, INTEGER, STRING
    low: float = 0.0
    high: float = 1.0
    constant: bool = False
    curve: float = 1.0

    def value_at(self, position: float) -> float:
        """What the control sends at `position` (0..1)."""
        return self.low + (self.high - self.low) * float(position) ** self.curve

    def position_of(self, value: float) -> float:
        """The control position (0..1) that sends `value` (clamped to the range)."""
        if self.high == self.low:
            return 0.0
        share = min(1.0, max(0.0, (float(value) - self.low) / (self.high - self.low)))
        return share ** (1.0 / self.curve)


@dataclass(frozen=True)
class Control:
    kind: str  # XY, FADER, BUTTON, LABEL
    name: str
    frame: tuple[int, int, int, int]  # x, y (from the top), w, h
    color: tuple[float, float, float]
    address: str | None = None  # None: a caption, no OSC
    args: tuple[Arg, ...] = ()
    send: bool = True
    receive: bool = True
    text: str = ""  # a label's text, or the caption drawn on a button
    options: dict = field(default_factory=dict)


def _range(address: str, index: int = 0) -> tuple[float, float]:
    spec = address_table()[address]
    return spec.args[index].low, spec.args[index].high


def _button(name: str, frame, color, address: str, text: str, toggle: bool = False) -> list:
    """A button (sends 1 on press, 0 on release) with its caption drawn over it."""
    button = Control("BUTTON", name, frame, color, address, (Arg("x"),),
                     receive=toggle, text=text,
                     options={"buttonType": 2 if toggle else 0})
    caption = Control("LABEL", f"{name} caption", frame, TEXT, text=text,
                      options={"background": False, "textSize": 14})
    return [button, caption]


def _label(name: str, frame, address: str | None, text: str = "", size: int = 14,
           color=NEUTRAL) -> Control:
    args = (Arg("text", "STRING"),) if address else ()
    return Control("LABEL", name, frame, color, address, args, send=False,
                   receive=address is not None, text=text, options={"textSize": size})


def _fader(name: str, frame, color, address: str, low: float, high: float,
           default: float, caption: str, interactive: bool = True,
           horizontal: bool = False, curve: float = 1.0) -> list:
    """A fader; `default` is in the units the server takes (seconds, not 0..1)."""
    fader = Control("FADER", name, frame, color, address,
                    (Arg("x", "FLOAT", low, high, curve=curve),), send=interactive,
                    options={"interactive": interactive, "default": default,
                             "orientation": 1 if horizontal else 0})
    if not caption:
        return [fader]
    x, y, w, h = frame
    below = (x - 10, y + h + 4, w + 20, 22)
    return [fader, _label(f"{name} caption", below, None, caption, 12)]


def corner_controls(n: int) -> list[Control]:
    top = n in (3, 4)
    left = n in (1, 3)
    x = 20 if left else 330
    y = 20 if top else 686
    controls = [_label(f"corner {n} name", (x, y, 250, 30), f"/corner/{n}/name",
                       f"corner {n}", 15, CORNER)]
    bx = x if left else x + 250 - 196  # buttons flush with the pad's outer edge
    for k, (action, text) in enumerate((("random", "rnd"), ("prev", "<"), ("next", ">"))):
        controls += _button(f"corner {n} {action}", (bx + k * 68, y + 34, 60, 36), CORNER,
                            f"/corner/{n}/{action}", text)
    return controls


def fader_settings() -> list[tuple[str, str, str, float, float]]:
    """(name, address, caption, default, curve) of the sound faders.

    Defaults are what `serve` starts with (before a preset sets its own): the
    volume option's default and the engine's envelope. The faders span the whole
    range the server accepts; the times on a cubic curve, so the short attacks
    and decays that matter most get most of the travel (attack 5 ms sits at 7 %
    of the fader, 0.1 s at 21 %, 1.25 s half way; decay and release 0.4 s at 24 %,
    3.75 s half way).
    """
    from ..live.config import ServeConfig
    from ..engine.config import EngineConfig

    engine, serve = EngineConfig(), ServeConfig()
    return [("volume", "/volume", "volume", serve.volume, 1.0),
            ("attack", "/envelope/attack", "attack s", engine.attack_s, TIME_CURVE),
            ("decay", "/envelope/decay", "decay s", engine.decay_s, TIME_CURVE),
            ("sustain", "/envelope/sustain", "sustain", engine.sustain, 1.0),
            ("release", "/envelope/release", "release s", engine.release_s, TIME_CURVE)]


def build_layout() -> list[Control]:
    """Every control of the surface, back to front."""
    controls: list[Control] = [
        Control("XY", "morph", (20, 100, 560, 566), PAD, "/morph/xy",
                (Arg("x"), Arg("y")), options={"default": (0.5, 0.5)}),
    ]
    for n in (1, 2, 3, 4):
        controls += corner_controls(n)
    right = 610
    controls.append(_label("preset name", (right, 20, 250, 40), "/preset/name", "preset", 16,
                           PRESET))
    controls += _button("preset prev", (right + 260, 20, 60, 40), PRESET, "/preset/prev", "<")
    controls += _button("preset next", (right + 330, 20, 60, 40), PRESET, "/preset/next", ">")
    controls += _fader("bank progress", (right, 80, 390, 24), NEUTRAL, "/bank/progress",
                       0.0, 1.0, 0.0, "", interactive=False, horizontal=True)
    controls.append(_label("bank text", (right, 108, 390, 24), "/bank/text", "banks", 12))
    for k, (name, address, caption, default, curve) in enumerate(fader_settings()):
        low, high = _range(address)
        controls += _fader(name, (right + 5 + k * 80, 160, 60, 330), SOUND, address,
                           low, high, default, caption, curve=curve)
    controls += _button("record", (right, 540, 120, 50), RECORD, "/record", "REC", toggle=True)
    controls += _button("all notes off", (right + 135, 540, 120, 50), NEUTRAL,
                        "/all_notes_off", "notes off")
    controls += _button("panic", (right + 270, 540, 120, 50), RECORD, "/panic", "PANIC")
    controls += _button("learn x", (right, 610, 90, 40), NEUTRAL, "/midi/learn/x", "learn x")
    controls += _button("learn y", (right + 100, 610, 90, 40), NEUTRAL, "/midi/learn/y",
                        "learn y")
    controls.append(_label("midi map", (right + 200, 610, 190, 40), "/midi/map", "x: CC1  y: CC2",
                           12))
    controls.append(_label("status", (right, 670, 390, 80), "/status/text", "status", 11))
    return controls


class LayoutError(ValueError):
    """The layout speaks OSC the server does not."""


def check_layout(controls: list[Control]) -> None:
    table = address_table()
    sent_back = feedback_addresses()
    names = [c.name for c in controls]
    if len(names) != len(set(names)):
        raise LayoutError("control names must be unique")
    for control in controls:
        if control.address is None:
            continue
        spec = table.get(control.address)
        if control.send:
            if spec is None:
                raise LayoutError(f"{control.name}: the server does not serve {control.address}")
            values = [a for a in control.args if not a.constant]
            if not spec.trigger and len(values) != len(spec.args):
                raise LayoutError(f"{control.name}: {control.address} takes {len(spec.args)} "
                                  f"argument(s), the control sends {len(values)}")
            for arg, server_arg in zip(values, spec.args if not spec.trigger else ()):
                if server_arg.kind in ("float", "int") and not (
                        server_arg.low <= arg.low <= server_arg.high
                        and server_arg.low <= arg.high <= server_arg.high):
                    raise LayoutError(f"{control.name}: range {arg.low}..{arg.high} is outside "
                                      f"the server's {server_arg.low}..{server_arg.high}")
        if control.receive and control.address not in sent_back:
            raise LayoutError(f"{control.name}: the server never sends {control.address}")
        x, y, w, h = control.frame
        if x < 0 or y < 0 or x + w > WIDTH or y + h > HEIGHT:
            raise LayoutError(f"{control.name}: frame {control.frame} leaves the page")
