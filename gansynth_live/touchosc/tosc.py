"""Writing and reading TouchOSC's `.tosc` documents (the current TouchOSC, not Mk1).

A `.tosc` file is zlib-compressed XML: `<lexml version='3'>` holding one
root `<node type='GROUP'>`; every node has `<properties>` (typed key/value
pairs: b bool, c colour, f float, i int, r rectangle, s string), `<values>`
(the control's live values: touch, x, y, text) and `<messages>` (here one
`<osc>` element per control: send/receive flags, triggers, an address built
from `<partial>`s and arguments that map a value, scaled, or a constant).
Node IDs are UUIDs made from the control names, so regenerating the file
gives the same bytes.

The structure follows documents saved by the TouchOSC editor (examined in
the tosclib project's sample files); TouchOSC itself cannot run here, so the
file is checked by parsing it back (`read_osc_controls`), not by TouchOSC.
"""

from __future__ import annotations

import uuid
import zlib

from .layout import HEIGHT, WIDTH, Control

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


def _common(w: _Writer, control: Control, interactive: bool) -> None:
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
    w.prop("i", "shape", 1)
    w.prop("b", "visible", True)


def _node(w: _Writer, control: Control) -> None:
    kind = control.kind
    node_id = uuid.uuid5(_NS, control.name)
    w.add(f"<node ID='{node_id}' type='{kind}'><properties>")
    interactive = kind != "LABEL" and control.options.get("interactive", True)
    _common(w, control, interactive)
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
        else:
            w.value("x", _num(default))
    w.add("</values>")
    if control.address is not None:
        _osc(w, control)
    w.add("</node>")



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
    _common(w, root, False)
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
    """For each node of a .tosc document with an OSC message: its name, type, address
    (the path partials joined), send/receive flags and argument partials."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(zlib.decompress(data))
    found = []
    for node in root.iter("node"):
        osc = node.find("messages/osc")
        if osc is None:
            continue
        name = next((p.findtext("value") for p in node.find("properties")
                     if p.findtext("key") == "name"), "")
        address = "".join(p.findtext("value") or "" for p in osc.find("path"))
        args = [{"type": p.findtext("type"), "conversion": p.findtext("conversion"),
                 "value": p.findtext("value"), "low": float(p.findtext("scaleMin")),
                 "high": float(p.findtext("scaleMax"))} for p in osc.find("arguments")]
        found.append({"name": name, "type": node.get("type"), "address": address,
                      "send": osc.findtext("send") == "1",
                      "receive": osc.findtext("receive") == "1", "args": args})
    return found
