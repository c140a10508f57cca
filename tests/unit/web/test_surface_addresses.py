"""Every OSC address the web page sends or listens to is in the validated address table.

The page (gansynth_live/web/static) is read as text, as test_touchosc_layout reads the
.tosc file: each `send(...)` call of surface.js, each `data-send` attribute of the HTML
(index.html and the markup surface.js writes), and each address the feedback handler
compares against. A send whose address the test cannot resolve fails it, so a new way of
naming an address has to be taught here rather than slip by unchecked.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from gansynth_live.inputs.osc_space import ADDRESSES, CORNERS, address_table, feedback_addresses
from gansynth_live.web.catalog import fader_catalog

STATIC = Path(__file__).resolve().parents[3] / "gansynth_live" / "web" / "static"
JS = (STATIC / "surface.js").read_text()
HTML = (STATIC / "index.html").read_text()
CORNER_PATTERNS = {spec.pattern for spec in ADDRESSES if "{n}" in spec.pattern}


def call_arguments(source: str, start: int) -> list[str]:
    """The top-level arguments of the call whose '(' is at `start`, as source text."""
    args, i, current = [], start + 1, []
    closing = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    while True:
        c = source[i]
        if c in "\"'`":  # a string: skip to its end (template ${...} hold no quotes here)
            j = i + 1
            while source[j] != c:
                j += 2 if source[j] == "\\" else 1
            current.append(source[i:j + 1])
            i = j + 1
            continue
        if c in closing:
            stack.append(closing[c])
        elif stack and c == stack[-1]:
            stack.pop()
        elif c == ")" and not stack:
            text = "".join(current).strip()
            if text:
                args.append(text)
            return args
        elif c == "," and not stack:
            args.append("".join(current).strip())
            current = []
            i += 1
            continue
        current.append(c)
        i += 1


def sends() -> list[list[str]]:
    """The arguments of every `send(...)` call in surface.js (not its definition, nor
    `socket.send`, which carries the encoded message)."""
    calls = []
    for match in re.finditer(r"(?<![\w.$])send\(", JS):
        if JS[:match.start()].rstrip().endswith("function"):
            continue
        calls.append(call_arguments(JS, match.end() - 1))
    return calls


def corner_pattern(template: str) -> str:
    """`/corner/${n}/prev` -> `/corner/{n}/prev`, which must be a corner address pattern."""
    pattern = re.sub(r"\$\{[^}]*\}", "{n}", template)
    assert pattern in CORNER_PATTERNS, f"{template}: only a corner number may vary"
    return pattern


class _DataSend(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [value for name, value in attrs if name == "data-send" and value]


def data_send_addresses() -> list[tuple[str, str]]:
    """(address or corner pattern, where) of every data-send button, static or written by JS."""
    parser = _DataSend()
    parser.feed(HTML)
    found = [(address, "index.html") for address in parser.found]
    for value in re.findall(r'<[a-z]+\s[^<>]*?data-send="([^"]+)"', JS):  # markup, not selectors
        found.append((corner_pattern(value) if "${" in value else value, "surface.js"))
    return found


def concrete(address: str) -> list[str]:
    return [address.replace("{n}", str(n)) for n in CORNERS] if "{n}" in address else [address]


def check_count(address: str, count: int | None) -> None:
    """`count` arguments (None: unknown, a spread) fit what the table's address takes."""
    spec = address_table()[address]
    if count is None:
        return
    if spec.trigger:
        assert count <= 1, f"{address} is a button: {count} arguments"
        return
    required = sum(1 for a in spec.args if not a.optional)
    assert required <= count <= len(spec.args), \
        f"{address} takes {required}..{len(spec.args)} arguments, the page sends {count}"


def sent_addresses() -> dict[str, set[str]]:
    """address -> how the page sends it, every `send` resolved to concrete addresses."""
    table = address_table()
    out: dict[str, set[str]] = {}
    unresolved = []
    for args in sends():
        first, rest = args[0], args[1:]
        count = None if any(a.startswith("...") for a in rest) else len(rest)
        if re.fullmatch(r'"[^"]*"', first):
            addresses = [first[1:-1]]
        elif re.fullmatch(r"`[^`]*`", first):
            addresses = concrete(corner_pattern(first[1:-1]))
        elif first == "button.dataset.send":  # the data-send buttons, pressed (no argument)
            addresses = [a for value, _ in data_send_addresses() for a in concrete(value)]
            assert count == 0
        elif first == "spec.address":  # the envelope faders, from /controls.json
            addresses = [fader["address"] for fader in fader_catalog()["faders"]]
        else:
            unresolved.append(first)
            continue
        for address in addresses:
            assert address in table, f"the page sends {address}, which the server does not serve"
            check_count(address, count)
            out.setdefault(address, set()).add(first)
    assert not unresolved, f"sends this test cannot resolve (teach it): {unresolved}"
    return out


def test_every_address_the_page_sends_is_served_with_arguments_that_fit():
    sent = sent_addresses()
    assert len(sends()) >= 15  # the parser found the calls (not a vacuous pass)
    assert {"/morph/xy", "/mnote", "/mnote/rel", "/ne/timbre", "/note", "/preset",
            "/preset/next", "/preset/prev", "/preset/save", "/volume", "/sustain", "/panic",
            "/all_notes_off", "/record", "/midi/learn/x", "/envelope/attack"} <= set(sent)
    for n in CORNERS:
        assert {f"/corner/{n}/preset", f"/corner/{n}/next", f"/corner/{n}/prev",
                f"/corner/{n}/random"} <= set(sent)


def test_every_data_send_button_is_a_served_address_that_takes_no_argument():
    buttons = data_send_addresses()
    assert len([b for b in buttons if b[1] == "index.html"]) >= 5
    assert {"/corner/{n}/prev", "/corner/{n}/random", "/corner/{n}/next"} <= \
        {value for value, where in buttons if where == "surface.js"}
    table = address_table()
    for value, where in buttons:
        for address in concrete(value):
            assert address in table, f"{where}: data-send {address} is not served"
            check_count(address, 0)


def test_every_address_the_page_listens_to_is_one_the_server_sends():
    shown = set(re.findall(r'address === "(/[^"]+)"', JS))
    shown |= set(re.findall(r'state\["(/[^"]+)"\]', JS))
    assert len(shown) >= 12
    sent_back = feedback_addresses()
    assert shown - sent_back == set(), "the page waits for feedback the server never sends"
    for prefix in re.findall(r'address\.startsWith\("(/[^"]+)"\)', JS):
        assert any(a.startswith(prefix) for a in sent_back), prefix
    for regex in re.findall(r"/\^(\\/[^$]*)\$/", JS):
        pattern = re.compile("^" + regex + "$")
        assert any(pattern.match(a) for a in sent_back), regex


@pytest.mark.parametrize("source, expected", [
    ('send("/volume", Number(v));', [['"/volume"', "Number(v)"]]),
    ('x.send("/nope"); send(`/corner/${n}/next`)', [["`/corner/${n}/next`"]]),
    ('send("/mnote", p, Math.max(1, Math.min(127, v)), id)',
     [['"/mnote"', "p", "Math.max(1, Math.min(127, v))", "id"]]),
    ('function send(address, ...args) {', []),
])
def test_the_call_reader_reads_what_it_claims(source, expected, monkeypatch):
    monkeypatch.setattr(f"{__name__}.JS", source)
    assert sends() == expected


@pytest.mark.parametrize("source, complaint", [
    ('send("/morph/xyz", 1, 2);', "does not serve"),
    ('send("/morph/xy", 1);', "takes 2..2"),
    ("send(`/preset/${n}`, 1);", "only a corner number"),
    ("send(someName, 1);", "cannot resolve"),
])
def test_a_wrong_address_or_argument_count_would_fail(source, complaint, monkeypatch):
    monkeypatch.setattr(f"{__name__}.JS", source)
    with pytest.raises(AssertionError, match=complaint):
        sent_addresses()
