#!/usr/bin/env python
"""MIDI and OSC input paths: cost per message, next to the libraries they build on.

In-process, no sockets or ports (those are exercised by the flood tests): what one
message costs the input thread, which bounds the rates it keeps up with.

References measured in the same run:

* MIDI: `mido.Message.from_bytes` alone (the parsing every mido-based input pays); ours
  adds the translator (port bookkeeping, event construction, the engine's queue push).
* OSC: python-osc's `Dispatcher.call_handlers_for_packet` with a handler per address
  (which checks nothing and drops unparsable packets silently); ours parses strictly,
  validates every argument and counts what it refuses. The instrument is a no-op stub
  in both, so the numbers are the input path alone.

Usage:
    python bench/inputs.py [--messages 50000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class NullInstrument:
    def __getattr__(self, name):
        return lambda *args, **kwargs: True


def per_item_us(fn, items, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for item in items:
            fn(item)
        best = min(best, time.perf_counter() - t0)
    return 1e6 * best / len(items)


def midi_rows(n: int) -> list[tuple[str, float]]:
    import mido

    from gansynth_live.engine import Engine, EngineConfig
    from gansynth_live.inputs.cc_map import CCMap
    from gansynth_live.inputs.engine_sink import EngineSink
    from gansynth_live.inputs.midi import MidiTranslator

    rng = np.random.default_rng(1)
    raw = []
    for _ in range(n // 2):
        pitch = int(rng.integers(36, 96))
        raw += [[0x90, pitch, int(rng.integers(1, 128))], [0x80, pitch, 0]]
    engine = Engine(EngineConfig(queue_capacity=4 * n, queue_reserve=16))

    translator = MidiTranslator(EngineSink(engine), CCMap())
    parse = mido.Message.from_bytes
    reference = per_item_us(parse, raw, repeat=1)
    ours = per_item_us(lambda b: translator.handle(parse(b)), raw, repeat=1)
    return [("MIDI: mido.Message.from_bytes alone", reference),
            ("MIDI: parse + translate + engine queue push", ours)]


def osc_rows(n: int) -> list[tuple[str, float]]:
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_message_builder import OscMessageBuilder

    from gansynth_live.inputs.osc import OscServer
    from gansynth_live.inputs.osc_space import address_table

    def msg(address, *args):
        builder = OscMessageBuilder(address)
        for arg in args:
            builder.add_arg(arg)
        return builder.build().dgram

    rng = np.random.default_rng(2)
    packets = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            packets.append(msg("/morph/xy", float(rng.random()), float(rng.random())))
        elif kind == 1:
            packets.append(msg("/note", int(rng.integers(36, 96)), 100))
        elif kind == 2:
            packets.append(msg("/morph/xy", float("nan"), 0.5))
        else:
            packets.append(b"\x01" + rng.integers(0, 256, 40, dtype=np.uint8).tobytes())
    server = OscServer(NullInstrument(), "127.0.0.1", 0)
    sender = ("127.0.0.1", 5555)
    dispatcher = Dispatcher()
    for address in address_table():
        dispatcher.map(address, lambda *args: None)
    valid = [p for i, p in enumerate(packets) if i % 4 < 2]
    return [
        ("OSC: python-osc dispatcher (valid packets)",
         per_item_us(lambda d: dispatcher.call_handlers_for_packet(d, sender), valid)),
        ("OSC: ours, validated (valid packets)",
         per_item_us(lambda d: server.handle_datagram(d, sender), valid)),
        ("OSC: ours, mixed half valid / half junk",
         per_item_us(lambda d: server.handle_datagram(d, sender), packets)),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=50000)
    args = parser.parse_args()
    rows = midi_rows(args.messages) + osc_rows(args.messages)
    width = max(len(name) for name, _ in rows)
    print(f"{'path':{width}}  us/message  messages/s (one core)")
    for name, us in rows:
        print(f"{name:{width}}  {us:10.1f}  {1e6 / us:12,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
