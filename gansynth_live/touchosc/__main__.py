"""Regenerate the shipped TouchOSC layout and its picture from the OSC address table.

    python -m gansynth_live.touchosc            # writes touchosc/gansynth-live.tosc
                                                # and docs/images/touchosc-layout.png
    python -m gansynth_live.touchosc --out DIR --png FILE
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .layout import build_layout, check_layout
from .render import render_layout
from .tosc import write_tosc

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gansynth_live.touchosc",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "touchosc",
                        help="folder for gansynth-live.tosc")
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "images" /
                        "touchosc-layout.png", help="where to draw the layout")
    args = parser.parse_args(argv)
    controls = build_layout()
    check_layout(controls)
    args.out.mkdir(parents=True, exist_ok=True)
    tosc = args.out / "gansynth-live.tosc"
    write_tosc(controls, tosc)
    args.png.parent.mkdir(parents=True, exist_ok=True)
    render_layout(controls, args.png, "touchosc/gansynth-live.tosc")
    print(tosc)
    print(args.png)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
