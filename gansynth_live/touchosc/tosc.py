"""Writing and reading TouchOSC's `.tosc` documents (the current TouchOSC, not Mk1).

A `.tosc` file is zlib-compressed XML: `<lexml version='3'>` holding one
root `<node type='GROUP'>`; every node has `<properties>` (typed key/value
pairs: b bool, c colour, f float, i int, r rectangle, s string), `<values>`
(the control's live values: touch, x, y, text) and `<messages>` (here one
`<osc>` element per control: send/receive flags, triggers, an address built
from `<partial>`s and arguments that map a value, scaled, or a constant).
Node IDs are UUIDs made from the control names, so regenerating the file
gives the same bytes.

Values: a control's value is always 0..1 in TouchOSC, and the `<osc>`
argument's scaleMin/scaleMax apply to the message only (sending, and mapping a
received value back). So a fader's `<default>` is its position, written
`Arg.position_of(default)`, never the value in seconds.

Curves: TouchOSC's message scaling is linear. The envelope time faders span
the server's whole range (attack 0.001..10 s, decay and release up to 30 s) on
a cubic curve, which a message cannot express, so those faders carry no
`<osc>` element; their Lua `script` sends `low + (high - low) * x^3` while the
fader is touched and, on the server's feedback for the same address, sets the
fader to the inverse (never while it is being touched).

Registering: the root node's script sends `/register <REPLY_PORT>` (9001,
the receive port the set-up instructions give TouchOSC) when the layout loads
and again every 2 s until the first message arrives, so the server's feedback
(fader positions, corner names, progress) reaches the tablet without
`serve --osc-reply-port`. A TouchOSC script cannot read the connection's
receive port, hence the constant: change `REPLY_PORT` in the root script if
TouchOSC receives elsewhere (or use `--osc-reply-port`).

The structure follows documents saved by the TouchOSC editor (examined in
the tosclib project's sample files: format version 3, properties sorted by
key, a `script` property where one is set); TouchOSC itself cannot run here,
so the file is checked by parsing it back (`read_osc_controls`), and the
scripts by running them under Lua with the TouchOSC functions they call
stubbed (done while writing them, with lupa; not a test dependency).
"""

from __future__ import annotations

import re
import uuid
import zlib

from .layout import HEIGHT, REPLY_PORT, WIDTH, Arg, Control

_NS = uuid.UUID("6f1e3c2a-9d4b-4f6e-8a77-3b1d2c5e9f10")
TEXT_COLOR = (1.0, 1.0, 1.0)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _num(value: float) -> str:
    return f"{value:g}"


class _Writer:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)

    def prop(self, kind: str, key: str, value) -> None:
        self.add(f"<property type='{kind}'><key>{_cdata(key)}</key>")
        if kind == "c":
            r, g, b = value[:3]
            a = value[3] if len(value) > 3 else 1.0
            self.add(f"<value><r>{_num(r)}</r><g>{_num(g)}</g><b>{_num(b)}</b>"
                     f"<a>{_num(a)}</a></value>")
        elif kind == "r":
            x, y, w, h = value
            self.add(f"<value><x>{x}</x><y>{y}</y><w>{w}</w><h>{h}</h></value>")
        elif kind == "s":
            self.add(f"<value>{_cdata(str(value))}</value>")
        elif kind == "b":
            self.add(f"<value>{1 if value else 0}</value>")
        else:
            self.add(f"<value>{_num(value)}</value>")
        self.add("</property>")

    def value(self, key: str, default: str) -> None:
        self.add(f"<value><key>{_cdata(key)}</key><locked>0</locked>"
                 f"<lockedDefaultCurrent>0</lockedDefaultCurrent>"
                 f"<default>{_cdata(default)}</default><defaultPull>0</defaultPull></value>")


def _common(w: _Writer, control: Control, interactive: bool, script: str = "") -> None:
    w.prop("b", "background", control.options.get("background", True))
    w.prop("c", "color", control.color if control.kind != "LABEL" or
           control.options.get("background", True) else (0, 0, 0, 0))
    w.prop("f", "cornerRadius", 1.0)
    w.prop("r", "frame", control.frame)
    w.prop("b", "grabFocus", interactive)
    w.prop("b", "interactive", interactive)
    w.prop("b", "locked", False)
    w.prop("s", "name", control.name)
    w.prop("i", "orientation", control.options.get("orientation", 0))
    w.prop("b", "outline", True)
    w.prop("i", "outlineStyle", 1)
    w.prop("i", "pointerPriority", 0)
    if script:
        w.prop("s", "script", script)
    w.prop("i", "shape", 1)
    w.prop("b", "visible", True)


def _node(w: _Writer, control: Control) -> None:
    kind = control.kind
    node_id = uuid.uuid5(_NS, control.name)
    w.add(f"<node ID='{node_id}' type='{kind}'><properties>")
    interactive = kind != "LABEL" and control.options.get("interactive", True)
    curved = _curved(control)
    _common(w, control, interactive, _curve_script(control, curved) if curved else "")
    if kind == "XY":
        for key, value in (("cursor", True), ("gridX", True), ("gridY", True),
                           ("lines", True), ("lockX", False), ("lockY", False)):
            w.prop("b", key, value)
        for key, value in (("cursorDisplay", 0), ("gridStepsX", 4), ("gridStepsY", 4),
                           ("linesDisplay", 0), ("response", 0), ("responseFactor", 100)):
            w.prop("i", key, value)
    elif kind == "FADER":
        for key, value in (("bar", True), ("cursor", interactive), ("grid", False)):
            w.prop("b", key, value)
        for key, value in (("barDisplay", 0), ("cursorDisplay", 0), ("gridSteps", 10),
                           ("response", 0), ("responseFactor", 100)):
            w.prop("i", key, value)
    elif kind == "BUTTON":
        w.prop("i", "buttonType", control.options.get("buttonType", 0))
        w.prop("b", "press", True)
        w.prop("b", "release", True)
        w.prop("b", "valuePosition", False)
    elif kind == "LABEL":
        w.prop("i", "font", 0)
        w.prop("i", "textAlignH", 2)
        w.prop("i", "textAlignV", 2)
        w.prop("b", "textClip", True)
        w.prop("c", "textColor", TEXT_COLOR)
        w.prop("i", "textLength", 0)
        w.prop("i", "textSize", control.options.get("textSize", 14))
    w.add("</properties><values>")
    if kind == "LABEL":
        w.value("text", control.text)
    w.value("touch", "false")
    if kind in ("XY", "FADER", "BUTTON"):
        default = control.options.get("default", 0.0)
        if kind == "XY":
            w.value("x", _num(default[0]))
            w.value("y", _num(default[1]))
        elif kind == "FADER":
            w.value("x", _num(control.args[0].position_of(default)))
        else:
            w.value("x", _num(default))
    w.add("</values>")
    if control.address is not None and curved is None:
        _osc(w, control)
    w.add("</node>")


def _curved(control: Control) -> Arg | None:
    """The fader argument TouchOSC's linear message scaling cannot send, if any."""
    if control.kind == "FADER" and control.args and control.args[0].curve != 1.0:
        return control.args[0]
    return None


# The script of a curved fader; read_osc_controls reads its first code line back.
_CURVE_SCRIPT = """\
-- gansynth-live: sends {address} in seconds, low + (high - low) * x^curve,
-- while the fader is touched; follows the server's feedback on that address.
local ADDRESS, LOW, HIGH, CURVE = '{address}', {low}, {high}, {curve}

local function touched()
  local t = self.values.touch
  return t == true or t == 1
end

function onValueChanged(key)
  if key == 'x' and touched() then
    sendOSC(ADDRESS, LOW + (HIGH - LOW) * self.values.x ^ CURVE)
  end
end

function onReceiveOSC(message, connections)
  if message[1] ~= ADDRESS or touched() then return end
  local arg = message[2][1]
  if arg == nil or type(arg.value) ~= 'number' then return end
  local share = math.max(0, math.min(1, (arg.value - LOW) / (HIGH - LOW)))
  self.values.x = share ^ (1 / CURVE)
end
"""
_CURVE_LINE = re.compile(r"^local ADDRESS, LOW, HIGH, CURVE = '([^']*)', (\S+), (\S+), (\S+)$",
                         re.MULTILINE)

# The root node's script: ask for feedback when the layout loads (see the module docstring).
ROOT_SCRIPT = f"""\
-- gansynth-live: register for the server's feedback when the layout loads, and
-- again every 2 s until the first message arrives (the server may start later).
-- REPLY_PORT: this connection's receive port (Connections > OSC).
local REPLY_PORT = {REPLY_PORT}
local heard, last = false, nil

local function register()
  sendOSC('/register', REPLY_PORT)
  last = getMillis()
end

function init()
  register()
end

function update()
  if not heard and (last == nil or getMillis() - last > 2000) then register() end
end

function onReceiveOSC(message, connections)
  heard = true
end
"""


def _curve_script(control: Control, arg: Arg) -> str:
    return _CURVE_SCRIPT.format(address=control.address, low=_num(arg.low),
                                high=_num(arg.high), curve=_num(arg.curve))



def _osc(w: _Writer, control: Control) -> None:
    triggers = {"XY": ("x", "y"), "LABEL": ("text",)}.get(control.kind, ("x",))
    w.add("<messages><osc>")
    w.add(f"<enabled>1</enabled><send>{int(control.send)}</send>"
          f"<receive>{int(control.receive)}</receive><feedback>0</feedback>"
          "<connections>00001</connections><triggers>")
    for var in triggers:
        w.add(f"<trigger><var>{_cdata(var)}</var><condition>ANY</condition></trigger>")
    w.add("</triggers><path>")
    w.add(f"<partial><type>CONSTANT</type><conversion>STRING</conversion>"
          f"<value>{_cdata(control.address)}</value><scaleMin>0</scaleMin>"
          f"<scaleMax>1</scaleMax></partial>")
    w.add("</path><arguments>")
    for arg in control.args:
        kind = "CONSTANT" if arg.constant else "VALUE"
        w.add(f"<partial><type>{kind}</type><conversion>{arg.conversion}</conversion>"
              f"<value>{_cdata(arg.value)}</value><scaleMin>{_num(arg.low)}</scaleMin>"
              f"<scaleMax>{_num(arg.high)}</scaleMax></partial>")
    w.add("</arguments></osc></messages>")


def tosc_xml(controls: list[Control], name: str = "gansynth-live") -> str:
    w = _Writer()
    w.add("<?xml version='1.0' encoding='UTF-8'?><lexml version='3'>")
    w.add(f"<node ID='{uuid.uuid5(_NS, name)}' type='GROUP'><properties>")
    root = Control("GROUP", name, (0, 0, WIDTH, HEIGHT), (0.08, 0.08, 0.10))
    _common(w, root, False, ROOT_SCRIPT)
    w.add("</properties><values>")
    w.value("touch", "false")
    w.add("</values><children>")
    for control in controls:
        _node(w, control)
    w.add("</children></node></lexml>")
    return "".join(w.parts)


def write_tosc(controls: list[Control], path) -> bytes:
    """Write the layout as a .tosc file; returns the bytes written."""
    data = zlib.compress(tosc_xml(controls).encode("utf-8"), 9)
    with open(path, "wb") as fh:
        fh.write(data)
    return data


def read_osc_controls(data: bytes) -> list[dict]:
    """For each node of a .tosc document that speaks OSC: its name, type, address (the
    path partials joined), send/receive flags, argument partials (each with its `curve`,
    1 for TouchOSC's linear scaling), `default` (the control's x and y value, 0..1) and
    `script` (the node's Lua script, '' if none). A curved fader's OSC is in its
    script (see the module docstring), read back from the script's constants."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(zlib.decompress(data))
    found = []
    for node in root.iter("node"):
        props = {p.findtext("key"): p.findtext("value") for p in node.find("properties")}
        script = props.get("script") or ""
        defaults = {v.findtext("key"): v.findtext("default")
                    for v in node.findall("values/value")}
        default = {k: float(defaults[k]) for k in ("x", "y") if k in defaults}
        common = {"name": props.get("name", ""), "type": node.get("type"),
                  "default": default, "script": script}
        osc = node.find("messages/osc")
        curve = _CURVE_LINE.search(script)
        if osc is not None:
            address = "".join(p.findtext("value") or "" for p in osc.find("path"))
            args = [{"type": p.findtext("type"), "conversion": p.findtext("conversion"),
                     "value": p.findtext("value"), "low": float(p.findtext("scaleMin")),
                     "high": float(p.findtext("scaleMax")), "curve": 1.0}
                    for p in osc.find("arguments")]
            found.append({**common, "address": address, "send": osc.findtext("send") == "1",
                          "receive": osc.findtext("receive") == "1", "args": args})
        elif curve is not None:
            address, low, high, power = curve.groups()
            found.append({**common, "address": address, "send": True, "receive": True,
                          "args": [{"type": "VALUE", "conversion": "FLOAT", "value": "x",
                                    "low": float(low), "high": float(high),
                                    "curve": float(power)}]})
    return found
