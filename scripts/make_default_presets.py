#!/usr/bin/env python
"""Write presets/ for the default model: a measured preset library + a morph setup.

    python bench/quality.py --pitch-step 4 --json quality.json
    python scripts/make_default_presets.py --quality quality.json [--corners a,b,c,d]

Run after shipping a new default model (scripts/ship_default_model.py): the latents
of a refit change, so the presets are regenerated from its instruments.json.

With --quality (the bench's JSON for this model) the library is chosen by
measurement: an instrument becomes a preset when its notes pass the pitch bar
(>= 90 % of the measured MIDI 36..84 notes within +-50 cents, no bad note), and,
going from the --prefer staples (grand piano, cello, trumpet, ...) and then the most
in tune down (ties: smallest median error in cents), when its spectral envelope is at least
DISTINCT_DB from every preset already chosen (the bench's distinctness measure).
Each description says what was measured. The other instruments stay in the model's
instruments.json (`preset save NAME --instrument X` makes a preset of any of them).
Without --quality every instrument becomes a preset (for a model not measured yet).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gansynth_live.fit.instruments import pitched_presets  # noqa: E402
from gansynth_live.fit.quality import DISTINCT_DB  # noqa: E402
from gansynth_live.presets import Preset, load_preset_file, save_preset  # noqa: E402

MODEL = ROOT / "gansynth_live" / "models" / "default"
PRESETS = ROOT / "presets"
DEFAULT_CORNERS = "grand_piano,cello,trumpet,pan_flute"  # keys, bowed, brass, pipe
# Staples a player looks for first (the morph corners among them): when two instruments
# are near copies, these are the ones kept. Everything else is ranked by measurement.
DEFAULT_PREFER = "grand_piano,cello,trumpet,pan_flute,flute,clarinet,nylon_guitar,electric_piano"


def character_words(row: dict) -> str:
    """A few words for a preset from bench/quality.py's character row (MIDI 60)."""
    c = row["centroid_hz"]
    bright = ("dark" if c < 400 else "mellow" if c < 800 else "bright" if c < 1400
              else "very bright")
    if row["level_1s_db"] < -12:
        shape = "fast decay"
    elif row["level_2_5s_db"] < -12:
        shape = "decaying"
    else:
        shape = "sustained"
    attack = row.get("attack_ms") or 0
    swell = f", swells in over {attack / 1000:.1f} s" if attack >= 300 else ""
    return f"{bright} ({c:.0f} Hz centroid at MIDI 60), {shape}{swell}"


def choose_library(table: dict, quality: dict, pitched: set[str] | None = None,
                   prefer: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """(chosen names, why each other instrument was left out).

    `pitched`: the instruments whose own training notes pass the pitch test (None: all).
    `prefer`: instruments considered first (if they pass), so that of two near-copies
    the staple (trumpet, not brass_section) is the one kept.
    """
    pitch = {r["preset"]: r for r in quality.get("pitch", [])
             if pitched is None or r["preset"] in pitched}
    dist = {r["preset"]: r.get("distances_db", {}) for r in quality.get("distinct", [])}
    left: dict[str, str] = {}
    passing = []
    for name in table:
        row = pitch.get(name)
        if row is None:
            left[name] = "not measured (its training notes fail the pitch test)"
        elif not row["pass"]:
            left[name] = f"{row['in_tune']:.0%} in tune, misses MIDI {row['out_of_tune']}"
        else:
            passing.append(name)
    chosen: list[str] = []
    def rank(n: str) -> tuple:  # preferred, then most in tune, closest in cents, name
        cents = pitch[n].get("median_abs_cents")
        first = prefer.index(n) if n in prefer else len(prefer)
        return (first, -pitch[n]["in_tune"], cents if cents is not None else float("inf"), n)

    for name in sorted(passing, key=rank):
        close = [c for c in chosen if dist.get(name, {}).get(c, float("inf")) < DISTINCT_DB]
        if close:
            left[name] = (f"passes the pitch bar but is {dist[name][close[0]]:.1f} dB from "
                          f"{close[0]} (< {DISTINCT_DB} dB)")
        else:
            chosen.append(name)
    return sorted(chosen), left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quality", type=Path, default=None,
                        help="bench/quality.py --json output for this model")
    parser.add_argument("--prefer", default=DEFAULT_PREFER,
                        help="instruments considered first, in this order (default: "
                             f"{DEFAULT_PREFER}); the rest by measurement")
    parser.add_argument("--corners", default=None,
                        help=f"morph corners (default: {DEFAULT_CORNERS}: four families; "
                             "if one is not in the library, the darkest, brightest, "
                             "slowest and fastest-decaying library presets)")
    args = parser.parse_args()
    table = json.loads((MODEL / "instruments.json").read_text())
    fit = json.loads((MODEL / "fit.json").read_text()) if (MODEL / "fit.json").exists() else {}
    step = fit.get("steps", "?")
    quality = json.loads(args.quality.read_text()) if args.quality else None
    if quality is not None:
        from gansynth_live.model import load_model

        if quality.get("fingerprint") != load_model(MODEL).fingerprint:
            print(f"{args.quality} measured another model (fingerprint "
                  f"{quality.get('fingerprint')}); run bench/quality.py on the shipped one",
                  file=sys.stderr)
            return 2
        prefer = tuple(n.strip() for n in args.prefer.split(",") if n.strip())
        chosen, left = choose_library(table, quality, set(pitched_presets(MODEL)), prefer)
        pitch = {r["preset"]: r for r in quality["pitch"]}
        character = {r["preset"]: r for r in quality.get("character", [])}
    else:
        chosen, left, pitch, character = list(table), {}, {}, {}
    for old in PRESETS.glob("*.json"):  # this script owns presets/*.json
        if load_preset_file(old).model == "default":
            old.unlink()
    for name in chosen:
        entry = table[name]
        words = [f"default model's fit of General MIDI program {entry['program']} of "
                 f"FluidR3 GM (fit step {step})"]
        if name in character:
            words.append(character_words(character[name]))
        if name in pitch:
            words.append(f"{pitch[name]['in_tune']:.0%} of the measured MIDI 36..84 notes "
                         "in tune")
        save_preset(Preset(name=name, model="default", latent=tuple(entry["latent"]),
                           description="; ".join(words)), PRESETS, overwrite=True)
    corners = tuple(c.strip() for c in (args.corners or DEFAULT_CORNERS).split(","))
    if not args.corners and not set(corners) <= set(chosen) and len(chosen) >= 4:
        corners = _spread_corners(chosen, character) if character else tuple(chosen[:4])
    missing = [c for c in corners if c not in chosen]
    if missing:
        print(f"corners not in the library: {missing}", file=sys.stderr)
        return 2
    save_preset(Preset(name="default", model="default", corners=corners, resolution=3,
                       description="morph square of four library presets"),
                PRESETS, overwrite=True)
    print(f"wrote {len(chosen)} presets + the 'default' morph ({', '.join(corners)}) "
          f"to {PRESETS}")
    for name, why in sorted(left.items()):
        print(f"  left out {name}: {why}")
    return 0


def _spread_corners(chosen: list[str], character: dict) -> tuple[str, ...]:
    """Four corners far apart: darkest, brightest, slowest attack, fastest decay."""
    picks: list[str] = []
    keys = [lambda n: character[n]["centroid_hz"], lambda n: -character[n]["centroid_hz"],
            lambda n: -(character[n].get("attack_ms") or 0),
            lambda n: character[n]["level_1s_db"]]
    for key in keys:
        picks.append(next(n for n in sorted(chosen, key=key) if n not in picks))
    return tuple(picks)


if __name__ == "__main__":
    sys.exit(main())
