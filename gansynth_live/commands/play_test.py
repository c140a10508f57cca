"""Play a synthetic arpeggio through the live engine and audio device (no model needed).

Checks that audio output works and shows the engine's cost and xruns for the
chosen device, rate and block size.
"""

from __future__ import annotations

import argparse

from ..engine import demo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    demo.add_arguments(parser)


def run(args: argparse.Namespace) -> int:
    return demo.run(args)
