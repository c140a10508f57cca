"""The engine as a JACK client of its own (`serve --jack`): MIDI read inside its process callback.

A raw JACK MIDI sender (a keyboard), the engine, and a capture client run on the
tests' dummy JACK server, so timing is counted in JACK's own frames, not the
wall clock: a note written at a cycle's start must sound within that cycle.
"""

from __future__ import annotations

import time

import numba
import numpy as np
import pytest
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic
from alloc_testing import measure
from jack_capture import JackCapture
from jack_midi_sender import RawSender
from midi_sink import RecordingSink

from gansynth_live.banks.bank import BankLayers
from gansynth_live.engine import Engine, EngineConfig
from gansynth_live.engine.jack_stream import JackStream
from gansynth_live.engine.playback import AudioDeviceError
from gansynth_live.engine.synthetic import synthetic_bank
from gansynth_live.inputs.cc_map import CCMap
from gansynth_live.inputs.engine_sink import EngineSink
from gansynth_live.inputs.jack_midi import JackMidiInputs

pytestmark = pytest.mark.jack

RATE = 48000
CLIENT = "gansynth-live-test"


@pytest.fixture(scope="module")
def bank():
    return synthetic_bank(range(36, 85), RATE)


def wait_for(predicate, timeout: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def playing(bank, sink=None, sources=("raw-keys",), **config):
    engine = Engine(EngineConfig(attack_s=0.001, release_s=0.02, **config))
    engine.set_layers(BankLayers.single(bank))
    stream = JackStream(engine, client_name=CLIENT, connect=False).start()
    inputs = JackMidiInputs(stream, sink or EngineSink(engine), CCMap(), inputs=sources,
                            virtual="in", scan_s=0.1, report=lambda line: None).start()
    return engine, stream, inputs


def test_a_note_at_the_cycle_start_sounds_in_that_cycle(jack_server, bank):
    """FluidSynth's latency: serve's RtMidi input is a period later (bench/engine.py)."""
    engine, stream, inputs = playing(bank)
    keys = RawSender()
    try:
        wait_for(lambda: inputs.open_count == 2, what="the keyboard's port")
        with JackCapture(4.0) as capture:
            capture.connect(CLIENT)
            capture.start()
            time.sleep(0.2)
            for pitch in (60, 64, 67):
                keys.send(bytes([0x90, pitch, 100]))
                time.sleep(0.25)
                keys.send(bytes([0xB0, 120, 0]))  # all sound off: silence before the next
                time.sleep(0.35)
            audio = capture.stop()
            start = capture.start_frame_time
        period = stream.blocksize
    finally:
        keys.close()
        inputs.close()
        stream.close()
    loud = np.abs(audio).max(axis=1) > 1e-4
    onsets = [keys.sent_at[i] for i in range(0, len(keys.sent_at), 2)]  # the note-ons
    assert len(onsets) == 3
    for sent in onsets:
        at = sent - start
        assert not loud[at - period:at].any()  # silent before
        first = int(np.flatnonzero(loud[at:at + RATE // 4])[0])
        assert first < period, f"first sound {first} frames after the note, period {period}"
    assert inputs.messages == 6 and inputs.bad_messages == 0 and inputs.dropped == 0
    assert engine.stats().notes_started == 3


def test_running_status_slow_actions_and_a_vanishing_source(jack_server, bank):
    """Running status and two messages in one event; CC and program changes reach the
    sink on the control thread; a source that goes away has its notes released."""
    sink = RecordingSink()
    engine, stream, inputs = playing(bank, sink=sink)
    sink_notes = engine  # notes go straight to the engine from the audio thread
    keys = RawSender()
    try:
        wait_for(lambda: inputs.open_count == 2, what="the keyboard's port")
        keys.send(bytes([0x90, 0x40, 0x64, 0x40, 0x00]))  # note on, running-status note off
        keys.send(bytes([0x91, 0x3C, 0x64, 0x81, 0x3C, 0x00]))  # two complete messages
        keys.send(bytes([0xB0, 1, 127]))  # mod wheel: morph x
        keys.send(bytes([0xC0, 3]))  # program change
        keys.send(bytes([0x90, 50, 90]))  # held when the keyboard goes away
        wait_for(lambda: inputs.messages == 7, what="seven messages")
        wait_for(lambda: ("morph", 1.0, None) in sink.calls and ("program", 3) in sink.calls,
                 what="the handed-over actions")
        wait_for(lambda: sink_notes.stats().voices_sounding == 1, what="the held note")
        assert sink_notes.stats().notes_started == 3
        keys.close()
        wait_for(lambda: inputs.disappeared == 1, what="the keyboard to vanish")
        wait_for(lambda: engine.stats().voices_active == 0, what="its note released")
        assert inputs.notes_released_on_loss == 1
        assert inputs.open_count == 1  # the virtual input stays
    finally:
        inputs.close()
        stream.close()
    assert inputs.bad_messages == 0 and inputs.errors == 0


def compiled_variants() -> dict[str, int]:
    """Every numba function of the package loaded so far, with its compiled variants."""
    import sys

    from numba.core.registry import CPUDispatcher

    return {f"{name}.{attr}": len(value.signatures)
            for name, module in list(sys.modules.items()) if name.startswith("gansynth_live")
            for attr, value in list(vars(module).items()) if isinstance(value, CPUDispatcher)}


def test_nothing_is_compiled_in_the_audio_thread(jack_server, bank, tmp_path):
    """Everything the compiled callback and its Python part call is compiled before the
    first cycle: a compile in the audio thread takes ~100 ms (it was one, for the first
    message through the translator). Played: notes, bends, pedal, a controller, panic, a
    layer swap, a recording started and stopped, a keyboard that goes away."""
    sink = RecordingSink()
    engine, stream, inputs = playing(bank, sink=sink)
    keys = RawSender()
    try:
        wait_for(lambda: inputs.open_count == 2, what="the keyboard's port")
        wait_for(lambda: engine.counters.callbacks > 20, what="the first cycles")
        before = compiled_variants()
        recorder = stream.start_recording(tmp_path / "take.wav")
        for message in ([0x90, 60, 100], [0xE0, 3, 70], [0xB0, 64, 127], [0x80, 60, 0],
                        [0xB0, 1, 90], [0xB0, 64, 0], [0xD0, 40], [0x90, 62, 100],
                        [0xB0, 123, 0], [0xC0, 2], [0x90, 64, 100]):
            keys.send(bytes(message))
            time.sleep(0.02)
        engine.set_layers(BankLayers.single(synthetic_bank(range(40, 80), RATE)))
        wait_for(lambda: inputs.messages == 11, what="every message")
        wait_for(lambda: engine.stats().layer_swaps >= 2, what="the layer swap")
        keys.close()
        wait_for(lambda: inputs.disappeared == 1, what="the keyboard to vanish")
        stream.stop_recording()
        after = compiled_variants()
    finally:
        inputs.close()
        stream.close()
    assert recorder.frames_written > 0
    assert {k: v for k, v in after.items() if before.get(k, 0) != v} == {}
    assert engine.stats().callback_errors == 0


def test_sources_come_and_go_in_any_order(jack_server, bank):
    """Two keyboards: the first unplugged and back while the second stays (its port name
    is free again), then unplugged and back at once (between two scans: its connection
    went, so it is lost and connected again). Each time its held note is released and
    it plays again."""
    engine, stream, inputs = playing(bank, sources=("raw-a", "raw-b"))
    a, b = RawSender("raw-a"), RawSender("raw-b")
    started = engine.stats

    def replug(sender: RawSender, quick: bool) -> RawSender:
        before = inputs.disappeared
        held = started().notes_started
        sender.send(bytes([0x90, 60, 100]))  # held while unplugged
        # this note's start, not any voice sounding: the last step's note may still be
        # in its release, and a sender closed before its note-on was read held nothing
        wait_for(lambda: started().notes_started == held + 1, what="the held note")
        sender.close()
        if not quick:
            wait_for(lambda: inputs.disappeared == before + 1, what="the keyboard to vanish")
        sender = RawSender("raw-a")
        wait_for(lambda: inputs.disappeared == before + 1 and inputs.open_count == 3,
                 what="the keyboard to be back")
        wait_for(lambda: engine.stats().voices_active == 0, what="its held note released")
        notes = started().notes_started
        sender.send(bytes([0x90, 64, 100]))
        sender.send(bytes([0x80, 64, 0]))
        wait_for(lambda: started().notes_started == notes + 1, what="a note after the return")
        return sender

    try:
        wait_for(lambda: inputs.open_count == 3, what="both keyboards' ports")
        a = replug(a, quick=False)
        a = replug(a, quick=True)
        notes = started().notes_started
        b.send(bytes([0x90, 67, 100]))
        b.send(bytes([0x80, 67, 0]))
        wait_for(lambda: started().notes_started == notes + 1, what="the other keyboard")
        names = sorted(port.rt.shortname for port in stream.midi.ports if port is not None)
        assert names == ["in", "in 1", "in 2"]
    finally:
        a.close()
        b.close()
        inputs.close()
        stream.close()
    assert inputs.notes_released_on_loss == 2 and inputs.errors == 0


def send_pressure(keys: RawSender, count: int) -> None:
    """A flood of channel pressure messages (each through the translator in Python, ~10 us:
    notes and bends take the compiled path); the sender writes as many a period as JACK's
    buffer takes, about 90."""
    for i in range(count):
        keys.send(bytes([0xD0, i % 128]))


def test_a_flood_is_spread_over_blocks_and_nothing_is_lost(jack_server, bank):
    """A JACK port carries as many events a period as its buffer holds; a block spends at
    most PYTHON_BUDGET_S on translated ones, and the rest wait in the ring, in order:
    every message arrives, no note is left. Notes held, the flood, the releases:
    one after the other, so that the flood's count is the flood's alone."""
    engine, stream, inputs = playing(bank, polyphony=8)
    keys = RawSender()
    held = list(range(60, 68))
    most_waiting = 0
    try:
        wait_for(lambda: inputs.open_count == 2, what="the keyboard's port")
        for pitch in held:
            keys.send(bytes([0x90, pitch, 100]))
        wait_for(lambda: engine.stats().notes_started == len(held), what="the held notes")
        before = inputs.messages
        flood = 6000
        send_pressure(keys, flood)
        deadline = time.monotonic() + 20.0
        while inputs.messages - before < flood and time.monotonic() < deadline:
            most_waiting = max(most_waiting, stream.midi.waiting)
            time.sleep(0.001)
        flooded = inputs.messages - before
        for pitch in held:
            keys.send(bytes([0x80, pitch, 0]))
        wait_for(lambda: engine.stats().voices_active == 0, what="every note to end")
    finally:
        keys.close()
        inputs.close()
        stream.close()
    stats = engine.stats()
    # Every message arrives, but for the cycles JACK ran without the engine (an xrun on a
    # loaded machine): a JACK port's events live one cycle, and the sender writes at most
    # one event a frame. Such cycles are counted; the CI machine has them now and then.
    lost = flood - flooded
    assert lost == 0 or 0 < lost <= stats.cycles_missed * 256, (lost, stats.cycles_missed)
    assert inputs.dropped == 0 and inputs.bad_messages == 0
    assert most_waiting > 256  # the flood did wait in the ring, several periods' worth
    assert stats.callback_errors == 0 and stats.notes_started == len(held)


def test_a_flood_past_the_ring_drops_but_releases_every_note(jack_server, bank, monkeypatch):
    """Past RING_ROWS waiting events, events are dropped and counted; the note-offs among
    them are remembered and applied once the ring is empty: nothing stuck."""
    from gansynth_live.engine.rt import jack_midi

    monkeypatch.setattr(jack_midi, "RING_ROWS", 1024)  # a ring this flood overfills
    engine, stream, inputs = playing(bank, polyphony=16)
    keys = RawSender()
    held = list(range(60, 72))
    try:
        wait_for(lambda: inputs.open_count == 2, what="the keyboard's port")
        for pitch in held:  # held first: a cycle JACK runs without the engine takes its MIDI
            keys.send(bytes([0x90, pitch, 100]))
        wait_for(lambda: engine.stats().notes_started == len(held), what="the held notes")
        send_pressure(keys, 6000)
        for pitch in held:
            keys.send(bytes([0x80, pitch, 0]))
        wait_for(lambda: stream.midi.recovered >= len(held), 20.0, "the note-offs, remembered")
        wait_for(lambda: engine.stats().voices_active == 0, 20.0, "every note to end")
    finally:
        keys.close()
        inputs.close()
        stream.close()
    assert inputs.dropped > 0 and stream.midi.recovered == len(held)
    assert engine.stats().notes_started == len(held) and engine.stats().callback_errors == 0


@intrinsic
def _call_process(typingctx, address, frames, arg):
    """Call JACK's process callback (a C function at an integer address) as libjack does."""
    def codegen(context, builder, signature, args):
        function = ir.FunctionType(ir.IntType(32), [ir.IntType(32), ir.IntType(64)])
        callee = builder.inttoptr(args[0], function.as_pointer())
        return builder.call(callee, [builder.trunc(args[1], ir.IntType(32)), args[2]])
    return types.int32(types.int64, types.int64, types.int64), codegen


@numba.njit(_nrt=False)
def call_process(address, frames, arg):
    return _call_process(address, frames, arg)


def test_the_process_callback_allocates_nothing(jack_server, tmp_path):
    """The dense performance of the PortAudio callback's allocation test (alloc_testing.py:
    steals, pedal, bend, panic, morph swaps, a recording), through JACK's compiled process
    callback with a MIDI port read every block, and its Python part in the cycles that need
    it. The client stays inactive and the callback is called from here (through compiled
    code, as libjack calls it), block after block, as that test calls PortAudio's: inside
    JACK's own thread, tracemalloc also counts what libjack's other threads allocate."""
    import jack

    from gansynth_live.engine.rt.jack_callback import JackCycle
    from gansynth_live.engine.rt.jack_midi import CallbackMidi
    from gansynth_live.engine.rt.jack_ports import address

    client = jack.Client(CLIENT, no_start_server=True)
    left, right = client.outports.register("out_1"), client.outports.register("out_2")
    port = client.midi_inports.register("in")
    midis = []
    cycles = []

    def jack_host(engine, out, frames):
        midi = CallbackMidi(engine.renderer.own_queue)
        midi.addresses[0] = address(port._ptr)
        midi.slots = 1
        midis.append(midi)
        cycle = JackCycle(engine, address(client._ptr), address(left._ptr),
                          address(right._ptr), midi)
        cycles.append(cycle)
        callback, arg = cycle.address, cycle.arg
        return lambda: call_process(callback, frames, arg)

    try:
        peaks, kept, engine = measure(tmp_path, host=jack_host)
    finally:
        client.close()
    stats = engine.stats()
    assert stats.callback_errors == 0 and midis[0].errors == 0
    assert stats.voices_stolen > 100 and stats.layer_swaps > 20
    assert 0 < engine.counters.python_cycles < stats.callbacks  # both kinds of cycle ran
    assert peaks.max() == 0 and kept.max() <= 0


def test_cycles_the_callback_misses_are_counted(jack_server, bank, monkeypatch):
    """A callback that overruns makes JACK run cycles without it (their MIDI is gone, as
    for any JACK client): the engine counts them from JACK's frame time. The overrun is a
    sleep in the callback's Python part, which the test asks the next cycle to run."""
    from gansynth_live.engine.rt import jack_callback

    real = jack_callback.JackCycle.python_part
    stall = [False]

    def stalling(self, frames: int) -> int:
        if stall[0]:
            stall[0] = False
            time.sleep(0.05)  # nine 256-frame periods
        return real(self, frames)

    monkeypatch.setattr(jack_callback.JackCycle, "python_part", stalling)
    engine, stream, inputs = playing(bank)
    try:
        wait_for(lambda: engine.counters.callbacks > 100, what="the callback to run")
        stall[0] = True
        stream._cycle.control[jack_callback.C_FORCE] = 1
        wait_for(lambda: not stall[0], what="the stalled cycle")
        seen = engine.counters.callbacks
        wait_for(lambda: engine.counters.callbacks > seen + 50, what="the callback to run on")
    finally:
        inputs.close()
        stream.close()
    stats = engine.stats()
    assert stats.xruns >= 1
    assert 1 <= stats.cycles_missed <= 20


def test_a_server_at_another_rate_is_refused_in_one_line(jack_server, bank):
    engine = Engine(EngineConfig(sample_rate=44100))
    with pytest.raises(AudioDeviceError, match="runs at 48000 Hz: start with --sample-rate 48000"):
        JackStream(engine, client_name=CLIENT).start()
