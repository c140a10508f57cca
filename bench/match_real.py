#!/usr/bin/env python
"""Does `match` find the instrument a real note was played on? (issue 21's bar)

For each instrument of the default model held to the pitch bar, its General MIDI
program is rendered from the FluidR3 SoundFont (as `fit` rendered its training
notes: velocity 100, reverb and chorus off) at the given pitches, and `match`'s
search ranks the model's named candidates for that note (no random candidates, no
descent: the ranking is what decides where descent starts). The table prints the
rank of the instrument the note came from, and the share found first and in the
top three. The reference in the same run: the rank a random ordering would give
(the candidates' count / 2 on average; 3 / count for the top three).

Usage:
    python bench/match_real.py [--pitches 48,60] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gansynth_live.fit.dataset import render_program  # noqa: E402
from gansynth_live.fit.instruments import pitched_presets, read_instruments  # noqa: E402
from gansynth_live.fit.programs import by_name  # noqa: E402
from gansynth_live.model import load_model  # noqa: E402
from gansynth_live.model.registry import resolve_model  # noqa: E402
from gansynth_live.studio.match import MatchSettings, match_note, named_candidates  # noqa: E402

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pitches", default="48,60")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    pitches = [int(p) for p in args.pitches.split(",")]
    started = time.perf_counter()
    path = resolve_model(None)
    model = load_model(path)
    table = read_instruments(path)
    names = [n for n in pitched_presets(path) if n in table]
    named = named_candidates(model, "default")
    programs = by_name()
    settings = MatchSettings(candidates=1, steps=0)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            notes = render_program(SOUNDFONT, programs[name].program, pitches, 100, Path(tmp))
            for pitch, note in zip(pitches, notes):
                result = match_note(model, note[:int(2.5 * model.sample_rate)], pitch, settings,
                                    named=named)
                order = [label for label, _ in result.named]
                rank = order.index(f"instrument {name}") + 1
                rows.append({"instrument": name, "pitch": pitch, "rank": rank,
                             "nearest": order[0].removeprefix("instrument ")})
    n = len(rows)
    first = sum(r["rank"] == 1 for r in rows)
    top3 = sum(r["rank"] <= 3 for r in rows)
    print(f"match on FluidR3 notes: {len(names)} instruments x MIDI {pitches}, "
          f"{len(named)} named candidates, default model")
    print(f"{'instrument':20s} " + " ".join(f"{'MIDI ' + str(p):>16s}" for p in pitches))
    for name in names:
        mine = [r for r in rows if r["instrument"] == name]
        cells = [f"{r['rank']:>3d} ({r['nearest'][:10]})" for r in mine]
        print(f"{name:20s} " + " ".join(f"{c:>16s}" for c in cells))
    print(f"\nfound first: {first}/{n} ({100 * first / n:.0f} %); in the top three: "
          f"{top3}/{n} ({100 * top3 / n:.0f} %); median rank "
          f"{sorted(r['rank'] for r in rows)[n // 2]}")
    print(f"reference, a random order of the {len(named)} candidates: first "
          f"{100 / len(named):.0f} %, top three {300 / len(named):.0f} %, median rank "
          f"{(len(named) + 1) / 2:.0f}")
    print(f"{time.perf_counter() - started:.0f} s, load average {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"fingerprint": model.fingerprint, "pitches": pitches,
                                         "rows": rows, "first": first, "top3": top3,
                                         "notes": n}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
