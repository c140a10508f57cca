"""The `gansynth-live` command: one sub-command per module in `commands/`.

User mistakes (GansynthLiveError) print one line and exit 2; `--debug` keeps
the traceback, TensorFlow's own log lines (hidden otherwise: console.py) and
every logger's debug output (the OSC server's per-packet tracebacks among them). Each sub-command lives in its own module so the CLI stays a
table of contents.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence

from . import __version__
from .console import quiet_tensorflow
from .errors import GansynthLiveError

# (name, module under gansynth_live.commands, one-line help)
COMMANDS: list[tuple[str, str, str]] = [
    ("sample", "sample", "write one WAV per random instrument at one pitch"),
    ("fetch-model", "fetch_model", "download a released GANSynth checkpoint"),
    ("audition", "audition", "hear N random instruments: WAVs, a combined WAV, a CQT grid"),
    ("render", "render", "render a MIDI file with instruments that change over time"),
    ("match", "match", "find the instrument closest to a recorded note"),
    ("bank", "bank", "build or load the note bank of one latent (progress bar, previews)"),
    ("cache", "cache", "list or clear cached note banks"),
    ("serve", "serve", "play live: audio out, MIDI and OSC in, until Ctrl-C"),
    ("generate-server", "generate_server", "generate notes for other machines (Ray Serve)"),
    ("preset", "preset", "save, list and show presets"),
    ("touchosc", "touchosc", "write the TouchOSC layout to a file, to open in TouchOSC"),
    ("play-test", "play_test", "play a synthetic arpeggio through the audio device"),
    ("fit", "fit", "fit a GANSynth-layout model on your own sounds"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gansynth-live", description="GANSynth as a playable real-time instrument.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name, help_text in COMMANDS:
        module = importlib.import_module(f".commands.{module_name}", __package__)
        cmd = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(cmd)
        cmd.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    else:
        quiet_tensorflow()
    try:
        return int(args.run(args) or 0)
    except GansynthLiveError as exc:
        if args.debug:
            raise
        print(f"gansynth-live {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gansynth-live {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
