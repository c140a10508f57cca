"""Copy a fitted model into the package as the default model.

    python scripts/ship_default_model.py MODELDIR [--reference reference.json]

Copies experiment.json, the stage folder (EMA weights only) and fit.json, and
rewrites instruments.json with, per instrument, `data_in_tune`: the share of the
*training notes* (FluidR3 renders) that pYIN finds within +-50 cents, as measured by
`python bench/quality.py --data DATA --json reference.json`. An instrument whose
own recordings fail the pitch test (FluidR3's drawbar organ sounds a 16' sub-octave)
cannot be held to it; the quality bench and tests treat as presets the instruments
whose data pass (>= 90 %).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEST = ROOT / "gansynth_live" / "models" / "default"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--reference", type=Path, default=None)
    args = parser.parse_args()
    src = args.model
    stages = sorted(src.glob("stage_*"))
    if not (src / "experiment.json").is_file() or not stages:
        print(f"{src}: not a model folder", file=sys.stderr)
        return 2
    table = json.loads((src / "instruments.json").read_text())
    if args.reference is not None:
        ref = {row["preset"]: row["in_tune"] for row in json.loads(args.reference.read_text())}
        for name, entry in table.items():
            if name in ref:
                entry["data_in_tune"] = round(ref[name], 3)
    tmp = Path(tempfile.mkdtemp(dir=DEST.parent, prefix=".default."))
    try:
        shutil.copy2(src / "experiment.json", tmp / "experiment.json")
        shutil.copy2(src / "fit.json", tmp / "fit.json")
        if (src / "prior.json").is_file():  # the model's prior (model/prior.py)
            shutil.copy2(src / "prior.json", tmp / "prior.json")
        shutil.copytree(stages[-1], tmp / stages[-1].name)
        (tmp / "instruments.json").write_text(json.dumps(table, indent=1))
        if DEST.exists():
            shutil.rmtree(DEST)
        tmp.chmod(0o755)
        tmp.rename(DEST)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    size = sum(p.stat().st_size for p in DEST.rglob("*") if p.is_file())
    print(f"shipped {src} -> {DEST} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
