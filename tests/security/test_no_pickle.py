"""No pickle anywhere: caches, presets and models are plain data formats only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
# Built so that this file does not match itself.
PATTERNS = [re.compile(p) for p in (
    r"\bimport\s+" + "pickle", r"\bfrom\s+" + "pickle" + r"\b", r"\bc" + "Pickle",
    "allow_" + r"pickle\s*=\s*True", r"\bimport\s+" + "dill", r"\bjoblib\.load",
    r"torch\.load", r"\bimport\s+" + "shelve", r"\bmarshal\.load", r"cloud" + "pickle",
    r"yaml\.(unsafe_)?" + r"load\(", r"\bpd\.read_" + "pickle")]
PICKLE_SUFFIXES = {".pkl", ".pickle", ".joblib", ".npy_pickle", ".dill", ".pt", ".pth"}


def test_no_pickle_in_sources():
    offenders = []
    for folder in ("gansynth_live", "bench", "scripts", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for pattern in PATTERNS:
                if pattern.search(text):
                    offenders.append(f"{path.relative_to(ROOT)}: {pattern.pattern}")
    assert not offenders, offenders


def test_scanner_catches_pickle(tmp_path):
    sample = "import " + "pickle\nnp.load(f, allow_" + "pickle=True)\n"
    assert sum(bool(p.search(sample)) for p in PATTERNS) >= 2


def test_no_pickled_files_in_the_repository():
    import subprocess

    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    names = tracked.stdout.split() if tracked.returncode == 0 else \
        [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if ".git" not in p.parts]
    assert not [n for n in names if Path(n).suffix in PICKLE_SUFFIXES]
