"""Hear the engine without a model: an arpeggio of synthetic tones, morphing between two timbres.

    python -m gansynth_live.engine.demo [--device JACK] [--blocksize 128] [--record demo.wav]

(also `gansynth-live play-test`). Prints the device opened and, at the end,
the engine's statistics: voices, xruns, callback cost against the period.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

from ..banks.bank import BankLayers
from ..errors import GansynthLiveError
from ..events import NoteOff, NoteOn, PitchBend
from .config import EngineConfig
from .engine import Engine
from .stream import AudioStream, list_devices
from .synthetic import synthetic_bank

CHORDS = [(48, 55, 60, 64, 67, 72), (45, 52, 57, 60, 64, 69), (41, 48, 53, 57, 60, 65),
          (43, 50, 55, 59, 62, 67)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default=None,
                        help="output device: index or part of 'name, host API' (e.g. JACK)")
    parser.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    parser.add_argument("--rate", type=int, default=48000, help="sample rate in Hz (48000)")
    parser.add_argument("--blocksize", type=int, default=256, help="frames per callback (256)")
    parser.add_argument("--latency", default="low", help="'low', 'high' or seconds (low)")
    parser.add_argument("--polyphony", type=int, default=64, help="voices (64)")
    parser.add_argument("--seconds", type=float, default=12.0, help="how long to play (12)")
    parser.add_argument("--record", default=None, help="also record the output to this file")


def _latency(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def run(args: argparse.Namespace) -> int:
    if args.list_devices:
        print(list_devices())
        return 0
    device = int(args.device) if args.device is not None and args.device.isdigit() else args.device
    config = EngineConfig(sample_rate=args.rate, polyphony=args.polyphony,
                          release_s=0.6, pan_spread=0.6, morph_glide_s=0.05)
    print("preparing banks and kernels...", flush=True)
    bright = synthetic_bank(range(36, 85), args.rate, harmonics=10, rolloff=1.0, latent_id="bright")
    mellow = synthetic_bank(range(36, 85), args.rate, harmonics=3, rolloff=2.5, latent_id="mellow")
    engine = Engine(config)
    engine.set_layers(BankLayers.single(mellow))
    with AudioStream(engine, device=device, blocksize=args.blocksize,
                     latency=_latency(args.latency), record=args.record) as stream:
        print(f"playing on {stream.describe()} "
              f"({args.seconds:g} s; Ctrl-C stops)", flush=True)
        start = time.monotonic()
        step = 0
        try:
            while time.monotonic() - start < args.seconds:
                chord = CHORDS[(step // 12) % len(CHORDS)]
                pitch = chord[step % len(chord)] + (12 if (step // 6) % 2 else 0)
                engine.push(NoteOn(pitch, 70 + (step * 7) % 50))
                engine.push(NoteOff(pitch))  # the release rings on
                morph = (step % 48) / 47.0
                engine.set_layers(BankLayers((mellow, bright), (1.0 - morph, morph)))
                engine.push(PitchBend(0.1 if step % 24 == 23 else 0.0))
                step += 1
                time.sleep(max(0.0, start + step * 0.125 - time.monotonic()))
        except KeyboardInterrupt:
            pass
        time.sleep(0.8)
    stats = engine.stats()
    period_ms = 1e3 * args.blocksize / args.rate
    print(f"notes {stats.notes_started}, stolen {stats.voices_stolen}, xruns {stats.xruns}, "
          f"callback avg {stats.callback_avg_ms:.2f} ms / max {stats.callback_max_ms:.2f} ms "
          f"(period {period_ms:.2f} ms)")
    recording = stream.last_recording
    if recording is not None:
        print(f"recorded {recording.frames_written} frames to {recording.path} "
              f"(dropped {recording.overflow_frames})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gansynth_live.engine.demo",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    try:
        return run(parser.parse_args(argv))
    except GansynthLiveError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
