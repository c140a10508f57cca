#!/usr/bin/env python
"""Write presets/ for the default model: one preset per fitted instrument + a morph setup.

    python scripts/make_default_presets.py [--corners a,b,c,d]

Run after shipping a new default model (scripts/ship_default_model.py): the latents
of a refit change, so the presets are regenerated from its instruments.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gansynth_live.presets import Preset, save_preset  # noqa: E402

MODEL = ROOT / "gansynth_live" / "models" / "default"
PRESETS = ROOT / "presets"
DEFAULT_CORNERS = "grand_piano,violin,flute,warm_pad"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corners", default=DEFAULT_CORNERS)
    args = parser.parse_args()
    table = json.loads((MODEL / "instruments.json").read_text())
    fit = json.loads((MODEL / "fit.json").read_text()) if (MODEL / "fit.json").exists() else {}
    step = fit.get("steps", "?")
    for name, entry in table.items():
        in_tune = entry.get("data_in_tune")
        note = (f"; FluidR3's own notes of it are {in_tune:.0%} in tune by pYIN"
                if isinstance(in_tune, float) and in_tune < 0.9 else "")
        preset = Preset(name=name, model="default", latent=tuple(entry["latent"]),
                        description=(f"default model's fit of General MIDI program "
                                     f"{entry['program']} of FluidR3 GM (fit step {step}){note}"))
        save_preset(preset, PRESETS, overwrite=True)
    corners = tuple(c.strip() for c in args.corners.split(","))
    missing = [c for c in corners if c not in table]
    if missing:
        print(f"unknown corner instruments: {missing}", file=sys.stderr)
        return 2
    save_preset(Preset(name="default", model="default", corners=corners, resolution=3,
                       description="morph square of four fitted instruments"),
                PRESETS, overwrite=True)
    print(f"wrote {len(table) + 1} presets to {PRESETS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
