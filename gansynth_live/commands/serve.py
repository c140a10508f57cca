"""Play the model live: audio out, MIDI and OSC in, one status line, until Ctrl-C.

Every flag can also be set in a TOML file given with --config (same names,
dashes as underscores); flags given on the command line win.

Exit status: 0 after Ctrl-C or SIGTERM, 2 for a usage or setup error, 3 when
the audio device went away while playing (e.g. the JACK server stopped): a
service manager can restart `serve` then (the bank cache makes that quick).
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

EXIT_AUDIO_LOST = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..live.config import add_arguments as add_options

    parser.add_argument("--config", type=Path, default=None, metavar="FILE",
                        help="TOML file with any of the options below")
    parser.add_argument("--list-devices", action="store_true",
                        help="list audio outputs and MIDI inputs, then exit")
    add_options(parser)


def run(args: argparse.Namespace) -> int:
    from ..live.config import build_config
    from ..live.session import Session
    from ..live.status import Console

    config = build_config(args)
    if args.list_devices:
        print(list_devices(config.midi_api))
        return 0
    console = Console()
    session = Session(config, console)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        session.open()
        console.message("playing; Ctrl-C to stop")
        session.run()
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
        signal.signal(signal.SIGTERM, previous)
    if session.audio_lost:
        print(f"gansynth-live serve: audio output lost: {session.audio_lost}; stopped "
              "(recordings saved). Start serve again once the audio device or server is back.",
              file=sys.stderr)
        return EXIT_AUDIO_LOST
    console.message("stopped")
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def list_devices(midi_api: str = "auto") -> str:
    from ..engine.stream import AudioDeviceError, list_devices as audio_devices
    from ..inputs.midi_ports import describe_ports

    try:
        audio = "Audio outputs (PortAudio; '>' marks the default output):\n" + audio_devices()
    except AudioDeviceError as exc:
        audio = f"Audio: unavailable: {exc}"
    return audio + "\n\n" + describe_ports(midi_api)
