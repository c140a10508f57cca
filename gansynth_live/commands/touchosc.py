"""Write the TouchOSC layout (shipped with the package) where you want it, to open in TouchOSC.

The layout talks to `serve`'s OSC port (9000 unless --osc-port says otherwise); see
docs/control-surfaces.md for connecting the tablet. When it loads, the layout sends
`/register 9001` so the server answers at port 9001: give TouchOSC's OSC connection
receive port 9001 (or edit REPLY_PORT in the layout's root script). An existing file is
never replaced unless --force is given.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..errors import GansynthLiveError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="FILE",
                        help="where to write the layout (a .tosc file, or a folder to write "
                             "gansynth-live.tosc into)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")


def run(args: argparse.Namespace) -> int:
    from ..shipped import TOUCHOSC_LAYOUT, touchosc_layout

    source = touchosc_layout()
    if not source.is_file():
        raise GansynthLiveError(f"the TouchOSC layout is missing from this install ({source})")
    target = args.out / TOUCHOSC_LAYOUT if args.out.is_dir() else args.out
    if target.exists() and not args.force:
        raise GansynthLiveError(f"'{target}' exists: pass --force to replace it")
    if not target.parent.is_dir():
        raise GansynthLiveError(f"folder '{target.parent}' does not exist")
    shutil.copyfile(source, target)
    print(target)
    return 0
