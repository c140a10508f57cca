"""OSC input under hypothesis: malformed, out-of-range, NaN, huge and unicode datagrams.

Every datagram goes through `OscServer.handle_datagram` (what the receive thread
calls for each UDP packet) into a real Instrument and Engine, with audio rendered in
between. Nothing may escape: no exception out of the server, none inside a handler
(those are counted in `handler_errors`), no NaN in the audio, feedback values still
computable; and after the sender releases every note and the pedals, no voice sounds.
"""

from __future__ import annotations

import logging
import os

import pytest
from fuzz_rig import Rig
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from gansynth_live.live.status import format_status
from gansynth_live.inputs.osc import OscServer
from gansynth_live.inputs.osc_feedback import feedback_values
from gansynth_live.inputs.osc_space import address_table

SENDER = ("127.0.0.1", 50000)
KNOWN = sorted(address_table())
numbers = st.one_of(
    st.integers(-2**31, 2**31 - 1), st.sampled_from([0, 1, -1, 60, 127, 128, 2**31 - 1, -2**31]),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([0.0, 0.5, 1.0, -0.0, 1e-45, 3.4e38, float("nan"), float("inf")]))
texts = st.one_of(st.text(max_size=40), st.text(min_size=120, max_size=300),
                  st.sampled_from(["start", "stop", "on", "off", "1", "0", "duo", "fund", "",
                                   "../../x", "ünï😀", "\x00"]))
args = st.lists(st.one_of(numbers, texts, st.booleans(), st.none(), st.binary(max_size=32)),
                max_size=5)
addresses = st.one_of(
    st.sampled_from(KNOWN), st.sampled_from(KNOWN), st.sampled_from(KNOWN),
    st.integers(0, 6).map(lambda n: f"/corner/{n}/random"),
    st.sampled_from(["/corner/*/random", "/corner/[1-2]/next", "/{volume,envelope/sustain}",
                     "/*", "/*/*", "/note*", "/[", "/{", "/corner/[!1]/prev", "//", "/"]),
    st.text(max_size=30).map(lambda t: "/" + t))


TABLE = address_table()


@st.composite
def plausible(draw) -> bytes | None:
    """A message to a served address with arguments of the right kinds, mostly in range."""
    address = draw(st.sampled_from(KNOWN))
    spec = TABLE[address]
    values: list = []
    if spec.trigger:
        values = draw(st.sampled_from([[], [1], [1.0], [0]]))
    for arg in spec.args:
        if arg.optional and draw(st.booleans()):
            break
        if arg.kind == "string":
            values.append(draw(st.sampled_from(["duo", "fund", "oct", "nope"]) | texts))
        elif arg.kind == "switch":
            values.append(draw(st.sampled_from(["on", "off", 1, 0, 1.0, "start", "stop"])))
        elif arg.kind == "int":
            values.append(draw(st.integers(int(arg.low), int(arg.high)) | numbers))
        else:
            high = min(arg.high, 2.0) if arg.name.endswith("_s") else arg.high
            values.append(draw(st.floats(arg.low, high) | numbers))
    return build_message(address, values)


def build_message(address: str, values: list) -> bytes | None:
    builder = OscMessageBuilder(address)
    try:
        for value in values:
            builder.add_arg(value)
        return builder.build().dgram
    except Exception:  # noqa: BLE001 - python-osc cannot build this one: not a test input
        return None


@st.composite
def datagrams(draw) -> bytes:
    kind = draw(st.sampled_from(["playing"] * 8 + ["plausible"] * 6 + ["message"] * 3 +
                                ["bundle", "mangled", "junk"]))
    if kind == "playing":  # what a performer sends most: notes, pedal, bend
        channel = draw(st.sampled_from([[], [1], [2], [16]]))
        address, values = draw(st.sampled_from([
            ("/note", [draw(st.integers(40, 90)), draw(st.integers(1, 127))]),
            ("/note", [draw(st.integers(40, 90)), 0]),
            ("/note/off", [draw(st.integers(40, 90))]),
            ("/sustain", [draw(st.sampled_from([0, 1, "on", "off"]))]),
            ("/bend", [draw(st.floats(-1.0, 1.0))])]))
        return build_message(address, values + channel)
    if kind == "plausible":
        message = draw(plausible())
        assume(message is not None)
        return message
    if kind == "junk":
        head = draw(st.sampled_from([b"/", b"#bundle\x00", b"", b"#bun"]))
        return head + draw(st.binary(max_size=64))
    message = build_message(draw(addresses), draw(args))
    assume(message is not None)
    if kind == "mangled":  # cut short, or one byte changed
        data = bytearray(message)
        if draw(st.booleans()):
            return bytes(data[:draw(st.integers(0, len(data)))])
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "bundle":
        builder = OscBundleBuilder(IMMEDIATELY)
        for _ in range(draw(st.integers(0, 3))):
            inner = build_message(draw(addresses), draw(args))
            if inner is not None:
                from pythonosc.osc_message import OscMessage

                builder.add_content(OscMessage(inner))
        return builder.build().dgram
    return message


@pytest.fixture(scope="module")
def rig(tone_service, tmp_path_factory):
    folder = tmp_path_factory.mktemp("osc-fuzz")
    old = os.environ.get("GANSYNTH_LIVE_DATA_DIR")
    os.environ["GANSYNTH_LIVE_DATA_DIR"] = str(folder / "data")  # /preset/save lands here
    rig = Rig(tone_service, folder)
    server = OscServer(rig.instrument, "127.0.0.1", 0, values=None, report=lambda text: None)
    yield rig, server
    rig.instrument.set_recording(False)
    rig.close()
    if old is None:
        os.environ.pop("GANSYNTH_LIVE_DATA_DIR", None)
    else:
        os.environ["GANSYNTH_LIVE_DATA_DIR"] = old


def let_go(server: OscServer) -> int:
    """Short releases, every note off on every channel, then the pedals up; returns the
    number of events pushed."""
    server.handle_datagram(build_message("/envelope/release", [0.005]), SENDER)
    for channel in range(1, 17):
        for pitch in range(128):
            server.handle_datagram(build_message("/note/off", [pitch, channel]), SENDER)
    for channel in range(1, 17):
        server.handle_datagram(build_message("/sustain", [0, channel]), SENDER)
    return 1 + 16 * 128 + 16


class LogCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage())


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(st.tuples(datagrams(), st.integers(0, 2)), min_size=5, max_size=80))
def test_any_datagrams_leave_the_server_and_the_engine_sound(rig, stream):
    rig, server = rig
    errors_before = server.handler_errors
    logs = LogCount()
    logging.getLogger().addHandler(logs)
    try:
        for data, blocks in stream:
            server.handle_datagram(data, SENDER)  # raising here fails the test
            rig.render(blocks)
    finally:
        logging.getLogger().removeHandler(logs)
    assert server.handler_errors == errors_before, server.last_problem
    assert not logs.records  # junk is counted, never logged line by line
    state = rig.instrument.state()
    feedback_values(state, rig.engine.stats(), "x")
    format_status(state, rig.engine.stats(), 1, server.stats(), None)
    rig.instrument.set_recording(False)
    rig.render_until_silent(events=let_go(server))
    stats = rig.engine.stats()
    assert stats.callback_errors == 0 and stats.nonfinite_blocks == 0, stats.last_error
