"""Benchmarks of the live engine, each against a reference measured in the same run.

    python bench/engine.py                 # everything (~2-3 minutes)
    python bench/engine.py --only mixer    # mixer | expression | events | queue | render | latency

1. mixer: the audio callback's cost per 128-frame block at 48 kHz (events,
   all voices, limiter) for 1, 16, 64 and 128 voices, with one bank and with
   a 4-bank morph; against the period (2.67 ms) and
   the target of 10 % of it for 64 voices.
2. expression: per-note timbre (issue 19) on a 4-bank morph square, numba
   kernel: the callback's cost with every voice at its own morph position
   (`SetExpression` per key) held still, and with each voice's position
   moving ~94 times a second (a new offset every 4 blocks, as an MPE
   controller's slide sends), against all voices on the shared morph in the
   same run, same polyphony, same grid; the machine's load and steal time
   during the section printed beside it.
3. events: what one note event costs the callback (issue 16's target ~1 us):
   blocks carrying 32 note-ons (and 32 note-offs a block later; 64 voices
   sounding, so half the note-ons steal), interleaved with blocks carrying
   no event at the same voice count; the difference per event. Same run,
   same engine; the load printed beside it.
   Then queue: push + pop of one event through the engine's EventQueue, against
   queue.SimpleQueue and collections.deque (which the engine cannot use, see
   event_queue.py).
4. render: offline rendering of one MIDI file with the engine (synthetic
   bank) against FluidSynth rendering the same file with FluidR3_GM
   (`fluidsynth -ni -F out.wav -r 48000`), as times faster than real time.
5. latency: note-on to first sound through a JACK server with the dummy
   driver (started here, 48 kHz; 64-, 128- and 256-frame periods, `--periods`),
   in frames, median and
   p99; FluidSynth (`fluidsynth -a jack -m jack`) on the same server and
   harness. A harness client triggers each note at the start of a JACK cycle:
   for FluidSynth as a JACK MIDI note-on at frame offset 0 of its MIDI out
   port (FluidSynth reads its MIDI before rendering the cycle), for the
   engine as `engine.push(NoteOn)` from the capture client, which JACK runs
   after the engine's client: the worst phase, the note waits one period.
   The "random" rows ask for a note at a random moment instead (a plain
   Python thread; t0 = JACK's frame time then): FluidSynth gets it as JACK
   MIDI at the next cycle start, the engine by `push()` at once. The "via
   serve's input" rows send the engine the same JACK MIDI as FluidSynth,
   through serve's MIDI input (RtMidi's JACK client, the reader thread, the
   translator): what a keyboard on JACK gets. The "--jack" rows play the
   engine as `serve --jack` does: a JACK client of its own that reads the
   same JACK MIDI inside its process callback (engine/jack_stream.py). A capture
   client records both outputs by frame time; latency = frame time of the
   first sample above 1e-4 minus t0.

Needs: jackd2, fluidsynth, fluid-soundfont-gm, JACK-Client, mido.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
# jack_process: the tests' JACK servers, named from their pool
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from gansynth_live.banks.bank import BankLayers  # noqa: E402
from gansynth_live.engine import AudioStream, Engine, EngineConfig, render_with_engine  # noqa: E402
from gansynth_live.engine.rt.callback import make_callback  # noqa: E402
from gansynth_live.engine.rt.event_queue import EventQueue  # noqa: E402
from gansynth_live.engine.synthetic import synthetic_bank  # noqa: E402
from gansynth_live.events import (NoteOff, NoteOn, PitchBend, SetExpression,  # noqa: E402
                                  SustainPedal)

SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RATE = 48000


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    print(f"\n## {title}\n")
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print(line(row))


# --- 1. mixer -----------------------------------------------------------------------------
def bench_mixer(banks: list, quick: bool) -> None:
    frames = 128
    period_us = 1e6 * frames / RATE
    rows = []
    for kernel in ("numba",):  # the engine's kernels (the numpy oracle lives in the tests)
        for layers_n in (1, 4):
            for voices in (1, 16, 64, 128):
                engine = Engine(EngineConfig(polyphony=128, attack_s=0.001))
                layers = BankLayers(tuple(banks[:layers_n]), (1.0 / layers_n,) * layers_n)
                engine.set_layers(layers)
                callback = make_callback(engine)
                out = np.zeros((frames, 2), dtype=np.float32)
                for i in range(voices):
                    engine.push(NoteOn(36 + i % 48, 100, channel=i // 48))
                for _ in range(40):
                    callback(out, frames, None, None)
                costs = []
                for i in range(300 if quick else 1500):
                    if i % 50 == 0:  # a little event traffic, as when playing
                        engine.push(PitchBend(((i // 50) % 3 - 1) * 0.1))
                    start = time.perf_counter()
                    callback(out, frames, None, None)
                    costs.append(time.perf_counter() - start)
                costs_us = np.array(costs) * 1e6
                active = engine.stats().voices_active
                assert active == voices, (active, voices)
                median = float(np.median(costs_us))
                rows.append([kernel, layers_n, voices, f"{median:.0f}",
                             f"{np.percentile(costs_us, 99):.0f}",
                             f"{100 * median / period_us:.1f} %",
                             "-" if voices != 64 else ("yes" if median <= 0.1 * period_us else "NO")])
    table(f"Callback cost per {frames}-frame block at {RATE} Hz (period {period_us:.0f} us)",
          ["kernel", "banks", "voices", "median us", "p99 us", "of period",
           "64 voices <= 10 %"], rows)
    print("\np99 includes preemption by other processes on this machine; the median is the cost.")


# --- 2. per-note expression ---------------------------------------------------------------
SQUARE = ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0))  # a 2 x 2 grid, corners 1..4
MOVE_EVERY_BLOCKS = 4


def machine_load() -> tuple[int, int]:
    """(steal, total) jiffies of the whole machine so far (bench/soaklib/machine.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from soaklib.machine import cpu_times

    steal, _, total = cpu_times()
    return steal, total


def expression_costs(banks: list, voices: int, own: bool, moving: int,
                     blocks: int) -> np.ndarray:
    """Callback cost (us) per 128-frame block of `voices` notes on the morph square.

    own False: every voice on the shared morph (the reference); True: each voice
    (a key of its own) at its own offset from the pad; of those, `moving` get a
    new offset every MOVE_EVERY_BLOCKS blocks (spread evenly over the blocks).
    """
    frames = 128
    engine = Engine(EngineConfig(polyphony=128, attack_s=0.001))
    engine.set_layers(BankLayers(tuple(banks[:4]), (0.25,) * 4, corners=SQUARE,
                                 position=(0.5, 0.5)))
    callback = make_callback(engine)
    out = np.zeros((frames, 2), dtype=np.float32)
    keys = [(i // 48, 36 + i % 48) for i in range(voices)]
    rng = np.random.default_rng(19)

    def express(some: list[tuple[int, int]]) -> None:
        for channel, pitch in some:
            dx, dy = rng.uniform(-0.25, 0.25, size=2)
            engine.push(SetExpression(channel, pitch, float(dx), float(dy)))

    for channel, pitch in keys:
        engine.push(NoteOn(pitch, 100, channel=channel))
    for _ in range(4):
        callback(out, frames, None, None)  # the note-ons (at most 64 events a block)
    if own:
        express(keys)
    for _ in range(40):
        callback(out, frames, None, None)
    costs = []
    for i in range(blocks):
        if i % 50 == 0:  # a little event traffic, as in the mixer table
            engine.push(PitchBend(((i // 50) % 3 - 1) * 0.1))
        express(keys[:moving][i % MOVE_EVERY_BLOCKS::MOVE_EVERY_BLOCKS])
        start = time.perf_counter()
        callback(out, frames, None, None)
        costs.append(time.perf_counter() - start)
    stats = engine.stats()
    assert stats.voices_active == voices and stats.events_refused == 0, stats
    return np.array(costs) * 1e6


def bench_expression(banks: list, quick: bool) -> None:
    frames = 128
    period_us = 1e6 * frames / RATE
    blocks = 300 if quick else 1500
    rate_hz = RATE / frames / MOVE_EVERY_BLOCKS
    steal0, total0 = machine_load()
    rows = []
    event_us = []  # callback time per SetExpression, from the all-moving rows
    for voices in (16, 64, 128):
        medians = {}
        for label, own, moving in (("shared morph (reference)", False, 0),
                                   ("own position each, held", True, 0),
                                   (f"own, 10 moving at {rate_hz:.0f} Hz", True, 10),
                                   (f"own, all moving at {rate_hz:.0f} Hz", True, voices)):
            costs = expression_costs(banks, voices, own, moving, blocks)
            median = medians[label] = float(np.median(costs))
            reference = next(iter(medians.values()))
            rows.append([label, voices, f"{median:.0f}", f"{np.percentile(costs, 99):.0f}",
                         f"{median / voices:.2f}", f"{100 * median / period_us:.1f} %",
                         f"{median / reference:.2f}x"])
        held, everything = list(medians.values())[1], list(medians.values())[3]
        event_us.append((everything - held) / (voices / MOVE_EVERY_BLOCKS))
    steal1, total1 = machine_load()
    table(f"Per-note timbre: callback cost per {frames}-frame block, 4-bank morph square, "
          "numba", ["voices' morph", "voices", "median us", "p99 us", "us per voice",
                    "of period", "vs shared"], rows)
    steal_pct = 100 * (steal1 - steal0) / max(1, total1 - total0)
    print(f"\nload {os.getloadavg()[0]:.1f}, steal {steal_pct:.1f} % during this table; us per "
          "voice = median / voices (the block's fixed cost included); a moving voice costs "
          f"~{np.median(event_us):.0f} us per SetExpression applied in the callback.")


# --- 3. events ----------------------------------------------------------------------------
def bench_events(banks: list, quick: bool) -> None:
    frames = 128
    engine = Engine(EngineConfig(polyphony=64, attack_s=0.001, release_s=0.05))
    engine.set_layers(BankLayers.single(banks[0]))
    callback = make_callback(engine)
    out = np.zeros((frames, 2), dtype=np.float32)
    for i in range(64):
        engine.push(NoteOn(36 + i % 48, 100, channel=i // 48))
    for _ in range(40):
        callback(out, frames, None, None)
    quiet, busy = [], []
    steal0, total0 = machine_load()
    rounds = 300 if quick else 1500
    for i in range(rounds):
        base = 36 + (i * 5) % 40
        ons = [NoteOn(base + k % 8, 90, channel=1 + k // 8) for k in range(32)]
        offs = [NoteOff(e.pitch, e.channel) for e in ons]
        for event in ons:
            engine.push(event)
        start = time.perf_counter()
        callback(out, frames, None, None)
        busy.append(time.perf_counter() - start)
        start = time.perf_counter()
        callback(out, frames, None, None)  # same voices, no event: the reference
        quiet.append(time.perf_counter() - start)
        for event in offs:
            engine.push(event)
        callback(out, frames, None, None)
    midi_busy = midi_note_ons_in_the_callback(engine, callback, out, frames, rounds)
    steal1, total1 = machine_load()
    stats = engine.stats()
    quiet_us, busy_us = 1e6 * np.median(quiet), 1e6 * np.median(busy)
    midi_us = 1e6 * np.median(midi_busy)
    per_event = (busy_us - quiet_us) / 32
    rows = [["block without events (reference)", f"{quiet_us:.0f}", "-"],
            ["block with 32 note-ons", f"{busy_us:.0f}", f"{per_event:.2f}"],
            ["block with 32 MIDI note-ons applied in it (serve --jack, compiled)", f"{midi_us:.0f}",
             f"{(midi_us - quiet_us) / 32:.2f}"]]
    table(f"Note events in the callback ({frames}-frame blocks, {stats.voices_stolen} voices "
          f"stolen over the run)", ["block", "median us", "us per note-on"], rows)
    print(f"\ntarget ~1 us per note-on; load {os.getloadavg()[0]:.1f}, steal "
          f"{100 * (steal1 - steal0) / max(1, total1 - total0):.1f} % during the section.")


def midi_note_ons_in_the_callback(engine, callback, out, frames: int, rounds: int) -> list:
    """Blocks in which the audio thread first applies 32 MIDI note-ons as serve --jack's
    compiled process callback does (rt/jack_midi.take_plain: the translator's key rules,
    events into the engine's own ring, no Python), then renders them; each followed by
    their note-offs."""
    from gansynth_live.engine.rt.jack_midi import RING_ROWS, CallbackMidi, take_plain
    from gansynth_live.engine.rt.jack_ports import RING_HEAD, RING_TAIL
    from gansynth_live.inputs.midi import MidiTranslator
    from gansynth_live.inputs.midi_ports import OpenPort

    midi = CallbackMidi(engine.renderer.own_queue)
    midi.publish(0, OpenPort("bench", None,
                             MidiTranslator(midi.sink, midi.controllers, name="bench")), 1)

    def apply(n: int) -> None:
        if take_plain(midi.reader, midi.notes_path, midi.port_path, n):
            midi.apply()  # what the callback's Python part would do (not for plain notes)

    def load(status: int, keys: list[tuple[int, int]]) -> None:
        """Rows as jack_ports.read_midi leaves them: after the ring's head."""
        head = int(midi._ring[RING_HEAD])
        for k, (channel, pitch) in enumerate(keys):
            row = (head + k) % RING_ROWS
            midi._data[row, :3] = (status | channel, pitch, 90 if status == 0x90 else 0)
            midi._meta[row] = (0, 0, 3, 3)
        midi._ring[RING_TAIL] = head + len(keys)

    times = []
    for i in range(rounds):
        base = 36 + (i * 5) % 40
        keys = [(1 + k // 8, base + k % 8) for k in range(32)]
        load(0x90, keys)
        start = time.perf_counter()
        apply(len(keys))
        callback(out, frames, None, None)
        times.append(time.perf_counter() - start)
        callback(out, frames, None, None)
        load(0x80, keys)
        apply(len(keys))
        callback(out, frames, None, None)
        while midi.handover.take() is not None:  # the control thread's part, not timed
            pass
    return times


# --- 4. queue -----------------------------------------------------------------------------
def bench_queue() -> None:
    n = 200_000
    event = NoteOn(60, 100)
    rows = []
    ring = EventQueue(4096, 512)
    start = time.perf_counter()
    for _ in range(n):
        ring.push(event)
        ring.pop()
    rows.append(["EventQueue (engine)", f"{1e9 * (time.perf_counter() - start) / n:.0f}",
                 "bounded, refuses note-ons near full, never loses note-offs, no consumer lock"])
    simple: queue.SimpleQueue = queue.SimpleQueue()
    start = time.perf_counter()
    for _ in range(n):
        simple.put(event)
        simple.get_nowait()
    rows.append(["queue.SimpleQueue", f"{1e9 * (time.perf_counter() - start) / n:.0f}",
                 "unbounded: a flood grows memory"])
    deque: collections.deque = collections.deque(maxlen=4096)
    start = time.perf_counter()
    for _ in range(n):
        deque.append(event)
        deque.popleft()
    rows.append(["deque(maxlen)", f"{1e9 * (time.perf_counter() - start) / n:.0f}",
                 "drops the oldest silently (a lost note-off)"])
    table("Event queue: push + pop of one event", ["queue", "ns", "note"], rows)


# --- 5. offline render vs FluidSynth ---------------------------------------------------------
def write_test_midi(path: Path, seconds: float) -> int:
    """A piano-style piece: arpeggios over held chords, up to ~24 notes sounding."""
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500000))  # 120 bpm: 8 sixteenths a second
    track.append(mido.Message("program_change", program=0, time=0))
    rng = np.random.default_rng(3)
    chords = [(48, 52, 55, 60), (45, 48, 52, 57), (41, 45, 48, 53), (43, 47, 50, 55)]
    events = []  # (tick, message)
    sixteenth = 120
    steps = int(seconds * 8)
    notes = 0
    for step in range(steps):
        tick = step * sixteenth
        chord = chords[(step // 16) % len(chords)]
        if step % 16 == 0:
            for p in chord:
                events.append((tick, mido.Message("note_on", note=p, velocity=70)))
                events.append((tick + 15 * sixteenth, mido.Message("note_off", note=p)))
                notes += 1
        pitch = chord[step % 4] + 12 * (1 + (step // 4) % 3)
        events.append((tick, mido.Message("note_on", note=pitch, velocity=int(rng.integers(60, 120)))))
        events.append((tick + 3 * sixteenth, mido.Message("note_off", note=pitch)))
        notes += 1
        if step % 32 == 8:
            events.append((tick, mido.Message("control_change", control=64, value=127)))
        if step % 32 == 24:
            events.append((tick, mido.Message("control_change", control=64, value=0)))
    events.sort(key=lambda item: item[0])
    last = 0
    for tick, message in events:
        track.append(message.copy(time=tick - last))
        last = tick
    mid.save(path)
    return notes


def midi_to_events(path: Path) -> tuple[list, float]:
    """(seconds, event) pairs and the file's length, via mido's tempo-aware playback times."""
    import mido

    now = 0.0
    events = []
    for message in mido.MidiFile(path):
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            events.append((now, NoteOn(message.note, message.velocity, message.channel)))
        elif message.type in ("note_off", "note_on"):
            events.append((now, NoteOff(message.note, message.channel)))
        elif message.type == "control_change" and message.control == 64:
            events.append((now, SustainPedal(message.value >= 64, message.channel)))
    return events, now


def bench_render(bank, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "piece.mid"
        notes = write_test_midi(midi, seconds)
        events, length = midi_to_events(midi)
        rows = []
        if shutil.which("fluidsynth") and Path(SF2).exists():
            wav = Path(tmp) / "fluid.wav"
            start = time.perf_counter()
            subprocess.run(["fluidsynth", "-ni", "-q", "-F", str(wav), "-r", str(RATE), "-g", "0.5",
                            SF2, str(midi)], check=True, capture_output=True)
            took = time.perf_counter() - start
            rows.append(["FluidSynth 2.x (FluidR3_GM, reverb+chorus)", f"{took:.2f}",
                         f"{length / took:.0f}x"])
            start = time.perf_counter()
            subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-F", str(wav),
                            "-r", str(RATE), "-g", "0.5", SF2, str(midi)], check=True,
                           capture_output=True)
            took = time.perf_counter() - start
            rows.append(["FluidSynth, reverb and chorus off", f"{took:.2f}", f"{length / took:.0f}x"])
        else:
            rows.append(["FluidSynth", "not installed", "-"])
        for block in (256, 64):
            engine = Engine(EngineConfig(release_s=0.5))
            engine.set_layers(BankLayers.single(bank))
            start = time.perf_counter()
            out = render_with_engine(engine, events, length + 1.0, block_frames=block)
            took = time.perf_counter() - start
            assert np.abs(out).max() > 0.01
            rows.append([f"gansynth-live engine, block {block}", f"{took:.2f}",
                         f"{length / took:.0f}x"])
        table(f"Offline render of a {length:.0f} s MIDI file ({notes} notes) at {RATE} Hz",
              ["renderer", "seconds", "speed (x real time)"], rows)
        print("\nFluidSynth's time includes process start and loading the 140 MB SoundFont.")


# --- 6. latency through JACK -----------------------------------------------------------------
class Harness:
    """Trigger and capture clients on one JACK server (see the module docstring)."""

    def __init__(self, seconds: float) -> None:
        import jack

        self.jack = jack
        self.trigger = jack.Client("bench-trigger", no_start_server=True)
        self.capture = jack.Client("bench-capture", no_start_server=True)
        self.midi_out = self.trigger.midi_outports.register("midi_out")
        self.inputs = [self.capture.inports.register(f"in_{i}") for i in range(2)]
        self.buffer = np.zeros((int(seconds * RATE), 2), dtype=np.float32)
        self.base_frame = -1
        self.frames = 0
        self.cycles = 0
        self.request = None  # ("midi" | "push", note_on: bool, engine)
        self.triggers: list[int] = []  # frame time of each note-on
        self.trigger.set_process_callback(self._trigger)
        self.capture.set_process_callback(self._capture)
        self.trigger.activate()
        self.capture.activate()

    def _trigger(self, frames: int) -> None:
        """JACK MIDI out: send a requested note at frame offset 0 of this cycle."""
        self.midi_out.clear_buffer()
        request = self.request
        if request is None or request[0] != "midi":
            return
        self.request = None
        _, on, _, pitch, t0 = request
        # the note, or "all sound off" (CC 120) so no release tail overlaps the next note
        self.midi_out.write_midi_event(0, (0x90, pitch, 100) if on else (0xB0, 120, 0))
        if on:
            self.triggers.append(self.trigger.last_frame_time if t0 is None else t0)

    def _capture(self, frames: int) -> None:
        now = self.capture.last_frame_time
        request = self.request
        if request is not None and request[0] == "push":  # after the engine's turn this cycle
            self.request = None
            _, on, engine, pitch, _ = request
            engine.push(NoteOn(pitch, 100) if on else NoteOff(pitch))
            if on:
                self.triggers.append(now)
        if self.base_frame < 0:
            self.base_frame = now
        pos = now - self.base_frame  # by frame time: a skipped cycle leaves a gap, no shift
        n = min(frames, self.buffer.shape[0] - pos)
        if n > 0:
            self.buffer[pos:pos + n, 0] = self.inputs[0].get_array()[:n]
            self.buffer[pos:pos + n, 1] = self.inputs[1].get_array()[:n]
            self.frames = pos + n
            self.cycles += 1

    def latencies(self, threshold: float = 1e-4) -> np.ndarray:
        loud = np.abs(self.buffer[:self.frames]).max(axis=1) > threshold
        out = []
        for t0 in self.triggers:
            start = t0 - self.base_frame
            if start < 256 or loud[start - 256:start].any():
                continue  # not silent before the note: no clean onset to time
            hits = np.flatnonzero(loud[start:start + RATE // 2])
            if hits.size:
                out.append(hits[0])
        return np.array(out)

    def close(self) -> None:
        for client in (self.trigger, self.capture):
            client.deactivate()
            client.close()


def play_notes(harness: Harness, mode: str, engine, count: int, gap_s: float) -> None:
    """Play `count` notes, each held 60 ms, then silence until its release has died away.

    mode "midi": JACK MIDI note-on at the start of the next cycle, t0 = that cycle's start;
    "midi-random": the same message, t0 = the (random) moment it was asked for;
    "push": engine.push from the capture client, after the engine's turn, t0 = cycle start;
    "push-random": engine.push from this (plain Python) thread, t0 = the moment of the push.
    """
    rng = np.random.default_rng(5)
    for i in range(count):
        pitch = 60 + i % 12
        time.sleep(rng.uniform(0, 0.01))
        if mode == "push-random":
            harness.triggers.append(harness.capture.frame_time)
            engine.push(NoteOn(pitch, 100))
        else:
            t0 = harness.capture.frame_time if mode == "midi-random" else None
            harness.request = (mode.split("-")[0], True, engine, pitch, t0)
        time.sleep(0.06)
        if mode == "push-random":
            engine.push(NoteOff(pitch))
        else:
            harness.request = (mode.split("-")[0], False, engine, pitch, None)
        time.sleep(gap_s)


def connect_engine(harness: "Harness", client: str = "PortAudio") -> None:
    """Connect the engine's client's outputs (PortAudio's name may carry a suffix) to the
    capture."""
    sources = harness.capture.get_ports(f"{client}.*", is_audio=True, is_output=True)
    if len(sources) < 2:
        raise RuntimeError(f"no {client} ports: {[p.name for p in harness.capture.get_ports()]}")
    for source, port in zip(sources, harness.inputs):
        harness.capture.connect(source, port)


def serve_midi_input(engine, mode: str):
    """serve's MIDI input (a virtual JACK port) feeding `engine`, for the "midi" modes;
    a context that yields None otherwise."""
    if not mode.startswith("midi"):
        return contextlib.nullcontext()
    from gansynth_live.inputs.cc_map import CCMap
    from gansynth_live.inputs.engine_sink import EngineSink
    from gansynth_live.inputs.midi_ports import MidiInputs

    return MidiInputs(EngineSink(engine), CCMap(), inputs=("none",), virtual="gansynth-live in",
                      api="jack", report=lambda line: None)


@contextlib.contextmanager
def jack_direct(engine) -> Iterator:
    """`engine` played as serve --jack plays it; yields its MIDI inputs (a virtual port)."""
    from gansynth_live.engine.jack_stream import JackStream
    from gansynth_live.inputs.cc_map import CCMap
    from gansynth_live.inputs.engine_sink import EngineSink
    from gansynth_live.inputs.jack_midi import JackMidiInputs

    with JackStream(engine, connect=False) as stream, \
            JackMidiInputs(stream, EngineSink(engine), CCMap(), inputs=("none",),
                           virtual="gansynth-live in", report=lambda line: None) as midi:
        yield midi


def bench_latency(bank, count: int, period: int) -> None:
    import jack  # noqa: F401 - fail early if JACK-Client is missing

    from jack_process import start_dummy_server, stop

    log_dir = tempfile.mkdtemp(prefix="gansynth-latency-")
    log = Path(log_dir) / "jackd.log"
    name, server = start_dummy_server(log, RATE, period)
    os.environ["JACK_DEFAULT_SERVER"] = name
    rows = []
    try:
        from gansynth_live.engine.stream import rescan_devices

        rescan_devices()
        seconds = count * 0.5 + 4.0

        # FluidSynth
        if shutil.which("fluidsynth") and Path(SF2).exists():
            fluid = subprocess.Popen(["fluidsynth", "-a", "jack", "-m", "jack", "-i", "-s", "-R", "0",
                                      "-C", "0", "-g", "0.5", "-r", str(RATE),
                                      "-o", "audio.jack.autoconnect=0", SF2],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                for mode, label in (("midi", "FluidSynth, JACK MIDI at the cycle start"),
                                    ("midi-random", "FluidSynth, JACK MIDI asked at random times")):
                    harness = Harness(seconds)
                    for _ in range(100):
                        if len(harness.capture.get_ports("fluidsynth.*")) >= 3:
                            break
                        time.sleep(0.1)
                    time.sleep(1.0)  # the SoundFont loads after the ports appear
                    harness.trigger.connect("bench-trigger:midi_out", "fluidsynth-midi:midi_00")
                    harness.capture.connect("fluidsynth-midi:left", "bench-capture:in_0")
                    harness.capture.connect("fluidsynth-midi:right", "bench-capture:in_1")
                    time.sleep(0.3)
                    play_notes(harness, mode, None, count, 0.35)
                    rows.append(latency_row(label, harness.latencies(), period, count))
                    harness.close()
            finally:
                fluid.terminate()
                fluid.wait()
        else:
            rows.append(["FluidSynth", "not installed", "", "", "", ""])

        # the engine: events pushed straight in, then the same JACK MIDI as FluidSynth's
        # through serve's MIDI input (RtMidi's JACK client, the reader thread, the translator)
        for mode, label in (("push", "engine, push() after its turn in the cycle"),
                            ("push-random", "engine, push() at random times (Python thread)"),
                            ("midi", "engine, JACK MIDI at the cycle start, via serve's input"),
                            ("midi-random",
                             "engine, JACK MIDI asked at random times, via serve's input")):
            engine = Engine(EngineConfig(attack_s=0.001, release_s=0.05))
            engine.set_layers(BankLayers.single(bank))
            harness = Harness(seconds)
            with AudioStream(engine, blocksize=period), serve_midi_input(engine, mode) as midi:
                connect_engine(harness)
                if midi is not None:
                    harness.trigger.connect("bench-trigger:midi_out", midi.virtual_port_name())
                time.sleep(0.3)
                play_notes(harness, mode, engine, count, 0.25)
            rows.append(latency_row(label, harness.latencies(), period, count))
            harness.close()

        # serve --jack: the engine a JACK client of its own, MIDI read in its process callback
        for mode, label in (("midi", "engine --jack, JACK MIDI at the cycle start"),
                            ("midi-random", "engine --jack, JACK MIDI asked at random times")):
            engine = Engine(EngineConfig(attack_s=0.001, release_s=0.05))
            engine.set_layers(BankLayers.single(bank))
            harness = Harness(seconds)
            with jack_direct(engine) as midi:
                connect_engine(harness, "gansynth-live")
                harness.trigger.connect("bench-trigger:midi_out", midi.virtual_port_name())
                time.sleep(0.3)
                play_notes(harness, mode, engine, count, 0.25)
            rows.append(latency_row(label, harness.latencies(), period, count))
            harness.close()
    finally:
        import sounddevice as sd

        sd._terminate()  # let go of JACK before the server stops (PortAudio aborts otherwise)
        stop(server)
        shutil.rmtree(log_dir, ignore_errors=True)
        os.environ.pop("JACK_DEFAULT_SERVER", None)
        sd._initialize()
    table(f"Note-on to first sound through JACK (dummy driver, {RATE} Hz, period {period})",
          ["source", "median frames", "p99 frames", "p99 periods", "notes timed", "max frames"],
          rows)
    print("\nTarget: engine median no worse than FluidSynth's, p99 <= 2 periods "
          f"({2 * period} frames).")


def latency_row(label: str, lat: np.ndarray, period: int, count: int) -> list[object]:
    if lat.size == 0:
        return [label, "-", "-", "-", f"0/{count}", "-"]
    p99 = float(np.percentile(lat, 99))
    return [label, f"{np.median(lat):.0f}", f"{p99:.0f}", f"{p99 / period:.2f}",
            f"{lat.size}/{count}", f"{lat.max():.0f}"]  # notes with a clean onset


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("mixer", "expression", "events", "queue", "render",
                                           "latency"),
                        default=None)
    parser.add_argument("--quick", action="store_true", help="fewer blocks, notes and seconds")
    parser.add_argument("--periods", type=int, nargs="+", default=[64, 128, 256],
                        help="JACK periods (frames) of the latency section, one server each")
    args = parser.parse_args()
    sections = [args.only] if args.only else ["mixer", "expression", "events", "queue",
                                              "render", "latency"]
    print(f"# Engine benchmarks ({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})")
    banks = [synthetic_bank(range(36, 85), RATE, harmonics=6, rolloff=1.0 + 0.3 * i,
                            latent_id=f"bench{i}") for i in range(4)]
    if "mixer" in sections:
        bench_mixer(banks, args.quick)
    if "expression" in sections:
        bench_expression(banks, args.quick)
    if "events" in sections:
        bench_events(banks, args.quick)
    if "queue" in sections:
        bench_queue()
    if "render" in sections:
        bench_render(banks[0], 20.0 if args.quick else 60.0)
    if "latency" in sections:
        for period in args.periods:
            bench_latency(banks[0], 40 if args.quick else 100, period)
    return 0


if __name__ == "__main__":
    sys.exit(main())
