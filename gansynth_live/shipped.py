"""The files that ship with gansynth-live: presets, the TouchOSC layout, example MIDI files.

In a checkout they sit at the top of the repository (`presets/`, `touchosc/`,
`examples/`), where people edit and review them. A wheel carries copies inside the
package, in `gansynth_live/_shipped/` (setup.py's build step puts them there), so an
installed package finds them with no checkout anywhere. Code asks this module, never a
path relative to the source tree.
"""

from __future__ import annotations

from pathlib import Path

from .errors import GansynthLiveError

PACKAGE = Path(__file__).resolve().parent
IN_WHEEL = PACKAGE / "_shipped"   # an installed wheel
IN_CHECKOUT = PACKAGE.parent      # a checkout or an editable install
FOLDERS = ("presets", "touchosc", "examples")
TOUCHOSC_LAYOUT = "gansynth-live.tosc"


def shipped_dir(name: str) -> Path:
    """The folder of shipped files called `name` (one of FOLDERS), wherever it was installed."""
    if name not in FOLDERS:
        raise ValueError(f"no shipped folder {name!r}")
    for root in (IN_WHEEL, IN_CHECKOUT):
        if (root / name).is_dir():
            return root / name
    return IN_WHEEL / name  # missing: callers see an empty or absent folder


def touchosc_layout() -> Path:
    """The shipped TouchOSC layout file."""
    return shipped_dir("touchosc") / TOUCHOSC_LAYOUT


def example_names() -> list[str]:
    """Names of the shipped example MIDI files, without `.mid`."""
    return sorted(p.stem for p in shipped_dir("examples").glob("*.mid"))


def example_midi(name: str) -> Path:
    """The shipped example MIDI file called `name` (with or without `.mid`)."""
    stem = name[:-4] if name.endswith(".mid") else name
    if stem not in example_names():
        raise GansynthLiveError(f"no example called {name!r}: the examples are "
                                + ", ".join(example_names()))
    return shipped_dir("examples") / f"{stem}.mid"
